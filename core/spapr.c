/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/spapr: the guest sPAPR IOMMU: PHB, TCE tables, hypercalls, DDW and
 * EEH (see spapr.h).
 */
#include "core/spapr.h"

#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>

#include "common/trace.h"
#include "core/gmsi.h"
#include "core/vfio.h"

#define MSIX_FLAGS		2	/* PCI_MSIX_FLAGS */
#define MSIX_FLAGS_ENABLE	0x8000	/* PCI_MSIX_FLAGS_ENABLE */

#define CHUNK_ENTRIES 512u

/* ------------------------------------------------------------------ */
/* tables                                                               */

static uint64_t page_mask(const VfcSpaprTceTable *tbl)
{
	return ~((1ull << tbl->page_shift) - 1);
}

static GIommuPerm tce_perm(uint64_t tce)
{
	return (GIommuPerm)(tce & VFC_TCE_RW);
}

uint64_t vfc_spapr_table_get(const VfcSpaprTceTable *tbl, uint64_t index)
{
	const uint64_t *c;

	if (!tbl->enabled || index >= tbl->nb_table)
		return 0;
	c = tbl->chunks[index / CHUNK_ENTRIES];
	return c ? c[index % CHUNK_ENTRIES] : 0;
}

/* Store tce at index; false when the chunk cannot be allocated. */
static bool table_set(VfcSpaprTceTable *tbl, uint64_t index, uint64_t tce)
{
	uint64_t **slot = &tbl->chunks[index / CHUNK_ENTRIES];
	uint64_t old;

	if (!*slot) {
		if (!tce)
			return true;	/* still zero */
		*slot = calloc(CHUNK_ENTRIES, sizeof(uint64_t));
		if (!*slot)
			return false;
		tbl->chunk_bytes += CHUNK_ENTRIES * sizeof(uint64_t);
	}
	old = (*slot)[index % CHUNK_ENTRIES];
	if (tce_perm(old) && !tce_perm(tce))
		tbl->live--;
	else if (!tce_perm(old) && tce_perm(tce))
		tbl->live++;
	(*slot)[index % CHUNK_ENTRIES] = tce;
	return true;
}

/* The entry the notifiers get for a TCE at window offset iova. */
static GIommuTlbEntry tce_entry(VfcSpaprTceTable *tbl, uint64_t iova, uint64_t tce)
{
	return (GIommuTlbEntry){
		.target_as = tbl->phb->target_as,
		.iova = iova & page_mask(tbl),
		.translated_addr = tce & page_mask(tbl),
		.addr_mask = ~page_mask(tbl),
		.perm = tce_perm(tce),
	};
}

GIommuTlbEntry vfc_spapr_translate(VfcSpaprTceTable *tbl, uint64_t addr)
{
	GIommuTlbEntry none = { .target_as = tbl->phb->target_as,
				.iova = addr, .perm = GIOMMU_NONE };

	if (tbl->bypass)
		return (GIommuTlbEntry){
			.target_as = tbl->phb->target_as,
			.iova = 0,
			.translated_addr = 0,
			.addr_mask = ~0ull,
			.perm = GIOMMU_RW,
		};
	/* Out of the window: no access. */
	if (!tbl->enabled || addr >> tbl->page_shift >= tbl->nb_table)
		return none;
	return tce_entry(tbl, addr, vfc_spapr_table_get(tbl, addr >> tbl->page_shift));
}

static GIommuTlbEntry table_translate(GMemRegion *iommu, uint64_t addr,
				      bool is_write, void *opaque)
{
	(void)iommu;
	(void)is_write;
	return vfc_spapr_translate(opaque, addr);
}

/* Call one notifier as gmem_iommu_notify would (flags and range). */
static void notify_one(GIommuNotifier *n, const GIommuTlbEntry *e)
{
	unsigned want = e->perm == GIOMMU_NONE ? GIOMMU_NOTIFY_UNMAP : GIOMMU_NOTIFY_MAP;

	if (!(n->flags & want) || e->iova > n->last || (e->iova | e->addr_mask) < n->start)
		return;
	n->notify(n, e);
}

/*
 * The identity mappings of bypass mode: the RAM of target_as inside the
 * window, cut into naturally aligned power-of-two blocks (each an IOMMU
 * entry).  fn gets each block.
 */
static void for_each_bypass_block(VfcSpaprTceTable *tbl,
				  void (*fn)(VfcSpaprTceTable *, const GIommuTlbEntry *, void *),
				  void *arg, GIommuPerm perm)
{
	GAddressSpace *as = tbl->phb->target_as;
	uint64_t wsize = tbl->nb_table << tbl->page_shift;
	size_t i, n = as ? gmem_as_section_count(as) : 0;

	for (i = 0; i < n; i++) {
		GMemSection s;
		uint64_t a, end;

		if (!gmem_as_section(as, i, &s) || !s.is_ram)
			continue;
		a = s.offset_within_address_space;
		end = a + s.size;
		if (end < a || end > wsize)
			end = wsize;
		while (a < end) {
			uint64_t sz = a ? a & -a : 1ull << 63;
			GIommuTlbEntry e;

			while (sz > end - a)
				sz >>= 1;
			e = (GIommuTlbEntry){ .target_as = as, .iova = a,
					      .translated_addr = a,
					      .addr_mask = sz - 1, .perm = perm };
			fn(tbl, &e, arg);
			a += sz;
		}
	}
}

/* Every live TCE entry: fn gets its entry (perm as stored, or NONE). */
static void for_each_live(VfcSpaprTceTable *tbl,
			  void (*fn)(VfcSpaprTceTable *, const GIommuTlbEntry *, void *),
			  void *arg, bool as_unmap)
{
	uint64_t c, i;

	for (c = 0; c < tbl->nchunks && tbl->live; c++) {
		if (!tbl->chunks[c])
			continue;
		for (i = 0; i < CHUNK_ENTRIES; i++) {
			uint64_t tce = tbl->chunks[c][i];
			GIommuTlbEntry e;

			if (!tce_perm(tce))
				continue;
			e = tce_entry(tbl, (c * CHUNK_ENTRIES + i) << tbl->page_shift, tce);
			if (as_unmap)
				e.perm = GIOMMU_NONE;
			fn(tbl, &e, arg);
		}
	}
}

static void notify_all(VfcSpaprTceTable *tbl, const GIommuTlbEntry *e, void *arg)
{
	(void)arg;
	gmem_iommu_notify(&tbl->iommu, e);
}

static void notify_n(VfcSpaprTceTable *tbl, const GIommuTlbEntry *e, void *arg)
{
	(void)tbl;
	notify_one(arg, e);
}

static void table_replay(GMemRegion *iommu, GIommuNotifier *n, void *opaque)
{
	VfcSpaprTceTable *tbl = opaque;

	(void)iommu;
	if (!tbl->enabled)
		return;
	if (tbl->bypass)
		for_each_bypass_block(tbl, notify_n, n, GIOMMU_RW);
	else
		for_each_live(tbl, notify_n, n, false);
}

static const GIommuOps table_ops = {
	.translate = table_translate,
	.replay = table_replay,
};

uint64_t vfc_spapr_iommu_page_size(const GMemRegion *mr)
{
	const VfcSpaprTceTable *tbl;

	if (!mr || !gmem_region_is_iommu(mr) || mr->iommu_ops != &table_ops)
		return 0;
	tbl = mr->opaque;
	return 1ull << tbl->page_shift;
}

void vfc_spapr_table_set_bypass(VfcSpaprTceTable *tbl, bool bypass)
{
	if (tbl->bypass == bypass)
		return;
	if (!tbl->enabled) {
		tbl->bypass = bypass;
		return;
	}
	if (bypass) {
		for_each_live(tbl, notify_all, NULL, true);
		tbl->bypass = true;
		for_each_bypass_block(tbl, notify_all, NULL, GIOMMU_RW);
	} else {
		for_each_bypass_block(tbl, notify_all, NULL, GIOMMU_NONE);
		tbl->bypass = false;
		for_each_live(tbl, notify_all, NULL, false);
	}
}

bool vfc_spapr_table_enable(VfcSpaprTceTable *tbl, unsigned page_shift,
			    uint64_t bus_offset, uint64_t nb_table, Error **errp)
{
	char name[GMEM_NAME_MAX];
	uint64_t size;

	if (tbl->enabled) {
		error_setg(errp, "spapr: LIOBN 0x%x: window already enabled", tbl->liobn);
		return false;
	}
	if (page_shift < 12 || page_shift > 34 || !nb_table ||
	    nb_table > VFC_SPAPR_MAX_ENTRIES) {
		error_setg(errp, "spapr: LIOBN 0x%x: bad window (page shift %u, %llu pages)",
			   tbl->liobn, page_shift, (unsigned long long)nb_table);
		return false;
	}
	size = nb_table << page_shift;
	if (bus_offset & ((1ull << page_shift) - 1) || bus_offset + size < bus_offset) {
		error_setg(errp, "spapr: LIOBN 0x%x: window [0x%llx +0x%llx] is not "
			   "page aligned or wraps", tbl->liobn,
			   (unsigned long long)bus_offset, (unsigned long long)size);
		return false;
	}
	tbl->nchunks = (nb_table + CHUNK_ENTRIES - 1) / CHUNK_ENTRIES;
	tbl->chunks = calloc(tbl->nchunks, sizeof(*tbl->chunks));
	if (!tbl->chunks) {
		error_setg(errp, "spapr: LIOBN 0x%x: out of memory", tbl->liobn);
		return false;
	}
	tbl->page_shift = page_shift;
	tbl->bus_offset = bus_offset;
	tbl->nb_table = nb_table;
	tbl->live = 0;
	tbl->chunk_bytes = 0;
	tbl->enabled = true;
	snprintf(name, sizeof(name), "tce-iommu-%x", tbl->liobn);
	gmem_region_init_iommu(&tbl->iommu, name, size, &table_ops, tbl);
	if (!gmem_region_add_subregion(&tbl->phb->root, bus_offset, &tbl->iommu, errp)) {
		free(tbl->chunks);
		tbl->chunks = NULL;
		tbl->enabled = false;
		return false;
	}
	return true;
}

void vfc_spapr_table_disable(VfcSpaprTceTable *tbl)
{
	uint64_t c;

	if (!tbl->enabled)
		return;
	/* The notifiers see the mappings go before the window does. */
	if (tbl->bypass)
		for_each_bypass_block(tbl, notify_all, NULL, GIOMMU_NONE);
	else
		for_each_live(tbl, notify_all, NULL, true);
	gmem_region_destroy(&tbl->iommu);
	for (c = 0; c < tbl->nchunks; c++)
		free(tbl->chunks[c]);
	free(tbl->chunks);
	tbl->chunks = NULL;
	tbl->nchunks = tbl->nb_table = tbl->live = tbl->chunk_bytes = 0;
	tbl->bus_offset = 0;
	tbl->bypass = false;
	tbl->enabled = false;
}

/* ------------------------------------------------------------------ */
/* the PHB                                                              */

static GAddressSpace *phb_dma_as(GPciBus *bus, void *opaque, int devfn)
{
	(void)bus;
	(void)devfn;
	return &((VfcSpaprPhb *)opaque)->dma_as;
}

VfcSpaprPhb *vfc_spapr_phb_new(const VfcSpaprPhbConfig *cfg,
			       GAddressSpace *target_as, Error **errp)
{
	VfcSpaprPhbConfig dflt = { 0 };
	VfcSpaprPhb *phb;
	unsigned i;

	if (!cfg)
		cfg = &dflt;
	if (cfg->index > 0xff) {
		error_setg(errp, "spapr: PHB index %u out of range (0-255)", cfg->index);
		return NULL;
	}
	phb = calloc(1, sizeof(*phb));
	if (!phb) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	phb->index = cfg->index;
	phb->target_as = target_as;
	phb->dma32_start = cfg->dma32_start;
	phb->dma32_size = cfg->dma32_size ? cfg->dma32_size : VFC_SPAPR_DMA32_SIZE;
	phb->page_shift = cfg->page_shift ? cfg->page_shift : VFC_SPAPR_PAGE_SHIFT;
	phb->dma64_start = cfg->dma64_start ? cfg->dma64_start : VFC_SPAPR_DMA64_BASE;
	phb->ddw_enabled = !cfg->no_ddw;
	snprintf(phb->name, sizeof(phb->name), "phb%u", phb->index);
	for (i = 0; i < VFC_SPAPR_MAX_WINDOWS; i++) {
		phb->windows[i].liobn = VFC_SPAPR_LIOBN(phb->index, i);
		phb->windows[i].phb = phb;
	}
	gmem_region_init_container(&phb->root, "spapr-dma", UINT64_MAX);
	gmem_as_init(&phb->dma_as, &phb->root, phb->name);
	if (phb->dma32_size & ((1ull << phb->page_shift) - 1) ||
	    !vfc_spapr_table_enable(&phb->windows[0], phb->page_shift, phb->dma32_start,
				    phb->dma32_size >> phb->page_shift, errp)) {
		if (errp && !*errp)
			error_setg(errp, "spapr: window size 0x%llx is not a multiple "
				   "of the page size", (unsigned long long)phb->dma32_size);
		gmem_as_destroy(&phb->dma_as);
		gmem_region_destroy(&phb->root);
		free(phb);
		return NULL;
	}
	return phb;
}

void vfc_spapr_phb_free(VfcSpaprPhb *phb)
{
	unsigned i;

	if (!phb)
		return;
	for (i = 0; i < VFC_SPAPR_MAX_WINDOWS; i++)
		vfc_spapr_table_disable(&phb->windows[i]);
	if (phb->bus && phb->bus->iommu_opaque == phb)
		gpci_bus_set_iommu(phb->bus, NULL, NULL);
	gmem_as_destroy(&phb->dma_as);
	gmem_region_destroy(&phb->root);
	free(phb);
}

void vfc_spapr_phb_attach_bus(VfcSpaprPhb *phb, GPciBus *bus)
{
	phb->bus = bus;
	gpci_bus_set_iommu(bus, phb_dma_as, phb);
}

VfcSpaprTceTable *vfc_spapr_find_table(VfcSpaprPhb *phb, uint64_t liobn)
{
	unsigned i;

	for (i = 0; i < VFC_SPAPR_MAX_WINDOWS; i++)
		if (phb->windows[i].enabled && phb->windows[i].liobn == liobn)
			return &phb->windows[i];
	return NULL;
}

uint32_t vfc_spapr_config_addr(const GPciDevice *dev)
{
	uint32_t bus = dev->bus ? dev->bus->bus_num : 0;

	return bus << 16 | (uint32_t)(dev->devfn & 0xff) << 8;
}

/* ------------------------------------------------------------------ */
/* hypercalls                                                           */

/* QEMU's put_tce_emu: ioba is already page aligned. */
static long put_tce(VfcSpaprTceTable *tbl, uint64_t ioba, uint64_t tce)
{
	uint64_t index, old;

	/* Below the window the subtraction wraps: out of range too. */
	index = (ioba - tbl->bus_offset) >> tbl->page_shift;
	if (index >= tbl->nb_table)
		return H_PARAMETER;
	old = vfc_spapr_table_get(tbl, index);
	if (!table_set(tbl, index, tce))
		return H_HARDWARE;
	trace_core_spapr_put_tce(tbl->liobn, ioba, tce);
	if (tbl->bypass)
		return H_SUCCESS;	/* translate ignores the table meanwhile */
	/* Map on every valid TCE; unmap only what was mapped. */
	if (tce_perm(tce) || tce_perm(old)) {
		GIommuTlbEntry e = tce_entry(tbl, ioba - tbl->bus_offset, tce);

		gmem_iommu_notify(&tbl->iommu, &e);
	}
	return H_SUCCESS;
}

long vfc_spapr_h_put_tce(VfcSpaprPhb *phb, uint64_t liobn, uint64_t ioba,
			 uint64_t tce)
{
	VfcSpaprTceTable *tbl = vfc_spapr_find_table(phb, liobn);

	if (!tbl)
		return H_PARAMETER;
	return put_tce(tbl, ioba & page_mask(tbl), tce);
}

long vfc_spapr_h_put_tce_indirect(VfcSpaprPhb *phb, uint64_t liobn,
				  uint64_t ioba, uint64_t tce_list,
				  uint64_t npages)
{
	VfcSpaprTceTable *tbl = vfc_spapr_find_table(phb, liobn);
	uint8_t list[VFC_SPAPR_INDIRECT_MAX * 8];
	long ret = H_PARAMETER;
	uint64_t i, psize;

	if (!tbl)
		return H_PARAMETER;
	if (npages > VFC_SPAPR_INDIRECT_MAX || tce_list & (VFC_SPAPR_TCE_LIST_ALIGN - 1))
		return H_PARAMETER;
	/* The list is one page of guest RAM (512 entries fill it exactly). */
	if (npages && (!phb->target_as ||
		       gmem_read(phb->target_as, tce_list, list, npages * 8) != GMEM_OK))
		return H_PARAMETER;
	psize = 1ull << tbl->page_shift;
	ioba &= page_mask(tbl);
	for (i = 0; i < npages; i++, ioba += psize) {
		uint64_t tce = 0;
		unsigned b;

		for (b = 0; b < 8; b++)	/* big-endian, as the guest stores it */
			tce = tce << 8 | list[i * 8 + b];
		ret = put_tce(tbl, ioba, tce);
		if (ret != H_SUCCESS)
			break;
	}
	return ret;	/* npages 0: H_PARAMETER, as QEMU */
}

long vfc_spapr_h_stuff_tce(VfcSpaprPhb *phb, uint64_t liobn, uint64_t ioba,
			   uint64_t tce, uint64_t npages)
{
	VfcSpaprTceTable *tbl = vfc_spapr_find_table(phb, liobn);
	long ret = H_PARAMETER;
	uint64_t i, psize;

	if (!tbl || npages > tbl->nb_table)
		return H_PARAMETER;
	psize = 1ull << tbl->page_shift;
	ioba &= page_mask(tbl);
	for (i = 0; i < npages; i++, ioba += psize) {
		ret = put_tce(tbl, ioba, tce);
		if (ret != H_SUCCESS)
			break;
	}
	return ret;
}

long vfc_spapr_h_get_tce(VfcSpaprPhb *phb, uint64_t liobn, uint64_t ioba,
			 uint64_t *tce)
{
	VfcSpaprTceTable *tbl = vfc_spapr_find_table(phb, liobn);
	uint64_t index;

	if (!tbl)
		return H_PARAMETER;
	index = ((ioba & page_mask(tbl)) - tbl->bus_offset) >> tbl->page_shift;
	if (index >= tbl->nb_table)
		return H_PARAMETER;
	if (tce)
		*tce = vfc_spapr_table_get(tbl, index);
	return H_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* dynamic DMA windows                                                  */

static unsigned active_windows(const VfcSpaprPhb *phb)
{
	unsigned i, n = 0;

	for (i = 0; i < VFC_SPAPR_MAX_WINDOWS; i++)
		n += phb->windows[i].enabled;
	return n;
}

int vfc_spapr_ddw_query(VfcSpaprPhb *phb, unsigned *windows_available,
			uint64_t *max_pages, uint64_t *pgsizes)
{
	if (!phb->ddw_enabled)
		return RTAS_OUT_PARAM_ERROR;
	if (windows_available)
		*windows_available = VFC_SPAPR_MAX_WINDOWS - active_windows(phb);
	if (max_pages)
		*max_pages = VFC_SPAPR_MAX_ENTRIES;
	if (pgsizes)
		*pgsizes = VFC_SPAPR_PGSIZES;
	return RTAS_OUT_SUCCESS;
}

int vfc_spapr_ddw_create(VfcSpaprPhb *phb, unsigned page_shift,
			 unsigned window_shift, uint32_t *liobn,
			 uint64_t *start)
{
	VfcSpaprTceTable *tbl = NULL;
	unsigned i, windows = active_windows(phb);
	Error *err = NULL;
	uint64_t addr;

	if (!phb->ddw_enabled)
		return RTAS_OUT_PARAM_ERROR;
	if (page_shift >= 64 || !(VFC_SPAPR_PGSIZES & (1ull << page_shift)) ||
	    window_shift < page_shift || window_shift > 63)
		return RTAS_OUT_PARAM_ERROR;
	for (i = 0; i < VFC_SPAPR_MAX_WINDOWS && !tbl; i++)
		if (!phb->windows[i].enabled)
			tbl = &phb->windows[i];
	if (!tbl || windows == VFC_SPAPR_MAX_WINDOWS)
		return RTAS_OUT_HW_ERROR;
	if ((window_shift - page_shift) > 30)	/* VFC_SPAPR_MAX_ENTRIES */
		return RTAS_OUT_HW_ERROR;
	/* The first window goes where the default one was; others at 1 << 59. */
	addr = windows ? phb->dma64_start : phb->dma32_start;
	if (!vfc_spapr_table_enable(tbl, page_shift, addr,
				    1ull << (window_shift - page_shift), &err)) {
		vfc_warn("%s", error_get_pretty(err));
		error_free(err);
		return RTAS_OUT_HW_ERROR;
	}
	if (liobn)
		*liobn = tbl->liobn;
	if (start)
		*start = tbl->bus_offset;
	return RTAS_OUT_SUCCESS;
}

int vfc_spapr_ddw_remove(VfcSpaprPhb *phb, uint64_t liobn)
{
	VfcSpaprTceTable *tbl = vfc_spapr_find_table(phb, liobn);

	if (!phb->ddw_enabled || !tbl)
		return RTAS_OUT_PARAM_ERROR;
	vfc_spapr_table_disable(tbl);
	/*
	 * LoPAPR (and QEMU's rtas_ibm_remove_pe_dma_window): removing the
	 * last window restores the default one, unless the window removed
	 * was the default one (QEMU's def_win: the first LIOBN, whatever
	 * window it holds now).
	 */
	if (!active_windows(phb) && tbl != &phb->windows[0])
		return vfc_spapr_ddw_reset(phb);
	return RTAS_OUT_SUCCESS;
}

int vfc_spapr_ddw_reset(VfcSpaprPhb *phb)
{
	Error *err = NULL;
	unsigned i;

	if (!phb->ddw_enabled)
		return RTAS_OUT_PARAM_ERROR;
	for (i = 0; i < VFC_SPAPR_MAX_WINDOWS; i++)
		vfc_spapr_table_disable(&phb->windows[i]);
	if (!vfc_spapr_table_enable(&phb->windows[0], phb->page_shift, phb->dma32_start,
				    phb->dma32_size >> phb->page_shift, &err)) {
		vfc_warn("%s", error_get_pretty(err));
		error_free(err);
		return RTAS_OUT_HW_ERROR;
	}
	return RTAS_OUT_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* EEH                                                                  */

bool vfc_spapr_eeh_available(VfcSpaprPhb *phb)
{
	return vfc_eeh_as_ok(&phb->dma_as);
}

static bool is_vfio_pci(const GPciDevice *dev)
{
	return dev && dev->cls && dev->cls->type && !strcmp(dev->cls->type, "vfio-pci");
}

/*
 * QEMU's spapr_phb_vfio_eeh_pre_reset, before a hot or fundamental reset:
 * the reset wipes every vfio-pci device's MSI-X table, so MSI-X is turned
 * off through config space (the device stops its vectors on the host) and
 * the emulated MSI-X state is reset, for the guest to set it up again.
 */
static void eeh_pre_reset(VfcSpaprPhb *phb)
{
	int devfn;

	if (!phb->bus)
		return;
	for (devfn = 0; devfn < GPCI_DEVFN_MAX; devfn++) {
		GPciDevice *dev = phb->bus->devices[devfn];

		if (!is_vfio_pci(dev))
			continue;
		if (gmsix_enabled(dev)) {
			uint32_t flags = gpci_config_read(dev, dev->msix_cap + MSIX_FLAGS, 2);

			gpci_config_write(dev, dev->msix_cap + MSIX_FLAGS,
					  flags & ~(uint32_t)MSIX_FLAGS_ENABLE, 2);
		}
		if (gmsix_present(dev))
			gmsix_reset(dev);
	}
}

static int eeh_op(VfcSpaprPhb *phb, uint32_t op, int fail)
{
	int ret = vfc_eeh_as_op(&phb->dma_as, op, NULL);

	trace_core_spapr_eeh(phb->name, op, ret);
	return ret < 0 ? fail : RTAS_OUT_SUCCESS;
}

int vfc_spapr_eeh_set_option(VfcSpaprPhb *phb, uint32_t config_addr, int option)
{
	uint32_t op;

	if (!vfc_spapr_eeh_available(phb))
		return RTAS_OUT_PARAM_ERROR;
	switch (option) {
	case RTAS_EEH_DISABLE:
		op = VFIO_EEH_PE_DISABLE;
		break;
	case RTAS_EEH_ENABLE: {
		/*
		 * EEH is per PHB: the address's bus number must hold a vfio-pci
		 * device, its devfn is not looked at (QEMU: kernels up to 5.9
		 * pass a device's config address, later ones the PE's).
		 */
		bool found = false;
		int devfn;

		if (phb->bus && (config_addr >> 16 & 0xff) == phb->bus->bus_num)
			for (devfn = 0; devfn < GPCI_DEVFN_MAX && !found; devfn++)
				found = is_vfio_pci(phb->bus->devices[devfn]);
		if (!found)
			return RTAS_OUT_PARAM_ERROR;
		op = VFIO_EEH_PE_ENABLE;
		break;
	}
	case RTAS_EEH_THAW_IO:
		op = VFIO_EEH_PE_UNFREEZE_IO;
		break;
	case RTAS_EEH_THAW_DMA:
		op = VFIO_EEH_PE_UNFREEZE_DMA;
		break;
	default:
		return RTAS_OUT_PARAM_ERROR;
	}
	return eeh_op(phb, op, RTAS_OUT_HW_ERROR);
}

int vfc_spapr_eeh_get_state(VfcSpaprPhb *phb, int *state)
{
	int ret;

	if (!vfc_spapr_eeh_available(phb))
		return RTAS_OUT_PARAM_ERROR;
	ret = vfc_eeh_as_op(&phb->dma_as, VFIO_EEH_PE_GET_STATE, NULL);
	trace_core_spapr_eeh(phb->name, VFIO_EEH_PE_GET_STATE, ret);
	if (ret < 0)
		return RTAS_OUT_PARAM_ERROR;
	if (state)
		*state = ret;
	return RTAS_OUT_SUCCESS;
}

int vfc_spapr_eeh_reset(VfcSpaprPhb *phb, int option)
{
	uint32_t op;

	if (!vfc_spapr_eeh_available(phb))
		return RTAS_OUT_PARAM_ERROR;
	switch (option) {
	case RTAS_SLOT_RESET_DEACTIVATE:
		op = VFIO_EEH_PE_RESET_DEACTIVATE;
		break;
	case RTAS_SLOT_RESET_HOT:
		eeh_pre_reset(phb);
		op = VFIO_EEH_PE_RESET_HOT;
		break;
	case RTAS_SLOT_RESET_FUNDAMENTAL:
		eeh_pre_reset(phb);
		op = VFIO_EEH_PE_RESET_FUNDAMENTAL;
		break;
	default:
		return RTAS_OUT_PARAM_ERROR;
	}
	return eeh_op(phb, op, RTAS_OUT_HW_ERROR);
}

int vfc_spapr_eeh_configure(VfcSpaprPhb *phb)
{
	if (!vfc_spapr_eeh_available(phb))
		return RTAS_OUT_PARAM_ERROR;
	return eeh_op(phb, VFIO_EEH_PE_CONFIGURE, RTAS_OUT_PARAM_ERROR);
}

int vfc_spapr_eeh_inject(VfcSpaprPhb *phb, uint32_t type, uint32_t func,
			 uint64_t addr, uint64_t mask)
{
	VfcEehErr e = { .type = type, .func = func, .addr = addr, .mask = mask };
	int ret;

	if (!vfc_spapr_eeh_available(phb))
		return RTAS_OUT_PARAM_ERROR;
	ret = vfc_eeh_as_op(&phb->dma_as, VFIO_EEH_PE_INJECT_ERR, &e);
	trace_core_spapr_eeh(phb->name, VFIO_EEH_PE_INJECT_ERR, ret);
	return ret < 0 ? RTAS_OUT_HW_ERROR : RTAS_OUT_SUCCESS;
}

/* ------------------------------------------------------------------ */

void vfc_spapr_phb_dump(VfcSpaprPhb *phb, FILE *out)
{
	unsigned i;

	fprintf(out, "%s index=%u ddw=%s\n", phb->name, phb->index,
		phb->ddw_enabled ? "on" : "off");
	for (i = 0; i < VFC_SPAPR_MAX_WINDOWS; i++) {
		const VfcSpaprTceTable *t = &phb->windows[i];

		if (!t->enabled)
			continue;
		fprintf(out, "  window liobn=0x%x start=0x%llx size=0x%llx page_shift=%u "
			"bypass=%d live=%llu table_bytes=%llu\n", t->liobn,
			(unsigned long long)t->bus_offset,
			(unsigned long long)(t->nb_table << t->page_shift), t->page_shift,
			t->bypass, (unsigned long long)t->live,
			(unsigned long long)(t->chunk_bytes + t->nchunks * sizeof(uint64_t *)));
	}
}

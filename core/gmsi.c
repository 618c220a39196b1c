/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/gmsi: MSI and MSI-X emulation.  See gmsi.h.
 */
#include "gmsi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/trace.h"

/* Bits 1:0 of the MSI address are reserved (not writable). */
#define GMSI_ADDRESS_LO_MASK	0xfffffffcu
/* The exclusive MSI-X BAR: 4 KiB, table in the low half, PBA in the high. */
#define GMSIX_EXCLUSIVE_BAR_SIZE	4096
#define GMSIX_EXCLUSIVE_PBA_OFFSET	(GMSIX_EXCLUSIVE_BAR_SIZE / 2)

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

void gmsi_send_message(GPciDevice *dev, GMsiMessage msg)
{
	GIntc *ic = dev->bus ? dev->bus->intc : NULL;

	if (!ic) {
		trace_core_msi_drop(dev->id, msg.address, msg.data,
				    "no interrupt controller");
		return;
	}
	if (!dev->config ||
	    !(gpci_get_word(dev->config + PCI_COMMAND) & PCI_COMMAND_MASTER)) {
		/* QEMU writes it through the bus-master space, gated by MASTER. */
		trace_core_msi_drop(dev->id, msg.address, msg.data,
				    "bus master disabled");
		gintc_drop_msi(ic, gpci_requester_id(dev), msg.address, msg.data);
		return;
	}
	gintc_deliver_msi(ic, gpci_requester_id(dev), msg.address, msg.data);
}

/* ------------------------------------------------------------------ */
/* MSI                                                                  */

static uint16_t msi_flags(const GPciDevice *dev)
{
	return gpci_get_word(dev->config + dev->msi_cap + PCI_MSI_FLAGS);
}

static unsigned msi_data_off(const GPciDevice *dev, bool msi64)
{
	return dev->msi_cap + (msi64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
}

static unsigned msi_mask_off(const GPciDevice *dev, bool msi64)
{
	return dev->msi_cap + (msi64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static unsigned msi_pending_off(const GPciDevice *dev, bool msi64)
{
	return dev->msi_cap + (msi64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
}

static unsigned msi_nr_vectors(uint16_t flags)
{
	return 1u << ((flags & PCI_MSI_FLAGS_QSIZE) >> 4);
}

unsigned gmsi_cap_sizeof(uint16_t flags)
{
	switch (flags & (PCI_MSI_FLAGS_MASKBIT | PCI_MSI_FLAGS_64BIT)) {
	case PCI_MSI_FLAGS_MASKBIT | PCI_MSI_FLAGS_64BIT:
		return 0x18;
	case PCI_MSI_FLAGS_64BIT:
		return 0x0e;
	case PCI_MSI_FLAGS_MASKBIT:
		return 0x14;
	default:
		return 0x0a;
	}
}

bool gmsi_present(const GPciDevice *dev)
{
	return dev->config && (dev->cap_present & GPCI_CAP_MSI);
}

bool gmsi_enabled(const GPciDevice *dev)
{
	return gmsi_present(dev) && (msi_flags(dev) & PCI_MSI_FLAGS_ENABLE);
}

unsigned gmsi_nr_vectors_allocated(const GPciDevice *dev)
{
	return gmsi_present(dev) ? msi_nr_vectors(msi_flags(dev)) : 0;
}

int gmsi_init(GPciDevice *dev, uint8_t offset, unsigned nr_vectors,
	      bool msi64bit, bool per_vector_mask, Error **errp)
{
	unsigned order = 0;
	uint16_t flags;
	int cap;

	if (!dev->config) {
		error_setg(errp, "MSI: %s is not registered", dev->id);
		return -EINVAL;
	}
	if (!gintc_msi_supported(dev->bus ? dev->bus->intc : NULL)) {
		error_setg(errp, "MSI is not supported by interrupt controller");
		return -ENOTSUP;
	}
	if (!nr_vectors || nr_vectors > GMSI_VECTORS_MAX ||
	    (nr_vectors & (nr_vectors - 1))) {
		error_setg(errp, "MSI: %u vectors: the count must be a power of 2 "
			   "from 1 to %u", nr_vectors, GMSI_VECTORS_MAX);
		return -EINVAL;
	}
	if (gmsi_present(dev)) {
		error_setg(errp, "MSI: %s already has an MSI capability", dev->id);
		return -EBUSY;
	}
	while ((1u << order) < nr_vectors)
		order++;
	flags = (uint16_t)(order << 1);		/* Multiple Message Capable */
	if (msi64bit)
		flags |= PCI_MSI_FLAGS_64BIT;
	if (per_vector_mask)
		flags |= PCI_MSI_FLAGS_MASKBIT;

	cap = gpci_add_capability(dev, PCI_CAP_ID_MSI, offset,
				  (uint8_t)gmsi_cap_sizeof(flags), errp);
	if (cap < 0)
		return cap;
	dev->msi_cap = (uint8_t)cap;
	dev->cap_present |= GPCI_CAP_MSI;

	gpci_set_word(dev->config + cap + PCI_MSI_FLAGS, flags);
	gpci_set_word(dev->wmask + cap + PCI_MSI_FLAGS,
		      PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE);
	gpci_set_long(dev->wmask + cap + PCI_MSI_ADDRESS_LO, GMSI_ADDRESS_LO_MASK);
	if (msi64bit)
		gpci_set_long(dev->wmask + cap + PCI_MSI_ADDRESS_HI, 0xffffffffu);
	gpci_set_word(dev->wmask + msi_data_off(dev, msi64bit), 0xffff);
	if (per_vector_mask)
		/* Mask bits 0 .. nr_vectors - 1 are writable. */
		gpci_set_long(dev->wmask + msi_mask_off(dev, msi64bit),
			      0xffffffffu >> (GMSI_VECTORS_MAX - nr_vectors));
	return cap;
}

void gmsi_uninit(GPciDevice *dev)
{
	if (!gmsi_present(dev))
		return;
	gpci_del_capability(dev, PCI_CAP_ID_MSI,
			    (uint8_t)gmsi_cap_sizeof(msi_flags(dev)));
	dev->cap_present &= ~GPCI_CAP_MSI;
	dev->msi_cap = 0;
}

void gmsi_reset(GPciDevice *dev)
{
	uint16_t flags;
	bool msi64;

	if (!gmsi_present(dev))
		return;
	flags = msi_flags(dev);
	flags &= (uint16_t)~(PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE);
	msi64 = flags & PCI_MSI_FLAGS_64BIT;
	gpci_set_word(dev->config + dev->msi_cap + PCI_MSI_FLAGS, flags);
	gpci_set_long(dev->config + dev->msi_cap + PCI_MSI_ADDRESS_LO, 0);
	if (msi64)
		gpci_set_long(dev->config + dev->msi_cap + PCI_MSI_ADDRESS_HI, 0);
	gpci_set_word(dev->config + msi_data_off(dev, msi64), 0);
	if (flags & PCI_MSI_FLAGS_MASKBIT) {
		gpci_set_long(dev->config + msi_mask_off(dev, msi64), 0);
		gpci_set_long(dev->config + msi_pending_off(dev, msi64), 0);
	}
}

bool gmsi_is_masked(const GPciDevice *dev, unsigned vector)
{
	uint16_t flags;

	if (!gmsi_present(dev))
		return false;
	flags = msi_flags(dev);
	if (!(flags & PCI_MSI_FLAGS_MASKBIT) || vector >= GMSI_VECTORS_MAX)
		return false;
	return gpci_get_long(dev->config +
			     msi_mask_off(dev, flags & PCI_MSI_FLAGS_64BIT)) &
	       (1u << vector);
}

GMsiMessage gmsi_get_message(const GPciDevice *dev, unsigned vector)
{
	GMsiMessage msg = { 0, 0 };
	uint16_t flags;
	bool msi64;
	unsigned nr;

	if (!gmsi_present(dev))
		return msg;
	flags = msi_flags(dev);
	msi64 = flags & PCI_MSI_FLAGS_64BIT;
	nr = msi_nr_vectors(flags);
	if (msi64)
		msg.address = gpci_get_quad(dev->config + dev->msi_cap + PCI_MSI_ADDRESS_LO);
	else
		msg.address = gpci_get_long(dev->config + dev->msi_cap + PCI_MSI_ADDRESS_LO);
	msg.data = gpci_get_word(dev->config + msi_data_off(dev, msi64));
	if (nr > 1) {
		/* The vector number replaces the low log2(nr) data bits. */
		msg.data &= ~(nr - 1);
		msg.data |= vector & (nr - 1);
	}
	return msg;
}

void gmsi_notify(GPciDevice *dev, unsigned vector)
{
	uint16_t flags;
	GMsiMessage msg;

	if (!gmsi_enabled(dev))
		return;
	flags = msi_flags(dev);
	if (vector >= msi_nr_vectors(flags))
		return;
	if (gmsi_is_masked(dev, vector)) {
		uint8_t *p = dev->config +
			     msi_pending_off(dev, flags & PCI_MSI_FLAGS_64BIT);

		gpci_set_long(p, gpci_get_long(p) | (1u << vector));
		trace_core_msi_pending(dev->id, "msi", vector);
		return;
	}
	msg = gmsi_get_message(dev, vector);
	trace_core_msi_notify(dev->id, "msi", vector, msg.address, msg.data);
	gmsi_send_message(dev, msg);
}

void gmsi_write_config(GPciDevice *dev, uint32_t addr, uint32_t val, int len)
{
	uint16_t flags;
	bool msi64, maskbit;
	unsigned nr, vector, log_num, log_max;
	uint32_t pending;
	uint8_t *pp;

	(void)val;
	if (!gmsi_present(dev))
		return;
	flags = msi_flags(dev);
	if (!ranges_overlap(addr, (unsigned)len, dev->msi_cap, gmsi_cap_sizeof(flags)))
		return;
	if (!(flags & PCI_MSI_FLAGS_ENABLE))
		return;
	/*
	 * MSI on: INTx is off (MSI, MSI-X and INTx are mutually exclusive).
	 * A guest clearing the bit to mask an interrupt loses it; fine.
	 */
	gpci_device_deassert_intx(dev);

	/* More vectors enabled than capable is illegal: clamp it. */
	log_num = (flags & PCI_MSI_FLAGS_QSIZE) >> 4;
	log_max = (flags & PCI_MSI_FLAGS_QMASK) >> 1;
	if (log_num > log_max) {
		flags &= (uint16_t)~PCI_MSI_FLAGS_QSIZE;
		flags |= (uint16_t)(log_max << 4);
		gpci_set_word(dev->config + dev->msi_cap + PCI_MSI_FLAGS, flags);
	}
	msi64 = flags & PCI_MSI_FLAGS_64BIT;
	maskbit = flags & PCI_MSI_FLAGS_MASKBIT;
	if (!maskbit)
		return;		/* no masking, nothing can be pending */

	nr = msi_nr_vectors(flags);
	pp = dev->config + msi_pending_off(dev, msi64);
	/* Pending bits of vectors no longer enabled are dropped. */
	pending = gpci_get_long(pp) & (0xffffffffu >> (GMSI_VECTORS_MAX - nr));
	gpci_set_long(pp, pending);
	/* Deliver what is pending and now unmasked. */
	for (vector = 0; vector < nr; vector++) {
		if (gmsi_is_masked(dev, vector) || !(pending & (1u << vector)))
			continue;
		gpci_set_long(pp, gpci_get_long(pp) & ~(1u << vector));
		gmsi_notify(dev, vector);
	}
}

/* ------------------------------------------------------------------ */
/* MSI-X                                                                */

static unsigned pba_size_of(unsigned nentries)
{
	return ((nentries + 63) / 64) * 8;
}

bool gmsix_present(const GPciDevice *dev)
{
	return dev->config && (dev->cap_present & GPCI_CAP_MSIX);
}

static uint8_t msix_control(const GPciDevice *dev)
{
	return dev->config[dev->msix_cap + GMSIX_CONTROL_OFFSET];
}

bool gmsix_enabled(const GPciDevice *dev)
{
	return gmsix_present(dev) && (msix_control(dev) & GMSIX_ENABLE_MASK);
}

unsigned gmsix_nr_vectors_allocated(const GPciDevice *dev)
{
	return gmsix_present(dev) ? dev->msix_entries_nr : 0;
}

static bool vector_masked(const GPciDevice *dev, unsigned vector, bool fmask)
{
	unsigned off = vector * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL;

	return fmask || (dev->msix_table[off] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

bool gmsix_is_masked(const GPciDevice *dev, unsigned vector)
{
	if (!gmsix_present(dev) || vector >= dev->msix_entries_nr)
		return true;
	return vector_masked(dev, vector, dev->msix_function_masked);
}

static void update_function_masked(GPciDevice *dev)
{
	dev->msix_function_masked = !gmsix_enabled(dev) ||
				    (msix_control(dev) & GMSIX_MASKALL_MASK);
}

bool gmsix_is_pending(const GPciDevice *dev, unsigned vector)
{
	if (!gmsix_present(dev) || vector >= dev->msix_entries_nr)
		return false;
	return dev->msix_pba[vector / 8] & (1u << (vector % 8));
}

static void set_pending(GPciDevice *dev, unsigned vector)
{
	dev->msix_pba[vector / 8] |= (uint8_t)(1u << (vector % 8));
}

void gmsix_clr_pending(GPciDevice *dev, unsigned vector)
{
	if (!gmsix_present(dev) || vector >= dev->msix_entries_nr)
		return;
	dev->msix_pba[vector / 8] &= (uint8_t)~(1u << (vector % 8));
}

GMsiMessage gmsix_get_message(const GPciDevice *dev, unsigned vector)
{
	GMsiMessage msg = { 0, 0 };
	const uint8_t *e;

	if (!gmsix_present(dev) || vector >= dev->msix_entries_nr)
		return msg;
	e = dev->msix_table + vector * PCI_MSIX_ENTRY_SIZE;
	msg.address = gpci_get_quad(e + PCI_MSIX_ENTRY_LOWER_ADDR);
	msg.data = gpci_get_long(e + PCI_MSIX_ENTRY_DATA);
	return msg;
}

void gmsix_notify(GPciDevice *dev, unsigned vector)
{
	GMsiMessage msg;

	if (!gmsix_present(dev) || vector >= dev->msix_entries_nr ||
	    !dev->msix_entry_used[vector])
		return;
	if (gmsix_is_masked(dev, vector)) {
		/* Also while MSI-X is off: delivered once enabled and unmasked. */
		set_pending(dev, vector);
		trace_core_msi_pending(dev->id, "msix", vector);
		return;
	}
	msg = gmsix_get_message(dev, vector);
	trace_core_msi_notify(dev->id, "msix", vector, msg.address, msg.data);
	gmsi_send_message(dev, msg);
}

static void fire_vector_notifier(GPciDevice *dev, unsigned vector, bool is_masked)
{
	if (!dev->msix_vector_use_notifier)
		return;
	if (is_masked) {
		dev->msix_vector_release_notifier(dev, vector);
	} else {
		/* A failing use leaves the vector as it is; vfio reports it. */
		(void)dev->msix_vector_use_notifier(dev, vector,
						    gmsix_get_message(dev, vector));
	}
}

static void handle_mask_update(GPciDevice *dev, unsigned vector, bool was_masked)
{
	bool is_masked = gmsix_is_masked(dev, vector);

	if (is_masked == was_masked)
		return;
	trace_core_msix_mask(dev->id, vector, is_masked);
	fire_vector_notifier(dev, vector, is_masked);
	if (!is_masked && gmsix_is_pending(dev, vector)) {
		gmsix_clr_pending(dev, vector);
		gmsix_notify(dev, vector);
	}
}

static void mask_all(GPciDevice *dev, unsigned nentries)
{
	unsigned vector;

	for (vector = 0; vector < nentries; vector++) {
		unsigned off = vector * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL;
		bool was_masked = gmsix_is_masked(dev, vector);

		dev->msix_table[off] |= PCI_MSIX_ENTRY_CTRL_MASKBIT;
		handle_mask_update(dev, vector, was_masked);
	}
}

static uint64_t table_read(void *opaque, uint64_t addr, unsigned size)
{
	GPciDevice *dev = opaque;

	(void)size;
	if (!dev->msix_table || addr + 4 > (uint64_t)dev->msix_entries_nr * PCI_MSIX_ENTRY_SIZE)
		return 0;
	return gpci_get_long(dev->msix_table + addr);
}

static void table_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
	GPciDevice *dev = opaque;
	unsigned vector = (unsigned)(addr / PCI_MSIX_ENTRY_SIZE);
	bool was_masked;

	(void)size;
	if (!dev->msix_table || vector >= dev->msix_entries_nr)
		return;
	was_masked = gmsix_is_masked(dev, vector);
	gpci_set_long(dev->msix_table + addr, (uint32_t)val);
	handle_mask_update(dev, vector, was_masked);
}

static const GMemOps table_ops = {
	.read = table_read,
	.write = table_write,
	.valid_min = 4,
	.valid_max = 8,
	.impl_min = 4,
	.impl_max = 4,
};

static uint64_t pba_read(void *opaque, uint64_t addr, unsigned size)
{
	GPciDevice *dev = opaque;

	if (!dev->msix_pba || addr + 4 > pba_size_of(dev->msix_entries_nr))
		return 0;
	if (dev->msix_vector_poll_notifier) {
		/* Let the owner refresh the pending bits of these vectors. */
		unsigned start = (unsigned)addr * 8;
		unsigned end = (unsigned)(addr + size) * 8;

		if (end > dev->msix_entries_nr)
			end = dev->msix_entries_nr;
		if (start < end)
			dev->msix_vector_poll_notifier(dev, start, end);
	}
	return gpci_get_long(dev->msix_pba + addr);
}

/* The PBA is read-only: no write handler, writes are dropped. */
static const GMemOps pba_ops = {
	.read = pba_read,
	.valid_min = 4,
	.valid_max = 8,
	.impl_min = 4,
	.impl_max = 4,
};

int gmsix_init(GPciDevice *dev, unsigned nentries, GMemRegion *table_bar,
	       uint8_t table_bar_nr, uint32_t table_offset,
	       GMemRegion *pba_bar, uint8_t pba_bar_nr, uint32_t pba_offset,
	       uint8_t cap_pos, Error **errp)
{
	uint64_t table_size, pba_size;
	uint8_t *config;
	char name[GMEM_NAME_MAX];
	int cap;

	if (!dev->config) {
		error_setg(errp, "MSI-X: %s is not registered", dev->id);
		return -EINVAL;
	}
	if (!gintc_msi_supported(dev->bus ? dev->bus->intc : NULL)) {
		error_setg(errp, "MSI-X is not supported by interrupt controller");
		return -ENOTSUP;
	}
	if (nentries < 1 || nentries > GMSIX_VECTORS_MAX) {
		error_setg(errp, "The number of MSI-X vectors is invalid");
		return -EINVAL;
	}
	if (gmsix_present(dev)) {
		error_setg(errp, "MSI-X: %s already has an MSI-X capability", dev->id);
		return -EBUSY;
	}
	if (!table_bar || !pba_bar || table_bar_nr >= GPCI_ROM_SLOT ||
	    pba_bar_nr >= GPCI_ROM_SLOT) {
		error_setg(errp, "MSI-X: invalid table or PBA BAR for %s", dev->id);
		return -EINVAL;
	}
	table_size = (uint64_t)nentries * PCI_MSIX_ENTRY_SIZE;
	pba_size = pba_size_of(nentries);
	/* Table and PBA: no overlap, inside their BARs, BIR bits clear. */
	if ((table_bar_nr == pba_bar_nr &&
	     ranges_overlap(table_offset, table_size, pba_offset, pba_size)) ||
	    table_offset + table_size > gmem_region_size(table_bar) ||
	    pba_offset + pba_size > gmem_region_size(pba_bar) ||
	    ((table_offset | pba_offset) & PCI_MSIX_FLAGS_BIRMASK)) {
		error_setg(errp, "table & pba overlap, or they don't fit in BARs,"
			   " or don't align");
		return -EINVAL;
	}
	if (dev->msix_table_mmio.container || dev->msix_pba_mmio.container) {
		error_setg(errp, "MSI-X: %s still has its old table mapped", dev->id);
		return -EBUSY;
	}

	cap = gpci_add_capability(dev, PCI_CAP_ID_MSIX, cap_pos, GMSIX_CAP_LENGTH,
				  errp);
	if (cap < 0)
		return cap;

	dev->msix_table = calloc(1, table_size);
	dev->msix_pba = calloc(1, pba_size);
	dev->msix_entry_used = calloc(nentries, sizeof(*dev->msix_entry_used));
	if (!dev->msix_table || !dev->msix_pba || !dev->msix_entry_used) {
		free(dev->msix_table);
		free(dev->msix_pba);
		free(dev->msix_entry_used);
		dev->msix_table = dev->msix_pba = NULL;
		dev->msix_entry_used = NULL;
		gpci_del_capability(dev, PCI_CAP_ID_MSIX, GMSIX_CAP_LENGTH);
		error_setg(errp, "MSI-X: out of memory for %s", dev->id);
		return -ENOMEM;
	}

	dev->msix_cap = (uint8_t)cap;
	dev->cap_present |= GPCI_CAP_MSIX;
	config = dev->config + cap;
	gpci_set_word(config + PCI_MSIX_FLAGS, (uint16_t)(nentries - 1));
	dev->msix_entries_nr = nentries;
	dev->msix_function_masked = true;
	gpci_set_long(config + PCI_MSIX_TABLE, table_offset | table_bar_nr);
	gpci_set_long(config + PCI_MSIX_PBA, pba_offset | pba_bar_nr);
	/* The enable and function-mask bits are the guest's. */
	dev->wmask[cap + GMSIX_CONTROL_OFFSET] |= GMSIX_ENABLE_MASK | GMSIX_MASKALL_MASK;

	mask_all(dev, nentries);

	snprintf(name, sizeof(name), "%.48s msix-table", dev->id);
	gmem_region_init_io(&dev->msix_table_mmio, name, table_size, &table_ops, dev);
	snprintf(name, sizeof(name), "%.48s msix-pba", dev->id);
	gmem_region_init_io(&dev->msix_pba_mmio, name, pba_size, &pba_ops, dev);
	gmem_transaction_begin();
	if (!gmem_region_add_subregion(table_bar, table_offset, &dev->msix_table_mmio, errp) ||
	    !gmem_region_add_subregion(pba_bar, pba_offset, &dev->msix_pba_mmio, errp)) {
		gmem_transaction_commit();
		gmsix_uninit(dev);
		return -EINVAL;
	}
	gmem_transaction_commit();
	dev->msix_table_bar = table_bar;
	dev->msix_pba_bar = pba_bar;
	return 0;
}

void gmsix_uninit(GPciDevice *dev)
{
	int i;

	if (!gmsix_present(dev))
		return;
	gpci_del_capability(dev, PCI_CAP_ID_MSIX, GMSIX_CAP_LENGTH);
	dev->cap_present &= ~GPCI_CAP_MSIX;
	dev->msix_cap = 0;
	gmem_transaction_begin();
	if (dev->msix_table_mmio.container)
		gmem_region_del_subregion(dev->msix_table_mmio.container,
					  &dev->msix_table_mmio);
	if (dev->msix_pba_mmio.container)
		gmem_region_del_subregion(dev->msix_pba_mmio.container,
					  &dev->msix_pba_mmio);
	gmem_transaction_commit();
	free(dev->msix_table);
	free(dev->msix_pba);
	free(dev->msix_entry_used);
	dev->msix_table = dev->msix_pba = NULL;
	dev->msix_entry_used = NULL;
	dev->msix_entries_nr = 0;
	dev->msix_table_bar = dev->msix_pba_bar = NULL;
	dev->msix_vector_use_notifier = NULL;
	dev->msix_vector_release_notifier = NULL;
	dev->msix_vector_poll_notifier = NULL;
	if (dev->msix_has_exclusive_bar) {
		for (i = 0; i < GPCI_NUM_REGIONS; i++) {
			GPciIORegion *r = &dev->io_regions[i];

			if (r->memory != &dev->msix_exclusive_bar)
				continue;
			if (r->addr != GPCI_BAR_UNMAPPED)
				gmem_region_del_subregion(r->address_space, r->memory);
			memset(r, 0, sizeof(*r));
			r->addr = GPCI_BAR_UNMAPPED;
			if (dev->config) {
				gpci_set_long(dev->config + gpci_bar_reg(i), 0);
				gpci_set_long(dev->wmask + gpci_bar_reg(i), 0);
			}
		}
		gmem_region_destroy(&dev->msix_exclusive_bar);
		dev->msix_has_exclusive_bar = false;
	}
}

int gmsix_init_exclusive_bar(GPciDevice *dev, unsigned nentries,
			     uint8_t bar_nr, Error **errp)
{
	char name[GMEM_NAME_MAX];
	int ret;

	if (nentries * PCI_MSIX_ENTRY_SIZE > GMSIX_EXCLUSIVE_PBA_OFFSET) {
		error_setg(errp, "MSI-X: %u vectors do not fit in an exclusive BAR",
			   nentries);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%.48s-msix", dev->id);
	gmem_region_init_container(&dev->msix_exclusive_bar, name,
				   GMSIX_EXCLUSIVE_BAR_SIZE);
	ret = gmsix_init(dev, nentries, &dev->msix_exclusive_bar, bar_nr, 0,
			 &dev->msix_exclusive_bar, bar_nr,
			 GMSIX_EXCLUSIVE_PBA_OFFSET, 0, errp);
	if (ret) {
		gmem_region_destroy(&dev->msix_exclusive_bar);
		return ret;
	}
	if (!gpci_register_bar(dev, bar_nr, PCI_BASE_ADDRESS_SPACE_MEMORY,
			       &dev->msix_exclusive_bar, errp)) {
		gmsix_uninit(dev);
		gmem_region_destroy(&dev->msix_exclusive_bar);
		return -EINVAL;
	}
	dev->msix_has_exclusive_bar = true;
	return 0;
}

void gmsix_reset(GPciDevice *dev)
{
	bool old_fmask;
	unsigned vector;

	if (!gmsix_present(dev))
		return;
	old_fmask = dev->msix_function_masked;
	dev->config[dev->msix_cap + GMSIX_CONTROL_OFFSET] &=
		(uint8_t)~dev->wmask[dev->msix_cap + GMSIX_CONTROL_OFFSET];
	memset(dev->msix_pba, 0, pba_size_of(dev->msix_entries_nr));
	for (vector = 0; vector < dev->msix_entries_nr; vector++) {
		uint8_t *e = dev->msix_table + vector * PCI_MSIX_ENTRY_SIZE;
		bool was_masked = vector_masked(dev, vector, old_fmask);

		memset(e, 0, PCI_MSIX_ENTRY_SIZE);
		e[PCI_MSIX_ENTRY_VECTOR_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
		if (!was_masked)
			fire_vector_notifier(dev, vector, true);
	}
	update_function_masked(dev);
}

void gmsix_write_config(GPciDevice *dev, uint32_t addr, uint32_t val, int len)
{
	unsigned enable_pos;
	unsigned vector;
	bool was_masked;

	(void)val;
	if (!gmsix_present(dev))
		return;
	enable_pos = dev->msix_cap + GMSIX_CONTROL_OFFSET;
	if (!(addr <= enable_pos && enable_pos < addr + (unsigned)len))
		return;
	was_masked = dev->msix_function_masked;
	update_function_masked(dev);
	/* Turning MSI-X off releases nothing: the owner cleans up. */
	if (!gmsix_enabled(dev))
		return;
	gpci_device_deassert_intx(dev);
	if (dev->msix_function_masked == was_masked)
		return;
	for (vector = 0; vector < dev->msix_entries_nr; vector++)
		handle_mask_update(dev, vector, vector_masked(dev, vector, was_masked));
}

int gmsix_vector_use(GPciDevice *dev, unsigned vector)
{
	if (!gmsix_present(dev) || vector >= dev->msix_entries_nr)
		return -EINVAL;
	dev->msix_entry_used[vector]++;
	return 0;
}

void gmsix_vector_unuse(GPciDevice *dev, unsigned vector)
{
	if (!gmsix_present(dev) || vector >= dev->msix_entries_nr ||
	    !dev->msix_entry_used[vector])
		return;
	if (--dev->msix_entry_used[vector])
		return;
	gmsix_clr_pending(dev, vector);
}

void gmsix_unuse_all_vectors(GPciDevice *dev)
{
	unsigned vector;

	if (!gmsix_present(dev))
		return;
	for (vector = 0; vector < dev->msix_entries_nr; vector++) {
		dev->msix_entry_used[vector] = 0;
		gmsix_clr_pending(dev, vector);
	}
}

/* Enabled and not function-masked: per-vector state decides. */
static bool vectors_live(const GPciDevice *dev)
{
	return (msix_control(dev) & (GMSIX_ENABLE_MASK | GMSIX_MASKALL_MASK)) ==
	       GMSIX_ENABLE_MASK;
}

int gmsix_set_vector_notifiers(GPciDevice *dev, GMsixVectorUseFn use,
			       GMsixVectorReleaseFn release,
			       GMsixVectorPollFn poll)
{
	unsigned vector;
	int ret;

	if (!gmsix_present(dev) || !use || !release)
		return -EINVAL;
	dev->msix_vector_use_notifier = use;
	dev->msix_vector_release_notifier = release;
	dev->msix_vector_poll_notifier = poll;
	if (vectors_live(dev)) {
		for (vector = 0; vector < dev->msix_entries_nr; vector++) {
			if (gmsix_is_masked(dev, vector))
				continue;
			ret = use(dev, vector, gmsix_get_message(dev, vector));
			if (ret < 0) {
				while (vector-- > 0)
					if (!gmsix_is_masked(dev, vector))
						release(dev, vector);
				dev->msix_vector_use_notifier = NULL;
				dev->msix_vector_release_notifier = NULL;
				dev->msix_vector_poll_notifier = NULL;
				return ret;
			}
		}
	}
	if (poll)
		poll(dev, 0, dev->msix_entries_nr);
	return 0;
}

void gmsix_unset_vector_notifiers(GPciDevice *dev)
{
	unsigned vector;

	if (!gmsix_present(dev) || !dev->msix_vector_use_notifier ||
	    !dev->msix_vector_release_notifier)
		return;
	if (vectors_live(dev))
		for (vector = 0; vector < dev->msix_entries_nr; vector++)
			if (!gmsix_is_masked(dev, vector))
				dev->msix_vector_release_notifier(dev, vector);
	dev->msix_vector_use_notifier = NULL;
	dev->msix_vector_release_notifier = NULL;
	dev->msix_vector_poll_notifier = NULL;
}

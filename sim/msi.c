/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim/msi.c: MSI and MSI-X as the device implements them: message
 * registers, per-vector masks, the function mask, pending bits, and
 * delivery of a pending vector when it is unmasked.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "common/trace.h"
#include "sim-internal.h"

/* ---- MSI ----------------------------------------------------------------- */

static unsigned msi_mask_reg(const SimDevice *dev)
{
	return dev->msi_off + (dev->msi_64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static unsigned msi_pending_reg(const SimDevice *dev)
{
	return dev->msi_off + (dev->msi_64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
}

static unsigned msi_enabled_vectors(const SimDevice *dev)
{
	uint16_t fl = (uint16_t)sim_cfg_peek(dev, dev->msi_off + PCI_MSI_FLAGS, 2);
	unsigned mme = (fl & PCI_MSI_FLAGS_QSIZE) >> 4;
	unsigned n = 1u << (mme > 5 ? 5 : mme);

	return n > dev->msi_nvec ? dev->msi_nvec : n;
}

static void msi_send(SimDevice *dev, unsigned vector)
{
	unsigned o = dev->msi_off;
	uint64_t addr = sim_cfg_peek(dev, o + PCI_MSI_ADDRESS_LO, 4);
	uint32_t data;
	unsigned n = msi_enabled_vectors(dev);

	if (dev->msi_64) {
		addr |= (uint64_t)sim_cfg_peek(dev, o + PCI_MSI_ADDRESS_HI, 4) << 32;
		data = sim_cfg_peek(dev, o + PCI_MSI_DATA_64, 2);
	} else {
		data = sim_cfg_peek(dev, o + PCI_MSI_DATA_32, 2);
	}
	/* Multiple Message: the vector number replaces the low data bits. */
	data = (data & ~(n - 1)) | vector;
	sim_send_msi(dev, "msi", vector, addr, data);
}

static void msi_set_pending(SimDevice *dev, uint32_t pending)
{
	dev->msi_pending = pending;
	if (dev->msi_maskable)
		sim_cfg_poke(dev, msi_pending_reg(dev), 4, pending);
}

SimIrqResult sim_msi_notify(SimDevice *dev, unsigned vector)
{
	if (!dev->msi_off || vector >= msi_enabled_vectors(dev))
		return SIM_IRQ_DROPPED;
	if (dev->msi_maskable &&
	    (sim_cfg_peek(dev, msi_mask_reg(dev), 4) & (1u << vector))) {
		msi_set_pending(dev, dev->msi_pending | (1u << vector));
		trace_sim_msi_pending(dev->name, "msi", vector);
		return SIM_IRQ_PENDING;
	}
	msi_send(dev, vector);
	return SIM_IRQ_DELIVERED;
}

/* After a write to the control or mask register: deliver what is unmasked. */
static void msi_write(SimDevice *dev, void *opaque, unsigned off, unsigned len,
		      uint32_t val)
{
	uint32_t mask;
	(void)opaque; (void)off; (void)len; (void)val;

	sim_intx_update(dev);	/* MSI Enable may have changed */
	if (!dev->msi_pending || !dev->msi_maskable ||
	    !(sim_cfg_peek(dev, dev->msi_off + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE))
		return;
	mask = sim_cfg_peek(dev, msi_mask_reg(dev), 4);
	for (unsigned v = 0; v < msi_enabled_vectors(dev); v++) {
		if ((dev->msi_pending & (1u << v)) && !(mask & (1u << v))) {
			msi_set_pending(dev, dev->msi_pending & ~(1u << v));
			msi_send(dev, v);
		}
	}
}

bool sim_msi_adopt(SimDevice *dev, unsigned off, Error **errp)
{
	uint16_t fl = (uint16_t)sim_cfg_peek(dev, off + PCI_MSI_FLAGS, 2);
	unsigned mmc = (fl & PCI_MSI_FLAGS_QMASK) >> 1;
	unsigned len;

	if (mmc > 5) {
		error_setg(errp, "%s: MSI at 0x%x: Multiple Message Capable %u is reserved",
			   dev->name, off, mmc);
		return false;
	}
	if (dev->msi_off) {
		error_setg(errp, "%s: a second MSI capability at 0x%x", dev->name, off);
		return false;
	}
	dev->msi_off = off;
	dev->msi_nvec = 1u << mmc;
	dev->msi_64 = fl & PCI_MSI_FLAGS_64BIT;
	dev->msi_maskable = fl & PCI_MSI_FLAGS_MASKBIT;
	len = 10 + (dev->msi_64 ? 4 : 0) + (dev->msi_maskable ? 10 : 0);
	sim_mask_poke(dev->wmask, off + PCI_MSI_FLAGS, 2,
		      PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	sim_mask_poke(dev->wmask, off + PCI_MSI_ADDRESS_LO, 4, 0xfffffffc);
	if (dev->msi_64) {
		sim_mask_poke(dev->wmask, off + PCI_MSI_ADDRESS_HI, 4, 0xffffffff);
		sim_mask_poke(dev->wmask, off + PCI_MSI_DATA_64, 2, 0xffff);
	} else {
		sim_mask_poke(dev->wmask, off + PCI_MSI_DATA_32, 2, 0xffff);
	}
	if (dev->msi_maskable) {
		uint32_t vm = dev->msi_nvec == 32 ? 0xffffffffu : (1u << dev->msi_nvec) - 1;

		sim_mask_poke(dev->wmask, msi_mask_reg(dev), 4, vm);
	}
	return sim_cfg_add_hook(dev, off, len, NULL, msi_write, NULL, errp);
}

bool sim_cap_add_msi(SimDevice *dev, unsigned off, unsigned nvec, bool addr64,
		     bool maskable, Error **errp)
{
	unsigned mmc = 0;
	unsigned len = 10 + (addr64 ? 4 : 0) + (maskable ? 10 : 0);

	while ((1u << mmc) < nvec && mmc < 6)
		mmc++;
	if (nvec == 0 || nvec > 32 || (1u << mmc) != nvec) {
		error_setg(errp, "%s: MSI vector count %u is not a power of two in 1..32",
			   dev->name, nvec);
		return false;
	}
	/* The structure is 10/14/20/24 bytes; keep the next cap dword aligned. */
	if (!sim_cap_add(dev, PCI_CAP_ID_MSI, off, (len + 3) & ~3u, errp))
		return false;
	sim_cfg_poke(dev, off + PCI_MSI_FLAGS, 2,
		     (mmc << 1) | (addr64 ? PCI_MSI_FLAGS_64BIT : 0) |
		     (maskable ? PCI_MSI_FLAGS_MASKBIT : 0));
	return sim_msi_adopt(dev, off, errp);
}

bool sim_msi_enabled(SimDevice *dev)
{
	bool v;

	sim_lock(dev);
	v = dev->msi_off &&
	    (sim_cfg_peek(dev, dev->msi_off + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE);
	sim_unlock(dev);
	return v;
}

unsigned sim_msi_nvec_enabled(SimDevice *dev)
{
	unsigned n;

	sim_lock(dev);
	n = dev->msi_off ? msi_enabled_vectors(dev) : 0;
	sim_unlock(dev);
	return n;
}

bool sim_msi_pending(SimDevice *dev, unsigned vector)
{
	bool v;

	sim_lock(dev);
	v = vector < 32 && (dev->msi_pending & (1u << vector));
	sim_unlock(dev);
	return v;
}

/* ---- MSI-X ------------------------------------------------------------- */

static bool msix_function_masked(const SimDevice *dev)
{
	return sim_cfg_peek(dev, dev->msix_off + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_MASKALL;
}

static bool msix_enabled_locked(const SimDevice *dev)
{
	return dev->msix_off &&
	       (sim_cfg_peek(dev, dev->msix_off + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
}

static uint32_t entry_dword(const SimDevice *dev, unsigned v, unsigned reg)
{
	const uint8_t *p = dev->msix_table + v * PCI_MSIX_ENTRY_SIZE + reg;

	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static bool pba_test(const SimDevice *dev, unsigned v)
{
	return dev->msix_pba[v / 8] & (1u << (v % 8));
}

static void pba_set(SimDevice *dev, unsigned v, bool on)
{
	if (on)
		dev->msix_pba[v / 8] |= (uint8_t)(1u << (v % 8));
	else
		dev->msix_pba[v / 8] &= (uint8_t)~(1u << (v % 8));
}

static void msix_send(SimDevice *dev, unsigned v)
{
	uint64_t addr = entry_dword(dev, v, PCI_MSIX_ENTRY_LOWER_ADDR) |
			(uint64_t)entry_dword(dev, v, PCI_MSIX_ENTRY_UPPER_ADDR) << 32;

	sim_send_msi(dev, "msix", v, addr, entry_dword(dev, v, PCI_MSIX_ENTRY_DATA));
}

SimIrqResult sim_msix_notify(SimDevice *dev, unsigned vector)
{
	if (!msix_enabled_locked(dev) || vector >= dev->msix.nvec)
		return SIM_IRQ_DROPPED;
	if (msix_function_masked(dev) ||
	    (entry_dword(dev, vector, PCI_MSIX_ENTRY_VECTOR_CTRL) & PCI_MSIX_ENTRY_CTRL_MASKBIT)) {
		pba_set(dev, vector, true);
		trace_sim_msi_pending(dev->name, "msix", vector);
		return SIM_IRQ_PENDING;
	}
	msix_send(dev, vector);
	return SIM_IRQ_DELIVERED;
}

/* Deliver every pending vector that is no longer masked. */
static void msix_flush_pending(SimDevice *dev)
{
	if (!msix_enabled_locked(dev) || msix_function_masked(dev))
		return;
	for (unsigned v = 0; v < dev->msix.nvec; v++) {
		if (pba_test(dev, v) &&
		    !(entry_dword(dev, v, PCI_MSIX_ENTRY_VECTOR_CTRL) & PCI_MSIX_ENTRY_CTRL_MASKBIT)) {
			pba_set(dev, v, false);
			msix_send(dev, v);
		}
	}
}

void sim_msix_table_write(SimDevice *dev, uint64_t off, unsigned len,
			  uint64_t val)
{
	for (unsigned i = 0; i < len; i++) {
		uint64_t o = off + i;
		unsigned reg = (unsigned)(o % PCI_MSIX_ENTRY_SIZE);
		uint8_t b = (uint8_t)(val >> (8 * i));

		if (reg >= PCI_MSIX_ENTRY_VECTOR_CTRL) {
			/* Only the Mask bit of Vector Control is writable. */
			if (reg == PCI_MSIX_ENTRY_VECTOR_CTRL)
				dev->msix_table[o] = (uint8_t)((dev->msix_table[o] & ~1u) | (b & 1u));
		} else if (reg == PCI_MSIX_ENTRY_LOWER_ADDR) {
			dev->msix_table[o] = b & 0xfc;	/* dword aligned */
		} else {
			dev->msix_table[o] = b;
		}
	}
	msix_flush_pending(dev);
}

static void msix_ctrl_write(SimDevice *dev, void *opaque, unsigned off,
			    unsigned len, uint32_t val)
{
	(void)opaque; (void)off; (void)len; (void)val;
	sim_intx_update(dev);	/* MSI-X Enable may have changed */
	msix_flush_pending(dev);
}

/* Everything that can be wrong with an MSI-X layout, checked up front. */
static bool msix_check(const SimDevice *dev, unsigned off, const SimMsixConfig *c,
		       Error **errp)
{
	uint64_t tsize = (uint64_t)c->nvec * PCI_MSIX_ENTRY_SIZE;
	uint64_t psize = ((c->nvec + 63) / 64) * 8;

	if (dev->msix_off) {
		error_setg(errp, "%s: a second MSI-X capability at 0x%x", dev->name, off);
		return false;
	}
	if (c->nvec < 1 || c->nvec > 2048) {
		error_setg(errp, "%s: MSI-X vector count %u out of range 1..2048",
			   dev->name, c->nvec);
		return false;
	}
	if (c->table_bar >= SIM_NUM_BARS || c->pba_bar >= SIM_NUM_BARS ||
	    dev->bar[c->table_bar].type == SIM_BAR_NONE ||
	    dev->bar[c->pba_bar].type == SIM_BAR_NONE) {
		error_setg(errp, "%s: MSI-X at 0x%x: table BIR %u / PBA BIR %u name no implemented BAR",
			   dev->name, off, c->table_bar, c->pba_bar);
		return false;
	}
	if ((c->table_offset & 7) || (c->pba_offset & 7) || (c->pba_offset_reported & 7)) {
		error_setg(errp, "%s: MSI-X table/PBA offsets must be 8-byte aligned",
			   dev->name);
		return false;
	}
	if (!sim_bar_range_check(dev, c->table_bar, c->table_offset, tsize, errp)) {
		error_prepend(errp, "MSI-X table: ");
		return false;
	}
	if (!sim_bar_range_check(dev, c->pba_bar, c->pba_offset, psize, errp)) {
		error_prepend(errp, "MSI-X PBA: ");
		return false;
	}
	if (c->table_bar == c->pba_bar && c->table_offset < c->pba_offset + psize &&
	    c->pba_offset < c->table_offset + tsize) {
		error_setg(errp, "%s: MSI-X PBA at 0x%x overlaps the table at 0x%x in BAR%u",
			   dev->name, c->pba_offset, c->table_offset, c->table_bar);
		return false;
	}
	return true;
}

static bool msix_apply(SimDevice *dev, unsigned off, const SimMsixConfig *c,
		       Error **errp)
{
	SimRange t = { .off = c->table_offset, .size = (uint64_t)c->nvec * PCI_MSIX_ENTRY_SIZE,
		       .kind = SIM_RANGE_MSIX_TABLE };
	SimRange p = { .off = c->pba_offset, .size = ((c->nvec + 63) / 64) * 8,
		       .kind = SIM_RANGE_MSIX_PBA };

	dev->msix_table = calloc(c->nvec, PCI_MSIX_ENTRY_SIZE);
	dev->msix_pba = calloc((c->nvec + 63) / 64, 8);
	if (!dev->msix_table || !dev->msix_pba) {
		sim_msi_free(dev);
		error_setg(errp, "out of memory");
		return false;
	}
	/* Cannot fail after msix_check, but for lack of memory. */
	if (!sim_bar_add_range(dev, c->table_bar, &t, errp)) {
		sim_msi_free(dev);
		return false;
	}
	if (!sim_bar_add_range(dev, c->pba_bar, &p, errp)) {
		sim_bar_del_range(dev, c->table_bar, t.off);
		sim_msi_free(dev);
		return false;
	}
	dev->msix = *c;
	dev->msix_off = off;
	sim_mask_poke(dev->wmask, off + PCI_MSIX_FLAGS, 2,
		      PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	sim_msi_reset(dev);
	return sim_cfg_add_hook(dev, off + PCI_MSIX_FLAGS, 2, NULL, msix_ctrl_write,
				NULL, errp);
}

bool sim_msix_adopt(SimDevice *dev, unsigned off, uint32_t pba_offset,
		    Error **errp)
{
	uint16_t fl = (uint16_t)sim_cfg_peek(dev, off + PCI_MSIX_FLAGS, 2);
	uint32_t tbl = sim_cfg_peek(dev, off + PCI_MSIX_TABLE, 4);
	uint32_t pba = sim_cfg_peek(dev, off + PCI_MSIX_PBA, 4);
	SimMsixConfig c = {
		.nvec = (fl & PCI_MSIX_FLAGS_QSIZE) + 1u,
		.table_bar = tbl & PCI_MSIX_TABLE_BIR,
		.table_offset = tbl & PCI_MSIX_TABLE_OFFSET,
		.pba_bar = pba & PCI_MSIX_PBA_BIR,
		.pba_offset = pba_offset ? pba_offset : (pba & PCI_MSIX_PBA_OFFSET),
		.pba_offset_reported = pba & PCI_MSIX_PBA_OFFSET,
	};

	return msix_check(dev, off, &c, errp) && msix_apply(dev, off, &c, errp);
}

bool sim_cap_add_msix(SimDevice *dev, unsigned off, const SimMsixConfig *c,
		      Error **errp)
{
	SimMsixConfig cc = *c;

	if (!cc.pba_offset_reported)
		cc.pba_offset_reported = cc.pba_offset;
	if (!msix_check(dev, off, &cc, errp) ||
	    !sim_cap_add(dev, PCI_CAP_ID_MSIX, off, 12, errp))
		return false;
	sim_cfg_poke(dev, off + PCI_MSIX_FLAGS, 2, cc.nvec - 1);
	sim_cfg_poke(dev, off + PCI_MSIX_TABLE, 4, cc.table_offset | cc.table_bar);
	sim_cfg_poke(dev, off + PCI_MSIX_PBA, 4, cc.pba_offset_reported | cc.pba_bar);
	return msix_apply(dev, off, &cc, errp);
}

void sim_msi_reset(SimDevice *dev)
{
	dev->msi_pending = 0;
	if (dev->msix_table) {
		/* Vectors come out of reset masked with zero address/data. */
		memset(dev->msix_table, 0, (size_t)dev->msix.nvec * PCI_MSIX_ENTRY_SIZE);
		for (unsigned v = 0; v < dev->msix.nvec; v++)
			dev->msix_table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] =
				PCI_MSIX_ENTRY_CTRL_MASKBIT;
		memset(dev->msix_pba, 0, ((dev->msix.nvec + 63) / 64) * 8);
	}
}

void sim_msi_free(SimDevice *dev)
{
	free(dev->msix_table);
	free(dev->msix_pba);
	dev->msix_table = NULL;
	dev->msix_pba = NULL;
}

bool sim_msix_enabled(SimDevice *dev)
{
	bool v;

	sim_lock(dev);
	v = msix_enabled_locked(dev);
	sim_unlock(dev);
	return v;
}

unsigned sim_msix_nvec(SimDevice *dev)
{
	return dev->msix_off ? dev->msix.nvec : 0;
}

bool sim_msix_pending(SimDevice *dev, unsigned vector)
{
	bool v;

	sim_lock(dev);
	v = dev->msix_off && vector < dev->msix.nvec && pba_test(dev, vector);
	sim_unlock(dev);
	return v;
}

bool sim_msix_entry(SimDevice *dev, unsigned vector, uint64_t *addr,
		    uint32_t *data, uint32_t *ctrl)
{
	sim_lock(dev);
	if (!dev->msix_off || vector >= dev->msix.nvec) {
		sim_unlock(dev);
		return false;
	}
	if (addr)
		*addr = entry_dword(dev, vector, PCI_MSIX_ENTRY_LOWER_ADDR) |
			(uint64_t)entry_dword(dev, vector, PCI_MSIX_ENTRY_UPPER_ADDR) << 32;
	if (data)
		*data = entry_dword(dev, vector, PCI_MSIX_ENTRY_DATA);
	if (ctrl)
		*ctrl = entry_dword(dev, vector, PCI_MSIX_ENTRY_VECTOR_CTRL);
	sim_unlock(dev);
	return true;
}

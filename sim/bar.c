/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim/bar.c: BARs and the expansion ROM (declaration, sizing through the
 * config masks, decode), and what lives in them: register blocks, RAM and
 * the MSI-X table and PBA.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "common/trace.h"
#include "sim-internal.h"

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static unsigned bar_reg(unsigned idx)
{
	return idx == SIM_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * idx;
}

bool sim_bar_add(SimDevice *dev, unsigned idx, SimBarType type, bool prefetch,
		 uint64_t size, Error **errp)
{
	unsigned reg;
	SimBar *b;

	if (idx >= SIM_NUM_BARS) {
		error_setg(errp, "%s: BAR index %u out of range 0..5", dev->name, idx);
		return false;
	}
	b = &dev->bar[idx];
	if (dev->realized) {
		error_setg(errp, "%s: BAR%u declared after realize", dev->name, idx);
		return false;
	}
	if (b->type != SIM_BAR_NONE || b->upper) {
		error_setg(errp, "%s: BAR%u is already in use", dev->name, idx);
		return false;
	}
	if (type == SIM_BAR_NONE)
		return true;
	if (type == SIM_BAR_MEM64 && idx == SIM_NUM_BARS - 1) {
		error_setg(errp, "%s: 64-bit BAR%u needs BAR%u for its upper half",
			   dev->name, idx, idx + 1);
		return false;
	}
	if (type == SIM_BAR_MEM64 && (dev->bar[idx + 1].type != SIM_BAR_NONE)) {
		error_setg(errp, "%s: 64-bit BAR%u: BAR%u is already in use",
			   dev->name, idx, idx + 1);
		return false;
	}
	if (!is_pow2(size) || size < (type == SIM_BAR_IO ? 4u : 16u) ||
	    (type == SIM_BAR_IO && size > 0x10000) ||
	    (type == SIM_BAR_MEM32 && size > 0x80000000ull)) {
		error_setg(errp, "%s: BAR%u size 0x%llx is not a valid %s BAR size",
			   dev->name, idx, (unsigned long long)size,
			   type == SIM_BAR_IO ? "I/O" : type == SIM_BAR_MEM32 ? "32-bit" : "64-bit");
		return false;
	}
	if (type == SIM_BAR_IO && prefetch) {
		error_setg(errp, "%s: I/O BAR%u cannot be prefetchable", dev->name, idx);
		return false;
	}
	b->type = type;
	b->prefetch = prefetch;
	b->size = size;
	reg = bar_reg(idx);
	if (type == SIM_BAR_IO) {
		sim_cfg_poke(dev, reg, 4, PCI_BASE_ADDRESS_SPACE_IO);
		sim_mask_poke(dev->wmask, reg, 4, (uint32_t)~(size - 1) & PCI_BASE_ADDRESS_IO_MASK);
		sim_mask_poke(dev->hwmask, reg, 4, ~PCI_BASE_ADDRESS_IO_MASK);
	} else {
		uint32_t flags = (type == SIM_BAR_MEM64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
				 (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);

		sim_cfg_poke(dev, reg, 4, flags);
		sim_mask_poke(dev->wmask, reg, 4,
			      (uint32_t)(~(size - 1)) & (uint32_t)PCI_BASE_ADDRESS_MEM_MASK);
		sim_mask_poke(dev->hwmask, reg, 4, ~(uint32_t)PCI_BASE_ADDRESS_MEM_MASK);
		if (type == SIM_BAR_MEM64) {
			dev->bar[idx + 1].upper = true;
			sim_mask_poke(dev->wmask, reg + 4, 4, (uint32_t)(~(size - 1) >> 32));
		}
	}
	return true;
}

bool sim_rom_add(SimDevice *dev, uint64_t size, const void *data, size_t len,
		 Error **errp)
{
	SimBar *b = &dev->bar[SIM_ROM_SLOT];

	if (dev->realized || b->type != SIM_BAR_NONE) {
		error_setg(errp, "%s: ROM already declared or device realized", dev->name);
		return false;
	}
	if (!is_pow2(size) || size < 0x800 || size > 0x1000000 || len > size) {
		error_setg(errp, "%s: ROM size 0x%llx invalid (power of two, 2 KiB..16 MiB, >= content)",
			   dev->name, (unsigned long long)size);
		return false;
	}
	dev->rom = malloc(size);
	if (!dev->rom) {
		error_setg(errp, "out of memory");
		return false;
	}
	memset(dev->rom, 0xff, size);
	if (len)
		memcpy(dev->rom, data, len);
	b->type = SIM_BAR_MEM32;
	b->size = size;
	sim_cfg_poke(dev, PCI_ROM_ADDRESS, 4, 0);
	sim_mask_poke(dev->wmask, PCI_ROM_ADDRESS, 4,
		      ((uint32_t)~(size - 1) & PCI_ROM_ADDRESS_MASK) | PCI_ROM_ADDRESS_ENABLE);
	return true;
}

bool sim_bar_info(const SimDevice *dev, unsigned idx, SimBarInfo *info)
{
	const SimBar *b;

	if (idx > SIM_NUM_BARS)
		return false;
	b = &dev->bar[idx];
	sim_lock(dev);
	info->type = b->type;
	info->prefetch = b->prefetch;
	info->size = b->type == SIM_BAR_NONE ? 0 : b->size;
	info->addr = b->addr;
	sim_unlock(dev);
	return b->type != SIM_BAR_NONE;
}

bool sim_bar_set_addr(SimDevice *dev, unsigned idx, uint64_t addr, Error **errp)
{
	SimBar *b;
	unsigned reg;

	if (idx > SIM_NUM_BARS || dev->bar[idx].type == SIM_BAR_NONE) {
		error_setg(errp, "%s: BAR%u is not implemented", dev->name, idx);
		return false;
	}
	b = &dev->bar[idx];
	if (addr & (b->size - 1)) {
		error_setg(errp, "%s: BAR%u address 0x%llx is not aligned to its size 0x%llx",
			   dev->name, idx, (unsigned long long)addr,
			   (unsigned long long)b->size);
		return false;
	}
	if (b->type != SIM_BAR_MEM64 && addr > 0xffffffffull) {
		error_setg(errp, "%s: BAR%u is 32-bit; address 0x%llx does not fit",
			   dev->name, idx, (unsigned long long)addr);
		return false;
	}
	sim_lock(dev);
	b->addr = addr;
	reg = bar_reg(idx);
	if (!dev->vf) {
		uint32_t lo = sim_cfg_peek(dev, reg, 4);

		if (idx == SIM_ROM_SLOT)
			lo = (lo & PCI_ROM_ADDRESS_ENABLE) | ((uint32_t)addr & PCI_ROM_ADDRESS_MASK);
		else if (b->type == SIM_BAR_IO)
			lo = (lo & ~PCI_BASE_ADDRESS_IO_MASK) | ((uint32_t)addr & PCI_BASE_ADDRESS_IO_MASK);
		else
			lo = (lo & ~(uint32_t)PCI_BASE_ADDRESS_MEM_MASK) |
			     ((uint32_t)addr & (uint32_t)PCI_BASE_ADDRESS_MEM_MASK);
		sim_cfg_poke(dev, reg, 4, lo);
		if (b->type == SIM_BAR_MEM64 && idx != SIM_ROM_SLOT)
			sim_cfg_poke(dev, reg + 4, 4, (uint32_t)(addr >> 32));
	}
	sim_unlock(dev);
	return true;
}

bool sim_bars_realize(SimDevice *dev, Error **errp)
{
	(void)errp;
	if (dev->vf)
		dev->bar[SIM_ROM_SLOT].prefetch = false;
	return true;
}

/* ---- ranges inside a BAR -------------------------------------------- */

bool sim_bar_range_check(const SimDevice *dev, unsigned bar, uint64_t off,
			 uint64_t size, Error **errp)
{
	const SimBar *b;

	if (bar >= SIM_NUM_BARS || dev->bar[bar].type == SIM_BAR_NONE) {
		error_setg(errp, "%s: BAR%u is not implemented", dev->name, bar);
		return false;
	}
	b = &dev->bar[bar];
	if (!size || off >= b->size || size > b->size - off) {
		error_setg(errp, "%s: [0x%llx, +0x%llx) does not fit in BAR%u (0x%llx bytes)",
			   dev->name, (unsigned long long)off, (unsigned long long)size,
			   bar, (unsigned long long)b->size);
		return false;
	}
	for (unsigned i = 0; i < b->nranges; i++) {
		const SimRange *o = &b->ranges[i];

		if (off < o->off + o->size && o->off < off + size) {
			error_setg(errp, "%s: [0x%llx, +0x%llx) overlaps [0x%llx, +0x%llx) in BAR%u",
				   dev->name, (unsigned long long)off,
				   (unsigned long long)size, (unsigned long long)o->off,
				   (unsigned long long)o->size, bar);
			return false;
		}
	}
	return true;
}

bool sim_bar_add_range(SimDevice *dev, unsigned bar, SimRange *r, Error **errp)
{
	SimBar *b;
	SimRange *n;
	unsigned pos;

	if (!sim_bar_range_check(dev, bar, r->off, r->size, errp))
		return false;
	b = &dev->bar[bar];
	for (pos = 0; pos < b->nranges && b->ranges[pos].off < r->off; pos++)
		;
	n = realloc(b->ranges, (b->nranges + 1) * sizeof(*n));
	if (!n) {
		error_setg(errp, "out of memory");
		return false;
	}
	b->ranges = n;
	memmove(&n[pos + 1], &n[pos], (b->nranges - pos) * sizeof(*n));
	n[pos] = *r;
	b->nranges++;
	return true;
}

void sim_bar_del_range(SimDevice *dev, unsigned bar, uint64_t off)
{
	SimBar *b = &dev->bar[bar];

	for (unsigned i = 0; i < b->nranges; i++) {
		if (b->ranges[i].off == off) {
			memmove(&b->ranges[i], &b->ranges[i + 1],
				(b->nranges - i - 1) * sizeof(*b->ranges));
			b->nranges--;
			return;
		}
	}
}

SimRegBlock *sim_bar_add_regs(SimDevice *dev, unsigned bar, uint64_t offset,
			      const SimReg *regs, unsigned nregs,
			      SimRegReadFn read, SimRegWriteFn write,
			      void *opaque, Error **errp)
{
	SimRegBlock *blk;
	SimRange r = { 0 };
	uint64_t end = 0;

	for (unsigned i = 0; i < nregs; i++) {
		const SimReg *g = &regs[i];

		if (g->width != 1 && g->width != 2 && g->width != 4 && g->width != 8) {
			error_setg(errp, "%s: register %s: width %u is not 1, 2, 4 or 8",
				   dev->name, g->name, g->width);
			return NULL;
		}
		if (g->offset % g->width) {
			error_setg(errp, "%s: register %s at 0x%x is not aligned to its width",
				   dev->name, g->name, g->offset);
			return NULL;
		}
		if (i && g->offset < regs[i - 1].offset + regs[i - 1].width) {
			error_setg(errp, "%s: register %s at 0x%x overlaps or precedes %s",
				   dev->name, g->name, g->offset, regs[i - 1].name);
			return NULL;
		}
		end = g->offset + g->width;
	}
	if (!nregs) {
		error_setg(errp, "%s: empty register block", dev->name);
		return NULL;
	}
	blk = calloc(1, sizeof(*blk));
	if (blk)
		blk->vals = calloc(nregs, sizeof(*blk->vals));
	if (!blk || !blk->vals) {
		if (blk)
			free(blk);
		error_setg(errp, "out of memory");
		return NULL;
	}
	*blk = (SimRegBlock){ dev, bar, offset, end, regs, nregs, blk->vals,
			      read, write, opaque };
	for (unsigned i = 0; i < nregs; i++)
		blk->vals[i] = regs[i].reset;
	r.off = offset;
	r.size = end;
	r.kind = SIM_RANGE_REGS;
	r.blk = blk;
	sim_lock(dev);
	if (!sim_bar_add_range(dev, bar, &r, errp)) {
		sim_unlock(dev);
		free(blk->vals);
		free(blk);
		return NULL;
	}
	sim_unlock(dev);
	return blk;
}

bool sim_bar_add_ram(SimDevice *dev, unsigned bar, uint64_t offset,
		     uint64_t size, uint8_t fill, Error **errp)
{
	SimRange r = { .off = offset, .size = size, .kind = SIM_RANGE_RAM, .fill = fill };
	bool ok;

	if (size > (64u << 20)) {
		error_setg(errp, "%s: RAM block of 0x%llx bytes is too large",
			   dev->name, (unsigned long long)size);
		return false;
	}
	r.ram = malloc(size ? size : 1);
	if (!r.ram) {
		error_setg(errp, "out of memory");
		return false;
	}
	memset(r.ram, fill, size);
	sim_lock(dev);
	ok = sim_bar_add_range(dev, bar, &r, errp);
	sim_unlock(dev);
	if (!ok)
		free(r.ram);
	return ok;
}

uint64_t sim_regs_get(const SimRegBlock *blk, unsigned idx)
{
	return idx < blk->nregs ? blk->vals[idx] : 0;
}

void sim_regs_set(SimRegBlock *blk, unsigned idx, uint64_t val)
{
	if (idx < blk->nregs)
		blk->vals[idx] = val;
}

void *sim_regs_opaque(const SimRegBlock *blk)
{
	return blk->opaque;
}

const SimReg *sim_regs_reg(const SimRegBlock *blk, unsigned idx)
{
	return idx < blk->nregs ? &blk->regs[idx] : NULL;
}

void sim_bars_reset(SimDevice *dev)
{
	for (unsigned i = 0; i < SIM_NUM_BARS; i++) {
		SimBar *b = &dev->bar[i];

		for (unsigned j = 0; j < b->nranges; j++) {
			SimRange *r = &b->ranges[j];

			if (r->kind == SIM_RANGE_RAM)
				memset(r->ram, r->fill, r->size);
			else if (r->kind == SIM_RANGE_REGS)
				for (unsigned k = 0; k < r->blk->nregs; k++)
					r->blk->vals[k] = r->blk->regs[k].reset;
		}
	}
}

void sim_bars_free(SimDevice *dev)
{
	for (unsigned i = 0; i < SIM_NUM_BARS; i++) {
		SimBar *b = &dev->bar[i];

		for (unsigned j = 0; j < b->nranges; j++) {
			if (b->ranges[j].kind == SIM_RANGE_RAM)
				free(b->ranges[j].ram);
			if (b->ranges[j].kind == SIM_RANGE_REGS) {
				free(b->ranges[j].blk->vals);
				free(b->ranges[j].blk);
			}
		}
		free(b->ranges);
		b->ranges = NULL;
		b->nranges = 0;
	}
	free(dev->rom);
	dev->rom = NULL;
}

/* ---- access ------------------------------------------------------------- */

static bool decodes_locked(const SimDevice *dev, unsigned idx)
{
	const SimBar *b = &dev->bar[idx];
	uint16_t cmd = (uint16_t)sim_cfg_peek(dev, PCI_COMMAND, 2);

	if (b->type == SIM_BAR_NONE)
		return false;
	if (dev->pm_off &&
	    (sim_cfg_peek(dev, dev->pm_off + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK))
		return false;	/* only config space answers outside D0 */
	if (idx == SIM_ROM_SLOT) {
		if (!(sim_cfg_peek(dev, PCI_ROM_ADDRESS, 4) & PCI_ROM_ADDRESS_ENABLE))
			return false;
		return dev->vf ? dev->vf_mse : (cmd & PCI_COMMAND_MEMORY);
	}
	if (b->type == SIM_BAR_IO)
		return !dev->vf && (cmd & PCI_COMMAND_IO);
	return dev->vf ? dev->vf_mse : (cmd & PCI_COMMAND_MEMORY);
}

bool sim_bar_decodes(const SimDevice *dev, unsigned idx)
{
	bool v;

	if (idx > SIM_NUM_BARS)
		return false;
	sim_lock(dev);
	v = decodes_locked(dev, idx);
	sim_unlock(dev);
	return v;
}

static const SimRange *find_range(const SimBar *b, uint64_t off, uint64_t *next)
{
	for (unsigned i = 0; i < b->nranges; i++) {
		const SimRange *r = &b->ranges[i];

		if (off < r->off) {
			*next = r->off;
			return NULL;
		}
		if (off < r->off + r->size)
			return r;
	}
	*next = UINT64_MAX;
	return NULL;
}

static uint64_t width_mask(unsigned width)
{
	return width >= 8 ? UINT64_MAX : (1ull << (8 * width)) - 1;
}

/* Access the part [pos, end) of register block blk (absolute BAR offsets). */
static void regs_access(SimDevice *dev, SimRegBlock *blk, uint64_t pos,
			uint64_t end, uint8_t *bytes, uint64_t base, bool write)
{
	for (unsigned i = 0; i < blk->nregs && pos < end; i++) {
		const SimReg *g = &blk->regs[i];
		uint64_t rs = blk->offset + g->offset, re = rs + g->width;
		uint64_t lo, hi, bm = 0, v = 0, old;

		if (re <= pos)
			continue;
		if (rs >= end)
			break;
		lo = pos > rs ? pos : rs;
		hi = end < re ? end : re;
		for (uint64_t a = lo; a < hi; a++) {
			unsigned sh = (unsigned)(8 * (a - rs));

			bm |= 0xffull << sh;
			if (write)
				v |= (uint64_t)bytes[a - base] << sh;
		}
		if (!write) {
			uint64_t cur = blk->vals[i];

			if (blk->read)
				cur = blk->read(dev, blk, i, cur);
			cur &= width_mask(g->width);
			for (uint64_t a = lo; a < hi; a++)
				bytes[a - base] = (uint8_t)(cur >> (8 * (a - rs)));
		} else {
			uint64_t merged, nv;

			old = blk->vals[i];
			merged = (old & ~bm) | (v & bm);
			nv = (old & ~g->wmask) | (merged & g->wmask);
			nv &= ~(v & bm & g->w1cmask);
			blk->vals[i] = nv & width_mask(g->width);
			if (blk->write)
				blk->write(dev, blk, i, old, v, bm);
		}
	}
}

static void msix_pba_read(const SimDevice *dev, const SimRange *r,
			  uint64_t pos, uint64_t end, uint8_t *bytes, uint64_t base)
{
	for (uint64_t a = pos; a < end; a++)
		bytes[a - base] = dev->msix_pba[a - r->off];
}

static int bar_access(SimDevice *dev, unsigned idx, uint64_t off, unsigned len,
		      uint64_t *val, bool write)
{
	uint8_t bytes[8];
	SimBar *b;
	uint64_t pos;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if (idx > SIM_NUM_BARS)
		return -EINVAL;
	b = &dev->bar[idx];
	if (b->type == SIM_BAR_NONE || off >= b->size || len > b->size - off)
		return -EINVAL;
	sim_lock(dev);
	if (!decodes_locked(dev, idx)) {
		sim_unlock(dev);
		return -EIO;
	}
	if (write) {
		trace_sim_bar_write(dev->name, idx, off, len, *val);
		for (unsigned i = 0; i < len; i++)
			bytes[i] = (uint8_t)(*val >> (8 * i));
	} else {
		memset(bytes, 0xff, sizeof(bytes));
	}
	if (idx == SIM_ROM_SLOT) {
		if (!write)
			memcpy(bytes, dev->rom + off, len);
		goto done;
	}
	pos = off;
	while (pos < off + len) {
		uint64_t next = UINT64_MAX, end;
		const SimRange *r = find_range(b, pos, &next);

		if (!r) {	/* unbacked: all-ones, writes ignored */
			pos = next < off + len ? next : off + len;
			continue;
		}
		end = r->off + r->size < off + len ? r->off + r->size : off + len;
		switch (r->kind) {
		case SIM_RANGE_REGS:
			regs_access(dev, r->blk, pos, end, bytes, off, write);
			break;
		case SIM_RANGE_RAM:
			if (write)
				memcpy(r->ram + (pos - r->off), bytes + (pos - off), end - pos);
			else
				memcpy(bytes + (pos - off), r->ram + (pos - r->off), end - pos);
			break;
		case SIM_RANGE_MSIX_TABLE:
			if (write) {
				uint64_t v = 0;

				for (uint64_t a = pos; a < end; a++)
					v |= (uint64_t)bytes[a - off] << (8 * (a - pos));
				sim_msix_table_write(dev, pos - r->off, (unsigned)(end - pos), v);
			} else {
				memcpy(bytes + (pos - off), dev->msix_table + (pos - r->off), end - pos);
			}
			break;
		case SIM_RANGE_MSIX_PBA:
			if (!write)	/* the PBA is read-only */
				msix_pba_read(dev, r, pos, end, bytes, off);
			break;
		}
		pos = end;
	}
done:
	if (!write) {
		uint64_t v = 0;

		for (unsigned i = 0; i < len; i++)
			v |= (uint64_t)bytes[i] << (8 * i);
		*val = v;
		trace_sim_bar_read(dev->name, idx, off, len, v);
	}
	sim_unlock(dev);
	return 0;
}

int sim_bar_read(SimDevice *dev, unsigned idx, uint64_t off, unsigned len,
		 uint64_t *val)
{
	return bar_access(dev, idx, off, len, val, false);
}

int sim_bar_write(SimDevice *dev, unsigned idx, uint64_t off, unsigned len,
		  uint64_t val)
{
	return bar_access(dev, idx, off, len, &val, true);
}

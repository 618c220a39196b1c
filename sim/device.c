/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim/device.c: the PCI function: lifecycle, config space and its masks,
 * identity, INTx, resets and the DMA port.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "common/trace.h"
#include "sim-internal.h"

/* Status bits that software clears by writing 1. */
#define STATUS_W1C (PCI_STATUS_DETECTED_PARITY | PCI_STATUS_SIG_SYSTEM_ERROR | \
		    PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_REC_TARGET_ABORT | \
		    PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_PARITY)
#define COMMAND_RW (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
		    PCI_COMMAND_PARITY | PCI_COMMAND_SERR | \
		    PCI_COMMAND_INTX_DISABLE)

uint32_t sim_cfg_peek(const SimDevice *dev, unsigned off, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)dev->cfg[off + i] << (8 * i);
	return v;
}

void sim_cfg_poke(SimDevice *dev, unsigned off, unsigned len, uint32_t val)
{
	for (unsigned i = 0; i < len; i++)
		dev->cfg[off + i] = (uint8_t)(val >> (8 * i));
}

void sim_mask_poke(uint8_t *mask, unsigned off, unsigned len, uint32_t val)
{
	for (unsigned i = 0; i < len; i++)
		mask[off + i] = (uint8_t)(val >> (8 * i));
}

static uint32_t mask_peek(const uint8_t *mask, unsigned off, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)mask[off + i] << (8 * i);
	return v;
}

/* Interrupt Disable changes what the host sees of the INTx line. */
static void command_write(SimDevice *dev, void *opaque, unsigned off,
			  unsigned len, uint32_t val)
{
	(void)opaque; (void)off; (void)len; (void)val;
	sim_intx_update(dev);
}

SimDevice *sim_device_new(const char *name, unsigned cfg_size)
{
	pthread_mutexattr_t attr;
	SimDevice *dev;

	if (cfg_size != SIM_CFG_SIZE_PCI && cfg_size != SIM_CFG_SIZE_PCIE)
		return NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->name = strdup(name ? name : "sim");
	if (!dev->name) {
		free(dev);
		return NULL;
	}
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&dev->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	dev->cfg_size = cfg_size;
	dev->vf_mse = true;

	/* The header's generic access rules; models refine them. */
	memset(dev->used, 1, 0x40);
	sim_mask_poke(dev->wmask, PCI_COMMAND, 2, COMMAND_RW);
	sim_mask_poke(dev->w1cmask, PCI_STATUS, 2, STATUS_W1C);
	dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	if (!sim_cfg_add_hook(dev, PCI_COMMAND, 2, NULL, command_write, NULL, NULL)) {
		sim_device_free(dev);
		return NULL;
	}
	return dev;
}

void sim_device_free(SimDevice *dev)
{
	if (!dev)
		return;
	if (dev->model && dev->model->free)
		dev->model->free(dev->model_state);
	sim_bars_free(dev);
	sim_msi_free(dev);
	free(dev->hooks);
	free(dev->name);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

const char *sim_device_name(const SimDevice *dev)
{
	return dev->name;
}

unsigned sim_device_cfg_size(const SimDevice *dev)
{
	return dev->cfg_size;
}

void sim_device_set_host(SimDevice *dev, const SimHostOps *ops, void *opaque)
{
	sim_lock(dev);
	dev->host = ops;
	dev->host_opaque = opaque;
	sim_unlock(dev);
}

void sim_device_get_host(SimDevice *dev, const SimHostOps **ops, void **opaque)
{
	sim_lock(dev);
	*ops = dev->host;
	*opaque = dev->host_opaque;
	sim_unlock(dev);
}

void sim_device_lock(SimDevice *dev)
{
	sim_lock(dev);
}

void sim_device_unlock(SimDevice *dev)
{
	sim_unlock(dev);
}

bool sim_device_trylock(SimDevice *dev)
{
	return pthread_mutex_trylock(&dev->lock) == 0;
}

void sim_device_set_model(SimDevice *dev, const SimModelOps *ops, void *state)
{
	sim_lock(dev);
	dev->model = ops;
	dev->model_state = state;
	sim_unlock(dev);
}

void *sim_device_model_state(const SimDevice *dev)
{
	return dev->model_state;
}

/* ---- identity ---------------------------------------------------------- */

void sim_device_set_ids(SimDevice *dev, const SimIds *ids)
{
	sim_lock(dev);
	dev->ids = *ids;
	sim_cfg_poke(dev, PCI_VENDOR_ID, 2, ids->vendor);
	sim_cfg_poke(dev, PCI_DEVICE_ID, 2, ids->device);
	sim_cfg_poke(dev, PCI_REVISION_ID, 1, ids->revision);
	sim_cfg_poke(dev, PCI_CLASS_PROG, 3, ids->class_code);
	sim_cfg_poke(dev, PCI_SUBSYSTEM_VENDOR_ID, 2, ids->subsystem_vendor);
	sim_cfg_poke(dev, PCI_SUBSYSTEM_ID, 2, ids->subsystem_device);
	sim_unlock(dev);
}

SimIds sim_device_ids(const SimDevice *dev)
{
	SimIds ids;

	sim_lock(dev);
	ids = dev->ids;
	sim_unlock(dev);
	return ids;
}

void sim_device_set_vf(SimDevice *dev, bool vf)
{
	sim_lock(dev);
	dev->vf = vf;
	sim_unlock(dev);
}

bool sim_device_is_vf(const SimDevice *dev)
{
	return dev->vf;
}

void sim_device_set_vf_mse(SimDevice *dev, bool on)
{
	sim_lock(dev);
	dev->vf_mse = on;
	sim_unlock(dev);
}

/* ---- realize ------------------------------------------------------------ */

bool sim_device_realize(SimDevice *dev, Error **errp)
{
	bool has_io = false, has_mem = false;

	sim_lock(dev);
	if (dev->realized) {
		sim_unlock(dev);
		error_setg(errp, "%s: already realized", dev->name);
		return false;
	}
	if (!sim_bars_realize(dev, errp)) {
		sim_unlock(dev);
		return false;
	}
	for (unsigned i = 0; i <= SIM_NUM_BARS; i++) {
		if (dev->bar[i].type == SIM_BAR_IO)
			has_io = true;
		else if (dev->bar[i].type != SIM_BAR_NONE)
			has_mem = true;
	}
	/* A decode enable without anything to decode is hard-wired 0. */
	if (!has_io)
		dev->wmask[PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_IO;
	if (!has_mem)
		dev->wmask[PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_MEMORY;
	if (!dev->cfg[PCI_INTERRUPT_PIN])
		dev->wmask[PCI_COMMAND + 1] &= (uint8_t)~(PCI_COMMAND_INTX_DISABLE >> 8);
	if (dev->vf) {
		/*
		 * SR-IOV: the VF's Vendor/Device ID read 0xffff; Memory/IO
		 * Space, Interrupt Disable, Cache Line Size and the BARs do not
		 * apply and are read-only zero; there is no INTx pin.
		 */
		sim_cfg_poke(dev, PCI_VENDOR_ID, 4, 0xffffffff);
		sim_mask_poke(dev->wmask, PCI_COMMAND, 2,
			      PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR);
		dev->wmask[PCI_CACHE_LINE_SIZE] = 0;
		dev->cfg[PCI_CACHE_LINE_SIZE] = 0;
		dev->cfg[PCI_INTERRUPT_PIN] = 0;
		/* All six BAR dwords, including the last one's upper bytes. */
		for (unsigned off = PCI_BASE_ADDRESS_0; off < PCI_BASE_ADDRESS_5 + 4; off++) {
			dev->cfg[off] = 0;
			dev->wmask[off] = 0;
			dev->hwmask[off] = 0xff;
		}
		sim_mask_poke(dev->hwmask, PCI_VENDOR_ID, 4, 0xffffffff);
	}
	/* Hard-wired bits are never writable. */
	for (unsigned i = 0; i < dev->cfg_size; i++) {
		dev->wmask[i] &= (uint8_t)~dev->hwmask[i];
		dev->w1cmask[i] &= (uint8_t)~dev->hwmask[i];
	}
	memcpy(dev->poweron, dev->cfg, sizeof(dev->cfg));
	dev->realized = true;
	sim_unlock(dev);
	return true;
}

bool sim_device_realized(const SimDevice *dev)
{
	return dev->realized;
}

/* ---- config space ------------------------------------------------------ */

static int cfg_check(const SimDevice *dev, unsigned off, unsigned len)
{
	if (len == 0 || len > 4 || (off & 3) + len > 4)
		return -EINVAL;
	if (off >= dev->cfg_size || off + len > dev->cfg_size)
		return -EFAULT;
	return 0;
}

static bool overlaps(unsigned a, unsigned alen, unsigned b, unsigned blen)
{
	return a < b + blen && b < a + alen;
}

int sim_cfg_read(SimDevice *dev, unsigned off, unsigned len, uint32_t *val)
{
	int ret = cfg_check(dev, off, len);
	uint32_t v;

	if (ret)
		return ret;
	sim_lock(dev);
	v = sim_cfg_peek(dev, off, len);
	for (unsigned i = 0; i < dev->nhooks; i++) {
		SimCfgHookEntry *h = &dev->hooks[i];

		if (h->read && overlaps(off, len, h->off, h->len))
			h->read(dev, h->opaque, off, len, &v);
	}
	trace_sim_cfg_read(dev->name, off, len, v);
	sim_unlock(dev);
	*val = v;
	return 0;
}

int sim_cfg_write(SimDevice *dev, unsigned off, unsigned len, uint32_t val)
{
	int ret = cfg_check(dev, off, len);

	if (ret)
		return ret;
	sim_lock(dev);
	trace_sim_cfg_write(dev->name, off, len, val);
	for (unsigned i = 0; i < len; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t nv;

		nv = (uint8_t)((dev->cfg[o] & ~dev->wmask[o]) | (b & dev->wmask[o]));
		nv &= (uint8_t)~(b & dev->w1cmask[o]);
		dev->cfg[o] = nv;
	}
	for (unsigned i = 0; i < dev->nhooks; i++) {
		SimCfgHookEntry *h = &dev->hooks[i];

		if (h->write && overlaps(off, len, h->off, h->len))
			h->write(dev, h->opaque, off, len, val);
	}
	sim_unlock(dev);
	return 0;
}

static int cfg_buf_access(SimDevice *dev, unsigned off, uint8_t *buf,
			  size_t len, bool write)
{
	if (off > dev->cfg_size || len > dev->cfg_size - off)
		return -EFAULT;
	while (len) {
		unsigned chunk = 4 - (off & 3);
		uint32_t v = 0;
		int ret;

		if (chunk > len)
			chunk = (unsigned)len;
		/* Naturally aligned pieces, as a CPU would issue them. */
		if (chunk == 3)
			chunk = (off & 1) ? 1 : 2;
		if (write) {
			for (unsigned i = 0; i < chunk; i++)
				v |= (uint32_t)buf[i] << (8 * i);
			ret = sim_cfg_write(dev, off, chunk, v);
		} else {
			ret = sim_cfg_read(dev, off, chunk, &v);
			for (unsigned i = 0; i < chunk; i++)
				buf[i] = (uint8_t)(v >> (8 * i));
		}
		if (ret)
			return ret;
		off += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

int sim_cfg_read_buf(SimDevice *dev, unsigned off, void *buf, size_t len)
{
	return cfg_buf_access(dev, off, buf, len, false);
}

int sim_cfg_write_buf(SimDevice *dev, unsigned off, const void *buf, size_t len)
{
	return cfg_buf_access(dev, off, (uint8_t *)buf, len, true);
}

uint32_t sim_cfg_get(const SimDevice *dev, unsigned off, unsigned len)
{
	uint32_t v;

	if (len > 4 || off >= dev->cfg_size || off + len > dev->cfg_size)
		return 0;
	sim_lock(dev);
	v = sim_cfg_peek(dev, off, len);
	sim_unlock(dev);
	return v;
}

void sim_cfg_set(SimDevice *dev, unsigned off, unsigned len, uint32_t val)
{
	if (len > 4 || off >= dev->cfg_size || off + len > dev->cfg_size)
		return;
	sim_lock(dev);
	for (unsigned i = 0; i < len; i++) {
		unsigned o = off + i;
		uint8_t hw = dev->realized ? dev->hwmask[o] : 0;

		dev->cfg[o] = (uint8_t)((dev->cfg[o] & hw) | ((val >> (8 * i)) & ~hw));
	}
	sim_unlock(dev);
}

void sim_cfg_set_mask(SimDevice *dev, SimMaskKind kind, unsigned off,
		      unsigned len, uint32_t mask)
{
	uint8_t *m;

	if (len > 4 || off >= dev->cfg_size || off + len > dev->cfg_size)
		return;
	sim_lock(dev);
	m = kind == SIM_MASK_RW ? dev->wmask :
	    kind == SIM_MASK_W1C ? dev->w1cmask : dev->hwmask;
	sim_mask_poke(m, off, len, mask);
	if (dev->realized && kind != SIM_MASK_HARDWIRED) {
		for (unsigned i = 0; i < len; i++)
			m[off + i] &= (uint8_t)~dev->hwmask[off + i];
	}
	sim_unlock(dev);
}

uint32_t sim_cfg_get_mask(const SimDevice *dev, SimMaskKind kind,
			  unsigned off, unsigned len)
{
	const uint8_t *m = kind == SIM_MASK_RW ? dev->wmask :
			   kind == SIM_MASK_W1C ? dev->w1cmask : dev->hwmask;

	if (len > 4 || off >= dev->cfg_size || off + len > dev->cfg_size)
		return 0;
	return mask_peek(m, off, len);
}

bool sim_cfg_add_hook(SimDevice *dev, unsigned off, unsigned len,
		      SimCfgReadHook read, SimCfgWriteHook write, void *opaque,
		      Error **errp)
{
	SimCfgHookEntry *n;

	if (!len || off >= dev->cfg_size || len > dev->cfg_size - off) {
		error_setg(errp, "%s: config hook [0x%x, +0x%x) outside config space",
			   dev->name, off, len);
		return false;
	}
	sim_lock(dev);
	n = realloc(dev->hooks, (dev->nhooks + 1) * sizeof(*n));
	if (!n) {
		sim_unlock(dev);
		error_setg(errp, "out of memory");
		return false;
	}
	dev->hooks = n;
	n[dev->nhooks++] = (SimCfgHookEntry){ off, len, read, write, opaque };
	sim_unlock(dev);
	return true;
}

bool sim_cfg_claim(SimDevice *dev, unsigned off, unsigned len,
		   const char *what, Error **errp)
{
	if (off >= dev->cfg_size || len > dev->cfg_size - off) {
		error_setg(errp, "%s: %s at 0x%x (+0x%x) does not fit in %u bytes of config space",
			   dev->name, what, off, len, dev->cfg_size);
		return false;
	}
	for (unsigned i = 0; i < len; i++) {
		if (dev->used[off + i]) {
			error_setg(errp, "%s: %s at 0x%x (+0x%x) overlaps used config byte 0x%x",
				   dev->name, what, off, len, off + i);
			return false;
		}
	}
	memset(dev->used + off, 1, len);
	return true;
}

/* ---- INTx --------------------------------------------------------------- */

void sim_intx_update(SimDevice *dev)
{
	unsigned pin = dev->cfg[PCI_INTERRUPT_PIN];
	bool msi_on = (dev->msi_off &&
		       (sim_cfg_peek(dev, dev->msi_off + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE)) ||
		      (dev->msix_off &&
		       (sim_cfg_peek(dev, dev->msix_off + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE));
	/* A function that has MSI or MSI-X enabled does not use INTx. */
	bool line = pin && dev->intx_level && !msi_on &&
		    !(sim_cfg_peek(dev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	uint16_t st = (uint16_t)sim_cfg_peek(dev, PCI_STATUS, 2);

	/* Interrupt Status reflects the device's request, masked or not. */
	if (pin && dev->intx_level)
		st |= PCI_STATUS_INTERRUPT;
	else
		st &= (uint16_t)~PCI_STATUS_INTERRUPT;
	sim_cfg_poke(dev, PCI_STATUS, 2, st);
	if (line == dev->intx_line)
		return;
	dev->intx_line = line;
	trace_sim_intx(dev->name, pin, line);
	if (dev->host && dev->host->intx)
		dev->host->intx(dev->host_opaque, dev, pin, line);
}

void sim_intx_set(SimDevice *dev, bool level)
{
	sim_lock(dev);
	dev->intx_level = level;
	sim_intx_update(dev);
	sim_unlock(dev);
}

bool sim_intx_asserted(SimDevice *dev)
{
	bool v;

	sim_lock(dev);
	v = dev->intx_line;
	sim_unlock(dev);
	return v;
}

SimIrqMode sim_irq_mode(SimDevice *dev)
{
	SimIrqMode m = SIM_IRQ_NONE;

	sim_lock(dev);
	if (dev->msix_off &&
	    (sim_cfg_peek(dev, dev->msix_off + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE))
		m = SIM_IRQ_MSIX;
	else if (dev->msi_off &&
		 (sim_cfg_peek(dev, dev->msi_off + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE))
		m = SIM_IRQ_MSI;
	else if (dev->cfg[PCI_INTERRUPT_PIN] &&
		 !(sim_cfg_peek(dev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE))
		m = SIM_IRQ_INTX;
	sim_unlock(dev);
	return m;
}

SimIrqResult sim_irq_raise(SimDevice *dev, unsigned vector)
{
	SimIrqResult r = SIM_IRQ_DROPPED;

	sim_lock(dev);
	switch (sim_irq_mode(dev)) {
	case SIM_IRQ_MSIX:
		r = sim_msix_notify(dev, vector);
		break;
	case SIM_IRQ_MSI:
		r = sim_msi_notify(dev, vector);
		break;
	case SIM_IRQ_INTX:
		dev->intx_level = true;
		sim_intx_update(dev);
		r = SIM_IRQ_DELIVERED;
		break;
	case SIM_IRQ_NONE:
		if (dev->cfg[PCI_INTERRUPT_PIN]) {
			/* Interrupt Disable: the request waits in Status. */
			dev->intx_level = true;
			sim_intx_update(dev);
			r = SIM_IRQ_PENDING;
		}
		break;
	}
	sim_unlock(dev);
	return r;
}

void sim_send_msi(SimDevice *dev, const char *type, unsigned vector,
		  uint64_t addr, uint32_t data)
{
	trace_sim_msi_send(dev->name, type, vector, addr, data);
	if (dev->host && dev->host->msi)
		dev->host->msi(dev->host_opaque, dev, addr, data);
}

void sim_req_raise(SimDevice *dev)
{
	sim_lock(dev);
	trace_sim_err(dev->name, "device request");
	if (dev->host && dev->host->req)
		dev->host->req(dev->host_opaque, dev);
	sim_unlock(dev);
}

/* ---- resets -------------------------------------------------------------- */

const char *sim_reset_kind_name(SimResetKind kind)
{
	switch (kind) {
	case SIM_RESET_POWER_ON: return "power-on";
	case SIM_RESET_FLR: return "flr";
	case SIM_RESET_PM: return "pm";
	case SIM_RESET_HOT: return "hot";
	}
	return "?";
}

void sim_reset_locked(SimDevice *dev, SimResetKind kind)
{
	trace_sim_reset(dev->name, sim_reset_kind_name(kind));
	memcpy(dev->cfg, dev->poweron, sizeof(dev->cfg));
	sim_bars_reset(dev);
	sim_msi_reset(dev);
	dev->intx_level = false;
	sim_intx_update(dev);
	dev->reset_count[kind]++;
	if (dev->model && dev->model->reset)
		dev->model->reset(dev, kind);
}

void sim_device_reset(SimDevice *dev, SimResetKind kind)
{
	if ((unsigned)kind > SIM_RESET_HOT)
		return;
	sim_lock(dev);
	sim_reset_locked(dev, kind);
	sim_unlock(dev);
}

unsigned sim_device_reset_count(SimDevice *dev, SimResetKind kind)
{
	unsigned n;

	if ((unsigned)kind > SIM_RESET_HOT)
		return 0;
	sim_lock(dev);
	n = dev->reset_count[kind];
	sim_unlock(dev);
	return n;
}

/* ---- DMA ---------------------------------------------------------------- */

static int dma_access(SimDevice *dev, uint64_t iova, void *buf, size_t len,
		      bool write)
{
	int ret;

	sim_lock(dev);
	if (!(sim_cfg_peek(dev, PCI_COMMAND, 2) & PCI_COMMAND_MASTER)) {
		ret = -EACCES;
		trace_sim_dma(dev->name, write ? "write" : "read", iova, len, ret);
		sim_unlock(dev);
		return ret;
	}
	if (len == 0) {
		sim_unlock(dev);
		return 0;
	}
	if (dev->host && dev->host->dma)
		ret = dev->host->dma(dev->host_opaque, dev, iova, buf, len, write);
	else
		ret = -ENODEV;
	if (ret > 0)
		ret = 0;
	trace_sim_dma(dev->name, write ? "write" : "read", iova, len, ret);
	if (ret < 0) {
		dev->dma_faults++;
		/* A read that completes with an error is a master abort. */
		if (!write) {
			uint16_t st = (uint16_t)sim_cfg_peek(dev, PCI_STATUS, 2);

			sim_cfg_poke(dev, PCI_STATUS, 2, st | PCI_STATUS_REC_MASTER_ABORT);
		}
		if (dev->host && dev->host->dma_fault)
			dev->host->dma_fault(dev->host_opaque, dev, iova, len, write, ret);
	}
	sim_unlock(dev);
	return ret;
}

int sim_dma_read(SimDevice *dev, uint64_t iova, void *buf, size_t len)
{
	return dma_access(dev, iova, buf, len, false);
}

int sim_dma_write(SimDevice *dev, uint64_t iova, const void *buf, size_t len)
{
	return dma_access(dev, iova, (void *)buf, len, true);
}

unsigned sim_dma_fault_count(SimDevice *dev)
{
	unsigned n;

	sim_lock(dev);
	n = dev->dma_faults;
	sim_unlock(dev);
	return n;
}

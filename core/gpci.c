/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/gpci: the guest's PCI bus and devices.  See gpci.h.
 */
#include "gpci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/trace.h"
#include "core/gmsi.h"

/* Longest capability chain we follow (a loop in device data ends here). */
#define GPCI_CAP_TTL	64
#define GPCI_EXT_CAP_TTL	((PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8)

static bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool covers_byte(uint32_t addr, uint32_t len, uint32_t byte)
{
	return addr <= byte && byte < addr + len;
}

static uint32_t ones(int len)
{
	return len >= 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
}

static const char *dev_type(const GPciDevice *dev)
{
	return dev->cls && dev->cls->type ? dev->cls->type : "pci-device";
}

unsigned gpci_config_size(const GPciDevice *dev)
{
	unsigned sz = gpci_is_express(dev) ? PCI_CFG_SPACE_EXP_SIZE : PCI_CFG_SPACE_SIZE;

	if (dev->config_alloc && sz > dev->config_alloc)
		sz = dev->config_alloc;
	return sz;
}

/* ------------------------------------------------------------------ */
/* the bus                                                              */

static int swizzle_map_irq(GPciDevice *dev, int pin)
{
	return (GPCI_SLOT(dev->devfn) + pin) % GPCI_NUM_PINS;
}

void gpci_bus_init(GPciBus *bus, const char *name, GMemRegion *mem,
		   GMemRegion *io, GAddressSpace *dma_as, GIntc *intc)
{
	int i;

	memset(bus, 0, sizeof(*bus));
	snprintf(bus->name, sizeof(bus->name), "%s", name ? name : "pci");
	bus->address_space_mem = mem;
	bus->address_space_io = io;
	bus->dma_as = dma_as;
	bus->intc = intc;
	bus->map_irq = swizzle_map_irq;
	bus->nirq = GPCI_NUM_PINS;
	for (i = 0; i < GPCI_MAX_IRQ_LINES; i++)
		bus->irq_route[i] = i;
}

void gpci_bus_destroy(GPciBus *bus)
{
	int devfn;

	for (devfn = GPCI_DEVFN_MAX - 1; devfn >= 0; devfn--)
		if (bus->devices[devfn])
			gpci_device_unrealize(bus->devices[devfn]);
}

void gpci_bus_set_iommu(GPciBus *bus, GPciIommuFn fn, void *opaque)
{
	bus->iommu_fn = fn;
	bus->iommu_opaque = opaque;
}

void gpci_bus_set_map_irq(GPciBus *bus, GPciMapIrqFn fn, int nirq)
{
	bus->map_irq = fn ? fn : swizzle_map_irq;
	if (nirq < 1 || nirq > GPCI_MAX_IRQ_LINES)
		nirq = fn ? GPCI_MAX_IRQ_LINES : GPCI_NUM_PINS;
	bus->nirq = nirq;
}

void gpci_bus_set_hotplug(GPciBus *bus, bool on)
{
	bus->hotplug = on;
}

void gpci_bus_fire_intx_routing_notifier(GPciBus *bus)
{
	int devfn;

	for (devfn = 0; devfn < GPCI_DEVFN_MAX; devfn++) {
		GPciDevice *dev = bus->devices[devfn];

		if (dev && dev->intx_routing_notifier)
			dev->intx_routing_notifier(dev);
	}
}

void gpci_bus_set_intx_route(GPciBus *bus, int line, int irq)
{
	if (line < 0 || line >= GPCI_MAX_IRQ_LINES)
		return;
	if (irq < 0)
		irq = -1;
	if (bus->irq_route[line] == irq)
		return;
	bus->irq_route[line] = irq;
	gpci_bus_fire_intx_routing_notifier(bus);
}

GPciDevice *gpci_bus_find_device(GPciBus *bus, int devfn)
{
	if (devfn < 0 || devfn >= GPCI_DEVFN_MAX)
		return NULL;
	return bus->devices[devfn];
}

uint32_t gpci_bus_config_read(GPciBus *bus, int devfn, uint32_t addr, int len)
{
	GPciDevice *dev = gpci_bus_find_device(bus, devfn);

	if (!dev)
		return ones(len);
	return gpci_config_read(dev, addr, len);
}

void gpci_bus_config_write(GPciBus *bus, int devfn, uint32_t addr,
			   uint32_t val, int len)
{
	GPciDevice *dev = gpci_bus_find_device(bus, devfn);

	if (dev)
		gpci_config_write(dev, addr, val, len);
}

static uint64_t ecam_read(void *opaque, uint64_t addr, unsigned size)
{
	return gpci_bus_config_read(opaque, (int)((addr >> 12) & 0xff),
				    (uint32_t)(addr & 0xfff), (int)size);
}

static void ecam_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
	gpci_bus_config_write(opaque, (int)((addr >> 12) & 0xff),
			      (uint32_t)(addr & 0xfff), (uint32_t)val, (int)size);
}

static const GMemOps ecam_ops = {
	.read = ecam_read,
	.write = ecam_write,
	.valid_min = 1,
	.valid_max = 4,
	.impl_min = 1,
	.impl_max = 4,
};

void gpci_bus_init_ecam(GPciBus *bus, GMemRegion *mr, const char *name)
{
	gmem_region_init_io(mr, name ? name : "pci-ecam",
			    (uint64_t)GPCI_DEVFN_MAX << 12, &ecam_ops, bus);
}

void gpci_bus_reset(GPciBus *bus)
{
	int i;

	for (i = 0; i < GPCI_DEVFN_MAX; i++)
		if (bus->devices[i] && bus->devices[i]->realized)
			gpci_device_reset(bus->devices[i]);
	for (i = 0; i < GPCI_MAX_IRQ_LINES; i++) {
		bus->irq_count[i] = 0;
		if (bus->intc && i < bus->nirq)
			gintc_set_line(bus->intc, (unsigned)i, 0);
	}
}

/* ------------------------------------------------------------------ */
/* INTx                                                                 */

int gpci_intx(const GPciDevice *dev)
{
	unsigned pin = dev->config ? dev->config[PCI_INTERRUPT_PIN] : 0;

	return pin >= 1 && pin <= GPCI_NUM_PINS ? (int)pin - 1 : -1;
}

static bool irq_disabled(const GPciDevice *dev)
{
	return gpci_get_word(dev->config + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
}

static void update_irq_status(GPciDevice *dev)
{
	if (dev->irq_state)
		dev->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		dev->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
}

/* The pin as the bus sees it moved by change (+1 asserted, -1 released). */
static void change_irq_level(GPciDevice *dev, int pin, int change)
{
	GPciBus *bus = dev->bus;
	int line = bus->map_irq(dev, pin);

	if (line < 0 || line >= bus->nirq)
		return;
	bus->irq_count[line] += change;
	if (bus->intc) {
		gintc_set_intx(bus->intc, gpci_requester_id(dev), (unsigned)pin,
			       change > 0);
		gintc_set_line(bus->intc, (unsigned)line, bus->irq_count[line] != 0);
	}
}

static void irq_handler(GPciDevice *dev, int pin, int level)
{
	int cur = (dev->irq_state >> pin) & 1;
	int change = !!level - cur;

	if (!change)
		return;
	if (level)
		dev->irq_state |= 1u << pin;
	else
		dev->irq_state &= ~(1u << pin);
	update_irq_status(dev);
	trace_core_pci_intx(dev->id, (unsigned)pin, !!level);
	if (irq_disabled(dev))
		return;
	change_irq_level(dev, pin, change);
}

void gpci_set_irq(GPciDevice *dev, int level)
{
	int pin = gpci_intx(dev);

	if (pin < 0 || !dev->bus || !dev->realized)
		return;
	irq_handler(dev, pin, level);
}

void gpci_device_deassert_intx(GPciDevice *dev)
{
	int pin;

	if (!dev->config || !dev->bus)
		return;
	for (pin = 0; pin < GPCI_NUM_PINS; pin++)
		irq_handler(dev, pin, 0);
}

/* COMMAND.INTX_DISABLE flipped: pins that are up go down or back up. */
static void update_irq_disabled(GPciDevice *dev, bool was_disabled)
{
	bool disabled = irq_disabled(dev);
	int pin;

	if (disabled == was_disabled)
		return;
	for (pin = 0; pin < GPCI_NUM_PINS; pin++)
		if (dev->irq_state & (1u << pin))
			change_irq_level(dev, pin, disabled ? -1 : 1);
}

void gpci_device_set_intx_routing_notifier(GPciDevice *dev,
					   GPciIntxRoutingNotifier notifier)
{
	dev->intx_routing_notifier = notifier;
}

GPciIntxRoute gpci_device_route_intx_to_irq(GPciDevice *dev, int pin)
{
	GPciIntxRoute route = { .mode = GPCI_INTX_DISABLED, .irq = -1 };
	GPciBus *bus = dev->bus;
	int line;

	if (!bus || pin < 0 || pin >= GPCI_NUM_PINS || dev->devfn < 0)
		return route;
	line = bus->map_irq(dev, pin);
	if (line < 0 || line >= bus->nirq || bus->irq_route[line] < 0)
		return route;
	route.mode = GPCI_INTX_ENABLED;
	route.irq = bus->irq_route[line];
	return route;
}

bool gpci_intx_route_changed(const GPciIntxRoute *old, const GPciIntxRoute *cur)
{
	return old->mode != cur->mode || old->irq != cur->irq;
}

/* ------------------------------------------------------------------ */
/* BARs                                                                 */

bool gpci_register_bar(GPciDevice *dev, int region_num, uint8_t type,
		       GMemRegion *memory, Error **errp)
{
	GPciIORegion *r;
	uint64_t size, wmask;
	unsigned reg;
	bool io = type & PCI_BASE_ADDRESS_SPACE_IO;
	bool mem64 = !io && (type & PCI_BASE_ADDRESS_MEM_TYPE_64);

	if (region_num < 0 || region_num >= GPCI_NUM_REGIONS) {
		error_setg(errp, "PCI: invalid BAR %d for %s", region_num, dev->id);
		return false;
	}
	if (!dev->config || !memory) {
		error_setg(errp, "PCI: BAR %d of %s: device not registered or no region",
			   region_num, dev->id);
		return false;
	}
	size = gmem_region_size(memory);
	if (!size || (size & (size - 1))) {
		error_setg(errp, "PCI region size must be pow2 type=0x%x, size=0x%llx",
			   type, (unsigned long long)size);
		return false;
	}
	if (region_num == GPCI_ROM_SLOT && (io || mem64)) {
		error_setg(errp, "PCI: the ROM BAR of %s must be 32-bit memory", dev->id);
		return false;
	}
	if (mem64 && region_num >= GPCI_ROM_SLOT - 1) {
		error_setg(errp, "PCI: 64-bit BAR %d of %s has no room for its upper half",
			   region_num, dev->id);
		return false;
	}
	if (mem64 && dev->io_regions[region_num + 1].size) {
		error_setg(errp, "PCI: 64-bit BAR %d of %s overlaps BAR %d",
			   region_num, dev->id, region_num + 1);
		return false;
	}
	if (region_num > 0 && region_num < GPCI_ROM_SLOT) {
		GPciIORegion *lo = &dev->io_regions[region_num - 1];

		if (lo->size && !(lo->type & PCI_BASE_ADDRESS_SPACE_IO) &&
		    (lo->type & PCI_BASE_ADDRESS_MEM_TYPE_64)) {
			error_setg(errp, "PCI: BAR %d of %s is the upper half of 64-bit BAR %d",
				   region_num, dev->id, region_num - 1);
			return false;
		}
	}

	r = &dev->io_regions[region_num];
	if (r->addr != GPCI_BAR_UNMAPPED && r->address_space && r->memory)
		gmem_region_del_subregion(r->address_space, r->memory);
	r->addr = GPCI_BAR_UNMAPPED;
	r->size = size;
	r->type = type;
	r->memory = memory;
	r->address_space = io ? dev->bus->address_space_io :
				dev->bus->address_space_mem;

	/* The size mask: address bits below the size read back as 0. */
	wmask = ~(size - 1);
	reg = gpci_bar_reg(region_num);
	if (region_num == GPCI_ROM_SLOT)
		wmask |= PCI_ROM_ADDRESS_ENABLE;
	gpci_set_long(dev->config + reg, type);
	if (mem64) {
		gpci_set_quad(dev->config + reg, type);
		gpci_set_quad(dev->wmask + reg, wmask);
		gpci_set_quad(dev->cmask + reg, ~0ull);
	} else {
		gpci_set_long(dev->wmask + reg, (uint32_t)wmask);
		gpci_set_long(dev->cmask + reg, 0xffffffffu);
	}
	return true;
}

uint64_t gpci_get_bar_addr(const GPciDevice *dev, int region_num)
{
	if (region_num < 0 || region_num >= GPCI_NUM_REGIONS)
		return GPCI_BAR_UNMAPPED;
	return dev->io_regions[region_num].addr;
}

/* Where BAR reg decodes now, or GPCI_BAR_UNMAPPED (QEMU's pci_bar_address). */
static uint64_t bar_address(GPciDevice *d, int reg, uint8_t type, uint64_t size)
{
	unsigned bar = gpci_bar_reg(reg);
	uint16_t cmd = gpci_get_word(d->config + PCI_COMMAND);
	uint64_t new_addr, last_addr;

	if (type & PCI_BASE_ADDRESS_SPACE_IO) {
		if (!(cmd & PCI_COMMAND_IO))
			return GPCI_BAR_UNMAPPED;
		new_addr = gpci_get_long(d->config + bar) & ~(size - 1);
		last_addr = new_addr + size - 1;
		/* No wrap, not at 0, below 4 GiB. */
		if (last_addr <= new_addr || new_addr == 0 ||
		    last_addr >= UINT32_MAX)
			return GPCI_BAR_UNMAPPED;
		return new_addr;
	}
	if (!(cmd & PCI_COMMAND_MEMORY))
		return GPCI_BAR_UNMAPPED;
	if (type & PCI_BASE_ADDRESS_MEM_TYPE_64)
		new_addr = gpci_get_quad(d->config + bar);
	else
		new_addr = gpci_get_long(d->config + bar);
	/* The ROM also has its own enable bit. */
	if (reg == GPCI_ROM_SLOT && !(new_addr & PCI_ROM_ADDRESS_ENABLE))
		return GPCI_BAR_UNMAPPED;
	new_addr &= ~(size - 1);
	last_addr = new_addr + size - 1;
	if (last_addr <= new_addr || new_addr == 0 ||
	    last_addr == GPCI_BAR_UNMAPPED)
		return GPCI_BAR_UNMAPPED;
	/* A 32-bit BAR must not reach 4 GiB (the sizing pattern does). */
	if (!(type & PCI_BASE_ADDRESS_MEM_TYPE_64) && last_addr >= UINT32_MAX)
		return GPCI_BAR_UNMAPPED;
	return new_addr;
}

static void update_mappings(GPciDevice *d)
{
	int i;

	gmem_transaction_begin();
	for (i = 0; i < GPCI_NUM_REGIONS; i++) {
		GPciIORegion *r = &d->io_regions[i];
		uint64_t new_addr;

		if (!r->size)
			continue;
		new_addr = bar_address(d, i, r->type, r->size);
		if (new_addr == r->addr)
			continue;
		if (r->addr != GPCI_BAR_UNMAPPED) {
			trace_core_pci_bar_unmap(d->id, (unsigned)i, r->addr, r->size);
			gmem_region_del_subregion(r->address_space, r->memory);
		}
		r->addr = new_addr;
		if (r->addr != GPCI_BAR_UNMAPPED) {
			if (!r->address_space ||
			    !gmem_region_add_subregion_overlap(r->address_space,
							       r->addr, r->memory,
							       1, NULL)) {
				r->addr = GPCI_BAR_UNMAPPED;
				continue;
			}
			trace_core_pci_bar_map(d->id, (unsigned)i, r->addr, r->size);
		}
	}
	gmem_transaction_commit();
}

static void unregister_io_regions(GPciDevice *d)
{
	int i;

	gmem_transaction_begin();
	for (i = 0; i < GPCI_NUM_REGIONS; i++) {
		GPciIORegion *r = &d->io_regions[i];

		if (!r->size)
			continue;
		if (r->addr != GPCI_BAR_UNMAPPED) {
			trace_core_pci_bar_unmap(d->id, (unsigned)i, r->addr, r->size);
			gmem_region_del_subregion(r->address_space, r->memory);
		}
		r->addr = GPCI_BAR_UNMAPPED;
	}
	gmem_transaction_commit();
}

/* ------------------------------------------------------------------ */
/* DMA                                                                  */

GAddressSpace *gpci_device_iommu_address_space(GPciDevice *dev)
{
	GPciBus *bus = dev->bus;

	if (!bus)
		return NULL;
	if (bus->iommu_fn)
		return bus->iommu_fn(bus, bus->iommu_opaque, dev->devfn);
	return bus->dma_as;
}

static void update_bus_master(GPciDevice *dev)
{
	if (dev->has_bus_master_as)
		gmem_region_set_enabled(&dev->bus_master_enable_region,
					gpci_get_word(dev->config + PCI_COMMAND) &
					PCI_COMMAND_MASTER);
}

unsigned gpci_dma_rw(GPciDevice *dev, uint64_t addr, void *buf, uint64_t len,
		     bool is_write)
{
	if (!dev->has_bus_master_as) {
		if (!is_write)
			memset(buf, 0xff, len);
		return GMEM_UNASSIGNED;
	}
	return gmem_rw(&dev->bus_master_as, addr, buf, len, is_write);
}

/* ------------------------------------------------------------------ */
/* config space                                                         */

uint32_t gpci_default_read_config(GPciDevice *dev, uint32_t addr, int len)
{
	uint32_t val = 0;
	int i;

	if (!dev->config || len < 1 || len > 4 ||
	    addr + (uint32_t)len > gpci_config_size(dev))
		return ones(len < 1 || len > 4 ? 4 : len);
	for (i = 0; i < len; i++)
		val |= (uint32_t)dev->config[addr + (uint32_t)i] << (8 * i);
	return val;
}

void gpci_default_write_config(GPciDevice *d, uint32_t addr, uint32_t val_in,
			       int l)
{
	bool was_irq_disabled;
	uint32_t val = val_in;
	int i;

	if (!d->config || l < 1 || l > 4 || addr + (uint32_t)l > gpci_config_size(d))
		return;
	was_irq_disabled = irq_disabled(d);
	for (i = 0; i < l; val >>= 8, i++) {
		uint8_t wmask = d->wmask[addr + (uint32_t)i];
		uint8_t w1cmask = d->w1cmask[addr + (uint32_t)i];
		uint8_t *c = &d->config[addr + (uint32_t)i];

		*c = (uint8_t)((*c & ~wmask) | (val & wmask));
		*c &= (uint8_t)~(val & w1cmask);	/* write 1 to clear */
	}
	if (ranges_overlap(addr, (uint32_t)l, PCI_BASE_ADDRESS_0, 24) ||
	    ranges_overlap(addr, (uint32_t)l, PCI_ROM_ADDRESS, 4) ||
	    covers_byte(addr, (uint32_t)l, PCI_COMMAND))
		update_mappings(d);
	if (covers_byte(addr, (uint32_t)l, PCI_COMMAND)) {
		update_irq_disabled(d, was_irq_disabled);
		update_bus_master(d);
	}
	gmsi_write_config(d, addr, val_in, l);
	gmsix_write_config(d, addr, val_in, l);
}

uint32_t gpci_config_read(GPciDevice *dev, uint32_t addr, int len)
{
	uint32_t limit, val;

	if (!dev->config || len < 1 || len > 4)
		return ones(len < 1 || len > 4 ? 4 : len);
	limit = gpci_config_size(dev);
	if (addr >= limit)
		return ones(len);
	if ((uint32_t)len > limit - addr)
		len = (int)(limit - addr);
	val = dev->config_read(dev, addr, len);
	trace_core_pci_cfg_read(dev->id, addr, (unsigned)len, val);
	return val;
}

void gpci_config_write(GPciDevice *dev, uint32_t addr, uint32_t val, int len)
{
	uint32_t limit;

	if (!dev->config || len < 1 || len > 4)
		return;
	limit = gpci_config_size(dev);
	if (addr >= limit)
		return;
	if ((uint32_t)len > limit - addr)
		len = (int)(limit - addr);
	trace_core_pci_cfg_write(dev->id, addr, (unsigned)len, val);
	dev->config_write(dev, addr, val, len);
}

/* ------------------------------------------------------------------ */
/* capabilities                                                         */

static uint8_t find_capability_list(GPciDevice *d, uint8_t cap_id, uint8_t *prev_p)
{
	uint8_t prev = PCI_CAPABILITY_LIST, next = 0;
	unsigned ttl;

	if (d->config[PCI_STATUS] & PCI_STATUS_CAP_LIST) {
		for (ttl = 0; ttl < GPCI_CAP_TTL; ttl++) {
			next = d->config[prev];
			if (!next || next > PCI_CFG_SPACE_SIZE - 2) {
				next = 0;
				break;
			}
			if (d->config[next + PCI_CAP_LIST_ID] == cap_id)
				break;
			prev = (uint8_t)(next + PCI_CAP_LIST_NEXT);
			next = 0;
		}
	}
	if (prev_p)
		*prev_p = prev;
	return next;
}

uint8_t gpci_find_capability(GPciDevice *dev, uint8_t cap_id)
{
	if (!dev->config)
		return 0;
	return find_capability_list(dev, cap_id, NULL);
}

uint8_t gpci_find_capability_at_offset(GPciDevice *d, uint8_t offset)
{
	uint8_t prev = PCI_CAPABILITY_LIST, next, found = 0;
	unsigned ttl;

	if (!d->used || !d->used[offset])
		return 0;
	for (ttl = 0; ttl < GPCI_CAP_TTL; ttl++) {
		next = d->config[prev];
		if (!next || next > PCI_CFG_SPACE_SIZE - 2)
			break;
		if (next <= offset && next > found)
			found = next;
		prev = (uint8_t)(next + PCI_CAP_LIST_NEXT);
	}
	return found;
}

/* The first run of size free bytes after the header (pci_find_space). */
static uint8_t find_space(GPciDevice *d, uint8_t size)
{
	unsigned offset = PCI_STD_HEADER_SIZEOF, i;

	for (i = PCI_STD_HEADER_SIZEOF; i < PCI_CFG_SPACE_SIZE; i++) {
		if (d->used[i])
			offset = i + 1;
		else if (i - offset + 1 == size)
			return (uint8_t)offset;
	}
	return 0;
}

int gpci_add_capability(GPciDevice *d, uint8_t cap_id, uint8_t offset,
			uint8_t size, Error **errp)
{
	unsigned i, used_len;
	uint8_t *config;

	if (!d->config) {
		error_setg(errp, "PCI: %s is not registered", d->id);
		return -EINVAL;
	}
	if (size < 2) {
		error_setg(errp, "PCI: capability %x of %s is too small (%u bytes)",
			   cap_id, d->id, size);
		return -EINVAL;
	}
	if (!offset) {
		offset = find_space(d, size);
		if (!offset) {
			error_setg(errp, "out of PCI config space");
			return -ENOSPC;
		}
	} else {
		if (offset < PCI_STD_HEADER_SIZEOF ||
		    (unsigned)offset + size > PCI_CFG_SPACE_SIZE) {
			error_setg(errp, "PCI: capability %x at offset %x size %x of %s "
				   "is outside the capability area", cap_id, offset,
				   size, d->id);
			return -EINVAL;
		}
		/*
		 * Capabilities must not overlap: device assignment relies on
		 * this to refuse a broken device.
		 */
		for (i = offset; i < (unsigned)offset + size; i++) {
			uint8_t over = gpci_find_capability_at_offset(d, (uint8_t)i);

			if (over) {
				error_setg(errp, "%s:%02x:%02x.%x "
					   "Attempt to add PCI capability %x at offset "
					   "%x overlaps existing capability %x at offset %x",
					   d->bus ? d->bus->name : "", d->bus ? d->bus->bus_num : 0,
					   GPCI_SLOT(d->devfn), GPCI_FUNC(d->devfn),
					   cap_id, offset, over, i);
				return -EINVAL;
			}
		}
	}
	config = d->config + offset;
	config[PCI_CAP_LIST_ID] = cap_id;
	config[PCI_CAP_LIST_NEXT] = d->config[PCI_CAPABILITY_LIST];
	d->config[PCI_CAPABILITY_LIST] = offset;
	d->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	used_len = ((unsigned)size + 3) & ~3u;
	if (offset + used_len > PCI_CFG_SPACE_SIZE)
		used_len = PCI_CFG_SPACE_SIZE - offset;
	memset(d->used + offset, 0xff, used_len);
	/* Read-only and checked by default; the capability's code opens bits. */
	memset(d->wmask + offset, 0, size);
	memset(d->cmask + offset, 0xff, size);
	return offset;
}

void gpci_del_capability(GPciDevice *d, uint8_t cap_id, uint8_t size)
{
	uint8_t prev, offset;
	unsigned n, used_len;

	if (!d->config)
		return;
	offset = find_capability_list(d, cap_id, &prev);
	if (!offset)
		return;
	d->config[prev] = d->config[offset + PCI_CAP_LIST_NEXT];
	n = (unsigned)offset + size > PCI_CFG_SPACE_SIZE ?
	    PCI_CFG_SPACE_SIZE - offset : size;
	used_len = (n + 3) & ~3u;
	if (offset + used_len > PCI_CFG_SPACE_SIZE)
		used_len = PCI_CFG_SPACE_SIZE - offset;
	/* Writable again, nothing checked: device-specific registers now. */
	memset(d->wmask + offset, 0xff, n);
	memset(d->w1cmask + offset, 0, n);
	memset(d->cmask + offset, 0, n);
	memset(d->used + offset, 0, used_len);
	if (!d->config[PCI_CAPABILITY_LIST])
		d->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_CAP_LIST;
}

/* Walk the extended list: the entry with cap_id (0 if none). */
static uint16_t find_ext_list(GPciDevice *d, uint16_t cap_id, uint16_t *prev_p,
			      uint16_t *tail_p)
{
	unsigned size = gpci_config_size(d);
	uint16_t prev = 0, next = PCI_CFG_SPACE_SIZE, found = 0;
	unsigned ttl;

	if (size <= PCI_CFG_SPACE_SIZE || !gpci_get_long(d->config + PCI_CFG_SPACE_SIZE)) {
		next = 0;
		goto out;
	}
	for (ttl = 0; next && ttl < GPCI_EXT_CAP_TTL; ttl++) {
		uint32_t header;

		if (next < PCI_CFG_SPACE_SIZE || next > size - 4)
			break;
		header = gpci_get_long(d->config + next);
		if (!found && PCI_EXT_CAP_ID(header) == cap_id && header) {
			found = next;
			if (prev_p)
				*prev_p = prev;
		}
		prev = next;
		next = (uint16_t)PCI_EXT_CAP_NEXT(header);
	}
out:
	if (tail_p)
		*tail_p = prev;
	return found;
}

uint16_t gpci_find_ext_capability(GPciDevice *dev, uint16_t cap_id)
{
	if (!dev->config)
		return 0;
	return find_ext_list(dev, cap_id, NULL, NULL);
}

static uint32_t ext_header(uint16_t id, uint8_t ver, uint16_t next)
{
	return (uint32_t)id | (uint32_t)(ver & 0xf) << 16 | (uint32_t)next << 20;
}

bool gpci_add_ext_capability(GPciDevice *d, uint16_t cap_id, uint8_t ver,
			     uint16_t offset, uint16_t size, Error **errp)
{
	unsigned cfg = d->config ? gpci_config_size(d) : 0;
	uint16_t next = 0, tail = 0;
	unsigned i;

	if (!d->config || !gpci_is_express(d) || cfg <= PCI_CFG_SPACE_SIZE) {
		error_setg(errp, "PCI: %s has no extended config space", d->id);
		return false;
	}
	if (offset < PCI_CFG_SPACE_SIZE || (offset & 3) || size < 4 ||
	    (unsigned)offset + size > cfg) {
		error_setg(errp, "PCI: extended capability %x at offset %x size %x "
			   "of %s is outside the extended config space",
			   cap_id, offset, size, d->id);
		return false;
	}
	for (i = offset; i < (unsigned)offset + size; i++) {
		if (d->used[i]) {
			uint16_t o = 0, p = 0;
			unsigned ttl;

			/* The capability that owns byte i: the nearest start below. */
			for (ttl = 0, p = PCI_CFG_SPACE_SIZE; p && ttl < GPCI_EXT_CAP_TTL; ttl++) {
				uint32_t h;

				if (p < PCI_CFG_SPACE_SIZE || p > cfg - 4)
					break;
				h = gpci_get_long(d->config + p);
				if (p <= i && p > o && h)
					o = p;
				p = (uint16_t)PCI_EXT_CAP_NEXT(h);
			}
			error_setg(errp, "%s:%02x:%02x.%x "
				   "Attempt to add PCI Express capability %x at offset "
				   "%x overlaps existing capability %x at offset %x",
				   d->bus ? d->bus->name : "", d->bus ? d->bus->bus_num : 0,
				   GPCI_SLOT(d->devfn), GPCI_FUNC(d->devfn), cap_id,
				   offset, o ? PCI_EXT_CAP_ID(gpci_get_long(d->config + o)) : 0,
				   i);
			return false;
		}
	}
	if (offset == PCI_CFG_SPACE_SIZE) {
		/* The head: keep whatever chain a placeholder there carried. */
		next = (uint16_t)PCI_EXT_CAP_NEXT(gpci_get_long(d->config + offset));
	} else {
		if (!gpci_get_long(d->config + PCI_CFG_SPACE_SIZE)) {
			error_setg(errp, "PCI: the first extended capability of %s "
				   "must be at offset 100", d->id);
			return false;
		}
		find_ext_list(d, 0xffff, NULL, &tail);
		if (!tail) {
			error_setg(errp, "PCI: broken extended capability list in %s",
				   d->id);
			return false;
		}
		gpci_set_long(d->config + tail,
			      (gpci_get_long(d->config + tail) & 0x000fffffu) |
			      (uint32_t)offset << 20);
	}
	gpci_set_long(d->config + offset, ext_header(cap_id, ver, next));
	memset(d->wmask + offset, 0, size);
	memset(d->w1cmask + offset, 0, size);
	memset(d->cmask + offset, 0xff, size);
	memset(d->used + offset, 0xff, size);
	return true;
}

void gpci_del_ext_capability(GPciDevice *d, uint16_t cap_id, uint16_t size)
{
	uint16_t prev = 0, offset;
	uint32_t header;
	unsigned n, start;

	if (!d->config)
		return;
	offset = find_ext_list(d, cap_id, &prev, NULL);
	if (!offset)
		return;
	header = gpci_get_long(d->config + offset);
	n = (unsigned)offset + size > gpci_config_size(d) ?
	    gpci_config_size(d) - offset : size;
	start = offset;
	if (!prev) {
		/* The head stays as a null capability that carries the chain. */
		uint16_t next = (uint16_t)PCI_EXT_CAP_NEXT(header);

		gpci_set_long(d->config + offset, next ? ext_header(0, 0, next) : 0);
		start = offset + 4u;
		n = n > 4 ? n - 4 : 0;
		memset(d->used + offset, 0, 4);
	} else {
		gpci_set_long(d->config + prev,
			      (gpci_get_long(d->config + prev) & 0x000fffffu) |
			      (header & 0xfff00000u));
	}
	memset(d->wmask + start, 0xff, n);
	memset(d->w1cmask + start, 0, n);
	memset(d->cmask + start, 0, n);
	memset(d->used + start, 0, n);
}

/* ------------------------------------------------------------------ */
/* registration                                                         */

static void config_free(GPciDevice *d)
{
	free(d->config);
	free(d->cmask);
	free(d->wmask);
	free(d->w1cmask);
	free(d->used);
	d->config = d->cmask = d->wmask = d->w1cmask = d->used = NULL;
	d->config_alloc = 0;
}

static bool config_alloc(GPciDevice *d, Error **errp)
{
	unsigned size = gpci_is_express(d) ? PCI_CFG_SPACE_EXP_SIZE : PCI_CFG_SPACE_SIZE;

	d->config = calloc(1, size);
	d->cmask = calloc(1, size);
	d->wmask = calloc(1, size);
	d->w1cmask = calloc(1, size);
	d->used = calloc(1, size);
	if (!d->config || !d->cmask || !d->wmask || !d->w1cmask || !d->used) {
		config_free(d);
		error_setg(errp, "PCI: out of memory for the config space of %s", d->id);
		return false;
	}
	d->config_alloc = size;
	return true;
}

static void init_cmask(GPciDevice *d)
{
	gpci_set_word(d->cmask + PCI_VENDOR_ID, 0xffff);
	gpci_set_word(d->cmask + PCI_DEVICE_ID, 0xffff);
	d->cmask[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	d->cmask[PCI_REVISION_ID] = 0xff;
	d->cmask[PCI_CLASS_PROG] = 0xff;
	gpci_set_word(d->cmask + PCI_CLASS_DEVICE, 0xffff);
	d->cmask[PCI_HEADER_TYPE] = 0xff;
	d->cmask[PCI_CAPABILITY_LIST] = 0xff;
}

static void init_wmask(GPciDevice *d)
{
	unsigned size = gpci_config_size(d);
	uint16_t cmd = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		       PCI_COMMAND_INTX_DISABLE;

	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	if (d->cap_present & GPCI_CAP_SERR)
		cmd |= PCI_COMMAND_SERR;
	gpci_set_word(d->wmask + PCI_COMMAND, cmd);
	/* Everything past the header is the device's to define. */
	memset(d->wmask + PCI_STD_HEADER_SIZEOF, 0xff, size - PCI_STD_HEADER_SIZEOF);
}

static void init_w1cmask(GPciDevice *d)
{
	/* Fine even for bits hard-wired to 0. */
	gpci_set_word(d->w1cmask + PCI_STATUS,
		      PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
		      PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |
		      PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY);
}

static bool init_multifunction(GPciBus *bus, GPciDevice *dev, Error **errp)
{
	unsigned slot = GPCI_SLOT(dev->devfn), func;

	if (dev->cap_present & GPCI_CAP_MULTIFUNCTION)
		dev->config[PCI_HEADER_TYPE] |= GPCI_HEADER_TYPE_MULTI_FUNCTION;
	/*
	 * Either every function sets the bit or only function 0 does; the OS
	 * looks at function 0 alone.  Both are accepted.
	 */
	if (GPCI_FUNC(dev->devfn)) {
		GPciDevice *f0 = bus->devices[GPCI_DEVFN(slot, 0)];

		if (f0 && !(f0->cap_present & GPCI_CAP_MULTIFUNCTION)) {
			error_setg(errp, "PCI: single function device can't be populated "
				   "in function %x.%x", slot, GPCI_FUNC(dev->devfn));
			return false;
		}
		return true;
	}
	if (dev->cap_present & GPCI_CAP_MULTIFUNCTION)
		return true;
	/* Function 0 says single function: nothing may sit in 1..7. */
	for (func = 1; func < GPCI_FUNC_MAX; func++) {
		if (bus->devices[GPCI_DEVFN(slot, func)]) {
			error_setg(errp, "PCI: %x.0 indicates single function, "
				   "but %x.%x is already populated.",
				   slot, slot, func);
			return false;
		}
	}
	return true;
}

static void unregister_device(GPciDevice *dev)
{
	GPciBus *bus = dev->bus;

	if (dev->devfn >= 0 && dev->devfn < GPCI_DEVFN_MAX &&
	    bus->devices[dev->devfn] == dev) {
		trace_core_pci_unregister(dev->id, GPCI_SLOT(dev->devfn),
					  GPCI_FUNC(dev->devfn));
		bus->devices[dev->devfn] = NULL;
	}
	gmsix_uninit(dev);
	gmsi_uninit(dev);
	config_free(dev);
	if (dev->has_bus_master_as) {
		gmem_as_destroy(&dev->bus_master_as);
		gmem_region_destroy(&dev->bus_master_enable_region);
		dev->has_bus_master_as = false;
	}
}

static bool register_device(GPciDevice *dev, const char *name, Error **errp)
{
	GPciBus *bus = dev->bus;
	const GPciDeviceClass *pc = dev->cls;
	GAddressSpace *dma_as;
	int devfn = dev->devfn;

	if (devfn >= GPCI_DEVFN_MAX) {
		error_setg(errp, "PCI: devfn %d is out of range for %s", devfn, name);
		return false;
	}
	if (devfn < 0) {
		for (devfn = bus->devfn_min; devfn < GPCI_DEVFN_MAX; devfn += GPCI_FUNC_MAX)
			if (!bus->devices[devfn])
				goto found;
		error_setg(errp, "PCI: no slot/function available for %s, all in use",
			   name);
		return false;
found:		;
	} else if (bus->devices[devfn]) {
		error_setg(errp, "PCI: slot %d function %d not available for %s,"
			   " in use by %s", GPCI_SLOT(devfn), GPCI_FUNC(devfn), name,
			   bus->devices[devfn]->name);
		return false;
	} else if (dev->hotplugged && bus->devices[GPCI_DEVFN(GPCI_SLOT(devfn), 0)]) {
		error_setg(errp, "PCI: slot %d function 0 already ocuppied by %s,"
			   " new func %s cannot be exposed to guest.",
			   GPCI_SLOT(devfn),
			   bus->devices[GPCI_DEVFN(GPCI_SLOT(devfn), 0)]->name, name);
		return false;
	}
	dev->devfn = devfn;

	/* Bus mastering: a disabled alias of the device's DMA space. */
	dma_as = gpci_device_iommu_address_space(dev);
	if (dma_as && dma_as->root &&
	    gmem_region_init_alias(&dev->bus_master_enable_region, "bus master",
				   dma_as->root, 0, gmem_region_size(dma_as->root),
				   NULL)) {
		gmem_region_set_enabled(&dev->bus_master_enable_region, false);
		gmem_as_init(&dev->bus_master_as, &dev->bus_master_enable_region,
			     dev->id);
		dev->has_bus_master_as = true;
	}

	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->irq_state = 0;
	if (!config_alloc(dev, errp)) {
		unregister_device(dev);
		return false;
	}
	gpci_set_word(dev->config + PCI_VENDOR_ID, pc->vendor_id);
	gpci_set_word(dev->config + PCI_DEVICE_ID, pc->device_id);
	dev->config[PCI_REVISION_ID] = pc->revision;
	dev->config[PCI_CLASS_PROG] = (uint8_t)pc->class_id;
	gpci_set_word(dev->config + PCI_CLASS_DEVICE, (uint16_t)(pc->class_id >> 8));
	if (pc->subsystem_vendor_id || pc->subsystem_id) {
		gpci_set_word(dev->config + PCI_SUBSYSTEM_VENDOR_ID,
			      pc->subsystem_vendor_id);
		gpci_set_word(dev->config + PCI_SUBSYSTEM_ID, pc->subsystem_id);
	} else {
		gpci_set_word(dev->config + PCI_SUBSYSTEM_VENDOR_ID,
			      GPCI_DEFAULT_SUBVENDOR_ID);
		gpci_set_word(dev->config + PCI_SUBSYSTEM_ID,
			      GPCI_DEFAULT_SUBSYSTEM_ID);
	}
	init_cmask(dev);
	init_wmask(dev);
	init_w1cmask(dev);
	if (!init_multifunction(bus, dev, errp)) {
		unregister_device(dev);
		return false;
	}
	dev->config_read = pc->config_read ? pc->config_read : gpci_default_read_config;
	dev->config_write = pc->config_write ? pc->config_write : gpci_default_write_config;
	bus->devices[devfn] = dev;
	trace_core_pci_register(dev->id, GPCI_SLOT(devfn), GPCI_FUNC(devfn));
	return true;
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                            */

void gpci_device_init(GPciDevice *dev, const GPciDeviceClass *cls,
		      GPciBus *bus, int devfn, const char *id, void *opaque)
{
	int i;

	memset(dev, 0, sizeof(*dev));
	dev->cls = cls;
	dev->bus = bus;
	dev->devfn = devfn < 0 ? -1 : devfn;
	dev->opaque = opaque;
	if (id)
		snprintf(dev->id, sizeof(dev->id), "%s", id);
	dev->hotpluggable = cls ? !cls->no_hotplug : true;
	/* Created after machine init: a hotplug (QEMU's device_initfn). */
	dev->hotplugged = bus && bus->hotplug;
	dev->cap_present = GPCI_CAP_SERR;
	for (i = 0; i < GPCI_NUM_REGIONS; i++)
		dev->io_regions[i].addr = GPCI_BAR_UNMAPPED;
}

void gpci_device_set_multifunction(GPciDevice *dev, bool on)
{
	if (on)
		dev->cap_present |= GPCI_CAP_MULTIFUNCTION;
	else
		dev->cap_present &= ~GPCI_CAP_MULTIFUNCTION;
}

void gpci_device_set_command_serr(GPciDevice *dev, bool on)
{
	if (on)
		dev->cap_present |= GPCI_CAP_SERR;
	else
		dev->cap_present &= ~GPCI_CAP_SERR;
}

bool gpci_device_realize(GPciDevice *dev, Error **errp)
{
	const GPciDeviceClass *pc = dev->cls;
	const char *type = dev_type(dev);
	Error *local_err = NULL;

	if (dev->hotplugged && !dev->hotpluggable) {
		error_setg(errp, "Device '%s' does not support hotplugging", type);
		return false;
	}
	if (dev->realized)
		return true;
	if (!pc || !dev->bus) {
		error_setg(errp, "PCI: %s has no class or no bus", type);
		return false;
	}
	/* A device nobody named gets one (QEMU's /machine/unattached). */
	if (!dev->id[0])
		snprintf(dev->id, sizeof(dev->id), "device[%u]",
			 dev->bus->unattached_count++);
	if (pc->is_express)
		dev->cap_present |= GPCI_CAP_EXPRESS;
	if (!register_device(dev, type, errp))
		return false;

	if (pc->realize) {
		if (!pc->realize(dev, &local_err)) {
			if (!local_err)
				error_setg(&local_err, "Device initialization failed");
			error_propagate(errp, local_err);
			unregister_io_regions(dev);
			unregister_device(dev);
			return false;
		}
	} else if (pc->init && pc->init(dev) < 0) {
		error_setg(errp, "Device initialization failed");
		unregister_io_regions(dev);
		unregister_device(dev);
		return false;
	}
	/* device_reset() of a hotplugged device: its class reset. */
	if (dev->hotplugged && pc->reset) {
		trace_core_pci_reset(dev->id, "hotplug");
		pc->reset(dev);
	}
	dev->realized = true;
	return true;
}

void gpci_device_unrealize(GPciDevice *dev)
{
	if (!dev->realized)
		return;
	unregister_io_regions(dev);
	gpci_device_deassert_intx(dev);
	if (dev->cls->exit)
		dev->cls->exit(dev);
	unregister_device(dev);
	dev->intx_routing_notifier = NULL;
	dev->realized = false;
}

void gpci_device_reset(GPciDevice *dev)
{
	int r;

	if (!dev->config)
		return;
	trace_core_pci_reset(dev->id, "device");
	if (dev->cls && dev->cls->reset)
		dev->cls->reset(dev);
	gpci_device_deassert_intx(dev);
	dev->irq_state = 0;
	update_irq_status(dev);
	/* Every writable bit of COMMAND and STATUS back to 0. */
	gpci_set_word(dev->config + PCI_COMMAND,
		      gpci_get_word(dev->config + PCI_COMMAND) &
		      (uint16_t)~(gpci_get_word(dev->wmask + PCI_COMMAND) |
				  gpci_get_word(dev->w1cmask + PCI_COMMAND)));
	gpci_set_word(dev->config + PCI_STATUS,
		      gpci_get_word(dev->config + PCI_STATUS) &
		      (uint16_t)~(gpci_get_word(dev->wmask + PCI_STATUS) |
				  gpci_get_word(dev->w1cmask + PCI_STATUS)));
	dev->config[PCI_CACHE_LINE_SIZE] = 0;
	dev->config[PCI_INTERRUPT_LINE] = 0;
	for (r = 0; r < GPCI_NUM_REGIONS; r++) {
		GPciIORegion *region = &dev->io_regions[r];

		if (!region->size)
			continue;
		if (!(region->type & PCI_BASE_ADDRESS_SPACE_IO) &&
		    (region->type & PCI_BASE_ADDRESS_MEM_TYPE_64))
			gpci_set_quad(dev->config + gpci_bar_reg(r), region->type);
		else
			gpci_set_long(dev->config + gpci_bar_reg(r), region->type);
	}
	update_mappings(dev);
	update_bus_master(dev);
	gmsi_reset(dev);
	gmsix_reset(dev);
}

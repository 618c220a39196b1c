/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/gpci: the guest's PCI layer.
 *
 * One host bridge with one bus of 32 slots x 8 functions, devices with the
 * config[]/cmask[]/wmask[]/w1cmask[]/used[] arrays of QEMU's PCIDevice,
 * the default config read/write with its side effects (BAR mapping,
 * INTx disable, bus mastering, MSI/MSI-X), capability lists, BARs mapped
 * into the bus's memory and I/O regions where the guest programs them,
 * INTx with per-line sharing and routing notifiers, and the device
 * lifecycle (register with the seed's rules and messages, realize,
 * unrealize, reset).  Behaviour follows the QEMU code the seed quotes
 * (seed sections 2-4, 5.5-5.6); code and names are our own.
 *
 * Not modelled: PCI-PCI bridges (header type 1), VGA ranges, option ROM
 * files, migration state, PCIe AER/hotplug controllers.
 */
#ifndef CORE_GPCI_H
#define CORE_GPCI_H

#include <linux/pci_regs.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "core/gintc.h"
#include "core/gmem.h"

#define GPCI_SLOT_MAX		32
#define GPCI_FUNC_MAX		8
#define GPCI_DEVFN_MAX		256
#define GPCI_DEVFN(slot, fn)	((((slot) & 0x1f) << 3) | ((fn) & 0x07))
#define GPCI_SLOT(devfn)	(((devfn) >> 3) & 0x1f)
#define GPCI_FUNC(devfn)	((devfn) & 0x07)
#define GPCI_NUM_PINS		4
#define GPCI_ROM_SLOT		6
#define GPCI_NUM_REGIONS	7
#define GPCI_BAR_UNMAPPED	(~(uint64_t)0)
#define GPCI_MAX_IRQ_LINES	32
#define GPCI_NAME_MAX		64
/* Bit 7 of PCI_HEADER_TYPE (not in every <linux/pci_regs.h>). */
#define GPCI_HEADER_TYPE_MULTI_FUNCTION	0x80

/* Subsystem ids a device without its own gets (QEMU's defaults). */
#define GPCI_DEFAULT_SUBVENDOR_ID	0x1af4
#define GPCI_DEFAULT_SUBSYSTEM_ID	0x1100

/* cap_present bits */
#define GPCI_CAP_MSI		(1u << 0)
#define GPCI_CAP_MSIX		(1u << 1)
#define GPCI_CAP_EXPRESS	(1u << 2)
#define GPCI_CAP_MULTIFUNCTION	(1u << 3)
#define GPCI_CAP_SERR		(1u << 4)	/* COMMAND.SERR writable */

/* The MSI-X capability is 12 bytes; its control byte is the flags' high byte. */
#define GMSIX_CAP_LENGTH	12
#define GMSIX_CONTROL_OFFSET	(PCI_MSIX_FLAGS + 1)
#define GMSIX_ENABLE_MASK	(PCI_MSIX_FLAGS_ENABLE >> 8)
#define GMSIX_MASKALL_MASK	(PCI_MSIX_FLAGS_MASKALL >> 8)

typedef struct GPciBus GPciBus;
typedef struct GPciDevice GPciDevice;

typedef struct GMsiMessage {
	uint64_t address;
	uint32_t data;
} GMsiMessage;

/*
 * MSI-X vector notifiers (QEMU's msix_set_vector_notifiers): use is called
 * when a vector becomes unmasked (with its message), release when it
 * becomes masked, poll when the guest reads the PBA (vectors
 * [start, end)).  use returns 0 or a negative errno.
 */
typedef int (*GMsixVectorUseFn)(GPciDevice *dev, unsigned vector, GMsiMessage msg);
typedef void (*GMsixVectorReleaseFn)(GPciDevice *dev, unsigned vector);
typedef void (*GMsixVectorPollFn)(GPciDevice *dev, unsigned start, unsigned end);

typedef enum GPciIntxMode {
	GPCI_INTX_ENABLED,
	GPCI_INTX_INVERTED,
	GPCI_INTX_DISABLED,
} GPciIntxMode;

typedef struct GPciIntxRoute {
	GPciIntxMode mode;
	int irq;
} GPciIntxRoute;

typedef void (*GPciIntxRoutingNotifier)(GPciDevice *dev);

/*
 * What kind of device this is (QEMU's PCIDeviceClass + DeviceClass).
 * type names the device in registration messages ("vfio-pci").
 */
typedef struct GPciDeviceClass {
	const char *type;
	uint16_t vendor_id, device_id;
	uint8_t revision;
	uint32_t class_id;	/* class code; (class_id >> 8) is base:sub */
	uint16_t subsystem_vendor_id, subsystem_id;
	bool is_express;	/* 4 KiB config space */
	bool no_hotplug;	/* DeviceClass.hotpluggable = false */
	/* Device setup after registration; realize wins over init. */
	bool (*realize)(GPciDevice *dev, Error **errp);
	int (*init)(GPciDevice *dev);	/* < 0: "Device initialization failed" */
	void (*exit)(GPciDevice *dev);
	/* NULL: gpci_default_read_config / gpci_default_write_config. */
	uint32_t (*config_read)(GPciDevice *dev, uint32_t addr, int len);
	void (*config_write)(GPciDevice *dev, uint32_t addr, uint32_t val, int len);
	void (*reset)(GPciDevice *dev);
} GPciDeviceClass;

typedef struct GPciIORegion {
	uint64_t addr;			/* GPCI_BAR_UNMAPPED when not mapped */
	uint64_t size;			/* 0: not registered */
	uint8_t type;			/* PCI_BASE_ADDRESS_* low bits */
	GMemRegion *memory;
	GMemRegion *address_space;	/* the bus region it maps into */
} GPciIORegion;

struct GPciDevice {
	const GPciDeviceClass *cls;
	char name[GPCI_NAME_MAX];	/* the type name (QEMU pci_dev->name) */
	char id[GPCI_NAME_MAX];		/* instance name; "device[N]" if none */
	GPciBus *bus;
	int devfn;			/* -1 before registration: first free slot */
	void *opaque;
	bool realized;
	bool hotpluggable;
	bool hotplugged;
	uint32_t cap_present;

	/* Config space, config_alloc bytes each. */
	unsigned config_alloc;
	uint8_t *config;
	uint8_t *cmask;		/* bits checked on migration (informational) */
	uint8_t *wmask;		/* bits the guest may write */
	uint8_t *w1cmask;	/* bits the guest clears by writing 1 */
	uint8_t *used;		/* bytes owned by a capability */
	uint32_t (*config_read)(GPciDevice *dev, uint32_t addr, int len);
	void (*config_write)(GPciDevice *dev, uint32_t addr, uint32_t val, int len);

	GPciIORegion io_regions[GPCI_NUM_REGIONS];

	/* INTx: bit n set while pin n is asserted by the device. */
	unsigned irq_state;
	GPciIntxRoutingNotifier intx_routing_notifier;

	/* DMA: an alias of the IOMMU space, enabled by COMMAND.MASTER. */
	GMemRegion bus_master_enable_region;
	GAddressSpace bus_master_as;
	bool has_bus_master_as;

	/* MSI (core/gmsi.c) */
	uint8_t msi_cap;

	/* MSI-X (core/gmsi.c) */
	uint8_t msix_cap;
	unsigned msix_entries_nr;
	uint8_t *msix_table;
	uint8_t *msix_pba;
	unsigned *msix_entry_used;
	bool msix_function_masked;
	GMemRegion msix_table_mmio;
	GMemRegion msix_pba_mmio;
	GMemRegion msix_exclusive_bar;
	bool msix_has_exclusive_bar;
	GMemRegion *msix_table_bar;
	GMemRegion *msix_pba_bar;
	GMsixVectorUseFn msix_vector_use_notifier;
	GMsixVectorReleaseFn msix_vector_release_notifier;
	GMsixVectorPollFn msix_vector_poll_notifier;
};

typedef GAddressSpace *(*GPciIommuFn)(GPciBus *bus, void *opaque, int devfn);
typedef int (*GPciMapIrqFn)(GPciDevice *dev, int pin);

struct GPciBus {
	char name[GPCI_NAME_MAX];
	GPciDevice *devices[GPCI_DEVFN_MAX];
	int devfn_min;
	uint8_t bus_num;
	GMemRegion *address_space_mem;
	GMemRegion *address_space_io;
	GAddressSpace *dma_as;
	GPciIommuFn iommu_fn;
	void *iommu_opaque;
	GIntc *intc;
	GPciMapIrqFn map_irq;
	int nirq;
	int irq_count[GPCI_MAX_IRQ_LINES];
	int irq_route[GPCI_MAX_IRQ_LINES];	/* line -> irq, < 0: disabled */
	bool hotplug;		/* machine is up: new devices are hotplugged */
	unsigned unattached_count;
};

/* ---- little-endian config helpers ---- */
static inline uint8_t gpci_get_byte(const uint8_t *p) { return p[0]; }
static inline uint16_t gpci_get_word(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t gpci_get_long(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline uint64_t gpci_get_quad(const uint8_t *p)
{
	return (uint64_t)gpci_get_long(p) | (uint64_t)gpci_get_long(p + 4) << 32;
}
static inline void gpci_set_byte(uint8_t *p, uint8_t v) { p[0] = v; }
static inline void gpci_set_word(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void gpci_set_long(uint8_t *p, uint32_t v)
{
	gpci_set_word(p, (uint16_t)v);
	gpci_set_word(p + 2, (uint16_t)(v >> 16));
}
static inline void gpci_set_quad(uint8_t *p, uint64_t v)
{
	gpci_set_long(p, (uint32_t)v);
	gpci_set_long(p + 4, (uint32_t)(v >> 32));
}

/* ---- the bus (host bridge) ---- */

/*
 * mem/io: the regions BARs map into (containers the machine places in its
 * address spaces); dma_as: what devices reach by DMA unless an IOMMU
 * function says otherwise (may be NULL: no DMA); intc: the sink.
 */
void gpci_bus_init(GPciBus *bus, const char *name, GMemRegion *mem,
		   GMemRegion *io, GAddressSpace *dma_as, GIntc *intc);
/* Unrealizes every device still on the bus. */
void gpci_bus_destroy(GPciBus *bus);
/* QEMU's pci_setup_iommu: the DMA address space per devfn. */
void gpci_bus_set_iommu(GPciBus *bus, GPciIommuFn fn, void *opaque);
/* Pin -> line mapping (default: the swizzle (slot + pin) % 4, 4 lines). */
void gpci_bus_set_map_irq(GPciBus *bus, GPciMapIrqFn fn, int nirq);
/* After machine init: devices initialised from now on are hotplugged. */
void gpci_bus_set_hotplug(GPciBus *bus, bool on);
/* Route line to irq (< 0: disabled) and fire the routing notifiers. */
void gpci_bus_set_intx_route(GPciBus *bus, int line, int irq);
void gpci_bus_fire_intx_routing_notifier(GPciBus *bus);
GPciDevice *gpci_bus_find_device(GPciBus *bus, int devfn);
/* Config cycles by devfn; no device: reads all-ones, writes dropped. */
uint32_t gpci_bus_config_read(GPciBus *bus, int devfn, uint32_t addr, int len);
void gpci_bus_config_write(GPciBus *bus, int devfn, uint32_t addr,
			   uint32_t val, int len);
/* An ECAM-style MMIO window of the bus: devfn << 12 | offset, 1 MiB. */
void gpci_bus_init_ecam(GPciBus *bus, GMemRegion *mr, const char *name);
/* Reset every device (pci_device_reset), then the INTx line counts. */
void gpci_bus_reset(GPciBus *bus);
static inline uint32_t gpci_requester_id(const GPciDevice *dev)
{
	return (uint32_t)dev->bus->bus_num << 8 | (uint32_t)(dev->devfn & 0xff);
}

/* ---- devices ---- */

/*
 * Prepare dev for realize on bus at devfn (-1: the first free slot's
 * function 0).  id may be NULL.  dev must not move afterwards.
 */
void gpci_device_init(GPciDevice *dev, const GPciDeviceClass *cls,
		      GPciBus *bus, int devfn, const char *id, void *opaque);
/* The "multifunction" property (before realize). */
void gpci_device_set_multifunction(GPciDevice *dev, bool on);
/* The "command_serr_enable" property, on by default (before realize). */
void gpci_device_set_command_serr(GPciDevice *dev, bool on);
/*
 * device_set_realized(true) -> pci_qdev_realize -> do_pci_register_device
 * -> class realize/init; a hotplugged device is reset (class reset) after.
 */
bool gpci_device_realize(GPciDevice *dev, Error **errp);
/* Unmap the BARs, class exit, leave the bus, free the config arrays. */
void gpci_device_unrealize(GPciDevice *dev);
/* pci_device_reset: class reset, then the config defaults. */
void gpci_device_reset(GPciDevice *dev);
unsigned gpci_config_size(const GPciDevice *dev);
static inline bool gpci_is_express(const GPciDevice *dev)
{
	return dev->cap_present & GPCI_CAP_EXPRESS;
}

/* The space a device's DMA goes to (its IOMMU's, else the bus's). */
GAddressSpace *gpci_device_iommu_address_space(GPciDevice *dev);
/* DMA as the device: through the bus-master gate (COMMAND.MASTER). */
unsigned gpci_dma_rw(GPciDevice *dev, uint64_t addr, void *buf, uint64_t len,
		     bool is_write);

/*
 * Config cycles from the host side: out of range reads all-ones and
 * writes are dropped, a cycle crossing the end is shortened; then the
 * device's config_read/config_write.
 */
uint32_t gpci_config_read(GPciDevice *dev, uint32_t addr, int len);
void gpci_config_write(GPciDevice *dev, uint32_t addr, uint32_t val, int len);
/* The defaults devices chain to. */
uint32_t gpci_default_read_config(GPciDevice *dev, uint32_t addr, int len);
void gpci_default_write_config(GPciDevice *dev, uint32_t addr, uint32_t val,
			       int len);

/* ---- BARs ---- */

/*
 * Register region_num (0-5, or GPCI_ROM_SLOT) with its PCI_BASE_ADDRESS_*
 * type bits; memory's size must be a power of two.  The BAR maps at the
 * address the guest programs, while COMMAND enables its decode.
 */
bool gpci_register_bar(GPciDevice *dev, int region_num, uint8_t type,
		       GMemRegion *memory, Error **errp);
uint64_t gpci_get_bar_addr(const GPciDevice *dev, int region_num);
/* Config offset of a BAR register. */
static inline unsigned gpci_bar_reg(int region_num)
{
	return region_num == GPCI_ROM_SLOT ? PCI_ROM_ADDRESS :
	       PCI_BASE_ADDRESS_0 + 4u * (unsigned)region_num;
}

/* ---- capabilities ---- */

/*
 * Add a standard capability of size bytes at offset (0: the first free
 * space) at the head of the list.  Returns its offset, or a negative errno
 * with errp set (overlap, no room).
 */
int gpci_add_capability(GPciDevice *dev, uint8_t cap_id, uint8_t offset,
			uint8_t size, Error **errp);
void gpci_del_capability(GPciDevice *dev, uint8_t cap_id, uint8_t size);
/* Offset of the first capability with cap_id, 0 if none. */
uint8_t gpci_find_capability(GPciDevice *dev, uint8_t cap_id);
/* The capability that owns byte offset, 0 if none. */
uint8_t gpci_find_capability_at_offset(GPciDevice *dev, uint8_t offset);
/* Extended capabilities (PCIe, offset >= 0x100), appended at the tail. */
bool gpci_add_ext_capability(GPciDevice *dev, uint16_t cap_id, uint8_t ver,
			     uint16_t offset, uint16_t size, Error **errp);
uint16_t gpci_find_ext_capability(GPciDevice *dev, uint16_t cap_id);
void gpci_del_ext_capability(GPciDevice *dev, uint16_t cap_id, uint16_t size);

/* ---- INTx ---- */

/* The device's pin (0 = INTA#) from PCI_INTERRUPT_PIN; -1 if none. */
int gpci_intx(const GPciDevice *dev);
/* pci_set_irq: drive the device's pin. */
void gpci_set_irq(GPciDevice *dev, int level);
static inline void gpci_irq_assert(GPciDevice *dev) { gpci_set_irq(dev, 1); }
static inline void gpci_irq_deassert(GPciDevice *dev) { gpci_set_irq(dev, 0); }
static inline void gpci_irq_pulse(GPciDevice *dev)
{
	gpci_set_irq(dev, 1);
	gpci_set_irq(dev, 0);
}
void gpci_device_deassert_intx(GPciDevice *dev);
void gpci_device_set_intx_routing_notifier(GPciDevice *dev,
					   GPciIntxRoutingNotifier notifier);
GPciIntxRoute gpci_device_route_intx_to_irq(GPciDevice *dev, int pin);
bool gpci_intx_route_changed(const GPciIntxRoute *old, const GPciIntxRoute *cur);

#endif

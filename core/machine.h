/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/machine: the guest machine the harness drives (issue "core", item
 * 6): system memory with guest RAM (real memory of this process, so
 * VFIO_IOMMU_MAP_DMA vaddrs are valid), a PCI bus whose BARs map into
 * system memory and an I/O space, the interrupt sink, vfio-pci devices
 * realized for host BDFs, guest config and MMIO/IO accesses, an event
 * loop step that polls the interrupt eventfds, resets and a state dump.
 *
 * Layout: RAM at [ram_base, ram_base + ram_size); the PCI memory window
 * is a container under it (priority -1) spanning the whole space, so a
 * BAR programmed at guest address A decodes at A (where RAM is not).
 *
 * Platforms: x86 (the default) gives the PCI bus DMA straight into system
 * memory.  pseries puts a sPAPR PHB (core/spapr.h) in front of the bus:
 * devices DMA through its TCE windows (default window LIOBN 0x80000000,
 * 4 KiB pages, 1 GiB at bus address 0), filled by the guest's hypercalls,
 * so the VFIO container follows the PHB's IOMMU regions.  MSI delivery is
 * the same on both.
 */
#ifndef CORE_MACHINE_H
#define CORE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "core/gintc.h"
#include "core/gmem.h"
#include "core/gpci.h"
#include "core/spapr.h"
#include "core/vfio-pci.h"

#define VFC_MACHINE_MAX_DEVICES 32

typedef enum VfcPlatform {
	VFC_PLATFORM_X86 = 0,
	VFC_PLATFORM_PSERIES,
} VfcPlatform;

typedef struct VfcMachineConfig {
	uint64_t ram_size;	/* 0: 64 MiB */
	uint64_t ram_base;	/* page aligned */
	VfcPlatform platform;	/* 0: x86 */
	uint64_t dma_window_size;	/* pseries default window; 0: 1 GiB */
} VfcMachineConfig;

typedef struct VfcMachine {
	GMemRegion sysmem;
	GMemRegion ram;
	GMemRegion pci_mem;
	GMemRegion io;
	GAddressSpace as_mem;
	GAddressSpace as_io;
	GIntc intc;
	GPciBus bus;
	uint64_t ram_base, ram_size;
	VfcPlatform platform;
	VfcSpaprPhb *phb;	/* pseries only */
	VfcPciDevice *devices[VFC_MACHINE_MAX_DEVICES];
	unsigned ndevices;
} VfcMachine;

/* cfg may be NULL (defaults). */
VfcMachine *vfc_machine_new(const VfcMachineConfig *cfg, Error **errp);
/* Unrealizes every device, then frees the machine. */
void vfc_machine_free(VfcMachine *m);

/*
 * Realize a vfio-pci device for host (a BDF) with properties "k=v"
 * (props may be NULL, nprops 0).  Returns the device, or NULL with errp.
 */
VfcPciDevice *vfc_machine_add_vfio_pci(VfcMachine *m, const char *host,
				       const char *const *props, unsigned nprops,
				       Error **errp);
/* Unrealize and free one device. */
void vfc_machine_remove_device(VfcMachine *m, VfcPciDevice *vdev);

/* Guest config cycles to a device. */
uint32_t vfc_machine_config_read(VfcMachine *m, VfcPciDevice *vdev,
				 unsigned addr, unsigned len);
void vfc_machine_config_write(VfcMachine *m, VfcPciDevice *vdev, unsigned addr,
			      unsigned len, uint32_t val);
/* Guest MMIO by guest-physical address (1, 2, 4, 8 bytes): GMEM_* bits. */
unsigned vfc_machine_mmio_read(VfcMachine *m, uint64_t gpa, unsigned size,
			       uint64_t *val);
unsigned vfc_machine_mmio_write(VfcMachine *m, uint64_t gpa, unsigned size,
				uint64_t val);
/* Guest port I/O. */
unsigned vfc_machine_io_read(VfcMachine *m, uint64_t port, unsigned size,
			     uint64_t *val);
unsigned vfc_machine_io_write(VfcMachine *m, uint64_t port, unsigned size,
			      uint64_t val);
/* Host pointer of guest RAM at gpa (len bytes inside RAM), else NULL. */
void *vfc_machine_ram_ptr(VfcMachine *m, uint64_t gpa, uint64_t len);

/*
 * One turn of the event loop: poll the interrupt eventfds for up to
 * timeout_ms and deliver what arrived to the sink.  Returns the number
 * of handlers run, or -errno.
 */
int vfc_machine_step(VfcMachine *m, int timeout_ms);

/* Route INTx line to irq (< 0: disabled); fires the routing notifiers. */
void vfc_machine_set_intx_route(VfcMachine *m, int line, int irq);

/* System reset: every device's reset, then the vfio reset handler. */
void vfc_machine_reset(VfcMachine *m);

static inline GIntc *vfc_machine_intc(VfcMachine *m) { return &m->intc; }
/* The sPAPR PHB of a pseries machine (NULL on x86). */
static inline VfcSpaprPhb *vfc_machine_phb(VfcMachine *m) { return m->phb; }
static inline VfcPlatform vfc_machine_platform(const VfcMachine *m) { return m->platform; }
/* "x86" or "pseries" -> *out; false with errp otherwise. */
bool vfc_platform_parse(const char *name, VfcPlatform *out, Error **errp);

/* The state dump: per device, guest-visible config, BARs, MSI-X table. */
void vfc_machine_dump(VfcMachine *m, FILE *out);

#endif

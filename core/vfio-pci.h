/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/vfio-pci: the vfio-pci device (seed sections 5-7): a guest PCI
 * device (core/gpci) backed by a host device fd.  Realize is the seed's
 * vfio_initfn: host device lookup, IOMMU group, device fd, regions and
 * irqs, a copy of config space, emulated bits, ID overrides, ROM sizing,
 * MSI-X early setup (Chelsio T5 VF PBA quirk), BARs (slow path, mmap when
 * advertised), the capability rebuild, INTx and the error/request
 * notifiers.  At run time: guest config reads merge emulated and physical
 * bits, writes go through to the device and drive MSI/MSI-X/INTx, BAR
 * accesses take the slow path (pread/pwrite), interrupts arrive on
 * eventfds polled by the fd handlers (core/vfio.h).  Resets: FLR, PM
 * reset, hot reset.
 *
 * Behaviour of QEMU's hw/vfio/pci.c as the seed quotes it; code and names
 * are our own.
 */
#ifndef CORE_VFIO_PCI_H
#define CORE_VFIO_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/bdf.h"
#include "common/error.h"
#include "core/gmem.h"
#include "core/gpci.h"
#include "core/vfio.h"

#define VFC_PCI_ANY_ID		0xffffffffu
#define VFC_PCI_VENDOR_ID_CHELSIO	0x1425
#define VFC_PCI_NUM_BARS	6

typedef struct VfcPciDevice VfcPciDevice;

/* Properties (QEMU's names in vfc_pci_set_property). */
typedef struct VfcPciProps {
	char host[BDF_LEN];	/* "host": the BDF, canonical "0000:03:00.1" */
	uint32_t vendor_id;	/* "x-pci-vendor-id", VFC_PCI_ANY_ID: the device's */
	uint32_t device_id;	/* "x-pci-device-id" */
	uint32_t sub_vendor_id;	/* "x-pci-sub-vendor-id" */
	uint32_t sub_device_id;	/* "x-pci-sub-device-id" */
	bool rombar;		/* "rombar", default on */
	bool vga;		/* "x-vga" */
	bool no_mmap;		/* "x-no-mmap" */
	bool req;		/* "x-req", default on */
	bool multifunction;	/* "multifunction" */
	int devfn;		/* "addr" (slot[.fn], hex), -1: first free */
	char id[GPCI_NAME_MAX];	/* "id" */
} VfcPciProps;

typedef struct VfcRegion {
	uint32_t flags;		/* VFIO_REGION_INFO_FLAG_* */
	uint64_t size;
	uint64_t fd_offset;
	unsigned nr;
} VfcRegion;

typedef struct VfcBar {
	VfcPciDevice *vdev;
	unsigned nr;
	VfcRegion region;
	bool ioport, mem64;
	uint8_t type;		/* low bits of the BAR register */
	GMemRegion mem;		/* the slow path, registered as the BAR */
	bool mem_init;
	GMemRegion mmap_mem;	/* the mmapped part below the MSI-X table */
	void *mmap;
	uint64_t mmap_size;
	bool mmap_failed;	/* advertised, but mmap() failed */
} VfcBar;

typedef struct VfcMsixInfo {
	uint8_t table_bar, pba_bar;
	unsigned entries;
	uint32_t table_offset, pba_offset;
	bool pba_quirk;		/* pba_offset replaced by the Chelsio value */
	GMemRegion mmap_mem;	/* the mmapped part above the table */
	void *mmap;
	uint64_t mmap_size, mmap_start;
} VfcMsixInfo;

typedef struct VfcMsiVector {
	VfcPciDevice *vdev;
	unsigned nr;
	int fd;			/* eventfd, -1 when unused */
	bool use;
} VfcMsiVector;

typedef enum VfcIntMode {
	VFC_INT_NONE,
	VFC_INT_INTX,
	VFC_INT_MSI,
	VFC_INT_MSIX,
} VfcIntMode;

struct VfcPciDevice {
	GPciDevice pdev;	/* first: container_of is a cast */
	VfcDevice vbasedev;
	VfcPciProps props;
	char msg_name[40];	/* "vfio 0000:03:00.1" */
	VfcBar bars[VFC_PCI_NUM_BARS];
	/* ROM */
	GMemRegion rom;
	bool has_rom;
	uint64_t rom_size;
	uint8_t *rom_data;
	bool rom_read_failed;
	/* config */
	uint64_t config_size, config_offset;
	uint8_t *emulated_config_bits;	/* max(config_size, 4096) bytes */
	uint32_t vendor_id, device_id;
	/* interrupts */
	VfcMsixInfo *msix;
	unsigned msi_cap_size;
	VfcMsiVector *msi_vectors;
	unsigned nr_vectors;
	VfcIntMode interrupt;
	int intx_fd;
	bool intx_pending;
	unsigned intx_pin;	/* 0 = INTA# */
	GPciIntxRoute intx_route;
	bool pci_aer;
	int err_fd;
	bool err_detected;	/* QEMU stops the VM here */
	bool req_enabled;
	int req_fd;
	unsigned req_count;
	/* VGA (x-vga: populate only) */
	bool has_vga;
	uint64_t vga_offset;
	/* resets */
	bool has_flr, has_pm_reset;
	uint8_t pm_cap;
	uint8_t exp_cap;
	/* counters for the dump */
	unsigned irq_count[4];	/* by VfcIntMode: interrupts seen */
};

static inline VfcPciDevice *vfc_pci_from_pdev(GPciDevice *pdev)
{
	return (VfcPciDevice *)pdev;
}

extern const GPciDeviceClass vfc_pci_class;

/* ---- lifecycle ---- */

void vfc_pci_props_init(VfcPciProps *props);
/* One property, QEMU's names and value syntax; "host" canonicalizes. */
bool vfc_pci_set_property(VfcPciProps *props, const char *key,
			  const char *val, Error **errp);
/* A device not yet realized (free with vfc_pci_free). */
VfcPciDevice *vfc_pci_new(const VfcPciProps *props, Error **errp);
/*
 * Realize on bus: gpci registration, then vfio_initfn.  On failure every
 * resource is released and the device is off the bus; errp starts with
 * "vfio <bdf>: " (or the PCI layer's message).
 */
bool vfc_pci_realize(VfcPciDevice *vdev, GPciBus *bus, Error **errp);
void vfc_pci_unrealize(VfcPciDevice *vdev);
void vfc_pci_free(VfcPciDevice *vdev);

/* ---- guest accesses (also the gpci class hooks) ---- */

uint32_t vfc_pci_read_config(GPciDevice *pdev, uint32_t addr, int len);
void vfc_pci_write_config(GPciDevice *pdev, uint32_t addr, uint32_t val, int len);
/* QEMU's vfio_pci_reset (the class reset). */
void vfc_pci_reset(GPciDevice *pdev);
/* Hot reset: single (this device only) or multi; 0 or -errno. */
int vfc_pci_hot_reset(VfcPciDevice *vdev, bool single);

/* State: config, BARs, MSI-X table, interrupt mode. */
void vfc_pci_dump(VfcPciDevice *vdev, FILE *out);

/* ---- steps of realize, exposed for tests (pure or fd-driven) ---- */

/* (emu & bits) | (phys & ~bits), for len bytes. */
uint32_t vfc_pci_merge_config(uint32_t emu_bits, uint32_t emu_val,
			      uint32_t phys_val, int len);
/*
 * Everything of realize after "populate": config copy (pread of
 * vbasedev.fd at config_offset), emulated bits, ID overrides, multifunction,
 * BAR/ROM clearing, ROM sizing, MSI-X early setup, BARs, capabilities.
 * Needs pdev registered, vbasedev.fd, config_size/offset and bars[].region.
 */
bool vfc_pci_setup_config(VfcPciDevice *vdev, Error **errp);
/* The ID property checks, with the seed's messages. */
bool vfc_pci_check_ids(const VfcPciProps *props, Error **errp);
/*
 * The PBA check of vfio_msix_early_setup: a PBA offset at or beyond the
 * BAR size is replaced by 0x1000 for a Chelsio T5 VF (1425:58xx), else an
 * error.  *quirked tells whether the offset was changed.
 */
bool vfc_pci_msix_check_pba(uint32_t vendor_id, uint32_t device_id,
			    uint64_t pba_bar_size, uint32_t *pba_offset,
			    bool *quirked, Error **errp);
/* Release everything realize set up (any partial state); idempotent. */
void vfc_pci_teardown(VfcPciDevice *vdev);

#endif

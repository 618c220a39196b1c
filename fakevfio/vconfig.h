/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/vconfig.h: vfio-pci's config-space virtualization and BAR/ROM
 * region access for one simulated device, as Linux 6.1 does it
 * (drivers/vfio/pci/vfio_pci_config.c, vfio_pci_rdwr.c; vfio-abi.md §2.5
 * and §3).  This is what a process sees when it preads/pwrites the device
 * fd at the CONFIG, BAR0-5 and ROM region offsets.
 *
 * One FvVconfig is the per-open part of the kernel's vfio_pci_core_device:
 * created at open_device (vfio_config_init, after pci_enable_device and the
 * open-time reset), freed at close.  The host PCI state it relies on (BAR
 * addresses, power state, resets) is the FvHostPci, which outlives it.
 *
 * Locking: every entry point takes the sim device's lock; the ops callback
 * runs with it held.  Offsets are within the region (the caller strips the
 * region index).  buf is the caller's own memory: copying from/to the user
 * is the device layer's job.
 */
#ifndef FAKEVFIO_VCONFIG_H
#define FAKEVFIO_VCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "hostpci.h"

typedef struct FvVconfig FvVconfig;

typedef struct FvVconfigOps {
	/*
	 * The virtual COMMAND.INTX_DISABLE changed (vdev->virq_disabled): the
	 * IRQ layer masks (true) or unmasks vfio's INTx.  May be NULL.
	 */
	void (*intx_disable)(void *opaque, bool disabled);
	/*
	 * User space reset the function through the config region (Initiate
	 * FLR in PCIe DevCtl, or the AF FLR bit) and pci_try_reset_function
	 * did it.  Called with the device lock held.  May be NULL.
	 */
	void (*reset)(void *opaque);
} FvVconfigOps;

enum {
	/*
	 * vdev->nointx (or an INTx pin with no IRQ routed): the virtual
	 * Interrupt Pin reads 0 and a BAR restore sets Interrupt Disable.
	 */
	FV_VCONFIG_NOINTX = 1u << 0,
};

/*
 * vfio_config_init: vconfig filled from the device, the capability map and
 * permission tables built, hidden capabilities unlinked, VF IDs and
 * COMMAND.MEM fixed up, the pin rules applied; plus the MSI-X table
 * location (vfio_pci_core_enable).  ops and opaque may be NULL.
 */
FvVconfig *fv_vconfig_new(FvHostPci *hp, unsigned flags,
			  const FvVconfigOps *ops, void *opaque, Error **errp);
void fv_vconfig_free(FvVconfig *vc);
FvHostPci *fv_vconfig_hostpci(const FvVconfig *vc);

/* The config region size (pdev->cfg_size). */
unsigned fv_vconfig_cfg_size(const FvVconfig *vc);

/*
 * Config region read/write (vfio_pci_config_rw): count bytes at pos.
 * -EFAULT when pos >= size or pos + count > size; split into naturally
 * aligned 1/2/4-byte chunks that never cross a dword or a change of the
 * capability map; an error in any chunk is returned even though earlier
 * chunks took effect.  Returns count or -errno.
 */
ssize_t fv_vconfig_config_rw(FvVconfig *vc, void *buf, size_t count,
			     uint64_t pos, bool write);

/*
 * BAR (index 0-5) or ROM (index 6) region read/write (vfio_pci_bar_rw):
 * -EINVAL for an unassigned BAR, pos beyond it, or a ROM write; the count
 * is clamped to the end (short count); naturally aligned 4/2/1-byte device
 * accesses (never 8 in 6.1); the MSI-X table range reads 0xff and drops
 * writes; -EIO on a memory BAR (and the ROM) while the virtual
 * COMMAND.MEM is 0 (not for VFs) or the device is in D3hot; ROM bytes past
 * the image read 0xff (-ENOMEM for an invalid ROM image).
 */
ssize_t fv_vconfig_bar_rw(FvVconfig *vc, unsigned index, void *buf,
			  size_t count, uint64_t pos, bool write);

/* The Interrupt Pin userspace sees (0 for VFs and nointx). */
unsigned fv_vconfig_virtual_pin(FvVconfig *vc);
/*
 * vdev->msi_qmax: log2 of the MSI vectors enabled through SET_IRQS (set by
 * the IRQ layer after MSI enable, 0 after disable).  It clamps the QSIZE a
 * user writes.  (In 6.1 the read side writes it to the wrong vconfig bytes,
 * so Multiple Message Capable keeps reading the device's value.)
 */
void fv_vconfig_set_msi_qmax(FvVconfig *vc, unsigned qmax);
/*
 * vdev->irq_type: the active VFIO IRQ index (VFIO_PCI_INTX_IRQ_INDEX,
 * VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX), VFIO_PCI_NUM_IRQS for
 * none (the initial value).  MSI Enable writes stick only while it is MSI.
 */
void fv_vconfig_set_irq_type(FvVconfig *vc, unsigned irq_type);
/* vdev->virq_disabled: the virtual Interrupt Disable as last applied. */
bool fv_vconfig_virq_disabled(FvVconfig *vc);
/* pci_is_pcie(). */
bool fv_vconfig_is_pcie(FvVconfig *vc);
/* vdev->extended_caps: the extended capabilities are virtualized. */
bool fv_vconfig_extended_caps(FvVconfig *vc);
/*
 * __vfio_pci_memory_enabled: memory BARs are accessible (virtual
 * COMMAND.MEM or a VF, and the device below D3hot).
 */
bool fv_vconfig_memory_enabled(FvVconfig *vc);
/*
 * The MSI-X table (vdev->msix_bar/offset/size) for GET_REGION_INFO's
 * MSIX_MAPPABLE/sparse areas and IOEVENTFD's overlap check; false without
 * MSI-X (msix_bar 0xff).
 */
bool fv_vconfig_msix_table(FvVconfig *vc, unsigned *bar, uint32_t *offset,
			   uint32_t *size);

/*
 * Introspection (tests, dumps): the capability map byte at pos (0: basic
 * header, 0xff: unassigned/raw, else the owning capability's ID), and how
 * many overlapping-capability warnings the init produced.
 */
unsigned fv_vconfig_map(FvVconfig *vc, unsigned pos);
unsigned fv_vconfig_warnings(FvVconfig *vc);

#endif

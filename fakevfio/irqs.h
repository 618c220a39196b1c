/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/irqs.h: the interrupt half of the kernel's vfio-pci (Linux 6.1
 * vfio_pci_intrs.c, and the GET_IRQ_INFO / SET_IRQS ioctls of
 * vfio_pci_core.c) for one simulated device, together with what the host
 * PCI core does to the device when vectors are allocated: it programs the
 * MSI / MSI-X registers of the SimDevice with host messages (address
 * FV_IRQS_MSI_ADDR, data = a cookie naming the vector), masks and unmasks
 * vectors as triggers come and go, and turns the messages the device sends
 * back (fv_irqs_on_msi) into eventfd signals.
 *
 * Eventfds are numbers in the caller's fd table (FvUser): they are
 * duplicated into this process with pidfd_getfd, signalled with an 8-byte
 * write of 1, and closed when replaced, cleared or released.
 *
 * INTx follows the kernel's exclusive-IRQ model: while INTx is enabled and
 * not masked, a high device line "fires" the host IRQ, which signals the
 * trigger and masks (AUTOMASKED); unmasking with the line still high fires
 * again.  The host masks its own IRQ line and never writes the device's
 * Interrupt Disable bit for masking (the non-PCI-2.3 path of the kernel;
 * what the user sees is the same).
 *
 * Locking: the state is guarded by the sim device lock (sim_device_lock),
 * taken by every function here; the on_* inputs are meant to be called from
 * the device's SimHostOps callbacks, which run with that lock held.  The
 * INTx unmask eventfd is watched by the FvEvloop, whose callback takes the
 * same lock with fv_evloop_lock_sim.  Any function here may be called with
 * the device lock already held.
 */
#ifndef FAKEVFIO_IRQS_H
#define FAKEVFIO_IRQS_H

#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "fakevfio/evloop.h"
#include "fakevfio/user.h"
#include "sim/sim.h"

typedef struct FvIrqs FvIrqs;

/* vdev->irq_type: the active index, or NONE (the kernel's VFIO_PCI_NUM_IRQS). */
typedef enum FvIrqType {
	FV_IRQ_TYPE_INTX = VFIO_PCI_INTX_IRQ_INDEX,
	FV_IRQ_TYPE_MSI = VFIO_PCI_MSI_IRQ_INDEX,
	FV_IRQ_TYPE_MSIX = VFIO_PCI_MSIX_IRQ_INDEX,
	FV_IRQ_TYPE_NONE = VFIO_PCI_NUM_IRQS,
} FvIrqType;

/* The message the fake host programs into the device. */
#define FV_IRQS_MSI_ADDR 0xfee00000u
/* MSI-X data: base + vector (vectors 0..2047). */
#define FV_IRQS_MSIX_DATA_BASE 0x4000u
/* MSI data: base (32-aligned: Multiple Message puts the vector in bits 0-4). */
#define FV_IRQS_MSI_DATA_BASE 0x8000u

typedef struct FvIrqsConfig {
	/* The virtual Interrupt Pin: 0 for VFs, nointx devices, no pin. */
	uint8_t pin;
	/* A PCI Express function: the ERR index exists. */
	bool is_pcie;
	/*
	 * The host cannot do multi-message MSI (x86 without interrupt
	 * remapping): an MSI allocation of n > 1 vectors gets 1, which
	 * SET_IRQS returns as the positive "retry with this many".
	 */
	bool no_multi_msi;
	/*
	 * Hooks into config virtualization (may be NULL): msi_qmax after a
	 * successful MSI enable, and every change of irq_type.
	 */
	void (*set_msi_qmax)(void *opaque, unsigned qmax);
	void (*set_irq_type)(void *opaque, FvIrqType type);
	void *opaque;
} FvIrqsConfig;

/* sim and loop must outlive the FvIrqs; loop is required. */
FvIrqs *fv_irqs_new(SimDevice *sim, FvEvloop *loop, const FvIrqsConfig *cfg,
		    Error **errp);
/* Release (as below) and free.  NULL is a no-op. */
void fv_irqs_free(FvIrqs *q);

/* VFIO_DEVICE_GET_IRQ_INFO: 0 or -errno. */
long fv_irqs_get_info(FvIrqs *q, const FvUser *u, uint64_t arg);
/* VFIO_DEVICE_SET_IRQS: 0, the positive "fewer vectors" count, or -errno. */
long fv_irqs_set(FvIrqs *q, const FvUser *u, uint64_t arg);
/*
 * The last close of the device (vfio_pci_core_close_device): disable the
 * active interrupt type, forget virq_disabled, drop ERR/REQ triggers.
 */
void fv_irqs_release(FvIrqs *q);
/* The virtual Command.INTX_DISABLE bit changed (or was written). */
void fv_irqs_set_virq_disabled(FvIrqs *q, bool disabled);
/* The IRQ count of an index, as GET_IRQ_INFO reports it (0: none). */
unsigned fv_irqs_count(FvIrqs *q, unsigned index);

/* ---- device-side inputs (from SimHostOps callbacks) -------------------- */

/* The device wrote an MSI/MSI-X message. */
void fv_irqs_on_msi(FvIrqs *q, uint64_t addr, uint32_t data);
/* The device's INTx line (as the host sees it) changed to level. */
void fv_irqs_on_intx(FvIrqs *q, bool level);
/* The device signalled an uncorrectable error (AER). */
void fv_irqs_on_err(FvIrqs *q);
/* The device asks to be released. */
void fv_irqs_on_req(FvIrqs *q);

/* ---- state, for dumps and tests ------------------------------------ */

FvIrqType fv_irqs_type(FvIrqs *q);
/* Vectors allocated for the active type (num_ctx; INTx: 1; none: 0). */
unsigned fv_irqs_nvec(FvIrqs *q);
/*
 * Whether a trigger eventfd is attached: INTx/MSI/MSI-X (only for the
 * active type), ERR and REQ (vector 0).
 */
bool fv_irqs_has_trigger(FvIrqs *q, unsigned index, unsigned vector);
bool fv_irqs_intx_masked(FvIrqs *q);
bool fv_irqs_intx_has_unmask_fd(FvIrqs *q);
bool fv_irqs_virq_disabled(FvIrqs *q);
/*
 * Device interrupts delivered to an eventfd, since creation: per index and
 * vector (loopback signals from SET_IRQS DATA_NONE/BOOL are not counted).
 */
uint64_t fv_irqs_delivered(FvIrqs *q, unsigned index, unsigned vector);
/* Device messages that reached no eventfd (no such vector, no trigger). */
uint64_t fv_irqs_stray(FvIrqs *q);
/* A human-readable summary of the state. */
void fv_irqs_dump(FvIrqs *q, FILE *out);

#endif

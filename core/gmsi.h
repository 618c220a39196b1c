/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/gmsi: MSI and MSI-X for emulated guest PCI devices (and for the
 * guest view of an assigned one): the capabilities, the MSI-X table and
 * PBA as MMIO regions inside a BAR, masking (per vector and per function)
 * with pending bits and delivery on unmask, vector use counts and the
 * use/release/poll vector notifiers vfio relies on.  Behaviour of QEMU's
 * hw/pci/msi.c and msix.c as the seed quotes them (5.5.1.3, 6.2); the code
 * and names are our own.
 *
 * Messages go to the bus's interrupt sink (gintc), tagged with the
 * requester id, and only while COMMAND.MASTER is set (QEMU writes them
 * through the bus-master address space, which that bit gates); otherwise
 * the sink records them as dropped.
 */
#ifndef CORE_GMSI_H
#define CORE_GMSI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "core/gpci.h"

#define GMSI_VECTORS_MAX	32
#define GMSIX_VECTORS_MAX	(PCI_MSIX_FLAGS_QSIZE + 1)

/* Send a message as dev (bus-master gate, then the sink). */
void gmsi_send_message(GPciDevice *dev, GMsiMessage msg);

/* ---- MSI ---- */

/* Capability size for these PCI_MSI_FLAGS bits (0xa, 0xe, 0x14 or 0x18). */
unsigned gmsi_cap_sizeof(uint16_t flags);
/*
 * Add an MSI capability at offset (0: anywhere) for nr_vectors (a power of
 * two, 1..32).  Returns its offset; -ENOTSUP when the interrupt controller
 * has no MSI, -EINVAL for a bad vector count, or pci_add_capability's
 * error; errp is set on failure.
 */
int gmsi_init(GPciDevice *dev, uint8_t offset, unsigned nr_vectors,
	      bool msi64bit, bool per_vector_mask, Error **errp);
void gmsi_uninit(GPciDevice *dev);
void gmsi_reset(GPciDevice *dev);
/* Called by gpci_default_write_config after the masks were applied. */
void gmsi_write_config(GPciDevice *dev, uint32_t addr, uint32_t val, int len);
bool gmsi_present(const GPciDevice *dev);
bool gmsi_enabled(const GPciDevice *dev);
/* Vectors the guest enabled (Multiple Message Enable). */
unsigned gmsi_nr_vectors_allocated(const GPciDevice *dev);
bool gmsi_is_masked(const GPciDevice *dev, unsigned vector);
/* Address, and data with the vector number in its low bits. */
GMsiMessage gmsi_get_message(const GPciDevice *dev, unsigned vector);
/*
 * Raise vector: masked -> its pending bit is set; else the message is
 * sent.  Nothing happens while MSI is disabled or for a vector beyond
 * what the guest enabled.
 */
void gmsi_notify(GPciDevice *dev, unsigned vector);

/* ---- MSI-X ---- */

/*
 * msix_init: nentries vectors, the table at table_offset in table_bar
 * (BAR table_bar_nr), the PBA at pba_offset in pba_bar, the capability at
 * cap_pos (0: anywhere).  Every vector starts masked, the function
 * masked.  Returns 0, -ENOTSUP (no MSI at the interrupt controller) or
 * -EINVAL / the capability error, with errp set.
 */
int gmsix_init(GPciDevice *dev, unsigned nentries, GMemRegion *table_bar,
	       uint8_t table_bar_nr, uint32_t table_offset,
	       GMemRegion *pba_bar, uint8_t pba_bar_nr, uint32_t pba_offset,
	       uint8_t cap_pos, Error **errp);
/*
 * A 4 KiB BAR of its own: table at 0, PBA at 2 KiB, registered as
 * bar_nr (32-bit memory).
 */
int gmsix_init_exclusive_bar(GPciDevice *dev, unsigned nentries,
			     uint8_t bar_nr, Error **errp);
void gmsix_uninit(GPciDevice *dev);
void gmsix_reset(GPciDevice *dev);
void gmsix_write_config(GPciDevice *dev, uint32_t addr, uint32_t val, int len);
bool gmsix_present(const GPciDevice *dev);
bool gmsix_enabled(const GPciDevice *dev);
unsigned gmsix_nr_vectors_allocated(const GPciDevice *dev);
/* Masked by its own bit, by the function mask or by MSI-X being off. */
bool gmsix_is_masked(const GPciDevice *dev, unsigned vector);
bool gmsix_is_pending(const GPciDevice *dev, unsigned vector);
void gmsix_clr_pending(GPciDevice *dev, unsigned vector);
GMsiMessage gmsix_get_message(const GPciDevice *dev, unsigned vector);
/*
 * Raise vector: only vectors in use count; masked -> pending bit, else
 * the message is sent.  While MSI-X is disabled every vector counts as
 * masked (QEMU's msix_notify), so the bit waits for enable + unmask.
 */
void gmsix_notify(GPciDevice *dev, unsigned vector);
/* Use counts: a vector notifies only while used. */
int gmsix_vector_use(GPciDevice *dev, unsigned vector);
void gmsix_vector_unuse(GPciDevice *dev, unsigned vector);
void gmsix_unuse_all_vectors(GPciDevice *dev);
/*
 * Install the vector notifiers.  If MSI-X is enabled and not
 * function-masked, use is called at once for every unmasked vector (and
 * undone if one fails, whose error is returned); poll is then called for
 * all vectors.
 */
int gmsix_set_vector_notifiers(GPciDevice *dev, GMsixVectorUseFn use,
			       GMsixVectorReleaseFn release,
			       GMsixVectorPollFn poll);
/* release for every unmasked vector (if enabled, not function-masked), then forget them. */
void gmsix_unset_vector_notifiers(GPciDevice *dev);

#endif

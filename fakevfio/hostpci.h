/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/hostpci.h: the host kernel's PCI core acting on one simulated
 * function, as Linux 6.1 drivers/pci does it.  An FvHostPci is what the
 * kernel's struct pci_dev is to vfio-pci: the resources (BAR host
 * addresses), the power state it believes the function is in, the saved
 * config state, the reset methods, and the actions vfio-pci asks of the PCI
 * core (pci_enable_device, pci_save_state/pci_restore_state,
 * pci_try_reset_function, pci_set_power_state, pci_map_rom).
 *
 * It lives as long as the device (not one open of it): the config state
 * saved here, like the pci_dev's, outlives a VFIO device fd.
 *
 * All accesses go through the bus view of the device (sim_cfg_read/write,
 * sim_bar_read/write), under the device's lock, so hooks and masks apply as
 * on hardware.  Functions returning int give 0 or a negative errno.
 */
#ifndef FAKEVFIO_HOSTPCI_H
#define FAKEVFIO_HOSTPCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "sim/sim.h"

typedef struct FvHostPci FvHostPci;

/* Power states as PMCSR encodes them (pci_power_t). */
enum {
	FV_PCI_D0 = 0,
	FV_PCI_D1 = 1,
	FV_PCI_D2 = 2,
	FV_PCI_D3HOT = 3,
};

/* The reset methods of pci_reset_fn_methods[] that a sim device can have. */
typedef enum FvResetMethod {
	FV_RESET_NONE = 0,
	FV_RESET_FLR,		/* PCIe Function Level Reset (DevCap.FLR) */
	FV_RESET_AF_FLR,	/* Advanced Features FLR (AF_CAP TP + FLR) */
	FV_RESET_PM,		/* D3hot -> D0 when No_Soft_Reset is 0 */
	FV_RESET_BUS,		/* secondary bus reset (alone on its bus) */
} FvResetMethod;

/* A BAR or ROM resource (pci_resource_start/len/flags). */
typedef struct FvPciResource {
	uint64_t start;		/* host address; 0: not assigned */
	uint64_t len;		/* 0 when absent or not assigned */
	bool io;		/* IORESOURCE_IO (else IORESOURCE_MEM) */
	bool prefetch;		/* IORESOURCE_PREFETCH */
	bool mem64;		/* IORESOURCE_MEM_64 */
} FvPciResource;

FvHostPci *fv_hostpci_new(SimDevice *sim, Error **errp);
void fv_hostpci_free(FvHostPci *hp);
SimDevice *fv_hostpci_sim(const FvHostPci *hp);

/* pdev->cfg_size (pci_cfg_space_size): 256 or 4096. */
unsigned fv_hostpci_cfg_size(const FvHostPci *hp);
/* pci_is_pcie(): offset of the PCI Express capability, 0 without one. */
unsigned fv_hostpci_pcie_cap(const FvHostPci *hp);
/* pdev->is_virtfn, and pdev->no_command_memory (set for VFs). */
bool fv_hostpci_is_virtfn(const FvHostPci *hp);
bool fv_hostpci_no_command_memory(const FvHostPci *hp);
/*
 * Resource idx (0-5 BARs, 6 ROM).  A BAR the host gave no address
 * (sim_bar_set_addr never called) is a reset resource: start, len and flags
 * all 0, as the PCI core leaves a BAR it could not assign.  The upper half
 * of a 64-bit BAR is not a resource either.  False when absent.
 */
bool fv_hostpci_resource(const FvHostPci *hp, unsigned idx, FvPciResource *res);

/*
 * Whether a secondary bus reset can reach the function alone (it is the
 * only device on a non-root bus: pci_parent_bus_reset's probe).  Off by
 * default; the machine model turns it on for such a topology.
 */
void fv_hostpci_set_bus_reset(FvHostPci *hp, bool possible);

/*
 * pci_enable_device: power up to D0 and set COMMAND I/O and Memory Space
 * for the assigned BARs that need them; with an interrupt pin (and neither
 * MSI nor MSI-X enabled) clear Interrupt Disable.  Counted: only the first
 * call acts.  fv_hostpci_disable (pci_disable_device) drops the count and,
 * at zero, clears Bus Master.
 */
int fv_hostpci_enable(FvHostPci *hp);
void fv_hostpci_disable(FvHostPci *hp);

/*
 * pci_save_state / pci_restore_state: the 16 header dwords, the PCIe
 * control registers (DevCtl, LnkCtl, SltCtl, RtCtl, DevCtl2, LnkCtl2,
 * SltCtl2, those the capability implements), the AER masks, severity and
 * control, and (pci_restore_msi_state) the MSI or MSI-X state the host
 * programmed when it was enabled.  Restore writes a header dword only when
 * it differs (BARs before COMMAND), clears the AER status, and forgets the
 * saved state.
 */
void fv_hostpci_save_state(FvHostPci *hp);
void fv_hostpci_restore_state(FvHostPci *hp);

/* A copy of the saved state (pci_store_saved_state / pci_load_saved_state). */
typedef struct FvPciSavedState FvPciSavedState;
FvPciSavedState *fv_hostpci_store_saved_state(FvHostPci *hp);
/* Make st the saved state again (frees st); false if st is NULL. */
bool fv_hostpci_load_saved_state(FvHostPci *hp, FvPciSavedState *st);
void fv_hostpci_free_saved_state(FvPciSavedState *st);

/*
 * The first reset method pci_reset_fn_methods[] finds (FLR, AF FLR, PM,
 * bus), FV_RESET_NONE when none: pci_reset_supported().
 */
FvResetMethod fv_hostpci_reset_method(const FvHostPci *hp);
const char *fv_hostpci_reset_method_name(FvResetMethod m);
/*
 * What vfio_pci_core_enable records as vdev->reset_works (and reports as
 * VFIO_DEVICE_FLAGS_RESET): whether pci_try_reset_function succeeds, which
 * with a simulated device is whether a method exists.  The kernel gets it
 * by doing the reset at open: the device layer should call
 * fv_hostpci_try_reset() there and use its result instead.
 */
bool fv_hostpci_reset_works(const FvHostPci *hp);
/*
 * pci_try_reset_function: -ENOTTY without a method; otherwise go to D0,
 * save the state, write COMMAND = INTX_DISABLE, reset with the first
 * method that does not answer -ENOTTY, restore the state.  0 or -errno.
 */
int fv_hostpci_try_reset(FvHostPci *hp);

/*
 * vfio_pci_set_power_state (D0..D3hot) on top of pci_set_power_state:
 * bounded, D1/D2 only if PMC supports them (-EIO), no direct D3->D1 path
 * (-EINVAL), -EIO without a PM capability for D1-D3.  With No_Soft_Reset
 * 0 the state is saved on the way into D3hot and restored on the way back
 * to D0 (after pci_restore_bars).  Returns pci_set_power_state's result.
 */
int fv_hostpci_set_power(FvHostPci *hp, unsigned state);
/* pdev->current_state. */
unsigned fv_hostpci_power_state(const FvHostPci *hp);

/*
 * pci_map_rom: enable ROM decode (ROM BAR address + enable bit) and find the
 * size of the image (pci_get_rom_size: 0x55AA / "PCIR" images up to the
 * last-image flag, at most the BAR size).  -EINVAL without an assigned ROM,
 * -ENOMEM (what pci_map_rom's NULL becomes) for an invalid image, in which
 * case decode is disabled again.  fv_hostpci_unmap_rom disables it.
 */
int fv_hostpci_map_rom(FvHostPci *hp, size_t *size);
void fv_hostpci_unmap_rom(FvHostPci *hp);

#endif

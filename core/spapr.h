/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/spapr: the guest sPAPR IOMMU of a pseries machine (seed sections
 * 5.1.1.3, 8, 8.1, 8.1.1.2): a PCI host bridge (PHB) whose devices DMA
 * through TCE tables, one per LIOBN (logical I/O bus number), filled by
 * the guest with the PAPR hypercalls H_PUT_TCE, H_PUT_TCE_INDIRECT,
 * H_STUFF_TCE and read back with H_GET_TCE; dynamic DMA windows (the
 * RTAS calls ibm,create-pe-dma-window / ibm,remove-pe-dma-window) and the
 * EEH RTAS calls, which end in VFIO_EEH_PE_OP on the PHB's container.
 *
 * Each table is an IOMMU region (gmem) placed at its bus offset in the
 * PHB's DMA address space; its translate is the seed's
 * spapr_tce_translate_iommu (bypass: identity; out of window: no access;
 * otherwise the page of the TCE with the TCE's permissions) and every TCE
 * change is sent to the region's IOMMU notifiers, which is how the VFIO
 * container (core/vfio.c) turns it into MAP_DMA / UNMAP_DMA.
 *
 * Behaviour is that of QEMU's hw/ppc/spapr_iommu.c, spapr_pci.c and
 * spapr_pci_vfio.c, read for behaviour only; code and names are ours.
 * Hypercalls return H_* codes, RTAS calls RTAS_OUT_* codes, as a guest
 * would see them.  Single-threaded like the rest of the machine model.
 */
#ifndef CORE_SPAPR_H
#define CORE_SPAPR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "core/gmem.h"
#include "core/gpci.h"

/* PAPR hypercall return codes (the ones these calls return). */
#define H_SUCCESS	0
#define H_HARDWARE	(-1)
#define H_FUNCTION	(-2)
#define H_PRIVILEGE	(-3)
#define H_PARAMETER	(-4)

/* RTAS return codes. */
#define RTAS_OUT_SUCCESS	0
#define RTAS_OUT_HW_ERROR	(-1)
#define RTAS_OUT_BUSY		(-2)
#define RTAS_OUT_PARAM_ERROR	(-3)
#define RTAS_OUT_NOT_SUPPORTED	(-3)

/* TCE permission bits (low bits of a TCE; the rest is the real address). */
#define VFC_TCE_READ	1ull
#define VFC_TCE_WRITE	2ull
#define VFC_TCE_RW	3ull

/* The PAPR limits and the defaults of the pseries PHB. */
#define VFC_SPAPR_INDIRECT_MAX		512	/* TCEs per H_PUT_TCE_INDIRECT */
#define VFC_SPAPR_TCE_LIST_ALIGN	4096	/* the TCE list page */
#define VFC_SPAPR_MAX_WINDOWS		2	/* default + one DDW */
#define VFC_SPAPR_LIOBN(index, win)	(0x80000000u | ((uint32_t)(index) << 8) | (uint32_t)(win))
#define VFC_SPAPR_DMA32_SIZE		(1ull << 30)	/* 1 GiB at bus address 0 */
#define VFC_SPAPR_DMA64_BASE		(1ull << 59)	/* where DDWs go */
#define VFC_SPAPR_PAGE_SHIFT		12
/* IOMMU page sizes a DDW may use: 4 KiB, 64 KiB, 2 MiB, 16 MiB (QEMU's pgsz). */
#define VFC_SPAPR_PGSIZES		((1ull << 12) | (1ull << 16) | (1ull << 21) | (1ull << 24))
/* The largest table we model (entries), 2^30: 8 GiB of TCEs if all live. */
#define VFC_SPAPR_MAX_ENTRIES		(1ull << 30)

/* EEH (ibm,set-eeh-option options, ibm,set-slot-reset options, states). */
#define RTAS_EEH_DISABLE		0
#define RTAS_EEH_ENABLE			1
#define RTAS_EEH_THAW_IO		2
#define RTAS_EEH_THAW_DMA		3
#define RTAS_SLOT_RESET_DEACTIVATE	0
#define RTAS_SLOT_RESET_HOT		1
#define RTAS_SLOT_RESET_FUNDAMENTAL	3
#define RTAS_EEH_PE_STATE_NORMAL	0
#define RTAS_EEH_PE_STATE_RESET		1
#define RTAS_EEH_PE_STATE_STOPPED_IO_DMA 2
#define RTAS_EEH_PE_STATE_STOPPED_DMA	4
#define RTAS_EEH_PE_STATE_UNAVAIL	5

typedef struct VfcSpaprPhb VfcSpaprPhb;

/*
 * One TCE table (QEMU's sPAPRTCETable).  The entries live in chunks of
 * 512 allocated on first use, so memory grows with the live mappings,
 * not with the window.
 */
typedef struct VfcSpaprTceTable {
	uint32_t liobn;
	bool enabled;		/* a window exists */
	bool bypass;		/* translate is the identity */
	unsigned page_shift;
	uint64_t bus_offset;	/* where the window starts on the bus */
	uint64_t nb_table;	/* entries: window size >> page_shift */
	uint64_t **chunks;	/* nb_table / 512 rounded up, NULL: all zero */
	uint64_t nchunks;
	uint64_t live;		/* entries with a permission */
	uint64_t chunk_bytes;	/* memory of the allocated chunks */
	GMemRegion iommu;	/* the window, at bus_offset in the PHB's space */
	VfcSpaprPhb *phb;
} VfcSpaprTceTable;

typedef struct VfcSpaprPhbConfig {
	uint32_t index;		/* LIOBNs 0x80000000 | index << 8 | window */
	uint64_t dma32_start;	/* default window (0) */
	uint64_t dma32_size;	/* 0: 1 GiB */
	unsigned page_shift;	/* of the default window; 0: 12 */
	uint64_t dma64_start;	/* DDW bus address; 0: 1 << 59 */
	bool no_ddw;		/* refuse ibm,create-pe-dma-window */
} VfcSpaprPhbConfig;

struct VfcSpaprPhb {
	char name[32];
	uint32_t index;
	GMemRegion root;		/* the bus's DMA view: the windows */
	GAddressSpace dma_as;		/* what devices on the PHB reach */
	GAddressSpace *target_as;	/* where TCEs point: system memory */
	GPciBus *bus;
	VfcSpaprTceTable windows[VFC_SPAPR_MAX_WINDOWS];
	uint64_t dma32_start, dma32_size, dma64_start;
	unsigned page_shift;
	bool ddw_enabled;
};

/* ---- the PHB ---- */

/*
 * A PHB whose TCEs point into target_as (system memory), with its default
 * window enabled (LIOBN index<<8|0x80000000, page shift 12, 1 GiB at 0
 * unless cfg says otherwise).  cfg may be NULL.
 */
VfcSpaprPhb *vfc_spapr_phb_new(const VfcSpaprPhbConfig *cfg,
			       GAddressSpace *target_as, Error **errp);
/* Disables every window (notifiers see the unmaps) and frees the PHB. */
void vfc_spapr_phb_free(VfcSpaprPhb *phb);
/* Route every device of bus through the PHB's DMA space (pci_setup_iommu). */
void vfc_spapr_phb_attach_bus(VfcSpaprPhb *phb, GPciBus *bus);
static inline GAddressSpace *vfc_spapr_phb_dma_as(VfcSpaprPhb *phb) { return &phb->dma_as; }
/* The enabled table of liobn, or NULL. */
VfcSpaprTceTable *vfc_spapr_find_table(VfcSpaprPhb *phb, uint64_t liobn);
static inline uint32_t vfc_spapr_default_liobn(const VfcSpaprPhb *phb)
{
	return VFC_SPAPR_LIOBN(phb->index, 0);
}
/* The configuration address RTAS calls name a device by: bus << 16 | devfn << 8. */
uint32_t vfc_spapr_config_addr(const GPciDevice *dev);

/* ---- tables ---- */

/*
 * Enable tbl as a window of nb_table pages of 1 << page_shift at
 * bus_offset (QEMU's spapr_tce_table_enable); the region joins the PHB's
 * space, so a VFIO container listening there creates its host window.
 */
bool vfc_spapr_table_enable(VfcSpaprTceTable *tbl, unsigned page_shift,
			    uint64_t bus_offset, uint64_t nb_table, Error **errp);
/* Drop the window: live entries are unmapped (notified) first. */
void vfc_spapr_table_disable(VfcSpaprTceTable *tbl);
/* The TCE of an entry (0 when never written or out of range). */
uint64_t vfc_spapr_table_get(const VfcSpaprTceTable *tbl, uint64_t index);
/*
 * Bypass mode: translate becomes the identity (seed 8.1.1.2).  Notifiers
 * see the live TCE mappings go, then identity mappings of the RAM inside
 * the window; turning bypass off reverses that.
 */
void vfc_spapr_table_set_bypass(VfcSpaprTceTable *tbl, bool bypass);
/* The IOMMU page size if mr is a TCE table's region, else 0. */
uint64_t vfc_spapr_iommu_page_size(const GMemRegion *mr);
/* The seed's spapr_tce_translate_iommu, addr an offset in the window. */
GIommuTlbEntry vfc_spapr_translate(VfcSpaprTceTable *tbl, uint64_t addr);

/* ---- hypercalls (H_* codes) ---- */

long vfc_spapr_h_put_tce(VfcSpaprPhb *phb, uint64_t liobn, uint64_t ioba,
			 uint64_t tce);
/*
 * npages (1..512) big-endian TCEs read from guest RAM at tce_list (4 KiB
 * aligned).  Stops at the first failing entry; the earlier ones stay.
 */
long vfc_spapr_h_put_tce_indirect(VfcSpaprPhb *phb, uint64_t liobn,
				  uint64_t ioba, uint64_t tce_list,
				  uint64_t npages);
long vfc_spapr_h_stuff_tce(VfcSpaprPhb *phb, uint64_t liobn, uint64_t ioba,
			   uint64_t tce, uint64_t npages);
long vfc_spapr_h_get_tce(VfcSpaprPhb *phb, uint64_t liobn, uint64_t ioba,
			 uint64_t *tce);

/* ---- dynamic DMA windows (RTAS_OUT_* codes) ---- */

/*
 * ibm,query-pe-dma-window: windows still available, the largest block
 * (in pages of 4 KiB), the page sizes (VFC_SPAPR_PGSIZES bits).
 */
int vfc_spapr_ddw_query(VfcSpaprPhb *phb, unsigned *windows_available,
			uint64_t *max_pages, uint64_t *pgsizes);
/*
 * ibm,create-pe-dma-window: a window of 1 << window_shift bytes in pages
 * of 1 << page_shift, at 1 << 59 (or at the default window's address if
 * that was removed).  *liobn and *start get the new window's.
 */
int vfc_spapr_ddw_create(VfcSpaprPhb *phb, unsigned page_shift,
			 unsigned window_shift, uint32_t *liobn,
			 uint64_t *start);
/* ibm,remove-pe-dma-window. */
int vfc_spapr_ddw_remove(VfcSpaprPhb *phb, uint64_t liobn);
/* ibm,reset-pe-dma-window: every DDW removed, the default window back. */
int vfc_spapr_ddw_reset(VfcSpaprPhb *phb);

/* ---- EEH (RTAS_OUT_* codes; each ends in VFIO_EEH_PE_OP) ---- */

/*
 * The PE is the PHB's container: EEH needs exactly one container with
 * exactly one group on the PHB's DMA space (QEMU's vfio_eeh_as_ok);
 * otherwise every call is RTAS_OUT_PARAM_ERROR.
 */
bool vfc_spapr_eeh_available(VfcSpaprPhb *phb);
/* ibm,set-eeh-option: RTAS_EEH_ENABLE needs a vfio-pci device at config_addr. */
int vfc_spapr_eeh_set_option(VfcSpaprPhb *phb, uint32_t config_addr, int option);
/* ibm,read-slot-reset-state2: *state one of RTAS_EEH_PE_STATE_*. */
int vfc_spapr_eeh_get_state(VfcSpaprPhb *phb, int *state);
/* ibm,set-slot-reset: RTAS_SLOT_RESET_*. */
int vfc_spapr_eeh_reset(VfcSpaprPhb *phb, int option);
/* ibm,configure-pe. */
int vfc_spapr_eeh_configure(VfcSpaprPhb *phb);
/* ibm,errinjct (an EEH error): VFIO_EEH_PE_INJECT_ERR with type, func, addr, mask. */
int vfc_spapr_eeh_inject(VfcSpaprPhb *phb, uint32_t type, uint32_t func,
			 uint64_t addr, uint64_t mask);

/* Windows, live TCEs and table memory. */
void vfc_spapr_phb_dump(VfcSpaprPhb *phb, FILE *out);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/spapr.h: the sPAPR TCE IOMMU backend of a fake VFIO container on
 * a POWER host (`--platform pseries`), as drivers/vfio/vfio_iommu_spapr_tce.c
 * of Linux 6.1 behaves on a PowerNV PHB (vfio-abi.md §2.7), errno by errno
 * in the kernel's check order, plus the device side: DMA from a simulated
 * device translated through the TCE tables into the memory of the process
 * the container is bound to; and EEH (drivers/vfio/vfio_spapr_eeh.c,
 * arch/powerpc/kernel/eeh.c): the per-PE state and VFIO_EEH_PE_OP.
 *
 * One FvSpapr is the kernel's struct tce_container: created by
 * VFIO_SET_IOMMU(VFIO_SPAPR_TCE_IOMMU or VFIO_SPAPR_TCE_v2_IOMMU), holding
 * the DMA windows (at most FV_SPAPR_MAX_WINDOWS, each with its TCE table),
 * the pre-registered memory (v2) and the mm (process) it is bound to.
 *
 * A v1 container models an IODA1-style PE (no dynamic windows): one group,
 * the PE's own 32-bit table, VFIO_IOMMU_ENABLE.  A v2 container models an
 * IODA2 PE (POWER8/9): tables are created by the container (the default
 * 32-bit one on first use, others with TCE_CREATE), memory is registered
 * first, several groups may share the windows.
 *
 * Locking: every entry point takes the FvSpapr's own mutex.  Lock order: a
 * sim device's lock first, then this one (fv_spapr_dma runs under the
 * device lock).  Nothing here calls into a device; the EEH ops reach the
 * devices through FvSpaprPeOps, which the caller must allow (vfio.c calls
 * fv_spapr_eeh_op with the graph lock only).
 */
#ifndef FAKEVFIO_SPAPR_H
#define FAKEVFIO_SPAPR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "type1.h"
#include "user.h"

enum {
	FV_SPAPR_TCE_V1 = 1,		/* VFIO_SPAPR_TCE_IOMMU offered */
	FV_SPAPR_TCE_V2 = 2,		/* VFIO_SPAPR_TCE_v2_IOMMU offered */
	FV_SPAPR_TCE_BOTH = 3,
	FV_SPAPR_MAX_WINDOWS = 2,	/* IOMMU_TABLE_GROUP_MAX_TABLES */
};

typedef struct FvSpaprConfig {
	unsigned tce;			/* FV_SPAPR_TCE_*: default BOTH */
	/* The PE's 32-bit window (tce32_start/size): default 0, 1 GiB. */
	uint64_t dma32_start, dma32_size;
	/* DDW (v2): IOMMU page sizes (default 4K|64K|16M), windows (2), levels (5). */
	uint64_t pgsizes;
	uint32_t max_windows, max_levels;
	/* Where window 1 starts (IODA2's TVE#1: bit 59). */
	uint64_t ddw_base;
	bool eeh;			/* eeh_enabled(): default true */
} FvSpaprConfig;

void fv_spapr_config_init(FvSpaprConfig *cfg);
/* Parse "v1", "v2" or "both" into FV_SPAPR_TCE_*; 0 for anything else. */
unsigned fv_spapr_tce_parse(const char *s);

typedef struct FvSpapr FvSpapr;

/*
 * CHECK_EXTENSION on a pseries host (s NULL before SET_IOMMU): the offered
 * sPAPR types 1, VFIO_EEH 1 when cfg->eeh, anything else 0.
 */
long fv_spapr_check_extension(const FvSpaprConfig *cfg, unsigned long ext);

/* tce_iommu_open: type 2 or 7 (else -EINVAL in *err). */
FvSpapr *fv_spapr_new(unsigned long type, const FvSpaprConfig *cfg, int *err);
/* tce_iommu_release: drop every TCE, window and registration, and free. */
void fv_spapr_free(FvSpapr *s);

/* tce_iommu_attach_group/detach_group for IOMMU group id: 0 or -errno. */
int fv_spapr_attach_group(FvSpapr *s, int group);
void fv_spapr_detach_group(FvSpapr *s, int group);

/*
 * A container ioctl once the sPAPR driver is set (not VFIO_EEH_PE_OP: see
 * fv_spapr_mm_check): 0 or -errno; arg is u's pointer.
 */
long fv_spapr_ioctl(FvSpapr *s, const FvUser *u, unsigned int cmd, uint64_t arg);
/* The "another mm" check every ioctl starts with: 0 or -EPERM. */
int fv_spapr_mm_check(FvSpapr *s, const FvUser *u);
/* The process the container is bound to (0: none yet). */
pid_t fv_spapr_mm(FvSpapr *s);

/*
 * A device DMA of len bytes at iova: every IOMMU page must be in a window
 * (else -EFAULT) with a live TCE (else -EFAULT) allowing the access (else
 * -EPERM); the whole range is checked before any byte moves, which then
 * moves with process_vm_readv/writev in the bound process (-EFAULT if that
 * fails: the memory went away, the process died).
 */
int fv_spapr_dma(FvSpapr *s, uint64_t iova, void *buf, size_t len, bool write);

/*
 * Every live TCE run (consecutive entries of one window whose user
 * addresses are contiguous and whose permissions are equal), in IOVA
 * order, as an FvType1Mapping: iova, size, vaddr (the user address of the
 * first entry), pid (the container's process), prot (the TCE's
 * READ|WRITE).  fn returns false to stop.  Returns the number visited.
 */
unsigned fv_spapr_foreach(FvSpapr *s, bool (*fn)(void *opaque, const FvType1Mapping *m),
			  void *opaque);

/* One window, for tests and dumps. */
typedef struct FvSpaprWindow {
	uint64_t start, size;
	unsigned page_shift, levels;
} FvSpaprWindow;
/* Window slot num (0 or 1): true and *w, or false when there is none. */
bool fv_spapr_window(FvSpapr *s, unsigned num, FvSpaprWindow *w);
/* The TCE of the IOMMU page containing iova: 0 when none (or outside). */
uint64_t fv_spapr_tce(FvSpapr *s, uint64_t iova, uint64_t *ua);

/* ---- EEH -------------------------------------------------------------- */

enum {
	FV_SPAPR_PE_MMIO_FROZEN = 1,
	FV_SPAPR_PE_DMA_FROZEN = 2,
	FV_SPAPR_PE_RESET = 4,		/* a reset is asserted */
};

/* A partitionable endpoint: one IOMMU group.  Zero-initialised = normal. */
typedef struct FvSpaprPe {
	atomic_uint state;		/* FV_SPAPR_PE_* */
} FvSpaprPe;

/* What an EEH op does to the devices of the PE. */
typedef struct FvSpaprPeOps {
	/* Reset every device of the PE (hot or fundamental). */
	void (*reset)(void *opaque, bool fundamental);
	/* The PE froze: fire every device's error (ERR) path. */
	void (*error)(void *opaque);
	void *opaque;
} FvSpaprPeOps;

/*
 * vfio_spapr_iommu_eeh_ioctl(VFIO_EEH_PE_OP) on one PE: reads the argument
 * from u, returns the op's result (GET_STATE: the VFIO_EEH_PE_STATE_*) or
 * -errno.
 */
long fv_spapr_eeh_op(FvSpaprPe *pe, const FvSpaprConfig *cfg, const FvSpaprPeOps *ops,
		     const FvUser *u, uint64_t arg);
/* VFIO_EEH_PE_STATE_* of the PE now. */
int fv_spapr_pe_state(const FvSpaprPe *pe);
bool fv_spapr_pe_mmio_frozen(const FvSpaprPe *pe);
bool fv_spapr_pe_dma_frozen(const FvSpaprPe *pe);

#endif

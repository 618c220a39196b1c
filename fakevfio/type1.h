/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/type1.h: the type1 IOMMU backend of a fake VFIO container, as
 * drivers/vfio/vfio_iommu_type1.c in Linux 6.1 behaves (vfio-abi.md §2.1
 * CHECK_EXTENSION column, §2.6 ioctls), errno by errno in the kernel's check
 * order, plus the device side: DMA from a simulated device translated through
 * the live mappings into the memory of the process that made them.
 *
 * One FvType1 is what the kernel's struct vfio_iommu is: created by
 * VFIO_SET_IOMMU (with at least one IOMMU-backed group attached), holding the
 * DMA mappings ("vfio_dma" entries, one per successful MAP_DMA call, never
 * merged), released when the last group leaves the container.
 *
 * Locking: every entry point takes the FvType1's own mutex; several threads
 * may MAP/UNMAP while others run device DMA.  Lock order: a sim device's lock
 * first, then this one (fv_type1_dma is called from SimHostOps.dma with the
 * device lock held).  Nothing here calls into a device.
 */
#ifndef FAKEVFIO_TYPE1_H
#define FAKEVFIO_TYPE1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "user.h"

enum {
	FV_TYPE1_MAX_RESV = 16,		/* reserved ranges in a config */
};

/* An inclusive IOVA range [start, end]. */
typedef struct FvType1Range {
	uint64_t start, end;
} FvType1Range;

typedef struct FvType1Config {
	/*
	 * Page sizes the IOMMU domain supports (struct iommu_domain's
	 * pgsize_bitmap).  Sub-4K sizes are collapsed to 4K as the kernel does
	 * (vfio_update_pgsize_bitmap).  Default 0x40201000: 4K, 2M and 1G, as
	 * Intel VT-d reports.  The smallest size is the MAP/UNMAP granule.
	 */
	uint64_t pgsize_bitmap;
	/* The domain's aperture (default 0 .. 2^48-1). */
	uint64_t aperture_start, aperture_end;
	/*
	 * Non-relaxable reserved regions, cut out of the aperture to give the
	 * valid IOVA ranges (GET_INFO's IOVA_RANGE cap, MAP_DMA's check).
	 * Default: the x86 MSI window 0xfee00000-0xfeefffff.
	 */
	FvType1Range reserved[FV_TYPE1_MAX_RESV];
	unsigned nr_reserved;
	/* The dma_entry_limit module parameter (default 65535). */
	unsigned dma_entry_limit;
	/* Every domain enforces cache coherency: CHECK_EXTENSION(DMA_CC). */
	bool enforce_cache_coherency;	/* default true */
	/*
	 * Dirty page reporting.  false (default) is what 6.1 does with an
	 * IOMMU-backed (vfio-pci) group in the container: such a group never
	 * declares a "pinned page dirty scope", so iommu->num_non_pinned_groups
	 * is nonzero and every page of every mapping is reported dirty by each
	 * GET_BITMAP and UNMAP_DMA(GET_DIRTY_BITMAP).  true reports only the
	 * pages device DMA wrote (fv_type1_dma) since START or since the
	 * mapping's last report, as 6.1 does for an emulated-IOMMU-only
	 * container whose device writes through vfio_dma_rw.
	 */
	bool dirty_device_writes;
	/*
	 * Testing: check MAP_DMA's vaddr range by parsing /proc/PID/maps
	 * text even where the PROCMAP_QUERY ioctl (Linux 6.11+) works.
	 */
	bool maps_text;
} FvType1Config;

/* One mapping, as the dump shows it. */
typedef struct FvType1Mapping {
	uint64_t iova, size;
	uint64_t vaddr;		/* in the memory of pid */
	pid_t pid;		/* the process that made the mapping (or set vaddr) */
	uint32_t prot;		/* VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE */
	bool vaddr_invalid;	/* UNMAP_DMA(VADDR) without MAP_DMA(VADDR) yet */
} FvType1Mapping;

typedef struct FvType1Stats {
	unsigned mappings;	/* vfio_dma entries */
	unsigned dma_avail;	/* dma_entry_limit - mappings */
	unsigned vaddr_invalid;	/* mappings whose vaddr is invalidated */
	bool dirty_tracking;	/* between DIRTY_PAGES START and STOP */
	uint64_t pgsize;	/* the smallest page size */
} FvType1Stats;

typedef struct FvType1 FvType1;

/* Fill cfg with the defaults described above. */
void fv_type1_config_init(FvType1Config *cfg);

/*
 * VFIO_SET_IOMMU's type1 open + first attach: type is VFIO_TYPE1_IOMMU (v1),
 * VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_NESTING_IOMMU (both v2).  cfg NULL means
 * defaults.  Fails on another type or a bad config (no page size, aperture
 * reversed, reserved regions covering the whole aperture: the kernel's
 * attach fails with EINVAL then).
 */
FvType1 *fv_type1_new(unsigned long type, const FvType1Config *cfg,
		      Error **errp);
void fv_type1_free(FvType1 *t);

/*
 * vfio_iommu_type1_check_extension: t is NULL before SET_IOMMU (the core
 * polls drivers with iommu_data NULL).  Returns 0 or 1.
 */
long fv_type1_check_extension(const FvType1 *t, unsigned long ext);

/*
 * A container ioctl once type1 is set: VFIO_IOMMU_GET_INFO, MAP_DMA,
 * UNMAP_DMA, DIRTY_PAGES (and VFIO_CHECK_EXTENSION, which the type1 driver
 * answers too); any other cmd -ENOTTY.  arg is the caller's pointer, read
 * and written in u's memory with the kernel's byte counts.  Returns 0 or a
 * negative errno.
 */
long fv_type1_ioctl(FvType1 *t, const FvUser *u, unsigned long cmd,
		    uint64_t arg);

/*
 * A device DMA of len bytes at iova: every IOVA page must be mapped (else
 * -EFAULT) with READ (read) or WRITE (write) permission (else -EPERM); the
 * whole range is validated before any byte moves.  The data moves with
 * process_vm_readv/writev in the memory of the process that made each
 * mapping; a write marks pages dirty while dirty tracking is on.
 */
int fv_type1_dma(FvType1 *t, uint64_t iova, void *buf, size_t len,
		 bool write);

/* The last group left the container: drop every mapping. */
void fv_type1_release(FvType1 *t);

/*
 * Emulated-IOMMU (mdev) groups in the container: with any, UNMAP_DMA(VADDR)
 * is EBUSY and CHECK_EXTENSION(UPDATE_VADDR) 0.  fakevfio has none; this is
 * for completeness of the ABI.
 */
void fv_type1_set_emulated_groups(FvType1 *t, unsigned n);

unsigned long fv_type1_type(const FvType1 *t);
void fv_type1_stats(FvType1 *t, FvType1Stats *st);
/* The mapping containing iova: true and *m (m may be NULL), or false. */
bool fv_type1_lookup(FvType1 *t, uint64_t iova, FvType1Mapping *m);
/*
 * Call fn for every mapping in IOVA order (with the lock held: fn must not
 * call into t); fn returns false to stop.  Returns the number visited.
 */
unsigned fv_type1_foreach(FvType1 *t,
			  bool (*fn)(void *opaque, const FvType1Mapping *m),
			  void *opaque);

#endif

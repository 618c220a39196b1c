/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/gmem: the guest machine's memory.
 *
 * A tree of regions (containers, RAM, MMIO with read/write callbacks,
 * aliases, IOMMU regions), address spaces that flatten a root region into
 * a sorted list of non-overlapping sections, listeners that see each
 * section appear (region_add) and disappear (region_del), and guest
 * accesses by address.  The behaviour is that of QEMU's memory API
 * (memory_region_*, address_space_*, memory_listener_*); the code and the
 * names are our own.
 *
 * Rules, as QEMU has them:
 *  - A subregion shadows whatever its container has below it.  Among
 *    siblings, the one with the higher priority wins where they overlap;
 *    at equal priority the one added (or moved) last wins.
 *  - A region that is not a pure container (RAM, MMIO, IOMMU) shows its own
 *    contents wherever none of its subregions does.
 *  - An alias shows a window [offset, offset + size) of its target; the
 *    target's own position in its container plays no part.
 *  - Every change to the tree recomputes the flat view of every address
 *    space (at the end of the outermost transaction, if one is open) and
 *    tells each listener what disappeared (region_del, listeners in reverse
 *    order) and then what appeared (region_add, in order).  Adjacent pieces
 *    of the same region with contiguous offsets are merged.
 *
 * Sizes are 64-bit: the largest region is UINT64_MAX bytes (QEMU's system
 * memory has that size too).  Devices are little-endian.  The model is
 * single-threaded: callers serialize.
 */
#ifndef CORE_GMEM_H
#define CORE_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct GMemRegion GMemRegion;
typedef struct GAddressSpace GAddressSpace;
typedef struct GMemListener GMemListener;
typedef struct GIommuNotifier GIommuNotifier;
typedef struct GFlatRange GFlatRange;

#define GMEM_NAME_MAX 64

typedef enum GMemRegionKind {
	GMEM_CONTAINER,		/* no contents of its own */
	GMEM_RAM,		/* host memory */
	GMEM_IO,		/* read/write callbacks */
	GMEM_ALIAS,		/* a window onto another region */
	GMEM_IOMMU,		/* translates, then accesses another space */
} GMemRegionKind;

/*
 * Callbacks of an MMIO region.  addr is the offset in the region, size is
 * 1, 2, 4 or 8; values are little-endian register values.
 *
 * valid_min/valid_max: the access sizes the bus accepts (0: 1 and 4).  A
 * guest access is cut into naturally aligned pieces no larger than
 * valid_max; a piece smaller than valid_min is refused (GMEM_BAD_ACCESS,
 * reads all-ones).
 * impl_min/impl_max: the sizes the callbacks handle (0: 1 and 4).  Larger
 * pieces are split into several calls; smaller ones are widened to an
 * aligned impl_min access (a write is then a read-modify-write).
 * read or write may be NULL: reads return all-ones, writes are dropped.
 */
typedef struct GMemOps {
	uint64_t (*read)(void *opaque, uint64_t addr, unsigned size);
	void (*write)(void *opaque, uint64_t addr, uint64_t val, unsigned size);
	unsigned valid_min, valid_max;
	unsigned impl_min, impl_max;
} GMemOps;

/* IOMMU permissions: bit 0 read, bit 1 write (QEMU's IOMMU_RO/WO/RW). */
typedef enum GIommuPerm {
	GIOMMU_NONE = 0,
	GIOMMU_RO = 1,
	GIOMMU_WO = 2,
	GIOMMU_RW = 3,
} GIommuPerm;

/*
 * One translation: the page [iova, iova + addr_mask] maps to
 * [translated_addr, translated_addr + addr_mask] in target_as with perm.
 * As a notifier event, perm GIOMMU_NONE means "unmapped".
 */
typedef struct GIommuTlbEntry {
	GAddressSpace *target_as;
	uint64_t iova;
	uint64_t translated_addr;
	uint64_t addr_mask;
	GIommuPerm perm;
} GIommuTlbEntry;

typedef struct GIommuOps {
	/* addr is the offset in the IOMMU region. */
	GIommuTlbEntry (*translate)(GMemRegion *iommu, uint64_t addr,
				    bool is_write, void *opaque);
	/*
	 * Optional (QEMU's IOMMUMemoryRegionClass.replay): tell n about every
	 * current mapping itself instead of a translate per page; for models
	 * whose windows are far larger than what is mapped.
	 */
	void (*replay)(GMemRegion *iommu, GIommuNotifier *n, void *opaque);
} GIommuOps;

/* Which events a notifier wants. */
#define GIOMMU_NOTIFY_MAP	1u
#define GIOMMU_NOTIFY_UNMAP	2u
#define GIOMMU_NOTIFY_ALL	3u

struct GIommuNotifier {
	void (*notify)(GIommuNotifier *n, const GIommuTlbEntry *entry);
	unsigned flags;		/* GIOMMU_NOTIFY_* */
	uint64_t start, last;	/* iova range of interest, inclusive */
	void *opaque;
	/* private */
	GMemRegion *iommu;
	GIommuNotifier *next;
};

struct GMemRegion {
	char name[GMEM_NAME_MAX];
	GMemRegionKind kind;
	uint64_t size;
	/* Placement in the container. */
	GMemRegion *container;
	uint64_t addr;
	int priority;
	bool enabled;
	bool readonly;
	/* Children, highest precedence first. */
	GMemRegion *subregions;
	GMemRegion *sibling;
	/* GMEM_RAM */
	void *ram;
	size_t ram_map_size;	/* nonzero when we mmap'ed it */
	/* GMEM_IO (ops) and GMEM_IOMMU (iommu_ops); both use opaque */
	const GMemOps *ops;
	const GIommuOps *iommu_ops;
	void *opaque;
	GIommuNotifier *notifiers;
	/* GMEM_ALIAS */
	GMemRegion *alias;
	uint64_t alias_offset;
	GMemRegion *alias_users;	/* aliases of this region */
	GMemRegion *alias_next;
};

/* A flat section, as listeners and lookups see it. */
typedef struct GMemSection {
	GMemRegion *mr;
	GAddressSpace *as;
	uint64_t offset_within_address_space;
	uint64_t size;
	uint64_t offset_within_region;
	bool readonly;
	bool is_ram;
	bool is_iommu;
	void *host;		/* RAM only: host address of the first byte */
} GMemSection;

struct GMemListener {
	void (*begin)(GMemListener *l);
	void (*commit)(GMemListener *l);
	void (*region_add)(GMemListener *l, const GMemSection *s);
	void (*region_del)(GMemListener *l, const GMemSection *s);
	int priority;		/* lower first for add, last for del */
	void *opaque;
	/* private */
	GAddressSpace *as;
	GMemListener *next;
};

struct GAddressSpace {
	char name[GMEM_NAME_MAX];
	GMemRegion *root;
	GFlatRange *ranges;
	size_t nranges;
	GMemListener *listeners;
	GAddressSpace *next;
	bool live;
};

/* Result of a guest access: GMEM_OK or an OR of the other bits. */
#define GMEM_OK			0u
#define GMEM_UNASSIGNED		(1u << 0)	/* nothing there */
#define GMEM_DENIED		(1u << 1)	/* IOMMU: no mapping or wrong permission */
#define GMEM_BAD_ACCESS		(1u << 2)	/* MMIO refused the access size */
#define GMEM_READONLY		(1u << 3)	/* write to read-only memory dropped */

/* ---- regions ---- */

void gmem_region_init_container(GMemRegion *mr, const char *name, uint64_t size);
/*
 * Guest RAM: size bytes of zeroed anonymous host memory, aligned to the
 * largest power of two up to GMEM_RAM_ALIGN (16 MiB) not above the size
 * rounded to pages, so that IOMMU pages up to 16 MiB have aligned backing.
 */
#define GMEM_RAM_ALIGN		(16ull << 20)
bool gmem_region_init_ram(GMemRegion *mr, const char *name, uint64_t size,
			  Error **errp);
/* RAM backed by caller memory (kept by the caller). */
void gmem_region_init_ram_ptr(GMemRegion *mr, const char *name, uint64_t size,
			      void *host);
void gmem_region_init_io(GMemRegion *mr, const char *name, uint64_t size,
			 const GMemOps *ops, void *opaque);
/* Window [offset, offset + size) of target. */
bool gmem_region_init_alias(GMemRegion *mr, const char *name,
			    GMemRegion *target, uint64_t offset, uint64_t size,
			    Error **errp);
void gmem_region_init_iommu(GMemRegion *mr, const char *name, uint64_t size,
			    const GIommuOps *ops, void *opaque);
/*
 * Take mr out of its container, detach its subregions, its aliases and its
 * IOMMU notifiers, bring every address space up to date (even inside a
 * transaction) and free the RAM we allocated.  Not from a listener callback.
 */
void gmem_region_destroy(GMemRegion *mr);

/* Priority 0. */
bool gmem_region_add_subregion(GMemRegion *container, uint64_t offset,
			       GMemRegion *sub, Error **errp);
bool gmem_region_add_subregion_overlap(GMemRegion *container, uint64_t offset,
				       GMemRegion *sub, int priority,
				       Error **errp);
/* No-op unless sub is a child of container. */
void gmem_region_del_subregion(GMemRegion *container, GMemRegion *sub);
void gmem_region_set_enabled(GMemRegion *mr, bool enabled);
/* Moving a region (to another address) re-inserts it: it then wins among equal priorities. */
void gmem_region_set_address(GMemRegion *mr, uint64_t addr);
void gmem_region_set_readonly(GMemRegion *mr, bool readonly);
void gmem_region_set_alias_offset(GMemRegion *mr, uint64_t offset);

static inline uint64_t gmem_region_size(const GMemRegion *mr) { return mr->size; }
static inline const char *gmem_region_name(const GMemRegion *mr) { return mr->name; }
static inline bool gmem_region_is_ram(const GMemRegion *mr) { return mr->kind == GMEM_RAM; }
static inline bool gmem_region_is_iommu(const GMemRegion *mr) { return mr->kind == GMEM_IOMMU; }
static inline bool gmem_region_enabled(const GMemRegion *mr) { return mr->enabled; }
static inline void *gmem_region_ram_ptr(const GMemRegion *mr)
{
	return mr->kind == GMEM_RAM ? mr->ram : NULL;
}

/* ---- transactions: changes inside are published once, at the end ---- */

void gmem_transaction_begin(void);
void gmem_transaction_commit(void);

/* ---- address spaces ---- */

void gmem_as_init(GAddressSpace *as, GMemRegion *root, const char *name);
/* Unregisters the listeners (each sees region_del of every section). */
void gmem_as_destroy(GAddressSpace *as);
size_t gmem_as_section_count(const GAddressSpace *as);
/* The i-th section in address order. */
bool gmem_as_section(GAddressSpace *as, size_t i, GMemSection *out);
/* The section containing addr (false: unassigned). */
bool gmem_as_find(GAddressSpace *as, uint64_t addr, GMemSection *out);

/*
 * Register l on as: l sees region_add for every existing section (begin,
 * adds in address order, commit), then every change.  Fails if l is
 * already registered or lacks both region callbacks.
 */
bool gmem_listener_register(GMemListener *l, GAddressSpace *as, Error **errp);
/* l sees region_del for every section (reverse order), then nothing. */
void gmem_listener_unregister(GMemListener *l);

/*
 * Resolve addr to a terminal region, walking through IOMMU regions.
 * Returns the RAM/MMIO region with *xlat the offset in it and *plen cut
 * to what stays in it (and in the IOMMU page); NULL when nothing is there
 * (*denied false) or an IOMMU refused (*denied true), *plen then being
 * the length of the hole.  denied may be NULL.
 */
GMemRegion *gmem_translate(GAddressSpace *as, uint64_t addr, bool is_write,
			   uint64_t *xlat, uint64_t *plen, bool *denied);

/*
 * A guest access of len bytes at addr: RAM is copied, MMIO goes through
 * the callbacks in the region's access sizes, holes read all-ones and drop
 * writes.  Returns GMEM_OK or an OR of GMEM_* bits.
 */
unsigned gmem_rw(GAddressSpace *as, uint64_t addr, void *buf, uint64_t len,
		 bool is_write);
static inline unsigned gmem_read(GAddressSpace *as, uint64_t addr, void *buf,
				 uint64_t len)
{
	return gmem_rw(as, addr, buf, len, false);
}
static inline unsigned gmem_write(GAddressSpace *as, uint64_t addr,
				  const void *buf, uint64_t len)
{
	return gmem_rw(as, addr, (void *)buf, len, true);
}
/* Little-endian values of 1, 2, 4 or 8 bytes. */
unsigned gmem_read_val(GAddressSpace *as, uint64_t addr, unsigned size,
		       uint64_t *val);
unsigned gmem_write_val(GAddressSpace *as, uint64_t addr, unsigned size,
			uint64_t val);

/* ---- IOMMU regions ---- */

/* Whole range, both events. */
void gmem_iommu_notifier_init(GIommuNotifier *n,
			      void (*notify)(GIommuNotifier *, const GIommuTlbEntry *),
			      unsigned flags, uint64_t start, uint64_t last,
			      void *opaque);
bool gmem_iommu_register_notifier(GMemRegion *iommu, GIommuNotifier *n,
				  Error **errp);
void gmem_iommu_unregister_notifier(GIommuNotifier *n);
unsigned gmem_iommu_notifier_count(const GMemRegion *iommu);
/*
 * The IOMMU model calls this when a translation changes: every notifier
 * whose range covers part of [iova, iova + addr_mask] and that wants the
 * event (perm NONE: unmap, else map) is called.
 */
void gmem_iommu_notify(GMemRegion *iommu, const GIommuTlbEntry *entry);
/* Translate addr (an offset in the IOMMU region) with the model. */
GIommuTlbEntry gmem_iommu_translate(GMemRegion *iommu, uint64_t addr,
				    bool is_write);
/*
 * Tell n about every current mapping in its range: the model's replay if
 * it has one, else translate each granularity-sized page and notify those
 * with a permission.
 */
void gmem_iommu_replay(GMemRegion *iommu, GIommuNotifier *n,
		       uint64_t granularity);

#endif

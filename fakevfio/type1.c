/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/type1.c: the type1 IOMMU backend (see type1.h), following
 * drivers/vfio/vfio_iommu_type1.c of Linux 6.1 (vfio-abi.md §2.6).
 *
 * Mappings live in a treap (a randomized balanced binary search tree keyed
 * by IOVA, with parent pointers): lookups, insertion and removal are
 * O(log n) expected, whatever order user space maps and unmaps in.  Mappings
 * never overlap, so ordering by first IOVA is also ordering by last IOVA.
 * Like the kernel's vfio_dma tree, there is one entry per MAP_DMA call:
 * adjacent mappings are never merged, which is what makes a v2 UNMAP_DMA
 * that splits the union of two adjacent maps at their seam legal and one
 * that splits a single map illegal.
 *
 * Where the fake departs from 6.1 (and why):
 * - "Pinning" (MAP_DMA step 11) checks that the caller's vaddr range is
 *   covered by VMAs with the needed permission (VM_WRITE for a WRITE map, as
 *   pin_user_pages_remote with FOLL_WRITE requires; VM_READ otherwise), via
 *   the PROCMAP_QUERY ioctl or /proc/PID/maps.  Nothing is pinned: pages
 *   are not faulted in, RLIMIT_MEMLOCK/locked_vm accounting (ENOMEM) is not
 *   modelled (the caller's locked_vm also counts its mlock()ed memory and
 *   other containers' pins, which the fake cannot see: faking it would
 *   only give false failures), and VM_PFNMAP/VM_IO areas are not told apart.
 * - Device DMA is process_vm_readv/writev into the mapping process's
 *   memory at the mapping's current vaddr, not into pinned pages.  So after
 *   UNMAP_DMA(VADDR), when the kernel's IOMMU would still reach the old
 *   pinned pages (and its vfio_dma_rw path fails with EBUSY), the fake has
 *   no pages to reach: DMA to an invalidated vaddr fails with -EFAULT until
 *   MAP_DMA(VADDR) supplies the new address.  Likewise DMA fails with
 *   -EFAULT when the mapping process died or unmapped the memory.
 * - Dirty reporting: see FvType1Config.dirty_device_writes.  6.1 keeps bits
 *   a report shifted past a mapping's end in its bitmap (bitmap_clear clears
 *   only the mapping's own bits), which can later surface as stray dirty
 *   bits beyond the mapping when a GET_BITMAP range starts at a bit offset
 *   that is not a multiple of 64; that quirk is not reproduced.
 * - Only the IOMMU-backed group model: no emulated-IOMMU (mdev) pinning,
 *   no attach/detach of further groups (the container's job).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "type1.h"

#define PAGE_4K			0x1000ull
/* x86-64 with 4-level page tables: access_ok()'s limit. */
#define TASK_SIZE_MAX		((1ull << 47) - PAGE_4K)
/* DIRTY_BITMAP_BYTES(n): n bits rounded up to whole u64 words, in bytes. */
#define DIRTY_BITMAP_BYTES(n)	((((uint64_t)(n) + 63) & ~63ull) / 8)
#define DIRTY_BITMAP_PAGES_MAX	((uint64_t)INT_MAX)
#define DIRTY_BITMAP_SIZE_MAX	DIRTY_BITMAP_BYTES(DIRTY_BITMAP_PAGES_MAX)
/* Bitmap words copied out per process_vm_writev. */
#define REPORT_CHUNK		2048

#define MAP_FLAGS	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | \
			 VFIO_DMA_MAP_FLAG_VADDR)
#define UNMAP_FLAGS	(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | \
			 VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)
#define DIRTY_FLAGS	(VFIO_IOMMU_DIRTY_PAGES_FLAG_START | \
			 VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP | \
			 VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP)

/* The 6.1 UAPI layouts this file relies on (vfio-abi.md §1.1). */
_Static_assert(sizeof(struct vfio_iommu_type1_info) == 24, "info");
_Static_assert(sizeof(struct vfio_iommu_type1_dma_map) == 32, "map");
_Static_assert(sizeof(struct vfio_iommu_type1_dma_unmap) == 24, "unmap");
_Static_assert(sizeof(struct vfio_bitmap) == 24, "bitmap");
_Static_assert(sizeof(struct vfio_iommu_type1_dirty_bitmap) == 8, "dirty");
_Static_assert(sizeof(struct vfio_iommu_type1_dirty_bitmap_get) == 40, "get");
_Static_assert(sizeof(struct vfio_iommu_type1_info_cap_migration) == 32, "mig");
_Static_assert(sizeof(struct vfio_iommu_type1_info_dma_avail) == 12, "avail");
_Static_assert(sizeof(struct vfio_iommu_type1_info_cap_iova_range) == 16, "iova");
_Static_assert(sizeof(struct vfio_iova_range) == 16, "range");

/*
 * The PROCMAP_QUERY ioctl on /proc/PID/maps (UAPI of Linux 6.11+; the
 * build machine's headers are older, so the layout is spelled out here).
 */
struct fv_procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
#define FV_PROCMAP_QUERY	_IOWR('f', 17, struct fv_procmap_query)
#define FV_PROCMAP_VMA_READABLE	0x01
#define FV_PROCMAP_VMA_WRITABLE	0x02

/* One vfio_dma: the result of one successful MAP_DMA. */
typedef struct FvDma {
	struct FvDma *left, *right, *parent;
	uint32_t prio;			/* treap heap key (min at the root) */
	uint64_t iova, size;
	uint64_t vaddr;
	pid_t pid;
	uint32_t prot;			/* VFIO_DMA_MAP_FLAG_READ/WRITE */
	bool vaddr_invalid;
	uint64_t *bitmap;		/* dirty pages (dirty_device_writes) */
} FvDma;

struct FvType1 {
	pthread_mutex_t lock;
	unsigned long type;
	bool v2;
	FvType1Config cfg;
	uint64_t pgsize_bitmap;
	unsigned pgshift;		/* log2 of the smallest page size */
	FvType1Range iovas[FV_TYPE1_MAX_RESV + 1];
	unsigned nr_iovas;
	FvDma *root;
	unsigned nr_dma;
	unsigned dma_avail;
	unsigned vaddr_invalid_count;
	unsigned emulated_groups;
	bool dirty_tracking;
	uint32_t rng;
	/* /proc/PID/maps of the last MAP_DMA caller, for PROCMAP_QUERY. */
	int maps_fd;
	pid_t maps_pid;
	bool no_procmap_query;
};

static inline uint64_t dma_last(const FvDma *d)
{
	return d->iova + d->size - 1;
}

static unsigned ffs64(uint64_t x)
{
	/* The kernel's __ffs; 64 for 0 (the kernel's is undefined there). */
	return x ? (unsigned)__builtin_ctzll(x) : 64;
}

static int uread(const FvUser *u, uint64_t addr, void *buf, size_t len)
{
	return fv_user_read(u, addr, buf, len) ? -EFAULT : 0;
}

static int uwrite(const FvUser *u, uint64_t addr, const void *buf, size_t len)
{
	return fv_user_write(u, addr, buf, len) ? -EFAULT : 0;
}

/* x86-64 access_ok(addr, size) of Linux 6.1. */
static bool access_ok(uint64_t addr, uint64_t size)
{
	return size <= TASK_SIZE_MAX && addr <= TASK_SIZE_MAX - size;
}

static int verify_bitmap_size(uint64_t npages, uint64_t bitmap_size)
{
	if (!npages || !bitmap_size || bitmap_size > DIRTY_BITMAP_SIZE_MAX ||
	    bitmap_size < DIRTY_BITMAP_BYTES(npages))
		return -EINVAL;
	return 0;
}

/* ---- the mapping tree ------------------------------------------------ */

static uint32_t next_prio(FvType1 *t)
{
	uint32_t x = t->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	t->rng = x;
	return x;
}

/* The first mapping whose last IOVA is >= x (in IOVA order), or NULL. */
static FvDma *dma_ceil(const FvType1 *t, uint64_t x)
{
	FvDma *n = t->root, *cand = NULL;

	while (n) {
		if (dma_last(n) >= x) {
			cand = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return cand;
}

static FvDma *dma_containing(const FvType1 *t, uint64_t x)
{
	FvDma *n = dma_ceil(t, x);

	return n && n->iova <= x ? n : NULL;
}

static FvDma *dma_overlapping(const FvType1 *t, uint64_t first, uint64_t last)
{
	FvDma *n = dma_ceil(t, first);

	return n && n->iova <= last ? n : NULL;
}

static FvDma *dma_first(const FvType1 *t)
{
	FvDma *n = t->root;

	while (n && n->left)
		n = n->left;
	return n;
}

static FvDma *dma_next(FvDma *n)
{
	if (n->right) {
		n = n->right;
		while (n->left)
			n = n->left;
		return n;
	}
	while (n->parent && n == n->parent->right)
		n = n->parent;
	return n->parent;
}

static void replace_child(FvType1 *t, FvDma *parent, FvDma *old, FvDma *new)
{
	if (!parent)
		t->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

/* Rotate x above its parent. */
static void rotate_up(FvType1 *t, FvDma *x)
{
	FvDma *p = x->parent, *g = p->parent;

	if (p->left == x) {
		p->left = x->right;
		if (x->right)
			x->right->parent = p;
		x->right = p;
	} else {
		p->right = x->left;
		if (x->left)
			x->left->parent = p;
		x->left = p;
	}
	p->parent = x;
	replace_child(t, g, p, x);
}

static void dma_link(FvType1 *t, FvDma *d)
{
	FvDma **link = &t->root, *parent = NULL;

	while (*link) {
		parent = *link;
		link = d->iova < parent->iova ? &parent->left : &parent->right;
	}
	d->left = d->right = NULL;
	d->parent = parent;
	*link = d;
	d->prio = next_prio(t);
	while (d->parent && d->parent->prio > d->prio)
		rotate_up(t, d);
	t->nr_dma++;
	t->dma_avail--;
}

static void dma_free(FvType1 *t, FvDma *d)
{
	if (d->vaddr_invalid)
		t->vaddr_invalid_count--;
	free(d->bitmap);
	free(d);
	t->nr_dma--;
	t->dma_avail++;
}

/* vfio_remove_dma: unlink (rotate down to a leaf, then cut) and free. */
static void dma_remove(FvType1 *t, FvDma *d)
{
	while (d->left || d->right) {
		FvDma *c;

		if (!d->left)
			c = d->right;
		else if (!d->right)
			c = d->left;
		else
			c = d->left->prio < d->right->prio ? d->left : d->right;
		rotate_up(t, c);
	}
	replace_child(t, d->parent, d, NULL);
	dma_free(t, d);
}

/* Drop every mapping (post-order walk, no rebalancing). */
static void dma_remove_all(FvType1 *t)
{
	FvDma *n = t->root;

	while (n) {
		if (n->left) {
			n = n->left;
		} else if (n->right) {
			n = n->right;
		} else {
			FvDma *p = n->parent;

			if (p) {
				if (p->left == n)
					p->left = NULL;
				else
					p->right = NULL;
			}
			dma_free(t, n);
			n = p;
		}
	}
	t->root = NULL;
}

static void fill_mapping(const FvDma *d, FvType1Mapping *m)
{
	m->iova = d->iova;
	m->size = d->size;
	m->vaddr = d->vaddr;
	m->pid = d->pid;
	m->prot = d->prot;
	m->vaddr_invalid = d->vaddr_invalid;
}

/* ---- dirty bitmaps ---------------------------------------------------- */

/*
 * vfio_dma_bitmap_alloc: more than INT_MAX pages is EINVAL (also when the
 * fake keeps no bitmap: in the 6.1 mode every page is dirty anyway).
 */
static int dma_bitmap_alloc(FvType1 *t, FvDma *d)
{
	uint64_t npages = d->size >> t->pgshift;

	if (npages > DIRTY_BITMAP_PAGES_MAX)
		return -EINVAL;
	if (!t->cfg.dirty_device_writes)
		return 0;
	d->bitmap = calloc((size_t)((npages + 63) / 64), sizeof(uint64_t));
	return d->bitmap ? 0 : -ENOMEM;
}

static void dma_bitmap_clear(const FvType1 *t, FvDma *d)
{
	if (d->bitmap)
		memset(d->bitmap, 0, (size_t)((d->size >> t->pgshift) + 63) / 64 *
		       sizeof(uint64_t));
}

static void dma_mark_dirty(FvType1 *t, FvDma *d, uint64_t off, uint64_t len)
{
	uint64_t first = off >> t->pgshift;
	uint64_t last = (off + len - 1) >> t->pgshift;

	if (!t->dirty_tracking || !d->bitmap)
		return;
	for (uint64_t b = first; b <= last; b++)
		d->bitmap[b / 64] |= 1ull << (b % 64);
}

/* Word k of the bitmap a report of d gives (nbits bits). */
static uint64_t report_word(const FvType1 *t, const FvDma *d, uint64_t k,
			    uint64_t nbits)
{
	uint64_t w;

	if (k * 64 >= nbits)
		return 0;
	/*
	 * 6.1 (update_user_bitmap): with an IOMMU-backed group in the
	 * container (num_non_pinned_groups) every page of an IOMMU-mapped
	 * vfio_dma is reported dirty.
	 */
	w = t->cfg.dirty_device_writes ? d->bitmap[k] : ~0ull;
	if (nbits - k * 64 < 64)
		w &= (1ull << (nbits - k * 64)) - 1;
	return w;
}

/*
 * update_user_bitmap: copy d's bits into the user bitmap at ubm, whose bit 0
 * is base_iova.  The words touched are written whole; when d starts inside a
 * word, that first word is read back and OR-ed in (the kernel's
 * copy_from_user of "leftover" and bitmap_or).
 */
static int report_dirty(const FvType1 *t, const FvUser *u, uint64_t ubm,
			const FvDma *d, uint64_t base_iova)
{
	uint64_t nbits = d->size >> t->pgshift;
	uint64_t bit = (d->iova - base_iova) >> t->pgshift;
	unsigned shift = bit % 64;
	uint64_t addr = ubm + bit / 64 * 8;
	uint64_t nwords = (nbits + shift + 63) / 64;
	uint64_t leftover = 0, buf[REPORT_CHUNK];

	if (shift && uread(u, addr, &leftover, sizeof(leftover)))
		return -EFAULT;
	for (uint64_t k = 0; k < nwords;) {
		size_t n = nwords - k < REPORT_CHUNK ? (size_t)(nwords - k)
						     : REPORT_CHUNK;

		for (size_t i = 0; i < n; i++) {
			uint64_t j = k + i, w = report_word(t, d, j, nbits);

			if (shift)
				w = (w << shift) |
				    (j ? report_word(t, d, j - 1, nbits) >>
					 (64 - shift) : leftover);
			buf[i] = w;
		}
		if (uwrite(u, addr + k * 8, buf, n * 8))
			return -EFAULT;
		k += n;
	}
	return 0;
}

/* ---- "pinning": is the caller's vaddr range mapped as needed? ---------- */

static int maps_open(FvType1 *t, pid_t pid)
{
	char path[40];

	if (t->maps_fd >= 0 && t->maps_pid == pid)
		return 0;
	if (t->maps_fd >= 0)
		close(t->maps_fd);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	t->maps_fd = open(path, O_RDONLY | O_CLOEXEC);
	t->maps_pid = pid;
	return t->maps_fd < 0 ? -EFAULT : 0;
}

/* PROCMAP_QUERY walk: 0, -EFAULT, or -ENOTTY/-ESRCH (try another way). */
static int check_range_query(FvType1 *t, uint64_t vaddr, uint64_t last,
			     bool write)
{
	uint64_t cur = vaddr;
	uint64_t need = write ? FV_PROCMAP_VMA_WRITABLE : FV_PROCMAP_VMA_READABLE;

	for (;;) {
		struct fv_procmap_query q;

		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_addr = cur;
		if (ioctl(t->maps_fd, FV_PROCMAP_QUERY, &q) < 0) {
			int err = errno;

			if (err == ENOTTY || err == ESRCH)
				return -err;
			return -EFAULT;		/* ENOENT: a hole */
		}
		if (!(q.vma_flags & need))
			return -EFAULT;
		if (q.vma_end - 1 >= last)
			return 0;
		cur = q.vma_end;
	}
}

/*
 * vfio_pin_map_dma's failure modes that matter here: a hole in the range or
 * a VMA without the permission pin_user_pages_remote needs -> EFAULT.
 */
static int check_user_range(FvType1 *t, pid_t pid, uint64_t vaddr,
			    uint64_t last, bool write)
{
	int ret = -EFAULT;

	if (!t->no_procmap_query && !t->cfg.maps_text) {
		for (int tries = 0; tries < 2; tries++) {
			if (maps_open(t, pid))
				return -EFAULT;
			ret = check_range_query(t, vaddr, last, write);
			if (ret != -ESRCH)
				break;
			/* A stale fd (the process exec'ed or the pid is new). */
			close(t->maps_fd);
			t->maps_fd = -1;
		}
		if (ret != -ENOTTY)
			return ret ? -EFAULT : 0;
		t->no_procmap_query = true;
	}
	return fv_user_check_range(pid, vaddr, last, write, NULL);	/* before 6.11 */
}

/* ---- construction ------------------------------------------------------ */

void fv_type1_config_init(FvType1Config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->pgsize_bitmap = 0x40201000;
	cfg->aperture_start = 0;
	cfg->aperture_end = (1ull << 48) - 1;
	cfg->reserved[0].start = 0xfee00000;
	cfg->reserved[0].end = 0xfeefffff;
	cfg->nr_reserved = 1;
	cfg->dma_entry_limit = 65535;
	cfg->enforce_cache_coherency = true;
}

/* The aperture minus the reserved regions (vfio_iommu_resv_exclude). */
static bool build_iovas(FvType1 *t, Error **errp)
{
	FvType1Range *r = t->iovas;
	unsigned n = 1;

	r[0].start = t->cfg.aperture_start;
	r[0].end = t->cfg.aperture_end;
	for (unsigned k = 0; k < t->cfg.nr_reserved; k++) {
		uint64_t rs = t->cfg.reserved[k].start, re = t->cfg.reserved[k].end;

		for (unsigned i = 0; i < n;) {
			FvType1Range cur = r[i];
			unsigned pieces = 0;

			if (rs > cur.end || re < cur.start) {
				i++;
				continue;
			}
			memmove(&r[i], &r[i + 1], (n - i - 1) * sizeof(*r));
			n--;
			if (rs > cur.start)
				pieces++;
			if (re < cur.end)
				pieces++;
			memmove(&r[i + pieces], &r[i], (n - i) * sizeof(*r));
			if (rs > cur.start) {
				r[i].start = cur.start;
				r[i].end = rs - 1;
				i++;
			}
			if (re < cur.end) {
				r[i].start = re + 1;
				r[i].end = cur.end;
				i++;
			}
			n += pieces;
		}
	}
	if (!n) {
		error_setg(errp, "type1: the reserved regions cover the whole "
			   "aperture (attach fails with EINVAL)");
		return false;
	}
	t->nr_iovas = n;
	return true;
}

FvType1 *fv_type1_new(unsigned long type, const FvType1Config *cfg,
		      Error **errp)
{
	FvType1 *t;

	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU &&
	    type != VFIO_TYPE1_NESTING_IOMMU) {
		error_setg(errp, "type1: IOMMU type %lu is not type1", type);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		error_setg(errp, "type1: out of memory");
		return NULL;
	}
	if (cfg)
		t->cfg = *cfg;
	else
		fv_type1_config_init(&t->cfg);
	if (!t->cfg.pgsize_bitmap) {
		error_setg(errp, "type1: empty page size bitmap");
		goto fail;
	}
	if (t->cfg.aperture_start > t->cfg.aperture_end) {
		error_setg(errp, "type1: aperture 0x%" PRIx64 "-0x%" PRIx64
			   " is reversed", t->cfg.aperture_start,
			   t->cfg.aperture_end);
		goto fail;
	}
	if (t->cfg.nr_reserved > FV_TYPE1_MAX_RESV) {
		error_setg(errp, "type1: more than %d reserved regions",
			   FV_TYPE1_MAX_RESV);
		goto fail;
	}
	for (unsigned k = 0; k < t->cfg.nr_reserved; k++) {
		if (t->cfg.reserved[k].start > t->cfg.reserved[k].end) {
			error_setg(errp, "type1: reserved region %u is reversed",
				   k);
			goto fail;
		}
	}
	if (!build_iovas(t, errp))
		goto fail;

	t->type = type;
	t->v2 = type != VFIO_TYPE1_IOMMU;
	/* vfio_update_pgsize_bitmap: sub-page sizes become PAGE_SIZE. */
	t->pgsize_bitmap = t->cfg.pgsize_bitmap;
	if (t->pgsize_bitmap & (PAGE_4K - 1)) {
		t->pgsize_bitmap &= ~(PAGE_4K - 1);
		t->pgsize_bitmap |= PAGE_4K;
	}
	t->pgshift = ffs64(t->pgsize_bitmap);
	t->dma_avail = t->cfg.dma_entry_limit;
	t->rng = 0x9e3779b9u;
	t->maps_fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	return t;

fail:
	free(t);
	return NULL;
}

void fv_type1_free(FvType1 *t)
{
	if (!t)
		return;
	dma_remove_all(t);
	if (t->maps_fd >= 0)
		close(t->maps_fd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void fv_type1_release(FvType1 *t)
{
	pthread_mutex_lock(&t->lock);
	dma_remove_all(t);
	pthread_mutex_unlock(&t->lock);
}

void fv_type1_set_emulated_groups(FvType1 *t, unsigned n)
{
	pthread_mutex_lock(&t->lock);
	t->emulated_groups = n;
	pthread_mutex_unlock(&t->lock);
}

/* ---- CHECK_EXTENSION ---------------------------------------------------- */

long fv_type1_check_extension(const FvType1 *t, unsigned long ext)
{
	FvType1 *m = (FvType1 *)t;	/* the lock is not part of the value */
	long ret;

	switch (ext) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_TYPE1_NESTING_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_UPDATE_VADDR:
		/* Disabled while emulated (mdev) groups are present. */
		if (!m)
			return 0;
		pthread_mutex_lock(&m->lock);
		ret = !m->emulated_groups;
		pthread_mutex_unlock(&m->lock);
		return ret;
	case VFIO_DMA_CC_IOMMU:
		return m ? m->cfg.enforce_cache_coherency : 0;
	default:
		return 0;
	}
}

/* ---- VFIO_IOMMU_GET_INFO ------------------------------------------------ */

static void put_cap_header(uint8_t *p, uint16_t id, uint32_t next)
{
	struct vfio_info_cap_header h = { .id = id, .version = 1, .next = next };

	memcpy(p, &h, sizeof(h));
}

static long get_info(FvType1 *t, const FvUser *u, uint64_t arg)
{
	struct vfio_iommu_type1_info info;
	struct vfio_iommu_type1_info_cap_migration mig;
	struct vfio_iommu_type1_info_dma_avail avail;
	struct vfio_iommu_type1_info_cap_iova_range iova;
	uint8_t caps[sizeof(mig) + sizeof(avail) + sizeof(iova) +
		     (FV_TYPE1_MAX_RESV + 1) * sizeof(struct vfio_iova_range)];
	size_t minsz = offsetof(struct vfio_iommu_type1_info, iova_pgsizes) + 8;
	const size_t base = sizeof(info);
	size_t off = 0;

	memset(&info, 0, sizeof(info));
	if (uread(u, arg, &info, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	/* For backward compatibility, cap_offset is only used when it fits. */
	if (info.argsz >= offsetof(struct vfio_iommu_type1_info, cap_offset) + 4) {
		minsz = offsetof(struct vfio_iommu_type1_info, cap_offset) + 4;
		info.cap_offset = 0;
	}

	memset(caps, 0, sizeof(caps));
	pthread_mutex_lock(&t->lock);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = t->pgsize_bitmap;

	/* Caps in build order, each exactly its sizeof (6.1: no padding). */
	memset(&mig, 0, sizeof(mig));
	mig.flags = 0;
	mig.pgsize_bitmap = 1ull << t->pgshift;
	mig.max_dirty_bitmap_size = DIRTY_BITMAP_SIZE_MAX;
	memcpy(caps + off, &mig, sizeof(mig));
	put_cap_header(caps + off, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
		       (uint32_t)(base + off + sizeof(mig)));
	off += sizeof(mig);

	memset(&avail, 0, sizeof(avail));
	avail.avail = t->dma_avail;
	memcpy(caps + off, &avail, sizeof(avail));
	/* IOVA_RANGE follows: nr_iovas is never 0 here. */
	put_cap_header(caps + off, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
		       (uint32_t)(base + off + sizeof(avail)));
	off += sizeof(avail);

	memset(&iova, 0, sizeof(iova));
	iova.nr_iovas = t->nr_iovas;
	memcpy(caps + off, &iova, sizeof(iova));
	put_cap_header(caps + off, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 0);
	off += sizeof(iova);
	for (unsigned i = 0; i < t->nr_iovas; i++) {
		struct vfio_iova_range r = {
			.start = t->iovas[i].start, .end = t->iovas[i].end,
		};

		memcpy(caps + off, &r, sizeof(r));
		off += sizeof(r);
	}
	pthread_mutex_unlock(&t->lock);

	info.flags |= VFIO_IOMMU_INFO_CAPS;
	if (info.argsz < base + off) {
		info.argsz = (uint32_t)(base + off);
	} else {
		if (uwrite(u, arg + base, caps, off))
			return -EFAULT;
		info.cap_offset = (uint32_t)base;
	}
	return uwrite(u, arg, &info, minsz);
}

/* ---- VFIO_IOMMU_MAP_DMA ------------------------------------------------- */

static bool iova_valid(const FvType1 *t, uint64_t first, uint64_t last)
{
	for (unsigned i = 0; i < t->nr_iovas; i++)
		if (first >= t->iovas[i].start && last <= t->iovas[i].end)
			return true;
	return false;
}

static long do_map(FvType1 *t, const FvUser *u,
		   const struct vfio_iommu_type1_dma_map *map)
{
	bool set_vaddr = map->flags & VFIO_DMA_MAP_FLAG_VADDR;
	uint32_t prot = map->flags & (VFIO_DMA_MAP_FLAG_READ |
				      VFIO_DMA_MAP_FLAG_WRITE);
	uint64_t iova = map->iova, vaddr = map->vaddr, size = map->size;
	uint64_t pgsize = 1ull << t->pgshift;
	FvDma *d;
	long ret = 0;

	if ((prot && set_vaddr) || (!prot && !set_vaddr))
		return -EINVAL;

	pthread_mutex_lock(&t->lock);
	if (!size || (size | iova | vaddr) & (pgsize - 1)) {
		ret = -EINVAL;
		goto out;
	}
	/* Don't allow IOVA or virtual address wrap. */
	if (iova + size - 1 < iova || vaddr + size - 1 < vaddr) {
		ret = -EINVAL;
		goto out;
	}

	d = dma_overlapping(t, iova, iova + size - 1);
	if (set_vaddr) {
		if (!d) {
			ret = -ENOENT;
		} else if (!d->vaddr_invalid || d->iova != iova ||
			   d->size != size) {
			ret = -EINVAL;
		} else {
			/* vfio_change_dma_owner: the caller owns it now. */
			d->vaddr = vaddr;
			d->pid = u->pid;
			d->vaddr_invalid = false;
			t->vaddr_invalid_count--;
		}
		goto out;
	}
	if (d) {
		ret = -EEXIST;
		goto out;
	}
	if (!t->dma_avail) {
		ret = -ENOSPC;
		goto out;
	}
	if (!iova_valid(t, iova, iova + size - 1)) {
		ret = -EINVAL;
		goto out;
	}
	ret = check_user_range(t, u->pid, vaddr, vaddr + size - 1,
			       prot & VFIO_DMA_MAP_FLAG_WRITE);
	if (ret)
		goto out;

	d = calloc(1, sizeof(*d));
	if (!d) {
		ret = -ENOMEM;
		goto out;
	}
	d->iova = iova;
	d->size = size;
	d->vaddr = vaddr;
	d->pid = u->pid;
	d->prot = prot;
	if (t->dirty_tracking) {
		/* Mapped, then removed again when the bitmap fails. */
		ret = dma_bitmap_alloc(t, d);
		if (ret) {
			free(d);
			goto out;
		}
	}
	dma_link(t, d);
out:
	pthread_mutex_unlock(&t->lock);
	return ret;
}

static long map_dma(FvType1 *t, const FvUser *u, uint64_t arg)
{
	struct vfio_iommu_type1_dma_map map;
	size_t minsz = offsetof(struct vfio_iommu_type1_dma_map, size) + 8;

	if (uread(u, arg, &map, minsz))
		return -EFAULT;
	if (map.argsz < minsz || map.flags & ~MAP_FLAGS)
		return -EINVAL;
	return do_map(t, u, &map);
}

/* ---- VFIO_IOMMU_UNMAP_DMA ----------------------------------------------- */

static long do_unmap(FvType1 *t, const FvUser *u,
		     struct vfio_iommu_type1_dma_unmap *unmap,
		     const struct vfio_bitmap *bitmap)
{
	uint64_t pgsize = 1ull << t->pgshift;
	uint64_t iova = unmap->iova, size = unmap->size, last, unmapped = 0;
	bool all = unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL;
	bool invalidate = unmap->flags & VFIO_DMA_UNMAP_FLAG_VADDR;
	bool dirty = unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	FvDma *d, *first;
	long ret = -EINVAL;

	pthread_mutex_lock(&t->lock);
	if (invalidate && t->emulated_groups) {
		ret = -EBUSY;
		goto out;
	}
	if (iova & (pgsize - 1))
		goto out;
	if (all) {
		if (iova || size)
			goto out;
		size = UINT64_MAX;
	} else if (!size || size & (pgsize - 1) || iova + size - 1 < iova) {
		/* (size > SIZE_MAX cannot happen on 64-bit) */
		goto out;
	}
	/* When dirty tracking is enabled, allow only the min page size. */
	if (dirty && (!t->dirty_tracking || bitmap->pgsize != pgsize))
		goto out;
	last = iova + size - 1;

	/*
	 * v2: the request must not bisect a mapping: whole mappings only, as
	 * user space created them (one per MAP_DMA, never merged).
	 */
	if (t->v2 && !all) {
		d = dma_containing(t, iova);
		if (d && d->iova != iova)
			goto out;
		d = dma_containing(t, last);
		if (d && d->iova < last && dma_last(d) != last)
			goto out;
	}

	ret = 0;
	d = first = dma_ceil(t, iova);
	while (d && d->iova <= last) {
		FvDma *next;

		/*
		 * v1: a request starting inside a mapping unmaps nothing
		 * (success, size 0); a mapping starting in the range goes
		 * entirely, even past the end of the request.
		 */
		if (!t->v2 && iova > d->iova)
			break;
		if (invalidate) {
			if (d->vaddr_invalid) {
				/* Already invalid: revert this call's work. */
				for (FvDma *r = first; r != d; r = dma_next(r)) {
					r->vaddr_invalid = false;
					t->vaddr_invalid_count--;
				}
				ret = -EINVAL;
				unmapped = 0;
				break;
			}
			d->vaddr_invalid = true;
			t->vaddr_invalid_count++;
			unmapped += d->size;
			d = dma_next(d);
			continue;
		}
		if (dirty) {
			ret = report_dirty(t, u, (uintptr_t)bitmap->data, d, iova);
			if (ret)
				break;
		}
		unmapped += d->size;
		next = dma_next(d);
		dma_remove(t, d);
		d = next;
	}
out:
	pthread_mutex_unlock(&t->lock);
	unmap->size = unmapped;
	return ret;
}

static long unmap_dma(FvType1 *t, const FvUser *u, uint64_t arg)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_bitmap bitmap;
	size_t minsz = offsetof(struct vfio_iommu_type1_dma_unmap, size) + 8;
	long ret;

	memset(&bitmap, 0, sizeof(bitmap));
	if (uread(u, arg, &unmap, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || unmap.flags & ~UNMAP_FLAGS)
		return -EINVAL;
	if ((unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
	    (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)))
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
		unsigned pgshift;

		if (unmap.argsz < minsz + sizeof(bitmap))
			return -EINVAL;
		if (uread(u, arg + minsz, &bitmap, sizeof(bitmap)))
			return -EFAULT;
		if (!access_ok((uintptr_t)bitmap.data, bitmap.size))
			return -EINVAL;
		pgshift = ffs64(bitmap.pgsize);
		if (verify_bitmap_size(pgshift < 64 ? unmap.size >> pgshift : 0,
				       bitmap.size))
			return -EINVAL;
	}
	ret = do_unmap(t, u, &unmap, &bitmap);
	if (ret)
		return ret;
	return uwrite(u, arg, &unmap, minsz);
}

/* ---- VFIO_IOMMU_DIRTY_PAGES --------------------------------------------- */

static long dirty_start(FvType1 *t)
{
	long ret = 0;

	pthread_mutex_lock(&t->lock);
	if (!t->dirty_tracking) {
		for (FvDma *d = dma_first(t); d; d = dma_next(d)) {
			ret = dma_bitmap_alloc(t, d);
			if (ret) {
				for (FvDma *p = dma_first(t); p != d;
				     p = dma_next(p)) {
					free(p->bitmap);
					p->bitmap = NULL;
				}
				break;
			}
		}
		if (!ret)
			t->dirty_tracking = true;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

static long dirty_stop(FvType1 *t)
{
	pthread_mutex_lock(&t->lock);
	if (t->dirty_tracking) {
		t->dirty_tracking = false;
		for (FvDma *d = dma_first(t); d; d = dma_next(d)) {
			free(d->bitmap);
			d->bitmap = NULL;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}

/* vfio_iova_dirty_bitmap, with the lock held and the range checked. */
static long dirty_report(FvType1 *t, const FvUser *u, uint64_t ubm,
			 uint64_t iova, uint64_t size)
{
	uint64_t last = iova + size - 1;
	FvDma *d;

	/* The range must fully cover the mappings it touches. */
	d = dma_containing(t, iova);
	if (d && d->iova != iova)
		return -EINVAL;
	d = dma_containing(t, last);
	if (d && d->iova < last && dma_last(d) != last)
		return -EINVAL;

	for (d = dma_ceil(t, iova); d && d->iova <= last; d = dma_next(d)) {
		int ret = report_dirty(t, u, ubm, d, iova);

		if (ret)
			return ret;
		/* Reported pages start clean again. */
		dma_bitmap_clear(t, d);
	}
	return 0;
}

static long dirty_get(FvType1 *t, const FvUser *u, uint64_t arg,
		      uint32_t argsz)
{
	struct vfio_iommu_type1_dirty_bitmap_get range;
	size_t hdr = sizeof(struct vfio_iommu_type1_dirty_bitmap);
	uint64_t pgsize;
	unsigned pgshift;
	long ret;

	if (argsz - hdr < sizeof(range))
		return -EINVAL;
	if (uread(u, arg + hdr, &range, sizeof(range)))
		return -EFAULT;
	if (range.iova + range.size < range.iova)
		return -EINVAL;
	if (!access_ok((uintptr_t)range.bitmap.data, range.bitmap.size))
		return -EINVAL;
	pgshift = ffs64(range.bitmap.pgsize);
	if (verify_bitmap_size(pgshift < 64 ? range.size >> pgshift : 0,
			       range.bitmap.size))
		return -EINVAL;

	pthread_mutex_lock(&t->lock);
	pgsize = 1ull << t->pgshift;
	if (range.bitmap.pgsize != pgsize ||		/* only the smallest */
	    range.iova & (pgsize - 1) ||
	    !range.size || range.size & (pgsize - 1) ||
	    !t->dirty_tracking)
		ret = -EINVAL;
	else
		ret = dirty_report(t, u, (uintptr_t)range.bitmap.data, range.iova,
				   range.size);
	pthread_mutex_unlock(&t->lock);
	return ret;
}

static long dirty_pages(FvType1 *t, const FvUser *u, uint64_t arg)
{
	struct vfio_iommu_type1_dirty_bitmap dirty;
	size_t minsz = sizeof(dirty);

	if (!t->v2)
		return -EACCES;
	if (uread(u, arg, &dirty, minsz))
		return -EFAULT;
	if (dirty.argsz < minsz || dirty.flags & ~DIRTY_FLAGS)
		return -EINVAL;
	/* Exactly one flag. */
	if (!dirty.flags || (dirty.flags & (dirty.flags - 1)))
		return -EINVAL;
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START)
		return dirty_start(t);
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP)
		return dirty_stop(t);
	return dirty_get(t, u, arg, dirty.argsz);
}

/* ---- dispatch ------------------------------------------------------------ */

long fv_type1_ioctl(FvType1 *t, const FvUser *u, unsigned long cmd,
		    uint64_t arg)
{
	switch (cmd) {
	case VFIO_CHECK_EXTENSION:
		return fv_type1_check_extension(t, (unsigned long)arg);
	case VFIO_IOMMU_GET_INFO:
		return get_info(t, u, arg);
	case VFIO_IOMMU_MAP_DMA:
		return map_dma(t, u, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return unmap_dma(t, u, arg);
	case VFIO_IOMMU_DIRTY_PAGES:
		return dirty_pages(t, u, arg);
	default:
		return -ENOTTY;
	}
}

/* ---- device DMA ---------------------------------------------------------- */

int fv_type1_dma(FvType1 *t, uint64_t iova, void *buf, size_t len,
		 bool write)
{
	uint32_t need = write ? VFIO_DMA_MAP_FLAG_WRITE : VFIO_DMA_MAP_FLAG_READ;
	uint64_t last, cur;
	size_t done;
	int ret = 0;

	if (!len)
		return 0;
	last = iova + len - 1;
	if (last < iova)
		return -EFAULT;

	pthread_mutex_lock(&t->lock);
	/* Translate and check every page before any byte moves. */
	for (cur = iova;;) {
		FvDma *d = dma_containing(t, cur);

		if (!d) {
			ret = -EFAULT;		/* IOMMU fault: not mapped */
			goto out;
		}
		if (!(d->prot & need)) {
			ret = -EPERM;		/* IOMMU fault: permission */
			goto out;
		}
		if (d->vaddr_invalid) {
			/*
			 * The kernel's IOMMU would still reach the old pinned
			 * pages (and vfio_dma_rw would say EBUSY); the fake has
			 * no address to reach until MAP_DMA(VADDR).
			 */
			ret = -EFAULT;
			goto out;
		}
		if (dma_last(d) >= last)
			break;
		cur = dma_last(d) + 1;
	}

	for (cur = iova, done = 0; done < len;) {
		FvDma *d = dma_containing(t, cur);
		uint64_t off = cur - d->iova;
		uint64_t room = dma_last(d) - cur + 1;
		size_t n = room < len - done ? (size_t)room : len - done;
		FvUser owner = { d->pid };
		char *p = (char *)buf + done;

		/*
		 * Not atomic like the hardware: a process that unmapped the
		 * memory (or died) makes the rest fail after earlier chunks.
		 */
		if (write ? uwrite(&owner, d->vaddr + off, p, n)
			  : uread(&owner, d->vaddr + off, p, n)) {
			ret = -EFAULT;
			goto out;
		}
		if (write)
			dma_mark_dirty(t, d, off, n);
		done += n;
		cur += n;
	}
out:
	pthread_mutex_unlock(&t->lock);
	return ret;
}

/* ---- inspection ---------------------------------------------------------- */

unsigned long fv_type1_type(const FvType1 *t)
{
	return t->type;
}

void fv_type1_stats(FvType1 *t, FvType1Stats *st)
{
	pthread_mutex_lock(&t->lock);
	st->mappings = t->nr_dma;
	st->dma_avail = t->dma_avail;
	st->vaddr_invalid = t->vaddr_invalid_count;
	st->dirty_tracking = t->dirty_tracking;
	st->pgsize = 1ull << t->pgshift;
	pthread_mutex_unlock(&t->lock);
}

bool fv_type1_lookup(FvType1 *t, uint64_t iova, FvType1Mapping *m)
{
	FvDma *d;

	pthread_mutex_lock(&t->lock);
	d = dma_containing(t, iova);
	if (d && m)
		fill_mapping(d, m);
	pthread_mutex_unlock(&t->lock);
	return d != NULL;
}

unsigned fv_type1_foreach(FvType1 *t,
			  bool (*fn)(void *opaque, const FvType1Mapping *m),
			  void *opaque)
{
	unsigned n = 0;

	pthread_mutex_lock(&t->lock);
	for (FvDma *d = dma_first(t); d; d = dma_next(d)) {
		FvType1Mapping m;

		fill_mapping(d, &m);
		n++;
		if (!fn(opaque, &m))
			break;
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

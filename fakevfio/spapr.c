/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/spapr.c: the sPAPR TCE IOMMU backend and EEH (see spapr.h),
 * following drivers/vfio/vfio_iommu_spapr_tce.c, drivers/vfio/
 * vfio_spapr_eeh.c, arch/powerpc/kernel/{iommu,eeh}.c,
 * arch/powerpc/mm/book3s64/iommu_api.c and the PowerNV IODA2 table code of
 * Linux 6.1 (vfio-abi.md §2.7).  Read for behaviour, no code copied.
 *
 * A window's TCE table is kept as runs: sorted, non-overlapping ranges of
 * entries whose user addresses are contiguous and whose permission bits are
 * equal (adjacent runs that could be one are merged).  A table of a 2^40
 * byte window costs nothing until it holds TCEs.
 *
 * Where the fake departs from 6.1 (and why):
 * - PAGE_SIZE is the machine's (4 KiB here), not ppc64's 64 KiB: it is the
 *   REGISTER/UNREGISTER_MEMORY alignment.
 * - "Pinning" checks that the range is mapped writable in the bound
 *   process (/proc/PID/maps; REGISTER_MEMORY and every v1 map pin with
 *   FOLL_WRITE in 6.1); nothing is pinned, locked_vm accounting
 *   (ENOMEM) is not modelled.  A registered region's largest IOMMU page is
 *   that of hugetlb-backed memory: the natural alignment of its address
 *   and size (mm_iommu_do_alloc's starting point); the fake cannot see
 *   huge pages, so a v2 map with IOMMU pages larger than that alignment is
 *   EINVAL and anything up to it works.
 * - Pre-registered memory is per container (the kernel keeps it per mm,
 *   shared by the containers of one process).
 * - MAP_DMA checks that the whole range fits the window (EINVAL); 6.1
 *   checks the first IOMMU page only and then writes past the table.
 *   TCE_CREATE refuses a window smaller than one IOMMU page (EINVAL; 6.1's
 *   arithmetic wraps).  A level table larger than 16 MiB (order 8 of 64 KiB
 *   pages, ppc64's allocation limit) is ENOMEM.
 * - A v1 container models an IODA1 PE, a v2 one an IODA2 PE: with
 *   tce=both the host accepts either (a real IODA2 host refuses a v1
 *   container with EPERM at attach).
 * - The mm is the caller's process id (an exec keeps it; a pid reused by
 *   another process after the bound one died would pass).
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "spapr.h"

enum {
	IOMMU_PAGE_SHIFT_4K = 12,
	MAX_LEVEL_SHIFT = 24,		/* 16 MiB per level table */
	EEH_ERR_TYPE_32 = 0,
	EEH_ERR_TYPE_64 = 1,
	EEH_ERR_FUNC_MAX = 19,
};

/* TCE permission bits (asm/tce.h). */
#define TCE_PCI_READ	0x1ULL
#define TCE_PCI_WRITE	0x2ULL

/* A run of live TCEs: entries idx .. idx+n-1 of a window (relative). */
typedef struct Run {
	uint64_t idx, n;
	uint64_t ua;			/* user address of entry idx */
	uint64_t perm;			/* TCE_PCI_READ | TCE_PCI_WRITE */
} Run;

typedef struct Window {
	bool live;
	uint64_t start;			/* bus address (it_offset << shift) */
	uint64_t entries;		/* it_size */
	unsigned shift, levels;
	Run *runs;
	size_t nruns, cap;
} Window;

/*
 * A pre-registered region (mm_iommu_table_group_mem_t).  listed: on the
 * container's prereg_list.  leaked: the mm holds a reference that no list
 * entry accounts for (an UNREGISTER that failed with EBUSY, see
 * register_memory); such a region stays until the container goes.
 */
typedef struct Mem {
	uint64_t ua, size;
	unsigned pageshift;
	bool listed, leaked;
} Mem;

struct FvSpapr {
	pthread_mutex_t lock;
	FvSpaprConfig cfg;
	bool v2, enabled, def_window_pending;
	pid_t mm;
	int *groups;
	unsigned ngroups;
	Window win[FV_SPAPR_MAX_WINDOWS];
	Mem *mems;
	size_t nmems;
};

static uint64_t page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (uint64_t)ps : 4096;
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static unsigned ilog2_64(uint64_t x)
{
	return 63 - (unsigned)__builtin_clzll(x);
}

/* ---- configuration ------------------------------------------------------ */

void fv_spapr_config_init(FvSpaprConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tce = FV_SPAPR_TCE_BOTH;
	cfg->dma32_start = 0;
	cfg->dma32_size = 1ULL << 30;
	cfg->pgsizes = (1ULL << 12) | (1ULL << 16) | (1ULL << 24);
	cfg->max_windows = FV_SPAPR_MAX_WINDOWS;
	cfg->max_levels = 5;
	cfg->ddw_base = 1ULL << 59;
	cfg->eeh = true;
}

unsigned fv_spapr_tce_parse(const char *s)
{
	if (!strcmp(s, "v1"))
		return FV_SPAPR_TCE_V1;
	if (!strcmp(s, "v2"))
		return FV_SPAPR_TCE_V2;
	if (!strcmp(s, "both"))
		return FV_SPAPR_TCE_BOTH;
	return 0;
}

long fv_spapr_check_extension(const FvSpaprConfig *cfg, unsigned long ext)
{
	switch (ext) {
	case VFIO_SPAPR_TCE_IOMMU:
		return !!(cfg->tce & FV_SPAPR_TCE_V1);
	case VFIO_SPAPR_TCE_v2_IOMMU:
		return !!(cfg->tce & FV_SPAPR_TCE_V2);
	case VFIO_EEH:
		return cfg->eeh ? 1 : 0;
	default:
		return 0;
	}
}

/* ---- TCE runs ----------------------------------------------------------- */

/* The first run whose last entry is >= idx (nruns when none). */
static size_t run_ceil(const Window *w, uint64_t idx)
{
	size_t lo = 0, hi = w->nruns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->runs[mid].idx + w->runs[mid].n - 1 < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool runs_reserve(Window *w, size_t more)
{
	Run *r;
	size_t cap;

	if (w->nruns + more <= w->cap)
		return true;
	cap = w->cap ? w->cap * 2 : 16;
	while (cap < w->nruns + more)
		cap *= 2;
	r = realloc(w->runs, cap * sizeof(*r));
	if (!r)
		return false;
	w->runs = r;
	w->cap = cap;
	return true;
}

/* Clear entries idx .. idx+n-1.  Returns false when out of memory. */
static bool tce_clear(Window *w, uint64_t idx, uint64_t n)
{
	uint64_t last = idx + n - 1;
	size_t i;

	if (!n)
		return true;
	i = run_ceil(w, idx);
	while (i < w->nruns && w->runs[i].idx <= last) {
		Run *r = &w->runs[i];
		uint64_t rlast = r->idx + r->n - 1;
		uint64_t ps = 1ULL << w->shift;

		if (r->idx < idx && rlast > last) {
			/* Split in two around the hole. */
			if (!runs_reserve(w, 1))
				return false;
			r = &w->runs[i];
			memmove(r + 1, r, (w->nruns - i) * sizeof(*r));
			w->nruns++;
			r[1].idx = last + 1;
			r[1].n = rlast - last;
			r[1].ua = r->ua + (last + 1 - r->idx) * ps;
			r->n = idx - r->idx;
			return true;
		}
		if (r->idx < idx) {
			r->n = idx - r->idx;		/* keep the head */
			i++;
		} else if (rlast > last) {
			r->ua += (last + 1 - r->idx) * ps;	/* keep the tail */
			r->n = rlast - last;
			r->idx = last + 1;
			i++;
		} else {
			memmove(r, r + 1, (w->nruns - i - 1) * sizeof(*r));
			w->nruns--;
		}
	}
	return true;
}

static bool runs_join(const Window *w, const Run *a, const Run *b)
{
	return a->idx + a->n == b->idx && a->perm == b->perm &&
	       a->ua + (a->n << w->shift) == b->ua;
}

/* Write n TCEs from idx: ua, ua + page, ... with perm. */
static bool tce_set(Window *w, uint64_t idx, uint64_t n, uint64_t ua, uint64_t perm)
{
	size_t i;
	Run run = { idx, n, ua, perm };

	if (!n)
		return true;
	if (!tce_clear(w, idx, n) || !runs_reserve(w, 1))
		return false;
	i = run_ceil(w, idx);
	if (i > 0 && runs_join(w, &w->runs[i - 1], &run)) {
		w->runs[i - 1].n += n;
		i--;
	} else {
		memmove(&w->runs[i + 1], &w->runs[i], (w->nruns - i) * sizeof(Run));
		w->runs[i] = run;
		w->nruns++;
	}
	if (i + 1 < w->nruns && runs_join(w, &w->runs[i], &w->runs[i + 1])) {
		w->runs[i].n += w->runs[i + 1].n;
		memmove(&w->runs[i + 1], &w->runs[i + 2], (w->nruns - i - 2) * sizeof(Run));
		w->nruns--;
	}
	return true;
}

static const Run *tce_lookup(const Window *w, uint64_t idx)
{
	size_t i = run_ceil(w, idx);

	return i < w->nruns && w->runs[i].idx <= idx ? &w->runs[i] : NULL;
}

static void window_free(Window *w)
{
	free(w->runs);
	memset(w, 0, sizeof(*w));
}

/* tce_iommu_find_table: the window whose entries cover ioba. */
static int find_table(FvSpapr *s, uint64_t ioba)
{
	for (int i = 0; i < FV_SPAPR_MAX_WINDOWS; i++) {
		const Window *w = &s->win[i];

		if (w->live && ioba >= w->start &&
		    ((ioba - w->start) >> w->shift) < w->entries)
			return i;
	}
	return -1;
}

/* ---- construction -------------------------------------------------------- */

FvSpapr *fv_spapr_new(unsigned long type, const FvSpaprConfig *cfg, int *err)
{
	FvSpapr *s;

	if (type != VFIO_SPAPR_TCE_IOMMU && type != VFIO_SPAPR_TCE_v2_IOMMU) {
		*err = -EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	if (cfg)
		s->cfg = *cfg;
	else
		fv_spapr_config_init(&s->cfg);
	s->v2 = type == VFIO_SPAPR_TCE_v2_IOMMU;
	return s;
}

void fv_spapr_free(FvSpapr *s)
{
	if (!s)
		return;
	for (int i = 0; i < FV_SPAPR_MAX_WINDOWS; i++)
		window_free(&s->win[i]);
	free(s->mems);
	free(s->groups);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The PE's own 32-bit table (IODA1: the container takes it over). */
static void default_table(FvSpapr *s, Window *w)
{
	memset(w, 0, sizeof(*w));
	w->live = true;
	w->start = s->cfg.dma32_start;
	w->shift = IOMMU_PAGE_SHIFT_4K;
	w->entries = s->cfg.dma32_size >> IOMMU_PAGE_SHIFT_4K;
	w->levels = 1;
}

int fv_spapr_attach_group(FvSpapr *s, int group)
{
	int *g;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	/* An IODA1 PE has no take_ownership op: one group per container. */
	if (!s->v2 && s->ngroups) {
		ret = -EBUSY;
		goto out;
	}
	for (unsigned i = 0; i < s->ngroups; i++) {
		if (s->groups[i] == group) {
			ret = -EBUSY;
			goto out;
		}
	}
	g = realloc(s->groups, (s->ngroups + 1) * sizeof(*g));
	if (!g) {
		ret = -ENOMEM;
		goto out;
	}
	s->groups = g;
	if (!s->v2) {
		/* tce_iommu_take_ownership: the PE's table becomes the container's. */
		window_free(&s->win[0]);
		default_table(s, &s->win[0]);
	} else if (!s->ngroups && !s->win[0].live) {
		s->def_window_pending = true;
	}
	s->groups[s->ngroups++] = group;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void fv_spapr_detach_group(FvSpapr *s, int group)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->ngroups; i++) {
		if (s->groups[i] != group)
			continue;
		memmove(&s->groups[i], &s->groups[i + 1],
			(s->ngroups - i - 1) * sizeof(*s->groups));
		s->ngroups--;
		/* tce_iommu_release_ownership: v1 gives the table back, cleared. */
		if (!s->v2)
			for (int k = 0; k < FV_SPAPR_MAX_WINDOWS; k++)
				window_free(&s->win[k]);
		break;
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- windows -------------------------------------------------------------- */

static long create_window(FvSpapr *s, uint32_t page_shift, uint64_t window_size,
			  uint32_t levels, uint64_t *start)
{
	unsigned entries_shift, level_shift;
	int num = -1;
	Window *w;

	for (int i = 0; i < FV_SPAPR_MAX_WINDOWS; i++) {
		if (!s->win[i].live) {
			num = i;
			break;
		}
	}
	if (num < 0)
		return -ENOSPC;
	if (page_shift >= 64 || !(s->cfg.pgsizes & (1ULL << page_shift)))
		return -EINVAL;
	/* get_table_size == 0 */
	if (!levels || levels > s->cfg.max_levels || !is_pow2(window_size))
		return -EINVAL;
	if (ilog2_64(window_size) < page_shift)
		return -EINVAL;
	entries_shift = ilog2_64(window_size) - page_shift;
	entries_shift = (entries_shift + levels - 1) / levels;
	level_shift = entries_shift + 3;
	if (level_shift < 12)
		level_shift = 12;
	/* pnv_pci_ioda2_table_alloc_pages */
	if ((level_shift - 3) * levels + page_shift >= 55)
		return -EINVAL;
	if (level_shift > MAX_LEVEL_SHIFT)
		return -ENOMEM;
	w = &s->win[num];
	memset(w, 0, sizeof(*w));
	w->live = true;
	w->start = num ? s->cfg.ddw_base : s->cfg.dma32_start;
	w->shift = page_shift;
	w->entries = window_size >> page_shift;
	w->levels = levels;
	*start = w->start;
	return 0;
}

static long create_default_window(FvSpapr *s)
{
	uint64_t start;
	long ret;

	if (!s->def_window_pending)
		return 0;
	if (!s->ngroups)
		return -ENODEV;
	ret = create_window(s, IOMMU_PAGE_SHIFT_4K, s->cfg.dma32_size, 1, &start);
	if (!ret)
		s->def_window_pending = false;
	return ret;
}

/* ---- the ioctls ------------------------------------------------------------ */

static int mm_set(FvSpapr *s, const FvUser *u)
{
	if (s->mm)
		return s->mm == u->pid ? 0 : -EPERM;
	s->mm = u->pid;
	return 0;
}

static long get_info(FvSpapr *s, const FvUser *u, uint64_t arg)
{
	struct vfio_iommu_spapr_tce_info info;
	size_t minsz = offsetof(struct vfio_iommu_spapr_tce_info, ddw);

	if (!s->ngroups)
		return -ENXIO;
	memset(&info, 0, sizeof(info));
	if (fv_user_read(u, arg, &info, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	info.dma32_window_start = (uint32_t)s->cfg.dma32_start;
	info.dma32_window_size = (uint32_t)s->cfg.dma32_size;
	info.flags = 0;
	memset(&info.ddw, 0, sizeof(info.ddw));
	if (s->v2 && s->cfg.max_windows) {
		info.flags |= VFIO_IOMMU_SPAPR_INFO_DDW;
		info.ddw.pgsizes = s->cfg.pgsizes;
		info.ddw.max_dynamic_windows_supported = s->cfg.max_windows;
		info.ddw.levels = s->cfg.max_levels;
	}
	if (info.argsz >= sizeof(info))
		minsz = sizeof(info);
	return fv_user_write(u, arg, &info, minsz) ? -EFAULT : 0;
}

/* The registered region holding [ua, ua + len) (mm_iommu_lookup). */
static const Mem *mem_lookup(const FvSpapr *s, uint64_t ua, uint64_t len)
{
	for (size_t i = 0; i < s->nmems; i++) {
		const Mem *m = &s->mems[i];

		/* (6.1 adds without a wrap check; ua_to_hpa then refuses.) */
		if (m->ua <= ua && ua - m->ua < m->size && len <= m->size - (ua - m->ua))
			return m;
	}
	return NULL;
}

static long map_dma(FvSpapr *s, const FvUser *u, uint64_t arg)
{
	struct vfio_iommu_type1_dma_map p;
	uint64_t ps, idx, npages, perm, i = 0, bad;
	Window *w;
	long ret;
	int num;

	if (!s->enabled)
		return -EPERM;
	if (fv_user_read(u, arg, &p, sizeof(p)))
		return -EFAULT;
	if (p.argsz < sizeof(p))
		return -EINVAL;
	if (p.flags & ~(uint32_t)(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))
		return -EINVAL;
	ret = create_default_window(s);
	if (ret)
		return ret;
	num = find_table(s, p.iova);
	if (num < 0)
		return -ENXIO;
	w = &s->win[num];
	ps = 1ULL << w->shift;
	if ((p.size & (ps - 1)) || (p.vaddr & (ps - 1)))
		return -EINVAL;
	if (!(p.flags & (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)))
		return -EINVAL;
	/*
	 * iommu_tce_put_param_check is `check_ioba(..) || check_gpa(..)`: a
	 * failure is the value 1, which the ioctl returns as it is (no
	 * errno).  Only the first page is its business (find_table already
	 * put it in the window), so an unaligned iova is the one way here.
	 */
	if (p.iova & (ps - 1))
		return 1;
	/* The rest of the range must fit too (see the top). */
	idx = (p.iova - w->start) >> w->shift;
	npages = p.size >> w->shift;
	if (idx + npages < idx || idx + npages > w->entries)
		return -EINVAL;
	if (!npages)
		return 0;
	/* pnv_tce_xchg: a writable TCE is readable too. */
	perm = p.flags & VFIO_DMA_MAP_FLAG_WRITE ? TCE_PCI_READ | TCE_PCI_WRITE : TCE_PCI_READ;
	if (s->v2) {
		/* tce_iommu_build_v2: each page inside registered memory. */
		for (i = 0; i < npages; i++) {
			const Mem *m = mem_lookup(s, p.vaddr + (i << w->shift), ps);

			if (!m || w->shift > m->pageshift) {
				ret = -EINVAL;
				break;
			}
		}
	} else if (fv_user_check_range(s->mm, p.vaddr, p.vaddr + p.size - 1 < p.vaddr ?
				    UINT64_MAX : p.vaddr + p.size - 1, true, &bad)) {
		/*
		 * tce_iommu_build: pin_user_pages_fast failed at page i.  It
		 * pins with FOLL_WRITE whatever the direction: 6.1 passes the
		 * user address to tce_iommu_use_page as if it were a TCE, whose
		 * permission bits (the address's low bits) are then 0, and
		 * DMA_NONE is not DMA_TO_DEVICE.
		 */
		i = (bad - p.vaddr) >> w->shift;
		ret = -EFAULT;
	}
	if (ret) {
		/* The pages before the failing one were written, then cleared. */
		if (!tce_clear(w, idx, i))
			return -ENOMEM;
		return ret;
	}
	return tce_set(w, idx, npages, p.vaddr, perm) ? 0 : -ENOMEM;
}

static long unmap_dma(FvSpapr *s, const FvUser *u, uint64_t arg)
{
	struct vfio_iommu_type1_dma_unmap p;
	uint64_t ps, idx, npages;
	Window *w;
	long ret;
	int num;

	if (!s->enabled)
		return -EPERM;
	if (fv_user_read(u, arg, &p, sizeof(p)))
		return -EFAULT;
	if (p.argsz < sizeof(p))
		return -EINVAL;
	if (p.flags)
		return -EINVAL;
	ret = create_default_window(s);
	if (ret)
		return ret;
	num = find_table(s, p.iova);
	if (num < 0)
		return -ENXIO;
	w = &s->win[num];
	ps = 1ULL << w->shift;
	if (p.size & (ps - 1))
		return -EINVAL;
	/* iommu_tce_clear_param_check: a `||` too, so a failure returns 1. */
	if (p.iova & (ps - 1))
		return 1;
	idx = (p.iova - w->start) >> w->shift;
	npages = p.size >> w->shift;
	if (idx + npages < idx || idx + npages > w->entries)
		return 1;
	/* Nothing is written back (size stays what the caller said). */
	return tce_clear(w, idx, npages) ? 0 : -ENOMEM;
}

static bool mem_mapped(const FvSpapr *s, const Mem *m)
{
	for (int k = 0; k < FV_SPAPR_MAX_WINDOWS; k++) {
		const Window *w = &s->win[k];

		for (size_t i = 0; w->live && i < w->nruns; i++) {
			const Run *r = &w->runs[i];
			uint64_t end = r->ua + (r->n << w->shift);

			if (r->ua < m->ua + m->size && m->ua < end)
				return true;
		}
	}
	return false;
}

static long register_memory(FvSpapr *s, const FvUser *u, uint64_t arg, bool reg)
{
	struct vfio_iommu_spapr_register_memory p;
	uint64_t pg = page_size(), bad;
	Mem *m;
	long ret;

	if (!s->v2)
		return -ENOTTY;
	if (reg) {
		ret = mm_set(s, u);
		if (ret)
			return ret;
	} else if (!s->mm) {
		return -EPERM;
	}
	if (fv_user_read(u, arg, &p, sizeof(p)))
		return -EFAULT;
	if (p.argsz < sizeof(p) || p.flags)
		return -EINVAL;
	if ((p.vaddr & (pg - 1)) || (p.size & (pg - 1)) || (reg && p.vaddr + p.size < p.vaddr))
		return -EINVAL;
	for (size_t i = 0; i < s->nmems; i++) {
		m = &s->mems[i];
		if (m->ua != p.vaddr || m->size != p.size)
			continue;
		if (reg) {
			/* mm_iommu_get found it: ours already, or (leaked) taken back. */
			if (m->listed)
				return -EBUSY;
			m->listed = true;
			s->enabled = true;
			return 0;
		}
		if (!m->listed)
			return -ENOENT;
		/*
		 * 6.1 drops the container's reference (tce_iommu_prereg_free:
		 * mm_iommu_put, then the list entry goes) before it drops the
		 * one mm_iommu_get took; only that last put sees the TCEs and
		 * says EBUSY.  So an EBUSY leaves the region registered in the
		 * mm (maps into it still work, an overlapping REGISTER is
		 * EINVAL) but off the container's list (UNREGISTER: ENOENT,
		 * REGISTER of the same range: 0); once leaked, a later
		 * UNREGISTER only takes it off the list again.
		 */
		m->listed = false;
		if (m->leaked)
			return 0;
		if (mem_mapped(s, m)) {
			m->leaked = true;
			return -EBUSY;
		}
		memmove(m, m + 1, (s->nmems - i - 1) * sizeof(*m));
		s->nmems--;
		return 0;
	}
	if (!reg)
		return -ENOENT;
	/*
	 * mm_iommu_new (mm_iommu_do_alloc): a size of 0 asks vzalloc for 0
	 * bytes, which fails: ENOMEM.  Then pin (FOLL_WRITE) every page,
	 * then no overlap.
	 */
	if (!p.size)
		return -ENOMEM;
	if (fv_user_check_range(s->mm, p.vaddr, p.vaddr + p.size - 1, true, &bad))
		return -EFAULT;
	for (size_t i = 0; i < s->nmems; i++)
		if (s->mems[i].ua < p.vaddr + p.size && p.vaddr < s->mems[i].ua + s->mems[i].size)
			return -EINVAL;
	m = realloc(s->mems, (s->nmems + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	s->mems = m;
	m = &s->mems[s->nmems++];
	m->ua = p.vaddr;
	m->size = p.size;
	m->pageshift = (unsigned)__builtin_ctzll(p.vaddr | p.size | (1ULL << 63));
	m->listed = true;
	m->leaked = false;
	s->enabled = true;
	return 0;
}

static long enable(FvSpapr *s, const FvUser *u)
{
	if (s->v2)
		return -ENOTTY;
	if (s->enabled)
		return -EBUSY;
	if (!s->ngroups)
		return -ENODEV;
	if (!s->cfg.dma32_size)
		return -EPERM;
	if (mm_set(s, u))
		return -EPERM;
	s->enabled = true;
	return 0;
}

static long tce_create(FvSpapr *s, const FvUser *u, uint64_t arg)
{
	struct vfio_iommu_spapr_tce_create c;
	uint64_t start = 0;
	long ret;

	if (!s->v2)
		return -ENOTTY;
	if (mm_set(s, u))
		return -EPERM;
	if (!s->ngroups)
		return -ENXIO;
	if (fv_user_read(u, arg, &c, sizeof(c)))
		return -EFAULT;
	if (c.argsz < sizeof(c) || c.flags)
		return -EINVAL;
	ret = create_default_window(s);
	if (!ret)
		ret = create_window(s, c.page_shift, c.window_size, c.levels, &start);
	if (!ret)
		c.start_addr = start;
	if (!ret && fv_user_write(u, arg, &c, sizeof(c)))
		ret = -EFAULT;
	return ret;
}

static long tce_remove(FvSpapr *s, const FvUser *u, uint64_t arg)
{
	struct vfio_iommu_spapr_tce_remove r;
	int num;

	if (!s->v2)
		return -ENOTTY;
	if (mm_set(s, u))
		return -EPERM;
	if (!s->ngroups)
		return -ENXIO;
	if (fv_user_read(u, arg, &r, sizeof(r)))
		return -EFAULT;
	if (r.argsz < sizeof(r) || r.flags)
		return -EINVAL;
	if (s->def_window_pending && !r.start_addr) {
		s->def_window_pending = false;
		return 0;
	}
	num = find_table(s, r.start_addr);
	if (num < 0)
		return -EINVAL;
	window_free(&s->win[num]);
	return 0;
}

int fv_spapr_mm_check(FvSpapr *s, const FvUser *u)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = s->mm && s->mm != u->pid ? -EPERM : 0;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

pid_t fv_spapr_mm(FvSpapr *s)
{
	pid_t mm;

	pthread_mutex_lock(&s->lock);
	mm = s->mm;
	pthread_mutex_unlock(&s->lock);
	return mm;
}

long fv_spapr_ioctl(FvSpapr *s, const FvUser *u, unsigned int cmd, uint64_t arg)
{
	long ret;

	if (cmd == VFIO_CHECK_EXTENSION)
		return fv_spapr_check_extension(&s->cfg, (unsigned long)arg);
	pthread_mutex_lock(&s->lock);
	if (s->mm && s->mm != u->pid) {
		ret = -EPERM;
		goto out;
	}
	switch (cmd) {
	case VFIO_IOMMU_SPAPR_TCE_GET_INFO:
		ret = get_info(s, u, arg);
		break;
	case VFIO_IOMMU_MAP_DMA:
		ret = map_dma(s, u, arg);
		break;
	case VFIO_IOMMU_UNMAP_DMA:
		ret = unmap_dma(s, u, arg);
		break;
	case VFIO_IOMMU_SPAPR_REGISTER_MEMORY:
		ret = register_memory(s, u, arg, true);
		break;
	case VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY:
		ret = register_memory(s, u, arg, false);
		break;
	case VFIO_IOMMU_ENABLE:
		ret = enable(s, u);
		break;
	case VFIO_IOMMU_DISABLE:
		ret = s->v2 ? -ENOTTY : 0;
		if (!s->v2)
			s->enabled = false;
		break;
	case VFIO_IOMMU_SPAPR_TCE_CREATE:
		ret = tce_create(s, u, arg);
		break;
	case VFIO_IOMMU_SPAPR_TCE_REMOVE:
		ret = tce_remove(s, u, arg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- the device side ------------------------------------------------------- */

int fv_spapr_dma(FvSpapr *s, uint64_t iova, void *buf, size_t len, bool write)
{
	uint64_t need = write ? TCE_PCI_WRITE : TCE_PCI_READ;
	uint64_t cur, last;
	size_t done = 0;
	int ret = 0;

	if (!len)
		return 0;
	last = iova + len - 1;
	if (last < iova)
		return -EFAULT;
	pthread_mutex_lock(&s->lock);
	/* Every IOMMU page first: window, live TCE, permission. */
	for (cur = iova;;) {
		int num = find_table(s, cur);
		const Window *w = num >= 0 ? &s->win[num] : NULL;
		const Run *r = w ? tce_lookup(w, (cur - w->start) >> w->shift) : NULL;
		uint64_t rlast;

		if (!r) {
			ret = -EFAULT;
			goto out;
		}
		if (!(r->perm & need)) {
			ret = -EPERM;
			goto out;
		}
		rlast = w->start + ((r->idx + r->n) << w->shift) - 1;
		if (rlast >= last)
			break;
		cur = rlast + 1;
	}
	for (cur = iova; done < len;) {
		int num = find_table(s, cur);
		const Window *w = &s->win[num];
		const Run *r = tce_lookup(w, (cur - w->start) >> w->shift);
		uint64_t off = cur - (w->start + (r->idx << w->shift));
		uint64_t room = (r->n << w->shift) - off;
		size_t n = room < len - done ? (size_t)room : len - done;
		struct iovec local = { (char *)buf + done, n };
		struct iovec remote = { (void *)(uintptr_t)(r->ua + off), n };
		ssize_t k = write ? process_vm_writev(s->mm, &local, 1, &remote, 1, 0)
				  : process_vm_readv(s->mm, &local, 1, &remote, 1, 0);

		if (k != (ssize_t)n) {
			ret = -EFAULT;		/* the memory (or the process) went away */
			goto out;
		}
		done += n;
		cur += n;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

unsigned fv_spapr_foreach(FvSpapr *s, bool (*fn)(void *opaque, const FvType1Mapping *m),
			  void *opaque)
{
	unsigned n = 0;
	int order[FV_SPAPR_MAX_WINDOWS] = { 0, 1 };

	pthread_mutex_lock(&s->lock);
	if (s->win[0].live && s->win[1].live && s->win[1].start < s->win[0].start) {
		order[0] = 1;
		order[1] = 0;
	}
	for (int k = 0; k < FV_SPAPR_MAX_WINDOWS; k++) {
		const Window *w = &s->win[order[k]];

		for (size_t i = 0; w->live && i < w->nruns; i++) {
			const Run *r = &w->runs[i];
			FvType1Mapping m = {
				.iova = w->start + (r->idx << w->shift),
				.size = r->n << w->shift,
				.vaddr = r->ua,
				.pid = s->mm,
				.prot = (uint32_t)r->perm,	/* TCE_PCI_* == VFIO_DMA_MAP_FLAG_* */
			};

			n++;
			if (!fn(opaque, &m))
				goto out;
		}
	}
out:
	pthread_mutex_unlock(&s->lock);
	return n;
}

bool fv_spapr_window(FvSpapr *s, unsigned num, FvSpaprWindow *out)
{
	bool live;

	if (num >= FV_SPAPR_MAX_WINDOWS)
		return false;
	pthread_mutex_lock(&s->lock);
	live = s->win[num].live;
	if (live && out) {
		out->start = s->win[num].start;
		out->size = s->win[num].entries << s->win[num].shift;
		out->page_shift = s->win[num].shift;
		out->levels = s->win[num].levels;
	}
	pthread_mutex_unlock(&s->lock);
	return live;
}

uint64_t fv_spapr_tce(FvSpapr *s, uint64_t iova, uint64_t *ua)
{
	uint64_t tce = 0;
	int num;

	pthread_mutex_lock(&s->lock);
	num = find_table(s, iova);
	if (num >= 0) {
		const Window *w = &s->win[num];
		uint64_t idx = (iova - w->start) >> w->shift;
		const Run *r = tce_lookup(w, idx);

		if (r) {
			tce = r->perm;
			if (ua)
				*ua = r->ua + ((idx - r->idx) << w->shift);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return tce;
}

/* ---- EEH ------------------------------------------------------------------- */

int fv_spapr_pe_state(const FvSpaprPe *pe)
{
	unsigned st = atomic_load(&pe->state);
	bool mmio = !(st & FV_SPAPR_PE_MMIO_FROZEN), dma = !(st & FV_SPAPR_PE_DMA_FROZEN);

	/* eeh_pe_get_state */
	if (st & FV_SPAPR_PE_RESET)
		return VFIO_EEH_PE_STATE_RESET;
	if (dma && mmio)
		return VFIO_EEH_PE_STATE_NORMAL;
	if (!dma && !mmio)
		return VFIO_EEH_PE_STATE_STOPPED;
	if (!dma && mmio)
		return VFIO_EEH_PE_STATE_STOPPED_DMA;
	return VFIO_EEH_PE_STATE_UNAVAIL;
}

bool fv_spapr_pe_mmio_frozen(const FvSpaprPe *pe)
{
	return atomic_load(&pe->state) & FV_SPAPR_PE_MMIO_FROZEN;
}

bool fv_spapr_pe_dma_frozen(const FvSpaprPe *pe)
{
	return atomic_load(&pe->state) & FV_SPAPR_PE_DMA_FROZEN;
}

static void pe_clear(FvSpaprPe *pe, unsigned bits)
{
	atomic_fetch_and(&pe->state, ~bits);
}

static void pe_set(FvSpaprPe *pe, unsigned bits)
{
	atomic_fetch_or(&pe->state, bits);
}

long fv_spapr_eeh_op(FvSpaprPe *pe, const FvSpaprConfig *cfg, const FvSpaprPeOps *ops,
		     const FvUser *u, uint64_t arg)
{
	struct vfio_eeh_pe_op op;
	size_t minsz = offsetof(struct vfio_eeh_pe_op, op) + sizeof(op.op);	/* 12 */
	const unsigned frozen = FV_SPAPR_PE_MMIO_FROZEN | FV_SPAPR_PE_DMA_FROZEN;

	memset(&op, 0, sizeof(op));
	if (fv_user_read(u, arg, &op, minsz))
		return -EFAULT;
	if (op.argsz < minsz || op.flags)
		return -EINVAL;
	switch (op.op) {
	case VFIO_EEH_PE_DISABLE:
	case VFIO_EEH_PE_CONFIGURE:
		return 0;
	case VFIO_EEH_PE_ENABLE:
		if (!cfg->eeh)
			return -EIO;
		/* eeh_pe_change_owner: a frozen PE is thawed. */
		if (!(atomic_load(&pe->state) & FV_SPAPR_PE_RESET))
			pe_clear(pe, frozen);
		return 0;
	case VFIO_EEH_PE_UNFREEZE_IO:
		pe_clear(pe, FV_SPAPR_PE_MMIO_FROZEN);
		return 0;
	case VFIO_EEH_PE_UNFREEZE_DMA:
		pe_clear(pe, FV_SPAPR_PE_DMA_FROZEN);
		return 0;
	case VFIO_EEH_PE_GET_STATE:
		return fv_spapr_pe_state(pe);
	case VFIO_EEH_PE_RESET_DEACTIVATE:
		/* Reset released, devices re-enabled, the PE thawed. */
		pe_clear(pe, FV_SPAPR_PE_RESET | frozen);
		return 0;
	case VFIO_EEH_PE_RESET_HOT:
	case VFIO_EEH_PE_RESET_FUNDAMENTAL:
		/* Frozen first (no MMIO during the reset), then the reset. */
		pe_set(pe, frozen | FV_SPAPR_PE_RESET);
		if (ops && ops->reset)
			ops->reset(ops->opaque, op.op == VFIO_EEH_PE_RESET_FUNDAMENTAL);
		return 0;
	case VFIO_EEH_PE_INJECT_ERR:
		if (op.argsz < sizeof(op))
			return -EINVAL;
		if (fv_user_read(u, arg, &op, sizeof(op)))
			return -EFAULT;
		if (op.err.type != EEH_ERR_TYPE_32 && op.err.type != EEH_ERR_TYPE_64)
			return -EINVAL;
		if (op.err.func > EEH_ERR_FUNC_MAX)
			return -EINVAL;
		pe_set(pe, frozen);
		if (ops && ops->error)
			ops->error(ops->opaque);
		return 0;
	default:
		return -EINVAL;
	}
}

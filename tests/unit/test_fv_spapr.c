/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of fakevfio/spapr.c, the sPAPR TCE IOMMU backend and EEH, in
 * process (arguments in this process's memory, FvUser { getpid() }): every
 * row of vfio-abi.md §2.7 that the driver reaches, with exact errnos, in
 * the kernel's check order; the TCE tables as device DMA sees them
 * (permissions, windows, cleared TCEs) and as dumps list them; the v2
 * windows (default window, TCE_CREATE/REMOVE, DDW limits); pre-registered
 * memory; the mm binding (a forked child is another mm); the EEH PE state
 * machine.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakevfio/spapr.h"

#define PG	0x1000ull
#define PTR(p)	((uint64_t)(uintptr_t)(p))
#define RD	VFIO_DMA_MAP_FLAG_READ
#define WR	VFIO_DMA_MAP_FLAG_WRITE
#define RW	(RD | WR)
#define GIB	(1ull << 30)
#define DDW	(1ull << 59)

static FvUser U;
static uint8_t *mem;		/* 64 pages read/write, 64 KiB aligned */
static uint8_t *ro;		/* 2 pages read-only */

static int setup(void **state)
{
	uint8_t *p;

	(void)state;
	U.pid = getpid();
	p = mmap(NULL, 128 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	mem = (uint8_t *)((PTR(p) + 0xffff) & ~0xffffull);
	ro = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED);
	return 0;
}

static FvSpapr *new_container(unsigned long type, int group)
{
	int err = 0;
	FvSpapr *s = fv_spapr_new(type, NULL, &err);

	assert_non_null(s);
	if (group >= 0)
		assert_int_equal(fv_spapr_attach_group(s, group), 0);
	return s;
}

static long map(FvSpapr *s, uint32_t flags, uint64_t vaddr, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = { sizeof(m), flags, vaddr, iova, size };

	return fv_spapr_ioctl(s, &U, VFIO_IOMMU_MAP_DMA, PTR(&m));
}

static long unmap(FvSpapr *s, uint64_t iova, uint64_t size, uint64_t *size_after)
{
	struct vfio_iommu_type1_dma_unmap m = { sizeof(m), 0, iova, size };
	long ret = fv_spapr_ioctl(s, &U, VFIO_IOMMU_UNMAP_DMA, PTR(&m));

	if (size_after)
		*size_after = m.size;
	return ret;
}

static long reg(FvSpapr *s, unsigned long cmd, uint64_t vaddr, uint64_t size)
{
	struct vfio_iommu_spapr_register_memory r = { sizeof(r), 0, vaddr, size };

	return fv_spapr_ioctl(s, &U, cmd, PTR(&r));
}

static long create(FvSpapr *s, uint32_t shift, uint64_t size, uint32_t levels, uint64_t *start)
{
	struct vfio_iommu_spapr_tce_create c = {
		.argsz = sizeof(c), .page_shift = shift, .window_size = size, .levels = levels,
		.start_addr = 0xdead,
	};
	long ret = fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_CREATE, PTR(&c));

	if (start)
		*start = c.start_addr;
	return ret;
}

static long removew(FvSpapr *s, uint64_t start)
{
	struct vfio_iommu_spapr_tce_remove r = { sizeof(r), 0, start };

	return fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_REMOVE, PTR(&r));
}

/* ---- CHECK_EXTENSION, open ------------------------------------------------ */

static void test_check_extension(void **state)
{
	FvSpaprConfig cfg;
	int err = 0;

	(void)state;
	fv_spapr_config_init(&cfg);
	assert_int_equal(fv_spapr_check_extension(&cfg, VFIO_SPAPR_TCE_IOMMU), 1);
	assert_int_equal(fv_spapr_check_extension(&cfg, VFIO_SPAPR_TCE_v2_IOMMU), 1);
	assert_int_equal(fv_spapr_check_extension(&cfg, VFIO_EEH), 1);
	assert_int_equal(fv_spapr_check_extension(&cfg, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(fv_spapr_check_extension(&cfg, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(fv_spapr_check_extension(&cfg, 99), 0);
	cfg.tce = FV_SPAPR_TCE_V1;
	cfg.eeh = false;
	assert_int_equal(fv_spapr_check_extension(&cfg, VFIO_SPAPR_TCE_IOMMU), 1);
	assert_int_equal(fv_spapr_check_extension(&cfg, VFIO_SPAPR_TCE_v2_IOMMU), 0);
	assert_int_equal(fv_spapr_check_extension(&cfg, VFIO_EEH), 0);
	assert_int_equal(fv_spapr_tce_parse("v2"), FV_SPAPR_TCE_V2);
	assert_int_equal(fv_spapr_tce_parse("v3"), 0);
	/* tce_iommu_open: only 2 and 7. */
	assert_null(fv_spapr_new(VFIO_TYPE1_IOMMU, NULL, &err));
	assert_int_equal(err, -EINVAL);
}

/* ---- v1 --------------------------------------------------------------------- */

static void test_v1_get_info(void **state)
{
	FvSpapr *s = new_container(VFIO_SPAPR_TCE_IOMMU, -1);
	struct vfio_iommu_spapr_tce_info info;

	(void)state;
	memset(&info, 0x77, sizeof(info));
	info.argsz = sizeof(info);
	/* No group: ENXIO before anything is read. */
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_GET_INFO, 8), -ENXIO);
	assert_int_equal(fv_spapr_attach_group(s, 5), 0);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_GET_INFO, 8), -EFAULT);
	info.argsz = 15;
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_GET_INFO, PTR(&info)), -EINVAL);
	/* argsz 16: 16 bytes back, the ddw part untouched. */
	info.argsz = 16;
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_GET_INFO, PTR(&info)), 0);
	assert_int_equal(info.flags, 0);
	assert_int_equal(info.dma32_window_start, 0);
	assert_int_equal(info.dma32_window_size, GIB);
	assert_int_equal(info.ddw.pgsizes, 0x7777777777777777ull);
	/* v1: no DDW even with room for it. */
	info.argsz = sizeof(info);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_GET_INFO, PTR(&info)), 0);
	assert_int_equal(info.flags, 0);
	assert_int_equal(info.ddw.pgsizes, 0);
	assert_int_equal(info.ddw.max_dynamic_windows_supported, 0);
	fv_spapr_free(s);
}

static void test_v1_enable(void **state)
{
	FvSpapr *s = new_container(VFIO_SPAPR_TCE_IOMMU, -1);
	FvSpaprConfig cfg;
	int err;

	(void)state;
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_ENABLE, 0), -ENODEV);
	assert_int_equal(fv_spapr_attach_group(s, 5), 0);
	/* v1 (IODA1): a second group cannot join. */
	assert_int_equal(fv_spapr_attach_group(s, 6), -EBUSY);
	assert_int_equal(map(s, RW, PTR(mem), 0, PG), -EPERM);		/* not enabled */
	assert_int_equal(unmap(s, 0, PG, NULL), -EPERM);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_ENABLE, 0), 0);
	assert_int_equal(fv_spapr_mm(s), getpid());
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_ENABLE, 0), -EBUSY);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_DISABLE, 0), 0);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_DISABLE, 0), 0);
	assert_int_equal(map(s, RW, PTR(mem), 0, PG), -EPERM);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_ENABLE, 0), 0);
	/* v2-only ioctls on v1: ENOTTY; unknown: ENOTTY. */
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem), PG), -ENOTTY);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(mem), PG), -ENOTTY);
	assert_int_equal(create(s, 12, GIB, 1, NULL), -ENOTTY);
	assert_int_equal(removew(s, 0), -ENOTTY);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_GET_INFO + 100, 0), -ENOTTY);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_DIRTY_PAGES, 0), -ENOTTY);
	fv_spapr_free(s);

	/* tce32_size == 0: EPERM. */
	fv_spapr_config_init(&cfg);
	cfg.dma32_size = 0;
	s = fv_spapr_new(VFIO_SPAPR_TCE_IOMMU, &cfg, &err);
	assert_int_equal(fv_spapr_attach_group(s, 5), 0);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_ENABLE, 0), -EPERM);
	fv_spapr_free(s);
}

static void test_v1_map_rows(void **state)
{
	FvSpapr *s = new_container(VFIO_SPAPR_TCE_IOMMU, 5);
	struct vfio_iommu_type1_dma_map m = { 31, RW, PTR(mem), 0, PG };
	struct vfio_iommu_type1_dma_unmap um = { 23, 0, 0, PG };
	uint64_t ua = 0, sz;

	(void)state;
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_ENABLE, 0), 0);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_MAP_DMA, 16), -EFAULT);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_MAP_DMA, PTR(&m)), -EINVAL);
	assert_int_equal(map(s, RW | 4, PTR(mem), 0, PG), -EINVAL);		/* flags */
	assert_int_equal(map(s, RW, PTR(mem), GIB, PG), -ENXIO);		/* past the window */
	assert_int_equal(map(s, RW, PTR(mem), DDW, PG), -ENXIO);
	assert_int_equal(map(s, RW, PTR(mem), 0, 0x800), -EINVAL);		/* size unaligned */
	assert_int_equal(map(s, RW, PTR(mem) + 0x800, 0, PG), -EINVAL);	/* vaddr unaligned */
	assert_int_equal(map(s, 0, PTR(mem), 0, PG), -EINVAL);			/* no direction */
	/* put_param_check fails as `a || b`: the ioctl returns 1, no errno. */
	assert_int_equal(map(s, RW, PTR(mem), 0x800, PG), 1);			/* iova unaligned */
	assert_int_equal(fv_spapr_tce(s, 0, NULL), 0);
	assert_int_equal(map(s, RW, PTR(mem), GIB - PG, 2 * PG), -EINVAL);	/* runs out */
	assert_int_equal(map(s, RW, 0x10000, 0, PG), -EFAULT);			/* not mapped */
	assert_int_equal(map(s, WR, PTR(ro), 0, PG), -EFAULT);			/* pin for write */
	/* 6.1 pins with FOLL_WRITE whatever the direction: read-only memory faults. */
	assert_int_equal(map(s, RD, PTR(ro), 0, 2 * PG), -EFAULT);
	assert_int_equal(fv_spapr_tce(s, 0, NULL), 0);
	/* A range that wraps the address space faults past the top. */
	assert_int_equal(map(s, RW, -PG, 0, 2 * PG), -EFAULT);
	assert_int_equal(map(s, RD, PTR(mem) + 32 * PG, 0, 2 * PG), 0);
	assert_int_equal(fv_spapr_tce(s, PG, &ua), RD);
	assert_int_equal(ua, PTR(mem) + 33 * PG);
	assert_int_equal(map(s, RW, PTR(mem), 0, 0), 0);			/* nothing */
	/* Permission bits per TCE; WRITE alone gives read too (pnv_tce_xchg). */
	assert_int_equal(map(s, WR, PTR(mem), 0x10000, PG), 0);
	assert_int_equal(fv_spapr_tce(s, 0x10000, NULL), RW);
	assert_int_equal(map(s, RD, PTR(mem), 0x11000, PG), 0);
	assert_int_equal(fv_spapr_tce(s, 0x11000, NULL), RD);
	/* A map over live TCEs replaces them. */
	assert_int_equal(map(s, RW, PTR(mem) + 8 * PG, 0, PG), 0);
	assert_int_equal(fv_spapr_tce(s, 0, &ua), RW);
	assert_int_equal(ua, PTR(mem) + 8 * PG);
	assert_int_equal(fv_spapr_tce(s, PG, NULL), RD);

	/* UNMAP rows. */
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_UNMAP_DMA, 16), -EFAULT);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_UNMAP_DMA, PTR(&um)), -EINVAL);
	um.argsz = sizeof(um);
	um.flags = 1;
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_UNMAP_DMA, PTR(&um)), -EINVAL);
	assert_int_equal(unmap(s, GIB, PG, NULL), -ENXIO);
	assert_int_equal(unmap(s, 0, 0x800, NULL), -EINVAL);
	/* clear_param_check: 1 too (unaligned iova, past the window), nothing cleared. */
	assert_int_equal(unmap(s, 0x800, PG, NULL), 1);
	assert_int_equal(unmap(s, GIB - PG, 2 * PG, NULL), 1);
	assert_int_equal(unmap(s, 0, -PG, NULL), 1);				/* wraps */
	assert_int_equal(fv_spapr_tce(s, 0, NULL), RW);
	/* size is not written back; clearing empty entries is fine. */
	assert_int_equal(unmap(s, 0x100000, 4 * PG, &sz), 0);
	assert_int_equal(sz, 4 * PG);
	assert_int_equal(unmap(s, 0, PG, &sz), 0);
	assert_int_equal(sz, PG);
	assert_int_equal(fv_spapr_tce(s, 0, NULL), 0);
	assert_int_equal(fv_spapr_tce(s, PG, NULL), RD);
	fv_spapr_free(s);
}

/* A failing map at page i leaves pages before it cleared, after it as they were. */
static void test_v1_partial_failure(void **state)
{
	FvSpapr *s = new_container(VFIO_SPAPR_TCE_IOMMU, 5);
	uint8_t *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(p != MAP_FAILED);
	assert_int_equal(munmap(p + 2 * PG, PG), 0);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_ENABLE, 0), 0);
	assert_int_equal(map(s, RW, PTR(mem), 0, 4 * PG), 0);
	assert_int_equal(map(s, RW, PTR(p), 0, 3 * PG), -EFAULT);
	assert_int_equal(fv_spapr_tce(s, 0, NULL), 0);
	assert_int_equal(fv_spapr_tce(s, PG, NULL), 0);
	assert_int_equal(fv_spapr_tce(s, 2 * PG, NULL), RW);
	assert_int_equal(fv_spapr_tce(s, 3 * PG, NULL), RW);
	munmap(p, 2 * PG);
	fv_spapr_free(s);
}

typedef struct Dump {
	FvType1Mapping m[8];
	unsigned n;
} Dump;

static bool collect(void *opaque, const FvType1Mapping *m)
{
	Dump *d = opaque;

	if (d->n < 8)
		d->m[d->n++] = *m;
	return true;
}

static void test_dma_and_dump(void **state)
{
	FvSpapr *s = new_container(VFIO_SPAPR_TCE_IOMMU, 5);
	uint8_t buf[16];
	Dump d = { .n = 0 };

	(void)state;
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_ENABLE, 0), 0);
	memset(mem, 0, 4 * PG);
	assert_int_equal(map(s, RW, PTR(mem), 0x100000, 2 * PG), 0);
	assert_int_equal(map(s, RW, PTR(mem) + 2 * PG, 0x102000, PG), 0);	/* merges */
	assert_int_equal(map(s, RD, PTR(mem) + 3 * PG, 0x103000, PG), 0);	/* perm differs */
	assert_int_equal(fv_spapr_foreach(s, collect, &d), 2);
	assert_int_equal(d.m[0].iova, 0x100000);
	assert_int_equal(d.m[0].size, 3 * PG);
	assert_int_equal(d.m[0].vaddr, PTR(mem));
	assert_int_equal(d.m[0].pid, getpid());
	assert_int_equal(d.m[0].prot, RW);
	assert_int_equal(d.m[1].iova, 0x103000);
	assert_int_equal(d.m[1].prot, RD);
	/* Across a TCE boundary: lands in our memory. */
	memcpy(buf, "0123456789abcdef", 16);
	assert_int_equal(fv_spapr_dma(s, 0x101ff8, buf, 16, true), 0);
	assert_memory_equal(mem + 0x1ff8, "0123456789abcdef", 16);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(fv_spapr_dma(s, 0x101ffc, buf, 8, false), 0);
	assert_memory_equal(buf, "456789ab", 8);
	/* Write into a read-only TCE: EPERM, nothing moved. */
	assert_int_equal(fv_spapr_dma(s, 0x102ff8, buf, 16, true), -EPERM);
	assert_memory_equal(mem + 0x2ff8, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(fv_spapr_dma(s, 0x103000, buf, 8, false), 0);
	/* No TCE, outside every window: EFAULT. */
	assert_int_equal(fv_spapr_dma(s, 0x104000, buf, 8, false), -EFAULT);
	assert_int_equal(fv_spapr_dma(s, GIB + 0x1000, buf, 8, false), -EFAULT);
	/* A cleared TCE faults (and splits the run in two). */
	assert_int_equal(unmap(s, 0x101000, PG, NULL), 0);
	assert_int_equal(fv_spapr_dma(s, 0x101000, buf, 8, false), -EFAULT);
	assert_int_equal(fv_spapr_dma(s, 0x100000, buf, 8, false), 0);
	d.n = 0;
	assert_int_equal(fv_spapr_foreach(s, collect, &d), 3);
	assert_int_equal(d.m[1].iova, 0x102000);
	assert_int_equal(d.m[1].vaddr, PTR(mem) + 2 * PG);
	assert_int_equal(d.m[1].size, PG);
	fv_spapr_free(s);
}

/* ---- v2 ---------------------------------------------------------------------- */

static void test_v2_register(void **state)
{
	FvSpapr *s = new_container(VFIO_SPAPR_TCE_v2_IOMMU, 5);
	struct vfio_iommu_spapr_register_memory r = { 23, 0, PTR(mem), PG };

	(void)state;
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_ENABLE, 0), -ENOTTY);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_DISABLE, 0), -ENOTTY);
	/* UNREGISTER before any mm: EPERM. */
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(mem), PG), -EPERM);
	assert_int_equal(map(s, RW, PTR(mem), 0, PG), -EPERM);		/* not enabled */
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, 16), -EFAULT);
	assert_int_equal(fv_spapr_mm(s), getpid());	/* bound before the copy */
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(&r)), -EINVAL);
	r.argsz = sizeof(r);
	r.flags = 1;
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(&r)), -EINVAL);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem) + 8, PG), -EINVAL);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem), 8), -EINVAL);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, -PG, 2 * PG), -EINVAL);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, 0x10000, PG), -EFAULT);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(ro), PG), -EFAULT);
	/* Size 0: mm_iommu_do_alloc's vzalloc(0) fails. */
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem), 0), -ENOMEM);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(mem), 0), -ENOENT);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem), 16 * PG), 0);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem), 16 * PG), -EBUSY);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem) + PG, PG), -EINVAL);
	/* Mapping only inside registered memory. */
	assert_int_equal(map(s, RW, PTR(mem) + 15 * PG, 0, 2 * PG), -EINVAL);
	assert_int_equal(map(s, RW, PTR(mem) + 20 * PG, 0, PG), -EINVAL);
	assert_int_equal(map(s, RW, PTR(mem), 0, 16 * PG), 0);
	/* The default window came into being with the first map. */
	{
		FvSpaprWindow w;

		assert_true(fv_spapr_window(s, 0, &w));
		assert_int_equal(w.start, 0);
		assert_int_equal(w.size, GIB);
		assert_int_equal(w.page_shift, 12);
		assert_int_equal(w.levels, 1);
		assert_false(fv_spapr_window(s, 1, NULL));
	}
	/* UNREGISTER rows. */
	r.argsz = 23;
	r.flags = 0;
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(&r)), -EINVAL);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, 16), -EFAULT);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(mem) + 8, PG), -EINVAL);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(mem), PG), -ENOENT);
	assert_int_equal(unmap(s, 0, 16 * PG, NULL), 0);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(mem), 16 * PG), 0);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(mem), 16 * PG), -ENOENT);
	/* Still enabled: MAP now fails on the memory, not on EPERM. */
	assert_int_equal(map(s, RW, PTR(mem), 0, PG), -EINVAL);
	fv_spapr_free(s);
}

/*
 * UNREGISTER while TCEs point into the region: 6.1 says EBUSY but has
 * already taken the region off the container's list; the mm keeps it.
 */
static void test_v2_unregister_busy(void **state)
{
	FvSpapr *s = new_container(VFIO_SPAPR_TCE_v2_IOMMU, 5);

	(void)state;
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem), 16 * PG), 0);
	assert_int_equal(map(s, RW, PTR(mem), 0, 2 * PG), 0);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(mem), 16 * PG), -EBUSY);
	/* Off the list: a second UNREGISTER does not find it. */
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(mem), 16 * PG), -ENOENT);
	/* Still in the mm: maps into it work, an overlap is refused. */
	assert_int_equal(map(s, RW, PTR(mem) + 4 * PG, 4 * PG, PG), 0);
	assert_int_equal(fv_spapr_tce(s, 4 * PG, NULL), RW);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem), 8 * PG), -EINVAL);
	/* The same range again: taken back (no pinning, no EBUSY)... */
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem), 16 * PG), 0);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem), 16 * PG), -EBUSY);
	/* ...and an UNREGISTER now succeeds though TCEs remain (the leaked reference). */
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(mem), 16 * PG), 0);
	assert_int_equal(map(s, RW, PTR(mem) + 6 * PG, 6 * PG, PG), 0);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(mem), 16 * PG), -ENOENT);
	/* A wrapping v2 map is outside registered memory: EINVAL (not EFAULT). */
	assert_int_equal(map(s, RW, -PG, 0x10000, 2 * PG), -EINVAL);
	assert_int_equal(fv_spapr_tce(s, 0x10000, NULL), 0);
	fv_spapr_free(s);
}

static void test_v2_get_info_windows(void **state)
{
	FvSpapr *s = new_container(VFIO_SPAPR_TCE_v2_IOMMU, -1);
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	struct vfio_iommu_spapr_tce_create c = { .argsz = 39 };
	struct vfio_iommu_spapr_tce_remove rm = { .argsz = 15 };
	uint64_t start = 0;

	(void)state;
	assert_int_equal(create(s, 16, 1ull << 30, 1, NULL), -ENXIO);	/* no group */
	assert_int_equal(removew(s, 0), -ENXIO);
	assert_int_equal(fv_spapr_attach_group(s, 5), 0);
	assert_int_equal(fv_spapr_attach_group(s, 6), 0);		/* v2: groups share */
	assert_int_equal(fv_spapr_attach_group(s, 6), -EBUSY);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_GET_INFO, PTR(&info)), 0);
	assert_int_equal(info.flags, VFIO_IOMMU_SPAPR_INFO_DDW);
	assert_int_equal(info.dma32_window_start, 0);
	assert_int_equal(info.dma32_window_size, GIB);
	assert_int_equal(info.ddw.pgsizes, 0x1011000);
	assert_int_equal(info.ddw.max_dynamic_windows_supported, 2);
	assert_int_equal(info.ddw.levels, 5);
	/* TCE_CREATE rows. */
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_CREATE, 16), -EFAULT);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_CREATE, PTR(&c)), -EINVAL);
	c.argsz = sizeof(c);
	c.flags = 1;
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_CREATE, PTR(&c)), -EINVAL);
	assert_int_equal(create(s, 13, 1ull << 32, 1, NULL), -EINVAL);	/* page size */
	assert_int_equal(create(s, 64, 1ull << 32, 1, NULL), -EINVAL);
	assert_int_equal(create(s, 16, 1ull << 32, 0, NULL), -EINVAL);	/* levels */
	assert_int_equal(create(s, 16, 1ull << 32, 6, NULL), -EINVAL);
	assert_int_equal(create(s, 16, 3ull << 32, 1, NULL), -EINVAL);	/* not a power of 2 */
	assert_int_equal(create(s, 16, 0, 1, NULL), -EINVAL);
	assert_int_equal(create(s, 12, 1ull << 50, 5, NULL), -EINVAL);	/* too many bits */
	assert_int_equal(create(s, 12, 1ull << 40, 1, NULL), -ENOMEM);	/* one huge level */
	/* The default window is made first (num 0), then this one at bit 59. */
	assert_int_equal(create(s, 16, 1ull << 40, 2, &start), 0);
	assert_int_equal(start, DDW);
	assert_true(fv_spapr_window(s, 0, NULL));
	assert_int_equal(create(s, 16, 1ull << 32, 1, NULL), -ENOSPC);
	/* TCE_REMOVE rows. */
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_REMOVE, 8), -EFAULT);
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_REMOVE, PTR(&rm)), -EINVAL);
	rm.argsz = sizeof(rm);
	rm.flags = 1;
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_REMOVE, PTR(&rm)), -EINVAL);
	assert_int_equal(removew(s, GIB), -EINVAL);			/* no window there */
	assert_int_equal(removew(s, 0), 0);
	assert_false(fv_spapr_window(s, 0, NULL));
	/* Slot 0 again: the new window starts at the 32-bit window's start. */
	assert_int_equal(create(s, 24, 1ull << 34, 1, &start), 0);
	assert_int_equal(start, 0);
	/* Any address inside a window names it. */
	assert_int_equal(removew(s, DDW + 0x10000), 0);
	assert_false(fv_spapr_window(s, 1, NULL));
	fv_spapr_free(s);
}

static void test_v2_default_window_pending(void **state)
{
	FvSpapr *s = new_container(VFIO_SPAPR_TCE_v2_IOMMU, 5);
	uint64_t start = 1;

	(void)state;
	/* Pending and start 0: the default window is dropped without existing. */
	assert_int_equal(removew(s, 0), 0);
	assert_int_equal(removew(s, 0), -EINVAL);
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem), 64 * PG), 0);
	assert_int_equal(map(s, RW, PTR(mem), 0, PG), -ENXIO);
	assert_int_equal(unmap(s, 0, PG, NULL), -ENXIO);
	/* 64K pages in a window of our own; the memory is 64K-aligned. */
	assert_int_equal(create(s, 16, 1ull << 32, 1, &start), 0);
	assert_int_equal(start, 0);
	assert_int_equal(map(s, RW, PTR(mem), 0x10000, 0x10000), 0);
	assert_int_equal(map(s, RW, PTR(mem), 0x10000, PG), -EINVAL);	/* sub-IOMMU-page */
	/* An IOMMU page larger than the registration's alignment: EINVAL. */
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem) + 80 * PG, 17 * PG), 0);
	assert_int_equal(map(s, RW, PTR(mem) + 80 * PG, 0x20000, 0x10000), -EINVAL);
	assert_int_equal(fv_spapr_tce(s, 0x20000, NULL), 0);
	fv_spapr_free(s);
}

/* ---- the mm ------------------------------------------------------------------ */

static void test_other_mm(void **state)
{
	FvSpapr *s = new_container(VFIO_SPAPR_TCE_v2_IOMMU, 5);
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };
	pid_t child;
	int st;

	(void)state;
	/* Not bound yet: GET_INFO from anyone. */
	assert_int_equal(fv_spapr_ioctl(s, &U, VFIO_IOMMU_SPAPR_TCE_GET_INFO, PTR(&info)), 0);
	assert_int_equal(fv_spapr_mm(s), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		FvUser me = { getpid() };
		struct vfio_iommu_spapr_register_memory r = { sizeof(r), 0, PTR(mem), PG };

		/* The child binds the container first (its copy of mem). */
		_exit(fv_spapr_ioctl(s, &me, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(&r)) == 0 &&
		      fv_spapr_mm(s) == getpid() ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_int_equal(WEXITSTATUS(st), 0);
	/* That was a copy of the container in the child: here it is unbound. */
	assert_int_equal(reg(s, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(mem), PG), 0);
	{
		FvUser other = { child };

		assert_int_equal(fv_spapr_mm_check(s, &other), -EPERM);
		assert_int_equal(fv_spapr_ioctl(s, &other, VFIO_IOMMU_SPAPR_TCE_GET_INFO, PTR(&info)),
				 -EPERM);
		assert_int_equal(fv_spapr_ioctl(s, &other, VFIO_IOMMU_MAP_DMA, 0), -EPERM);
		assert_int_equal(fv_spapr_ioctl(s, &other, VFIO_IOMMU_SPAPR_TCE_REMOVE, 0), -EPERM);
		/* CHECK_EXTENSION is answered for anyone. */
		assert_int_equal(fv_spapr_ioctl(s, &other, VFIO_CHECK_EXTENSION, VFIO_EEH), 1);
	}
	assert_int_equal(fv_spapr_mm_check(s, &U), 0);
	fv_spapr_free(s);
}

/* ---- EEH ------------------------------------------------------------------------ */

typedef struct PeLog {
	unsigned resets, fundamental, errors;
} PeLog;

static void log_reset(void *opaque, bool fundamental)
{
	PeLog *l = opaque;

	l->resets++;
	l->fundamental += fundamental;
}

static void log_error(void *opaque)
{
	((PeLog *)opaque)->errors++;
}

static long eeh(FvSpaprPe *pe, const FvSpaprConfig *cfg, PeLog *l, uint32_t op)
{
	struct vfio_eeh_pe_op o = { .argsz = sizeof(o), .op = op };
	FvSpaprPeOps ops = { log_reset, log_error, l };

	return fv_spapr_eeh_op(pe, cfg, &ops, &U, PTR(&o));
}

static void test_eeh(void **state)
{
	FvSpaprPe pe = { 0 };
	FvSpaprConfig cfg;
	PeLog l = { 0 };
	FvSpaprPeOps ops = { log_reset, log_error, &l };
	struct vfio_eeh_pe_op o = { .argsz = 11 };

	(void)state;
	fv_spapr_config_init(&cfg);
	assert_int_equal(fv_spapr_eeh_op(&pe, &cfg, &ops, &U, 8), -EFAULT);
	assert_int_equal(fv_spapr_eeh_op(&pe, &cfg, &ops, &U, PTR(&o)), -EINVAL);
	o.argsz = 12;
	o.flags = 1;
	assert_int_equal(fv_spapr_eeh_op(&pe, &cfg, &ops, &U, PTR(&o)), -EINVAL);
	o.flags = 0;
	o.op = 10;
	assert_int_equal(fv_spapr_eeh_op(&pe, &cfg, &ops, &U, PTR(&o)), -EINVAL);
	/* INJECT_ERR needs the whole struct. */
	o.op = VFIO_EEH_PE_INJECT_ERR;
	assert_int_equal(fv_spapr_eeh_op(&pe, &cfg, &ops, &U, PTR(&o)), -EINVAL);
	o.argsz = sizeof(o);
	o.err.type = 2;
	assert_int_equal(fv_spapr_eeh_op(&pe, &cfg, &ops, &U, PTR(&o)), -EINVAL);
	o.err.type = 1;
	o.err.func = 20;
	assert_int_equal(fv_spapr_eeh_op(&pe, &cfg, &ops, &U, PTR(&o)), -EINVAL);
	assert_int_equal(l.errors, 0);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_NORMAL);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_ENABLE), 0);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_DISABLE), 0);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_CONFIGURE), 0);
	/* Inject: frozen, ERR fired. */
	o.err.func = 19;
	assert_int_equal(fv_spapr_eeh_op(&pe, &cfg, &ops, &U, PTR(&o)), 0);
	assert_int_equal(l.errors, 1);
	assert_true(fv_spapr_pe_mmio_frozen(&pe));
	assert_true(fv_spapr_pe_dma_frozen(&pe));
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_STOPPED);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_UNFREEZE_IO), 0);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_STOPPED_DMA);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_UNFREEZE_DMA), 0);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_NORMAL);
	/* DMA thawed, MMIO frozen: UNAVAIL (eeh_pe_get_state's last case). */
	o.err.func = 0;
	o.err.type = 0;
	assert_int_equal(fv_spapr_eeh_op(&pe, &cfg, &ops, &U, PTR(&o)), 0);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_UNFREEZE_DMA), 0);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_UNAVAIL);
	/* ENABLE thaws a frozen PE. */
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_ENABLE), 0);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_NORMAL);
	/* Resets: RESET while asserted, NORMAL after DEACTIVATE. */
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_RESET_HOT), 0);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_RESET);
	assert_true(fv_spapr_pe_mmio_frozen(&pe));
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_RESET_DEACTIVATE), 0);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_GET_STATE), VFIO_EEH_PE_STATE_NORMAL);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_RESET_FUNDAMENTAL), 0);
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_RESET_DEACTIVATE), 0);
	assert_int_equal(l.resets, 2);
	assert_int_equal(l.fundamental, 1);
	assert_int_equal(l.errors, 2);
	/* EEH off on the host: ENABLE is EIO. */
	cfg.eeh = false;
	assert_int_equal(eeh(&pe, &cfg, &l, VFIO_EEH_PE_ENABLE), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_extension),
		cmocka_unit_test(test_v1_get_info),
		cmocka_unit_test(test_v1_enable),
		cmocka_unit_test(test_v1_map_rows),
		cmocka_unit_test(test_v1_partial_failure),
		cmocka_unit_test(test_dma_and_dump),
		cmocka_unit_test(test_v2_register),
		cmocka_unit_test(test_v2_unregister_busy),
		cmocka_unit_test(test_v2_get_info_windows),
		cmocka_unit_test(test_v2_default_window_pending),
		cmocka_unit_test(test_other_mm),
		cmocka_unit_test(test_eeh),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

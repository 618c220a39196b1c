/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of fakevfio/type1.c, the type1 IOMMU backend: CHECK_EXTENSION
 * before/after SET_IOMMU, every errno row of vfio-abi.md §2.6 for GET_INFO,
 * MAP_DMA, UNMAP_DMA and DIRTY_PAGES (arguments in this process's memory,
 * FvUser { getpid() }, bad pointers giving EFAULT), the GET_INFO byte
 * layout, v1 vs v2 unmap semantics, UNMAP_ALL, VADDR invalidate/update,
 * dma_avail, IOVA holes, device DMA (data, faults, permissions, another
 * process's memory), dirty bitmaps, release, iteration, threads, and a
 * rough map+unmap timing of 65535 mappings.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakevfio/type1.h"

#define PG		0x1000ull
#define PTR(p)		((uint64_t)(uintptr_t)(p))
#define RD		VFIO_DMA_MAP_FLAG_READ
#define WR		VFIO_DMA_MAP_FLAG_WRITE
#define RW		(RD | WR)
#define VADDR		VFIO_DMA_MAP_FLAG_VADDR
#define U_DIRTY		VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP
#define U_ALL		VFIO_DMA_UNMAP_FLAG_ALL
#define U_VADDR		VFIO_DMA_UNMAP_FLAG_VADDR
#define D_START		VFIO_IOMMU_DIRTY_PAGES_FLAG_START
#define D_STOP		VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP
#define D_GET		VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP
#define MEM_PAGES	512
#define BASE		0x200000ull	/* IOVA of the usual test mapping */
#define KADDR		0xffff800000000000ull
#define NOADDR		0x10000ull	/* nothing is mapped there */
#define TB		(1ull << 40)

static FvUser U;
static uint8_t *mem;		/* MEM_PAGES pages, read/write */
static uint8_t *ro;		/* 4 pages, read-only, filled with 0x5a */
static uint8_t *none;		/* 2 pages, PROT_NONE */
static uint8_t *hole;		/* 3 pages, the middle one unmapped */
static uint8_t *guard;		/* 1 page read/write, then 1 PROT_NONE page */
static uint8_t *mixed;		/* 2 pages: read/write, then read-only */

/* A buffer of n bytes that ends right before an inaccessible page. */
static void *at_guard(size_t n)
{
	return guard + PG - n;
}

static void *map_anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static int group_setup(void **state)
{
	(void)state;
	U.pid = getpid();
	mem = map_anon(MEM_PAGES * PG, PROT_READ | PROT_WRITE);
	ro = map_anon(4 * PG, PROT_READ | PROT_WRITE);
	memset(ro, 0x5a, 4 * PG);
	mprotect(ro, 4 * PG, PROT_READ);
	none = map_anon(2 * PG, PROT_NONE);
	hole = map_anon(3 * PG, PROT_READ | PROT_WRITE);
	munmap(hole + PG, PG);
	guard = map_anon(2 * PG, PROT_READ | PROT_WRITE);
	mprotect(guard + PG, PG, PROT_NONE);
	mixed = map_anon(2 * PG, PROT_READ | PROT_WRITE);
	mprotect(mixed + PG, PG, PROT_READ);
	return 0;
}

static FvType1 *mk_cfg(unsigned long type, const FvType1Config *cfg)
{
	Error *err = NULL;
	FvType1 *t = fv_type1_new(type, cfg, &err);

	if (!t)
		fail_msg("fv_type1_new: %s", error_get_pretty(err));
	return t;
}

static FvType1 *mk(unsigned long type)
{
	return mk_cfg(type, NULL);
}

static long map_raw(FvType1 *t, uint32_t argsz, uint32_t flags, uint64_t vaddr,
		    uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = argsz, .flags = flags, .vaddr = vaddr,
		.iova = iova, .size = size,
	};

	return fv_type1_ioctl(t, &U, VFIO_IOMMU_MAP_DMA, PTR(&m));
}

static long map(FvType1 *t, const void *p, uint64_t iova, uint64_t size,
		uint32_t flags)
{
	return map_raw(t, 32, flags, PTR(p), iova, size);
}

static long unmap(FvType1 *t, uint64_t iova, uint64_t size, uint32_t flags,
		  uint64_t *out)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = 24, .flags = flags, .iova = iova, .size = size,
	};
	long r = fv_type1_ioctl(t, &U, VFIO_IOMMU_UNMAP_DMA, PTR(&u));

	if (out)
		*out = u.size;
	return r;
}

/* UNMAP_DMA with a vfio_bitmap after the header (48 bytes). */
static long unmap_bm(FvType1 *t, uint32_t argsz, uint32_t flags, uint64_t iova,
		     uint64_t size, uint64_t pgsize, uint64_t bmsize,
		     uint64_t data, uint64_t *out)
{
	uint64_t buf[6];
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = argsz, .flags = flags, .iova = iova, .size = size,
	};
	struct vfio_bitmap b = { .pgsize = pgsize, .size = bmsize,
				 .data = (__u64 *)(uintptr_t)data };
	long r;

	memcpy(buf, &u, 24);
	memcpy((uint8_t *)buf + 24, &b, 24);
	r = fv_type1_ioctl(t, &U, VFIO_IOMMU_UNMAP_DMA, PTR(buf));
	if (out)
		memcpy(out, (uint8_t *)buf + 16, 8);
	return r;
}

static long dirty_flags(FvType1 *t, uint32_t argsz, uint32_t flags)
{
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = argsz, .flags = flags };

	return fv_type1_ioctl(t, &U, VFIO_IOMMU_DIRTY_PAGES, PTR(&d));
}

static long dirty_get_raw(FvType1 *t, uint32_t argsz, uint32_t flags,
			  uint64_t iova, uint64_t size, uint64_t pgsize,
			  uint64_t bmsize, uint64_t data)
{
	uint64_t buf[6];
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = argsz, .flags = flags };
	struct vfio_iommu_type1_dirty_bitmap_get g = {
		.iova = iova, .size = size,
		.bitmap = { .pgsize = pgsize, .size = bmsize,
			    .data = (__u64 *)(uintptr_t)data },
	};

	memcpy(buf, &d, 8);
	memcpy((uint8_t *)buf + 8, &g, 40);
	return fv_type1_ioctl(t, &U, VFIO_IOMMU_DIRTY_PAGES, PTR(buf));
}

static long dirty_get(FvType1 *t, uint64_t iova, uint64_t size, uint64_t *bm,
		      size_t bmbytes)
{
	return dirty_get_raw(t, 48, D_GET, iova, size, PG, bmbytes, PTR(bm));
}

static FvType1Stats stats(FvType1 *t)
{
	FvType1Stats st;

	fv_type1_stats(t, &st);
	return st;
}

/* ---- CHECK_EXTENSION ---------------------------------------------------- */

static void test_check_extension(void **state)
{
	static const struct {
		unsigned long ext;
		long before, after, after_no_cc;
	} rows[] = {
		{ VFIO_TYPE1_IOMMU, 1, 1, 1 },
		{ VFIO_SPAPR_TCE_IOMMU, 0, 0, 0 },
		{ VFIO_TYPE1v2_IOMMU, 1, 1, 1 },
		{ VFIO_DMA_CC_IOMMU, 0, 1, 0 },
		{ VFIO_EEH, 0, 0, 0 },
		{ VFIO_TYPE1_NESTING_IOMMU, 1, 1, 1 },
		{ VFIO_SPAPR_TCE_v2_IOMMU, 0, 0, 0 },
		{ VFIO_NOIOMMU_IOMMU, 0, 0, 0 },
		{ VFIO_UNMAP_ALL, 1, 1, 1 },
		{ VFIO_UPDATE_VADDR, 0, 1, 1 },
		{ 0, 0, 0, 0 },
		{ 11, 0, 0, 0 },
		{ ~0ul, 0, 0, 0 },
	};
	FvType1Config cfg;
	FvType1 *v1 = mk(VFIO_TYPE1_IOMMU), *v2, *nc;

	(void)state;
	fv_type1_config_init(&cfg);
	cfg.enforce_cache_coherency = false;
	v2 = mk(VFIO_TYPE1v2_IOMMU);
	nc = mk_cfg(VFIO_TYPE1_NESTING_IOMMU, &cfg);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(fv_type1_check_extension(NULL, rows[i].ext),
				 rows[i].before);
		assert_int_equal(fv_type1_check_extension(v1, rows[i].ext),
				 rows[i].after);
		assert_int_equal(fv_type1_check_extension(v2, rows[i].ext),
				 rows[i].after);
		assert_int_equal(fv_type1_check_extension(nc, rows[i].ext),
				 rows[i].after_no_cc);
		/* The type1 driver answers CHECK_EXTENSION as an ioctl too. */
		assert_int_equal(fv_type1_ioctl(v2, &U, VFIO_CHECK_EXTENSION,
						rows[i].ext), rows[i].after);
	}
	/* Emulated (mdev) groups disable UPDATE_VADDR. */
	fv_type1_set_emulated_groups(v2, 1);
	assert_int_equal(fv_type1_check_extension(v2, VFIO_UPDATE_VADDR), 0);
	assert_int_equal(fv_type1_check_extension(v2, VFIO_UNMAP_ALL), 1);
	fv_type1_set_emulated_groups(v2, 0);
	assert_int_equal(fv_type1_check_extension(v2, VFIO_UPDATE_VADDR), 1);
	assert_int_equal(fv_type1_type(v1), VFIO_TYPE1_IOMMU);
	assert_int_equal(fv_type1_type(nc), VFIO_TYPE1_NESTING_IOMMU);
	fv_type1_free(v1);
	fv_type1_free(v2);
	fv_type1_free(nc);
}

static void test_unknown_cmd(void **state)
{
	static const unsigned long cmds[] = {
		0, VFIO_GET_API_VERSION, VFIO_SET_IOMMU, VFIO_IOMMU_ENABLE,
		VFIO_IOMMU_DISABLE, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY,
		VFIO_IOMMU_SPAPR_TCE_CREATE, VFIO_IOMMU_SPAPR_TCE_REMOVE,
		VFIO_EEH_PE_OP, VFIO_DEVICE_GET_INFO, VFIO_IOMMU_GET_INFO + 0x100,
	};
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		assert_int_equal(fv_type1_ioctl(t, &U, cmds[i], PTR(mem)), -ENOTTY);
	fv_type1_free(t);
}

static void test_new_errors(void **state)
{
	FvType1Config cfg;
	Error *err = NULL;
	FvType1 *t;

	(void)state;
	t = fv_type1_new(VFIO_SPAPR_TCE_IOMMU, NULL, &err);
	assert_null(t);
	assert_non_null(strstr(error_get_pretty(err), "not type1"));
	error_free(err);
	err = NULL;
	assert_null(fv_type1_new(VFIO_NOIOMMU_IOMMU, NULL, NULL));

	for (int k = 0; k < 5; k++) {
		fv_type1_config_init(&cfg);
		switch (k) {
		case 0:
			cfg.pgsize_bitmap = 0;
			break;
		case 1:
			cfg.aperture_start = 0x2000;
			cfg.aperture_end = 0x1fff;
			break;
		case 2:
			cfg.nr_reserved = FV_TYPE1_MAX_RESV + 1;
			break;
		case 3:
			cfg.reserved[0].start = 0x5000;
			cfg.reserved[0].end = 0x4fff;
			break;
		case 4:		/* reserved regions swallow the aperture */
			cfg.aperture_start = 0x10000;
			cfg.aperture_end = 0x1ffff;
			cfg.reserved[0].start = 0;
			cfg.reserved[0].end = 0x17fff;
			cfg.reserved[1].start = 0x18000;
			cfg.reserved[1].end = 0x30000;
			cfg.nr_reserved = 2;
			break;
		}
		t = fv_type1_new(VFIO_TYPE1v2_IOMMU, &cfg, &err);
		assert_null(t);
		assert_non_null(err);
		error_free(err);
		err = NULL;
	}
	fv_type1_free(NULL);
}

/* ---- GET_INFO --------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static long get_info(FvType1 *t, uint8_t *buf, size_t bufsz, uint32_t argsz)
{
	memset(buf, 0xaa, bufsz);
	memcpy(buf, &argsz, 4);
	return fv_type1_ioctl(t, &U, VFIO_IOMMU_GET_INFO, PTR(buf));
}

static void assert_untouched(const uint8_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != 0xaa)
			fail_msg("byte %zu changed to 0x%02x", i, p[i]);
}

static void test_get_info_layout(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	uint8_t buf[256];

	(void)state;
	assert_int_equal(get_info(t, buf, sizeof(buf), 116), 0);
	/* The fixed part: 20 bytes copied back, 4 bytes of padding left. */
	assert_int_equal(rd32(buf + 0), 116);
	assert_int_equal(rd32(buf + 4), VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(rd64(buf + 8), 0x40201000);
	assert_int_equal(rd32(buf + 16), 24);
	assert_untouched(buf, 20, 24);
	/* MIGRATION at 24 (32 bytes) */
	assert_int_equal(rd16(buf + 24), VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
	assert_int_equal(rd16(buf + 26), 1);
	assert_int_equal(rd32(buf + 28), 56);
	assert_int_equal(rd32(buf + 32), 0);		/* flags */
	assert_int_equal(rd32(buf + 36), 0);		/* padding */
	assert_int_equal(rd64(buf + 40), 0x1000);
	assert_int_equal(rd64(buf + 48), 0x10000000);
	/* DMA_AVAIL at 56 (12 bytes) */
	assert_int_equal(rd16(buf + 56), VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	assert_int_equal(rd16(buf + 58), 1);
	assert_int_equal(rd32(buf + 60), 68);		/* unaligned in 6.1 */
	assert_int_equal(rd32(buf + 64), 65535);
	/* IOVA_RANGE at 68 (16 + 2 * 16) */
	assert_int_equal(rd16(buf + 68), VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	assert_int_equal(rd16(buf + 70), 1);
	assert_int_equal(rd32(buf + 72), 0);
	assert_int_equal(rd32(buf + 76), 2);
	assert_int_equal(rd32(buf + 80), 0);		/* reserved */
	assert_int_equal(rd64(buf + 84), 0);
	assert_int_equal(rd64(buf + 92), 0xfedfffff);
	assert_int_equal(rd64(buf + 100), 0xfef00000);
	assert_int_equal(rd64(buf + 108), 0xffffffffffffull);
	assert_untouched(buf, 116, sizeof(buf));

	/* A bigger argsz is left as it is. */
	assert_int_equal(get_info(t, buf, sizeof(buf), 200), 0);
	assert_int_equal(rd32(buf + 0), 200);
	assert_int_equal(rd32(buf + 16), 24);
	assert_int_equal(rd32(buf + 64), 65535);
	assert_untouched(buf, 116, sizeof(buf));

	/* dma_avail follows the mappings. */
	assert_int_equal(map(t, mem, BASE, PG, RW), 0);
	assert_int_equal(map(t, mem, BASE + PG, PG, RW), 0);
	assert_int_equal(get_info(t, buf, sizeof(buf), 116), 0);
	assert_int_equal(rd32(buf + 64), 65533);
	fv_type1_free(t);
}

static void test_get_info_small(void **state)
{
	static const struct {
		uint32_t argsz;
		long ret;
		size_t written;		/* header bytes copied back */
		uint32_t out_argsz;
	} rows[] = {
		{ 0, -EINVAL, 0, 0 },
		{ 15, -EINVAL, 0, 0 },
		{ 16, 0, 16, 116 },
		{ 19, 0, 16, 116 },
		{ 20, 0, 20, 116 },
		{ 24, 0, 20, 116 },
		{ 115, 0, 20, 116 },
	};
	FvType1 *t = mk(VFIO_TYPE1_IOMMU);
	uint8_t buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long r = get_info(t, buf, sizeof(buf), rows[i].argsz);

		assert_int_equal(r, rows[i].ret);
		if (r) {
			assert_int_equal(rd32(buf), rows[i].argsz);
			assert_untouched(buf, 4, sizeof(buf));
			continue;
		}
		assert_int_equal(rd32(buf + 0), rows[i].out_argsz);
		assert_int_equal(rd32(buf + 4), 3);
		assert_int_equal(rd64(buf + 8), 0x40201000);
		if (rows[i].written == 20)
			assert_int_equal(rd32(buf + 16), 0);	/* cap_offset */
		assert_untouched(buf, rows[i].written, sizeof(buf));
	}
	fv_type1_free(t);
}

static void test_get_info_efault(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	uint8_t *p;
	uint32_t argsz = 116;

	(void)state;
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_GET_INFO, 8), -EFAULT);
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_GET_INFO, KADDR), -EFAULT);
	/* Only 15 bytes readable: the 16-byte copy in fails. */
	p = at_guard(15);
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_GET_INFO, PTR(p)), -EFAULT);
	/* The header fits, the caps do not: EFAULT, header not written (the
	 * caps may be, up to the fault, as with copy_to_user). */
	p = at_guard(40);
	memset(p, 0xaa, 40);
	memcpy(p, &argsz, 4);
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_GET_INFO, PTR(p)), -EFAULT);
	assert_int_equal(rd32(p), 116);
	assert_untouched(p, 4, 24);
	/* Read-only (argsz 0x5a5a5a5a): the caps cannot be written. */
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_GET_INFO, PTR(ro)), -EFAULT);
	argsz = 16;
	memcpy(mixed + PG - 8, &argsz, 4);	/* spans rw -> ro pages */
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_GET_INFO,
					PTR(mixed + PG - 8)), -EFAULT);
	fv_type1_free(t);
}

static void test_get_info_config(void **state)
{
	FvType1Config cfg;
	FvType1 *t;
	uint8_t buf[512];
	uint32_t need;

	(void)state;
	fv_type1_config_init(&cfg);
	cfg.pgsize_bitmap = 0x1ff800;	/* 2K..1M: sub-page collapses to 4K */
	cfg.aperture_start = 0x1000;
	cfg.aperture_end = 0xffffffff;
	cfg.reserved[1] = (FvType1Range){ 0x0, 0x1fff };	/* trims the start */
	cfg.reserved[2] = (FvType1Range){ 0x10000, 0x1ffff };	/* splits */
	cfg.reserved[3] = (FvType1Range){ 0xfff00000, 0x1ffffffff }; /* tail */
	cfg.reserved[4] = (FvType1Range){ 0xfec00000, 0xfec00fff };
	cfg.reserved[5] = (FvType1Range){ 0x1ffffffff0, 0x1ffffffff0 }; /* off */
	cfg.nr_reserved = 6;
	cfg.dma_entry_limit = 7;
	t = mk_cfg(VFIO_TYPE1v2_IOMMU, &cfg);
	/* Ranges: [0x2000,0xffff] [0x20000,0xfebfffff] [0xfec01000,0xfedfffff]
	 * [0xfef00000,0xffefffff]. */
	need = 24 + 32 + 12 + 16 + 4 * 16;
	assert_int_equal(get_info(t, buf, sizeof(buf), 16), 0);
	assert_int_equal(rd32(buf), need);
	assert_int_equal(rd64(buf + 8), 0x1ff000);
	assert_int_equal(get_info(t, buf, sizeof(buf), need), 0);
	assert_int_equal(rd64(buf + 40), 0x1000);	/* migration pgsize */
	assert_int_equal(rd32(buf + 64), 7);
	assert_int_equal(rd32(buf + 76), 4);
	assert_int_equal(rd64(buf + 84), 0x2000);
	assert_int_equal(rd64(buf + 92), 0xffff);
	assert_int_equal(rd64(buf + 100), 0x20000);
	assert_int_equal(rd64(buf + 108), 0xfebfffff);
	assert_int_equal(rd64(buf + 116), 0xfec01000);
	assert_int_equal(rd64(buf + 124), 0xfedfffff);
	assert_int_equal(rd64(buf + 132), 0xfef00000);
	assert_int_equal(rd64(buf + 140), 0xffefffff);
	assert_untouched(buf, need, sizeof(buf));
	/* Holes in the IOVA space refuse mappings, ranges accept them. */
	assert_int_equal(map(t, mem, 0x1000, PG, RW), -EINVAL);
	assert_int_equal(map(t, mem, 0x2000, PG, RW), 0);
	assert_int_equal(map(t, mem, 0xf000, 2 * PG, RW), -EINVAL);
	assert_int_equal(map(t, mem, 0x10000, PG, RW), -EINVAL);
	assert_int_equal(map(t, mem, 0x20000, PG, RW), 0);
	assert_int_equal(map(t, mem, 0xfec00000, PG, RW), -EINVAL);
	assert_int_equal(map(t, mem, 0xfec01000, PG, RW), 0);
	assert_int_equal(map(t, mem, 0xffeff000, PG, RW), 0);
	assert_int_equal(map(t, mem, 0xfff00000, PG, RW), -EINVAL);
	/* 2M page size: 4K alignment is not enough. */
	fv_type1_free(t);
	fv_type1_config_init(&cfg);
	cfg.pgsize_bitmap = 0x40200000;
	t = mk_cfg(VFIO_TYPE1v2_IOMMU, &cfg);
	assert_int_equal(stats(t).pgsize, 0x200000);
	assert_int_equal(map(t, mem, 0x200000, PG, RW), -EINVAL);
	assert_int_equal(unmap(t, 0x201000, 0x200000, 0, NULL), -EINVAL);
	assert_int_equal(unmap(t, 0x200000, 0x200000, 0, NULL), 0);
	fv_type1_free(t);
}

/* ---- MAP_DMA ---------------------------------------------------------- */

enum { V_MEM, V_RO, V_NONE, V_HOLE, V_MIXED, V_ABS };

static uint64_t vsrc(int kind, uint64_t off)
{
	switch (kind) {
	case V_MEM:
		return PTR(mem) + off;
	case V_RO:
		return PTR(ro) + off;
	case V_NONE:
		return PTR(none) + off;
	case V_HOLE:
		return PTR(hole) + off;
	case V_MIXED:
		return PTR(mixed) + off;
	default:
		return off;
	}
}

typedef struct MapRow {
	const char *name;
	uint32_t argsz, flags;
	int vkind;
	uint64_t voff, iova, size;
	long ret;
} MapRow;

static const MapRow map_rows[] = {
	{ "argsz 31", 31, RW, V_MEM, 0, 0x100000, PG, -EINVAL },
	{ "argsz 0", 0, RW, V_MEM, 0, 0x100000, PG, -EINVAL },
	{ "unknown flag", 32, RW | 8, V_MEM, 0, 0x100000, PG, -EINVAL },
	{ "high flag", 32, RD | 0x80000000u, V_MEM, 0, 0x100000, PG, -EINVAL },
	{ "no prot, no vaddr", 32, 0, V_MEM, 0, 0x100000, PG, -EINVAL },
	{ "read + vaddr", 32, RD | VADDR, V_MEM, 0, BASE, 2 * PG, -EINVAL },
	{ "write + vaddr", 32, WR | VADDR, V_MEM, 0, BASE, 2 * PG, -EINVAL },
	{ "size 0", 32, RW, V_MEM, 0, 0x100000, 0, -EINVAL },
	{ "iova unaligned", 32, RW, V_MEM, 0, 0x100800, PG, -EINVAL },
	{ "vaddr unaligned", 32, RW, V_MEM, 0x800, 0x100000, PG, -EINVAL },
	{ "size unaligned", 32, RW, V_MEM, 0, 0x100000, 0x1800, -EINVAL },
	{ "unaligned before overlap", 32, RW, V_MEM, 0, BASE + 0x800, PG, -EINVAL },
	{ "iova wraps", 32, RW, V_MEM, 0, 0xfffffffffffff000ull, 2 * PG, -EINVAL },
	{ "vaddr wraps", 32, RW, V_ABS, 0xfffffffffffff000ull, 0x100000, 2 * PG, -EINVAL },
	{ "vaddr: nothing mapped", 32, VADDR, V_MEM, 0, 0x100000, PG, -ENOENT },
	{ "vaddr: mapping valid", 32, VADDR, V_MEM, 0, BASE, 2 * PG, -EINVAL },
	{ "vaddr: part of a mapping", 32, VADDR, V_MEM, 0, BASE, PG, -EINVAL },
	{ "vaddr: unaligned first", 32, VADDR, V_MEM, 0x800, 0x100000, PG, -EINVAL },
	{ "overlap: start", 32, RW, V_MEM, 0, BASE - PG, 2 * PG, -EEXIST },
	{ "overlap: inside", 32, RW, V_MEM, 0, BASE + PG, PG, -EEXIST },
	{ "overlap: same", 32, RW, V_MEM, 0, BASE, 2 * PG, -EEXIST },
	{ "overlap: cover", 32, RD, V_MEM, 0, BASE - PG, 4 * PG, -EEXIST },
	{ "overlap before pin", 32, RW, V_HOLE, 0, BASE, 3 * PG, -EEXIST },
	{ "msi window", 32, RW, V_MEM, 0, 0xfee00000, PG, -EINVAL },
	{ "msi window end", 32, RW, V_MEM, 0, 0xfeeff000, PG, -EINVAL },
	{ "straddles msi start", 32, RW, V_MEM, 0, 0xfedff000, 2 * PG, -EINVAL },
	{ "straddles msi end", 32, RW, V_MEM, 0, 0xfeeff000, 2 * PG, -EINVAL },
	{ "across the window", 32, RW, V_MEM, 0, 0xfed00000, 0x300000, -EINVAL },
	{ "beyond aperture", 32, RW, V_MEM, 0, 1ull << 48, PG, -EINVAL },
	{ "ends past aperture", 32, RW, V_MEM, 0, (1ull << 48) - PG, 2 * PG, -EINVAL },
	{ "range before pin", 32, RW, V_HOLE, 0, 0xfee00000, 3 * PG, -EINVAL },
	{ "vaddr hole", 32, RW, V_HOLE, 0, 0x100000, 3 * PG, -EFAULT },
	{ "vaddr hole (read)", 32, RD, V_HOLE, PG, 0x100000, PG, -EFAULT },
	{ "write on read-only", 32, RW, V_RO, 0, 0x100000, PG, -EFAULT },
	{ "write-only on read-only", 32, WR, V_RO, 0, 0x100000, PG, -EFAULT },
	{ "read on PROT_NONE", 32, RD, V_NONE, 0, 0x100000, PG, -EFAULT },
	{ "write into ro half", 32, RW, V_MIXED, 0, 0x100000, 2 * PG, -EFAULT },
	{ "unmapped vaddr", 32, RD, V_ABS, NOADDR, 0x100000, PG, -EFAULT },
	{ "kernel vaddr", 32, RD, V_ABS, KADDR, 0x100000, PG, -EFAULT },
	{ "vaddr 0", 32, RD, V_ABS, 0, 0x100000, PG, -EFAULT },
	/* successes (undone after the row) */
	{ "read on read-only", 32, RD, V_RO, 0, 0x100000, 4 * PG, 0 },
	{ "read across two VMAs", 32, RD, V_MIXED, 0, 0x100000, 2 * PG, 0 },
	{ "write on rw half", 32, WR, V_MIXED, 0, 0x100000, PG, 0 },
	{ "argsz 64", 64, RW, V_MEM, 0, 0x100000, PG, 0 },
	{ "adjacent below", 32, RW, V_MEM, 0, BASE - PG, PG, 0 },
	{ "adjacent above", 32, RW, V_MEM, 0, BASE + 2 * PG, PG, 0 },
	{ "iova 0", 32, RW, V_MEM, 0, 0, PG, 0 },
	{ "below msi", 32, RW, V_MEM, 0, 0xfedff000, PG, 0 },
	{ "above msi", 32, RW, V_MEM, 0, 0xfef00000, PG, 0 },
	{ "aperture top", 32, RW, V_MEM, 0, (1ull << 48) - PG, PG, 0 },
	{ "big", 32, RW, V_MEM, 0, 1ull << 32, MEM_PAGES * PG, 0 },
};

static void run_map_rows(FvType1Config *cfg)
{
	FvType1 *t = mk_cfg(VFIO_TYPE1v2_IOMMU, cfg);

	assert_int_equal(map(t, mem, BASE, 2 * PG, RW), 0);
	for (size_t i = 0; i < sizeof(map_rows) / sizeof(map_rows[0]); i++) {
		const MapRow *r = &map_rows[i];
		struct vfio_iommu_type1_dma_map m = {
			.argsz = r->argsz, .flags = r->flags,
			.vaddr = vsrc(r->vkind, r->voff), .iova = r->iova,
			.size = r->size,
		}, copy = m;
		long ret = fv_type1_ioctl(t, &U, VFIO_IOMMU_MAP_DMA, PTR(&m));
		FvType1Mapping mp;

		if (ret != r->ret)
			fail_msg("%s: got %ld, want %ld", r->name, ret, r->ret);
		/* Nothing is ever written back. */
		assert_memory_equal(&m, &copy, sizeof(m));
		if (ret) {
			assert_int_equal(stats(t).mappings, 1);
			assert_int_equal(stats(t).dma_avail, 65534);
			continue;
		}
		assert_int_equal(stats(t).mappings, 2);
		assert_int_equal(stats(t).dma_avail, 65533);
		assert_true(fv_type1_lookup(t, r->iova + r->size - 1, &mp));
		assert_int_equal(mp.iova, r->iova);
		assert_int_equal(mp.size, r->size);
		assert_int_equal(mp.vaddr, m.vaddr);
		assert_int_equal(mp.prot, r->flags);
		assert_int_equal(mp.pid, getpid());
		assert_false(mp.vaddr_invalid);
		assert_int_equal(unmap(t, r->iova, r->size, 0, NULL), 0);
	}
	fv_type1_free(t);
}

static void test_map_errors(void **state)
{
	(void)state;
	run_map_rows(NULL);
}

static void test_map_errors_text(void **state)
{
	FvType1Config cfg;

	(void)state;
	fv_type1_config_init(&cfg);
	cfg.maps_text = true;
	run_map_rows(&cfg);
}

static void test_map_efault_arg(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	struct vfio_iommu_type1_dma_map m = {
		.argsz = 32, .flags = RW, .vaddr = PTR(mem), .iova = BASE, .size = PG,
	};
	void *p = at_guard(31);

	(void)state;
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_MAP_DMA, 8), -EFAULT);
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_MAP_DMA, KADDR), -EFAULT);
	memcpy(p, &m, 31);
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_MAP_DMA, PTR(p)), -EFAULT);
	/* A 32-byte argument right at the guard works (and needs no more). */
	p = at_guard(32);
	memcpy(p, &m, 32);
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_MAP_DMA, PTR(p)), 0);
	/* Read-only argument memory is fine: nothing is written back. */
	assert_int_equal(stats(t).mappings, 1);
	fv_type1_free(t);
}

static void test_map_order_enospc(void **state)
{
	FvType1Config cfg;
	FvType1 *t;

	(void)state;
	fv_type1_config_init(&cfg);
	cfg.dma_entry_limit = 2;
	t = mk_cfg(VFIO_TYPE1v2_IOMMU, &cfg);
	assert_int_equal(map(t, mem, BASE, PG, RW), 0);
	assert_int_equal(stats(t).dma_avail, 1);
	assert_int_equal(map(t, mem, BASE + PG, PG, RW), 0);
	assert_int_equal(stats(t).dma_avail, 0);
	/* EEXIST before ENOSPC; ENOSPC before the IOVA range and the pin. */
	assert_int_equal(map(t, mem, BASE, PG, RW), -EEXIST);
	assert_int_equal(map(t, mem, BASE + 2 * PG, PG, RW), -ENOSPC);
	assert_int_equal(map(t, mem, 0xfee00000, PG, RW), -ENOSPC);
	assert_int_equal(map(t, hole, BASE + 2 * PG, 3 * PG, RW), -ENOSPC);
	/* Alignment is checked before everything that needs the lock. */
	assert_int_equal(map(t, mem, BASE + 0x800, PG, RW), -EINVAL);
	assert_int_equal(unmap(t, BASE, PG, 0, NULL), 0);
	assert_int_equal(stats(t).dma_avail, 1);
	assert_int_equal(map(t, mem, BASE + 2 * PG, PG, RW), 0);
	assert_int_equal(stats(t).mappings, 2);
	/* A failed pin gives its slot back. */
	assert_int_equal(unmap(t, 0, 0, U_ALL, NULL), 0);
	assert_int_equal(map(t, hole, BASE, 3 * PG, RD), -EFAULT);
	assert_int_equal(stats(t).dma_avail, 2);
	fv_type1_free(t);

	/* dma_entry_limit 0: every map is ENOSPC. */
	cfg.dma_entry_limit = 0;
	t = mk_cfg(VFIO_TYPE1_IOMMU, &cfg);
	assert_int_equal(map(t, mem, BASE, PG, RW), -ENOSPC);
	fv_type1_free(t);
}

/* ---- UNMAP_DMA ---------------------------------------------------------- */

typedef struct UnmapRow {
	const char *name;
	uint32_t argsz, flags;
	uint64_t iova, size;
	uint64_t pgsize, bmsize;
	int bmkind;		/* 0: the test bitmap, 1: KADDR, 2: edge */
	bool tracking;
	long ret;
} UnmapRow;

static const UnmapRow unmap_rows[] = {
	{ "argsz 23", 23, 0, BASE, 2 * PG, 0, 0, 0, false, -EINVAL },
	{ "argsz 0", 0, 0, BASE, 2 * PG, 0, 0, 0, false, -EINVAL },
	{ "unknown flag", 24, 8, BASE, 2 * PG, 0, 0, 0, false, -EINVAL },
	{ "dirty + all", 48, U_DIRTY | U_ALL, 0, 0, PG, 8, 0, true, -EINVAL },
	{ "dirty + vaddr", 48, U_DIRTY | U_VADDR, BASE, 2 * PG, PG, 8, 0, true, -EINVAL },
	{ "dirty argsz 47", 47, U_DIRTY, BASE, 2 * PG, PG, 8, 0, true, -EINVAL },
	{ "dirty argsz 24", 24, U_DIRTY, BASE, 2 * PG, PG, 8, 0, true, -EINVAL },
	{ "dirty data kernel", 48, U_DIRTY, BASE, 2 * PG, PG, 8, 1, true, -EINVAL },
	{ "dirty data past task", 48, U_DIRTY, BASE, 2 * PG, PG, 8, 2, true, -EINVAL },
	{ "dirty bitmap size 0", 48, U_DIRTY, BASE, 2 * PG, PG, 0, 0, true, -EINVAL },
	{ "dirty bitmap small", 48, U_DIRTY, BASE, 65 * PG, PG, 8, 0, true, -EINVAL },
	{ "dirty bitmap huge", 48, U_DIRTY, BASE, 2 * PG, PG, 0x10000008, 0, true, -EINVAL },
	{ "dirty npages 0", 48, U_DIRTY, BASE, 0, PG, 8, 0, true, -EINVAL },
	{ "dirty pgsize 0", 48, U_DIRTY, BASE, 2 * PG, 0, 8, 0, true, -EINVAL },
	{ "dirty pgsize 8K", 48, U_DIRTY, BASE, 2 * PG, 2 * PG, 8, 0, true, -EINVAL },
	{ "dirty tracking off", 48, U_DIRTY, BASE, 2 * PG, PG, 8, 0, false, -EINVAL },
	{ "iova unaligned", 24, 0, BASE + 0x800, PG, 0, 0, 0, false, -EINVAL },
	{ "all + iova", 24, U_ALL, PG, 0, 0, 0, 0, false, -EINVAL },
	{ "all + size", 24, U_ALL, 0, PG, 0, 0, 0, false, -EINVAL },
	{ "all + unaligned iova", 24, U_ALL, 0x800, 0, 0, 0, 0, false, -EINVAL },
	{ "size 0", 24, 0, BASE, 0, 0, 0, 0, false, -EINVAL },
	{ "size unaligned", 24, 0, BASE, 0x1800, 0, 0, 0, false, -EINVAL },
	{ "wraps", 24, 0, 0xfffffffffffff000ull, 2 * PG, 0, 0, 0, false, -EINVAL },
	{ "bisects start", 24, 0, BASE + PG, PG, 0, 0, 0, false, -EINVAL },
	{ "bisects end", 24, 0, BASE - PG, 2 * PG, 0, 0, 0, false, -EINVAL },
	{ "bisects both", 24, 0, BASE + PG, 4 * PG, 0, 0, 0, false, -EINVAL },
	{ "vaddr bisects", 24, U_VADDR, BASE + PG, PG, 0, 0, 0, false, -EINVAL },
	{ "dirty bisects", 48, U_DIRTY, BASE + PG, PG, PG, 8, 0, true, -EINVAL },
	/* no mapping in the range: 0 with size 0 */
	{ "empty below", 24, 0, BASE - 4 * PG, 4 * PG, 0, 0, 0, false, 0 },
	{ "empty above", 24, 0, BASE + 2 * PG, 0x100000, 0, 0, 0, false, 0 },
	{ "empty far", 24, 0, 1ull << 47, 1ull << 40, 0, 0, 0, false, 0 },
	{ "empty vaddr", 24, U_VADDR, 0, PG, 0, 0, 0, false, 0 },
	{ "empty dirty", 48, U_DIRTY, 0, PG, PG, 8, 0, true, 0 },
	{ "argsz 4096", 4096, 0, 0, PG, 0, 0, 0, false, 0 },
};

static void test_unmap_errors(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	uint64_t bm[4];

	(void)state;
	assert_int_equal(map(t, mem, BASE, 2 * PG, RW), 0);
	for (size_t i = 0; i < sizeof(unmap_rows) / sizeof(unmap_rows[0]); i++) {
		const UnmapRow *r = &unmap_rows[i];
		uint64_t data = r->bmkind == 1 ? KADDR :
				r->bmkind == 2 ? 0x7ffffffff000ull : PTR(bm);
		uint64_t buf[6] = { 0 }, copy[6];
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = r->argsz, .flags = r->flags, .iova = r->iova,
			.size = r->size,
		};
		struct vfio_bitmap b = { .pgsize = r->pgsize, .size = r->bmsize,
					 .data = (__u64 *)(uintptr_t)data };
		long ret;

		assert_int_equal(dirty_flags(t, 8, r->tracking ? D_START : D_STOP), 0);
		memcpy(buf, &u, 24);
		memcpy((uint8_t *)buf + 24, &b, 24);
		memcpy(copy, buf, sizeof(buf));
		memset(bm, 0xaa, sizeof(bm));
		ret = fv_type1_ioctl(t, &U, VFIO_IOMMU_UNMAP_DMA, PTR(buf));
		if (ret != r->ret)
			fail_msg("%s: got %ld, want %ld", r->name, ret, r->ret);
		if (ret) {
			/* Nothing copied back on error. */
			assert_memory_equal(buf, copy, sizeof(buf));
		} else {
			/* size = 0 written back, the rest as it was. */
			copy[2] = 0;
			assert_memory_equal(buf, copy, sizeof(buf));
		}
		for (size_t k = 0; k < 4; k++)
			assert_int_equal(bm[k], 0xaaaaaaaaaaaaaaaaull);
		assert_int_equal(stats(t).mappings, 1);
		assert_int_equal(stats(t).vaddr_invalid, 0);
	}
	fv_type1_free(t);
}

static void test_unmap_efault_busy(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = 48, .flags = U_DIRTY, .iova = BASE, .size = 2 * PG,
	};
	uint8_t *p;

	(void)state;
	assert_int_equal(map(t, mem, BASE, 2 * PG, RW), 0);
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_UNMAP_DMA, 8), -EFAULT);
	p = at_guard(23);
	memcpy(p, &u, 23);
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_UNMAP_DMA, PTR(p)), -EFAULT);
	/* The vfio_bitmap after the header is unreadable (tracking off too). */
	p = at_guard(40);
	memcpy(p, &u, 24);
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_UNMAP_DMA, PTR(p)), -EFAULT);
	/* Success but the size cannot be written back (read-only). */
	assert_int_equal(dirty_flags(t, 8, D_STOP), 0);
	u.argsz = 24;
	u.flags = 0;
	memcpy(mixed + PG - 24, &u, 24);
	mprotect(mixed, PG, PROT_READ);
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_UNMAP_DMA,
					PTR(mixed + PG - 24)), -EFAULT);
	mprotect(mixed, PG, PROT_READ | PROT_WRITE);
	assert_int_equal(stats(t).mappings, 0);	/* it did unmap */

	/* VADDR with emulated groups: EBUSY, before any other check. */
	assert_int_equal(map(t, mem, BASE, 2 * PG, RW), 0);
	fv_type1_set_emulated_groups(t, 2);
	assert_int_equal(unmap(t, BASE + 0x800, 0, U_VADDR, NULL), -EBUSY);
	assert_int_equal(unmap(t, 0, 0, U_VADDR | U_ALL, NULL), -EBUSY);
	assert_int_equal(unmap(t, BASE, 2 * PG, 0, NULL), 0);
	fv_type1_set_emulated_groups(t, 0);
	fv_type1_free(t);
}

static void test_unmap_v1(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1_IOMMU);
	uint64_t sz;

	(void)state;
	/* A request starting inside a mapping: success, nothing unmapped. */
	assert_int_equal(map(t, mem, BASE, 2 * PG, RW), 0);
	assert_int_equal(unmap(t, BASE + PG, PG, 0, &sz), 0);
	assert_int_equal(sz, 0);
	assert_int_equal(stats(t).mappings, 1);
	/* ... even when a later mapping lies in the range. */
	assert_int_equal(map(t, mem, BASE + 4 * PG, PG, RW), 0);
	assert_int_equal(unmap(t, BASE + PG, 8 * PG, 0, &sz), 0);
	assert_int_equal(sz, 0);
	assert_int_equal(stats(t).mappings, 2);
	/* Covering only the first page: the whole mapping goes. */
	assert_int_equal(unmap(t, BASE, PG, 0, &sz), 0);
	assert_int_equal(sz, 2 * PG);
	assert_false(fv_type1_lookup(t, BASE + PG, NULL));
	/* Starting before a mapping and ending inside: all of it goes. */
	assert_int_equal(map(t, mem, BASE, 4 * PG, RW), 0);
	assert_int_equal(unmap(t, BASE - 2 * PG, 3 * PG, 0, &sz), 0);
	assert_int_equal(sz, 4 * PG);
	assert_int_equal(unmap(t, 0, 0, U_ALL, &sz), 0);
	assert_int_equal(sz, PG);
	/* Several mappings, the last extending past the request. */
	assert_int_equal(map(t, mem, BASE, PG, RW), 0);
	assert_int_equal(map(t, mem, BASE + PG, PG, RW), 0);
	assert_int_equal(map(t, mem, BASE + 3 * PG, 4 * PG, RW), 0);
	assert_int_equal(map(t, mem, BASE + 8 * PG, PG, RW), 0);
	assert_int_equal(stats(t).mappings, 4);
	assert_int_equal(unmap(t, BASE, 4 * PG, 0, &sz), 0);
	assert_int_equal(sz, 2 * PG + 4 * PG);
	assert_int_equal(stats(t).mappings, 1);
	assert_false(fv_type1_lookup(t, BASE + 6 * PG, NULL));
	assert_true(fv_type1_lookup(t, BASE + 8 * PG, NULL));
	/* Nothing in the range: 0, size 0. */
	assert_int_equal(unmap(t, BASE + 16 * PG, PG, 0, &sz), 0);
	assert_int_equal(sz, 0);
	/* DIRTY_PAGES is v2-only: EACCES before the argument is read. */
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_DIRTY_PAGES, 8), -EACCES);
	assert_int_equal(dirty_flags(t, 8, D_START), -EACCES);
	/* So GET_DIRTY_BITMAP can never find tracking on. */
	assert_int_equal(unmap_bm(t, 48, U_DIRTY, BASE + 8 * PG, PG, PG, 8,
				  PTR(mem), NULL), -EINVAL);
	assert_int_equal(stats(t).mappings, 1);
	fv_type1_free(t);
}

static void test_unmap_v2(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	uint64_t sz;

	(void)state;
	/* Two adjacent maps: separate entries, one unmap may take both ... */
	assert_int_equal(map(t, mem, BASE, PG, RW), 0);
	assert_int_equal(map(t, mem + PG, BASE + PG, PG, RW), 0);
	assert_int_equal(stats(t).mappings, 2);
	assert_int_equal(unmap(t, BASE, 2 * PG, 0, &sz), 0);
	assert_int_equal(sz, 2 * PG);
	assert_int_equal(stats(t).mappings, 0);
	/* ... or one of them: the seam is a mapping boundary. */
	assert_int_equal(map(t, mem, BASE, PG, RW), 0);
	assert_int_equal(map(t, mem + PG, BASE + PG, PG, RW), 0);
	assert_int_equal(unmap(t, BASE + PG, PG, 0, &sz), 0);
	assert_int_equal(sz, PG);
	assert_int_equal(unmap(t, BASE, PG, 0, &sz), 0);
	assert_int_equal(sz, PG);
	/* One map of two pages cannot be split. */
	assert_int_equal(map(t, mem, BASE, 2 * PG, RW), 0);
	assert_int_equal(unmap(t, BASE, PG, 0, &sz), -EINVAL);
	assert_int_equal(unmap(t, BASE + PG, PG, 0, &sz), -EINVAL);
	assert_int_equal(unmap(t, BASE - PG, 2 * PG, 0, &sz), -EINVAL);
	/* A request larger than the mappings with holes around is fine. */
	assert_int_equal(map(t, mem, BASE + 8 * PG, PG, RW), 0);
	assert_int_equal(unmap(t, BASE - 16 * PG, 64 * PG, 0, &sz), 0);
	assert_int_equal(sz, 3 * PG);
	assert_int_equal(stats(t).mappings, 0);
	/* Nothing mapped. */
	assert_int_equal(unmap(t, BASE, PG, 0, &sz), 0);
	assert_int_equal(sz, 0);
	/* A mapping ending at the aperture top. */
	assert_int_equal(map(t, mem, (1ull << 48) - 2 * PG, 2 * PG, RW), 0);
	assert_int_equal(unmap(t, (1ull << 48) - 2 * PG, 1ull << 40, 0, &sz), 0);
	assert_int_equal(sz, 2 * PG);
	fv_type1_free(t);

	/* NESTING is v2 too. */
	t = mk(VFIO_TYPE1_NESTING_IOMMU);
	assert_int_equal(map(t, mem, BASE, 2 * PG, RW), 0);
	assert_int_equal(unmap(t, BASE, PG, 0, &sz), -EINVAL);
	assert_int_equal(dirty_flags(t, 8, D_START), 0);
	fv_type1_free(t);
}

static void test_unmap_all(void **state)
{
	static const unsigned long types[] = {
		VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU,
	};

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		FvType1 *t = mk(types[k]);
		uint64_t sz = 1;

		assert_int_equal(unmap(t, 0, 0, U_ALL, &sz), 0);
		assert_int_equal(sz, 0);
		assert_int_equal(map(t, mem, 0, PG, RW), 0);
		assert_int_equal(map(t, mem, BASE, 3 * PG, RD), 0);
		assert_int_equal(map(t, mem, 0xfef00000, 2 * PG, WR), 0);
		assert_int_equal(map(t, mem, (1ull << 48) - PG, PG, RW), 0);
		assert_int_equal(stats(t).dma_avail, 65531);
		assert_int_equal(unmap(t, 0, 0, U_ALL, &sz), 0);
		assert_int_equal(sz, 7 * PG);
		assert_int_equal(stats(t).mappings, 0);
		assert_int_equal(stats(t).dma_avail, 65535);
		fv_type1_free(t);
	}
}

/* ---- VADDR invalidate / update ------------------------------------------ */

static void test_vaddr(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	uint8_t *a = mem, *b = mem + 16 * PG;
	uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, back[8];
	FvType1Mapping mp;
	uint64_t sz;

	(void)state;
	memset(mem, 0, 32 * PG);
	assert_int_equal(map(t, a, BASE, 2 * PG, RW), 0);
	assert_int_equal(map(t, a + 2 * PG, BASE + 2 * PG, PG, RW), 0);
	assert_int_equal(map(t, a + 4 * PG, BASE + 4 * PG, PG, RW), 0);
	/* Invalidate two of them: the size of both comes back. */
	assert_int_equal(unmap(t, BASE, 3 * PG, U_VADDR, &sz), 0);
	assert_int_equal(sz, 3 * PG);
	assert_int_equal(stats(t).vaddr_invalid, 2);
	assert_int_equal(stats(t).mappings, 3);
	assert_true(fv_type1_lookup(t, BASE, &mp));
	assert_true(mp.vaddr_invalid);
	/* DMA to an invalidated vaddr fails (the fake has no pages). */
	assert_int_equal(fv_type1_dma(t, BASE, data, 8, true), -EFAULT);
	assert_int_equal(fv_type1_dma(t, BASE + 4 * PG, data, 8, true), 0);
	/* Invalid already: EINVAL. */
	assert_int_equal(unmap(t, BASE + 2 * PG, 3 * PG, U_VADDR, &sz), -EINVAL);
	assert_int_equal(stats(t).vaddr_invalid, 2);
	/* A valid one, then an invalid one: the valid one is reverted. */
	assert_int_equal(map(t, a + 6 * PG, BASE + 6 * PG, PG, RW), 0);
	assert_int_equal(unmap(t, BASE + 6 * PG, PG, U_VADDR, &sz), 0);
	assert_int_equal(stats(t).vaddr_invalid, 3);
	sz = 1;
	assert_int_equal(unmap(t, BASE + 4 * PG, 3 * PG, U_VADDR, &sz), -EINVAL);
	assert_int_equal(sz, 3 * PG);		/* not written back */
	assert_int_equal(stats(t).vaddr_invalid, 3);
	assert_true(fv_type1_lookup(t, BASE + 4 * PG, &mp));
	assert_false(mp.vaddr_invalid);
	assert_int_equal(unmap(t, BASE + 4 * PG, PG, U_VADDR, &sz), 0);
	assert_int_equal(stats(t).vaddr_invalid, 4);
	assert_int_equal(unmap(t, BASE + 4 * PG, PG, U_VADDR, &sz), -EINVAL);
	assert_int_equal(stats(t).vaddr_invalid, 4);
	/* Update: exact iova/size only. */
	assert_int_equal(map(t, b, BASE, PG, VADDR), -EINVAL);
	assert_int_equal(map(t, b, BASE, 3 * PG, VADDR), -EINVAL);
	assert_int_equal(map(t, b, BASE + 8 * PG, PG, VADDR), -ENOENT);
	assert_int_equal(map(t, b, BASE, 2 * PG, VADDR | RD), -EINVAL);
	assert_int_equal(map(t, b, BASE, 2 * PG, VADDR), 0);
	assert_int_equal(stats(t).vaddr_invalid, 3);
	assert_int_equal(map(t, b, BASE, 2 * PG, VADDR), -EINVAL);	/* valid now */
	assert_true(fv_type1_lookup(t, BASE + PG, &mp));
	assert_int_equal(mp.vaddr, PTR(b));
	assert_false(mp.vaddr_invalid);
	/* DMA goes to the new address; prot is kept. */
	assert_int_equal(fv_type1_dma(t, BASE + PG + 8, data, 8, true), 0);
	assert_memory_equal(b + PG + 8, data, 8);
	assert_int_equal(a[PG + 8], 0);
	assert_int_equal(fv_type1_dma(t, BASE + PG + 8, back, 8, false), 0);
	assert_memory_equal(back, data, 8);
	/* An update does not check the new vaddr (the pages stay pinned). */
	assert_int_equal(map_raw(t, 32, VADDR, NOADDR, BASE + 2 * PG, PG), 0);
	assert_int_equal(stats(t).vaddr_invalid, 2);
	assert_int_equal(fv_type1_dma(t, BASE + 2 * PG, back, 8, false), -EFAULT);
	/* ALL|VADDR meets the invalid ones: A and B are reverted. */
	assert_int_equal(unmap(t, 0, 0, U_ALL | U_VADDR, &sz), -EINVAL);
	assert_int_equal(stats(t).vaddr_invalid, 2);
	/* Invalid mappings can still be unmapped. */
	assert_int_equal(unmap(t, 0, 0, U_ALL, &sz), 0);
	assert_int_equal(sz, 5 * PG);
	assert_int_equal(stats(t).vaddr_invalid, 0);
	/* ALL|VADDR invalidates everything. */
	assert_int_equal(map(t, a, BASE, PG, RW), 0);
	assert_int_equal(map(t, a, BASE + PG, PG, RW), 0);
	assert_int_equal(unmap(t, 0, 0, U_ALL | U_VADDR, &sz), 0);
	assert_int_equal(sz, 2 * PG);
	assert_int_equal(stats(t).vaddr_invalid, 2);
	fv_type1_release(t);
	assert_int_equal(stats(t).vaddr_invalid, 0);
	fv_type1_free(t);

	/* v1: VADDR follows the v1 walk (starting inside: nothing). */
	t = mk(VFIO_TYPE1_IOMMU);
	assert_int_equal(map(t, a, BASE, 2 * PG, RW), 0);
	assert_int_equal(unmap(t, BASE + PG, PG, U_VADDR, &sz), 0);
	assert_int_equal(sz, 0);
	assert_int_equal(unmap(t, BASE, PG, U_VADDR, &sz), 0);
	assert_int_equal(sz, 2 * PG);
	assert_int_equal(stats(t).vaddr_invalid, 1);
	fv_type1_free(t);
}

/* ---- device DMA ---------------------------------------------------------- */

static void test_dma(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	uint8_t *a = mem, *b = mem + 64 * PG, *w = mem + 128 * PG;
	uint8_t out[3 * PG], in[3 * PG];

	(void)state;
	memset(a, 0x11, 4 * PG);
	memset(b, 0x22, 4 * PG);
	memset(w, 0x33, 4 * PG);
	/* [BASE, +2P) -> a (rw), [BASE+2P, +P) -> b (rw): different buffers */
	assert_int_equal(map(t, a, BASE, 2 * PG, RW), 0);
	assert_int_equal(map(t, b, BASE + 2 * PG, PG, RW), 0);
	/* read-only and write-only mappings, with a hole before */
	assert_int_equal(map(t, w, BASE + 4 * PG, PG, RD), 0);
	assert_int_equal(map(t, w + PG, BASE + 5 * PG, PG, WR), 0);

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 1);
	/* A write spanning both mappings lands in both buffers. */
	assert_int_equal(fv_type1_dma(t, BASE + PG + 100, out, 2 * PG - 200,
				      true), 0);
	assert_memory_equal(a + PG + 100, out, PG - 100);
	assert_memory_equal(b, out + PG - 100, PG - 100);
	assert_int_equal(a[PG + 99], 0x11);
	assert_int_equal(b[PG - 100], 0x22);
	/* and reads back */
	memset(in, 0, sizeof(in));
	assert_int_equal(fv_type1_dma(t, BASE + PG + 100, in, 2 * PG - 200,
				      false), 0);
	assert_memory_equal(in, out, 2 * PG - 200);
	/* Zero length: nothing to do. */
	assert_int_equal(fv_type1_dma(t, 0, in, 0, true), 0);

	/* Unmapped (the page after b) -> -EFAULT, nothing written at all. */
	memset(a, 0x11, 2 * PG);
	memset(b, 0x22, PG);
	assert_int_equal(fv_type1_dma(t, BASE + PG, out, 3 * PG, true), -EFAULT);
	assert_int_equal(fv_type1_dma(t, BASE + 3 * PG - 4, out, 8, true), -EFAULT);
	assert_int_equal(fv_type1_dma(t, BASE - 4, out, 8, true), -EFAULT);
	assert_int_equal(fv_type1_dma(t, 0, out, 8, false), -EFAULT);
	assert_int_equal(fv_type1_dma(t, UINT64_MAX - 3, out, 8, false), -EFAULT);
	for (size_t i = 0; i < 2 * PG; i++)
		assert_int_equal(a[i], 0x11);
	for (size_t i = 0; i < PG; i++)
		assert_int_equal(b[i], 0x22);
	/* Permissions: write to a read-only mapping, read of a write-only. */
	assert_int_equal(fv_type1_dma(t, BASE + 4 * PG, out, 8, true), -EPERM);
	assert_int_equal(fv_type1_dma(t, BASE + 5 * PG, in, 8, false), -EPERM);
	assert_int_equal(fv_type1_dma(t, BASE + 5 * PG - 4, out, 8, true), -EPERM);
	for (size_t i = 0; i < 2 * PG; i++)
		assert_int_equal(w[i], 0x33);
	/* The first failing page decides: unmapped before permission. */
	assert_int_equal(fv_type1_dma(t, BASE + 3 * PG, out, 2 * PG, true), -EFAULT);
	assert_int_equal(fv_type1_dma(t, BASE + 4 * PG, out, 2 * PG, true), -EPERM);
	/* The allowed directions work. */
	assert_int_equal(fv_type1_dma(t, BASE + 4 * PG, in, 8, false), 0);
	assert_int_equal(in[0], 0x33);
	assert_int_equal(fv_type1_dma(t, BASE + 5 * PG, out, 8, true), 0);
	assert_memory_equal(w + PG, out, 8);
	/* The process unmaps the memory under a live mapping. */
	uint8_t *tmp = map_anon(PG, PROT_READ | PROT_WRITE);

	assert_int_equal(map(t, tmp, BASE + 8 * PG, PG, RW), 0);
	assert_int_equal(fv_type1_dma(t, BASE + 8 * PG, out, 8, true), 0);
	munmap(tmp, PG);
	assert_int_equal(fv_type1_dma(t, BASE + 8 * PG, out, 8, true), -EFAULT);
	assert_int_equal(fv_type1_dma(t, BASE + 8 * PG, in, 8, false), -EFAULT);
	/* After unmap the IOVA faults. */
	assert_int_equal(unmap(t, BASE, 2 * PG, 0, NULL), 0);
	assert_int_equal(fv_type1_dma(t, BASE, out, 8, true), -EFAULT);
	fv_type1_free(t);
}

/* DMA goes into the memory of the process that made the mapping. */
static void test_dma_other_process(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	uint8_t *buf = mem + 200 * PG;
	uint8_t out[16], in[16];
	/* Made before the fork: the child reads its own copy. */
	struct vfio_iommu_type1_dma_map m1 = {
		.argsz = 32, .flags = RW, .vaddr = PTR(buf), .iova = BASE,
		.size = PG,
	}, m2 = m1, m3 = m1, m4 = m1;
	int pipefd[2], ready[2];
	FvType1Mapping mp;
	char c;
	siginfo_t si;
	pid_t child;
	FvUser cu;

	(void)state;
	memset(buf, 0x44, 3 * PG);
	memset(out, 0x99, sizeof(out));
	m3.vaddr = PTR(buf + PG);
	m3.iova = BASE + 4 * PG;
	m4.flags = VADDR;
	m4.vaddr = PTR(buf + 2 * PG);
	m4.iova = BASE + 8 * PG;
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(pipe(ready), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(pipefd[1]);
		close(ready[0]);
		munmap(buf + PG, PG);	/* only in the child */
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		while (read(pipefd[0], &c, 1) < 0)
			;
		_exit(0);
	}
	close(pipefd[0]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	cu.pid = child;
	/* The argument is read in the child's memory, the vaddr is its. */
	assert_int_equal(fv_type1_ioctl(t, &cu, VFIO_IOMMU_MAP_DMA, PTR(&m1)), 0);
	/* "Pinning" looks at the caller's memory: unmapped in the child. */
	assert_int_equal(fv_type1_ioctl(t, &cu, VFIO_IOMMU_MAP_DMA, PTR(&m3)), -EFAULT);
	assert_int_equal(map(t, buf + PG, BASE + 4 * PG, PG, RW), 0);
	/* We map, invalidate; the child supplies the new vaddr and owns it. */
	assert_int_equal(map(t, buf + 2 * PG, BASE + 8 * PG, PG, RW), 0);
	assert_int_equal(unmap(t, BASE + 8 * PG, PG, U_VADDR, NULL), 0);
	assert_int_equal(fv_type1_ioctl(t, &cu, VFIO_IOMMU_MAP_DMA, PTR(&m4)), 0);
	assert_true(fv_type1_lookup(t, BASE + 8 * PG, &mp));
	assert_int_equal(mp.pid, child);
	assert_int_equal(fv_type1_dma(t, BASE + 8 * PG, out, sizeof(out), true), 0);
	assert_int_equal(buf[2 * PG], 0x44);
	assert_int_equal(fv_type1_dma(t, BASE + 8 * PG, in, sizeof(in), false), 0);
	assert_memory_equal(in, out, sizeof(out));

	assert_true(fv_type1_lookup(t, BASE, &mp));
	assert_int_equal(mp.pid, child);
	assert_int_equal(fv_type1_dma(t, BASE + 16, out, sizeof(out), true), 0);
	/* Our copy is untouched (copy-on-write), the child's has the data. */
	assert_int_equal(buf[16], 0x44);
	assert_int_equal(fv_type1_dma(t, BASE + 16, in, sizeof(in), false), 0);
	assert_memory_equal(in, out, sizeof(out));

	/* The child dies: its mappings fault, its maps cannot be pinned. */
	close(pipefd[1]);
	assert_int_equal(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(fv_type1_dma(t, BASE + 16, in, sizeof(in), false), -EFAULT);
	/* A zombie: the argument cannot be read. */
	m2.iova = BASE + PG;
	assert_int_equal(fv_type1_ioctl(t, &cu, VFIO_IOMMU_MAP_DMA, PTR(&m2)), -EFAULT);
	assert_int_equal(waitpid(child, NULL, 0), child);
	fv_type1_free(t);
}

/* ---- DIRTY_PAGES -------------------------------------------------------- */

typedef struct DirtyRow {
	const char *name;
	uint32_t argsz, flags;
	uint64_t iova, size, pgsize, bmsize;
	int bmkind;		/* 0: bm, 1: KADDR, 2: read-only memory */
	bool tracking;
	long ret;
} DirtyRow;

static const DirtyRow dirty_rows[] = {
	{ "argsz 7", 7, D_START, 0, 0, 0, 0, 0, true, -EINVAL },
	{ "argsz 0", 0, D_STOP, 0, 0, 0, 0, 0, true, -EINVAL },
	{ "unknown flag", 8, 8, 0, 0, 0, 0, 0, true, -EINVAL },
	{ "unknown + start", 8, D_START | 16, 0, 0, 0, 0, 0, true, -EINVAL },
	{ "no flag", 8, 0, 0, 0, 0, 0, 0, true, -EINVAL },
	{ "start + stop", 8, D_START | D_STOP, 0, 0, 0, 0, 0, true, -EINVAL },
	{ "stop + get", 48, D_STOP | D_GET, BASE, 2 * PG, PG, 8, 0, true, -EINVAL },
	{ "all three", 48, 7, BASE, 2 * PG, PG, 8, 0, true, -EINVAL },
	{ "get argsz 8", 8, D_GET, BASE, 2 * PG, PG, 8, 0, true, -EINVAL },
	{ "get argsz 47", 47, D_GET, BASE, 2 * PG, PG, 8, 0, true, -EINVAL },
	{ "iova+size wraps", 48, D_GET, 0xfffffffffffff000ull, 2 * PG, PG, 8, 0, true, -EINVAL },
	{ "data kernel", 48, D_GET, BASE, 2 * PG, PG, 8, 1, true, -EINVAL },
	{ "bitmap size 0", 48, D_GET, BASE, 2 * PG, PG, 0, 0, true, -EINVAL },
	{ "bitmap small", 48, D_GET, BASE, 65 * PG, PG, 8, 0, true, -EINVAL },
	{ "bitmap huge", 48, D_GET, BASE, 2 * PG, PG, 0x10000008, 0, true, -EINVAL },
	{ "size 0", 48, D_GET, BASE, 0, PG, 8, 0, true, -EINVAL },
	{ "size < pgsize", 48, D_GET, BASE, 0x800, PG, 8, 0, true, -EINVAL },
	{ "pgsize 0", 48, D_GET, BASE, 2 * PG, 0, 8, 0, true, -EINVAL },
	{ "pgsize 8K", 48, D_GET, BASE, 2 * PG, 2 * PG, 8, 0, true, -EINVAL },
	{ "pgsize 3K", 48, D_GET, BASE, 2 * PG, 0xc00, 8, 0, true, -EINVAL },
	{ "iova unaligned", 48, D_GET, BASE + 0x800, 2 * PG, PG, 8, 0, true, -EINVAL },
	{ "size unaligned", 48, D_GET, BASE, 0x1800, PG, 8, 0, true, -EINVAL },
	{ "tracking off", 48, D_GET, BASE, 2 * PG, PG, 8, 0, false, -EINVAL },
	{ "bisects start", 48, D_GET, BASE + PG, PG, PG, 8, 0, true, -EINVAL },
	{ "bisects end", 48, D_GET, BASE - PG, 2 * PG, PG, 8, 0, true, -EINVAL },
	{ "bitmap not writable", 48, D_GET, BASE, 2 * PG, PG, 8, 2, true, -EFAULT },
	/* successes */
	{ "start", 8, D_START, 0, 0, 0, 0, 0, true, 0 },
	{ "start again", 8, D_START, 0, 0, 0, 0, 0, true, 0 },
	{ "stop", 8, D_STOP, 0, 0, 0, 0, 0, false, 0 },
	{ "stop again", 8, D_STOP, 0, 0, 0, 0, 0, false, 0 },
	{ "start argsz 100", 100, D_START, 0, 0, 0, 0, 0, true, 0 },
	{ "get", 48, D_GET, BASE, 2 * PG, PG, 8, 0, true, 0 },
	{ "get, big argsz", 4096, D_GET, BASE, 2 * PG, PG, 8, 0, true, 0 },
	{ "get empty range", 48, D_GET, 0, PG, PG, 8, 0, true, 0 },
	{ "get range > bitmap", 48, D_GET, BASE, 64 * PG, PG, 8, 0, true, 0 },
};

static void test_dirty_errors(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	uint64_t bm[2];

	(void)state;
	assert_int_equal(map(t, mem, BASE, 2 * PG, RW), 0);
	for (size_t i = 0; i < sizeof(dirty_rows) / sizeof(dirty_rows[0]); i++) {
		const DirtyRow *r = &dirty_rows[i];
		uint64_t data = r->bmkind == 1 ? KADDR : r->bmkind == 2 ? PTR(ro) : PTR(bm);
		long ret;

		assert_int_equal(dirty_flags(t, 8, r->tracking ? D_START : D_STOP), 0);
		bm[0] = bm[1] = 0x5555;
		ret = dirty_get_raw(t, r->argsz, r->flags, r->iova, r->size,
				    r->pgsize, r->bmsize, data);
		if (ret != r->ret)
			fail_msg("%s: got %ld, want %ld", r->name, ret, r->ret);
		assert_int_equal(stats(t).dirty_tracking, r->tracking);
		if (r->flags == D_GET && !ret && r->iova == BASE) {
			assert_int_equal(bm[0], 3);	/* 6.1: all dirty */
		} else if (r->flags == D_GET && !ret) {
			assert_int_equal(bm[0], 0x5555);	/* nothing there */
		} else {
			assert_int_equal(bm[0], 0x5555);
		}
		assert_int_equal(bm[1], 0x5555);
	}
	/* EFAULT on the arguments themselves. */
	assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_DIRTY_PAGES, 8), -EFAULT);
	{
		struct vfio_iommu_type1_dirty_bitmap d = { .argsz = 48, .flags = D_GET };
		void *p = at_guard(7);

		memcpy(p, &d, 7);
		assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_DIRTY_PAGES,
						PTR(p)), -EFAULT);
		p = at_guard(47);
		memcpy(p, &d, 8);
		assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_DIRTY_PAGES,
						PTR(p)), -EFAULT);
		/* START needs only the 8-byte header. */
		d.argsz = 8;
		d.flags = D_START;
		p = at_guard(8);
		memcpy(p, &d, 8);
		assert_int_equal(fv_type1_ioctl(t, &U, VFIO_IOMMU_DIRTY_PAGES,
						PTR(p)), 0);
	}
	fv_type1_free(t);
}

static void test_dirty_61(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	uint64_t bm[4], sz;
	uint8_t x[8] = { 0 };

	(void)state;
	/* A: 2 pages at BASE; B: 3 pages at BASE + 4P (a 2-page gap). */
	assert_int_equal(map(t, mem, BASE, 2 * PG, RW), 0);
	assert_int_equal(map(t, mem, BASE + 4 * PG, 3 * PG, RD), 0);
	assert_int_equal(dirty_flags(t, 8, D_START), 0);
	assert_true(stats(t).dirty_tracking);
	/* Every page of every mapping is dirty, each time. */
	for (int round = 0; round < 2; round++) {
		bm[0] = 0xff00;
		bm[1] = 0x1234;
		assert_int_equal(dirty_get(t, BASE, 8 * PG, bm, 8), 0);
		/* A writes word 0 whole (0b11), B ORs into it at bit 4. */
		assert_int_equal(bm[0], 0x73);
		assert_int_equal(bm[1], 0x1234);
	}
	/* A range starting 2 pages before A: A at bit 2 and B at bit 6 are
	 * OR-ed into the word user space had there (bit 2 was set already). */
	bm[0] = 0x8000000000000005ull;
	assert_int_equal(dirty_get(t, BASE - 2 * PG, 10 * PG, bm, 8), 0);
	assert_int_equal(bm[0], 0x80000000000001cdull);
	/* A range with no mapping leaves the bitmap alone. */
	bm[0] = 0x77;
	assert_int_equal(dirty_get(t, BASE + 2 * PG, 2 * PG, bm, 8), 0);
	assert_int_equal(bm[0], 0x77);
	/* Device writes change nothing in this mode. */
	assert_int_equal(fv_type1_dma(t, BASE, x, 8, true), 0);
	bm[0] = 0;
	assert_int_equal(dirty_get(t, BASE + 4 * PG, 3 * PG, bm, 8), 0);
	assert_int_equal(bm[0], 7);
	/* UNMAP with the bitmap reports and unmaps. */
	bm[0] = 0;
	assert_int_equal(unmap_bm(t, 48, U_DIRTY, BASE, 8 * PG, PG, 8, PTR(bm),
				  &sz), 0);
	assert_int_equal(sz, 5 * PG);
	assert_int_equal(bm[0], 0x73);
	assert_int_equal(stats(t).mappings, 0);
	/* A mapping made while tracking is dirty too. */
	assert_int_equal(map(t, mem, BASE, 3 * PG, RW), 0);
	bm[0] = 0;
	assert_int_equal(dirty_get(t, BASE, 3 * PG, bm, 8), 0);
	assert_int_equal(bm[0], 7);
	/* STOP: GET is EINVAL, UNMAP with the bitmap too. */
	assert_int_equal(dirty_flags(t, 8, D_STOP), 0);
	assert_false(stats(t).dirty_tracking);
	assert_int_equal(dirty_get(t, BASE, 3 * PG, bm, 8), -EINVAL);
	assert_int_equal(unmap_bm(t, 48, U_DIRTY, BASE, 3 * PG, PG, 8, PTR(bm),
				  &sz), -EINVAL);
	assert_int_equal(stats(t).mappings, 1);
	fv_type1_free(t);
}

static void test_dirty_multiword(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	/* 2188 bitmap words: more than one 2048-word copy-out chunk. */
	size_t pages = 140000 + 5, words = (pages + 63) / 64;
	uint8_t *big = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t *bm = calloc(words + 2, 8), sz;

	(void)state;
	assert_true(big != MAP_FAILED);
	assert_non_null(bm);
	assert_int_equal(map(t, big, 1ull << 32, pages * PG, RW), 0);
	assert_int_equal(dirty_flags(t, 8, D_START), 0);
	memset(bm, 0xcc, (words + 2) * 8);
	assert_int_equal(dirty_get(t, 1ull << 32, pages * PG, bm, words * 8), 0);
	for (size_t k = 0; k + 1 < words; k++)
		assert_int_equal(bm[k], UINT64_MAX);
	assert_int_equal(words, 2188);
	assert_int_equal(bm[words - 1], 0x1fffffffffull);	/* 37 bits */
	assert_int_equal(bm[words], 0xccccccccccccccccull);
	/* Shifted by one page: every word is carried into the next. */
	memset(bm, 0, (words + 2) * 8);
	assert_int_equal(dirty_get(t, (1ull << 32) - PG, (pages + 1) * PG, bm,
				   words * 8), 0);
	assert_int_equal(bm[0], UINT64_MAX - 1);
	for (size_t k = 1; k + 1 < words; k++)
		assert_int_equal(bm[k], UINT64_MAX);
	assert_int_equal(bm[words - 1], 0x3fffffffffull);
	/* Writing the bitmap faults half-way: EFAULT. */
	assert_int_equal(dirty_get_raw(t, 48, D_GET, 1ull << 32, pages * PG, PG,
				       words * 8, PTR(at_guard(64))), -EFAULT);
	/* UNMAP(GET_DIRTY) with a faulting bitmap: EFAULT, nothing unmapped,
	 * no size back. */
	assert_int_equal(unmap_bm(t, 48, U_DIRTY, 1ull << 32, pages * PG, PG,
				  words * 8, PTR(at_guard(64)), &sz), -EFAULT);
	assert_int_equal(sz, pages * PG);	/* the request, untouched */
	assert_int_equal(stats(t).mappings, 1);
	/* A fault on the leftover read (mapping not at a word start). */
	assert_int_equal(dirty_get_raw(t, 48, D_GET, (1ull << 32) - PG,
				       (pages + 1) * PG, PG, words * 8,
				       PTR(guard + PG)), -EFAULT);
	free(bm);
	fv_type1_free(t);
	munmap(big, pages * PG);
}

static void test_dirty_precise(void **state)
{
	FvType1Config cfg;
	FvType1 *t;
	uint64_t bm[4], sz;
	uint8_t x[16] = { 0 };

	(void)state;
	fv_type1_config_init(&cfg);
	cfg.dirty_device_writes = true;
	t = mk_cfg(VFIO_TYPE1v2_IOMMU, &cfg);
	assert_int_equal(map(t, mem, BASE, 4 * PG, RW), 0);
	/* Writes before START are not recorded. */
	assert_int_equal(fv_type1_dma(t, BASE, x, 8, true), 0);
	assert_int_equal(dirty_flags(t, 8, D_START), 0);
	bm[0] = 0xf0;
	assert_int_equal(dirty_get(t, BASE, 4 * PG, bm, 8), 0);
	assert_int_equal(bm[0], 0);
	/* A write across pages 1 and 2; a read of page 3. */
	assert_int_equal(fv_type1_dma(t, BASE + 2 * PG - 8, x, 16, true), 0);
	assert_int_equal(fv_type1_dma(t, BASE + 3 * PG, x, 16, false), 0);
	assert_int_equal(dirty_get(t, BASE, 4 * PG, bm, 8), 0);
	assert_int_equal(bm[0], 0x6);
	/* Reported pages are clean again. */
	assert_int_equal(dirty_get(t, BASE, 4 * PG, bm, 8), 0);
	assert_int_equal(bm[0], 0);
	/* START again does not clear. */
	assert_int_equal(fv_type1_dma(t, BASE + 3 * PG + 4095, x, 1, true), 0);
	assert_int_equal(dirty_flags(t, 8, D_START), 0);
	assert_int_equal(dirty_get(t, BASE, 4 * PG, bm, 8), 0);
	assert_int_equal(bm[0], 0x8);
	/* STOP drops what was recorded. */
	assert_int_equal(fv_type1_dma(t, BASE, x, 1, true), 0);
	assert_int_equal(dirty_flags(t, 8, D_STOP), 0);
	assert_int_equal(fv_type1_dma(t, BASE + PG, x, 1, true), 0);
	assert_int_equal(dirty_flags(t, 8, D_START), 0);
	assert_int_equal(dirty_get(t, BASE, 4 * PG, bm, 8), 0);
	assert_int_equal(bm[0], 0);
	/* A mapping made while tracking records writes; bits past 64. */
	assert_int_equal(map(t, mem, BASE + 0x100000, 130 * PG, RW), 0);
	assert_int_equal(fv_type1_dma(t, BASE + 0x100000, x, 1, true), 0);
	assert_int_equal(fv_type1_dma(t, BASE + 0x100000 + 64 * PG, x, 1, true), 0);
	assert_int_equal(fv_type1_dma(t, BASE + 0x100000 + 129 * PG, x, 1, true), 0);
	memset(bm, 0xff, sizeof(bm));
	assert_int_equal(dirty_get(t, BASE + 0x100000, 130 * PG, bm, 24), 0);
	assert_int_equal(bm[0], 1);
	assert_int_equal(bm[1], 1);
	assert_int_equal(bm[2], 2);
	assert_int_equal(bm[3], UINT64_MAX);
	/* UNMAP(GET_DIRTY) reports the dirty pages of what it unmaps. */
	assert_int_equal(fv_type1_dma(t, BASE + 2 * PG, x, 1, true), 0);
	bm[0] = 0;
	assert_int_equal(unmap_bm(t, 48, U_DIRTY, BASE, 4 * PG, PG, 8, PTR(bm),
				  &sz), 0);
	assert_int_equal(sz, 4 * PG);
	assert_int_equal(bm[0], 4);
	assert_int_equal(stats(t).mappings, 1);
	fv_type1_free(t);
}

/* More than INT_MAX pages cannot be tracked (vfio_dma_bitmap_alloc). */
static void test_dirty_huge(void **state)
{
	size_t len = (8 * TB) + PG;	/* 2^31 + 1 pages */
	uint8_t *huge = mmap(NULL, len, PROT_READ,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	FvType1Config cfg;
	FvType1 *t;

	(void)state;
	if (huge == MAP_FAILED) {
		print_message("[  SKIP    ] cannot reserve 8 TiB of address space\n");
		skip();
	}
	for (int precise = 0; precise < 2; precise++) {
		fv_type1_config_init(&cfg);
		cfg.dirty_device_writes = precise;
		t = mk_cfg(VFIO_TYPE1v2_IOMMU, &cfg);
		assert_int_equal(map(t, mem, BASE, PG, RW), 0);
		assert_int_equal(map(t, huge, 16 * TB, len, RD), 0);
		assert_int_equal(dirty_flags(t, 8, D_START), -EINVAL);
		assert_false(stats(t).dirty_tracking);
		assert_int_equal(unmap(t, 16 * TB, len, 0, NULL), 0);
		assert_int_equal(dirty_flags(t, 8, D_START), 0);
		assert_int_equal(map(t, huge, 16 * TB, len, RD), -EINVAL);
		assert_int_equal(stats(t).mappings, 1);
		assert_int_equal(stats(t).dma_avail, 65534);
		/* INT_MAX pages are fine. */
		assert_int_equal(map(t, huge, 16 * TB, len - 2 * PG, RD), 0);
		fv_type1_free(t);
	}
	munmap(huge, len);
}

/* ---- release, iteration ----------------------------------------------- */

static bool collect(void *opaque, const FvType1Mapping *m)
{
	FvType1Mapping *out = opaque;
	unsigned i = 0;

	while (out[i].size)
		i++;
	out[i] = *m;
	return i < 3;		/* stop after the fourth */
}

static void test_release_foreach(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	static const uint64_t iovas[] = {
		0x900000, BASE, 0x40000000, 0x1000, 0x700000, 0x300000,
	};
	FvType1Mapping got[8];

	(void)state;
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(map(t, mem + i * PG, iovas[i], (i + 1) * PG,
				     i % 2 ? RD : RW), 0);
	memset(got, 0, sizeof(got));
	assert_int_equal(fv_type1_foreach(t, collect, got), 4);
	assert_int_equal(got[0].iova, 0x1000);
	assert_int_equal(got[0].size, 4 * PG);
	assert_int_equal(got[0].vaddr, PTR(mem + 3 * PG));
	assert_int_equal(got[0].prot, RD);
	assert_int_equal(got[1].iova, BASE);
	assert_int_equal(got[1].prot, RD);
	assert_int_equal(got[2].iova, 0x300000);
	assert_int_equal(got[2].size, 6 * PG);
	assert_int_equal(got[3].iova, 0x700000);
	assert_int_equal(got[3].prot, RW);
	assert_int_equal(got[3].pid, getpid());
	assert_int_equal(got[4].size, 0);
	assert_int_equal(stats(t).mappings, 6);
	fv_type1_release(t);
	assert_int_equal(stats(t).mappings, 0);
	assert_int_equal(stats(t).dma_avail, 65535);
	memset(got, 0, sizeof(got));
	assert_int_equal(fv_type1_foreach(t, collect, got), 0);
	assert_false(fv_type1_lookup(t, BASE, got));
	assert_int_equal(fv_type1_dma(t, BASE, got, 8, false), -EFAULT);
	/* Usable afterwards. */
	assert_int_equal(map(t, mem, BASE, PG, RW), 0);
	assert_int_equal(stats(t).mappings, 1);
	fv_type1_free(t);
}

/* The tree against a reference: random maps and unmaps. */
static void test_random(void **state)
{
	enum { SLOTS = 3000 };
	static uint8_t ref[SLOTS];	/* 0 free, else size in slots */
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	uint32_t seed = 12345;
	unsigned n = 0;

	(void)state;
	memset(ref, 0, sizeof(ref));
	for (int op = 0; op < 40000; op++) {
		unsigned s, len;
		bool is_map, free_run = true;
		long r;

		seed = seed * 1103515245u + 12345u;
		s = (seed >> 8) % SLOTS;
		len = 1 + (seed >> 4) % 3;
		is_map = (seed >> 20) & 1;
		if (s + len > SLOTS)
			continue;
		for (unsigned k = s; k < s + len; k++)
			for (unsigned j = k >= 3 ? k - 3 : 0; j <= k; j++)
				if (ref[j] && j + ref[j] > k)
					free_run = false;
		if (is_map) {
			r = map(t, mem, (uint64_t)s * PG, (uint64_t)len * PG, RW);
			assert_int_equal(r, free_run ? 0 : -EEXIST);
			if (!r) {
				ref[s] = (uint8_t)len;
				n++;
			}
		} else if (ref[s]) {
			uint64_t sz;

			assert_int_equal(unmap(t, (uint64_t)s * PG,
					       (uint64_t)ref[s] * PG, 0, &sz), 0);
			assert_int_equal(sz, (uint64_t)ref[s] * PG);
			ref[s] = 0;
			n--;
		}
		if (op % 5000 == 0)
			assert_int_equal(stats(t).mappings, n);
	}
	assert_int_equal(stats(t).mappings, n);
	for (unsigned s = 0; s < SLOTS; s++) {
		FvType1Mapping m;
		bool in = fv_type1_lookup(t, (uint64_t)s * PG + 5, &m);

		if (ref[s]) {
			assert_true(in);
			assert_int_equal(m.iova, (uint64_t)s * PG);
			assert_int_equal(m.size, (uint64_t)ref[s] * PG);
		}
	}
	fv_type1_free(t);
}

/* ---- threads ---------------------------------------------------------- */

typedef struct ThreadArg {
	FvType1 *t;
	uint64_t iova;
	int errors;
} ThreadArg;

static void *mapper(void *opaque)
{
	ThreadArg *a = opaque;

	for (int i = 0; i < 2000; i++) {
		uint64_t sz = 0;

		if (map(a->t, mem, a->iova, 2 * PG, RW) ||
		    unmap(a->t, a->iova, 2 * PG, 0, &sz) || sz != 2 * PG)
			a->errors++;
	}
	return NULL;
}

static void *dmaer(void *opaque)
{
	ThreadArg *a = opaque;
	uint8_t b[64];

	for (int i = 0; i < 20000; i++) {
		memset(b, i & 0xff, sizeof(b));
		if (fv_type1_dma(a->t, a->iova, b, sizeof(b), true) ||
		    fv_type1_dma(a->t, a->iova, b, sizeof(b), false) ||
		    b[63] != (i & 0xff))
			a->errors++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	pthread_t th[5];
	ThreadArg args[5];

	(void)state;
	assert_int_equal(map(t, mem + 300 * PG, 0x10000000, PG, RW), 0);
	for (int i = 0; i < 5; i++) {
		args[i].t = t;
		args[i].errors = 0;
		args[i].iova = i < 4 ? BASE + (uint64_t)i * 0x10000 : 0x10000000;
		assert_int_equal(pthread_create(&th[i], NULL,
						i < 4 ? mapper : dmaer, &args[i]), 0);
	}
	for (int i = 0; i < 5; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].errors, 0);
	}
	assert_int_equal(stats(t).mappings, 1);
	assert_int_equal(stats(t).dma_avail, 65534);
	fv_type1_free(t);
}

/* ---- timing ------------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_bench_65535(void **state)
{
	enum { N = 65535 };
	uint8_t *buf = mmap(NULL, (size_t)N * PG, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	FvType1 *t = mk(VFIO_TYPE1v2_IOMMU);
	double t0, t1, t2, t3;
	uint64_t sz;

	(void)state;
	assert_true(buf != MAP_FAILED);
	t0 = now();
	for (unsigned i = 0; i < N; i++)
		if (map(t, buf + (size_t)i * PG, (uint64_t)i * PG, PG, RW))
			fail_msg("map %u failed", i);
	t1 = now();
	assert_int_equal(stats(t).dma_avail, 0);
	assert_int_equal(map(t, buf, (uint64_t)N * PG, PG, RW), -ENOSPC);
	for (unsigned i = 0; i < N; i++)
		if (unmap(t, (uint64_t)i * PG, PG, 0, &sz) || sz != PG)
			fail_msg("unmap %u failed", i);
	t2 = now();
	assert_int_equal(stats(t).mappings, 0);
	/* Again, unmapping from the top down. */
	for (unsigned i = 0; i < N; i++)
		if (map(t, buf + (size_t)i * PG, (uint64_t)i * PG, PG, RW))
			fail_msg("map %u failed", i);
	for (unsigned i = N; i-- > 0;)
		if (unmap(t, (uint64_t)i * PG, PG, 0, &sz) || sz != PG)
			fail_msg("unmap %u failed", i);
	t3 = now();
	print_message("           65535 x 4K: map %.3f s (%.2f us each), "
		      "unmap %.3f s (%.2f us each); map+unmap top-down %.3f s\n",
		      t1 - t0, (t1 - t0) * 1e6 / N, t2 - t1, (t2 - t1) * 1e6 / N,
		      t3 - t2);
	fv_type1_free(t);
	munmap(buf, (size_t)N * PG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_extension),
		cmocka_unit_test(test_unknown_cmd),
		cmocka_unit_test(test_new_errors),
		cmocka_unit_test(test_get_info_layout),
		cmocka_unit_test(test_get_info_small),
		cmocka_unit_test(test_get_info_efault),
		cmocka_unit_test(test_get_info_config),
		cmocka_unit_test(test_map_errors),
		cmocka_unit_test(test_map_errors_text),
		cmocka_unit_test(test_map_efault_arg),
		cmocka_unit_test(test_map_order_enospc),
		cmocka_unit_test(test_unmap_errors),
		cmocka_unit_test(test_unmap_efault_busy),
		cmocka_unit_test(test_unmap_v1),
		cmocka_unit_test(test_unmap_v2),
		cmocka_unit_test(test_unmap_all),
		cmocka_unit_test(test_vaddr),
		cmocka_unit_test(test_dma),
		cmocka_unit_test(test_dma_other_process),
		cmocka_unit_test(test_dirty_errors),
		cmocka_unit_test(test_dirty_61),
		cmocka_unit_test(test_dirty_multiword),
		cmocka_unit_test(test_dirty_precise),
		cmocka_unit_test(test_dirty_huge),
		cmocka_unit_test(test_release_foreach),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_bench_65535),
	};

	return cmocka_run_group_tests_name("fv_type1", tests, group_setup, NULL);
}

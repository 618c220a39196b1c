/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/spapr: hypercalls and their parameter errors, TCE table contents,
 * the translate walk (bypass, out of window, permissions), IOMMU
 * notifications, DDW and EEH; and core/vfio's sPAPR container on a fake
 * VFIO layer: open() of /dev/vfio/... and ioctl() are interposed by this
 * program (its definitions win over libc's), answer like a POWER host's
 * vfio_iommu_spapr_tce.c and record every call.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/gmsi.h"
#include "core/machine.h"
#include "core/spapr.h"
#include "core/vfio.h"

/* ------------------------------------------------------------------ */
/* the fake VFIO layer                                                  */

#define MAX_CALLS 2048

typedef struct Call {
	unsigned long req;
	uint64_t a, b, c;	/* iova/size/vaddr, start/size/shift, op/... */
	uint32_t flags;
} Call;

static struct {
	bool active;
	int container_fd, group_fd;
	bool offer_v1, offer_v2, refuse_v2;
	int map_errno;		/* MAP_DMA fails with it */
	int create_errno_levels;	/* CREATE fails below this many levels */
	uint64_t create_start_override;	/* != 0: CREATE reports this start */
	int eeh_state;
	unsigned windows;	/* bit n: host window n exists */
	Call calls[MAX_CALLS];
	unsigned ncalls;
} fv;

static void record(unsigned long req, uint64_t a, uint64_t b, uint64_t c, uint32_t flags)
{
	if (fv.ncalls < MAX_CALLS)
		fv.calls[fv.ncalls++] = (Call){ req, a, b, c, flags };
}

static int fake_fd(void)
{
	return (int)syscall(SYS_memfd_create, "fakevfio", 0u);
}

static int real_open(const char *path, int flags, mode_t mode)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static int do_open(const char *path, int flags, mode_t mode)
{
	if (fv.active && !strcmp(path, "/dev/vfio/vfio"))
		return fv.container_fd = fake_fd();
	if (fv.active && !strcmp(path, "/dev/vfio/42"))
		return fv.group_fd = fake_fd();
	return real_open(path, flags, mode);
}

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = (flags & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;
	va_end(ap);
	return do_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = (flags & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;
	va_end(ap);
	return do_open(path, flags, mode);
}

static int fv_fail(int e)
{
	errno = e;
	return -1;
}

static int container_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION: {
		unsigned long ext = (unsigned long)arg;

		return (ext == VFIO_SPAPR_TCE_IOMMU && fv.offer_v1) ||
		       (ext == VFIO_SPAPR_TCE_v2_IOMMU && fv.offer_v2) ||
		       ext == VFIO_EEH;
	}
	case VFIO_SET_IOMMU:
		record(req, (unsigned long)arg, 0, 0, 0);
		if ((unsigned long)arg == VFIO_SPAPR_TCE_v2_IOMMU && fv.refuse_v2)
			return fv_fail(EINVAL);
		fv.windows = 1;
		return 0;
	case VFIO_IOMMU_ENABLE:
		record(req, 0, 0, 0, 0);
		return 0;
	case VFIO_IOMMU_SPAPR_TCE_GET_INFO: {
		struct vfio_iommu_spapr_tce_info *i = arg;

		record(req, 0, 0, 0, 0);
		i->flags = fv.offer_v2 ? VFIO_IOMMU_SPAPR_INFO_DDW : 0;
		i->dma32_window_start = 0;
		i->dma32_window_size = 1ull << 31;
		i->ddw.pgsizes = (1ull << 12) | (1ull << 16) | (1ull << 24);
		i->ddw.max_dynamic_windows_supported = 1;
		i->ddw.levels = 5;
		return 0;
	}
	case VFIO_IOMMU_SPAPR_TCE_REMOVE: {
		struct vfio_iommu_spapr_tce_remove *r = arg;
		unsigned n = r->start_addr == 0 ? 0 : r->start_addr == 1ull << 59 ? 1 : 2;

		record(req, r->start_addr, 0, 0, r->flags);
		if (n > 1 || !(fv.windows & (1u << n)))
			return fv_fail(EINVAL);
		fv.windows &= ~(1u << n);
		return 0;
	}
	case VFIO_IOMMU_SPAPR_TCE_CREATE: {
		struct vfio_iommu_spapr_tce_create *cr = arg;
		unsigned n = (fv.windows & 1) ? 1 : 0;

		record(req, cr->window_size, cr->page_shift, cr->levels, cr->flags);
		if ((int)cr->levels < fv.create_errno_levels)
			return fv_fail(ENOMEM);
		if (fv.windows & (1u << n))
			return fv_fail(ENOSPC);
		fv.windows |= 1u << n;
		cr->start_addr = fv.create_start_override ? fv.create_start_override
							   : n ? 1ull << 59 : 0;
		return 0;
	}
	case VFIO_IOMMU_SPAPR_REGISTER_MEMORY:
	case VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY: {
		struct vfio_iommu_spapr_register_memory *r = arg;

		record(req, r->vaddr, r->size, 0, r->flags);
		return 0;
	}
	case VFIO_IOMMU_MAP_DMA: {
		struct vfio_iommu_type1_dma_map *m = arg;

		record(req, m->iova, m->size, m->vaddr, m->flags);
		return fv.map_errno ? fv_fail(fv.map_errno) : 0;
	}
	case VFIO_IOMMU_UNMAP_DMA: {
		struct vfio_iommu_type1_dma_unmap *u = arg;

		record(req, u->iova, u->size, 0, u->flags);
		return 0;
	}
	case VFIO_EEH_PE_OP: {
		struct vfio_eeh_pe_op *o = arg;

		record(req, o->op, o->op == VFIO_EEH_PE_INJECT_ERR ? o->err.type : 0,
		       o->op == VFIO_EEH_PE_INJECT_ERR ? o->err.addr : 0, o->flags);
		return o->op == VFIO_EEH_PE_GET_STATE ? fv.eeh_state : 0;
	}
	}
	return fv_fail(ENOTTY);
}

int ioctl(int fd, unsigned long req, ...);

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fv.active && fd == fv.group_fd && fd >= 0) {
		if (req == VFIO_GROUP_GET_STATUS) {
			((struct vfio_group_status *)arg)->flags = VFIO_GROUP_FLAGS_VIABLE;
			return 0;
		}
		if (req == VFIO_GROUP_SET_CONTAINER || req == VFIO_GROUP_UNSET_CONTAINER) {
			record(req, 0, 0, 0, 0);
			return 0;
		}
		return fv_fail(ENOTTY);
	}
	if (fv.active && fd == fv.container_fd && fd >= 0)
		return container_ioctl(req, arg);
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

static void fv_reset(bool v1, bool v2)
{
	memset(&fv, 0, sizeof(fv));
	fv.container_fd = fv.group_fd = -1;
	fv.active = true;
	fv.offer_v1 = v1;
	fv.offer_v2 = v2;
}

/* The calls of one kind since index from, and the n-th of them. */
static unsigned count(unsigned long req, unsigned from)
{
	unsigned i, n = 0;

	for (i = from; i < fv.ncalls; i++)
		n += fv.calls[i].req == req;
	return n;
}

static const Call *nth(unsigned long req, unsigned from, unsigned n)
{
	unsigned i;

	for (i = from; i < fv.ncalls; i++)
		if (fv.calls[i].req == req && !n--)
			return &fv.calls[i];
	return NULL;
}

/* ---- warnings ---- */

static char warns[4096];

static void on_warn(const char *msg, void *opaque)
{
	(void)opaque;
	strncat(warns, msg, sizeof(warns) - strlen(warns) - 2);
	strcat(warns, "\n");
}

/* ------------------------------------------------------------------ */
/* fixtures                                                             */

typedef struct Fix {
	VfcMachine *m;
	VfcSpaprPhb *phb;
	uint32_t liobn;
	uint8_t *ram;
} Fix;

static int setup_ram(void **state, uint64_t ram_size)
{
	VfcMachineConfig cfg = { .ram_size = ram_size, .platform = VFC_PLATFORM_PSERIES };
	Error *err = NULL;
	Fix *f = calloc(1, sizeof(*f));

	f->m = vfc_machine_new(&cfg, &err);
	if (!f->m)
		fail_msg("%s", error_get_pretty(err));
	f->phb = vfc_machine_phb(f->m);
	f->liobn = vfc_spapr_default_liobn(f->phb);
	f->ram = vfc_machine_ram_ptr(f->m, 0, 1);
	warns[0] = 0;
	vfc_set_warn_handler(on_warn, NULL);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_ram(state, 64 << 20);
}

/* RAM that ends 4 KiB into a 64 KiB page. */
static int setup_odd(void **state)
{
	return setup_ram(state, (64 << 20) + 0x1000);
}

static int teardown(void **state)
{
	Fix *f = *state;

	/* A failed test may leave its group connected. */
	while (vfc_group_first())
		vfc_group_put(vfc_group_first());
	vfc_machine_free(f->m);
	vfc_set_warn_handler(NULL, NULL);
	fv.active = false;
	free(f);
	return 0;
}

/* A notifier that records what it sees. */
typedef struct Rec {
	GIommuNotifier n;
	GIommuTlbEntry e[64];
	unsigned count;
} Rec;

static void rec_notify(GIommuNotifier *n, const GIommuTlbEntry *e)
{
	Rec *r = n->opaque;

	if (r->count < 64)
		r->e[r->count] = *e;
	r->count++;
}

static void rec_attach(Rec *r, VfcSpaprTceTable *t)
{
	memset(r, 0, sizeof(*r));
	gmem_iommu_notifier_init(&r->n, rec_notify, GIOMMU_NOTIFY_ALL, 0, UINT64_MAX, r);
	assert_true(gmem_iommu_register_notifier(&t->iommu, &r->n, NULL));
}

/* ------------------------------------------------------------------ */
/* the machine and the PHB                                              */

static void test_machine_defaults(void **state)
{
	Fix *f = *state;
	VfcSpaprTceTable *t = vfc_spapr_find_table(f->phb, 0x80000000);
	VfcMachine *x86;
	VfcPlatform p;
	Error *err = NULL;

	assert_int_equal(vfc_machine_platform(f->m), VFC_PLATFORM_PSERIES);
	assert_int_equal(f->liobn, 0x80000000);
	assert_non_null(t);
	assert_int_equal(t->page_shift, 12);
	assert_int_equal(t->bus_offset, 0);
	assert_int_equal(t->nb_table, (1ull << 30) >> 12);
	assert_null(vfc_spapr_find_table(f->phb, 0x80000001));
	/* The bus's devices DMA through the PHB's space. */
	assert_ptr_equal(f->m->bus.iommu_opaque, f->phb);
	assert_int_equal(gmem_as_section_count(vfc_spapr_phb_dma_as(f->phb)), 1);

	x86 = vfc_machine_new(NULL, &err);
	assert_non_null(x86);
	assert_null(vfc_machine_phb(x86));
	assert_null(x86->bus.iommu_fn);
	vfc_machine_free(x86);

	assert_true(vfc_platform_parse("pseries", &p, NULL));
	assert_int_equal(p, VFC_PLATFORM_PSERIES);
	assert_false(vfc_platform_parse("s390x", &p, &err));
	assert_string_equal(error_get_pretty(err), "unknown platform 's390x' (x86 or pseries)");
	error_free(err);
}

static void test_machine_window_size(void **state)
{
	VfcMachineConfig cfg = { .platform = VFC_PLATFORM_PSERIES,
				 .dma_window_size = 256 << 20 };
	Error *err = NULL;
	VfcMachine *m = vfc_machine_new(&cfg, &err);

	(void)state;
	assert_non_null(m);
	assert_int_equal(vfc_machine_phb(m)->windows[0].nb_table, 65536);
	vfc_machine_free(m);
	cfg.dma_window_size = 0x1800;	/* not a multiple of 4 KiB */
	assert_null(vfc_machine_new(&cfg, &err));
	assert_string_equal(error_get_pretty(err),
			    "spapr: window size 0x1800 is not a multiple of the page size");
	error_free(err);
}

/* ------------------------------------------------------------------ */
/* hypercalls                                                           */

static void test_put_get(void **state)
{
	Fix *f = *state;
	VfcSpaprTceTable *t = vfc_spapr_find_table(f->phb, f->liobn);
	uint64_t tce = 0xdead;

	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x1000, 0x20000 | VFC_TCE_RW),
			 H_SUCCESS);
	assert_int_equal(vfc_spapr_h_get_tce(f->phb, f->liobn, 0x1000, &tce), H_SUCCESS);
	assert_int_equal(tce, 0x20003);
	/* The low bits of the IOBA are ignored. */
	assert_int_equal(vfc_spapr_h_get_tce(f->phb, f->liobn, 0x1fff, &tce), H_SUCCESS);
	assert_int_equal(tce, 0x20003);
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x2abc, 0x30001), H_SUCCESS);
	assert_int_equal(vfc_spapr_table_get(t, 2), 0x30001);
	assert_int_equal(vfc_spapr_table_get(t, 0), 0);
	assert_int_equal(t->live, 2);
	/* The last page of the window. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, (1ull << 30) - 0x1000, 0x40002),
			 H_SUCCESS);
	assert_int_equal(vfc_spapr_table_get(t, 262143), 0x40002);
	assert_int_equal(t->live, 3);
	/* Clearing. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x1000, 0), H_SUCCESS);
	assert_int_equal(t->live, 2);
	/* A TCE without permission is stored but not live. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x5000, 0x50000), H_SUCCESS);
	assert_int_equal(vfc_spapr_table_get(t, 5), 0x50000);
	assert_int_equal(t->live, 2);
	/* Two chunks of 512 entries: the first and the last. */
	assert_int_equal(t->chunk_bytes, 2 * 4096);
}

static void test_hcall_errors(void **state)
{
	Fix *f = *state;
	uint64_t tce = 0x77;

	/* Unknown LIOBN. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, 0x80000001, 0, 3), H_PARAMETER);
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, 0x12345, 0, 3), H_PARAMETER);
	assert_int_equal(vfc_spapr_h_get_tce(f->phb, 0x80000001, 0, &tce), H_PARAMETER);
	assert_int_equal(tce, 0x77);
	assert_int_equal(vfc_spapr_h_stuff_tce(f->phb, 0x80000001, 0, 0, 1), H_PARAMETER);
	assert_int_equal(vfc_spapr_h_put_tce_indirect(f->phb, 0x80000001, 0, 0x10000, 1),
			 H_PARAMETER);
	/* IOBA outside the window. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 1ull << 30, 3), H_PARAMETER);
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, ~0ull, 3), H_PARAMETER);
	assert_int_equal(vfc_spapr_h_get_tce(f->phb, f->liobn, 1ull << 30, &tce), H_PARAMETER);
	assert_int_equal(tce, 0x77);
	/* Indirect: count, alignment of the list, list outside RAM, count 0. */
	assert_int_equal(vfc_spapr_h_put_tce_indirect(f->phb, f->liobn, 0, 0x10000, 513),
			 H_PARAMETER);
	assert_int_equal(vfc_spapr_h_put_tce_indirect(f->phb, f->liobn, 0, 0x10008, 1),
			 H_PARAMETER);
	assert_int_equal(vfc_spapr_h_put_tce_indirect(f->phb, f->liobn, 0, 64 << 20, 1),
			 H_PARAMETER);
	assert_int_equal(vfc_spapr_h_put_tce_indirect(f->phb, f->liobn, 0, 0x10000, 0),
			 H_PARAMETER);
	/* Stuff: more pages than the table, or count 0. */
	assert_int_equal(vfc_spapr_h_stuff_tce(f->phb, f->liobn, 0, 0, 262145), H_PARAMETER);
	assert_int_equal(vfc_spapr_h_stuff_tce(f->phb, f->liobn, 0, 0, 0), H_PARAMETER);
	/* Nothing was written by any of them. */
	assert_int_equal(vfc_spapr_find_table(f->phb, f->liobn)->chunk_bytes, 0);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void test_indirect(void **state)
{
	Fix *f = *state;
	VfcSpaprTceTable *t = vfc_spapr_find_table(f->phb, f->liobn);
	unsigned i;

	for (i = 0; i < 512; i++)
		put_be64(f->ram + 0x10000 + i * 8, (0x100000ull + i * 0x1000) | VFC_TCE_RW);
	assert_int_equal(vfc_spapr_h_put_tce_indirect(f->phb, f->liobn, 0x200000, 0x10000, 512),
			 H_SUCCESS);
	assert_int_equal(t->live, 512);
	assert_int_equal(vfc_spapr_table_get(t, 0x200), 0x100003);
	assert_int_equal(vfc_spapr_table_get(t, 0x200 + 511), 0x100003 + 511 * 0x1000);
	assert_int_equal(vfc_spapr_table_get(t, 0x200 + 512), 0);
	/* Running off the window's end: the entries before stay, then H_PARAMETER. */
	assert_int_equal(vfc_spapr_h_put_tce_indirect(f->phb, f->liobn,
						       (1ull << 30) - 2 * 0x1000, 0x10000, 4),
			 H_PARAMETER);
	assert_int_equal(vfc_spapr_table_get(t, 262142), 0x100003);
	assert_int_equal(vfc_spapr_table_get(t, 262143), 0x101003);
	assert_int_equal(t->live, 514);
}

static void test_stuff(void **state)
{
	Fix *f = *state;
	VfcSpaprTceTable *t = vfc_spapr_find_table(f->phb, f->liobn);
	uint64_t tce;

	assert_int_equal(vfc_spapr_h_stuff_tce(f->phb, f->liobn, 0x3000, 0x9001, 4), H_SUCCESS);
	assert_int_equal(t->live, 4);
	for (unsigned i = 3; i < 7; i++) {
		assert_int_equal(vfc_spapr_h_get_tce(f->phb, f->liobn, (uint64_t)i << 12, &tce),
				 H_SUCCESS);
		assert_int_equal(tce, 0x9001);
	}
	assert_int_equal(vfc_spapr_h_get_tce(f->phb, f->liobn, 0x7000, &tce), H_SUCCESS);
	assert_int_equal(tce, 0);
	assert_int_equal(vfc_spapr_h_stuff_tce(f->phb, f->liobn, 0x3000, 0, 4), H_SUCCESS);
	assert_int_equal(t->live, 0);
	/* Past the end: the pages inside are written, then H_PARAMETER. */
	assert_int_equal(vfc_spapr_h_stuff_tce(f->phb, f->liobn, (1ull << 30) - 0x1000, 1, 2),
			 H_PARAMETER);
	assert_int_equal(t->live, 1);
}

/* ------------------------------------------------------------------ */
/* the translate walk (seed 8.1.1, 8.1.1.2)                             */

static void test_translate(void **state)
{
	Fix *f = *state;
	GAddressSpace *as = vfc_spapr_phb_dma_as(f->phb);
	VfcSpaprTceTable *t = vfc_spapr_find_table(f->phb, f->liobn);
	uint64_t xlat = 0, len;
	bool denied = false;
	GMemRegion *mr;
	GIommuTlbEntry e;
	uint32_t v;

	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x1000, 0x20000 | VFC_TCE_RW), 0);
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x2000, 0x30000 | VFC_TCE_READ), 0);
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x3000, 0x40000 | VFC_TCE_WRITE), 0);

	e = vfc_spapr_translate(t, 0x1234);
	assert_int_equal(e.iova, 0x1000);
	assert_int_equal(e.translated_addr, 0x20000);
	assert_int_equal(e.addr_mask, 0xfff);
	assert_int_equal(e.perm, GIOMMU_RW);
	assert_ptr_equal(e.target_as, &f->m->as_mem);

	/* RW page: RAM at 0x20040, cut at the page end. */
	len = 0x2000;
	mr = gmem_translate(as, 0x1040, true, &xlat, &len, &denied);
	assert_ptr_equal(mr, &f->m->ram);
	assert_int_equal(xlat, 0x20040);
	assert_int_equal(len, 0xfc0);
	/* RO page: reads go, writes are denied. */
	len = 4;
	assert_ptr_equal(gmem_translate(as, 0x2000, false, &xlat, &len, &denied), &f->m->ram);
	assert_int_equal(xlat, 0x30000);
	len = 4;
	assert_null(gmem_translate(as, 0x2000, true, &xlat, &len, &denied));
	assert_true(denied);
	/* WO page: the other way round. */
	len = 4;
	denied = false;
	assert_null(gmem_translate(as, 0x3000, false, &xlat, &len, &denied));
	assert_true(denied);
	len = 4;
	assert_ptr_equal(gmem_translate(as, 0x3000, true, &xlat, &len, &denied), &f->m->ram);
	/* In the window without a TCE: denied. */
	len = 4;
	denied = false;
	assert_null(gmem_translate(as, 0x5000, false, &xlat, &len, &denied));
	assert_true(denied);
	/* Out of the window: nothing there; the table itself says no access. */
	len = 4;
	denied = true;
	assert_null(gmem_translate(as, 1ull << 30, false, &xlat, &len, &denied));
	assert_false(denied);
	e = vfc_spapr_translate(t, 1ull << 30);
	assert_int_equal(e.perm, GIOMMU_NONE);

	/* Device DMA through the PHB lands in guest RAM. */
	v = 0xefbeadde;
	assert_int_equal(gmem_write(as, 0x1040, &v, 4), GMEM_OK);
	assert_memory_equal(f->ram + 0x20040, "\xde\xad\xbe\xef", 4);
	assert_int_equal(gmem_write(as, 0x2040, &v, 4), GMEM_DENIED);
	assert_int_equal(gmem_write(as, 0x40000000, &v, 4), GMEM_UNASSIGNED);

	/* Bypass: the identity, whatever the table says. */
	vfc_spapr_table_set_bypass(t, true);
	e = vfc_spapr_translate(t, 0x5678);
	assert_int_equal(e.iova, 0);
	assert_int_equal(e.translated_addr, 0);
	assert_int_equal(e.addr_mask, ~0ull);
	assert_int_equal(e.perm, GIOMMU_RW);
	len = 4;
	assert_ptr_equal(gmem_translate(as, 0x2040, true, &xlat, &len, &denied), &f->m->ram);
	assert_int_equal(xlat, 0x2040);
	vfc_spapr_table_set_bypass(t, false);
	len = 4;
	assert_null(gmem_translate(as, 0x2040, true, &xlat, &len, &denied));
}

/* ------------------------------------------------------------------ */
/* notifications                                                        */

static void test_notify(void **state)
{
	Fix *f = *state;
	VfcSpaprTceTable *t = vfc_spapr_find_table(f->phb, f->liobn);
	Rec r;

	rec_attach(&r, t);
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x1000, 0x20000 | VFC_TCE_READ), 0);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.e[0].iova, 0x1000);
	assert_int_equal(r.e[0].translated_addr, 0x20000);
	assert_int_equal(r.e[0].addr_mask, 0xfff);
	assert_int_equal(r.e[0].perm, GIOMMU_RO);
	/* Clearing an empty entry says nothing; clearing a live one unmaps. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x7000, 0), 0);
	assert_int_equal(r.count, 1);
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x1000, 0), 0);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.e[1].iova, 0x1000);
	assert_int_equal(r.e[1].perm, GIOMMU_NONE);
	/* Stuff: one event per page. */
	assert_int_equal(vfc_spapr_h_stuff_tce(f->phb, f->liobn, 0x10000, 0x50003, 3), 0);
	assert_int_equal(r.count, 5);
	assert_int_equal(r.e[4].iova, 0x12000);
	assert_int_equal(r.e[4].perm, GIOMMU_RW);

	/* Bypass: the live entries go, then the RAM in the window (64 MiB, one block). */
	vfc_spapr_table_set_bypass(t, true);
	assert_int_equal(r.count, 9);
	assert_int_equal(r.e[5].perm, GIOMMU_NONE);
	assert_int_equal(r.e[7].iova, 0x12000);
	assert_int_equal(r.e[8].iova, 0);
	assert_int_equal(r.e[8].translated_addr, 0);
	assert_int_equal(r.e[8].addr_mask, (64 << 20) - 1);
	assert_int_equal(r.e[8].perm, GIOMMU_RW);
	/* Puts while in bypass only change the table. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x1000, 0x20003), 0);
	assert_int_equal(r.count, 9);
	vfc_spapr_table_set_bypass(t, false);
	assert_int_equal(r.count, 14);
	assert_int_equal(r.e[9].perm, GIOMMU_NONE);
	assert_int_equal(r.e[9].addr_mask, (64 << 20) - 1);
	assert_int_equal(r.e[10].iova, 0x1000);
	assert_int_equal(r.e[10].perm, GIOMMU_RW);

	/* Replay tells a late notifier the live entries. */
	{
		Rec late;

		rec_attach(&late, t);
		gmem_iommu_replay(&t->iommu, &late.n, 4096);
		assert_int_equal(late.count, 4);
		assert_int_equal(late.e[0].iova, 0x1000);
		assert_int_equal(late.e[3].iova, 0x12000);
		gmem_iommu_unregister_notifier(&late.n);
	}
	gmem_iommu_unregister_notifier(&r.n);
}

/* ------------------------------------------------------------------ */
/* DDW                                                                  */

static void test_ddw(void **state)
{
	Fix *f = *state;
	uint32_t liobn = 0;
	uint64_t start = 0, tce = 0, pgsizes = 0, maxp = 0;
	unsigned avail = 0;

	assert_int_equal(vfc_spapr_ddw_query(f->phb, &avail, &maxp, &pgsizes), RTAS_OUT_SUCCESS);
	assert_int_equal(avail, 1);
	assert_int_equal(pgsizes, 0x1211000);	/* 4K, 64K, 2M, 16M (QEMU's pgsz) */
	/* Page size not offered, window smaller than a page. */
	assert_int_equal(vfc_spapr_ddw_create(f->phb, 13, 30, &liobn, &start),
			 RTAS_OUT_PARAM_ERROR);
	assert_int_equal(vfc_spapr_ddw_create(f->phb, 16, 15, &liobn, &start),
			 RTAS_OUT_PARAM_ERROR);
	assert_int_equal(vfc_spapr_ddw_create(f->phb, 16, 32, &liobn, &start), RTAS_OUT_SUCCESS);
	assert_int_equal(liobn, 0x80000001);
	assert_int_equal(start, 1ull << 59);
	/* No third window. */
	assert_int_equal(vfc_spapr_ddw_create(f->phb, 16, 32, &liobn, &start), RTAS_OUT_HW_ERROR);
	assert_int_equal(vfc_spapr_ddw_query(f->phb, &avail, NULL, NULL), RTAS_OUT_SUCCESS);
	assert_int_equal(avail, 0);
	/* The DDW takes TCEs at its bus address, in 64 KiB pages. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, 0x80000001, (1ull << 59) + 0x30000,
					     0x100000 | VFC_TCE_RW), H_SUCCESS);
	assert_int_equal(vfc_spapr_h_get_tce(f->phb, 0x80000001, (1ull << 59) + 0x3ffff, &tce),
			 H_SUCCESS);
	assert_int_equal(tce, 0x100003);
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, 0x80000001, 0x30000, 3), H_PARAMETER);
	assert_int_equal(gmem_as_section_count(vfc_spapr_phb_dma_as(f->phb)), 2);
	/* Remove: unknown LIOBN, then the DDW, then the default window. */
	assert_int_equal(vfc_spapr_ddw_remove(f->phb, 0x80000005), RTAS_OUT_PARAM_ERROR);
	assert_int_equal(vfc_spapr_ddw_remove(f->phb, 0x80000001), RTAS_OUT_SUCCESS);
	assert_int_equal(vfc_spapr_ddw_remove(f->phb, 0x80000001), RTAS_OUT_PARAM_ERROR);
	assert_int_equal(vfc_spapr_ddw_remove(f->phb, 0x80000000), RTAS_OUT_SUCCESS);
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, 0x80000000, 0, 3), H_PARAMETER);
	assert_int_equal(gmem_as_section_count(vfc_spapr_phb_dma_as(f->phb)), 0);
	/* With no window left, a new one goes where the default one was. */
	assert_int_equal(vfc_spapr_ddw_create(f->phb, 12, 28, &liobn, &start), RTAS_OUT_SUCCESS);
	assert_int_equal(liobn, 0x80000000);
	assert_int_equal(start, 0);
	assert_int_equal(vfc_spapr_ddw_reset(f->phb), RTAS_OUT_SUCCESS);
	assert_int_equal(vfc_spapr_find_table(f->phb, 0x80000000)->nb_table, 262144);
	/*
	 * Removing the last window, when it is not the default one, brings
	 * the default window back (LoPAPR; QEMU's def_win).
	 */
	assert_int_equal(vfc_spapr_ddw_create(f->phb, 16, 32, &liobn, &start), RTAS_OUT_SUCCESS);
	assert_int_equal(vfc_spapr_ddw_remove(f->phb, 0x80000000), RTAS_OUT_SUCCESS);
	assert_null(vfc_spapr_find_table(f->phb, 0x80000000));
	assert_int_equal(vfc_spapr_ddw_remove(f->phb, 0x80000001), RTAS_OUT_SUCCESS);
	assert_non_null(vfc_spapr_find_table(f->phb, 0x80000000));
	assert_int_equal(vfc_spapr_find_table(f->phb, 0x80000000)->nb_table, 262144);
	assert_int_equal(vfc_spapr_find_table(f->phb, 0x80000000)->bus_offset, 0);
	assert_null(vfc_spapr_find_table(f->phb, 0x80000001));
	assert_int_equal(gmem_as_section_count(vfc_spapr_phb_dma_as(f->phb)), 1);
}

static void test_eeh_without_container(void **state)
{
	Fix *f = *state;
	int st = 99;

	assert_false(vfc_spapr_eeh_available(f->phb));
	assert_int_equal(vfc_spapr_eeh_set_option(f->phb, 0, RTAS_EEH_DISABLE),
			 RTAS_OUT_PARAM_ERROR);
	assert_int_equal(vfc_spapr_eeh_get_state(f->phb, &st), RTAS_OUT_PARAM_ERROR);
	assert_int_equal(st, 99);
	assert_int_equal(vfc_spapr_eeh_reset(f->phb, RTAS_SLOT_RESET_HOT), RTAS_OUT_PARAM_ERROR);
	assert_int_equal(vfc_spapr_eeh_configure(f->phb), RTAS_OUT_PARAM_ERROR);
	assert_int_equal(vfc_spapr_eeh_inject(f->phb, 0, 0, 0, 0), RTAS_OUT_PARAM_ERROR);
}

/* ------------------------------------------------------------------ */
/* the VFIO container on a (fake) POWER host                            */

static VfcGroup *connect(Fix *f)
{
	Error *err = NULL;
	VfcGroup *g = vfc_group_get(42, vfc_spapr_phb_dma_as(f->phb), &err);

	if (!g)
		fail_msg("%s", error_get_pretty(err));
	return g;
}

static void test_vfio_v2_connect(void **state)
{
	Fix *f = *state;
	VfcGroup *g;
	const Call *c;

	fv_reset(true, true);
	g = connect(f);
	assert_int_equal(g->container->iommu_type, VFIO_SPAPR_TCE_v2_IOMMU);
	assert_string_equal(vfc_container_iommu_name(g->container), "sPAPR TCE v2");
	/* SET_IOMMU(7), guest RAM pre-registered, info, default window removed,
	 * then the guest's window created. */
	assert_int_equal(fv.calls[1].req, VFIO_SET_IOMMU);
	assert_int_equal(fv.calls[1].a, VFIO_SPAPR_TCE_v2_IOMMU);
	assert_int_equal(fv.calls[2].req, VFIO_IOMMU_SPAPR_REGISTER_MEMORY);
	assert_int_equal(fv.calls[2].a, (uint64_t)(uintptr_t)f->ram);
	assert_int_equal(fv.calls[2].b, 64 << 20);
	assert_int_equal(fv.calls[3].req, VFIO_IOMMU_SPAPR_TCE_GET_INFO);
	assert_int_equal(fv.calls[4].req, VFIO_IOMMU_SPAPR_TCE_REMOVE);
	assert_int_equal(fv.calls[4].a, 0);
	assert_int_equal(fv.calls[5].req, VFIO_IOMMU_SPAPR_TCE_CREATE);
	assert_int_equal(fv.calls[5].a, 1ull << 30);
	assert_int_equal(fv.calls[5].b, 12);
	assert_int_equal(fv.calls[5].c, 2);	/* 2^21 bytes of TCEs, 2^20 a level */
	assert_int_equal(fv.ncalls, 6);
	assert_int_equal(count(VFIO_IOMMU_ENABLE, 0), 0);
	assert_int_equal(g->container->nhostwins, 1);
	assert_int_equal(g->container->hostwins[0].max_iova, (1ull << 30) - 1);
	assert_int_equal(g->container->nr_prereg, 1);
	assert_true(vfc_spapr_eeh_available(f->phb));

	vfc_group_put(g);
	/* The window's range unmapped, the window removed, RAM unregistered, group out. */
	c = nth(VFIO_IOMMU_UNMAP_DMA, 6, 0);
	assert_non_null(c);
	assert_int_equal(c->a, 0);
	assert_int_equal(c->b, 1ull << 30);
	c = nth(VFIO_IOMMU_SPAPR_TCE_REMOVE, 6, 0);
	assert_non_null(c);
	assert_int_equal(c->a, 0);
	assert_int_equal(count(VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, 6), 1);
	assert_int_equal(fv.calls[fv.ncalls - 1].req, VFIO_GROUP_UNSET_CONTAINER);
	assert_string_equal(warns, "");
}

static void test_vfio_notifier_map_unmap(void **state)
{
	Fix *f = *state;
	VfcGroup *g;
	unsigned from;
	const Call *c;
	unsigned i;

	fv_reset(true, true);
	g = connect(f);
	from = fv.ncalls;
	/* RW TCE -> MAP_DMA READ|WRITE of the page, at the RAM's host address. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x1000, 0x20000 | VFC_TCE_RW), 0);
	c = nth(VFIO_IOMMU_MAP_DMA, from, 0);
	assert_non_null(c);
	assert_int_equal(c->a, 0x1000);
	assert_int_equal(c->b, 0x1000);
	assert_int_equal(c->c, (uint64_t)(uintptr_t)(f->ram + 0x20000));
	assert_int_equal(c->flags, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	/* Read-only TCE -> READ only; write-only -> READ|WRITE (the seed). */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x2000, 0x30000 | VFC_TCE_READ), 0);
	assert_int_equal(nth(VFIO_IOMMU_MAP_DMA, from, 1)->flags, VFIO_DMA_MAP_FLAG_READ);
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x3000, 0x40000 | VFC_TCE_WRITE), 0);
	assert_int_equal(nth(VFIO_IOMMU_MAP_DMA, from, 2)->flags,
			 VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	/* Clearing -> UNMAP_DMA of the page. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x1000, 0), 0);
	c = nth(VFIO_IOMMU_UNMAP_DMA, from, 0);
	assert_non_null(c);
	assert_int_equal(c->a, 0x1000);
	assert_int_equal(c->b, 0x1000);
	assert_int_equal(c->flags, 0);
	/* A TCE outside guest RAM: reported, nothing mapped. */
	from = fv.ncalls;
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x4000, 0x8000000 | VFC_TCE_RW), 0);
	assert_int_equal(count(VFIO_IOMMU_MAP_DMA, from), 0);
	assert_non_null(strstr(warns, "iommu map to non memory area 0x8000000 (iova 0x4000)"));
	/* Indirect: 512 MAP_DMA, in order. */
	from = fv.ncalls;
	for (i = 0; i < 512; i++)
		put_be64(f->ram + 0x10000 + i * 8, (0x100000ull + i * 0x1000) | VFC_TCE_RW);
	assert_int_equal(vfc_spapr_h_put_tce_indirect(f->phb, f->liobn, 0x200000, 0x10000, 512), 0);
	assert_int_equal(count(VFIO_IOMMU_MAP_DMA, from), 512);
	assert_int_equal(nth(VFIO_IOMMU_MAP_DMA, from, 511)->a, 0x200000 + 511 * 0x1000);
	/* A failing MAP_DMA is reported with its errno. */
	warns[0] = 0;
	fv.map_errno = ENOSPC;
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x5000, 0x50003), H_SUCCESS);
	assert_non_null(strstr(warns, "vfio_dma_map(container"));
	assert_non_null(strstr(warns, ", 0x5000, 0x1000, "));
	assert_non_null(strstr(warns, ") = -28 (No space left on device)"));
	fv.map_errno = 0;
	vfc_group_put(g);
}

static void test_vfio_ddw(void **state)
{
	Fix *f = *state;
	VfcGroup *g;
	uint32_t liobn;
	uint64_t start;
	unsigned from;
	const Call *c;

	fv_reset(true, true);
	g = connect(f);
	from = fv.ncalls;
	/*
	 * Guest DDW: 4 GiB of 64 KiB pages -> host window at 1 << 59, in
	 * IOMMU pages no larger than a RAM page (QEMU: qemu_minrampagesize,
	 * here the 4 KiB host page): 2^20 entries, 2 levels.
	 */
	assert_int_equal(vfc_spapr_ddw_create(f->phb, 16, 32, &liobn, &start), RTAS_OUT_SUCCESS);
	c = nth(VFIO_IOMMU_SPAPR_TCE_CREATE, from, 0);
	assert_non_null(c);
	assert_int_equal(c->a, 1ull << 32);
	assert_int_equal(c->b, 12);
	assert_int_equal(c->c, 2);
	assert_int_equal(g->container->nhostwins, 2);
	/* A 64 KiB TCE -> a 64 KiB MAP_DMA at the bus address. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, liobn, start + 0x20000, 0x100003), 0);
	c = nth(VFIO_IOMMU_MAP_DMA, from, 0);
	assert_int_equal(c->a, (1ull << 59) + 0x20000);
	assert_int_equal(c->b, 0x10000);
	assert_int_equal(c->c, (uint64_t)(uintptr_t)(f->ram + 0x100000));
	/* Granularity: a 64 KiB page that runs off the end of RAM. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, liobn, start, (64 << 20) | 3), 0);
	assert_int_equal(count(VFIO_IOMMU_MAP_DMA, from), 1);
	assert_non_null(strstr(warns, "iommu has granularity incompatible with target AS "
				      "(iova 0x800000000000000: 0x1000 of 0x10000 bytes are RAM)"));
	/* Remove: each live TCE unmapped, the range unmapped, the host window gone. */
	from = fv.ncalls;
	assert_int_equal(vfc_spapr_ddw_remove(f->phb, liobn), RTAS_OUT_SUCCESS);
	assert_int_equal(count(VFIO_IOMMU_UNMAP_DMA, from), 3);
	assert_int_equal(nth(VFIO_IOMMU_UNMAP_DMA, from, 0)->a, 1ull << 59);
	assert_int_equal(nth(VFIO_IOMMU_UNMAP_DMA, from, 1)->a, (1ull << 59) + 0x20000);
	assert_int_equal(nth(VFIO_IOMMU_UNMAP_DMA, from, 1)->b, 0x10000);
	assert_int_equal(nth(VFIO_IOMMU_UNMAP_DMA, from, 2)->a, 1ull << 59);
	assert_int_equal(nth(VFIO_IOMMU_UNMAP_DMA, from, 2)->b, 1ull << 32);
	assert_int_equal(nth(VFIO_IOMMU_SPAPR_TCE_REMOVE, from, 0)->a, 1ull << 59);
	assert_int_equal(g->container->nhostwins, 1);
	/* A 2 MiB-page DDW, a size the host does not offer: 4 KiB host pages. */
	from = fv.ncalls;
	assert_int_equal(vfc_spapr_ddw_create(f->phb, 21, 32, &liobn, &start), RTAS_OUT_SUCCESS);
	c = nth(VFIO_IOMMU_SPAPR_TCE_CREATE, from, 0);
	assert_non_null(c);
	assert_int_equal(c->b, 12);
	assert_int_equal(g->container->nhostwins, 2);
	assert_int_equal(vfc_spapr_ddw_remove(f->phb, liobn), RTAS_OUT_SUCCESS);
	assert_int_equal(g->container->nhostwins, 1);
	/* The host puts a window elsewhere: refused, reported, taken back. */
	warns[0] = 0;
	fv.create_start_override = 1ull << 40;
	from = fv.ncalls;
	assert_int_equal(vfc_spapr_ddw_create(f->phb, 16, 32, &liobn, &start), RTAS_OUT_SUCCESS);
	assert_non_null(strstr(warns, "Failed to create SPAPR window: Host doesn't support "
				      "DMA window at 0x800000000000000, must be 0x10000000000"));
	assert_int_equal(nth(VFIO_IOMMU_SPAPR_TCE_REMOVE, from, 0)->a, 1ull << 40);
	assert_int_equal(g->container->nhostwins, 1);
	vfc_spapr_ddw_remove(f->phb, liobn);
	vfc_group_put(g);
}

static void test_vfio_create_levels(void **state)
{
	Fix *f = *state;
	VfcGroup *g;

	fv_reset(true, true);
	fv.create_errno_levels = 4;	/* host memory too fragmented below 4 */
	g = connect(f);
	assert_int_equal(count(VFIO_IOMMU_SPAPR_TCE_CREATE, 0), 3);
	assert_int_equal(nth(VFIO_IOMMU_SPAPR_TCE_CREATE, 0, 0)->c, 2);
	assert_int_equal(nth(VFIO_IOMMU_SPAPR_TCE_CREATE, 0, 2)->c, 4);
	vfc_group_put(g);
}

static void test_vfio_v1(void **state)
{
	Fix *f = *state;
	VfcGroup *g;
	unsigned from;

	fv_reset(true, false);
	g = connect(f);
	assert_int_equal(g->container->iommu_type, VFIO_SPAPR_TCE_IOMMU);
	/* The seed's path: SET_IOMMU(2), ENABLE, GET_INFO; no prereg, no windows. */
	assert_int_equal(fv.calls[1].req, VFIO_SET_IOMMU);
	assert_int_equal(fv.calls[1].a, VFIO_SPAPR_TCE_IOMMU);
	assert_int_equal(fv.calls[2].req, VFIO_IOMMU_ENABLE);
	assert_int_equal(fv.calls[3].req, VFIO_IOMMU_SPAPR_TCE_GET_INFO);
	assert_int_equal(fv.ncalls, 4);
	assert_int_equal(g->container->pgsizes, 0x1000);
	assert_int_equal(g->container->hostwins[0].max_iova, (1ull << 31) - 1);
	from = fv.ncalls;
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x1000, 0x20003), 0);
	assert_int_equal(nth(VFIO_IOMMU_MAP_DMA, from, 0)->a, 0x1000);
	/* A DDW cannot be followed on v1: reported. */
	{
		uint32_t liobn;
		uint64_t start;

		assert_int_equal(vfc_spapr_ddw_create(f->phb, 16, 32, &liobn, &start), 0);
		assert_non_null(strstr(warns, "can't map guest IOVA region "
					      "0x800000000000000..0x8000000ffffffff"));
		assert_int_equal(vfc_spapr_ddw_remove(f->phb, liobn), 0);
	}
	vfc_group_put(g);
	assert_int_equal(count(VFIO_IOMMU_SPAPR_TCE_REMOVE, 0), 0);
}

static void test_vfio_v2_refused(void **state)
{
	Fix *f = *state;
	VfcGroup *g;

	fv_reset(true, true);
	fv.refuse_v2 = true;
	g = connect(f);
	assert_int_equal(g->container->iommu_type, VFIO_SPAPR_TCE_IOMMU);
	assert_int_equal(fv.calls[1].a, VFIO_SPAPR_TCE_v2_IOMMU);
	assert_int_equal(fv.calls[2].a, VFIO_SPAPR_TCE_IOMMU);
	assert_int_equal(fv.calls[3].req, VFIO_IOMMU_ENABLE);
	vfc_group_put(g);
}

static void test_vfio_replay(void **state)
{
	Fix *f = *state;
	VfcGroup *g;

	/* TCEs put before the container exists are mapped by the replay. */
	assert_int_equal(vfc_spapr_h_put_tce(f->phb, f->liobn, 0x9000, 0x90003), 0);
	fv_reset(true, true);
	g = connect(f);
	assert_int_equal(count(VFIO_IOMMU_MAP_DMA, 0), 1);
	assert_int_equal(nth(VFIO_IOMMU_MAP_DMA, 0, 0)->a, 0x9000);
	vfc_group_put(g);
}

/* A device that calls itself vfio-pci, with MSI-X: what EEH looks for. */
typedef struct EehDev {
	GPciDevice pdev;
	unsigned msix_flag_writes;	/* config writes to the MSI-X flags */
	uint32_t last_flags;
} EehDev;

static bool eehdev_realize(GPciDevice *pdev, Error **errp)
{
	return gmsix_init_exclusive_bar(pdev, 4, 0, errp) == 0;
}

static void eehdev_write(GPciDevice *pdev, uint32_t addr, uint32_t val, int len)
{
	EehDev *d = pdev->opaque;

	if (pdev->msix_cap && addr == pdev->msix_cap + 2u && len == 2) {
		d->msix_flag_writes++;
		d->last_flags = val;
	}
	gpci_default_write_config(pdev, addr, val, len);
}

static void eehdev_exit(GPciDevice *pdev)
{
	gmsix_uninit(pdev);
}

static const GPciDeviceClass eehdev_class = {
	.type = "vfio-pci",
	.vendor_id = 0x1b36,
	.device_id = 0x0005,
	.realize = eehdev_realize,
	.exit = eehdev_exit,
	.config_write = eehdev_write,
};

/*
 * QEMU's spapr_phb_vfio_eeh_set_option: ENABLE wants a vfio-pci device on
 * the address's bus, any devfn; spapr_phb_vfio_eeh_pre_reset: a hot or
 * fundamental reset first turns MSI-X off and resets it on every vfio-pci
 * device.
 */
static void test_vfio_eeh_devices(void **state)
{
	Fix *f = *state;
	EehDev d = { .msix_flag_writes = 0 };
	Error *err = NULL;
	VfcGroup *g;
	unsigned from;

	fv_reset(true, true);
	g = connect(f);
	assert_int_equal(vfc_spapr_eeh_set_option(f->phb, 0x800, RTAS_EEH_ENABLE),
			 RTAS_OUT_PARAM_ERROR);
	gpci_device_init(&d.pdev, &eehdev_class, &f->m->bus, GPCI_DEVFN(3, 0), NULL, &d);
	assert_true(gpci_device_realize(&d.pdev, &err));
	assert_null(err);
	from = fv.ncalls;
	/* devfn 1 (0x100) is empty; bus 1 is not this PHB's. */
	assert_int_equal(vfc_spapr_eeh_set_option(f->phb, 0x100, RTAS_EEH_ENABLE),
			 RTAS_OUT_SUCCESS);
	assert_int_equal(vfc_spapr_eeh_set_option(f->phb, 0x10000, RTAS_EEH_ENABLE),
			 RTAS_OUT_PARAM_ERROR);
	assert_int_equal(count(VFIO_EEH_PE_OP, from), 1);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 0)->a, VFIO_EEH_PE_ENABLE);
	/* The guest turns MSI-X on; a hot reset turns it off first. */
	gpci_config_write(&d.pdev, d.pdev.msix_cap + 2u, 0x8000, 2);
	assert_true(gmsix_enabled(&d.pdev));
	d.msix_flag_writes = 0;
	assert_int_equal(vfc_spapr_eeh_reset(f->phb, RTAS_SLOT_RESET_HOT), RTAS_OUT_SUCCESS);
	assert_int_equal(d.msix_flag_writes, 1);
	assert_int_equal(d.last_flags & 0x8000, 0);
	assert_false(gmsix_enabled(&d.pdev));
	/* Off already: no config write, the reset still happens. */
	assert_int_equal(vfc_spapr_eeh_reset(f->phb, RTAS_SLOT_RESET_FUNDAMENTAL),
			 RTAS_OUT_SUCCESS);
	assert_int_equal(d.msix_flag_writes, 1);
	/* DEACTIVATE does not touch MSI-X. */
	gpci_config_write(&d.pdev, d.pdev.msix_cap + 2u, 0x8000, 2);
	d.msix_flag_writes = 0;
	assert_int_equal(vfc_spapr_eeh_reset(f->phb, RTAS_SLOT_RESET_DEACTIVATE),
			 RTAS_OUT_SUCCESS);
	assert_int_equal(d.msix_flag_writes, 0);
	assert_true(gmsix_enabled(&d.pdev));
	gpci_device_unrealize(&d.pdev);
	vfc_group_put(g);
}

static void test_vfio_eeh(void **state)
{
	Fix *f = *state;
	VfcGroup *g;
	unsigned from;
	int st = -1;

	fv_reset(true, true);
	g = connect(f);
	from = fv.ncalls;
	fv.eeh_state = VFIO_EEH_PE_STATE_STOPPED;
	assert_int_equal(vfc_spapr_eeh_set_option(f->phb, 0, RTAS_EEH_DISABLE), RTAS_OUT_SUCCESS);
	/* ENABLE needs a vfio-pci device at the address: none here. */
	assert_int_equal(vfc_spapr_eeh_set_option(f->phb, 0x800, RTAS_EEH_ENABLE),
			 RTAS_OUT_PARAM_ERROR);
	assert_int_equal(vfc_spapr_eeh_set_option(f->phb, 0, RTAS_EEH_THAW_IO), RTAS_OUT_SUCCESS);
	assert_int_equal(vfc_spapr_eeh_set_option(f->phb, 0, RTAS_EEH_THAW_DMA), RTAS_OUT_SUCCESS);
	assert_int_equal(vfc_spapr_eeh_set_option(f->phb, 0, 7), RTAS_OUT_PARAM_ERROR);
	assert_int_equal(vfc_spapr_eeh_get_state(f->phb, &st), RTAS_OUT_SUCCESS);
	assert_int_equal(st, VFIO_EEH_PE_STATE_STOPPED);
	assert_int_equal(vfc_spapr_eeh_reset(f->phb, RTAS_SLOT_RESET_HOT), RTAS_OUT_SUCCESS);
	assert_int_equal(vfc_spapr_eeh_reset(f->phb, RTAS_SLOT_RESET_FUNDAMENTAL), RTAS_OUT_SUCCESS);
	assert_int_equal(vfc_spapr_eeh_reset(f->phb, RTAS_SLOT_RESET_DEACTIVATE), RTAS_OUT_SUCCESS);
	assert_int_equal(vfc_spapr_eeh_reset(f->phb, 2), RTAS_OUT_PARAM_ERROR);
	assert_int_equal(vfc_spapr_eeh_configure(f->phb), RTAS_OUT_SUCCESS);
	assert_int_equal(vfc_spapr_eeh_inject(f->phb, 4, 2, 0x1000, 0xfff), RTAS_OUT_SUCCESS);
	assert_int_equal(count(VFIO_EEH_PE_OP, from), 9);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 0)->a, VFIO_EEH_PE_DISABLE);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 1)->a, VFIO_EEH_PE_UNFREEZE_IO);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 2)->a, VFIO_EEH_PE_UNFREEZE_DMA);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 3)->a, VFIO_EEH_PE_GET_STATE);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 4)->a, VFIO_EEH_PE_RESET_HOT);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 5)->a, VFIO_EEH_PE_RESET_FUNDAMENTAL);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 6)->a, VFIO_EEH_PE_RESET_DEACTIVATE);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 7)->a, VFIO_EEH_PE_CONFIGURE);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 8)->a, VFIO_EEH_PE_INJECT_ERR);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 8)->b, 4);
	assert_int_equal(nth(VFIO_EEH_PE_OP, from, 8)->c, 0x1000);
	vfc_group_put(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_machine_defaults),
		cmocka_unit_test(test_machine_window_size),
		T(test_put_get),
		T(test_hcall_errors),
		T(test_indirect),
		T(test_stuff),
		T(test_translate),
		T(test_notify),
		T(test_ddw),
		T(test_eeh_without_container),
		T(test_vfio_v2_connect),
		T(test_vfio_notifier_map_unmap),
		cmocka_unit_test_setup_teardown(test_vfio_ddw, setup_odd, teardown),
		T(test_vfio_create_levels),
		T(test_vfio_v1),
		T(test_vfio_v2_refused),
		T(test_vfio_replay),
		T(test_vfio_eeh),
		T(test_vfio_eeh_devices),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

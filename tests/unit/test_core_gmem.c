/* SPDX-License-Identifier: GPL-2.0-or-later */
/* core/gmem: flat views, priorities, listeners, accesses, IOMMU regions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/gmem.h"
#include "corecheck.h"

/* ---- helpers ------------------------------------------------------------ */

/* Check the i-th section of as. */
static void sect(GAddressSpace *as, size_t i, uint64_t addr, uint64_t size,
		 GMemRegion *mr, uint64_t offset)
{
	GMemSection s;

	if (!gmem_as_section(as, i, &s))
		fail_msg("no section %zu", i);
	if (s.offset_within_address_space != addr || s.size != size ||
	    s.mr != mr || s.offset_within_region != offset)
		fail_msg("section %zu: [0x%llx +0x%llx] %s+0x%llx, want [0x%llx +0x%llx] %s+0x%llx",
			 i, (unsigned long long)s.offset_within_address_space,
			 (unsigned long long)s.size, s.mr->name,
			 (unsigned long long)s.offset_within_region,
			 (unsigned long long)addr, (unsigned long long)size,
			 mr->name, (unsigned long long)offset);
	assert_ptr_equal(s.as, as);
}

/* A listener that logs "tag add|del ADDR+SIZE name@OFF[ ram][ ro][ iommu]". */
typedef struct Rec {
	GMemListener l;
	char tag;
	char (*log)[96];
	size_t *n;
	unsigned begins, commits;
} Rec;

#define LOG_MAX 64
static char g_log[LOG_MAX][96];
static size_t g_nlog;

static void rec_line(Rec *r, const char *what, const GMemSection *s)
{
	if (*r->n >= LOG_MAX)
		fail_msg("log full");
	snprintf(r->log[(*r->n)++], 96, "%c %s 0x%llx+0x%llx %s@0x%llx%s%s%s",
		 r->tag, what, (unsigned long long)s->offset_within_address_space,
		 (unsigned long long)s->size, s->mr->name,
		 (unsigned long long)s->offset_within_region,
		 s->is_ram ? " ram" : "", s->readonly ? " ro" : "",
		 s->is_iommu ? " iommu" : "");
	if (s->is_ram)
		assert_ptr_equal(s->host, (uint8_t *)gmem_region_ram_ptr(s->mr) +
				 s->offset_within_region);
	else
		assert_null(s->host);
}

static void rec_add(GMemListener *l, const GMemSection *s)
{
	rec_line((Rec *)l, "add", s);
}

static void rec_del(GMemListener *l, const GMemSection *s)
{
	rec_line((Rec *)l, "del", s);
}

static void rec_begin(GMemListener *l)
{
	((Rec *)l)->begins++;
}

static void rec_commit(GMemListener *l)
{
	((Rec *)l)->commits++;
}

static void rec_init(Rec *r, char tag, int prio)
{
	memset(r, 0, sizeof(*r));
	r->l.region_add = rec_add;
	r->l.region_del = rec_del;
	r->l.begin = rec_begin;
	r->l.commit = rec_commit;
	r->l.priority = prio;
	r->tag = tag;
	r->log = g_log;
	r->n = &g_nlog;
}

static void log_reset(void)
{
	g_nlog = 0;
}

/* Compare the log with a NULL-terminated list of lines, then clear it. */
static void log_expect(const char *first, ...)
{
	va_list ap;
	const char *want = first;
	size_t i = 0;

	va_start(ap, first);
	while (want) {
		if (i >= g_nlog)
			fail_msg("log line %zu missing, want '%s'", i, want);
		if (strcmp(g_log[i], want))
			fail_msg("log line %zu: '%s', want '%s'", i, g_log[i], want);
		i++;
		want = va_arg(ap, const char *);
	}
	va_end(ap);
	if (i != g_nlog)
		fail_msg("unexpected log line %zu: '%s'", i, g_log[i]);
	log_reset();
}

/* An MMIO device that logs its calls and has 16 bytes of registers. */
typedef struct MmioCall {
	uint64_t addr;
	unsigned size;
	bool write;
	uint64_t val;
} MmioCall;

typedef struct Mmio {
	uint8_t regs[16];
	MmioCall call[32];
	unsigned ncalls;
} Mmio;

static uint64_t mmio_read(void *opaque, uint64_t addr, unsigned size)
{
	Mmio *m = opaque;
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)m->regs[(addr + i) % 16] << (8 * i);
	if (m->ncalls < 32)
		m->call[m->ncalls++] = (MmioCall){ addr, size, false, v };
	return v;
}

static void mmio_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
	Mmio *m = opaque;
	unsigned i;

	for (i = 0; i < size; i++)
		m->regs[(addr + i) % 16] = (uint8_t)(val >> (8 * i));
	if (m->ncalls < 32)
		m->call[m->ncalls++] = (MmioCall){ addr, size, true, val };
}

static void call_is(Mmio *m, unsigned i, uint64_t addr, unsigned size, bool w,
		    uint64_t val)
{
	if (i >= m->ncalls)
		fail_msg("call %u missing", i);
	if (m->call[i].addr != addr || m->call[i].size != size ||
	    m->call[i].write != w || m->call[i].val != val)
		fail_msg("call %u: %s 0x%llx/%u val 0x%llx, want %s 0x%llx/%u val 0x%llx",
			 i, m->call[i].write ? "W" : "R",
			 (unsigned long long)m->call[i].addr, m->call[i].size,
			 (unsigned long long)m->call[i].val, w ? "W" : "R",
			 (unsigned long long)addr, size, (unsigned long long)val);
}

static uint32_t rd32(const GMemRegion *mr, uint64_t off)
{
	uint32_t v;

	memcpy(&v, (const uint8_t *)mr->ram + off, 4);
	return v;
}

static void wr32(GMemRegion *mr, uint64_t off, uint32_t v)
{
	memcpy((uint8_t *)mr->ram + off, &v, 4);
}

static const GMemOps ops_default = { .read = mmio_read, .write = mmio_write };

/* ---- flat view ------------------------------------------------------------ */

static void test_flatview_priorities(void **state)
{
	GMemRegion sys, ram, a, b, c, d, sub, subram, dis;
	GAddressSpace as;
	Mmio ma = { 0 }, mb = { 0 }, mc = { 0 }, md = { 0 };
	Error *err = NULL;
	(void)state;

	gmem_region_init_container(&sys, "sys", 0x10000);
	ok(gmem_region_init_ram(&ram, "ram", 0x8000, &err), err);
	gmem_region_init_io(&a, "a", 0x1000, &ops_default, &ma);
	gmem_region_init_io(&b, "b", 0x2000, &ops_default, &mb);
	gmem_region_init_io(&c, "c", 0x1800, &ops_default, &mc);
	gmem_region_init_io(&d, "d", 0x1000, &ops_default, &md);
	gmem_as_init(&as, &sys, "mem");
	assert_int_equal(gmem_as_section_count(&as), 0);

	ok(gmem_region_add_subregion(&sys, 0, &ram, &err), err);
	/* Same priority, added later: a shadows the RAM below it. */
	ok(gmem_region_add_subregion(&sys, 0x2000, &a, &err), err);
	/* Higher priority: b wins over the RAM and over c added after it. */
	ok(gmem_region_add_subregion_overlap(&sys, 0x7000, &b, 1, &err), err);
	ok(gmem_region_add_subregion(&sys, 0x8800, &c, &err), err);

	assert_int_equal(gmem_as_section_count(&as), 5);
	sect(&as, 0, 0x0000, 0x2000, &ram, 0x0000);
	sect(&as, 1, 0x2000, 0x1000, &a, 0);
	sect(&as, 2, 0x3000, 0x4000, &ram, 0x3000);
	sect(&as, 3, 0x7000, 0x2000, &b, 0);
	sect(&as, 4, 0x9000, 0x1000, &c, 0x800);

	/* d at the same priority as a, added later: d wins where they meet. */
	ok(gmem_region_add_subregion(&sys, 0x2800, &d, &err), err);
	assert_int_equal(gmem_as_section_count(&as), 6);
	sect(&as, 1, 0x2000, 0x0800, &a, 0);
	sect(&as, 2, 0x2800, 0x1000, &d, 0);
	sect(&as, 3, 0x3800, 0x3800, &ram, 0x3800);

	/* Same address: nothing moves, d still wins. */
	gmem_region_set_address(&a, 0x2000);
	sect(&as, 2, 0x2800, 0x1000, &d, 0);
	/* Moving a re-inserts it: now a beats d (equal priority, newer). */
	gmem_region_set_address(&a, 0x2400);
	sect(&as, 0, 0x0000, 0x2400, &ram, 0);
	sect(&as, 1, 0x2400, 0x1000, &a, 0);
	sect(&as, 2, 0x3400, 0x0400, &d, 0xc00);
	sect(&as, 3, 0x3800, 0x3800, &ram, 0x3800);

	/* Disabled regions vanish; the RAM shows through again. */
	gmem_region_set_enabled(&a, false);
	gmem_region_set_enabled(&d, false);
	gmem_region_set_enabled(&d, false);	/* no-op */
	sect(&as, 0, 0x0000, 0x7000, &ram, 0);	/* merged back into one */

	/* A nested container at an offset, and a region sticking out of it. */
	gmem_region_init_container(&sub, "sub", 0x1000);
	gmem_region_init_ram_ptr(&subram, "subram", 0x800, ma.regs);
	ok(gmem_region_add_subregion(&sub, 0x900, &subram, &err), err);
	ok(gmem_region_add_subregion(&sys, 0xc000, &sub, &err), err);
	assert_int_equal(gmem_as_section_count(&as), 4);
	sect(&as, 3, 0xc900, 0x700, &subram, 0);	/* clipped at sub's end */

	/* A region reaching past the root is clipped at the root's end. */
	gmem_region_init_io(&dis, "dis", 0x2000, &ops_default, &mb);
	ok(gmem_region_add_subregion(&sys, 0xf000, &dis, &err), err);
	sect(&as, 4, 0xf000, 0x1000, &dis, 0);
	gmem_region_del_subregion(&sys, &dis);
	gmem_region_del_subregion(&sys, &dis);	/* not a child: no-op */
	assert_int_equal(gmem_as_section_count(&as), 4);

	gmem_as_destroy(&as);
	gmem_as_destroy(&as);	/* twice is fine */
	gmem_region_destroy(&sub);
	gmem_region_destroy(&subram);
	gmem_region_destroy(&dis);
	gmem_region_destroy(&a);
	gmem_region_destroy(&b);
	gmem_region_destroy(&c);
	gmem_region_destroy(&d);
	gmem_region_destroy(&ram);
	gmem_region_destroy(&sys);
}

/* An MMIO region with its own subregion (a BAR with an MSI-X table). */
static void test_flatview_io_with_child_and_alias(void **state)
{
	GMemRegion sys, bar, tbl, ram, al1, al2, romal;
	GAddressSpace as;
	Mmio m1 = { 0 }, m2 = { 0 };
	Error *err = NULL;
	GMemSection s;
	(void)state;

	gmem_region_init_container(&sys, "sys", UINT64_MAX);
	gmem_region_init_io(&bar, "bar", 0x4000, &ops_default, &m1);
	gmem_region_init_io(&tbl, "tbl", 0x100, &ops_default, &m2);
	ok(gmem_region_add_subregion(&bar, 0x2000, &tbl, &err), err);
	ok(gmem_region_add_subregion(&sys, 0xe0000000, &bar, &err), err);
	gmem_as_init(&as, &sys, "mem");
	assert_int_equal(gmem_as_section_count(&as), 3);
	sect(&as, 0, 0xe0000000, 0x2000, &bar, 0);
	sect(&as, 1, 0xe0002000, 0x100, &tbl, 0);
	sect(&as, 2, 0xe0002100, 0x1f00, &bar, 0x2100);

	/* Aliases show a window of the target, wherever the target is. */
	ok(gmem_region_init_ram(&ram, "ram", 0x4000, &err), err);
	ok(gmem_region_init_alias(&al1, "lo", &ram, 0x1000, 0x1000, &err), err);
	ok(gmem_region_init_alias(&al2, "hi", &ram, 0x2000, 0x1000, &err), err);
	ok(gmem_region_add_subregion(&sys, 0x10000, &al1, &err), err);
	ok(gmem_region_add_subregion(&sys, 0x11000, &al2, &err), err);
	/* Two aliases with contiguous offsets become one section of ram. */
	assert_true(gmem_as_find(&as, 0x10800, &s));
	assert_ptr_equal(s.mr, &ram);
	assert_int_equal(s.offset_within_address_space, 0x10000);
	assert_int_equal(s.size, 0x2000);
	assert_int_equal(s.offset_within_region, 0x1000);
	assert_true(s.is_ram);
	assert_ptr_equal(s.host, (uint8_t *)ram.ram + 0x1000);

	/* Read-only is inherited through the alias. */
	ok(gmem_region_init_alias(&romal, "rom", &ram, 0, 0x1000, &err), err);
	gmem_region_set_readonly(&romal, true);
	ok(gmem_region_add_subregion(&sys, 0x20000, &romal, &err), err);
	assert_true(gmem_as_find(&as, 0x20000, &s));
	assert_true(s.readonly);
	assert_ptr_equal(s.mr, &ram);

	/* Moving the alias window. */
	gmem_region_set_alias_offset(&al2, 0x3000);
	assert_true(gmem_as_find(&as, 0x11000, &s));
	assert_int_equal(s.offset_within_address_space, 0x11000);
	assert_int_equal(s.offset_within_region, 0x3000);

	/* Destroying the target empties its aliases. */
	gmem_region_destroy(&ram);
	assert_false(gmem_as_find(&as, 0x10000, &s));
	assert_false(gmem_as_find(&as, 0x20000, &s));
	assert_true(gmem_as_find(&as, 0xe0002000, &s));
	assert_false(gmem_as_find(&as, 0xdfffffff, &s));

	gmem_as_destroy(&as);
	gmem_region_destroy(&al1);
	gmem_region_destroy(&al2);
	gmem_region_destroy(&romal);
	gmem_region_destroy(&tbl);
	gmem_region_destroy(&bar);
	gmem_region_destroy(&sys);
}

static void test_region_errors(void **state)
{
	GMemRegion c1, c2, r, al, big;
	GAddressSpace as;
	Rec rec;
	Error *err = NULL;
	(void)state;

	gmem_region_init_container(&c1, "c1", 0x1000);
	gmem_region_init_container(&c2, "c2", 0x1000);
	ok(gmem_region_init_ram(&r, "r", 0x100, &err), err);
	ok(gmem_region_add_subregion(&c1, 0, &r, &err), err);
	expect_error(gmem_region_add_subregion(&c2, 0, &r, &err), err,
		     "gmem: r is already in c1");
	err = NULL;
	ok(gmem_region_add_subregion(&c2, 0, &c1, &err), err);
	expect_error(gmem_region_add_subregion(&c1, 0x100, &c2, &err), err,
		     "gmem: adding c2 to c1 would make a loop");
	err = NULL;
	expect_error(gmem_region_add_subregion(&c1, 0, &c1, &err), err,
		     "gmem: c1 is already in c2");
	err = NULL;
	expect_error(gmem_region_init_alias(&al, "al", &r, 0x80, 0x100, &err), err,
		     "gmem: alias al [0x80, +0x100) is outside r (size 0x100)");
	err = NULL;
	expect_error(gmem_region_init_alias(&al, "al", NULL, 0, 0x100, &err), err,
		     "gmem: alias al has no target");
	err = NULL;
	ok(gmem_region_init_alias(&al, "al", &r, 0, 0x100, &err), err);
	expect_error(gmem_region_add_subregion(&al, 0, &c2, &err), err,
		     "gmem: cannot add c2 to alias al");
	err = NULL;
	expect_error(gmem_region_add_subregion(NULL, 0, &c2, &err), err,
		     "gmem: no region to add");
	err = NULL;
	expect_error(gmem_region_init_ram(&big, "big", 0, &err), err,
		     "gmem: invalid RAM size 0x0 for big");
	err = NULL;
	assert_false(gmem_region_init_ram(&big, "big", 1ull << 62, &err));
	assert_non_null(strstr(error_get_pretty(err),
			       "gmem: cannot allocate 0x4000000000000000 bytes of RAM for big"));
	error_free(err);
	err = NULL;

	/* Listener registration errors. */
	gmem_as_init(&as, &c2, "as");
	rec_init(&rec, 'x', 0);
	log_reset();
	ok(gmem_listener_register(&rec.l, &as, &err), err);
	log_expect("x add 0x0+0x100 r@0x0 ram", NULL);
	expect_error(gmem_listener_register(&rec.l, &as, &err), err,
		     "gmem: listener already registered on as");
	err = NULL;
	{
		GMemListener empty = { 0 };

		expect_error(gmem_listener_register(&empty, &as, &err), err,
			     "gmem: listener has no region callbacks");
		err = NULL;
	}
	gmem_as_destroy(&as);	/* unregisters: the listener sees the del */
	log_expect("x del 0x0+0x100 r@0x0 ram", NULL);
	assert_null(rec.l.as);
	expect_error(gmem_listener_register(&rec.l, &as, &err), err,
		     "gmem: no address space for the listener");
	err = NULL;

	gmem_region_destroy(&al);
	gmem_region_destroy(&c2);
	gmem_region_destroy(&c1);
	gmem_region_destroy(&r);
}

/* ---- listeners ------------------------------------------------------------- */

static void test_listener_sequences(void **state)
{
	GMemRegion sys, ram, io, io2;
	GAddressSpace as;
	Mmio m = { 0 };
	Rec r1, r2;
	Error *err = NULL;
	(void)state;

	gmem_region_init_container(&sys, "sys", 0x100000);
	ok(gmem_region_init_ram(&ram, "ram", 0x10000, &err), err);
	gmem_region_init_io(&io, "io", 0x1000, &ops_default, &m);
	gmem_region_init_io(&io2, "io2", 0x1000, &ops_default, &m);
	ok(gmem_region_add_subregion(&sys, 0, &ram, &err), err);
	ok(gmem_region_add_subregion(&sys, 0x20000, &io, &err), err);
	gmem_as_init(&as, &sys, "mem");

	/* Registration replays what exists, in address order. */
	log_reset();
	rec_init(&r1, 'A', 10);
	rec_init(&r2, 'B', 0);
	ok(gmem_listener_register(&r1.l, &as, &err), err);
	log_expect("A add 0x0+0x10000 ram@0x0 ram", "A add 0x20000+0x1000 io@0x0", NULL);
	assert_int_equal(r1.begins, 1);
	assert_int_equal(r1.commits, 1);
	ok(gmem_listener_register(&r2.l, &as, &err), err);
	log_expect("B add 0x0+0x10000 ram@0x0 ram", "B add 0x20000+0x1000 io@0x0", NULL);

	/*
	 * An overlay in the RAM: the RAM section goes (dels in reverse
	 * listener priority: A (10) before B (0)), then three appear (adds in
	 * priority order: B first).
	 */
	ok(gmem_region_add_subregion_overlap(&sys, 0x4000, &io2, 1, &err), err);
	log_expect("A del 0x0+0x10000 ram@0x0 ram",
		   "B del 0x0+0x10000 ram@0x0 ram",
		   "B add 0x0+0x4000 ram@0x0 ram",
		   "A add 0x0+0x4000 ram@0x0 ram",
		   "B add 0x4000+0x1000 io2@0x0",
		   "A add 0x4000+0x1000 io2@0x0",
		   "B add 0x5000+0xb000 ram@0x5000 ram",
		   "A add 0x5000+0xb000 ram@0x5000 ram",
		   NULL);
	assert_int_equal(r1.begins, 2);
	assert_int_equal(r1.commits, 2);

	gmem_listener_unregister(&r2.l);
	log_expect("B del 0x20000+0x1000 io@0x0",
		   "B del 0x5000+0xb000 ram@0x5000 ram",
		   "B del 0x4000+0x1000 io2@0x0",
		   "B del 0x0+0x4000 ram@0x0 ram", NULL);
	gmem_listener_unregister(&r2.l);	/* not registered: no-op */
	log_expect(NULL);

	/* Removing it: the three pieces go, the merged RAM comes back. */
	gmem_region_del_subregion(&sys, &io2);
	log_expect("A del 0x0+0x4000 ram@0x0 ram",
		   "A del 0x4000+0x1000 io2@0x0",
		   "A del 0x5000+0xb000 ram@0x5000 ram",
		   "A add 0x0+0x10000 ram@0x0 ram", NULL);

	/* A change that changes nothing visible: no callbacks at all. */
	gmem_region_set_enabled(&io2, false);
	log_expect(NULL);
	assert_int_equal(r1.begins, 3);

	/* Read-only is a change of attributes: del + add of the same range. */
	gmem_region_set_readonly(&ram, true);
	log_expect("A del 0x0+0x10000 ram@0x0 ram", "A add 0x0+0x10000 ram@0x0 ram ro", NULL);
	gmem_region_set_readonly(&ram, true);	/* no-op */
	gmem_region_set_readonly(&ram, false);
	log_expect("A del 0x0+0x10000 ram@0x0 ram ro", "A add 0x0+0x10000 ram@0x0 ram", NULL);

	/* A transaction publishes once, at the outermost commit. */
	gmem_transaction_begin();
	gmem_transaction_begin();
	gmem_region_set_address(&io, 0x30000);
	gmem_region_set_enabled(&io2, true);
	ok(gmem_region_add_subregion(&sys, 0x40000, &io2, &err), err);
	gmem_transaction_commit();
	log_expect(NULL);
	gmem_transaction_commit();
	log_expect("A del 0x20000+0x1000 io@0x0",
		   "A add 0x30000+0x1000 io@0x0",
		   "A add 0x40000+0x1000 io2@0x0", NULL);
	gmem_transaction_commit();	/* unbalanced: ignored */

	/* Destroying a mapped region inside a transaction still publishes. */
	gmem_transaction_begin();
	gmem_region_destroy(&io2);
	log_expect("A del 0x40000+0x1000 io2@0x0", NULL);
	gmem_transaction_commit();
	log_expect(NULL);

	gmem_as_destroy(&as);
	log_expect("A del 0x30000+0x1000 io@0x0", "A del 0x0+0x10000 ram@0x0 ram", NULL);
	gmem_region_destroy(&io);
	gmem_region_destroy(&ram);
	gmem_region_destroy(&sys);
}

/* A listener that maps another region when it sees the first one. */
static GMemRegion *g_sys, *g_extra;

static void chain_add(GMemListener *l, const GMemSection *s)
{
	rec_add(l, s);
	if (!strcmp(s->mr->name, "trigger") && !g_extra->container)
		assert_true(gmem_region_add_subregion(g_sys, 0x8000, g_extra, NULL));
}

static void test_listener_reentrant_change(void **state)
{
	GMemRegion sys, trig, extra;
	GAddressSpace as;
	Mmio m = { 0 };
	Rec r;
	Error *err = NULL;
	(void)state;

	gmem_region_init_container(&sys, "sys", 0x10000);
	gmem_region_init_io(&trig, "trigger", 0x1000, &ops_default, &m);
	gmem_region_init_io(&extra, "extra", 0x1000, &ops_default, &m);
	g_sys = &sys;
	g_extra = &extra;
	gmem_as_init(&as, &sys, "mem");
	rec_init(&r, 'R', 0);
	r.l.region_add = chain_add;
	ok(gmem_listener_register(&r.l, &as, &err), err);
	log_reset();
	ok(gmem_region_add_subregion(&sys, 0x1000, &trig, &err), err);
	/* The nested change is published right after the first one. */
	log_expect("R add 0x1000+0x1000 trigger@0x0", "R add 0x8000+0x1000 extra@0x0", NULL);
	assert_int_equal(gmem_as_section_count(&as), 2);
	gmem_as_destroy(&as);
	log_reset();
	gmem_region_destroy(&trig);
	gmem_region_destroy(&extra);
	gmem_region_destroy(&sys);
}

/* ---- accesses -------------------------------------------------------------- */

static void test_ram_access(void **state)
{
	GMemRegion sys, ram, rom;
	GAddressSpace as;
	Error *err = NULL;
	uint8_t buf[32], romdata[16];
	uint64_t v;
	long page = sysconf(_SC_PAGESIZE);
	(void)state;

	gmem_region_init_container(&sys, "sys", 0x100000);
	ok(gmem_region_init_ram(&ram, "ram", 0x3000, &err), err);
	assert_int_equal((uintptr_t)gmem_region_ram_ptr(&ram) % (uintptr_t)page, 0);
	ok(gmem_region_add_subregion(&sys, 0x10000, &ram, &err), err);
	memset(romdata, 0x5a, sizeof(romdata));
	gmem_region_init_ram_ptr(&rom, "rom", sizeof(romdata), romdata);
	gmem_region_set_readonly(&rom, true);
	ok(gmem_region_add_subregion(&sys, 0x20000, &rom, &err), err);
	gmem_as_init(&as, &sys, "mem");

	/* Fresh RAM is zero; writes land in host memory. */
	assert_int_equal(gmem_read(&as, 0x10000, buf, 8), GMEM_OK);
	assert_int_equal(buf[0] | buf[7], 0);
	for (unsigned i = 0; i < 16; i++)
		buf[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(gmem_write(&as, 0x12ff8, buf, 16), GMEM_UNASSIGNED);
	assert_memory_equal((uint8_t *)ram.ram + 0x2ff8, buf, 8);

	/* A read across the end of RAM: data, then all-ones. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gmem_read(&as, 0x12ffc, buf, 8), GMEM_UNASSIGNED);
	assert_int_equal(buf[0], 0xa4);
	assert_int_equal(buf[3], 0xa7);
	assert_int_equal(buf[4], 0xff);
	assert_int_equal(buf[7], 0xff);

	assert_int_equal(gmem_write_val(&as, 0x10100, 4, 0x11223344), GMEM_OK);
	assert_int_equal(gmem_read_val(&as, 0x10101, 2, &v), GMEM_OK);
	assert_int_equal(v, 0x2233);
	assert_int_equal(gmem_read_val(&as, 0x10100, 3, &v), GMEM_BAD_ACCESS);
	assert_int_equal(gmem_write_val(&as, 0x10100, 5, 0), GMEM_BAD_ACCESS);

	/* Read-only memory: reads work, writes are dropped and reported. */
	assert_int_equal(gmem_write_val(&as, 0x20000, 4, 0), GMEM_READONLY);
	assert_int_equal(gmem_read_val(&as, 0x20000, 4, &v), GMEM_OK);
	assert_int_equal(v, 0x5a5a5a5a);

	/* gmem_translate on RAM and on a hole. */
	{
		uint64_t xlat = 0, len = 0x10000;
		bool denied = true;

		assert_ptr_equal(gmem_translate(&as, 0x11000, true, &xlat, &len, &denied), &ram);
		assert_int_equal(xlat, 0x1000);
		assert_int_equal(len, 0x2000);
		assert_false(denied);
		len = 0x100000;
		assert_null(gmem_translate(&as, 0x18000, false, &xlat, &len, &denied));
		assert_int_equal(len, 0x8000);	/* up to the ROM */
		assert_false(denied);
	}

	gmem_as_destroy(&as);
	gmem_region_destroy(&rom);
	gmem_region_destroy(&ram);
	gmem_region_destroy(&sys);
}

/* Guest RAM is aligned for IOMMU pages up to 16 MiB (sPAPR DDW). */
static void test_ram_alignment(void **state)
{
	static const struct { uint64_t size, align; } rows[] = {
		{ 64ull << 20, 16ull << 20 },	/* capped at GMEM_RAM_ALIGN */
		{ 16ull << 20, 16ull << 20 },
		{ 3ull << 20, 2ull << 20 },	/* the largest power of two <= size */
		{ 0x3000, 0x2000 },
		{ 0x100, 0x1000 },		/* at least a page */
	};
	Error *err = NULL;
	unsigned i, j;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		GMemRegion r;
		uint8_t *p;

		ok(gmem_region_init_ram(&r, "r", rows[i].size, &err), err);
		p = gmem_region_ram_ptr(&r);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p & (rows[i].align - 1), 0);
		for (j = 0; j < rows[i].size; j += 4096)	/* all of it is there */
			assert_int_equal(p[j], 0);
		p[rows[i].size - 1] = 1;
		gmem_region_destroy(&r);
	}
}

static void test_mmio_split_and_unassigned(void **state)
{
	static const GMemOps ops4 = { .read = mmio_read, .write = mmio_write,
				      .valid_min = 4, .valid_max = 4 };
	static const GMemOps widen = { .read = mmio_read, .write = mmio_write,
				       .impl_min = 4, .impl_max = 4 };
	static const GMemOps ops8 = { .read = mmio_read, .write = mmio_write,
				      .valid_max = 8, .impl_max = 8 };
	static const GMemOps split8 = { .read = mmio_read, .write = mmio_write,
					.valid_max = 8 };
	static const GMemOps noops = { 0 };
	GMemRegion sys, r1, r4, rw, r8, rs, rn;
	GAddressSpace as;
	Mmio m1 = { 0 }, m4 = { 0 }, mw = { 0 }, m8 = { 0 }, ms = { 0 };
	Error *err = NULL;
	uint8_t buf[16];
	uint64_t v;
	(void)state;

	gmem_region_init_container(&sys, "sys", 0x100000);
	gmem_region_init_io(&r1, "r1", 16, &ops_default, &m1);
	gmem_region_init_io(&r4, "r4", 16, &ops4, &m4);
	gmem_region_init_io(&rw, "rw", 16, &widen, &mw);
	gmem_region_init_io(&r8, "r8", 16, &ops8, &m8);
	gmem_region_init_io(&rs, "rs", 16, &split8, &ms);
	gmem_region_init_io(&rn, "rn", 16, &noops, NULL);
	ok(gmem_region_add_subregion(&sys, 0x1000, &r1, &err), err);
	ok(gmem_region_add_subregion(&sys, 0x2000, &r4, &err), err);
	ok(gmem_region_add_subregion(&sys, 0x3000, &rw, &err), err);
	ok(gmem_region_add_subregion(&sys, 0x4000, &r8, &err), err);
	ok(gmem_region_add_subregion(&sys, 0x5000, &rs, &err), err);
	ok(gmem_region_add_subregion(&sys, 0x6000, &rn, &err), err);
	gmem_as_init(&as, &sys, "mem");

	/* Default sizes 1..4: an 8-byte write is two aligned dwords. */
	assert_int_equal(gmem_write_val(&as, 0x1000, 8, 0x8877665544332211ull), GMEM_OK);
	assert_int_equal(m1.ncalls, 2);
	call_is(&m1, 0, 0, 4, true, 0x44332211);
	call_is(&m1, 1, 4, 4, true, 0x88776655);
	/* A 7-byte read at 1: 1 + 2 + 4 by alignment. */
	m1.ncalls = 0;
	assert_int_equal(gmem_read(&as, 0x1001, buf, 7), GMEM_OK);
	assert_int_equal(m1.ncalls, 3);
	call_is(&m1, 0, 1, 1, false, 0x22);
	call_is(&m1, 1, 2, 2, false, 0x4433);
	call_is(&m1, 2, 4, 4, false, 0x88776655);
	assert_memory_equal(buf, "\x22\x33\x44\x55\x66\x77\x88", 7);

	/* valid_min 4: a 2-byte access is refused and reads all-ones. */
	m4.regs[0] = 0x12;
	assert_int_equal(gmem_read_val(&as, 0x2000, 2, &v), GMEM_BAD_ACCESS);
	assert_int_equal(v, 0xffff);
	assert_int_equal(gmem_write_val(&as, 0x2002, 2, 0), GMEM_BAD_ACCESS);
	assert_int_equal(m4.ncalls, 0);
	/* Unaligned 4 bytes: split into 1+2+1, all refused. */
	assert_int_equal(gmem_read_val(&as, 0x2001, 4, &v), GMEM_BAD_ACCESS);
	assert_int_equal(m4.ncalls, 0);
	assert_int_equal(gmem_read_val(&as, 0x2000, 4, &v), GMEM_OK);
	assert_int_equal(v, 0x12);

	/* impl_min 4: a byte write is read-modify-write of its dword. */
	memcpy(mw.regs, "\x01\x02\x03\x04", 4);
	assert_int_equal(gmem_write_val(&as, 0x3002, 1, 0xee), GMEM_OK);
	assert_int_equal(mw.ncalls, 2);
	call_is(&mw, 0, 0, 4, false, 0x04030201);
	call_is(&mw, 1, 0, 4, true, 0x04ee0201);
	assert_int_equal(gmem_read_val(&as, 0x3001, 2, &v), GMEM_OK);
	assert_int_equal(v, 0xee02);
	call_is(&mw, 2, 0, 4, false, 0x04ee0201);

	/* 8-byte callbacks: one call. */
	assert_int_equal(gmem_write_val(&as, 0x4008, 8, 0x0102030405060708ull), GMEM_OK);
	assert_int_equal(m8.ncalls, 1);
	call_is(&m8, 0, 8, 8, true, 0x0102030405060708ull);
	/* valid 8, impl 4: one guest access, two callbacks. */
	assert_int_equal(gmem_read_val(&as, 0x5000, 8, &v), GMEM_OK);
	assert_int_equal(ms.ncalls, 2);
	call_is(&ms, 0, 0, 4, false, 0);
	call_is(&ms, 1, 4, 4, false, 0);

	/* No callbacks: reads all-ones, writes vanish. */
	assert_int_equal(gmem_read_val(&as, 0x6000, 4, &v), GMEM_OK);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(gmem_write_val(&as, 0x6000, 4, 1), GMEM_OK);

	/* Unassigned: reads all-ones, writes are ignored, both reported. */
	assert_int_equal(gmem_read_val(&as, 0x7000, 4, &v), GMEM_UNASSIGNED);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(gmem_write_val(&as, 0x7000, 4, 0), GMEM_UNASSIGNED);
	/* Beyond the root. */
	assert_int_equal(gmem_read_val(&as, 0x200000, 8, &v), GMEM_UNASSIGNED);
	assert_int_equal(v, UINT64_MAX);
	/* Partly device, partly hole. */
	m1.ncalls = 0;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gmem_read(&as, 0x100c, buf, 8), GMEM_UNASSIGNED);
	assert_int_equal(m1.ncalls, 1);
	assert_int_equal(buf[4], 0xff);

	gmem_as_destroy(&as);
	gmem_region_destroy(&r1);
	gmem_region_destroy(&r4);
	gmem_region_destroy(&rw);
	gmem_region_destroy(&r8);
	gmem_region_destroy(&rs);
	gmem_region_destroy(&rn);
	gmem_region_destroy(&sys);
}

/* ---- IOMMU ----------------------------------------------------------------- */

typedef struct Tce {
	GAddressSpace *target;
	uint64_t page[16];	/* translated address | perm in bits 0-1 */
	unsigned translates;
} Tce;

static GIommuTlbEntry tce_translate(GMemRegion *iommu, uint64_t addr,
				    bool is_write, void *opaque)
{
	Tce *t = opaque;
	GIommuTlbEntry e = { .target_as = t->target, .iova = addr & ~0xfffull,
			     .addr_mask = 0xfff, .perm = GIOMMU_NONE };
	(void)iommu;
	(void)is_write;

	t->translates++;
	if (addr >> 12 < 16) {
		e.translated_addr = t->page[addr >> 12] & ~0xfffull;
		e.perm = (GIommuPerm)(t->page[addr >> 12] & 3);
	}
	return e;
}

static const GIommuOps tce_ops = { .translate = tce_translate };

typedef struct Note {
	GIommuNotifier n;
	GIommuTlbEntry ev[16];
	unsigned nev;
} Note;

static void note_notify(GIommuNotifier *n, const GIommuTlbEntry *e)
{
	Note *x = (Note *)n;

	if (x->nev < 16)
		x->ev[x->nev++] = *e;
}

static void test_iommu(void **state)
{
	GMemRegion sys, ram, iommu, dmaroot, notio;
	GAddressSpace mem, dma;
	Tce tce = { 0 };
	Note all, maps, ranged;
	Rec r;
	Error *err = NULL;
	uint8_t buf[16];
	uint64_t v, xlat, len;
	bool denied;
	(void)state;

	gmem_region_init_container(&sys, "sys", 0x100000);
	ok(gmem_region_init_ram(&ram, "ram", 0x10000, &err), err);
	ok(gmem_region_add_subregion(&sys, 0x20000, &ram, &err), err);
	gmem_as_init(&mem, &sys, "mem");

	tce.target = &mem;
	tce.page[1] = 0x24000 | GIOMMU_RW;
	tce.page[2] = 0x21000 | GIOMMU_RO;
	tce.page[3] = 0x22000 | GIOMMU_WO;
	gmem_region_init_container(&dmaroot, "dmaroot", 0x100000);
	gmem_region_init_iommu(&iommu, "tce", 0x10000, &tce_ops, &tce);
	ok(gmem_region_add_subregion(&dmaroot, 0, &iommu, &err), err);
	gmem_as_init(&dma, &dmaroot, "dma");

	/* Listeners see the IOMMU as one section. */
	rec_init(&r, 'D', 0);
	log_reset();
	ok(gmem_listener_register(&r.l, &dma, &err), err);
	log_expect("D add 0x0+0x10000 tce@0x0 iommu", NULL);

	/* DMA through a RW page lands in RAM at the translated address. */
	assert_int_equal(gmem_write_val(&dma, 0x1040, 4, 0xdeadbeef), GMEM_OK);
	assert_int_equal(rd32(&ram, 0x4040), 0xdeadbeef);
	assert_int_equal(gmem_read_val(&dma, 0x1040, 4, &v), GMEM_OK);
	assert_int_equal(v, 0xdeadbeef);

	/* RO page: read ok, write denied; WO page: the reverse. */
	wr32(&ram, 0x1010, 0x600df00d);
	assert_int_equal(gmem_read_val(&dma, 0x2010, 4, &v), GMEM_OK);
	assert_int_equal(v, 0x600df00d);
	assert_int_equal(gmem_write_val(&dma, 0x2010, 4, 1), GMEM_DENIED);
	assert_int_equal(rd32(&ram, 0x1010), 0x600df00d);
	assert_int_equal(gmem_write_val(&dma, 0x3000, 4, 7), GMEM_OK);
	assert_int_equal(gmem_read_val(&dma, 0x3000, 4, &v), GMEM_DENIED);
	assert_int_equal(v, 0xffffffff);
	/* No mapping at all. */
	assert_int_equal(gmem_read_val(&dma, 0x5000, 4, &v), GMEM_DENIED);

	/* An access across two pages is translated page by page. */
	memset((uint8_t *)ram.ram + 0x4ff8, 0x11, 8);
	memset((uint8_t *)ram.ram + 0x1000, 0x22, 8);
	assert_int_equal(gmem_read(&dma, 0x1ff8, buf, 16), GMEM_OK);
	assert_memory_equal(buf, "\x11\x11\x11\x11\x11\x11\x11\x11"
			    "\x22\x22\x22\x22\x22\x22\x22\x22", 16);

	/* gmem_translate stops at the page end. */
	len = 0x10000;
	assert_ptr_equal(gmem_translate(&dma, 0x1800, false, &xlat, &len, &denied), &ram);
	assert_int_equal(xlat, 0x4800);
	assert_int_equal(len, 0x800);
	len = 0x10;
	assert_null(gmem_translate(&dma, 0x2000, true, &xlat, &len, &denied));
	assert_true(denied);
	assert_int_equal(gmem_iommu_translate(&iommu, 0x3123, false).translated_addr, 0x22000);
	assert_int_equal(gmem_iommu_translate(&sys, 0x3123, false).perm, GIOMMU_NONE);

	/* Notifiers: flags and ranges select what each sees. */
	gmem_iommu_notifier_init(&all.n, note_notify, GIOMMU_NOTIFY_ALL, 0, UINT64_MAX, NULL);
	gmem_iommu_notifier_init(&maps.n, note_notify, GIOMMU_NOTIFY_MAP, 0, UINT64_MAX, NULL);
	gmem_iommu_notifier_init(&ranged.n, note_notify, GIOMMU_NOTIFY_ALL, 0x8000, 0x8fff, NULL);
	all.nev = maps.nev = ranged.nev = 0;
	ok(gmem_iommu_register_notifier(&iommu, &all.n, &err), err);
	ok(gmem_iommu_register_notifier(&iommu, &maps.n, &err), err);
	ok(gmem_iommu_register_notifier(&iommu, &ranged.n, &err), err);
	assert_int_equal(gmem_iommu_notifier_count(&iommu), 3);
	expect_error(gmem_iommu_register_notifier(&iommu, &all.n, &err), err,
		     "gmem: notifier already registered on tce");
	err = NULL;
	gmem_region_init_container(&notio, "plain", 0x1000);
	{
		Note x;

		gmem_iommu_notifier_init(&x.n, note_notify, GIOMMU_NOTIFY_ALL, 0, 10, NULL);
		expect_error(gmem_iommu_register_notifier(&notio, &x.n, &err), err,
			     "gmem: plain is not an IOMMU region");
		err = NULL;
		gmem_iommu_notifier_init(&x.n, note_notify, 0, 0, 10, NULL);
		expect_error(gmem_iommu_register_notifier(&iommu, &x.n, &err), err,
			     "gmem: invalid IOMMU notifier for tce");
		err = NULL;
	}

	{
		GIommuTlbEntry map = { .target_as = &mem, .iova = 0x8000,
				       .translated_addr = 0x25000,
				       .addr_mask = 0xfff, .perm = GIOMMU_RW };
		GIommuTlbEntry unmap = map;

		unmap.perm = GIOMMU_NONE;
		gmem_iommu_notify(&iommu, &map);
		gmem_iommu_notify(&iommu, &unmap);
		map.iova = 0x9000;
		gmem_iommu_notify(&iommu, &map);
		gmem_iommu_notify(&sys, &map);	/* not an IOMMU: ignored */
	}
	assert_int_equal(all.nev, 3);
	assert_int_equal(all.ev[0].iova, 0x8000);
	assert_int_equal(all.ev[0].translated_addr, 0x25000);
	assert_int_equal(all.ev[0].addr_mask, 0xfff);
	assert_int_equal(all.ev[0].perm, GIOMMU_RW);
	assert_int_equal(all.ev[1].perm, GIOMMU_NONE);
	assert_int_equal(maps.nev, 2);		/* no unmap */
	assert_int_equal(maps.ev[1].iova, 0x9000);
	assert_int_equal(ranged.nev, 2);	/* nothing at 0x9000 */
	assert_int_equal(ranged.ev[1].perm, GIOMMU_NONE);

	/* Replay: one map event per page with a translation. */
	gmem_iommu_unregister_notifier(&maps.n);
	gmem_iommu_unregister_notifier(&maps.n);	/* twice: no-op */
	assert_int_equal(gmem_iommu_notifier_count(&iommu), 2);
	maps.nev = 0;
	gmem_iommu_replay(&iommu, &maps.n, 0x1000);
	assert_int_equal(maps.nev, 3);
	assert_int_equal(maps.ev[0].iova, 0x1000);
	assert_int_equal(maps.ev[0].translated_addr, 0x24000);
	assert_int_equal(maps.ev[2].iova, 0x3000);
	assert_int_equal(maps.ev[2].perm, GIOMMU_WO);
	gmem_iommu_replay(&iommu, &maps.n, 0x1001);	/* bad granularity */
	assert_int_equal(maps.nev, 3);

	/* Destroying the IOMMU region drops its notifiers. */
	gmem_as_destroy(&dma);
	log_expect("D del 0x0+0x10000 tce@0x0 iommu", NULL);
	gmem_region_destroy(&iommu);
	assert_null(all.n.iommu);
	gmem_iommu_notify(&iommu, &all.ev[0]);
	assert_int_equal(all.nev, 3);

	gmem_as_destroy(&mem);
	gmem_region_destroy(&notio);
	gmem_region_destroy(&dmaroot);
	gmem_region_destroy(&ram);
	gmem_region_destroy(&sys);
}

/* An IOMMU whose every page maps 1:1, with no target (a broken model). */
static GIommuTlbEntry loop_translate(GMemRegion *iommu, uint64_t addr,
				     bool is_write, void *opaque)
{
	GIommuTlbEntry e = { .target_as = opaque, .iova = addr,
			     .translated_addr = addr, .addr_mask = 0xfff,
			     .perm = GIOMMU_RW };
	(void)iommu;
	(void)is_write;
	return e;
}

static const GIommuOps loop_ops = { .translate = loop_translate };

static void test_iommu_loop_and_root_cases(void **state)
{
	GMemRegion root, iommu, ram;
	GAddressSpace as, ramas;
	Error *err = NULL;
	uint64_t v;
	(void)state;

	/* An IOMMU translating into its own space: the walk gives up. */
	gmem_region_init_container(&root, "root", 0x10000);
	gmem_as_init(&as, &root, "loop");
	gmem_region_init_iommu(&iommu, "self", 0x10000, &loop_ops, &as);
	ok(gmem_region_add_subregion(&root, 0, &iommu, &err), err);
	assert_int_equal(gmem_read_val(&as, 0x100, 4, &v), GMEM_DENIED);

	/* A RAM region as the root of a space. */
	ok(gmem_region_init_ram(&ram, "ram", 0x1000, &err), err);
	gmem_as_init(&ramas, &ram, "ramroot");
	assert_int_equal(gmem_as_section_count(&ramas), 1);
	assert_int_equal(gmem_write_val(&ramas, 0x10, 2, 0xbeef), GMEM_OK);
	assert_int_equal(gmem_read_val(&ramas, 0x10, 2, &v), GMEM_OK);
	assert_int_equal(v, 0xbeef);
	/* Destroying the root leaves an empty space. */
	gmem_region_destroy(&ram);
	assert_int_equal(gmem_as_section_count(&ramas), 0);
	assert_int_equal(gmem_read_val(&ramas, 0x10, 2, &v), GMEM_UNASSIGNED);

	gmem_as_destroy(&ramas);
	gmem_as_destroy(&as);
	gmem_region_destroy(&iommu);
	gmem_region_destroy(&root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flatview_priorities),
		cmocka_unit_test(test_flatview_io_with_child_and_alias),
		cmocka_unit_test(test_region_errors),
		cmocka_unit_test(test_listener_sequences),
		cmocka_unit_test(test_listener_reentrant_change),
		cmocka_unit_test(test_ram_access),
		cmocka_unit_test(test_ram_alignment),
		cmocka_unit_test(test_mmio_split_and_unassigned),
		cmocka_unit_test(test_iommu),
		cmocka_unit_test(test_iommu_loop_and_root_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

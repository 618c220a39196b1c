/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of fakevfio/events.c, the event log: sequence numbers, every
 * event kind's line, "since N" reads (in pieces too), wrap-around with the
 * lost count, NULL logs, and producers on several threads.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/vfio.h>

#include "fakevfio/events.h"

#define BDF "0000:03:00.0"

/* The line of e without its "seq=N t=S.U " head. */
static const char *tail(const FvEvent *e, char *buf, size_t len)
{
	const char *p;

	fv_event_format(e, buf, len);
	p = strstr(buf, " kind=");
	assert_non_null(p);
	return p + 1;
}

static void test_kinds_and_lines(void **state)
{
	FvEvents *ev = fv_events_new(16);
	FvEvent out[16];
	char buf[FV_EVENT_TEXT_MAX];
	uint64_t lost = 99;

	(void)state;
	assert_int_equal(fv_events_last(ev), 0);
	assert_int_equal(fv_events_irq(ev, BDF, VFIO_PCI_MSIX_IRQ_INDEX, 2), 1);
	assert_int_equal(fv_events_raise(ev, BDF, VFIO_PCI_MSI_IRQ_INDEX, 1, FV_RAISE_PENDING), 2);
	assert_int_equal(fv_events_intx(ev, BDF, true), 3);
	assert_int_equal(fv_events_iommu_fault(ev, BDF, 0x1000, 4, true, -EFAULT), 4);
	assert_int_equal(fv_events_dma(ev, BDF, 0x2000, 0x10, false, 0), 5);
	assert_int_equal(fv_events_reset(ev, BDF, "flr"), 6);
	assert_int_equal(fv_events_aer(ev, BDF, true, 0x100000), 7);
	assert_int_equal(fv_events_req(ev, BDF), 8);
	assert_int_equal(fv_events_aer(ev, NULL, false, 0x40), 9);
	assert_int_equal(fv_events_irq(ev, BDF, 7, 0), 10);
	assert_int_equal(fv_events_dma(ev, BDF, 0, 1, true, EPERM), 11);
	assert_int_equal(fv_events_raise(ev, BDF, VFIO_PCI_ERR_IRQ_INDEX, 0, FV_RAISE_MASKED), 12);
	assert_int_equal(fv_events_reset(ev, BDF, NULL), 13);
	assert_int_equal(fv_events_dma(ev, BDF, 0, 1, true, 4000), 14);
	assert_int_equal(fv_events_last(ev), 14);

	assert_int_equal(fv_events_since(ev, 0, out, 16, &lost), 14);
	assert_int_equal(lost, 0);
	for (unsigned i = 0; i < 14; i++)
		assert_int_equal(out[i].seq, i + 1);
	assert_string_equal(tail(&out[0], buf, sizeof(buf)),
			    "kind=irq device=0000:03:00.0 index=MSIX vector=2");
	assert_string_equal(tail(&out[1], buf, sizeof(buf)),
			    "kind=raise device=0000:03:00.0 index=MSI vector=1 result=pending");
	assert_string_equal(tail(&out[2], buf, sizeof(buf)),
			    "kind=intx device=0000:03:00.0 level=1");
	assert_string_equal(tail(&out[3], buf, sizeof(buf)),
			    "kind=iommu-fault device=0000:03:00.0 iova=0x1000 size=0x4 dir=write err=EFAULT");
	assert_string_equal(tail(&out[4], buf, sizeof(buf)),
			    "kind=dma device=0000:03:00.0 iova=0x2000 size=0x10 dir=read err=0");
	assert_string_equal(tail(&out[5], buf, sizeof(buf)),
			    "kind=reset device=0000:03:00.0 how=flr");
	assert_string_equal(tail(&out[6], buf, sizeof(buf)),
			    "kind=aer device=0000:03:00.0 severity=uncorrectable status=0x00100000");
	assert_string_equal(tail(&out[7], buf, sizeof(buf)), "kind=req device=0000:03:00.0");
	assert_string_equal(tail(&out[8], buf, sizeof(buf)),
			    "kind=aer device=- severity=correctable status=0x00000040");
	assert_string_equal(tail(&out[9], buf, sizeof(buf)),
			    "kind=irq device=0000:03:00.0 index=7 vector=0");
	assert_string_equal(tail(&out[10], buf, sizeof(buf)),
			    "kind=dma device=0000:03:00.0 iova=0x0 size=0x1 dir=write err=EPERM");
	assert_string_equal(tail(&out[11], buf, sizeof(buf)),
			    "kind=raise device=0000:03:00.0 index=ERR vector=0 result=masked");
	assert_string_equal(tail(&out[12], buf, sizeof(buf)),
			    "kind=reset device=0000:03:00.0 how=?");
	assert_string_equal(tail(&out[13], buf, sizeof(buf)),
			    "kind=dma device=0000:03:00.0 iova=0x0 size=0x1 dir=write err=4000");
	/* The head: seq and a time with six decimals. */
	fv_event_format(&out[0], buf, sizeof(buf));
	assert_memory_equal(buf, "seq=1 t=0.", 10);
	assert_true(strlen(buf) > 16 && buf[16] == ' ');
	assert_true(out[13].t_us >= out[0].t_us);
	assert_string_equal(fv_event_kind_name((FvEventKind)99), "?");
	assert_string_equal(fv_raise_result_name((FvRaiseResult)99), "?");
	assert_string_equal(fv_raise_result_name(FV_RAISE_DELIVERED), "delivered");
	assert_string_equal(fv_raise_result_name(FV_RAISE_DROPPED), "dropped");
	fv_events_free(ev);
}

static void test_since_and_pieces(void **state)
{
	FvEvents *ev = fv_events_new(8);
	FvEvent out[8];
	uint64_t lost;

	(void)state;
	for (unsigned i = 0; i < 5; i++)
		fv_events_req(ev, BDF);
	/* Since 3: 4 and 5. */
	assert_int_equal(fv_events_since(ev, 3, out, 8, &lost), 2);
	assert_int_equal(out[0].seq, 4);
	assert_int_equal(out[1].seq, 5);
	assert_int_equal(lost, 0);
	/* Since the last one, and beyond it: nothing. */
	assert_int_equal(fv_events_since(ev, 5, out, 8, &lost), 0);
	assert_int_equal(fv_events_since(ev, 1000, out, 8, &lost), 0);
	assert_int_equal(lost, 0);
	/* In pieces of two. */
	assert_int_equal(fv_events_since(ev, 0, out, 2, NULL), 2);
	assert_int_equal(out[1].seq, 2);
	assert_int_equal(fv_events_since(ev, out[1].seq, out, 2, NULL), 2);
	assert_int_equal(out[0].seq, 3);
	assert_int_equal(fv_events_since(ev, out[1].seq, out, 2, NULL), 1);
	assert_int_equal(out[0].seq, 5);
	fv_events_free(ev);
}

static void test_wraparound(void **state)
{
	FvEvents *ev = fv_events_new(4);
	FvEvent out[4];
	uint64_t lost;

	(void)state;
	for (unsigned i = 0; i < 10; i++)
		fv_events_intx(ev, BDF, i & 1);
	assert_int_equal(fv_events_last(ev), 10);
	/* The ring holds 7..10: since 0 lost 1..6. */
	assert_int_equal(fv_events_since(ev, 0, out, 4, &lost), 4);
	assert_int_equal(lost, 6);
	assert_int_equal(out[0].seq, 7);
	assert_int_equal(out[3].seq, 10);
	assert_false(out[0].level);
	assert_true(out[3].level);
	/* Since 5: 6 lost, 7.. returned. */
	assert_int_equal(fv_events_since(ev, 5, out, 4, &lost), 4);
	assert_int_equal(lost, 1);
	/* Since 6: nothing lost. */
	assert_int_equal(fv_events_since(ev, 6, out, 4, &lost), 4);
	assert_int_equal(lost, 0);
	/* Since 8: 9 and 10. */
	assert_int_equal(fv_events_since(ev, 8, out, 4, &lost), 2);
	assert_int_equal(out[0].seq, 9);
	/* Wrapping many times over. */
	for (unsigned i = 0; i < 1003; i++)
		fv_events_req(ev, BDF);
	assert_int_equal(fv_events_since(ev, 8, out, 4, &lost), 4);
	assert_int_equal(lost, 1009 - 8);
	assert_int_equal(out[0].seq, 1010);
	assert_int_equal(out[3].seq, 1013);
	fv_events_free(ev);
}

static void test_defaults_and_null(void **state)
{
	FvEvents *ev = fv_events_new(0);
	FvEvent e, out[2];
	char buf[FV_EVENT_TEXT_MAX];

	(void)state;
	/* A NULL log ignores events. */
	assert_int_equal(fv_events_irq(NULL, BDF, 0, 0), 0);
	assert_int_equal(fv_events_req(NULL, NULL), 0);
	fv_events_free(NULL);
	/* Default capacity. */
	for (unsigned i = 0; i < FV_EVENTS_DEFAULT_CAPACITY + 1; i++)
		fv_events_req(ev, NULL);
	assert_int_equal(fv_events_since(ev, 0, out, 1, NULL), 1);
	assert_int_equal(out[0].seq, 2);
	/* A raw event: bdf and how are kept terminated. */
	memset(&e, 'x', sizeof(e));
	e.kind = FV_EVENT_RESET;
	fv_events_add(ev, &e);
	assert_int_equal(fv_events_since(ev, FV_EVENTS_DEFAULT_CAPACITY + 1, out, 2, NULL), 1);
	assert_int_equal(strlen(out[0].bdf), FV_BDF_LEN - 1);
	assert_int_equal(strlen(out[0].how), sizeof(out[0].how) - 1);
	assert_int_equal(out[0].seq, FV_EVENTS_DEFAULT_CAPACITY + 2);
	/* Truncation: snprintf's return. */
	assert_true(fv_event_format(&out[0], buf, 8) > 8);
	assert_string_equal(buf, "seq=409");
	fv_events_free(ev);
}

enum { NTHREADS = 4, PER_THREAD = 5000 };

static void *producer(void *opaque)
{
	FvEvents *ev = opaque;

	for (unsigned i = 0; i < PER_THREAD; i++)
		fv_events_irq(ev, BDF, VFIO_PCI_MSIX_IRQ_INDEX, i);
	return NULL;
}

static void test_threads(void **state)
{
	FvEvents *ev = fv_events_new(NTHREADS * PER_THREAD);
	FvEvent *out = malloc(NTHREADS * PER_THREAD * sizeof(*out));
	pthread_t t[NTHREADS];
	unsigned seen[PER_THREAD] = { 0 };
	uint64_t lost;
	unsigned n;

	(void)state;
	for (unsigned i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, producer, ev), 0);
	for (unsigned i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	n = fv_events_since(ev, 0, out, NTHREADS * PER_THREAD, &lost);
	assert_int_equal(n, NTHREADS * PER_THREAD);
	assert_int_equal(lost, 0);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(out[i].seq, i + 1);
		assert_true(out[i].vector < PER_THREAD);
		seen[out[i].vector]++;
	}
	for (unsigned i = 0; i < PER_THREAD; i++)
		assert_int_equal(seen[i], NTHREADS);
	free(out);
	fv_events_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds_and_lines),
		cmocka_unit_test(test_since_and_pieces),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_defaults_and_null),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

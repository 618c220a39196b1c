/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fakevfio/events.c: the bounded, thread-safe event log. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "op.h"

struct FvEvents {
	pthread_mutex_t lock;
	FvEvent *ring;
	unsigned capacity;
	uint64_t next;		/* seq of the next event (first: 1) */
	struct timespec t0;
};

FvEvents *fv_events_new(unsigned capacity)
{
	FvEvents *ev = calloc(1, sizeof(*ev));

	if (!capacity)
		capacity = FV_EVENTS_DEFAULT_CAPACITY;
	if (!ev)
		return NULL;
	ev->ring = calloc(capacity, sizeof(*ev->ring));
	if (!ev->ring) {
		free(ev);
		return NULL;
	}
	ev->capacity = capacity;
	ev->next = 1;
	pthread_mutex_init(&ev->lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &ev->t0);
	return ev;
}

void fv_events_free(FvEvents *ev)
{
	if (!ev)
		return;
	pthread_mutex_destroy(&ev->lock);
	free(ev->ring);
	free(ev);
}

uint64_t fv_events_add(FvEvents *ev, const FvEvent *e)
{
	struct timespec now;
	FvEvent *slot;
	uint64_t seq;

	if (!ev)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&ev->lock);
	seq = ev->next++;
	slot = &ev->ring[(seq - 1) % ev->capacity];
	*slot = *e;
	slot->seq = seq;
	slot->t_us = (uint64_t)(((int64_t)(now.tv_sec - ev->t0.tv_sec) * 1000000000 +
				 (now.tv_nsec - ev->t0.tv_nsec)) / 1000);
	slot->bdf[FV_BDF_LEN - 1] = '\0';
	slot->how[sizeof(slot->how) - 1] = '\0';
	pthread_mutex_unlock(&ev->lock);
	return seq;
}

static void event_init(FvEvent *e, FvEventKind kind, const char *bdf)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	if (bdf)
		snprintf(e->bdf, sizeof(e->bdf), "%s", bdf);
}

uint64_t fv_events_irq(FvEvents *ev, const char *bdf, unsigned index, unsigned vector)
{
	FvEvent e;

	event_init(&e, FV_EVENT_IRQ, bdf);
	e.index = index;
	e.vector = vector;
	return fv_events_add(ev, &e);
}

uint64_t fv_events_raise(FvEvents *ev, const char *bdf, unsigned index,
			 unsigned vector, FvRaiseResult result)
{
	FvEvent e;

	event_init(&e, FV_EVENT_RAISE, bdf);
	e.index = index;
	e.vector = vector;
	e.result = result;
	return fv_events_add(ev, &e);
}

uint64_t fv_events_intx(FvEvents *ev, const char *bdf, bool level)
{
	FvEvent e;

	event_init(&e, FV_EVENT_INTX, bdf);
	e.level = level;
	return fv_events_add(ev, &e);
}

static uint64_t dma_event(FvEvents *ev, FvEventKind kind, const char *bdf,
			  uint64_t iova, uint64_t size, bool write, int err)
{
	FvEvent e;

	event_init(&e, kind, bdf);
	e.iova = iova;
	e.size = size;
	e.write = write;
	e.err = err < 0 ? -err : err;
	return fv_events_add(ev, &e);
}

uint64_t fv_events_iommu_fault(FvEvents *ev, const char *bdf, uint64_t iova,
			       uint64_t size, bool write, int err)
{
	return dma_event(ev, FV_EVENT_IOMMU_FAULT, bdf, iova, size, write, err);
}

uint64_t fv_events_dma(FvEvents *ev, const char *bdf, uint64_t iova,
		       uint64_t size, bool write, int err)
{
	return dma_event(ev, FV_EVENT_DMA, bdf, iova, size, write, err);
}

uint64_t fv_events_reset(FvEvents *ev, const char *bdf, const char *how)
{
	FvEvent e;

	event_init(&e, FV_EVENT_RESET, bdf);
	snprintf(e.how, sizeof(e.how), "%s", how ? how : "?");
	return fv_events_add(ev, &e);
}

uint64_t fv_events_aer(FvEvents *ev, const char *bdf, bool uncorrectable,
		       uint32_t status)
{
	FvEvent e;

	event_init(&e, FV_EVENT_AER, bdf);
	e.uncorrectable = uncorrectable;
	e.status = status;
	return fv_events_add(ev, &e);
}

uint64_t fv_events_req(FvEvents *ev, const char *bdf)
{
	FvEvent e;

	event_init(&e, FV_EVENT_REQ, bdf);
	return fv_events_add(ev, &e);
}

uint64_t fv_events_last(FvEvents *ev)
{
	uint64_t last;

	pthread_mutex_lock(&ev->lock);
	last = ev->next - 1;
	pthread_mutex_unlock(&ev->lock);
	return last;
}

unsigned fv_events_since(FvEvents *ev, uint64_t since, FvEvent *out,
			 unsigned max, uint64_t *lost)
{
	uint64_t oldest, first, seq;
	unsigned n = 0;

	pthread_mutex_lock(&ev->lock);
	/* The ring holds [oldest, next). */
	oldest = ev->next > ev->capacity ? ev->next - ev->capacity : 1;
	first = since + 1;
	if (lost)
		*lost = first < oldest ? oldest - first : 0;
	if (first < oldest)
		first = oldest;
	for (seq = first; seq < ev->next && n < max; seq++)
		out[n++] = ev->ring[(seq - 1) % ev->capacity];
	pthread_mutex_unlock(&ev->lock);
	return n;
}

const char *fv_event_kind_name(FvEventKind kind)
{
	switch (kind) {
	case FV_EVENT_IRQ: return "irq";
	case FV_EVENT_RAISE: return "raise";
	case FV_EVENT_INTX: return "intx";
	case FV_EVENT_IOMMU_FAULT: return "iommu-fault";
	case FV_EVENT_DMA: return "dma";
	case FV_EVENT_RESET: return "reset";
	case FV_EVENT_AER: return "aer";
	case FV_EVENT_REQ: return "req";
	}
	return "?";
}

const char *fv_raise_result_name(FvRaiseResult r)
{
	switch (r) {
	case FV_RAISE_DELIVERED: return "delivered";
	case FV_RAISE_PENDING: return "pending";
	case FV_RAISE_DROPPED: return "dropped";
	case FV_RAISE_MASKED: return "masked";
	}
	return "?";
}

static const char *irq_index(unsigned index, char buf[16])
{
	const char *n = fv_op_irq_name(index);

	if (n)
		return n;
	snprintf(buf, 16, "%u", index % 1000000);
	return buf;
}

static const char *err_name(int err, char buf[16])
{
	const char *n = fv_op_errno_name(err);

	if (!err)
		return "0";
	if (n)
		return n;
	snprintf(buf, 16, "%d", err % 1000000);
	return buf;
}

int fv_event_format(const FvEvent *e, char *buf, size_t len)
{
	char head[96], nb[16];
	const char *bdf = e->bdf[0] ? e->bdf : "-";

	snprintf(head, sizeof(head), "seq=%" PRIu64 " t=%" PRIu64 ".%06" PRIu64 " kind=%s device=%s",
		 e->seq, e->t_us / 1000000u, e->t_us % 1000000u,
		 fv_event_kind_name(e->kind), bdf);
	switch (e->kind) {
	case FV_EVENT_IRQ:
		return snprintf(buf, len, "%s index=%s vector=%u", head,
				irq_index(e->index, nb), e->vector);
	case FV_EVENT_RAISE:
		return snprintf(buf, len, "%s index=%s vector=%u result=%s", head,
				irq_index(e->index, nb), e->vector,
				fv_raise_result_name(e->result));
	case FV_EVENT_INTX:
		return snprintf(buf, len, "%s level=%d", head, e->level);
	case FV_EVENT_IOMMU_FAULT:
	case FV_EVENT_DMA:
		return snprintf(buf, len, "%s iova=0x%" PRIx64 " size=0x%" PRIx64 " dir=%s err=%s",
				head, e->iova, e->size, e->write ? "write" : "read",
				err_name(e->err, nb));
	case FV_EVENT_RESET:
		return snprintf(buf, len, "%s how=%s", head, e->how);
	case FV_EVENT_AER:
		return snprintf(buf, len, "%s severity=%s status=0x%08" PRIx32, head,
				e->uncorrectable ? "uncorrectable" : "correctable", e->status);
	case FV_EVENT_REQ:
		break;
	}
	return snprintf(buf, len, "%s", head);
}

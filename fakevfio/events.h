/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/events.h: the event log of the fake kernel -- what happened on
 * the device side that a test may want to check afterwards: interrupts
 * signalled to user space, IOMMU faults, device DMA, resets, AER errors,
 * device requests.
 *
 * A bounded ring: every event gets the next sequence number (1, 2, ...);
 * when the ring is full the oldest event is overwritten.  Readers ask for
 * "the events after sequence number N" and learn how many of those were
 * lost.  All functions are thread-safe; the ring's mutex is a leaf lock
 * (nothing is called with it held), so producers may log from anywhere,
 * including SimHostOps callbacks that run with a device lock held.
 */
#ifndef FAKEVFIO_EVENTS_H
#define FAKEVFIO_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fakevfio.h"

enum {
	FV_EVENTS_DEFAULT_CAPACITY = 4096,
	FV_EVENT_TEXT_MAX = 256,	/* room for fv_event_format's line */
};

typedef enum FvEventKind {
	FV_EVENT_IRQ,		/* interrupt signalled to user space: index, vector */
	FV_EVENT_RAISE,		/* interrupt raised in the model: index, vector, result */
	FV_EVENT_INTX,		/* INTx line level set: level */
	FV_EVENT_IOMMU_FAULT,	/* device DMA refused: iova, size, write, err */
	FV_EVENT_DMA,		/* device DMA done: iova, size, write, err (0: ok) */
	FV_EVENT_RESET,		/* device reset: how */
	FV_EVENT_AER,		/* AER error injected: uncorrectable, status */
	FV_EVENT_REQ,		/* device request raised */
} FvEventKind;

/* What became of a raised interrupt (FV_EVENT_RAISE). */
typedef enum FvRaiseResult {
	FV_RAISE_DELIVERED,	/* a message was sent / the line asserted */
	FV_RAISE_PENDING,	/* masked: pending */
	FV_RAISE_DROPPED,	/* nothing enabled, or no such vector */
	FV_RAISE_MASKED,	/* AER: the error is masked, no ERR */
} FvRaiseResult;

typedef struct FvEvent {
	uint64_t seq;		/* set by fv_events_add */
	uint64_t t_us;		/* microseconds since the log was created */
	FvEventKind kind;
	char bdf[FV_BDF_LEN];
	unsigned index, vector;	/* IRQ, RAISE */
	FvRaiseResult result;	/* RAISE */
	bool level;		/* INTX */
	uint64_t iova, size;	/* IOMMU_FAULT, DMA */
	bool write;		/* IOMMU_FAULT, DMA: device writes memory */
	int err;		/* IOMMU_FAULT, DMA: positive errno, 0 ok */
	char how[16];		/* RESET: "flr", "hot", "pm", "power-on", ... */
	bool uncorrectable;	/* AER */
	uint32_t status;	/* AER: the status bits injected */
} FvEvent;

typedef struct FvEvents FvEvents;

/* A log of capacity events (0: FV_EVENTS_DEFAULT_CAPACITY); NULL: ENOMEM. */
FvEvents *fv_events_new(unsigned capacity);
void fv_events_free(FvEvents *ev);

/*
 * Log e (seq and t_us are filled in; e->bdf may be empty): returns its
 * sequence number.  ev NULL is a no-op returning 0.
 */
uint64_t fv_events_add(FvEvents *ev, const FvEvent *e);

/* Shorthands for the producers (ev may be NULL; bdf may be NULL). */
uint64_t fv_events_irq(FvEvents *ev, const char *bdf, unsigned index, unsigned vector);
uint64_t fv_events_raise(FvEvents *ev, const char *bdf, unsigned index,
			 unsigned vector, FvRaiseResult result);
uint64_t fv_events_intx(FvEvents *ev, const char *bdf, bool level);
/* err: the positive or negative errno of the refused DMA. */
uint64_t fv_events_iommu_fault(FvEvents *ev, const char *bdf, uint64_t iova,
			       uint64_t size, bool write, int err);
uint64_t fv_events_dma(FvEvents *ev, const char *bdf, uint64_t iova,
		       uint64_t size, bool write, int err);
uint64_t fv_events_reset(FvEvents *ev, const char *bdf, const char *how);
uint64_t fv_events_aer(FvEvents *ev, const char *bdf, bool uncorrectable,
		       uint32_t status);
uint64_t fv_events_req(FvEvents *ev, const char *bdf);

/* The sequence number of the newest event (0: none yet). */
uint64_t fv_events_last(FvEvents *ev);
/*
 * Copy up to max events with seq > since, oldest first, into out: returns
 * how many.  *lost (may be NULL) gets the number of events after since that
 * were overwritten before this call could see them.  Call again with the
 * last seq returned to continue.
 */
unsigned fv_events_since(FvEvents *ev, uint64_t since, FvEvent *out,
			 unsigned max, uint64_t *lost);

/* "irq", "raise", "intx", "iommu-fault", "dma", "reset", "aer", "req". */
const char *fv_event_kind_name(FvEventKind kind);
/* "delivered", "pending", "dropped", "masked". */
const char *fv_raise_result_name(FvRaiseResult r);
/*
 * One line without the newline (docs/fakevfio.md, "Events"), e.g.
 * "seq=3 t=0.001234 kind=irq device=0000:03:00.0 index=MSIX vector=2".
 * Returns what snprintf returns.
 */
int fv_event_format(const FvEvent *e, char *buf, size_t len);

#endif

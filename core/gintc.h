/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/gintc: the guest's interrupt sink.
 *
 * It stands where the guest's interrupt controller would be and records
 * what reaches it: MSI/MSI-X messages (address, data, requester) and INTx
 * level changes per (requester, pin), each with a sequence number giving
 * the global order, so tests and the harness can ask "which messages, how
 * many, in what order" and "nothing was delivered since X".
 *
 * Requesters are the PCI requester id (bus << 8 | devfn).  The sink also
 * keeps the level of each shared interrupt line after the bus routed and
 * merged the pins (the PCI bus's irq_count != 0).
 */
#ifndef CORE_GINTC_H
#define CORE_GINTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GINTC_NAME_MAX 32
#define GINTC_MAX_LINES 64

typedef enum GIntcEventKind {
	GINTC_EV_MSI,		/* a message was delivered */
	GINTC_EV_MSI_DROPPED,	/* a message was sent but could not arrive */
	GINTC_EV_INTX,		/* a pin changed level */
} GIntcEventKind;

typedef struct GIntcEvent {
	uint64_t seq;		/* 0, 1, 2, ... over all events */
	GIntcEventKind kind;
	uint32_t source;	/* requester id */
	uint64_t addr;		/* MSI */
	uint32_t data;		/* MSI */
	unsigned pin;		/* INTx: 0 = INTA# .. 3 = INTD# */
	int level;		/* INTx */
} GIntcEvent;

typedef struct GIntcPin {
	uint32_t source;
	unsigned pin;
	int level;
	unsigned raises;	/* 0 -> 1 transitions */
} GIntcPin;

typedef struct GIntc GIntc;
struct GIntc {
	char name[GINTC_NAME_MAX];
	bool msi_supported;
	GIntcEvent *log;
	size_t nlog, caplog;
	uint64_t seq;
	GIntcPin *pins;
	size_t npins, cappins;
	int line_level[GINTC_MAX_LINES];
	unsigned lost;		/* events not recorded (out of memory) */
	/* Called after each recorded event (the harness's trace hook). */
	void (*observer)(GIntc *ic, const GIntcEvent *ev, void *opaque);
	void *observer_opaque;
};

void gintc_init(GIntc *ic, const char *name);
void gintc_destroy(GIntc *ic);

/* Whether the machine can take MSIs at all (QEMU's msi_supported). */
void gintc_set_msi_supported(GIntc *ic, bool supported);
bool gintc_msi_supported(const GIntc *ic);

/* ---- what devices and buses call ---- */
void gintc_deliver_msi(GIntc *ic, uint32_t source, uint64_t addr, uint32_t data);
void gintc_drop_msi(GIntc *ic, uint32_t source, uint64_t addr, uint32_t data);
/* Recorded only when the level changes. */
void gintc_set_intx(GIntc *ic, uint32_t source, unsigned pin, int level);
void gintc_set_line(GIntc *ic, unsigned line, int level);

/* ---- queries ---- */
size_t gintc_event_count(const GIntc *ic);
const GIntcEvent *gintc_event(const GIntc *ic, size_t i);
/* Delivered messages only, in order. */
size_t gintc_msi_count(const GIntc *ic);
const GIntcEvent *gintc_msi(const GIntc *ic, size_t n);
size_t gintc_msi_count_match(const GIntc *ic, uint64_t addr, uint32_t data);
size_t gintc_msi_dropped(const GIntc *ic);
/* Current level of (source, pin); 0 if never seen. */
int gintc_intx_level(const GIntc *ic, uint32_t source, unsigned pin);
unsigned gintc_intx_raises(const GIntc *ic, uint32_t source, unsigned pin);
int gintc_line_level(const GIntc *ic, unsigned line);
/* A mark is the sequence number the next event will get. */
uint64_t gintc_mark(const GIntc *ic);
size_t gintc_msi_count_since(const GIntc *ic, uint64_t mark);
size_t gintc_events_since(const GIntc *ic, uint64_t mark);
/* No delivered message since mark and no pin asserted now. */
bool gintc_quiet_since(const GIntc *ic, uint64_t mark);
/* Nothing ever: no message and no pin asserted. */
bool gintc_nothing_delivered(const GIntc *ic);
/* Forget the event log (levels stay; sequence numbers keep counting). */
void gintc_clear(GIntc *ic);

#endif

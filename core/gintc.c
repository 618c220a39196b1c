/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/gintc: the guest's interrupt sink.  See gintc.h.
 */
#include "gintc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/trace.h"

void gintc_init(GIntc *ic, const char *name)
{
	memset(ic, 0, sizeof(*ic));
	snprintf(ic->name, sizeof(ic->name), "%s", name ? name : "intc");
	ic->msi_supported = true;
}

void gintc_destroy(GIntc *ic)
{
	free(ic->log);
	free(ic->pins);
	ic->log = NULL;
	ic->pins = NULL;
	ic->nlog = ic->caplog = ic->npins = ic->cappins = 0;
}

void gintc_set_msi_supported(GIntc *ic, bool supported)
{
	ic->msi_supported = supported;
}

bool gintc_msi_supported(const GIntc *ic)
{
	return ic && ic->msi_supported;
}

static void record(GIntc *ic, GIntcEvent *ev)
{
	ev->seq = ic->seq++;
	if (ic->nlog == ic->caplog) {
		size_t cap = ic->caplog ? ic->caplog * 2 : 64;
		GIntcEvent *l = realloc(ic->log, cap * sizeof(*l));

		if (!l) {
			ic->lost++;
			return;
		}
		ic->log = l;
		ic->caplog = cap;
	}
	ic->log[ic->nlog++] = *ev;
	if (ic->observer)
		ic->observer(ic, ev, ic->observer_opaque);
}

void gintc_deliver_msi(GIntc *ic, uint32_t source, uint64_t addr, uint32_t data)
{
	GIntcEvent ev = { .kind = GINTC_EV_MSI, .source = source,
			  .addr = addr, .data = data };

	trace_core_intc_msi(ic->name, source, addr, data);
	record(ic, &ev);
}

void gintc_drop_msi(GIntc *ic, uint32_t source, uint64_t addr, uint32_t data)
{
	GIntcEvent ev = { .kind = GINTC_EV_MSI_DROPPED, .source = source,
			  .addr = addr, .data = data };

	record(ic, &ev);
}

static GIntcPin *find_pin(const GIntc *ic, uint32_t source, unsigned pin)
{
	size_t i;

	for (i = 0; i < ic->npins; i++)
		if (ic->pins[i].source == source && ic->pins[i].pin == pin)
			return &ic->pins[i];
	return NULL;
}

void gintc_set_intx(GIntc *ic, uint32_t source, unsigned pin, int level)
{
	GIntcPin *p = find_pin(ic, source, pin);
	GIntcEvent ev = { .kind = GINTC_EV_INTX, .source = source, .pin = pin };

	level = !!level;
	if (!p) {
		if (!level)
			return;		/* never raised: already low */
		if (ic->npins == ic->cappins) {
			size_t cap = ic->cappins ? ic->cappins * 2 : 16;
			GIntcPin *n = realloc(ic->pins, cap * sizeof(*n));

			if (!n) {
				ic->lost++;
				return;
			}
			ic->pins = n;
			ic->cappins = cap;
		}
		p = &ic->pins[ic->npins++];
		memset(p, 0, sizeof(*p));
		p->source = source;
		p->pin = pin;
	}
	if (p->level == level)
		return;
	p->level = level;
	if (level)
		p->raises++;
	ev.level = level;
	trace_core_intc_intx(ic->name, source, pin, level);
	record(ic, &ev);
}

void gintc_set_line(GIntc *ic, unsigned line, int level)
{
	if (line < GINTC_MAX_LINES)
		ic->line_level[line] = !!level;
}

size_t gintc_event_count(const GIntc *ic)
{
	return ic->nlog;
}

const GIntcEvent *gintc_event(const GIntc *ic, size_t i)
{
	return i < ic->nlog ? &ic->log[i] : NULL;
}

size_t gintc_msi_count(const GIntc *ic)
{
	size_t i, c = 0;

	for (i = 0; i < ic->nlog; i++)
		c += ic->log[i].kind == GINTC_EV_MSI;
	return c;
}

const GIntcEvent *gintc_msi(const GIntc *ic, size_t n)
{
	size_t i;

	for (i = 0; i < ic->nlog; i++)
		if (ic->log[i].kind == GINTC_EV_MSI && n-- == 0)
			return &ic->log[i];
	return NULL;
}

size_t gintc_msi_count_match(const GIntc *ic, uint64_t addr, uint32_t data)
{
	size_t i, c = 0;

	for (i = 0; i < ic->nlog; i++)
		c += ic->log[i].kind == GINTC_EV_MSI && ic->log[i].addr == addr &&
		     ic->log[i].data == data;
	return c;
}

size_t gintc_msi_dropped(const GIntc *ic)
{
	size_t i, c = 0;

	for (i = 0; i < ic->nlog; i++)
		c += ic->log[i].kind == GINTC_EV_MSI_DROPPED;
	return c;
}

int gintc_intx_level(const GIntc *ic, uint32_t source, unsigned pin)
{
	const GIntcPin *p = find_pin(ic, source, pin);

	return p ? p->level : 0;
}

unsigned gintc_intx_raises(const GIntc *ic, uint32_t source, unsigned pin)
{
	const GIntcPin *p = find_pin(ic, source, pin);

	return p ? p->raises : 0;
}

int gintc_line_level(const GIntc *ic, unsigned line)
{
	return line < GINTC_MAX_LINES ? ic->line_level[line] : 0;
}

uint64_t gintc_mark(const GIntc *ic)
{
	return ic->seq;
}

size_t gintc_events_since(const GIntc *ic, uint64_t mark)
{
	size_t i, c = 0;

	for (i = 0; i < ic->nlog; i++)
		c += ic->log[i].seq >= mark;
	return c;
}

size_t gintc_msi_count_since(const GIntc *ic, uint64_t mark)
{
	size_t i, c = 0;

	for (i = 0; i < ic->nlog; i++)
		c += ic->log[i].kind == GINTC_EV_MSI && ic->log[i].seq >= mark;
	return c;
}

static bool any_pin_asserted(const GIntc *ic)
{
	size_t i;

	for (i = 0; i < ic->npins; i++)
		if (ic->pins[i].level)
			return true;
	return false;
}

bool gintc_quiet_since(const GIntc *ic, uint64_t mark)
{
	return gintc_msi_count_since(ic, mark) == 0 && !any_pin_asserted(ic);
}

bool gintc_nothing_delivered(const GIntc *ic)
{
	return gintc_quiet_since(ic, 0);
}

void gintc_clear(GIntc *ic)
{
	ic->nlog = 0;
}

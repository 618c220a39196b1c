/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Run-time selectable trace points.
 *
 * Every event is listed once in trace-events.h.  Events are off by default;
 * a disabled event costs one load and a predicted branch.  They are switched
 * on by the environment variable VFIOSIM_TRACE, a comma-separated list of
 * shell glob patterns over event names ("sim_*,core_cfg_*"); output goes to
 * stderr, or to the file named by VFIOSIM_TRACE_FILE.
 *
 * Line format: "SECONDS.MICROS PID EVENT ARGS\n" (CLOCK_MONOTONIC).
 */
#ifndef COMMON_TRACE_H
#define COMMON_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

enum TraceEventId {
#define TRACE_EVENT(name, proto, fmt, ...) TRACE_EV_##name,
#include "trace-events.h"
#undef TRACE_EVENT
	TRACE_EV__COUNT
};

extern bool trace_event_state[TRACE_EV__COUNT];

void trace_emit(int id, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define TRACE_EVENT(name, proto, fmt, ...)				\
	static inline void trace_##name proto				\
	{								\
		if (__builtin_expect(trace_event_state[TRACE_EV_##name], 0)) \
			trace_emit(TRACE_EV_##name, fmt, __VA_ARGS__);	\
	}
#include "trace-events.h"
#undef TRACE_EVENT

/* Number of events, and the name of event i. */
unsigned trace_event_count(void);
const char *trace_event_name(unsigned id);
/*
 * Enable every event matching one of the comma-separated glob patterns.
 * Fails (and changes nothing) if a pattern matches no event.
 */
bool trace_enable_patterns(const char *patterns, Error **errp);
void trace_disable_all(void);
/* Redirect output (NULL: stderr). The caller keeps ownership of f. */
void trace_set_output(void *file);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "trace.h"

#include <fnmatch.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool trace_event_state[TRACE_EV__COUNT];

static const char *const event_names[TRACE_EV__COUNT] = {
#define TRACE_EVENT(name, proto, fmt, ...) #name,
#include "trace-events.h"
#undef TRACE_EVENT
};

static FILE *trace_out;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

unsigned trace_event_count(void)
{
	return TRACE_EV__COUNT;
}

const char *trace_event_name(unsigned id)
{
	return id < TRACE_EV__COUNT ? event_names[id] : NULL;
}

void trace_set_output(void *file)
{
	pthread_mutex_lock(&trace_lock);
	trace_out = file;
	pthread_mutex_unlock(&trace_lock);
}

void trace_disable_all(void)
{
	memset(trace_event_state, 0, sizeof(trace_event_state));
}

bool trace_enable_patterns(const char *patterns, Error **errp)
{
	bool want[TRACE_EV__COUNT] = { false };
	char *copy = strdup(patterns ? patterns : ""), *save = NULL, *pat;
	bool ok = true;

	if (!copy) {
		error_setg(errp, "out of memory");
		return false;
	}
	for (pat = strtok_r(copy, ",", &save); pat; pat = strtok_r(NULL, ",", &save)) {
		bool hit = false;

		while (*pat == ' ')
			pat++;
		if (!*pat)
			continue;
		for (unsigned i = 0; i < TRACE_EV__COUNT; i++) {
			if (fnmatch(pat, event_names[i], 0) == 0) {
				want[i] = true;
				hit = true;
			}
		}
		if (!hit) {
			error_setg(errp, "trace pattern '%s' matches no event", pat);
			ok = false;
			break;
		}
	}
	free(copy);
	if (!ok)
		return false;
	for (unsigned i = 0; i < TRACE_EV__COUNT; i++)
		if (want[i])
			trace_event_state[i] = true;
	return true;
}

void trace_emit(int id, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;
	FILE *f;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&trace_lock);
	f = trace_out ? trace_out : stderr;
	fprintf(f, "%lld.%06ld %d %s ", (long long)ts.tv_sec, ts.tv_nsec / 1000,
		(int)getpid(), event_names[id]);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	pthread_mutex_unlock(&trace_lock);
}

static void trace_init_from_env(void) __attribute__((constructor));

static void trace_init_from_env(void)
{
	const char *pats = getenv("VFIOSIM_TRACE");
	const char *file = getenv("VFIOSIM_TRACE_FILE");
	Error *err = NULL;

	if (!pats || !*pats)
		return;
	if (file && *file) {
		FILE *f = fopen(file, "a");

		if (!f)
			fprintf(stderr, "trace: cannot open VFIOSIM_TRACE_FILE '%s'; using stderr\n", file);
		else
			trace_out = f;
	}
	if (!trace_enable_patterns(pats, &err))
		error_report_err("trace: VFIOSIM_TRACE", err);
}

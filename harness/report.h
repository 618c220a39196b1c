/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/report: what the runner prints about scenario results: the
 * result lines, the summary, TAP version 13 and JUnit XML
 * (harness/README.md, "Output").
 */
#ifndef HARNESS_REPORT_H
#define HARNESS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/error.h"

typedef enum HxOutcome {
	HX_NOT_RUN,		/* interrupted before it started or finished */
	HX_PASS,
	HX_FAIL,
} HxOutcome;

typedef struct HxSkip {
	unsigned line;
	char *reason;
} HxSkip;

/* A growable byte buffer (captured output, protocol lines). */
typedef struct HxBuf {
	char *data;
	size_t len, cap;
	size_t dropped;		/* bytes dropped from the front (size cap) */
} HxBuf;

void hx_buf_append(HxBuf *b, const char *data, size_t len);
void hx_buf_free(HxBuf *b);

typedef struct HxResult {
	const char *name;	/* the suite's name (not owned) */
	HxOutcome outcome;
	char *message;		/* failure, one line ("NAME:LINE:COL: ...") */
	char **details;		/* more lines of the failure */
	unsigned ndetails;
	HxSkip *skips;
	unsigned nskips;
	bool has_stats;
	unsigned long steps, ops;
	double exec_seconds;	/* the executor's own time (stats seconds=) */
	double seconds;		/* wall time of the scenario */
	HxBuf out, err;		/* the executor's stdout and stderr */
	HxBuf all;		/* both, in arrival order */
	const char *not_run;	/* HX_NOT_RUN: why */
	bool reported;		/* the executor reported the failure itself */
} HxResult;

void hx_result_add_detail(HxResult *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void hx_result_free(HxResult *r);

/* The result line (and failure details, skipped steps under verbose). */
void hx_report_result(FILE *f, const HxResult *r, bool verbose);

/* TAP version 13: the header and plan, then one entry per result. */
void hx_report_tap_plan(FILE *f, unsigned n);
void hx_report_tap_result(FILE *f, unsigned number, const HxResult *r);

/* The summary table. */
void hx_report_summary(FILE *f, const HxResult *results, unsigned n,
		       double wall, unsigned jobs, const char *interrupted);

/* JUnit XML to path (written to path.tmp, then renamed). */
bool hx_report_junit(const char *path, const HxResult *results, unsigned n,
		     double wall, Error **errp);

/*
 * XML character data or attribute value: & < > " ' escaped, invalid
 * UTF-8 and the control characters XML 1.0 cannot carry written as
 * "\xNN" (tab, newline kept; in attributes as &#9; &#10;).
 */
void hx_xml_escape(FILE *f, const char *s, size_t len, bool attr);

/* The last n lines of a buffer (pointer into it). */
const char *hx_buf_tail(const HxBuf *b, unsigned n);

#endif

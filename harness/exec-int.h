/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/exec internals: the executor's state, shared by exec.c (the
 * statement loop, guest side, checks) and exec-fake.c (fakevfio's control
 * socket, events and operation trace).
 */
#ifndef HARNESS_EXEC_INT_H
#define HARNESS_EXEC_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/machine.h"
#include "harness/exec-spapr.h"
#include "harness/hx-vfio.h"
#include "harness/scn-int.h"

#define HX_MAX_DEVS 32

typedef struct HxExec {
	const Scn *scn;
	bool host;
	bool booted;		/* boot: later attaches are hotplugs */
	const char *fake_trace;
	FILE *res;
	VfcMachine *m;
	HxSpapr *spapr;
	HxVfio *vfio;
	VfcPciDevice *vdev[HX_MAX_DEVS];
	char bdf[HX_MAX_DEVS][BDF_LEN];
	uint64_t vars[SCN_MAX_VARS];
	bool defined[SCN_MAX_VARS];
	ScnEnv env;
	const ScnStmt *st;	/* the statement running */
	/* fakevfio's control socket */
	int ctl_fd;
	char *rbuf;
	size_t rlen, rcap, rcons;	/* rcons: bytes of the last line taken */
	char *ans;		/* the data lines of the last answer, '\n' after each */
	size_t anslen, anscap;
	char final[1024];	/* its final line */
	uint64_t seq_fault, seq_event;	/* events cursors */
	off_t trace_off;
	/* interrupt sink cursor (index into its event log) */
	size_t msi_pos;
	/* warnings */
	char **warns;
	size_t nwarns, capwarns, warn_pos;
	/* stats */
	unsigned long steps, ops, skipped;
	unsigned skip_line;	/* the first skipped device-side step */
	bool *skip_told;	/* per statement: its skip line was written */
	/* the failure */
	bool failed;
	bool expectation;	/* "expectation failed" (else "failed") */
	unsigned fail_col;
	char expected[2048];
	char actual[4096];	/* may hold several lines */
	char error[2048];
} HxExec;

/* Record a failure: an error (unexpected failure) or a failed check. */
bool hx_fail(HxExec *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool hx_fail_check(HxExec *ex, const char *expected, const char *actual);

/*
 * A control request; *err gets 0 when the answer was "ok", else the errno of
 * "error ERRNO MESSAGE" (and ex->final the line).  false: the socket
 * itself failed (ex has the failure).
 */
bool hx_control(HxExec *ex, const char *req, int *err);
void hx_control_close(HxExec *ex);
bool hx_expect_events(HxExec *ex, const ScnStmt *st);
bool hx_expect_trace(HxExec *ex, const ScnStmt *st);
bool hx_expect_dma_map(HxExec *ex, const ScnStmt *st);
/* The last n lines of the fakevfio trace into buf ("" without one). */
void hx_trace_tail(HxExec *ex, char *buf, size_t size, unsigned n);
/* Evaluate an expression of the running statement. */
bool hx_eval(HxExec *ex, const ScnExpr *e, uint64_t *out);
/* "key=value" match of a filter value against a field (numbers numerically). */
bool hx_value_match(const char *want, const char *have);

#endif

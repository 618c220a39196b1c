/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/runner: `vfio-harness run`, `list` and `check`.  It collects the
 * scenario files named on the command line into a suite (sorted,
 * de-duplicated, selected with -k and --shard), then runs each one in a
 * fresh `vfio-harness exec` process (under `fakevfio run` for the sim
 * backend), up to N at once, reads the result protocol of harness/exec.h
 * and hands the results to harness/report.  harness/README.md is the
 * user's reference.
 */
#ifndef HARNESS_RUNNER_H
#define HARNESS_RUNNER_H

#include <stdbool.h>

#include "common/error.h"

/* -k and --shard. */
typedef struct HxSelect {
	char **patterns;	/* -k: kept if any matches (none: all kept) */
	unsigned npatterns;
	unsigned shard_index;	/* --shard I/N: 1 <= I <= N; 0/0: no shard */
	unsigned shard_count;
} HxSelect;

/* The selected scenarios, sorted by name.  A name is also the path. */
typedef struct HxSuite {
	char **names;
	unsigned n;
	unsigned total;		/* before -k and --shard */
} HxSuite;

/*
 * Collect every PATH (a file, or a directory walked recursively for
 * *.scn files), sort, de-duplicate, then apply sel.  A PATH that does not
 * exist is an error; a directory without scenarios is not.
 */
bool hx_suite_collect(char *const *paths, unsigned npaths, const HxSelect *sel,
		      HxSuite *out, Error **errp);
void hx_suite_free(HxSuite *suite);

/* Does name match a -k pattern (substring, or fnmatch glob with * ? [)? */
bool hx_select_match(const char *pattern, const char *name);

/* Parse "I/N" for --shard. */
bool hx_shard_parse(const char *text, unsigned *index, unsigned *count,
		    Error **errp);

typedef struct HxRunOptions {
	bool host;		/* --backend host */
	char **maps;		/* --map NAME=BDF, as given */
	unsigned nmaps;
	const char *junit;	/* --junit FILE or NULL */
	bool tap;		/* --tap */
	const char *trace_dir;	/* --trace DIR or NULL */
	unsigned jobs;		/* -j N, >= 1 */
	double timeout;		/* --timeout SEC, 0: none */
	bool verbose;		/* -v */
} HxRunOptions;

/*
 * Run the suite and write the reports.  Returns the exit status: 0 all
 * passed, 1 something failed, 2 a setup error (message printed), 128+N
 * when interrupted by signal N (SIGINT, SIGTERM, SIGHUP).
 */
int hx_run(const HxSuite *suite, const HxRunOptions *opts);

/* Parse every scenario of the suite; errors to stderr.  0 or 1. */
int hx_check(const HxSuite *suite, bool verbose);

#endif

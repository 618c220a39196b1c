/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error checks shared by the core unit tests (include after <cmocka.h>):
 * a call that must succeed, or fail with one exact message, reported at
 * the caller's line.
 */
#ifndef TESTS_UNIT_CORECHECK_H
#define TESTS_UNIT_CORECHECK_H

#include <stdbool.h>
#include <string.h>

#include "common/error.h"

static inline void cc_ok_at(bool ok, Error *err, int line)
{
	if (!ok || err)
		fail_msg("line %d: %s: %s", line, ok ? "error set" : "unexpected error",
			 err ? error_get_pretty(err) : "?");
}

/* Free *err after checking it says msg; *err is NULL afterwards. */
static inline void cc_msg_at(Error **err, const char *msg, int line)
{
	if (!*err)
		fail_msg("line %d: no error, want '%s'", line, msg);
	if (strcmp(error_get_pretty(*err), msg))
		fail_msg("line %d: error '%s', want '%s'", line,
			 error_get_pretty(*err), msg);
	error_free(*err);
	*err = NULL;
}

static inline void cc_error_at(bool ok, Error **err, const char *msg, int line)
{
	if (ok)
		fail_msg("line %d: succeeded, want '%s'", line, msg);
	cc_msg_at(err, msg, line);
}

/* cond must succeed without setting err (cond first: it may set err). */
#define ok(cond, err) do { bool c_ = (cond); cc_ok_at(c_, (err), __LINE__); } while (0)
/* cond must fail with err saying exactly msg; err is NULL afterwards. */
#define expect_error(cond, err, msg) \
	do { bool c_ = (cond); cc_error_at(c_, &(err), (msg), __LINE__); } while (0)

#endif

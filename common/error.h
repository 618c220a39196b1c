/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small error object: functions that can fail return bool (or a pointer)
 * and take "Error **errp" last.  On failure they set *errp (when errp is not
 * NULL) to a heap-allocated message; on success they leave it untouched.
 */
#ifndef COMMON_ERROR_H
#define COMMON_ERROR_H

#include <stdbool.h>

typedef struct Error Error;

void error_setg(Error **errp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Like error_setg, with ": strerror(errnum)" appended. */
void error_setg_errno(Error **errp, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Put "prefix" in front of an existing error's message (no-op if none). */
void error_prepend(Error **errp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *error_get_pretty(const Error *err);
/* Move src into *dst (or free it when dst is NULL or already set). */
void error_propagate(Error **dst, Error *src);
void error_free(Error *err);
/* Print "prog: message" to stderr and free the error. */
void error_report_err(const char *prog, Error *err);

#endif

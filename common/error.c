/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Error {
	char *msg;
};

static char *vformat(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static void set_msg(Error **errp, char *msg)
{
	Error *err;

	if (!errp || *errp) {
		/* Nobody wants it, or the first error wins. */
		free(msg);
		return;
	}
	err = malloc(sizeof(*err));
	if (!err) {
		free(msg);
		abort();	/* out of memory while reporting an error */
	}
	err->msg = msg ? msg : strdup("(out of memory formatting error)");
	*errp = err;
}

void error_setg(Error **errp, const char *fmt, ...)
{
	va_list ap;

	if (!errp)
		return;
	va_start(ap, fmt);
	set_msg(errp, vformat(fmt, ap));
	va_end(ap);
}

void error_setg_errno(Error **errp, int errnum, const char *fmt, ...)
{
	va_list ap;
	char *head, *msg = NULL;

	if (!errp)
		return;
	va_start(ap, fmt);
	head = vformat(fmt, ap);
	va_end(ap);
	if (head && asprintf(&msg, "%s: %s", head, strerror(errnum)) < 0)
		msg = NULL;
	free(head);
	set_msg(errp, msg);
}

void error_prepend(Error **errp, const char *fmt, ...)
{
	va_list ap;
	char *head, *msg = NULL;

	if (!errp || !*errp)
		return;
	va_start(ap, fmt);
	head = vformat(fmt, ap);
	va_end(ap);
	if (head && asprintf(&msg, "%s%s", head, (*errp)->msg) >= 0) {
		free((*errp)->msg);
		(*errp)->msg = msg;
	}
	free(head);
}

const char *error_get_pretty(const Error *err)
{
	return err ? err->msg : "";
}

void error_propagate(Error **dst, Error *src)
{
	if (!src)
		return;
	if (dst && !*dst) {
		*dst = src;
		return;
	}
	error_free(src);
}

void error_free(Error *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err);
}

void error_report_err(const char *prog, Error *err)
{
	if (!err)
		return;
	fprintf(stderr, "%s: %s\n", prog, err->msg);
	error_free(err);
}

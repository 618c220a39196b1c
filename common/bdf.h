/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI addresses as Linux names them in sysfs ("dddd:bb:dd.f"): the one
 * parser every tool and library of the project uses.
 */
#ifndef COMMON_BDF_H
#define COMMON_BDF_H

#include <stdbool.h>

#include "error.h"

enum {
	BDF_LEN = 13,		/* "dddd:bb:dd.f" + NUL */
};

/*
 * Parse "[DDDD:]BB:DD.F" (hex; domain 0 when omitted; domain <= ffff,
 * device <= 1f, function <= 7) into the canonical lower-case sysfs name
 * out and its fields (any of which may be NULL).  The error names the text
 * and what was wrong.
 */
bool bdf_parse(const char *text, char out[BDF_LEN], unsigned *domain,
	       unsigned *bus, unsigned *slot, unsigned *func, Error **errp);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "bdf.h"

#include <stdio.h>

#include "hex.h"

static bool hex_field(const char **s, unsigned maxdigits, unsigned *out)
{
	unsigned v = 0, n = 0;
	int d;

	while ((d = hex_digit(**s)) >= 0) {
		if (++n > maxdigits)
			return false;
		v = v * 16 + (unsigned)d;
		(*s)++;
	}
	*out = v;
	return n > 0;
}

bool bdf_parse(const char *text, char out[BDF_LEN], unsigned *domain,
	       unsigned *bus, unsigned *slot, unsigned *func, Error **errp)
{
	const char *s = text;
	unsigned f[4], n = 0;
	char seps[4] = "";

	/* Split "[dddd:]bb:dd.f" into up to four hex fields. */
	for (;;) {
		if (n == 4 || !hex_field(&s, 8, &f[n]))
			goto syntax;
		n++;
		if (*s == ':' || *s == '.') {
			seps[n - 1] = *s++;
			continue;
		}
		if (*s)
			goto syntax;
		break;
	}
	if (n == 3 && seps[0] == ':' && seps[1] == '.') {
		f[3] = f[2];
		f[2] = f[1];
		f[1] = f[0];
		f[0] = 0;
	} else if (!(n == 4 && seps[0] == ':' && seps[1] == ':' && seps[2] == '.')) {
		goto syntax;
	}
	if (f[0] > 0xffff) {
		error_setg(errp, "bad BDF '%s': domain 0x%x is out of range (0000-ffff)", text, f[0]);
		return false;
	}
	if (f[1] > 0xff) {
		error_setg(errp, "bad BDF '%s': bus 0x%x is out of range (00-ff)", text, f[1]);
		return false;
	}
	if (f[2] > 0x1f) {
		error_setg(errp, "bad BDF '%s': device 0x%x is out of range (00-1f)", text, f[2]);
		return false;
	}
	if (f[3] > 7) {
		error_setg(errp, "bad BDF '%s': function %x is out of range (0-7)", text, f[3]);
		return false;
	}
	snprintf(out, BDF_LEN, "%04x:%02x:%02x.%x", f[0], f[1], f[2], f[3]);
	if (domain)
		*domain = f[0];
	if (bus)
		*bus = f[1];
	if (slot)
		*slot = f[2];
	if (func)
		*func = f[3];
	return true;
syntax:
	error_setg(errp, "bad BDF '%s': expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1",
		   text);
	return false;
}

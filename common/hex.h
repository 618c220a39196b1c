/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One hex digit's value, without the locale and without the sign or blank
 * that sscanf's %x would take.
 */
#ifndef COMMON_HEX_H
#define COMMON_HEX_H

/* The value of hex digit c (either case), or -1 when c is not one. */
static inline int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif

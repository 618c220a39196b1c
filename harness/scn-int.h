/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/scn internals shared by the parser (scn.c) and the expression
 * language (scn-expr.c).
 */
#ifndef HARNESS_SCN_INT_H
#define HARNESS_SCN_INT_H

#include "harness/scn.h"

#define SCN_MAX_VARS 256

struct Scn {
	char *path;
	char *dir;		/* the scenario's directory, for file= */
	ScnMachine machine;
	unsigned machine_line;	/* 0: no machine statement */
	ScnDevice *devs;
	unsigned ndevs;
	ScnStmt *stmts;
	unsigned nstmts, capstmts;
	char *vars[SCN_MAX_VARS];
	unsigned nvars;
	unsigned cur_line;	/* the line being parsed, for messages */
};

/* "FILE:LINE:COL: error: MESSAGE" at the line being parsed. */
void scn_perr(Scn *scn, Error **errp, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A device by name (len bytes), -1 if none. */
int scn_find_device(const Scn *scn, const char *name, size_t len);
/* A variable's index, created on first mention; -1 when there are too many. */
int scn_var_index(Scn *scn, const char *name, size_t len);
/* Edit distance, bounded: anything above max is max + 1. */
unsigned scn_edit_distance(const char *a, size_t alen, const char *b,
			   size_t blen, unsigned max);
/* Parse a number word ("42", "0x2a", "0b101", "64M"); false: not one. */
bool scn_parse_number(const char *s, size_t len, uint64_t *out, bool *overflow);

#endif

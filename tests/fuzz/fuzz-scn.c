/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-scn: a mutation fuzzer for the scenario parser (harness/scn*.c).
 *
 *   fuzz-scn [-n COUNT] [-s SEED] [-v] PATH...
 *
 * PATHs are scenario files or directories searched for *.scn (the seeds).
 * Each of COUNT inputs is a seed with 1 to 4 mutations (byte and bit flips,
 * NULs and control bytes, token deletion/duplication, line splicing, huge
 * numbers, deep parentheses and unary chains, long operator chains, long
 * lines, unterminated strings, repeat without end, 10k-deep repeat, too
 * many words/devices/variables), fed to scn_parse_text().  A parsed
 * scenario is walked (every statement, every expression evaluated with a
 * stub environment, the topology written); a refused one must carry an
 * error of the form "PATH:LINE:COL: error: ..." with LINE and COL >= 1.
 * Deterministic for a given seed: a crash is replayed with the same -s and
 * -n (-v prints the index of each input first).  Run it under SAN=1 to
 * find memory errors and undefined behaviour; it exits 1 on a malformed
 * error message, and ASan/UBSan abort it on anything else.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/scn.h"

typedef struct Buf {
	char *p;
	size_t n, cap;
} Buf;

static char **seeds;
static size_t *seedlen;
static unsigned nseeds;
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static void buf_reserve(Buf *b, size_t extra)
{
	if (b->n + extra + 1 <= b->cap)
		return;
	b->cap = (b->n + extra + 1) * 2;
	b->p = realloc(b->p, b->cap);
	if (!b->p) {
		perror("fuzz-scn: realloc");
		exit(2);
	}
}

/* Insert s[0..n) at position at. */
static void buf_insert(Buf *b, size_t at, const char *s, size_t n)
{
	buf_reserve(b, n);
	memmove(b->p + at + n, b->p + at, b->n - at);
	memcpy(b->p + at, s, n);
	b->n += n;
}

static void buf_delete(Buf *b, size_t at, size_t n)
{
	memmove(b->p + at, b->p + at + n, b->n - at - n);
	b->n -= n;
}

/* Insert c repeated n times. */
static void buf_insert_rep(Buf *b, size_t at, const char *unit, size_t n)
{
	size_t ul = strlen(unit), i;
	char *t = malloc(ul * n + 1);

	if (!t)
		exit(2);
	for (i = 0; i < n; i++)
		memcpy(t + i * ul, unit, ul);
	buf_insert(b, at, t, ul * n);
	free(t);
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* A token's bounds around a random position: [*s, *e). */
static bool pick_token(const Buf *b, size_t *s, size_t *e)
{
	size_t i;

	if (!b->n)
		return false;
	i = below(b->n);
	while (i < b->n && blank(b->p[i]))
		i++;
	if (i == b->n)
		return false;
	*s = i;
	while (*s > 0 && !blank(b->p[*s - 1]))
		(*s)--;
	*e = i;
	while (*e < b->n && !blank(b->p[*e]))
		(*e)++;
	return true;
}

/* A random line's bounds (with its '\n'). */
static void pick_line(const char *p, size_t n, size_t *s, size_t *e)
{
	size_t i = below(n);

	*s = i;
	while (*s > 0 && p[*s - 1] != '\n')
		(*s)--;
	*e = i;
	while (*e < n && p[*e] != '\n')
		(*e)++;
	if (*e < n)
		(*e)++;
}

/* A random position at the start of a line. */
static size_t line_start(const Buf *b)
{
	size_t s, e;

	if (!b->n)
		return 0;
	pick_line(b->p, b->n, &s, &e);
	return s;
}

static const char *const tokens[] = {
	"==", "!=", "->", "=>", "error", "errno", "EBUSY", "mask=", "crc32=",
	"crc32=0", "hex:", "hex:0", "de:ad", "de:ad:", ":", "$", "$x", "$i", "cap(",
	"bar(", "ecap(", "barsize(", "cap(vf0,", "bar(d,0)", ")", "(", "K", "M", "G",
	"-", "~", "0x", "0b", "0b2", "\"", "\"\\", "\\", "#", "=", "==0", "x=",
	"device=", "obj=device:", "obj=device:zz", "vf0.", "vf0.msix.entries",
	"d.vendor_id", "PCI_COMMAND", "PCI_COMAND", "H_PARAMETER", "TCE_READ",
	"repeat", "end", "set", "machine", "device", "attach", "vfio.ioctl",
	"vfio.read", "vfio.write", "fds=eventfd*3", "fds=-1*3000", "vaddr=ram:",
	"container=", "data=", "65536", "65537", "0", "1", "2", "3", "4", "8",
	"-1", "1/0", "1%0", "1<<64", "1>>99", "0xffffffffffffffff",
	"18446744073709551615", "18446744073709551616", "99999999999999999999G",
	"16G", "0x1K", "host=0000:00:00.0", "host=zz", "group=99999999999",
	"group=-1", "driver=", "file=", "platform=pseries", "tce=v1", "ram=0",
	"ram=64G", "ram=$x", "advertise-mmap", "inject", "get-state",
	"delivered", "msix", "CONFIG", "BAR7", "63", "64", "times=0",
	"timeout=", "level=2", "absent", "\xc3\xa9", "\r", "\t", "\x01", "\x7f",
};
#define NTOKENS (sizeof(tokens) / sizeof(tokens[0]))

static const char *const huge[] = {
	"18446744073709551616", "0xfffffffffffffffff", "0b11111111111111111111111111111111111111111111111111111111111111111",
	"99999999999999999999999999999999999999999", "17179869184G", "0x3fffffffffffffffK",
	"0xffffffffffffffff*0xffffffffffffffff", "-0x8000000000000000/-1",
	"0x8000000000000000%-1", "1<<0xffffffffffffffff", "$x<<$x>>$x",
};
#define NHUGE (sizeof(huge) / sizeof(huge[0]))

static void mutate(Buf *b)
{
	size_t s, e, at, n;
	char tmp[160];

	switch (below(24)) {
	case 0:		/* byte flip */
	case 1:
		if (b->n)
			b->p[below(b->n)] = (char)rnd();
		break;
	case 2:		/* bit flip */
		if (b->n)
			b->p[below(b->n)] ^= (char)(1 << below(8));
		break;
	case 3:		/* a NUL or control byte */
		tmp[0] = (char)(below(2) ? 0 : below(32));
		buf_insert(b, below(b->n + 1), tmp, 1);
		break;
	case 4:		/* delete a token */
		if (pick_token(b, &s, &e))
			buf_delete(b, s, e - s);
		break;
	case 5:		/* duplicate a token */
	case 6:
		if (pick_token(b, &s, &e)) {
			char *t = malloc(e - s + 1);

			if (!t)
				exit(2);
			t[0] = ' ';
			memcpy(t + 1, b->p + s, e - s);
			buf_insert(b, below(2) ? e : below(b->n + 1), t, e - s + 1);
			free(t);
		}
		break;
	case 7:		/* replace a token with an interesting one */
	case 8:
		if (pick_token(b, &s, &e)) {
			const char *t = tokens[below(NTOKENS)];

			buf_delete(b, s, e - s);
			buf_insert(b, s, t, strlen(t));
		}
		break;
	case 9:		/* insert an interesting token, glued or as a word */
	case 10: {
		const char *t = tokens[below(NTOKENS)];

		n = (size_t)snprintf(tmp, sizeof(tmp), below(2) ? " %s " : "%s", t);
		buf_insert(b, below(b->n + 1), tmp, n);
		break;
	}
	case 11: {	/* a huge number in place of a token */
		const char *t = huge[below(NHUGE)];

		if (pick_token(b, &s, &e))
			buf_delete(b, s, e - s);
		else
			s = below(b->n + 1);
		buf_insert(b, s, t, strlen(t));
		break;
	}
	case 12:	/* deep parentheses (balanced or not) around a number */
		at = b->n ? (pick_token(b, &s, &e) ? s : 0) : 0;
		n = below(4) ? below(200) : below(200000);
		buf_insert_rep(b, at, "(", n);
		buf_insert(b, at + n, "1", 1);
		buf_insert_rep(b, at + n + 1, ")", below(3) ? n : below(n + 2));
		break;
	case 13:	/* long unary or operator chains */
		at = b->n ? (pick_token(b, &s, &e) ? s : 0) : 0;
		n = below(4) ? below(300) : below(100000);
		switch (below(4)) {
		case 0: buf_insert_rep(b, at, "-", n); break;
		case 1: buf_insert_rep(b, at, "~-", n); break;
		case 2: buf_insert_rep(b, at, "$x+", n); break;
		default: buf_insert_rep(b, at, "cap(d,", n); break;
		}
		buf_insert(b, at + n, "1", 1);
		break;
	case 14:	/* a long word / long line */
		n = below(4) ? below(2000) : below(300000);
		buf_insert_rep(b, below(b->n + 1), below(2) ? "A" : "9", n);
		break;
	case 15:	/* an unterminated string */
		buf_insert(b, below(b->n + 1), "\"", 1);
		break;
	case 16:	/* nested repeat without end */
		at = line_start(b);
		buf_insert_rep(b, at, "repeat 3 i\n", 1 + below(40));
		break;
	case 17:	/* 10k-deep repeat (balanced or not) */
		n = 10000;
		at = line_start(b);
		buf_insert_rep(b, at, "end\n", below(2) ? n : below(n));
		buf_insert_rep(b, at, "repeat 1\n", n);
		break;
	case 18: {	/* splice a line of another seed */
		unsigned k = (unsigned)below(nseeds);

		if (seedlen[k]) {
			pick_line(seeds[k], seedlen[k], &s, &e);
			buf_insert(b, line_start(b), seeds[k] + s, e - s);
		}
		break;
	}
	case 19:	/* delete or duplicate a line */
		if (b->n) {
			pick_line(b->p, b->n, &s, &e);
			if (below(2)) {
				buf_delete(b, s, e - s);
			} else {
				char *t = malloc(e - s + 2);

				if (!t)
					exit(2);
				memcpy(t, b->p + s, e - s);
				buf_insert(b, e, t, e - s);
				free(t);
			}
		}
		break;
	case 20:	/* truncate */
		b->n = below(b->n + 1);
		break;
	case 21:	/* too many words, devices or variables */
		at = line_start(b);
		switch (below(3)) {
		case 0:
			buf_insert(b, at, "\n", 1);
			buf_insert_rep(b, at, " x=1", 64 + below(3));
			buf_insert(b, at, "attach vf0", 10);
			break;
		case 1: {
			unsigned i, k = 30 + (unsigned)below(6);

			for (i = 0; i < k; i++) {
				n = (size_t)snprintf(tmp, sizeof(tmp), "device z%u dma-test\n", i);
				buf_insert(b, at, tmp, n);
			}
			break;
		}
		default: {
			unsigned i, k = 250 + (unsigned)below(10);

			for (i = 0; i < k; i++) {
				n = (size_t)snprintf(tmp, sizeof(tmp), "set v%u $v%u+1\n", i, i + 1);
				buf_insert(b, at, tmp, n);
			}
			break;
		}
		}
		break;
	case 22:	/* CRLF, tabs, UTF-8 */
		buf_insert(b, below(b->n + 1), (const char *[]){ "\r", "\t", "\xc3\xa9",
			   "\r\n", "\xff" }[below(5)], 1 + below(2));
		break;
	default:	/* swap two bytes */
		if (b->n > 1) {
			size_t i = below(b->n), j = below(b->n);
			char c = b->p[i];

			b->p[i] = b->p[j];
			b->p[j] = c;
		}
		break;
	}
}

/* ---- running one input ---- */

static bool stub_device_value(ScnEnv *env, const ScnExpr *e, uint64_t arg,
			      uint64_t *out, Error **errp)
{
	(void)env;
	if (arg == 13) {
		error_setg(errp, "stub failure");
		return false;
	}
	*out = (uint64_t)e->kind * 7 + arg;
	return true;
}

static unsigned long long n_parsed, n_refused, n_evals;
static FILE *devnull;

static void eval_one(const ScnExpr *e, ScnEnv *env)
{
	uint64_t v;
	Error *err = NULL;

	if (!e)
		return;
	n_evals++;
	if (!scn_expr_eval(e, env, &v, &err))
		error_free(err);
}

static void walk(Scn *scn)
{
	uint64_t vars[256];
	bool defined[256];
	ScnEnv env = { .scn = scn, .vars = vars, .defined = defined,
		       .device_value = stub_device_value };
	unsigned i, j;
	Error *err = NULL;

	for (i = 0; i < 256; i++) {
		vars[i] = rnd() % 4 ? i : 0;
		defined[i] = rnd() % 8;
	}
	for (i = 0; i < scn_device_count(scn); i++)
		(void)scn_device(scn, i)->host[0];
	for (i = 0; i < scn_stmt_count(scn); i++) {
		const ScnStmt *st = scn_stmt(scn, i);

		(void)scn_op_name(st->op);
		for (j = 0; j < SCN_MAX_ARGS; j++)
			eval_one(st->args[j].e, &env);
		for (j = 0; j < st->nkv; j++)
			eval_one(st->kv[j].e, &env);
		eval_one(st->check.val, &env);
		eval_one(st->check.mask, &env);
	}
	for (i = 0; i < scn_var_count(scn); i++)
		(void)scn_var_name(scn, i);
	if (!scn_write_topology(scn, devnull, &err))
		error_free(err);
}

/* "PATH:LINE:COL: error: MSG" with LINE, COL >= 1. */
static bool well_formed(const char *path, const char *msg)
{
	size_t pl = strlen(path);
	unsigned long line, col;
	char *end;

	if (strncmp(msg, path, pl) || msg[pl] != ':')
		return false;
	line = strtoul(msg + pl + 1, &end, 10);
	if (*end != ':' || !line)
		return false;
	col = strtoul(end + 1, &end, 10);
	if (!col)
		return false;
	return !strncmp(end, ": error: ", 9) && end[9];
}

static bool run_one(const char *text, size_t n)
{
	Error *err = NULL;
	Scn *scn = scn_parse_text("fuzz.scn", text, n, &err);

	if (scn) {
		n_parsed++;
		walk(scn);
		scn_free(scn);
		return true;
	}
	n_refused++;
	if (!err || !well_formed("fuzz.scn", error_get_pretty(err))) {
		fprintf(stderr, "fuzz-scn: malformed error message: %s\n",
			err ? error_get_pretty(err) : "(none)");
		error_free(err);
		return false;
	}
	error_free(err);
	return true;
}

/* ---- seeds ---- */

static void add_seed(const char *p, size_t n)
{
	seeds = realloc(seeds, (nseeds + 1) * sizeof(*seeds));
	seedlen = realloc(seedlen, (nseeds + 1) * sizeof(*seedlen));
	if (!seeds || !seedlen)
		exit(2);
	seeds[nseeds] = malloc(n + 1);
	if (!seeds[nseeds])
		exit(2);
	memcpy(seeds[nseeds], p, n);
	seeds[nseeds][n] = 0;
	seedlen[nseeds++] = n;
}

static void load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t cap = 0, n = 0, r;

	if (!f) {
		fprintf(stderr, "fuzz-scn: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	for (;;) {
		if (n + 4096 > cap) {
			cap = (n + 4096) * 2;
			p = realloc(p, cap);
			if (!p)
				exit(2);
		}
		r = fread(p + n, 1, cap - n, f);
		if (!r)
			break;
		n += r;
	}
	fclose(f);
	add_seed(p, n);
	free(p);
}

static void load_path(const char *path, unsigned depth)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;

	if (stat(path, &sb) < 0) {
		fprintf(stderr, "fuzz-scn: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (!S_ISDIR(sb.st_mode)) {
		load_file(path);
		return;
	}
	if (depth > 8 || !(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char *sub;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&sub, "%s/%s", path, de->d_name) < 0)
			exit(2);
		if (stat(sub, &sb) == 0 &&
		    (S_ISDIR(sb.st_mode) || (l > 4 && !strcmp(de->d_name + l - 4, ".scn"))))
			load_path(sub, depth + 1);
		free(sub);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	unsigned long long count = 10000, i;
	unsigned long long seed = 1;
	bool verbose = false;
	Buf b = { 0 };
	int c, ret = 0;

	while ((c = getopt(argc, argv, "n:s:v")) != -1) {
		switch (c) {
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'v': verbose = true; break;
		default:
			fprintf(stderr, "usage: fuzz-scn [-n COUNT] [-s SEED] [-v] PATH...\n");
			return 2;
		}
	}
	for (c = optind; c < argc; c++)
		load_path(argv[c], 0);
	/* Built-in seeds, so that the fuzzer works without files too. */
	add_seed("", 0);
	{
		static const char builtin[] =
			"machine platform=pseries ram=64M\ndevice d dma-test\nattach d\n"
			"repeat 4 i\ncfg.read d $i*4 4 -> v\nexpect $v+cap(d,5) != 0\nend\n";

		add_seed(builtin, sizeof(builtin) - 1);
	}
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		return 2;
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	for (i = 0; i < count; i++) {
		unsigned k = (unsigned)below(nseeds), m, nm = 1 + (unsigned)below(4);

		b.n = 0;
		buf_insert(&b, 0, seeds[k], seedlen[k]);
		for (m = 0; m < nm; m++)
			mutate(&b);
		if (verbose)
			fprintf(stderr, "input %llu (seed file %u, %zu bytes)\n", i, k, b.n);
		if (!run_one(b.p, b.n)) {
			fprintf(stderr, "fuzz-scn: input %llu (-s %llu) failed\n", i, seed);
			ret = 1;
			break;
		}
	}
	printf("fuzz-scn: %llu inputs from %u seeds (-s %llu): %llu parsed, %llu refused, "
	       "%llu expressions evaluated\n", i, nseeds, seed, n_parsed, n_refused, n_evals);
	fclose(devnull);
	for (i = 0; i < nseeds; i++)
		free(seeds[i]);
	free(seeds);
	free(seedlen);
	free(b.p);
	return ret;
}

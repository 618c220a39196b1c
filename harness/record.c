/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/record: `vfio-harness record [-o FILE] [--name DEV=BDF]... TRACE`
 * turns a fakevfio operation trace (docs/fakevfio.md, "The operation
 * trace") into a scenario of raw VFIO statements (vfio.*) that replays the
 * same calls, with the recorded results as checks.  The rules (what is
 * normalized, what is skipped) are in docs/harness-record.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/vfio.h>

#include "common/bdf.h"
#include "common/hex.h"
#include "hx-vfio.h"
#include "record.h"
#include "scn.h"

enum {
	REC_WORDS_MAX = 40,	/* key=value words of one trace line */
	REC_DEVICES_MAX = 64,
	REC_RAM_ALIGN = 0x10000,
	REC_TEXT_MAX = 4096,	/* one trace line */
};

typedef struct RecWord {
	char *key, *val;
} RecWord;

typedef struct RecLine {
	unsigned lineno;
	unsigned seq;		/* file order, to keep the sort stable */
	uint64_t t_us;
	long pid;
	char obj;		/* 'c', 'g', 'd' */
	char objid[BDF_LEN + 4];	/* container/group number or BDF */
	const char *op;		/* open, close, ioctl, read, write */
	const char *name;	/* ioctls */
	long long ret;		/* >= 0, or -errno */
	const char *retname;	/* ret < 0: the errno's name (static) */
	bool injected;
	RecWord w[REC_WORDS_MAX];
	unsigned nw;
	char *text;		/* owns the strings above */
} RecLine;

typedef struct RecDevice {
	char bdf[BDF_LEN];
	char model[64];
	long group;
	char driver[64];
	char *params;		/* decoded, "k=v,k=v" */
	char name[32];
	unsigned opens;		/* handles made so far */
	char handle[40];	/* the open one ("" none) */
} RecDevice;

typedef struct RecRange {
	uint64_t start, end;	/* recorded vaddrs [start, end) */
	uint64_t off;		/* where start lands in guest RAM */
} RecRange;

typedef struct RecOpen {
	char obj;
	char objid[BDF_LEN + 4];
	char handle[40];
} RecOpen;

typedef struct Rec {
	const char *path;
	char platform[16];
	RecDevice dev[REC_DEVICES_MAX];
	unsigned ndev;
	RecLine *lines;
	unsigned nlines;
	RecRange *ranges;
	unsigned nranges;
	uint64_t ram_size;
	RecOpen *open;		/* handles open at this point of the replay */
	unsigned nopen;
	unsigned fails;		/* handles of failed opens */
	unsigned skipped;
	FILE *out;
	char *linebuf;		/* getline's */
} Rec;

static const char prog[] = "vfio-harness record";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vfio-harness record [-o FILE] [--name DEV=BDF]... TRACE\n"
		"       vfio-harness record --help\n"
		"\n"
		"Turn a fakevfio operation trace (fakevfio run --trace TRACE) into a\n"
		"scenario that replays the same VFIO calls with raw vfio.* statements\n"
		"and checks the recorded results.  The trace's header gives the machine\n"
		"and devices (dev0, dev1, ... in header order).\n"
		"\n"
		"Options:\n"
		"  -o FILE            write the scenario to FILE (default: stdout)\n"
		"  --name DEV=BDF     call the device at BDF DEV instead of devN\n"
		"  -h, --help         show this help\n"
		"\n"
		"Replay it with `vfio-harness run SCENARIO`.  What cannot be replayed\n"
		"exactly (writes known only by their CRC-32, SET_IRQS DATA_BOOL values,\n"
		"unknown ioctls) becomes a comment; see docs/harness-record.md.\n"
		"\n"
		"Exit status: 0 written, 1 a bad trace (FILE:LINE: message), 2 bad usage.\n");
}

/* ---- parsing the trace -------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static int bad(const Rec *r, unsigned lineno, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s:%u: ", prog, r->path, lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* Undo the trace's %XX escapes in place; false on a bad escape. */
static bool unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		int hi, lo;

		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		/* Two hex digits (sscanf's %2x would take a sign or a blank). */
		hi = hex_digit(s[1]);
		lo = hi < 0 ? -1 : hex_digit(s[2]);
		if (lo < 0)
			return false;
		*o++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*o = '\0';
	return true;
}

/* Split "k=v k=v ..." (single spaces) in place. */
static unsigned split_words(char *text, RecWord *w, unsigned max, bool *ok)
{
	unsigned n = 0;
	char *p = text;

	*ok = true;
	while (*p) {
		char *tok = p, *eq;

		p += strcspn(p, " ");
		if (*p)
			*p++ = '\0';
		eq = strchr(tok, '=');
		if (!eq || eq == tok || n >= max) {
			*ok = false;
			return n;
		}
		*eq = '\0';
		w[n].key = tok;
		w[n].val = eq + 1;
		n++;
	}
	return n;
}

static const char *word(const RecWord *w, unsigned n, const char *key)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(w[i].key, key))
			return w[i].val;
	return NULL;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	/* Digits first: strtoull would also take blanks and a sign. */
	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

/*
 * A word the scenario can carry as it is: a letter, digit or one of
 * "_.-+:/" (no blank, '#', '"', '=', ',' or non-ASCII byte).
 */
static bool plain_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.-+:/", *s)))
			return false;
	return true;
}

static bool name_valid(const char *s, size_t len);

/* Decoded params= "k=v,k=v": names for the keys, plain words for the values. */
static bool params_valid(const char *p)
{
	while (*p) {
		const char *eq = strchr(p, '='), *end = p + strcspn(p, ",");
		char val[256];

		if (!eq || eq > end || !name_valid(p, (size_t)(eq - p)) ||
		    (size_t)(end - eq) > sizeof(val))
			return false;
		memcpy(val, eq + 1, (size_t)(end - eq - 1));
		val[end - eq - 1] = '\0';
		if (!plain_word(val))
			return false;
		p = *end ? end + 1 : end;
	}
	return true;
}

static int parse_header_device(Rec *r, char *text, unsigned lineno)
{
	RecWord w[8];
	bool ok;
	unsigned n = split_words(text, w, 8, &ok);
	const char *bdf = word(w, n, "bdf"), *model = word(w, n, "model");
	const char *group = word(w, n, "group"), *driver = word(w, n, "driver");
	const char *params = word(w, n, "params");
	RecDevice *d;
	uint64_t g;
	Error *err = NULL;

	if (!ok || !bdf || !model || !group || !driver || !params || n != 5 ||
	    !parse_u64(group, &g) || g > 0x7fffffff)
		return bad(r, lineno, "expected '# device bdf=BDF model=MODEL group=N "
			   "driver=NAME params=K=V,...'");
	if (r->ndev >= REC_DEVICES_MAX)
		return bad(r, lineno, "more than %d devices", REC_DEVICES_MAX);
	d = &r->dev[r->ndev];
	if (!bdf_parse(bdf, d->bdf, NULL, NULL, NULL, NULL, &err)) {
		bad(r, lineno, "%s", error_get_pretty(err));
		error_free(err);
		return -1;
	}
	if (strlen(model) >= sizeof(d->model) || strlen(driver) >= sizeof(d->driver))
		return bad(r, lineno, "model or driver name too long");
	if (!plain_word(model) || !plain_word(driver))
		return bad(r, lineno, "expected a model and driver name of letters, digits "
			   "and '_.-+:/'");
	for (unsigned i = 0; i < r->ndev; i++)
		if (!strcmp(r->dev[i].bdf, d->bdf))
			return bad(r, lineno, "device %s given twice", d->bdf);
	snprintf(d->model, sizeof(d->model), "%s", model);
	snprintf(d->driver, sizeof(d->driver), "%s", driver);
	d->group = (long)g;
	d->params = strdup(params);
	if (!d->params)
		return bad(r, lineno, "out of memory");
	if (!unescape(d->params) || !params_valid(d->params)) {
		free(d->params);
		d->params = NULL;
		return bad(r, lineno, "expected params=KEY=VALUE,... with %%XX escapes, keys "
			   "that are names and values of letters, digits and '_.-+:/'");
	}
	snprintf(d->name, sizeof(d->name), "dev%u", r->ndev);
	r->ndev++;
	return 0;
}

static RecDevice *device_by_bdf(Rec *r, const char *bdf)
{
	for (unsigned i = 0; i < r->ndev; i++)
		if (!strcmp(r->dev[i].bdf, bdf))
			return &r->dev[i];
	return NULL;
}

/* Decimal digits only. */
static bool parse_dec(const char *s, uint64_t *v)
{
	*v = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || *v > UINT64_MAX / 10 - 1)
			return false;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	return true;
}

/* "t=S.UUUUUU" */
static bool parse_time(const char *s, uint64_t *us)
{
	uint64_t sec, frac;
	const char *dot = s ? strchr(s, '.') : NULL;
	char secs[32];

	if (!dot || dot == s || (size_t)(dot - s) >= sizeof(secs) || strlen(dot + 1) != 6)
		return false;
	memcpy(secs, s, (size_t)(dot - s));
	secs[dot - s] = '\0';
	if (!parse_dec(secs, &sec) || !parse_dec(dot + 1, &frac) || sec > UINT64_MAX / 2000000)
		return false;
	*us = sec * 1000000u + frac;
	return true;
}

static int parse_line(Rec *r, char *text, unsigned lineno, RecLine *l)
{
	static const char *const ops[] = { "open", "close", "ioctl", "read", "write" };
	const char *t, *pid, *obj, *op, *ret, *colon;
	uint64_t v;
	bool ok;

	memset(l, 0, sizeof(*l));
	l->lineno = lineno;
	l->text = text;
	l->nw = split_words(text, l->w, REC_WORDS_MAX, &ok);
	if (!ok)
		return bad(r, lineno, "expected KEY=VALUE words separated by single spaces");
	if (l->nw < 5 || strcmp(l->w[0].key, "t") || strcmp(l->w[1].key, "pid") ||
	    strcmp(l->w[2].key, "obj") || strcmp(l->w[3].key, "op") ||
	    strcmp(l->w[l->nw - 1].key, "us"))
		return bad(r, lineno, "expected a trace line: t=S.UUUUUU pid=N obj=KIND:ID op=OP ... "
			   "ret=R us=N");
	t = l->w[0].val;
	pid = l->w[1].val;
	obj = l->w[2].val;
	op = l->w[3].val;
	if (!parse_time(t, &l->t_us))
		return bad(r, lineno, "expected t=SECONDS.MICROSECONDS (6 decimals), got 't=%s'", t);
	if (!parse_dec(pid, &v) || v > 0x7fffffff)
		return bad(r, lineno, "expected pid=N, got 'pid=%s'", pid);
	l->pid = (long)v;
	colon = strchr(obj, ':');
	if (!colon || strlen(colon + 1) >= sizeof(l->objid))
		return bad(r, lineno, "expected obj=container:N, group:N or device:BDF, got 'obj=%s'",
			   obj);
	if (!strncmp(obj, "container:", 10) && parse_u64(colon + 1, &v))
		l->obj = 'c';
	else if (!strncmp(obj, "group:", 6) && parse_u64(colon + 1, &v))
		l->obj = 'g';
	else if (!strncmp(obj, "device:", 7))
		l->obj = 'd';
	else
		return bad(r, lineno, "expected obj=container:N, group:N or device:BDF, got 'obj=%s'",
			   obj);
	if (l->obj == 'g' && v > 0x7fffffff)
		return bad(r, lineno, "expected a group number 0-2147483647, got 'obj=%s'", obj);
	if (l->obj == 'd')
		snprintf(l->objid, sizeof(l->objid), "%s", colon + 1);
	else	/* the number, in decimal: it becomes a handle name and an argument */
		snprintf(l->objid, sizeof(l->objid), "%" PRIu64, v);
	if (l->obj == 'd' && !device_by_bdf(r, l->objid))
		return bad(r, lineno, "device %s is not in the trace's header", l->objid);
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(op, ops[i]))
			l->op = ops[i];
	if (!l->op)
		return bad(r, lineno, "expected op=open, close, ioctl, read or write, got 'op=%s'", op);
	if (l->op == ops[2]) {
		l->name = word(l->w, l->nw, "name");
		if (!l->name)
			return bad(r, lineno, "expected name=IOCTL on an ioctl line");
	}
	ret = word(l->w, l->nw, "ret");
	if (!ret)
		return bad(r, lineno, "expected ret=N or ret=-ENAME");
	if (ret[0] == '-' && ret[1] == 'E') {
		uint64_t e;

		/* A name the scenario language knows (it is written as it is). */
		if (!scn_symbol_lookup(ret + 1, strlen(ret + 1), &e) || !e || e > 4095 ||
		    !scn_errno_name((int)e))
			return bad(r, lineno, "expected ret=N or ret=-ENAME with a known errno "
				   "name, got 'ret=%s'", ret);
		l->retname = scn_errno_name((int)e);	/* EWOULDBLOCK: EAGAIN */
		l->ret = -(long long)e;
	} else if (ret[0] == '-' && parse_u64(ret + 1, &v) && v >= 1 && v <= 4095) {
		/* "=> errno" takes names only. */
		l->retname = scn_errno_name((int)v);
		if (!l->retname)
			return bad(r, lineno, "errno %" PRIu64 " of 'ret=%s' has no name that "
				   "scenarios know", v, ret);
		l->ret = -(long long)v;
	} else if (parse_u64(ret, &v) && v <= INT64_MAX) {
		l->ret = (long long)v;
	} else {
		return bad(r, lineno, "expected ret=N or ret=-ENAME, got 'ret=%s'", ret);
	}
	l->injected = word(l->w, l->nw, "injected") != NULL;
	return 0;
}

static int cmp_lines(const void *a, const void *b)
{
	const RecLine *x = a, *y = b;

	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int read_trace(Rec *r, FILE *f)
{
	char *buf;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0, cap_lines = 0;
	bool header = false;

	while ((len = getline(&r->linebuf, &cap, f)) >= 0) {
		buf = r->linebuf;
		lineno++;
		if (len && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (lineno == 1) {
			if (strcmp(buf, "# fakevfio trace v1"))
				return bad(r, 1, "expected '# fakevfio trace v1' (a trace of "
					   "fakevfio run --trace, with its machine header)");
			header = true;
			continue;
		}
		if (buf[0] == '#') {
			if (!strncmp(buf, "# device ", 9)) {
				if (parse_header_device(r, buf + 9, lineno) < 0)
					return -1;
			} else if (!strncmp(buf, "# platform ", 11)) {
				if (strcmp(buf + 11, "x86") && strcmp(buf + 11, "pseries"))
					return bad(r, lineno, "expected '# platform x86' or "
						   "'# platform pseries'");
				snprintf(r->platform, sizeof(r->platform), "%s", buf + 11);
			}
			continue;
		}
		if (!len)
			continue;
		if (len >= REC_TEXT_MAX)
			return bad(r, lineno, "line longer than %d bytes", REC_TEXT_MAX);
		if (r->nlines == cap_lines) {
			RecLine *nl;

			cap_lines = cap_lines ? 2 * cap_lines : 256;
			nl = realloc(r->lines, cap_lines * sizeof(*nl));
			if (!nl)
				return bad(r, lineno, "out of memory");
			r->lines = nl;
		}
		{
			char *text = strdup(buf);

			if (!text)
				return bad(r, lineno, "out of memory");
			if (parse_line(r, text, lineno, &r->lines[r->nlines]) < 0) {
				free(text);
				return -1;
			}
			r->lines[r->nlines].seq = r->nlines;
			r->nlines++;
		}
	}
	if (!header)
		return bad(r, 1, "expected '# fakevfio trace v1' (the file is empty)");
	if (!r->platform[0])
		return bad(r, lineno, "expected a '# platform x86|pseries' line in the header");
	if (r->nlines)
		qsort(r->lines, r->nlines, sizeof(*r->lines), cmp_lines);
	return 0;
}

/* ---- guest RAM for the recorded vaddrs ----------------------------------- */

static bool is_vaddr_ioctl(const char *name)
{
	return name && (!strcmp(name, "VFIO_IOMMU_MAP_DMA") ||
			!strcmp(name, "VFIO_IOMMU_SPAPR_REGISTER_MEMORY") ||
			!strcmp(name, "VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY"));
}

static int cmp_ranges(const void *a, const void *b)
{
	const RecRange *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Every distinct vaddr range (overlapping or touching ranges merged, page
 * aligned) gets a place in guest RAM, in address order, each at a
 * REC_RAM_ALIGN boundary plus its offset within a page.
 */
static int plan_ram(Rec *r)
{
	unsigned n = 0, m = 0;
	uint64_t off = 0;

	for (unsigned i = 0; i < r->nlines; i++)
		n += is_vaddr_ioctl(r->lines[i].name);
	r->ranges = calloc(n ? n : 1, sizeof(*r->ranges));
	if (!r->ranges)
		return bad(r, 0, "out of memory");
	for (unsigned i = 0; i < r->nlines; i++) {
		RecLine *l = &r->lines[i];
		uint64_t va, size;

		if (!is_vaddr_ioctl(l->name))
			continue;
		if (!parse_u64(word(l->w, l->nw, "vaddr"), &va) ||
		    !parse_u64(word(l->w, l->nw, "size"), &size))
			continue;	/* efault=1: not replayable (see emit) */
		r->ranges[m].start = va & ~0xfffull;
		r->ranges[m].end = (va + size + 0xfff) & ~0xfffull;
		if (r->ranges[m].end < r->ranges[m].start || size > (1ull << 40))
			return bad(r, l->lineno, "vaddr=0x%" PRIx64 " size=0x%" PRIx64
				   " is too large to place in guest RAM", va, size);
		m++;
	}
	qsort(r->ranges, m, sizeof(*r->ranges), cmp_ranges);
	n = 0;
	for (unsigned i = 0; i < m; i++) {
		if (n && r->ranges[i].start <= r->ranges[n - 1].end) {
			if (r->ranges[i].end > r->ranges[n - 1].end)
				r->ranges[n - 1].end = r->ranges[i].end;
			continue;
		}
		r->ranges[n++] = r->ranges[i];
	}
	r->nranges = n;
	for (unsigned i = 0; i < n; i++) {
		r->ranges[i].off = off;
		off += (r->ranges[i].end - r->ranges[i].start + REC_RAM_ALIGN - 1) &
		       ~(uint64_t)(REC_RAM_ALIGN - 1);
	}
	/* At least 1M, in whole megabytes. */
	r->ram_size = off < 0x100000 ? 0x100000 : (off + 0xfffff) & ~0xfffffull;
	return 0;
}

static uint64_t ram_offset(const Rec *r, uint64_t va)
{
	for (unsigned i = 0; i < r->nranges; i++)
		if (va >= r->ranges[i].start && va < r->ranges[i].end)
			return r->ranges[i].off + (va - r->ranges[i].start);
	return 0;
}

/* ---- handles ------------------------------------------------------------- */

static RecOpen *open_find(Rec *r, char obj, const char *id)
{
	/* The latest open of the object. */
	for (unsigned i = r->nopen; i-- > 0;)
		if (r->open[i].obj == obj && !strcmp(r->open[i].objid, id))
			return &r->open[i];
	return NULL;
}

static bool open_add(Rec *r, char obj, const char *id, const char *handle)
{
	RecOpen *no = realloc(r->open, (r->nopen + 1) * sizeof(*no));

	if (!no)
		return false;
	r->open = no;
	no = &r->open[r->nopen++];
	no->obj = obj;
	snprintf(no->objid, sizeof(no->objid), "%s", id);
	snprintf(no->handle, sizeof(no->handle), "%s", handle);
	return true;
}

static void open_remove(Rec *r, RecOpen *o)
{
	unsigned i = (unsigned)(o - r->open);

	memmove(&r->open[i], &r->open[i + 1], (r->nopen - i - 1) * sizeof(*o));
	r->nopen--;
}

/* ---- writing the scenario --------------------------------------------------- */

/*
 * Text from the trace inside a comment: the scenario parser refuses
 * control characters anywhere, so those (and non-ASCII bytes) become '?'.
 */
static void comment(Rec *r, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? '?' : *s, r->out);
}

static void check(Rec *r, const RecLine *l)
{
	if (l->ret < 0)
		fprintf(r->out, " => errno %s", l->retname);
	else
		fprintf(r->out, " == %lld", l->ret);
}

__attribute__((format(printf, 3, 4)))
static void skip(Rec *r, const RecLine *l, const char *fmt, ...)
{
	va_list ap;
	char *text;

	fprintf(r->out, "# line %u not replayable: ", l->lineno);
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	comment(r, text ? text : "(out of memory)");
	free(text);
	fputc('\n', r->out);
	r->skipped++;
}

/* A fault rule before a statement whose operation fakevfio made fail. */
static void fault(Rec *r, const RecLine *l, const char *operation)
{
	const RecDevice *d = l->obj == 'd' ? device_by_bdf(r, l->objid) : NULL;
	const char *region = word(l->w, l->nw, "region");

	if (!l->injected || l->ret >= 0)
		return;
	fprintf(r->out, "fault %s", operation);
	if (d)
		fprintf(r->out, " device=%s", d->name);
	else if (l->obj == 'g')
		fprintf(r->out, " group=%s", l->objid);
	if (region && (!strcmp(operation, "region-read") || !strcmp(operation, "region-write")))
		fprintf(r->out, " region=%s", region);
	fprintf(r->out, " errno=%s count=1\n", l->retname);
}

static void fail_handle(Rec *r, char *h, size_t n)
{
	snprintf(h, n, "fail%u", ++r->fails);
}

static void emit_open(Rec *r, const RecLine *l)
{
	char h[40];

	if (l->obj == 'd')
		return;		/* made by GET_DEVICE_FD (see emit_get_device_fd) */
	fault(r, l, l->obj == 'c' ? "open-container" : "open-group");
	if (l->ret >= 0)
		snprintf(h, sizeof(h), "%c%s", l->obj, l->objid);
	else
		fail_handle(r, h, sizeof(h));
	if (l->ret >= 0 && open_find(r, l->obj, l->objid)) {
		skip(r, l, "%s %s opened again while open", l->obj == 'c' ? "container" : "group",
		     l->objid);
		return;
	}
	if (l->obj == 'c')
		fprintf(r->out, "vfio.open-container %s", h);
	else
		fprintf(r->out, "vfio.open-group %s %s", h, l->objid);
	if (l->ret < 0)
		check(r, l);
	fputc('\n', r->out);
	if (l->ret >= 0)
		open_add(r, l->obj, l->objid, h);
}

static void emit_get_device_fd(Rec *r, unsigned idx)
{
	const RecLine *l = &r->lines[idx];
	const char *name = word(l->w, l->nw, "name");
	char bdf[BDF_LEN], h[40];
	RecOpen *g = open_find(r, 'g', l->objid);
	RecDevice *d;
	Error *err = NULL;

	/* The second name= is the device's (the first is the ioctl's). */
	for (unsigned i = 0, seen = 0; i < l->nw; i++)
		if (!strcmp(l->w[i].key, "name") && seen++ == 1)
			name = l->w[i].val;
	if (!g) {
		skip(r, l, "no open handle for group %s", l->objid);
		return;
	}
	if (!name || word(l->w, l->nw, "truncated") || word(l->w, l->nw, "efault") ||
	    !bdf_parse(name, bdf, NULL, NULL, NULL, NULL, &err) || !(d = device_by_bdf(r, bdf))) {
		error_free(err);
		skip(r, l, "VFIO_GROUP_GET_DEVICE_FD of '%s', not a device of the header (ret=%s)",
		     name ? name : "?", word(l->w, l->nw, "ret"));
		return;
	}
	fault(r, l, "VFIO_GROUP_GET_DEVICE_FD");
	/* The device's open line (after this one by t) may tell of an injected fault. */
	for (unsigned j = idx + 1; j < r->nlines; j++) {
		const RecLine *o = &r->lines[j];

		if (o->pid != l->pid)
			continue;
		if (o->name && !strcmp(o->name, "VFIO_GROUP_GET_DEVICE_FD"))
			break;
		if (o->obj == 'd' && o->op && !strcmp(o->op, "open") && !strcmp(o->objid, bdf)) {
			fault(r, o, "open-device");
			break;
		}
	}
	if (l->ret >= 0) {
		if (d->opens++)
			snprintf(h, sizeof(h), "d%u_%u", (unsigned)(d - r->dev), d->opens - 1);
		else
			snprintf(h, sizeof(h), "d%u", (unsigned)(d - r->dev));
	} else {
		fail_handle(r, h, sizeof(h));
	}
	fprintf(r->out, "vfio.open-device %s %s %s", h, g->handle, d->name);
	if (l->ret < 0)
		check(r, l);
	fputc('\n', r->out);
	if (l->ret >= 0)
		open_add(r, 'd', bdf, h);
}

/* The keys of an ioctl line that the statement repeats. */
static int emit_ioctl(Rec *r, unsigned idx)
{
	const RecLine *l = &r->lines[idx];
	RecOpen *h = open_find(r, l->obj, l->objid);
	unsigned base = hx_vfio_struct_size(l->name);
	uint64_t flags = 0, count = 0, argsz = 0;
	bool has_argsz = false;

	if (!strcmp(l->name, "VFIO_GROUP_GET_DEVICE_FD")) {
		emit_get_device_fd(r, idx);
		return 0;
	}
	if (!hx_vfio_ioctl_number(l->name)) {
		skip(r, l, "%s is not an ioctl vfio.ioctl makes", l->name);
		return 0;
	}
	if (!h) {
		skip(r, l, "no open handle for %s:%s", l->obj == 'c' ? "container" :
		     l->obj == 'g' ? "group" : "device", l->objid);
		return 0;
	}
	if (word(l->w, l->nw, "efault")) {
		skip(r, l, "the argument of %s was unreadable (efault=1)", l->name);
		return 0;
	}
	parse_u64(word(l->w, l->nw, "flags"), &flags);
	parse_u64(word(l->w, l->nw, "count"), &count);
	has_argsz = parse_u64(word(l->w, l->nw, "argsz"), &argsz);
	if (!strcmp(l->name, "VFIO_DEVICE_SET_IRQS") && (flags & VFIO_IRQ_SET_DATA_EVENTFD) &&
	    count > HX_VFIO_FDS_MAX) {
		skip(r, l, "VFIO_DEVICE_SET_IRQS with count=%" PRIu64 " eventfds (vfio.ioctl "
		     "makes at most %d)", count, HX_VFIO_FDS_MAX);
		return 0;
	}
	if (!strcmp(l->name, "VFIO_DEVICE_SET_IRQS") && (flags & VFIO_IRQ_SET_DATA_BOOL)) {
		skip(r, l, "the DATA_BOOL values of VFIO_DEVICE_SET_IRQS are not in the trace");
		return 0;
	}
	if (!strcmp(l->name, "VFIO_DEVICE_PCI_HOT_RESET")) {
		unsigned ngroups = 0;

		for (unsigned i = 0; i < r->nopen; i++)
			ngroups += r->open[i].obj == 'g';
		if (ngroups != count) {
			skip(r, l, "VFIO_DEVICE_PCI_HOT_RESET with count=%" PRIu64 " group fds, "
			     "%u groups open (the trace does not say which)", count, ngroups);
			return 0;
		}
	}
	fault(r, l, l->name);
	fprintf(r->out, "vfio.ioctl %s %s", h->handle, l->name);
	for (unsigned i = 4; i < l->nw; i++) {
		const char *k = l->w[i].key, *val = l->w[i].val;
		uint64_t num;

		if (!strcmp(k, "ret"))
			break;
		if (!strcmp(k, "argsz") || !strcmp(k, "name") || !strcmp(k, "cmd"))
			continue;
		switch (hx_vfio_arg_kind(l->name, k)) {
		case HX_ARG_NUM:
			/* Written as read (0x... or decimal), never copied. */
			if (!parse_u64(val, &num))
				return bad(r, l->lineno, "expected %s=NUMBER, got '%s=%s'", k, k,
					   val);
			fprintf(r->out, strncmp(val, "0x", 2) ? " %s=%" PRIu64 : " %s=0x%" PRIx64,
				k, num);
			break;
		case HX_ARG_RAM:
			if (!parse_u64(val, &num))
				return bad(r, l->lineno, "expected %s=NUMBER, got '%s=%s'", k, k,
					   val);
			fprintf(r->out, " %s=ram:0x%" PRIx64, k, ram_offset(r, num));
			break;
		default:
			break;	/* decodings (type=, ext=) and fd numbers */
		}
	}
	if (!strcmp(l->name, "VFIO_GROUP_SET_CONTAINER")) {
		RecOpen *c = NULL;
		unsigned nc = 0;

		for (unsigned i = 0; i < r->nopen; i++)
			if (r->open[i].obj == 'c')
				c = &r->open[i], nc++;
		if (!c) {
			fprintf(r->out, "  # no container open\n");
			r->skipped++;
			return 0;
		}
		fprintf(r->out, " container=%s", c->handle);
		if (nc > 1) {
			const char *fd = word(l->w, l->nw, "fd");

			fprintf(r->out, "  # fd=");
			comment(r, fd ? fd : "?");
			fprintf(r->out, ": the newest of %u open containers", nc);
		}
	}
	if (!strcmp(l->name, "VFIO_DEVICE_SET_IRQS")) {
		if (flags & VFIO_IRQ_SET_DATA_EVENTFD && count) {
			fprintf(r->out, " fds=eventfd*%" PRIu64, count);
			base += 4 * (unsigned)count;
		}
	}
	if (!strcmp(l->name, "VFIO_DEVICE_PCI_HOT_RESET")) {
		const char *sep = " groups=";

		for (unsigned i = 0; i < r->nopen; i++)
			if (r->open[i].obj == 'g') {
				fprintf(r->out, "%s%s", sep, r->open[i].handle);
				sep = ",";
			}
		base += 4 * (unsigned)count;
	}
	/* argsz= only where vfio.ioctl takes it (struct ioctls). */
	if (has_argsz && argsz != base && hx_vfio_arg_kind(l->name, "argsz") != HX_ARG_NONE)
		fprintf(r->out, " argsz=%" PRIu64, argsz);
	check(r, l);
	fputc('\n', r->out);
	return 0;
}

/* data=HEX into b (at most n bytes): the count, or -1. */
static long parse_hex(const char *s, uint8_t *b, size_t n)
{
	size_t len = strlen(s);

	if (len % 2 || len / 2 > n)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(len / 2);
}

static void put_value(Rec *r, const uint8_t *b, size_t n)
{
	if (n == 1 || n == 2 || n == 4 || n == 8) {
		uint64_t v = 0;

		for (size_t i = n; i-- > 0;)
			v = v << 8 | b[i];
		fprintf(r->out, "0x%" PRIx64, v);
		return;
	}
	fprintf(r->out, "hex:");
	for (size_t i = 0; i < n; i++)
		fprintf(r->out, "%02x", b[i]);
}

static int emit_rw(Rec *r, const RecLine *l)
{
	bool write = !strcmp(l->op, "write");
	const char *region = word(l->w, l->nw, "region");
	const char *offset = word(l->w, l->nw, "offset");
	const char *data = word(l->w, l->nw, "data"), *crc = word(l->w, l->nw, "crc32");
	RecOpen *h = open_find(r, l->obj, l->objid);
	uint64_t size = 0, off, crc32 = 0;
	uint8_t b[64];
	long nb = 0;
	int ri;

	if (l->obj != 'd') {
		skip(r, l, "a %s of a %s file", l->op, l->obj == 'c' ? "container" : "group");
		return 0;
	}
	if (!region || !offset || !parse_u64(offset, &off) ||
	    !parse_u64(word(l->w, l->nw, "size"), &size))
		return bad(r, l->lineno, "expected region=NAME offset=0x... size=N on a %s line",
			   l->op);
	ri = hx_vfio_region_index(region);
	if (ri < 0 && !strncmp(region, "REGION", 6) && region[6] &&
	    strspn(region + 6, "0123456789") == strlen(region + 6)) {
		skip(r, l, "region %s (vfio.%s takes regions 0-%d)", region, l->op,
		     HX_VFIO_REGION_MAX - 1);
		return 0;
	}
	if (ri < 0)
		return bad(r, l->lineno, "expected region=BAR0..BAR5|ROM|CONFIG|VGA|REGIONn, "
			   "got 'region=%s'", region);
	if (data && (nb = parse_hex(data, b, sizeof(b))) < 0)
		return bad(r, l->lineno, "expected data=HEX (at most 64 bytes), got 'data=%s'", data);
	if (crc && (!parse_u64(crc, &crc32) || crc32 > 0xffffffffu))
		return bad(r, l->lineno, "expected crc32=0xXXXXXXXX, got 'crc32=%s'", crc);
	if (!h) {
		skip(r, l, "no open handle for device %s", l->objid);
		return 0;
	}
	if (size < 1 || size > 65536) {
		skip(r, l, "a %s of %" PRIu64 " bytes (vfio.%s takes 1 to 65536)", l->op, size,
		     l->op);
		return 0;
	}
	if (write && !data) {
		skip(r, l, "a write of %" PRIu64 " bytes whose data the trace has only as %s",
		     size, crc ? "a CRC-32" : "nothing");
		return 0;
	}
	if (write && (uint64_t)nb != size) {
		skip(r, l, "data= of %ld bytes for a write of %" PRIu64, nb, size);
		return 0;
	}
	fault(r, l, write ? "region-write" : "region-read");
	fprintf(r->out, "vfio.%s %s ", l->op, h->handle);
	if (strncmp(region, "REGION", 6))
		fputs(region, r->out);
	else
		fprintf(r->out, "%d", ri);
	fprintf(r->out, " 0x%" PRIx64 " %" PRIu64, off, size);
	if (write) {
		fputc(' ', r->out);
		put_value(r, b, (size_t)nb);
		if (l->ret >= 0 && (uint64_t)l->ret != size)
			fprintf(r->out, "  # short write: ret=%lld", l->ret);
		else if (l->ret < 0)
			check(r, l);
	} else if (l->ret < 0) {
		check(r, l);
	} else if ((uint64_t)l->ret != size) {
		fprintf(r->out, "  # short read: ret=%lld", l->ret);
	} else if (data && (uint64_t)nb == size) {
		fprintf(r->out, " == ");
		put_value(r, b, (size_t)nb);
	} else if (crc) {
		fprintf(r->out, " crc32=0x%08" PRIx64, crc32);
	}
	fputc('\n', r->out);
	return 0;
}

static void emit_close(Rec *r, const RecLine *l)
{
	RecOpen *o = NULL;

	/* A device opened twice: close the oldest handle. */
	for (unsigned i = 0; i < r->nopen && !o; i++)
		if (r->open[i].obj == l->obj && !strcmp(r->open[i].objid, l->objid))
			o = &r->open[i];
	if (!o) {
		skip(r, l, "close of %s:%s, which is not open", l->obj == 'c' ? "container" :
		     l->obj == 'g' ? "group" : "device", l->objid);
		return;
	}
	fprintf(r->out, "vfio.close %s\n", o->handle);
	open_remove(r, o);
}

static void ram_text(uint64_t size, char *buf, size_t n)
{
	if (!(size & 0xfffff))
		snprintf(buf, n, "%" PRIu64 "M", size >> 20);
	else
		snprintf(buf, n, "0x%" PRIx64, size);
}

static int emit(Rec *r)
{
	char ram[32];
	long pids[8];
	unsigned npids = 0, more = 0;

	for (unsigned i = 0; i < r->nlines; i++) {
		unsigned k;

		for (k = 0; k < npids && pids[k] != r->lines[i].pid; k++)
			;
		if (k == npids) {
			if (npids < 8)
				pids[npids++] = r->lines[i].pid;
			else
				more++;
		}
	}
	fprintf(r->out, "# Recorded by vfio-harness record from ");
	comment(r, r->path);
	fprintf(r->out, " (%u operations", r->nlines);
	if (npids > 1 || more) {
		fprintf(r->out, " of %u%s processes:", npids + more, more ? " or more" : "");
		for (unsigned k = 0; k < npids; k++)
			fprintf(r->out, " %ld", pids[k]);
		fprintf(r->out, "; all replayed as one, in the order of t");
	}
	fprintf(r->out, ").\n");
	ram_text(r->ram_size, ram, sizeof(ram));
	fprintf(r->out, "machine platform=%s ram=%s\n", r->platform, ram);
	for (unsigned i = 0; i < r->ndev; i++) {
		RecDevice *d = &r->dev[i];
		char *p = d->params, *save = NULL;

		fprintf(r->out, "device %s %s host=%s group=%ld", d->name, d->model, d->bdf, d->group);
		if (strcmp(d->driver, "vfio-pci"))
			fprintf(r->out, " driver=%s", d->driver);
		for (char *kv = strtok_r(p, ",", &save); kv; kv = strtok_r(NULL, ",", &save))
			fprintf(r->out, " %s", kv);
		fputc('\n', r->out);
	}
	for (unsigned i = 0; i < r->nranges; i++)
		fprintf(r->out, "# vaddr 0x%" PRIx64 "-0x%" PRIx64 " -> ram:0x%" PRIx64 "\n",
			r->ranges[i].start, r->ranges[i].end, r->ranges[i].off);
	for (unsigned i = 0; i < r->nlines; i++) {
		const RecLine *l = &r->lines[i];

		if (!strcmp(l->op, "open"))
			emit_open(r, l);
		else if (!strcmp(l->op, "close"))
			emit_close(r, l);
		else if (!strcmp(l->op, "ioctl")) {
			if (emit_ioctl(r, i) < 0)
				return -1;
		} else if (emit_rw(r, l) < 0)
			return -1;
	}
	if (r->skipped)
		fprintf(r->out, "# %u trace lines were not replayable (comments above)\n",
			r->skipped);
	return 0;
}

/* ---- the command ------------------------------------------------------------- */

static void rec_free(Rec *r)
{
	for (unsigned i = 0; i < r->nlines; i++)
		free(r->lines[i].text);
	free(r->lines);
	for (unsigned i = 0; i < r->ndev; i++)
		free(r->dev[i].params);
	free(r->ranges);
	free(r->open);
	free(r->linebuf);
}

static bool name_valid(const char *s, size_t len)
{
	if (!len || len > 31 || !(s[0] == '_' || ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(s[i] == '_' || (s[i] >= '0' && s[i] <= '9') ||
		      ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')))
			return false;
	return true;
}

int hx_record_main(int argc, char **argv)
{
	const char *out_path = NULL, *trace = NULL;
	const char **names = calloc((size_t)argc + 1, sizeof(*names));
	unsigned nnames = 0;
	char *text = NULL;
	size_t text_len = 0;
	Rec r = { 0 };
	FILE *f;
	int status = 1;

	if (!names) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			free(names);
			return 0;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--name")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: option '%s' needs an argument\n", prog, a);
				goto usage;
			}
			if (a[1] == 'o')
				out_path = argv[++i];
			else
				names[nnames++] = argv[++i];
		} else if (!strncmp(a, "--name=", 7)) {
			names[nnames++] = a + 7;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
			goto usage;
		} else if (trace) {
			fprintf(stderr, "%s: more than one trace file ('%s', '%s')\n", prog, trace, a);
			goto usage;
		} else {
			trace = a;
		}
	}
	if (!trace) {
		fprintf(stderr, "%s: missing the trace file\n", prog);
		goto usage;
	}
	r.path = trace;
	f = fopen(trace, "r");
	if (!f) {
		fprintf(stderr, "%s: cannot open %s: %s\n", prog, trace, strerror(errno));
		goto out;
	}
	if (read_trace(&r, f) < 0) {
		fclose(f);
		goto out;
	}
	fclose(f);
	for (unsigned i = 0; i < nnames; i++) {
		const char *eq = strchr(names[i], '=');
		char bdf[BDF_LEN];
		RecDevice *d;
		Error *err = NULL;

		if (!eq || !name_valid(names[i], (size_t)(eq - names[i]))) {
			fprintf(stderr, "%s: --name '%s': expected DEV=BDF with DEV a name "
				"([A-Za-z_][A-Za-z0-9_]*, at most 31 characters)\n", prog, names[i]);
			goto usage;
		}
		if (!bdf_parse(eq + 1, bdf, NULL, NULL, NULL, NULL, &err)) {
			fprintf(stderr, "%s: --name '%s': %s\n", prog, names[i], error_get_pretty(err));
			error_free(err);
			goto usage;
		}
		d = device_by_bdf(&r, bdf);
		if (!d) {
			fprintf(stderr, "%s: --name '%s': no device %s in %s\n", prog, names[i], bdf,
				trace);
			goto usage;
		}
		snprintf(d->name, sizeof(d->name), "%.*s", (int)(eq - names[i]), names[i]);
	}
	for (unsigned i = 0; i < r.ndev; i++)
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(r.dev[i].name, r.dev[j].name)) {
				fprintf(stderr, "%s: two devices named %s (%s and %s)\n", prog,
					r.dev[i].name, r.dev[j].bdf, r.dev[i].bdf);
				goto usage;
			}
	if (plan_ram(&r) < 0)
		goto out;
	/* The whole text first: nothing is written for a bad trace. */
	r.out = open_memstream(&text, &text_len);
	if (!r.out) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	if (emit(&r) < 0) {
		fclose(r.out);
		goto out;
	}
	fclose(r.out);
	f = out_path ? fopen(out_path, "w") : stdout;
	if (!f) {
		fprintf(stderr, "%s: cannot create %s: %s\n", prog, out_path, strerror(errno));
		goto out;
	}
	fwrite(text, 1, text_len, f);
	if ((out_path ? fclose(f) : fflush(f)) != 0) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, out_path ? out_path : "stdout",
			strerror(errno));
		goto out;
	}
	status = 0;
	goto out;
usage:
	status = 2;
out:
	free(text);
	free(names);
	rec_free(&r);
	return status;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fakevfio/topology.c: topology files (see topology.h, docs/fakevfio.md). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spapr.h"
#include "topology.h"

/* One word of a line: its text (quotes removed) and where it is. */
typedef struct Word {
	char *text;
	unsigned col;			/* 1-based column of its first byte */
	size_t start, end;		/* raw byte range in the line */
	bool quoted;
} Word;

typedef struct Line {
	const char *file;
	unsigned no;
	const char *raw;
	size_t len;
	Word *w;
	unsigned n;
} Line;

__attribute__((format(printf, 4, 5)))
static void line_error(Error **errp, const Line *l, unsigned col, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error_setg(errp, "%s:%u:%u: %s", l->file, l->no, col, msg);
}

static void line_free(Line *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->w[i].text);
	free(l->w);
	l->w = NULL;
	l->n = 0;
}

/* The column just past the last word (where a missing word would go). */
static unsigned end_col(const Line *l)
{
	return l->n ? (unsigned)l->w[l->n - 1].end + 2 : 1;
}

/*
 * Split a line into words: blanks separate them, '#' at the start of a
 * word starts a comment, "..." quotes (with \" and \\) may appear inside a
 * word.
 */
static bool line_split(Line *l, Error **errp)
{
	size_t i = 0;

	for (;;) {
		Word *nw;
		char *out;
		size_t o = 0;
		bool inq = false;

		while (i < l->len && (l->raw[i] == ' ' || l->raw[i] == '\t'))
			i++;
		if (i >= l->len || l->raw[i] == '#')
			return true;
		nw = realloc(l->w, (l->n + 1) * sizeof(*nw));
		if (!nw) {
			error_setg(errp, "out of memory");
			return false;
		}
		l->w = nw;
		out = malloc(l->len - i + 1);
		if (!out) {
			error_setg(errp, "out of memory");
			return false;
		}
		nw[l->n] = (Word){ out, (unsigned)i + 1, i, i, false };
		l->n++;
		for (; i < l->len; i++) {
			char c = l->raw[i];

			if (!inq && (c == ' ' || c == '\t'))
				break;
			if (c == '"') {
				inq = !inq;
				nw[l->n - 1].quoted = true;
				continue;
			}
			if (inq && c == '\\' && i + 1 < l->len &&
			    (l->raw[i + 1] == '"' || l->raw[i + 1] == '\\'))
				c = l->raw[++i];
			out[o++] = c;
		}
		out[o] = '\0';
		nw[l->n - 1].end = i - 1;
		if (inq) {
			line_error(errp, l, nw[l->n - 1].col,
				   "unterminated quote (a '\"' is missing before the end of the line)");
			return false;
		}
	}
}

/* ---- directives ------------------------------------------------------- */

static bool parse_platform(FvTopology *t, const Line *l, Error **errp)
{
	const Word *w;

	if (t->has_platform) {
		line_error(errp, l, l->w[0].col, "platform given twice (first on line %u)",
			   t->platform_line);
		return false;
	}
	if (l->n < 2) {
		line_error(errp, l, end_col(l), "expected x86 or pseries after 'platform'");
		return false;
	}
	w = &l->w[1];
	if (!strcmp(w->text, "x86")) {
		t->platform = FV_PLATFORM_X86;
	} else if (!strcmp(w->text, "pseries")) {
		t->platform = FV_PLATFORM_PSERIES;
	} else {
		line_error(errp, l, w->col, "unknown platform '%s' (expected x86 or pseries)",
			   w->text);
		return false;
	}
	/* pseries: tce=v1|v2|both, the sPAPR IOMMU types the host offers. */
	if (l->n > 2 && t->platform == FV_PLATFORM_PSERIES &&
	    !strncmp(l->w[2].text, "tce=", 4)) {
		t->tce = fv_spapr_tce_parse(l->w[2].text + 4);
		if (!t->tce) {
			line_error(errp, l, l->w[2].col + 4,
				   "bad tce '%s' (expected v1, v2 or both)", l->w[2].text + 4);
			return false;
		}
		t->tce_col = l->w[2].col;
		if (l->n > 3) {
			line_error(errp, l, l->w[3].col, "unexpected '%s' after tce=",
				   l->w[3].text);
			return false;
		}
	} else if (l->n > 2) {
		line_error(errp, l, l->w[2].col, "unexpected '%s' after the platform%s",
			   l->w[2].text, t->platform == FV_PLATFORM_PSERIES ?
			   " (expected tce=v1|v2|both)" : "");
		return false;
	}
	t->has_platform = true;
	t->platform_line = l->no;
	t->platform_col = w->col;
	return true;
}

static bool decimal_group(const char *s, int *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v > FV_GROUP_MAX)
		return false;
	*out = (int)v;
	return true;
}

/* Append "key=val" to the model parameters unless the key is there. */
static bool add_param(FvDeviceSpec *spec, const Line *l, const Word *w,
		      const char *eq, Error **errp)
{
	size_t klen = (size_t)(eq - w->text), plen = strlen(spec->params);
	const char *p = spec->params;
	char *np;

	while (*p) {
		const char *e = strchr(p, '=');

		if ((size_t)(e - p) == klen && !strncmp(p, w->text, klen)) {
			line_error(errp, l, w->col, "parameter '%.*s' given twice",
				   (int)klen, w->text);
			return false;
		}
		p = strchrnul(p, ',');
		if (*p)
			p++;
	}
	np = realloc(spec->params, plen + strlen(w->text) + 2);
	if (!np) {
		error_setg(errp, "out of memory");
		return false;
	}
	spec->params = np;
	sprintf(np + plen, "%s%s", plen ? "," : "", w->text);
	return true;
}

static bool parse_device(FvTopology *t, const Line *l, Error **errp)
{
	FvTopoDevice *nd, d;
	const FvTopoDevice *dup;
	const Word *mw, *bw;
	Error *err = NULL;
	bool has_driver = false;

	memset(&d, 0, sizeof(d));
	d.spec.group = -1;
	if (l->n < 2) {
		line_error(errp, l, end_col(l), "expected a model name after 'device'");
		return false;
	}
	mw = &l->w[1];
	if (!sim_model_find(mw->text)) {
		char *models = fv_model_list();

		line_error(errp, l, mw->col, "unknown model '%s' (known models: %s)",
			   mw->text, models ? models : "?");
		free(models);
		return false;
	}
	if (l->n < 3) {
		line_error(errp, l, end_col(l), "expected a BDF ([DDDD:]BB:DD.F) after the model name");
		return false;
	}
	bw = &l->w[2];
	if (!bdf_parse(bw->text, d.spec.bdf, &d.spec.domain, &d.spec.bus, &d.spec.slot,
			  &d.spec.func, &err)) {
		line_error(errp, l, bw->col, "%s", error_get_pretty(err));
		error_free(err);
		return false;
	}
	dup = fv_topology_find(t, d.spec.bdf);
	if (dup) {
		line_error(errp, l, bw->col, "%s is already used on line %u", d.spec.bdf,
			   dup->line);
		return false;
	}
	d.line = l->no;
	d.col = mw->col;
	d.spec.model = strdup(mw->text);
	d.spec.params = strdup("");
	if (!d.spec.model || !d.spec.params ||
	    asprintf(&d.spec.text, "%s@%s", mw->text, d.spec.bdf) < 0) {
		d.spec.text = NULL;
		error_setg(errp, "out of memory");
		goto fail;
	}
	for (unsigned i = 3; i < l->n; i++) {
		const Word *w = &l->w[i];
		const char *eq = strchr(w->text, '=');

		if (!eq || eq == w->text) {
			line_error(errp, l, w->col, "expected KEY=VALUE, got '%s'", w->text);
			goto fail;
		}
		if (!strncmp(w->text, "group=", 6)) {
			if (d.spec.group >= 0) {
				line_error(errp, l, w->col, "group= given twice");
				goto fail;
			}
			if (!decimal_group(eq + 1, &d.spec.group)) {
				line_error(errp, l, w->quoted ? w->col : w->col + 6,
					   "bad group '%s': expected a decimal number 0-%d",
					   eq + 1, FV_GROUP_MAX);
				goto fail;
			}
		} else if (!strncmp(w->text, "driver=", 7)) {
			if (has_driver) {
				line_error(errp, l, w->col, "driver= given twice");
				goto fail;
			}
			has_driver = true;
			if (!fv_driver_name_valid(eq + 1)) {
				line_error(errp, l, w->quoted ? w->col : w->col + 7,
					   "bad driver '%s': expected vfio-pci or a host driver's "
					   "name (1-%d of A-Z a-z 0-9 _ . -, not starting with . or -)",
					   eq + 1, FV_DRIVER_LEN - 1);
				goto fail;
			}
			if (strcmp(eq + 1, FV_DRIVER_VFIO_PCI)) {
				d.spec.host_driver = true;
				snprintf(d.spec.driver, sizeof(d.spec.driver), "%s", eq + 1);
				d.driver_col = w->col;
			}
		} else {
			const char *comma = strchr(w->text, ',');

			if (comma) {
				line_error(errp, l, w->quoted ? w->col :
					   w->col + (unsigned)(comma - w->text),
					   "',' is not allowed in a model parameter ('%s')", w->text);
				goto fail;
			}
			if (!add_param(&d.spec, l, w, eq, errp))
				goto fail;
		}
	}
	nd = realloc(t->devs, (t->ndevs + 1) * sizeof(*nd));
	if (!nd) {
		error_setg(errp, "out of memory");
		goto fail;
	}
	t->devs = nd;
	t->devs[t->ndevs++] = d;
	return true;
fail:
	fv_device_spec_clear(&d.spec);
	return false;
}

static bool parse_fault(FvTopology *t, const Line *l, Error **errp)
{
	FvTopoFault *nf, f;
	Error *err = NULL;
	size_t start, errpos = 0;
	char *text;

	if (l->n < 2) {
		line_error(errp, l, end_col(l),
			   "expected a fault rule after 'fault' (OPERATION [MATCH...] errno=E "
			   "[count=N] [after=M])");
		return false;
	}
	start = l->w[1].start;
	text = strndup(l->raw + start, l->w[l->n - 1].end + 1 - start);
	if (!text) {
		error_setg(errp, "out of memory");
		return false;
	}
	memset(&f, 0, sizeof(f));
	if (!fv_fault_rule_parse(text, &f.rule, &errpos, &err)) {
		line_error(errp, l, (unsigned)(start + errpos) + 1, "%s", error_get_pretty(err));
		error_free(err);
		free(text);
		return false;
	}
	free(text);
	f.line = l->no;
	f.col = l->w[1].col;
	nf = realloc(t->faults, (t->nfaults + 1) * sizeof(*nf));
	if (!nf) {
		error_setg(errp, "out of memory");
		return false;
	}
	t->faults = nf;
	t->faults[t->nfaults++] = f;
	return true;
}

static bool parse_advertise_mmap(FvTopology *t, const Line *l, Error **errp)
{
	if (t->advertise_mmap) {
		line_error(errp, l, l->w[0].col, "advertise-mmap given twice (first on line %u)",
			   t->advertise_mmap_line);
		return false;
	}
	if (l->n > 1) {
		line_error(errp, l, l->w[1].col, "unexpected '%s' after 'advertise-mmap'",
			   l->w[1].text);
		return false;
	}
	t->advertise_mmap = true;
	t->advertise_mmap_line = l->no;
	return true;
}

static bool parse_line(FvTopology *t, Line *l, Error **errp)
{
	const char *d;

	/* Text only: no control characters but tabs. */
	for (size_t i = 0; i < l->len; i++) {
		unsigned char c = (unsigned char)l->raw[i];

		if ((c < ' ' && c != '\t') || c == 0x7f) {
			line_error(errp, l, (unsigned)i + 1,
				   "unexpected control character 0x%02x (a topology file is text)", c);
			return false;
		}
	}
	if (!line_split(l, errp))
		return false;
	if (!l->n)
		return true;
	d = l->w[0].text;
	if (!strcmp(d, "platform"))
		return parse_platform(t, l, errp);
	if (!strcmp(d, "device"))
		return parse_device(t, l, errp);
	if (!strcmp(d, "fault"))
		return parse_fault(t, l, errp);
	if (!strcmp(d, "advertise-mmap"))
		return parse_advertise_mmap(t, l, errp);
	line_error(errp, l, l->w[0].col,
		   "unknown directive '%s' (expected platform, device, fault or advertise-mmap)", d);
	return false;
}

bool fv_topology_parse(FvTopology *t, const char *file, const char *text,
		       size_t len, Error **errp)
{
	Line l = { .file = file };
	size_t pos = 0;
	bool ok = true;

	memset(t, 0, sizeof(*t));
	t->platform = FV_PLATFORM_X86;
	t->file = strdup(file);
	if (!t->file) {
		error_setg(errp, "out of memory");
		return false;
	}
	while (ok && pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		l.no++;
		l.raw = text + pos;
		l.len = end - pos;
		if (l.len && l.raw[l.len - 1] == '\r')
			l.len--;		/* CRLF */
		ok = parse_line(t, &l, errp);
		line_free(&l);
		pos = end + 1;
	}
	if (!ok)
		fv_topology_clear(t);
	return ok;
}

bool fv_topology_load(FvTopology *t, const char *path, Error **errp)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	bool ok;
	int fd;

	memset(t, 0, sizeof(*t));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_setg_errno(errp, errno, "%s: cannot open", path);
		return false;
	}
	if (fstat(fd, &st) < 0) {
		error_setg_errno(errp, errno, "%s: cannot stat", path);
		close(fd);
		return false;
	}
	if (S_ISDIR(st.st_mode)) {
		error_setg(errp, "%s: is a directory, not a topology file", path);
		close(fd);
		return false;
	}
	buf = malloc(FV_TOPOLOGY_MAX_SIZE + 1);
	if (!buf) {
		error_setg(errp, "out of memory");
		close(fd);
		return false;
	}
	/* Read up to one byte more than allowed to tell "too large". */
	for (;;) {
		ssize_t n = read(fd, buf + got, FV_TOPOLOGY_MAX_SIZE + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_setg_errno(errp, errno, "%s: cannot read", path);
			free(buf);
			close(fd);
			return false;
		}
		if (!n || (got += (size_t)n) > FV_TOPOLOGY_MAX_SIZE)
			break;
	}
	close(fd);
	if (got > FV_TOPOLOGY_MAX_SIZE) {
		error_setg(errp, "%s: too large (more than %d bytes)", path, FV_TOPOLOGY_MAX_SIZE);
		free(buf);
		return false;
	}
	ok = fv_topology_parse(t, path, buf, got, errp);
	free(buf);
	return ok;
}

void fv_topology_clear(FvTopology *t)
{
	for (unsigned i = 0; i < t->ndevs; i++)
		fv_device_spec_clear(&t->devs[i].spec);
	free(t->devs);
	free(t->faults);
	free(t->file);
	memset(t, 0, sizeof(*t));
}

const FvTopoDevice *fv_topology_find(const FvTopology *t, const char *bdf)
{
	for (unsigned i = 0; i < t->ndevs; i++)
		if (!strcmp(t->devs[i].spec.bdf, bdf))
			return &t->devs[i];
	return NULL;
}

bool fv_topology_add_devices(const FvTopology *t, FvMachine *m, Error **errp)
{
	for (unsigned i = 0; i < t->ndevs; i++) {
		const FvTopoDevice *d = &t->devs[i];

		if (!fv_machine_add_device(m, &d->spec, errp)) {
			error_prepend(errp, "%s:%u:%u: ", t->file, d->line, d->col);
			return false;
		}
	}
	return true;
}

bool fv_topology_add_faults(const FvTopology *t, FvFaults *f, Error **errp)
{
	for (unsigned i = 0; i < t->nfaults; i++) {
		if (!fv_faults_add_rule(f, &t->faults[i].rule)) {
			error_setg(errp, "out of memory");
			return false;
		}
	}
	return true;
}

bool fv_topology_check_groups(const FvTopology *t, const FvMachine *m,
			      Error **errp)
{
	for (unsigned i = 0; i < m->ngroups; i++) {
		const FvGroup *g = m->groups[i];
		const FvTopoDevice *d;
		bool bound = false;

		for (unsigned j = 0; j < g->ndevs; j++)
			bound |= g->devs[j]->vfio_bound;
		if (bound || !g->ndevs)
			continue;
		d = fv_topology_find(t, g->devs[0]->bdf);
		if (d)
			error_setg(errp, "%s:%u:%u: group %d has no device bound to vfio-pci "
				   "(every device in it is on a host driver), so it would have no "
				   "/dev/vfio/%d", t->file, d->line, d->driver_col, g->id, g->id);
		else
			error_setg(errp, "group %d has no device bound to vfio-pci", g->id);
		return false;
	}
	return true;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fakevfio/faults.c: the fault injection table. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "faults.h"

typedef struct Entry {
	FvFaultRule r;
	unsigned id;
	uint64_t seen, hits;
	unsigned left;		/* count=N: firings left */
} Entry;

struct FvFaults {
	pthread_mutex_t lock;
	Entry *v;
	unsigned n;
	atomic_uint live;	/* n, readable without the lock */
	unsigned next_id;
};

/* ---- parsing ---------------------------------------------------------- */

static const struct {
	const char *name;
	FvFaultKind kind;
} op_words[] = {
	{ "ioctl", FV_FAULT_ANY_IOCTL },
	{ "region-read", FV_FAULT_REGION_READ },
	{ "region-write", FV_FAULT_REGION_WRITE },
	{ "open-container", FV_FAULT_OPEN_CONTAINER },
	{ "open-group", FV_FAULT_OPEN_GROUP },
	{ "open-device", FV_FAULT_OPEN_DEVICE },
};
#define NOPWORDS (sizeof(op_words) / sizeof(op_words[0]))

static const char *kind_word(FvFaultKind kind)
{
	for (unsigned i = 0; i < NOPWORDS; i++)
		if (op_words[i].kind == kind)
			return op_words[i].name;
	return "?";
}

static const char *op_name(const FvFaultRule *r)
{
	return r->kind == FV_FAULT_IOCTL ? r->ioctl : kind_word(r->kind);
}

/* The kind of file an operation is on (FV_FAULT_ANY_IOCTL: any, -1). */
static int rule_obj(const FvFaultRule *r)
{
	switch (r->kind) {
	case FV_FAULT_IOCTL: return (int)r->ioctl_obj;
	case FV_FAULT_REGION_READ:
	case FV_FAULT_REGION_WRITE:
	case FV_FAULT_OPEN_DEVICE: return FV_OBJ_DEVICE;
	case FV_FAULT_OPEN_GROUP: return FV_OBJ_GROUP;
	case FV_FAULT_OPEN_CONTAINER: return FV_OBJ_CONTAINER;
	case FV_FAULT_ANY_IOCTL: break;
	}
	return -1;
}

static const char *what(const FvFaultRule *r)
{
	if (r->kind == FV_FAULT_IOCTL) {
		switch (r->ioctl_obj) {
		case FV_OBJ_CONTAINER: return "a container ioctl";
		case FV_OBJ_GROUP: return "a group ioctl";
		case FV_OBJ_DEVICE: return "a device ioctl";
		}
	}
	switch (rule_obj(r)) {
	case FV_OBJ_CONTAINER: return "a container operation";
	case FV_OBJ_GROUP: return "a group operation";
	}
	return "a device operation";
}

/* A decimal number min..max in s (whole string). */
static bool decimal(const char *s, unsigned long long min, unsigned long long max,
		    unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno || v < min || v > max)
		return false;
	*out = v;
	return true;
}

typedef struct Tok {
	const char *s;
	size_t len;
	size_t pos;
} Tok;

static bool next_tok(const char *text, size_t *i, Tok *t)
{
	while (text[*i] == ' ' || text[*i] == '\t')
		(*i)++;
	if (!text[*i])
		return false;
	t->s = text + *i;
	t->pos = *i;
	while (text[*i] && text[*i] != ' ' && text[*i] != '\t')
		(*i)++;
	t->len = (size_t)(text + *i - t->s);
	return true;
}

#define OPS_EXPECTED "an ioctl name such as VFIO_IOMMU_MAP_DMA, ioctl, region-read, " \
	"region-write, open-container, open-group or open-device"

static bool parse_key(FvFaultRule *r, const char *key, const char *val,
		      bool *seen_errno, Error **errp)
{
	unsigned long long v;
	int obj = rule_obj(r);
	unsigned d, b, s, f;

	if (!strcmp(key, "errno")) {
		r->err = fv_op_errno_parse(val);
		if (!r->err) {
			error_setg(errp, "unknown errno '%s': expected a name such as EBUSY "
				   "or a number 1-4095", val);
			return false;
		}
		*seen_errno = true;
	} else if (!strcmp(key, "count")) {
		if (!decimal(val, 1, UINT_MAX, &v)) {
			error_setg(errp, "bad count '%s': expected a number 1-%u", val, UINT_MAX);
			return false;
		}
		r->count = (unsigned)v;
	} else if (!strcmp(key, "after")) {
		if (!decimal(val, 0, UINT_MAX, &v)) {
			error_setg(errp, "bad after '%s': expected a number 0-%u", val, UINT_MAX);
			return false;
		}
		r->after = (unsigned)v;
	} else if (!strcmp(key, "device")) {
		if (obj == FV_OBJ_CONTAINER || obj == FV_OBJ_GROUP) {
			error_setg(errp, "device= does not apply to %s (%s)", op_name(r), what(r));
			return false;
		}
		if (!bdf_parse(val, r->bdf, &d, &b, &s, &f, errp))
			return false;
		r->has_device = true;
	} else if (!strcmp(key, "group")) {
		if (obj == FV_OBJ_CONTAINER) {
			error_setg(errp, "group= does not apply to %s (%s)", op_name(r), what(r));
			return false;
		}
		if (!decimal(val, 0, FV_GROUP_MAX, &v)) {
			error_setg(errp, "bad group '%s': expected a decimal number 0-%d",
				   val, FV_GROUP_MAX);
			return false;
		}
		r->group = (int)v;
		r->has_group = true;
	} else if (!strcmp(key, "container")) {
		if (obj == FV_OBJ_GROUP || obj == FV_OBJ_DEVICE) {
			error_setg(errp, "container= does not apply to %s (%s)", op_name(r), what(r));
			return false;
		}
		if (!decimal(val, 1, UINT_MAX, &v)) {
			error_setg(errp, "bad container '%s': expected a container number 1-%u",
				   val, UINT_MAX);
			return false;
		}
		r->container = (unsigned)v;
		r->has_container = true;
	} else if (!strcmp(key, "region")) {
		if (r->kind != FV_FAULT_REGION_READ && r->kind != FV_FAULT_REGION_WRITE) {
			error_setg(errp, "region= applies to region-read and region-write only");
			return false;
		}
		r->region = fv_op_region_parse(val);
		if (r->region < 0) {
			error_setg(errp, "bad region '%s': expected BAR0-BAR5, ROM, CONFIG, VGA "
				   "or an index", val);
			return false;
		}
		r->has_region = true;
	} else if (!strcmp(key, "pid")) {
		if (!decimal(val, 1, INT_MAX, &v)) {
			error_setg(errp, "bad pid '%s': expected a process id", val);
			return false;
		}
		r->pid = (pid_t)v;
		r->has_pid = true;
	} else {
		error_setg(errp, "unknown key '%s' (expected device, group, container, region, "
			   "pid, errno, count or after)", key);
		return false;
	}
	return true;
}

bool fv_fault_rule_parse(const char *text, FvFaultRule *r, size_t *errpos,
			 Error **errp)
{
	size_t i = 0, dummy;
	bool seen_errno = false;
	unsigned seen_keys = 0;
	static const char *const keys[] = {
		"errno", "count", "after", "device", "group", "container", "region", "pid",
	};
	Tok t;
	char word[64];

	if (!errpos)
		errpos = &dummy;
	memset(r, 0, sizeof(*r));
	r->group = -1;
	if (!next_tok(text, &i, &t)) {
		*errpos = i;
		error_setg(errp, "expected an operation (%s)", OPS_EXPECTED);
		return false;
	}
	*errpos = t.pos;
	snprintf(word, sizeof(word), "%.*s", (int)t.len, t.s);
	if (t.len < sizeof(word) && fv_op_ioctl_lookup(word, &r->ioctl, &r->ioctl_obj)) {
		r->kind = FV_FAULT_IOCTL;
	} else {
		unsigned k;

		for (k = 0; k < NOPWORDS; k++)
			if (t.len == strlen(op_words[k].name) &&
			    !strncasecmp(t.s, op_words[k].name, t.len))
				break;
		if (k == NOPWORDS) {
			error_setg(errp, "unknown operation '%.*s' (expected %s)",
				   (int)t.len, t.s, OPS_EXPECTED);
			return false;
		}
		r->kind = op_words[k].kind;
	}
	while (next_tok(text, &i, &t)) {
		const char *eq = memchr(t.s, '=', t.len);
		char *key, *val;
		unsigned k;
		bool ok;

		*errpos = t.pos;
		if (!eq || eq == t.s) {
			error_setg(errp, "expected KEY=VALUE, got '%.*s'", (int)t.len, t.s);
			return false;
		}
		key = strndup(t.s, (size_t)(eq - t.s));
		val = strndup(eq + 1, t.len - (size_t)(eq - t.s) - 1);
		if (!key || !val) {
			free(key);
			free(val);
			error_setg(errp, "out of memory");
			return false;
		}
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!strcmp(keys[k], key))
				break;
		if (k < sizeof(keys) / sizeof(keys[0]) && (seen_keys & (1u << k))) {
			error_setg(errp, "%s= given twice", key);
			ok = false;
		} else {
			if (k < sizeof(keys) / sizeof(keys[0]))
				seen_keys |= 1u << k;
			ok = parse_key(r, key, val, &seen_errno, errp);
		}
		free(key);
		free(val);
		if (!ok)
			return false;
	}
	if (!seen_errno) {
		*errpos = i;
		error_setg(errp, "missing errno=E (the error to inject, e.g. errno=EIO)");
		return false;
	}
	return true;
}

char *fv_fault_rule_text(const FvFaultRule *r)
{
	char *buf = NULL, rn[FV_OP_NAME_BUF];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *en = fv_op_errno_name(r->err);

	if (!f)
		return NULL;
	fputs(op_name(r), f);
	if (r->has_device)
		fprintf(f, " device=%s", r->bdf);
	if (r->has_group)
		fprintf(f, " group=%d", r->group);
	if (r->has_container)
		fprintf(f, " container=%u", r->container);
	if (r->has_region)
		fprintf(f, " region=%s", fv_op_region_name((unsigned)r->region, rn));
	if (r->has_pid)
		fprintf(f, " pid=%d", (int)r->pid);
	if (en)
		fprintf(f, " errno=%s", en);
	else
		fprintf(f, " errno=%d", r->err);
	if (r->count)
		fprintf(f, " count=%u", r->count);
	if (r->after)
		fprintf(f, " after=%u", r->after);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- the table -------------------------------------------------------- */

FvFaults *fv_faults_new(void)
{
	FvFaults *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	atomic_init(&f->live, 0);
	f->next_id = 1;
	return f;
}

void fv_faults_free(FvFaults *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->lock);
	free(f->v);
	free(f);
}

unsigned fv_faults_add_rule(FvFaults *f, const FvFaultRule *r)
{
	Entry *nv;
	unsigned id;

	pthread_mutex_lock(&f->lock);
	nv = realloc(f->v, (f->n + 1) * sizeof(*nv));
	if (!nv) {
		pthread_mutex_unlock(&f->lock);
		return 0;
	}
	f->v = nv;
	id = f->next_id++;
	nv[f->n] = (Entry){ .r = *r, .id = id, .left = r->count };
	f->n++;
	atomic_store(&f->live, f->n);
	pthread_mutex_unlock(&f->lock);
	return id;
}

unsigned fv_faults_add(FvFaults *f, const char *text, size_t *errpos,
		       Error **errp)
{
	FvFaultRule r;
	unsigned id;

	if (!fv_fault_rule_parse(text, &r, errpos, errp))
		return 0;
	id = fv_faults_add_rule(f, &r);
	if (!id)
		error_setg(errp, "out of memory");
	return id;
}

unsigned fv_faults_clear(FvFaults *f)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->n;
	free(f->v);
	f->v = NULL;
	f->n = 0;
	atomic_store(&f->live, 0);
	pthread_mutex_unlock(&f->lock);
	return n;
}

unsigned fv_faults_count(FvFaults *f)
{
	return atomic_load(&f->live);
}

void fv_faults_list(FvFaults *f, FILE *out)
{
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->n; i++) {
		const Entry *e = &f->v[i];
		const FvFaultRule *r = &e->r;
		const char *en = fv_op_errno_name(r->err);
		char rn[FV_OP_NAME_BUF];

		fprintf(out, "id=%u op=%s", e->id, op_name(r));
		if (r->has_device)
			fprintf(out, " device=%s", r->bdf);
		if (r->has_group)
			fprintf(out, " group=%d", r->group);
		if (r->has_container)
			fprintf(out, " container=%u", r->container);
		if (r->has_region)
			fprintf(out, " region=%s", fv_op_region_name((unsigned)r->region, rn));
		if (r->has_pid)
			fprintf(out, " pid=%d", (int)r->pid);
		if (en)
			fprintf(out, " errno=%s", en);
		else
			fprintf(out, " errno=%d", r->err);
		if (r->count)
			fprintf(out, " count=%u", r->count);
		else
			fputs(" count=inf", out);
		fprintf(out, " after=%u seen=%" PRIu64 " hits=%" PRIu64, r->after, e->seen, e->hits);
		if (r->count)
			fprintf(out, " left=%u\n", e->left);
		else
			fputs(" left=inf\n", out);
	}
	pthread_mutex_unlock(&f->lock);
}

static bool rule_matches(const FvFaultRule *r, const FvOp *op)
{
	const char *name;

	switch (r->kind) {
	case FV_FAULT_IOCTL:
		if (op->kind != FV_OP_IOCTL || op->obj != r->ioctl_obj)
			return false;
		name = fv_op_ioctl_name(op->obj, op->spapr, op->cmd);
		if (!name || strcmp(name, r->ioctl))
			return false;
		break;
	case FV_FAULT_ANY_IOCTL:
		if (op->kind != FV_OP_IOCTL)
			return false;
		break;
	case FV_FAULT_REGION_READ:
	case FV_FAULT_REGION_WRITE:
		if (op->kind != (r->kind == FV_FAULT_REGION_READ ? FV_OP_READ : FV_OP_WRITE) ||
		    op->obj != FV_OBJ_DEVICE)
			return false;
		break;
	case FV_FAULT_OPEN_CONTAINER:
	case FV_FAULT_OPEN_GROUP:
	case FV_FAULT_OPEN_DEVICE:
		if (op->kind != FV_OP_OPEN || (int)op->obj != rule_obj(r))
			return false;
		break;
	}
	if (r->has_device && (op->obj != FV_OBJ_DEVICE || !op->bdf || strcmp(op->bdf, r->bdf)))
		return false;
	if (r->has_group && (op->obj == FV_OBJ_CONTAINER || op->group != r->group))
		return false;
	if (r->has_container && (op->obj != FV_OBJ_CONTAINER || op->container != r->container))
		return false;
	if (r->has_region && (op->pos >> FV_OP_REGION_SHIFT) != (uint64_t)r->region)
		return false;
	if (r->has_pid && op->pid != r->pid)
		return false;
	return true;
}

bool fv_faults_any(FvFaults *f)
{
	return f && atomic_load(&f->live);
}

int fv_faults_check(FvFaults *f, const FvFaultOp *op)
{
	int ret = 0;

	if (!f || !atomic_load(&f->live))
		return 0;
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->n; i++) {
		Entry *e = &f->v[i];

		if ((e->r.count && !e->left) || !rule_matches(&e->r, op))
			continue;
		e->seen++;
		if (e->seen <= e->r.after)
			continue;
		e->hits++;
		if (e->r.count)
			e->left--;
		ret = -e->r.err;
		break;
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/scn-expr: the expression language of scenario files
 * (scenarios/README.md, "Lexical structure"): numbers, symbols, $VAR,
 * DEV.ATTR, cap()/ecap()/bar()/barsize() and the C operators with C
 * precedence.  Expressions are parsed once into trees (constants folded)
 * and evaluated without allocating.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "harness/scn-int.h"

/* ---- symbols ---- */

static int symcmp(const char *name, size_t len, const char *sym)
{
	int c = strncmp(name, sym, len);

	if (c)
		return c;
	return sym[len] ? -1 : 0;
}

bool scn_symbol_lookup(const char *name, size_t len, uint64_t *value)
{
	size_t lo = 0, hi = scn_symbol_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = symcmp(name, len, scn_symbol_table[mid].name);

		if (!c) {
			*value = scn_symbol_table[mid].value;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

unsigned scn_edit_distance(const char *a, size_t alen, const char *b,
			   size_t blen, unsigned max)
{
	unsigned row[64], i, j;

	if (alen >= 63 || blen >= 63)
		return max + 1;
	if ((alen > blen ? alen - blen : blen - alen) > max)
		return max + 1;
	for (j = 0; j <= blen; j++)
		row[j] = j;
	for (i = 1; i <= alen; i++) {
		unsigned diag = row[0], best;

		row[0] = i;
		best = row[0];
		for (j = 1; j <= blen; j++) {
			unsigned up = row[j];
			unsigned cost = toupper((unsigned char)a[i - 1]) ==
					toupper((unsigned char)b[j - 1]) ? 0 : 1;
			unsigned v = diag + cost;

			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > max)
			return max + 1;
	}
	return row[blen] > max ? max + 1 : row[blen];
}

const char *scn_symbol_closest(const char *name, size_t len)
{
	const char *best = NULL;
	unsigned bestd = 6;
	size_t i;

	for (i = 0; i < scn_symbol_count; i++) {
		const char *s = scn_symbol_table[i].name;
		unsigned d = scn_edit_distance(name, len, s, strlen(s), bestd - 1);

		if (d < bestd) {
			bestd = d;
			best = s;
		}
	}
	return best;
}

const char *scn_errno_name(int e)
{
	const char *best = NULL;
	size_t i;

	/* Several names may share a value (EWOULDBLOCK, EAGAIN): the first
	 * in alphabetical order that is not an alias wins. */
	for (i = 0; i < scn_symbol_count; i++) {
		const ScnSymbol *s = &scn_symbol_table[i];

		if (s->name[0] != 'E' || s->value != (uint64_t)e)
			continue;
		if (!strcmp(s->name, "EWOULDBLOCK") || !strcmp(s->name, "EDEADLOCK") ||
		    !strcmp(s->name, "ENOTSUP"))
			continue;
		if (!best)
			best = s->name;
	}
	return best;
}

/* ---- attributes ---- */

static const char *const attr_names[SCN_ATTR_COUNT] = {
	[SCN_ATTR_MSIX_ENTRIES] = "msix.entries",
	[SCN_ATTR_MSIX_TABLE_BAR] = "msix.table_bar",
	[SCN_ATTR_MSIX_TABLE_OFFSET] = "msix.table_offset",
	[SCN_ATTR_MSIX_PBA_BAR] = "msix.pba_bar",
	[SCN_ATTR_MSIX_PBA_OFFSET] = "msix.pba_offset",
	[SCN_ATTR_MSIX_PBA_QUIRK] = "msix.pba_quirk",
	[SCN_ATTR_INTERRUPT] = "interrupt",
	[SCN_ATTR_VECTORS] = "vectors",
	[SCN_ATTR_IRQS_INTX] = "irqs.intx",
	[SCN_ATTR_IRQS_MSI] = "irqs.msi",
	[SCN_ATTR_IRQS_MSIX] = "irqs.msix",
	[SCN_ATTR_ERR_DETECTED] = "err_detected",
	[SCN_ATTR_REQ_COUNT] = "req_count",
	[SCN_ATTR_HAS_FLR] = "has_flr",
	[SCN_ATTR_HAS_PM_RESET] = "has_pm_reset",
	[SCN_ATTR_HAS_ROM] = "has_rom",
	[SCN_ATTR_ROM_SIZE] = "rom_size",
	[SCN_ATTR_CONFIG_SIZE] = "config_size",
	[SCN_ATTR_VENDOR_ID] = "vendor_id",
	[SCN_ATTR_DEVICE_ID] = "device_id",
};

const char *scn_attr_name(ScnAttr a)
{
	return (unsigned)a < SCN_ATTR_COUNT ? attr_names[a] : "?";
}

/* ---- numbers ---- */

bool scn_parse_number(const char *s, size_t len, uint64_t *out, bool *overflow)
{
	unsigned base = 10, shift = 0;
	uint64_t v = 0;
	size_t i = 0;

	*overflow = false;
	if (!len || !isdigit((unsigned char)s[0]))
		return false;
	switch (s[len - 1]) {
	case 'K': shift = 10; len--; break;
	case 'M': shift = 20; len--; break;
	case 'G': shift = 30; len--; break;
	}
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	} else if (len > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		base = 2;
		i = 2;
	}
	if (i == len)
		return false;
	for (; i < len; i++) {
		int d = hex_digit((unsigned char)s[i]);

		if (d < 0 || (unsigned)d >= base)
			return false;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			*overflow = true;
		v = v * base + (uint64_t)d;
	}
	if (shift && v > (UINT64_MAX >> shift))
		*overflow = true;
	*out = v << shift;
	return true;
}

/* ---- the parser ---- */

/*
 * Bounds on one expression, so that parsing, evaluating and freeing it
 * (all recursive) stay shallow: nesting (parentheses, unary operators,
 * function arguments) and the number of operands and operators.
 */
#define EP_MAX_DEPTH 64
#define EP_MAX_TERMS 1024

typedef struct EP {
	Scn *scn;
	const char *s;
	size_t len, pos;
	unsigned col;		/* of s[0] */
	Error **errp;
	bool failed;
	unsigned depth, terms;
} EP;

static void ep_err(EP *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ep_err(EP *p, size_t at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	scn_perr(p->scn, p->errp, p->col + (unsigned)at, "%s", msg);
}

static ScnExpr *node(ScnExprKind k, unsigned col)
{
	ScnExpr *e = calloc(1, sizeof(*e));

	if (!e)
		abort();
	e->kind = k;
	e->col = col;
	return e;
}

void scn_expr_free(ScnExpr *e)
{
	if (!e)
		return;
	scn_expr_free(e->a);
	scn_expr_free(e->b);
	free(e);
}

static bool is_ident0(int c)
{
	return isalpha(c) || c == '_';
}

static bool is_ident(int c)
{
	return isalnum(c) || c == '_';
}

static ScnExpr *ep_or(EP *p);

/* Enter one more level of nesting at s[at]; false (with the error) when
 * that is too deep. */
static bool ep_enter(EP *p, size_t at)
{
	if (p->depth >= EP_MAX_DEPTH) {
		ep_err(p, at, "expression nested more than %d deep (parentheses, unary "
		       "operators, function arguments)", EP_MAX_DEPTH);
		return false;
	}
	p->depth++;
	return true;
}

/* Count one more operand or operator at s[at]. */
static bool ep_term(EP *p, size_t at)
{
	if (++p->terms > EP_MAX_TERMS) {
		ep_err(p, at, "expression longer than %d operands and operators",
		       EP_MAX_TERMS);
		return false;
	}
	return true;
}

/* The rest of the expression after pos, for "got 'x'" */
static int ep_rest(EP *p)
{
	return (int)(p->len - p->pos);
}

static ScnExpr *ep_device_arg(EP *p, ScnExprKind k, const char *fname)
{
	size_t start;
	unsigned col;
	ScnExpr *e;
	int dev;

	/* after "fname(" */
	start = p->pos;
	while (p->pos < p->len && is_ident((unsigned char)p->s[p->pos]))
		p->pos++;
	if (p->pos == start) {
		ep_err(p, start, "expected a device name after '%s('", fname);
		return NULL;
	}
	dev = scn_find_device(p->scn, p->s + start, p->pos - start);
	if (dev < 0) {
		ep_err(p, start, "unknown device '%.*s' (devices are named by "
		       "'device' statements before their use)",
		       (int)(p->pos - start), p->s + start);
		return NULL;
	}
	if (p->pos >= p->len) {
		ep_err(p, p->pos, "expected ',' after the device name in %s(), got the end "
		       "of '%.*s' (no blanks inside an expression)", fname, (int)p->len, p->s);
		return NULL;
	}
	if (p->s[p->pos] != ',') {
		ep_err(p, p->pos, "expected ',' after the device name in %s(), got '%.*s'",
		       fname, ep_rest(p), p->s + p->pos);
		return NULL;
	}
	p->pos++;
	if (!ep_enter(p, start))
		return NULL;
	col = p->col + (unsigned)start;
	e = node(k, col);
	e->dev = (unsigned)dev;
	e->a = ep_or(p);
	p->depth--;
	if (!e->a) {
		scn_expr_free(e);
		return NULL;
	}
	if (p->pos >= p->len || p->s[p->pos] != ')') {
		ep_err(p, p->pos, "expected ')' to close %s(, got %s%.*s'", fname,
		       p->pos >= p->len ? "the end of '" : "'",
		       p->pos >= p->len ? (int)p->len : ep_rest(p),
		       p->pos >= p->len ? p->s : p->s + p->pos);
		scn_expr_free(e);
		return NULL;
	}
	p->pos++;
	return e;
}

static ScnExpr *ep_ident(EP *p)
{
	size_t start = p->pos;
	const char *id;
	size_t n;
	uint64_t v;
	int dev;

	while (p->pos < p->len && is_ident((unsigned char)p->s[p->pos]))
		p->pos++;
	id = p->s + start;
	n = p->pos - start;
	if (p->pos < p->len && p->s[p->pos] == '(') {
		static const struct {
			const char *name;
			ScnExprKind kind;
		} fns[] = {
			{ "cap", SCN_E_CAP }, { "ecap", SCN_E_ECAP },
			{ "bar", SCN_E_BAR }, { "barsize", SCN_E_BARSIZE },
		};
		unsigned i;

		for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
			if (strlen(fns[i].name) == n && !memcmp(fns[i].name, id, n)) {
				p->pos++;
				return ep_device_arg(p, fns[i].kind, fns[i].name);
			}
		}
		ep_err(p, start, "unknown function '%.*s' (expected cap, ecap, bar or barsize)",
		       (int)n, id);
		return NULL;
	}
	if (p->pos < p->len && p->s[p->pos] == '.') {
		size_t as;
		unsigned i;
		ScnExpr *e;

		dev = scn_find_device(p->scn, id, n);
		if (dev < 0) {
			ep_err(p, start, "unknown device '%.*s' (devices are named by "
			       "'device' statements before their use)", (int)n, id);
			return NULL;
		}
		p->pos++;
		as = p->pos;
		while (p->pos < p->len && (is_ident((unsigned char)p->s[p->pos]) ||
					   p->s[p->pos] == '.'))
			p->pos++;
		for (i = 0; i < SCN_ATTR_COUNT; i++) {
			if (strlen(attr_names[i]) == p->pos - as &&
			    !memcmp(attr_names[i], p->s + as, p->pos - as))
				break;
		}
		if (i == SCN_ATTR_COUNT) {
			char list[512];
			size_t l = 0;
			unsigned j;

			for (j = 0; j < SCN_ATTR_COUNT; j++)
				l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%s",
						      j ? ", " : "", attr_names[j]);
			ep_err(p, as, "unknown attribute '%.*s' of device '%.*s' "
			       "(expected one of: %s)", (int)(p->pos - as), p->s + as,
			       (int)n, id, list);
			return NULL;
		}
		e = node(SCN_E_ATTR, p->col + (unsigned)start);
		e->dev = (unsigned)dev;
		e->attr = (ScnAttr)i;
		return e;
	}
	if (scn_symbol_lookup(id, n, &v)) {
		ScnExpr *e = node(SCN_E_NUM, p->col + (unsigned)start);

		e->num = v;
		return e;
	}
	if (scn_find_device(p->scn, id, n) >= 0) {
		ep_err(p, start, "'%.*s' is a device: use an attribute "
		       "(%.*s.vendor_id, ...) or a function (bar(%.*s,0), ...)",
		       (int)n, id, (int)n, id, (int)n, id);
		return NULL;
	}
	{
		const char *near = scn_symbol_closest(id, n);

		if (near)
			ep_err(p, start, "unknown symbol '%.*s' (did you mean %s?)",
			       (int)n, id, near);
		else
			ep_err(p, start, "unknown symbol '%.*s'", (int)n, id);
	}
	return NULL;
}

static ScnExpr *ep_primary(EP *p)
{
	size_t start = p->pos;
	int c;

	if (p->pos >= p->len) {
		ep_err(p, p->pos, "expected an operand at the end of '%.*s'",
		       (int)p->len, p->s);
		return NULL;
	}
	if (!ep_term(p, start))
		return NULL;
	c = (unsigned char)p->s[p->pos];
	if (c == '(') {
		ScnExpr *e;

		if (!ep_enter(p, start))
			return NULL;
		p->pos++;
		e = ep_or(p);
		p->depth--;
		if (!e)
			return NULL;
		if (p->pos >= p->len || p->s[p->pos] != ')') {
			ep_err(p, start, "unbalanced '(': no ')' closes it");
			scn_expr_free(e);
			return NULL;
		}
		p->pos++;
		return e;
	}
	if (isdigit(c)) {
		uint64_t v;
		bool ovf;
		ScnExpr *e;

		while (p->pos < p->len && is_ident((unsigned char)p->s[p->pos]))
			p->pos++;
		if (!scn_parse_number(p->s + start, p->pos - start, &v, &ovf)) {
			ep_err(p, start, "bad number '%.*s' (expected decimal, 0x hex or "
			       "0b binary, with an optional K, M or G)",
			       (int)(p->pos - start), p->s + start);
			return NULL;
		}
		if (ovf) {
			ep_err(p, start, "number '%.*s' does not fit in 64 bits",
			       (int)(p->pos - start), p->s + start);
			return NULL;
		}
		e = node(SCN_E_NUM, p->col + (unsigned)start);
		e->num = v;
		return e;
	}
	if (c == '$') {
		ScnExpr *e;
		int idx;

		p->pos++;
		if (p->pos >= p->len || !is_ident0((unsigned char)p->s[p->pos])) {
			ep_err(p, start, "expected a variable name after '$'");
			return NULL;
		}
		while (p->pos < p->len && is_ident((unsigned char)p->s[p->pos]))
			p->pos++;
		if (p->pos - start - 1 > SCN_NAME_MAX - 1) {
			ep_err(p, start + 1, "name '%.*s' is longer than %d characters",
			       (int)(p->pos - start - 1), p->s + start + 1, SCN_NAME_MAX - 1);
			return NULL;
		}
		idx = scn_var_index(p->scn, p->s + start + 1, p->pos - start - 1);
		if (idx < 0) {
			ep_err(p, start, "too many variables (at most %d)", SCN_MAX_VARS);
			return NULL;
		}
		e = node(SCN_E_VAR, p->col + (unsigned)start);
		e->num = (uint64_t)idx;
		return e;
	}
	if (is_ident0(c))
		return ep_ident(p);
	ep_err(p, start, "expected an operand, got '%.*s'", ep_rest(p), p->s + p->pos);
	return NULL;
}

static uint64_t fold(ScnExprKind k, uint64_t a, uint64_t b)
{
	switch (k) {
	case SCN_E_NEG: return -a;
	case SCN_E_NOT: return ~a;
	case SCN_E_MUL: return a * b;
	case SCN_E_DIV: return a / b;
	case SCN_E_MOD: return a % b;
	case SCN_E_ADD: return a + b;
	case SCN_E_SUB: return a - b;
	case SCN_E_SHL: return b >= 64 ? 0 : a << b;
	case SCN_E_SHR: return b >= 64 ? 0 : a >> b;
	case SCN_E_AND: return a & b;
	case SCN_E_XOR: return a ^ b;
	case SCN_E_OR: return a | b;
	default: return 0;
	}
}

static ScnExpr *mk(ScnExprKind k, unsigned col, ScnExpr *a, ScnExpr *b)
{
	ScnExpr *e;

	/* Fold constants (not a division by zero: that fails when run). */
	if (a->kind == SCN_E_NUM && (!b || (b->kind == SCN_E_NUM &&
	    !((k == SCN_E_DIV || k == SCN_E_MOD) && b->num == 0)))) {
		a->num = fold(k, a->num, b ? b->num : 0);
		a->col = col < a->col ? col : a->col;
		scn_expr_free(b);
		return a;
	}
	e = node(k, col);
	e->a = a;
	e->b = b;
	return e;
}

static ScnExpr *ep_unary(EP *p)
{
	if (p->pos < p->len && (p->s[p->pos] == '-' || p->s[p->pos] == '~')) {
		ScnExprKind k = p->s[p->pos] == '-' ? SCN_E_NEG : SCN_E_NOT;
		unsigned col = p->col + (unsigned)p->pos;
		ScnExpr *a;

		if (!ep_term(p, p->pos) || !ep_enter(p, p->pos))
			return NULL;
		p->pos++;
		a = ep_unary(p);
		p->depth--;
		return a ? mk(k, col, a, NULL) : NULL;
	}
	return ep_primary(p);
}

/* Binary levels, lowest first. */
static const struct {
	const char *ops[3];
	ScnExprKind kinds[3];
} levels[] = {
	{ { "|" }, { SCN_E_OR } },
	{ { "^" }, { SCN_E_XOR } },
	{ { "&" }, { SCN_E_AND } },
	{ { "<<", ">>" }, { SCN_E_SHL, SCN_E_SHR } },
	{ { "+", "-" }, { SCN_E_ADD, SCN_E_SUB } },
	{ { "*", "/", "%" }, { SCN_E_MUL, SCN_E_DIV, SCN_E_MOD } },
};
#define NLEVELS (sizeof(levels) / sizeof(levels[0]))

static ScnExpr *ep_level(EP *p, unsigned lv)
{
	ScnExpr *a;

	if (lv == NLEVELS)
		return ep_unary(p);
	a = ep_level(p, lv + 1);
	while (a) {
		unsigned i, found = 3;
		size_t ol = 0;

		for (i = 0; i < 3 && levels[lv].ops[i]; i++) {
			ol = strlen(levels[lv].ops[i]);
			if (p->len - p->pos >= ol &&
			    !memcmp(p->s + p->pos, levels[lv].ops[i], ol)) {
				found = i;
				break;
			}
		}
		if (found == 3)
			break;
		{
			unsigned col = p->col + (unsigned)p->pos;
			ScnExpr *b;

			if (!ep_term(p, p->pos)) {
				scn_expr_free(a);
				return NULL;
			}
			p->pos += ol;
			b = ep_level(p, lv + 1);
			if (!b) {
				scn_expr_free(a);
				return NULL;
			}
			a = mk(levels[lv].kinds[found], col, a, b);
		}
	}
	return a;
}

static ScnExpr *ep_or(EP *p)
{
	return ep_level(p, 0);
}

ScnExpr *scn_expr_parse(Scn *scn, const char *text, size_t len, unsigned line,
			unsigned col, Error **errp)
{
	EP p = { .scn = scn, .s = text, .len = len, .col = col, .errp = errp };
	unsigned saved = scn->cur_line;
	ScnExpr *e;

	scn->cur_line = line;
	e = ep_or(&p);
	if (e && p.pos < p.len) {
		if (p.s[p.pos] == ')')
			ep_err(&p, p.pos, "unbalanced ')' in '%.*s'", (int)len, text);
		else
			ep_err(&p, p.pos, "expected an operator, got '%.*s'",
			       ep_rest(&p), p.s + p.pos);
		scn_expr_free(e);
		e = NULL;
	}
	scn->cur_line = saved;
	return e;
}

/* ---- evaluation ---- */

bool scn_expr_eval(const ScnExpr *e, ScnEnv *env, uint64_t *out, Error **errp)
{
	uint64_t a, b = 0;

	switch (e->kind) {
	case SCN_E_NUM:
		*out = e->num;
		return true;
	case SCN_E_VAR:
		if (!env->defined || !env->defined[e->num]) {
			env->err_col = e->col;
			error_setg(errp, "variable $%s is not defined",
				   scn_var_name(env->scn, (unsigned)e->num));
			return false;
		}
		*out = env->vars[e->num];
		return true;
	case SCN_E_ATTR:
		if (!env->device_value || !env->device_value(env, e, 0, out, errp)) {
			if (!env->device_value)
				error_setg(errp, "no device values here");
			env->err_col = e->col;
			return false;
		}
		return true;
	case SCN_E_CAP:
	case SCN_E_ECAP:
	case SCN_E_BAR:
	case SCN_E_BARSIZE:
		if (!scn_expr_eval(e->a, env, &a, errp))
			return false;
		if (!env->device_value || !env->device_value(env, e, a, out, errp)) {
			if (!env->device_value)
				error_setg(errp, "no device values here");
			env->err_col = e->col;
			return false;
		}
		return true;
	default:
		break;
	}
	if (!scn_expr_eval(e->a, env, &a, errp))
		return false;
	if (e->b && !scn_expr_eval(e->b, env, &b, errp))
		return false;
	if ((e->kind == SCN_E_DIV || e->kind == SCN_E_MOD) && b == 0) {
		env->err_col = e->col;
		error_setg(errp, "%s by zero", e->kind == SCN_E_DIV ? "division" : "modulo");
		return false;
	}
	*out = fold(e->kind, a, b);
	return true;
}

/* ---- CRC-32 (the polynomial zlib uses, reflected) ---- */

uint32_t scn_crc32(const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	static bool init;
	uint32_t c = 0xffffffffu;
	size_t i;

	if (!init) {
		for (i = 0; i < 256; i++) {
			uint32_t v = (uint32_t)i;
			int k;

			for (k = 0; k < 8; k++)
				v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
			table[i] = v;
		}
		init = true;
	}
	for (i = 0; i < n; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim/profile.c: the "profile" model, a device served from a declarative
 * text profile (docs/profile-format.md), usually captured from a real
 * device by sim-capture.
 *
 * Loading is in two steps.  The parser reads the file into a SimProfile
 * and validates everything against everything else (offsets, sizes, the
 * BAR layout, the capability chains, the overrides, the BAR contents), so
 * that every error names FILE:LINE.  sim_profile_create() then builds a
 * device from the validated profile with the public sim.h API only: the
 * config image, the BARs (sized from the table, then the captured BAR
 * registers restored), the behaviour of every capability in the chains
 * (sim_cap_adopt and friends), the access-mask overrides and the BAR
 * contents.  The power-on image is the profile's config image.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "models.h"
#include "profile.h"

/*
 * Resource flags as the kernel prints them in sysfs "resource"
 * (include/linux/ioport.h, which is not exported to user space).
 */
#define IORESOURCE_TYPE_BITS	0x00001f00u
#define IORESOURCE_IO		0x00000100u
#define IORESOURCE_MEM		0x00000200u
#define IORESOURCE_PREFETCH	0x00002000u
#define IORESOURCE_MEM_64	0x00100000u

/* Bounds: everything a profile can make the loader allocate is bounded. */
enum {
	MAX_LINE = 1024,		/* characters in one line */
	MAX_TOKS = 32,			/* fields in one line */
	MAX_CFG_PER_LINE = 16,		/* bytes in one "config" line */
	MAX_RES_LINES = 64,		/* lines in a resource block */
	MAX_ITEMS = 65536,		/* reg and ram directives */
	MAX_PATCHES = 65536,		/* set, mask and drop directives */
	MAX_TITLE = 200,		/* characters of "name" */
	MAX_REG_NAME = 64,		/* characters of a reg's name= */
	MAX_STD_CAPS = 48,		/* dword slots in 0x40..0xff */
	MAX_EXT_CAPS = 960,		/* dword slots in 0x100..0xfff */
};
#define MAX_RAM_BLOCK (64ull << 20)	/* the sim core's limit */
#define MAX_RAM_TOTAL (256ull << 20)

enum { ID_VENDOR, ID_DEVICE, ID_SUBVENDOR, ID_SUBDEVICE, ID_CLASS, ID_REVISION,
       ID_COUNT };

static const struct {
	const char *name;
	unsigned reg, width;
	uint64_t max;
} id_info[ID_COUNT] = {
	[ID_VENDOR] = { "vendor", PCI_VENDOR_ID, 2, 0xffff },
	[ID_DEVICE] = { "device", PCI_DEVICE_ID, 2, 0xffff },
	[ID_SUBVENDOR] = { "subsystem_vendor", PCI_SUBSYSTEM_VENDOR_ID, 2, 0xffff },
	[ID_SUBDEVICE] = { "subsystem_device", PCI_SUBSYSTEM_ID, 2, 0xffff },
	[ID_CLASS] = { "class", PCI_CLASS_PROG, 3, 0xffffff },
	[ID_REVISION] = { "revision", PCI_REVISION_ID, 1, 0xff },
};

typedef struct ProfBar {
	unsigned line;		/* where declared; 0: not declared */
	unsigned col;
	bool from_resource;
	SimBarType type;
	bool prefetch;
	uint64_t size;
	bool has_addr;		/* addr= given */
	uint64_t addr;		/* addr=, or the resource start */
	uint64_t eff_addr;	/* the address the device gets (validated) */
} ProfBar;

/* A config range: "config" lines, "set" and "mask" directives. */
typedef struct ProfPatch {
	unsigned line, col;
	unsigned off, width;
	uint32_t val;
	SimMaskKind kind;	/* mask only */
} ProfPatch;

typedef struct ProfDrop {
	unsigned line, col;
	bool ext;
	unsigned off;
} ProfDrop;

typedef struct ProfItem {
	unsigned line, col;
	bool ram;
	unsigned bar;
	uint64_t off, size;	/* size: the width of a reg */
	uint64_t reset, rw, w1c;
	uint8_t fill;
	char *name;
} ProfItem;

/* A growable array of elem-sized elements. */
typedef struct Vec {
	void *v;
	unsigned n, cap;
} Vec;

struct SimProfile {
	char *path;
	char *title;
	unsigned title_line, version_line, cfg_size_line, vf_line;
	unsigned res_line, res_count, msix_line;
	unsigned cfg_size;
	bool vf;
	uint32_t msix_pba;		/* 0: as the capability reports */
	unsigned msix_pba_col;
	struct { unsigned line; uint32_t val; } id[ID_COUNT];

	uint8_t cfg[SIM_CFG_SIZE_PCIE];		/* bytes of the config lines */
	unsigned cfg_src[SIM_CFG_SIZE_PCIE];	/* line giving each byte, 0: none */
	unsigned set_src[SIM_CFG_SIZE_PCIE];	/* line of the "set" patching it */
	Vec configs, sets, masks, drops, items;	/* ProfPatch, ..., ProfItem */
	uint64_t ram_total;
	ProfBar bar[SIM_NUM_BARS + 1];		/* [6]: the ROM */

	/* Results of validation, used by sim_profile_create. */
	uint8_t img[SIM_CFG_SIZE_PCIE];		/* the power-on config image */
	SimIds ids;
	unsigned caps[MAX_STD_CAPS], ncaps;
	unsigned ecaps[MAX_EXT_CAPS], necaps;
	unsigned msix_off;
};

typedef struct Tok {
	const char *s;
	unsigned col;
} Tok;

typedef struct Parser {
	SimProfile *p;
	unsigned line;
	bool in_res;
	Error **errp;
} Parser;

/* ---- small helpers ---------------------------------------------------- */

static void *vec_push(Vec *vec, size_t elem)
{
	char *base;

	if (vec->n == vec->cap) {
		unsigned ncap = vec->cap ? vec->cap * 2 : 16;
		void *nv = realloc(vec->v, ncap * elem);

		if (!nv)
			return NULL;
		vec->v = nv;
		vec->cap = ncap;
	}
	base = vec->v;
	memset(base + vec->n * elem, 0, elem);
	return base + vec->n++ * elem;
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static uint32_t img_get(const uint8_t *img, unsigned off, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)img[off + i] << (8 * i);
	return v;
}

static void img_put(uint8_t *img, unsigned off, unsigned len, uint32_t val)
{
	for (unsigned i = 0; i < len; i++)
		img[off + i] = (uint8_t)(val >> (8 * i));
}

static const char *bar_name(unsigned idx)
{
	static const char *const names[] = {
		"BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM"
	};

	return idx <= SIM_NUM_BARS ? names[idx] : "BAR?";
}

/* How a memory BAR reads in messages. */
static const char *bar_kind(bool is64, bool prefetch)
{
	if (is64)
		return prefetch ? "64-bit prefetchable memory" : "64-bit memory";
	return prefetch ? "32-bit prefetchable memory" : "32-bit memory";
}

static unsigned bar_reg(unsigned idx)
{
	return idx == SIM_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * idx;
}

/* Set *errp to "PATH:LINE:COL: message" (LINE and COL left out when 0). */
static bool fail(const SimProfile *p, unsigned line, unsigned col, Error **errp,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static bool fail(const SimProfile *p, unsigned line, unsigned col, Error **errp,
		 const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (line && col)
		error_setg(errp, "%s:%u:%u: %s", p->path, line, col, msg ? msg : "?");
	else if (line)
		error_setg(errp, "%s:%u: %s", p->path, line, msg ? msg : "?");
	else
		error_setg(errp, "%s: %s", p->path, msg ? msg : "?");
	free(msg);
	return false;
}

#define PFAIL(ps, col, ...) fail((ps)->p, (ps)->line, (col), (ps)->errp, __VA_ARGS__)

/* The line that gave config byte off (a "set", else a "config" line). */
static unsigned byte_line(const SimProfile *p, unsigned off)
{
	return p->set_src[off] ? p->set_src[off] : p->cfg_src[off];
}

/* 0: ok, -1: not a number, -2: more than 64 bits. */
static int parse_u64(const char *s, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		int d = hex_digit(*s);

		if (d < 0 || (unsigned)d >= base)
			return -1;
		if (v > (UINT64_MAX - (unsigned)d) / base)
			return -2;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

static bool get_num(Parser *ps, const Tok *t, const char *what, uint64_t max,
		    uint64_t *out)
{
	int r = parse_u64(t->s, out);

	if (r == -1)
		return PFAIL(ps, t->col, "bad number '%s' for %s: expected a hex number like 0x1f or a decimal number",
			     t->s, what);
	if (r == -2 || *out > max)
		return PFAIL(ps, t->col, "%s %s is out of range: expected at most 0x%llx",
			     what, t->s, (unsigned long long)max);
	return true;
}

static bool get_width(Parser *ps, const Tok *t, bool allow8, unsigned *out)
{
	uint64_t w;

	if (!get_num(ps, t, "width", 8, &w))
		return false;
	if (w != 1 && w != 2 && w != 4 && (w != 8 || !allow8))
		return PFAIL(ps, t->col, "width %s is out of range: expected 1, 2%s",
			     t->s, allow8 ? ", 4 or 8" : " or 4");
	*out = (unsigned)w;
	return true;
}

static uint64_t width_max(unsigned width)
{
	return width >= 8 ? UINT64_MAX : (1ull << (8 * width)) - 1;
}

/* A number that must fit in width bytes. */
static bool get_fit(Parser *ps, const Tok *t, const char *what, unsigned width,
		    uint64_t *out)
{
	int r = parse_u64(t->s, out);

	if (r == -1)
		return get_num(ps, t, what, 0, out);
	if (r == -2 || *out > width_max(width))
		return PFAIL(ps, t->col, "%s %s does not fit in %u byte%s: expected at most 0x%llx",
			     what, t->s, width, width > 1 ? "s" : "",
			     (unsigned long long)width_max(width));
	return true;
}

/* Exactly nargs arguments after the directive. */
static bool want_args(Parser *ps, const Tok *t, unsigned n, unsigned nargs,
		      const char *usage)
{
	if (n - 1 < nargs)
		return PFAIL(ps, t[n - 1].col, "'%s' is missing arguments: expected '%s'",
			     t[0].s, usage);
	if (n - 1 > nargs)
		return PFAIL(ps, t[nargs + 1].col, "unexpected '%s' after '%s': expected '%s'",
			     t[nargs + 1].s, t[0].s, usage);
	return true;
}

/*
 * key=value options in t[first..n): keys is a NULL-terminated list, vals
 * and cols get the value and column of each key given (NULL/0 if not).
 */
static bool get_opts(Parser *ps, const Tok *t, unsigned first, unsigned n,
		     const char *const *keys, const char **vals, unsigned *cols,
		     const char *usage)
{
	unsigned nkeys = 0;

	while (keys[nkeys]) {
		vals[nkeys] = NULL;
		cols[nkeys] = 0;
		nkeys++;
	}
	for (unsigned i = first; i < n; i++) {
		const char *eq = strchr(t[i].s, '=');
		size_t klen = eq ? (size_t)(eq - t[i].s) : 0;
		unsigned k;

		if (!eq || !klen)
			return PFAIL(ps, t[i].col, "unexpected '%s': expected '%s'", t[i].s, usage);
		for (k = 0; k < nkeys; k++)
			if (strlen(keys[k]) == klen && !strncmp(keys[k], t[i].s, klen))
				break;
		if (k == nkeys)
			return PFAIL(ps, t[i].col, "unknown option '%.*s=' for '%s': expected '%s'",
				     (int)klen, t[i].s, t[0].s, usage);
		if (vals[k])
			return PFAIL(ps, t[i].col, "option '%s=' given twice", keys[k]);
		if (!eq[1])
			return PFAIL(ps, t[i].col, "option '%s=' has no value: expected '%s'",
				     keys[k], usage);
		vals[k] = eq + 1;
		cols[k] = t[i].col + (unsigned)klen + 1;
	}
	return true;
}

/* The value of option k as a number. */
static bool opt_num(Parser *ps, const char *val, unsigned col, const char *what,
		    uint64_t max, uint64_t *out)
{
	Tok t = { val, col };

	return get_num(ps, &t, what, max, out);
}

static bool once(Parser *ps, const Tok *t, unsigned *line)
{
	if (*line)
		return PFAIL(ps, t->col, "duplicate '%s' (first given on line %u): expected it at most once",
			     t->s, *line);
	*line = ps->line;
	return true;
}

/* ---- directives --------------------------------------------------------- */

static bool d_profile(Parser *ps, Tok *t, unsigned n)
{
	uint64_t v;

	if (!once(ps, t, &ps->p->version_line) || !want_args(ps, t, n, 1, "profile 1") ||
	    !get_num(ps, &t[1], "format version", UINT32_MAX, &v))
		return false;
	if (v != 1)
		return PFAIL(ps, t[1].col, "unsupported profile format version %s: expected 'profile 1'",
			     t[1].s);
	return true;
}

static bool d_name(Parser *ps, Tok *t, unsigned n)
{
	SimProfile *p = ps->p;
	size_t len = 0;

	if (!once(ps, t, &p->title_line))
		return false;
	if (n < 2)
		return PFAIL(ps, t[0].col, "'name' is missing its text: expected 'name TEXT'");
	for (unsigned i = 1; i < n; i++)
		len += strlen(t[i].s) + 1;
	if (len - 1 > MAX_TITLE)
		return PFAIL(ps, t[1].col, "name is too long (%zu characters): expected at most %u",
			     len - 1, MAX_TITLE);
	p->title = malloc(len);
	if (!p->title)
		return PFAIL(ps, 0, "out of memory");
	p->title[0] = 0;
	for (unsigned i = 1; i < n; i++) {
		if (i > 1)
			strcat(p->title, " ");
		strcat(p->title, t[i].s);
	}
	return true;
}

static bool d_cfg_size(Parser *ps, Tok *t, unsigned n)
{
	uint64_t v;

	if (!once(ps, t, &ps->p->cfg_size_line) ||
	    !want_args(ps, t, n, 1, "config-size 256|4096") ||
	    !get_num(ps, &t[1], "config-size", UINT32_MAX, &v))
		return false;
	if (v != SIM_CFG_SIZE_PCI && v != SIM_CFG_SIZE_PCIE)
		return PFAIL(ps, t[1].col, "config-size %s is out of range: expected 256 or 4096",
			     t[1].s);
	ps->p->cfg_size = (unsigned)v;
	return true;
}

static bool d_id(Parser *ps, Tok *t, unsigned n, unsigned which)
{
	SimProfile *p = ps->p;
	char usage[64];
	uint64_t v;

	snprintf(usage, sizeof(usage), "%s 0xVALUE", id_info[which].name);
	if (!once(ps, t, &p->id[which].line) || !want_args(ps, t, n, 1, usage) ||
	    !get_num(ps, &t[1], id_info[which].name, id_info[which].max, &v))
		return false;
	p->id[which].val = (uint32_t)v;
	return true;
}

static bool d_vf(Parser *ps, Tok *t, unsigned n)
{
	if (!once(ps, t, &ps->p->vf_line) || !want_args(ps, t, n, 1, "vf yes|no"))
		return false;
	if (!strcmp(t[1].s, "yes"))
		ps->p->vf = true;
	else if (!strcmp(t[1].s, "no"))
		ps->p->vf = false;
	else
		return PFAIL(ps, t[1].col, "bad value '%s' for vf: expected 'yes' or 'no'", t[1].s);
	return true;
}

static bool d_config(Parser *ps, Tok *t, unsigned n)
{
	static const char usage[] = "config 0xOFF: BYTE...";
	SimProfile *p = ps->p;
	char offbuf[MAX_LINE + 1];
	unsigned first, nbytes;
	size_t len;
	uint64_t off;
	ProfPatch *c;
	Tok ot;

	if (n < 2)
		return PFAIL(ps, t[0].col, "'config' is missing arguments: expected '%s'", usage);
	len = strlen(t[1].s);
	if (len && t[1].s[len - 1] == ':') {
		first = 2;
	} else if (n > 2 && !strcmp(t[2].s, ":")) {
		first = 3;
	} else {
		return PFAIL(ps, t[1].col + (unsigned)len, "expected ':' after the offset, as in 'config 0x040: 01 50'");
	}
	if (first == 2)
		len--;
	memcpy(offbuf, t[1].s, len);
	offbuf[len] = 0;
	ot = (Tok){ offbuf, t[1].col };
	if (!get_num(ps, &ot, "config offset", SIM_CFG_SIZE_PCIE - 1, &off))
		return false;
	nbytes = n - first;
	if (!nbytes)
		return PFAIL(ps, t[n - 1].col, "no bytes after the offset: expected 1 to %u bytes like '01 50 03'",
			     MAX_CFG_PER_LINE);
	if (nbytes > MAX_CFG_PER_LINE)
		return PFAIL(ps, t[first + MAX_CFG_PER_LINE].col,
			     "too many bytes on one line (%u): expected at most %u",
			     nbytes, MAX_CFG_PER_LINE);
	if (off + nbytes > SIM_CFG_SIZE_PCIE)
		return PFAIL(ps, t[1].col, "config bytes 0x%llx..0x%llx run past the end of config space: expected offsets below 0x1000",
			     (unsigned long long)off, (unsigned long long)off + nbytes - 1);
	for (unsigned i = 0; i < nbytes; i++) {
		const Tok *b = &t[first + i];
		int hi = hex_digit(b->s[0]), lo = hi < 0 ? -1 : hex_digit(b->s[1]);

		if (hi < 0 || lo < 0 || b->s[2])
			return PFAIL(ps, b->col, "bad byte '%s': expected two hex digits like 0a",
				     b->s);
		if (p->cfg_src[off + i])
			return PFAIL(ps, b->col, "config byte 0x%03llx is already given on line %u: config lines must not overlap",
				     (unsigned long long)off + i, p->cfg_src[off + i]);
	}
	c = vec_push(&p->configs, sizeof(*c));
	if (!c)
		return PFAIL(ps, 0, "out of memory");
	*c = (ProfPatch){ ps->line, t[1].col, (unsigned)off, nbytes, 0, SIM_MASK_RW };
	for (unsigned i = 0; i < nbytes; i++) {
		const char *s = t[first + i].s;

		p->cfg[off + i] = (uint8_t)(hex_digit(s[0]) << 4 | hex_digit(s[1]));
		p->cfg_src[off + i] = ps->line;
	}
	return true;
}

/*
 * Declare BAR idx (6: the ROM).  col points at what names the BAR; the
 * caller has checked idx and, for a resource line, the flags.
 */
static bool declare_bar(Parser *ps, unsigned col, unsigned idx, SimBarType type,
			bool prefetch, uint64_t size, bool has_addr,
			uint64_t addr, bool from_resource)
{
	ProfBar *b = &ps->p->bar[idx];
	const char *name = bar_name(idx);

	if (b->line)
		return PFAIL(ps, col, "%s is already declared on line %u: expected one declaration per BAR",
			     name, b->line);
	if (!is_pow2(size))
		return PFAIL(ps, col, "%s size 0x%llx is not a power of two", name,
			     (unsigned long long)size);
	if (idx == SIM_ROM_SLOT) {
		if (size < 0x800 || size > 0x1000000)
			return PFAIL(ps, col, "ROM size 0x%llx is out of range: expected 2 KiB to 16 MiB",
				     (unsigned long long)size);
	} else if (type == SIM_BAR_MEM64 && idx == SIM_NUM_BARS - 1) {
		return PFAIL(ps, col, "64-bit BAR5 at index 5: a 64-bit BAR needs the next BAR for its upper half");
	} else if (type == SIM_BAR_IO && (size < 4 || size > 0x10000)) {
		return PFAIL(ps, col, "I/O %s size 0x%llx is out of range: expected 4 bytes to 64 KiB",
			     name, (unsigned long long)size);
	} else if (type != SIM_BAR_IO && size < 16) {
		return PFAIL(ps, col, "memory %s size 0x%llx is out of range: expected at least 16 bytes",
			     name, (unsigned long long)size);
	} else if (type == SIM_BAR_MEM32 && size > 0x80000000ull) {
		return PFAIL(ps, col, "32-bit %s size 0x%llx is out of range: expected at most 2 GiB (or a 64-bit BAR)",
			     name, (unsigned long long)size);
	}
	*b = (ProfBar){ .line = ps->line, .col = col, .from_resource = from_resource,
			.type = type, .prefetch = prefetch, .size = size,
			.has_addr = has_addr, .addr = addr };
	return true;
}

static bool d_resource(Parser *ps, Tok *t, unsigned n)
{
	if (!once(ps, t, &ps->p->res_line) || !want_args(ps, t, n, 0, "resource"))
		return false;
	ps->in_res = true;
	return true;
}

/* One line of a resource block: "START END FLAGS" or "end". */
static bool resource_line(Parser *ps, Tok *t, unsigned n)
{
	static const char expect[] = "expected 'START END FLAGS' (three hex numbers, as in sysfs resource) or 'end'";
	SimProfile *p = ps->p;
	uint64_t v[3], size;
	unsigned idx = p->res_count;
	uint32_t kind;

	if (n == 1 && !strcmp(t[0].s, "end")) {
		ps->in_res = false;
		if (p->res_count < SIM_NUM_BARS + 1)
			return fail(p, p->res_line, 0, ps->errp,
				    "resource count: the block has %u line%s: expected at least 7 (BAR0..BAR5 and the ROM, as in sysfs resource)",
				    p->res_count, p->res_count == 1 ? "" : "s");
		return true;
	}
	if (n != 3)
		return PFAIL(ps, t[n > 3 ? 3 : 0].col, "bad resource line: %s", expect);
	for (unsigned i = 0; i < 3; i++) {
		int r = parse_u64(t[i].s, &v[i]);

		if (r == -1)
			return PFAIL(ps, t[i].col, "bad resource line: '%s' is not a number: %s",
				     t[i].s, expect);
		if (r == -2)
			return PFAIL(ps, t[i].col, "bad resource line: %s is out of range: expected at most 64 bits",
				     t[i].s);
	}
	if (++p->res_count > MAX_RES_LINES)
		return PFAIL(ps, t[0].col, "resource count: more than %u lines in the block: expected 7 to %u",
			     MAX_RES_LINES, MAX_RES_LINES);
	if (idx > SIM_NUM_BARS || v[1] == 0)
		return true;	/* bridge windows, IOV BARs; or unimplemented */
	if (v[1] < v[0])
		return PFAIL(ps, t[1].col, "bad resource line: end 0x%llx is below start 0x%llx",
			     (unsigned long long)v[1], (unsigned long long)v[0]);
	size = v[1] - v[0] + 1;
	if (!size)
		return PFAIL(ps, t[1].col, "bad resource line: the range covers all 2^64 addresses");
	kind = (uint32_t)v[2] & IORESOURCE_TYPE_BITS;
	if (kind != IORESOURCE_IO && kind != IORESOURCE_MEM)
		return PFAIL(ps, t[2].col, "bad resource line: flags 0x%llx are neither I/O (0x100) nor memory (0x200)",
			     (unsigned long long)v[2]);
	if (idx == SIM_ROM_SLOT) {
		if (kind != IORESOURCE_MEM)
			return PFAIL(ps, t[2].col, "bad resource line: the ROM (line 7 of the table) must be memory, flags 0x%llx say I/O",
				     (unsigned long long)v[2]);
		return declare_bar(ps, t[0].col, idx, SIM_BAR_MEM32, false, size, false,
				   v[0], true);
	}
	if (kind == IORESOURCE_IO)
		return declare_bar(ps, t[0].col, idx, SIM_BAR_IO, false, size, false, v[0], true);
	return declare_bar(ps, t[0].col, idx,
			   (v[2] & IORESOURCE_MEM_64) ? SIM_BAR_MEM64 : SIM_BAR_MEM32,
			   v[2] & IORESOURCE_PREFETCH, size, false, v[0], true);
}

static bool get_bar_index(Parser *ps, const Tok *t, bool rom_hint, unsigned *idx)
{
	uint64_t v;
	int r = parse_u64(t->s, &v);

	if (r == -1)
		return get_num(ps, t, "BAR index", 0, &v);
	if (r == -2 || v >= SIM_NUM_BARS)
		return PFAIL(ps, t->col, "bad BAR index %s: expected 0..5%s", t->s,
			     rom_hint ? " (the ROM is declared with 'rom size=...')" : "");
	*idx = (unsigned)v;
	return true;
}

static bool d_bar(Parser *ps, Tok *t, unsigned n)
{
	static const char usage[] = "bar N io|mem32|mem64 [prefetch] size=0xSIZE [addr=0xADDR]";
	static const char *const keys[] = { "size", "addr", NULL };
	const char *vals[2];
	unsigned cols[2], idx, first = 3;
	uint64_t size, addr = 0;
	SimBarType type;
	bool prefetch = false;

	if (n < 4)
		return PFAIL(ps, t[n - 1].col, "'bar' is missing arguments: expected '%s'", usage);
	if (!get_bar_index(ps, &t[1], true, &idx))
		return false;
	if (!strcmp(t[2].s, "io"))
		type = SIM_BAR_IO;
	else if (!strcmp(t[2].s, "mem32"))
		type = SIM_BAR_MEM32;
	else if (!strcmp(t[2].s, "mem64"))
		type = SIM_BAR_MEM64;
	else
		return PFAIL(ps, t[2].col, "bad BAR type '%s': expected io, mem32 or mem64", t[2].s);
	if (!strcmp(t[3].s, "prefetch")) {
		if (type == SIM_BAR_IO)
			return PFAIL(ps, t[3].col, "an I/O BAR cannot be prefetchable: expected 'prefetch' only with mem32 or mem64");
		prefetch = true;
		first = 4;
	}
	if (!get_opts(ps, t, first, n, keys, vals, cols, usage))
		return false;
	if (!vals[0])
		return PFAIL(ps, t[n - 1].col, "'bar' is missing size=: expected '%s'", usage);
	if (!opt_num(ps, vals[0], cols[0], "size", UINT64_MAX, &size) ||
	    (vals[1] && !opt_num(ps, vals[1], cols[1], "addr", UINT64_MAX, &addr)))
		return false;
	return declare_bar(ps, t[1].col, idx, type, prefetch, size, vals[1] != NULL, addr, false);
}

static bool d_rom(Parser *ps, Tok *t, unsigned n)
{
	static const char usage[] = "rom size=0xSIZE [addr=0xADDR]";
	static const char *const keys[] = { "size", "addr", NULL };
	const char *vals[2];
	unsigned cols[2];
	uint64_t size, addr = 0;

	if (!get_opts(ps, t, 1, n, keys, vals, cols, usage))
		return false;
	if (!vals[0])
		return PFAIL(ps, t[n - 1].col, "'rom' is missing size=: expected '%s'", usage);
	if (!opt_num(ps, vals[0], cols[0], "size", UINT64_MAX, &size) ||
	    (vals[1] && !opt_num(ps, vals[1], cols[1], "addr", UINT64_MAX, &addr)))
		return false;
	return declare_bar(ps, t[0].col, SIM_ROM_SLOT, SIM_BAR_MEM32, false, size,
			   vals[1] != NULL, addr, false);
}

static bool d_drop(Parser *ps, Tok *t, unsigned n)
{
	SimProfile *p = ps->p;
	ProfDrop *d;
	uint64_t off;
	bool ext;

	if (!want_args(ps, t, n, 2, "drop cap|ecap 0xOFF"))
		return false;
	if (!strcmp(t[1].s, "cap"))
		ext = false;
	else if (!strcmp(t[1].s, "ecap"))
		ext = true;
	else
		return PFAIL(ps, t[1].col, "bad capability kind '%s': expected 'cap' or 'ecap'", t[1].s);
	if (!get_num(ps, &t[2], ext ? "extended capability offset" : "capability offset",
		     ext ? 0xffc : 0xfc, &off))
		return false;
	for (unsigned i = 0; i < p->drops.n; i++) {
		const ProfDrop *o = (const ProfDrop *)p->drops.v + i;

		if (o->ext == ext && o->off == off)
			return PFAIL(ps, t[0].col, "duplicate 'drop %s 0x%llx' (first given on line %u): expected it at most once",
				     t[1].s, (unsigned long long)off, o->line);
	}
	if (p->drops.n + p->sets.n + p->masks.n >= MAX_PATCHES)
		return PFAIL(ps, t[0].col, "too many drop/set/mask directives: expected at most %u",
			     MAX_PATCHES);
	d = vec_push(&p->drops, sizeof(*d));
	if (!d)
		return PFAIL(ps, 0, "out of memory");
	*d = (ProfDrop){ ps->line, t[2].col, ext, (unsigned)off };
	return true;
}

static bool d_msix(Parser *ps, Tok *t, unsigned n)
{
	static const char usage[] = "msix pba=0xOFFSET";
	static const char *const keys[] = { "pba", NULL };
	const char *vals[1];
	unsigned cols[1];
	uint64_t pba;

	if (!once(ps, t, &ps->p->msix_line) ||
	    !get_opts(ps, t, 1, n, keys, vals, cols, usage))
		return false;
	if (!vals[0])
		return PFAIL(ps, t[0].col, "'msix' is missing pba=: expected '%s'", usage);
	if (!opt_num(ps, vals[0], cols[0], "pba", PCI_MSIX_PBA_OFFSET, &pba))
		return false;
	if (!pba || (pba & 7))
		return PFAIL(ps, cols[0], "pba 0x%llx is out of range: expected a non-zero multiple of 8",
			     (unsigned long long)pba);
	ps->p->msix_pba = (uint32_t)pba;
	ps->p->msix_pba_col = cols[0];
	return true;
}

/* The common part of set and mask: OFF WIDTH VALUE from t[first]. */
static bool patch_args(Parser *ps, Tok *t, unsigned first, ProfPatch *out)
{
	SimProfile *p = ps->p;
	uint64_t off, val;
	unsigned width;

	if (!get_num(ps, &t[first], "config offset", SIM_CFG_SIZE_PCIE - 1, &off) ||
	    !get_width(ps, &t[first + 1], false, &width) ||
	    !get_fit(ps, &t[first + 2], "value", width, &val))
		return false;
	if (off + width > SIM_CFG_SIZE_PCIE)
		return PFAIL(ps, t[first].col, "config offset 0x%llx (+%u) runs past the end of config space: expected offsets below 0x1000",
			     (unsigned long long)off, width);
	if (p->drops.n + p->sets.n + p->masks.n >= MAX_PATCHES)
		return PFAIL(ps, t[0].col, "too many drop/set/mask directives: expected at most %u",
			     MAX_PATCHES);
	*out = (ProfPatch){ ps->line, t[first].col, (unsigned)off, width, (uint32_t)val,
			    SIM_MASK_RW };
	return true;
}

static bool d_set(Parser *ps, Tok *t, unsigned n)
{
	ProfPatch pt, *o;

	if (!want_args(ps, t, n, 3, "set 0xOFF WIDTH 0xVALUE") || !patch_args(ps, t, 1, &pt))
		return false;
	o = vec_push(&ps->p->sets, sizeof(*o));
	if (!o)
		return PFAIL(ps, 0, "out of memory");
	*o = pt;
	return true;
}

static bool d_mask(Parser *ps, Tok *t, unsigned n)
{
	ProfPatch pt, *o;
	SimMaskKind kind;

	if (!want_args(ps, t, n, 4, "mask rw|w1c|hardwired 0xOFF WIDTH 0xMASK"))
		return false;
	if (!strcmp(t[1].s, "rw"))
		kind = SIM_MASK_RW;
	else if (!strcmp(t[1].s, "w1c"))
		kind = SIM_MASK_W1C;
	else if (!strcmp(t[1].s, "hardwired"))
		kind = SIM_MASK_HARDWIRED;
	else
		return PFAIL(ps, t[1].col, "bad mask kind '%s': expected rw, w1c or hardwired", t[1].s);
	if (!patch_args(ps, t, 2, &pt))
		return false;
	pt.kind = kind;
	o = vec_push(&ps->p->masks, sizeof(*o));
	if (!o)
		return PFAIL(ps, 0, "out of memory");
	*o = pt;
	return true;
}

static ProfItem *new_item(Parser *ps, const Tok *t)
{
	SimProfile *p = ps->p;
	ProfItem *it;

	if (p->items.n >= MAX_ITEMS) {
		PFAIL(ps, t->col, "too many reg and ram directives: expected at most %u", MAX_ITEMS);
		return NULL;
	}
	it = vec_push(&p->items, sizeof(*it));
	if (!it)
		PFAIL(ps, 0, "out of memory");
	return it;
}

static bool d_reg(Parser *ps, Tok *t, unsigned n)
{
	static const char usage[] = "reg BAR 0xOFF WIDTH 0xRESET [rw=0xMASK] [w1c=0xMASK] [name=NAME]";
	static const char *const keys[] = { "rw", "w1c", "name", NULL };
	const char *vals[3];
	unsigned cols[3], bar, width;
	uint64_t off, reset, rw = 0, w1c = 0;
	ProfItem *it;
	char *name;

	if (n < 5)
		return PFAIL(ps, t[n - 1].col, "'reg' is missing arguments: expected '%s'", usage);
	if (!get_bar_index(ps, &t[1], false, &bar) ||
	    !get_num(ps, &t[2], "BAR offset", UINT64_MAX, &off) ||
	    !get_width(ps, &t[3], true, &width) ||
	    !get_fit(ps, &t[4], "reset value", width, &reset) ||
	    !get_opts(ps, t, 5, n, keys, vals, cols, usage))
		return false;
	if (vals[0]) {
		Tok o = { vals[0], cols[0] };

		if (!get_fit(ps, &o, "rw mask", width, &rw))
			return false;
	}
	if (vals[1]) {
		Tok o = { vals[1], cols[1] };

		if (!get_fit(ps, &o, "w1c mask", width, &w1c))
			return false;
	}
	if (off % width)
		return PFAIL(ps, t[2].col, "reg offset 0x%llx is not aligned to its width %u",
			     (unsigned long long)off, width);
	if (vals[2] && strlen(vals[2]) > MAX_REG_NAME)
		return PFAIL(ps, cols[2], "reg name is too long: expected at most %u characters",
			     MAX_REG_NAME);
	if (vals[2])
		name = strdup(vals[2]);
	else if (asprintf(&name, "%s+0x%llx", bar_name(bar), (unsigned long long)off) < 0)
		name = NULL;
	if (!name)
		return PFAIL(ps, 0, "out of memory");
	it = new_item(ps, &t[0]);
	if (!it) {
		free(name);
		return false;
	}
	*it = (ProfItem){ .line = ps->line, .col = t[2].col, .bar = bar, .off = off,
			  .size = width, .reset = reset, .rw = rw, .w1c = w1c,
			  .name = name };
	return true;
}

static bool d_ram(Parser *ps, Tok *t, unsigned n)
{
	static const char usage[] = "ram BAR 0xOFF 0xSIZE [fill=0xNN]";
	static const char *const keys[] = { "fill", NULL };
	SimProfile *p = ps->p;
	const char *vals[1];
	unsigned cols[1], bar;
	uint64_t off, size, fill = 0;
	ProfItem *it;

	if (n < 4)
		return PFAIL(ps, t[n - 1].col, "'ram' is missing arguments: expected '%s'", usage);
	if (!get_bar_index(ps, &t[1], false, &bar) ||
	    !get_num(ps, &t[2], "BAR offset", UINT64_MAX, &off) ||
	    !get_num(ps, &t[3], "RAM size", MAX_RAM_BLOCK, &size) ||
	    !get_opts(ps, t, 4, n, keys, vals, cols, usage) ||
	    (vals[0] && !opt_num(ps, vals[0], cols[0], "fill", 0xff, &fill)))
		return false;
	if (!size)
		return PFAIL(ps, t[3].col, "RAM size 0 is out of range: expected at least 1 byte");
	if (p->ram_total + size > MAX_RAM_TOTAL)
		return PFAIL(ps, t[3].col, "RAM size 0x%llx is out of range: all ram directives together may hold at most 256 MiB",
			     (unsigned long long)size);
	it = new_item(ps, &t[0]);
	if (!it)
		return false;
	p->ram_total += size;
	*it = (ProfItem){ .line = ps->line, .col = t[2].col, .ram = true, .bar = bar,
			  .off = off, .size = size, .fill = (uint8_t)fill };
	return true;
}

static bool parse_tokens(Parser *ps, Tok *t, unsigned n)
{
	static const char known[] = "profile, name, config-size, vendor, device, subsystem_vendor, "
				    "subsystem_device, class, revision, vf, config, resource, bar, rom, "
				    "drop, msix, set, mask, reg, ram";
	const char *d = t[0].s;

	if (ps->in_res)
		return resource_line(ps, t, n);
	if (!ps->p->version_line && strcmp(d, "profile"))
		return PFAIL(ps, t[0].col, "expected 'profile 1' as the first directive, got '%s'", d);
	if (!strcmp(d, "profile"))
		return d_profile(ps, t, n);
	if (!strcmp(d, "name"))
		return d_name(ps, t, n);
	if (!strcmp(d, "config-size"))
		return d_cfg_size(ps, t, n);
	for (unsigned i = 0; i < ID_COUNT; i++)
		if (!strcmp(d, id_info[i].name))
			return d_id(ps, t, n, i);
	if (!strcmp(d, "vf"))
		return d_vf(ps, t, n);
	if (!strcmp(d, "config"))
		return d_config(ps, t, n);
	if (!strcmp(d, "resource"))
		return d_resource(ps, t, n);
	if (!strcmp(d, "bar"))
		return d_bar(ps, t, n);
	if (!strcmp(d, "rom"))
		return d_rom(ps, t, n);
	if (!strcmp(d, "drop"))
		return d_drop(ps, t, n);
	if (!strcmp(d, "msix"))
		return d_msix(ps, t, n);
	if (!strcmp(d, "set"))
		return d_set(ps, t, n);
	if (!strcmp(d, "mask"))
		return d_mask(ps, t, n);
	if (!strcmp(d, "reg"))
		return d_reg(ps, t, n);
	if (!strcmp(d, "ram"))
		return d_ram(ps, t, n);
	if (!strcmp(d, "end"))
		return PFAIL(ps, t[0].col, "'end' outside a resource block: expected it only after 'resource'");
	return PFAIL(ps, t[0].col, "unknown directive '%s': expected one of %s", d, known);
}

/* Split s into whitespace-separated fields; '#' starting a field ends the line. */
static unsigned tokenize(char *s, Tok *t, bool *overflow)
{
	unsigned n = 0;
	char *c = s;

	*overflow = false;
	for (;;) {
		while (*c == ' ' || *c == '\t')
			c++;
		if (!*c || *c == '#')
			break;
		if (n == MAX_TOKS) {
			*overflow = true;
			t[0].col = (unsigned)(c - s) + 1;
			break;
		}
		t[n].s = c;
		t[n].col = (unsigned)(c - s) + 1;
		n++;
		while (*c && *c != ' ' && *c != '\t')
			c++;
		if (*c)
			*c++ = 0;
	}
	return n;
}

/*
 * Read one line into buf (MAX_LINE + 1 bytes) without its end of line.
 * 1: a line, 0: end of file, -1: too long, -2: read error.
 */
static int read_line(FILE *f, char *buf, size_t *len)
{
	size_t n = 0;
	int c = EOF;
	bool any = false;

	while ((c = getc(f)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (n == MAX_LINE) {
			while ((c = getc(f)) != EOF && c != '\n')
				;
			return -1;
		}
		buf[n++] = (char)c;
	}
	if (c == EOF && ferror(f))
		return -2;
	if (!any)
		return 0;
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = 0;
	*len = n;
	return 1;
}

/* ---- validation --------------------------------------------------------- */

/* Walk the standard capability chain of img like the kernel does. */
static bool walk_caps(SimProfile *p, Error **errp)
{
	const uint8_t *img = p->img;
	uint8_t seen[256] = { 0 };
	unsigned ptr_at = PCI_CAPABILITY_LIST, off;

	p->ncaps = 0;
	if (!(img[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return true;
	off = img[ptr_at] & ~3u;
	while (off >= PCI_STD_HEADER_SIZEOF && img[off] != 0xff) {
		if (seen[off])
			return fail(p, byte_line(p, ptr_at), 0, errp,
				    "the capability chain loops: the pointer at 0x%02x leads back to 0x%02x",
				    ptr_at, off);
		seen[off] = 1;
		p->caps[p->ncaps++] = off;
		ptr_at = off + PCI_CAP_LIST_NEXT;
		off = img[ptr_at] & ~3u;
	}
	return true;
}

static bool walk_ecaps(SimProfile *p, Error **errp)
{
	uint8_t seen[SIM_CFG_SIZE_PCIE / 4] = { 0 };
	unsigned off = PCI_CFG_SPACE_SIZE, from = 0;

	p->necaps = 0;
	if (p->cfg_size < SIM_CFG_SIZE_PCIE)
		return true;
	for (;;) {
		uint32_t h = img_get(p->img, off, 4);

		if (!h || h == 0xffffffff)
			return true;
		if (seen[off / 4])
			return fail(p, byte_line(p, from + 2), 0, errp,
				    "the extended capability chain loops: the header at 0x%03x leads back to 0x%03x",
				    from, off);
		seen[off / 4] = 1;
		p->ecaps[p->necaps++] = off;
		from = off;
		off = PCI_EXT_CAP_NEXT(h);
		if (off < PCI_CFG_SPACE_SIZE)
			return true;
	}
}

static void chain_text(const unsigned *offs, unsigned n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = 0;
	if (!n) {
		snprintf(buf, size, "none");
		return;
	}
	for (unsigned i = 0; i < n && len + 8 < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s0x%x", i ? " " : "", offs[i]);
}

/* Unlink the capabilities that "drop" names (all checked to be in the chain). */
static bool apply_drops(SimProfile *p, Error **errp)
{
	const ProfDrop *drops = p->drops.v;

	for (unsigned i = 0; i < p->drops.n; i++) {
		const ProfDrop *d = &drops[i];
		const unsigned *list = d->ext ? p->ecaps : p->caps;
		unsigned n = d->ext ? p->necaps : p->ncaps, k;
		char chain[200];

		for (k = 0; k < n && list[k] != d->off; k++)
			;
		if (k == n) {
			chain_text(list, n, chain, sizeof(chain));
			return fail(p, d->line, d->col, errp,
				    "no %scapability at 0x%x to drop: expected the offset of one in the chain (%s)",
				    d->ext ? "extended " : "", d->off, chain);
		}
	}
	for (unsigned i = 0; i < p->drops.n; i++) {
		const ProfDrop *d = &drops[i];

		if (!d->ext) {
			unsigned prev = PCI_CAPABILITY_LIST;

			/* Find the pointer that leads to the capability. */
			while ((p->img[prev] & ~3u) != d->off)
				prev = (p->img[prev] & ~3u) + PCI_CAP_LIST_NEXT;
			p->img[prev] = p->img[d->off + PCI_CAP_LIST_NEXT];
			p->set_src[prev] = d->line;
			if (prev == PCI_CAPABILITY_LIST &&
			    (p->img[prev] & ~3u) < PCI_STD_HEADER_SIZEOF) {
				p->img[prev] = 0;
				p->img[PCI_STATUS] &= (uint8_t)~PCI_STATUS_CAP_LIST;
			}
		} else if (d->off == PCI_CFG_SPACE_SIZE) {
			/* The head cannot move: it becomes a null capability. */
			uint32_t h = img_get(p->img, d->off, 4);

			img_put(p->img, d->off, 4, h & 0xfff00000u);
			p->set_src[d->off] = d->line;
		} else {
			unsigned prev = PCI_CFG_SPACE_SIZE;
			uint32_t h;

			while (PCI_EXT_CAP_NEXT(img_get(p->img, prev, 4)) != d->off)
				prev = PCI_EXT_CAP_NEXT(img_get(p->img, prev, 4));
			h = img_get(p->img, prev, 4);
			h = (h & 0x000fffffu) | (img_get(p->img, d->off, 4) & 0xfff00000u);
			img_put(p->img, prev, 4, h);
			p->set_src[prev + 2] = d->line;
		}
		/* Re-walk so the next drop sees the current chain. */
		if (!walk_caps(p, errp) || !walk_ecaps(p, errp))
			return false;
	}
	return true;
}

static const char *cap_name(unsigned id)
{
	switch (id) {
	case PCI_CAP_ID_PM: return "power management";
	case PCI_CAP_ID_MSI: return "MSI";
	case PCI_CAP_ID_EXP: return "PCI Express";
	case PCI_CAP_ID_MSIX: return "MSI-X";
	case PCI_CAP_ID_AF: return "Advanced Features";
	default: return "";
	}
}

/* Bytes of a standard capability that the simulator gives behaviour to. */
static unsigned cap_len(const uint8_t *img, unsigned off)
{
	uint16_t fl = (uint16_t)img_get(img, off + 2, 2);

	switch (img[off]) {
	case PCI_CAP_ID_PM:
		return PCI_PM_SIZEOF;
	case PCI_CAP_ID_MSI:
		return 10 + ((fl & PCI_MSI_FLAGS_64BIT) ? 4 : 0) +
		       ((fl & PCI_MSI_FLAGS_MASKBIT) ? 10 : 0);
	case PCI_CAP_ID_EXP:
		return (fl & PCI_EXP_FLAGS_VERS) >= 2 ? PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 :
		       PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;
	case PCI_CAP_ID_MSIX:
		return PCI_CAP_MSIX_SIZEOF;
	case PCI_CAP_ID_AF:
		return PCI_CAP_AF_SIZEOF;
	default:
		return 2;
	}
}

typedef struct Span {
	unsigned bar;
	uint64_t off, size;
	const char *what;
} Span;

static bool spans_overlap(const Span *a, const Span *b)
{
	return a->bar == b->bar && a->off < b->off + b->size && b->off < a->off + a->size;
}

/* MSI-X: table and PBA in implemented BARs, inside them, apart. */
static bool check_msix(SimProfile *p, unsigned off, Span *tbl, Span *pba,
		       Error **errp)
{
	uint16_t fl = (uint16_t)img_get(p->img, off + PCI_MSIX_FLAGS, 2);
	uint32_t t = img_get(p->img, off + PCI_MSIX_TABLE, 4);
	uint32_t b = img_get(p->img, off + PCI_MSIX_PBA, 4);
	unsigned nvec = (fl & PCI_MSIX_FLAGS_QSIZE) + 1u, line = byte_line(p, off);
	uint32_t reported = b & PCI_MSIX_PBA_OFFSET;

	*tbl = (Span){ t & PCI_MSIX_TABLE_BIR, t & PCI_MSIX_TABLE_OFFSET,
		       (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE, "the MSI-X table" };
	*pba = (Span){ b & PCI_MSIX_PBA_BIR, p->msix_pba ? p->msix_pba : reported,
		       ((nvec + 63) / 64) * 8, "the MSI-X PBA" };
	for (unsigned i = 0; i < 2; i++) {
		const Span *s = i ? pba : tbl;
		unsigned l = i && p->msix_pba ? p->msix_line : line;

		if (s->bar >= SIM_NUM_BARS || !p->bar[s->bar].line)
			return fail(p, line, 0, errp,
				    "the MSI-X capability at 0x%02x puts %s in BAR%u, which is not declared: expected a resource line or 'bar %u ...'",
				    off, s->what + 4, s->bar, s->bar);
		if (s->off + s->size > p->bar[s->bar].size) {
			if (i && !p->msix_pba)
				return fail(p, l, 0, errp,
					    "the MSI-X capability at 0x%02x reports the PBA at 0x%llx, outside BAR%u (0x%llx bytes): if the device reports a wrong offset, give the real one with 'msix pba=0x...'",
					    off, (unsigned long long)s->off, s->bar,
					    (unsigned long long)p->bar[s->bar].size);
			return fail(p, l, 0, errp,
				    "%s at 0x%llx (0x%llx bytes) does not fit in BAR%u (0x%llx bytes)",
				    s->what + 4, (unsigned long long)s->off,
				    (unsigned long long)s->size, s->bar,
				    (unsigned long long)p->bar[s->bar].size);
		}
	}
	if (spans_overlap(tbl, pba))
		return fail(p, p->msix_pba ? p->msix_line : line, 0, errp,
			    "the MSI-X PBA at BAR%u+0x%llx overlaps the MSI-X table at BAR%u+0x%llx",
			    pba->bar, (unsigned long long)pba->off, tbl->bar,
			    (unsigned long long)tbl->off);
	return true;
}

/* Every capability left in the chains can be given its behaviour. */
static bool check_caps(SimProfile *p, Span *msix, unsigned *nmsix, Error **errp)
{
	unsigned msi = 0;

	p->msix_off = 0;
	*nmsix = 0;
	for (unsigned i = 0; i < p->ncaps; i++) {
		unsigned off = p->caps[i], id = p->img[off], len = cap_len(p->img, off);
		unsigned line = byte_line(p, off);

		if (off + len > PCI_CFG_SPACE_SIZE)
			return fail(p, line, 0, errp,
				    "the %s capability at 0x%02x needs 0x%x bytes and runs past the end of the standard config space (0x100)",
				    cap_name(id), off, len);
		if (id == PCI_CAP_ID_MSI) {
			unsigned mmc = (img_get(p->img, off + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK) >> 1;

			if (msi)
				return fail(p, line, 0, errp,
					    "a second MSI capability at 0x%02x (the first is at 0x%02x): expected at most one",
					    off, msi);
			if (mmc > 5)
				return fail(p, byte_line(p, off + PCI_MSI_FLAGS), 0, errp,
					    "the MSI capability at 0x%02x: Multiple Message Capable %u is reserved: expected 0..5",
					    off, mmc);
			msi = off;
		} else if (id == PCI_CAP_ID_MSIX) {
			if (p->msix_off)
				return fail(p, line, 0, errp,
					    "a second MSI-X capability at 0x%02x (the first is at 0x%02x): expected at most one",
					    off, p->msix_off);
			if (!check_msix(p, off, &msix[0], &msix[1], errp))
				return false;
			p->msix_off = off;
			*nmsix = 2;
		}
	}
	if (p->msix_line && !p->msix_off)
		return fail(p, p->msix_line, 0, errp,
			    "'msix' overrides the MSI-X capability, but the capability chain has none");
	for (unsigned i = 0; i < p->necaps; i++) {
		unsigned off = p->ecaps[i], len = 4;
		uint32_t id = PCI_EXT_CAP_ID(img_get(p->img, off, 4));

		if (id == PCI_EXT_CAP_ID_ERR)
			len = PCI_ERR_ROOT_COMMAND;
		else if (id == PCI_EXT_CAP_ID_TPH)
			len = PCI_TPH_BASE_SIZEOF;
		if (off + len > p->cfg_size)
			return fail(p, byte_line(p, off), 0, errp,
				    "the extended capability 0x%04x at 0x%03x needs 0x%x bytes and runs past the end of config space",
				    id, off, len);
	}
	return true;
}

/* The BAR registers agree with the declared layout; addresses are usable. */
static bool check_bars(SimProfile *p, Error **errp)
{
	unsigned htype = p->img[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK;

	if (htype > PCI_HEADER_TYPE_BRIDGE)
		return fail(p, byte_line(p, PCI_HEADER_TYPE), 0, errp,
			    "header type %u is not supported: expected 0 (a function) or 1 (a bridge)",
			    htype);
	for (unsigned i = 0; i <= SIM_NUM_BARS; i++) {
		ProfBar *b = &p->bar[i];
		unsigned reg = bar_reg(i), nreg = b->type == SIM_BAR_MEM64 ? 8 : 4;
		bool given = false;
		uint64_t addr;

		if (!b->line)
			continue;
		if (htype == PCI_HEADER_TYPE_BRIDGE && i >= 2)
			return fail(p, b->line, b->col, errp,
				    i == SIM_ROM_SLOT ?
				    "the expansion ROM of a type 1 (bridge) header is not modelled: expected no ROM" :
				    "%s does not exist in a type 1 (bridge) header: expected BAR0 or BAR1",
				    bar_name(i));
		if (b->type == SIM_BAR_MEM64 && p->bar[i + 1].line)
			return fail(p, p->bar[i + 1].line, p->bar[i + 1].col, errp,
				    "BAR%u is the upper half of 64-bit BAR%u (line %u): expected no declaration of its own",
				    i + 1, i, b->line);
		for (unsigned k = 0; k < nreg; k++)
			given |= byte_line(p, reg + k) != 0;
		addr = b->addr;
		if (given && !p->vf) {
			uint32_t lo = img_get(p->img, reg, 4);
			bool io = lo & PCI_BASE_ADDRESS_SPACE_IO;
			bool is64 = (lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
			bool pf = lo & PCI_BASE_ADDRESS_MEM_PREFETCH;
			uint64_t raddr;

			if (i == SIM_ROM_SLOT) {
				raddr = lo & PCI_ROM_ADDRESS_MASK;
			} else if (b->type == SIM_BAR_IO) {
				if (lo && !io)
					return fail(p, byte_line(p, reg), 0, errp,
						    "config 0x%02x: the %s register 0x%08x says memory, but line %u declares an I/O BAR",
						    reg, bar_name(i), lo, b->line);
				raddr = lo & PCI_BASE_ADDRESS_IO_MASK;
			} else {
				if (lo && (io || is64 != (b->type == SIM_BAR_MEM64) ||
					   pf != b->prefetch))
					return fail(p, byte_line(p, reg), 0, errp,
						    "config 0x%02x: the %s register 0x%08x says %s, but line %u declares %s",
						    reg, bar_name(i), lo,
						    io ? "I/O" : bar_kind(is64, pf), b->line,
						    bar_kind(b->type == SIM_BAR_MEM64, b->prefetch));
				raddr = lo & PCI_BASE_ADDRESS_MEM_MASK;
				if (b->type == SIM_BAR_MEM64)
					raddr |= (uint64_t)img_get(p->img, reg + 4, 4) << 32;
			}
			if (b->has_addr && b->addr != raddr)
				return fail(p, b->line, b->col, errp,
					    "%s addr=0x%llx disagrees with its register in the config bytes (address 0x%llx): expected one of them, or both equal",
					    bar_name(i), (unsigned long long)b->addr,
					    (unsigned long long)raddr);
			addr = raddr;
		}
		if (addr & (b->size - 1))
			return fail(p, b->line, b->col, errp,
				    "%s address 0x%llx is not aligned to its size 0x%llx",
				    bar_name(i), (unsigned long long)addr,
				    (unsigned long long)b->size);
		if (b->type != SIM_BAR_MEM64 && addr > UINT32_MAX)
			return fail(p, b->line, b->col, errp,
				    "%s address 0x%llx does not fit a 32-bit BAR",
				    bar_name(i), (unsigned long long)addr);
		b->eff_addr = addr;
	}
	return true;
}

static int item_cmp(const void *a, const void *b)
{
	const ProfItem *x = *(const ProfItem *const *)a, *y = *(const ProfItem *const *)b;

	if (x->bar != y->bar)
		return x->bar < y->bar ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* reg and ram: in declared BARs, inside them, apart from each other. */
static bool check_items(SimProfile *p, const Span *msix, unsigned nmsix,
			Error **errp)
{
	ProfItem *items = p->items.v;
	const ProfItem **sorted;
	bool ok = true;

	for (unsigned i = 0; i < p->items.n; i++) {
		const ProfItem *it = &items[i];
		const ProfBar *b = &p->bar[it->bar];
		const char *what = it->ram ? "ram" : "reg";
		Span s = { it->bar, it->off, it->size, NULL };

		if (!b->line)
			return fail(p, it->line, 0, errp,
				    "%s in BAR%u, which is not declared: expected a resource line or 'bar %u ...' for it",
				    what, it->bar, it->bar);
		if (it->off >= b->size || it->size > b->size - it->off)
			return fail(p, it->line, it->col, errp,
				    "%s at 0x%llx (0x%llx bytes) is outside BAR%u (0x%llx bytes)",
				    what, (unsigned long long)it->off,
				    (unsigned long long)it->size, it->bar,
				    (unsigned long long)b->size);
		for (unsigned k = 0; k < nmsix; k++)
			if (spans_overlap(&s, &msix[k]))
				return fail(p, it->line, it->col, errp,
					    "%s at BAR%u+0x%llx overlaps %s (BAR%u+0x%llx, 0x%llx bytes)",
					    what, it->bar, (unsigned long long)it->off,
					    msix[k].what, msix[k].bar,
					    (unsigned long long)msix[k].off,
					    (unsigned long long)msix[k].size);
	}
	if (p->items.n < 2)
		return true;
	sorted = malloc(p->items.n * sizeof(*sorted));
	if (!sorted)
		return fail(p, 0, 0, errp, "out of memory");
	for (unsigned i = 0; i < p->items.n; i++)
		sorted[i] = &items[i];
	qsort(sorted, p->items.n, sizeof(*sorted), item_cmp);
	for (unsigned i = 1, last = 0; i < p->items.n && ok; i++) {
		const ProfItem *a = sorted[last], *b = sorted[i];

		if (a->bar == b->bar && b->off < a->off + a->size) {
			const ProfItem *later = a->line > b->line ? a : b;
			const ProfItem *other = later == a ? b : a;

			ok = fail(p, later->line, later->col, errp,
				  "%s at BAR%u+0x%llx (0x%llx bytes) overlaps the %s at BAR%u+0x%llx on line %u",
				  later->ram ? "ram" : "reg", later->bar,
				  (unsigned long long)later->off,
				  (unsigned long long)later->size,
				  other->ram ? "ram" : "reg", other->bar,
				  (unsigned long long)other->off, other->line);
		}
		if (a->bar != b->bar || b->off + b->size > a->off + a->size)
			last = i;
	}
	free(sorted);
	return ok;
}

/* Everything after the last line: cross-checks and the config image. */
static bool finish(SimProfile *p, unsigned lines, Error **errp)
{
	const ProfPatch *cfgs = p->configs.v, *sets = p->sets.v, *masks = p->masks.v;
	Span msix[2];
	unsigned nmsix;

	if (!p->version_line)
		return fail(p, lines ? lines : 1, 0, errp,
			    "unexpected end of file: expected 'profile 1' as the first directive");
	if (!p->cfg_size)
		p->cfg_size = SIM_CFG_SIZE_PCI;
	for (unsigned i = 0; i < p->configs.n; i++)
		if (cfgs[i].off + cfgs[i].width > p->cfg_size)
			return fail(p, cfgs[i].line, cfgs[i].col, errp,
				    "config offset 0x%x (+%u bytes) is outside the %u-byte config space: expected offsets below 0x%x%s",
				    cfgs[i].off, cfgs[i].width, p->cfg_size, p->cfg_size,
				    p->cfg_size_line ? "" : " (no config-size: 256 by default)");
	for (unsigned k = 0; k < 2; k++) {
		const ProfPatch *v = k ? masks : sets;
		unsigned n = k ? p->masks.n : p->sets.n;

		for (unsigned i = 0; i < n; i++)
			if (v[i].off + v[i].width > p->cfg_size)
				return fail(p, v[i].line, v[i].col, errp,
					    "config offset 0x%x (+%u bytes) is outside the %u-byte config space: expected offsets below 0x%x",
					    v[i].off, v[i].width, p->cfg_size, p->cfg_size);
	}

	/* The image: config bytes, IDs where no config byte is given, sets. */
	memcpy(p->img, p->cfg, sizeof(p->img));
	for (unsigned i = 0; i < ID_COUNT; i++) {
		if (!p->id[i].line)
			continue;
		for (unsigned k = 0; k < id_info[i].width; k++)
			if (!p->cfg_src[id_info[i].reg + k])
				p->img[id_info[i].reg + k] = (uint8_t)(p->id[i].val >> (8 * k));
	}
	for (unsigned i = 0; i < p->sets.n; i++) {
		for (unsigned k = 0; k < sets[i].width; k++) {
			unsigned o = sets[i].off + k;

			if (p->set_src[o])
				return fail(p, sets[i].line, sets[i].col, errp,
					    "set of config byte 0x%03x overlaps the set on line %u: expected each byte set at most once",
					    o, p->set_src[o]);
			p->set_src[o] = sets[i].line;
		}
		img_put(p->img, sets[i].off, sets[i].width, sets[i].val);
	}

	if (!check_bars(p, errp) || !walk_caps(p, errp) || !walk_ecaps(p, errp) ||
	    !apply_drops(p, errp) || !check_caps(p, msix, &nmsix, errp) ||
	    !check_items(p, msix, nmsix, errp))
		return false;

	p->ids.vendor = p->id[ID_VENDOR].line ? (uint16_t)p->id[ID_VENDOR].val :
			(uint16_t)img_get(p->img, PCI_VENDOR_ID, 2);
	p->ids.device = p->id[ID_DEVICE].line ? (uint16_t)p->id[ID_DEVICE].val :
			(uint16_t)img_get(p->img, PCI_DEVICE_ID, 2);
	p->ids.subsystem_vendor = p->id[ID_SUBVENDOR].line ? (uint16_t)p->id[ID_SUBVENDOR].val :
				  (uint16_t)img_get(p->img, PCI_SUBSYSTEM_VENDOR_ID, 2);
	p->ids.subsystem_device = p->id[ID_SUBDEVICE].line ? (uint16_t)p->id[ID_SUBDEVICE].val :
				  (uint16_t)img_get(p->img, PCI_SUBSYSTEM_ID, 2);
	p->ids.class_code = p->id[ID_CLASS].line ? p->id[ID_CLASS].val :
			    img_get(p->img, PCI_CLASS_PROG, 3);
	p->ids.revision = p->id[ID_REVISION].line ? (uint8_t)p->id[ID_REVISION].val :
			  p->img[PCI_REVISION_ID];
	return true;
}

/* ---- public API -------------------------------------------------------- */

void sim_profile_free(SimProfile *p)
{
	ProfItem *items;

	if (!p)
		return;
	items = p->items.v;
	for (unsigned i = 0; i < p->items.n; i++)
		free(items[i].name);
	free(p->items.v);
	free(p->configs.v);
	free(p->sets.v);
	free(p->masks.v);
	free(p->drops.v);
	free(p->title);
	free(p->path);
	free(p);
}

const char *sim_profile_title(const SimProfile *p)
{
	return p->title ? p->title : "";
}

SimProfile *sim_profile_parse_stream(FILE *f, const char *path, Error **errp)
{
	SimProfile *p = calloc(1, sizeof(*p));
	char buf[MAX_LINE + 1];
	Parser ps = { p, 0, false, errp };
	bool ok = true;

	if (!p || !(p->path = strdup(path ? path : "(profile)"))) {
		free(p);
		error_setg(errp, "out of memory");
		return NULL;
	}
	while (ok) {
		Tok t[MAX_TOKS];
		size_t len = 0;
		bool overflow;
		unsigned n;
		int r = read_line(f, buf, &len);

		if (r == 0)
			break;
		ps.line++;
		if (r == -1) {
			ok = PFAIL(&ps, MAX_LINE + 1, "line too long: expected at most %u characters",
				   MAX_LINE);
			break;
		}
		if (r == -2) {
			ok = fail(p, ps.line, 0, errp, "read error: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)buf[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				ok = PFAIL(&ps, (unsigned)i + 1, "control character 0x%02x: expected plain text",
					   c);
				break;
			}
		}
		if (!ok)
			break;
		n = tokenize(buf, t, &overflow);
		if (overflow) {
			ok = PFAIL(&ps, t[0].col, "too many fields on one line: expected at most %u",
				   MAX_TOKS);
			break;
		}
		if (n)
			ok = parse_tokens(&ps, t, n);
	}
	if (ok && ps.in_res)
		ok = fail(p, p->res_line, 0, errp,
			  "unterminated resource block: expected 'end' after its lines");
	if (ok)
		ok = finish(p, ps.line, errp);
	if (!ok) {
		sim_profile_free(p);
		return NULL;
	}
	return p;
}

SimProfile *sim_profile_parse(const char *path, Error **errp)
{
	FILE *f = fopen(path, "r");
	SimProfile *p;

	if (!f) {
		error_setg_errno(errp, errno, "%s: cannot open profile", path);
		return NULL;
	}
	p = sim_profile_parse_stream(f, path, errp);
	fclose(f);
	return p;
}

/* ---- the device -------------------------------------------------------- */

typedef struct ProfState {
	SimReg *regs;
	unsigned nregs;
} ProfState;

static void state_free(void *opaque)
{
	ProfState *s = opaque;

	if (!s)
		return;
	for (unsigned i = 0; i < s->nregs; i++)
		free((char *)s->regs[i].name);
	free(s->regs);
	free(s);
}

static const SimModelOps profile_ops = {
	.free = state_free,
};

static bool build(const SimProfile *p, SimDevice *dev, ProfState *st, Error **errp)
{
	const ProfItem *items = p->items.v;
	const ProfPatch *masks = p->masks.v;

	sim_device_set_ids(dev, &p->ids);
	for (unsigned off = 0; off < p->cfg_size; off += 4)
		sim_cfg_set(dev, off, 4, img_get(p->img, off, 4));
	if (p->vf)
		sim_device_set_vf(dev, true);

	/* BARs: sized from the table, then the captured registers restored. */
	for (unsigned i = 0; i <= SIM_NUM_BARS; i++) {
		const ProfBar *b = &p->bar[i];

		if (!b->line)
			continue;
		if (i == SIM_ROM_SLOT) {
			if (!sim_rom_add(dev, b->size, NULL, 0, errp))
				return false;
		} else if (!sim_bar_add(dev, i, b->type, b->prefetch, b->size, errp)) {
			return false;
		}
		if (!sim_bar_set_addr(dev, i, b->eff_addr, errp))
			return false;
	}
	for (unsigned off = PCI_BASE_ADDRESS_0; off < PCI_CARDBUS_CIS; off++)
		if (byte_line(p, off))
			sim_cfg_set(dev, off, 1, p->img[off]);
	for (unsigned off = PCI_ROM_ADDRESS; off < PCI_ROM_ADDRESS + 4; off++)
		if (byte_line(p, off) && p->bar[SIM_ROM_SLOT].line)
			sim_cfg_set(dev, off, 1, p->img[off]);

	/* BAR contents. */
	for (unsigned i = 0; i < p->items.n; i++) {
		const ProfItem *it = &items[i];

		if (it->ram) {
			if (!sim_bar_add_ram(dev, it->bar, it->off, it->size, it->fill, errp))
				return false;
			continue;
		}
		st->regs[st->nregs] = (SimReg){ .name = strdup(it->name), .offset = 0,
						.width = (uint8_t)it->size, .reset = it->reset,
						.wmask = it->rw, .w1cmask = it->w1c };
		if (!st->regs[st->nregs].name) {
			error_setg(errp, "out of memory");
			return false;
		}
		st->nregs++;
		if (!sim_bar_add_regs(dev, it->bar, it->off, &st->regs[st->nregs - 1], 1,
				      NULL, NULL, NULL, errp))
			return false;
	}

	/* The behaviour of every capability left in the chains. */
	for (unsigned i = 0; i < p->ncaps; i++) {
		unsigned off = p->caps[i];
		bool ok = off == p->msix_off ?
			  sim_cap_adopt_msix(dev, off, p->msix_pba, errp) :
			  sim_cap_adopt(dev, off, errp);

		if (!ok)
			return false;
	}
	for (unsigned i = 0; i < p->necaps; i++)
		if (!sim_ecap_adopt(dev, p->ecaps[i], errp))
			return false;

	for (unsigned i = 0; i < p->masks.n; i++)
		sim_cfg_set_mask(dev, masks[i].kind, masks[i].off, masks[i].width,
				 masks[i].val);
	return sim_device_realize(dev, errp);
}

SimDevice *sim_profile_create(const SimProfile *p, const char *name, Error **errp)
{
	SimDevice *dev = sim_device_new(name, p->cfg_size);
	ProfState *st = calloc(1, sizeof(*st));

	if (st)
		st->regs = calloc(p->items.n ? p->items.n : 1, sizeof(*st->regs));
	if (!dev || !st || !st->regs) {
		sim_device_free(dev);
		state_free(st);
		error_setg(errp, "out of memory");
		return NULL;
	}
	sim_device_set_model(dev, &profile_ops, st);
	if (!build(p, dev, st, errp)) {
		error_prepend(errp, "%s: ", p->path);
		sim_device_free(dev);
		return NULL;
	}
	return dev;
}

SimDevice *sim_profile_load(const char *path, const char *name, Error **errp)
{
	SimProfile *p = sim_profile_parse(path, errp);
	SimDevice *dev;

	if (!p)
		return NULL;
	dev = sim_profile_create(p, name, errp);
	sim_profile_free(p);
	return dev;
}

/* ---- the model ----------------------------------------------------------- */

static SimDevice *create(const char *name, SimParams *params, Error **errp)
{
	const char *file = sim_params_get(params, "file");

	if (!file || !*file) {
		error_setg(errp, "parameter file=PATH is required: the profile to serve (see docs/profile-format.md)");
		return NULL;
	}
	return sim_profile_load(file, name, errp);
}

const SimModel sim_model_profile = {
	"profile",
	"a device served from a text profile (docs/profile-format.md), e.g. one made by sim-capture",
	"file=PATH  the profile to serve (required)\n",
	create,
};

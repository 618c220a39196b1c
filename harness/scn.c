/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/scn: scenario files (scenarios/README.md): the lexer, the
 * statement table and the parser, and the fakevfio topology a scenario
 * makes.  Expressions live in scn-expr.c.
 *
 * A line becomes words (blanks separate them, "..." strings are one word,
 * '#' at the start of a word comments the rest out); the first word is the
 * verb, looked up in the table below, which says what positional
 * arguments, KEY=VALUE keys, checks (== != -> crc32=) and expected
 * failures (=> error/errno) the statement takes.  Every error names the
 * file, line and column of the offending word and what was expected.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"
#include "harness/hx-vfio.h"
#include "harness/scn-int.h"

#define SCN_MAX_FILE (16u << 20)
#define SCN_MAX_DEPTH 16
#define SCN_MAX_WORDS 64
#define SCN_MAX_DEVICES 32

/* ---- the statement table ---- */

enum ArgKind {
	AK_DEV,		/* a device name */
	AK_EXPR,	/* an expression */
	AK_CSIZE,	/* 1, 2 or 4 */
	AK_MSIZE,	/* 1, 2, 4 or 8 */
	AK_VLEN,	/* 1 to 65536 */
	AK_BYTES,	/* a byte string */
	AK_VALBYTES,	/* an expression or a byte string */
	AK_STRING,	/* "..." */
	AK_NAME,	/* a name (handle, variable) */
	AK_WORD,	/* one of words */
	AK_REGION,	/* a VFIO region name or index */
	AK_RAW,		/* any word */
};

enum KeyKind {
	KK_EXPR,
	KK_WORD,
	KK_FLAG,	/* a bare word, no '=' */
	KK_RAW,
};

typedef struct ArgSpec {
	unsigned char kind;
	bool opt;
	const char *expect;	/* "an offset" */
	const char *noun;	/* "the offset" */
	const char *const *words;
} ArgSpec;

typedef struct KeySpec {
	const char *key;
	unsigned char kind;
	bool req;
	const char *const *words;
} KeySpec;

enum {
	F_VAL = 1 << 0,		/* == EXPR [mask=], != EXPR, -> VAR */
	F_STORE = 1 << 1,	/* -> VAR only */
	F_REQCHECK = 1 << 2,	/* a check is required (expect), no -> */
	F_BYTES = 1 << 3,	/* == BYTES */
	F_CRC = 1 << 4,		/* crc32=EXPR */
	F_WORD = 1 << 5,	/* == delivered|pending|dropped|masked */
	F_TEXT = 1 << 6,	/* == "TEXT" */
	F_FAIL = 1 << 7,	/* => error "TEXT" / => errno NAME */
	F_FREEKV = 1 << 8,	/* any KEY=VALUE besides the known keys */
};

typedef struct StmtSpec {
	const char *verb;
	ScnOp op;
	ArgSpec args[SCN_MAX_ARGS];
	KeySpec keys[6];
	unsigned flags;
} StmtSpec;

const char *const scn_irq_kinds[] = { "msi", "msix", "intx", "err", "req", NULL };
const char *const scn_irq_results[] = { "delivered", "pending", "dropped", "masked", NULL };
static const char *const w01[] = { "0", "1", NULL };
static const char *const wsev[] = { "uncorrectable", "correctable", NULL };
static const char *const whow[] = { "flr", "hot", "pm", "power-on", NULL };
static const char *const wplat[] = { "x86", "pseries", NULL };
static const char *const wtce[] = { "v1", "v2", "both", NULL };
static const char *const wdir[] = { "read", "write", NULL };
static const char *const weeh[] = {
	"enable", "disable", "get-state", "unfreeze-mmio", "unfreeze-dma",
	"reset-hot", "reset-fundamental", "reset-deactivate", "configure",
	"inject", NULL
};

#define DEV { AK_DEV, false, "a device name", "the device name", NULL }
#define OPTDEV { AK_DEV, true, "a device name", "the device name", NULL }
#define EXPR(e, n) { AK_EXPR, false, e, n, NULL }
#define OPTEXPR(e, n) { AK_EXPR, true, e, n, NULL }
#define CSIZE { AK_CSIZE, false, "an access size 1, 2 or 4", "the access size", NULL }
#define MSIZE { AK_MSIZE, false, "an access size 1, 2, 4 or 8", "the access size", NULL }
#define WORD(w, e, n) { AK_WORD, false, e, n, w }
#define OPTWORD(w, e, n) { AK_WORD, true, e, n, w }
#define NAME(e, n) { AK_NAME, false, e, n, NULL }
#define BYTES { AK_BYTES, false, "a byte string (de:ad:be:ef or hex:deadbeef)", "the bytes", NULL }
#define STRING(e, n) { AK_STRING, false, e, n, NULL }
#define RAW(e, n) { AK_RAW, false, e, n, NULL }
#define KEXPR(k) { k, KK_EXPR, false, NULL }
#define KREQ(k) { k, KK_EXPR, true, NULL }
#define KWORD(k, w) { k, KK_WORD, false, w }

static const StmtSpec specs[] = {
	{ "machine", SCN_OP_MACHINE, { { 0 } },
	  { KWORD("platform", wplat), KWORD("tce", wtce), KEXPR("ram"),
	    { "advertise-mmap", KK_FLAG, false, NULL } }, 0 },
	{ "device", SCN_OP_DEVICE,
	  { NAME("a device name", "the device name"),
	    RAW("a model name (chelsio-t5-vf, dma-test, profile)", "the model name") },
	  { { "host", KK_RAW, false, NULL }, { "group", KK_RAW, false, NULL },
	    { "driver", KK_RAW, false, NULL } }, F_FREEKV },
	{ "attach", SCN_OP_ATTACH, { DEV }, { { 0 } }, F_FREEKV | F_FAIL },
	{ "detach", SCN_OP_DETACH, { DEV }, { { 0 } }, F_FAIL },
	{ "boot", SCN_OP_BOOT, { { 0 } }, { { 0 } }, 0 },
	{ "cfg.read", SCN_OP_CFG_READ, { DEV, EXPR("an offset", "the offset"), CSIZE },
	  { { 0 } }, F_VAL | F_FAIL },
	{ "cfg.write", SCN_OP_CFG_WRITE,
	  { DEV, EXPR("an offset", "the offset"), CSIZE, EXPR("a value", "the value") },
	  { { 0 } }, F_FAIL },
	{ "mem.read", SCN_OP_MEM_READ, { EXPR("an address", "the address"), MSIZE },
	  { { 0 } }, F_VAL | F_FAIL },
	{ "mem.write", SCN_OP_MEM_WRITE,
	  { EXPR("an address", "the address"), MSIZE, EXPR("a value", "the value") },
	  { { 0 } }, F_FAIL },
	{ "bar.read", SCN_OP_BAR_READ,
	  { DEV, EXPR("a BAR number", "the BAR number"), EXPR("an offset", "the offset"), MSIZE },
	  { { 0 } }, F_VAL | F_FAIL },
	{ "bar.write", SCN_OP_BAR_WRITE,
	  { DEV, EXPR("a BAR number", "the BAR number"), EXPR("an offset", "the offset"), MSIZE,
	    EXPR("a value", "the value") }, { { 0 } }, F_FAIL },
	{ "io.read", SCN_OP_IO_READ, { EXPR("a port", "the port"), MSIZE },
	  { { 0 } }, F_VAL | F_FAIL },
	{ "io.write", SCN_OP_IO_WRITE,
	  { EXPR("a port", "the port"), MSIZE, EXPR("a value", "the value") },
	  { { 0 } }, F_FAIL },
	{ "pci.assign", SCN_OP_PCI_ASSIGN, { DEV }, { { 0 } }, F_FAIL },
	{ "ram.write", SCN_OP_RAM_WRITE, { EXPR("an address", "the address"), BYTES },
	  { { 0 } }, F_FAIL },
	{ "ram.fill", SCN_OP_RAM_FILL,
	  { EXPR("an address", "the address"), EXPR("a length", "the length"),
	    EXPR("a byte value", "the byte value") }, { { 0 } }, F_FAIL },
	{ "msi.enable", SCN_OP_MSI_ENABLE, { DEV },
	  { KREQ("addr"), KREQ("data"), KEXPR("vectors") }, F_FAIL },
	{ "msi.disable", SCN_OP_MSI_DISABLE, { DEV }, { { 0 } }, F_FAIL },
	{ "msi.mask", SCN_OP_MSI_MASK, { DEV, EXPR("a vector", "the vector") },
	  { { 0 } }, F_FAIL },
	{ "msi.unmask", SCN_OP_MSI_UNMASK, { DEV, EXPR("a vector", "the vector") },
	  { { 0 } }, F_FAIL },
	{ "msix.program", SCN_OP_MSIX_PROGRAM, { DEV, EXPR("a vector", "the vector") },
	  { KREQ("addr"), KREQ("data"), KWORD("masked", w01) }, F_FAIL },
	{ "msix.enable", SCN_OP_MSIX_ENABLE, { DEV }, { KWORD("fmask", w01) }, F_FAIL },
	{ "msix.disable", SCN_OP_MSIX_DISABLE, { DEV }, { { 0 } }, F_FAIL },
	{ "msix.mask", SCN_OP_MSIX_MASK, { DEV, EXPR("a vector", "the vector") },
	  { { 0 } }, F_FAIL },
	{ "msix.unmask", SCN_OP_MSIX_UNMASK, { DEV, EXPR("a vector", "the vector") },
	  { { 0 } }, F_FAIL },
	{ "msix.fmask", SCN_OP_MSIX_FMASK, { DEV, WORD(w01, "0 or 1", "the mask") },
	  { { 0 } }, F_FAIL },
	{ "msix.pending", SCN_OP_MSIX_PENDING, { DEV, EXPR("a vector", "the vector") },
	  { { 0 } }, F_VAL | F_FAIL },
	{ "intx.route", SCN_OP_INTX_ROUTE,
	  { EXPR("an INTx line 0-3", "the line"), EXPR("an IRQ (-1: disabled)", "the IRQ") },
	  { { 0 } }, 0 },
	{ "step", SCN_OP_STEP, { OPTEXPR("milliseconds", "the milliseconds") },
	  { { 0 } }, 0 },
	{ "reset", SCN_OP_RESET, { DEV }, { { 0 } }, F_FAIL },
	{ "reset.flr", SCN_OP_RESET_FLR, { DEV }, { { 0 } }, F_FAIL },
	{ "reset.pm", SCN_OP_RESET_PM, { DEV }, { { 0 } }, F_FAIL },
	{ "reset.hot", SCN_OP_RESET_HOT, { DEV }, { { 0 } }, F_FAIL },
	{ "reset.system", SCN_OP_RESET_SYSTEM, { { 0 } }, { { 0 } }, F_FAIL },
	{ "device.irq", SCN_OP_DEVICE_IRQ,
	  { DEV, WORD(scn_irq_kinds, "an interrupt kind msi, msix, intx, err or req",
		      "the interrupt kind"),
	    OPTEXPR("a vector", "the vector") }, { { 0 } }, F_WORD | F_FAIL },
	{ "device.intx", SCN_OP_DEVICE_INTX, { DEV, WORD(w01, "a level 0 or 1", "the level") },
	  { { 0 } }, F_FAIL },
	{ "device.dma-read", SCN_OP_DEVICE_DMA_READ,
	  { DEV, EXPR("an IOVA", "the IOVA"), EXPR("a length", "the length") },
	  { { 0 } }, F_BYTES | F_FAIL },
	{ "device.dma-write", SCN_OP_DEVICE_DMA_WRITE,
	  { DEV, EXPR("an IOVA", "the IOVA"), BYTES }, { { 0 } }, F_FAIL },
	{ "device.aer", SCN_OP_DEVICE_AER,
	  { DEV, WORD(wsev, "uncorrectable or correctable", "the severity"),
	    RAW("an error bit (UNSUP, MALF_TLP, ...) or a mask", "the error bit") },
	  { { 0 } }, F_FAIL },
	{ "device.req", SCN_OP_DEVICE_REQ, { DEV }, { { 0 } }, F_FAIL },
	{ "device.reset", SCN_OP_DEVICE_RESET,
	  { DEV, OPTWORD(whow, "flr, hot, pm or power-on", "the reset kind") },
	  { { 0 } }, F_FAIL },
	{ "fault", SCN_OP_FAULT,
	  { RAW("an operation (VFIO_IOMMU_MAP_DMA, region-read, ...)", "the operation") },
	  { { 0 } }, F_FREEKV | F_FAIL },
	{ "control", SCN_OP_CONTROL,
	  { STRING("a request line in quotes", "the request") }, { { 0 } },
	  F_TEXT | F_FAIL },
	{ "expect", SCN_OP_EXPECT, { EXPR("an expression", "the expression") },
	  { { 0 } }, F_VAL | F_REQCHECK },
	{ "expect.msi", SCN_OP_EXPECT_MSI, { { 0 } },
	  { KEXPR("addr"), KEXPR("data"), KEXPR("times"), KEXPR("timeout") }, 0 },
	{ "expect.none", SCN_OP_EXPECT_NONE, { { 0 } }, { KEXPR("ms") }, 0 },
	{ "expect.intx", SCN_OP_EXPECT_INTX, { DEV }, { { "level", KK_WORD, true, w01 } }, 0 },
	{ "expect.ram", SCN_OP_EXPECT_RAM, { EXPR("an address", "the address"), BYTES },
	  { { 0 } }, 0 },
	{ "expect.dma-map", SCN_OP_EXPECT_DMA_MAP, { { 0 } },
	  { KREQ("iova"), KREQ("size"), { "absent", KK_FLAG, false, NULL } }, 0 },
	{ "expect.iommu-fault", SCN_OP_EXPECT_IOMMU_FAULT, { OPTDEV },
	  { KEXPR("iova"), KWORD("dir", wdir), KEXPR("times") }, 0 },
	{ "expect.event", SCN_OP_EXPECT_EVENT,
	  { RAW("an event kind (reset, irq, aer, req, dma, ...)", "the event kind") },
	  { KEXPR("times") }, F_FREEKV },
	{ "expect.trace", SCN_OP_EXPECT_TRACE,
	  { RAW("an ioctl or operation name", "the name") }, { KEXPR("times") }, F_FREEKV },
	{ "expect.warn", SCN_OP_EXPECT_WARN, { STRING("a text in quotes", "the text") },
	  { { 0 } }, 0 },
	{ "expect.nowarn", SCN_OP_EXPECT_NOWARN, { { 0 } }, { { 0 } }, 0 },
	{ "set", SCN_OP_SET, { NAME("a variable name", "the variable name"),
			       EXPR("an expression", "the expression") }, { { 0 } }, 0 },
	{ "repeat", SCN_OP_REPEAT, { EXPR("a count", "the count"),
				     { AK_NAME, true, "a variable name", "the variable name", NULL } },
	  { { 0 } }, 0 },
	{ "end", SCN_OP_END, { { 0 } }, { { 0 } }, 0 },
	{ "vfio.open-container", SCN_OP_VFIO_OPEN_CONTAINER,
	  { NAME("a handle name", "the handle") }, { { 0 } }, F_FAIL },
	{ "vfio.open-group", SCN_OP_VFIO_OPEN_GROUP,
	  { NAME("a handle name", "the handle"), EXPR("a group number", "the group number") },
	  { { 0 } }, F_FAIL },
	{ "vfio.open-device", SCN_OP_VFIO_OPEN_DEVICE,
	  { NAME("a handle name", "the handle"), NAME("a group handle", "the group handle"), DEV },
	  { { 0 } }, F_FAIL },
	{ "vfio.ioctl", SCN_OP_VFIO_IOCTL,
	  { NAME("a handle name", "the handle"), RAW("an ioctl name", "the ioctl name") },
	  { { 0 } }, F_VAL | F_FREEKV | F_FAIL },
	{ "vfio.read", SCN_OP_VFIO_READ,
	  { NAME("a handle name", "the handle"),
	    { AK_REGION, false, "a region (CONFIG, BAR0-BAR5, ROM, VGA or an index)",
	      "the region", NULL },
	    EXPR("an offset", "the offset"),
	    { AK_VLEN, false, "a length 1 to 65536", "the length", NULL } },
	  { { 0 } }, F_VAL | F_BYTES | F_CRC | F_FAIL },
	{ "vfio.write", SCN_OP_VFIO_WRITE,
	  { NAME("a handle name", "the handle"),
	    { AK_REGION, false, "a region (CONFIG, BAR0-BAR5, ROM, VGA or an index)",
	      "the region", NULL },
	    EXPR("an offset", "the offset"),
	    { AK_VLEN, false, "a length 1 to 65536", "the length", NULL },
	    { AK_VALBYTES, false, "a value or a byte string", "the value", NULL } },
	  { { 0 } }, F_FAIL },
	{ "vfio.close", SCN_OP_VFIO_CLOSE, { NAME("a handle name", "the handle") },
	  { { 0 } }, F_FAIL },
	{ "tce.put", SCN_OP_TCE_PUT,
	  { EXPR("a LIOBN", "the LIOBN"), EXPR("an IOBA", "the IOBA"), EXPR("a TCE", "the TCE") },
	  { { 0 } }, F_VAL | F_FAIL },
	{ "tce.get", SCN_OP_TCE_GET,
	  { EXPR("a LIOBN", "the LIOBN"), EXPR("an IOBA", "the IOBA") },
	  { { 0 } }, F_VAL | F_FAIL },
	{ "tce.stuff", SCN_OP_TCE_STUFF,
	  { EXPR("a LIOBN", "the LIOBN"), EXPR("an IOBA", "the IOBA"), EXPR("a TCE", "the TCE"),
	    EXPR("a count", "the count") }, { { 0 } }, F_VAL | F_FAIL },
	{ "tce.indirect", SCN_OP_TCE_INDIRECT,
	  { EXPR("a LIOBN", "the LIOBN"), EXPR("an IOBA", "the IOBA"),
	    EXPR("a list address", "the list address"), EXPR("a count", "the count") },
	  { { 0 } }, F_VAL | F_FAIL },
	{ "phb.bypass", SCN_OP_PHB_BYPASS, { WORD(w01, "0 or 1", "the mode") },
	  { { 0 } }, F_FAIL },
	{ "phb.ddw.create", SCN_OP_PHB_DDW_CREATE,
	  { EXPR("a page shift", "the page shift"), EXPR("a window shift", "the window shift") },
	  { { 0 } }, F_STORE | F_FAIL },
	{ "phb.ddw.remove", SCN_OP_PHB_DDW_REMOVE, { EXPR("a LIOBN", "the LIOBN") },
	  { { 0 } }, F_FAIL },
	{ "eeh", SCN_OP_EEH,
	  { DEV, WORD(weeh, "a PE operation (enable, disable, get-state, unfreeze-mmio, "
		      "unfreeze-dma, reset-hot, reset-fundamental, reset-deactivate, "
		      "configure, inject)", "the operation"),
	    OPTEXPR("an argument", "the argument"), OPTEXPR("an argument", "the argument") },
	  { { 0 } }, F_VAL | F_FAIL },
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

const char *scn_op_name(ScnOp op)
{
	unsigned i;

	for (i = 0; i < NSPECS; i++)
		if (specs[i].op == op)
			return specs[i].verb;
	return "?";
}

/* ---- the Scn object ---- */

void scn_perr(Scn *scn, Error **errp, unsigned col, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error_setg(errp, "%s:%u:%u: error: %s", scn->path, scn->cur_line, col, msg);
}

int scn_find_device(const Scn *scn, const char *name, size_t len)
{
	unsigned i;

	for (i = 0; i < scn->ndevs; i++)
		if (strlen(scn->devs[i].name) == len && !memcmp(scn->devs[i].name, name, len))
			return (int)i;
	return -1;
}

int scn_var_index(Scn *scn, const char *name, size_t len)
{
	unsigned i;

	for (i = 0; i < scn->nvars; i++)
		if (strlen(scn->vars[i]) == len && !memcmp(scn->vars[i], name, len))
			return (int)i;
	if (scn->nvars == SCN_MAX_VARS)
		return -1;
	scn->vars[scn->nvars] = strndup(name, len);
	if (!scn->vars[scn->nvars])
		abort();
	return (int)scn->nvars++;
}

const char *scn_path(const Scn *scn) { return scn->path; }
const ScnMachine *scn_machine(const Scn *scn) { return &scn->machine; }
unsigned scn_device_count(const Scn *scn) { return scn->ndevs; }
unsigned scn_stmt_count(const Scn *scn) { return scn->nstmts; }
unsigned scn_var_count(const Scn *scn) { return scn->nvars; }

const ScnDevice *scn_device(const Scn *scn, unsigned i)
{
	return i < scn->ndevs ? &scn->devs[i] : NULL;
}

const ScnDevice *scn_device_by_name(const Scn *scn, const char *name)
{
	int i = scn_find_device(scn, name, strlen(name));

	return i < 0 ? NULL : &scn->devs[i];
}

const ScnStmt *scn_stmt(const Scn *scn, unsigned i)
{
	return i < scn->nstmts ? &scn->stmts[i] : NULL;
}

const char *scn_var_name(const Scn *scn, unsigned i)
{
	return i < scn->nvars ? scn->vars[i] : "?";
}

const ScnKv *scn_stmt_kv(const ScnStmt *st, const char *key)
{
	unsigned i;

	for (i = 0; i < st->nkv; i++)
		if (!strcmp(st->kv[i].key, key))
			return &st->kv[i];
	return NULL;
}

static void stmt_free(ScnStmt *st)
{
	unsigned i;

	free(st->text);
	for (i = 0; i < SCN_MAX_ARGS; i++) {
		scn_expr_free(st->args[i].e);
		free(st->args[i].str);
		free(st->args[i].bytes);
	}
	for (i = 0; i < st->nkv; i++) {
		free(st->kv[i].key);
		free(st->kv[i].val);
		scn_expr_free(st->kv[i].e);
		free(st->kv[i].bytes);
	}
	free(st->kv);
	scn_expr_free(st->check.val);
	scn_expr_free(st->check.mask);
	free(st->check.bytes);
	free(st->check.text);
	free(st->fail_text);
}

void scn_free(Scn *scn)
{
	unsigned i, j;

	if (!scn)
		return;
	for (i = 0; i < scn->nstmts; i++)
		stmt_free(&scn->stmts[i]);
	free(scn->stmts);
	for (i = 0; i < scn->ndevs; i++) {
		for (j = 0; j < scn->devs[i].nparams; j++)
			free(scn->devs[i].params[j]);
		free(scn->devs[i].params);
	}
	free(scn->devs);
	for (i = 0; i < scn->nvars; i++)
		free(scn->vars[i]);
	free(scn->path);
	free(scn->dir);
	free(scn);
}

/* ---- words ---- */

typedef struct Word {
	const char *raw;	/* in the line */
	size_t rawlen;
	char *text;		/* quotes removed, escapes decoded */
	size_t len;
	unsigned col;
	bool quoted;		/* the whole word is one string */
} Word;

typedef struct Line {
	Scn *scn;
	Error **errp;
	Word w[SCN_MAX_WORDS];
	unsigned n;
	unsigned endcol;	/* the column after the last word */
	const char *start;	/* of the line */
} Line;

static void line_clear(Line *l)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		free(l->w[i].text);
	l->n = 0;
}

/* Split text[0..len) (one line, no '\n') into words. */
static bool split_line(Line *l, const char *text, size_t len)
{
	Scn *scn = l->scn;
	size_t i = 0;

	l->n = 0;
	l->start = text;
	if (len && text[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			scn_perr(scn, l->errp, (unsigned)i + 1,
				 "unexpected control character 0x%02x (a scenario is text)", c);
			return false;
		}
	}
	i = 0;
	while (i < len) {
		Word *w;
		char *buf;
		size_t bl = 0, start;
		bool in_str = false, quoted_start;
		size_t str_open = 0;

		while (i < len && (text[i] == ' ' || text[i] == '\t'))
			i++;
		if (i == len || text[i] == '#')
			break;
		if (l->n == SCN_MAX_WORDS) {
			scn_perr(scn, l->errp, (unsigned)i + 1,
				 "more than %d words on a line", SCN_MAX_WORDS);
			return false;
		}
		start = i;
		quoted_start = text[i] == '"';
		buf = malloc(len - i + 1);
		if (!buf)
			abort();
		while (i < len) {
			unsigned char c = (unsigned char)text[i];

			if (!in_str && (c == ' ' || c == '\t'))
				break;
			if (c == '"') {
				in_str = !in_str;
				if (in_str)
					str_open = i;
				i++;
				continue;
			}
			if (in_str && c == '\\') {
				char e = i + 1 < len ? text[i + 1] : 0;

				switch (e) {
				case '"': buf[bl++] = '"'; break;
				case '\\': buf[bl++] = '\\'; break;
				case 'n': buf[bl++] = '\n'; break;
				case 't': buf[bl++] = '\t'; break;
				default:
					scn_perr(scn, l->errp, (unsigned)i + 1,
						 "unknown escape '\\%c' in a string (expected \\\", "
						 "\\\\, \\n or \\t)", e ? e : ' ');
					free(buf);
					return false;
				}
				i += 2;
				continue;
			}
			if (!in_str && c >= 0x80) {
				scn_perr(scn, l->errp, (unsigned)i + 1,
					 "non-ASCII byte 0x%02x outside a string or comment", c);
				free(buf);
				return false;
			}
			buf[bl++] = (char)c;
			i++;
		}
		if (in_str) {
			scn_perr(scn, l->errp, (unsigned)str_open + 1,
				 "unterminated string (no closing '\"')");
			free(buf);
			return false;
		}
		buf[bl] = 0;
		w = &l->w[l->n++];
		w->raw = text + start;
		w->rawlen = i - start;
		w->text = buf;
		w->len = bl;
		w->col = (unsigned)start + 1;
		w->quoted = quoted_start && w->rawlen >= 2 && text[i - 1] == '"' &&
			    memchr(text + start + 1, '"', w->rawlen - 1) == text + i - 1;
		/* A word like "a"b or "a\"" b: quoted only when it is exactly one
		 * string; escaped quotes inside are fine. */
		if (quoted_start && !w->quoted && text[i - 1] == '"') {
			/* Check for escaped quotes: re-scan. */
			size_t k = start + 1;
			bool ok = true;

			while (k < i - 1) {
				if (text[k] == '\\') {
					k += 2;
					continue;
				}
				if (text[k] == '"') {
					ok = false;
					break;
				}
				k++;
			}
			w->quoted = ok;
		}
	}
	l->endcol = l->n ? l->w[l->n - 1].col + (unsigned)l->w[l->n - 1].rawlen : 1;
	return true;
}

static bool is_marker(const Word *w)
{
	if (w->quoted)
		return false;
	return !strcmp(w->text, "==") || !strcmp(w->text, "!=") ||
	       !strcmp(w->text, "->") || !strcmp(w->text, "=>");
}

static bool is_kv(const Word *w)
{
	const char *eq;

	if (w->quoted || is_marker(w))
		return false;
	eq = strchr(w->text, '=');
	return eq && eq != w->text;
}

static bool is_bytes_word(const Word *w)
{
	return !w->quoted && (strchr(w->text, ':') != NULL);
}

/* Text without blanks or control characters (after escapes were decoded):
 * what can go into a control-socket request as one word. */
static bool one_word(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static bool valid_name(const char *s, size_t n)
{
	size_t i;

	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

static bool check_name(Line *l, const Word *w, const char *what)
{
	if (w->quoted || !valid_name(w->text, w->len)) {
		scn_perr(l->scn, l->errp, w->col,
			 "bad %s '%s' (expected a name: a letter or '_', then letters, "
			 "digits or '_')", what, w->text);
		return false;
	}
	if (w->len > SCN_NAME_MAX - 1) {
		scn_perr(l->scn, l->errp, w->col, "%s '%s' is longer than %d characters",
			 what, w->text, SCN_NAME_MAX - 1);
		return false;
	}
	return true;
}

/* A byte string: "de:ad:be:ef" (two bytes or more) or "hex:deadbeef". */
static bool parse_bytes(Line *l, const char *s, size_t n, unsigned col,
			uint8_t **out, size_t *nout)
{
	uint8_t *b = malloc(n / 2 + 1);
	size_t nb = 0, i;

	if (!b)
		abort();
	if (n >= 4 && !memcmp(s, "hex:", 4)) {
		if ((n - 4) % 2) {
			scn_perr(l->scn, l->errp, col,
				 "bad byte string '%.*s': an odd number of hex digits",
				 (int)n, s);
			goto fail;
		}
		for (i = 4; i < n; i += 2) {
			int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);

			if (hi < 0 || lo < 0) {
				scn_perr(l->scn, l->errp, col + (unsigned)(hi < 0 ? i : i + 1),
					 "bad byte string '%.*s': '%c' is not a hex digit",
					 (int)n, s, hi < 0 ? s[i] : s[i + 1]);
				goto fail;
			}
			b[nb++] = (uint8_t)(hi << 4 | lo);
		}
	} else {
		i = 0;
		for (;;) {
			int hi = i < n ? hex_digit(s[i]) : -1;
			int lo = i + 1 < n ? hex_digit(s[i + 1]) : -1;

			if (hi < 0 || lo < 0 || (i + 2 < n && s[i + 2] != ':')) {
				scn_perr(l->scn, l->errp, col + (unsigned)(i < n ? i : n),
					 "bad byte string '%.*s' (expected two hex digits per "
					 "byte separated by ':', de:ad:be:ef, or hex:deadbeef)",
					 (int)n, s);
				goto fail;
			}
			b[nb++] = (uint8_t)(hi << 4 | lo);
			i += 2;
			if (i >= n)
				break;
			i++;	/* ':' */
		}
		if (nb < 2) {
			scn_perr(l->scn, l->errp, col,
				 "bad byte string '%.*s': two bytes or more (or hex:%.*s)",
				 (int)n, s, (int)n, s);
			goto fail;
		}
	}
	*out = b;
	*nout = nb;
	return true;
fail:
	free(b);
	return false;
}

static ScnExpr *word_expr(Line *l, const Word *w, const char *expect)
{
	if (w->quoted) {
		scn_perr(l->scn, l->errp, w->col, "expected %s, got the string %.*s",
			 expect, (int)w->rawlen, w->raw);
		return NULL;
	}
	return scn_expr_parse(l->scn, w->text, w->len, l->scn->cur_line, w->col, l->errp);
}

static int word_index(const char *const *words, const char *s)
{
	int i;

	for (i = 0; words[i]; i++)
		if (!strcmp(words[i], s))
			return i;
	return -1;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

static int find_device_word(Line *l, const Word *w)
{
	int d;

	if (!check_name(l, w, "device name"))
		return -1;
	d = scn_find_device(l->scn, w->text, w->len);
	if (d < 0)
		scn_perr(l->scn, l->errp, w->col,
			 "unknown device '%s' (devices are named by 'device' statements "
			 "before their use)", w->text);
	return d;
}

/* Parse a size word (LEN) against its allowed set. */
static bool parse_size(Line *l, const Word *w, const ArgSpec *a, const char *after,
		       uint64_t *out)
{
	uint64_t v = 0;
	bool ovf = false, ok;

	ok = !w->quoted && scn_parse_number(w->text, w->len, &v, &ovf) && !ovf;
	if (ok) {
		switch (a->kind) {
		case AK_CSIZE: ok = v == 1 || v == 2 || v == 4; break;
		case AK_MSIZE: ok = v == 1 || v == 2 || v == 4 || v == 8; break;
		default: ok = v >= 1 && v <= 65536; break;
		}
	}
	if (!ok) {
		scn_perr(l->scn, l->errp, w->col, "expected %s after %s, got '%.*s'",
			 a->expect, after, (int)w->rawlen, w->raw);
		return false;
	}
	*out = v;
	return true;
}

static int region_index(const char *s)
{
	static const char *const names[] = {
		"BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "CONFIG", "VGA", NULL
	};
	uint64_t v;
	bool ovf;
	int i = word_index(names, s);

	if (i >= 0)
		return i;
	if (scn_parse_number(s, strlen(s), &v, &ovf) && !ovf && v < 64)
		return (int)v;
	return -1;
}

static ScnStmt *new_stmt(Scn *scn)
{
	ScnStmt *st;
	unsigned i;

	if (scn->nstmts == scn->capstmts) {
		unsigned cap = scn->capstmts ? scn->capstmts * 2 : 64;
		ScnStmt *n = realloc(scn->stmts, cap * sizeof(*n));

		if (!n)
			abort();
		scn->stmts = n;
		scn->capstmts = cap;
	}
	st = &scn->stmts[scn->nstmts];
	memset(st, 0, sizeof(*st));
	st->var = -1;
	for (i = 0; i < SCN_MAX_ARGS; i++)
		st->args[i].dev = -1;
	return st;
}

static ScnKv *add_kv(ScnStmt *st, const Word *w)
{
	const char *eq = strchr(w->text, '=');
	ScnKv *kv;
	ScnKv *n = realloc(st->kv, (st->nkv + 1) * sizeof(*n));

	if (!n)
		abort();
	st->kv = n;
	kv = &st->kv[st->nkv++];
	memset(kv, 0, sizeof(*kv));
	kv->key = strndup(w->text, (size_t)(eq ? eq - w->text : (ptrdiff_t)w->len));
	kv->val = xstrdup(eq ? eq + 1 : "");
	if (!kv->key)
		abort();
	kv->dev = -1;
	kv->spec = -1;
	kv->col = w->col;
	return kv;
}

/* The column of a KEY=VALUE word's value. */
static unsigned val_col(const Word *w)
{
	const char *eq = memchr(w->raw, '=', w->rawlen);

	return w->col + (unsigned)(eq ? eq - w->raw + 1 : 0);
}

static const char *spec_noun(const StmtSpec *sp, unsigned i, char *buf, size_t n)
{
	if (i == 0) {
		snprintf(buf, n, "'%s'", sp->verb);
		return buf;
	}
	return sp->args[i - 1].noun;
}

static void list_keys(const StmtSpec *sp, char *buf, size_t n)
{
	size_t l = 0;
	unsigned i;

	buf[0] = 0;
	for (i = 0; i < 6 && sp->keys[i].key; i++)
		l += (size_t)snprintf(buf + l, n - l, "%s%s%s", i ? ", " : "",
				      sp->keys[i].key, sp->keys[i].kind == KK_FLAG ? "" : "=");
}

/* ---- statements with their own rules ---- */

static bool finish_machine(Line *l, ScnStmt *st)
{
	Scn *scn = l->scn;
	unsigned i;

	if (scn->machine_line) {
		scn_perr(scn, l->errp, st->col, "'machine' given twice (first on line %u)",
			 scn->machine_line);
		return false;
	}
	scn->machine_line = st->line;
	for (i = 0; i < st->nkv; i++) {
		ScnKv *kv = &st->kv[i];

		if (!strcmp(kv->key, "platform")) {
			snprintf(scn->machine.platform, sizeof(scn->machine.platform), "%s", kv->val);
		} else if (!strcmp(kv->key, "tce")) {
			snprintf(scn->machine.tce, sizeof(scn->machine.tce), "%s", kv->val);
		} else if (!strcmp(kv->key, "ram")) {
			if (kv->e->kind != SCN_E_NUM) {
				scn_perr(scn, l->errp, kv->col + 4,
					 "ram= must be a constant (a number or a symbol)");
				return false;
			}
			if (!kv->e->num || kv->e->num % 4096 || kv->e->num > (64ull << 30)) {
				scn_perr(scn, l->errp, kv->col + 4,
					 "bad ram= size 0x%llx (a multiple of 4K, up to 64G)",
					 (unsigned long long)kv->e->num);
				return false;
			}
			scn->machine.ram_size = kv->e->num;
		} else if (!strcmp(kv->key, "advertise-mmap")) {
			scn->machine.advertise_mmap = true;
		}
	}
	if (scn_stmt_kv(st, "tce") && strcmp(scn->machine.platform, "pseries")) {
		scn_perr(scn, l->errp, scn_stmt_kv(st, "tce")->col,
			 "tce= applies to platform=pseries only");
		return false;
	}
	return true;
}

static bool finish_device(Line *l, ScnStmt *st)
{
	Scn *scn = l->scn;
	const ScnArg *name = &st->args[0], *model = &st->args[1];
	ScnDevice *d, *n;
	unsigned i;
	int prev = scn_find_device(scn, name->str, strlen(name->str));

	if (prev >= 0) {
		scn_perr(scn, l->errp, name->col, "device '%s' given twice (first on line %u)",
			 name->str, scn->devs[prev].line);
		return false;
	}
	if (scn->ndevs == SCN_MAX_DEVICES) {
		scn_perr(scn, l->errp, name->col, "more than %d devices", SCN_MAX_DEVICES);
		return false;
	}
	n = realloc(scn->devs, (scn->ndevs + 1) * sizeof(*n));
	if (!n)
		abort();
	scn->devs = n;
	d = &scn->devs[scn->ndevs];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name->str);
	if (strlen(model->str) >= sizeof(d->model)) {
		scn_perr(scn, l->errp, model->col, "model name '%s' is too long", model->str);
		return false;
	}
	snprintf(d->model, sizeof(d->model), "%s", model->str);
	d->group = -1;
	d->line = st->line;
	for (i = 0; i < st->nkv; i++) {
		ScnKv *kv = &st->kv[i];
		unsigned vc = kv->col + (unsigned)strlen(kv->key) + 1;
		unsigned j;

		if (!strcmp(kv->key, "host")) {
			Error *err = NULL;

			if (!bdf_parse(kv->val, d->host, NULL, NULL, NULL, NULL, &err)) {
				scn_perr(scn, l->errp, vc, "bad host= BDF: %s", error_get_pretty(err));
				error_free(err);
				goto fail;
			}
			continue;
		}
		if (!strcmp(kv->key, "group")) {
			char *end;
			long v;

			errno = 0;
			v = strtol(kv->val, &end, 10);
			if (!isdigit((unsigned char)kv->val[0]) || *end || errno || v > INT_MAX) {
				scn_perr(scn, l->errp, vc,
					 "bad group '%s' (expected a decimal number 0-2147483647)",
					 kv->val);
				goto fail;
			}
			d->group = v;
			continue;
		}
		if (!strcmp(kv->key, "driver")) {
			if (!kv->val[0] || strlen(kv->val) >= sizeof(d->driver)) {
				scn_perr(scn, l->errp, vc, "bad driver '%s' (1-63 characters)", kv->val);
				goto fail;
			}
			snprintf(d->driver, sizeof(d->driver), "%s", kv->val);
			continue;
		}
		if (strchr(kv->val, ',')) {
			scn_perr(scn, l->errp, vc,
				 "',' is not allowed in a model parameter (%s=%s)", kv->key, kv->val);
			goto fail;
		}
		for (j = 0; j < i; j++) {
			if (!strcmp(st->kv[j].key, kv->key)) {
				scn_perr(scn, l->errp, kv->col, "parameter '%s' given twice", kv->key);
				goto fail;
			}
		}
		{
			char **p = realloc(d->params, (d->nparams + 1) * sizeof(*p));
			size_t len = strlen(kv->key) + strlen(kv->val) + 2;

			if (!p)
				abort();
			d->params = p;
			p[d->nparams] = malloc(len);
			if (!p[d->nparams])
				abort();
			snprintf(p[d->nparams], len, "%s=%s", kv->key, kv->val);
			d->nparams++;
		}
	}
	scn->ndevs++;
	return true;
fail:
	for (i = 0; i < d->nparams; i++)
		free(d->params[i]);
	free(d->params);
	return false;
}

static bool finish_fault(Line *l, ScnStmt *st)
{
	unsigned i;
	bool have_errno = false;

	for (i = 0; i < st->nkv; i++) {
		ScnKv *kv = &st->kv[i];

		if (!one_word(kv->key) || !one_word(kv->val)) {
			scn_perr(l->scn, l->errp, kv->col, "bad rule word '%s=%s' (blanks or "
				 "control characters inside)", kv->key, kv->val);
			return false;
		}
		if (!strcmp(kv->key, "errno"))
			have_errno = true;
		if (!strcmp(kv->key, "device")) {
			Word w = { .raw = kv->val, .rawlen = strlen(kv->val), .text = kv->val,
				   .len = strlen(kv->val), .col = kv->col + 7 };

			kv->dev = find_device_word(l, &w);
			if (kv->dev < 0)
				return false;
		}
	}
	if (!have_errno) {
		scn_perr(l->scn, l->errp, l->endcol,
			 "missing errno=E (the errno the matching operations fail with)");
		return false;
	}
	return true;
}

/* expect.event / expect.trace: device=DEV and obj=device:DEV name devices. */
static bool finish_filters(Line *l, ScnStmt *st)
{
	unsigned i;

	for (i = 0; i < st->nkv; i++) {
		ScnKv *kv = &st->kv[i];
		const char *v = NULL;
		unsigned col = 0;

		if (kv->spec >= 0)
			continue;
		if (!one_word(kv->key) || !one_word(kv->val)) {
			scn_perr(l->scn, l->errp, kv->col, "bad filter '%s=%s' (a field value "
				 "has no blanks or control characters)", kv->key, kv->val);
			return false;
		}
		if (!strcmp(kv->key, "device")) {
			v = kv->val;
			col = kv->col + 7;
		} else if (!strcmp(kv->key, "obj") && !strncmp(kv->val, "device:", 7)) {
			v = kv->val + 7;
			col = kv->col + 11;
		}
		if (v && valid_name(v, strlen(v))) {
			kv->dev = scn_find_device(l->scn, v, strlen(v));
			if (kv->dev < 0) {
				scn_perr(l->scn, l->errp, col,
					 "unknown device '%s' (devices are named by 'device' "
					 "statements before their use)", v);
				return false;
			}
		}
	}
	return true;
}

static bool parse_ioctl_kv(Line *l, ScnStmt *st, ScnKv *kv, const Word *w)
{
	const char *name = st->args[1].str;
	HxVfioArgKind k = hx_vfio_arg_kind(name, kv->key);
	unsigned vc = val_col(w);

	switch (k) {
	case HX_ARG_NONE: {
		const char *keys = hx_vfio_keys(name);

		scn_perr(l->scn, l->errp, w->col, "unknown key '%s' for %s (expected: %s)",
			 kv->key, name, keys && *keys ? keys : "no keys");
		return false;
	}
	case HX_ARG_NUM:
		kv->e = scn_expr_parse(l->scn, kv->val, strlen(kv->val), st->line, vc, l->errp);
		return kv->e != NULL;
	case HX_ARG_RAM:
		if (strncmp(kv->val, "ram:", 4)) {
			scn_perr(l->scn, l->errp, vc,
				 "expected ram:OFFSET (an offset into the guest RAM), got '%s'",
				 kv->val);
			return false;
		}
		kv->e = scn_expr_parse(l->scn, kv->val + 4, strlen(kv->val) - 4, st->line,
				       vc + 4, l->errp);
		return kv->e != NULL;
	case HX_ARG_HANDLE:
		return check_name(l, &(Word){ .raw = kv->val, .rawlen = strlen(kv->val),
					      .text = kv->val, .len = strlen(kv->val),
					      .col = vc }, "handle name");
	case HX_ARG_HANDLES:
		return true;
	case HX_ARG_EVENTFDS: {
		const char *star = strchr(kv->val, '*');
		uint64_t n;
		bool ovf;

		if (!star || !((star - kv->val == 7 && !strncmp(kv->val, "eventfd", 7)) ||
			       (star - kv->val == 2 && !strncmp(kv->val, "-1", 2))) ||
		    !scn_parse_number(star + 1, strlen(star + 1), &n, &ovf) || ovf ||
		    n > HX_VFIO_FDS_MAX) {
			scn_perr(l->scn, l->errp, vc,
				 "expected eventfd*N or -1*N (N up to %d), got '%s'",
				 HX_VFIO_FDS_MAX, kv->val);
			return false;
		}
		kv->num = n;
		return true;
	}
	case HX_ARG_BYTES:
		return parse_bytes(l, kv->val, strlen(kv->val), vc, &kv->bytes, &kv->nbytes);
	}
	return true;
}

/* ---- the generic statement parser ---- */

static bool parse_check(Line *l, const StmtSpec *sp, ScnStmt *st, unsigned *t)
{
	Scn *scn = l->scn;
	const Word *w = &l->w[*t];
	const char *m = w->text;
	bool value = sp->flags & (F_VAL | F_BYTES | F_WORD | F_TEXT);

	if (!w->quoted && !strncmp(m, "crc32=", 6) && (sp->flags & F_CRC)) {
		st->check.kind = SCN_CHECK_CRC;
		st->check.col = w->col;
		st->check.val = scn_expr_parse(scn, m + 6, w->len - 6, st->line, w->col + 6,
					       l->errp);
		(*t)++;
		return st->check.val != NULL;
	}
	if (!strcmp(m, "->")) {
		const Word *v;
		int idx;

		if (!(sp->flags & (F_VAL | F_STORE)) || (sp->flags & F_REQCHECK)) {
			scn_perr(scn, l->errp, w->col, "unexpected '->' (%s %s)", sp->verb,
				 sp->flags & F_REQCHECK ? "compares, it stores nothing"
							: "produces no value to store");
			return false;
		}
		if (*t + 1 >= l->n) {
			scn_perr(scn, l->errp, l->endcol, "expected a variable name after '->'");
			return false;
		}
		v = &l->w[*t + 1];
		if (!check_name(l, v, "variable name"))
			return false;
		idx = scn_var_index(scn, v->text, v->len);
		if (idx < 0) {
			scn_perr(scn, l->errp, v->col, "too many variables (at most %d)",
				 SCN_MAX_VARS);
			return false;
		}
		st->check.kind = SCN_CHECK_STORE;
		st->check.var = (unsigned)idx;
		st->check.col = w->col;
		*t += 2;
		return true;
	}
	if (!value || (sp->flags & F_STORE)) {
		scn_perr(scn, l->errp, w->col, "unexpected '%s' (%s produces no value to check)",
			 m, sp->verb);
		return false;
	}
	if (*t + 1 >= l->n) {
		scn_perr(scn, l->errp, l->endcol, "expected a value after '%s'", m);
		return false;
	}
	st->check.col = w->col;
	w = &l->w[*t + 1];
	if (!strcmp(m, "!=")) {
		if (!(sp->flags & F_VAL)) {
			scn_perr(scn, l->errp, l->w[*t].col, "unexpected '!=' (%s takes '==' only)",
				 sp->verb);
			return false;
		}
		st->check.kind = SCN_CHECK_NE;
		st->check.val = word_expr(l, w, "a value");
		*t += 2;
		return st->check.val != NULL;
	}
	/* == */
	if (sp->flags & F_WORD) {
		int i = w->quoted ? -1 : word_index(scn_irq_results, w->text);

		if (i < 0) {
			scn_perr(scn, l->errp, w->col,
				 "expected delivered, pending, dropped or masked after '==', got '%.*s'",
				 (int)w->rawlen, w->raw);
			return false;
		}
		st->check.kind = SCN_CHECK_WORD;
		st->check.word = (unsigned)i;
		*t += 2;
		return true;
	}
	if (sp->flags & F_TEXT) {
		if (!w->quoted) {
			scn_perr(scn, l->errp, w->col, "expected a text in quotes after '==', got '%s'",
				 w->text);
			return false;
		}
		st->check.kind = SCN_CHECK_TEXT;
		st->check.text = xstrdup(w->text);
		*t += 2;
		return true;
	}
	if ((sp->flags & F_BYTES) && (is_bytes_word(w) || !(sp->flags & F_VAL))) {
		if (w->quoted || !is_bytes_word(w)) {
			scn_perr(scn, l->errp, w->col,
				 "expected a byte string (de:ad:be:ef or hex:deadbeef) after '==', got '%.*s'",
				 (int)w->rawlen, w->raw);
			return false;
		}
		st->check.kind = SCN_CHECK_BYTES;
		*t += 2;
		return parse_bytes(l, w->text, w->len, w->col, &st->check.bytes,
				   &st->check.nbytes);
	}
	st->check.kind = SCN_CHECK_EQ;
	st->check.val = word_expr(l, w, "a value");
	if (!st->check.val)
		return false;
	*t += 2;
	if (*t < l->n && !l->w[*t].quoted && !strncmp(l->w[*t].text, "mask=", 5)) {
		w = &l->w[*t];
		st->check.mask = scn_expr_parse(scn, w->text + 5, w->len - 5, st->line,
						w->col + 5, l->errp);
		if (!st->check.mask)
			return false;
		(*t)++;
	}
	return true;
}

static bool parse_fail(Line *l, const StmtSpec *sp, ScnStmt *st, unsigned *t)
{
	Scn *scn = l->scn;
	const Word *w = &l->w[*t], *k, *v;

	if (!(sp->flags & F_FAIL)) {
		scn_perr(scn, l->errp, w->col, "unexpected '=>' (%s cannot be expected to fail)",
			 sp->verb);
		return false;
	}
	st->fail_col = w->col;
	if (*t + 1 >= l->n) {
		scn_perr(scn, l->errp, l->endcol, "expected error \"TEXT\" or errno NAME after '=>'");
		return false;
	}
	k = &l->w[*t + 1];
	if (k->quoted || (strcmp(k->text, "error") && strcmp(k->text, "errno"))) {
		scn_perr(scn, l->errp, k->col,
			 "expected error \"TEXT\" or errno NAME after '=>', got '%.*s'",
			 (int)k->rawlen, k->raw);
		return false;
	}
	if (*t + 2 >= l->n) {
		scn_perr(scn, l->errp, l->endcol, "expected %s after '=> %s'",
			 k->text[4] == 'r' ? "a text in quotes" : "an errno name (EBUSY, ...)",
			 k->text);
		return false;
	}
	v = &l->w[*t + 2];
	if (!strcmp(k->text, "error")) {
		if (!v->quoted) {
			scn_perr(scn, l->errp, v->col,
				 "expected a text in quotes after '=> error', got '%s'", v->text);
			return false;
		}
		st->fail = SCN_FAIL_ERROR;
		st->fail_text = xstrdup(v->text);
	} else {
		uint64_t e;

		if (v->quoted || v->text[0] != 'E' || !scn_symbol_lookup(v->text, v->len, &e) ||
		    !scn_errno_name((int)e)) {
			const char *near = v->quoted ? NULL : scn_symbol_closest(v->text, v->len);

			if (near && near[0] == 'E')
				scn_perr(scn, l->errp, v->col,
					 "unknown errno '%.*s' (did you mean %s?)",
					 (int)v->rawlen, v->raw, near);
			else
				scn_perr(scn, l->errp, v->col,
					 "unknown errno '%.*s' (expected a name such as EBUSY)",
					 (int)v->rawlen, v->raw);
			return false;
		}
		st->fail = SCN_FAIL_ERRNO;
		st->fail_errno = (int)e;
	}
	*t += 3;
	return true;
}

static bool parse_arg(Line *l, const StmtSpec *sp, ScnStmt *st, unsigned i,
		      const Word *w)
{
	const ArgSpec *a = &sp->args[i];
	ScnArg *arg = &st->args[i];
	char nb[64];
	const char *after = spec_noun(sp, i, nb, sizeof(nb));
	Scn *scn = l->scn;
	int idx;

	arg->col = w->col;
	arg->present = true;
	switch (a->kind) {
	case AK_DEV:
		arg->dev = find_device_word(l, w);
		return arg->dev >= 0;
	case AK_EXPR:
		arg->e = word_expr(l, w, a->expect);
		return arg->e != NULL;
	case AK_CSIZE:
	case AK_MSIZE:
	case AK_VLEN:
		return parse_size(l, w, a, after, &arg->num);
	case AK_BYTES:
		if (w->quoted || !is_bytes_word(w)) {
			scn_perr(scn, l->errp, w->col, "expected %s after %s, got '%.*s'",
				 a->expect, after, (int)w->rawlen, w->raw);
			return false;
		}
		return parse_bytes(l, w->text, w->len, w->col, &arg->bytes, &arg->nbytes);
	case AK_VALBYTES:
		if (is_bytes_word(w))
			return parse_bytes(l, w->text, w->len, w->col, &arg->bytes, &arg->nbytes);
		arg->e = word_expr(l, w, a->expect);
		return arg->e != NULL;
	case AK_STRING:
		if (!w->quoted) {
			scn_perr(scn, l->errp, w->col, "expected %s after %s, got '%.*s'",
				 a->expect, after, (int)w->rawlen, w->raw);
			return false;
		}
		if (sp->op == SCN_OP_CONTROL && (strchr(w->text, '\n') || !w->text[0])) {
			scn_perr(scn, l->errp, w->col, "a control request is one line, not %s",
				 w->text[0] ? "several ('\\n' inside)" : "empty");
			return false;
		}
		arg->str = xstrdup(w->text);
		return true;
	case AK_NAME:
		if (!check_name(l, w, a->noun + 4))
			return false;
		arg->str = xstrdup(w->text);
		return true;
	case AK_WORD:
	case AK_REGION:
		idx = w->quoted ? -1 : a->kind == AK_WORD ? word_index(a->words, w->text)
							  : region_index(w->text);
		if (idx < 0) {
			scn_perr(scn, l->errp, w->col, "expected %s after %s, got '%.*s'",
				 a->expect, after, (int)w->rawlen, w->raw);
			return false;
		}
		arg->num = (uint64_t)idx;
		arg->str = xstrdup(w->text);
		return true;
	case AK_RAW:
		if (w->quoted && sp->op != SCN_OP_DEVICE) {
			scn_perr(scn, l->errp, w->col, "expected %s after %s, got a string",
				 a->expect, after);
			return false;
		}
		if (!one_word(w->text)) {
			scn_perr(scn, l->errp, w->col, "expected %s after %s, got '%.*s' "
				 "(blanks or control characters inside)", a->expect, after,
				 (int)w->rawlen, w->raw);
			return false;
		}
		arg->str = xstrdup(w->text);
		return true;
	}
	return false;
}

static bool parse_kv(Line *l, const StmtSpec *sp, ScnStmt *st, const Word *w)
{
	Scn *scn = l->scn;
	unsigned k, j;
	ScnKv *kv;
	char keys[256];

	for (k = 0; k < 6 && sp->keys[k].key; k++) {
		const KeySpec *ks = &sp->keys[k];
		size_t kl = strlen(ks->key);

		if (ks->kind == KK_FLAG ? !strcmp(w->text, ks->key)
					: (!strncmp(w->text, ks->key, kl) && w->text[kl] == '='))
			break;
	}
	if (k == 6 || !sp->keys[k].key) {
		if (sp->op == SCN_OP_VFIO_IOCTL && is_kv(w)) {
			if (st->nkv == SCN_MAX_IOCTL_KEYS) {
				scn_perr(scn, l->errp, w->col, "more than %d KEY=VALUE for vfio.ioctl",
					 SCN_MAX_IOCTL_KEYS);
				return false;
			}
			kv = add_kv(st, w);
			return parse_ioctl_kv(l, st, kv, w);
		}
		if ((sp->flags & F_FREEKV) && is_kv(w)) {
			add_kv(st, w);
			return true;
		}
		list_keys(sp, keys, sizeof(keys));
		if (is_kv(w) && keys[0])
			scn_perr(scn, l->errp, w->col, "unknown key '%.*s' for %s (expected: %s)",
				 (int)(strchr(w->text, '=') - w->text), w->text, sp->verb, keys);
		else if (keys[0])
			scn_perr(scn, l->errp, w->col, "unexpected '%.*s' (%s takes: %s)",
				 (int)w->rawlen, w->raw, sp->verb, keys);
		else
			scn_perr(scn, l->errp, w->col, "unexpected '%.*s' after %s",
				 (int)w->rawlen, w->raw,
				 st->nargs ? sp->args[st->nargs - 1].noun : "the statement");
		return false;
	}
	for (j = 0; j < st->nkv; j++) {
		if (st->kv[j].spec == (int)k) {
			scn_perr(scn, l->errp, w->col, "%s given twice", sp->keys[k].key);
			return false;
		}
	}
	kv = add_kv(st, w);
	kv->spec = (int)k;
	switch (sp->keys[k].kind) {
	case KK_EXPR:
		kv->e = scn_expr_parse(scn, kv->val, strlen(kv->val), st->line, val_col(w),
				       l->errp);
		return kv->e != NULL;
	case KK_WORD: {
		int i = word_index(sp->keys[k].words, kv->val);
		char alts[128];
		size_t al = 0;
		unsigned x;

		if (i >= 0) {
			kv->num = (uint64_t)i;
			return true;
		}
		alts[0] = 0;
		for (x = 0; sp->keys[k].words[x]; x++)
			al += (size_t)snprintf(alts + al, sizeof(alts) - al, "%s%s",
					       x ? (sp->keys[k].words[x + 1] ? ", " : " or ") : "",
					       sp->keys[k].words[x]);
		scn_perr(scn, l->errp, val_col(w), "bad %s '%s' (expected %s)",
			 sp->keys[k].key, kv->val, alts);
		return false;
	}
	default:
		return true;
	}
}

static bool parse_statement(Line *l, const StmtSpec *sp, ScnStmt *st)
{
	Scn *scn = l->scn;
	unsigned t = 1, i, k;
	char nb[64];

	/* Positional arguments. */
	for (i = 0; i < SCN_MAX_ARGS && sp->args[i].expect; i++) {
		const ArgSpec *a = &sp->args[i];
		bool stop = t >= l->n || is_marker(&l->w[t]) ||
			    (is_kv(&l->w[t]) && a->kind != AK_BYTES && a->kind != AK_VALBYTES);

		if (stop) {
			if (a->opt)
				break;
			if (t < l->n)
				scn_perr(scn, l->errp, l->w[t].col, "expected %s after %s, got '%.*s'",
					 a->expect, spec_noun(sp, i, nb, sizeof(nb)),
					 (int)l->w[t].rawlen, l->w[t].raw);
			else
				scn_perr(scn, l->errp, l->endcol, "expected %s after %s",
					 a->expect, spec_noun(sp, i, nb, sizeof(nb)));
			return false;
		}
		if (!parse_arg(l, sp, st, i, &l->w[t]))
			return false;
		st->nargs = i + 1;
		t++;
		if (sp->op == SCN_OP_VFIO_IOCTL && i == 1 &&
		    !hx_vfio_ioctl_number(st->args[1].str)) {
			const char *near = scn_symbol_closest(st->args[1].str,
							      strlen(st->args[1].str));

			if (near && !strncmp(near, "VFIO_", 5))
				scn_perr(scn, l->errp, st->args[1].col,
					 "unknown VFIO ioctl '%s' (did you mean %s?)",
					 st->args[1].str, near);
			else
				scn_perr(scn, l->errp, st->args[1].col,
					 "unknown VFIO ioctl '%s'", st->args[1].str);
			return false;
		}
	}
	/* KEY=VALUE words. */
	while (t < l->n && !is_marker(&l->w[t])) {
		if ((sp->flags & F_CRC) && !strncmp(l->w[t].text, "crc32=", 6) && !l->w[t].quoted)
			break;
		if (!parse_kv(l, sp, st, &l->w[t]))
			return false;
		t++;
	}
	for (k = 0; k < 6 && sp->keys[k].key; k++) {
		if (sp->keys[k].req && !scn_stmt_kv(st, sp->keys[k].key)) {
			scn_perr(scn, l->errp, t < l->n ? l->w[t].col : l->endcol,
				 "missing %s=... (%s needs it)", sp->keys[k].key, sp->verb);
			return false;
		}
	}
	/* A check, then an expected failure. */
	if (t < l->n && (strcmp(l->w[t].text, "=>") || l->w[t].quoted) &&
	    !parse_check(l, sp, st, &t))
		return false;
	if (t < l->n && !strcmp(l->w[t].text, "=>") && !l->w[t].quoted &&
	    !parse_fail(l, sp, st, &t))
		return false;
	if (t < l->n) {
		scn_perr(scn, l->errp, l->w[t].col, "unexpected '%.*s' at the end of the statement",
			 (int)l->w[t].rawlen, l->w[t].raw);
		return false;
	}
	if ((sp->flags & F_REQCHECK) && st->check.kind != SCN_CHECK_EQ &&
	    st->check.kind != SCN_CHECK_NE) {
		scn_perr(scn, l->errp, l->endcol, "expected '==' or '!=' after %s",
			 sp->args[0].noun);
		return false;
	}
	return true;
}

/* ---- the whole file ---- */

static const StmtSpec *find_spec(const char *verb)
{
	unsigned i;

	for (i = 0; i < NSPECS; i++)
		if (!strcmp(specs[i].verb, verb))
			return &specs[i];
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void unknown_verb(Line *l, const Word *w)
{
	const char *best = NULL, *sorted[NSPECS];
	unsigned bestd = 3, i;
	char list[2048];
	size_t n = 0;

	for (i = 0; i < NSPECS; i++) {
		unsigned d = scn_edit_distance(w->text, w->len, specs[i].verb,
					       strlen(specs[i].verb), bestd - 1);

		sorted[i] = specs[i].verb;
		if (d < bestd) {
			bestd = d;
			best = specs[i].verb;
		}
	}
	if (best) {
		scn_perr(l->scn, l->errp, w->col, "unknown statement '%.*s' (did you mean %s?)",
			 (int)w->rawlen, w->raw, best);
		return;
	}
	qsort(sorted, NSPECS, sizeof(sorted[0]), cmp_str);
	for (i = 0; i < NSPECS; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
				      sorted[i]);
	scn_perr(l->scn, l->errp, w->col, "unknown statement '%.*s' (expected one of: %s)",
		 (int)w->rawlen, w->raw, list);
}

static bool check_eeh(Line *l, ScnStmt *st)
{
	unsigned want = !strcmp(st->args[1].str, "inject") ? 2 : 0;
	unsigned have = (st->args[2].present ? 1 : 0) + (st->args[3].present ? 1 : 0);

	if (have != want) {
		if (want)
			scn_perr(l->scn, l->errp, have ? st->args[3].col ? st->args[3].col : l->endcol
						       : l->endcol,
				 "expected TYPE and FUNC after 'inject'");
		else
			scn_perr(l->scn, l->errp, st->args[2].col,
				 "eeh %s takes no argument", st->args[1].str);
		return false;
	}
	return true;
}

static bool assign_hosts(Scn *scn, Error **errp)
{
	unsigned i, j;

	for (i = 0; i < scn->ndevs; i++) {
		if (!scn->devs[i].host[0])
			snprintf(scn->devs[i].host, sizeof(scn->devs[i].host), "0000:%02x:00.0",
				 (i + 1) & 0xff);
	}
	for (i = 0; i < scn->ndevs; i++) {
		for (j = 0; j < i; j++) {
			if (!strcmp(scn->devs[i].host, scn->devs[j].host)) {
				scn->cur_line = scn->devs[i].line;
				scn_perr(scn, errp, 1,
					 "device '%s' is at host %s, as device '%s' on line %u "
					 "(give one of them another host=)",
					 scn->devs[i].name, scn->devs[i].host, scn->devs[j].name,
					 scn->devs[j].line);
				return false;
			}
		}
	}
	return true;
}

Scn *scn_parse_text(const char *path, const char *text, size_t len, Error **errp)
{
	Scn *scn = calloc(1, sizeof(*scn));
	unsigned stack[SCN_MAX_DEPTH], depth = 0;
	size_t pos = 0;
	unsigned lineno = 0;
	const char *slash;
	Line l = { .scn = scn, .errp = errp };

	if (!scn)
		abort();
	scn->path = xstrdup(path);
	slash = strrchr(path, '/');
	scn->dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : xstrdup(".");
	if (!scn->dir)
		abort();
	snprintf(scn->machine.platform, sizeof(scn->machine.platform), "x86");
	snprintf(scn->machine.tce, sizeof(scn->machine.tce), "both");
	scn->machine.ram_size = 64ull << 20;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		const StmtSpec *sp;
		ScnStmt *st;
		const Word *last;

		lineno++;
		scn->cur_line = lineno;
		if (!split_line(&l, text + pos, ll))
			goto fail;
		pos += ll + (nl ? 1 : 0);
		if (!l.n)
			continue;
		if (l.w[0].quoted || !(sp = find_spec(l.w[0].text))) {
			unknown_verb(&l, &l.w[0]);
			goto fail;
		}
		st = new_stmt(scn);
		st->op = sp->op;
		st->line = lineno;
		st->col = l.w[0].col;
		last = &l.w[l.n - 1];
		st->text = strndup(l.w[0].raw, (size_t)(last->raw + last->rawlen - l.w[0].raw));
		if (!st->text)
			abort();
		scn->nstmts++;	/* owned from here (freed on failure) */
		if (!parse_statement(&l, sp, st))
			goto fail;
		switch (sp->op) {
		case SCN_OP_MACHINE:
			if (!finish_machine(&l, st))
				goto fail;
			break;
		case SCN_OP_DEVICE:
			if (!finish_device(&l, st))
				goto fail;
			break;
		case SCN_OP_FAULT:
			if (!finish_fault(&l, st))
				goto fail;
			break;
		case SCN_OP_EXPECT_EVENT:
		case SCN_OP_EXPECT_TRACE:
			if (!finish_filters(&l, st))
				goto fail;
			break;
		case SCN_OP_EEH:
			if (!check_eeh(&l, st))
				goto fail;
			break;
		case SCN_OP_VFIO_READ:
		case SCN_OP_VFIO_WRITE: {
			uint64_t n = st->args[3].num;
			bool num = n == 1 || n == 2 || n == 4 || n == 8;

			if (sp->op == SCN_OP_VFIO_READ && !num &&
			    (st->check.kind == SCN_CHECK_EQ || st->check.kind == SCN_CHECK_NE ||
			     st->check.kind == SCN_CHECK_STORE)) {
				scn_perr(scn, errp, st->check.col, "a %u-byte read is checked with a "
					 "byte string or crc32= (a value needs 1, 2, 4 or 8 bytes)",
					 (unsigned)n);
				goto fail;
			}
			if (sp->op == SCN_OP_VFIO_WRITE &&
			    (st->args[4].bytes ? st->args[4].nbytes != n : !num)) {
				if (st->args[4].bytes)
					scn_perr(scn, errp, st->args[4].col,
						 "%zu bytes given for a length of %u",
						 st->args[4].nbytes, (unsigned)n);
				else
					scn_perr(scn, errp, st->args[4].col,
						 "a value needs a length of 1, 2, 4 or 8, not %u "
						 "(give a byte string)", (unsigned)n);
				goto fail;
			}
			break;
		}
		case SCN_OP_SET:
		case SCN_OP_REPEAT:
			if (st->args[sp->op == SCN_OP_SET ? 0 : 1].str) {
				const char *v = st->args[sp->op == SCN_OP_SET ? 0 : 1].str;

				st->var = scn_var_index(scn, v, strlen(v));
				if (st->var < 0) {
					scn_perr(scn, errp, st->col, "too many variables (at most %d)",
						 SCN_MAX_VARS);
					goto fail;
				}
			}
			if (sp->op == SCN_OP_REPEAT) {
				if (depth == SCN_MAX_DEPTH) {
					scn_perr(scn, errp, st->col,
						 "'repeat' blocks nest at most %d deep", SCN_MAX_DEPTH);
					goto fail;
				}
				stack[depth++] = scn->nstmts - 1;
			}
			break;
		case SCN_OP_END:
			if (!depth) {
				scn_perr(scn, errp, st->col, "'end' without 'repeat'");
				goto fail;
			}
			depth--;
			st->jump = stack[depth];
			scn->stmts[stack[depth]].jump = scn->nstmts - 1;
			break;
		default:
			break;
		}
		line_clear(&l);
	}
	if (depth) {
		const ScnStmt *r = &scn->stmts[stack[depth - 1]];

		scn->cur_line = r->line;
		scn_perr(scn, errp, r->col, "'repeat' without 'end' (the file ends first)");
		goto fail;
	}
	if (!assign_hosts(scn, errp))
		goto fail;
	return scn;
fail:
	line_clear(&l);
	scn_free(scn);
	return NULL;
}

Scn *scn_parse_file(const char *path, Error **errp)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	char *buf;
	size_t n;
	Scn *scn;

	if (!f) {
		error_setg_errno(errp, errno, "%s: cannot open", path);
		return NULL;
	}
	if (fstat(fileno(f), &sb) < 0 || S_ISDIR(sb.st_mode)) {
		error_setg(errp, "%s: is a directory, not a scenario file", path);
		fclose(f);
		return NULL;
	}
	if (sb.st_size > (off_t)SCN_MAX_FILE) {
		error_setg(errp, "%s: too large (more than %u bytes)", path, SCN_MAX_FILE);
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf)
		abort();
	n = fread(buf, 1, (size_t)sb.st_size, f);
	if (ferror(f)) {
		error_setg_errno(errp, errno, "%s: read error", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	scn = scn_parse_text(path, buf, n, errp);
	free(buf);
	return scn;
}

/* ---- the topology file ---- */

static void put_word(FILE *out, const char *s)
{
	bool plain = *s != 0;
	const char *p;

	for (p = s; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '#' || *p == '"' || *p == '\\')
			plain = false;
	if (plain) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

bool scn_write_topology(const Scn *scn, FILE *out, Error **errp)
{
	unsigned i, j;

	fprintf(out, "# from %s\nplatform %s", scn->path, scn->machine.platform);
	if (!strcmp(scn->machine.platform, "pseries"))
		fprintf(out, " tce=%s", scn->machine.tce);
	fputc('\n', out);
	if (scn->machine.advertise_mmap)
		fputs("advertise-mmap\n", out);
	for (i = 0; i < scn->ndevs; i++) {
		const ScnDevice *d = &scn->devs[i];

		fprintf(out, "device %s %s", d->model, d->host);
		if (d->group >= 0)
			fprintf(out, " group=%ld", d->group);
		if (d->driver[0])
			fprintf(out, " driver=%s", d->driver);
		for (j = 0; j < d->nparams; j++) {
			const char *p = d->params[j];

			fputc(' ', out);
			if (!strncmp(p, "file=", 5) && p[5] != '/') {
				size_t n = strlen(scn->dir) + strlen(p) + 2;
				char *abs = malloc(n), *rp;

				if (!abs)
					abort();
				snprintf(abs, n, "%s/%s", scn->dir, p + 5);
				rp = realpath(abs, NULL);
				if (!rp && abs[0] != '/') {
					char *cwd = getcwd(NULL, 0);

					if (cwd && asprintf(&rp, "%s/%s", cwd, abs) < 0)
						rp = NULL;
					free(cwd);
				}
				fputs("file=", out);
				put_word(out, rp ? rp : abs);
				free(rp);
				free(abs);
			} else {
				const char *eq = strchr(p, '=');

				fprintf(out, "%.*s", (int)(eq - p + 1), p);
				put_word(out, eq + 1);
			}
		}
		fputc('\n', out);
	}
	if (fflush(out) || ferror(out)) {
		error_setg_errno(errp, errno, "cannot write the topology");
		return false;
	}
	return true;
}

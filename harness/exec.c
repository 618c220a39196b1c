/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/exec: `vfio-harness exec`, one scenario in this process
 * (harness/exec.h has the command line and the result protocol).  The
 * machine is core/machine with guest RAM at 0; guest-side statements are
 * config cycles, MMIO and port I/O through it, device-side statements go
 * to fakevfio's control socket (exec-fake.c), raw VFIO statements to
 * harness/hx-vfio, sPAPR statements to harness/exec-spapr.
 *
 * The statements run from the parsed program (pre-parsed expression
 * trees, variables by index): nothing is allocated per executed guest
 * access, so a `repeat` of 100k config reads costs the reads.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/pci_regs.h>

#include "harness/exec.h"
#include "harness/exec-int.h"

/* ---- failures ---- */

bool hx_fail(HxExec *ex, const char *fmt, ...)
{
	va_list ap;

	if (ex->failed)
		return false;
	ex->failed = true;
	ex->expectation = false;
	va_start(ap, fmt);
	vsnprintf(ex->error, sizeof(ex->error), fmt, ap);
	va_end(ap);
	return false;
}

bool hx_fail_check(HxExec *ex, const char *expected, const char *actual)
{
	if (ex->failed)
		return false;
	ex->failed = true;
	ex->expectation = true;
	snprintf(ex->expected, sizeof(ex->expected), "%s", expected);
	snprintf(ex->actual, sizeof(ex->actual), "%s", actual);
	return false;
}

static void res_line(HxExec *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void res_line(HxExec *ex, const char *fmt, ...)
{
	va_list ap;

	if (!ex->res)
		return;
	va_start(ap, fmt);
	vfprintf(ex->res, fmt, ap);
	va_end(ap);
	fputc('\n', ex->res);
	fflush(ex->res);
}

/* Each line of text as "detail PREFIX LINE" and to stderr indented. */
static void report_lines(HxExec *ex, const char *prefix, const char *cont,
			 const char *text)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		fprintf(stderr, "  %s%.*s\n", prefix, n, p);
		res_line(ex, "detail %s%.*s", prefix, n, p);
		p += n + (nl ? 1 : 0);
		prefix = cont;
	}
}

static void report_failure(HxExec *ex, unsigned line, unsigned col, const char *text)
{
	char tail[4096];

	if (ex->expectation) {
		fprintf(stderr, "%s:%u:%u: expectation failed: %s\n", scn_path(ex->scn),
			line, col, text);
		res_line(ex, "fail %u:%u expectation failed: %s", line, col, text);
		report_lines(ex, "expected: ", "          ", ex->expected);
		report_lines(ex, "actual:   ", "          ", ex->actual);
	} else {
		fprintf(stderr, "%s:%u:%u: failed: %s\n", scn_path(ex->scn), line, col, text);
		res_line(ex, "fail %u:%u failed: %s", line, col, text);
		report_lines(ex, "error: ", "       ", ex->error);
	}
	hx_trace_tail(ex, tail, sizeof(tail), 8);
	if (tail[0]) {
		fprintf(stderr, "  last VFIO operations (fakevfio trace):\n");
		res_line(ex, "detail last VFIO operations (fakevfio trace):");
		report_lines(ex, "  ", "  ", tail);
	}
}

/* ---- values ---- */

static const char *errname(int e, char *buf, size_t n)
{
	const char *s = scn_errno_name(e);

	if (s)
		return s;
	snprintf(buf, n, "errno %d", e);
	return buf;
}

static void fmt_bytes(char *buf, size_t n, const uint8_t *b, size_t nb)
{
	size_t i, l = 0;

	buf[0] = 0;
	for (i = 0; i < nb && l + 4 < n; i++) {
		if (i == 64 && nb > 72) {
			snprintf(buf + l, n - l, "... (%zu bytes)", nb);
			return;
		}
		l += (size_t)snprintf(buf + l, n - l, "%s%02x", i ? ":" : "", b[i]);
	}
	if (!nb)
		snprintf(buf, n, "(no bytes)");
}

bool hx_eval(HxExec *ex, const ScnExpr *e, uint64_t *out)
{
	Error *err = NULL;

	if (e->kind == SCN_E_NUM) {
		*out = e->num;
		return true;
	}
	if (scn_expr_eval(e, &ex->env, out, &err))
		return true;
	ex->fail_col = ex->env.err_col;
	hx_fail(ex, "%s", error_get_pretty(err));
	error_free(err);
	return false;
}

static VfcPciDevice *need_dev(HxExec *ex, int dev)
{
	if (dev < 0 || !ex->vdev[dev]) {
		hx_fail(ex, "device %s is not attached",
			dev < 0 ? "?" : scn_device(ex->scn, (unsigned)dev)->name);
		return NULL;
	}
	return ex->vdev[dev];
}

static uint32_t cfg_rd(HxExec *ex, VfcPciDevice *v, unsigned off, unsigned len)
{
	ex->ops++;
	return vfc_machine_config_read(ex->m, v, off, len);
}

static void cfg_wr(HxExec *ex, VfcPciDevice *v, unsigned off, unsigned len, uint32_t val)
{
	ex->ops++;
	vfc_machine_config_write(ex->m, v, off, len, val);
}

/* The first capability with id in the guest's config space, 0 if none. */
static unsigned find_cap(HxExec *ex, VfcPciDevice *v, unsigned id)
{
	unsigned pos, i;

	if (!(cfg_rd(ex, v, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = cfg_rd(ex, v, PCI_CAPABILITY_LIST, 1) & ~3u;
	for (i = 0; i < 48 && pos >= 0x40; i++) {
		if (cfg_rd(ex, v, pos + PCI_CAP_LIST_ID, 1) == id)
			return pos;
		pos = cfg_rd(ex, v, pos + PCI_CAP_LIST_NEXT, 1) & ~3u;
	}
	return 0;
}

static unsigned find_ecap(HxExec *ex, VfcPciDevice *v, unsigned id)
{
	unsigned pos = 0x100, i;

	if (v->config_size <= 0x100)
		return 0;
	for (i = 0; i < (4096 - 256) / 4 && pos >= 0x100 && pos < 4096; i++) {
		uint32_t h = cfg_rd(ex, v, pos, 4);

		if (!h || h == 0xffffffffu)
			return 0;
		if ((h & 0xffff) == id)
			return pos;
		pos = (h >> 20) & ~3u;
	}
	return 0;
}

/* The guest address in BAR n (6: ROM) from guest config. */
static uint64_t bar_addr(HxExec *ex, VfcPciDevice *v, unsigned n, bool *io)
{
	uint32_t lo;

	*io = false;
	if (n == 6)
		return cfg_rd(ex, v, PCI_ROM_ADDRESS, 4) & PCI_ROM_ADDRESS_MASK;
	lo = cfg_rd(ex, v, PCI_BASE_ADDRESS_0 + 4 * n, 4);
	if (lo & PCI_BASE_ADDRESS_SPACE_IO) {
		*io = true;
		return lo & PCI_BASE_ADDRESS_IO_MASK;
	}
	if ((lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64 && n < 5)
		return (uint64_t)cfg_rd(ex, v, PCI_BASE_ADDRESS_0 + 4 * (n + 1), 4) << 32 |
		       (lo & PCI_BASE_ADDRESS_MEM_MASK);
	return lo & PCI_BASE_ADDRESS_MEM_MASK;
}

static bool device_value(ScnEnv *env, const ScnExpr *e, uint64_t arg, uint64_t *out,
			 Error **errp)
{
	HxExec *ex = env->opaque;
	VfcPciDevice *v = ex->vdev[e->dev];
	const char *name = scn_device(ex->scn, e->dev)->name;
	bool io;

	if (!v) {
		error_setg(errp, "device %s is not attached", name);
		return false;
	}
	switch (e->kind) {
	case SCN_E_ATTR:
		switch (e->attr) {
		case SCN_ATTR_MSIX_ENTRIES: *out = v->msix ? v->msix->entries : 0; break;
		case SCN_ATTR_MSIX_TABLE_BAR: *out = v->msix ? v->msix->table_bar : 0; break;
		case SCN_ATTR_MSIX_TABLE_OFFSET: *out = v->msix ? v->msix->table_offset : 0; break;
		case SCN_ATTR_MSIX_PBA_BAR: *out = v->msix ? v->msix->pba_bar : 0; break;
		case SCN_ATTR_MSIX_PBA_OFFSET: *out = v->msix ? v->msix->pba_offset : 0; break;
		case SCN_ATTR_MSIX_PBA_QUIRK: *out = v->msix ? v->msix->pba_quirk : 0; break;
		case SCN_ATTR_INTERRUPT: *out = (uint64_t)v->interrupt; break;
		case SCN_ATTR_VECTORS: *out = v->nr_vectors; break;
		case SCN_ATTR_IRQS_INTX: *out = v->irq_count[VFC_INT_INTX]; break;
		case SCN_ATTR_IRQS_MSI: *out = v->irq_count[VFC_INT_MSI]; break;
		case SCN_ATTR_IRQS_MSIX: *out = v->irq_count[VFC_INT_MSIX]; break;
		case SCN_ATTR_ERR_DETECTED: *out = v->err_detected; break;
		case SCN_ATTR_REQ_COUNT: *out = v->req_count; break;
		case SCN_ATTR_HAS_FLR: *out = v->has_flr; break;
		case SCN_ATTR_HAS_PM_RESET: *out = v->has_pm_reset; break;
		case SCN_ATTR_HAS_ROM: *out = v->has_rom; break;
		case SCN_ATTR_ROM_SIZE: *out = v->rom_size; break;
		case SCN_ATTR_CONFIG_SIZE: *out = v->config_size; break;
		case SCN_ATTR_VENDOR_ID: *out = v->vendor_id; break;
		case SCN_ATTR_DEVICE_ID: *out = v->device_id; break;
		default: *out = 0; break;
		}
		return true;
	case SCN_E_CAP:
		*out = arg > 0xff ? 0 : find_cap(ex, v, (unsigned)arg);
		return true;
	case SCN_E_ECAP:
		*out = arg > 0xffff ? 0 : find_ecap(ex, v, (unsigned)arg);
		return true;
	case SCN_E_BAR:
	case SCN_E_BARSIZE:
		if (arg > 6) {
			error_setg(errp, "BAR number %" PRIu64 " out of range (0-5, 6: the ROM)", arg);
			return false;
		}
		if (e->kind == SCN_E_BAR)
			*out = bar_addr(ex, v, (unsigned)arg, &io);
		else
			*out = arg == 6 ? v->rom_size : v->bars[arg].region.size;
		return true;
	default:
		error_setg(errp, "not a device term");
		return false;
	}
}

/* ---- checks and expected failures ---- */

static bool check_value(HxExec *ex, const ScnStmt *st, uint64_t v)
{
	const ScnCheck *c = &st->check;
	uint64_t want, mask = ~0ull;
	char e[128], a[64];

	switch (c->kind) {
	case SCN_CHECK_NONE:
		return true;
	case SCN_CHECK_STORE:
		ex->vars[c->var] = v;
		ex->defined[c->var] = true;
		return true;
	case SCN_CHECK_EQ:
	case SCN_CHECK_NE:
		if (!hx_eval(ex, c->val, &want))
			return false;
		if (c->mask && !hx_eval(ex, c->mask, &mask))
			return false;
		if (c->kind == SCN_CHECK_EQ ? (v & mask) == (want & mask) : v != want)
			return true;
		if (c->kind == SCN_CHECK_NE)
			snprintf(e, sizeof(e), "!= 0x%" PRIx64, want);
		else if (c->mask)
			snprintf(e, sizeof(e), "0x%" PRIx64 " (mask 0x%" PRIx64 ")", want & mask, mask);
		else
			snprintf(e, sizeof(e), "0x%" PRIx64, want);
		if (c->mask)
			snprintf(a, sizeof(a), "0x%" PRIx64 " (masked: 0x%" PRIx64 ")", v, v & mask);
		else
			snprintf(a, sizeof(a), "0x%" PRIx64, v);
		return hx_fail_check(ex, e, a);
	default:
		return hx_fail(ex, "this check does not apply to a value");
	}
}

static bool check_bytes(HxExec *ex, const ScnStmt *st, const uint8_t *b, size_t n)
{
	char e[512], a[512];

	if (st->check.kind == SCN_CHECK_CRC) {
		uint64_t want;
		uint32_t crc = scn_crc32(b, n);

		if (!hx_eval(ex, st->check.val, &want))
			return false;
		if (crc == want)
			return true;
		snprintf(e, sizeof(e), "crc32=0x%08" PRIx64, want);
		snprintf(a, sizeof(a), "crc32=0x%08x", crc);
		return hx_fail_check(ex, e, a);
	}
	if (st->check.kind != SCN_CHECK_BYTES)
		return true;
	if (st->check.nbytes == n && !memcmp(st->check.bytes, b, n))
		return true;
	fmt_bytes(e, sizeof(e), st->check.bytes, st->check.nbytes);
	fmt_bytes(a, sizeof(a), b, n);
	return hx_fail_check(ex, e, a);
}

/*
 * The outcome of an operation that can fail, against the statement's
 * "=> ...": true when the statement goes on to its check (the operation
 * succeeded and no failure was expected).
 */
typedef struct Outcome {
	bool failed;
	int err;		/* 0: a failure without errno */
	char msg[1024];
} Outcome;

static bool outcome(HxExec *ex, const ScnStmt *st, const Outcome *o, bool *done)
{
	char e[1200], a[1200], nb[32];

	*done = false;
	if (st->fail == SCN_FAIL_NONE) {
		if (o->failed)
			return hx_fail(ex, "%s", o->msg);
		return true;
	}
	*done = true;
	if (st->fail == SCN_FAIL_ERROR)
		snprintf(e, sizeof(e), "an error containing \"%s\"", st->fail_text);
	else
		snprintf(e, sizeof(e), "failure with errno %s",
			 errname(st->fail_errno, nb, sizeof(nb)));
	if (!o->failed)
		return hx_fail_check(ex, e, "success");
	if (st->fail == SCN_FAIL_ERROR ? strstr(o->msg, st->fail_text) != NULL
				       : o->err == st->fail_errno)
		return true;
	if (o->err)
		snprintf(a, sizeof(a), "errno %s: %s", errname(o->err, nb, sizeof(nb)), o->msg);
	else
		snprintf(a, sizeof(a), "error: %s", o->msg);
	return hx_fail_check(ex, e, a);
}

#define OUTCOME(ex, st, o) do { \
		bool done_; \
		if (!outcome((ex), (st), (o), &done_)) \
			return false; \
		if (done_) \
			return true; \
	} while (0)

static void gmem_msg(Outcome *o, unsigned r, const char *what, uint64_t addr, unsigned len)
{
	o->failed = true;
	o->err = 0;
	snprintf(o->msg, sizeof(o->msg), "%s of %u bytes at 0x%" PRIx64 " failed:%s%s%s%s",
		 what, len, addr, r & GMEM_UNASSIGNED ? " unassigned" : "",
		 r & GMEM_DENIED ? " denied" : "", r & GMEM_BAD_ACCESS ? " bad access" : "",
		 r & GMEM_READONLY ? " read-only" : "");
}

/* ---- the event loop ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The longest a statement runs the event loop: step MS, expect.none ms=,
 * expect.msi timeout= (a check, not a hang: more is an error). */
#define HX_MAX_WAIT_MS 3600000u

static bool run_loop(HxExec *ex, uint64_t ms)
{
	uint64_t end;

	if (ms > HX_MAX_WAIT_MS)
		return hx_fail(ex, "%" PRIu64 " ms: more than an hour", ms);
	end = now_ms() + ms;

	for (;;) {
		uint64_t t = now_ms();
		int r;

		r = vfc_machine_step(ex->m, t >= end ? 0 : (int)(end - t > 1000 ? 1000 : end - t));
		ex->ops++;
		if (r < 0)
			return hx_fail(ex, "event loop: %s", strerror(-r));
		if (now_ms() >= end)
			return true;
	}
}

/* ---- guest side ---- */

/*
 * A value written with an access of len bytes must fit: as an unsigned
 * number, or as a negative one (-1 is all-ones of any width).
 */
static bool value_fits(HxExec *ex, uint64_t v, unsigned len)
{
	uint64_t mask = len >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * len)) - 1;

	if (!(v & ~mask) || ((v | mask) == UINT64_MAX && (v >> (8 * len - 1)) & 1))
		return true;
	return hx_fail(ex, "value 0x%" PRIx64 " does not fit in %u byte%s", v, len,
		       len == 1 ? "" : "s");
}

static bool do_mem(HxExec *ex, const ScnStmt *st, bool write, bool io, uint64_t addr,
		   unsigned len, uint64_t val)
{
	Outcome o = { 0 };
	uint64_t v = 0;
	unsigned r;

	if (write && !value_fits(ex, val, len))
		return false;
	ex->ops++;
	if (io)
		r = write ? vfc_machine_io_write(ex->m, addr, len, val)
			  : vfc_machine_io_read(ex->m, addr, len, &v);
	else
		r = write ? vfc_machine_mmio_write(ex->m, addr, len, val)
			  : vfc_machine_mmio_read(ex->m, addr, len, &v);
	if (r != GMEM_OK)
		gmem_msg(&o, r, io ? (write ? "port write" : "port read")
				   : (write ? "memory write" : "memory read"), addr, len);
	OUTCOME(ex, st, &o);
	return write ? true : check_value(ex, st, v);
}

static const char *devname(HxExec *ex, int dev)
{
	return scn_device(ex->scn, (unsigned)dev)->name;
}

/* Why BAR n of dev decodes nothing: the message from its guest config. */
static bool bar_unmapped(HxExec *ex, VfcPciDevice *v, int dev, unsigned n)
{
	const char *name = devname(ex, dev);
	bool io;
	uint64_t base = bar_addr(ex, v, n, &io);
	uint16_t cmd = (uint16_t)cfg_rd(ex, v, PCI_COMMAND, 2);

	if (!base)
		return hx_fail(ex, "BAR%u of %s is not assigned (pci.assign)", n, name);
	if (!(cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return hx_fail(ex, "BAR%u of %s does not decode: %s space is off "
			       "in PCI_COMMAND (0x%x)", n, name, io ? "I/O" : "memory", cmd);
	return hx_fail(ex, "BAR%u of %s (0x%" PRIx64 " in config) is not mapped in the guest: "
		       "not a BAR of the device, or not programmed since attach (pci.assign)",
		       n, name, base);
}

static bool do_bar(HxExec *ex, const ScnStmt *st, bool write)
{
	VfcPciDevice *v = need_dev(ex, st->args[0].dev);
	uint64_t n, off, val = 0, base;
	unsigned len = (unsigned)st->args[3].num;

	if (!v || !hx_eval(ex, st->args[1].e, &n) || !hx_eval(ex, st->args[2].e, &off) ||
	    (write && !hx_eval(ex, st->args[4].e, &val)))
		return false;
	if (n > 5)
		return hx_fail(ex, "BAR number %" PRIu64 " out of range 0-5", n);
	/*
	 * Where the guest's PCI model maps the BAR now: assigned and decoding,
	 * kept up to date on every config write whoever makes it, so no config
	 * access here (guest config is read only to explain a failure).
	 */
	base = gpci_get_bar_addr(&v->pdev, (int)n);
	if (base == GPCI_BAR_UNMAPPED)
		return bar_unmapped(ex, v, st->args[0].dev, (unsigned)n);
	return do_mem(ex, st, write, v->pdev.io_regions[n].type & PCI_BASE_ADDRESS_SPACE_IO,
		      base + off, len, val);
}

static bool do_pci_assign(HxExec *ex, const ScnStmt *st)
{
	VfcPciDevice *v = need_dev(ex, st->args[0].dev);
	uint64_t mem = 0xc0000000ull, io = 0xc000;
	unsigned i;
	uint16_t cmd;

	if (!v)
		return false;
	for (i = 0; i < 6; i++) {
		unsigned reg = PCI_BASE_ADDRESS_0 + 4 * i;
		uint32_t orig = cfg_rd(ex, v, reg, 4), lo;
		uint64_t mask, size, addr;
		bool is64;

		cfg_wr(ex, v, reg, 4, 0xffffffffu);
		lo = cfg_rd(ex, v, reg, 4);
		if (!lo || lo == 0xffffffffu) {
			cfg_wr(ex, v, reg, 4, orig);
			continue;
		}
		if (lo & PCI_BASE_ADDRESS_SPACE_IO) {
			mask = lo & PCI_BASE_ADDRESS_IO_MASK;
			size = mask & -mask;
			if (!size)
				continue;
			addr = (io + size - 1) & ~(size - 1);
			if (addr + size > 0x10000) {
				cfg_wr(ex, v, reg, 4, orig);
				return hx_fail(ex, "pci.assign: I/O BAR%u of %s (0x%" PRIx64 " bytes) "
					       "does not fit below 0x10000", i,
					       devname(ex, st->args[0].dev), size);
			}
			io = addr + size;
			cfg_wr(ex, v, reg, 4, (uint32_t)addr);
			continue;
		}
		is64 = (lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64 && i < 5;
		mask = lo & PCI_BASE_ADDRESS_MEM_MASK;
		if (is64) {
			cfg_wr(ex, v, reg + 4, 4, 0xffffffffu);
			mask |= (uint64_t)cfg_rd(ex, v, reg + 4, 4) << 32;
		} else {
			mask |= 0xffffffff00000000ull;
		}
		size = mask & -mask;
		if (!size) {
			cfg_wr(ex, v, reg, 4, orig);
			continue;
		}
		addr = (mem + size - 1) & ~(size - 1);
		if (addr < mem || addr + size < addr || addr + size > 0x100000000ull) {
			cfg_wr(ex, v, reg, 4, orig);
			return hx_fail(ex, "pci.assign: BAR%u of %s (0x%" PRIx64 " bytes) does not "
				       "fit in the window 0xc0000000-0xffffffff", i,
				       devname(ex, st->args[0].dev), size);
		}
		mem = addr + size;
		cfg_wr(ex, v, reg, 4, (uint32_t)addr);
		if (is64) {
			cfg_wr(ex, v, reg + 4, 4, (uint32_t)(addr >> 32));
			i++;
		}
	}
	cmd = (uint16_t)cfg_rd(ex, v, PCI_COMMAND, 2);
	cfg_wr(ex, v, PCI_COMMAND, 2,
	       cmd | PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return true;
}

static bool do_msi(HxExec *ex, const ScnStmt *st)
{
	VfcPciDevice *v = need_dev(ex, st->args[0].dev);
	unsigned cap;
	uint16_t flags;
	bool is64;

	if (!v)
		return false;
	cap = find_cap(ex, v, PCI_CAP_ID_MSI);
	if (!cap)
		return hx_fail(ex, "%s has no MSI capability (as the guest sees it)",
			       devname(ex, st->args[0].dev));
	flags = (uint16_t)cfg_rd(ex, v, cap + PCI_MSI_FLAGS, 2);
	is64 = flags & PCI_MSI_FLAGS_64BIT;
	switch (st->op) {
	case SCN_OP_MSI_ENABLE: {
		uint64_t addr, data, n = 1;
		const ScnKv *kv = scn_stmt_kv(st, "vectors");
		unsigned lg = 0;

		if (!hx_eval(ex, scn_stmt_kv(st, "addr")->e, &addr) ||
		    !hx_eval(ex, scn_stmt_kv(st, "data")->e, &data) ||
		    (kv && !hx_eval(ex, kv->e, &n)))
			return false;
		if (!n || n > 32 || (n & (n - 1)))
			return hx_fail(ex, "vectors=%" PRIu64 ": a power of two 1-32", n);
		while ((1u << lg) < n)
			lg++;
		if (lg > (unsigned)((flags & PCI_MSI_FLAGS_QMASK) >> 1))
			return hx_fail(ex, "%s's MSI capability offers %u vectors, not %" PRIu64,
				       devname(ex, st->args[0].dev),
				       1u << ((unsigned)(flags & PCI_MSI_FLAGS_QMASK) >> 1), n);
		if (data > 0xffff)
			return hx_fail(ex, "data=0x%" PRIx64 ": MSI message data has 16 bits", data);
		if (!is64 && addr >> 32)
			return hx_fail(ex, "addr=0x%" PRIx64 ": %s's MSI capability is 32-bit", addr,
				       devname(ex, st->args[0].dev));
		cfg_wr(ex, v, cap + PCI_MSI_ADDRESS_LO, 4, (uint32_t)addr);
		if (is64)
			cfg_wr(ex, v, cap + PCI_MSI_ADDRESS_HI, 4, (uint32_t)(addr >> 32));
		cfg_wr(ex, v, cap + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, (uint32_t)data);
		flags = (uint16_t)((flags & ~PCI_MSI_FLAGS_QSIZE) | (lg << 4));
		cfg_wr(ex, v, cap + PCI_MSI_FLAGS, 2, flags);
		cfg_wr(ex, v, cap + PCI_MSI_FLAGS, 2, flags | PCI_MSI_FLAGS_ENABLE);
		return true;
	}
	case SCN_OP_MSI_DISABLE:
		cfg_wr(ex, v, cap + PCI_MSI_FLAGS, 2, flags & ~PCI_MSI_FLAGS_ENABLE);
		return true;
	default: {
		uint64_t vec;
		unsigned mpos = cap + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
		uint32_t bits;

		if (!hx_eval(ex, st->args[1].e, &vec))
			return false;
		if (!(flags & PCI_MSI_FLAGS_MASKBIT))
			return hx_fail(ex, "%s's MSI capability has no per-vector mask",
				       devname(ex, st->args[0].dev));
		if (vec > 31)
			return hx_fail(ex, "MSI vector %" PRIu64 " out of range 0-31", vec);
		bits = cfg_rd(ex, v, mpos, 4);
		if (st->op == SCN_OP_MSI_MASK)
			bits |= 1u << vec;
		else
			bits &= ~(1u << vec);
		cfg_wr(ex, v, mpos, 4, bits);
		return true;
	}
	}
}

typedef struct Msix {
	unsigned cap, entries;
	uint16_t ctrl;
	uint64_t table, pba;	/* guest addresses */
} Msix;

static bool msix_find(HxExec *ex, VfcPciDevice *v, int dev, Msix *x, bool need_bars)
{
	uint32_t t, p;
	bool io;

	x->cap = find_cap(ex, v, PCI_CAP_ID_MSIX);
	if (!x->cap)
		return hx_fail(ex, "%s has no MSI-X capability (as the guest sees it)",
			       devname(ex, dev));
	x->ctrl = (uint16_t)cfg_rd(ex, v, x->cap + PCI_MSIX_FLAGS, 2);
	x->entries = (x->ctrl & PCI_MSIX_FLAGS_QSIZE) + 1u;
	if (!need_bars)
		return true;
	t = cfg_rd(ex, v, x->cap + PCI_MSIX_TABLE, 4);
	p = cfg_rd(ex, v, x->cap + PCI_MSIX_PBA, 4);
	x->table = bar_addr(ex, v, t & PCI_MSIX_TABLE_BIR, &io);
	if (!x->table || io)
		return hx_fail(ex, "the MSI-X table's BAR%u of %s is not assigned (pci.assign)",
			       t & PCI_MSIX_TABLE_BIR, devname(ex, dev));
	x->table += t & PCI_MSIX_TABLE_OFFSET;
	x->pba = bar_addr(ex, v, p & PCI_MSIX_PBA_BIR, &io);
	if (!x->pba || io)
		return hx_fail(ex, "the MSI-X PBA's BAR%u of %s is not assigned (pci.assign)",
			       p & PCI_MSIX_PBA_BIR, devname(ex, dev));
	x->pba += p & PCI_MSIX_PBA_OFFSET;
	return true;
}

static bool mmio(HxExec *ex, bool write, uint64_t addr, unsigned len, uint64_t *val)
{
	Outcome o = { 0 };
	unsigned r;

	ex->ops++;
	r = write ? vfc_machine_mmio_write(ex->m, addr, len, *val)
		  : vfc_machine_mmio_read(ex->m, addr, len, val);
	if (r == GMEM_OK)
		return true;
	gmem_msg(&o, r, write ? "memory write" : "memory read", addr, len);
	return hx_fail(ex, "%s", o.msg);
}

static bool do_msix(HxExec *ex, const ScnStmt *st)
{
	int dev = st->args[0].dev;
	VfcPciDevice *v = need_dev(ex, dev);
	bool bars = st->op == SCN_OP_MSIX_PROGRAM || st->op == SCN_OP_MSIX_MASK ||
		    st->op == SCN_OP_MSIX_UNMASK || st->op == SCN_OP_MSIX_PENDING;
	uint64_t vec = 0, val;
	Msix x = { 0 };

	if (!v || !msix_find(ex, v, dev, &x, bars))
		return false;
	if (bars) {
		if (!hx_eval(ex, st->args[1].e, &vec))
			return false;
		if (vec >= x.entries)
			return hx_fail(ex, "MSI-X vector %" PRIu64 " out of range: %s has %u",
				       vec, devname(ex, dev), x.entries);
	}
	switch (st->op) {
	case SCN_OP_MSIX_PROGRAM: {
		uint64_t addr, data, ent = x.table + vec * PCI_MSIX_ENTRY_SIZE, w;
		const ScnKv *m = scn_stmt_kv(st, "masked");

		if (!hx_eval(ex, scn_stmt_kv(st, "addr")->e, &addr) ||
		    !hx_eval(ex, scn_stmt_kv(st, "data")->e, &data))
			return false;
		if (data > UINT32_MAX)
			return hx_fail(ex, "data=0x%" PRIx64 ": MSI-X message data has 32 bits",
				       data);
		w = (uint32_t)addr;
		if (!mmio(ex, true, ent + PCI_MSIX_ENTRY_LOWER_ADDR, 4, &w))
			return false;
		w = addr >> 32;
		if (!mmio(ex, true, ent + PCI_MSIX_ENTRY_UPPER_ADDR, 4, &w))
			return false;
		w = (uint32_t)data;
		if (!mmio(ex, true, ent + PCI_MSIX_ENTRY_DATA, 4, &w))
			return false;
		w = m && m->num ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0;
		return mmio(ex, true, ent + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, &w);
	}
	case SCN_OP_MSIX_MASK:
	case SCN_OP_MSIX_UNMASK: {
		uint64_t a = x.table + vec * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL;

		if (!mmio(ex, false, a, 4, &val))
			return false;
		if (st->op == SCN_OP_MSIX_MASK)
			val |= PCI_MSIX_ENTRY_CTRL_MASKBIT;
		else
			val &= ~(uint64_t)PCI_MSIX_ENTRY_CTRL_MASKBIT;
		return mmio(ex, true, a, 4, &val);
	}
	case SCN_OP_MSIX_PENDING:
		if (!mmio(ex, false, x.pba + (vec / 32) * 4, 4, &val))
			return false;
		return check_value(ex, st, (val >> (vec % 32)) & 1);
	case SCN_OP_MSIX_ENABLE: {
		const ScnKv *f = scn_stmt_kv(st, "fmask");
		uint16_t c = x.ctrl | PCI_MSIX_FLAGS_ENABLE;

		if (f)
			c = f->num ? c | PCI_MSIX_FLAGS_MASKALL : c & ~PCI_MSIX_FLAGS_MASKALL;
		cfg_wr(ex, v, x.cap + PCI_MSIX_FLAGS, 2, c);
		return true;
	}
	case SCN_OP_MSIX_DISABLE:
		cfg_wr(ex, v, x.cap + PCI_MSIX_FLAGS, 2, x.ctrl & ~PCI_MSIX_FLAGS_ENABLE);
		return true;
	case SCN_OP_MSIX_FMASK:
		cfg_wr(ex, v, x.cap + PCI_MSIX_FLAGS, 2,
		       st->args[1].num ? x.ctrl | PCI_MSIX_FLAGS_MASKALL
				       : x.ctrl & ~PCI_MSIX_FLAGS_MASKALL);
		return true;
	default:
		return hx_fail(ex, "internal: not an msix statement");
	}
}

static bool do_reset(HxExec *ex, const ScnStmt *st)
{
	int dev = st->args[0].dev;
	VfcPciDevice *v;
	unsigned cap;
	uint16_t w;
	Outcome o = { 0 };
	int r;

	if (st->op == SCN_OP_RESET_SYSTEM) {
		ex->ops++;
		vfc_machine_reset(ex->m);
		return true;
	}
	v = need_dev(ex, dev);
	if (!v)
		return false;
	switch (st->op) {
	case SCN_OP_RESET:
		ex->ops++;
		vfc_pci_reset(&v->pdev);
		return true;
	case SCN_OP_RESET_FLR:
		cap = find_cap(ex, v, PCI_CAP_ID_EXP);
		if (!cap)
			return hx_fail(ex, "%s has no PCI Express capability (as the guest sees it)",
				       devname(ex, dev));
		w = (uint16_t)cfg_rd(ex, v, cap + PCI_EXP_DEVCTL, 2);
		cfg_wr(ex, v, cap + PCI_EXP_DEVCTL, 2, w | PCI_EXP_DEVCTL_BCR_FLR);
		return true;
	case SCN_OP_RESET_PM:
		cap = find_cap(ex, v, PCI_CAP_ID_PM);
		if (!cap)
			return hx_fail(ex, "%s has no power management capability (as the guest "
				       "sees it)", devname(ex, dev));
		w = (uint16_t)cfg_rd(ex, v, cap + PCI_PM_CTRL, 2);
		cfg_wr(ex, v, cap + PCI_PM_CTRL, 2, (w & ~PCI_PM_CTRL_STATE_MASK) | 3);
		cfg_wr(ex, v, cap + PCI_PM_CTRL, 2, w & ~PCI_PM_CTRL_STATE_MASK);
		return true;
	default:	/* reset.hot */
		ex->ops++;
		r = vfc_pci_hot_reset(v, true);
		if (r < 0) {
			o.failed = true;
			o.err = -r;
			snprintf(o.msg, sizeof(o.msg), "hot reset of %s: %s", devname(ex, dev),
				 strerror(-r));
		}
		OUTCOME(ex, st, &o);
		return true;
	}
}

static bool do_attach(HxExec *ex, const ScnStmt *st)
{
	int dev = st->args[0].dev;
	const char **props = NULL;
	char **buf = NULL;
	unsigned n = 0, i;
	Error *err = NULL;
	Outcome o = { 0 };
	VfcPciDevice *v;

	/*
	 * A second attach of an attached device goes to the core too: its
	 * refusal ("device ... is already attached") is what a scenario
	 * checks.  Should the core accept it, the new device is removed and
	 * the statement fails.
	 */
	if (st->nkv) {
		props = calloc(st->nkv, sizeof(*props));
		buf = calloc(st->nkv, sizeof(*buf));
		if (!props || !buf)
			abort();
	}
	for (i = 0; i < st->nkv; i++) {
		if (asprintf(&buf[n], "%s=%s", st->kv[i].key, st->kv[i].val) < 0)
			abort();
		props[n] = buf[n];
		n++;
	}
	ex->ops++;
	v = vfc_machine_add_vfio_pci(ex->m, ex->bdf[dev], props, n, &err);
	for (i = 0; i < n; i++)
		free(buf[i]);
	free(buf);
	free(props);
	if (!v) {
		o.failed = true;
		snprintf(o.msg, sizeof(o.msg), "%s", error_get_pretty(err));
		error_free(err);
	} else if (ex->vdev[dev]) {
		vfc_machine_remove_device(ex->m, v);
		o.failed = true;
		snprintf(o.msg, sizeof(o.msg),
			 "the core attached %s a second time (it should refuse)",
			 devname(ex, dev));
		v = NULL;
	}
	if (!ex->vdev[dev])
		ex->vdev[dev] = v;
	OUTCOME(ex, st, &o);
	return true;
}

static bool do_ram(HxExec *ex, const ScnStmt *st)
{
	uint64_t addr, len, byte;
	uint8_t *p;

	if (!hx_eval(ex, st->args[0].e, &addr))
		return false;
	switch (st->op) {
	case SCN_OP_RAM_WRITE:
	case SCN_OP_EXPECT_RAM:
		len = st->args[1].nbytes;
		break;
	default:
		if (!hx_eval(ex, st->args[1].e, &len) || !hx_eval(ex, st->args[2].e, &byte))
			return false;
		if (byte > 0xff)
			return hx_fail(ex, "fill byte 0x%" PRIx64 " is more than a byte", byte);
		break;
	}
	p = vfc_machine_ram_ptr(ex->m, addr, len ? len : 1);
	if (!p)
		return hx_fail(ex, "[0x%" PRIx64 ", +0x%" PRIx64 ") is not in guest RAM "
			       "(0 to 0x%" PRIx64 ")", addr, len, ex->m->ram_size);
	ex->ops++;
	switch (st->op) {
	case SCN_OP_RAM_WRITE:
		memcpy(p, st->args[1].bytes, len);
		return true;
	case SCN_OP_RAM_FILL:
		memset(p, (int)byte, len);
		return true;
	default: {
		char e[512], a[512];

		if (!memcmp(p, st->args[1].bytes, len))
			return true;
		fmt_bytes(e, sizeof(e), st->args[1].bytes, len);
		fmt_bytes(a, sizeof(a), p, len);
		return hx_fail_check(ex, e, a);
	}
	}
}

/* ---- interrupts at the sink ---- */

static bool msi_match(const GIntcEvent *ev, const uint64_t *addr, const uint64_t *data)
{
	return ev->kind == GINTC_EV_MSI && (!addr || ev->addr == *addr) &&
	       (!data || ev->data == (uint32_t)*data);
}

static void list_events(HxExec *ex, size_t from, char *buf, size_t n)
{
	GIntc *ic = vfc_machine_intc(ex->m);
	size_t i, cnt = gintc_event_count(ic), l = 0, shown = 0;

	buf[0] = 0;
	for (i = from; i < cnt && l + 100 < n; i++) {
		const GIntcEvent *ev = gintc_event(ic, i);

		if (shown++ == 8) {
			snprintf(buf + l, n - l, "\n... (%zu events)", cnt - from);
			return;
		}
		if (ev->kind == GINTC_EV_INTX)
			l += (size_t)snprintf(buf + l, n - l, "\nintx source=0x%x pin=%u level=%d",
					      ev->source, ev->pin, ev->level);
		else
			l += (size_t)snprintf(buf + l, n - l, "\n%s source=0x%x addr=0x%" PRIx64
					      " data=0x%x", ev->kind == GINTC_EV_MSI ? "msi"
					      : "msi-dropped", ev->source, ev->addr, ev->data);
	}
}

static bool do_expect_msi(HxExec *ex, const ScnStmt *st)
{
	GIntc *ic = vfc_machine_intc(ex->m);
	const ScnKv *ka = scn_stmt_kv(st, "addr"), *kd = scn_stmt_kv(st, "data");
	const ScnKv *kt = scn_stmt_kv(st, "times"), *ko = scn_stmt_kv(st, "timeout");
	uint64_t addr = 0, data = 0, times = 1, timeout = 1000, end;
	size_t i, cnt, last = 0;

	if ((ka && !hx_eval(ex, ka->e, &addr)) || (kd && !hx_eval(ex, kd->e, &data)) ||
	    (kt && !hx_eval(ex, kt->e, &times)) || (ko && !hx_eval(ex, ko->e, &timeout)))
		return false;
	if (timeout > HX_MAX_WAIT_MS)
		return hx_fail(ex, "timeout=%" PRIu64 " ms: more than an hour", timeout);
	if (kd && data > UINT32_MAX)
		return hx_fail(ex, "data=0x%" PRIx64 ": an MSI data word has 32 bits", data);
	end = now_ms() + timeout;
	for (;;) {
		size_t n = gintc_event_count(ic);

		cnt = 0;
		for (i = ex->msi_pos; i < n; i++)
			cnt += msi_match(gintc_event(ic, i), ka ? &addr : NULL, kd ? &data : NULL);
		if (cnt >= times || now_ms() >= end)
			break;
		if (!run_loop(ex, 10))
			return false;
	}
	if (!run_loop(ex, 20))
		return false;
	cnt = 0;
	for (i = ex->msi_pos; i < gintc_event_count(ic); i++) {
		if (msi_match(gintc_event(ic, i), ka ? &addr : NULL, kd ? &data : NULL)) {
			cnt++;
			last = i + 1;
		}
	}
	if (cnt != times) {
		char e[256], a[2048], f[160] = "";

		if (ka)
			snprintf(f, sizeof(f), " addr=0x%" PRIx64, addr);
		if (kd)
			snprintf(f + strlen(f), sizeof(f) - strlen(f), " data=0x%" PRIx64, data);
		snprintf(e, sizeof(e), "%" PRIu64 " message%s%s", times, times == 1 ? "" : "s", f);
		snprintf(a, sizeof(a), "%zu matching; since the last expect.msi/none:", cnt);
		list_events(ex, ex->msi_pos, a + strlen(a), sizeof(a) - strlen(a));
		if (gintc_event_count(ic) == ex->msi_pos)
			snprintf(a, sizeof(a), "%zu matching (nothing reached the interrupt sink)", cnt);
		return hx_fail_check(ex, e, a);
	}
	if (last)
		ex->msi_pos = last;
	return true;
}

static bool do_expect_none(HxExec *ex, const ScnStmt *st)
{
	GIntc *ic = vfc_machine_intc(ex->m);
	const ScnKv *km = scn_stmt_kv(st, "ms");
	uint64_t ms = 50;
	size_t i, n;

	if (km && !hx_eval(ex, km->e, &ms))
		return false;
	if (!run_loop(ex, ms))
		return false;
	n = gintc_event_count(ic);
	for (i = ex->msi_pos; i < n; i++) {
		const GIntcEvent *ev = gintc_event(ic, i);

		if (ev->kind == GINTC_EV_MSI || (ev->kind == GINTC_EV_INTX && ev->level)) {
			char a[2048];

			snprintf(a, sizeof(a), "since the last expect.msi/none:");
			list_events(ex, ex->msi_pos, a + strlen(a), sizeof(a) - strlen(a));
			return hx_fail_check(ex, "no interrupt", a);
		}
	}
	ex->msi_pos = n;
	return true;
}

static bool do_expect_intx(HxExec *ex, const ScnStmt *st)
{
	VfcPciDevice *v = need_dev(ex, st->args[0].dev);
	uint64_t want = scn_stmt_kv(st, "level")->num;
	int lvl;
	char e[32], a[32];

	if (!v)
		return false;
	lvl = gintc_intx_level(vfc_machine_intc(ex->m), gpci_requester_id(&v->pdev),
			       v->intx_pin);
	if ((uint64_t)lvl == want)
		return true;
	snprintf(e, sizeof(e), "level=%" PRIu64, want);
	snprintf(a, sizeof(a), "level=%d", lvl);
	return hx_fail_check(ex, e, a);
}

static bool do_expect_warn(HxExec *ex, const ScnStmt *st)
{
	char a[2048];
	size_t i, l = 0;

	if (st->op == SCN_OP_EXPECT_WARN) {
		for (i = ex->warn_pos; i < ex->nwarns; i++) {
			if (strstr(ex->warns[i], st->args[0].str)) {
				ex->warn_pos = ex->nwarns;
				return true;
			}
		}
	} else if (ex->warn_pos == ex->nwarns) {
		return true;
	}
	a[0] = 0;
	for (i = ex->warn_pos; i < ex->nwarns && l + 10 < sizeof(a); i++)
		l += (size_t)snprintf(a + l, sizeof(a) - l, "%swarning: %s", l ? "\n" : "",
				      ex->warns[i]);
	if (!a[0])
		snprintf(a, sizeof(a), "no warning");
	ex->warn_pos = ex->nwarns;
	if (st->op == SCN_OP_EXPECT_WARN) {
		char e[600];

		snprintf(e, sizeof(e), "a warning containing \"%s\"", st->args[0].str);
		return hx_fail_check(ex, e, a);
	}
	return hx_fail_check(ex, "no warning", a);
}

static void warn_handler(const char *msg, void *opaque)
{
	HxExec *ex = opaque;

	fprintf(stderr, "warning: %s\n", msg);
	if (ex->nwarns == ex->capwarns) {
		size_t cap = ex->capwarns ? ex->capwarns * 2 : 16;
		char **n = realloc(ex->warns, cap * sizeof(*n));

		if (!n)
			return;
		ex->warns = n;
		ex->capwarns = cap;
	}
	ex->warns[ex->nwarns] = strdup(msg);
	if (ex->warns[ex->nwarns])
		ex->nwarns++;
}

/* ---- device side (fakevfio's control socket) ---- */

static bool control_op(HxExec *ex, const ScnStmt *st, const char *req, Outcome *o)
{
	int err;

	memset(o, 0, sizeof(*o));
	ex->ops++;
	if (!hx_control(ex, req, &err))
		return false;
	if (err) {
		o->failed = true;
		o->err = err;
		snprintf(o->msg, sizeof(o->msg), "%.300s: %.700s", req, ex->final);
	}
	(void)st;
	return true;
}

/* The value of key in the answer's data lines, or NULL. */
static const char *answer_field(HxExec *ex, const char *key, char *buf, size_t n)
{
	size_t kl = strlen(key);
	const char *p = ex->ans;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			const char *e = p + kl + 1;
			size_t l = strcspn(e, " \n");

			snprintf(buf, n, "%.*s", (int)l, e);
			return buf;
		}
		p += strcspn(p, " \n");
		p += *p ? 1 : 0;
	}
	return NULL;
}

static bool do_device_side(HxExec *ex, const ScnStmt *st)
{
	const char *bdf = st->args[0].dev >= 0 ? ex->bdf[st->args[0].dev] : "";
	char req[16384], f[64];
	size_t l = 0;
	uint64_t a, b;
	Outcome o;
	unsigned i;

	switch (st->op) {
	case SCN_OP_DEVICE_IRQ: {
		static const char *const idx[] = { "MSI", "MSIX", "INTX", "ERR", "REQ" };

		a = 0;
		if (st->args[2].present && !hx_eval(ex, st->args[2].e, &a))
			return false;
		snprintf(req, sizeof(req), "irq %s %s %" PRIu64, bdf, idx[st->args[1].num], a);
		break;
	}
	case SCN_OP_DEVICE_INTX:
		snprintf(req, sizeof(req), "intx %s %" PRIu64, bdf, st->args[1].num);
		break;
	case SCN_OP_DEVICE_DMA_READ:
		if (!hx_eval(ex, st->args[1].e, &a) || !hx_eval(ex, st->args[2].e, &b))
			return false;
		snprintf(req, sizeof(req), "dma-read %s 0x%" PRIx64 " %" PRIu64, bdf, a, b);
		break;
	case SCN_OP_DEVICE_DMA_WRITE:
		if (!hx_eval(ex, st->args[1].e, &a))
			return false;
		if (st->args[2].nbytes > 4096)
			return hx_fail(ex, "device.dma-write: at most 4096 bytes at once");
		l = (size_t)snprintf(req, sizeof(req), "dma-write %s 0x%" PRIx64 " ", bdf, a);
		for (i = 0; i < st->args[2].nbytes; i++)
			l += (size_t)snprintf(req + l, sizeof(req) - l, "%02x", st->args[2].bytes[i]);
		break;
	case SCN_OP_DEVICE_AER:
		snprintf(req, sizeof(req), "aer %s %s %s", bdf, st->args[1].str, st->args[2].str);
		break;
	case SCN_OP_DEVICE_REQ:
		snprintf(req, sizeof(req), "req %s", bdf);
		break;
	case SCN_OP_DEVICE_RESET:
		snprintf(req, sizeof(req), "reset %s %s", bdf,
			 st->args[1].present ? st->args[1].str : "flr");
		break;
	case SCN_OP_FAULT:
		l = (size_t)snprintf(req, sizeof(req), "fault %s", st->args[0].str);
		for (i = 0; i < st->nkv && l < sizeof(req) - 1; i++) {
			const ScnKv *kv = &st->kv[i];

			l += (size_t)snprintf(req + l, sizeof(req) - l, " %s=%s", kv->key,
					      kv->dev >= 0 ? ex->bdf[kv->dev] : kv->val);
		}
		break;
	default:	/* control */
		snprintf(req, sizeof(req), "%s", st->args[0].str);
		break;
	}
	if (!control_op(ex, st, req, &o))
		return false;
	OUTCOME(ex, st, &o);
	switch (st->op) {
	case SCN_OP_DEVICE_IRQ: {
		const char *r = answer_field(ex, "result", f, sizeof(f));
		char e[64], act[128];

		if (st->check.kind != SCN_CHECK_WORD)
			return true;
		if (r && !strcmp(r, scn_irq_results[st->check.word]))
			return true;
		snprintf(e, sizeof(e), "%s", scn_irq_results[st->check.word]);
		snprintf(act, sizeof(act), "%s", r ? r : "(no result= in the answer)");
		return hx_fail_check(ex, e, act);
	}
	case SCN_OP_DEVICE_DMA_READ: {
		static uint8_t data[65536];
		char hex[2 * 65536 + 8];
		size_t n = 0;
		const char *h = answer_field(ex, "data", hex, sizeof(hex));

		if (!h)
			return hx_fail(ex, "no data= in the answer to '%s'", req);
		for (; h[2 * n] && h[2 * n + 1] && n < sizeof(data); n++) {
			unsigned x;

			if (sscanf(h + 2 * n, "%2x", &x) != 1)
				break;
			data[n] = (uint8_t)x;
		}
		return check_bytes(ex, st, data, n);
	}
	case SCN_OP_CONTROL: {
		char all[4096];

		if (st->check.kind != SCN_CHECK_TEXT)
			return true;
		/* the whole answer (data lines, then the final line), not a copy
		 * cut at some size */
		if (strstr(ex->ans, st->check.text) || strstr(ex->final, st->check.text))
			return true;
		snprintf(all, sizeof(all), "%s%s", ex->ans, ex->final);
		{
			char e[600];

			snprintf(e, sizeof(e), "an answer containing \"%s\"", st->check.text);
			return hx_fail_check(ex, e, all);
		}
	}
	default:
		return true;
	}
}

/* ---- raw VFIO ---- */

static bool vfio_result(HxExec *ex, const ScnStmt *st, int64_t r, const char *why,
			const char *what, bool *go_on)
{
	Outcome o = { 0 };
	bool done;

	*go_on = false;
	if (r < 0) {
		o.failed = true;
		o.err = (int)-r;
		snprintf(o.msg, sizeof(o.msg), "%s: %s%s%s", what, strerror((int)-r),
			 why[0] ? ": " : "", why);
	}
	if (!outcome(ex, st, &o, &done))
		return false;
	*go_on = !done;
	return true;
}

static bool do_vfio(HxExec *ex, const ScnStmt *st)
{
	char why[512] = "";
	const char *h = st->args[0].str;
	int64_t r;
	uint64_t a = 0, off;
	bool go;

	if (!ex->vfio) {
		ex->vfio = hx_vfio_new(vfc_machine_ram_ptr(ex->m, 0, ex->m->ram_size),
				       ex->m->ram_size);
		if (!ex->vfio)
			return hx_fail(ex, "out of memory");
	}
	ex->ops++;
	switch (st->op) {
	case SCN_OP_VFIO_OPEN_CONTAINER:
		r = hx_vfio_open_container(ex->vfio, h, why, sizeof(why));
		return vfio_result(ex, st, r, why, "open /dev/vfio/vfio", &go);
	case SCN_OP_VFIO_OPEN_GROUP:
		if (!hx_eval(ex, st->args[1].e, &a))
			return false;
		if (a > INT32_MAX)
			return hx_fail(ex, "group %" PRIu64 " out of range", a);
		r = hx_vfio_open_group(ex->vfio, h, (unsigned)a, why, sizeof(why));
		return vfio_result(ex, st, r, why, "open group", &go);
	case SCN_OP_VFIO_OPEN_DEVICE:
		r = hx_vfio_open_device(ex->vfio, h, st->args[1].str, ex->bdf[st->args[2].dev],
					why, sizeof(why));
		return vfio_result(ex, st, r, why, "VFIO_GROUP_GET_DEVICE_FD", &go);
	case SCN_OP_VFIO_CLOSE:
		r = hx_vfio_close(ex->vfio, h, why, sizeof(why));
		return vfio_result(ex, st, r, why, "close", &go);
	case SCN_OP_VFIO_IOCTL: {
		HxVfioArg args[SCN_MAX_IOCTL_KEYS];
		unsigned i, n = 0;

		if (st->nkv > SCN_MAX_IOCTL_KEYS)	/* the parser refuses more */
			return hx_fail(ex, "internal: more than %d ioctl keys", SCN_MAX_IOCTL_KEYS);
		for (i = 0; i < st->nkv; i++) {
			const ScnKv *kv = &st->kv[i];
			HxVfioArg *x = &args[n++];

			memset(x, 0, sizeof(*x));
			x->key = kv->key;
			x->kind = hx_vfio_arg_kind(st->args[1].str, kv->key);
			if (kv->e && !hx_eval(ex, kv->e, &x->num))
				return false;
			if (x->kind == HX_ARG_EVENTFDS) {
				x->num = kv->num;
				x->eventfd_none = kv->val[0] == '-';
			}
			x->str = kv->val;
			x->bytes = kv->bytes;
			x->nbytes = kv->nbytes;
		}
		r = hx_vfio_ioctl(ex->vfio, h, st->args[1].str, args, n, why, sizeof(why));
		if (!vfio_result(ex, st, r, why, st->args[1].str, &go))
			return false;
		return go ? check_value(ex, st, (uint64_t)r) : true;
	}
	case SCN_OP_VFIO_READ:
	case SCN_OP_VFIO_WRITE: {
		static uint8_t buf[65536];
		unsigned len = (unsigned)st->args[3].num;
		int region = (int)st->args[1].num;
		bool num = len == 1 || len == 2 || len == 4 || len == 8;

		if (!hx_eval(ex, st->args[2].e, &off))
			return false;
		if (st->op == SCN_OP_VFIO_WRITE) {
			if (st->args[4].bytes)
				r = hx_vfio_pwrite(ex->vfio, h, region, off, st->args[4].bytes,
						   st->args[4].nbytes, why, sizeof(why));
			else if (!hx_eval(ex, st->args[4].e, &a))
				return false;
			else
				r = hx_vfio_write(ex->vfio, h, region, off, len, a, why, sizeof(why));
			return vfio_result(ex, st, r, why, "pwrite", &go);
		}
		if (st->check.kind == SCN_CHECK_BYTES || st->check.kind == SCN_CHECK_CRC || !num) {
			r = hx_vfio_pread(ex->vfio, h, region, off, buf, len, why, sizeof(why));
			if (!vfio_result(ex, st, r, why, "pread", &go))
				return false;
			return go ? check_bytes(ex, st, buf, len) : true;
		}
		r = hx_vfio_read(ex->vfio, h, region, off, len, &a, why, sizeof(why));
		if (!vfio_result(ex, st, r, why, "pread", &go))
			return false;
		return go ? check_value(ex, st, a) : true;
	}
	default:
		return hx_fail(ex, "internal: not a vfio statement");
	}
}

/* ---- sPAPR ---- */

static const char *hcall_name(int64_t r, char *buf, size_t n)
{
	static const char *const names[] = {
		"H_SUCCESS", "H_BUSY", "H_HARDWARE", "H_FUNCTION", "H_PRIVILEGE",
		"H_PARAMETER", "H_BAD_MODE", "H_PTEG_FULL", "H_NOT_FOUND",
		"H_RESERVED_DABR", "H_NO_MEM", "H_AUTHORITY", "H_PERMISSION",
		"H_DROPPED", "H_SOURCE_PARM", "H_DEST_PARM", "H_REMOTE_PARM",
		"H_RESOURCE", "H_TOO_HARD",
	};
	unsigned i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t v;

		if (scn_symbol_lookup(names[i], strlen(names[i]), &v) && (int64_t)v == r) {
			snprintf(buf, n, "%s", names[i]);
			return buf;
		}
	}
	snprintf(buf, n, "%" PRId64, r);
	return buf;
}

static bool do_spapr(HxExec *ex, const ScnStmt *st)
{
	Error *err = NULL;
	Outcome o = { 0 };
	uint64_t args[4], out = 0;
	int64_t ret = 0;
	unsigned i, n = 0;
	bool ok = true;
	const char *hc = NULL;

	if (strcmp(scn_machine(ex->scn)->platform, "pseries"))
		return hx_fail(ex, "%s needs machine platform=pseries", scn_op_name(st->op));
	if (!ex->spapr)
		return hx_fail(ex, "%s: no sPAPR machine", scn_op_name(st->op));
	ex->ops++;
	switch (st->op) {
	case SCN_OP_TCE_PUT: hc = "H_PUT_TCE"; n = 3; break;
	case SCN_OP_TCE_GET: hc = "H_GET_TCE"; n = 2; break;
	case SCN_OP_TCE_STUFF: hc = "H_STUFF_TCE"; n = 4; break;
	case SCN_OP_TCE_INDIRECT: hc = "H_PUT_TCE_INDIRECT"; n = 4; break;
	default: break;
	}
	if (hc) {
		char nb[32];

		for (i = 0; i < n; i++)
			if (!hx_eval(ex, st->args[i].e, &args[i]))
				return false;
		ok = hx_spapr_hcall(ex->spapr, hc, args, n, &ret, &out, &err);
		if (!ok) {
			o.failed = true;
			snprintf(o.msg, sizeof(o.msg), "%s", error_get_pretty(err));
			error_free(err);
		} else if (st->op == SCN_OP_TCE_GET && ret != 0) {
			/* a failed H_GET_TCE is the statement's failure: => error "H_PARAMETER" */
			o.failed = true;
			snprintf(o.msg, sizeof(o.msg), "H_GET_TCE returned %s",
				 hcall_name(ret, nb, sizeof(nb)));
		}
		OUTCOME(ex, st, &o);
		if (st->op == SCN_OP_TCE_GET)
			return check_value(ex, st, out);
		if (st->check.kind == SCN_CHECK_NONE && ret != 0) {
			char a[64];

			snprintf(a, sizeof(a), "%s", hcall_name(ret, nb, sizeof(nb)));
			return hx_fail_check(ex, "H_SUCCESS", a);
		}
		return check_value(ex, st, (uint64_t)ret);
	}
	switch (st->op) {
	case SCN_OP_PHB_BYPASS:
		ok = hx_spapr_bypass(ex->spapr, st->args[0].num != 0, &err);
		break;
	case SCN_OP_PHB_DDW_CREATE:
		if (!hx_eval(ex, st->args[0].e, &args[0]) || !hx_eval(ex, st->args[1].e, &args[1]))
			return false;
		if (args[0] > 63 || args[1] > 63)
			return hx_fail(ex, "shifts must be below 64");
		ok = hx_spapr_ddw_create(ex->spapr, (unsigned)args[0], (unsigned)args[1], &out, &err);
		break;
	case SCN_OP_PHB_DDW_REMOVE:
		if (!hx_eval(ex, st->args[0].e, &args[0]))
			return false;
		ok = hx_spapr_ddw_remove(ex->spapr, args[0], &err);
		break;
	default: {	/* eeh */
		VfcPciDevice *v = need_dev(ex, st->args[0].dev);

		if (!v)
			return false;
		for (i = 2; i < 4; i++)
			if (st->args[i].present && !hx_eval(ex, st->args[i].e, &args[n++]))
				return false;
		ok = hx_spapr_eeh(ex->spapr, v, st->args[1].str, args, n, &ret, &err);
		break;
	}
	}
	if (!ok) {
		o.failed = true;
		snprintf(o.msg, sizeof(o.msg), "%s", error_get_pretty(err));
		error_free(err);
	}
	OUTCOME(ex, st, &o);
	if (st->op == SCN_OP_PHB_DDW_CREATE)
		return check_value(ex, st, out);
	if (st->op == SCN_OP_EEH)
		return check_value(ex, st, (uint64_t)ret);
	return true;
}

/* ---- the statement loop ---- */

static bool device_side(ScnOp op)
{
	return (op >= SCN_OP_DEVICE_IRQ && op <= SCN_OP_CONTROL) ||
	       op == SCN_OP_EXPECT_DMA_MAP || op == SCN_OP_EXPECT_IOMMU_FAULT ||
	       op == SCN_OP_EXPECT_EVENT || op == SCN_OP_EXPECT_TRACE;
}

static bool is_expect(ScnOp op)
{
	return op >= SCN_OP_EXPECT && op <= SCN_OP_EXPECT_NOWARN;
}

static bool run_stmt(HxExec *ex, const ScnStmt *st)
{
	uint64_t a, b;

	switch (st->op) {
	case SCN_OP_MACHINE:
	case SCN_OP_DEVICE:
	case SCN_OP_REPEAT:
	case SCN_OP_END:
		return true;
	case SCN_OP_ATTACH:
		return do_attach(ex, st);
	case SCN_OP_DETACH: {
		VfcPciDevice *v = need_dev(ex, st->args[0].dev);

		if (!v)
			return false;
		ex->ops++;
		vfc_machine_remove_device(ex->m, v);
		ex->vdev[st->args[0].dev] = NULL;
		return true;
	}
	case SCN_OP_CFG_READ:
	case SCN_OP_CFG_WRITE: {
		VfcPciDevice *v = need_dev(ex, st->args[0].dev);
		unsigned len = (unsigned)st->args[2].num;

		if (!v || !hx_eval(ex, st->args[1].e, &a))
			return false;
		if (a > 4096 - len)
			return hx_fail(ex, "config offset 0x%" PRIx64 " + %u is beyond 4096", a, len);
		if (st->op == SCN_OP_CFG_READ)
			return check_value(ex, st, cfg_rd(ex, v, (unsigned)a, len));
		if (!hx_eval(ex, st->args[3].e, &b) || !value_fits(ex, b, len))
			return false;
		cfg_wr(ex, v, (unsigned)a, len, (uint32_t)b);
		return true;
	}
	case SCN_OP_MEM_READ:
	case SCN_OP_IO_READ:
		if (!hx_eval(ex, st->args[0].e, &a))
			return false;
		return do_mem(ex, st, false, st->op == SCN_OP_IO_READ, a,
			      (unsigned)st->args[1].num, 0);
	case SCN_OP_MEM_WRITE:
	case SCN_OP_IO_WRITE:
		if (!hx_eval(ex, st->args[0].e, &a) || !hx_eval(ex, st->args[2].e, &b))
			return false;
		return do_mem(ex, st, true, st->op == SCN_OP_IO_WRITE, a,
			      (unsigned)st->args[1].num, b);
	case SCN_OP_BAR_READ:
		return do_bar(ex, st, false);
	case SCN_OP_BAR_WRITE:
		return do_bar(ex, st, true);
	case SCN_OP_PCI_ASSIGN:
		return do_pci_assign(ex, st);
	case SCN_OP_RAM_WRITE:
	case SCN_OP_RAM_FILL:
	case SCN_OP_EXPECT_RAM:
		return do_ram(ex, st);
	case SCN_OP_MSI_ENABLE:
	case SCN_OP_MSI_DISABLE:
	case SCN_OP_MSI_MASK:
	case SCN_OP_MSI_UNMASK:
		return do_msi(ex, st);
	case SCN_OP_MSIX_PROGRAM:
	case SCN_OP_MSIX_ENABLE:
	case SCN_OP_MSIX_DISABLE:
	case SCN_OP_MSIX_MASK:
	case SCN_OP_MSIX_UNMASK:
	case SCN_OP_MSIX_FMASK:
	case SCN_OP_MSIX_PENDING:
		return do_msix(ex, st);
	case SCN_OP_INTX_ROUTE:
		if (!hx_eval(ex, st->args[0].e, &a) || !hx_eval(ex, st->args[1].e, &b))
			return false;
		if (a > 3)
			return hx_fail(ex, "INTx line %" PRIu64 " out of range 0-3", a);
		if ((int64_t)b < -1 || (int64_t)b > INT32_MAX)
			return hx_fail(ex, "IRQ %" PRId64 " out of range (-1: disabled, or 0 up)",
				       (int64_t)b);
		ex->ops++;
		vfc_machine_set_intx_route(ex->m, (int)a, (int)(int64_t)b);
		return true;
	case SCN_OP_STEP:
		a = 10;
		if (st->args[0].present && !hx_eval(ex, st->args[0].e, &a))
			return false;
		return run_loop(ex, a);
	case SCN_OP_RESET:
	case SCN_OP_RESET_FLR:
	case SCN_OP_RESET_PM:
	case SCN_OP_RESET_HOT:
	case SCN_OP_RESET_SYSTEM:
		return do_reset(ex, st);
	case SCN_OP_BOOT:
		if (ex->booted)
			return hx_fail(ex, "the machine is already up (boot given twice)");
		/* From now on, attach is a hotplug (QEMU's device_add). */
		ex->booted = true;
		gpci_bus_set_hotplug(&ex->m->bus, true);
		return true;
	case SCN_OP_DEVICE_IRQ:
	case SCN_OP_DEVICE_INTX:
	case SCN_OP_DEVICE_DMA_READ:
	case SCN_OP_DEVICE_DMA_WRITE:
	case SCN_OP_DEVICE_AER:
	case SCN_OP_DEVICE_REQ:
	case SCN_OP_DEVICE_RESET:
	case SCN_OP_FAULT:
	case SCN_OP_CONTROL:
		return do_device_side(ex, st);
	case SCN_OP_EXPECT:
		if (!hx_eval(ex, st->args[0].e, &a))
			return false;
		return check_value(ex, st, a);
	case SCN_OP_EXPECT_MSI:
		return do_expect_msi(ex, st);
	case SCN_OP_EXPECT_NONE:
		return do_expect_none(ex, st);
	case SCN_OP_EXPECT_INTX:
		return do_expect_intx(ex, st);
	case SCN_OP_EXPECT_DMA_MAP:
		return hx_expect_dma_map(ex, st);
	case SCN_OP_EXPECT_IOMMU_FAULT:
	case SCN_OP_EXPECT_EVENT:
		return hx_expect_events(ex, st);
	case SCN_OP_EXPECT_TRACE:
		return hx_expect_trace(ex, st);
	case SCN_OP_EXPECT_WARN:
	case SCN_OP_EXPECT_NOWARN:
		return do_expect_warn(ex, st);
	case SCN_OP_SET:
		if (!hx_eval(ex, st->args[1].e, &a))
			return false;
		ex->vars[st->var] = a;
		ex->defined[st->var] = true;
		return true;
	case SCN_OP_VFIO_OPEN_CONTAINER:
	case SCN_OP_VFIO_OPEN_GROUP:
	case SCN_OP_VFIO_OPEN_DEVICE:
	case SCN_OP_VFIO_IOCTL:
	case SCN_OP_VFIO_READ:
	case SCN_OP_VFIO_WRITE:
	case SCN_OP_VFIO_CLOSE:
		return do_vfio(ex, st);
	default:
		return do_spapr(ex, st);
	}
}

typedef struct Frame {
	uint64_t n, i;
} Frame;

static bool run_program(HxExec *ex)
{
	unsigned pc = 0, nst = scn_stmt_count(ex->scn), depth = 0;
	Frame frames[16];

	while (pc < nst) {
		const ScnStmt *st = scn_stmt(ex->scn, pc);

		ex->st = st;
		ex->fail_col = 0;
		if (st->op == SCN_OP_REPEAT) {
			uint64_t n;

			ex->steps++;
			if (!hx_eval(ex, st->args[0].e, &n))
				goto failed;
			if (!n) {
				pc = st->jump + 1;
				continue;
			}
			frames[depth].n = n;
			frames[depth].i = 0;
			depth++;
			if (st->var >= 0) {
				ex->vars[st->var] = 0;
				ex->defined[st->var] = true;
			}
			pc++;
			continue;
		}
		if (st->op == SCN_OP_END) {
			Frame *f = &frames[depth - 1];
			const ScnStmt *r = scn_stmt(ex->scn, st->jump);

			if (++f->i < f->n) {
				if (r->var >= 0)
					ex->vars[r->var] = f->i;
				pc = st->jump + 1;
			} else {
				depth--;
				pc++;
			}
			continue;
		}
		if (st->op == SCN_OP_MACHINE || st->op == SCN_OP_DEVICE) {
			pc++;
			continue;
		}
		if (ex->host && (device_side(st->op) || (ex->skip_line && is_expect(st->op)))) {
			if (!ex->skip_told[pc]) {
				char why[128];

				ex->skip_told[pc] = true;
				if (device_side(st->op) && !is_expect(st->op))
					snprintf(why, sizeof(why), "needs the simulator (device-side step)");
				else if (device_side(st->op) && !ex->skip_line)
					snprintf(why, sizeof(why), "needs the simulator (fakevfio's state)");
				else
					snprintf(why, sizeof(why), "depends on the skipped step at line %u",
						 ex->skip_line);
				fprintf(stderr, "%s:%u: skipped: %s\n", scn_path(ex->scn), st->line, why);
				res_line(ex, "skip %u %s", st->line, why);
			}
			if (!ex->skip_line && !is_expect(st->op))
				ex->skip_line = st->line;
			ex->skipped++;
			pc++;
			continue;
		}
		ex->steps++;
		if (!run_stmt(ex, st))
			goto failed;
		pc++;
	}
	return true;
failed:
	if (!ex->failed)
		hx_fail(ex, "failed");
	report_failure(ex, ex->st->line, ex->fail_col ? ex->fail_col : ex->st->col,
		       ex->st->text);
	return false;
}

/* ---- the command line ---- */

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "vfio-harness exec: %s\n", msg);
	fprintf(stderr, "usage: vfio-harness exec [--backend sim|host] [--map DEV=BDF]... "
		"[--fake-trace FILE] [--result-fd N] FILE\n");
	return 2;
}

int hx_exec_main(int argc, char **argv)
{
	const char *file = NULL, *backend = "sim", *maps[HX_MAX_DEVS];
	unsigned nmaps = 0, i;
	int resfd = -1, rc;
	HxExec *ex;
	Error *err = NULL;
	Scn *scn;
	struct timespec t0, t1;
	bool ok;

	for (i = 1; i < (unsigned)argc; i++) {
		const char *a = argv[i];
		const char *v = NULL;
		const char *eq = NULL;
		size_t kl;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: vfio-harness exec [--backend sim|host] [--map DEV=BDF]... "
			       "[--fake-trace FILE] [--result-fd N] FILE\n"
			       "Run one scenario in this process (what 'vfio-harness run' starts,\n"
			       "under 'fakevfio run' for the sim backend).  Exit status: 0 pass,\n"
			       "1 fail, 2 usage or parse error.\n");
			return 0;
		}
		if (a[0] != '-' || !a[1]) {
			if (file)
				return usage("more than one scenario file");
			file = a;
			continue;
		}
		eq = strchr(a, '=');
		kl = eq ? (size_t)(eq - a) : strlen(a);
		if (!(kl == 9 && !strncmp(a, "--backend", 9)) && !(kl == 5 && !strncmp(a, "--map", 5)) &&
		    !(kl == 12 && !strncmp(a, "--fake-trace", 12)) &&
		    !(kl == 11 && !strncmp(a, "--result-fd", 11))) {
			fprintf(stderr, "vfio-harness exec: unknown option '%s'\n", a);
			return usage(NULL);
		}
		if (eq) {
			v = eq + 1;
		} else if (i + 1 < (unsigned)argc) {
			v = argv[++i];
		} else {
			fprintf(stderr, "vfio-harness exec: %.*s needs an argument\n", (int)kl, a);
			return usage(NULL);
		}
		if (!strncmp(a, "--backend", 9)) {
			if (strcmp(v, "sim") && strcmp(v, "host"))
				return usage("--backend is sim or host");
			backend = v;
		} else if (!strncmp(a, "--map", 5)) {
			if (nmaps == HX_MAX_DEVS)
				return usage("too many --map");
			maps[nmaps++] = v;
		} else if (!strncmp(a, "--fake-trace", 12)) {
			/* set below */
		} else {
			char *end;
			long fd = strtol(v, &end, 10);

			if (*end || end == v || fd < 0 || fd > 65535)
				return usage("--result-fd needs a file descriptor number");
			resfd = (int)fd;
		}
	}
	if (!file)
		return usage("no scenario file");

	ex = calloc(1, sizeof(*ex));
	if (!ex)
		abort();
	ex->ctl_fd = -1;
	ex->host = !strcmp(backend, "host");
	for (i = 1; i < (unsigned)argc; i++) {
		if (!strcmp(argv[i], "--fake-trace") && i + 1 < (unsigned)argc)
			ex->fake_trace = argv[i + 1];
		else if (!strncmp(argv[i], "--fake-trace=", 13))
			ex->fake_trace = argv[i] + 13;
	}
	if (resfd >= 0) {
		ex->res = fdopen(resfd, "w");
		if (!ex->res) {
			fprintf(stderr, "vfio-harness exec: --result-fd %d: %s\n", resfd,
				strerror(errno));
			free(ex);
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	scn = scn_parse_file(file, &err);
	if (!scn) {
		const char *msg = error_get_pretty(err);
		unsigned line = 0, col = 0;
		size_t pl = strlen(file);

		fprintf(stderr, "%s\n", msg);
		if (!strncmp(msg, file, pl) && sscanf(msg + pl, ":%u:%u:", &line, &col) == 2) {
			const char *m = strstr(msg + pl, ": error: ");

			res_line(ex, "fail %u:%u %s", line, col, m ? m + 9 : msg);
		} else {
			res_line(ex, "fail 0:0 %s", msg);
		}
		res_line(ex, "done fail");
		error_free(err);
		rc = 2;
		goto out_noscn;
	}
	ex->scn = scn;
	for (i = 0; i < scn_device_count(scn) && i < HX_MAX_DEVS; i++)
		snprintf(ex->bdf[i], BDF_LEN, "%s", scn_device(scn, i)->host);
	for (i = 0; i < nmaps; i++) {
		const char *eq = strchr(maps[i], '=');
		int d = eq ? scn_find_device(scn, maps[i], (size_t)(eq - maps[i])) : -1;
		Error *e2 = NULL;

		if (d < 0) {
			fprintf(stderr, "vfio-harness exec: --map %s: %s\n", maps[i],
				eq ? "no such device in the scenario" : "expected DEV=BDF");
			rc = 2;
			goto out;
		}
		if (!bdf_parse(eq + 1, ex->bdf[d], NULL, NULL, NULL, NULL, &e2)) {
			fprintf(stderr, "vfio-harness exec: --map %s: %s\n", maps[i],
				error_get_pretty(e2));
			error_free(e2);
			rc = 2;
			goto out;
		}
	}
	ex->skip_told = calloc(scn_stmt_count(scn) + 1, sizeof(bool));
	if (!ex->skip_told)
		abort();
	ex->env.scn = scn;
	ex->env.vars = ex->vars;
	ex->env.defined = ex->defined;
	ex->env.device_value = device_value;
	ex->env.opaque = ex;
	vfc_set_warn_handler(warn_handler, ex);

	{
		VfcMachineConfig cfg = { .ram_size = scn_machine(scn)->ram_size };

		if (!strcmp(scn_machine(scn)->platform, "pseries"))
			cfg.platform = VFC_PLATFORM_PSERIES;
		ex->m = vfc_machine_new(&cfg, &err);
	}
	if (ex->m && !strcmp(scn_machine(scn)->platform, "pseries"))
		ex->spapr = hx_spapr_new(ex->m, scn_machine(scn), &err);
	if (!ex->m || (!strcmp(scn_machine(scn)->platform, "pseries") && !ex->spapr)) {
		ScnStmt fake = { .line = 1, .col = 1, .text = (char *)"machine" };

		ex->st = &fake;
		hx_fail(ex, "the machine: %s", error_get_pretty(err));
		error_free(err);
		report_failure(ex, 1, 1, "machine");
		ok = false;
	} else {
		ok = run_program(ex);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res_line(ex, "stats steps=%lu skipped=%lu ops=%lu seconds=%.3f", ex->steps,
		 ex->skipped, ex->ops,
		 (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	res_line(ex, "done %s", ok ? "pass" : "fail");
	rc = ok ? 0 : 1;
out:
	if (ex->vfio)
		hx_vfio_free(ex->vfio);
	if (ex->spapr)
		hx_spapr_free(ex->spapr);
	if (ex->m)
		vfc_machine_free(ex->m);
	vfc_set_warn_handler(NULL, NULL);
	hx_control_close(ex);
	for (i = 0; i < ex->nwarns; i++)
		free(ex->warns[i]);
	free(ex->warns);
	free(ex->skip_told);
	scn_free(scn);
out_noscn:
	if (ex->res)
		fclose(ex->res);
	free(ex->rbuf);
	free(ex->ans);
	free(ex);
	return rc;
}

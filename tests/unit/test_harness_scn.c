/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/scn: the scenario parser (scenarios/README.md): every class of
 * parse error with its exact FILE:LINE:COL message, numbers, byte strings,
 * expressions (precedence, wrap-around, folding, run-time errors), checks,
 * repeat blocks, the symbol table and the topology file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness/scn.h"

static Scn *parse_ok_at(const char *text, int line)
{
	Error *err = NULL;
	Scn *scn = scn_parse_text("t.scn", text, strlen(text), &err);

	if (!scn)
		fail_msg("line %d: unexpected error: %s", line, error_get_pretty(err));
	return scn;
}
#define parse_ok(t) parse_ok_at((t), __LINE__)

static void parse_err_at(const char *text, const char *want, int line)
{
	Error *err = NULL;
	Scn *scn = scn_parse_text("t.scn", text, strlen(text), &err);

	if (scn) {
		scn_free(scn);
		fail_msg("line %d: parsed, want error '%s'", line, want);
	}
	if (strcmp(error_get_pretty(err), want))
		fail_msg("line %d:\n got '%s'\nwant '%s'", line, error_get_pretty(err), want);
	error_free(err);
}
#define parse_err(t, w) parse_err_at((t), (w), __LINE__)

/* Evaluate "expect EXPR == 0" with vars; the value of EXPR. */
static uint64_t eval_at(const char *prelude, const char *expr, int line)
{
	char text[1024];
	Scn *scn;
	const ScnStmt *st;
	uint64_t v = 0, vars[256] = { 0 };
	bool defined[256] = { 0 };
	ScnEnv env = { 0 };
	Error *err = NULL;
	unsigned i;

	snprintf(text, sizeof(text), "%sexpect %s == 0\n", prelude, expr);
	scn = parse_ok_at(text, line);
	for (i = 0; i < scn_var_count(scn); i++) {
		vars[i] = 10 + i;
		defined[i] = true;
	}
	env.scn = scn;
	env.vars = vars;
	env.defined = defined;
	st = scn_stmt(scn, scn_stmt_count(scn) - 1);
	if (!scn_expr_eval(st->args[0].e, &env, &v, &err))
		fail_msg("line %d: %s", line, error_get_pretty(err));
	scn_free(scn);
	return v;
}
#define eval(e) eval_at("", (e), __LINE__)

static void test_lexical_errors(void **state)
{
	(void)state;
	parse_err("attach\x01 d0\n", "t.scn:1:7: error: unexpected control character 0x01 (a scenario is text)");
	parse_err("control \"abc\n", "t.scn:1:9: error: unterminated string (no closing '\"')");
	parse_err("control \"a\\qb\"\n",
		  "t.scn:1:11: error: unknown escape '\\q' in a string (expected \\\", \\\\, \\n or \\t)");
	parse_err("\n\nset x\xc3\xa9 1\n",
		  "t.scn:3:6: error: non-ASCII byte 0xc3 outside a string or comment");
	/* UTF-8 in comments and strings is fine; CRLF too. */
	scn_free(parse_ok("# caf\xc3\xa9\r\nexpect.warn \"caf\xc3\xa9\" # \xc3\xa9\r\n"));
}

static void test_statement_errors(void **state)
{
	(void)state;
	parse_err("cfg.raed d0 0 4\n",
		  "t.scn:1:1: error: unknown statement 'cfg.raed' (did you mean cfg.read?)");
	parse_err("  frobnicate\n",
		  "t.scn:1:3: error: unknown statement 'frobnicate' (expected one of: attach, "
		  "bar.read, bar.write, boot, cfg.read, cfg.write, control, detach, device, "
		  "device.aer, device.dma-read, device.dma-write, device.intx, device.irq, "
		  "device.req, device.reset, eeh, end, expect, expect.dma-map, expect.event, "
		  "expect.intx, expect.iommu-fault, expect.msi, expect.none, expect.nowarn, "
		  "expect.ram, expect.trace, expect.warn, fault, intx.route, io.read, io.write, "
		  "machine, mem.read, mem.write, msi.disable, msi.enable, msi.mask, msi.unmask, "
		  "msix.disable, msix.enable, msix.fmask, msix.mask, msix.pending, msix.program, "
		  "msix.unmask, pci.assign, phb.bypass, phb.ddw.create, phb.ddw.remove, "
		  "ram.fill, ram.write, repeat, reset, reset.flr, reset.hot, reset.pm, "
		  "reset.system, set, step, tce.get, tce.indirect, tce.put, tce.stuff, "
		  "vfio.close, vfio.ioctl, vfio.open-container, vfio.open-device, "
		  "vfio.open-group, vfio.read, vfio.write)");
	parse_err("cfg.read d0 0 4\n",
		  "t.scn:1:10: error: unknown device 'd0' (devices are named by 'device' "
		  "statements before their use)");
	parse_err("device d0 dma-test\ncfg.read d0 PCI_COMMAND 3\n",
		  "t.scn:2:25: error: expected an access size 1, 2 or 4 after the offset, got '3'");
	parse_err("device d0 dma-test\nmem.read 0x1000 16\n",
		  "t.scn:2:17: error: expected an access size 1, 2, 4 or 8 after the address, got '16'");
	parse_err("device d0 dma-test\ncfg.read d0\n",
		  "t.scn:2:12: error: expected an offset after the device name");
	parse_err("cfg.read\n", "t.scn:1:9: error: expected a device name after 'cfg.read'");
	parse_err("device d0 dma-test\ncfg.write d0 0 4 1 2\n",
		  "t.scn:2:20: error: unexpected '2' after the value");
	parse_err("device d0 dma-test\ncfg.write d0 0 4 1 == 2\n",
		  "t.scn:2:20: error: unexpected '==' (cfg.write produces no value to check)");
	parse_err("set x 1 => error \"x\"\n",
		  "t.scn:1:9: error: unexpected '=>' (set cannot be expected to fail)");
}

static void test_check_and_fail_errors(void **state)
{
	(void)state;
	/* cfg.read takes => (a failed read of a detached device) */
	scn_free(parse_ok("device d0 dma-test\ncfg.read d0 0 4 == 1 => error \"x\"\n"));
	parse_err("device d0 dma-test\ncfg.read d0 0 4 ==\n",
		  "t.scn:2:19: error: expected a value after '=='");
	parse_err("device d0 dma-test\nattach d0 => errno EBUSSY\n",
		  "t.scn:2:20: error: unknown errno 'EBUSSY' (did you mean EBUSY?)");
	parse_err("device d0 dma-test\nattach d0 => oops\n",
		  "t.scn:2:14: error: expected error \"TEXT\" or errno NAME after '=>', got 'oops'");
	parse_err("device d0 dma-test\nattach d0 => error oops\n",
		  "t.scn:2:20: error: expected a text in quotes after '=> error', got 'oops'");
	parse_err("device d0 dma-test\ndevice.irq d0 msix 0 == gone\n",
		  "t.scn:2:25: error: expected delivered, pending, dropped or masked after '==', got 'gone'");
	parse_err("device d0 dma-test\ndevice.irq d0 msi-x 0\n",
		  "t.scn:2:15: error: expected an interrupt kind msi, msix, intx, err or req after "
		  "the device name, got 'msi-x'");
	parse_err("expect 1\n", "t.scn:1:9: error: expected '==' or '!=' after the expression");
	parse_err("expect 1 -> x\n",
		  "t.scn:1:10: error: unexpected '->' (expect compares, it stores nothing)");
	parse_err("expect.msi bogus=1\n",
		  "t.scn:1:12: error: unknown key 'bogus' for expect.msi (expected: addr=, data=, "
		  "times=, timeout=)");
	parse_err("device d0 dma-test\nmsix.program d0 0 addr=1\n",
		  "t.scn:2:25: error: missing data=... (msix.program needs it)");
	parse_err("device d0 dma-test\nmsix.enable d0 fmask=2\n",
		  "t.scn:2:22: error: bad fmask '2' (expected 0 or 1)");
	parse_err("expect.msi times=1 times=2\n", "t.scn:1:20: error: times given twice");
	parse_err("fault VFIO_IOMMU_MAP_DMA count=1\n",
		  "t.scn:1:33: error: missing errno=E (the errno the matching operations fail with)");
	parse_err("fault VFIO_DEVICE_RESET device=d9 errno=EIO\n",
		  "t.scn:1:32: error: unknown device 'd9' (devices are named by 'device' "
		  "statements before their use)");
	parse_err("control nope\n",
		  "t.scn:1:9: error: expected a request line in quotes after 'control', got 'nope'");
	parse_err("vfio.open-container c\nvfio.ioctl c VFIO_GET_API_VERSON\n",
		  "t.scn:2:14: error: unknown VFIO ioctl 'VFIO_GET_API_VERSON' (did you mean "
		  "VFIO_GET_API_VERSION?)");
	parse_err("device d0 dma-test\neeh d0 inject 1\n",
		  "t.scn:2:16: error: expected TYPE and FUNC after 'inject'");
	parse_err("device d0 dma-test\neeh d0 enable 1\n",
		  "t.scn:2:15: error: eeh enable takes no argument");
}

static void test_machine_device_errors(void **state)
{
	(void)state;
	parse_err("machine\nmachine\n", "t.scn:2:1: error: 'machine' given twice (first on line 1)");
	parse_err("machine platform=arm\n",
		  "t.scn:1:18: error: bad platform 'arm' (expected x86 or pseries)");
	parse_err("machine tce=v1\n", "t.scn:1:9: error: tce= applies to platform=pseries only");
	parse_err("machine ram=1000\n",
		  "t.scn:1:13: error: bad ram= size 0x3e8 (a multiple of 4K, up to 64G)");
	parse_err("machine ram=$x\n",
		  "t.scn:1:13: error: ram= must be a constant (a number or a symbol)");
	parse_err("device d0 dma-test\ndevice d0 dma-test\n",
		  "t.scn:2:8: error: device 'd0' given twice (first on line 1)");
	parse_err("device 0d dma-test\n",
		  "t.scn:1:8: error: bad device name '0d' (expected a name: a letter or '_', "
		  "then letters, digits or '_')");
	parse_err("device abcdefghijabcdefghijabcdefghijXY dma-test\n",
		  "t.scn:1:8: error: device name 'abcdefghijabcdefghijabcdefghijXY' is longer "
		  "than 31 characters");
	parse_err("device d0\n", "t.scn:1:10: error: expected a model name (chelsio-t5-vf, "
		  "dma-test, profile) after the device name");
	parse_err("device d0 dma-test host=03:00\n",
		  "t.scn:1:25: error: bad host= BDF: bad BDF '03:00': expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1");
	parse_err("device d0 dma-test group=x\n",
		  "t.scn:1:26: error: bad group 'x' (expected a decimal number 0-2147483647)");
	parse_err("device d0 dma-test a=1,2\n",
		  "t.scn:1:22: error: ',' is not allowed in a model parameter (a=1,2)");
	parse_err("device a dma-test\ndevice b dma-test host=01:00.0\n",
		  "t.scn:2:1: error: device 'b' is at host 0000:01:00.0, as device 'a' on line 1 "
		  "(give one of them another host=)");
}

static void test_machine_devices(void **state)
{
	Scn *scn;
	const ScnDevice *d;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	scn = parse_ok("machine platform=pseries tce=v2 ram=128M advertise-mmap\n"
		       "device a dma-test msix_vectors=16\n"
		       "device b chelsio-t5-vf host=03:00.1 group=26 driver=nvme\n"
		       "device c profile file=\"my nic.profile\"\n");
	assert_string_equal(scn_machine(scn)->platform, "pseries");
	assert_string_equal(scn_machine(scn)->tce, "v2");
	assert_int_equal(scn_machine(scn)->ram_size, 128u << 20);
	assert_true(scn_machine(scn)->advertise_mmap);
	assert_int_equal(scn_device_count(scn), 3);
	d = scn_device_by_name(scn, "a");
	assert_string_equal(d->host, "0000:01:00.0");
	assert_int_equal(d->group, -1);
	assert_int_equal(d->nparams, 1);
	assert_string_equal(d->params[0], "msix_vectors=16");
	d = scn_device_by_name(scn, "b");
	assert_string_equal(d->host, "0000:03:00.1");
	assert_int_equal(d->group, 26);
	assert_string_equal(d->driver, "nvme");
	assert_string_equal(scn_device(scn, 2)->host, "0000:03:00.0");
	assert_null(scn_device_by_name(scn, "z"));
	f = open_memstream(&buf, &len);
	assert_true(scn_write_topology(scn, f, NULL));
	fclose(f);
	assert_non_null(strstr(buf, "platform pseries tce=v2\nadvertise-mmap\n"
			       "device dma-test 0000:01:00.0 msix_vectors=16\n"
			       "device chelsio-t5-vf 0000:03:00.1 group=26 driver=nvme\n"
			       "device profile 0000:03:00.0 file=\"/"));
	assert_non_null(strstr(buf, "/my nic.profile\"\n"));
	free(buf);
	scn_free(scn);

	/* Defaults. */
	scn = parse_ok("\n");
	assert_string_equal(scn_machine(scn)->platform, "x86");
	assert_string_equal(scn_machine(scn)->tce, "both");
	assert_int_equal(scn_machine(scn)->ram_size, 64u << 20);
	assert_false(scn_machine(scn)->advertise_mmap);
	scn_free(scn);
}

static void test_numbers(void **state)
{
	(void)state;
	assert_int_equal(eval("42"), 42);
	assert_int_equal(eval("0x2a"), 42);
	assert_int_equal(eval("0X2A"), 42);
	assert_int_equal(eval("0b101010"), 42);
	assert_int_equal(eval("64M"), 0x4000000);
	assert_int_equal(eval("4K"), 4096);
	assert_int_equal(eval("2G"), 0x80000000ull);
	assert_int_equal(eval("0x10K"), 0x4000);
	assert_int_equal(eval("18446744073709551615"), UINT64_MAX);
	parse_err("expect 18446744073709551616 == 0\n",
		  "t.scn:1:8: error: number '18446744073709551616' does not fit in 64 bits");
	parse_err("expect 0x10000000000000000 == 0\n",
		  "t.scn:1:8: error: number '0x10000000000000000' does not fit in 64 bits");
	parse_err("expect 0x8000000000000000K == 0\n",
		  "t.scn:1:8: error: number '0x8000000000000000K' does not fit in 64 bits");
	parse_err("expect 0x == 0\n",
		  "t.scn:1:8: error: bad number '0x' (expected decimal, 0x hex or 0b binary, with "
		  "an optional K, M or G)");
	parse_err("expect 0b12 == 0\n",
		  "t.scn:1:8: error: bad number '0b12' (expected decimal, 0x hex or 0b binary, with "
		  "an optional K, M or G)");
	parse_err("expect 12Q == 0\n",
		  "t.scn:1:8: error: bad number '12Q' (expected decimal, 0x hex or 0b binary, with "
		  "an optional K, M or G)");
}

static void test_expressions(void **state)
{
	(void)state;
	assert_int_equal(eval("1+2*3"), 7);
	assert_int_equal(eval("(1+2)*3"), 9);
	assert_int_equal(eval("1<<4+1"), 32);		/* + binds tighter than << */
	assert_int_equal(eval("1|2&3"), 3);		/* & before | */
	assert_int_equal(eval("6^3&1"), 7);		/* & before ^ */
	assert_int_equal(eval("1|6^3"), 5);		/* ^ before | */
	assert_int_equal(eval("10-4-3"), 3);		/* left associative */
	assert_int_equal(eval("100/10/5"), 2);
	assert_int_equal(eval("17%5*2"), 4);
	assert_int_equal(eval("-1"), UINT64_MAX);
	assert_int_equal(eval("~0"), UINT64_MAX);
	assert_int_equal(eval("--5"), 5);
	assert_int_equal(eval("-~0"), 1);
	assert_int_equal(eval("0-1"), UINT64_MAX);	/* wraps */
	assert_int_equal(eval("0xffffffffffffffff+2"), 1);
	assert_int_equal(eval("0x8000000000000000*2"), 0);
	assert_int_equal(eval("1<<64"), 0);
	assert_int_equal(eval("256>>4"), 16);
	assert_int_equal(eval("PCI_COMMAND"), 4);
	assert_int_equal(eval("PCI_CAP_ID_MSIX+PCI_MSIX_FLAGS"), 0x11 + 2);
	assert_int_equal(eval("EBUSY"), 16);
	assert_int_equal(eval("H_PARAMETER"), (uint64_t)-4);
	assert_int_equal(eval("H_TOO_HARD"), 9999);
	assert_int_equal(eval("TCE_READ|TCE_WRITE"), 3);
	assert_int_equal(eval("VFIO_PCI_MSIX_IRQ_INDEX"), 2);
	assert_int_equal(eval("VFIO_IOMMU_MAP_DMA"), 0x3b71);
	/* Variables: indexes 0, 1 get 10, 11 in eval(). */
	assert_int_equal(eval_at("set i 0\nset j 0\n", "$i*4+$j", __LINE__), 51);
	parse_err("expect 1+ == 0\n", "t.scn:1:10: error: expected an operand at the end of '1+'");
	parse_err("expect (1+2 == 0\n", "t.scn:1:8: error: unbalanced '(': no ')' closes it");
	parse_err("expect 1+2) == 0\n", "t.scn:1:11: error: unbalanced ')' in '1+2)'");
	parse_err("expect 1@2 == 0\n", "t.scn:1:9: error: expected an operator, got '@2'");
	parse_err("expect *2 == 0\n", "t.scn:1:8: error: expected an operand, got '*2'");
	parse_err("expect $ == 0\n", "t.scn:1:8: error: expected a variable name after '$'");
	parse_err("expect PCI_COMAND == 0\n",
		  "t.scn:1:8: error: unknown symbol 'PCI_COMAND' (did you mean PCI_COMMAND?)");
	parse_err("expect 1+VFIO_IOMMU_MAP_DAM == 0\n",
		  "t.scn:1:10: error: unknown symbol 'VFIO_IOMMU_MAP_DAM' (did you mean "
		  "VFIO_IOMMU_MAP_DMA?)");
	parse_err("expect foo(d0,1) == 0\n",
		  "t.scn:1:8: error: unknown function 'foo' (expected cap, ecap, bar or barsize)");
	parse_err("device d0 dma-test\nexpect cap(d1,1) == 0\n",
		  "t.scn:2:12: error: unknown device 'd1' (devices are named by 'device' "
		  "statements before their use)");
	parse_err("device d0 dma-test\nexpect cap(d0 1) == 0\n",
		  "t.scn:2:14: error: expected ',' after the device name in cap(), got the end "
		  "of 'cap(d0' (no blanks inside an expression)");
	parse_err("device d0 dma-test\nexpect cap(d0;1) == 0\n",
		  "t.scn:2:14: error: expected ',' after the device name in cap(), got ';1)'");
	parse_err("device d0 dma-test\nexpect bar(d0,1 == 0\n",
		  "t.scn:2:16: error: expected ')' to close bar(, got the end of 'bar(d0,1'");
	parse_err("device d0 dma-test\nexpect d0.msix.bogus == 0\n",
		  "t.scn:2:11: error: unknown attribute 'msix.bogus' of device 'd0' (expected one "
		  "of: msix.entries, msix.table_bar, msix.table_offset, msix.pba_bar, "
		  "msix.pba_offset, msix.pba_quirk, interrupt, vectors, irqs.intx, irqs.msi, "
		  "irqs.msix, err_detected, req_count, has_flr, has_pm_reset, has_rom, rom_size, "
		  "config_size, vendor_id, device_id)");
	parse_err("device d0 dma-test\nexpect d0 == 0\n",
		  "t.scn:2:8: error: 'd0' is a device: use an attribute (d0.vendor_id, ...) or "
		  "a function (bar(d0,0), ...)");
	parse_err("expect \"1\" == 0\n", "t.scn:1:8: error: expected an expression, got the string \"1\"");
}

static bool dev_value(ScnEnv *env, const ScnExpr *e, uint64_t arg, uint64_t *out,
			  Error **errp)
{
	(void)env;
	(void)errp;
	*out = e->kind == SCN_E_ATTR ? 0x1000u + e->attr : 0x100u * e->kind + arg;
	return true;
}

static void test_eval_runtime(void **state)
{
	Scn *scn;
	const ScnStmt *st;
	uint64_t v, vars[256] = { 0 };
	bool defined[256] = { 0 };
	ScnEnv env = { 0 };
	Error *err = NULL;

	(void)state;
	scn = parse_ok("device d0 dma-test\n"
		       "expect $undef+1 == 0\n"
		       "expect 1/$z == 0\n"
		       "expect 7%$z == 0\n"
		       "expect d0.msix.pba_offset+bar(d0,2)+cap(d0,PCI_CAP_ID_MSIX) == 0\n");
	env.scn = scn;
	env.vars = vars;
	env.defined = defined;
	st = scn_stmt(scn, 1);
	assert_false(scn_expr_eval(st->args[0].e, &env, &v, &err));
	assert_string_equal(error_get_pretty(err), "variable $undef is not defined");
	assert_int_equal(env.err_col, 8);
	error_free(err);
	err = NULL;
	defined[1] = true;	/* $z = 0 */
	st = scn_stmt(scn, 2);
	assert_false(scn_expr_eval(st->args[0].e, &env, &v, &err));
	assert_string_equal(error_get_pretty(err), "division by zero");
	assert_int_equal(env.err_col, 9);
	error_free(err);
	err = NULL;
	st = scn_stmt(scn, 3);
	assert_false(scn_expr_eval(st->args[0].e, &env, &v, &err));
	assert_string_equal(error_get_pretty(err), "modulo by zero");
	error_free(err);
	err = NULL;
	env.device_value = dev_value;
	st = scn_stmt(scn, 4);
	assert_true(scn_expr_eval(st->args[0].e, &env, &v, &err));
	assert_int_equal(v, (0x1000u + SCN_ATTR_MSIX_PBA_OFFSET) + (0x100u * SCN_E_BAR + 2) +
			    (0x100u * SCN_E_CAP + 0x11));
	scn_free(scn);
	/* Constants fold at parse time (a division by zero does not). */
	scn = parse_ok("expect (1+2)*PCI_COMMAND == 0\nexpect 1/0 == 0\n");
	assert_int_equal(scn_stmt(scn, 0)->args[0].e->kind, SCN_E_NUM);
	assert_int_equal(scn_stmt(scn, 0)->args[0].e->num, 12);
	assert_int_equal(scn_stmt(scn, 1)->args[0].e->kind, SCN_E_DIV);
	scn_free(scn);
}

static void test_byte_strings(void **state)
{
	Scn *scn;
	const ScnStmt *st;

	(void)state;
	scn = parse_ok("ram.write 0 de:ad:be:ef\nram.write 0 hex:0102ff\nram.write 0 hex:\n"
		       "ram.write 0 00:FF\n");
	st = scn_stmt(scn, 0);
	assert_int_equal(st->args[1].nbytes, 4);
	assert_memory_equal(st->args[1].bytes, "\xde\xad\xbe\xef", 4);
	st = scn_stmt(scn, 1);
	assert_int_equal(st->args[1].nbytes, 3);
	assert_memory_equal(st->args[1].bytes, "\x01\x02\xff", 3);
	assert_int_equal(scn_stmt(scn, 2)->args[1].nbytes, 0);
	assert_memory_equal(scn_stmt(scn, 3)->args[1].bytes, "\x00\xff", 2);
	scn_free(scn);
	parse_err("ram.write 0 de\n",
		  "t.scn:1:13: error: expected a byte string (de:ad:be:ef or hex:deadbeef) after "
		  "the address, got 'de'");
	parse_err("ram.write 0 de:\n",
		  "t.scn:1:16: error: bad byte string 'de:' (expected two hex digits per byte "
		  "separated by ':', de:ad:be:ef, or hex:deadbeef)");
	parse_err("ram.write 0 de:a:be\n",
		  "t.scn:1:16: error: bad byte string 'de:a:be' (expected two hex digits per byte "
		  "separated by ':', de:ad:be:ef, or hex:deadbeef)");
	parse_err("ram.write 0 hex:abc\n",
		  "t.scn:1:13: error: bad byte string 'hex:abc': an odd number of hex digits");
	parse_err("ram.write 0 hex:zz\n",
		  "t.scn:1:17: error: bad byte string 'hex:zz': 'z' is not a hex digit");
	parse_err("ram.write 0 hex:abcd:\n",
		  "t.scn:1:13: error: bad byte string 'hex:abcd:': an odd number of hex digits");
}

static void test_checks(void **state)
{
	Scn *scn;
	const ScnStmt *st;

	(void)state;
	scn = parse_ok("device d0 dma-test\n"
		       "cfg.read d0 0 4 == 0x11f01b36 mask=0xffff\n"
		       "cfg.read d0 0 2 != 0\n"
		       "cfg.read d0 0 2 -> vid\n"
		       "device.irq d0 msix 3 == masked\n"
		       "device.dma-read d0 0x1000 2 == ab:cd => errno EFAULT\n"
		       "control \"help\" == \"irq\" => error \"bad\"\n"
		       "vfio.open-container c\n"
		       "vfio.read c CONFIG 0 64 crc32=0x1234\n"
		       "vfio.read c BAR2 0 2 == ab:cd\n"
		       "vfio.write c 7 0 2 12:34\n");
	st = scn_stmt(scn, 1);
	assert_int_equal(st->op, SCN_OP_CFG_READ);
	assert_int_equal(st->check.kind, SCN_CHECK_EQ);
	assert_int_equal(st->check.val->num, 0x11f01b36);
	assert_int_equal(st->check.mask->num, 0xffff);
	assert_int_equal(st->args[2].num, 4);
	assert_string_equal(st->text, "cfg.read d0 0 4 == 0x11f01b36 mask=0xffff");
	assert_int_equal(scn_stmt(scn, 2)->check.kind, SCN_CHECK_NE);
	st = scn_stmt(scn, 3);
	assert_int_equal(st->check.kind, SCN_CHECK_STORE);
	assert_string_equal(scn_var_name(scn, st->check.var), "vid");
	st = scn_stmt(scn, 4);
	assert_int_equal(st->args[1].num, SCN_IRQ_MSIX);
	assert_int_equal(st->check.kind, SCN_CHECK_WORD);
	assert_int_equal(st->check.word, SCN_IRQ_MASKED);
	st = scn_stmt(scn, 5);
	assert_int_equal(st->check.kind, SCN_CHECK_BYTES);
	assert_int_equal(st->fail, SCN_FAIL_ERRNO);
	assert_int_equal(st->fail_errno, 14);
	st = scn_stmt(scn, 6);
	assert_string_equal(st->args[0].str, "help");
	assert_string_equal(st->check.text, "irq");
	assert_int_equal(st->fail, SCN_FAIL_ERROR);
	assert_string_equal(st->fail_text, "bad");
	st = scn_stmt(scn, 8);
	assert_int_equal(st->args[1].num, 7);	/* CONFIG */
	assert_int_equal(st->args[3].num, 64);
	assert_int_equal(st->check.kind, SCN_CHECK_CRC);
	assert_int_equal(scn_stmt(scn, 9)->args[1].num, 2);
	assert_int_equal(scn_stmt(scn, 10)->args[4].nbytes, 2);
	scn_free(scn);
	parse_err("vfio.open-container c\nvfio.read c CONFIG 0 3 == 1\n",
		  "t.scn:2:24: error: a 3-byte read is checked with a byte string or crc32= "
		  "(a value needs 1, 2, 4 or 8 bytes)");
	parse_err("vfio.open-container c\nvfio.write c CONFIG 0 3 1:2\n",
		  "t.scn:2:25: error: bad byte string '1:2' (expected two hex digits per byte "
		  "separated by ':', de:ad:be:ef, or hex:deadbeef)");
	parse_err("vfio.open-container c\nvfio.write c CONFIG 0 3 01:02\n",
		  "t.scn:2:25: error: 2 bytes given for a length of 3");
	parse_err("vfio.open-container c\nvfio.write c CONFIG 0 3 7\n",
		  "t.scn:2:25: error: a value needs a length of 1, 2, 4 or 8, not 3 (give a byte "
		  "string)");
	assert_int_equal(scn_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

static void test_repeat(void **state)
{
	Scn *scn;
	unsigned i;
	char text[512] = "";

	(void)state;
	scn = parse_ok("repeat 3 i\n  repeat $i j\n  set x $j\n  end\nend\n");
	assert_int_equal(scn_stmt_count(scn), 5);
	assert_int_equal(scn_stmt(scn, 0)->jump, 4);
	assert_int_equal(scn_stmt(scn, 4)->jump, 0);
	assert_int_equal(scn_stmt(scn, 1)->jump, 3);
	assert_int_equal(scn_stmt(scn, 3)->jump, 1);
	assert_string_equal(scn_var_name(scn, (unsigned)scn_stmt(scn, 0)->var), "i");
	assert_string_equal(scn_var_name(scn, (unsigned)scn_stmt(scn, 1)->var), "j");
	scn_free(scn);
	parse_err("set x 1\n  end\n", "t.scn:2:3: error: 'end' without 'repeat'");
	parse_err("repeat 2\nrepeat 3\nend\n",
		  "t.scn:1:1: error: 'repeat' without 'end' (the file ends first)");
	parse_err("end x\n", "t.scn:1:5: error: unexpected 'x' after the statement");
	for (i = 0; i < 17; i++)
		strcat(text, "repeat 1\n");
	parse_err(text, "t.scn:17:1: error: 'repeat' blocks nest at most 16 deep");
	parse_err("repeat\n", "t.scn:1:7: error: expected a count after 'repeat'");
	parse_err("repeat 2 1x\n",
		  "t.scn:1:10: error: bad variable name '1x' (expected a name: a letter or '_', "
		  "then letters, digits or '_')");
}

static void test_symbols(void **state)
{
	uint64_t v;
	size_t i;

	(void)state;
	assert_true(scn_symbol_count > 500);
	for (i = 1; i < scn_symbol_count; i++)
		assert_true(strcmp(scn_symbol_table[i - 1].name, scn_symbol_table[i].name) < 0);
	assert_true(scn_symbol_lookup("PCI_STATUS", 10, &v));
	assert_int_equal(v, 6);
	assert_true(scn_symbol_lookup("PCI_STATUSX", 10, &v));	/* by length */
	assert_false(scn_symbol_lookup("PCI_STATU", 9, &v));
	assert_false(scn_symbol_lookup("VFIO_DEVICE_API_PCI_STRING", 26, &v)); /* a string */
	assert_true(scn_symbol_lookup("H_SUCCESS", 9, &v));
	assert_int_equal(v, 0);
	assert_true(scn_symbol_lookup("H_RESOURCE", 10, &v));
	assert_int_equal((int64_t)v, -16);
	assert_string_equal(scn_errno_name(16), "EBUSY");
	assert_string_equal(scn_errno_name(11), "EAGAIN");
	assert_null(scn_errno_name(100000));
	assert_string_equal(scn_symbol_closest("PCI_COMAND", 10), "PCI_COMMAND");
}

/* head + prefix*n + mid + suffix*m + " == 1\n" (on the heap: long lines). */
static char *repeated(const char *head, const char *prefix, unsigned n, const char *mid,
		      const char *suffix, unsigned m)
{
	size_t len = strlen(head) + strlen(prefix) * n + strlen(mid) + strlen(suffix) * m + 16;
	char *b = malloc(len), *p = b;
	unsigned i;

	assert_non_null(b);
	p += sprintf(p, "%s", head);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s", prefix);
	p += sprintf(p, "%s", mid);
	for (i = 0; i < m; i++)
		p += sprintf(p, "%s", suffix);
	sprintf(p, " == 1\n");
	return b;
}

/* Regression rows from tests/fuzz/fuzz-scn and the review. */
static void test_limits(void **state)
{
	char *t, b[2048];
	Scn *scn;
	int n, i;

	(void)state;
	/* 100k nested parentheses overflowed the stack (recursive descent) */
	t = repeated("expect ", "(", 100000, "1", ")", 100000);
	parse_err(t, "t.scn:1:72: error: expression nested more than 64 deep (parentheses, "
		  "unary operators, function arguments)");
	free(t);
	t = repeated("expect ", "(", 64, "1", ")", 64);
	scn = parse_ok(t);
	scn_free(scn);
	free(t);
	t = repeated("expect ", "-", 100000, "1", "", 0);
	parse_err(t, "t.scn:1:72: error: expression nested more than 64 deep (parentheses, "
		  "unary operators, function arguments)");
	free(t);
	t = repeated("device d dma-test\nexpect ", "cap(d,", 100, "1", ")", 100);
	parse_err(t, "t.scn:2:396: error: expression nested more than 64 deep (parentheses, "
		  "unary operators, function arguments)");
	free(t);
	/* a long operator chain: a deep tree to evaluate and free */
	t = repeated("expect ", "$x+", 600, "1", "", 0);
	parse_err(t, "t.scn:1:1544: error: expression longer than 1024 operands and operators");
	free(t);
	t = repeated("expect ", "$x+", 500, "1", "", 0);
	scn = parse_ok(t);
	scn_free(scn);
	free(t);
	/* words that go into control-socket requests are one word each */
	parse_err("control \"a\\nb\"\n",
		  "t.scn:1:9: error: a control request is one line, not several ('\\n' inside)");
	parse_err("control \"\"\n", "t.scn:1:9: error: a control request is one line, not empty");
	parse_err("device d dma-test\ndevice.aer d uncorrectable a\"b c\"\n",
		  "t.scn:2:28: error: expected an error bit (UNSUP, MALF_TLP, ...) or a mask after "
		  "the severity, got 'a\"b c\"' (blanks or control characters inside)");
	parse_err("fault VFIO_IOMMU_MAP_DMA errno=EBUSY x=a\"b c\"\n",
		  "t.scn:1:38: error: bad rule word 'x=ab c' (blanks or control characters inside)");
	parse_err("expect.event reset how=\"a b\"\n",
		  "t.scn:1:20: error: bad filter 'how=a b' (a field value has no blanks or control "
		  "characters)");
	/* vfio.ioctl: more keys than the executor passes is an error, not a cut */
	n = snprintf(b, sizeof(b), "vfio.ioctl h VFIO_IOMMU_MAP_DMA");
	for (i = 0; i < 33; i++)
		n += snprintf(b + n, sizeof(b) - (size_t)n, " iova=%d", i);
	snprintf(b + n, sizeof(b) - (size_t)n, "\n");
	parse_err(b, "t.scn:1:279: error: more than 32 KEY=VALUE for vfio.ioctl");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lexical_errors),
		cmocka_unit_test(test_statement_errors),
		cmocka_unit_test(test_check_and_fail_errors),
		cmocka_unit_test(test_machine_device_errors),
		cmocka_unit_test(test_machine_devices),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_expressions),
		cmocka_unit_test(test_eval_runtime),
		cmocka_unit_test(test_byte_strings),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_repeat),
		cmocka_unit_test(test_symbols),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The profile model and sim-capture's library: every parser error (exact
 * FILE:LINE and a key phrase), a hand-written profile that loads and
 * behaves, the shipped profiles, captures of fake sysfs trees, and the
 * capture round trip of every real PCI device of this machine.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sim/profile.h"
#include "testlib.h"

#define SYSFS_PCI "/sys/bus/pci/devices"

/* ---- helpers ------------------------------------------------------------- */

static char *write_tmp(const char *text)
{
	char path[] = "/tmp/test_profile_XXXXXX";
	int fd = mkstemp(path);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return strdup(path);
}

static SimDevice *load_text(const char *text)
{
	char *path = write_tmp(text);
	Error *err = NULL;
	SimDevice *dev = sim_profile_load(path, "0000:01:00.0", &err);

	if (!dev)
		fail_msg("profile does not load: %s", error_get_pretty(err));
	unlink(path);
	free(path);
	return dev;
}

/* Loading text fails with "PATH:LINE:" in front and phrase in the message. */
static bool check_error(const char *name, const char *text, unsigned line,
			const char *phrase)
{
	char *path = write_tmp(text), prefix[256];
	Error *err = NULL;
	SimDevice *dev = sim_profile_load(path, "0000:01:00.0", &err);
	const char *msg;
	bool ok;

	snprintf(prefix, sizeof(prefix), "%s:%u:", path, line);
	if (dev) {
		print_error("case '%s': loaded, expected an error at %s\n", name, prefix);
		sim_device_free(dev);
		unlink(path);
		free(path);
		return false;
	}
	msg = err ? error_get_pretty(err) : "(no error)";
	ok = !strncmp(msg, prefix, strlen(prefix)) && strstr(msg, phrase);
	if (!ok)
		print_error("case '%s':\n  got:  %s\n  want: %s ... %s\n", name, msg, prefix, phrase);
	error_free(err);
	unlink(path);
	free(path);
	return ok;
}

typedef struct ErrCase {
	const char *name;
	const char *text;
	unsigned line;
	const char *phrase;
} ErrCase;

static void run_cases(const ErrCase *cases, size_t n)
{
	unsigned bad = 0;

	for (size_t i = 0; i < n; i++)
		bad += !check_error(cases[i].name, cases[i].text, cases[i].line, cases[i].phrase);
	if (bad)
		fail_msg("%u of %zu error cases failed", bad, n);
}

#define P1 "profile 1\n"
/* A 4 KiB 32-bit memory BAR0 at 0xfebf0000 (6 BAR lines and the ROM). */
#define RES_BAR0 "resource\n" \
	"0x00000000febf0000 0x00000000febf0fff 0x0000000000040200\n" \
	"0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n" \
	"end\n"
/* Status Cap+, pointer 0x40: PM at 0x40 -> MSI-X at 0x50 (4 vectors). */
#define CAPS "config 0x006: 10 00\nconfig 0x034: 40\n" \
	"config 0x040: 01 50 03 00 08 00 00 00\n"
#define MSIX(tbl, pba) "config 0x050: 11 00 03 00 " tbl " " pba "\n"

/* ---- parser errors ------------------------------------------------------- */

static const ErrCase syntax_cases[] = {
	{ "unknown directive", P1 "frobnicate 3\n", 2, "unknown directive 'frobnicate'" },
	{ "bad number", P1 "vendor 0xzz\n", 2, "bad number '0xzz' for vendor" },
	{ "bad decimal", P1 "config-size 25x\n", 2, "bad number '25x'" },
	{ "number over 64 bits", P1 "vendor 0x10000000000000000\n", 2, "out of range" },
	{ "value out of range", P1 "vendor 0x10000\n", 2, "vendor 0x10000 is out of range: expected at most 0xffff" },
	{ "class out of range", P1 "class 0x1000000\n", 2, "class 0x1000000 is out of range" },
	{ "revision out of range", P1 "revision 256\n", 2, "revision 256 is out of range" },
	{ "missing profile 1", "# comment\n\nvendor 0x1234\n", 3, "expected 'profile 1' as the first directive, got 'vendor'" },
	{ "empty file", "", 1, "unexpected end of file: expected 'profile 1'" },
	{ "only comments", "# one\n   # two\n\n", 3, "unexpected end of file" },
	{ "wrong version", "profile 2\n", 1, "unsupported profile format version 2" },
	{ "version not a number", "profile one\n", 1, "bad number 'one' for format version" },
	{ "duplicate profile", P1 "profile 1\n", 2, "duplicate 'profile' (first given on line 1)" },
	{ "profile missing version", "profile\n", 1, "'profile' is missing arguments" },
	{ "extra argument", P1 "vendor 0x1234 0x5678\n", 2, "unexpected '0x5678' after 'vendor'" },
	{ "duplicate directive", P1 "vendor 0x1234\n# x\nvendor 0x1234\n", 4, "duplicate 'vendor' (first given on line 2)" },
	{ "duplicate name", P1 "name a\nname b\n", 3, "duplicate 'name'" },
	{ "name missing text", P1 "name\n", 2, "'name' is missing its text" },
	{ "name too long", P1 "name "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
	  "xxx\n", 2, "name is too long (201 characters)" },
	{ "config-size value", P1 "config-size 512\n", 2, "config-size 512 is out of range: expected 256 or 4096" },
	{ "vf value", P1 "vf maybe\n", 2, "bad value 'maybe' for vf: expected 'yes' or 'no'" },
	{ "end outside block", P1 "end\n", 2, "'end' outside a resource block" },
	{ "line too long", P1 "# "
	  "................................................................................................................................"
	  "................................................................................................................................"
	  "................................................................................................................................"
	  "................................................................................................................................"
	  "................................................................................................................................"
	  "................................................................................................................................"
	  "................................................................................................................................"
	  "................................................................................................................................"
	  "\n", 2, "line too long" },
	{ "control character", P1 "vendor\x01 0x1\n", 2, "control character 0x01" },
	{ "uppercase hex is fine", P1 "vendor 0XABCD\nconfig 0x00E: 0A\nvendor 0x1\n", 4, "duplicate 'vendor'" },
	{ "vf missing value", P1 "vf\n", 2, "'vf' is missing arguments: expected 'vf yes|no'" },
	{ "too many fields", P1 "config 0x0: 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1\n", 2,
	  "too many fields on one line" },
};

static void test_errors_syntax(void **state)
{
	(void)state;
	run_cases(syntax_cases, sizeof(syntax_cases) / sizeof(syntax_cases[0]));
}

static const ErrCase config_cases[] = {
	{ "config offset outside config-size", P1 "config-size 256\nconfig 0x100: 00\n", 3,
	  "config offset 0x100 (+1 bytes) is outside the 256-byte config space" },
	{ "config outside default size", P1 "config 0x0f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n", 2,
	  "too many bytes on one line (17): expected at most 16" },
	{ "config runs past default size", P1 "config 0x0ff: 00 00\n", 2,
	  "outside the 256-byte config space: expected offsets below 0x100 (no config-size: 256 by default)" },
	{ "config offset past 4 KiB", P1 "config 0x1000: 00\n", 2, "config offset 0x1000 is out of range" },
	{ "config bytes run past 4 KiB", P1 "config-size 4096\nconfig 0xffe: 00 00 00\n", 3, "run past the end of config space" },
	{ "too many bytes", P1 "config 0x040: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10\n", 2,
	  "too many bytes on one line (17)" },
	{ "overlapping config bytes", P1 "config 0x040: 01 02\nconfig 0x041: 03\n", 3,
	  "config byte 0x041 is already given on line 2" },
	{ "bad byte", P1 "config 0x040: 01 0g\n", 2, "bad byte '0g': expected two hex digits" },
	{ "byte too long", P1 "config 0x040: 011\n", 2, "bad byte '011'" },
	{ "byte with 0x", P1 "config 0x040: 0x1\n", 2, "bad byte '0x1'" },
	{ "missing colon", P1 "config 0x040 01 02\n", 2, "expected ':' after the offset" },
	{ "no bytes", P1 "config 0x040:\n", 2, "no bytes after the offset" },
	{ "no offset", P1 "config\n", 2, "'config' is missing arguments" },
	{ "bad offset", P1 "config 0xq0: 00\n", 2, "bad number '0xq0' for config offset" },
	{ "set width", P1 "set 0x40 3 0x1\n", 2, "width 3 is out of range: expected 1, 2 or 4" },
	{ "set value too wide", P1 "set 0x40 1 0x100\n", 2, "value 0x100 does not fit in 1 byte" },
	{ "set bad value", P1 "set 0x40 2 zz\n", 2, "bad number 'zz' for value" },
	{ "set past 4 KiB", P1 "set 0xffe 4 0\n", 2, "runs past the end of config space" },
	{ "set outside config-size", P1 "set 0x100 4 0\n", 2, "outside the 256-byte config space" },
	{ "set overlaps set", P1 "set 0x40 4 0\nset 0x42 1 0\n", 3, "overlaps the set on line 2" },
	{ "set missing args", P1 "set 0x40 4\n", 2, "'set' is missing arguments" },
	{ "set width not a number", P1 "set 0x40 x 0\n", 2, "bad number 'x' for width" },
	{ "mask missing args", P1 "mask rw 0x40 1\n", 2, "'mask' is missing arguments" },
	{ "mask kind", P1 "mask ro 0x40 1 0xff\n", 2, "bad mask kind 'ro': expected rw, w1c or hardwired" },
	{ "mask outside config-size", P1 "mask w1c 0x1fe 2 0xffff\n", 2, "outside the 256-byte config space" },
	{ "header type 2", P1 "config 0x00e: 02\n", 2, "header type 2 is not supported" },
	{ "header type from set", P1 "set 0xe 1 0x7f\n", 2, "header type 127 is not supported" },
};

static void test_errors_config(void **state)
{
	(void)state;
	run_cases(config_cases, sizeof(config_cases) / sizeof(config_cases[0]));
}

static const ErrCase bar_cases[] = {
	{ "bad resource line: two fields", P1 "resource\n0x0 0x0 0x0\n0x0 0x1\nend\n", 4,
	  "bad resource line: expected 'START END FLAGS'" },
	{ "bad resource line: four fields", P1 "resource\n0x0 0x0 0x0 0x0\nend\n", 3, "bad resource line" },
	{ "bad resource line: not a number", P1 "resource\n0x0 0xq 0x0\nend\n", 3, "'0xq' is not a number" },
	{ "bad resource line: 65 bits", P1 "resource\n0x0 0x10000000000000000 0x0\nend\n", 3,
	  "bad resource line: 0x10000000000000000 is out of range" },
	{ "bad resource line: end below start", P1 "resource\n0x2000 0x1fff 0x200\nend\n", 3, "end 0x1fff is below start 0x2000" },
	{ "bad resource line: all of 2^64", P1 "resource\n0x0 0xffffffffffffffff 0x200\nend\n", 3, "covers all 2^64 addresses" },
	{ "bad resource line: flags", P1 "resource\n0x1000 0x1fff 0x400\nend\n", 3, "neither I/O (0x100) nor memory (0x200)" },
	{ "bad resource line: ROM is I/O", P1 "resource\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n"
	  "0x0 0x0 0x0\n0x0 0x0 0x0\n0x1000 0x17ff 0x100\nend\n", 9, "the ROM (line 7 of the table) must be memory" },
	{ "resource count: too few", P1 "# x\nresource\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\nend\n", 3,
	  "resource count: the block has 3 lines: expected at least 7" },
	{ "resource count: empty", P1 "resource\nend\n", 2, "the block has 0 lines" },
	{ "unterminated resource block", P1 "name x\nresource\n0x0 0x0 0x0\n", 3, "unterminated resource block: expected 'end'" },
	{ "resource inside block", P1 "resource\nvendor 0x1234\n", 3, "bad resource line" },
	{ "duplicate resource", P1 RES_BAR0 "resource\n", 11, "duplicate 'resource' (first given on line 2)" },
	{ "resource with argument", P1 "resource 7\n", 2, "unexpected '7' after 'resource'" },
	{ "bad BAR index", P1 "bar 6 mem32 size=0x1000\n", 2, "bad BAR index 6: expected 0..5 (the ROM is declared with 'rom size=...')" },
	{ "bad BAR index word", P1 "bar x mem32 size=0x1000\n", 2, "bad number 'x' for BAR index" },
	{ "bad BAR index of reg", P1 "reg 7 0x0 4 0\n", 2, "bad BAR index 7: expected 0..5" },
	{ "BAR size not a power of two", P1 "bar 0 mem32 size=0x3000\n", 2, "BAR0 size 0x3000 is not a power of two" },
	{ "resource size not a power of two", P1 "resource\n0x1000 0x3fff 0x200\nend\n", 3, "BAR0 size 0x3000 is not a power of two" },
	{ "64-bit BAR at index 5", P1 "bar 5 mem64 size=0x1000\n", 2, "64-bit BAR5 at index 5" },
	{ "64-bit resource at index 5", P1 "resource\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n"
	  "0xfe000000 0xfe003fff 0x00140204\n0x0 0x0 0x0\nend\n", 8, "64-bit BAR5 at index 5" },
	{ "BAR declared twice", P1 RES_BAR0 "bar 0 mem32 size=0x1000\n", 11, "BAR0 is already declared on line 3" },
	{ "I/O BAR too big", P1 "bar 1 io size=0x20000\n", 2, "I/O BAR1 size 0x20000 is out of range" },
	{ "memory BAR too small", P1 "bar 1 mem32 size=8\n", 2, "memory BAR1 size 0x8 is out of range" },
	{ "32-bit BAR too big", P1 "bar 1 mem32 size=0x100000000\n", 2, "32-bit BAR1 size 0x100000000 is out of range" },
	{ "64-bit BAR too big", P1 "bar 0 mem64 size=0x10000000000000000\n", 2, "size 0x10000000000000000 is out of range" },
	{ "ROM too small", P1 "rom size=0x400\n", 2, "ROM size 0x400 is out of range: expected 2 KiB to 16 MiB" },
	{ "ROM size not a number", P1 "rom size=big\n", 2, "bad number 'big' for size" },
	{ "ROM option", P1 "rom size=0x800 fill=0\n", 2, "unknown option 'fill=' for 'rom'" },
	{ "ROM without size", P1 "rom addr=0x1000\n", 2, "'rom' is missing size=" },
	{ "BAR type", P1 "bar 0 mem16 size=0x1000\n", 2, "bad BAR type 'mem16'" },
	{ "I/O prefetch", P1 "bar 0 io prefetch size=0x100\n", 2, "an I/O BAR cannot be prefetchable" },
	{ "BAR without size", P1 "bar 0 mem32 addr=0x0\n", 2, "'bar' is missing size=" },
	{ "BAR missing arguments", P1 "bar 0 mem32\n", 2, "'bar' is missing arguments" },
	{ "unknown option", P1 "bar 0 mem32 size=0x1000 align=4\n", 2, "unknown option 'align=' for 'bar'" },
	{ "option twice", P1 "bar 0 mem32 size=0x1000 size=0x2000\n", 2, "option 'size=' given twice" },
	{ "option without value", P1 "bar 0 mem32 size=\n", 2, "option 'size=' has no value" },
	{ "option not key=value", P1 "bar 0 mem32 size=0x1000 fast\n", 2, "unexpected 'fast'" },
	{ "upper half declared", P1 "bar 0 mem64 size=0x1000\nbar 1 mem32 size=0x1000\n", 3,
	  "BAR1 is the upper half of 64-bit BAR0 (line 2)" },
	{ "address not aligned", P1 "bar 0 mem32 size=0x1000 addr=0xfebf0800\n", 2,
	  "BAR0 address 0xfebf0800 is not aligned to its size 0x1000" },
	{ "address beyond 32 bits", P1 "bar 0 mem32 size=0x1000 addr=0x100000000\n", 2,
	  "BAR0 address 0x100000000 does not fit a 32-bit BAR" },
	{ "register says I/O", P1 RES_BAR0 "config 0x010: 01 e0 00 00\n", 11,
	  "config 0x10: the BAR0 register 0x0000e001 says I/O, but line 3 declares 32-bit memory" },
	{ "register says 64-bit", P1 RES_BAR0 "config 0x010: 04 00 bf fe\n", 11, "says 64-bit memory, but line 3 declares 32-bit memory" },
	{ "register says memory", P1 "bar 2 io size=0x20\nconfig 0x018: 00 e0 00 00\n", 3,
	  "the BAR2 register 0x0000e000 says memory, but line 2 declares an I/O BAR" },
	{ "register address not aligned", P1 RES_BAR0 "config 0x010: 00 08 bf fe\n", 3,
	  "BAR0 address 0xfebf0800 is not aligned to its size 0x1000" },
	{ "addr= disagrees with register", P1 "bar 0 mem32 size=0x1000 addr=0xfe000000\nconfig 0x010: 00 00 bf fe\n", 2,
	  "BAR0 addr=0xfe000000 disagrees with its register" },
	{ "type 1 header with BAR2", P1 "config 0x00e: 01\nbar 2 mem32 size=0x1000\n", 3,
	  "BAR2 does not exist in a type 1 (bridge) header" },
	{ "type 1 header with ROM", P1 "config 0x00e: 81\nrom size=0x800\n", 3,
	  "the expansion ROM of a type 1 (bridge) header is not modelled" },
};

static void test_errors_bars(void **state)
{
	(void)state;
	run_cases(bar_cases, sizeof(bar_cases) / sizeof(bar_cases[0]));
}

static const ErrCase cap_cases[] = {
	{ "drop where there is no cap", P1 CAPS RES_BAR0 MSIX("00 00 00 00", "00 08 00 00") "drop cap 0x60\n", 15,
	  "no capability at 0x60 to drop: expected the offset of one in the chain (0x40 0x50)" },
	{ "drop ecap without ecaps", P1 "drop ecap 0x100\n", 2, "no extended capability at 0x100 to drop" },
	{ "drop missing offset", P1 "drop cap\n", 2, "'drop' is missing arguments" },
	{ "drop kind", P1 "drop vpd 0x40\n", 2, "bad capability kind 'vpd'" },
	{ "drop offset range", P1 "drop cap 0x100\n", 2, "capability offset 0x100 is out of range: expected at most 0xfc" },
	{ "duplicate drop", P1 CAPS "drop cap 0x40\ndrop cap 0x40\n", 6, "duplicate 'drop cap 0x40' (first given on line 5)" },
	{ "msix without MSI-X", P1 CAPS "msix pba=0x800\n", 5, "'msix' overrides the MSI-X capability, but the capability chain has none" },
	{ "msix dropped", P1 CAPS RES_BAR0 MSIX("00 00 00 00", "00 08 00 00") "drop cap 0x50\nmsix pba=0x800\n", 16,
	  "the capability chain has none" },
	{ "msix pba not aligned", P1 "msix pba=0x804\n", 2, "pba 0x804 is out of range: expected a non-zero multiple of 8" },
	{ "msix pba not a number", P1 "msix pba=x\n", 2, "bad number 'x' for pba" },
	{ "msix option", P1 "msix table=0x0\n", 2, "unknown option 'table=' for 'msix'" },
	{ "msix without pba", P1 "msix\n", 2, "'msix' is missing pba=" },
	{ "msix twice", P1 "msix pba=0x800\nmsix pba=0x800\n", 3, "duplicate 'msix'" },
	{ "MSI-X table BAR not declared", P1 CAPS MSIX("02 00 00 00", "02 08 00 00"), 5,
	  "puts MSI-X table in BAR2, which is not declared" },
	{ "MSI-X PBA outside BAR", P1 CAPS RES_BAR0 MSIX("00 00 00 00", "00 80 00 00"), 14,
	  "reports the PBA at 0x8000, outside BAR0 (0x1000 bytes): if the device reports a wrong offset, give the real one with 'msix pba=0x...'" },
	{ "MSI-X override PBA outside BAR", P1 CAPS RES_BAR0 MSIX("00 00 00 00", "00 80 00 00") "msix pba=0x1000\n", 15,
	  "MSI-X PBA at 0x1000 (0x8 bytes) does not fit in BAR0 (0x1000 bytes)" },
	{ "MSI-X table outside BAR", P1 CAPS RES_BAR0 MSIX("e0 0f 00 00", "00 08 00 00"), 14,
	  "MSI-X table at 0xfe0 (0x40 bytes) does not fit in BAR0" },
	{ "MSI-X table overlaps PBA", P1 CAPS RES_BAR0 MSIX("00 00 00 00", "20 00 00 00"), 14,
	  "the MSI-X PBA at BAR0+0x20 overlaps the MSI-X table at BAR0+0x0" },
	{ "second MSI-X", P1 CAPS RES_BAR0 "config 0x050: 11 60 00 00 00 00 00 00 00 08 00 00\n"
	  "config 0x060: 11 00 00 00 00 01 00 00 00 09 00 00\n", 15, "a second MSI-X capability at 0x60 (the first is at 0x50)" },
	{ "MSI reserved MMC", P1 "config 0x006: 10 00\nconfig 0x034: 60\nconfig 0x060: 05 00 0c 00\n", 4,
	  "Multiple Message Capable 6 is reserved" },
	{ "second MSI", P1 "config 0x006: 10 00\nconfig 0x034: 60\nconfig 0x060: 05 70 00 00\nconfig 0x070: 05 00 00 00\n", 5,
	  "a second MSI capability at 0x70 (the first is at 0x60)" },
	{ "MSI-X cap past 0x100", P1 "config 0x006: 10 00\nconfig 0x034: f8\nconfig 0x0f8: 11 00 00 00\n", 4,
	  "the MSI-X capability at 0xf8 needs 0xc bytes" },
	{ "PCIe cap past 0x100", P1 "config 0x006: 10 00\nconfig 0x034: f0\nconfig 0x0f0: 10 00 02 00\n", 4,
	  "the PCI Express capability at 0xf0 needs 0x32 bytes and runs past the end of the standard config space" },
	{ "capability chain loop", P1 "config 0x006: 10 00\nconfig 0x034: 40\nconfig 0x040: 09 50\nconfig 0x050: 09 40\n", 5,
	  "the capability chain loops: the pointer at 0x51 leads back to 0x40" },
	{ "extended chain loop", P1 "config-size 4096\nconfig 0x100: 01 00 01 14\nconfig 0x140: 0e 00 01 10\n", 4,
	  "the extended capability chain loops: the header at 0x140 leads back to 0x100" },
	{ "AER past the end", P1 "config-size 4096\nconfig 0x100: 0b 00 01 fe\nconfig 0xfe0: 01 00 02 00\n", 4,
	  "the extended capability 0x0001 at 0xfe0 needs 0x2c bytes and runs past the end of config space" },
};

static void test_errors_caps(void **state)
{
	(void)state;
	run_cases(cap_cases, sizeof(cap_cases) / sizeof(cap_cases[0]));
}

static const ErrCase content_cases[] = {
	{ "reg outside BAR", P1 RES_BAR0 "reg 0 0x1000 4 0\n", 11, "reg at 0x1000 (0x4 bytes) is outside BAR0 (0x1000 bytes)" },
	{ "reg straddles the end", P1 RES_BAR0 "reg 0 0xff8 8 0\nreg 0 0x0ffc 8 0\n", 12, "reg offset 0xffc is not aligned to its width 8" },
	{ "ram outside BAR", P1 RES_BAR0 "ram 0 0x800 0x1000\n", 11, "ram at 0x800 (0x1000 bytes) is outside BAR0" },
	{ "overlapping regs", P1 RES_BAR0 "reg 0 0x10 4 0\nreg 0 0x20 4 0\nreg 0 0x12 2 0\n", 13,
	  "reg at BAR0+0x12 (0x2 bytes) overlaps the reg at BAR0+0x10 on line 11" },
	{ "reg inside ram", P1 RES_BAR0 "reg 0 0x40 4 0\nram 0 0x0 0x100\n", 12,
	  "ram at BAR0+0x0 (0x100 bytes) overlaps the reg at BAR0+0x40 on line 11" },
	{ "regs at one offset", P1 RES_BAR0 "reg 0 0x10 4 0 name=A\nreg 0 0x10 4 0 name=B\n", 12,
	  "reg at BAR0+0x10 (0x4 bytes) overlaps the reg at BAR0+0x10 on line 11" },
	{ "reg option", P1 "reg 0 0x0 4 0 ro=1\n", 2, "unknown option 'ro=' for 'reg'" },
	{ "ram option", P1 "ram 0 0x0 0x10 fill=1 x=2\n", 2, "unknown option 'x=' for 'ram'" },
	{ "reg undeclared BAR", P1 "reg 3 0x0 4 0\n", 2, "reg in BAR3, which is not declared" },
	{ "reg in upper half", P1 "bar 0 mem64 size=0x1000\nram 1 0x0 0x10\n", 3, "ram in BAR1, which is not declared" },
	{ "reg width", P1 "reg 0 0x0 3 0\n", 2, "width 3 is out of range: expected 1, 2, 4 or 8" },
	{ "reg reset too wide", P1 "reg 0 0x0 2 0x10000\n", 2, "reset value 0x10000 does not fit in 2 bytes" },
	{ "reg rw mask too wide", P1 "reg 0 0x0 1 0 rw=0x100\n", 2, "rw mask 0x100 does not fit in 1 byte" },
	{ "reg w1c mask bad", P1 "reg 0 0x0 1 0 w1c=x\n", 2, "bad number 'x' for w1c mask" },
	{ "reg missing args", P1 "reg 0 0x0 4\n", 2, "'reg' is missing arguments" },
	{ "reg name too long", P1 "reg 0 0 4 0 name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 2,
	  "reg name is too long" },
	{ "reg overlaps MSI-X table", P1 CAPS RES_BAR0 MSIX("00 00 00 00", "00 08 00 00") "reg 0 0x30 4 0\n", 15,
	  "reg at BAR0+0x30 overlaps the MSI-X table (BAR0+0x0, 0x40 bytes)" },
	{ "ram overlaps MSI-X PBA", P1 CAPS RES_BAR0 MSIX("00 00 00 00", "00 08 00 00") "ram 0 0x800 0x10\n", 15,
	  "ram at BAR0+0x800 overlaps the MSI-X PBA" },
	{ "ram size zero", P1 "ram 0 0x0 0\n", 2, "RAM size 0 is out of range" },
	{ "ram block too big", P1 "ram 0 0x0 0x4000001\n", 2, "RAM size 0x4000001 is out of range: expected at most 0x4000000" },
	{ "ram total too big", P1 "ram 0 0x0 0x4000000\nram 1 0x0 0x4000000\nram 2 0x0 0x4000000\n"
	  "ram 3 0x0 0x4000000\nram 4 0x0 0x1\n", 6, "all ram directives together may hold at most 256 MiB" },
	{ "ram fill too big", P1 "ram 0 0x0 0x10 fill=0x100\n", 2, "fill 0x100 is out of range" },
	{ "ram missing args", P1 "ram 0 0x0\n", 2, "'ram' is missing arguments" },
};

static void test_errors_contents(void **state)
{
	(void)state;
	run_cases(content_cases, sizeof(content_cases) / sizeof(content_cases[0]));
}

static void test_error_unreadable_file(void **state)
{
	Error *err = NULL;
	const char *path = "/nonexistent/dir/x.profile";
	(void)state;

	assert_null(sim_profile_load(path, "x", &err));
	assert_non_null(err);
	assert_string_equal(error_get_pretty(err),
			    "/nonexistent/dir/x.profile: cannot open profile: No such file or directory");
	error_free(err);
	err = NULL;
	/* A directory opens but cannot be read as a file. */
	assert_null(sim_profile_load("/tmp", "x", &err));
	assert_non_null(err);
	assert_string_equal(error_get_pretty(err), "/tmp:1: read error: Is a directory");
	error_free(err);
}

/* Resource blocks with more than 64 lines; more than 32 fields; the reg cap. */
static void test_error_bounds(void **state)
{
	char *text = malloc(200 * 40 + 64), *p = text;
	(void)state;

	p += sprintf(p, P1 "resource\n");
	for (unsigned i = 0; i < 65; i++)
		p += sprintf(p, "0x0 0x0 0x0\n");
	sprintf(p, "end\n");
	assert_true(check_error("65 resource lines", text, 67, "resource count: more than 64 lines"));
	free(text);

	/* At most 65536 set/mask/drop and 65536 reg/ram directives. */
	text = malloc(65537 * 24 + 64);
	p = text + sprintf(text, P1);
	for (unsigned i = 0; i < 65537; i++)
		p += sprintf(p, "mask rw 0x40 1 0\n");
	assert_true(check_error("65537 masks", text, 65538, "too many drop/set/mask directives: expected at most 65536"));
	p = text + sprintf(text, P1);
	for (unsigned i = 0; i < 65537; i++)
		p += sprintf(p, "reg 0 0x%x 1 0\n", i);
	assert_true(check_error("65537 regs", text, 65538, "too many reg and ram directives: expected at most 65536"));
	free(text);
}

static void test_model_params(void **state)
{
	char *msg;
	(void)state;

	msg = tl_model_error("profile", NULL);
	assert_non_null(strstr(msg, "parameter file=PATH is required"));
	free(msg);
	msg = tl_model_error("profile", "file=");
	assert_non_null(strstr(msg, "parameter file=PATH is required"));
	free(msg);
	msg = tl_model_error("profile", "file=/nonexistent.profile");
	assert_string_equal(msg, "/nonexistent.profile: cannot open profile: No such file or directory");
	free(msg);
}

/* ---- a hand-written profile that loads and behaves ----------------------- */

static const char nic_profile[] =
	"# A test NIC: every directive once\n"
	"profile 1\n"
	"name Test NIC  (hand written)\n"
	"config-size 4096\n"
	"vendor 0x8086\n"
	"device 0x10fb\n"
	"subsystem_vendor 0x8086\n"
	"subsystem_device 0x000c\n"
	"class 0x020000\n"
	"revision 0x01\n"
	"vf no\n"
	"resource\n"
	"0x00000000fe000000 0x00000000fe00ffff 0x000000000014220c\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	"0x000000000000e000 0x000000000000e01f 0x0000000000040101\n"
	"0x00000000fd000000 0x00000000fd003fff 0x0000000000040200\n"
	"0x0 0x0 0x0\n"
	"0x0 0x0 0x0\n"
	"0x00000000fc000000 0x00000000fc00ffff 0x0000000000046200\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"	/* IOV, ignored */
	"end\n"
	"# command, status (Cap+), header; BARs; pointer; pin A\n"
	"config 0x004: 00 00 10 00\n"
	"config 0x010: 0c 00 00 fe 00 00 00 00 01 e0 00 00 00 00 00 fd\n"
	"config 0x030 : 00 00 00 fc 40 00 00 00 00 00 00 00 00 01 00 00\n"
	"# PM 0x40 -> MSI-X 0x50 -> vendor 0x60 -> PCIe 0x70\n"
	"config 0x040: 01 50 03 00 00 00 00 00\n"
	"config 0x050: 11 60 03 00 03 00 00 00 03 30 00 00\n"
	"config 0x060: 09 70 08 aa bb cc dd ee\n"
	"config 0x070: 10 00 02 00 00 80 00 10 10 28 00 00 11 0c 00 00\n"
	"config 0x080: 00 00 11 00\n"
	"# AER 0x100 -> ARI 0x140\n"
	"config 0x100: 01 00 02 14 00 00 00 00 00 00 00 00 30 20 46 00\n"
	"config 0x140: 0e 00 01 00\n"
	"drop cap 0x60\n"
	"msix pba=0x2000\n"
	"set 0x3c 1 0x0b\n"
	"mask rw 0x3c 1 0x0f\n"
	"mask hardwired 0x2c 4 0xffffffff\n"
	"reg 0 0x0 4 0x12345678 rw=0xffff0000 name=CTRL\n"
	"reg 0 0x8 4 0x0000000f w1c=0x0000000f name=STATUS\n"
	"reg 0 0x10 8 0x1122334455667788 rw=0xffffffffffffffff\n"
	"ram 0 0x1000 0x100 fill=0x5a\n"
	"ram 3 0x3000 0x8\n"
	"reg 2 0x4 2 0xbeef\n";

static void test_profile_behaves(void **state)
{
	SimDevice *dev = load_text(nic_profile);
	SimBarInfo bi;
	SimIds ids = sim_device_ids(dev);
	TlHost host;
	(void)state;

	tl_host_attach(&host, dev);
	/* Published IDs and the header. */
	assert_int_equal(ids.vendor, 0x8086);
	assert_int_equal(ids.device, 0x10fb);
	assert_int_equal(ids.subsystem_vendor, 0x8086);
	assert_int_equal(ids.subsystem_device, 0x000c);
	assert_int_equal(ids.class_code, 0x020000);
	assert_int_equal(ids.revision, 0x01);
	assert_int_equal(tl_cfg_read(dev, PCI_VENDOR_ID, 4), 0x10fb8086);
	assert_int_equal(tl_cfg_read(dev, PCI_CLASS_REVISION, 4), 0x02000001);
	assert_int_equal(tl_cfg_read(dev, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x000c8086);
	assert_int_equal(sim_device_cfg_size(dev), 4096);
	assert_false(sim_device_is_vf(dev));

	/* BARs: the captured registers read as given, sizing works. */
	assert_int_equal(tl_cfg_read(dev, PCI_BASE_ADDRESS_0, 4), 0xfe00000c);
	assert_int_equal(tl_cfg_read(dev, PCI_BASE_ADDRESS_2, 4), 0x0000e001);
	assert_true(sim_bar_info(dev, 0, &bi));
	assert_int_equal(bi.type, SIM_BAR_MEM64);
	assert_true(bi.prefetch);
	assert_int_equal(bi.size, 0x10000);
	assert_int_equal(bi.addr, 0xfe000000);
	assert_false(sim_bar_info(dev, 1, &bi));
	assert_true(sim_bar_info(dev, 2, &bi));
	assert_int_equal(bi.type, SIM_BAR_IO);
	assert_int_equal(bi.size, 0x20);
	assert_int_equal(bi.addr, 0xe000);
	assert_true(sim_bar_info(dev, 3, &bi));
	assert_int_equal(bi.type, SIM_BAR_MEM32);
	assert_false(bi.prefetch);
	assert_int_equal(bi.size, 0x4000);
	assert_true(sim_bar_info(dev, SIM_ROM_SLOT, &bi));
	assert_int_equal(bi.size, 0x10000);
	assert_int_equal(bi.addr, 0xfc000000);
	tl_cfg_write(dev, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	tl_cfg_write(dev, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	assert_int_equal(tl_cfg_read(dev, PCI_BASE_ADDRESS_0, 4), 0xffff000c);
	assert_int_equal(tl_cfg_read(dev, PCI_BASE_ADDRESS_1, 4), 0xffffffff);
	tl_cfg_write(dev, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	assert_int_equal(tl_cfg_read(dev, PCI_BASE_ADDRESS_2, 4), 0xffffffe1);
	tl_cfg_write(dev, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	assert_int_equal(tl_cfg_read(dev, PCI_BASE_ADDRESS_3, 4), 0xffffc000);
	tl_cfg_write(dev, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(tl_cfg_read(dev, PCI_ROM_ADDRESS, 4), 0xffff0001);
	tl_cfg_write(dev, PCI_BASE_ADDRESS_0, 4, 0xfe00000c);
	tl_cfg_write(dev, PCI_BASE_ADDRESS_1, 4, 0);

	/* set, and the mask overrides. */
	assert_int_equal(tl_cfg_read(dev, PCI_INTERRUPT_LINE, 1), 0x0b);
	tl_cfg_write(dev, PCI_INTERRUPT_LINE, 1, 0xff);
	assert_int_equal(tl_cfg_read(dev, PCI_INTERRUPT_LINE, 1), 0x0f);
	assert_int_equal(sim_cfg_get_mask(dev, SIM_MASK_HARDWIRED, 0x2c, 4), 0xffffffff);
	/* Command: the generic header rules. */
	tl_cfg_write(dev, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(tl_cfg_read(dev, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);

	/* Registers and RAM; unbacked bytes read all-ones. */
	assert_int_equal(tl_bar_read(dev, 0, 0x0, 4), 0x12345678);
	tl_bar_write(dev, 0, 0x0, 4, 0xaaaaaaaa);
	assert_int_equal(tl_bar_read(dev, 0, 0x0, 4), 0xaaaa5678);
	tl_bar_write(dev, 0, 0x8, 4, 0x3);
	assert_int_equal(tl_bar_read(dev, 0, 0x8, 4), 0xc);
	assert_int_equal(tl_bar_read(dev, 0, 0x10, 8), 0x1122334455667788ull);
	tl_bar_write(dev, 0, 0x10, 8, 0x0102030405060708ull);
	assert_int_equal(tl_bar_read(dev, 0, 0x10, 8), 0x0102030405060708ull);
	assert_int_equal(tl_bar_read(dev, 0, 0x1000, 4), 0x5a5a5a5a);
	tl_bar_write(dev, 0, 0x10fc, 4, 0xdeadbeef);
	assert_int_equal(tl_bar_read(dev, 0, 0x10fc, 4), 0xdeadbeef);
	assert_int_equal(tl_bar_read(dev, 0, 0x2000, 4), 0xffffffff);
	assert_int_equal(tl_bar_read(dev, 0, 0x4, 4), 0xffffffff);
	assert_int_equal(tl_bar_read(dev, 2, 0x4, 2), 0xbeef);
	assert_int_equal(tl_bar_read(dev, 2, 0x0, 4), 0xffffffff);
	assert_int_equal(tl_bar_read(dev, SIM_ROM_SLOT, 0, 4), 0xffffffff);

	/* The dropped vendor capability is gone from the chain. */
	assert_int_equal(sim_cap_find(dev, PCI_CAP_ID_VNDR), 0);
	assert_int_equal(tl_cfg_read(dev, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(tl_cfg_read(dev, 0x41, 1), 0x50);
	assert_int_equal(tl_cfg_read(dev, 0x51, 1), 0x70);
	assert_int_equal(tl_cfg_read(dev, 0x71, 1), 0x00);
	assert_int_equal(sim_cap_find(dev, PCI_CAP_ID_EXP), 0x70);
	assert_int_equal(sim_ecap_find(dev, PCI_EXT_CAP_ID_ARI), 0x140);

	/* MSI-X: the PBA is where "msix pba=" says, not where it is reported. */
	assert_int_equal(sim_msix_nvec(dev), 4);
	assert_int_equal(tl_cfg_read(dev, 0x50 + PCI_MSIX_PBA, 4), 0x3003);
	tl_cfg_write(dev, 0x50 + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(sim_irq_raise(dev, 1), SIM_IRQ_PENDING);
	assert_true(sim_msix_pending(dev, 1));
	assert_int_equal(tl_bar_read(dev, 3, 0x2000, 8), 0x2);
	assert_int_equal(tl_bar_read(dev, 3, 0x3000, 8), 0);
	/* Unmasking vector 1 delivers it and clears the pending bit. */
	tl_bar_write(dev, 3, 0x10 + PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xfee00000);
	tl_bar_write(dev, 3, 0x10 + PCI_MSIX_ENTRY_DATA, 4, 0x4041);
	tl_bar_write(dev, 3, 0x10 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(host.nmsgs, 1);
	assert_int_equal(host.msgs[0].addr, 0xfee00000);
	assert_int_equal(host.msgs[0].data, 0x4041);
	assert_int_equal(tl_bar_read(dev, 3, 0x2000, 8), 0);

	/* Adopted behaviour: PCIe FLR (DevCap.FLR set), PM, AER. */
	tl_cfg_write(dev, 0x70 + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_FLR), 1);
	/* The reset restored the power-on image: the profile's config. */
	assert_int_equal(tl_cfg_read(dev, PCI_INTERRUPT_LINE, 1), 0x0b);
	assert_int_equal(tl_cfg_read(dev, PCI_COMMAND, 2), 0);
	assert_int_equal(tl_cfg_read(dev, 0x50 + PCI_MSIX_FLAGS, 2), 3);
	assert_false(sim_bar_decodes(dev, 3));
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(tl_bar_read(dev, 3, 0x2000, 8), 0);
	assert_int_equal(tl_bar_read(dev, 0, 0x0, 4), 0x12345678);
	tl_cfg_write(dev, 0x40 + PCI_PM_CTRL, 2, 3);
	assert_int_equal(tl_cfg_read(dev, 0x40 + PCI_PM_CTRL, 2) & 3, 3);
	assert_false(sim_bar_decodes(dev, 0));
	tl_cfg_write(dev, 0x40 + PCI_PM_CTRL, 2, 0);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_PM), 1);
	assert_int_equal(sim_aer_inject(dev, false, PCI_ERR_COR_RCVR, NULL), 0);
	assert_int_equal(tl_cfg_read(dev, 0x100 + PCI_ERR_COR_STATUS, 4), PCI_ERR_COR_RCVR);
	tl_cfg_write(dev, 0x100 + PCI_ERR_COR_STATUS, 4, PCI_ERR_COR_RCVR);
	assert_int_equal(tl_cfg_read(dev, 0x100 + PCI_ERR_COR_STATUS, 4), 0);
	sim_device_free(dev);
}

/* One parse, several devices; the title; parsing from a stream. */
static void test_profile_api(void **state)
{
	FILE *f = fmemopen((void *)nic_profile, sizeof(nic_profile) - 1, "r");
	Error *err = NULL;
	SimProfile *p;
	SimDevice *a, *b;
	(void)state;

	assert_non_null(f);
	p = sim_profile_parse_stream(f, "mem", &err);
	fclose(f);
	assert_non_null(p);
	assert_string_equal(sim_profile_title(p), "Test NIC (hand written)");
	a = sim_profile_create(p, "0000:01:00.0", &err);
	b = sim_profile_create(p, "0000:01:00.1", &err);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(sim_device_name(b), "0000:01:00.1");
	tl_cfg_write(a, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	tl_cfg_write(b, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	tl_bar_write(a, 0, 0x1000, 4, 0x11111111);
	assert_int_equal(tl_bar_read(b, 0, 0x1000, 4), 0x5a5a5a5a);
	sim_device_free(a);
	sim_device_free(b);
	sim_profile_free(p);

	/* A profile without a name has an empty title; CRLF lines are fine. */
	f = fmemopen((void *)"profile 1\r\nvendor 0x1234\r\n", 26, "r");
	p = sim_profile_parse_stream(f, NULL, &err);
	fclose(f);
	assert_non_null(p);
	assert_string_equal(sim_profile_title(p), "");
	a = sim_profile_create(p, "x", &err);
	assert_non_null(a);
	assert_int_equal(tl_cfg_read(a, PCI_VENDOR_ID, 4), 0x00001234);
	assert_int_equal(tl_cfg_read(a, PCI_CLASS_REVISION, 4), 0);
	sim_device_free(a);
	sim_profile_free(p);
}

/* Overrides of chains: the only capability, the head of the extended chain. */
static void test_profile_drops(void **state)
{
	SimDevice *dev = load_text(P1
		"config-size 4096\n"
		"config 0x006: 10 00\nconfig 0x034: 40\n"
		"config 0x040: 09 00 04 00\n"
		"config 0x100: 01 00 02 14\n"
		"config 0x140: 0e 00 01 15\n"
		"config 0x150: 17 00 01 00 00 00 00 00\n"
		"drop cap 0x40\n"
		"drop ecap 0x100\n"
		"drop ecap 0x150\n");
	(void)state;

	/* No standard capability left: Status Cap- and pointer 0. */
	assert_int_equal(tl_cfg_read(dev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
	assert_int_equal(tl_cfg_read(dev, PCI_CAPABILITY_LIST, 1), 0);
	/* The head became a null capability that leads to ARI, now the last. */
	assert_int_equal(tl_cfg_read(dev, 0x100, 4), 0x14000000);
	assert_int_equal(tl_cfg_read(dev, 0x140, 4), 0x0001000e);
	assert_int_equal(sim_ecap_find(dev, PCI_EXT_CAP_ID_ERR), 0);
	assert_int_equal(sim_ecap_find(dev, PCI_EXT_CAP_ID_ARI), 0x140);
	assert_int_equal(sim_ecap_find(dev, PCI_EXT_CAP_ID_TPH), 0);
	assert_int_equal(sim_aer_inject(dev, false, PCI_ERR_COR_RCVR, NULL), -ENODEV);
	sim_device_free(dev);

	/* Dropping the middle of a standard chain; IDs from the config bytes. */
	dev = load_text(P1
		"config 0x000: 34 12 78 56 00 00 10 00 07 00 80 ff\n"
		"config 0x02c: aa aa bb bb 00 00 00 00 40\n"
		"config 0x040: 09 44 04 00 09 00 04 00 09 00 04 00\n"
		"set 0x45 1 0x48\n"
		"drop cap 0x44\n");
	SimIds ids = sim_device_ids(dev);

	assert_int_equal(ids.vendor, 0x1234);
	assert_int_equal(ids.device, 0x5678);
	assert_int_equal(ids.revision, 0x07);
	assert_int_equal(ids.class_code, 0xff8000);
	assert_int_equal(ids.subsystem_vendor, 0xaaaa);
	assert_int_equal(ids.subsystem_device, 0xbbbb);
	assert_int_equal(tl_cfg_read(dev, 0x41, 1), 0x48);
	sim_device_free(dev);
}

/* A VF: BAR registers read 0, addresses come from the table. */
static void test_profile_vf(void **state)
{
	SimDevice *dev = load_text(P1
		"vf yes\n"
		"vendor 0x1425\ndevice 0x5810\n"
		"config 0x000: ff ff ff ff\n"
		"resource\n"
		"0x0000383ffe000000 0x0000383ffe000fff 0x000000000014220c\n"
		"0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n"
		"end\n");
	SimBarInfo bi;
	(void)state;

	assert_true(sim_device_is_vf(dev));
	assert_int_equal(sim_device_ids(dev).vendor, 0x1425);
	assert_int_equal(tl_cfg_read(dev, PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(tl_cfg_read(dev, PCI_BASE_ADDRESS_0, 4), 0);
	assert_true(sim_bar_info(dev, 0, &bi));
	assert_int_equal(bi.addr, 0x383ffe000000ull);
	assert_int_equal(bi.size, 0x1000);
	sim_device_free(dev);
}

/* Every profile shipped in sim/profiles/ loads. */
static void test_shipped_profiles(void **state)
{
	const char *dir = "../../sim/profiles";
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;
	(void)state;

	if (!d)
		skip();
	while ((e = readdir(d))) {
		char path[512];
		size_t len = strlen(e->d_name);
		Error *err = NULL;
		SimDevice *dev;

		if (len < 9 || strcmp(e->d_name + len - 8, ".profile"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		dev = sim_profile_load(path, "0000:05:00.0", &err);
		if (!dev)
			fail_msg("%s: %s", path, error_get_pretty(err));
		sim_device_free(dev);
		n++;
	}
	closedir(d);
	assert_true(n >= 1);
}

/* The hand-written T5 VF example: the PBA erratum behaves like the part. */
static void test_t5vf_example(void **state)
{
	Error *err = NULL;
	SimDevice *dev = sim_model_create("profile", "0000:05:00.1",
					  "file=../../sim/profiles/chelsio-t5-vf.profile", &err);
	(void)state;

	if (!dev)
		fail_msg("%s", error_get_pretty(err));
	assert_true(sim_device_is_vf(dev));
	assert_int_equal(tl_cfg_read(dev, 0xb0 + PCI_MSIX_PBA, 4), 0x8004);
	tl_cfg_write(dev, 0xb0 + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(sim_irq_raise(dev, 3), SIM_IRQ_PENDING);
	assert_int_equal(tl_bar_read(dev, 4, 0x1000, 8), 0x8);
	assert_int_equal(tl_bar_read(dev, 0, 0x200, 4), 0);
	assert_int_equal(sim_msi_enabled(dev), false);
	sim_device_free(dev);
}

/* ---- capture ------------------------------------------------------------- */

static void put_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_str(const char *dir, const char *name, const char *s)
{
	put_file(dir, name, s, strlen(s));
}

static void rm_file(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static const char fake_resource[] =
	"0x00000000fe000000 0x00000000fe003fff 0x0000000000040200\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	"0x0000000000000000 0x0000000000000000 0x0000000000000000\n";

/* A fake sysfs device directory: the 64-byte header of a 256-byte device. */
static char *fake_device(void)
{
	char tmpl[] = "/tmp/test_capture_XXXXXX", *dir;
	uint8_t cfg[64] = { 0x34, 0x12, 0x78, 0x56, 0x00, 0x00, 0x10, 0x00,
			    0x02, 0x00, 0x00, 0x01 };

	cfg[PCI_BASE_ADDRESS_0 + 3] = 0xfe;
	cfg[PCI_CAPABILITY_LIST] = 0x40;
	assert_non_null(mkdtemp(tmpl));
	dir = malloc(strlen(tmpl) + 16);
	sprintf(dir, "%s/0000:00:09.0", tmpl);
	assert_int_equal(mkdir(dir, 0755), 0);
	put_file(dir, "config", cfg, sizeof(cfg));
	put_str(dir, "resource", fake_resource);
	put_str(dir, "vendor", "0x1234\n");
	put_str(dir, "device", "0x5678\n");
	put_str(dir, "subsystem_vendor", "0x1234\n");
	put_str(dir, "subsystem_device", "0x0001\n");
	put_str(dir, "class", "0x010000\n");
	put_str(dir, "revision", "0x02\n");
	return dir;
}

static void rm_fake_device(char *dir)
{
	static const char *const names[] = { "config", "resource", "vendor", "device",
		"subsystem_vendor", "subsystem_device", "class", "revision", "physfn" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		rm_file(dir, names[i]);
	rmdir(dir);
	*strrchr(dir, '/') = 0;
	rmdir(dir);
	free(dir);
}

/* Capture dir into a temp file; return its path (NULL and *err on failure). */
static char *capture_to_file(const char *dir, SimCaptureInfo *info, Error **err)
{
	char *path = write_tmp("");
	FILE *f = fopen(path, "w");
	bool ok;

	assert_non_null(f);
	ok = sim_profile_capture(dir, f, info, err);
	fclose(f);
	if (!ok) {
		unlink(path);
		free(path);
		return NULL;
	}
	return path;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);

	assert_non_null(f);
	assert_true(fread(buf, 1, 65535, f) > 0);
	fclose(f);
	return buf;
}

static void test_capture_fake_short(void **state)
{
	char *dir = fake_device(), *path, *text;
	SimCaptureInfo info;
	Error *err = NULL;
	SimDevice *dev;
	SimBarInfo bi;
	uint8_t buf[256];
	(void)state;

	path = capture_to_file(dir, &info, &err);
	if (!path)
		fail_msg("%s", error_get_pretty(err));
	assert_int_equal(info.cfg_read, 64);
	assert_int_equal(info.cfg_size, 256);
	assert_false(info.vf);
	text = slurp(path);
	assert_non_null(strstr(text, "# NOTE: only 64 of the 256 config bytes could be read"));
	assert_non_null(strstr(text, "\nprofile 1\n"));
	assert_non_null(strstr(text, "\nvendor 0x1234\n"));
	assert_non_null(strstr(text, "\nclass 0x010000\n"));
	assert_non_null(strstr(text, "\nrevision 0x02\n"));
	assert_non_null(strstr(text, "then lines the model ignores"));
	assert_non_null(strstr(text, "\nconfig 0x030: 00 00 00 00 40 00"));
	assert_null(strstr(text, "config 0x040"));
	assert_null(strstr(text, "\nvf yes"));
	free(text);
	dev = sim_profile_load(path, "0000:00:09.0", &err);
	if (!dev)
		fail_msg("%s", error_get_pretty(err));
	assert_int_equal(sim_cfg_read_buf(dev, 0, buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], 0x34);
	assert_int_equal(buf[PCI_BASE_ADDRESS_0 + 3], 0xfe);
	assert_int_equal(buf[PCI_CAPABILITY_LIST], 0x40);
	assert_int_equal(buf[0x40], 0);
	assert_true(sim_bar_info(dev, 0, &bi));
	assert_int_equal(bi.size, 0x4000);
	assert_int_equal(bi.addr, 0xfe000000);
	sim_device_free(dev);
	unlink(path);
	free(path);

	/* Optional attributes may be missing; a physfn link makes a VF. */
	rm_file(dir, "revision");
	rm_file(dir, "subsystem_vendor");
	{
		char link[600];

		snprintf(link, sizeof(link), "%s/physfn", dir);
		assert_int_equal(symlink("..", link), 0);
	}
	path = capture_to_file(dir, &info, &err);
	assert_non_null(path);
	assert_true(info.vf);
	text = slurp(path);
	assert_non_null(strstr(text, "\nvf yes\n"));
	assert_null(strstr(text, "revision"));
	assert_null(strstr(text, "subsystem_vendor"));
	free(text);
	dev = sim_profile_load(path, "0000:00:09.0", &err);
	if (!dev)
		fail_msg("%s", error_get_pretty(err));
	assert_true(sim_device_is_vf(dev));
	assert_int_equal(sim_device_ids(dev).revision, 0x02);	/* from config */
	assert_int_equal(sim_device_ids(dev).vendor, 0x1234);
	sim_device_free(dev);
	unlink(path);
	free(path);
	rm_fake_device(dir);
}

typedef struct CapErr {
	const char *file;	/* what to write (NULL: remove) */
	const char *content;
	size_t len;
	const char *phrase;
} CapErr;

static void test_capture_errors(void **state)
{
	static const CapErr cases[] = {
		{ "vendor", NULL, 0, "/vendor: cannot read: No such file or directory" },
		{ "device", "1234\n", 5, "/device: expected a hex number like 0xffff, got '1234'" },
		{ "class", "0x1000000\n", 10, "/class: expected a hex number like 0xffffff, got '0x1000000'" },
		{ "revision", "0x\n", 3, "/revision: expected a hex number" },
		{ "config", NULL, 0, "/config: cannot read: No such file or directory" },
		{ "config", "\x86\x80", 2, "/config: only 2 bytes: expected at least the 64-byte header" },
		{ "resource", NULL, 0, "/resource: cannot read" },
		{ "resource", "0x0 0x0 0x0\n", 12, "/resource: 1 lines: expected at least 7" },
		{ "resource", "0x0 0x0\n", 8, "/resource: line 1 is '0x0 0x0': expected '0xSTART 0xEND 0xFLAGS'" },
		{ "resource", "0x0 0x0 0xg\n", 12, "/resource: line 1 is" },
		{ "resource", "0x0 0x0 0x0", 11, "/resource: line 1 is not terminated" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dir = fake_device(), *path;
		Error *err = NULL;

		if (cases[i].content)
			put_file(dir, cases[i].file, cases[i].content, cases[i].len);
		else
			rm_file(dir, cases[i].file);
		path = capture_to_file(dir, NULL, &err);
		assert_null(path);
		assert_non_null(err);
		if (!strstr(error_get_pretty(err), cases[i].phrase) ||
		    strncmp(error_get_pretty(err), dir, strlen(dir)))
			fail_msg("case %zu: got '%s', want '%s' after the directory",
				 i, error_get_pretty(err), cases[i].phrase);
		error_free(err);
		rm_fake_device(dir);
	}

	/* Too many resource lines, and an oversized resource file. */
	{
		char *dir = fake_device(), *big = malloc(20000);
		Error *err = NULL;

		big[0] = 0;
		for (unsigned i = 0; i < 65; i++)
			strcat(big, "0x0 0x0 0x0\n");
		put_str(dir, "resource", big);
		assert_null(capture_to_file(dir, NULL, &err));
		assert_non_null(strstr(error_get_pretty(err), "/resource: more than 64 lines"));
		error_free(err);
		err = NULL;
		memset(big, 'x', 19999);
		big[19999] = 0;
		put_str(dir, "resource", big);
		assert_null(capture_to_file(dir, NULL, &err));
		assert_non_null(strstr(error_get_pretty(err), "/resource: larger than 16384 bytes"));
		error_free(err);
		free(big);
		rm_fake_device(dir);
	}
}

/* Read a whole (sysfs) file; returns the length or -1. */
static ssize_t read_all(const char *path, uint8_t *buf, size_t max)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = 0, r;

	if (fd < 0)
		return -1;
	while ((size_t)n < max && (r = pread(fd, buf + n, max - (size_t)n, n)) > 0)
		n += r;
	close(fd);
	return n;
}

/* Round trip of one real device; false if it cannot be read at all. */
static bool round_trip(const char *bdf)
{
	char dir[512], path[600];
	uint8_t real[4096] = { 0 }, sim[4096];
	char res[8192];
	ssize_t n, rn;
	SimCaptureInfo info;
	Error *err = NULL;
	SimDevice *dev;
	char *prof;
	FILE *f;
	unsigned idx = 0;
	unsigned long long start, end, flags;

	snprintf(dir, sizeof(dir), "%s/%s", SYSFS_PCI, bdf);
	snprintf(path, sizeof(path), "%s/config", dir);
	n = read_all(path, real, sizeof(real));
	if (n < PCI_STD_HEADER_SIZEOF)
		return false;
	prof = capture_to_file(dir, &info, &err);
	if (!prof)
		fail_msg("%s: capture: %s", bdf, error_get_pretty(err));
	dev = sim_profile_load(prof, bdf, &err);
	if (!dev)
		fail_msg("%s: load: %s", bdf, error_get_pretty(err));
	assert_int_equal(info.cfg_read, (unsigned)n);
	assert_int_equal(sim_device_cfg_size(dev), info.cfg_size);
	/* The whole config space: the captured bytes, then zeros. */
	assert_int_equal(sim_cfg_read_buf(dev, 0, sim, info.cfg_size), 0);
	if (memcmp(real, sim, info.cfg_size)) {
		for (unsigned i = 0; i < info.cfg_size; i++)
			if (real[i] != sim[i])
				fail_msg("%s: config byte 0x%03x: sysfs 0x%02x, sim 0x%02x",
					 bdf, i, real[i], sim[i]);
	}
	/* BAR sizes and types as in the resource file. */
	snprintf(path, sizeof(path), "%s/resource", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (idx <= SIM_ROM_SLOT && fgets(res, sizeof(res), f)) {
		SimBarInfo bi;
		bool has = sim_bar_info(dev, idx, &bi);

		assert_int_equal(sscanf(res, "%llx %llx %llx", &start, &end, &flags), 3);
		if (end && !(idx > 0 && sim_bar_info(dev, idx - 1, &bi) && bi.type == SIM_BAR_MEM64)) {
			assert_true(sim_bar_info(dev, idx, &bi));
			assert_int_equal(bi.size, end - start + 1);
			assert_int_equal(bi.type == SIM_BAR_IO, (flags & 0x100) != 0);
			assert_int_equal(bi.type == SIM_BAR_MEM64, (flags & 0x100000) != 0);
		} else if (!end) {
			assert_false(has);
		}
		idx++;
	}
	fclose(f);
	/* The published IDs. */
	snprintf(path, sizeof(path), "%s/vendor", dir);
	rn = read_all(path, (uint8_t *)res, sizeof(res) - 1);
	assert_true(rn > 0);
	res[rn] = 0;
	assert_int_equal(strtoul(res, NULL, 16), sim_device_ids(dev).vendor);
	sim_device_free(dev);
	unlink(prof);
	free(prof);
	return true;
}

static int bdf_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_capture_round_trip(void **state)
{
	DIR *d = opendir(SYSFS_PCI);
	struct dirent *e;
	char *names[256];
	unsigned n = 0, done = 0;
	(void)state;

	if (!d) {
		print_message("[  SKIP    ] no %s on this machine: no PCI device to capture\n", SYSFS_PCI);
		skip();
	}
	while ((e = readdir(d)) && n < 256)
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), bdf_cmp);
	for (unsigned i = 0; i < n; i++) {
		done += round_trip(names[i]);
		free(names[i]);
	}
	if (!done) {
		print_message("[  SKIP    ] no PCI device with a readable config in %s\n", SYSFS_PCI);
		skip();
	}
	print_message("           round trip of %u real PCI device%s\n", done, done == 1 ? "" : "s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors_syntax),
		cmocka_unit_test(test_errors_config),
		cmocka_unit_test(test_errors_bars),
		cmocka_unit_test(test_errors_caps),
		cmocka_unit_test(test_errors_contents),
		cmocka_unit_test(test_error_unreadable_file),
		cmocka_unit_test(test_error_bounds),
		cmocka_unit_test(test_model_params),
		cmocka_unit_test(test_profile_behaves),
		cmocka_unit_test(test_profile_api),
		cmocka_unit_test(test_profile_drops),
		cmocka_unit_test(test_profile_vf),
		cmocka_unit_test(test_shipped_profiles),
		cmocka_unit_test(test_t5vf_example),
		cmocka_unit_test(test_capture_fake_short),
		cmocka_unit_test(test_capture_errors),
		cmocka_unit_test(test_capture_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

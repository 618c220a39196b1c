/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sim core: BAR declaration and sizing, ROM, register blocks, RAM, decode. */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testlib.h"

static uint32_t size_bar(SimDevice *dev, unsigned reg)
{
	uint32_t orig = tl_cfg_read(dev, reg, 4), v;

	tl_cfg_write(dev, reg, 4, 0xffffffff);
	v = tl_cfg_read(dev, reg, 4);
	tl_cfg_write(dev, reg, 4, orig);
	return v;
}

/* Sizing reads back the size mask with the type bits, for every kind. */
static void test_bar_sizing(void **state)
{
	SimDevice *dev = sim_device_new("t", 256);
	Error *err = NULL;
	SimBarInfo bi;
	(void)state;

	tl_ok(sim_bar_add(dev, 0, SIM_BAR_MEM32, false, 0x1000, &err), err);
	tl_ok(sim_bar_add(dev, 1, SIM_BAR_IO, false, 0x20, &err), err);
	tl_ok(sim_bar_add(dev, 2, SIM_BAR_MEM64, true, 0x4000, &err), err);
	tl_ok(sim_bar_add(dev, 4, SIM_BAR_MEM64, false, 0x200000000ull, &err), err);
	tl_ok(sim_rom_add(dev, 0x800, "\x55\xaa", 2, &err), err);
	tl_ok(sim_device_realize(dev, &err), err);

	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_0), 0xfffff000);
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_1), 0xffffffe1);
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_2), 0xffffc00c);
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_3), 0xffffffff);
	/* 8 GiB: the whole low dword is type bits only, high reads ~1. */
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_4), 0x00000004);
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_5), 0xfffffffe);
	/* ROM: address bits and the enable bit. */
	assert_int_equal(size_bar(dev, PCI_ROM_ADDRESS), 0xfffff801);
	/* An address written sticks to the size alignment. */
	tl_cfg_write(dev, PCI_BASE_ADDRESS_0, 4, 0xfe001234);
	assert_int_equal(tl_cfg_read(dev, PCI_BASE_ADDRESS_0, 4), 0xfe001000);
	assert_true(sim_bar_info(dev, 2, &bi));
	assert_int_equal(bi.type, SIM_BAR_MEM64);
	assert_true(bi.prefetch);
	assert_int_equal(bi.size, 0x4000);
	assert_false(sim_bar_info(dev, 3, &bi));	/* upper half */
	assert_int_equal(bi.size, 0);
	assert_true(sim_bar_info(dev, SIM_ROM_SLOT, &bi));
	assert_int_equal(bi.size, 0x800);
	assert_false(sim_bar_info(dev, 7, &bi));
	sim_device_free(dev);
}

static void test_unimplemented_and_no_rom(void **state)
{
	SimDevice *dev = sim_device_new("t", 256);
	Error *err = NULL;
	uint64_t v;
	(void)state;

	tl_ok(sim_device_realize(dev, &err), err);
	for (unsigned r = PCI_BASE_ADDRESS_0; r <= PCI_BASE_ADDRESS_5; r += 4)
		assert_int_equal(size_bar(dev, r), 0);
	assert_int_equal(size_bar(dev, PCI_ROM_ADDRESS), 0);
	assert_int_equal(sim_bar_read(dev, 0, 0, 4, &v), -EINVAL);
	assert_int_equal(sim_bar_read(dev, SIM_ROM_SLOT, 0, 4, &v), -EINVAL);
	/* No BAR at all: Memory and I/O Space are hard-wired 0. */
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	assert_int_equal(tl_cfg_read(dev, PCI_COMMAND, 2), 0);
	sim_device_free(dev);
}

static void expect_bar_error(SimDevice *dev, unsigned idx, SimBarType t,
			     bool pf, uint64_t size, const char *phrase)
{
	Error *err = NULL;

	assert_false(sim_bar_add(dev, idx, t, pf, size, &err));
	if (!strstr(error_get_pretty(err), phrase))
		fail_msg("'%s' does not contain '%s'", error_get_pretty(err), phrase);
	error_free(err);
}

static void test_bar_errors(void **state)
{
	SimDevice *dev = sim_device_new("t", 256);
	Error *err = NULL;
	(void)state;

	expect_bar_error(dev, 6, SIM_BAR_MEM32, false, 0x1000, "out of range");
	expect_bar_error(dev, 0, SIM_BAR_MEM32, false, 0x1800, "not a valid");
	expect_bar_error(dev, 0, SIM_BAR_MEM32, false, 8, "not a valid");
	expect_bar_error(dev, 0, SIM_BAR_IO, false, 0x20000, "not a valid");
	expect_bar_error(dev, 0, SIM_BAR_IO, true, 0x20, "prefetchable");
	expect_bar_error(dev, 5, SIM_BAR_MEM64, false, 0x1000, "upper half");
	tl_ok(sim_bar_add(dev, 1, SIM_BAR_MEM32, false, 0x1000, &err), err);
	expect_bar_error(dev, 0, SIM_BAR_MEM64, false, 0x1000, "already in use");
	expect_bar_error(dev, 1, SIM_BAR_MEM32, false, 0x1000, "already in use");
	tl_ok(sim_bar_add(dev, 2, SIM_BAR_MEM64, false, 0x1000, &err), err);
	expect_bar_error(dev, 3, SIM_BAR_MEM32, false, 0x1000, "already in use");
	assert_true(sim_bar_add(dev, 4, SIM_BAR_NONE, false, 0, &err));
	assert_false(sim_rom_add(dev, 0x400, NULL, 0, &err));
	error_free(err);
	err = NULL;
	assert_false(sim_bar_set_addr(dev, 1, 0x1234, &err));
	assert_non_null(strstr(error_get_pretty(err), "not aligned"));
	error_free(err);
	err = NULL;
	assert_false(sim_bar_set_addr(dev, 1, 0x100000000ull, &err));
	assert_non_null(strstr(error_get_pretty(err), "32-bit"));
	error_free(err);
	err = NULL;
	assert_false(sim_bar_set_addr(dev, 0, 0x1000, &err));
	error_free(err);
	err = NULL;
	tl_ok(sim_bar_set_addr(dev, 2, 0x800000000ull, &err), err);
	assert_int_equal(tl_cfg_read(dev, PCI_BASE_ADDRESS_2, 4), 0x4);
	assert_int_equal(tl_cfg_read(dev, PCI_BASE_ADDRESS_3, 4), 0x8);
	tl_ok(sim_device_realize(dev, &err), err);
	expect_bar_error(dev, 4, SIM_BAR_MEM32, false, 0x1000, "after realize");
	sim_device_free(dev);
}

enum { R_ID, R_CTRL, R_STAT, R_WIDE, R_BYTE, NREGS };
static const SimReg regs[NREGS] = {
	[R_ID] = { "ID", 0x00, 4, 0x12345678, 0, 0 },
	[R_CTRL] = { "CTRL", 0x04, 4, 0, 0x0000ffff, 0 },
	[R_STAT] = { "STAT", 0x08, 4, 0xff, 0, 0x0f },
	[R_WIDE] = { "WIDE", 0x10, 8, 0, UINT64_MAX, 0 },
	[R_BYTE] = { "BYTE", 0x19, 1, 0xab, 0xff, 0 },
};

typedef struct RegLog {
	unsigned reads, writes, idx;
	uint64_t old, val, bytemask;
} RegLog;

static uint64_t reg_read(SimDevice *dev, SimRegBlock *blk, unsigned idx,
			 uint64_t stored)
{
	RegLog *l = sim_regs_opaque(blk);
	(void)dev;

	l->reads++;
	return idx == R_ID ? stored + ((uint64_t)(l->reads - 1) << 8) : stored;
}

static void reg_write(SimDevice *dev, SimRegBlock *blk, unsigned idx,
		      uint64_t old, uint64_t val, uint64_t bytemask)
{
	RegLog *l = sim_regs_opaque(blk);
	(void)dev;

	l->writes++;
	l->idx = idx;
	l->old = old;
	l->val = val;
	l->bytemask = bytemask;
}

static SimDevice *regs_device(RegLog *log, SimRegBlock **blkp)
{
	SimDevice *dev = sim_device_new("t", 256);
	Error *err = NULL;
	SimRegBlock *blk;

	tl_ok(sim_bar_add(dev, 0, SIM_BAR_MEM32, false, 0x1000, &err), err);
	blk = sim_bar_add_regs(dev, 0, 0x100, regs, NREGS, reg_read, reg_write, log, &err);
	tl_ok(blk != NULL, err);
	tl_ok(sim_bar_add_ram(dev, 0, 0x800, 0x100, 0x5a, &err), err);
	tl_ok(sim_device_realize(dev, &err), err);
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	if (blkp)
		*blkp = blk;
	return dev;
}

static void test_register_block(void **state)
{
	RegLog log = { 0 };
	SimRegBlock *blk;
	SimDevice *dev = regs_device(&log, &blk);
	(void)state;

	/* Read hook runs once per register touched. */
	assert_int_equal(tl_bar_read(dev, 0, 0x100, 4), 0x12345678);
	assert_int_equal(tl_bar_read(dev, 0, 0x101, 1), 0x57);	/* 2nd read */
	assert_int_equal(log.reads, 2);
	/* RW mask. */
	tl_bar_write(dev, 0, 0x104, 4, 0xffffffff);
	assert_int_equal(tl_bar_read(dev, 0, 0x104, 4), 0x0000ffff);
	assert_int_equal(log.idx, R_CTRL);
	assert_int_equal(log.val, 0xffffffff);
	assert_int_equal(log.bytemask, 0xffffffff);
	/* A partial write merges into the register, with byte mask. */
	tl_bar_write(dev, 0, 0x105, 1, 0x00);
	assert_int_equal(tl_bar_read(dev, 0, 0x104, 4), 0x000000ff);
	assert_int_equal(log.bytemask, 0xff00);
	assert_int_equal(log.old, 0xffff);
	/* W1C. */
	tl_bar_write(dev, 0, 0x108, 4, 0x03);
	assert_int_equal(tl_bar_read(dev, 0, 0x108, 4), 0xfc);
	tl_bar_write(dev, 0, 0x108, 4, 0xf0);
	assert_int_equal(tl_bar_read(dev, 0, 0x108, 4), 0xfc);
	/* 8-byte register, and an unaligned 8-byte access across two regs. */
	tl_bar_write(dev, 0, 0x110, 8, 0x1122334455667788ull);
	assert_int_equal(tl_bar_read(dev, 0, 0x110, 8), 0x1122334455667788ull);
	assert_int_equal(tl_bar_read(dev, 0, 0x114, 4), 0x11223344);
	/* 0x118 unbacked, 0x119 the byte register, 0x11a.. unbacked. */
	assert_int_equal(tl_bar_read(dev, 0, 0x118, 4), 0xffffabff);
	assert_int_equal(tl_bar_read(dev, 0, 0x116, 4), 0xabff1122);
	/* Unbacked space reads all-ones and drops writes. */
	tl_bar_write(dev, 0, 0x0, 4, 0);
	assert_int_equal(tl_bar_read(dev, 0, 0x0, 8), UINT64_MAX);
	/* RAM. */
	assert_int_equal(tl_bar_read(dev, 0, 0x800, 4), 0x5a5a5a5a);
	tl_bar_write(dev, 0, 0x8fe, 2, 0xbeef);
	assert_int_equal(tl_bar_read(dev, 0, 0x8fc, 4), 0xbeef5a5a);
	assert_int_equal(tl_bar_read(dev, 0, 0x8fe, 4), 0xffffbeef);
	/* Accessors of the block. */
	assert_int_equal(sim_regs_get(blk, R_BYTE), 0xab);
	sim_regs_set(blk, R_BYTE, 0xcd);
	assert_int_equal(tl_bar_read(dev, 0, 0x119, 1), 0xcd);
	assert_string_equal(sim_regs_reg(blk, R_WIDE)->name, "WIDE");
	assert_null(sim_regs_reg(blk, NREGS));
	/* Reset restores registers and RAM. */
	sim_device_reset(dev, SIM_RESET_HOT);
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(tl_bar_read(dev, 0, 0x104, 4), 0);
	assert_int_equal(tl_bar_read(dev, 0, 0x119, 1), 0xab);
	assert_int_equal(tl_bar_read(dev, 0, 0x8fc, 4), 0x5a5a5a5a);
	sim_device_free(dev);
}

static void test_access_errors_and_decode(void **state)
{
	RegLog log = { 0 };
	SimDevice *dev = regs_device(&log, NULL);
	uint64_t v;
	(void)state;

	assert_int_equal(sim_bar_read(dev, 0, 0, 3, &v), -EINVAL);
	assert_int_equal(sim_bar_read(dev, 0, 0xffc, 8, &v), -EINVAL);
	assert_int_equal(sim_bar_read(dev, 0, 0x1000, 1, &v), -EINVAL);
	assert_int_equal(sim_bar_read(dev, 1, 0, 4, &v), -EINVAL);
	assert_int_equal(sim_bar_read(dev, 9, 0, 4, &v), -EINVAL);
	tl_cfg_write(dev, PCI_COMMAND, 2, 0);
	assert_false(sim_bar_decodes(dev, 0));
	assert_int_equal(sim_bar_read(dev, 0, 0x100, 4, &v), -EIO);
	assert_int_equal(sim_bar_write(dev, 0, 0x104, 4, 1), -EIO);
	assert_int_equal(log.writes, 0);
	assert_false(sim_bar_decodes(dev, 7));
	sim_device_free(dev);
}

static void test_block_errors(void **state)
{
	SimDevice *dev = sim_device_new("t", 256);
	static const SimReg bad_width[] = { { "A", 0, 3, 0, 0, 0 } };
	static const SimReg misaligned[] = { { "A", 2, 4, 0, 0, 0 } };
	static const SimReg overlap[] = { { "A", 0, 4, 0, 0, 0 }, { "B", 2, 2, 0, 0, 0 } };
	static const SimReg one[] = { { "A", 0, 4, 0, 0, 0 } };
	Error *err = NULL;
	(void)state;

	tl_ok(sim_bar_add(dev, 0, SIM_BAR_MEM32, false, 0x1000, &err), err);
	assert_null(sim_bar_add_regs(dev, 0, 0, bad_width, 1, NULL, NULL, NULL, &err));
	assert_non_null(strstr(error_get_pretty(err), "width 3"));
	error_free(err);
	err = NULL;
	assert_null(sim_bar_add_regs(dev, 0, 0, misaligned, 1, NULL, NULL, NULL, &err));
	assert_non_null(strstr(error_get_pretty(err), "not aligned"));
	error_free(err);
	err = NULL;
	assert_null(sim_bar_add_regs(dev, 0, 0, overlap, 2, NULL, NULL, NULL, &err));
	assert_non_null(strstr(error_get_pretty(err), "overlaps"));
	error_free(err);
	err = NULL;
	assert_null(sim_bar_add_regs(dev, 0, 0, one, 0, NULL, NULL, NULL, &err));
	error_free(err);
	err = NULL;
	assert_null(sim_bar_add_regs(dev, 1, 0, one, 1, NULL, NULL, NULL, &err));
	assert_non_null(strstr(error_get_pretty(err), "not implemented"));
	error_free(err);
	err = NULL;
	assert_null(sim_bar_add_regs(dev, 0, 0xffe, one, 1, NULL, NULL, NULL, &err));
	assert_non_null(strstr(error_get_pretty(err), "does not fit"));
	error_free(err);
	err = NULL;
	assert_non_null(sim_bar_add_regs(dev, 0, 0x10, one, 1, NULL, NULL, NULL, &err));
	assert_false(sim_bar_add_ram(dev, 0, 0x12, 4, 0, &err));
	assert_non_null(strstr(error_get_pretty(err), "overlaps"));
	error_free(err);
	err = NULL;
	assert_false(sim_bar_add_ram(dev, 0, 0, 128ull << 20, 0, &err));
	error_free(err);
	sim_device_free(dev);
}

static void test_rom(void **state)
{
	SimDevice *dev = sim_device_new("t", 256);
	Error *err = NULL;
	uint64_t v;
	(void)state;

	tl_ok(sim_rom_add(dev, 0x800, "\x55\xaa\x01", 3, &err), err);
	tl_ok(sim_device_realize(dev, &err), err);
	tl_ok(sim_bar_set_addr(dev, SIM_ROM_SLOT, 0xfeb00000, &err), err);
	assert_int_equal(tl_cfg_read(dev, PCI_ROM_ADDRESS, 4), 0xfeb00000);
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	/* Disabled ROM does not decode. */
	assert_int_equal(sim_bar_read(dev, SIM_ROM_SLOT, 0, 2, &v), -EIO);
	tl_cfg_write(dev, PCI_ROM_ADDRESS, 4, 0xfeb00001);
	assert_int_equal(tl_bar_read(dev, SIM_ROM_SLOT, 0, 4), 0xff01aa55);
	assert_int_equal(tl_bar_read(dev, SIM_ROM_SLOT, 0x7f8, 8), UINT64_MAX);
	tl_bar_write(dev, SIM_ROM_SLOT, 0, 4, 0);	/* ROM ignores writes */
	assert_int_equal(tl_bar_read(dev, SIM_ROM_SLOT, 0, 2), 0xaa55);
	sim_device_free(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bar_sizing),
		cmocka_unit_test(test_unimplemented_and_no_rom),
		cmocka_unit_test(test_bar_errors),
		cmocka_unit_test(test_register_block),
		cmocka_unit_test(test_access_errors_and_decode),
		cmocka_unit_test(test_block_errors),
		cmocka_unit_test(test_rom),
	};

	return cmocka_run_group_tests_name("sim_bar", tests, NULL, NULL);
}

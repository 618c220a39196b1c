/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sim core: config space masks, access rules, hooks, capability chains. */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testlib.h"

static SimDevice *blank(unsigned size)
{
	SimDevice *dev = sim_device_new("t", size);

	assert_non_null(dev);
	return dev;
}

static void realize(SimDevice *dev)
{
	Error *err = NULL;

	if (!sim_device_realize(dev, &err))
		fail_msg("realize: %s", error_get_pretty(err));
}

/* RW, W1C, hard-wired and read-only bits, one byte at a time. */
static void test_masks_byte_by_byte(void **state)
{
	SimDevice *dev = blank(256);
	(void)state;

	sim_cfg_set_mask(dev, SIM_MASK_RW, 0x40, 4, 0x0f0f00ff);
	sim_cfg_set_mask(dev, SIM_MASK_W1C, 0x44, 4, 0xa5a5a5a5);
	sim_cfg_set(dev, 0x44, 4, 0xffffffff);
	sim_cfg_set(dev, 0x48, 4, 0x12345678);
	sim_cfg_set_mask(dev, SIM_MASK_HARDWIRED, 0x48, 4, 0xffff0000);
	sim_cfg_set_mask(dev, SIM_MASK_RW, 0x48, 4, 0xffffffff);
	realize(dev);

	/* RW bytes: each byte takes exactly its writable bits. */
	for (unsigned i = 0; i < 4; i++) {
		uint8_t m = (uint8_t)(0x0f0f00ffu >> (8 * i));

		tl_cfg_write(dev, 0x40 + i, 1, 0xff);
		assert_int_equal(tl_cfg_read(dev, 0x40 + i, 1), m);
		tl_cfg_write(dev, 0x40 + i, 1, 0x00);
		assert_int_equal(tl_cfg_read(dev, 0x40 + i, 1), 0);
	}
	/* W1C: writing 1 clears only W1C bits; writing 0 changes nothing. */
	for (unsigned i = 0; i < 4; i++) {
		tl_cfg_write(dev, 0x44 + i, 1, 0x00);
		assert_int_equal(tl_cfg_read(dev, 0x44 + i, 1), 0xff);
		tl_cfg_write(dev, 0x44 + i, 1, 0x0f);
		assert_int_equal(tl_cfg_read(dev, 0x44 + i, 1), 0xfa);
		tl_cfg_write(dev, 0x44 + i, 1, 0xff);
		assert_int_equal(tl_cfg_read(dev, 0x44 + i, 1), 0x5a);
	}
	/* Hard-wired: neither software nor the device changes them. */
	tl_cfg_write(dev, 0x48, 4, 0);
	assert_int_equal(tl_cfg_read(dev, 0x48, 4), 0x12340000);
	sim_cfg_set(dev, 0x48, 4, 0xffffffff);
	assert_int_equal(tl_cfg_read(dev, 0x48, 4), 0x1234ffff);
	assert_int_equal(sim_cfg_get_mask(dev, SIM_MASK_RW, 0x48, 4), 0x0000ffff);
	/* Read-only: software cannot write, the device can. */
	tl_cfg_write(dev, 0x4c, 4, 0xffffffff);
	assert_int_equal(tl_cfg_read(dev, 0x4c, 4), 0);
	sim_cfg_set(dev, 0x4c, 2, 0xbeef);
	assert_int_equal(tl_cfg_read(dev, 0x4c, 4), 0xbeef);
	sim_device_free(dev);
}

/* Widths and alignment: nothing crosses a dword. */
static void test_access_rules(void **state)
{
	SimDevice *dev = blank(256), *exp = blank(4096);
	uint32_t v;
	uint8_t buf[300];
	(void)state;

	sim_cfg_set_mask(dev, SIM_MASK_RW, 0x40, 4, 0xffffffff);
	realize(dev);
	realize(exp);
	assert_int_equal(sim_cfg_read(dev, 0x40, 0, &v), -EINVAL);
	assert_int_equal(sim_cfg_read(dev, 0x40, 5, &v), -EINVAL);
	assert_int_equal(sim_cfg_read(dev, 0x43, 2, &v), -EINVAL);
	assert_int_equal(sim_cfg_write(dev, 0x42, 4, 0), -EINVAL);
	assert_int_equal(sim_cfg_read(dev, 0x100, 1, &v), -EFAULT);
	assert_int_equal(sim_cfg_read(dev, 0xff, 1, &v), 0);
	assert_int_equal(sim_cfg_read(exp, 0xffc, 4, &v), 0);
	assert_int_equal(sim_cfg_read(exp, 0x1000, 1, &v), -EFAULT);
	/* Unaligned inside a dword is fine (byte enables). */
	tl_cfg_write(dev, 0x41, 2, 0xbbaa);
	assert_int_equal(tl_cfg_read(dev, 0x40, 4), 0x00bbaa00);
	tl_cfg_write(dev, 0x41, 3, 0x332211);
	assert_int_equal(tl_cfg_read(dev, 0x40, 4), 0x33221100);
	/* Buffer accesses split across dwords and check the total size. */
	assert_int_equal(sim_cfg_write_buf(dev, 0x3f, "\x01\x02\x03\x04\x05\x06", 6), 0);
	assert_int_equal(tl_cfg_read(dev, 0x40, 4), 0x05040302);
	assert_int_equal(sim_cfg_read_buf(dev, 0, buf, 256), 0);
	assert_int_equal(buf[0x40], 0x02);
	assert_int_equal(sim_cfg_read_buf(dev, 0, buf, 257), -EFAULT);
	assert_int_equal(sim_cfg_read_buf(dev, 257, buf, 0), -EFAULT);
	assert_int_equal(sim_device_cfg_size(exp), 4096);
	assert_null(sim_device_new("x", 512));
	sim_device_free(dev);
	sim_device_free(exp);
}

/* The header's generic rules: Command, Status W1C, Interrupt Line. */
static void test_header_rules(void **state)
{
	SimDevice *dev = blank(256);
	Error *err = NULL;
	(void)state;

	assert_true(sim_bar_add(dev, 0, SIM_BAR_MEM32, false, 0x1000, &err));
	sim_cfg_set(dev, PCI_INTERRUPT_PIN, 1, 1);
	realize(dev);
	/* No I/O BAR: I/O Space is hard-wired 0. */
	tl_cfg_write(dev, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(tl_cfg_read(dev, PCI_COMMAND, 2),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
			 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	sim_cfg_set(dev, PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_CAP_LIST);
	tl_cfg_write(dev, PCI_STATUS, 2, 0xffff);
	assert_int_equal(tl_cfg_read(dev, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	tl_cfg_write(dev, PCI_INTERRUPT_LINE, 1, 0x0b);
	assert_int_equal(tl_cfg_read(dev, PCI_INTERRUPT_LINE, 1), 0x0b);
	tl_cfg_write(dev, PCI_INTERRUPT_PIN, 1, 0x04);
	assert_int_equal(tl_cfg_read(dev, PCI_INTERRUPT_PIN, 1), 1);
	/* Realize twice is refused. */
	assert_false(sim_device_realize(dev, &err));
	assert_non_null(strstr(error_get_pretty(err), "already realized"));
	error_free(err);
	sim_device_free(dev);
}

static void test_ids_and_vf(void **state)
{
	SimIds ids = { 0x1425, 0x5803, 0x1425, 0x0000, 0x020000, 0 }, got;
	SimDevice *pf = blank(4096), *vf = blank(4096);
	Error *err = NULL;
	(void)state;

	sim_device_set_ids(pf, &ids);
	sim_device_set_ids(vf, &ids);
	sim_device_set_vf(vf, true);
	assert_true(sim_bar_add(vf, 0, SIM_BAR_MEM64, false, 0x1000, &err));
	realize(pf);
	realize(vf);
	assert_true(sim_device_is_vf(vf));
	assert_false(sim_device_is_vf(pf));
	assert_int_equal(tl_cfg_read(pf, PCI_VENDOR_ID, 4), 0x58031425);
	assert_int_equal(tl_cfg_read(vf, PCI_VENDOR_ID, 4), 0xffffffff);
	got = sim_device_ids(vf);
	assert_int_equal(got.vendor, 0x1425);
	assert_int_equal(got.device, 0x5803);
	assert_int_equal(tl_cfg_read(vf, PCI_CLASS_REVISION, 4), 0x02000000);
	/* VF BARs are read-only zero, and sizing them reads zero. */
	tl_cfg_write(vf, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(tl_cfg_read(vf, PCI_BASE_ADDRESS_0, 4), 0);
	/* The VF's Memory Space bit is hard-wired 0; decode follows VF MSE. */
	tl_cfg_write(vf, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(tl_cfg_read(vf, PCI_COMMAND, 2),
			 PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR);
	assert_true(sim_bar_decodes(vf, 0));
	sim_device_set_vf_mse(vf, false);
	assert_false(sim_bar_decodes(vf, 0));
	assert_true(sim_bar_set_addr(vf, 0, 0xfe000000, &err));
	assert_int_equal(tl_cfg_read(vf, PCI_BASE_ADDRESS_0, 4), 0);
	sim_device_free(pf);
	sim_device_free(vf);
}

typedef struct HookLog {
	unsigned reads, writes, last_off, last_len;
	uint32_t last_val;
} HookLog;

static void hook_read(SimDevice *dev, void *opaque, unsigned off, unsigned len,
		      uint32_t *val)
{
	HookLog *l = opaque;
	(void)dev; (void)len;

	l->reads++;
	if (off == 0x60)
		*val ^= 0xff;
}

static void hook_write(SimDevice *dev, void *opaque, unsigned off,
		       unsigned len, uint32_t val)
{
	HookLog *l = opaque;
	(void)dev;

	l->writes++;
	l->last_off = off;
	l->last_len = len;
	l->last_val = val;
}

static void test_hooks(void **state)
{
	SimDevice *dev = blank(256);
	HookLog log = { 0 };
	Error *err = NULL;
	(void)state;

	assert_true(sim_cfg_add_hook(dev, 0x60, 2, hook_read, hook_write, &log, &err));
	assert_false(sim_cfg_add_hook(dev, 0xff, 2, NULL, NULL, NULL, &err));
	assert_non_null(strstr(error_get_pretty(err), "outside config space"));
	error_free(err);
	realize(dev);
	assert_int_equal(tl_cfg_read(dev, 0x60, 1), 0xff);
	assert_int_equal(tl_cfg_read(dev, 0x64, 4), 0);	/* no overlap */
	assert_int_equal(log.reads, 1);
	tl_cfg_write(dev, 0x61, 1, 0x5a);
	assert_int_equal(log.writes, 1);
	assert_int_equal(log.last_off, 0x61);
	assert_int_equal(log.last_len, 1);
	assert_int_equal(log.last_val, 0x5a);
	tl_cfg_write(dev, 0x62, 2, 0);
	assert_int_equal(log.writes, 1);
	sim_device_free(dev);
}

/* The chain follows call order, not address order (T5 VF: 70, b0, 50). */
static void test_cap_chain_order(void **state)
{
	SimDevice *dev = blank(4096);
	Error *err = NULL;
	(void)state;

	assert_true(sim_cap_add(dev, PCI_CAP_ID_EXP, 0x70, 0x3c, &err));
	assert_true(sim_cap_add(dev, PCI_CAP_ID_MSIX, 0xb0, 12, &err));
	assert_true(sim_cap_add(dev, PCI_CAP_ID_MSI, 0x50, 24, &err));
	assert_true(sim_ecap_add(dev, PCI_EXT_CAP_ID_ERR, 2, 0x100, 0x38, &err));
	assert_true(sim_ecap_add(dev, PCI_EXT_CAP_ID_ARI, 1, 0x140, 8, &err));
	assert_true(sim_ecap_add(dev, PCI_EXT_CAP_ID_TPH, 1, 0x150, 12, &err));
	realize(dev);
	assert_true(tl_cfg_read(dev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(tl_cfg_read(dev, PCI_CAPABILITY_LIST, 1), 0x70);
	assert_int_equal(tl_cfg_read(dev, 0x70, 2), 0xb000 | PCI_CAP_ID_EXP);
	assert_int_equal(tl_cfg_read(dev, 0xb0, 2), 0x5000 | PCI_CAP_ID_MSIX);
	assert_int_equal(tl_cfg_read(dev, 0x50, 2), 0x0000 | PCI_CAP_ID_MSI);
	assert_int_equal(tl_cfg_read(dev, 0x100, 4), 0x14020001);
	assert_int_equal(tl_cfg_read(dev, 0x140, 4), 0x1501000e);
	assert_int_equal(tl_cfg_read(dev, 0x150, 4), 0x00010017);
	assert_int_equal(sim_cap_find(dev, PCI_CAP_ID_MSI), 0x50);
	assert_int_equal(sim_cap_find(dev, PCI_CAP_ID_PM), 0);
	assert_int_equal(sim_ecap_find(dev, PCI_EXT_CAP_ID_TPH), 0x150);
	assert_int_equal(sim_ecap_find(dev, PCI_EXT_CAP_ID_DSN), 0);
	/* The chain is read-only to software. */
	tl_cfg_write(dev, 0x71, 1, 0x40);
	assert_int_equal(tl_cfg_read(dev, 0x71, 1), 0xb0);
	sim_device_free(dev);
}

static void expect_cap_error(SimDevice *dev, bool ext, unsigned id,
			     unsigned off, unsigned len, const char *phrase)
{
	Error *err = NULL;
	bool ok = ext ? sim_ecap_add(dev, (uint16_t)id, 1, off, len, &err)
		      : sim_cap_add(dev, (uint8_t)id, off, len, &err);

	assert_false(ok);
	if (!strstr(error_get_pretty(err), phrase))
		fail_msg("'%s' does not contain '%s'", error_get_pretty(err), phrase);
	error_free(err);
}

static void test_cap_errors(void **state)
{
	SimDevice *dev = blank(4096), *conv = blank(256);
	Error *err = NULL;
	(void)state;

	expect_cap_error(dev, false, 5, 0x3c, 8, "0x40..0xff");
	expect_cap_error(dev, false, 5, 0x42, 8, "dword aligned");
	expect_cap_error(dev, false, 5, 0xf8, 16, "0x40..0xff");
	assert_true(sim_cap_add(dev, 5, 0x50, 0x18, &err));
	expect_cap_error(dev, false, 9, 0x60, 8, "overlaps used config byte 0x60");
	expect_cap_error(dev, true, 1, 0x140, 8, "must be at 0x100");
	expect_cap_error(dev, true, 1, 0x0fc, 8, "from 0x100");
	expect_cap_error(conv, true, 1, 0x100, 8, "4 KiB");
	assert_true(sim_ecap_add(dev, 1, 2, 0x100, 0x38, &err));
	expect_cap_error(dev, true, 0xe, 0x130, 8, "overlaps");
	expect_cap_error(dev, true, 0xe, 0xffc, 8, "does not fit");
	realize(dev);
	expect_cap_error(dev, false, 9, 0x80, 8, "after realize");
	expect_cap_error(dev, true, 0xe, 0x200, 8, "after realize");
	sim_device_free(dev);
	sim_device_free(conv);
}

static void test_vendor_cap(void **state)
{
	SimDevice *dev = blank(256);
	static const uint8_t body[] = { 0xde, 0xad, 0xbe, 0xef, 0x01 };
	Error *err = NULL;
	(void)state;

	assert_false(sim_cap_add_vendor(dev, 0x40, body, 2, &err));
	error_free(err);
	err = NULL;
	assert_true(sim_cap_add_vendor(dev, 0x40, body, 8, &err));
	realize(dev);
	assert_int_equal(tl_cfg_read(dev, 0x40, 4), 0xde080009);
	assert_int_equal(tl_cfg_read(dev, 0x44, 4), 0x01efbead);
	tl_cfg_write(dev, 0x44, 4, 0);
	assert_int_equal(tl_cfg_read(dev, 0x44, 4), 0x01efbead);
	sim_device_free(dev);
}

/* Adopting a capability found in config space: size and uniqueness. */
static void test_adopt_errors(void **state)
{
	SimDevice *dev = sim_device_new("t", 4096);
	Error *err = NULL;
	(void)state;

	/* AER header at 0xfe0: its 0x38 bytes would run off the end. */
	sim_cfg_set(dev, 0xfe0, 4, PCI_EXT_CAP_ID_ERR | (2u << 16));
	assert_false(sim_ecap_adopt(dev, 0xfe0, &err));
	assert_non_null(strstr(error_get_pretty(err), "does not fit below 0x1000"));
	error_free(err);
	err = NULL;
	assert_false(sim_ecap_adopt(dev, 0x102, &err));
	error_free(err);
	err = NULL;
	/* Two PCI Express capabilities: the second is refused. */
	sim_cfg_set(dev, 0x40, 4, PCI_CAP_ID_EXP | (0x0002u << 16));
	sim_cfg_set(dev, 0x80, 4, PCI_CAP_ID_EXP | (0x0002u << 16));
	assert_true(sim_cap_adopt(dev, 0x40, &err));
	assert_false(sim_cap_adopt(dev, 0x80, &err));
	assert_non_null(strstr(error_get_pretty(err), "a second PCI Express capability at 0x80"));
	error_free(err);
	err = NULL;
	/* A PM capability adopted from config space, then a second one built. */
	sim_cfg_set(dev, 0xe0, 4, PCI_CAP_ID_PM);
	assert_true(sim_cap_adopt(dev, 0xe0, &err));
	assert_false(sim_cap_add_pm(dev, 0xc0, 3, false, &err));
	assert_non_null(strstr(error_get_pretty(err), "a second power management"));
	error_free(err);
	err = NULL;
	assert_false(sim_cap_adopt(dev, 0x3c, &err));
	error_free(err);
	sim_device_free(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_masks_byte_by_byte),
		cmocka_unit_test(test_access_rules),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_ids_and_vf),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_cap_chain_order),
		cmocka_unit_test(test_cap_errors),
		cmocka_unit_test(test_vendor_cap),
		cmocka_unit_test(test_adopt_errors),
	};

	return cmocka_run_group_tests_name("sim_cfg", tests, NULL, NULL);
}

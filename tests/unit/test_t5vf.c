/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chelsio-t5-vf model against the checklist of t5vf.md section 4, its
 * parameters, the VF register window and the firmware mailbox.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testlib.h"

#define MODEL "chelsio-t5-vf"

/* BAR0 register window (cxgb4vf t4vf_defs.h). */
#define R_KDOORBELL	0x000
#define R_GTS		0x004
#define R_MPS_CTL	0x100
#define R_MPS_STAT0	0x180
#define R_WHOAMI	0x200
#define R_PL_REV	0x204
#define R_MBDATA	0x240
#define R_MBCTRL	0x300
#define R_MBSTATUS	0x304

#define CTRL_VALID	0x8
#define OWNER_NONE	0
#define OWNER_FW	1
#define OWNER_DRV	2

/* Firmware command header as the first 64-bit mailbox register. */
#define OP(op)		((uint64_t)(op) << 56)
#define REQUEST		(1ull << 55)
#define READ		(1ull << 54)
#define WRITE		(1ull << 53)
#define RETVAL(hdr)	((unsigned)((hdr) >> 8) & 0xff)
#define LEN16(hdr)	((unsigned)(hdr) & 0xff)

#define FW_RESET_CMD	0x03
#define FW_PARAMS_CMD	0x08
#define FW_PFVF_CMD	0x09
#define FW_VI_CMD	0x14
#define FW_RSS_GLB_CONFIG_CMD 0x22
#define FW_EINVAL	22
#define FW_ENOSYS	38

#define DEV_PARAM(x)	(1u << 24 | (uint32_t)(x) << 16)
#define PFVF_PARAM(x)	(2u << 24 | (uint32_t)(x) << 16)
#define REG_PARAM(a)	(3u << 24 | (uint32_t)(a))

static SimDevice *t5vf(const char *params)
{
	return tl_model(MODEL, "0000:05:00.21", params);
}

/* ---- the t5vf.md section 4 checklist ------------------------------------ */

/* 1: 0x34 -> 0x70 (PCIe) -> 0xb0 (MSI-X) -> 0x50 (MSI) -> 0. */
static void test_cap_chain(void **state)
{
	SimDevice *dev = t5vf(NULL);
	(void)state;

	assert_true(tl_cfg_read(dev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(tl_cfg_read(dev, PCI_CAPABILITY_LIST, 1), 0x70);
	assert_int_equal(tl_cfg_read(dev, 0x70, 2), 0xb000 | PCI_CAP_ID_EXP);
	assert_int_equal(tl_cfg_read(dev, 0xb0, 2), 0x5000 | PCI_CAP_ID_MSIX);
	assert_int_equal(tl_cfg_read(dev, 0x50, 2), 0x0000 | PCI_CAP_ID_MSI);
	sim_device_free(dev);
}

/* 1: no PM and no VPD capability on the VF. */
static void test_no_pm_no_vpd(void **state)
{
	SimDevice *dev = t5vf(NULL);
	(void)state;

	assert_int_equal(sim_cap_find(dev, PCI_CAP_ID_PM), 0);
	assert_int_equal(sim_cap_find(dev, PCI_CAP_ID_VPD), 0);
	sim_device_free(dev);
}

/* 2: 0x100 AER v2 -> 0x140 ARI v1 -> 0x150 TPH Requester v1 -> end. */
static void test_ecap_chain(void **state)
{
	SimDevice *dev = t5vf(NULL);
	(void)state;

	assert_int_equal(tl_cfg_read(dev, 0x100, 4), 0x14020001);
	assert_int_equal(tl_cfg_read(dev, 0x140, 4), 0x1501000e);
	assert_int_equal(tl_cfg_read(dev, 0x150, 4), 0x00010017);
	sim_device_free(dev);
}

/* 3: 8 vectors, table BIR4@0, PBA reported BIR4@0x8000, BAR4 8 KiB. */
static void test_msix_layout(void **state)
{
	SimDevice *dev = t5vf(NULL);
	SimBarInfo bi;
	(void)state;

	assert_int_equal(tl_cfg_read(dev, 0xb0 + PCI_MSIX_FLAGS, 2), 0x0007);
	assert_int_equal(sim_msix_nvec(dev), 8);
	assert_int_equal(tl_cfg_read(dev, 0xb0 + PCI_MSIX_TABLE, 4), 0x00000004);
	assert_int_equal(tl_cfg_read(dev, 0xb0 + PCI_MSIX_PBA, 4), 0x00008004);
	assert_true(sim_bar_info(dev, 4, &bi));
	assert_int_equal(bi.size, 0x2000);
	assert_int_equal(bi.type, SIM_BAR_MEM64);
	sim_device_free(dev);
}

/* 4: MSI 32 vectors, 64-bit, per-vector masking. */
static void test_msi_flags(void **state)
{
	SimDevice *dev = t5vf(NULL);
	(void)state;

	assert_int_equal(tl_cfg_read(dev, 0x50 + PCI_MSI_FLAGS, 2), 0x018a);
	sim_device_free(dev);
}

/* 5: PCIe v2 endpoint, MPSS 2048, FLR, DevCtl, LinkCap, LinkSta 0. */
static void test_pcie_cap(void **state)
{
	SimDevice *dev = t5vf(NULL);
	uint32_t devcap, lnkcap;
	(void)state;

	assert_int_equal(tl_cfg_read(dev, 0x70 + PCI_EXP_FLAGS, 2), 0x0002);
	devcap = tl_cfg_read(dev, 0x70 + PCI_EXP_DEVCAP, 4);
	assert_int_equal(devcap & PCI_EXP_DEVCAP_PAYLOAD, 4);		/* 2048 */
	assert_true(devcap & PCI_EXP_DEVCAP_FLR);
	assert_int_equal(devcap, 0x10000004);
	/* MPS 256, No-Snoop on, Relaxed Ordering off, MRRS 512. */
	assert_int_equal(tl_cfg_read(dev, 0x70 + PCI_EXP_DEVCTL, 2), 0x2820);
	lnkcap = tl_cfg_read(dev, 0x70 + PCI_EXP_LNKCAP, 4);
	assert_int_equal(lnkcap & PCI_EXP_LNKCAP_SLS, 3);		/* 8 GT/s */
	assert_int_equal((lnkcap & PCI_EXP_LNKCAP_MLW) >> 4, 8);	/* x8 */
	assert_int_equal(lnkcap & PCI_EXP_LNKCAP_ASPMS, PCI_EXP_LNKCAP_ASPMS);
	assert_int_equal(lnkcap, 0x00000c83);
	assert_int_equal(tl_cfg_read(dev, 0x70 + PCI_EXP_LNKSTA, 2), 0);
	sim_device_free(dev);
}

/* 6: class 0x020000, revision 0, subsystem 1425:0000. */
static void test_class_rev_subsys(void **state)
{
	SimDevice *dev = t5vf(NULL);
	SimIds ids = sim_device_ids(dev);
	(void)state;

	assert_int_equal(tl_cfg_read(dev, PCI_REVISION_ID, 4), 0x02000000);
	assert_int_equal(tl_cfg_read(dev, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00001425);
	assert_int_equal(tl_cfg_read(dev, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(ids.class_code, 0x020000);
	assert_int_equal(ids.revision, 0);
	assert_int_equal(ids.subsystem_vendor, 0x1425);
	assert_int_equal(ids.subsystem_device, 0x0000);
	sim_device_free(dev);
}

/* SR-IOV: raw Vendor/Device read 0xffff; the published IDs are 1425:5803. */
static void test_vf_ids(void **state)
{
	SimDevice *dev = t5vf(NULL);
	SimIds ids = sim_device_ids(dev);
	(void)state;

	assert_true(sim_device_is_vf(dev));
	assert_int_equal(tl_cfg_read(dev, PCI_VENDOR_ID, 2), 0xffff);
	assert_int_equal(tl_cfg_read(dev, PCI_DEVICE_ID, 2), 0xffff);
	tl_cfg_write(dev, PCI_VENDOR_ID, 4, 0);
	assert_int_equal(tl_cfg_read(dev, PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(ids.vendor, 0x1425);
	assert_int_equal(ids.device, 0x5803);
	assert_int_equal(sim_device_cfg_size(dev), 4096);
	sim_device_free(dev);
}

/* No INTx on a VF. */
static void test_interrupt_pin(void **state)
{
	SimDevice *dev = t5vf(NULL);
	(void)state;

	assert_int_equal(tl_cfg_read(dev, PCI_INTERRUPT_PIN, 1), 0);
	sim_device_free(dev);
}

/* VF BAR registers read 0 and ignore writes; the BARs themselves exist. */
static void test_vf_bar_registers(void **state)
{
	SimDevice *dev = t5vf(NULL);
	SimBarInfo bi;
	(void)state;

	for (unsigned off = PCI_BASE_ADDRESS_0; off <= PCI_BASE_ADDRESS_5; off += 4) {
		assert_int_equal(tl_cfg_read(dev, off, 4), 0);
		tl_cfg_write(dev, off, 4, 0xffffffff);
		assert_int_equal(tl_cfg_read(dev, off, 4), 0);
	}
	assert_true(sim_bar_info(dev, 0, &bi));
	assert_int_equal(bi.size, 0x1000);
	assert_false(bi.prefetch);
	assert_true(sim_bar_info(dev, 2, &bi));
	assert_int_equal(bi.size, 0x2000);
	assert_true(bi.prefetch);
	assert_int_equal(bi.type, SIM_BAR_MEM64);
	assert_false(sim_bar_info(dev, 1, &bi));
	assert_false(sim_bar_info(dev, SIM_ROM_SLOT, &bi));
	sim_device_free(dev);
}

/* ---- parameters --------------------------------------------------------- */

static void test_device_id_accepted(void **state)
{
	static const char *const ok[] = { "0x5800", "0x5810", "0x581b", "0x5880", "0x58b0" };
	static const uint16_t want[] = { 0x5800, 0x5810, 0x581b, 0x5880, 0x58b0 };
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char params[64];
		SimDevice *dev;

		snprintf(params, sizeof(params), "device_id=%s", ok[i]);
		dev = t5vf(params);
		assert_int_equal(sim_device_ids(dev).device, want[i]);
		assert_int_equal(tl_cfg_read(dev, PCI_DEVICE_ID, 2), 0xffff);
		sim_device_free(dev);
	}
}

static void test_device_id_rejected(void **state)
{
	static const char *const bad[] = {
		"device_id=0x57ff", "device_id=0x581c", "device_id=0x587f",
		"device_id=0x58b1", "device_id=0x5403", "device_id=0x15803",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *msg = tl_model_error(MODEL, bad[i]), want[128];

		snprintf(want, sizeof(want), "parameter %s: not a T5 VF device ID "
			 "(valid: 0x5800-0x581b, 0x5880-0x58b0)", bad[i]);
		assert_string_equal(msg, want);
		free(msg);
	}
}

static void test_bad_params(void **state)
{
	static const struct {
		const char *params, *msg;
	} cases[] = {
		{ "device_id=banana", "parameter device_id=banana: not a number" },
		{ "pf=4", "parameter pf=4: out of range 0x0..0x3" },
		{ "vfid=128", "parameter vfid=128: out of range 0x0..0x7f" },
		{ "mbox_delay=17", "parameter mbox_delay=17: out of range 0x0..0x10" },
		{ "pba_erratum=maybe",
		  "parameter pba_erratum=maybe: expected on/off, yes/no, true/false or 1/0" },
		{ "colour=blue", "model chelsio-t5-vf has no parameter 'colour'" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *msg = tl_model_error(MODEL, cases[i].params);

		assert_string_equal(msg, cases[i].msg);
		free(msg);
	}
}

/* The fixed-silicon variant reports the true PBA offset. */
static void test_pba_erratum_off(void **state)
{
	SimDevice *dev = t5vf("pba_erratum=off");
	(void)state;

	assert_int_equal(tl_cfg_read(dev, 0xb0 + PCI_MSIX_PBA, 4), 0x00001004);
	assert_int_equal(tl_cfg_read(dev, 0xb0 + PCI_MSIX_TABLE, 4), 0x00000004);
	sim_device_free(dev);
}

/* ---- MSI-X: the PBA really is at BAR4 + 0x1000 --------------------------- */

static void test_msix_pending_and_delivery(void **state)
{
	SimDevice *dev = t5vf(NULL);
	TlHost h;
	uint64_t v;
	(void)state;

	tl_host_attach(&h, dev);
	tl_cfg_write(dev, 0xb0 + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(sim_irq_mode(dev), SIM_IRQ_MSIX);
	/* Vector 3: address and data; it comes out of reset masked. */
	tl_bar_write(dev, 4, 3 * 16 + PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xfee01000);
	tl_bar_write(dev, 4, 3 * 16 + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
	tl_bar_write(dev, 4, 3 * 16 + PCI_MSIX_ENTRY_DATA, 4, 0x4073);
	assert_int_equal(tl_bar_read(dev, 4, 3 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4), 1);
	assert_int_equal(tl_bar_read(dev, 4, 0x1000, 8), 0);

	assert_int_equal(sim_irq_raise(dev, 3), SIM_IRQ_PENDING);
	assert_int_equal(h.nmsgs, 0);
	assert_int_equal(tl_bar_read(dev, 4, 0x1000, 8), 1u << 3);
	assert_int_equal(tl_bar_read(dev, 4, 0x1000, 4), 1u << 3);

	/* Unmask: the pending message goes out and the bit clears. */
	tl_bar_write(dev, 4, 3 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(h.nmsgs, 1);
	assert_int_equal(h.msgs[0].addr, 0xfee01000);
	assert_int_equal(h.msgs[0].data, 0x4073);
	assert_int_equal(tl_bar_read(dev, 4, 0x1000, 8), 0);

	/* Unmasked: delivered at once. */
	assert_int_equal(sim_irq_raise(dev, 3), SIM_IRQ_DELIVERED);
	assert_int_equal(h.nmsgs, 2);

	/* The reported PBA offset is outside the 8 KiB BAR. */
	assert_int_equal(sim_bar_read(dev, 4, 0x8000, 4, &v), -EINVAL);
	assert_int_equal(sim_bar_read(dev, 4, 0x2000, 4, &v), -EINVAL);
	sim_device_free(dev);
}

/* ---- BAR0 register window ----------------------------------------------- */

static void test_whoami(void **state)
{
	SimDevice *dev = t5vf(NULL);
	uint32_t w;
	(void)state;

	/* SOURCEPF 0 (bits 10:8), ISVF (bit 7), VFID 0 (bits 6:0). */
	w = (uint32_t)tl_bar_read(dev, 0, R_WHOAMI, 4);
	assert_int_equal(w, 0x00000080);
	assert_true(w != 0xffffffff && w != 0xeeeeeeee);
	tl_bar_write(dev, 0, R_WHOAMI, 4, 0x12345678);	/* read-only */
	assert_int_equal(tl_bar_read(dev, 0, R_WHOAMI, 4), 0x00000080);
	sim_device_free(dev);

	dev = t5vf("pf=3,vfid=5");
	w = (uint32_t)tl_bar_read(dev, 0, R_WHOAMI, 4);
	assert_int_equal(w, 0x00000385);
	assert_int_equal((w >> 8) & 7, 3);
	sim_device_free(dev);
}

static void test_register_window(void **state)
{
	SimDevice *dev = t5vf(NULL);
	uint64_t v;
	(void)state;

	/* Linux reads the chip revision at BAR0 + 0x4 (bits 3:0): 0. */
	assert_int_equal(tl_bar_read(dev, 0, R_GTS, 4), 0);
	tl_bar_write(dev, 0, R_GTS, 4, 0x1234);
	assert_int_equal(tl_bar_read(dev, 0, R_GTS, 4), 0);
	/* The kernel doorbell is write-only. */
	tl_bar_write(dev, 0, R_KDOORBELL, 4, 0xffffffff);
	assert_int_equal(tl_bar_read(dev, 0, R_KDOORBELL, 4), 0);
	/* PL_VF_REV: ChipID 5 (T5), Rev 0. */
	assert_int_equal(tl_bar_read(dev, 0, R_PL_REV, 4), 0x50);
	/* Mailbox status: the VF mailbox is ready. */
	assert_int_equal(tl_bar_read(dev, 0, R_MBSTATUS, 4), 1);
	/* MPS_VF_CTL: TxEn/RxEn writable; statistics read-only zero. */
	tl_bar_write(dev, 0, R_MPS_CTL, 4, 0xffffffff);
	assert_int_equal(tl_bar_read(dev, 0, R_MPS_CTL, 4), 3);
	for (unsigned off = R_MPS_STAT0; off < 0x200; off += 8) {
		tl_bar_write(dev, 0, off, 8, ~0ull);
		assert_int_equal(tl_bar_read(dev, 0, off, 8), 0);
		assert_int_equal(tl_bar_read(dev, 0, off + 4, 4), 0);
	}
	/* Reserved space in the window reads 0; past it, nothing decodes. */
	assert_int_equal(tl_bar_read(dev, 0, 0x008, 8), 0);
	assert_int_equal(tl_bar_read(dev, 0, 0x104, 4), 0);
	assert_int_equal(tl_bar_read(dev, 0, 0x20c, 4), 0);
	assert_int_equal(tl_bar_read(dev, 0, 0x3fc, 4), 0);
	tl_bar_write(dev, 0, 0x3f8, 8, ~0ull);
	assert_int_equal(tl_bar_read(dev, 0, 0x3f8, 8), 0);
	assert_int_equal(tl_bar_read(dev, 0, 0x400, 4), 0xffffffff);
	assert_int_equal(sim_bar_read(dev, 0, 0x1000, 4, &v), -EINVAL);
	/* BAR2 user doorbells: writes accepted, reads 0. */
	tl_bar_write(dev, 2, 0x8, 4, 0xdeadbeef);
	tl_bar_write(dev, 2, 0x1ff8, 8, ~0ull);
	assert_int_equal(tl_bar_read(dev, 2, 0x8, 4), 0);
	assert_int_equal(tl_bar_read(dev, 2, 0x1ff8, 8), 0);
	sim_device_free(dev);
}

/* ---- mailbox ------------------------------------------------------------ */

static unsigned ctrl_read(SimDevice *dev)
{
	return (unsigned)tl_bar_read(dev, 0, R_MBCTRL, 4);
}

static void mbox_write(SimDevice *dev, const uint64_t *flits, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		tl_bar_write(dev, 0, R_MBDATA + 8 * i, 8, flits[i]);
}

/*
 * The cxgb4vf sequence: take ownership, write the command, hand it to the
 * firmware, poll for the reply, read it, release the mailbox.  Returns the
 * number of control reads that still showed the firmware as owner.
 */
static unsigned mbox_cmd(SimDevice *dev, const uint64_t *cmd, uint64_t *rpl)
{
	unsigned polls = 0, v;

	assert_int_equal(ctrl_read(dev) & 3, OWNER_DRV);
	mbox_write(dev, cmd, 8);
	(void)tl_bar_read(dev, 0, R_MBDATA, 4);			/* flush */
	tl_bar_write(dev, 0, R_MBCTRL, 4, CTRL_VALID | OWNER_FW);
	while (((v = ctrl_read(dev)) & 3) == OWNER_FW) {
		assert_int_equal(v, CTRL_VALID | OWNER_FW);
		assert_true(++polls < 100);
	}
	assert_int_equal(v, CTRL_VALID | OWNER_DRV);
	for (unsigned i = 0; i < 8; i++)
		rpl[i] = tl_bar_read(dev, 0, R_MBDATA + 8 * i, 8);
	tl_bar_write(dev, 0, R_MBCTRL, 4, OWNER_NONE);
	return polls;
}

/* Reading the control register of a free mailbox grants it to the driver. */
static void test_mbox_ownership_grant(void **state)
{
	SimDevice *dev = t5vf(NULL);
	(void)state;

	assert_int_equal(ctrl_read(dev), OWNER_DRV);
	assert_int_equal(ctrl_read(dev), OWNER_DRV);
	/* The owner keeps it while writing DRV (with INTREQ as written). */
	tl_bar_write(dev, 0, R_MBCTRL, 4, 0x4 | OWNER_DRV);
	assert_int_equal(ctrl_read(dev), 0x4 | OWNER_DRV);
	/* A reserved owner value is ignored. */
	tl_bar_write(dev, 0, R_MBCTRL, 4, 3);
	assert_int_equal(ctrl_read(dev), 0x4 | OWNER_DRV);
	sim_device_free(dev);
}

static void test_mbox_fw_reset(void **state)
{
	SimDevice *dev = t5vf(NULL);
	/* t4vf_fw_reset: OP | WRITE (no REQUEST), LEN16 1. */
	uint64_t cmd[8] = { OP(FW_RESET_CMD) | WRITE | 1 }, rpl[8];
	(void)state;

	assert_int_equal(mbox_cmd(dev, cmd, rpl), 0);
	assert_int_equal(rpl[0], OP(FW_RESET_CMD) | WRITE | 1);
	assert_int_equal(RETVAL(rpl[0]), 0);
	sim_device_free(dev);
}

static void test_mbox_params(void **state)
{
	SimDevice *dev = t5vf("pf=1");
	uint64_t cmd[8] = { 0 }, rpl[8];
	uint32_t v;
	(void)state;

	/* t4vf_get_dev_params: FWREV and TPREV (LEN16 2, a zero third slot). */
	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | READ | 2;
	cmd[1] = (uint64_t)DEV_PARAM(0x0b) << 32;
	cmd[2] = (uint64_t)DEV_PARAM(0x0c) << 32;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(rpl[0], OP(FW_PARAMS_CMD) | READ | 2);
	assert_int_equal(rpl[1] >> 32, DEV_PARAM(0x0b));
	assert_int_equal((uint32_t)rpl[1], 0x01180e00);
	assert_int_equal((uint32_t)rpl[2], 0x00010409);
	assert_int_equal(rpl[3], 0);

	/* t4vf_get_vpd_params: CCLK in kHz. */
	memset(cmd, 0, sizeof(cmd));
	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | READ | 1;
	cmd[1] = (uint64_t)DEV_PARAM(0x00) << 32;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), 0);
	assert_int_equal((uint32_t)rpl[1], 250000);

	/* t4vf_get_sge_params, first query: seven registers (LEN16 4). */
	memset(cmd, 0, sizeof(cmd));
	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | READ | 4;
	cmd[1] = (uint64_t)REG_PARAM(0x1008) << 32;	/* SGE_CONTROL */
	cmd[2] = (uint64_t)REG_PARAM(0x100c) << 32;	/* HOST_PAGE_SIZE */
	cmd[3] = (uint64_t)REG_PARAM(0x1044) << 32;	/* FL_BUFFER_SIZE0 */
	cmd[4] = (uint64_t)REG_PARAM(0x1048) << 32;	/* FL_BUFFER_SIZE1 */
	cmd[5] = (uint64_t)REG_PARAM(0x10b8) << 32;	/* TIMER_VALUE_0_AND_1 */
	cmd[6] = (uint64_t)REG_PARAM(0x10bc) << 32;
	cmd[7] = (uint64_t)REG_PARAM(0x10c0) << 32;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(rpl[0], OP(FW_PARAMS_CMD) | READ | 4);
	v = (uint32_t)rpl[1];
	assert_true(v & (1u << 18));			/* RXPKTCPLMODE split */
	assert_int_equal(v, 0x00060811);
	v = (uint32_t)rpl[2];
	assert_int_equal((v >> (4 * 1)) & 0xf, 2);	/* PF1: 4 KiB pages */
	assert_int_equal((uint32_t)rpl[3], 4096);	/* fl0 == PAGE_SIZE */
	v = (uint32_t)rpl[4];				/* fl1: 0 or > fl0, pow2 */
	assert_true(v == 0 || (v > 4096 && !(v & (v - 1))));
	assert_int_equal((uint32_t)rpl[5], 1250u << 16 | 2500u);
	assert_int_equal((uint32_t)rpl[6], 5000u << 16 | 12500u);
	assert_int_equal((uint32_t)rpl[7], 25000u << 16 | 50000u);
	for (unsigned i = 1; i < 8; i++)
		assert_int_equal(rpl[i] >> 32, cmd[i] >> 32);

	/* SGE_CONTROL2, then RX threshold / congestion, then queues/page. */
	memset(cmd, 0, sizeof(cmd));
	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | READ | 1;
	cmd[1] = (uint64_t)REG_PARAM(0x1124) << 32;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), 0);
	assert_int_equal((uint32_t)rpl[1], 0x00010000);
	memset(cmd, 0, sizeof(cmd));
	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | READ | 2;
	cmd[1] = (uint64_t)REG_PARAM(0x10a0) << 32;
	cmd[2] = (uint64_t)REG_PARAM(0x1094) << 32;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), 0);
	assert_int_equal((uint32_t)rpl[1], 0x01081020);
	assert_int_equal(((uint32_t)rpl[2] >> 14) & 0x3f, 32);	/* EGRTHRESHOLDPACKING */
	memset(cmd, 0, sizeof(cmd));
	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | READ | 2;
	cmd[1] = (uint64_t)REG_PARAM(0x1014) << 32;
	cmd[2] = (uint64_t)REG_PARAM(0x10f8) << 32;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), 0);
	assert_int_equal(((uint32_t)rpl[1] >> 4) & 0xf, 5);	/* PF1 eq qpp */
	assert_int_equal(((uint32_t)rpl[2] >> 4) & 0xf, 5);	/* PF1 iq qpp */

	/* PARAMS write PFVF CPLFW4MSG_ENCAP and PORT_CAPS32: accepted. */
	memset(cmd, 0, sizeof(cmd));
	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | WRITE | 2;
	cmd[1] = (uint64_t)PFVF_PARAM(0x31) << 32 | 1;
	cmd[2] = (uint64_t)PFVF_PARAM(0x3a) << 32 | 1;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(rpl[0], OP(FW_PARAMS_CMD) | WRITE | 2);
	sim_device_free(dev);
}

static void test_mbox_params_errors(void **state)
{
	SimDevice *dev = t5vf(NULL);
	uint64_t cmd[8] = { 0 }, rpl[8];
	(void)state;

	/* An unknown register: FW_EINVAL, known values still filled in. */
	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | READ | 2;
	cmd[1] = (uint64_t)REG_PARAM(0x1044) << 32;
	cmd[2] = (uint64_t)REG_PARAM(0x19400) << 32;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), FW_EINVAL);
	assert_false(rpl[0] & REQUEST);
	assert_int_equal(LEN16(rpl[0]), 2);
	assert_int_equal((uint32_t)rpl[1], 4096);

	/* Unknown DEV parameter, DEV with Y/Z, unknown mnemonic, PFVF read. */
	static const uint32_t bad[] = {
		DEV_PARAM(0x0d), DEV_PARAM(0x0b) | 1, 5u << 24, PFVF_PARAM(0x31),
	};
	for (unsigned i = 0; i < 4; i++) {
		memset(cmd, 0, sizeof(cmd));
		cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | READ | 1;
		cmd[1] = (uint64_t)bad[i] << 32;
		mbox_cmd(dev, cmd, rpl);
		assert_int_equal(RETVAL(rpl[0]), FW_EINVAL);
	}
	/* Writing anything but the accepted PFVF parameters. */
	memset(cmd, 0, sizeof(cmd));
	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | WRITE | 1;
	cmd[1] = (uint64_t)REG_PARAM(0x1008) << 32;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), FW_EINVAL);
	/* Neither READ nor WRITE, and both. */
	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | 1;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), FW_EINVAL);
	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | READ | WRITE | 1;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), FW_EINVAL);
	sim_device_free(dev);
}

static void test_mbox_bad_len16(void **state)
{
	SimDevice *dev = t5vf(NULL);
	uint64_t cmd[8] = { 0 }, rpl[8];
	static const uint64_t bad[] = {
		OP(FW_PARAMS_CMD) | REQUEST | READ | 0,
		OP(FW_PARAMS_CMD) | REQUEST | READ | 5,
		OP(FW_RESET_CMD) | WRITE | 0xff,
		OP(FW_PFVF_CMD) | REQUEST | READ | 1,
		OP(FW_RSS_GLB_CONFIG_CMD) | REQUEST | READ | 1,
	};
	(void)state;

	for (unsigned i = 0; i < 5; i++) {
		cmd[0] = bad[i];
		mbox_cmd(dev, cmd, rpl);
		assert_int_equal(RETVAL(rpl[0]), FW_EINVAL);
		assert_int_equal(LEN16(rpl[0]), LEN16(bad[i]));
		assert_false(rpl[0] & REQUEST);
	}
	sim_device_free(dev);
}

static void test_mbox_pfvf(void **state)
{
	SimDevice *dev = t5vf("pf=2");
	uint64_t cmd[8] = { OP(FW_PFVF_CMD) | REQUEST | READ | 2 }, rpl[8];
	uint32_t w;
	(void)state;

	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(rpl[0], OP(FW_PFVF_CMD) | READ | 2);
	w = (uint32_t)(rpl[1] >> 32);			/* niqflint_niq */
	assert_int_equal(w >> 20, 9);
	w = (uint32_t)rpl[1];				/* type_to_neq */
	assert_int_equal((w >> 20) & 0xf, 1u << 2);	/* pmask: port of PF2 */
	assert_int_equal(w & 0xfffff, 16);		/* neq */
	w = (uint32_t)(rpl[2] >> 32);			/* tc_to_nexactf */
	assert_int_equal((w >> 16) & 0xff, 1);		/* nvi */
	w = (uint32_t)rpl[2];				/* r_caps_to_nethctrl */
	assert_true((w >> 24) & 0x04);			/* FW_CMD_CAP_PORT */
	assert_int_equal(w & 0xffff, 8);		/* nethctrl */

	/* A VF may not write its limits. */
	cmd[0] = OP(FW_PFVF_CMD) | REQUEST | WRITE | 2;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), FW_EINVAL);
	sim_device_free(dev);
}

static void test_mbox_rss_glb_config(void **state)
{
	SimDevice *dev = t5vf(NULL);
	uint64_t cmd[8] = { OP(FW_RSS_GLB_CONFIG_CMD) | REQUEST | READ | 2 }, rpl[8];
	(void)state;

	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), 0);
	assert_int_equal(rpl[1] >> 60, 1);		/* MODE_BASICVIRTUAL */
	assert_true(rpl[1] & (1u << 2));		/* TNLMAPEN */
	assert_int_equal((uint32_t)rpl[1], 0x7);

	cmd[0] = OP(FW_RSS_GLB_CONFIG_CMD) | REQUEST | WRITE | 2;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), FW_EINVAL);
	sim_device_free(dev);
}

/* Any other opcode: FW_ENOSYS, the command echoed with REQUEST cleared. */
static void test_mbox_unknown_opcode(void **state)
{
	SimDevice *dev = t5vf(NULL);
	uint64_t cmd[8] = { OP(FW_VI_CMD) | REQUEST | WRITE | (1ull << 52) | 0x80000004ull,
			    0x1122334455667788ull }, rpl[8];
	(void)state;

	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), FW_ENOSYS);
	assert_false(rpl[0] & REQUEST);
	assert_int_equal(rpl[0] >> 56, FW_VI_CMD);
	assert_int_equal(LEN16(rpl[0]), 4);
	assert_int_equal(rpl[1], 0x1122334455667788ull);
	sim_device_free(dev);
}

/* Releasing: ownership is gone (data writes do not land), MSGVALID clear. */
static void test_mbox_release(void **state)
{
	SimDevice *dev = t5vf(NULL);
	uint64_t cmd[8] = { OP(FW_RESET_CMD) | WRITE | 1 }, rpl[8];
	(void)state;

	mbox_cmd(dev, cmd, rpl);			/* ends with ctrl = 0 */
	tl_bar_write(dev, 0, R_MBDATA + 8, 8, 0xabcdef);
	assert_int_equal(tl_bar_read(dev, 0, R_MBDATA + 8, 8), 0);
	/* Nor can a non-owner ring the firmware. */
	tl_bar_write(dev, 0, R_MBCTRL, 4, CTRL_VALID | OWNER_FW);
	assert_int_equal(tl_bar_read(dev, 0, R_MBDATA, 8), OP(FW_RESET_CMD) | WRITE | 1);
	/* The next read grants a clean mailbox. */
	assert_int_equal(ctrl_read(dev), OWNER_DRV);
	tl_bar_write(dev, 0, R_MBDATA + 8, 8, 0xabcdef);
	assert_int_equal(tl_bar_read(dev, 0, R_MBDATA + 8, 8), 0xabcdef);
	/* 32-bit halves, low first, as a driver without writeq does. */
	tl_bar_write(dev, 0, R_MBDATA + 16, 4, 0x55667788);
	tl_bar_write(dev, 0, R_MBDATA + 20, 4, 0x11223344);
	assert_int_equal(tl_bar_read(dev, 0, R_MBDATA + 16, 8), 0x1122334455667788ull);
	/* Handing it to the firmware without a message frees it. */
	tl_bar_write(dev, 0, R_MBCTRL, 4, OWNER_FW);
	tl_bar_write(dev, 0, R_MBDATA + 8, 8, 0);
	assert_int_equal(tl_bar_read(dev, 0, R_MBDATA + 8, 8), 0xabcdef);
	/* A byte write of the control register works like a dword write. */
	assert_int_equal(ctrl_read(dev), OWNER_DRV);
	tl_bar_write(dev, 0, R_MBCTRL, 1, OWNER_NONE);
	tl_bar_write(dev, 0, R_MBDATA + 8, 8, 0);
	assert_int_equal(tl_bar_read(dev, 0, R_MBDATA + 8, 8), 0xabcdef);
	sim_device_free(dev);
}

/* mbox_delay: the firmware keeps the mailbox for N control reads. */
static void test_mbox_delay(void **state)
{
	SimDevice *dev = t5vf("mbox_delay=3");
	uint64_t cmd[8] = { OP(FW_RESET_CMD) | WRITE | 1 }, rpl[8];
	(void)state;

	/* Two control reads still see FW, the third sees the reply. */
	assert_int_equal(mbox_cmd(dev, cmd, rpl), 2);
	assert_int_equal(RETVAL(rpl[0]), 0);
	/* While the firmware owns it, the driver can neither write nor free. */
	assert_int_equal(ctrl_read(dev), OWNER_DRV);
	tl_bar_write(dev, 0, R_MBCTRL, 4, CTRL_VALID | OWNER_FW);
	tl_bar_write(dev, 0, R_MBCTRL, 4, OWNER_NONE);
	tl_bar_write(dev, 0, R_MBDATA, 8, 0x99);
	assert_int_equal(tl_bar_read(dev, 0, R_MBDATA, 8), OP(FW_RESET_CMD) | WRITE | 1);
	assert_int_equal(ctrl_read(dev), CTRL_VALID | OWNER_FW);
	assert_int_equal(ctrl_read(dev), CTRL_VALID | OWNER_FW);
	assert_int_equal(ctrl_read(dev), CTRL_VALID | OWNER_DRV);
	sim_device_free(dev);
}

/* FLR through DevCtl: power-on config and registers, mailbox released. */
static void test_flr_resets_mailbox(void **state)
{
	SimDevice *dev = t5vf("mbox_delay=5");
	unsigned devctl = 0x70 + PCI_EXP_DEVCTL;
	(void)state;

	/* Leave a command with the firmware and some state behind. */
	assert_int_equal(ctrl_read(dev), OWNER_DRV);
	tl_bar_write(dev, 0, R_MBDATA, 8, OP(FW_RESET_CMD) | WRITE | 1);
	tl_bar_write(dev, 0, R_MBCTRL, 4, CTRL_VALID | OWNER_FW);
	assert_int_equal(ctrl_read(dev), CTRL_VALID | OWNER_FW);
	tl_bar_write(dev, 0, R_MPS_CTL, 4, 3);
	tl_cfg_write(dev, 0x50 + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	tl_cfg_write(dev, devctl, 2, PCI_EXP_DEVCTL_PAYLOAD_128B);

	tl_cfg_write(dev, devctl, 2, PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD_128B);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_FLR), 1);
	assert_int_equal(tl_cfg_read(dev, devctl, 2), 0x2820);	/* FLR bit reads 0 */
	assert_int_equal(tl_cfg_read(dev, 0x50 + PCI_MSI_FLAGS, 2), 0x018a);
	assert_int_equal(tl_bar_read(dev, 0, R_MBDATA, 8), 0);
	assert_int_equal(tl_bar_read(dev, 0, R_MPS_CTL, 4), 0);
	assert_int_equal(tl_bar_read(dev, 0, R_WHOAMI, 4), 0x80);
	/* The mailbox is free again (granted on read, no message pending). */
	assert_int_equal(ctrl_read(dev), OWNER_DRV);
	assert_int_equal(ctrl_read(dev), OWNER_DRV);

	/* A hot reset does the same. */
	tl_bar_write(dev, 0, R_MBCTRL, 4, CTRL_VALID | OWNER_FW);
	assert_int_equal(ctrl_read(dev), CTRL_VALID | OWNER_FW);
	sim_device_reset(dev, SIM_RESET_HOT);
	assert_int_equal(ctrl_read(dev), OWNER_DRV);
	sim_device_free(dev);
}

/* FW_RESET_CMD forgets CPLFW4MSG_ENCAP; the firmware keeps answering. */
static void test_fw_reset_after_params(void **state)
{
	SimDevice *dev = t5vf(NULL);
	uint64_t cmd[8] = { 0 }, rpl[8];
	(void)state;

	cmd[0] = OP(FW_PARAMS_CMD) | REQUEST | WRITE | 1;
	cmd[1] = (uint64_t)PFVF_PARAM(0x31) << 32 | 1;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), 0);
	memset(cmd, 0, sizeof(cmd));
	cmd[0] = OP(FW_RESET_CMD) | WRITE | 1;
	mbox_cmd(dev, cmd, rpl);
	assert_int_equal(RETVAL(rpl[0]), 0);
	sim_device_free(dev);
}

static void test_registry(void **state)
{
	const SimModel *m = sim_model_find(MODEL);
	(void)state;

	assert_non_null(m);
	assert_string_equal(m->name, "chelsio-t5-vf");
	assert_non_null(strstr(m->params_help, "device_id="));
	assert_non_null(strstr(m->params_help, "pba_erratum="));
	assert_non_null(strstr(m->params_help, "pf="));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_chain),
		cmocka_unit_test(test_no_pm_no_vpd),
		cmocka_unit_test(test_ecap_chain),
		cmocka_unit_test(test_msix_layout),
		cmocka_unit_test(test_msi_flags),
		cmocka_unit_test(test_pcie_cap),
		cmocka_unit_test(test_class_rev_subsys),
		cmocka_unit_test(test_vf_ids),
		cmocka_unit_test(test_interrupt_pin),
		cmocka_unit_test(test_vf_bar_registers),
		cmocka_unit_test(test_device_id_accepted),
		cmocka_unit_test(test_device_id_rejected),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_pba_erratum_off),
		cmocka_unit_test(test_msix_pending_and_delivery),
		cmocka_unit_test(test_whoami),
		cmocka_unit_test(test_register_window),
		cmocka_unit_test(test_mbox_ownership_grant),
		cmocka_unit_test(test_mbox_fw_reset),
		cmocka_unit_test(test_mbox_params),
		cmocka_unit_test(test_mbox_params_errors),
		cmocka_unit_test(test_mbox_bad_len16),
		cmocka_unit_test(test_mbox_pfvf),
		cmocka_unit_test(test_mbox_rss_glb_config),
		cmocka_unit_test(test_mbox_unknown_opcode),
		cmocka_unit_test(test_mbox_release),
		cmocka_unit_test(test_mbox_delay),
		cmocka_unit_test(test_flr_resets_mailbox),
		cmocka_unit_test(test_fw_reset_after_params),
		cmocka_unit_test(test_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

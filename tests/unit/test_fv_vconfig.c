/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio vconfig (vfio-pci config virtualization, BAR/ROM regions) and
 * hostpci (the host PCI core's enable/save/restore/reset/power), against
 * vfio-abi.md §2.5 and §3 on the dma-test and chelsio-t5-vf models and on
 * small hand-built devices.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fakevfio/hostpci.h"
#include "fakevfio/vconfig.h"
#include "sim/dmatest.h"
#include "testlib.h"

/* Host addresses the "firmware" gives the BARs. */
#define DT_BAR0		0xfe000000ull
#define DT_BAR1		0xc000ull
#define DT_BAR2		0x2000000000ull
#define DT_ROM		0xfe100000ull
#define T5_BAR0		0xfd000000ull
#define T5_BAR2		0x3000000000ull
#define T5_BAR4		0xfd004000ull

#define DT_MSI		DMATEST_CAP_MSI
#define DT_EXP		DMATEST_CAP_EXP
#define DT_MSIX		DMATEST_CAP_MSIX
#define DT_PM		DMATEST_CAP_PM
#define DT_AER		DMATEST_ECAP_AER
#define T5_EXP		0x70
#define T5_MSIX		0xb0
#define T5_MSI		0x50

typedef struct Fx {
	SimDevice *sim;
	FvHostPci *hp;
	FvVconfig *vc;
	unsigned intx_calls;
	bool intx_last;
} Fx;

static void fx_intx(void *opaque, bool disabled)
{
	Fx *f = opaque;

	f->intx_calls++;
	f->intx_last = disabled;
}

static const FvVconfigOps fx_ops = { .intx_disable = fx_intx };

static SimDevice *dmatest(const char *params)
{
	SimDevice *d = tl_model("dma-test", "0000:01:00.0", params);

	assert_true(sim_bar_set_addr(d, 0, DT_BAR0, NULL));
	assert_true(sim_bar_set_addr(d, 1, DT_BAR1, NULL));
	assert_true(sim_bar_set_addr(d, 2, DT_BAR2, NULL));
	assert_true(sim_bar_set_addr(d, SIM_ROM_SLOT, DT_ROM, NULL));
	return d;
}

static SimDevice *t5vf(const char *params)
{
	SimDevice *d = tl_model("chelsio-t5-vf", "0000:05:00.21", params);

	assert_true(sim_bar_set_addr(d, 0, T5_BAR0, NULL));
	assert_true(sim_bar_set_addr(d, 2, T5_BAR2, NULL));
	assert_true(sim_bar_set_addr(d, 4, T5_BAR4, NULL));
	return d;
}

/* The kernel's open: pci_enable_device, then vfio_config_init. */
static void fx_open(Fx *f, SimDevice *sim, unsigned flags)
{
	Error *err = NULL;

	memset(f, 0, sizeof(*f));
	f->sim = sim;
	f->hp = fv_hostpci_new(sim, &err);
	assert_non_null(f->hp);
	assert_int_equal(fv_hostpci_enable(f->hp), 0);
	f->vc = fv_vconfig_new(f->hp, flags, &fx_ops, f, &err);
	if (!f->vc)
		fail_msg("vconfig: %s", error_get_pretty(err));
}

static void fx_close(Fx *f)
{
	fv_vconfig_free(f->vc);
	fv_hostpci_free(f->hp);
	sim_device_free(f->sim);
}

static uint32_t crd(Fx *f, unsigned pos, unsigned len)
{
	uint8_t b[4] = { 0 };
	uint32_t v = 0;

	assert_int_equal(fv_vconfig_config_rw(f->vc, b, len, pos, false), len);
	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static void cwr(Fx *f, unsigned pos, unsigned len, uint32_t v)
{
	uint8_t b[4];

	for (unsigned i = 0; i < len; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	assert_int_equal(fv_vconfig_config_rw(f->vc, b, len, pos, true), len);
}

static uint32_t hw(Fx *f, unsigned pos, unsigned len)
{
	return sim_cfg_get(f->sim, pos, len);
}

static uint64_t brd(Fx *f, unsigned bar, uint64_t pos, unsigned len)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	assert_int_equal(fv_vconfig_bar_rw(f->vc, bar, b, len, pos, false), len);
	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void bwr(Fx *f, unsigned bar, uint64_t pos, unsigned len, uint64_t v)
{
	uint8_t b[8];

	for (unsigned i = 0; i < len; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	assert_int_equal(fv_vconfig_bar_rw(f->vc, bar, b, len, pos, true), len);
}

/* A blank function with IDs, for hand-built layouts (not realized). */
static SimDevice *blank(unsigned cfg_size)
{
	static const SimIds ids = { 0x1234, 0x5678, 0x1234, 0x0001, 0x028000, 2 };
	SimDevice *d = sim_device_new("0000:02:00.0", cfg_size);

	assert_non_null(d);
	sim_device_set_ids(d, &ids);
	return d;
}

static void realize(SimDevice *d)
{
	Error *err = NULL;

	if (!sim_device_realize(d, &err))
		fail_msg("realize: %s", error_get_pretty(err));
}

static const SimPcieConfig plain_pcie = {
	.flags = 2 | (PCI_EXP_TYPE_ENDPOINT << 4),
	.devcap = 0,
};

/* ---- §3.2 the basic header, row by row ------------------------------------ */

typedef struct HdrRow {
	unsigned off, len;
	/* dma-test: read / raw config after writing all-ones, then zeros */
	uint32_t dt_ones, dt_ones_hw, dt_zero, dt_zero_hw;
	/* chelsio-t5-vf, likewise */
	uint32_t vf_ones, vf_ones_hw, vf_zero, vf_zero_hw;
} HdrRow;

static const HdrRow hdr_rows[] = {
	/* IDs: virtualized, read-only; the VF's come from the published IDs */
	{ 0x00, 4, 0x11f01b36, 0x11f01b36, 0x11f01b36, 0x11f01b36,
		   0x58031425, 0xffffffff, 0x58031425, 0xffffffff },
	/* COMMAND: only INTX_DISABLE virtual, all 16 bits writable */
	{ 0x04, 2, 0x0547, 0x0147, 0x0000, 0x0000,
		   0x0546, 0x0144, 0x0000, 0x0000 },
	/* STATUS: CAP_LIST virtual, nothing writable */
	{ 0x06, 2, 0x0010, 0x0010, 0x0010, 0x0010,
		   0x0010, 0x0010, 0x0010, 0x0010 },
	/* revision and class: hardware, read-only */
	{ 0x08, 4, 0x00ff0001, 0x00ff0001, 0x00ff0001, 0x00ff0001,
		   0x02000000, 0x02000000, 0x02000000, 0x02000000 },
	/* cache line (pass-through), latency, header type, BIST */
	{ 0x0c, 4, 0x000000ff, 0x000000ff, 0, 0, 0, 0, 0, 0 },
	/* BAR0: virtual; sizing reads the size mask plus the flags */
	{ 0x10, 4, 0xfffff000, (uint32_t)DT_BAR0, 0, (uint32_t)DT_BAR0,
		   0xfffff004, 0, 0x00000004, 0 },
	/* BAR1: dma-test I/O; the VF's upper half of BAR0 */
	{ 0x14, 4, 0xffffffe1, (uint32_t)DT_BAR1 | 1, 0x00000001, (uint32_t)DT_BAR1 | 1,
		   0xffffffff, 0, 0, 0 },
	/* BAR2: 64-bit prefetchable on both */
	{ 0x18, 4, 0xffffc00c, 0x0000000c, 0x0000000c, 0x0000000c,
		   0xffffe00c, 0, 0x0000000c, 0 },
	{ 0x1c, 4, 0xffffffff, (uint32_t)(DT_BAR2 >> 32), 0, (uint32_t)(DT_BAR2 >> 32),
		   0xffffffff, 0, 0, 0 },
	/* BAR4: none on dma-test; the VF's MSI-X BAR */
	{ 0x20, 4, 0, 0, 0, 0, 0xffffe004, 0, 0x00000004, 0 },
	{ 0x24, 4, 0, 0, 0, 0, 0xffffffff, 0, 0, 0 },
	/* Cardbus CIS, subsystem IDs: hardware, read-only */
	{ 0x28, 4, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ 0x2c, 4, 0x00011b36, 0x00011b36, 0x00011b36, 0x00011b36,
		   0x00001425, 0x00001425, 0x00001425, 0x00001425 },
	/* ROM BAR: size mask plus enable; 0 without a ROM */
	{ 0x30, 4, 0xfffff801, (uint32_t)DT_ROM, 0, (uint32_t)DT_ROM, 0, 0, 0, 0 },
	/* capability pointer (virtual) and reserved bytes */
	{ 0x34, 4, 0x00000040, 0x00000040, 0x00000040, 0x00000040,
		   0x00000070, 0x00000070, 0x00000070, 0x00000070 },
	{ 0x38, 4, 0, 0, 0, 0, 0, 0, 0, 0 },
	/* Interrupt Line (virtual, writable), Pin (virtual), Min_Gnt/Max_Lat */
	{ 0x3c, 4, 0x000001ff, 0x00000100, 0x00000100, 0x00000100,
		   0x000000ff, 0, 0, 0 },
};

static void check_hdr_rows(bool vf)
{
	for (size_t i = 0; i < sizeof(hdr_rows) / sizeof(hdr_rows[0]); i++) {
		const HdrRow *r = &hdr_rows[i];
		Fx f;

		fx_open(&f, vf ? t5vf(NULL) : dmatest(NULL), 0);
		cwr(&f, r->off, r->len, 0xffffffff);
		if (crd(&f, r->off, r->len) != (vf ? r->vf_ones : r->dt_ones) ||
		    hw(&f, r->off, r->len) != (vf ? r->vf_ones_hw : r->dt_ones_hw))
			fail_msg("%s row 0x%02x after ones: read 0x%x hw 0x%x",
				 vf ? "vf" : "dma-test", r->off, crd(&f, r->off, r->len),
				 hw(&f, r->off, r->len));
		cwr(&f, r->off, r->len, 0);
		if (crd(&f, r->off, r->len) != (vf ? r->vf_zero : r->dt_zero) ||
		    hw(&f, r->off, r->len) != (vf ? r->vf_zero_hw : r->dt_zero_hw))
			fail_msg("%s row 0x%02x after zeros: read 0x%x hw 0x%x",
				 vf ? "vf" : "dma-test", r->off, crd(&f, r->off, r->len),
				 hw(&f, r->off, r->len));
		fx_close(&f);
	}
}

static void test_header_rows_dmatest(void **state)
{
	(void)state;
	check_hdr_rows(false);
}

static void test_header_rows_vf(void **state)
{
	(void)state;
	check_hdr_rows(true);
}

/* Before any write: BARs read their addresses (a VF's read 0), pin, map. */
static void test_header_initial(void **state)
{
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	assert_int_equal(crd(&f, 0x10, 4), (uint32_t)DT_BAR0);
	assert_int_equal(crd(&f, 0x14, 4), (uint32_t)DT_BAR1 | PCI_BASE_ADDRESS_SPACE_IO);
	assert_int_equal(crd(&f, 0x18, 4), (uint32_t)DT_BAR2 | 0xc);
	assert_int_equal(crd(&f, 0x1c, 4), (uint32_t)(DT_BAR2 >> 32));
	assert_int_equal(crd(&f, 0x30, 4), (uint32_t)DT_ROM);
	assert_int_equal(crd(&f, PCI_COMMAND, 2), PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(fv_vconfig_virtual_pin(f.vc), 1);
	assert_int_equal(fv_vconfig_cfg_size(f.vc), 4096);
	assert_true(fv_vconfig_is_pcie(f.vc));
	assert_true(fv_vconfig_extended_caps(f.vc));
	assert_int_equal(fv_vconfig_map(f.vc, 0x3f), 0);
	assert_int_equal(fv_vconfig_map(f.vc, DT_PM), PCI_CAP_ID_PM);
	assert_int_equal(fv_vconfig_map(f.vc, DT_PM + 8), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, DT_MSI + 23), PCI_CAP_ID_MSI);
	assert_int_equal(fv_vconfig_map(f.vc, DT_MSI + 24), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, DT_EXP + 0x31), PCI_CAP_ID_EXP);
	assert_int_equal(fv_vconfig_map(f.vc, DT_EXP + 0x32), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, DT_MSIX + 11), PCI_CAP_ID_MSIX);
	assert_int_equal(fv_vconfig_map(f.vc, DT_AER + 0x2b), PCI_EXT_CAP_ID_ERR);
	assert_int_equal(fv_vconfig_map(f.vc, DT_AER + 0x2c), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 5000), 0xff);
	assert_int_equal(fv_vconfig_warnings(f.vc), 0);
	assert_ptr_equal(fv_vconfig_hostpci(f.vc), f.hp);
	fx_close(&f);

	fx_open(&f, t5vf(NULL), 0);
	assert_int_equal(crd(&f, 0x10, 4), PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(crd(&f, 0x18, 4), 0xc);
	assert_int_equal(fv_vconfig_virtual_pin(f.vc), 0);
	assert_int_equal(fv_vconfig_map(f.vc, T5_MSI + 23), PCI_CAP_ID_MSI);
	assert_int_equal(fv_vconfig_map(f.vc, 0x140), PCI_EXT_CAP_ID_ARI);
	assert_int_equal(fv_vconfig_map(f.vc, 0x150 + 0xb), PCI_EXT_CAP_ID_TPH);
	assert_int_equal(fv_vconfig_map(f.vc, 0x150 + 0xc), 0xff);
	fx_close(&f);
}

/* BAR sizing through the config region, 64-bit halves, I/O and ROM. */
static void test_bar_sizing(void **state)
{
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	cwr(&f, 0x10, 4, 0x12345678);
	assert_int_equal(crd(&f, 0x10, 4), 0x12345000);
	cwr(&f, 0x13, 1, 0xab);		/* a byte of a BAR */
	assert_int_equal(crd(&f, 0x10, 4), 0xab345000);
	assert_int_equal(crd(&f, 0x12, 2), 0xab34);
	cwr(&f, 0x14, 4, 0xffffffff);
	assert_int_equal(crd(&f, 0x14, 4), 0xffffffe1);	/* 32 bytes of I/O */
	cwr(&f, 0x14, 4, 0x0000d003);
	assert_int_equal(crd(&f, 0x14, 4), 0x0000d001);
	cwr(&f, 0x18, 4, 0xffffffff);
	cwr(&f, 0x1c, 4, 0xffffffff);
	assert_int_equal(crd(&f, 0x18, 4), 0xffffc00c);
	assert_int_equal(crd(&f, 0x1c, 4), 0xffffffff);
	cwr(&f, 0x20, 4, 0xffffffff);	/* no BAR4 */
	assert_int_equal(crd(&f, 0x20, 4), 0);
	cwr(&f, 0x30, 4, 0xffffffff);
	assert_int_equal(crd(&f, 0x30, 4), 0xfffff801);
	cwr(&f, 0x30, 4, 0xfeed0001);
	assert_int_equal(crd(&f, 0x30, 4), 0xfeed0001);
	/* The device's own BARs never change. */
	assert_int_equal(hw(&f, 0x10, 4), (uint32_t)DT_BAR0);
	assert_int_equal(hw(&f, 0x30, 4), (uint32_t)DT_ROM);
	fx_close(&f);

	/* A BAR the host did not assign reads 0 (unimplemented). */
	fx_open(&f, tl_model("dma-test", "0000:01:00.0", NULL), 0);
	cwr(&f, 0x10, 4, 0xffffffff);
	assert_int_equal(crd(&f, 0x10, 4), 0);
	assert_int_equal(crd(&f, 0x30, 4), 0);
	fx_close(&f);
}

/* A VF's vendor/device come from the published IDs. */
static void test_vf_ids(void **state)
{
	Fx f;
	(void)state;

	fx_open(&f, t5vf("device_id=0x5810"), 0);
	assert_int_equal(crd(&f, PCI_VENDOR_ID, 2), 0x1425);
	assert_int_equal(crd(&f, PCI_DEVICE_ID, 2), 0x5810);
	assert_int_equal(crd(&f, 0, 1), 0x25);
	assert_int_equal(hw(&f, 0, 4), 0xffffffff);
	fx_close(&f);
}

/* no_command_memory: a VF reads vconfig's MEM bit, writable, not in hw. */
static void test_vf_command_mem(void **state)
{
	Fx f;
	(void)state;

	fx_open(&f, t5vf(NULL), 0);
	assert_int_equal(hw(&f, PCI_COMMAND, 2), 0);
	assert_int_equal(crd(&f, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	assert_int_equal(crd(&f, PCI_COMMAND, 4) & 0xffff, PCI_COMMAND_MEMORY);
	/* Only a read starting at COMMAND gets it. */
	assert_int_equal(crd(&f, PCI_COMMAND, 1), PCI_COMMAND_MEMORY);
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(crd(&f, PCI_COMMAND, 2), PCI_COMMAND_MASTER);
	assert_int_equal(hw(&f, PCI_COMMAND, 2), PCI_COMMAND_MASTER);
	assert_true(fv_vconfig_memory_enabled(f.vc));	/* VF: always */
	/* BARs stay accessible with the virtual MEM bit off. */
	assert_int_equal(brd(&f, 0, 0x200, 4) & 0x80, 0x80);	/* WHOAMI.ISVF */
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	assert_int_equal(crd(&f, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	assert_int_equal(hw(&f, PCI_COMMAND, 2), 0);
	/* I/O believed on, off in the VF: a VF's BARs are never restored */
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_int_equal(hw(&f, 0x10, 4), 0);
	assert_int_equal(crd(&f, 0x10, 4), PCI_BASE_ADDRESS_MEM_TYPE_64);
	fx_close(&f);
}

/* Interrupt Disable is virtual and drives the IRQ layer's mask. */
static void test_intx_disable(void **state)
{
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(f.intx_calls, 1);
	assert_true(f.intx_last);
	assert_true(fv_vconfig_virq_disabled(f.vc));
	assert_int_equal(hw(&f, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	assert_int_equal(crd(&f, PCI_COMMAND, 2),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	/* The same value again: no change, no call. */
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(f.intx_calls, 1);
	/* The high byte alone (offset 5) also counts. */
	cwr(&f, PCI_COMMAND + 1, 1, 0);
	assert_int_equal(f.intx_calls, 2);
	assert_false(f.intx_last);
	assert_false(fv_vconfig_virq_disabled(f.vc));
	/* A dword write at 4 covers COMMAND too. */
	cwr(&f, PCI_COMMAND, 4, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(f.intx_calls, 3);
	/* A STATUS write does not touch it. */
	cwr(&f, PCI_STATUS, 2, 0xffff);
	assert_int_equal(f.intx_calls, 3);
	fx_close(&f);

	/* nointx: the pin reads 0. */
	fx_open(&f, dmatest(NULL), FV_VCONFIG_NOINTX);
	assert_int_equal(fv_vconfig_virtual_pin(f.vc), 0);
	assert_int_equal(crd(&f, PCI_INTERRUPT_PIN, 1), 0);
	fx_close(&f);
}

/*
 * STATUS is not writable, but a dword write at COMMAND does a
 * read-modify-write of the whole dword: the error bits read as 1 are
 * written back as 1 and so cleared (RW1C), as with the real kernel.
 */
static void test_status_rmw(void **state)
{
	uint16_t st;
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	st = (uint16_t)hw(&f, PCI_STATUS, 2);
	sim_cfg_set(f.sim, PCI_STATUS, 2, st | PCI_STATUS_REC_MASTER_ABORT);
	assert_int_equal(crd(&f, PCI_STATUS, 2), st | PCI_STATUS_REC_MASTER_ABORT);
	cwr(&f, PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT);	/* dropped */
	assert_int_equal(hw(&f, PCI_STATUS, 2), st | PCI_STATUS_REC_MASTER_ABORT);
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);	/* word: kept */
	assert_int_equal(hw(&f, PCI_STATUS, 2), st | PCI_STATUS_REC_MASTER_ABORT);
	cwr(&f, PCI_COMMAND, 4, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);	/* dword */
	assert_int_equal(hw(&f, PCI_STATUS, 2), st);
	fx_close(&f);
}

/* A reset behind vfio's back: the next COMMAND write restores the BARs. */
static void test_bar_restore(void **state)
{
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), FV_VCONFIG_NOINTX);
	sim_device_reset(f.sim, SIM_RESET_FLR);
	assert_int_equal(hw(&f, 0x10, 4), 0);
	assert_int_equal(hw(&f, PCI_COMMAND, 2), 0);
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(hw(&f, 0x10, 4), (uint32_t)DT_BAR0);
	assert_int_equal(hw(&f, 0x14, 4), (uint32_t)DT_BAR1 | 1);
	assert_int_equal(hw(&f, 0x1c, 4), (uint32_t)(DT_BAR2 >> 32));
	/* nointx: the restore sets Interrupt Disable in hardware; the
	 * write's read-modify-write keeps it (bit 10 is virtual). */
	assert_int_equal(hw(&f, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(crd(&f, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	assert_int_equal(hw(&f, PCI_ROM_ADDRESS, 4), (uint32_t)DT_ROM);
	assert_int_equal(brd(&f, 0, DMATEST_REG_ID, 4), DMATEST_MAGIC);
	fx_close(&f);

	/* MEM requested, believed on, but off in hardware: restore too. */
	fx_open(&f, dmatest(NULL), 0);
	sim_cfg_write(f.sim, PCI_COMMAND, 2, 0);
	sim_cfg_write(f.sim, 0x10, 4, 0);
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	assert_int_equal(hw(&f, 0x10, 4), (uint32_t)DT_BAR0);
	/* decode still on, but a BAR moved: restored as well */
	sim_cfg_write(f.sim, 0x18, 4, 0x12340000);
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	assert_int_equal(hw(&f, 0x18, 4), (uint32_t)DT_BAR2 | 0xc);
	fx_close(&f);
}

/* ---- §3.3 capabilities ------------------------------------------------------ */

static void test_pm(void **state)
{
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	/* NEXT virtual, read-only */
	assert_int_equal(crd(&f, DT_PM, 2), (DT_MSI << 8) | PCI_CAP_ID_PM);
	cwr(&f, DT_PM + 1, 1, 0x99);
	assert_int_equal(crd(&f, DT_PM + 1, 1), DT_MSI);
	/* PME_En / PME_Status: virtual, not writable (cleared at init) */
	cwr(&f, DT_PM + PCI_PM_CTRL, 2, PCI_PM_CTRL_PME_ENABLE);
	assert_int_equal(crd(&f, DT_PM + PCI_PM_CTRL, 2), 0);
	/* PowerState: RO, a write asks the host: D3hot */
	cwr(&f, DT_PM + PCI_PM_CTRL, 2, 3);
	assert_int_equal(fv_hostpci_power_state(f.hp), FV_PCI_D3HOT);
	assert_int_equal(hw(&f, DT_PM + PCI_PM_CTRL, 2) & 3, 3);
	assert_int_equal(crd(&f, DT_PM + PCI_PM_CTRL, 2) & 3, 3);
	assert_false(fv_vconfig_memory_enabled(f.vc));
	{
		uint8_t b[4];

		assert_int_equal(fv_vconfig_bar_rw(f.vc, 0, b, 4, 0, false), -EIO);
		assert_int_equal(fv_vconfig_bar_rw(f.vc, 0, b, 4, 0, true), -EIO);
	}
	/* D1 unsupported (PMC has no D1): nothing happens */
	cwr(&f, DT_PM + PCI_PM_CTRL, 2, 1);
	assert_int_equal(fv_hostpci_power_state(f.hp), FV_PCI_D3HOT);
	/* Back to D0: soft reset, the state comes back (BARs, COMMAND) */
	cwr(&f, DT_PM + PCI_PM_CTRL, 4, 0);
	assert_int_equal(fv_hostpci_power_state(f.hp), FV_PCI_D0);
	assert_int_equal(sim_device_reset_count(f.sim, SIM_RESET_PM), 1);
	assert_int_equal(hw(&f, 0x10, 4), (uint32_t)DT_BAR0);
	assert_int_equal(hw(&f, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	assert_int_equal(brd(&f, 0, DMATEST_REG_ID, 4), DMATEST_MAGIC);
	/* A write at offset 5 is not a PMCSR write: no state change */
	cwr(&f, DT_PM + 5, 1, 3);
	assert_int_equal(fv_hostpci_power_state(f.hp), FV_PCI_D0);
	fx_close(&f);
}

/* PME_Support is virtualized and cleared; D1 reachable when supported. */
static void test_pm_pme_support(void **state)
{
	SimDevice *d = blank(256);
	Fx f;
	(void)state;

	assert_true(sim_cap_add_pm(d, 0x40, 0xf800 | PCI_PM_CAP_D1 | 3, false, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(hw(&f, 0x42, 2), 0xf800 | PCI_PM_CAP_D1 | 3);
	assert_int_equal(crd(&f, 0x42, 2), PCI_PM_CAP_D1 | 3);
	/* PME_En: virtual and not user-writable (the device would take it) */
	cwr(&f, 0x44, 2, PCI_PM_CTRL_PME_ENABLE | 1);
	assert_int_equal(crd(&f, 0x44, 2), 1);
	assert_int_equal(hw(&f, 0x44, 2), 1);
	tl_cfg_write(f.sim, 0x44, 2, PCI_PM_CTRL_PME_ENABLE | 1);
	assert_int_equal(crd(&f, 0x44, 2), 1);
	assert_int_equal(fv_hostpci_power_state(f.hp), FV_PCI_D1);
	/* No way from D1 to D0 through D2 missing: D2 unsupported -EIO */
	assert_int_equal(fv_hostpci_set_power(f.hp, FV_PCI_D2), -EIO);
	assert_int_equal(fv_hostpci_set_power(f.hp, FV_PCI_D3HOT), 0);
	assert_int_equal(fv_hostpci_set_power(f.hp, FV_PCI_D1), -EINVAL);
	assert_int_equal(fv_hostpci_set_power(f.hp, 7), -EINVAL);
	assert_int_equal(fv_hostpci_set_power(f.hp, FV_PCI_D0), 0);
	assert_int_equal(fv_hostpci_power_state(f.hp), FV_PCI_D0);
	fx_close(&f);
}

/*
 * MSI: flags low byte virtual and writable; 6.1 means to report msi_qmax
 * as MMC but writes it to the wrong bytes, so MMC reads the device's value;
 * QSIZE is clamped to msi_qmax; ENABLE sticks only with MSI active; the
 * flags go to hardware; address/data virtual; mask/pending pass-through.
 */
static void test_msi(void **state)
{
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	/* 4 vectors (MMC 2), 64-bit, per-vector masking */
	assert_int_equal(crd(&f, DT_MSI + PCI_MSI_FLAGS, 2), 0x0184);
	assert_int_equal(crd(&f, DT_MSI, 4), 0x01840000 | (DT_EXP << 8) | PCI_CAP_ID_MSI);
	fv_vconfig_set_msi_qmax(f.vc, 1);
	assert_int_equal(crd(&f, DT_MSI + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK, 2 << 1);
	assert_int_equal(crd(&f, DT_MSI, 1), PCI_CAP_ID_MSI);	/* from hw */
	assert_int_equal(crd(&f, DT_MSI + 1, 1), DT_EXP);
	/* QSIZE 4 vectors asked, 2 (qmax 1) allowed; ENABLE dropped */
	cwr(&f, DT_MSI + PCI_MSI_FLAGS, 2, (2 << 4) | PCI_MSI_FLAGS_ENABLE | 0x84);
	assert_int_equal(crd(&f, DT_MSI + PCI_MSI_FLAGS, 2), 0x0184 | (1 << 4));
	assert_int_equal(hw(&f, DT_MSI + PCI_MSI_FLAGS, 2), 0x0184 | (1 << 4));
	assert_false(sim_msi_enabled(f.sim));
	/* MSI active: ENABLE reaches the device */
	fv_vconfig_set_irq_type(f.vc, VFIO_PCI_MSI_IRQ_INDEX);
	cwr(&f, DT_MSI + PCI_MSI_FLAGS, 1, PCI_MSI_FLAGS_ENABLE | 0x84 | (1 << 4));
	assert_true(sim_msi_enabled(f.sim));
	assert_int_equal(crd(&f, DT_MSI + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE, 1);
	/* qmax back to 0: a QSIZE write is clamped to 1 vector */
	fv_vconfig_set_msi_qmax(f.vc, 0);
	cwr(&f, DT_MSI + PCI_MSI_FLAGS, 1, PCI_MSI_FLAGS_ENABLE | (2 << 4));
	assert_int_equal(hw(&f, DT_MSI + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QSIZE, 0);
	/* INTx type: ENABLE is cleared again, in vconfig and in hardware */
	fv_vconfig_set_irq_type(f.vc, VFIO_PCI_INTX_IRQ_INDEX);
	cwr(&f, DT_MSI, 4, 0xffffffff);	/* ID/NEXT dropped, flags written */
	assert_false(sim_msi_enabled(f.sim));
	assert_int_equal(crd(&f, DT_MSI, 2), (DT_EXP << 8) | PCI_CAP_ID_MSI);
	/* address/data: virtual */
	cwr(&f, DT_MSI + PCI_MSI_ADDRESS_LO, 4, 0xfee01000);
	cwr(&f, DT_MSI + PCI_MSI_ADDRESS_HI, 4, 0x12);
	cwr(&f, DT_MSI + PCI_MSI_DATA_64, 2, 0x4321);
	assert_int_equal(crd(&f, DT_MSI + PCI_MSI_ADDRESS_LO, 4), 0xfee01000);
	assert_int_equal(crd(&f, DT_MSI + PCI_MSI_ADDRESS_HI, 4), 0x12);
	assert_int_equal(crd(&f, DT_MSI + PCI_MSI_DATA_64, 2), 0x4321);
	assert_int_equal(hw(&f, DT_MSI + PCI_MSI_ADDRESS_LO, 4), 0);
	assert_int_equal(hw(&f, DT_MSI + PCI_MSI_DATA_64, 2), 0);
	/* mask: pass-through (the device keeps its 4 valid bits) */
	cwr(&f, DT_MSI + PCI_MSI_MASK_64, 4, 0xffffffff);
	assert_int_equal(hw(&f, DT_MSI + PCI_MSI_MASK_64, 4), 0xf);
	assert_int_equal(crd(&f, DT_MSI + PCI_MSI_MASK_64, 4), 0xf);
	fx_close(&f);
}

/* A 32-bit MSI without masking: DATA_32 virtual, length 10. */
static void test_msi_32(void **state)
{
	SimDevice *d = blank(256);
	Fx f;
	(void)state;

	assert_true(sim_cap_add_msi(d, 0x40, 1, false, false, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(fv_vconfig_map(f.vc, 0x49), PCI_CAP_ID_MSI);
	assert_int_equal(fv_vconfig_map(f.vc, 0x4a), 0xff);
	cwr(&f, 0x40 + PCI_MSI_DATA_32, 2, 0xbeef);
	assert_int_equal(crd(&f, 0x40 + PCI_MSI_DATA_32, 2), 0xbeef);
	assert_int_equal(hw(&f, 0x40 + PCI_MSI_DATA_32, 2), 0);
	fx_close(&f);

	/* 32-bit with masking: 20 bytes, mask pass-through at 0x0c */
	d = blank(256);
	assert_true(sim_cap_add_msi(d, 0x40, 2, false, true, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(fv_vconfig_map(f.vc, 0x40 + 19), PCI_CAP_ID_MSI);
	assert_int_equal(fv_vconfig_map(f.vc, 0x40 + 20), 0xff);
	cwr(&f, 0x40 + PCI_MSI_MASK_32, 4, 0xffffffff);
	assert_int_equal(hw(&f, 0x40 + PCI_MSI_MASK_32, 4), 3);
	cwr(&f, 0x40 + PCI_MSI_DATA_32, 2, 0x1111);
	assert_int_equal(hw(&f, 0x40 + PCI_MSI_DATA_32, 2), 0);
	fx_close(&f);
}

/* MSI-X: reads from hardware except ID/NEXT; every write dropped. */
static void test_msix(void **state)
{
	Fx f;
	unsigned bar;
	uint32_t off, size;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	cwr(&f, DT_MSIX + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(hw(&f, DT_MSIX + PCI_MSIX_FLAGS, 2), 7);
	assert_int_equal(crd(&f, DT_MSIX + PCI_MSIX_FLAGS, 2), 7);
	assert_false(sim_msix_enabled(f.sim));
	cwr(&f, DT_MSIX, 4, 0xffffffff);
	assert_int_equal(crd(&f, DT_MSIX, 4), (7u << 16) | PCI_CAP_ID_MSIX);
	/* The hardware value shows through (the IRQ layer enabled it). */
	tl_cfg_write(f.sim, DT_MSIX + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(crd(&f, DT_MSIX + PCI_MSIX_FLAGS, 2), PCI_MSIX_FLAGS_ENABLE | 7);
	cwr(&f, DT_MSIX + PCI_MSIX_FLAGS, 2, 0);
	assert_true(sim_msix_enabled(f.sim));
	assert_int_equal(crd(&f, DT_MSIX + PCI_MSIX_TABLE, 4), DMATEST_BAR_MSIX);
	assert_int_equal(crd(&f, DT_MSIX + PCI_MSIX_PBA, 4),
			 DMATEST_MSIX_PBA | DMATEST_BAR_MSIX);
	assert_true(fv_vconfig_msix_table(f.vc, &bar, &off, &size));
	assert_int_equal(bar, DMATEST_BAR_MSIX);
	assert_int_equal(off, 0);
	assert_int_equal(size, 8 * 16);
	fx_close(&f);

	/* The VF: MSI-X first in chain order after PCIe; NEXT from vconfig. */
	fx_open(&f, t5vf(NULL), 0);
	assert_int_equal(crd(&f, T5_MSIX + 1, 1), T5_MSI);
	assert_true(fv_vconfig_msix_table(f.vc, &bar, &off, &size));
	assert_int_equal(bar, 4);
	assert_int_equal(crd(&f, T5_MSIX + PCI_MSIX_PBA, 4), 0x8000 | 4);
	fx_close(&f);

	fx_open(&f, dmatest("msix_vectors=0"), 0);
	assert_false(fv_vconfig_msix_table(f.vc, &bar, &off, &size));
	fx_close(&f);
}

/* PCI Express: DevCtl FLR resets the function, MPS virtual, MRRS floor. */
static void test_pcie_devctl(void **state)
{
	unsigned ctl = DT_EXP + PCI_EXP_DEVCTL;
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	bwr(&f, 0, DMATEST_REG_SCRATCH, 4, 0x5a5a5a5a);
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cwr(&f, ctl, 2, crd(&f, ctl, 2) | PCI_EXP_DEVCTL_BCR_FLR);
	assert_int_equal(sim_device_reset_count(f.sim, SIM_RESET_FLR), 1);
	assert_int_equal(crd(&f, ctl, 2) & PCI_EXP_DEVCTL_BCR_FLR, 0);
	/* The device was reset, its config restored by the PCI core. */
	assert_int_equal(brd(&f, 0, DMATEST_REG_SCRATCH, 4), 0);
	assert_int_equal(hw(&f, 0x10, 4), (uint32_t)DT_BAR0);
	assert_int_equal(hw(&f, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(hw(&f, ctl, 2), PCI_EXP_DEVCTL_RELAX_EN |
			 PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ_512B);

	/* MPS: virtual only */
	cwr(&f, ctl, 2, (crd(&f, ctl, 2) & ~PCI_EXP_DEVCTL_PAYLOAD) | PCI_EXP_DEVCTL_PAYLOAD_512B);
	assert_int_equal(crd(&f, ctl, 2) & PCI_EXP_DEVCTL_PAYLOAD, PCI_EXP_DEVCTL_PAYLOAD_512B);
	assert_int_equal(hw(&f, ctl, 2) & PCI_EXP_DEVCTL_PAYLOAD, 0);
	/* MRRS to 128 with the device's MPS 128: 128 */
	cwr(&f, ctl, 2, crd(&f, ctl, 2) & ~PCI_EXP_DEVCTL_READRQ);
	assert_int_equal(crd(&f, ctl, 2) & PCI_EXP_DEVCTL_READRQ, 0);
	assert_int_equal(hw(&f, ctl, 2) & PCI_EXP_DEVCTL_READRQ, 0);
	/* with the device's MPS at 256, MRRS 128 becomes 256 in hardware */
	tl_cfg_write(f.sim, ctl, 2, hw(&f, ctl, 2) | PCI_EXP_DEVCTL_PAYLOAD_256B);
	cwr(&f, ctl, 2, crd(&f, ctl, 2) | PCI_EXP_DEVCTL_READRQ_1024B);
	cwr(&f, ctl, 2, crd(&f, ctl, 2) & ~PCI_EXP_DEVCTL_READRQ);
	assert_int_equal(crd(&f, ctl, 2) & PCI_EXP_DEVCTL_READRQ, 0);
	assert_int_equal(hw(&f, ctl, 2) & PCI_EXP_DEVCTL_READRQ, PCI_EXP_DEVCTL_READRQ_256B);
	/* a reserved MRRS encoding: nothing reaches the device */
	cwr(&f, ctl, 2, crd(&f, ctl, 2) | PCI_EXP_DEVCTL_READRQ);
	assert_int_equal(hw(&f, ctl, 2) & PCI_EXP_DEVCTL_READRQ, PCI_EXP_DEVCTL_READRQ_256B);
	/* the non-virtual bits pass through; Phantom Functions never */
	cwr(&f, ctl, 2, PCI_EXP_DEVCTL_PHANTOM | PCI_EXP_DEVCTL_URRE);
	assert_int_equal(hw(&f, ctl, 2) & (PCI_EXP_DEVCTL_PHANTOM | PCI_EXP_DEVCTL_URRE |
					   PCI_EXP_DEVCTL_RELAX_EN), PCI_EXP_DEVCTL_URRE);
	/* DevCtl2: pass-through except ARI */
	cwr(&f, DT_EXP + PCI_EXP_DEVCTL2, 2, 0xffff);
	assert_int_equal(hw(&f, DT_EXP + PCI_EXP_DEVCTL2, 2),
			 PCI_EXP_DEVCTL2_COMP_TIMEOUT | PCI_EXP_DEVCTL2_COMP_TMOUT_DIS |
			 PCI_EXP_DEVCTL2_LTR_EN);
	assert_int_equal(crd(&f, DT_EXP + PCI_EXP_DEVCTL2, 2), hw(&f, DT_EXP + PCI_EXP_DEVCTL2, 2));
	/* LnkCtl is read-only through vfio (the sim would take it) */
	cwr(&f, DT_EXP + PCI_EXP_LNKCTL, 2, PCI_EXP_LNKCTL_ASPMC);
	assert_int_equal(hw(&f, DT_EXP + PCI_EXP_LNKCTL, 2), 0);
	fx_close(&f);

	/* The VF: FLR too. */
	fx_open(&f, t5vf(NULL), 0);
	cwr(&f, T5_EXP + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD_256B);
	assert_int_equal(sim_device_reset_count(f.sim, SIM_RESET_FLR), 1);
	assert_int_equal(crd(&f, T5_EXP + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR, 0);
	fx_close(&f);

	/* Without DevCap.FLR the bit does nothing (and still reads 0). */
	fx_open(&f, dmatest("flr=off"), 0);
	cwr(&f, ctl, 2, PCI_EXP_DEVCTL_BCR_FLR);
	assert_int_equal(sim_device_reset_count(f.sim, SIM_RESET_FLR), 0);
	assert_int_equal(sim_device_reset_count(f.sim, SIM_RESET_PM), 0);
	assert_int_equal(crd(&f, ctl, 2) & PCI_EXP_DEVCTL_BCR_FLR, 0);
	fx_close(&f);
}

/* AER: header virtual; status/mask/severity writable on defined bits. */
static void test_aer(void **state)
{
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	assert_int_equal(crd(&f, DT_AER, 4), (2u << 16) | PCI_EXT_CAP_ID_ERR);
	cwr(&f, DT_AER, 4, 0);
	assert_int_equal(crd(&f, DT_AER, 4), (2u << 16) | PCI_EXT_CAP_ID_ERR);
	cwr(&f, DT_AER + PCI_ERR_UNCOR_MASK, 4, 0xffffffff);
	/* vfio allows 0x03fff031, the device implements 0x07fff030 */
	assert_int_equal(hw(&f, DT_AER + PCI_ERR_UNCOR_MASK, 4), 0x03fff030);
	assert_int_equal(crd(&f, DT_AER + PCI_ERR_UNCOR_MASK, 4), 0x03fff030);
	cwr(&f, DT_AER + PCI_ERR_UNCOR_SEVER, 4, 0);
	assert_int_equal(hw(&f, DT_AER + PCI_ERR_UNCOR_SEVER, 4), 0);
	cwr(&f, DT_AER + PCI_ERR_COR_MASK, 4, 0);
	assert_int_equal(hw(&f, DT_AER + PCI_ERR_COR_MASK, 4), 0);
	/* status: RW1C in the device, reachable */
	assert_int_equal(sim_aer_inject(f.sim, false, PCI_ERR_COR_RCVR, NULL), 0);
	assert_int_equal(crd(&f, DT_AER + PCI_ERR_COR_STATUS, 4), PCI_ERR_COR_RCVR);
	cwr(&f, DT_AER + PCI_ERR_COR_STATUS, 4, PCI_ERR_COR_RCVR);
	assert_int_equal(hw(&f, DT_AER + PCI_ERR_COR_STATUS, 4), 0);
	/* bytes past the 0x2c vfio knows are raw */
	assert_int_equal(fv_vconfig_map(f.vc, DT_AER + 0x30), 0xff);
	fx_close(&f);
}

/* ---- region mechanics -------------------------------------------------------- */

static void test_config_efault(void **state)
{
	uint8_t b[8];
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	assert_int_equal(fv_vconfig_config_rw(f.vc, b, 4, 4096, false), -EFAULT);
	assert_int_equal(fv_vconfig_config_rw(f.vc, b, 2, 4095, false), -EFAULT);
	assert_int_equal(fv_vconfig_config_rw(f.vc, b, 2, 4095, true), -EFAULT);
	assert_int_equal(fv_vconfig_config_rw(f.vc, b, 8, 4092, false), -EFAULT);
	assert_int_equal(fv_vconfig_config_rw(f.vc, b, 1, UINT64_MAX, false), -EFAULT);
	assert_int_equal(fv_vconfig_config_rw(f.vc, b, 2, 4094, false), 2);
	assert_int_equal(fv_vconfig_config_rw(f.vc, b, 0, 9000, false), 0);
	assert_int_equal(fv_vconfig_config_rw(f.vc, b, 8, 0, false), 8);
	assert_int_equal(b[0] | b[1] << 8, DMATEST_VENDOR_ID);
	assert_int_equal(b[4], PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	fx_close(&f);

	/* A 256-byte device: the region is 256 bytes. */
	{
		SimDevice *d = blank(256);

		realize(d);
		fx_open(&f, d, 0);
		assert_int_equal(fv_vconfig_cfg_size(f.vc), 256);
		assert_int_equal(fv_vconfig_config_rw(f.vc, b, 1, 256, false), -EFAULT);
		assert_int_equal(fv_vconfig_config_rw(f.vc, b, 4, 252, false), 4);
		assert_false(fv_vconfig_is_pcie(f.vc));
		assert_false(fv_vconfig_extended_caps(f.vc));
		assert_int_equal(crd(&f, PCI_STATUS, 2), 0);
		fx_close(&f);
	}
}

typedef struct Rec {
	unsigned n;
	unsigned off[16], len[16];
} Rec;

static void rec_write(SimDevice *dev, void *opaque, unsigned off, unsigned len,
		      uint32_t val)
{
	Rec *r = opaque;
	(void)dev; (void)val;

	if (r->n < 16) {
		r->off[r->n] = off;
		r->len[r->n] = len;
	}
	r->n++;
}

/* Chunks: naturally aligned, never across a dword or a map change. */
static void test_chunking(void **state)
{
	static const uint8_t body[3] = { 6, 0, 0 };	/* length 6 */
	SimDevice *d = blank(256);
	Rec rec = { 0 };
	uint8_t b[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	Fx f;
	(void)state;

	assert_true(sim_cap_add_vendor(d, 0x40, body, 6, NULL));
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x43, 1, 0xff);
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x44, 4, 0xffffffff);
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x48, 4, 0xffffffff);
	assert_true(sim_cfg_add_hook(d, 0x40, 0x10, NULL, rec_write, &rec, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(fv_vconfig_map(f.vc, 0x45), PCI_CAP_ID_VNDR);
	assert_int_equal(fv_vconfig_map(f.vc, 0x46), 0xff);
	/* a dword across the vendor cap's end at 0x46: two 2-byte writes */
	assert_int_equal(fv_vconfig_config_rw(f.vc, b, 4, 0x44, true), 4);
	assert_int_equal(rec.n, 2);
	assert_int_equal(rec.off[0], 0x44);
	assert_int_equal(rec.len[0], 2);
	assert_int_equal(rec.off[1], 0x46);
	assert_int_equal(rec.len[1], 2);
	assert_int_equal(hw(&f, 0x44, 4), 0x44332211);	/* vendor caps: raw */
	/* unaligned: 1 + 2 + 4 + 1 */
	rec.n = 0;
	assert_int_equal(fv_vconfig_config_rw(f.vc, b, 8, 0x43, true), 8);
	assert_int_equal(rec.n, 5);
	assert_int_equal(rec.off[0], 0x43);
	assert_int_equal(rec.len[0], 1);
	assert_int_equal(rec.off[1], 0x44);
	assert_int_equal(rec.len[1], 2);
	assert_int_equal(rec.off[2], 0x46);
	assert_int_equal(rec.len[2], 2);
	assert_int_equal(rec.off[3], 0x48);
	assert_int_equal(rec.len[3], 2);
	assert_int_equal(rec.off[4], 0x4a);
	assert_int_equal(rec.len[4], 1);
	assert_int_equal(hw(&f, 0x48, 4), 0x00887766);
	/* reads come back the same way, and ID/NEXT/len from vconfig */
	memset(b, 0, sizeof(b));
	assert_int_equal(fv_vconfig_config_rw(f.vc, b, 8, 0x40, false), 8);
	assert_int_equal(b[0], PCI_CAP_ID_VNDR);
	assert_int_equal(b[1], 0);
	assert_int_equal(b[2], 6);
	assert_int_equal(b[3], 0x11);
	assert_int_equal(b[4], 0x22);
	assert_int_equal(b[6], 0x44);
	fx_close(&f);
}

/* ---- §3.4 hidden capabilities ---------------------------------------------- */

static void test_hidden_std_middle(void **state)
{
	SimDevice *d = blank(256);
	Fx f;
	(void)state;

	assert_true(sim_cap_add_pm(d, 0x40, 3, false, NULL));
	assert_true(sim_cap_add(d, PCI_CAP_ID_AGP3, 0x48, 8, NULL));
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x4c, 4, 0xffffffff);
	assert_true(sim_cap_add_msi(d, 0x50, 1, false, false, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(crd(&f, 0x41, 1), 0x50);	/* AGP3 unlinked */
	assert_int_equal(hw(&f, 0x41, 1), 0x48);
	assert_int_equal(fv_vconfig_map(f.vc, 0x48), 0xff);
	assert_int_equal(crd(&f, 0x48, 2), 0x5000 | PCI_CAP_ID_AGP3);	/* raw */
	cwr(&f, 0x4c, 4, 0xcafef00d);
	assert_int_equal(hw(&f, 0x4c, 4), 0xcafef00d);
	assert_int_equal(crd(&f, 0x4c, 4), 0xcafef00d);
	assert_int_equal(crd(&f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
	fx_close(&f);
}

static void test_hidden_std_head(void **state)
{
	SimDevice *d = blank(256);
	Fx f;
	(void)state;

	assert_true(sim_cap_add(d, PCI_CAP_ID_AGP3, 0x40, 8, NULL));
	assert_true(sim_cap_add(d, 0, 0x48, 4, NULL));		/* NULL cap */
	assert_true(sim_cap_add(d, 0x15, 0x4c, 4, NULL));	/* beyond the table */
	assert_true(sim_cap_add_pm(d, 0x50, 3, false, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(crd(&f, PCI_CAPABILITY_LIST, 1), 0x50);
	assert_int_equal(hw(&f, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(fv_vconfig_map(f.vc, 0x40), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x4c), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x50), PCI_CAP_ID_PM);
	fx_close(&f);

	/* Nothing survives: CAP_LIST clears, the pointer reads 0. */
	d = blank(256);
	assert_true(sim_cap_add(d, PCI_CAP_ID_SLOTID, 0x40, 4, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(crd(&f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
	assert_int_equal(hw(&f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
	assert_int_equal(crd(&f, PCI_CAPABILITY_LIST, 1), 0);
	fx_close(&f);
}

/* A capability whose vfio length runs past the end of config space. */
static void test_cap_at_end(void **state)
{
	SimDevice *d = blank(256);
	Fx f;
	(void)state;

	assert_true(sim_cap_add(d, PCI_CAP_ID_AGP, 0xf8, 8, NULL));	/* vfio: 12 */
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(fv_vconfig_map(f.vc, 0xff), PCI_CAP_ID_AGP);
	assert_int_equal(crd(&f, 0xf8, 4), PCI_CAP_ID_AGP);
	fx_close(&f);
}

/* A chain looping on itself: the walk stops after 48; overlaps warn. */
static void test_cap_loop_overlap(void **state)
{
	SimDevice *d = blank(256);
	Fx f;
	(void)state;

	assert_true(sim_cap_add_pm(d, 0x40, 3, false, NULL));
	sim_cfg_set(d, 0x41, 1, 0x40);
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(fv_vconfig_warnings(f.vc), 47 * PCI_PM_SIZEOF);
	assert_int_equal(fv_vconfig_map(f.vc, 0x47), PCI_CAP_ID_PM);
	fx_close(&f);
}

/* Every standard capability length rule. */
static void test_std_cap_lengths(void **state)
{
	static const uint8_t vbody[5] = { 0 };
	SimDevice *d = blank(SIM_CFG_SIZE_PCIE);
	Fx f;
	(void)state;

	assert_true(sim_cap_add(d, PCI_CAP_ID_AGP, 0x40, 12, NULL));	/* 12 */
	assert_true(sim_cap_add(d, PCI_CAP_ID_VPD, 0x4c, 8, NULL));	/* 8 */
	assert_true(sim_cap_add(d, PCI_CAP_ID_PCIX, 0x54, 8, NULL));	/* v0: 8 */
	assert_true(sim_cap_add(d, PCI_CAP_ID_HT, 0x5c, 24, NULL));	/* 3-bit: 24 */
	sim_cfg_set(d, 0x5c + 3, 1, 0x20);
	assert_true(sim_cap_add(d, PCI_CAP_ID_HT, 0x78, 28, NULL));	/* 28 */
	assert_true(sim_cap_add(d, PCI_CAP_ID_SATA, 0x94, 16, NULL));	/* inline: 16 */
	sim_cfg_set(d, 0x94 + PCI_SATA_REGS, 1, PCI_SATA_REGS_INLINE);
	assert_true(sim_cap_add(d, PCI_CAP_ID_SATA, 0xa4, 8, NULL));	/* 8 */
	assert_true(sim_cap_add_vendor(d, 0xac, vbody, 8, NULL));	/* 8 */
	assert_true(sim_cap_add(d, PCI_CAP_ID_VNDR, 0xb4, 4, NULL));	/* len 0: hidden */
	assert_true(sim_cap_add(d, PCI_CAP_ID_PCIX, 0xb8, 24, NULL));	/* v2: 24 */
	sim_cfg_set(d, 0xb8 + PCI_X_CMD, 2, 2 << 12);
	sim_cfg_set_mask(d, SIM_MASK_RW, 0xb8 + PCI_X_CMD, 2, 0x000f);
	assert_true(sim_cap_add_af(d, 0xd0, NULL));			/* 6 */
	assert_true(sim_cap_add(d, PCI_CAP_ID_MSIX, 0xd8, 12, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(fv_vconfig_map(f.vc, 0x4b), PCI_CAP_ID_AGP);
	assert_int_equal(fv_vconfig_map(f.vc, 0x53), PCI_CAP_ID_VPD);
	assert_int_equal(fv_vconfig_map(f.vc, 0x5b), PCI_CAP_ID_PCIX);
	assert_int_equal(fv_vconfig_map(f.vc, 0x5c + 23), PCI_CAP_ID_HT);
	assert_int_equal(fv_vconfig_map(f.vc, 0x5c + 24), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x78 + 27), PCI_CAP_ID_HT);
	assert_int_equal(fv_vconfig_map(f.vc, 0x78 + 28), PCI_CAP_ID_SATA);
	assert_int_equal(fv_vconfig_map(f.vc, 0x94 + 15), PCI_CAP_ID_SATA);
	assert_int_equal(fv_vconfig_map(f.vc, 0xa4 + 7), PCI_CAP_ID_SATA);
	assert_int_equal(fv_vconfig_map(f.vc, 0xa4 + 8), PCI_CAP_ID_VNDR);
	assert_int_equal(fv_vconfig_map(f.vc, 0xac + 7), PCI_CAP_ID_VNDR);
	assert_int_equal(fv_vconfig_map(f.vc, 0xb4), 0xff);
	assert_int_equal(crd(&f, 0xac + 1, 1), 0xb8);		/* 0xb4 unlinked */
	assert_int_equal(fv_vconfig_map(f.vc, 0xb8 + 23), PCI_CAP_ID_PCIX);
	assert_int_equal(fv_vconfig_map(f.vc, 0xd0 + 5), PCI_CAP_ID_AF);
	assert_int_equal(fv_vconfig_map(f.vc, 0xd0 + 6), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0xd8 + 11), PCI_CAP_ID_MSIX);
	assert_int_equal(fv_vconfig_warnings(f.vc), 0);	/* lengths exact */
	/* no PCIe: no extended space (region 256 bytes) */
	assert_int_equal(fv_vconfig_cfg_size(f.vc), 256);
	/* AGP: direct read, writes dropped */
	tl_cfg_write(f.sim, 0x40 + 4, 4, 0);
	cwr(&f, 0x44, 4, 0xffffffff);
	assert_int_equal(crd(&f, 0x40, 2), (0x4c << 8) | PCI_CAP_ID_AGP);
	/* VPD: address and data virtual and writable */
	cwr(&f, 0x4c + PCI_VPD_ADDR, 2, 0x0010);
	cwr(&f, 0x4c + PCI_VPD_DATA, 4, 0x11223344);
	assert_int_equal(crd(&f, 0x4c + PCI_VPD_ADDR, 2), 0x0010);
	assert_int_equal(crd(&f, 0x4c + PCI_VPD_DATA, 4), 0x11223344);
	assert_int_equal(hw(&f, 0x4c + PCI_VPD_DATA, 4), 0);
	/* PCI-X command: pass-through */
	cwr(&f, 0xb8 + PCI_X_CMD, 2, 0xffff);
	assert_int_equal(hw(&f, 0xb8 + PCI_X_CMD, 2), (2 << 12) | 0xf);
	fx_close(&f);
}

/* PCI-X 266/533 gives extended config space; PCI-X v2 tests 0x100. */
static void test_pcix_ext(void **state)
{
	SimDevice *d = blank(SIM_CFG_SIZE_PCIE);
	Fx f;
	(void)state;

	assert_true(sim_cap_add(d, PCI_CAP_ID_PCIX, 0x40, 24, NULL));
	sim_cfg_set(d, 0x40 + PCI_X_CMD, 2, 2 << 12);
	sim_cfg_set(d, 0x40 + PCI_X_STATUS, 4, PCI_X_STATUS_266MHZ);
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_DSN, 1, 0x100, 12, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(fv_vconfig_cfg_size(f.vc), 4096);
	assert_false(fv_vconfig_is_pcie(f.vc));
	assert_true(fv_vconfig_extended_caps(f.vc));
	assert_int_equal(fv_vconfig_map(f.vc, 0x100 + 11), PCI_EXT_CAP_ID_DSN);
	fx_close(&f);
}

/* A PCIe device whose dword at 0x100 is 0: extended space all raw. */
static void test_no_extended_caps(void **state)
{
	SimDevice *d = blank(SIM_CFG_SIZE_PCIE);
	Fx f;
	(void)state;

	assert_true(sim_cap_add_pcie(d, 0x40, &plain_pcie, NULL));
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x200, 4, 0xffffffff);
	realize(d);
	fx_open(&f, d, 0);
	assert_false(fv_vconfig_extended_caps(f.vc));
	assert_int_equal(fv_vconfig_map(f.vc, 0x100), 0xff);
	cwr(&f, 0x200, 4, 0x12345678);
	assert_int_equal(hw(&f, 0x200, 4), 0x12345678);
	assert_int_equal(crd(&f, 0x200, 4), 0x12345678);
	fx_close(&f);

	/* v1 PCIe: 20 bytes; an RC integrated endpoint v1: 12 */
	d = blank(256);
	{
		SimPcieConfig c = { .flags = 1 | (PCI_EXP_TYPE_ENDPOINT << 4) };

		assert_true(sim_cap_add_pcie(d, 0x40, &c, NULL));
	}
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(fv_vconfig_map(f.vc, 0x40 + 19), PCI_CAP_ID_EXP);
	assert_int_equal(fv_vconfig_map(f.vc, 0x40 + 20), 0xff);
	fx_close(&f);
	d = blank(256);
	{
		SimPcieConfig c = { .flags = 1 | (PCI_EXP_TYPE_RC_END << 4) };

		assert_true(sim_cap_add_pcie(d, 0x40, &c, NULL));
	}
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(fv_vconfig_map(f.vc, 0x40 + 11), PCI_CAP_ID_EXP);
	assert_int_equal(fv_vconfig_map(f.vc, 0x40 + 12), 0xff);
	fx_close(&f);
	d = blank(256);
	{
		SimPcieConfig c = { .flags = 2 | (PCI_EXP_TYPE_RC_END << 4) };

		assert_true(sim_cap_add_pcie(d, 0x40, &c, NULL));
	}
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(fv_vconfig_map(f.vc, 0x40 + 0x2b), PCI_CAP_ID_EXP);
	assert_int_equal(fv_vconfig_map(f.vc, 0x40 + 0x2c), 0xff);
	fx_close(&f);
}

static SimDevice *pcie_dev(void)
{
	SimDevice *d = blank(SIM_CFG_SIZE_PCIE);

	assert_true(sim_cap_add_pcie(d, 0x40, &plain_pcie, NULL));
	return d;
}

/* A hidden extended cap at 0x100 becomes a placeholder header. */
static void test_hidden_ecap_head(void **state)
{
	SimDevice *d = pcie_dev();
	Fx f;
	(void)state;

	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_PASID, 1, 0x100, 8, NULL));
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x104, 4, 0xffffffff);
	assert_true(sim_ecap_add_aer(d, 0x140, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(crd(&f, 0x100, 4), 0x140u << 20);
	assert_int_equal(crd(&f, 0x102, 2), 0x140u << 4);
	assert_int_equal(hw(&f, 0x100, 4), (0x140u << 20) | (1 << 16) | PCI_EXT_CAP_ID_PASID);
	assert_int_equal(fv_vconfig_map(f.vc, 0x103), PCI_EXT_CAP_ID_PASID);
	assert_int_equal(fv_vconfig_map(f.vc, 0x104), 0xff);
	cwr(&f, 0x100, 4, 0);			/* the placeholder is read-only */
	assert_int_equal(crd(&f, 0x100, 4), 0x140u << 20);
	cwr(&f, 0x104, 4, 0xa5a5a5a5);		/* its body is raw */
	assert_int_equal(hw(&f, 0x104, 4), 0xa5a5a5a5);
	assert_int_equal(crd(&f, 0x140, 4), (2u << 16) | PCI_EXT_CAP_ID_ERR);
	fx_close(&f);

	/* The only ecap hidden: 0x100 reads 0. */
	d = pcie_dev();
	assert_true(sim_ecap_add(d, 0x1d, 1, 0x100, 8, NULL));	/* DPC */
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(crd(&f, 0x100, 4), 0);
	assert_int_equal(hw(&f, 0x100, 4), (1 << 16) | 0x1d);
	fx_close(&f);

	/* An ID beyond the 6.1 table at the head: direct, read-only. */
	d = pcie_dev();
	assert_true(sim_ecap_add(d, 0x30, 1, 0x100, 8, NULL));
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_DSN, 1, 0x108, 12, NULL));
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x104, 4, 0xffffffff);
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(crd(&f, 0x100, 4), 0x108u << 20);
	assert_int_equal(crd(&f, 0x108, 2), PCI_EXT_CAP_ID_DSN);
	fx_close(&f);

	/* ID 0 at the head: the map entry is "basic", read by offset from 0 */
	d = pcie_dev();
	assert_true(sim_ecap_add(d, 0, 0, 0x100, 4, NULL));
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_DSN, 1, 0x104, 12, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(crd(&f, 0x100, 4), hw(&f, 0x100, 4));
	assert_int_equal(crd(&f, 0x104, 2), PCI_EXT_CAP_ID_DSN);
	fx_close(&f);
}

/* A hidden ecap in the middle is skipped by the previous NEXT. */
static void test_hidden_ecap_middle(void **state)
{
	SimDevice *d = pcie_dev();
	Fx f;
	(void)state;

	assert_true(sim_ecap_add_aer(d, 0x100, NULL));
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_PASID, 1, 0x140, 8, NULL));
	assert_true(sim_ecap_add_ari(d, 0x180, 0, NULL));
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(crd(&f, 0x100, 4), (0x180u << 20) | (2u << 16) | PCI_EXT_CAP_ID_ERR);
	assert_int_equal(hw(&f, 0x100, 4), (0x140u << 20) | (2u << 16) | PCI_EXT_CAP_ID_ERR);
	assert_int_equal(fv_vconfig_map(f.vc, 0x140), 0xff);
	assert_int_equal(crd(&f, 0x140, 2), PCI_EXT_CAP_ID_PASID);	/* raw */
	assert_int_equal(fv_vconfig_map(f.vc, 0x180 + 7), PCI_EXT_CAP_ID_ARI);
	/* ARI: header from vconfig, body direct, writes dropped */
	cwr(&f, 0x184, 4, 0xffffffff);
	assert_int_equal(crd(&f, 0x184, 4), 0);
	assert_int_equal(crd(&f, 0x180, 4), (1u << 16) | PCI_EXT_CAP_ID_ARI);
	fx_close(&f);
}

/* Every extended capability length rule; PWR and vendor writes. */
static void test_ecap_lengths(void **state)
{
	SimDevice *d = pcie_dev();
	Fx f;
	(void)state;

	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_VC, 1, 0x100, 0x40, NULL));
	sim_cfg_set(d, 0x100 + PCI_VC_PORT_CAP1, 4, 1);			/* EVCC 1 */
	sim_cfg_set(d, 0x100 + PCI_VC_PORT_CAP2, 4, PCI_VC_CAP2_32_PHASE);
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_DSN, 1, 0x140, 12, NULL));
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_PWR, 1, 0x150, 16, NULL));
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x150 + PCI_PWR_DATA, 4, 0xffffffff);
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_VNDR, 1, 0x160, 16, NULL));
	sim_cfg_set(d, 0x160 + PCI_VSEC_HDR, 4, 16u << PCI_VSEC_HDR_LEN_SHIFT);
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x168, 4, 0xffffffff);
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_ACS, 1, 0x170, 40, NULL));
	sim_cfg_set(d, 0x170 + PCI_ACS_CAP, 1, PCI_ACS_EC);	/* 256 bits */
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_REBAR, 1, 0x1a0, 20, NULL));
	sim_cfg_set(d, 0x1a0 + PCI_REBAR_CTRL, 1, 2 << PCI_REBAR_CTRL_NBAR_SHIFT);
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_DPA, 1, 0x1c0, 20, NULL));
	sim_cfg_set(d, 0x1c0 + PCI_DPA_CAP, 1, 3);
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_TPH, 1, 0x1e0, 20, NULL));
	sim_cfg_set(d, 0x1e0 + PCI_TPH_CAP, 4, PCI_TPH_LOC_CAP | (3u << PCI_TPH_CAP_ST_SHIFT));
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_ACS, 1, 0x200, 12, NULL));
	sim_cfg_set(d, 0x200 + PCI_ACS_CAP, 1, PCI_ACS_EC);
	sim_cfg_set(d, 0x200 + PCI_ACS_EGRESS_BITS, 1, 20);		/* 32 bits */
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_ACS, 1, 0x210, 8, NULL));
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_TPH, 1, 0x220, 12, NULL));
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_VC9, 1, 0x230, 0x1c, NULL));
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_MFVC, 1, 0x300, 0x60, NULL));
	sim_cfg_set(d, 0x300 + PCI_VC_PORT_CAP2, 4, PCI_VC_CAP2_128_PHASE);
	assert_true(sim_ecap_add(d, PCI_EXT_CAP_ID_VC, 1, 0x400, 0x40, NULL));
	sim_cfg_set(d, 0x400 + PCI_VC_PORT_CAP2, 4, PCI_VC_CAP2_64_PHASE);
	realize(d);
	fx_open(&f, d, 0);
	assert_int_equal(fv_vconfig_map(f.vc, 0x13f), PCI_EXT_CAP_ID_VC);
	assert_int_equal(fv_vconfig_map(f.vc, 0x14b), PCI_EXT_CAP_ID_DSN);
	assert_int_equal(fv_vconfig_map(f.vc, 0x14c), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x15f), PCI_EXT_CAP_ID_PWR);
	assert_int_equal(fv_vconfig_map(f.vc, 0x16f), PCI_EXT_CAP_ID_VNDR);
	assert_int_equal(fv_vconfig_map(f.vc, 0x197), PCI_EXT_CAP_ID_ACS);
	assert_int_equal(fv_vconfig_map(f.vc, 0x198), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x1b3), PCI_EXT_CAP_ID_REBAR);
	assert_int_equal(fv_vconfig_map(f.vc, 0x1b4), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x1d3), PCI_EXT_CAP_ID_DPA);
	assert_int_equal(fv_vconfig_map(f.vc, 0x1d4), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x1f3), PCI_EXT_CAP_ID_TPH);
	assert_int_equal(fv_vconfig_map(f.vc, 0x1f4), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x20b), PCI_EXT_CAP_ID_ACS);
	assert_int_equal(fv_vconfig_map(f.vc, 0x20c), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x217), PCI_EXT_CAP_ID_ACS);
	assert_int_equal(fv_vconfig_map(f.vc, 0x22b), PCI_EXT_CAP_ID_TPH);
	assert_int_equal(fv_vconfig_map(f.vc, 0x22c), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x24b), PCI_EXT_CAP_ID_VC9);
	assert_int_equal(fv_vconfig_map(f.vc, 0x24c), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x35f), PCI_EXT_CAP_ID_MFVC);
	assert_int_equal(fv_vconfig_map(f.vc, 0x360), 0xff);
	assert_int_equal(fv_vconfig_map(f.vc, 0x43f), PCI_EXT_CAP_ID_VC);
	assert_int_equal(fv_vconfig_map(f.vc, 0x440), 0xff);
	/* power budgeting: header virtual, data select writable */
	cwr(&f, 0x150 + PCI_PWR_DATA, 4, 0xffffffff);
	assert_int_equal(hw(&f, 0x150 + PCI_PWR_DATA, 4), 0xff);
	cwr(&f, 0x150, 4, 0);
	assert_int_equal(crd(&f, 0x150, 2), PCI_EXT_CAP_ID_PWR);
	/* vendor-specific: raw writes reach the device */
	cwr(&f, 0x168, 4, 0x600dcafe);
	assert_int_equal(hw(&f, 0x168, 4), 0x600dcafe);
	assert_int_equal(crd(&f, 0x168, 4), 0x600dcafe);
	assert_int_equal(fv_vconfig_warnings(f.vc), 0);
	fx_close(&f);
}

/* ---- §2.5 BAR and ROM regions ----------------------------------------------- */

static unsigned cnt_reads[3], cnt_writes[3];

static uint64_t cnt_read(SimDevice *dev, SimRegBlock *blk, unsigned idx,
			 uint64_t stored)
{
	(void)dev; (void)blk;
	cnt_reads[idx]++;
	return stored;
}

static void cnt_write(SimDevice *dev, SimRegBlock *blk, unsigned idx,
		      uint64_t old, uint64_t val, uint64_t bytemask)
{
	(void)dev; (void)blk; (void)old; (void)val; (void)bytemask;
	cnt_writes[idx]++;
}

static const SimReg cnt_regs[3] = {
	{ "A", 0, 4, 0x11111111, 0xffffffff, 0 },
	{ "B", 4, 4, 0x22222222, 0xffffffff, 0 },
	{ "Q", 8, 8, 0x4444444433333333ull, UINT64_MAX, 0 },
};

/* Accesses are split into aligned 4/2/1-byte device accesses, never 8. */
static void test_bar_split(void **state)
{
	SimDevice *d = blank(256);
	Fx f;
	(void)state;

	assert_true(sim_bar_add(d, 0, SIM_BAR_MEM32, false, 0x1000, NULL));
	assert_non_null(sim_bar_add_regs(d, 0, 0, cnt_regs, 3, cnt_read, cnt_write,
					 NULL, NULL));
	realize(d);
	assert_true(sim_bar_set_addr(d, 0, 0xfe000000, NULL));
	fx_open(&f, d, 0);
	memset(cnt_reads, 0, sizeof(cnt_reads));
	assert_int_equal(brd(&f, 0, 8, 8), 0x4444444433333333ull);
	assert_int_equal(cnt_reads[2], 2);
	memset(cnt_reads, 0, sizeof(cnt_reads));
	assert_int_equal(brd(&f, 0, 1, 7), 0x22222222111111ull);
	assert_int_equal(cnt_reads[0], 2);	/* 1 byte at 1, 2 at 2 */
	assert_int_equal(cnt_reads[1], 1);	/* 4 at 4 */
	memset(cnt_writes, 0, sizeof(cnt_writes));
	bwr(&f, 0, 8, 8, 0x0123456789abcdefull);
	assert_int_equal(cnt_writes[2], 2);
	assert_int_equal(brd(&f, 0, 8, 8), 0x0123456789abcdefull);
	bwr(&f, 0, 3, 3, 0xa1b2c3);
	assert_int_equal(brd(&f, 0, 0, 8), 0x2222a1b2c3111111ull);
	fx_close(&f);
}

static void test_bar_rw(void **state)
{
	uint8_t b[32];
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	/* by value: an 8-byte read is ID then VERSION */
	assert_int_equal(brd(&f, 0, 0, 8),
			 ((uint64_t)DMATEST_VERSION << 32) | DMATEST_MAGIC);
	bwr(&f, 0, DMATEST_REG_SCRATCH, 4, 0xfeedface);
	assert_int_equal(brd(&f, 0, DMATEST_REG_SCRATCH, 4), 0xfeedface);
	/* short count at the end, EINVAL past it */
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 0, b, 8, 0xffc, false), 4);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 0, b, 8, 0xffc, true), 4);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 0, b, 4, 0x1000, false), -EINVAL);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 0, b, 0, 0x1000, false), 0);
	/* no BAR4/5, bad index */
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 4, b, 4, 0, false), -EINVAL);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 3, b, 4, 0, false), -EINVAL);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 7, b, 4, 0, false), -EINVAL);
	/* I/O BAR */
	assert_int_equal(brd(&f, 1, DMATEST_IO_ID, 4), DMATEST_MAGIC);
	bwr(&f, 1, DMATEST_IO_SCRATCH, 2, 0x1234);
	assert_int_equal(brd(&f, 1, DMATEST_IO_SCRATCH, 4), 0xfeed1234);
	/* RAM in BAR2 */
	bwr(&f, 2, DMATEST_RAM + 6, 4, 0x0a0b0c0d);
	assert_int_equal(brd(&f, 2, DMATEST_RAM + 4, 8), 0x00000a0b0c0d0000ull);

	/* the MSI-X table: reads 0xff, writes dropped, full count */
	tl_bar_write(f.sim, 2, 0, 4, 0xfee00000);
	memset(b, 0, sizeof(b));
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 2, b, 16, 0, false), 16);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(b[i], 0xff);
	memset(b, 0, sizeof(b));
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 2, b, 32, 0, true), 32);
	{
		uint64_t addr;
		uint32_t data, ctrl;

		assert_true(sim_msix_entry(f.sim, 0, &addr, &data, &ctrl));
		assert_int_equal(addr, 0xfee00000);
		assert_int_equal(ctrl, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	}
	/* straddling the table's end: 0xff then the device (unbacked) */
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 2, b, 8, 0x7c, false), 8);
	assert_int_equal(b[3], 0xff);
	/* the PBA is outside the hole */
	assert_int_equal(brd(&f, 2, DMATEST_MSIX_PBA, 8), 0);

	/* MEM off in the virtual COMMAND: EIO for memory BARs */
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_false(fv_vconfig_memory_enabled(f.vc));
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 0, b, 4, 0, false), -EIO);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 0, b, 4, 0, true), -EIO);
	/* the ROM: the device stopped decoding, pci_map_rom fails first */
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 6, b, 4, 0, false), -ENOMEM);
	tl_cfg_write(f.sim, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 6, b, 4, 0, false), -EIO);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 2, b, 4, 0x2000, false), -EIO);
	/* ...but the MSI-X hole needs no device access */
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 2, b, 4, 0, false), 4);
	assert_int_equal(brd(&f, 1, DMATEST_IO_ID, 4), DMATEST_MAGIC);
	/* I/O decode off in the device: reads all-ones, writes dropped */
	cwr(&f, PCI_COMMAND, 2, 0);
	assert_int_equal(brd(&f, 1, DMATEST_IO_ID, 4), 0xffffffff);
	bwr(&f, 1, DMATEST_IO_SCRATCH, 4, 0);
	cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(brd(&f, 1, DMATEST_IO_SCRATCH, 4), 0xfeed1234);
	fx_close(&f);

	/* A BAR with no host address: EINVAL. */
	fx_open(&f, tl_model("dma-test", "0000:01:00.0", NULL), 0);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 0, b, 4, 0, false), -EINVAL);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 6, b, 4, 0, false), -EINVAL);
	fx_close(&f);
}

static void test_rom(void **state)
{
	uint8_t b[64];
	Fx f;
	(void)state;

	fx_open(&f, dmatest(NULL), 0);
	assert_int_equal(brd(&f, 6, 0, 2), 0xaa55);
	memset(b, 0, sizeof(b));
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 6, b, sizeof(DMATEST_ROM_STRING),
					   DMATEST_ROM_STRING_OFF, false),
			 sizeof(DMATEST_ROM_STRING));
	assert_string_equal((char *)b, DMATEST_ROM_STRING);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 6, b, 4, 0, true), -EINVAL);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 6, b, 8, DMATEST_ROM_SIZE - 4, false), 4);
	assert_int_equal(fv_vconfig_bar_rw(f.vc, 6, b, 4, DMATEST_ROM_SIZE, false), -EINVAL);
	/* decode is off again afterwards */
	assert_int_equal(hw(&f, PCI_ROM_ADDRESS, 4), (uint32_t)DT_ROM);
	fx_close(&f);

	/* A 4 KiB ROM holding a 512-byte image: the rest reads 0xff. */
	{
		uint8_t rom[0x1000];
		SimDevice *d = blank(256);
		size_t sz;

		memset(rom, 0xab, sizeof(rom));
		rom[0] = 0x55;
		rom[1] = 0xaa;
		rom[0x18] = 0x20;
		rom[0x19] = 0;
		memcpy(rom + 0x20, "PCIR", 4);
		rom[0x20 + 16] = 1;		/* 1 x 512 bytes */
		rom[0x20 + 17] = 0;
		rom[0x20 + 21] = 0x80;		/* last image */
		assert_true(sim_rom_add(d, sizeof(rom), rom, sizeof(rom), NULL));
		realize(d);
		assert_true(sim_bar_set_addr(d, SIM_ROM_SLOT, 0xfe200000, NULL));
		fx_open(&f, d, 0);
		/*
		 * No memory BAR: pci_enable_device left MEM off, so the ROM
		 * reads all-ones to pci_map_rom, which fails first.
		 */
		assert_int_equal(fv_vconfig_bar_rw(f.vc, 6, b, 4, 0, false), -ENOMEM);
		/* decoding in hardware, virtual MEM off: EIO */
		tl_cfg_write(f.sim, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		assert_int_equal(fv_vconfig_bar_rw(f.vc, 6, b, 4, 0, false), -EIO);
		cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		assert_int_equal(brd(&f, 6, 0x1fc, 4), 0xabababab);
		assert_int_equal(brd(&f, 6, 0x1fe, 4), 0xffffabab);
		assert_int_equal(brd(&f, 6, 0x800, 4), 0xffffffff);
		assert_int_equal(fv_hostpci_map_rom(f.hp, &sz), 0);
		assert_int_equal(sz, 0x200);
		fv_hostpci_unmap_rom(f.hp);
		assert_int_equal(crd(&f, PCI_ROM_ADDRESS, 4), 0xfe200000);
		fx_close(&f);
	}

	/* A ROM that is not an image: ENOMEM (pci_map_rom fails). */
	{
		uint8_t junk[16] = { 0x12, 0x34 };
		SimDevice *d = blank(256);
		size_t sz = 77;

		assert_true(sim_rom_add(d, 0x800, junk, sizeof(junk), NULL));
		realize(d);
		assert_true(sim_bar_set_addr(d, SIM_ROM_SLOT, 0xfe200000, NULL));
		fx_open(&f, d, 0);
		tl_cfg_write(f.sim, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		cwr(&f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		assert_int_equal(fv_vconfig_bar_rw(f.vc, 6, b, 4, 0, false), -ENOMEM);
		assert_int_equal(fv_hostpci_map_rom(f.hp, &sz), -ENOMEM);
		assert_int_equal(sz, 77);
		assert_int_equal(hw(&f, PCI_ROM_ADDRESS, 4) & PCI_ROM_ADDRESS_ENABLE, 0);
		fx_close(&f);
	}

	/* Two images: the size spans both; a bad second image stops early. */
	{
		uint8_t rom[0x1000];
		SimDevice *d = blank(256);
		size_t sz;

		memset(rom, 0, sizeof(rom));
		for (unsigned img = 0; img < 2; img++) {
			uint8_t *p = rom + img * 0x400;

			p[0] = 0x55;
			p[1] = 0xaa;
			p[0x18] = 0x20;
			memcpy(p + 0x20, "PCIR", 4);
			p[0x20 + 16] = 2;
			p[0x20 + 21] = img ? 0x80 : 0;
		}
		assert_true(sim_rom_add(d, sizeof(rom), rom, sizeof(rom), NULL));
		realize(d);
		assert_true(sim_bar_set_addr(d, SIM_ROM_SLOT, 0xfe200000, NULL));
		fx_open(&f, d, 0);
		tl_cfg_write(f.sim, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		assert_int_equal(fv_hostpci_map_rom(f.hp, &sz), 0);
		assert_int_equal(sz, 0x800);
		fv_hostpci_unmap_rom(f.hp);
		/* break the second image's signature, then its PCIR */
		sim_device_free(d);
		fv_vconfig_free(f.vc);
		fv_hostpci_free(f.hp);
		rom[0x400] = 0;
		d = blank(256);
		assert_true(sim_rom_add(d, sizeof(rom), rom, sizeof(rom), NULL));
		realize(d);
		assert_true(sim_bar_set_addr(d, SIM_ROM_SLOT, 0xfe200000, NULL));
		fx_open(&f, d, 0);
		tl_cfg_write(f.sim, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		assert_int_equal(fv_hostpci_map_rom(f.hp, &sz), 0);
		assert_int_equal(sz, 0x400);
		fv_hostpci_unmap_rom(f.hp);
		fx_close(&f);
		rom[0x400] = 0x55;
		rom[0x420] = 'X';
		d = blank(256);
		assert_true(sim_rom_add(d, sizeof(rom), rom, sizeof(rom), NULL));
		realize(d);
		assert_true(sim_bar_set_addr(d, SIM_ROM_SLOT, 0xfe200000, NULL));
		fx_open(&f, d, 0);
		tl_cfg_write(f.sim, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		assert_int_equal(fv_hostpci_map_rom(f.hp, &sz), 0);
		assert_int_equal(sz, 0x400);
		fv_hostpci_unmap_rom(f.hp);
		fx_close(&f);
	}
}

/* ---- hostpci --------------------------------------------------------------- */

static void test_hostpci_basics(void **state)
{
	Error *err = NULL;
	FvPciResource r;
	FvHostPci *hp;
	SimDevice *d;
	(void)state;

	assert_null(fv_hostpci_new(NULL, &err));
	assert_non_null(err);
	error_free(err);
	err = NULL;
	assert_null(fv_vconfig_new(NULL, 0, NULL, NULL, &err));
	assert_non_null(err);
	error_free(err);

	d = dmatest(NULL);
	hp = fv_hostpci_new(d, NULL);
	assert_ptr_equal(fv_hostpci_sim(hp), d);
	assert_int_equal(fv_hostpci_cfg_size(hp), 4096);
	assert_int_equal(fv_hostpci_pcie_cap(hp), DT_EXP);
	assert_false(fv_hostpci_is_virtfn(hp));
	assert_false(fv_hostpci_no_command_memory(hp));
	assert_true(fv_hostpci_resource(hp, 2, &r));
	assert_int_equal(r.start, DT_BAR2);
	assert_int_equal(r.len, DMATEST_BAR_MSIX_SIZE);
	assert_true(r.mem64 && r.prefetch && !r.io);
	assert_false(fv_hostpci_resource(hp, 3, &r));
	assert_int_equal(r.len, 0);
	assert_false(fv_hostpci_resource(hp, 9, &r));
	assert_true(fv_hostpci_resource(hp, 1, &r));
	assert_true(r.io);
	/* enable: IO and MEM on, INTx disable off; counted */
	tl_cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_MASTER);
	assert_int_equal(fv_hostpci_enable(hp), 0);
	assert_int_equal(sim_cfg_get(d, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	tl_cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(fv_hostpci_enable(hp), 0);
	assert_int_equal(sim_cfg_get(d, PCI_COMMAND, 2), PCI_COMMAND_MASTER);
	fv_hostpci_disable(hp);
	assert_int_equal(sim_cfg_get(d, PCI_COMMAND, 2), PCI_COMMAND_MASTER);
	fv_hostpci_disable(hp);
	assert_int_equal(sim_cfg_get(d, PCI_COMMAND, 2), 0);
	fv_hostpci_disable(hp);		/* not enabled: nothing */
	/* MSI enabled: INTx disable is left alone */
	tl_cfg_write(d, DT_MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	tl_cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(fv_hostpci_enable(hp), 0);
	assert_int_equal(sim_cfg_get(d, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE,
			 PCI_COMMAND_INTX_DISABLE);
	fv_hostpci_free(hp);
	fv_hostpci_free(NULL);
	sim_device_free(d);

	/* the VF */
	d = t5vf(NULL);
	hp = fv_hostpci_new(d, NULL);
	assert_true(fv_hostpci_is_virtfn(hp));
	assert_true(fv_hostpci_no_command_memory(hp));
	assert_int_equal(fv_hostpci_cfg_size(hp), 4096);
	assert_int_equal(fv_hostpci_reset_method(hp), FV_RESET_FLR);
	/* no PM capability: D3 is refused, D0 is a no-op */
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D3HOT), -EIO);
	assert_int_equal(fv_hostpci_power_state(hp), FV_PCI_D0);
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D0), 0);
	{
		size_t sz = 5;

		assert_int_equal(fv_hostpci_map_rom(hp, &sz), -EINVAL);	/* no ROM */
		assert_int_equal(sz, 5);
	}
	fv_hostpci_free(hp);
	sim_device_free(d);

	/* Found in D3hot: going to D0 resets it, nothing saved to restore. */
	d = dmatest(NULL);
	tl_cfg_write(d, DT_PM + PCI_PM_CTRL, 2, 3);
	hp = fv_hostpci_new(d, NULL);
	assert_int_equal(fv_hostpci_power_state(hp), FV_PCI_D3HOT);
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D0), 0);
	assert_int_equal(fv_hostpci_power_state(hp), FV_PCI_D0);
	assert_int_equal(sim_device_reset_count(d, SIM_RESET_PM), 1);
	assert_int_equal(sim_cfg_get(d, 0x10, 4), (uint32_t)DT_BAR0);	/* restore_bars */
	assert_int_equal(sim_cfg_get(d, PCI_COMMAND, 2), 0);
	fv_hostpci_free(hp);
	sim_device_free(d);
}

static void test_hostpci_reset_methods(void **state)
{
	FvHostPci *hp;
	SimDevice *d;
	(void)state;

	assert_string_equal(fv_hostpci_reset_method_name(FV_RESET_NONE), "none");
	assert_string_equal(fv_hostpci_reset_method_name(FV_RESET_FLR), "flr");
	assert_string_equal(fv_hostpci_reset_method_name(FV_RESET_AF_FLR), "af_flr");
	assert_string_equal(fv_hostpci_reset_method_name(FV_RESET_PM), "pm");
	assert_string_equal(fv_hostpci_reset_method_name(FV_RESET_BUS), "bus");
	assert_string_equal(fv_hostpci_reset_method_name((FvResetMethod)99), "?");

	/* FLR */
	d = dmatest(NULL);
	hp = fv_hostpci_new(d, NULL);
	assert_true(fv_hostpci_reset_works(hp));
	assert_int_equal(fv_hostpci_enable(hp), 0);
	tl_bar_write(d, 0, DMATEST_REG_SCRATCH, 4, 0x77);
	assert_int_equal(fv_hostpci_try_reset(hp), 0);
	assert_int_equal(sim_device_reset_count(d, SIM_RESET_FLR), 1);
	assert_int_equal(tl_bar_read(d, 0, DMATEST_REG_SCRATCH, 4), 0);
	assert_int_equal(sim_cfg_get(d, PCI_COMMAND, 2), PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	fv_hostpci_free(hp);
	sim_device_free(d);

	/* PM reset (no FLR, soft reset) */
	d = dmatest("flr=off");
	hp = fv_hostpci_new(d, NULL);
	assert_int_equal(fv_hostpci_reset_method(hp), FV_RESET_PM);
	assert_int_equal(fv_hostpci_enable(hp), 0);
	assert_int_equal(fv_hostpci_try_reset(hp), 0);
	assert_int_equal(sim_device_reset_count(d, SIM_RESET_PM), 1);
	assert_int_equal(sim_cfg_get(d, 0x10, 4), (uint32_t)DT_BAR0);
	assert_int_equal(fv_hostpci_power_state(hp), FV_PCI_D0);
	/* from D3hot: pci_dev_save_and_disable brings it to D0 first */
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D3HOT), 0);
	assert_int_equal(fv_hostpci_try_reset(hp), 0);
	assert_int_equal(sim_device_reset_count(d, SIM_RESET_PM), 3);
	assert_int_equal(fv_hostpci_power_state(hp), FV_PCI_D0);
	fv_hostpci_free(hp);
	sim_device_free(d);

	/* nothing: no FLR, No_Soft_Reset; then a bus reset allowed */
	d = dmatest("flr=off,nosoftrst=on");
	hp = fv_hostpci_new(d, NULL);
	assert_false(fv_hostpci_reset_works(hp));
	assert_int_equal(fv_hostpci_try_reset(hp), -ENOTTY);
	fv_hostpci_set_bus_reset(hp, true);
	assert_int_equal(fv_hostpci_reset_method(hp), FV_RESET_BUS);
	assert_int_equal(fv_hostpci_enable(hp), 0);
	assert_int_equal(fv_hostpci_try_reset(hp), 0);
	assert_int_equal(sim_device_reset_count(d, SIM_RESET_HOT), 1);
	assert_int_equal(sim_cfg_get(d, 0x18, 4), (uint32_t)DT_BAR2 | 0xc);
	/* No_Soft_Reset: D3hot -> D0 keeps state, nothing to restore */
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D3HOT), 0);
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D3HOT), 0);
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D0), 0);
	assert_int_equal(sim_device_reset_count(d, SIM_RESET_PM), 0);
	fv_hostpci_free(hp);
	sim_device_free(d);

	/* AF FLR, through the config region too */
	{
		Fx f;

		d = blank(256);
		assert_true(sim_cap_add_af(d, 0x40, NULL));
		realize(d);
		fx_open(&f, d, 0);
		assert_int_equal(fv_hostpci_reset_method(f.hp), FV_RESET_AF_FLR);
		assert_int_equal(crd(&f, 0x40 + PCI_AF_CAP, 1), PCI_AF_CAP_TP | PCI_AF_CAP_FLR);
		cwr(&f, 0x40 + PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR);
		assert_int_equal(sim_device_reset_count(f.sim, SIM_RESET_FLR), 1);
		assert_int_equal(crd(&f, 0x40 + PCI_AF_CTRL, 1), 0);
		/* AF without TP: the write does nothing */
		tl_cfg_write(f.sim, 0x40 + PCI_AF_CAP, 1, 0);
		sim_cfg_set(f.sim, 0x40 + PCI_AF_CAP, 1, PCI_AF_CAP_FLR);
		cwr(&f, 0x40 + PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR);
		assert_int_equal(sim_device_reset_count(f.sim, SIM_RESET_FLR), 1);
		assert_int_equal(fv_hostpci_reset_method(f.hp), FV_RESET_NONE);
		fx_close(&f);
	}
}

/* Saved state: PCIe/AER registers and the host's MSI/MSI-X come back. */
static void test_hostpci_save_restore(void **state)
{
	FvPciSavedState *st;
	FvHostPci *hp;
	SimDevice *d;
	uint64_t addr;
	uint32_t data, ctrl;
	(void)state;

	d = dmatest(NULL);
	hp = fv_hostpci_new(d, NULL);
	assert_int_equal(fv_hostpci_enable(hp), 0);
	/* what the IRQ layer would program: MSI at a host address */
	tl_cfg_write(d, DT_MSI + PCI_MSI_ADDRESS_LO, 4, 0xfee00000);
	tl_cfg_write(d, DT_MSI + PCI_MSI_ADDRESS_HI, 4, 0);
	tl_cfg_write(d, DT_MSI + PCI_MSI_DATA_64, 2, 0x41);
	tl_cfg_write(d, DT_MSI + PCI_MSI_MASK_64, 4, 0x2);
	tl_cfg_write(d, DT_MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | (2 << 4));
	tl_cfg_write(d, DT_EXP + PCI_EXP_DEVCTL2, 2, PCI_EXP_DEVCTL2_LTR_EN);
	tl_cfg_write(d, DT_AER + PCI_ERR_UNCOR_MASK, 4, 0x1000);
	assert_int_equal(fv_hostpci_try_reset(hp), 0);
	assert_true(sim_msi_enabled(d));
	assert_int_equal(sim_msi_nvec_enabled(d), 4);
	assert_int_equal(sim_cfg_get(d, DT_MSI + PCI_MSI_ADDRESS_LO, 4), 0xfee00000);
	assert_int_equal(sim_cfg_get(d, DT_MSI + PCI_MSI_DATA_64, 2), 0x41);
	assert_int_equal(sim_cfg_get(d, DT_MSI + PCI_MSI_MASK_64, 4), 0x2);
	assert_int_equal(sim_cfg_get(d, DT_EXP + PCI_EXP_DEVCTL2, 2), PCI_EXP_DEVCTL2_LTR_EN);
	assert_int_equal(sim_cfg_get(d, DT_AER + PCI_ERR_UNCOR_MASK, 4), 0x1000);

	/* MSI-X */
	tl_cfg_write(d, DT_MSI + PCI_MSI_FLAGS, 2, 0);
	tl_bar_write(d, 2, 16 + 0, 4, 0xfee01000);
	tl_bar_write(d, 2, 16 + 8, 4, 0x55);
	tl_bar_write(d, 2, 16 + 12, 4, 0);
	tl_cfg_write(d, DT_MSIX + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(fv_hostpci_try_reset(hp), 0);
	assert_true(sim_msix_enabled(d));
	assert_int_equal(sim_cfg_get(d, DT_MSIX + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_MASKALL, 0);
	assert_true(sim_msix_entry(d, 1, &addr, &data, &ctrl));
	assert_int_equal(addr, 0xfee01000);
	assert_int_equal(data, 0x55);
	assert_int_equal(ctrl, 0);
	assert_false(sim_msi_enabled(d));

	/* store / load (vfio's pci_saved_state at open and close) */
	assert_null(fv_hostpci_store_saved_state(hp));	/* consumed */
	fv_hostpci_save_state(hp);
	st = fv_hostpci_store_saved_state(hp);
	assert_non_null(st);
	fv_hostpci_restore_state(hp);
	fv_hostpci_restore_state(hp);			/* nothing saved: no-op */
	sim_device_reset(d, SIM_RESET_FLR);
	assert_false(sim_msix_enabled(d));
	assert_int_equal(sim_cfg_get(d, 0x10, 4), 0);
	assert_false(fv_hostpci_load_saved_state(hp, NULL));
	assert_true(fv_hostpci_load_saved_state(hp, st));
	fv_hostpci_restore_state(hp);
	assert_int_equal(sim_cfg_get(d, 0x10, 4), (uint32_t)DT_BAR0);
	assert_true(sim_msix_enabled(d));
	assert_true(sim_msix_entry(d, 1, &addr, &data, &ctrl));
	assert_int_equal(data, 0x55);
	fv_hostpci_free_saved_state(NULL);
	/* a copy kept across a free of the host device */
	fv_hostpci_save_state(hp);
	st = fv_hostpci_store_saved_state(hp);
	fv_hostpci_free_saved_state(st);
	/* D3hot with MSI-X on: the pm_save copy holds the table too */
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D3HOT), 0);
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D3HOT), 0);
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D0), 0);
	assert_true(sim_msix_enabled(d));
	/* into D3hot twice with a free of the previous pm_save */
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D3HOT), 0);
	sim_device_reset(d, SIM_RESET_FLR);	/* lands in D0 behind our back */
	assert_int_equal(fv_hostpci_enable(hp), 0);	/* re-reads the state */
	assert_int_equal(fv_hostpci_power_state(hp), FV_PCI_D0);
	assert_int_equal(fv_hostpci_set_power(hp, FV_PCI_D3HOT), 0);
	fv_hostpci_free(hp);
	sim_device_free(d);
}

/* cfg_size rules: a 4 KiB device without PCIe or PCI-X 266 is 256. */
static void test_hostpci_cfg_size(void **state)
{
	FvHostPci *hp;
	SimDevice *d;
	(void)state;

	d = blank(SIM_CFG_SIZE_PCIE);
	realize(d);
	hp = fv_hostpci_new(d, NULL);
	assert_int_equal(fv_hostpci_cfg_size(hp), 256);
	fv_hostpci_free(hp);
	sim_device_free(d);

	d = blank(SIM_CFG_SIZE_PCIE);
	assert_true(sim_cap_add(d, PCI_CAP_ID_PCIX, 0x40, 24, NULL));
	realize(d);
	hp = fv_hostpci_new(d, NULL);
	assert_int_equal(fv_hostpci_cfg_size(hp), 256);
	fv_hostpci_free(hp);
	sim_device_free(d);

	/* extended space that does not answer (all-ones at 0x100) */
	d = blank(SIM_CFG_SIZE_PCIE);
	assert_true(sim_cap_add_pcie(d, 0x40, &plain_pcie, NULL));
	sim_cfg_set(d, 0x100, 4, 0xffffffff);
	realize(d);
	hp = fv_hostpci_new(d, NULL);
	assert_int_equal(fv_hostpci_cfg_size(hp), 256);
	fv_hostpci_free(hp);
	sim_device_free(d);

	d = blank(SIM_CFG_SIZE_PCI);
	assert_true(sim_cap_add_pcie(d, 0x40, &plain_pcie, NULL));
	realize(d);
	hp = fv_hostpci_new(d, NULL);
	assert_int_equal(fv_hostpci_cfg_size(hp), 256);
	assert_int_equal(fv_hostpci_pcie_cap(hp), 0x40);
	fv_hostpci_free(hp);
	sim_device_free(d);

	/* a PCIe root port: SltCtl and RtCtl saved and restored */
	d = blank(SIM_CFG_SIZE_PCIE);
	{
		SimPcieConfig c = { .flags = 2 | (PCI_EXP_TYPE_ROOT_PORT << 4) };

		assert_true(sim_cap_add_pcie(d, 0x40, &c, NULL));
	}
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x40 + PCI_EXP_SLTCTL, 2, 0xffff);
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x40 + PCI_EXP_RTCTL, 2, 0xffff);
	realize(d);
	hp = fv_hostpci_new(d, NULL);
	tl_cfg_write(d, 0x40 + PCI_EXP_SLTCTL, 2, 0x1234);
	tl_cfg_write(d, 0x40 + PCI_EXP_RTCTL, 2, 0x0007);
	fv_hostpci_set_bus_reset(hp, true);
	assert_int_equal(fv_hostpci_try_reset(hp), 0);
	assert_int_equal(sim_cfg_get(d, 0x40 + PCI_EXP_SLTCTL, 2), 0x1234);
	assert_int_equal(sim_cfg_get(d, 0x40 + PCI_EXP_RTCTL, 2), 0x0007);
	fv_hostpci_free(hp);
	sim_device_free(d);

	/* a downstream port with a slot, v1: no "2" registers */
	d = blank(SIM_CFG_SIZE_PCIE);
	{
		SimPcieConfig c = { .flags = 1 | (PCI_EXP_TYPE_DOWNSTREAM << 4) |
					     PCI_EXP_FLAGS_SLOT };

		assert_true(sim_cap_add_pcie(d, 0x40, &c, NULL));
	}
	sim_cfg_set_mask(d, SIM_MASK_RW, 0x40 + PCI_EXP_SLTCTL, 2, 0xffff);
	realize(d);
	hp = fv_hostpci_new(d, NULL);
	tl_cfg_write(d, 0x40 + PCI_EXP_SLTCTL, 2, 0x0042);
	fv_hostpci_set_bus_reset(hp, true);
	assert_int_equal(fv_hostpci_try_reset(hp), 0);
	assert_int_equal(sim_cfg_get(d, 0x40 + PCI_EXP_SLTCTL, 2), 0x0042);
	fv_hostpci_free(hp);
	sim_device_free(d);

	/* an RC event collector: no link control */
	d = blank(SIM_CFG_SIZE_PCIE);
	{
		SimPcieConfig c = { .flags = 2 | (PCI_EXP_TYPE_RC_EC << 4) };

		assert_true(sim_cap_add_pcie(d, 0x40, &c, NULL));
	}
	realize(d);
	hp = fv_hostpci_new(d, NULL);
	fv_hostpci_set_bus_reset(hp, true);
	assert_int_equal(fv_hostpci_try_reset(hp), 0);
	fv_hostpci_free(hp);
	sim_device_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_rows_dmatest),
		cmocka_unit_test(test_header_rows_vf),
		cmocka_unit_test(test_header_initial),
		cmocka_unit_test(test_bar_sizing),
		cmocka_unit_test(test_vf_ids),
		cmocka_unit_test(test_vf_command_mem),
		cmocka_unit_test(test_intx_disable),
		cmocka_unit_test(test_status_rmw),
		cmocka_unit_test(test_bar_restore),
		cmocka_unit_test(test_pm),
		cmocka_unit_test(test_pm_pme_support),
		cmocka_unit_test(test_msi),
		cmocka_unit_test(test_msi_32),
		cmocka_unit_test(test_msix),
		cmocka_unit_test(test_pcie_devctl),
		cmocka_unit_test(test_aer),
		cmocka_unit_test(test_config_efault),
		cmocka_unit_test(test_chunking),
		cmocka_unit_test(test_hidden_std_middle),
		cmocka_unit_test(test_hidden_std_head),
		cmocka_unit_test(test_cap_at_end),
		cmocka_unit_test(test_cap_loop_overlap),
		cmocka_unit_test(test_std_cap_lengths),
		cmocka_unit_test(test_pcix_ext),
		cmocka_unit_test(test_no_extended_caps),
		cmocka_unit_test(test_hidden_ecap_head),
		cmocka_unit_test(test_hidden_ecap_middle),
		cmocka_unit_test(test_ecap_lengths),
		cmocka_unit_test(test_bar_split),
		cmocka_unit_test(test_bar_rw),
		cmocka_unit_test(test_rom),
		cmocka_unit_test(test_hostpci_basics),
		cmocka_unit_test(test_hostpci_reset_methods),
		cmocka_unit_test(test_hostpci_save_restore),
		cmocka_unit_test(test_hostpci_cfg_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

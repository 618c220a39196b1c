/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the "dma-test" device model (sim/dmatest.c): identity and
 * capabilities, every BAR0 register's access type, the DMA engine against
 * a test-owned IOVA window (copy, fill, buffer read/write, faults, bus
 * master off, bad length and command), the completion interrupt through
 * INTx, MSI and MSI-X, BAR and ROM sizing, resets and parameters.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/dmatest.h"
#include "sim/sim.h"

/* The host's IOVA window: DMA outside it fails with -EFAULT. */
#define WIN_BASE	0x40000000ull
#define WIN_SIZE	(DMATEST_MAX_LEN * 2 + 0x2000)
#define IOVA(off)	(WIN_BASE + (off))
#define MAX_REC		1024
/* PMCSR PowerState values (the PCI_D* names are kernel-internal). */
#define PM_D0		0
#define PM_D1		1
#define PM_D3HOT	3

typedef struct Rec {
	uint64_t iova;
	size_t len;
	bool write;
	int err;
} Rec;

typedef struct Host {
	SimDevice *dev;
	uint8_t *mem;			/* WIN_SIZE bytes at WIN_BASE */
	uint64_t ro_start, ro_end;	/* window offsets refusing writes */
	Rec dma[MAX_REC];
	unsigned ndma;
	bool crossed_page;		/* a request crossed 4 KiB */
	Rec fault[16];
	unsigned nfault;
	uint64_t msi_addr[16];
	uint32_t msi_data[16];
	unsigned nmsi;
	bool intx_level;
	unsigned intx_pin, nintx;
	/* Re-entrancy probe: inside the first DMA, read STATUS and ring again. */
	bool probe;
	uint32_t probe_status;
	int probe_ret;
} Host;

static Host *cur;

static int host_dma(void *opaque, SimDevice *dev, uint64_t iova, void *buf,
		    size_t len, bool write)
{
	Host *h = opaque;
	uint64_t off;

	assert_true(dev == h->dev);
	if (h->ndma < MAX_REC)
		h->dma[h->ndma] = (Rec){ iova, len, write, 0 };
	h->ndma++;
	if ((iova & 0xfff) + len > 0x1000)
		h->crossed_page = true;
	if (h->probe) {
		uint64_t v = 0;

		h->probe = false;
		h->probe_ret = sim_bar_read(dev, 0, DMATEST_REG_STATUS, 4, &v);
		h->probe_status = (uint32_t)v;
		assert_int_equal(sim_bar_write(dev, 0, DMATEST_REG_DOORBELL, 4, 1), 0);
	}
	if (iova < WIN_BASE || iova - WIN_BASE >= WIN_SIZE ||
	    len > WIN_SIZE - (iova - WIN_BASE))
		return -EFAULT;
	off = iova - WIN_BASE;
	if (write && off < h->ro_end && off + len > h->ro_start)
		return -EPERM;
	if (write)
		memcpy(h->mem + off, buf, len);
	else
		memcpy(buf, h->mem + off, len);
	return 0;
}

static void host_dma_fault(void *opaque, SimDevice *dev, uint64_t iova,
			   size_t len, bool write, int err)
{
	Host *h = opaque;

	(void)dev;
	if (h->nfault < 16)
		h->fault[h->nfault] = (Rec){ iova, len, write, err };
	h->nfault++;
}

static void host_msi(void *opaque, SimDevice *dev, uint64_t addr, uint32_t data)
{
	Host *h = opaque;

	(void)dev;
	if (h->nmsi < 16) {
		h->msi_addr[h->nmsi] = addr;
		h->msi_data[h->nmsi] = data;
	}
	h->nmsi++;
}

static void host_intx(void *opaque, SimDevice *dev, unsigned pin, bool level)
{
	Host *h = opaque;

	(void)dev;
	h->intx_pin = pin;
	h->intx_level = level;
	h->nintx++;
}

static const SimHostOps host_ops = {
	.msi = host_msi,
	.intx = host_intx,
	.dma = host_dma,
	.dma_fault = host_dma_fault,
};

/* ---- helpers ------------------------------------------------------------ */

static SimDevice *create(const char *params, Error **errp)
{
	return sim_model_create("dma-test", "0000:00:05.0", params, errp);
}

static void cfgw(Host *h, unsigned off, unsigned len, uint32_t val)
{
	assert_int_equal(sim_cfg_write(h->dev, off, len, val), 0);
}

static uint32_t cfgr(Host *h, unsigned off, unsigned len)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(sim_cfg_read(h->dev, off, len, &v), 0);
	return v;
}

static void enable(Host *h)
{
	cfgw(h, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/* A device with its host wired and memory, I/O and bus master on. */
static Host *start(const char *params)
{
	Error *err = NULL;
	Host *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	cur = h;
	h->mem = calloc(1, WIN_SIZE);
	assert_non_null(h->mem);
	h->dev = create(params, &err);
	if (!h->dev)
		fail_msg("create: %s", error_get_pretty(err));
	sim_device_set_host(h->dev, &host_ops, h);
	enable(h);
	return h;
}

static int teardown(void **state)
{
	(void)state;
	if (cur) {
		sim_device_free(cur->dev);
		free(cur->mem);
		free(cur);
		cur = NULL;
	}
	return 0;
}

static uint64_t bar_rd(Host *h, unsigned bar, uint64_t off, unsigned len)
{
	uint64_t v = 0;

	assert_int_equal(sim_bar_read(h->dev, bar, off, len, &v), 0);
	return v;
}

static void bar_wr(Host *h, unsigned bar, uint64_t off, unsigned len, uint64_t v)
{
	assert_int_equal(sim_bar_write(h->dev, bar, off, len, v), 0);
}

static uint32_t rd32(Host *h, unsigned off)
{
	return (uint32_t)bar_rd(h, 0, off, 4);
}

static void wr32(Host *h, unsigned off, uint32_t v)
{
	bar_wr(h, 0, off, 4, v);
}

static uint64_t rd64(Host *h, unsigned off)
{
	return bar_rd(h, 0, off, 8);
}

static void wr64(Host *h, unsigned off, uint64_t v)
{
	bar_wr(h, 0, off, 8, v);
}

static uint32_t st(unsigned cause)
{
	return DMATEST_STATUS_DONE | (cause ? DMATEST_STATUS_ERROR : 0) |
	       ((uint32_t)cause << DMATEST_STATUS_CAUSE_SHIFT);
}

/* Program and run one command; returns STATUS. */
static uint32_t run(Host *h, uint32_t cmd, uint64_t src, uint64_t dst, uint32_t len)
{
	wr64(h, DMATEST_REG_SRC, src);
	wr64(h, DMATEST_REG_DST, dst);
	wr32(h, DMATEST_REG_LEN, len);
	wr32(h, DMATEST_REG_CMD, cmd);
	wr32(h, DMATEST_REG_DOORBELL, DMATEST_DOORBELL_GO);
	return rd32(h, DMATEST_REG_STATUS);
}

static uint32_t irq_cmd(unsigned op, unsigned vector)
{
	return op | DMATEST_CMD_IRQ | (vector << DMATEST_CMD_VECTOR_SHIFT);
}

static void fill_window(Host *h)
{
	for (size_t i = 0; i < WIN_SIZE; i++)
		h->mem[i] = (uint8_t)(i * 7 + 3 + (i >> 12));
}

static uint8_t *snapshot(Host *h)
{
	uint8_t *s = malloc(WIN_SIZE);

	assert_non_null(s);
	memcpy(s, h->mem, WIN_SIZE);
	return s;
}

static void expect_window(Host *h, uint8_t *expected)
{
	for (size_t i = 0; i < WIN_SIZE; i++)
		if (h->mem[i] != expected[i]) {
			uint8_t got = h->mem[i], want = expected[i];

			free(expected);
			fail_msg("window byte 0x%zx: 0x%02x, expected 0x%02x", i, got, want);
		}
	free(expected);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void buf_write(Host *h, uint32_t off, uint32_t v)
{
	wr32(h, DMATEST_REG_BUF_ADDR, off);
	wr32(h, DMATEST_REG_BUF_DATA, v);
}

static uint32_t buf_read(Host *h, uint32_t off)
{
	wr32(h, DMATEST_REG_BUF_ADDR, off);
	return rd32(h, DMATEST_REG_BUF_DATA);
}

/* ---- identity, capabilities, registry ------------------------------------ */

static void test_registry(void **state)
{
	const SimModel *m = sim_model_find("dma-test");
	(void)state;

	assert_non_null(m);
	assert_string_equal(m->name, "dma-test");
	assert_non_null(strstr(m->params_help, "msix_vectors="));
	assert_non_null(strstr(m->params_help, "pba_offset="));
	assert_non_null(strstr(m->summary, "1b36:11f0"));
}

static void test_identity(void **state)
{
	Host *h = start(NULL);
	SimIds ids = sim_device_ids(h->dev);
	(void)state;

	assert_int_equal(sim_device_cfg_size(h->dev), SIM_CFG_SIZE_PCIE);
	assert_int_equal(cfgr(h, PCI_VENDOR_ID, 2), 0x1b36);
	assert_int_equal(cfgr(h, PCI_DEVICE_ID, 2), 0x11f0);
	assert_int_equal(cfgr(h, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1b36);
	assert_int_equal(cfgr(h, PCI_SUBSYSTEM_ID, 2), 0x0001);
	assert_int_equal(cfgr(h, PCI_CLASS_REVISION, 4), 0x00ff0001);
	assert_int_equal(cfgr(h, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(cfgr(h, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(ids.vendor, 0x1b36);
	assert_int_equal(ids.device, 0x11f0);
	assert_int_equal(ids.class_code, 0x00ff00);
	assert_int_equal(ids.revision, 1);
	/* IDs are read-only. */
	cfgw(h, PCI_VENDOR_ID, 4, 0);
	assert_int_equal(cfgr(h, PCI_VENDOR_ID, 4), 0x11f01b36);
	assert_true(cfgr(h, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
}

static void test_capabilities(void **state)
{
	Host *h = start(NULL);
	(void)state;

	/* Chain: PM 0x40 -> MSI 0x50 -> PCIe 0x70 -> MSI-X 0xb0 -> end. */
	assert_int_equal(cfgr(h, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(cfgr(h, 0x40, 2), PCI_CAP_ID_PM | 0x50 << 8);
	assert_int_equal(cfgr(h, 0x50, 2), PCI_CAP_ID_MSI | 0x70 << 8);
	assert_int_equal(cfgr(h, 0x70, 2), PCI_CAP_ID_EXP | 0xb0 << 8);
	assert_int_equal(cfgr(h, 0xb0, 2), PCI_CAP_ID_MSIX | 0x00 << 8);
	/* PM: version 3 (PM 1.2), no D1/D2/PME; D0, soft reset on D3->D0. */
	assert_int_equal(cfgr(h, 0x40 + PCI_PM_PMC, 2), 0x0003);
	assert_int_equal(cfgr(h, 0x40 + PCI_PM_CTRL, 2), 0);
	/* MSI: 4 vectors, 64-bit, per-vector mask. */
	assert_int_equal(cfgr(h, 0x50 + PCI_MSI_FLAGS, 2),
			 (2 << 1) | PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
	/* PCIe v2 endpoint, FLR, MPS 256, RBER; link x1 at 5 GT/s. */
	assert_int_equal(cfgr(h, 0x70 + PCI_EXP_FLAGS, 2), 0x0002);
	assert_int_equal(cfgr(h, 0x70 + PCI_EXP_DEVCAP, 4),
			 PCI_EXP_DEVCAP_FLR | PCI_EXP_DEVCAP_RBER | 1);
	assert_int_equal(cfgr(h, 0x70 + PCI_EXP_DEVCTL, 2), 0x2810);
	assert_int_equal(cfgr(h, 0x70 + PCI_EXP_LNKCAP, 4), 0x12);
	assert_int_equal(cfgr(h, 0x70 + PCI_EXP_LNKSTA, 2), 0x12);
	assert_int_equal(cfgr(h, 0x70 + PCI_EXP_LNKCAP2, 4), 0x6);
	assert_int_equal(cfgr(h, 0x70 + PCI_EXP_LNKCTL2, 2), 0x2);
	/* MSI-X: 8 vectors, table BAR2+0, PBA BAR2+0x1000. */
	assert_int_equal(cfgr(h, 0xb0 + PCI_MSIX_FLAGS, 2), 7);
	assert_int_equal(cfgr(h, 0xb0 + PCI_MSIX_TABLE, 4), 0x00000002);
	assert_int_equal(cfgr(h, 0xb0 + PCI_MSIX_PBA, 4), 0x00001002);
	assert_int_equal(sim_msix_nvec(h->dev), 8);
	/* AER v2 at 0x100, the only extended capability. */
	assert_int_equal(cfgr(h, 0x100, 4), PCI_EXT_CAP_ID_ERR | 2 << 16);
	assert_int_equal(sim_ecap_find(h->dev, PCI_EXT_CAP_ID_ERR), 0x100);
	assert_int_equal(sim_cap_find(h->dev, PCI_CAP_ID_AF), 0);
}

/* ---- BAR0 registers --------------------------------------------------- */

static void test_reset_values(void **state)
{
	Host *h = start(NULL);
	(void)state;

	assert_int_equal(rd32(h, DMATEST_REG_ID), DMATEST_MAGIC);
	assert_int_equal(bar_rd(h, 0, 0, 1), 'D');
	assert_int_equal(bar_rd(h, 0, 3, 1), 'T');
	assert_int_equal(rd32(h, DMATEST_REG_VERSION), 1);
	assert_int_equal(rd32(h, DMATEST_REG_SCRATCH), 0);
	assert_int_equal(rd32(h, DMATEST_REG_MAX_LEN), 0x100000);
	assert_int_equal(rd64(h, DMATEST_REG_SRC), 0);
	assert_int_equal(rd64(h, DMATEST_REG_DST), 0);
	assert_int_equal(rd32(h, DMATEST_REG_LEN), 0);
	assert_int_equal(rd32(h, DMATEST_REG_PATTERN), 0);
	assert_int_equal(rd32(h, DMATEST_REG_CMD), 0);
	assert_int_equal(rd32(h, DMATEST_REG_DOORBELL), 0);
	assert_int_equal(rd32(h, DMATEST_REG_STATUS), 0);
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 0);
	assert_int_equal(rd64(h, DMATEST_REG_FAULT_IOVA), 0);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), 0);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_MASK), DMATEST_INTR_ALL);
	assert_int_equal(rd32(h, DMATEST_REG_BUF_ADDR), 0);
	assert_int_equal(rd32(h, DMATEST_REG_BUF_DATA), 0);
	assert_int_equal(rd32(h, DMATEST_REG_ERRORS), 0);
}

static void test_register_access(void **state)
{
	static const struct { unsigned off; uint32_t after_ones; } r32[] = {
		{ DMATEST_REG_ID, DMATEST_MAGIC },
		{ DMATEST_REG_VERSION, DMATEST_VERSION },
		{ DMATEST_REG_SCRATCH, 0xffffffff },
		{ DMATEST_REG_MAX_LEN, DMATEST_MAX_LEN },
		{ DMATEST_REG_LEN, 0xffffffff },
		{ DMATEST_REG_PATTERN, 0xffffffff },
		{ DMATEST_REG_CMD, 0x00ff010f },
		{ DMATEST_REG_STATUS, 0 },
		{ DMATEST_REG_COMPLETIONS, 0 },
		{ DMATEST_REG_INTR_STATUS, 0 },	/* W1C: software cannot set */
		{ DMATEST_REG_INTR_MASK, DMATEST_INTR_ALL },
		{ DMATEST_REG_BUF_ADDR, 0xffc },
		{ DMATEST_REG_ERRORS, 0 },
	};
	Host *h = start(NULL);
	(void)state;

	for (unsigned i = 0; i < sizeof(r32) / sizeof(r32[0]); i++) {
		wr32(h, r32[i].off, 0xffffffff);
		if (rd32(h, r32[i].off) != r32[i].after_ones)
			fail_msg("register 0x%02x: 0x%08x after writing ones, expected 0x%08x",
				 r32[i].off, rd32(h, r32[i].off), r32[i].after_ones);
	}
	/* Writable ones go back to 0; INTR_MASK bits are plain RW. */
	wr32(h, DMATEST_REG_SCRATCH, 0);
	wr32(h, DMATEST_REG_INTR_MASK, 0);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_MASK), 0);
	wr32(h, DMATEST_REG_INTR_MASK, DMATEST_INTR_ERROR);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_MASK), DMATEST_INTR_ERROR);
	wr32(h, DMATEST_REG_CMD, 0);
	assert_int_equal(rd32(h, DMATEST_REG_CMD), 0);
	/* Byte and half accesses. */
	bar_wr(h, 0, DMATEST_REG_SCRATCH + 1, 1, 0xab);
	assert_int_equal(rd32(h, DMATEST_REG_SCRATCH), 0x0000ab00);
	bar_wr(h, 0, DMATEST_REG_SCRATCH + 2, 2, 0x1234);
	assert_int_equal(rd32(h, DMATEST_REG_SCRATCH), 0x1234ab00);
	assert_int_equal(bar_rd(h, 0, DMATEST_REG_SCRATCH + 2, 1), 0x34);
	/* 64-bit registers: as a whole and by halves. */
	wr64(h, DMATEST_REG_SRC, 0x0123456789abcdefull);
	assert_int_equal(rd64(h, DMATEST_REG_SRC), 0x0123456789abcdefull);
	wr32(h, DMATEST_REG_SRC + 4, 0xfedcba98);
	assert_int_equal(rd32(h, DMATEST_REG_SRC), 0x89abcdef);
	assert_int_equal(rd64(h, DMATEST_REG_SRC), 0xfedcba9889abcdefull);
	wr32(h, DMATEST_REG_DST, 0x11223344);
	wr32(h, DMATEST_REG_DST + 4, 0x55667788);
	assert_int_equal(rd64(h, DMATEST_REG_DST), 0x5566778811223344ull);
	wr64(h, DMATEST_REG_FAULT_IOVA, UINT64_MAX);
	assert_int_equal(rd64(h, DMATEST_REG_FAULT_IOVA), 0);
	/* Beyond the registers: unbacked, all-ones, writes ignored. */
	assert_int_equal(rd32(h, DMATEST_REGS_END), 0xffffffff);
	wr32(h, DMATEST_REGS_END, 0);
	assert_int_equal(rd32(h, DMATEST_REGS_END), 0xffffffff);
	assert_int_equal(rd64(h, DMATEST_BAR_REGS_SIZE - 8), UINT64_MAX);
	assert_int_equal(sim_bar_read(h->dev, 0, DMATEST_BAR_REGS_SIZE, 4, &(uint64_t){0}),
			 -EINVAL);
	/* Nothing ran: the doorbell was not rung. */
	assert_int_equal(rd32(h, DMATEST_REG_STATUS), 0);
	assert_int_equal(h->ndma, 0);
}

static void test_doorbell(void **state)
{
	Host *h = start(NULL);
	(void)state;

	/* Writes without bit 0 do nothing; the register reads 0. */
	wr32(h, DMATEST_REG_DOORBELL, 0xfffffffe);
	bar_wr(h, 0, DMATEST_REG_DOORBELL + 1, 1, 0xff);
	assert_int_equal(rd32(h, DMATEST_REG_STATUS), 0);
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 0);
	/* A byte write with bit 0 runs the command (NOP). */
	bar_wr(h, 0, DMATEST_REG_DOORBELL, 1, 0x01);
	assert_int_equal(rd32(h, DMATEST_REG_STATUS), st(DMATEST_CAUSE_OK));
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 1);
	assert_int_equal(rd32(h, DMATEST_REG_DOORBELL), 0);
	wr32(h, DMATEST_REG_DOORBELL, 0xffffffff);
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 2);
	/* STATUS, COMPLETIONS and ERRORS are read-only. */
	wr32(h, DMATEST_REG_STATUS, 0);
	wr32(h, DMATEST_REG_COMPLETIONS, 0);
	assert_int_equal(rd32(h, DMATEST_REG_STATUS), st(DMATEST_CAUSE_OK));
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 2);
	assert_int_equal(h->ndma, 0);
	/* NOP needs no bus master. */
	cfgw(h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(run(h, DMATEST_OP_NOP, 0, 0, 0), st(DMATEST_CAUSE_OK));
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 3);
	/* Memory decode off: the BAR does not answer. */
	cfgw(h, PCI_COMMAND, 2, 0);
	assert_int_equal(sim_bar_read(h->dev, 0, 0, 4, &(uint64_t){0}), -EIO);
	assert_int_equal(sim_bar_write(h->dev, 0, DMATEST_REG_DOORBELL, 4, 1), -EIO);
}

static void test_buffer_window(void **state)
{
	Host *h = start(NULL);
	(void)state;

	buf_write(h, 0x000, 0x03020100);
	buf_write(h, 0xffc, 0xdeadbeef);
	assert_int_equal(buf_read(h, 0x000), 0x03020100);
	assert_int_equal(buf_read(h, 0xffc), 0xdeadbeef);
	assert_int_equal(buf_read(h, 0x004), 0);
	/* Low two bits and bits above 11 of BUF_ADDR are not writable. */
	wr32(h, DMATEST_REG_BUF_ADDR, 0x1003);
	assert_int_equal(rd32(h, DMATEST_REG_BUF_ADDR), 0);
	assert_int_equal(rd32(h, DMATEST_REG_BUF_DATA), 0x03020100);
	/* Byte writes merge into the dword. */
	wr32(h, DMATEST_REG_BUF_ADDR, 0xffc);
	bar_wr(h, 0, DMATEST_REG_BUF_DATA + 2, 1, 0x5a);
	assert_int_equal(rd32(h, DMATEST_REG_BUF_DATA), 0xde5abeef);
	assert_int_equal(bar_rd(h, 0, DMATEST_REG_BUF_DATA + 3, 1), 0xde);
	/* An 8-byte access covers BUF_ADDR and BUF_DATA. */
	bar_wr(h, 0, DMATEST_REG_BUF_ADDR, 8, 0xa5a5a5a500000008ull);
	assert_int_equal(buf_read(h, 8), 0xa5a5a5a5);
	assert_int_equal(bar_rd(h, 0, DMATEST_REG_BUF_ADDR, 8), 0xa5a5a5a500000008ull);
}

/* ---- BAR1, BAR2, ROM ---------------------------------------------------- */

static void test_io_bar(void **state)
{
	Host *h = start(NULL);
	SimBarInfo bi;
	(void)state;

	assert_true(sim_bar_info(h->dev, 1, &bi));
	assert_int_equal(bi.type, SIM_BAR_IO);
	assert_int_equal(bi.size, 32);
	assert_int_equal(bar_rd(h, 1, DMATEST_IO_ID, 4), DMATEST_MAGIC);
	bar_wr(h, 1, DMATEST_IO_ID, 4, 0);
	assert_int_equal(bar_rd(h, 1, DMATEST_IO_ID, 4), DMATEST_MAGIC);
	/* SCRATCH is one register seen through both BARs. */
	bar_wr(h, 1, DMATEST_IO_SCRATCH, 4, 0xcafef00d);
	assert_int_equal(rd32(h, DMATEST_REG_SCRATCH), 0xcafef00d);
	wr32(h, DMATEST_REG_SCRATCH, 0x12345678);
	assert_int_equal(bar_rd(h, 1, DMATEST_IO_SCRATCH, 4), 0x12345678);
	bar_wr(h, 1, DMATEST_IO_SCRATCH + 1, 1, 0x00);
	assert_int_equal(rd32(h, DMATEST_REG_SCRATCH), 0x12340078);
	assert_int_equal(bar_rd(h, 1, DMATEST_IO_SCRATCH + 3, 1), 0x12);
	/* The rest of the 32 bytes is unbacked. */
	assert_int_equal(bar_rd(h, 1, 0x08, 4), 0xffffffff);
	assert_int_equal(bar_rd(h, 1, 0x1c, 4), 0xffffffff);
	assert_int_equal(sim_bar_read(h->dev, 1, 0x20, 1, &(uint64_t){0}), -EINVAL);
	/* I/O decode follows Command.IO only. */
	cfgw(h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(sim_bar_read(h->dev, 1, 0, 4, &(uint64_t){0}), -EIO);
	assert_int_equal(rd32(h, DMATEST_REG_ID), DMATEST_MAGIC);
}

static void test_bar2_layout(void **state)
{
	Host *h = start(NULL);
	SimBarInfo bi;
	(void)state;

	assert_true(sim_bar_info(h->dev, 2, &bi));
	assert_int_equal(bi.type, SIM_BAR_MEM64);
	assert_true(bi.prefetch);
	assert_int_equal(bi.size, 0x4000);
	assert_false(sim_bar_info(h->dev, 3, &bi));
	/* Table: 8 entries, masked with zero address/data after reset. */
	assert_int_equal(bar_rd(h, 2, 0x00, 8), 0);
	assert_int_equal(bar_rd(h, 2, 0x0c, 4), PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_int_equal(bar_rd(h, 2, 0x7c, 4), PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_int_equal(bar_rd(h, 2, 0x80, 4), 0xffffffff);	/* past the table */
	/* PBA: read-only zero. */
	assert_int_equal(bar_rd(h, 2, 0x1000, 8), 0);
	bar_wr(h, 2, 0x1000, 8, UINT64_MAX);
	assert_int_equal(bar_rd(h, 2, 0x1000, 8), 0);
	assert_int_equal(bar_rd(h, 2, 0x1008, 4), 0xffffffff);
	/* RAM window: 8 KiB of zeroed read/write memory. */
	assert_int_equal(bar_rd(h, 2, 0x2000, 8), 0);
	assert_int_equal(bar_rd(h, 2, 0x3ff8, 8), 0);
	bar_wr(h, 2, 0x2000, 8, 0x0807060504030201ull);
	bar_wr(h, 2, 0x3fff, 1, 0x77);
	assert_int_equal(bar_rd(h, 2, 0x2002, 2), 0x0403);
	assert_int_equal(bar_rd(h, 2, 0x3ffc, 4), 0x77000000);
	assert_int_equal(sim_bar_read(h->dev, 2, 0x4000, 4, &(uint64_t){0}), -EINVAL);
}

static void test_rom(void **state)
{
	Host *h = start(NULL);
	uint8_t rom[DMATEST_ROM_SIZE], sum = 0;
	SimBarInfo bi;
	(void)state;

	assert_true(sim_bar_info(h->dev, SIM_ROM_SLOT, &bi));
	assert_int_equal(bi.size, DMATEST_ROM_SIZE);
	/* Disabled until the ROM enable bit is set. */
	assert_int_equal(sim_bar_read(h->dev, SIM_ROM_SLOT, 0, 2, &(uint64_t){0}), -EIO);
	cfgw(h, PCI_ROM_ADDRESS, 4, 0xfeb00000 | PCI_ROM_ADDRESS_ENABLE);
	assert_int_equal(cfgr(h, PCI_ROM_ADDRESS, 4), 0xfeb00001);
	for (unsigned i = 0; i < DMATEST_ROM_SIZE; i += 8) {
		uint64_t v = bar_rd(h, SIM_ROM_SLOT, i, 8);

		for (unsigned b = 0; b < 8; b++)
			rom[i + b] = (uint8_t)(v >> (8 * b));
	}
	assert_int_equal(rom[0], 0x55);
	assert_int_equal(rom[1], 0xaa);
	assert_int_equal(rom[2], DMATEST_ROM_SIZE / 512);
	assert_int_equal(rom[3], 0xcb);
	assert_int_equal(rom[0x18] | rom[0x19] << 8, 0x20);
	assert_memory_equal(rom + 0x20, "PCIR", 4);
	assert_int_equal(rom[0x24] | rom[0x25] << 8, 0x1b36);
	assert_int_equal(rom[0x26] | rom[0x27] << 8, 0x11f0);
	assert_int_equal(rom[0x2a] | rom[0x2b] << 8, 0x18);
	assert_int_equal(rom[0x2d] | rom[0x2e] << 8 | rom[0x2f] << 16, 0x00ff00);
	assert_int_equal(rom[0x30] | rom[0x31] << 8, DMATEST_ROM_SIZE / 512);
	assert_int_equal(rom[0x35], 0x80);
	assert_string_equal((const char *)rom + DMATEST_ROM_STRING_OFF, DMATEST_ROM_STRING);
	for (unsigned i = 0; i < DMATEST_ROM_SIZE; i++)
		sum = (uint8_t)(sum + rom[i]);
	assert_int_equal(sum, 0);
	/* Read-only. */
	bar_wr(h, SIM_ROM_SLOT, 0, 2, 0);
	assert_int_equal(bar_rd(h, SIM_ROM_SLOT, 0, 2), 0xaa55);
	/* Memory decode gates the ROM too. */
	cfgw(h, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_int_equal(sim_bar_read(h->dev, SIM_ROM_SLOT, 0, 2, &(uint64_t){0}), -EIO);
}

static void test_bar_sizing(void **state)
{
	static const struct { unsigned reg; uint32_t assigned, sized; } bars[] = {
		{ PCI_BASE_ADDRESS_0, 0xfe000000, 0xfffff000 },
		{ PCI_BASE_ADDRESS_1, 0x0000c001, 0xffffffe1 },
		{ PCI_BASE_ADDRESS_2, 0x0000000c, 0xffffc00c },
		{ PCI_BASE_ADDRESS_3, 0x00000080, 0xffffffff },
		{ PCI_BASE_ADDRESS_4, 0, 0 },
		{ PCI_BASE_ADDRESS_5, 0, 0 },
		{ PCI_ROM_ADDRESS, 0xfe100000, 0xfffff800 },
	};
	Host *h = start(NULL);
	Error *err = NULL;
	(void)state;

	assert_true(sim_bar_set_addr(h->dev, 0, 0xfe000000, &err));
	assert_true(sim_bar_set_addr(h->dev, 1, 0xc000, &err));
	assert_true(sim_bar_set_addr(h->dev, 2, 0x8000000000ull, &err));
	assert_true(sim_bar_set_addr(h->dev, SIM_ROM_SLOT, 0xfe100000, &err));
	for (unsigned i = 0; i < sizeof(bars) / sizeof(bars[0]); i++) {
		unsigned reg = bars[i].reg;

		if (cfgr(h, reg, 4) != bars[i].assigned)
			fail_msg("BAR at 0x%x: 0x%08x, expected 0x%08x", reg,
				 cfgr(h, reg, 4), bars[i].assigned);
		cfgw(h, reg, 4, 0xffffffff);
		if (cfgr(h, reg, 4) != (reg == PCI_ROM_ADDRESS ? 0xfffff801 : bars[i].sized))
			fail_msg("BAR at 0x%x sized 0x%08x, expected 0x%08x", reg,
				 cfgr(h, reg, 4), bars[i].sized);
		/* The ROM sizes with the enable bit clear, as Linux does it. */
		if (reg == PCI_ROM_ADDRESS) {
			cfgw(h, reg, 4, PCI_ROM_ADDRESS_MASK);
			assert_int_equal(cfgr(h, reg, 4), bars[i].sized);
		}
		cfgw(h, reg, 4, bars[i].assigned);
		assert_int_equal(cfgr(h, reg, 4), bars[i].assigned);
	}
	/* The 64-bit pair takes a full 64-bit address; type bits stay. */
	cfgw(h, PCI_BASE_ADDRESS_2, 4, 0x12345678);
	cfgw(h, PCI_BASE_ADDRESS_3, 4, 0x9abcdef0);
	assert_int_equal(cfgr(h, PCI_BASE_ADDRESS_2, 4), 0x1234400c);
	assert_int_equal(cfgr(h, PCI_BASE_ADDRESS_3, 4), 0x9abcdef0);
	/* The I/O BAR keeps bit 0 set whatever is written. */
	cfgw(h, PCI_BASE_ADDRESS_1, 4, 0);
	assert_int_equal(cfgr(h, PCI_BASE_ADDRESS_1, 4), PCI_BASE_ADDRESS_SPACE_IO);
	/* ROM enable bit: read/write, and decode follows it. */
	cfgw(h, PCI_ROM_ADDRESS, 4, 0xfe100001);
	assert_true(sim_bar_decodes(h->dev, SIM_ROM_SLOT));
	cfgw(h, PCI_ROM_ADDRESS, 4, 0xfe100000);
	assert_false(sim_bar_decodes(h->dev, SIM_ROM_SLOT));
}

/* ---- the DMA engine ----------------------------------------------------- */

static void test_copy(void **state)
{
	Host *h = start(NULL);
	uint8_t *want;
	(void)state;

	fill_window(h);
	want = snapshot(h);
	memmove(want + 0x6003, want + 0x100, 0x1234);
	assert_int_equal(run(h, DMATEST_OP_COPY, IOVA(0x100), IOVA(0x6003), 0x1234),
			 st(DMATEST_CAUSE_OK));
	expect_window(h, want);
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 1);
	assert_int_equal(rd32(h, DMATEST_REG_ERRORS), 0);
	assert_int_equal(rd64(h, DMATEST_REG_FAULT_IOVA), 0);
	/* Requests stop at 4 KiB boundaries; all reads come first. */
	assert_int_equal(h->ndma, 4);
	assert_false(h->crossed_page);
	assert_true(h->dma[0].iova == IOVA(0x100) && h->dma[0].len == 0x1000 - 0x100 &&
		    !h->dma[0].write);
	assert_true(h->dma[1].iova == IOVA(0x1000) && h->dma[1].len == 0x334 &&
		    !h->dma[1].write);
	assert_true(h->dma[2].iova == IOVA(0x6003) && h->dma[2].len == 0x1000 - 3 &&
		    h->dma[2].write);
	assert_true(h->dma[3].iova == IOVA(0x7000) && h->dma[3].len == 0x237 &&
		    h->dma[3].write);
	assert_int_equal(h->nfault, 0);
	assert_int_equal(sim_dma_fault_count(h->dev), 0);
}

static void test_copy_overlap_and_max(void **state)
{
	Host *h = start(NULL);
	uint8_t *want;
	(void)state;

	/* Overlapping ranges copy like memmove (the source is read first). */
	fill_window(h);
	want = snapshot(h);
	memmove(want + 0x10, want, 0x3000);
	assert_int_equal(run(h, DMATEST_OP_COPY, IOVA(0), IOVA(0x10), 0x3000),
			 st(DMATEST_CAUSE_OK));
	expect_window(h, want);
	/* MAX_LEN bytes are accepted; one more is not. */
	want = snapshot(h);
	memmove(want + DMATEST_MAX_LEN + 0x1000, want + 0x800, DMATEST_MAX_LEN);
	h->ndma = 0;
	assert_int_equal(run(h, DMATEST_OP_COPY, IOVA(0x800), IOVA(DMATEST_MAX_LEN + 0x1000),
			     DMATEST_MAX_LEN), st(DMATEST_CAUSE_OK));
	expect_window(h, want);
	assert_int_equal(h->ndma, 257 + 256);
	assert_false(h->crossed_page);
	h->ndma = 0;
	assert_int_equal(run(h, DMATEST_OP_COPY, IOVA(0), IOVA(0x10000), DMATEST_MAX_LEN + 1),
			 st(DMATEST_CAUSE_BAD_LEN));
	assert_int_equal(h->ndma, 0);
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 2);
	assert_int_equal(rd32(h, DMATEST_REG_ERRORS), 1);
}

static void test_fill(void **state)
{
	Host *h = start(NULL);
	uint8_t *want;
	(void)state;

	fill_window(h);
	want = snapshot(h);
	for (unsigned i = 0; i < 0x1801; i++)
		want[0x2ffd + i] = (uint8_t)(0x44332211u >> (8 * (i % 4)));
	wr32(h, DMATEST_REG_PATTERN, 0x44332211);
	assert_int_equal(run(h, DMATEST_OP_FILL, 0xdead0000, IOVA(0x2ffd), 0x1801),
			 st(DMATEST_CAUSE_OK));
	expect_window(h, want);
	/* Fill never reads (SRC is ignored). */
	assert_int_equal(h->ndma, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_true(h->dma[i].write);
	assert_int_equal(h->dma[0].len, 3);
	assert_int_equal(h->dma[1].len, 0x1000);
	assert_int_equal(h->dma[2].len, 0x7fe);
	assert_int_equal(bar_rd(h, 0, DMATEST_REG_PATTERN, 4), 0x44332211);
}

static void test_copy_read_fault(void **state)
{
	Host *h = start(NULL);
	uint8_t *want;
	(void)state;

	fill_window(h);
	want = snapshot(h);
	/* Entirely outside the window. */
	assert_int_equal(run(h, DMATEST_OP_COPY, 0x1000, IOVA(0x100), 0x40),
			 st(DMATEST_CAUSE_READ_FAULT));
	assert_int_equal(rd64(h, DMATEST_REG_FAULT_IOVA), 0x1000);
	assert_int_equal(h->ndma, 1);
	assert_int_equal(h->nfault, 1);
	assert_true(h->fault[0].iova == 0x1000 && h->fault[0].len == 0x40 &&
		    !h->fault[0].write && h->fault[0].err == -EFAULT);
	/* Starting inside, running off the end: nothing is written at all. */
	assert_int_equal(run(h, DMATEST_OP_COPY, IOVA(WIN_SIZE - 0x1800), IOVA(0x100), 0x2000),
			 st(DMATEST_CAUSE_READ_FAULT));
	assert_int_equal(rd64(h, DMATEST_REG_FAULT_IOVA), IOVA(WIN_SIZE));
	assert_int_equal(h->ndma, 4);
	for (unsigned i = 0; i < h->ndma; i++)
		assert_false(h->dma[i].write);
	assert_int_equal(h->nfault, 2);
	assert_true(h->fault[1].iova == IOVA(WIN_SIZE) && h->fault[1].len == 0x800);
	expect_window(h, want);
	assert_int_equal(rd32(h, DMATEST_REG_ERRORS), 2);
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 0);
	assert_int_equal(sim_dma_fault_count(h->dev), 2);
	/* The core records a master abort for the failed read. */
	assert_true(cfgr(h, PCI_STATUS, 2) & PCI_STATUS_REC_MASTER_ABORT);
	/* A destination fault is a write fault. */
	assert_int_equal(run(h, DMATEST_OP_COPY, IOVA(0), WIN_BASE - 0x10, 0x20),
			 st(DMATEST_CAUSE_WRITE_FAULT));
	assert_int_equal(rd64(h, DMATEST_REG_FAULT_IOVA), WIN_BASE - 0x10);
	/* FAULT_IOVA is cleared by the next command. */
	assert_int_equal(run(h, DMATEST_OP_NOP, 0, 0, 0), st(DMATEST_CAUSE_OK));
	assert_int_equal(rd64(h, DMATEST_REG_FAULT_IOVA), 0);
}

static void test_fill_write_fault(void **state)
{
	Host *h = start(NULL);
	uint8_t *want;
	(void)state;

	fill_window(h);
	h->ro_start = 0x5000;
	h->ro_end = 0x6000;
	want = snapshot(h);
	/* Pages before the refused one are written; nothing from it on. */
	memset(want + 0x3800, 0x5a, 0x5000 - 0x3800);
	wr32(h, DMATEST_REG_PATTERN, 0x5a5a5a5a);
	assert_int_equal(run(h, DMATEST_OP_FILL, 0, IOVA(0x3800), 0x3000),
			 st(DMATEST_CAUSE_WRITE_FAULT));
	assert_int_equal(rd64(h, DMATEST_REG_FAULT_IOVA), IOVA(0x5000));
	expect_window(h, want);
	assert_int_equal(h->ndma, 3);
	assert_int_equal(h->nfault, 1);
	assert_true(h->fault[0].iova == IOVA(0x5000) && h->fault[0].len == 0x1000 &&
		    h->fault[0].write && h->fault[0].err == -EPERM);
	/* A write fault is not a master abort. */
	assert_false(cfgr(h, PCI_STATUS, 2) & PCI_STATUS_REC_MASTER_ABORT);
}

static void test_buffer_dma(void **state)
{
	Host *h = start(NULL);
	uint8_t *want;
	(void)state;

	fill_window(h);
	/* READ: window -> buffer. */
	assert_int_equal(run(h, DMATEST_OP_READ, IOVA(0x10), 0, 0x1000),
			 st(DMATEST_CAUSE_OK));
	for (unsigned off = 0; off < 0x1000; off += 4) {
		uint32_t w = le32(h->mem + 0x10 + off);

		if (buf_read(h, off) != w)
			fail_msg("buffer 0x%x: 0x%08x, expected 0x%08x", off, buf_read(h, off), w);
	}
	assert_int_equal(h->ndma, 2);
	assert_false(h->dma[0].write);
	/* A failed READ leaves the buffer as it was. */
	buf_write(h, 0, 0x11111111);
	assert_int_equal(run(h, DMATEST_OP_READ, IOVA(WIN_SIZE - 8), 0, 16),
			 st(DMATEST_CAUSE_READ_FAULT));
	/* The first 8 bytes were read; the request at the page after failed. */
	assert_int_equal(rd64(h, DMATEST_REG_FAULT_IOVA), IOVA(WIN_SIZE));
	assert_int_equal(buf_read(h, 0), 0x11111111);
	/* WRITE: buffer -> window, exactly LEN bytes. */
	for (unsigned off = 0; off < 0x1000; off += 4)
		buf_write(h, off, 0xa0b0c0d0 ^ off);
	want = snapshot(h);
	for (unsigned i = 0; i < 0x7ff; i++)
		want[0x9001 + i] = (uint8_t)((0xa0b0c0d0 ^ (i & ~3u)) >> (8 * (i % 4)));
	h->ndma = 0;
	assert_int_equal(run(h, DMATEST_OP_WRITE, 0, IOVA(0x9001), 0x7ff),
			 st(DMATEST_CAUSE_OK));
	expect_window(h, want);
	assert_int_equal(h->ndma, 1);
	assert_true(h->dma[0].write);
	/* Buffer operations are limited to the buffer's size. */
	h->ndma = 0;
	assert_int_equal(run(h, DMATEST_OP_READ, IOVA(0), 0, 0x1001), st(DMATEST_CAUSE_BAD_LEN));
	assert_int_equal(run(h, DMATEST_OP_WRITE, 0, IOVA(0), 0x1001), st(DMATEST_CAUSE_BAD_LEN));
	assert_int_equal(h->ndma, 0);
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 2);
	assert_int_equal(rd32(h, DMATEST_REG_ERRORS), 3);
}

static void test_bus_master_off(void **state)
{
	static const unsigned ops[] = {
		DMATEST_OP_COPY, DMATEST_OP_FILL, DMATEST_OP_READ, DMATEST_OP_WRITE,
	};
	Host *h = start(NULL);
	uint8_t *want;
	(void)state;

	fill_window(h);
	want = snapshot(h);
	cfgw(h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	for (unsigned i = 0; i < 4; i++) {
		uint64_t first = ops[i] == DMATEST_OP_COPY || ops[i] == DMATEST_OP_READ ?
				 IOVA(0x100) : IOVA(0x2000);

		assert_int_equal(run(h, ops[i], IOVA(0x100), IOVA(0x2000), 0x100),
				 st(DMATEST_CAUSE_BUS_MASTER));
		assert_int_equal(rd64(h, DMATEST_REG_FAULT_IOVA), first);
	}
	/* The host was never asked, and no IOMMU fault was reported. */
	assert_int_equal(h->ndma, 0);
	assert_int_equal(h->nfault, 0);
	assert_int_equal(sim_dma_fault_count(h->dev), 0);
	assert_int_equal(rd32(h, DMATEST_REG_ERRORS), 4);
	expect_window(h, want);
	/* Bus master back on: the same copy works. */
	enable(h);
	assert_int_equal(run(h, DMATEST_OP_COPY, IOVA(0x100), IOVA(0x2000), 0x100),
			 st(DMATEST_CAUSE_OK));
	assert_memory_equal(h->mem + 0x2000, h->mem + 0x100, 0x100);
}

static void test_bad_len_and_cmd(void **state)
{
	Host *h = start(NULL);
	(void)state;

	/* Zero length, for every DMA operation. */
	for (unsigned op = DMATEST_OP_COPY; op <= DMATEST_OP_WRITE; op++)
		assert_int_equal(run(h, op, IOVA(0), IOVA(0x1000), 0), st(DMATEST_CAUSE_BAD_LEN));
	/* Ranges that would wrap past 2^64. */
	assert_int_equal(run(h, DMATEST_OP_COPY, UINT64_MAX - 0xe, IOVA(0), 0x10),
			 st(DMATEST_CAUSE_BAD_LEN));
	assert_int_equal(run(h, DMATEST_OP_FILL, 0, UINT64_MAX - 0xe, 0x10),
			 st(DMATEST_CAUSE_BAD_LEN));
	assert_int_equal(run(h, DMATEST_OP_WRITE, 0, UINT64_MAX - 0xe, 0x10),
			 st(DMATEST_CAUSE_BAD_LEN));
	assert_int_equal(run(h, DMATEST_OP_READ, UINT64_MAX - 0xe, 0, 0x10),
			 st(DMATEST_CAUSE_BAD_LEN));
	/* Ending exactly at 2^64 does not wrap: the host refuses it. */
	assert_int_equal(run(h, DMATEST_OP_READ, UINT64_MAX - 0xf, 0, 0x10),
			 st(DMATEST_CAUSE_READ_FAULT));
	assert_int_equal(rd64(h, DMATEST_REG_FAULT_IOVA), UINT64_MAX - 0xf);
	/* FILL ignores SRC, READ ignores DST. */
	assert_int_equal(run(h, DMATEST_OP_FILL, UINT64_MAX, IOVA(0), 0x10), st(DMATEST_CAUSE_OK));
	assert_int_equal(run(h, DMATEST_OP_READ, IOVA(0), UINT64_MAX, 0x10), st(DMATEST_CAUSE_OK));
	/* Unknown operations, whatever the length. */
	for (unsigned op = DMATEST_OP_WRITE + 1; op <= 0xf; op++)
		assert_int_equal(run(h, op, IOVA(0), IOVA(0x1000), op == 5 ? 0 : 0x10),
				 st(DMATEST_CAUSE_BAD_CMD));
	assert_int_equal(h->ndma, 3);	/* only the READ fault, FILL, READ */
	assert_int_equal(rd32(h, DMATEST_REG_ERRORS), 4 + 4 + 1 + 11);
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 2);
}

static void test_doorbell_reentry(void **state)
{
	Host *h = start(NULL);
	(void)state;

	h->probe = true;
	assert_int_equal(run(h, DMATEST_OP_COPY, IOVA(0), IOVA(0x1000), 0x10),
			 st(DMATEST_CAUSE_OK));
	assert_int_equal(h->probe_ret, 0);
	assert_int_equal(h->probe_status, DMATEST_STATUS_BUSY);
	/* The doorbell rung while busy was ignored. */
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 1);
	assert_int_equal(h->ndma, 2);
}

/* ---- interrupts ---------------------------------------------------------- */

static void test_intx(void **state)
{
	Host *h = start(NULL);
	(void)state;

	assert_int_equal(sim_irq_mode(h->dev), SIM_IRQ_INTX);
	/* Without the IRQ bit, nothing is latched or signalled. */
	assert_int_equal(run(h, DMATEST_OP_NOP, 0, 0, 0), st(DMATEST_CAUSE_OK));
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), 0);
	assert_int_equal(h->nintx, 0);
	/* Completion asserts INTA. */
	run(h, irq_cmd(DMATEST_OP_NOP, 0), 0, 0, 0);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), DMATEST_INTR_DONE);
	assert_int_equal(h->nintx, 1);
	assert_int_equal(h->intx_pin, 1);
	assert_true(h->intx_level);
	assert_true(sim_intx_asserted(h->dev));
	assert_true(cfgr(h, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Level: a second completion changes nothing on the wire. */
	run(h, irq_cmd(DMATEST_OP_NOP, 0), 0, 0, 0);
	assert_int_equal(h->nintx, 1);
	/* Writing 0 clears nothing; W1C of the cause deasserts. */
	wr32(h, DMATEST_REG_INTR_STATUS, 0);
	assert_true(sim_intx_asserted(h->dev));
	wr32(h, DMATEST_REG_INTR_STATUS, DMATEST_INTR_ERROR);
	assert_true(sim_intx_asserted(h->dev));
	wr32(h, DMATEST_REG_INTR_STATUS, DMATEST_INTR_DONE);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), 0);
	assert_int_equal(h->nintx, 2);
	assert_false(h->intx_level);
	assert_false(cfgr(h, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* An error completion latches ERROR. */
	run(h, irq_cmd(0xf, 0), 0, 0, 0);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), DMATEST_INTR_ERROR);
	assert_true(h->intx_level);
	wr32(h, DMATEST_REG_INTR_STATUS, 0xffffffff);
	assert_false(h->intx_level);
	assert_int_equal(h->nintx, 4);

	/* Interrupt Disable masks the line, not the request. */
	cfgw(h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
	     PCI_COMMAND_INTX_DISABLE);
	run(h, irq_cmd(DMATEST_OP_NOP, 0), 0, 0, 0);
	assert_int_equal(h->nintx, 4);
	assert_false(sim_intx_asserted(h->dev));
	assert_true(cfgr(h, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	enable(h);
	assert_int_equal(h->nintx, 5);
	assert_true(h->intx_level);
	cfgw(h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(h->nintx, 6);
	assert_false(h->intx_level);
	bar_wr(h, 0, DMATEST_REG_INTR_STATUS, 1, DMATEST_INTR_DONE);
	assert_false(cfgr(h, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	enable(h);
	assert_int_equal(h->nintx, 6);

	/* INTR_MASK: a masked cause latches but does not drive the line. */
	wr32(h, DMATEST_REG_INTR_MASK, DMATEST_INTR_ERROR);
	run(h, irq_cmd(DMATEST_OP_NOP, 0), 0, 0, 0);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), DMATEST_INTR_DONE);
	assert_int_equal(h->nintx, 6);
	run(h, irq_cmd(DMATEST_OP_COPY, 0), 0, 0, 0);	/* BAD_LEN */
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), DMATEST_INTR_ALL);
	assert_int_equal(h->nintx, 7);
	assert_true(h->intx_level);
	/* The line follows INTR_STATUS & INTR_MASK. */
	wr32(h, DMATEST_REG_INTR_MASK, 0);
	assert_false(h->intx_level);
	wr32(h, DMATEST_REG_INTR_MASK, DMATEST_INTR_DONE);
	assert_true(h->intx_level);
	wr32(h, DMATEST_REG_INTR_STATUS, DMATEST_INTR_DONE);
	assert_false(h->intx_level);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), DMATEST_INTR_ERROR);
	assert_int_equal(h->nintx, 10);
	assert_int_equal(h->nmsi, 0);
}

static void test_msi(void **state)
{
	Host *h = start(NULL);
	unsigned m = DMATEST_CAP_MSI;
	(void)state;

	cfgw(h, m + PCI_MSI_ADDRESS_LO, 4, 0xfee01004);
	cfgw(h, m + PCI_MSI_ADDRESS_HI, 4, 0x00000001);
	cfgw(h, m + PCI_MSI_DATA_64, 2, 0x4140);
	cfgw(h, m + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | (2 << 4));	/* 4 vectors */
	assert_int_equal(sim_irq_mode(h->dev), SIM_IRQ_MSI);
	assert_int_equal(sim_msi_nvec_enabled(h->dev), 4);

	run(h, irq_cmd(DMATEST_OP_NOP, 2), 0, 0, 0);
	assert_int_equal(h->nmsi, 1);
	assert_int_equal(h->msi_addr[0], 0x1fee01004ull);
	assert_int_equal(h->msi_data[0], 0x4142);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), DMATEST_INTR_DONE);
	/* No INTx while MSI is on, though a cause is latched. */
	assert_int_equal(h->nintx, 0);
	assert_false(cfgr(h, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Edge: another completion, another message. */
	run(h, irq_cmd(DMATEST_OP_COPY, 0), 0, 0, 0);	/* BAD_LEN, vector 0 */
	assert_int_equal(h->nmsi, 2);
	assert_int_equal(h->msi_data[1], 0x4140);

	/* Masked vector: pending, then delivered on unmask. */
	cfgw(h, m + PCI_MSI_MASK_64, 4, 0x2);
	run(h, irq_cmd(DMATEST_OP_NOP, 1), 0, 0, 0);
	assert_int_equal(h->nmsi, 2);
	assert_true(sim_msi_pending(h->dev, 1));
	assert_int_equal(cfgr(h, m + PCI_MSI_PENDING_64, 4), 0x2);
	cfgw(h, m + PCI_MSI_MASK_64, 4, 0);
	assert_int_equal(h->nmsi, 3);
	assert_int_equal(h->msi_data[2], 0x4141);
	assert_int_equal(cfgr(h, m + PCI_MSI_PENDING_64, 4), 0);
	/* A vector beyond the enabled ones is dropped. */
	run(h, irq_cmd(DMATEST_OP_NOP, 4), 0, 0, 0);
	assert_int_equal(h->nmsi, 3);
	/* INTR_MASK gates messages too. */
	wr32(h, DMATEST_REG_INTR_MASK, DMATEST_INTR_ERROR);
	run(h, irq_cmd(DMATEST_OP_NOP, 0), 0, 0, 0);
	assert_int_equal(h->nmsi, 3);
	wr32(h, DMATEST_REG_INTR_MASK, DMATEST_INTR_ALL);
	assert_int_equal(h->nmsi, 3);	/* no message for an old cause */

	/* MSI off with causes latched: INTx takes over, level-triggered. */
	cfgw(h, m + PCI_MSI_FLAGS, 2, 0);
	assert_int_equal(sim_irq_mode(h->dev), SIM_IRQ_INTX);
	assert_int_equal(h->nintx, 1);
	assert_true(h->intx_level);
	/* And back on: the line drops. */
	cfgw(h, m + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(h->nintx, 2);
	assert_false(h->intx_level);
	wr32(h, DMATEST_REG_INTR_STATUS, DMATEST_INTR_ALL);
	assert_int_equal(h->nintx, 2);
	assert_int_equal(h->nmsi, 3);
}

static void msix_program(Host *h, unsigned v, uint64_t addr, uint32_t data, uint32_t ctrl)
{
	bar_wr(h, 2, v * 16 + PCI_MSIX_ENTRY_LOWER_ADDR, 4, (uint32_t)addr);
	bar_wr(h, 2, v * 16 + PCI_MSIX_ENTRY_UPPER_ADDR, 4, (uint32_t)(addr >> 32));
	bar_wr(h, 2, v * 16 + PCI_MSIX_ENTRY_DATA, 4, data);
	bar_wr(h, 2, v * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, ctrl);
}

static void test_msix(void **state)
{
	Host *h = start(NULL);
	unsigned x = DMATEST_CAP_MSIX;
	uint64_t addr;
	uint32_t data, ctrl;
	(void)state;

	msix_program(h, 3, 0xfee00000, 0x33, 0);
	msix_program(h, 7, 0x2fee00000ull, 0x77, 0);
	assert_true(sim_msix_entry(h->dev, 3, &addr, &data, &ctrl));
	assert_true(addr == 0xfee00000 && data == 0x33 && ctrl == 0);
	/* MSI enabled too: MSI-X wins. */
	cfgw(h, DMATEST_CAP_MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	cfgw(h, x + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(sim_irq_mode(h->dev), SIM_IRQ_MSIX);

	run(h, irq_cmd(DMATEST_OP_NOP, 3), 0, 0, 0);
	assert_int_equal(h->nmsi, 1);
	assert_true(h->msi_addr[0] == 0xfee00000 && h->msi_data[0] == 0x33);
	run(h, irq_cmd(DMATEST_OP_NOP, 7), 0, 0, 0);
	assert_int_equal(h->nmsi, 2);
	assert_true(h->msi_addr[1] == 0x2fee00000ull && h->msi_data[1] == 0x77);
	/* Vector masked: the PBA bit, then delivery on unmask. */
	bar_wr(h, 2, 3 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	run(h, irq_cmd(DMATEST_OP_NOP, 3), 0, 0, 0);
	assert_int_equal(h->nmsi, 2);
	assert_int_equal(bar_rd(h, 2, DMATEST_MSIX_PBA, 8), 1u << 3);
	assert_true(sim_msix_pending(h->dev, 3));
	bar_wr(h, 2, 3 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	assert_int_equal(h->nmsi, 3);
	assert_true(h->msi_addr[2] == 0xfee00000 && h->msi_data[2] == 0x33);
	assert_int_equal(bar_rd(h, 2, DMATEST_MSIX_PBA, 8), 0);
	/* Function mask: pending until cleared. */
	cfgw(h, x + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	run(h, irq_cmd(DMATEST_OP_FILL, 7), 0, 0, 0);	/* BAD_LEN */
	assert_int_equal(h->nmsi, 3);
	assert_int_equal(bar_rd(h, 2, DMATEST_MSIX_PBA, 8), 1u << 7);
	cfgw(h, x + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(h->nmsi, 4);
	assert_int_equal(h->msi_data[3], 0x77);
	/* Vector 8 does not exist. */
	run(h, irq_cmd(DMATEST_OP_NOP, 8), 0, 0, 0);
	assert_int_equal(h->nmsi, 4);
	assert_int_equal(bar_rd(h, 2, DMATEST_MSIX_PBA, 8), 0);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), DMATEST_INTR_ALL);
	/* Never INTx while messages are on; MSI-X off, MSI still on: none. */
	assert_int_equal(h->nintx, 0);
	cfgw(h, x + PCI_MSIX_FLAGS, 2, 0);
	assert_int_equal(h->nintx, 0);
	cfgw(h, DMATEST_CAP_MSI + PCI_MSI_FLAGS, 2, 0);
	assert_int_equal(h->nintx, 1);
	assert_true(h->intx_level);
}

static void test_pba_offset(void **state)
{
	Host *h = start("pba_offset=0x8000");
	(void)state;

	/* Reported beyond the 16 KiB BAR, really at 0x1000. */
	assert_int_equal(cfgr(h, DMATEST_CAP_MSIX + PCI_MSIX_PBA, 4), 0x8002);
	assert_int_equal(sim_bar_read(h->dev, 2, 0x8000, 8, &(uint64_t){0}), -EINVAL);
	cfgw(h, DMATEST_CAP_MSIX + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	run(h, irq_cmd(DMATEST_OP_NOP, 5), 0, 0, 0);	/* vector 5 is masked */
	assert_int_equal(h->nmsi, 0);
	assert_int_equal(bar_rd(h, 2, 0x1000, 8), 1u << 5);
	teardown(NULL);

	/* Inside the BAR: the PBA really moves there. */
	h = start("pba_offset=0x800,msix_vectors=100");
	assert_int_equal(cfgr(h, DMATEST_CAP_MSIX + PCI_MSIX_PBA, 4), 0x802);
	assert_int_equal(cfgr(h, DMATEST_CAP_MSIX + PCI_MSIX_FLAGS, 2), 99);
	assert_int_equal(bar_rd(h, 2, 0x1000, 8), UINT64_MAX);
	cfgw(h, DMATEST_CAP_MSIX + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	run(h, irq_cmd(DMATEST_OP_NOP, 70), 0, 0, 0);
	assert_int_equal(bar_rd(h, 2, 0x800, 8), 0);
	assert_int_equal(bar_rd(h, 2, 0x808, 8), 1u << 6);
	assert_int_equal(bar_rd(h, 2, 0x810, 8), UINT64_MAX);
	teardown(NULL);

	/* 0x1ff8 + 8 fits exactly; 0x3ff8 + 16 for 65 vectors does not. */
	h = start("pba_offset=0x1ff8");
	assert_int_equal(cfgr(h, DMATEST_CAP_MSIX + PCI_MSIX_PBA, 4), 0x1ffa);
	assert_int_equal(bar_rd(h, 2, 0x1ff8, 8), 0);
	teardown(NULL);
	h = start("pba_offset=0x3ff8,msix_vectors=65");
	assert_int_equal(cfgr(h, DMATEST_CAP_MSIX + PCI_MSIX_PBA, 4), 0x3ffa);
	assert_int_equal(bar_rd(h, 2, 0x1000, 8), 0);
	assert_int_equal(bar_rd(h, 2, 0x3ff8, 8), 0);	/* RAM */
}

static void test_variants(void **state)
{
	Host *h;
	(void)state;

	/* No MSI-X: PM -> MSI -> PCIe. */
	h = start("msix_vectors=0");
	assert_int_equal(sim_cap_find(h->dev, PCI_CAP_ID_MSIX), 0);
	assert_int_equal(cfgr(h, 0x70 + PCI_CAP_LIST_NEXT, 1), 0);
	assert_int_equal(cfgr(h, 0x50 + PCI_CAP_LIST_NEXT, 1), 0x70);
	assert_int_equal(bar_rd(h, 2, 0, 8), UINT64_MAX);
	assert_int_equal(bar_rd(h, 2, 0x2000, 8), 0);
	teardown(NULL);
	/* No MSI: PM -> PCIe -> MSI-X. */
	h = start("msi_vectors=0,msix_vectors=256");
	assert_int_equal(sim_cap_find(h->dev, PCI_CAP_ID_MSI), 0);
	assert_int_equal(cfgr(h, 0x40 + PCI_CAP_LIST_NEXT, 1), 0x70);
	assert_int_equal(cfgr(h, 0xb0 + PCI_MSIX_FLAGS, 2), 255);
	assert_int_equal(bar_rd(h, 2, 0xff0 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4), 1);
	teardown(NULL);
	/* 32 and 1 MSI vectors. */
	h = start("msi_vectors=32");
	assert_int_equal(cfgr(h, 0x50 + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK, 5 << 1);
	teardown(NULL);
	h = start("msi_vectors=1");
	assert_int_equal(cfgr(h, 0x50 + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK, 0);
	teardown(NULL);
	/* No FLR in DevCap. */
	h = start("flr=off");
	assert_int_equal(cfgr(h, 0x70 + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR, 0);
	teardown(NULL);
	/* No interrupt pin. */
	h = start("intx=off");
	assert_int_equal(cfgr(h, PCI_INTERRUPT_PIN, 1), 0);
	cfgw(h, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(cfgr(h, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	assert_int_equal(sim_irq_mode(h->dev), SIM_IRQ_NONE);
	run(h, irq_cmd(DMATEST_OP_NOP, 0), 0, 0, 0);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), DMATEST_INTR_DONE);
	assert_int_equal(h->nintx, 0);
	assert_false(cfgr(h, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	wr32(h, DMATEST_REG_INTR_STATUS, DMATEST_INTR_DONE);
	assert_int_equal(h->nintx, 0);
	/* ... but MSI still works. */
	cfgw(h, DMATEST_CAP_MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	run(h, irq_cmd(DMATEST_OP_NOP, 0), 0, 0, 0);
	assert_int_equal(h->nmsi, 1);
}

/* ---- resets -------------------------------------------------------------- */

/* Dirty every kind of state a reset must restore. */
static void dirty(Host *h)
{
	fill_window(h);
	assert_int_equal(run(h, DMATEST_OP_READ, IOVA(0), 0, 0x100), st(DMATEST_CAUSE_OK));
	wr32(h, DMATEST_REG_SCRATCH, 0x5555aaaa);
	wr32(h, DMATEST_REG_PATTERN, 0x12345678);
	wr32(h, DMATEST_REG_INTR_MASK, DMATEST_INTR_ERROR);
	wr32(h, DMATEST_REG_BUF_ADDR, 0x40);
	run(h, irq_cmd(DMATEST_OP_COPY, 1), 0, 0, 0);	/* error: latched */
	bar_wr(h, 2, 0x2000, 8, 0x1122334455667788ull);
	msix_program(h, 0, 0xfee00000, 0x10, 0);
	cfgw(h, DMATEST_CAP_MSI + PCI_MSI_ADDRESS_LO, 4, 0xfee00000);
	assert_true(h->intx_level);
	assert_int_equal(buf_read(h, 0x40), le32(h->mem + 0x40));
}

/* Everything is back at its power-on value (memory decode re-enabled). */
static void expect_pristine(Host *h)
{
	assert_int_equal(cfgr(h, PCI_COMMAND, 2), 0);
	assert_int_equal(cfgr(h, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(cfgr(h, DMATEST_CAP_MSI + PCI_MSI_ADDRESS_LO, 4), 0);
	assert_false(h->intx_level);
	enable(h);
	assert_int_equal(rd32(h, DMATEST_REG_SCRATCH), 0);
	assert_int_equal(rd32(h, DMATEST_REG_PATTERN), 0);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_MASK), DMATEST_INTR_ALL);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), 0);
	assert_int_equal(rd32(h, DMATEST_REG_STATUS), 0);
	assert_int_equal(rd32(h, DMATEST_REG_COMPLETIONS), 0);
	assert_int_equal(rd32(h, DMATEST_REG_ERRORS), 0);
	assert_int_equal(rd32(h, DMATEST_REG_BUF_ADDR), 0);
	for (unsigned off = 0; off < DMATEST_BUF_SIZE; off += 4)
		if (buf_read(h, off))
			fail_msg("buffer 0x%x not cleared by reset", off);
	assert_int_equal(bar_rd(h, 2, 0x2000, 8), 0);
	assert_int_equal(bar_rd(h, 2, 0, 8), 0);
	assert_int_equal(bar_rd(h, 2, PCI_MSIX_ENTRY_VECTOR_CTRL, 4), 1);
}

static void test_flr(void **state)
{
	Host *h = start(NULL);
	unsigned ctl = DMATEST_CAP_EXP + PCI_EXP_DEVCTL;
	(void)state;

	dirty(h);
	cfgw(h, ctl, 2, cfgr(h, ctl, 2) | PCI_EXP_DEVCTL_BCR_FLR);
	assert_int_equal(sim_device_reset_count(h->dev, SIM_RESET_FLR), 1);
	assert_int_equal(cfgr(h, ctl, 2), 0x2810);	/* FLR bit reads 0 */
	expect_pristine(h);
	teardown(NULL);

	/* Without DevCap.FLR, the bit does nothing. */
	h = start("flr=off");
	dirty(h);
	cfgw(h, ctl, 2, cfgr(h, ctl, 2) | PCI_EXP_DEVCTL_BCR_FLR);
	assert_int_equal(sim_device_reset_count(h->dev, SIM_RESET_FLR), 0);
	assert_int_equal(rd32(h, DMATEST_REG_SCRATCH), 0x5555aaaa);
	assert_true(h->intx_level);
}

static void test_pm_reset(void **state)
{
	Host *h = start(NULL);
	unsigned csr = DMATEST_CAP_PM + PCI_PM_CTRL;
	(void)state;

	dirty(h);
	cfgw(h, csr, 2, PM_D3HOT);
	assert_int_equal(cfgr(h, csr, 2) & PCI_PM_CTRL_STATE_MASK, PM_D3HOT);
	assert_int_equal(sim_bar_read(h->dev, 0, 0, 4, &(uint64_t){0}), -EIO);
	/* Unsupported D1 is ignored. */
	cfgw(h, csr, 2, PM_D1);
	assert_int_equal(cfgr(h, csr, 2) & PCI_PM_CTRL_STATE_MASK, PM_D3HOT);
	cfgw(h, csr, 2, PM_D0);
	assert_int_equal(sim_device_reset_count(h->dev, SIM_RESET_PM), 1);
	assert_int_equal(cfgr(h, csr, 2), 0);
	expect_pristine(h);
	teardown(NULL);

	/* No_Soft_Reset: D3hot -> D0 keeps everything. */
	h = start("nosoftrst=on");
	assert_int_equal(cfgr(h, csr, 2), PCI_PM_CTRL_NO_SOFT_RESET);
	dirty(h);
	cfgw(h, csr, 2, PM_D3HOT);
	cfgw(h, csr, 2, PM_D0);
	assert_int_equal(sim_device_reset_count(h->dev, SIM_RESET_PM), 0);
	assert_int_equal(cfgr(h, csr, 2), PCI_PM_CTRL_NO_SOFT_RESET);
	assert_int_equal(rd32(h, DMATEST_REG_SCRATCH), 0x5555aaaa);
	assert_int_equal(rd32(h, DMATEST_REG_INTR_STATUS), DMATEST_INTR_ERROR);
	assert_int_equal(buf_read(h, 0), le32(h->mem));
	assert_int_equal(bar_rd(h, 2, 0x2000, 8), 0x1122334455667788ull);
	assert_true(h->intx_level);
}

static void test_hot_reset(void **state)
{
	Host *h = start(NULL);
	(void)state;

	dirty(h);
	sim_device_reset(h->dev, SIM_RESET_HOT);
	assert_int_equal(sim_device_reset_count(h->dev, SIM_RESET_HOT), 1);
	expect_pristine(h);
	/* The engine works again after the reset. */
	fill_window(h);
	assert_int_equal(run(h, DMATEST_OP_COPY, IOVA(0), IOVA(0x1000), 0x20),
			 st(DMATEST_CAUSE_OK));
	assert_memory_equal(h->mem + 0x1000, h->mem, 0x20);
}

/* ---- parameters ---------------------------------------------------------- */

static void test_params(void **state)
{
	static const struct { const char *params, *msg; } bad[] = {
		{ "msix_vectors=257", "msix_vectors=257" },
		{ "msix_vectors=abc", "msix_vectors=abc" },
		{ "msix_vectors=-1", "msix_vectors=-1" },
		{ "msi_vectors=3", "msi_vectors=3" },
		{ "msi_vectors=64", "msi_vectors=64" },
		{ "pba_offset=0x1004", "not 8-byte aligned" },
		{ "pba_offset=0x100000000", "pba_offset=0x100000000" },
		{ "pba_offset=0x1000,msix_vectors=0", "msix_vectors=0" },
		{ "pba_offset=0x0", "overlaps" },		/* the table */
		{ "pba_offset=0x2000", "overlaps" },		/* the RAM */
		{ "pba_offset=0x40", "overlaps" },
		{ "flr=maybe", "flr=maybe" },
		{ "nosoftrst=2", "nosoftrst=2" },
		{ "intx=", "intx=" },
		{ "foo=1", "no parameter 'foo'" },
		{ "msix_vectors", "not key=value" },
	};
	(void)state;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		Error *err = NULL;
		SimDevice *dev = create(bad[i].params, &err);

		if (dev) {
			sim_device_free(dev);
			fail_msg("'%s' was accepted", bad[i].params);
		}
		assert_non_null(err);
		if (!strstr(error_get_pretty(err), bad[i].msg))
			fail_msg("'%s': error '%s' does not mention '%s'", bad[i].params,
				 error_get_pretty(err), bad[i].msg);
		error_free(err);
	}
	/* Every documented parameter at once is fine; empty is too. */
	for (unsigned i = 0; i < 2; i++) {
		Error *err = NULL;
		SimDevice *dev = create(i ? "" : "msi_vectors=8,msix_vectors=16,pba_offset=0x1000,"
					"flr=on,nosoftrst=off,intx=on", &err);

		assert_non_null(dev);
		assert_true(sim_device_realized(dev));
		sim_device_free(dev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_teardown(fn, teardown)
		T(test_registry),
		T(test_identity),
		T(test_capabilities),
		T(test_reset_values),
		T(test_register_access),
		T(test_doorbell),
		T(test_buffer_window),
		T(test_io_bar),
		T(test_bar2_layout),
		T(test_rom),
		T(test_bar_sizing),
		T(test_copy),
		T(test_copy_overlap_and_max),
		T(test_fill),
		T(test_copy_read_fault),
		T(test_fill_write_fault),
		T(test_buffer_dma),
		T(test_bus_master_off),
		T(test_bad_len_and_cmd),
		T(test_doorbell_reentry),
		T(test_intx),
		T(test_msi),
		T(test_msix),
		T(test_pba_offset),
		T(test_variants),
		T(test_flr),
		T(test_pm_reset),
		T(test_hot_reset),
		T(test_params),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

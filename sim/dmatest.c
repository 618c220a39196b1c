/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim/dmatest.c: "dma-test", a small PCI Express endpoint made for tests.
 *
 * A DMA engine programmed through BAR0 (copy, fill, read into and write
 * from an on-device buffer between IOVAs), a status register that names
 * the cause of a failure and the IOVA that was refused, and a completion
 * interrupt through MSI-X, MSI or INTx, whichever is enabled.  BAR1 is a
 * small I/O BAR, BAR2 (64-bit) holds the MSI-X table, the PBA and a RAM
 * window, and there is a 2 KiB expansion ROM.  Vendor 0x1b36 (QEMU's test
 * devices) so that no vendor quirk of a passthrough core applies.
 *
 * Commands run synchronously inside the doorbell write.  The register map
 * is in sim/dmatest.h; docs/models/dma-test.md is the full description.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "common/trace.h"
#include "dmatest.h"
#include "models.h"

/* Register indexes in the BAR0 block, in the order of regs[] below. */
enum {
	R_ID, R_VERSION, R_SCRATCH, R_MAX_LEN, R_SRC, R_DST, R_LEN, R_PATTERN,
	R_CMD, R_DOORBELL, R_STATUS, R_COMPLETIONS, R_FAULT_IOVA,
	R_INTR_STATUS, R_INTR_MASK, R_BUF_ADDR, R_BUF_DATA, R_ERRORS,
	R_COUNT
};

static const SimReg regs[R_COUNT] = {
	[R_ID]          = { "ID", DMATEST_REG_ID, 4, DMATEST_MAGIC, 0, 0 },
	[R_VERSION]     = { "VERSION", DMATEST_REG_VERSION, 4, DMATEST_VERSION, 0, 0 },
	[R_SCRATCH]     = { "SCRATCH", DMATEST_REG_SCRATCH, 4, 0, 0xffffffffu, 0 },
	[R_MAX_LEN]     = { "MAX_LEN", DMATEST_REG_MAX_LEN, 4, DMATEST_MAX_LEN, 0, 0 },
	[R_SRC]         = { "SRC", DMATEST_REG_SRC, 8, 0, UINT64_MAX, 0 },
	[R_DST]         = { "DST", DMATEST_REG_DST, 8, 0, UINT64_MAX, 0 },
	[R_LEN]         = { "LEN", DMATEST_REG_LEN, 4, 0, 0xffffffffu, 0 },
	[R_PATTERN]     = { "PATTERN", DMATEST_REG_PATTERN, 4, 0, 0xffffffffu, 0 },
	[R_CMD]         = { "CMD", DMATEST_REG_CMD, 4, 0, DMATEST_CMD_MASK, 0 },
	[R_DOORBELL]    = { "DOORBELL", DMATEST_REG_DOORBELL, 4, 0, 0, 0 },
	[R_STATUS]      = { "STATUS", DMATEST_REG_STATUS, 4, 0, 0, 0 },
	[R_COMPLETIONS] = { "COMPLETIONS", DMATEST_REG_COMPLETIONS, 4, 0, 0, 0 },
	[R_FAULT_IOVA]  = { "FAULT_IOVA", DMATEST_REG_FAULT_IOVA, 8, 0, 0, 0 },
	[R_INTR_STATUS] = { "INTR_STATUS", DMATEST_REG_INTR_STATUS, 4, 0, 0,
			    DMATEST_INTR_ALL },
	[R_INTR_MASK]   = { "INTR_MASK", DMATEST_REG_INTR_MASK, 4, DMATEST_INTR_ALL,
			    DMATEST_INTR_ALL, 0 },
	[R_BUF_ADDR]    = { "BUF_ADDR", DMATEST_REG_BUF_ADDR, 4, 0, DMATEST_BUF_ADDR_MASK, 0 },
	[R_BUF_DATA]    = { "BUF_DATA", DMATEST_REG_BUF_DATA, 4, 0, 0xffffffffu, 0 },
	[R_ERRORS]      = { "ERRORS", DMATEST_REG_ERRORS, 4, 0, 0, 0 },
};

/* BAR1 (I/O): mirrors of ID and SCRATCH. */
enum { IO_ID, IO_SCRATCH, IO_COUNT };

static const SimReg io_regs[IO_COUNT] = {
	[IO_ID]      = { "IO_ID", DMATEST_IO_ID, 4, DMATEST_MAGIC, 0, 0 },
	[IO_SCRATCH] = { "IO_SCRATCH", DMATEST_IO_SCRATCH, 4, 0, 0xffffffffu, 0 },
};

typedef struct DmaTest {
	SimDevice *dev;
	SimRegBlock *regs;
	bool has_pin;
	bool busy;			/* a command is running */
	uint8_t buf[DMATEST_BUF_SIZE];	/* the on-device buffer */
	uint8_t *stage;			/* DMATEST_MAX_LEN bytes of staging */
} DmaTest;

static uint32_t reg(DmaTest *s, unsigned idx)
{
	return (uint32_t)sim_regs_get(s->regs, idx);
}

/* ---- interrupts --------------------------------------------------------- */

/*
 * The INTx level: a cause latched in INTR_STATUS and allowed by INTR_MASK,
 * while neither MSI nor MSI-X is enabled (a function using messages does
 * not signal INTx).  Interrupt Disable is applied by the core.
 */
static void intx_update(DmaTest *s)
{
	bool level;

	if (!s->has_pin)
		return;
	level = (reg(s, R_INTR_STATUS) & reg(s, R_INTR_MASK)) &&
		!sim_msi_enabled(s->dev) && !sim_msix_enabled(s->dev);
	sim_intx_set(s->dev, level);
}

/* MSI or MSI-X enable changed: INTx may start or stop being the mode. */
static void irq_ctrl_write(SimDevice *dev, void *opaque, unsigned off,
			   unsigned len, uint32_t val)
{
	(void)dev; (void)off; (void)len; (void)val;
	intx_update(opaque);
}

static void signal_completion(DmaTest *s, uint32_t cmd, unsigned cause)
{
	uint32_t bit = cause == DMATEST_CAUSE_OK ? DMATEST_INTR_DONE : DMATEST_INTR_ERROR;

	if (!(cmd & DMATEST_CMD_IRQ))
		return;
	sim_regs_set(s->regs, R_INTR_STATUS, reg(s, R_INTR_STATUS) | bit);
	if (reg(s, R_INTR_MASK) & bit)
		sim_irq_raise(s->dev, (cmd & DMATEST_CMD_VECTOR_MASK) >> DMATEST_CMD_VECTOR_SHIFT);
	intx_update(s);
}

/* ---- the DMA engine ----------------------------------------------------- */

/*
 * Move len bytes between IOVA and buf in requests that never cross a
 * 4 KiB boundary of the IOVA space.  On a refused request, record its
 * IOVA and return the cause; earlier requests have taken effect.
 */
static unsigned dma_run(DmaTest *s, uint64_t iova, uint8_t *buf, uint32_t len,
			bool write)
{
	while (len) {
		uint32_t chunk = DMATEST_PAGE_SIZE - (uint32_t)(iova & (DMATEST_PAGE_SIZE - 1));
		int ret;

		if (chunk > len)
			chunk = len;
		ret = write ? sim_dma_write(s->dev, iova, buf, chunk) :
			      sim_dma_read(s->dev, iova, buf, chunk);
		if (ret < 0) {
			sim_regs_set(s->regs, R_FAULT_IOVA, iova);
			/* Bus Master off: the core refused without asking the host. */
			if (!(sim_cfg_get(s->dev, PCI_COMMAND, 2) & PCI_COMMAND_MASTER))
				return DMATEST_CAUSE_BUS_MASTER;
			return write ? DMATEST_CAUSE_WRITE_FAULT : DMATEST_CAUSE_READ_FAULT;
		}
		iova += chunk;
		buf += chunk;
		len -= chunk;
	}
	return DMATEST_CAUSE_OK;
}

static bool range_wraps(uint64_t iova, uint32_t len)
{
	return len - 1 > UINT64_MAX - iova;
}

static unsigned execute(DmaTest *s, uint32_t cmd)
{
	unsigned op = cmd & DMATEST_CMD_OP_MASK;
	uint64_t src = sim_regs_get(s->regs, R_SRC), dst = sim_regs_get(s->regs, R_DST);
	uint32_t len = reg(s, R_LEN), pattern = reg(s, R_PATTERN);
	uint32_t max = op == DMATEST_OP_READ || op == DMATEST_OP_WRITE ?
		       DMATEST_BUF_SIZE : DMATEST_MAX_LEN;
	bool reads = op == DMATEST_OP_COPY || op == DMATEST_OP_READ;
	bool writes = op != DMATEST_OP_READ;
	unsigned cause;

	if (op > DMATEST_OP_WRITE)
		return DMATEST_CAUSE_BAD_CMD;
	if (op == DMATEST_OP_NOP)
		return DMATEST_CAUSE_OK;
	if (!len || len > max || (reads && range_wraps(src, len)) ||
	    (writes && range_wraps(dst, len)))
		return DMATEST_CAUSE_BAD_LEN;

	switch (op) {
	case DMATEST_OP_COPY:
		/* Read all of the source first: a read fault writes nothing. */
		cause = dma_run(s, src, s->stage, len, false);
		if (cause == DMATEST_CAUSE_OK)
			cause = dma_run(s, dst, s->stage, len, true);
		return cause;
	case DMATEST_OP_FILL:
		for (uint32_t i = 0; i < len; i++)
			s->stage[i] = (uint8_t)(pattern >> (8 * (i % 4)));
		return dma_run(s, dst, s->stage, len, true);
	case DMATEST_OP_READ:
		/* The buffer changes only when the whole read succeeded. */
		cause = dma_run(s, src, s->stage, len, false);
		if (cause == DMATEST_CAUSE_OK)
			memcpy(s->buf, s->stage, len);
		return cause;
	default: /* DMATEST_OP_WRITE */
		return dma_run(s, dst, s->buf, len, true);
	}
}

static void doorbell(DmaTest *s)
{
	uint32_t cmd = reg(s, R_CMD), status;
	unsigned cause;

	if (s->busy)
		return;	/* rung again from a host callback: ignored */
	s->busy = true;
	sim_regs_set(s->regs, R_STATUS, DMATEST_STATUS_BUSY);
	sim_regs_set(s->regs, R_FAULT_IOVA, 0);
	cause = execute(s, cmd);
	status = DMATEST_STATUS_DONE | ((uint32_t)cause << DMATEST_STATUS_CAUSE_SHIFT);
	if (cause != DMATEST_CAUSE_OK) {
		status |= DMATEST_STATUS_ERROR;
		sim_regs_set(s->regs, R_ERRORS, (uint32_t)(reg(s, R_ERRORS) + 1));
	} else {
		sim_regs_set(s->regs, R_COMPLETIONS, (uint32_t)(reg(s, R_COMPLETIONS) + 1));
	}
	sim_regs_set(s->regs, R_STATUS, status);
	s->busy = false;
	trace_sim_dmatest_cmd(sim_device_name(s->dev), cmd & DMATEST_CMD_OP_MASK,
			      sim_regs_get(s->regs, R_SRC), sim_regs_get(s->regs, R_DST),
			      reg(s, R_LEN), cause);
	signal_completion(s, cmd, cause);
}

/* ---- register hooks ----------------------------------------------------- */

static uint32_t buf_get(const DmaTest *s, uint32_t off)
{
	return (uint32_t)s->buf[off] | (uint32_t)s->buf[off + 1] << 8 |
	       (uint32_t)s->buf[off + 2] << 16 | (uint32_t)s->buf[off + 3] << 24;
}

static uint64_t regs_read(SimDevice *dev, SimRegBlock *blk, unsigned idx,
			  uint64_t stored)
{
	DmaTest *s = sim_regs_opaque(blk);
	(void)dev;

	if (idx == R_BUF_DATA)
		return buf_get(s, reg(s, R_BUF_ADDR));
	return stored;
}

static void regs_write(SimDevice *dev, SimRegBlock *blk, unsigned idx,
		       uint64_t old, uint64_t val, uint64_t bytemask)
{
	DmaTest *s = sim_regs_opaque(blk);
	(void)dev; (void)old;

	switch (idx) {
	case R_DOORBELL:
		if (val & bytemask & DMATEST_DOORBELL_GO)
			doorbell(s);
		break;
	case R_BUF_DATA: {
		uint32_t off = reg(s, R_BUF_ADDR);

		for (unsigned i = 0; i < 4; i++)
			if (bytemask & (0xffull << (8 * i)))
				s->buf[off + i] = (uint8_t)(val >> (8 * i));
		break;
	}
	case R_INTR_STATUS:
	case R_INTR_MASK:
		intx_update(s);
		break;
	default:
		break;
	}
}

static uint64_t io_read(SimDevice *dev, SimRegBlock *blk, unsigned idx,
			uint64_t stored)
{
	DmaTest *s = sim_regs_opaque(blk);
	(void)dev;

	return idx == IO_SCRATCH ? sim_regs_get(s->regs, R_SCRATCH) : stored;
}

static void io_write(SimDevice *dev, SimRegBlock *blk, unsigned idx,
		     uint64_t old, uint64_t val, uint64_t bytemask)
{
	DmaTest *s = sim_regs_opaque(blk);
	uint64_t cur;
	(void)dev; (void)old;

	if (idx != IO_SCRATCH)
		return;
	cur = sim_regs_get(s->regs, R_SCRATCH);
	sim_regs_set(s->regs, R_SCRATCH, (cur & ~bytemask) | (val & bytemask));
}

/* ---- model ops ---------------------------------------------------------- */

/* The core restored config, registers, RAM and MSI-X; the buffer is ours. */
static void dmatest_reset(SimDevice *dev, SimResetKind kind)
{
	DmaTest *s = sim_device_model_state(dev);
	(void)kind;

	memset(s->buf, 0, sizeof(s->buf));
	s->busy = false;
}

static void dmatest_free(void *state)
{
	DmaTest *s = state;

	if (!s)
		return;
	free(s->stage);
	free(s);
}

static const SimModelOps dmatest_ops = {
	.reset = dmatest_reset,
	.free = dmatest_free,
};

/* ---- construction ------------------------------------------------------- */

typedef struct DmaTestParams {
	uint64_t msi_vectors, msix_vectors, pba_offset;
	bool pba_relocated, flr, nosoftrst, intx;
} DmaTestParams;

static bool parse_params(SimParams *p, DmaTestParams *c, Error **errp)
{
	bool pba_given = sim_params_get(p, "pba_offset") != NULL;
	uint64_t pba_size;

	if (!sim_params_get_u64(p, "msi_vectors", 4, 0, 32, &c->msi_vectors, errp) ||
	    !sim_params_get_u64(p, "msix_vectors", 8, 0,
				DMATEST_MSIX_PBA / PCI_MSIX_ENTRY_SIZE,
				&c->msix_vectors, errp))
		return false;
	if (!sim_params_get_u64(p, "pba_offset", DMATEST_MSIX_PBA, 0,
				PCI_MSIX_PBA_OFFSET, &c->pba_offset, errp) ||
	    !sim_params_get_bool(p, "flr", true, &c->flr, errp) ||
	    !sim_params_get_bool(p, "nosoftrst", false, &c->nosoftrst, errp) ||
	    !sim_params_get_bool(p, "intx", true, &c->intx, errp))
		return false;
	if (c->msi_vectors & (c->msi_vectors - 1)) {
		error_setg(errp, "parameter msi_vectors=%llu: not 0 or a power of two up to 32",
			   (unsigned long long)c->msi_vectors);
		return false;
	}
	if (c->pba_offset & 7) {
		error_setg(errp, "parameter pba_offset=0x%llx: not 8-byte aligned",
			   (unsigned long long)c->pba_offset);
		return false;
	}
	if (pba_given && !c->msix_vectors) {
		error_setg(errp, "parameter pba_offset: no MSI-X with msix_vectors=0");
		return false;
	}
	/* A PBA reported beyond BAR2 really stays at the default offset. */
	pba_size = (c->msix_vectors + 63) / 64 * 8;
	c->pba_relocated = c->pba_offset + pba_size > DMATEST_BAR_MSIX_SIZE;
	return true;
}

/* A well-formed legacy option ROM image that does nothing: see the doc. */
static void build_rom(uint8_t *rom)
{
	static const char str[] = DMATEST_ROM_STRING;
	uint8_t sum = 0;

	memset(rom, 0, DMATEST_ROM_SIZE);
	rom[0x00] = 0x55;
	rom[0x01] = 0xaa;
	rom[0x02] = DMATEST_ROM_SIZE / 512;	/* size in 512-byte units */
	rom[0x03] = 0xcb;			/* init entry: far return */
	rom[0x18] = 0x20;			/* PCI Data Structure at 0x20 */
	memcpy(rom + 0x20, "PCIR", 4);
	rom[0x24] = DMATEST_VENDOR_ID & 0xff;
	rom[0x25] = DMATEST_VENDOR_ID >> 8;
	rom[0x26] = DMATEST_DEVICE_ID & 0xff;
	rom[0x27] = DMATEST_DEVICE_ID >> 8;
	rom[0x2a] = 0x18;			/* structure length */
	rom[0x2c] = 3;				/* structure revision (PCI 3.0) */
	rom[0x2d] = DMATEST_CLASS & 0xff;
	rom[0x2e] = (DMATEST_CLASS >> 8) & 0xff;
	rom[0x2f] = (DMATEST_CLASS >> 16) & 0xff;
	rom[0x30] = DMATEST_ROM_SIZE / 512;	/* image length */
	rom[0x32] = 1;				/* code revision */
	rom[0x34] = 0;				/* code type: x86 BIOS */
	rom[0x35] = 0x80;			/* last image */
	memcpy(rom + DMATEST_ROM_STRING_OFF, str, sizeof(str));
	for (unsigned i = 0; i < DMATEST_ROM_SIZE - 1; i++)
		sum = (uint8_t)(sum + rom[i]);
	rom[DMATEST_ROM_SIZE - 1] = (uint8_t)-sum;	/* bytes sum to 0 */
}

static bool build_caps(SimDevice *dev, DmaTest *s, const DmaTestParams *c,
		       Error **errp)
{
	SimPcieConfig pcie = {
		.flags = 2 | (PCI_EXP_TYPE_ENDPOINT << 4),
		.devcap = 1 /* Max_Payload_Size 256 */ | PCI_EXP_DEVCAP_RBER |
			  (c->flr ? PCI_EXP_DEVCAP_FLR : 0),
		.devctl = PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN |
			  PCI_EXP_DEVCTL_READRQ_512B,
		.lnkcap = PCI_EXP_LNKCAP_SLS_5_0GB | (1 << 4) /* x1 */,
		.lnksta = PCI_EXP_LNKSTA_CLS_5_0GB | PCI_EXP_LNKSTA_NLW_X1,
		.devcap2 = PCI_EXP_DEVCAP2_COMP_TMOUT_DIS,
		.lnkcap2 = PCI_EXP_LNKCAP2_SLS_2_5GB | PCI_EXP_LNKCAP2_SLS_5_0GB,
		.lnkctl2 = PCI_EXP_LNKCTL2_TLS_5_0GT,
	};

	if (!sim_cap_add_pm(dev, DMATEST_CAP_PM, 3 /* PM 1.2 */, c->nosoftrst, errp))
		return false;
	if (c->msi_vectors) {
		if (!sim_cap_add_msi(dev, DMATEST_CAP_MSI, (unsigned)c->msi_vectors,
				     true, true, errp) ||
		    !sim_cfg_add_hook(dev, DMATEST_CAP_MSI + PCI_MSI_FLAGS, 2, NULL,
				      irq_ctrl_write, s, errp))
			return false;
	}
	if (!sim_cap_add_pcie(dev, DMATEST_CAP_EXP, &pcie, errp))
		return false;
	if (c->msix_vectors) {
		SimMsixConfig msix = {
			.nvec = (unsigned)c->msix_vectors,
			.table_bar = DMATEST_BAR_MSIX,
			.table_offset = DMATEST_MSIX_TABLE,
			.pba_bar = DMATEST_BAR_MSIX,
			.pba_offset = c->pba_relocated ? DMATEST_MSIX_PBA : (uint32_t)c->pba_offset,
			.pba_offset_reported = (uint32_t)c->pba_offset,
		};

		if (!sim_cap_add_msix(dev, DMATEST_CAP_MSIX, &msix, errp) ||
		    !sim_cfg_add_hook(dev, DMATEST_CAP_MSIX + PCI_MSIX_FLAGS, 2, NULL,
				      irq_ctrl_write, s, errp))
			return false;
	}
	return sim_ecap_add_aer(dev, DMATEST_ECAP_AER, errp);
}

static SimDevice *dmatest_create(const char *name, SimParams *p, Error **errp)
{
	static const SimIds ids = {
		.vendor = DMATEST_VENDOR_ID,
		.device = DMATEST_DEVICE_ID,
		.subsystem_vendor = DMATEST_SUBSYS_VENDOR,
		.subsystem_device = DMATEST_SUBSYS_ID,
		.class_code = DMATEST_CLASS,
		.revision = DMATEST_REVISION,
	};
	uint8_t rom[DMATEST_ROM_SIZE];
	DmaTestParams c;
	SimDevice *dev;
	DmaTest *s;

	if (!parse_params(p, &c, errp)) {
		error_prepend(errp, "dma-test: ");
		return NULL;
	}
	dev = sim_device_new(name, SIM_CFG_SIZE_PCIE);
	s = calloc(1, sizeof(*s));
	if (s)
		s->stage = malloc(DMATEST_MAX_LEN);
	if (!dev || !s || !s->stage) {
		dmatest_free(s);
		sim_device_free(dev);
		error_setg(errp, "out of memory");
		return NULL;
	}
	s->dev = dev;
	s->has_pin = c.intx;
	sim_device_set_model(dev, &dmatest_ops, s);
	sim_device_set_ids(dev, &ids);
	sim_cfg_set(dev, PCI_INTERRUPT_PIN, 1, c.intx ? 1 : 0);
	build_rom(rom);

	if (!sim_bar_add(dev, DMATEST_BAR_REGS, SIM_BAR_MEM32, false,
			 DMATEST_BAR_REGS_SIZE, errp) ||
	    !sim_bar_add(dev, DMATEST_BAR_IO, SIM_BAR_IO, false,
			 DMATEST_BAR_IO_SIZE, errp) ||
	    !sim_bar_add(dev, DMATEST_BAR_MSIX, SIM_BAR_MEM64, true,
			 DMATEST_BAR_MSIX_SIZE, errp) ||
	    !sim_rom_add(dev, DMATEST_ROM_SIZE, rom, sizeof(rom), errp))
		goto fail;
	s->regs = sim_bar_add_regs(dev, DMATEST_BAR_REGS, 0, regs, R_COUNT,
				   regs_read, regs_write, s, errp);
	if (!s->regs ||
	    !sim_bar_add_regs(dev, DMATEST_BAR_IO, 0, io_regs, IO_COUNT,
			      io_read, io_write, s, errp) ||
	    !sim_bar_add_ram(dev, DMATEST_BAR_MSIX, DMATEST_RAM, DMATEST_RAM_SIZE,
			     0, errp) ||
	    !build_caps(dev, s, &c, errp))
		goto fail;
	return dev;
fail:
	sim_device_free(dev);
	return NULL;
}

const SimModel sim_model_dma_test = {
	.name = "dma-test",
	.summary = "DMA engine test device (1b36:11f0): copy/fill/read/write "
		   "between IOVAs, MSI-X/MSI/INTx completion, PM, FLR, AER",
	.params_help =
		"msi_vectors=N     MSI vectors: 0 (no MSI), 1, 2, 4 (default), 8, 16, 32\n"
		"msix_vectors=N    MSI-X vectors: 0 (no MSI-X) .. 256 (default 8)\n"
		"pba_offset=OFF    MSI-X PBA offset in BAR2 (default 0x1000); an offset\n"
		"                  beyond the 16 KiB BAR is only reported, the PBA stays at 0x1000\n"
		"flr=on|off        FLR capable in DevCap (default on)\n"
		"nosoftrst=on|off  PM No_Soft_Reset: D3hot->D0 keeps state (default off)\n"
		"intx=on|off       interrupt pin INTA (default on); off: no pin\n",
	.create = dmatest_create,
};

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/hostpci.c: the host PCI core's actions on a simulated function
 * (drivers/pci/pci.c, rom.c, setup-res.c of Linux 6.1, read for behaviour).
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "hostpci.h"

enum {
	PCIE_SAVE_REGS = 7,	/* DevCtl LnkCtl SltCtl RtCtl DevCtl2 LnkCtl2 SltCtl2 */
	AER_SAVE_REGS = 4,	/* UNCOR_MASK UNCOR_SEVER COR_MASK CAP */
};

struct FvPciSavedState {
	uint32_t config[16];
	bool has_pcie;
	uint16_t pcie[PCIE_SAVE_REGS];
	bool has_aer;
	uint32_t aer[AER_SAVE_REGS];
	/* What the host's MSI/MSI-X descriptors hold (restore_msi_state). */
	bool msi_enabled;
	uint16_t msi_flags;
	uint32_t msi_addr_lo, msi_addr_hi, msi_mask;
	uint16_t msi_data;
	bool msix_enabled;
	uint16_t msix_flags;
	unsigned msix_nvec;
	uint32_t *msix;		/* addr lo, addr hi, data, ctrl per vector */
};

struct FvHostPci {
	SimDevice *sim;
	unsigned cfg_size;
	unsigned pcie_cap, pm_cap, af_cap, msi_cap, msix_cap, aer_cap;
	bool virtfn;
	bool bus_reset;
	bool needs_pm_restore;	/* vdev->needs_pm_restore */
	unsigned current_state;
	unsigned enable_cnt;
	bool state_saved;
	FvPciSavedState saved;	/* pdev->saved_config_space and caps */
	FvPciSavedState *pm_save;	/* vdev->pm_save */
};

/* ---- config helpers (bus view; errors read as all-ones) ---------------- */

static uint32_t cfg_rd(FvHostPci *hp, unsigned off, unsigned len)
{
	uint32_t v;

	if (sim_cfg_read(hp->sim, off, len, &v))
		return len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
	return v;
}

static void cfg_wr(FvHostPci *hp, unsigned off, unsigned len, uint32_t val)
{
	(void)sim_cfg_write(hp->sim, off, len, val);
}

static unsigned pcie_type(FvHostPci *hp)
{
	return (cfg_rd(hp, hp->pcie_cap + PCI_EXP_FLAGS, 2) & PCI_EXP_FLAGS_TYPE) >> 4;
}

static unsigned pcie_version(FvHostPci *hp)
{
	return cfg_rd(hp, hp->pcie_cap + PCI_EXP_FLAGS, 2) & PCI_EXP_FLAGS_VERS;
}

/* pcie_capability_reg_implemented() */
static bool pcie_reg_implemented(FvHostPci *hp, unsigned reg)
{
	unsigned type = pcie_type(hp);	/* only called with a PCIe cap */

	switch (reg) {
	case PCI_EXP_DEVCTL:
		return true;
	case PCI_EXP_LNKCTL:
		return type == PCI_EXP_TYPE_ENDPOINT || type == PCI_EXP_TYPE_LEG_END ||
		       type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_UPSTREAM ||
		       type == PCI_EXP_TYPE_DOWNSTREAM || type == PCI_EXP_TYPE_PCI_BRIDGE ||
		       type == PCI_EXP_TYPE_PCIE_BRIDGE;
	case PCI_EXP_SLTCTL:
		return type == PCI_EXP_TYPE_ROOT_PORT ||
		       (type == PCI_EXP_TYPE_DOWNSTREAM &&
			(cfg_rd(hp, hp->pcie_cap + PCI_EXP_FLAGS, 2) & PCI_EXP_FLAGS_SLOT));
	case PCI_EXP_RTCTL:
		return type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_RC_EC;
	default:	/* the "2" registers */
		return pcie_version(hp) > 1;
	}
}

static const unsigned pcie_save_reg[PCIE_SAVE_REGS] = {
	PCI_EXP_DEVCTL, PCI_EXP_LNKCTL, PCI_EXP_SLTCTL, PCI_EXP_RTCTL,
	PCI_EXP_DEVCTL2, PCI_EXP_LNKCTL2, PCI_EXP_SLTCTL2,
};

static const unsigned aer_save_reg[AER_SAVE_REGS] = {
	PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER, PCI_ERR_COR_MASK, PCI_ERR_CAP,
};

/* ---- lifecycle ---------------------------------------------------------- */

static unsigned find_cfg_size(FvHostPci *hp)
{
	unsigned sim_size = sim_device_cfg_size(hp->sim);
	uint32_t v;

	if (sim_size < SIM_CFG_SIZE_PCIE)
		return SIM_CFG_SIZE_PCI;
	if (hp->virtfn)
		return SIM_CFG_SIZE_PCIE;	/* VFs always have it */
	if (!hp->pcie_cap) {
		unsigned pcix = sim_cap_find(hp->sim, PCI_CAP_ID_PCIX);

		if (!pcix || !(cfg_rd(hp, pcix + PCI_X_STATUS, 4) &
			       (PCI_X_STATUS_266MHZ | PCI_X_STATUS_533MHZ)))
			return SIM_CFG_SIZE_PCI;
	}
	/* pci_cfg_space_size_ext: 0x100 must answer. */
	if (sim_cfg_read(hp->sim, SIM_CFG_SIZE_PCI, 4, &v) || v == 0xffffffffu)
		return SIM_CFG_SIZE_PCI;
	return SIM_CFG_SIZE_PCIE;
}

FvHostPci *fv_hostpci_new(SimDevice *sim, Error **errp)
{
	FvHostPci *hp;

	if (!sim) {
		error_setg(errp, "hostpci: no device");
		return NULL;
	}
	hp = calloc(1, sizeof(*hp));
	if (!hp) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	hp->sim = sim;
	sim_device_lock(sim);
	hp->virtfn = sim_device_is_vf(sim);
	hp->pcie_cap = sim_cap_find(sim, PCI_CAP_ID_EXP);
	hp->pm_cap = sim_cap_find(sim, PCI_CAP_ID_PM);
	hp->af_cap = sim_cap_find(sim, PCI_CAP_ID_AF);
	hp->msi_cap = sim_cap_find(sim, PCI_CAP_ID_MSI);
	hp->msix_cap = sim_cap_find(sim, PCI_CAP_ID_MSIX);
	hp->cfg_size = find_cfg_size(hp);
	if (hp->pcie_cap && hp->cfg_size > SIM_CFG_SIZE_PCI)
		hp->aer_cap = sim_ecap_find(sim, PCI_EXT_CAP_ID_ERR);
	hp->current_state = FV_PCI_D0;
	if (hp->pm_cap) {
		uint16_t csr = (uint16_t)cfg_rd(hp, hp->pm_cap + PCI_PM_CTRL, 2);

		hp->current_state = csr & PCI_PM_CTRL_STATE_MASK;
		hp->needs_pm_restore = !(csr & PCI_PM_CTRL_NO_SOFT_RESET);
	}
	sim_device_unlock(sim);
	return hp;
}

void fv_hostpci_free_saved_state(FvPciSavedState *st)
{
	if (!st)
		return;
	free(st->msix);
	free(st);
}

void fv_hostpci_free(FvHostPci *hp)
{
	if (!hp)
		return;
	free(hp->saved.msix);
	fv_hostpci_free_saved_state(hp->pm_save);
	free(hp);
}

SimDevice *fv_hostpci_sim(const FvHostPci *hp)
{
	return hp->sim;
}

unsigned fv_hostpci_cfg_size(const FvHostPci *hp)
{
	return hp->cfg_size;
}

unsigned fv_hostpci_pcie_cap(const FvHostPci *hp)
{
	return hp->pcie_cap;
}

bool fv_hostpci_is_virtfn(const FvHostPci *hp)
{
	return hp->virtfn;
}

bool fv_hostpci_no_command_memory(const FvHostPci *hp)
{
	return hp->virtfn;
}

void fv_hostpci_set_bus_reset(FvHostPci *hp, bool possible)
{
	hp->bus_reset = possible;
}

bool fv_hostpci_resource(const FvHostPci *hp, unsigned idx, FvPciResource *res)
{
	SimBarInfo bi;

	memset(res, 0, sizeof(*res));
	if (idx > SIM_ROM_SLOT || !sim_bar_info(hp->sim, idx, &bi) || !bi.addr)
		return false;
	res->start = bi.addr;
	res->len = bi.size;
	res->io = bi.type == SIM_BAR_IO;
	res->prefetch = bi.prefetch;
	res->mem64 = bi.type == SIM_BAR_MEM64 && idx != SIM_ROM_SLOT;
	return true;
}

/* ---- enable / disable --------------------------------------------------- */

static int set_power_state(FvHostPci *hp, unsigned state);

int fv_hostpci_enable(FvHostPci *hp)
{
	uint16_t cmd, old;

	sim_device_lock(hp->sim);
	if (hp->pm_cap)
		hp->current_state = cfg_rd(hp, hp->pm_cap + PCI_PM_CTRL, 2) &
				    PCI_PM_CTRL_STATE_MASK;
	if (hp->enable_cnt++) {
		sim_device_unlock(hp->sim);
		return 0;
	}
	/* do_pci_enable_device: D0 first (cannot fail for D0 here). */
	(void)set_power_state(hp, FV_PCI_D0);
	/* pci_enable_resources: BARs only, the ROM is not enabled. */
	cmd = old = (uint16_t)cfg_rd(hp, PCI_COMMAND, 2);
	for (unsigned i = 0; i < SIM_NUM_BARS; i++) {
		FvPciResource r;

		if (!fv_hostpci_resource(hp, i, &r))
			continue;
		cmd |= r.io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	}
	if (cmd != old)
		cfg_wr(hp, PCI_COMMAND, 2, cmd);
	/* do_pci_enable_device: INTx usable unless MSI/MSI-X is on. */
	if (!(hp->msi_cap && (cfg_rd(hp, hp->msi_cap + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE)) &&
	    !(hp->msix_cap && (cfg_rd(hp, hp->msix_cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE)) &&
	    cfg_rd(hp, PCI_INTERRUPT_PIN, 1)) {
		cmd = (uint16_t)cfg_rd(hp, PCI_COMMAND, 2);
		if (cmd & PCI_COMMAND_INTX_DISABLE)
			cfg_wr(hp, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_INTX_DISABLE);
	}
	sim_device_unlock(hp->sim);
	return 0;
}

void fv_hostpci_disable(FvHostPci *hp)
{
	uint16_t cmd;

	sim_device_lock(hp->sim);
	if (!hp->enable_cnt || --hp->enable_cnt) {
		sim_device_unlock(hp->sim);
		return;
	}
	cmd = (uint16_t)cfg_rd(hp, PCI_COMMAND, 2);
	if (cmd & PCI_COMMAND_MASTER)
		cfg_wr(hp, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
	sim_device_unlock(hp->sim);
}

/* ---- save / restore ------------------------------------------------------ */

static void save_state(FvHostPci *hp, FvPciSavedState *st)
{
	uint32_t *old = st->msix;

	memset(st, 0, sizeof(*st));
	free(old);
	for (unsigned i = 0; i < 16; i++)
		st->config[i] = cfg_rd(hp, 4 * i, 4);
	if (hp->pcie_cap) {
		st->has_pcie = true;
		for (unsigned i = 0; i < PCIE_SAVE_REGS; i++)
			st->pcie[i] = pcie_reg_implemented(hp, pcie_save_reg[i]) ?
				      (uint16_t)cfg_rd(hp, hp->pcie_cap + pcie_save_reg[i], 2) : 0;
	}
	if (hp->aer_cap) {
		st->has_aer = true;
		for (unsigned i = 0; i < AER_SAVE_REGS; i++)
			st->aer[i] = cfg_rd(hp, hp->aer_cap + aer_save_reg[i], 4);
	}
	if (hp->msi_cap) {
		unsigned m = hp->msi_cap;
		uint16_t fl = (uint16_t)cfg_rd(hp, m + PCI_MSI_FLAGS, 2);
		bool is64 = fl & PCI_MSI_FLAGS_64BIT;

		if (fl & PCI_MSI_FLAGS_ENABLE) {
			st->msi_enabled = true;
			st->msi_flags = fl;
			st->msi_addr_lo = cfg_rd(hp, m + PCI_MSI_ADDRESS_LO, 4);
			st->msi_addr_hi = is64 ? cfg_rd(hp, m + PCI_MSI_ADDRESS_HI, 4) : 0;
			st->msi_data = (uint16_t)cfg_rd(hp, m + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2);
			if (fl & PCI_MSI_FLAGS_MASKBIT)
				st->msi_mask = cfg_rd(hp, m + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32), 4);
		}
	}
	if (hp->msix_cap) {
		uint16_t fl = (uint16_t)cfg_rd(hp, hp->msix_cap + PCI_MSIX_FLAGS, 2);
		unsigned n = sim_msix_nvec(hp->sim);

		if ((fl & PCI_MSIX_FLAGS_ENABLE) && n) {
			st->msix = calloc(n, 4 * sizeof(uint32_t));
			if (st->msix) {
				st->msix_enabled = true;
				st->msix_flags = fl;
				st->msix_nvec = n;
				for (unsigned v = 0; v < n; v++) {
					uint64_t a;
					uint32_t *e = st->msix + 4 * v;

					sim_msix_entry(hp->sim, v, &a, &e[2], &e[3]);
					e[0] = (uint32_t)a;
					e[1] = (uint32_t)(a >> 32);
				}
			}
		}
	}
}

void fv_hostpci_save_state(FvHostPci *hp)
{
	sim_device_lock(hp->sim);
	save_state(hp, &hp->saved);
	hp->state_saved = true;
	sim_device_unlock(hp->sim);
}

/* pci_restore_config_dword */
static void restore_dword(FvHostPci *hp, unsigned idx, int retry)
{
	uint32_t want = hp->saved.config[idx];

	if (cfg_rd(hp, 4 * idx, 4) == want)
		return;
	for (;;) {
		cfg_wr(hp, 4 * idx, 4, want);
		if (retry-- <= 0)
			return;
		if (cfg_rd(hp, 4 * idx, 4) == want)
			return;
	}
}

static void restore_msi(FvHostPci *hp)
{
	const FvPciSavedState *st = &hp->saved;

	if (st->msi_enabled && hp->msi_cap) {
		unsigned m = hp->msi_cap;
		bool is64 = st->msi_flags & PCI_MSI_FLAGS_64BIT;
		uint16_t fl = (uint16_t)cfg_rd(hp, m + PCI_MSI_FLAGS, 2);

		cfg_wr(hp, m + PCI_MSI_FLAGS, 2, fl & ~PCI_MSI_FLAGS_ENABLE);
		cfg_wr(hp, m + PCI_MSI_ADDRESS_LO, 4, st->msi_addr_lo);
		if (is64)
			cfg_wr(hp, m + PCI_MSI_ADDRESS_HI, 4, st->msi_addr_hi);
		cfg_wr(hp, m + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, st->msi_data);
		if (st->msi_flags & PCI_MSI_FLAGS_MASKBIT)
			cfg_wr(hp, m + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32), 4, st->msi_mask);
		fl = (uint16_t)cfg_rd(hp, m + PCI_MSI_FLAGS, 2);
		fl = (uint16_t)((fl & ~PCI_MSI_FLAGS_QSIZE) |
				(st->msi_flags & PCI_MSI_FLAGS_QSIZE) | PCI_MSI_FLAGS_ENABLE);
		cfg_wr(hp, m + PCI_MSI_FLAGS, 2, fl);
	}
	if (st->msix_enabled && hp->msix_cap) {
		unsigned c = hp->msix_cap + PCI_MSIX_FLAGS;
		uint32_t tbl = cfg_rd(hp, hp->msix_cap + PCI_MSIX_TABLE, 4);
		unsigned bir = tbl & PCI_MSIX_TABLE_BIR;
		uint64_t base = tbl & PCI_MSIX_TABLE_OFFSET;
		uint16_t fl = (uint16_t)cfg_rd(hp, c, 2);

		cfg_wr(hp, c, 2, fl | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
		for (unsigned v = 0; v < st->msix_nvec; v++) {
			const uint32_t *e = st->msix + 4 * v;
			uint64_t o = base + (uint64_t)v * PCI_MSIX_ENTRY_SIZE;

			for (unsigned r = 0; r < 4; r++)
				(void)sim_bar_write(hp->sim, bir, o + 4 * r, 4, e[r]);
		}
		fl = (uint16_t)cfg_rd(hp, c, 2);
		cfg_wr(hp, c, 2, fl & ~PCI_MSIX_FLAGS_MASKALL);
	}
}

static void restore_state(FvHostPci *hp)
{
	const FvPciSavedState *st = &hp->saved;

	if (!hp->state_saved)
		return;
	if (st->has_pcie && hp->pcie_cap) {
		for (unsigned i = 0; i < PCIE_SAVE_REGS; i++)
			if (pcie_reg_implemented(hp, pcie_save_reg[i]))
				cfg_wr(hp, hp->pcie_cap + pcie_save_reg[i], 2, st->pcie[i]);
	}
	if (hp->aer_cap) {
		/* pci_aer_clear_status, then pci_restore_aer_state */
		cfg_wr(hp, hp->aer_cap + PCI_ERR_COR_STATUS, 4,
		       cfg_rd(hp, hp->aer_cap + PCI_ERR_COR_STATUS, 4));
		cfg_wr(hp, hp->aer_cap + PCI_ERR_UNCOR_STATUS, 4,
		       cfg_rd(hp, hp->aer_cap + PCI_ERR_UNCOR_STATUS, 4));
		if (st->has_aer)
			for (unsigned i = 0; i < AER_SAVE_REGS; i++)
				cfg_wr(hp, hp->aer_cap + aer_save_reg[i], 4, st->aer[i]);
	}
	/* pci_restore_config_space: 15..10, BARs 9..4 (retried), 3..0. */
	for (int i = 15; i >= 10; i--)
		restore_dword(hp, (unsigned)i, 0);
	for (int i = 9; i >= 4; i--)
		restore_dword(hp, (unsigned)i, 10);
	for (int i = 3; i >= 0; i--)
		restore_dword(hp, (unsigned)i, 0);
	restore_msi(hp);
	hp->state_saved = false;
}

void fv_hostpci_restore_state(FvHostPci *hp)
{
	sim_device_lock(hp->sim);
	restore_state(hp);
	sim_device_unlock(hp->sim);
}

static FvPciSavedState *copy_state(const FvPciSavedState *src)
{
	FvPciSavedState *st = malloc(sizeof(*st));

	if (!st)
		return NULL;
	*st = *src;
	st->msix = NULL;
	if (src->msix_enabled) {
		st->msix = malloc((size_t)src->msix_nvec * 4 * sizeof(uint32_t));
		if (!st->msix) {
			free(st);
			return NULL;
		}
		memcpy(st->msix, src->msix, (size_t)src->msix_nvec * 4 * sizeof(uint32_t));
	}
	return st;
}

FvPciSavedState *fv_hostpci_store_saved_state(FvHostPci *hp)
{
	FvPciSavedState *st = NULL;

	sim_device_lock(hp->sim);
	if (hp->state_saved)
		st = copy_state(&hp->saved);
	sim_device_unlock(hp->sim);
	return st;
}

bool fv_hostpci_load_saved_state(FvHostPci *hp, FvPciSavedState *st)
{
	if (!st)
		return false;
	sim_device_lock(hp->sim);
	free(hp->saved.msix);
	hp->saved = *st;
	hp->state_saved = true;
	sim_device_unlock(hp->sim);
	free(st);	/* the MSI-X array now belongs to hp->saved */
	return true;
}

/* ---- power --------------------------------------------------------------- */

/* pci_restore_bars: the BAR registers from the resources (not for VFs). */
static void restore_bars(FvHostPci *hp)
{
	if (hp->virtfn)
		return;
	for (unsigned i = 0; i < SIM_NUM_BARS; i++) {
		FvPciResource r;
		unsigned reg = PCI_BASE_ADDRESS_0 + 4 * i;

		if (!fv_hostpci_resource(hp, i, &r))
			continue;
		cfg_wr(hp, reg, 4, (uint32_t)r.start);
		if (r.mem64)
			cfg_wr(hp, reg + 4, 4, (uint32_t)(r.start >> 32));
	}
}

/* pci_set_power_state for D0..D3hot. */
static int set_power_state(FvHostPci *hp, unsigned state)
{
	uint16_t pmc, csr;
	unsigned cur;

	if (state > FV_PCI_D3HOT)
		return -EINVAL;
	if (hp->current_state == state)
		return 0;
	if (state == FV_PCI_D0) {
		bool need_restore;

		/* pci_power_up (without a PM cap the device is always in D0) */
		csr = (uint16_t)cfg_rd(hp, hp->pm_cap + PCI_PM_CTRL, 2);
		cur = csr & PCI_PM_CTRL_STATE_MASK;
		need_restore = (cur == FV_PCI_D3HOT || hp->current_state >= FV_PCI_D3HOT) &&
			       !(csr & PCI_PM_CTRL_NO_SOFT_RESET);
		if (cur != FV_PCI_D0)
			cfg_wr(hp, hp->pm_cap + PCI_PM_CTRL, 2, 0);
		hp->current_state = cfg_rd(hp, hp->pm_cap + PCI_PM_CTRL, 2) &
				    PCI_PM_CTRL_STATE_MASK;
		if (hp->current_state == FV_PCI_D0 && need_restore)
			restore_bars(hp);
		return 0;
	}
	/* pci_set_low_power_state */
	if (!hp->pm_cap)
		return -EIO;
	if (hp->current_state > state)
		return -EINVAL;	/* only deeper from a low-power state */
	pmc = (uint16_t)cfg_rd(hp, hp->pm_cap + PCI_PM_PMC, 2);
	if ((state == FV_PCI_D1 && !(pmc & PCI_PM_CAP_D1)) ||
	    (state == FV_PCI_D2 && !(pmc & PCI_PM_CAP_D2)))
		return -EIO;
	csr = (uint16_t)cfg_rd(hp, hp->pm_cap + PCI_PM_CTRL, 2);
	csr = (uint16_t)((csr & ~PCI_PM_CTRL_STATE_MASK) | state);
	cfg_wr(hp, hp->pm_cap + PCI_PM_CTRL, 2, csr);
	hp->current_state = cfg_rd(hp, hp->pm_cap + PCI_PM_CTRL, 2) &
			    PCI_PM_CTRL_STATE_MASK;
	return 0;
}

int fv_hostpci_set_power(FvHostPci *hp, unsigned state)
{
	bool needs_save = false, needs_restore = false;
	int ret;

	sim_device_lock(hp->sim);
	if (hp->needs_pm_restore) {
		if (hp->current_state < FV_PCI_D3HOT && state >= FV_PCI_D3HOT) {
			save_state(hp, &hp->saved);
			hp->state_saved = true;
			needs_save = true;
		}
		if (hp->current_state >= FV_PCI_D3HOT && state <= FV_PCI_D0)
			needs_restore = true;
	}
	ret = set_power_state(hp, state);
	if (!ret) {
		if (needs_save && hp->current_state >= FV_PCI_D3HOT) {
			fv_hostpci_free_saved_state(hp->pm_save);
			hp->pm_save = copy_state(&hp->saved);
		} else if (needs_restore) {
			/* pci_load_and_free_saved_state + pci_restore_state */
			if (hp->pm_save) {
				free(hp->saved.msix);
				hp->saved = *hp->pm_save;
				free(hp->pm_save);
				hp->pm_save = NULL;
				hp->state_saved = true;
			} else {
				hp->state_saved = false;
			}
			restore_state(hp);
		}
	}
	sim_device_unlock(hp->sim);
	return ret;
}

unsigned fv_hostpci_power_state(const FvHostPci *hp)
{
	return hp->current_state;
}

/* ---- reset ----------------------------------------------------------------- */

static bool flr_capable(FvHostPci *hp)
{
	return hp->pcie_cap &&
	       (cfg_rd(hp, hp->pcie_cap + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR);
}

static bool af_flr_capable(FvHostPci *hp)
{
	uint8_t cap;

	if (!hp->af_cap)
		return false;
	cap = (uint8_t)cfg_rd(hp, hp->af_cap + PCI_AF_CAP, 1);
	return (cap & PCI_AF_CAP_TP) && (cap & PCI_AF_CAP_FLR);
}

static bool pm_reset_capable(FvHostPci *hp)
{
	return hp->pm_cap &&
	       !(cfg_rd(hp, hp->pm_cap + PCI_PM_CTRL, 2) & PCI_PM_CTRL_NO_SOFT_RESET);
}

FvResetMethod fv_hostpci_reset_method(const FvHostPci *hp)
{
	FvHostPci *h = (FvHostPci *)hp;
	FvResetMethod m = FV_RESET_NONE;

	sim_device_lock(h->sim);
	if (flr_capable(h))
		m = FV_RESET_FLR;
	else if (af_flr_capable(h))
		m = FV_RESET_AF_FLR;
	else if (pm_reset_capable(h))
		m = FV_RESET_PM;
	else if (h->bus_reset)
		m = FV_RESET_BUS;
	sim_device_unlock(h->sim);
	return m;
}

const char *fv_hostpci_reset_method_name(FvResetMethod m)
{
	switch (m) {
	case FV_RESET_NONE: return "none";
	case FV_RESET_FLR: return "flr";
	case FV_RESET_AF_FLR: return "af_flr";
	case FV_RESET_PM: return "pm";
	case FV_RESET_BUS: return "bus";
	}
	return "?";
}

bool fv_hostpci_reset_works(const FvHostPci *hp)
{
	return fv_hostpci_reset_method(hp) != FV_RESET_NONE;
}

/* __pci_reset_function_locked: the first method not answering -ENOTTY. */
static int reset_locked(FvHostPci *hp)
{
	if (flr_capable(hp)) {
		unsigned ctl = hp->pcie_cap + PCI_EXP_DEVCTL;

		cfg_wr(hp, ctl, 2, cfg_rd(hp, ctl, 2) | PCI_EXP_DEVCTL_BCR_FLR);
		return 0;
	}
	if (af_flr_capable(hp)) {
		cfg_wr(hp, hp->af_cap + PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR);
		return 0;
	}
	if (pm_reset_capable(hp)) {
		unsigned reg = hp->pm_cap + PCI_PM_CTRL;
		uint16_t csr;

		if (hp->current_state != FV_PCI_D0)
			return -EINVAL;
		csr = (uint16_t)cfg_rd(hp, reg, 2) & ~PCI_PM_CTRL_STATE_MASK;
		cfg_wr(hp, reg, 2, csr | FV_PCI_D3HOT);
		cfg_wr(hp, reg, 2, csr | FV_PCI_D0);
		return 0;
	}
	if (hp->bus_reset) {
		sim_device_reset(hp->sim, SIM_RESET_HOT);
		return 0;
	}
	return -ENOTTY;
}

int fv_hostpci_try_reset(FvHostPci *hp)
{
	int ret;

	if (fv_hostpci_reset_method(hp) == FV_RESET_NONE)
		return -ENOTTY;
	sim_device_lock(hp->sim);
	/* pci_dev_save_and_disable */
	(void)set_power_state(hp, FV_PCI_D0);
	save_state(hp, &hp->saved);
	hp->state_saved = true;
	cfg_wr(hp, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	ret = reset_locked(hp);
	/* pci_dev_restore */
	restore_state(hp);
	sim_device_unlock(hp->sim);
	return ret;
}

/* ---- ROM ------------------------------------------------------------------- */

static uint32_t rom_rd(FvHostPci *hp, uint64_t off, unsigned len)
{
	uint64_t v;

	if (sim_bar_read(hp->sim, SIM_ROM_SLOT, off, len, &v))
		return len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
	return (uint32_t)v;
}

/* pci_get_rom_size */
static uint64_t rom_image_size(FvHostPci *hp, uint64_t size)
{
	uint64_t image = 0;
	unsigned length;
	bool last;

	do {
		uint64_t pds;

		if (image + 0x1a > size || rom_rd(hp, image, 2) != 0xaa55)
			break;
		pds = image + rom_rd(hp, image + 24, 2);
		if (pds + 0x18 > size || rom_rd(hp, pds, 4) != 0x52494350)
			break;
		last = rom_rd(hp, pds + 21, 1) & 0x80;
		length = rom_rd(hp, pds + 16, 2);
		image += (uint64_t)length * 512;
		if (image >= size)
			break;
		if (!last && (image + 2 > size || rom_rd(hp, image, 2) != 0xaa55))
			break;
	} while (length && !last);
	return image < size ? image : size;
}

int fv_hostpci_map_rom(FvHostPci *hp, size_t *size)
{
	FvPciResource r;
	uint32_t bar;
	uint64_t sz;

	sim_device_lock(hp->sim);
	if (!fv_hostpci_resource(hp, SIM_ROM_SLOT, &r)) {
		sim_device_unlock(hp->sim);
		return -EINVAL;
	}
	/* pci_enable_rom */
	bar = cfg_rd(hp, PCI_ROM_ADDRESS, 4) & ~PCI_ROM_ADDRESS_MASK;
	bar |= ((uint32_t)r.start & PCI_ROM_ADDRESS_MASK) | PCI_ROM_ADDRESS_ENABLE;
	cfg_wr(hp, PCI_ROM_ADDRESS, 4, bar);
	sz = rom_image_size(hp, r.len);
	if (!sz) {
		fv_hostpci_unmap_rom(hp);
		sim_device_unlock(hp->sim);
		return -ENOMEM;
	}
	*size = (size_t)sz;
	sim_device_unlock(hp->sim);
	return 0;
}

void fv_hostpci_unmap_rom(FvHostPci *hp)
{
	sim_device_lock(hp->sim);
	cfg_wr(hp, PCI_ROM_ADDRESS, 4,
	       cfg_rd(hp, PCI_ROM_ADDRESS, 4) & ~PCI_ROM_ADDRESS_ENABLE);
	sim_device_unlock(hp->sim);
}

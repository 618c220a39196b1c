/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim/caps.c: the capability chain builder and the behaviour of the
 * standard and extended capabilities other than MSI/MSI-X (msi.c).
 *
 * Each capability has an "adopt" function that gives behaviour (masks and
 * hooks) to a capability already present in config space; the builders
 * write the registers and then adopt, so a captured profile and a built
 * model behave alike.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <string.h>

#include "common/trace.h"
#include "sim-internal.h"

/* The capability at off must fit, and be the only one of its kind. */
static bool adopt_check(SimDevice *dev, unsigned off, unsigned len, unsigned end,
			unsigned have, const char *what, Error **errp)
{
	if (off + len > end) {
		error_setg(errp, "%s: %s at 0x%x needs 0x%x bytes: it does not fit below 0x%x",
			   dev->name, what, off, len, end);
		return false;
	}
	if (have) {
		error_setg(errp, "%s: a second %s capability at 0x%x (the first is at 0x%x)",
			   dev->name, what, off, have);
		return false;
	}
	return true;
}

/* ---- chain --------------------------------------------------------------- */

bool sim_cap_add(SimDevice *dev, uint8_t id, unsigned off, unsigned len,
		 Error **errp)
{
	char what[48];

	snprintf(what, sizeof(what), "capability 0x%02x", id);
	if (dev->realized) {
		error_setg(errp, "%s: %s added after realize", dev->name, what);
		return false;
	}
	if (off < 0x40 || off > 0xfc || (off & 3) || len < 2 || off + len > 0x100) {
		error_setg(errp, "%s: %s at 0x%x (+0x%x): standard capabilities are dword aligned in 0x40..0xff",
			   dev->name, what, off, len);
		return false;
	}
	if (!sim_cfg_claim(dev, off, len, what, errp))
		return false;
	if (!dev->last_cap) {
		dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
		dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	} else {
		dev->cfg[dev->last_cap + PCI_CAP_LIST_NEXT] = (uint8_t)off;
	}
	dev->cfg[off + PCI_CAP_LIST_ID] = id;
	dev->cfg[off + PCI_CAP_LIST_NEXT] = 0;
	dev->last_cap = off;
	return true;
}

bool sim_ecap_add(SimDevice *dev, uint16_t id, uint8_t version, unsigned off,
		  unsigned len, Error **errp)
{
	char what[48];

	snprintf(what, sizeof(what), "extended capability 0x%04x", id);
	if (dev->realized) {
		error_setg(errp, "%s: %s added after realize", dev->name, what);
		return false;
	}
	if (dev->cfg_size < SIM_CFG_SIZE_PCIE) {
		error_setg(errp, "%s: %s needs a 4 KiB (PCI Express) config space",
			   dev->name, what);
		return false;
	}
	if (off < 0x100 || (off & 3) || len < 4 || version > 0xf) {
		error_setg(errp, "%s: %s at 0x%x: extended capabilities are dword aligned from 0x100, version 0..15",
			   dev->name, what, off);
		return false;
	}
	if (!dev->last_ecap && off != 0x100) {
		error_setg(errp, "%s: %s: the first extended capability must be at 0x100, not 0x%x",
			   dev->name, what, off);
		return false;
	}
	if (!sim_cfg_claim(dev, off, len, what, errp))
		return false;
	if (dev->last_ecap) {
		uint32_t h = sim_cfg_peek(dev, dev->last_ecap, 4);

		sim_cfg_poke(dev, dev->last_ecap, 4, (h & 0x000fffff) | ((uint32_t)off << 20));
	}
	sim_cfg_poke(dev, off, 4, id | ((uint32_t)version << 16));
	dev->last_ecap = off;
	return true;
}

unsigned sim_cap_find(const SimDevice *dev, uint8_t id)
{
	unsigned off, n = 0;

	if (!(dev->cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return 0;
	for (off = dev->cfg[PCI_CAPABILITY_LIST] & ~3u; off >= 0x40 && n < 48; n++) {
		if (dev->cfg[off] == id)
			return off;
		off = dev->cfg[off + PCI_CAP_LIST_NEXT] & ~3u;
	}
	return 0;
}

unsigned sim_ecap_find(const SimDevice *dev, uint16_t id)
{
	unsigned off = 0x100, n = 0;

	if (dev->cfg_size < SIM_CFG_SIZE_PCIE)
		return 0;
	while (off >= 0x100 && off < dev->cfg_size && n++ < 1024) {
		uint32_t h = sim_cfg_peek(dev, off, 4);

		if (!h)
			return 0;
		if (PCI_EXT_CAP_ID(h) == id)
			return off;
		off = PCI_EXT_CAP_NEXT(h);
	}
	return 0;
}

/* ---- PCI Express ------------------------------------------------------ */

static void pcie_write(SimDevice *dev, void *opaque, unsigned off,
		       unsigned len, uint32_t val)
{
	unsigned base = dev->pcie_off, ctl = base + PCI_EXP_DEVCTL;
	(void)opaque;

	/* Initiate FLR: bit 15 of DevCtl, i.e. bit 7 of its second byte. */
	if (off <= ctl + 1 && ctl + 1 < off + len) {
		uint8_t b = (uint8_t)(val >> (8 * (ctl + 1 - off)));

		if ((b & (PCI_EXP_DEVCTL_BCR_FLR >> 8)) &&
		    (sim_cfg_peek(dev, base + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR))
			sim_reset_locked(dev, SIM_RESET_FLR);
	}
}

static bool pcie_adopt(SimDevice *dev, unsigned off, Error **errp)
{
	uint16_t flags = (uint16_t)sim_cfg_peek(dev, off + PCI_EXP_FLAGS, 2);
	unsigned type = (flags & PCI_EXP_FLAGS_TYPE) >> 4;
	bool v2 = (flags & PCI_EXP_FLAGS_VERS) >= 2;
	bool link = type != PCI_EXP_TYPE_RC_END && type != PCI_EXP_TYPE_RC_EC;

	dev->pcie_off = off;
	/* DevCtl: everything but Phantom Functions and Initiate FLR. */
	sim_mask_poke(dev->wmask, off + PCI_EXP_DEVCTL, 2,
		      (uint32_t)~(PCI_EXP_DEVCTL_PHANTOM | PCI_EXP_DEVCTL_BCR_FLR) & 0xffff);
	sim_mask_poke(dev->w1cmask, off + PCI_EXP_DEVSTA, 2,
		      PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED |
		      PCI_EXP_DEVSTA_FED | PCI_EXP_DEVSTA_URD);
	if (link && !dev->vf)
		sim_mask_poke(dev->wmask, off + PCI_EXP_LNKCTL, 2,
			      PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_RCB |
			      PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES |
			      PCI_EXP_LNKCTL_CLKREQ_EN | PCI_EXP_LNKCTL_HAWD);
	if (v2) {
		sim_mask_poke(dev->wmask, off + PCI_EXP_DEVCTL2, 2,
			      PCI_EXP_DEVCTL2_COMP_TIMEOUT | PCI_EXP_DEVCTL2_COMP_TMOUT_DIS |
			      PCI_EXP_DEVCTL2_LTR_EN);
		if (link && !dev->vf)
			sim_mask_poke(dev->wmask, off + PCI_EXP_LNKCTL2, 2,
				      PCI_EXP_LNKCTL2_TLS | PCI_EXP_LNKCTL2_ENTER_COMP |
				      PCI_EXP_LNKCTL2_TX_MARGIN);
	}
	return sim_cfg_add_hook(dev, off + PCI_EXP_DEVCTL, 2, NULL, pcie_write,
				NULL, errp);
}

bool sim_cap_add_pcie(SimDevice *dev, unsigned off, const SimPcieConfig *c,
		      Error **errp)
{
	unsigned len = (c->flags & PCI_EXP_FLAGS_VERS) >= 2 ? 0x3c : 0x14;

	if (dev->pcie_off) {
		error_setg(errp, "%s: a second PCI Express capability", dev->name);
		return false;
	}
	if (!sim_cap_add(dev, PCI_CAP_ID_EXP, off, len, errp))
		return false;
	sim_cfg_poke(dev, off + PCI_EXP_FLAGS, 2, c->flags);
	sim_cfg_poke(dev, off + PCI_EXP_DEVCAP, 4, c->devcap);
	sim_cfg_poke(dev, off + PCI_EXP_DEVCTL, 2, c->devctl & (uint16_t)~PCI_EXP_DEVCTL_BCR_FLR);
	sim_cfg_poke(dev, off + PCI_EXP_LNKCAP, 4, c->lnkcap);
	sim_cfg_poke(dev, off + PCI_EXP_LNKCTL, 2, c->lnkctl);
	sim_cfg_poke(dev, off + PCI_EXP_LNKSTA, 2, c->lnksta);
	if (len > 0x14) {
		sim_cfg_poke(dev, off + PCI_EXP_DEVCAP2, 4, c->devcap2);
		sim_cfg_poke(dev, off + PCI_EXP_DEVCTL2, 2, c->devctl2);
		sim_cfg_poke(dev, off + PCI_EXP_LNKCAP2, 4, c->lnkcap2);
		sim_cfg_poke(dev, off + PCI_EXP_LNKCTL2, 2, c->lnkctl2);
	}
	return pcie_adopt(dev, off, errp);
}

/* ---- power management ------------------------------------------------ */

static void pm_write(SimDevice *dev, void *opaque, unsigned off, unsigned len,
		     uint32_t val)
{
	unsigned csr = dev->pm_off + PCI_PM_CTRL;
	uint16_t pmc, cur;
	unsigned want;
	(void)opaque;

	if (!(off <= csr && csr < off + len))
		return;	/* the PowerState field is in the first byte of PMCSR */
	want = (val >> (8 * (csr - off))) & PCI_PM_CTRL_STATE_MASK;
	pmc = (uint16_t)sim_cfg_peek(dev, dev->pm_off + PCI_PM_PMC, 2);
	cur = (uint16_t)sim_cfg_peek(dev, csr, 2);
	/* A write of an unsupported state is ignored. */
	if ((want == 1 && !(pmc & PCI_PM_CAP_D1)) || (want == 2 && !(pmc & PCI_PM_CAP_D2)))
		return;
	if ((cur & PCI_PM_CTRL_STATE_MASK) == 3 && want == 0 && !dev->pm_no_soft_reset) {
		sim_reset_locked(dev, SIM_RESET_PM);	/* lands in D0 */
		return;
	}
	sim_cfg_poke(dev, csr, 2, (cur & (uint16_t)~PCI_PM_CTRL_STATE_MASK) | want);
}

static bool pm_adopt(SimDevice *dev, unsigned off, Error **errp)
{
	uint16_t pmc = (uint16_t)sim_cfg_peek(dev, off + PCI_PM_PMC, 2);
	uint32_t csr_w = 0;

	dev->pm_off = off;
	dev->pm_no_soft_reset =
		sim_cfg_peek(dev, off + PCI_PM_CTRL, 2) & PCI_PM_CTRL_NO_SOFT_RESET;
	if (pmc & PCI_PM_CAP_PME_MASK) {
		csr_w |= PCI_PM_CTRL_PME_ENABLE;
		sim_mask_poke(dev->w1cmask, off + PCI_PM_CTRL, 2, PCI_PM_CTRL_PME_STATUS);
	}
	sim_mask_poke(dev->wmask, off + PCI_PM_CTRL, 2, csr_w);
	return sim_cfg_add_hook(dev, off + PCI_PM_CTRL, 2, NULL, pm_write, NULL, errp);
}

bool sim_cap_add_pm(SimDevice *dev, unsigned off, uint16_t pmc,
		    bool no_soft_reset, Error **errp)
{
	if (!adopt_check(dev, off, 0, 0x100, dev->pm_off, "power management", errp) ||
	    !sim_cap_add(dev, PCI_CAP_ID_PM, off, PCI_PM_SIZEOF, errp))
		return false;
	sim_cfg_poke(dev, off + PCI_PM_PMC, 2, pmc);
	sim_cfg_poke(dev, off + PCI_PM_CTRL, 2, no_soft_reset ? PCI_PM_CTRL_NO_SOFT_RESET : 0);
	return pm_adopt(dev, off, errp);
}

/* ---- advanced features --------------------------------------------- */

static void af_write(SimDevice *dev, void *opaque, unsigned off, unsigned len,
		     uint32_t val)
{
	unsigned ctrl = dev->af_off + PCI_AF_CTRL;
	uint8_t cap = dev->cfg[dev->af_off + PCI_AF_CAP];
	(void)opaque;

	if (off <= ctrl && ctrl < off + len &&
	    ((val >> (8 * (ctrl - off))) & PCI_AF_CTRL_FLR) &&
	    (cap & PCI_AF_CAP_FLR) && (cap & PCI_AF_CAP_TP))
		sim_reset_locked(dev, SIM_RESET_FLR);
}

static bool af_adopt(SimDevice *dev, unsigned off, Error **errp)
{
	dev->af_off = off;
	return sim_cfg_add_hook(dev, off + PCI_AF_CTRL, 1, NULL, af_write, NULL, errp);
}

bool sim_cap_add_af(SimDevice *dev, unsigned off, Error **errp)
{
	if (!adopt_check(dev, off, 0, 0x100, dev->af_off, "advanced features", errp) ||
	    !sim_cap_add(dev, PCI_CAP_ID_AF, off, 6, errp))
		return false;
	dev->cfg[off + PCI_AF_LENGTH] = 6;
	dev->cfg[off + PCI_AF_CAP] = PCI_AF_CAP_TP | PCI_AF_CAP_FLR;
	return af_adopt(dev, off, errp);
}

/* ---- AER ---------------------------------------------------------------- */

#define AER_UNCOR_BITS 0x07fff030u	/* DLP .. poisoned TLP egress blocked */
#define AER_COR_BITS 0x0000f1c1u	/* receiver error .. header log overflow */
#define AER_LEN 0x38

static bool aer_adopt(SimDevice *dev, unsigned off, Error **errp)
{
	(void)errp;
	dev->aer_off = off;
	sim_mask_poke(dev->w1cmask, off + PCI_ERR_UNCOR_STATUS, 4, AER_UNCOR_BITS);
	sim_mask_poke(dev->wmask, off + PCI_ERR_UNCOR_MASK, 4, AER_UNCOR_BITS);
	sim_mask_poke(dev->wmask, off + PCI_ERR_UNCOR_SEVER, 4, AER_UNCOR_BITS);
	sim_mask_poke(dev->w1cmask, off + PCI_ERR_COR_STATUS, 4, AER_COR_BITS);
	sim_mask_poke(dev->wmask, off + PCI_ERR_COR_MASK, 4, AER_COR_BITS);
	return true;
}

bool sim_ecap_add_aer(SimDevice *dev, unsigned off, Error **errp)
{
	if (!adopt_check(dev, off, 0, dev->cfg_size, dev->aer_off, "AER", errp) ||
	    !sim_ecap_add(dev, PCI_EXT_CAP_ID_ERR, 2, off, AER_LEN, errp))
		return false;
	/* Spec defaults: these errors are fatal; Advisory Non-Fatal masked. */
	sim_cfg_poke(dev, off + PCI_ERR_UNCOR_SEVER, 4, 0x00462030);
	sim_cfg_poke(dev, off + PCI_ERR_COR_MASK, 4, PCI_ERR_COR_ADV_NFAT);
	return aer_adopt(dev, off, errp);
}

int sim_aer_inject(SimDevice *dev, bool uncorrectable, uint32_t status,
		   const uint32_t header[4])
{
	unsigned a;
	bool signal = false;

	sim_lock(dev);
	a = dev->aer_off;
	if (!a) {
		sim_unlock(dev);
		return -ENODEV;
	}
	if (!status || (status & ~(uncorrectable ? AER_UNCOR_BITS : AER_COR_BITS))) {
		sim_unlock(dev);
		return -EINVAL;
	}
	if (uncorrectable) {
		uint32_t st = sim_cfg_peek(dev, a + PCI_ERR_UNCOR_STATUS, 4);
		uint32_t mask = sim_cfg_peek(dev, a + PCI_ERR_UNCOR_MASK, 4);
		uint32_t sev = sim_cfg_peek(dev, a + PCI_ERR_UNCOR_SEVER, 4);
		uint32_t unmasked = status & ~mask;
		uint32_t cap = sim_cfg_peek(dev, a + PCI_ERR_CAP, 4);

		if (!(st & ~mask) && unmasked) {
			/* First Error Pointer: the lowest new unmasked bit. */
			cap = (cap & ~0x1fu) | (uint32_t)__builtin_ctz(unmasked);
			sim_cfg_poke(dev, a + PCI_ERR_CAP, 4, cap);
			if (header)
				for (unsigned i = 0; i < 4; i++)
					sim_cfg_poke(dev, a + PCI_ERR_HEADER_LOG + 4 * i, 4, header[i]);
		}
		sim_cfg_poke(dev, a + PCI_ERR_UNCOR_STATUS, 4, st | status);
		if (dev->pcie_off && unmasked) {
			uint16_t ds = (uint16_t)sim_cfg_peek(dev, dev->pcie_off + PCI_EXP_DEVSTA, 2);

			ds |= (unmasked & sev) ? PCI_EXP_DEVSTA_FED : 0;
			ds |= (unmasked & ~sev) ? PCI_EXP_DEVSTA_NFED : 0;
			sim_cfg_poke(dev, dev->pcie_off + PCI_EXP_DEVSTA, 2, ds);
		}
		signal = unmasked != 0;
	} else {
		uint32_t st = sim_cfg_peek(dev, a + PCI_ERR_COR_STATUS, 4);
		uint32_t mask = sim_cfg_peek(dev, a + PCI_ERR_COR_MASK, 4);

		sim_cfg_poke(dev, a + PCI_ERR_COR_STATUS, 4, st | status);
		if (dev->pcie_off && (status & ~mask)) {
			uint16_t ds = (uint16_t)sim_cfg_peek(dev, dev->pcie_off + PCI_EXP_DEVSTA, 2);

			sim_cfg_poke(dev, dev->pcie_off + PCI_EXP_DEVSTA, 2, ds | PCI_EXP_DEVSTA_CED);
		}
	}
	trace_sim_err(dev->name, signal ? "uncorrectable error: ERR signalled" :
		      uncorrectable ? "uncorrectable error: masked" : "correctable error");
	if (signal && dev->host && dev->host->err)
		dev->host->err(dev->host_opaque, dev);
	sim_unlock(dev);
	return 0;
}

/* ---- ARI, TPH, vendor ------------------------------------------------ */

bool sim_ecap_add_ari(SimDevice *dev, unsigned off, uint8_t next_function,
		      Error **errp)
{
	if (!sim_ecap_add(dev, PCI_EXT_CAP_ID_ARI, 1, off, 8, errp))
		return false;
	sim_cfg_poke(dev, off + PCI_ARI_CAP, 2, (uint32_t)next_function << 8);
	return true;
}

static bool tph_adopt(SimDevice *dev, unsigned off, Error **errp)
{
	(void)errp;
	/* ST Mode Select and TPH Requester Enable. */
	sim_mask_poke(dev->wmask, off + PCI_TPH_CAP + 4, 4, 0x00000307);
	return true;
}

bool sim_ecap_add_tph(SimDevice *dev, unsigned off, uint32_t tph_cap,
		      Error **errp)
{
	if (!sim_ecap_add(dev, PCI_EXT_CAP_ID_TPH, 1, off, PCI_TPH_BASE_SIZEOF, errp))
		return false;
	sim_cfg_poke(dev, off + PCI_TPH_CAP, 4, tph_cap);
	return tph_adopt(dev, off, errp);
}

bool sim_cap_add_vendor(SimDevice *dev, unsigned off, const uint8_t *body,
			unsigned len, Error **errp)
{
	if (len < 3) {
		error_setg(errp, "%s: vendor capability needs at least 3 bytes", dev->name);
		return false;
	}
	if (!sim_cap_add(dev, PCI_CAP_ID_VNDR, off, len, errp))
		return false;
	dev->cfg[off + 2] = (uint8_t)len;
	if (len > 3)
		memcpy(dev->cfg + off + 3, body, len - 3);
	return true;
}

/* ---- adopting existing capabilities ---------------------------------- */

bool sim_cap_adopt(SimDevice *dev, unsigned off, Error **errp)
{
	unsigned len;

	if (off < 0x40 || off > 0xfc) {
		error_setg(errp, "%s: no standard capability at 0x%x", dev->name, off);
		return false;
	}
	switch (dev->cfg[off]) {
	case PCI_CAP_ID_EXP:
		len = (sim_cfg_peek(dev, off + PCI_EXP_FLAGS, 2) & PCI_EXP_FLAGS_VERS) >= 2 ?
		      PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 : PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;
		return adopt_check(dev, off, len, 0x100, dev->pcie_off, "PCI Express", errp) &&
		       pcie_adopt(dev, off, errp);
	case PCI_CAP_ID_PM:
		return adopt_check(dev, off, PCI_PM_SIZEOF, 0x100, dev->pm_off, "power management", errp) &&
		       pm_adopt(dev, off, errp);
	case PCI_CAP_ID_AF:
		return adopt_check(dev, off, 6, 0x100, dev->af_off, "advanced features", errp) &&
		       af_adopt(dev, off, errp);
	case PCI_CAP_ID_MSI:
		return adopt_check(dev, off, 10, 0x100, 0, "MSI", errp) &&
		       sim_msi_adopt(dev, off, errp);
	case PCI_CAP_ID_MSIX:
		return adopt_check(dev, off, 12, 0x100, 0, "MSI-X", errp) &&
		       sim_msix_adopt(dev, off, 0, errp);
	default:
		return true;	/* read-only as captured */
	}
}

bool sim_ecap_adopt(SimDevice *dev, unsigned off, Error **errp)
{
	if (off < 0x100 || off >= dev->cfg_size || (off & 3)) {
		error_setg(errp, "%s: no extended capability at 0x%x", dev->name, off);
		return false;
	}
	switch (PCI_EXT_CAP_ID(sim_cfg_peek(dev, off, 4))) {
	case PCI_EXT_CAP_ID_ERR:
		return adopt_check(dev, off, AER_LEN, dev->cfg_size, dev->aer_off, "AER", errp) &&
		       aer_adopt(dev, off, errp);
	case PCI_EXT_CAP_ID_TPH:
		return adopt_check(dev, off, PCI_TPH_BASE_SIZEOF, dev->cfg_size, 0, "TPH", errp) &&
		       tph_adopt(dev, off, errp);
	default:
		return true;
	}
}

bool sim_cap_adopt_msix(SimDevice *dev, unsigned off, uint32_t pba_offset,
			Error **errp)
{
	return sim_msix_adopt(dev, off, pba_offset, errp);
}

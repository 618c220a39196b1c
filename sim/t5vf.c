/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim/t5vf.c: Chelsio T5 SR-IOV virtual function (PCI 1425:58xx).
 *
 * Config space follows the FreeBSD pciconf dump of a real T580-LP-CR VF
 * (capability order 0x70 -> 0xb0 -> 0x50, extended AER/ARI/TPH, MSI-X PBA
 * reported at 0x8000 in an 8 KiB BAR4 while it really lives at 0x1000).
 * BAR0 holds the VF register window the cxgb4vf driver uses: SGE, MPS
 * statistics, PL WHOAMI/REV, the 64-byte firmware mailbox and its CIM
 * control register, with a small firmware that answers the commands of the
 * driver's first probe steps (RESET, PARAMS, PFVF, RSS_GLB_CONFIG).
 *
 * Everything that is a choice rather than a known fact of the real part is
 * listed in docs/models/chelsio-t5-vf.md.
 */
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"

#define T5VF_VENDOR		0x1425
#define T5VF_DEVICE_DEFAULT	0x5803

/* BAR layout (sizes are this model's choice, see the doc). */
#define T5VF_BAR_REGS		0
#define T5VF_BAR_REGS_SIZE	0x1000
#define T5VF_BAR_UDB		2
#define T5VF_BAR_UDB_SIZE	0x2000
#define T5VF_BAR_MSIX		4
#define T5VF_BAR_MSIX_SIZE	0x2000
#define T5VF_MSIX_NVEC		8
#define T5VF_MSIX_PBA		0x1000	/* where the PBA really is */
#define T5VF_MSIX_PBA_BUGGY	0x8000	/* what the T5 VF reports */

/* Capability offsets (FreeBSD pciconf of a T580-LP-CR VF). */
#define T5VF_CAP_MSI		0x50
#define T5VF_CAP_PCIE		0x70
#define T5VF_CAP_MSIX		0xb0
#define T5VF_ECAP_AER		0x100
#define T5VF_ECAP_ARI		0x140
#define T5VF_ECAP_TPH		0x150
/* TPH Requester Capability: No ST Mode Supported only (a choice). */
#define T5VF_TPH_CAP_NO_ST	0x00000001

/* ---- the VF register window (cxgb4vf t4vf_defs.h, t4_regs.h) ---------- */

#define T4VF_SGE_BASE		0x000
#define SGE_VF_KDOORBELL	(T4VF_SGE_BASE + 0x0)
#define SGE_VF_GTS		(T4VF_SGE_BASE + 0x4)
#define T4VF_MPS_BASE		0x100
#define MPS_VF_CTL		(T4VF_MPS_BASE + 0x0)
#define MPS_VF_CTL_RW		0x3	/* TxEn, RxEn */
#define T4VF_PL_BASE		0x200
#define PL_VF_WHOAMI		(T4VF_PL_BASE + 0x0)
#define PL_VF_REV		(T4VF_PL_BASE + 0x4)
#define PL_VF_REVISION		(T4VF_PL_BASE + 0x8)
#define T4VF_MBDATA_BASE	0x240
#define T4VF_MBDATA_REGS	8	/* 64-bit registers, 64 bytes */
#define T4VF_CIM_BASE		0x300
#define CIM_VF_EXT_MAILBOX_CTRL	(T4VF_CIM_BASE + 0x0)
#define CIM_VF_EXT_MAILBOX_STATUS (T4VF_CIM_BASE + 0x4)
#define T4VF_REGMAP_SIZE	0x400

/* PL_VF_WHOAMI (T4/T5 layout). */
#define WHOAMI_SOURCEPF_S	8
#define WHOAMI_ISVF		(1u << 7)
#define WHOAMI_VFID_M		0x7f
/* PL_VF_REV: ChipID 7:4, Rev 3:0. */
#define PL_VF_REV_CHIPID_S	4
#define T5_CHIPID		5

/* CIM_VF_EXT_MAILBOX_CTRL / _STATUS. */
#define MBMSGVALID		(1u << 3)
#define MBINTREQ		(1u << 2)
#define MBOWNER_M		0x3u
#define MBOX_OWNER_NONE		0
#define MBOX_OWNER_FW		1
#define MBOX_OWNER_DRV		2
#define MBVFREADY		(1u << 0)

/* ---- firmware interface (cxgb4 t4fw_api.h) ---------------------------- */

/* Command header, as the 64-bit value of the first mailbox register. */
#define FW_CMD_OP_S		56
#define FW_CMD_REQUEST		(1ull << 55)
#define FW_CMD_READ		(1ull << 54)
#define FW_CMD_WRITE		(1ull << 53)
#define FW_CMD_RETVAL_S		8
#define FW_CMD_RETVAL_M		(0xffull << FW_CMD_RETVAL_S)
#define FW_CMD_LEN16_M		0xffu

#define FW_RESET_CMD		0x03
#define FW_PARAMS_CMD		0x08
#define FW_PFVF_CMD		0x09
#define FW_RSS_GLB_CONFIG_CMD	0x22

#define FW_SUCCESS		0
#define FW_EINVAL		22
#define FW_ENOSYS		38

#define FW_PARAMS_MNEM_S	24
#define FW_PARAMS_MNEM_DEV	1
#define FW_PARAMS_MNEM_PFVF	2
#define FW_PARAMS_MNEM_REG	3
#define FW_PARAMS_PARAM_X_S	16
#define FW_PARAMS_PARAM_XYZ_M	0xffffffu
#define FW_PARAMS_PARAM_DEV_CCLK	0x00
#define FW_PARAMS_PARAM_DEV_FWREV	0x0b
#define FW_PARAMS_PARAM_DEV_TPREV	0x0c
#define FW_PARAMS_PARAM_PFVF_CPLFW4MSG_ENCAP 0x31
#define FW_PARAMS_PARAM_PFVF_PORT_CAPS32 0x3a

/* fw_pfvf_cmd words. */
#define FW_PFVF_CMD_NIQFLINT_S	20
#define FW_PFVF_CMD_CMASK_S	24
#define FW_PFVF_CMD_PMASK_S	20
#define FW_PFVF_CMD_TC_S	24
#define FW_PFVF_CMD_NVI_S	16
#define FW_PFVF_CMD_R_CAPS_S	24
#define FW_PFVF_CMD_WX_CAPS_S	16

/* fw_rss_glb_config_cmd words. */
#define FW_RSS_GLB_CONFIG_CMD_MODE_S		28
#define FW_RSS_GLB_CONFIG_CMD_MODE_BASICVIRTUAL	1
#define FW_RSS_GLB_CONFIG_CMD_TNLMAPEN		(1u << 2)
#define FW_RSS_GLB_CONFIG_CMD_TNLALLLKP		(1u << 1)
#define FW_RSS_GLB_CONFIG_CMD_HASHTOEPLITZ	(1u << 0)

/* SGE registers a VF may read through FW_PARAMS (MNEM_REG). */
#define SGE_CONTROL			0x1008
#define SGE_HOST_PAGE_SIZE		0x100c
#define SGE_EGRESS_QUEUES_PER_PAGE_VF	0x1014
#define SGE_FL_BUFFER_SIZE0		0x1044
#define SGE_FL_BUFFER_SIZE1		0x1048
#define SGE_CONM_CTRL			0x1094
#define SGE_INGRESS_RX_THRESHOLD	0x10a0
#define SGE_TIMER_VALUE_0_AND_1		0x10b8
#define SGE_TIMER_VALUE_2_AND_3		0x10bc
#define SGE_TIMER_VALUE_4_AND_5		0x10c0
#define SGE_INGRESS_QUEUES_PER_PAGE_VF	0x10f8
#define SGE_CONTROL2			0x1124

/* SGE_CONTROL fields. */
#define RXPKTCPLMODE_SPLIT	(1u << 18)
#define EGRSTATUSPAGESIZE_128	(1u << 17)
#define PKTSHIFT(x)		((uint32_t)(x) << 10)
#define INGPADBOUNDARY(x)	((uint32_t)(x) << 4)
#define GLOBALENABLE		(1u << 0)
/* SGE_CONTROL2 */
#define INGPACKBOUNDARY(x)	((uint32_t)(x) << 16)
/* SGE_CONM_CTRL */
#define EGRTHRESHOLDPACKING(x)	((uint32_t)(x) << 14)
#define EGRTHRESHOLD(x)		((uint32_t)(x) << 8)

/* The "firmware" configuration this model reports (choices, see the doc). */
#define T5VF_CCLK_KHZ		250000u		/* core clock */
#define T5VF_FWREV		0x01180e00u	/* 1.24.14.0 */
#define T5VF_TPREV		0x00010409u	/* 0.1.4.9 */
#define T5VF_TICKS(us)		((us) * (T5VF_CCLK_KHZ / 1000u))
#define T5VF_HOSTPAGE_4K	2u		/* log2(4096) - 10, every PF */
#define T5VF_QPP_32		5u		/* 32 queues per 4 KiB page */

typedef struct T5vfState {
	uint16_t device_id;
	unsigned pf, vfid, mbox_delay;
	bool pba_erratum;

	SimReg *regs;			/* the BAR0 register table */
	unsigned nregs;
	SimRegBlock *blk;
	unsigned idx_mbdata, idx_ctrl;	/* indices in regs[] */
	SimReg *udb;			/* the BAR2 doorbell table */

	unsigned pending;		/* ctrl reads until the reply is posted */
	uint32_t cplfw4msg_encap;	/* PFVF param written by the driver */
} T5vfState;

/* ---- register table -------------------------------------------------- */

typedef struct T5vfRegDef {
	const char *name;
	uint32_t offset;
	uint8_t width;
	uint64_t wmask;
} T5vfRegDef;

static const T5vfRegDef t5vf_named_regs[] = {
	{ "SGE_VF_KDOORBELL", SGE_VF_KDOORBELL, 4, 0 },
	{ "SGE_VF_GTS", SGE_VF_GTS, 4, 0 },
	{ "MPS_VF_CTL", MPS_VF_CTL, 4, MPS_VF_CTL_RW },
	{ "MPS_VF_STAT_TX_VF_BCAST_BYTES", 0x180, 8, 0 },
	{ "MPS_VF_STAT_TX_VF_BCAST_FRAMES", 0x188, 8, 0 },
	{ "MPS_VF_STAT_TX_VF_MCAST_BYTES", 0x190, 8, 0 },
	{ "MPS_VF_STAT_TX_VF_MCAST_FRAMES", 0x198, 8, 0 },
	{ "MPS_VF_STAT_TX_VF_UCAST_BYTES", 0x1a0, 8, 0 },
	{ "MPS_VF_STAT_TX_VF_UCAST_FRAMES", 0x1a8, 8, 0 },
	{ "MPS_VF_STAT_TX_VF_DROP_FRAMES", 0x1b0, 8, 0 },
	{ "MPS_VF_STAT_TX_VF_OFFLOAD_BYTES", 0x1b8, 8, 0 },
	{ "MPS_VF_STAT_TX_VF_OFFLOAD_FRAMES", 0x1c0, 8, 0 },
	{ "MPS_VF_STAT_RX_VF_BCAST_BYTES", 0x1c8, 8, 0 },
	{ "MPS_VF_STAT_RX_VF_BCAST_FRAMES", 0x1d0, 8, 0 },
	{ "MPS_VF_STAT_RX_VF_MCAST_BYTES", 0x1d8, 8, 0 },
	{ "MPS_VF_STAT_RX_VF_MCAST_FRAMES", 0x1e0, 8, 0 },
	{ "MPS_VF_STAT_RX_VF_UCAST_BYTES", 0x1e8, 8, 0 },
	{ "MPS_VF_STAT_RX_VF_UCAST_FRAMES", 0x1f0, 8, 0 },
	{ "MPS_VF_STAT_RX_VF_ERR_FRAMES", 0x1f8, 8, 0 },
	{ "PL_VF_WHOAMI", PL_VF_WHOAMI, 4, 0 },
	{ "PL_VF_REV", PL_VF_REV, 4, 0 },
	{ "PL_VF_REVISION", PL_VF_REVISION, 4, 0 },
	{ "CIM_VF_EXT_MAILBOX_DATA0", T4VF_MBDATA_BASE + 0x00, 8, 0 },
	{ "CIM_VF_EXT_MAILBOX_DATA1", T4VF_MBDATA_BASE + 0x08, 8, 0 },
	{ "CIM_VF_EXT_MAILBOX_DATA2", T4VF_MBDATA_BASE + 0x10, 8, 0 },
	{ "CIM_VF_EXT_MAILBOX_DATA3", T4VF_MBDATA_BASE + 0x18, 8, 0 },
	{ "CIM_VF_EXT_MAILBOX_DATA4", T4VF_MBDATA_BASE + 0x20, 8, 0 },
	{ "CIM_VF_EXT_MAILBOX_DATA5", T4VF_MBDATA_BASE + 0x28, 8, 0 },
	{ "CIM_VF_EXT_MAILBOX_DATA6", T4VF_MBDATA_BASE + 0x30, 8, 0 },
	{ "CIM_VF_EXT_MAILBOX_DATA7", T4VF_MBDATA_BASE + 0x38, 8, 0 },
	{ "CIM_VF_EXT_MAILBOX_CTRL", CIM_VF_EXT_MAILBOX_CTRL, 4, 0 },
	{ "CIM_VF_EXT_MAILBOX_STATUS", CIM_VF_EXT_MAILBOX_STATUS, 4, 0 },
};

#define T5VF_NAMED_REGS (sizeof(t5vf_named_regs) / sizeof(t5vf_named_regs[0]))
/* Enough for the named registers plus the reserved fill of 0x400 bytes. */
#define T5VF_MAX_REGS (T4VF_REGMAP_SIZE / 4)

static uint32_t t5vf_whoami(const T5vfState *s)
{
	return ((uint32_t)s->pf << WHOAMI_SOURCEPF_S) | WHOAMI_ISVF |
	       (s->vfid & WHOAMI_VFID_M);
}

static uint64_t t5vf_reset_value(const T5vfState *s, uint32_t offset)
{
	switch (offset) {
	case PL_VF_WHOAMI:
		return t5vf_whoami(s);
	case PL_VF_REV:
		return T5_CHIPID << PL_VF_REV_CHIPID_S;	/* revision 0 */
	case CIM_VF_EXT_MAILBOX_STATUS:
		return MBVFREADY;
	default:
		return 0;
	}
}

static void t5vf_add_reg(T5vfState *s, const char *name, uint32_t offset,
			 uint8_t width, uint64_t wmask)
{
	SimReg *r = &s->regs[s->nregs++];

	*r = (SimReg){ name, offset, width, t5vf_reset_value(s, offset), wmask, 0 };
	if (offset == T4VF_MBDATA_BASE)
		s->idx_mbdata = s->nregs - 1;
	else if (offset == CIM_VF_EXT_MAILBOX_CTRL)
		s->idx_ctrl = s->nregs - 1;
}

/* Reserved space up to "end": read-only zero, 8 bytes where aligned. */
static void t5vf_fill_reserved(T5vfState *s, uint32_t *pos, uint32_t end)
{
	while (*pos < end) {
		uint8_t w = (*pos % 8 == 0 && end - *pos >= 8) ? 8 : 4;

		t5vf_add_reg(s, "reserved", *pos, w, 0);
		*pos += w;
	}
}

static bool t5vf_build_regs(T5vfState *s, Error **errp)
{
	uint32_t pos = 0;

	s->regs = calloc(T5VF_MAX_REGS, sizeof(*s->regs));
	if (!s->regs) {
		error_setg(errp, "out of memory");
		return false;
	}
	for (unsigned i = 0; i < T5VF_NAMED_REGS; i++) {
		const T5vfRegDef *d = &t5vf_named_regs[i];

		t5vf_fill_reserved(s, &pos, d->offset);
		t5vf_add_reg(s, d->name, d->offset, d->width, d->wmask);
		pos = d->offset + d->width;
	}
	t5vf_fill_reserved(s, &pos, T4VF_REGMAP_SIZE);
	return true;
}

/* ---- firmware --------------------------------------------------------- */

static uint64_t t5vf_mbox_get(const T5vfState *s, unsigned i)
{
	return sim_regs_get(s->blk, s->idx_mbdata + i);
}

static void t5vf_mbox_set(T5vfState *s, unsigned i, uint64_t v)
{
	sim_regs_set(s->blk, s->idx_mbdata + i, v);
}

/* A parameter word's value, or false for a parameter this firmware lacks. */
static bool t5vf_param_read(uint32_t word, uint32_t *val)
{
	unsigned mnem = word >> FW_PARAMS_MNEM_S;
	unsigned x = (word >> FW_PARAMS_PARAM_X_S) & 0xff;
	uint32_t xyz = word & FW_PARAMS_PARAM_XYZ_M;

	switch (mnem) {
	case FW_PARAMS_MNEM_DEV:
		if (xyz != (uint32_t)x << FW_PARAMS_PARAM_X_S)
			return false;	/* no Y/Z for these parameters */
		switch (x) {
		case FW_PARAMS_PARAM_DEV_CCLK:
			*val = T5VF_CCLK_KHZ;
			return true;
		case FW_PARAMS_PARAM_DEV_FWREV:
			*val = T5VF_FWREV;
			return true;
		case FW_PARAMS_PARAM_DEV_TPREV:
			*val = T5VF_TPREV;
			return true;
		}
		return false;
	case FW_PARAMS_MNEM_REG:
		switch (xyz) {
		case SGE_CONTROL:
			*val = RXPKTCPLMODE_SPLIT | EGRSTATUSPAGESIZE_128 |
			       PKTSHIFT(2) | INGPADBOUNDARY(1) | GLOBALENABLE;
			return true;
		case SGE_HOST_PAGE_SIZE:
			*val = T5VF_HOSTPAGE_4K * 0x11111111u;
			return true;
		case SGE_FL_BUFFER_SIZE0:
			*val = 4096;
			return true;
		case SGE_FL_BUFFER_SIZE1:
			*val = 65536;
			return true;
		case SGE_TIMER_VALUE_0_AND_1:
			*val = T5VF_TICKS(5u) << 16 | T5VF_TICKS(10u);
			return true;
		case SGE_TIMER_VALUE_2_AND_3:
			*val = T5VF_TICKS(20u) << 16 | T5VF_TICKS(50u);
			return true;
		case SGE_TIMER_VALUE_4_AND_5:
			*val = T5VF_TICKS(100u) << 16 | T5VF_TICKS(200u);
			return true;
		case SGE_CONTROL2:
			*val = INGPACKBOUNDARY(1);
			return true;
		case SGE_INGRESS_RX_THRESHOLD:
			*val = 1u << 24 | 8u << 16 | 16u << 8 | 32u;
			return true;
		case SGE_CONM_CTRL:
			*val = EGRTHRESHOLDPACKING(32) | EGRTHRESHOLD(32);
			return true;
		case SGE_EGRESS_QUEUES_PER_PAGE_VF:
		case SGE_INGRESS_QUEUES_PER_PAGE_VF:
			*val = T5VF_QPP_32 * 0x11111111u;
			return true;
		}
		return false;
	}
	return false;
}

static bool t5vf_param_write(T5vfState *s, uint32_t word, uint32_t val)
{
	if (word == ((uint32_t)FW_PARAMS_MNEM_PFVF << FW_PARAMS_MNEM_S |
		     (uint32_t)FW_PARAMS_PARAM_PFVF_CPLFW4MSG_ENCAP << FW_PARAMS_PARAM_X_S)) {
		s->cplfw4msg_encap = val;
		return true;
	}
	/* The firmware speaks 32-bit port capabilities: accept the switch. */
	return word == ((uint32_t)FW_PARAMS_MNEM_PFVF << FW_PARAMS_MNEM_S |
			(uint32_t)FW_PARAMS_PARAM_PFVF_PORT_CAPS32 << FW_PARAMS_PARAM_X_S);
}

static unsigned t5vf_cmd_params(T5vfState *s, uint64_t hdr, unsigned len16)
{
	bool rd = hdr & FW_CMD_READ, wr = hdr & FW_CMD_WRITE;
	/* param[i] is flit i + 1: mnemonic in the high word, value low. */
	unsigned n = (len16 * 16 - 8) / 8, ret = FW_SUCCESS;

	if (rd == wr)
		return FW_EINVAL;
	for (unsigned i = 0; i < n; i++) {
		uint64_t flit = t5vf_mbox_get(s, 1 + i);
		uint32_t word = (uint32_t)(flit >> 32), val = (uint32_t)flit;

		if (!word)
			continue;	/* unused slot (MNEM 0 does not exist) */
		if (rd) {
			if (t5vf_param_read(word, &val))
				t5vf_mbox_set(s, 1 + i, (uint64_t)word << 32 | val);
			else
				ret = FW_EINVAL;
		} else if (!t5vf_param_write(s, word, val)) {
			ret = FW_EINVAL;
		}
	}
	return ret;
}

static unsigned t5vf_cmd_pfvf(T5vfState *s, uint64_t hdr)
{
	uint32_t niqflint_niq = 9u << FW_PFVF_CMD_NIQFLINT_S;
	uint32_t type_to_neq = 0xfu << FW_PFVF_CMD_CMASK_S |
			       (1u << s->pf) << FW_PFVF_CMD_PMASK_S | 16u;
	uint32_t tc_to_nexactf = 0u << FW_PFVF_CMD_TC_S | 1u << FW_PFVF_CMD_NVI_S |
				 16u;
	uint32_t r_caps_to_nethctrl = 0x86u << FW_PFVF_CMD_R_CAPS_S |
				      0x82u << FW_PFVF_CMD_WX_CAPS_S | 8u;

	if (!(hdr & FW_CMD_READ) || (hdr & FW_CMD_WRITE))
		return FW_EINVAL;	/* a VF may only read its limits */
	t5vf_mbox_set(s, 1, (uint64_t)niqflint_niq << 32 | type_to_neq);
	t5vf_mbox_set(s, 2, (uint64_t)tc_to_nexactf << 32 | r_caps_to_nethctrl);
	t5vf_mbox_set(s, 3, 0);
	return FW_SUCCESS;
}

static unsigned t5vf_cmd_rss_glb(T5vfState *s, uint64_t hdr)
{
	uint32_t mode = (uint32_t)FW_RSS_GLB_CONFIG_CMD_MODE_BASICVIRTUAL
			<< FW_RSS_GLB_CONFIG_CMD_MODE_S;
	uint32_t flags = FW_RSS_GLB_CONFIG_CMD_TNLMAPEN |
			 FW_RSS_GLB_CONFIG_CMD_TNLALLLKP |
			 FW_RSS_GLB_CONFIG_CMD_HASHTOEPLITZ;

	if (!(hdr & FW_CMD_READ) || (hdr & FW_CMD_WRITE))
		return FW_EINVAL;	/* the global mode is the PF's */
	t5vf_mbox_set(s, 1, (uint64_t)mode << 32 | flags);
	t5vf_mbox_set(s, 2, 0);
	t5vf_mbox_set(s, 3, 0);
	return FW_SUCCESS;
}

/* FW_RESET_CMD: forget what the driver configured through the mailbox. */
static unsigned t5vf_cmd_reset(T5vfState *s)
{
	s->cplfw4msg_encap = 0;
	return FW_SUCCESS;
}

/* Execute the command in the mailbox and post the reply in its place. */
static void t5vf_fw_execute(T5vfState *s)
{
	uint64_t hdr = t5vf_mbox_get(s, 0);
	unsigned op = (unsigned)(hdr >> FW_CMD_OP_S);
	unsigned len16 = (unsigned)hdr & FW_CMD_LEN16_M;
	unsigned min16, ret;

	switch (op) {
	case FW_RESET_CMD:
	case FW_PARAMS_CMD:
		min16 = 1;
		break;
	case FW_PFVF_CMD:
	case FW_RSS_GLB_CONFIG_CMD:
		min16 = 2;
		break;
	default:
		min16 = 0;	/* unknown */
		break;
	}
	if (!min16)
		ret = FW_ENOSYS;
	else if (len16 < min16 || len16 > T4VF_MBDATA_REGS / 2)
		ret = FW_EINVAL;
	else if (op == FW_RESET_CMD)
		ret = t5vf_cmd_reset(s);
	else if (op == FW_PARAMS_CMD)
		ret = t5vf_cmd_params(s, hdr, len16);
	else if (op == FW_PFVF_CMD)
		ret = t5vf_cmd_pfvf(s, hdr);
	else
		ret = t5vf_cmd_rss_glb(s, hdr);
	hdr &= ~(FW_CMD_REQUEST | FW_CMD_RETVAL_M);
	hdr |= (uint64_t)ret << FW_CMD_RETVAL_S;
	t5vf_mbox_set(s, 0, hdr);
}

/* The reply is ready: the mailbox goes back to the driver. */
static void t5vf_fw_reply(T5vfState *s)
{
	uint64_t ctrl = sim_regs_get(s->blk, s->idx_ctrl);

	t5vf_fw_execute(s);
	s->pending = 0;
	sim_regs_set(s->blk, s->idx_ctrl,
		     (ctrl & MBINTREQ) | MBMSGVALID | MBOX_OWNER_DRV);
}

/* ---- register behaviour ------------------------------------------------ */

static uint64_t t5vf_regs_read(SimDevice *dev, SimRegBlock *blk, unsigned idx,
			       uint64_t stored)
{
	T5vfState *s = sim_regs_opaque(blk);
	(void)dev;

	if (idx != s->idx_ctrl)
		return stored;
	switch (stored & MBOWNER_M) {
	case MBOX_OWNER_NONE:
		/* A free mailbox is granted to the reader. */
		stored = (stored & ~(uint64_t)MBOWNER_M) | MBOX_OWNER_DRV;
		sim_regs_set(blk, idx, stored);
		break;
	case MBOX_OWNER_FW:
		if (s->pending && !--s->pending) {
			t5vf_fw_reply(s);
			stored = sim_regs_get(blk, idx);
		}
		break;
	}
	return stored;
}

static void t5vf_ctrl_write(T5vfState *s, uint64_t old, uint32_t val)
{
	if ((old & MBOWNER_M) != MBOX_OWNER_DRV)
		return;	/* only the owner may hand the mailbox on */
	switch (val & MBOWNER_M) {
	case MBOX_OWNER_NONE:
		sim_regs_set(s->blk, s->idx_ctrl, MBOX_OWNER_NONE);
		break;
	case MBOX_OWNER_FW:
		if (!(val & MBMSGVALID)) {
			/* Nothing to execute: the firmware frees the mailbox. */
			sim_regs_set(s->blk, s->idx_ctrl, MBOX_OWNER_NONE);
			break;
		}
		sim_regs_set(s->blk, s->idx_ctrl,
			     (val & (MBINTREQ | MBMSGVALID)) | MBOX_OWNER_FW);
		s->pending = s->mbox_delay;
		if (!s->pending)
			t5vf_fw_reply(s);
		break;
	case MBOX_OWNER_DRV:
		sim_regs_set(s->blk, s->idx_ctrl,
			     (val & (MBINTREQ | MBMSGVALID)) | MBOX_OWNER_DRV);
		break;
	default:
		break;	/* reserved owner value: ignored */
	}
}

static void t5vf_regs_write(SimDevice *dev, SimRegBlock *blk, unsigned idx,
			    uint64_t old, uint64_t val, uint64_t bytemask)
{
	T5vfState *s = sim_regs_opaque(blk);
	uint64_t ctrl = sim_regs_get(blk, s->idx_ctrl);
	(void)dev;

	if (idx == s->idx_ctrl) {
		/* A partial write keeps the bytes it does not cover. */
		t5vf_ctrl_write(s, old, (uint32_t)((old & ~bytemask) | (val & bytemask)));
	} else if (idx >= s->idx_mbdata && idx < s->idx_mbdata + T4VF_MBDATA_REGS &&
		   (ctrl & MBOWNER_M) == MBOX_OWNER_DRV) {
		/* Mailbox data: only the driver-owner's writes land. */
		sim_regs_set(blk, idx, (old & ~bytemask) | (val & bytemask));
	}
}

/* ---- lifecycle ------------------------------------------------------------ */

static void t5vf_reset(SimDevice *dev, SimResetKind kind)
{
	T5vfState *s = sim_device_model_state(dev);
	(void)kind;

	/* The generic reset restored the registers (mailbox free, data 0). */
	s->pending = 0;
	s->cplfw4msg_encap = 0;
}

static void t5vf_free(void *opaque)
{
	T5vfState *s = opaque;

	if (!s)
		return;
	free(s->regs);
	free(s->udb);
	free(s);
}

static const SimModelOps t5vf_ops = {
	.reset = t5vf_reset,
	.free = t5vf_free,
};

static bool t5vf_device_id_valid(uint64_t id)
{
	return (id >= 0x5800 && id <= 0x581b) || (id >= 0x5880 && id <= 0x58b0);
}

static bool t5vf_params(T5vfState *s, SimParams *p, Error **errp)
{
	uint64_t v;

	if (!sim_params_get_u64(p, "device_id", T5VF_DEVICE_DEFAULT, 0, UINT64_MAX,
				&v, errp))
		return false;
	if (!t5vf_device_id_valid(v)) {
		error_setg(errp, "parameter device_id=0x%llx: not a T5 VF device ID (valid: 0x5800-0x581b, 0x5880-0x58b0)",
			   (unsigned long long)v);
		return false;
	}
	s->device_id = (uint16_t)v;
	if (!sim_params_get_u64(p, "pf", 0, 0, 3, &v, errp))
		return false;
	s->pf = (unsigned)v;
	if (!sim_params_get_u64(p, "vfid", 0, 0, WHOAMI_VFID_M, &v, errp))
		return false;
	s->vfid = (unsigned)v;
	if (!sim_params_get_u64(p, "mbox_delay", 0, 0, 16, &v, errp))
		return false;
	s->mbox_delay = (unsigned)v;
	return sim_params_get_bool(p, "pba_erratum", true, &s->pba_erratum, errp);
}

static bool t5vf_build(SimDevice *dev, T5vfState *s, Error **errp)
{
	const SimIds ids = {
		.vendor = T5VF_VENDOR, .device = s->device_id,
		.subsystem_vendor = T5VF_VENDOR, .subsystem_device = 0x0000,
		.class_code = 0x020000, .revision = 0x00,
	};
	const SimPcieConfig pcie = {
		.flags = 2 | PCI_EXP_TYPE_ENDPOINT << 4,
		.devcap = 4 /* 2048 bytes */ | PCI_EXP_DEVCAP_FLR,
		.devctl = PCI_EXP_DEVCTL_PAYLOAD_256B | PCI_EXP_DEVCTL_NOSNOOP_EN |
			  PCI_EXP_DEVCTL_READRQ_512B,
		.lnkcap = PCI_EXP_LNKCAP_SLS_8_0GB | 8 << 4 /* x8 */ |
			  PCI_EXP_LNKCAP_ASPM_L0S | PCI_EXP_LNKCAP_ASPM_L1,
		.lnksta = 0,
	};
	const SimMsixConfig msix = {
		.nvec = T5VF_MSIX_NVEC,
		.table_bar = T5VF_BAR_MSIX, .table_offset = 0,
		.pba_bar = T5VF_BAR_MSIX, .pba_offset = T5VF_MSIX_PBA,
		.pba_offset_reported = s->pba_erratum ? T5VF_MSIX_PBA_BUGGY : 0,
	};
	unsigned nudb = T5VF_BAR_UDB_SIZE / 8;

	sim_device_set_ids(dev, &ids);
	sim_device_set_vf(dev, true);

	if (!sim_bar_add(dev, T5VF_BAR_REGS, SIM_BAR_MEM64, false, T5VF_BAR_REGS_SIZE, errp) ||
	    !sim_bar_add(dev, T5VF_BAR_UDB, SIM_BAR_MEM64, true, T5VF_BAR_UDB_SIZE, errp) ||
	    !sim_bar_add(dev, T5VF_BAR_MSIX, SIM_BAR_MEM64, false, T5VF_BAR_MSIX_SIZE, errp))
		return false;

	/* BAR0: the VF register window. */
	if (!t5vf_build_regs(s, errp))
		return false;
	s->blk = sim_bar_add_regs(dev, T5VF_BAR_REGS, 0, s->regs, s->nregs,
				  t5vf_regs_read, t5vf_regs_write, s, errp);
	if (!s->blk)
		return false;

	/* BAR2: user doorbells, write-only (writes accepted, reads 0). */
	s->udb = calloc(nudb, sizeof(*s->udb));
	if (!s->udb) {
		error_setg(errp, "out of memory");
		return false;
	}
	for (unsigned i = 0; i < nudb; i++)
		s->udb[i] = (SimReg){ "SGE_UDB", i * 8, 8, 0, 0, 0 };
	if (!sim_bar_add_regs(dev, T5VF_BAR_UDB, 0, s->udb, nudb, NULL, NULL, s, errp))
		return false;

	/* Capabilities, in the real part's chain order. */
	return sim_cap_add_pcie(dev, T5VF_CAP_PCIE, &pcie, errp) &&
	       sim_cap_add_msix(dev, T5VF_CAP_MSIX, &msix, errp) &&
	       sim_cap_add_msi(dev, T5VF_CAP_MSI, 32, true, true, errp) &&
	       sim_ecap_add_aer(dev, T5VF_ECAP_AER, errp) &&
	       sim_ecap_add_ari(dev, T5VF_ECAP_ARI, 0, errp) &&
	       sim_ecap_add_tph(dev, T5VF_ECAP_TPH, T5VF_TPH_CAP_NO_ST, errp);
}

static SimDevice *t5vf_create(const char *name, SimParams *p, Error **errp)
{
	T5vfState *s = calloc(1, sizeof(*s));
	SimDevice *dev;

	if (!s) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	if (!t5vf_params(s, p, errp)) {
		free(s);
		return NULL;
	}
	dev = sim_device_new(name, SIM_CFG_SIZE_PCIE);
	if (!dev) {
		free(s);
		error_setg(errp, "out of memory");
		return NULL;
	}
	sim_device_set_model(dev, &t5vf_ops, s);
	if (!t5vf_build(dev, s, errp)) {
		sim_device_free(dev);	/* frees s through t5vf_free */
		return NULL;
	}
	return dev;
}

const SimModel sim_model_chelsio_t5_vf = {
	"chelsio-t5-vf",
	"Chelsio T5 SR-IOV virtual function (1425:58xx): MSI-X PBA erratum, VF register window, firmware mailbox",
	"device_id=0x5800-0x581b|0x5880-0x58b0 (default 0x5803)\n"
	"pf=0..3 (parent PF in PL_VF_WHOAMI, default 0)\n"
	"vfid=0..127 (VF number in PL_VF_WHOAMI, default 0)\n"
	"pba_erratum=on|off (report the PBA at 0x8000, default on)\n"
	"mbox_delay=0..16 (mailbox control reads before a reply, default 0)",
	t5vf_create,
};

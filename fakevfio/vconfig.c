/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/vconfig.c: vfio-pci config-space virtualization and BAR/ROM
 * access (Linux 6.1 drivers/vfio/pci/vfio_pci_config.c and vfio_pci_rdwr.c,
 * read for behaviour; vfio-abi.md §2.5, §3).
 *
 * Mechanics: vconfig[] is the virtual copy of config space; map[] names,
 * per byte, the capability owning it (0: basic header, 0xff: unassigned,
 * which is raw hardware access).  Each capability with a table has per-bit
 * "virt" (served from/written to vconfig) and "write" (user-writable)
 * masks; reads return (hw & ~virt) | (vconfig & virt), reading the device
 * only when some requested bit is not virtualized.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>

#include "vconfig.h"

enum {
	CFG_MAX = SIM_CFG_SIZE_PCIE,
	PERM_MAX = 64,			/* the largest table: the basic header */
	MAP_INVALID = 0xff,		/* PCI_CAP_ID_INVALID */
	CAP_ID_BASIC = 0,
	STD_CAP_MAX = 0x14,		/* PCI_CAP_ID_MAX (EA) in 6.1 */
	EXT_CAP_MAX = 0x2e,		/* PCI_EXT_CAP_ID_MAX (DOE) in 6.1 */
	LEN_VAR = 0xff,			/* length depends on the capability */
	MSIX_BAR_NONE = 0xff,
	EXP_EP_SIZEOF_V2 = 0x32,	/* PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 */
};

typedef struct Perm Perm;
typedef int (*PermRead)(FvVconfig *vc, unsigned pos, unsigned count,
			const Perm *p, unsigned offset, uint32_t *val);
typedef int (*PermWrite)(FvVconfig *vc, unsigned pos, unsigned count,
			 const Perm *p, unsigned offset, uint32_t val);

/* struct perm_bits: bytes beyond size have no virt and no write bits. */
struct Perm {
	unsigned size;
	uint8_t virt[PERM_MAX];
	uint8_t write[PERM_MAX];
	PermRead read;		/* NULL: the read returns zeros */
	PermWrite write_fn;	/* NULL: writes are dropped */
};

struct FvVconfig {
	FvHostPci *hp;
	SimDevice *sim;
	const FvVconfigOps *ops;
	void *opaque;
	unsigned flags;
	unsigned cfg_size;
	bool virtfn, no_command_memory, extended_caps, bardirty, virq_disabled;
	unsigned irq_type, msi_qmax;
	unsigned msix_bar;
	uint32_t msix_offset, msix_size;
	uint32_t rbar[7];
	unsigned warnings;

	uint8_t vconfig[CFG_MAX];
	uint8_t map[CFG_MAX];

	Perm basic, pm, vpd, pcix, exp, af, msi;	/* standard caps */
	Perm err, pwr;					/* extended caps */
	Perm direct, vndr, unassigned;
};

/* Length of each standard capability (pci_cap_length[]), 0: hidden. */
static const uint8_t std_cap_len[STD_CAP_MAX + 1] = {
	[PCI_CAP_ID_PM] = PCI_PM_SIZEOF,
	[PCI_CAP_ID_AGP] = PCI_AGP_SIZEOF,
	[PCI_CAP_ID_VPD] = PCI_CAP_VPD_SIZEOF,
	[PCI_CAP_ID_MSI] = LEN_VAR,
	[PCI_CAP_ID_PCIX] = LEN_VAR,
	[PCI_CAP_ID_HT] = LEN_VAR,
	[PCI_CAP_ID_VNDR] = LEN_VAR,
	[PCI_CAP_ID_EXP] = LEN_VAR,
	[PCI_CAP_ID_MSIX] = PCI_CAP_MSIX_SIZEOF,
	[PCI_CAP_ID_SATA] = LEN_VAR,
	[PCI_CAP_ID_AF] = PCI_CAP_AF_SIZEOF,
};

/* Length of each extended capability (pci_ext_cap_length[]), 0: hidden. */
static const uint16_t ext_cap_len[EXT_CAP_MAX + 1] = {
	[PCI_EXT_CAP_ID_ERR] = PCI_ERR_ROOT_COMMAND,
	[PCI_EXT_CAP_ID_VC] = LEN_VAR,
	[PCI_EXT_CAP_ID_DSN] = PCI_EXT_CAP_DSN_SIZEOF,
	[PCI_EXT_CAP_ID_PWR] = PCI_EXT_CAP_PWR_SIZEOF,
	[PCI_EXT_CAP_ID_MFVC] = LEN_VAR,
	[PCI_EXT_CAP_ID_VC9] = LEN_VAR,
	[PCI_EXT_CAP_ID_VNDR] = LEN_VAR,
	[PCI_EXT_CAP_ID_ACS] = LEN_VAR,
	[PCI_EXT_CAP_ID_ARI] = PCI_EXT_CAP_ARI_SIZEOF,
	[PCI_EXT_CAP_ID_ATS] = PCI_EXT_CAP_ATS_SIZEOF,
	[PCI_EXT_CAP_ID_SRIOV] = PCI_EXT_CAP_SRIOV_SIZEOF,
	[PCI_EXT_CAP_ID_MCAST] = PCI_EXT_CAP_MCAST_ENDPOINT_SIZEOF,
	[PCI_EXT_CAP_ID_PRI] = PCI_EXT_CAP_PRI_SIZEOF,
	[PCI_EXT_CAP_ID_REBAR] = LEN_VAR,
	[PCI_EXT_CAP_ID_DPA] = LEN_VAR,
	[PCI_EXT_CAP_ID_TPH] = LEN_VAR,
	[PCI_EXT_CAP_ID_LTR] = PCI_EXT_CAP_LTR_SIZEOF,
};

/* ---- little-endian helpers ---------------------------------------------- */

static uint32_t le_get(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void le_put(uint8_t *p, unsigned n, uint32_t v)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t full_mask(unsigned count)
{
	return count >= 4 ? 0xffffffffu : (1u << (8 * count)) - 1;
}

static uint32_t perm_get(const Perm *p, const uint8_t *arr, unsigned off,
			 unsigned count)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < count; i++)
		if (off + i < p->size)
			v |= (uint32_t)arr[off + i] << (8 * i);
	return v;
}

static void p_set(Perm *p, unsigned off, unsigned len, uint32_t virt,
		  uint32_t write)
{
	le_put(p->virt + off, len, virt);
	le_put(p->write + off, len, write);
}

/* pci_user_read/write_config_*: the device as the bus sees it. */
static int hw_read(FvVconfig *vc, unsigned pos, unsigned count, uint32_t *val)
{
	return sim_cfg_read(vc->sim, pos, count, val);
}

static int hw_write(FvVconfig *vc, unsigned pos, unsigned count, uint32_t val)
{
	return sim_cfg_write(vc->sim, pos, count, val);
}

/* Config reads done by the kernel itself: failures read as all-ones. */
static uint32_t hw_get(FvVconfig *vc, unsigned pos, unsigned count)
{
	uint32_t v;

	if (hw_read(vc, pos, count, &v))
		return full_mask(count);
	return v;
}

/* ---- the generic access functions ----------------------------------------- */

static int default_read(FvVconfig *vc, unsigned pos, unsigned count,
			const Perm *p, unsigned offset, uint32_t *val)
{
	uint32_t v = le_get(vc->vconfig + pos, count);
	uint32_t virt = perm_get(p, p->virt, offset, count);

	if (virt != full_mask(count)) {
		uint32_t phys;
		int ret = hw_read(vc, pos, count, &phys);

		if (ret)
			return ret;
		v = (phys & ~virt) | (v & virt);
	}
	*val = v;
	return (int)count;
}

static int default_write(FvVconfig *vc, unsigned pos, unsigned count,
			 const Perm *p, unsigned offset, uint32_t val)
{
	uint32_t write = perm_get(p, p->write, offset, count);
	uint32_t virt;

	if (!write)
		return (int)count;	/* nothing writable: dropped */
	virt = perm_get(p, p->virt, offset, count);
	if (write & virt) {
		uint32_t v = le_get(vc->vconfig + pos, count);

		v = (v & ~(write & virt)) | (val & write & virt);
		le_put(vc->vconfig + pos, count, v);
	}
	if (write & ~virt) {
		uint32_t phys;
		int ret = hw_read(vc, pos, count, &phys);

		if (ret)
			return ret;
		phys = (phys & ~(write & ~virt)) | (val & write & ~virt);
		ret = hw_write(vc, pos, count, phys);
		if (ret)
			return ret;
	}
	return (int)count;
}

/* Hardware, except the ID/NEXT bytes (std) or header dword (ext). */
static int direct_read(FvVconfig *vc, unsigned pos, unsigned count,
		       const Perm *p, unsigned offset, uint32_t *val)
{
	int ret = hw_read(vc, pos, count, val);
	(void)p;

	if (ret)
		return ret;
	if (pos >= SIM_CFG_SIZE_PCI) {
		if (offset < 4)
			*val = le_get(vc->vconfig + pos, count);
	} else if (pos >= PCI_STD_HEADER_SIZEOF) {
		if (offset == PCI_CAP_LIST_ID && count > 1) {
			unsigned n = count < PCI_CAP_FLAGS ? count : PCI_CAP_FLAGS;

			*val = (*val & ~full_mask(n)) | le_get(vc->vconfig + pos, n);
		} else if (offset == PCI_CAP_LIST_NEXT) {
			*val = (*val & ~0xffu) | vc->vconfig[pos];
		}
	}
	return (int)count;
}

static int raw_read(FvVconfig *vc, unsigned pos, unsigned count,
		    const Perm *p, unsigned offset, uint32_t *val)
{
	int ret = hw_read(vc, pos, count, val);
	(void)p; (void)offset;

	return ret ? ret : (int)count;
}

static int raw_write(FvVconfig *vc, unsigned pos, unsigned count,
		     const Perm *p, unsigned offset, uint32_t val)
{
	int ret = hw_write(vc, pos, count, val);
	(void)p; (void)offset;

	return ret ? ret : (int)count;
}

/* vfio_find_cap_start */
static unsigned find_cap_start(FvVconfig *vc, unsigned pos)
{
	unsigned base = pos >= SIM_CFG_SIZE_PCI ? SIM_CFG_SIZE_PCI : PCI_STD_HEADER_SIZEOF;
	uint8_t cap = vc->map[pos];

	if (cap == CAP_ID_BASIC)
		return 0;
	while (pos - 1 >= base && vc->map[pos - 1] == cap)
		pos--;
	return pos;
}

/* ---- basic header ---------------------------------------------------------- */

static bool is_bar(unsigned offset)
{
	return (offset >= PCI_BASE_ADDRESS_0 && offset < PCI_BASE_ADDRESS_5 + 4) ||
	       (offset >= PCI_ROM_ADDRESS && offset < PCI_ROM_ADDRESS + 4);
}

/* vfio_bar_fixup: BAR sizing on the virtual registers. */
static void bar_fixup(FvVconfig *vc)
{
	uint8_t *vbar = vc->vconfig + PCI_BASE_ADDRESS_0;
	FvPciResource r;

	if (!vc->bardirty)
		return;
	for (unsigned i = 0; i < SIM_NUM_BARS; i++, vbar += 4) {
		uint64_t mask;
		uint32_t v, fl;

		if (!fv_hostpci_resource(vc->hp, i, &r)) {
			le_put(vbar, 4, 0);	/* unmapped by host = unimplemented */
			continue;
		}
		mask = ~(r.len - 1);
		if (r.io)
			fl = PCI_BASE_ADDRESS_SPACE_IO;
		else
			fl = PCI_BASE_ADDRESS_SPACE_MEMORY |
			     (r.prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0) |
			     (r.mem64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
		v = (le_get(vbar, 4) & (uint32_t)mask) | fl;
		le_put(vbar, 4, v);
		/* As the kernel: the type bit of the result decides. */
		if ((v & PCI_BASE_ADDRESS_MEM_TYPE_64) && i + 1 < SIM_NUM_BARS) {
			vbar += 4;
			le_put(vbar, 4, le_get(vbar, 4) & (uint32_t)(mask >> 32));
			i++;
		}
	}
	vbar = vc->vconfig + PCI_ROM_ADDRESS;
	if (fv_hostpci_resource(vc->hp, SIM_ROM_SLOT, &r))
		le_put(vbar, 4, le_get(vbar, 4) &
		       ((uint32_t)~(r.len - 1) | PCI_ROM_ADDRESS_ENABLE));
	else
		le_put(vbar, 4, 0);
	vc->bardirty = false;
}

static int basic_read(FvVconfig *vc, unsigned pos, unsigned count,
		      const Perm *p, unsigned offset, uint32_t *val)
{
	int ret;

	if (is_bar(offset))
		bar_fixup(vc);
	ret = default_read(vc, pos, count, p, offset, val);
	/* Mask in the virtual memory enable (VFs). */
	if (ret >= 0 && offset == PCI_COMMAND && vc->no_command_memory)
		*val |= le_get(vc->vconfig + PCI_COMMAND, 2) & PCI_COMMAND_MEMORY;
	return ret;
}

static bool need_bar_restore(FvVconfig *vc)
{
	for (unsigned i = 0; i < SIM_NUM_BARS; i++) {
		uint32_t bar;

		if (vc->rbar[i] &&
		    (hw_read(vc, PCI_BASE_ADDRESS_0 + 4 * i, 4, &bar) || bar != vc->rbar[i]))
			return true;
	}
	return false;
}

/* vfio_bar_restore: the real BARs after a reset we did not see. */
static void bar_restore(FvVconfig *vc)
{
	if (vc->virtfn)
		return;
	for (unsigned i = 0; i < SIM_NUM_BARS; i++)
		(void)hw_write(vc, PCI_BASE_ADDRESS_0 + 4 * i, 4, vc->rbar[i]);
	(void)hw_write(vc, PCI_ROM_ADDRESS, 4, vc->rbar[6]);
	if (vc->flags & FV_VCONFIG_NOINTX)
		(void)hw_write(vc, PCI_COMMAND, 2,
			       hw_get(vc, PCI_COMMAND, 2) | PCI_COMMAND_INTX_DISABLE);
}

static int basic_write(FvVconfig *vc, unsigned pos, unsigned count,
		       const Perm *p, unsigned offset, uint32_t val)
{
	uint16_t new_cmd = 0;
	int ret;

	if (offset == PCI_COMMAND) {
		uint32_t phys_cmd;
		uint16_t virt_cmd = (uint16_t)le_get(vc->vconfig + PCI_COMMAND, 2);
		bool phys_mem, virt_mem, new_mem, phys_io, virt_io, new_io;

		ret = hw_read(vc, PCI_COMMAND, 2, &phys_cmd);
		if (ret)
			return ret;
		new_cmd = (uint16_t)val;
		phys_io = phys_cmd & PCI_COMMAND_IO;
		virt_io = virt_cmd & PCI_COMMAND_IO;
		new_io = new_cmd & PCI_COMMAND_IO;
		phys_mem = phys_cmd & PCI_COMMAND_MEMORY;
		virt_mem = virt_cmd & PCI_COMMAND_MEMORY;
		new_mem = new_cmd & PCI_COMMAND_MEMORY;
		/* A reset behind our back: put the real BARs back first. */
		if ((new_mem && virt_mem && !phys_mem && !vc->no_command_memory) ||
		    (new_io && virt_io && !phys_io) || need_bar_restore(vc))
			bar_restore(vc);
	}
	ret = default_write(vc, pos, count, p, offset, val);
	if (ret < 0)
		return ret;
	if (offset == PCI_COMMAND) {
		uint16_t mask = PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
		uint16_t c = (uint16_t)le_get(vc->vconfig + PCI_COMMAND, 2);

		le_put(vc->vconfig + PCI_COMMAND, 2, (c & ~mask) | (new_cmd & mask));
	}
	/* Emulated INTx disable. */
	if (offset >= PCI_COMMAND && offset <= PCI_COMMAND + 1) {
		bool dis = le_get(vc->vconfig + PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;

		if (dis != vc->virq_disabled) {
			vc->virq_disabled = dis;
			if (vc->ops && vc->ops->intx_disable)
				vc->ops->intx_disable(vc->opaque, dis);
		}
	}
	if (is_bar(offset))
		vc->bardirty = true;
	return ret;
}

/* ---- capabilities with behaviour -------------------------------------------- */

static int pm_write(FvVconfig *vc, unsigned pos, unsigned count,
		    const Perm *p, unsigned offset, uint32_t val)
{
	int ret = default_write(vc, pos, count, p, offset, val);

	if (ret < 0)
		return ret;
	if (offset == PCI_PM_CTRL)	/* the result is not checked */
		(void)fv_hostpci_set_power(vc->hp, val & PCI_PM_CTRL_STATE_MASK);
	return ret;
}

/* pci_try_reset_function for user space's FLR; ops->reset hears of it. */
static void user_reset(FvVconfig *vc)
{
	if (fv_hostpci_try_reset(vc->hp) == 0 && vc->ops && vc->ops->reset)
		vc->ops->reset(vc->opaque);
}

static int exp_write(FvVconfig *vc, unsigned pos, unsigned count,
		     const Perm *p, unsigned offset, uint32_t val)
{
	unsigned start = pos - offset;
	uint8_t *ctrl = vc->vconfig + start + PCI_EXP_DEVCTL;
	uint16_t readrq = (uint16_t)le_get(ctrl, 2) & PCI_EXP_DEVCTL_READRQ;
	uint16_t c;
	int ret = default_write(vc, pos, count, p, offset, val);

	if (ret < 0)
		return ret;
	/* Initiate FLR: a function reset if DevCap says FLR; reads back 0. */
	c = (uint16_t)le_get(ctrl, 2);
	if (c & PCI_EXP_DEVCTL_BCR_FLR) {
		uint32_t cap;

		le_put(ctrl, 2, c & ~PCI_EXP_DEVCTL_BCR_FLR);
		if (!hw_read(vc, start + PCI_EXP_DEVCAP, 4, &cap) &&
		    (cap & PCI_EXP_DEVCAP_FLR))
			user_reset(vc);
	}
	/* MRRS goes to the device, but never below its MPS. */
	c = (uint16_t)le_get(ctrl, 2);
	if (readrq != (c & PCI_EXP_DEVCTL_READRQ)) {
		unsigned rq = 128u << ((c & PCI_EXP_DEVCTL_READRQ) >> 12);
		unsigned pcie = fv_hostpci_pcie_cap(vc->hp);
		uint16_t hw = (uint16_t)hw_get(vc, pcie + PCI_EXP_DEVCTL, 2);
		unsigned mps = 128u << ((hw & PCI_EXP_DEVCTL_PAYLOAD) >> 5);

		if (rq < mps)
			rq = mps;
		/* pcie_set_readrq: -EINVAL (nothing done) above 4096 */
		if (rq <= 4096) {
			uint16_t v = (uint16_t)((__builtin_ctz(rq) - 7) << 12);

			hw = (uint16_t)hw_get(vc, pcie + PCI_EXP_DEVCTL, 2);
			(void)hw_write(vc, pcie + PCI_EXP_DEVCTL, 2,
				       (hw & ~PCI_EXP_DEVCTL_READRQ) | v);
		}
	}
	return ret;
}

static int af_write(FvVconfig *vc, unsigned pos, unsigned count,
		    const Perm *p, unsigned offset, uint32_t val)
{
	unsigned start = pos - offset;
	uint8_t *ctrl = vc->vconfig + start + PCI_AF_CTRL;
	int ret = default_write(vc, pos, count, p, offset, val);

	if (ret < 0)
		return ret;
	if (*ctrl & PCI_AF_CTRL_FLR) {
		uint32_t cap;

		*ctrl &= (uint8_t)~PCI_AF_CTRL_FLR;
		if (!hw_read(vc, start + PCI_AF_CAP, 1, &cap) &&
		    (cap & PCI_AF_CAP_FLR) && (cap & PCI_AF_CAP_TP))
			user_reset(vc);
	}
	return ret;
}

static int msi_read(FvVconfig *vc, unsigned pos, unsigned count,
		    const Perm *p, unsigned offset, uint32_t *val)
{
	if (offset <= PCI_MSI_FLAGS && offset + count >= PCI_MSI_FLAGS) {
		/*
		 * 6.1 means to report msi_qmax as Multiple Message Capable, but
		 * updates the word at the capability start (ID/NEXT) instead of
		 * the flags: the ID byte is read from the device and NEXT keeps
		 * its bits, so nothing of it is visible and MMC reads as the
		 * device's (vconfig's) value.  Reproduced as is.
		 */
		uint8_t *w = vc->vconfig + find_cap_start(vc, pos);
		uint16_t f = (uint16_t)le_get(w, 2);

		f = (uint16_t)((f & ~PCI_MSI_FLAGS_QMASK) | (vc->msi_qmax << 1));
		le_put(w, 2, f);
	}
	return default_read(vc, pos, count, p, offset, val);
}

static int msi_write(FvVconfig *vc, unsigned pos, unsigned count,
		     const Perm *p, unsigned offset, uint32_t val)
{
	int ret = default_write(vc, pos, count, p, offset, val);

	if (ret < 0)
		return ret;
	if (offset <= PCI_MSI_FLAGS && offset + count >= PCI_MSI_FLAGS) {
		unsigned fpos = find_cap_start(vc, pos) + PCI_MSI_FLAGS;
		uint16_t f = (uint16_t)le_get(vc->vconfig + fpos, 2);
		int r;

		/* MSI is enabled through SET_IRQS only. */
		if (vc->irq_type != VFIO_PCI_MSI_IRQ_INDEX)
			f &= (uint16_t)~PCI_MSI_FLAGS_ENABLE;
		if ((unsigned)((f & PCI_MSI_FLAGS_QSIZE) >> 4) > vc->msi_qmax)
			f = (uint16_t)((f & ~PCI_MSI_FLAGS_QSIZE) | (vc->msi_qmax << 4));
		le_put(vc->vconfig + fpos, 2, f);
		r = hw_write(vc, fpos, 2, f);
		if (r)
			return r;
	}
	return ret;
}

/* ---- permission tables ---------------------------------------------------- */

static void perm_init(Perm *p, unsigned size, PermRead rd, PermWrite wr)
{
	memset(p, 0, sizeof(*p));
	p->size = (size + 3) & ~3u;
	p->read = rd;
	p->write_fn = wr;
}

static void init_perms(FvVconfig *vc)
{
	uint32_t m;

	perm_init(&vc->basic, PCI_STD_HEADER_SIZEOF, basic_read, basic_write);
	p_set(&vc->basic, PCI_VENDOR_ID, 2, 0xffff, 0);
	p_set(&vc->basic, PCI_DEVICE_ID, 2, 0xffff, 0);
	p_set(&vc->basic, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE, 0xffff);
	p_set(&vc->basic, PCI_STATUS, 2, PCI_STATUS_CAP_LIST, 0);
	p_set(&vc->basic, PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
	p_set(&vc->basic, PCI_LATENCY_TIMER, 1, 0, 0xff);
	p_set(&vc->basic, PCI_BIST, 1, 0, 0xff);
	for (unsigned off = PCI_BASE_ADDRESS_0; off <= PCI_BASE_ADDRESS_5; off += 4)
		p_set(&vc->basic, off, 4, 0xffffffff, 0xffffffff);
	p_set(&vc->basic, PCI_ROM_ADDRESS, 4, 0xffffffff, 0xffffffff);
	p_set(&vc->basic, PCI_CAPABILITY_LIST, 1, 0xff, 0);
	p_set(&vc->basic, PCI_INTERRUPT_LINE, 1, 0xff, 0xff);
	p_set(&vc->basic, PCI_INTERRUPT_PIN, 1, 0xff, 0);

	perm_init(&vc->pm, PCI_PM_SIZEOF, default_read, pm_write);
	p_set(&vc->pm, PCI_CAP_LIST_NEXT, 1, 0xff, 0);
	p_set(&vc->pm, PCI_PM_PMC, 2, PCI_PM_CAP_PME_MASK, 0);
	p_set(&vc->pm, PCI_PM_CTRL, 4, PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS,
	      ~(uint32_t)(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS |
			  PCI_PM_CTRL_STATE_MASK));

	/* VPD: the F-bit handshake needs pci_read/write_vpd (not modelled). */
	perm_init(&vc->vpd, PCI_CAP_VPD_SIZEOF, default_read, default_write);
	p_set(&vc->vpd, PCI_CAP_LIST_NEXT, 1, 0xff, 0);
	p_set(&vc->vpd, PCI_VPD_ADDR, 2, 0xffff, 0xffff);
	p_set(&vc->vpd, PCI_VPD_DATA, 4, 0xffffffff, 0xffffffff);

	perm_init(&vc->pcix, PCI_CAP_PCIX_SIZEOF_V2, default_read, default_write);
	p_set(&vc->pcix, PCI_CAP_LIST_NEXT, 1, 0xff, 0);
	p_set(&vc->pcix, PCI_X_CMD, 2, 0, 0xffff);
	p_set(&vc->pcix, PCI_X_ECC_CSR, 4, 0, 0xffffffff);

	perm_init(&vc->exp, EXP_EP_SIZEOF_V2, default_read, exp_write);
	p_set(&vc->exp, PCI_CAP_LIST_NEXT, 1, 0xff, 0);
	p_set(&vc->exp, PCI_EXP_DEVCTL, 2,
	      PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_READRQ,
	      (uint16_t)~PCI_EXP_DEVCTL_PHANTOM);
	p_set(&vc->exp, PCI_EXP_DEVCTL2, 2, 0, (uint16_t)~PCI_EXP_DEVCTL2_ARI);

	perm_init(&vc->af, PCI_CAP_AF_SIZEOF, default_read, af_write);
	p_set(&vc->af, PCI_CAP_LIST_NEXT, 1, 0xff, 0);
	p_set(&vc->af, PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR, PCI_AF_CTRL_FLR);

	perm_init(&vc->err, PCI_ERR_ROOT_COMMAND, default_read, default_write);
	p_set(&vc->err, 0, 4, 0xffffffff, 0);
	m = PCI_ERR_UNC_UND | PCI_ERR_UNC_DLP | PCI_ERR_UNC_SURPDN |
	    PCI_ERR_UNC_POISON_TLP | PCI_ERR_UNC_FCP | PCI_ERR_UNC_COMP_TIME |
	    PCI_ERR_UNC_COMP_ABORT | PCI_ERR_UNC_UNX_COMP | PCI_ERR_UNC_RX_OVER |
	    PCI_ERR_UNC_MALF_TLP | PCI_ERR_UNC_ECRC | PCI_ERR_UNC_UNSUP |
	    PCI_ERR_UNC_ACSV | PCI_ERR_UNC_INTN | PCI_ERR_UNC_MCBTLP |
	    PCI_ERR_UNC_ATOMEG | PCI_ERR_UNC_TLPPRE;
	p_set(&vc->err, PCI_ERR_UNCOR_STATUS, 4, 0, m);
	p_set(&vc->err, PCI_ERR_UNCOR_MASK, 4, 0, m);
	p_set(&vc->err, PCI_ERR_UNCOR_SEVER, 4, 0, m);
	m = PCI_ERR_COR_RCVR | PCI_ERR_COR_BAD_TLP | PCI_ERR_COR_BAD_DLLP |
	    PCI_ERR_COR_REP_ROLL | PCI_ERR_COR_REP_TIMER | PCI_ERR_COR_ADV_NFAT |
	    PCI_ERR_COR_INTERNAL | PCI_ERR_COR_LOG_OVER;
	p_set(&vc->err, PCI_ERR_COR_STATUS, 4, 0, m);
	p_set(&vc->err, PCI_ERR_COR_MASK, 4, 0, m);
	p_set(&vc->err, PCI_ERR_CAP, 4, 0, PCI_ERR_CAP_ECRC_GENE | PCI_ERR_CAP_ECRC_CHKE);

	perm_init(&vc->pwr, PCI_EXT_CAP_PWR_SIZEOF, default_read, default_write);
	p_set(&vc->pwr, 0, 4, 0xffffffff, 0);
	p_set(&vc->pwr, PCI_PWR_DATA, 1, 0, 0xff);

	perm_init(&vc->direct, 0, direct_read, NULL);
	perm_init(&vc->vndr, 0, direct_read, raw_write);
	perm_init(&vc->unassigned, 0, raw_read, raw_write);
}

/* init_pci_cap_msi_perm, for this device's MSI layout. */
static void init_msi_perm(FvVconfig *vc, unsigned len, uint16_t flags)
{
	Perm *p = &vc->msi;

	perm_init(p, len, msi_read, msi_write);
	p_set(p, PCI_CAP_LIST_NEXT, 1, 0xff, 0);
	p_set(p, PCI_MSI_FLAGS, 1, 0xff, 0xff);	/* the low byte only */
	p_set(p, PCI_MSI_ADDRESS_LO, 4, 0xffffffff, 0xffffffff);
	if (flags & PCI_MSI_FLAGS_64BIT) {
		p_set(p, PCI_MSI_ADDRESS_HI, 4, 0xffffffff, 0xffffffff);
		p_set(p, PCI_MSI_DATA_64, 2, 0xffff, 0xffff);
		if (flags & PCI_MSI_FLAGS_MASKBIT) {
			p_set(p, PCI_MSI_MASK_64, 4, 0, 0xffffffff);
			p_set(p, PCI_MSI_PENDING_64, 4, 0, 0xffffffff);
		}
	} else {
		p_set(p, PCI_MSI_DATA_32, 2, 0xffff, 0xffff);
		if (flags & PCI_MSI_FLAGS_MASKBIT) {
			p_set(p, PCI_MSI_MASK_32, 4, 0, 0xffffffff);
			p_set(p, PCI_MSI_PENDING_32, 4, 0, 0xffffffff);
		}
	}
}

static const Perm *cap_perm(FvVconfig *vc, uint8_t id)
{
	switch (id) {
	case CAP_ID_BASIC: return &vc->basic;
	case PCI_CAP_ID_PM: return &vc->pm;
	case PCI_CAP_ID_VPD: return &vc->vpd;
	case PCI_CAP_ID_PCIX: return &vc->pcix;
	case PCI_CAP_ID_VNDR: return &vc->vndr;
	case PCI_CAP_ID_EXP: return &vc->exp;
	case PCI_CAP_ID_AF: return &vc->af;
	case PCI_CAP_ID_MSI: return &vc->msi;
	default: return &vc->direct;
	}
}

static const Perm *ecap_perm(FvVconfig *vc, uint8_t id)
{
	switch (id) {
	case PCI_EXT_CAP_ID_ERR: return &vc->err;
	case PCI_EXT_CAP_ID_PWR: return &vc->pwr;
	case PCI_EXT_CAP_ID_VNDR: return &vc->vndr;
	/* Unknown IDs (a hidden one anchoring the list): direct, read-only. */
	default: return &vc->direct;
	}
}

/* ---- vfio_config_init --------------------------------------------------------- */

static void fill_vconfig(FvVconfig *vc, unsigned off, unsigned size)
{
	while (size) {
		unsigned n = (size >= 4 && !(off % 4)) ? 4 : (size >= 2 && !(off % 2)) ? 2 : 1;

		le_put(vc->vconfig + off, n, hw_get(vc, off, n));
		off += n;
		size -= n;
	}
}

static void test_extended_caps(FvVconfig *vc)
{
	if (vc->cfg_size > SIM_CFG_SIZE_PCI)
		vc->extended_caps = hw_get(vc, SIM_CFG_SIZE_PCI, 4) != 0;
}

/* vfio_vc_cap_len */
static unsigned vc_cap_len(FvVconfig *vc, unsigned pos)
{
	unsigned len = PCI_CAP_VC_BASE_SIZEOF, evcc, phases = 0;
	uint32_t cap2;

	evcc = hw_get(vc, pos + PCI_VC_PORT_CAP1, 4) & PCI_VC_CAP1_EVCC;
	cap2 = hw_get(vc, pos + PCI_VC_PORT_CAP2, 4);
	if (cap2 & PCI_VC_CAP2_128_PHASE)
		phases = 128;
	else if (cap2 & PCI_VC_CAP2_64_PHASE)
		phases = 64;
	else if (cap2 & PCI_VC_CAP2_32_PHASE)
		phases = 32;
	len += (1 + evcc) * PCI_CAP_VC_PER_VC_SIZEOF;
	if (phases) {
		len = (len + 15) & ~15u;
		len += phases * 4 / 8;
	}
	return len;
}

/* vfio_cap_len: the length of a variable-size standard capability. */
static unsigned std_var_len(FvVconfig *vc, uint8_t cap, unsigned pos)
{
	switch (cap) {
	case PCI_CAP_ID_MSI: {
		uint16_t fl = (uint16_t)hw_get(vc, pos + PCI_MSI_FLAGS, 2);
		unsigned len = 10 + ((fl & PCI_MSI_FLAGS_64BIT) ? 4 : 0) +
			       ((fl & PCI_MSI_FLAGS_MASKBIT) ? 10 : 0);

		if (!vc->msi.size)	/* the first MSI cap sets the table */
			init_msi_perm(vc, len, fl);
		return len;
	}
	case PCI_CAP_ID_PCIX:
		if (PCI_X_CMD_VERSION(hw_get(vc, pos + PCI_X_CMD, 2))) {
			test_extended_caps(vc);
			return PCI_CAP_PCIX_SIZEOF_V2;
		}
		return PCI_CAP_PCIX_SIZEOF_V0;
	case PCI_CAP_ID_VNDR:
		return hw_get(vc, pos + PCI_CAP_FLAGS, 1);
	case PCI_CAP_ID_EXP: {
		/* pcie_caps_reg()/pci_pcie_type(): the device's PCIe cap */
		unsigned pcie = fv_hostpci_pcie_cap(vc->hp);
		uint16_t fl = (uint16_t)hw_get(vc, (pcie ? pcie : pos) + PCI_EXP_FLAGS, 2);
		bool rc_end = ((fl & PCI_EXP_FLAGS_TYPE) >> 4) == PCI_EXP_TYPE_RC_END;

		test_extended_caps(vc);
		if ((fl & PCI_EXP_FLAGS_VERS) == 1)
			return rc_end ? 0xc : PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;
		return rc_end ? 0x2c : EXP_EP_SIZEOF_V2;
	}
	case PCI_CAP_ID_HT:
		return (hw_get(vc, pos + 3, 1) & HT_3BIT_CAP_MASK) ?
		       HT_CAP_SIZEOF_SHORT : HT_CAP_SIZEOF_LONG;
	default:	/* PCI_CAP_ID_SATA */
		return (hw_get(vc, pos + PCI_SATA_REGS, 1) & PCI_SATA_REGS_MASK) ==
		       PCI_SATA_REGS_INLINE ? PCI_SATA_SIZEOF_LONG : PCI_SATA_SIZEOF_SHORT;
	}
}

/* vfio_ext_cap_len */
static unsigned ext_var_len(FvVconfig *vc, uint16_t ecap, unsigned epos)
{
	uint32_t d;
	unsigned b;

	switch (ecap) {
	case PCI_EXT_CAP_ID_VNDR:
		return hw_get(vc, epos + PCI_VSEC_HDR, 4) >> PCI_VSEC_HDR_LEN_SHIFT;
	case PCI_EXT_CAP_ID_VC:
	case PCI_EXT_CAP_ID_VC9:
	case PCI_EXT_CAP_ID_MFVC:
		return vc_cap_len(vc, epos);
	case PCI_EXT_CAP_ID_ACS:
		if (hw_get(vc, epos + PCI_ACS_CAP, 1) & PCI_ACS_EC) {
			unsigned bits;

			b = hw_get(vc, epos + PCI_ACS_EGRESS_BITS, 1);
			bits = b ? (b + 31) & ~31u : 256;
			return 8 + bits / 8;
		}
		return 8;
	case PCI_EXT_CAP_ID_REBAR:
		b = (hw_get(vc, epos + PCI_REBAR_CTRL, 1) & PCI_REBAR_CTRL_NBAR_MASK) >>
		    PCI_REBAR_CTRL_NBAR_SHIFT;
		return 4 + b * 8;
	case PCI_EXT_CAP_ID_DPA:
		return PCI_DPA_BASE_SIZEOF +
		       (hw_get(vc, epos + PCI_DPA_CAP, 1) & PCI_DPA_CAP_SUBSTATE_MASK) + 1;
	default:	/* PCI_EXT_CAP_ID_TPH */
		d = hw_get(vc, epos + PCI_TPH_CAP, 4);
		if ((d & PCI_TPH_CAP_LOC_MASK) == PCI_TPH_LOC_CAP)
			return PCI_TPH_BASE_SIZEOF +
			       ((d & PCI_TPH_CAP_ST_MASK) >> PCI_TPH_CAP_ST_SHIFT) * 2 + 2;
		return PCI_TPH_BASE_SIZEOF;
	}
}

/* Claim [pos, pos+len) for cap in the map, warning about overlaps. */
static void map_claim(FvVconfig *vc, unsigned pos, unsigned len, uint8_t cap)
{
	if (len > vc->cfg_size - pos)	/* pos is always inside */
		len = vc->cfg_size - pos;
	for (unsigned i = 0; i < len; i++)
		if (vc->map[pos + i] != MAP_INVALID)
			vc->warnings++;	/* "PCI config conflict": a warning only */
	memset(vc->map + pos, cap, len);
	fill_vconfig(vc, pos, len);
}

/* vfio_cap_init: the standard chain, hidden capabilities unlinked. */
static void cap_init(FvVconfig *vc)
{
	uint8_t *prev = vc->vconfig + PCI_CAPABILITY_LIST;
	unsigned pos, caps = 0;
	int loops = (SIM_CFG_SIZE_PCI - PCI_STD_HEADER_SIZEOF) / PCI_CAP_SIZEOF;

	if (!(hw_get(vc, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return;
	pos = hw_get(vc, PCI_CAPABILITY_LIST, 1);
	while (pos && loops--) {
		uint8_t cap = (uint8_t)hw_get(vc, pos, 1);
		uint8_t next = (uint8_t)hw_get(vc, pos + PCI_CAP_LIST_NEXT, 1);
		unsigned len = 0;

		/* ID 0 is a NULL capability: hidden, like unknown IDs. */
		if (cap && cap <= STD_CAP_MAX) {
			len = std_cap_len[cap];
			if (len == LEN_VAR)
				len = std_var_len(vc, cap, pos);
		}
		if (!len) {
			*prev = next;
			pos = next;
			continue;
		}
		map_claim(vc, pos, len, cap);
		if (cap == PCI_CAP_ID_PM) {
			uint8_t *pmc = vc->vconfig + pos + PCI_PM_PMC;
			uint8_t *csr = vc->vconfig + pos + PCI_PM_CTRL;

			le_put(pmc, 2, le_get(pmc, 2) & ~(uint32_t)PCI_PM_CAP_PME_MASK);
			le_put(csr, 2, le_get(csr, 2) &
			       ~(uint32_t)(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS));
		}
		prev = vc->vconfig + pos + PCI_CAP_LIST_NEXT;
		pos = next;
		caps++;
	}
	if (!caps)
		le_put(vc->vconfig + PCI_STATUS, 2,
		       le_get(vc->vconfig + PCI_STATUS, 2) & ~(uint32_t)PCI_STATUS_CAP_LIST);
}

/* vfio_ecap_init: the extended chain, hidden ones skipped or anchored. */
static void ecap_init(FvVconfig *vc)
{
	uint8_t *prev = NULL;
	unsigned epos = SIM_CFG_SIZE_PCI, ecaps = 0;
	int loops;

	if (!vc->extended_caps)
		return;
	loops = (int)(vc->cfg_size - SIM_CFG_SIZE_PCI) / PCI_CAP_SIZEOF;
	while (loops-- && epos >= SIM_CFG_SIZE_PCI && epos < vc->cfg_size) {
		uint32_t header = hw_get(vc, epos, 4);
		uint16_t ecap = PCI_EXT_CAP_ID(header);
		unsigned len = 0;
		bool hidden = false;

		if (ecap <= EXT_CAP_MAX) {
			len = ext_cap_len[ecap];
			if (len == LEN_VAR)
				len = ext_var_len(vc, ecap, epos);
		}
		if (!len) {
			if (prev) {	/* skip it: the previous header's NEXT */
				uint32_t h = le_get(prev, 4);

				epos = PCI_EXT_CAP_NEXT(header);
				le_put(prev, 4, (h & ~(0xffcu << 20)) | ((uint32_t)epos << 20));
				continue;
			}
			/* At the head: a placeholder header (next only). */
			len = PCI_CAP_SIZEOF;
			hidden = true;
		}
		/* The map holds one byte: 16-bit IDs are truncated, as in 6.1. */
		map_claim(vc, epos, len, (uint8_t)ecap);
		if (hidden)
			le_put(vc->vconfig + epos, 4, le_get(vc->vconfig + epos, 4) & (0xffcu << 20));
		else
			ecaps++;
		prev = vc->vconfig + epos;
		epos = PCI_EXT_CAP_NEXT(header);
	}
	if (!ecaps)
		le_put(vc->vconfig + SIM_CFG_SIZE_PCI, 4, 0);
}

FvVconfig *fv_vconfig_new(FvHostPci *hp, unsigned flags,
			  const FvVconfigOps *ops, void *opaque, Error **errp)
{
	FvVconfig *vc;
	unsigned msix;

	if (!hp) {
		error_setg(errp, "vconfig: no host PCI device");
		return NULL;
	}
	vc = calloc(1, sizeof(*vc));
	if (!vc) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	vc->hp = hp;
	vc->sim = fv_hostpci_sim(hp);
	vc->ops = ops;
	vc->opaque = opaque;
	vc->flags = flags;
	vc->cfg_size = fv_hostpci_cfg_size(hp);
	vc->virtfn = fv_hostpci_is_virtfn(hp);
	vc->no_command_memory = fv_hostpci_no_command_memory(hp);
	vc->irq_type = VFIO_PCI_NUM_IRQS;
	init_perms(vc);

	sim_device_lock(vc->sim);
	memset(vc->map, CAP_ID_BASIC, PCI_STD_HEADER_SIZEOF);
	memset(vc->map + PCI_STD_HEADER_SIZEOF, MAP_INVALID,
	       vc->cfg_size - PCI_STD_HEADER_SIZEOF);
	fill_vconfig(vc, 0, PCI_STD_HEADER_SIZEOF);
	vc->bardirty = true;
	/* For restore after a reset we did not see. */
	for (unsigned i = 0; i < SIM_NUM_BARS; i++)
		vc->rbar[i] = le_get(vc->vconfig + PCI_BASE_ADDRESS_0 + 4 * i, 4);
	vc->rbar[6] = le_get(vc->vconfig + PCI_ROM_ADDRESS, 4);
	if (vc->virtfn) {
		SimIds ids = sim_device_ids(vc->sim);

		le_put(vc->vconfig + PCI_VENDOR_ID, 2, ids.vendor);
		le_put(vc->vconfig + PCI_DEVICE_ID, 2, ids.device);
		vc->vconfig[PCI_INTERRUPT_PIN] = 0;	/* VFs have no INTx */
	}
	if (vc->no_command_memory)
		le_put(vc->vconfig + PCI_COMMAND, 2,
		       le_get(vc->vconfig + PCI_COMMAND, 2) | PCI_COMMAND_MEMORY);
	if (flags & FV_VCONFIG_NOINTX)
		vc->vconfig[PCI_INTERRUPT_PIN] = 0;
	cap_init(vc);
	ecap_init(vc);

	/* vfio_pci_core_enable: where the MSI-X table is. */
	vc->msix_bar = MSIX_BAR_NONE;
	msix = sim_cap_find(vc->sim, PCI_CAP_ID_MSIX);
	if (msix) {
		uint16_t fl = (uint16_t)hw_get(vc, msix + PCI_MSIX_FLAGS, 2);
		uint32_t tbl = hw_get(vc, msix + PCI_MSIX_TABLE, 4);

		vc->msix_bar = tbl & PCI_MSIX_TABLE_BIR;
		vc->msix_offset = tbl & PCI_MSIX_TABLE_OFFSET;
		vc->msix_size = ((fl & PCI_MSIX_FLAGS_QSIZE) + 1u) * PCI_MSIX_ENTRY_SIZE;
	}
	sim_device_unlock(vc->sim);
	return vc;
}

void fv_vconfig_free(FvVconfig *vc)
{
	free(vc);
}

FvHostPci *fv_vconfig_hostpci(const FvVconfig *vc)
{
	return vc->hp;
}

unsigned fv_vconfig_cfg_size(const FvVconfig *vc)
{
	return vc->cfg_size;
}

/* ---- config region ------------------------------------------------------------ */

/* Bytes left in the dword at pos that belong to the same map entry. */
static unsigned cap_remaining_dword(FvVconfig *vc, unsigned pos)
{
	uint8_t cap = vc->map[pos];
	unsigned i;

	for (i = 1; (pos + i) % 4 && vc->map[pos + i] == cap; i++)
		;
	return i;
}

/* vfio_config_do_rw: one chunk; returns its size or -errno. */
static int config_chunk(FvVconfig *vc, uint8_t *buf, size_t count,
			unsigned pos, bool write)
{
	const Perm *p;
	unsigned n, start = 0, rem = cap_remaining_dword(vc, pos);
	uint8_t id = vc->map[pos];
	uint32_t val = 0;
	int ret;

	if (count > rem)
		count = rem;
	n = (count >= 4 && !(pos % 4)) ? 4 : (count >= 2 && !(pos % 2)) ? 2 : 1;
	if (id == MAP_INVALID) {
		p = &vc->unassigned;
		start = pos;
	} else if (pos >= SIM_CFG_SIZE_PCI) {
		p = ecap_perm(vc, id);
		start = find_cap_start(vc, pos);
	} else {
		p = cap_perm(vc, id);
		if (id != CAP_ID_BASIC)
			start = find_cap_start(vc, pos);
	}
	if (write) {
		if (!p->write_fn)
			return (int)n;
		return p->write_fn(vc, pos, n, p, pos - start, le_get(buf, n));
	}
	ret = (int)n;
	if (p->read) {
		ret = p->read(vc, pos, n, p, pos - start, &val);
		if (ret < 0)
			return ret;
	}
	le_put(buf, n, val);
	return ret;
}

ssize_t fv_vconfig_config_rw(FvVconfig *vc, void *buf, size_t count,
			     uint64_t pos, bool write)
{
	uint8_t *b = buf;
	size_t done = 0;

	sim_device_lock(vc->sim);
	while (count) {
		int ret;

		if (pos >= vc->cfg_size || count > vc->cfg_size - pos) {
			sim_device_unlock(vc->sim);
			return -EFAULT;
		}
		ret = config_chunk(vc, b, count, (unsigned)pos, write);
		if (ret < 0) {
			sim_device_unlock(vc->sim);
			return ret;
		}
		count -= (size_t)ret;
		done += (size_t)ret;
		b += ret;
		pos += (unsigned)ret;
	}
	sim_device_unlock(vc->sim);
	return (ssize_t)done;
}

/* ---- BAR / ROM regions ------------------------------------------------------------ */

bool fv_vconfig_memory_enabled(FvVconfig *vc)
{
	bool on;

	sim_device_lock(vc->sim);
	on = fv_hostpci_power_state(vc->hp) < FV_PCI_D3HOT &&
	     (vc->no_command_memory ||
	      (le_get(vc->vconfig + PCI_COMMAND, 2) & PCI_COMMAND_MEMORY));
	sim_device_unlock(vc->sim);
	return on;
}

/*
 * One device access of n bytes (vfio_pci_ioread/iowrite): -EIO for a memory
 * resource while memory is disabled; a device that does not decode (or
 * refuses) reads all-ones and drops the write, as on the bus.
 */
static int io_access(FvVconfig *vc, unsigned index, bool test_mem,
		     uint64_t off, unsigned n, uint8_t *buf, bool write)
{
	uint64_t v = 0;

	if (test_mem && !fv_vconfig_memory_enabled(vc))
		return -EIO;
	if (write) {
		(void)sim_bar_write(vc->sim, index, off, n, le_get(buf, n));
		return 0;
	}
	if (sim_bar_read(vc->sim, index, off, n, &v))
		v = full_mask(n);
	le_put(buf, n, (uint32_t)v);
	return 0;
}

/* vfio_pci_do_io_rw: [x_start, x_end) is excluded (0xff / dropped). */
static ssize_t do_io_rw(FvVconfig *vc, unsigned index, bool test_mem,
			uint8_t *buf, uint64_t off, size_t count,
			uint64_t x_start, uint64_t x_end, bool write)
{
	ssize_t done = 0;

	while (count) {
		size_t fillable, filled;

		if (off < x_start)
			fillable = count < x_start - off ? count : (size_t)(x_start - off);
		else if (off >= x_end)
			fillable = count;
		else
			fillable = 0;
		if (fillable) {
			int ret;

			filled = (fillable >= 4 && !(off % 4)) ? 4 :
				 (fillable >= 2 && !(off % 2)) ? 2 : 1;
			ret = io_access(vc, index, test_mem, off, (unsigned)filled, buf, write);
			if (ret)
				return ret;
		} else {
			filled = count < x_end - off ? count : (size_t)(x_end - off);
			if (!write)
				memset(buf, 0xff, filled);
		}
		count -= filled;
		done += (ssize_t)filled;
		off += filled;
		buf += filled;
	}
	return done;
}

ssize_t fv_vconfig_bar_rw(FvVconfig *vc, unsigned index, void *buf,
			  size_t count, uint64_t pos, bool write)
{
	uint64_t x_start = 0, x_end = 0;
	FvPciResource r;
	ssize_t done;

	if (!count)
		return 0;
	if (index > SIM_ROM_SLOT || (index == SIM_ROM_SLOT && write))
		return -EINVAL;
	sim_device_lock(vc->sim);
	if (!fv_hostpci_resource(vc->hp, index, &r) || pos >= r.len) {
		sim_device_unlock(vc->sim);
		return -EINVAL;
	}
	if (count > r.len - pos)
		count = (size_t)(r.len - pos);
	if (index == SIM_ROM_SLOT) {
		size_t image;
		int ret = fv_hostpci_map_rom(vc->hp, &image);

		if (ret) {
			sim_device_unlock(vc->sim);
			return ret;
		}
		x_start = image;
		x_end = r.len;
	}
	if (index == vc->msix_bar) {
		x_start = vc->msix_offset;
		x_end = (uint64_t)vc->msix_offset + vc->msix_size;
	}
	done = do_io_rw(vc, index, !r.io, buf, pos, count, x_start, x_end, write);
	if (index == SIM_ROM_SLOT)
		fv_hostpci_unmap_rom(vc->hp);
	sim_device_unlock(vc->sim);
	return done;
}

/* ---- state for the other layers ------------------------------------------------------- */

unsigned fv_vconfig_virtual_pin(FvVconfig *vc)
{
	unsigned pin;

	sim_device_lock(vc->sim);
	pin = vc->vconfig[PCI_INTERRUPT_PIN];
	sim_device_unlock(vc->sim);
	return pin;
}

void fv_vconfig_set_msi_qmax(FvVconfig *vc, unsigned qmax)
{
	sim_device_lock(vc->sim);
	vc->msi_qmax = qmax > 5 ? 5 : qmax;
	sim_device_unlock(vc->sim);
}

void fv_vconfig_set_irq_type(FvVconfig *vc, unsigned irq_type)
{
	sim_device_lock(vc->sim);
	vc->irq_type = irq_type;
	sim_device_unlock(vc->sim);
}

bool fv_vconfig_virq_disabled(FvVconfig *vc)
{
	bool v;

	sim_device_lock(vc->sim);
	v = vc->virq_disabled;
	sim_device_unlock(vc->sim);
	return v;
}

bool fv_vconfig_is_pcie(FvVconfig *vc)
{
	return fv_hostpci_pcie_cap(vc->hp) != 0;
}

bool fv_vconfig_extended_caps(FvVconfig *vc)
{
	return vc->extended_caps;
}

bool fv_vconfig_msix_table(FvVconfig *vc, unsigned *bar, uint32_t *offset,
			   uint32_t *size)
{
	if (vc->msix_bar == MSIX_BAR_NONE)
		return false;
	*bar = vc->msix_bar;
	*offset = vc->msix_offset;
	*size = vc->msix_size;
	return true;
}

unsigned fv_vconfig_map(FvVconfig *vc, unsigned pos)
{
	return pos < vc->cfg_size ? vc->map[pos] : MAP_INVALID;
}

unsigned fv_vconfig_warnings(FvVconfig *vc)
{
	return vc->warnings;
}

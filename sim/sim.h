/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim: register-level PCI device simulator.
 *
 * A SimDevice is one PCI function: a config space with per-bit access masks,
 * BARs holding register blocks, capabilities with their behaviour, interrupt
 * outputs, a DMA port and resets.  It knows PCI, not VFIO and not FUSE: a host
 * (the fake kernel, or a test) reaches it through config/BAR accessors and
 * receives its outputs (MSI messages, INTx level, ERR, REQ, DMA) through
 * SimHostOps callbacks.
 *
 * Every public function locks the device (a recursive mutex), so a device may
 * be driven from several threads; host callbacks run with the lock held and
 * must not block on another thread that drives the same device.
 *
 * Conventions: accessors return 0 or a negative errno; builders return bool
 * and take Error **errp last.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct SimDevice SimDevice;
typedef struct SimRegBlock SimRegBlock;

enum {
	SIM_CFG_SIZE_PCI = 256,		/* conventional config space */
	SIM_CFG_SIZE_PCIE = 4096,	/* PCI Express extended config space */
	SIM_NUM_BARS = 6,
	SIM_ROM_SLOT = 6,		/* bar index used for the expansion ROM */
};

typedef enum SimBarType {
	SIM_BAR_NONE = 0,	/* unimplemented: reads 0, ignores writes */
	SIM_BAR_IO,
	SIM_BAR_MEM32,
	SIM_BAR_MEM64,		/* occupies this BAR and the next one */
} SimBarType;

typedef enum SimResetKind {
	SIM_RESET_POWER_ON,	/* cold: everything back to the power-on image */
	SIM_RESET_FLR,		/* function level reset (PCIe DevCtl or AF) */
	SIM_RESET_PM,		/* D3hot -> D0 without No_Soft_Reset */
	SIM_RESET_HOT,		/* secondary bus reset / hot reset */
} SimResetKind;

typedef enum SimIrqMode {
	SIM_IRQ_NONE,		/* nothing enabled (or INTx disabled and no pin) */
	SIM_IRQ_INTX,
	SIM_IRQ_MSI,
	SIM_IRQ_MSIX,
} SimIrqMode;

/* What became of an interrupt the device raised. */
typedef enum SimIrqResult {
	SIM_IRQ_DELIVERED,	/* a message was sent / the line is asserted */
	SIM_IRQ_PENDING,	/* the vector is masked: pending bit set */
	SIM_IRQ_DROPPED,	/* no enabled mechanism, or vector out of range */
} SimIrqResult;

/* Outputs of a device, wired by its host.  Any member may be NULL. */
typedef struct SimHostOps {
	/* A memory write of "data" to "addr" (MSI or MSI-X message). */
	void (*msi)(void *opaque, SimDevice *dev, uint64_t addr, uint32_t data);
	/* The INTx line (pin 1 = INTA) changed level. */
	void (*intx)(void *opaque, SimDevice *dev, unsigned pin, bool level);
	/* An uncorrectable error was signalled (AER ERR_NONFATAL/ERR_FATAL). */
	void (*err)(void *opaque, SimDevice *dev);
	/* The device asks to be released (device request / surprise unplug). */
	void (*req)(void *opaque, SimDevice *dev);
	/*
	 * Translate and perform a device DMA of len bytes at IOVA.  Return 0,
	 * or a negative errno when the IOMMU refuses (the access must then not
	 * touch memory).  A NULL dma op makes every DMA fail with -ENODEV.
	 */
	int (*dma)(void *opaque, SimDevice *dev, uint64_t iova, void *buf,
		   size_t len, bool write);
	/* Told about every failed DMA (an IOMMU fault), after dma() failed. */
	void (*dma_fault)(void *opaque, SimDevice *dev, uint64_t iova,
			  size_t len, bool write, int err);
} SimHostOps;

/* IDs as the OS publishes them (sysfs vendor/device/...). */
typedef struct SimIds {
	uint16_t vendor, device, subsystem_vendor, subsystem_device;
	uint32_t class_code;	/* 24 bits: base, sub, prog-if */
	uint8_t revision;
} SimIds;

typedef struct SimBarInfo {
	SimBarType type;
	bool prefetch;
	uint64_t size;		/* 0 when unimplemented */
	uint64_t addr;		/* host (bus) address assigned by the host */
} SimBarInfo;

/* ---- lifecycle ------------------------------------------------------ */

/* A blank function: all config bytes 0 and read-only, no BARs, no caps. */
SimDevice *sim_device_new(const char *name, unsigned cfg_size);
void sim_device_free(SimDevice *dev);
const char *sim_device_name(const SimDevice *dev);
unsigned sim_device_cfg_size(const SimDevice *dev);
void sim_device_set_host(SimDevice *dev, const SimHostOps *ops, void *opaque);
/* The ops and opaque last set (NULL, NULL when none), to restore them later. */
void sim_device_get_host(SimDevice *dev, const SimHostOps **ops, void **opaque);
/*
 * The device's own (recursive) lock.  A host that keeps per-device state
 * may guard it with this lock: host callbacks run with it held, so the
 * lock order is always "device first".
 */
void sim_device_lock(SimDevice *dev);
void sim_device_unlock(SimDevice *dev);
/* Take the lock only if that does not block: true when taken. */
bool sim_device_trylock(SimDevice *dev);

/* Behaviour a model adds on top of the generic function. */
typedef struct SimModelOps {
	/* After the generic part of a reset restored the power-on image. */
	void (*reset)(SimDevice *dev, SimResetKind kind);
	/* Free the model state (called by sim_device_free). */
	void (*free)(void *state);
} SimModelOps;
void sim_device_set_model(SimDevice *dev, const SimModelOps *ops, void *state);
void *sim_device_model_state(const SimDevice *dev);

/*
 * Seal the device: check the layout (BARs, capabilities) and record the
 * current config and registers as the power-on image that resets restore.
 * Hard-wired bits are enforced from here on.
 */
bool sim_device_realize(SimDevice *dev, Error **errp);
bool sim_device_realized(const SimDevice *dev);

/* ---- identity ------------------------------------------------------- */

/* Write the header ID registers and the published IDs. */
void sim_device_set_ids(SimDevice *dev, const SimIds *ids);
SimIds sim_device_ids(const SimDevice *dev);
/*
 * Make the function an SR-IOV virtual function (before realize): its raw
 * Vendor/Device ID registers read 0xffff, its BAR registers are read-only
 * zero (the BARs live in the PF's SR-IOV capability), Command Memory/IO
 * Space and Interrupt Disable are hard-wired 0 and memory decode follows
 * the PF's VF MSE bit (sim_device_set_vf_mse, on by default).
 */
void sim_device_set_vf(SimDevice *dev, bool vf);
bool sim_device_is_vf(const SimDevice *dev);
void sim_device_set_vf_mse(SimDevice *dev, bool on);

/* ---- config space --------------------------------------------------- */

/*
 * Config accesses as the bus delivers them: 1..4 bytes within one dword
 * (any byte alignment inside it).  -EINVAL for a length of 0 or > 4, or an
 * access that crosses a dword; -EFAULT beyond the config size.
 */
int sim_cfg_read(SimDevice *dev, unsigned off, unsigned len, uint32_t *val);
int sim_cfg_write(SimDevice *dev, unsigned off, unsigned len, uint32_t val);
/* A buffer access, split into dword-bounded bus accesses. */
int sim_cfg_read_buf(SimDevice *dev, unsigned off, void *buf, size_t len);
int sim_cfg_write_buf(SimDevice *dev, unsigned off, const void *buf, size_t len);

/*
 * The device's own view (no masks, no hooks): what models use to build and
 * update their registers.  After realize, hard-wired bits keep their value.
 */
uint32_t sim_cfg_get(const SimDevice *dev, unsigned off, unsigned len);
void sim_cfg_set(SimDevice *dev, unsigned off, unsigned len, uint32_t val);

/* Per-bit access masks of len (1, 2 or 4) bytes at off. */
typedef enum SimMaskKind {
	SIM_MASK_RW,		/* writable by software */
	SIM_MASK_W1C,		/* write 1 to clear */
	SIM_MASK_HARDWIRED,	/* constant from realize on */
} SimMaskKind;
void sim_cfg_set_mask(SimDevice *dev, SimMaskKind kind, unsigned off,
		      unsigned len, uint32_t mask);
uint32_t sim_cfg_get_mask(const SimDevice *dev, SimMaskKind kind,
			  unsigned off, unsigned len);

/*
 * Behaviour hooks on a config range.  read may adjust *val (the bytes of
 * the access at [off, off+len)); write runs after the masked store with the
 * value that was written.  Both see only accesses overlapping the range.
 */
typedef void (*SimCfgReadHook)(SimDevice *dev, void *opaque, unsigned off,
			       unsigned len, uint32_t *val);
typedef void (*SimCfgWriteHook)(SimDevice *dev, void *opaque, unsigned off,
				unsigned len, uint32_t val);
bool sim_cfg_add_hook(SimDevice *dev, unsigned off, unsigned len,
		      SimCfgReadHook read, SimCfgWriteHook write, void *opaque,
		      Error **errp);

/* ---- capabilities --------------------------------------------------- */

/*
 * Link a standard capability of len bytes at off (dword aligned, >= 0x40)
 * at the end of the chain, so the chain order is the order of the calls.
 * Writes the ID and a zero next pointer; the body is the caller's.
 */
bool sim_cap_add(SimDevice *dev, uint8_t id, unsigned off, unsigned len,
		 Error **errp);
/* Extended capability at off (dword aligned, >= 0x100), appended. */
bool sim_ecap_add(SimDevice *dev, uint16_t id, uint8_t version, unsigned off,
		  unsigned len, Error **errp);
/* Offset of the first capability with this ID (0: none). */
unsigned sim_cap_find(const SimDevice *dev, uint8_t id);
unsigned sim_ecap_find(const SimDevice *dev, uint16_t id);

typedef struct SimPcieConfig {
	uint16_t flags;		/* PCI_EXP_FLAGS: version, type, IMN */
	uint32_t devcap;
	uint16_t devctl;	/* power-on value */
	uint32_t lnkcap;
	uint16_t lnkctl, lnksta;
	uint32_t devcap2;
	uint16_t devctl2;
	uint32_t lnkcap2;
	uint16_t lnkctl2;
} SimPcieConfig;
/*
 * PCI Express capability (v1: 0x14 bytes, v2: 0x3c).  DevCtl is writable
 * (bar Phantom Functions); writing BCR_FLR with DevCap.FLR set performs a
 * function level reset and the bit reads back 0.  DevSta error bits W1C.
 */
bool sim_cap_add_pcie(SimDevice *dev, unsigned off, const SimPcieConfig *cfg,
		      Error **errp);
/*
 * Power management (8 bytes).  PMCSR PowerState is writable among the
 * D-states pmc allows; D3hot -> D0 resets the function unless no_soft_reset.
 * Memory and I/O decode are off outside D0.
 */
bool sim_cap_add_pm(SimDevice *dev, unsigned off, uint16_t pmc,
		    bool no_soft_reset, Error **errp);
/* Advanced Features (6 bytes): TP and FLR capable; AF_CTRL FLR resets. */
bool sim_cap_add_af(SimDevice *dev, unsigned off, Error **errp);
/*
 * MSI with nvec (1, 2, 4, 8, 16 or 32) vectors, 32/64-bit address and
 * optional per-vector masking.
 */
bool sim_cap_add_msi(SimDevice *dev, unsigned off, unsigned nvec, bool addr64,
		     bool maskable, Error **errp);

typedef struct SimMsixConfig {
	unsigned nvec;			/* 1..2048 */
	unsigned table_bar;		/* BIR */
	uint32_t table_offset;		/* 8-byte aligned */
	unsigned pba_bar;
	uint32_t pba_offset;		/* where the PBA really is */
	/*
	 * What the capability reports as the PBA offset; 0 means the same as
	 * pba_offset.  Models a device erratum such as the Chelsio T5 VF's.
	 */
	uint32_t pba_offset_reported;
} SimMsixConfig;
/* MSI-X; the BARs must already be declared and must hold table and PBA. */
bool sim_cap_add_msix(SimDevice *dev, unsigned off, const SimMsixConfig *cfg,
		      Error **errp);
/* AER (0x38 bytes, an endpoint's): status RW1C, masks and severity RW. */
bool sim_ecap_add_aer(SimDevice *dev, unsigned off, Error **errp);
/* ARI (8 bytes). */
bool sim_ecap_add_ari(SimDevice *dev, unsigned off, uint8_t next_function,
		      Error **errp);
/* TPH Requester (0x0c bytes, no ST table) with the given capability reg. */
bool sim_ecap_add_tph(SimDevice *dev, unsigned off, uint32_t tph_cap,
		      Error **errp);
/* Vendor-specific: body[0..len-3] goes after ID and next (len >= 3). */
bool sim_cap_add_vendor(SimDevice *dev, unsigned off, const uint8_t *body,
			unsigned len, Error **errp);

/*
 * Give the behaviour of a capability that is already in config space (a
 * captured profile) without rewriting it.  The MSI-X form reads its layout
 * from the capability; pba_offset (0: as reported) relocates the PBA.
 */
bool sim_cap_adopt(SimDevice *dev, unsigned off, Error **errp);
bool sim_ecap_adopt(SimDevice *dev, unsigned off, Error **errp);
bool sim_cap_adopt_msix(SimDevice *dev, unsigned off, uint32_t pba_offset,
			Error **errp);

/* ---- BARs and their contents --------------------------------------- */

/* Declare BAR idx (before realize).  Size: a power of two, >= 16 (I/O: 4). */
bool sim_bar_add(SimDevice *dev, unsigned idx, SimBarType type, bool prefetch,
		 uint64_t size, Error **errp);
/* Expansion ROM of size bytes, contents data[0..len) then 0xff. */
bool sim_rom_add(SimDevice *dev, uint64_t size, const void *data, size_t len,
		 Error **errp);
bool sim_bar_info(const SimDevice *dev, unsigned idx, SimBarInfo *info);
/*
 * Record the host address of a BAR (idx 6: ROM) and, except for a VF,
 * program it into the BAR register as firmware does.
 */
bool sim_bar_set_addr(SimDevice *dev, unsigned idx, uint64_t addr, Error **errp);

/*
 * Accesses of 1, 2, 4 or 8 bytes at off in BAR idx (6: ROM).  The value
 * is little-endian.  An access may be unaligned; it is split among the
 * registers it touches.  Unbacked bytes read all-ones and ignore writes.
 * -EINVAL: bad length, unimplemented BAR or outside it; -EIO: the device
 * does not decode (Memory/IO Space off, not in D0, ROM disabled).
 */
int sim_bar_read(SimDevice *dev, unsigned idx, uint64_t off, unsigned len,
		 uint64_t *val);
int sim_bar_write(SimDevice *dev, unsigned idx, uint64_t off, unsigned len,
		  uint64_t val);
/* Whether the device currently decodes accesses to BAR idx. */
bool sim_bar_decodes(const SimDevice *dev, unsigned idx);

/* One register in a block. */
typedef struct SimReg {
	const char *name;
	uint32_t offset;	/* within the block */
	uint8_t width;		/* 1, 2, 4 or 8 */
	uint64_t reset;
	uint64_t wmask;		/* writable bits */
	uint64_t w1cmask;	/* write-1-to-clear bits */
} SimReg;

/*
 * Hooks of a block.  read returns the value seen by the access (stored is
 * the register's stored value); write runs after the masked store, with
 * the register's old stored value, the value written and which of its
 * bytes the access covered.
 */
typedef uint64_t (*SimRegReadFn)(SimDevice *dev, SimRegBlock *blk,
				 unsigned idx, uint64_t stored);
typedef void (*SimRegWriteFn)(SimDevice *dev, SimRegBlock *blk, unsigned idx,
			      uint64_t old, uint64_t val, uint64_t bytemask);

/* Map a block of registers (an array kept by the caller) into a BAR. */
SimRegBlock *sim_bar_add_regs(SimDevice *dev, unsigned bar, uint64_t offset,
			      const SimReg *regs, unsigned nregs,
			      SimRegReadFn read, SimRegWriteFn write,
			      void *opaque, Error **errp);
/* Map size bytes of plain memory (reset to fill) into a BAR. */
bool sim_bar_add_ram(SimDevice *dev, unsigned bar, uint64_t offset,
		     uint64_t size, uint8_t fill, Error **errp);
uint64_t sim_regs_get(const SimRegBlock *blk, unsigned idx);
void sim_regs_set(SimRegBlock *blk, unsigned idx, uint64_t val);
void *sim_regs_opaque(const SimRegBlock *blk);
const SimReg *sim_regs_reg(const SimRegBlock *blk, unsigned idx);

/* ---- interrupts ----------------------------------------------------- */

SimIrqMode sim_irq_mode(SimDevice *dev);
/*
 * The device signals interrupt "vector" through whatever is enabled:
 * MSI-X (message, or pending when masked), MSI (likewise), else INTx
 * (asserted; the model deasserts it with sim_intx_set).  While MSI or
 * MSI-X is enabled the INTx line stays deasserted, as the spec requires.
 */
SimIrqResult sim_irq_raise(SimDevice *dev, unsigned vector);
/* Drive the INTx line of a device with an interrupt pin. */
void sim_intx_set(SimDevice *dev, bool level);
/* The line as the host sees it (level and not Interrupt Disable). */
bool sim_intx_asserted(SimDevice *dev);
/* Device request (REQ): ask the host to release the device. */
void sim_req_raise(SimDevice *dev);

/* MSI-X state as seen from the device. */
bool sim_msix_enabled(SimDevice *dev);
unsigned sim_msix_nvec(SimDevice *dev);
bool sim_msix_pending(SimDevice *dev, unsigned vector);
bool sim_msix_entry(SimDevice *dev, unsigned vector, uint64_t *addr,
		    uint32_t *data, uint32_t *ctrl);
/* MSI state. */
bool sim_msi_enabled(SimDevice *dev);
unsigned sim_msi_nvec_enabled(SimDevice *dev);
bool sim_msi_pending(SimDevice *dev, unsigned vector);

/*
 * Inject an AER error: sets the status bit(s) and the PCIe DevSta
 * detected bit; an unmasked uncorrectable error raises ERR through the
 * host.  header (may be NULL) fills the header log.  -ENODEV without AER.
 */
int sim_aer_inject(SimDevice *dev, bool uncorrectable, uint32_t status,
		   const uint32_t header[4]);

/* ---- resets --------------------------------------------------------- */

void sim_device_reset(SimDevice *dev, SimResetKind kind);
const char *sim_reset_kind_name(SimResetKind kind);
/* How many resets of each kind happened (tests, dumps). */
unsigned sim_device_reset_count(SimDevice *dev, SimResetKind kind);

/* ---- DMA ------------------------------------------------------------ */

/*
 * Device-initiated DMA through the host.  -EACCES when Bus Master is off
 * (nothing is attempted), -ENODEV without a host, or the host's error: the
 * host's dma_fault op is told and the device records the fault.
 */
int sim_dma_read(SimDevice *dev, uint64_t iova, void *buf, size_t len);
int sim_dma_write(SimDevice *dev, uint64_t iova, const void *buf, size_t len);
unsigned sim_dma_fault_count(SimDevice *dev);

/* ---- models --------------------------------------------------------- */

/* "key=val,key=val" parameters of a model. */
typedef struct SimParams SimParams;
SimParams *sim_params_parse(const char *text, Error **errp);
void sim_params_free(SimParams *p);
/* NULL when absent; marks the key as used. */
const char *sim_params_get(SimParams *p, const char *key);
/* Number parameter; false (with an error) when malformed or out of range. */
bool sim_params_get_u64(SimParams *p, const char *key, uint64_t def,
			uint64_t min, uint64_t max, uint64_t *out, Error **errp);
bool sim_params_get_bool(SimParams *p, const char *key, bool def, bool *out,
			 Error **errp);
/* Fails naming the first key no model function asked for. */
bool sim_params_check_used(SimParams *p, const char *model, Error **errp);

typedef struct SimModel {
	const char *name;
	const char *summary;
	const char *params_help;	/* one "key=..." per line */
	SimDevice *(*create)(const char *name, SimParams *params, Error **errp);
} SimModel;

/* The bundled models, NULL-terminated. */
const SimModel *const *sim_models(void);
const SimModel *sim_model_find(const char *name);
/*
 * Create and realize a device of model "model" named "name" (the BDF, in
 * the fake) with "key=val,..." parameters (may be NULL or empty).
 */
SimDevice *sim_model_create(const char *model, const char *name,
			    const char *params, Error **errp);

#endif

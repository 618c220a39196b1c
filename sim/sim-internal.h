/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals shared by the files of sim/.  Not for models or hosts. */
#ifndef SIM_SIM_INTERNAL_H
#define SIM_SIM_INTERNAL_H

#include <pthread.h>

#include "sim.h"

typedef enum SimRangeKind {
	SIM_RANGE_REGS,
	SIM_RANGE_RAM,
	SIM_RANGE_MSIX_TABLE,
	SIM_RANGE_MSIX_PBA,
} SimRangeKind;

typedef struct SimRange {
	uint64_t off, size;
	SimRangeKind kind;
	SimRegBlock *blk;	/* REGS */
	uint8_t *ram;		/* RAM */
	uint8_t fill;		/* RAM reset value */
} SimRange;

struct SimRegBlock {
	SimDevice *dev;
	unsigned bar;
	uint64_t offset, size;
	const SimReg *regs;
	unsigned nregs;
	uint64_t *vals;
	SimRegReadFn read;
	SimRegWriteFn write;
	void *opaque;
};

typedef struct SimBar {
	SimBarType type;	/* for the upper half of a 64-bit BAR: NONE */
	bool prefetch;
	bool upper;		/* the upper dword of the BAR before */
	uint64_t size;
	uint64_t addr;
	SimRange *ranges;	/* sorted by off, not overlapping */
	unsigned nranges;
} SimBar;

typedef struct SimCfgHookEntry {
	unsigned off, len;
	SimCfgReadHook read;
	SimCfgWriteHook write;
	void *opaque;
} SimCfgHookEntry;

struct SimDevice {
	pthread_mutex_t lock;
	char *name;
	unsigned cfg_size;
	bool realized;

	uint8_t cfg[SIM_CFG_SIZE_PCIE];
	uint8_t wmask[SIM_CFG_SIZE_PCIE];
	uint8_t w1cmask[SIM_CFG_SIZE_PCIE];
	uint8_t hwmask[SIM_CFG_SIZE_PCIE];
	uint8_t used[SIM_CFG_SIZE_PCIE];	/* claimed by a capability */
	uint8_t poweron[SIM_CFG_SIZE_PCIE];

	SimIds ids;
	bool vf, vf_mse;

	SimBar bar[SIM_NUM_BARS + 1];		/* [6] = ROM */
	uint8_t *rom;

	SimCfgHookEntry *hooks;
	unsigned nhooks;
	unsigned last_cap, last_ecap;

	const SimHostOps *host;
	void *host_opaque;
	const SimModelOps *model;
	void *model_state;

	/* capability locations (0: absent) */
	unsigned pcie_off, pm_off, af_off, aer_off, msi_off, msix_off;
	bool pm_no_soft_reset;

	/* MSI */
	unsigned msi_nvec;		/* capable */
	bool msi_64, msi_maskable;
	uint32_t msi_pending;		/* also mirrored in config if maskable */

	/* MSI-X */
	SimMsixConfig msix;
	uint8_t *msix_table;		/* nvec * 16 bytes */
	uint8_t *msix_pba;		/* ceil(nvec/64) * 8 bytes */

	bool intx_level, intx_line;
	unsigned reset_count[SIM_RESET_HOT + 1];
	unsigned dma_faults;
};

static inline void sim_lock(const SimDevice *dev)
{
	pthread_mutex_lock((pthread_mutex_t *)&dev->lock);
}

static inline void sim_unlock(const SimDevice *dev)
{
	pthread_mutex_unlock((pthread_mutex_t *)&dev->lock);
}

/* Little-endian config helpers (no locking, no masks). */
uint32_t sim_cfg_peek(const SimDevice *dev, unsigned off, unsigned len);
void sim_cfg_poke(SimDevice *dev, unsigned off, unsigned len, uint32_t val);
void sim_mask_poke(uint8_t *mask, unsigned off, unsigned len, uint32_t val);

/* Claim [off, off+len) of config space for a capability. */
bool sim_cfg_claim(SimDevice *dev, unsigned off, unsigned len,
		   const char *what, Error **errp);

/* bar.c */
bool sim_bar_range_check(const SimDevice *dev, unsigned bar, uint64_t off,
			 uint64_t size, Error **errp);
bool sim_bar_add_range(SimDevice *dev, unsigned bar, SimRange *r, Error **errp);
/* Remove the range that starts at off (it must own no memory). */
void sim_bar_del_range(SimDevice *dev, unsigned bar, uint64_t off);
void sim_bars_reset(SimDevice *dev);
void sim_bars_free(SimDevice *dev);
bool sim_bars_realize(SimDevice *dev, Error **errp);

/* msi.c */
bool sim_msi_adopt(SimDevice *dev, unsigned off, Error **errp);
bool sim_msix_adopt(SimDevice *dev, unsigned off, uint32_t pba_offset,
		    Error **errp);
SimIrqResult sim_msi_notify(SimDevice *dev, unsigned vector);
SimIrqResult sim_msix_notify(SimDevice *dev, unsigned vector);
void sim_msix_table_write(SimDevice *dev, uint64_t off, unsigned len,
			  uint64_t val);
void sim_msi_reset(SimDevice *dev);
void sim_msi_free(SimDevice *dev);

/* device.c */
void sim_intx_update(SimDevice *dev);
void sim_reset_locked(SimDevice *dev, SimResetKind kind);
void sim_send_msi(SimDevice *dev, const char *type, unsigned vector,
		  uint64_t addr, uint32_t data);

#endif

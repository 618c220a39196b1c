/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test helpers shared by the unit tests: a host that records everything a
 * simulated device emits, with a DMA window onto a test-owned buffer.
 */
#ifndef TESTS_UNIT_TESTLIB_H
#define TESTS_UNIT_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"

#define TL_MAX_MSGS 64

typedef struct TlMsg {
	uint64_t addr;
	uint32_t data;
} TlMsg;

typedef struct TlHost {
	TlMsg msgs[TL_MAX_MSGS];
	unsigned nmsgs;
	unsigned intx_changes;
	bool intx_level;
	unsigned pin;
	unsigned errs, reqs;
	unsigned dma_calls, faults;
	uint64_t fault_iova;
	int fault_err;
	bool fault_write;
	/* DMA window: IOVA [win_iova, win_iova + win_size) -> win. */
	uint64_t win_iova;
	size_t win_size;
	uint8_t *win;
	bool win_readonly;
} TlHost;

/* Wire dev's outputs to h (zeroed first). */
void tl_host_attach(TlHost *h, SimDevice *dev);
/* Fail the test with err's message unless ok. */
void tl_ok(bool ok, Error *err);
/* Create a model device or fail the test with the error message. */
SimDevice *tl_model(const char *model, const char *name, const char *params);
/* Create a model device expecting failure; returns the message (free it). */
char *tl_model_error(const char *model, const char *params);

uint32_t tl_cfg_read(SimDevice *dev, unsigned off, unsigned len);
void tl_cfg_write(SimDevice *dev, unsigned off, unsigned len, uint32_t val);
uint64_t tl_bar_read(SimDevice *dev, unsigned bar, uint64_t off, unsigned len);
void tl_bar_write(SimDevice *dev, unsigned bar, uint64_t off, unsigned len, uint64_t val);

#endif

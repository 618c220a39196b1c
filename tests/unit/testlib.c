/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testlib.h"

static void h_msi(void *opaque, SimDevice *dev, uint64_t addr, uint32_t data)
{
	TlHost *h = opaque;
	(void)dev;

	if (h->nmsgs < TL_MAX_MSGS)
		h->msgs[h->nmsgs] = (TlMsg){ addr, data };
	h->nmsgs++;
}

static void h_intx(void *opaque, SimDevice *dev, unsigned pin, bool level)
{
	TlHost *h = opaque;
	(void)dev;

	h->intx_changes++;
	h->intx_level = level;
	h->pin = pin;
}

static void h_err(void *opaque, SimDevice *dev)
{
	(void)dev;
	((TlHost *)opaque)->errs++;
}

static void h_req(void *opaque, SimDevice *dev)
{
	(void)dev;
	((TlHost *)opaque)->reqs++;
}

static int h_dma(void *opaque, SimDevice *dev, uint64_t iova, void *buf,
		 size_t len, bool write)
{
	TlHost *h = opaque;
	(void)dev;

	h->dma_calls++;
	if (!h->win || iova < h->win_iova || len > h->win_size ||
	    iova - h->win_iova > h->win_size - len)
		return -EFAULT;
	if (write && h->win_readonly)
		return -EPERM;
	if (write)
		memcpy(h->win + (iova - h->win_iova), buf, len);
	else
		memcpy(buf, h->win + (iova - h->win_iova), len);
	return 0;
}

static void h_fault(void *opaque, SimDevice *dev, uint64_t iova, size_t len,
		    bool write, int err)
{
	TlHost *h = opaque;
	(void)dev; (void)len;

	h->faults++;
	h->fault_iova = iova;
	h->fault_write = write;
	h->fault_err = err;
}

static const SimHostOps tl_ops = {
	.msi = h_msi, .intx = h_intx, .err = h_err, .req = h_req,
	.dma = h_dma, .dma_fault = h_fault,
};

void tl_host_attach(TlHost *h, SimDevice *dev)
{
	memset(h, 0, sizeof(*h));
	sim_device_set_host(dev, &tl_ops, h);
}

void tl_ok(bool ok, Error *err)
{
	if (!ok)
		fail_msg("%s", error_get_pretty(err));
}

SimDevice *tl_model(const char *model, const char *name, const char *params)
{
	Error *err = NULL;
	SimDevice *dev = sim_model_create(model, name, params, &err);

	if (!dev)
		fail_msg("creating %s(%s): %s", model, params ? params : "",
			 error_get_pretty(err));
	return dev;
}

char *tl_model_error(const char *model, const char *params)
{
	Error *err = NULL;
	SimDevice *dev = sim_model_create(model, "0000:00:01.0", params, &err);
	char *msg;

	if (dev) {
		sim_device_free(dev);
		fail_msg("creating %s(%s) unexpectedly succeeded", model, params);
	}
	assert_non_null(err);
	msg = strdup(error_get_pretty(err));
	error_free(err);
	return msg;
}

uint32_t tl_cfg_read(SimDevice *dev, unsigned off, unsigned len)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(sim_cfg_read(dev, off, len, &v), 0);
	return v;
}

void tl_cfg_write(SimDevice *dev, unsigned off, unsigned len, uint32_t val)
{
	assert_int_equal(sim_cfg_write(dev, off, len, val), 0);
}

uint64_t tl_bar_read(SimDevice *dev, unsigned bar, uint64_t off, unsigned len)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(sim_bar_read(dev, bar, off, len, &v), 0);
	return v;
}

void tl_bar_write(SimDevice *dev, unsigned bar, uint64_t off, unsigned len, uint64_t val)
{
	assert_int_equal(sim_bar_write(dev, bar, off, len, val), 0);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* core/gpci: registration rules, config masks and side effects, BARs, caps, INTx. */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/gintc.h"
#include "core/gmem.h"
#include "core/gpci.h"
#include "corecheck.h"

/* ---- helpers ------------------------------------------------------------ */

#define LOG_MAX 64
static char g_log[LOG_MAX][200];
static size_t g_nlog;

static void rec(const char *what, const GMemSection *s)
{
	if (g_nlog >= LOG_MAX)
		fail_msg("log full");
	snprintf(g_log[g_nlog++], sizeof(g_log[0]), "%s %s 0x%llx+0x%llx %s@0x%llx", s->as->name,
		 what, (unsigned long long)s->offset_within_address_space,
		 (unsigned long long)s->size, s->mr->name,
		 (unsigned long long)s->offset_within_region);
}

static void rec_add(GMemListener *l, const GMemSection *s)
{
	(void)l;
	rec("add", s);
}

static void rec_del(GMemListener *l, const GMemSection *s)
{
	(void)l;
	rec("del", s);
}

static void log_expect(const char *first, ...)
{
	va_list ap;
	const char *want = first;
	size_t i = 0;

	va_start(ap, first);
	while (want) {
		if (i >= g_nlog)
			fail_msg("log line %zu missing, want '%s'", i, want);
		if (strcmp(g_log[i], want))
			fail_msg("log line %zu: '%s', want '%s'", i, g_log[i], want);
		i++;
		want = va_arg(ap, const char *);
	}
	va_end(ap);
	if (i != g_nlog)
		fail_msg("unexpected log line %zu: '%s'", i, g_log[i]);
	g_nlog = 0;
}

/* The machine: 64 KiB of RAM at 0, a 64 KiB I/O space, the sink, one bus. */
typedef struct Machine {
	GMemRegion sys, io, ram;
	GAddressSpace mem_as, io_as;
	GMemListener lmem, lio;
	GIntc intc;
	GPciBus bus;
} Machine;

static int machine_setup(void **state)
{
	Machine *m = calloc(1, sizeof(*m));
	Error *err = NULL;

	assert_non_null(m);
	gmem_region_init_container(&m->sys, "sys", UINT64_MAX);
	gmem_region_init_container(&m->io, "io", 0x10000);
	ok(gmem_region_init_ram(&m->ram, "ram", 0x10000, &err), err);
	ok(gmem_region_add_subregion(&m->sys, 0, &m->ram, &err), err);
	gmem_as_init(&m->mem_as, &m->sys, "mem");
	gmem_as_init(&m->io_as, &m->io, "io");
	gintc_init(&m->intc, "intc");
	gpci_bus_init(&m->bus, "pci", &m->sys, &m->io, &m->mem_as, &m->intc);
	m->lmem.region_add = m->lio.region_add = rec_add;
	m->lmem.region_del = m->lio.region_del = rec_del;
	ok(gmem_listener_register(&m->lmem, &m->mem_as, &err), err);
	ok(gmem_listener_register(&m->lio, &m->io_as, &err), err);
	log_expect("mem add 0x0+0x10000 ram@0x0", NULL);
	*state = m;
	return 0;
}

static int machine_teardown(void **state)
{
	Machine *m = *state;

	gpci_bus_destroy(&m->bus);
	gmem_as_destroy(&m->mem_as);
	gmem_as_destroy(&m->io_as);
	gmem_region_destroy(&m->ram);
	gmem_region_destroy(&m->io);
	gmem_region_destroy(&m->sys);
	gintc_destroy(&m->intc);
	g_nlog = 0;
	free(m);
	return 0;
}

/* ---- a test device -------------------------------------------------------- */

typedef struct TDev {
	GPciDevice pdev;
	GMemRegion bar0, bar1, bar2, rom;
	uint8_t regs[16];
	bool with_bars, fail_init, fail_realize, pin;
	unsigned resets, exits, cfg_writes;
} TDev;

static uint64_t reg_read(void *opaque, uint64_t addr, unsigned size)
{
	TDev *t = opaque;
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)t->regs[(addr + i) % 16] << (8 * i);
	return v;
}

static void reg_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
	TDev *t = opaque;

	for (unsigned i = 0; i < size; i++)
		t->regs[(addr + i) % 16] = (uint8_t)(val >> (8 * i));
}

static const GMemOps reg_ops = { .read = reg_read, .write = reg_write };

static bool tdev_realize(GPciDevice *pdev, Error **errp)
{
	TDev *t = pdev->opaque;

	if (t->pin)
		pdev->config[PCI_INTERRUPT_PIN] = 1;
	if (t->with_bars) {
		gmem_region_init_io(&t->bar0, "bar0", 0x1000, &reg_ops, t);
		gmem_region_init_io(&t->bar1, "bar1", 0x100, &reg_ops, t);
		gmem_region_init_io(&t->bar2, "bar2", 0x100000, &reg_ops, t);
		gmem_region_init_io(&t->rom, "rom", 0x10000, &reg_ops, t);
		if (!gpci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &t->bar0, errp) ||
		    !gpci_register_bar(pdev, 1, PCI_BASE_ADDRESS_SPACE_IO, &t->bar1, errp) ||
		    !gpci_register_bar(pdev, 2, PCI_BASE_ADDRESS_MEM_TYPE_64 |
				       PCI_BASE_ADDRESS_MEM_PREFETCH, &t->bar2, errp) ||
		    !gpci_register_bar(pdev, GPCI_ROM_SLOT, 0, &t->rom, errp))
			return false;
	}
	if (t->fail_realize) {
		error_setg(errp, "tdev: realize refused");
		return false;
	}
	return true;
}

static int tdev_init(GPciDevice *pdev)
{
	TDev *t = pdev->opaque;

	return t->fail_init ? -1 : 0;
}

static void tdev_exit(GPciDevice *pdev)
{
	((TDev *)pdev->opaque)->exits++;
}

static void tdev_reset(GPciDevice *pdev)
{
	((TDev *)pdev->opaque)->resets++;
}

static void tdev_cfg_write(GPciDevice *pdev, uint32_t addr, uint32_t val, int len)
{
	((TDev *)pdev->opaque)->cfg_writes++;
	gpci_default_write_config(pdev, addr, val, len);
}

static const GPciDeviceClass tdev_class = {
	.type = "tdev",
	.vendor_id = 0x1234,
	.device_id = 0x5678,
	.revision = 0x02,
	.class_id = 0x020000,
	.realize = tdev_realize,
	.exit = tdev_exit,
	.reset = tdev_reset,
	.config_write = tdev_cfg_write,
};

static const GPciDeviceClass init_class = {
	.type = "olddev",
	.vendor_id = 0x1af4,
	.init = tdev_init,
	.subsystem_vendor_id = 0x10de,
	.subsystem_id = 0x0001,
};

static const GPciDeviceClass nohp_class = {
	.type = "nohp",
	.no_hotplug = true,
};

static const GPciDeviceClass express_class = {
	.type = "pcie-dev",
	.is_express = true,
};

static TDev *tdev_new(Machine *m, const GPciDeviceClass *cls, int devfn,
		      const char *id)
{
	TDev *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	gpci_device_init(&t->pdev, cls, &m->bus, devfn, id, t);
	return t;
}

static void tdev_free(TDev *t)
{
	gpci_device_unrealize(&t->pdev);
	if (t->with_bars) {
		gmem_region_destroy(&t->bar0);
		gmem_region_destroy(&t->bar1);
		gmem_region_destroy(&t->bar2);
		gmem_region_destroy(&t->rom);
	}
	free(t);
}

static uint32_t cfg_rd(TDev *t, uint32_t off, int len)
{
	return gpci_config_read(&t->pdev, off, len);
}

static void cfg_wr(TDev *t, uint32_t off, int len, uint32_t val)
{
	gpci_config_write(&t->pdev, off, val, len);
}

/* ---- registration ------------------------------------------------------------ */

static void test_register_rules_and_messages(void **state)
{
	Machine *m = *state;
	TDev *a = tdev_new(m, &tdev_class, GPCI_DEVFN(3, 0), "a");
	TDev *b = tdev_new(m, &init_class, GPCI_DEVFN(3, 0), NULL);
	TDev *c, *d, *e;
	Error *err = NULL;

	ok(gpci_device_realize(&a->pdev, &err), err);
	assert_ptr_equal(gpci_bus_find_device(&m->bus, GPCI_DEVFN(3, 0)), &a->pdev);
	assert_true(a->pdev.realized);
	ok(gpci_device_realize(&a->pdev, &err), err);	/* already: no-op */

	expect_error(gpci_device_realize(&b->pdev, &err), err,
		     "PCI: slot 3 function 0 not available for olddev, in use by tdev");
	/* Unnamed devices are named as QEMU's unattached ones. */
	assert_string_equal(b->pdev.id, "device[0]");
	assert_null(b->pdev.config);

	/* devfn -1: the first free slot's function 0. */
	c = tdev_new(m, &init_class, -1, NULL);
	m->bus.devfn_min = GPCI_DEVFN(2, 0);
	ok(gpci_device_realize(&c->pdev, &err), err);
	assert_int_equal(c->pdev.devfn, GPCI_DEVFN(2, 0));
	assert_string_equal(c->pdev.id, "device[1]");
	/* Its class's ids; an explicit subsystem. */
	assert_int_equal(cfg_rd(c, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(c, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x000110de);
	d = tdev_new(m, &init_class, -1, "d");
	ok(gpci_device_realize(&d->pdev, &err), err);
	assert_int_equal(d->pdev.devfn, GPCI_DEVFN(4, 0));	/* 3 is taken */

	/* init() < 0: the seed's message, and the slot is free again. */
	e = tdev_new(m, &init_class, GPCI_DEVFN(9, 0), "e");
	e->fail_init = true;
	expect_error(gpci_device_realize(&e->pdev, &err), err,
		     "Device initialization failed");
	assert_null(gpci_bus_find_device(&m->bus, GPCI_DEVFN(9, 0)));
	e->fail_init = false;
	ok(gpci_device_realize(&e->pdev, &err), err);
	tdev_free(e);
	assert_null(gpci_bus_find_device(&m->bus, GPCI_DEVFN(9, 0)));

	/* realize's own error is passed on. */
	e = tdev_new(m, &tdev_class, GPCI_DEVFN(9, 0), "e");
	e->fail_realize = true;
	expect_error(gpci_device_realize(&e->pdev, &err), err, "tdev: realize refused");
	assert_null(gpci_bus_find_device(&m->bus, GPCI_DEVFN(9, 0)));
	free(e);

	e = tdev_new(m, &tdev_class, 300, "big");
	expect_error(gpci_device_realize(&e->pdev, &err), err,
		     "PCI: devfn 300 is out of range for tdev");
	free(e);

	tdev_free(a);
	tdev_free(b);
	tdev_free(c);
	tdev_free(d);
}

static void test_register_all_slots_in_use(void **state)
{
	Machine *m = *state;
	TDev *t[GPCI_SLOT_MAX], *extra;
	Error *err = NULL;
	unsigned i;

	for (i = 0; i < GPCI_SLOT_MAX; i++) {
		t[i] = tdev_new(m, &init_class, -1, NULL);
		ok(gpci_device_realize(&t[i]->pdev, &err), err);
		assert_int_equal(t[i]->pdev.devfn, GPCI_DEVFN(i, 0));
	}
	assert_string_equal(t[31]->pdev.id, "device[31]");
	extra = tdev_new(m, &init_class, -1, NULL);
	expect_error(gpci_device_realize(&extra->pdev, &err), err,
		     "PCI: no slot/function available for olddev, all in use");
	/* Functions other than 0 are still free. */
	gpci_device_init(&extra->pdev, &init_class, &m->bus, GPCI_DEVFN(5, 3), "x", extra);
	gpci_device_set_multifunction(&t[5]->pdev, true);
	t[5]->pdev.cap_present |= GPCI_CAP_MULTIFUNCTION;
	ok(gpci_device_realize(&extra->pdev, &err), err);
	tdev_free(extra);
	for (i = 0; i < GPCI_SLOT_MAX; i++)
		tdev_free(t[i]);
}

static void test_multifunction_both_ways(void **state)
{
	Machine *m = *state;
	TDev *f0 = tdev_new(m, &init_class, GPCI_DEVFN(2, 0), "f0");
	TDev *f1 = tdev_new(m, &init_class, GPCI_DEVFN(2, 1), "f1");
	TDev *g1 = tdev_new(m, &init_class, GPCI_DEVFN(4, 1), "g1");
	TDev *g0 = tdev_new(m, &init_class, GPCI_DEVFN(4, 0), "g0");
	TDev *h0 = tdev_new(m, &init_class, GPCI_DEVFN(6, 0), "h0");
	TDev *h7 = tdev_new(m, &init_class, GPCI_DEVFN(6, 7), "h7");
	Error *err = NULL;

	/* Single-function 2.0 first: 2.1 is refused. */
	ok(gpci_device_realize(&f0->pdev, &err), err);
	assert_int_equal(cfg_rd(f0, PCI_HEADER_TYPE, 1), 0);
	expect_error(gpci_device_realize(&f1->pdev, &err), err,
		     "PCI: single function device can't be populated in function 2.1");

	/* 4.1 first, then a single-function 4.0 is refused. */
	ok(gpci_device_realize(&g1->pdev, &err), err);
	expect_error(gpci_device_realize(&g0->pdev, &err), err,
		     "PCI: 4.0 indicates single function, but 4.1 is already populated.");
	/* With the multifunction property it is accepted and says so. */
	gpci_device_init(&g0->pdev, &init_class, &m->bus, GPCI_DEVFN(4, 0), "g0", g0);
	gpci_device_set_multifunction(&g0->pdev, true);
	ok(gpci_device_realize(&g0->pdev, &err), err);
	assert_int_equal(cfg_rd(g0, PCI_HEADER_TYPE, 1), GPCI_HEADER_TYPE_MULTI_FUNCTION);
	/* Function > 0 need not set the bit itself. */
	assert_int_equal(cfg_rd(g1, PCI_HEADER_TYPE, 1), 0);

	/* A multifunction 6.0 takes 6.7 without the bit. */
	gpci_device_set_multifunction(&h0->pdev, true);
	ok(gpci_device_realize(&h0->pdev, &err), err);
	ok(gpci_device_realize(&h7->pdev, &err), err);
	gpci_device_set_multifunction(&h0->pdev, false);	/* property: no effect now */

	tdev_free(f0);
	tdev_free(f1);
	tdev_free(g1);
	tdev_free(g0);
	tdev_free(h0);
	tdev_free(h7);
}

static void test_hotplug_rules(void **state)
{
	Machine *m = *state;
	TDev *f0 = tdev_new(m, &tdev_class, GPCI_DEVFN(3, 0), "f0");
	TDev *f1, *nohp, *hp;
	Error *err = NULL;

	gpci_device_set_multifunction(&f0->pdev, true);
	ok(gpci_device_realize(&f0->pdev, &err), err);
	assert_false(f0->pdev.hotplugged);
	assert_int_equal(f0->resets, 0);	/* cold plug: no reset */

	gpci_bus_set_hotplug(&m->bus, true);
	/* Hotplugging a function next to an existing function 0. */
	f1 = tdev_new(m, &tdev_class, GPCI_DEVFN(3, 1), "f1");
	assert_true(f1->pdev.hotplugged);
	expect_error(gpci_device_realize(&f1->pdev, &err), err,
		     "PCI: slot 3 function 0 already ocuppied by tdev, new func tdev "
		     "cannot be exposed to guest.");

	nohp = tdev_new(m, &nohp_class, GPCI_DEVFN(5, 0), "n");
	assert_false(nohp->pdev.hotpluggable);
	expect_error(gpci_device_realize(&nohp->pdev, &err), err,
		     "Device 'nohp' does not support hotplugging");

	/* A hotplugged device is reset (its class reset) once realized. */
	hp = tdev_new(m, &tdev_class, GPCI_DEVFN(6, 0), "hp");
	ok(gpci_device_realize(&hp->pdev, &err), err);
	assert_int_equal(hp->resets, 1);
	gpci_bus_set_hotplug(&m->bus, false);

	tdev_free(f0);
	tdev_free(f1);
	free(nohp);
	tdev_free(hp);
}

/* ---- config space ------------------------------------------------------------ */

static void test_config_defaults_and_masks(void **state)
{
	Machine *m = *state;
	TDev *t = tdev_new(m, &tdev_class, GPCI_DEVFN(1, 0), "t");
	TDev *n = tdev_new(m, &init_class, GPCI_DEVFN(2, 0), "n");
	TDev *x = tdev_new(m, &express_class, GPCI_DEVFN(3, 0), "x");
	GPciDevice *d = &t->pdev;
	Error *err = NULL;
	/* Expected writable / write-1-to-clear bits of the header, by byte. */
	static const uint8_t want_w[0x40] = {
		[0x04] = 0x07, [0x05] = 0x05, [0x0c] = 0xff, [0x3c] = 0xff,
	};
	static const uint8_t want_w1c[0x40] = { [0x07] = 0xf9 };
	static const uint8_t want_c[0x40] = {
		[0x00] = 0xff, [0x01] = 0xff, [0x02] = 0xff, [0x03] = 0xff,
		[0x06] = 0x10, [0x08] = 0xff, [0x09] = 0xff, [0x0a] = 0xff,
		[0x0b] = 0xff, [0x0e] = 0xff, [0x34] = 0xff,
	};

	ok(gpci_device_realize(d, &err), err);
	gpci_device_set_command_serr(&n->pdev, false);
	ok(gpci_device_realize(&n->pdev, &err), err);
	ok(gpci_device_realize(&x->pdev, &err), err);

	assert_int_equal(cfg_rd(t, PCI_VENDOR_ID, 4), 0x56781234);
	assert_int_equal(cfg_rd(t, PCI_CLASS_REVISION, 4), 0x02000002);
	/* No subsystem in the class: QEMU's default one. */
	assert_int_equal(cfg_rd(t, PCI_SUBSYSTEM_VENDOR_ID, 2), GPCI_DEFAULT_SUBVENDOR_ID);
	assert_int_equal(cfg_rd(t, PCI_SUBSYSTEM_ID, 2), GPCI_DEFAULT_SUBSYSTEM_ID);
	assert_int_equal(gpci_config_size(d), 256);
	assert_int_equal(gpci_config_size(&x->pdev), 4096);

	for (unsigned i = 0; i < 0x40; i++) {
		assert_int_equal(d->wmask[i], want_w[i]);
		assert_int_equal(d->w1cmask[i], want_w1c[i]);
		assert_int_equal(d->cmask[i], want_c[i]);
	}
	for (unsigned i = 0x40; i < 0x100; i++)
		assert_int_equal(d->wmask[i], 0xff);
	for (unsigned i = 0x40; i < 0x1000; i += 0x1f)
		assert_int_equal(x->pdev.wmask[i], 0xff);
	/* command_serr_enable=off: SERR is not writable. */
	assert_int_equal(gpci_get_word(n->pdev.wmask + PCI_COMMAND), 0x0407);

	/* Byte by byte: 0xff then 0x00 into every header byte. */
	for (unsigned i = 0; i < 0x40; i++) {
		uint8_t before = d->config[i], after;

		if (i >= PCI_BASE_ADDRESS_0 && i < PCI_CARDBUS_CIS)
			continue;	/* BARs: see the BAR tests */
		cfg_wr(t, i, 1, 0xff);
		after = (uint8_t)cfg_rd(t, i, 1);
		if (after != (uint8_t)(((before & ~want_w[i]) | want_w[i]) & ~want_w1c[i]))
			fail_msg("byte 0x%02x: 0x%02x -> 0x%02x after 0xff", i, before, after);
		cfg_wr(t, i, 1, 0x00);
		if ((uint8_t)cfg_rd(t, i, 1) != (uint8_t)(after & ~want_w[i]))
			fail_msg("byte 0x%02x: 0x%02x after 0x00", i, cfg_rd(t, i, 1));
	}
	/* W1C: only 1 bits clear, only the W1C ones; the rest stays. */
	d->config[PCI_STATUS + 1] = 0xff;
	cfg_wr(t, PCI_STATUS, 2, 0x0100);
	assert_int_equal(cfg_rd(t, PCI_STATUS + 1, 1), 0xfe);
	cfg_wr(t, PCI_STATUS, 2, 0x0600);	/* DEVSEL bits: read-only */
	assert_int_equal(cfg_rd(t, PCI_STATUS + 1, 1), 0xfe);
	cfg_wr(t, PCI_STATUS, 2, 0xffff);
	assert_int_equal(cfg_rd(t, PCI_STATUS + 1, 1), 0x06);
	/* Past the header: writable by default (the device's registers). */
	cfg_wr(t, 0x80, 4, 0xcafef00d);
	assert_int_equal(cfg_rd(t, 0x80, 4), 0xcafef00d);
	assert_int_equal(cfg_rd(t, 0x81, 2), 0xfef0);

	/* Out of range: all-ones, dropped; crossing the end: shortened. */
	assert_int_equal(cfg_rd(t, 0x100, 4), 0xffffffff);
	assert_int_equal(cfg_rd(t, 0x100, 1), 0xff);
	assert_int_equal(cfg_rd(t, 0x10, 3 + 2), 0xffffffff);	/* len 5 */
	d->config[0xfe] = 0x11;
	d->config[0xff] = 0x22;
	assert_int_equal(cfg_rd(t, 0xfe, 4), 0x2211);
	cfg_wr(t, 0xfe, 4, 0xaabbccdd);
	assert_int_equal(cfg_rd(t, 0xfe, 2), 0xccdd);
	cfg_wr(t, 0x100, 4, 0);
	assert_int_equal(gpci_default_read_config(d, 0xfe, 4), 0xffffffff);
	assert_int_equal(cfg_rd(&(TDev){ 0 }, 0, 4), 0xffffffff);	/* unregistered */

	/* Every write went through the device's own handler. */
	assert_true(t->cfg_writes > 0x40);

	/* The bus view of the same device, and of an empty slot. */
	assert_int_equal(gpci_bus_config_read(&m->bus, GPCI_DEVFN(1, 0), 0, 2), 0x1234);
	assert_int_equal(gpci_bus_config_read(&m->bus, GPCI_DEVFN(7, 0), 0, 2), 0xffff);
	gpci_bus_config_write(&m->bus, GPCI_DEVFN(1, 0), PCI_INTERRUPT_LINE, 0x0b, 1);
	gpci_bus_config_write(&m->bus, GPCI_DEVFN(7, 0), PCI_INTERRUPT_LINE, 0x0b, 1);
	assert_int_equal(cfg_rd(t, PCI_INTERRUPT_LINE, 1), 0x0b);

	tdev_free(t);
	tdev_free(n);
	tdev_free(x);
}

static void test_ecam_window(void **state)
{
	Machine *m = *state;
	TDev *t = tdev_new(m, &tdev_class, GPCI_DEVFN(1, 2), "t");
	GMemRegion ecam;
	Error *err = NULL;
	uint64_t v;

	ok(gpci_device_realize(&t->pdev, &err), err);
	gpci_bus_init_ecam(&m->bus, &ecam, NULL);
	assert_int_equal(gmem_region_size(&ecam), 0x100000);
	ok(gmem_region_add_subregion(&m->sys, 0xf0000000, &ecam, &err), err);
	log_expect("mem add 0xf0000000+0x100000 pci-ecam@0x0", NULL);
	assert_int_equal(gmem_read_val(&m->mem_as, 0xf0000000 + (0x0a << 12), 4, &v), GMEM_OK);
	assert_int_equal(v, 0x56781234);
	assert_int_equal(gmem_read_val(&m->mem_as, 0xf0000000 + (0x08 << 12), 4, &v), GMEM_OK);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(gmem_write_val(&m->mem_as, 0xf0000000 + (0x0a << 12) + PCI_CACHE_LINE_SIZE,
					1, 0x10), GMEM_OK);
	assert_int_equal(cfg_rd(t, PCI_CACHE_LINE_SIZE, 1), 0x10);
	gmem_region_destroy(&ecam);
	log_expect("mem del 0xf0000000+0x100000 pci-ecam@0x0", NULL);
	tdev_free(t);
}

/* ---- BARs -------------------------------------------------------------------- */

static void test_bar_sizing_and_mapping(void **state)
{
	Machine *m = *state;
	TDev *t = tdev_new(m, &tdev_class, GPCI_DEVFN(1, 0), "t");
	Error *err = NULL;
	uint64_t v;

	t->with_bars = true;
	ok(gpci_device_realize(&t->pdev, &err), err);
	/* Type bits are there from the start; nothing is mapped. */
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_1, 4), 1);
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_2, 4), 0x0c);
	assert_int_equal(gpci_get_bar_addr(&t->pdev, 0), GPCI_BAR_UNMAPPED);
	assert_int_equal(gpci_get_bar_addr(&t->pdev, 9), GPCI_BAR_UNMAPPED);
	log_expect(NULL);

	/* The size mask read-back rule. */
	cfg_wr(t, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	cfg_wr(t, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	cfg_wr(t, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	cfg_wr(t, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	cfg_wr(t, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_0, 4), 0xfffff000);
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_1, 4), 0xffffff01);
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_2, 4), 0xfff0000c);
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_3, 4), 0xffffffff);
	assert_int_equal(cfg_rd(t, PCI_ROM_ADDRESS, 4), 0xffff0001);
	/* Unused BARs stay 0. */
	cfg_wr(t, PCI_BASE_ADDRESS_4, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_4, 4), 0);
	log_expect(NULL);	/* decode off: still nothing mapped */

	/* Program and enable decode: each BAR appears where it was put. */
	cfg_wr(t, PCI_BASE_ADDRESS_0, 4, 0xe0000000);
	cfg_wr(t, PCI_BASE_ADDRESS_1, 4, 0x1000);
	cfg_wr(t, PCI_BASE_ADDRESS_2, 4, 0);
	cfg_wr(t, PCI_BASE_ADDRESS_3, 4, 0x1);
	cfg_wr(t, PCI_ROM_ADDRESS, 4, 0xfeb00000);	/* enable bit clear */
	log_expect(NULL);
	cfg_wr(t, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	log_expect("mem add 0xe0000000+0x1000 bar0@0x0",
		   "mem add 0x100000000+0x100000 bar2@0x0",
		   "io add 0x1000+0x100 bar1@0x0", NULL);
	assert_int_equal(gpci_get_bar_addr(&t->pdev, 0), 0xe0000000);
	assert_int_equal(gpci_get_bar_addr(&t->pdev, 2), 0x100000000ull);
	assert_int_equal(gpci_get_bar_addr(&t->pdev, GPCI_ROM_SLOT), GPCI_BAR_UNMAPPED);

	/* The guest reaches the device's registers through the BAR. */
	assert_int_equal(gmem_write_val(&m->mem_as, 0xe0000004, 4, 0x12345678), GMEM_OK);
	assert_int_equal(t->regs[4], 0x78);
	assert_int_equal(gmem_read_val(&m->io_as, 0x1004, 2, &v), GMEM_OK);
	assert_int_equal(v, 0x5678);

	/* The ROM needs its own enable bit. */
	cfg_wr(t, PCI_ROM_ADDRESS, 4, 0xfeb00001);
	log_expect("mem add 0xfeb00000+0x10000 rom@0x0", NULL);

	/* Moving a BAR: gone from the old place, then at the new one. */
	cfg_wr(t, PCI_BASE_ADDRESS_0, 4, 0xe0100000);
	log_expect("mem del 0xe0000000+0x1000 bar0@0x0",
		   "mem add 0xe0100000+0x1000 bar0@0x0", NULL);
	/* Sizing while decoding unmaps it (a 32-bit BAR reaching 4 GiB). */
	cfg_wr(t, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	log_expect("mem del 0xe0100000+0x1000 bar0@0x0", NULL);
	cfg_wr(t, PCI_BASE_ADDRESS_0, 4, 0xe0100000);
	log_expect("mem add 0xe0100000+0x1000 bar0@0x0", NULL);
	/* Address 0 does not decode. */
	cfg_wr(t, PCI_BASE_ADDRESS_1, 4, 0);
	log_expect("io del 0x1000+0x100 bar1@0x0", NULL);
	cfg_wr(t, PCI_BASE_ADDRESS_1, 4, 0x2000);
	log_expect("io add 0x2000+0x100 bar1@0x0", NULL);

	/* Decode off: every memory BAR goes; I/O stays. */
	cfg_wr(t, PCI_COMMAND, 2, PCI_COMMAND_IO);
	log_expect("mem del 0xe0100000+0x1000 bar0@0x0",
		   "mem del 0xfeb00000+0x10000 rom@0x0",
		   "mem del 0x100000000+0x100000 bar2@0x0", NULL);
	cfg_wr(t, PCI_COMMAND, 2, 0);
	log_expect("io del 0x2000+0x100 bar1@0x0", NULL);

	/* A BAR over RAM wins (priority 1), and the RAM comes back after. */
	cfg_wr(t, PCI_BASE_ADDRESS_0, 4, 0x4000);
	cfg_wr(t, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	log_expect("mem del 0x0+0x10000 ram@0x0",
		   "mem add 0x0+0x4000 ram@0x0",
		   "mem add 0x4000+0x1000 bar0@0x0",
		   "mem add 0x5000+0xb000 ram@0x5000",
		   "mem add 0xfeb00000+0x10000 rom@0x0",
		   "mem add 0x100000000+0x100000 bar2@0x0", NULL);

	/* Unrealize unmaps everything. */
	gpci_device_unrealize(&t->pdev);
	log_expect("mem del 0x0+0x4000 ram@0x0",
		   "mem del 0x4000+0x1000 bar0@0x0",
		   "mem del 0x5000+0xb000 ram@0x5000",
		   "mem del 0xfeb00000+0x10000 rom@0x0",
		   "mem del 0x100000000+0x100000 bar2@0x0",
		   "mem add 0x0+0x10000 ram@0x0", NULL);
	assert_int_equal(t->exits, 1);
	tdev_free(t);
}

static void test_bar_register_errors(void **state)
{
	Machine *m = *state;
	TDev *t = tdev_new(m, &tdev_class, GPCI_DEVFN(1, 0), "t");
	GMemRegion odd, ok4k, io;
	Error *err = NULL;

	gmem_region_init_io(&odd, "odd", 0x3000, &reg_ops, t);
	gmem_region_init_io(&ok4k, "ok", 0x1000, &reg_ops, t);
	gmem_region_init_io(&io, "io", 0x100, &reg_ops, t);
	expect_error(gpci_register_bar(&t->pdev, 0, 0, &ok4k, &err), err,
		     "PCI: BAR 0 of t: device not registered or no region");
	ok(gpci_device_realize(&t->pdev, &err), err);
	expect_error(gpci_register_bar(&t->pdev, 0, 0, &odd, &err), err,
		     "PCI region size must be pow2 type=0x0, size=0x3000");
	expect_error(gpci_register_bar(&t->pdev, 7, 0, &ok4k, &err), err,
		     "PCI: invalid BAR 7 for t");
	expect_error(gpci_register_bar(&t->pdev, -1, 0, &ok4k, &err), err,
		     "PCI: invalid BAR -1 for t");
	expect_error(gpci_register_bar(&t->pdev, 5, PCI_BASE_ADDRESS_MEM_TYPE_64, &ok4k, &err),
		     err, "PCI: 64-bit BAR 5 of t has no room for its upper half");
	expect_error(gpci_register_bar(&t->pdev, GPCI_ROM_SLOT, PCI_BASE_ADDRESS_SPACE_IO,
				       &io, &err), err,
		     "PCI: the ROM BAR of t must be 32-bit memory");
	ok(gpci_register_bar(&t->pdev, 1, 0, &io, &err), err);
	expect_error(gpci_register_bar(&t->pdev, 0, PCI_BASE_ADDRESS_MEM_TYPE_64, &ok4k, &err),
		     err, "PCI: 64-bit BAR 0 of t overlaps BAR 1");
	ok(gpci_register_bar(&t->pdev, 3, PCI_BASE_ADDRESS_MEM_TYPE_64, &ok4k, &err), err);
	expect_error(gpci_register_bar(&t->pdev, 4, 0, &io, &err), err,
		     "PCI: BAR 4 of t is the upper half of 64-bit BAR 3");
	assert_int_equal(gpci_get_long(t->pdev.wmask + PCI_BASE_ADDRESS_4), 0xffffffff);
	tdev_free(t);
	gmem_region_destroy(&odd);
	gmem_region_destroy(&ok4k);
	gmem_region_destroy(&io);
}

/* ---- side effects of config writes -------------------------------------------- */

static void test_intx_and_disable(void **state)
{
	Machine *m = *state;
	TDev *a = tdev_new(m, &tdev_class, GPCI_DEVFN(3, 0), "a");
	TDev *b = tdev_new(m, &tdev_class, GPCI_DEVFN(7, 0), "b");
	TDev *nopin = tdev_new(m, &tdev_class, GPCI_DEVFN(8, 0), "nopin");
	uint32_t ra = GPCI_DEVFN(3, 0), rb = GPCI_DEVFN(7, 0);
	Error *err = NULL;

	a->pin = b->pin = true;
	ok(gpci_device_realize(&a->pdev, &err), err);
	ok(gpci_device_realize(&b->pdev, &err), err);
	ok(gpci_device_realize(&nopin->pdev, &err), err);
	assert_int_equal(gpci_intx(&a->pdev), 0);
	assert_int_equal(gpci_intx(&nopin->pdev), -1);
	assert_true(gintc_nothing_delivered(&m->intc));

	/* Both INTA#, slots 3 and 7: the swizzle puts both on line 3. */
	gpci_irq_assert(&a->pdev);
	assert_int_equal(gintc_intx_level(&m->intc, ra, 0), 1);
	assert_int_equal(gintc_line_level(&m->intc, 3), 1);
	assert_true(cfg_rd(a, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_false(gintc_nothing_delivered(&m->intc));
	gpci_irq_assert(&a->pdev);	/* no change: no event */
	assert_int_equal(gintc_event_count(&m->intc), 1);
	gpci_irq_assert(&b->pdev);
	gpci_irq_deassert(&a->pdev);
	assert_int_equal(gintc_intx_level(&m->intc, ra, 0), 0);
	assert_int_equal(gintc_line_level(&m->intc, 3), 1);	/* b holds it */
	assert_false(cfg_rd(a, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	gpci_irq_deassert(&b->pdev);
	assert_int_equal(gintc_line_level(&m->intc, 3), 0);

	/* INTx disable: the pin stays asserted inside, the bus sees it drop. */
	gpci_irq_assert(&a->pdev);
	cfg_wr(a, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(gintc_intx_level(&m->intc, ra, 0), 0);
	assert_int_equal(gintc_line_level(&m->intc, 3), 0);
	assert_true(cfg_rd(a, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Changes while disabled reach nobody... */
	gpci_irq_deassert(&a->pdev);
	gpci_irq_assert(&a->pdev);
	assert_int_equal(gintc_line_level(&m->intc, 3), 0);
	/* ...and re-enabling brings the level back. */
	cfg_wr(a, PCI_COMMAND, 2, 0);
	assert_int_equal(gintc_intx_level(&m->intc, ra, 0), 1);
	assert_int_equal(gintc_line_level(&m->intc, 3), 1);
	assert_int_equal(gintc_intx_raises(&m->intc, ra, 0), 3);
	gpci_irq_pulse(&b->pdev);
	assert_int_equal(gintc_intx_raises(&m->intc, rb, 0), 2);
	assert_int_equal(gintc_intx_level(&m->intc, rb, 0), 0);

	/* No pin: nothing. */
	gpci_irq_assert(&nopin->pdev);
	assert_int_equal(nopin->pdev.irq_state, 0);

	/* Unrealize releases the pin. */
	tdev_free(a);
	assert_int_equal(gintc_line_level(&m->intc, 3), 0);
	assert_int_equal(m->bus.irq_count[3], 0);
	tdev_free(b);
	tdev_free(nopin);
}

static unsigned g_route_calls;

static void route_notifier(GPciDevice *dev)
{
	(void)dev;
	g_route_calls++;
}

static int map_all_to_line1(GPciDevice *dev, int pin)
{
	(void)dev;
	(void)pin;
	return 1;
}

static void test_intx_routing(void **state)
{
	Machine *m = *state;
	TDev *a = tdev_new(m, &tdev_class, GPCI_DEVFN(2, 0), "a");
	GPciIntxRoute r, r2;
	Error *err = NULL;

	a->pin = true;
	ok(gpci_device_realize(&a->pdev, &err), err);
	r = gpci_device_route_intx_to_irq(&a->pdev, 0);
	assert_int_equal(r.mode, GPCI_INTX_ENABLED);
	assert_int_equal(r.irq, 2);		/* line (2 + 0) % 4, identity route */
	r = gpci_device_route_intx_to_irq(&a->pdev, 1);
	assert_int_equal(r.irq, 3);
	r = gpci_device_route_intx_to_irq(&a->pdev, 4);
	assert_int_equal(r.mode, GPCI_INTX_DISABLED);

	gpci_device_set_intx_routing_notifier(&a->pdev, route_notifier);
	g_route_calls = 0;
	gpci_bus_set_intx_route(&m->bus, 2, 11);
	assert_int_equal(g_route_calls, 1);
	gpci_bus_set_intx_route(&m->bus, 2, 11);	/* same: no notification */
	assert_int_equal(g_route_calls, 1);
	r2 = gpci_device_route_intx_to_irq(&a->pdev, 0);
	assert_int_equal(r2.mode, GPCI_INTX_ENABLED);
	assert_int_equal(r2.irq, 11);
	r = gpci_device_route_intx_to_irq(&a->pdev, 0);
	assert_false(gpci_intx_route_changed(&r, &r2));
	gpci_bus_set_intx_route(&m->bus, 2, -5);
	assert_int_equal(g_route_calls, 2);
	r = gpci_device_route_intx_to_irq(&a->pdev, 0);
	assert_int_equal(r.mode, GPCI_INTX_DISABLED);
	assert_int_equal(r.irq, -1);
	assert_true(gpci_intx_route_changed(&r, &r2));
	gpci_bus_set_intx_route(&m->bus, 99, 1);	/* bad line: ignored */
	assert_int_equal(g_route_calls, 2);

	/* Another pin mapping: every pin on line 1. */
	gpci_bus_set_map_irq(&m->bus, map_all_to_line1, 2);
	gpci_irq_assert(&a->pdev);
	assert_int_equal(gintc_line_level(&m->intc, 1), 1);
	assert_int_equal(gpci_device_route_intx_to_irq(&a->pdev, 0).irq, 1);
	gpci_irq_deassert(&a->pdev);
	gpci_bus_set_map_irq(&m->bus, NULL, 0);
	assert_int_equal(m->bus.nirq, 4);

	tdev_free(a);
}

static void test_bus_master_and_dma(void **state)
{
	Machine *m = *state;
	TDev *t = tdev_new(m, &tdev_class, GPCI_DEVFN(1, 0), "t");
	Error *err = NULL;
	uint8_t buf[4] = { 1, 2, 3, 4 };

	ok(gpci_device_realize(&t->pdev, &err), err);
	assert_ptr_equal(gpci_device_iommu_address_space(&t->pdev), &m->mem_as);
	/* COMMAND.MASTER clear: DMA goes nowhere. */
	assert_int_equal(gpci_dma_rw(&t->pdev, 0x100, buf, 4, true), GMEM_UNASSIGNED);
	assert_int_equal(((uint8_t *)m->ram.ram)[0x100], 0);
	cfg_wr(t, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(gpci_dma_rw(&t->pdev, 0x100, buf, 4, true), GMEM_OK);
	assert_memory_equal((uint8_t *)m->ram.ram + 0x100, buf, 4);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gpci_dma_rw(&t->pdev, 0x102, buf, 2, false), GMEM_OK);
	assert_int_equal(buf[0], 3);
	cfg_wr(t, PCI_COMMAND, 2, 0);
	assert_int_equal(gpci_dma_rw(&t->pdev, 0x100, buf, 4, false), GMEM_UNASSIGNED);
	assert_int_equal(buf[0], 0xff);
	tdev_free(t);
}

static GAddressSpace *g_iommu_as;

static GAddressSpace *iommu_fn(GPciBus *bus, void *opaque, int devfn)
{
	(void)bus;
	(void)opaque;
	return devfn == GPCI_DEVFN(1, 0) ? g_iommu_as : NULL;
}

static void test_iommu_function_and_no_dma(void **state)
{
	Machine *m = *state;
	TDev *t = tdev_new(m, &tdev_class, GPCI_DEVFN(1, 0), "t");
	TDev *u = tdev_new(m, &tdev_class, GPCI_DEVFN(2, 0), "u");
	GMemRegion root;
	GAddressSpace as;
	Error *err = NULL;
	uint8_t b = 0;

	gmem_region_init_container(&root, "iommu-root", 0x1000);
	gmem_as_init(&as, &root, "iommu");
	g_iommu_as = &as;
	gpci_bus_set_iommu(&m->bus, iommu_fn, NULL);
	ok(gpci_device_realize(&t->pdev, &err), err);
	ok(gpci_device_realize(&u->pdev, &err), err);
	assert_ptr_equal(gpci_device_iommu_address_space(&t->pdev), &as);
	assert_null(gpci_device_iommu_address_space(&u->pdev));
	assert_true(t->pdev.has_bus_master_as);
	assert_false(u->pdev.has_bus_master_as);
	assert_int_equal(gpci_dma_rw(&u->pdev, 0, &b, 1, false), GMEM_UNASSIGNED);
	assert_int_equal(b, 0xff);
	tdev_free(t);
	tdev_free(u);
	gpci_bus_set_iommu(&m->bus, NULL, NULL);
	gmem_as_destroy(&as);
	gmem_region_destroy(&root);
}

/* ---- capabilities -------------------------------------------------------------- */

static void test_capabilities(void **state)
{
	Machine *m = *state;
	TDev *t = tdev_new(m, &tdev_class, GPCI_DEVFN(3, 0), "t");
	GPciDevice *d = &t->pdev;
	Error *err = NULL;
	int off;

	expect_error(gpci_add_capability(d, 9, 0x40, 8, &err) >= 0, err,
		     "PCI: t is not registered");
	ok(gpci_device_realize(d, &err), err);
	assert_int_equal(gpci_find_capability(d, PCI_CAP_ID_VNDR), 0);

	assert_int_equal(gpci_add_capability(d, PCI_CAP_ID_VNDR, 0x40, 8, &err), 0x40);
	assert_int_equal(gpci_add_capability(d, PCI_CAP_ID_PM, 0x50, 10, &err), 0x50);
	assert_null(err);
	/* Inserted at the head of the list. */
	assert_int_equal(cfg_rd(t, PCI_CAPABILITY_LIST, 1), 0x50);
	assert_int_equal(cfg_rd(t, 0x50, 2), 0x4000 | PCI_CAP_ID_PM);
	assert_int_equal(cfg_rd(t, 0x40, 2), PCI_CAP_ID_VNDR);
	assert_true(cfg_rd(t, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* used[] covers whole dwords; the bytes are read-only and checked. */
	for (unsigned i = 0x3c; i < 0x60; i++) {
		bool in = (i >= 0x40 && i < 0x48) || (i >= 0x50 && i < 0x5c);
		bool cap = (i >= 0x40 && i < 0x48) || (i >= 0x50 && i < 0x5a);

		assert_int_equal(d->used[i], in ? 0xff : 0);
		if (i >= 0x40) {
			assert_int_equal(d->wmask[i], cap ? 0 : 0xff);
			assert_int_equal(d->cmask[i], cap ? 0xff : 0);
		}
	}
	/* The guest cannot change a capability. */
	cfg_wr(t, 0x41, 1, 0x99);
	assert_int_equal(cfg_rd(t, 0x41, 1), 0);

	/* Overlap: QEMU's message (capability offset, first byte hit). */
	expect_error(gpci_add_capability(d, PCI_CAP_ID_MSI, 0x44, 4, &err) >= 0, err,
		     "pci:00:03.0 Attempt to add PCI capability 5 at offset 44 "
		     "overlaps existing capability 40 at offset 44");
	expect_error(gpci_add_capability(d, PCI_CAP_ID_MSI, 0x3c, 8, &err) >= 0, err,
		     "PCI: capability 5 at offset 3c size 8 of t is outside the capability area");
	expect_error(gpci_add_capability(d, PCI_CAP_ID_MSI, 0xfc, 8, &err) >= 0, err,
		     "PCI: capability 5 at offset fc size 8 of t is outside the capability area");
	expect_error(gpci_add_capability(d, PCI_CAP_ID_MSI, 0, 1, &err) >= 0, err,
		     "PCI: capability 5 of t is too small (1 bytes)");
	/* offset 0: the first free space. */
	assert_int_equal(gpci_add_capability(d, PCI_CAP_ID_MSI, 0, 4, &err), 0x48);
	assert_int_equal(gpci_find_capability(d, PCI_CAP_ID_MSI), 0x48);
	assert_int_equal(gpci_find_capability(d, PCI_CAP_ID_VNDR), 0x40);
	assert_int_equal(gpci_find_capability(d, PCI_CAP_ID_PM), 0x50);
	assert_int_equal(gpci_find_capability(d, 0x77), 0);
	assert_int_equal(gpci_find_capability_at_offset(d, 0x4a), 0x48);
	assert_int_equal(gpci_find_capability_at_offset(d, 0x57), 0x50);
	assert_int_equal(gpci_find_capability_at_offset(d, 0x60), 0);

	/* Remove the middle one: the chain closes up, the bytes are free. */
	gpci_del_capability(d, PCI_CAP_ID_PM, 10);
	assert_int_equal(gpci_find_capability(d, PCI_CAP_ID_PM), 0);
	assert_int_equal(cfg_rd(t, PCI_CAPABILITY_LIST, 1), 0x48);
	assert_int_equal(cfg_rd(t, 0x49, 1), 0x40);
	assert_int_equal(d->used[0x50], 0);
	assert_int_equal(d->used[0x5b], 0);
	assert_int_equal(d->wmask[0x50], 0xff);
	assert_int_equal(d->cmask[0x50], 0);
	gpci_del_capability(d, PCI_CAP_ID_PM, 10);	/* gone: no-op */
	gpci_del_capability(d, PCI_CAP_ID_MSI, 4);
	gpci_del_capability(d, PCI_CAP_ID_VNDR, 8);
	assert_int_equal(cfg_rd(t, PCI_CAPABILITY_LIST, 1), 0);
	assert_false(cfg_rd(t, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);

	/* Out of space. */
	off = gpci_add_capability(d, PCI_CAP_ID_VNDR, 0, 0xc0, &err);
	assert_int_equal(off, 0x40);
	assert_int_equal(gpci_add_capability(d, PCI_CAP_ID_MSI, 0, 4, &err), -ENOSPC);
	assert_string_equal(error_get_pretty(err), "out of PCI config space");
	error_free(err);
	err = NULL;
	gpci_del_capability(d, PCI_CAP_ID_VNDR, 0xc0);

	/* A looping chain (device data) ends the walk instead of hanging. */
	d->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->config[PCI_CAPABILITY_LIST] = 0x40;
	d->config[0x40] = 1;
	d->config[0x41] = 0x40;
	d->used[0x40] = 0xff;
	assert_int_equal(gpci_find_capability(d, 2), 0);
	assert_int_equal(gpci_find_capability_at_offset(d, 0x40), 0x40);
	d->config[0x41] = 0xff;	/* past the end */
	assert_int_equal(gpci_find_capability(d, 2), 0);
	tdev_free(t);
}

static void test_ext_capabilities(void **state)
{
	Machine *m = *state;
	TDev *x = tdev_new(m, &express_class, GPCI_DEVFN(4, 0), "x");
	TDev *p = tdev_new(m, &tdev_class, GPCI_DEVFN(5, 0), "p");
	GPciDevice *d = &x->pdev;
	Error *err = NULL;

	ok(gpci_device_realize(d, &err), err);
	ok(gpci_device_realize(&p->pdev, &err), err);
	expect_error(gpci_add_ext_capability(&p->pdev, PCI_EXT_CAP_ID_DSN, 1, 0x100, 12, &err),
		     err, "PCI: p has no extended config space");
	expect_error(gpci_add_ext_capability(d, PCI_EXT_CAP_ID_DSN, 1, 0x140, 12, &err),
		     err, "PCI: the first extended capability of x must be at offset 100");
	expect_error(gpci_add_ext_capability(d, PCI_EXT_CAP_ID_DSN, 1, 0xfc, 12, &err),
		     err, "PCI: extended capability 3 at offset fc size c of x is "
		     "outside the extended config space");
	expect_error(gpci_add_ext_capability(d, PCI_EXT_CAP_ID_DSN, 1, 0xffc, 12, &err),
		     err, "PCI: extended capability 3 at offset ffc size c of x is "
		     "outside the extended config space");
	assert_int_equal(gpci_find_ext_capability(d, PCI_EXT_CAP_ID_ERR), 0);

	ok(gpci_add_ext_capability(d, PCI_EXT_CAP_ID_ERR, 2, 0x100, 0x48, &err), err);
	ok(gpci_add_ext_capability(d, PCI_EXT_CAP_ID_DSN, 1, 0x148, 12, &err), err);
	ok(gpci_add_ext_capability(d, PCI_EXT_CAP_ID_ARI, 1, 0x160, 8, &err), err);
	/* Appended at the tail; headers as the spec lays them out. */
	assert_int_equal(cfg_rd(x, 0x100, 4), 0x14820001);
	assert_int_equal(cfg_rd(x, 0x148, 4), 0x16010003);
	assert_int_equal(cfg_rd(x, 0x160, 4), 0x0001000e);
	assert_int_equal(gpci_find_ext_capability(d, PCI_EXT_CAP_ID_ERR), 0x100);
	assert_int_equal(gpci_find_ext_capability(d, PCI_EXT_CAP_ID_DSN), 0x148);
	assert_int_equal(gpci_find_ext_capability(d, PCI_EXT_CAP_ID_ARI), 0x160);
	assert_int_equal(gpci_find_ext_capability(d, PCI_EXT_CAP_ID_SRIOV), 0);
	assert_int_equal(d->wmask[0x150], 0);
	assert_int_equal(d->cmask[0x150], 0xff);
	assert_int_equal(d->used[0x153], 0xff);
	cfg_wr(x, 0x14c, 4, 0xffffffff);	/* read-only */
	assert_int_equal(cfg_rd(x, 0x14c, 4), 0);

	expect_error(gpci_add_ext_capability(d, PCI_EXT_CAP_ID_SRIOV, 1, 0x140, 0x10, &err),
		     err, "pci:00:04.0 Attempt to add PCI Express capability 10 at offset "
		     "140 overlaps existing capability 1 at offset 140");

	/* Removing the middle one relinks. */
	gpci_del_ext_capability(d, PCI_EXT_CAP_ID_DSN, 12);
	assert_int_equal(gpci_find_ext_capability(d, PCI_EXT_CAP_ID_DSN), 0);
	assert_int_equal(cfg_rd(x, 0x100, 4), 0x16020001);
	assert_int_equal(d->used[0x148], 0);
	assert_int_equal(d->wmask[0x14c], 0xff);
	/* Removing the head leaves a null capability that keeps the chain. */
	gpci_del_ext_capability(d, PCI_EXT_CAP_ID_ERR, 0x48);
	assert_int_equal(cfg_rd(x, 0x100, 4), 0x16000000);
	assert_int_equal(gpci_find_ext_capability(d, PCI_EXT_CAP_ID_ERR), 0);
	assert_int_equal(gpci_find_ext_capability(d, PCI_EXT_CAP_ID_ARI), 0x160);
	/* A new head takes over the chain. */
	ok(gpci_add_ext_capability(d, PCI_EXT_CAP_ID_VNDR, 1, 0x100, 0x10, &err), err);
	assert_int_equal(cfg_rd(x, 0x100, 4), 0x1601000b);
	gpci_del_ext_capability(d, PCI_EXT_CAP_ID_ARI, 8);
	gpci_del_ext_capability(d, PCI_EXT_CAP_ID_VNDR, 0x10);
	assert_int_equal(cfg_rd(x, 0x100, 4), 0);
	gpci_del_ext_capability(d, PCI_EXT_CAP_ID_VNDR, 0x10);	/* none: no-op */

	/* A looping list (device data) ends. */
	gpci_set_long(d->config + 0x100, 0x10000001);
	assert_int_equal(gpci_find_ext_capability(d, 2), 0);

	/* A device that stops being express sees 256 bytes. */
	d->cap_present &= ~GPCI_CAP_EXPRESS;
	assert_int_equal(gpci_config_size(d), 256);
	assert_int_equal(cfg_rd(x, 0x100, 4), 0xffffffff);
	assert_int_equal(gpci_find_ext_capability(d, 1), 0);
	tdev_free(x);
	tdev_free(p);
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void test_reset_restores_defaults(void **state)
{
	Machine *m = *state;
	TDev *t = tdev_new(m, &tdev_class, GPCI_DEVFN(1, 0), "t");
	Error *err = NULL;

	t->with_bars = true;
	t->pin = true;
	ok(gpci_device_realize(&t->pdev, &err), err);
	cfg_wr(t, PCI_BASE_ADDRESS_0, 4, 0xe0000000);
	cfg_wr(t, PCI_BASE_ADDRESS_1, 4, 0x1000);
	cfg_wr(t, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO |
	       PCI_COMMAND_MASTER | PCI_COMMAND_SERR);
	cfg_wr(t, PCI_CACHE_LINE_SIZE, 1, 0x10);
	cfg_wr(t, PCI_INTERRUPT_LINE, 1, 0x0b);
	t->pdev.config[PCI_STATUS + 1] |= 0xf9;
	gpci_irq_assert(&t->pdev);
	log_expect("mem add 0xe0000000+0x1000 bar0@0x0", "io add 0x1000+0x100 bar1@0x0", NULL);

	gpci_device_reset(&t->pdev);
	assert_int_equal(t->resets, 1);
	assert_int_equal(cfg_rd(t, PCI_COMMAND, 2), 0);
	assert_int_equal(cfg_rd(t, PCI_STATUS, 2), 0);
	assert_int_equal(cfg_rd(t, PCI_CACHE_LINE_SIZE, 1), 0);
	assert_int_equal(cfg_rd(t, PCI_INTERRUPT_LINE, 1), 0);
	assert_int_equal(cfg_rd(t, PCI_INTERRUPT_PIN, 1), 1);	/* read-only: kept */
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_1, 4), 1);
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_2, 4), 0x0c);
	assert_int_equal(cfg_rd(t, PCI_BASE_ADDRESS_3, 4), 0);
	assert_int_equal(cfg_rd(t, PCI_VENDOR_ID, 4), 0x56781234);
	assert_int_equal(gintc_intx_level(&m->intc, GPCI_DEVFN(1, 0), 0), 0);
	assert_int_equal(gintc_line_level(&m->intc, 1), 0);
	assert_int_equal(t->pdev.irq_state, 0);
	log_expect("mem del 0xe0000000+0x1000 bar0@0x0", "io del 0x1000+0x100 bar1@0x0", NULL);
	assert_false(gmem_region_enabled(&t->pdev.bus_master_enable_region));

	/* The bus reset does the same to every device. */
	cfg_wr(t, PCI_BASE_ADDRESS_1, 4, 0x1000);
	cfg_wr(t, PCI_COMMAND, 2, PCI_COMMAND_IO);
	log_expect("io add 0x1000+0x100 bar1@0x0", NULL);
	gpci_bus_reset(&m->bus);
	assert_int_equal(t->resets, 2);
	log_expect("io del 0x1000+0x100 bar1@0x0", NULL);

	/* Unrealize then realize again. */
	gpci_device_unrealize(&t->pdev);
	gpci_device_unrealize(&t->pdev);	/* twice: no-op */
	assert_int_equal(t->exits, 1);
	assert_null(gpci_bus_find_device(&m->bus, GPCI_DEVFN(1, 0)));
	assert_null(t->pdev.config);
	gpci_device_reset(&t->pdev);		/* unregistered: no-op */
	assert_int_equal(t->resets, 2);
	gmem_region_destroy(&t->bar0);
	gmem_region_destroy(&t->bar1);
	gmem_region_destroy(&t->bar2);
	gmem_region_destroy(&t->rom);
	gpci_device_init(&t->pdev, &tdev_class, &m->bus, GPCI_DEVFN(1, 0), "t", t);
	ok(gpci_device_realize(&t->pdev, &err), err);
	assert_int_equal(cfg_rd(t, PCI_COMMAND, 2), 0);
	/* The bus teardown unrealizes what is left. */
	gpci_bus_destroy(&m->bus);
	assert_false(t->pdev.realized);
	assert_int_equal(t->exits, 2);
	tdev_free(t);
}

static void test_bus_without_class(void **state)
{
	Machine *m = *state;
	GPciDevice d;
	Error *err = NULL;

	gpci_device_init(&d, NULL, &m->bus, 0, NULL, NULL);
	expect_error(gpci_device_realize(&d, &err), err,
		     "PCI: pci-device has no class or no bus");
	assert_int_equal(gpci_find_capability(&d, 1), 0);
	assert_int_equal(gpci_find_ext_capability(&d, 1), 0);
	gpci_del_capability(&d, 1, 4);
	gpci_del_ext_capability(&d, 1, 4);
	gpci_device_deassert_intx(&d);
	assert_null(gpci_bus_find_device(&m->bus, -3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, machine_setup, machine_teardown)
		T(test_register_rules_and_messages),
		T(test_register_all_slots_in_use),
		T(test_multifunction_both_ways),
		T(test_hotplug_rules),
		T(test_config_defaults_and_masks),
		T(test_ecam_window),
		T(test_bar_sizing_and_mapping),
		T(test_bar_register_errors),
		T(test_intx_and_disable),
		T(test_intx_routing),
		T(test_bus_master_and_dma),
		T(test_iommu_function_and_no_dma),
		T(test_capabilities),
		T(test_ext_capabilities),
		T(test_reset_restores_defaults),
		T(test_bus_without_class),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* core/gmsi: msix_init validation, table/PBA, masking, notifiers; MSI. */
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
#include "core/gmsi.h"
#include "core/gpci.h"
#include "corecheck.h"

/* ret must be want, with err saying msg. */
static void expect_ret_at(int ret, int want, Error **err, const char *msg, int line)
{
	if (ret != want)
		fail_msg("line %d: returned %d, want %d (%s)", line, ret, want,
			 *err ? error_get_pretty(*err) : "no error");
	cc_msg_at(err, msg, line);
}

#define expect_ret(call, want, err, msg) \
	do { int r_ = (call); expect_ret_at(r_, (want), &(err), (msg), __LINE__); } while (0)

/* ---- machine and device --------------------------------------------------------- */

#define BAR0_ADDR	0xe0000000ull
#define TABLE_OFF	0x2000
#define PBA_OFF		0x3000
#define MSIX_CAP	0x70

typedef struct Machine {
	GMemRegion sys, ram;
	GAddressSpace mem_as;
	GIntc intc;
	GPciBus bus;
} Machine;

typedef struct Dev {
	GPciDevice pdev;
	GMemRegion bar0, bar2;
	uint8_t regs[16];
} Dev;

static uint64_t reg_read(void *opaque, uint64_t addr, unsigned size)
{
	Dev *d = opaque;
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)d->regs[(addr + i) % 16] << (8 * i);
	return v;
}

static void reg_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
	Dev *d = opaque;

	for (unsigned i = 0; i < size; i++)
		d->regs[(addr + i) % 16] = (uint8_t)(val >> (8 * i));
}

static const GMemOps reg_ops = { .read = reg_read, .write = reg_write };

static bool dev_realize(GPciDevice *pdev, Error **errp)
{
	Dev *d = pdev->opaque;

	pdev->config[PCI_INTERRUPT_PIN] = 1;
	/* A BAR like vfio's: a slow-path MMIO region the table sits inside. */
	gmem_region_init_io(&d->bar0, "bar0", 0x4000, &reg_ops, d);
	gmem_region_init_io(&d->bar2, "bar2", 0x1000, &reg_ops, d);
	return gpci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &d->bar0, errp) &&
	       gpci_register_bar(pdev, 2, PCI_BASE_ADDRESS_SPACE_MEMORY, &d->bar2, errp);
}

static const GPciDeviceClass dev_class = {
	.type = "msidev",
	.vendor_id = 0x1425,
	.device_id = 0x5803,
	.realize = dev_realize,
};

static int setup(void **state)
{
	Machine *m = calloc(1, sizeof(*m));
	Error *err = NULL;

	assert_non_null(m);
	gmem_region_init_container(&m->sys, "sys", UINT64_MAX);
	ok(gmem_region_init_ram(&m->ram, "ram", 0x10000, &err), err);
	ok(gmem_region_add_subregion(&m->sys, 0, &m->ram, &err), err);
	gmem_as_init(&m->mem_as, &m->sys, "mem");
	gintc_init(&m->intc, "intc");
	gpci_bus_init(&m->bus, "pci", &m->sys, NULL, &m->mem_as, &m->intc);
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	Machine *m = *state;

	gpci_bus_destroy(&m->bus);
	gmem_as_destroy(&m->mem_as);
	gmem_region_destroy(&m->ram);
	gmem_region_destroy(&m->sys);
	gintc_destroy(&m->intc);
	free(m);
	return 0;
}

static Dev *dev_new(Machine *m, int slot)
{
	Dev *d = calloc(1, sizeof(*d));
	Error *err = NULL;

	assert_non_null(d);
	gpci_device_init(&d->pdev, &dev_class, &m->bus, GPCI_DEVFN(slot, 0), NULL, d);
	ok(gpci_device_realize(&d->pdev, &err), err);
	return d;
}

static void dev_free(Dev *d)
{
	gpci_device_unrealize(&d->pdev);
	gmem_region_destroy(&d->bar0);
	gmem_region_destroy(&d->bar2);
	free(d);
}

static void cfg_wr(Dev *d, uint32_t off, int len, uint32_t val)
{
	gpci_config_write(&d->pdev, off, val, len);
}

static uint32_t cfg_rd(Dev *d, uint32_t off, int len)
{
	return gpci_config_read(&d->pdev, off, len);
}

/* Map BAR0 at BAR0_ADDR with memory decode and bus mastering on. */
static void dev_map(Dev *d)
{
	cfg_wr(d, PCI_BASE_ADDRESS_0, 4, (uint32_t)BAR0_ADDR);
	cfg_wr(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static uint32_t mmio_rd(Machine *m, uint64_t addr)
{
	uint64_t v;

	assert_int_equal(gmem_read_val(&m->mem_as, addr, 4, &v), GMEM_OK);
	return (uint32_t)v;
}

static void mmio_wr(Machine *m, uint64_t addr, uint32_t v)
{
	assert_int_equal(gmem_write_val(&m->mem_as, addr, 4, v), GMEM_OK);
}

/* Program vector v's entry through the BAR. */
static void entry_set(Machine *m, unsigned v, uint64_t addr, uint32_t data, uint32_t ctrl)
{
	uint64_t e = BAR0_ADDR + TABLE_OFF + v * PCI_MSIX_ENTRY_SIZE;

	mmio_wr(m, e + PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)addr);
	mmio_wr(m, e + PCI_MSIX_ENTRY_UPPER_ADDR, (uint32_t)(addr >> 32));
	mmio_wr(m, e + PCI_MSIX_ENTRY_DATA, data);
	mmio_wr(m, e + PCI_MSIX_ENTRY_VECTOR_CTRL, ctrl);
}

static void ctrl_set(Machine *m, unsigned v, uint32_t ctrl)
{
	mmio_wr(m, BAR0_ADDR + TABLE_OFF + v * PCI_MSIX_ENTRY_SIZE +
		PCI_MSIX_ENTRY_VECTOR_CTRL, ctrl);
}

static void msix_control(Dev *d, uint8_t v)
{
	cfg_wr(d, MSIX_CAP + GMSIX_CONTROL_OFFSET, 1, v);
}

static void msix_setup(Dev *d, unsigned n)
{
	Error *err = NULL;

	assert_int_equal(gmsix_init(&d->pdev, n, &d->bar0, 0, TABLE_OFF, &d->bar0, 0,
				    PBA_OFF, MSIX_CAP, &err), 0);
	assert_null(err);
}

/* The n-th delivered message must be (addr, data) from requester src. */
static void msi_is(Machine *m, size_t n, uint64_t addr, uint32_t data, uint32_t src)
{
	const GIntcEvent *e = gintc_msi(&m->intc, n);

	if (!e)
		fail_msg("message %zu missing", n);
	if (e->addr != addr || e->data != data || e->source != src)
		fail_msg("message %zu: 0x%llx/0x%x from 0x%x, want 0x%llx/0x%x from 0x%x",
			 n, (unsigned long long)e->addr, e->data, e->source,
			 (unsigned long long)addr, data, src);
}

/* ---- MSI-X: validation ------------------------------------------------------------- */

static void test_msix_init_validation(void **state)
{
	Machine *m = *state;
	Dev *d = dev_new(m, 3);
	GPciDevice *p = &d->pdev;
	Error *err = NULL;
	static const char bad[] = "table & pba overlap, or they don't fit in BARs, or don't align";

	expect_ret(gmsix_init(p, 0, &d->bar0, 0, 0, &d->bar0, 0, 0x1000, 0, &err),
		   -EINVAL, err, "The number of MSI-X vectors is invalid");
	expect_ret(gmsix_init(p, 2049, &d->bar0, 0, 0, &d->bar0, 0, 0x1000, 0, &err),
		   -EINVAL, err, "The number of MSI-X vectors is invalid");
	/* 8 entries = 128 bytes of table: a PBA at 0x40 in the same BAR overlaps. */
	expect_ret(gmsix_init(p, 8, &d->bar0, 0, 0, &d->bar0, 0, 0x40, 0, &err),
		   -EINVAL, err, bad);
	/* ...but not when the PBA is in another BAR. */
	/* The table must fit in its BAR. */
	expect_ret(gmsix_init(p, 16, &d->bar0, 0, 0x3f80, &d->bar2, 2, 0, 0, &err),
		   -EINVAL, err, bad);
	/* So must the PBA (8 bytes for up to 64 vectors). */
	expect_ret(gmsix_init(p, 8, &d->bar0, 0, 0, &d->bar2, 2, 0xffc, 0, &err),
		   -EINVAL, err, bad);
	/* BIR bits in an offset. */
	expect_ret(gmsix_init(p, 8, &d->bar0, 0, 0x2004, &d->bar0, 0, 0x3000, 0, &err),
		   -EINVAL, err, bad);
	expect_ret(gmsix_init(p, 8, &d->bar0, 0, 0x2000, &d->bar0, 0, 0x3001, 0, &err),
		   -EINVAL, err, bad);
	expect_ret(gmsix_init(p, 8, &d->bar0, 6, 0x2000, &d->bar0, 0, 0x3000, 0, &err),
		   -EINVAL, err, "MSI-X: invalid table or PBA BAR for device[0]");
	/* No MSI at the interrupt controller: -ENOTSUP (vfio ignores it). */
	gintc_set_msi_supported(&m->intc, false);
	expect_ret(gmsix_init(p, 8, &d->bar0, 0, 0x2000, &d->bar0, 0, 0x3000, 0, &err),
		   -ENOTSUP, err, "MSI-X is not supported by interrupt controller");
	gintc_set_msi_supported(&m->intc, true);
	/* The capability must not overlap another. */
	assert_int_equal(gpci_add_capability(p, PCI_CAP_ID_VNDR, MSIX_CAP + 4, 4, &err),
			 MSIX_CAP + 4);
	expect_ret(gmsix_init(p, 8, &d->bar0, 0, 0x2000, &d->bar0, 0, 0x3000, MSIX_CAP, &err),
		   -EINVAL, err, "pci:00:03.0 Attempt to add PCI capability 11 at offset 70 "
		   "overlaps existing capability 74 at offset 74");
	gpci_del_capability(p, PCI_CAP_ID_VNDR, 4);
	assert_false(gmsix_present(p));

	/* Table in BAR 0, PBA in BAR 2 at the same offset: fine. */
	assert_int_equal(gmsix_init(p, 8, &d->bar0, 0, 0, &d->bar2, 2, 0, 0, &err), 0);
	assert_null(err);
	expect_ret(gmsix_init(p, 8, &d->bar0, 0, 0, &d->bar2, 2, 0, 0, &err),
		   -EBUSY, err, "MSI-X: device[0] already has an MSI-X capability");
	assert_int_equal(cfg_rd(d, p->msix_cap + PCI_MSIX_TABLE, 4), 0);
	assert_int_equal(cfg_rd(d, p->msix_cap + PCI_MSIX_PBA, 4), 2);
	gmsix_uninit(p);
	assert_false(gmsix_present(p));
	assert_null(p->msix_table_mmio.container);
	gmsix_uninit(p);	/* twice: no-op */
	dev_free(d);
}

static void test_msix_layout_and_mask_all(void **state)
{
	Machine *m = *state;
	Dev *d = dev_new(m, 3);
	GPciDevice *p = &d->pdev;
	GMemSection s;

	msix_setup(d, 8);
	assert_true(gmsix_present(p));
	assert_false(gmsix_enabled(p));
	assert_int_equal(gmsix_nr_vectors_allocated(p), 8);
	assert_int_equal(gpci_find_capability(p, PCI_CAP_ID_MSIX), MSIX_CAP);
	assert_int_equal(cfg_rd(d, MSIX_CAP, 4), 0x00070000 | PCI_CAP_ID_MSIX);
	assert_int_equal(cfg_rd(d, MSIX_CAP + PCI_MSIX_TABLE, 4), TABLE_OFF);
	assert_int_equal(cfg_rd(d, MSIX_CAP + PCI_MSIX_PBA, 4), PBA_OFF);
	/* Only enable and function mask are writable. */
	assert_int_equal(gpci_get_word(p->wmask + MSIX_CAP + PCI_MSIX_FLAGS), 0xc000);
	cfg_wr(d, MSIX_CAP + PCI_MSIX_FLAGS, 2, 0xffff);
	assert_int_equal(cfg_rd(d, MSIX_CAP + PCI_MSIX_FLAGS, 2), 0xc007);
	cfg_wr(d, MSIX_CAP + PCI_MSIX_FLAGS, 2, 0);
	cfg_wr(d, MSIX_CAP + PCI_MSIX_TABLE, 4, 0xffffffff);
	assert_int_equal(cfg_rd(d, MSIX_CAP + PCI_MSIX_TABLE, 4), TABLE_OFF);

	/* The table and PBA are regions inside the BAR. */
	dev_map(d);
	assert_true(gmem_as_find(&m->mem_as, BAR0_ADDR + TABLE_OFF, &s));
	assert_ptr_equal(s.mr, &p->msix_table_mmio);
	assert_int_equal(s.size, 8 * PCI_MSIX_ENTRY_SIZE);
	assert_true(gmem_as_find(&m->mem_as, BAR0_ADDR + PBA_OFF, &s));
	assert_ptr_equal(s.mr, &p->msix_pba_mmio);
	assert_int_equal(s.size, 8);
	assert_true(gmem_as_find(&m->mem_as, BAR0_ADDR + TABLE_OFF + 0x80, &s));
	assert_ptr_equal(s.mr, &d->bar0);

	/* Every vector starts masked; the PBA is clear. */
	for (unsigned v = 0; v < 8; v++) {
		assert_int_equal(mmio_rd(m, BAR0_ADDR + TABLE_OFF + v * 16 + 12), 1);
		assert_true(gmsix_is_masked(p, v));
	}
	assert_true(gmsix_is_masked(p, 8));
	assert_int_equal(mmio_rd(m, BAR0_ADDR + PBA_OFF), 0);
	/* The table takes 4- and 8-byte accesses only. */
	{
		uint64_t v;

		assert_int_equal(gmem_read_val(&m->mem_as, BAR0_ADDR + TABLE_OFF + 12, 1, &v),
				 GMEM_BAD_ACCESS);
		assert_int_equal(v, 0xff);
		entry_set(m, 1, 0x12345678abcdef00ull, 0x99, 1);
		assert_int_equal(gmem_read_val(&m->mem_as, BAR0_ADDR + TABLE_OFF + 16, 8, &v),
				 GMEM_OK);
		assert_int_equal(v, 0x12345678abcdef00ull);
		assert_int_equal(gmsix_get_message(p, 1).address, 0x12345678abcdef00ull);
		assert_int_equal(gmsix_get_message(p, 1).data, 0x99);
		assert_int_equal(gmsix_get_message(p, 9).data, 0);
		/* The PBA ignores writes. */
		assert_int_equal(gmem_write_val(&m->mem_as, BAR0_ADDR + PBA_OFF, 4, 0xff), GMEM_OK);
		assert_int_equal(mmio_rd(m, BAR0_ADDR + PBA_OFF), 0);
	}
	dev_free(d);
}

/* ---- MSI-X: delivery ------------------------------------------------------------------ */

static void test_msix_mask_pending_unmask(void **state)
{
	Machine *m = *state;
	Dev *d = dev_new(m, 3);
	GPciDevice *p = &d->pdev;
	uint32_t src = GPCI_DEVFN(3, 0);
	uint64_t mark;

	msix_setup(d, 8);
	dev_map(d);
	msix_control(d, GMSIX_ENABLE_MASK);
	assert_true(gmsix_enabled(p));
	assert_false(p->msix_function_masked);
	entry_set(m, 0, 0xfee00000, 0x41, 1);
	entry_set(m, 1, 0xfee01000, 0x42, 0);
	assert_int_equal(gmsix_vector_use(p, 0), 0);
	assert_int_equal(gmsix_vector_use(p, 99), -EINVAL);

	/* Masked: the pending bit, nothing at the sink. */
	gmsix_notify(p, 0);
	assert_true(gmsix_is_pending(p, 0));
	assert_int_equal(mmio_rd(m, BAR0_ADDR + PBA_OFF), 1);
	assert_true(gintc_nothing_delivered(&m->intc));
	/* Unmask: the pending message goes out and the bit clears. */
	mark = gintc_mark(&m->intc);
	ctrl_set(m, 0, 0);
	assert_int_equal(gintc_msi_count_since(&m->intc, mark), 1);
	msi_is(m, 0, 0xfee00000, 0x41, src);
	assert_false(gmsix_is_pending(p, 0));
	assert_int_equal(mmio_rd(m, BAR0_ADDR + PBA_OFF), 0);
	/* Unmasked: straight through. */
	gmsix_notify(p, 0);
	assert_int_equal(gintc_msi_count(&m->intc), 2);
	assert_int_equal(gintc_msi_count_match(&m->intc, 0xfee00000, 0x41), 2);
	/* Vector 1 is unmasked but nobody uses it: nothing. */
	gmsix_notify(p, 1);
	gmsix_notify(p, 77);
	assert_int_equal(gintc_msi_count(&m->intc), 2);
	assert_false(gmsix_is_pending(p, 1));

	/* Use counts: pending is dropped when the last user goes. */
	assert_int_equal(gmsix_vector_use(p, 0), 0);	/* 2 users */
	ctrl_set(m, 0, 1);
	gmsix_notify(p, 0);
	gmsix_vector_unuse(p, 0);
	assert_true(gmsix_is_pending(p, 0));
	gmsix_vector_unuse(p, 0);
	assert_false(gmsix_is_pending(p, 0));
	gmsix_vector_unuse(p, 0);	/* no users: no-op */
	gmsix_notify(p, 0);
	assert_false(gmsix_is_pending(p, 0));
	assert_int_equal(gmsix_vector_use(p, 0), 0);
	assert_int_equal(gmsix_vector_use(p, 1), 0);

	/* Bus mastering off: the message is sent but cannot arrive. */
	ctrl_set(m, 0, 0);
	cfg_wr(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	gmsix_notify(p, 0);
	assert_int_equal(gintc_msi_count(&m->intc), 2);
	assert_int_equal(gintc_msi_dropped(&m->intc), 1);
	cfg_wr(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

	/* Order across vectors. */
	gintc_clear(&m->intc);
	gmsix_notify(p, 1);
	gmsix_notify(p, 0);
	assert_int_equal(gintc_msi_count(&m->intc), 2);
	msi_is(m, 0, 0xfee01000, 0x42, src);
	msi_is(m, 1, 0xfee00000, 0x41, src);
	assert_true(gintc_msi(&m->intc, 0)->seq < gintc_msi(&m->intc, 1)->seq);
	assert_null(gintc_msi(&m->intc, 2));

	/* gmsix_unuse_all_vectors drops every use and pending bit. */
	ctrl_set(m, 1, 1);
	gmsix_notify(p, 1);
	assert_true(gmsix_is_pending(p, 1));
	gmsix_unuse_all_vectors(p);
	assert_false(gmsix_is_pending(p, 1));
	gmsix_notify(p, 0);
	assert_int_equal(gintc_msi_count(&m->intc), 2);
	dev_free(d);
}

static void test_msix_function_mask_and_enable(void **state)
{
	Machine *m = *state;
	Dev *d = dev_new(m, 3);
	GPciDevice *p = &d->pdev;
	uint32_t src = GPCI_DEVFN(3, 0);

	msix_setup(d, 8);
	dev_map(d);
	entry_set(m, 2, 0xfee02000, 0x52, 0);
	gmsix_vector_use(p, 2);

	/* Disabled: every vector counts as masked; the bit waits. */
	gmsix_notify(p, 2);
	assert_true(gmsix_is_pending(p, 2));
	assert_true(gintc_nothing_delivered(&m->intc));
	/* INTx is up while MSI-X is off... */
	gpci_irq_assert(p);
	assert_int_equal(gintc_intx_level(&m->intc, src, 0), 1);
	/* ...enabling MSI-X drops it and delivers what was pending. */
	msix_control(d, GMSIX_ENABLE_MASK);
	assert_int_equal(gintc_intx_level(&m->intc, src, 0), 0);
	assert_int_equal(gintc_msi_count(&m->intc), 1);
	msi_is(m, 0, 0xfee02000, 0x52, src);
	assert_false(gmsix_is_pending(p, 2));

	/* Function mask: pending while set, delivered when cleared. */
	msix_control(d, GMSIX_ENABLE_MASK | GMSIX_MASKALL_MASK);
	assert_true(p->msix_function_masked);
	gmsix_notify(p, 2);
	assert_true(gmsix_is_pending(p, 2));
	assert_int_equal(gintc_msi_count(&m->intc), 1);
	msix_control(d, GMSIX_ENABLE_MASK);
	assert_int_equal(gintc_msi_count(&m->intc), 2);
	assert_false(gmsix_is_pending(p, 2));
	/* Function mask over a masked vector: unmasking the function alone is not enough. */
	msix_control(d, GMSIX_ENABLE_MASK | GMSIX_MASKALL_MASK);
	ctrl_set(m, 2, 1);
	gmsix_notify(p, 2);
	msix_control(d, GMSIX_ENABLE_MASK);
	assert_true(gmsix_is_pending(p, 2));
	assert_int_equal(gintc_msi_count(&m->intc), 2);
	ctrl_set(m, 2, 0);
	assert_int_equal(gintc_msi_count(&m->intc), 3);
	/* Writing the same control value again changes nothing. */
	msix_control(d, GMSIX_ENABLE_MASK);
	assert_int_equal(gintc_msi_count(&m->intc), 3);
	dev_free(d);
}

/* ---- MSI-X: vector notifiers --------------------------------------------------------- */

#define NOTE_MAX 32
static char g_notes[NOTE_MAX][64];
static unsigned g_nnotes;
static int g_use_fail = -1;

static void note(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	va_list ap;

	assert_true(g_nnotes < NOTE_MAX);
	va_start(ap, fmt);
	vsnprintf(g_notes[g_nnotes++], sizeof(g_notes[0]), fmt, ap);
	va_end(ap);
}

static void notes_expect(const char *first, ...)
{
	va_list ap;
	const char *want = first;
	unsigned i = 0;

	va_start(ap, first);
	while (want) {
		if (i >= g_nnotes)
			fail_msg("note %u missing, want '%s'", i, want);
		if (strcmp(g_notes[i], want))
			fail_msg("note %u: '%s', want '%s'", i, g_notes[i], want);
		i++;
		want = va_arg(ap, const char *);
	}
	va_end(ap);
	if (i != g_nnotes)
		fail_msg("unexpected note %u: '%s'", i, g_notes[i]);
	g_nnotes = 0;
}

static int v_use(GPciDevice *dev, unsigned vector, GMsiMessage msg)
{
	(void)dev;
	note("use %u 0x%llx/0x%x", vector, (unsigned long long)msg.address, msg.data);
	return (int)vector == g_use_fail ? -EBUSY : 0;
}

static void v_release(GPciDevice *dev, unsigned vector)
{
	(void)dev;
	note("release %u", vector);
}

static void v_poll(GPciDevice *dev, unsigned start, unsigned end)
{
	(void)dev;
	note("poll %u-%u", start, end);
}

static void test_msix_vector_notifiers(void **state)
{
	Machine *m = *state;
	Dev *d = dev_new(m, 3);
	GPciDevice *p = &d->pdev;

	g_nnotes = 0;
	g_use_fail = -1;
	msix_setup(d, 8);
	dev_map(d);
	assert_int_equal(gmsix_set_vector_notifiers(p, NULL, v_release, NULL), -EINVAL);
	entry_set(m, 1, 0xfee01000, 0x61, 0);
	entry_set(m, 3, 0xfee03000, 0x63, 1);
	msix_control(d, GMSIX_ENABLE_MASK);

	/* Installing: use for every unmasked vector now, then poll. */
	assert_int_equal(gmsix_set_vector_notifiers(p, v_use, v_release, v_poll), 0);
	notes_expect("use 1 0xfee01000/0x61", "poll 0-8", NULL);

	/* The guest masks and unmasks a vector. */
	ctrl_set(m, 1, 1);
	notes_expect("release 1", NULL);
	ctrl_set(m, 1, 1);		/* no change: no call */
	notes_expect(NULL);
	mmio_wr(m, BAR0_ADDR + TABLE_OFF + 16 + PCI_MSIX_ENTRY_DATA, 0x71);
	ctrl_set(m, 1, 0);
	notes_expect("use 1 0xfee01000/0x71", NULL);
	ctrl_set(m, 3, 0);
	notes_expect("use 3 0xfee03000/0x63", NULL);

	/* The function mask releases every unmasked vector, and back. */
	msix_control(d, GMSIX_ENABLE_MASK | GMSIX_MASKALL_MASK);
	notes_expect("release 1", "release 3", NULL);
	msix_control(d, GMSIX_ENABLE_MASK);
	notes_expect("use 1 0xfee01000/0x71", "use 3 0xfee03000/0x63", NULL);

	/* A PBA read polls the vectors it covers. */
	(void)mmio_rd(m, BAR0_ADDR + PBA_OFF);
	notes_expect("poll 0-8", NULL);
	(void)mmio_rd(m, BAR0_ADDR + PBA_OFF + 4);	/* vectors 32..63: none */
	notes_expect(NULL);

	/* Unset: release for each live vector. */
	gmsix_unset_vector_notifiers(p);
	notes_expect("release 1", "release 3", NULL);
	gmsix_unset_vector_notifiers(p);	/* none: no-op */
	ctrl_set(m, 1, 1);
	notes_expect(NULL);
	ctrl_set(m, 1, 0);

	/* A failing use undoes the ones before it. */
	g_use_fail = 3;
	assert_int_equal(gmsix_set_vector_notifiers(p, v_use, v_release, v_poll), -EBUSY);
	notes_expect("use 1 0xfee01000/0x71", "use 3 0xfee03000/0x63", "release 1", NULL);
	assert_null(p->msix_vector_use_notifier);
	g_use_fail = -1;

	/* Installed while function-masked: no use yet, just poll. */
	msix_control(d, GMSIX_ENABLE_MASK | GMSIX_MASKALL_MASK);
	assert_int_equal(gmsix_set_vector_notifiers(p, v_use, v_release, NULL), 0);
	notes_expect(NULL);
	msix_control(d, GMSIX_ENABLE_MASK);
	notes_expect("use 1 0xfee01000/0x71", "use 3 0xfee03000/0x63", NULL);
	/* A failing use on unmask is not fatal. */
	g_use_fail = 1;
	ctrl_set(m, 1, 1);
	ctrl_set(m, 1, 0);
	notes_expect("release 1", "use 1 0xfee01000/0x71", NULL);
	g_use_fail = -1;

	/* Disabling MSI-X releases nothing (vfio releases by itself). */
	msix_control(d, 0);
	notes_expect(NULL);
	assert_true(gmsix_is_masked(p, 1));
	/* Unset while disabled: nothing to release. */
	gmsix_unset_vector_notifiers(p);
	notes_expect(NULL);

	/* Reset with notifiers: live vectors are released, all masked. */
	msix_control(d, GMSIX_ENABLE_MASK);
	assert_int_equal(gmsix_set_vector_notifiers(p, v_use, v_release, NULL), 0);
	notes_expect("use 1 0xfee01000/0x71", "use 3 0xfee03000/0x63", NULL);
	gmsix_vector_use(p, 3);
	ctrl_set(m, 3, 1);
	notes_expect("release 3", NULL);
	gmsix_notify(p, 3);
	assert_true(gmsix_is_pending(p, 3));
	gpci_device_reset(p);
	notes_expect("release 1", NULL);
	assert_false(gmsix_enabled(p));
	assert_true(p->msix_function_masked);
	assert_false(gmsix_is_pending(p, 3));
	assert_int_equal(gpci_get_long(p->msix_table + 16 + PCI_MSIX_ENTRY_DATA), 0);
	for (unsigned v = 0; v < 8; v++)
		assert_int_equal(p->msix_table[v * 16 + 12], 1);
	assert_int_equal(cfg_rd(d, MSIX_CAP + PCI_MSIX_FLAGS, 2), 7);
	dev_free(d);
}

static void test_msix_exclusive_bar(void **state)
{
	Machine *m = *state;
	Dev *d = dev_new(m, 3);
	GPciDevice *p = &d->pdev;
	Error *err = NULL;
	GMemSection s;

	expect_ret(gmsix_init_exclusive_bar(p, 200, 4, &err), -EINVAL, err,
		   "MSI-X: 200 vectors do not fit in an exclusive BAR");
	expect_ret(gmsix_init_exclusive_bar(p, 4, 6, &err), -EINVAL, err,
		   "MSI-X: invalid table or PBA BAR for device[0]");
	/* BAR 5 is the upper half of a 64-bit BAR 4 on another device. */
	{
		Dev *e = dev_new(m, 4);
		GMemRegion b4;

		gmem_region_init_io(&b4, "b4", 0x1000, &reg_ops, e);
		ok(gpci_register_bar(&e->pdev, 4, PCI_BASE_ADDRESS_MEM_TYPE_64, &b4, &err), err);
		expect_ret(gmsix_init_exclusive_bar(&e->pdev, 4, 5, &err), -EINVAL, err,
			   "PCI: BAR 5 of device[1] is the upper half of 64-bit BAR 4");
		assert_false(gmsix_present(&e->pdev));
		assert_int_equal(gpci_find_capability(&e->pdev, PCI_CAP_ID_MSIX), 0);
		dev_free(e);
		gmem_region_destroy(&b4);
	}
	assert_false(gmsix_present(p));
	gintc_set_msi_supported(&m->intc, false);
	expect_ret(gmsix_init_exclusive_bar(p, 4, 4, &err), -ENOTSUP, err,
		   "MSI-X is not supported by interrupt controller");
	gintc_set_msi_supported(&m->intc, true);
	assert_int_equal(gmsix_init_exclusive_bar(p, 4, 4, &err), 0);
	assert_null(err);
	assert_int_equal(cfg_rd(d, p->msix_cap + PCI_MSIX_TABLE, 4), 4);
	assert_int_equal(cfg_rd(d, p->msix_cap + PCI_MSIX_PBA, 4), 0x800 | 4);
	cfg_wr(d, PCI_BASE_ADDRESS_4, 4, 0xffffffff);
	assert_int_equal(cfg_rd(d, PCI_BASE_ADDRESS_4, 4), 0xfffff000);
	cfg_wr(d, PCI_BASE_ADDRESS_4, 4, 0xe1000000);
	cfg_wr(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(gmem_as_find(&m->mem_as, 0xe1000000, &s));
	assert_ptr_equal(s.mr, &p->msix_table_mmio);
	assert_int_equal(s.size, 4 * 16);
	assert_true(gmem_as_find(&m->mem_as, 0xe1000800, &s));
	assert_ptr_equal(s.mr, &p->msix_pba_mmio);
	assert_false(gmem_as_find(&m->mem_as, 0xe1000400, &s));	/* a hole */
	/* Uninit takes the BAR away too. */
	gmsix_uninit(p);
	assert_false(gmem_as_find(&m->mem_as, 0xe1000000, &s));
	assert_int_equal(cfg_rd(d, PCI_BASE_ADDRESS_4, 4), 0);
	assert_int_equal(p->io_regions[4].size, 0);
	dev_free(d);
}

/* ---- MSI ------------------------------------------------------------------------------ */

static void test_msi_init(void **state)
{
	Machine *m = *state;
	Dev *d = dev_new(m, 4);
	Dev *e = dev_new(m, 5);
	GPciDevice *p = &d->pdev;
	Error *err = NULL;

	assert_int_equal(gmsi_cap_sizeof(0), 0x0a);
	assert_int_equal(gmsi_cap_sizeof(PCI_MSI_FLAGS_64BIT), 0x0e);
	assert_int_equal(gmsi_cap_sizeof(PCI_MSI_FLAGS_MASKBIT), 0x14);
	assert_int_equal(gmsi_cap_sizeof(PCI_MSI_FLAGS_MASKBIT | PCI_MSI_FLAGS_64BIT), 0x18);

	expect_ret(gmsi_init(p, 0x50, 3, true, true, &err), -EINVAL, err,
		   "MSI: 3 vectors: the count must be a power of 2 from 1 to 32");
	expect_ret(gmsi_init(p, 0x50, 0, true, true, &err), -EINVAL, err,
		   "MSI: 0 vectors: the count must be a power of 2 from 1 to 32");
	expect_ret(gmsi_init(p, 0x50, 64, true, true, &err), -EINVAL, err,
		   "MSI: 64 vectors: the count must be a power of 2 from 1 to 32");
	gintc_set_msi_supported(&m->intc, false);
	expect_ret(gmsi_init(p, 0x50, 4, true, true, &err), -ENOTSUP, err,
		   "MSI is not supported by interrupt controller");
	gintc_set_msi_supported(&m->intc, true);

	assert_int_equal(gmsi_init(p, 0x50, 4, true, true, &err), 0x50);
	assert_null(err);
	expect_ret(gmsi_init(p, 0x80, 4, true, true, &err), -EBUSY, err,
		   "MSI: device[0] already has an MSI capability");
	assert_true(gmsi_present(p));
	assert_false(gmsi_enabled(p));
	/* Multiple Message Capable = 4, 64-bit, per-vector masking. */
	assert_int_equal(cfg_rd(d, 0x50, 4), 0x01840000 | PCI_CAP_ID_MSI);
	for (unsigned i = 0x50; i < 0x68; i++)
		assert_int_equal(p->used[i], 0xff);
	assert_int_equal(p->used[0x68], 0);
	assert_int_equal(gpci_get_word(p->wmask + 0x52), 0x0071);
	assert_int_equal(gpci_get_long(p->wmask + 0x54), 0xfffffffc);
	assert_int_equal(gpci_get_long(p->wmask + 0x58), 0xffffffff);
	assert_int_equal(gpci_get_word(p->wmask + 0x5c), 0xffff);
	assert_int_equal(gpci_get_word(p->wmask + 0x5e), 0);
	assert_int_equal(gpci_get_long(p->wmask + 0x60), 0x0000000f);
	assert_int_equal(gpci_get_long(p->wmask + 0x64), 0);
	/* A capability there already. */
	assert_int_equal(gpci_add_capability(&e->pdev, PCI_CAP_ID_VNDR, 0x40, 8, &err), 0x40);
	expect_ret(gmsi_init(&e->pdev, 0x44, 1, false, false, &err), -EINVAL, err,
		   "pci:00:05.0 Attempt to add PCI capability 5 at offset 44 "
		   "overlaps existing capability 40 at offset 44");
	gmsi_uninit(p);
	assert_false(gmsi_present(p));
	assert_int_equal(gpci_find_capability(p, PCI_CAP_ID_MSI), 0);
	gmsi_uninit(p);
	dev_free(d);
	dev_free(e);
}

static void test_msi_multi_message_and_masking(void **state)
{
	Machine *m = *state;
	Dev *d = dev_new(m, 4);
	GPciDevice *p = &d->pdev;
	uint32_t src = GPCI_DEVFN(4, 0);
	Error *err = NULL;

	assert_int_equal(gmsi_init(p, 0x50, 4, true, true, &err), 0x50);
	dev_map(d);
	cfg_wr(d, 0x54, 4, 0xfee00003);		/* bits 1:0 are reserved */
	cfg_wr(d, 0x58, 4, 0x1);
	cfg_wr(d, 0x5c, 2, 0x4120);
	assert_int_equal(cfg_rd(d, 0x54, 4), 0xfee00000);

	/* Disabled: nothing, not even pending. */
	gmsi_notify(p, 0);
	assert_true(gintc_nothing_delivered(&m->intc));
	assert_int_equal(cfg_rd(d, 0x64, 4), 0);

	/* INTx is dropped when MSI comes on. */
	gpci_irq_assert(p);
	assert_int_equal(gintc_intx_level(&m->intc, src, 0), 1);
	/* Enable 4 vectors. */
	cfg_wr(d, 0x52, 2, 0x0021);
	assert_true(gmsi_enabled(p));
	assert_int_equal(gintc_intx_level(&m->intc, src, 0), 0);
	assert_int_equal(gmsi_nr_vectors_allocated(p), 4);
	gintc_clear(&m->intc);

	/* The vector number goes into the low data bits. */
	gmsi_notify(p, 2);
	gmsi_notify(p, 0);
	gmsi_notify(p, 3);
	gmsi_notify(p, 5);	/* beyond what was enabled: nothing */
	assert_int_equal(gintc_msi_count(&m->intc), 3);
	msi_is(m, 0, 0x1fee00000ull, 0x4122, src);
	msi_is(m, 1, 0x1fee00000ull, 0x4120, src);
	msi_is(m, 2, 0x1fee00000ull, 0x4123, src);
	assert_int_equal(gmsi_get_message(p, 1).data, 0x4121);

	/* More vectors than capable: clamped to the maximum. */
	cfg_wr(d, 0x52, 2, 0x0051);
	assert_int_equal(cfg_rd(d, 0x52, 2), 0x01a5);

	/* Per-vector mask: pending while masked, sent on unmask. */
	cfg_wr(d, 0x60, 4, 0xffffffff);
	assert_int_equal(cfg_rd(d, 0x60, 4), 0xf);
	cfg_wr(d, 0x60, 4, 0x2);
	assert_true(gmsi_is_masked(p, 1));
	assert_false(gmsi_is_masked(p, 0));
	gintc_clear(&m->intc);
	gmsi_notify(p, 1);
	assert_int_equal(gintc_msi_count(&m->intc), 0);
	assert_int_equal(cfg_rd(d, 0x64, 4), 0x2);
	gmsi_notify(p, 0);
	msi_is(m, 0, 0x1fee00000ull, 0x4120, src);
	cfg_wr(d, 0x60, 4, 0);
	assert_int_equal(gintc_msi_count(&m->intc), 2);
	msi_is(m, 1, 0x1fee00000ull, 0x4121, src);
	assert_int_equal(cfg_rd(d, 0x64, 4), 0);

	/* Pending bits of vectors no longer enabled go on the next write. */
	gpci_set_long(p->config + 0x64, 0xf0 | 0x4);
	cfg_wr(d, 0x60, 4, 0x4);
	assert_int_equal(cfg_rd(d, 0x64, 4), 0x4);
	cfg_wr(d, 0x52, 2, 0x0001);	/* one vector only */
	assert_int_equal(cfg_rd(d, 0x64, 4), 0);

	/* Bus mastering off: dropped. */
	cfg_wr(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	gmsi_notify(p, 0);
	assert_int_equal(gintc_msi_dropped(&m->intc), 1);

	/* Reset: everything but the capabilities goes to 0. */
	cfg_wr(d, 0x60, 4, 0x1);
	gpci_device_reset(p);
	assert_int_equal(cfg_rd(d, 0x52, 2), 0x0184);
	assert_int_equal(cfg_rd(d, 0x54, 4), 0);
	assert_int_equal(cfg_rd(d, 0x58, 4), 0);
	assert_int_equal(cfg_rd(d, 0x5c, 2), 0);
	assert_int_equal(cfg_rd(d, 0x60, 4), 0);
	assert_false(gmsi_enabled(p));
	dev_free(d);
}

static void test_msi_32bit_no_mask(void **state)
{
	Machine *m = *state;
	Dev *d = dev_new(m, 6);
	GPciDevice *p = &d->pdev;
	Error *err = NULL;

	assert_int_equal(gmsi_init(p, 0, 1, false, false, &err), 0x40);
	assert_int_equal(cfg_rd(d, 0x40, 4), 0x00000000 | PCI_CAP_ID_MSI);
	assert_int_equal(p->used[0x4b], 0xff);
	assert_int_equal(p->used[0x4c], 0);
	dev_map(d);
	cfg_wr(d, 0x44, 4, 0xfee0c000);
	cfg_wr(d, 0x48, 2, 0x0031);
	cfg_wr(d, 0x42, 2, PCI_MSI_FLAGS_ENABLE);
	assert_false(gmsi_is_masked(p, 0));
	gmsi_notify(p, 0);
	msi_is(m, 0, 0xfee0c000, 0x31, GPCI_DEVFN(6, 0));
	assert_int_equal(gmsi_nr_vectors_allocated(p), 1);
	/* Multiple Message Enable beyond capable: clamped to 1. */
	cfg_wr(d, 0x42, 2, 0x0031);
	assert_int_equal(cfg_rd(d, 0x42, 2), 0x0001);
	gpci_device_reset(p);
	assert_int_equal(cfg_rd(d, 0x44, 4), 0);
	assert_int_equal(cfg_rd(d, 0x48, 2), 0);
	/* Not present: neutral answers. */
	gmsi_uninit(p);
	assert_false(gmsi_is_masked(p, 0));
	assert_int_equal(gmsi_get_message(p, 0).address, 0);
	assert_int_equal(gmsi_nr_vectors_allocated(p), 0);
	gmsi_reset(p);
	gmsi_notify(p, 0);
	assert_int_equal(gintc_msi_count(&m->intc), 1);
	dev_free(d);
}

/* ---- the sink --------------------------------------------------------------------------- */

static unsigned g_observed;

static void observer(GIntc *ic, const GIntcEvent *ev, void *opaque)
{
	(void)ic;
	(void)ev;
	assert_ptr_equal(opaque, &g_observed);
	g_observed++;
}

static void test_intc_queries(void **state)
{
	GIntc ic;
	uint64_t mark;
	(void)state;

	gintc_init(&ic, NULL);
	assert_string_equal(ic.name, "intc");
	assert_true(gintc_msi_supported(&ic));
	assert_false(gintc_msi_supported(NULL));
	ic.observer = observer;
	ic.observer_opaque = &g_observed;
	g_observed = 0;
	assert_true(gintc_nothing_delivered(&ic));
	gintc_set_intx(&ic, 8, 1, 0);	/* low, never seen: nothing */
	assert_int_equal(gintc_event_count(&ic), 0);
	gintc_set_intx(&ic, 8, 1, 1);
	assert_false(gintc_nothing_delivered(&ic));
	mark = gintc_mark(&ic);
	gintc_deliver_msi(&ic, 8, 0xfee00000, 1);
	gintc_drop_msi(&ic, 8, 0xfee00000, 2);
	gintc_set_intx(&ic, 8, 1, 0);
	assert_int_equal(gintc_event_count(&ic), 4);
	assert_int_equal(gintc_events_since(&ic, mark), 3);
	assert_int_equal(gintc_msi_count_since(&ic, mark), 1);
	assert_false(gintc_quiet_since(&ic, mark));
	assert_true(gintc_quiet_since(&ic, gintc_mark(&ic)));
	assert_int_equal(gintc_event(&ic, 2)->kind, GINTC_EV_MSI_DROPPED);
	assert_null(gintc_event(&ic, 4));
	assert_int_equal(gintc_intx_raises(&ic, 8, 1), 1);
	assert_int_equal(gintc_intx_raises(&ic, 9, 1), 0);
	assert_int_equal(gintc_intx_level(&ic, 9, 1), 0);
	assert_int_equal(g_observed, 4);
	gintc_set_line(&ic, 200, 1);	/* out of range: ignored */
	assert_int_equal(gintc_line_level(&ic, 200), 0);
	for (unsigned i = 0; i < 100; i++)
		gintc_deliver_msi(&ic, i, 0x1000 + i, i);
	assert_int_equal(gintc_msi_count(&ic), 101);
	for (unsigned i = 0; i < 20; i++)
		gintc_set_intx(&ic, i, 0, 1);
	assert_int_equal(gintc_intx_level(&ic, 19, 0), 1);
	gintc_clear(&ic);
	assert_int_equal(gintc_event_count(&ic), 0);
	assert_false(gintc_nothing_delivered(&ic));	/* pins still up */
	assert_int_equal(gintc_mark(&ic), 124);
	gintc_destroy(&ic);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_msix_init_validation),
		T(test_msix_layout_and_mask_all),
		T(test_msix_mask_pending_unmask),
		T(test_msix_function_mask_and_enable),
		T(test_msix_vector_notifiers),
		T(test_msix_exclusive_bar),
		T(test_msi_init),
		T(test_msi_multi_message_and_masking),
		T(test_msi_32bit_no_mask),
		cmocka_unit_test(test_intc_queries),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

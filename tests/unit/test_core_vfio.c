/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/vfio + core/vfio-pci: the pure parts (config merge, ID checks, the
 * PBA quirk decision, properties) and realize's config setup fed with a
 * device's config image through a real fd (a memfd standing in for the
 * device fd: pread/pwrite at config_offset), plus the fd handlers and the
 * clean failure of realize for a host device that does not exist.  The
 * VFIO ioctl paths run against fakevfio in tests/py/test_core_vfio.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/gintc.h"
#include "core/gmem.h"
#include "core/gmsi.h"
#include "core/gpci.h"
#include "core/machine.h"
#include "core/vfio-pci.h"
#include "core/vfio.h"
#include "sim/sim.h"
#include "corecheck.h"

/* expr, given &err, must fail saying msg (err is declared here). */
#define expect_fail(expr_with_errp, msg) \
	do { Error *err = NULL; bool ok_ = (expr_with_errp); cc_error_at(ok_, &err, (msg), __LINE__); } while (0)

/* Warnings captured through the hook. */
static char warnings[8192];

static void warn_hook(const char *msg, void *opaque)
{
	(void)opaque;
	strncat(warnings, msg, sizeof(warnings) - strlen(warnings) - 2);
	strcat(warnings, "\n");
}

/* ---- pure parts ---------------------------------------------------------- */

static void test_merge(void **state)
{
	(void)state;
	assert_int_equal(vfc_pci_merge_config(0, 0x1234, 0xabcd, 2), 0xabcd);
	assert_int_equal(vfc_pci_merge_config(0xffff, 0x1234, 0xabcd, 2), 0x1234);
	assert_int_equal(vfc_pci_merge_config(0x00ff, 0x1234, 0xabcd, 2), 0xab34);
	assert_int_equal(vfc_pci_merge_config(0x80, 0x80, 0x01, 1), 0x81);
	assert_int_equal(vfc_pci_merge_config(0x80, 0x00, 0x81, 1), 0x01);
	assert_int_equal(vfc_pci_merge_config(0xffff0000u, 0x11110000u, 0x2222ffffu, 4),
			 0x1111ffffu);
	/* Bits above len are dropped. */
	assert_int_equal(vfc_pci_merge_config(0, 0, 0xffffffffu, 1), 0xff);
}

static void test_ids(void **state)
{
	VfcPciProps p;

	(void)state;
	vfc_pci_props_init(&p);
	assert_true(vfc_pci_check_ids(&p, NULL));
	p.vendor_id = 0xfffe;
	p.device_id = 0xffff;
	p.sub_vendor_id = 0xffff;
	p.sub_device_id = 0;
	assert_true(vfc_pci_check_ids(&p, NULL));
	p.vendor_id = 0xffff;
	expect_fail(vfc_pci_check_ids(&p, &err), "Invalid PCI vendor ID provided");
	p.vendor_id = 0x10000;
	expect_fail(vfc_pci_check_ids(&p, &err), "Invalid PCI vendor ID provided");
	p.vendor_id = 0x8086;
	p.device_id = 0x10000;
	expect_fail(vfc_pci_check_ids(&p, &err), "Invalid PCI device ID provided");
	p.device_id = VFC_PCI_ANY_ID;
	p.sub_vendor_id = 0x10000;
	expect_fail(vfc_pci_check_ids(&p, &err),
		     "Invalid PCI subsystem vendor ID provided");
	p.sub_vendor_id = VFC_PCI_ANY_ID;
	p.sub_device_id = 0xfffffffe;
	expect_fail(vfc_pci_check_ids(&p, &err),
		     "Invalid PCI subsystem device ID provided");
}

static void test_pba_quirk(void **state)
{
	uint32_t off;
	bool q;

	(void)state;
	off = 0x1000;
	assert_true(vfc_pci_msix_check_pba(0x1b36, 0x11f0, 0x4000, &off, &q, NULL));
	assert_int_equal(off, 0x1000);
	assert_false(q);
	/* T5 VF: 0x8000 in an 8 KiB BAR becomes 0x1000. */
	off = 0x8000;
	assert_true(vfc_pci_msix_check_pba(0x1425, 0x5803, 0x2000, &off, &q, NULL));
	assert_int_equal(off, 0x1000);
	assert_true(q);
	/* Exactly at the end counts as outside. */
	off = 0x2000;
	assert_true(vfc_pci_msix_check_pba(0x1425, 0x58ff, 0x2000, &off, &q, NULL));
	assert_int_equal(off, 0x1000);
	/* A T5 PF (54xx) or another vendor: the error. */
	off = 0x8000;
	expect_fail(vfc_pci_msix_check_pba(0x1425, 0x5401, 0x2000, &off, &q, &err),
		     "Hardware reports invalid configuration, MSIX PBA outside of specified BAR");
	assert_int_equal(off, 0x8000);
	expect_fail(vfc_pci_msix_check_pba(0x1b36, 0x5801, 0x2000, &off, &q, &err),
		     "Hardware reports invalid configuration, MSIX PBA outside of specified BAR");
}

static void test_properties(void **state)
{
	VfcPciProps p;

	(void)state;
	vfc_pci_props_init(&p);
	assert_true(p.rombar && p.req && !p.vga && p.devfn == -1);
	assert_int_equal(p.vendor_id, VFC_PCI_ANY_ID);
	assert_true(vfc_pci_set_property(&p, "host", "03:00.1", NULL));
	assert_string_equal(p.host, "0000:03:00.1");
	assert_true(vfc_pci_set_property(&p, "host", "000A:1F:1f.7", NULL));
	assert_string_equal(p.host, "000a:1f:1f.7");
	assert_true(vfc_pci_set_property(&p, "x-pci-vendor-id", "0x8086", NULL));
	assert_int_equal(p.vendor_id, 0x8086);
	assert_true(vfc_pci_set_property(&p, "x-pci-sub-device-id", "4096", NULL));
	assert_int_equal(p.sub_device_id, 4096);
	assert_true(vfc_pci_set_property(&p, "rombar", "off", NULL));
	assert_false(p.rombar);
	assert_true(vfc_pci_set_property(&p, "x-no-mmap", "yes", NULL));
	assert_true(p.no_mmap);
	assert_true(vfc_pci_set_property(&p, "addr", "1f.3", NULL));
	assert_int_equal(p.devfn, GPCI_DEVFN(0x1f, 3));
	assert_true(vfc_pci_set_property(&p, "addr", "4", NULL));
	assert_int_equal(p.devfn, GPCI_DEVFN(4, 0));
	assert_true(vfc_pci_set_property(&p, "id", "vf0", NULL));
	assert_string_equal(p.id, "vf0");
	expect_fail(vfc_pci_set_property(&p, "host", "03:20.1", &err),
		     "Property 'vfio-pci.host' doesn't take value '03:20.1'");
	expect_fail(vfc_pci_set_property(&p, "host", "0:3:0.8", &err),
		     "Property 'vfio-pci.host' doesn't take value '0:3:0.8'");
	expect_fail(vfc_pci_set_property(&p, "x-pci-device-id", "-1", &err),
		     "Property 'vfio-pci.x-pci-device-id' doesn't take value '-1'");
	expect_fail(vfc_pci_set_property(&p, "x-pci-device-id", "0x100000000", &err),
		     "Property 'vfio-pci.x-pci-device-id' doesn't take value '0x100000000'");
	expect_fail(vfc_pci_set_property(&p, "rombar", "maybe", &err),
		     "Property 'vfio-pci.rombar' doesn't take value 'maybe'");
	expect_fail(vfc_pci_set_property(&p, "addr", "20", &err),
		     "Property 'vfio-pci.addr' doesn't take value '20'");
	assert_true(vfc_pci_set_property(&p, "x-pci-sub-vendor-id", "0x10", NULL));
	assert_int_equal(p.sub_vendor_id, 0x10);
	assert_true(vfc_pci_set_property(&p, "x-vga", "on", NULL) && p.vga);
	assert_true(vfc_pci_set_property(&p, "x-req", "false", NULL) && !p.req);
	assert_true(vfc_pci_set_property(&p, "multifunction", "1", NULL) && p.multifunction);
	expect_fail(vfc_pci_set_property(&p, "addr", "1.8", &err),
		     "Property 'vfio-pci.addr' doesn't take value '1.8'");
	expect_fail(vfc_pci_set_property(&p, "addr", "1.", &err),
		     "Property 'vfio-pci.addr' doesn't take value '1.'");
	expect_fail(vfc_pci_set_property(&p, "addr", "x", &err),
		     "Property 'vfio-pci.addr' doesn't take value 'x'");
	expect_fail(vfc_pci_set_property(&p, "host", "1:2:3:4.5", &err),
		     "Property 'vfio-pci.host' doesn't take value '1:2:3:4.5'");
	expect_fail(vfc_pci_set_property(&p, "bogus", "1", &err),
		     "Property 'vfio-pci.bogus' not found");
	vfc_pci_props_init(&p);
	assert_null(vfc_pci_new(&p, NULL));
}

/* ---- config setup on a config image ---------------------------------------- */

typedef struct Rig {
	GIntc intc;
	GMemRegion mem, io;
	GPciBus bus;
	VfcPciDevice *vdev;
	int fd;
} Rig;

/* The PCI layer only: registration, no vfio realize (fd set by hand). */
static const GPciDeviceClass image_class = {
	.type = "vfio-pci",
	.is_express = true,
	.config_read = vfc_pci_read_config,
	.config_write = vfc_pci_write_config,
};

static uint8_t image[4096];

static void image_from_model(const char *model, const char *params)
{
	Error *err = NULL;
	SimDevice *d = sim_model_create(model, "0000:03:00.1", params, &err);

	if (!d)
		fail_msg("%s: %s", model, error_get_pretty(err));
	assert_int_equal(sim_cfg_read_buf(d, 0, image, sizeof(image)), 0);
	sim_device_free(d);
}

static void rig_init(Rig *r, const VfcPciProps *props, uint64_t bar_sizes[6])
{
	VfcPciProps p;
	unsigned i;

	memset(r, 0, sizeof(*r));
	gintc_init(&r->intc, "intc");
	gmem_region_init_container(&r->mem, "pci-mem", UINT64_MAX);
	gmem_region_init_container(&r->io, "pci-io", 0x10000);
	gpci_bus_init(&r->bus, "pci.0", &r->mem, &r->io, NULL, &r->intc);
	if (props) {
		p = *props;
	} else {
		vfc_pci_props_init(&p);
	}
	snprintf(p.host, sizeof(p.host), "0000:03:00.1");
	r->vdev = vfc_pci_new(&p, NULL);
	assert_non_null(r->vdev);
	gpci_device_init(&r->vdev->pdev, &image_class, &r->bus, -1, NULL, r->vdev);
	assert_true(gpci_device_realize(&r->vdev->pdev, NULL));
	r->fd = memfd_create("config", MFD_CLOEXEC);
	assert_true(r->fd >= 0);
	assert_int_equal(pwrite(r->fd, image, sizeof(image), 0), (ssize_t)sizeof(image));
	r->vdev->vbasedev.fd = r->fd;
	r->vdev->config_size = sizeof(image);
	r->vdev->config_offset = 0;
	for (i = 0; i < 6; i++) {
		r->vdev->bars[i].region.size = bar_sizes[i];
		r->vdev->bars[i].region.flags = VFIO_REGION_INFO_FLAG_READ |
						VFIO_REGION_INFO_FLAG_WRITE;
		r->vdev->bars[i].region.fd_offset = 0x10000ull * (i + 1);
	}
}

static void rig_destroy(Rig *r)
{
	vfc_pci_teardown(r->vdev);		/* closes the fd */
	assert_int_equal(r->vdev->vbasedev.fd, -1);
	gpci_device_unrealize(&r->vdev->pdev);
	free(r->vdev);
	gpci_bus_destroy(&r->bus);
	gmem_region_destroy(&r->mem);
	gmem_region_destroy(&r->io);
	gintc_destroy(&r->intc);
}

static uint32_t gcfg(Rig *r, unsigned off, unsigned len)
{
	return gpci_config_read(&r->vdev->pdev, off, (int)len);
}

/* T5 VF: vfio-pci shows the VF's real IDs and BAR types (vconfig). */
static void t5vf_image(void)
{
	image_from_model("chelsio-t5-vf", "");
	gpci_set_word(image + PCI_VENDOR_ID, 0x1425);
	gpci_set_word(image + PCI_DEVICE_ID, 0x5803);
	gpci_set_long(image + PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_MEM_TYPE_64);
	gpci_set_long(image + PCI_BASE_ADDRESS_2, PCI_BASE_ADDRESS_MEM_TYPE_64 |
		      PCI_BASE_ADDRESS_MEM_PREFETCH);
	gpci_set_long(image + PCI_BASE_ADDRESS_4, PCI_BASE_ADDRESS_MEM_TYPE_64);
}

static void test_t5vf_caps_order_and_quirk(void **state)
{
	uint64_t sizes[6] = { 0x1000, 0, 0x2000, 0, 0x2000, 0 };
	VfcPciProps p;
	Rig r;
	uint8_t pos, order[8];
	unsigned n = 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	t5vf_image();
	/* The device's chain as the image has it. */
	assert_int_equal(image[PCI_CAPABILITY_LIST], 0x70);
	vfc_pci_props_init(&p);
	p.rombar = false;
	p.sub_vendor_id = 0x1234;
	rig_init(&r, &p, sizes);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));

	/* Capability rebuild: the device's order, emulated next pointers. */
	for (pos = (uint8_t)gcfg(&r, PCI_CAPABILITY_LIST, 1); pos && n < 8;
	     pos = (uint8_t)gcfg(&r, pos + 1, 1))
		order[n++] = pos;
	assert_int_equal(n, 3);
	assert_int_equal(order[0], 0x70);
	assert_int_equal(order[1], 0xb0);
	assert_int_equal(order[2], 0x50);
	assert_int_equal(gcfg(&r, 0x70, 1), PCI_CAP_ID_EXP);
	assert_int_equal(gcfg(&r, 0xb0, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(gcfg(&r, 0x50, 1), PCI_CAP_ID_MSI);
	assert_int_equal(r.vdev->emulated_config_bits[PCI_CAPABILITY_LIST], 0xff);
	assert_int_equal(r.vdev->emulated_config_bits[0x71], 0xff);
	assert_int_equal(r.vdev->emulated_config_bits[0xb1], 0xff);
	assert_int_equal(r.vdev->emulated_config_bits[0x51], 0xff);
	assert_true(gcfg(&r, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);

	/* PBA quirk: the guest reads BIR 4 offset 0x1000. */
	assert_non_null(r.vdev->msix);
	assert_true(r.vdev->msix->pba_quirk);
	assert_int_equal(r.vdev->msix->entries, 8);
	assert_int_equal(gcfg(&r, 0xb0 + PCI_MSIX_PBA, 4), 0x1004);
	assert_int_equal(gcfg(&r, 0xb0 + PCI_MSIX_TABLE, 4), 0x4);
	assert_int_equal(gcfg(&r, 0xb0 + PCI_MSIX_FLAGS, 2), 7);
	/* MSI: 32 vectors, 64-bit, masking: cap size 0x18, emulated. */
	assert_int_equal(r.vdev->msi_cap_size, 0x18);
	assert_int_equal(r.vdev->pdev.msi_cap, 0x50);
	assert_int_equal(gcfg(&r, 0x50 + PCI_MSI_FLAGS, 2) & 0x18e, 0x18a);
	/* Resets: FLR from DevCap; no PM capability. */
	assert_true(r.vdev->has_flr);
	assert_false(r.vdev->has_pm_reset);
	assert_int_equal(r.vdev->pm_cap, 0);

	/* Merge: vendor physical, sub vendor emulated, subsystem physical. */
	assert_int_equal(gcfg(&r, PCI_VENDOR_ID, 4), 0x58031425);
	assert_int_equal(gcfg(&r, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1234);
	assert_int_equal(gcfg(&r, PCI_SUBSYSTEM_VENDOR_ID, 4),
			 0x1234u | (uint32_t)gpci_get_word(image + PCI_SUBSYSTEM_ID) << 16);
	/* The override is read-only for the guest; the write reaches the fd. */
	gpci_config_write(&r.vdev->pdev, PCI_SUBSYSTEM_VENDOR_ID, 0x5678, 2);
	assert_int_equal(gcfg(&r, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1234);
	{
		uint8_t b[2];

		assert_int_equal(pread(r.fd, b, 2, PCI_SUBSYSTEM_VENDOR_ID), 2);
		assert_int_equal(gpci_get_word(b), 0x5678);
	}
	/* A physical byte change shows through where nothing is emulated. */
	{
		uint8_t b = 0x5a;

		assert_int_equal(pwrite(r.fd, &b, 1, PCI_CACHE_LINE_SIZE), 1);
		assert_int_equal(gcfg(&r, PCI_CACHE_LINE_SIZE, 1), 0x5a);
	}
	/* BARs: registered with the types; ROM: none (rombar=off). */
	assert_true(r.vdev->bars[0].mem_init && r.vdev->bars[0].mem64);
	assert_true(r.vdev->bars[2].mem_init);
	assert_int_equal(r.vdev->bars[2].type, PCI_BASE_ADDRESS_MEM_TYPE_64 |
			 PCI_BASE_ADDRESS_MEM_PREFETCH);
	assert_false(r.vdev->bars[1].mem_init);
	assert_int_equal(r.vdev->pdev.io_regions[4].size, 0x2000);
	assert_false(r.vdev->has_rom);
	/* Multifunction is emulated and off. */
	assert_int_equal(r.vdev->emulated_config_bits[PCI_HEADER_TYPE], 0x80);
	assert_int_equal(gcfg(&r, PCI_HEADER_TYPE, 1) & 0x80, 0);

	f = open_memstream(&buf, &len);
	vfc_pci_dump(r.vdev, f);
	fclose(f);
	assert_non_null(strstr(buf, "caps: 0x70:EXP 0xb0:MSIX 0x50:MSI\n"));
	assert_non_null(strstr(buf, "msix entries=8 table=bar4+0x0 pba=bar4+0x1000 (quirk) enabled=0\n"));
	assert_non_null(strstr(buf, "bar4 mem64 size=0x2000 addr=unmapped mmap=no\n"));
	free(buf);
	rig_destroy(&r);
}

static void test_t5vf_no_erratum(void **state)
{
	uint64_t sizes[6] = { 0x1000, 0, 0x2000, 0, 0x2000, 0 };
	Rig r;

	(void)state;
	image_from_model("chelsio-t5-vf", "pba_erratum=off");
	gpci_set_word(image + PCI_VENDOR_ID, 0x1425);
	gpci_set_word(image + PCI_DEVICE_ID, 0x5803);
	rig_init(&r, NULL, sizes);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	assert_false(r.vdev->msix->pba_quirk);
	assert_int_equal(r.vdev->msix->pba_offset, 0x1000);
	/* BAR registers of 0: 32-bit memory. */
	assert_false(r.vdev->bars[4].mem64);
	/* ROM sizing through the fd: a plain file reads the mask back. */
	assert_true(r.vdev->has_rom);
	assert_int_equal(r.vdev->rom_size, 0x800);
	assert_int_equal(gpci_get_long(image + PCI_ROM_ADDRESS), 0);
	{
		uint8_t b[4];

		/* The original value was written back. */
		assert_int_equal(pread(r.fd, b, 4, PCI_ROM_ADDRESS), 4);
		assert_int_equal(gpci_get_long(b), 0);
	}
	rig_destroy(&r);
}

static void test_setup_errors(void **state)
{
	uint64_t sizes[6] = { 0x1000, 0, 0x2000, 0, 0x2000, 0 };
	uint64_t dsizes[6] = { 0x1000, 0x20, 0x4000, 0, 0, 0 };
	VfcPciProps p;
	Rig r;

	(void)state;
	/* Not a Chelsio VF: the PBA error. */
	image_from_model("dma-test", "pba_offset=0x8000");
	rig_init(&r, NULL, dsizes);
	expect_fail(vfc_pci_setup_config(r.vdev, &err),
		     "Hardware reports invalid configuration, MSIX PBA outside of specified BAR");
	rig_destroy(&r);

	/* dma-test as it is: PM (reset), MSI, EXP, MSI-X in order. */
	image_from_model("dma-test", "");
	rig_init(&r, NULL, dsizes);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	assert_int_equal(r.vdev->pm_cap, 0x40);
	assert_true(r.vdev->has_pm_reset);
	assert_true(r.vdev->has_flr);
	assert_true(r.vdev->bars[1].ioport);
	assert_int_equal(gcfg(&r, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(gcfg(&r, 0x41, 1), 0x50);
	assert_int_equal(gcfg(&r, 0x51, 1), 0x70);
	assert_int_equal(gcfg(&r, 0x71, 1), 0xb0);
	assert_int_equal(gcfg(&r, 0xb1, 1), 0);
	rig_destroy(&r);

	/* nosoftrst: no PM reset. */
	image_from_model("dma-test", "nosoftrst=on,flr=off");
	rig_init(&r, NULL, dsizes);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	assert_false(r.vdev->has_pm_reset);
	assert_false(r.vdev->has_flr);
	rig_destroy(&r);

	/* A root port cannot be assigned. */
	t5vf_image();
	gpci_set_word(image + 0x70 + PCI_EXP_FLAGS, 0x0042);
	rig_init(&r, NULL, sizes);
	expect_fail(vfc_pci_setup_config(r.vdev, &err),
		     "Error adding PCI capability 0x10[0x40]@0x70: -22: "
		     "Assignment of PCIe type 0x4 devices is not currently supported");
	rig_destroy(&r);

	/* A capability list with a loop. */
	t5vf_image();
	image[0x51] = 0x70;
	rig_init(&r, NULL, sizes);
	assert_false(vfc_pci_setup_config(r.vdev, NULL));
	rig_destroy(&r);

	/* A pointer into the header. */
	t5vf_image();
	image[0x51] = 0x20;
	rig_init(&r, NULL, sizes);
	expect_fail(vfc_pci_setup_config(r.vdev, &err),
		     "Error adding PCI capability at 0x20: broken capability list");
	rig_destroy(&r);

	/* Invalid ID override. */
	t5vf_image();
	vfc_pci_props_init(&p);
	p.vendor_id = 0xffff;
	rig_init(&r, &p, sizes);
	expect_fail(vfc_pci_setup_config(r.vdev, &err), "Invalid PCI vendor ID provided");
	rig_destroy(&r);

	/* Overrides of IDs, multifunction on (fixed silicon: no quirk needed). */
	image_from_model("chelsio-t5-vf", "pba_erratum=off");
	vfc_pci_props_init(&p);
	p.vendor_id = 0x8086;
	p.device_id = 0x1234;
	p.sub_device_id = 0x4321;
	rig_init(&r, &p, sizes);
	gpci_device_set_multifunction(&r.vdev->pdev, true);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	assert_int_equal(gcfg(&r, PCI_VENDOR_ID, 4), 0x12348086);
	assert_int_equal(gcfg(&r, PCI_SUBSYSTEM_ID, 2), 0x4321);
	assert_int_equal(gcfg(&r, PCI_HEADER_TYPE, 1) & 0x80, 0x80);
	rig_destroy(&r);

	/* The quirk looks at the overridden IDs: not Chelsio, the error. */
	t5vf_image();
	vfc_pci_props_init(&p);
	p.vendor_id = 0x8086;
	rig_init(&r, &p, sizes);
	expect_fail(vfc_pci_setup_config(r.vdev, &err),
		     "Hardware reports invalid configuration, MSIX PBA outside of specified BAR");
	rig_destroy(&r);

	/* A short config read. */
	t5vf_image();
	rig_init(&r, NULL, sizes);
	assert_int_equal(ftruncate(r.fd, 16), 0);
	expect_fail(vfc_pci_setup_config(r.vdev, &err),
		     "Failed to read device config space");
	rig_destroy(&r);
}

static void test_msi_enable_warns_on_bad_fd(void **state)
{
	uint64_t sizes[6] = { 0x1000, 0x20, 0x4000, 0, 0, 0 };
	Rig r;

	(void)state;
	image_from_model("dma-test", "");
	rig_init(&r, NULL, sizes);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	warnings[0] = 0;
	vfc_set_warn_handler(warn_hook, NULL);
	/* SET_IRQS on a memfd: ENOTTY, reported; interrupts stay off. */
	gpci_config_write(&r.vdev->pdev, 0x50 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	assert_non_null(strstr(warnings, "vfio 0000:03:00.1: Error: Failed to setup MSI fds"));
	assert_int_equal(r.vdev->interrupt, VFC_INT_NONE);
	assert_true(gmsi_enabled(&r.vdev->pdev));
	vfc_set_warn_handler(NULL, NULL);
	rig_destroy(&r);
}

static void test_cap_variants(void **state)
{
	uint64_t dsizes[6] = { 0x1000, 0x20, 0x4000, 0, 0, 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	Rig r;

	(void)state;
	/* AF (TP + FLR) instead of PM, a vendor capability instead of EXP. */
	image_from_model("dma-test", "flr=off");
	image[0x40] = PCI_CAP_ID_AF;
	image[0x40 + PCI_AF_CAP] = PCI_AF_CAP_TP | PCI_AF_CAP_FLR;
	image[0x70] = PCI_CAP_ID_VNDR;
	rig_init(&r, NULL, dsizes);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	assert_true(r.vdev->has_flr);
	assert_false(r.vdev->has_pm_reset);
	f = open_memstream(&buf, &len);
	vfc_pci_dump(r.vdev, f);
	fclose(f);
	assert_non_null(strstr(buf, "caps: 0x40:AF 0x50:MSI 0x70:VNDR 0xb0:MSIX\n"));
	free(buf);
	rig_destroy(&r);

	/* No capability list: nothing added, nothing emulated. */
	image_from_model("dma-test", "");
	image[PCI_STATUS] &= (uint8_t)~PCI_STATUS_CAP_LIST;
	rig_init(&r, NULL, dsizes);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	assert_int_equal(r.vdev->emulated_config_bits[PCI_CAPABILITY_LIST], 0);
	assert_false(r.vdev->pdev.cap_present & (GPCI_CAP_MSI | GPCI_CAP_MSIX));
	rig_destroy(&r);

	/* No MSI at the interrupt controller: both capabilities stay out. */
	image_from_model("dma-test", "");
	rig_init(&r, NULL, dsizes);
	gintc_set_msi_supported(&r.intc, false);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	assert_false(r.vdev->pdev.cap_present & (GPCI_CAP_MSI | GPCI_CAP_MSIX));
	assert_int_equal(gcfg(&r, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(gcfg(&r, 0x41, 1), 0x70);
	assert_int_equal(gcfg(&r, 0x71, 1), 0);
	rig_destroy(&r);

	/* An MSI-X BIR that names no BAR. */
	image_from_model("dma-test", "");
	gpci_set_long(image + 0xb0 + PCI_MSIX_TABLE, 7);
	rig_init(&r, NULL, dsizes);
	expect_fail(vfc_pci_setup_config(r.vdev, &err),
		     "Hardware reports invalid configuration, MSIX BIR 7/2 out of range");
	rig_destroy(&r);

	/* A table that does not fit its BAR: msix_init refuses. */
	image_from_model("dma-test", "");
	gpci_set_long(image + 0xb0 + PCI_MSIX_TABLE, 0x3ff0 | 2);
	rig_init(&r, NULL, dsizes);
	assert_false(vfc_pci_setup_config(r.vdev, NULL));
	rig_destroy(&r);

	/* The MSI-X table in a BAR the device does not have. */
	image_from_model("dma-test", "");
	gpci_set_long(image + 0xb0 + PCI_MSIX_TABLE, 4);
	rig_init(&r, NULL, dsizes);
	expect_fail(vfc_pci_setup_config(r.vdev, &err),
		     "Error adding PCI capability 0x11[0x4f]@0xb0: -22: "
		     "msix_init failed: the MSI-X BAR is not mapped");
	rig_destroy(&r);

	/* An MSI capability with 64 vectors (QMASK 6): msi_init refuses. */
	image_from_model("dma-test", "");
	gpci_set_word(image + 0x50 + PCI_MSI_FLAGS, 0x6 << 1 | PCI_MSI_FLAGS_64BIT);
	rig_init(&r, NULL, dsizes);
	assert_false(vfc_pci_setup_config(r.vdev, NULL));
	rig_destroy(&r);
}

/* ---- BARs, ROM, mmap, interrupts and resets on a memfd ----------------------- */

#define FD_SIZE 0x80000

static void bar_rig(Rig *r, const VfcPciProps *props, uint32_t bar_flags, bool readonly_fd)
{
	uint64_t sizes[6] = { 0x1000, 0x20, 0x4000, 0, 0, 0 };
	unsigned i;

	image_from_model("dma-test", "");
	rig_init(r, props, sizes);
	assert_int_equal(ftruncate(r->fd, FD_SIZE), 0);
	for (i = 0; i < 6; i++)
		r->vdev->bars[i].region.flags |= bar_flags;
	if (readonly_fd) {
		char path[64];
		int ro;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", r->fd);
		ro = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(ro >= 0);
		close(r->fd);
		r->fd = r->vdev->vbasedev.fd = ro;
	}
}

static void test_bar_slow_path_and_rom(void **state)
{
	GAddressSpace as;
	Rig r;
	uint64_t v = 0;
	uint8_t b[4];

	(void)state;
	bar_rig(&r, NULL, 0, false);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	gmem_as_init(&as, &r.mem, "mem");
	warnings[0] = 0;
	vfc_set_warn_handler(warn_hook, NULL);
	gpci_config_write(&r.vdev->pdev, PCI_BASE_ADDRESS_0, 0xe0000000, 4);
	gpci_config_write(&r.vdev->pdev, PCI_BASE_ADDRESS_2, 0xe0100000, 4);
	gpci_config_write(&r.vdev->pdev, PCI_BASE_ADDRESS_3, 0, 4);
	gpci_config_write(&r.vdev->pdev, PCI_ROM_ADDRESS, 0xe0200001, 4);
	gpci_config_write(&r.vdev->pdev, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(gpci_get_bar_addr(&r.vdev->pdev, 0), 0xe0000000);
	/* Writes and reads go to region offset + addr of the fd. */
	assert_int_equal(gmem_write_val(&as, 0xe0000008, 4, 0xcafef00d), GMEM_OK);
	assert_int_equal(pread(r.fd, b, 4, 0x10000 + 8), 4);
	assert_int_equal(gpci_get_long(b), 0xcafef00d);
	assert_int_equal(gmem_read_val(&as, 0xe0000008, 2, &v), GMEM_OK);
	assert_int_equal(v, 0xf00d);
	assert_int_equal(gmem_read_val(&as, 0xe0000008, 8, &v), GMEM_OK);
	assert_int_equal(v, 0xcafef00d);
	/* Beyond the end of the fd: a short read reads all-ones, reported. */
	assert_int_equal(ftruncate(r.fd, 0x30000 + 0x2000), 0);
	assert_int_equal(gmem_read_val(&as, 0xe0102000, 4, &v), GMEM_OK);
	assert_int_equal(v, 0xffffffff);
	assert_non_null(strstr(warnings, "vfio_region_read(0000:03:00.1:region2+0x2000, 4) "
			       "failed: short read"));
	/* The ROM: GET_REGION_INFO fails on this fd: all-ones, reported once. */
	warnings[0] = 0;
	assert_int_equal(gmem_read_val(&as, 0xe0200000, 4, &v), GMEM_OK);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(gmem_read_val(&as, 0xe0200004, 1, &v), GMEM_OK);
	assert_int_equal(v, 0xff);
	assert_int_equal(gmem_write_val(&as, 0xe0200000, 4, 0), GMEM_OK);
	assert_non_null(strstr(warnings, "vfio-pci: Cannot read device rom at 0000:03:00.1"));
	assert_null(strstr(strstr(warnings, "Cannot read") + 1, "Cannot read"));
	vfc_set_warn_handler(NULL, NULL);
	gmem_as_destroy(&as);
	rig_destroy(&r);
}

static void test_bar_mmap(void **state)
{
	GAddressSpace as;
	VfcPciProps p;
	Rig r;
	uint64_t v = 0;
	uint8_t b[4];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	bar_rig(&r, NULL, VFIO_REGION_INFO_FLAG_MMAP, false);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	/* BAR0 whole; BAR2: nothing below the table, above it from 0x1000. */
	assert_non_null(r.vdev->bars[0].mmap);
	assert_int_equal(r.vdev->bars[0].mmap_size, 0x1000);
	assert_null(r.vdev->bars[2].mmap);
	assert_non_null(r.vdev->msix->mmap);
	assert_int_equal(r.vdev->msix->mmap_start, 0x1000);
	assert_int_equal(r.vdev->msix->mmap_size, 0x3000);
	assert_true(vfc_is_ram_device(&r.vdev->bars[0].mmap_mem));
	assert_false(vfc_is_ram_device(&r.vdev->bars[0].mem));
	gmem_as_init(&as, &r.mem, "mem");
	gpci_config_write(&r.vdev->pdev, PCI_BASE_ADDRESS_0, 0xe0000000, 4);
	gpci_config_write(&r.vdev->pdev, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	/* Through the mapping, not pwrite: the fd sees it all the same. */
	assert_int_equal(gmem_write_val(&as, 0xe0000010, 4, 0x11223344), GMEM_OK);
	assert_int_equal(pread(r.fd, b, 4, 0x10000 + 0x10), 4);
	assert_int_equal(gpci_get_long(b), 0x11223344);
	assert_int_equal(gmem_read_val(&as, 0xe0000010, 4, &v), GMEM_OK);
	assert_int_equal(v, 0x11223344);
	f = open_memstream(&buf, &len);
	vfc_pci_dump(r.vdev, f);
	fclose(f);
	assert_non_null(strstr(buf, "bar0 mem32 size=0x1000 addr=0xe0000000 mmap=yes\n"));
	assert_non_null(strstr(buf, "bar2 mem64 size=0x4000 addr=unmapped mmap=no\n"));
	free(buf);
	gmem_as_destroy(&as);
	rig_destroy(&r);

	/* x-no-mmap: none. */
	vfc_pci_props_init(&p);
	p.no_mmap = true;
	bar_rig(&r, &p, VFIO_REGION_INFO_FLAG_MMAP, false);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	assert_null(r.vdev->bars[0].mmap);
	assert_null(r.vdev->msix->mmap);
	rig_destroy(&r);

	/* mmap refused (a read-only fd, a writable region): the slow path. */
	warnings[0] = 0;
	vfc_set_warn_handler(warn_hook, NULL);
	bar_rig(&r, NULL, VFIO_REGION_INFO_FLAG_MMAP, true);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	assert_null(r.vdev->bars[0].mmap);
	assert_true(r.vdev->bars[0].mmap_failed);
	assert_non_null(strstr(warnings, "VFIO 0000:03:00.1 BAR 0 mmap unsupported. "
			       "Performance may be slow\n"));
	assert_non_null(strstr(warnings, "VFIO 0000:03:00.1 BAR 2 mmap msix-hi unsupported. "
			       "Performance may be slow\n"));
	/* Config writes fail on this fd: reported. */
	gpci_config_write(&r.vdev->pdev, PCI_COMMAND, 0, 2);
	assert_non_null(strstr(warnings, "vfio_pci_write_config(0000:03:00.1, 0x4, 0x0, 0x2) failed"));
	vfc_set_warn_handler(NULL, NULL);
	rig_destroy(&r);
}

static void msix_table_write(GAddressSpace *as, unsigned vector, unsigned off, uint32_t val)
{
	assert_int_equal(gmem_write_val(as, 0xe0100000 + vector * 16 + off, 4, val), GMEM_OK);
}

static void test_interrupts_and_reset_on_memfd(void **state)
{
	GAddressSpace as;
	Rig r;
	uint8_t b[4];

	(void)state;
	bar_rig(&r, NULL, 0, false);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	gmem_as_init(&as, &r.mem, "mem");
	warnings[0] = 0;
	vfc_set_warn_handler(warn_hook, NULL);
	gpci_config_write(&r.vdev->pdev, PCI_BASE_ADDRESS_2, 0xe0100000, 4);
	gpci_config_write(&r.vdev->pdev, PCI_BASE_ADDRESS_3, 0, 4);
	gpci_config_write(&r.vdev->pdev, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	/* MSI-X on: vector 0 used and released; SET_IRQS fails on a memfd. */
	gpci_config_write(&r.vdev->pdev, 0xb0 + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_int_equal(r.vdev->interrupt, VFC_INT_MSIX);
	assert_int_equal(r.vdev->nr_vectors, 1);
	assert_true(r.vdev->msi_vectors[0].use);
	assert_non_null(strstr(warnings, "vfio 0000:03:00.1: failed to enable vectors, -25"));
	/* Unmasking vector 3 grows the host's vectors to 4. */
	msix_table_write(&as, 3, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_int_equal(r.vdev->nr_vectors, 4);
	assert_true(r.vdev->msi_vectors[3].use);
	assert_false(r.vdev->msi_vectors[2].use);
	/* Vector 0 again: one vector updated. */
	msix_table_write(&as, 0, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	assert_non_null(strstr(warnings, "vfio 0000:03:00.1: failed to modify vector, -25"));
	assert_int_equal(r.vdev->nr_vectors, 4);
	/* MSI on while MSI-X is on: MSI-X goes first (INTx attempt fails). */
	warnings[0] = 0;
	gpci_config_write(&r.vdev->pdev, 0x50 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	assert_non_null(strstr(warnings, "Error: Failed to setup INTx fd"));
	assert_int_equal(r.vdev->interrupt, VFC_INT_NONE);
	assert_null(r.vdev->msi_vectors);

	/* Reset: D3 is left first, COMMAND cleared, BARs zeroed. */
	gpci_set_word(b, 3);
	assert_int_equal(pwrite(r.fd, b, 2, 0x40 + PCI_PM_CTRL), 2);
	gpci_set_long(b, 0xe0000000);
	assert_int_equal(pwrite(r.fd, b, 4, PCI_BASE_ADDRESS_0), 4);
	r.vdev->vbasedev.reset_works = false;
	warnings[0] = 0;
	vfc_pci_reset(&r.vdev->pdev);
	assert_int_equal(pread(r.fd, b, 2, 0x40 + PCI_PM_CTRL), 2);
	assert_int_equal(gpci_get_word(b) & PCI_PM_CTRL_STATE_MASK, 0);
	assert_int_equal(pread(r.fd, b, 4, PCI_BASE_ADDRESS_0), 4);
	assert_int_equal(gpci_get_long(b), 0);
	assert_int_equal(pread(r.fd, b, 2, PCI_COMMAND), 2);
	assert_int_equal(gpci_get_word(b) & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), 0);
	/* Hot reset info fails (not a device fd); PM reset capable: quiet. */
	assert_null(strstr(warnings, "no available reset mechanism"));
	assert_int_equal(vfc_pci_hot_reset(r.vdev, false), -ENOTTY);
	r.vdev->has_pm_reset = false;
	warnings[0] = 0;
	assert_int_equal(vfc_pci_hot_reset(r.vdev, true), -ENOTTY);
	assert_non_null(strstr(warnings, "vfio: Cannot reset device 0000:03:00.1, "
			       "no available reset mechanism."));
	vfc_set_warn_handler(NULL, NULL);
	gmem_as_destroy(&as);
	rig_destroy(&r);

	/* Stuck in D3: the fd takes no writes. */
	image_from_model("dma-test", "");
	gpci_set_word(image + 0x40 + PCI_PM_CTRL, 3);
	{
		uint64_t sizes[6] = { 0x1000, 0x20, 0x4000, 0, 0, 0 };
		char path[64];
		int ro;

		rig_init(&r, NULL, sizes);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", r.fd);
		ro = open(path, O_RDONLY | O_CLOEXEC);
		close(r.fd);
		r.fd = r.vdev->vbasedev.fd = ro;
	}
	warnings[0] = 0;
	vfc_set_warn_handler(warn_hook, NULL);
	assert_true(vfc_pci_setup_config(r.vdev, NULL));
	assert_non_null(strstr(warnings, "vfio_pci_size_rom(0000:03:00.1) failed"));
	assert_false(r.vdev->has_rom);
	vfc_pci_reset(&r.vdev->pdev);
	assert_non_null(strstr(warnings, "vfio: Unable to power on device, stuck in D3"));
	assert_non_null(strstr(warnings, "vfio_pci_post_reset(0000:03:00.1) reset bar 0 failed"));
	vfc_set_warn_handler(NULL, NULL);
	rig_destroy(&r);
}

/* ---- fd handlers ------------------------------------------------------------- */

static int fired;

static void on_fd(void *opaque)
{
	uint64_t v;

	assert_int_equal(read(*(int *)opaque, &v, sizeof(v)), 8);
	fired += (int)v;
}

static void test_fd_handlers(void **state)
{
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK);
	uint64_t one = 1, three = 3;

	(void)state;
	fired = 0;
	assert_int_equal(vfc_fd_handler_count(), 0);
	assert_int_equal(vfc_fd_handlers_poll(0), 0);
	assert_true(vfc_set_fd_handler(a, on_fd, &a));
	assert_true(vfc_set_fd_handler(b, on_fd, &b));
	assert_int_equal(vfc_fd_handler_count(), 2);
	assert_int_equal(vfc_fd_handlers_poll(0), 0);
	assert_int_equal(write(b, &three, 8), 8);
	assert_int_equal(vfc_fd_handlers_poll(100), 1);
	assert_int_equal(fired, 3);
	assert_int_equal(write(a, &one, 8), 8);
	assert_int_equal(write(b, &one, 8), 8);
	assert_int_equal(vfc_fd_handlers_poll(0), 2);
	assert_int_equal(fired, 5);
	assert_true(vfc_set_fd_handler(a, NULL, NULL));
	assert_true(vfc_set_fd_handler(a, NULL, NULL));
	assert_int_equal(vfc_fd_handler_count(), 1);
	assert_true(vfc_set_fd_handler(b, NULL, NULL));
	assert_int_equal(vfc_fd_handler_count(), 0);
	close(a);
	close(b);
}

/* ---- realize without the device: a clean failure ----------------------------- */

static void test_no_such_host_device(void **state)
{
	VfcMachine *m;
	Error *err = NULL;
	const char *props[] = { "rombar=off" };
	const char *bad[] = { "rombar" };

	(void)state;
	m = vfc_machine_new(NULL, &err);
	assert_non_null(m);
	assert_null(vfc_machine_add_vfio_pci(m, "0000:ff:1f.7", props, 1, &err));
	assert_string_equal(error_get_pretty(err),
			    "vfio 0000:ff:1f.7: error: no such host device: "
			    "/sys/bus/pci/devices/0000:ff:1f.7/");
	error_free(err);
	err = NULL;
	assert_null(vfc_machine_add_vfio_pci(m, "ff:1f.7", bad, 1, &err));
	assert_string_equal(error_get_pretty(err), "property 'rombar': expected KEY=VALUE");
	error_free(err);
	err = NULL;
	assert_null(vfc_machine_add_vfio_pci(m, "zz", NULL, 0, &err));
	assert_string_equal(error_get_pretty(err),
			    "Property 'vfio-pci.host' doesn't take value 'zz'");
	error_free(err);
	err = NULL;
	/* Nothing left behind: no group, no container, no handler, no device. */
	assert_null(vfc_group_first());
	assert_null(vfc_container_first());
	assert_false(vfc_reset_handler_registered());
	assert_int_equal(vfc_fd_handler_count(), 0);
	assert_int_equal(m->ndevices, 0);
	assert_null(gpci_bus_find_device(&m->bus, 0));
	/* RAM is real memory of this process. */
	assert_non_null(vfc_machine_ram_ptr(m, 0, 4096));
	assert_null(vfc_machine_ram_ptr(m, m->ram_size - 8, 16));
	{
		uint64_t v = 0;

		*(uint32_t *)vfc_machine_ram_ptr(m, 0x100, 4) = 0xdeadbeef;
		assert_int_equal(vfc_machine_mmio_read(m, 0x100, 4, &v), GMEM_OK);
		assert_int_equal(v, 0xdeadbeef);
		assert_int_equal(vfc_machine_mmio_read(m, 1ull << 40, 4, &v), GMEM_UNASSIGNED);
		assert_int_equal(vfc_machine_io_read(m, 0xcf8, 4, &v), GMEM_UNASSIGNED);
	}
	vfc_machine_free(m);
	{
		VfcMachineConfig cfg = { .ram_size = 100 };

		assert_null(vfc_machine_new(&cfg, &err));
		assert_string_equal(error_get_pretty(err),
				    "machine: RAM [0x0 +0x64] is not page aligned");
		error_free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_pba_quirk),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_t5vf_caps_order_and_quirk),
		cmocka_unit_test(test_t5vf_no_erratum),
		cmocka_unit_test(test_setup_errors),
		cmocka_unit_test(test_msi_enable_warns_on_bad_fd),
		cmocka_unit_test(test_cap_variants),
		cmocka_unit_test(test_bar_slow_path_and_rom),
		cmocka_unit_test(test_bar_mmap),
		cmocka_unit_test(test_interrupts_and_reset_on_memfd),
		cmocka_unit_test(test_fd_handlers),
		cmocka_unit_test(test_no_such_host_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

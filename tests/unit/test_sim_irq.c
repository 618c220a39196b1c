/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sim core: MSI, MSI-X, INTx, AER and REQ outputs. */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testlib.h"

#define MSI 0x50
#define MSIX 0xb0
#define PCIE 0x70

/* A function with MSI (nvec, 64-bit, maskable), MSI-X (8 in BAR2), AER. */
static SimDevice *irq_device(TlHost *h, unsigned msi_nvec, bool msi64,
			     bool maskable, bool pin)
{
	SimDevice *dev = sim_device_new("irq", 4096);
	SimMsixConfig mx = { .nvec = 8, .table_bar = 2, .table_offset = 0x0,
			     .pba_bar = 2, .pba_offset = 0x800 };
	SimPcieConfig pc = { .flags = 0x0002, .devcap = PCI_EXP_DEVCAP_FLR };
	Error *err = NULL;

	tl_ok(sim_bar_add(dev, 2, SIM_BAR_MEM64, false, 0x1000, &err), err);
	tl_ok(sim_cap_add_msi(dev, MSI, msi_nvec, msi64, maskable, &err), err);
	tl_ok(sim_cap_add_pcie(dev, PCIE, &pc, &err), err);
	tl_ok(sim_cap_add_msix(dev, MSIX, &mx, &err), err);
	tl_ok(sim_ecap_add_aer(dev, 0x100, &err), err);
	if (pin)
		sim_cfg_set(dev, PCI_INTERRUPT_PIN, 1, 1);
	tl_ok(sim_device_realize(dev, &err), err);
	tl_host_attach(h, dev);
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return dev;
}

static void test_msi_64_maskable(void **state)
{
	TlHost h;
	SimDevice *dev = irq_device(&h, 32, true, true, false);
	(void)state;

	assert_int_equal(tl_cfg_read(dev, MSI + PCI_MSI_FLAGS, 2), 0x018a);
	/* Disabled: dropped. */
	assert_int_equal(sim_irq_raise(dev, 0), SIM_IRQ_DROPPED);
	tl_cfg_write(dev, MSI + PCI_MSI_ADDRESS_LO, 4, 0xfee00003);
	tl_cfg_write(dev, MSI + PCI_MSI_ADDRESS_HI, 4, 0x1);
	tl_cfg_write(dev, MSI + PCI_MSI_DATA_64, 2, 0x4160);
	assert_int_equal(tl_cfg_read(dev, MSI + PCI_MSI_ADDRESS_LO, 4), 0xfee00000);
	/* Enable with 4 messages (MME = 2); MMC stays read-only. */
	tl_cfg_write(dev, MSI + PCI_MSI_FLAGS, 2, 0x0020 | PCI_MSI_FLAGS_ENABLE | 0x000e);
	assert_int_equal(tl_cfg_read(dev, MSI + PCI_MSI_FLAGS, 2), 0x01ab);
	assert_true(sim_msi_enabled(dev));
	assert_int_equal(sim_msi_nvec_enabled(dev), 4);
	assert_int_equal(sim_irq_mode(dev), SIM_IRQ_MSI);
	assert_int_equal(sim_irq_raise(dev, 3), SIM_IRQ_DELIVERED);
	assert_int_equal(h.nmsgs, 1);
	assert_int_equal(h.msgs[0].addr, 0x1fee00000ull);
	assert_int_equal(h.msgs[0].data, 0x4163);
	assert_int_equal(sim_irq_raise(dev, 4), SIM_IRQ_DROPPED);
	/* Mask vector 1: pending, shown in Pending Bits, delivered on unmask. */
	tl_cfg_write(dev, MSI + PCI_MSI_MASK_64, 4, 0x2);
	assert_int_equal(sim_irq_raise(dev, 1), SIM_IRQ_PENDING);
	assert_true(sim_msi_pending(dev, 1));
	assert_int_equal(tl_cfg_read(dev, MSI + PCI_MSI_PENDING_64, 4), 0x2);
	tl_cfg_write(dev, MSI + PCI_MSI_PENDING_64, 4, 0);	/* read-only */
	assert_int_equal(tl_cfg_read(dev, MSI + PCI_MSI_PENDING_64, 4), 0x2);
	assert_int_equal(h.nmsgs, 1);
	tl_cfg_write(dev, MSI + PCI_MSI_MASK_64, 4, 0);
	assert_int_equal(h.nmsgs, 2);
	assert_int_equal(h.msgs[1].data, 0x4161);
	assert_false(sim_msi_pending(dev, 1));
	assert_false(sim_msi_pending(dev, 40));
	sim_device_free(dev);
}

static void test_msi_32_unmaskable(void **state)
{
	TlHost h;
	SimDevice *dev = irq_device(&h, 1, false, false, false);
	(void)state;

	assert_int_equal(tl_cfg_read(dev, MSI + PCI_MSI_FLAGS, 2), 0x0000);
	tl_cfg_write(dev, MSI + PCI_MSI_ADDRESS_LO, 4, 0xfee01000);
	tl_cfg_write(dev, MSI + PCI_MSI_DATA_32, 2, 0x0041);
	/* MME beyond MMC: the device uses what it has. */
	tl_cfg_write(dev, MSI + PCI_MSI_FLAGS, 2, 0x0051);
	assert_int_equal(sim_msi_nvec_enabled(dev), 1);
	assert_int_equal(sim_irq_raise(dev, 0), SIM_IRQ_DELIVERED);
	assert_int_equal(h.msgs[0].addr, 0xfee01000);
	assert_int_equal(h.msgs[0].data, 0x41);
	assert_int_equal(sim_irq_raise(dev, 1), SIM_IRQ_DROPPED);
	sim_device_free(dev);
}

static void msix_program(SimDevice *dev, unsigned v, uint64_t addr, uint32_t data)
{
	tl_bar_write(dev, 2, v * 16 + 0, 4, (uint32_t)addr);
	tl_bar_write(dev, 2, v * 16 + 4, 4, (uint32_t)(addr >> 32));
	tl_bar_write(dev, 2, v * 16 + 8, 4, data);
}

static void test_msix(void **state)
{
	TlHost h;
	SimDevice *dev = irq_device(&h, 1, false, false, false);
	uint64_t addr;
	uint32_t data, ctrl;
	(void)state;

	assert_int_equal(tl_cfg_read(dev, MSIX + PCI_MSIX_FLAGS, 2), 7);
	assert_int_equal(tl_cfg_read(dev, MSIX + PCI_MSIX_TABLE, 4), 2);
	assert_int_equal(tl_cfg_read(dev, MSIX + PCI_MSIX_PBA, 4), 0x802);
	assert_int_equal(sim_msix_nvec(dev), 8);
	/* Every vector comes out of reset masked. */
	for (unsigned v = 0; v < 8; v++)
		assert_int_equal(tl_bar_read(dev, 2, v * 16 + 12, 4), 1);
	msix_program(dev, 0, 0xfee00000, 0x41);
	msix_program(dev, 5, 0x1fee01003, 0x45);
	/* Only Mask is writable in Vector Control; address low bits are 0. */
	tl_bar_write(dev, 2, 5 * 16 + 12, 4, 0xfffffffe);
	assert_int_equal(tl_bar_read(dev, 2, 5 * 16 + 12, 4), 0);
	assert_true(sim_msix_entry(dev, 5, &addr, &data, &ctrl));
	assert_int_equal(addr, 0x1fee01000ull);
	assert_int_equal(data, 0x45);
	assert_int_equal(ctrl, 0);
	assert_false(sim_msix_entry(dev, 8, NULL, NULL, NULL));
	/* Not enabled: dropped even though vector 5 is unmasked. */
	assert_int_equal(sim_irq_raise(dev, 5), SIM_IRQ_DROPPED);
	tl_cfg_write(dev, MSIX + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | 0x3fff);
	assert_int_equal(tl_cfg_read(dev, MSIX + PCI_MSIX_FLAGS, 2), 0x8007);
	assert_true(sim_msix_enabled(dev));
	/* MSI-X wins over MSI. */
	tl_cfg_write(dev, MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(sim_irq_mode(dev), SIM_IRQ_MSIX);
	assert_int_equal(sim_irq_raise(dev, 5), SIM_IRQ_DELIVERED);
	assert_int_equal(h.nmsgs, 1);
	assert_int_equal(h.msgs[0].addr, 0x1fee01000ull);
	assert_int_equal(h.msgs[0].data, 0x45);
	/* Vector 0 is masked: pending bit in the PBA, read through the BAR. */
	assert_int_equal(sim_irq_raise(dev, 0), SIM_IRQ_PENDING);
	assert_true(sim_msix_pending(dev, 0));
	assert_int_equal(tl_bar_read(dev, 2, 0x800, 8), 0x1);
	tl_bar_write(dev, 2, 0x800, 8, 0);	/* the PBA is read-only */
	assert_int_equal(tl_bar_read(dev, 2, 0x800, 8), 0x1);
	assert_int_equal(h.nmsgs, 1);
	tl_bar_write(dev, 2, 0 * 16 + 12, 4, 0);	/* unmask: delivered */
	assert_int_equal(h.nmsgs, 2);
	assert_int_equal(h.msgs[1].data, 0x41);
	assert_int_equal(tl_bar_read(dev, 2, 0x800, 8), 0);
	/* Function mask holds every vector pending until it is cleared. */
	tl_cfg_write(dev, MSIX + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(sim_irq_raise(dev, 5), SIM_IRQ_PENDING);
	assert_int_equal(sim_irq_raise(dev, 0), SIM_IRQ_PENDING);
	assert_int_equal(tl_bar_read(dev, 2, 0x800, 1), 0x21);
	tl_cfg_write(dev, MSIX + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(h.nmsgs, 4);
	assert_int_equal(h.msgs[2].data, 0x41);	/* lowest vector first */
	assert_int_equal(h.msgs[3].data, 0x45);
	assert_int_equal(sim_irq_raise(dev, 8), SIM_IRQ_DROPPED);
	/* Disable: MSI takes over. */
	tl_cfg_write(dev, MSIX + PCI_MSIX_FLAGS, 2, 0);
	assert_int_equal(sim_irq_mode(dev), SIM_IRQ_MSI);
	sim_device_free(dev);
}

static void test_msix_layout_errors(void **state)
{
	SimDevice *dev = sim_device_new("t", 256);
	SimMsixConfig mx = { .nvec = 8, .table_bar = 0, .table_offset = 0,
			     .pba_bar = 0, .pba_offset = 0x80 };
	Error *err = NULL;
	(void)state;

	tl_ok(sim_bar_add(dev, 0, SIM_BAR_MEM32, false, 0x1000, &err), err);
	/* Table and PBA overlap. */
	mx.pba_offset = 0x40;
	assert_false(sim_cap_add_msix(dev, 0x40, &mx, &err));
	assert_non_null(strstr(error_get_pretty(err), "MSI-X PBA"));
	error_free(err);
	err = NULL;
	sim_device_free(dev);

	dev = sim_device_new("t", 256);
	tl_ok(sim_bar_add(dev, 0, SIM_BAR_MEM32, false, 0x1000, &err), err);
	mx.pba_offset = 0x80;
	mx.table_bar = 1;
	assert_false(sim_cap_add_msix(dev, 0x40, &mx, &err));
	assert_non_null(strstr(error_get_pretty(err), "no implemented BAR"));
	error_free(err);
	err = NULL;
	sim_device_free(dev);

	dev = sim_device_new("t", 256);
	tl_ok(sim_bar_add(dev, 0, SIM_BAR_MEM32, false, 0x1000, &err), err);
	mx.table_bar = 0;
	mx.table_offset = 0xfc0;	/* 8 entries do not fit */
	assert_false(sim_cap_add_msix(dev, 0x40, &mx, &err));
	assert_non_null(strstr(error_get_pretty(err), "does not fit"));
	error_free(err);
	err = NULL;
	mx.table_offset = 4;
	assert_false(sim_cap_add_msix(dev, 0x40, &mx, &err));
	error_free(err);
	err = NULL;
	mx.table_offset = 0;
	mx.nvec = 0;
	assert_false(sim_cap_add_msix(dev, 0x40, &mx, &err));
	error_free(err);
	err = NULL;
	/* A reported PBA offset that differs from where the PBA is. */
	mx.nvec = 8;
	mx.pba_offset_reported = 0x8000;
	tl_ok(sim_cap_add_msix(dev, 0x40, &mx, &err), err);
	assert_int_equal(sim_cfg_get(dev, 0x40 + PCI_MSIX_PBA, 4), 0x8000);
	tl_ok(sim_device_realize(dev, &err), err);
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(tl_bar_read(dev, 0, 0x80, 8), 0);	/* the real PBA */
	sim_device_free(dev);
}

static void test_msi_cap_errors(void **state)
{
	SimDevice *dev = sim_device_new("t", 256);
	Error *err = NULL;
	(void)state;

	assert_false(sim_cap_add_msi(dev, 0x50, 3, false, false, &err));
	assert_non_null(strstr(error_get_pretty(err), "power of two"));
	error_free(err);
	err = NULL;
	assert_false(sim_cap_add_msi(dev, 0x50, 64, false, false, &err));
	error_free(err);
	err = NULL;
	tl_ok(sim_cap_add_msi(dev, 0x50, 2, false, true, &err), err);
	assert_false(sim_cap_add_msi(dev, 0x70, 2, false, true, &err));
	error_free(err);
	sim_device_free(dev);
}

static void test_intx(void **state)
{
	TlHost h;
	SimDevice *dev = irq_device(&h, 1, false, false, true);
	(void)state;

	assert_int_equal(sim_irq_mode(dev), SIM_IRQ_INTX);
	assert_int_equal(sim_irq_raise(dev, 0), SIM_IRQ_DELIVERED);
	assert_true(sim_intx_asserted(dev));
	assert_int_equal(h.intx_changes, 1);
	assert_true(h.intx_level);
	assert_int_equal(h.pin, 1);
	assert_true(tl_cfg_read(dev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Interrupt Disable masks the line; Status still shows the request. */
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_MEMORY);
	assert_false(sim_intx_asserted(dev));
	assert_int_equal(h.intx_changes, 2);
	assert_false(h.intx_level);
	assert_true(tl_cfg_read(dev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(sim_irq_mode(dev), SIM_IRQ_NONE);
	assert_int_equal(sim_irq_raise(dev, 0), SIM_IRQ_PENDING);
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(h.intx_level);
	assert_int_equal(h.intx_changes, 3);
	/* Enabling MSI drops the INTx line; disabling it brings it back. */
	tl_cfg_write(dev, MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	assert_false(h.intx_level);
	assert_int_equal(h.intx_changes, 4);
	tl_cfg_write(dev, MSI + PCI_MSI_FLAGS, 2, 0);
	assert_true(h.intx_level);
	tl_cfg_write(dev, MSIX + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_false(h.intx_level);
	tl_cfg_write(dev, MSIX + PCI_MSIX_FLAGS, 2, 0);
	assert_true(h.intx_level);
	assert_int_equal(h.intx_changes, 7);
	sim_intx_set(dev, false);
	assert_false(h.intx_level);
	assert_false(tl_cfg_read(dev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	sim_device_free(dev);

	/* No pin: nothing to drive. */
	dev = irq_device(&h, 1, false, false, false);
	assert_int_equal(sim_irq_mode(dev), SIM_IRQ_NONE);
	assert_int_equal(sim_irq_raise(dev, 0), SIM_IRQ_DROPPED);
	assert_int_equal(h.intx_changes, 0);
	sim_device_free(dev);
}

static void test_aer_and_req(void **state)
{
	TlHost h;
	SimDevice *dev = irq_device(&h, 1, false, false, false);
	const uint32_t hdr[4] = { 1, 2, 3, 4 };
	(void)state;

	/* Defaults: severity and masks from the spec. */
	assert_int_equal(tl_cfg_read(dev, 0x100 + PCI_ERR_UNCOR_SEVER, 4), 0x00462030);
	assert_int_equal(tl_cfg_read(dev, 0x100 + PCI_ERR_COR_MASK, 4), PCI_ERR_COR_ADV_NFAT);
	/* Non-fatal (Unsupported Request) unmasked: ERR, status, DevSta. */
	assert_int_equal(sim_aer_inject(dev, true, PCI_ERR_UNC_UNSUP, hdr), 0);
	assert_int_equal(h.errs, 1);
	assert_int_equal(tl_cfg_read(dev, 0x100 + PCI_ERR_UNCOR_STATUS, 4), PCI_ERR_UNC_UNSUP);
	assert_int_equal(tl_cfg_read(dev, 0x100 + PCI_ERR_CAP, 4) & 0x1f, 20);
	assert_int_equal(tl_cfg_read(dev, 0x100 + PCI_ERR_HEADER_LOG + 12, 4), 4);
	assert_int_equal(tl_cfg_read(dev, PCIE + PCI_EXP_DEVSTA, 2), PCI_EXP_DEVSTA_NFED);
	/* RW1C. */
	tl_cfg_write(dev, 0x100 + PCI_ERR_UNCOR_STATUS, 4, PCI_ERR_UNC_UNSUP);
	assert_int_equal(tl_cfg_read(dev, 0x100 + PCI_ERR_UNCOR_STATUS, 4), 0);
	tl_cfg_write(dev, PCIE + PCI_EXP_DEVSTA, 2, PCI_EXP_DEVSTA_NFED);
	assert_int_equal(tl_cfg_read(dev, PCIE + PCI_EXP_DEVSTA, 2), 0);
	/* Fatal (Malformed TLP is fatal by default). */
	assert_int_equal(sim_aer_inject(dev, true, PCI_ERR_UNC_MALF_TLP, NULL), 0);
	assert_int_equal(h.errs, 2);
	assert_int_equal(tl_cfg_read(dev, PCIE + PCI_EXP_DEVSTA, 2), PCI_EXP_DEVSTA_FED);
	/* Masked: status only, no ERR. */
	tl_cfg_write(dev, 0x100 + PCI_ERR_UNCOR_MASK, 4, PCI_ERR_UNC_COMP_ABORT);
	assert_int_equal(sim_aer_inject(dev, true, PCI_ERR_UNC_COMP_ABORT, NULL), 0);
	assert_int_equal(h.errs, 2);
	assert_true(tl_cfg_read(dev, 0x100 + PCI_ERR_UNCOR_STATUS, 4) & PCI_ERR_UNC_COMP_ABORT);
	/* Correctable: status and CED, no ERR. */
	assert_int_equal(sim_aer_inject(dev, false, PCI_ERR_COR_BAD_TLP, NULL), 0);
	assert_int_equal(h.errs, 2);
	assert_int_equal(tl_cfg_read(dev, 0x100 + PCI_ERR_COR_STATUS, 4), PCI_ERR_COR_BAD_TLP);
	assert_true(tl_cfg_read(dev, PCIE + PCI_EXP_DEVSTA, 2) & PCI_EXP_DEVSTA_CED);
	/* Bad bits. */
	assert_int_equal(sim_aer_inject(dev, true, 0x1, NULL), -EINVAL);
	assert_int_equal(sim_aer_inject(dev, false, 0, NULL), -EINVAL);
	sim_req_raise(dev);
	assert_int_equal(h.reqs, 1);
	sim_device_free(dev);

	dev = sim_device_new("noaer", 256);
	assert_int_equal(sim_aer_inject(dev, true, PCI_ERR_UNC_UNSUP, NULL), -ENODEV);
	sim_device_free(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msi_64_maskable),
		cmocka_unit_test(test_msi_32_unmaskable),
		cmocka_unit_test(test_msix),
		cmocka_unit_test(test_msix_layout_errors),
		cmocka_unit_test(test_msi_cap_errors),
		cmocka_unit_test(test_intx),
		cmocka_unit_test(test_aer_and_req),
	};

	return cmocka_run_group_tests_name("sim_irq", tests, NULL, NULL);
}

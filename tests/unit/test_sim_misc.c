/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sim core: resets, DMA port, params, model registry, trace, errors, locking. */
#include <errno.h>
#include <linux/pci_regs.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/trace.h"
#include "testlib.h"

#define PM 0x40
#define AF 0x48
#define PCIE 0x70

static unsigned model_resets;
static SimResetKind last_kind;

static void model_reset(SimDevice *dev, SimResetKind kind)
{
	(void)dev;
	model_resets++;
	last_kind = kind;
}

static void model_free(void *state)
{
	free(state);
}

static const SimModelOps mops = { model_reset, model_free };

static SimDevice *reset_device(bool flr, bool nsr, bool d1)
{
	SimDevice *dev = sim_device_new("rst", 4096);
	SimPcieConfig pc = { .flags = 0x0002, .devcap = flr ? PCI_EXP_DEVCAP_FLR : 0,
			     .devctl = 0x2810 };
	Error *err = NULL;

	tl_ok(sim_bar_add(dev, 0, SIM_BAR_MEM32, false, 0x1000, &err), err);
	tl_ok(sim_cap_add_pm(dev, PM, 0x0003 | (d1 ? PCI_PM_CAP_D1 : 0) |
				  PCI_PM_CAP_PME_D3hot, nsr, &err), err);
	tl_ok(sim_cap_add_af(dev, AF, &err), err);
	tl_ok(sim_cap_add_pcie(dev, PCIE, &pc, &err), err);
	sim_device_set_model(dev, &mops, malloc(16));
	tl_ok(sim_device_realize(dev, &err), err);
	model_resets = 0;
	return dev;
}

static void test_flr_devctl(void **state)
{
	SimDevice *dev = reset_device(true, false, false);
	(void)state;

	assert_int_equal(tl_cfg_read(dev, PCIE + PCI_EXP_DEVCTL, 2), 0x2810);
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	tl_cfg_write(dev, PCI_BASE_ADDRESS_0, 4, 0xfe000000);
	tl_cfg_write(dev, PCIE + PCI_EXP_DEVCTL, 2, 0x0040);	/* MPS 256 */
	/* Phantom Functions is not writable. */
	tl_cfg_write(dev, PCIE + PCI_EXP_DEVCTL, 2, 0x0240);
	assert_int_equal(tl_cfg_read(dev, PCIE + PCI_EXP_DEVCTL, 2), 0x0040);
	tl_cfg_write(dev, PCIE + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR | 0x0040);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_FLR), 1);
	assert_int_equal(model_resets, 1);
	assert_int_equal(last_kind, SIM_RESET_FLR);
	/* Everything is back to power-on, and the FLR bit reads 0. */
	assert_int_equal(tl_cfg_read(dev, PCIE + PCI_EXP_DEVCTL, 2), 0x2810);
	assert_int_equal(tl_cfg_read(dev, PCI_COMMAND, 2), 0);
	assert_int_equal(tl_cfg_read(dev, PCI_BASE_ADDRESS_0, 4), 0);
	/* A 1-byte write to the high byte starts FLR too. */
	tl_cfg_write(dev, PCIE + PCI_EXP_DEVCTL + 1, 1, 0x80);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_FLR), 2);
	sim_device_free(dev);

	/* Without DevCap.FLR the bit does nothing. */
	dev = reset_device(false, false, false);
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	tl_cfg_write(dev, PCIE + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_FLR), 0);
	assert_int_equal(tl_cfg_read(dev, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	sim_device_free(dev);
}

static void test_flr_af(void **state)
{
	SimDevice *dev = reset_device(false, false, false);
	(void)state;

	assert_int_equal(tl_cfg_read(dev, AF, 4), 0x03067013);	/* next: PCIe */
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	tl_cfg_write(dev, AF + PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_FLR), 1);
	assert_int_equal(tl_cfg_read(dev, PCI_COMMAND, 2), 0);
	assert_int_equal(tl_cfg_read(dev, AF + PCI_AF_CTRL, 1), 0);
	tl_cfg_write(dev, AF + PCI_AF_CTRL, 1, 0);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_FLR), 1);
	sim_device_free(dev);
}

static void test_pm(void **state)
{
	SimDevice *dev = reset_device(false, false, false);
	uint64_t v;
	(void)state;

	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(sim_bar_decodes(dev, 0));
	/* D1 unsupported: ignored. */
	tl_cfg_write(dev, PM + PCI_PM_CTRL, 2, 1);
	assert_int_equal(tl_cfg_read(dev, PM + PCI_PM_CTRL, 2) & 3, 0);
	/* D3hot: no memory decode; config still answers. */
	tl_cfg_write(dev, PM + PCI_PM_CTRL, 2, 3);
	assert_int_equal(tl_cfg_read(dev, PM + PCI_PM_CTRL, 2) & 3, 3);
	assert_false(sim_bar_decodes(dev, 0));
	assert_int_equal(sim_bar_read(dev, 0, 0, 4, &v), -EIO);
	/* PME_En writable, PME_Status W1C. */
	tl_cfg_write(dev, PM + PCI_PM_CTRL, 2, 3 | PCI_PM_CTRL_PME_ENABLE);
	assert_true(tl_cfg_read(dev, PM + PCI_PM_CTRL, 2) & PCI_PM_CTRL_PME_ENABLE);
	/* D3hot -> D0 without No_Soft_Reset: a PM reset. */
	tl_cfg_write(dev, PM + PCI_PM_CTRL, 2, 0);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_PM), 1);
	assert_int_equal(tl_cfg_read(dev, PM + PCI_PM_CTRL, 2), 0);
	assert_int_equal(tl_cfg_read(dev, PCI_COMMAND, 2), 0);
	sim_device_free(dev);

	/* No_Soft_Reset: state kept. D1 supported here. */
	dev = reset_device(false, true, true);
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	tl_cfg_write(dev, PM + PCI_PM_CTRL, 2, 1);
	assert_int_equal(tl_cfg_read(dev, PM + PCI_PM_CTRL, 2) & 3, 1);
	tl_cfg_write(dev, PM + PCI_PM_CTRL, 2, 3);
	tl_cfg_write(dev, PM + PCI_PM_CTRL, 2, 0);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_PM), 0);
	assert_int_equal(tl_cfg_read(dev, PM + PCI_PM_CTRL, 2),
			 PCI_PM_CTRL_NO_SOFT_RESET);
	assert_int_equal(tl_cfg_read(dev, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	sim_device_free(dev);
}

static void test_reset_kinds(void **state)
{
	SimDevice *dev = reset_device(true, false, false);
	(void)state;

	sim_device_reset(dev, SIM_RESET_HOT);
	sim_device_reset(dev, SIM_RESET_POWER_ON);
	sim_device_reset(dev, (SimResetKind)42);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_HOT), 1);
	assert_int_equal(sim_device_reset_count(dev, SIM_RESET_POWER_ON), 1);
	assert_int_equal(sim_device_reset_count(dev, (SimResetKind)42), 0);
	assert_int_equal(model_resets, 2);
	assert_string_equal(sim_reset_kind_name(SIM_RESET_PM), "pm");
	assert_string_equal(sim_reset_kind_name(SIM_RESET_FLR), "flr");
	assert_string_equal(sim_reset_kind_name(SIM_RESET_HOT), "hot");
	assert_string_equal(sim_reset_kind_name(SIM_RESET_POWER_ON), "power-on");
	assert_string_equal(sim_reset_kind_name((SimResetKind)9), "?");
	assert_non_null(sim_device_model_state(dev));
	sim_device_free(dev);
}

static void test_dma_port(void **state)
{
	SimDevice *dev = reset_device(false, false, false);
	uint8_t mem[64], buf[16];
	TlHost h;
	(void)state;

	memset(mem, 0xaa, sizeof(mem));
	/* No host: -ENODEV once bus mastering is on. */
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(sim_dma_read(dev, 0x1000, buf, 4), -ENODEV);
	assert_int_equal(sim_dma_fault_count(dev), 1);
	tl_host_attach(&h, dev);
	h.win = mem;
	h.win_iova = 0x1000;
	h.win_size = sizeof(mem);
	/* Bus master off: nothing is attempted. */
	tl_cfg_write(dev, PCI_COMMAND, 2, 0);
	assert_int_equal(sim_dma_write(dev, 0x1000, "abcd", 4), -EACCES);
	assert_int_equal(h.dma_calls, 0);
	assert_int_equal(h.faults, 0);
	tl_cfg_write(dev, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(sim_dma_write(dev, 0x1010, "abcd", 4), 0);
	assert_memory_equal(mem + 0x10, "abcd", 4);
	assert_int_equal(sim_dma_read(dev, 0x1010, buf, 4), 0);
	assert_memory_equal(buf, "abcd", 4);
	assert_int_equal(sim_dma_read(dev, 0x1010, buf, 0), 0);
	/* A fault: reported to the host and counted; a read sets RMA. */
	assert_int_equal(sim_dma_read(dev, 0x2000, buf, 4), -EFAULT);
	assert_int_equal(h.faults, 1);
	assert_int_equal(h.fault_iova, 0x2000);
	assert_false(h.fault_write);
	assert_int_equal(h.fault_err, -EFAULT);
	assert_true(tl_cfg_read(dev, PCI_STATUS, 2) & PCI_STATUS_REC_MASTER_ABORT);
	h.win_readonly = true;
	assert_int_equal(sim_dma_write(dev, 0x1000, "x", 1), -EPERM);
	assert_int_equal(h.faults, 2);
	assert_true(h.fault_write);
	assert_int_equal(mem[0], 0xaa);
	assert_int_equal(sim_dma_fault_count(dev), 3);
	sim_device_free(dev);
}

static void test_params(void **state)
{
	Error *err = NULL;
	SimParams *p;
	uint64_t v;
	bool b;
	(void)state;

	p = sim_params_parse("a=1,b=0x10,c=on,d=off,e=xyz,f=", &err);
	assert_non_null(p);
	assert_true(sim_params_get_u64(p, "a", 7, 0, 10, &v, &err));
	assert_int_equal(v, 1);
	assert_true(sim_params_get_u64(p, "b", 7, 0, 0x10, &v, &err));
	assert_int_equal(v, 16);
	assert_true(sim_params_get_u64(p, "zz", 7, 0, 10, &v, &err));
	assert_int_equal(v, 7);
	assert_true(sim_params_get_bool(p, "c", false, &b, &err));
	assert_true(b);
	assert_true(sim_params_get_bool(p, "d", true, &b, &err));
	assert_false(b);
	assert_false(sim_params_get_bool(p, "e", true, &b, &err));
	assert_non_null(strstr(error_get_pretty(err), "e=xyz"));
	error_free(err);
	err = NULL;
	assert_false(sim_params_get_u64(p, "f", 0, 0, 10, &v, &err));
	assert_non_null(strstr(error_get_pretty(err), "not a number"));
	error_free(err);
	err = NULL;
	assert_string_equal(sim_params_get(p, "f"), "");
	sim_params_free(p);

	p = sim_params_parse("x=11,y=-1,z=5", &err);
	assert_false(sim_params_get_u64(p, "x", 0, 0, 10, &v, &err));
	assert_non_null(strstr(error_get_pretty(err), "out of range"));
	error_free(err);
	err = NULL;
	assert_false(sim_params_get_u64(p, "y", 0, 0, 10, &v, &err));
	error_free(err);
	err = NULL;
	assert_false(sim_params_check_used(p, "m", &err));
	assert_non_null(strstr(error_get_pretty(err), "model m has no parameter 'z'"));
	error_free(err);
	err = NULL;
	sim_params_free(p);

	static const char *const bad[][2] = {
		{ "a", "not key=value" }, { "=1", "not key=value" },
		{ "a=1,,b=2", "empty parameter" }, { "a=1,", "trailing" },
		{ "a=1,a=2", "given twice" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(sim_params_parse(bad[i][0], &err));
		if (!strstr(error_get_pretty(err), bad[i][1]))
			fail_msg("'%s': '%s'", bad[i][0], error_get_pretty(err));
		error_free(err);
		err = NULL;
	}
	p = sim_params_parse(NULL, &err);
	assert_true(sim_params_check_used(p, "m", &err));
	assert_null(sim_params_get(NULL, "a"));
	sim_params_free(p);
}

static void test_registry(void **state)
{
	const SimModel *const *m = sim_models();
	Error *err = NULL;
	unsigned n = 0;
	(void)state;

	for (; m[n]; n++)
		assert_ptr_equal(sim_model_find(m[n]->name), m[n]);
	assert_int_equal(n, 3);
	assert_non_null(sim_model_find("chelsio-t5-vf"));
	assert_non_null(sim_model_find("dma-test"));
	assert_non_null(sim_model_find("profile"));
	assert_null(sim_model_find("nope"));
	assert_null(sim_model_create("nope", "x", NULL, &err));
	assert_non_null(strstr(error_get_pretty(err),
			       "unknown device model 'nope' (known: chelsio-t5-vf, dma-test, profile)"));
	error_free(err);
	err = NULL;
	assert_null(sim_model_create("dma-test", "x", "bad", &err));
	assert_non_null(strstr(error_get_pretty(err), "dma-test: parameter 'bad'"));
	error_free(err);
}

static void test_trace(void **state)
{
	SimDevice *dev = sim_device_new("traced", 256);
	Error *err = NULL;
	char line[256] = "";
	FILE *f = tmpfile();
	(void)state;

	assert_non_null(f);
	assert_true(trace_event_count() > 5);
	assert_string_equal(trace_event_name(TRACE_EV_sim_cfg_read), "sim_cfg_read");
	assert_null(trace_event_name(trace_event_count()));
	assert_false(trace_enable_patterns("sim_cfg_write,nothing_*", &err));
	assert_non_null(strstr(error_get_pretty(err), "'nothing_*' matches no event"));
	error_free(err);
	err = NULL;
	assert_false(trace_event_state[TRACE_EV_sim_cfg_write]);
	assert_true(trace_enable_patterns(" sim_cfg_w*,", &err));
	trace_set_output(f);
	tl_ok(sim_device_realize(dev, &err), err);
	tl_cfg_write(dev, PCI_INTERRUPT_LINE, 1, 5);
	tl_cfg_read(dev, PCI_INTERRUPT_LINE, 1);	/* not enabled */
	trace_disable_all();
	tl_cfg_write(dev, PCI_INTERRUPT_LINE, 1, 6);
	trace_set_output(NULL);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, " sim_cfg_write traced off=0x03c len=1 val=0x5\n"));
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	sim_device_free(dev);
}

static void test_error_object(void **state)
{
	Error *err = NULL, *other = NULL;
	(void)state;

	error_setg(NULL, "ignored %d", 1);
	error_setg(&err, "first %s", "one");
	error_setg(&err, "second");	/* the first error wins */
	assert_string_equal(error_get_pretty(err), "first one");
	error_prepend(&err, "ctx %d: ", 7);
	assert_string_equal(error_get_pretty(err), "ctx 7: first one");
	error_prepend(&other, "nothing");
	assert_null(other);
	error_setg_errno(&other, ENOENT, "open %s", "x");
	assert_string_equal(error_get_pretty(other), "open x: No such file or directory");
	error_propagate(&err, other);	/* dst already set: src freed */
	assert_string_equal(error_get_pretty(err), "ctx 7: first one");
	other = NULL;
	error_propagate(&other, err);
	assert_string_equal(error_get_pretty(other), "ctx 7: first one");
	error_propagate(&other, NULL);
	assert_string_equal(error_get_pretty(NULL), "");
	error_free(other);
	error_free(NULL);
	error_report_err("test", NULL);
}

/* Several threads drive one device; the device serializes itself. */
typedef struct Hammer {
	SimDevice *dev;
	unsigned n;
} Hammer;

static void *hammer(void *arg)
{
	Hammer *hm = arg;

	for (unsigned i = 0; i < hm->n; i++) {
		uint32_t v;

		sim_cfg_write(hm->dev, 0x40, 4, i);
		sim_cfg_read(hm->dev, 0x40, 4, &v);
		sim_irq_raise(hm->dev, 0);
		sim_intx_set(hm->dev, false);
	}
	return NULL;
}

static void test_threads(void **state)
{
	SimDevice *dev = sim_device_new("mt", 256);
	Error *err = NULL;
	pthread_t th[4];
	Hammer hm;
	TlHost h;
	(void)state;

	sim_cfg_set(dev, PCI_INTERRUPT_PIN, 1, 1);
	sim_cfg_set_mask(dev, SIM_MASK_RW, 0x40, 4, 0xffffffff);
	tl_ok(sim_device_realize(dev, &err), err);
	tl_host_attach(&h, dev);
	hm = (Hammer){ dev, 2000 };
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &hm), 0);
	for (unsigned i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	/* Every assert was followed by a deassert: the line ends low and the
	 * host saw strictly alternating edges. */
	assert_false(sim_intx_asserted(dev));
	assert_false(h.intx_level);
	assert_int_equal(h.intx_changes % 2, 0);
	assert_true(h.intx_changes >= 2);
	sim_device_free(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flr_devctl),
		cmocka_unit_test(test_flr_af),
		cmocka_unit_test(test_pm),
		cmocka_unit_test(test_reset_kinds),
		cmocka_unit_test(test_dma_port),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_error_object),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("sim_misc", tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of fakevfio/topology.c, topology files: a full file (platform,
 * devices with groups, host drivers, quoted and plain model parameters,
 * comments, CRLF, fault rules), every error with its FILE:LINE:COLUMN,
 * loading from disk (missing, directory, too large, unreadable), creating
 * the devices in a machine (a model's own error located), the group
 * viability check, and the fault rules handed to a fault table.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/vfio.h>

#include "fakevfio/topology.h"

static bool parse(FvTopology *t, const char *text, Error **errp)
{
	return fv_topology_parse(t, "topo", text, strlen(text), errp);
}

/* Parse text expecting failure with exactly msg. */
static void parse_error(const char *text, const char *msg)
{
	FvTopology t;
	Error *err = NULL;

	assert_false(parse(&t, text, &err));
	assert_non_null(err);
	assert_string_equal(error_get_pretty(err), msg);
	error_free(err);
	/* Cleared on failure. */
	assert_null(t.devs);
	assert_null(t.file);
	assert_int_equal(t.ndevs, 0);
}

static void test_full_file(void **state)
{
	static const char text[] =
		"# A machine with two groups\r\n"
		"\n"
		"platform x86   # the default anyway\n"
		"device dma-test 0000:03:00.0\n"
		"\tdevice  chelsio-t5-vf 4:0.1 group=26\n"
		"device dma-test 04:00.0 group=26 driver=host msi_vectors=8 # on a host driver\n"
		"device dma-test 05:00.0 driver=vfio-pci \"msix_vectors=16\" intx=\"o\"ff a#b=1\n"
		"device profile 06:00.0 file=\"/a path/with \\\"quotes\\\" \\\\ x\"\n"
		"fault VFIO_IOMMU_MAP_DMA errno=EBUSY count=1   # the EBUSY retry path\n"
		"fault region-read device=3:0.0 region=CONFIG errno=EIO after=2\n"
		"   # indented comment\n"
		"device dma-test 07:00.0";
	FvTopology t;
	Error *err = NULL;
	char *rule;

	(void)state;
	assert_true(parse(&t, text, &err));
	assert_null(err);
	assert_string_equal(t.file, "topo");
	assert_true(t.has_platform);
	assert_int_equal(t.platform, FV_PLATFORM_X86);
	assert_int_equal(t.platform_line, 3);
	assert_int_equal(t.platform_col, 10);
	assert_int_equal(t.ndevs, 6);

	assert_string_equal(t.devs[0].spec.text, "dma-test@0000:03:00.0");
	assert_string_equal(t.devs[0].spec.model, "dma-test");
	assert_string_equal(t.devs[0].spec.bdf, "0000:03:00.0");
	assert_int_equal(t.devs[0].spec.group, -1);
	assert_string_equal(t.devs[0].spec.params, "");
	assert_false(t.devs[0].spec.host_driver);
	assert_int_equal(t.devs[0].line, 4);
	assert_int_equal(t.devs[0].col, 8);
	assert_int_equal(t.devs[0].driver_col, 0);

	assert_string_equal(t.devs[1].spec.bdf, "0000:04:00.1");
	assert_int_equal(t.devs[1].spec.bus, 4);
	assert_int_equal(t.devs[1].spec.func, 1);
	assert_int_equal(t.devs[1].spec.group, 26);
	assert_int_equal(t.devs[1].line, 5);
	assert_int_equal(t.devs[1].col, 10);

	assert_int_equal(t.devs[2].spec.group, 26);
	assert_true(t.devs[2].spec.host_driver);
	assert_string_equal(t.devs[2].spec.driver, "host");
	assert_int_equal(t.devs[2].driver_col, 34);
	assert_string_equal(t.devs[2].spec.params, "msi_vectors=8");

	assert_false(t.devs[3].spec.host_driver);
	assert_string_equal(t.devs[3].spec.driver, "");
	assert_false(t.advertise_mmap);
	assert_string_equal(t.devs[3].spec.params, "msix_vectors=16,intx=off,a#b=1");

	assert_string_equal(t.devs[4].spec.model, "profile");
	assert_string_equal(t.devs[4].spec.params, "file=/a path/with \"quotes\" \\ x");

	assert_string_equal(t.devs[5].spec.bdf, "0000:07:00.0");
	assert_int_equal(t.devs[5].line, 12);

	assert_int_equal(t.nfaults, 2);
	rule = fv_fault_rule_text(&t.faults[0].rule);
	assert_string_equal(rule, "VFIO_IOMMU_MAP_DMA errno=EBUSY count=1");
	free(rule);
	assert_int_equal(t.faults[0].line, 9);
	assert_int_equal(t.faults[0].col, 7);
	rule = fv_fault_rule_text(&t.faults[1].rule);
	assert_string_equal(rule, "region-read device=0000:03:00.0 region=CONFIG errno=EIO after=2");
	free(rule);

	assert_ptr_equal(fv_topology_find(&t, "0000:04:00.0"), &t.devs[2]);
	assert_null(fv_topology_find(&t, "0000:09:00.0"));
	fv_topology_clear(&t);
	assert_null(t.file);
	/* Clearing twice, and a zeroed topology, are fine. */
	fv_topology_clear(&t);
}

static void test_empty_and_platforms(void **state)
{
	FvTopology t;

	(void)state;
	assert_true(parse(&t, "", NULL));
	assert_false(t.has_platform);
	assert_int_equal(t.platform, FV_PLATFORM_X86);
	assert_int_equal(t.ndevs, 0);
	fv_topology_clear(&t);
	assert_true(parse(&t, "\n\n   \n# only comments\n", NULL));
	fv_topology_clear(&t);
	/* advertise-mmap, anywhere */
	assert_true(parse(&t, "device dma-test 3:0.0\n\n  advertise-mmap  # all BARs\n", NULL));
	assert_true(t.advertise_mmap);
	assert_int_equal(t.advertise_mmap_line, 3);
	fv_topology_clear(&t);
	assert_false(t.advertise_mmap);
	/* pseries parses. */
	assert_true(parse(&t, "platform pseries\n", NULL));
	assert_true(t.has_platform);
	assert_int_equal(t.platform, FV_PLATFORM_PSERIES);
	fv_topology_clear(&t);
}

static void test_errors(void **state)
{
	(void)state;
	parse_error("devcie dma-test 1:0.0\n",
		    "topo:1:1: unknown directive 'devcie' (expected platform, device, fault or advertise-mmap)");
	parse_error("\n  Platform x86\n",
		    "topo:2:3: unknown directive 'Platform' (expected platform, device, fault or advertise-mmap)");
	/* platform */
	parse_error("platform\n", "topo:1:9: expected x86 or pseries after 'platform'");
	parse_error("platform   # none\n", "topo:1:9: expected x86 or pseries after 'platform'");
	parse_error("platform arm\n", "topo:1:10: unknown platform 'arm' (expected x86 or pseries)");
	parse_error("platform x86 pseries\n", "topo:1:14: unexpected 'pseries' after the platform");
	parse_error("platform x86\n\nplatform x86\n",
		    "topo:3:1: platform given twice (first on line 1)");
	/* device: model and BDF */
	parse_error("device\n", "topo:1:7: expected a model name after 'device'");
	parse_error("device nosuch 1:0.0\n",
		    "topo:1:8: unknown model 'nosuch' (known models: chelsio-t5-vf, dma-test, "
		    "profile)");
	parse_error("device dma-test\n",
		    "topo:1:16: expected a BDF ([DDDD:]BB:DD.F) after the model name");
	parse_error("device dma-test 1:0\n",
		    "topo:1:17: bad BDF '1:0': expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1");
	parse_error("device dma-test 1:20.0\n",
		    "topo:1:17: bad BDF '1:20.0': device 0x20 is out of range (00-1f)");
	parse_error("device dma-test 3:0.0\ndevice dma-test  0000:03:00.0\n",
		    "topo:2:18: 0000:03:00.0 is already used on line 1");
	/* device: keys */
	parse_error("device dma-test 3:0.0 group\n", "topo:1:23: expected KEY=VALUE, got 'group'");
	parse_error("device dma-test 3:0.0 =1\n", "topo:1:23: expected KEY=VALUE, got '=1'");
	parse_error("device dma-test 3:0.0 group=x\n",
		    "topo:1:29: bad group 'x': expected a decimal number 0-2147483647");
	parse_error("device dma-test 3:0.0 group=2147483648\n",
		    "topo:1:29: bad group '2147483648': expected a decimal number 0-2147483647");
	parse_error("device dma-test 3:0.0 \"group=-1\"\n",
		    "topo:1:23: bad group '-1': expected a decimal number 0-2147483647");
	parse_error("device dma-test 3:0.0 group=1 group=1\n", "topo:1:31: group= given twice");
	parse_error("device dma-test 3:0.0 driver=e1000e/x\n",
		    "topo:1:30: bad driver 'e1000e/x': expected vfio-pci or a host driver's name "
		    "(1-63 of A-Z a-z 0-9 _ . -, not starting with . or -)");
	parse_error("device dma-test 3:0.0 driver=..\n",
		    "topo:1:30: bad driver '..': expected vfio-pci or a host driver's name "
		    "(1-63 of A-Z a-z 0-9 _ . -, not starting with . or -)");
	parse_error("device dma-test 3:0.0 driver=-x\n",
		    "topo:1:30: bad driver '-x': expected vfio-pci or a host driver's name "
		    "(1-63 of A-Z a-z 0-9 _ . -, not starting with . or -)");
	parse_error("device dma-test 3:0.0 driver=a\"b c\"\n",
		    "topo:1:23: bad driver 'ab c': expected vfio-pci or a host driver's name "
		    "(1-63 of A-Z a-z 0-9 _ . -, not starting with . or -)");
	parse_error("device dma-test 3:0.0 driver="
		    "a123456789b123456789c123456789d123456789e123456789f123456789abcd\n",
		    "topo:1:30: bad driver 'a123456789b123456789c123456789d123456789e123456789"
		    "f123456789abcd': expected vfio-pci or a host driver's name "
		    "(1-63 of A-Z a-z 0-9 _ . -, not starting with . or -)");
	parse_error("device dma-test 3:0.0 \"driver=\"\n",
		    "topo:1:23: bad driver '': expected vfio-pci or a host driver's name "
		    "(1-63 of A-Z a-z 0-9 _ . -, not starting with . or -)");
	/* advertise-mmap */
	parse_error("advertise-mmap\nadvertise-mmap\n",
		    "topo:2:1: advertise-mmap given twice (first on line 1)");
	parse_error("advertise-mmap yes\n", "topo:1:16: unexpected 'yes' after 'advertise-mmap'");
	parse_error("device dma-test 3:0.0 driver=host driver=host\n",
		    "topo:1:35: driver= given twice");
	parse_error("device dma-test 3:0.0 intx=on msix_vectors=2 intx=off\n",
		    "topo:1:46: parameter 'intx' given twice");
	parse_error("device dma-test 3:0.0 msi_vectors=1,intx=off\n",
		    "topo:1:36: ',' is not allowed in a model parameter ('msi_vectors=1,intx=off')");
	parse_error("device profile 3:0.0 \"file=a,b\"\n",
		    "topo:1:22: ',' is not allowed in a model parameter ('file=a,b')");
	parse_error("device profile 3:0.0 file=\"a b\n",
		    "topo:1:22: unterminated quote (a '\"' is missing before the end of the line)");
	/* Text only. */
	parse_error("device dma-test\x01 3:0.0\n",
		    "topo:1:16: unexpected control character 0x01 (a topology file is text)");
	parse_error("# \x7f\n", "topo:1:3: unexpected control character 0x7f (a topology file is text)");
	/* fault */
	parse_error("fault\n", "topo:1:6: expected a fault rule after 'fault' (OPERATION [MATCH...] "
		    "errno=E [count=N] [after=M])");
	parse_error("fault VFIO_IOMMU_MAP_DMA   errno=EBUSY count=0  # x\n",
		    "topo:1:40: bad count '0': expected a number 1-4294967295");
	parse_error("fault  VFIO_IOMMU_MAP_DMA count=1\n",
		    "topo:1:34: missing errno=E (the error to inject, e.g. errno=EIO)");
	parse_error("  fault nope errno=EIO\n",
		    "topo:1:9: unknown operation 'nope' (expected an ioctl name such as "
		    "VFIO_IOMMU_MAP_DMA, ioctl, region-read, region-write, open-container, "
		    "open-group or open-device)");
}

static void test_nul_byte(void **state)
{
	FvTopology t;
	Error *err = NULL;

	(void)state;
	assert_false(fv_topology_parse(&t, "f", "device\0x\n", 9, &err));
	assert_string_equal(error_get_pretty(err),
			    "f:1:7: unexpected control character 0x00 (a topology file is text)");
	error_free(err);
}

static char *write_file(const char *text, size_t len)
{
	char *path = strdup("/tmp/fv-topo-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_load(void **state)
{
	static const char text[] = "platform x86\ndevice dma-test 3:0.0 group=7\n";
	char *path = write_file(text, sizeof(text) - 1), msg[512];
	FvTopology t;
	Error *err = NULL;
	int fd;

	(void)state;
	assert_true(fv_topology_load(&t, path, &err));
	assert_string_equal(t.file, path);
	assert_int_equal(t.ndevs, 1);
	assert_int_equal(t.devs[0].spec.group, 7);
	fv_topology_clear(&t);

	/* Errors name the path. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "\n\nbogus\n", 8), 8);
	close(fd);
	assert_false(fv_topology_load(&t, path, &err));
	snprintf(msg, sizeof(msg), "%s:3:1: unknown directive 'bogus' (expected platform, "
		 "device, fault or advertise-mmap)", path);
	assert_string_equal(error_get_pretty(err), msg);
	error_free(err);
	err = NULL;

	/* Too large: one byte over. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(ftruncate(fd, FV_TOPOLOGY_MAX_SIZE + 1), 0);
	close(fd);
	assert_false(fv_topology_load(&t, path, &err));
	snprintf(msg, sizeof(msg), "%s: too large (more than 16777216 bytes)", path);
	assert_string_equal(error_get_pretty(err), msg);
	error_free(err);
	err = NULL;
	/* At the limit it is read (and its NULs refused). */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(ftruncate(fd, FV_TOPOLOGY_MAX_SIZE), 0);
	close(fd);
	assert_false(fv_topology_load(&t, path, &err));
	snprintf(msg, sizeof(msg), "%s:1:1: unexpected control character 0x00 "
		 "(a topology file is text)", path);
	assert_string_equal(error_get_pretty(err), msg);
	error_free(err);
	err = NULL;
	unlink(path);

	assert_false(fv_topology_load(&t, path, &err));
	snprintf(msg, sizeof(msg), "%s: cannot open: No such file or directory", path);
	assert_string_equal(error_get_pretty(err), msg);
	error_free(err);
	err = NULL;
	free(path);

	assert_false(fv_topology_load(&t, "/tmp", &err));
	assert_string_equal(error_get_pretty(err), "/tmp: is a directory, not a topology file");
	error_free(err);
	err = NULL;

	/* A file whose read fails: /proc/self/mem at offset 0 (unmapped). */
	assert_false(fv_topology_load(&t, "/proc/self/mem", &err));
	assert_string_equal(error_get_pretty(err),
			    "/proc/self/mem: cannot read: Input/output error");
	error_free(err);
}

static void test_machine(void **state)
{
	static const char text[] =
		"device dma-test 3:0.0\n"
		"device dma-test 4:0.0 group=26\n"
		"device dma-test 4:0.1 group=26 driver=mlx5_core\n"
		"device chelsio-t5-vf 5:0.1\n";
	FvTopology t;
	FvMachine *m = fv_machine_new(FV_PLATFORM_X86);
	FvDeviceSpec extra;
	FvDevice *d;

	(void)state;
	assert_true(parse(&t, text, NULL));
	assert_true(fv_topology_add_devices(&t, m, NULL));
	/* A --device after the topology's. */
	assert_true(fv_device_spec_parse("dma-test@6:0.0", &extra, NULL));
	assert_true(fv_machine_add_device(m, &extra, NULL));
	fv_device_spec_clear(&extra);
	assert_true(fv_machine_realize(m, NULL));
	assert_true(fv_topology_check_groups(&t, m, NULL));
	assert_int_equal(m->ndevs, 5);
	assert_string_equal(m->devs[0]->bdf, "0000:03:00.0");
	assert_string_equal(m->devs[4]->bdf, "0000:06:00.0");
	d = fv_machine_find(m, "0000:04:00.1");
	assert_false(d->vfio_bound);
	assert_string_equal(d->driver, "mlx5_core");
	assert_string_equal(fv_machine_find(m, "0000:04:00.0")->driver, "vfio-pci");
	assert_string_equal(fv_machine_find(m, "0000:06:00.0")->driver, "vfio-pci");
	assert_int_equal(d->group->id, 26);
	assert_true(fv_machine_find(m, "0000:04:00.0")->vfio_bound);
	assert_true(fv_machine_find(m, "0000:06:00.0")->vfio_bound);
	assert_int_equal(fv_machine_group(m, 26)->ndevs, 2);
	/* Default groups from 100 in order: topology first. */
	assert_int_equal(fv_machine_find(m, "0000:03:00.0")->group->id, 100);
	assert_int_equal(fv_machine_find(m, "0000:05:00.1")->group->id, 101);
	assert_int_equal(fv_machine_find(m, "0000:06:00.0")->group->id, 102);
	fv_machine_free(m);
	fv_topology_clear(&t);
}

static void test_machine_errors(void **state)
{
	FvTopology t;
	FvMachine *m;
	Error *err = NULL;

	(void)state;
	/* A model's own error, located at the model name. */
	assert_true(parse(&t, "\ndevice dma-test 3:0.0\n  device  dma-test 4:0.0 msi_vectors=3\n",
			  NULL));
	m = fv_machine_new(FV_PLATFORM_X86);
	assert_false(fv_topology_add_devices(&t, m, &err));
	assert_string_equal(error_get_pretty(err),
			    "topo:3:11: dma-test: parameter msi_vectors=3: not 0 or a power of two up to 32");
	error_free(err);
	err = NULL;
	fv_machine_free(m);
	fv_topology_clear(&t);

	/* A group whose every device is on a host driver. */
	assert_true(parse(&t, "device dma-test 3:0.0 group=5\n"
			  "device dma-test 3:0.1  driver=host group=7\n"
			  "device dma-test 3:0.2 group=7 driver=host\n", NULL));
	m = fv_machine_new(FV_PLATFORM_X86);
	assert_true(fv_topology_add_devices(&t, m, NULL));
	assert_true(fv_machine_realize(m, NULL));
	assert_false(fv_topology_check_groups(&t, m, &err));
	assert_string_equal(error_get_pretty(err),
			    "topo:2:24: group 7 has no device bound to vfio-pci (every device in "
			    "it is on a host driver), so it would have no /dev/vfio/7");
	error_free(err);
	fv_machine_free(m);
	fv_topology_clear(&t);

	/* A host device alone in a default group. */
	assert_true(parse(&t, "device dma-test 3:0.0 driver=host\n", NULL));
	m = fv_machine_new(FV_PLATFORM_X86);
	assert_true(fv_topology_add_devices(&t, m, NULL));
	assert_true(fv_machine_realize(m, NULL));
	err = NULL;
	assert_false(fv_topology_check_groups(&t, m, &err));
	assert_string_equal(error_get_pretty(err),
			    "topo:1:23: group 100 has no device bound to vfio-pci (every device in "
			    "it is on a host driver), so it would have no /dev/vfio/100");
	error_free(err);
	fv_machine_free(m);
	fv_topology_clear(&t);
}

static void test_faults(void **state)
{
	FvTopology t;
	FvFaults *f = fv_faults_new();
	FvOp op = { .kind = FV_OP_IOCTL, .obj = FV_OBJ_CONTAINER, .container = 1,
		    .cmd = VFIO_IOMMU_MAP_DMA, .group = -1 };
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	assert_true(parse(&t, "fault VFIO_IOMMU_MAP_DMA errno=EBUSY count=1\n"
			  "fault open-group group=26 errno=ENODEV\n", NULL));
	assert_true(fv_topology_add_faults(&t, f, NULL));
	assert_int_equal(fv_faults_count(f), 2);
	assert_int_equal(fv_faults_check(f, &op), -EBUSY);
	assert_int_equal(fv_faults_check(f, &op), 0);
	out = open_memstream(&text, &len);
	fv_faults_list(f, out);
	fclose(out);
	assert_string_equal(text,
		"id=1 op=VFIO_IOMMU_MAP_DMA errno=EBUSY count=1 after=0 seen=1 hits=1 left=0\n"
		"id=2 op=open-group group=26 errno=ENODEV count=inf after=0 seen=0 hits=0 left=inf\n");
	free(text);
	fv_faults_free(f);
	fv_topology_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_empty_and_platforms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_machine),
		cmocka_unit_test(test_machine_errors),
		cmocka_unit_test(test_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

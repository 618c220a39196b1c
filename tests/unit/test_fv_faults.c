/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of fakevfio/faults.c, fault injection: the rule syntax (every
 * error, with the offset of the word at fault), the canonical text, which
 * operations each kind of rule and each match key select, count= and
 * after=, the order of rules, listing and clearing, and a rule with a count
 * hit from several threads at once.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/vfio.h>

#include "fakevfio/faults.h"

#define BDF "0000:03:00.0"
#define REGION(i, off) ((uint64_t)(i) << FV_OP_REGION_SHIFT | (off))

static FvOp container_ioctl(unsigned container, unsigned cmd, bool spapr)
{
	return (FvOp){ .kind = FV_OP_IOCTL, .obj = FV_OBJ_CONTAINER, .container = container,
		       .group = -1, .cmd = cmd, .spapr = spapr, .pid = 100 };
}

static FvOp group_op(FvOpKind kind, int group, unsigned cmd)
{
	return (FvOp){ .kind = kind, .obj = FV_OBJ_GROUP, .group = group, .cmd = cmd,
		       .pid = 100 };
}

static FvOp device_op(FvOpKind kind, const char *bdf, int group, unsigned cmd, uint64_t pos)
{
	return (FvOp){ .kind = kind, .obj = FV_OBJ_DEVICE, .bdf = bdf, .group = group,
		       .cmd = cmd, .pos = pos, .count = 4, .pid = 100 };
}

/* Parse text expecting failure: check the message and the offset. */
static void parse_error(const char *text, size_t pos, const char *msg)
{
	FvFaultRule r;
	Error *err = NULL;
	size_t errpos = 12345;

	assert_false(fv_fault_rule_parse(text, &r, &errpos, &err));
	assert_non_null(err);
	assert_string_equal(error_get_pretty(err), msg);
	assert_int_equal(errpos, pos);
	error_free(err);
	/* errpos may be NULL. */
	assert_false(fv_fault_rule_parse(text, &r, NULL, NULL));
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_error("", 0, "expected an operation (an ioctl name such as VFIO_IOMMU_MAP_DMA, "
		    "ioctl, region-read, region-write, open-container, open-group or open-device)");
	parse_error("   ", 3, "expected an operation (an ioctl name such as VFIO_IOMMU_MAP_DMA, "
		    "ioctl, region-read, region-write, open-container, open-group or open-device)");
	parse_error(" VFIO_NOPE errno=EIO", 1, "unknown operation 'VFIO_NOPE' (expected an ioctl "
		    "name such as VFIO_IOMMU_MAP_DMA, ioctl, region-read, region-write, "
		    "open-container, open-group or open-device)");
	parse_error("VFIO_IOMMU_MAP_DMA_AND_A_VERY_LONG_NAME_THAT_DOES_NOT_FIT_IN_THE_BUFFER_X "
		    "errno=EIO", 0, "unknown operation 'VFIO_IOMMU_MAP_DMA_AND_A_VERY_LONG_NAME_"
		    "THAT_DOES_NOT_FIT_IN_THE_BUFFER_X' (expected an ioctl name such as "
		    "VFIO_IOMMU_MAP_DMA, ioctl, region-read, region-write, open-container, "
		    "open-group or open-device)");
	parse_error("VFIO_IOMMU_MAP_DMA", 18, "missing errno=E (the error to inject, e.g. errno=EIO)");
	parse_error("VFIO_IOMMU_MAP_DMA  count=2\t", 28,
		    "missing errno=E (the error to inject, e.g. errno=EIO)");
	parse_error("VFIO_IOMMU_MAP_DMA errno", 19, "expected KEY=VALUE, got 'errno'");
	parse_error("VFIO_IOMMU_MAP_DMA =EIO", 19, "expected KEY=VALUE, got '=EIO'");
	parse_error("VFIO_IOMMU_MAP_DMA errno=EFOO", 19,
		    "unknown errno 'EFOO': expected a name such as EBUSY or a number 1-4095");
	parse_error("VFIO_IOMMU_MAP_DMA errno=0", 19,
		    "unknown errno '0': expected a name such as EBUSY or a number 1-4095");
	parse_error("VFIO_IOMMU_MAP_DMA errno=4096", 19,
		    "unknown errno '4096': expected a name such as EBUSY or a number 1-4095");
	parse_error("VFIO_IOMMU_MAP_DMA errno=EIO errno=EBUSY", 29, "errno= given twice");
	parse_error("VFIO_IOMMU_MAP_DMA errno=EIO count=0", 29,
		    "bad count '0': expected a number 1-4294967295");
	parse_error("VFIO_IOMMU_MAP_DMA errno=EIO count=x", 29,
		    "bad count 'x': expected a number 1-4294967295");
	parse_error("VFIO_IOMMU_MAP_DMA errno=EIO count=4294967296", 29,
		    "bad count '4294967296': expected a number 1-4294967295");
	parse_error("VFIO_IOMMU_MAP_DMA errno=EIO count=1 count=2", 37, "count= given twice");
	parse_error("VFIO_IOMMU_MAP_DMA errno=EIO after=-1", 29,
		    "bad after '-1': expected a number 0-4294967295");
	parse_error("VFIO_IOMMU_MAP_DMA errno=EIO after=1 after=1", 37, "after= given twice");
	parse_error("VFIO_IOMMU_MAP_DMA errno=EIO colour=red", 29,
		    "unknown key 'colour' (expected device, group, container, region, pid, "
		    "errno, count or after)");
	parse_error("VFIO_IOMMU_MAP_DMA device=" BDF " errno=EIO", 19,
		    "device= does not apply to VFIO_IOMMU_MAP_DMA (a container ioctl)");
	parse_error("VFIO_GROUP_GET_STATUS device=" BDF " errno=EIO", 22,
		    "device= does not apply to VFIO_GROUP_GET_STATUS (a group ioctl)");
	parse_error("open-container device=" BDF " errno=EIO", 15,
		    "device= does not apply to open-container (a container operation)");
	parse_error("open-group device=" BDF " errno=EIO", 11,
		    "device= does not apply to open-group (a group operation)");
	parse_error("VFIO_SET_IOMMU group=1 errno=EIO", 15,
		    "group= does not apply to VFIO_SET_IOMMU (a container ioctl)");
	parse_error("VFIO_DEVICE_RESET container=1 errno=EIO", 18,
		    "container= does not apply to VFIO_DEVICE_RESET (a device ioctl)");
	parse_error("open-device container=1 errno=EIO", 12,
		    "container= does not apply to open-device (a device operation)");
	parse_error("VFIO_GROUP_SET_CONTAINER container=1 errno=EIO", 25,
		    "container= does not apply to VFIO_GROUP_SET_CONTAINER (a group ioctl)");
	parse_error("region-read device=zz errno=EIO", 12,
		    "bad BDF 'zz': expected [DDDD:]BB:DD.F in hex, e.g. 0000:03:00.1");
	parse_error("region-read device=" BDF " device=" BDF " errno=EIO", 32, "device= given twice");
	parse_error("region-read group=x errno=EIO", 12,
		    "bad group 'x': expected a decimal number 0-2147483647");
	parse_error("region-read group=2147483648 errno=EIO", 12,
		    "bad group '2147483648': expected a decimal number 0-2147483647");
	parse_error("ioctl container=0 errno=EIO", 6,
		    "bad container '0': expected a container number 1-4294967295");
	parse_error("ioctl region=BAR0 errno=EIO", 6,
		    "region= applies to region-read and region-write only");
	parse_error("region-write region=BAR6 errno=EIO", 13,
		    "bad region 'BAR6': expected BAR0-BAR5, ROM, CONFIG, VGA or an index");
	parse_error("open-group pid=0 errno=EIO", 11, "bad pid '0': expected a process id");
	parse_error("open-group pid=2147483648 errno=EIO", 11,
		    "bad pid '2147483648': expected a process id");
}

/* Parse, check the canonical text, and that it parses back the same. */
static void roundtrip(const char *text, const char *canon)
{
	FvFaultRule r, r2;
	char *t, *t2;

	assert_true(fv_fault_rule_parse(text, &r, NULL, NULL));
	t = fv_fault_rule_text(&r);
	assert_string_equal(t, canon);
	assert_true(fv_fault_rule_parse(t, &r2, NULL, NULL));
	t2 = fv_fault_rule_text(&r2);
	assert_string_equal(t2, canon);
	assert_memory_equal(&r, &r2, sizeof(r));
	free(t);
	free(t2);
}

static void test_canonical_text(void **state)
{
	(void)state;
	roundtrip("vfio_iommu_map_dma errno=ebusy count=1",
		  "VFIO_IOMMU_MAP_DMA errno=EBUSY count=1");
	roundtrip("\tVFIO_DEVICE_SET_IRQS  after=2 errno=5 group=7 device=3:0.0 pid=42 ",
		  "VFIO_DEVICE_SET_IRQS device=0000:03:00.0 group=7 pid=42 errno=EIO after=2");
	roundtrip("REGION-WRITE region=config device=0000:03:00.0 errno=EWOULDBLOCK",
		  "region-write device=0000:03:00.0 region=CONFIG errno=EAGAIN");
	roundtrip("region-read region=9 errno=ENOTSUP", "region-read region=REGION9 errno=EOPNOTSUPP");
	roundtrip("region-read region=REGION2 errno=EDEADLOCK", "region-read region=BAR2 errno=EDEADLK");
	roundtrip("ioctl container=3 errno=EINVAL count=4294967295 after=4294967295",
		  "ioctl container=3 errno=EINVAL count=4294967295 after=4294967295");
	roundtrip("open-container errno=ENOMEM", "open-container errno=ENOMEM");
	roundtrip("open-group group=26 errno=EBUSY", "open-group group=26 errno=EBUSY");
	roundtrip("open-device device=4:0.1 errno=EIO", "open-device device=0000:04:00.1 errno=EIO");
	/* A number without a name stays a number. */
	roundtrip("ioctl errno=4095", "ioctl errno=4095");
}

static void test_matching(void **state)
{
	FvFaults *f = fv_faults_new();
	FvOp op;

	(void)state;
	assert_int_equal(fv_faults_check(NULL, &op), 0);
	op = container_ioctl(1, VFIO_IOMMU_MAP_DMA, false);
	assert_int_equal(fv_faults_check(f, &op), 0);	/* empty table */

	/* An ioctl by name: only that number on that kind of file. */
	assert_int_equal(fv_faults_add(f, "VFIO_IOMMU_GET_INFO errno=EIO", NULL, NULL), 1);
	op = container_ioctl(1, VFIO_IOMMU_GET_INFO, false);
	assert_int_equal(fv_faults_check(f, &op), -EIO);
	op = container_ioctl(1, VFIO_IOMMU_GET_INFO, true);	/* sPAPR TCE_GET_INFO */
	assert_int_equal(fv_faults_check(f, &op), 0);
	op = device_op(FV_OP_IOCTL, BDF, 5, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 0);	/* same number */
	assert_int_equal(fv_faults_check(f, &op), 0);
	op = container_ioctl(1, 0x3b99, false);			/* unknown number */
	assert_int_equal(fv_faults_check(f, &op), 0);
	fv_faults_clear(f);

	/* Shared by both IOMMU models. */
	assert_true(fv_faults_add(f, "VFIO_IOMMU_MAP_DMA container=2 errno=EBUSY", NULL, NULL));
	op = container_ioctl(2, VFIO_IOMMU_MAP_DMA, true);
	assert_int_equal(fv_faults_check(f, &op), -EBUSY);
	op = container_ioctl(1, VFIO_IOMMU_MAP_DMA, false);
	assert_int_equal(fv_faults_check(f, &op), 0);
	fv_faults_clear(f);

	/* sPAPR-only names match sPAPR containers only. */
	assert_true(fv_faults_add(f, "VFIO_IOMMU_ENABLE errno=EPERM", NULL, NULL));
	op = container_ioctl(1, VFIO_IOMMU_ENABLE, true);
	assert_int_equal(fv_faults_check(f, &op), -EPERM);
	op = container_ioctl(1, VFIO_IOMMU_ENABLE, false);
	assert_int_equal(fv_faults_check(f, &op), 0);
	fv_faults_clear(f);

	/* Any ioctl, with a group: group and device ioctls of that group. */
	assert_true(fv_faults_add(f, "ioctl group=5 errno=ENXIO", NULL, NULL));
	op = group_op(FV_OP_IOCTL, 5, VFIO_GROUP_GET_STATUS);
	assert_int_equal(fv_faults_check(f, &op), -ENXIO);
	op = device_op(FV_OP_IOCTL, BDF, 5, VFIO_DEVICE_RESET, 0);
	assert_int_equal(fv_faults_check(f, &op), -ENXIO);
	op = device_op(FV_OP_IOCTL, BDF, 6, VFIO_DEVICE_RESET, 0);
	assert_int_equal(fv_faults_check(f, &op), 0);
	op = container_ioctl(1, VFIO_SET_IOMMU, false);
	op.group = 5;	/* a container has no group, whatever the field says */
	assert_int_equal(fv_faults_check(f, &op), 0);
	op = group_op(FV_OP_OPEN, 5, 0);	/* not an ioctl */
	assert_int_equal(fv_faults_check(f, &op), 0);
	fv_faults_clear(f);

	/* Any ioctl with device= and container=. */
	assert_true(fv_faults_add(f, "ioctl device=" BDF " errno=EIO", NULL, NULL));
	assert_true(fv_faults_add(f, "ioctl container=4 errno=EBUSY", NULL, NULL));
	op = device_op(FV_OP_IOCTL, BDF, 5, VFIO_DEVICE_GET_INFO, 0);
	assert_int_equal(fv_faults_check(f, &op), -EIO);
	op = device_op(FV_OP_IOCTL, "0000:03:00.1", 5, VFIO_DEVICE_GET_INFO, 0);
	assert_int_equal(fv_faults_check(f, &op), 0);
	op = device_op(FV_OP_IOCTL, NULL, 5, VFIO_DEVICE_GET_INFO, 0);
	assert_int_equal(fv_faults_check(f, &op), 0);
	op = group_op(FV_OP_IOCTL, 5, VFIO_GROUP_GET_STATUS);
	assert_int_equal(fv_faults_check(f, &op), 0);
	op = container_ioctl(4, VFIO_GET_API_VERSION, false);
	assert_int_equal(fv_faults_check(f, &op), -EBUSY);
	op = group_op(FV_OP_IOCTL, 4, VFIO_GROUP_GET_STATUS);
	op.container = 4;	/* only containers match container= */
	assert_int_equal(fv_faults_check(f, &op), 0);
	fv_faults_clear(f);

	/* Region reads and writes, by region. */
	assert_true(fv_faults_add(f, "region-read region=BAR2 errno=EIO", NULL, NULL));
	assert_true(fv_faults_add(f, "region-write device=" BDF " errno=EPERM", NULL, NULL));
	op = device_op(FV_OP_READ, BDF, 5, 0, REGION(2, 0x10));
	assert_int_equal(fv_faults_check(f, &op), -EIO);
	op = device_op(FV_OP_READ, BDF, 5, 0, REGION(VFIO_PCI_CONFIG_REGION_INDEX, 0));
	assert_int_equal(fv_faults_check(f, &op), 0);
	op = device_op(FV_OP_WRITE, BDF, 5, 0, REGION(VFIO_PCI_CONFIG_REGION_INDEX, 4));
	assert_int_equal(fv_faults_check(f, &op), -EPERM);
	op = device_op(FV_OP_WRITE, "0000:03:00.1", 5, 0, REGION(2, 0));
	assert_int_equal(fv_faults_check(f, &op), 0);
	op = group_op(FV_OP_READ, 5, 0);	/* read(2) on a group: not a region */
	assert_int_equal(fv_faults_check(f, &op), 0);
	fv_faults_clear(f);

	/* Opens, by kind of file, and pid=. */
	assert_true(fv_faults_add(f, "open-group group=26 errno=EBUSY", NULL, NULL));
	assert_true(fv_faults_add(f, "open-container pid=77 errno=ENOMEM", NULL, NULL));
	assert_true(fv_faults_add(f, "open-device device=" BDF " errno=EIO", NULL, NULL));
	op = group_op(FV_OP_OPEN, 26, 0);
	assert_int_equal(fv_faults_check(f, &op), -EBUSY);
	op = group_op(FV_OP_OPEN, 27, 0);
	assert_int_equal(fv_faults_check(f, &op), 0);
	op = (FvOp){ .kind = FV_OP_OPEN, .obj = FV_OBJ_CONTAINER, .pid = 77, .group = -1 };
	assert_int_equal(fv_faults_check(f, &op), -ENOMEM);
	op.pid = 78;
	assert_int_equal(fv_faults_check(f, &op), 0);
	op = device_op(FV_OP_OPEN, BDF, 26, 0, 0);
	assert_int_equal(fv_faults_check(f, &op), -EIO);
	op = device_op(FV_OP_CLOSE, BDF, 26, 0, 0);
	assert_int_equal(fv_faults_check(f, &op), 0);
	fv_faults_free(f);
	fv_faults_free(NULL);
}

static void test_count_after_order(void **state)
{
	FvFaults *f = fv_faults_new();
	FvOp map = container_ioctl(1, VFIO_IOMMU_MAP_DMA, false);
	FvOp unmap = container_ioctl(1, VFIO_IOMMU_UNMAP_DMA, false);
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	/* count=2 after=1: through, fail, fail, through... */
	assert_int_equal(fv_faults_add(f, "VFIO_IOMMU_MAP_DMA errno=EBUSY count=2 after=1",
				       NULL, NULL), 1);
	assert_int_equal(fv_faults_check(f, &map), 0);
	assert_int_equal(fv_faults_check(f, &unmap), 0);	/* not counted */
	assert_int_equal(fv_faults_check(f, &map), -EBUSY);
	assert_int_equal(fv_faults_check(f, &map), -EBUSY);
	assert_int_equal(fv_faults_check(f, &map), 0);
	assert_int_equal(fv_faults_check(f, &map), 0);
	/* The spent rule stays listed. */
	assert_int_equal(fv_faults_count(f), 1);

	/* Order: both rules see the op until the first fires. */
	assert_int_equal(fv_faults_add(f, "ioctl errno=EIO after=1", NULL, NULL), 2);
	assert_int_equal(fv_faults_add(f, "VFIO_IOMMU_UNMAP_DMA errno=ENOSPC count=1", NULL,
				       NULL), 3);
	/* Rule 2 counts it (after=1) and lets it through; rule 3 fires. */
	assert_int_equal(fv_faults_check(f, &unmap), -ENOSPC);
	/* Rule 2 fires from now on; rule 3 is spent anyway. */
	assert_int_equal(fv_faults_check(f, &unmap), -EIO);
	assert_int_equal(fv_faults_check(f, &map), -EIO);

	out = open_memstream(&text, &len);
	fv_faults_list(f, out);
	fclose(out);
	assert_string_equal(text,
		"id=1 op=VFIO_IOMMU_MAP_DMA errno=EBUSY count=2 after=1 seen=3 hits=2 left=0\n"
		"id=2 op=ioctl errno=EIO count=inf after=1 seen=3 hits=2 left=inf\n"
		"id=3 op=VFIO_IOMMU_UNMAP_DMA errno=ENOSPC count=1 after=0 seen=1 hits=1 left=0\n");
	free(text);

	/* Clearing: ids are not reused. */
	assert_int_equal(fv_faults_clear(f), 3);
	assert_int_equal(fv_faults_count(f), 0);
	assert_int_equal(fv_faults_check(f, &map), 0);
	assert_int_equal(fv_faults_add(f, "region-read device=" BDF " region=ROM group=3 "
				       "pid=9 errno=4095", NULL, NULL), 4);
	text = NULL;
	out = open_memstream(&text, &len);
	fv_faults_list(f, out);
	fclose(out);
	assert_string_equal(text, "id=4 op=region-read device=0000:03:00.0 group=3 region=ROM "
			    "pid=9 errno=4095 count=inf after=0 seen=0 hits=0 left=inf\n");
	free(text);
	assert_int_equal(fv_faults_add(f, "ioctl container=2 errno=EIO", NULL, NULL), 5);
	text = NULL;
	out = open_memstream(&text, &len);
	fv_faults_list(f, out);
	fclose(out);
	assert_non_null(strstr(text, "\nid=5 op=ioctl container=2 errno=EIO count=inf"));
	free(text);
	fv_faults_free(f);
}

static void test_add_errors(void **state)
{
	FvFaults *f = fv_faults_new();
	Error *err = NULL;
	size_t pos = 0;

	(void)state;
	assert_int_equal(fv_faults_add(f, "VFIO_IOMMU_MAP_DMA errno=EBUSY nope", &pos, &err), 0);
	assert_string_equal(error_get_pretty(err), "expected KEY=VALUE, got 'nope'");
	assert_int_equal(pos, 31);
	error_free(err);
	assert_int_equal(fv_faults_count(f), 0);
	fv_faults_free(f);
}

enum { NTHREADS = 4, PER_THREAD = 2000, FIRES = 1000 };

static void *hitter(void *opaque)
{
	FvFaults *f = opaque;
	FvOp op = device_op(FV_OP_IOCTL, BDF, 1, VFIO_DEVICE_SET_IRQS, 0);
	uintptr_t fired = 0;

	for (unsigned i = 0; i < PER_THREAD; i++)
		fired += fv_faults_check(f, &op) == -EAGAIN;
	return (void *)fired;
}

static void test_threads(void **state)
{
	FvFaults *f = fv_faults_new();
	pthread_t t[NTHREADS];
	uintptr_t total = 0;

	(void)state;
	assert_true(fv_faults_add(f, "VFIO_DEVICE_SET_IRQS errno=EAGAIN count=1000 after=100",
				  NULL, NULL));
	for (unsigned i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hitter, f), 0);
	for (unsigned i = 0; i < NTHREADS; i++) {
		void *r;

		pthread_join(t[i], &r);
		total += (uintptr_t)r;
	}
	assert_int_equal(total, FIRES);
	fv_faults_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_canonical_text),
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_count_after_order),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

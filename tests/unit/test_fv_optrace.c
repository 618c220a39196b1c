/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of fakevfio/optrace.c (the VFIO operation trace) and
 * fakevfio/op.c (the names it prints): every ioctl name by kind of file,
 * errno/region/IRQ/extension names both ways, the exact trace line of each
 * kind of operation, the argument decoding of every ioctl from this
 * process's memory (FvUser { getpid() }) including bad pointers, and the
 * trace file: begin/end, stderr, open errors, and lines from several
 * threads that never interleave; the data of region accesses (data=,
 * crc32=) and the machine header.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/vfio.h>

#include "fakevfio/optrace.h"

#define PTR(p) ((uint64_t)(uintptr_t)(p))
#define BDF "0000:03:00.0"

static FvUser U;

static int setup(void **state)
{
	(void)state;
	U.pid = getpid();
	return 0;
}

/* ---- names ------------------------------------------------------------ */

typedef struct Seen {
	unsigned n, spapr;
} Seen;

static void each(void *opaque, const char *name, FvObjKind obj, bool spapr, unsigned cmd)
{
	Seen *s = opaque;
	const char *canon;
	FvObjKind o;
	char lower[64];

	s->n++;
	s->spapr += spapr;
	assert_string_equal(fv_op_ioctl_name(obj, spapr, cmd), name);
	/* Lookup is case-insensitive and gives back the file kind. */
	for (unsigned i = 0; name[i]; i++)
		lower[i] = (char)tolower((unsigned char)name[i]), lower[i + 1] = '\0';
	assert_true(fv_op_ioctl_lookup(lower, &canon, &o));
	assert_ptr_equal(canon, name);
	assert_int_equal(o, obj);
	assert_int_equal(cmd >> 8, VFIO_TYPE);
}

static void test_names(void **state)
{
	Seen seen = { 0, 0 };
	char buf[FV_OP_NAME_BUF];

	(void)state;
	fv_op_ioctl_foreach(each, &seen);
	assert_int_equal(seen.n, 30);
	assert_int_equal(seen.spapr, 8);
	/* One number, several meanings. */
	assert_string_equal(fv_op_ioctl_name(FV_OBJ_CONTAINER, false, VFIO_BASE + VFIO_TYPE * 256 + 12),
			    "VFIO_IOMMU_GET_INFO");
	assert_string_equal(fv_op_ioctl_name(FV_OBJ_CONTAINER, true, VFIO_IOMMU_GET_INFO),
			    "VFIO_IOMMU_SPAPR_TCE_GET_INFO");
	assert_string_equal(fv_op_ioctl_name(FV_OBJ_DEVICE, false, VFIO_IOMMU_GET_INFO),
			    "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
	assert_string_equal(fv_op_ioctl_name(FV_OBJ_CONTAINER, false, VFIO_IOMMU_DIRTY_PAGES),
			    "VFIO_IOMMU_DIRTY_PAGES");
	assert_string_equal(fv_op_ioctl_name(FV_OBJ_CONTAINER, true, VFIO_IOMMU_DIRTY_PAGES),
			    "VFIO_IOMMU_SPAPR_REGISTER_MEMORY");
	assert_string_equal(fv_op_ioctl_name(FV_OBJ_DEVICE, false, VFIO_IOMMU_DIRTY_PAGES),
			    "VFIO_DEVICE_FEATURE");
	assert_string_equal(fv_op_ioctl_name(FV_OBJ_CONTAINER, true, VFIO_IOMMU_MAP_DMA),
			    "VFIO_IOMMU_MAP_DMA");
	assert_null(fv_op_ioctl_name(FV_OBJ_CONTAINER, false, VFIO_IOMMU_ENABLE));
	assert_null(fv_op_ioctl_name(FV_OBJ_GROUP, false, VFIO_GET_API_VERSION));
	assert_null(fv_op_ioctl_name(FV_OBJ_DEVICE, false, 0x3b99));
	assert_false(fv_op_ioctl_lookup("VFIO_NOTHING", NULL, NULL));
	assert_true(fv_op_ioctl_lookup("VFIO_EEH_PE_OP", NULL, NULL));

	assert_string_equal(fv_op_kind_name(FV_OP_OPEN), "open");
	assert_string_equal(fv_op_kind_name(FV_OP_CLOSE), "close");
	assert_string_equal(fv_op_kind_name(FV_OP_IOCTL), "ioctl");
	assert_string_equal(fv_op_kind_name(FV_OP_READ), "read");
	assert_string_equal(fv_op_kind_name(FV_OP_WRITE), "write");
	assert_string_equal(fv_op_kind_name((FvOpKind)9), "?");
	assert_string_equal(fv_op_obj_name(FV_OBJ_CONTAINER), "container");
	assert_string_equal(fv_op_obj_name(FV_OBJ_GROUP), "group");
	assert_string_equal(fv_op_obj_name(FV_OBJ_DEVICE), "device");
	assert_string_equal(fv_op_obj_name((FvObjKind)9), "?");

	assert_string_equal(fv_op_errno_name(EINVAL), "EINVAL");
	assert_string_equal(fv_op_errno_name(EAGAIN), "EAGAIN");
	assert_null(fv_op_errno_name(0));
	assert_null(fv_op_errno_name(-1));
	assert_null(fv_op_errno_name(4096));
	assert_null(fv_op_errno_name(4000));
	assert_int_equal(fv_op_errno_parse("EBUSY"), EBUSY);
	assert_int_equal(fv_op_errno_parse("enoent"), ENOENT);
	assert_int_equal(fv_op_errno_parse("EWOULDBLOCK"), EAGAIN);
	assert_int_equal(fv_op_errno_parse("ENOTSUP"), EOPNOTSUPP);
	assert_int_equal(fv_op_errno_parse("EDEADLOCK"), EDEADLK);
	assert_int_equal(fv_op_errno_parse("12"), 12);
	assert_int_equal(fv_op_errno_parse("4095"), 4095);
	assert_int_equal(fv_op_errno_parse("4096"), 0);
	assert_int_equal(fv_op_errno_parse("0"), 0);
	assert_int_equal(fv_op_errno_parse("12x"), 0);
	assert_int_equal(fv_op_errno_parse("99999999999999999999"), 0);
	assert_int_equal(fv_op_errno_parse("EFOO"), 0);
	assert_int_equal(fv_op_errno_parse(""), 0);

	assert_string_equal(fv_op_region_name(VFIO_PCI_BAR0_REGION_INDEX, buf), "BAR0");
	assert_string_equal(fv_op_region_name(VFIO_PCI_BAR5_REGION_INDEX, buf), "BAR5");
	assert_string_equal(fv_op_region_name(VFIO_PCI_ROM_REGION_INDEX, buf), "ROM");
	assert_string_equal(fv_op_region_name(VFIO_PCI_CONFIG_REGION_INDEX, buf), "CONFIG");
	assert_string_equal(fv_op_region_name(VFIO_PCI_VGA_REGION_INDEX, buf), "VGA");
	assert_string_equal(fv_op_region_name(9, buf), "REGION9");
	assert_string_equal(fv_op_region_name(4294967295u, buf), "REGION4294967295");
	assert_int_equal(fv_op_region_parse("bar3"), 3);
	assert_int_equal(fv_op_region_parse("Config"), VFIO_PCI_CONFIG_REGION_INDEX);
	assert_int_equal(fv_op_region_parse("12"), 12);
	assert_int_equal(fv_op_region_parse("region12"), 12);
	assert_int_equal(fv_op_region_parse("BAR6"), -1);
	assert_int_equal(fv_op_region_parse("-1"), -1);
	assert_int_equal(fv_op_region_parse("99999999999"), -1);

	assert_string_equal(fv_op_irq_name(VFIO_PCI_INTX_IRQ_INDEX), "INTX");
	assert_string_equal(fv_op_irq_name(VFIO_PCI_REQ_IRQ_INDEX), "REQ");
	assert_null(fv_op_irq_name(5));
	assert_int_equal(fv_op_irq_parse("msix"), VFIO_PCI_MSIX_IRQ_INDEX);
	assert_int_equal(fv_op_irq_parse("MSI-X"), VFIO_PCI_MSIX_IRQ_INDEX);
	assert_int_equal(fv_op_irq_parse("Err"), VFIO_PCI_ERR_IRQ_INDEX);
	assert_int_equal(fv_op_irq_parse("4"), 4);
	assert_int_equal(fv_op_irq_parse("5"), -1);
	assert_int_equal(fv_op_irq_parse("MSY"), -1);

	assert_string_equal(fv_op_extension_name(VFIO_TYPE1_IOMMU), "VFIO_TYPE1_IOMMU");
	assert_string_equal(fv_op_extension_name(VFIO_SPAPR_TCE_IOMMU), "VFIO_SPAPR_TCE_IOMMU");
	assert_string_equal(fv_op_extension_name(VFIO_TYPE1v2_IOMMU), "VFIO_TYPE1v2_IOMMU");
	assert_string_equal(fv_op_extension_name(VFIO_DMA_CC_IOMMU), "VFIO_DMA_CC_IOMMU");
	assert_string_equal(fv_op_extension_name(VFIO_EEH), "VFIO_EEH");
	assert_string_equal(fv_op_extension_name(VFIO_TYPE1_NESTING_IOMMU),
			    "VFIO_TYPE1_NESTING_IOMMU");
	assert_string_equal(fv_op_extension_name(VFIO_SPAPR_TCE_v2_IOMMU),
			    "VFIO_SPAPR_TCE_v2_IOMMU");
	assert_string_equal(fv_op_extension_name(VFIO_NOIOMMU_IOMMU), "VFIO_NOIOMMU_IOMMU");
	assert_string_equal(fv_op_extension_name(VFIO_UNMAP_ALL), "VFIO_UNMAP_ALL");
	assert_string_equal(fv_op_extension_name(VFIO_UPDATE_VADDR), "VFIO_UPDATE_VADDR");
	assert_null(fv_op_extension_name(0));
	assert_null(fv_op_extension_name(11));
}

/* ---- lines ------------------------------------------------------------ */

static void test_format(void **state)
{
	char line[FV_OPTRACE_LINE_MAX];
	FvOp op = { .kind = FV_OP_IOCTL, .obj = FV_OBJ_CONTAINER, .container = 1, .pid = 4242,
		    .cmd = VFIO_IOMMU_MAP_DMA, .group = -1 };

	(void)state;
	assert_int_equal(fv_optrace_format(line, sizeof(line), 12345, &op,
					   "argsz=32 flags=0x3", 0, 14, false), 111);
	assert_string_equal(line, "t=0.012345 pid=4242 obj=container:1 op=ioctl "
			    "name=VFIO_IOMMU_MAP_DMA cmd=0x3b71 argsz=32 flags=0x3 ret=0 us=14\n");
	op.spapr = true;
	op.cmd = VFIO_IOMMU_ENABLE;
	fv_optrace_format(line, sizeof(line), 3000000, &op, NULL, -EPERM, 1, true);
	assert_string_equal(line, "t=3.000000 pid=4242 obj=container:1 op=ioctl "
			    "name=VFIO_IOMMU_ENABLE cmd=0x3b73 ret=-EPERM injected=1 us=1\n");
	op.spapr = false;
	fv_optrace_format(line, sizeof(line), 0, &op, "", -4000, 0, false);
	assert_string_equal(line, "t=0.000000 pid=4242 obj=container:1 op=ioctl "
			    "name=unknown cmd=0x3b73 ret=-4000 us=0\n");
	fv_optrace_format(line, sizeof(line), 0, &op, NULL, -5000, 0, false);
	assert_string_equal(line, "t=0.000000 pid=4242 obj=container:1 op=ioctl "
			    "name=unknown cmd=0x3b73 ret=-5000 us=0\n");

	op = (FvOp){ .kind = FV_OP_OPEN, .obj = FV_OBJ_GROUP, .group = 26, .pid = 7 };
	fv_optrace_format(line, sizeof(line), 1, &op, "flags=0x2", -EBUSY, 2, false);
	assert_string_equal(line, "t=0.000001 pid=7 obj=group:26 op=open flags=0x2 "
			    "ret=-EBUSY us=2\n");
	op = (FvOp){ .kind = FV_OP_READ, .obj = FV_OBJ_DEVICE, .bdf = BDF, .group = 26, .pid = 7 };
	fv_optrace_format(line, sizeof(line), 1, &op, "region=CONFIG offset=0x4 size=2", 2, 30,
			  false);
	assert_string_equal(line, "t=0.000001 pid=7 obj=device:0000:03:00.0 op=read "
			    "region=CONFIG offset=0x4 size=2 ret=2 us=30\n");
	op.bdf = NULL;
	op.kind = FV_OP_CLOSE;
	fv_optrace_format(line, sizeof(line), 1, &op, NULL, 0, 0, false);
	assert_string_equal(line, "t=0.000001 pid=7 obj=device:? op=close ret=0 us=0\n");
	op.obj = (FvObjKind)9;
	fv_optrace_format(line, sizeof(line), 1, &op, NULL, 0, 0, false);
	assert_string_equal(line, "t=0.000001 pid=7 obj=?: op=close ret=0 us=0\n");

	/* Truncated, it still ends with a newline. */
	op = (FvOp){ .kind = FV_OP_CLOSE, .obj = FV_OBJ_GROUP, .group = 26, .pid = 7 };
	assert_int_equal(fv_optrace_format(line, 20, 1, &op, NULL, 0, 0, false), 19);
	assert_string_equal(line, "t=0.000001 pid=7 o\n");
	assert_int_equal(fv_optrace_format(line, 0, 1, &op, NULL, 0, 0, false), 0);
}

/* Decode an ioctl with argument p (in this process). */
static const char *dec(FvObjKind obj, bool spapr, unsigned cmd, uint64_t arg, bool user)
{
	static char buf[FV_OPTRACE_ARGS_MAX];
	FvOp op = { .kind = FV_OP_IOCTL, .obj = obj, .spapr = spapr, .cmd = cmd };

	fv_optrace_decode(&op, user ? &U : NULL, arg, buf, sizeof(buf));
	return buf;
}

#define C(cmd, arg) dec(FV_OBJ_CONTAINER, false, cmd, arg, true)
#define S(cmd, arg) dec(FV_OBJ_CONTAINER, true, cmd, arg, true)
#define G(cmd, arg) dec(FV_OBJ_GROUP, false, cmd, arg, true)
#define D(cmd, arg) dec(FV_OBJ_DEVICE, false, cmd, arg, true)

static void test_decode_container(void **state)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = 32, .flags = 3, .vaddr = 0x7f0000001000, .iova = 0x100000, .size = 0x2000,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = 24, .flags = 2, .iova = 0x100000, .size = 0,
	};
	struct vfio_iommu_type1_dirty_bitmap dirty = { .argsz = 8, .flags = 4 };
	struct vfio_iommu_type1_info info = { .argsz = 24 };
	struct vfio_iommu_spapr_register_memory reg = {
		.argsz = 24, .flags = 0, .vaddr = 0x1000, .size = 0x10000,
	};
	struct vfio_iommu_spapr_tce_create create = {
		.argsz = 40, .flags = 0, .page_shift = 16, .window_size = 0x40000000, .levels = 2,
	};
	struct vfio_iommu_spapr_tce_remove remove = { .argsz = 16, .start_addr = 0x800000000000000 };
	struct vfio_eeh_pe_op eeh = { .argsz = 12, .op = VFIO_EEH_PE_GET_STATE };
	char want[64];

	(void)state;
	assert_string_equal(C(VFIO_GET_API_VERSION, 0), "");
	assert_string_equal(C(VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU),
			    "arg=3 ext=VFIO_TYPE1v2_IOMMU");
	assert_string_equal(C(VFIO_CHECK_EXTENSION, 99), "arg=99 ext=unknown");
	assert_string_equal(C(VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), "arg=1 type=VFIO_TYPE1_IOMMU");
	assert_string_equal(C(VFIO_IOMMU_MAP_DMA, PTR(&map)),
			    "argsz=32 flags=0x3 vaddr=0x7f0000001000 iova=0x100000 size=0x2000");
	assert_string_equal(C(VFIO_IOMMU_UNMAP_DMA, PTR(&unmap)),
			    "argsz=24 flags=0x2 iova=0x100000 size=0x0");
	assert_string_equal(C(VFIO_IOMMU_DIRTY_PAGES, PTR(&dirty)), "argsz=8 flags=0x4");
	assert_string_equal(C(VFIO_IOMMU_GET_INFO, PTR(&info)), "argsz=24");
	assert_string_equal(C(VFIO_IOMMU_ENABLE, 0), "arg=0x0");	/* not type1's */
	assert_string_equal(C(0x3b99, 0x1234), "arg=0x1234");
	/* sPAPR. */
	assert_string_equal(S(VFIO_IOMMU_SPAPR_TCE_GET_INFO, PTR(&info)), "argsz=24");
	assert_string_equal(S(VFIO_IOMMU_MAP_DMA, PTR(&map)),
			    "argsz=32 flags=0x3 vaddr=0x7f0000001000 iova=0x100000 size=0x2000");
	assert_string_equal(S(VFIO_IOMMU_ENABLE, 0), "");
	assert_string_equal(S(VFIO_IOMMU_DISABLE, 0), "");
	assert_string_equal(S(VFIO_IOMMU_SPAPR_REGISTER_MEMORY, PTR(&reg)),
			    "argsz=24 flags=0x0 vaddr=0x1000 size=0x10000");
	assert_string_equal(S(VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, PTR(&reg)),
			    "argsz=24 flags=0x0 vaddr=0x1000 size=0x10000");
	assert_string_equal(S(VFIO_IOMMU_SPAPR_TCE_CREATE, PTR(&create)),
			    "argsz=40 flags=0x0 page_shift=16 window_size=0x40000000 levels=2");
	assert_string_equal(S(VFIO_IOMMU_SPAPR_TCE_REMOVE, PTR(&remove)),
			    "argsz=16 flags=0x0 start_addr=0x800000000000000");
	assert_string_equal(S(VFIO_EEH_PE_OP, PTR(&eeh)), "argsz=12 flags=0x0 pe_op=4");
	assert_string_equal(S(0x3b99, 5), "arg=0x5");
	/* Bad pointers and no user. */
	assert_string_equal(C(VFIO_IOMMU_MAP_DMA, 8), "arg=0x8 efault=1");
	assert_string_equal(S(VFIO_EEH_PE_OP, 8), "arg=0x8 efault=1");
	snprintf(want, sizeof(want), "arg=0x%llx", (unsigned long long)PTR(&map));
	assert_string_equal(dec(FV_OBJ_CONTAINER, false, VFIO_IOMMU_MAP_DMA, PTR(&map), false),
			    want);
}

static void test_decode_group_device(void **state)
{
	struct vfio_group_status gs = { .argsz = 8 };
	int32_t fd = 5;
	char *name = malloc(4200);
	struct vfio_region_info ri = { .argsz = 32, .index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vfio_irq_info ii = { .argsz = 16, .index = VFIO_PCI_MSIX_IRQ_INDEX };
	struct vfio_irq_set set = {
		.argsz = 28, .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = 2, .start = 1, .count = 2,
	};
	struct vfio_pci_hot_reset hr = { .argsz = 16, .flags = 0, .count = 1 };
	struct vfio_device_feature feat = { .argsz = 8, .flags = VFIO_DEVICE_FEATURE_PROBE | 3 };
	uint32_t dmabuf = 77;
	struct vfio_device_ioeventfd ioe = {
		.argsz = 32, .flags = VFIO_DEVICE_IOEVENTFD_32, .offset = 0x10000000010ull,
		.data = 0xdeadbeef, .fd = 9,
	};
	char big[200];

	(void)state;
	assert_string_equal(G(VFIO_GROUP_GET_STATUS, PTR(&gs)), "argsz=8");
	assert_string_equal(G(VFIO_GROUP_SET_CONTAINER, PTR(&fd)), "fd=5");
	assert_string_equal(G(VFIO_GROUP_UNSET_CONTAINER, 0), "");
	assert_string_equal(G(VFIO_GROUP_GET_DEVICE_FD, PTR(BDF)), "name=0000:03:00.0");
	assert_string_equal(G(VFIO_GROUP_GET_DEVICE_FD,
			      PTR("0000:03:00.0 vf_token=1%\"\x01")),
			    "name=0000:03:00.0%20vf_token=1%25%22%01");
	assert_string_equal(G(VFIO_GROUP_GET_DEVICE_FD, 8), "arg=0x8 efault=1");
	/* No NUL within 4096 bytes: strndup_user's EINVAL. */
	memset(name, 'a', 4200);
	snprintf(big, sizeof(big), "arg=0x%llx unterminated=1", (unsigned long long)PTR(name));
	assert_string_equal(G(VFIO_GROUP_GET_DEVICE_FD, PTR(name)), big);
	name[300] = '\0';
	memset(big, 'a', 128);
	strcpy(big + 128, " truncated=1");
	assert_string_equal(G(VFIO_GROUP_GET_DEVICE_FD, PTR(name)) + 5, big);
	assert_string_equal(dec(FV_OBJ_GROUP, false, VFIO_GROUP_GET_DEVICE_FD, 0x10, false),
			    "arg=0x10");
	assert_string_equal(G(VFIO_GROUP_SET_CONTAINER, 8), "arg=0x8 efault=1");
	assert_string_equal(G(0x3b99, 3), "arg=0x3");

	assert_string_equal(D(VFIO_DEVICE_GET_INFO, PTR(&gs)), "argsz=8");
	assert_string_equal(D(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, PTR(&gs)), "argsz=8");
	assert_string_equal(D(VFIO_DEVICE_GET_REGION_INFO, PTR(&ri)), "argsz=32 index=7");
	assert_string_equal(D(VFIO_DEVICE_GET_IRQ_INFO, PTR(&ii)), "argsz=16 index=2");
	assert_string_equal(D(VFIO_DEVICE_SET_IRQS, PTR(&set)),
			    "argsz=28 flags=0x24 index=2 start=1 count=2");
	assert_string_equal(D(VFIO_DEVICE_RESET, 0), "");
	assert_string_equal(D(VFIO_DEVICE_PCI_HOT_RESET, PTR(&hr)), "argsz=16 flags=0x0 count=1");
	assert_string_equal(D(VFIO_DEVICE_QUERY_GFX_PLANE, PTR(&feat)), "argsz=8 flags=0x40003");
	assert_string_equal(D(VFIO_DEVICE_FEATURE, PTR(&feat)), "argsz=8 flags=0x40003");
	assert_string_equal(D(VFIO_DEVICE_GET_GFX_DMABUF, PTR(&dmabuf)), "dmabuf_id=77");
	assert_string_equal(D(VFIO_DEVICE_IOEVENTFD, PTR(&ioe)),
			    "argsz=32 flags=0x4 offset=0x10000000010 data=0xdeadbeef fd=9");
	assert_string_equal(D(VFIO_DEVICE_SET_IRQS, 8), "arg=0x8 efault=1");
	assert_string_equal(D(0x3b99, 3), "arg=0x3");
	free(name);
}

static void test_decode_rw_open(void **state)
{
	char buf[FV_OPTRACE_ARGS_MAX];
	FvOp op = { .kind = FV_OP_WRITE, .obj = FV_OBJ_DEVICE, .bdf = BDF,
		    .pos = (uint64_t)VFIO_PCI_BAR2_REGION_INDEX << FV_OP_REGION_SHIFT | 0x2010,
		    .count = 8 };

	(void)state;
	fv_optrace_decode(&op, &U, 0, buf, sizeof(buf));
	assert_string_equal(buf, "region=BAR2 offset=0x2010 size=8");
	op.pos = 12ull << FV_OP_REGION_SHIFT;
	op.kind = FV_OP_READ;
	fv_optrace_decode(&op, &U, 0, buf, sizeof(buf));
	assert_string_equal(buf, "region=REGION12 offset=0x0 size=8");
	op.obj = FV_OBJ_CONTAINER;
	op.pos = 0;
	op.count = 1;
	fv_optrace_decode(&op, &U, 0, buf, sizeof(buf));
	assert_string_equal(buf, "offset=0x0 size=1");
	op.kind = FV_OP_OPEN;
	op.flags = O_RDWR | O_CLOEXEC;
	fv_optrace_decode(&op, &U, 0, buf, sizeof(buf));
	assert_string_equal(buf, "flags=0x80002");
	op.kind = FV_OP_CLOSE;
	fv_optrace_decode(&op, &U, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* A small buffer truncates; a zero-sized one is left alone. */
	op.kind = FV_OP_OPEN;
	fv_optrace_decode(&op, &U, 0, buf, 8);
	assert_string_equal(buf, "flags=");
	buf[0] = 'x';
	fv_optrace_decode(&op, &U, 0, buf, 0);
	assert_int_equal(buf[0], 'x');
}

/* ---- the file --------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 22);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, (1 << 22) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Check "t=S.UUUUUU pid=..." ... " us=N\n" and return the middle. */
static char *middle(const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len), *us;
	char *m;

	assert_non_null(sp);
	assert_memory_equal(line, "t=", 2);
	assert_int_equal(*(sp - 7), '.');
	us = line + len;
	while (us > line && us[-1] != ' ')
		us--;
	assert_memory_equal(us, "us=", 3);
	m = strndup(sp + 1, (size_t)(us - sp - 2));
	return m;
}

static void test_file(void **state)
{
	char path[] = "/tmp/fv-optrace-XXXXXX";
	int fd = mkstemp(path);
	FvOptrace *t;
	FvOptraceCall c;
	struct vfio_irq_set set = { .argsz = 20, .flags = 0x21, .index = 1, .start = 0, .count = 0 };
	FvOp op = { .kind = FV_OP_IOCTL, .obj = FV_OBJ_DEVICE, .bdf = BDF, .group = 26,
		    .cmd = VFIO_DEVICE_SET_IRQS, .pid = 42 };
	char bdf[FV_BDF_LEN] = BDF, *text, *line, *m;
	Error *err = NULL;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old contents\n", 13), 13);
	close(fd);
	t = fv_optrace_open(path, &err);
	assert_non_null(t);
	/* begin copies what it needs: the caller's strings may go. */
	op.bdf = bdf;
	fv_optrace_begin(t, &c, &op, &U, PTR(&set));
	set.index = 9;
	memset(bdf, 'x', sizeof(bdf) - 1);
	fv_optrace_end(t, &c, -EINVAL, true);
	op.bdf = BDF;
	op.kind = FV_OP_CLOSE;
	fv_optrace_op(t, &op, NULL, 0, 5, false);
	/* Off: nothing. */
	fv_optrace_begin(NULL, &c, &op, &U, 0);
	assert_false(c.on);
	fv_optrace_end(NULL, &c, 0, false);
	fv_optrace_end(t, &c, 0, false);
	fv_optrace_op(NULL, &op, NULL, 0, 0, false);
	fv_optrace_close(t);
	fv_optrace_close(NULL);

	text = slurp(path);
	line = text;
	m = middle(line, strcspn(line, "\n") + 1);
	assert_string_equal(m, "pid=42 obj=device:0000:03:00.0 op=ioctl name=VFIO_DEVICE_SET_IRQS "
			    "cmd=0x3b6e argsz=20 flags=0x21 index=1 start=0 count=0 ret=-EINVAL "
			    "injected=1");
	free(m);
	line += strcspn(line, "\n") + 1;
	m = middle(line, strcspn(line, "\n") + 1);
	assert_string_equal(m, "pid=42 obj=device:0000:03:00.0 op=close ret=0");
	assert_non_null(strstr(line, " us=5\n"));
	free(m);
	line += strcspn(line, "\n") + 1;
	assert_string_equal(line, "");
	free(text);
	unlink(path);
}

/* ---- data of region accesses and the header ---------------------------- */

static void test_data(void **state)
{
	char path[] = "/tmp/fv-optrace-XXXXXX";
	int fd = mkstemp(path);
	uint8_t b[65];
	char out[200], *text, *m, *line;
	FvOptrace *t;
	FvOptraceCall c;
	FvOp op = { .kind = FV_OP_READ, .obj = FV_OBJ_DEVICE, .bdf = BDF, .pid = 7,
		    .pos = (uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << FV_OP_REGION_SHIFT, .count = 4 };
	Error *err = NULL;

	(void)state;
	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 3 + 1);
	/* Memory order, lower-case hex; up to 64 bytes. */
	assert_int_equal(fv_optrace_format_data(out, sizeof(out), "\x25\x14\x03\x58", 4), 14);
	assert_string_equal(out, " data=25140358");
	assert_int_equal(fv_optrace_format_data(out, sizeof(out), b, 64), 6 + 128);
	assert_memory_equal(out, " data=010407", 12);
	assert_string_equal(out + 6 + 126, "be");
	/* Longer: zlib's CRC-32 (python3 -c 'zlib.crc32(bytes(i*3+1 for i in range(65)))'). */
	fv_optrace_format_data(out, sizeof(out), b, 65);
	assert_string_equal(out, " crc32=0x8f151810");
	fv_optrace_format_data(out, sizeof(out), "123456789", 9);
	assert_string_equal(out, " data=313233343536373839");
	assert_int_equal(fv_optrace_format_data(out, sizeof(out), b, 0), 0);
	assert_string_equal(out, "");
	/* A small buffer truncates at a whole byte. */
	fv_optrace_format_data(out, 12, b, 8);
	assert_string_equal(out, " data=0104");

	assert_true(fd >= 0);
	close(fd);
	t = fv_optrace_open(path, &err);
	assert_non_null(t);
	fv_optrace_begin(t, &c, &op, NULL, 0);
	fv_optrace_data(&c, "\x36\x1b\xf0\x11", 4);
	fv_optrace_end(t, &c, 4, false);
	op.kind = FV_OP_WRITE;
	op.count = 100;
	fv_optrace_begin(t, &c, &op, NULL, 0);
	fv_optrace_data(&c, b, 65);
	fv_optrace_end(t, &c, -EIO, true);
	/* Off, or no bytes: nothing added. */
	fv_optrace_begin(NULL, &c, &op, NULL, 0);
	fv_optrace_data(&c, b, 4);
	op.kind = FV_OP_CLOSE;
	fv_optrace_begin(t, &c, &op, NULL, 0);
	fv_optrace_data(&c, b, 0);
	fv_optrace_end(t, &c, 0, false);
	fv_optrace_close(t);

	text = slurp(path);
	line = text;
	m = middle(line, strcspn(line, "\n") + 1);
	assert_string_equal(m, "pid=7 obj=device:0000:03:00.0 op=read region=CONFIG offset=0x0 "
			    "size=4 data=361bf011 ret=4");
	free(m);
	line += strcspn(line, "\n") + 1;
	m = middle(line, strcspn(line, "\n") + 1);
	assert_string_equal(m, "pid=7 obj=device:0000:03:00.0 op=write region=CONFIG offset=0x0 "
			    "size=100 crc32=0x8f151810 ret=-EIO injected=1");
	free(m);
	line += strcspn(line, "\n") + 1;
	m = middle(line, strcspn(line, "\n") + 1);
	assert_string_equal(m, "pid=7 obj=device:0000:03:00.0 op=close ret=0");
	free(m);
	free(text);
	unlink(path);
}

static void test_header(void **state)
{
	FvGroup g100 = { .id = 100 }, g7 = { .id = 7 };
	FvDevice d0 = { .bdf = "0000:03:00.0", .model = "dma-test", .group = &g100,
			.driver = FV_DRIVER_VFIO_PCI, .vfio_bound = true };
	FvDevice d1 = { .bdf = "0000:04:00.1", .model = "profile", .group = &g7,
			.driver = "e1000e" };
	FvDevice *devs[] = { &d0, &d1 };
	FvMachine m = { .platform = FV_PLATFORM_X86, .devs = devs, .ndevs = 2 };
	const char *params[] = { "msix_vectors=4,device_id=0x11f1", "file=/a b/%x.prof" };
	char path[] = "/tmp/fv-optrace-XXXXXX";
	int fd = mkstemp(path);
	FvOptrace *t;
	Error *err = NULL;
	char *text;

	(void)state;
	text = fv_optrace_header_text(&m, params);
	assert_string_equal(text,
			    "# fakevfio trace v1\n"
			    "# device bdf=0000:03:00.0 model=dma-test group=100 driver=vfio-pci "
			    "params=msix_vectors=4,device_id=0x11f1\n"
			    "# device bdf=0000:04:00.1 model=profile group=7 driver=e1000e "
			    "params=file=/a%20b/%25x.prof\n"
			    "# platform x86\n");
	free(text);
	m.platform = FV_PLATFORM_PSERIES;
	m.ndevs = 1;
	text = fv_optrace_header_text(&m, NULL);
	assert_string_equal(text,
			    "# fakevfio trace v1\n"
			    "# device bdf=0000:03:00.0 model=dma-test group=100 driver=vfio-pci "
			    "params=\n"
			    "# platform pseries\n");
	free(text);
	/* Into the file, first. */
	assert_true(fd >= 0);
	close(fd);
	t = fv_optrace_open(path, &err);
	assert_non_null(t);
	fv_optrace_header(t, &m, params);
	fv_optrace_header(NULL, &m, params);
	fv_optrace_close(t);
	text = slurp(path);
	assert_string_equal(text,
			    "# fakevfio trace v1\n"
			    "# device bdf=0000:03:00.0 model=dma-test group=100 driver=vfio-pci "
			    "params=msix_vectors=4,device_id=0x11f1\n"
			    "# platform pseries\n");
	free(text);
	unlink(path);
}

static void test_stderr_and_errors(void **state)
{
	char path[] = "/tmp/fv-optrace-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	FvOptrace *t;
	FvOp op = { .kind = FV_OP_OPEN, .obj = FV_OBJ_CONTAINER, .container = 3, .pid = 1,
		    .flags = 2 };
	Error *err = NULL;
	char *text;

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, STDERR_FILENO);
	t = fv_optrace_open("-", &err);
	assert_non_null(t);
	fv_optrace_op(t, &op, "flags=0x2", 0, 3, false);
	fv_optrace_close(t);
	/* stderr stays open. */
	assert_int_equal(write(STDERR_FILENO, "still\n", 6), 6);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	text = slurp(path);
	assert_non_null(strstr(text, " pid=1 obj=container:3 op=open flags=0x2 ret=0 us=3\nstill\n"));
	free(text);
	unlink(path);

	assert_null(fv_optrace_open("/nonexistent/dir/trace", &err));
	assert_string_equal(error_get_pretty(err),
			    "cannot open the trace file /nonexistent/dir/trace: "
			    "No such file or directory");
	error_free(err);
}

enum { NTHREADS = 4, PER_THREAD = 2000 };

typedef struct Worker {
	FvOptrace *t;
	unsigned id;
} Worker;

static void *worker(void *opaque)
{
	Worker *w = opaque;
	struct vfio_iommu_type1_dma_map map = { .argsz = 32, .flags = 3 };
	FvOp op = { .kind = FV_OP_IOCTL, .obj = FV_OBJ_CONTAINER, .container = w->id,
		    .cmd = VFIO_IOMMU_MAP_DMA, .pid = (pid_t)(1000 + w->id) };
	FvOptraceCall c;

	for (unsigned i = 0; i < PER_THREAD; i++) {
		map.iova = i * 0x1000ull;
		fv_optrace_begin(w->t, &c, &op, &U, PTR(&map));
		fv_optrace_end(w->t, &c, 0, false);
	}
	return NULL;
}

static void test_threads(void **state)
{
	char path[] = "/tmp/fv-optrace-XXXXXX";
	int fd = mkstemp(path);
	Worker w[NTHREADS];
	pthread_t th[NTHREADS];
	unsigned next[NTHREADS] = { 0 }, lines = 0;
	char *text, *line;

	(void)state;
	close(fd);
	for (unsigned i = 0; i < NTHREADS; i++) {
		w[i] = (Worker){ fv_optrace_open(path, NULL), i + 1 };
		if (i)
			fv_optrace_close(w[i].t), w[i].t = w[0].t;
	}
	for (unsigned i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	for (unsigned i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	fv_optrace_close(w[0].t);
	text = slurp(path);
	/* Every line whole, and each thread's lines in its order. */
	for (line = text; *line; line = strchr(line, '\n') + 1) {
		unsigned id, pid;
		unsigned long long iova;
		char *m = middle(line, strcspn(line, "\n") + 1);

		assert_int_equal(sscanf(m, "pid=%u obj=container:%u op=ioctl name=VFIO_IOMMU_MAP_DMA "
					"cmd=0x3b71 argsz=32 flags=0x3 vaddr=0x0 iova=0x%llx size=0x0 "
					"ret=0", &pid, &id, &iova), 3);
		assert_int_equal(pid, 1000 + id);
		assert_true(id >= 1 && id <= NTHREADS);
		assert_int_equal(iova, next[id - 1] * 0x1000ull);
		next[id - 1]++;
		lines++;
		free(m);
	}
	assert_int_equal(lines, NTHREADS * PER_THREAD);
	free(text);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_decode_container),
		cmocka_unit_test(test_decode_group_device),
		cmocka_unit_test(test_decode_rw_open),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_stderr_and_errors),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of harness/hx-vfio.c (raw VFIO calls on named handles): the
 * ioctl table and key kinds, the argument structs built from keys (sizes,
 * defaults, payloads, guest RAM addresses), handle bookkeeping, errors
 * without VFIO (/dev/vfio absent: -ENOENT) and region reads/writes on an
 * adopted memfd.  With HXVFIO_LIVE=1 (tests/py/test_harness_record.py
 * runs this program under `fakevfio run --device dma-test@03:00.0`), the
 * live tests make the real calls against fakevfio instead.
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
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/vfio.h>

#include "harness/hx-vfio.h"

#define WHY char why[256] = ""
#define NUM(k, v) { .key = k, .kind = HX_ARG_NUM, .num = v }

static bool live(void)
{
	const char *e = getenv("HXVFIO_LIVE");

	return e && !strcmp(e, "1");
}

static void test_table(void **state)
{
	(void)state;
	assert_int_equal(hx_vfio_ioctl_number("VFIO_IOMMU_MAP_DMA"), VFIO_IOMMU_MAP_DMA);
	assert_int_equal(hx_vfio_ioctl_number("VFIO_DEVICE_SET_IRQS"), VFIO_DEVICE_SET_IRQS);
	assert_int_equal(hx_vfio_ioctl_number("VFIO_EEH_PE_OP"), VFIO_EEH_PE_OP);
	assert_int_equal(hx_vfio_ioctl_number("VFIO_IOMMU_SPAPR_TCE_GET_INFO"),
			 VFIO_IOMMU_SPAPR_TCE_GET_INFO);
	/* Made by vfio.open-device, not by vfio.ioctl; and unknown names. */
	assert_int_equal(hx_vfio_ioctl_number("VFIO_GROUP_GET_DEVICE_FD"), 0);
	assert_int_equal(hx_vfio_ioctl_number("IOMMU_MAP_DMA"), 0);
	assert_int_equal(hx_vfio_ioctl_number("vfio_iommu_map_dma"), 0);
	assert_int_equal(hx_vfio_ioctl_number(NULL), 0);

	assert_int_equal(hx_vfio_arg_kind("VFIO_IOMMU_MAP_DMA", "vaddr"), HX_ARG_RAM);
	assert_int_equal(hx_vfio_arg_kind("VFIO_IOMMU_MAP_DMA", "iova"), HX_ARG_NUM);
	assert_int_equal(hx_vfio_arg_kind("VFIO_IOMMU_MAP_DMA", "index"), HX_ARG_NONE);
	assert_int_equal(hx_vfio_arg_kind("VFIO_IOMMU_SPAPR_REGISTER_MEMORY", "vaddr"), HX_ARG_RAM);
	assert_int_equal(hx_vfio_arg_kind("VFIO_GROUP_SET_CONTAINER", "container"), HX_ARG_HANDLE);
	assert_int_equal(hx_vfio_arg_kind("VFIO_DEVICE_PCI_HOT_RESET", "groups"), HX_ARG_HANDLES);
	assert_int_equal(hx_vfio_arg_kind("VFIO_DEVICE_SET_IRQS", "fds"), HX_ARG_EVENTFDS);
	assert_int_equal(hx_vfio_arg_kind("VFIO_DEVICE_SET_IRQS", "data"), HX_ARG_BYTES);
	assert_int_equal(hx_vfio_arg_kind("VFIO_DEVICE_SET_IRQS", "start"), HX_ARG_NUM);
	/* "size" is a key of MAP_DMA, not a prefix match of "si" or "ize". */
	assert_int_equal(hx_vfio_arg_kind("VFIO_IOMMU_MAP_DMA", "si"), HX_ARG_NONE);
	assert_int_equal(hx_vfio_arg_kind("VFIO_IOMMU_MAP_DMA", "ize"), HX_ARG_NONE);
	assert_int_equal(hx_vfio_arg_kind("VFIO_IOMMU_MAP_DMA", ""), HX_ARG_NONE);
	assert_int_equal(hx_vfio_arg_kind("VFIO_CHECK_EXTENSION", "arg"), HX_ARG_NUM);
	assert_int_equal(hx_vfio_arg_kind("VFIO_GET_API_VERSION", "arg"), HX_ARG_NONE);
	assert_int_equal(hx_vfio_arg_kind("VFIO_NOPE", "arg"), HX_ARG_NONE);
	assert_int_equal(hx_vfio_arg_kind("VFIO_EEH_PE_OP", "pe_op"), HX_ARG_NUM);
	assert_int_equal(hx_vfio_arg_kind("VFIO_IOMMU_SPAPR_TCE_CREATE", "window_size"), HX_ARG_NUM);
	assert_int_equal(hx_vfio_arg_kind("VFIO_IOMMU_SPAPR_TCE_REMOVE", "start_addr"), HX_ARG_NUM);

	assert_string_equal(hx_vfio_keys("VFIO_DEVICE_SET_IRQS"),
			    "flags, index, start, count, fds, data, argsz");
	assert_string_equal(hx_vfio_keys("VFIO_GET_API_VERSION"), "");
	assert_null(hx_vfio_keys("VFIO_NOPE"));

	assert_int_equal(hx_vfio_region_index("BAR0"), VFIO_PCI_BAR0_REGION_INDEX);
	assert_int_equal(hx_vfio_region_index("BAR5"), VFIO_PCI_BAR5_REGION_INDEX);
	assert_int_equal(hx_vfio_region_index("ROM"), VFIO_PCI_ROM_REGION_INDEX);
	assert_int_equal(hx_vfio_region_index("CONFIG"), VFIO_PCI_CONFIG_REGION_INDEX);
	assert_int_equal(hx_vfio_region_index("VGA"), VFIO_PCI_VGA_REGION_INDEX);
	assert_int_equal(hx_vfio_region_index("9"), 9);
	assert_int_equal(hx_vfio_region_index("REGION12"), 12);
	assert_int_equal(hx_vfio_region_index("BAR6"), -1);
	assert_int_equal(hx_vfio_region_index("config"), -1);
	assert_int_equal(hx_vfio_region_index(""), -1);
	assert_int_equal(hx_vfio_region_index("REGION"), -1);
	assert_int_equal(hx_vfio_region_index("1x"), -1);
	assert_int_equal(hx_vfio_region_index("99999999999"), -1);
	/* 0-63, as the scenario parser: N << 40 must not leave 64 bits. */
	assert_int_equal(hx_vfio_region_index("63"), 63);
	assert_int_equal(hx_vfio_region_index("REGION63"), 63);
	assert_int_equal(hx_vfio_region_index("64"), -1);
	assert_int_equal(hx_vfio_region_index("REGION65536"), -1);
	assert_int_equal(hx_vfio_region_index("16777215"), -1);
}

static void test_build_structs(void **state)
{
	static uint8_t ram[0x10000];
	HxVfio *v = hx_vfio_new(ram, sizeof(ram));
	void *buf;
	size_t size;
	WHY;

	(void)state;
	{
		HxVfioArg a[] = { { .key = "vaddr", .kind = HX_ARG_RAM, .num = 0x2000 },
				  NUM("iova", 0x100000), NUM("size", 0x1000) };
		struct vfio_iommu_type1_dma_map *m;

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_IOMMU_MAP_DMA", a, 3, &buf, &size,
						   why, sizeof(why)), 0);
		assert_int_equal(size, sizeof(*m));
		m = buf;
		assert_int_equal(m->argsz, sizeof(*m));
		/* Default flags: read and write. */
		assert_int_equal(m->flags, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
		assert_ptr_equal((void *)(uintptr_t)m->vaddr, ram + 0x2000);
		assert_int_equal(m->iova, 0x100000);
		assert_int_equal(m->size, 0x1000);
		free(buf);
	}
	{
		/* The mapping must lie inside the RAM. */
		HxVfioArg a[] = { { .key = "vaddr", .kind = HX_ARG_RAM, .num = 0xf000 },
				  NUM("size", 0x1001) };

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_IOMMU_MAP_DMA", a, 2, &buf, &size,
						   why, sizeof(why)), -EINVAL);
		assert_string_equal(why, "vaddr=ram:0xf000 size=0x1001 is outside the guest RAM "
				    "(0x10000 bytes)");
		assert_null(buf);
	}
	{
		HxVfioArg a[] = { NUM("index", 7), NUM("argsz", 64) };
		struct vfio_region_info *r;

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_DEVICE_GET_REGION_INFO", a, 2, &buf,
						   &size, why, sizeof(why)), 0);
		/* A larger argsz: a zeroed buffer that big. */
		assert_int_equal(size, 64);
		r = buf;
		assert_int_equal(r->argsz, 64);
		assert_int_equal(r->index, 7);
		assert_int_equal(r->flags, 0);
		free(buf);
	}
	{
		/* A smaller argsz is passed on (the kernel says EINVAL). */
		HxVfioArg a[] = { NUM("argsz", 4) };

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_DEVICE_GET_INFO", a, 1, &buf, &size,
						   why, sizeof(why)), 0);
		assert_int_equal(size, sizeof(struct vfio_device_info));
		assert_int_equal(((struct vfio_device_info *)buf)->argsz, 4);
		free(buf);
	}
	{
		HxVfioArg a[] = { NUM("index", 2), NUM("start", 1),
				  { .key = "fds", .kind = HX_ARG_EVENTFDS, .num = 3 } };
		struct vfio_irq_set *s;
		int32_t fds[3];

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_DEVICE_SET_IRQS", a, 3, &buf, &size,
						   why, sizeof(why)), 0);
		assert_int_equal(size, sizeof(*s) + 12);
		s = buf;
		assert_int_equal(s->argsz, sizeof(*s) + 12);
		assert_int_equal(s->flags, VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_EVENTFD);
		assert_int_equal(s->index, 2);
		assert_int_equal(s->start, 1);
		assert_int_equal(s->count, 3);
		memcpy(fds, s->data, sizeof(fds));
		for (unsigned i = 0; i < 3; i++) {
			assert_true(fds[i] >= 0);
			/* A fresh eventfd each, kept open by v. */
			assert_int_equal(write(fds[i], &(uint64_t){ 1 }, 8), 8);
		}
		assert_int_not_equal(fds[0], fds[1]);
		free(buf);
	}
	{
		HxVfioArg a[] = { NUM("flags", VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_EVENTFD),
				  NUM("count", 2),
				  { .key = "fds", .kind = HX_ARG_EVENTFDS, .num = 2, .eventfd_none = true } };
		struct vfio_irq_set *s;
		int32_t fds[2];

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_DEVICE_SET_IRQS", a, 3, &buf, &size,
						   why, sizeof(why)), 0);
		s = buf;
		assert_int_equal(s->count, 2);
		memcpy(fds, s->data, sizeof(fds));
		assert_int_equal(fds[0], -1);
		assert_int_equal(fds[1], -1);
		free(buf);
	}
	{
		static const uint8_t bools[] = { 1, 0, 1 };
		HxVfioArg a[] = { NUM("index", 0),
				  { .key = "data", .kind = HX_ARG_BYTES, .bytes = bools, .nbytes = 3 } };
		struct vfio_irq_set *s;

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_DEVICE_SET_IRQS", a, 2, &buf, &size,
						   why, sizeof(why)), 0);
		s = buf;
		assert_int_equal(s->argsz, sizeof(*s) + 3);
		assert_int_equal(s->flags, VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_BOOL);
		assert_int_equal(s->count, 3);
		assert_memory_equal(s->data, bools, 3);
		free(buf);
	}
	{
		/* No payload: DATA_NONE, count 0. */
		HxVfioArg a[] = { NUM("index", 3) };
		struct vfio_irq_set *s;

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_DEVICE_SET_IRQS", a, 1, &buf, &size,
						   why, sizeof(why)), 0);
		s = buf;
		assert_int_equal(s->flags, VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_NONE);
		assert_int_equal(s->count, 0);
		assert_int_equal(size, sizeof(*s));
		free(buf);
	}
	{
		HxVfioArg a[] = { NUM("page_shift", 16), NUM("window_size", 0x40000000),
				  NUM("levels", 2) };
		struct vfio_iommu_spapr_tce_create *c;

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_IOMMU_SPAPR_TCE_CREATE", a, 3, &buf,
						   &size, why, sizeof(why)), 0);
		c = buf;
		assert_int_equal(c->argsz, sizeof(*c));
		assert_int_equal(c->page_shift, 16);
		assert_int_equal(c->window_size, 0x40000000);
		assert_int_equal(c->levels, 2);
		free(buf);
	}
	{
		HxVfioArg a[] = { NUM("pe_op", VFIO_EEH_PE_GET_STATE) };

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_EEH_PE_OP", a, 1, &buf, &size,
						   why, sizeof(why)), 0);
		assert_int_equal(((struct vfio_eeh_pe_op *)buf)->op, VFIO_EEH_PE_GET_STATE);
		assert_int_equal(((struct vfio_eeh_pe_op *)buf)->argsz, sizeof(struct vfio_eeh_pe_op));
		free(buf);
	}
	hx_vfio_free(v);
}

static void test_key_errors(void **state)
{
	HxVfio *v = hx_vfio_new(NULL, 0);
	void *buf;
	size_t size;
	WHY;

	(void)state;
	{
		HxVfioArg a[] = { NUM("index", 1) };

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_IOMMU_UNMAP_DMA", a, 1, &buf, &size,
						   why, sizeof(why)), -EINVAL);
		assert_string_equal(why, "VFIO_IOMMU_UNMAP_DMA takes no key 'index' (keys: iova, "
				    "size, flags, argsz)");
	}
	{
		HxVfioArg a[] = { NUM("index", 1), NUM("index", 2) };

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_DEVICE_GET_IRQ_INFO", a, 2, &buf, &size,
						   why, sizeof(why)), -EINVAL);
		assert_string_equal(why, "VFIO_DEVICE_GET_IRQ_INFO: key 'index' given twice");
	}
	{
		HxVfioArg a[] = { NUM("vaddr", 0) };

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_IOMMU_MAP_DMA", a, 1, &buf, &size,
						   why, sizeof(why)), -EINVAL);
		assert_string_equal(why, "VFIO_IOMMU_MAP_DMA: key 'vaddr' has a value of the wrong kind");
	}
	{
		/* No RAM at all. */
		HxVfioArg a[] = { { .key = "vaddr", .kind = HX_ARG_RAM, .num = 0 } };

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_IOMMU_MAP_DMA", a, 1, &buf, &size,
						   why, sizeof(why)), -EINVAL);
		assert_string_equal(why, "vaddr=ram:0x0 size=0x0 is outside the guest RAM (0x0 bytes)");
	}
	{
		HxVfioArg a[] = { NUM("argsz", (1u << 20) + 1) };

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_DEVICE_GET_INFO", a, 1, &buf, &size,
						   why, sizeof(why)), -EINVAL);
		assert_string_equal(why, "VFIO_DEVICE_GET_INFO: argsz=1048577 is more than 1048576");
	}
	{
		static const uint8_t b[] = { 1 };
		HxVfioArg a[] = { { .key = "fds", .kind = HX_ARG_EVENTFDS, .num = 1 },
				  { .key = "data", .kind = HX_ARG_BYTES, .bytes = b, .nbytes = 1 } };

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_DEVICE_SET_IRQS", a, 2, &buf, &size,
						   why, sizeof(why)), -EINVAL);
		assert_string_equal(why, "VFIO_DEVICE_SET_IRQS: fds= and data= exclude each other");
	}
	{
		/* groups= names handles that must be open. */
		HxVfioArg a[] = { { .key = "groups", .kind = HX_ARG_HANDLES, .str = "g0,g1" } };

		assert_int_equal(hx_vfio_build_arg(v, "VFIO_DEVICE_PCI_HOT_RESET", a, 1, &buf, &size,
						   why, sizeof(why)), -EBADF);
		assert_string_equal(why, "no open handle 'g0'");
	}
	assert_int_equal(hx_vfio_build_arg(v, "VFIO_DEVICE_RESET", NULL, 0, &buf, &size,
					   why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "VFIO_DEVICE_RESET takes no argument struct");
	assert_int_equal(hx_vfio_build_arg(v, "VFIO_GROUP_GET_DEVICE_FD", NULL, 0, &buf, &size,
					   why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "'VFIO_GROUP_GET_DEVICE_FD' is not a VFIO ioctl that vfio.ioctl "
			    "can make");
	hx_vfio_free(v);
}

static void test_handles_without_vfio(void **state)
{
	HxVfio *v;
	uint64_t val;
	char name[8];
	WHY;

	(void)state;
	if (live() || access("/dev/vfio", F_OK) == 0)
		skip();
	v = hx_vfio_new(NULL, 0);
	assert_int_equal(hx_vfio_open_container(v, "c", why, sizeof(why)), -ENOENT);
	assert_int_equal(hx_vfio_open_group(v, "g", 100, why, sizeof(why)), -ENOENT);
	/* Nothing was opened: the names are free, and unknown. */
	assert_int_equal(hx_vfio_fd(v, "c"), -1);
	assert_int_equal(hx_vfio_open_device(v, "d", "g", "0000:03:00.0", why, sizeof(why)), -EBADF);
	assert_string_equal(why, "no open handle 'g'");
	assert_int_equal(hx_vfio_ioctl(v, "c", "VFIO_GET_API_VERSION", NULL, 0, why, sizeof(why)),
			 -EBADF);
	assert_string_equal(why, "no open handle 'c'");
	assert_int_equal(hx_vfio_read(v, "d", 7, 0, 4, &val, why, sizeof(why)), -EBADF);
	assert_int_equal(hx_vfio_close(v, "d", why, sizeof(why)), -EBADF);
	assert_string_equal(why, "no open handle 'd'");

	/* Handle names and the table. */
	assert_int_equal(hx_vfio_adopt(v, "", open("/dev/null", O_RDONLY | O_CLOEXEC), why,
				       sizeof(why)), -EINVAL);
	assert_string_equal(why, "bad handle name '' (1 to 31 characters)");
	for (unsigned i = 0; i < HX_VFIO_HANDLE_MAX; i++) {
		snprintf(name, sizeof(name), "h%u", i);
		assert_int_equal(hx_vfio_adopt(v, name, open("/dev/null", O_RDONLY | O_CLOEXEC),
					       why, sizeof(why)), 0);
	}
	assert_int_equal(hx_vfio_adopt(v, "h3", 0, why, sizeof(why)), -EEXIST);
	assert_string_equal(why, "handle 'h3' is already open");
	assert_int_equal(hx_vfio_open_container(v, "c", why, sizeof(why)), -EMFILE);
	assert_string_equal(why, "too many open handles (at most 32)");
	assert_int_equal(hx_vfio_close(v, "h3", why, sizeof(why)), 0);
	assert_int_equal(hx_vfio_fd(v, "h3"), -1);
	/* The slot is free again: now the open itself fails. */
	assert_int_equal(hx_vfio_open_container(v, "c", why, sizeof(why)), -ENOENT);
	/* An ioctl on a file that is not VFIO's: the kernel says ENOTTY. */
	assert_int_equal(hx_vfio_ioctl(v, "h0", "VFIO_GET_API_VERSION", NULL, 0, why, sizeof(why)),
			 -ENOTTY);
	{
		HxVfioArg a[] = { NUM("index", 1) };

		assert_int_equal(hx_vfio_ioctl(v, "h0", "VFIO_DEVICE_GET_REGION_INFO", a, 1, why,
					       sizeof(why)), -ENOTTY);
		assert_int_equal(hx_vfio_ioctl(v, "h0", "VFIO_IOMMU_UNMAP_DMA", a, 1, why,
					       sizeof(why)), -EINVAL);
	}
	{
		HxVfioArg a[] = { { .key = "container", .kind = HX_ARG_HANDLE, .str = "h1" } };

		assert_int_equal(hx_vfio_ioctl(v, "h0", "VFIO_GROUP_SET_CONTAINER", a, 1, why,
					       sizeof(why)), -ENOTTY);
		a[0].str = "nope";
		assert_int_equal(hx_vfio_ioctl(v, "h0", "VFIO_GROUP_SET_CONTAINER", a, 1, why,
					       sizeof(why)), -EBADF);
		assert_string_equal(why, "no open handle 'nope'");
		assert_int_equal(hx_vfio_ioctl(v, "h0", "VFIO_GROUP_SET_CONTAINER", NULL, 0, why,
					       sizeof(why)), -EINVAL);
		assert_string_equal(why, "VFIO_GROUP_SET_CONTAINER needs container=HANDLE");
	}
	/* Frees the 31 handles still open. */
	hx_vfio_free(v);
}

static void test_regions_on_memfd(void **state)
{
	HxVfio *v = hx_vfio_new(NULL, 0);
	int fd = memfd_create("hxvfio", MFD_CLOEXEC);
	uint8_t big[100], back[100];
	uint64_t val;
	WHY;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(hx_vfio_adopt(v, "d", fd, why, sizeof(why)), 0);
	/* BAR0 is at file offset 0: little-endian values. */
	assert_int_equal(hx_vfio_write(v, "d", 0, 0x10, 4, 0x11223344, why, sizeof(why)), 0);
	assert_int_equal(pread(fd, back, 4, 0x10), 4);
	assert_memory_equal(back, "\x44\x33\x22\x11", 4);
	assert_int_equal(hx_vfio_read(v, "d", 0, 0x11, 2, &val, why, sizeof(why)), 0);
	assert_int_equal(val, 0x2233);
	assert_int_equal(hx_vfio_write(v, "d", 0, 0x20, 8, 0x0102030405060708ull, why,
				       sizeof(why)), 0);
	assert_int_equal(hx_vfio_read(v, "d", 0, 0x20, 8, &val, why, sizeof(why)), 0);
	assert_int_equal(val, 0x0102030405060708ull);
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(hx_vfio_pwrite(v, "d", 0, 0x100, big, sizeof(big), why, sizeof(why)), 100);
	assert_int_equal(hx_vfio_pread(v, "d", 0, 0x100, back, sizeof(back), why, sizeof(why)), 100);
	assert_memory_equal(back, big, sizeof(big));
	/* Past the end of the file: a short read. */
	assert_int_equal(hx_vfio_pread(v, "d", 0, 0x150, back, 100, why, sizeof(why)), 0x164 - 0x150);
	assert_int_equal(hx_vfio_read(v, "d", 0, 0x162, 4, &val, why, sizeof(why)), -EIO);
	assert_string_equal(why, "short read: 2 of 4 bytes");
	/* Bad sizes, offsets, regions. */
	assert_int_equal(hx_vfio_read(v, "d", 0, 0, 3, &val, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "bad access size 3 (1, 2, 4 or 8)");
	assert_int_equal(hx_vfio_pread(v, "d", 0, 0, back, 0, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "bad access length 0 (1 to 65536)");
	assert_int_equal(hx_vfio_pread(v, "d", 0, 1ull << 40, back, 1, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "offset 0x10000000000 length 1 is beyond a region (2^40 bytes)");
	/* An access that starts in the region but ends in the next one. */
	assert_int_equal(hx_vfio_pread(v, "d", 0, (1ull << 40) - 2, back, 4, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "offset 0xfffffffffe length 4 is beyond a region (2^40 bytes)");
	assert_int_equal(hx_vfio_pread(v, "d", 64, 0, back, 1, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "bad region index 64");
	assert_int_equal(hx_vfio_pread(v, "d", 0xffffff, 0, back, 1, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "bad region index 16777215");
	assert_int_equal(hx_vfio_pread(v, "d", -1, 0, back, 1, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "bad region index -1");
	hx_vfio_free(v);
}

/*
 * Under `fakevfio run --device dma-test@03:00.0` (HXVFIO_LIVE=1): the
 * whole sequence of a client, each result as fakevfio gives it.
 */
static void test_live(void **state)
{
	static uint8_t ram[0x20000] __attribute__((aligned(4096)));
	HxVfio *v;
	uint64_t val;
	uint8_t cfg[256];
	WHY;

	(void)state;
	if (!live())
		skip();
	v = hx_vfio_new(ram, sizeof(ram));
	assert_int_equal(hx_vfio_open_container(v, "c", why, sizeof(why)), 0);
	assert_int_equal(hx_vfio_open_group(v, "g", 100, why, sizeof(why)), 0);
	assert_int_equal(hx_vfio_open_group(v, "g2", 999, why, sizeof(why)), -ENOENT);
	assert_int_equal(hx_vfio_ioctl(v, "c", "VFIO_GET_API_VERSION", NULL, 0, why, sizeof(why)),
			 VFIO_API_VERSION);
	{
		HxVfioArg a[] = { NUM("arg", VFIO_TYPE1v2_IOMMU) };

		assert_int_equal(hx_vfio_ioctl(v, "c", "VFIO_CHECK_EXTENSION", a, 1, why,
					       sizeof(why)), 1);
		assert_int_equal(hx_vfio_ioctl(v, "g", "VFIO_GROUP_GET_STATUS", NULL, 0, why,
					       sizeof(why)), 0);
		/* No group yet. */
		assert_int_equal(hx_vfio_ioctl(v, "c", "VFIO_SET_IOMMU", a, 1, why, sizeof(why)),
				 -EINVAL);
	}
	{
		HxVfioArg a[] = { { .key = "container", .kind = HX_ARG_HANDLE, .str = "c" } };

		assert_int_equal(hx_vfio_ioctl(v, "g", "VFIO_GROUP_SET_CONTAINER", a, 1, why,
					       sizeof(why)), 0);
	}
	{
		HxVfioArg a[] = { NUM("arg", VFIO_TYPE1v2_IOMMU) };

		assert_int_equal(hx_vfio_ioctl(v, "c", "VFIO_SET_IOMMU", a, 1, why, sizeof(why)), 0);
		assert_int_equal(hx_vfio_ioctl(v, "c", "VFIO_IOMMU_GET_INFO", NULL, 0, why,
					       sizeof(why)), 0);
	}
	{
		HxVfioArg a[] = { { .key = "vaddr", .kind = HX_ARG_RAM, .num = 0x1000 },
				  NUM("iova", 0x100000), NUM("size", 0x2000) };

		assert_int_equal(hx_vfio_ioctl(v, "c", "VFIO_IOMMU_MAP_DMA", a, 3, why,
					       sizeof(why)), 0);
		assert_int_equal(hx_vfio_ioctl(v, "c", "VFIO_IOMMU_MAP_DMA", a, 3, why,
					       sizeof(why)), -EEXIST);
	}
	assert_int_equal(hx_vfio_open_device(v, "d", "g", "0000:03:00.9", why, sizeof(why)), -ENODEV);
	assert_int_equal(hx_vfio_open_device(v, "d", "g", "0000:03:00.0", why, sizeof(why)), 0);
	assert_true(hx_vfio_fd(v, "d") >= 0);
	assert_int_equal(hx_vfio_ioctl(v, "d", "VFIO_DEVICE_GET_INFO", NULL, 0, why, sizeof(why)), 0);
	{
		HxVfioArg a[] = { NUM("argsz", 4) };

		assert_int_equal(hx_vfio_ioctl(v, "d", "VFIO_DEVICE_GET_INFO", a, 1, why,
					       sizeof(why)), -EINVAL);
	}
	{
		HxVfioArg a[] = { NUM("index", VFIO_PCI_CONFIG_REGION_INDEX) };

		assert_int_equal(hx_vfio_ioctl(v, "d", "VFIO_DEVICE_GET_REGION_INFO", a, 1, why,
					       sizeof(why)), 0);
		a[0].num = 99;
		assert_int_equal(hx_vfio_ioctl(v, "d", "VFIO_DEVICE_GET_REGION_INFO", a, 1, why,
					       sizeof(why)), -EINVAL);
	}
	/* The dma-test device: 1b36:11f0. */
	assert_int_equal(hx_vfio_read(v, "d", VFIO_PCI_CONFIG_REGION_INDEX, 0, 4, &val, why,
				      sizeof(why)), 0);
	assert_int_equal(val, 0x11f01b36);
	assert_int_equal(hx_vfio_pread(v, "d", VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg, sizeof(cfg),
				       why, sizeof(why)), 256);
	assert_memory_equal(cfg, "\x36\x1b\xf0\x11", 4);
	assert_int_equal(hx_vfio_write(v, "d", VFIO_PCI_CONFIG_REGION_INDEX, 4, 2, 6, why,
				       sizeof(why)), 0);
	assert_int_equal(hx_vfio_read(v, "d", VFIO_PCI_CONFIG_REGION_INDEX, 4, 2, &val, why,
				      sizeof(why)), 0);
	assert_int_equal(val & 6, 6);
	{
		HxVfioArg a[] = { NUM("index", VFIO_PCI_MSIX_IRQ_INDEX),
				  { .key = "fds", .kind = HX_ARG_EVENTFDS, .num = 2 } };

		assert_int_equal(hx_vfio_ioctl(v, "d", "VFIO_DEVICE_GET_IRQ_INFO", a, 1, why,
					       sizeof(why)), 0);
		assert_int_equal(hx_vfio_ioctl(v, "d", "VFIO_DEVICE_SET_IRQS", a, 2, why,
					       sizeof(why)), 0);
	}
	{
		HxVfioArg a[] = { NUM("index", VFIO_PCI_MSIX_IRQ_INDEX),
				  NUM("flags", VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_NONE) };

		assert_int_equal(hx_vfio_ioctl(v, "d", "VFIO_DEVICE_SET_IRQS", a, 2, why,
					       sizeof(why)), 0);
	}
	assert_int_equal(hx_vfio_ioctl(v, "d", "VFIO_DEVICE_RESET", NULL, 0, why, sizeof(why)), 0);
	{
		HxVfioArg a[] = { NUM("iova", 0x100000), NUM("size", 0x2000) };

		assert_int_equal(hx_vfio_ioctl(v, "c", "VFIO_IOMMU_UNMAP_DMA", a, 2, why,
					       sizeof(why)), 0);
	}
	assert_int_equal(hx_vfio_close(v, "d", why, sizeof(why)), 0);
	assert_int_equal(hx_vfio_ioctl(v, "g", "VFIO_GROUP_UNSET_CONTAINER", NULL, 0, why,
				       sizeof(why)), 0);
	hx_vfio_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_build_structs),
		cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_handles_without_vfio),
		cmocka_unit_test(test_regions_on_memfd),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

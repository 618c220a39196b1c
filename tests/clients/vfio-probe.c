/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-probe: what QEMU 7.2's vfio-pci realize does up to the first config
 * read (vfio-abi.md §4, steps 5-10), printing one line per step.  Links
 * against libc only: it runs on real VFIO as well as under `fakevfio run`.
 *
 *   vfio-probe [-t] GROUP BDF
 *
 * -t runs the sequence in a second thread (a thread id that is not the
 * process id).  Exit status 0 when every step succeeded, 1 otherwise (the
 * failing step is the last line), 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int group_id;
static const char *bdf;

static int fail(const char *what)
{
	printf("%s: %s\n", what, strerror(errno));
	return 1;
}

static int probe(void)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	struct vfio_region_info rinfo = { .argsz = sizeof(rinfo) };
	static const struct {
		unsigned long ext;
		const char *name;
	} exts[] = {
		{ VFIO_TYPE1v2_IOMMU, "TYPE1v2" }, { VFIO_TYPE1_IOMMU, "TYPE1" },
		{ VFIO_SPAPR_TCE_v2_IOMMU, "SPAPR_TCE_v2" }, { VFIO_SPAPR_TCE_IOMMU, "SPAPR_TCE" },
	};
	struct vfio_iommu_type1_info *info;
	unsigned long type = 0;
	unsigned char config[4096];
	char path[64];
	int group, container, device, r;
	ssize_t n;

	snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
	group = open(path, O_RDWR);
	if (group < 0)
		return fail("open group");
	printf("open group: ok\n");
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status))
		return fail("group status");
	printf("group status: flags=0x%x\n", status.flags);
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		printf("group status: not viable\n");
		return 1;
	}
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return fail("open container");
	printf("open container: ok\n");
	r = ioctl(container, VFIO_GET_API_VERSION);
	printf("api version: %d\n", r);
	if (r != VFIO_API_VERSION)
		return 1;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		r = ioctl(container, VFIO_CHECK_EXTENSION, exts[i].ext);
		printf("extension %s: %d\n", exts[i].name, r);
		if (r > 0 && !type)
			type = exts[i].ext;
	}
	if (!type) {
		printf("no IOMMU model\n");
		return 1;
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		return fail("set container");
	printf("set container: ok\n");
	if (ioctl(container, VFIO_SET_IOMMU, type))
		return fail("set iommu");
	printf("set iommu: %lu\n", type);
	if (type == VFIO_TYPE1v2_IOMMU || type == VFIO_TYPE1_IOMMU) {
		info = calloc(1, sizeof(*info));
		info->argsz = sizeof(*info);
		if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
			return fail("iommu info");
		if (info->argsz > sizeof(*info)) {
			uint32_t argsz = info->argsz;

			info = realloc(info, argsz);
			memset(info, 0, argsz);
			info->argsz = argsz;
			if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
				return fail("iommu info");
		}
		printf("iommu info: argsz=%u flags=0x%x pgsizes=0x%llx\n", info->argsz,
		       info->flags, (unsigned long long)info->iova_pgsizes);
		free(info);
	}
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (device < 0)
		return fail("get device fd");
	r = fcntl(device, F_GETFD);
	printf("get device fd: ok cloexec=%d\n", r >= 0 && (r & FD_CLOEXEC));
	if (ioctl(device, VFIO_DEVICE_GET_INFO, &dinfo))
		return fail("device info");
	printf("device info: flags=0x%x regions=%u irqs=%u\n", dinfo.flags,
	       dinfo.num_regions, dinfo.num_irqs);
	rinfo.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &rinfo))
		return fail("config region info");
	printf("config region: size=0x%llx offset=0x%llx flags=0x%x\n",
	       (unsigned long long)rinfo.size, (unsigned long long)rinfo.offset, rinfo.flags);
	n = pread(device, config, rinfo.size < sizeof(config) ? rinfo.size : sizeof(config),
		  (off_t)rinfo.offset);
	if (n < 0)
		return fail("config read");
	printf("config read: %zd bytes vendor=0x%02x%02x device=0x%02x%02x\n", n,
	       config[1], config[0], config[3], config[2]);
	close(device);
	if (ioctl(group, VFIO_GROUP_UNSET_CONTAINER))
		return fail("unset container");
	printf("unset container: ok\n");
	close(container);
	close(group);
	printf("done\n");
	return 0;
}

static void *thread_main(void *opaque)
{
	int *ret = opaque;

	printf("thread: %s\n", gettid() != getpid() ? "tid!=pid" : "tid==pid");
	*ret = probe();
	return NULL;
}

int main(int argc, char **argv)
{
	int threaded = 0, ret = 0;
	pthread_t t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "-t")) {
		threaded = 1;
		argv++;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: vfio-probe [-t] GROUP BDF\n");
		return 2;
	}
	group_id = atoi(argv[1]);
	bdf = argv[2];
	if (!threaded)
		return probe();
	if (pthread_create(&t, NULL, thread_main, &ret))
		return 2;
	pthread_join(t, NULL);
	return ret;
}

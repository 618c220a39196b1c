/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-bench: latency of VFIO operations as a client sees them.
 *
 *   vfio-bench [-n N] [--sysfs CONFIG] GROUP BDF
 *   vfio-bench [-n N] --floor FILE
 *
 * The first form sets up a type1 container for /dev/vfio/GROUP, gets the
 * device fd of BDF and times N repetitions of each operation, printing
 * p50/p99/mean in microseconds:
 *   null-ioctl        VFIO_GET_API_VERSION on the container (no argument)
 *   region-info       VFIO_DEVICE_GET_REGION_INFO(CONFIG): 32 bytes in and out
 *   config-pread      4-byte pread of the config region
 *   bar-pread         4-byte pread of the first memory BAR
 *   map-unmap         VFIO_IOMMU_MAP_DMA + UNMAP_DMA of one 4 KiB page
 *   sysfs-config      4-byte pread of CONFIG, a real sysfs config file (pass
 *                     its /sys/devices/... path: under fakevfio run the
 *                     /sys/bus/pci/devices tree is the fake one)
 * The --floor form times the same two request shapes (an ioctl moving a
 * 32-byte argument in and out, a 4-byte pread) against FILE served by
 * bench/null-fuse, a FUSE server that does nothing else: the floor.
 * Plain VFIO: the first form runs under `fakevfio run` or on real VFIO.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"Usage: vfio-bench [-n N] [--sysfs CONFIG] GROUP BDF\n"
	"       vfio-bench [-n N] --floor FILE\n"
	"Time VFIO operations on device BDF of IOMMU group GROUP (p50/p99/mean, us).\n"
	"  -n N            repetitions per operation (default 20000)\n"
	"  --sysfs CONFIG  also time 4-byte preads of CONFIG (a real sysfs config file)\n"
	"  --floor FILE    time an ioctl with a 32-byte argument and a 4-byte pread\n"
	"                  on FILE (served by bench/null-fuse): the FUSE floor\n"
	"  -h, --help      this help\n";

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, double *t, unsigned n)
{
	double sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += t[i];
	qsort(t, n, sizeof(*t), cmp_double);
	printf("%-14s n=%-6u p50=%8.2f p99=%8.2f mean=%8.2f us\n", name, n,
	       t[n / 2], t[(size_t)n * 99 / 100], sum / n);
	fflush(stdout);
}

static void die(const char *what)
{
	fprintf(stderr, "vfio-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Time n 4-byte preads of fd at off. */
static void time_pread(const char *name, int fd, off_t off, double *t, unsigned n)
{
	uint32_t v;

	for (unsigned i = 0; i < n; i++) {
		double s = now_us();

		if (pread(fd, &v, 4, off) != 4)
			die(name);
		t[i] = now_us() - s;
	}
	report(name, t, n);
}

/* The same request shapes against a FUSE server that does nothing else. */
static int floor_bench(const char *file, double *t, unsigned n)
{
	int fd = open(file, O_RDWR);

	if (fd < 0)
		die(file);
	printf("# vfio-bench: floor on %s, %u repetitions each\n", file, n);
	for (unsigned i = 0; i < n; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
		double s = now_us();

		if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
			die("floor ioctl");
		t[i] = now_us() - s;
	}
	report("floor-ioctl", t, n);
	time_pread("floor-pread", fd, 0, t, n);
	close(fd);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sysfs", required_argument, NULL, 's' },
		{ "floor", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sysfs_cfg = NULL, *floor_file = NULL;
	unsigned n = 20000;
	int c, container, group, device;
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vfio_region_info bar = { .argsz = sizeof(bar) };
	char path[64];
	double *t;
	void *page;

	while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = (unsigned)strtoul(optarg, NULL, 0);
			if (n < 100 || n > 10000000) {
				fprintf(stderr, "vfio-bench: -n takes 100..10000000\n");
				return 2;
			}
			break;
		case 's':
			sysfs_cfg = optarg;
			break;
		case 'f':
			floor_file = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (argc - optind != (floor_file ? 0 : 2)) {
		fputs(usage, stderr);
		return 2;
	}
	t = calloc(n, sizeof(*t));
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!t || page == MAP_FAILED)
		die("memory");
	if (floor_file)
		return floor_bench(floor_file, t, n);

	snprintf(path, sizeof(path), "/dev/vfio/%s", argv[optind]);
	group = open(path, O_RDWR);
	if (group < 0)
		die(path);
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("/dev/vfio/vfio");
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &st) || !(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("group not viable");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) &&
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
		die("VFIO_SET_IOMMU");
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[optind + 1]);
	if (device < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		die("GET_REGION_INFO(CONFIG)");
	for (bar.index = 0; bar.index < VFIO_PCI_ROM_REGION_INDEX; bar.index++) {
		if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &bar))
			die("GET_REGION_INFO(BAR)");
		if (bar.size >= 4)
			break;
	}
	/* Memory decode on, so BAR reads are answered. */
	{
		uint16_t cmd;

		if (pread(device, &cmd, 2, (off_t)cfg.offset + 4) != 2)
			die("pread COMMAND");
		cmd |= 0x6;	/* Memory Space, Bus Master */
		if (pwrite(device, &cmd, 2, (off_t)cfg.offset + 4) != 2)
			die("pwrite COMMAND");
	}
	printf("# vfio-bench: group %s device %s, %u repetitions each\n",
	       argv[optind], argv[optind + 1], n);

	for (unsigned i = 0; i < n; i++) {
		double s = now_us();

		if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
			die("VFIO_GET_API_VERSION");
		t[i] = now_us() - s;
	}
	report("null-ioctl", t, n);

	for (unsigned i = 0; i < n; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
		double s = now_us();

		if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &ri))
			die("GET_REGION_INFO");
		t[i] = now_us() - s;
	}
	report("region-info", t, n);

	time_pread("config-pread", device, (off_t)cfg.offset, t, n);
	if (bar.index < VFIO_PCI_ROM_REGION_INDEX)
		time_pread("bar-pread", device, (off_t)bar.offset, t, n);

	for (unsigned i = 0; i < n; i++) {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)page, .iova = 0x100000, .size = 4096,
		};
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap), .iova = 0x100000, .size = 4096,
		};
		double s = now_us();

		if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
			die("VFIO_IOMMU_MAP_DMA");
		if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
			die("VFIO_IOMMU_UNMAP_DMA");
		t[i] = now_us() - s;
	}
	report("map-unmap", t, n);

	if (sysfs_cfg) {
		int fd = open(sysfs_cfg, O_RDONLY);

		if (fd < 0)
			die(sysfs_cfg);
		time_pread("sysfs-config", fd, 0, t, n);
		close(fd);
	}
	close(device);
	close(group);
	close(container);
	free(t);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/vdev.c: the device fd of the fake vfio-pci.  Open/close against
 * Linux 6.1's vfio_pci_core_enable/disable, every GET_INFO and
 * GET_REGION_INFO row (copy-back sizes, the MSIX_MAPPABLE cap and argsz
 * growth), RESET with and without a reset method, the hot-reset protocol,
 * IOEVENTFD rows and eventfd-triggered writes, DEVICE_FEATURE rows and the
 * low-power model, region read/write routing, device DMA and interrupts
 * through the device's SimHostOps, and what close gives back.
 *
 * In-process: the "user" is this process (FvUser { getpid() }), arguments
 * live in the test's own memory, the devices sit in an FvMachine so that
 * their BARs have addresses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fakevfio/evloop.h"
#include "fakevfio/fakevfio.h"
#include "fakevfio/irqs.h"
#include "fakevfio/vdev.h"
#include "sim/dmatest.h"
#include "sim/sim.h"

#define OFF(i) ((uint64_t)(i) << 40)
#define NOFD 900		/* an fd number the test process does not use */
#define GROUP_FD_BASE 5000	/* fake group fds: GROUP_FD_BASE + group id */
#define NOT_GROUP_FD 4999	/* an open file that is not a group */
#define FILL 0xab

/* T5 VF layout (sim/t5vf.c). */
#define T5VF_BAR_MSIX 4

/* ---- the fake VFIO core ------------------------------------------------- */

#define MAX_DMA_LOG 64

typedef struct DmaLog {
	uint64_t iova;
	size_t len;
	bool write;
} DmaLog;

typedef struct Host {
	FvMachine *m;
	/* IOVA window [win_iova, win_iova + sizeof(win)) -> win */
	uint64_t win_iova;
	uint8_t win[0x4000];
	DmaLog dma[MAX_DMA_LOG];
	unsigned ndma;
	FvDevice *dma_dev;
	unsigned faults;
	uint64_t fault_iova;
	size_t fault_len;
	bool fault_write;
	int fault_err;
	FvDevice *fault_dev;
	unsigned signalled;
	unsigned sig_index, sig_vector;
	FvDevice *sig_dev;
	unsigned group_calls;
	char resets[256];	/* "BDF:how " per reset told */
} Host;

static int h_dma(void *o, FvDevice *d, uint64_t iova, void *buf, size_t len,
		 bool write)
{
	Host *h = o;

	if (h->ndma < MAX_DMA_LOG)
		h->dma[h->ndma++] = (DmaLog){ iova, len, write };
	h->dma_dev = d;
	if (iova < h->win_iova || iova - h->win_iova > sizeof(h->win) ||
	    len > sizeof(h->win) - (iova - h->win_iova))
		return -EFAULT;
	if (write)
		memcpy(h->win + (iova - h->win_iova), buf, len);
	else
		memcpy(buf, h->win + (iova - h->win_iova), len);
	return 0;
}

static void h_fault(void *o, FvDevice *d, uint64_t iova, size_t len,
		    bool write, int err)
{
	Host *h = o;

	h->faults++;
	h->fault_dev = d;
	h->fault_iova = iova;
	h->fault_len = len;
	h->fault_write = write;
	h->fault_err = err;
}

static FvGroup *h_group(void *o, const FvUser *u, int fd, int *err)
{
	Host *h = o;
	FvGroup *g;

	(void)u;
	h->group_calls++;
	if (fd == NOT_GROUP_FD) {
		*err = -EINVAL;
		return NULL;
	}
	g = fd >= GROUP_FD_BASE ? fv_machine_group(h->m, fd - GROUP_FD_BASE) : NULL;
	if (!g)
		*err = -EBADF;
	return g;
}

static void h_reset(void *o, FvDevice *d, const char *how)
{
	Host *h = o;
	size_t n = strlen(h->resets);

	snprintf(h->resets + n, sizeof(h->resets) - n, "%s:%s ", d->bdf, how);
}

static void h_irq(void *o, FvDevice *d, unsigned index, unsigned vector)
{
	Host *h = o;

	h->signalled++;
	h->sig_dev = d;
	h->sig_index = index;
	h->sig_vector = vector;
}

/* ---- fixture --------------------------------------------------------------- */

typedef struct Fx {
	FvMachine *m;
	FvEvloop *loop;
	Host h;
	FvVdevHost host;
	FvUser u;
	FvVdev *vd;		/* the device under test */
	FvDevice *dev;
} Fx;

/* A realized machine of "MODEL@BDF[,params]" specs (NULL-terminated). */
static FvMachine *machine(const char *const *specs)
{
	FvMachine *m = fv_machine_new(FV_PLATFORM_X86);
	Error *err = NULL;

	assert_non_null(m);
	for (unsigned i = 0; specs[i]; i++) {
		FvDeviceSpec spec;

		if (!fv_device_spec_parse(specs[i], &spec, &err) ||
		    !fv_machine_add_device(m, &spec, &err))
			fail_msg("%s: %s", specs[i], error_get_pretty(err));
		fv_device_spec_clear(&spec);
	}
	if (!fv_machine_realize(m, &err))
		fail_msg("%s", error_get_pretty(err));
	return m;
}

static Fx *fx_new(const char *const *specs)
{
	Fx *fx = calloc(1, sizeof(*fx));
	Error *err = NULL;

	assert_non_null(fx);
	fx->m = machine(specs);
	fx->loop = fv_evloop_new(&err);
	if (!fx->loop)
		fail_msg("%s", error_get_pretty(err));
	fx->u.pid = getpid();
	fx->h.m = fx->m;
	fx->h.win_iova = 0x100000;
	fx->host = (FvVdevHost){
		.dma = h_dma, .dma_fault = h_fault, .group_from_fd = h_group,
		.irq_signalled = h_irq, .reset = h_reset, .opaque = &fx->h,
	};
	return fx;
}

static FvVdev *vopen(Fx *fx, const char *bdf, bool mmap)
{
	FvVdevConfig cfg = { .advertise_mmap = mmap };
	FvDevice *d = fv_machine_find(fx->m, bdf);
	Error *err = NULL;
	FvVdev *vd;

	assert_non_null(d);
	vd = fv_vdev_open(d, fx->m, fx->loop, &fx->host, &cfg, &err);
	if (!vd)
		fail_msg("%s", error_get_pretty(err));
	return vd;
}

/* One device at bdf, opened. */
static Fx *fx_one(const char *spec, const char *bdf, bool mmap)
{
	const char *specs[] = { spec, NULL };
	Fx *fx = fx_new(specs);

	fx->dev = fv_machine_find(fx->m, bdf);
	fx->vd = vopen(fx, bdf, mmap);
	return fx;
}

static Fx *fx_dmatest(bool mmap)
{
	return fx_one("dma-test@0000:03:00.0", "0000:03:00.0", mmap);
}

static Fx *fx_t5vf(bool mmap)
{
	return fx_one("chelsio-t5-vf@0000:04:00.1", "0000:04:00.1", mmap);
}

static void fx_free(Fx *fx)
{
	fv_vdev_close(fx->vd);
	fv_evloop_free(fx->loop);
	fv_machine_free(fx->m);
	free(fx);
}

/* ---- helpers ------------------------------------------------------------------ */

static long ioc(Fx *fx, FvVdev *vd, unsigned cmd, const void *arg)
{
	return fv_vdev_ioctl(vd ? vd : fx->vd, &fx->u, cmd, (uint64_t)(uintptr_t)arg);
}

static uint32_t rd(FvVdev *vd, unsigned index, uint64_t off, unsigned len)
{
	uint32_t v = 0;

	assert_int_equal(fv_vdev_rw(vd, &v, len, OFF(index) + off, false), len);
	return v;
}

static void wr(FvVdev *vd, unsigned index, uint64_t off, unsigned len, uint32_t v)
{
	assert_int_equal(fv_vdev_rw(vd, &v, len, OFF(index) + off, true), len);
}

static uint64_t rd64(FvVdev *vd, unsigned index, uint64_t off)
{
	return rd(vd, index, off, 4) | (uint64_t)rd(vd, index, off + 4, 4) << 32;
}

static void wr64(FvVdev *vd, unsigned index, uint64_t off, uint64_t v)
{
	wr(vd, index, off, 4, (uint32_t)v);
	wr(vd, index, off + 4, 4, (uint32_t)(v >> 32));
}

#define CFG VFIO_PCI_CONFIG_REGION_INDEX

static int efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static uint64_t efd_take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return v;
}

static void efd_put(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A page followed by an unmapped one: arguments placed at its end fault. */
static uint8_t *guard_page(void)
{
	uint8_t *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(munmap(p + 4096, 4096), 0);
	return p;
}

static void guard_free(uint8_t *p)
{
	munmap(p, 4096);
}

static char *dump(FvVdev *vd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fv_vdev_dump(vd, f);
	fclose(f);
	return buf;
}

static void assert_filled(const uint8_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != FILL)
			fail_msg("byte %zu was written (0x%02x)", i, p[i]);
}

/* SET_IRQS with eventfds */
static long set_fds(Fx *fx, unsigned index, unsigned start, unsigned count,
		    const int32_t *fds)
{
	uint8_t buf[sizeof(struct vfio_irq_set) + 64 * 4];
	struct vfio_irq_set *s = (void *)buf;

	s->argsz = (uint32_t)(sizeof(*s) + count * 4);
	s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s->index = index;
	s->start = start;
	s->count = count;
	memcpy(s->data, fds, count * 4);
	return ioc(fx, NULL, VFIO_DEVICE_SET_IRQS, s);
}

static long set_none(Fx *fx, uint32_t action, unsigned index, unsigned count)
{
	struct vfio_irq_set s = {
		.argsz = sizeof(s), .flags = VFIO_IRQ_SET_DATA_NONE | action,
		.index = index, .start = 0, .count = count,
	};

	return ioc(fx, NULL, VFIO_DEVICE_SET_IRQS, &s);
}

/* Run a dma-test command through BAR0 and return STATUS. */
static uint32_t dmatest_run(FvVdev *vd, uint32_t cmd)
{
	wr(vd, 0, DMATEST_REG_CMD, 4, cmd);
	wr(vd, 0, DMATEST_REG_DOORBELL, 4, DMATEST_DOORBELL_GO);
	return rd(vd, 0, DMATEST_REG_STATUS, 4);
}

static void bus_master(FvVdev *vd, bool on)
{
	uint16_t cmd = (uint16_t)rd(vd, CFG, PCI_COMMAND, 2);

	cmd = on ? cmd | PCI_COMMAND_MASTER : cmd & ~PCI_COMMAND_MASTER;
	wr(vd, CFG, PCI_COMMAND, 2, cmd);
}

static unsigned pm_state(FvDevice *d)
{
	return sim_cfg_get(d->sim, DMATEST_CAP_PM + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK;
}

/* ---- open / close --------------------------------------------------------------- */

static void test_open_errors(void **state)
{
	const char *specs[] = { "dma-test@0000:03:00.0", NULL };
	Fx *fx = fx_new(specs);
	FvDevice *d = fx->m->devs[0];
	FvDevice nosim = *d;
	Error *err = NULL;
	FvVdev *vd;

	(void)state;
	nosim.sim = NULL;
	assert_null(fv_vdev_open(NULL, fx->m, fx->loop, &fx->host, NULL, &err));
	assert_non_null(err);
	error_free(err);
	err = NULL;
	assert_null(fv_vdev_open(&nosim, fx->m, fx->loop, &fx->host, NULL, NULL));
	assert_null(fv_vdev_open(d, NULL, fx->loop, &fx->host, NULL, NULL));
	assert_null(fv_vdev_open(d, fx->m, NULL, &fx->host, NULL, NULL));
	assert_null(fv_vdev_open(d, fx->m, fx->loop, NULL, NULL, NULL));
	/* A NULL config is the default one (no mmap). */
	vd = fv_vdev_open(d, fx->m, fx->loop, &fx->host, NULL, &err);
	assert_non_null(vd);
	/* The first open is the only one this layer sees. */
	assert_null(fv_vdev_open(d, fx->m, fx->loop, &fx->host, NULL, &err));
	assert_non_null(strstr(error_get_pretty(err), "open already"));
	error_free(err);
	fv_vdev_close(vd);
	fv_vdev_close(NULL);
	/* Closed: it can be opened again. */
	fx->vd = vopen(fx, "0000:03:00.0", false);
	fx_free(fx);
}

/* What vfio_pci_core_enable leaves in the device. */
static void test_open_state(void **state)
{
	const char *specs[] = { "dma-test@0000:03:00.0", NULL };
	Fx *fx = fx_new(specs);
	FvDevice *d = fx->m->devs[0];
	uint16_t cmd;

	(void)state;
	/* Firmware left Bus Master and Interrupt Disable on. */
	sim_cfg_write(d->sim, PCI_COMMAND, 2,
		      PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	fx->vd = vopen(fx, "0000:03:00.0", false);
	cmd = (uint16_t)sim_cfg_get(d->sim, PCI_COMMAND, 2);
	/* pci_clear_master, pci_enable_device (IO + MEM), pci_2_3 INTx on. */
	assert_int_equal(cmd, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	/* The open-time reset happened (FLR). */
	assert_int_equal(sim_device_reset_count(d->sim, SIM_RESET_FLR), 1);
	/* The virtual view: IDs and BARs (sizing), memory enabled. */
	assert_int_equal(rd(fx->vd, CFG, PCI_VENDOR_ID, 2), DMATEST_VENDOR_ID);
	assert_int_equal(rd(fx->vd, CFG, PCI_DEVICE_ID, 2), DMATEST_DEVICE_ID);
	assert_int_equal(rd(fx->vd, CFG, PCI_COMMAND, 2), PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(rd(fx->vd, 0, DMATEST_REG_ID, 4), DMATEST_MAGIC);
	fx_free(fx);
}

/* ---- GET_INFO ------------------------------------------------------------------------ */

static void check_info(Fx *fx, uint32_t want_flags)
{
	uint8_t buf[64];
	struct vfio_device_info *info = (void *)buf;
	uint8_t *g = guard_page();

	/* argsz 16: 16 bytes back, cap_offset untouched */
	memset(buf, FILL, sizeof(buf));
	info->argsz = 16;
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_INFO, buf), 0);
	assert_int_equal(info->argsz, 16);
	assert_int_equal(info->flags, want_flags);
	assert_int_equal(info->num_regions, VFIO_PCI_NUM_REGIONS);
	assert_int_equal(info->num_irqs, VFIO_PCI_NUM_IRQS);
	assert_filled(buf, 16, sizeof(buf));
	/* argsz 20 and more: 20 bytes, cap_offset 0, argsz unchanged */
	for (uint32_t argsz = 20; argsz <= 64; argsz += 44) {
		memset(buf, FILL, sizeof(buf));
		info->argsz = argsz;
		assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_INFO, buf), 0);
		assert_int_equal(info->argsz, argsz);
		assert_int_equal(info->flags, want_flags);
		assert_int_equal(info->cap_offset, 0);
		assert_filled(buf, 20, sizeof(buf));
	}
	/* argsz 19: still 16 */
	memset(buf, FILL, sizeof(buf));
	info->argsz = 19;
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_INFO, buf), 0);
	assert_filled(buf, 16, sizeof(buf));
	/* argsz < 16 */
	memset(buf, FILL, sizeof(buf));
	info->argsz = 15;
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_INFO, buf), -EINVAL);
	assert_filled(buf, 4, sizeof(buf));
	/* faults: reading, and writing back (a read-only page) */
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_INFO, (void *)8), -EFAULT);
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_INFO, g + 4096 - 12), -EFAULT);
	info = (void *)g;
	info->argsz = 20;
	assert_int_equal(mprotect(g, 4096, PROT_READ), 0);
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_INFO, g), -EFAULT);
	guard_free(g);
}

static void test_get_info(void **state)
{
	Fx *fx = fx_dmatest(false);

	(void)state;
	check_info(fx, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	fx_free(fx);
	fx = fx_t5vf(true);
	check_info(fx, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	fx_free(fx);
	/* No reset method: dma-test without FLR or PM reset, on the root bus. */
	fx = fx_one("dma-test@0000:00:05.0,flr=off,nosoftrst=on", "0000:00:05.0", false);
	check_info(fx, VFIO_DEVICE_FLAGS_PCI);
	fx_free(fx);
}

/* ---- GET_REGION_INFO ------------------------------------------------------------------ */

typedef struct RegionRow {
	uint64_t size;
	uint32_t flags;
	bool msix_cap;		/* with advertise_mmap */
} RegionRow;

#define RW (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)
#define MM VFIO_REGION_INFO_FLAG_MMAP

/* rows[0..7]: BAR0-5, ROM, CONFIG, as reported with advertise_mmap on. */
static void check_regions(Fx *fx, bool mmap, const RegionRow *rows)
{
	uint8_t buf[64];
	struct vfio_region_info *ri = (void *)buf;
	struct vfio_info_cap_header *cap = (void *)(buf + sizeof(*ri));

	for (unsigned i = 0; i < VFIO_PCI_VGA_REGION_INDEX; i++) {
		uint32_t flags = rows[i].flags;
		bool with_cap = mmap && rows[i].msix_cap;

		if (!mmap)
			flags &= ~(uint32_t)MM;
		/* argsz 32: exactly 32 bytes back */
		memset(buf, FILL, sizeof(buf));
		ri->argsz = 32;
		ri->index = i;
		ri->cap_offset = 0x5555;
		assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_REGION_INFO, buf), 0);
		assert_int_equal(ri->index, i);
		assert_int_equal(ri->offset, OFF(i));
		assert_int_equal(ri->size, rows[i].size);
		assert_filled(buf, 32, sizeof(buf));
		if (with_cap) {
			/* too small for the cap: CAPS, argsz grows, cap_offset 0 */
			assert_int_equal(ri->flags, flags | VFIO_REGION_INFO_FLAG_CAPS);
			assert_int_equal(ri->argsz, 40);
			assert_int_equal(ri->cap_offset, 0);
			/* 39 is still too small */
			memset(buf, FILL, sizeof(buf));
			ri->argsz = 39;
			ri->index = i;
			assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_REGION_INFO, buf), 0);
			assert_int_equal(ri->argsz, 40);
			assert_filled(buf, 32, sizeof(buf));
			/* 40: the cap at 32, header only, last */
			memset(buf, FILL, sizeof(buf));
			ri->argsz = 40;
			ri->index = i;
			assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_REGION_INFO, buf), 0);
			assert_int_equal(ri->argsz, 40);
			assert_int_equal(ri->flags, flags | VFIO_REGION_INFO_FLAG_CAPS);
			assert_int_equal(ri->cap_offset, 32);
			assert_int_equal(cap->id, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
			assert_int_equal(cap->version, 1);
			assert_int_equal(cap->next, 0);
			assert_filled(buf, 40, sizeof(buf));
		} else {
			/* no cap: argsz and the caller's cap_offset come back as given */
			assert_int_equal(ri->flags, flags);
			assert_int_equal(ri->argsz, 32);
			assert_int_equal(ri->cap_offset, 0x5555);
			memset(buf, FILL, sizeof(buf));
			ri->argsz = 64;
			ri->index = i;
			assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_REGION_INFO, buf), 0);
			assert_int_equal(ri->argsz, 64);
			assert_int_equal(ri->flags, flags);
			assert_filled(buf, 32, sizeof(buf));
		}
	}
	/* VGA (no VGA device), past the last region, argsz, faults */
	for (uint32_t idx = VFIO_PCI_VGA_REGION_INDEX; idx <= 10; idx++) {
		memset(buf, FILL, sizeof(buf));
		ri->argsz = 32;
		ri->index = idx;
		assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_REGION_INFO, buf), -EINVAL);
		assert_filled(buf, 12, sizeof(buf));
	}
	ri->index = 0xffffffff;
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_REGION_INFO, buf), -EINVAL);
	ri->argsz = 31;
	ri->index = 0;
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_REGION_INFO, buf), -EINVAL);
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_REGION_INFO, (void *)8), -EFAULT);
}

static void test_region_info_dmatest(void **state)
{
	const RegionRow rows[8] = {
		{ DMATEST_BAR_REGS_SIZE, RW | MM, false },
		{ DMATEST_BAR_IO_SIZE, RW, false },		/* I/O: never mmap */
		{ DMATEST_BAR_MSIX_SIZE, RW | MM, true },	/* the MSI-X BAR */
		{ 0, 0, false },				/* upper half */
		{ 0, 0, false },
		{ 0, 0, false },
		{ DMATEST_ROM_SIZE, VFIO_REGION_INFO_FLAG_READ, false },
		{ 4096, RW, false },
	};
	Fx *fx;

	(void)state;
	fx = fx_dmatest(false);
	check_regions(fx, false, rows);
	fx_free(fx);
	fx = fx_dmatest(true);
	check_regions(fx, true, rows);
	fx_free(fx);
}

static void test_region_info_t5vf(void **state)
{
	const RegionRow rows[8] = {
		{ 0x1000, RW | MM, false },
		{ 0, 0, false },
		{ 0x2000, RW | MM, false },
		{ 0, 0, false },
		{ 0x2000, RW | MM, true },			/* BAR4: MSI-X */
		{ 0, 0, false },
		{ 0, 0, false },				/* VFs: no ROM */
		{ 4096, RW, false },
	};
	Fx *fx;

	(void)state;
	fx = fx_t5vf(false);
	check_regions(fx, false, rows);
	fx_free(fx);
	fx = fx_t5vf(true);
	check_regions(fx, true, rows);
	fx_free(fx);
}

/* A region info struct whose cap cannot be written back. */
static void test_region_info_faults(void **state)
{
	Fx *fx = fx_dmatest(true);
	uint8_t *g = guard_page();
	struct vfio_region_info *ri = (void *)(g + 4096 - 32);

	(void)state;
	/* argsz 40 but only 32 bytes mapped: the cap copy faults */
	ri->argsz = 40;
	ri->index = DMATEST_BAR_MSIX;
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_REGION_INFO, ri), -EFAULT);
	/* read-only: the struct copy faults */
	ri->argsz = 32;
	ri->index = 0;
	assert_int_equal(mprotect(g, 4096, PROT_READ), 0);
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_REGION_INFO, ri), -EFAULT);
	guard_free(g);
	/*
	 * The ROM probe enables memory decode for pci_map_rom and puts the
	 * Command register back.
	 */
	sim_cfg_write(fx->dev->sim, PCI_COMMAND, 2,
		      sim_cfg_get(fx->dev->sim, PCI_COMMAND, 2) & ~PCI_COMMAND_MEMORY);
	{
		struct vfio_region_info r = { .argsz = 32, .index = VFIO_PCI_ROM_REGION_INDEX };

		assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_REGION_INFO, &r), 0);
		assert_int_equal(r.flags, VFIO_REGION_INFO_FLAG_READ);
		assert_int_equal(r.size, DMATEST_ROM_SIZE);
		assert_int_equal(sim_cfg_get(fx->dev->sim, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, 0);
		assert_int_equal(sim_cfg_get(fx->dev->sim, PCI_ROM_ADDRESS, 4) &
				 PCI_ROM_ADDRESS_ENABLE, 0);
	}
	fx_free(fx);
}

/* ---- region read/write ------------------------------------------------------------------ */

static uint32_t dev_bar32(FvDevice *d, unsigned bar, uint64_t off)
{
	uint64_t v = 0;

	assert_int_equal(sim_bar_read(d->sim, bar, off, 4, &v), 0);
	return (uint32_t)v;
}

static void test_rw_routing(void **state)
{
	Fx *fx = fx_dmatest(false);
	uint8_t b[0x900];

	(void)state;
	/* count 0 first, whatever the index */
	assert_int_equal(fv_vdev_rw(fx->vd, b, 0, OFF(9), false), 0);
	assert_int_equal(fv_vdev_rw(fx->vd, b, 0, OFF(VFIO_PCI_VGA_REGION_INDEX), true), 0);
	/* no region 9 and up, no VGA */
	assert_int_equal(fv_vdev_rw(fx->vd, b, 4, OFF(9), false), -EINVAL);
	assert_int_equal(fv_vdev_rw(fx->vd, b, 4, OFF(0xffffff), false), -EINVAL);
	assert_int_equal(fv_vdev_rw(fx->vd, b, 4, OFF(VFIO_PCI_VGA_REGION_INDEX), false), -EINVAL);
	assert_int_equal(fv_vdev_rw(fx->vd, b, 1, OFF(VFIO_PCI_VGA_REGION_INDEX) + 0xa0000, true),
			 -EINVAL);
	/* config: through the virtualization (EFAULT past the end) */
	assert_int_equal(rd(fx->vd, CFG, PCI_VENDOR_ID, 4),
			 DMATEST_VENDOR_ID | DMATEST_DEVICE_ID << 16);
	assert_int_equal(fv_vdev_rw(fx->vd, b, 4, OFF(CFG) + 4094, false), -EFAULT);
	/* BAR writes are virtual: the device keeps its address */
	wr(fx->vd, CFG, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(rd(fx->vd, CFG, PCI_BASE_ADDRESS_0, 4), (uint32_t)~(DMATEST_BAR_REGS_SIZE - 1));
	assert_int_not_equal(sim_cfg_get(fx->dev->sim, PCI_BASE_ADDRESS_0, 4), 0xfffff000);
	/* BAR0: device registers */
	assert_int_equal(rd(fx->vd, 0, DMATEST_REG_ID, 4), DMATEST_MAGIC);
	wr(fx->vd, 0, DMATEST_REG_SCRATCH, 4, 0xcafef00d);
	assert_int_equal(dev_bar32(fx->dev, 0, DMATEST_REG_SCRATCH), 0xcafef00d);
	/* clamped at the end of the BAR; EINVAL beyond it */
	assert_int_equal(fv_vdev_rw(fx->vd, b, 16, OFF(0) + DMATEST_BAR_REGS_SIZE - 8, false), 8);
	assert_int_equal(fv_vdev_rw(fx->vd, b, 4, OFF(0) + DMATEST_BAR_REGS_SIZE, false), -EINVAL);
	/* BAR1 (I/O) */
	assert_int_equal(rd(fx->vd, 1, DMATEST_IO_SCRATCH, 4), 0xcafef00d);
	/* BAR2: the MSI-X table reads 0xff, the RAM window works */
	assert_int_equal(rd(fx->vd, 2, DMATEST_MSIX_TABLE, 4), 0xffffffff);
	wr(fx->vd, 2, DMATEST_RAM, 4, 0x01020304);
	assert_int_equal(rd(fx->vd, 2, DMATEST_RAM, 4), 0x01020304);
	/* unassigned BARs */
	assert_int_equal(fv_vdev_rw(fx->vd, b, 4, OFF(3), false), -EINVAL);
	assert_int_equal(fv_vdev_rw(fx->vd, b, 4, OFF(5), true), -EINVAL);
	/* ROM: the image, read-only */
	memset(b, 0, sizeof(b));
	assert_int_equal(fv_vdev_rw(fx->vd, b, sizeof(b), OFF(VFIO_PCI_ROM_REGION_INDEX), false),
			 DMATEST_ROM_SIZE);
	assert_int_equal(b[0], 0x55);
	assert_int_equal(b[1], 0xaa);
	assert_string_equal((char *)b + DMATEST_ROM_STRING_OFF, DMATEST_ROM_STRING);
	assert_int_equal(fv_vdev_rw(fx->vd, b, 4, OFF(VFIO_PCI_ROM_REGION_INDEX), true), -EINVAL);
	/* Memory space off in the virtual Command register: EIO */
	wr(fx->vd, CFG, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_int_equal(fv_vdev_rw(fx->vd, b, 4, OFF(0), false), -EIO);
	/*
	 * The ROM: the write of Command went to the device too, so
	 * pci_map_rom reads all-ones, no ROM signature: ENOMEM, as the kernel.
	 */
	assert_int_equal(fv_vdev_rw(fx->vd, b, 4, OFF(VFIO_PCI_ROM_REGION_INDEX), false), -ENOMEM);
	assert_int_equal(rd(fx->vd, 1, DMATEST_IO_ID, 4), DMATEST_MAGIC);
	fx_free(fx);
}

/* ---- RESET ---------------------------------------------------------------------------- */

static void test_reset(void **state)
{
	const char *specs[] = {
		"dma-test@0000:03:00.0",				/* FLR */
		"dma-test@0000:00:05.0,flr=off,nosoftrst=on",		/* none, root bus */
		"dma-test@0000:05:00.0,flr=off,nosoftrst=on",		/* bus, alone */
		"dma-test@0000:06:00.0,flr=off,nosoftrst=on",		/* none: shares 06 */
		"dma-test@0000:06:00.1",
		"dma-test@0000:00:06.0,flr=off",			/* PM reset */
		NULL,
	};
	static const struct {
		const char *bdf;
		bool works;
		SimResetKind kind;
		const char *how;	/* told to FvVdevHost.reset */
	} rows[] = {
		{ "0000:03:00.0", true, SIM_RESET_FLR, "flr" },
		{ "0000:00:05.0", false, SIM_RESET_FLR, NULL },
		{ "0000:05:00.0", true, SIM_RESET_HOT, "hot" },
		{ "0000:06:00.0", false, SIM_RESET_HOT, NULL },
		{ "0000:00:06.0", true, SIM_RESET_PM, "pm" },
	};
	Fx *fx = fx_new(specs);

	(void)state;
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		FvDevice *d = fv_machine_find(fx->m, rows[i].bdf);
		struct vfio_device_info info = { .argsz = sizeof(info) };
		unsigned n0 = sim_device_reset_count(d->sim, rows[i].kind), n1;
		FvVdev *vd = vopen(fx, rows[i].bdf, false);
		char *text, told[64];

		/* the open-time reset (pci_try_reset_function), not told */
		n1 = sim_device_reset_count(d->sim, rows[i].kind);
		assert_int_equal(n1, n0 + rows[i].works);
		assert_string_equal(fx->h.resets, "");
		assert_int_equal(ioc(fx, vd, VFIO_DEVICE_GET_INFO, &info), 0);
		assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI |
				 (rows[i].works ? VFIO_DEVICE_FLAGS_RESET : 0));
		wr(vd, 0, DMATEST_REG_SCRATCH, 4, 0x1234);
		bus_master(vd, true);
		if (rows[i].works) {
			assert_int_equal(ioc(fx, vd, VFIO_DEVICE_RESET, NULL), 0);
			assert_int_equal(sim_device_reset_count(d->sim, rows[i].kind), n1 + 1);
			snprintf(told, sizeof(told), "%s:%s ", rows[i].bdf, rows[i].how);
			assert_string_equal(fx->h.resets, told);
			/* the device was reset, its config restored */
			assert_int_equal(rd(vd, 0, DMATEST_REG_SCRATCH, 4), 0);
			assert_int_equal(rd(vd, CFG, PCI_COMMAND, 2) & PCI_COMMAND_MASTER,
					 PCI_COMMAND_MASTER);
		} else {
			assert_int_equal(ioc(fx, vd, VFIO_DEVICE_RESET, NULL), -EINVAL);
			assert_int_equal(rd(vd, 0, DMATEST_REG_SCRATCH, 4), 0x1234);
			assert_string_equal(fx->h.resets, "");
		}
		text = dump(vd);
		assert_non_null(strstr(text, rows[i].works ? "reset_works yes" : "reset_works no"));
		free(text);
		/* nor is the close-time reset */
		fv_vdev_close(vd);
		assert_string_equal(fx->h.resets, rows[i].works ? told : "");
		fx->h.resets[0] = '\0';
	}
	fx_free(fx);
}

/* Initiate FLR in the PCIe DevCtl of the config region: a reset, told. */
static void test_config_flr(void **state)
{
	const char *specs[] = {
		"dma-test@0000:03:00.0",		/* FLR */
		"dma-test@0000:00:06.0,flr=off",	/* no FLR in DevCap: nothing */
		NULL,
	};
	Fx *fx = fx_new(specs);
	FvDevice *d = fv_machine_find(fx->m, "0000:03:00.0");
	FvDevice *nf = fv_machine_find(fx->m, "0000:00:06.0");
	unsigned exp = sim_cap_find(d->sim, PCI_CAP_ID_EXP);
	unsigned n0 = sim_device_reset_count(d->sim, SIM_RESET_FLR);
	unsigned p0 = sim_device_reset_count(nf->sim, SIM_RESET_PM);
	FvVdev *vd = vopen(fx, "0000:03:00.0", false), *vn;

	(void)state;
	assert_true(exp != 0);
	wr(vd, 0, DMATEST_REG_SCRATCH, 4, 0x1234);
	wr(vd, CFG, exp + PCI_EXP_DEVCTL, 2,
	   rd(vd, CFG, exp + PCI_EXP_DEVCTL, 2) | PCI_EXP_DEVCTL_BCR_FLR);
	/* open + this one */
	assert_int_equal(sim_device_reset_count(d->sim, SIM_RESET_FLR), n0 + 2);
	assert_int_equal(rd(vd, 0, DMATEST_REG_SCRATCH, 4), 0);
	assert_int_equal(rd(vd, CFG, exp + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR, 0);
	assert_string_equal(fx->h.resets, "0000:03:00.0:flr ");
	/* without FLR in DevCap the bit does nothing */
	fx->h.resets[0] = '\0';
	vn = vopen(fx, "0000:00:06.0", false);
	exp = sim_cap_find(nf->sim, PCI_CAP_ID_EXP);
	wr(vn, CFG, exp + PCI_EXP_DEVCTL, 2,
	   rd(vn, CFG, exp + PCI_EXP_DEVCTL, 2) | PCI_EXP_DEVCTL_BCR_FLR);
	assert_int_equal(sim_device_reset_count(nf->sim, SIM_RESET_PM), p0 + 1);	/* open */
	assert_string_equal(fx->h.resets, "");
	fv_vdev_close(vn);
	fv_vdev_close(vd);
	fx_free(fx);
}

/* ---- GET_PCI_HOT_RESET_INFO ---------------------------------------------------------------- */

static const char *const bus3[] = {
	"dma-test@0000:03:00.0",
	"dma-test@0000:03:02.0,group=7",
	"chelsio-t5-vf@0000:03:00.1",
	"dma-test@0001:03:00.0",		/* another domain */
	"dma-test@0000:04:00.0",
	"dma-test@0000:00:01.0",		/* the root bus */
	NULL,
};

static void test_hot_reset_info(void **state)
{
	Fx *fx = fx_new(bus3);
	uint8_t buf[12 + 8 * 4 + 8];
	struct vfio_pci_hot_reset_info *h = (void *)buf;
	FvVdev *root;
	uint8_t *g;

	(void)state;
	fx->vd = vopen(fx, "0000:03:00.0", false);
	/* too small for 3 devices: ENOSPC with the count, 12 bytes back */
	for (uint32_t argsz = 12; argsz < 12 + 3 * 8; argsz += 11) {
		memset(buf, FILL, sizeof(buf));
		h->argsz = argsz;
		h->flags = 0x77;
		h->count = 99;
		assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf), -ENOSPC);
		assert_int_equal(h->argsz, argsz);
		assert_int_equal(h->flags, 0);
		assert_int_equal(h->count, 3);
		assert_filled(buf, 12, sizeof(buf));
	}
	/* enough: the affected devices in devfn order */
	memset(buf, FILL, sizeof(buf));
	h->argsz = 12 + 3 * 8;
	h->flags = 1;
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf), 0);
	assert_int_equal(h->argsz, 12 + 3 * 8);
	assert_int_equal(h->flags, 0);
	assert_int_equal(h->count, 3);
	assert_int_equal(h->devices[0].group_id, 100);
	assert_int_equal(h->devices[0].segment, 0);
	assert_int_equal(h->devices[0].bus, 3);
	assert_int_equal(h->devices[0].devfn, 0x00);
	assert_int_equal(h->devices[1].group_id, 101);	/* the VF, 03:00.1 */
	assert_int_equal(h->devices[1].bus, 3);
	assert_int_equal(h->devices[1].devfn, 0x01);
	assert_int_equal(h->devices[2].group_id, 7);
	assert_int_equal(h->devices[2].devfn, 0x10);
	assert_filled(buf, 12 + 3 * 8, sizeof(buf));
	/* a larger buffer: the same */
	memset(buf, FILL, sizeof(buf));
	h->argsz = sizeof(buf);
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf), 0);
	assert_int_equal(h->count, 3);
	assert_filled(buf, 12 + 3 * 8, sizeof(buf));
	/* argsz, faults */
	h->argsz = 11;
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf), -EINVAL);
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, (void *)8), -EFAULT);
	g = guard_page();
	h = (void *)(g + 4096 - 16);	/* header fits, the entries do not */
	h->argsz = 12 + 3 * 8;
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, h), -EFAULT);
	h->argsz = 12;
	assert_int_equal(mprotect(g, 4096, PROT_READ), 0);
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, h), -EFAULT);
	guard_free(g);
	/* a device with no IOMMU group on the bus: EPERM (the count is not set) */
	h = (void *)buf;
	{
		FvDevice *vf = fv_machine_find(fx->m, "0000:03:00.1");
		FvGroup *grp = vf->group;

		vf->group = NULL;
		h->argsz = sizeof(buf);
		h->count = 42;
		assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf), -EPERM);
		assert_int_equal(h->count, 42);
		assert_int_equal(h->flags, 0);
		vf->group = grp;
	}
	/* alone on its bus: one device */
	fv_vdev_close(fx->vd);
	fx->vd = vopen(fx, "0000:04:00.0", false);
	h->argsz = sizeof(buf);
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf), 0);
	assert_int_equal(h->count, 1);
	assert_int_equal(h->devices[0].bus, 4);
	/* other domain: its own bus 3 */
	root = vopen(fx, "0001:03:00.0", false);
	assert_int_equal(ioc(fx, root, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf), 0);
	assert_int_equal(h->count, 1);
	assert_int_equal(h->devices[0].segment, 1);
	fv_vdev_close(root);
	/* the root bus: neither slot nor bus reset */
	root = vopen(fx, "0000:00:01.0", false);
	h->argsz = sizeof(buf);
	assert_int_equal(ioc(fx, root, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf), -ENODEV);
	fv_vdev_close(root);
	fx_free(fx);
}

/* ---- PCI_HOT_RESET ------------------------------------------------------------------------- */

static long hot_reset(Fx *fx, FvVdev *vd, uint32_t argsz, uint32_t flags,
		      uint32_t count, const int32_t *fds)
{
	uint8_t buf[12 + 4 * 8];
	struct vfio_pci_hot_reset *h = (void *)buf;

	h->argsz = argsz;
	h->flags = flags;
	h->count = count;
	memcpy(h->group_fds, fds, 4 * (count < 3 ? count : 3));	/* callers pass <= 3 */
	return ioc(fx, vd, VFIO_DEVICE_PCI_HOT_RESET, buf);
}

static void test_hot_reset(void **state)
{
	Fx *fx = fx_new(bus3);
	FvDevice *d0 = fv_machine_find(fx->m, "0000:03:00.0");
	FvDevice *d1 = fv_machine_find(fx->m, "0000:03:02.0");
	FvDevice *vf = fv_machine_find(fx->m, "0000:03:00.1");
	FvDevice *other = fv_machine_find(fx->m, "0000:04:00.0");
	int32_t all[3] = { GROUP_FD_BASE + 100, GROUP_FD_BASE + 7, GROUP_FD_BASE + 101 };
	int32_t fds[3];
	unsigned h0 = sim_device_reset_count(d0->sim, SIM_RESET_HOT);
	unsigned h1 = sim_device_reset_count(d1->sim, SIM_RESET_HOT);
	unsigned hv = sim_device_reset_count(vf->sim, SIM_RESET_HOT);
	unsigned ho = sim_device_reset_count(other->sim, SIM_RESET_HOT);
	uint32_t bar0 = sim_cfg_get(d1->sim, PCI_BASE_ADDRESS_0, 4);
	FvVdev *sib, *root;
	uint8_t *g;
	char *text;

	(void)state;
	fx->vd = vopen(fx, "0000:03:00.0", false);
	sib = vopen(fx, "0000:03:02.0", false);
	/* header rows */
	assert_int_equal(hot_reset(fx, NULL, 11, 0, 3, all), -EINVAL);
	assert_int_equal(hot_reset(fx, NULL, 12 + 12, 1, 3, all), -EINVAL);
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_PCI_HOT_RESET, (void *)8), -EFAULT);
	/* count: 1..3 */
	assert_int_equal(hot_reset(fx, NULL, 24, 0, 0, all), -EINVAL);
	assert_int_equal(hot_reset(fx, NULL, 24, 0, 4, all), -EINVAL);
	assert_int_equal(fx->h.group_calls, 0);
	/* argsz is not checked against count; the fds must be readable */
	g = guard_page();
	{
		struct vfio_pci_hot_reset *h = (void *)(g + 4096 - 16);

		h->argsz = 12;
		h->flags = 0;
		h->count = 2;		/* the second fd is in the unmapped page */
		h->group_fds[0] = all[0];
		assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_PCI_HOT_RESET, h), -EFAULT);
		assert_int_equal(fx->h.group_calls, 0);
		h->count = 1;		/* argsz 12 but one fd: fine, and a group missing */
		assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_PCI_HOT_RESET, h), -EINVAL);
		assert_int_equal(fx->h.group_calls, 1);
	}
	guard_free(g);
	/* each fd: not open, not a group */
	fds[0] = all[0];
	fds[1] = NOFD;
	fds[2] = all[2];
	assert_int_equal(hot_reset(fx, NULL, 24, 0, 3, fds), -EBADF);
	fds[1] = NOT_GROUP_FD;
	assert_int_equal(hot_reset(fx, NULL, 24, 0, 3, fds), -EINVAL);
	/* a group of another device only, or a dev_set device not covered */
	fds[1] = GROUP_FD_BASE + 102;	/* 0001:03:00.0's */
	assert_int_equal(hot_reset(fx, NULL, 24, 0, 3, fds), -EINVAL);
	assert_int_equal(hot_reset(fx, NULL, 24, 0, 2, all), -EINVAL);
	assert_int_equal(sim_device_reset_count(d0->sim, SIM_RESET_HOT), h0);
	/* every group: the bus is reset, config restored, registers not */
	wr(fx->vd, 0, DMATEST_REG_SCRATCH, 4, 0x1111);
	wr(sib, 0, DMATEST_REG_SCRATCH, 4, 0x2222);
	bus_master(fx->vd, true);
	assert_string_equal(fx->h.resets, "");
	assert_int_equal(hot_reset(fx, NULL, 24, 0, 3, all), 0);
	/* every function of the bus, in devfn order */
	assert_string_equal(fx->h.resets, "0000:03:00.0:hot 0000:03:00.1:hot 0000:03:02.0:hot ");
	assert_int_equal(sim_device_reset_count(d0->sim, SIM_RESET_HOT), h0 + 1);
	assert_int_equal(sim_device_reset_count(d1->sim, SIM_RESET_HOT), h1 + 1);
	assert_int_equal(sim_device_reset_count(vf->sim, SIM_RESET_HOT), hv + 1);
	assert_int_equal(sim_device_reset_count(other->sim, SIM_RESET_HOT), ho);
	assert_int_equal(rd(fx->vd, 0, DMATEST_REG_SCRATCH, 4), 0);
	assert_int_equal(rd(sib, 0, DMATEST_REG_SCRATCH, 4), 0);
	assert_int_equal(sim_cfg_get(d0->sim, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(sim_cfg_get(d1->sim, PCI_BASE_ADDRESS_0, 4), bar0);
	text = dump(sib);
	assert_non_null(strstr(text, "hot resets 1"));
	free(text);
	/* a device of the bus bound to a host driver: not in the dev_set */
	vf->vfio_bound = false;
	assert_int_equal(hot_reset(fx, NULL, 24, 0, 3, all), -EINVAL);
	assert_int_equal(sim_device_reset_count(d0->sim, SIM_RESET_HOT), h0 + 1);
	vf->vfio_bound = true;
	/* duplicates are fine too; from the sibling */
	fds[0] = fds[1] = all[1];
	fds[2] = all[0];
	assert_int_equal(hot_reset(fx, sib, 24, 0, 3, fds), -EINVAL);	/* VF not covered */
	fds[1] = all[2];
	assert_int_equal(hot_reset(fx, sib, 12, 0, 3, fds), 0);
	assert_int_equal(sim_device_reset_count(d1->sim, SIM_RESET_HOT), h1 + 2);
	/* no group_from_fd in the host: every fd is "not a group" */
	fx->host.group_from_fd = NULL;
	root = vopen(fx, "0000:04:00.0", false);
	assert_int_equal(hot_reset(fx, root, 16, 0, 1, all), -EINVAL);
	fv_vdev_close(root);
	/* the root bus */
	root = vopen(fx, "0000:00:01.0", false);
	assert_int_equal(hot_reset(fx, root, 16, 0, 1, all), -ENODEV);
	fv_vdev_close(root);
	fv_vdev_close(sib);
	fx_free(fx);
}

/* A hot reset while a device of the bus is in low power: resumed, suspended again. */
static void test_hot_reset_low_power(void **state)
{
	const char *specs[] = {
		"dma-test@0000:03:00.0,nosoftrst=on", "dma-test@0000:03:01.0", NULL,
	};
	Fx *fx = fx_new(specs);
	FvDevice *d1 = fv_machine_find(fx->m, "0000:03:01.0");
	struct vfio_device_feature f = {
		.argsz = sizeof(f),
		.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY,
	};
	int32_t all[2] = { GROUP_FD_BASE + 100, GROUP_FD_BASE + 101 };
	FvVdev *sib;

	(void)state;
	fx->vd = vopen(fx, "0000:03:00.0", false);
	sib = vopen(fx, "0000:03:01.0", false);
	assert_int_equal(ioc(fx, sib, VFIO_DEVICE_FEATURE, &f), 0);
	assert_int_equal(pm_state(d1), 3);
	assert_int_equal(hot_reset(fx, NULL, 20, 0, 2, all), 0);
	assert_int_equal(pm_state(d1), 3);
	assert_int_equal(sim_device_reset_count(d1->sim, SIM_RESET_HOT), 1);
	fv_vdev_close(sib);
	assert_int_equal(pm_state(d1), 0);
	fx_free(fx);
}

/* ---- IOEVENTFD ------------------------------------------------------------------------------- */

static long ioefd(Fx *fx, uint32_t argsz, uint32_t flags, uint64_t offset,
		  uint64_t data, int32_t fd)
{
	struct vfio_device_ioeventfd e = {
		.argsz = argsz, .flags = flags, .offset = offset, .data = data, .fd = fd,
	};

	return ioc(fx, NULL, VFIO_DEVICE_IOEVENTFD, &e);
}

#define S8 VFIO_DEVICE_IOEVENTFD_8
#define S16 VFIO_DEVICE_IOEVENTFD_16
#define S32 VFIO_DEVICE_IOEVENTFD_32
#define S64 VFIO_DEVICE_IOEVENTFD_64

/* Wait up to 2 s for the device's SCRATCH register to read want. */
static bool wait_bar32(FvDevice *d, unsigned bar, uint64_t off, uint32_t want)
{
	for (unsigned i = 0; i < 400; i++) {
		uint64_t v = 0;

		sim_bar_read(d->sim, bar, off, 4, &v);
		if ((uint32_t)v == want)
			return true;
		sleep_ms(5);
	}
	return false;
}

static void test_ioeventfd_rows(void **state)
{
	Fx *fx = fx_dmatest(false);
	int e = efd(), p[2];
	unsigned before;
	uint8_t *g;

	(void)state;
	assert_int_equal(pipe(p), 0);
	before = count_fds();
	/* in the kernel's order */
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_IOEVENTFD, (void *)8), -EFAULT);
	g = guard_page();
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_IOEVENTFD, g + 4096 - 27), -EFAULT);
	{
		/* 28 bytes are enough (the reserved word is not read) */
		struct vfio_device_ioeventfd r = {
			.argsz = 28, .flags = S32, .offset = DMATEST_REG_SCRATCH,
			.data = 7, .fd = -1,
		};

		memcpy(g + 4096 - 28, &r, 28);
		assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_IOEVENTFD, g + 4096 - 28), -ENODEV);
	}
	guard_free(g);
	assert_int_equal(ioefd(fx, 27, S32, DMATEST_REG_SCRATCH, 1, e), -EINVAL);
	assert_int_equal(ioefd(fx, 32, 0x10 | S32, DMATEST_REG_SCRATCH, 1, e), -EINVAL);
	assert_int_equal(ioefd(fx, 32, 0, DMATEST_REG_SCRATCH, 1, e), -EINVAL);
	assert_int_equal(ioefd(fx, 32, S8 | S16, DMATEST_REG_SCRATCH, 1, e), -EINVAL);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 1, -2), -EINVAL);
	/* BARs only */
	assert_int_equal(ioefd(fx, 32, S32, OFF(6), 1, e), -EINVAL);
	assert_int_equal(ioefd(fx, 32, S32, OFF(CFG), 1, e), -EINVAL);
	/* within the BAR (unassigned ones have length 0) */
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_BAR_REGS_SIZE - 2, 1, e), -EINVAL);
	assert_int_equal(ioefd(fx, 32, S64, OFF(1) + DMATEST_BAR_IO_SIZE - 4, 1, e), -EINVAL);
	assert_int_equal(ioefd(fx, 32, S8, OFF(3), 1, e), -EINVAL);
	/* not over the MSI-X table (8 vectors: 0x80 bytes at 0 in BAR2) */
	assert_int_equal(ioefd(fx, 32, S64, OFF(2) + 0x7c, 1, e), -EINVAL);
	assert_int_equal(ioefd(fx, 32, S8, OFF(2) + 0x00, 1, e), -EINVAL);
	assert_int_equal(ioefd(fx, 32, S8, OFF(2) + 0x7f, 1, e), -EINVAL);
	assert_int_equal(count_fds(), before);
	/* remove what does not exist */
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 1, -1), -ENODEV);
	/* fd errors */
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 1, NOFD), -EBADF);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 1, p[0]), -EINVAL);
	assert_int_equal(count_fds(), before);
	/* add, duplicate, a different data value, remove */
	assert_int_equal(ioefd(fx, 32, S8, OFF(2) + 0x80, 1, e), 0);
	assert_int_equal(ioefd(fx, 28, S32, DMATEST_REG_SCRATCH, 1, e), 0);
	assert_int_equal(count_fds(), before + 2);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 1, e), -EEXIST);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 1, NOFD), -EEXIST);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 2, e), 0);
	assert_int_equal(ioefd(fx, 32, S16, DMATEST_REG_SCRATCH, 1, e), 0);
	assert_int_equal(count_fds(), before + 4);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 1, -1), 0);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 1, -1), -ENODEV);
	assert_int_equal(count_fds(), before + 3);
	/* close removes the rest */
	fv_vdev_close(fx->vd);
	fx->vd = NULL;
	assert_int_equal(count_fds(), before);
	fx->vd = vopen(fx, "0000:03:00.0", false);
	/* 1000 entries, then ENOSPC */
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, i, e), 0);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 1000, e), -ENOSPC);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 999, -1), 0);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 1000, e), 0);
	assert_int_equal(count_fds(), before + 1000);
	fv_vdev_close(fx->vd);
	fx->vd = NULL;
	assert_int_equal(count_fds(), before);
	close(p[0]);
	close(p[1]);
	close(e);
	fx_free(fx);
}

static void test_ioeventfd_write(void **state)
{
	Fx *fx = fx_dmatest(false);
	int e1 = efd(), e2 = efd(), e3 = efd(), e4;
	char *text;

	(void)state;
	/* SCRATCH (32-bit), SRC (64-bit), the I/O mirror of SCRATCH (16-bit) */
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 0x12345678, e1), 0);
	assert_int_equal(ioefd(fx, 32, S64, DMATEST_REG_SRC, 0x1122334455667788ull, e2), 0);
	assert_int_equal(ioefd(fx, 32, S16, OFF(1) + DMATEST_IO_SCRATCH + 2, 0xbeef, e3), 0);
	assert_int_equal(dev_bar32(fx->dev, 0, DMATEST_REG_SCRATCH), 0);
	efd_put(e1);
	assert_true(wait_bar32(fx->dev, 0, DMATEST_REG_SCRATCH, 0x12345678));
	assert_int_equal(efd_take(e1), 0);	/* consumed */
	efd_put(e2);
	assert_true(wait_bar32(fx->dev, 0, DMATEST_REG_SRC + 4, 0x11223344));
	assert_int_equal(dev_bar32(fx->dev, 0, DMATEST_REG_SRC), 0x55667788);
	efd_put(e3);
	assert_true(wait_bar32(fx->dev, 0, DMATEST_REG_SCRATCH, 0xbeef5678));
	/* memory space off: the memory BAR write is dropped, I/O still works */
	wr(fx->vd, 0, DMATEST_REG_SCRATCH, 4, 0);
	wr(fx->vd, CFG, PCI_COMMAND, 2, PCI_COMMAND_IO);
	efd_put(e1);
	for (unsigned i = 0; i < 400; i++) {
		text = dump(fx->vd);
		if (strstr(text, "dropped 1"))
			break;
		free(text);
		text = NULL;
		sleep_ms(5);
	}
	assert_non_null(text);
	assert_non_null(strstr(text, "ioeventfds: 3"));
	assert_non_null(strstr(text, "ioeventfd BAR0+0x8 size 4 data 0x12345678: writes 1, dropped 1"));
	assert_non_null(strstr(text, "ioeventfd BAR1+0x6 size 2 data 0xbeef: writes 1, dropped 0"));
	free(text);
	/* a signal pending at registration is seen */
	wr(fx->vd, CFG, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(dev_bar32(fx->dev, 0, DMATEST_REG_SCRATCH), 0);
	e4 = efd();
	efd_put(e4);
	efd_put(e4);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_PATTERN, 0x5a5a, e4), 0);
	assert_true(wait_bar32(fx->dev, 0, DMATEST_REG_PATTERN, 0x5a5a));
	/* two ioeventfds on one eventfd: one signal, both writes */
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_LEN, 0x42, e4), 0);
	efd_put(e4);
	assert_true(wait_bar32(fx->dev, 0, DMATEST_REG_LEN, 0x42));
	assert_true(wait_bar32(fx->dev, 0, DMATEST_REG_PATTERN, 0x5a5a));
	wr(fx->vd, 0, DMATEST_REG_PATTERN, 4, 0);
	wr(fx->vd, 0, DMATEST_REG_LEN, 4, 0);
	{
		int dup4 = dup(e4);	/* another fd of the same eventfd */

		efd_put(dup4);
		assert_true(wait_bar32(fx->dev, 0, DMATEST_REG_LEN, 0x42));
		assert_true(wait_bar32(fx->dev, 0, DMATEST_REG_PATTERN, 0x5a5a));
		close(dup4);
	}
	close(e4);
	close(e1);
	close(e2);
	close(e3);
	fx_free(fx);
}

/* ---- DEVICE_FEATURE ---------------------------------------------------------------------------- */

static long feature(Fx *fx, FvVdev *vd, uint32_t argsz, uint32_t flags, int32_t wake)
{
	struct vfio_device_feature f = { .argsz = argsz, .flags = flags };
	struct vfio_device_low_power_entry_with_wakeup w = { .wakeup_eventfd = wake };
	uint64_t a[2];

	memcpy(&a[0], &f, sizeof(f));
	memcpy(&a[1], &w, sizeof(w));
	return ioc(fx, vd, VFIO_DEVICE_FEATURE, a);
}

#define GET VFIO_DEVICE_FEATURE_GET
#define SET VFIO_DEVICE_FEATURE_SET
#define PROBE VFIO_DEVICE_FEATURE_PROBE
#define LP_ENTRY VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY
#define LP_WAKE VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP
#define LP_EXIT VFIO_DEVICE_FEATURE_LOW_POWER_EXIT

static void test_feature_rows(void **state)
{
	Fx *fx = fx_dmatest(false);
	static const uint32_t enotty[] = {
		VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, VFIO_DEVICE_FEATURE_MIGRATION,
		VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
		VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
		9, 0xffff,
	};
	uint8_t *g = guard_page();

	(void)state;
	/* header */
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_FEATURE, (void *)8), -EFAULT);
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_FEATURE, g + 4096 - 4), -EFAULT);
	assert_int_equal(feature(fx, NULL, 7, SET | LP_ENTRY, 0), -EINVAL);
	assert_int_equal(feature(fx, NULL, 8, (1u << 19) | SET | LP_ENTRY, 0), -EINVAL);
	assert_int_equal(feature(fx, NULL, 8, GET | SET | LP_ENTRY, 0), -EINVAL);
	/* unsupported features, whatever the flags */
	for (unsigned i = 0; i < sizeof(enotty) / sizeof(enotty[0]); i++) {
		assert_int_equal(feature(fx, NULL, 8, GET | enotty[i], 0), -ENOTTY);
		assert_int_equal(feature(fx, NULL, 64, SET | enotty[i], 0), -ENOTTY);
		assert_int_equal(feature(fx, NULL, 8, GET | SET | PROBE | enotty[i], 0), -ENOTTY);
	}
	/* vfio_check_feature: SET only; PROBE succeeds; GET or SET needed */
	for (uint32_t f = LP_ENTRY; f <= LP_EXIT; f++) {
		assert_int_equal(feature(fx, NULL, 16, GET | f, 0), -EINVAL);
		assert_int_equal(feature(fx, NULL, 16, GET | SET | PROBE | f, 0), -EINVAL);
		assert_int_equal(feature(fx, NULL, 8, PROBE | SET | f, 0), 0);
		assert_int_equal(feature(fx, NULL, 8, PROBE | f, 0), 0);
		assert_int_equal(feature(fx, NULL, 16, f, 0), -EINVAL);
	}
	assert_int_equal(pm_state(fx->dev), 0);
	/* WITH_WAKEUP: 8 bytes of data, a valid eventfd */
	assert_int_equal(feature(fx, NULL, 15, SET | LP_WAKE, 0), -EINVAL);
	{
		struct vfio_device_feature *f = (void *)(g + 4096 - 12);

		f->argsz = 16;
		f->flags = SET | LP_WAKE;
		assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_FEATURE, f), -EFAULT);
	}
	assert_int_equal(feature(fx, NULL, 16, SET | LP_WAKE, -1), -EINVAL);
	assert_int_equal(feature(fx, NULL, 16, SET | LP_WAKE, NOFD), -EBADF);
	{
		int p[2];

		assert_int_equal(pipe(p), 0);
		assert_int_equal(feature(fx, NULL, 16, SET | LP_WAKE, p[0]), -EINVAL);
		close(p[0]);
		close(p[1]);
	}
	/* EXIT when not engaged */
	assert_int_equal(feature(fx, NULL, 8, SET | LP_EXIT, 0), 0);
	assert_int_equal(pm_state(fx->dev), 0);
	/* unknown ioctls */
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_QUERY_GFX_PLANE, NULL), -ENOTTY);
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_GFX_DMABUF, NULL), -ENOTTY);
	assert_int_equal(ioc(fx, NULL, VFIO_GET_API_VERSION, NULL), -ENOTTY);
	guard_free(g);
	fx_free(fx);
}

static void test_low_power(void **state)
{
	Fx *fx = fx_one("dma-test@0000:03:00.0,nosoftrst=on", "0000:03:00.0", false);
	int e = efd();
	unsigned before = count_fds();
	char *text;

	(void)state;
	wr(fx->vd, 0, DMATEST_REG_SCRATCH, 4, 0x77);
	/* entry: D3hot once the ioctl is over */
	assert_int_equal(feature(fx, NULL, 8, SET | LP_ENTRY, 0), 0);
	assert_int_equal(pm_state(fx->dev), 3);
	assert_false(sim_bar_decodes(fx->dev->sim, 0));
	text = dump(fx->vd);
	assert_non_null(strstr(text, "power: D3hot, low power engaged, suspended"));
	free(text);
	/* an access wakes it for the access only */
	assert_int_equal(rd(fx->vd, 0, DMATEST_REG_SCRATCH, 4), 0x77);
	assert_int_equal(pm_state(fx->dev), 3);
	/* engaged already (the ioctl resumes it, without a wakeup fd it stays engaged) */
	assert_int_equal(feature(fx, NULL, 8, SET | LP_ENTRY, 0), -EINVAL);
	assert_int_equal(feature(fx, NULL, 16, SET | LP_WAKE, e), -EINVAL);
	assert_int_equal(count_fds(), before);
	assert_int_equal(pm_state(fx->dev), 3);
	/* exit: D0 for good */
	assert_int_equal(feature(fx, NULL, 8, SET | LP_EXIT, 0), 0);
	assert_int_equal(pm_state(fx->dev), 0);
	assert_int_equal(rd(fx->vd, 0, DMATEST_REG_SCRATCH, 4), 0x77);
	assert_int_equal(pm_state(fx->dev), 0);
	/* with a wakeup eventfd: the first access signals it and ends low power */
	assert_int_equal(feature(fx, NULL, 16, SET | LP_WAKE, e), 0);
	assert_int_equal(count_fds(), before + 1);
	assert_int_equal(pm_state(fx->dev), 3);
	assert_int_equal(efd_take(e), 0);
	assert_int_equal(rd(fx->vd, CFG, PCI_VENDOR_ID, 2), DMATEST_VENDOR_ID);
	assert_int_equal(efd_take(e), 1);
	assert_int_equal(pm_state(fx->dev), 0);
	assert_int_equal(count_fds(), before);
	text = dump(fx->vd);
	assert_non_null(strstr(text, "power: D0, low power off"));
	free(text);
	/* through an ioctl this time; EXIT afterwards is a no-op */
	assert_int_equal(feature(fx, NULL, 16, SET | LP_WAKE, e), 0);
	assert_int_equal(feature(fx, NULL, 8, SET | LP_EXIT, 0), 0);
	assert_int_equal(efd_take(e), 1);
	assert_int_equal(pm_state(fx->dev), 0);
	/* closing in low power: D0, the wakeup fd released, not signalled */
	assert_int_equal(feature(fx, NULL, 16, SET | LP_WAKE, e), 0);
	assert_int_equal(pm_state(fx->dev), 3);
	fv_vdev_close(fx->vd);
	fx->vd = NULL;
	assert_int_equal(pm_state(fx->dev), 0);
	assert_int_equal(efd_take(e), 0);
	assert_int_equal(count_fds(), before);
	close(e);
	fx_free(fx);
}

/* A function that loses its state in D3hot (No_Soft_Reset clear), and one without PM. */
static void test_low_power_soft_reset(void **state)
{
	Fx *fx = fx_dmatest(false);
	char *text;

	(void)state;
	wr(fx->vd, 0, DMATEST_REG_SCRATCH, 4, 0x77);
	bus_master(fx->vd, true);
	assert_int_equal(feature(fx, NULL, 8, SET | LP_ENTRY, 0), 0);
	assert_int_equal(pm_state(fx->dev), 3);
	assert_int_equal(feature(fx, NULL, 8, SET | LP_EXIT, 0), 0);
	/* the registers are lost, the config restored */
	assert_int_equal(rd(fx->vd, 0, DMATEST_REG_SCRATCH, 4), 0);
	assert_int_equal(sim_cfg_get(fx->dev->sim, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	fx_free(fx);
	/* The T5 VF has no PM capability: it stays in D0. */
	fx = fx_t5vf(false);
	assert_int_equal(feature(fx, NULL, 8, SET | LP_ENTRY, 0), 0);
	text = dump(fx->vd);
	assert_non_null(strstr(text, "power: D0, low power engaged, suspended"));
	free(text);
	assert_int_equal(feature(fx, NULL, 8, SET | LP_EXIT, 0), 0);
	text = dump(fx->vd);
	assert_non_null(strstr(text, "power: D0, low power off, suspends 1, resumes 1"));
	free(text);
	fx_free(fx);
}

/* ---- DMA and interrupts through the device's outputs -------------------------------------------- */

static void test_dma(void **state)
{
	Fx *fx = fx_dmatest(false);
	Host *h = &fx->h;
	uint32_t st;

	(void)state;
	for (unsigned i = 0; i < 0x100; i++)
		h->win[0x0f80 + i] = (uint8_t)i;
	/* Bus Master off: refused by the device, the host never asked */
	wr64(fx->vd, 0, DMATEST_REG_SRC, h->win_iova + 0x0f80);
	wr64(fx->vd, 0, DMATEST_REG_DST, h->win_iova + 0x2000);
	wr(fx->vd, 0, DMATEST_REG_LEN, 4, 0x100);
	st = dmatest_run(fx->vd, DMATEST_OP_COPY);
	assert_int_equal((st & DMATEST_STATUS_CAUSE_MASK) >> DMATEST_STATUS_CAUSE_SHIFT,
			 DMATEST_CAUSE_BUS_MASTER);
	assert_int_equal(h->ndma, 0);
	/* a copy across a page boundary of the source */
	bus_master(fx->vd, true);
	st = dmatest_run(fx->vd, DMATEST_OP_COPY);
	assert_int_equal(st, DMATEST_STATUS_DONE);
	assert_int_equal(h->ndma, 3);
	assert_true(h->dma_dev == fx->dev);
	assert_int_equal(h->dma[0].iova, h->win_iova + 0x0f80);
	assert_int_equal(h->dma[0].len, 0x80);
	assert_false(h->dma[0].write);
	assert_int_equal(h->dma[1].iova, h->win_iova + 0x1000);
	assert_int_equal(h->dma[1].len, 0x80);
	assert_false(h->dma[1].write);
	assert_int_equal(h->dma[2].iova, h->win_iova + 0x2000);
	assert_int_equal(h->dma[2].len, 0x100);
	assert_true(h->dma[2].write);
	assert_memory_equal(h->win + 0x2000, h->win + 0x0f80, 0x100);
	assert_int_equal(h->faults, 0);
	/* a write outside the window: an IOMMU fault */
	wr64(fx->vd, 0, DMATEST_REG_DST, 0xdead0000);
	st = dmatest_run(fx->vd, DMATEST_OP_COPY);
	assert_int_equal(st & ~DMATEST_STATUS_DONE, DMATEST_STATUS_ERROR |
			 DMATEST_CAUSE_WRITE_FAULT << DMATEST_STATUS_CAUSE_SHIFT);
	assert_int_equal(h->faults, 1);
	assert_true(h->fault_dev == fx->dev);
	assert_int_equal(h->fault_iova, 0xdead0000);
	assert_int_equal(h->fault_len, 0x100);
	assert_true(h->fault_write);
	assert_int_equal(h->fault_err, -EFAULT);
	assert_int_equal(rd64(fx->vd, 0, DMATEST_REG_FAULT_IOVA), 0xdead0000);
	/* a read fault */
	wr64(fx->vd, 0, DMATEST_REG_SRC, 0xbeef0000);
	wr64(fx->vd, 0, DMATEST_REG_DST, h->win_iova);
	st = dmatest_run(fx->vd, DMATEST_OP_COPY);
	assert_int_equal(st & ~DMATEST_STATUS_DONE, DMATEST_STATUS_ERROR |
			 DMATEST_CAUSE_READ_FAULT << DMATEST_STATUS_CAUSE_SHIFT);
	assert_int_equal(h->faults, 2);
	assert_false(h->fault_write);
	assert_int_equal(h->fault_iova, 0xbeef0000);
	/* a host without dma callbacks: every DMA fails, nobody is told */
	fv_vdev_close(fx->vd);
	fx->host.dma = NULL;
	fx->host.dma_fault = NULL;
	fx->vd = vopen(fx, "0000:03:00.0", false);
	bus_master(fx->vd, true);
	wr64(fx->vd, 0, DMATEST_REG_SRC, h->win_iova);
	wr(fx->vd, 0, DMATEST_REG_LEN, 4, 0x10);
	st = dmatest_run(fx->vd, DMATEST_OP_COPY);
	assert_int_equal(st & ~DMATEST_STATUS_DONE, DMATEST_STATUS_ERROR |
			 DMATEST_CAUSE_READ_FAULT << DMATEST_STATUS_CAUSE_SHIFT);
	assert_int_equal(h->faults, 2);
	assert_int_equal(sim_dma_fault_count(fx->dev->sim), 3);
	fx_free(fx);
}

static void test_msix_interrupt(void **state)
{
	Fx *fx = fx_dmatest(false);
	int32_t fds[2] = { efd(), efd() };
	unsigned before = count_fds();
	uint8_t buf[sizeof(struct vfio_irq_info)];
	struct vfio_irq_info *ii = (void *)buf;
	char *text;

	(void)state;
	/* GET_IRQ_INFO goes to the interrupt layer */
	ii->argsz = sizeof(*ii);
	ii->index = VFIO_PCI_MSIX_IRQ_INDEX;
	assert_int_equal(ioc(fx, NULL, VFIO_DEVICE_GET_IRQ_INFO, ii), 0);
	assert_int_equal(ii->count, 8);
	assert_int_equal(ii->flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE);
	assert_int_equal(set_fds(fx, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds), 0);
	assert_int_equal(count_fds(), before + 2);
	assert_true(sim_msix_enabled(fx->dev->sim));
	/* the completion interrupt of a NOP command, vector 1 */
	assert_int_equal(dmatest_run(fx->vd, DMATEST_OP_NOP | DMATEST_CMD_IRQ |
				     1u << DMATEST_CMD_VECTOR_SHIFT), DMATEST_STATUS_DONE);
	assert_int_equal(efd_take(fds[1]), 1);
	assert_int_equal(efd_take(fds[0]), 0);
	assert_int_equal(fx->h.signalled, 1);
	assert_true(fx->h.sig_dev == fx->dev);
	assert_int_equal(fx->h.sig_index, VFIO_PCI_MSIX_IRQ_INDEX);
	assert_int_equal(fx->h.sig_vector, 1);
	/* a vector with no eventfd: stray, not signalled */
	assert_int_equal(dmatest_run(fx->vd, DMATEST_OP_NOP | DMATEST_CMD_IRQ |
				     5u << DMATEST_CMD_VECTOR_SHIFT), DMATEST_STATUS_DONE);
	assert_int_equal(fx->h.signalled, 1);
	text = dump(fx->vd);
	assert_non_null(strstr(text, "irq_type MSI-X, 2 vector(s)"));
	assert_non_null(strstr(text, "MSI-X 1: trigger, delivered 1"));
	free(text);
	/* close: vectors freed, MSI-X off, eventfds released */
	fv_vdev_close(fx->vd);
	fx->vd = NULL;
	assert_false(sim_msix_enabled(fx->dev->sim));
	assert_int_equal(count_fds(), before);
	close(fds[0]);
	close(fds[1]);
	fx_free(fx);
}

/* MSI through the wiring irqs -> vconfig (irq_type, msi_qmax). */
static void test_msi_wiring(void **state)
{
	Fx *fx = fx_dmatest(false);
	int32_t fds[2] = { efd(), efd() };
	unsigned flags = DMATEST_CAP_MSI + PCI_MSI_FLAGS;

	(void)state;
	/* MSI Enable does not stick while the IRQ type is not MSI */
	wr(fx->vd, CFG, flags, 2, PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(rd(fx->vd, CFG, flags, 2) & PCI_MSI_FLAGS_ENABLE, 0);
	assert_int_equal(set_fds(fx, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, fds), 0);
	assert_true(sim_msi_enabled(fx->dev->sim));
	/* now it does, and QSIZE is clamped to the 2 vectors enabled */
	wr(fx->vd, CFG, flags, 2, PCI_MSI_FLAGS_ENABLE | 2 << 4);
	assert_int_equal(rd(fx->vd, CFG, flags, 2) & (PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE),
			 PCI_MSI_FLAGS_ENABLE | 1 << 4);
	assert_int_equal(dmatest_run(fx->vd, DMATEST_OP_NOP | DMATEST_CMD_IRQ |
				     1u << DMATEST_CMD_VECTOR_SHIFT), DMATEST_STATUS_DONE);
	assert_int_equal(efd_take(fds[1]), 1);
	assert_int_equal(fx->h.sig_index, VFIO_PCI_MSI_IRQ_INDEX);
	assert_int_equal(fx->h.sig_vector, 1);
	/* disabled: the type goes back to none, Enable no longer sticks */
	assert_int_equal(set_none(fx, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0), 0);
	wr(fx->vd, CFG, flags, 2, PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(rd(fx->vd, CFG, flags, 2) & PCI_MSI_FLAGS_ENABLE, 0);
	close(fds[0]);
	close(fds[1]);
	fx_free(fx);
}

/* INTx, and the virtual Interrupt Disable wired to the interrupt layer. */
static void test_intx_wiring(void **state)
{
	Fx *fx = fx_dmatest(false);
	int32_t e = efd();
	uint16_t cmd;

	(void)state;
	assert_int_equal(set_fds(fx, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &e), 0);
	assert_int_equal(dmatest_run(fx->vd, DMATEST_OP_NOP | DMATEST_CMD_IRQ), DMATEST_STATUS_DONE);
	assert_int_equal(efd_take(e), 1);
	assert_int_equal(fx->h.signalled, 1);
	assert_int_equal(fx->h.sig_index, VFIO_PCI_INTX_IRQ_INDEX);
	/* automasked; the guest sets Interrupt Disable, then unmasks: no fire */
	cmd = (uint16_t)rd(fx->vd, CFG, PCI_COMMAND, 2);
	wr(fx->vd, CFG, PCI_COMMAND, 2, cmd | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(set_none(fx, VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 1), 0);
	assert_int_equal(efd_take(e), 0);
	/* clearing it: the line is still high, INTx fires at once */
	wr(fx->vd, CFG, PCI_COMMAND, 2, cmd);
	assert_int_equal(efd_take(e), 1);
	assert_int_equal(fx->h.signalled, 2);
	/* unmask with the line high fires again (reported by the ioctl path) */
	assert_int_equal(set_none(fx, VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 1), 0);
	assert_int_equal(efd_take(e), 1);
	assert_int_equal(fx->h.signalled, 3);
	close(e);
	fx_free(fx);
}

static void test_err_req(void **state)
{
	Fx *fx = fx_dmatest(false);
	int32_t e[2] = { efd(), efd() };
	unsigned before = count_fds();

	(void)state;
	assert_int_equal(set_fds(fx, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, &e[0]), 0);
	assert_int_equal(set_fds(fx, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &e[1]), 0);
	assert_int_equal(sim_aer_inject(fx->dev->sim, true, PCI_ERR_UNC_COMP_ABORT, NULL), 0);
	assert_int_equal(efd_take(e[0]), 1);
	assert_int_equal(fx->h.sig_index, VFIO_PCI_ERR_IRQ_INDEX);
	sim_req_raise(fx->dev->sim);
	assert_int_equal(efd_take(e[1]), 1);
	assert_int_equal(fx->h.sig_index, VFIO_PCI_REQ_IRQ_INDEX);
	assert_int_equal(fx->h.signalled, 2);
	fv_vdev_close(fx->vd);
	fx->vd = NULL;
	assert_int_equal(count_fds(), before);
	close(e[0]);
	close(e[1]);
	fx_free(fx);
}

/* ---- close ------------------------------------------------------------------------------------ */

static unsigned other_msi;

static void other_msi_fn(void *o, SimDevice *d, uint64_t addr, uint32_t data)
{
	(void)o; (void)d; (void)addr; (void)data;
	other_msi++;
}

static const SimHostOps other_ops = { .msi = other_msi_fn };

static void test_close_restores(void **state)
{
	const char *specs[] = { "dma-test@0000:03:00.0", NULL };
	Fx *fx = fx_new(specs);
	FvDevice *d = fx->m->devs[0];
	const SimHostOps *ops;
	void *opaque;
	int32_t fds[3] = { efd(), efd(), efd() };
	int e = efd(), w = efd();
	unsigned before, flr;
	int dummy;

	(void)state;
	sim_device_set_host(d->sim, &other_ops, &dummy);
	before = count_fds();
	fx->vd = vopen(fx, "0000:03:00.0", false);
	sim_device_get_host(d->sim, &ops, &opaque);
	assert_true(ops != &other_ops);
	assert_true(opaque == fx->vd);
	/* use everything that holds an fd */
	assert_int_equal(set_fds(fx, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds), 0);
	assert_int_equal(set_fds(fx, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, &fds[2]), 0);
	assert_int_equal(ioefd(fx, 32, S32, DMATEST_REG_SCRATCH, 1, e), 0);
	wr(fx->vd, 0, DMATEST_REG_SCRATCH, 4, 0x99);
	bus_master(fx->vd, true);
	wr(fx->vd, CFG, PCI_INTERRUPT_LINE, 1, 0x3c);	/* virtual only */
	assert_int_equal(feature(fx, NULL, 16, SET | LP_WAKE, w), 0);
	assert_int_equal(count_fds(), before + 5);
	flr = sim_device_reset_count(d->sim, SIM_RESET_FLR);
	fv_vdev_close(fx->vd);
	fx->vd = NULL;
	assert_int_equal(count_fds(), before);
	sim_device_get_host(d->sim, &ops, &opaque);
	assert_true(ops == &other_ops);
	assert_true(opaque == &dummy);
	/* disabled, reset, restored: no Bus Master, no MSI-X, D0 */
	assert_int_equal(sim_device_reset_count(d->sim, SIM_RESET_FLR), flr + 1);
	assert_int_equal(sim_cfg_get(d->sim, PCI_COMMAND, 2) & PCI_COMMAND_MASTER, 0);
	assert_false(sim_msix_enabled(d->sim));
	assert_int_equal(pm_state(d), 0);
	assert_int_equal(dev_bar32(d, 0, DMATEST_REG_SCRATCH), 0);
	/* the device's messages reach the old host again */
	sim_cfg_write(d->sim, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	sim_cfg_write(d->sim, DMATEST_CAP_MSIX + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(sim_bar_write(d->sim, DMATEST_BAR_MSIX, PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0), 0);
	assert_int_equal(sim_irq_raise(d->sim, 0), SIM_IRQ_DELIVERED);
	assert_int_equal(other_msi, 1);
	for (unsigned i = 0; i < 3; i++)
		close(fds[i]);
	close(e);
	close(w);
	fx_free(fx);
}

/* vfio_pci_dev_set_try_reset: the bus reset at the last close of a dirty dev_set. */
static void test_close_bus_reset(void **state)
{
	const char *specs[] = {
		"dma-test@0000:06:00.0,flr=off,nosoftrst=on",
		"dma-test@0000:06:00.1,flr=off,nosoftrst=on",
		"dma-test@0000:00:07.0,flr=off,nosoftrst=on",
		NULL,
	};
	Fx *fx = fx_new(specs);
	FvDevice *a = fx->m->devs[0], *b = fx->m->devs[1], *r = fx->m->devs[2];
	FvVdev *va, *vb;

	(void)state;
	va = vopen(fx, a->bdf, false);
	vb = vopen(fx, b->bdf, false);
	wr(vb, 0, DMATEST_REG_SCRATCH, 4, 5);
	fv_vdev_close(va);		/* the sibling is open: no reset */
	assert_int_equal(sim_device_reset_count(a->sim, SIM_RESET_HOT), 0);
	assert_int_equal(rd(vb, 0, DMATEST_REG_SCRATCH, 4), 5);
	fv_vdev_close(vb);		/* the last one: the whole bus */
	assert_int_equal(sim_device_reset_count(a->sim, SIM_RESET_HOT), 1);
	assert_int_equal(sim_device_reset_count(b->sim, SIM_RESET_HOT), 1);
	assert_int_equal(dev_bar32(b, 0, DMATEST_REG_SCRATCH), 0);
	/* one device open and dirty, its sibling closed: the whole bus */
	va = vopen(fx, a->bdf, false);
	fv_vdev_close(va);
	assert_int_equal(sim_device_reset_count(a->sim, SIM_RESET_HOT), 2);
	assert_int_equal(sim_device_reset_count(b->sim, SIM_RESET_HOT), 2);
	/* a device of the bus bound to a host driver: no reset */
	b->vfio_bound = false;
	va = vopen(fx, a->bdf, false);
	fv_vdev_close(va);
	assert_int_equal(sim_device_reset_count(a->sim, SIM_RESET_HOT), 2);
	b->vfio_bound = true;
	/* the root bus: never */
	va = vopen(fx, r->bdf, false);
	fv_vdev_close(va);
	assert_int_equal(sim_device_reset_count(r->sim, SIM_RESET_HOT), 0);
	fx_free(fx);
}

/* ---- dump --------------------------------------------------------------------------------------- */

static void test_dump(void **state)
{
	Fx *fx = fx_t5vf(true);
	char *text;

	(void)state;
	text = dump(fx->vd);
	assert_non_null(strstr(text, "vdev 0000:04:00.1: chelsio-t5-vf 1425:5803"));
	assert_non_null(strstr(text, "(VF)"));
	assert_non_null(strstr(text, "state: open, group 100, reset_works yes (method flr), "
			       "hot reset bus"));
	assert_non_null(strstr(text, "power: D0, low power off"));
	assert_non_null(strstr(text, "config: 4096 bytes"));
	assert_non_null(strstr(text, "MSI-X table BAR4+0x0 size 0x80"));
	assert_non_null(strstr(text, "mmap advertised: yes"));
	assert_non_null(strstr(text, "ioeventfds: 0"));
	assert_non_null(strstr(text, "irq_type none"));
	assert_non_null(strstr(text, "intx: no pin"));
	free(text);
	fx_free(fx);
	fx = fx_one("dma-test@0000:00:02.0,flr=off,nosoftrst=on", "0000:00:02.0", false);
	text = dump(fx->vd);
	assert_non_null(strstr(text, "reset_works no (method none), hot reset none"));
	assert_non_null(strstr(text, "mmap advertised: no"));
	free(text);
	fx_free(fx);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_open_errors),
	cmocka_unit_test(test_open_state),
	cmocka_unit_test(test_get_info),
	cmocka_unit_test(test_region_info_dmatest),
	cmocka_unit_test(test_region_info_t5vf),
	cmocka_unit_test(test_region_info_faults),
	cmocka_unit_test(test_rw_routing),
	cmocka_unit_test(test_reset),
	cmocka_unit_test(test_config_flr),
	cmocka_unit_test(test_hot_reset_info),
	cmocka_unit_test(test_hot_reset),
	cmocka_unit_test(test_hot_reset_low_power),
	cmocka_unit_test(test_ioeventfd_rows),
	cmocka_unit_test(test_ioeventfd_write),
	cmocka_unit_test(test_feature_rows),
	cmocka_unit_test(test_low_power),
	cmocka_unit_test(test_low_power_soft_reset),
	cmocka_unit_test(test_dma),
	cmocka_unit_test(test_msix_interrupt),
	cmocka_unit_test(test_msi_wiring),
	cmocka_unit_test(test_intx_wiring),
	cmocka_unit_test(test_err_req),
	cmocka_unit_test(test_close_restores),
	cmocka_unit_test(test_close_bus_reset),
	cmocka_unit_test(test_dump),
};

int main(void)
{
	return cmocka_run_group_tests(tests, NULL, NULL);
}

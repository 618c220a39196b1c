/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/irqs.c and fakevfio/evloop.c: GET_IRQ_INFO, SET_IRQS (every
 * generic check, every row of vfio-abi.md 2.4), delivery of device
 * interrupts to real eventfds, INTx automasking and the unmask eventfd,
 * ERR/REQ, release; and the event loop's teardown guarantees.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fakevfio/evloop.h"
#include "fakevfio/irqs.h"
#include "sim/sim.h"

#define NONE VFIO_IRQ_SET_DATA_NONE
#define BOOL_ VFIO_IRQ_SET_DATA_BOOL
#define EFD VFIO_IRQ_SET_DATA_EVENTFD
#define MASK VFIO_IRQ_SET_ACTION_MASK
#define UNMASK VFIO_IRQ_SET_ACTION_UNMASK
#define TRIG VFIO_IRQ_SET_ACTION_TRIGGER

#define INTX VFIO_PCI_INTX_IRQ_INDEX
#define MSI VFIO_PCI_MSI_IRQ_INDEX
#define MSIX VFIO_PCI_MSIX_IRQ_INDEX
#define ERR VFIO_PCI_ERR_IRQ_INDEX
#define REQ VFIO_PCI_REQ_IRQ_INDEX

#define DMATEST_MSI_CAP 0x50
#define DMATEST_PM_CAP 0x40
#define NOFD 900		/* an fd number the test process does not use */

/* ---- fixture ------------------------------------------------------------ */

typedef struct Fx {
	FvEvloop *loop;
	SimDevice *dev;
	FvIrqs *q;
	FvUser u;
	unsigned qmax;
	unsigned qmax_calls;
	FvIrqType last_type;
	unsigned type_calls;
} Fx;

static void host_msi(void *o, SimDevice *d, uint64_t addr, uint32_t data)
{
	(void)d;
	fv_irqs_on_msi(((Fx *)o)->q, addr, data);
}

static void host_intx(void *o, SimDevice *d, unsigned pin, bool level)
{
	(void)d; (void)pin;
	fv_irqs_on_intx(((Fx *)o)->q, level);
}

static void host_err(void *o, SimDevice *d)
{
	(void)d;
	fv_irqs_on_err(((Fx *)o)->q);
}

static void host_req(void *o, SimDevice *d)
{
	(void)d;
	fv_irqs_on_req(((Fx *)o)->q);
}

static const SimHostOps host_ops = {
	.msi = host_msi, .intx = host_intx, .err = host_err, .req = host_req,
};

static void cb_qmax(void *o, unsigned qmax)
{
	Fx *fx = o;

	fx->qmax = qmax;
	fx->qmax_calls++;
}

static void cb_type(void *o, FvIrqType t)
{
	Fx *fx = o;

	fx->last_type = t;
	fx->type_calls++;
}

static Fx *fx_new(SimDevice *dev, uint8_t pin, bool is_pcie, bool no_multi_msi)
{
	Fx *fx = calloc(1, sizeof(*fx));
	FvIrqsConfig cfg = {
		.pin = pin, .is_pcie = is_pcie, .no_multi_msi = no_multi_msi,
		.set_msi_qmax = cb_qmax, .set_irq_type = cb_type,
	};
	Error *err = NULL;

	assert_non_null(fx);
	assert_non_null(dev);
	fx->u.pid = getpid();
	fx->dev = dev;
	fx->qmax = 99;
	fx->last_type = FV_IRQ_TYPE_NONE;
	fx->loop = fv_evloop_new(&err);
	if (!fx->loop)
		fail_msg("%s", error_get_pretty(err));
	cfg.opaque = fx;
	fx->q = fv_irqs_new(dev, fx->loop, &cfg, &err);
	if (!fx->q)
		fail_msg("%s", error_get_pretty(err));
	sim_device_set_host(dev, &host_ops, fx);
	return fx;
}

static SimDevice *model(const char *name, const char *params)
{
	Error *err = NULL;
	SimDevice *dev = sim_model_create(name, "0000:01:00.0", params, &err);

	if (!dev)
		fail_msg("%s", error_get_pretty(err));
	return dev;
}

static Fx *fx_dmatest(void)
{
	return fx_new(model("dma-test", NULL), 1, true, false);
}

static Fx *fx_t5vf(void)
{
	return fx_new(model("chelsio-t5-vf", NULL), 0, true, false);
}

/* A plain conventional PCI function: no capabilities, optional pin. */
static Fx *fx_plain(uint8_t pin)
{
	SimDevice *dev = sim_device_new("plain", SIM_CFG_SIZE_PCI);
	Error *err = NULL;

	sim_cfg_set(dev, PCI_INTERRUPT_PIN, 1, pin);
	if (!sim_device_realize(dev, &err))
		fail_msg("%s", error_get_pretty(err));
	return fx_new(dev, pin, false, false);
}

static void fx_free(Fx *fx)
{
	fv_irqs_free(fx->q);
	fv_evloop_free(fx->loop);
	sim_device_free(fx->dev);
	free(fx);
}

/* ---- helpers ----------------------------------------------------------- */

static int efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* The counter of a non-blocking eventfd, read (so reset); 0 when empty. */
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

/* Wait up to 2 s for fd to become readable, then take its counter. */
static uint64_t efd_wait(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 2000) != 1)
		return 0;
	return efd_take(fd);
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
	return n - 1;	/* the DIR's own fd */
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* SET_IRQS with a header and datalen bytes of data; argsz covers both. */
static long set_raw(Fx *fx, uint32_t argsz, uint32_t flags, uint32_t index,
		    uint32_t start, uint32_t count, const void *data, size_t datalen)
{
	uint8_t buf[sizeof(struct vfio_irq_set) + 4 * 64];
	struct vfio_irq_set hdr = {
		.argsz = argsz, .flags = flags, .index = index, .start = start,
		.count = count,
	};

	assert_true(datalen <= sizeof(buf) - sizeof(hdr));
	memcpy(buf, &hdr, sizeof(hdr));
	if (datalen)
		memcpy(buf + sizeof(hdr), data, datalen);
	return fv_irqs_set(fx->q, &fx->u, (uint64_t)(uintptr_t)buf);
}

static long set_irqs(Fx *fx, uint32_t flags, uint32_t index, uint32_t start,
		     uint32_t count, const void *data, size_t datalen)
{
	return set_raw(fx, (uint32_t)(sizeof(struct vfio_irq_set) + datalen), flags,
		       index, start, count, data, datalen);
}

static long set_fds(Fx *fx, uint32_t index, uint32_t start, uint32_t count,
		    const int32_t *fds)
{
	return set_irqs(fx, EFD | TRIG, index, start, count, fds, 4 * count);
}

static long set_fd1(Fx *fx, uint32_t flags, uint32_t index, int32_t fd)
{
	return set_irqs(fx, EFD | flags, index, 0, 1, &fd, 4);
}

static long set_bool1(Fx *fx, uint32_t action, uint32_t index, uint8_t b)
{
	return set_irqs(fx, BOOL_ | action, index, 0, 1, &b, 1);
}

static long set_none(Fx *fx, uint32_t action, uint32_t index, uint32_t start,
		     uint32_t count)
{
	return set_irqs(fx, NONE | action, index, start, count, NULL, 0);
}

static long get_info(Fx *fx, struct vfio_irq_info *info)
{
	return fv_irqs_get_info(fx->q, &fx->u, (uint64_t)(uintptr_t)info);
}

static void check_info(Fx *fx, uint32_t index, uint32_t count, uint32_t flags)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .flags = 0xdead,
				      .index = index, .count = 0xbeef };

	assert_int_equal(get_info(fx, &info), 0);
	assert_int_equal(info.argsz, sizeof(info));
	assert_int_equal(info.index, index);
	assert_int_equal(info.count, count);
	assert_int_equal(info.flags, flags);
}

/* A pipe's read end: an fd that is not an eventfd.  *other gets the other. */
static int not_efd(int *other)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	*other = p[1];
	return p[0];
}

static uint32_t cfg_get(SimDevice *dev, unsigned off, unsigned len)
{
	uint32_t v = 0;

	assert_int_equal(sim_cfg_read(dev, off, len, &v), 0);
	return v;
}

static unsigned msix_cap(SimDevice *dev)
{
	return sim_cap_find(dev, PCI_CAP_ID_MSIX);
}

static uint32_t msix_ctrl_of(SimDevice *dev, unsigned v)
{
	uint32_t ctrl = 0xdead;

	assert_true(sim_msix_entry(dev, v, NULL, NULL, &ctrl));
	return ctrl;
}

/* ---- GET_IRQ_INFO ------------------------------------------------------- */

#define F_INTX (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED)
#define F_MSG (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE)

static void test_info_dmatest(void **state)
{
	Fx *fx = fx_dmatest();
	(void)state;

	check_info(fx, INTX, 1, F_INTX);
	check_info(fx, MSI, 4, F_MSG);
	check_info(fx, MSIX, 8, F_MSG);
	check_info(fx, ERR, 1, F_MSG);
	check_info(fx, REQ, 1, F_MSG);
	assert_int_equal(fv_irqs_count(fx->q, 7), 0);
	fx_free(fx);
}

static void test_info_t5vf(void **state)
{
	Fx *fx = fx_t5vf();
	(void)state;

	check_info(fx, INTX, 0, F_INTX);	/* flags even without a pin */
	check_info(fx, MSI, 32, F_MSG);
	check_info(fx, MSIX, 8, F_MSG);
	check_info(fx, ERR, 1, F_MSG);
	check_info(fx, REQ, 1, F_MSG);
	fx_free(fx);
}

static void test_info_plain(void **state)
{
	Fx *fx = fx_plain(1);
	struct vfio_irq_info info = { .argsz = 16, .index = ERR };
	(void)state;

	check_info(fx, INTX, 1, F_INTX);
	check_info(fx, MSI, 0, F_MSG);
	check_info(fx, MSIX, 0, F_MSG);
	assert_int_equal(get_info(fx, &info), -EINVAL);	/* ERR: not PCIe */
	check_info(fx, REQ, 1, F_MSG);
	fx_free(fx);
}

static void test_info_errors(void **state)
{
	Fx *fx = fx_dmatest();
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *m;
	struct vfio_irq_info info;
	uint8_t big[24];
	(void)state;

	/* EFAULT first, for an unreadable pointer */
	assert_int_equal(fv_irqs_get_info(fx->q, &fx->u, 8), -EFAULT);
	/* argsz < 16 */
	info = (struct vfio_irq_info){ .argsz = 15, .index = MSIX };
	assert_int_equal(get_info(fx, &info), -EINVAL);
	/* index >= 5 */
	info = (struct vfio_irq_info){ .argsz = 16, .index = 5 };
	assert_int_equal(get_info(fx, &info), -EINVAL);
	info = (struct vfio_irq_info){ .argsz = 16, .index = 0xffffffff };
	assert_int_equal(get_info(fx, &info), -EINVAL);
	/* a bigger argsz is fine; exactly 16 bytes are copied back */
	memset(big, 0xa5, sizeof(big));
	info = (struct vfio_irq_info){ .argsz = 24, .index = MSIX };
	memcpy(big, &info, sizeof(info));
	assert_int_equal(fv_irqs_get_info(fx->q, &fx->u, (uint64_t)(uintptr_t)big), 0);
	memcpy(&info, big, sizeof(info));
	assert_int_equal(info.argsz, 24);
	assert_int_equal(info.count, 8);
	for (unsigned i = 16; i < sizeof(big); i++)
		assert_int_equal(big[i], 0xa5);
	/* readable but not writable: the copy back faults */
	m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	info = (struct vfio_irq_info){ .argsz = 16, .index = MSI };
	memcpy(m, &info, sizeof(info));
	assert_int_equal(mprotect(m, (size_t)page, PROT_READ), 0);
	assert_int_equal(fv_irqs_get_info(fx->q, &fx->u, (uint64_t)(uintptr_t)m), -EFAULT);
	munmap(m, (size_t)page);
	/* an unmapped page */
	m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	munmap(m, (size_t)page);
	assert_int_equal(fv_irqs_get_info(fx->q, &fx->u, (uint64_t)(uintptr_t)m), -EFAULT);
	fx_free(fx);
}

/* ---- SET_IRQS: the generic checks, in order ----------------------------- */

static void test_set_check1_efault(void **state)
{
	Fx *fx = fx_dmatest();
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *m;
	struct vfio_irq_set hdr = { .argsz = 16 };	/* would be EINVAL */
	(void)state;

	assert_int_equal(fv_irqs_set(fx->q, &fx->u, 8), -EFAULT);
	/* a header that runs into an unmapped page */
	m = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(munmap(m + page, (size_t)page), 0);
	memcpy(m + page - 12, &hdr, 12);
	assert_int_equal(fv_irqs_set(fx->q, &fx->u, (uint64_t)(uintptr_t)(m + page - 12)),
			 -EFAULT);
	munmap(m, (size_t)page);
	fx_free(fx);
}

static void test_set_check3(void **state)
{
	Fx *fx = fx_dmatest();
	(void)state;

	/* argsz < 20 */
	assert_int_equal(set_raw(fx, 19, NONE | TRIG, REQ, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(set_raw(fx, 0, NONE | TRIG, REQ, 0, 1, NULL, 0), -EINVAL);
	/* index >= 5 */
	assert_int_equal(set_none(fx, TRIG, 5, 0, 1), -EINVAL);
	assert_int_equal(set_none(fx, TRIG, 0xffffffff, 0, 0), -EINVAL);
	/* count >= U32_MAX - start */
	assert_int_equal(set_none(fx, TRIG, MSIX, 0, 0xffffffff), -EINVAL);
	assert_int_equal(set_none(fx, TRIG, MSIX, 1, 0xfffffffe), -EINVAL);
	assert_int_equal(set_none(fx, TRIG, MSIX, 0xffffffff, 0), -EINVAL);
	/* flags outside 0x3f */
	assert_int_equal(set_none(fx, TRIG | 0x40, REQ, 0, 1), -EINVAL);
	assert_int_equal(set_none(fx, TRIG | 0x80000000u, REQ, 0, 1), -EINVAL);
	/* the same calls without the fault: REQ loopback with no ctx is EINVAL
	 * too, so prove the path with a trigger set */
	{
		int e = efd();

		assert_int_equal(set_fd1(fx, TRIG, REQ, e), 0);
		assert_int_equal(set_none(fx, TRIG, REQ, 0, 1), 0);
		assert_int_equal(efd_take(e), 1);
		assert_int_equal(set_none(fx, TRIG | 0x40, REQ, 0, 1), -EINVAL);
		assert_int_equal(efd_take(e), 0);
		close(e);
	}
	fx_free(fx);
}

static void test_set_check4(void **state)
{
	Fx *fx = fx_dmatest();
	Fx *vf = fx_t5vf();
	int e = efd();
	(void)state;

	/* start >= max */
	assert_int_equal(set_none(fx, TRIG, MSIX, 8, 0), -EINVAL);
	assert_int_equal(set_none(fx, TRIG, MSI, 4, 0), -EINVAL);
	assert_int_equal(set_none(fx, TRIG, REQ, 1, 0), -EINVAL);
	/* start + count > max */
	assert_int_equal(set_none(fx, TRIG, MSIX, 4, 5), -EINVAL);
	assert_int_equal(set_none(fx, TRIG, INTX, 0, 2), -EINVAL);
	assert_int_equal(set_none(fx, TRIG, ERR, 0, 2), -EINVAL);
	/* an index with count 0 rejects everything, even "disable" */
	assert_int_equal(set_none(vf, TRIG, INTX, 0, 0), -EINVAL);
	assert_int_equal(set_fd1(vf, TRIG, INTX, e), -EINVAL);
	assert_int_equal(fv_irqs_type(vf->q), FV_IRQ_TYPE_NONE);
	/* ... before the data type is looked at */
	assert_int_equal(set_irqs(vf, TRIG, INTX, 0, 1, NULL, 0), -EINVAL);
	close(e);
	fx_free(vf);
	fx_free(fx);
}

static void test_set_check5_data_type(void **state)
{
	Fx *fx = fx_dmatest();
	uint8_t b[4] = { 1, 0, 0, 0 };
	(void)state;

	assert_int_equal(set_irqs(fx, TRIG, REQ, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(set_irqs(fx, NONE | BOOL_ | TRIG, REQ, 0, 1, b, 1), -EINVAL);
	assert_int_equal(set_irqs(fx, NONE | EFD | TRIG, REQ, 0, 1, b, 4), -EINVAL);
	assert_int_equal(set_irqs(fx, BOOL_ | EFD | TRIG, REQ, 0, 1, b, 4), -EINVAL);
	/* DATA type is checked before the action: no action is ENOTTY later */
	assert_int_equal(set_irqs(fx, 0, REQ, 0, 1, NULL, 0), -EINVAL);
	fx_free(fx);
}

static void test_set_check6_data_size(void **state)
{
	Fx *fx = fx_dmatest();
	int32_t fds[2] = { -1, -1 };
	uint8_t bools[3] = { 0, 0, 0 };
	(void)state;

	/* EVENTFD: 4 bytes per vector */
	assert_int_equal(set_raw(fx, 20 + 7, EFD | TRIG, MSIX, 0, 2, fds, 8), -EINVAL);
	assert_int_equal(set_raw(fx, 20, EFD | TRIG, MSIX, 0, 1, fds, 4), -EINVAL);
	/* BOOL: 1 byte per vector */
	assert_int_equal(set_raw(fx, 20 + 2, BOOL_ | TRIG, MSIX, 0, 3, bools, 3), -EINVAL);
	/* enough: MSI-X not enabled -> the handler's EINVAL ... use ENOTTY */
	assert_int_equal(set_raw(fx, 20 + 3, BOOL_ | MASK, MSIX, 0, 3, bools, 3), -ENOTTY);
	assert_int_equal(set_raw(fx, 20 + 2, BOOL_ | MASK, MSIX, 0, 3, bools, 3), -EINVAL);
	/* NONE needs no data at all */
	assert_int_equal(set_raw(fx, 20, NONE | MASK, MSIX, 0, 8, NULL, 0), -ENOTTY);
	fx_free(fx);
}

static void test_set_check7_efault_data(void **state)
{
	Fx *fx = fx_dmatest();
	long page = sysconf(_SC_PAGESIZE);
	struct vfio_irq_set hdr;
	uint8_t *m;
	uint64_t a;
	(void)state;

	m = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(munmap(m + page, (size_t)page), 0);
	a = (uint64_t)(uintptr_t)(m + page - 20);
	/* the header is readable, the data behind it is not */
	hdr = (struct vfio_irq_set){ .argsz = 24, .flags = EFD | TRIG, .index = MSIX,
				     .start = 0, .count = 1 };
	memcpy(m + page - 20, &hdr, 20);
	assert_int_equal(fv_irqs_set(fx->q, &fx->u, a), -EFAULT);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	/* EFAULT comes before the ENOTTY of an unsupported action */
	hdr.flags = EFD | MASK;
	memcpy(m + page - 20, &hdr, 20);
	assert_int_equal(fv_irqs_set(fx->q, &fx->u, a), -EFAULT);
	/* and no data is read for DATA_NONE or count 0 */
	hdr.flags = NONE | MASK;
	memcpy(m + page - 20, &hdr, 20);
	assert_int_equal(fv_irqs_set(fx->q, &fx->u, a), -ENOTTY);
	hdr.flags = EFD | MASK;
	hdr.count = 0;
	memcpy(m + page - 20, &hdr, 20);
	assert_int_equal(fv_irqs_set(fx->q, &fx->u, a), -ENOTTY);
	munmap(m, (size_t)page);
	fx_free(fx);
}

static void test_set_check8_enotty(void **state)
{
	Fx *fx = fx_dmatest();
	int32_t fd = -1;
	(void)state;

	/* MSI / MSI-X: MASK and UNMASK */
	assert_int_equal(set_none(fx, MASK, MSI, 0, 1), -ENOTTY);
	assert_int_equal(set_none(fx, UNMASK, MSI, 0, 1), -ENOTTY);
	assert_int_equal(set_none(fx, MASK, MSIX, 0, 1), -ENOTTY);
	assert_int_equal(set_irqs(fx, EFD | UNMASK, MSIX, 0, 1, &fd, 4), -ENOTTY);
	/* ERR / REQ: anything but TRIGGER */
	assert_int_equal(set_none(fx, MASK, ERR, 0, 1), -ENOTTY);
	assert_int_equal(set_none(fx, UNMASK, ERR, 0, 1), -ENOTTY);
	assert_int_equal(set_none(fx, MASK, REQ, 0, 1), -ENOTTY);
	assert_int_equal(set_none(fx, UNMASK, REQ, 0, 1), -ENOTTY);
	/* no action, several actions */
	assert_int_equal(set_none(fx, 0, INTX, 0, 1), -ENOTTY);
	assert_int_equal(set_none(fx, 0, MSIX, 0, 1), -ENOTTY);
	assert_int_equal(set_none(fx, MASK | UNMASK, INTX, 0, 1), -ENOTTY);
	assert_int_equal(set_none(fx, MASK | TRIG, REQ, 0, 1), -ENOTTY);
	assert_int_equal(set_none(fx, MASK | UNMASK | TRIG, MSIX, 0, 1), -ENOTTY);
	fx_free(fx);
}

/* ---- INTx rows ------------------------------------------------------------ */

static void test_intx_mask_unmask_rows(void **state)
{
	Fx *fx = fx_dmatest();
	int e = efd();
	(void)state;

	/* not enabled: EINVAL for every MASK/UNMASK form */
	assert_int_equal(set_none(fx, MASK, INTX, 0, 1), -EINVAL);
	assert_int_equal(set_bool1(fx, MASK, INTX, 1), -EINVAL);
	assert_int_equal(set_fd1(fx, MASK, INTX, e), -EINVAL);
	assert_int_equal(set_none(fx, UNMASK, INTX, 0, 1), -EINVAL);
	assert_int_equal(set_fd1(fx, UNMASK, INTX, e), -EINVAL);

	assert_int_equal(set_fd1(fx, TRIG, INTX, e), 0);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_INTX);
	assert_int_equal(fx->last_type, FV_IRQ_TYPE_INTX);
	assert_true(fv_irqs_has_trigger(fx->q, INTX, 0));
	assert_false(fv_irqs_intx_masked(fx->q));
	/* count must be 1 */
	assert_int_equal(set_none(fx, MASK, INTX, 0, 0), -EINVAL);
	assert_int_equal(set_none(fx, UNMASK, INTX, 0, 0), -EINVAL);
	/* NONE */
	assert_int_equal(set_none(fx, MASK, INTX, 0, 1), 0);
	assert_true(fv_irqs_intx_masked(fx->q));
	assert_int_equal(set_none(fx, UNMASK, INTX, 0, 1), 0);
	assert_false(fv_irqs_intx_masked(fx->q));
	/* BOOL: only when nonzero */
	assert_int_equal(set_bool1(fx, MASK, INTX, 0), 0);
	assert_false(fv_irqs_intx_masked(fx->q));
	assert_int_equal(set_bool1(fx, MASK, INTX, 2), 0);
	assert_true(fv_irqs_intx_masked(fx->q));
	assert_int_equal(set_bool1(fx, UNMASK, INTX, 0), 0);
	assert_true(fv_irqs_intx_masked(fx->q));
	assert_int_equal(set_bool1(fx, UNMASK, INTX, 1), 0);
	assert_false(fv_irqs_intx_masked(fx->q));
	/* MASK EVENTFD: checks pass, then not implemented */
	assert_int_equal(set_fd1(fx, MASK, INTX, e), -ENOTTY);
	assert_int_equal(set_fd1(fx, MASK, INTX, -1), -ENOTTY);
	/* nothing was signalled by any of this */
	assert_int_equal(efd_take(e), 0);
	close(e);
	fx_free(fx);
}

static void test_intx_unmask_eventfd_rows(void **state)
{
	Fx *fx = fx_dmatest();
	int e = efd(), u1 = efd(), u2 = efd(), w;
	int p = not_efd(&w);
	(void)state;

	assert_int_equal(set_fd1(fx, TRIG, INTX, e), 0);
	assert_int_equal(set_fd1(fx, UNMASK, INTX, NOFD), -EBADF);
	assert_int_equal(set_fd1(fx, UNMASK, INTX, p), -EINVAL);
	assert_false(fv_irqs_intx_has_unmask_fd(fx->q));
	assert_int_equal(set_fd1(fx, UNMASK, INTX, u1), 0);
	assert_true(fv_irqs_intx_has_unmask_fd(fx->q));
	/* a second one is EBUSY, but a bad fd is still EBADF first */
	assert_int_equal(set_fd1(fx, UNMASK, INTX, u2), -EBUSY);
	assert_int_equal(set_fd1(fx, UNMASK, INTX, NOFD), -EBADF);
	assert_int_equal(set_fd1(fx, UNMASK, INTX, p), -EINVAL);
	/* fd < 0 removes it */
	assert_int_equal(set_fd1(fx, UNMASK, INTX, -5), 0);
	assert_false(fv_irqs_intx_has_unmask_fd(fx->q));
	assert_int_equal(set_fd1(fx, UNMASK, INTX, -1), 0);	/* none: still 0 */
	assert_int_equal(set_fd1(fx, UNMASK, INTX, u2), 0);
	assert_true(fv_irqs_intx_has_unmask_fd(fx->q));
	close(e); close(u1); close(u2); close(p); close(w);
	fx_free(fx);
}

static void test_intx_trigger_rows(void **state)
{
	Fx *fx = fx_dmatest();
	int e1 = efd(), e2 = efd(), w;
	int p = not_efd(&w);
	int32_t fds[2];
	(void)state;

	/* disable while not enabled */
	assert_int_equal(set_none(fx, TRIG, INTX, 0, 0), -EINVAL);
	/* loopback while not enabled */
	assert_int_equal(set_none(fx, TRIG, INTX, 0, 1), -EINVAL);
	assert_int_equal(set_bool1(fx, TRIG, INTX, 1), -EINVAL);
	/* bad fds do not enable */
	assert_int_equal(set_fd1(fx, TRIG, INTX, NOFD), -EBADF);
	assert_int_equal(set_fd1(fx, TRIG, INTX, p), -EINVAL);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	assert_int_equal(fx->type_calls, 0);
	/* fd < 0 enables INTx without a trigger */
	assert_int_equal(set_fd1(fx, TRIG, INTX, -1), 0);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_INTX);
	assert_int_equal(fv_irqs_nvec(fx->q), 1);
	assert_false(fv_irqs_has_trigger(fx->q, INTX, 0));
	/* enabled: replace the trigger */
	assert_int_equal(set_fd1(fx, TRIG, INTX, e1), 0);
	assert_true(fv_irqs_has_trigger(fx->q, INTX, 0));
	assert_int_equal(set_none(fx, TRIG, INTX, 0, 1), 0);
	assert_int_equal(efd_take(e1), 1);
	assert_int_equal(set_fd1(fx, TRIG, INTX, e2), 0);
	assert_int_equal(set_none(fx, TRIG, INTX, 0, 1), 0);
	assert_int_equal(efd_take(e1), 0);
	assert_int_equal(efd_take(e2), 1);
	/* a bad fd while enabled leaves the trigger in place */
	assert_int_equal(set_fd1(fx, TRIG, INTX, NOFD), -EBADF);
	assert_true(fv_irqs_has_trigger(fx->q, INTX, 0));
	/* BOOL loopback */
	assert_int_equal(set_bool1(fx, TRIG, INTX, 0), 0);
	assert_int_equal(efd_take(e2), 0);
	assert_int_equal(set_bool1(fx, TRIG, INTX, 7), 0);
	assert_int_equal(efd_take(e2), 1);
	/* loopback is not a device interrupt */
	assert_int_equal(fv_irqs_delivered(fx->q, INTX, 0), 0);
	/* fd < 0 clears the trigger, INTx stays enabled */
	assert_int_equal(set_fd1(fx, TRIG, INTX, -1), 0);
	assert_false(fv_irqs_has_trigger(fx->q, INTX, 0));
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_INTX);
	assert_int_equal(set_none(fx, TRIG, INTX, 0, 1), 0);	/* no trigger: no-op */
	/* start != 0 / count != 1 */
	assert_int_equal(set_irqs(fx, EFD | TRIG, INTX, 0, 0, fds, 0), -EINVAL);
	/* MSI-X cannot start while INTx is on */
	fds[0] = e1;
	assert_int_equal(set_fds(fx, MSIX, 0, 1, fds), -EINVAL);
	assert_int_equal(set_fds(fx, MSI, 0, 1, fds), -EINVAL);
	/* disable */
	assert_int_equal(set_none(fx, TRIG, INTX, 0, 0), 0);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	assert_int_equal(fx->last_type, FV_IRQ_TYPE_NONE);
	assert_int_equal(set_none(fx, TRIG, INTX, 0, 0), -EINVAL);
	/* INTx cannot start while MSI-X is on */
	assert_int_equal(set_fds(fx, MSIX, 0, 1, fds), 0);
	assert_int_equal(set_fd1(fx, TRIG, INTX, e2), -EINVAL);
	assert_int_equal(set_none(fx, TRIG, INTX, 0, 0), -EINVAL);
	assert_int_equal(set_none(fx, MASK, INTX, 0, 1), -EINVAL);
	close(e1); close(e2); close(p); close(w);
	fx_free(fx);
}

/* ---- INTx behaviour -------------------------------------------------------- */

static void test_intx_automask(void **state)
{
	Fx *fx = fx_dmatest();
	int e = efd();
	(void)state;

	assert_int_equal(set_fd1(fx, TRIG, INTX, e), 0);
	/* first assertion: signal, automask */
	sim_intx_set(fx->dev, true);
	assert_true(sim_intx_asserted(fx->dev));
	assert_int_equal(efd_take(e), 1);
	assert_true(fv_irqs_intx_masked(fx->q));
	/* a second assertion before the unmask: nothing */
	sim_intx_set(fx->dev, false);
	sim_intx_set(fx->dev, true);
	assert_int_equal(efd_take(e), 0);
	assert_int_equal(fv_irqs_delivered(fx->q, INTX, 0), 1);
	/* unmask with the line still high: fires again, masked again */
	assert_int_equal(set_none(fx, UNMASK, INTX, 0, 1), 0);
	assert_int_equal(efd_take(e), 1);
	assert_true(fv_irqs_intx_masked(fx->q));
	/* the device lowers the line; unmask: nothing pending */
	sim_intx_set(fx->dev, false);
	assert_int_equal(set_none(fx, UNMASK, INTX, 0, 1), 0);
	assert_int_equal(efd_take(e), 0);
	assert_false(fv_irqs_intx_masked(fx->q));
	/* the next assertion is delivered */
	assert_int_equal(sim_irq_raise(fx->dev, 0), SIM_IRQ_DELIVERED);
	assert_int_equal(efd_take(e), 1);
	assert_int_equal(fv_irqs_delivered(fx->q, INTX, 0), 3);
	/* masked by the user: the line is ignored until unmasked */
	sim_intx_set(fx->dev, false);
	assert_int_equal(set_none(fx, UNMASK, INTX, 0, 1), 0);
	assert_int_equal(set_none(fx, MASK, INTX, 0, 1), 0);
	sim_intx_set(fx->dev, true);
	assert_int_equal(efd_take(e), 0);
	assert_int_equal(set_bool1(fx, UNMASK, INTX, 1), 0);
	assert_int_equal(efd_take(e), 1);
	/* without a trigger the IRQ still automasks */
	sim_intx_set(fx->dev, false);
	assert_int_equal(set_fd1(fx, TRIG, INTX, -1), 0);
	assert_int_equal(set_none(fx, UNMASK, INTX, 0, 1), 0);
	sim_intx_set(fx->dev, true);
	assert_true(fv_irqs_intx_masked(fx->q));
	assert_int_equal(fv_irqs_delivered(fx->q, INTX, 0), 4);
	close(e);
	fx_free(fx);
}

static void test_intx_enable_with_line_high(void **state)
{
	Fx *fx = fx_dmatest();
	int e = efd();
	(void)state;

	sim_intx_set(fx->dev, true);	/* before INTx is enabled: ignored */
	assert_int_equal(efd_take(e), 0);
	assert_int_equal(set_fd1(fx, TRIG, INTX, e), 0);
	assert_int_equal(efd_take(e), 1);	/* request_irq fires at once */
	assert_true(fv_irqs_intx_masked(fx->q));
	close(e);
	fx_free(fx);
}

static bool wait_unmasked(Fx *fx, bool masked)
{
	for (int i = 0; i < 2000; i++) {
		if (fv_irqs_intx_masked(fx->q) == masked)
			return true;
		sleep_ms(1);
	}
	return false;
}

static void test_intx_unmask_eventfd(void **state)
{
	Fx *fx = fx_dmatest();
	int e = efd(), u = efd();
	(void)state;

	assert_int_equal(set_fd1(fx, TRIG, INTX, e), 0);
	assert_int_equal(set_fd1(fx, UNMASK, INTX, u), 0);
	sim_intx_set(fx->dev, true);
	assert_int_equal(efd_take(e), 1);
	assert_true(fv_irqs_intx_masked(fx->q));
	/* the user signals the unmask eventfd: line still high, fires again */
	efd_put(u);
	assert_int_equal(efd_wait(e), 1);
	assert_true(fv_irqs_intx_masked(fx->q));
	/* the loop drained the unmask eventfd */
	assert_true(wait_unmasked(fx, true));
	sleep_ms(20);
	assert_int_equal(efd_take(u), 0);
	/* line low, unmask by eventfd: unmasked, nothing signalled */
	sim_intx_set(fx->dev, false);
	efd_put(u);
	assert_true(wait_unmasked(fx, false));
	assert_int_equal(efd_take(e), 0);
	/* removed: signalling it no longer unmasks */
	assert_int_equal(set_fd1(fx, UNMASK, INTX, -1), 0);
	sim_intx_set(fx->dev, true);
	assert_int_equal(efd_take(e), 1);
	efd_put(u);
	sleep_ms(50);
	assert_true(fv_irqs_intx_masked(fx->q));
	assert_int_equal(efd_take(u), 1);	/* nobody read it */
	/* an event already pending at registration unmasks at once */
	efd_put(u);
	assert_int_equal(set_fd1(fx, UNMASK, INTX, u), 0);
	assert_int_equal(efd_take(e), 1);	/* synchronously, in the ioctl */
	assert_true(fv_irqs_intx_masked(fx->q));
	sleep_ms(20);
	assert_int_equal(efd_take(e), 0);	/* and only once */
	assert_int_equal(efd_take(u), 0);
	/* disabling INTx drops the unmask eventfd too */
	assert_int_equal(set_none(fx, TRIG, INTX, 0, 0), 0);
	assert_false(fv_irqs_intx_has_unmask_fd(fx->q));
	close(e); close(u);
	fx_free(fx);
}

static void test_intx_virq_disabled(void **state)
{
	Fx *fx = fx_dmatest();
	int e = efd();
	(void)state;

	/* not in INTx mode: only the flag */
	fv_irqs_set_virq_disabled(fx->q, true);
	assert_true(fv_irqs_virq_disabled(fx->q));
	assert_false(fv_irqs_intx_masked(fx->q));
	/* INTx enabled while disabled starts masked */
	assert_int_equal(set_fd1(fx, TRIG, INTX, e), 0);
	assert_true(fv_irqs_intx_masked(fx->q));
	/* with the line low too: UNMASK cannot unmask while virq_disabled */
	assert_int_equal(set_none(fx, UNMASK, INTX, 0, 1), 0);
	assert_true(fv_irqs_intx_masked(fx->q));
	sim_intx_set(fx->dev, true);
	assert_int_equal(efd_take(e), 0);
	/* UNMASK does nothing while virq_disabled, loopback is suppressed */
	assert_int_equal(set_none(fx, UNMASK, INTX, 0, 1), 0);
	assert_true(fv_irqs_intx_masked(fx->q));
	assert_int_equal(set_none(fx, TRIG, INTX, 0, 1), 0);
	assert_int_equal(efd_take(e), 0);
	/* re-enabling unmasks, and the high line fires */
	fv_irqs_set_virq_disabled(fx->q, false);
	assert_false(fv_irqs_virq_disabled(fx->q));
	assert_int_equal(efd_take(e), 1);
	assert_true(fv_irqs_intx_masked(fx->q));
	/* disabling while unmasked masks; writing the same value is a no-op */
	sim_intx_set(fx->dev, false);
	assert_int_equal(set_none(fx, UNMASK, INTX, 0, 1), 0);
	assert_false(fv_irqs_intx_masked(fx->q));
	fv_irqs_set_virq_disabled(fx->q, false);
	assert_false(fv_irqs_intx_masked(fx->q));
	fv_irqs_set_virq_disabled(fx->q, true);
	assert_true(fv_irqs_intx_masked(fx->q));
	fv_irqs_set_virq_disabled(fx->q, true);
	sim_intx_set(fx->dev, true);
	assert_int_equal(efd_take(e), 0);
	fv_irqs_set_virq_disabled(fx->q, false);
	assert_int_equal(efd_take(e), 1);
	close(e);
	fx_free(fx);
}

/* ---- MSI-X ---------------------------------------------------------------- */

static void test_msix_delivery(void **state)
{
	Fx *fx = fx_dmatest();
	int e[8];
	int32_t fds[8];
	uint64_t addr;
	uint32_t data, ctrl;
	(void)state;

	for (unsigned i = 0; i < 8; i++)
		fds[i] = e[i] = efd();
	assert_int_equal(set_fds(fx, MSIX, 0, 8, fds), 0);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_MSIX);
	assert_int_equal(fx->last_type, FV_IRQ_TYPE_MSIX);
	assert_int_equal(fv_irqs_nvec(fx->q), 8);
	assert_int_equal(fx->qmax_calls, 0);	/* MSI only */
	/* the fake host programmed the device */
	assert_true(sim_msix_enabled(fx->dev));
	assert_int_equal(cfg_get(fx->dev, msix_cap(fx->dev) + PCI_MSIX_FLAGS, 2) &
			 (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL),
			 PCI_MSIX_FLAGS_ENABLE);
	for (unsigned v = 0; v < 8; v++) {
		assert_true(sim_msix_entry(fx->dev, v, &addr, &data, &ctrl));
		assert_int_equal(addr, FV_IRQS_MSI_ADDR);
		assert_int_equal(data, FV_IRQS_MSIX_DATA_BASE + v);
		assert_int_equal(ctrl, 0);
	}
	/* Memory Space was enabled only while programming */
	assert_int_equal(cfg_get(fx->dev, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, 0);
	/* each vector signals exactly its own eventfd */
	for (unsigned v = 0; v < 8; v++) {
		assert_int_equal(sim_irq_raise(fx->dev, v), SIM_IRQ_DELIVERED);
		assert_int_equal(sim_irq_raise(fx->dev, v), SIM_IRQ_DELIVERED);
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(efd_take(e[i]), i == v ? 2 : 0);
		assert_int_equal(fv_irqs_delivered(fx->q, MSIX, v), 2);
	}
	assert_int_equal(fv_irqs_stray(fx->q), 0);
	/* loopback: NONE signals all with triggers, BOOL the selected ones */
	assert_int_equal(set_none(fx, TRIG, MSIX, 2, 2), 0);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(efd_take(e[i]), i == 2 || i == 3);
	{
		uint8_t b[3] = { 1, 0, 1 };

		assert_int_equal(set_irqs(fx, BOOL_ | TRIG, MSIX, 5, 3, b, 3), 0);
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(efd_take(e[i]), i == 5 || i == 7);
		assert_int_equal(set_irqs(fx, BOOL_ | TRIG, MSIX, 0, 0, b, 0), 0);
	}
	assert_int_equal(fv_irqs_delivered(fx->q, MSIX, 2), 2);
	/* disable: the device is back to MSI-X off, vectors masked */
	assert_int_equal(set_none(fx, TRIG, MSIX, 0, 0), 0);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	assert_false(sim_msix_enabled(fx->dev));
	for (unsigned v = 0; v < 8; v++)
		assert_int_equal(msix_ctrl_of(fx->dev, v), PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_int_equal(set_none(fx, TRIG, MSIX, 0, 0), -EINVAL);
	/* INTx is not re-enabled by the kernel */
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	for (unsigned i = 0; i < 8; i++)
		close(e[i]);
	fx_free(fx);
}

static void test_msix_pending_until_trigger(void **state)
{
	Fx *fx = fx_dmatest();
	int e0 = efd(), e1 = efd();
	int32_t fds[2] = { e0, -1 };
	(void)state;

	assert_int_equal(set_fds(fx, MSIX, 0, 2, fds), 0);
	assert_true(fv_irqs_has_trigger(fx->q, MSIX, 0));
	assert_false(fv_irqs_has_trigger(fx->q, MSIX, 1));
	/* no trigger: masked in the device table, so it waits in the PBA */
	assert_int_equal(msix_ctrl_of(fx->dev, 1), PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_int_equal(sim_irq_raise(fx->dev, 1), SIM_IRQ_PENDING);
	assert_true(sim_msix_pending(fx->dev, 1));
	assert_int_equal(efd_take(e0), 0);
	/* vectors beyond the allocation stay masked too */
	assert_int_equal(sim_irq_raise(fx->dev, 5), SIM_IRQ_PENDING);
	/* attaching a trigger unmasks: delivered */
	assert_int_equal(set_fd1(fx, TRIG, MSIX, e0), 0);	/* replace vector 0 */
	fds[0] = e1;
	assert_int_equal(set_fds(fx, MSIX, 1, 1, fds), 0);
	assert_false(sim_msix_pending(fx->dev, 1));
	assert_int_equal(efd_take(e1), 1);
	assert_int_equal(efd_take(e0), 0);
	assert_int_equal(fv_irqs_delivered(fx->q, MSIX, 1), 1);
	/* freeing a vector masks it again */
	fds[0] = -1;
	assert_int_equal(set_fds(fx, MSIX, 1, 1, fds), 0);
	assert_false(fv_irqs_has_trigger(fx->q, MSIX, 1));
	assert_int_equal(msix_ctrl_of(fx->dev, 1), PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_int_equal(sim_irq_raise(fx->dev, 1), SIM_IRQ_PENDING);
	assert_int_equal(efd_take(e1), 0);
	/* loopback skips vectors without a trigger */
	assert_int_equal(set_none(fx, TRIG, MSIX, 0, 2), 0);
	assert_int_equal(efd_take(e0), 1);
	assert_int_equal(efd_take(e1), 0);
	/* NORESIZE: vectors beyond the allocation are EINVAL */
	fds[0] = e1;
	assert_int_equal(set_fds(fx, MSIX, 2, 1, fds), -EINVAL);
	assert_int_equal(set_fds(fx, MSIX, 1, 2, fds), -EINVAL);
	assert_int_equal(set_none(fx, TRIG, MSIX, 1, 2), -EINVAL);
	/* start < num_ctx, count 0: nothing to do */
	assert_int_equal(set_irqs(fx, EFD | TRIG, MSIX, 1, 0, fds, 0), 0);
	/* MSI cannot start while MSI-X is on */
	assert_int_equal(set_fds(fx, MSI, 0, 1, fds), -EINVAL);
	assert_int_equal(set_none(fx, TRIG, MSI, 0, 0), -EINVAL);
	close(e0); close(e1);
	fx_free(fx);
}

static void test_msix_enable_start_offset(void **state)
{
	Fx *fx = fx_dmatest();
	int e = efd();
	int32_t fds[1] = { e };
	(void)state;

	/* nothing enabled: start + count vectors are allocated */
	assert_int_equal(set_fds(fx, MSIX, 2, 1, fds), 0);
	assert_int_equal(fv_irqs_nvec(fx->q), 3);
	assert_false(fv_irqs_has_trigger(fx->q, MSIX, 0));
	assert_true(fv_irqs_has_trigger(fx->q, MSIX, 2));
	assert_int_equal(sim_irq_raise(fx->dev, 2), SIM_IRQ_DELIVERED);
	assert_int_equal(efd_take(e), 1);
	close(e);
	fx_free(fx);
}

static void test_msix_errors_roll_back(void **state)
{
	Fx *fx = fx_dmatest();
	int e[4], w, p = not_efd(&w);
	int32_t fds[4];
	unsigned before;
	(void)state;

	for (unsigned i = 0; i < 4; i++)
		fds[i] = e[i] = efd();
	before = count_fds();
	/* a failure while enabling disables everything */
	fds[2] = NOFD;
	assert_int_equal(set_fds(fx, MSIX, 0, 4, fds), -EBADF);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	assert_false(sim_msix_enabled(fx->dev));
	assert_int_equal(count_fds(), before);
	fds[2] = p;
	assert_int_equal(set_fds(fx, MSIX, 0, 4, fds), -EINVAL);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	assert_int_equal(count_fds(), before);
	/* nothing enabled, start 0 count 0: pci_alloc_irq_vectors(1, 0) */
	assert_int_equal(set_irqs(fx, EFD | TRIG, MSIX, 0, 0, fds, 0), -ERANGE);
	assert_int_equal(set_irqs(fx, EFD | TRIG, MSI, 0, 0, fds, 0), -ERANGE);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	/* loopback while not enabled */
	assert_int_equal(set_none(fx, TRIG, MSIX, 0, 1), -EINVAL);
	/* enabled: a failure clears the vectors from start to the failure */
	fds[2] = e[2];
	assert_int_equal(set_fds(fx, MSIX, 0, 4, fds), 0);
	assert_int_equal(count_fds(), before + 4);
	fds[1] = e[1];
	fds[2] = NOFD;
	fds[3] = e[3];
	assert_int_equal(set_fds(fx, MSIX, 1, 3, fds + 1), -EBADF);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_MSIX);
	assert_true(fv_irqs_has_trigger(fx->q, MSIX, 0));
	assert_false(fv_irqs_has_trigger(fx->q, MSIX, 1));
	assert_false(fv_irqs_has_trigger(fx->q, MSIX, 2));
	assert_true(fv_irqs_has_trigger(fx->q, MSIX, 3));	/* never reached */
	assert_int_equal(count_fds(), before + 2);
	assert_int_equal(msix_ctrl_of(fx->dev, 1), PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_int_equal(msix_ctrl_of(fx->dev, 3), 0);
	for (unsigned i = 0; i < 4; i++)
		close(e[i]);
	close(p); close(w);
	fx_free(fx);
}

static void test_msix_t5vf_pba_quirk(void **state)
{
	Fx *fx = fx_t5vf();
	int e[8];
	int32_t fds[8];
	(void)state;

	for (unsigned i = 0; i < 8; i++) {
		e[i] = efd();
		fds[i] = i == 6 ? -1 : e[i];
	}
	assert_int_equal(set_fds(fx, MSIX, 0, 8, fds), 0);
	assert_true(sim_msix_enabled(fx->dev));
	for (unsigned v = 0; v < 8; v++) {
		SimIrqResult r = sim_irq_raise(fx->dev, v);

		assert_int_equal(r, v == 6 ? SIM_IRQ_PENDING : SIM_IRQ_DELIVERED);
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(efd_take(e[i]), i == v && v != 6);
	}
	/* the pending bit lives in the real PBA (0x1000 in BAR4) */
	assert_true(sim_msix_pending(fx->dev, 6));
	{
		uint64_t pba = 0;

		assert_int_equal(sim_bar_read(fx->dev, 4, 0x1000, 8, &pba), 0);
		assert_int_equal(pba, 1u << 6);
	}
	fds[0] = e[6];
	assert_int_equal(set_fds(fx, MSIX, 6, 1, fds), 0);
	assert_int_equal(efd_take(e[6]), 1);
	assert_false(sim_msix_pending(fx->dev, 6));
	/* no INTx on a VF */
	assert_int_equal(set_fd1(fx, TRIG, INTX, e[0]), -EINVAL);
	for (unsigned i = 0; i < 8; i++)
		close(e[i]);
	fx_free(fx);
}

/* ---- MSI ------------------------------------------------------------------ */

static void test_msi_delivery(void **state)
{
	Fx *fx = fx_dmatest();
	int e[4];
	int32_t fds[4];
	unsigned m = DMATEST_MSI_CAP;
	(void)state;

	for (unsigned i = 0; i < 4; i++)
		fds[i] = e[i] = efd();
	fds[3] = -1;
	assert_int_equal(set_fds(fx, MSI, 0, 4, fds), 0);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_MSI);
	assert_int_equal(fx->last_type, FV_IRQ_TYPE_MSI);
	assert_int_equal(fx->qmax_calls, 1);
	assert_int_equal(fx->qmax, 2);			/* fls(7) - 1 */
	/* programmed: enable, 4 messages, address/data, vector 3 masked */
	assert_true(sim_msi_enabled(fx->dev));
	assert_int_equal(sim_msi_nvec_enabled(fx->dev), 4);
	assert_int_equal((cfg_get(fx->dev, m + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QSIZE) >> 4, 2);
	assert_int_equal(cfg_get(fx->dev, m + PCI_MSI_ADDRESS_LO, 4), FV_IRQS_MSI_ADDR);
	assert_int_equal(cfg_get(fx->dev, m + PCI_MSI_ADDRESS_HI, 4), 0);
	assert_int_equal(cfg_get(fx->dev, m + PCI_MSI_DATA_64, 2), FV_IRQS_MSI_DATA_BASE);
	assert_int_equal(cfg_get(fx->dev, m + PCI_MSI_MASK_64, 4), 0x8);
	for (unsigned v = 0; v < 3; v++) {
		assert_int_equal(sim_irq_raise(fx->dev, v), SIM_IRQ_DELIVERED);
		for (unsigned i = 0; i < 4; i++)
			assert_int_equal(efd_take(e[i]), i == v);
		assert_int_equal(fv_irqs_delivered(fx->q, MSI, v), 1);
	}
	/* the vector without a trigger is masked: pending until attached */
	assert_int_equal(sim_irq_raise(fx->dev, 3), SIM_IRQ_PENDING);
	assert_true(sim_msi_pending(fx->dev, 3));
	fds[0] = e[3];
	assert_int_equal(set_fds(fx, MSI, 3, 1, fds), 0);
	assert_int_equal(efd_take(e[3]), 1);
	assert_false(sim_msi_pending(fx->dev, 3));
	/* loopback */
	assert_int_equal(set_none(fx, TRIG, MSI, 0, 4), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(efd_take(e[i]), 1);
	/* disable: MSI off, all vectors unmasked as at power-on */
	assert_int_equal(set_none(fx, TRIG, MSI, 0, 0), 0);
	assert_false(sim_msi_enabled(fx->dev));
	assert_int_equal(cfg_get(fx->dev, m + PCI_MSI_MASK_64, 4), 0);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	assert_int_equal(fx->qmax, 2);	/* msi_qmax is not reset */
	for (unsigned i = 0; i < 4; i++)
		close(e[i]);
	fx_free(fx);
}

static void test_msi_qmax_odd_count(void **state)
{
	Fx *fx = fx_t5vf();
	int e = efd();
	int32_t fds[3] = { e, -1, -1 };
	(void)state;

	assert_int_equal(set_fds(fx, MSI, 0, 3, fds), 0);
	assert_int_equal(fx->qmax, 2);			/* fls(5) - 1 */
	assert_int_equal(sim_msi_nvec_enabled(fx->dev), 4);	/* MME rounds up */
	assert_int_equal(sim_irq_raise(fx->dev, 0), SIM_IRQ_DELIVERED);
	assert_int_equal(efd_take(e), 1);
	/* vector 3 exists in the device (MME 4) but was not allocated */
	assert_int_equal(sim_irq_raise(fx->dev, 3), SIM_IRQ_PENDING);
	assert_int_equal(set_none(fx, TRIG, MSI, 0, 0), 0);
	/* 32 vectors */
	{
		int32_t many[32];

		for (unsigned i = 0; i < 32; i++)
			many[i] = -1;
		many[31] = e;
		assert_int_equal(set_fds(fx, MSI, 0, 32, many), 0);
		assert_int_equal(fx->qmax, 5);
		assert_int_equal(sim_irq_raise(fx->dev, 31), SIM_IRQ_DELIVERED);
		assert_int_equal(efd_take(e), 1);
		assert_int_equal(fv_irqs_delivered(fx->q, MSI, 31), 1);
	}
	close(e);
	fx_free(fx);
}

static void test_msi_fewer_vectors(void **state)
{
	Fx *fx = fx_new(model("dma-test", NULL), 1, true, true);
	int e[4];
	int32_t fds[4];
	(void)state;

	for (unsigned i = 0; i < 4; i++)
		fds[i] = e[i] = efd();
	/* the host gets only 1 vector: returned as a positive count */
	assert_int_equal(set_fds(fx, MSI, 0, 4, fds), 1);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	assert_false(sim_msi_enabled(fx->dev));
	assert_int_equal(fx->type_calls, 0);
	assert_int_equal(fx->qmax_calls, 0);
	assert_int_equal(set_fds(fx, MSI, 1, 1, fds), 1);	/* start + count = 2 */
	/* QEMU retries with that many */
	assert_int_equal(set_fds(fx, MSI, 0, 1, fds), 0);
	assert_int_equal(fx->qmax, 0);
	assert_true(sim_msi_enabled(fx->dev));
	assert_int_equal(sim_msi_nvec_enabled(fx->dev), 1);
	assert_int_equal(sim_irq_raise(fx->dev, 0), SIM_IRQ_DELIVERED);
	assert_int_equal(efd_take(e[0]), 1);
	/* MSI-X is not limited */
	assert_int_equal(set_none(fx, TRIG, MSI, 0, 0), 0);
	assert_int_equal(set_fds(fx, MSIX, 0, 4, fds), 0);
	assert_int_equal(fv_irqs_nvec(fx->q), 4);
	for (unsigned i = 0; i < 4; i++)
		close(e[i]);
	fx_free(fx);
}

static void test_msi_not_in_d0(void **state)
{
	Fx *fx = fx_dmatest();
	int e = efd();
	int32_t fds[1] = { e };
	unsigned pm = DMATEST_PM_CAP;
	(void)state;

	assert_int_equal(sim_cap_find(fx->dev, PCI_CAP_ID_PM), pm);
	assert_int_equal(sim_cfg_write(fx->dev, pm + PCI_PM_CTRL, 2, 3), 0);	/* D3hot */
	assert_int_equal(set_fds(fx, MSI, 0, 1, fds), -EINVAL);
	assert_int_equal(set_fds(fx, MSIX, 0, 1, fds), -EINVAL);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	assert_int_equal(sim_cfg_write(fx->dev, pm + PCI_PM_CTRL, 2, 0), 0);	/* D0 */
	assert_int_equal(set_fds(fx, MSI, 0, 1, fds), 0);
	close(e);
	fx_free(fx);
}

/* MSI with a 32-bit address and no per-vector masking. */
static void test_msi_32bit_unmaskable(void **state)
{
	SimDevice *dev = sim_device_new("msi32", SIM_CFG_SIZE_PCI);
	Error *err = NULL;
	Fx *fx;
	int e = efd();
	int32_t fds[2] = { e, -1 };
	unsigned m;
	(void)state;

	if (!sim_cap_add_msi(dev, 0x50, 2, false, false, &err) ||
	    !sim_device_realize(dev, &err))
		fail_msg("%s", error_get_pretty(err));
	fx = fx_new(dev, 0, false, false);
	m = sim_cap_find(dev, PCI_CAP_ID_MSI);
	check_info(fx, MSI, 2, F_MSG);
	assert_int_equal(set_fds(fx, MSI, 0, 2, fds), 0);
	assert_int_equal(fx->qmax, 1);
	assert_int_equal(cfg_get(dev, m + PCI_MSI_ADDRESS_LO, 4), FV_IRQS_MSI_ADDR);
	assert_int_equal(cfg_get(dev, m + PCI_MSI_DATA_32, 2), FV_IRQS_MSI_DATA_BASE);
	assert_int_equal(sim_irq_raise(dev, 0), SIM_IRQ_DELIVERED);
	assert_int_equal(efd_take(e), 1);
	/* no masking: the message of a vector without trigger is lost */
	assert_int_equal(sim_irq_raise(dev, 1), SIM_IRQ_DELIVERED);
	assert_int_equal(fv_irqs_stray(fx->q), 1);
	assert_int_equal(fv_irqs_delivered(fx->q, MSI, 1), 0);
	assert_int_equal(set_none(fx, TRIG, MSI, 0, 0), 0);
	assert_false(sim_msi_enabled(dev));
	close(e);
	fx_free(fx);
}

/* ---- ERR / REQ ------------------------------------------------------------- */

static void err_req_rows(Fx *fx, unsigned index)
{
	int e1 = efd(), e2 = efd(), w, p = not_efd(&w);
	uint8_t b;

	/* NONE without a ctx: EINVAL, whatever the count */
	assert_int_equal(set_none(fx, TRIG, index, 0, 1), -EINVAL);
	assert_int_equal(set_none(fx, TRIG, index, 0, 0), -EINVAL);
	/* BOOL: count 0 EINVAL; without ctx a no-op */
	b = 1;
	assert_int_equal(set_irqs(fx, BOOL_ | TRIG, index, 0, 0, &b, 1), -EINVAL);
	assert_int_equal(set_bool1(fx, TRIG, index, 1), 0);
	/* EVENTFD: count 0 EINVAL; bad fd, not an eventfd */
	assert_int_equal(set_irqs(fx, EFD | TRIG, index, 0, 0, &e1, 4), -EINVAL);
	assert_int_equal(set_fd1(fx, TRIG, index, NOFD), -EBADF);
	assert_int_equal(set_fd1(fx, TRIG, index, p), -EINVAL);
	assert_false(fv_irqs_has_trigger(fx->q, index, 0));
	assert_int_equal(set_fd1(fx, TRIG, index, e1), 0);
	assert_true(fv_irqs_has_trigger(fx->q, index, 0));
	assert_false(fv_irqs_has_trigger(fx->q, index, 1));
	/* loopback */
	assert_int_equal(set_none(fx, TRIG, index, 0, 1), 0);
	assert_int_equal(efd_take(e1), 1);
	assert_int_equal(set_bool1(fx, TRIG, index, 0), 0);
	assert_int_equal(efd_take(e1), 0);
	assert_int_equal(set_bool1(fx, TRIG, index, 1), 0);
	assert_int_equal(efd_take(e1), 1);
	/* fd < -1 is a no-op; a bad fd keeps the old one */
	assert_int_equal(set_fd1(fx, TRIG, index, -2), 0);
	assert_true(fv_irqs_has_trigger(fx->q, index, 0));
	assert_int_equal(set_fd1(fx, TRIG, index, NOFD), -EBADF);
	assert_true(fv_irqs_has_trigger(fx->q, index, 0));
	/* replace */
	assert_int_equal(set_fd1(fx, TRIG, index, e2), 0);
	assert_int_equal(set_none(fx, TRIG, index, 0, 1), 0);
	assert_int_equal(efd_take(e1), 0);
	assert_int_equal(efd_take(e2), 1);
	/* fd -1 clears */
	assert_int_equal(set_fd1(fx, TRIG, index, -1), 0);
	assert_false(fv_irqs_has_trigger(fx->q, index, 0));
	assert_int_equal(set_fd1(fx, TRIG, index, -1), 0);
	/* NONE count 0 clears too */
	assert_int_equal(set_fd1(fx, TRIG, index, e1), 0);
	assert_int_equal(set_none(fx, TRIG, index, 0, 0), 0);
	assert_false(fv_irqs_has_trigger(fx->q, index, 0));
	assert_int_equal(efd_take(e1), 0);
	close(e1); close(e2); close(p); close(w);
}

static void test_err_rows(void **state)
{
	Fx *fx = fx_dmatest();
	(void)state;

	err_req_rows(fx, ERR);
	fx_free(fx);
}

static void test_req_rows(void **state)
{
	Fx *fx = fx_dmatest();
	(void)state;

	err_req_rows(fx, REQ);
	fx_free(fx);
}

static void test_err_not_pcie(void **state)
{
	Fx *fx = fx_plain(0);
	int e = efd();
	(void)state;

	assert_int_equal(set_fd1(fx, TRIG, ERR, e), -EINVAL);
	assert_int_equal(set_none(fx, MASK, ERR, 0, 1), -EINVAL);	/* check 4 first */
	/* no pin: INTx rejects everything; REQ works */
	assert_int_equal(set_fd1(fx, TRIG, INTX, e), -EINVAL);
	assert_int_equal(set_fd1(fx, TRIG, MSI, e), -EINVAL);
	assert_int_equal(set_fd1(fx, TRIG, REQ, e), 0);
	sim_req_raise(fx->dev);
	assert_int_equal(efd_take(e), 1);
	close(e);
	fx_free(fx);
}

static void test_err_req_delivery(void **state)
{
	Fx *fx = fx_dmatest();
	int e = efd(), r = efd();
	(void)state;

	/* without triggers nothing happens */
	assert_int_equal(sim_aer_inject(fx->dev, true, PCI_ERR_UNC_UNSUP, NULL), 0);
	sim_req_raise(fx->dev);
	assert_int_equal(fv_irqs_delivered(fx->q, ERR, 0), 0);
	assert_int_equal(set_fd1(fx, TRIG, ERR, e), 0);
	assert_int_equal(set_fd1(fx, TRIG, REQ, r), 0);
	assert_int_equal(sim_aer_inject(fx->dev, true, PCI_ERR_UNC_COMP_ABORT, NULL), 0);
	assert_int_equal(efd_take(e), 1);
	assert_int_equal(efd_take(r), 0);
	/* a correctable error does not signal ERR */
	assert_int_equal(sim_aer_inject(fx->dev, false, PCI_ERR_COR_RCVR, NULL), 0);
	assert_int_equal(efd_take(e), 0);
	sim_req_raise(fx->dev);
	sim_req_raise(fx->dev);
	assert_int_equal(efd_take(r), 2);
	assert_int_equal(efd_take(e), 0);
	assert_int_equal(fv_irqs_delivered(fx->q, ERR, 0), 1);
	assert_int_equal(fv_irqs_delivered(fx->q, REQ, 0), 2);
	assert_int_equal(fv_irqs_delivered(fx->q, REQ, 1), 0);
	assert_int_equal(fv_irqs_delivered(fx->q, ERR, 1), 0);
	close(e); close(r);
	fx_free(fx);
}

/* ---- release, state, misc -------------------------------------------------- */

static void test_release_closes_everything(void **state)
{
	Fx *fx = fx_dmatest();
	int e[8], x = efd(), r = efd(), t = efd(), u = efd();
	int32_t fds[8];
	unsigned base;
	(void)state;

	for (unsigned i = 0; i < 8; i++)
		fds[i] = e[i] = efd();
	base = count_fds();
	assert_int_equal(set_fds(fx, MSIX, 0, 8, fds), 0);
	assert_int_equal(set_fd1(fx, TRIG, ERR, x), 0);
	assert_int_equal(set_fd1(fx, TRIG, REQ, r), 0);
	fv_irqs_set_virq_disabled(fx->q, true);
	assert_int_equal(count_fds(), base + 10);
	fv_irqs_release(fx->q);
	assert_int_equal(count_fds(), base);
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	assert_false(sim_msix_enabled(fx->dev));
	assert_false(fv_irqs_virq_disabled(fx->q));
	assert_false(fv_irqs_has_trigger(fx->q, ERR, 0));
	assert_false(fv_irqs_has_trigger(fx->q, REQ, 0));
	/* INTx with an unmask eventfd */
	assert_int_equal(set_fd1(fx, TRIG, INTX, t), 0);
	assert_int_equal(set_fd1(fx, UNMASK, INTX, u), 0);
	assert_int_equal(count_fds(), base + 2);
	fv_irqs_release(fx->q);
	assert_int_equal(count_fds(), base);
	assert_false(fv_irqs_intx_has_unmask_fd(fx->q));
	/* the unmask eventfd is no longer watched */
	efd_put(u);
	sleep_ms(20);
	assert_int_equal(efd_take(u), 1);
	/* MSI too, and release of nothing */
	assert_int_equal(set_fds(fx, MSI, 0, 2, fds), 0);
	assert_int_equal(count_fds(), base + 2);
	fv_irqs_release(fx->q);
	assert_int_equal(count_fds(), base);
	assert_false(sim_msi_enabled(fx->dev));
	fv_irqs_release(fx->q);
	assert_int_equal(count_fds(), base);
	/* free releases too */
	assert_int_equal(set_fds(fx, MSIX, 0, 8, fds), 0);
	fv_irqs_free(fx->q);
	fx->q = NULL;
	assert_int_equal(count_fds(), base);
	fv_irqs_free(NULL);
	for (unsigned i = 0; i < 8; i++)
		close(e[i]);
	close(x); close(r); close(t); close(u);
	fv_evloop_free(fx->loop);
	sim_device_free(fx->dev);
	free(fx);
}

static void test_stray_and_dump(void **state)
{
	Fx *fx = fx_dmatest();
	int e = efd();
	int32_t fds[2] = { e, -1 };
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;

	/* no MSI enabled: any message is stray */
	fv_irqs_on_msi(fx->q, FV_IRQS_MSI_ADDR, FV_IRQS_MSIX_DATA_BASE);
	assert_int_equal(fv_irqs_stray(fx->q), 1);
	assert_int_equal(set_fds(fx, MSIX, 0, 2, fds), 0);
	fv_irqs_on_msi(fx->q, 0x1000, FV_IRQS_MSIX_DATA_BASE);		/* wrong address */
	fv_irqs_on_msi(fx->q, FV_IRQS_MSI_ADDR, FV_IRQS_MSIX_DATA_BASE + 2);	/* no such vector */
	fv_irqs_on_msi(fx->q, FV_IRQS_MSI_ADDR, FV_IRQS_MSIX_DATA_BASE + 1);	/* no trigger */
	fv_irqs_on_msi(fx->q, FV_IRQS_MSI_ADDR, FV_IRQS_MSI_DATA_BASE);	/* MSI data */
	fv_irqs_on_msi(fx->q, FV_IRQS_MSI_ADDR, 5);
	assert_int_equal(fv_irqs_stray(fx->q), 6);
	assert_int_equal(efd_take(e), 0);
	fv_irqs_on_msi(fx->q, FV_IRQS_MSI_ADDR, FV_IRQS_MSIX_DATA_BASE);
	assert_int_equal(efd_take(e), 1);
	assert_int_equal(fv_irqs_stray(fx->q), 6);
	/* queries for other indexes */
	assert_false(fv_irqs_has_trigger(fx->q, MSI, 0));
	assert_false(fv_irqs_has_trigger(fx->q, MSIX, 2));
	assert_false(fv_irqs_has_trigger(fx->q, INTX, 0));
	assert_false(fv_irqs_intx_masked(fx->q));
	assert_int_equal(fv_irqs_delivered(fx->q, MSIX, 0), 1);
	assert_int_equal(fv_irqs_delivered(fx->q, MSIX, 8), 0);
	assert_int_equal(fv_irqs_delivered(fx->q, MSI, 32), 0);
	assert_int_equal(fv_irqs_delivered(fx->q, INTX, 1), 0);
	assert_int_equal(fv_irqs_delivered(fx->q, 9, 0), 0);
	/* dump */
	f = open_memstream(&text, &len);
	assert_non_null(f);
	fv_irqs_dump(fx->q, f);
	fclose(f);
	assert_non_null(strstr(text, "irq_type MSI-X, 2 vector(s)\n"));
	assert_non_null(strstr(text, "MSI-X 0: trigger, delivered 1\n"));
	assert_non_null(strstr(text, "MSI-X 1: no trigger, delivered 0\n"));
	assert_non_null(strstr(text, "stray messages: 6\n"));
	free(text);
	/* MSI, INTx, ERR/REQ, virq_disabled in the dump */
	assert_int_equal(set_none(fx, TRIG, MSIX, 0, 0), 0);
	assert_int_equal(set_fds(fx, MSI, 0, 1, fds), 0);
	fv_irqs_on_msi(fx->q, FV_IRQS_MSI_ADDR, FV_IRQS_MSI_DATA_BASE);
	assert_int_equal(efd_take(e), 1);
	fv_irqs_on_msi(fx->q, FV_IRQS_MSI_ADDR, FV_IRQS_MSI_DATA_BASE + 1);
	assert_int_equal(fv_irqs_stray(fx->q), 7);
	f = open_memstream(&text, &len);
	fv_irqs_dump(fx->q, f);
	fclose(f);
	assert_non_null(strstr(text, "irq_type MSI, 1 vector(s)\n"));
	assert_non_null(strstr(text, "MSI 0: trigger, delivered 1\n"));
	free(text);
	assert_int_equal(set_none(fx, TRIG, MSI, 0, 0), 0);
	assert_int_equal(set_fd1(fx, TRIG, INTX, e), 0);
	assert_int_equal(set_fd1(fx, UNMASK, INTX, e), 0);
	assert_int_equal(set_fd1(fx, TRIG, ERR, e), 0);
	fv_irqs_set_virq_disabled(fx->q, true);
	f = open_memstream(&text, &len);
	fv_irqs_dump(fx->q, f);
	fclose(f);
	assert_non_null(strstr(text, "irq_type INTx, 1 vector(s)\n"));
	assert_non_null(strstr(text, "intx: pin, trigger, masked, unmask eventfd, delivered 0\n"));
	assert_non_null(strstr(text, "virq_disabled\n"));
	assert_non_null(strstr(text, "err: trigger, delivered 0\n"));
	assert_non_null(strstr(text, "req: no trigger, delivered 0\n"));
	free(text);
	close(e);
	fx_free(fx);
}

static void test_new_errors(void **state)
{
	Fx *fx = fx_dmatest();
	FvIrqsConfig cfg = { 0 };
	Error *err = NULL;
	(void)state;

	assert_null(fv_irqs_new(fx->dev, NULL, &cfg, &err));
	assert_non_null(err);
	error_free(err);
	err = NULL;
	assert_null(fv_irqs_new(NULL, fx->loop, &cfg, &err));
	assert_non_null(err);
	error_free(err);
	err = NULL;
	assert_null(fv_irqs_new(fx->dev, fx->loop, NULL, &err));
	assert_non_null(err);
	error_free(err);
	fx_free(fx);
}

/* Callbacks may be NULL. */
static void test_no_callbacks(void **state)
{
	SimDevice *dev = model("dma-test", NULL);
	FvIrqsConfig cfg = { .pin = 1, .is_pcie = true };
	FvEvloop *loop = fv_evloop_new(NULL);
	FvIrqs *q = fv_irqs_new(dev, loop, &cfg, NULL);
	FvUser u = { getpid() };
	int32_t e = efd();
	struct vfio_irq_set h = { 24, EFD | TRIG, MSI, 0, 1 };
	uint8_t a[24];
	(void)state;

	memcpy(a, &h, 20);
	memcpy(a + 20, &e, 4);
	assert_non_null(q);
	assert_int_equal(fv_irqs_set(q, &u, (uint64_t)(uintptr_t)a), 0);
	assert_int_equal(fv_irqs_type(q), FV_IRQ_TYPE_MSI);
	fv_irqs_free(q);
	fv_evloop_free(loop);
	sim_device_free(dev);
	close(e);
}

/* The device side from another thread while the user side runs. */
typedef struct Storm {
	Fx *fx;
	volatile bool stop;
	unsigned raised;
} Storm;

static void *storm_thread(void *arg)
{
	Storm *s = arg;

	while (!s->stop) {
		sim_irq_raise(s->fx->dev, s->raised % 8);
		s->raised++;
	}
	return NULL;
}

static void test_concurrent_device_and_ioctls(void **state)
{
	Fx *fx = fx_dmatest();
	Storm s = { .fx = fx };
	int e[8];
	int32_t fds[8];
	pthread_t th;
	(void)state;

	for (unsigned i = 0; i < 8; i++)
		fds[i] = e[i] = efd();
	assert_int_equal(pthread_create(&th, NULL, storm_thread, &s), 0);
	for (unsigned round = 0; round < 200; round++) {
		assert_int_equal(set_fds(fx, MSIX, 0, 8, fds), 0);
		assert_int_equal(set_none(fx, TRIG, MSIX, 0, 0), 0);
	}
	s.stop = true;
	pthread_join(th, NULL);
	assert_true(s.raised > 0);
	for (unsigned i = 0; i < 8; i++)
		close(e[i]);
	fx_free(fx);
}

/* ---- event loop ---------------------------------------------------------- */

typedef struct Ev {
	FvEvloop *loop;
	int fd;
	volatile unsigned calls;
	volatile bool in, done, in_loop, cancelled, del_self;
	volatile bool lock_result;
	unsigned sleep_ms;
	uint32_t events;
	SimDevice *dev;
	int del_ret;
} Ev;

static void ev_count(void *opaque, int fd, uint32_t events)
{
	Ev *ev = opaque;
	uint64_t v;

	ev->events = events;
	ev->in_loop = fv_evloop_in_loop(ev->loop);
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	ev->in = true;
	if (ev->sleep_ms)
		sleep_ms(ev->sleep_ms);
	if (ev->del_self)
		ev->del_ret = fv_evloop_del(ev->loop, fd);
	ev->calls++;
	ev->done = true;
}

static bool wait_flag(volatile bool *flag)
{
	for (int i = 0; i < 2000 && !*flag; i++)
		sleep_ms(1);
	return *flag;
}

static void test_evloop_basic(void **state)
{
	Error *err = NULL;
	FvEvloop *loop = fv_evloop_new(&err);
	Ev ev = { 0 };
	(void)state;

	assert_non_null(loop);
	ev.loop = loop;
	ev.fd = efd();
	assert_false(fv_evloop_in_loop(loop));
	assert_false(fv_evloop_cancelled(loop));
	assert_int_equal(fv_evloop_add(loop, ev.fd, ev_count, &ev), 0);
	assert_int_equal(fv_evloop_add(loop, ev.fd, ev_count, &ev), -EEXIST);
	assert_int_equal(fv_evloop_add(loop, -1, ev_count, &ev), -EINVAL);
	assert_int_equal(fv_evloop_add(loop, ev.fd, NULL, &ev), -EINVAL);
	assert_int_equal(fv_evloop_add(loop, NOFD, ev_count, &ev), -EBADF);
	efd_put(ev.fd);
	assert_true(wait_flag(&ev.done));
	assert_int_equal(ev.calls, 1);
	assert_true(ev.in_loop);
	assert_true(ev.events & EPOLLIN);
	ev.done = false;
	efd_put(ev.fd);
	assert_true(wait_flag(&ev.done));
	assert_int_equal(ev.calls, 2);
	assert_int_equal(fv_evloop_del(loop, ev.fd), 0);
	assert_int_equal(fv_evloop_del(loop, ev.fd), -ENOENT);
	efd_put(ev.fd);
	sleep_ms(30);
	assert_int_equal(ev.calls, 2);
	assert_int_equal(efd_take(ev.fd), 1);
	/* re-add after del */
	assert_int_equal(fv_evloop_add(loop, ev.fd, ev_count, &ev), 0);
	ev.done = false;
	efd_put(ev.fd);
	assert_true(wait_flag(&ev.done));
	assert_int_equal(ev.calls, 3);
	/* freed with a watch still registered */
	fv_evloop_free(loop);
	fv_evloop_free(NULL);
	close(ev.fd);
}

static void test_evloop_del_waits(void **state)
{
	FvEvloop *loop = fv_evloop_new(NULL);
	Ev ev = { 0 };
	(void)state;

	ev.loop = loop;
	ev.fd = efd();
	ev.sleep_ms = 150;
	assert_int_equal(fv_evloop_add(loop, ev.fd, ev_count, &ev), 0);
	efd_put(ev.fd);
	assert_true(wait_flag(&ev.in));
	assert_false(ev.done);
	assert_int_equal(fv_evloop_del(loop, ev.fd), 0);
	assert_true(ev.done);	/* del returned only after the callback */
	assert_int_equal(ev.calls, 1);
	fv_evloop_free(loop);
	close(ev.fd);
}

static void test_evloop_del_self(void **state)
{
	FvEvloop *loop = fv_evloop_new(NULL);
	Ev ev = { 0 };
	(void)state;

	ev.loop = loop;
	ev.fd = efd();
	ev.del_self = true;
	ev.del_ret = 99;
	assert_int_equal(fv_evloop_add(loop, ev.fd, ev_count, &ev), 0);
	efd_put(ev.fd);
	assert_true(wait_flag(&ev.done));
	assert_int_equal(ev.del_ret, 0);
	efd_put(ev.fd);
	sleep_ms(30);
	assert_int_equal(ev.calls, 1);
	assert_int_equal(fv_evloop_del(loop, ev.fd), -ENOENT);
	fv_evloop_free(loop);
	close(ev.fd);
}

static void ev_lock(void *opaque, int fd, uint32_t events)
{
	Ev *ev = opaque;
	(void)events; (void)fd;

	ev->in = true;
	ev->lock_result = fv_evloop_lock_sim(ev->loop, ev->dev);
	if (ev->lock_result) {
		uint64_t v;

		if (read(fd, &v, sizeof(v)) < 0)
			v = 0;
		sim_device_unlock(ev->dev);
	}
	ev->cancelled = fv_evloop_cancelled(ev->loop);
	ev->calls++;
	ev->done = true;
}

static void test_evloop_lock_sim(void **state)
{
	FvEvloop *loop = fv_evloop_new(NULL);
	SimDevice *dev = model("dma-test", NULL);
	Ev ev = { 0 };
	(void)state;

	ev.loop = loop;
	ev.dev = dev;
	ev.fd = efd();
	assert_int_equal(fv_evloop_add(loop, ev.fd, ev_lock, &ev), 0);
	/* uncontended: the lock is taken */
	efd_put(ev.fd);
	assert_true(wait_flag(&ev.done));
	assert_true(ev.lock_result);
	assert_false(ev.cancelled);
	/* contended: the callback waits while the lock is held ... */
	ev.done = ev.in = false;
	sim_device_lock(dev);
	efd_put(ev.fd);
	assert_true(wait_flag(&ev.in));
	sleep_ms(20);
	assert_false(ev.done);
	/* ... and gets it when released */
	sim_device_unlock(dev);
	assert_true(wait_flag(&ev.done));
	assert_true(ev.lock_result);
	/* the deleter holds the lock the callback wants: no deadlock */
	ev.done = ev.in = false;
	sim_device_lock(dev);
	efd_put(ev.fd);
	assert_true(wait_flag(&ev.in));
	assert_int_equal(fv_evloop_del(loop, ev.fd), 0);
	assert_true(ev.done);
	assert_false(ev.lock_result);
	assert_true(ev.cancelled);
	sim_device_unlock(dev);
	assert_int_equal(ev.calls, 3);
	fv_evloop_free(loop);
	sim_device_free(dev);
	close(ev.fd);
}

/* Out of file descriptors: the loop cannot be created, nothing leaks. */
static void test_evloop_new_fails(void **state)
{
	struct rlimit old, low;
	unsigned before = count_fds();
	Error *err = NULL;
	FvEvloop *loop;
	(void)state;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 0;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	loop = fv_evloop_new(&err);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_null(loop);
	assert_non_null(err);
	assert_non_null(strstr(error_get_pretty(err), "event loop"));
	error_free(err);
	assert_int_equal(count_fds(), before);
}

/* Two watches ready in one batch; the first one run deletes the other. */
typedef struct Pair {
	FvEvloop *loop;
	int fd[2];
	volatile unsigned calls[2];
	volatile bool gate_in;
	int del_ret;
} Pair;

static void pair_cb(void *opaque, int fd, uint32_t events)
{
	Pair *p = opaque;
	unsigned me = fd == p->fd[0] ? 0 : 1;
	uint64_t v;
	(void)events;

	if (read(fd, &v, sizeof(v)) < 0)
		return;
	p->calls[me]++;
	p->del_ret = fv_evloop_del(p->loop, p->fd[1 - me]);
}

static void gate_cb(void *opaque, int fd, uint32_t events)
{
	Pair *p = opaque;
	uint64_t v;
	(void)events;

	if (read(fd, &v, sizeof(v)) < 0)
		return;
	p->gate_in = true;
	sleep_ms(100);
}

static void test_evloop_stale_event_skipped(void **state)
{
	Pair p = { .loop = fv_evloop_new(NULL), .del_ret = 99 };
	int gate = efd();
	(void)state;

	p.fd[0] = efd();
	p.fd[1] = efd();
	assert_int_equal(fv_evloop_add(p.loop, gate, gate_cb, &p), 0);
	assert_int_equal(fv_evloop_add(p.loop, p.fd[0], pair_cb, &p), 0);
	assert_int_equal(fv_evloop_add(p.loop, p.fd[1], pair_cb, &p), 0);
	/* hold the loop in the gate callback while both become ready */
	efd_put(gate);
	assert_true(wait_flag(&p.gate_in));
	efd_put(p.fd[0]);
	efd_put(p.fd[1]);
	sleep_ms(200);
	assert_int_equal(p.calls[0] + p.calls[1], 1);
	assert_int_equal(p.del_ret, 0);
	fv_evloop_free(p.loop);
	close(gate); close(p.fd[0]); close(p.fd[1]);
}

/* Deleted while the callback had not yet asked for the lock. */
static void ev_late_lock(void *opaque, int fd, uint32_t events)
{
	Ev *ev = opaque;
	(void)events; (void)fd;

	ev->in = true;
	sleep_ms(100);
	ev->lock_result = fv_evloop_lock_sim(ev->loop, ev->dev);
	ev->done = true;
}

static void test_evloop_lock_after_cancel(void **state)
{
	FvEvloop *loop = fv_evloop_new(NULL);
	SimDevice *dev = model("dma-test", NULL);
	Ev ev = { 0 };
	(void)state;

	ev.loop = loop;
	ev.dev = dev;
	ev.fd = efd();
	ev.lock_result = true;
	assert_int_equal(fv_evloop_add(loop, ev.fd, ev_late_lock, &ev), 0);
	efd_put(ev.fd);
	assert_true(wait_flag(&ev.in));
	assert_int_equal(fv_evloop_del(loop, ev.fd), 0);
	assert_true(ev.done);
	assert_false(ev.lock_result);
	/* and the lock was not left held */
	assert_true(sim_device_trylock(dev));
	sim_device_unlock(dev);
	fv_evloop_free(loop);
	sim_device_free(dev);
	close(ev.fd);
}

/* Freeing the loop while its callback waits for a lock the freer holds. */
static void test_evloop_free_cancels_lock_wait(void **state)
{
	FvEvloop *loop = fv_evloop_new(NULL);
	SimDevice *dev = model("dma-test", NULL);
	Ev ev = { 0 };
	(void)state;

	ev.loop = loop;
	ev.dev = dev;
	ev.fd = efd();
	assert_int_equal(fv_evloop_add(loop, ev.fd, ev_lock, &ev), 0);
	sim_device_lock(dev);
	efd_put(ev.fd);
	assert_true(wait_flag(&ev.in));
	fv_evloop_free(loop);
	assert_true(ev.done);
	assert_false(ev.lock_result);
	assert_true(ev.cancelled);
	sim_device_unlock(dev);
	sim_device_free(dev);
	close(ev.fd);
}

/*
 * The INTx unmask eventfd is removed while its callback waits for the
 * device lock held by the remover (SET_IRQS from another thread holds it).
 */
static void test_irqs_unmask_teardown_race(void **state)
{
	Fx *fx = fx_dmatest();
	int e = efd(), u = efd();
	(void)state;

	for (unsigned round = 0; round < 20; round++) {
		assert_int_equal(set_fd1(fx, TRIG, INTX, e), 0);
		assert_int_equal(set_fd1(fx, UNMASK, INTX, u), 0);
		sim_device_lock(fx->dev);
		efd_put(u);
		sleep_ms(2);	/* let the loop pick it up and spin on the lock */
		assert_int_equal(set_none(fx, TRIG, INTX, 0, 0), 0);
		sim_device_unlock(fx->dev);
		efd_take(u);
	}
	assert_int_equal(fv_irqs_type(fx->q), FV_IRQ_TYPE_NONE);
	close(e); close(u);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_dmatest),
		cmocka_unit_test(test_info_t5vf),
		cmocka_unit_test(test_info_plain),
		cmocka_unit_test(test_info_errors),
		cmocka_unit_test(test_set_check1_efault),
		cmocka_unit_test(test_set_check3),
		cmocka_unit_test(test_set_check4),
		cmocka_unit_test(test_set_check5_data_type),
		cmocka_unit_test(test_set_check6_data_size),
		cmocka_unit_test(test_set_check7_efault_data),
		cmocka_unit_test(test_set_check8_enotty),
		cmocka_unit_test(test_intx_mask_unmask_rows),
		cmocka_unit_test(test_intx_unmask_eventfd_rows),
		cmocka_unit_test(test_intx_trigger_rows),
		cmocka_unit_test(test_intx_automask),
		cmocka_unit_test(test_intx_enable_with_line_high),
		cmocka_unit_test(test_intx_unmask_eventfd),
		cmocka_unit_test(test_intx_virq_disabled),
		cmocka_unit_test(test_msix_delivery),
		cmocka_unit_test(test_msix_pending_until_trigger),
		cmocka_unit_test(test_msix_enable_start_offset),
		cmocka_unit_test(test_msix_errors_roll_back),
		cmocka_unit_test(test_msix_t5vf_pba_quirk),
		cmocka_unit_test(test_msi_delivery),
		cmocka_unit_test(test_msi_qmax_odd_count),
		cmocka_unit_test(test_msi_fewer_vectors),
		cmocka_unit_test(test_msi_not_in_d0),
		cmocka_unit_test(test_msi_32bit_unmaskable),
		cmocka_unit_test(test_err_rows),
		cmocka_unit_test(test_req_rows),
		cmocka_unit_test(test_err_not_pcie),
		cmocka_unit_test(test_err_req_delivery),
		cmocka_unit_test(test_release_closes_everything),
		cmocka_unit_test(test_stray_and_dump),
		cmocka_unit_test(test_new_errors),
		cmocka_unit_test(test_no_callbacks),
		cmocka_unit_test(test_concurrent_device_and_ioctls),
		cmocka_unit_test(test_evloop_basic),
		cmocka_unit_test(test_evloop_del_waits),
		cmocka_unit_test(test_evloop_del_self),
		cmocka_unit_test(test_evloop_lock_sim),
		cmocka_unit_test(test_evloop_new_fails),
		cmocka_unit_test(test_evloop_stale_event_skipped),
		cmocka_unit_test(test_evloop_lock_after_cancel),
		cmocka_unit_test(test_evloop_free_cancels_lock_wait),
		cmocka_unit_test(test_irqs_unmask_teardown_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

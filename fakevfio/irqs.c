/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/irqs.c: vfio-pci interrupts for a simulated device.
 *
 * Behaviour follows Linux 6.1 (Debian 6.1.192): vfio_pci_core.c
 * (vfio_pci_ioctl_get_irq_info, vfio_pci_ioctl_set_irqs,
 * vfio_pci_get_irq_count), vfio_main.c (vfio_set_irqs_validate_and_prepare),
 * vfio_pci_intrs.c (with the persistent-INTx-handler backport), virqfd.c,
 * and for the device side drivers/pci/msi (msi_capability_init,
 * msix_capability_init, pci_msi_shutdown, pci_msix_shutdown) as they program
 * an x86 device.  See vfio-abi.md section 2.4.
 */
#include "irqs.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SET_DATA_MASK (VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | \
		       VFIO_IRQ_SET_DATA_EVENTFD)
#define SET_ACTION_MASK (VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | \
			 VFIO_IRQ_SET_ACTION_TRIGGER)

enum {
	IRQ_INFO_MINSZ = offsetof(struct vfio_irq_info, count) + sizeof(uint32_t),
	IRQ_SET_MINSZ = offsetof(struct vfio_irq_set, count) + sizeof(uint32_t),
	MSI_MAX_VEC = 32,
	MSIX_MAX_VEC = 2048,
};

struct FvIrqs {
	SimDevice *sim;
	FvEvloop *loop;
	FvIrqsConfig cfg;

	/* The device's layout (physical config, read once). */
	unsigned msi_off, msix_off, pm_off;
	unsigned msi_mmc;		/* log2 of the MSI vectors capable */
	bool msi_64, msi_maskable;
	unsigned msix_hw_nvec, msix_bir;
	uint32_t msix_table;

	/* vdev state */
	FvIrqType type;
	unsigned num_ctx;
	int *trig;			/* num_ctx trigger fds (-1: none) */
	bool intx_masked;
	int intx_unmask_fd;		/* the unmask virqfd (-1: none) */
	bool virq_disabled;
	int err_fd, req_fd;

	/* statistics */
	uint64_t intx_count, err_count, req_count, stray;
	uint64_t msi_count[MSI_MAX_VEC];
	uint64_t *msix_count;		/* msix_hw_nvec */
};

/* ---- eventfds ------------------------------------------------------------ */

static void efd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- the host PCI core's view of the device ---------------------------- */

static uint32_t cfg_rd(FvIrqs *q, unsigned off, unsigned len)
{
	uint32_t v = 0;

	sim_cfg_read(q->sim, off, len, &v);
	return v;
}

static void cfg_wr(FvIrqs *q, unsigned off, unsigned len, uint32_t v)
{
	sim_cfg_write(q->sim, off, len, v);
}

/* vfio_pci_memory_lock_and_enable / _unlock_and_restore */
static uint16_t mem_enable(FvIrqs *q)
{
	uint16_t cmd = (uint16_t)cfg_rd(q, PCI_COMMAND, 2);

	if (!(cmd & PCI_COMMAND_MEMORY))
		cfg_wr(q, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
	return cmd;
}

static void mem_restore(FvIrqs *q, uint16_t cmd)
{
	cfg_wr(q, PCI_COMMAND, 2, cmd);
}

/* pci_intx (through pci_intx_for_msi) */
static void pci_intx(FvIrqs *q, bool enable)
{
	uint16_t cmd = (uint16_t)cfg_rd(q, PCI_COMMAND, 2);
	uint16_t n = enable ? (uint16_t)(cmd & ~PCI_COMMAND_INTX_DISABLE) :
			      (uint16_t)(cmd | PCI_COMMAND_INTX_DISABLE);

	if (n != cmd)
		cfg_wr(q, PCI_COMMAND, 2, n);
}

static bool in_d0(FvIrqs *q)
{
	return !q->pm_off ||
	       !(cfg_rd(q, q->pm_off + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK);
}

static void msix_entry_wr(FvIrqs *q, unsigned v, unsigned reg, uint32_t val)
{
	/* Refused (-EIO) when the device does not decode, as on hardware. */
	sim_bar_write(q->sim, q->msix_bir,
		      q->msix_table + (uint64_t)v * PCI_MSIX_ENTRY_SIZE + reg, 4, val);
}

static void msix_ctrl(FvIrqs *q, uint16_t clear, uint16_t set)
{
	uint16_t fl = (uint16_t)cfg_rd(q, q->msix_off + PCI_MSIX_FLAGS, 2);

	cfg_wr(q, q->msix_off + PCI_MSIX_FLAGS, 2, (uint16_t)((fl & ~clear) | set));
}

static unsigned msi_mask_reg(FvIrqs *q)
{
	return q->msi_off + (q->msi_64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

/* msi_multi_mask: every vector the function is capable of. */
static uint32_t msi_multi_mask(FvIrqs *q)
{
	return q->msi_mmc >= 5 ? 0xffffffffu : (1u << (1u << q->msi_mmc)) - 1;
}

static void msi_mask_bits(FvIrqs *q, uint32_t clear, uint32_t set)
{
	uint32_t m;

	if (!q->msi_maskable)
		return;		/* !can_mask */
	m = cfg_rd(q, msi_mask_reg(q), 4);
	cfg_wr(q, msi_mask_reg(q), 4, (m & ~clear) | set);
}

static void vector_mask(FvIrqs *q, unsigned v, bool mask)
{
	if (q->type == FV_IRQ_TYPE_MSIX)
		msix_entry_wr(q, v, PCI_MSIX_ENTRY_VECTOR_CTRL,
			      mask ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
	else
		msi_mask_bits(q, mask ? 0 : 1u << v, mask ? 1u << v : 0);
}

static void msix_write_msg(FvIrqs *q, unsigned v)
{
	msix_entry_wr(q, v, PCI_MSIX_ENTRY_LOWER_ADDR, FV_IRQS_MSI_ADDR);
	msix_entry_wr(q, v, PCI_MSIX_ENTRY_UPPER_ADDR, 0);
	msix_entry_wr(q, v, PCI_MSIX_ENTRY_DATA, FV_IRQS_MSIX_DATA_BASE + v);
}

/*
 * pci_alloc_irq_vectors(pdev, 1, nvec, PCI_IRQ_MSIX): the vectors got, or
 * -errno.  The order of the checks is __pci_enable_msix_range's.
 */
static int alloc_msix(FvIrqs *q, int nvec)
{
	if (nvec < 1)
		return -ERANGE;
	if (!in_d0(q))
		return -EINVAL;
	if ((unsigned)nvec > q->msix_hw_nvec)
		nvec = (int)q->msix_hw_nvec;
	/* msix_capability_init */
	msix_ctrl(q, PCI_MSIX_FLAGS_ENABLE, 0);
	msix_ctrl(q, 0, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE);
	for (unsigned v = 0; v < (unsigned)nvec; v++) {
		msix_entry_wr(q, v, PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_ENTRY_CTRL_MASKBIT);
		msix_write_msg(q, v);
	}
	pci_intx(q, false);
	for (unsigned v = 0; v < q->msix_hw_nvec; v++)
		msix_entry_wr(q, v, PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	msix_ctrl(q, PCI_MSIX_FLAGS_MASKALL, 0);
	return nvec;
}

/* pci_free_irq_vectors -> pci_msix_shutdown */
static void free_msix(FvIrqs *q, unsigned nvec)
{
	for (unsigned v = 0; v < nvec; v++)
		msix_entry_wr(q, v, PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	msix_ctrl(q, PCI_MSIX_FLAGS_ENABLE, 0);
	pci_intx(q, true);
}

/* pci_alloc_irq_vectors(pdev, 1, nvec, PCI_IRQ_MSI) (__pci_enable_msi_range) */
static int alloc_msi(FvIrqs *q, int nvec)
{
	unsigned o = q->msi_off, multiple = 0;
	uint16_t fl;

	if (!in_d0(q))
		return -EINVAL;
	if (nvec < 1)
		return -ERANGE;
	if (nvec > (1 << q->msi_mmc))
		nvec = 1 << q->msi_mmc;
	/* No multi-MSI: msi_capability_init answers 1, the core retries with 1. */
	if (q->cfg.no_multi_msi)
		nvec = 1;
	while ((1 << multiple) < nvec)
		multiple++;
	/* msi_capability_init: mask everything, write the message, enable. */
	msi_mask_bits(q, 0, msi_multi_mask(q));
	fl = (uint16_t)cfg_rd(q, o + PCI_MSI_FLAGS, 2);
	fl = (uint16_t)((fl & ~PCI_MSI_FLAGS_QSIZE) | multiple << 4);
	cfg_wr(q, o + PCI_MSI_FLAGS, 2, fl);
	cfg_wr(q, o + PCI_MSI_ADDRESS_LO, 4, FV_IRQS_MSI_ADDR);
	if (q->msi_64) {
		cfg_wr(q, o + PCI_MSI_ADDRESS_HI, 4, 0);
		cfg_wr(q, o + PCI_MSI_DATA_64, 2, FV_IRQS_MSI_DATA_BASE);
	} else {
		cfg_wr(q, o + PCI_MSI_DATA_32, 2, FV_IRQS_MSI_DATA_BASE);
	}
	pci_intx(q, false);
	cfg_wr(q, o + PCI_MSI_FLAGS, 2, fl | PCI_MSI_FLAGS_ENABLE);
	return nvec;
}

/* pci_free_irq_vectors -> pci_msi_shutdown */
static void free_msi(FvIrqs *q)
{
	uint16_t fl = (uint16_t)cfg_rd(q, q->msi_off + PCI_MSI_FLAGS, 2);

	cfg_wr(q, q->msi_off + PCI_MSI_FLAGS, 2, fl & ~PCI_MSI_FLAGS_ENABLE);
	pci_intx(q, true);
	/* "Return the device with MSI unmasked as initial states" */
	msi_mask_bits(q, msi_multi_mask(q), 0);
}

/* ---- irq_type ----------------------------------------------------------- */

static void set_type(FvIrqs *q, FvIrqType type, unsigned num_ctx, int *trig)
{
	free(q->trig);
	q->trig = trig;
	q->num_ctx = num_ctx;
	q->type = type;
	if (q->cfg.set_irq_type)
		q->cfg.set_irq_type(q->cfg.opaque, type);
}

static int *new_ctx(unsigned n)
{
	int *t = malloc((n ? n : 1) * sizeof(*t));

	if (t)
		for (unsigned i = 0; i < n; i++)
			t[i] = -1;
	return t;
}

/* ---- INTx --------------------------------------------------------------- */

static bool is_intx(const FvIrqs *q)
{
	return q->type == FV_IRQ_TYPE_INTX;
}

/* vfio_send_intx_eventfd; true when something was signalled. */
static bool intx_send(FvIrqs *q)
{
	if (!is_intx(q) || q->virq_disabled || q->trig[0] < 0)
		return false;
	fv_eventfd_signal(q->trig[0]);
	return true;
}

/* The host IRQ handler: the line is high and the IRQ enabled. */
static void intx_handler(FvIrqs *q)
{
	q->intx_masked = true;
	if (intx_send(q))
		q->intx_count++;
}

/* A level-triggered IRQ that is enabled fires while the line is high. */
static void intx_check_line(FvIrqs *q)
{
	if (is_intx(q) && !q->intx_masked && sim_intx_asserted(q->sim))
		intx_handler(q);
}

/* vfio_pci_intx_mask */
static void intx_mask(FvIrqs *q)
{
	if (is_intx(q))
		q->intx_masked = true;
}

/* vfio_pci_intx_unmask (handler, then the eventfd when still pending) */
static void intx_unmask(FvIrqs *q)
{
	if (is_intx(q) && q->intx_masked && !q->virq_disabled) {
		q->intx_masked = false;
		intx_check_line(q);
	}
}

/* The unmask eventfd was signalled (virqfd_wakeup, on the loop thread). */
static void unmask_fd_ready(void *opaque, int fd, uint32_t events)
{
	FvIrqs *q = opaque;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t cnt;
	ssize_t r;

	(void)events;
	if (!fv_evloop_lock_sim(q->loop, q->sim))
		return;		/* being removed */
	/* Shared, maybe blocking file: read only what is there. */
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
		r = read(fd, &cnt, sizeof(cnt));
		(void)r;
		intx_unmask(q);
	}
	sim_device_unlock(q->sim);
}

static void unmask_fd_drop(FvIrqs *q)
{
	if (q->intx_unmask_fd < 0)
		return;
	fv_evloop_del(q->loop, q->intx_unmask_fd);
	efd_close(&q->intx_unmask_fd);
}

/* vfio_virqfd_enable(..., vfio_pci_intx_unmask_handler, ...) */
static long unmask_fd_set(FvIrqs *q, const FvUser *u, int32_t ufd)
{
	struct pollfd p;
	int fd = fv_user_get_eventfd(u, ufd);
	int ret;

	if (fd < 0)
		return fd;
	if (q->intx_unmask_fd >= 0) {
		close(fd);
		return -EBUSY;
	}
	/*
	 * An event already pending is handled at once, as the kernel does
	 * (which also leaves it unread; we drain it so that the loop does
	 * not handle it a second time).
	 */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
		uint64_t cnt;
		ssize_t r = read(fd, &cnt, sizeof(cnt));

		(void)r;
		intx_unmask(q);
	}
	ret = fv_evloop_add(q->loop, fd, unmask_fd_ready, q);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	q->intx_unmask_fd = fd;
	return 0;
}

/* vfio_intx_enable (with its trigger, as in the 6.1 backport) */
static long intx_enable(FvIrqs *q, int trigger)
{
	int *t;

	if (q->type != FV_IRQ_TYPE_NONE)
		return -EINVAL;
	if (!q->cfg.pin)
		return -ENODEV;		/* !pdev->irq; unreachable: count 0 */
	t = new_ctx(1);
	if (!t)
		return -ENOMEM;
	t[0] = trigger;
	q->intx_masked = q->virq_disabled;
	set_type(q, FV_IRQ_TYPE_INTX, 1, t);
	/* request_irq: an asserted line fires at once unless masked. */
	intx_check_line(q);
	return 0;
}

/* vfio_intx_disable */
static void intx_disable(FvIrqs *q)
{
	unmask_fd_drop(q);
	efd_close(&q->trig[0]);
	q->intx_masked = false;
	set_type(q, FV_IRQ_TYPE_NONE, 0, NULL);
}

/* ---- MSI / MSI-X -------------------------------------------------------- */

/* vfio_msi_enable: 0, the positive count got when fewer, or -errno. */
static long msi_enable(FvIrqs *q, unsigned nvec, bool msix)
{
	uint16_t cmd;
	int got;
	int *t;

	if (q->type != FV_IRQ_TYPE_NONE)
		return -EINVAL;
	t = new_ctx(nvec);
	if (!t)
		return -ENOMEM;
	cmd = mem_enable(q);
	got = msix ? alloc_msix(q, (int)nvec) : alloc_msi(q, (int)nvec);
	if (got < (int)nvec) {
		if (got > 0) {
			if (msix)
				free_msix(q, (unsigned)got);
			else
				free_msi(q);
		}
		mem_restore(q, cmd);
		free(t);
		return got;
	}
	mem_restore(q, cmd);
	set_type(q, msix ? FV_IRQ_TYPE_MSIX : FV_IRQ_TYPE_MSI, nvec, t);
	if (!msix && q->cfg.set_msi_qmax) {
		unsigned v = nvec * 2 - 1, fls = 0;

		while (v) {
			fls++;
			v >>= 1;
		}
		q->cfg.set_msi_qmax(q->cfg.opaque, fls - 1);
	}
	return 0;
}

/* vfio_msi_set_vector_signal */
static long msi_set_vector(FvIrqs *q, const FvUser *u, unsigned v, int32_t ufd)
{
	uint16_t cmd;
	int fd;

	if (v >= q->num_ctx)
		return -EINVAL;
	if (q->trig[v] >= 0) {
		/* free_irq: the vector is shut down, i.e. masked. */
		cmd = mem_enable(q);
		vector_mask(q, v, true);
		mem_restore(q, cmd);
		efd_close(&q->trig[v]);
	}
	if (ufd < 0)
		return 0;
	fd = fv_user_get_eventfd(u, ufd);
	if (fd < 0)
		return fd;
	cmd = mem_enable(q);
	if (q->type == FV_IRQ_TYPE_MSIX)
		msix_write_msg(q, v);	/* restore the cached message */
	/* request_irq: unmasked; a pending message is delivered now. */
	q->trig[v] = fd;
	vector_mask(q, v, false);
	mem_restore(q, cmd);
	return 0;
}

/* vfio_msi_set_block */
static long msi_set_block(FvIrqs *q, const FvUser *u, unsigned start,
			  unsigned count, const int32_t *fds)
{
	unsigned i, j;
	long ret = 0;

	if (start >= q->num_ctx || start + count > q->num_ctx)
		return -EINVAL;
	for (i = 0, j = start; i < count && !ret; i++, j++)
		ret = msi_set_vector(q, u, j, fds ? fds[i] : -1);
	if (ret)
		for (j--; j + 1 > start; j--)
			msi_set_vector(q, u, j, -1);
	return ret;
}

/* vfio_msi_disable */
static void msi_disable(FvIrqs *q)
{
	bool msix = q->type == FV_IRQ_TYPE_MSIX;
	uint16_t cmd;

	msi_set_block(q, NULL, 0, q->num_ctx, NULL);
	cmd = mem_enable(q);
	if (msix)
		free_msix(q, q->num_ctx);
	else
		free_msi(q);
	mem_restore(q, cmd);
	set_type(q, FV_IRQ_TYPE_NONE, 0, NULL);
}

/* ---- SET_IRQS handlers ---------------------------------------------------- */

typedef struct SetReq {
	const FvUser *u;
	unsigned index, start, count;
	uint32_t flags;
	const void *data;
} SetReq;

static uint8_t data_bool(const SetReq *r, unsigned i)
{
	return ((const uint8_t *)r->data)[i];
}

static int32_t data_fd(const SetReq *r, unsigned i)
{
	int32_t fd;

	memcpy(&fd, (const uint8_t *)r->data + 4 * i, sizeof(fd));
	return fd;
}

/* vfio_pci_set_intx_unmask */
static long set_intx_unmask(FvIrqs *q, const SetReq *r)
{
	if (!is_intx(q) || r->start != 0 || r->count != 1)
		return -EINVAL;
	if (r->flags & VFIO_IRQ_SET_DATA_NONE) {
		intx_unmask(q);
	} else if (r->flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (data_bool(r, 0))
			intx_unmask(q);
	} else {
		int32_t fd = data_fd(r, 0);

		if (fd >= 0)
			return unmask_fd_set(q, r->u, fd);
		unmask_fd_drop(q);
	}
	return 0;
}

/* vfio_pci_set_intx_mask */
static long set_intx_mask(FvIrqs *q, const SetReq *r)
{
	if (!is_intx(q) || r->start != 0 || r->count != 1)
		return -EINVAL;
	if (r->flags & VFIO_IRQ_SET_DATA_NONE) {
		intx_mask(q);
	} else if (r->flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (data_bool(r, 0))
			intx_mask(q);
	} else {
		return -ENOTTY;		/* "XXX implement me" */
	}
	return 0;
}

/* vfio_pci_set_intx_trigger */
static long set_intx_trigger(FvIrqs *q, const SetReq *r)
{
	if (is_intx(q) && !r->count && (r->flags & VFIO_IRQ_SET_DATA_NONE)) {
		intx_disable(q);
		return 0;
	}
	if (!(is_intx(q) || q->type == FV_IRQ_TYPE_NONE) || r->start != 0 ||
	    r->count != 1)
		return -EINVAL;
	if (r->flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		int32_t ufd = data_fd(r, 0);
		int trigger = -1;
		long ret;

		if (ufd >= 0) {
			trigger = fv_user_get_eventfd(r->u, ufd);
			if (trigger < 0)
				return trigger;
		}
		if (is_intx(q)) {
			/* vfio_intx_set_signal: swap the trigger. */
			efd_close(&q->trig[0]);
			q->trig[0] = trigger;
			return 0;
		}
		ret = intx_enable(q, trigger);
		if (ret && trigger >= 0)
			close(trigger);
		return ret;
	}
	if (!is_intx(q))
		return -EINVAL;
	if ((r->flags & VFIO_IRQ_SET_DATA_NONE) || data_bool(r, 0))
		intx_send(q);
	return 0;
}

/* vfio_pci_set_msi_trigger */
static long set_msi_trigger(FvIrqs *q, const SetReq *r)
{
	FvIrqType want = (FvIrqType)r->index;

	if (q->type == want && !r->count && (r->flags & VFIO_IRQ_SET_DATA_NONE)) {
		msi_disable(q);
		return 0;
	}
	if (!(q->type == want || q->type == FV_IRQ_TYPE_NONE))
		return -EINVAL;
	if (r->flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		long ret;

		if (q->type == want)
			return msi_set_block(q, r->u, r->start, r->count, r->data);
		ret = msi_enable(q, r->start + r->count, want == FV_IRQ_TYPE_MSIX);
		if (ret)
			return ret;
		ret = msi_set_block(q, r->u, r->start, r->count, r->data);
		if (ret)
			msi_disable(q);
		return ret;
	}
	if (q->type != want || r->start + r->count > q->num_ctx)
		return -EINVAL;
	for (unsigned i = r->start; i < r->start + r->count; i++) {
		if (q->trig[i] < 0)
			continue;
		if ((r->flags & VFIO_IRQ_SET_DATA_NONE) || data_bool(r, i - r->start))
			fv_eventfd_signal(q->trig[i]);
	}
	return 0;
}

/* vfio_pci_set_ctx_trigger_single */
static long set_ctx_trigger_single(int *ctx, const SetReq *r)
{
	if (r->flags & VFIO_IRQ_SET_DATA_NONE) {
		if (*ctx >= 0) {
			if (r->count)
				fv_eventfd_signal(*ctx);
			else
				efd_close(ctx);
			return 0;
		}
	} else if (r->flags & VFIO_IRQ_SET_DATA_BOOL) {
		if (!r->count)
			return -EINVAL;
		if (data_bool(r, 0) && *ctx >= 0)
			fv_eventfd_signal(*ctx);
		return 0;
	} else {
		int32_t ufd;

		if (!r->count)
			return -EINVAL;
		ufd = data_fd(r, 0);
		if (ufd == -1) {
			efd_close(ctx);
		} else if (ufd >= 0) {
			int fd = fv_user_get_eventfd(r->u, ufd);

			if (fd < 0)
				return fd;
			efd_close(ctx);
			*ctx = fd;
		}
		return 0;
	}
	return -EINVAL;
}

/* vfio_pci_set_err_trigger / vfio_pci_set_req_trigger */
static long set_err_req_trigger(FvIrqs *q, const SetReq *r)
{
	if (r->start != 0 || r->count > 1)
		return -EINVAL;
	return set_ctx_trigger_single(r->index == VFIO_PCI_ERR_IRQ_INDEX ?
				      &q->err_fd : &q->req_fd, r);
}

/* vfio_pci_set_irqs_ioctl */
static long set_irqs_locked(FvIrqs *q, const SetReq *r)
{
	uint32_t action = r->flags & SET_ACTION_MASK;

	switch (r->index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		switch (action) {
		case VFIO_IRQ_SET_ACTION_MASK:
			return set_intx_mask(q, r);
		case VFIO_IRQ_SET_ACTION_UNMASK:
			return set_intx_unmask(q, r);
		case VFIO_IRQ_SET_ACTION_TRIGGER:
			return set_intx_trigger(q, r);
		}
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return set_msi_trigger(q, r);
		break;
	case VFIO_PCI_ERR_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER && q->cfg.is_pcie)
			return set_err_req_trigger(q, r);
		break;
	case VFIO_PCI_REQ_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return set_err_req_trigger(q, r);
		break;
	}
	return -ENOTTY;
}

/* ---- ioctls --------------------------------------------------------------- */

/* vfio_pci_get_irq_count */
static unsigned irq_count(FvIrqs *q, unsigned index)
{
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		return q->cfg.pin ? 1 : 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		if (!q->msi_off)
			return 0;
		return 1u << ((cfg_rd(q, q->msi_off + PCI_MSI_FLAGS, 2) &
			       PCI_MSI_FLAGS_QMASK) >> 1);
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (!q->msix_off)
			return 0;
		return (cfg_rd(q, q->msix_off + PCI_MSIX_FLAGS, 2) &
			PCI_MSIX_FLAGS_QSIZE) + 1;
	case VFIO_PCI_ERR_IRQ_INDEX:
		return q->cfg.is_pcie ? 1 : 0;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	}
	return 0;
}

unsigned fv_irqs_count(FvIrqs *q, unsigned index)
{
	unsigned n;

	sim_device_lock(q->sim);
	n = irq_count(q, index);
	sim_device_unlock(q->sim);
	return n;
}

long fv_irqs_get_info(FvIrqs *q, const FvUser *u, uint64_t arg)
{
	struct vfio_irq_info info;
	int ret;

	ret = fv_user_read(u, arg, &info, IRQ_INFO_MINSZ);
	if (ret)
		return ret;
	if (info.argsz < IRQ_INFO_MINSZ || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	if (info.index == VFIO_PCI_ERR_IRQ_INDEX && !q->cfg.is_pcie)
		return -EINVAL;
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	info.count = fv_irqs_count(q, info.index);
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
	return fv_user_write(u, arg, &info, IRQ_INFO_MINSZ);
}

long fv_irqs_set(FvIrqs *q, const FvUser *u, uint64_t arg)
{
	struct vfio_irq_set hdr;
	size_t size = 0, data_size = 0;
	void *data = NULL;
	unsigned max;
	SetReq r;
	long ret;

	ret = fv_user_read(u, arg, &hdr, IRQ_SET_MINSZ);
	if (ret)
		return ret;
	/* vfio_set_irqs_validate_and_prepare */
	max = fv_irqs_count(q, hdr.index);
	if (hdr.argsz < IRQ_SET_MINSZ || hdr.index >= VFIO_PCI_NUM_IRQS ||
	    hdr.count >= UINT32_MAX - hdr.start ||
	    (hdr.flags & ~(uint32_t)(SET_DATA_MASK | SET_ACTION_MASK)))
		return -EINVAL;
	if (hdr.start >= max || hdr.start + hdr.count > max)
		return -EINVAL;
	switch (hdr.flags & SET_DATA_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		size = 0;
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		size = sizeof(uint8_t);
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		size = sizeof(int32_t);
		break;
	default:
		return -EINVAL;
	}
	if (size) {
		if ((uint64_t)hdr.argsz - IRQ_SET_MINSZ < (uint64_t)hdr.count * size)
			return -EINVAL;
		data_size = hdr.count * size;
	}
	if (data_size) {
		/* memdup_user */
		data = malloc(data_size);
		if (!data)
			return -ENOMEM;
		ret = fv_user_read(u, arg + IRQ_SET_MINSZ, data, data_size);
		if (ret) {
			free(data);
			return ret;
		}
	}
	r = (SetReq){ .u = u, .index = hdr.index, .start = hdr.start,
		      .count = hdr.count, .flags = hdr.flags, .data = data };
	sim_device_lock(q->sim);
	ret = set_irqs_locked(q, &r);
	sim_device_unlock(q->sim);
	free(data);
	return ret;
}

/* ---- lifecycle ---------------------------------------------------------- */

FvIrqs *fv_irqs_new(SimDevice *sim, FvEvloop *loop, const FvIrqsConfig *cfg,
		    Error **errp)
{
	FvIrqs *q;

	if (!sim || !loop || !cfg) {
		error_setg(errp, "fv_irqs_new: a device, an event loop and a config are required");
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	q->sim = sim;
	q->loop = loop;
	q->cfg = *cfg;
	q->type = FV_IRQ_TYPE_NONE;
	q->intx_unmask_fd = q->err_fd = q->req_fd = -1;

	sim_device_lock(sim);
	q->pm_off = sim_cap_find(sim, PCI_CAP_ID_PM);
	q->msi_off = sim_cap_find(sim, PCI_CAP_ID_MSI);
	if (q->msi_off) {
		uint16_t fl = (uint16_t)cfg_rd(q, q->msi_off + PCI_MSI_FLAGS, 2);

		q->msi_mmc = (fl & PCI_MSI_FLAGS_QMASK) >> 1;
		if (q->msi_mmc > 5)
			q->msi_mmc = 5;
		q->msi_64 = fl & PCI_MSI_FLAGS_64BIT;
		q->msi_maskable = fl & PCI_MSI_FLAGS_MASKBIT;
	}
	q->msix_off = sim_cap_find(sim, PCI_CAP_ID_MSIX);
	if (q->msix_off) {
		uint32_t tbl = cfg_rd(q, q->msix_off + PCI_MSIX_TABLE, 4);

		q->msix_hw_nvec = (cfg_rd(q, q->msix_off + PCI_MSIX_FLAGS, 2) &
				   PCI_MSIX_FLAGS_QSIZE) + 1;
		q->msix_bir = tbl & PCI_MSIX_TABLE_BIR;
		q->msix_table = tbl & PCI_MSIX_TABLE_OFFSET;
	}
	sim_device_unlock(sim);
	q->msix_count = calloc(q->msix_hw_nvec ? q->msix_hw_nvec : 1,
			       sizeof(*q->msix_count));
	if (!q->msix_count) {
		free(q);
		error_setg(errp, "out of memory");
		return NULL;
	}
	return q;
}

void fv_irqs_release(FvIrqs *q)
{
	sim_device_lock(q->sim);
	switch (q->type) {
	case FV_IRQ_TYPE_INTX:
		intx_disable(q);
		break;
	case FV_IRQ_TYPE_MSI:
	case FV_IRQ_TYPE_MSIX:
		msi_disable(q);
		break;
	case FV_IRQ_TYPE_NONE:
		break;
	}
	q->virq_disabled = false;
	efd_close(&q->err_fd);
	efd_close(&q->req_fd);
	sim_device_unlock(q->sim);
}

void fv_irqs_free(FvIrqs *q)
{
	if (!q)
		return;
	fv_irqs_release(q);
	free(q->msix_count);
	free(q);
}

/* vfio_basic_config_write's INTx-disable emulation */
void fv_irqs_set_virq_disabled(FvIrqs *q, bool disabled)
{
	sim_device_lock(q->sim);
	if (disabled && !q->virq_disabled) {
		q->virq_disabled = true;
		intx_mask(q);
	} else if (!disabled && q->virq_disabled) {
		q->virq_disabled = false;
		intx_unmask(q);
	}
	sim_device_unlock(q->sim);
}

/* ---- device-side inputs ---------------------------------------------------- */

void fv_irqs_on_msi(FvIrqs *q, uint64_t addr, uint32_t data)
{
	uint64_t *count = NULL;
	unsigned v = 0;

	sim_device_lock(q->sim);
	if (addr == FV_IRQS_MSI_ADDR) {
		if (q->type == FV_IRQ_TYPE_MSIX && data >= FV_IRQS_MSIX_DATA_BASE &&
		    data - FV_IRQS_MSIX_DATA_BASE < q->num_ctx) {
			v = data - FV_IRQS_MSIX_DATA_BASE;
			count = &q->msix_count[v];
		} else if (q->type == FV_IRQ_TYPE_MSI &&
			   (data & ~(uint32_t)(MSI_MAX_VEC - 1)) == FV_IRQS_MSI_DATA_BASE &&
			   (data & (MSI_MAX_VEC - 1)) < q->num_ctx) {
			v = data & (MSI_MAX_VEC - 1);
			count = &q->msi_count[v];
		}
	}
	if (count && q->trig[v] >= 0) {
		fv_eventfd_signal(q->trig[v]);
		(*count)++;
	} else {
		q->stray++;
	}
	sim_device_unlock(q->sim);
}

void fv_irqs_on_intx(FvIrqs *q, bool level)
{
	sim_device_lock(q->sim);
	if (level && is_intx(q) && !q->intx_masked)
		intx_handler(q);
	sim_device_unlock(q->sim);
}

void fv_irqs_on_err(FvIrqs *q)
{
	sim_device_lock(q->sim);
	if (q->err_fd >= 0) {
		fv_eventfd_signal(q->err_fd);
		q->err_count++;
	}
	sim_device_unlock(q->sim);
}

void fv_irqs_on_req(FvIrqs *q)
{
	sim_device_lock(q->sim);
	if (q->req_fd >= 0) {
		fv_eventfd_signal(q->req_fd);
		q->req_count++;
	}
	sim_device_unlock(q->sim);
}

/* ---- state -------------------------------------------------------------- */

FvIrqType fv_irqs_type(FvIrqs *q)
{
	FvIrqType t;

	sim_device_lock(q->sim);
	t = q->type;
	sim_device_unlock(q->sim);
	return t;
}

unsigned fv_irqs_nvec(FvIrqs *q)
{
	unsigned n;

	sim_device_lock(q->sim);
	n = q->num_ctx;
	sim_device_unlock(q->sim);
	return n;
}

bool fv_irqs_has_trigger(FvIrqs *q, unsigned index, unsigned vector)
{
	bool v = false;

	sim_device_lock(q->sim);
	if (index == VFIO_PCI_ERR_IRQ_INDEX)
		v = vector == 0 && q->err_fd >= 0;
	else if (index == VFIO_PCI_REQ_IRQ_INDEX)
		v = vector == 0 && q->req_fd >= 0;
	else if (index == (unsigned)q->type && vector < q->num_ctx)
		v = q->trig[vector] >= 0;
	sim_device_unlock(q->sim);
	return v;
}

bool fv_irqs_intx_masked(FvIrqs *q)
{
	bool v;

	sim_device_lock(q->sim);
	v = is_intx(q) && q->intx_masked;
	sim_device_unlock(q->sim);
	return v;
}

bool fv_irqs_intx_has_unmask_fd(FvIrqs *q)
{
	bool v;

	sim_device_lock(q->sim);
	v = q->intx_unmask_fd >= 0;
	sim_device_unlock(q->sim);
	return v;
}

bool fv_irqs_virq_disabled(FvIrqs *q)
{
	bool v;

	sim_device_lock(q->sim);
	v = q->virq_disabled;
	sim_device_unlock(q->sim);
	return v;
}

uint64_t fv_irqs_delivered(FvIrqs *q, unsigned index, unsigned vector)
{
	uint64_t n = 0;

	sim_device_lock(q->sim);
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		n = vector == 0 ? q->intx_count : 0;
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
		n = vector < MSI_MAX_VEC ? q->msi_count[vector] : 0;
		break;
	case VFIO_PCI_MSIX_IRQ_INDEX:
		n = vector < q->msix_hw_nvec ? q->msix_count[vector] : 0;
		break;
	case VFIO_PCI_ERR_IRQ_INDEX:
		n = vector == 0 ? q->err_count : 0;
		break;
	case VFIO_PCI_REQ_IRQ_INDEX:
		n = vector == 0 ? q->req_count : 0;
		break;
	}
	sim_device_unlock(q->sim);
	return n;
}

uint64_t fv_irqs_stray(FvIrqs *q)
{
	uint64_t n;

	sim_device_lock(q->sim);
	n = q->stray;
	sim_device_unlock(q->sim);
	return n;
}

static const char *type_name(FvIrqType t)
{
	switch (t) {
	case FV_IRQ_TYPE_INTX: return "INTx";
	case FV_IRQ_TYPE_MSI: return "MSI";
	case FV_IRQ_TYPE_MSIX: return "MSI-X";
	case FV_IRQ_TYPE_NONE: break;
	}
	return "none";
}

void fv_irqs_dump(FvIrqs *q, FILE *out)
{
	sim_device_lock(q->sim);
	fprintf(out, "irq_type %s, %u vector(s)\n", type_name(q->type), q->num_ctx);
	fprintf(out, "intx: %s%s%s%s, delivered %llu\n",
		q->cfg.pin ? "pin" : "no pin",
		is_intx(q) && q->trig[0] >= 0 ? ", trigger" : "",
		is_intx(q) && q->intx_masked ? ", masked" : "",
		q->intx_unmask_fd >= 0 ? ", unmask eventfd" : "",
		(unsigned long long)q->intx_count);
	if (q->virq_disabled)
		fprintf(out, "virq_disabled\n");
	if (q->type == FV_IRQ_TYPE_MSI || q->type == FV_IRQ_TYPE_MSIX) {
		for (unsigned v = 0; v < q->num_ctx; v++)
			fprintf(out, "%s %u: %s, delivered %llu\n", type_name(q->type),
				v, q->trig[v] >= 0 ? "trigger" : "no trigger",
				(unsigned long long)(q->type == FV_IRQ_TYPE_MSI ?
						     q->msi_count[v] : q->msix_count[v]));
	}
	fprintf(out, "err: %s, delivered %llu\n", q->err_fd >= 0 ? "trigger" : "no trigger",
		(unsigned long long)q->err_count);
	fprintf(out, "req: %s, delivered %llu\n", q->req_fd >= 0 ? "trigger" : "no trigger",
		(unsigned long long)q->req_count);
	fprintf(out, "stray messages: %llu\n", (unsigned long long)q->stray);
	sim_device_unlock(q->sim);
}

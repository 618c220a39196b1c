/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/vdev.c: the device half of the fake vfio-pci, as Linux 6.1's
 * drivers/vfio/pci/vfio_pci_core.c (open/close, the device fd's ioctls and
 * read/write dispatch), vfio_main.c (VFIO_DEVICE_FEATURE) and
 * vfio_pci_rdwr.c (ioeventfds) do it; vfio-abi.md §1.3-1.4, §2.3-2.5.
 * Read for behaviour, no code copied.
 *
 * The PCI topology this file assumes (the kernel decides hot-reset and
 * bus-reset questions from the real one; the simulated machine has no
 * bridges, so it is defined here):
 *   - bus 0 of every domain is the root bus (pci_is_root_bus): its
 *     functions have neither a slot nor a bus reset, so
 *     GET_PCI_HOT_RESET_INFO and PCI_HOT_RESET fail with ENODEV there, and
 *     the "bus" function-reset method never applies to them;
 *   - every other bus number is the secondary bus of its own PCIe root
 *     port, whose Secondary Bus Reset reaches every function on that bus
 *     (no hotplug slots: never a slot reset).  The affected devices of a
 *     hot reset are the machine's devices with the same domain and bus, in
 *     devfn order; those bound to vfio-pci (FvDevice.vfio_bound) form the
 *     vfio dev_set, and a bus reset through VFIO needs every affected
 *     device in it.  A function alone on such a bus can also be reset by
 *     itself with it (pci_parent_bus_reset, the last of
 *     pci_reset_fn_methods[]), which makes reset_works true for a device
 *     without FLR or PM reset.
 *
 * Low power (VFIO_DEVICE_FEATURE_LOW_POWER_*), the minimal model of 6.1's
 * runtime PM: entry marks the device engaged; when the ioctl returns, the
 * device is "runtime suspended": vfio's suspend callback puts it in D0,
 * the PCI core saves its state and moves it to D3hot.  Every later ioctl or
 * region access resumes it first (D0, state restored), and, with a wakeup
 * eventfd, signals that eventfd and leaves low power; without one the
 * device is suspended again when the access is over, until LOW_POWER_EXIT.
 * Not modelled: masking INTx across the suspend (pm_intx_masked), D3cold,
 * the runtime-suspend of idle (never opened) devices.
 *
 * Locking: per-device state is guarded by the sim device's lock.  One
 * process-wide mutex plays the kernel's dev_set->lock: open, close (with
 * its dev_set bus reset) and PCI_HOT_RESET hold it, and take device locks
 * only inside it.  So none of the fv_vdev_* functions may be called with a
 * sim device lock held.  The host's callbacks (dma, dma_fault,
 * irq_signalled) may run with the device lock held.
 */
#include "vdev.h"

#include <errno.h>
#include <linux/kcmp.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hostpci.h"
#include "irqs.h"
#include "vconfig.h"

/*
 * VFIO_PCI_OFFSET_SHIFT of include/linux/vfio_pci_core.h: kernel-internal,
 * not UAPI (clients must use region_info.offset), so it is defined here.
 */
#define FV_VDEV_OFFSET_SHIFT	40
#define FV_VDEV_OFFSET_MASK	((UINT64_C(1) << FV_VDEV_OFFSET_SHIFT) - 1)
#define FV_VDEV_INDEX_TO_OFFSET(i) ((uint64_t)(i) << FV_VDEV_OFFSET_SHIFT)

#define PAGE_SZ		4096u
#define ENDOF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

enum {
	INFO_MINSZ = ENDOF(struct vfio_device_info, num_irqs),		/* 16 */
	INFO_CAPSZ = ENDOF(struct vfio_device_info, cap_offset),	/* 20 */
	REGION_MINSZ = ENDOF(struct vfio_region_info, offset),		/* 32 */
	HRI_MINSZ = ENDOF(struct vfio_pci_hot_reset_info, count),	/* 12 */
	HR_MINSZ = ENDOF(struct vfio_pci_hot_reset, count),		/* 12 */
	IOEFD_MINSZ = ENDOF(struct vfio_device_ioeventfd, fd),		/* 28 */
	FEAT_MINSZ = ENDOF(struct vfio_device_feature, flags),		/* 8 */
	IOEVENTFD_MAX = 1000,	/* VFIO_PCI_IOEVENTFD_MAX */
};

/* One VFIO_DEVICE_IOEVENTFD (struct vfio_pci_ioeventfd). */
typedef struct IoEventfd {
	struct IoEventfd *next;
	FvVdev *vd;
	int fd;			/* our duplicate of the user's eventfd */
	unsigned bar;
	uint64_t pos, data;
	unsigned count;		/* 1, 2, 4 or 8 */
	uint64_t writes;	/* device writes done */
	uint64_t dropped;	/* signals whose write was refused (memory off) */
} IoEventfd;

struct FvVdev {
	FvVdev *next;		/* the open devices (devset_lock) */
	FvDevice *dev;
	FvMachine *m;
	SimDevice *sim;
	FvEvloop *loop;
	FvVdevHost host;
	FvVdevConfig cfg;

	FvHostPci *hp;		/* the pci_dev */
	FvVconfig *vc;
	FvIrqs *irqs;
	FvPciSavedState *saved;	/* vdev->pci_saved_state */
	bool reset_works;
	bool needs_reset;
	bool nointx, pci_2_3;
	bool bar_mmap[SIM_NUM_BARS];	/* vdev->bar_mmap_supported */

	const SimHostOps *old_ops;	/* what the device had before open */
	void *old_opaque;

	IoEventfd *ioeventfds;
	unsigned ioeventfds_nr;

	/* runtime PM (the low-power features) */
	bool pm_engaged;	/* vdev->pm_runtime_engaged */
	bool pm_suspended;	/* runtime suspended: in D3hot (if it has PM) */
	int pm_wake_fd;		/* vdev->pm_wake_eventfd_ctx (-1: none) */
	unsigned pm_suspends, pm_resumes;
	unsigned hot_resets;	/* bus resets that reached this device */
	uint64_t intx_reported;	/* INTx deliveries told to irq_signalled */
};

/* The kernel's dev_set->lock, and the list of open devices it guards. */
static pthread_mutex_t devset_lock = PTHREAD_MUTEX_INITIALIZER;
static FvVdev *open_list;

static FvVdev *find_open(const FvDevice *d)
{
	for (FvVdev *vd = open_list; vd; vd = vd->next)
		if (vd->dev == d)
			return vd;
	return NULL;
}

/* ---- little helpers ------------------------------------------------------- */

static void le_put(uint8_t *p, unsigned n, uint64_t v)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t cfg_rd16(SimDevice *sim, unsigned off)
{
	uint32_t v = 0xffff;

	sim_cfg_read(sim, off, 2, &v);
	return (uint16_t)v;
}

static void cfg_wr16(SimDevice *sim, unsigned off, uint16_t v)
{
	sim_cfg_write(sim, off, 2, v);
}

/* pci_clear_master */
static void clear_master(SimDevice *sim)
{
	uint16_t cmd = cfg_rd16(sim, PCI_COMMAND);

	if (cmd & PCI_COMMAND_MASTER)
		cfg_wr16(sim, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
}

/* ---- topology ------------------------------------------------------------- */

static bool same_bus(const FvDevice *a, const FvDevice *b)
{
	return a->domain == b->domain && a->bus == b->bus;
}

/* pci_probe_reset_slot() || pci_probe_reset_bus(): see the header comment. */
static bool bus_resettable(const FvDevice *d)
{
	return d->bus != 0;
}

static unsigned devfn(const FvDevice *d)
{
	return d->slot << 3 | d->func;
}

/*
 * The functions a bus reset of d's bus reaches (pci_walk_bus order: devfn),
 * malloc'ed; NULL on ENOMEM.
 */
static FvDevice **bus_devices(const FvMachine *m, const FvDevice *d, unsigned *n)
{
	FvDevice **v = calloc(m->ndevs ? m->ndevs : 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (unsigned i = 0; i < m->ndevs; i++) {
		unsigned j;

		if (!same_bus(m->devs[i], d))
			continue;
		for (j = *n; j > 0 && devfn(v[j - 1]) > devfn(m->devs[i]); j--)
			v[j] = v[j - 1];
		v[j] = m->devs[i];
		(*n)++;
	}
	return v;
}

/*
 * vfio_pci_dev_set_resettable: a bus reset is possible and every device
 * it reaches is in the dev_set (bound to vfio-pci).
 */
static bool dev_set_resettable(const FvMachine *m, const FvDevice *d)
{
	if (!bus_resettable(d))
		return false;
	for (unsigned i = 0; i < m->ndevs; i++)
		if (same_bus(m->devs[i], d) && !m->devs[i]->vfio_bound)
			return false;
	return true;
}

/* ---- the bus reset (pci_reset_bus) ------------------------------------------ */

/* Every function of the bus, with the pci_dev to act through. */
typedef struct BusDev {
	FvDevice *dev;
	FvVdev *vd;		/* open: its own pci_dev and PM state */
	FvHostPci *hp;		/* vd->hp, or a temporary one */
} BusDev;

static void pm_resume(FvVdev *vd);
static void pm_put_locked(FvVdev *vd);

/*
 * With devset_lock held: lock every function of d's bus, resume the open
 * ones, D0 for all (vfio_pci_dev_set_hot_reset), then pci_reset_bus:
 * pci_dev_save_and_disable each, Secondary Bus Reset, pci_dev_restore
 * each.  A reset user space asked for is told to host (may be NULL) for
 * every function.  Returns 0 or -ENOMEM.
 */
static int reset_bus(FvMachine *m, FvDevice *d, const FvVdevHost *host)
{
	FvDevice **devs;
	BusDev *b;
	unsigned n;
	int ret = 0;

	devs = bus_devices(m, d, &n);
	b = calloc(n ? n : 1, sizeof(*b));
	if (!devs || !b) {
		free(devs);
		free(b);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		b[i].dev = devs[i];
		b[i].vd = find_open(devs[i]);
		b[i].hp = b[i].vd ? b[i].vd->hp : fv_hostpci_new(devs[i]->sim, NULL);
		if (!b[i].hp)
			ret = -ENOMEM;
	}
	if (ret)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		sim_device_lock(b[i].dev->sim);
		if (b[i].vd)
			pm_resume(b[i].vd);
		(void)fv_hostpci_set_power(b[i].hp, FV_PCI_D0);
	}
	for (unsigned i = 0; i < n; i++) {
		(void)fv_hostpci_set_power(b[i].hp, FV_PCI_D0);
		fv_hostpci_save_state(b[i].hp);
		cfg_wr16(b[i].dev->sim, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE);
	}
	for (unsigned i = 0; i < n; i++) {
		sim_device_reset(b[i].dev->sim, SIM_RESET_HOT);
		if (b[i].vd)
			b[i].vd->hot_resets++;
		if (host && host->reset)
			host->reset(host->opaque, b[i].dev, "hot");
	}
	for (unsigned i = 0; i < n; i++)
		fv_hostpci_restore_state(b[i].hp);
	for (unsigned i = n; i-- > 0;) {
		if (b[i].vd)
			pm_put_locked(b[i].vd);
		sim_device_unlock(b[i].dev->sim);
	}
out:
	for (unsigned i = 0; i < n; i++)
		if (!b[i].vd)
			fv_hostpci_free(b[i].hp);
	free(devs);
	free(b);
	return ret;
}

/* ---- runtime PM (low power) ------------------------------------------------ */

/* vfio_pci_core_runtime_suspend + the PCI core's runtime suspend. */
static void pm_suspend(FvVdev *vd)
{
	(void)fv_hostpci_set_power(vd->hp, FV_PCI_D0);
	fv_hostpci_save_state(vd->hp);
	/* No PM capability: pci_set_power_state fails, it stays in D0. */
	(void)fv_hostpci_set_power(vd->hp, FV_PCI_D3HOT);
	vd->pm_suspended = true;
	vd->pm_suspends++;
}

/* The PCI core's runtime resume + vfio_pci_core_runtime_resume. */
static void pm_resume(FvVdev *vd)
{
	sim_device_lock(vd->sim);
	if (vd->pm_suspended) {
		(void)fv_hostpci_set_power(vd->hp, FV_PCI_D0);
		fv_hostpci_restore_state(vd->hp);
		vd->pm_suspended = false;
		vd->pm_resumes++;
		if (vd->pm_wake_fd >= 0) {
			fv_eventfd_signal(vd->pm_wake_fd);
			close(vd->pm_wake_fd);
			vd->pm_wake_fd = -1;
			vd->pm_engaged = false;
		}
	}
	sim_device_unlock(vd->sim);
}

/* pm_runtime_put: an engaged device goes back to sleep. */
static void pm_put_locked(FvVdev *vd)
{
	if (vd->pm_engaged && !vd->pm_suspended)
		pm_suspend(vd);
}

static void pm_put(FvVdev *vd)
{
	sim_device_lock(vd->sim);
	pm_put_locked(vd);
	sim_device_unlock(vd->sim);
}

/* __vfio_pci_runtime_pm_exit */
static void pm_exit_locked(FvVdev *vd)
{
	if (!vd->pm_engaged)
		return;
	vd->pm_engaged = false;
	if (vd->pm_wake_fd >= 0) {
		close(vd->pm_wake_fd);
		vd->pm_wake_fd = -1;
	}
}

/* vfio_pci_runtime_pm_entry: takes wake_fd (ours, or -1) on success. */
static long pm_entry(FvVdev *vd, int wake_fd)
{
	long ret = 0;

	sim_device_lock(vd->sim);
	if (vd->pm_engaged) {
		ret = -EINVAL;
	} else {
		vd->pm_engaged = true;
		vd->pm_wake_fd = wake_fd;
	}
	sim_device_unlock(vd->sim);
	return ret;
}

/* ---- the device's outputs (SimHostOps) ---------------------------------------- */

static void report(FvVdev *vd, unsigned index, unsigned vector, uint64_t before)
{
	uint64_t now = fv_irqs_delivered(vd->irqs, index, vector);

	if (!vd->host.irq_signalled)
		return;
	for (; before < now; before++)
		vd->host.irq_signalled(vd->host.opaque, vd->dev, index, vector);
}

/*
 * INTx fires from the device's callback, and also from a SET_IRQS unmask
 * or a Command write clearing Interrupt Disable (not from the unmask
 * eventfd on the loop thread, which irqs.c handles on its own: those are
 * told the next time this runs).
 */
static void report_intx(FvVdev *vd)
{
	uint64_t now;

	sim_device_lock(vd->sim);
	now = fv_irqs_delivered(vd->irqs, VFIO_PCI_INTX_IRQ_INDEX, 0);
	for (; vd->intx_reported < now; vd->intx_reported++)
		if (vd->host.irq_signalled)
			vd->host.irq_signalled(vd->host.opaque, vd->dev,
					       VFIO_PCI_INTX_IRQ_INDEX, 0);
	sim_device_unlock(vd->sim);
}

static void op_msi(void *opaque, SimDevice *sim, uint64_t addr, uint32_t data)
{
	FvVdev *vd = opaque;
	FvIrqType t = fv_irqs_type(vd->irqs);
	unsigned index = t, vector = 0;
	uint64_t before;

	(void)sim;
	if (t == FV_IRQ_TYPE_MSIX)
		vector = data - FV_IRQS_MSIX_DATA_BASE;
	else if (t == FV_IRQ_TYPE_MSI)
		vector = data & 31;
	before = fv_irqs_delivered(vd->irqs, index, vector);
	fv_irqs_on_msi(vd->irqs, addr, data);
	report(vd, index, vector, before);
}

static void op_intx(void *opaque, SimDevice *sim, unsigned pin, bool level)
{
	FvVdev *vd = opaque;

	(void)sim;
	(void)pin;
	fv_irqs_on_intx(vd->irqs, level);
	report_intx(vd);
}

static void op_err(void *opaque, SimDevice *sim)
{
	FvVdev *vd = opaque;
	uint64_t before = fv_irqs_delivered(vd->irqs, VFIO_PCI_ERR_IRQ_INDEX, 0);

	(void)sim;
	fv_irqs_on_err(vd->irqs);
	report(vd, VFIO_PCI_ERR_IRQ_INDEX, 0, before);
}

static void op_req(void *opaque, SimDevice *sim)
{
	FvVdev *vd = opaque;
	uint64_t before = fv_irqs_delivered(vd->irqs, VFIO_PCI_REQ_IRQ_INDEX, 0);

	(void)sim;
	fv_irqs_on_req(vd->irqs);
	report(vd, VFIO_PCI_REQ_IRQ_INDEX, 0, before);
}

static int op_dma(void *opaque, SimDevice *sim, uint64_t iova, void *buf,
		  size_t len, bool write)
{
	FvVdev *vd = opaque;

	(void)sim;
	if (!vd->host.dma)
		return -ENODEV;
	return vd->host.dma(vd->host.opaque, vd->dev, iova, buf, len, write);
}

static void op_dma_fault(void *opaque, SimDevice *sim, uint64_t iova,
			 size_t len, bool write, int err)
{
	FvVdev *vd = opaque;

	(void)sim;
	if (vd->host.dma_fault)
		vd->host.dma_fault(vd->host.opaque, vd->dev, iova, len, write, err);
}

static const SimHostOps vdev_host_ops = {
	.msi = op_msi,
	.intx = op_intx,
	.err = op_err,
	.req = op_req,
	.dma = op_dma,
	.dma_fault = op_dma_fault,
};

/* ---- wiring between vconfig and irqs ------------------------------------------ */

static void vc_intx_disable(void *opaque, bool disabled)
{
	FvVdev *vd = opaque;

	if (vd->irqs)
		fv_irqs_set_virq_disabled(vd->irqs, disabled);
}

/* A reset user space asked for, by the method pci_try_reset_function used. */
static void report_reset(FvVdev *vd)
{
	static const char *const how[] = {
		[FV_RESET_FLR] = "flr", [FV_RESET_AF_FLR] = "flr",
		[FV_RESET_PM] = "pm", [FV_RESET_BUS] = "hot",
	};
	FvResetMethod m = fv_hostpci_reset_method(vd->hp);

	if (vd->host.reset && m != FV_RESET_NONE)
		vd->host.reset(vd->host.opaque, vd->dev, how[m]);
}

static void vc_reset(void *opaque)
{
	report_reset(opaque);
}

static const FvVconfigOps vdev_vconfig_ops = {
	.intx_disable = vc_intx_disable,
	.reset = vc_reset,
};

static void irq_set_msi_qmax(void *opaque, unsigned qmax)
{
	FvVdev *vd = opaque;

	if (vd->vc)
		fv_vconfig_set_msi_qmax(vd->vc, qmax);
}

static void irq_set_type(void *opaque, FvIrqType type)
{
	FvVdev *vd = opaque;

	if (vd->vc)
		fv_vconfig_set_irq_type(vd->vc, type);
}

/* ---- open / close --------------------------------------------------------------- */

/* vfio_pci_nointx: Intel NICs whose INTx masking is broken. */
static bool nointx_quirk(SimDevice *sim)
{
	SimIds ids = sim_device_ids(sim);

	if (ids.vendor != 0x8086)
		return false;
	switch (ids.device) {
	case 0x1572: case 0x1574: case 0x1580: case 0x1581:
	case 0x1583: case 0x1584: case 0x1585: case 0x1586: case 0x1587:
	case 0x1588: case 0x1589: case 0x158a: case 0x158b:
	case 0x37d0: case 0x37d1: case 0x37d2: case 0x1563:
		return true;
	}
	return false;
}

/* pci_intx_mask_supported: does Interrupt Disable stick? */
static bool intx_mask_supported(SimDevice *sim)
{
	uint16_t orig = cfg_rd16(sim, PCI_COMMAND), now;

	cfg_wr16(sim, PCI_COMMAND, orig ^ PCI_COMMAND_INTX_DISABLE);
	now = cfg_rd16(sim, PCI_COMMAND);
	cfg_wr16(sim, PCI_COMMAND, orig);
	return (now ^ orig) & PCI_COMMAND_INTX_DISABLE;
}

/* vfio_pci_probe_mmaps (the dummy resource always fits here). */
static void probe_mmaps(FvVdev *vd)
{
	for (unsigned i = 0; i < SIM_NUM_BARS; i++) {
		FvPciResource r;

		vd->bar_mmap[i] = fv_hostpci_resource(vd->hp, i, &r) && !r.io &&
				  r.len && (r.len >= PAGE_SZ || !(r.start & (PAGE_SZ - 1)));
	}
}

/* A function alone on a non-root bus: the "bus" reset method applies. */
static bool alone_on_bus(const FvMachine *m, const FvDevice *d)
{
	if (!bus_resettable(d))
		return false;
	for (unsigned i = 0; i < m->ndevs; i++)
		if (m->devs[i] != d && same_bus(m->devs[i], d))
			return false;
	return true;
}

static void vdev_free(FvVdev *vd)
{
	fv_irqs_free(vd->irqs);
	fv_vconfig_free(vd->vc);
	fv_hostpci_free_saved_state(vd->saved);
	fv_hostpci_free(vd->hp);
	free(vd);
}

FvVdev *fv_vdev_open(FvDevice *dev, FvMachine *m, FvEvloop *loop,
		     const FvVdevHost *host, const FvVdevConfig *cfg,
		     Error **errp)
{
	FvIrqsConfig icfg = { 0 };
	FvVdev *vd;
	int ret;

	if (!dev || !dev->sim || !m || !loop || !host) {
		error_setg(errp, "vdev: missing device, machine, event loop or host");
		return NULL;
	}
	vd = calloc(1, sizeof(*vd));
	if (!vd) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	vd->dev = dev;
	vd->m = m;
	vd->sim = dev->sim;
	vd->loop = loop;
	vd->host = *host;
	if (cfg)
		vd->cfg = *cfg;
	vd->pm_wake_fd = -1;

	pthread_mutex_lock(&devset_lock);
	if (find_open(dev)) {
		error_setg(errp, "%s: the device is open already", dev->bdf);
		goto fail;
	}
	vd->hp = fv_hostpci_new(vd->sim, errp);
	if (!vd->hp)
		goto fail;
	fv_hostpci_set_bus_reset(vd->hp, alone_on_bus(m, dev));

	sim_device_lock(vd->sim);
	/* vfio_pci_core_enable */
	(void)fv_hostpci_set_power(vd->hp, FV_PCI_D0);	/* runtime resume */
	clear_master(vd->sim);
	ret = fv_hostpci_enable(vd->hp);
	if (ret) {
		sim_device_unlock(vd->sim);
		error_setg_errno(errp, -ret, "%s: pci_enable_device", dev->bdf);
		goto fail;
	}
	vd->reset_works = fv_hostpci_try_reset(vd->hp) == 0;
	fv_hostpci_save_state(vd->hp);
	vd->saved = fv_hostpci_store_saved_state(vd->hp);
	if (nointx_quirk(vd->sim)) {
		uint16_t cmd = cfg_rd16(vd->sim, PCI_COMMAND);

		vd->nointx = true;
		cfg_wr16(vd->sim, PCI_COMMAND, cmd | PCI_COMMAND_INTX_DISABLE);
	} else {
		vd->pci_2_3 = intx_mask_supported(vd->sim);
	}
	if (vd->pci_2_3) {
		uint16_t cmd = cfg_rd16(vd->sim, PCI_COMMAND);

		if (cmd & PCI_COMMAND_INTX_DISABLE)
			cfg_wr16(vd->sim, PCI_COMMAND, cmd & ~PCI_COMMAND_INTX_DISABLE);
	}
	/* A pin with no IRQ routed counts as nointx for the virtual pin. */
	vd->vc = fv_vconfig_new(vd->hp,
				vd->nointx || (sim_cfg_get(vd->sim, PCI_INTERRUPT_PIN, 1) &&
					       !dev->irq) ? FV_VCONFIG_NOINTX : 0,
				&vdev_vconfig_ops, vd, errp);
	if (!vd->vc)
		goto fail_disable;
	/* vfio_pci_core_finish_enable */
	probe_mmaps(vd);

	icfg.pin = (uint8_t)fv_vconfig_virtual_pin(vd->vc);
	icfg.is_pcie = fv_vconfig_is_pcie(vd->vc);
	icfg.set_msi_qmax = irq_set_msi_qmax;
	icfg.set_irq_type = irq_set_type;
	icfg.opaque = vd;
	vd->irqs = fv_irqs_new(vd->sim, loop, &icfg, errp);
	if (!vd->irqs)
		goto fail_disable;

	sim_device_get_host(vd->sim, &vd->old_ops, &vd->old_opaque);
	sim_device_set_host(vd->sim, &vdev_host_ops, vd);
	sim_device_unlock(vd->sim);

	vd->next = open_list;
	open_list = vd;
	pthread_mutex_unlock(&devset_lock);
	return vd;

fail_disable:
	error_prepend(errp, "%s: ", dev->bdf);
	fv_hostpci_disable(vd->hp);
	sim_device_unlock(vd->sim);
fail:
	pthread_mutex_unlock(&devset_lock);
	vdev_free(vd);
	return NULL;
}

static void ioeventfd_free(FvVdev *vd, IoEventfd *e)
{
	fv_evloop_del(vd->loop, e->fd);
	close(e->fd);
	free(e);
}

void fv_vdev_close(FvVdev *vd)
{
	FvPciSavedState *st;

	if (!vd)
		return;
	pthread_mutex_lock(&devset_lock);
	for (FvVdev **pp = &open_list; *pp; pp = &(*pp)->next) {
		if (*pp == vd) {
			*pp = vd->next;
			break;
		}
	}
	sim_device_lock(vd->sim);
	/* vfio_pci_core_disable */
	pm_exit_locked(vd);
	pm_resume(vd);
	(void)fv_hostpci_set_power(vd->hp, FV_PCI_D0);
	clear_master(vd->sim);
	fv_irqs_release(vd->irqs);	/* irq_type off, virq_disabled, ERR/REQ */
	while (vd->ioeventfds) {
		IoEventfd *e = vd->ioeventfds;

		vd->ioeventfds = e->next;
		ioeventfd_free(vd, e);
	}
	vd->ioeventfds_nr = 0;
	fv_vconfig_free(vd->vc);
	vd->vc = NULL;
	vd->needs_reset = true;

	/*
	 * Reset the function if it can be (__pci_reset_function_locked), then
	 * restore the state saved at open; without that state (it could not
	 * be stored) the current state is saved and restored around the reset
	 * instead, or, with no reset either, nothing is done.  The kernel
	 * resets without saving; fv_hostpci_try_reset saves and restores the
	 * current state around the reset, which the open-time state loaded
	 * afterwards overwrites, so the end result is the same.
	 */
	st = vd->saved;
	vd->saved = NULL;
	if (st || vd->reset_works) {
		cfg_wr16(vd->sim, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE);
		if (vd->reset_works && fv_hostpci_try_reset(vd->hp) == 0)
			vd->needs_reset = false;
		if (fv_hostpci_load_saved_state(vd->hp, st))
			fv_hostpci_restore_state(vd->hp);
	}
	fv_hostpci_disable(vd->hp);
	sim_device_unlock(vd->sim);

	/*
	 * vfio_pci_dev_set_try_reset: no other device of the dev_set open,
	 * this one dirty, a bus reset possible.
	 */
	if (vd->needs_reset && dev_set_resettable(vd->m, vd->dev)) {
		bool others = false;

		for (FvVdev *o = open_list; o; o = o->next)
			others |= same_bus(o->dev, vd->dev);
		if (!others && reset_bus(vd->m, vd->dev, NULL) == 0)
			vd->needs_reset = false;
	}

	sim_device_lock(vd->sim);
	sim_device_set_host(vd->sim, vd->old_ops, vd->old_opaque);
	sim_device_unlock(vd->sim);
	pthread_mutex_unlock(&devset_lock);
	vdev_free(vd);
}

/* ---- VFIO_DEVICE_GET_INFO / GET_REGION_INFO ----------------------------------- */

static long get_info(FvVdev *vd, const FvUser *u, uint64_t arg)
{
	struct vfio_device_info info;
	size_t minsz = INFO_MINSZ;

	memset(&info, 0, sizeof(info));
	if (fv_user_read(u, arg, &info, INFO_MINSZ))
		return -EFAULT;
	if (info.argsz < INFO_MINSZ)
		return -EINVAL;
	if (info.argsz >= INFO_CAPSZ) {
		minsz = INFO_CAPSZ;
		info.cap_offset = 0;
	}
	info.flags = VFIO_DEVICE_FLAGS_PCI;
	sim_device_lock(vd->sim);
	if (vd->reset_works)
		info.flags |= VFIO_DEVICE_FLAGS_RESET;
	sim_device_unlock(vd->sim);
	info.num_regions = VFIO_PCI_NUM_REGIONS;	/* no device-specific ones */
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	/* Capabilities: zPCI (s390) only. */
	return fv_user_write(u, arg, &info, minsz) ? -EFAULT : 0;
}

/* The ROM region: the BAR size if pci_map_rom finds an image, else 0. */
static void rom_info(FvVdev *vd, struct vfio_region_info *info)
{
	FvPciResource r;
	uint16_t cmd;
	size_t size;

	info->flags = 0;
	info->size = fv_hostpci_resource(vd->hp, SIM_ROM_SLOT, &r) ? r.len : 0;
	if (!info->size)
		return;		/* no shadow ROM on a simulated device */
	/* vfio_pci_memory_lock_and_enable */
	cmd = cfg_rd16(vd->sim, PCI_COMMAND);
	if (!(cmd & PCI_COMMAND_MEMORY))
		cfg_wr16(vd->sim, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY);
	if (fv_hostpci_map_rom(vd->hp, &size) == 0) {
		info->flags = VFIO_REGION_INFO_FLAG_READ;
		fv_hostpci_unmap_rom(vd->hp);
	} else {
		info->size = 0;
	}
	cfg_wr16(vd->sim, PCI_COMMAND, cmd);
}

static long get_region_info(FvVdev *vd, const FvUser *u, uint64_t arg)
{
	struct vfio_region_info info;
	struct vfio_info_cap_header cap = {
		.id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, .version = 1, .next = 0,
	};
	bool has_cap = false;
	unsigned msix_bar;
	uint32_t msix_off, msix_size;
	FvPciResource r;

	if (fv_user_read(u, arg, &info, REGION_MINSZ))
		return -EFAULT;
	if (info.argsz < REGION_MINSZ)
		return -EINVAL;
	sim_device_lock(vd->sim);
	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info.offset = FV_VDEV_INDEX_TO_OFFSET(info.index);
		info.size = fv_vconfig_cfg_size(vd->vc);
		info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX: case VFIO_PCI_BAR1_REGION_INDEX:
	case VFIO_PCI_BAR2_REGION_INDEX: case VFIO_PCI_BAR3_REGION_INDEX:
	case VFIO_PCI_BAR4_REGION_INDEX: case VFIO_PCI_BAR5_REGION_INDEX:
		info.offset = FV_VDEV_INDEX_TO_OFFSET(info.index);
		info.size = fv_hostpci_resource(vd->hp, info.index, &r) ? r.len : 0;
		if (!info.size) {
			info.flags = 0;
			break;
		}
		info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		/* FvVdevConfig.advertise_mmap stands in for CONFIG_VFIO_PCI_MMAP. */
		if (vd->cfg.advertise_mmap && vd->bar_mmap[info.index]) {
			info.flags |= VFIO_REGION_INFO_FLAG_MMAP;
			has_cap = fv_vconfig_msix_table(vd->vc, &msix_bar, &msix_off,
							&msix_size) &&
				  msix_bar == info.index;
		}
		break;
	case VFIO_PCI_ROM_REGION_INDEX:
		info.offset = FV_VDEV_INDEX_TO_OFFSET(info.index);
		rom_info(vd, &info);
		break;
	case VFIO_PCI_VGA_REGION_INDEX:	/* !vdev->has_vga: no VGA device */
	default:			/* no device-specific regions */
		sim_device_unlock(vd->sim);
		return -EINVAL;
	}
	sim_device_unlock(vd->sim);
	if (has_cap) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (info.argsz < sizeof(info) + sizeof(cap)) {
			info.argsz = sizeof(info) + sizeof(cap);
			info.cap_offset = 0;
		} else {
			if (fv_user_write(u, arg + sizeof(info), &cap, sizeof(cap)))
				return -EFAULT;
			info.cap_offset = sizeof(info);
		}
	}
	return fv_user_write(u, arg, &info, REGION_MINSZ) ? -EFAULT : 0;
}

/* ---- VFIO_DEVICE_RESET and hot reset ---------------------------------------------- */

static long device_reset(FvVdev *vd)
{
	long ret;

	sim_device_lock(vd->sim);
	if (!vd->reset_works) {
		sim_device_unlock(vd->sim);
		return -EINVAL;
	}
	/* Nothing mmapped to zap. */
	(void)fv_hostpci_set_power(vd->hp, FV_PCI_D0);
	ret = fv_hostpci_try_reset(vd->hp);
	if (!ret)
		report_reset(vd);
	sim_device_unlock(vd->sim);
	return ret;
}

static long hot_reset_info(FvVdev *vd, const FvUser *u, uint64_t arg)
{
	struct vfio_pci_hot_reset_info hdr;
	struct vfio_pci_dependent_device *out = NULL;
	FvDevice **devs;
	unsigned n;
	long ret = 0;

	if (fv_user_read(u, arg, &hdr, HRI_MINSZ))
		return -EFAULT;
	if (hdr.argsz < HRI_MINSZ)
		return -EINVAL;
	hdr.flags = 0;
	if (!bus_resettable(vd->dev))
		return -ENODEV;
	devs = bus_devices(vd->m, vd->dev, &n);
	if (!devs)
		return -ENOMEM;
	if (hdr.argsz < HRI_MINSZ + (uint64_t)n * sizeof(*out)) {
		ret = -ENOSPC;
		hdr.count = n;
	} else {
		out = calloc(n, sizeof(*out));
		if (!out) {
			free(devs);
			return -ENOMEM;
		}
		for (unsigned i = 0; i < n; i++) {
			if (!devs[i]->group) {
				ret = -EPERM;	/* cannot reset non-isolated devices */
				break;
			}
			out[i].group_id = (uint32_t)devs[i]->group->id;
			out[i].segment = (uint16_t)devs[i]->domain;
			out[i].bus = (uint8_t)devs[i]->bus;
			out[i].devfn = (uint8_t)devfn(devs[i]);
		}
		if (!ret)
			hdr.count = n;
	}
	free(devs);
	if (fv_user_write(u, arg, &hdr, HRI_MINSZ))
		ret = -EFAULT;
	if (!ret && fv_user_write(u, arg + HRI_MINSZ, out, (size_t)n * sizeof(*out)))
		ret = -EFAULT;
	free(out);
	return ret;
}

static long hot_reset(FvVdev *vd, const FvUser *u, uint64_t arg)
{
	struct vfio_pci_hot_reset hdr;
	FvGroup **groups = NULL;
	FvDevice **devs = NULL;
	int32_t *fds = NULL;
	unsigned n;
	long ret = 0;

	if (fv_user_read(u, arg, &hdr, HR_MINSZ))
		return -EFAULT;
	if (hdr.argsz < HR_MINSZ || hdr.flags)
		return -EINVAL;
	if (!bus_resettable(vd->dev))
		return -ENODEV;
	devs = bus_devices(vd->m, vd->dev, &n);
	if (!devs)
		return -ENOMEM;
	/* One group per device at most; argsz is not checked against count. */
	if (!hdr.count || hdr.count > n) {
		ret = -EINVAL;
		goto out;
	}
	fds = calloc(hdr.count, sizeof(*fds));
	groups = calloc(hdr.count, sizeof(*groups));
	if (!fds || !groups) {
		ret = -ENOMEM;
		goto out;
	}
	if (fv_user_read(u, arg + HR_MINSZ, fds, hdr.count * sizeof(*fds))) {
		ret = -EFAULT;
		goto out;
	}
	for (unsigned i = 0; i < hdr.count; i++) {
		int err = -EINVAL;

		groups[i] = vd->host.group_from_fd ?
			    vd->host.group_from_fd(vd->host.opaque, u, fds[i], &err) : NULL;
		if (!groups[i]) {
			ret = err;
			goto out;
		}
	}
	pthread_mutex_lock(&devset_lock);
	/* vfio_pci_dev_set_hot_reset: the whole dev_set must be covered. */
	if (!dev_set_resettable(vd->m, vd->dev))
		ret = -EINVAL;
	for (unsigned i = 0; i < n && !ret; i++) {
		bool covered = false;

		for (unsigned j = 0; j < hdr.count; j++)
			covered |= devs[i]->group == groups[j];
		if (!covered)
			ret = -EINVAL;
	}
	if (!ret)
		ret = reset_bus(vd->m, vd->dev, &vd->host);
	pthread_mutex_unlock(&devset_lock);
out:
	free(devs);
	free(fds);
	free(groups);
	return ret;
}

/* ---- VFIO_DEVICE_IOEVENTFD ------------------------------------------------------ */

/* The write, as a user write of the region would do it (dropped on -EIO). */
static void ioeventfd_write(IoEventfd *e)
{
	uint8_t b[8];

	le_put(b, e->count, e->data);
	if (fv_vconfig_bar_rw(e->vd->vc, e->bar, b, e->count, e->pos, true) ==
	    (ssize_t)e->count)
		e->writes++;
	else
		e->dropped++;
}

/* Two of our fds on the same open file (kcmp; false when unavailable). */
static bool same_file(int a, int b)
{
	pid_t me = getpid();

	return syscall(SYS_kcmp, me, me, KCMP_FILE, a, b) == 0;
}

/*
 * virqfd_wakeup: the counter is consumed, one write per wakeup.  Every
 * ioeventfd on that eventfd is woken by the kernel (each has its own wait
 * queue entry), so each does its write, the first one reading the counter.
 */
static void ioeventfd_ready(void *opaque, int fd, uint32_t events)
{
	IoEventfd *e = opaque;
	FvVdev *vd = e->vd;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	(void)events;
	if (!fv_evloop_lock_sim(vd->loop, vd->sim))
		return;		/* being removed */
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
		uint64_t cnt;
		ssize_t r = read(fd, &cnt, sizeof(cnt));

		(void)r;
		for (IoEventfd *o = vd->ioeventfds; o; o = o->next)
			if (o == e || same_file(o->fd, fd))
				ioeventfd_write(o);
	}
	sim_device_unlock(vd->sim);
}

/* vfio_pci_ioeventfd, with the device lock held. */
static long ioeventfd_locked(FvVdev *vd, const FvUser *u,
			     const struct vfio_device_ioeventfd *req,
			     unsigned count)
{
	uint64_t pos = req->offset & FV_VDEV_OFFSET_MASK;
	uint64_t bar = req->offset >> FV_VDEV_OFFSET_SHIFT;
	unsigned msix_bar;
	uint32_t msix_off, msix_size;
	FvPciResource r;
	IoEventfd *e;
	int fd, ret;

	if (bar > VFIO_PCI_BAR5_REGION_INDEX)
		return -EINVAL;
	if (!fv_hostpci_resource(vd->hp, (unsigned)bar, &r))
		r.len = 0;
	if (pos + count > r.len)
		return -EINVAL;
	/* Not around the MSI-X table. */
	if (fv_vconfig_msix_table(vd->vc, &msix_bar, &msix_off, &msix_size) &&
	    bar == msix_bar &&
	    !(pos + count <= msix_off || pos >= (uint64_t)msix_off + msix_size))
		return -EINVAL;
	/* x86_64 has iowrite64: size 8 is fine. */
	for (IoEventfd **pp = &vd->ioeventfds; *pp; pp = &(*pp)->next) {
		e = *pp;
		if (e->pos == pos && e->bar == bar && e->data == req->data &&
		    e->count == count) {
			if (req->fd != -1)
				return -EEXIST;
			*pp = e->next;
			vd->ioeventfds_nr--;
			ioeventfd_free(vd, e);
			return 0;
		}
	}
	if (req->fd < 0)
		return -ENODEV;
	if (vd->ioeventfds_nr >= IOEVENTFD_MAX)
		return -ENOSPC;
	fd = fv_user_get_eventfd(u, req->fd);
	if (fd < 0)
		return fd;
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		return -ENOMEM;
	}
	*e = (IoEventfd){
		.vd = vd, .fd = fd, .bar = (unsigned)bar, .pos = pos,
		.data = req->data, .count = count,
	};
	/* A signal already pending is seen at once (level-triggered). */
	ret = fv_evloop_add(vd->loop, fd, ioeventfd_ready, e);
	if (ret < 0) {
		close(fd);
		free(e);
		return ret;
	}
	e->next = vd->ioeventfds;
	vd->ioeventfds = e;
	vd->ioeventfds_nr++;
	return 0;
}

static long ioeventfd(FvVdev *vd, const FvUser *u, uint64_t arg)
{
	struct vfio_device_ioeventfd req;
	unsigned count;
	long ret;

	if (fv_user_read(u, arg, &req, IOEFD_MINSZ))
		return -EFAULT;
	if (req.argsz < IOEFD_MINSZ)
		return -EINVAL;
	if (req.flags & ~VFIO_DEVICE_IOEVENTFD_SIZE_MASK)
		return -EINVAL;
	count = req.flags & VFIO_DEVICE_IOEVENTFD_SIZE_MASK;
	if (__builtin_popcount(count) != 1 || req.fd < -1)
		return -EINVAL;
	sim_device_lock(vd->sim);
	ret = ioeventfd_locked(vd, u, &req, count);
	sim_device_unlock(vd->sim);
	return ret;
}

/* ---- VFIO_DEVICE_FEATURE ---------------------------------------------------------- */

/* vfio_check_feature: 1 to go on, 0 (PROBE) or -errno to return. */
static long check_feature(uint32_t flags, size_t argsz, uint32_t supported,
			  size_t minsz)
{
	if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) & ~supported)
		return -EINVAL;
	if (flags & VFIO_DEVICE_FEATURE_PROBE)
		return 0;
	if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)))
		return -EINVAL;
	if (argsz < minsz)
		return -EINVAL;
	return 1;
}

static long feature_wakeup(FvVdev *vd, const FvUser *u, uint32_t flags,
			   uint64_t data, size_t argsz)
{
	struct vfio_device_low_power_entry_with_wakeup entry;
	long ret = check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET, sizeof(entry));
	int fd;

	if (ret != 1)
		return ret;
	if (fv_user_read(u, data, &entry, sizeof(entry)))
		return -EFAULT;
	if (entry.wakeup_eventfd < 0)
		return -EINVAL;
	fd = fv_user_get_eventfd(u, entry.wakeup_eventfd);
	if (fd < 0)
		return fd;
	ret = pm_entry(vd, fd);
	if (ret)
		close(fd);
	return ret;
}

static long device_feature(FvVdev *vd, const FvUser *u, uint64_t arg)
{
	struct vfio_device_feature f;
	uint64_t data = arg + FEAT_MINSZ;
	size_t argsz;
	long ret;

	if (fv_user_read(u, arg, &f, FEAT_MINSZ))
		return -EFAULT;
	if (f.argsz < FEAT_MINSZ)
		return -EINVAL;
	if (f.flags & ~(VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET |
			VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PROBE))
		return -EINVAL;
	if (!(f.flags & VFIO_DEVICE_FEATURE_PROBE) &&
	    (f.flags & VFIO_DEVICE_FEATURE_SET) && (f.flags & VFIO_DEVICE_FEATURE_GET))
		return -EINVAL;
	argsz = f.argsz - FEAT_MINSZ;
	switch (f.flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_MIGRATION:		/* no mig_ops */
	case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:	/* no log_ops */
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
	case VFIO_DEVICE_FEATURE_PCI_VF_TOKEN:		/* not an SR-IOV PF */
		return -ENOTTY;
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
		ret = check_feature(f.flags, argsz, VFIO_DEVICE_FEATURE_SET, 0);
		return ret != 1 ? ret : pm_entry(vd, -1);
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP:
		return feature_wakeup(vd, u, f.flags, data, argsz);
	case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
		ret = check_feature(f.flags, argsz, VFIO_DEVICE_FEATURE_SET, 0);
		if (ret != 1)
			return ret;
		sim_device_lock(vd->sim);
		pm_exit_locked(vd);
		sim_device_unlock(vd->sim);
		return 0;
	default:
		return -ENOTTY;
	}
}

/* ---- dispatch ------------------------------------------------------------------- */

long fv_vdev_ioctl(FvVdev *vd, const FvUser *u, unsigned int cmd, uint64_t arg)
{
	long ret;

	pm_resume(vd);		/* vfio_device_pm_runtime_get */
	switch (cmd) {
	case VFIO_DEVICE_FEATURE:
		ret = device_feature(vd, u, arg);
		break;
	case VFIO_DEVICE_GET_INFO:
		ret = get_info(vd, u, arg);
		break;
	case VFIO_DEVICE_GET_REGION_INFO:
		ret = get_region_info(vd, u, arg);
		break;
	case VFIO_DEVICE_GET_IRQ_INFO:
		ret = fv_irqs_get_info(vd->irqs, u, arg);
		break;
	case VFIO_DEVICE_SET_IRQS:
		ret = fv_irqs_set(vd->irqs, u, arg);
		break;
	case VFIO_DEVICE_RESET:
		ret = device_reset(vd);
		break;
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		ret = hot_reset_info(vd, u, arg);
		break;
	case VFIO_DEVICE_PCI_HOT_RESET:
		ret = hot_reset(vd, u, arg);
		break;
	case VFIO_DEVICE_IOEVENTFD:
		ret = ioeventfd(vd, u, arg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	/* An unmask (SET_IRQS) may have fired INTx again. */
	report_intx(vd);
	pm_put(vd);
	return ret;
}

ssize_t fv_vdev_rw(FvVdev *vd, void *buf, size_t count, uint64_t pos, bool write)
{
	uint64_t index = pos >> FV_VDEV_OFFSET_SHIFT, off = pos & FV_VDEV_OFFSET_MASK;
	ssize_t ret;

	if (!count)
		return 0;
	if (index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	pm_resume(vd);
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ret = fv_vconfig_config_rw(vd->vc, buf, count, off, write);
		break;
	case VFIO_PCI_ROM_REGION_INDEX:
		ret = write ? -EINVAL :
		      fv_vconfig_bar_rw(vd->vc, SIM_ROM_SLOT, buf, count, off, false);
		break;
	case VFIO_PCI_VGA_REGION_INDEX:
		ret = -EINVAL;		/* !vdev->has_vga */
		break;
	default:
		ret = fv_vconfig_bar_rw(vd->vc, (unsigned)index, buf, count, off, write);
		break;
	}
	/* A Command write clearing Interrupt Disable may fire INTx. */
	report_intx(vd);
	pm_put(vd);
	return ret;
}

/* ---- dump ------------------------------------------------------------------------- */

static const char *power_name(unsigned state)
{
	static const char *const names[] = { "D0", "D1", "D2", "D3hot" };

	return state < 4 ? names[state] : "D3cold";
}

void fv_vdev_dump(FvVdev *vd, FILE *out)
{
	SimIds ids;
	unsigned msix_bar;
	uint32_t msix_off, msix_size;

	sim_device_lock(vd->sim);
	ids = sim_device_ids(vd->sim);
	fprintf(out, "vdev %s: %s %04x:%04x subsystem %04x:%04x class %06x rev %02x%s\n",
		vd->dev->bdf, vd->dev->model, ids.vendor, ids.device,
		ids.subsystem_vendor, ids.subsystem_device, ids.class_code,
		ids.revision, fv_hostpci_is_virtfn(vd->hp) ? " (VF)" : "");
	fprintf(out, "state: open, group %d, reset_works %s (method %s), "
		"hot reset %s, nointx %s, pci_2_3 %s\n",
		vd->dev->group ? vd->dev->group->id : -1,
		vd->reset_works ? "yes" : "no",
		fv_hostpci_reset_method_name(fv_hostpci_reset_method(vd->hp)),
		bus_resettable(vd->dev) ? "bus" : "none",
		vd->nointx ? "yes" : "no", vd->pci_2_3 ? "yes" : "no");
	fprintf(out, "power: %s, low power %s%s%s, suspends %u, resumes %u, "
		"hot resets %u\n",
		power_name(fv_hostpci_power_state(vd->hp)),
		vd->pm_engaged ? "engaged" : "off",
		vd->pm_suspended ? ", suspended" : "",
		vd->pm_wake_fd >= 0 ? ", wakeup eventfd" : "",
		vd->pm_suspends, vd->pm_resumes, vd->hot_resets);
	fprintf(out, "config: %u bytes, extended caps %s, memory %s",
		fv_vconfig_cfg_size(vd->vc),
		fv_vconfig_extended_caps(vd->vc) ? "yes" : "no",
		fv_vconfig_memory_enabled(vd->vc) ? "enabled" : "disabled");
	if (fv_vconfig_msix_table(vd->vc, &msix_bar, &msix_off, &msix_size))
		fprintf(out, ", MSI-X table BAR%u+0x%x size 0x%x", msix_bar,
			msix_off, msix_size);
	fprintf(out, "\nmmap advertised: %s\n", vd->cfg.advertise_mmap ? "yes" : "no");
	fprintf(out, "ioeventfds: %u\n", vd->ioeventfds_nr);
	for (IoEventfd *e = vd->ioeventfds; e; e = e->next)
		fprintf(out, "ioeventfd BAR%u+0x%llx size %u data 0x%llx: "
			"writes %llu, dropped %llu\n", e->bar,
			(unsigned long long)e->pos, e->count,
			(unsigned long long)e->data, (unsigned long long)e->writes,
			(unsigned long long)e->dropped);
	fv_irqs_dump(vd->irqs, out);
	sim_device_unlock(vd->sim);
}

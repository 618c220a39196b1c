/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/vfio.c: the fake VFIO core (see vfio.h), following Linux 6.1's
 * drivers/vfio/container.c and vfio_main.c (vfio-abi.md §2.0-2.3), errno by
 * errno in the kernel's check order.  Read for behaviour, no code copied.
 *
 * Where the fake departs from 6.1 (and why):
 *  - GET_DEVICE_FD: the kernel reserves the new fd (EMFILE) before it
 *    checks the container; the fake gets the fd from the seccomp
 *    supervisor's SECCOMP_IOCTL_NOTIF_ADDFD, after every other check, so a
 *    caller out of fds that also has no IOMMU set sees EINVAL, not EMFILE.
 *    An open_device failure is EIO (vdev reports no errno).
 *  - A GET_DEVICE_FD that reaches the FUSE ioctl (a caller that escaped the
 *    seccomp filter: the supervisor catches every process CMD starts) is
 *    checked like the real one and, where the kernel would open the
 *    device, fails with EOPNOTSUPP: no fd can be made for it (ENOSYS
 *    would do, but FUSE turns an ioctl's ENOSYS into ENOTTY).
 *  - noiommu groups and the noiommu driver do not exist (as with
 *    enable_unsafe_noiommu_mode off).  A device that is not bound to
 *    vfio-pci counts as bound to a DMA-using host driver (its group is not
 *    viable); the kernel's "no driver at all" case is not modelled.
 *  - Every device is a plain function or a VF whose PF is not bound to
 *    vfio-pci: a vf_token is always refused with EINVAL.
 *  - FUSE sends RELEASE after close(2) has returned.  A group open that
 *    finds the group busy while a close of it (or of one of its device fds)
 *    is in flight waits up to FV_VFIO_RELEASE_WAIT_MS for the release, as
 *    the kernel's synchronous release would have freed it.
 *  - pseries: a PE frozen by EEH (spapr.h) makes reads of the BARs, the ROM
 *    and the config region return all-ones after the device answered them
 *    (so offsets are still checked) and drops writes to them unchecked.
 *  - Callers outside fakevfio's mount namespace get EPERM (vfio.h): the
 *    kernel has no such rule, but a FUSE server must not act on the memory
 *    and fds of processes it did not launch.
 *
 * Lock order (every path below keeps it; nothing here or in vdev.c waits
 * for a lock earlier in the list while holding a later one):
 *
 *   1. v->lock, the graph lock: opens, releases, attach/detach, device
 *      open/close, dumps (fv_vfio_dump_device, fv_vfio_foreach_mapping);
 *   2. vdev.c's devset_lock (fv_vdev_open/close under the graph lock, hot
 *      reset without it);
 *   3. a sim device's lock (vdev.c at every entry; the simulator calls
 *      the SimHostOps with it held);
 *   4. a container's lock (FvContainer.lock): its IOMMU, also reached by
 *      device DMA (host_dma) with the device lock held;
 *   5. leaf locks: the event log, the fault table, the trace.
 *
 * What runs with a device lock held and never takes the graph lock: the
 * host callbacks (host_dma reads the group's container atomically, see
 * there; host_dma_fault, host_irq and host_reset only log), the control
 * socket's device requests, the event loop's ioeventfds.  The callers that
 * wait for another FUSE request (fv_vfio_resolve_fd's private ioctl, the
 * FLUSH of a close) hold no device lock when vdev.c calls them, and those
 * requests take no lock (the identify shortcut, fv_vfio_flush).  The
 * trace and the faults are called with no lock or the graph lock only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "spapr.h"
#include "vfio.h"

enum {
	FV_VFIO_NAME_MAX = 4096,	/* strndup_user(arg, PAGE_SIZE) */
	FV_VFIO_RELEASE_WAIT_MS = 200,
	UUID_STRING_LEN = 36,
};

typedef struct FvContainer FvContainer;
typedef struct FvVfioGroup FvVfioGroup;
typedef struct FvVfioDev FvVfioDev;

/*
 * An IOMMU driver (the kernel's vfio_iommu_driver_ops).  iommu is the
 * driver's per-container object, NULL for check_extension before
 * SET_IOMMU.
 */
typedef struct FvIommuDriver {
	const char *name;
	bool spapr;		/* a sPAPR TCE IOMMU (how its ioctls are named) */
	long (*check_extension)(FvVfio *v, void *iommu, unsigned long ext);
	/* NULL with *err (negative errno). */
	void *(*open)(FvVfio *v, unsigned long type, int *err);
	int (*attach_group)(void *iommu, FvVfioGroup *vg);
	void (*detach_group)(void *iommu, FvVfioGroup *vg);
	long (*ioctl)(void *iommu, const FvUser *u, unsigned int cmd, uint64_t arg);
	int (*dma)(void *iommu, uint64_t iova, void *buf, size_t len, bool write);
	/* Drop everything and free (the last group left). */
	void (*release)(void *iommu);
	/* The DMA mappings, for dumps (may be NULL). */
	void (*foreach_mapping)(void *iommu,
				bool (*fn)(void *opaque, const FvType1Mapping *m),
				void *opaque);
} FvIommuDriver;

/* A container: the kernel's struct vfio_container. */
struct FvContainer {
	unsigned id;			/* 1, 2, ... in order of creation */
	unsigned refs;			/* its file + one per group (graph lock) */
	FvVfioGroup *groups;		/* attached groups (graph lock) */
	/* driver and iommu: written under both locks, read under either. */
	pthread_mutex_t lock;
	const FvIommuDriver *driver;	/* NULL: no IOMMU set */
	void *iommu;
};

/* Per IOMMU group state: the kernel's struct vfio_group. */
struct FvVfioGroup {
	FvGroup *g;
	FvVfioFile *opened;		/* the open group file (graph lock) */
	/* Written under the graph lock; read by device DMA without it. */
	_Atomic(FvContainer *) container;
	unsigned container_users;	/* 1 + open device fds, when attached */
	FvVfioGroup *c_next;		/* in container->groups */
	FvSpaprPe pe;			/* pseries: the group's EEH state */
};

/* Per device state: the kernel's struct vfio_device. */
struct FvVfioDev {
	FvDevice *d;
	FvVfioGroup *vg;
	FvVdev *vd;			/* while open_count > 0 */
	unsigned open_count;
};

struct FvVfioFile {
	FvVfioFileKind kind;
	FvVfioFile *prev, *next;	/* the live list (graph lock) */
	FvContainer *c;			/* CONTAINER */
	FvVfioGroup *vg;		/* GROUP, DEVICE */
	unsigned refs;			/* GROUP: its open + one per device fd */
	bool closed;			/* GROUP: FUSE released it */
	FvVfioDev *dev;			/* DEVICE */
	FvVfioFile *gfile;		/* DEVICE: the group file it holds */
	pid_t ticket;			/* DEVICE: not yet opened; for this thread */
	atomic_bool flushed;		/* closed by someone; RELEASE may follow */
	pid_t pid;			/* the process that opened it (the trace) */
};

struct FvVfio {
	FvMachine *m;
	FvEvloop *loop;
	const FvIommuDriver *const *drivers;	/* NULL-terminated */
	FvVfioGroup *groups;		/* parallel to m->groups */
	FvVfioDev *devs;		/* parallel to m->devs */
	pthread_mutex_t lock;		/* the graph lock */
	pthread_cond_t released;	/* a group became free */
	FvVfioFile *files;		/* every live file */
	unsigned next_container;
	FvVdevHost host;
	FvVdevConfig vdev_cfg;
	FvType1Config type1_cfg;
	FvSpaprConfig spapr_cfg;
	FvVfioEvents events;
	FvOptrace *trace;		/* NULL: off */
	FvFaults *faults;		/* NULL: none */
	int root_fd;
	dev_t fuse_dev;
	bool have_root;
	pid_t self;
	dev_t mnt_dev;			/* the mount namespace of the callers */
	ino_t mnt_ino;
};

/* ---- IOMMU drivers ------------------------------------------------------ */

static long type1_check_extension(FvVfio *v, void *iommu, unsigned long ext)
{
	(void)v;
	return fv_type1_check_extension(iommu, ext);
}

static void *type1_open(FvVfio *v, unsigned long type, int *err)
{
	Error *e = NULL;
	FvType1 *t = fv_type1_new(type, &v->type1_cfg, &e);

	if (!t) {
		/* An unknown type, or a config no domain can have. */
		error_free(e);
		*err = -EINVAL;
	}
	return t;
}

static int type1_attach_group(void *iommu, FvVfioGroup *vg)
{
	FvType1Stats st;

	(void)vg;
	/* vfio_iommu_type1_attach_group: no attach while a vaddr is invalid. */
	fv_type1_stats(iommu, &st);
	return st.vaddr_invalid ? -EBUSY : 0;
}

static void type1_detach_group(void *iommu, FvVfioGroup *vg)
{
	(void)iommu;
	(void)vg;
}

static long type1_ioctl(void *iommu, const FvUser *u, unsigned int cmd, uint64_t arg)
{
	return fv_type1_ioctl(iommu, u, cmd, arg);
}

static int type1_dma(void *iommu, uint64_t iova, void *buf, size_t len, bool write)
{
	return fv_type1_dma(iommu, iova, buf, len, write);
}

static void type1_release(void *iommu)
{
	fv_type1_release(iommu);
	fv_type1_free(iommu);
}

static void type1_foreach_mapping(void *iommu,
				  bool (*fn)(void *opaque, const FvType1Mapping *m),
				  void *opaque)
{
	fv_type1_foreach(iommu, fn, opaque);
}

static const FvIommuDriver type1_driver = {
	.name = "vfio-iommu-type1",
	.check_extension = type1_check_extension,
	.open = type1_open,
	.attach_group = type1_attach_group,
	.detach_group = type1_detach_group,
	.ioctl = type1_ioctl,
	.dma = type1_dma,
	.release = type1_release,
	.foreach_mapping = type1_foreach_mapping,
};

/* sPAPR TCE (spapr.c): the pseries host's driver. */
static long spapr_check_extension(FvVfio *v, void *iommu, unsigned long ext)
{
	(void)iommu;
	/* The container's answer is the host's (tce_iommu_ioctl's switch). */
	return fv_spapr_check_extension(&v->spapr_cfg, ext);
}

static void *spapr_open(FvVfio *v, unsigned long type, int *err)
{
	return fv_spapr_new(type, &v->spapr_cfg, err);
}

static int spapr_attach_group(void *iommu, FvVfioGroup *vg)
{
	return fv_spapr_attach_group(iommu, vg->g->id);
}

static void spapr_detach_group(void *iommu, FvVfioGroup *vg)
{
	fv_spapr_detach_group(iommu, vg->g->id);
	/* The PE goes back to the host, which thaws it (eeh_pe_change_owner). */
	atomic_store(&vg->pe.state, 0);
}

static long spapr_ioctl(void *iommu, const FvUser *u, unsigned int cmd, uint64_t arg)
{
	return fv_spapr_ioctl(iommu, u, cmd, arg);
}

static int spapr_dma(void *iommu, uint64_t iova, void *buf, size_t len, bool write)
{
	return fv_spapr_dma(iommu, iova, buf, len, write);
}

static void spapr_release(void *iommu)
{
	fv_spapr_free(iommu);
}

static void spapr_foreach_mapping(void *iommu,
				  bool (*fn)(void *opaque, const FvType1Mapping *m),
				  void *opaque)
{
	fv_spapr_foreach(iommu, fn, opaque);
}

static const FvIommuDriver spapr_driver = {
	.name = "iommu-vfio-powerpc",
	.spapr = true,
	.check_extension = spapr_check_extension,
	.open = spapr_open,
	.attach_group = spapr_attach_group,
	.detach_group = spapr_detach_group,
	.ioctl = spapr_ioctl,
	.dma = spapr_dma,
	.release = spapr_release,
	.foreach_mapping = spapr_foreach_mapping,
};

/* The registered drivers, in registration order, per platform. */
static const FvIommuDriver *const drivers_x86[] = { &type1_driver, NULL };
static const FvIommuDriver *const drivers_pseries[] = { &spapr_driver, NULL };

/* ---- lookups ------------------------------------------------------------- */

static FvVfioGroup *vgroup(FvVfio *v, const FvGroup *g)
{
	for (unsigned i = 0; i < v->m->ngroups; i++)
		if (v->groups[i].g == g)
			return &v->groups[i];
	return NULL;
}

static FvVfioDev *vdevice(FvVfio *v, const FvDevice *d)
{
	for (unsigned i = 0; i < v->m->ndevs; i++)
		if (v->devs[i].d == d)
			return &v->devs[i];
	return NULL;
}

static bool is_self(FvVfio *v, pid_t tid)
{
	return fv_user_tgid(tid) == v->self;
}

/* ---- operations as the observers see them (op.h) -------------------------- */

static void vdev_op(FvOp *op, FvOpKind kind, const FvVfioDev *dev, pid_t pid)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->obj = FV_OBJ_DEVICE;
	op->group = dev->vg->g->id;
	op->bdf = dev->d->bdf;
	op->pid = pid;
}

/* The FvOp of an operation of process pid on the open file f. */
static void file_op(FvOp *op, FvOpKind kind, const FvVfioFile *f, pid_t pid)
{
	FvContainer *c;

	if (f->kind == FV_VFIO_DEVICE) {
		vdev_op(op, kind, f->dev, pid);
		return;
	}
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->pid = pid;
	op->group = -1;
	if (f->kind == FV_VFIO_GROUP) {
		op->obj = FV_OBJ_GROUP;
		op->group = f->vg->g->id;
		return;
	}
	c = f->c;
	op->obj = FV_OBJ_CONTAINER;
	op->container = c->id;
	pthread_mutex_lock(&c->lock);
	op->spapr = c->driver && c->driver->spapr;
	pthread_mutex_unlock(&c->lock);
}

/* The caller's process (FUSE and seccomp name the thread). */
static pid_t caller_pid(const FvCaller *who)
{
	pid_t tgid = fv_user_tgid(who->pid);

	return tgid > 0 ? tgid : who->pid;
}

/* ---- the device's host (FvVdevHost) -------------------------------------- */

/*
 * Called with the device lock held.  While a device is open its group's
 * container cannot change (UNSET_CONTAINER is EBUSY, the group's release
 * waits for the device fds) and neither can the container's driver (set,
 * and only the last group leaving unsets it), so no graph lock is needed.
 */
static int host_dma(void *opaque, FvDevice *dev, uint64_t iova, void *buf,
		    size_t len, bool write)
{
	FvVfio *v = opaque;
	FvVfioGroup *vg = vgroup(v, dev->group);
	FvContainer *c = vg ? atomic_load(&vg->container) : NULL;
	int ret = -ENODEV;

	if (!c)
		return ret;
	/* A PE that EEH froze: its DMA stops at the PHB. */
	if (fv_spapr_pe_dma_frozen(&vg->pe))
		return -EIO;
	pthread_mutex_lock(&c->lock);
	if (c->driver)
		ret = c->driver->dma(c->iommu, iova, buf, len, write);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static void host_dma_fault(void *opaque, FvDevice *dev, uint64_t iova, size_t len,
			   bool write, int err)
{
	FvVfio *v = opaque;

	if (v->events.dma_fault)
		v->events.dma_fault(v->events.opaque, dev, iova, len, write, err);
}

static void host_irq(void *opaque, FvDevice *dev, unsigned index, unsigned vector)
{
	FvVfio *v = opaque;

	if (v->events.irq)
		v->events.irq(v->events.opaque, dev, index, vector);
}

static void host_reset(void *opaque, FvDevice *dev, const char *how)
{
	FvVfio *v = opaque;

	if (v->events.reset)
		v->events.reset(v->events.opaque, dev, how);
}

static FvGroup *host_group_from_fd(void *opaque, const FvUser *u, int fd, int *err)
{
	FvVfio *v = opaque;
	FvVfioFile *f;
	FvGroup *g = NULL;
	int dup = fv_vfio_resolve_fd(v, u, fd, &f);

	if (dup < 0) {
		*err = dup;
		return NULL;
	}
	if (f && f->kind == FV_VFIO_GROUP)
		g = f->vg->g;
	else
		*err = -EINVAL;
	close(dup);
	return g;
}

/* ---- setup --------------------------------------------------------------- */

FvVfio *fv_vfio_new(FvMachine *m, Error **errp)
{
	FvVfio *v = calloc(1, sizeof(*v));
	pthread_condattr_t ca;

	if (!v || (m->ngroups && !(v->groups = calloc(m->ngroups, sizeof(*v->groups)))) ||
	    (m->ndevs && !(v->devs = calloc(m->ndevs, sizeof(*v->devs))))) {
		if (v) {
			free(v->groups);
			free(v);
		}
		error_setg(errp, "out of memory");
		return NULL;
	}
	v->m = m;
	v->self = getpid();
	v->root_fd = -1;
	v->drivers = m->platform == FV_PLATFORM_X86 ? drivers_x86 : drivers_pseries;
	v->next_container = 1;
	fv_type1_config_init(&v->type1_cfg);
	fv_spapr_config_init(&v->spapr_cfg);
	for (unsigned i = 0; i < m->ngroups; i++) {
		v->groups[i].g = m->groups[i];
		atomic_init(&v->groups[i].container, NULL);
	}
	for (unsigned i = 0; i < m->ndevs; i++) {
		v->devs[i].d = m->devs[i];
		v->devs[i].vg = vgroup(v, m->devs[i]->group);
	}
	v->host = (FvVdevHost){
		.dma = host_dma,
		.dma_fault = host_dma_fault,
		.group_from_fd = host_group_from_fd,
		.irq_signalled = host_irq,
		.reset = host_reset,
		.opaque = v,
	};
	pthread_mutex_init(&v->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->released, &ca);
	pthread_condattr_destroy(&ca);
	if (!fv_vfio_set_namespace(v, errp)) {
		fv_vfio_free(v);
		return NULL;
	}
	v->loop = fv_evloop_new(errp);
	if (!v->loop) {
		error_prepend(errp, "cannot start the event loop: ");
		fv_vfio_free(v);
		return NULL;
	}
	return v;
}

void fv_vfio_set_events(FvVfio *v, const FvVfioEvents *ev)
{
	v->events = *ev;
}

void fv_vfio_set_observers(FvVfio *v, FvOptrace *trace, FvFaults *faults)
{
	v->trace = trace;
	v->faults = faults;
}

/* The mount namespace of thread tid ("thread-self": this thread). */
static bool mntns_of(const char *tid, dev_t *dev, ino_t *ino)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/ns/mnt", tid);
	if (stat(path, &st) < 0)
		return false;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return true;
}

bool fv_vfio_set_namespace(FvVfio *v, Error **errp)
{
	if (!mntns_of("thread-self", &v->mnt_dev, &v->mnt_ino)) {
		error_setg_errno(errp, errno, "cannot find out the mount namespace "
				 "(/proc/thread-self/ns/mnt)");
		return false;
	}
	return true;
}

bool fv_vfio_inside(FvVfio *v, pid_t tid)
{
	char id[16];
	dev_t dev;
	ino_t ino;

	/* 0: the caller is in no pid namespace of ours (FUSE says 0). */
	if (tid <= 0)
		return false;
	snprintf(id, sizeof(id), "%d", (int)tid);
	return mntns_of(id, &dev, &ino) && dev == v->mnt_dev && ino == v->mnt_ino;
}

void fv_vfio_set_type1_config(FvVfio *v, const FvType1Config *cfg)
{
	pthread_mutex_lock(&v->lock);
	v->type1_cfg = *cfg;
	pthread_mutex_unlock(&v->lock);
}

void fv_vfio_set_spapr_config(FvVfio *v, const FvSpaprConfig *cfg)
{
	pthread_mutex_lock(&v->lock);
	v->spapr_cfg = *cfg;
	pthread_mutex_unlock(&v->lock);
}

void fv_vfio_set_vdev_config(FvVfio *v, const FvVdevConfig *cfg)
{
	pthread_mutex_lock(&v->lock);
	v->vdev_cfg = *cfg;
	pthread_mutex_unlock(&v->lock);
}

bool fv_vfio_set_root(FvVfio *v, int root_fd, Error **errp)
{
	struct stat st;

	if (fstat(root_fd, &st) < 0) {
		error_setg_errno(errp, errno, "cannot stat the FUSE root");
		return false;
	}
	v->root_fd = root_fd;
	v->fuse_dev = st.st_dev;
	v->have_root = true;
	return true;
}

/* ---- files ----------------------------------------------------------------- */

static FvVfioFile *file_new(FvVfio *v, FvVfioFileKind kind)
{
	FvVfioFile *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->kind = kind;
	f->next = v->files;
	if (v->files)
		v->files->prev = f;
	v->files = f;
	return f;
}

static void file_free(FvVfio *v, FvVfioFile *f)
{
	/* Someone may wait for this release (wait_release). */
	pthread_cond_broadcast(&v->released);
	if (f->prev)
		f->prev->next = f->next;
	else
		v->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	free(f);
}

bool fv_vfio_file_is_device(const FvVfioFile *f)
{
	return f->kind == FV_VFIO_DEVICE;
}

static void container_put(FvVfio *v, FvContainer *c)
{
	if (--c->refs)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
	(void)v;
}

/*
 * vfio_group_detach_container: the driver forgets the group; the last
 * group takes the IOMMU with it.  Graph lock held.
 */
static void group_detach(FvVfio *v, FvVfioGroup *vg)
{
	FvContainer *c = atomic_load(&vg->container);
	FvVfioGroup **pp;

	pthread_mutex_lock(&c->lock);
	if (c->driver)
		c->driver->detach_group(c->iommu, vg);
	for (pp = &c->groups; *pp != vg; pp = &(*pp)->c_next)
		;
	*pp = vg->c_next;
	vg->c_next = NULL;
	if (c->driver && !c->groups) {
		c->driver->release(c->iommu);
		c->driver = NULL;
		c->iommu = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	atomic_store(&vg->container, NULL);
	vg->container_users = 0;
	container_put(v, c);
}

/* Drop a reference on a group file; the last one releases the group. */
static void group_file_put(FvVfio *v, FvVfioFile *gf)
{
	FvVfioGroup *vg = gf->vg;

	if (--gf->refs)
		return;
	if (atomic_load(&vg->container))
		group_detach(v, vg);
	vg->opened = NULL;
	file_free(v, gf);
}

/*
 * A device fd goes (vfio_device_fops_release): the last one closes the
 * device; then the container user and the group file go.  Graph lock held.
 */
static void device_file_release(FvVfio *v, FvVfioFile *f)
{
	FvVfioDev *dev = f->dev;
	FvVfioGroup *vg = dev->vg;

	if (--dev->open_count == 0) {
		fv_vdev_close(dev->vd);
		dev->vd = NULL;
	}
	vg->container_users--;
	group_file_put(v, f->gfile);
	file_free(v, f);
}

void fv_vfio_free(FvVfio *v)
{
	static const FvVfioFileKind order[] = {
		FV_VFIO_DEVICE, FV_VFIO_GROUP, FV_VFIO_CONTAINER,
	};

	if (!v)
		return;
	/* What FUSE never released (the connection went first). */
	pthread_mutex_lock(&v->lock);
	for (unsigned k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		FvVfioFile *f = v->files, *next;

		for (; f; f = next) {
			next = f->next;
			if (f->kind != order[k])
				continue;
			if (f->kind == FV_VFIO_DEVICE) {
				device_file_release(v, f);
				next = v->files;	/* group files may have gone */
			} else if (f->kind == FV_VFIO_GROUP) {
				f->closed = true;
				group_file_put(v, f);
			} else {
				container_put(v, f->c);
				file_free(v, f);
			}
		}
	}
	pthread_mutex_unlock(&v->lock);
	fv_evloop_free(v->loop);
	pthread_cond_destroy(&v->released);
	pthread_mutex_destroy(&v->lock);
	free(v->groups);
	free(v->devs);
	free(v);
}

/* Whether any device of the group is bound to vfio-pci (group->users). */
static bool group_has_vfio_device(const FvGroup *g)
{
	for (unsigned i = 0; i < g->ndevs; i++)
		if (g->devs[i]->vfio_bound)
			return true;
	return false;
}

/* iommu_group_dma_owner_claimed by a host driver: a device not on vfio-pci. */
static bool group_viable(const FvGroup *g)
{
	for (unsigned i = 0; i < g->ndevs; i++)
		if (!g->devs[i]->vfio_bound)
			return false;
	return true;
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

bool fv_vfio_drain(FvVfio *v, unsigned timeout_ms)
{
	struct timespec deadline;
	bool empty;

	deadline_in(&deadline, timeout_ms);
	pthread_mutex_lock(&v->lock);
	while (v->files &&
	       pthread_cond_timedwait(&v->released, &v->lock, &deadline) != ETIMEDOUT)
		;
	empty = !v->files;
	pthread_mutex_unlock(&v->lock);
	return empty;
}

/*
 * FUSE sends RELEASE after close(2) has returned, where the kernel releases
 * at once.  So when an operation finds something still open that a close
 * in flight may be about to release -- a file sel() picks that FLUSH saw
 * closed -- it waits for done() up to FV_VFIO_RELEASE_WAIT_MS.  A file that
 * outlives the wait is really open elsewhere (a dup, a fork): it is taken
 * off the list of closing files.  Graph lock held.  Returns done().
 */
typedef bool (*FvVfioSel)(const FvVfioFile *f, const void *arg);

static bool wait_release(FvVfio *v, bool (*done)(const void *arg), FvVfioSel sel,
			 const void *arg)
{
	struct timespec deadline;
	bool waited = false;

	while (!done(arg)) {
		bool closing = false;

		for (FvVfioFile *f = v->files; f && !closing; f = f->next)
			closing = atomic_load(&f->flushed) && sel(f, arg);
		if (!closing)
			return false;
		if (!waited) {
			deadline_in(&deadline, FV_VFIO_RELEASE_WAIT_MS);
			waited = true;
		}
		if (pthread_cond_timedwait(&v->released, &v->lock, &deadline) == ETIMEDOUT) {
			for (FvVfioFile *f = v->files; f; f = f->next)
				if (sel(f, arg))
					atomic_store(&f->flushed, false);
		}
	}
	return true;
}

/* The group's file and its device files. */
static bool sel_group(const FvVfioFile *f, const void *arg)
{
	return f->kind != FV_VFIO_CONTAINER && f->vg == arg;
}

static bool group_free(const void *arg)
{
	return !((const FvVfioGroup *)arg)->opened;
}

/* The group's device files. */
static bool sel_group_devices(const FvVfioFile *f, const void *arg)
{
	return f->kind == FV_VFIO_DEVICE && f->vg == arg;
}

static bool group_one_user(const void *arg)
{
	return ((const FvVfioGroup *)arg)->container_users == 1;
}

/* The device's files. */
static bool sel_device(const FvVfioFile *f, const void *arg)
{
	return f->kind == FV_VFIO_DEVICE && f->dev == arg;
}

static bool device_closed(const void *arg)
{
	return !((const FvVfioDev *)arg)->open_count;
}

/* vfio_group_fops_open.  Graph lock held. */
static int group_open(FvVfio *v, FvGroup *g, FvVfioFile **out)
{
	FvVfioGroup *vg = vgroup(v, g);
	FvVfioFile *f;

	if (!vg || !group_has_vfio_device(g))
		return -ENODEV;
	/* Only one open file per group. */
	if (!wait_release(v, group_free, sel_group, vg))
		return -EBUSY;
	f = file_new(v, FV_VFIO_GROUP);
	if (!f)
		return -ENOMEM;
	f->vg = vg;
	f->refs = 1;
	vg->opened = f;
	*out = f;
	return 0;
}

/* The device file prepared for thread tid.  Graph lock held. */
static FvVfioFile *ticket_take(FvVfio *v, pid_t tid)
{
	for (FvVfioFile *f = v->files; f; f = f->next) {
		if (f->kind == FV_VFIO_DEVICE && f->ticket && f->ticket == tid) {
			f->ticket = 0;
			return f;
		}
	}
	return NULL;
}

int fv_vfio_open(FvVfio *v, FvVfioFileKind kind, FvGroup *group,
		 const FvCaller *who, int flags, FvVfioFile **out)
{
	FvOptraceCall call;
	FvVfioFile *f;
	FvContainer *c;
	FvOp op;
	int ret = 0, injected = 0;
	bool inside;

	if (kind == FV_VFIO_DEVICE) {
		/* The supervisor's own open (fv_vfio_notif_get_device_fd). */
		pthread_mutex_lock(&v->lock);
		f = ticket_take(v, who->pid);
		if (f)
			*out = f;
		else
			ret = -EACCES;
		pthread_mutex_unlock(&v->lock);
		return ret;
	}
	inside = fv_vfio_inside(v, who->pid);
	memset(&op, 0, sizeof(op));
	op.kind = FV_OP_OPEN;
	op.obj = kind == FV_VFIO_CONTAINER ? FV_OBJ_CONTAINER : FV_OBJ_GROUP;
	op.group = kind == FV_VFIO_GROUP && group ? group->id : -1;
	op.pid = caller_pid(who);
	op.flags = flags;
	pthread_mutex_lock(&v->lock);
	/* The number the container gets (the faults' container=N). */
	op.container = kind == FV_VFIO_CONTAINER ? v->next_container : 0;
	fv_optrace_begin(v->trace, &call, &op, NULL, 0);
	if (!inside) {
		ret = -EPERM;
		goto out;
	}
	injected = ret = fv_faults_check(v->faults, &op);
	if (ret)
		goto out;
	switch (kind) {
	case FV_VFIO_CONTAINER:
		/* vfio_fops_open: a new, empty container. */
		c = calloc(1, sizeof(*c));
		f = c ? file_new(v, FV_VFIO_CONTAINER) : NULL;
		if (!f) {
			free(c);
			ret = -ENOMEM;
			break;
		}
		c->id = v->next_container++;
		c->refs = 1;
		pthread_mutex_init(&c->lock, NULL);
		f->c = c;
		*out = f;
		break;
	default:
		ret = group_open(v, group, out);
		break;
	}
	if (!ret)
		(*out)->pid = op.pid;
out:
	pthread_mutex_unlock(&v->lock);
	fv_optrace_end(v->trace, &call, ret, injected != 0);
	return ret;
}

void fv_vfio_release(FvVfio *v, FvVfioFile *f)
{
	FvOptraceCall call;
	FvOp op;

	file_op(&op, FV_OP_CLOSE, f, f->pid);
	fv_optrace_begin(v->trace, &call, &op, NULL, 0);
	pthread_mutex_lock(&v->lock);
	switch (f->kind) {
	case FV_VFIO_CONTAINER:
		/* vfio_fops_release: the container lives on in its groups. */
		container_put(v, f->c);
		file_free(v, f);
		break;
	case FV_VFIO_GROUP:
		/* Device fds hold the group: it is released after them. */
		f->closed = true;
		group_file_put(v, f);
		break;
	default:
		device_file_release(v, f);
		break;
	}
	pthread_mutex_unlock(&v->lock);
	fv_optrace_end(v->trace, &call, 0, false);
}

void fv_vfio_flush(FvVfio *v, FvVfioFile *f, const FvCaller *who)
{
	/*
	 * No lock: a FLUSH may come from fakevfio itself closing a duplicate
	 * while it holds locks (a hot reset resolving group fds); those are
	 * not the caller's closes anyway.
	 */
	if (f->kind == FV_VFIO_CONTAINER || is_self(v, who->pid))
		return;
	atomic_store(&f->flushed, true);
}

/* ---- the container fd (container.c:vfio_fops_unl_ioctl) ------------------- */

/* vfio_container_ioctl_check_extension */
static long container_check_extension(FvVfio *v, FvContainer *c, unsigned long ext)
{
	long ret = 0;

	pthread_mutex_lock(&c->lock);
	if (c->driver) {
		ret = c->driver->check_extension(v, c->iommu, ext);
	} else {
		/* Poll the registered drivers; the first positive answer wins. */
		for (unsigned i = 0; v->drivers[i]; i++) {
			ret = v->drivers[i]->check_extension(v, NULL, ext);
			if (ret > 0)
				break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* __vfio_container_attach_groups: attach every group or none. */
static int attach_all(FvContainer *c, const FvIommuDriver *drv, void *iommu)
{
	int ret = 0;
	FvVfioGroup *vg;

	for (vg = c->groups; vg; vg = vg->c_next) {
		ret = drv->attach_group(iommu, vg);
		if (ret)
			break;
	}
	if (ret) {
		for (FvVfioGroup *u = c->groups; u != vg; u = u->c_next)
			drv->detach_group(iommu, u);
	}
	return ret;
}

/* vfio_ioctl_set_iommu */
static long container_set_iommu(FvVfio *v, FvContainer *c, unsigned long arg)
{
	long ret = -ENODEV;

	pthread_mutex_lock(&v->lock);
	pthread_mutex_lock(&c->lock);
	if (!c->groups || c->driver) {
		ret = -EINVAL;
		goto out;
	}
	for (unsigned i = 0; v->drivers[i]; i++) {
		const FvIommuDriver *drv = v->drivers[i];
		int err = 0;
		void *iommu;

		if (drv->check_extension(v, NULL, arg) <= 0)
			continue;
		iommu = drv->open(v, arg, &err);
		if (!iommu) {
			ret = err;
			continue;
		}
		ret = attach_all(c, drv, iommu);
		if (ret) {
			drv->release(iommu);
			continue;
		}
		c->driver = drv;
		c->iommu = iommu;
		break;
	}
out:
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* ---- EEH (vfio_spapr_eeh.c): the PE operations reach the devices ---------- */

typedef struct PeCtx {
	FvVfio *v;
	FvVfioGroup *vg;
} PeCtx;

/* A PE reset: every function of the group, as the PHB resets them. */
static void pe_reset(void *opaque, bool fundamental)
{
	PeCtx *p = opaque;

	for (unsigned i = 0; i < p->vg->g->ndevs; i++) {
		FvDevice *d = p->vg->g->devs[i];

		sim_device_lock(d->sim);
		sim_device_reset(d->sim, fundamental ? SIM_RESET_POWER_ON : SIM_RESET_HOT);
		if (p->v->events.reset)
			p->v->events.reset(p->v->events.opaque, d, fundamental ? "fundamental" : "hot");
		sim_device_unlock(d->sim);
	}
}

/*
 * The PE froze: vfio-pci's error_detected signals each device's ERR
 * eventfd.  The fake reaches it the way the control socket's `irq BDF ERR`
 * does: an uncorrectable internal error through the device's AER (a
 * device without AER, or with the bit masked, signals nothing).
 */
static void pe_error(void *opaque)
{
	PeCtx *p = opaque;

	for (unsigned i = 0; i < p->vg->g->ndevs; i++) {
		FvDevice *d = p->vg->g->devs[i];

		sim_device_lock(d->sim);
		(void)sim_aer_inject(d->sim, true, PCI_ERR_UNC_INTN, NULL);
		sim_device_unlock(d->sim);
	}
}

/*
 * VFIO_EEH_PE_OP: tce_iommu_ioctl's mm check, then the op on every group
 * in turn; the first nonzero result is the answer (none: 0).  Runs with the
 * graph lock only: the ops take device locks.
 */
static long container_eeh(FvVfio *v, FvContainer *c, const FvUser *u, uint64_t arg)
{
	long ret = -EINVAL;

	pthread_mutex_lock(&v->lock);
	pthread_mutex_lock(&c->lock);
	if (c->driver == &spapr_driver)
		ret = fv_spapr_mm_check(c->iommu, u);
	pthread_mutex_unlock(&c->lock);
	if (!ret) {
		for (FvVfioGroup *vg = c->groups; vg; vg = vg->c_next) {
			PeCtx p = { v, vg };
			FvSpaprPeOps ops = { pe_reset, pe_error, &p };

			ret = fv_spapr_eeh_op(&vg->pe, &v->spapr_cfg, &ops, u, arg);
			if (ret)
				break;
		}
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static long container_ioctl(FvVfio *v, FvContainer *c, const FvUser *u,
			    unsigned int cmd, uint64_t arg)
{
	long ret = -EINVAL;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return container_check_extension(v, c, (unsigned long)arg);
	case VFIO_SET_IOMMU:
		return container_set_iommu(v, c, (unsigned long)arg);
	default:
		/* Everything else goes to the driver; none set: EINVAL. */
		pthread_mutex_lock(&c->lock);
		if (c->driver == &spapr_driver && cmd == VFIO_EEH_PE_OP) {
			pthread_mutex_unlock(&c->lock);
			return container_eeh(v, c, u, arg);
		}
		if (c->driver)
			ret = c->driver->ioctl(c->iommu, u, cmd, arg);
		pthread_mutex_unlock(&c->lock);
		return ret;
	}
}

/* ---- the group fd (vfio_main.c:vfio_group_fops_unl_ioctl) ------------------ */

/* vfio_group_ioctl_get_status */
static long group_get_status(FvVfio *v, FvVfioGroup *vg, const FvUser *u, uint64_t arg)
{
	struct vfio_group_status st;

	if (fv_user_read(u, arg, &st, sizeof(st)))
		return -EFAULT;
	if (st.argsz < sizeof(st))
		return -EINVAL;
	st.flags = 0;
	pthread_mutex_lock(&v->lock);
	if (atomic_load(&vg->container))
		st.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;
	else if (group_viable(vg->g))
		st.flags |= VFIO_GROUP_FLAGS_VIABLE;
	pthread_mutex_unlock(&v->lock);
	if (fv_user_write(u, arg, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

/* vfio_group_ioctl_set_container + vfio_container_attach_group */
static long group_set_container(FvVfio *v, FvVfioGroup *vg, const FvUser *u,
				uint64_t arg)
{
	FvVfioFile *cf;
	FvContainer *c;
	int32_t fd;
	int dup;
	long ret;

	if (fv_user_read(u, arg, &fd, sizeof(fd)))
		return -EFAULT;
	/* fdget (before any lock: the lookup is served by another request) */
	dup = fv_vfio_resolve_fd(v, u, fd, &cf);
	if (dup < 0)
		return dup;	/* EBADF, or the caller is gone */
	pthread_mutex_lock(&v->lock);
	if (atomic_load(&vg->container)) {
		ret = -EINVAL;
		goto out;
	}
	/* vfio_container_from_file: not a container is EINVAL in 6.1. */
	if (!cf || cf->kind != FV_VFIO_CONTAINER) {
		ret = -EINVAL;
		goto out;
	}
	c = cf->c;
	/* iommu_group_claim_dma_owner: a host driver owns the group. */
	if (!group_viable(vg->g)) {
		ret = -EPERM;
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	ret = c->driver ? c->driver->attach_group(c->iommu, vg) : 0;
	if (!ret) {
		vg->c_next = c->groups;
		c->groups = vg;
		c->refs++;
		vg->container_users = 1;
		atomic_store(&vg->container, c);
	}
	pthread_mutex_unlock(&c->lock);
out:
	pthread_mutex_unlock(&v->lock);
	close(dup);
	return ret;
}

/* vfio_group_ioctl_unset_container */
static long group_unset_container(FvVfio *v, FvVfioGroup *vg)
{
	long ret = 0;

	pthread_mutex_lock(&v->lock);
	if (!atomic_load(&vg->container))
		ret = -EINVAL;
	else if (!wait_release(v, group_one_user, sel_group_devices, vg))
		ret = -EBUSY;	/* device fds are open */
	else
		group_detach(v, vg);
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* The 36 characters of a UUID (uuid_is_valid): 0, or -EINVAL. */
static int uuid_check(const char *s)
{
	for (int i = 0; i < UUID_STRING_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			     (s[i] >= 'A' && s[i] <= 'F'))) {
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * vfio_pci_core_match: 1 match, 0 no match, or -errno.  name must start
 * with the device's name; after it only blanks and one vf_token=UUID.
 */
static int match_name(const FvDevice *d, const char *buf)
{
	size_t len = strlen(d->bdf);
	bool vf_token = false;
	int ret;

	if (strncmp(d->bdf, buf, len))
		return 0;
	if (strlen(buf) > len) {
		buf += len;
		if (*buf != ' ')
			return 0;
		while (*buf) {
			if (*buf == ' ') {
				buf++;
				continue;
			}
			if (!vf_token && !strncmp(buf, "vf_token=", 9)) {
				buf += 9;
				if (strlen(buf) < UUID_STRING_LEN)
					return -EINVAL;
				ret = uuid_check(buf);
				if (ret)
					return ret;
				vf_token = true;
				buf += UUID_STRING_LEN;
			} else {
				return -EINVAL;	/* unknown or duplicate option */
			}
		}
	}
	/*
	 * vfio_pci_validate_vf_token: neither a PF with a token nor a VF of
	 * a vfio-pci PF, so a token is refused.
	 */
	if (vf_token)
		return -EINVAL;
	return 1;
}

/* vfio_device_get_from_name.  Graph lock held. */
static FvVfioDev *device_from_name(FvVfio *v, FvVfioGroup *vg, const char *name,
				   int *err)
{
	for (unsigned i = 0; i < vg->g->ndevs; i++) {
		FvDevice *d = vg->g->devs[i];
		int r;

		if (!d->vfio_bound)
			continue;	/* not a vfio device of the group */
		r = match_name(d, name);
		if (r < 0) {
			*err = r;
			return NULL;
		}
		if (r)
			return vdevice(v, d);
	}
	*err = -ENODEV;
	return NULL;
}

/*
 * VFIO_GROUP_GET_DEVICE_FD up to the new file: every check, then (commit)
 * the device is opened -- an "open" of the device for the observers -- and
 * a device file is left for thread tid to open.
 */
static int device_prepare(FvVfio *v, FvVfioFile *gf, const FvUser *u, uint64_t arg,
			  bool commit, pid_t tid, bool (*still_valid)(void *opaque),
			  void *opaque)
{
	FvVfioGroup *vg = gf->vg;
	FvOptraceCall call = { .on = false };
	FvContainer *c;
	FvVfioDev *dev;
	FvVfioFile *f;
	Error *err = NULL;
	FvOp op;
	int ret = 0, injected = 0;
	char *name = fv_user_strndup(u, arg, FV_VFIO_NAME_MAX, &ret);

	if (!name)
		return ret;
	pthread_mutex_lock(&v->lock);
	dev = device_from_name(v, vg, name, &ret);
	free(name);
	if (!dev)
		goto out;
	/* vfio_device_assign_container: needs a container with an IOMMU. */
	c = atomic_load(&vg->container);
	if (!c || !c->driver) {
		ret = -EINVAL;
		goto out;
	}
	if (!commit)
		goto out;
	/* The open of the device: fault rules "open-device", the trace. */
	vdev_op(&op, FV_OP_OPEN, dev, u->pid);
	op.flags = O_RDWR;
	fv_optrace_begin(v->trace, &call, &op, NULL, 0);
	injected = ret = fv_faults_check(v->faults, &op);
	if (ret)
		goto out;
	/* A device fd just closed: let its release close the device first. */
	if (dev->open_count)
		wait_release(v, device_closed, sel_device, dev);
	if (still_valid && !still_valid(opaque)) {
		ret = -ESRCH;
		goto out;
	}
	f = file_new(v, FV_VFIO_DEVICE);
	if (!f) {
		ret = -ENOMEM;
		goto out;
	}
	if (dev->open_count == 0) {
		/* open_device runs on the first open only. */
		dev->vd = fv_vdev_open(dev->d, v->m, v->loop, &v->host, &v->vdev_cfg, &err);
		if (!dev->vd) {
			error_report_err("fakevfio", err);
			file_free(v, f);
			ret = -EIO;
			goto out;
		}
	}
	dev->open_count++;
	vg->container_users++;
	gf->refs++;
	f->vg = vg;
	f->dev = dev;
	f->gfile = gf;
	f->ticket = tid;
	f->pid = u->pid;
out:
	pthread_mutex_unlock(&v->lock);
	if (call.on)
		fv_optrace_end(v->trace, &call, ret, injected != 0);
	return ret;
}

/* A prepared device file nobody opened goes away. */
static void ticket_cancel(FvVfio *v, pid_t tid)
{
	FvVfioFile *f;

	pthread_mutex_lock(&v->lock);
	f = ticket_take(v, tid);
	if (f)
		device_file_release(v, f);
	pthread_mutex_unlock(&v->lock);
}

static long group_ioctl(FvVfio *v, FvVfioFile *gf, const FvUser *u,
			unsigned int cmd, uint64_t arg)
{
	FvVfioGroup *vg = gf->vg;
	long ret;

	switch (cmd) {
	case VFIO_GROUP_GET_DEVICE_FD:
		/* Only the seccomp supervisor can make the fd (see the top). */
		ret = device_prepare(v, gf, u, arg, false, 0, NULL, NULL);
		return ret < 0 ? ret : -EOPNOTSUPP;
	case VFIO_GROUP_GET_STATUS:
		return group_get_status(v, vg, u, arg);
	case VFIO_GROUP_SET_CONTAINER:
		return group_set_container(v, vg, u, arg);
	case VFIO_GROUP_UNSET_CONTAINER:
		return group_unset_container(v, vg);
	default:
		return -ENOTTY;
	}
}

/* ---- the device fd (vfio_main.c:vfio_device_fops_*) ------------------------- */

static long device_ioctl(FvVfio *v, FvVfioFile *f, const FvUser *u,
			 unsigned int cmd, uint64_t arg)
{
	(void)v;
	return fv_vdev_ioctl(f->dev->vd, u, cmd, arg);
}

/* ---- dispatch ------------------------------------------------------------------- */

long fv_vfio_ioctl(FvVfio *v, FvVfioFile *f, const FvCaller *who,
		   unsigned int cmd, uint64_t arg)
{
	pid_t tgid = fv_user_tgid(who->pid);
	FvUser u = { tgid > 0 ? tgid : who->pid };
	FvOptraceCall call;
	FvOp op;
	long ret;
	int injected = 0;
	bool inside;

	/* fakevfio's own private ioctl: neither traced nor faulted. */
	if (cmd == FV_VFIO_IOC_IDENTIFY && tgid == v->self) {
		((FvVfioIdentify *)(uintptr_t)arg)->file = f;
		return 0;
	}
	inside = fv_vfio_inside(v, who->pid);
	file_op(&op, FV_OP_IOCTL, f, u.pid);
	op.cmd = cmd;
	/* An outsider's memory is not read, not even for the trace. */
	fv_optrace_begin(v->trace, &call, &op, inside ? &u : NULL, arg);
	if (!inside) {
		ret = -EPERM;
	} else if ((injected = fv_faults_check(v->faults, &op))) {
		ret = injected;
	} else {
		switch (f->kind) {
		case FV_VFIO_CONTAINER:
			ret = container_ioctl(v, f->c, &u, cmd, arg);
			break;
		case FV_VFIO_GROUP:
			ret = group_ioctl(v, f, &u, cmd, arg);
			break;
		default:
			ret = device_ioctl(v, f, &u, cmd, arg);
			break;
		}
	}
	fv_optrace_end(v->trace, &call, ret, injected != 0);
	return ret;
}

/*
 * A device region that a PE frozen by EEH cuts off (pos is the device fd's
 * offset: the region index is in bits 40 and up): the BARs, the ROM and
 * the config space.
 */
static bool pe_frozen_region(const FvVfioFile *f, uint64_t pos)
{
	return f->kind == FV_VFIO_DEVICE && (pos >> 40) <= VFIO_PCI_CONFIG_REGION_INDEX &&
	       fv_spapr_pe_mmio_frozen(&f->dev->vg->pe);
}

static ssize_t file_rw(FvVfio *v, FvVfioFile *f, const FvCaller *who, void *buf,
		       size_t len, uint64_t pos, bool write)
{
	FvOptraceCall call;
	FvOp op;
	ssize_t ret;
	int injected = 0;

	/*
	 * The process id (a /proc or pidfd lookup) is only needed to describe
	 * the operation to the trace and to pid= fault rules: not on the
	 * plain read/write path.
	 */
	file_op(&op, write ? FV_OP_WRITE : FV_OP_READ, f,
		v->trace || fv_faults_any(v->faults) ? caller_pid(who) : who->pid);
	op.pos = pos;
	op.count = len;
	fv_optrace_begin(v->trace, &call, &op, NULL, 0);
	if (!fv_vfio_inside(v, who->pid))
		ret = -EPERM;
	else if ((injected = fv_faults_check(v->faults, &op)))
		ret = injected;
	else if (f->kind != FV_VFIO_DEVICE)
		ret = -EINVAL;
	else if (write && pe_frozen_region(f, pos))
		ret = (ssize_t)len;	/* a frozen PE drops MMIO and config writes */
	else
		ret = fv_vdev_rw(f->dev->vd, buf, len, pos, write);
	if (!write && ret > 0 && pe_frozen_region(f, pos))
		memset(buf, 0xff, (size_t)ret);	/* ... and its reads return all-ones */
	/*
	 * The bytes of a device fd's access: what a write was given (even if
	 * it failed: a replay needs it), what a read returned.  None for
	 * containers and groups (no region) and for refused outsiders.
	 */
	if (f->kind != FV_VFIO_DEVICE || ret == -EPERM)
		;
	else if (write)
		fv_optrace_data(&call, buf, len);
	else if (ret > 0)
		fv_optrace_data(&call, buf, (size_t)ret);
	fv_optrace_end(v->trace, &call, ret, injected != 0);
	return ret;
}

ssize_t fv_vfio_read(FvVfio *v, FvVfioFile *f, const FvCaller *who, void *buf,
		     size_t len, uint64_t pos)
{
	return file_rw(v, f, who, buf, len, pos, false);
}

ssize_t fv_vfio_write(FvVfio *v, FvVfioFile *f, const FvCaller *who,
		      const void *buf, size_t len, uint64_t pos)
{
	return file_rw(v, f, who, (void *)buf, len, pos, true);
}

/* ---- fds of the caller ------------------------------------------------------------ */

int fv_vfio_resolve_fd(FvVfio *v, const FvUser *u, int fd, FvVfioFile **out)
{
	struct stat st;
	int dup, fl;

	*out = NULL;
	dup = fv_user_getfd(u, fd);
	if (dup < 0)
		return dup;
	/* fdget() does not see O_PATH descriptors. */
	fl = fcntl(dup, F_GETFL);
	if (fl >= 0 && (fl & O_PATH)) {
		close(dup);
		return -EBADF;
	}
	if (v->have_root && fstat(dup, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_dev == v->fuse_dev) {
		FvVfioIdentify id = { NULL };

		/* Comes back as fv_vfio_ioctl on the very open file. */
		if (ioctl(dup, FV_VFIO_IOC_IDENTIFY, &id) == 0)
			*out = id.file;
	}
	return dup;
}

int fv_vfio_notif_get_device_fd(FvVfio *v, const FvVfioNotif *n, bool *ours)
{
	FvUser u = fv_user_from_tid(n->tid);
	pid_t tid = gettid();
	FvOptraceCall call;
	FvVfioFile *gf;
	FvOp op;
	int dup, ret, local, injected;

	*ours = false;
	/*
	 * An outsider (a descendant of CMD that moved to a mount namespace of
	 * its own): its fds are not touched; if fd is one of ours, the FUSE
	 * ioctl refuses the call.
	 */
	if (!fv_vfio_inside(v, n->tid))
		return 0;
	dup = fv_vfio_resolve_fd(v, &u, n->fd, &gf);
	if (dup < 0)
		return 0;	/* the kernel answers for fds that are not ours */
	if (!gf || gf->kind != FV_VFIO_GROUP) {
		close(dup);
		return 0;
	}
	*ours = true;
	file_op(&op, FV_OP_IOCTL, gf, u.pid);
	op.cmd = VFIO_GROUP_GET_DEVICE_FD;
	fv_optrace_begin(v->trace, &call, &op, &u, n->name);
	injected = ret = fv_faults_check(v->faults, &op);
	if (!ret)
		ret = device_prepare(v, gf, &u, n->name, true, tid, n->still_valid,
				     n->opaque);
	close(dup);
	if (ret >= 0) {
		/* fs.c hands the prepared file to this thread's open. */
		local = openat(v->root_fd, FV_VFIO_DEVICE_NODE, O_RDWR | O_CLOEXEC);
		if (local < 0) {
			ret = -errno;
			ticket_cancel(v, tid);
		} else {
			ret = n->install(n->opaque, local);
			if (ret >= 0)
				close(local);	/* the caller's copy holds it open */
			else
				fv_vfio_notif_cancel(v, local);
		}
	}
	fv_optrace_end(v->trace, &call, ret, injected != 0);
	return ret;
}

void fv_vfio_notif_cancel(FvVfio *v, int local)
{
	FvVfioIdentify id = { NULL };
	struct timespec deadline;
	bool live = true;

	if (ioctl(local, FV_VFIO_IOC_IDENTIFY, &id) < 0)
		id.file = NULL;
	close(local);
	if (!id.file)
		return;
	/*
	 * The RELEASE of our last reference is asynchronous: wait for it, so
	 * that the caller's next call finds the device closed, as the kernel's
	 * fput would have left it.
	 */
	deadline_in(&deadline, 1000);
	pthread_mutex_lock(&v->lock);
	while (live) {
		live = false;
		for (FvVfioFile *f = v->files; f && !live; f = f->next)
			live = f == id.file;
		if (live && pthread_cond_timedwait(&v->released, &v->lock, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&v->lock);
}

/* ---- state for dumps ------------------------------------------------------------- */

bool fv_vfio_dump_device(FvVfio *v, FvDevice *dev, FILE *out)
{
	FvVfioDev *vd = vdevice(v, dev);
	FvContainer *c;
	bool open;

	pthread_mutex_lock(&v->lock);
	open = vd && vd->open_count;
	if (open) {
		c = atomic_load(&vd->vg->container);
		fprintf(out, "vfio open_count=%u group=%d container=%u\n", vd->open_count,
			vd->vg->g->id, c ? c->id : 0);
		fv_vdev_dump(vd->vd, out);
		fputc('\n', out);
	}
	pthread_mutex_unlock(&v->lock);
	return open;
}

typedef struct MapVisit {
	unsigned container;
	bool (*fn)(void *opaque, unsigned container, const FvType1Mapping *m);
	void *opaque;
	bool stop;
} MapVisit;

static bool map_visit(void *opaque, const FvType1Mapping *m)
{
	MapVisit *mv = opaque;

	if (!mv->fn(mv->opaque, mv->container, m))
		mv->stop = true;
	return !mv->stop;
}

void fv_vfio_foreach_mapping(FvVfio *v,
			     bool (*fn)(void *opaque, unsigned container,
					const FvType1Mapping *m),
			     void *opaque)
{
	MapVisit mv = { 0, fn, opaque, false };
	unsigned last = 0;

	pthread_mutex_lock(&v->lock);
	/*
	 * Containers in number order: the open container files and those
	 * that live on in their groups only.
	 */
	while (!mv.stop) {
		FvContainer *next = NULL;

		for (FvVfioFile *f = v->files; f; f = f->next)
			if (f->kind == FV_VFIO_CONTAINER && f->c->id > last &&
			    (!next || f->c->id < next->id))
				next = f->c;
		for (unsigned i = 0; i < v->m->ngroups; i++) {
			FvContainer *c = atomic_load(&v->groups[i].container);

			if (c && c->id > last && (!next || c->id < next->id))
				next = c;
		}
		if (!next)
			break;
		last = next->id;
		pthread_mutex_lock(&next->lock);
		if (next->driver && next->driver->foreach_mapping) {
			mv.container = next->id;
			next->driver->foreach_mapping(next->iommu, map_visit, &mv);
		}
		pthread_mutex_unlock(&next->lock);
	}
	pthread_mutex_unlock(&v->lock);
}

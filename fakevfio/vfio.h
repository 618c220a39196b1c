/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/vfio.h: the fake VFIO core, as Linux 6.1's vfio_main.c and
 * container.c behave (vfio-abi.md §2.0-2.3): containers behind
 * /dev/vfio/vfio, groups behind /dev/vfio/<N>, and the device fds that
 * VFIO_GROUP_GET_DEVICE_FD hands out.  The device itself (its ioctls and
 * region read/write) is vdev.c's; the IOMMU of a container is a driver from
 * a table (type1 on x86: type1.c).
 *
 * It knows nothing of FUSE: fs.c turns requests into these calls and their
 * results into replies.  Every open file description of a VFIO file is an
 * FvVfioFile; one central dispatch function per kind (container, group,
 * device) handles its ioctls.
 *
 * Objects and lifetimes (as the kernel's):
 *  - a container lives while its fd is open or a group is attached to it;
 *    the last group leaving releases its IOMMU (every mapping is dropped);
 *  - a group can be open once; its release detaches its container, but a
 *    device fd holds the group open until it is closed;
 *  - a device is opened (fv_vdev_open) by its first device fd and closed by
 *    its last.
 *
 * fd arguments name files in the caller's fd table.  fakevfio duplicates
 * them (pidfd_getfd) and learns which of its own open files they are with a
 * private ioctl on the duplicate, which comes back here as a request on the
 * very open file (FV_VFIO_IOC_IDENTIFY).  That needs a multi-threaded FUSE
 * server: the request is served while another one waits for it.
 *
 * GET_DEVICE_FD must create an fd in the caller, which FUSE cannot: the
 * seccomp supervisor (seccomp.c) catches the ioctl and calls
 * fv_vfio_notif_get_device_fd, which validates it exactly as the kernel
 * does and opens a device file in this process (the hidden FV_VFIO_DEVICE
 * node) that the supervisor then installs in the caller.
 *
 * Observers: every operation on a VFIO file -- open (not the internal
 * device-node open), close, ioctl (not fakevfio's own FV_VFIO_IOC_IDENTIFY),
 * read, write, and GET_DEVICE_FD through the seccomp supervisor with the
 * device open it makes -- is described as an FvOp (op.h), checked against
 * the fault rules (an injected errno replaces the operation) and written
 * to the operation trace (fv_vfio_set_observers).
 *
 * Who may use the files: only processes in the mount namespace that
 * fakevfio created (fv_vfio_set_namespace), which is where CMD runs.  Any
 * other caller -- a process that reaches the FUSE files through
 * /proc/<pid>/root, or one that moved to a mount namespace of its own --
 * is refused with EPERM on open, ioctl, read and write before fakevfio
 * touches its memory or its fds; its GET_DEVICE_FD goes on to the FUSE
 * ioctl, which refuses it the same way.
 *
 * Locking, in this order: the graph lock (opens, releases, attach/detach,
 * device open/close); vdev.c's dev_set lock (fv_vdev_open, fv_vdev_close,
 * hot reset); a sim device's lock; a container's lock (device DMA reaches
 * the IOMMU with the device lock held).  The event log, the fault table
 * and the trace have leaf locks.  Nothing called with a device lock held
 * takes the graph lock (see vfio.c).
 */
#ifndef FAKEVFIO_VFIO_H
#define FAKEVFIO_VFIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "fakevfio.h"
#include "faults.h"
#include "optrace.h"
#include "spapr.h"
#include "type1.h"
#include "user.h"
#include "vdev.h"

typedef struct FvVfio FvVfio;

typedef enum FvVfioFileKind {
	FV_VFIO_CONTAINER,	/* /dev/vfio/vfio */
	FV_VFIO_GROUP,		/* /dev/vfio/<group> */
	FV_VFIO_DEVICE,		/* a device fd (the hidden device node) */
} FvVfioFileKind;

/* The task making a request (from the FUSE request context). */
typedef struct FvCaller {
	pid_t pid;		/* the calling thread (FUSE reports the thread id) */
	uid_t uid;
	gid_t gid;
} FvCaller;

/* One open file description of a VFIO file (opaque). */
typedef struct FvVfioFile FvVfioFile;

/*
 * The private ioctl fakevfio issues on a duplicate of a caller's fd: it
 * arrives as a request on the open file itself.  Only this process may
 * issue it; from anyone else it is an ordinary unknown ioctl.  arg points
 * to an FvVfioIdentify in this process.
 */
#define FV_VFIO_IOC_IDENTIFY _IO(0xfe, 0x56)
typedef struct FvVfioIdentify {
	FvVfioFile *file;	/* out */
} FvVfioIdentify;

/* Things worth an entry in an event log (the control socket's, later). */
typedef struct FvVfioEvents {
	/* A device DMA the IOMMU refused. */
	void (*dma_fault)(void *opaque, FvDevice *dev, uint64_t iova, size_t len,
			  bool write, int err);
	/* An interrupt was signalled to user space. */
	void (*irq)(void *opaque, FvDevice *dev, unsigned index, unsigned vector);
	/*
	 * A reset that user space asked for: VFIO_DEVICE_RESET, a hot reset
	 * (every function on the bus), an FLR through the config region
	 * (PCIe DevCtl or AF).  how: "flr", "pm" or "hot" (the method used).
	 * Called with the device lock held.
	 */
	void (*reset)(void *opaque, FvDevice *dev, const char *how);
	void *opaque;
} FvVfioEvents;

/*
 * The VFIO core of machine m (its platform picks the IOMMU drivers), with
 * the event loop its devices use.  NULL with errp on failure.
 */
FvVfio *fv_vfio_new(FvMachine *m, Error **errp);
/*
 * Close what is still open (devices first), free everything.  The FUSE
 * server and the seccomp supervisor must be stopped.  NULL is a no-op.
 */
void fv_vfio_free(FvVfio *v);

/* Hooks (defaults: none).  Set before serving. */
void fv_vfio_set_events(FvVfio *v, const FvVfioEvents *ev);
/*
 * The operation trace and the fault rules (either may be NULL: off).  They
 * must outlive v.  Set before serving.
 */
void fv_vfio_set_observers(FvVfio *v, FvOptrace *trace, FvFaults *faults);
/*
 * The mount namespace whose processes may use the VFIO files: the calling
 * thread's, now (fv_vfio_new records its caller's).  The launcher calls it
 * once it is in the namespace it made, before it mounts anything.  false
 * with errp if it cannot be found out.
 */
bool fv_vfio_set_namespace(FvVfio *v, Error **errp);
/* Whether thread tid is in that namespace (false: gone, or unknown). */
bool fv_vfio_inside(FvVfio *v, pid_t tid);
/* The IOMMU configuration of containers made from now on (default: type1's). */
void fv_vfio_set_type1_config(FvVfio *v, const FvType1Config *cfg);
/* The pseries host's sPAPR TCE IOMMU and EEH (default fv_spapr_config_init). */
void fv_vfio_set_spapr_config(FvVfio *v, const FvSpaprConfig *cfg);
void fv_vfio_set_vdev_config(FvVfio *v, const FvVdevConfig *cfg);
/*
 * Where fakevfio's own files are: root_fd is an O_PATH descriptor of the
 * root of the FUSE mount (it stays the caller's).  Needed to recognize the
 * caller's fds and to open device files.  false with errp if it cannot be
 * examined.
 */
bool fv_vfio_set_root(FvVfio *v, int root_fd, Error **errp);

/* The name of the hidden device node in the FUSE root. */
#define FV_VFIO_DEVICE_NODE ".vfio-device"

/*
 * open(2) of a VFIO file: 0 and *out, or -errno.  A group open follows
 * vfio-abi.md §2.0 (ENODEV, EBUSY).  A FV_VFIO_DEVICE open succeeds only
 * for the thread that fv_vfio_notif_get_device_fd prepared it for.  A
 * caller outside the namespace: -EPERM.
 */
int fv_vfio_open(FvVfio *v, FvVfioFileKind kind, FvGroup *group,
		 const FvCaller *who, int flags, FvVfioFile **out);
/*
 * The last close of the open file description.  Its trace line names the
 * process that opened the file (FUSE's RELEASE comes from no one).
 */
void fv_vfio_release(FvVfio *v, FvVfioFile *f);
/*
 * close(2) of one descriptor of the open file (FUSE's FLUSH; fs.c asks for
 * it on groups and devices only).  Lets a racing open of the group wait for
 * the release that follows.
 */
void fv_vfio_flush(FvVfio *v, FvVfioFile *f, const FvCaller *who);
/* ioctl(2): the ioctl's return value (>= 0) or -errno (outsiders: -EPERM). */
long fv_vfio_ioctl(FvVfio *v, FvVfioFile *f, const FvCaller *who,
		   unsigned int cmd, uint64_t arg);
/*
 * read(2)/write(2) by who at file position pos: the byte count or -errno.
 * Containers and groups have neither (-EINVAL); devices go to fv_vdev_rw.
 * Outsiders: -EPERM.
 */
ssize_t fv_vfio_read(FvVfio *v, FvVfioFile *f, const FvCaller *who, void *buf,
		     size_t len, uint64_t pos);
ssize_t fv_vfio_write(FvVfio *v, FvVfioFile *f, const FvCaller *who,
		      const void *buf, size_t len, uint64_t pos);
/* Whether the file is a device fd (fs.c opens those seekable). */
bool fv_vfio_file_is_device(const FvVfioFile *f);

/* ioctl(fd, VFIO_GROUP_GET_DEVICE_FD, name) caught by the seccomp supervisor. */
typedef struct FvVfioNotif {
	pid_t tid;		/* the calling thread */
	int fd;			/* the caller's group fd */
	uint64_t name;		/* the caller's pointer to the device name */
	/*
	 * Asked, after the caller's memory was read and before anything is
	 * committed, whether the caller is still waiting (may be NULL).
	 */
	bool (*still_valid)(void *opaque);
	/*
	 * Install local, a device fd of this process, in the caller and
	 * answer the call with it: the caller's new fd, or -errno (nothing
	 * installed, nothing answered).  Required.
	 */
	int (*install)(void *opaque, int local);
	void *opaque;
} FvVfioNotif;

/*
 * *ours false (returns 0): fd is not one of fakevfio's group files, or the
 * caller is outside the namespace: let the call go on.  Otherwise the
 * ioctl's result as the kernel's checks (and the fault rules) decide: the
 * fd that n->install installed (>= 0: the call is answered), or -errno to
 * answer it with.  Traced as a group ioctl, and the device open as an
 * open of the device.
 */
int fv_vfio_notif_get_device_fd(FvVfio *v, const FvVfioNotif *n, bool *ours);
/*
 * A device fd of this process made by fv_vfio_notif_get_device_fd that
 * could not be installed: close it and wait until its release has closed
 * the device.
 */
void fv_vfio_notif_cancel(FvVfio *v, int local);

/*
 * The caller's fd as one of fakevfio's VFIO files: a duplicate of it in
 * this process (>= 0; close it when done with *out, which lives at least
 * that long) with *out NULL when the fd is not a VFIO file of ours, or
 * -EBADF when the caller has no such fd (or an O_PATH one), or -errno.
 */
int fv_vfio_resolve_fd(FvVfio *v, const FvUser *u, int fd, FvVfioFile **out);

/*
 * The VFIO state of dev for a dump: "vfio open_count=N group=G
 * container=C" and fv_vdev_dump's lines.  false (nothing written) when no
 * device fd is open.
 */
bool fv_vfio_dump_device(FvVfio *v, FvDevice *dev, FILE *out);
/*
 * Call fn for every DMA mapping of every container that has an IOMMU set,
 * container by container (numbered 1, 2, ... in the order they were
 * opened) in IOVA order, with locks held: fn must not call into fakevfio.
 * fn returns false to stop.
 */
void fv_vfio_foreach_mapping(FvVfio *v,
			     bool (*fn)(void *opaque, unsigned container,
					const FvType1Mapping *m),
			     void *opaque);

/*
 * Wait up to timeout_ms until every VFIO file has been released (FUSE's
 * RELEASE comes after close(2) returned, and after the exit of the process
 * that held the file).  True when none is left.  `fakevfio run` calls it
 * once CMD has exited, so that the trace and the event log see every
 * close before the server stops.
 */
bool fv_vfio_drain(FvVfio *v, unsigned timeout_ms);

#endif

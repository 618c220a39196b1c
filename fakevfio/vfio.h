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
 * Locking: one mutex for the object graph (opens, releases, attach/detach,
 * device open/close), taken before a sim device's lock (fv_vdev_open and
 * fv_vdev_close run under it), which comes before a container's lock (device
 * DMA).  Nothing called with a device lock held takes the graph lock.
 */
#ifndef FAKEVFIO_VFIO_H
#define FAKEVFIO_VFIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "fakevfio.h"
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
/* The IOMMU configuration of containers made from now on (default: type1's). */
void fv_vfio_set_type1_config(FvVfio *v, const FvType1Config *cfg);
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
 * for the thread that fv_vfio_notif_get_device_fd prepared it for.
 */
int fv_vfio_open(FvVfio *v, FvVfioFileKind kind, FvGroup *group,
		 const FvCaller *who, int flags, FvVfioFile **out);
/* The last close of the open file description. */
void fv_vfio_release(FvVfio *v, FvVfioFile *f);
/*
 * close(2) of one descriptor of the open file (FUSE's FLUSH; fs.c asks for
 * it on groups and devices only).  Lets a racing open of the group wait for
 * the release that follows.
 */
void fv_vfio_flush(FvVfio *v, FvVfioFile *f, const FvCaller *who);
/* ioctl(2): the ioctl's return value (>= 0) or -errno. */
long fv_vfio_ioctl(FvVfio *v, FvVfioFile *f, const FvCaller *who,
		   unsigned int cmd, uint64_t arg);
/*
 * read(2)/write(2) at file position pos: the byte count or -errno.
 * Containers and groups have neither (-EINVAL); devices go to fv_vdev_rw.
 */
ssize_t fv_vfio_read(FvVfio *v, FvVfioFile *f, void *buf, size_t len,
		     uint64_t pos);
ssize_t fv_vfio_write(FvVfio *v, FvVfioFile *f, const void *buf, size_t len,
		      uint64_t pos);
/* Whether the file is a device fd (fs.c opens those seekable). */
bool fv_vfio_file_is_device(const FvVfioFile *f);

/*
 * The seccomp supervisor caught ioctl(fd, VFIO_GROUP_GET_DEVICE_FD, name)
 * from a thread of process u.  *ours false: fd is not one of fakevfio's
 * group files, let the call go on (return 0).  Otherwise the result of the
 * ioctl as the kernel's checks decide: -errno, or (>= 0) a device fd opened
 * in this process for the supervisor to install in the caller (and close).
 * still_valid (may be NULL) is asked, after the caller's memory was read and
 * before anything is committed, whether the caller is still waiting.
 */
int fv_vfio_notif_get_device_fd(FvVfio *v, const FvUser *u, int fd,
				uint64_t name, bool (*still_valid)(void *opaque),
				void *opaque, bool *ours);
/*
 * The device fd fv_vfio_notif_get_device_fd returned could not be installed
 * (e.g. EMFILE): close it and wait until its release has closed the device.
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

#endif

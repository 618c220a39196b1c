/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/vfio.h: the fake VFIO core behind /dev/vfio/vfio (containers)
 * and /dev/vfio/<group>.  It knows nothing of FUSE: fs.c turns requests into
 * these calls and their results into replies.
 *
 * This slice opens and closes the files; every ioctl answers ENOTTY.  The
 * container/group/device ioctl ABI (vfio-abi.md) plugs in at fv_vfio_ioctl
 * and keeps its per-open state in FvVfioFile.state.
 */
#ifndef FAKEVFIO_VFIO_H
#define FAKEVFIO_VFIO_H

#include <stdint.h>
#include <sys/types.h>

#include "fakevfio.h"

typedef struct FvVfio FvVfio;

typedef enum FvVfioFileKind {
	FV_VFIO_CONTAINER,	/* /dev/vfio/vfio */
	FV_VFIO_GROUP,		/* /dev/vfio/<group> */
} FvVfioFileKind;

/* The task making a request (from the FUSE request context). */
typedef struct FvCaller {
	pid_t pid;
	uid_t uid;
	gid_t gid;
} FvCaller;

/* One open file description of a VFIO file. */
typedef struct FvVfioFile {
	FvVfioFileKind kind;
	FvGroup *group;		/* FV_VFIO_GROUP */
	void *state;		/* container or group-open state of the ABI */
} FvVfioFile;

FvVfio *fv_vfio_new(FvMachine *m);
void fv_vfio_free(FvVfio *v);

/* open(2) of a VFIO file: 0 and *out, or -errno. */
int fv_vfio_open(FvVfio *v, FvVfioFileKind kind, FvGroup *group,
		 const FvCaller *who, int flags, FvVfioFile **out);
/* The last close of the open file description. */
void fv_vfio_release(FvVfio *v, FvVfioFile *f);
/* ioctl(2): the ioctl's return value (>= 0) or -errno. */
long fv_vfio_ioctl(FvVfio *v, FvVfioFile *f, const FvCaller *who,
		   unsigned int cmd, uint64_t arg);
/* read(2)/write(2): the container and group fds have neither: -EINVAL. */
ssize_t fv_vfio_read(FvVfio *v, FvVfioFile *f, void *buf, size_t len);
ssize_t fv_vfio_write(FvVfio *v, FvVfioFile *f, const void *buf, size_t len);

#endif

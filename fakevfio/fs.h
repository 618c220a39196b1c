/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/fs.h: the FUSE filesystem of the fake kernel.
 *
 * Its root holds the trees that ns.c bind-mounts over the real paths:
 *
 *   devices/<bdf>/...         -> /sys/bus/pci/devices
 *   drivers/vfio-pci/<bdf>    -> /sys/bus/pci/drivers
 *   iommu_groups/<N>/devices/ -> /sys/kernel/iommu_groups
 *   vfio/{vfio,<N>}           -> /dev/vfio
 *
 * The tree is fixed when the filesystem is created.  Requests are served by
 * a pool of threads (fv_fs_start) until fv_fs_stop.
 */
#ifndef FAKEVFIO_FS_H
#define FAKEVFIO_FS_H

#include <stdbool.h>

#include "fakevfio.h"
#include "vfio.h"

#define FV_FS_DEVICES "devices"
#define FV_FS_DRIVERS "drivers"
#define FV_FS_IOMMU_GROUPS "iommu_groups"
#define FV_FS_VFIO "vfio"

enum {
	FV_FS_THREADS = 4,	/* worker threads serving requests at start */
	FV_FS_MAX_THREADS = 64,	/* at most */
};

typedef struct FvFs FvFs;

/* Build the tree of machine m; VFIO files are served by v. */
FvFs *fv_fs_new(FvMachine *m, FvVfio *v, Error **errp);
/*
 * Serve the filesystem on fuse_fd, an open /dev/fuse already mounted (the
 * caller did the mount).  Takes ownership of fuse_fd, also on failure.
 * Setting FAKEVFIO_FUSE_DEBUG=1 in the environment logs every request.
 */
bool fv_fs_start(FvFs *fs, int fuse_fd, Error **errp);
/*
 * Stop the workers and close the FUSE connection: every request still
 * pending, and any later one, fails (ENOTCONN/ECONNABORTED).
 */
void fv_fs_stop(FvFs *fs);
void fv_fs_free(FvFs *fs);

#endif

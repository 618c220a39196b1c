/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/ns.h: the private mount namespace in which the fake trees cover
 * the real /sys/bus/pci/devices, /sys/bus/pci/drivers,
 * /sys/kernel/iommu_groups and /dev/vfio.
 *
 * The calling process moves into a new mount namespace whose mounts do not
 * propagate to or from the host's.  Nothing is created on the host: the
 * FUSE filesystem is first mounted in a scratch tmpfs laid over one of the
 * covered directories, /dev/vfio is made inside an overlay of /dev whose
 * upper layer lives in that tmpfs, and the scratch tmpfs is detached once
 * the bind mounts are in place.  Every mount dies with the namespace, i.e.
 * with the last process in it (see docs/fakevfio.md).
 */
#ifndef FAKEVFIO_NS_H
#define FAKEVFIO_NS_H

#include <stdbool.h>

#include "common/error.h"

typedef struct FvNs {
	bool make_dev_vfio;	/* the host has no /dev/vfio: overlay /dev */
	int root_fd;		/* O_PATH of the FUSE root, kept for later use */
} FvNs;

/*
 * Check that the paths to cover exist, unshare the mount namespace and
 * make every mount in it private.  Initializes ns.
 */
bool fv_ns_enter(FvNs *ns, Error **errp);
/*
 * Mount the scratch tmpfs and, in it, the FUSE filesystem on fuse_fd (an
 * open /dev/fuse).  The caller then serves fuse_fd; the FUSE root is not
 * looked into before fv_ns_install.
 */
bool fv_ns_mount(int fuse_fd, Error **errp);
/*
 * Bind the fake trees over the real paths (making /dev/vfio through an
 * overlay of /dev when the host has none) and detach the scratch tmpfs.
 * The FUSE server must be running.
 */
bool fv_ns_install(FvNs *ns, Error **errp);
/* Close what ns holds (the mounts stay: they die with the namespace). */
void fv_ns_cleanup(FvNs *ns);

#endif

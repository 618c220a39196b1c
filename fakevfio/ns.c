/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/ns.c: the private mount namespace.
 *
 * Sequence (all in the new namespace; the host's mount table never sees
 * any of it), with mount(2) only, so that it runs on old kernels and under
 * valgrind:
 *
 *  1. unshare(CLONE_NEWNS); make / recursively private.
 *  2. Mount a scratch tmpfs S over /sys/bus/pci/devices (covered anyway)
 *     and the FUSE filesystem at S/fuse.
 *  3. When the host has no /dev/vfio: park /dev's submounts (pts, shm, ...)
 *     in S, mount an overlay over /dev (lower: the real /dev, upper: S/upper),
 *     move the submounts back onto it and mkdir /dev/vfio there: the
 *     directory exists in the upper layer only.
 *  4. Bind S/fuse/{drivers,iommu_groups,vfio} over /sys/bus/pci/drivers,
 *     /sys/kernel/iommu_groups and /dev/vfio.
 *  5. Move S on top of /sys/bus/pci/drivers, bind S/fuse/devices over the
 *     now uncovered /sys/bus/pci/devices, and detach S (with the FUSE mount
 *     at S/fuse) from the top of /sys/bus/pci/drivers.
 *
 * The overlay keeps private references to its layers and the binds are
 * mounts of the FUSE superblock in their own right, so nothing depends on
 * S after step 5.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs.h"
#include "ns.h"

#define SCRATCH "/sys/bus/pci/devices"
#define SCRATCH_FUSE SCRATCH "/fuse"
#define SCRATCH_UPPER SCRATCH "/upper"
#define SCRATCH_WORK SCRATCH "/work"
#define SCRATCH_PARK SCRATCH "/park"
/* Where S goes in step 5: a target already bound in step 4. */
#define LATE_PARK "/sys/bus/pci/drivers"

static const struct {
	const char *sub, *path;
} binds[] = {
	{ FV_FS_DRIVERS, "/sys/bus/pci/drivers" },
	{ FV_FS_IOMMU_GROUPS, "/sys/kernel/iommu_groups" },
	{ FV_FS_VFIO, "/dev/vfio" },
	{ FV_FS_DEVICES, SCRATCH },	/* last: S covers it until step 5 */
};
#define NBINDS (sizeof(binds) / sizeof(binds[0]))

static bool need_dir(const char *path, Error **errp)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		error_setg_errno(errp, errno, "cannot fake %s", path);
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		error_setg(errp, "cannot fake %s: not a directory", path);
		return false;
	}
	return true;
}

/* Whether /dev/vfio must be made (false: it exists and is covered as is). */
static bool dev_vfio_missing(void)
{
	struct stat st;

	return stat("/dev/vfio", &st) < 0 && errno == ENOENT;
}

bool fv_ns_enter(FvNs *ns, Error **errp)
{
	ns->root_fd = -1;
	ns->make_dev_vfio = dev_vfio_missing();
	for (unsigned i = 0; i < NBINDS; i++) {
		if (!strcmp(binds[i].sub, FV_FS_VFIO) && ns->make_dev_vfio) {
			if (!need_dir("/dev", errp))
				return false;
			continue;
		}
		if (!need_dir(binds[i].path, errp))
			return false;
	}
	if (unshare(CLONE_NEWNS) < 0) {
		int err = errno;

		error_setg(errp, "cannot create a mount namespace: %s%s", strerror(err),
			   err == EPERM ? " (fakevfio run needs CAP_SYS_ADMIN: run it as root)" : "");
		return false;
	}
	/* (The type is ignored; "none" keeps valgrind quiet.) */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
		error_setg_errno(errp, errno, "cannot make the mount namespace private");
		return false;
	}
	return true;
}

bool fv_ns_mount(int fuse_fd, Error **errp)
{
	char opts[128];

	if (mount("fakevfio", SCRATCH, "tmpfs", MS_NOSUID, "mode=0700") < 0) {
		error_setg_errno(errp, errno, "cannot mount a tmpfs on %s", SCRATCH);
		return false;
	}
	if (mkdir(SCRATCH_FUSE, 0755) < 0 || mkdir(SCRATCH_UPPER, 0755) < 0 ||
	    mkdir(SCRATCH_WORK, 0755) < 0 || mkdir(SCRATCH_PARK, 0700) < 0) {
		error_setg_errno(errp, errno, "cannot populate the scratch tmpfs");
		return false;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40755,user_id=%u,group_id=%u,allow_other,default_permissions",
		 fuse_fd, (unsigned)getuid(), (unsigned)getgid());
	if (mount("fakevfio", SCRATCH_FUSE, "fuse.fakevfio", MS_NOSUID | MS_NODEV, opts) < 0) {
		error_setg_errno(errp, errno, "cannot mount the FUSE filesystem");
		return false;
	}
	return true;
}

/* Undo the \ooo escapes of a /proc/self/mountinfo path, in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

typedef struct Submounts {
	char **path;
	unsigned n;
} Submounts;

static void submounts_free(Submounts *sm)
{
	for (unsigned i = 0; i < sm->n; i++)
		free(sm->path[i]);
	free(sm->path);
}

/* The mount points of the mounts directly on the mount at /dev. */
static bool submounts_list(Submounts *sm, Error **errp)
{
	struct statx stx;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	bool ok = true;

	memset(sm, 0, sizeof(*sm));
	if (statx(AT_FDCWD, "/dev", 0, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID)) {
		error_setg_errno(errp, errno, "cannot find the mount at /dev");
		return false;
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		error_setg_errno(errp, errno, "cannot read /proc/self/mountinfo");
		return false;
	}
	while (getline(&line, &cap, f) > 0) {
		unsigned long long id, parent;
		char mp[4096], **np;
		bool dup = false;

		if (sscanf(line, "%llu %llu %*s %*s %4095s", &id, &parent, mp) != 3 ||
		    parent != stx.stx_mnt_id || id == parent)
			continue;
		unescape(mp);
		for (unsigned i = 0; i < sm->n; i++)
			dup |= !strcmp(sm->path[i], mp);
		if (dup)
			continue;
		np = realloc(sm->path, (sm->n + 1) * sizeof(*np));
		if (!np || !(np[sm->n] = strdup(mp))) {
			if (np)
				sm->path = np;
			error_setg(errp, "out of memory");
			ok = false;
			break;
		}
		sm->path = np;
		sm->n++;
	}
	free(line);
	fclose(f);
	if (!ok)
		submounts_free(sm);
	return ok;
}

/* Move the mount at path to S/park/<i> (a file or directory like it). */
static bool park(const char *path, unsigned i, Error **errp)
{
	char spot[64];
	struct stat st;
	int fd;

	snprintf(spot, sizeof(spot), SCRATCH_PARK "/%u", i);
	if (stat(path, &st) < 0) {
		error_setg_errno(errp, errno, "cannot stat %s", path);
		return false;
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(spot, 0700) < 0) {
			error_setg_errno(errp, errno, "cannot make %s", spot);
			return false;
		}
	} else {
		fd = open(spot, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0) {
			error_setg_errno(errp, errno, "cannot make %s", spot);
			return false;
		}
		close(fd);
	}
	if (mount(path, spot, "none", MS_MOVE, NULL) < 0) {
		error_setg_errno(errp, errno, "cannot move the mount at %s aside", path);
		return false;
	}
	return true;
}

static bool unpark(const char *path, unsigned i, Error **errp)
{
	char spot[64];

	snprintf(spot, sizeof(spot), SCRATCH_PARK "/%u", i);
	if (mount(spot, path, "none", MS_MOVE, NULL) < 0) {
		error_setg_errno(errp, errno, "cannot move the mount at %s onto the /dev overlay",
				 path);
		return false;
	}
	return true;
}

/* Give the namespace a /dev/vfio without touching the host's /dev. */
static bool make_dev_vfio(Error **errp)
{
	Submounts sm;
	struct statvfs sv;
	struct stat st;
	unsigned long flags = 0;
	char opts[256];
	bool ok = true;

	if (stat("/dev", &st) < 0 || statvfs("/dev", &sv) < 0) {
		error_setg_errno(errp, errno, "cannot stat /dev");
		return false;
	}
	/* The overlay's root takes its attributes from the upper layer. */
	if (chmod(SCRATCH_UPPER, st.st_mode & 07777) < 0 ||
	    chown(SCRATCH_UPPER, st.st_uid, st.st_gid) < 0) {
		error_setg_errno(errp, errno, "cannot prepare the /dev overlay");
		return false;
	}
	if (sv.f_flag & ST_NOSUID)
		flags |= MS_NOSUID;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (!submounts_list(&sm, errp))
		return false;
	for (unsigned i = 0; ok && i < sm.n; i++)
		ok = park(sm.path[i], i, errp);
	snprintf(opts, sizeof(opts), "lowerdir=/dev,upperdir=%s,workdir=%s",
		 SCRATCH_UPPER, SCRATCH_WORK);
	if (ok && mount("overlay", "/dev", "overlay", flags, opts) < 0) {
		error_setg_errno(errp, errno, "cannot mount an overlay on /dev to add /dev/vfio");
		ok = false;
	}
	for (unsigned i = 0; ok && i < sm.n; i++)
		ok = unpark(sm.path[i], i, errp);
	submounts_free(&sm);
	if (ok && (mkdir("/dev/vfio", 0755) < 0 || chmod("/dev/vfio", 0755) < 0)) {
		error_setg_errno(errp, errno, "cannot make /dev/vfio in the overlay");
		ok = false;
	}
	return ok;
}

static bool bind_tree(const char *root, const char *sub, const char *path, Error **errp)
{
	char src[128];

	snprintf(src, sizeof(src), "%s/%s", root, sub);
	if (mount(src, path, "none", MS_BIND, NULL) < 0) {
		error_setg_errno(errp, errno, "cannot mount the fake %s tree on %s", sub, path);
		return false;
	}
	return true;
}

bool fv_ns_install(FvNs *ns, Error **errp)
{
	ns->root_fd = open(SCRATCH_FUSE, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ns->root_fd < 0) {
		error_setg_errno(errp, errno, "cannot open the FUSE root");
		return false;
	}
	if (ns->make_dev_vfio && !make_dev_vfio(errp))
		return false;
	for (unsigned i = 0; i < NBINDS; i++) {
		if (!strcmp(binds[i].path, SCRATCH)) {
			/* Step 5: uncover SCRATCH by moving S away. */
			if (mount(SCRATCH, LATE_PARK, "none", MS_MOVE, NULL) < 0) {
				error_setg_errno(errp, errno, "cannot move the scratch tmpfs");
				return false;
			}
			if (!bind_tree(LATE_PARK "/fuse", binds[i].sub, binds[i].path, errp))
				return false;
			if (umount2(LATE_PARK, MNT_DETACH) < 0) {
				error_setg_errno(errp, errno, "cannot detach the scratch tmpfs");
				return false;
			}
			continue;
		}
		if (!bind_tree(SCRATCH_FUSE, binds[i].sub, binds[i].path, errp))
			return false;
	}
	return true;
}

void fv_ns_cleanup(FvNs *ns)
{
	if (ns->root_fd >= 0)
		close(ns->root_fd);
	ns->root_fd = -1;
}

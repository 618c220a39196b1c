/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/fs.c: the FUSE filesystem (libfuse3 low-level API).
 *
 * Every request gets exactly one reply.  The tree is built once and never
 * changes, so lookups need no locking and inodes are never forgotten; the
 * per-open state (FvOpen) lives in fi->fh from open to release.
 *
 * Files are opened direct_io: the kernel neither caches nor clamps reads
 * to st_size, so a text attribute can report sysfs's size of 4096 and still
 * read short, and every config read reaches the device.
 */
#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>
#include <linux/capability.h>

#include "fs.h"
#include "sysfs.h"

/* Everything is static; cache names and attributes for a while. */
#define FV_FS_TIMEOUT 60.0

typedef enum FvNodeKind {
	FV_NODE_DIR,
	FV_NODE_LINK,
	FV_NODE_ATTR,		/* a text attribute of a device */
	FV_NODE_CONFIG,		/* a device's config space */
	FV_NODE_VFIO,		/* /dev/vfio/vfio or /dev/vfio/<group> */
} FvNodeKind;

typedef struct FvNode FvNode;
struct FvNode {
	fuse_ino_t ino;
	FvNodeKind kind;
	mode_t mode;
	char *name;
	FvNode *parent;
	FvNode **kids;		/* DIR */
	unsigned nkids, nsubdirs;
	char *target;		/* LINK */
	FvAttrId attr;		/* ATTR */
	FvDevice *dev;		/* ATTR, CONFIG */
	FvVfioFileKind vfio_kind; /* VFIO */
	FvGroup *group;		/* VFIO group */
};

/* One open file description. */
typedef struct FvOpen FvOpen;
struct FvOpen {
	FvNode *node;
	bool admin;		/* the opener had CAP_SYS_ADMIN (config) */
	FvVfioFile *vfio;	/* VFIO */
	FvOpen *prev, *next;	/* FvFs.opens */
};

struct FvFs {
	FvMachine *machine;
	FvVfio *vfio;
	FvNode **nodes;		/* nodes[ino - 1] */
	unsigned nnodes, cap;
	struct timespec born;
	struct fuse_session *se;
	int fuse_fd;
	int stop_fd;
	/*
	 * Workers: FV_FS_THREADS at start, one more whenever none is idle
	 * (a VFIO request may wait for another that fakevfio itself issues),
	 * up to FV_FS_MAX_THREADS.
	 */
	pthread_mutex_t lock;	/* threads, nthreads, opens */
	pthread_t threads[FV_FS_MAX_THREADS];
	unsigned nthreads;
	bool stopping;		/* no more workers */
	atomic_uint idle;
	FvOpen *opens;		/* open files (freed by fv_fs_free if FUSE never released them) */
};

/* ---- the tree ------------------------------------------------------- */

static FvNode *node_new(FvFs *fs, FvNode *parent, FvNodeKind kind, mode_t mode,
			const char *name)
{
	FvNode *n;

	if (fs->nnodes == fs->cap) {
		unsigned cap = fs->cap ? fs->cap * 2 : 64;
		FvNode **nv = realloc(fs->nodes, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		fs->nodes = nv;
		fs->cap = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	if (parent) {
		FvNode **kids = realloc(parent->kids, (parent->nkids + 1) * sizeof(*kids));

		if (!kids) {
			free(n->name);
			free(n);
			return NULL;
		}
		parent->kids = kids;
		kids[parent->nkids++] = n;
		if (kind == FV_NODE_DIR)
			parent->nsubdirs++;
	}
	n->kind = kind;
	n->mode = mode;
	n->parent = parent;
	fs->nodes[fs->nnodes++] = n;
	n->ino = fs->nnodes;	/* the root gets FUSE_ROOT_ID (1) */
	return n;
}

static FvNode *mkdir_node(FvFs *fs, FvNode *parent, const char *name)
{
	return node_new(fs, parent, FV_NODE_DIR, S_IFDIR | 0755, name);
}

static FvNode *mklink_node(FvFs *fs, FvNode *parent, const char *name,
			   const char *target)
{
	FvNode *n = node_new(fs, parent, FV_NODE_LINK, S_IFLNK | 0777, name);

	if (n && !(n->target = strdup(target)))
		return NULL;	/* freed with the tree */
	return n;
}

/* drivers/<name>, made on first use. */
static FvNode *driver_dir(FvFs *fs, FvNode *drivers, const char *name)
{
	for (unsigned i = 0; i < drivers->nkids; i++)
		if (!strcmp(drivers->kids[i]->name, name))
			return drivers->kids[i];
	return mkdir_node(fs, drivers, name);
}

static bool build_device(FvFs *fs, FvNode *devices, FvNode *drivers, FvDevice *d)
{
	FvNode *dir = mkdir_node(fs, devices, d->bdf), *drv, *n;
	char target[64 + FV_DRIVER_LEN];

	if (!dir)
		return false;
	for (unsigned i = 0; i < fv_sysfs_n_device_attrs; i++) {
		const FvAttrDesc *a = &fv_sysfs_device_attrs[i];

		n = node_new(fs, dir, FV_NODE_ATTR, S_IFREG | a->mode, a->name);
		if (!n)
			return false;
		n->attr = a->id;
		n->dev = d;
	}
	n = node_new(fs, dir, FV_NODE_CONFIG, S_IFREG | 0644, "config");
	if (!n)
		return false;
	n->dev = d;
	/*
	 * <bdf> is a directory one level deeper below /sys than the kernel's
	 * /sys/devices/pci0000:00/<bdf>, hence four "..": the links resolve
	 * inside the fake trees and keep the kernel's basenames.
	 */
	snprintf(target, sizeof(target), "../../../../kernel/iommu_groups/%d", d->group->id);
	if (!mklink_node(fs, dir, "iommu_group", target))
		return false;
	/* vfio-pci, or the host driver the topology named (driver=NAME). */
	snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", d->driver);
	if (!mklink_node(fs, dir, "driver", target) ||
	    !mklink_node(fs, dir, "subsystem", "../../../../bus/pci"))
		return false;
	drv = driver_dir(fs, drivers, d->driver);
	snprintf(target, sizeof(target), "../../devices/%s", d->bdf);
	return drv && mklink_node(fs, drv, d->bdf, target) != NULL;
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp((*(FvDevice *const *)a)->bdf, (*(FvDevice *const *)b)->bdf);
}

static bool build(FvFs *fs)
{
	FvMachine *m = fs->machine;
	FvNode *root, *devices, *drivers, *groups, *vfio, *n;
	FvDevice **sorted;
	char name[64];
	bool ok = true;

	root = mkdir_node(fs, NULL, "");
	if (!root || !(devices = mkdir_node(fs, root, FV_FS_DEVICES)) ||
	    !(drivers = mkdir_node(fs, root, FV_FS_DRIVERS)) ||
	    !mkdir_node(fs, drivers, FV_DRIVER_VFIO_PCI) ||
	    !(groups = mkdir_node(fs, root, FV_FS_IOMMU_GROUPS)) ||
	    !(vfio = mkdir_node(fs, root, FV_FS_VFIO)))
		return false;
	n = node_new(fs, vfio, FV_NODE_VFIO, S_IFREG | 0666, "vfio");
	if (!n)
		return false;
	n->vfio_kind = FV_VFIO_CONTAINER;
	/*
	 * Device fds: opened by the seccomp supervisor only (vfio.h), in the
	 * root, which no bind mount shows.
	 */
	n = node_new(fs, root, FV_NODE_VFIO, S_IFREG | 0600, FV_VFIO_DEVICE_NODE);
	if (!n)
		return false;
	n->vfio_kind = FV_VFIO_DEVICE;
	for (unsigned i = 0; i < m->ngroups; i++) {
		FvGroup *g = m->groups[i];
		FvNode *gdir, *gdevs;

		snprintf(name, sizeof(name), "%d", g->id);
		gdir = mkdir_node(fs, groups, name);
		if (!gdir || !(gdevs = mkdir_node(fs, gdir, "devices")))
			return false;
		for (unsigned j = 0; j < g->ndevs; j++) {
			char target[64];

			snprintf(target, sizeof(target), "../../../../bus/pci/devices/%s",
				 g->devs[j]->bdf);
			if (!mklink_node(fs, gdevs, g->devs[j]->bdf, target))
				return false;
		}
		/* udev's default for VFIO group nodes: root, 0600. */
		n = node_new(fs, vfio, FV_NODE_VFIO, S_IFREG | 0600, name);
		if (!n)
			return false;
		n->vfio_kind = FV_VFIO_GROUP;
		n->group = g;
	}
	if (!m->ndevs)
		return true;
	sorted = malloc(m->ndevs * sizeof(*sorted));
	if (!sorted)
		return false;
	memcpy(sorted, m->devs, m->ndevs * sizeof(*sorted));
	qsort(sorted, m->ndevs, sizeof(*sorted), cmp_dev);
	for (unsigned i = 0; ok && i < m->ndevs; i++)
		ok = build_device(fs, devices, drivers, sorted[i]);
	free(sorted);
	return ok;
}

FvFs *fv_fs_new(FvMachine *m, FvVfio *v, Error **errp)
{
	FvFs *fs = calloc(1, sizeof(*fs));

	if (!fs) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	fs->machine = m;
	fs->vfio = v;
	fs->fuse_fd = -1;
	fs->stop_fd = -1;
	pthread_mutex_init(&fs->lock, NULL);
	atomic_init(&fs->idle, 0);
	clock_gettime(CLOCK_REALTIME, &fs->born);
	if (!build(fs)) {
		error_setg(errp, "out of memory building the filesystem");
		fv_fs_free(fs);
		return NULL;
	}
	return fs;
}

void fv_fs_free(FvFs *fs)
{
	if (!fs)
		return;
	fv_fs_stop(fs);
	/* Files whose RELEASE never came (the VFIO state is fv_vfio_free's). */
	while (fs->opens) {
		FvOpen *o = fs->opens;

		fs->opens = o->next;
		free(o);
	}
	pthread_mutex_destroy(&fs->lock);
	for (unsigned i = 0; i < fs->nnodes; i++) {
		free(fs->nodes[i]->name);
		free(fs->nodes[i]->kids);
		free(fs->nodes[i]->target);
		free(fs->nodes[i]);
	}
	free(fs->nodes);
	free(fs);
}

/* ---- helpers -------------------------------------------------------- */

static FvFs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The kernel only names inodes that lookups returned (FUSE_ROOT_ID is 1). */
static FvNode *lookup_ino(FvFs *fs, fuse_ino_t ino)
{
	return fs->nodes[ino - 1];
}

static FvCaller req_caller(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	FvCaller who = { ctx->pid, ctx->uid, ctx->gid };

	return who;
}

/*
 * Whether task pid has CAP_SYS_ADMIN in the initial user namespace (ours),
 * as capable()/file_ns_capable(&init_user_ns) ask.
 */
static bool pid_is_admin(pid_t pid)
{
	char path[64], line[256];
	struct stat a, b;
	bool admin = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat(path, &a) || stat("/proc/self/ns/user", &b) ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "CapEff:", 7)) {
			unsigned long long caps = strtoull(line + 7, NULL, 16);

			admin = caps & (1ull << CAP_SYS_ADMIN);
			break;
		}
	}
	fclose(f);
	return admin;
}

static void opens_add(FvFs *fs, FvOpen *o)
{
	pthread_mutex_lock(&fs->lock);
	o->prev = NULL;
	o->next = fs->opens;
	if (fs->opens)
		fs->opens->prev = o;
	fs->opens = o;
	pthread_mutex_unlock(&fs->lock);
}

static void opens_del(FvFs *fs, FvOpen *o)
{
	pthread_mutex_lock(&fs->lock);
	if (o->prev)
		o->prev->next = o->next;
	else
		fs->opens = o->next;
	if (o->next)
		o->next->prev = o->prev;
	pthread_mutex_unlock(&fs->lock);
}

static void node_stat(FvFs *fs, const FvNode *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = n->kind == FV_NODE_DIR ? 2 + n->nsubdirs : 1;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = fs->born;
	switch (n->kind) {
	case FV_NODE_ATTR:
		st->st_size = FV_SYSFS_PAGE;
		break;
	case FV_NODE_CONFIG:
		st->st_size = fv_sysfs_config_size(n->dev);
		break;
	default:
		/* sysfs directories and links, and the VFIO nodes: 0 */
		break;
	}
}

/* ---- operations ----------------------------------------------------- */

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* O_TRUNC comes with open (sysfs ignores it) instead of a setattr. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	FvFs *fs = req_fs(req);
	FvNode *p = lookup_ino(fs, parent);	/* a directory: the kernel knows */
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr_timeout = FV_FS_TIMEOUT;
	e.entry_timeout = FV_FS_TIMEOUT;
	for (unsigned i = 0; i < p->nkids; i++) {
		if (!strcmp(p->kids[i]->name, name)) {
			e.ino = p->kids[i]->ino;
			e.generation = 1;
			node_stat(fs, p->kids[i], &e.attr);
			fuse_reply_entry(req, &e);
			return;
		}
	}
	/* A negative entry (ino 0): the kernel caches the ENOENT. */
	fuse_reply_entry(req, &e);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	FvFs *fs = req_fs(req);
	struct stat st;

	(void)fi;
	node_stat(fs, lookup_ino(fs, ino), &st);
	fuse_reply_attr(req, &st, FV_FS_TIMEOUT);
}

static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	FvFs *fs = req_fs(req);
	struct stat st;

	(void)attr;
	(void)fi;
	/* Ownership and modes are fixed; truncation and times are ignored. */
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	node_stat(fs, lookup_ino(fs, ino), &st);
	fuse_reply_attr(req, &st, FV_FS_TIMEOUT);
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	/* Only sent for symbolic links. */
	fuse_reply_readlink(req, lookup_ino(req_fs(req), ino)->target);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	FvFs *fs = req_fs(req);
	FvNode *n = lookup_ino(fs, ino);	/* only sent for directories */
	size_t used = 0;
	char *buf;

	(void)fi;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (off_t i = off < 0 ? 0 : off; i < (off_t)n->nkids + 2; i++) {
		const FvNode *e = i == 0 ? n : i == 1 ? (n->parent ? n->parent : n) :
				  n->kids[i - 2];
		struct stat st = { .st_ino = e->ino, .st_mode = e->mode };
		const char *name = i == 0 ? "." : i == 1 ? ".." : e->name;
		size_t need = fuse_add_direntry(req, buf + used, size - used, name,
						&st, i + 1);

		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	FvFs *fs = req_fs(req);
	FvNode *n = lookup_ino(fs, ino);	/* a file: the kernel knows */
	int acc = fi->flags & O_ACCMODE;
	FvCaller who = req_caller(req);
	FvOpen *o;

	/* Like kernfs: no write without a writable mode, even for root. */
	if (n->kind != FV_NODE_VFIO &&
	    (((acc == O_WRONLY || acc == O_RDWR) && !(n->mode & 0222)) ||
	     ((acc == O_RDONLY || acc == O_RDWR) && !(n->mode & 0444)))) {
		fuse_reply_err(req, EACCES);
		return;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	o->node = n;
	if (n->kind == FV_NODE_CONFIG)
		o->admin = pid_is_admin(who.pid);
	if (n->kind == FV_NODE_VFIO) {
		int err = fv_vfio_open(fs->vfio, n->vfio_kind, n->group, &who,
				       fi->flags, &o->vfio);

		if (err < 0) {
			free(o);
			fuse_reply_err(req, -err);
			return;
		}
		/*
		 * The kernel's VFIO files have no llseek: lseek is ESPIPE.  A
		 * device fd must keep pread/pwrite, which FUSE's nonseekable
		 * open would take away: it stays seekable (docs/fakevfio.md).
		 */
		fi->nonseekable = !fv_vfio_file_is_device(o->vfio);
	}
	fi->direct_io = 1;
	/* FLUSH (every close) only where a racing group open needs it. */
	fi->noflush = !(n->kind == FV_NODE_VFIO && n->vfio_kind != FV_VFIO_CONTAINER);
	fi->fh = (uint64_t)(uintptr_t)o;
	opens_add(fs, o);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* The opener was interrupted: no release will come. */
		opens_del(fs, o);
		if (o->vfio)
			fv_vfio_release(fs->vfio, o->vfio);
		free(o);
	}
}

static void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	FvOpen *o = (FvOpen *)(uintptr_t)fi->fh;
	FvCaller who = req_caller(req);

	(void)ino;
	if (o && o->vfio)
		fv_vfio_flush(req_fs(req)->vfio, o->vfio, &who);
	fuse_reply_err(req, 0);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	FvOpen *o = (FvOpen *)(uintptr_t)fi->fh;

	(void)ino;
	if (o) {
		opens_del(req_fs(req), o);
		if (o->vfio)
			fv_vfio_release(req_fs(req)->vfio, o->vfio);
	}
	free(o);
	fuse_reply_err(req, 0);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	FvOpen *o = (FvOpen *)(uintptr_t)fi->fh;
	FvFs *fs = req_fs(req);
	char page[FV_SYSFS_PAGE];
	size_t len;

	(void)ino;
	switch (o->node->kind) {
	case FV_NODE_ATTR:
		len = fv_sysfs_show(o->node->attr, o->node->dev, page);
		if (off < 0 || (uint64_t)off >= len) {
			fuse_reply_buf(req, NULL, 0);
			return;
		}
		len -= (size_t)off;
		fuse_reply_buf(req, page + off, len < size ? len : size);
		return;
	case FV_NODE_CONFIG: {
		size_t max = fv_sysfs_config_size(o->node->dev);
		char *buf = malloc(max);

		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		len = off < 0 ? 0 :
		      fv_sysfs_config_read(o->node->dev, (uint64_t)off, buf,
					   size < max ? size : max, o->admin);
		fuse_reply_buf(req, buf, len);
		free(buf);
		return;
	}
	default: {	/* FV_NODE_VFIO: only files are opened */
		char *buf = size ? malloc(size) : NULL;
		FvCaller who = req_caller(req);
		ssize_t r;

		if (size && !buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		r = fv_vfio_read(fs->vfio, o->vfio, &who, buf, size, (uint64_t)off);
		if (r < 0)
			fuse_reply_err(req, (int)-r);
		else
			fuse_reply_buf(req, buf, (size_t)r);
		free(buf);
		return;
	}
	}
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	FvOpen *o = (FvOpen *)(uintptr_t)fi->fh;
	FvFs *fs = req_fs(req);
	ssize_t r;

	(void)ino;
	switch (o->node->kind) {
	case FV_NODE_ATTR:
		/* sysfs passes at most a page to store() and ignores off. */
		if (size > FV_SYSFS_PAGE)
			size = FV_SYSFS_PAGE;
		r = fv_sysfs_store(o->node->attr, o->node->dev, buf, size,
				   pid_is_admin(req_caller(req).pid));
		break;
	case FV_NODE_CONFIG:
		r = off < 0 ? 0 : (ssize_t)fv_sysfs_config_write(o->node->dev,
								 (uint64_t)off, buf, size);
		break;
	default: {	/* FV_NODE_VFIO: only files are opened */
		FvCaller who = req_caller(req);

		r = fv_vfio_write(fs->vfio, o->vfio, &who, buf, size, (uint64_t)off);
		break;
	}
	}
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_write(req, (size_t)r);
}

static void fs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		     size_t in_bufsz, size_t out_bufsz)
{
	FvOpen *o = (FvOpen *)(uintptr_t)fi->fh;
	FvCaller who = req_caller(req);
	long r;

	(void)ino;
	(void)flags;
	(void)in_buf;
	(void)in_bufsz;
	(void)out_bufsz;
	/* sysfs files and directories have no ioctl. */
	if ((flags & FUSE_IOCTL_DIR) || o->node->kind != FV_NODE_VFIO) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	r = fv_vfio_ioctl(req_fs(req)->vfio, o->vfio, &who, cmd,
			  (uint64_t)(uintptr_t)arg);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_ioctl(req, (int)r, NULL, 0);
}

static const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.readlink = fs_readlink,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.release = fs_release,
	.flush = fs_flush,
	.readdir = fs_readdir,
	.ioctl = fs_ioctl,
};

/* ---- the server ----------------------------------------------------- */

static void *worker(void *opaque);

/* One more worker (fs->lock held): true if it started. */
static bool spawn_worker(FvFs *fs)
{
	if (fs->stopping || fs->nthreads == FV_FS_MAX_THREADS ||
	    pthread_create(&fs->threads[fs->nthreads], NULL, worker, fs))
		return false;
	fs->nthreads++;
	atomic_fetch_add(&fs->idle, 1);
	return true;
}

static void *worker(void *opaque)
{
	FvFs *fs = opaque;
	struct fuse_buf buf = { .mem = NULL };
	struct pollfd pfd[2] = {
		{ .fd = fs->fuse_fd, .events = POLLIN },
		{ .fd = fs->stop_fd, .events = POLLIN },
	};

	while (!fuse_session_exited(fs->se)) {
		int r = poll(pfd, 2, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || pfd[1].revents)
			break;
		/* Several workers wake for one request: the losers see EAGAIN. */
		r = fuse_session_receive_buf(fs->se, &buf);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r <= 0)
			break;	/* the connection is gone (0: unmounted) */
		/* The last idle worker takes a request: make another. */
		if (atomic_fetch_sub(&fs->idle, 1) == 1) {
			pthread_mutex_lock(&fs->lock);
			if (!atomic_load(&fs->idle))
				spawn_worker(fs);
			pthread_mutex_unlock(&fs->lock);
		}
		fuse_session_process_buf(fs->se, &buf);
		atomic_fetch_add(&fs->idle, 1);
	}
	free(buf.mem);
	return NULL;
}

bool fv_fs_start(FvFs *fs, int fuse_fd, Error **errp)
{
	const char *dbg = getenv("FAKEVFIO_FUSE_DEBUG");
	char *argv[] = { "fakevfio", "-d", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(dbg && !strcmp(dbg, "1") ? 2 : 1, argv);
	char mnt[32];
	int flags;

	fs->fuse_fd = fuse_fd;
	fs->se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), fs);
	fuse_opt_free_args(&args);
	if (!fs->se) {
		error_setg(errp, "cannot create the FUSE session");
		goto fail;
	}
	/* libfuse takes an already mounted /dev/fuse as "/dev/fd/N". */
	snprintf(mnt, sizeof(mnt), "/dev/fd/%d", fuse_fd);
	if (fuse_session_mount(fs->se, mnt) != 0) {
		error_setg(errp, "cannot attach the FUSE session to fd %d", fuse_fd);
		goto fail;
	}
	/* From here the session owns (and closes) the fd. */
	fs->fuse_fd = fuse_session_fd(fs->se);
	flags = fcntl(fs->fuse_fd, F_GETFL);
	if (flags < 0 || fcntl(fs->fuse_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		error_setg_errno(errp, errno, "cannot make /dev/fuse non-blocking");
		return false;
	}
	fs->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (fs->stop_fd < 0) {
		error_setg_errno(errp, errno, "eventfd");
		return false;
	}
	pthread_mutex_lock(&fs->lock);
	for (unsigned i = 0; i < FV_FS_THREADS; i++) {
		int err = pthread_create(&fs->threads[i], NULL, worker, fs);

		if (err) {
			pthread_mutex_unlock(&fs->lock);
			error_setg_errno(errp, err, "cannot start a FUSE worker");
			return false;
		}
		fs->nthreads++;
		atomic_fetch_add(&fs->idle, 1);
	}
	pthread_mutex_unlock(&fs->lock);
	return true;
fail:
	if (fs->se) {
		fuse_session_destroy(fs->se);
		fs->se = NULL;
	}
	close(fuse_fd);
	fs->fuse_fd = -1;
	return false;
}

void fv_fs_stop(FvFs *fs)
{
	if (fs->stop_fd >= 0) {
		uint64_t one = 1;

		if (write(fs->stop_fd, &one, sizeof(one)) != sizeof(one))
			fuse_session_exit(fs->se);
	}
	/* Workers may still be spawning workers: no more, then join all. */
	pthread_mutex_lock(&fs->lock);
	fs->stopping = true;
	pthread_mutex_unlock(&fs->lock);
	for (unsigned i = 0;; i++) {
		pthread_t t;

		pthread_mutex_lock(&fs->lock);
		if (i >= fs->nthreads) {
			fs->nthreads = 0;
			pthread_mutex_unlock(&fs->lock);
			break;
		}
		t = fs->threads[i];
		pthread_mutex_unlock(&fs->lock);
		pthread_join(t, NULL);
	}
	if (fs->se) {
		/* Closes /dev/fuse: the kernel aborts the connection. */
		fuse_session_destroy(fs->se);
		fs->se = NULL;
	}
	fs->fuse_fd = -1;
	if (fs->stop_fd >= 0) {
		close(fs->stop_fd);
		fs->stop_fd = -1;
	}
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * null-fuse: the floor for fakevfio's benchmarks.  A FUSE filesystem with
 * one file, "dev", that does the minimum a VFIO-style request needs and
 * nothing else:
 *   ioctl  reads a 32-byte argument from the caller with process_vm_readv
 *          and writes it back with process_vm_writev (what fakevfio does
 *          for e.g. VFIO_DEVICE_GET_REGION_INFO), then replies 0;
 *   read   returns 4 bytes.
 * It uses libfuse's standard multi-threaded loop.
 *
 *   null-fuse MOUNTPOINT       serve until SIGINT/SIGTERM, then unmount
 */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define DEV_INO 2

static void nf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st = { .st_ino = ino, .st_nlink = 1 };

	(void)fi;
	if (ino == FUSE_ROOT_ID) {
		st.st_mode = S_IFDIR | 0755;
		st.st_nlink = 2;
	} else if (ino == DEV_INO) {
		st.st_mode = S_IFREG | 0666;
		st.st_size = 4096;
	} else {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fuse_reply_attr(req, &st, 3600);
}

static void nf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = { .ino = DEV_INO, .attr_timeout = 3600,
				      .entry_timeout = 3600 };

	if (parent != FUSE_ROOT_ID || strcmp(name, "dev")) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.attr.st_ino = DEV_INO;
	e.attr.st_mode = S_IFREG | 0666;
	e.attr.st_nlink = 1;
	e.attr.st_size = 4096;
	fuse_reply_entry(req, &e);
}

static void nf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != DEV_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->direct_io = 1;
	fuse_reply_open(req, fi);
}

static void nf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	static const char data[4] = { 1, 2, 3, 4 };

	(void)ino; (void)off; (void)fi;
	fuse_reply_buf(req, data, size < 4 ? size : 4);
}

static void nf_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		     size_t in_bufsz, size_t out_bufsz)
{
	pid_t pid = fuse_req_ctx(req)->pid;
	char buf[32];
	struct iovec l = { buf, sizeof(buf) }, r = { arg, sizeof(buf) };

	(void)ino; (void)cmd; (void)fi; (void)flags; (void)in_buf;
	(void)in_bufsz; (void)out_bufsz;
	if (process_vm_readv(pid, &l, 1, &r, 1, 0) != sizeof(buf) ||
	    process_vm_writev(pid, &l, 1, &r, 1, 0) != sizeof(buf)) {
		fuse_reply_err(req, EFAULT);
		return;
	}
	fuse_reply_ioctl(req, 0, NULL, 0);
}

static const struct fuse_lowlevel_ops nf_ops = {
	.lookup = nf_lookup,
	.getattr = nf_getattr,
	.open = nf_open,
	.read = nf_read,
	.ioctl = nf_ioctl,
};

int main(int argc, char **argv)
{
	char *fargv[] = { argv[0], NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, fargv);
	struct fuse_loop_config *cfg;
	struct fuse_session *se;
	int ret = 1;

	if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(argc == 2 ? stdout : stderr,
			"Usage: null-fuse MOUNTPOINT\n"
			"Serve a do-nothing FUSE file MOUNTPOINT/dev (the benchmarks' floor)\n"
			"until SIGINT or SIGTERM, then unmount.\n");
		return argc == 2 ? 0 : 2;
	}
	se = fuse_session_new(&args, &nf_ops, sizeof(nf_ops), NULL);
	if (!se)
		return 1;
	if (fuse_set_signal_handlers(se) || fuse_session_mount(se, argv[1])) {
		fprintf(stderr, "null-fuse: cannot mount on %s\n", argv[1]);
		fuse_session_destroy(se);
		return 1;
	}
	cfg = fuse_loop_cfg_create();
	if (cfg) {
		fuse_loop_cfg_set_clone_fd(cfg, 0);
		fuse_loop_cfg_set_max_threads(cfg, 4);
		ret = fuse_session_loop_mt(se, cfg) ? 1 : 0;
		fuse_loop_cfg_destroy(cfg);
	}
	fuse_remove_signal_handlers(se);
	fuse_session_unmount(se);
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return ret;
}

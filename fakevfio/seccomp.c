/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/seccomp.c: the GET_DEVICE_FD filter and its supervisor (see
 * seccomp.h).
 *
 * The filter is built with libseccomp in fakevfio and exported as a BPF
 * program before the fork, so that the child installs it with one raw
 * seccomp(2) call (async-signal-safe, as the child of a multi-threaded
 * process must be).  It needs no PR_SET_NO_NEW_PRIVS: fakevfio runs with
 * CAP_SYS_ADMIN, and set-user-ID programs keep working in CMD.  The child
 * hands the listener back over a socketpair (SCM_RIGHTS).
 *
 * The filter matches the ioctl number in its low 32 bits (the kernel's cmd
 * is an unsigned int), for x86-64, i386 and x32 callers; every other call,
 * and any architecture it does not know, is allowed at once.
 *
 * Needs Linux 5.14 (SECCOMP_ADDFD_FLAG_SEND).
 *
 * Under valgrind (which does not pass seccomp(2) through) the child cannot
 * install the filter itself: it execs fakevfio again as a helper
 * (FV_SECCOMP_HELPER_ARG), which runs natively, builds and installs the
 * filter, hands the listener over and execs CMD.  FAKEVFIO_SECCOMP_HELPER=1
 * in the environment takes that path too (for tests).
 *
 * Nested runs: a task's filter chain can hold one notification listener
 * only, so `fakevfio run` inside `fakevfio run` runs its CMD under the
 * outer filter alone, and the inner devices cannot be opened (EOPNOTSUPP).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp.h"

/* Notification buffers when the kernel cannot be asked their sizes. */
#define FALLBACK_NOTIF_SIZE 4096

extern char **environ;

struct FvSeccomp {
	bool helper;		/* the child execs the helper (see the top) */
	char self[4096];	/* the helper: this program */
	struct sock_filter *insns;
	unsigned short ninsns;
	int sock[2];		/* [0]: the supervisor's end, [1]: the child's */
	int listener;
	int stop_fd;
	pthread_t thread;
	bool running;
	FvVfio *v;
	struct seccomp_notif_sizes sizes;
};

/* libseccomp's export: the BPF program, read back from a memfd. */
static bool build(FvSeccomp *sc, Error **errp)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int fd = -1, rc;
	off_t len;
	bool ok = false;

	if (!ctx) {
		error_setg(errp, "cannot build the seccomp filter: seccomp_init failed");
		return false;
	}
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
#if defined(__x86_64__)
	if (!rc && (rc = seccomp_arch_add(ctx, SCMP_ARCH_X86)) == -EEXIST)
		rc = 0;
	if (!rc && (rc = seccomp_arch_add(ctx, SCMP_ARCH_X32)) == -EEXIST)
		rc = 0;
#endif
	if (!rc) {
		/* The ioctl number in the low 32 bits (cmd is an unsigned int). */
		struct scmp_arg_cmp cmd = {
			.arg = 1, .op = SCMP_CMP_MASKED_EQ,
			.datum_a = 0xffffffffu, .datum_b = VFIO_GROUP_GET_DEVICE_FD,
		};

		rc = seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(ioctl), 1, &cmd);
	}
	if (rc) {
		error_setg_errno(errp, -rc, "cannot build the seccomp filter");
		goto out;
	}
	fd = memfd_create("fakevfio-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		error_setg_errno(errp, errno, "cannot build the seccomp filter: memfd_create");
		goto out;
	}
	rc = seccomp_export_bpf(ctx, fd);
	len = lseek(fd, 0, SEEK_END);
	if (rc || len <= 0 || len % sizeof(struct sock_filter) ||
	    len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		error_setg_errno(errp, rc ? -rc : EINVAL, "cannot export the seccomp filter");
		goto out;
	}
	sc->insns = malloc((size_t)len);
	if (!sc->insns || pread(fd, sc->insns, (size_t)len, 0) != len) {
		error_setg(errp, "cannot read the seccomp filter back");
		goto out;
	}
	sc->ninsns = (unsigned short)(len / sizeof(struct sock_filter));
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return ok;
}

FvSeccomp *fv_seccomp_new(Error **errp)
{
	FvSeccomp *sc = calloc(1, sizeof(*sc));

	if (!sc) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	sc->sock[0] = sc->sock[1] = sc->listener = sc->stop_fd = -1;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sc->sizes) < 0) {
		if (errno != ENOSYS) {
			error_setg_errno(errp, errno, "seccomp user notification is not available");
			goto fail;
		}
		/* seccomp(2) is not for us (valgrind): the helper will do it. */
		sc->helper = true;
		sc->sizes.seccomp_notif = FALLBACK_NOTIF_SIZE;
		sc->sizes.seccomp_notif_resp = FALLBACK_NOTIF_SIZE;
	} else {
		const char *force = getenv("FAKEVFIO_SECCOMP_HELPER");

		sc->helper = force && !strcmp(force, "1");
	}
	if (sc->helper) {
		ssize_t n = readlink("/proc/self/exe", sc->self, sizeof(sc->self) - 1);

		if (n <= 0 || n == sizeof(sc->self) - 1) {
			error_setg_errno(errp, n < 0 ? errno : ENAMETOOLONG,
					 "cannot find the seccomp helper");
			goto fail;
		}
		sc->self[n] = '\0';
	} else if (!build(sc, errp)) {
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sc->sock) < 0) {
		error_setg_errno(errp, errno, "socketpair");
		goto fail;
	}
	sc->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (sc->stop_fd < 0) {
		error_setg_errno(errp, errno, "eventfd");
		goto fail;
	}
	return sc;
fail:
	fv_seccomp_free(sc);
	return NULL;
}

/* ---- the child's side (async-signal-safe) ------------------------------- */

static int child_install(void *opaque)
{
	FvSeccomp *sc = opaque;
	struct sock_fprog prog = { .len = sc->ninsns, .filter = sc->insns };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	int lfd;

	/*
	 * WAIT_KILLABLE_RECV (5.19): once the supervisor has received a
	 * GET_DEVICE_FD, only a fatal signal interrupts the caller's wait, as
	 * no signal interrupts the kernel's ioctl.  Without it, a signal (QEMU's
	 * threads get them) restarts the call with a new notification, and the
	 * first answer fails (ENOENT) after the device was opened: a spurious
	 * failed GET_DEVICE_FD in the trace.  Older kernels: without the flag.
	 */
	lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			   SECCOMP_FILTER_FLAG_NEW_LISTENER |
			   SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
	if (lfd < 0 && errno == EINVAL)
		lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				   SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	/*
	 * EBUSY: a filter of ours is there already -- fakevfio runs inside
	 * fakevfio, and a task can have only one listener in its filter
	 * chain.  The outer supervisor lets the call go on; the inner
	 * fakevfio's GET_DEVICE_FD then fails with EOPNOTSUPP.
	 */
	if (lfd < 0 && errno == EBUSY)
		return 0;
	if (lfd < 0)
		return errno;
	memset(ctl.buf, 0, sizeof(ctl.buf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &lfd, sizeof(int));
	if (sendmsg(sc->sock[1], &msg, MSG_NOSIGNAL) < 0)
		return errno;
	close(lfd);
	return 0;
}

static void parent_after_fork(void *opaque)
{
	FvSeccomp *sc = opaque;

	/* The child has its copy: EOF on [0] now means it sent nothing. */
	if (sc->sock[1] >= 0) {
		close(sc->sock[1]);
		sc->sock[1] = -1;
	}
}

/* Decimal digits of v (>= 0) into buf: async-signal-safe. */
static void utoa(unsigned v, char buf[16])
{
	char tmp[16];
	int n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
}

static int child_hook(void *opaque, const char *path, char *const argv[], int report_fd)
{
	FvSeccomp *sc = opaque;
	char sock[16], report[16];
	int argc = 0;

	if (!sc->helper)
		return child_install(sc);
	/* fakevfio --seccomp-exec-helper SOCK REPORT PATH ARGV... */
	while (argv[argc])
		argc++;
	{
		char *hargv[argc + 6];

		utoa((unsigned)sc->sock[1], sock);
		utoa((unsigned)report_fd, report);
		hargv[0] = sc->self;
		hargv[1] = (char *)FV_SECCOMP_HELPER_ARG;
		hargv[2] = sock;
		hargv[3] = report;
		hargv[4] = (char *)path;
		for (int i = 0; i <= argc; i++)
			hargv[5 + i] = argv[i];
		if (fcntl(sc->sock[1], F_SETFD, 0) < 0 || fcntl(report_fd, F_SETFD, 0) < 0)
			return errno;
		execve(sc->self, hargv, environ);
	}
	return errno;
}

int fv_seccomp_helper_main(int argc, char **argv)
{
	FvSeccomp sc = { .sock = { -1, -1 } };
	Error *err = NULL;
	int report, ret;

	if (argc < 6) {
		fprintf(stderr, "fakevfio: %s is internal\n", FV_SECCOMP_HELPER_ARG);
		return FV_RUN_EXIT_FAILURE;
	}
	sc.sock[1] = atoi(argv[2]);
	report = atoi(argv[3]);
	fcntl(report, F_SETFD, FD_CLOEXEC);
	fcntl(sc.sock[1], F_SETFD, FD_CLOEXEC);
	if (!build(&sc, &err)) {
		error_free(err);
		fv_run_report(report, true, EINVAL);
		return FV_RUN_EXIT_FAILURE;
	}
	ret = child_install(&sc);
	free(sc.insns);
	if (ret) {
		fv_run_report(report, true, ret);
		return FV_RUN_EXIT_FAILURE;
	}
	close(sc.sock[1]);
	execve(argv[4], argv + 5, environ);
	fv_run_report(report, false, errno);
	return FV_RUN_EXIT_CANNOT_EXEC;
}

void fv_seccomp_hook(FvSeccomp *sc, FvRunHook *hook)
{
	hook->child = child_hook;
	hook->parent = parent_after_fork;
	hook->what = "cannot install the seccomp filter";
	hook->opaque = sc;
}

/* ---- the supervisor ------------------------------------------------------ */

/* Wait for fd to be readable; false when told to stop. */
static bool wait_readable(FvSeccomp *sc, int fd, short *revents)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = sc->stop_fd, .events = POLLIN },
	};

	for (;;) {
		int r = poll(pfd, 2, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || pfd[1].revents)
			return false;
		*revents = pfd[0].revents;
		return true;
	}
}

static int receive_listener(FvSeccomp *sc)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	short ev;
	int fd = -1;

	if (!wait_readable(sc, sc->sock[0], &ev))
		return -1;
	if (recvmsg(sc->sock[0], &msg, MSG_CMSG_CLOEXEC) <= 0)
		return -1;	/* no child, or it failed before sending */
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

typedef struct NotifCtx {
	FvSeccomp *sc;
	uint64_t id;
} NotifCtx;

static bool notif_valid(void *opaque)
{
	NotifCtx *ctx = opaque;

	return ioctl(ctx->sc->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &ctx->id) == 0;
}

/* Install our device fd in the caller and answer with its number. */
static int notif_install(void *opaque, int local)
{
	NotifCtx *ctx = opaque;
	struct seccomp_notif_addfd add = {
		.id = ctx->id,
		.flags = SECCOMP_ADDFD_FLAG_SEND,
		.srcfd = (uint32_t)local,
		.newfd_flags = O_CLOEXEC,
	};
	int ret = ioctl(ctx->sc->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);

	/* ENOENT: the caller went away meanwhile; e.g. EMFILE: it is full. */
	return ret >= 0 ? ret : -errno;
}

static void handle(FvSeccomp *sc, const struct seccomp_notif *req,
		   struct seccomp_notif_resp *resp)
{
	NotifCtx ctx = { sc, req->id };
	FvVfioNotif n = {
		.tid = (pid_t)req->pid,
		.fd = (int)req->data.args[0],
		.name = req->data.args[2],
		.still_valid = notif_valid,
		.install = notif_install,
		.opaque = &ctx,
	};
	bool ours = false;
	int r;

	/* 32-bit callers: the pointer is the low half (compat_ptr). */
	if (req->data.arch == AUDIT_ARCH_I386)
		n.name &= 0xffffffffu;
#ifdef __X32_SYSCALL_BIT
	if (req->data.nr & __X32_SYSCALL_BIT)
		n.name &= 0xffffffffu;
#endif
	memset(resp, 0, sc->sizes.seccomp_notif_resp);
	resp->id = req->id;
	r = fv_vfio_notif_get_device_fd(sc->v, &n, &ours);
	if (!ours)
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else if (r >= 0)
		return;		/* answered by SECCOMP_ADDFD_FLAG_SEND */
	else
		resp->error = r;
	/* ENOENT: the caller went away meanwhile.  Nothing to do. */
	(void)ioctl(sc->listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

static void *supervisor(void *opaque)
{
	FvSeccomp *sc = opaque;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	short ev;

	sc->listener = receive_listener(sc);
	if (sc->listener < 0)
		return NULL;
	req = malloc(sc->sizes.seccomp_notif);
	resp = malloc(sc->sizes.seccomp_notif_resp);
	while (req && resp && wait_readable(sc, sc->listener, &ev)) {
		if (!(ev & POLLIN))
			break;	/* POLLHUP: every filtered task is gone */
		memset(req, 0, sc->sizes.seccomp_notif);
		if (ioctl(sc->listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;	/* the caller went away */
			break;
		}
		handle(sc, req, resp);
	}
	free(req);
	free(resp);
	return NULL;
}

bool fv_seccomp_start(FvSeccomp *sc, FvVfio *v, Error **errp)
{
	int err;

	sc->v = v;
	err = pthread_create(&sc->thread, NULL, supervisor, sc);
	if (err) {
		error_setg_errno(errp, err, "cannot start the seccomp supervisor");
		return false;
	}
	sc->running = true;
	return true;
}

void fv_seccomp_free(FvSeccomp *sc)
{
	if (!sc)
		return;
	if (sc->running) {
		uint64_t one = 1;

		ssize_t n = write(sc->stop_fd, &one, sizeof(one));

		(void)n;	/* adding 1 to a fresh eventfd cannot fail */
		pthread_join(sc->thread, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (sc->sock[i] >= 0)
			close(sc->sock[i]);
	if (sc->listener >= 0)
		close(sc->listener);
	if (sc->stop_fd >= 0)
		close(sc->stop_fd);
	free(sc->insns);
	free(sc);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Access to the memory and file descriptors of the process that issued a
 * request (the FUSE caller).  The kernel's VFIO copies ioctl arguments with
 * copy_from_user; a FUSE server cannot, so it reads and writes the caller's
 * memory with process_vm_readv/writev and duplicates the caller's fds with
 * pidfd_getfd.  Everything here works on the server's own pid too, which is
 * how the unit tests drive the ioctl handlers in-process.
 */
#ifndef FAKEVFIO_USER_H
#define FAKEVFIO_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct FvUser {
	pid_t pid;		/* the calling thread's process (tgid) */
} FvUser;

/*
 * The process (thread group id) of thread tid, as /proc/<tid>/status
 * "Tgid:" tells: the tgid, or -ESRCH when the thread is gone.  FUSE and
 * seccomp name the calling thread; memory and fds belong to its process
 * (pidfd_open fails on a thread that is not the leader before Linux 6.9).
 */
pid_t fv_user_tgid(pid_t tid);
/* The FvUser of thread tid (its tgid; tid itself if it is gone). */
FvUser fv_user_from_tid(pid_t tid);

/* Copy len bytes from/to the caller's address addr: 0 or -EFAULT. */
int fv_user_read(const FvUser *u, uint64_t addr, void *buf, size_t len);
int fv_user_write(const FvUser *u, uint64_t addr, const void *buf, size_t len);
/*
 * Read a NUL-terminated string of at most max bytes including the NUL
 * (the kernel's strndup_user): returns a malloc'ed copy, or NULL with
 * *err = -EFAULT (fault) or -EINVAL (no NUL within max bytes).
 */
char *fv_user_strndup(const FvUser *u, uint64_t addr, size_t max, int *err);
/*
 * Duplicate the caller's file descriptor fd into this process (close it
 * when done): the new fd, or -EBADF when the caller has no such fd, or
 * another negative errno.
 */
int fv_user_getfd(const FvUser *u, int fd);
/*
 * eventfd_ctx_fdget on the caller's fd: our duplicate of it, -EBADF when
 * the caller has no such fd, -EINVAL when it is not an eventfd.
 */
int fv_user_get_eventfd(const FvUser *u, int fd);
/*
 * eventfd_signal(ctx, 1) on our duplicate.  The open file is shared with
 * the user, who may have it blocking: never write when that could block
 * (a counter at its maximum); the kernel's signal saturates instead.
 */
void fv_eventfd_signal(int fd);

/*
 * Whether every page of [addr, last] of process pid lies in a VMA with the
 * permission (write, else read), read from the text of /proc/PID/maps:
 * 0, or -EFAULT with the first address that is not (bad may be NULL).
 * What pin_user_pages_remote would refuse: a hole, or the permission
 * missing.
 */
int fv_user_check_range(pid_t pid, uint64_t addr, uint64_t last, bool write,
			uint64_t *bad);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "user.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int vm_copy(const FvUser *u, uint64_t addr, void *buf, size_t len,
		   bool write)
{
	size_t done = 0;

	if (!len)
		return 0;
	if (addr + len - 1 < addr)
		return -EFAULT;
	while (done < len) {
		struct iovec local = { (char *)buf + done, len - done };
		struct iovec remote = { (void *)(uintptr_t)(addr + done), len - done };
		ssize_t n = write ? process_vm_writev(u->pid, &local, 1, &remote, 1, 0)
				  : process_vm_readv(u->pid, &local, 1, &remote, 1, 0);

		if (n <= 0)
			return (n < 0 && errno == ESRCH) ? -ESRCH : -EFAULT;
		done += (size_t)n;
	}
	return 0;
}

int fv_user_read(const FvUser *u, uint64_t addr, void *buf, size_t len)
{
	return vm_copy(u, addr, buf, len, false);
}

int fv_user_write(const FvUser *u, uint64_t addr, const void *buf, size_t len)
{
	return vm_copy(u, addr, (void *)buf, len, true);
}

char *fv_user_strndup(const FvUser *u, uint64_t addr, size_t max, int *err)
{
	char *s = malloc(max);
	size_t got = 0;

	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	/* Read page by page: the string may end just before unmapped memory. */
	while (got < max) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		char *nul;

		if (chunk > max - got)
			chunk = max - got;
		if (vm_copy(u, addr + got, s + got, chunk, false)) {
			free(s);
			*err = -EFAULT;
			return NULL;
		}
		nul = memchr(s + got, '\0', chunk);
		if (nul)
			return s;
		got += chunk;
	}
	free(s);
	*err = -EINVAL;
	return NULL;
}

pid_t fv_user_tgid(pid_t tid)
{
	char path[64], buf[1024], *p;
	int fd, pidfd;
	ssize_t n;

	if (tid <= 0)
		return -ESRCH;
	/* Fast path: pidfd_open without PIDFD_THREAD takes only a leader. */
	pidfd = (int)syscall(SYS_pidfd_open, tid, 0);
	if (pidfd >= 0) {
		close(pidfd);
		return tid;
	}
	if (errno == ESRCH)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strstr(buf, "\nTgid:");
	if (!p)
		return -ESRCH;
	return (pid_t)strtol(p + 6, NULL, 10);
}

FvUser fv_user_from_tid(pid_t tid)
{
	pid_t tgid = fv_user_tgid(tid);
	FvUser u = { tgid > 0 ? tgid : tid };

	return u;
}

int fv_user_getfd(const FvUser *u, int fd)
{
	int pidfd, nfd;

	if (fd < 0)
		return -EBADF;
	pidfd = (int)syscall(SYS_pidfd_open, u->pid, 0);
	if (pidfd < 0 && (errno == EINVAL || errno == ENOENT)) {
		/*
		 * A thread id (EINVAL, or ENOENT on newer kernels): its
		 * process owns the fd table.
		 */
		pid_t tgid = fv_user_tgid(u->pid);

		if (tgid > 0)
			pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
		else
			errno = ESRCH;
	}
	if (pidfd < 0)
		return -errno;
	nfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (nfd < 0)
		nfd = -errno;
	close(pidfd);
	return nfd;
}

int fv_user_get_eventfd(const FvUser *u, int ufd)
{
	char path[48], link[32];
	ssize_t n;
	int fd = fv_user_getfd(u, ufd);

	if (fd < 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 || (link[n] = '\0', strcmp(link, "anon_inode:[eventfd]"))) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

void fv_eventfd_signal(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	uint64_t one = 1;

	if (poll(&p, 1, 0) == 1 && (p.revents & POLLOUT)) {
		ssize_t r = write(fd, &one, sizeof(one));

		(void)r;
	}
}

int fv_user_check_range(pid_t pid, uint64_t addr, uint64_t last, bool write,
			uint64_t *bad)
{
	char path[40], *line = NULL;
	size_t cap = 0;
	uint64_t cur = addr;
	int ret = -EFAULT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f) {
		if (bad)
			*bad = addr;
		return -EFAULT;
	}
	while (getline(&line, &cap, f) > 0) {
		uint64_t start, end;
		char perms[5];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &start, &end, perms) != 3)
			continue;
		if (end <= cur)
			continue;
		if (start > cur || perms[write ? 1 : 0] != (write ? 'w' : 'r'))
			break;
		if (end - 1 >= last) {
			ret = 0;
			break;
		}
		cur = end;
	}
	if (bad)
		*bad = cur;
	free(line);
	fclose(f);
	return ret;
}

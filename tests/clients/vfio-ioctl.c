/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-ioctl: run a script of raw VFIO system calls given on the command
 * line and print one line per step, "STEP -> RESULT", so that a test can be
 * a table.  Links against libc only: it runs on real VFIO as well as under
 * `fakevfio run`.
 *
 *   vfio-ioctl STEP...
 *
 * Steps (N, M: names of fds opened earlier; a number is a raw fd number):
 *   N=open:PATH            open(PATH, O_RDWR) -> ok | ERRNO
 *   N=opath:PATH           open(PATH, O_PATH) -> ok | ERRNO
 *   close:N                close -> ok | ERRNO
 *   N=pipe                 a pipe; N is its read end -> ok
 *   ioctl:N:CMD[:ARG]      ioctl(N, CMD, ARG) -> its return value | ERRNO,
 *                          then " out=HEX" when ARG was a buffer
 *   M=ioctl:N:CMD[:ARG]    the same; a return >= 0 is an fd named M (-> ok)
 *   pread:N:OFF:LEN        -> HEX of what was read | ERRNO
 *   pwrite:N:OFF:HEX       -> count | ERRNO
 *   read:N:LEN, write:N:HEX   the same at the file position
 *   lseek:N:OFF:set|cur|end   -> new position | ERRNO
 *   mmap:N:OFF:LEN         mmap(MAP_SHARED, read/write) -> ok | ERRNO
 *   map:N:IOVA:SIZE        VFIO_IOMMU_MAP_DMA (READ|WRITE) of SIZE fresh
 *                          anonymous bytes at IOVA -> 0 | ERRNO
 *   unmap:N:IOVA:SIZE      VFIO_IOMMU_UNMAP_DMA -> 0 size=BYTES | ERRNO
 *   cloexec:N              -> 1 | 0 (FD_CLOEXEC)
 *   flags:N                -> the O_ACCMODE of F_GETFL: rdonly|wronly|rdwr
 *   thread                 run the remaining steps in a new thread
 *                          -> tid!=pid (or tid==pid)
 *   sleep:MS               sleep MS milliseconds -> ok
 *   wait                   wait for a line (or EOF) on stdin -> ok
 *   reopen:N:PATH:COUNT    close N and open PATH again, COUNT times
 *                          -> ok | FAILS/COUNT ERRNO (the first error)
 *   echo:TEXT              -> TEXT (a marker in the output)
 *
 * CMD: a VFIO ioctl name with or without "VFIO_" (GROUP_GET_STATUS,
 * IOMMU_MAP_DMA, ...) or a number (0x3b64).
 *
 * ARG:
 *   v:NUM        the value itself
 *   fd:N         a pointer to an int holding fd N (fd:-1, fd:99: raw numbers)
 *   str:TEXT     a pointer to TEXT (the rest of the step, colons and all)
 *   long:LEN     a pointer to LEN 'x' characters and a NUL
 *   hex:BYTES[/SIZE]  a pointer to SIZE (default: as many as BYTES) bytes,
 *                starting with BYTES (hex) and zero-filled
 *   ptr:ADDR     the raw pointer ADDR (e.g. ptr:8)
 *   unmapped     a pointer to an unmapped page
 *   edge:TEXT    a pointer to TEXT without its NUL, ending right before an
 *                unmapped page
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 64

static struct {
	char name[32];
	int fd;
} fds[MAX_FDS];
static unsigned nfds;
static int nsteps;
static char **steps;

static const struct {
	const char *name;
	unsigned long cmd;
} cmds[] = {
#define C(x) { #x, VFIO_##x }
	C(GET_API_VERSION), C(CHECK_EXTENSION), C(SET_IOMMU),
	C(GROUP_GET_STATUS), C(GROUP_SET_CONTAINER), C(GROUP_UNSET_CONTAINER),
	C(GROUP_GET_DEVICE_FD), C(DEVICE_GET_INFO), C(DEVICE_GET_REGION_INFO),
	C(DEVICE_GET_IRQ_INFO), C(DEVICE_SET_IRQS), C(DEVICE_RESET),
	C(DEVICE_GET_PCI_HOT_RESET_INFO), C(DEVICE_PCI_HOT_RESET),
	C(DEVICE_FEATURE), C(DEVICE_IOEVENTFD),
	C(IOMMU_GET_INFO), C(IOMMU_MAP_DMA), C(IOMMU_UNMAP_DMA),
	C(IOMMU_DIRTY_PAGES), C(IOMMU_ENABLE), C(IOMMU_DISABLE),
	C(IOMMU_SPAPR_TCE_GET_INFO), C(EEH_PE_OP),
#undef C
};

static const struct {
	int err;
	const char *name;
} errnames[] = {
#define E(x) { x, #x }
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG),
	E(EBADF), E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT), E(EBUSY),
	E(EEXIST), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE),
	E(EMFILE), E(ENOTTY), E(ENOSPC), E(ESPIPE), E(ERANGE), E(ENOSYS),
	E(EOPNOTSUPP), E(EBADFD), E(EOVERFLOW), E(ENOTCONN), E(ECONNABORTED),
#undef E
};

static const char *errname(int err)
{
	static char buf[16];

	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

_Noreturn static void die(const char *step, const char *why)
{
	fprintf(stderr, "vfio-ioctl: %s: %s\n", step, why);
	exit(2);
}

static int fd_of(const char *step, const char *name)
{
	char *end;
	long v;

	for (unsigned i = 0; i < nfds; i++)
		if (!strcmp(fds[i].name, name))
			return fds[i].fd;
	v = strtol(name, &end, 0);
	if (*name && !*end)
		return (int)v;
	die(step, "unknown fd name");
	return -1;
}

static void fd_set_name(const char *step, const char *name, int fd)
{
	for (unsigned i = 0; i < nfds; i++) {
		if (!strcmp(fds[i].name, name)) {
			fds[i].fd = fd;
			return;
		}
	}
	if (nfds == MAX_FDS || strlen(name) >= sizeof(fds[0].name))
		die(step, "too many fds or name too long");
	snprintf(fds[nfds].name, sizeof(fds[nfds].name), "%s", name);
	fds[nfds++].fd = fd;
}

static unsigned long cmd_of(const char *step, const char *s)
{
	char *end;
	unsigned long v;

	if (!strncmp(s, "VFIO_", 5))
		s += 5;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, s))
			return cmds[i].cmd;
	v = strtoul(s, &end, 0);
	if (!*s || *end)
		die(step, "unknown ioctl");
	return v;
}

static size_t unhex(const char *step, const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;

	while (s[0] && s[0] != '/') {
		unsigned v;

		if (!s[1] || sscanf(s, "%2x", &v) != 1 || n == max)
			die(step, "bad hex");
		out[n++] = (unsigned char)v;
		s += 2;
	}
	return n;
}

static void put_hex(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* A page-aligned area of n pages whose last page is unmapped. */
static char *guarded(size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, (n + 1) * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p + n * pg, pg);
	return p;
}

static void do_ioctl(const char *step, const char *out, char *rest)
{
	char *fdname = rest, *cmdname, *arg = NULL;
	unsigned char *buf = NULL;
	size_t bufsz = 0;
	unsigned long cmd;
	uintptr_t a = 0;
	int fdval, r, err;
	long pg = sysconf(_SC_PAGESIZE);

	cmdname = strchr(fdname, ':');
	if (!cmdname)
		die(step, "ioctl:FD:CMD[:ARG]");
	*cmdname++ = '\0';
	arg = strchr(cmdname, ':');
	if (arg)
		*arg++ = '\0';
	cmd = cmd_of(step, cmdname);
	if (!arg) {
		a = 0;
	} else if (!strncmp(arg, "v:", 2)) {
		a = (uintptr_t)strtoull(arg + 2, NULL, 0);
	} else if (!strncmp(arg, "fd:", 3)) {
		fdval = fd_of(step, arg + 3);
		buf = malloc(sizeof(int));
		memcpy(buf, &fdval, sizeof(int));
		a = (uintptr_t)buf;
		buf = NULL;	/* not printed back */
	} else if (!strncmp(arg, "str:", 4)) {
		a = (uintptr_t)(arg + 4);
	} else if (!strncmp(arg, "long:", 5)) {
		size_t n = strtoul(arg + 5, NULL, 0);
		char *s = malloc(n + 1);

		memset(s, 'x', n);
		s[n] = '\0';
		a = (uintptr_t)s;
	} else if (!strncmp(arg, "hex:", 4)) {
		unsigned char tmp[4096];
		size_t n = unhex(step, arg + 4, tmp, sizeof(tmp));
		const char *slash = strchr(arg + 4, '/');

		bufsz = slash ? strtoul(slash + 1, NULL, 0) : n;
		if (bufsz < n)
			bufsz = n;
		buf = calloc(1, bufsz ? bufsz : 1);
		memcpy(buf, tmp, n);
		a = (uintptr_t)buf;
	} else if (!strncmp(arg, "ptr:", 4)) {
		a = (uintptr_t)strtoull(arg + 4, NULL, 0);
	} else if (!strcmp(arg, "unmapped")) {
		a = (uintptr_t)guarded(0);
	} else if (!strncmp(arg, "edge:", 5)) {
		size_t n = strlen(arg + 5);
		char *p = guarded(1);

		memcpy(p + pg - n, arg + 5, n);
		a = (uintptr_t)(p + pg - n);
	} else {
		die(step, "unknown ARG");
	}
	fdval = fd_of(step, fdname);
	r = ioctl(fdval, cmd, a);
	err = errno;
	printf("%s -> ", step);
	if (r < 0) {
		printf("%s", errname(err));
	} else if (out) {
		fd_set_name(step, out, r);
		printf("ok");
	} else {
		printf("%d", r);
	}
	if (buf) {
		printf(" out=");
		put_hex(buf, bufsz);
	}
	printf("\n");
	free(buf);
}

static void result(const char *step, long r, int err)
{
	if (r < 0)
		printf("%s -> %s\n", step, errname(err));
	else
		printf("%s -> %ld\n", step, r);
}

/* Split "a:b:c" in place into up to n fields; the last takes the rest. */
static int fields(char *s, char **f, int n)
{
	int k = 0;

	while (k < n - 1) {
		char *c = strchr(s, ':');

		f[k++] = s;
		if (!c)
			return k;
		*c = '\0';
		s = c + 1;
	}
	f[k++] = s;
	return k;
}

static void run_step(char *orig);
static void *thread_main(void *opaque);

static void run_from(int i)
{
	for (; i < nsteps; i++) {
		if (!strcmp(steps[i], "thread")) {
			pthread_t t;
			int *next = malloc(sizeof(int));

			*next = i + 1;
			fflush(stdout);
			if (pthread_create(&t, NULL, thread_main, next))
				die("thread", "pthread_create");
			pthread_join(t, NULL);
			return;
		}
		run_step(steps[i]);
		fflush(stdout);
	}
}

static void *thread_main(void *opaque)
{
	int i = *(int *)opaque;

	free(opaque);
	printf("thread -> %s\n", gettid() != getpid() ? "tid!=pid" : "tid==pid");
	run_from(i);
	return NULL;
}

static void run_step(char *orig)
{
	char *step = orig, *copy = strdup(orig), *s = copy, *out = NULL, *eq, *colon, *f[4];
	int n, fd, r;

	/* "NAME=" prefix, unless the '=' is inside the arguments. */
	eq = strchr(s, '=');
	colon = strchr(s, ':');
	if (eq && (!colon || eq < colon)) {
		*eq = '\0';
		out = s;
		s = eq + 1;
	}
	if (!strncmp(s, "open:", 5) || !strncmp(s, "opath:", 6)) {
		fd = !strncmp(s, "open:", 5) ? open(s + 5, O_RDWR) : open(s + 6, O_PATH);
		if (fd >= 0 && out)
			fd_set_name(step, out, fd);
		printf("%s -> %s\n", step, fd < 0 ? errname(errno) : "ok");
	} else if (!strcmp(s, "pipe")) {
		int p[2];

		if (pipe(p))
			die(step, "pipe");
		fd_set_name(step, out ? out : "pipe", p[0]);
		printf("%s -> ok\n", step);
	} else if (!strncmp(s, "close:", 6)) {
		r = close(fd_of(step, s + 6));
		printf("%s -> %s\n", step, r < 0 ? errname(errno) : "ok");
	} else if (!strncmp(s, "ioctl:", 6)) {
		do_ioctl(step, out, s + 6);
	} else if (!strncmp(s, "pread:", 6) || !strncmp(s, "read:", 5)) {
		bool p = s[0] == 'p';
		unsigned char *buf;
		size_t len;
		ssize_t got;

		n = fields(s, f, p ? 4 : 3);
		if (n != (p ? 4 : 3))
			die(step, "pread:FD:OFF:LEN / read:FD:LEN");
		len = strtoul(f[p ? 3 : 2], NULL, 0);
		buf = malloc(len ? len : 1);
		got = p ? pread(fd_of(step, f[1]), buf, len, (off_t)strtoull(f[2], NULL, 0))
			: read(fd_of(step, f[1]), buf, len);
		printf("%s -> ", step);
		if (got < 0) {
			printf("%s", errname(errno));
		} else {
			put_hex(buf, (size_t)got);
			if (!got)
				printf("(eof)");
		}
		printf("\n");
		free(buf);
	} else if (!strncmp(s, "pwrite:", 7) || !strncmp(s, "write:", 6)) {
		bool p = s[0] == 'p';
		unsigned char buf[4096];
		size_t len;
		ssize_t put;

		n = fields(s, f, p ? 4 : 3);
		if (n != (p ? 4 : 3))
			die(step, "pwrite:FD:OFF:HEX / write:FD:HEX");
		len = unhex(step, f[p ? 3 : 2], buf, sizeof(buf));
		put = p ? pwrite(fd_of(step, f[1]), buf, len, (off_t)strtoull(f[2], NULL, 0))
			: write(fd_of(step, f[1]), buf, len);
		result(step, put, errno);
	} else if (!strncmp(s, "lseek:", 6)) {
		off_t o;
		int whence;

		n = fields(s, f, 4);
		if (n != 4)
			die(step, "lseek:FD:OFF:set|cur|end");
		whence = !strcmp(f[3], "set") ? SEEK_SET : !strcmp(f[3], "cur") ? SEEK_CUR : SEEK_END;
		o = lseek(fd_of(step, f[1]), (off_t)strtoll(f[2], NULL, 0), whence);
		result(step, (long)o, errno);
	} else if (!strncmp(s, "mmap:", 5)) {
		void *p;

		n = fields(s, f, 4);
		if (n != 4)
			die(step, "mmap:FD:OFF:LEN");
		p = mmap(NULL, strtoul(f[3], NULL, 0), PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd_of(step, f[1]), (off_t)strtoull(f[2], NULL, 0));
		printf("%s -> %s\n", step, p == MAP_FAILED ? errname(errno) : "ok");
	} else if (!strncmp(s, "map:", 4) || !strncmp(s, "unmap:", 6)) {
		bool map = s[0] == 'm';

		n = fields(s, f, 4);
		if (n != 4)
			die(step, "map:FD:IOVA:SIZE / unmap:FD:IOVA:SIZE");
		if (map) {
			struct vfio_iommu_type1_dma_map m = {
				.argsz = sizeof(m),
				.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
				.iova = strtoull(f[2], NULL, 0),
				.size = strtoull(f[3], NULL, 0),
			};
			void *p = mmap(NULL, m.size, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			m.vaddr = (uintptr_t)p;
			r = ioctl(fd_of(step, f[1]), VFIO_IOMMU_MAP_DMA, &m);
			result(step, r, errno);
		} else {
			struct vfio_iommu_type1_dma_unmap u = {
				.argsz = sizeof(u),
				.iova = strtoull(f[2], NULL, 0),
				.size = strtoull(f[3], NULL, 0),
			};

			r = ioctl(fd_of(step, f[1]), VFIO_IOMMU_UNMAP_DMA, &u);
			if (r < 0)
				printf("%s -> %s\n", step, errname(errno));
			else
				printf("%s -> %d size=0x%llx\n", step, r, (unsigned long long)u.size);
		}
	} else if (!strncmp(s, "cloexec:", 8)) {
		r = fcntl(fd_of(step, s + 8), F_GETFD);
		if (r < 0)
			printf("%s -> %s\n", step, errname(errno));
		else
			printf("%s -> %d\n", step, !!(r & FD_CLOEXEC));
	} else if (!strncmp(s, "flags:", 6)) {
		r = fcntl(fd_of(step, s + 6), F_GETFL);
		if (r < 0)
			printf("%s -> %s\n", step, errname(errno));
		else
			printf("%s -> %s\n", step, (r & O_ACCMODE) == O_RDWR ? "rdwr" :
			       (r & O_ACCMODE) == O_WRONLY ? "wronly" : "rdonly");
	} else if (!strncmp(s, "sleep:", 6)) {
		long ms = strtol(s + 6, NULL, 0);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		printf("%s -> ok\n", step);
	} else if (!strcmp(s, "wait")) {
		char line[64];

		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			line[0] = '\0';
		printf("%s -> ok\n", step);
	} else if (!strncmp(s, "reopen:", 7)) {
		long count, fails = 0;
		int first = 0;

		n = fields(s, f, 4);
		if (n != 4)
			die(step, "reopen:FD:PATH:COUNT");
		count = strtol(f[3], NULL, 0);
		fd = fd_of(step, f[1]);
		for (long k = 0; k < count; k++) {
			if (fd >= 0)
				close(fd);
			fd = open(f[2], O_RDWR);
			if (fd < 0) {
				if (!fails++)
					first = errno;
			}
		}
		fd_set_name(step, f[1], fd);
		if (fails)
			printf("%s -> %ld/%ld %s\n", step, fails, count, errname(first));
		else
			printf("%s -> ok\n", step);
	} else if (!strncmp(s, "echo:", 5)) {
		printf("%s -> %s\n", step, s + 5);
	} else {
		die(step, "unknown step");
	}
	free(copy);
}

int main(int argc, char **argv)
{
	nsteps = argc - 1;
	steps = argv + 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	run_from(0);
	return 0;
}

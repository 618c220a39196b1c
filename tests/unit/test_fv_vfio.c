/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the VFIO core (fakevfio/vfio.c) in-process, without FUSE:
 * what needs no fd of fakevfio's own files (those paths -- SET_CONTAINER
 * with a container, GET_DEVICE_FD's fd, device fds -- run end to end in
 * tests/py/test_fakevfio_vfio.py), and the tid -> tgid helpers of user.c.
 * The caller is this very process: FvCaller.pid is a thread id of ours and
 * ioctl arguments are pointers into our memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakevfio/fakevfio.h"
#include "fakevfio/faults.h"
#include "fakevfio/optrace.h"
#include "fakevfio/user.h"
#include "fakevfio/vfio.h"
#include "testlib.h"

#define P(x) ((uint64_t)(uintptr_t)(x))

typedef struct Fx {
	FvMachine *m;
	FvVfio *v;
	FvCaller me;
} Fx;

static void add(FvMachine *m, const char *spec)
{
	FvDeviceSpec s;

	tl_ok(fv_device_spec_parse(spec, &s, NULL), NULL);
	tl_ok(fv_machine_add_device(m, &s, NULL), NULL);
	fv_device_spec_clear(&s);
}

static Fx *fx_new(FvPlatform platform)
{
	Fx *fx = calloc(1, sizeof(*fx));
	Error *err = NULL;

	fx->m = fv_machine_new(platform);
	add(fx->m, "dma-test@3:0.0");			/* group 100 */
	add(fx->m, "dma-test@4:0.0,group=7");
	add(fx->m, "dma-test@4:0.1,group=7");
	add(fx->m, "dma-test@5:0.0,group=9");
	tl_ok(fv_machine_realize(fx->m, &err), err);
	fx->v = fv_vfio_new(fx->m, &err);
	tl_ok(fx->v != NULL, err);
	fx->me = (FvCaller){ gettid(), getuid(), getgid() };
	return fx;
}

static void fx_free(Fx *fx)
{
	fv_vfio_free(fx->v);
	fv_machine_free(fx->m);
	free(fx);
}

static FvVfioFile *open_ok(Fx *fx, FvVfioFileKind kind, int group)
{
	FvVfioFile *f = NULL;

	assert_int_equal(fv_vfio_open(fx->v, kind, kind == FV_VFIO_GROUP ?
				      fv_machine_group(fx->m, group) : NULL,
				      &fx->me, O_RDWR, &f), 0);
	assert_non_null(f);
	return f;
}

static long ioc(Fx *fx, FvVfioFile *f, unsigned cmd, uint64_t arg)
{
	return fv_vfio_ioctl(fx->v, f, &fx->me, cmd, arg);
}

/* ---- containers ----------------------------------------------------------- */

static void test_container(void **state)
{
	Fx *fx = fx_new(FV_PLATFORM_X86);
	FvVfioFile *c = open_ok(fx, FV_VFIO_CONTAINER, 0);
	char buf[8];

	(void)state;
	assert_int_equal(ioc(fx, c, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	assert_int_equal(ioc(fx, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(ioc(fx, c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU), 0);
	assert_int_equal(ioc(fx, c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 0);
	assert_int_equal(ioc(fx, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);
	assert_int_equal(ioc(fx, c, VFIO_IOMMU_GET_INFO, 8), -EINVAL);
	assert_int_equal(ioc(fx, c, 0x3b99, 0), -EINVAL);
	assert_false(fv_vfio_file_is_device(c));
	assert_int_equal(fv_vfio_read(fx->v, c, &fx->me, buf, sizeof(buf), 0), -EINVAL);
	assert_int_equal(fv_vfio_write(fx->v, c, &fx->me, buf, sizeof(buf), 0), -EINVAL);
	fv_vfio_flush(fx->v, c, &fx->me);	/* nothing to note */
	fv_vfio_release(fx->v, c);
	fx_free(fx);
}

/* A POWER host's container polls the sPAPR driver, not type1. */
static void test_pseries_drivers(void **state)
{
	Fx *fx = fx_new(FV_PLATFORM_PSERIES);
	FvVfioFile *c = open_ok(fx, FV_VFIO_CONTAINER, 0);

	(void)state;
	assert_int_equal(ioc(fx, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(ioc(fx, c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(ioc(fx, c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU), 1);
	assert_int_equal(ioc(fx, c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_v2_IOMMU), 1);
	assert_int_equal(ioc(fx, c, VFIO_CHECK_EXTENSION, VFIO_EEH), 1);
	fv_vfio_release(fx->v, c);
	fx_free(fx);
}

/* ---- groups ------------------------------------------------------------------- */

static void test_group_open(void **state)
{
	Fx *fx = fx_new(FV_PLATFORM_X86);
	FvVfioFile *g = open_ok(fx, FV_VFIO_GROUP, 100), *h = NULL;
	FvDevice *d = fv_machine_find(fx->m, "0000:05:00.0");

	(void)state;
	assert_int_equal(fv_vfio_open(fx->v, FV_VFIO_GROUP, fv_machine_group(fx->m, 100),
				      &fx->me, O_RDWR, &h), -EBUSY);
	/* No device of group 9 on vfio-pci: no group to open. */
	d->vfio_bound = false;
	assert_int_equal(fv_vfio_open(fx->v, FV_VFIO_GROUP, fv_machine_group(fx->m, 9),
				      &fx->me, O_RDWR, &h), -ENODEV);
	/* A device file nobody prepared. */
	assert_int_equal(fv_vfio_open(fx->v, FV_VFIO_DEVICE, NULL, &fx->me, O_RDWR, &h),
			 -EACCES);
	fv_vfio_release(fx->v, g);
	g = open_ok(fx, FV_VFIO_GROUP, 100);
	fv_vfio_release(fx->v, g);
	fx_free(fx);
}

static void test_group_status(void **state)
{
	Fx *fx = fx_new(FV_PLATFORM_X86);
	FvVfioFile *g = open_ok(fx, FV_VFIO_GROUP, 7);
	struct vfio_group_status st = { .argsz = sizeof(st), .flags = 0xff };
	struct { struct vfio_group_status st; uint32_t tail; } big = {
		{ .argsz = sizeof(big) }, 0xdeadbeef,
	};

	(void)state;
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_STATUS, P(&st)), 0);
	assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	assert_int_equal(st.argsz, sizeof(st));
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_STATUS, P(&big)), 0);
	assert_int_equal(big.st.flags, VFIO_GROUP_FLAGS_VIABLE);
	assert_int_equal(big.tail, 0xdeadbeef);		/* 8 bytes back only */
	st.argsz = 7;
	st.flags = 0xff;
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_STATUS, P(&st)), -EINVAL);
	assert_int_equal(st.flags, 0xff);
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_STATUS, 8), -EFAULT);
	/* A device of the group on a host driver: not viable. */
	fv_machine_find(fx->m, "0000:04:00.1")->vfio_bound = false;
	st.argsz = sizeof(st);
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_STATUS, P(&st)), 0);
	assert_int_equal(st.flags, 0);
	fv_vfio_release(fx->v, g);
	fx_free(fx);
}

static void test_set_container_fds(void **state)
{
	Fx *fx = fx_new(FV_PLATFORM_X86);
	FvVfioFile *g = open_ok(fx, FV_VFIO_GROUP, 100);
	int p[2], fd, opath;

	(void)state;
	assert_int_equal(pipe(p), 0);
	opath = open("/", O_PATH);
	assert_true(opath >= 0);
	assert_int_equal(ioc(fx, g, VFIO_GROUP_SET_CONTAINER, 8), -EFAULT);
	fd = -1;
	assert_int_equal(ioc(fx, g, VFIO_GROUP_SET_CONTAINER, P(&fd)), -EBADF);
	fd = 12345;
	assert_int_equal(ioc(fx, g, VFIO_GROUP_SET_CONTAINER, P(&fd)), -EBADF);
	fd = opath;
	assert_int_equal(ioc(fx, g, VFIO_GROUP_SET_CONTAINER, P(&fd)), -EBADF);
	/* Not one of fakevfio's files (there is no FUSE root here at all). */
	fd = p[0];
	assert_int_equal(ioc(fx, g, VFIO_GROUP_SET_CONTAINER, P(&fd)), -EINVAL);
	assert_int_equal(ioc(fx, g, VFIO_GROUP_UNSET_CONTAINER, 0), -EINVAL);
	assert_int_equal(ioc(fx, g, VFIO_GET_API_VERSION, 0), -ENOTTY);
	close(p[0]);
	close(p[1]);
	close(opath);
	fv_vfio_release(fx->v, g);
	fx_free(fx);
}

static void test_get_device_fd_names(void **state)
{
	static const struct {
		const char *name;
		long ret;
	} cases[] = {
		{ "0000:03:00.0", -EINVAL },		/* no container */
		{ "0000:03:00.0 ", -EINVAL },
		{ "0000:03:00.1", -ENODEV },
		{ "0000:03:00", -ENODEV },
		{ "0000:03:00.00", -ENODEV },
		{ "", -ENODEV },
		{ "0000:03:00.0 bogus", -EINVAL },
		{ "0000:03:00.0 vf_token=0123", -EINVAL },
		{ "0000:03:00.0 vf_token=01234567-89AB-CDEF-0123-456789ABCDEF", -EINVAL },
		{ "0000:03:00.0 vf_token=01234567-89ab-cdef-0123-456789abcdeg", -EINVAL },
		{ "0000:03:00.0 vf_token=01234567+89ab-cdef-0123-456789abcdef", -EINVAL },
		{ "0000:03:00.0 vf_token=01234567-89ab-cdef-0123-456789abcdef x", -EINVAL },
		{ "0000:04:00.0", -ENODEV },		/* another group's */
	};
	Fx *fx = fx_new(FV_PLATFORM_X86);
	FvVfioFile *g = open_ok(fx, FV_VFIO_GROUP, 100);
	long pg = sysconf(_SC_PAGESIZE);
	char *big = malloc(5000), *edge;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long r = ioc(fx, g, VFIO_GROUP_GET_DEVICE_FD, P(cases[i].name));

		if (r != cases[i].ret)
			fail_msg("'%s': %ld, expected %ld", cases[i].name, r, cases[i].ret);
	}
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_DEVICE_FD, 8), -EFAULT);
	memset(big, 'x', 5000);
	big[4095] = '\0';		/* 4096 bytes with the NUL: a page */
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_DEVICE_FD, P(big)), -ENODEV);
	big[4095] = 'x';
	big[4096] = '\0';
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_DEVICE_FD, P(big)), -EINVAL);
	/* No NUL before an unmapped page. */
	edge = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(edge + pg, pg);
	memcpy(edge + pg - 12, "0000:03:00.0", 12);
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_DEVICE_FD, P(edge + pg - 12)), -EFAULT);
	munmap(edge, pg);
	free(big);
	fv_vfio_release(fx->v, g);
	fx_free(fx);
}

/* ---- the release race ---------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_flush_waits(void **state)
{
	Fx *fx = fx_new(FV_PLATFORM_X86);
	FvVfioFile *g = open_ok(fx, FV_VFIO_GROUP, 100), *h = NULL;
	FvCaller other;
	pid_t child = fork();
	double t;

	(void)state;
	if (child == 0) {
		pause();
		_exit(0);
	}
	other = (FvCaller){ child, 0, 0 };
	/* Our own closes (duplicates fakevfio makes) are not the caller's. */
	fv_vfio_flush(fx->v, g, &fx->me);
	t = now();
	assert_int_equal(fv_vfio_open(fx->v, FV_VFIO_GROUP, fv_machine_group(fx->m, 100),
				      &fx->me, O_RDWR, &h), -EBUSY);
	assert_true(now() - t < 0.1);
	/* Another process closed it, but the file lives on: EBUSY after a wait. */
	fv_vfio_flush(fx->v, g, &other);
	t = now();
	assert_int_equal(fv_vfio_open(fx->v, FV_VFIO_GROUP, fv_machine_group(fx->m, 100),
				      &fx->me, O_RDWR, &h), -EBUSY);
	assert_true(now() - t >= 0.15);
	/* Once given up on, the next open answers at once. */
	t = now();
	assert_int_equal(fv_vfio_open(fx->v, FV_VFIO_GROUP, fv_machine_group(fx->m, 100),
				      &fx->me, O_RDWR, &h), -EBUSY);
	assert_true(now() - t < 0.1);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	fv_vfio_release(fx->v, g);
	fx_free(fx);
}

typedef struct Releaser {
	Fx *fx;
	FvVfioFile *f;
} Releaser;

static void *release_later(void *opaque)
{
	Releaser *r = opaque;
	struct timespec ts = { 0, 50 * 1000000L };

	nanosleep(&ts, NULL);
	fv_vfio_release(r->fx->v, r->f);
	return NULL;
}

static void test_flush_then_release(void **state)
{
	Fx *fx = fx_new(FV_PLATFORM_X86);
	FvVfioFile *g = open_ok(fx, FV_VFIO_GROUP, 100), *h = NULL;
	FvCaller other = { 1, 0, 0 };		/* init: certainly not us */
	Releaser r = { fx, g };
	pthread_t t;

	(void)state;
	fv_vfio_flush(fx->v, g, &other);
	pthread_create(&t, NULL, release_later, &r);
	/* The RELEASE that follows the close frees the group for this open. */
	assert_int_equal(fv_vfio_open(fx->v, FV_VFIO_GROUP, fv_machine_group(fx->m, 100),
				      &fx->me, O_RDWR, &h), 0);
	pthread_join(t, NULL);
	fv_vfio_release(fx->v, h);
	fx_free(fx);
}

/* ---- the rest -------------------------------------------------------------------- */

static bool count_mapping(void *opaque, unsigned container, const FvType1Mapping *m)
{
	(void)container;
	(void)m;
	(*(unsigned *)opaque)++;
	return true;
}

static void test_misc(void **state)
{
	Fx *fx = fx_new(FV_PLATFORM_X86);
	FvVfioFile *c = open_ok(fx, FV_VFIO_CONTAINER, 0), *g = open_ok(fx, FV_VFIO_GROUP, 7);
	FvVfioEvents ev = { .opaque = NULL };
	FvType1Config tc;
	FvVdevConfig vc = { .advertise_mmap = true };
	FvVfioIdentify id = { NULL };
	FvUser u = { getpid() };
	FvVfioNotif notif = { .tid = gettid(), .name = P("0000:03:00.0") };
	FvVfioFile *f = (FvVfioFile *)&id;
	Error *err = NULL;
	unsigned n = 0;
	bool ours = true;
	char text[256];
	FILE *out;
	int p[2];

	(void)state;
	fv_type1_config_init(&tc);
	fv_vfio_set_events(fx->v, &ev);
	fv_vfio_set_type1_config(fx->v, &tc);
	fv_vfio_set_vdev_config(fx->v, &vc);
	assert_false(fv_vfio_set_root(fx->v, -1, &err));
	assert_non_null(err);
	error_free(err);
	/* The private ioctl, from this process: which file it is. */
	assert_int_equal(ioc(fx, g, FV_VFIO_IOC_IDENTIFY, P(&id)), 0);
	assert_ptr_equal(id.file, g);
	/* Not fakevfio's files: the supervisor lets the call go on. */
	assert_int_equal(pipe(p), 0);
	notif.fd = p[0];
	assert_int_equal(fv_vfio_notif_get_device_fd(fx->v, &notif, &ours), 0);
	assert_false(ours);
	ours = true;
	notif.fd = -1;
	assert_int_equal(fv_vfio_notif_get_device_fd(fx->v, &notif, &ours), 0);
	assert_false(ours);
	assert_int_equal(fv_vfio_resolve_fd(fx->v, &u, 999, &f), -EBADF);
	assert_null(f);
	close(p[0]);
	close(p[1]);
	/* Nothing open, nothing mapped. */
	out = fmemopen(text, sizeof(text), "w");
	assert_false(fv_vfio_dump_device(fx->v, fx->m->devs[0], out));
	fclose(out);
	fv_vfio_foreach_mapping(fx->v, count_mapping, &n);
	assert_int_equal(n, 0);
	/* Left open: fv_vfio_free releases them. */
	(void)c;
	fx_free(fx);
}

/* ---- observers: the trace and the fault rules ------------------------------------- */

/*
 * The trace file's lines of process pid without "t=... pid=P " and " us=N"
 * (every line of another pid: a failure unless others).
 */
static char *trace_body(const char *path, pid_t pid, bool others)
{
	FILE *f = fopen(path, "r");
	char line[FV_OPTRACE_LINE_MAX], head[64], *out = calloc(1, 8192);
	size_t used = 0;

	assert_non_null(f);
	snprintf(head, sizeof(head), " pid=%d ", (int)pid);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, head), *us = strstr(line, " us=");

		if (!us || strncmp(line, "t=", 2) || (!p && !others))
			fail_msg("bad trace line: %s", line);
		if (!p)
			continue;
		*us = '\0';
		used += (size_t)snprintf(out + used, 8192 - used, "%s\n", p + strlen(head));
	}
	fclose(f);
	return out;
}

static void add_rule(FvFaults *f, const char *text)
{
	Error *err = NULL;

	tl_ok(fv_faults_add(f, text, NULL, &err) != 0, err);
}

static void test_observers(void **state)
{
	Fx *fx = fx_new(FV_PLATFORM_X86);
	char path[] = "/tmp/test_fv_vfio_trace.XXXXXX";
	struct vfio_group_status st = { .argsz = sizeof(st) };
	FvFaults *faults = fv_faults_new();
	FvVfioFile *c, *c2, *g, *h = NULL;
	FvOptrace *t;
	Error *err = NULL;
	char buf[4], *body;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	t = fv_optrace_open(path, &err);
	tl_ok(t != NULL, err);
	add_rule(faults, "open-container container=2 errno=EMFILE count=1");
	add_rule(faults, "open-group group=7 errno=EBUSY count=1");
	add_rule(faults, "VFIO_GET_API_VERSION errno=EIO count=1");
	add_rule(faults, "VFIO_GROUP_GET_STATUS group=7 errno=ENXIO after=1 count=1");
	add_rule(faults, "region-read errno=EIO count=1");
	fv_vfio_set_observers(fx->v, t, faults);

	c = open_ok(fx, FV_VFIO_CONTAINER, 0);
	/* The injected failure does not use up container number 2. */
	assert_int_equal(fv_vfio_open(fx->v, FV_VFIO_CONTAINER, NULL, &fx->me, O_RDWR, &h),
			 -EMFILE);
	c2 = open_ok(fx, FV_VFIO_CONTAINER, 0);
	assert_int_equal(ioc(fx, c, VFIO_GET_API_VERSION, 0), -EIO);
	assert_int_equal(ioc(fx, c, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	assert_int_equal(ioc(fx, c2, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(fv_vfio_open(fx->v, FV_VFIO_GROUP, fv_machine_group(fx->m, 7),
				      &fx->me, O_RDWR, &h), -EBUSY);
	g = open_ok(fx, FV_VFIO_GROUP, 7);
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_STATUS, P(&st)), 0);
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_STATUS, P(&st)), -ENXIO);
	assert_int_equal(ioc(fx, g, VFIO_GROUP_GET_STATUS, P(&st)), 0);
	/* region-read is for devices: a group read is not one */
	assert_int_equal(fv_vfio_read(fx->v, g, &fx->me, buf, sizeof(buf), 0), -EINVAL);
	assert_int_equal(fv_vfio_write(fx->v, c, &fx->me, buf, 2, 8), -EINVAL);
	/* fakevfio's own private ioctl: not traced */
	{
		FvVfioIdentify id = { NULL };

		assert_int_equal(ioc(fx, g, FV_VFIO_IOC_IDENTIFY, P(&id)), 0);
	}
	fv_vfio_release(fx->v, g);
	fv_vfio_release(fx->v, c2);
	fv_vfio_release(fx->v, c);
	fv_vfio_set_observers(fx->v, NULL, NULL);
	fv_optrace_close(t);

	body = trace_body(path, getpid(), false);
	assert_string_equal(body,
		"obj=container:1 op=open flags=0x2 ret=0\n"
		"obj=container:2 op=open flags=0x2 ret=-EMFILE injected=1\n"
		"obj=container:2 op=open flags=0x2 ret=0\n"
		"obj=container:1 op=ioctl name=VFIO_GET_API_VERSION cmd=0x3b64 ret=-EIO injected=1\n"
		"obj=container:1 op=ioctl name=VFIO_GET_API_VERSION cmd=0x3b64 ret=0\n"
		"obj=container:2 op=ioctl name=VFIO_CHECK_EXTENSION cmd=0x3b65 arg=3 "
		"ext=VFIO_TYPE1v2_IOMMU ret=1\n"
		"obj=group:7 op=open flags=0x2 ret=-EBUSY injected=1\n"
		"obj=group:7 op=open flags=0x2 ret=0\n"
		"obj=group:7 op=ioctl name=VFIO_GROUP_GET_STATUS cmd=0x3b67 argsz=8 ret=0\n"
		"obj=group:7 op=ioctl name=VFIO_GROUP_GET_STATUS cmd=0x3b67 argsz=8 ret=-ENXIO "
		"injected=1\n"
		"obj=group:7 op=ioctl name=VFIO_GROUP_GET_STATUS cmd=0x3b67 argsz=8 ret=0\n"
		"obj=group:7 op=read offset=0x0 size=4 ret=-EINVAL\n"
		"obj=container:1 op=write offset=0x8 size=2 ret=-EINVAL\n"
		"obj=group:7 op=close ret=0\n"
		"obj=container:2 op=close ret=0\n"
		"obj=container:1 op=close ret=0\n");
	free(body);
	unlink(path);
	fv_faults_free(faults);
	fx_free(fx);
}

/* ---- callers outside the namespace ------------------------------------------------ */

static void test_outsider(void **state)
{
	Fx *fx = fx_new(FV_PLATFORM_X86);
	char path[] = "/tmp/test_fv_vfio_trace.XXXXXX";
	struct vfio_group_status st = { .argsz = sizeof(st) };
	FvVfioFile *c = open_ok(fx, FV_VFIO_CONTAINER, 0), *g = open_ok(fx, FV_VFIO_GROUP, 100);
	FvVfioFile *h = NULL;
	FvFaults *faults = fv_faults_new();
	FvVfioNotif notif = { .name = P("0000:03:00.0") };
	FvCaller out;
	FvOptrace *t;
	Error *err = NULL;
	char buf[4], *body, want[512], line[128];
	int fd = mkstemp(path), ready[2];
	bool ours = true;
	pid_t child;
	FILE *list;
	char *listed = NULL;
	size_t listed_len = 0;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	/* Inside: this thread, another of ours.  Nobody: 0, -1, no such task. */
	assert_true(fv_vfio_inside(fx->v, gettid()));
	assert_true(fv_vfio_inside(fx->v, getpid()));
	assert_false(fv_vfio_inside(fx->v, 0));
	assert_false(fv_vfio_inside(fx->v, -1));
	assert_false(fv_vfio_inside(fx->v, 0x3fffffff));
	/* A child in a mount namespace of its own. */
	assert_int_equal(pipe(ready), 0);
	child = fork();
	if (child == 0) {
		char ok = unshare(CLONE_NEWNS) == 0 ? 'y' : 'n';

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (write(ready[1], &ok, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(ready[0], buf, 1), 1);
	close(ready[0]);
	close(ready[1]);
	if (buf[0] != 'y') {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		fv_faults_free(faults);
		fx_free(fx);
		unlink(path);
		skip();		/* no CAP_SYS_ADMIN */
	}
	out = (FvCaller){ child, 0, 0 };
	assert_false(fv_vfio_inside(fx->v, child));

	t = fv_optrace_open(path, &err);
	tl_ok(t != NULL, err);
	add_rule(faults, "ioctl errno=EIO");
	fv_vfio_set_observers(fx->v, t, faults);
	assert_int_equal(fv_vfio_open(fx->v, FV_VFIO_CONTAINER, NULL, &out, O_RDWR, &h), -EPERM);
	assert_int_equal(fv_vfio_open(fx->v, FV_VFIO_GROUP, fv_machine_group(fx->m, 7), &out,
				      O_RDWR, &h), -EPERM);
	assert_null(h);
	/* Refused before the rules see it (seen=0 below), memory unread. */
	assert_int_equal(fv_vfio_ioctl(fx->v, g, &out, VFIO_GROUP_GET_STATUS, P(&st)), -EPERM);
	assert_int_equal(fv_vfio_ioctl(fx->v, c, &out, VFIO_GET_API_VERSION, 0), -EPERM);
	assert_int_equal(fv_vfio_read(fx->v, c, &out, buf, sizeof(buf), 0), -EPERM);
	assert_int_equal(fv_vfio_write(fx->v, g, &out, buf, sizeof(buf), 0), -EPERM);
	/* Its GET_DEVICE_FD goes on untouched. */
	notif.tid = child;
	notif.fd = 0;
	assert_int_equal(fv_vfio_notif_get_device_fd(fx->v, &notif, &ours), 0);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_false(ours);
	/* This process is still served. */
	assert_int_equal(ioc(fx, c, VFIO_GET_API_VERSION, 0), -EIO);
	fv_vfio_set_observers(fx->v, NULL, NULL);
	fv_optrace_close(t);
	list = open_memstream(&listed, &listed_len);
	fv_faults_list(faults, list);
	fclose(list);
	assert_string_equal(listed, "id=1 op=ioctl errno=EIO count=inf after=0 seen=1 hits=1 "
			    "left=inf\n");
	free(listed);

	/* The trace shows the refusals, with the outsider's pid, no argument read. */
	body = trace_body(path, child, true);
	snprintf(line, sizeof(line), "arg=0x%llx", (unsigned long long)P(&st));
	snprintf(want, sizeof(want),
		 "obj=container:2 op=open flags=0x2 ret=-EPERM\n"
		 "obj=group:7 op=open flags=0x2 ret=-EPERM\n"
		 "obj=group:100 op=ioctl name=VFIO_GROUP_GET_STATUS cmd=0x3b67 %s ret=-EPERM\n"
		 "obj=container:1 op=ioctl name=VFIO_GET_API_VERSION cmd=0x3b64 ret=-EPERM\n"
		 "obj=container:1 op=read offset=0x0 size=4 ret=-EPERM\n"
		 "obj=group:100 op=write offset=0x0 size=4 ret=-EPERM\n", line);
	assert_string_equal(body, want);
	free(body);
	unlink(path);
	fv_vfio_release(fx->v, g);
	fv_vfio_release(fx->v, c);
	fv_faults_free(faults);
	fx_free(fx);
}

/* ---- user.c: thread ids ------------------------------------------------------------- */

static pid_t thread_tid;

static void *thread_main(void *opaque)
{
	(void)opaque;
	thread_tid = gettid();
	return NULL;
}

typedef struct Waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	pid_t tid;
} Waiter;

static void *wait_main(void *opaque)
{
	Waiter *w = opaque;

	pthread_mutex_lock(&w->lock);
	w->tid = gettid();
	pthread_cond_broadcast(&w->cond);
	while (!w->done)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void test_user_tgid(void **state)
{
	Waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 };
	pthread_t t;
	FvUser u;
	int p[2], fd;

	(void)state;
	assert_int_equal(fv_user_tgid(getpid()), getpid());
	assert_int_equal(fv_user_tgid(0), -ESRCH);
	assert_int_equal(fv_user_tgid(-5), -ESRCH);
	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, NULL);
	assert_int_equal(fv_user_tgid(thread_tid), -ESRCH);	/* gone */
	u = fv_user_from_tid(thread_tid);
	assert_int_equal(u.pid, thread_tid);
	pthread_create(&t, NULL, wait_main, &w);
	pthread_mutex_lock(&w.lock);
	while (!w.tid)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	assert_int_not_equal(w.tid, getpid());
	assert_int_equal(fv_user_tgid(w.tid), getpid());
	u = fv_user_from_tid(w.tid);
	assert_int_equal(u.pid, getpid());
	/* fv_user_getfd given a thread id finds its process. */
	assert_int_equal(pipe(p), 0);
	u.pid = w.tid;
	fd = fv_user_getfd(&u, p[1]);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	close(p[0]);
	close(p[1]);
	pthread_mutex_lock(&w.lock);
	w.done = true;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(t, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container),
		cmocka_unit_test(test_pseries_drivers),
		cmocka_unit_test(test_group_open),
		cmocka_unit_test(test_group_status),
		cmocka_unit_test(test_set_container_fds),
		cmocka_unit_test(test_get_device_fd_names),
		cmocka_unit_test(test_flush_waits),
		cmocka_unit_test(test_flush_then_release),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_observers),
		cmocka_unit_test(test_outsider),
		cmocka_unit_test(test_user_tgid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

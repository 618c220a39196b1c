/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio: run a command against simulated VFIO devices.
 *
 *   fakevfio run [--device MODEL@BDF[,group=N][,key=val...]]... -- CMD ARGS...
 *
 * See usage() and docs/fakevfio.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakevfio/fakevfio.h"
#include "fakevfio/fs.h"
#include "fakevfio/ns.h"
#include "fakevfio/run.h"
#include "fakevfio/vfio.h"

static const char prog[] = "fakevfio";

typedef struct Options {
	FvDeviceSpec *devs;
	unsigned ndevs;
	FvPlatform platform;
	char **cmd;		/* argv of CMD (points into main's argv) */
} Options;

static void usage(FILE *f)
{
	char *models = fv_model_list();

	fprintf(f,
		"Usage: fakevfio run [OPTIONS] -- CMD [ARGS...]\n"
		"       fakevfio --help\n"
		"\n"
		"Run CMD in a private mount namespace where simulated PCI devices appear\n"
		"at /sys/bus/pci/devices, /sys/kernel/iommu_groups and /dev/vfio.  The\n"
		"exit status is CMD's (128+N if it died of signal N); INT, TERM, HUP and\n"
		"QUIT are forwarded to it.  Nothing is left on the host afterwards.\n"
		"\n"
		"Options:\n"
		"  --device MODEL@BDF[,group=N][,key=val...]\n"
		"                      add a device of MODEL at BDF ([DDDD:]BB:DD.F, hex)\n"
		"                      in IOMMU group N (default: a group of its own,\n"
		"                      numbered from %d up); key=val pairs go to the model\n"
		"  --platform x86      the host platform (x86 only for now)\n"
		"  --topology FILE     (not yet supported)\n"
		"  --trace FILE        (not yet supported)\n"
		"  -h, --help          show this help\n"
		"\n"
		"Models: %s\n"
		"\n"
		"Exit status of fakevfio itself: 125 on its own errors, 126 if CMD\n"
		"cannot be executed, 127 if CMD is not found.\n",
		FV_GROUP_BASE, models ? models : "?");
	free(models);
}

static void options_free(Options *o)
{
	for (unsigned i = 0; i < o->ndevs; i++)
		fv_device_spec_clear(&o->devs[i]);
	free(o->devs);
}

/* "--name VALUE" or "--name=VALUE": the value, or NULL (with errp). */
static const char *option_value(int argc, char **argv, int *i, const char *name,
				Error **errp)
{
	size_t len = strlen(name);

	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (*i + 1 >= argc) {
		error_setg(errp, "option '%s' needs an argument", name);
		return NULL;
	}
	return argv[++*i];
}

static bool is_option(const char *arg, const char *name)
{
	size_t len = strlen(name);

	return !strncmp(arg, name, len) && (arg[len] == '\0' || arg[len] == '=');
}

static bool add_device(Options *o, const char *text, Error **errp)
{
	FvDeviceSpec spec, *nv;

	if (!fv_device_spec_parse(text, &spec, errp)) {
		error_prepend(errp, "--device '%s': ", text);
		return false;
	}
	if (!sim_model_find(spec.model)) {
		char *models = fv_model_list();

		error_setg(errp, "--device '%s': unknown model '%s' (known models: %s)",
			   text, spec.model, models ? models : "?");
		free(models);
		fv_device_spec_clear(&spec);
		return false;
	}
	nv = realloc(o->devs, (o->ndevs + 1) * sizeof(*nv));
	if (!nv) {
		error_setg(errp, "out of memory");
		fv_device_spec_clear(&spec);
		return false;
	}
	o->devs = nv;
	o->devs[o->ndevs++] = spec;
	return true;
}

/*
 * Parse "run" and its arguments (argv[0] is "run").  Returns 1 to go on,
 * 0 when --help was shown, -1 on error (errp set).
 */
static int parse_run(int argc, char **argv, Options *o, Error **errp)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (!strcmp(a, "--")) {
			if (i + 1 >= argc) {
				error_setg(errp, "missing the command to run after '--'");
				return -1;
			}
			o->cmd = &argv[i + 1];
			return 1;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (is_option(a, "--device")) {
			if (!(v = option_value(argc, argv, &i, "--device", errp)) ||
			    !add_device(o, v, errp))
				return -1;
		} else if (is_option(a, "--platform")) {
			if (!(v = option_value(argc, argv, &i, "--platform", errp)))
				return -1;
			if (!strcmp(v, "x86")) {
				o->platform = FV_PLATFORM_X86;
			} else if (!strcmp(v, "pseries")) {
				error_setg(errp, "--platform pseries: not yet supported");
				return -1;
			} else {
				error_setg(errp, "--platform '%s': unknown platform (x86 or pseries)", v);
				return -1;
			}
		} else if (is_option(a, "--topology") || is_option(a, "--trace")) {
			const char *name = is_option(a, "--trace") ? "--trace" : "--topology";

			if (!(v = option_value(argc, argv, &i, name, errp)))
				return -1;
			error_setg(errp, "%s: not yet supported", name);
			return -1;
		} else if (a[0] == '-') {
			error_setg(errp, "unknown option '%s'", a);
			return -1;
		} else {
			error_setg(errp, "missing '--' before the command '%s'", a);
			return -1;
		}
	}
	error_setg(errp, "missing '--' and the command to run");
	return -1;
}

/* Build the machine, mount the fake, run CMD.  Returns the exit status. */
static int run(Options *o)
{
	FvMachine *m = fv_machine_new(o->platform);
	FvVfio *vfio = NULL;
	FvFs *fs = NULL;
	FvNs ns = { .root_fd = -1 };
	sigset_t set, orig;
	Error *err = NULL;
	char *path = NULL;
	int status = FV_RUN_EXIT_FAILURE, fuse_fd, sig;
	pid_t pid;

	if (!m) {
		error_setg(&err, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < o->ndevs; i++) {
		if (!fv_machine_add_device(m, &o->devs[i], &err)) {
			error_prepend(&err, "--device '%s': ", o->devs[i].text);
			goto out;
		}
	}
	if (!fv_machine_realize(m, &err))
		goto out;
	vfio = fv_vfio_new(m);
	if (!vfio) {
		error_setg(&err, "out of memory");
		goto out;
	}
	fs = fv_fs_new(m, vfio, &err);
	if (!fs)
		goto out;
	path = fv_run_which(o->cmd[0], &status, &err);
	if (!path)
		goto out;
	status = FV_RUN_EXIT_FAILURE;

	/* Before any thread exists: the signals are taken by sigwaitinfo. */
	fv_run_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, &orig);

	if (!fv_ns_enter(&ns, &err))
		goto out;
	fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse_fd < 0) {
		error_setg_errno(&err, errno, "cannot open /dev/fuse");
		goto out;
	}
	if (!fv_ns_mount(fuse_fd, &err)) {
		close(fuse_fd);
		goto out;
	}
	if (!fv_fs_start(fs, fuse_fd, &err) || !fv_ns_install(&ns, &err))
		goto out;
	sig = fv_run_pending(&set);
	if (sig) {
		status = 128 + sig;
		goto out;
	}
	pid = fv_run_spawn(path, o->cmd, &orig, &status, &err);
	if (pid < 0)
		goto out;
	status = fv_run_wait(pid, &set);
out:
	if (err)
		error_report_err(prog, err);
	/* Stops the server first: nothing touches the machine after. */
	fv_fs_free(fs);
	fv_ns_cleanup(&ns);
	fv_vfio_free(vfio);
	fv_machine_free(m);
	free(path);
	return status;
}

int main(int argc, char **argv)
{
	Options o = { .platform = FV_PLATFORM_X86 };
	Error *err = NULL;
	int r;

	if (argc < 2) {
		fprintf(stderr, "%s: missing command (try 'fakevfio --help')\n", prog);
		return FV_RUN_EXIT_FAILURE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "run")) {
		fprintf(stderr, "%s: unknown command '%s' (try 'fakevfio --help')\n",
			prog, argv[1]);
		return FV_RUN_EXIT_FAILURE;
	}
	r = parse_run(argc - 1, argv + 1, &o, &err);
	if (r < 0) {
		error_report_err(prog, err);
		fprintf(stderr, "Try 'fakevfio --help'.\n");
		options_free(&o);
		return FV_RUN_EXIT_FAILURE;
	}
	r = r ? run(&o) : 0;
	options_free(&o);
	return r;
}

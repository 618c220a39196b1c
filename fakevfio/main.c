/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio: run a command against simulated VFIO devices.
 *
 *   fakevfio run [--device MODEL@BDF[,group=N][,key=val...]]... [--topology FILE]
 *                [--trace FILE] [--advertise-mmap] -- CMD ARGS...
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

#include "fakevfio/control.h"
#include "fakevfio/events.h"
#include "fakevfio/fakevfio.h"
#include "fakevfio/faults.h"
#include "fakevfio/fs.h"
#include "fakevfio/ns.h"
#include "fakevfio/optrace.h"
#include "fakevfio/run.h"
#include "fakevfio/seccomp.h"
#include "fakevfio/topology.h"
#include "fakevfio/vfio.h"

static const char prog[] = "fakevfio";

/*
 * The directory briefly covered by the control socket's private tmpfs
 * (fv_control_private_dir): one that fv_ns_enter checked, in the new
 * namespace, before anything else uses it.
 */
#define CONTROL_COVER "/sys/bus/pci/devices"

typedef struct Options {
	FvDeviceSpec *devs;
	unsigned ndevs;
	FvPlatform platform;
	bool platform_given;	/* --platform: overrides the topology's */
	unsigned tce;		/* pseries: FV_SPAPR_TCE_* (0: not given: both) */
	const char *topology;	/* --topology FILE */
	const char *trace;	/* --trace FILE */
	bool advertise_mmap;	/* --advertise-mmap */
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
		"  --platform x86|pseries[,tce=v1|v2|both]\n"
		"                      the host platform: x86 (type1 IOMMU, the default)\n"
		"                      or POWER (sPAPR TCE IOMMU v1/v2 and EEH; tce= says\n"
		"                      which versions it offers, default both); overrides\n"
		"                      the topology file's\n"
		"  --topology FILE     devices, groups, platform and fault rules from FILE\n"
		"                      (docs/fakevfio.md); --device adds devices after them\n"
		"  --trace FILE        log every VFIO operation to FILE ('-': stderr);\n"
		"                      also FAKEVFIO_TRACE=FILE in the environment\n"
		"  --advertise-mmap    memory BARs report VFIO_REGION_INFO_FLAG_MMAP,\n"
		"                      although mmap of a device fd fails (ENODEV): tests\n"
		"                      clients' fallback to read/write\n"
		"  -h, --help          show this help\n"
		"\n"
		"Models: %s\n"
		"\n"
		"CMD finds the control socket (irq, dma-read/-write, aer, fault, events,\n"
		"dump, ...: send 'help') at $FAKEVFIO_CONTROL.\n"
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
				o->platform_given = true;
			} else if (!strcmp(v, "pseries") || !strncmp(v, "pseries,", 8)) {
				o->platform = FV_PLATFORM_PSERIES;
				o->platform_given = true;
				o->tce = 0;
				if (v[7] && (strncmp(v + 8, "tce=", 4) ||
					     !(o->tce = fv_spapr_tce_parse(v + 12)))) {
					error_setg(errp, "--platform '%s': expected pseries,tce=v1|v2|both",
						   v);
					return -1;
				}
			} else {
				error_setg(errp, "--platform '%s': unknown platform (x86 or pseries)", v);
				return -1;
			}
		} else if (!strcmp(a, "--advertise-mmap")) {
			o->advertise_mmap = true;
		} else if (is_option(a, "--topology") || is_option(a, "--trace")) {
			bool trace = is_option(a, "--trace");
			const char *name = trace ? "--trace" : "--topology";
			const char **slot = trace ? &o->trace : &o->topology;

			if (!(v = option_value(argc, argv, &i, name, errp)))
				return -1;
			if (*slot) {
				error_setg(errp, "%s given twice", name);
				return -1;
			}
			if (!*v) {
				error_setg(errp, "%s needs a file name", name);
				return -1;
			}
			*slot = v;
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

/*
 * The machine: the topology file's devices (file order), then --device's
 * (command-line order).  --platform overrides the file's platform.
 */
static FvMachine *build_machine(Options *o, FvTopology *topo, Error **errp)
{
	FvPlatform platform = o->platform;
	FvMachine *m;

	if (o->topology && !fv_topology_load(topo, o->topology, errp))
		return NULL;
	if (!o->platform_given && topo->has_platform) {
		platform = topo->platform;
		o->tce = topo->tce;
	}
	if (!o->tce)
		o->tce = FV_SPAPR_TCE_BOTH;
	m = fv_machine_new(platform);
	if (!m) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	if (!fv_topology_add_devices(topo, m, errp))
		goto fail;
	for (unsigned i = 0; i < o->ndevs; i++) {
		const FvTopoDevice *td = fv_topology_find(topo, o->devs[i].bdf);

		if (td) {
			error_setg(errp, "--device '%s': %s is already taken by a %s device (%s:%u)",
				   o->devs[i].text, td->spec.bdf, td->spec.model, topo->file,
				   td->line);
			goto fail;
		}
		if (!fv_machine_add_device(m, &o->devs[i], errp)) {
			error_prepend(errp, "--device '%s': ", o->devs[i].text);
			goto fail;
		}
	}
	if (!fv_machine_realize(m, errp) || !fv_topology_check_groups(topo, m, errp))
		goto fail;
	return m;
fail:
	fv_machine_free(m);
	return NULL;
}

/* ---- the VFIO core's hooks: event log and control socket dumps ---- */

static void log_dma_fault(void *opaque, FvDevice *dev, uint64_t iova, size_t len,
			  bool write, int err)
{
	fv_events_iommu_fault(opaque, dev->bdf, iova, len, write, err);
}

static void log_irq(void *opaque, FvDevice *dev, unsigned index, unsigned vector)
{
	fv_events_irq(opaque, dev->bdf, index, vector);
}

static void log_reset(void *opaque, FvDevice *dev, const char *how)
{
	fv_events_reset(opaque, dev->bdf, how);
}

static bool dump_device(void *opaque, FvDevice *dev, FILE *out)
{
	return fv_vfio_dump_device(opaque, dev, out);
}

static bool dump_mapping(void *opaque, unsigned container, const FvType1Mapping *m)
{
	fv_control_format_mapping(opaque, container, m);
	return true;
}

static void dump_mappings(void *opaque, FILE *out)
{
	fv_vfio_foreach_mapping(opaque, dump_mapping, out);
}

/*
 * The control socket, in a directory that exists nowhere but in this
 * process's descriptor table (fv_control_private_dir): CMD reaches it as
 * $FAKEVFIO_CONTROL = /proc/PID/fd/N/control.  Returns the directory's fd.
 */
static int control_setup(FvControl *control, Error **errp)
{
	char path[64];
	int dir = fv_control_private_dir(CONTROL_COVER, errp);

	if (dir < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d/control", (int)getpid(), dir);
	if (!fv_control_listen(control, path, errp) || !fv_control_start(control, errp)) {
		close(dir);
		return -1;
	}
	if (setenv("FAKEVFIO_CONTROL", path, 1) < 0) {
		error_setg_errno(errp, errno, "cannot set FAKEVFIO_CONTROL");
		close(dir);
		return -1;
	}
	return dir;
}

/* The trace's header: the machine, with each device's model parameters. */
static bool trace_header(FvOptrace *trace, const FvMachine *m, const Options *o,
			 const FvTopology *topo, Error **errp)
{
	const char **params = calloc(m->ndevs ? m->ndevs : 1, sizeof(*params));

	if (!params) {
		error_setg(errp, "out of memory");
		return false;
	}
	for (unsigned i = 0; i < m->ndevs; i++) {
		const FvTopoDevice *td = fv_topology_find(topo, m->devs[i]->bdf);

		if (td)
			params[i] = td->spec.params;
		for (unsigned j = 0; !td && j < o->ndevs; j++)
			if (!strcmp(o->devs[j].bdf, m->devs[i]->bdf))
				params[i] = o->devs[j].params;
	}
	fv_optrace_header(trace, m, params);
	free(params);
	return true;
}

/* Build the machine, mount the fake, run CMD.  Returns the exit status. */
static int run(Options *o)
{
	FvTopology topo = { 0 };
	FvMachine *m = NULL;
	FvEvents *events = NULL;
	FvFaults *faults = NULL;
	FvOptrace *trace = NULL;
	FvControl *control = NULL;
	const char *trace_path;
	int control_dir = -1;
	FvVfio *vfio = NULL;
	FvSeccomp *sc = NULL;
	FvRunHook hook;
	FvFs *fs = NULL;
	FvNs ns = { .root_fd = -1 };
	sigset_t set, orig;
	Error *err = NULL;
	char *path = NULL;
	int status = FV_RUN_EXIT_FAILURE, fuse_fd, sig;
	pid_t pid;

	/*
	 * Before any thread exists (the VFIO core's event loop, the control
	 * socket, the FUSE workers): the signals are taken by sigwaitinfo,
	 * and a thread that left SIGCHLD unblocked would swallow it.
	 */
	fv_run_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, &orig);

	m = build_machine(o, &topo, &err);
	if (!m)
		goto out;
	/* The observers: event log, fault rules, operation trace. */
	events = fv_events_new(0);
	faults = fv_faults_new();
	if (!events || !faults) {
		error_setg(&err, "out of memory");
		goto out;
	}
	if (!fv_topology_add_faults(&topo, faults, &err))
		goto out;
	trace_path = o->trace ? o->trace : getenv("FAKEVFIO_TRACE");
	if (trace_path && *trace_path && !(trace = fv_optrace_open(trace_path, &err)))
		goto out;
	if (trace && !trace_header(trace, m, o, &topo, &err))
		goto out;
	/* It is fakevfio's, not CMD's (a nested run would write to it too). */
	unsetenv("FAKEVFIO_TRACE");
	control = fv_control_new(&(FvControlConfig){ .machine = m, .events = events,
						     .faults = faults }, &err);
	if (!control)
		goto out;
	vfio = fv_vfio_new(m, &err);
	if (!vfio)
		goto out;
	fv_vfio_set_events(vfio, &(FvVfioEvents){ .dma_fault = log_dma_fault, .irq = log_irq,
						  .reset = log_reset, .opaque = events });
	fv_vfio_set_observers(vfio, trace, faults);
	if (m->platform == FV_PLATFORM_PSERIES) {
		FvSpaprConfig spapr;

		fv_spapr_config_init(&spapr);
		spapr.tce = o->tce;
		fv_vfio_set_spapr_config(vfio, &spapr);
	}
	fv_vfio_set_vdev_config(vfio, &(FvVdevConfig){
		.advertise_mmap = o->advertise_mmap || topo.advertise_mmap });
	fv_control_set_ops(control, &(FvControlOps){ .dump_device = dump_device,
						     .dump_mappings = dump_mappings,
						     .opaque = vfio });
	fs = fv_fs_new(m, vfio, &err);
	if (!fs)
		goto out;
	path = fv_run_which(o->cmd[0], &status, &err);
	if (!path)
		goto out;
	status = FV_RUN_EXIT_FAILURE;

	/* Only processes in this namespace (CMD's) may use the VFIO files. */
	if (!fv_ns_enter(&ns, &err) || !fv_vfio_set_namespace(vfio, &err))
		goto out;
	control_dir = control_setup(control, &err);
	if (control_dir < 0)
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
	if (!fv_fs_start(fs, fuse_fd, &err) || !fv_ns_install(&ns, &err) ||
	    !fv_vfio_set_root(vfio, ns.root_fd, &err))
		goto out;
	/* GET_DEVICE_FD: a seccomp filter in CMD, a supervisor here. */
	sc = fv_seccomp_new(&err);
	if (!sc || !fv_seccomp_start(sc, vfio, &err))
		goto out;
	fv_seccomp_hook(sc, &hook);
	sig = fv_run_pending(&set);
	if (sig) {
		status = 128 + sig;
		goto out;
	}
	pid = fv_run_spawn(path, o->cmd, &orig, &hook, &status, &err);
	if (pid < 0)
		goto out;
	status = fv_run_wait(pid, &set);
	/*
	 * CMD's VFIO files are released by FUSE after it exited: serve those
	 * releases (their trace lines) before stopping.  Files that CMD's
	 * leftover processes still hold end the wait after 200 ms.
	 */
	fv_vfio_drain(vfio, 200);
out:
	if (err)
		error_report_err(prog, err);
	/*
	 * The supervisor first (it may be waiting for the server), then the
	 * server: nothing touches the machine after.
	 */
	fv_seccomp_free(sc);
	fv_control_free(control);
	fv_fs_free(fs);
	fv_ns_cleanup(&ns);
	fv_vfio_free(vfio);
	if (control_dir >= 0)
		close(control_dir);
	fv_optrace_close(trace);
	fv_faults_free(faults);
	fv_events_free(events);
	fv_topology_clear(&topo);
	fv_machine_free(m);
	free(path);
	return status;
}

int main(int argc, char **argv)
{
	Options o = { .platform = FV_PLATFORM_X86 };
	Error *err = NULL;
	int r;

	if (argc > 1 && !strcmp(argv[1], FV_SECCOMP_HELPER_ARG))
		return fv_seccomp_helper_main(argc, argv);
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

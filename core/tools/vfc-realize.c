/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfc-realize: realize a vfio-pci device in a fresh machine, print the
 * state dump, run guest operations and event-loop steps, unrealize.
 *
 *   vfc-realize [OPTIONS] BDF...
 *
 *   --property K=V     a vfio-pci property (repeatable)
 *   --ram SIZE         guest RAM at 0 (default 64 MiB)
 *   --steps N          event-loop steps after the operations (default 0)
 *   --timeout MS       poll timeout of each step (default 100)
 *   operations, run in order after the first dump:
 *   --cfg-read OFF:LEN  --cfg-write OFF:LEN:VAL
 *   --mmio-read GPA:LEN --mmio-write GPA:LEN:VAL
 *   --io-read PORT:LEN  --io-write PORT:LEN:VAL
 *   --step MS           one event-loop step
 *   --intx-route LINE:IRQ  route an INTx line (IRQ -1: disabled)
 *   --control LINE      send LINE to $FAKEVFIO_CONTROL, print the answer
 *   --reset             system reset
 *   --dump              the state dump again
 *   --unrealize         unrealize the first device now (later --control
 *                       lines can ask fakevfio what is still held)
 *   --platform x86|pseries   the guest machine (pseries: a sPAPR PHB with
 *                       TCE windows between the bus and RAM)
 *   pseries operations (they print the H_* / RTAS return code):
 *   --hcall H_PUT_TCE:LIOBN:IOBA:TCE   --hcall H_GET_TCE:LIOBN:IOBA
 *   --hcall H_STUFF_TCE:LIOBN:IOBA:TCE:N
 *   --hcall H_PUT_TCE_INDIRECT:LIOBN:IOBA:LIST:N
 *   --ram-write GPA:LEN:VAL (little-endian)  --ram-write-be64 GPA:VAL
 *   --bypass 0|1  --ddw-create PAGESHIFT:WINDOWSHIFT  --ddw-remove LIOBN
 *   --ddw-reset   --eeh OP[:ARG...]  (enable, disable, thaw-io, thaw-dma,
 *                       get-state, reset-hot, reset-fundamental,
 *                       reset-deactivate, configure, inject:TYPE:FUNC:ADDR:MASK)
 *
 * Several BDFs are realized in order, in one machine; the operations
 * address the first.
 *
 * Exit 0 on success, 1 with the error message when realize or an
 * operation fails, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/trace.h"
#include "core/machine.h"

#define MAX_ARGS 256

typedef struct Op {
	const char *name;
	const char *arg;
} Op;

static void usage(FILE *f)
{
	fputs("usage: vfc-realize [--property K=V]... [--ram SIZE] [--steps N] "
	      "[--timeout MS] [OPERATION]... BDF...\n"
	      "Realize vfio-pci devices for host BDFs in a fresh machine (guest RAM,\n"
	      "PCI bus, interrupt sink), print the state dump, run the operations in\n"
	      "order, then the event-loop steps, and unrealize.  Under `fakevfio run`\n"
	      "the devices are simulated; without it, they are the host's.\n"
	      "\n"
	      "  --property K=V       a vfio-pci property (x-pci-vendor-id, rombar, ...)\n"
	      "  --ram SIZE           guest RAM at 0 (default 64 MiB)\n"
	      "  --steps N            event-loop steps after the operations (default 0)\n"
	      "  --timeout MS         poll timeout of each of those steps (default 100)\n"
	      "operations (they address the first BDF):\n"
	      "  --cfg-read OFF:LEN   --cfg-write OFF:LEN:VAL    guest config cycles\n"
	      "  --mmio-read GPA:LEN  --mmio-write GPA:LEN:VAL   guest memory accesses\n"
	      "  --io-read PORT:LEN   --io-write PORT:LEN:VAL    guest port I/O\n"
	      "  --step MS            one event-loop step\n"
	      "  --intx-route LINE:IRQ  route an INTx line (IRQ -1: disabled)\n"
	      "  --control LINE       send LINE to $FAKEVFIO_CONTROL, print the answer\n"
	      "  --reset              system reset\n"
	      "  --dump               the state dump again\n"
	      "  --unrealize          unrealize the first device now (later --control\n"
	      "                       lines can ask fakevfio what is still held)\n"
	      "  --platform x86|pseries  the guest machine (pseries: a sPAPR PHB, TCE\n"
	      "                       window LIOBN 0x80000000 of 1 GiB, 4 KiB pages)\n"
	      "pseries operations (print the H_* or RTAS return code):\n"
	      "  --hcall H_PUT_TCE:LIOBN:IOBA:TCE     --hcall H_GET_TCE:LIOBN:IOBA\n"
	      "  --hcall H_STUFF_TCE:LIOBN:IOBA:TCE:N\n"
	      "  --hcall H_PUT_TCE_INDIRECT:LIOBN:IOBA:LIST:N\n"
	      "  --ram-write GPA:LEN:VAL  --ram-write-be64 GPA:VAL   guest RAM stores\n"
	      "  --bypass 0|1  --ddw-create PAGESHIFT:WINDOWSHIFT  --ddw-remove LIOBN\n"
	      "  --ddw-reset  --eeh OP  (enable, disable, thaw-io, thaw-dma, get-state,\n"
	      "               reset-hot, reset-fundamental, reset-deactivate, configure,\n"
	      "               inject:TYPE:FUNC:ADDR:MASK)\n"
	      "\n"
	      "Exit status: 0 success, 1 realize or an operation failed (message on\n"
	      "stderr), 2 bad usage.\n", f);
}

static bool parse_nums(const char *s, unsigned long long *v, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		char *end;

		errno = 0;
		v[i] = strtoull(s, &end, 0);
		if (errno || end == s || (i < n - 1 ? *end != ':' : *end != 0))
			return false;
		s = end + 1;
	}
	return true;
}

static void observe(GIntc *ic, const GIntcEvent *ev, void *opaque)
{
	(void)ic;
	(void)opaque;
	if (ev->kind == GINTC_EV_MSI)
		printf("intc msi source=0x%x addr=0x%llx data=0x%x\n", ev->source,
		       (unsigned long long)ev->addr, ev->data);
	else if (ev->kind == GINTC_EV_MSI_DROPPED)
		printf("intc msi-dropped source=0x%x addr=0x%llx data=0x%x\n", ev->source,
		       (unsigned long long)ev->addr, ev->data);
	else
		printf("intc intx source=0x%x pin=%u level=%d\n", ev->source, ev->pin,
		       ev->level);
}

static bool control(const char *line)
{
	const char *path = getenv("FAKEVFIO_CONTROL");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	size_t have = 0;
	bool ok = false, done = false;
	int fd;

	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vfc-realize: no FAKEVFIO_CONTROL\n");
		return false;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) != 1) {
		perror("vfc-realize: control");
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (!done) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		while ((nl = strchr(buf, '\n'))) {
			*nl = 0;
			printf("control: %s\n", buf);
			if (!strcmp(buf, "ok")) {
				ok = done = true;
			} else if (!strncmp(buf, "error", 5)) {
				done = true;
			}
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
		if (have == sizeof(buf) - 1)
			have = 0;
	}
	close(fd);
	return ok;
}

static const struct {
	const char *name;
	int option;
} eeh_ops[] = {
	{ "disable", RTAS_EEH_DISABLE }, { "enable", RTAS_EEH_ENABLE },
	{ "thaw-io", RTAS_EEH_THAW_IO }, { "thaw-dma", RTAS_EEH_THAW_DMA },
	{ "reset-deactivate", RTAS_SLOT_RESET_DEACTIVATE },
	{ "reset-hot", RTAS_SLOT_RESET_HOT },
	{ "reset-fundamental", RTAS_SLOT_RESET_FUNDAMENTAL },
};

static bool run_eeh(VfcSpaprPhb *phb, VfcPciDevice *vdev, const char *arg)
{
	unsigned long long v[4];
	size_t i;
	int ret = 0, st = -1;

	if (!strncmp(arg, "inject:", 7) && parse_nums(arg + 7, v, 4)) {
		ret = vfc_spapr_eeh_inject(phb, (uint32_t)v[0], (uint32_t)v[1], v[2], v[3]);
	} else if (!strcmp(arg, "get-state")) {
		ret = vfc_spapr_eeh_get_state(phb, &st);
		printf("eeh get-state rtas=%d state=%d\n", ret, st);
		return true;
	} else if (!strcmp(arg, "configure")) {
		ret = vfc_spapr_eeh_configure(phb);
	} else {
		for (i = 0; i < sizeof(eeh_ops) / sizeof(eeh_ops[0]); i++)
			if (!strcmp(arg, eeh_ops[i].name))
				break;
		if (i == sizeof(eeh_ops) / sizeof(eeh_ops[0])) {
			fprintf(stderr, "vfc-realize: unknown --eeh operation '%s'\n", arg);
			return false;
		}
		if (!strncmp(arg, "reset-", 6))
			ret = vfc_spapr_eeh_reset(phb, eeh_ops[i].option);
		else
			ret = vfc_spapr_eeh_set_option(phb, vdev ? vfc_spapr_config_addr(&vdev->pdev) : 0,
						       eeh_ops[i].option);
	}
	printf("eeh %s rtas=%d\n", arg, ret);
	return true;
}

/* pseries operations: print the hypercall's or RTAS call's return code. */
static bool run_spapr_op(VfcMachine *m, VfcPciDevice *vdev, const Op *op)
{
	VfcSpaprPhb *phb = vfc_machine_phb(m);
	unsigned long long v[5];
	const char *a = op->arg;

	if (!phb) {
		fprintf(stderr, "vfc-realize: %s needs --platform pseries\n", op->name);
		return false;
	}
	if (!strcmp(op->name, "--hcall")) {
		long ret;
		uint64_t tce = 0;

		if (!strncmp(a, "H_PUT_TCE:", 10) && parse_nums(a + 10, v, 3))
			ret = vfc_spapr_h_put_tce(phb, v[0], v[1], v[2]);
		else if (!strncmp(a, "H_GET_TCE:", 10) && parse_nums(a + 10, v, 2)) {
			ret = vfc_spapr_h_get_tce(phb, v[0], v[1], &tce);
			printf("hcall H_GET_TCE ret=%ld tce=0x%llx\n", ret, (unsigned long long)tce);
			return true;
		} else if (!strncmp(a, "H_STUFF_TCE:", 12) && parse_nums(a + 12, v, 4))
			ret = vfc_spapr_h_stuff_tce(phb, v[0], v[1], v[2], v[3]);
		else if (!strncmp(a, "H_PUT_TCE_INDIRECT:", 19) && parse_nums(a + 19, v, 4))
			ret = vfc_spapr_h_put_tce_indirect(phb, v[0], v[1], v[2], v[3]);
		else {
			fprintf(stderr, "vfc-realize: bad --hcall '%s'\n", a);
			return false;
		}
		printf("hcall %.*s ret=%ld\n", (int)strcspn(a, ":"), a, ret);
	} else if (!strcmp(op->name, "--bypass") && parse_nums(a, v, 1)) {
		vfc_spapr_table_set_bypass(&phb->windows[0], v[0] != 0);
		printf("bypass %llu\n", v[0]);
	} else if (!strcmp(op->name, "--ddw-create") && parse_nums(a, v, 2)) {
		uint32_t liobn = 0;
		uint64_t start = 0;
		int ret = vfc_spapr_ddw_create(phb, (unsigned)v[0], (unsigned)v[1], &liobn, &start);

		printf("ddw create rtas=%d liobn=0x%x start=0x%llx\n", ret, liobn,
		       (unsigned long long)start);
	} else if (!strcmp(op->name, "--ddw-remove") && parse_nums(a, v, 1)) {
		printf("ddw remove rtas=%d\n", vfc_spapr_ddw_remove(phb, v[0]));
	} else if (!strcmp(op->name, "--ddw-reset")) {
		printf("ddw reset rtas=%d\n", vfc_spapr_ddw_reset(phb));
	} else if (!strcmp(op->name, "--eeh")) {
		return run_eeh(phb, vdev, a);
	} else {
		fprintf(stderr, "vfc-realize: bad argument for %s: '%s'\n", op->name, a ? a : "");
		return false;
	}
	return true;
}

static bool run_op(VfcMachine *m, VfcPciDevice **vdevp, const Op *op)
{
	VfcPciDevice *vdev = *vdevp;
	unsigned long long v[3];
	uint64_t val;
	unsigned st;

	if (!vdev && (!strncmp(op->name, "--cfg-", 6) || !strcmp(op->name, "--unrealize"))) {
		fprintf(stderr, "vfc-realize: %s: the device is already unrealized\n", op->name);
		return false;
	}
	if (!strcmp(op->name, "--unrealize")) {
		vfc_machine_remove_device(m, vdev);
		*vdevp = NULL;
		printf("unrealized first device\n");
	} else if (!strcmp(op->name, "--cfg-read") && parse_nums(op->arg, v, 2)) {
		printf("cfg[0x%llx/%llu] = 0x%x\n", v[0], v[1],
		       vfc_machine_config_read(m, vdev, (unsigned)v[0], (unsigned)v[1]));
	} else if (!strcmp(op->name, "--cfg-write") && parse_nums(op->arg, v, 3)) {
		vfc_machine_config_write(m, vdev, (unsigned)v[0], (unsigned)v[1],
					 (uint32_t)v[2]);
	} else if (!strcmp(op->name, "--mmio-read") && parse_nums(op->arg, v, 2)) {
		st = vfc_machine_mmio_read(m, v[0], (unsigned)v[1], &val);
		printf("mmio[0x%llx/%llu] = 0x%llx status=%u\n", v[0], v[1],
		       (unsigned long long)val, st);
	} else if (!strcmp(op->name, "--mmio-write") && parse_nums(op->arg, v, 3)) {
		st = vfc_machine_mmio_write(m, v[0], (unsigned)v[1], v[2]);
		printf("mmio[0x%llx/%llu] <- 0x%llx status=%u\n", v[0], v[1], v[2], st);
	} else if (!strcmp(op->name, "--io-read") && parse_nums(op->arg, v, 2)) {
		st = vfc_machine_io_read(m, v[0], (unsigned)v[1], &val);
		printf("io[0x%llx/%llu] = 0x%llx status=%u\n", v[0], v[1],
		       (unsigned long long)val, st);
	} else if (!strcmp(op->name, "--io-write") && parse_nums(op->arg, v, 3)) {
		st = vfc_machine_io_write(m, v[0], (unsigned)v[1], v[2]);
		printf("io[0x%llx/%llu] <- 0x%llx status=%u\n", v[0], v[1], v[2], st);
	} else if (!strcmp(op->name, "--intx-route") && parse_nums(op->arg, v, 2)) {
		vfc_machine_set_intx_route(m, (int)v[0], (int)(long long)v[1]);
	} else if (!strcmp(op->name, "--step") && parse_nums(op->arg, v, 1)) {
		printf("step handlers=%d\n", vfc_machine_step(m, (int)v[0]));
	} else if (!strcmp(op->name, "--control")) {
		fflush(stdout);
		return control(op->arg);
	} else if (!strcmp(op->name, "--reset")) {
		vfc_machine_reset(m);
		printf("reset\n");
	} else if (!strcmp(op->name, "--dump")) {
		vfc_machine_dump(m, stdout);
	} else if (!strcmp(op->name, "--ram-write") && parse_nums(op->arg, v, 3)) {
		uint8_t *p = vfc_machine_ram_ptr(m, v[0], v[1]);

		if (!p || v[1] > 8) {
			fprintf(stderr, "vfc-realize: --ram-write %s: not in guest RAM\n", op->arg);
			return false;
		}
		for (unsigned b = 0; b < v[1]; b++)
			p[b] = (uint8_t)(v[2] >> (8 * b));
	} else if (!strcmp(op->name, "--ram-write-be64") && parse_nums(op->arg, v, 2)) {
		uint8_t *p = vfc_machine_ram_ptr(m, v[0], 8);

		if (!p) {
			fprintf(stderr, "vfc-realize: --ram-write-be64 %s: not in guest RAM\n",
				op->arg);
			return false;
		}
		for (unsigned b = 0; b < 8; b++)
			p[b] = (uint8_t)(v[1] >> (56 - 8 * b));
	} else if (!strncmp(op->name, "--hcall", 7) || !strncmp(op->name, "--ddw", 5) ||
		   !strcmp(op->name, "--bypass") || !strcmp(op->name, "--eeh")) {
		return run_spapr_op(m, *vdevp, op);
	} else {
		fprintf(stderr, "vfc-realize: bad argument for %s: '%s'\n", op->name,
			op->arg ? op->arg : "");
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *props[MAX_ARGS], *bdfs[MAX_ARGS];
	Op ops[MAX_ARGS];
	unsigned nprops = 0, nops = 0, nbdfs = 0, i;
	unsigned long long steps = 0, timeout = 100, ram = 0;
	VfcMachineConfig cfg = { 0 };
	VfcMachine *m;
	VfcPciDevice *vdev = NULL;
	Error *err = NULL;
	const char *tr = getenv("VFIOSIM_TRACE");
	int a, rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tr && *tr && !trace_enable_patterns(tr, &err)) {
		error_report_err("vfc-realize", err);
		return 2;
	}
	for (a = 1; a < argc; a++) {
		const char *o = argv[a];
		bool takes = strcmp(o, "--reset") && strcmp(o, "--dump") &&
			     strcmp(o, "--unrealize") && strcmp(o, "--ddw-reset");

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			return 0;
		}
		if (o[0] != '-') {
			if (nbdfs == MAX_ARGS)
				return 2;
			bdfs[nbdfs++] = o;
			continue;
		}
		if (takes && a + 1 >= argc) {
			fprintf(stderr, "vfc-realize: %s needs an argument\n", o);
			return 2;
		}
		if (!strcmp(o, "--platform")) {
			if (!vfc_platform_parse(argv[++a], &cfg.platform, &err)) {
				error_report_err("vfc-realize", err);
				return 2;
			}
		} else if (!strcmp(o, "--property")) {
			if (nprops == MAX_ARGS)
				return 2;
			props[nprops++] = argv[++a];
		} else if (!strcmp(o, "--steps") || !strcmp(o, "--timeout") ||
			   !strcmp(o, "--ram")) {
			unsigned long long v;

			if (!parse_nums(argv[++a], &v, 1)) {
				fprintf(stderr, "vfc-realize: bad number '%s'\n", argv[a]);
				return 2;
			}
			*(!strcmp(o, "--steps") ? &steps : !strcmp(o, "--ram") ? &ram : &timeout) = v;
		} else if (!strcmp(o, "--cfg-read") || !strcmp(o, "--cfg-write") ||
			   !strcmp(o, "--mmio-read") || !strcmp(o, "--mmio-write") ||
			   !strcmp(o, "--io-read") || !strcmp(o, "--io-write") ||
			   !strcmp(o, "--step") || !strcmp(o, "--control") ||
			   !strcmp(o, "--intx-route") ||
			   !strcmp(o, "--reset") || !strcmp(o, "--dump") ||
			   !strcmp(o, "--unrealize") || !strcmp(o, "--hcall") ||
			   !strcmp(o, "--ram-write") || !strcmp(o, "--ram-write-be64") ||
			   !strcmp(o, "--bypass") || !strcmp(o, "--ddw-create") ||
			   !strcmp(o, "--ddw-remove") || !strcmp(o, "--ddw-reset") ||
			   !strcmp(o, "--eeh")) {
			if (nops == MAX_ARGS)
				return 2;
			ops[nops].name = o;
			ops[nops++].arg = takes ? argv[++a] : NULL;
		} else {
			fprintf(stderr, "vfc-realize: unknown option %s\n", o);
			usage(stderr);
			return 2;
		}
	}
	if (!nbdfs) {
		usage(stderr);
		return 2;
	}
	cfg.ram_size = ram;
	m = vfc_machine_new(&cfg, &err);
	if (!m) {
		error_report_err("vfc-realize", err);
		return 1;
	}
	m->intc.observer = observe;
	for (i = 0; i < nbdfs; i++) {
		VfcPciDevice *d = vfc_machine_add_vfio_pci(m, bdfs[i], props, nprops, &err);

		if (!d) {
			error_report_err("vfc-realize", err);
			vfc_machine_free(m);
			return 1;
		}
		if (!vdev)
			vdev = d;
		printf("realized %s\n", bdfs[i]);
	}
	vfc_machine_dump(m, stdout);
	for (i = 0; i < nops && !rc; i++)
		if (!run_op(m, &vdev, &ops[i]))
			rc = 1;
	for (i = 0; i < steps && !rc; i++)
		printf("step %u handlers=%d\n", i, vfc_machine_step(m, (int)timeout));
	vfc_machine_free(m);
	printf("unrealized\n");
	return rc;
}

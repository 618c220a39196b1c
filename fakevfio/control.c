/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fakevfio/control.c: the control socket (see control.h, docs/fakevfio.md). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "common/hex.h"
#include "control.h"
#include "op.h"

enum {
	MAX_WORDS = 32,
	READ_CHUNK = 4096,
};

typedef struct Client {
	int fd;
	char in[FV_CONTROL_LINE_MAX + 1];
	size_t in_len;
	bool discarding;	/* dropping the rest of an overlong line */
	char *out;
	size_t out_len, out_off, out_cap;
	bool eof;		/* the peer will send nothing more */
	bool dead;
} Client;

struct FvControl {
	FvMachine *m;
	FvEvents *events;
	FvFaults *faults;

	pthread_mutex_t lock;	/* ops, stop, listeners, pending */
	FvControlOps ops;
	bool stop;
	int *listeners;
	unsigned nlisteners;
	int *pending;		/* clients not yet taken by the thread */
	unsigned npending;

	int wake;		/* eventfd: something changed */
	pthread_t thread;
	bool started;

	Client **clients;	/* the thread's */
	unsigned nclients;
};

/* ---- responses -------------------------------------------------------- */

static void ok(FILE *out)
{
	fputs("ok\n", out);
}

__attribute__((format(printf, 3, 4)))
static void fail(FILE *out, int err, const char *fmt, ...)
{
	const char *name = fv_op_errno_name(err);
	va_list ap;

	fprintf(out, "error %s ", name ? name : "EIO");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

/*
 * Copy text that someone else wrote (a hook's dump) as data lines, each
 * behind prefix, blank lines left out.  No line of it may end the
 * response: without a prefix, a line that reads "ok" or begins with
 * "error" goes out behind a space.
 */
static void data_lines(FILE *out, const char *prefix, const char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		int n = (int)(end - i);
		const char *l = text + i;

		i = end + 1;
		if (!n)
			continue;	/* blank lines carry nothing */
		if (!*prefix && ((n == 2 && !memcmp(l, "ok", 2)) ||
				 (n >= 5 && !memcmp(l, "error", 5))))
			fputc(' ', out);
		fprintf(out, "%s%.*s\n", prefix, n, l);
	}
}

/* ---- argument parsing ------------------------------------------------- */

static FvDevice *find_device(FvControl *c, const char *text, FILE *out)
{
	char bdf[FV_BDF_LEN];
	unsigned d, b, s, f;
	Error *err = NULL;
	FvDevice *dev;

	if (!bdf_parse(text, bdf, &d, &b, &s, &f, &err)) {
		fail(out, EINVAL, "%s", error_get_pretty(err));
		error_free(err);
		return NULL;
	}
	dev = fv_machine_find(c->m, bdf);
	if (!dev)
		fail(out, ENODEV, "no device %s in this machine", bdf);
	return dev;
}

/* A whole-word unsigned number, C syntax (0x... hex, decimal). */
static bool number(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (*end || errno)
		return false;
	*out = v;
	return true;
}

/* "deadbeef" or "de:ad:be:ef": the byte count, or -1 with a message. */
static long hex_bytes(const char *s, uint8_t *buf, size_t max, FILE *out)
{
	size_t n = 0, i = 0;

	if (!strncasecmp(s, "0x", 2))
		i = 2;
	while (s[i]) {
		int hi = hex_digit(s[i]), lo;

		/* One ':' between two bytes. */
		if (s[i] == ':' && n && s[i - 1] != ':' && hex_digit(s[i + 1]) >= 0) {
			i++;
			continue;
		}
		if (hi < 0) {
			fail(out, EINVAL, "bad hex byte at '%.8s': expected hex digits, "
			     "e.g. deadbeef or de:ad:be:ef", s + i);
			return -1;
		}
		lo = hex_digit(s[i + 1]);
		if (lo < 0) {
			fail(out, EINVAL, "bad hex byte at '%.8s': hex digits come in pairs",
			     s + i);
			return -1;
		}
		if (n == max) {
			fail(out, E2BIG, "more than %zu bytes", max);
			return -1;
		}
		buf[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	if (!n) {
		fail(out, EINVAL, "no bytes to write");
		return -1;
	}
	return (long)n;
}

/* ---- commands --------------------------------------------------------- */

typedef struct Cmd Cmd;
typedef void (*CmdFn)(FvControl *c, int argc, char **argv, const char *rest,
		      FILE *out);

struct Cmd {
	const char *name;
	const char *usage;
	const char *help;
	int min, max;		/* words after the command */
	CmdFn fn;
};

static const Cmd *find_cmd(const char *name);

static void cmd_help(FvControl *c, int argc, char **argv, const char *rest, FILE *out);

static uint8_t intx_pin(SimDevice *sim)
{
	uint8_t pin;

	sim_device_lock(sim);
	pin = (uint8_t)sim_cfg_get(sim, PCI_INTERRUPT_PIN, 1);
	sim_device_unlock(sim);
	return pin;
}

static FvRaiseResult raise_result(SimIrqResult r)
{
	switch (r) {
	case SIM_IRQ_DELIVERED: return FV_RAISE_DELIVERED;
	case SIM_IRQ_PENDING: return FV_RAISE_PENDING;
	case SIM_IRQ_DROPPED: break;
	}
	return FV_RAISE_DROPPED;
}

static void cmd_irq(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	FvDevice *dev = find_device(c, argv[1], out);
	FvRaiseResult res = FV_RAISE_DELIVERED;
	uint64_t vector = 0;
	int index;

	(void)rest;
	if (!dev)
		return;
	index = fv_op_irq_parse(argv[2]);
	if (index < 0) {
		fail(out, EINVAL, "bad IRQ index '%s': expected INTX, MSI, MSIX, ERR, REQ or 0-4",
		     argv[2]);
		return;
	}
	if (argc > 3 && (!number(argv[3], &vector) || vector > 2047)) {
		fail(out, EINVAL, "bad vector '%s': expected a number 0-2047", argv[3]);
		return;
	}
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
	case VFIO_PCI_ERR_IRQ_INDEX:
	case VFIO_PCI_REQ_IRQ_INDEX:
		if (vector) {
			fail(out, EINVAL, "%s has a single vector, 0", fv_op_irq_name((unsigned)index));
			return;
		}
	}
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		if (!intx_pin(dev->sim)) {
			fail(out, EOPNOTSUPP, "%s has no INTx pin", dev->bdf);
			return;
		}
		sim_intx_set(dev->sim, true);
		res = sim_intx_asserted(dev->sim) ? FV_RAISE_DELIVERED : FV_RAISE_PENDING;
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX: {
		bool msix = index == VFIO_PCI_MSIX_IRQ_INDEX;

		if (!sim_cap_find(dev->sim, msix ? PCI_CAP_ID_MSIX : PCI_CAP_ID_MSI)) {
			fail(out, EOPNOTSUPP, "%s has no %s capability", dev->bdf,
			     msix ? "MSI-X" : "MSI");
			return;
		}
		/* Raise only through the mechanism asked for. */
		sim_device_lock(dev->sim);
		if (sim_irq_mode(dev->sim) == (msix ? SIM_IRQ_MSIX : SIM_IRQ_MSI))
			res = raise_result(sim_irq_raise(dev->sim, (unsigned)vector));
		else
			res = FV_RAISE_DROPPED;
		sim_device_unlock(dev->sim);
		break;
	}
	case VFIO_PCI_ERR_IRQ_INDEX: {
		unsigned aer = sim_ecap_find(dev->sim, PCI_EXT_CAP_ID_ERR);
		uint32_t mask;

		if (!aer) {
			fail(out, EOPNOTSUPP, "%s has no AER capability", dev->bdf);
			return;
		}
		sim_device_lock(dev->sim);
		mask = sim_cfg_get(dev->sim, aer + PCI_ERR_UNCOR_MASK, 4);
		sim_aer_inject(dev->sim, true, PCI_ERR_UNC_INTN, NULL);
		sim_device_unlock(dev->sim);
		res = mask & PCI_ERR_UNC_INTN ? FV_RAISE_MASKED : FV_RAISE_DELIVERED;
		break;
	}
	case VFIO_PCI_REQ_IRQ_INDEX:
		sim_req_raise(dev->sim);
		break;
	}
	fv_events_raise(c->events, dev->bdf, (unsigned)index, (unsigned)vector, res);
	fprintf(out, "result=%s\n", fv_raise_result_name(res));
	ok(out);
}

static void cmd_intx(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	FvDevice *dev = find_device(c, argv[1], out);
	bool level;

	(void)argc;
	(void)rest;
	if (!dev)
		return;
	if (strcmp(argv[2], "0") && strcmp(argv[2], "1")) {
		fail(out, EINVAL, "bad level '%s': expected 0 or 1", argv[2]);
		return;
	}
	if (!intx_pin(dev->sim)) {
		fail(out, EOPNOTSUPP, "%s has no INTx pin", dev->bdf);
		return;
	}
	level = argv[2][0] == '1';
	sim_intx_set(dev->sim, level);
	fv_events_intx(c->events, dev->bdf, level);
	fprintf(out, "line=%s\n", sim_intx_asserted(dev->sim) ? "asserted" : "deasserted");
	ok(out);
}

static const struct {
	const char *name;
	bool uncorrectable;
	uint32_t bit;
} aer_bits[] = {
	{ "UND", true, PCI_ERR_UNC_UND },
	{ "DLP", true, PCI_ERR_UNC_DLP },
	{ "SURPDN", true, PCI_ERR_UNC_SURPDN },
	{ "POISON_TLP", true, PCI_ERR_UNC_POISON_TLP },
	{ "FCP", true, PCI_ERR_UNC_FCP },
	{ "COMP_TIME", true, PCI_ERR_UNC_COMP_TIME },
	{ "COMP_ABORT", true, PCI_ERR_UNC_COMP_ABORT },
	{ "UNX_COMP", true, PCI_ERR_UNC_UNX_COMP },
	{ "RX_OVER", true, PCI_ERR_UNC_RX_OVER },
	{ "MALF_TLP", true, PCI_ERR_UNC_MALF_TLP },
	{ "ECRC", true, PCI_ERR_UNC_ECRC },
	{ "UNSUP", true, PCI_ERR_UNC_UNSUP },
	{ "ACSV", true, PCI_ERR_UNC_ACSV },
	{ "INTN", true, PCI_ERR_UNC_INTN },
	{ "MCBTLP", true, PCI_ERR_UNC_MCBTLP },
	{ "ATOMEG", true, PCI_ERR_UNC_ATOMEG },
	{ "TLPPRE", true, PCI_ERR_UNC_TLPPRE },
	{ "RCVR", false, PCI_ERR_COR_RCVR },
	{ "BAD_TLP", false, PCI_ERR_COR_BAD_TLP },
	{ "BAD_DLLP", false, PCI_ERR_COR_BAD_DLLP },
	{ "REP_ROLL", false, PCI_ERR_COR_REP_ROLL },
	{ "REP_TIMER", false, PCI_ERR_COR_REP_TIMER },
	{ "ADV_NFAT", false, PCI_ERR_COR_ADV_NFAT },
	{ "INTERNAL", false, PCI_ERR_COR_INTERNAL },
	{ "LOG_OVER", false, PCI_ERR_COR_LOG_OVER },
};

/* A bit name (with or without PCI_ERR_UNC_ / PCI_ERR_COR_) or a mask. */
static bool aer_status(const char *s, bool uncorrectable, uint32_t *status, FILE *out)
{
	const char *prefix = uncorrectable ? "PCI_ERR_UNC_" : "PCI_ERR_COR_";
	const char *name = s;
	uint64_t v;

	if (!strncasecmp(name, prefix, strlen(prefix)))
		name += strlen(prefix);
	for (size_t i = 0; i < sizeof(aer_bits) / sizeof(aer_bits[0]); i++) {
		if (aer_bits[i].uncorrectable == uncorrectable &&
		    !strcasecmp(aer_bits[i].name, name)) {
			*status = aer_bits[i].bit;
			return true;
		}
	}
	if (number(s, &v) && v && v <= UINT32_MAX) {
		*status = (uint32_t)v;
		return true;
	}
	fail(out, EINVAL, "bad %s error '%s': expected a bit name such as %s or a "
	     "non-zero mask such as 0x%x", uncorrectable ? "uncorrectable" : "correctable",
	     s, uncorrectable ? "UNSUP" : "BAD_TLP",
	     uncorrectable ? PCI_ERR_UNC_UNSUP : PCI_ERR_COR_BAD_TLP);
	return false;
}

static void cmd_aer(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	FvDevice *dev = find_device(c, argv[1], out);
	bool unc;
	uint32_t status, mask = 0;
	unsigned aer;
	const char *result;
	int r;

	(void)argc;
	(void)rest;
	if (!dev)
		return;
	if (!strcmp(argv[2], "uncorrectable")) {
		unc = true;
	} else if (!strcmp(argv[2], "correctable")) {
		unc = false;
	} else {
		fail(out, EINVAL, "bad severity '%s': expected uncorrectable or correctable",
		     argv[2]);
		return;
	}
	if (!aer_status(argv[3], unc, &status, out))
		return;
	aer = sim_ecap_find(dev->sim, PCI_EXT_CAP_ID_ERR);
	if (!aer) {
		fail(out, EOPNOTSUPP, "%s has no AER capability", dev->bdf);
		return;
	}
	sim_device_lock(dev->sim);
	if (unc)
		mask = sim_cfg_get(dev->sim, aer + PCI_ERR_UNCOR_MASK, 4);
	r = sim_aer_inject(dev->sim, unc, status, NULL);
	sim_device_unlock(dev->sim);
	if (r < 0) {
		fail(out, -r, "%s: the device refused status 0x%08x (bits that are not %s "
		     "errors)", dev->bdf, status, unc ? "uncorrectable" : "correctable");
		return;
	}
	fv_events_aer(c->events, dev->bdf, unc, status);
	if (!unc)
		result = "logged";
	else
		result = status & ~mask ? "signalled" : "masked";
	fprintf(out, "result=%s\n", result);
	ok(out);
}

static void cmd_req(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	FvDevice *dev = find_device(c, argv[1], out);

	(void)argc;
	(void)rest;
	if (!dev)
		return;
	sim_req_raise(dev->sim);
	fv_events_req(c->events, dev->bdf);
	ok(out);
}

/* Report a failed device DMA and log it. */
static void dma_failed(FvControl *c, FvDevice *dev, bool write, uint64_t iova,
		       size_t len, int err, FILE *out)
{
	fv_events_dma(c->events, dev->bdf, iova, len, write, err);
	switch (err) {
	case -EACCES:
		fail(out, EACCES, "%s: DMA %s of %zu bytes at IOVA 0x%" PRIx64 " not attempted: "
		     "Bus Master is disabled (PCI_COMMAND)", dev->bdf, write ? "write" : "read",
		     len, iova);
		return;
	case -ENODEV:
		fail(out, ENODEV, "%s: DMA %s of %zu bytes at IOVA 0x%" PRIx64 " failed: "
		     "no IOMMU translation (the device's group is in no container)", dev->bdf,
		     write ? "write" : "read", len, iova);
		return;
	}
	fail(out, -err, "%s: DMA %s of %zu bytes at IOVA 0x%" PRIx64 " failed: IOMMU fault (%s)",
	     dev->bdf, write ? "write" : "read", len, iova, strerror(-err));
}

static void cmd_dma_read(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	FvDevice *dev = find_device(c, argv[1], out);
	uint64_t iova, len;
	uint8_t *buf;
	int r;

	(void)argc;
	(void)rest;
	if (!dev)
		return;
	if (!number(argv[2], &iova)) {
		fail(out, EINVAL, "bad IOVA '%s': expected a number (0x... or decimal)", argv[2]);
		return;
	}
	if (!number(argv[3], &len) || !len || len > FV_CONTROL_DMA_MAX) {
		fail(out, EINVAL, "bad length '%s': expected a number 1-%d", argv[3],
		     FV_CONTROL_DMA_MAX);
		return;
	}
	buf = malloc(len);
	if (!buf) {
		fail(out, ENOMEM, "out of memory");
		return;
	}
	r = sim_dma_read(dev->sim, iova, buf, len);
	if (r < 0) {
		dma_failed(c, dev, false, iova, len, r, out);
	} else {
		fv_events_dma(c->events, dev->bdf, iova, len, false, 0);
		fputs("data=", out);
		for (uint64_t i = 0; i < len; i++)
			fprintf(out, "%02x", buf[i]);
		fputc('\n', out);
		ok(out);
	}
	free(buf);
}

static void cmd_dma_write(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	FvDevice *dev = find_device(c, argv[1], out);
	uint8_t *buf;
	uint64_t iova;
	long n;
	int r;

	(void)argc;
	(void)rest;
	if (!dev)
		return;
	if (!number(argv[2], &iova)) {
		fail(out, EINVAL, "bad IOVA '%s': expected a number (0x... or decimal)", argv[2]);
		return;
	}
	buf = malloc(FV_CONTROL_LINE_MAX / 2);
	if (!buf) {
		fail(out, ENOMEM, "out of memory");
		return;
	}
	n = hex_bytes(argv[3], buf, FV_CONTROL_LINE_MAX / 2, out);
	if (n > 0) {
		r = sim_dma_write(dev->sim, iova, buf, (size_t)n);
		if (r < 0) {
			dma_failed(c, dev, true, iova, (size_t)n, r, out);
		} else {
			fv_events_dma(c->events, dev->bdf, iova, (uint64_t)n, true, 0);
			fprintf(out, "written=%ld\n", n);
			ok(out);
		}
	}
	free(buf);
}

static const struct {
	const char *name;
	SimResetKind kind;
} resets[] = {
	{ "flr", SIM_RESET_FLR },
	{ "hot", SIM_RESET_HOT },
	{ "pm", SIM_RESET_PM },
	{ "power-on", SIM_RESET_POWER_ON },
};

static void cmd_reset(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	FvDevice *dev = find_device(c, argv[1], out);
	SimResetKind kind = SIM_RESET_FLR;

	(void)rest;
	if (!dev)
		return;
	if (argc > 2) {
		size_t i;

		for (i = 0; i < sizeof(resets) / sizeof(resets[0]); i++)
			if (!strcmp(resets[i].name, argv[2]))
				break;
		if (i == sizeof(resets) / sizeof(resets[0])) {
			fail(out, EINVAL, "bad reset kind '%s': expected flr, hot, pm or power-on",
			     argv[2]);
			return;
		}
		kind = resets[i].kind;
	}
	sim_device_reset(dev->sim, kind);
	fv_events_reset(c->events, dev->bdf, sim_reset_kind_name(kind));
	ok(out);
}

static void cmd_fault(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	Error *err = NULL;
	size_t errpos = 0;
	unsigned id;

	(void)argc;
	(void)argv;
	id = fv_faults_add(c->faults, rest, &errpos, &err);
	if (!id) {
		/* Columns count from 1 at the start of the request line. */
		fail(out, EINVAL, "column %zu: %s", errpos + (size_t)(rest - argv[argc]) + 1,
		     error_get_pretty(err));
		error_free(err);
		return;
	}
	fprintf(out, "id=%u\n", id);
	ok(out);
}

static void cmd_faults(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	(void)rest;
	if (argc == 1) {
		fv_faults_list(c->faults, out);
		ok(out);
		return;
	}
	if (strcmp(argv[1], "clear")) {
		fail(out, EINVAL, "usage: %s", find_cmd("faults")->usage);
		return;
	}
	fprintf(out, "cleared=%u\n", fv_faults_clear(c->faults));
	ok(out);
}

static const char *bar_type(SimBarType t)
{
	switch (t) {
	case SIM_BAR_IO: return "io";
	case SIM_BAR_MEM32: return "mem32";
	case SIM_BAR_MEM64: return "mem64";
	case SIM_BAR_NONE: break;
	}
	return "none";
}

static const char *irq_mode(SimIrqMode m)
{
	switch (m) {
	case SIM_IRQ_INTX: return "intx";
	case SIM_IRQ_MSI: return "msi";
	case SIM_IRQ_MSIX: return "msix";
	case SIM_IRQ_NONE: break;
	}
	return "none";
}

static void dump_device(FvControl *c, FvDevice *dev, FILE *out)
{
	SimDevice *s = dev->sim;
	SimIds ids = sim_device_ids(s);
	FvControlOps ops;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	bool open = false;
	uint16_t cmd, sta;

	fprintf(out, "device=%s model=%s group=%d driver=%s irq=%u numa_node=%d\n",
		dev->bdf, dev->model, dev->group ? dev->group->id : -1,
		dev->driver[0] ? dev->driver : dev->vfio_bound ? FV_DRIVER_VFIO_PCI : "host",
		dev->irq, atomic_load(&dev->numa_node));
	fprintf(out, "ids vendor=0x%04x device=0x%04x subsystem_vendor=0x%04x "
		"subsystem_device=0x%04x class=0x%06x revision=0x%02x vf=%d\n",
		ids.vendor, ids.device, ids.subsystem_vendor, ids.subsystem_device,
		ids.class_code, ids.revision, sim_device_is_vf(s));
	sim_device_lock(s);
	cmd = (uint16_t)sim_cfg_get(s, PCI_COMMAND, 2);
	sta = (uint16_t)sim_cfg_get(s, PCI_STATUS, 2);
	sim_device_unlock(s);
	fprintf(out, "config size=%u command=0x%04x status=0x%04x\n",
		sim_device_cfg_size(s), cmd, sta);
	for (unsigned i = 0; i <= SIM_NUM_BARS; i++) {
		SimBarInfo bi;
		char name[FV_OP_NAME_BUF];

		if (!sim_bar_info(s, i, &bi) || !bi.size)
			continue;
		if (i == SIM_ROM_SLOT)
			snprintf(name, sizeof(name), "ROM");
		else
			snprintf(name, sizeof(name), "BAR%u", i);
		fprintf(out, "bar name=%s type=%s prefetch=%d size=0x%" PRIx64 " addr=0x%" PRIx64
			" decodes=%d\n", name, i == SIM_ROM_SLOT ? "rom" : bar_type(bi.type),
			bi.prefetch, bi.size, bi.addr, sim_bar_decodes(s, i));
	}
	fprintf(out, "irq mode=%s pin=%u intx_asserted=%d msi_enabled=%d msi_vectors=%u "
		"msix_enabled=%d msix_vectors=%u\n", irq_mode(sim_irq_mode(s)),
		intx_pin(s), sim_intx_asserted(s), sim_msi_enabled(s),
		sim_msi_enabled(s) ? sim_msi_nvec_enabled(s) : 0, sim_msix_enabled(s),
		sim_msix_nvec(s));
	fprintf(out, "resets power-on=%u flr=%u pm=%u hot=%u\n",
		sim_device_reset_count(s, SIM_RESET_POWER_ON),
		sim_device_reset_count(s, SIM_RESET_FLR),
		sim_device_reset_count(s, SIM_RESET_PM),
		sim_device_reset_count(s, SIM_RESET_HOT));
	fprintf(out, "dma faults=%u\n", sim_dma_fault_count(s));

	pthread_mutex_lock(&c->lock);
	ops = c->ops;
	pthread_mutex_unlock(&c->lock);
	if (ops.dump_device && (f = open_memstream(&text, &len))) {
		open = ops.dump_device(ops.opaque, dev, f);
		if (fclose(f))
			open = false;
		if (open)
			data_lines(out, "vdev ", text, len);
		free(text);
	}
	if (!open)
		fputs("vdev open=0\n", out);
}

static void cmd_dump(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	FvControlOps ops;

	(void)rest;
	if (argc == 3 && !strcmp(argv[1], "device")) {
		FvDevice *dev = find_device(c, argv[2], out);

		if (dev) {
			dump_device(c, dev, out);
			ok(out);
		}
		return;
	}
	if (argc == 2 && !strcmp(argv[1], "mappings")) {
		char *text = NULL;
		size_t len = 0;
		FILE *f;

		pthread_mutex_lock(&c->lock);
		ops = c->ops;
		pthread_mutex_unlock(&c->lock);
		if (!ops.dump_mappings) {
			fail(out, ENOSYS, "no mappings to show: the VFIO core provides no "
			     "dump_mappings hook");
			return;
		}
		f = open_memstream(&text, &len);
		if (!f) {
			fail(out, ENOMEM, "out of memory");
			return;
		}
		ops.dump_mappings(ops.opaque, f);
		if (fclose(f)) {
			free(text);
			fail(out, ENOMEM, "out of memory");
			return;
		}
		data_lines(out, "", text, len);
		free(text);
		ok(out);
		return;
	}
	fail(out, EINVAL, "usage: %s", find_cmd("dump")->usage);
}

static void cmd_events(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	uint64_t since = 0, lost = 0, more;
	FvEvent *ev;
	unsigned n;
	bool first = true;

	(void)rest;
	if (argc > 1 && !number(argv[1], &since)) {
		fail(out, EINVAL, "bad sequence number '%s': expected a number", argv[1]);
		return;
	}
	ev = malloc(256 * sizeof(*ev));
	if (!ev) {
		fail(out, ENOMEM, "out of memory");
		return;
	}
	do {
		n = fv_events_since(c->events, since, ev, 256, &more);
		if (first)
			lost = more;
		first = false;
		for (unsigned i = 0; i < n; i++) {
			char line[FV_EVENT_TEXT_MAX];

			fv_event_format(&ev[i], line, sizeof(line));
			fprintf(out, "%s\n", line);
			since = ev[i].seq;
		}
	} while (n == 256);
	free(ev);
	fprintf(out, "last=%" PRIu64 " lost=%" PRIu64 "\n", fv_events_last(c->events), lost);
	ok(out);
}

static const Cmd cmds[] = {
	{ "help", "help", "this list", 0, 0, cmd_help },
	{ "irq", "irq BDF INDEX [VECTOR]",
	  "raise interrupt INDEX (INTX, MSI, MSIX, ERR, REQ or 0-4) in the device", 2, 3, cmd_irq },
	{ "intx", "intx BDF 0|1", "set the device's INTx line level", 2, 2, cmd_intx },
	{ "aer", "aer BDF uncorrectable|correctable BITNAME|MASK",
	  "inject an AER error (BITNAME: UNSUP, BAD_TLP, ...)", 3, 3, cmd_aer },
	{ "req", "req BDF", "the device requests to be released", 1, 1, cmd_req },
	{ "dma-read", "dma-read BDF IOVA LEN", "the device reads LEN bytes at IOVA",
	  3, 3, cmd_dma_read },
	{ "dma-write", "dma-write BDF IOVA HEXBYTES", "the device writes the bytes at IOVA",
	  3, 3, cmd_dma_write },
	{ "reset", "reset BDF [flr|hot|pm|power-on]", "reset the device (default flr)",
	  1, 2, cmd_reset },
	{ "fault", "fault OPERATION [MATCH...] errno=E [count=N] [after=M]",
	  "add a fault rule", 1, MAX_WORDS, cmd_fault },
	{ "faults", "faults [clear]", "list the fault rules, or remove them all", 0, 1,
	  cmd_faults },
	{ "dump", "dump device BDF | dump mappings", "show device state, or DMA mappings",
	  1, 2, cmd_dump },
	{ "events", "events [SINCE]", "the events after sequence number SINCE (default 0)",
	  0, 1, cmd_events },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const Cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static void cmd_help(FvControl *c, int argc, char **argv, const char *rest, FILE *out)
{
	(void)c;
	(void)argc;
	(void)argv;
	(void)rest;
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(out, "%-56s %s\n", cmds[i].usage, cmds[i].help);
	ok(out);
}

/* Execute len bytes of line (no newline). */
static void exec_line(FvControl *c, const char *line, size_t len, FILE *out)
{
	char *copy, *argv[MAX_WORDS + 1];
	const Cmd *cmd;
	size_t i;
	int argc = 0;

	if (len && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if ((ch < ' ' && ch != '\t') || ch >= 0x7f) {
			fail(out, EINVAL, "non-printable byte 0x%02x at column %zu "
			     "(requests are lines of text)", ch, i + 1);
			return;
		}
	}
	/* Words, and the rest of the line after the command word. */
	copy = malloc(2 * len + 2);
	if (!copy) {
		fail(out, ENOMEM, "out of memory");
		return;
	}
	memcpy(copy, line, len);
	copy[len] = '\0';
	memcpy(copy + len + 1, line, len);
	copy[2 * len + 1] = '\0';
	for (i = 0; i < len;) {
		while (i < len && (copy[i] == ' ' || copy[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (argc == MAX_WORDS) {
			fail(out, E2BIG, "more than %d words", MAX_WORDS);
			free(copy);
			return;
		}
		argv[argc++] = copy + i;
		while (i < len && copy[i] != ' ' && copy[i] != '\t')
			i++;
		copy[i++] = '\0';
	}
	if (!argc) {
		free(copy);
		return;
	}
	/* argv[argc]: the raw line, so that handlers can find columns. */
	argv[argc] = copy + len + 1;
	cmd = find_cmd(argv[0]);
	if (!cmd) {
		fail(out, EINVAL, "unknown command '%s' (try 'help')", argv[0]);
	} else if (argc - 1 < cmd->min || argc - 1 > cmd->max) {
		fail(out, EINVAL, "usage: %s", cmd->usage);
	} else {
		const char *rest = argv[argc] + (argv[0] - copy) + strlen(argv[0]);

		cmd->fn(c, argc, argv, rest, out);
	}
	free(copy);
}

void fv_control_exec(FvControl *c, const char *line, FILE *out)
{
	exec_line(c, line, strlen(line), out);
}

void fv_control_format_mapping(FILE *out, unsigned container, const FvType1Mapping *m)
{
	fprintf(out, "container=%u iova=0x%" PRIx64 " size=0x%" PRIx64 " vaddr=0x%" PRIx64
		" pid=%d prot=%s%s%s\n", container, m->iova, m->size, m->vaddr, (int)m->pid,
		m->prot & VFIO_DMA_MAP_FLAG_READ ? "r" : "",
		m->prot & VFIO_DMA_MAP_FLAG_WRITE ? "w" : "",
		m->vaddr_invalid ? " vaddr_invalid=1" : "");
}

/* ---- the server ------------------------------------------------------- */

FvControl *fv_control_new(const FvControlConfig *cfg, Error **errp)
{
	FvControl *c = calloc(1, sizeof(*c));

	if (!c) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	c->m = cfg->machine;
	c->events = cfg->events;
	c->faults = cfg->faults;
	c->ops = cfg->ops;
	c->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake < 0) {
		error_setg_errno(errp, errno, "cannot create the control socket's eventfd");
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void wake(FvControl *c)
{
	uint64_t one = 1;
	ssize_t n = write(c->wake, &one, sizeof(one));

	(void)n;	/* EAGAIN: the counter is non-zero, the thread wakes anyway */
}

static void client_free(Client *cl)
{
	close(cl->fd);
	free(cl->out);
	free(cl);
}

void fv_control_free(FvControl *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_mutex_unlock(&c->lock);
		wake(c);
		pthread_join(c->thread, NULL);
	}
	for (unsigned i = 0; i < c->nclients; i++)
		client_free(c->clients[i]);
	for (unsigned i = 0; i < c->nlisteners; i++)
		close(c->listeners[i]);
	for (unsigned i = 0; i < c->npending; i++)
		close(c->pending[i]);
	free(c->clients);
	free(c->listeners);
	free(c->pending);
	close(c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void fv_control_set_ops(FvControl *c, const FvControlOps *ops)
{
	pthread_mutex_lock(&c->lock);
	c->ops = *ops;
	pthread_mutex_unlock(&c->lock);
}

/* Hand fd to the control thread in list *v (closed on failure). */
static bool push_fd(FvControl *c, int **v, unsigned *n, int fd, Error **errp)
{
	int *nv;

	pthread_mutex_lock(&c->lock);
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (nv) {
		*v = nv;
		nv[(*n)++] = fd;
	}
	pthread_mutex_unlock(&c->lock);
	if (!nv) {
		close(fd);
		error_setg(errp, "out of memory");
		return false;
	}
	wake(c);
	return true;
}

bool fv_control_listen(FvControl *c, const char *path, Error **errp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		error_setg(errp, "control socket path too long: %s", path);
		return false;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		error_setg_errno(errp, errno, "cannot create the control socket");
		return false;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		error_setg_errno(errp, errno, "cannot listen on %s", path);
		close(fd);
		return false;
	}
	return push_fd(c, &c->listeners, &c->nlisteners, fd, errp);
}

bool fv_control_add_client(FvControl *c, int fd, Error **errp)
{
	return push_fd(c, &c->pending, &c->npending, fd, errp);
}

static void out_append(Client *cl, const char *s, size_t len)
{
	if (cl->out_off && cl->out_off == cl->out_len)
		cl->out_off = cl->out_len = 0;
	if (cl->out_len + len > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		char *n;

		/* Reclaim what was sent before growing. */
		if (cl->out_off) {
			memmove(cl->out, cl->out + cl->out_off, cl->out_len - cl->out_off);
			cl->out_len -= cl->out_off;
			cl->out_off = 0;
		}
		while (cap < cl->out_len + len)
			cap *= 2;
		if (cap > cl->out_cap) {
			n = realloc(cl->out, cap);
			if (!n) {
				cl->dead = true;
				return;
			}
			cl->out = n;
			cl->out_cap = cap;
		}
	}
	memcpy(cl->out + cl->out_len, s, len);
	cl->out_len += len;
}

static size_t out_pending(const Client *cl)
{
	return cl->out_len - cl->out_off;
}

static void client_exec(FvControl *c, Client *cl, const char *line, size_t len)
{
	static const char nomem[] = "error ENOMEM out of memory\n";
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);

	if (!f) {
		out_append(cl, nomem, sizeof(nomem) - 1);
		return;
	}
	exec_line(c, line, len, f);
	if (fclose(f))
		out_append(cl, nomem, sizeof(nomem) - 1);
	else
		out_append(cl, text, tlen);
	free(text);
}

/* Run the complete lines in the input buffer while output has room. */
static void client_lines(FvControl *c, Client *cl)
{
	size_t start = 0;

	while (!cl->dead && out_pending(cl) < FV_CONTROL_OUT_MAX) {
		char *nl = memchr(cl->in + start, '\n', cl->in_len - start);

		if (!nl)
			break;
		if (cl->discarding)
			cl->discarding = false;
		else
			client_exec(c, cl, cl->in + start, (size_t)(nl - cl->in) - start);
		start = (size_t)(nl - cl->in) + 1;
	}
	memmove(cl->in, cl->in + start, cl->in_len - start);
	cl->in_len -= start;
	if (cl->discarding && !memchr(cl->in, '\n', cl->in_len)) {
		cl->in_len = 0;		/* more of the overlong line */
	} else if (cl->in_len == sizeof(cl->in) && !memchr(cl->in, '\n', cl->in_len)) {
		char msg[96];
		int n = snprintf(msg, sizeof(msg),
				 "error E2BIG request line longer than %d bytes\n",
				 FV_CONTROL_LINE_MAX);

		out_append(cl, msg, (size_t)n);
		cl->discarding = true;
		cl->in_len = 0;
	}
	/* The peer is done: a last line without a newline still counts. */
	if (cl->eof && cl->in_len && !memchr(cl->in, '\n', cl->in_len) &&
	    out_pending(cl) < FV_CONTROL_OUT_MAX) {
		if (!cl->discarding)
			client_exec(c, cl, cl->in, cl->in_len);
		cl->in_len = 0;
	}
}

static void client_read(FvControl *c, Client *cl)
{
	ssize_t n;

	if (cl->eof || cl->in_len == sizeof(cl->in))
		return;
	n = recv(cl->fd, cl->in + cl->in_len, sizeof(cl->in) - cl->in_len, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			cl->dead = true;
		return;
	}
	if (n == 0)
		cl->eof = true;
	cl->in_len += (size_t)n;
	client_lines(c, cl);
}

static void client_write(Client *cl)
{
	while (out_pending(cl) && !cl->dead) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, out_pending(cl),
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cl->dead = true;
			return;
		}
		cl->out_off += (size_t)n;
	}
}

static void client_add(FvControl *c, int fd)
{
	static const char busy[] = "error EMFILE too many control clients\n";
	Client *cl, **nv;

	if (c->nclients >= FV_CONTROL_MAX_CLIENTS) {
		ssize_t n = send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);

		(void)n;
		close(fd);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	nv = realloc(c->clients, (c->nclients + 1) * sizeof(*nv));
	if (nv)
		c->clients = nv;
	if (!cl || !nv) {
		free(cl);
		close(fd);
		return;
	}
	cl->fd = fd;
	c->clients[c->nclients++] = cl;
}

static void accept_all(FvControl *c, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;		/* EAGAIN, or out of descriptors: try later */
		}
		client_add(c, fd);
	}
}

static void *serve(void *opaque)
{
	FvControl *c = opaque;
	struct pollfd *pfd = NULL;
	int *lfds = NULL;
	unsigned nl = 0;

	for (;;) {
		unsigned np, i;
		struct pollfd *np_pfd;
		int *nlfds;
		bool stop;

		/* Take what the other threads handed over. */
		pthread_mutex_lock(&c->lock);
		stop = c->stop;
		for (i = 0; i < c->npending; i++)
			client_add(c, c->pending[i]);
		c->npending = 0;
		nlfds = realloc(lfds, (c->nlisteners + 1) * sizeof(*nlfds));
		if (nlfds) {
			lfds = nlfds;
			if (c->nlisteners)
				memcpy(lfds, c->listeners, c->nlisteners * sizeof(*lfds));
			nl = c->nlisteners;
		}
		pthread_mutex_unlock(&c->lock);
		if (stop)
			break;

		np = 1 + nl + c->nclients;
		np_pfd = realloc(pfd, np * sizeof(*pfd));
		if (!np_pfd) {
			/* Out of memory: wait a little and retry. */
			poll(NULL, 0, 100);
			continue;
		}
		pfd = np_pfd;
		pfd[0] = (struct pollfd){ c->wake, POLLIN, 0 };
		for (i = 0; i < nl; i++)
			pfd[1 + i] = (struct pollfd){ lfds[i], POLLIN, 0 };
		for (i = 0; i < c->nclients; i++) {
			Client *cl = c->clients[i];
			short ev = 0;

			if (!cl->eof && cl->in_len < sizeof(cl->in) &&
			    out_pending(cl) < FV_CONTROL_OUT_MAX)
				ev |= POLLIN;
			if (out_pending(cl))
				ev |= POLLOUT;
			pfd[1 + nl + i] = (struct pollfd){ cl->fd, ev, 0 };
		}
		if (poll(pfd, np, -1) < 0)
			continue;	/* EINTR */
		if (pfd[0].revents & POLLIN) {
			uint64_t v;
			ssize_t n = read(c->wake, &v, sizeof(v));

			(void)n;
		}
		for (i = 0; i < nl; i++)
			if (pfd[1 + i].revents & POLLIN)
				accept_all(c, lfds[i]);
		/* Clients accepted just now are polled next time round. */
		for (i = 0; i < np - 1 - nl; i++) {
			Client *cl = c->clients[i];
			short rev = pfd[1 + nl + i].revents;

			if (rev & POLLOUT)
				client_write(cl);
			if (rev & (POLLIN | POLLHUP | POLLERR))
				client_read(c, cl);
			/* Output drained: lines waiting in the buffer may run. */
			client_lines(c, cl);
			client_write(cl);
			if (rev & POLLNVAL)
				cl->dead = true;
		}
		/* Drop dead clients and those with nothing left to do. */
		for (i = 0; i < c->nclients;) {
			Client *cl = c->clients[i];

			if (cl->dead || (cl->eof && !cl->in_len && !out_pending(cl))) {
				client_free(cl);
				c->clients[i] = c->clients[--c->nclients];
			} else {
				i++;
			}
		}
	}
	free(pfd);
	free(lfds);
	return NULL;
}

bool fv_control_start(FvControl *c, Error **errp)
{
	int err = pthread_create(&c->thread, NULL, serve, c);

	if (err) {
		error_setg_errno(errp, err, "cannot start the control socket thread");
		return false;
	}
	c->started = true;
	return true;
}

int fv_control_private_dir(const char *cover, Error **errp)
{
	int fd, err;

	if (mount("fakevfio-control", cover, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0700") < 0) {
		error_setg_errno(errp, errno, "cannot mount a tmpfs for the control socket");
		return -1;
	}
	fd = open(cover, O_PATH | O_DIRECTORY | O_CLOEXEC);
	err = errno;
	/* Detach it even when the open failed: cover must be uncovered. */
	if (umount2(cover, MNT_DETACH) < 0) {
		if (fd >= 0) {
			error_setg_errno(errp, errno, "cannot detach the control socket's tmpfs");
			close(fd);
		} else {
			error_setg_errno(errp, err, "cannot open the control socket's directory");
		}
		return -1;
	}
	if (fd < 0)
		error_setg_errno(errp, err, "cannot open the control socket's directory");
	return fd;
}

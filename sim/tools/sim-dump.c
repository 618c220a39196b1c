/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-dump: instantiate simulated PCI devices and print what a host would
 * see of them: published IDs, BARs, the capability walk in chain order
 * with the main fields decoded, and the raw config space.
 */
#include <getopt.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

static const char usage[] =
	"Usage: sim-dump [OPTIONS] MODEL[:KEY=VAL,...]...\n"
	"       sim-dump --all\n"
	"       sim-dump --list\n"
	"\n"
	"Instantiate simulated PCI devices and print their published IDs, BARs,\n"
	"capability walk (in chain order, main fields decoded) and config space.\n"
	"\n"
	"Options:\n"
	"  -a, --all        every bundled model that needs no parameters\n"
	"  -l, --list       list the models and their parameters\n"
	"  -x, --hex=N      config bytes to dump: 0 (none), 64, 256 (default) or 4096\n"
	"  -h, --help       this help\n"
	"\n"
	"Exit status: 0 on success, 1 if a device could not be created, 2 on bad usage.\n"
	"Example: sim-dump chelsio-t5-vf:device_id=0x5810,pba_erratum=off\n";

static const char *cap_name(unsigned id)
{
	switch (id) {
	case PCI_CAP_ID_PM: return "Power Management";
	case PCI_CAP_ID_MSI: return "MSI";
	case PCI_CAP_ID_VNDR: return "Vendor Specific";
	case PCI_CAP_ID_EXP: return "PCI Express";
	case PCI_CAP_ID_MSIX: return "MSI-X";
	case PCI_CAP_ID_AF: return "Advanced Features";
	case PCI_CAP_ID_VPD: return "VPD";
	case PCI_CAP_ID_PCIX: return "PCI-X";
	default: return "unknown";
	}
}

static const char *ecap_name(unsigned id)
{
	switch (id) {
	case PCI_EXT_CAP_ID_ERR: return "Advanced Error Reporting";
	case PCI_EXT_CAP_ID_ARI: return "Alternative Routing-ID";
	case PCI_EXT_CAP_ID_TPH: return "TPH Requester";
	case PCI_EXT_CAP_ID_DSN: return "Device Serial Number";
	case PCI_EXT_CAP_ID_SRIOV: return "SR-IOV";
	case PCI_EXT_CAP_ID_ACS: return "Access Control Services";
	case PCI_EXT_CAP_ID_VNDR: return "Vendor Specific";
	default: return "unknown";
	}
}

static uint32_t rd(SimDevice *dev, unsigned off, unsigned len)
{
	uint32_t v = 0;

	if (sim_cfg_read(dev, off, len, &v))
		return 0;
	return v;
}

static void print_pcie(SimDevice *dev, unsigned off)
{
	static const char *const types[] = {
		"Endpoint", "Legacy Endpoint", "?", "?", "Root Port", "Upstream Port",
		"Downstream Port", "PCI/PCI-X Bridge", "PCI/PCI-X to PCIe Bridge",
		"Root Complex Integrated Endpoint", "Root Complex Event Collector",
	};
	uint16_t fl = (uint16_t)rd(dev, off + PCI_EXP_FLAGS, 2);
	unsigned type = (fl & PCI_EXP_FLAGS_TYPE) >> 4;
	uint32_t devcap = rd(dev, off + PCI_EXP_DEVCAP, 4);
	uint16_t devctl = (uint16_t)rd(dev, off + PCI_EXP_DEVCTL, 2);
	uint32_t lnkcap = rd(dev, off + PCI_EXP_LNKCAP, 4);
	uint16_t lnksta = (uint16_t)rd(dev, off + PCI_EXP_LNKSTA, 2);

	printf(" v%u %s\n", fl & PCI_EXP_FLAGS_VERS,
	       type < sizeof(types) / sizeof(types[0]) ? types[type] : "?");
	printf("        DevCap: MaxPayload %u bytes%s\n",
	       128u << (devcap & PCI_EXP_DEVCAP_PAYLOAD),
	       devcap & PCI_EXP_DEVCAP_FLR ? ", FLReset+" : ", FLReset-");
	printf("        DevCtl: MaxPayload %u bytes, MaxReadReq %u bytes, RlxdOrd%c NoSnoop%c\n",
	       128u << ((devctl & PCI_EXP_DEVCTL_PAYLOAD) >> 5),
	       128u << ((devctl & PCI_EXP_DEVCTL_READRQ) >> 12),
	       devctl & PCI_EXP_DEVCTL_RELAX_EN ? '+' : '-',
	       devctl & PCI_EXP_DEVCTL_NOSNOOP_EN ? '+' : '-');
	printf("        LnkCap: Speed code %u, Width x%u, ASPM support %u; LnkSta: Speed code %u, Width x%u\n",
	       lnkcap & PCI_EXP_LNKCAP_SLS, (lnkcap & PCI_EXP_LNKCAP_MLW) >> 4,
	       (lnkcap & PCI_EXP_LNKCAP_ASPMS) >> 10, lnksta & PCI_EXP_LNKSTA_CLS,
	       (lnksta & PCI_EXP_LNKSTA_NLW) >> 4);
}

static void print_msi(SimDevice *dev, unsigned off)
{
	uint16_t fl = (uint16_t)rd(dev, off + PCI_MSI_FLAGS, 2);

	printf(": Count %u/%u, 64-bit%c, Maskable%c, Enable%c\n",
	       1u << ((fl & PCI_MSI_FLAGS_QSIZE) >> 4), 1u << ((fl & PCI_MSI_FLAGS_QMASK) >> 1),
	       fl & PCI_MSI_FLAGS_64BIT ? '+' : '-', fl & PCI_MSI_FLAGS_MASKBIT ? '+' : '-',
	       fl & PCI_MSI_FLAGS_ENABLE ? '+' : '-');
}

static void print_msix(SimDevice *dev, unsigned off)
{
	uint16_t fl = (uint16_t)rd(dev, off + PCI_MSIX_FLAGS, 2);
	uint32_t t = rd(dev, off + PCI_MSIX_TABLE, 4), p = rd(dev, off + PCI_MSIX_PBA, 4);
	SimBarInfo bi;
	uint32_t poff = p & PCI_MSIX_PBA_OFFSET;
	unsigned pbir = p & PCI_MSIX_PBA_BIR;

	printf(": Table size %u, Enable%c, Masked%c\n", (fl & PCI_MSIX_FLAGS_QSIZE) + 1,
	       fl & PCI_MSIX_FLAGS_ENABLE ? '+' : '-', fl & PCI_MSIX_FLAGS_MASKALL ? '+' : '-');
	printf("        Vector table: BAR=%u offset=0x%08x\n", t & PCI_MSIX_TABLE_BIR,
	       t & PCI_MSIX_TABLE_OFFSET);
	printf("        PBA: BAR=%u offset=0x%08x", pbir, poff);
	if (sim_bar_info(dev, pbir, &bi) && poff >= bi.size)
		printf("  <-- outside BAR%u (0x%llx bytes)", pbir, (unsigned long long)bi.size);
	printf("\n");
}

static void print_caps(SimDevice *dev)
{
	unsigned off, n = 0;

	if (!(rd(dev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) {
		printf("    Capabilities: none\n");
	} else {
		for (off = rd(dev, PCI_CAPABILITY_LIST, 1) & ~3u; off >= 0x40 && n < 48; n++) {
			unsigned id = rd(dev, off, 1);

			printf("    Capabilities: [%02x] %s (0x%02x)", off, cap_name(id), id);
			if (id == PCI_CAP_ID_EXP)
				print_pcie(dev, off);
			else if (id == PCI_CAP_ID_MSI)
				print_msi(dev, off);
			else if (id == PCI_CAP_ID_MSIX)
				print_msix(dev, off);
			else
				printf("\n");
			off = rd(dev, off + 1, 1) & ~3u;
		}
	}
	if (sim_device_cfg_size(dev) < 4096)
		return;
	off = 0x100;
	for (n = 0; off >= 0x100 && off < 4096 && n < 1024; n++) {
		uint32_t h = rd(dev, off, 4);

		if (!h)
			break;
		printf("    Capabilities: [%03x] %s (0x%04x) v%u\n", off,
		       ecap_name(PCI_EXT_CAP_ID(h)), PCI_EXT_CAP_ID(h), PCI_EXT_CAP_VER(h));
		off = PCI_EXT_CAP_NEXT(h);
	}
}

static void print_bars(SimDevice *dev)
{
	static const char *const kind[] = { "none", "I/O", "Memory 32-bit", "Memory 64-bit" };

	for (unsigned i = 0; i <= SIM_NUM_BARS; i++) {
		SimBarInfo bi;

		if (!sim_bar_info(dev, i, &bi))
			continue;
		if (i == SIM_ROM_SLOT)
			printf("    Expansion ROM: size 0x%llx\n", (unsigned long long)bi.size);
		else
			printf("    BAR%u: %s%s, size 0x%llx\n", i, kind[bi.type],
			       bi.prefetch ? ", prefetchable" : "", (unsigned long long)bi.size);
	}
}

static void hexdump(SimDevice *dev, unsigned len)
{
	uint8_t buf[4096];

	if (len > sim_device_cfg_size(dev))
		len = sim_device_cfg_size(dev);
	if (sim_cfg_read_buf(dev, 0, buf, len))
		return;
	for (unsigned off = 0; off < len; off += 16) {
		bool zero = true;

		for (unsigned i = 0; i < 16; i++)
			zero &= buf[off + i] == 0;
		if (zero && off >= 256)
			continue;	/* lspci -xxxx prints every line; we skip empty ext lines */
		printf("%03x:", off);
		for (unsigned i = 0; i < 16; i++)
			printf(" %02x", buf[off + i]);
		printf("\n");
	}
}

static int dump_one(const char *spec, unsigned slot, unsigned hex)
{
	char *model = strdup(spec), *params, name[32];
	Error *err = NULL;
	SimDevice *dev;
	SimIds ids;

	if (!model)
		return 1;
	params = strchr(model, ':');
	if (params)
		*params++ = '\0';
	snprintf(name, sizeof(name), "0000:00:%02x.0", slot);
	dev = sim_model_create(model, name, params, &err);
	if (!dev) {
		fprintf(stderr, "sim-dump: %s: %s\n", spec, error_get_pretty(err));
		error_free(err);
		free(model);
		return 1;
	}
	ids = sim_device_ids(dev);
	printf("%s %s%s%s\n", name, model, params ? " " : "", params ? params : "");
	printf("    IDs (as published): %04x:%04x subsystem %04x:%04x class %06x rev %02x%s\n",
	       ids.vendor, ids.device, ids.subsystem_vendor, ids.subsystem_device,
	       ids.class_code, ids.revision, sim_device_is_vf(dev) ? "  [SR-IOV VF]" : "");
	printf("    Raw ID register: %08x, config space %u bytes, interrupt pin %u\n",
	       rd(dev, PCI_VENDOR_ID, 4), sim_device_cfg_size(dev), rd(dev, PCI_INTERRUPT_PIN, 1));
	print_bars(dev);
	print_caps(dev);
	if (hex)
		hexdump(dev, hex);
	printf("\n");
	sim_device_free(dev);
	free(model);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "list", no_argument, NULL, 'l' },
		{ "hex", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const SimModel *const *models = sim_models();
	bool all = false, list = false;
	unsigned hex = 256, slot = 1;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "alx:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'l':
			list = true;
			break;
		case 'x':
			if (strcmp(optarg, "0") && strcmp(optarg, "64") &&
			    strcmp(optarg, "256") && strcmp(optarg, "4096")) {
				fprintf(stderr, "sim-dump: --hex takes 0, 64, 256 or 4096, not '%s'\n", optarg);
				return 2;
			}
			hex = (unsigned)atoi(optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs("Try 'sim-dump --help'.\n", stderr);
			return 2;
		}
	}
	if (list) {
		for (unsigned i = 0; models[i]; i++) {
			const char *p = models[i]->params_help;

			printf("%-16s %s\n", models[i]->name, models[i]->summary);
			/* One parameter per line, indented under the model. */
			while (*p) {
				size_t n = strcspn(p, "\n");

				printf("    %.*s\n", (int)n, p);
				p += n + (p[n] == '\n');
			}
		}
		return 0;
	}
	if (!all && optind == argc) {
		fputs("sim-dump: name a model, or use --all or --list (try --help)\n", stderr);
		return 2;
	}
	if (all) {
		for (unsigned i = 0; models[i]; i++) {
			/* Models that need parameters (a profile file) are skipped. */
			if (strstr(models[i]->params_help, "(required)"))
				continue;
			rc |= dump_one(models[i]->name, slot++, hex);
		}
	}
	for (int i = optind; i < argc; i++)
		rc |= dump_one(argv[i], slot++, hex);
	return rc;
}

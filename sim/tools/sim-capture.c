/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-capture: write a device profile (docs/profile-format.md) of a real
 * PCI device from its sysfs files, for the simulator's "profile" model.
 *
 * Exit status: 0 success, 1 failure (no such device, unreadable files,
 * cannot write), 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bdf.h"
#include "sim/profile.h"

#define PROG "sim-capture"
#define DEFAULT_SYSFS "/sys/bus/pci/devices"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [-o FILE] [--sysfs DIR] BDF\n"
		"Capture the PCI device BDF (DDDD:BB:DD.F, or BB:DD.F for domain 0000)\n"
		"into a device profile for the simulator's \"profile\" model.\n"
		"\n"
		"  -o, --output FILE  write the profile to FILE (default: standard output)\n"
		"      --sysfs DIR    the directory holding the devices (default: " DEFAULT_SYSFS ")\n"
		"  -h, --help         show this help\n"
		"\n"
		"Reads DIR/BDF/{config,resource,vendor,device,subsystem_vendor,\n"
		"subsystem_device,class,revision}.  Only root can read config space past the\n"
		"64-byte header: run as root for a faithful copy.\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n"
		"The format is described in docs/profile-format.md.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "sysfs", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL, *sysfs = DEFAULT_SYSFS;
	char bdf[32], dir[PATH_MAX];
	SimCaptureInfo info;
	Error *err = NULL;
	char *text = NULL;
	size_t text_len = 0;
	struct stat st;
	FILE *mem, *f;
	SimProfile *prof;
	int c;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 's':
			sysfs = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, PROG ": %s\nTry '" PROG " --help'.\n",
			optind == argc ? "missing BDF" : "more than one BDF");
		return 2;
	}
	if (!bdf_parse(argv[optind], bdf, NULL, NULL, NULL, NULL, &err)) {
		error_report_err(PROG, err);
		return 2;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", sysfs, bdf) >= sizeof(dir)) {
		fprintf(stderr, PROG ": --sysfs path too long\n");
		return 2;
	}
	if (stat(dir, &st)) {
		if (errno == ENOENT)
			fprintf(stderr, PROG ": no PCI device %s in %s\n", bdf, sysfs);
		else
			fprintf(stderr, PROG ": %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, PROG ": %s is not a device directory\n", dir);
		return 1;
	}

	/* Capture into memory, check that it loads, then write it out. */
	mem = open_memstream(&text, &text_len);
	if (!mem) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (!sim_profile_capture(dir, mem, &info, &err)) {
		fclose(mem);
		free(text);
		error_report_err(PROG, err);
		return 1;
	}
	fclose(mem);
	if (info.cfg_read < info.cfg_size)
		fprintf(stderr, PROG ": warning: %s: only %u of %u config bytes readable "
			"(reading past the 64-byte header needs root); the profile lacks the "
			"capabilities\n", bdf, info.cfg_read, info.cfg_size);
	mem = fmemopen(text, text_len, "r");
	prof = mem ? sim_profile_parse_stream(mem, output ? output : "(stdout)", &err) : NULL;
	if (mem)
		fclose(mem);
	if (prof) {
		SimDevice *dev = sim_profile_create(prof, bdf, &err);

		sim_device_free(dev);
		sim_profile_free(prof);
	}
	if (err) {
		fprintf(stderr, PROG ": warning: the profile of %s will not load as it is: %s\n",
			bdf, error_get_pretty(err));
		error_free(err);
		err = NULL;
	}

	f = output ? fopen(output, "w") : stdout;
	if (!f) {
		fprintf(stderr, PROG ": %s: cannot write: %s\n", output, strerror(errno));
		free(text);
		return 1;
	}
	c = fwrite(text, 1, text_len, f) != text_len || fflush(f);
	if ((output && fclose(f)) || c) {
		fprintf(stderr, PROG ": %s: write failed: %s\n", output ? output : "(stdout)",
			strerror(errno));
		if (output)
			unlink(output);
		free(text);
		return 1;
	}
	free(text);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim/capture.c: turn a real PCI device's sysfs files into a profile
 * (docs/profile-format.md) that the "profile" model serves.
 *
 * Read: config (as much as the kernel lets us: root reads the whole config
 * space, anyone else the 64-byte header), resource, vendor, device,
 * subsystem_vendor, subsystem_device, class, revision, and the physfn link
 * that marks an SR-IOV VF.  The profile keeps the config bytes verbatim
 * and the resource table verbatim, so the simulated copy reads like the
 * original.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/hex.h"
#include "profile.h"

enum {
	RESOURCE_MAX = 16384,	/* bytes of a sysfs resource file we accept */
	RESOURCE_LINES_MAX = 64,
	ATTR_MAX = 64,		/* bytes of a one-number attribute */
};

/* Read at most max bytes of dir/name; *len gets the count.  -errno on error. */
static int read_file(const char *dir, const char *name, void *buf, size_t max,
		     size_t *len, off_t *st_size)
{
	char path[PATH_MAX];
	struct stat st;
	size_t n = 0;
	int fd, err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (st_size)
		*st_size = fstat(fd, &st) ? 0 : st.st_size;
	while (n < max) {
		ssize_t r = pread(fd, (char *)buf + n, max - n, (off_t)n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			close(fd);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return 0;
}

/*
 * A sysfs attribute holding one hex number ("0x8086\n").  Returns 1 when
 * read, 0 when the file does not exist and optional, else false via errp.
 */
static int read_hex_attr(const char *dir, const char *name, uint64_t max,
			 bool optional, uint64_t *out, Error **errp)
{
	char buf[ATTR_MAX + 1], *end;
	size_t len;
	int r = read_file(dir, name, buf, ATTR_MAX, &len, NULL);

	if (r == -ENOENT && optional)
		return 0;
	if (r < 0) {
		error_setg_errno(errp, -r, "%s/%s: cannot read", dir, name);
		return -1;
	}
	buf[len] = 0;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = 0;
	errno = 0;
	*out = strtoull(buf, &end, 16);
	if (strncmp(buf, "0x", 2) || !buf[2] || *end || errno || *out > max) {
		error_setg(errp, "%s/%s: expected a hex number like 0x%llx, got '%s'",
			   dir, name, (unsigned long long)max, buf);
		return -1;
	}
	return 1;
}

/* "0x" and 1..16 hex digits at *s, then a space (or the end if last). */
static bool hex_field(const char **s, bool last)
{
	const char *c = *s;
	unsigned n = 0;

	if (c[0] != '0' || c[1] != 'x')
		return false;
	for (c += 2; hex_digit(*c) >= 0; c++)
		n++;
	if (!n || n > 16 || (last ? *c != 0 : *c != ' '))
		return false;
	*s = c + !last;
	return true;
}

/* Check that each line of the resource table is "0xSTART 0xEND 0xFLAGS". */
static bool check_resource(const char *dir, char *text, unsigned *nlines,
			   Error **errp)
{
	unsigned n = 0;

	for (char *line = text; *line; n++) {
		char *nl = strchr(line, '\n');
		const char *s = line;

		if (n == RESOURCE_LINES_MAX) {
			error_setg(errp, "%s/resource: more than %u lines", dir, RESOURCE_LINES_MAX);
			return false;
		}
		if (!nl) {
			error_setg(errp, "%s/resource: line %u is not terminated", dir, n + 1);
			return false;
		}
		*nl = 0;
		if (!hex_field(&s, false) || !hex_field(&s, false) || !hex_field(&s, true)) {
			error_setg(errp, "%s/resource: line %u is '%s': expected '0xSTART 0xEND 0xFLAGS'",
				   dir, n + 1, line);
			return false;
		}
		*nl = '\n';
		line = nl + 1;
	}
	if (n < SIM_NUM_BARS + 1) {
		error_setg(errp, "%s/resource: %u lines: expected at least 7 (BAR0..BAR5 and the ROM)",
			   dir, n);
		return false;
	}
	*nlines = n;
	return true;
}

static const char *base_name(const char *path, char *buf, size_t size)
{
	size_t len = strlen(path);
	const char *s;

	while (len > 1 && path[len - 1] == '/')
		len--;
	s = path + len;
	while (s > path && s[-1] != '/')
		s--;
	snprintf(buf, size, "%.*s", (int)(path + len - s), s);
	return buf;
}

static bool row_empty(const uint8_t *cfg, unsigned off, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (cfg[off + i])
			return false;
	return true;
}

bool sim_profile_capture(const char *dev_dir, FILE *out, SimCaptureInfo *info,
			 Error **errp)
{
	static const struct {
		const char *name;
		uint64_t max;
		bool optional;
	} attrs[] = {
		{ "vendor", 0xffff, false },
		{ "device", 0xffff, false },
		{ "subsystem_vendor", 0xffff, true },
		{ "subsystem_device", 0xffff, true },
		{ "class", 0xffffff, false },
		{ "revision", 0xff, true },
	};
	uint8_t cfg[SIM_CFG_SIZE_PCIE] = { 0 };
	char res[RESOURCE_MAX + 1], bdf[256], link[PATH_MAX], driver[256] = "";
	uint64_t vals[6];
	int have[6];
	size_t cfg_len, res_len;
	off_t cfg_st;
	unsigned cfg_size, nres;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	struct stat st;
	bool vf;
	int r;

	/* config: everything readable, the device's size from the file's */
	r = read_file(dev_dir, "config", cfg, sizeof(cfg), &cfg_len, &cfg_st);
	if (r < 0) {
		error_setg_errno(errp, -r, "%s/config: cannot read", dev_dir);
		return false;
	}
	if (cfg_len < PCI_STD_HEADER_SIZEOF) {
		error_setg(errp, "%s/config: only %zu bytes: expected at least the %u-byte header",
			   dev_dir, cfg_len, PCI_STD_HEADER_SIZEOF);
		return false;
	}
	cfg_size = cfg_len > SIM_CFG_SIZE_PCI || cfg_st > SIM_CFG_SIZE_PCI ?
		   SIM_CFG_SIZE_PCIE : SIM_CFG_SIZE_PCI;

	r = read_file(dev_dir, "resource", res, RESOURCE_MAX + 1, &res_len, NULL);
	if (r < 0) {
		error_setg_errno(errp, -r, "%s/resource: cannot read", dev_dir);
		return false;
	}
	if (res_len > RESOURCE_MAX) {
		error_setg(errp, "%s/resource: larger than %u bytes", dev_dir, RESOURCE_MAX);
		return false;
	}
	res[res_len] = 0;
	if (!check_resource(dev_dir, res, &nres, errp))
		return false;

	for (unsigned i = 0; i < 6; i++) {
		have[i] = read_hex_attr(dev_dir, attrs[i].name, attrs[i].max,
					attrs[i].optional, &vals[i], errp);
		if (have[i] < 0)
			return false;
	}
	vf = (size_t)snprintf(link, sizeof(link), "%s/physfn", dev_dir) < sizeof(link) &&
	     !lstat(link, &st);
	if ((size_t)snprintf(link, sizeof(link), "%s/driver", dev_dir) < sizeof(link)) {
		char target[PATH_MAX];
		ssize_t n = readlink(link, target, sizeof(target) - 1);

		if (n > 0) {
			target[n] = 0;
			base_name(target, driver, sizeof(driver));
		}
	}
	base_name(dev_dir, bdf, sizeof(bdf));
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm);

	fprintf(out, "# Device profile captured by sim-capture (format: docs/profile-format.md)\n");
	fprintf(out, "# source: %s\n", dev_dir);
	fprintf(out, "# date:   %s\n", date);
	if (driver[0])
		fprintf(out, "# driver at capture time: %s\n", driver);
	if (cfg_len < cfg_size) {
		fprintf(out, "#\n# NOTE: only %zu of the %u config bytes could be read (reading past the\n"
			"# 64-byte header needs root).  The capabilities are missing; the rest of\n"
			"# config space reads 0.  Capture again as root for a faithful copy.\n",
			cfg_len, cfg_size);
	}
	fprintf(out, "\nprofile 1\n");
	fprintf(out, "name %s [%04llx:%04llx] class %06llx\n", bdf,
		(unsigned long long)vals[0], (unsigned long long)vals[1],
		(unsigned long long)vals[4]);
	fprintf(out, "config-size %u\n", cfg_size);
	if (vf)
		fprintf(out, "vf yes\n");
	fprintf(out, "\n# IDs as sysfs publishes them\n");
	for (unsigned i = 0; i < 6; i++) {
		if (have[i])
			fprintf(out, "%s 0x%0*llx\n", attrs[i].name,
				attrs[i].max == 0xffffff ? 6 : attrs[i].max == 0xff ? 2 : 4,
				(unsigned long long)vals[i]);
	}
	fprintf(out, "\n# sysfs resource, verbatim: BAR0..BAR5, the ROM%s\n",
		nres > SIM_NUM_BARS + 1 ? ", then lines the model ignores" : "");
	fprintf(out, "resource\n%send\n", res);
	fprintf(out, "\n# config space (%zu bytes read; rows of zeros after the header left out)\n",
		cfg_len);
	for (unsigned off = 0; off < cfg_len; off += 16) {
		unsigned n = cfg_len - off < 16 ? (unsigned)(cfg_len - off) : 16;

		if (off >= PCI_STD_HEADER_SIZEOF && row_empty(cfg, off, n))
			continue;
		fprintf(out, "config 0x%03x:", off);
		for (unsigned i = 0; i < n; i++)
			fprintf(out, " %02x", cfg[off + i]);
		fputc('\n', out);
	}
	if (fflush(out) || ferror(out)) {
		error_setg_errno(errp, errno ? errno : EIO, "writing the profile");
		return false;
	}
	if (info)
		*info = (SimCaptureInfo){ (unsigned)cfg_len, cfg_size, vf };
	return true;
}

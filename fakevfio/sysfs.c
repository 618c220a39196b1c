/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/sysfs.c: the fake /sys/bus/pci/devices/<bdf>/ files.
 *
 * Formats and rules follow drivers/pci/pci-sysfs.c (read for behaviour):
 * the ID files print "0x%04x\n" (class "0x%06x\n", revision "0x%02x\n"),
 * "resource" prints one "start end flags" line per resource of an endpoint
 * (PCI_BRIDGE_RESOURCES of them with CONFIG_PCI_IOV: 6 BARs, the ROM and
 * the 6 SR-IOV BARs), "config" reads at most the first 64 bytes (128 for a
 * CardBus bridge) unless the opener has CAP_SYS_ADMIN.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "sysfs.h"

/* IORESOURCE_* values of include/linux/ioport.h (kernel ABI in "resource"). */
enum {
	IORES_IO = 0x00000100,
	IORES_MEM = 0x00000200,
	IORES_PREFETCH = 0x00002000,
	IORES_READONLY = 0x00004000,
	IORES_SIZEALIGN = 0x00040000,
	IORES_MEM_64 = 0x00100000,
	IORES_ROM_ENABLE = 0x00000001,
};

const FvAttrDesc fv_sysfs_device_attrs[] = {
	{ "class", 0444, FV_ATTR_CLASS },
	{ "device", 0444, FV_ATTR_DEVICE },
	{ "irq", 0444, FV_ATTR_IRQ },
	{ "modalias", 0444, FV_ATTR_MODALIAS },
	{ "numa_node", 0644, FV_ATTR_NUMA_NODE },
	{ "resource", 0444, FV_ATTR_RESOURCE },
	{ "revision", 0444, FV_ATTR_REVISION },
	{ "subsystem_device", 0444, FV_ATTR_SUBSYSTEM_DEVICE },
	{ "subsystem_vendor", 0444, FV_ATTR_SUBSYSTEM_VENDOR },
	{ "vendor", 0444, FV_ATTR_VENDOR },
};
const unsigned fv_sysfs_n_device_attrs =
	sizeof(fv_sysfs_device_attrs) / sizeof(fv_sysfs_device_attrs[0]);

uint64_t fv_sysfs_resource_flags(FvDevice *dev, unsigned idx)
{
	SimBarInfo info;
	uint64_t flags;

	if (!sim_bar_info(dev->sim, idx, &info) || !info.size)
		return 0;
	if (idx == SIM_ROM_SLOT) {
		/* ROM_ENABLE: as the PCI core found the ROM at enumeration. */
		flags = IORES_MEM | IORES_PREFETCH | IORES_READONLY | IORES_SIZEALIGN;
		return dev->rom_enabled ? flags | IORES_ROM_ENABLE : flags;
	}
	if (info.type == SIM_BAR_IO)
		return IORES_IO | IORES_SIZEALIGN | PCI_BASE_ADDRESS_SPACE_IO;
	/* The low BAR bits (type, prefetchable) are kept in the flags. */
	flags = IORES_MEM | IORES_SIZEALIGN;
	if (info.type == SIM_BAR_MEM64)
		flags |= IORES_MEM_64 | PCI_BASE_ADDRESS_MEM_TYPE_64;
	if (info.prefetch)
		flags |= IORES_PREFETCH | PCI_BASE_ADDRESS_MEM_PREFETCH;
	return flags;
}

static size_t show_resource(FvDevice *dev, char *buf)
{
	size_t len = 0;

	for (unsigned i = 0; i < FV_SYSFS_RESOURCE_LINES; i++) {
		unsigned long long start = 0, end = 0, flags = 0;
		SimBarInfo info;

		if (i <= SIM_ROM_SLOT && sim_bar_info(dev->sim, i, &info) && info.size) {
			start = info.addr;
			end = info.addr + info.size - 1;
			flags = fv_sysfs_resource_flags(dev, i);
		}
		len += (size_t)snprintf(buf + len, FV_SYSFS_PAGE - len,
					"0x%016llx 0x%016llx 0x%016llx\n",
					start, end, flags);
	}
	return len;
}

size_t fv_sysfs_show(FvAttrId id, FvDevice *dev, char *buf)
{
	SimIds ids = sim_device_ids(dev->sim);
	int n = 0;

	switch (id) {
	case FV_ATTR_VENDOR:
		n = snprintf(buf, FV_SYSFS_PAGE, "0x%04x\n", ids.vendor);
		break;
	case FV_ATTR_DEVICE:
		n = snprintf(buf, FV_SYSFS_PAGE, "0x%04x\n", ids.device);
		break;
	case FV_ATTR_SUBSYSTEM_VENDOR:
		n = snprintf(buf, FV_SYSFS_PAGE, "0x%04x\n", ids.subsystem_vendor);
		break;
	case FV_ATTR_SUBSYSTEM_DEVICE:
		n = snprintf(buf, FV_SYSFS_PAGE, "0x%04x\n", ids.subsystem_device);
		break;
	case FV_ATTR_CLASS:
		n = snprintf(buf, FV_SYSFS_PAGE, "0x%06x\n", ids.class_code & 0xffffff);
		break;
	case FV_ATTR_REVISION:
		n = snprintf(buf, FV_SYSFS_PAGE, "0x%02x\n", ids.revision);
		break;
	case FV_ATTR_IRQ:
		n = snprintf(buf, FV_SYSFS_PAGE, "%u\n", dev->irq);
		break;
	case FV_ATTR_NUMA_NODE:
		n = snprintf(buf, FV_SYSFS_PAGE, "%d\n", atomic_load(&dev->numa_node));
		break;
	case FV_ATTR_MODALIAS:
		n = snprintf(buf, FV_SYSFS_PAGE,
			     "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n",
			     ids.vendor, ids.device, ids.subsystem_vendor,
			     ids.subsystem_device, (ids.class_code >> 16) & 0xff,
			     (ids.class_code >> 8) & 0xff, ids.class_code & 0xff);
		break;
	case FV_ATTR_RESOURCE:
		return show_resource(dev, buf);
	}
	return n > 0 ? (size_t)n : 0;
}

/* kstrtoint(buf, 0, ...): an optional sign, a C number, one optional '\n'. */
static int parse_int(const char *buf, size_t len, int *out)
{
	char tmp[64], *end;
	long v;

	if (len && buf[len - 1] == '\n')
		len--;
	if (!len || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, buf, len);
	tmp[len] = '\0';
	if (tmp[0] == ' ' || tmp[0] == '\t')
		return -EINVAL;
	errno = 0;
	v = strtol(tmp, &end, 0);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
		return -ERANGE;
	*out = (int)v;
	return 0;
}

ssize_t fv_sysfs_store(FvAttrId id, FvDevice *dev, const char *buf, size_t len,
		       bool admin)
{
	int node, err;

	/* Only numa_node is writable (fs.c opens no other for writing). */
	(void)id;
	/* numa_node_store: privilege first, then the number, then the node. */
	if (!admin)
		return -EPERM;
	err = parse_int(buf, len, &node);
	if (err)
		return err;
	/* The fake machine has one online node, 0. */
	if (node != -1 && node != 0)
		return -EINVAL;
	atomic_store(&dev->numa_node, node);
	return (ssize_t)len;
}

unsigned fv_sysfs_config_size(FvDevice *dev)
{
	return sim_device_cfg_size(dev->sim);
}

size_t fv_sysfs_config_read(FvDevice *dev, uint64_t off, void *buf, size_t len,
			    bool admin)
{
	/*
	 * "Several chips lock up trying to read undefined config space": 64
	 * bytes without CAP_SYS_ADMIN (the kernel's 128 for a CardBus bridge
	 * does not apply: the simulator has no CardBus header).
	 */
	uint64_t size = admin ? fv_sysfs_config_size(dev) : 64;

	if (off >= size)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	/* Within the config size the bus read cannot fail. */
	sim_cfg_read_buf(dev->sim, (unsigned)off, buf, len);
	return len;
}

size_t fv_sysfs_config_write(FvDevice *dev, uint64_t off, const void *buf,
			     size_t len)
{
	uint64_t size = fv_sysfs_config_size(dev);

	if (off >= size)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	sim_cfg_write_buf(dev->sim, (unsigned)off, buf, len);
	return len;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fakevfio/sysfs.h: the contents of the fake sysfs files of a PCI device,
 * formatted as the kernel's drivers/pci/pci-sysfs.c does.
 */
#ifndef FAKEVFIO_SYSFS_H
#define FAKEVFIO_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fakevfio.h"

enum {
	FV_SYSFS_PAGE = 4096,	/* a text attribute's size, as sysfs reports it */
	/* resource lines of an endpoint: 6 BARs, ROM, 6 SR-IOV BARs */
	FV_SYSFS_RESOURCE_LINES = 13,
};

typedef enum FvAttrId {
	FV_ATTR_VENDOR,
	FV_ATTR_DEVICE,
	FV_ATTR_SUBSYSTEM_VENDOR,
	FV_ATTR_SUBSYSTEM_DEVICE,
	FV_ATTR_CLASS,
	FV_ATTR_REVISION,
	FV_ATTR_IRQ,
	FV_ATTR_RESOURCE,
	FV_ATTR_NUMA_NODE,
	FV_ATTR_MODALIAS,
} FvAttrId;

typedef struct FvAttrDesc {
	const char *name;
	unsigned mode;		/* permission bits */
	FvAttrId id;
} FvAttrDesc;

/* The text attributes of a device directory. */
extern const FvAttrDesc fv_sysfs_device_attrs[];
extern const unsigned fv_sysfs_n_device_attrs;

/* Render attribute id into buf (FV_SYSFS_PAGE bytes); returns the length. */
size_t fv_sysfs_show(FvAttrId id, FvDevice *dev, char *buf);
/*
 * Store into a writable attribute (numa_node is the only one) as its store
 * method would; admin says whether the writing task has CAP_SYS_ADMIN.
 * Returns len or -errno.
 */
ssize_t fv_sysfs_store(FvAttrId id, FvDevice *dev, const char *buf, size_t len,
		       bool admin);

/* The "config" file: its size, and reads/writes at off (short at the end). */
unsigned fv_sysfs_config_size(FvDevice *dev);
/* admin: the opener had CAP_SYS_ADMIN; otherwise only the header is read. */
size_t fv_sysfs_config_read(FvDevice *dev, uint64_t off, void *buf, size_t len,
			    bool admin);
size_t fv_sysfs_config_write(FvDevice *dev, uint64_t off, const void *buf,
			     size_t len);

/* IORESOURCE_* flags of BAR idx (6: ROM) as the kernel reports them. */
uint64_t fv_sysfs_resource_flags(FvDevice *dev, unsigned idx);

#endif

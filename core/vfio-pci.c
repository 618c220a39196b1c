/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/vfio-pci: the vfio-pci device (see vfio-pci.h).
 */
#include "common/bdf.h"
#include "core/vfio-pci.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/trace.h"
#include "core/gmsi.h"

#define CAP_WALK_MAX	48	/* at most (256 - 64) / 4 capabilities */

static const char *vname(const VfcPciDevice *vdev)
{
	return vdev->vbasedev.name;
}

static bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return a < b + blen && b < a + alen;
}

static uint64_t page_align_up(uint64_t v)
{
	uint64_t page = vfc_host_page_size();

	return (v + page - 1) & ~(page - 1);
}

/* ------------------------------------------------------------------ */
/* properties                                                           */

void vfc_pci_props_init(VfcPciProps *props)
{
	memset(props, 0, sizeof(*props));
	props->vendor_id = props->device_id = VFC_PCI_ANY_ID;
	props->sub_vendor_id = props->sub_device_id = VFC_PCI_ANY_ID;
	props->rombar = true;
	props->req = true;
	props->devfn = -1;
}

static bool parse_bool(const char *val, bool *out)
{
	static const char *const on[] = { "on", "yes", "true", "1" };
	static const char *const off[] = { "off", "no", "false", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!strcmp(val, on[i])) {
			*out = true;
			return true;
		}
		if (!strcmp(val, off[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool parse_u32(const char *val, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!*val || *val == '-')
		return false;
	errno = 0;
	v = strtoull(val, &end, 0);
	if (errno || *end || v > 0xffffffffull)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_devfn(const char *val, int *devfn)
{
	unsigned slot, fn = 0;
	int n = 0;

	if (sscanf(val, "%x%n", &slot, &n) != 1)
		return false;
	if (val[n] == '.') {
		int m = 0;

		if (sscanf(val + n + 1, "%x%n", &fn, &m) != 1)
			return false;
		n += 1 + m;
	}
	if (val[n] || slot > 0x1f || fn > 7 || strchr(val, '-'))
		return false;
	*devfn = (int)GPCI_DEVFN(slot, fn);
	return true;
}

bool vfc_pci_set_property(VfcPciProps *p, const char *key, const char *val,
			  Error **errp)
{
	bool ok;

	if (!strcmp(key, "host"))
		ok = bdf_parse(val, p->host, NULL, NULL, NULL, NULL, NULL);
	else if (!strcmp(key, "x-pci-vendor-id"))
		ok = parse_u32(val, &p->vendor_id);
	else if (!strcmp(key, "x-pci-device-id"))
		ok = parse_u32(val, &p->device_id);
	else if (!strcmp(key, "x-pci-sub-vendor-id"))
		ok = parse_u32(val, &p->sub_vendor_id);
	else if (!strcmp(key, "x-pci-sub-device-id"))
		ok = parse_u32(val, &p->sub_device_id);
	else if (!strcmp(key, "rombar"))
		ok = parse_bool(val, &p->rombar);
	else if (!strcmp(key, "x-vga"))
		ok = parse_bool(val, &p->vga);
	else if (!strcmp(key, "x-no-mmap"))
		ok = parse_bool(val, &p->no_mmap);
	else if (!strcmp(key, "x-req"))
		ok = parse_bool(val, &p->req);
	else if (!strcmp(key, "multifunction"))
		ok = parse_bool(val, &p->multifunction);
	else if (!strcmp(key, "addr"))
		ok = parse_devfn(val, &p->devfn);
	else if (!strcmp(key, "id"))
		ok = strlen(val) < sizeof(p->id) &&
		     snprintf(p->id, sizeof(p->id), "%s", val) >= 0;
	else {
		error_setg(errp, "Property 'vfio-pci.%s' not found", key);
		return false;
	}
	if (!ok) {
		error_setg(errp, "Property 'vfio-pci.%s' doesn't take value '%s'",
			   key, val);
		return false;
	}
	return true;
}

bool vfc_pci_check_ids(const VfcPciProps *p, Error **errp)
{
	/*
	 * 0xffff is the invalid vendor ID; a device ID is any 16-bit value;
	 * subsystem IDs may be anything 16-bit (to hide or change them).
	 */
	if (p->vendor_id != VFC_PCI_ANY_ID && p->vendor_id >= 0xffff) {
		error_setg(errp, "Invalid PCI vendor ID provided");
		return false;
	}
	if (p->device_id != VFC_PCI_ANY_ID && p->device_id > 0xffff) {
		error_setg(errp, "Invalid PCI device ID provided");
		return false;
	}
	if (p->sub_vendor_id != VFC_PCI_ANY_ID && p->sub_vendor_id > 0xffff) {
		error_setg(errp, "Invalid PCI subsystem vendor ID provided");
		return false;
	}
	if (p->sub_device_id != VFC_PCI_ANY_ID && p->sub_device_id > 0xffff) {
		error_setg(errp, "Invalid PCI subsystem device ID provided");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* emulated bits                                                        */

uint32_t vfc_pci_merge_config(uint32_t emu_bits, uint32_t emu_val,
			      uint32_t phys_val, int len)
{
	uint32_t mask = len >= 4 ? 0xffffffffu : (1u << (8 * len)) - 1;

	return ((emu_val & emu_bits) | (phys_val & ~emu_bits)) & mask;
}

static void set_word_bits(uint8_t *buf, uint16_t val, uint16_t mask)
{
	gpci_set_word(buf, (uint16_t)((gpci_get_word(buf) & ~mask) | val));
}

/* The guest sees val in the mask bits of the word at pos, read-only. */
static void add_emulated_word(VfcPciDevice *vdev, unsigned pos, uint16_t val,
			      uint16_t mask)
{
	set_word_bits(vdev->pdev.config + pos, val & mask, mask);
	set_word_bits(vdev->pdev.wmask + pos, (uint16_t)~mask, mask);
	set_word_bits(vdev->emulated_config_bits + pos, mask, mask);
}

/* ------------------------------------------------------------------ */
/* SET_IRQS                                                             */

static int set_irqs(VfcPciDevice *vdev, unsigned index, uint32_t flags,
		    unsigned start, unsigned count, const int32_t *fds)
{
	struct vfio_irq_set *set;
	size_t argsz = sizeof(*set);
	int ret;

	if ((flags & VFIO_IRQ_SET_DATA_TYPE_MASK) == VFIO_IRQ_SET_DATA_EVENTFD)
		argsz += (size_t)count * sizeof(int32_t);
	set = calloc(1, argsz);
	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)argsz;
	set->flags = flags;
	set->index = index;
	set->start = start;
	set->count = count;
	if (argsz > sizeof(*set))
		memcpy(set->data, fds, (size_t)count * sizeof(int32_t));
	ret = VFC_IOCTL(vname(vdev), vdev->vbasedev.fd, VFIO_DEVICE_SET_IRQS, set);
	free(set);
	return ret;
}

static int set_irq_fd(VfcPciDevice *vdev, unsigned index, unsigned start, int32_t fd)
{
	return set_irqs(vdev, index, VFIO_IRQ_SET_DATA_EVENTFD |
			VFIO_IRQ_SET_ACTION_TRIGGER, start, 1, &fd);
}

static int disable_irqindex(VfcPciDevice *vdev, unsigned index)
{
	return set_irqs(vdev, index, VFIO_IRQ_SET_DATA_NONE |
			VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, NULL);
}

static bool drain_eventfd(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

static void close_eventfd(int *fd)
{
	if (*fd >= 0) {
		vfc_set_fd_handler(*fd, NULL, NULL);
		close(*fd);
	}
	*fd = -1;
}

/* ------------------------------------------------------------------ */
/* INTx                                                                 */

static void mmaps_set_enabled(VfcPciDevice *vdev, bool on)
{
	int i;

	for (i = 0; i < VFC_PCI_NUM_BARS; i++)
		if (vdev->bars[i].mmap)
			gmem_region_set_enabled(&vdev->bars[i].mmap_mem, on);
	if (vdev->msix && vdev->msix->mmap)
		gmem_region_set_enabled(&vdev->msix->mmap_mem, on);
}

static void intx_interrupt(void *opaque)
{
	VfcPciDevice *vdev = opaque;

	if (!drain_eventfd(vdev->intx_fd))
		return;
	trace_core_vfio_irq(vname(vdev), "intx", vdev->intx_pin);
	vdev->irq_count[VFC_INT_INTX]++;
	vdev->intx_pending = true;
	gpci_set_irq(&vdev->pdev, 1);
	/* Trap BAR accesses until the EOI (the guest touching the device). */
	mmaps_set_enabled(vdev, false);
}

/* The guest serviced the device: lower the pin, unmask at the host. */
static void intx_eoi(VfcPciDevice *vdev)
{
	int ret;

	if (!vdev->intx_pending)
		return;
	vdev->intx_pending = false;
	gpci_set_irq(&vdev->pdev, 0);
	ret = set_irqs(vdev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE |
		       VFIO_IRQ_SET_ACTION_UNMASK, 0, 1, NULL);
	if (ret)
		vfc_warn("%s: failed to unmask INTx: %s", vdev->msg_name,
			 strerror(-ret));
	mmaps_set_enabled(vdev, true);
}

static void intx_update(GPciDevice *pdev)
{
	VfcPciDevice *vdev = vfc_pci_from_pdev(pdev);
	GPciIntxRoute route;

	if (vdev->interrupt != VFC_INT_INTX)
		return;
	route = gpci_device_route_intx_to_irq(pdev, (int)vdev->intx_pin);
	if (!gpci_intx_route_changed(&vdev->intx_route, &route))
		return;
	vdev->intx_route = route;
	if (route.mode != GPCI_INTX_ENABLED)
		return;
	/* In case we missed an EOI. */
	intx_eoi(vdev);
}

static void disable_interrupts(VfcPciDevice *vdev);

static void intx_disable(VfcPciDevice *vdev)
{
	disable_irqindex(vdev, VFIO_PCI_INTX_IRQ_INDEX);
	vdev->intx_pending = false;
	gpci_set_irq(&vdev->pdev, 0);
	mmaps_set_enabled(vdev, true);
	close_eventfd(&vdev->intx_fd);
	vdev->interrupt = VFC_INT_NONE;
	trace_core_vfio_irq_mode(vname(vdev), "none", 0);
}

static bool intx_enable(VfcPciDevice *vdev, Error **errp)
{
	uint8_t pin = (uint8_t)vfc_pci_read_config(&vdev->pdev, PCI_INTERRUPT_PIN, 1);
	int ret;

	if (!pin || pin > GPCI_NUM_PINS)
		return true;
	disable_interrupts(vdev);
	vdev->intx_pin = pin - 1u;
	vdev->pdev.config[PCI_INTERRUPT_PIN] = pin;
	vdev->intx_route = gpci_device_route_intx_to_irq(&vdev->pdev, (int)vdev->intx_pin);
	vdev->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vdev->intx_fd < 0) {
		error_setg_errno(errp, errno, "Error: event_notifier_init failed");
		return false;
	}
	if (!vfc_set_fd_handler(vdev->intx_fd, intx_interrupt, vdev)) {
		close_eventfd(&vdev->intx_fd);
		error_setg(errp, "out of memory");
		return false;
	}
	ret = set_irq_fd(vdev, VFIO_PCI_INTX_IRQ_INDEX, 0, vdev->intx_fd);
	if (ret) {
		error_setg_errno(errp, -ret, "Error: Failed to setup INTx fd");
		close_eventfd(&vdev->intx_fd);
		return false;
	}
	vdev->interrupt = VFC_INT_INTX;
	trace_core_vfio_irq_mode(vname(vdev), "intx", 1);
	return true;
}

static void intx_enable_warn(VfcPciDevice *vdev)
{
	Error *err = NULL;

	if (!intx_enable(vdev, &err)) {
		vfc_warn("%s: %s", vdev->msg_name, error_get_pretty(err));
		error_free(err);
	}
}

/* ------------------------------------------------------------------ */
/* MSI and MSI-X                                                        */

static void msi_interrupt(void *opaque)
{
	VfcMsiVector *v = opaque;
	VfcPciDevice *vdev = v->vdev;

	if (!drain_eventfd(v->fd))
		return;
	if (vdev->interrupt == VFC_INT_MSIX) {
		trace_core_vfio_irq(vname(vdev), "msix", v->nr);
		vdev->irq_count[VFC_INT_MSIX]++;
		gmsix_notify(&vdev->pdev, v->nr);
	} else if (vdev->interrupt == VFC_INT_MSI) {
		trace_core_vfio_irq(vname(vdev), "msi", v->nr);
		vdev->irq_count[VFC_INT_MSI]++;
		gmsi_notify(&vdev->pdev, v->nr);
	}
}

static bool vector_init(VfcPciDevice *vdev, unsigned nr)
{
	VfcMsiVector *v = &vdev->msi_vectors[nr];

	v->vdev = vdev;
	v->nr = nr;
	v->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->fd < 0) {
		vfc_warn("%s: Error: event_notifier_init failed: %s",
			 vdev->msg_name, strerror(errno));
		return false;
	}
	v->use = true;
	vfc_set_fd_handler(v->fd, msi_interrupt, v);
	return true;
}

static void vectors_free(VfcPciDevice *vdev, unsigned n)
{
	unsigned i;

	if (vdev->msi_vectors)
		for (i = 0; i < n; i++)
			if (vdev->msi_vectors[i].use)
				close_eventfd(&vdev->msi_vectors[i].fd);
	free(vdev->msi_vectors);
	vdev->msi_vectors = NULL;
}

/* SET_IRQS of vectors 0..nr_vectors-1, -1 for unused ones. */
static int enable_vectors(VfcPciDevice *vdev, bool msix)
{
	int32_t *fds = calloc(vdev->nr_vectors ? vdev->nr_vectors : 1, sizeof(*fds));
	unsigned i;
	int ret;

	if (!fds)
		return -ENOMEM;
	for (i = 0; i < vdev->nr_vectors; i++)
		fds[i] = vdev->msi_vectors[i].use ? vdev->msi_vectors[i].fd : -1;
	ret = set_irqs(vdev, msix ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX,
		       VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0,
		       vdev->nr_vectors, fds);
	free(fds);
	return ret;
}

static void msi_disable_common(VfcPciDevice *vdev)
{
	vectors_free(vdev, vdev->nr_vectors);
	vdev->nr_vectors = 0;
	vdev->interrupt = VFC_INT_NONE;
	trace_core_vfio_irq_mode(vname(vdev), "none", 0);
	intx_enable_warn(vdev);
}

static void msi_enable(VfcPciDevice *vdev)
{
	unsigned i, n;
	int ret;

	disable_interrupts(vdev);
	n = gmsi_nr_vectors_allocated(&vdev->pdev);
	for (;;) {
		vdev->nr_vectors = n;
		vdev->msi_vectors = calloc(n ? n : 1, sizeof(*vdev->msi_vectors));
		if (!vdev->msi_vectors) {
			vdev->nr_vectors = 0;
			return;
		}
		for (i = 0; i < n; i++) {
			vdev->msi_vectors[i].fd = -1;
			vector_init(vdev, i);
		}
		/* The type first: an interrupt may come at once. */
		vdev->interrupt = VFC_INT_MSI;
		ret = enable_vectors(vdev, false);
		if (!ret)
			break;
		if (ret < 0)
			vfc_warn("%s: Error: Failed to setup MSI fds: %s",
				 vdev->msg_name, strerror(-ret));
		else if ((unsigned)ret != n)
			vfc_warn("%s: Error: Failed to enable %u MSI vectors, retry with %d",
				 vdev->msg_name, n, ret);
		vectors_free(vdev, n);
		if (ret > 0 && (unsigned)ret != n && (unsigned)ret < n) {
			n = (unsigned)ret;
			continue;
		}
		/* Interrupts stay off; hope the guest driver copes. */
		vdev->nr_vectors = 0;
		vdev->interrupt = VFC_INT_NONE;
		return;
	}
	trace_core_vfio_irq_mode(vname(vdev), "msi", vdev->nr_vectors);
}

static void msi_disable(VfcPciDevice *vdev)
{
	disable_irqindex(vdev, VFIO_PCI_MSI_IRQ_INDEX);
	msi_disable_common(vdev);
}

static int msix_vector_do_use(VfcPciDevice *vdev, unsigned nr)
{
	VfcMsiVector *v;
	int ret;

	if (!vdev->msi_vectors || !vdev->msix || nr >= vdev->msix->entries)
		return -EINVAL;
	v = &vdev->msi_vectors[nr];
	trace_core_vfio_irq(vname(vdev), "msix-use", nr);
	if (!v->use) {
		if (!vector_init(vdev, nr))
			return -ENOMEM;
		gmsix_vector_use(&vdev->pdev, nr);
	}
	/*
	 * The host gets only the vectors in use: growing the count means
	 * disabling the index and enabling it again with all of them.
	 */
	if (vdev->nr_vectors < nr + 1) {
		disable_irqindex(vdev, VFIO_PCI_MSIX_IRQ_INDEX);
		vdev->nr_vectors = nr + 1;
		ret = enable_vectors(vdev, true);
		if (ret)
			vfc_warn("%s: failed to enable vectors, %d", vdev->msg_name, ret);
	} else {
		ret = set_irq_fd(vdev, VFIO_PCI_MSIX_IRQ_INDEX, nr, v->fd);
		if (ret)
			vfc_warn("%s: failed to modify vector, %d", vdev->msg_name, ret);
	}
	return 0;
}

static int msix_vector_use(GPciDevice *pdev, unsigned nr, GMsiMessage msg)
{
	(void)msg;
	return msix_vector_do_use(vfc_pci_from_pdev(pdev), nr);
}

/*
 * The seed's release: with a KVM route it switches the vector back to the
 * userspace eventfd; without KVM (always here) there is nothing to do, the
 * vector stays enabled at the host and the guest-side MSI-X emulation
 * masks and sets pending bits.
 */
static void msix_vector_release(GPciDevice *pdev, unsigned nr)
{
	trace_core_vfio_irq(vname(vfc_pci_from_pdev(pdev)), "msix-release", nr);
}

static void msix_enable(VfcPciDevice *vdev)
{
	unsigned i;

	disable_interrupts(vdev);
	vdev->msi_vectors = calloc(vdev->msix->entries, sizeof(*vdev->msi_vectors));
	if (!vdev->msi_vectors)
		return;
	for (i = 0; i < vdev->msix->entries; i++)
		vdev->msi_vectors[i].fd = -1;
	vdev->interrupt = VFC_INT_MSIX;
	/*
	 * A guest driver enables MSI-X with every vector masked, but the
	 * physical device may need MSI-X on at once (VF/PF channels): enable
	 * vector 0 at the host and release it again, leaving MSI-X enabled
	 * with no vector in use, like the guest view.
	 */
	msix_vector_do_use(vdev, 0);
	msix_vector_release(&vdev->pdev, 0);
	if (gmsix_set_vector_notifiers(&vdev->pdev, msix_vector_use,
				       msix_vector_release, NULL))
		vfc_warn("%s: msix_set_vector_notifiers failed", vdev->msg_name);
	trace_core_vfio_irq_mode(vname(vdev), "msix", vdev->nr_vectors);
}

static void msix_disable(VfcPciDevice *vdev)
{
	unsigned i;

	gmsix_unset_vector_notifiers(&vdev->pdev);
	/* MSI-X releases only while enabled: release the rest ourselves. */
	for (i = 0; i < vdev->nr_vectors; i++) {
		if (vdev->msi_vectors[i].use) {
			msix_vector_release(&vdev->pdev, i);
			gmsix_vector_unuse(&vdev->pdev, i);
		}
	}
	if (vdev->nr_vectors)
		disable_irqindex(vdev, VFIO_PCI_MSIX_IRQ_INDEX);
	/* vectors_free below closes every used vector, also beyond nr_vectors */
	if (vdev->msi_vectors && vdev->msix) {
		vectors_free(vdev, vdev->msix->entries);
		vdev->nr_vectors = 0;
	}
	msi_disable_common(vdev);
}

static void disable_interrupts(VfcPciDevice *vdev)
{
	switch (vdev->interrupt) {
	case VFC_INT_INTX:
		intx_disable(vdev);
		break;
	case VFC_INT_MSI:
		msi_disable(vdev);
		break;
	case VFC_INT_MSIX:
		msix_disable(vdev);
		break;
	case VFC_INT_NONE:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* guest config access (seed 6)                                         */

uint32_t vfc_pci_read_config(GPciDevice *pdev, uint32_t addr, int len)
{
	VfcPciDevice *vdev = vfc_pci_from_pdev(pdev);
	uint32_t emu_bits = 0, emu_val = 0, phys_val = 0, val;
	uint32_t all = len >= 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
	int i;

	if (len < 1 || len > 4 || addr + (uint32_t)len > gpci_config_size(pdev))
		return all;
	for (i = 0; i < len; i++)
		emu_bits |= (uint32_t)vdev->emulated_config_bits[addr + (uint32_t)i] << (8 * i);
	if (emu_bits)
		emu_val = gpci_default_read_config(pdev, addr, len);
	if (~emu_bits & all) {
		uint8_t buf[4] = { 0 };
		ssize_t ret = vfc_pread(vname(vdev), vdev->vbasedev.fd, buf, (size_t)len,
					(off_t)(vdev->config_offset + addr));

		if (ret != len) {
			vfc_warn("vfio_pci_read_config(%s, 0x%x, 0x%x) failed: %s",
				 vname(vdev), addr, len,
				 ret < 0 ? strerror((int)-ret) : "short read");
			return all;
		}
		for (i = 0; i < len; i++)
			phys_val |= (uint32_t)buf[i] << (8 * i);
	}
	val = vfc_pci_merge_config(emu_bits, emu_val, phys_val, len);
	trace_core_vfio_cfg_read(vname(vdev), addr, (unsigned)len, val);
	return val;
}

void vfc_pci_write_config(GPciDevice *pdev, uint32_t addr, uint32_t val, int len)
{
	VfcPciDevice *vdev = vfc_pci_from_pdev(pdev);
	uint8_t buf[4];
	ssize_t ret;
	int i;

	if (len < 1 || len > 4 || addr + (uint32_t)len > gpci_config_size(pdev))
		return;
	trace_core_vfio_cfg_write(vname(vdev), addr, (unsigned)len, val);
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(val >> (8 * i));
	/* Everything goes to the device; the kernel filters what it must. */
	ret = vfc_pwrite(vname(vdev), vdev->vbasedev.fd, buf, (size_t)len,
			 (off_t)(vdev->config_offset + addr));
	if (ret != len)
		vfc_warn("vfio_pci_write_config(%s, 0x%x, 0x%x, 0x%x) failed: %s",
			 vname(vdev), addr, val, len,
			 ret < 0 ? strerror((int)-ret) : "short write");

	if ((pdev->cap_present & GPCI_CAP_MSI) &&
	    ranges_overlap(addr, (uint32_t)len, pdev->msi_cap, vdev->msi_cap_size)) {
		bool was = gmsi_enabled(pdev), is;

		gpci_default_write_config(pdev, addr, val, len);
		is = gmsi_enabled(pdev);
		if (!was && is)
			msi_enable(vdev);
		else if (was && !is)
			msi_disable(vdev);
		/* was && is: QEMU updates KVM routes; nothing to do here. */
	} else if ((pdev->cap_present & GPCI_CAP_MSIX) && vdev->msix &&
		   ranges_overlap(addr, (uint32_t)len, pdev->msix_cap, GMSIX_CAP_LENGTH)) {
		bool was = gmsix_enabled(pdev), is;

		gpci_default_write_config(pdev, addr, val, len);
		is = gmsix_enabled(pdev);
		if (!was && is)
			msix_enable(vdev);
		else if (was && !is)
			msix_disable(vdev);
	} else {
		/* Keep the emulated bits right. */
		gpci_default_write_config(pdev, addr, val, len);
	}
}

/* ------------------------------------------------------------------ */
/* BARs: the slow path (seed 7)                                         */

static uint64_t ones_of(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static uint64_t bar_read(void *opaque, uint64_t addr, unsigned size)
{
	VfcBar *bar = opaque;
	VfcPciDevice *vdev = bar->vdev;
	uint8_t buf[8] = { 0 };
	uint64_t val = 0;
	ssize_t ret;
	unsigned i;

	ret = vfc_pread(vname(vdev), vdev->vbasedev.fd, buf, size,
			(off_t)(bar->region.fd_offset + addr));
	if (ret != (ssize_t)size) {
		vfc_warn("vfio_region_read(%s:region%u+0x%llx, %u) failed: %s",
			 vname(vdev), bar->nr, (unsigned long long)addr, size,
			 ret < 0 ? strerror((int)-ret) : "short read");
		val = ones_of(size);
	} else {
		for (i = 0; i < size; i++)
			val |= (uint64_t)buf[i] << (8 * i);
	}
	trace_core_vfio_bar_read(vname(vdev), bar->nr, addr, size, val);
	/* Any BAR access counts as the guest servicing INTx. */
	intx_eoi(vdev);
	return val;
}

static void bar_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
	VfcBar *bar = opaque;
	VfcPciDevice *vdev = bar->vdev;
	uint8_t buf[8];
	ssize_t ret;
	unsigned i;

	for (i = 0; i < size; i++)
		buf[i] = (uint8_t)(val >> (8 * i));
	trace_core_vfio_bar_write(vname(vdev), bar->nr, addr, size, val);
	ret = vfc_pwrite(vname(vdev), vdev->vbasedev.fd, buf, size,
			 (off_t)(bar->region.fd_offset + addr));
	if (ret != (ssize_t)size)
		vfc_warn("vfio_region_write(%s:region%u+0x%llx, 0x%llx, %u) failed: %s",
			 vname(vdev), bar->nr, (unsigned long long)addr,
			 (unsigned long long)val, size,
			 ret < 0 ? strerror((int)-ret) : "short write");
	intx_eoi(vdev);
}

static const GMemOps bar_ops = {
	.read = bar_read,
	.write = bar_write,
	.valid_min = 1, .valid_max = 8,
	.impl_min = 1, .impl_max = 8,
};

/* mmap [offset, offset + size) of the region as a RAM subregion of bar. */
static int mmap_region(VfcPciDevice *vdev, VfcBar *bar, GMemRegion *sub,
		       void **map, uint64_t size, uint64_t offset, const char *name)
{
	int prot = 0;
	Error *err = NULL;
	void *p;

	*map = NULL;
	if (vdev->props.no_mmap || !size || !(bar->region.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return 0;
	if (bar->region.flags & VFIO_REGION_INFO_FLAG_READ)
		prot |= PROT_READ;
	if (bar->region.flags & VFIO_REGION_INFO_FLAG_WRITE)
		prot |= PROT_WRITE;
	p = mmap(NULL, size, prot, MAP_SHARED, vdev->vbasedev.fd,
		 (off_t)(bar->region.fd_offset + offset));
	if (p == MAP_FAILED)
		return -errno;
	gmem_region_init_ram_ptr(sub, name, size, p);
	vfc_mark_ram_device(sub);
	if (!gmem_region_add_subregion(&bar->mem, offset, sub, &err)) {
		error_free(err);
		munmap(p, size);
		return -EINVAL;
	}
	*map = p;
	return 0;
}

static void map_bar(VfcPciDevice *vdev, unsigned nr)
{
	VfcBar *bar = &vdev->bars[nr];
	uint64_t size = bar->region.size;
	char name[GMEM_NAME_MAX], mname[GMEM_NAME_MAX + 16];
	Error *err = NULL;
	uint8_t raw[4];
	uint32_t pci_bar;
	ssize_t ret;
	int r;

	bar->vdev = vdev;
	bar->nr = nr;
	if (!size)
		return;		/* unimplemented, or the upper half of a 64-bit BAR */
	snprintf(name, sizeof(name), "VFIO %s BAR %u", vname(vdev), nr);
	ret = vfc_pread(vname(vdev), vdev->vbasedev.fd, raw, sizeof(raw),
			(off_t)(vdev->config_offset + PCI_BASE_ADDRESS_0 + 4 * nr));
	if (ret != (ssize_t)sizeof(raw)) {
		vfc_warn("%s: Failed to read BAR %u (%s)", vdev->msg_name, nr,
			 ret < 0 ? strerror((int)-ret) : "short read");
		return;
	}
	pci_bar = gpci_get_long(raw);
	bar->ioport = pci_bar & PCI_BASE_ADDRESS_SPACE_IO;
	bar->mem64 = !bar->ioport && (pci_bar & PCI_BASE_ADDRESS_MEM_TYPE_64);
	bar->type = (uint8_t)(pci_bar & (bar->ioport ? ~PCI_BASE_ADDRESS_IO_MASK :
					 ~PCI_BASE_ADDRESS_MEM_MASK));

	/* The slow path underlies every BAR. */
	gmem_region_init_io(&bar->mem, name, size, &bar_ops, bar);
	bar->mem_init = true;
	if (!gpci_register_bar(&vdev->pdev, (int)nr, bar->type, &bar->mem, &err)) {
		vfc_warn("%s: %s", vdev->msg_name, error_get_pretty(err));
		error_free(err);
		gmem_region_destroy(&bar->mem);
		bar->mem_init = false;
		return;
	}

	/* No mmap over the MSI-X table: map below it, and above it. */
	if (vdev->msix && vdev->msix->table_bar == nr)
		size = vdev->msix->table_offset & ~(vfc_host_page_size() - 1);
	snprintf(mname, sizeof(mname), "%s mmap", name);
	r = mmap_region(vdev, bar, &bar->mmap_mem, &bar->mmap, size, 0, mname);
	if (r) {
		bar->mmap_failed = true;
		vfc_warn("%s unsupported. Performance may be slow", mname);
	} else if (bar->mmap) {
		bar->mmap_size = size;
	}
	if (vdev->msix && vdev->msix->table_bar == nr) {
		VfcMsixInfo *m = vdev->msix;
		uint64_t start = page_align_up((uint64_t)m->table_offset +
					       (uint64_t)m->entries * PCI_MSIX_ENTRY_SIZE);

		size = start < bar->region.size ? bar->region.size - start : 0;
		snprintf(mname, sizeof(mname), "%s mmap msix-hi", name);
		r = mmap_region(vdev, bar, &m->mmap_mem, &m->mmap, size, start, mname);
		if (r) {
			bar->mmap_failed = true;
			vfc_warn("%s unsupported. Performance may be slow", mname);
		} else if (m->mmap) {
			m->mmap_size = size;
			m->mmap_start = start;
		}
	}
}

static void unmap_bars(VfcPciDevice *vdev)
{
	int i;

	if (vdev->msix && vdev->msix->mmap) {
		gmem_region_destroy(&vdev->msix->mmap_mem);
		munmap(vdev->msix->mmap, vdev->msix->mmap_size);
		vdev->msix->mmap = NULL;
	}
	for (i = 0; i < VFC_PCI_NUM_BARS; i++) {
		VfcBar *bar = &vdev->bars[i];

		if (bar->mmap) {
			gmem_region_destroy(&bar->mmap_mem);
			munmap(bar->mmap, bar->mmap_size);
			bar->mmap = NULL;
		}
		if (bar->mem_init) {
			gmem_region_destroy(&bar->mem);
			bar->mem_init = false;
		}
	}
	if (vdev->has_rom) {
		gmem_region_destroy(&vdev->rom);
		vdev->has_rom = false;
	}
}

/* ------------------------------------------------------------------ */
/* the option ROM                                                       */

static void load_rom(VfcPciDevice *vdev)
{
	struct vfio_region_info info = { .argsz = sizeof(info),
					 .index = VFIO_PCI_ROM_REGION_INDEX };
	uint64_t off = 0, size;
	int ret;

	ret = VFC_IOCTL(vname(vdev), vdev->vbasedev.fd, VFIO_DEVICE_GET_REGION_INFO, &info);
	if (ret || !info.size) {
		vdev->rom_read_failed = true;
		vfc_warn("vfio-pci: Cannot read device rom at %s; Device option ROM "
			 "contents are probably invalid (check dmesg). Skip option ROM "
			 "probe with rombar=0, or load from file with romfile=",
			 vname(vdev));
		return;
	}
	size = info.size < vdev->rom_size ? info.size : vdev->rom_size;
	vdev->rom_data = malloc(vdev->rom_size);
	if (!vdev->rom_data) {
		vdev->rom_read_failed = true;
		return;
	}
	memset(vdev->rom_data, 0xff, vdev->rom_size);
	while (size) {
		ssize_t n = vfc_pread(vname(vdev), vdev->vbasedev.fd, vdev->rom_data + off,
				      size, (off_t)(info.offset + off));

		if (n == 0)
			break;
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n < 0) {
			vfc_warn("vfio: Error reading device ROM: %s", strerror((int)-n));
			break;
		}
		off += (uint64_t)n;
		size -= (uint64_t)n;
	}
}

static uint64_t rom_read(void *opaque, uint64_t addr, unsigned size)
{
	VfcPciDevice *vdev = opaque;
	uint64_t val = 0;
	unsigned i;

	if (!vdev->rom_data && !vdev->rom_read_failed)
		load_rom(vdev);
	for (i = 0; i < size; i++) {
		uint8_t b = 0xff;

		if (vdev->rom_data && addr + i < vdev->rom_size)
			b = vdev->rom_data[addr + i];
		val |= (uint64_t)b << (8 * i);
	}
	trace_core_vfio_bar_read(vname(vdev), GPCI_ROM_SLOT, addr, size, val);
	return val;
}

/* The ROM is read-only: no write handler, writes are dropped. */
static const GMemOps rom_ops = {
	.read = rom_read,
	.valid_min = 1, .valid_max = 8,
	.impl_min = 1, .impl_max = 8,
};

static void size_rom(VfcPciDevice *vdev)
{
	uint8_t orig[4], mask[4], back[4];
	off_t off = (off_t)(vdev->config_offset + PCI_ROM_ADDRESS);
	int fd = vdev->vbasedev.fd;
	char name[GMEM_NAME_MAX];
	Error *err = NULL;
	uint32_t size;

	if (!vdev->props.rombar)
		return;
	gpci_set_long(mask, (uint32_t)PCI_ROM_ADDRESS_MASK);
	/* The same size ROM BAR as the device; contents read on first use. */
	if (vfc_pread(vname(vdev), fd, orig, 4, off) != 4 ||
	    vfc_pwrite(vname(vdev), fd, mask, 4, off) != 4 ||
	    vfc_pread(vname(vdev), fd, back, 4, off) != 4 ||
	    vfc_pwrite(vname(vdev), fd, orig, 4, off) != 4) {
		vfc_warn("vfio_pci_size_rom(%s) failed", vname(vdev));
		return;
	}
	size = ~(gpci_get_long(back) & (uint32_t)PCI_ROM_ADDRESS_MASK) + 1;
	if (!size)
		return;
	snprintf(name, sizeof(name), "vfio[%s].rom", vname(vdev));
	gmem_region_init_io(&vdev->rom, name, size, &rom_ops, vdev);
	if (!gpci_register_bar(&vdev->pdev, GPCI_ROM_SLOT, PCI_BASE_ADDRESS_SPACE_MEMORY,
			       &vdev->rom, &err)) {
		vfc_warn("%s: %s", vdev->msg_name, error_get_pretty(err));
		error_free(err);
		gmem_region_destroy(&vdev->rom);
		return;
	}
	vdev->rom_size = size;
	vdev->has_rom = true;
	vdev->rom_read_failed = false;
}

/* ------------------------------------------------------------------ */
/* MSI-X early setup (seed 5.3)                                         */

bool vfc_pci_msix_check_pba(uint32_t vendor_id, uint32_t device_id,
			    uint64_t pba_bar_size, uint32_t *pba_offset,
			    bool *quirked, Error **errp)
{
	*quirked = false;
	if (*pba_offset < pba_bar_size)
		return true;
	/*
	 * Chelsio T5 VFs (1425:58xx) report a PBA offset of 0x8000 in a BAR
	 * of 8 KiB; the PBA is at 0x1000.
	 */
	if (vendor_id == VFC_PCI_VENDOR_ID_CHELSIO && (device_id & 0xff00) == 0x5800) {
		*pba_offset = 0x1000;
		*quirked = true;
		return true;
	}
	error_setg(errp, "Hardware reports invalid configuration, "
		   "MSIX PBA outside of specified BAR");
	return false;
}

static bool msix_early_setup(VfcPciDevice *vdev, Error **errp)
{
	uint8_t pos = gpci_find_capability(&vdev->pdev, PCI_CAP_ID_MSIX);
	uint8_t ctrl[2], table[4], pba[4];
	int fd = vdev->vbasedev.fd;
	off_t base = (off_t)(vdev->config_offset + pos);
	VfcMsixInfo *m;
	uint32_t t, p;
	ssize_t r;

	if (!pos)
		return true;
	if ((r = vfc_pread(vname(vdev), fd, ctrl, 2, base + PCI_MSIX_FLAGS)) != 2 ||
	    (r = vfc_pread(vname(vdev), fd, table, 4, base + PCI_MSIX_TABLE)) != 4 ||
	    (r = vfc_pread(vname(vdev), fd, pba, 4, base + PCI_MSIX_PBA)) != 4) {
		error_setg(errp, "failed to read the MSI-X capability: %s",
			   r < 0 ? strerror((int)-r) : "short read");
		return false;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		error_setg(errp, "out of memory");
		return false;
	}
	t = gpci_get_long(table);
	p = gpci_get_long(pba);
	m->table_bar = (uint8_t)(t & PCI_MSIX_TABLE_BIR);
	m->table_offset = t & ~(uint32_t)PCI_MSIX_TABLE_BIR;
	m->pba_bar = (uint8_t)(p & PCI_MSIX_PBA_BIR);
	m->pba_offset = p & ~(uint32_t)PCI_MSIX_PBA_BIR;
	m->entries = (gpci_get_word(ctrl) & PCI_MSIX_FLAGS_QSIZE) + 1u;
	if (m->pba_bar >= VFC_PCI_NUM_BARS || m->table_bar >= VFC_PCI_NUM_BARS) {
		error_setg(errp, "Hardware reports invalid configuration, "
			   "MSIX BIR %u/%u out of range", m->table_bar, m->pba_bar);
		free(m);
		return false;
	}
	if (!vfc_pci_msix_check_pba(vdev->vendor_id, vdev->device_id,
				    vdev->bars[m->pba_bar].region.size,
				    &m->pba_offset, &m->pba_quirk, errp)) {
		free(m);
		return false;
	}
	vdev->msix = m;
	return true;
}

/* ------------------------------------------------------------------ */
/* capabilities (seed 5.5)                                              */

/* Bytes from pos to the next capability above it (or to 0xff). */
static uint8_t std_cap_max_size(GPciDevice *pdev, uint8_t pos)
{
	uint8_t tmp, next = 0xff;
	unsigned ttl = CAP_WALK_MAX;

	for (tmp = pdev->config[PCI_CAPABILITY_LIST]; tmp && ttl--;
	     tmp = pdev->config[tmp + PCI_CAP_LIST_NEXT])
		if (tmp > pos && tmp < next)
			next = tmp;
	return (uint8_t)(next - pos);
}

static int msi_setup(VfcPciDevice *vdev, uint8_t pos, Error **errp)
{
	uint8_t raw[2];
	uint16_t ctrl;
	bool is64, maskbit;
	unsigned entries;
	Error *err = NULL;
	ssize_t r;
	int ret;

	r = vfc_pread(vname(vdev), vdev->vbasedev.fd, raw, 2,
		      (off_t)(vdev->config_offset + pos + PCI_MSI_FLAGS));
	if (r != 2) {
		error_setg(errp, "failed to read MSI flags: %s",
			   r < 0 ? strerror((int)-r) : "short read");
		return r < 0 ? (int)r : -EIO;
	}
	ctrl = gpci_get_word(raw);
	is64 = ctrl & PCI_MSI_FLAGS_64BIT;
	maskbit = ctrl & PCI_MSI_FLAGS_MASKBIT;
	entries = 1u << ((ctrl & PCI_MSI_FLAGS_QMASK) >> 1);
	ret = gmsi_init(&vdev->pdev, pos, entries, is64, maskbit, &err);
	if (ret < 0) {
		if (ret == -ENOTSUP) {
			error_free(err);
			return 0;
		}
		error_propagate(errp, err);
		error_prepend(errp, "msi_init failed: ");
		return ret;
	}
	vdev->msi_cap_size = 0xa + (maskbit ? 0xa : 0) + (is64 ? 0x4 : 0);
	return 0;
}

static int msix_setup(VfcPciDevice *vdev, uint8_t pos, Error **errp)
{
	VfcMsixInfo *m = vdev->msix;
	Error *err = NULL;
	int ret;

	if (!m || !vdev->bars[m->table_bar].mem_init || !vdev->bars[m->pba_bar].mem_init) {
		error_setg(errp, "msix_init failed: the MSI-X BAR is not mapped");
		return -EINVAL;
	}
	ret = gmsix_init(&vdev->pdev, m->entries, &vdev->bars[m->table_bar].mem,
			 m->table_bar, m->table_offset, &vdev->bars[m->pba_bar].mem,
			 m->pba_bar, m->pba_offset, pos, &err);
	if (ret < 0) {
		if (ret == -ENOTSUP) {
			error_free(err);
			return 0;
		}
		error_propagate(errp, err);
		error_prepend(errp, "msix_init failed: ");
		return ret;
	}
	return 0;
}

static int pcie_setup(VfcPciDevice *vdev, uint8_t pos, uint8_t size, Error **errp)
{
	uint16_t flags = gpci_get_word(vdev->pdev.config + pos + PCI_EXP_FLAGS);
	unsigned type = (flags & PCI_EXP_FLAGS_TYPE) >> 4;
	int ret;

	if (type != PCI_EXP_TYPE_ENDPOINT && type != PCI_EXP_TYPE_LEG_END &&
	    type != PCI_EXP_TYPE_RC_END) {
		error_setg(errp, "Assignment of PCIe type 0x%x "
			   "devices is not currently supported", type);
		return -EINVAL;
	}
	/* A conventional PCI bus: the capability as-is (as QEMU does). */
	ret = gpci_add_capability(&vdev->pdev, PCI_CAP_ID_EXP, pos, size, errp);
	if (ret >= 0)
		vdev->exp_cap = (uint8_t)ret;
	return ret;
}

static int add_std_cap(VfcPciDevice *vdev, uint8_t pos, unsigned depth, Error **errp)
{
	GPciDevice *pdev = &vdev->pdev;
	uint8_t cap_id, next, size;
	int ret;

	if (depth > CAP_WALK_MAX || pos < PCI_STD_HEADER_SIZEOF) {
		error_setg(errp, "Error adding PCI capability at 0x%x: "
			   "broken capability list", pos);
		return -EINVAL;
	}
	cap_id = pdev->config[pos];
	next = pdev->config[pos + PCI_CAP_LIST_NEXT];
	/* Computed now: the cached config changes as the recursion unwinds. */
	size = std_cap_max_size(pdev, pos);

	/*
	 * Adding a capability puts it at the head of the list: to end up in
	 * the device's order, add from the end (recursion).
	 */
	if (next) {
		ret = add_std_cap(vdev, next, depth + 1, errp);
		if (ret)
			return ret;
	} else {
		/* Begin the rebuild with an emulated list. */
		pdev->config[PCI_CAPABILITY_LIST] = 0;
		vdev->emulated_config_bits[PCI_CAPABILITY_LIST] = 0xff;
		vdev->emulated_config_bits[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	}
	/* Emulated next pointers make dropping capabilities possible. */
	vdev->emulated_config_bits[pos + PCI_CAP_LIST_NEXT] = 0xff;

	switch (cap_id) {
	case PCI_CAP_ID_MSI:
		ret = msi_setup(vdev, pos, errp);
		break;
	case PCI_CAP_ID_EXP:
		if (gpci_get_long(pdev->config + pos + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR)
			vdev->has_flr = true;
		ret = pcie_setup(vdev, pos, size, errp);
		break;
	case PCI_CAP_ID_MSIX:
		ret = msix_setup(vdev, pos, errp);
		break;
	case PCI_CAP_ID_PM:
		if (!(gpci_get_word(pdev->config + pos + PCI_PM_CTRL) &
		      PCI_PM_CTRL_NO_SOFT_RESET))
			vdev->has_pm_reset = true;
		vdev->pm_cap = pos;
		ret = gpci_add_capability(pdev, cap_id, pos, size, errp);
		break;
	case PCI_CAP_ID_AF: {
		uint8_t cap = pdev->config[pos + PCI_AF_CAP];

		if ((cap & PCI_AF_CAP_TP) && (cap & PCI_AF_CAP_FLR))
			vdev->has_flr = true;
		ret = gpci_add_capability(pdev, cap_id, pos, size, errp);
		break;
	}
	default:
		ret = gpci_add_capability(pdev, cap_id, pos, size, errp);
		break;
	}
	if (ret < 0) {
		error_prepend(errp, "Error adding PCI capability 0x%x[0x%x]@0x%x: %d: ",
			      cap_id, size, pos, ret);
		return ret;
	}
	return 0;
}

static bool add_capabilities(VfcPciDevice *vdev, Error **errp)
{
	GPciDevice *pdev = &vdev->pdev;

	if (!(pdev->config[PCI_STATUS] & PCI_STATUS_CAP_LIST) ||
	    !pdev->config[PCI_CAPABILITY_LIST])
		return true;	/* nothing to add */
	return add_std_cap(vdev, pdev->config[PCI_CAPABILITY_LIST], 0, errp) == 0;
}

/* ------------------------------------------------------------------ */
/* realize                                                              */

bool vfc_pci_setup_config(VfcPciDevice *vdev, Error **errp)
{
	GPciDevice *pdev = &vdev->pdev;
	unsigned cfg = gpci_config_size(pdev), i;
	size_t emu_size = vdev->config_size > PCI_CFG_SPACE_EXP_SIZE ?
			  vdev->config_size : PCI_CFG_SPACE_EXP_SIZE;
	size_t want = vdev->config_size < cfg ? vdev->config_size : cfg;
	ssize_t r;

	/* A copy of config space. */
	r = vfc_pread(vname(vdev), vdev->vbasedev.fd, pdev->config, want,
		      (off_t)vdev->config_offset);
	if (r < (ssize_t)want) {
		error_setg(errp, "Failed to read device config space%s%s",
			   r < 0 ? ": " : "", r < 0 ? strerror((int)-r) : "");
		return false;
	}
	/* vfio emulates a lot for us, but some bits need extra love. */
	vdev->emulated_config_bits = calloc(1, emu_size);
	if (!vdev->emulated_config_bits) {
		error_setg(errp, "out of memory");
		return false;
	}
	/* We choose whether to expose the ROM. */
	memset(vdev->emulated_config_bits + PCI_ROM_ADDRESS, 0xff, 4);

	if (!vfc_pci_check_ids(&vdev->props, errp))
		return false;
	if (vdev->props.vendor_id != VFC_PCI_ANY_ID) {
		add_emulated_word(vdev, PCI_VENDOR_ID, (uint16_t)vdev->props.vendor_id, 0xffff);
		vdev->vendor_id = vdev->props.vendor_id;
	} else {
		vdev->vendor_id = gpci_get_word(pdev->config + PCI_VENDOR_ID);
	}
	if (vdev->props.device_id != VFC_PCI_ANY_ID) {
		add_emulated_word(vdev, PCI_DEVICE_ID, (uint16_t)vdev->props.device_id, 0xffff);
		vdev->device_id = vdev->props.device_id;
	} else {
		vdev->device_id = gpci_get_word(pdev->config + PCI_DEVICE_ID);
	}
	if (vdev->props.sub_vendor_id != VFC_PCI_ANY_ID)
		add_emulated_word(vdev, PCI_SUBSYSTEM_VENDOR_ID,
				  (uint16_t)vdev->props.sub_vendor_id, 0xffff);
	if (vdev->props.sub_device_id != VFC_PCI_ANY_ID)
		add_emulated_word(vdev, PCI_SUBSYSTEM_ID,
				  (uint16_t)vdev->props.sub_device_id, 0xffff);

	/* Multifunction is ours to show or hide. */
	vdev->emulated_config_bits[PCI_HEADER_TYPE] = GPCI_HEADER_TYPE_MULTI_FUNCTION;
	if (pdev->cap_present & GPCI_CAP_MULTIFUNCTION)
		pdev->config[PCI_HEADER_TYPE] |= GPCI_HEADER_TYPE_MULTI_FUNCTION;
	else
		pdev->config[PCI_HEADER_TYPE] &= (uint8_t)~GPCI_HEADER_TYPE_MULTI_FUNCTION;

	/* No residual host addresses in BARs we may not register. */
	memset(pdev->config + PCI_BASE_ADDRESS_0, 0, 24);
	memset(pdev->config + PCI_ROM_ADDRESS, 0, 4);

	size_rom(vdev);
	if (!msix_early_setup(vdev, errp))
		return false;
	for (i = 0; i < VFC_PCI_NUM_BARS; i++)
		map_bar(vdev, i);
	if (!add_capabilities(vdev, errp))
		return false;

	/* MSI and MSI-X are all ours. */
	if (pdev->cap_present & GPCI_CAP_MSIX)
		memset(vdev->emulated_config_bits + pdev->msix_cap, 0xff, GMSIX_CAP_LENGTH);
	if (pdev->cap_present & GPCI_CAP_MSI)
		memset(vdev->emulated_config_bits + pdev->msi_cap, 0xff, vdev->msi_cap_size);
	return true;
}

static bool get_region(VfcPciDevice *vdev, unsigned index,
		       struct vfio_region_info *info)
{
	int ret;

	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	ret = VFC_IOCTL(vname(vdev), vdev->vbasedev.fd, VFIO_DEVICE_GET_REGION_INFO, info);
	if (ret) {
		errno = -ret;
		return false;
	}
	trace_core_vfio_region(vname(vdev), index, info->size, info->offset, info->flags);
	return true;
}

static bool populate_device(VfcPciDevice *vdev, Error **errp)
{
	VfcDevice *vb = &vdev->vbasedev;
	struct vfio_region_info info;
	struct vfio_irq_info irq = { .argsz = sizeof(irq) };
	unsigned i;
	int ret;

	if (!(vb->flags & VFIO_DEVICE_FLAGS_PCI)) {
		error_setg(errp, "Um, this isn't a PCI device");
		return false;
	}
	if (vb->num_regions < VFIO_PCI_CONFIG_REGION_INDEX + 1) {
		error_setg(errp, "unexpected number of io regions %u", vb->num_regions);
		return false;
	}
	if (vb->num_irqs < VFIO_PCI_MSIX_IRQ_INDEX + 1) {
		error_setg(errp, "unexpected number of irqs %u", vb->num_irqs);
		return false;
	}
	for (i = VFIO_PCI_BAR0_REGION_INDEX; i < VFIO_PCI_ROM_REGION_INDEX; i++) {
		if (!get_region(vdev, i, &info)) {
			error_setg_errno(errp, errno, "Error getting region %u info", i);
			return false;
		}
		vdev->bars[i].vdev = vdev;
		vdev->bars[i].nr = i;
		vdev->bars[i].region.flags = info.flags;
		vdev->bars[i].region.size = info.size;
		vdev->bars[i].region.fd_offset = info.offset;
		vdev->bars[i].region.nr = i;
	}
	if (!get_region(vdev, VFIO_PCI_CONFIG_REGION_INDEX, &info)) {
		error_setg_errno(errp, errno, "Error getting config info");
		return false;
	}
	vdev->config_size = info.size;
	if (vdev->config_size == PCI_CFG_SPACE_SIZE)
		vdev->pdev.cap_present &= ~GPCI_CAP_EXPRESS;
	vdev->config_offset = info.offset;

	if (vdev->props.vga && vb->num_regions > VFIO_PCI_VGA_REGION_INDEX) {
		if (!get_region(vdev, VFIO_PCI_VGA_REGION_INDEX, &info)) {
			error_setg(errp, "Device does not support requested feature x-vga");
			return false;
		}
		if (!(info.flags & VFIO_REGION_INFO_FLAG_READ) ||
		    !(info.flags & VFIO_REGION_INFO_FLAG_WRITE) ||
		    info.size < 0xbffff + 1) {
			error_setg(errp, "Unexpected VGA info, flags 0x%lx, size 0x%lx",
				   (unsigned long)info.flags, (unsigned long)info.size);
			return false;
		}
		vdev->vga_offset = info.offset;
		vdev->has_vga = true;
	}

	irq.index = VFIO_PCI_ERR_IRQ_INDEX;
	ret = VFC_IOCTL(vname(vdev), vb->fd, VFIO_DEVICE_GET_IRQ_INFO, &irq);
	if (ret) {
		/* An old kernel or a legacy PCI device: fine. */
	} else if (irq.count == 1) {
		vdev->pci_aer = true;
	} else {
		vfc_warn("vfio: %s Could not enable error recovery for the device",
			 vname(vdev));
	}
	return true;
}

static void err_notifier_handler(void *opaque)
{
	VfcPciDevice *vdev = opaque;

	if (!drain_eventfd(vdev->err_fd))
		return;
	trace_core_vfio_irq(vname(vdev), "err", 0);
	vdev->err_detected = true;
	vfc_warn("vfio_err_notifier_handler(%s) Unrecoverable error detected.  "
		 "Please collect any data possible and then kill the guest",
		 vname(vdev));
}

static void register_err_notifier(VfcPciDevice *vdev)
{
	int ret;

	if (!vdev->pci_aer)
		return;
	vdev->err_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vdev->err_fd < 0) {
		vfc_warn("vfio: Warning: Unable to init event notifier for error detection");
		vdev->pci_aer = false;
		return;
	}
	vfc_set_fd_handler(vdev->err_fd, err_notifier_handler, vdev);
	ret = set_irq_fd(vdev, VFIO_PCI_ERR_IRQ_INDEX, 0, vdev->err_fd);
	if (ret) {
		vfc_warn("vfio: Failed to set up error notification");
		close_eventfd(&vdev->err_fd);
		vdev->pci_aer = false;
	}
}

static void unregister_err_notifier(VfcPciDevice *vdev)
{
	if (!vdev->pci_aer || vdev->err_fd < 0)
		return;
	if (set_irq_fd(vdev, VFIO_PCI_ERR_IRQ_INDEX, 0, -1))
		vfc_warn("vfio: Failed to de-assign error fd");
	close_eventfd(&vdev->err_fd);
}

static void req_notifier_handler(void *opaque)
{
	VfcPciDevice *vdev = opaque;

	if (!drain_eventfd(vdev->req_fd))
		return;
	trace_core_vfio_irq(vname(vdev), "req", 0);
	/* QEMU asks the guest to unplug the device; we count the requests. */
	vdev->req_count++;
	vfc_warn("%s: device request: the host wants the device back", vdev->msg_name);
}

static void register_req_notifier(VfcPciDevice *vdev)
{
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_REQ_IRQ_INDEX };

	if (!vdev->props.req)
		return;
	if (VFC_IOCTL(vname(vdev), vdev->vbasedev.fd, VFIO_DEVICE_GET_IRQ_INFO, &irq) ||
	    irq.count < 1)
		return;
	vdev->req_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vdev->req_fd < 0) {
		vfc_warn("vfio: Unable to init event notifier for device request");
		return;
	}
	vfc_set_fd_handler(vdev->req_fd, req_notifier_handler, vdev);
	if (set_irq_fd(vdev, VFIO_PCI_REQ_IRQ_INDEX, 0, vdev->req_fd)) {
		vfc_warn("vfio: Failed to set up device request notification");
		close_eventfd(&vdev->req_fd);
		return;
	}
	vdev->req_enabled = true;
}

static void unregister_req_notifier(VfcPciDevice *vdev)
{
	if (!vdev->req_enabled)
		return;
	if (set_irq_fd(vdev, VFIO_PCI_REQ_IRQ_INDEX, 0, -1))
		vfc_warn("vfio: Failed to de-assign device request fd");
	close_eventfd(&vdev->req_fd);
	vdev->req_enabled = false;
}

void vfc_pci_teardown(VfcPciDevice *vdev)
{
	if (vdev->vbasedev.fd >= 0) {
		unregister_req_notifier(vdev);
		unregister_err_notifier(vdev);
		gpci_device_set_intx_routing_notifier(&vdev->pdev, NULL);
		if (vdev->pdev.config)
			disable_interrupts(vdev);
	}
	close_eventfd(&vdev->intx_fd);
	close_eventfd(&vdev->err_fd);
	close_eventfd(&vdev->req_fd);
	if (vdev->pdev.config) {
		gmsix_uninit(&vdev->pdev);
		gmsi_uninit(&vdev->pdev);
	}
	unmap_bars(vdev);
	free(vdev->emulated_config_bits);
	vdev->emulated_config_bits = NULL;
	free(vdev->rom_data);
	vdev->rom_data = NULL;
	free(vdev->msix);
	vdev->msix = NULL;
	free(vdev->msi_vectors);
	vdev->msi_vectors = NULL;
	vdev->nr_vectors = 0;
	vdev->interrupt = VFC_INT_NONE;
	if (vdev->vbasedev.group) {
		VfcGroup *g = vdev->vbasedev.group;

		vfc_device_put(&vdev->vbasedev);
		vfc_group_put(g);
	} else if (vdev->vbasedev.fd >= 0) {
		close(vdev->vbasedev.fd);
		vdev->vbasedev.fd = -1;
	}
}

static void compute_needs_reset(VfcDevice *vb)
{
	VfcPciDevice *vdev = vb->opaque;

	if (!vb->reset_works || (!vdev->has_flr && vdev->has_pm_reset))
		vb->needs_reset = true;
}

static int hot_reset_multi(VfcDevice *vb)
{
	return vfc_pci_hot_reset(vb->opaque, false);
}

static const VfcDeviceOps pci_ops = {
	.compute_needs_reset = compute_needs_reset,
	.hot_reset_multi = hot_reset_multi,
};

static bool pci_initfn(VfcPciDevice *vdev, Error **errp)
{
	char path[PATH_MAX], link[PATH_MAX], *group_name;
	struct stat st;
	VfcGroup *group;
	VfcDevice *it;
	ssize_t len;
	int groupid;
	uint8_t pin;

	/* The host device must exist. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/", vdev->props.host);
	if (stat(path, &st) < 0) {
		error_setg(errp, "error: no such host device: %s", path);
		return false;
	}
	snprintf(vdev->vbasedev.name, sizeof(vdev->vbasedev.name), "%s", vdev->props.host);
	vdev->vbasedev.ops = &pci_ops;
	vdev->vbasedev.opaque = vdev;

	strncat(path, "iommu_group", sizeof(path) - strlen(path) - 1);
	len = readlink(path, link, sizeof(link));
	if (len <= 0 || len >= (ssize_t)sizeof(link)) {
		error_setg(errp, "error no iommu_group for device");
		return false;
	}
	link[len] = 0;
	group_name = basename(link);
	if (sscanf(group_name, "%d", &groupid) != 1) {
		error_setg(errp, "error reading %s: %s", path, "no group number");
		return false;
	}
	trace_core_vfio_realize(vname(vdev), groupid);

	group = vfc_group_get(groupid, gpci_device_iommu_address_space(&vdev->pdev), errp);
	if (!group) {
		error_prepend(errp, "failed to get group %d: ", groupid);
		return false;
	}
	for (it = group->devices; it; it = it->next) {
		if (!strcmp(it->name, vdev->vbasedev.name)) {
			error_setg(errp, "error: device %s is already attached",
				   vdev->vbasedev.name);
			vfc_group_put(group);
			return false;
		}
	}
	if (!vfc_device_get(group, &vdev->vbasedev, errp)) {
		error_prepend(errp, "failed to get device %s: ", vdev->vbasedev.name);
		vfc_group_put(group);
		return false;
	}
	if (!populate_device(vdev, errp) || !vfc_pci_setup_config(vdev, errp))
		return false;

	pin = (uint8_t)vfc_pci_read_config(&vdev->pdev, PCI_INTERRUPT_PIN, 1);
	if (pin) {
		gpci_device_set_intx_routing_notifier(&vdev->pdev, intx_update);
		if (!intx_enable(vdev, errp))
			return false;
	}
	register_err_notifier(vdev);
	register_req_notifier(vdev);
	return true;
}

static bool class_realize(GPciDevice *pdev, Error **errp)
{
	VfcPciDevice *vdev = vfc_pci_from_pdev(pdev);

	if (!pci_initfn(vdev, errp)) {
		error_prepend(errp, "%s: ", vdev->msg_name);
		vfc_pci_teardown(vdev);
		return false;
	}
	return true;
}

static void class_exit(GPciDevice *pdev)
{
	vfc_pci_teardown(vfc_pci_from_pdev(pdev));
}

const GPciDeviceClass vfc_pci_class = {
	.type = "vfio-pci",
	.is_express = true,
	.realize = class_realize,
	.exit = class_exit,
	.config_read = vfc_pci_read_config,
	.config_write = vfc_pci_write_config,
	.reset = vfc_pci_reset,
};

VfcPciDevice *vfc_pci_new(const VfcPciProps *props, Error **errp)
{
	VfcPciDevice *vdev;

	if (!props->host[0]) {
		error_setg(errp, "vfio-pci: property 'host' is required");
		return NULL;
	}
	vdev = calloc(1, sizeof(*vdev));
	if (!vdev) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	vdev->props = *props;
	vdev->vbasedev.fd = -1;
	vdev->intx_fd = vdev->err_fd = vdev->req_fd = -1;
	snprintf(vdev->vbasedev.name, sizeof(vdev->vbasedev.name), "%s", props->host);
	snprintf(vdev->msg_name, sizeof(vdev->msg_name), "vfio %s", props->host);
	return vdev;
}

bool vfc_pci_realize(VfcPciDevice *vdev, GPciBus *bus, Error **errp)
{
	gpci_device_init(&vdev->pdev, &vfc_pci_class, bus, vdev->props.devfn,
			 vdev->props.id[0] ? vdev->props.id : NULL, vdev);
	gpci_device_set_multifunction(&vdev->pdev, vdev->props.multifunction);
	return gpci_device_realize(&vdev->pdev, errp);
}

void vfc_pci_unrealize(VfcPciDevice *vdev)
{
	gpci_device_unrealize(&vdev->pdev);
}

void vfc_pci_free(VfcPciDevice *vdev)
{
	if (!vdev)
		return;
	if (vdev->pdev.realized)
		vfc_pci_unrealize(vdev);
	free(vdev);
}

/* ------------------------------------------------------------------ */
/* resets                                                               */

static void pre_reset(VfcPciDevice *vdev)
{
	GPciDevice *pdev = &vdev->pdev;
	uint16_t cmd;

	disable_interrupts(vdev);
	/* Make sure the device is in D0. */
	if (vdev->pm_cap) {
		uint16_t pmcsr = (uint16_t)vfc_pci_read_config(pdev, vdev->pm_cap + PCI_PM_CTRL, 2);

		if (pmcsr & PCI_PM_CTRL_STATE_MASK) {
			pmcsr &= (uint16_t)~PCI_PM_CTRL_STATE_MASK;
			vfc_pci_write_config(pdev, vdev->pm_cap + PCI_PM_CTRL, pmcsr, 2);
			pmcsr = (uint16_t)vfc_pci_read_config(pdev, vdev->pm_cap + PCI_PM_CTRL, 2);
			if (pmcsr & PCI_PM_CTRL_STATE_MASK)
				vfc_warn("vfio: Unable to power on device, stuck in D%u",
					 pmcsr & PCI_PM_CTRL_STATE_MASK);
		}
	}
	/* Stop DMA: no I/O, memory or bus master; INTx Disable known. */
	cmd = (uint16_t)vfc_pci_read_config(pdev, PCI_COMMAND, 2);
	cmd &= (uint16_t)~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			   PCI_COMMAND_INTX_DISABLE);
	vfc_pci_write_config(pdev, PCI_COMMAND, cmd, 2);
}

static void post_reset(VfcPciDevice *vdev)
{
	uint8_t zero[4] = { 0 };
	unsigned nr;

	intx_enable_warn(vdev);
	for (nr = 0; nr < VFC_PCI_NUM_BARS; nr++) {
		off_t off = (off_t)(vdev->config_offset + PCI_BASE_ADDRESS_0 + 4 * nr);

		if (vfc_pwrite(vname(vdev), vdev->vbasedev.fd, zero, 4, off) != 4)
			vfc_warn("vfio_pci_post_reset(%s) reset bar %u failed",
				 vname(vdev), nr);
	}
}

static VfcPciDevice *owned_device(VfcGroup *g, const char *bdf)
{
	VfcDevice *d;

	for (d = g->devices; d; d = d->next)
		if (d->ops == &pci_ops && !strcmp(d->name, bdf))
			return d->opaque;
	return NULL;
}

int vfc_pci_hot_reset(VfcPciDevice *vdev, bool single)
{
	struct vfio_pci_hot_reset_info *info;
	struct vfio_pci_dependent_device *devs;
	struct vfio_pci_hot_reset *reset;
	VfcGroup *g;
	bool multi = false;
	uint32_t count, i, nfds;
	int ret;

	trace_core_vfio_reset(vname(vdev), single ? "hot-one" : "hot-multi", 0);
	if (!single)
		pre_reset(vdev);
	vdev->vbasedev.needs_reset = false;

	/* First call: ENOSPC and the count. */
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	info->argsz = sizeof(*info);
	ret = VFC_IOCTL(vname(vdev), vdev->vbasedev.fd,
			VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info);
	if (ret && ret != -ENOSPC) {
		if (!vdev->has_pm_reset)
			vfc_warn("vfio: Cannot reset device %s, no available reset mechanism.",
				 vname(vdev));
		goto out_single;
	}
	count = info->count;
	free(info);
	info = calloc(1, sizeof(*info) + (size_t)count * sizeof(*devs));
	if (!info) {
		ret = -ENOMEM;
		goto out_single;
	}
	info->argsz = (uint32_t)(sizeof(*info) + (size_t)count * sizeof(*devs));
	ret = VFC_IOCTL(vname(vdev), vdev->vbasedev.fd,
			VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info);
	if (ret) {
		vfc_warn("vfio: hot reset info failed: %s", strerror(-ret));
		goto out_single;
	}
	devs = info->devices;
	if (info->count < count)
		count = info->count;

	/* Every affected group must be ours; prepare our other devices. */
	for (i = 0; i < count; i++) {
		char bdf[16];
		VfcPciDevice *tmp;

		snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", devs[i].segment,
			 devs[i].bus, GPCI_SLOT(devs[i].devfn), GPCI_FUNC(devs[i].devfn));
		if (!strcmp(bdf, vname(vdev)))
			continue;
		g = vfc_group_find((int)devs[i].group_id);
		if (!g) {
			if (!vdev->has_pm_reset)
				vfc_warn("vfio: Cannot reset device %s, depends on group %u "
					 "which is not owned.", vname(vdev), devs[i].group_id);
			ret = -EPERM;
			goto out;
		}
		tmp = owned_device(g, bdf);
		if (tmp) {
			if (single) {
				ret = -EINVAL;
				goto out_single;
			}
			pre_reset(tmp);
			tmp->vbasedev.needs_reset = false;
			multi = true;
		}
	}
	if (!single && !multi) {
		ret = -EINVAL;
		goto out_single;
	}

	/* The group fds of every affected group we own. */
	nfds = 0;
	for (g = vfc_group_first(); g; g = g->next)
		for (i = 0; i < count; i++)
			if ((int)devs[i].group_id == g->groupid) {
				nfds++;
				break;
			}
	reset = calloc(1, sizeof(*reset) + (size_t)nfds * sizeof(int32_t));
	if (!reset) {
		ret = -ENOMEM;
		goto out;
	}
	reset->argsz = (uint32_t)(sizeof(*reset) + (size_t)nfds * sizeof(int32_t));
	nfds = 0;
	for (g = vfc_group_first(); g; g = g->next)
		for (i = 0; i < count; i++)
			if ((int)devs[i].group_id == g->groupid) {
				reset->group_fds[nfds++] = g->fd;
				break;
			}
	reset->count = nfds;
	ret = VFC_IOCTL(vname(vdev), vdev->vbasedev.fd, VFIO_DEVICE_PCI_HOT_RESET, reset);
	free(reset);
	trace_core_vfio_reset(vname(vdev), "hot-result", ret);

out:
	/* Re-enable INTx on the other affected devices. */
	for (i = 0; i < count; i++) {
		char bdf[16];
		VfcPciDevice *tmp;

		snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", devs[i].segment,
			 devs[i].bus, GPCI_SLOT(devs[i].devfn), GPCI_FUNC(devs[i].devfn));
		if (!strcmp(bdf, vname(vdev)))
			continue;
		g = vfc_group_find((int)devs[i].group_id);
		if (!g)
			break;
		tmp = owned_device(g, bdf);
		if (tmp)
			post_reset(tmp);
	}
out_single:
	if (!single)
		post_reset(vdev);
	free(info);
	return ret;
}

void vfc_pci_reset(GPciDevice *pdev)
{
	VfcPciDevice *vdev = vfc_pci_from_pdev(pdev);
	int ret;

	if (vdev->vbasedev.fd < 0)
		return;
	trace_core_vfio_reset(vname(vdev), "reset", 0);
	pre_reset(vdev);
	if (vdev->vbasedev.reset_works && (vdev->has_flr || !vdev->has_pm_reset)) {
		ret = VFC_IOCTL(vname(vdev), vdev->vbasedev.fd, VFIO_DEVICE_RESET, 0);
		trace_core_vfio_reset(vname(vdev), "flr", ret);
		if (!ret)
			goto post;
	}
	/* Our own bus reset. */
	if (!vfc_pci_hot_reset(vdev, true))
		goto post;
	/* Last resort: a PM reset. */
	if (vdev->vbasedev.reset_works && vdev->has_pm_reset) {
		ret = VFC_IOCTL(vname(vdev), vdev->vbasedev.fd, VFIO_DEVICE_RESET, 0);
		trace_core_vfio_reset(vname(vdev), "pm", ret);
	}
post:
	post_reset(vdev);
}

/* ------------------------------------------------------------------ */
/* the state dump                                                       */

static const char *cap_name(uint8_t id)
{
	switch (id) {
	case PCI_CAP_ID_PM: return "PM";
	case PCI_CAP_ID_MSI: return "MSI";
	case PCI_CAP_ID_EXP: return "EXP";
	case PCI_CAP_ID_MSIX: return "MSIX";
	case PCI_CAP_ID_AF: return "AF";
	case PCI_CAP_ID_VNDR: return "VNDR";
	default: return "other";
	}
}

static const char *const mode_names[] = { "none", "intx", "msi", "msix" };

void vfc_pci_dump(VfcPciDevice *vdev, FILE *out)
{
	GPciDevice *pdev = &vdev->pdev;
	VfcContainer *c = vdev->vbasedev.group ? vdev->vbasedev.group->container : NULL;
	unsigned off, i, ttl;
	uint8_t pos;

	fprintf(out, "device %s id=%s devfn=%02x.%x group=%d container=%s mappings=%u\n",
		vname(vdev), pdev->id, GPCI_SLOT(pdev->devfn), GPCI_FUNC(pdev->devfn),
		vdev->vbasedev.group ? vdev->vbasedev.group->groupid : -1,
		c ? c->name : "-", c ? c->nr_mappings : 0);
	fprintf(out, "flags reset_works=%d has_flr=%d has_pm_reset=%d pci_aer=%d "
		"req=%d config_size=0x%llx\n", vdev->vbasedev.reset_works, vdev->has_flr,
		vdev->has_pm_reset, vdev->pci_aer, vdev->req_enabled,
		(unsigned long long)vdev->config_size);
	fprintf(out, "config:\n");
	for (off = 0; off < PCI_CFG_SPACE_SIZE; off += 16) {
		fprintf(out, "  %03x:", off);
		for (i = 0; i < 16; i += 4)
			fprintf(out, " %08x", vfc_pci_read_config(pdev, off + i, 4));
		fprintf(out, "\n");
	}
	fprintf(out, "caps:");
	pos = (uint8_t)vfc_pci_read_config(pdev, PCI_CAPABILITY_LIST, 1);
	for (ttl = CAP_WALK_MAX; pos && ttl; ttl--) {
		uint8_t id = (uint8_t)vfc_pci_read_config(pdev, pos, 1);

		fprintf(out, " 0x%02x:%s", pos, cap_name(id));
		pos = (uint8_t)vfc_pci_read_config(pdev, pos + PCI_CAP_LIST_NEXT, 1);
	}
	fprintf(out, "\n");
	for (i = 0; i < VFC_PCI_NUM_BARS; i++) {
		VfcBar *bar = &vdev->bars[i];

		if (!bar->mem_init)
			continue;
		fprintf(out, "bar%u %s size=0x%llx addr=", i,
			bar->ioport ? "io" : bar->mem64 ? "mem64" : "mem32",
			(unsigned long long)bar->region.size);
		if (gpci_get_bar_addr(pdev, (int)i) == GPCI_BAR_UNMAPPED)
			fprintf(out, "unmapped");
		else
			fprintf(out, "0x%llx", (unsigned long long)gpci_get_bar_addr(pdev, (int)i));
		fprintf(out, " mmap=%s\n", bar->mmap ? "yes" : bar->mmap_failed ? "failed" : "no");
	}
	if (vdev->has_rom)
		fprintf(out, "rom size=0x%llx\n", (unsigned long long)vdev->rom_size);
	if (vdev->msix) {
		VfcMsixInfo *m = vdev->msix;

		fprintf(out, "msix entries=%u table=bar%u+0x%x pba=bar%u+0x%x%s enabled=%d\n",
			m->entries, m->table_bar, m->table_offset, m->pba_bar, m->pba_offset,
			m->pba_quirk ? " (quirk)" : "", gmsix_enabled(pdev));
		for (i = 0; pdev->msix_table && i < pdev->msix_entries_nr; i++) {
			const uint8_t *e = pdev->msix_table + i * PCI_MSIX_ENTRY_SIZE;

			fprintf(out, "  vector %u addr=0x%08x%08x data=0x%08x ctrl=0x%08x\n", i,
				gpci_get_long(e + PCI_MSIX_ENTRY_UPPER_ADDR),
				gpci_get_long(e + PCI_MSIX_ENTRY_LOWER_ADDR),
				gpci_get_long(e + PCI_MSIX_ENTRY_DATA),
				gpci_get_long(e + PCI_MSIX_ENTRY_VECTOR_CTRL));
		}
	}
	fprintf(out, "interrupt mode=%s vectors=%u intx_pin=%c irqs intx=%u msi=%u msix=%u "
		"err=%d req=%u\n", mode_names[vdev->interrupt], vdev->nr_vectors,
		pdev->config[PCI_INTERRUPT_PIN] ? 'A' + (char)vdev->intx_pin : '-',
		vdev->irq_count[VFC_INT_INTX], vdev->irq_count[VFC_INT_MSI],
		vdev->irq_count[VFC_INT_MSIX], vdev->err_detected, vdev->req_count);
}

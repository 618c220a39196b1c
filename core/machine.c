/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/machine: the guest machine for the harness (see machine.h).
 */
#include "core/machine.h"

#include <stdlib.h>
#include <string.h>

#include "core/vfio.h"

#define DEFAULT_RAM_SIZE (64ull << 20)

VfcMachine *vfc_machine_new(const VfcMachineConfig *cfg, Error **errp)
{
	VfcMachine *m = calloc(1, sizeof(*m));
	uint64_t page = vfc_host_page_size();

	if (!m) {
		error_setg(errp, "out of memory");
		return NULL;
	}
	m->ram_size = cfg && cfg->ram_size ? cfg->ram_size : DEFAULT_RAM_SIZE;
	m->ram_base = cfg ? cfg->ram_base : 0;
	if ((m->ram_base | m->ram_size) & (page - 1) ||
	    m->ram_base + m->ram_size < m->ram_base) {
		error_setg(errp, "machine: RAM [0x%llx +0x%llx] is not page aligned",
			   (unsigned long long)m->ram_base, (unsigned long long)m->ram_size);
		free(m);
		return NULL;
	}
	gmem_region_init_container(&m->sysmem, "system", UINT64_MAX);
	gmem_region_init_container(&m->pci_mem, "pci-mem", UINT64_MAX);
	gmem_region_init_container(&m->io, "io", 0x10000);
	if (!gmem_region_init_ram(&m->ram, "ram", m->ram_size, errp)) {
		free(m);
		return NULL;
	}
	gmem_transaction_begin();
	gmem_region_add_subregion(&m->sysmem, m->ram_base, &m->ram, NULL);
	gmem_region_add_subregion_overlap(&m->sysmem, 0, &m->pci_mem, -1, NULL);
	gmem_transaction_commit();
	gmem_as_init(&m->as_mem, &m->sysmem, "memory");
	gmem_as_init(&m->as_io, &m->io, "io");
	gintc_init(&m->intc, "intc");
	gpci_bus_init(&m->bus, "pci.0", &m->pci_mem, &m->io, &m->as_mem, &m->intc);
	/* A sPAPR v2 container pre-registers this space's RAM. */
	vfc_set_system_memory(&m->as_mem);
	m->platform = cfg ? cfg->platform : VFC_PLATFORM_X86;
	if (m->platform == VFC_PLATFORM_PSERIES) {
		VfcSpaprPhbConfig pc = { .dma32_size = cfg->dma_window_size };

		m->phb = vfc_spapr_phb_new(&pc, &m->as_mem, errp);
		if (!m->phb) {
			vfc_machine_free(m);
			return NULL;
		}
		vfc_spapr_phb_attach_bus(m->phb, &m->bus);
	} else if (m->platform != VFC_PLATFORM_X86) {
		error_setg(errp, "machine: unknown platform %d", (int)m->platform);
		vfc_machine_free(m);
		return NULL;
	}
	return m;
}

bool vfc_platform_parse(const char *name, VfcPlatform *out, Error **errp)
{
	if (!strcmp(name, "x86"))
		*out = VFC_PLATFORM_X86;
	else if (!strcmp(name, "pseries"))
		*out = VFC_PLATFORM_PSERIES;
	else {
		error_setg(errp, "unknown platform '%s' (x86 or pseries)", name);
		return false;
	}
	return true;
}

void vfc_machine_free(VfcMachine *m)
{
	if (!m)
		return;
	while (m->ndevices)
		vfc_machine_remove_device(m, m->devices[m->ndevices - 1]);
	vfc_spapr_phb_free(m->phb);
	vfc_set_system_memory(NULL);
	gpci_bus_destroy(&m->bus);
	gmem_as_destroy(&m->as_mem);
	gmem_as_destroy(&m->as_io);
	gmem_region_destroy(&m->pci_mem);
	gmem_region_destroy(&m->ram);
	gmem_region_destroy(&m->io);
	gmem_region_destroy(&m->sysmem);
	gintc_destroy(&m->intc);
	free(m);
}

VfcPciDevice *vfc_machine_add_vfio_pci(VfcMachine *m, const char *host,
				       const char *const *props, unsigned nprops,
				       Error **errp)
{
	VfcPciProps p;
	VfcPciDevice *vdev;
	unsigned i;

	if (m->ndevices == VFC_MACHINE_MAX_DEVICES) {
		error_setg(errp, "machine: too many devices");
		return NULL;
	}
	vfc_pci_props_init(&p);
	if (!vfc_pci_set_property(&p, "host", host, errp))
		return NULL;
	for (i = 0; i < nprops; i++) {
		char key[64];
		const char *eq = strchr(props[i], '=');

		if (!eq || eq == props[i] || (size_t)(eq - props[i]) >= sizeof(key)) {
			error_setg(errp, "property '%s': expected KEY=VALUE", props[i]);
			return NULL;
		}
		memcpy(key, props[i], (size_t)(eq - props[i]));
		key[eq - props[i]] = 0;
		if (!vfc_pci_set_property(&p, key, eq + 1, errp))
			return NULL;
	}
	vdev = vfc_pci_new(&p, errp);
	if (!vdev)
		return NULL;
	if (!vfc_pci_realize(vdev, &m->bus, errp)) {
		free(vdev);
		return NULL;
	}
	m->devices[m->ndevices++] = vdev;
	return vdev;
}

void vfc_machine_remove_device(VfcMachine *m, VfcPciDevice *vdev)
{
	unsigned i;

	for (i = 0; i < m->ndevices; i++) {
		if (m->devices[i] != vdev)
			continue;
		memmove(&m->devices[i], &m->devices[i + 1],
			(m->ndevices - i - 1) * sizeof(m->devices[0]));
		m->ndevices--;
		vfc_pci_free(vdev);
		return;
	}
}

uint32_t vfc_machine_config_read(VfcMachine *m, VfcPciDevice *vdev,
				 unsigned addr, unsigned len)
{
	(void)m;
	return gpci_config_read(&vdev->pdev, addr, (int)len);
}

void vfc_machine_config_write(VfcMachine *m, VfcPciDevice *vdev, unsigned addr,
			      unsigned len, uint32_t val)
{
	(void)m;
	gpci_config_write(&vdev->pdev, addr, val, (int)len);
}

unsigned vfc_machine_mmio_read(VfcMachine *m, uint64_t gpa, unsigned size,
			       uint64_t *val)
{
	return gmem_read_val(&m->as_mem, gpa, size, val);
}

unsigned vfc_machine_mmio_write(VfcMachine *m, uint64_t gpa, unsigned size,
				uint64_t val)
{
	return gmem_write_val(&m->as_mem, gpa, size, val);
}

unsigned vfc_machine_io_read(VfcMachine *m, uint64_t port, unsigned size,
			     uint64_t *val)
{
	return gmem_read_val(&m->as_io, port, size, val);
}

unsigned vfc_machine_io_write(VfcMachine *m, uint64_t port, unsigned size,
			      uint64_t val)
{
	return gmem_write_val(&m->as_io, port, size, val);
}

void *vfc_machine_ram_ptr(VfcMachine *m, uint64_t gpa, uint64_t len)
{
	if (gpa < m->ram_base || len > m->ram_size ||
	    gpa - m->ram_base > m->ram_size - len)
		return NULL;
	return (uint8_t *)gmem_region_ram_ptr(&m->ram) + (gpa - m->ram_base);
}

int vfc_machine_step(VfcMachine *m, int timeout_ms)
{
	(void)m;
	return vfc_fd_handlers_poll(timeout_ms);
}

void vfc_machine_set_intx_route(VfcMachine *m, int line, int irq)
{
	gpci_bus_set_intx_route(&m->bus, line, irq);
}

void vfc_machine_reset(VfcMachine *m)
{
	gpci_bus_reset(&m->bus);
	vfc_reset_handler();
}

void vfc_machine_dump(VfcMachine *m, FILE *out)
{
	unsigned i;

	fprintf(out, "machine ram=0x%llx+0x%llx devices=%u msi_delivered=%zu\n",
		(unsigned long long)m->ram_base, (unsigned long long)m->ram_size,
		m->ndevices, gintc_msi_count(&m->intc));
	if (m->phb)
		vfc_spapr_phb_dump(m->phb, out);
	for (i = 0; i < m->ndevices; i++)
		vfc_pci_dump(m->devices[i], out);
}

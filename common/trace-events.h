/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one list of trace events.  No include guard: common/trace.h includes
 * this file twice, once for the event ids and names, once for the inline
 * trace_NAME() functions.  The device (or object) name always comes first.
 *
 * TRACE_EVENT(name, (prototype), "format", arguments...)
 */

/* sim/: the device models */
TRACE_EVENT(sim_cfg_read, (const char *dev, unsigned off, unsigned len, unsigned val),
	    "%s off=0x%03x len=%u val=0x%x", dev, off, len, val)
TRACE_EVENT(sim_cfg_write, (const char *dev, unsigned off, unsigned len, unsigned val),
	    "%s off=0x%03x len=%u val=0x%x", dev, off, len, val)
TRACE_EVENT(sim_bar_read, (const char *dev, unsigned bar, unsigned long long off, unsigned len, unsigned long long val),
	    "%s bar=%u off=0x%llx len=%u val=0x%llx", dev, bar, off, len, val)
TRACE_EVENT(sim_bar_write, (const char *dev, unsigned bar, unsigned long long off, unsigned len, unsigned long long val),
	    "%s bar=%u off=0x%llx len=%u val=0x%llx", dev, bar, off, len, val)
TRACE_EVENT(sim_reset, (const char *dev, const char *kind),
	    "%s kind=%s", dev, kind)
TRACE_EVENT(sim_msi_send, (const char *dev, const char *type, unsigned vector, unsigned long long addr, unsigned data),
	    "%s %s vector=%u addr=0x%llx data=0x%x", dev, type, vector, addr, data)
TRACE_EVENT(sim_msi_pending, (const char *dev, const char *type, unsigned vector),
	    "%s %s vector=%u masked: pending", dev, type, vector)
TRACE_EVENT(sim_intx, (const char *dev, unsigned pin, int level),
	    "%s pin=%u level=%d", dev, pin, level)
TRACE_EVENT(sim_err, (const char *dev, const char *what),
	    "%s %s", dev, what)
TRACE_EVENT(sim_dma, (const char *dev, const char *dir, unsigned long long iova, unsigned long long len, int ret),
	    "%s %s iova=0x%llx len=0x%llx ret=%d", dev, dir, iova, len, ret)
TRACE_EVENT(sim_mbox, (const char *dev, unsigned opcode, unsigned retval),
	    "%s opcode=0x%02x retval=%u", dev, opcode, retval)
TRACE_EVENT(sim_dmatest_cmd, (const char *dev, unsigned op, unsigned long long src, unsigned long long dst, unsigned len, unsigned cause),
	    "%s op=%u src=0x%llx dst=0x%llx len=0x%x cause=%u", dev, op, src, dst, len, cause)

/* core/: the guest machine model (gmem, gpci, gmsi, gintc) */
TRACE_EVENT(core_mem_update, (const char *as, unsigned nsections),
	    "%s sections=%u", as, nsections)
TRACE_EVENT(core_mem_region_add, (const char *as, unsigned long long addr, unsigned long long size, const char *mr, unsigned long long offset),
	    "%s [0x%llx +0x%llx] %s+0x%llx", as, addr, size, mr, offset)
TRACE_EVENT(core_mem_region_del, (const char *as, unsigned long long addr, unsigned long long size, const char *mr, unsigned long long offset),
	    "%s [0x%llx +0x%llx] %s+0x%llx", as, addr, size, mr, offset)
TRACE_EVENT(core_mem_unassigned, (const char *as, unsigned long long addr, unsigned long long len, int is_write),
	    "%s addr=0x%llx len=0x%llx write=%d", as, addr, len, is_write)
TRACE_EVENT(core_mem_bad_access, (const char *mr, unsigned long long off, unsigned size, int is_write),
	    "%s off=0x%llx size=%u write=%d", mr, off, size, is_write)
TRACE_EVENT(core_iommu_notify, (const char *mr, unsigned long long iova, unsigned long long xlat, unsigned long long mask, unsigned perm),
	    "%s iova=0x%llx xlat=0x%llx mask=0x%llx perm=%u", mr, iova, xlat, mask, perm)
TRACE_EVENT(core_spapr_put_tce, (unsigned liobn, unsigned long long ioba, unsigned long long tce),
	    "liobn=0x%x ioba=0x%llx tce=0x%llx", liobn, ioba, tce)
TRACE_EVENT(core_spapr_eeh, (const char *phb, unsigned op, int ret),
	    "%s op=%u ret=%d", phb, op, ret)
TRACE_EVENT(core_vfio_spapr_window, (const char *container, const char *what, unsigned long long start, unsigned long long size, unsigned page_shift, int ret),
	    "%s %s start=0x%llx size=0x%llx page_shift=%u ret=%d", container, what, start, size, page_shift, ret)
TRACE_EVENT(core_pci_register, (const char *dev, unsigned slot, unsigned func),
	    "%s %02x.%x", dev, slot, func)
TRACE_EVENT(core_pci_unregister, (const char *dev, unsigned slot, unsigned func),
	    "%s %02x.%x", dev, slot, func)
TRACE_EVENT(core_pci_cfg_read, (const char *dev, unsigned off, unsigned len, unsigned val),
	    "%s off=0x%03x len=%u val=0x%x", dev, off, len, val)
TRACE_EVENT(core_pci_cfg_write, (const char *dev, unsigned off, unsigned len, unsigned val),
	    "%s off=0x%03x len=%u val=0x%x", dev, off, len, val)
TRACE_EVENT(core_pci_bar_map, (const char *dev, unsigned bar, unsigned long long addr, unsigned long long size),
	    "%s bar=%u addr=0x%llx size=0x%llx", dev, bar, addr, size)
TRACE_EVENT(core_pci_bar_unmap, (const char *dev, unsigned bar, unsigned long long addr, unsigned long long size),
	    "%s bar=%u addr=0x%llx size=0x%llx", dev, bar, addr, size)
TRACE_EVENT(core_pci_intx, (const char *dev, unsigned pin, int level),
	    "%s pin=%u level=%d", dev, pin, level)
TRACE_EVENT(core_pci_reset, (const char *dev, const char *kind),
	    "%s kind=%s", dev, kind)
TRACE_EVENT(core_msi_notify, (const char *dev, const char *type, unsigned vector, unsigned long long addr, unsigned data),
	    "%s %s vector=%u addr=0x%llx data=0x%x", dev, type, vector, addr, data)
TRACE_EVENT(core_msi_pending, (const char *dev, const char *type, unsigned vector),
	    "%s %s vector=%u masked: pending", dev, type, vector)
TRACE_EVENT(core_msi_drop, (const char *dev, unsigned long long addr, unsigned data, const char *why),
	    "%s addr=0x%llx data=0x%x dropped: %s", dev, addr, data, why)
TRACE_EVENT(core_msix_mask, (const char *dev, unsigned vector, int masked),
	    "%s vector=%u masked=%d", dev, vector, masked)
TRACE_EVENT(core_intc_msi, (const char *intc, unsigned source, unsigned long long addr, unsigned data),
	    "%s source=0x%x addr=0x%llx data=0x%x", intc, source, addr, data)
TRACE_EVENT(core_intc_intx, (const char *intc, unsigned source, unsigned pin, int level),
	    "%s source=0x%x pin=%u level=%d", intc, source, pin, level)

/* core/: the passthrough core (vfio common, vfio-pci, machine) */
TRACE_EVENT(core_vfio_ioctl, (const char *obj, const char *req, int ret),
	    "%s %s ret=%d", obj, req, ret)
TRACE_EVENT(core_vfio_pread, (const char *dev, unsigned long long off, unsigned len, long ret),
	    "%s off=0x%llx len=%u ret=%ld", dev, off, len, ret)
TRACE_EVENT(core_vfio_pwrite, (const char *dev, unsigned long long off, unsigned len, long ret),
	    "%s off=0x%llx len=%u ret=%ld", dev, off, len, ret)
TRACE_EVENT(core_vfio_dma_map, (const char *container, unsigned long long iova, unsigned long long size, unsigned long long vaddr, unsigned flags, int ret),
	    "%s iova=0x%llx size=0x%llx vaddr=0x%llx flags=0x%x ret=%d", container, iova, size, vaddr, flags, ret)
TRACE_EVENT(core_vfio_dma_unmap, (const char *container, unsigned long long iova, unsigned long long size, int ret),
	    "%s iova=0x%llx size=0x%llx ret=%d", container, iova, size, ret)
TRACE_EVENT(core_vfio_listener_skip, (const char *container, unsigned long long addr, unsigned long long size, const char *why),
	    "%s [0x%llx +0x%llx] skipped: %s", container, addr, size, why)
TRACE_EVENT(core_vfio_realize, (const char *dev, int group),
	    "%s group=%d", dev, group)
TRACE_EVENT(core_vfio_region, (const char *dev, unsigned index, unsigned long long size, unsigned long long offset, unsigned flags),
	    "%s region=%u size=0x%llx offset=0x%llx flags=0x%x", dev, index, size, offset, flags)
TRACE_EVENT(core_vfio_cfg_read, (const char *dev, unsigned off, unsigned len, unsigned val),
	    "%s off=0x%03x len=%u val=0x%x", dev, off, len, val)
TRACE_EVENT(core_vfio_cfg_write, (const char *dev, unsigned off, unsigned len, unsigned val),
	    "%s off=0x%03x len=%u val=0x%x", dev, off, len, val)
TRACE_EVENT(core_vfio_bar_read, (const char *dev, unsigned bar, unsigned long long off, unsigned len, unsigned long long val),
	    "%s bar=%u off=0x%llx len=%u val=0x%llx", dev, bar, off, len, val)
TRACE_EVENT(core_vfio_bar_write, (const char *dev, unsigned bar, unsigned long long off, unsigned len, unsigned long long val),
	    "%s bar=%u off=0x%llx len=%u val=0x%llx", dev, bar, off, len, val)
TRACE_EVENT(core_vfio_irq, (const char *dev, const char *kind, unsigned vector),
	    "%s %s vector=%u", dev, kind, vector)
TRACE_EVENT(core_vfio_irq_mode, (const char *dev, const char *mode, unsigned nr_vectors),
	    "%s mode=%s vectors=%u", dev, mode, nr_vectors)
TRACE_EVENT(core_vfio_reset, (const char *dev, const char *kind, int ret),
	    "%s kind=%s ret=%d", dev, kind, ret)
TRACE_EVENT(core_vfio_warn, (const char *msg),
	    "%s", msg)

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

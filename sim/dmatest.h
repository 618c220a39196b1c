/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "dma-test" device model: register map and identity, for the tests
 * and the harness that drive it.  docs/models/dma-test.md describes the
 * device in full.
 */
#ifndef SIM_DMATEST_H
#define SIM_DMATEST_H

/* Identity. */
#define DMATEST_VENDOR_ID	0x1b36	/* Red Hat, Inc. (QEMU test devices) */
#define DMATEST_DEVICE_ID	0x11f0
#define DMATEST_SUBSYS_VENDOR	0x1b36
#define DMATEST_SUBSYS_ID	0x0001
#define DMATEST_CLASS		0x00ff00	/* unclassified, "other" */
#define DMATEST_REVISION	0x01

/* BARs. */
#define DMATEST_BAR_REGS	0	/* 32-bit MMIO, non-prefetchable */
#define DMATEST_BAR_REGS_SIZE	0x1000
#define DMATEST_BAR_IO		1	/* I/O */
#define DMATEST_BAR_IO_SIZE	0x20
#define DMATEST_BAR_MSIX	2	/* 64-bit prefetchable (BAR2 + BAR3) */
#define DMATEST_BAR_MSIX_SIZE	0x4000
#define DMATEST_MSIX_TABLE	0x0000	/* MSI-X table offset in BAR2 */
#define DMATEST_MSIX_PBA	0x1000	/* default PBA offset in BAR2 */
#define DMATEST_RAM		0x2000	/* RAM window offset in BAR2 */
#define DMATEST_RAM_SIZE	0x2000
#define DMATEST_ROM_SIZE	0x800

/* Capability offsets (MSI is absent with msi_vectors=0, MSI-X likewise). */
#define DMATEST_CAP_PM		0x40
#define DMATEST_CAP_MSI		0x50
#define DMATEST_CAP_EXP		0x70
#define DMATEST_CAP_MSIX	0xb0
#define DMATEST_ECAP_AER	0x100

/* BAR0 registers (byte offsets). */
#define DMATEST_REG_ID		0x00	/* RO   DMATEST_MAGIC */
#define DMATEST_REG_VERSION	0x04	/* RO   DMATEST_VERSION */
#define DMATEST_REG_SCRATCH	0x08	/* RW */
#define DMATEST_REG_MAX_LEN	0x0c	/* RO   DMATEST_MAX_LEN */
#define DMATEST_REG_SRC		0x10	/* RW   64-bit source IOVA */
#define DMATEST_REG_DST		0x18	/* RW   64-bit destination IOVA */
#define DMATEST_REG_LEN		0x20	/* RW   length in bytes */
#define DMATEST_REG_PATTERN	0x24	/* RW   fill pattern */
#define DMATEST_REG_CMD		0x28	/* RW   operation, IRQ enable, vector */
#define DMATEST_REG_DOORBELL	0x2c	/* WO   bit 0: run CMD (reads 0) */
#define DMATEST_REG_STATUS	0x30	/* RO   busy/done/error + cause */
#define DMATEST_REG_COMPLETIONS	0x34	/* RO   commands that succeeded */
#define DMATEST_REG_FAULT_IOVA	0x38	/* RO   64-bit IOVA of the refused DMA */
#define DMATEST_REG_INTR_STATUS	0x40	/* W1C  interrupt causes */
#define DMATEST_REG_INTR_MASK	0x44	/* RW   causes that may interrupt */
#define DMATEST_REG_BUF_ADDR	0x48	/* RW   buffer window offset */
#define DMATEST_REG_BUF_DATA	0x4c	/* RW   buffer dword at BUF_ADDR */
#define DMATEST_REG_ERRORS	0x50	/* RO   commands that failed */
#define DMATEST_REGS_END	0x54	/* beyond: unbacked, reads all-ones */

/* BAR1 (I/O) registers. */
#define DMATEST_IO_ID		0x00	/* RO   mirror of ID */
#define DMATEST_IO_SCRATCH	0x04	/* RW   mirror of SCRATCH */

#define DMATEST_MAGIC		0x54414d44u	/* "DMAT" in memory order */
#define DMATEST_VERSION		0x00000001u
#define DMATEST_MAX_LEN		0x00100000u	/* copy and fill */
#define DMATEST_BUF_SIZE	0x1000u		/* on-device buffer */
#define DMATEST_PAGE_SIZE	0x1000u		/* no DMA request crosses one */

/* CMD */
#define DMATEST_CMD_OP_MASK	0x0000000fu
#define DMATEST_OP_NOP		0x0	/* no DMA; completes at once */
#define DMATEST_OP_COPY		0x1	/* read SRC..+LEN, then write DST */
#define DMATEST_OP_FILL		0x2	/* write PATTERN bytes to DST..+LEN */
#define DMATEST_OP_READ		0x3	/* read SRC..+LEN into the buffer */
#define DMATEST_OP_WRITE	0x4	/* write the buffer to DST..+LEN */
#define DMATEST_CMD_IRQ		0x00000100u	/* interrupt on completion */
#define DMATEST_CMD_VECTOR_SHIFT 16
#define DMATEST_CMD_VECTOR_MASK	0x00ff0000u	/* MSI/MSI-X vector */
#define DMATEST_CMD_MASK	(DMATEST_CMD_OP_MASK | DMATEST_CMD_IRQ | \
				 DMATEST_CMD_VECTOR_MASK)

/* DOORBELL */
#define DMATEST_DOORBELL_GO	0x00000001u

/* STATUS */
#define DMATEST_STATUS_BUSY	0x00000001u
#define DMATEST_STATUS_DONE	0x00000002u
#define DMATEST_STATUS_ERROR	0x00000004u
#define DMATEST_STATUS_CAUSE_SHIFT 8
#define DMATEST_STATUS_CAUSE_MASK 0x0000ff00u
#define DMATEST_CAUSE_OK		0
#define DMATEST_CAUSE_READ_FAULT	1	/* a DMA read was refused */
#define DMATEST_CAUSE_WRITE_FAULT	2	/* a DMA write was refused */
#define DMATEST_CAUSE_BUS_MASTER	3	/* Bus Master Enable is off */
#define DMATEST_CAUSE_BAD_LEN		4	/* LEN 0, too long, or wraps */
#define DMATEST_CAUSE_BAD_CMD		5	/* unknown operation */

/* INTR_STATUS / INTR_MASK */
#define DMATEST_INTR_DONE	0x00000001u	/* a command succeeded */
#define DMATEST_INTR_ERROR	0x00000002u	/* a command failed */
#define DMATEST_INTR_ALL	(DMATEST_INTR_DONE | DMATEST_INTR_ERROR)

/* BUF_ADDR */
#define DMATEST_BUF_ADDR_MASK	0x00000ffcu

/* Expansion ROM: the string at this offset identifies the image. */
#define DMATEST_ROM_STRING_OFF	0x40
#define DMATEST_ROM_STRING	"dma-test expansion ROM v1"

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of fakevfio/control.c, the control socket.  Requests are run
 * in-process (fv_control_exec) against a machine of simulated devices whose
 * outputs a test host records (testlib): every command and every error
 * response, the events they log, the hooks into the VFIO core.  Then the
 * server itself on socketpairs and on a real socket: partial, batched,
 * overlong and binary lines, a last line without a newline, too many
 * clients, a client that never reads while another is served, and the
 * private directory in a mount namespace (root only).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "fakevfio/control.h"
#include "sim/dmatest.h"
#include "testlib.h"

#define A "0000:05:00.0"	/* dma-test, recorded by a test host */
#define B "0000:06:00.0"	/* a bare profile: no pin, no MSI/MSI-X, no AER */
#define C "0000:07:00.0"	/* dma-test with no host: DMA has no IOMMU */

static FvMachine *M;
static FvEvents *EV;
static FvFaults *FA;
static FvControl *CT;
static TlHost HA;
static uint8_t win[0x2000];
static char profile_path[] = "/tmp/fv-control-XXXXXX";

static SimDevice *sim(const char *bdf)
{
	return fv_machine_find(M, bdf)->sim;
}

static void add(const char *spec)
{
	FvDeviceSpec s;

	tl_ok(fv_device_spec_parse(spec, &s, NULL), NULL);
	tl_ok(fv_machine_add_device(M, &s, NULL), NULL);
	fv_device_spec_clear(&s);
}

static int setup(void **state)
{
	static const char prof[] = "profile 1\nvendor 0x1234\ndevice 0x5678\n"
				   "class 0xff0000\nbar 0 mem32 size=0x1000\n";
	int fd = mkstemp(profile_path);
	char spec[128];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, prof, sizeof(prof) - 1), (ssize_t)sizeof(prof) - 1);
	close(fd);
	M = fv_machine_new(FV_PLATFORM_X86);
	snprintf(spec, sizeof(spec), "profile@" B ",file=%s", profile_path);
	add(spec);
	add("dma-test@" A ",group=9");
	add("dma-test@" C);
	tl_ok(fv_machine_realize(M, NULL), NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fv_machine_free(M);
	unlink(profile_path);
	return 0;
}

static int fresh(void **state)
{
	FvControlConfig cfg;

	(void)state;
	EV = fv_events_new(64);
	FA = fv_faults_new();
	cfg = (FvControlConfig){ .machine = M, .events = EV, .faults = FA };
	/* The test host's counters start at 0 for each test. */
	tl_host_attach(&HA, sim(A));
	HA.win = win;
	HA.win_iova = 0x100000;
	HA.win_size = sizeof(win);
	CT = fv_control_new(&cfg, NULL);
	assert_non_null(CT);
	return 0;
}

static int done(void **state)
{
	(void)state;
	fv_control_free(CT);
	fv_faults_free(FA);
	fv_events_free(EV);
	return 0;
}

/* The whole response to one request (free it). */
static char *req(const char *line)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	fv_control_exec(CT, line, out);
	fclose(out);
	return text;
}

#define EXPECT(line, want)						\
	do {								\
		char *got_ = req(line);					\
		assert_string_equal(got_, want);			\
		free(got_);						\
	} while (0)

/* The event lines after sequence number since, without their heads. */
static char *events(uint64_t since)
{
	FvEvent ev[64];
	unsigned n = fv_events_since(EV, since, ev, 64, NULL);
	char *text = NULL, line[FV_EVENT_TEXT_MAX];
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	for (unsigned i = 0; i < n; i++) {
		fv_event_format(&ev[i], line, sizeof(line));
		fprintf(out, "%s\n", strstr(line, "kind="));
	}
	fclose(out);
	return text;
}

#define EXPECT_EVENTS(since, want)					\
	do {								\
		char *got_ = events(since);				\
		assert_string_equal(got_, want);			\
		free(got_);						\
	} while (0)

static void cfg16(const char *bdf, unsigned off, uint16_t val)
{
	tl_cfg_write(sim(bdf), off, 2, val);
}

/* ---- requests --------------------------------------------------------- */

static void test_help_and_syntax(void **state)
{
	char *text;

	(void)state;
	text = req("help");
	assert_non_null(strstr(text, "\nirq BDF INDEX [VECTOR]"));
	assert_non_null(strstr(text, "\ndump device BDF | dump mappings"));
	assert_memory_equal(text, "help ", 5);
	assert_string_equal(text + strlen(text) - 4, "\nok\n");
	free(text);
	/* Blank lines get nothing; a CR is dropped. */
	EXPECT("", "");
	EXPECT(" \t ", "");
	EXPECT("\r", "");
	EXPECT("req " A "\r", "ok\n");
	EXPECT("hello", "error EINVAL unknown command 'hello' (try 'help')\n");
	EXPECT("  help me", "error EINVAL usage: help\n");
	EXPECT("irq " A, "error EINVAL usage: irq BDF INDEX [VECTOR]\n");
	EXPECT("irq " A " MSI 1 2", "error EINVAL usage: irq BDF INDEX [VECTOR]\n");
	EXPECT("req\x01", "error EINVAL non-printable byte 0x01 at column 4 "
	       "(requests are lines of text)\n");
	EXPECT("req \xc3\xa9", "error EINVAL non-printable byte 0xc3 at column 5 "
	       "(requests are lines of text)\n");
	EXPECT("a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7",
	       "error E2BIG more than 32 words\n");
	EXPECT("req zz", "error EINVAL bad BDF 'zz': expected [DDDD:]BB:DD.F in hex, "
	       "e.g. 0000:03:00.1\n");
	EXPECT("req 9:0.0", "error ENODEV no device 0000:09:00.0 in this machine\n");
}

static void test_irq(void **state)
{
	SimDevice *a = sim(A);
	uint64_t last;

	(void)state;
	/* Nothing enabled: MSI and MSI-X are dropped, harmlessly. */
	EXPECT("irq " A " MSIX 0", "result=dropped\nok\n");
	EXPECT("irq " A " 1 0", "result=dropped\nok\n");
	assert_int_equal(HA.nmsgs, 0);

	/* MSI-X: enable, program vector 3, raise it. */
	cfg16(A, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	cfg16(A, DMATEST_CAP_MSIX + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE);
	tl_bar_write(a, DMATEST_BAR_MSIX, 3 * 16 + PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xfee00000);
	tl_bar_write(a, DMATEST_BAR_MSIX, 3 * 16 + PCI_MSIX_ENTRY_DATA, 4, 0x4003);
	tl_bar_write(a, DMATEST_BAR_MSIX, 3 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	EXPECT("irq " A " msi-x 3", "result=delivered\nok\n");
	assert_int_equal(HA.nmsgs, 1);
	assert_int_equal(HA.msgs[0].addr, 0xfee00000);
	assert_int_equal(HA.msgs[0].data, 0x4003);
	EXPECT("irq " A " MSIX 0x2", "result=pending\nok\n");	/* masked vector */
	EXPECT("irq " A " MSIX 7", "result=pending\nok\n");
	EXPECT("irq " A " MSIX 8", "result=dropped\nok\n");	/* beyond the table */
	EXPECT("irq " A " MSI 0", "result=dropped\nok\n");	/* MSI-X is on */
	assert_int_equal(HA.nmsgs, 1);

	/* MSI. */
	cfg16(A, DMATEST_CAP_MSIX + PCI_MSIX_FLAGS, 0);
	tl_cfg_write(a, DMATEST_CAP_MSI + PCI_MSI_ADDRESS_LO, 4, 0xfee01000);
	cfg16(A, DMATEST_CAP_MSI + PCI_MSI_DATA_64, 0x8000);
	cfg16(A, DMATEST_CAP_MSI + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE);
	EXPECT("irq " A " MSI", "result=delivered\nok\n");
	assert_int_equal(HA.nmsgs, 2);
	assert_int_equal(HA.msgs[1].addr, 0xfee01000);
	assert_int_equal(HA.msgs[1].data, 0x8000);
	cfg16(A, DMATEST_CAP_MSI + PCI_MSI_FLAGS, 0);

	/* INTx: asserted; pending behind Interrupt Disable. */
	EXPECT("irq " A " INTX", "result=pending\nok\n");
	assert_false(HA.intx_level);
	EXPECT("intx " A " 0", "line=deasserted\nok\n");
	cfg16(A, PCI_COMMAND, PCI_COMMAND_MEMORY);
	EXPECT("irq " A " intx 0", "result=delivered\nok\n");
	assert_true(HA.intx_level);
	assert_int_equal(HA.pin, 1);
	EXPECT("intx " A " 0", "line=deasserted\nok\n");
	assert_false(HA.intx_level);
	EXPECT("intx " A " 1", "line=asserted\nok\n");
	assert_true(HA.intx_level);
	EXPECT("intx " A " 0", "line=deasserted\nok\n");
	EXPECT("intx " A " 2", "error EINVAL bad level '2': expected 0 or 1\n");

	/* ERR: an uncorrectable internal error; masked, it is not signalled. */
	EXPECT("irq " A " ERR 0", "result=delivered\nok\n");
	assert_int_equal(HA.errs, 1);
	tl_cfg_write(a, DMATEST_ECAP_AER + PCI_ERR_UNCOR_STATUS, 4, PCI_ERR_UNC_INTN);
	tl_cfg_write(a, DMATEST_ECAP_AER + PCI_ERR_UNCOR_MASK, 4, PCI_ERR_UNC_INTN);
	EXPECT("irq " A " 3", "result=masked\nok\n");
	assert_int_equal(HA.errs, 1);
	tl_cfg_write(a, DMATEST_ECAP_AER + PCI_ERR_UNCOR_MASK, 4, 0);
	tl_cfg_write(a, DMATEST_ECAP_AER + PCI_ERR_UNCOR_STATUS, 4, PCI_ERR_UNC_INTN);

	/* REQ. */
	EXPECT("irq " A " REQ", "result=delivered\nok\n");
	assert_int_equal(HA.reqs, 1);

	/* Errors. */
	EXPECT("irq " A " NMI 0", "error EINVAL bad IRQ index 'NMI': expected INTX, MSI, MSIX, "
	       "ERR, REQ or 0-4\n");
	EXPECT("irq " A " MSIX 2048", "error EINVAL bad vector '2048': expected a number 0-2047\n");
	EXPECT("irq " A " MSIX -1", "error EINVAL bad vector '-1': expected a number 0-2047\n");
	EXPECT("irq " A " INTX 1", "error EINVAL INTX has a single vector, 0\n");
	EXPECT("irq " A " REQ 1", "error EINVAL REQ has a single vector, 0\n");
	EXPECT("irq " A " ERR 2", "error EINVAL ERR has a single vector, 0\n");
	EXPECT("irq " B " INTX", "error EOPNOTSUPP 0000:06:00.0 has no INTx pin\n");
	EXPECT("intx " B " 1", "error EOPNOTSUPP 0000:06:00.0 has no INTx pin\n");
	EXPECT("irq " B " MSI", "error EOPNOTSUPP 0000:06:00.0 has no MSI capability\n");
	EXPECT("irq " B " MSIX", "error EOPNOTSUPP 0000:06:00.0 has no MSI-X capability\n");
	EXPECT("irq " B " ERR", "error EOPNOTSUPP 0000:06:00.0 has no AER capability\n");
	EXPECT("irq 9:0.0 ERR", "error ENODEV no device 0000:09:00.0 in this machine\n");
	EXPECT("intx 9:0.0 1", "error ENODEV no device 0000:09:00.0 in this machine\n");

	EXPECT_EVENTS(0,
		"kind=raise device=0000:05:00.0 index=MSIX vector=0 result=dropped\n"
		"kind=raise device=0000:05:00.0 index=MSI vector=0 result=dropped\n"
		"kind=raise device=0000:05:00.0 index=MSIX vector=3 result=delivered\n"
		"kind=raise device=0000:05:00.0 index=MSIX vector=2 result=pending\n"
		"kind=raise device=0000:05:00.0 index=MSIX vector=7 result=pending\n"
		"kind=raise device=0000:05:00.0 index=MSIX vector=8 result=dropped\n"
		"kind=raise device=0000:05:00.0 index=MSI vector=0 result=dropped\n"
		"kind=raise device=0000:05:00.0 index=MSI vector=0 result=delivered\n"
		"kind=raise device=0000:05:00.0 index=INTX vector=0 result=pending\n"
		"kind=intx device=0000:05:00.0 level=0\n"
		"kind=raise device=0000:05:00.0 index=INTX vector=0 result=delivered\n"
		"kind=intx device=0000:05:00.0 level=0\n"
		"kind=intx device=0000:05:00.0 level=1\n"
		"kind=intx device=0000:05:00.0 level=0\n"
		"kind=raise device=0000:05:00.0 index=ERR vector=0 result=delivered\n"
		"kind=raise device=0000:05:00.0 index=ERR vector=0 result=masked\n"
		"kind=raise device=0000:05:00.0 index=REQ vector=0 result=delivered\n");
	last = fv_events_last(EV);
	EXPECT("req " A, "ok\n");
	assert_int_equal(HA.reqs, 2);
	EXPECT_EVENTS(last, "kind=req device=0000:05:00.0\n");
	cfg16(A, PCI_COMMAND, 0);
}

static void test_aer(void **state)
{
	SimDevice *a = sim(A);
	unsigned errs = HA.errs;

	(void)state;
	EXPECT("aer " A " uncorrectable UNSUP", "result=signalled\nok\n");
	assert_int_equal(HA.errs, errs + 1);
	assert_int_equal(tl_cfg_read(a, DMATEST_ECAP_AER + PCI_ERR_UNCOR_STATUS, 4),
			 PCI_ERR_UNC_UNSUP);
	EXPECT("aer " A " correctable pci_err_cor_bad_tlp", "result=logged\nok\n");
	assert_int_equal(tl_cfg_read(a, DMATEST_ECAP_AER + PCI_ERR_COR_STATUS, 4),
			 PCI_ERR_COR_BAD_TLP);
	tl_cfg_write(a, DMATEST_ECAP_AER + PCI_ERR_UNCOR_MASK, 4, PCI_ERR_UNC_ECRC);
	EXPECT("aer " A " uncorrectable PCI_ERR_UNC_ECRC", "result=masked\nok\n");
	EXPECT("aer " A " uncorrectable 0x80010", "result=signalled\nok\n");
	assert_int_equal(HA.errs, errs + 2);
	EXPECT("aer " A " uncorrectable 0x2", "error EINVAL 0000:05:00.0: the device refused "
	       "status 0x00000002 (bits that are not uncorrectable errors)\n");
	EXPECT("aer " A " correctable UNSUP", "error EINVAL bad correctable error 'UNSUP': "
	       "expected a bit name such as BAD_TLP or a non-zero mask such as 0x40\n");
	EXPECT("aer " A " uncorrectable 0", "error EINVAL bad uncorrectable error '0': "
	       "expected a bit name such as UNSUP or a non-zero mask such as 0x100000\n");
	EXPECT("aer " A " uncorrectable 0x100000000", "error EINVAL bad uncorrectable error "
	       "'0x100000000': expected a bit name such as UNSUP or a non-zero mask such as "
	       "0x100000\n");
	EXPECT("aer " A " fatal UNSUP", "error EINVAL bad severity 'fatal': expected "
	       "uncorrectable or correctable\n");
	EXPECT("aer " B " correctable RCVR", "error EOPNOTSUPP 0000:06:00.0 has no AER capability\n");
	EXPECT("aer 9:0.0 correctable RCVR", "error ENODEV no device 0000:09:00.0 in this machine\n");
	EXPECT_EVENTS(0,
		"kind=aer device=0000:05:00.0 severity=uncorrectable status=0x00100000\n"
		"kind=aer device=0000:05:00.0 severity=correctable status=0x00000040\n"
		"kind=aer device=0000:05:00.0 severity=uncorrectable status=0x00080000\n"
		"kind=aer device=0000:05:00.0 severity=uncorrectable status=0x00080010\n");
	/* Leave AER clean. */
	tl_cfg_write(a, DMATEST_ECAP_AER + PCI_ERR_UNCOR_MASK, 4, 0);
	tl_cfg_write(a, DMATEST_ECAP_AER + PCI_ERR_UNCOR_STATUS, 4, 0xffffffff);
	tl_cfg_write(a, DMATEST_ECAP_AER + PCI_ERR_COR_STATUS, 4, 0xffffffff);
	EXPECT("req 9:0.0", "error ENODEV no device 0000:09:00.0 in this machine\n");
}

static void test_dma(void **state)
{
	char *text, want[64];
	uint8_t big[FV_CONTROL_LINE_MAX / 2 + 1];

	(void)state;
	memset(win, 0, sizeof(win));
	/* Bus Master off: not even attempted. */
	EXPECT("dma-read " A " 0x100000 4", "error EACCES 0000:05:00.0: DMA read of 4 bytes at "
	       "IOVA 0x100000 not attempted: Bus Master is disabled (PCI_COMMAND)\n");
	assert_int_equal(HA.dma_calls, 0);
	cfg16(A, PCI_COMMAND, PCI_COMMAND_MASTER);
	cfg16(C, PCI_COMMAND, PCI_COMMAND_MASTER);
	EXPECT("dma-write " A " 0x100010 de:ad:be:ef", "written=4\nok\n");
	assert_memory_equal(win + 0x10, "\xde\xad\xbe\xef", 4);
	EXPECT("dma-write " A " 1048596 0x0102030405", "written=5\nok\n");
	assert_memory_equal(win + 0x14, "\x01\x02\x03\x04\x05", 5);
	EXPECT("dma-read " A " 0x10000f 11", "data=00deadbeef010203040500\nok\n");
	/* Unmapped: an IOMMU fault. */
	EXPECT("dma-write " A " 0x200000 00", "error EFAULT 0000:05:00.0: DMA write of 1 bytes at "
	       "IOVA 0x200000 failed: IOMMU fault (Bad address)\n");
	assert_int_equal(HA.faults, 1);
	assert_int_equal(HA.fault_iova, 0x200000);
	HA.win_readonly = true;
	EXPECT("dma-write " A " 0x100000 00", "error EPERM 0000:05:00.0: DMA write of 1 bytes at "
	       "IOVA 0x100000 failed: IOMMU fault (Operation not permitted)\n");
	HA.win_readonly = false;
	EXPECT("dma-read " A " 0x101ffc 8", "error EFAULT 0000:05:00.0: DMA read of 8 bytes at "
	       "IOVA 0x101ffc failed: IOMMU fault (Bad address)\n");
	/* No host at all: no translation. */
	EXPECT("dma-read " C " 0 1", "error ENODEV 0000:07:00.0: DMA read of 1 bytes at IOVA 0x0 "
	       "failed: no IOMMU translation (the device's group is in no container)\n");
	/* The largest read. */
	text = req("dma-read " A " 0x100000 65536");
	assert_string_equal(text, "error EFAULT 0000:05:00.0: DMA read of 65536 bytes at IOVA "
			    "0x100000 failed: IOMMU fault (Bad address)\n");
	free(text);
	HA.win_size = sizeof(win);
	text = req("dma-read " A " 0x100000 8192");
	assert_int_equal(strlen(text), 5 + 16384 + 1 + 3);
	free(text);
	/* Syntax. */
	EXPECT("dma-read " A " x100 4", "error EINVAL bad IOVA 'x100': expected a number "
	       "(0x... or decimal)\n");
	EXPECT("dma-read " A " 0x100000 0", "error EINVAL bad length '0': expected a number "
	       "1-65536\n");
	EXPECT("dma-read " A " 0x100000 65537", "error EINVAL bad length '65537': expected a "
	       "number 1-65536\n");
	EXPECT("dma-read " A " 0x100000 1x", "error EINVAL bad length '1x': expected a number "
	       "1-65536\n");
	EXPECT("dma-read " A " 0x100000000000000000 4", "error EINVAL bad IOVA "
	       "'0x100000000000000000': expected a number (0x... or decimal)\n");
	EXPECT("dma-write " A " -1 00", "error EINVAL bad IOVA '-1': expected a number "
	       "(0x... or decimal)\n");
	EXPECT("dma-write " A " 0 abc", "error EINVAL bad hex byte at 'c': hex digits come in "
	       "pairs\n");
	EXPECT("dma-write " A " 0 zz", "error EINVAL bad hex byte at 'zz': expected hex digits, "
	       "e.g. deadbeef or de:ad:be:ef\n");
	EXPECT("dma-write " A " 0 :00", "error EINVAL bad hex byte at ':00': expected hex digits, "
	       "e.g. deadbeef or de:ad:be:ef\n");
	EXPECT("dma-write " A " 0 00:", "error EINVAL bad hex byte at ':': expected hex digits, "
	       "e.g. deadbeef or de:ad:be:ef\n");
	EXPECT("dma-write " A " 0 00::11", "error EINVAL bad hex byte at '::11': expected hex "
	       "digits, e.g. deadbeef or de:ad:be:ef\n");
	EXPECT("dma-write " A " 0 0x:00", "error EINVAL bad hex byte at ':00': expected hex "
	       "digits, e.g. deadbeef or de:ad:be:ef\n");
	EXPECT("dma-write " A " 0 0x", "error EINVAL no bytes to write\n");
	EXPECT("dma-write 9:0.0 0 00", "error ENODEV no device 0000:09:00.0 in this machine\n");
	EXPECT("dma-read 9:0.0 0 1", "error ENODEV no device 0000:09:00.0 in this machine\n");
	/* More bytes than a request line can carry. */
	{
		char *line = malloc(2 * sizeof(big) + 64);

		strcpy(line, "dma-write " A " 0 ");
		for (size_t i = 0; i < sizeof(big); i++)
			strcat(line + strlen(line) - (i ? 0 : 0), "ab");
		snprintf(want, sizeof(want), "error E2BIG more than %d bytes\n",
			 FV_CONTROL_LINE_MAX / 2);
		EXPECT(line, want);
		free(line);
	}
	EXPECT_EVENTS(0,
		"kind=dma device=0000:05:00.0 iova=0x100000 size=0x4 dir=read err=EACCES\n"
		"kind=dma device=0000:05:00.0 iova=0x100010 size=0x4 dir=write err=0\n"
		"kind=dma device=0000:05:00.0 iova=0x100014 size=0x5 dir=write err=0\n"
		"kind=dma device=0000:05:00.0 iova=0x10000f size=0xb dir=read err=0\n"
		"kind=dma device=0000:05:00.0 iova=0x200000 size=0x1 dir=write err=EFAULT\n"
		"kind=dma device=0000:05:00.0 iova=0x100000 size=0x1 dir=write err=EPERM\n"
		"kind=dma device=0000:05:00.0 iova=0x101ffc size=0x8 dir=read err=EFAULT\n"
		"kind=dma device=0000:07:00.0 iova=0x0 size=0x1 dir=read err=ENODEV\n"
		"kind=dma device=0000:05:00.0 iova=0x100000 size=0x10000 dir=read err=EFAULT\n"
		"kind=dma device=0000:05:00.0 iova=0x100000 size=0x2000 dir=read err=0\n");
	cfg16(A, PCI_COMMAND, 0);
	cfg16(C, PCI_COMMAND, 0);
}

static void test_reset(void **state)
{
	SimDevice *a = sim(A);
	unsigned flr = sim_device_reset_count(a, SIM_RESET_FLR);
	unsigned hot = sim_device_reset_count(a, SIM_RESET_HOT);

	(void)state;
	tl_cfg_write(a, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	EXPECT("reset " A, "ok\n");
	assert_int_equal(sim_device_reset_count(a, SIM_RESET_FLR), flr + 1);
	assert_int_equal(tl_cfg_read(a, PCI_COMMAND, 2), 0);
	EXPECT("reset " A " hot", "ok\n");
	assert_int_equal(sim_device_reset_count(a, SIM_RESET_HOT), hot + 1);
	EXPECT("reset " A " pm", "ok\n");
	EXPECT("reset " A " power-on", "ok\n");
	EXPECT("reset " A " cold", "error EINVAL bad reset kind 'cold': expected flr, hot, pm or "
	       "power-on\n");
	EXPECT("reset 9:0.0", "error ENODEV no device 0000:09:00.0 in this machine\n");
	EXPECT_EVENTS(0,
		"kind=reset device=0000:05:00.0 how=flr\n"
		"kind=reset device=0000:05:00.0 how=hot\n"
		"kind=reset device=0000:05:00.0 how=pm\n"
		"kind=reset device=0000:05:00.0 how=power-on\n");
}

static void test_faults(void **state)
{
	FvOp op = { .kind = FV_OP_IOCTL, .obj = FV_OBJ_CONTAINER, .container = 1,
		    .cmd = VFIO_IOMMU_MAP_DMA, .group = -1 };

	(void)state;
	EXPECT("faults", "ok\n");
	EXPECT("fault VFIO_IOMMU_MAP_DMA errno=EBUSY count=1", "id=1\nok\n");
	EXPECT("fault  region-read device=" A "  errno=EIO", "id=2\nok\n");
	EXPECT("fault VFIO_IOMMU_MAP_DMA  errno=EBUSY count=0",
	       "error EINVAL column 39: bad count '0': expected a number 1-4294967295\n");
	EXPECT("  fault nope errno=EIO", "error EINVAL column 9: unknown operation 'nope' "
	       "(expected an ioctl name such as VFIO_IOMMU_MAP_DMA, ioctl, region-read, "
	       "region-write, open-container, open-group or open-device)\n");
	EXPECT("fault", "error EINVAL usage: fault OPERATION [MATCH...] errno=E [count=N] "
	       "[after=M]\n");
	assert_int_equal(fv_faults_check(FA, &op), -EBUSY);
	EXPECT("faults",
	       "id=1 op=VFIO_IOMMU_MAP_DMA errno=EBUSY count=1 after=0 seen=1 hits=1 left=0\n"
	       "id=2 op=region-read device=0000:05:00.0 errno=EIO count=inf after=0 seen=0 hits=0 "
	       "left=inf\nok\n");
	EXPECT("faults clear", "cleared=2\nok\n");
	EXPECT("faults", "ok\n");
	EXPECT("faults all", "error EINVAL usage: faults [clear]\n");
	EXPECT("faults clear now", "error EINVAL usage: faults [clear]\n");
}

static bool hook_dump_device(void *opaque, FvDevice *dev, FILE *out)
{
	int *calls = opaque;

	(*calls)++;
	if (strcmp(dev->bdf, A))
		return false;
	fputs("irq_type=none\n\nok\nerror no\nlast", out);
	return true;
}

static void hook_dump_mappings(void *opaque, FILE *out)
{
	FvType1Mapping m1 = { .iova = 0x100000, .size = 0x2000, .vaddr = 0x7f0000000000,
			      .pid = 42, .prot = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE };
	FvType1Mapping m2 = { .iova = 0x200000, .size = 0x1000, .vaddr = 0x1000, .pid = 43,
			      .prot = VFIO_DMA_MAP_FLAG_READ, .vaddr_invalid = true };
	FvType1Mapping m3 = { .iova = 0, .size = 0x1000, .pid = 1 };

	(*(int *)opaque)++;
	fv_control_format_mapping(out, 1, &m1);
	fv_control_format_mapping(out, 2, &m2);
	fv_control_format_mapping(out, 2, &m3);
	fputs("ok\nerror: x\n\n", out);
}

static void test_dump(void **state)
{
	FvControlOps ops = { 0 };
	int calls = 0;
	char *text;

	(void)state;
	EXPECT("dump device " B,
	       "device=0000:06:00.0 model=profile group=100 driver=vfio-pci irq=0 numa_node=-1\n"
	       "ids vendor=0x1234 device=0x5678 subsystem_vendor=0x0000 subsystem_device=0x0000 "
	       "class=0xff0000 revision=0x00 vf=0\n"
	       "config size=256 command=0x0000 status=0x0000\n"
	       "bar name=BAR0 type=mem32 prefetch=0 size=0x1000 addr=0xe0000000 decodes=0\n"
	       "irq mode=none pin=0 intx_asserted=0 msi_enabled=0 msi_vectors=0 msix_enabled=0 "
	       "msix_vectors=0\n"
	       "resets power-on=0 flr=0 pm=0 hot=0\n"
	       "dma faults=0\n"
	       "vdev open=0\n"
	       "ok\n");
	text = req("dump device " A);
	assert_non_null(strstr(text, "device=0000:05:00.0 model=dma-test group=9 driver=vfio-pci "
			       "irq=16 numa_node=-1\n"));
	assert_non_null(strstr(text, "\nbar name=BAR1 type=io prefetch=0 size=0x20 addr=0xc000 decodes=0\n"
			       "bar name=BAR2 type=mem64 prefetch=1 size=0x4000 "
			       "addr=0x800000000 decodes=0\n"));
	assert_non_null(strstr(text, "\nbar name=ROM type=rom prefetch=0 size=0x800 "));
	assert_non_null(strstr(text, "\nirq mode=intx pin=1 intx_asserted=0 msi_enabled=0 "
			       "msi_vectors=0 msix_enabled=0 msix_vectors=8\n"));
	assert_non_null(strstr(text, "\nvdev open=0\nok\n"));
	free(text);
	/* The interrupt mode as the device sees it. */
	cfg16(A, DMATEST_CAP_MSIX + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE);
	text = req("dump device " A);
	assert_non_null(strstr(text, "\nirq mode=msix pin=1 intx_asserted=0 msi_enabled=0 "
			       "msi_vectors=0 msix_enabled=1 msix_vectors=8\n"));
	free(text);
	cfg16(A, DMATEST_CAP_MSIX + PCI_MSIX_FLAGS, 0);
	cfg16(A, DMATEST_CAP_MSI + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE);
	text = req("dump device " A);
	assert_non_null(strstr(text, "\nirq mode=msi pin=1 intx_asserted=0 msi_enabled=1 "
			       "msi_vectors=1 msix_enabled=0 msix_vectors=8\n"));
	free(text);
	cfg16(A, DMATEST_CAP_MSI + PCI_MSI_FLAGS, 0);
	EXPECT("dump mappings", "error ENOSYS no mappings to show: the VFIO core provides no "
	       "dump_mappings hook\n");
	EXPECT("dump", "error EINVAL usage: dump device BDF | dump mappings\n");
	EXPECT("dump device", "error EINVAL usage: dump device BDF | dump mappings\n");
	EXPECT("dump mappings now", "error EINVAL usage: dump device BDF | dump mappings\n");
	EXPECT("dump device 9:0.0", "error ENODEV no device 0000:09:00.0 in this machine\n");

	ops.dump_device = hook_dump_device;
	ops.dump_mappings = hook_dump_mappings;
	ops.opaque = &calls;
	fv_control_set_ops(CT, &ops);
	text = req("dump device " A);
	assert_non_null(strstr(text, "\nvdev irq_type=none\nvdev ok\nvdev error no\n"
			       "vdev last\nok\n"));
	assert_non_null(strstr(text, "\ndma faults="));
	free(text);
	text = req("dump device " B);
	assert_non_null(strstr(text, "\nvdev open=0\nok\n"));
	free(text);
	EXPECT("dump mappings",
	       "container=1 iova=0x100000 size=0x2000 vaddr=0x7f0000000000 pid=42 prot=rw\n"
	       "container=2 iova=0x200000 size=0x1000 vaddr=0x1000 pid=43 prot=r vaddr_invalid=1\n"
	       "container=2 iova=0x0 size=0x1000 vaddr=0x0 pid=1 prot=\n"
	       " ok\n"
	       " error: x\n"
	       "ok\n");
	assert_int_equal(calls, 3);
}

static void test_events_cmd(void **state)
{
	char *text;

	(void)state;
	EXPECT("events", "last=0 lost=0\nok\n");
	EXPECT("req " A, "ok\n");
	EXPECT("reset " A, "ok\n");
	text = req("events");
	assert_memory_equal(text, "seq=1 t=", 8);
	assert_non_null(strstr(text, " kind=req device=0000:05:00.0\nseq=2 t="));
	assert_non_null(strstr(text, " kind=reset device=0000:05:00.0 how=flr\nlast=2 lost=0\nok\n"));
	free(text);
	text = req("events 1");
	assert_memory_equal(text, "seq=2 t=", 8);
	free(text);
	EXPECT("events 2", "last=2 lost=0\nok\n");
	EXPECT("events 99", "last=2 lost=0\nok\n");
	EXPECT("events x", "error EINVAL bad sequence number 'x': expected a number\n");
	/* Past the ring's capacity (64): the oldest are lost. */
	for (unsigned i = 0; i < 300; i++)
		fv_events_req(EV, A);
	text = req("events 0");
	assert_memory_equal(text, "seq=239 t=", 10);
	assert_non_null(strstr(text, "\nlast=302 lost=238\nok\n"));
	free(text);
	text = req("events 250");
	assert_memory_equal(text, "seq=251 t=", 10);
	assert_non_null(strstr(text, "\nlast=302 lost=0\nok\n"));
	free(text);
}

/* ---- the server ------------------------------------------------------- */

/* Read from fd until the response holds n final lines ("ok"/"error ..."). */
static char *read_responses(int fd, unsigned n)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	unsigned seen = 0;

	while (seen < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		assert_int_equal(poll(&p, 1, 10000), 1);
		if (len + 4096 > cap)
			buf = realloc(buf, cap *= 2);
		r = read(fd, buf + len, cap - len - 1);
		assert_true(r > 0);
		for (ssize_t i = 0; i < r; i++) {
			size_t at = len + (size_t)i;
			size_t bol = at;

			if (buf[at] != '\n')
				continue;
			while (bol > 0 && buf[bol - 1] != '\n')
				bol--;
			if ((at - bol == 2 && !memcmp(buf + bol, "ok", 2)) ||
			    !strncmp(buf + bol, "error ", 6))
				seen++;
		}
		len += (size_t)r;
	}
	buf[len] = '\0';
	return buf;
}

static void send_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

static int client(void)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_true(fv_control_add_client(CT, sv[1], NULL));
	return sv[0];
}

static void assert_eof(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;

	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(read(fd, &c, 1), 0);
}

static void test_socket_lines(void **state)
{
	int fd;
	char *text, *big;

	(void)state;
	/* Added before the thread runs. */
	fd = client();
	assert_true(fv_control_start(CT, NULL));
	/* One request in pieces. */
	send_str(fd, "re");
	usleep(20000);
	send_str(fd, "q " A "\r\n");
	text = read_responses(fd, 1);
	assert_string_equal(text, "ok\n");
	free(text);
	/* Several in one write, with blank lines. */
	send_str(fd, "\nreq " A "\n\n   \nnope\nevents 2\n");
	text = read_responses(fd, 3);
	assert_string_equal(text, "ok\nerror EINVAL unknown command 'nope' (try 'help')\n"
			    "last=2 lost=0\nok\n");
	free(text);
	/* Binary. */
	send_all(fd, "req\0x\n", 6);
	text = read_responses(fd, 1);
	assert_string_equal(text, "error EINVAL non-printable byte 0x00 at column 4 "
			    "(requests are lines of text)\n");
	free(text);
	/* An overlong line: one error, the rest of it dropped, then normal. */
	big = malloc(3 * FV_CONTROL_LINE_MAX);
	memset(big, 'x', 3 * FV_CONTROL_LINE_MAX);
	send_all(fd, big, 3 * FV_CONTROL_LINE_MAX);
	send_str(fd, "\nreq " A "\n");
	text = read_responses(fd, 2);
	assert_string_equal(text, "error E2BIG request line longer than 16384 bytes\nok\n");
	free(text);
	/* Exactly the longest line is fine. */
	memset(big, ' ', FV_CONTROL_LINE_MAX);
	memcpy(big + FV_CONTROL_LINE_MAX - 16, "req " A, 16);
	big[FV_CONTROL_LINE_MAX] = '\n';
	send_all(fd, big, FV_CONTROL_LINE_MAX + 1);
	text = read_responses(fd, 1);
	assert_string_equal(text, "ok\n");
	free(text);
	/* An overlong line that ends at EOF. */
	memset(big, 'y', 2 * FV_CONTROL_LINE_MAX);
	send_all(fd, big, 2 * FV_CONTROL_LINE_MAX);
	shutdown(fd, SHUT_WR);
	text = read_responses(fd, 1);
	assert_string_equal(text, "error E2BIG request line longer than 16384 bytes\n");
	free(text);
	assert_eof(fd);
	close(fd);
	free(big);

	/* A last line without a newline still runs. */
	fd = client();
	send_str(fd, "events 4");
	shutdown(fd, SHUT_WR);
	text = read_responses(fd, 1);
	assert_string_equal(text, "last=4 lost=0\nok\n");
	free(text);
	assert_eof(fd);
	close(fd);

	/* A client that goes away with requests in flight. */
	fd = client();
	send_str(fd, "help\nhelp\nhelp\n");
	close(fd);
	/* The server is still there. */
	fd = client();
	send_str(fd, "req " A "\n");
	text = read_responses(fd, 1);
	assert_string_equal(text, "ok\n");
	free(text);
	close(fd);
}

enum { FLOOD = 20000 };

typedef struct Flood {
	int fd;
	unsigned n;
} Flood;

static void *flood_writer(void *opaque)
{
	Flood *f = opaque;
	static const char r[] = "dump device " A "\n";
	size_t len = (sizeof(r) - 1) * f->n;
	char *buf = malloc(len);

	for (unsigned i = 0; i < f->n; i++)
		memcpy(buf + i * (sizeof(r) - 1), r, sizeof(r) - 1);
	send_all(f->fd, buf, len);
	free(buf);
	return NULL;
}

static void test_socket_clients(void **state)
{
	int fds[FV_CONTROL_MAX_CLIENTS + 1], slow, fast;
	char *text;
	unsigned oks = 0;
	Flood flood;
	pthread_t writer;

	(void)state;
	assert_true(fv_control_start(CT, NULL));
	for (unsigned i = 0; i < FV_CONTROL_MAX_CLIENTS; i++) {
		fds[i] = client();
		send_str(fds[i], "req " A "\n");
		text = read_responses(fds[i], 1);
		assert_string_equal(text, "ok\n");
		free(text);
	}
	/* One too many: told so and closed. */
	fds[FV_CONTROL_MAX_CLIENTS] = client();
	text = read_responses(fds[FV_CONTROL_MAX_CLIENTS], 1);
	assert_string_equal(text, "error EMFILE too many control clients\n");
	free(text);
	assert_eof(fds[FV_CONTROL_MAX_CLIENTS]);
	for (unsigned i = 0; i <= FV_CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);

	/*
	 * A client that sends a lot and reads nothing does not block others:
	 * 20000 "dump device" requests (each answer ~700 bytes, 14 MB in all)
	 * from a writer thread, none of it read until another client has been
	 * served.
	 */
	slow = client();
	fast = client();
	flood.fd = slow;
	flood.n = FLOOD;
	assert_int_equal(pthread_create(&writer, NULL, flood_writer, &flood), 0);
	usleep(200000);
	send_str(fast, "events 64\n");
	text = read_responses(fast, 1);
	assert_string_equal(text, "last=32 lost=0\nok\n");
	free(text);
	/* Now drain the slow one: every answer arrives. */
	text = read_responses(slow, FLOOD);
	for (char *p = text; (p = strstr(p, "\nvdev open=0\nok\n")); p += 3)
		oks++;
	assert_int_equal(oks, FLOOD);
	free(text);
	pthread_join(writer, NULL);
	close(slow);
	close(fast);
}

static void test_socket_listen(void **state)
{
	char dir[] = "/tmp/fv-ctl-XXXXXX", path[128], *text, longpath[200];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	Error *err = NULL;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control", dir);
	assert_true(fv_control_listen(CT, path, NULL));
	assert_true(fv_control_start(CT, NULL));
	/* Two clients at once. */
	for (int round = 0; round < 2; round++) {
		int fds[2];

		for (int i = 0; i < 2; i++) {
			fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			strcpy(sa.sun_path, path);
			assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
		}
		for (int i = 1; i >= 0; i--) {
			send_str(fds[i], "events 9999\n");
			text = read_responses(fds[i], 1);
			assert_string_equal(text, "last=0 lost=0\nok\n");
			free(text);
			close(fds[i]);
		}
	}
	/* Errors. */
	assert_false(fv_control_listen(CT, path, &err));
	snprintf(longpath, sizeof(longpath), "cannot listen on %s: Address already in use", path);
	assert_string_equal(error_get_pretty(err), longpath);
	error_free(err);
	err = NULL;
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_false(fv_control_listen(CT, longpath, &err));
	assert_memory_equal(error_get_pretty(err), "control socket path too long: aaa", 33);
	error_free(err);
	unlink(path);
	rmdir(dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path);
	/* Its directory is gone: nothing to connect to. */
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), -1);
	close(fd);
}

static void test_private_dir(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char cover[] = "/tmp/fv-cover-XXXXXX", path[96];
		struct stat before, after, in;
		Error *err = NULL;
		int fd, s;
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (!mkdtemp(cover) || unshare(CLONE_NEWNS) ||
		    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) || stat(cover, &before))
			_exit(10);
		fd = fv_control_private_dir(cover, &err);
		if (fd < 0)
			_exit(11);
		/* cover is itself again; the tmpfs lives on through fd only. */
		if (stat(cover, &after) || after.st_dev != before.st_dev ||
		    after.st_ino != before.st_ino)
			_exit(12);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (stat(path, &in) || in.st_dev == before.st_dev || (in.st_mode & 0777) != 0700)
			_exit(13);
		/* A socket in it, reachable by the /proc path. */
		snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/%d/fd/%d/s", (int)getpid(), fd);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 1))
			_exit(14);
		close(s);
		close(fd);
		rmdir(cover);
		/* A cover that does not exist. */
		if (fv_control_private_dir("/nonexistent-cover", &err) != -1 ||
		    strcmp(error_get_pretty(err), "cannot mount a tmpfs for the control socket: "
			   "No such file or directory"))
			_exit(15);
		error_free(err);
		exit(0);	/* not _exit: coverage builds write their counts */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_free_unstarted(void **state)
{
	int sv[2];
	char dir[] = "/tmp/fv-ctl-XXXXXX", path[128];

	(void)state;
	/* Clients and listeners handed over but never served are closed. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_true(fv_control_add_client(CT, sv[1], NULL));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control", dir);
	assert_true(fv_control_listen(CT, path, NULL));
	fv_control_free(CT);
	CT = NULL;
	assert_eof(sv[0]);
	close(sv[0]);
	unlink(path);
	rmdir(dir);
	fv_control_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_help_and_syntax, fresh, done),
		cmocka_unit_test_setup_teardown(test_irq, fresh, done),
		cmocka_unit_test_setup_teardown(test_aer, fresh, done),
		cmocka_unit_test_setup_teardown(test_dma, fresh, done),
		cmocka_unit_test_setup_teardown(test_reset, fresh, done),
		cmocka_unit_test_setup_teardown(test_faults, fresh, done),
		cmocka_unit_test_setup_teardown(test_dump, fresh, done),
		cmocka_unit_test_setup_teardown(test_events_cmd, fresh, done),
		cmocka_unit_test_setup_teardown(test_socket_lines, fresh, done),
		cmocka_unit_test_setup_teardown(test_socket_clients, fresh, done),
		cmocka_unit_test_setup_teardown(test_socket_listen, fresh, done),
		cmocka_unit_test_setup_teardown(test_private_dir, fresh, done),
		cmocka_unit_test_setup_teardown(test_free_unstarted, fresh, done),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

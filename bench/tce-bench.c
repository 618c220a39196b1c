/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tce-bench: TCE updates per second end to end (guest H_PUT_TCE -> core
 * -> VFIO_IOMMU_MAP_DMA -> the host's TCE table), single and indirect
 * (512 per hypercall), the memory the core spends per live TCE mapping,
 * and the same map/unmap rate on a type1 host for comparison.
 *
 *   fakevfio run --platform pseries,tce=v2 --device dma-test@05:00.0 -- \
 *       tce-bench pseries 0000:05:00.0 [N]
 *   fakevfio run --device dma-test@05:00.0 -- tce-bench x86 0000:05:00.0 [N]
 *
 * Prints one line per measurement: NAME n=COUNT secs=S rate=R/s.  Timing
 * lives here, never in tests; nothing is asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/machine.h"
#include "core/vfio.h"

static unsigned failures;

static void on_warn(const char *msg, void *opaque)
{
	(void)opaque;
	if (failures++ < 3)
		fprintf(stderr, "tce-bench: %s\n", msg);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *name, unsigned long n, double secs)
{
	printf("%-24s n=%lu secs=%.3f rate=%.0f/s\n", name, n, secs,
	       secs > 0 ? (double)n / secs : 0.0);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static int bench_pseries(VfcMachine *m, unsigned long n)
{
	VfcSpaprPhb *phb = vfc_machine_phb(m);
	uint32_t liobn = vfc_spapr_default_liobn(phb);
	VfcSpaprTceTable *t = vfc_spapr_find_table(phb, liobn);
	uint64_t ram_pages = m->ram_size >> 12, list = 0x10000;
	uint8_t *lp = vfc_machine_ram_ptr(m, list, 4096);
	unsigned long i, batches = n / 512;
	double t0;

	if (n > t->nb_table)
		n = t->nb_table;
	/* Single H_PUT_TCE: map n pages, then clear them (unmap). */
	t0 = now();
	for (i = 0; i < n; i++)
		vfc_spapr_h_put_tce(phb, liobn, i << 12, ((i % ram_pages) << 12) | 3);
	report("h_put_tce.map", n, now() - t0);
	printf("%-24s live=%llu core_bytes=%llu bytes_per_live=%.1f\n", "memory",
	       (unsigned long long)t->live,
	       (unsigned long long)(t->chunk_bytes + t->nchunks * sizeof(uint64_t *)),
	       t->live ? (double)(t->chunk_bytes + t->nchunks * sizeof(uint64_t *)) /
			 (double)t->live : 0.0);
	t0 = now();
	for (i = 0; i < n; i++)
		vfc_spapr_h_put_tce(phb, liobn, i << 12, 0);
	report("h_put_tce.unmap", n, now() - t0);

	/* H_PUT_TCE_INDIRECT with 512 TCEs per call. */
	for (i = 0; i < 512; i++)
		put_be64(lp + i * 8, (((0x100 + i) % ram_pages) << 12) | 3);
	t0 = now();
	for (i = 0; i < batches; i++)
		vfc_spapr_h_put_tce_indirect(phb, liobn, (i * 512) << 12, list, 512);
	report("h_put_tce_indirect.map", batches * 512, now() - t0);
	t0 = now();
	for (i = 0; i < batches; i++)
		vfc_spapr_h_stuff_tce(phb, liobn, (i * 512) << 12, 0, 512);
	report("h_stuff_tce.unmap", batches * 512, now() - t0);
	return 0;
}

static int bench_x86(VfcMachine *m, unsigned long n)
{
	VfcContainer *c = vfc_container_first();
	uint64_t ram_pages = m->ram_size >> 12, base = 1ull << 32;
	uint8_t *ram = vfc_machine_ram_ptr(m, 0, 1);
	unsigned long i;
	double t0;

	t0 = now();
	for (i = 0; i < n; i++)
		if (vfc_dma_map(c, base + (i << 12), 4096, ram + ((i % ram_pages) << 12), false))
			failures++;
	report("type1.map", n, now() - t0);
	t0 = now();
	for (i = 0; i < n; i++)
		if (vfc_dma_unmap(c, base + (i << 12), 4096))
			failures++;
	report("type1.unmap", n, now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	VfcMachineConfig cfg = { 0 };
	VfcMachine *m;
	Error *err = NULL;
	unsigned long n;
	int rc;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: tce-bench x86|pseries BDF [N]\n");
		return 2;
	}
	if (!vfc_platform_parse(argv[1], &cfg.platform, &err)) {
		error_report_err("tce-bench", err);
		return 2;
	}
	n = argc == 4 ? strtoul(argv[3], NULL, 0) : 20000;
	if (!n)
		n = 512;
	vfc_set_warn_handler(on_warn, NULL);
	m = vfc_machine_new(&cfg, &err);
	if (!m || !vfc_machine_add_vfio_pci(m, argv[2], NULL, 0, &err)) {
		error_report_err("tce-bench", err);
		vfc_machine_free(m);
		return 1;
	}
	rc = cfg.platform == VFC_PLATFORM_PSERIES ? bench_pseries(m, n) : bench_x86(m, n);
	vfc_machine_free(m);
	printf("%-24s %u\n", "failures", failures);
	return rc || failures ? 1 : 0;
}

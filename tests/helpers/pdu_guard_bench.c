/* Microbenchmark: CPU time of the PDU guard per PDU, fed the way libiscsi reads and writes (header, then data). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "initiator/pdu_guard.h"

/*
 * Usage: pdu_guard_bench [N]. Runs N (default 2,000,000) 4 KiB READs and N/4
 * 64 KiB WRITEs (R2T + one Data-Out) through one guard after a login, each
 * PDU delivered as libiscsi moves it (48-byte header, then the data segment
 * as a separate call), and prints nanoseconds of CPU per PDU.
 */

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bhs(uint8_t *h, uint8_t op, uint8_t flags, uint32_t itt, uint32_t dsl)
{
	memset(h, 0, 48);
	h[0] = op;
	h[1] = flags;
	h[5] = (uint8_t)(dsl >> 16); h[6] = (uint8_t)(dsl >> 8); h[7] = (uint8_t)dsl;
	mp_put_be32(h + 16, itt);
}

static void must(int rc, const struct mp_pdu_guard *g)
{
	if (rc) {
		fprintf(stderr, "pdu_guard_bench: refused: %s\n", mp_pdu_guard_error(g));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	static uint8_t data[65536];
	static const char ours[] = "HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=262144\0"
		"MaxBurstLength=262144\0FirstBurstLength=262144\0MaxOutstandingR2T=1";
	static const char theirs[] = "HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=262144\0"
		"MaxBurstLength=262144\0FirstBurstLength=65536\0MaxOutstandingR2T=1";
	struct mp_pdu_guard *g = mp_pdu_guard_new();
	uint8_t h[48];
	bhs(h, 0x43, 0x87, 1, sizeof(ours));
	must(mp_pdu_guard_out(g, h, 48), g);
	must(mp_pdu_guard_out(g, ours, (sizeof(ours) + 3) & ~3u), g);
	bhs(h, 0x23, 0x87, 1, sizeof(theirs));
	must(mp_pdu_guard_in(g, h, 48), g);
	must(mp_pdu_guard_in(g, theirs, (sizeof(theirs) + 3) & ~3u), g);

	double t0 = cpu_s();
	for (long i = 0; i < n; i++) {
		uint32_t itt = (uint32_t)i;
		bhs(h, 0x01, 0xc1, itt, 0);
		mp_put_be32(h + 20, 4096);
		must(mp_pdu_guard_out(g, h, 48), g);
		bhs(h, 0x25, 0x81, itt, 4096);
		must(mp_pdu_guard_in(g, h, 48), g);
		must(mp_pdu_guard_in(g, data, 4096), g);
	}
	double t1 = cpu_s();
	long w = n / 4;
	for (long i = 0; i < w; i++) {
		uint32_t itt = (uint32_t)(n + i);
		bhs(h, 0x01, 0xa1, itt, 0);
		mp_put_be32(h + 20, 65536);
		must(mp_pdu_guard_out(g, h, 48), g);
		bhs(h, 0x31, 0x80, itt, 0);
		mp_put_be32(h + 20, 9);
		mp_put_be32(h + 44, 65536);
		must(mp_pdu_guard_in(g, h, 48), g);
		bhs(h, 0x05, 0x80, itt, 65536);
		mp_put_be32(h + 20, 9);
		must(mp_pdu_guard_out(g, h, 48), g);
		must(mp_pdu_guard_out(g, data, 65536), g);
		bhs(h, 0x21, 0x80, itt, 0);
		must(mp_pdu_guard_in(g, h, 48), g);
	}
	double t2 = cpu_s();
	printf("pdu_guard_bench: READ 4 KiB: %.1f ns per PDU (%ld commands, 2 PDUs each)\n", (t1 - t0) * 1e9 / (2.0 * n),
	       n);
	printf("pdu_guard_bench: WRITE 64 KiB via R2T: %.1f ns per PDU (%ld commands, 4 PDUs each)\n",
	       (t2 - t1) * 1e9 / (4.0 * w), w);
	printf("pdu_guard_bench: per READ command %.1f ns, per WRITE command %.1f ns\n", (t1 - t0) * 1e9 / n,
	       (t2 - t1) * 1e9 / w);
	mp_pdu_guard_free(g);
	return 0;
}

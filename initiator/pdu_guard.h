/* PDU guard: an I/O-free state machine that frames both directions of an iSCSI connection and refuses a target that lies. */
#ifndef MP_INITIATOR_PDU_GUARD_H
#define MP_INITIATOR_PDU_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Why: libiscsi 1.19 trusts the target. A Data-In or R2T carrying the task tag
 * of a NOP-Out or Login dereferences a NULL task; a WRITE answered while its
 * Data-Out PDUs are still queued frees a buffer libiscsi goes on reading; an
 * R2T with a huge length, or a target MaxRecvDataSegmentLength of 0, loops in
 * one service call; a READ with missing Data-In is reported GOOD. The guard
 * sees every byte before libiscsi does (initiator/sock_guard.h feeds it) and
 * refuses such a stream, so libiscsi never acts on the lying PDU.
 *
 * Contract:
 * - mp_pdu_guard_out() gets the bytes we wrote to the target, in order, and
 *   only those the socket accepted. mp_pdu_guard_in() gets the bytes received,
 *   in order. Chunks may split PDUs anywhere; the result does not depend on
 *   how the stream is cut.
 * - Checks run when a received PDU's header (BHS and header digest) is
 *   complete, and for login answers and Rejects also when the PDU is complete.
 *   The chunk that completes a refused header (or PDU) makes in() return -1:
 *   the caller must not hand that chunk to libiscsi.
 * - A refusal is final: every later in() returns -1 (errno EPROTO), and
 *   mp_pdu_guard_error() says what the target did. out() keeps returning 0.
 * - No system call, no copy of data bytes: only headers (48 bytes), login and
 *   text keys, and the first 48 bytes of a Reject are kept.
 * - Not thread safe; one guard per connection, reset for a new connection.
 */
struct mp_pdu_guard;

/* A guard for a new connection (login phase); NULL with errno ENOMEM. */
struct mp_pdu_guard *mp_pdu_guard_new(void);
void mp_pdu_guard_free(struct mp_pdu_guard *g);
/* Forget everything: the next bytes in both directions start a new connection's login. */
void mp_pdu_guard_reset(struct mp_pdu_guard *g);

/*
 * Bytes we sent. Learns outstanding task tags, their kind and lengths, Data-Out
 * bytes sent, and our login offers. Returns 0, or -1 with errno ENOMEM (the
 * guard is then failed too: in() refuses from now on, so the connection ends).
 */
int mp_pdu_guard_out(struct mp_pdu_guard *g, const void *buf, size_t n);

/* Bytes received. 0, or -1 with errno EPROTO when the stream violates the protocol. */
int mp_pdu_guard_in(struct mp_pdu_guard *g, const void *buf, size_t n);

/* What the target did, for an operator ("Data-In for ITT 0x12 (a NOP-Out) ..."); NULL while all is well. */
const char *mp_pdu_guard_error(const struct mp_pdu_guard *g);

/*
 * After a refusal that is a login redirect (status class 1): "HOST:PORT" from
 * the target's TargetAddress, the portal group tag stripped, ":3260" added when
 * it named no port, IPv6 hosts in brackets as sent. NULL otherwise.
 */
const char *mp_pdu_guard_redirect(const struct mp_pdu_guard *g);

/*
 * Per-service budget. Resets the count of received PDUs; once max_pdus PDUs
 * were completed since, mp_pdu_guard_in_paused() is true at the next PDU
 * boundary, and the socket layer answers EAGAIN instead of reading, so one
 * iscsi_service() call handles at most max_pdus PDUs. 0 means no limit.
 */
void mp_pdu_guard_budget(struct mp_pdu_guard *g, unsigned max_pdus);
/* True when the budget is spent and the receive stream stands between two PDUs. */
bool mp_pdu_guard_in_paused(const struct mp_pdu_guard *g);
/* True once the guard refused the stream (in() will keep refusing). */
bool mp_pdu_guard_failed(const struct mp_pdu_guard *g);

/*
 * Drop a task tag we gave up on without telling the target (a task cancelled
 * in libiscsi): a later answer for it is then refused as unknown. Optional:
 * an outstanding tag only costs a table slot (40 bytes) until the connection is reset.
 */
void mp_pdu_guard_forget(struct mp_pdu_guard *g, uint32_t itt);

struct mp_pdu_guard_stats {
	uint64_t pdus_in;     /* complete PDUs received and let through */
	uint64_t pdus_out;    /* PDU headers we sent */
	uint64_t rejects;     /* Reject PDUs received (allowed, counted) */
	uint32_t outstanding; /* task tags awaiting their final answer */
	bool full_feature;    /* login finished */
	bool header_digest;   /* CRC32C header digests in use */
	bool data_digest;     /* CRC32C data digests in use */
	uint32_t max_recv_dsl;  /* the data segment length we accept now */
	uint32_t target_max_recv_dsl; /* the target's declared MaxRecvDataSegmentLength */
	uint32_t max_burst, first_burst; /* as negotiated (the target's answers) */
};
void mp_pdu_guard_get_stats(const struct mp_pdu_guard *g, struct mp_pdu_guard_stats *s);

#endif

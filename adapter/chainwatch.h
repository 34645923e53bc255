/*
 * The daemon's watch over its audit chain: checkpoints of the head
 * (checkpoint.h) every `every` records and every `interval_ms` while the
 * head moves, each written only after the rows since the previous one
 * have been verified; and at start-up, the chain checked against the last
 * checkpoint (or, without one, its newest records).
 *
 * What this adds to the hash chain: rows written since the previous
 * checkpoint that are deleted or edited under a running daemon are found
 * at the next checkpoint (the store's readiness turns to failing and an
 * error is logged) instead of at the next `vayla audit verify`; the cost
 * of a checkpoint stays bounded by the rows since the previous one, so
 * rows behind it are not re-read: a change there is found by `vayla audit
 * verify` (the whole chain) and, when rewritten consistently, by
 * `--anchors`. A store that was cut back or rewritten while the daemon was
 * down stops it from starting; and the checkpoints, kept off the host,
 * let `vayla audit verify --anchors` catch a consistent rewrite.
 *
 * Thread-safety: used by the audit writer thread only, except
 * adp_chainwatch_ok() (any thread).
 */
#ifndef VAYLA_CHAINWATCH_H
#define VAYLA_CHAINWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <xroad/error.h>

#include "audit.h"

#define ADP_CHAINWATCH_TAIL                    \
    10000u /* records checked at start-up when \
              there is no checkpoint */

struct adp_chainwatch_opts {
    const char *file;     /* checkpoints appended here; NULL = log only */
    EVP_PKEY *key;        /* signs them (borrowed), or NULL */
    unsigned every;       /* records; 0 = not by count */
    unsigned interval_ms; /* 0 = not by time */
};

struct adp_chainwatch;

/*
 * Check the chain of `a` at start-up and write the first checkpoint.
 * Errors: XR_ESIG "audit_chain_broken" (the chain no longer extends the
 * last checkpoint of `file`, or its newest records do not verify: the
 * message says where; run `vayla audit verify`), XR_EPROTO
 * "audit_store_replaced" (the checkpoints name another chain), XR_EIO,
 * XR_ENOMEM. Ownership: *out new; a borrowed, it must outlive it;
 * o->file and o->key are copied (the key up-referenced).
 */
XR_NODISCARD enum xr_status adp_chainwatch_new(
    struct adp_audit *a, const struct adp_chainwatch_opts *o,
    struct adp_chainwatch **out, struct xr_error *err);

/* A final checkpoint, then free. Accepts NULL. */
void adp_chainwatch_free(struct adp_chainwatch *cw);

/* `rows` more records are durable; a checkpoint when `every` is reached. */
void adp_chainwatch_committed(struct adp_chainwatch *cw, size_t rows);

/* Monotonic ms when a checkpoint falls due by time (0: none is due). */
int64_t adp_chainwatch_due_ms(const struct adp_chainwatch *cw);

/* A checkpoint if one is due by time. */
void adp_chainwatch_tick(struct adp_chainwatch *cw);

/* False once a checkpoint found the chain changed under the daemon. */
bool adp_chainwatch_ok(const struct adp_chainwatch *cw);

#endif

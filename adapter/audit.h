/*
 * Audit store: one tamper-evident record of every upstream query, kept for
 * the retention period (VTJ: five years, docs/vtj.md §9). SQLite in
 * WAL mode with synchronous=FULL; schema, hash chain and limits are in
 * docs/audit.md.
 *
 * A query leaves two chained rows: an INTENT, durable before the security
 * server is called, and an OUTCOME, durable before the caller gets an
 * answer. Rows are append-only; retention pruning deletes the oldest rows
 * and appends a PRUNE row that anchors the remaining chain.
 *
 * Group commit. adp_audit_intent() and adp_audit_outcome() only validate,
 * hash the message bytes and append to an in-memory pending batch; they
 * return a ticket. adp_audit_commit() writes the whole batch in one
 * transaction (one fsync) and advances the durable watermark: every ticket
 * <= adp_audit_durable() is on disk. The event loop calls commit once per
 * iteration and releases the requests whose tickets became durable; the CLI
 * calls commit right after each append. Sequence numbers and chain hashes
 * are assigned inside the commit transaction from the database's own head,
 * so several handles (other processes, one loop per core) can append to the
 * same store safely.
 *
 * A handle is owned by one thread (SQLite connection opened with
 * SQLITE_OPEN_NOMUTEX). Personal identifiers (the subject) appear only in
 * the database, never in error messages.
 */
#ifndef VAYLA_AUDIT_H
#define VAYLA_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xroad/error.h>

#define ADP_AUDIT_TEXT_MAX                1024u /* bytes of one text field */
#define ADP_AUDIT_CLASS_MAX               64u /* bytes of result_class: [a-z0-9_] */
#define ADP_AUDIT_HASH_LEN                32u /* SHA-256 chain hashes */
#define ADP_AUDIT_CHAIN_ID_LEN            16u /* random id of one chain */
#define ADP_AUDIT_SHA512_LEN              64u /* digests of request/response bytes */
#define ADP_AUDIT_TIME_LEN                24u /* "2026-11-27T16:27:21.123Z" */
#define ADP_AUDIT_PENDING_MAX             65536u /* default cap of the pending batch */
#define ADP_AUDIT_BUSY_TIMEOUT_MS_DEFAULT 5000u
#define ADP_AUDIT_PRUNE_BATCH_DEFAULT     10000u /* rows per transaction */
#define ADP_AUDIT_SCHEMA_VERSION          1

/* Opaque handle: one SQLite connection plus the pending batch. */
struct adp_audit;

struct adp_audit_options {
    bool read_only;           /* verify/search/export; never creates */
    unsigned busy_timeout_ms; /* 0 = ADP_AUDIT_BUSY_TIMEOUT_MS_DEFAULT */
    size_t max_pending;       /* 0 = ADP_AUDIT_PENDING_MAX rows */
};

/*
 * What is about to be asked. Strings are borrowed for the duration of the
 * call (copied). Text fields: at most ADP_AUDIT_TEXT_MAX bytes of UTF-8
 * without control characters. Required: caller, end_user, service,
 * message_id, request (non-empty) or request_sha512. Optional (NULL):
 * purpose, product, subject.
 */
struct adp_audit_intent {
    int64_t time_ms;        /* Unix time in ms (UTC); 0 = now */
    const char *caller;     /* client identity: cert subject, "cli:uid=..." */
    const char *end_user;   /* natural person (userId / Loppukayttaja) */
    const char *purpose;    /* why: X-Road issue / käyttötarkoitus */
    const char *service;    /* X-Road service id */
    const char *product;    /* e.g. VTJ SoSoNimi */
    const char *subject;    /* target identifier, e.g. the queried hetu */
    const char *message_id; /* X-Road header id, unique per message */
    const uint8_t *request; /* exact bytes sent upstream: SHA-512 stored */
    size_t request_len;
    /* Optional: SHA-512 of those bytes when the caller has computed it
     * already (e.g. for the requestHash check); request may then be NULL. */
    const uint8_t *request_sha512; /* ADP_AUDIT_SHA512_LEN bytes */
};

/*
 * What happened. message_id links the outcome to the latest intent with
 * the same id (resolved at commit time). Required: message_id,
 * result_class ([a-z0-9_], e.g. "ok", "not_found", "transport_error").
 * Optional (NULL): return_code, fault_code, fault_origin, response and
 * response_sha512 (both NULL: no response bytes were received).
 */
struct adp_audit_outcome {
    int64_t time_ms;          /* Unix time in ms (UTC); 0 = now */
    const char *message_id;   /* of the intent */
    const char *result_class; /* classification (docs/vtj.md §4) */
    const char *return_code;  /* service return code, e.g. Paluukoodi */
    const char *fault_code;   /* SOAP/X-Road faultcode */
    const char *fault_origin; /* who failed: e.g. "client", "server" */
    int64_t duration_ms;      /* upstream exchange, >= 0 */
    const uint8_t *response;  /* exact bytes received, NULL if none */
    size_t response_len;
    const uint8_t *response_sha512; /* optional precomputed digest */
};

/*
 * One stored row as read back. Every pointer is borrowed from the reading
 * statement and valid only during the callback that receives it. Absent
 * values are NULL (strings, digests) or 0 (ref_seq, prune_seq, which are
 * never 0 when present); has_duration tells whether duration_ms is set.
 */
struct adp_audit_row {
    uint64_t seq;
    const char *kind; /* "intent", "outcome" or "prune" */
    uint64_t ref_seq; /* outcome: seq of its intent */
    const char *time; /* RFC 3339 UTC with milliseconds */
    const char *caller;
    const char *end_user;
    const char *purpose;
    const char *service;
    const char *product;
    const char *subject;
    const char *message_id;
    const uint8_t *request_sha512; /* ADP_AUDIT_SHA512_LEN bytes */
    const char *result_class;
    const char *return_code;
    const char *fault_code;
    const char *fault_origin;
    bool has_duration;
    int64_t duration_ms;
    const uint8_t *response_sha512; /* ADP_AUDIT_SHA512_LEN bytes */
    uint64_t prune_seq;             /* prune: last deleted seq */
    const uint8_t *prune_hash;      /* prune: its row hash */
    const char *prune_cutoff;       /* prune: rows older than this went */
    uint64_t prune_count;           /* prune: rows deleted */
    const uint8_t *prev_hash;       /* ADP_AUDIT_HASH_LEN bytes */
    const uint8_t *row_hash;        /* ADP_AUDIT_HASH_LEN bytes */
};

/*
 * Open (and, unless read_only, create with mode 0600) the store at path.
 * A writable open sets WAL, synchronous=FULL, secure_delete and the busy
 * timeout, creates the schema if the file is new, tightens the file mode to
 * 0600, and checks that the recorded chain head matches the last row
 * (XR_ESIG, reason "audit_head_mismatch", if not: run `vayla audit
 * verify`). opts may be NULL (defaults).
 * Errors: XR_EIO "io_error" (open/SQL failure; msg names path, no data),
 * XR_EPROTO "audit_schema" (not a vayla audit store or unknown version),
 * XR_ESIG, XR_ENOMEM.
 * Ownership: *out is new; free with adp_audit_close(). path is copied.
 * Thread-safety: the handle must be used by one thread at a time.
 */
XR_NODISCARD enum xr_status adp_audit_open(const char *path,
                                           const struct adp_audit_options *opts,
                                           struct adp_audit **out,
                                           struct xr_error *err);

/*
 * Close the connection. Rows still pending (not committed) are DISCARDED:
 * call adp_audit_commit() first. Accepts NULL.
 * Ownership: frees a. Thread-safety: owning thread only.
 */
void adp_audit_close(struct adp_audit *a);

/*
 * Validate `in`, compute SHA-512 of the request bytes and append an intent
 * to the pending batch. *ticket (> 0) increases by one per append.
 * Errors: XR_EINVAL "invalid_field" (err->field names the field; the value
 * is never echoed), XR_ELIMIT "too_large" (a field, or the pending batch is
 * full: back-pressure), XR_EINVAL "read_only", XR_ENOMEM.
 * Ownership: in is borrowed for the call. Thread-safety: owning thread.
 */
XR_NODISCARD enum xr_status adp_audit_intent(struct adp_audit *a,
                                             const struct adp_audit_intent *in,
                                             uint64_t *ticket,
                                             struct xr_error *err);

/*
 * As adp_audit_intent(), for the outcome of a query whose intent was
 * appended earlier (normally already durable).
 * Ownership: out is borrowed for the call. Thread-safety: owning thread.
 */
XR_NODISCARD enum xr_status adp_audit_outcome(
    struct adp_audit *a, const struct adp_audit_outcome *out, uint64_t *ticket,
    struct xr_error *err);

/*
 * Make the pending batch durable: BEGIN IMMEDIATE, read the chain head,
 * insert every pending row with the next sequence numbers and chain
 * hashes, update the head, COMMIT (fsync). On success the batch is empty
 * and adp_audit_durable() covers every ticket handed out so far. On
 * failure nothing was written, the batch is kept in order and the next
 * call retries it; the caller must not answer queries whose tickets are not
 * durable. Nothing pending: returns XR_OK at once.
 * Errors: XR_EIO "io_error" (includes SQLITE_BUSY after the busy timeout,
 * SQLITE_FULL), XR_ENOMEM.
 * Ownership: none. Thread-safety: owning thread.
 */
XR_NODISCARD enum xr_status adp_audit_commit(struct adp_audit *a,
                                             struct xr_error *err);

/*
 * Highest ticket known durable (0: none yet). Tickets are handed out in
 * order and committed in order, so every ticket <= this value is on disk.
 * Ownership: none. Thread-safety: owning thread.
 */
uint64_t adp_audit_durable(const struct adp_audit *a);

/*
 * Number of rows waiting for adp_audit_commit().
 * Ownership: none. Thread-safety: owning thread.
 */
size_t adp_audit_pending(const struct adp_audit *a);

/* Result of adp_audit_verify(). */
struct adp_audit_verify_report {
    bool intact;            /* every check passed */
    uint64_t first_bad_seq; /* 0 when intact */
    const char *problem;    /* static code, NULL when intact; see below */
    char detail[256];       /* sentence for humans; never row contents */
    uint64_t rows;          /* rows checked */
    uint64_t base_seq;      /* first retained seq (after pruning) */
    uint64_t head_seq;      /* recorded head (0 = empty store) */
    uint8_t head_hash[ADP_AUDIT_HASH_LEN];
    uint64_t intents;
    uint64_t outcomes;
    uint64_t prunes;
    uint64_t open_intents;    /* intents with no outcome (crash/in flight) */
    uint64_t orphan_outcomes; /* outcomes whose intent is not retained */
    uint64_t anchors;         /* external anchors checked */
    uint64_t anchors_pruned;  /* older than the retained chain */
};

/*
 * External anchors: (seq, row hash) pairs kept outside the store, from
 * the daemon's checkpoints (checkpoint.h) or a verify printed earlier.
 * Verify then also proves that the current chain extends every one of
 * them: it detects a consistent rewrite of the whole store, or a
 * truncation back past an anchor, which the chain alone cannot.
 */
struct adp_audit_anchor {
    uint64_t seq;
    uint8_t hash[ADP_AUDIT_HASH_LEN];
};

/*
 * Check the whole chain in one read snapshot. Problems (report->problem):
 *   "hash_mismatch"    a row's contents do not match its hash (edited);
 *   "chain_break"      a row no longer matches what its successor
 *                      committed to (replaced/forged row);
 *   "missing"          a sequence number is absent (deleted row);
 *   "unexpected"       a row outside the recorded range (inserted);
 *   "head_mismatch"    rows after the last one were deleted, or the head
 *                      record was edited;
 *   "anchor_mismatch"  the oldest rows were removed other than by prune;
 *   "malformed"        wrong type/length/kind in a row or in chain_state;
 *   "external_anchor"  the chain does not extend one of `anchors`.
 * first_bad_seq names the first bad record (for "missing": the first
 * absent sequence number). Anchors older than the retained chain are
 * counted in anchors_pruned (checked only when the newest prune record
 * names their row), never a failure.
 * Returns XR_OK when the check ran (intact or not), XR_EIO otherwise.
 * Ownership: anchors (n of them, any order) borrowed. Thread-safety:
 * owning thread.
 */
XR_NODISCARD enum xr_status adp_audit_verify(
    struct adp_audit *a, const struct adp_audit_anchor *anchors, size_t n,
    struct adp_audit_verify_report *report, struct xr_error *err);

/*
 * Check only the rows from `from->seq` to the head: the row at from->seq
 * must still have from->hash, every later row its hash and link, the
 * recorded head must match. The daemon runs it at each checkpoint and at
 * start-up, from its last checkpoint. Problems as adp_audit_verify()
 * ("external_anchor" when the row at from->seq is gone or differs).
 * Ownership: from borrowed. Thread-safety: owning thread.
 */
XR_NODISCARD enum xr_status adp_audit_verify_from(
    struct adp_audit *a, const struct adp_audit_anchor *from,
    struct adp_audit_verify_report *report, struct xr_error *err);

/*
 * The anchor (seq and row hash) of the retained record at seq.
 * Errors: XR_EPROTO "not_found", XR_EIO. Thread-safety: owning thread.
 */
XR_NODISCARD enum xr_status adp_audit_anchor_at(struct adp_audit *a,
                                                uint64_t seq,
                                                struct adp_audit_anchor *out,
                                                struct xr_error *err);

/* The chain's head as the store records it. */
struct adp_audit_head {
    uint64_t seq; /* 0: no record yet */
    uint8_t hash[ADP_AUDIT_HASH_LEN];
    uint64_t base_seq; /* first retained record */
    uint8_t chain_id[ADP_AUDIT_CHAIN_ID_LEN];
};

/* Read the head (one small read). Errors: XR_EIO, XR_EPROTO "malformed".
 * Thread-safety: owning thread. */
XR_NODISCARD enum xr_status adp_audit_head(struct adp_audit *a,
                                           struct adp_audit_head *head,
                                           struct xr_error *err);

/*
 * Search filter. NULL strings and has_* false mean "any". from is
 * inclusive, to exclusive, both on the intent's time. limit 0 = no limit.
 */
struct adp_audit_filter {
    const char *subject;
    const char *end_user;
    const char *caller;
    const char *message_id;
    bool has_from;
    int64_t from_ms;
    bool has_to;
    int64_t to_ms;
    uint64_t limit;
};

/*
 * Called per query (intent, with its outcome or NULL) or per row. Return
 * non-zero to stop the iteration (the search then returns XR_OK).
 * Ownership: rows are borrowed for the duration of the call.
 */
typedef int adp_audit_query_fn(void *ctx, const struct adp_audit_row *intent,
                               const struct adp_audit_row *outcome);
typedef int adp_audit_row_fn(void *ctx, const struct adp_audit_row *row);

/*
 * Queries matching `f` in sequence order. Filters on subject, end user,
 * caller and message id use indexes.
 * Errors: XR_EIO, XR_EINVAL (bad filter).
 * Ownership: f and its strings are borrowed for the call; the rows passed
 * to cb are valid only during each callback. Thread-safety: owning thread.
 */
XR_NODISCARD enum xr_status adp_audit_search(struct adp_audit *a,
                                             const struct adp_audit_filter *f,
                                             adp_audit_query_fn *cb, void *ctx,
                                             struct xr_error *err);

/*
 * Every retained row (intent, outcome, prune) in sequence order, optionally
 * limited by time (f->has_from / f->has_to; other filter fields are
 * ignored; f may be NULL). Errors: XR_EIO, XR_EINVAL.
 * Ownership: as adp_audit_search(). Thread-safety: owning thread.
 */
XR_NODISCARD enum xr_status adp_audit_export(struct adp_audit *a,
                                             const struct adp_audit_filter *f,
                                             adp_audit_row_fn *cb, void *ctx,
                                             struct xr_error *err);

struct adp_audit_prune_result {
    uint64_t deleted;     /* rows deleted by this call */
    uint64_t through_seq; /* last deleted seq (0: nothing deleted) */
    uint64_t prune_seq;   /* seq of the prune row written (0: none) */
    bool more;            /* max_rows reached; call again */
};

/*
 * Retention: delete the longest prefix of the chain whose rows are all
 * older than cutoff_ms (never a row at or after the cutoff, even if the
 * clock went backwards), at most max_rows (0 = default) rows, after
 * checking that those rows are intact (XR_ESIG "audit_chain_broken"
 * otherwise: nothing is deleted). In the same transaction it appends a
 * prune row recording the last deleted seq and hash, the cutoff, the count
 * and `actor`, and moves the chain base, so the rest still verifies.
 * Nothing to delete: no row is written.
 * Errors: XR_EIO, XR_ESIG, XR_EINVAL (actor, read-only handle).
 * Ownership: actor borrowed. Thread-safety: owning thread.
 */
XR_NODISCARD enum xr_status adp_audit_prune(struct adp_audit *a,
                                            int64_t cutoff_ms,
                                            const char *actor, size_t max_rows,
                                            struct adp_audit_prune_result *res,
                                            struct xr_error *err);

/*
 * Current Unix time in milliseconds (CLOCK_REALTIME).
 * Ownership: none. Thread-safety: any thread.
 */
int64_t adp_audit_now_ms(void);

/*
 * Format ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least
 * ADP_AUDIT_TIME_LEN + 1 bytes). Returns false for times before 1970 or
 * after 9999. Ownership: out is caller storage. Thread-safety: any thread.
 */
bool adp_audit_time_format(int64_t ms, char *out, size_t size);

/*
 * Parse "YYYY-MM-DD" (midnight UTC) or RFC 3339
 * "YYYY-MM-DDTHH:MM[:SS[.fff...]](Z|+HH:MM|-HH:MM)" into Unix ms.
 * Fractions beyond milliseconds are truncated. Returns false if malformed
 * (also for dates before 1970). Ownership: none. Thread-safety: any thread.
 */
bool adp_audit_time_parse(const char *s, int64_t *ms);

#endif

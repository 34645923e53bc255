/*
 * Private to the audit store: the handle, the rows of the chain_state and
 * records tables, and the helpers its files share. Other modules use
 * audit.h only. Hash format and schema: docs/audit.md. The files:
 *
 *   audit.c         open (file mode, WAL, schema, head check) and close;
 *                   transaction helpers
 *   audit_row.c     one row: time format, text rules, hashes, columns
 *   audit_append.c  intent, outcome, group commit
 *   audit_verify.c  verification of the whole chain
 *   audit_search.c  search and export
 *   audit_prune.c   retention pruning
 *
 * Nothing declared here ever puts a stored value (a hetu, an end user)
 * into an error message.
 */
#ifndef VAYLA_AUDIT_INTERNAL_H
#define VAYLA_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "audit.h"

#define CHAIN_ID_LEN ADP_AUDIT_CHAIN_ID_LEN
/*
 * The columns of `records`, in hash order. COLS("i.") prefixes each one so
 * a join can read two rows with the same reader (adp__audit_row_read()).
 */
#define COLS(p)                                                              \
    p "seq," p "kind," p "ref_seq," p "time," p "caller," p "end_user," p    \
      "purpose," p "service," p "product," p "subject," p "message_id," p    \
      "request_sha512," p "result_class," p "return_code," p "fault_code," p \
      "fault_origin," p "duration_ms," p "response_sha512," p "prune_seq," p \
      "prune_hash," p "prune_cutoff," p "prune_count," p "prev_hash," p      \
      "row_hash"
#define NCOLS 24

/* One row waiting for commit. Strings live in text[] (same allocation). */
struct pending {
    uint64_t ticket;
    struct adp_audit_row row; /* seq, ref_seq, hashes filled at commit */
    char time[ADP_AUDIT_TIME_LEN + 1];
    uint8_t req_sha512[ADP_AUDIT_SHA512_LEN];
    uint8_t resp_sha512[ADP_AUDIT_SHA512_LEN];
    uint8_t prev[ADP_AUDIT_HASH_LEN];
    uint8_t hash[ADP_AUDIT_HASH_LEN];
    char text[]; /* NUL-separated copies of the string fields */
};

/* The chain_state row. */
struct chain_state {
    int64_t schema_version;
    uint8_t chain_id[CHAIN_ID_LEN];
    uint64_t base_seq;
    uint8_t base_prev[ADP_AUDIT_HASH_LEN];
    uint64_t head_seq;
    uint8_t head_hash[ADP_AUDIT_HASH_LEN];
};

struct adp_audit {
    char *path;  /* owned copy, for messages */
    sqlite3 *db; /* owned connection */
    bool read_only;
    size_t max_pending;
    EVP_MD *sha256; /* owned, fetched once */
    EVP_MD *sha512; /* owned, fetched once */
    EVP_MD_CTX *md; /* owned, reused for every digest */
    /* Persistent statements of the write path (NULL when read-only). */
    sqlite3_stmt *st_begin;
    sqlite3_stmt *st_commit;
    sqlite3_stmt *st_rollback;
    sqlite3_stmt *st_state;
    sqlite3_stmt *st_insert;
    sqlite3_stmt *st_head;
    sqlite3_stmt *st_find_intent;
    struct pending **pend; /* owned array of owned rows, in ticket order */
    size_t npend;
    size_t cap_pend;
    uint64_t next_ticket;
    uint64_t durable_ticket;
};

/* ---- audit.c: errors, transactions, the pending batch ---------------- */

/* XR_EIO "io_error" naming the store, `what` and SQLite's message (which
 * names tables, columns and constraints, never values). */
enum xr_status adp__audit_db_error(const struct adp_audit *a,
                                   struct xr_error *err, const char *what);
/* XR_ENOMEM "out_of_memory". */
enum xr_status adp__audit_oom(struct xr_error *err);
/* Step and reset a constant statement (BEGIN/COMMIT/ROLLBACK). */
bool adp__audit_run(sqlite3_stmt *st);
/* sqlite3_exec() of constant SQL; true on SQLITE_OK. */
bool adp__audit_exec_sql(struct adp_audit *a, const char *sql);
/* ROLLBACK if a transaction is still open. */
void adp__audit_rollback(struct adp_audit *a);
/* Free every pending row; the array itself is kept. */
void adp__audit_pending_clear(struct adp_audit *a);

/* ---- audit_row.c: one row: text rules, hashes, columns ---------------- */

/*
 * Check one string field (UTF-8 without control characters, at most max
 * bytes, present and non-empty when required); adds its size with the NUL
 * to *total. Errors name the field, never the value.
 */
enum xr_status adp__audit_check_field(const char *name, const char *v,
                                      bool required, size_t max, size_t *total,
                                      struct xr_error *err);
/* The chain hash of r (r->row_hash is not part of it), docs/audit.md §3. */
bool adp__audit_row_hash(struct adp_audit *a, const struct adp_audit_row *r,
                         uint8_t out[ADP_AUDIT_HASH_LEN]);
/* prev_hash of row 1 of the chain chain_id. */
bool adp__audit_genesis_hash(struct adp_audit *a,
                             const uint8_t chain_id[CHAIN_ID_LEN],
                             uint8_t out[ADP_AUDIT_HASH_LEN]);
/* SHA-512 of n bytes at p. */
bool adp__audit_sha512(struct adp_audit *a, const uint8_t *p, size_t n,
                       uint8_t out[ADP_AUDIT_SHA512_LEN]);
/* Column c as a blob of exactly len bytes (NULL allowed when nullable). */
bool adp__audit_col_blob(sqlite3_stmt *st, int c, size_t len, bool nullable,
                         const uint8_t **out);
/* Column c as a positive integer (NULL, read as 0, when nullable). */
bool adp__audit_col_pos(sqlite3_stmt *st, int c, bool nullable, uint64_t *out);
/*
 * Fill *r from columns c0 .. c0 + NCOLS - 1 of st (COLS order); false for
 * a malformed row. Pointers in *r are borrowed from st until its next step.
 */
bool adp__audit_row_read(sqlite3_stmt *st, int c0, struct adp_audit_row *r);
/* Kind-specific rules: which fields a row of its kind must carry. */
bool adp__audit_row_shape_ok(const struct adp_audit_row *r);
/* Insert r with a->st_insert (the write path only). */
bool adp__audit_row_insert(struct adp_audit *a, const struct adp_audit_row *r);
/* Read chain_state (inside a transaction for a consistent view). */
enum xr_status adp__audit_state_read(struct adp_audit *a,
                                     struct chain_state *cs,
                                     struct xr_error *err);

#endif

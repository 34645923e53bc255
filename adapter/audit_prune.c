/*
 * Retention: deleting the oldest rows of the audit chain after checking
 * them, and appending the prune row that anchors what remains.
 */
#include <string.h>

#include <sqlite3.h>

#include "audit_internal.h"

/*
 * Check rows base..through (and that row through+1, or the head, chains
 * to `through`), leaving the hash of `through` in last.
 */
static enum xr_status prune_check(struct adp_audit *a,
                                  const struct chain_state *cs,
                                  uint64_t through,
                                  uint8_t last[ADP_AUDIT_HASH_LEN],
                                  struct xr_error *err)
{
    uint8_t prev[ADP_AUDIT_HASH_LEN], h[ADP_AUDIT_HASH_LEN];
    struct adp_audit_row r;
    sqlite3_stmt *st = NULL;
    uint64_t expect = cs->base_seq;
    enum xr_status rc;
    bool next_seen = false;
    int src;

    if (sqlite3_prepare_v2(a->db,
                           "SELECT " COLS("") " FROM records"
                                              " WHERE seq >= ?1 AND seq <= ?2"
                                              " ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "reading records to prune");
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)cs->base_seq);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(through + 1));
    memcpy(prev, cs->base_prev, sizeof(prev));
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (!adp__audit_row_read(st, 0, &r) || r.seq != expect ||
            !adp__audit_row_shape_ok(&r) || !adp__audit_row_hash(a, &r, h) ||
            memcmp(h, r.row_hash, sizeof(h)) != 0 ||
            memcmp(prev, r.prev_hash, sizeof(prev)) != 0)
            break;
        if (r.seq == through + 1) {
            next_seen = true;
            break;
        }
        memcpy(prev, r.row_hash, sizeof(prev));
        expect++;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = adp__audit_db_error(a, err, "reading records to prune");
        goto out;
    }
    if (expect != through + 1 ||
        (!next_seen && (through != cs->head_seq ||
                        memcmp(prev, cs->head_hash, sizeof(prev)) != 0))) {
        rc = xr_error_set(err, XR_ESIG, "audit_chain_broken", "",
                          "audit store %s: records to prune are not intact "
                          "(near record %llu); nothing deleted, run `vayla "
                          "audit verify`",
                          a->path, (unsigned long long)expect);
        goto out;
    }
    memcpy(last, prev, ADP_AUDIT_HASH_LEN);
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* seq of the first row at or after the cutoff (head + 1: none). */
static enum xr_status first_kept_seq(struct adp_audit *a,
                                     const struct chain_state *cs,
                                     const char *cutoff, uint64_t *first_kept,
                                     struct xr_error *err)
{
    sqlite3_stmt *st = NULL;
    enum xr_status rc;
    int src;

    /* `+time` keeps the planner on the rowid: this scans only the prefix
     * that is about to go, not five years of the time index. */
    if (sqlite3_prepare_v2(a->db,
                           "SELECT seq FROM records WHERE +time >= ?1"
                           " ORDER BY seq LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "finding cutoff");
        goto out;
    }
    sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *first_kept = (uint64_t)sqlite3_column_int64(st, 0);
    } else if (src == SQLITE_DONE) {
        *first_kept = cs->head_seq + 1;
    } else {
        rc = adp__audit_db_error(a, err, "finding cutoff");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Delete rows up to `through`: exactly n of them. */
static enum xr_status delete_through(struct adp_audit *a, uint64_t through,
                                     uint64_t n, struct xr_error *err)
{
    sqlite3_stmt *st = NULL;
    enum xr_status rc;

    if (sqlite3_prepare_v2(a->db, "DELETE FROM records WHERE seq <= ?1", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "delete");
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)through);
    if (sqlite3_step(st) != SQLITE_DONE ||
        (uint64_t)sqlite3_changes64(a->db) != n) {
        rc = adp__audit_db_error(a, err, "delete");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/*
 * The chain now starts after `through` (last: its hash) and ends with the
 * prune row seq (hash h); commits the transaction.
 */
static enum xr_status move_base(struct adp_audit *a, uint64_t through,
                                const uint8_t last[ADP_AUDIT_HASH_LEN],
                                uint64_t seq,
                                const uint8_t h[ADP_AUDIT_HASH_LEN],
                                struct xr_error *err)
{
    sqlite3_stmt *st = NULL;
    enum xr_status rc;

    if (sqlite3_prepare_v2(a->db,
                           "UPDATE chain_state SET base_seq = ?1,"
                           " base_prev_hash = ?2, head_seq = ?3,"
                           " head_hash = ?4 WHERE id = 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "updating chain base");
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(through + 1));
    sqlite3_bind_blob(st, 2, last, ADP_AUDIT_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)seq);
    sqlite3_bind_blob(st, 4, h, ADP_AUDIT_HASH_LEN, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(a->db) != 1 ||
        !adp__audit_run(a->st_commit)) {
        rc = adp__audit_db_error(a, err, "updating chain base");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

enum xr_status adp_audit_prune(struct adp_audit *a, int64_t cutoff_ms,
                               const char *actor, size_t max_rows,
                               struct adp_audit_prune_result *res,
                               struct xr_error *err)
{
    char cutoff[ADP_AUDIT_TIME_LEN + 1], now[ADP_AUDIT_TIME_LEN + 1];
    uint8_t last[ADP_AUDIT_HASH_LEN], h[ADP_AUDIT_HASH_LEN];
    struct adp_audit_row r;
    struct chain_state cs;
    uint64_t first_kept = 0, through, n;
    size_t total = 0;
    enum xr_status rc;

    memset(res, 0, sizeof(*res));
    if (max_rows == 0)
        max_rows = ADP_AUDIT_PRUNE_BATCH_DEFAULT;
    if (a->read_only) {
        rc = xr_error_set(err, XR_EINVAL, "read_only", "",
                          "audit store %s: opened read-only", a->path);
        goto out;
    }
    if ((rc = adp__audit_check_field("actor", actor, true, ADP_AUDIT_TEXT_MAX,
                                     &total, err)) != XR_OK)
        goto out;
    if (!adp_audit_time_format(cutoff_ms, cutoff, sizeof(cutoff)) ||
        !adp_audit_time_format(adp_audit_now_ms(), now, sizeof(now))) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "cutoff",
                          "audit prune: cutoff out of range");
        goto out;
    }
    if (!adp__audit_run(a->st_begin)) {
        rc = adp__audit_db_error(a, err, "begin");
        goto out;
    }
    rc = adp__audit_state_read(a, &cs, err);
    if (rc != XR_OK)
        goto out;
    rc = first_kept_seq(a, &cs, cutoff, &first_kept, err);
    if (rc != XR_OK)
        goto out;
    if (first_kept <= cs.base_seq) {
        rc = adp__audit_run(a->st_commit)
                 ? XR_OK
                 : adp__audit_db_error(a, err, "commit");
        goto out;
    }
    through = first_kept - 1;
    if (through - cs.base_seq + 1 > max_rows) {
        through = cs.base_seq + max_rows - 1;
        res->more = true;
    }
    rc = prune_check(a, &cs, through, last, err);
    if (rc != XR_OK)
        goto out;
    n = through - cs.base_seq + 1;
    rc = delete_through(a, through, n, err);
    if (rc != XR_OK)
        goto out;
    memset(&r, 0, sizeof(r));
    r.seq = cs.head_seq + 1;
    r.kind = "prune";
    r.time = now;
    r.caller = actor;
    r.prune_seq = through;
    r.prune_hash = last;
    r.prune_cutoff = cutoff;
    r.prune_count = n;
    r.prev_hash = cs.head_hash;
    r.row_hash = h;
    if (!adp__audit_row_hash(a, &r, h)) {
        rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                          "audit store: SHA-256 failed");
        goto out;
    }
    if (!adp__audit_row_insert(a, &r)) {
        rc = adp__audit_db_error(a, err, "insert prune record");
        goto out;
    }
    rc = move_base(a, through, last, r.seq, h, err);
    if (rc != XR_OK)
        goto out;
    res->deleted = n;
    res->through_seq = through;
    res->prune_seq = r.seq;
    rc = XR_OK;
out:
    if (rc != XR_OK)
        adp__audit_rollback(a);
    return rc;
}

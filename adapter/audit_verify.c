/*
 * Verifying the audit chain (`vayla audit verify`): the chain base, every
 * row's shape and hash, the links between rows, the recorded head, an
 * optional external anchor, and the intents and outcomes without a partner.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "audit_internal.h"

/* Keep the problem with the lowest sequence number. */
static void problem(struct adp_audit_verify_report *rep, uint64_t seq,
                    const char *code, const char *fmt, ...) XR_PRINTF(4, 5);

static void problem(struct adp_audit_verify_report *rep, uint64_t seq,
                    const char *code, const char *fmt, ...)
{
    va_list ap;

    if (!rep->intact && rep->first_bad_seq <= seq)
        return;
    rep->intact = false;
    rep->first_bad_seq = seq;
    rep->problem = code;
    va_start(ap, fmt);
    vsnprintf(rep->detail, sizeof(rep->detail), fmt, ap);
    va_end(ap);
}

/*
 * Row n does not chain to row n-1: one of them was replaced. If the rows
 * after n confirm n (row n+1 chains to it, or n is the recorded head), the
 * replaced one is n-1; otherwise it is n.
 */
static void blame(struct adp_audit_verify_report *rep, uint64_t n,
                  bool confirmed)
{
    if (confirmed)
        problem(rep, n - 1, "chain_break",
                "record %llu was replaced: record %llu, confirmed by its "
                "successor, was chained to a different record",
                (unsigned long long)(n - 1), (unsigned long long)n);
    else
        problem(rep, n, "chain_break",
                "record %llu was replaced or forged: it does not chain to "
                "record %llu",
                (unsigned long long)n, (unsigned long long)(n - 1));
}

/* The newest prune record: the last row it deleted, for anchors. */
struct pruned {
    uint64_t seq; /* 0: no prune record */
    uint8_t hash[ADP_AUDIT_HASH_LEN];
};

/* The newest prune row, if any: it must anchor the chain base. */
static enum xr_status check_base(struct adp_audit *a,
                                 const struct chain_state *cs,
                                 struct pruned *pr,
                                 struct adp_audit_verify_report *rep,
                                 struct xr_error *err)
{
    uint8_t genesis[ADP_AUDIT_HASH_LEN];
    sqlite3_stmt *st = NULL;
    struct adp_audit_row r;
    enum xr_status rc;
    int src;

    if (sqlite3_prepare_v2(a->db,
                           "SELECT " COLS("") " FROM records"
                                              " WHERE kind = 'prune'"
                                              " ORDER BY seq DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "reading prune records");
        goto out;
    }
    memset(pr, 0, sizeof(*pr));
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        bool ok = adp__audit_row_read(st, 0, &r) && r.prune_seq && r.prune_hash;
        if (ok) {
            pr->seq = r.prune_seq;
            memcpy(pr->hash, r.prune_hash, ADP_AUDIT_HASH_LEN);
        }
        if (!ok) {
            problem(rep, r.seq, "malformed", "record %llu: malformed prune",
                    (unsigned long long)r.seq);
        } else if (r.prune_seq + 1 < cs->base_seq) {
            problem(rep, r.prune_seq + 1, "anchor_mismatch",
                    "records %llu..%llu were deleted without a prune "
                    "record",
                    (unsigned long long)(r.prune_seq + 1),
                    (unsigned long long)(cs->base_seq - 1));
        } else if (r.prune_seq + 1 > cs->base_seq ||
                   memcmp(r.prune_hash, cs->base_prev, ADP_AUDIT_HASH_LEN) !=
                       0) {
            problem(rep, cs->base_seq, "anchor_mismatch",
                    "chain base %llu does not match prune record %llu",
                    (unsigned long long)cs->base_seq,
                    (unsigned long long)r.seq);
        }
    } else if (src == SQLITE_DONE) {
        if (cs->base_seq != 1) {
            problem(rep, 1, "anchor_mismatch",
                    "records 1..%llu were deleted without a prune record",
                    (unsigned long long)(cs->base_seq - 1));
        } else if (!adp__audit_genesis_hash(a, cs->chain_id, genesis) ||
                   memcmp(genesis, cs->base_prev, ADP_AUDIT_HASH_LEN) != 0) {
            problem(rep, 1, "anchor_mismatch",
                    "chain base does not match the chain id");
        }
    } else {
        rc = adp__audit_db_error(a, err, "reading prune records");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static enum xr_status count_sql(struct adp_audit *a, const char *sql,
                                uint64_t *n, struct xr_error *err)
{
    sqlite3_stmt *st = NULL;
    enum xr_status rc;

    if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = adp__audit_db_error(a, err, "counting");
        goto out;
    }
    *n = (uint64_t)sqlite3_column_int64(st, 0);
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Where the walk over the rows stands. */
struct walk {
    uint64_t expect;                  /* seq of the next row */
    uint8_t prev[ADP_AUDIT_HASH_LEN]; /* row_hash of the last good row */
    bool have_row;                    /* a row chained to the base */
    uint64_t suspect; /* a row that does not chain to its predecessor */
    uint8_t suspect_hash[ADP_AUDIT_HASH_LEN];
    const struct adp_audit_anchor *anchors; /* sorted by seq */
    size_t nanchors;
    size_t next_anchor; /* the first anchor not yet met */
};

enum walk_step {
    WALK_NEXT, /* go on with the next row */
    WALK_STOP, /* a problem is reported (or a suspect decided): stop */
    WALK_FAIL  /* hashing failed */
};

/* Check r, the next row of the walk, and advance w past it. */
static enum walk_step walk_row(struct adp_audit *a,
                               const struct chain_state *cs,
                               const struct adp_audit_row *r, bool readable,
                               struct walk *w,
                               struct adp_audit_verify_report *rep)
{
    uint8_t h[ADP_AUDIT_HASH_LEN];

    if (w->suspect) {
        blame(rep, w->suspect,
              readable && r->seq == w->suspect + 1 &&
                  !memcmp(r->prev_hash, w->suspect_hash, ADP_AUDIT_HASH_LEN));
        return WALK_STOP;
    }
    if (!readable || !adp__audit_row_shape_ok(r)) {
        problem(rep, r->seq ? r->seq : w->expect, "malformed",
                "record %llu: wrong type, length or missing field",
                (unsigned long long)(r->seq ? r->seq : w->expect));
        return WALK_STOP;
    }
    if (r->seq < w->expect) {
        problem(rep, r->seq, "unexpected",
                "record %llu is older than the chain base %llu",
                (unsigned long long)r->seq, (unsigned long long)cs->base_seq);
        return WALK_STOP;
    }
    if (r->seq > cs->head_seq) {
        problem(rep, w->expect <= cs->head_seq ? w->expect : r->seq,
                w->expect <= cs->head_seq ? "missing" : "unexpected",
                "record %llu is beyond the recorded head %llu",
                (unsigned long long)r->seq, (unsigned long long)cs->head_seq);
        return WALK_STOP;
    }
    if (r->seq > w->expect) {
        problem(rep, w->expect, "missing",
                "records %llu..%llu are missing (deleted)",
                (unsigned long long)w->expect,
                (unsigned long long)(r->seq - 1));
        return WALK_STOP;
    }
    if (!adp__audit_row_hash(a, r, h))
        return WALK_FAIL;
    if (memcmp(h, r->row_hash, ADP_AUDIT_HASH_LEN) != 0) {
        problem(rep, r->seq, "hash_mismatch",
                "record %llu: contents do not match its hash (edited)",
                (unsigned long long)r->seq);
        return WALK_STOP;
    }
    if (memcmp(w->prev, r->prev_hash, ADP_AUDIT_HASH_LEN) != 0) {
        if (!w->have_row) {
            problem(rep, r->seq, "anchor_mismatch",
                    "record %llu does not chain to the chain base",
                    (unsigned long long)r->seq);
            return WALK_STOP;
        }
        /* Decide with the next row (or the head) which one is bad. */
        w->suspect = r->seq;
        memcpy(w->suspect_hash, r->row_hash, ADP_AUDIT_HASH_LEN);
        return WALK_NEXT;
    }
    while (w->next_anchor < w->nanchors &&
           w->anchors[w->next_anchor].seq == r->seq) {
        rep->anchors++;
        if (memcmp(w->anchors[w->next_anchor].hash, r->row_hash,
                   ADP_AUDIT_HASH_LEN) != 0) {
            problem(rep, r->seq, "external_anchor",
                    "record %llu does not match the anchor hash (chain "
                    "rewritten)",
                    (unsigned long long)r->seq);
            return WALK_STOP;
        }
        w->next_anchor++;
    }
    if (!strcmp(r->kind, "intent"))
        rep->intents++;
    else if (!strcmp(r->kind, "outcome"))
        rep->outcomes++;
    else
        rep->prunes++;
    memcpy(w->prev, r->row_hash, sizeof(w->prev));
    w->have_row = true;
    rep->rows++;
    w->expect++;
    return WALK_NEXT;
}

/* Walk the rows from w->expect on, in sequence order, until the first
 * problem. */
static enum xr_status walk_rows(struct adp_audit *a,
                                const struct chain_state *cs, struct walk *w,
                                struct adp_audit_verify_report *rep,
                                struct xr_error *err)
{
    enum walk_step step = WALK_NEXT;
    struct adp_audit_row r;
    sqlite3_stmt *st = NULL;
    enum xr_status rc;
    int src = SQLITE_DONE;

    if (sqlite3_prepare_v2(a->db,
                           "SELECT " COLS("") " FROM records WHERE seq >= ?"
                                              " ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, (sqlite3_int64)w->expect) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "reading records");
        goto out;
    }
    while (step == WALK_NEXT && (src = sqlite3_step(st)) == SQLITE_ROW) {
        bool readable = adp__audit_row_read(st, 0, &r);
        step = walk_row(a, cs, &r, readable, w, rep);
    }
    if (step == WALK_FAIL) {
        rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                          "audit store: SHA-256 failed");
        goto out;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = adp__audit_db_error(a, err, "reading records");
        goto out;
    }
    if (w->suspect && src == SQLITE_DONE)
        blame(rep, w->suspect,
              w->suspect == cs->head_seq &&
                  !memcmp(cs->head_hash, w->suspect_hash, ADP_AUDIT_HASH_LEN));
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* After an intact walk: the recorded head, then the anchors beyond it. */
static void check_end(const struct chain_state *cs, const struct walk *w,
                      struct adp_audit_verify_report *rep)
{
    if (rep->intact) {
        if (w->expect <= cs->head_seq)
            problem(rep, w->expect, "head_mismatch",
                    "records %llu..%llu are missing (deleted at the end)",
                    (unsigned long long)w->expect,
                    (unsigned long long)cs->head_seq);
        else if (memcmp(w->prev, cs->head_hash, ADP_AUDIT_HASH_LEN) != 0)
            problem(rep, cs->head_seq, "head_mismatch",
                    "the recorded head hash does not match record %llu",
                    (unsigned long long)cs->head_seq);
    }
    if (rep->intact && w->next_anchor < w->nanchors) {
        const struct adp_audit_anchor *an = &w->anchors[w->next_anchor];
        problem(rep, an->seq, "external_anchor",
                "anchor record %llu is beyond the head %llu (chain truncated "
                "or rewritten)",
                (unsigned long long)an->seq, (unsigned long long)cs->head_seq);
    }
}

static int anchor_cmp(const void *x, const void *y)
{
    const struct adp_audit_anchor *a = x, *b = y;

    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Sort a copy of the anchors and settle those older than the retained
 * chain: the newest prune record names the last row it deleted, so an
 * anchor of exactly that row is checked; older ones only counted.
 * Sets w->anchors / nanchors to the rest. *copy is freed by the caller.
 */
static bool anchors_prepare(const struct adp_audit_anchor *in, size_t n,
                            const struct chain_state *cs,
                            const struct pruned *pr, struct walk *w,
                            struct adp_audit_anchor **copy,
                            struct adp_audit_verify_report *rep)
{
    size_t i = 0;

    *copy = NULL;
    if (n == 0)
        return true;
    *copy = malloc(n * sizeof(**copy));
    if (!*copy)
        return false;
    memcpy(*copy, in, n * sizeof(**copy));
    qsort(*copy, n, sizeof(**copy), anchor_cmp);
    for (; i < n && (*copy)[i].seq < cs->base_seq; i++) {
        if (pr->seq && (*copy)[i].seq == pr->seq) {
            rep->anchors++;
            if (memcmp((*copy)[i].hash, pr->hash, ADP_AUDIT_HASH_LEN) != 0)
                problem(rep, pr->seq, "external_anchor",
                        "the pruned record %llu was not the anchor's (chain "
                        "rewritten)",
                        (unsigned long long)pr->seq);
        } else {
            rep->anchors_pruned++;
        }
    }
    w->anchors = *copy + i;
    w->nanchors = n - i;
    return true;
}

/* Intents without an outcome, outcomes without their intent. */
static enum xr_status count_links(struct adp_audit *a,
                                  struct adp_audit_verify_report *rep,
                                  struct xr_error *err)
{
    enum xr_status rc;

    rc = count_sql(a,
                   "SELECT count(*) FROM records i WHERE i.kind = 'intent'"
                   " AND NOT EXISTS (SELECT 1 FROM records o"
                   " WHERE o.ref_seq = i.seq AND o.kind = 'outcome'"
                   " AND o.message_id = i.message_id)",
                   &rep->open_intents, err);
    if (rc != XR_OK)
        return rc;
    return count_sql(a,
                     "SELECT count(*) FROM records o WHERE o.kind = 'outcome'"
                     " AND NOT EXISTS (SELECT 1 FROM records i"
                     " WHERE i.seq = o.ref_seq AND i.kind = 'intent'"
                     " AND i.message_id = o.message_id)",
                     &rep->orphan_outcomes, err);
}

/* Open a read snapshot and check the shape of chain_state. false when
 * the snapshot failed (rc set) or chain_state is malformed (reported). */
static bool begin(struct adp_audit *a, struct chain_state *cs,
                  struct adp_audit_verify_report *rep, enum xr_status *rc,
                  struct xr_error *err)
{
    memset(rep, 0, sizeof(*rep));
    rep->intact = true;
    *rc = XR_OK;
    /* One read snapshot for everything. */
    if (!adp__audit_exec_sql(a, "BEGIN")) {
        *rc = adp__audit_db_error(a, err, "begin");
        return false;
    }
    *rc = adp__audit_state_read(a, cs, err);
    if (*rc != XR_OK)
        return false;
    rep->base_seq = cs->base_seq;
    rep->head_seq = cs->head_seq;
    memcpy(rep->head_hash, cs->head_hash, ADP_AUDIT_HASH_LEN);
    if (cs->head_seq + 1 < cs->base_seq) {
        problem(rep, cs->head_seq + 1, "malformed",
                "chain_state head %llu is before its base %llu",
                (unsigned long long)cs->head_seq,
                (unsigned long long)cs->base_seq);
        return false;
    }
    return true;
}

enum xr_status adp_audit_verify(struct adp_audit *a,
                                const struct adp_audit_anchor *anchors,
                                size_t n, struct adp_audit_verify_report *rep,
                                struct xr_error *err)
{
    struct adp_audit_anchor *copy = NULL;
    struct chain_state cs;
    struct pruned pr;
    struct walk w;
    enum xr_status rc;

    if (!begin(a, &cs, rep, &rc, err))
        goto out;
    rc = check_base(a, &cs, &pr, rep, err);
    if (rc != XR_OK)
        goto out;
    memset(&w, 0, sizeof(w));
    w.expect = cs.base_seq;
    memcpy(w.prev, cs.base_prev, sizeof(w.prev));
    if (!anchors_prepare(anchors, n, &cs, &pr, &w, &copy, rep)) {
        rc = adp__audit_oom(err);
        goto out;
    }
    rc = walk_rows(a, &cs, &w, rep, err);
    if (rc != XR_OK)
        goto out;
    check_end(&cs, &w, rep);
    rc = count_links(a, rep, err);
out:
    free(copy);
    adp__audit_rollback(a);
    return rc;
}

/* The prev_hash of the row at seq (it must have `hash`); false with a
 * problem reported when the row is gone or differs. */
static enum xr_status start_at(struct adp_audit *a,
                               const struct adp_audit_anchor *from,
                               struct walk *w,
                               struct adp_audit_verify_report *rep,
                               struct xr_error *err)
{
    sqlite3_stmt *st = NULL;
    struct adp_audit_row r;
    enum xr_status rc = XR_OK;
    int src;

    if (sqlite3_prepare_v2(a->db,
                           "SELECT " COLS("") " FROM records WHERE seq = ?", -1,
                           &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, (sqlite3_int64)from->seq) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "reading records");
        goto out;
    }
    src = sqlite3_step(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = adp__audit_db_error(a, err, "reading records");
        goto out;
    }
    if (src == SQLITE_DONE || !adp__audit_row_read(st, 0, &r) ||
        memcmp(r.row_hash, from->hash, ADP_AUDIT_HASH_LEN) != 0) {
        problem(rep, from->seq, "external_anchor",
                "record %llu %s (chain rewritten or truncated)",
                (unsigned long long)from->seq,
                src == SQLITE_DONE ? "is gone" : "does not match the anchor");
        goto out;
    }
    memcpy(w->prev, r.prev_hash, ADP_AUDIT_HASH_LEN);
    w->expect = from->seq;
    w->have_row = true;
out:
    sqlite3_finalize(st);
    return rc;
}

enum xr_status adp_audit_verify_from(struct adp_audit *a,
                                     const struct adp_audit_anchor *from,
                                     struct adp_audit_verify_report *rep,
                                     struct xr_error *err)
{
    struct chain_state cs;
    struct walk w;
    enum xr_status rc;

    if (!begin(a, &cs, rep, &rc, err))
        goto out;
    memset(&w, 0, sizeof(w));
    if (from->seq < cs.base_seq || from->seq > cs.head_seq) {
        problem(rep, from->seq, "external_anchor",
                "record %llu is outside the chain %llu..%llu (%s)",
                (unsigned long long)from->seq, (unsigned long long)cs.base_seq,
                (unsigned long long)cs.head_seq,
                from->seq > cs.head_seq ? "truncated or rewritten"
                                        : "pruned since");
        goto out;
    }
    rc = start_at(a, from, &w, rep, err);
    if (rc != XR_OK || !rep->intact)
        goto out;
    rc = walk_rows(a, &cs, &w, rep, err);
    if (rc == XR_OK)
        check_end(&cs, &w, rep);
out:
    adp__audit_rollback(a);
    return rc;
}

enum xr_status adp_audit_head(struct adp_audit *a, struct adp_audit_head *head,
                              struct xr_error *err)
{
    struct chain_state cs;
    enum xr_status rc;

    memset(head, 0, sizeof(*head));
    if (!adp__audit_exec_sql(a, "BEGIN"))
        return adp__audit_db_error(a, err, "begin");
    rc = adp__audit_state_read(a, &cs, err);
    adp__audit_rollback(a);
    if (rc != XR_OK)
        return rc;
    head->seq = cs.head_seq;
    memcpy(head->hash, cs.head_hash, ADP_AUDIT_HASH_LEN);
    head->base_seq = cs.base_seq;
    memcpy(head->chain_id, cs.chain_id, ADP_AUDIT_CHAIN_ID_LEN);
    return XR_OK;
}

enum xr_status adp_audit_anchor_at(struct adp_audit *a, uint64_t seq,
                                   struct adp_audit_anchor *out,
                                   struct xr_error *err)
{
    sqlite3_stmt *st = NULL;
    const uint8_t *h = NULL;
    enum xr_status rc;
    int src;

    memset(out, 0, sizeof(*out));
    if (sqlite3_prepare_v2(a->db, "SELECT row_hash FROM records WHERE seq = ?",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "reading a record");
        goto out;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_DONE ||
        (src == SQLITE_ROW &&
         !adp__audit_col_blob(st, 0, ADP_AUDIT_HASH_LEN, false, &h))) {
        rc = xr_error_set(err, XR_EPROTO, "not_found", "",
                          "no intact record %llu in the audit store",
                          (unsigned long long)seq);
        goto out;
    }
    if (src != SQLITE_ROW) {
        rc = adp__audit_db_error(a, err, "reading a record");
        goto out;
    }
    out->seq = seq;
    memcpy(out->hash, h, ADP_AUDIT_HASH_LEN);
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

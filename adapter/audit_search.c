/*
 * Reading the audit store: search (intents joined with their outcomes) and
 * export (every row in sequence order), both by constant SQL fragments and
 * bound parameters only.
 */
#include <string.h>

#include <sqlite3.h>

#include "audit_internal.h"

#define SQL_MAX 2048u

/* Append a constant SQL fragment; the caller sized buf for all of them. */
static void sql_add(char *buf, size_t size, const char *frag)
{
    size_t n = strnlen(buf, size), f = strlen(frag);

    if (n + f < size)
        memcpy(buf + n, frag, f + 1);
}

static bool time_bind(sqlite3_stmt *st, int i, int64_t ms, char *buf)
{
    if (!adp_audit_time_format(ms, buf, ADP_AUDIT_TIME_LEN + 1))
        return false;
    sqlite3_bind_text(st, i, buf, -1, SQLITE_STATIC);
    return true;
}

enum xr_status adp_audit_search(struct adp_audit *a,
                                const struct adp_audit_filter *f,
                                adp_audit_query_fn *cb, void *ctx,
                                struct xr_error *err)
{
    char sql[SQL_MAX] = "", tfrom[ADP_AUDIT_TIME_LEN + 1],
         tto[ADP_AUDIT_TIME_LEN + 1];
    struct adp_audit_row ri, ro;
    sqlite3_stmt *st = NULL;
    enum xr_status rc;
    int i = 0, src;

    /* SQL text is built only from the constant fragments below. */
    /* clang-format off */
    sql_add(sql, sizeof(sql),
            "SELECT " COLS("i.") ", " COLS("o.") " FROM records i"
            " LEFT JOIN records o ON o.ref_seq = i.seq"
            " AND o.kind = 'outcome' AND o.message_id = i.message_id"
            " WHERE i.kind = 'intent'");
    /* clang-format on */
    if (f->subject)
        sql_add(sql, sizeof(sql), " AND i.subject = ?");
    if (f->end_user)
        sql_add(sql, sizeof(sql), " AND i.end_user = ?");
    if (f->caller)
        sql_add(sql, sizeof(sql), " AND i.caller = ?");
    if (f->message_id)
        sql_add(sql, sizeof(sql), " AND i.message_id = ?");
    if (f->has_from)
        sql_add(sql, sizeof(sql), " AND i.time >= ?");
    if (f->has_to)
        sql_add(sql, sizeof(sql), " AND i.time < ?");
    sql_add(sql, sizeof(sql), " ORDER BY i.seq, o.seq");
    if (f->limit)
        sql_add(sql, sizeof(sql), " LIMIT ?");
    if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "preparing search");
        goto out;
    }
    if (f->subject)
        sqlite3_bind_text(st, ++i, f->subject, -1, SQLITE_STATIC);
    if (f->end_user)
        sqlite3_bind_text(st, ++i, f->end_user, -1, SQLITE_STATIC);
    if (f->caller)
        sqlite3_bind_text(st, ++i, f->caller, -1, SQLITE_STATIC);
    if (f->message_id)
        sqlite3_bind_text(st, ++i, f->message_id, -1, SQLITE_STATIC);
    if ((f->has_from && !time_bind(st, ++i, f->from_ms, tfrom)) ||
        (f->has_to && !time_bind(st, ++i, f->to_ms, tto))) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "time",
                          "audit search: time out of range");
        goto out;
    }
    if (f->limit)
        sqlite3_bind_int64(st, ++i,
                           f->limit > INT64_MAX ? INT64_MAX
                                                : (sqlite3_int64)f->limit);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        bool has_o = sqlite3_column_type(st, NCOLS) != SQLITE_NULL;
        /* Malformed rows are still shown; verify reports them. */
        (void)adp__audit_row_read(st, 0, &ri);
        if (has_o)
            (void)adp__audit_row_read(st, NCOLS, &ro);
        if (cb(ctx, &ri, has_o ? &ro : NULL) != 0)
            break;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = adp__audit_db_error(a, err, "search");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

enum xr_status adp_audit_export(struct adp_audit *a,
                                const struct adp_audit_filter *f,
                                adp_audit_row_fn *cb, void *ctx,
                                struct xr_error *err)
{
    char sql[SQL_MAX] = "", tfrom[ADP_AUDIT_TIME_LEN + 1],
         tto[ADP_AUDIT_TIME_LEN + 1];
    struct adp_audit_row r;
    sqlite3_stmt *st = NULL;
    enum xr_status rc;
    int i = 0, src;
    bool from = f && f->has_from, to = f && f->has_to;

    sql_add(sql, sizeof(sql), "SELECT " COLS("") " FROM records WHERE 1");
    if (from)
        sql_add(sql, sizeof(sql), " AND time >= ?");
    if (to)
        sql_add(sql, sizeof(sql), " AND time < ?");
    sql_add(sql, sizeof(sql), " ORDER BY seq");
    if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "preparing export");
        goto out;
    }
    if ((from && !time_bind(st, ++i, f->from_ms, tfrom)) ||
        (to && !time_bind(st, ++i, f->to_ms, tto))) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "time",
                          "audit export: time out of range");
        goto out;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        (void)adp__audit_row_read(st, 0, &r);
        if (cb(ctx, &r) != 0)
            break;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = adp__audit_db_error(a, err, "export");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

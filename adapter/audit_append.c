/*
 * Appending to the audit store: intents and outcomes wait in the pending
 * batch, adp_audit_commit() writes the batch in one transaction and
 * advances the durable watermark (group commit, audit.h).
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "audit_internal.h"

static bool class_ok(const char *s)
{
    size_t n = strnlen(s, ADP_AUDIT_CLASS_MAX + 1);

    if (n == 0 || n > ADP_AUDIT_CLASS_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* Copy v (if not NULL) to *cursor and return the copy. */
static const char *stash(char **cursor, const char *v)
{
    char *dst = *cursor;
    size_t n;

    if (!v)
        return NULL;
    n = strlen(v) + 1;
    memcpy(dst, v, n);
    *cursor += n;
    return dst;
}

static enum xr_status pending_room(struct adp_audit *a, struct xr_error *err)
{
    struct pending **np;
    size_t ncap;

    if (a->read_only)
        return xr_error_set(err, XR_EINVAL, "read_only", "",
                            "audit store %s: opened read-only", a->path);
    if (a->npend >= a->max_pending)
        return xr_error_set(err, XR_ELIMIT, "too_large", "",
                            "audit store %s: %zu records pending commit",
                            a->path, a->npend);
    if (a->npend < a->cap_pend)
        return XR_OK;
    ncap = a->cap_pend ? a->cap_pend * 2 : 64;
    if (ncap > a->max_pending)
        ncap = a->max_pending;
    np = realloc(a->pend, ncap * sizeof(*np));
    if (!np)
        return adp__audit_oom(err);
    a->pend = np;
    a->cap_pend = ncap;
    return XR_OK;
}

static enum xr_status check_time(int64_t *ms, char *out, const char *field,
                                 struct xr_error *err)
{
    if (*ms == 0)
        *ms = adp_audit_now_ms();
    if (!adp_audit_time_format(*ms, out, ADP_AUDIT_TIME_LEN + 1))
        return xr_error_set(err, XR_EINVAL, "invalid_field", field,
                            "audit record: %s out of range", field);
    return XR_OK;
}

enum xr_status adp_audit_intent(struct adp_audit *a,
                                const struct adp_audit_intent *in,
                                uint64_t *ticket, struct xr_error *err)
{
    struct pending *p = NULL;
    const size_t tmax = ADP_AUDIT_TEXT_MAX;
    size_t total = 0;
    int64_t ms = in->time_ms;
    enum xr_status rc;
    char *cur;

    *ticket = 0;
    if ((rc = pending_room(a, err)) != XR_OK ||
        (rc = adp__audit_check_field("caller", in->caller, true, tmax, &total,
                                     err)) ||
        (rc = adp__audit_check_field("end_user", in->end_user, true, tmax,
                                     &total, err)) ||
        (rc = adp__audit_check_field("purpose", in->purpose, false, tmax,
                                     &total, err)) ||
        (rc = adp__audit_check_field("service", in->service, true, tmax, &total,
                                     err)) ||
        (rc = adp__audit_check_field("product", in->product, false, tmax,
                                     &total, err)) ||
        (rc = adp__audit_check_field("subject", in->subject, false, tmax,
                                     &total, err)) ||
        (rc = adp__audit_check_field("message_id", in->message_id, true, tmax,
                                     &total, err)))
        goto out;
    if (!in->request_sha512 && (!in->request || in->request_len == 0)) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "request",
                          "audit record: request bytes are required");
        goto out;
    }
    p = calloc(1, sizeof(*p) + total);
    if (!p) {
        rc = adp__audit_oom(err);
        goto out;
    }
    if ((rc = check_time(&ms, p->time, "time_ms", err)) != XR_OK)
        goto out;
    if (in->request_sha512)
        memcpy(p->req_sha512, in->request_sha512, ADP_AUDIT_SHA512_LEN);
    else if (!adp__audit_sha512(a, in->request, in->request_len,
                                p->req_sha512)) {
        rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                          "audit record: SHA-512 failed");
        goto out;
    }
    cur = p->text;
    p->row.kind = "intent";
    p->row.time = p->time;
    p->row.caller = stash(&cur, in->caller);
    p->row.end_user = stash(&cur, in->end_user);
    p->row.purpose = stash(&cur, in->purpose);
    p->row.service = stash(&cur, in->service);
    p->row.product = stash(&cur, in->product);
    p->row.subject = stash(&cur, in->subject);
    p->row.message_id = stash(&cur, in->message_id);
    p->row.request_sha512 = p->req_sha512;
    p->ticket = a->next_ticket++;
    a->pend[a->npend++] = p;
    *ticket = p->ticket;
    p = NULL; /* owned by the batch */
    rc = XR_OK;
out:
    free(p);
    return rc;
}

enum xr_status adp_audit_outcome(struct adp_audit *a,
                                 const struct adp_audit_outcome *o,
                                 uint64_t *ticket, struct xr_error *err)
{
    struct pending *p = NULL;
    const size_t tmax = ADP_AUDIT_TEXT_MAX;
    size_t total = 0;
    int64_t ms = o->time_ms;
    enum xr_status rc;
    char *cur;

    *ticket = 0;
    if ((rc = pending_room(a, err)) != XR_OK ||
        (rc = adp__audit_check_field("message_id", o->message_id, true, tmax,
                                     &total, err)) ||
        (rc = adp__audit_check_field("result_class", o->result_class, true,
                                     ADP_AUDIT_CLASS_MAX, &total, err)) ||
        (rc = adp__audit_check_field("return_code", o->return_code, false, tmax,
                                     &total, err)) ||
        (rc = adp__audit_check_field("fault_code", o->fault_code, false, tmax,
                                     &total, err)) ||
        (rc = adp__audit_check_field("fault_origin", o->fault_origin, false,
                                     tmax, &total, err)))
        goto out;
    if (!class_ok(o->result_class)) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "result_class",
                          "audit record: result_class must be [a-z0-9_]+");
        goto out;
    }
    if (o->duration_ms < 0) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "duration_ms",
                          "audit record: negative duration");
        goto out;
    }
    if (!o->response && o->response_len != 0) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "response",
                          "audit record: response length without bytes");
        goto out;
    }
    p = calloc(1, sizeof(*p) + total);
    if (!p) {
        rc = adp__audit_oom(err);
        goto out;
    }
    if ((rc = check_time(&ms, p->time, "time_ms", err)) != XR_OK)
        goto out;
    if (o->response_sha512)
        memcpy(p->resp_sha512, o->response_sha512, ADP_AUDIT_SHA512_LEN);
    else if (o->response && !adp__audit_sha512(a, o->response, o->response_len,
                                               p->resp_sha512)) {
        rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                          "audit record: SHA-512 failed");
        goto out;
    }
    cur = p->text;
    p->row.kind = "outcome";
    p->row.time = p->time;
    p->row.message_id = stash(&cur, o->message_id);
    p->row.result_class = stash(&cur, o->result_class);
    p->row.return_code = stash(&cur, o->return_code);
    p->row.fault_code = stash(&cur, o->fault_code);
    p->row.fault_origin = stash(&cur, o->fault_origin);
    p->row.has_duration = true;
    p->row.duration_ms = o->duration_ms;
    p->row.response_sha512 =
        o->response || o->response_sha512 ? p->resp_sha512 : NULL;
    p->ticket = a->next_ticket++;
    a->pend[a->npend++] = p;
    *ticket = p->ticket;
    p = NULL; /* owned by the batch */
    rc = XR_OK;
out:
    free(p);
    return rc;
}

/* seq of the latest intent with this message id, 0 if none. */
static bool find_intent(struct adp_audit *a, const char *message_id,
                        uint64_t *seq)
{
    sqlite3_stmt *st = a->st_find_intent;
    int rc;

    *seq = 0;
    sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

static bool head_update(struct adp_audit *a, uint64_t seq,
                        const uint8_t hash[ADP_AUDIT_HASH_LEN])
{
    sqlite3_stmt *st = a->st_head;
    bool ok;

    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_blob(st, 2, hash, ADP_AUDIT_HASH_LEN, SQLITE_STATIC);
    ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(a->db) == 1;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ok;
}

enum xr_status adp_audit_commit(struct adp_audit *a, struct xr_error *err)
{
    struct chain_state cs;
    uint8_t prev[ADP_AUDIT_HASH_LEN];
    uint64_t seq;
    enum xr_status rc;

    if (a->npend == 0)
        return XR_OK;
    if (!adp__audit_run(a->st_begin)) {
        rc = adp__audit_db_error(a, err, "begin");
        goto out;
    }
    /* The head is read under the write lock: other writers are safe. */
    rc = adp__audit_state_read(a, &cs, err);
    if (rc != XR_OK)
        goto out;
    seq = cs.head_seq;
    memcpy(prev, cs.head_hash, sizeof(prev));
    for (size_t i = 0; i < a->npend; i++) {
        struct pending *p = a->pend[i];
        p->row.seq = ++seq;
        p->row.ref_seq = 0;
        if (!strcmp(p->row.kind, "outcome") &&
            !find_intent(a, p->row.message_id, &p->row.ref_seq)) {
            rc = adp__audit_db_error(a, err, "finding intent");
            goto out;
        }
        memcpy(p->prev, prev, sizeof(prev));
        p->row.prev_hash = p->prev;
        p->row.row_hash = p->hash;
        if (!adp__audit_row_hash(a, &p->row, p->hash)) {
            rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                              "audit store: SHA-256 failed");
            goto out;
        }
        if (!adp__audit_row_insert(a, &p->row)) {
            rc = adp__audit_db_error(a, err, "insert");
            goto out;
        }
        memcpy(prev, p->hash, sizeof(prev));
    }
    if (!head_update(a, seq, prev)) {
        rc = adp__audit_db_error(a, err, "updating head");
        goto out;
    }
    if (!adp__audit_run(a->st_commit)) {
        rc = adp__audit_db_error(a, err, "commit");
        goto out;
    }
    a->durable_ticket = a->pend[a->npend - 1]->ticket;
    adp__audit_pending_clear(a);
    rc = XR_OK;
out:
    if (rc != XR_OK && !sqlite3_get_autocommit(a->db))
        (void)adp__audit_run(a->st_rollback);
    return rc;
}

uint64_t adp_audit_durable(const struct adp_audit *a)
{
    return a->durable_ticket;
}

size_t adp_audit_pending(const struct adp_audit *a)
{
    return a->npend;
}

/*
 * The daemon's watch over its audit chain (chainwatch.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chainwatch.h"
#include "checkpoint.h"
#include "log.h"
#include "util.h"

struct adp_chainwatch {
    struct adp_audit *a;
    struct adp_chainwatch_opts o; /* o.file is file; o.key owned */
    char *file;                   /* owned copy of the option */
    struct adp_audit_anchor last; /* the last checkpoint (seq 0: none) */
    int64_t last_ms;              /* monotonic time of it */
    size_t rows_since;            /* records committed since */
    atomic_bool ok;               /* no change under the daemon seen */
};

bool adp_chainwatch_ok(const struct adp_chainwatch *cw)
{
    return !cw || atomic_load(&cw->ok);
}

/* The rows since the last checkpoint verify; false (logged once) if not. */
static bool verify_since(struct adp_chainwatch *cw)
{
    struct adp_audit_verify_report rep;
    struct xr_error err;

    if (cw->last.seq == 0)
        return true;
    if (adp_audit_verify_from(cw->a, &cw->last, &rep, &err) != XR_OK) {
        adp_log_err("audit checkpoint: cannot verify the chain: %s", err.msg);
        return false;
    }
    if (rep.intact)
        return true;
    if (atomic_exchange(&cw->ok, false))
        adp_log_err("audit chain changed under the daemon since checkpoint "
                    "%" PRIu64 ": record %" PRIu64 ": %s: %s; run vayla "
                    "audit verify --anchors",
                    cw->last.seq, rep.first_bad_seq, rep.problem, rep.detail);
    return false;
}

/* Write a checkpoint of the head when it moved and the chain is sound. */
static void checkpoint(struct adp_chainwatch *cw)
{
    struct adp_checkpoint cp;
    struct adp_audit_head head;
    struct xr_error err;
    char line[ADP_CHECKPOINT_LINE_MAX];

    cw->rows_since = 0;
    cw->last_ms = adp_mono_ms();
    if (adp_audit_head(cw->a, &head, &err) != XR_OK) {
        adp_log_err("audit checkpoint: %s", err.msg);
        return;
    }
    if (head.seq == 0 || head.seq == cw->last.seq || !verify_since(cw))
        return;
    memset(&cp, 0, sizeof(cp));
    memcpy(cp.chain_id, head.chain_id, sizeof(cp.chain_id));
    cp.anchor.seq = head.seq;
    memcpy(cp.anchor.hash, head.hash, sizeof(cp.anchor.hash));
    cp.rows = head.seq - head.base_seq + 1;
    cp.time_ms = adp_audit_now_ms();
    if (adp_checkpoint_format(&cp, cw->o.key, line, sizeof(line), &err) !=
        XR_OK) {
        adp_log_err("audit checkpoint: %s", err.msg);
        return;
    }
    adp_log_checkpoint(line);
    if (cw->o.file && !adp_checkpoint_append(cw->o.file, line))
        adp_log_errno(ADP_LOG_ERR, "audit checkpoint: cannot append to %s",
                      cw->o.file);
    cw->last = cp.anchor;
}

void adp_chainwatch_committed(struct adp_chainwatch *cw, size_t rows)
{
    if (!cw)
        return;
    cw->rows_since += rows;
    if (cw->o.every && cw->rows_since >= cw->o.every)
        checkpoint(cw);
}

int64_t adp_chainwatch_due_ms(const struct adp_chainwatch *cw)
{
    if (!cw || !cw->o.interval_ms || cw->rows_since == 0)
        return 0;
    return cw->last_ms + (int64_t)cw->o.interval_ms;
}

void adp_chainwatch_tick(struct adp_chainwatch *cw)
{
    int64_t due = adp_chainwatch_due_ms(cw);

    if (due && adp_mono_ms() >= due)
        checkpoint(cw);
}

/* The last checkpoint of this chain in the file, into *last (seq 0 when
 * there is none). Only the file's tail is read (adp_checkpoint_read_last()):
 * start-up stays as fast with a year of checkpoints as with one. */
static enum xr_status last_checkpoint(const struct adp_chainwatch *cw,
                                      const struct adp_audit_head *head,
                                      struct adp_audit_anchor *last,
                                      struct xr_error *err)
{
    struct adp_checkpoint cp;
    bool found = false;
    enum xr_status rc;

    memset(last, 0, sizeof(*last));
    if (!cw->o.file || access(cw->o.file, F_OK) != 0)
        return XR_OK; /* no checkpoint yet */
    rc = adp_checkpoint_read_last(cw->o.file, cw->o.key, &cp, &found, err);
    if (rc != XR_OK || !found)
        return rc;
    if (memcmp(cp.chain_id, head->chain_id, ADP_AUDIT_CHAIN_ID_LEN) != 0)
        return xr_error_set(err, XR_EPROTO, "audit_store_replaced", "",
                            "the audit store's chain is not the one of the "
                            "checkpoints in %s: the store was replaced",
                            cw->o.file);
    *last = cp.anchor;
    return XR_OK;
}

/* Start-up: the chain extends the last checkpoint, or its tail verifies. */
static enum xr_status startup_check(struct adp_chainwatch *cw,
                                    struct xr_error *err)
{
    struct adp_audit_verify_report rep;
    struct adp_audit_head head;
    struct adp_audit_anchor from;
    enum xr_status rc;

    rc = adp_audit_head(cw->a, &head, err);
    if (rc == XR_OK)
        rc = last_checkpoint(cw, &head, &from, err);
    if (rc != XR_OK || head.seq == 0)
        return rc;
    if (from.seq == 0) {
        from.seq = head.seq > ADP_CHAINWATCH_TAIL
                       ? head.seq - ADP_CHAINWATCH_TAIL + 1
                       : 1;
        if (from.seq < head.base_seq)
            from.seq = head.base_seq;
        rc = adp_audit_anchor_at(cw->a, from.seq, &from, err);
        if (rc != XR_OK)
            return rc;
    }
    rc = adp_audit_verify_from(cw->a, &from, &rep, err);
    if (rc != XR_OK)
        return rc;
    if (!rep.intact)
        return xr_error_set(err, XR_ESIG, "audit_chain_broken", "",
                            "the audit chain from record %" PRIu64
                            " does not verify: record %" PRIu64 ": %s: %.120s",
                            from.seq, rep.first_bad_seq, rep.problem,
                            rep.detail);
    cw->last = from;
    return XR_OK;
}

static void release(struct adp_chainwatch *cw)
{
    free(cw->file);
    EVP_PKEY_free(cw->o.key);
    free(cw);
}

enum xr_status adp_chainwatch_new(struct adp_audit *a,
                                  const struct adp_chainwatch_opts *o,
                                  struct adp_chainwatch **out,
                                  struct xr_error *err)
{
    struct adp_chainwatch *cw = calloc(1, sizeof(*cw));
    enum xr_status rc;

    *out = NULL;
    if (!cw)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    cw->a = a;
    cw->o = *o;
    /* Own copies: a reload frees the configuration the path came from,
     * while checkpoints go on until the writer stops. */
    cw->o.file = NULL;
    cw->o.key = NULL;
    if (o->file && !(cw->file = strdup(o->file))) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto fail;
    }
    cw->o.file = cw->file;
    if (o->key) {
        EVP_PKEY_up_ref(o->key);
        cw->o.key = o->key;
    }
    atomic_init(&cw->ok, true);
    rc = startup_check(cw, err);
    if (rc != XR_OK)
        goto fail;
    checkpoint(cw);
    *out = cw;
    return XR_OK;
fail:
    release(cw);
    return rc;
}

void adp_chainwatch_free(struct adp_chainwatch *cw)
{
    if (!cw)
        return;
    checkpoint(cw);
    release(cw);
}

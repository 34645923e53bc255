/*
 * The daemon's audit writer: one thread owns the audit store (audit.h) and
 * makes records durable in groups for every worker at once, so the event
 * loops never wait for fsync and one fsync covers every intent and
 * outcome that arrived while the previous one ran.
 *
 * A worker submits a record with a completion context; the writer appends
 * it, commits, and hands the item back to that worker's sink, whose event
 * then runs on the worker's loop. Each submitted item comes back exactly
 * once: durable (ok) or failed (the store refused the record, or could not
 * commit before the item's deadline; a failed record may still be
 * committed later, it is never lost from the batch).
 *
 * Grouping: after a commit the writer waits up to a short gap for more
 * rows, but only while it expects some: an intent made durable for a
 * submitter with a sink is a query that goes on and will submit its
 * outcome with a sink. When every such outcome is in hand (a lone query)
 * it commits at once, so a query alone never waits for the gap, and the
 * outcome that completes the set ends a wait early.
 */
#ifndef VAYLA_AUDITQ_H
#define VAYLA_AUDITQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <xroad/error.h>

#include "audit.h"
#include "chainwatch.h"

struct adp_auditq;
struct adp_metrics_shard;

/* A finished submission, delivered on the submitting worker's loop. */
struct adp_auditq_done {
    void *ctx;     /* as passed to the submit call */
    bool ok;       /* durable */
    char msg[160]; /* why not, for the log (no personal data) */
};

typedef void adp_auditq_done_fn(const struct adp_auditq_done *d, void *arg);

/*
 * Per-worker receiving end. Caller storage; initialise with
 * adp_auditq_sink_init() on the worker's base before submitting.
 */
struct adp_auditq_sink {
    pthread_mutex_t lock;
    struct adp_auditq_item *head; /* private: finished items */
    struct adp_auditq_item *tail;
    struct event *ev; /* private: runs on the worker's base */
    adp_auditq_done_fn *done;
    void *arg;
};

XR_NODISCARD enum xr_status adp_auditq_sink_init(struct adp_auditq_sink *s,
                                                 struct event_base *base,
                                                 adp_auditq_done_fn *done,
                                                 void *arg,
                                                 struct xr_error *err);
/* Frees items still queued (their completions are dropped). */
void adp_auditq_sink_cleanup(struct adp_auditq_sink *s);

/* The store and its checkpoints (chainwatch.h). */
struct adp_auditq_opts {
    const char *path;                      /* the store */
    struct adp_chainwatch_opts checkpoint; /* key borrowed */
};

/*
 * Open the store, check its chain (against the last checkpoint: see
 * adp_chainwatch_new() for the errors that refuse a start) and start the
 * writer thread. metrics may be NULL; it is written only by the writer
 * thread.
 * Ownership: *out is new; stop and free with adp_auditq_free(); the
 * checkpoint key must outlive it.
 */
XR_NODISCARD enum xr_status adp_auditq_new(const struct adp_auditq_opts *o,
                                           struct adp_metrics_shard *metrics,
                                           struct adp_auditq **out,
                                           struct xr_error *err);

/*
 * Commit what is pending, stop the thread, close the store. Items still
 * waiting are committed if possible; their completions are dropped.
 * Accepts NULL.
 */
void adp_auditq_free(struct adp_auditq *q);

/*
 * Submit an intent or an outcome (copied: everything `in` points to may
 * be freed after the call). deadline_ms: monotonic ms after which a
 * failing store reports the item as failed. sink NULL: no completion at
 * all (the record is still appended and committed with its batch).
 * Returns XR_ENOMEM only; then nothing was submitted and no completion
 * will come.
 * Thread-safety: any worker thread.
 */
XR_NODISCARD enum xr_status adp_auditq_intent(struct adp_auditq *q,
                                              const struct adp_audit_intent *in,
                                              int64_t deadline_ms,
                                              struct adp_auditq_sink *sink,
                                              void *ctx, struct xr_error *err);
XR_NODISCARD enum xr_status adp_auditq_outcome(
    struct adp_auditq *q, const struct adp_audit_outcome *out,
    int64_t deadline_ms, struct adp_auditq_sink *sink, void *ctx,
    struct xr_error *err);

/*
 * Queries whose intent the writer made durable (submitted with a sink)
 * and whose outcome (with a sink) it has not taken yet: the rows it waits
 * for. For tests and diagnostics. Thread-safety: any thread.
 */
size_t adp_auditq_open(struct adp_auditq *q);

/* True while the last commit succeeded and no checkpoint found the chain
 * changed (for /readyz). Any thread. */
bool adp_auditq_healthy(const struct adp_auditq *q);

#endif

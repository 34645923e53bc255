/*
 * The audit writer thread (auditq.h).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>

#include "auditq.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define AUDITQ_RETRY_MS      200
/*
 * Group commit: at most one commit per AUDITQ_COMMIT_GAP_US while more
 * rows are on their way. A commit's cost is mostly fixed (the pages it
 * rewrites: the table, six index leaves and the head; an fdatasync; the
 * writer's sleeps and wake-ups), so under load the rows that arrive
 * during the gap share one commit. The writer waits only for rows it
 * knows are coming: the outcomes of the queries whose intents it made
 * durable. When every such outcome is already in hand (a lone query, its
 * intent or its outcome), it commits at once, and the outcome that
 * completes the set ends the wait early.
 */
#define AUDITQ_COMMIT_GAP_US 4000

enum item_kind { IK_INTENT, IK_OUTCOME };

struct adp_auditq_item {
    struct adp_auditq_item *next;
    enum item_kind kind;
    struct adp_audit_intent in;   /* IK_INTENT: pointers into data */
    struct adp_audit_outcome out; /* IK_OUTCOME: pointers into data */
    int64_t deadline_ms;
    uint64_t ticket;
    struct adp_auditq_sink *sink;
    void *ctx;
    bool ok;
    char msg[160];
    char data[]; /* copies of every string and byte range */
};

struct adp_auditq {
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct adp_auditq_item *in_head; /* submitted, not yet taken */
    struct adp_auditq_item *in_tail;
    size_t in_outcomes; /* outcomes in the in list that close an intent */
    bool gap_waiting;   /* the writer waits for the expected outcomes */
    bool stop;
    atomic_bool healthy;
    /* Writer thread only: */
    struct adp_audit *a;
    struct adp_metrics_shard *metrics;
    struct adp_auditq_item *w_head; /* appended, waiting to be durable */
    struct adp_auditq_item *w_tail;
    atomic_size_t open; /* intents made durable for a query, outcome not
                         * yet taken (written by the writer only) */
    struct adp_chainwatch *watch; /* checkpoints (writer thread) */
    char *path;                   /* the store's path */
    dev_t dev;                    /* the file it named when opened */
    ino_t ino;
    bool gone; /* the path no longer names that file */
};

/* ---- copying a record into one allocation ------------------------------ */

struct arena {
    char *p;
    size_t left;
};

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static const char *put_str(struct arena *ar, const char *s)
{
    size_t n = str_size(s);
    char *d = ar->p;

    if (!s)
        return NULL;
    memcpy(d, s, n);
    ar->p += n;
    ar->left -= n;
    return d;
}

static const uint8_t *put_bytes(struct arena *ar, const uint8_t *b, size_t n)
{
    uint8_t *d = (uint8_t *)ar->p;

    if (!b)
        return NULL;
    if (n)
        memcpy(d, b, n);
    ar->p += n;
    ar->left -= n;
    return d;
}

static struct adp_auditq_item *item_new(size_t data, int64_t deadline_ms,
                                        struct adp_auditq_sink *sink, void *ctx)
{
    struct adp_auditq_item *it = calloc(1, sizeof(*it) + data);

    if (!it)
        return NULL;
    it->deadline_ms = deadline_ms;
    it->sink = sink;
    it->ctx = ctx;
    return it;
}

/* ---- delivering completions to the workers ----------------------------- */

static void deliver(struct adp_auditq_item *it, bool ok, const char *msg)
{
    struct adp_auditq_sink *s = it->sink;

    if (!s) {
        free(it); /* submitted without a completion */
        return;
    }
    it->next = NULL;
    it->ok = ok;
    snprintf(it->msg, sizeof(it->msg), "%s", msg ? msg : "");
    pthread_mutex_lock(&s->lock);
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    pthread_mutex_unlock(&s->lock);
    event_active(s->ev, EV_READ, 0);
}

static void on_sink(evutil_socket_t fd, short what, void *arg)
{
    struct adp_auditq_sink *s = arg;
    struct adp_auditq_item *it, *next;
    struct adp_auditq_done d;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&s->lock);
    it = s->head;
    s->head = s->tail = NULL;
    pthread_mutex_unlock(&s->lock);
    for (; it; it = next) {
        next = it->next;
        d.ctx = it->ctx;
        d.ok = it->ok;
        memcpy(d.msg, it->msg, sizeof(d.msg));
        free(it);
        s->done(&d, s->arg);
    }
}

enum xr_status adp_auditq_sink_init(struct adp_auditq_sink *s,
                                    struct event_base *base,
                                    adp_auditq_done_fn *done, void *arg,
                                    struct xr_error *err)
{
    memset(s, 0, sizeof(*s));
    s->done = done;
    s->arg = arg;
    s->ev = event_new(base, -1, 0, on_sink, s);
    if (!s->ev)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    return XR_OK;
}

void adp_auditq_sink_cleanup(struct adp_auditq_sink *s)
{
    struct adp_auditq_item *it, *next;

    if (!s->ev)
        return;
    for (it = s->head; it; it = next) {
        next = it->next;
        free(it);
    }
    s->head = s->tail = NULL;
    event_free(s->ev);
    s->ev = NULL;
    pthread_mutex_destroy(&s->lock);
}

/* ---- the writer thread --------------------------------------------------- */

static void append_all(struct adp_auditq *q, struct adp_auditq_item *list)
{
    struct adp_auditq_item *it, *next;
    struct xr_error err;
    enum xr_status rc;

    for (it = list; it; it = next) {
        next = it->next;
        it->next = NULL;
        if (it->kind == IK_INTENT)
            rc = adp_audit_intent(q->a, &it->in, &it->ticket, &err);
        else
            rc = adp_audit_outcome(q->a, &it->out, &it->ticket, &err);
        if (rc != XR_OK) {
            /* Refused (invalid field, batch full): never durable. */
            deliver(it, false, err.msg);
            continue;
        }
        if (q->w_tail)
            q->w_tail->next = it;
        else
            q->w_head = it;
        q->w_tail = it;
    }
}

/*
 * The path must still name the file the store was opened on: a deleted or
 * replaced store would take records nobody can ever read. Then every
 * waiting record is refused at once and nothing more is written (until a
 * restart opens the store again).
 */
static bool store_gone(struct adp_auditq *q)
{
    struct stat st;
    struct adp_auditq_item *it;

    if (!q->gone) {
        if (stat(q->path, &st) == 0 && st.st_dev == q->dev &&
            st.st_ino == q->ino && st.st_nlink > 0)
            return false;
        q->gone = true;
        atomic_store(&q->healthy, false);
        adp_log_err("audit store %s was deleted or replaced under the "
                    "daemon: no query is answered until vayla is restarted",
                    q->path);
    }
    while ((it = q->w_head) != NULL) {
        q->w_head = it->next;
        deliver(it, false, "the audit store file was deleted or replaced");
    }
    q->w_tail = NULL;
    return true;
}

/* Commit; deliver what became durable, or what waited too long. */
static bool commit(struct adp_auditq *q)
{
    struct xr_error err;
    int64_t t0 = adp_mono_us();
    enum xr_status rc;
    struct adp_auditq_item **pp, *it;

    if (store_gone(q))
        return false;
    rc = adp_audit_commit(q->a, &err);
    if (q->metrics)
        adp_metrics_audit_commit(q->metrics, (uint64_t)(adp_mono_us() - t0));
    if (rc == XR_OK) {
        uint64_t durable = adp_audit_durable(q->a);
        size_t rows = 0;
        if (!atomic_exchange(&q->healthy, true))
            adp_log_info("audit store writable again");
        while ((it = q->w_head) && it->ticket <= durable) {
            q->w_head = it->next;
            if (!q->w_head)
                q->w_tail = NULL;
            if (it->kind == IK_INTENT && it->sink)
                atomic_fetch_add(&q->open, 1); /* an outcome will come */
            deliver(it, true, NULL);
            rows++;
        }
        adp_chainwatch_committed(q->watch, rows);
        return true;
    }
    if (atomic_exchange(&q->healthy, false))
        adp_log_err("audit commit failed: %s", err.msg);
    /* The rows stay in the store's batch and are retried; the requests
     * that cannot wait any longer are told now. */
    {
        int64_t now = adp_mono_ms();
        struct adp_auditq_item *prev = NULL;
        pp = &q->w_head;
        while ((it = *pp) != NULL) {
            if (now < it->deadline_ms) {
                prev = it;
                pp = &it->next;
                continue;
            }
            *pp = it->next;
            if (q->w_tail == it)
                q->w_tail = prev;
            deliver(it, false, "the audit store cannot commit");
        }
    }
    return false;
}

/*
 * With q->lock held: wait on q->cond until the monotonic time until_us
 * (adp_mono_us(); the condition variable runs on the same clock) or a
 * signal. Returns false once the time has passed (or the wait failed).
 */
static bool wait_until(struct adp_auditq *q, int64_t until_us)
{
    struct timespec ts;

    if (until_us <= adp_mono_us())
        return false;
    ts.tv_sec = (time_t)(until_us / 1000000);
    ts.tv_nsec = (long)(until_us % 1000000) * 1000L;
    return pthread_cond_timedwait(&q->cond, &q->lock, &ts) == 0;
}

/*
 * With q->lock held: wait until the gap ends or every outcome expected is
 * in hand, whichever comes first. Submitters wake the writer only for the
 * outcome that completes the set (submit()), not for every row.
 */
static void gap_wait(struct adp_auditq *q, int64_t until_us)
{
    q->gap_waiting = true;
    while (!q->stop && atomic_load(&q->open) > q->in_outcomes) {
        if (!wait_until(q, until_us))
            break;
    }
    q->gap_waiting = false;
}

static void *writer(void *arg)
{
    struct adp_auditq *q = arg;
    struct adp_auditq_item *list;
    bool stopping = false, retry = false;
    int64_t last_commit = 0;

    adp_thread_name("vayla-audit");

    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (!q->in_head && !q->stop && !retry) {
            int64_t due = adp_chainwatch_due_ms(q->watch);
            if (!due) {
                pthread_cond_wait(&q->cond, &q->lock);
                continue;
            }
            if (adp_mono_ms() >= due) {
                /* A checkpoint falls due while idle. */
                pthread_mutex_unlock(&q->lock);
                adp_chainwatch_tick(q->watch);
                pthread_mutex_lock(&q->lock);
                continue;
            }
            (void)wait_until(q, due * 1000);
        }
        if (retry && !q->in_head && !q->stop)
            (void)wait_until(q, adp_mono_us() + AUDITQ_RETRY_MS * 1000);
        if (q->in_head && !q->stop && atomic_load(&q->open) > q->in_outcomes)
            gap_wait(q, last_commit + AUDITQ_COMMIT_GAP_US);
        list = q->in_head;
        q->in_head = q->in_tail = NULL;
        {
            size_t open = atomic_load(&q->open);
            atomic_store(&q->open,
                         open -
                             (q->in_outcomes < open ? q->in_outcomes : open));
            q->in_outcomes = 0;
        }
        stopping = q->stop;
        pthread_mutex_unlock(&q->lock);

        append_all(q, list);
        retry = false;
        if (q->w_head || adp_audit_pending(q->a) > 0) {
            last_commit = adp_mono_us();
            retry = !commit(q);
        }
        if (stopping && (!retry || !q->w_head))
            break;
        if (stopping) {
            /* A failing store at shutdown: a few more tries, then give
             * up; the items stay pending and are reported. */
            static const int tries = 10;
            for (int i = 0; i < tries && retry; i++) {
                struct timespec d = {0, AUDITQ_RETRY_MS * 1000000L};
                nanosleep(&d, NULL);
                retry = !commit(q);
            }
            break;
        }
    }
    return NULL;
}

enum xr_status adp_auditq_new(const struct adp_auditq_opts *o,
                              struct adp_metrics_shard *metrics,
                              struct adp_auditq **out, struct xr_error *err)
{
    const char *path = o->path;
    struct adp_auditq *q = calloc(1, sizeof(*q));
    enum xr_status rc;

    *out = NULL;
    if (!q)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    pthread_mutex_init(&q->lock, NULL);
    {
        /* Timed waits on the monotonic clock: a wall-clock step must not
         * stretch a wait for the gap, a retry or a checkpoint. */
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&q->cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    atomic_init(&q->healthy, true);
    q->metrics = metrics;
    rc = adp_audit_open(path, NULL, &q->a, err);
    if (rc != XR_OK)
        goto fail;
    {
        struct stat st;
        q->path = strdup(path);
        if (!q->path || stat(path, &st) != 0) {
            rc = xr_error_set_errno(err, XR_EIO, errno, "io_error", "",
                                    "audit store %s", path);
            goto fail;
        }
        q->dev = st.st_dev;
        q->ino = st.st_ino;
    }
    rc = adp_chainwatch_new(q->a, &o->checkpoint, &q->watch, err);
    if (rc != XR_OK)
        goto fail;
    if (pthread_create(&q->thread, NULL, writer, q) != 0) {
        rc = xr_error_set(err, XR_EIO, "io_error", "",
                          "cannot start the audit writer thread");
        goto fail;
    }
    q->started = true;
    *out = q;
    return XR_OK;
fail:
    adp_auditq_free(q);
    return rc;
}

void adp_auditq_free(struct adp_auditq *q)
{
    struct adp_auditq_item *it, *next;

    if (!q)
        return;
    if (q->started) {
        pthread_mutex_lock(&q->lock);
        q->stop = true;
        pthread_cond_signal(&q->cond);
        pthread_mutex_unlock(&q->lock);
        pthread_join(q->thread, NULL);
    }
    /* Whatever is left: completions are dropped (the workers are gone). */
    for (it = q->w_head; it; it = next) {
        next = it->next;
        free(it);
    }
    for (it = q->in_head; it; it = next) {
        next = it->next;
        free(it);
    }
    if (q->a && adp_audit_pending(q->a) > 0)
        adp_log_err("audit store: %zu records could not be committed",
                    adp_audit_pending(q->a));
    if (!q->gone)
        adp_chainwatch_free(q->watch); /* a last checkpoint */
    adp_audit_close(q->a);
    free(q->path);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static void submit(struct adp_auditq *q, struct adp_auditq_item *it)
{
    pthread_mutex_lock(&q->lock);
    if (q->in_tail)
        q->in_tail->next = it;
    else
        q->in_head = it;
    q->in_tail = it;
    if (it->kind == IK_OUTCOME && it->sink)
        q->in_outcomes++;
    /* During the gap only the outcome that completes the set wakes the
     * writer: one wake-up per commit, not one per row. */
    if (!q->gap_waiting || q->in_outcomes >= atomic_load(&q->open))
        pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

enum xr_status adp_auditq_intent(struct adp_auditq *q,
                                 const struct adp_audit_intent *in,
                                 int64_t deadline_ms,
                                 struct adp_auditq_sink *sink, void *ctx,
                                 struct xr_error *err)
{
    size_t n = str_size(in->caller) + str_size(in->end_user) +
               str_size(in->purpose) + str_size(in->service) +
               str_size(in->product) + str_size(in->subject) +
               str_size(in->message_id) + in->request_len +
               (in->request_sha512 ? ADP_AUDIT_SHA512_LEN : 0);
    struct adp_auditq_item *it = item_new(n, deadline_ms, sink, ctx);
    struct arena ar;

    if (!it)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    ar.p = it->data;
    ar.left = n;
    it->kind = IK_INTENT;
    it->in.time_ms = in->time_ms;
    it->in.caller = put_str(&ar, in->caller);
    it->in.end_user = put_str(&ar, in->end_user);
    it->in.purpose = put_str(&ar, in->purpose);
    it->in.service = put_str(&ar, in->service);
    it->in.product = put_str(&ar, in->product);
    it->in.subject = put_str(&ar, in->subject);
    it->in.message_id = put_str(&ar, in->message_id);
    it->in.request = put_bytes(&ar, in->request, in->request_len);
    it->in.request_len = in->request_len;
    it->in.request_sha512 =
        put_bytes(&ar, in->request_sha512, ADP_AUDIT_SHA512_LEN);
    submit(q, it);
    return XR_OK;
}

enum xr_status adp_auditq_outcome(struct adp_auditq *q,
                                  const struct adp_audit_outcome *out,
                                  int64_t deadline_ms,
                                  struct adp_auditq_sink *sink, void *ctx,
                                  struct xr_error *err)
{
    size_t n = str_size(out->message_id) + str_size(out->result_class) +
               str_size(out->return_code) + str_size(out->fault_code) +
               str_size(out->fault_origin) + out->response_len +
               (out->response_sha512 ? ADP_AUDIT_SHA512_LEN : 0);
    struct adp_auditq_item *it = item_new(n, deadline_ms, sink, ctx);
    struct arena ar;

    if (!it)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    ar.p = it->data;
    ar.left = n;
    it->kind = IK_OUTCOME;
    it->out.time_ms = out->time_ms;
    it->out.message_id = put_str(&ar, out->message_id);
    it->out.result_class = put_str(&ar, out->result_class);
    it->out.return_code = put_str(&ar, out->return_code);
    it->out.fault_code = put_str(&ar, out->fault_code);
    it->out.fault_origin = put_str(&ar, out->fault_origin);
    it->out.duration_ms = out->duration_ms;
    it->out.response = put_bytes(&ar, out->response, out->response_len);
    it->out.response_len = out->response_len;
    it->out.response_sha512 =
        put_bytes(&ar, out->response_sha512, ADP_AUDIT_SHA512_LEN);
    submit(q, it);
    return XR_OK;
}

size_t adp_auditq_open(struct adp_auditq *q)
{
    return atomic_load(&q->open);
}

bool adp_auditq_healthy(const struct adp_auditq *q)
{
    if (!adp_chainwatch_ok(q->watch))
        return false;
    return atomic_load(&q->healthy);
}

/*
 * Connections to the security server (upstream.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "log.h"
#include "util.h"
#include "metrics.h"
#include "upstream.h"

#define RETIRED_MAX 4u /* replaced pools still finishing exchanges */
#define PROFILE_MAX (3u * 4096u + 160u)

struct pool {
    struct adp_curlev *cev; /* owned; NULL when unused */
    char *profile;          /* owned: the trust settings it serves */
};

struct adp_upstream {
    struct event_base *base;
    struct adp_metrics_shard *metrics;
    struct pool cur;
    struct pool retired[RETIRED_MAX];
    unsigned slots;         /* exchanges at once */
    unsigned busy;          /* queries holding a slot */
    unsigned waiting;       /* queries in the queue */
    struct adp_query *head; /* the wait queue (adp_query_net_slot.next) */
    struct adp_query *tail;
    bool pumping;             /* pump() is running: no re-entry */
    struct adp_query_net net; /* net.names: owned (see names_bound()) */
};

/*
 * The answers' names dictionary is kept across answers, so libxml2 does
 * not make and free one per answer. An answer may bring names of its
 * own (a hostile one up to the node cap): past NAMES_MAX the dictionary
 * is let go (answers still holding it keep it alive) and a new one made.
 * A VTJ answer and its SOAP header use about 200 names.
 */
#define NAMES_MAX 4096u

static void names_bound(struct adp_upstream *up)
{
    if (up->net.names && xmlDictSize(up->net.names) <= (int)NAMES_MAX)
        return;
    xmlDictFree(up->net.names);
    up->net.names = xmlDictCreate(); /* NULL: a dictionary per answer */
}

/* ---- pools ---------------------------------------------------------------
 */

_Static_assert(sizeof(((struct adp_config_ss *)0)->pin_sha256) ==
                   ADP_XFER_PIN_LEN,
               "the pin of the configuration is the transport's pin");

static void opts_from(struct adp_xfer_opts *o, const struct adp_config_ss *ss)
{
    memset(o, 0, sizeof(*o));
    o->url = ss->url;
    o->ca_file = ss->ca_file;
    o->has_pin = ss->has_pin;
    memcpy(o->pin_sha256, ss->pin_sha256, sizeof(o->pin_sha256));
    o->client_cert = ss->client_cert;
    o->client_key = ss->client_key;
    o->client_key_passphrase = ss->client_key_passphrase;
    o->connect_timeout_ms = ss->connect_timeout_ms;
    o->timeout_ms = ss->timeout_ms;
    o->max_response_bytes = ss->max_response_bytes;
}

/* The non-secret description of the trust settings a pool serves. */
static void profile_format(const struct adp_xfer_opts *o, char *buf,
                           size_t size)
{
    char pin[2 * ADP_XFER_PIN_LEN + 1];

    pin[0] = '\0';
    if (o->has_pin)
        adp_hex_encode(o->pin_sha256, ADP_XFER_PIN_LEN, pin);
    snprintf(buf, size, "ca=%s\npin=%s\ncert=%s\nkey=%s",
             o->ca_file ? o->ca_file : "", pin,
             o->client_cert ? o->client_cert : "",
             o->client_key ? o->client_key : "");
}

static void pool_free(struct pool *p)
{
    adp_curlev_free(p->cev);
    free(p->profile);
    p->cev = NULL;
    p->profile = NULL;
}

void adp_upstream_reap(struct adp_upstream *up)
{
    for (size_t i = 0; i < RETIRED_MAX; i++) {
        if (up->retired[i].cev && adp_curlev_active(up->retired[i].cev) == 0)
            pool_free(&up->retired[i]);
    }
}

static enum xr_status pool_new(struct adp_upstream *up, const char *profile,
                               struct pool *p, struct xr_error *err)
{
    struct adp_curlev_opts co;

    memset(&co, 0, sizeof(co));
    /* Keep one idle connection per slot: every exchange may reuse one. */
    co.max_connects = (long)up->slots;
    p->profile = strdup(profile);
    if (!p->profile)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    if (adp_curlev_new(up->base, &co, &p->cev, err) != XR_OK) {
        pool_free(p);
        return err ? err->code : XR_ENOMEM;
    }
    return XR_OK;
}

/* The pool for these trust settings: the current one, or a new one that
 * replaces it when the settings changed (a reload). */
static struct adp_curlev *pool_for(struct adp_upstream *up,
                                   const struct adp_xfer_opts *o,
                                   struct xr_error *err)
{
    char profile[PROFILE_MAX];
    struct pool fresh = {NULL, NULL};
    size_t slot;

    profile_format(o, profile, sizeof(profile));
    if (up->cur.cev && strcmp(up->cur.profile, profile) == 0)
        return up->cur.cev;
    adp_upstream_reap(up);
    for (slot = 0; slot < RETIRED_MAX && up->retired[slot].cev; slot++)
        ;
    if (up->cur.cev && slot == RETIRED_MAX) {
        xr_error_set(err, XR_EINTERNAL, "too_many_pools", "",
                     "the security server's trust settings changed more "
                     "than %u times while exchanges were still running",
                     RETIRED_MAX);
        return NULL;
    }
    if (pool_new(up, profile, &fresh, err) != XR_OK)
        return NULL;
    if (up->cur.cev) {
        adp_log_info("security server trust settings changed; new "
                     "connection pool");
        up->retired[slot] = up->cur;
    }
    up->cur = fresh;
    return up->cur.cev;
}

/* ---- the slot queue ------------------------------------------------------
 */

static void pump(struct adp_upstream *up)
{
    if (up->pumping)
        return; /* a query finishing inside the loop gave its slot back */
    up->pumping = true;
    while (up->head && up->busy < up->slots) {
        struct adp_query *q = up->head;
        struct adp_query_net_slot *s = adp_query_net_slot(q);
        up->head = s->next;
        if (!up->head)
            up->tail = NULL;
        s->next = NULL;
        s->queued = false;
        s->holds = true;
        up->waiting--;
        up->busy++;
        adp_query_on_slot(q); /* may finish and free q */
    }
    up->pumping = false;
}

static void net_acquire(void *ctx, struct adp_query *q)
{
    struct adp_upstream *up = ctx;
    struct adp_query_net_slot *s = adp_query_net_slot(q);

    if (s->queued || s->holds)
        return;
    s->next = NULL;
    s->queued = true;
    if (up->tail)
        adp_query_net_slot(up->tail)->next = q;
    else
        up->head = q;
    up->tail = q;
    up->waiting++;
    pump(up);
}

static void unlink_waiter(struct adp_upstream *up, struct adp_query *q)
{
    struct adp_query *prev = NULL;

    for (struct adp_query *i = up->head; i;
         prev = i, i = adp_query_net_slot(i)->next) {
        if (i != q)
            continue;
        if (prev)
            adp_query_net_slot(prev)->next = adp_query_net_slot(q)->next;
        else
            up->head = adp_query_net_slot(q)->next;
        if (up->tail == q)
            up->tail = prev;
        up->waiting--;
        return;
    }
}

static void net_release(void *ctx, struct adp_query *q)
{
    struct adp_upstream *up = ctx;
    struct adp_query_net_slot *s = adp_query_net_slot(q);

    if (s->exchange) {
        adp_xfer_free(s->exchange);
        s->exchange = NULL;
    }
    if (s->queued) {
        unlink_waiter(up, q);
        s->queued = false;
        s->next = NULL;
    }
    if (s->holds) {
        s->holds = false;
        up->busy--;
        pump(up);
    }
}

static void record(struct adp_upstream *up, const struct adp_xfer_result *res)
{
    adp_metrics_upstream(up->metrics, (uint64_t)res->total_ms * 1000u);
    if (res->cls != ADP_XFER_OK)
        adp_metrics_transport_failure(up->metrics, res->cls);
}

static void on_query_exchange(struct adp_xfer *x,
                              const struct adp_xfer_result *res, void *ctx)
{
    struct adp_query *q = ctx;
    struct adp_upstream *up = adp_query_net_slot(q)->owner;

    (void)x; /* freed by net_release() */
    record(up, res);
    adp_query_on_exchange(q, res); /* may free q */
    names_bound(up);
}

static enum xr_status net_exchange(void *ctx, struct adp_query *q,
                                   const struct adp_config_ss *ss,
                                   const struct adp_query_wire *w,
                                   struct xr_error *err)
{
    struct adp_upstream *up = ctx;
    struct adp_query_net_slot *s = adp_query_net_slot(q);
    struct adp_xfer_opts o;
    struct adp_curlev *cev;
    struct adp_xfer *x = NULL;
    enum xr_status rc;

    opts_from(&o, ss);
    o.content_type = w->content_type;
    cev = pool_for(up, &o, err);
    if (!cev)
        return err ? err->code : XR_EINTERNAL;
    s->owner = up;
    rc = adp_xfer_start(cev, &o, w->bytes, w->len, on_query_exchange, q, &x,
                        err);
    if (rc == XR_OK)
        s->exchange = x;
    return rc;
}

/* ---- the rest of the API -------------------------------------------------
 */

enum xr_status adp_upstream_new(struct event_base *base, unsigned slots,
                                struct adp_metrics_shard *metrics,
                                struct adp_upstream **out, struct xr_error *err)
{
    struct adp_upstream *up = calloc(1, sizeof(*up));

    *out = NULL;
    if (!up)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    up->base = base;
    up->metrics = metrics;
    up->slots = slots > 0 ? slots : 1;
    up->net.ctx = up;
    up->net.acquire = net_acquire;
    up->net.exchange = net_exchange;
    up->net.release = net_release;
    up->net.names = xmlDictCreate(); /* NULL: a dictionary per answer */
    *out = up;
    return XR_OK;
}

void adp_upstream_free(struct adp_upstream *up)
{
    if (!up)
        return;
    pool_free(&up->cur);
    for (size_t i = 0; i < RETIRED_MAX; i++)
        pool_free(&up->retired[i]);
    xmlDictFree(up->net.names); /* answers still alive keep their own ref */
    free(up);
}

void adp_upstream_set_slots(struct adp_upstream *up, unsigned n)
{
    up->slots = n > 0 ? n : 1;
    pump(up);
}

const struct adp_query_net *adp_upstream_net(struct adp_upstream *up)
{
    return &up->net;
}

enum xr_status adp_upstream_exchange(struct adp_upstream *up,
                                     const struct adp_config_ss *ss,
                                     const struct adp_upstream_req *rq,
                                     adp_xfer_done_fn *done, void *ctx,
                                     struct adp_xfer **out,
                                     struct xr_error *err)
{
    struct adp_xfer_opts o;
    struct adp_curlev *cev;

    *out = NULL;
    opts_from(&o, ss);
    if (rq->timeout_ms_max > 0 && o.timeout_ms > rq->timeout_ms_max)
        o.timeout_ms = rq->timeout_ms_max;
    if (rq->timeout_ms_max > 0 && o.connect_timeout_ms > rq->timeout_ms_max)
        o.connect_timeout_ms = rq->timeout_ms_max;
    if (rq->max_response_bytes > 0)
        o.max_response_bytes = rq->max_response_bytes;
    o.get = rq->get;
    o.path = rq->path;
    o.accept = rq->accept;
    o.content_type = rq->content_type;
    cev = pool_for(up, &o, err);
    if (!cev)
        return err ? err->code : XR_EINTERNAL;
    return adp_xfer_start(cev, &o, rq->body, rq->body_len, done, ctx, out, err);
}

unsigned adp_upstream_busy(const struct adp_upstream *up)
{
    return up->busy;
}

unsigned adp_upstream_waiting(const struct adp_upstream *up)
{
    return up->waiting;
}

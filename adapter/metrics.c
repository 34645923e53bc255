/*
 * Prometheus text exposition, written by hand (metrics.h).
 *
 * Every counter is an _Atomic uint64_t inside a per-thread shard. Only the
 * owning thread writes a shard, so an increment is a relaxed load plus a
 * relaxed store (plain moves on x86-64 and arm64), never a read-modify-
 * write that would bounce cache lines. The scraper reads every shard with
 * relaxed loads and adds them up.
 *
 * Histograms keep one non-cumulative count per bucket plus an overflow
 * slot; rendering accumulates them, and _count is the sum of the slots
 * read in the same pass, so `le="+Inf"` always equals `_count`. Durations
 * are integer microseconds and are printed as exact decimal seconds,
 * without floating point.
 */
#include "metrics.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_LINE 64u

/* The counts in metrics.h must follow the enums (arrays are sized by them). */
_Static_assert(ADP_ROUTE_UNMATCHED + 1 == ADP_ROUTE_COUNT,
               "ADP_ROUTE_COUNT must equal the number of routes");
_Static_assert(ADP_REJECT_BAD_REQUEST + 1 == ADP_REJECT_COUNT,
               "ADP_REJECT_COUNT must equal the number of reasons");

/* Bucket upper bounds ("le"), microseconds, ascending. */
static const uint64_t latency_bounds_us[] = {
    5000,    10000,   25000,   50000,    100000,   250000,   500000,
    1000000, 2500000, 5000000, 10000000, 30000000, 60000000, 120000000};
static const uint64_t audit_bounds_us[] = {
    500,    1000,   2500,   5000,    10000,   25000,  50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000};

#define N_LATENCY  (sizeof(latency_bounds_us) / sizeof(latency_bounds_us[0]))
#define N_AUDIT    (sizeof(audit_bounds_us) / sizeof(audit_bounds_us[0]))
#define HIST_SLOTS (N_LATENCY + 1) /* the largest table + overflow */

/* Statuses with their own label value; others fold into their class. */
static const int known_statuses[] = {200, 400, 401, 403, 404, 405, 408, 413,
                                     415, 422, 429, 431, 500, 502, 503, 504};
#define N_KNOWN      (sizeof(known_statuses) / sizeof(known_statuses[0]))
#define STATUS_SLOTS (N_KNOWN + 5 + 1) /* + "1xx".."5xx" + "other" */

static const enum xr_fault_origin origins[] = {
    XR_ORIGIN_CLIENT, XR_ORIGIN_CLIENT_PROXY, XR_ORIGIN_SERVER_PROXY,
    XR_ORIGIN_SERVICE};
#define N_ORIGINS (sizeof(origins) / sizeof(origins[0]))

static const enum adp_xfer_class xfer_failures[] = {
    ADP_XFER_CONNECT_FAILED, ADP_XFER_TLS_FAILED,  ADP_XFER_TIMEOUT,
    ADP_XFER_TOO_LARGE,      ADP_XFER_HTTP_STATUS, ADP_XFER_TRUNCATED,
    ADP_XFER_INTERNAL};
#define N_XFER (sizeof(xfer_failures) / sizeof(xfer_failures[0]))

struct hist {
    _Atomic uint64_t slots[HIST_SLOTS]; /* non-cumulative; last = overflow */
    _Atomic uint64_t sum_us;
};

/*
 * One worker's counters. Aligned to a cache line and allocated separately,
 * so two workers never write the same line.
 */
struct adp_metrics_shard {
    alignas(CACHE_LINE) struct hist request[ADP_ROUTE_COUNT];
    struct hist upstream;
    struct hist audit;
    _Atomic uint64_t faults[N_ORIGINS];
    _Atomic uint64_t transport[N_XFER];
    _Atomic uint64_t rejected[ADP_REJECT_COUNT];
    _Atomic uint64_t conn_closed[ADP_CONN_COUNT];
    _Atomic int64_t in_flight;
    _Atomic int64_t connections;
    _Atomic uint64_t *requests; /* [route][status slot][outcome slot] */
    size_t outcome_slots;       /* n_outcomes + 1 ("unlisted"); constant */
};

struct adp_metrics {
    unsigned n_shards;
    struct adp_metrics_shard **shards;
    const char *const *outcomes; /* borrowed, static strings */
    size_t n_outcomes;           /* entries of outcomes */
    char version[ADP_METRICS_VERSION_MAX + 1];
    int64_t start_ms;               /* Unix ms at creation */
    _Atomic uint64_t reloads[2];    /* [0] failed, [1] ok */
    _Atomic int64_t cert_not_after; /* Unix s, 0 = not set */
};

/*
 * calloc()ed memory is a valid zero for the lock-free atomic types used
 * here (guaranteed by the x86-64 and AArch64 psABIs), so no atomic_init()
 * loop is needed.
 */

static void bump(_Atomic uint64_t *c, uint64_t n)
{
    uint64_t v = atomic_load_explicit(c, memory_order_relaxed);

    atomic_store_explicit(c, v + n, memory_order_relaxed);
}

static uint64_t get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

const char *adp_metrics_route_name(enum adp_metrics_route route)
{
    switch (route) {
    case ADP_ROUTE_VTJ_PERSON:
        return "vtj_person";
    case ADP_ROUTE_XROAD_SOAP:
        return "xroad_soap";
    case ADP_ROUTE_XROAD_SERVICES:
        return "xroad_services";
    case ADP_ROUTE_HEALTHZ:
        return "healthz";
    case ADP_ROUTE_READYZ:
        return "readyz";
    case ADP_ROUTE_METRICS:
        return "metrics";
    case ADP_ROUTE_AUDIT_PROVE:
        return "audit_prove";
    case ADP_ROUTE_UNMATCHED:
        return "unmatched";
    }
    return "unmatched";
}

const char *adp_metrics_reject_name(enum adp_metrics_reject reason)
{
    switch (reason) {
    case ADP_REJECT_OVERLOADED:
        return "overloaded";
    case ADP_REJECT_RATE_LIMITED:
        return "rate_limited";
    case ADP_REJECT_UNAUTHENTICATED:
        return "unauthenticated";
    case ADP_REJECT_FORBIDDEN:
        return "forbidden";
    case ADP_REJECT_TOO_LARGE:
        return "too_large";
    case ADP_REJECT_BAD_REQUEST:
        return "bad_request";
    }
    return "bad_request";
}

const char *adp_metrics_conn_name(enum adp_metrics_conn reason)
{
    switch (reason) {
    case ADP_CONN_DEADLINE:
        return "deadline";
    case ADP_CONN_IDLE:
        return "idle";
    case ADP_CONN_EVICTED:
        return "evicted";
    case ADP_CONN_PEER_LIMIT:
        return "peer_limit";
    case ADP_CONN_FULL:
        return "full";
    }
    return "full";
}

/* The same names as adp_xfer_class_name() (xfer.h). */
static const char *xfer_name(enum adp_xfer_class cls)
{
    switch (cls) {
    case ADP_XFER_OK:
        return "ok";
    case ADP_XFER_CONNECT_FAILED:
        return "connect_failed";
    case ADP_XFER_TLS_FAILED:
        return "tls_failed";
    case ADP_XFER_TIMEOUT:
        return "timeout";
    case ADP_XFER_TOO_LARGE:
        return "too_large";
    case ADP_XFER_HTTP_STATUS:
        return "http_status";
    case ADP_XFER_TRUNCATED:
        return "truncated";
    case ADP_XFER_INTERNAL:
        return "internal";
    }
    return "internal";
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i < N_KNOWN; i++) {
        if (known_statuses[i] == status)
            return i;
    }
    if (status >= 100 && status <= 599)
        return N_KNOWN + (size_t)(status / 100 - 1);
    return STATUS_SLOTS - 1;
}

/* Label value of a status slot into buf (at least 8 bytes). */
static const char *status_label(size_t slot, char *buf, size_t size)
{
    if (slot < N_KNOWN)
        snprintf(buf, size, "%d", known_statuses[slot]);
    else if (slot < STATUS_SLOTS - 1)
        snprintf(buf, size, "%zuxx", slot - N_KNOWN + 1);
    else
        snprintf(buf, size, "other");
    return buf;
}

static bool valid_outcome_name(const char *s)
{
    size_t n;

    if (!s || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    n = strlen(s);
    if (n > ADP_METRICS_NAME_MAX || !strcmp(s, "unlisted"))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void shard_free(struct adp_metrics_shard *s)
{
    if (!s)
        return;
    free(s->requests);
    free(s);
}

enum xr_status adp_metrics_new(const struct adp_metrics_opts *opts,
                               struct adp_metrics **out, struct xr_error *err)
{
    struct adp_metrics *m = NULL;
    size_t n_requests, shard_size;
    enum xr_status rc;

    *out = NULL;
    if (!opts || opts->shards < 1 || opts->shards > ADP_METRICS_SHARDS_MAX) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_metrics_opts", "shards",
                          "shard count must be 1..%u", ADP_METRICS_SHARDS_MAX);
        goto out;
    }
    if (!opts->outcomes || opts->n_outcomes < 1 ||
        opts->n_outcomes > ADP_METRICS_OUTCOMES_MAX) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_metrics_opts", "outcomes",
                          "outcome table must have 1..%u names",
                          ADP_METRICS_OUTCOMES_MAX);
        goto out;
    }
    for (size_t i = 0; i < opts->n_outcomes; i++) {
        if (!valid_outcome_name(opts->outcomes[i])) {
            rc =
                xr_error_set(err, XR_EINVAL, "invalid_metrics_opts", "outcomes",
                             "outcome %zu is not [a-z][a-z0-9_]* of at "
                             "most %u bytes (or is reserved)",
                             i, ADP_METRICS_NAME_MAX);
            goto out;
        }
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(opts->outcomes[i], opts->outcomes[j])) {
                rc = xr_error_set(err, XR_EINVAL, "invalid_metrics_opts",
                                  "outcomes", "outcome %zu repeats %zu", i, j);
                goto out;
            }
        }
    }
    if (!opts->version || strlen(opts->version) > ADP_METRICS_VERSION_MAX) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_metrics_opts", "version",
                          "version must be 0..%u bytes",
                          ADP_METRICS_VERSION_MAX);
        goto out;
    }
    for (const char *p = opts->version; *p; p++) {
        if (*p < 0x20 || *p > 0x7e) {
            rc = xr_error_set(err, XR_EINVAL, "invalid_metrics_opts", "version",
                              "version must be printable ASCII");
            goto out;
        }
    }

    m = calloc(1, sizeof(*m));
    if (!m)
        goto nomem;
    m->n_shards = opts->shards;
    m->outcomes = opts->outcomes;
    m->n_outcomes = opts->n_outcomes;
    memcpy(m->version, opts->version, strlen(opts->version) + 1);
    m->start_ms = now_ms();
    m->shards = calloc(opts->shards, sizeof(*m->shards));
    if (!m->shards)
        goto nomem;
    n_requests = ADP_ROUTE_COUNT * STATUS_SLOTS * (opts->n_outcomes + 1);
    shard_size = (sizeof(struct adp_metrics_shard) + CACHE_LINE - 1) /
                 CACHE_LINE * CACHE_LINE;
    for (unsigned i = 0; i < opts->shards; i++) {
        struct adp_metrics_shard *s = aligned_alloc(CACHE_LINE, shard_size);

        if (!s)
            goto nomem;
        memset(s, 0, shard_size);
        m->shards[i] = s;
        s->outcome_slots = opts->n_outcomes + 1;
        s->requests = calloc(n_requests, sizeof(*s->requests));
        if (!s->requests)
            goto nomem;
    }
    *out = m;
    m = NULL;
    rc = XR_OK;
    goto out;
nomem:
    rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", NULL,
                      "cannot allocate the metrics registry");
out:
    adp_metrics_free(m);
    return rc;
}

void adp_metrics_free(struct adp_metrics *m)
{
    if (!m)
        return;
    for (unsigned i = 0; m->shards && i < m->n_shards; i++)
        shard_free(m->shards[i]);
    free(m->shards);
    free(m);
}

struct adp_metrics_shard *adp_metrics_shard(struct adp_metrics *m, unsigned i)
{
    if (!m || i >= m->n_shards)
        return NULL;
    return m->shards[i];
}

static void observe(struct hist *h, const uint64_t *bounds, size_t n,
                    uint64_t us)
{
    size_t i = 0;

    while (i < n && us > bounds[i])
        i++;
    bump(&h->slots[i], 1);
    bump(&h->sum_us, us);
}

static size_t request_index(const struct adp_metrics_shard *s,
                            enum adp_metrics_route route, size_t status,
                            size_t outcome)
{
    return ((size_t)route * STATUS_SLOTS + status) * s->outcome_slots + outcome;
}

void adp_metrics_request(struct adp_metrics_shard *s,
                         enum adp_metrics_route route, int status,
                         unsigned outcome, uint64_t duration_us)
{
    size_t o;

    if (!s || (size_t)route >= ADP_ROUTE_COUNT)
        return;
    /* The last outcome slot is "unlisted". */
    o = outcome < s->outcome_slots - 1 ? outcome : s->outcome_slots - 1;
    bump(&s->requests[request_index(s, route, status_slot(status), o)], 1);
    observe(&s->request[route], latency_bounds_us, N_LATENCY, duration_us);
}

void adp_metrics_upstream(struct adp_metrics_shard *s, uint64_t duration_us)
{
    if (s)
        observe(&s->upstream, latency_bounds_us, N_LATENCY, duration_us);
}

void adp_metrics_audit_commit(struct adp_metrics_shard *s, uint64_t duration_us)
{
    if (s)
        observe(&s->audit, audit_bounds_us, N_AUDIT, duration_us);
}

void adp_metrics_fault(struct adp_metrics_shard *s, enum xr_fault_origin origin)
{
    for (size_t i = 0; s && i < N_ORIGINS; i++) {
        if (origins[i] == origin) {
            bump(&s->faults[i], 1);
            return;
        }
    }
}

void adp_metrics_transport_failure(struct adp_metrics_shard *s,
                                   enum adp_xfer_class cls)
{
    for (size_t i = 0; s && i < N_XFER; i++) {
        if (xfer_failures[i] == cls) {
            bump(&s->transport[i], 1);
            return;
        }
    }
}

void adp_metrics_conn_closed(struct adp_metrics_shard *s,
                             enum adp_metrics_conn reason)
{
    if (s && (size_t)reason < ADP_CONN_COUNT)
        bump(&s->conn_closed[reason], 1);
}

void adp_metrics_rejected(struct adp_metrics_shard *s,
                          enum adp_metrics_reject reason)
{
    if (s && (size_t)reason < ADP_REJECT_COUNT)
        bump(&s->rejected[reason], 1);
}

static void gauge_add(_Atomic int64_t *g, int delta)
{
    int64_t v = atomic_load_explicit(g, memory_order_relaxed);

    atomic_store_explicit(g, v + delta, memory_order_relaxed);
}

void adp_metrics_in_flight_add(struct adp_metrics_shard *s, int delta)
{
    if (s)
        gauge_add(&s->in_flight, delta);
}

void adp_metrics_connections_add(struct adp_metrics_shard *s, int delta)
{
    if (s)
        gauge_add(&s->connections, delta);
}

void adp_metrics_config_reload(struct adp_metrics *m, bool ok)
{
    if (m)
        atomic_fetch_add_explicit(&m->reloads[ok ? 1 : 0], 1,
                                  memory_order_relaxed);
}

void adp_metrics_set_client_cert_expiry(struct adp_metrics *m,
                                        int64_t not_after_unix)
{
    if (m)
        atomic_store_explicit(&m->cert_not_after, not_after_unix,
                              memory_order_relaxed);
}

/* ---- rendering ---------------------------------------------------- */

struct render {
    struct evbuffer *out;
    bool failed; /* an evbuffer append failed (out of memory) */
};

static void put(struct render *r, const char *fmt, ...) XR_PRINTF(2, 3);

static void put(struct render *r, const char *fmt, ...)
{
    va_list ap;

    if (r->failed)
        return;
    va_start(ap, fmt);
    if (evbuffer_add_vprintf(r->out, fmt, ap) < 0)
        r->failed = true;
    va_end(ap);
}

/* A label value, escaped as the exposition format requires. */
static void put_label_value(struct render *r, const char *v)
{
    for (const char *p = v; *p && !r->failed; p++) {
        if (*p == '\\')
            put(r, "\\\\");
        else if (*p == '"')
            put(r, "\\\"");
        else if (*p == '\n')
            put(r, "\\n");
        else if (evbuffer_add(r->out, p, 1) != 0)
            r->failed = true;
    }
}

static void put_family(struct render *r, const char *name, const char *type,
                       const char *help)
{
    put(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * Microseconds as exact decimal seconds without trailing zeros:
 * 5000 -> "0.005", 120000000 -> "120", 0 -> "0".
 */
static const char *seconds(uint64_t us, char *buf, size_t size)
{
    size_t n;

    snprintf(buf, size, "%llu.%06llu", (unsigned long long)(us / 1000000),
             (unsigned long long)(us % 1000000));
    n = strlen(buf);
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
    return buf;
}

/* Sum of one counter over all shards; `at` selects it in a shard. */
static uint64_t sum_shards(const struct adp_metrics *m,
                           _Atomic uint64_t *(*at)(struct adp_metrics_shard *,
                                                   size_t),
                           size_t idx)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < m->n_shards; i++)
        v += get(at(m->shards[i], idx));
    return v;
}

static _Atomic uint64_t *at_fault(struct adp_metrics_shard *s, size_t i)
{
    return &s->faults[i];
}

static _Atomic uint64_t *at_transport(struct adp_metrics_shard *s, size_t i)
{
    return &s->transport[i];
}

static _Atomic uint64_t *at_rejected(struct adp_metrics_shard *s, size_t i)
{
    return &s->rejected[i];
}

static _Atomic uint64_t *at_conn_closed(struct adp_metrics_shard *s, size_t i)
{
    return &s->conn_closed[i];
}

static _Atomic uint64_t *at_request(struct adp_metrics_shard *s, size_t i)
{
    return &s->requests[i];
}

/*
 * One histogram series. pick() returns the histogram of a shard; label is
 * "" or `name="value",` (already escaped, trailing comma) and goes before
 * le. bounds/n are the bucket bounds.
 */
static void put_histogram(struct render *r, const struct adp_metrics *m,
                          const char *name, const char *label,
                          struct hist *(*pick)(struct adp_metrics_shard *,
                                               size_t),
                          size_t which, const uint64_t *bounds, size_t n)
{
    uint64_t slots[HIST_SLOTS] = {0};
    uint64_t sum_us = 0, cum = 0;
    char sec[32];

    for (unsigned i = 0; i < m->n_shards; i++) {
        struct hist *h = pick(m->shards[i], which);

        for (size_t k = 0; k <= n; k++)
            slots[k] += get(&h->slots[k]);
        sum_us += get(&h->sum_us);
    }
    for (size_t k = 0; k < n; k++) {
        cum += slots[k];
        put(r, "%s_bucket{%sle=\"%s\"} %llu\n", name, label,
            seconds(bounds[k], sec, sizeof(sec)), (unsigned long long)cum);
    }
    cum += slots[n];
    put(r, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, label,
        (unsigned long long)cum);
    /* Labels without the trailing comma for _sum and _count. */
    if (label[0]) {
        size_t ln = strlen(label) - 1;

        put(r, "%s_sum{%.*s} %s\n", name, (int)ln, label,
            seconds(sum_us, sec, sizeof(sec)));
        put(r, "%s_count{%.*s} %llu\n", name, (int)ln, label,
            (unsigned long long)cum);
    } else {
        put(r, "%s_sum %s\n", name, seconds(sum_us, sec, sizeof(sec)));
        put(r, "%s_count %llu\n", name, (unsigned long long)cum);
    }
}

static struct hist *pick_request(struct adp_metrics_shard *s, size_t route)
{
    return &s->request[route];
}

static struct hist *pick_upstream(struct adp_metrics_shard *s, size_t unused)
{
    (void)unused;
    return &s->upstream;
}

static struct hist *pick_audit(struct adp_metrics_shard *s, size_t unused)
{
    (void)unused;
    return &s->audit;
}

static int64_t sum_gauge(const struct adp_metrics *m, bool connections)
{
    int64_t v = 0;

    for (unsigned i = 0; i < m->n_shards; i++) {
        struct adp_metrics_shard *s = m->shards[i];

        v += atomic_load_explicit(connections ? &s->connections : &s->in_flight,
                                  memory_order_relaxed);
    }
    return v;
}

static void render_requests(struct render *r, const struct adp_metrics *m)
{
    size_t slots = m->n_outcomes + 1;
    char status[16];

    put_family(r, "vayla_requests_total", "counter",
               "API requests by route, HTTP status and outcome.");
    for (size_t route = 0; route < ADP_ROUTE_COUNT; route++) {
        for (size_t st = 0; st < STATUS_SLOTS; st++) {
            for (size_t o = 0; o < slots; o++) {
                size_t idx = (route * STATUS_SLOTS + st) * slots + o;
                uint64_t v = sum_shards(m, at_request, idx);

                if (v == 0)
                    continue;
                put(r,
                    "vayla_requests_total{route=\"%s\",status=\"%s\","
                    "outcome=\"",
                    adp_metrics_route_name((enum adp_metrics_route)route),
                    status_label(st, status, sizeof(status)));
                put_label_value(r, o < m->n_outcomes ? m->outcomes[o]
                                                     : "unlisted");
                put(r, "\"} %llu\n", (unsigned long long)v);
            }
        }
    }

    put_family(r, "vayla_request_duration_seconds", "histogram",
               "Time from request arrival to reply, by route.");
    for (size_t route = 0; route < ADP_ROUTE_COUNT; route++) {
        char label[64];

        snprintf(label, sizeof(label), "route=\"%s\",",
                 adp_metrics_route_name((enum adp_metrics_route)route));
        put_histogram(r, m, "vayla_request_duration_seconds", label,
                      pick_request, route, latency_bounds_us, N_LATENCY);
    }
}

static void render_upstream(struct render *r, const struct adp_metrics *m)
{
    put_family(r, "vayla_upstream_duration_seconds", "histogram",
               "Duration of exchanges with the security server.");
    put_histogram(r, m, "vayla_upstream_duration_seconds", "", pick_upstream, 0,
                  latency_bounds_us, N_LATENCY);
    put_family(r, "vayla_audit_commit_duration_seconds", "histogram",
               "Duration of audit store commits (one fsync each).");
    put_histogram(r, m, "vayla_audit_commit_duration_seconds", "", pick_audit,
                  0, audit_bounds_us, N_AUDIT);

    put_family(r, "vayla_xroad_faults_total", "counter",
               "SOAP faults received, by the side that failed.");
    for (size_t i = 0; i < N_ORIGINS; i++)
        put(r, "vayla_xroad_faults_total{origin=\"%s\"} %llu\n",
            xr_fault_origin_name(origins[i]),
            (unsigned long long)sum_shards(m, at_fault, i));

    put_family(r, "vayla_transport_failures_total", "counter",
               "Failed exchanges with the security server, by class.");
    for (size_t i = 0; i < N_XFER; i++)
        put(r, "vayla_transport_failures_total{class=\"%s\"} %llu\n",
            xfer_name(xfer_failures[i]),
            (unsigned long long)sum_shards(m, at_transport, i));
}

static void render_server(struct render *r, struct adp_metrics *m)
{
    int64_t not_after;
    char sec[32];

    put_family(r, "vayla_rejected_total", "counter",
               "Requests refused before reaching a handler, by reason.");
    for (size_t i = 0; i < ADP_REJECT_COUNT; i++)
        put(r, "vayla_rejected_total{reason=\"%s\"} %llu\n",
            adp_metrics_reject_name((enum adp_metrics_reject)i),
            (unsigned long long)sum_shards(m, at_rejected, i));

    put_family(r, "vayla_connections_closed_total", "counter",
               "API connections the daemon closed itself, by reason.");
    for (size_t i = 0; i < ADP_CONN_COUNT; i++)
        put(r, "vayla_connections_closed_total{reason=\"%s\"} %llu\n",
            adp_metrics_conn_name((enum adp_metrics_conn)i),
            (unsigned long long)sum_shards(m, at_conn_closed, i));

    put_family(r, "vayla_in_flight", "gauge", "API requests being processed.");
    put(r, "vayla_in_flight %lld\n", (long long)sum_gauge(m, false));
    put_family(r, "vayla_connections_open", "gauge",
               "Open client connections.");
    put(r, "vayla_connections_open %lld\n", (long long)sum_gauge(m, true));

    put_family(r, "vayla_config_reloads_total", "counter",
               "Configuration reloads (SIGHUP), by result.");
    put(r, "vayla_config_reloads_total{result=\"ok\"} %llu\n",
        (unsigned long long)get(&m->reloads[1]));
    put(r, "vayla_config_reloads_total{result=\"failed\"} %llu\n",
        (unsigned long long)get(&m->reloads[0]));

    put_family(r, "vayla_build_info", "gauge",
               "Always 1; the version is in the label.");
    put(r, "vayla_build_info{version=\"");
    put_label_value(r, m->version);
    put(r, "\"} 1\n");

    put_family(r, "vayla_start_time_seconds", "gauge",
               "Start time of the process, Unix seconds.");
    put(r, "vayla_start_time_seconds %s\n",
        seconds((uint64_t)(m->start_ms > 0 ? m->start_ms : 0) * 1000u, sec,
                sizeof(sec)));

    not_after = atomic_load_explicit(&m->cert_not_after, memory_order_relaxed);
    if (not_after != 0) {
        put_family(r, "vayla_client_cert_expiry_seconds", "gauge",
                   "Seconds until the client certificate used towards the "
                   "security server expires (negative: expired).");
        put(r, "vayla_client_cert_expiry_seconds %lld\n",
            (long long)(not_after - (int64_t)time(NULL)));
    }
}

enum xr_status adp_metrics_render(struct adp_metrics *m, struct evbuffer *out)
{
    struct render r = {out, false};

    if (!m || !out)
        return XR_EINVAL;
    render_requests(&r, m);
    render_upstream(&r, m);
    render_server(&r, m);
    return r.failed ? XR_ENOMEM : XR_OK;
}

/*
 * Prometheus metrics of the daemon, rendered by hand in the text
 * exposition format 0.0.4 for `GET /metrics` (docs/operations.md lists
 * every metric).
 *
 * Cheap and thread-safe by sharding: the registry holds one shard per
 * worker thread. A shard is written only by the thread that owns it, with
 * relaxed atomic loads and stores (no locked instructions, no contention,
 * each shard on its own cache lines); adp_metrics_render() runs on any
 * thread and sums the shards with relaxed loads. A scrape may therefore
 * see one request in one series and not yet in another; every value is
 * still a value that really existed and counters never go backwards.
 * Registry-wide values (configuration reloads, certificate expiry) are set
 * from any thread with ordinary atomics.
 *
 * Labels come from fixed sets only, never from request data: routes,
 * rejection reasons, fault origins and transport classes are enums; HTTP
 * statuses are folded into a fixed list; outcomes are indices into a
 * table of names fixed when the registry is created (and validated as
 * [a-z][a-z0-9_]*). No call made while serving a request takes a string,
 * so a hetu, a user id or a token can never become a label value.
 */
#ifndef VAYLA_METRICS_H
#define VAYLA_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include <xroad/error.h>
#include <xroad/fault.h>

#include "xfer.h"

#define ADP_METRICS_SHARDS_MAX   256u /* worker threads */
#define ADP_METRICS_OUTCOMES_MAX 32u  /* entries of the outcome table */
#define ADP_METRICS_NAME_MAX     40u  /* bytes of one outcome name */
#define ADP_METRICS_VERSION_MAX  64u  /* bytes of the build_info version */

/* The Content-Type to send with the rendered text. */
#define ADP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * API routes (label route=). When the router gains a route, add it before
 * ADP_ROUTE_UNMATCHED, bump ADP_ROUTE_COUNT and name it in metrics.c (the
 * compiler points at both).
 */
enum adp_metrics_route {
    ADP_ROUTE_VTJ_PERSON,     /* "vtj_person": POST /v1/vtj/person */
    ADP_ROUTE_XROAD_SOAP,     /* "xroad_soap": POST /v1/xroad/soap/{id} */
    ADP_ROUTE_XROAD_SERVICES, /* "xroad_services": GET /v1/xroad/services */
    ADP_ROUTE_HEALTHZ,        /* "healthz": GET /healthz */
    ADP_ROUTE_READYZ,         /* "readyz": GET /readyz */
    ADP_ROUTE_METRICS,        /* "metrics": GET /metrics */
    ADP_ROUTE_AUDIT_PROVE,    /* "audit_prove": GET /v1/audit/prove/{id} */
    ADP_ROUTE_UNMATCHED       /* "unmatched": no route (404/405) */
};
#define ADP_ROUTE_COUNT 8u /* keep equal to the last route + 1 */

/* Why a request was refused before it reached a handler (reason=). */
enum adp_metrics_reject {
    ADP_REJECT_OVERLOADED,      /* "overloaded": concurrency cap, 503 */
    ADP_REJECT_RATE_LIMITED,    /* "rate_limited": 429 */
    ADP_REJECT_UNAUTHENTICATED, /* "unauthenticated": no identity, 401 */
    ADP_REJECT_FORBIDDEN,       /* "forbidden": identity not allowed, 403 */
    ADP_REJECT_TOO_LARGE,       /* "too_large": body/header cap, 413/431 */
    ADP_REJECT_BAD_REQUEST      /* "bad_request": malformed request, 400 */
};
#define ADP_REJECT_COUNT 6u /* keep equal to the last reason + 1 */

/* Why the daemon closed an API connection itself (reason=; conn.h). */
enum adp_metrics_conn {
    ADP_CONN_DEADLINE,   /* "deadline": request not complete in time */
    ADP_CONN_IDLE,       /* "idle": keep-alive deadline */
    ADP_CONN_EVICTED,    /* "evicted": made room for a newer connection */
    ADP_CONN_PEER_LIMIT, /* "peer_limit": too many from one address */
    ADP_CONN_FULL        /* "full": every connection was serving */
};
#define ADP_CONN_COUNT 5u /* keep equal to the last reason + 1 */

struct adp_metrics;
struct adp_metrics_shard;

struct adp_metrics_opts {
    unsigned shards; /* worker threads, 1..ADP_METRICS_SHARDS_MAX */
    /*
     * Outcome label values, in index order (e.g. vtj_outcome_name() of
     * every enum vtj_outcome, then the daemon's own: "fault",
     * "transport_error", ...). Each [a-z][a-z0-9_]*, at most
     * ADP_METRICS_NAME_MAX bytes, unique, 1..ADP_METRICS_OUTCOMES_MAX of
     * them. The strings must outlive the registry (static strings).
     * An index outside the table is counted as outcome="unlisted".
     */
    const char *const *outcomes;
    size_t n_outcomes;
    const char *version; /* vayla_build_info{version=}; copied */
};

/*
 * Create a registry with opts->shards zeroed shards. Records the start
 * time (vayla_start_time_seconds) as now.
 * Errors: XR_EINVAL (reason "invalid_metrics_opts": shard count, an
 * outcome name or the version is out of bounds; msg says which),
 * XR_ENOMEM.
 * Ownership: *out is new, free with adp_metrics_free(); opts->outcomes is
 * borrowed for the registry's lifetime, opts->version is copied.
 * Thread-safety: call before the worker threads start.
 */
XR_NODISCARD enum xr_status adp_metrics_new(const struct adp_metrics_opts *opts,
                                            struct adp_metrics **out,
                                            struct xr_error *err);

/*
 * Free the registry and its shards. Accepts NULL.
 * Thread-safety: only after every thread has stopped using it.
 */
void adp_metrics_free(struct adp_metrics *m);

/*
 * Shard i (0..shards-1), or NULL when i is out of range.
 * Ownership: get0, valid until adp_metrics_free().
 * Thread-safety: any thread; the shard itself must then be written by one
 * thread only (its worker).
 */
struct adp_metrics_shard *adp_metrics_shard(struct adp_metrics *m, unsigned i);

/*
 * The functions below take a shard and may be called only by the shard's
 * owning thread. Every one is a few relaxed loads and stores; none
 * allocates or fails. A NULL shard is ignored. Durations are in
 * microseconds.
 */

/*
 * One finished API request (vayla_requests_total and
 * vayla_request_duration_seconds). status is the HTTP status sent; the
 * label is one of 200 400 401 403 404 405 408 413 415 422 429 431 500 502
 * 503 504, else its class ("2xx" ... "5xx"), else "other". outcome is an
 * index into opts->outcomes.
 */
void adp_metrics_request(struct adp_metrics_shard *s,
                         enum adp_metrics_route route, int status,
                         unsigned outcome, uint64_t duration_us);

/* One exchange with the security server (vayla_upstream_duration_seconds),
 * whatever its result. */
void adp_metrics_upstream(struct adp_metrics_shard *s, uint64_t duration_us);

/* One audit commit, from its start to fsync done
 * (vayla_audit_commit_duration_seconds). */
void adp_metrics_audit_commit(struct adp_metrics_shard *s,
                              uint64_t duration_us);

/* One SOAP fault received (vayla_xroad_faults_total{origin}). */
void adp_metrics_fault(struct adp_metrics_shard *s,
                       enum xr_fault_origin origin);

/*
 * One failed exchange (vayla_transport_failures_total{class}); class names
 * as adp_xfer_class_name(). ADP_XFER_OK is not a failure and is ignored.
 */
void adp_metrics_transport_failure(struct adp_metrics_shard *s,
                                   enum adp_xfer_class cls);

/* One connection closed by the daemon
 * (vayla_connections_closed_total{reason}). */
void adp_metrics_conn_closed(struct adp_metrics_shard *s,
                             enum adp_metrics_conn reason);

/* One request refused (vayla_rejected_total{reason}). */
void adp_metrics_rejected(struct adp_metrics_shard *s,
                          enum adp_metrics_reject reason);

/*
 * Gauges: add +1 when a request starts / a connection opens and -1 when it
 * ends (vayla_in_flight, vayla_connections_open). The exposed value is the
 * sum over all shards.
 */
void adp_metrics_in_flight_add(struct adp_metrics_shard *s, int delta);
void adp_metrics_connections_add(struct adp_metrics_shard *s, int delta);

/*
 * Registry-wide, any thread: one configuration reload attempt
 * (vayla_config_reloads_total{result="ok"|"failed"}).
 */
void adp_metrics_config_reload(struct adp_metrics *m, bool ok);

/*
 * Registry-wide, any thread: notAfter of the client certificate used
 * towards the security server, as Unix seconds; 0 removes the metric (no
 * client certificate). vayla_client_cert_expiry_seconds is then rendered
 * as notAfter - now at each scrape (negative once expired).
 */
void adp_metrics_set_client_cert_expiry(struct adp_metrics *m,
                                        int64_t not_after_unix);

/*
 * Append the whole exposition (HELP and TYPE lines, every metric) to out.
 * Requests series that are still zero are omitted; every other series is
 * always present.
 * Returns XR_OK, or XR_ENOMEM (out may then hold part of the text; discard
 * it). XR_EINVAL when m or out is NULL.
 * Ownership: out borrowed. Thread-safety: any thread, concurrently with
 * the writers.
 */
XR_NODISCARD enum xr_status adp_metrics_render(struct adp_metrics *m,
                                               struct evbuffer *out);

/* Static label names, e.g. "vtj_person", "overloaded". Never NULL. */
const char *adp_metrics_route_name(enum adp_metrics_route route);
const char *adp_metrics_reject_name(enum adp_metrics_reject reason);
const char *adp_metrics_conn_name(enum adp_metrics_conn reason);

#endif

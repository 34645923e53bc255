/*
 * The HTTP/JSON API of one daemon worker (docs/api.md):
 *   POST /v1/vtj/person   one VTJ person query
 *   GET  /healthz         the process is up
 *   GET  /readyz          security server reachable, audit store writable
 *   GET  /metrics         Prometheus text exposition
 *
 * A person query goes: authenticate, authorise, rate-limit, validate the
 * JSON, then the query pipeline (query.h: slot, envelope, audit INTENT,
 * exchange, judgement, VTJ decode, audit OUTCOME), then the answer: the
 * pipeline's verdict translated into an HTTP status and JSON by one table
 * (adp_api_verdict_status()).
 *
 * The worker (server.c) owns the event loop, the listeners, the
 * configuration generations and the connection accounting; this module
 * owns requests. It reaches its worker only through struct adp_api_host.
 */
#ifndef VAYLA_API_H
#define VAYLA_API_H

#include <stdbool.h>

#include <event2/event.h>
#include <event2/http.h>
#include <xroad/error.h>

#include "gen.h"
#include "query.h"

/* The route prefix of the generic SOAP path (its own body cap). */
#define ADP_API_SOAP_PREFIX "/v1/xroad/soap/"

struct adp_api;
struct adp_auditq;
struct adp_conns;
struct adp_metrics;
struct adp_metrics_shard;
struct adp_upstream;

/* What the API needs from its worker. Everything is borrowed and outlives
 * the API state. */
struct adp_api_host {
    struct event_base *base;
    struct adp_upstream *up;           /* connections to the SS */
    struct adp_conns *conns;           /* API connections (conn.h) */
    struct adp_auditq *auditq;         /* the audit writer */
    struct adp_metrics *registry;      /* for GET /metrics */
    struct adp_metrics_shard *metrics; /* this worker's shard */
    unsigned worker_id;
    unsigned nworkers;
    long pid; /* part of every request id */
    void *ctx;
    /* The worker's current generation, after picking up a reload. */
    struct adp_gen *(*gen)(void *ctx);
    /* True once SIGTERM started the drain. */
    bool (*draining)(void *ctx);
    /* A request or a reply ended: the worker may end a drain. */
    void (*idle)(void *ctx);
};

/* Ownership: *out new, free with adp_api_free() after the loop stopped. */
XR_NODISCARD enum xr_status adp_api_new(const struct adp_api_host *host,
                                        struct adp_api **out,
                                        struct xr_error *err);
void adp_api_free(struct adp_api *api);

/* evhttp general callback; arg is the struct adp_api. */
void adp_api_handle(struct evhttp_request *req, void *arg);

/* No request in flight, no reply being written, no audit submission
 * outstanding. */
bool adp_api_idle(const struct adp_api *api);

/*
 * The metrics registry with the API's outcome label table (every VTJ
 * outcome plus the daemon's own). Ownership: *out is new.
 */
XR_NODISCARD enum xr_status adp_api_metrics_new(unsigned shards,
                                                struct adp_metrics **out,
                                                struct xr_error *err);

/*
 * The HTTP status the API answers a query verdict with (docs/api.md,
 * "Status codes"), and the error code of its JSON body (NULL for 200).
 */
int adp_api_verdict_status(const struct adp_verdict *v, const char **code);

#endif

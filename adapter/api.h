/*
 * The HTTP/JSON API served by each worker (docs/api.md):
 *   POST /v1/vtj/person   one VTJ person query
 *   GET  /healthz         the process is up
 *   GET  /readyz          security server reachable, audit store writable
 *   GET  /metrics         Prometheus text exposition
 *
 * A person query goes: authenticate, authorise, rate-limit, validate the
 * JSON, build the envelope, make the audit INTENT durable, exchange with
 * the security server, judge the answer, decode VTJ, make the audit
 * OUTCOME durable, answer. Nothing reaches the security server before
 * its intent is on disk, and no caller is answered before the outcome is.
 */
#ifndef VAYLA_API_H
#define VAYLA_API_H

#include <event2/event.h>
#include <event2/http.h>

#include "server.h"

/* evhttp general callback; arg is the struct adp_worker. */
void adp_api_handle(struct evhttp_request *req, void *arg);

/* Audit completions (auditq.h sink callback); arg is the worker. */
void adp_api_on_audit(const struct adp_auditq_done *d, void *arg);

/*
 * The metrics registry with the API's outcome label table (every VTJ
 * outcome plus the daemon's own). Ownership: *out is new.
 */
enum xr_status adp_api_metrics_new(unsigned shards, struct adp_metrics **out,
                                   struct xr_error *err);

/* Connection cap of one worker (max_connections split across workers). */
unsigned adp_api_max_conns(const struct adp_worker *w);

#endif

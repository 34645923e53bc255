/*
 * Private to the HTTP API (api.h): the worker's API state, the request
 * object and the helpers its files share. The files:
 *
 *   api.c         routing, caller authentication, replies and their
 *                 accounting, the verdict table, readiness, metrics
 *   api_person.c  POST /v1/vtj/person: the VTJ face of the pipeline
 *   api_soap.c    POST /v1/xroad/soap/{service}: the generic SOAP face
 *   api_services.c GET /v1/xroad/services: the caller's services, checked
 *                 with allowedMethods
 *   api_prove.c   GET /v1/audit/prove/{id}: an audited query proven with
 *                 the security server's signed containers
 *
 * One `struct adp_req` per API request owns everything allocated for it
 * and is freed in exactly one place, adp__api_reply_send(), right after
 * the reply has been handed to evhttp.
 */
#ifndef VAYLA_API_INTERNAL_H
#define VAYLA_API_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>
#include <xroad/xroad.h>

#include "api.h"
#include "auditq.h"
#include "caller.h"
#include "conn.h"
#include "jw.h"
#include "metrics.h"
#include "query.h"
#include "services/vtj.h"

#define API_PURPOSE_MAX     1024u /* bytes: becomes the X-Road issue */
#define API_INTENT_WAIT_MS  5000  /* give up on a failing audit store */
#define API_OUTCOME_WAIT_MS 30000
#define API_PROBE_TTL_MS    5000
#define API_PROBE_TIMEOUT   3000
#define API_PATH_LOG_MAX    160u   /* bytes of the path in the access log */
#define API_TLS_RECORD      16384u /* a TLS record's most plaintext */

/* Outcome labels beyond the VTJ outcomes (metrics and logs). */
enum api_outcome {
    AO_FAULT = VTJ_OUTCOME_UNKNOWN_CODE + 1,
    AO_INVALID_RESPONSE,
    AO_TRANSPORT_ERROR,
    AO_REJECTED,
    AO_AUDIT_UNAVAILABLE,
    AO_SHUTTING_DOWN,
    AO_OK,
    AO_COUNT
};

/* Readiness of the upstream, cached (GET /readyz). */
struct adp__api_probe {
    int64_t checked_ms;    /* monotonic ms of the last probe, 0 = never */
    bool reachable;        /* security server answered at all */
    bool running;          /* a probe is in flight */
    struct adp_xfer *xfer; /* the probe exchange while running */
    char detail[128];      /* why not reachable (transport class) */
};

struct adp_req;

struct adp_api {
    struct adp_api_host host;
    struct adp_auditq_sink sink;  /* audit completions for this loop */
    bool sink_ready;              /* sink initialised */
    struct adp_query_audit audit; /* the pipeline's view of auditq */
    unsigned in_flight;           /* requests not yet answered */
    unsigned writing;             /* replies evhttp is still writing */
    unsigned audit_waiting;       /* submissions not yet completed */
    uint64_t req_seq;             /* request ids */
    struct adp__api_probe probe;
    struct adp_req *probe_waiters; /* /readyz requests on the probe */
    unsigned proving;              /* GET /v1/audit/prove threads running */
    struct prove_job *proofs;      /* their jobs (api_prove.c) */
};

enum adp__api_kind {
    RK_OTHER,
    RK_QUERY, /* a query through the pipeline: logged on the access log */
    RK_READYZ
};

struct prove_job;
struct soap_call;
struct vtj_call;
struct xr_mime;

struct adp_req {
    struct adp_api *api;
    struct adp_gen *gen; /* the generation this request runs with */
    struct evhttp_request *http;
    enum adp__api_kind kind;
    enum adp_metrics_route route;
    char id[32];
    char *path; /* owned, for the access log (API_PATH_LOG_MAX) */
    struct adp_conn_info conn; /* the connection it came on */
    bool close;                /* answer with Connection: close */
    struct adp_caller *caller; /* borrowed from gen (rate is mutable) */
    int64_t t_start_us;
    /* The query. */
    char *end_user; /* clean (adp_query_text) */
    char *purpose;
    char *subject;
    struct vtj_call *vtj;   /* person route */
    struct soap_call *soap; /* generic SOAP route */
    struct xr_mime *mime;   /* its multipart body (borrows the input) */
    struct xr_id *service;  /* its service (owned; generic route only) */
    struct adp_query *query;
    struct services_check *services;   /* GET /v1/xroad/services */
    const struct adp_verdict *verdict; /* get0 from query, once done */
    /* The answer under construction: a JSON body, JSON text, or raw
     * bytes. `text`, when it has bytes, is a JSON object written without
     * its closing brace; put_body() ends it with "request_id" (the person
     * route writes its answers so, with no jansson tree). */
    int status;
    json_t *body;
    struct jw text;
    bool xml;             /* the caller asked for XML (generic route) */
    struct evbuffer *raw; /* a non-JSON answer, sent as is */
    char *raw_type;       /* owned; its Content-Type */
    unsigned outcome;
    const char *fault_origin;
    unsigned retry_after_s;
    bool in_flight;             /* counted in api->in_flight */
    struct adp_req *probe_next; /* readiness probe waiters */
};

/* ---- api.c ---------------------------------------------------------------
 */

/*
 * The route has taken what it needs from the request: drop the input
 * headers but those libevent reads when answering (Connection,
 * Proxy-Connection) and, when `body`, the body, so that a query waiting
 * for the security server does not hold them (docs/performance.md).
 */
void adp__api_park(struct adp_req *r, bool body);

/* Send the prepared answer (r->raw, or r->body as JSON, or as XML when
 * r->xml), account for it and free the request. */
void adp__api_reply_send(struct adp_req *r);

/* Answer with an error object {"code","message"}. */
void adp__api_reply_error(struct adp_req *r, int status, const char *code,
                          const char *message, unsigned outcome);

/* Input refused before a query exists: 422, or 503 when the daemon ran
 * out of memory. */
void adp__api_reply_input_error(struct adp_req *r, const struct xr_error *err);

/* Refused before a handler ran (counted by reason). */
void adp__api_reject(struct adp_req *r, enum adp_metrics_reject why, int status,
                     const char *code, const char *message);

/* {"code","message"}. Ownership: new reference (NULL on OOM). */
json_t *adp__api_error_body(const char *code, const char *message);

/*
 * Authenticate the caller, check it may run `op` and take a token from
 * its rate limiter. False when the request was answered (401, 403, 429).
 */
bool adp__api_admit(struct adp_req *r, enum adp_op op);

/* Content-Type `ctype` is `media`, parameters allowed (RFC 9110 8.3). */
bool adp__api_is_media(const char *ctype, const char *media);

/*
 * The query parameters every face sets the same way: the caller's client
 * subsystem, the security server settings, the transport, the audit
 * store and r as the done context. The face adds svc, call, service,
 * user_id and issue.
 */
void adp__api_query_params(struct adp_req *r, adp_query_done_fn *done,
                           struct adp_query_params *qp);

/* Metrics/log outcome of a verdict; data_outcome for the answered
 * classes. */
unsigned adp__api_verdict_outcome(const struct adp_verdict *v,
                                  unsigned data_outcome);

/* The body of a query that produced no answer (fault, invalid,
 * transport, rejected, audit, internal). Ownership: new reference. */
json_t *adp__api_failed_body(const struct adp_verdict *v, const char *code);

/* Fault metrics and the operator's log line of a failed verdict. */
void adp__api_verdict_note(struct adp_req *r, const struct adp_verdict *v);

/* ---- api_person.c --------------------------------------------------------
 */

#define API_PERSON_PATH "/v1/vtj/person"
#define API_BILLING_MAX 1024u

void adp__api_person(struct adp_req *r);

/* ---- api_soap.c ----------------------------------------------------------
 */

#define API_SOAP_PREFIX   "/v1/xroad/soap/"
#define API_SERVICES_PATH "/v1/xroad/services"

/* POST /v1/xroad/soap/{id}: `id` is the path after the prefix. */
void adp__api_soap(struct adp_req *r, const char *id);

/* ---- api_services.c ------------------------------------------------------
 */

struct services_check;

/* GET /v1/xroad/services. */
void adp__api_services(struct adp_req *r);

/* Accepts NULL. */
void adp__api_services_free(struct services_check *s);

/* ---- api_prove.c ---------------------------------------------------------
 */

#define API_PROVE_PREFIX "/v1/audit/prove/"

/* GET /v1/audit/prove/{id}: `seg` is the path after the prefix. */
void adp__api_prove(struct adp_req *r, const char *seg);

/* The worker stops: running proofs free themselves when they end. */
void adp__api_prove_orphan_all(struct adp_api *api);

#endif

/*
 * The HTTP/JSON API of the daemon: routing, caller authentication, the
 * person-query pipeline with its audit records, and the status mapping
 * (docs/api.md). Runs on one worker's event loop; nothing here blocks
 * except the audit commit, which is one fsync per loop iteration shared
 * by every request of that iteration.
 *
 * One `struct adp_req` per API request owns everything allocated for it
 * and is freed in exactly one place, reply_send(), right after the reply
 * has been handed to evhttp. (evhttp's on-complete callback is not used:
 * libevent 2.1 does not call it when the client went away before the
 * reply, so it cannot be the only place that frees.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <xroad/xroad.h>

#include "api.h"
#include "audit.h"
#include "auditq.h"
#include "caller.h"
#include "jsonout.h"
#include "log.h"
#include "metrics.h"
#include "services/vtj.h"
#include "util.h"
#include "xfer.h"

#define API_PERSON_PATH     "/v1/vtj/person"
#define API_PURPOSE_MAX     1024u /* bytes: becomes the X-Road issue */
#define API_BILLING_MAX     1024u
#define API_INTENT_WAIT_MS  5000 /* give up on a failing audit store */
#define API_OUTCOME_WAIT_MS 30000
#define API_PROBE_TTL_MS    5000
#define API_PROBE_TIMEOUT   3000

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

static const char *const api_outcome_names[] = {
    [AO_FAULT] = "fault",
    [AO_INVALID_RESPONSE] = "invalid_response",
    [AO_TRANSPORT_ERROR] = "transport_error",
    [AO_REJECTED] = "rejected",
    [AO_AUDIT_UNAVAILABLE] = "audit_unavailable",
    [AO_SHUTTING_DOWN] = "shutting_down",
    [AO_OK] = "ok",
};

static const char *outcome_name(unsigned o)
{
    if (o <= (unsigned)VTJ_OUTCOME_UNKNOWN_CODE)
        return vtj_outcome_name((enum vtj_outcome)o);
    return o < AO_COUNT ? api_outcome_names[o] : "unlisted";
}

enum xr_status adp_api_metrics_new(unsigned shards, struct adp_metrics **out,
                                   struct xr_error *err)
{
    static const char *names[AO_COUNT];
    struct adp_metrics_opts o;

    for (unsigned i = 0; i < AO_COUNT; i++)
        names[i] = outcome_name(i);
    memset(&o, 0, sizeof(o));
    o.shards = shards;
    o.outcomes = names;
    o.n_outcomes = AO_COUNT;
    o.version = xr_version();
    return adp_metrics_new(&o, out, err);
}

unsigned adp_api_max_conns(const struct adp_worker *w)
{
    unsigned n = w->gen->cfg->api.max_connections / w->srv->nworkers;
    return n > 0 ? n : 1;
}

static unsigned max_in_flight(const struct adp_worker *w)
{
    unsigned n = w->gen->cfg->api.max_in_flight / w->srv->nworkers;
    return n > 0 ? n : 1;
}

/* ---- the request object -------------------------------------------------- */

enum req_kind { RK_OTHER, RK_PERSON, RK_READYZ };

struct adp_req;
typedef void req_step_fn(struct adp_req *r);

struct adp_req {
    struct adp_worker *w;
    struct adp_gen *gen; /* the generation this request runs with */
    struct evhttp_request *http;
    enum req_kind kind;
    enum adp_metrics_route route;
    char id[32];
    struct adp_caller *caller; /* borrowed from gen (rate is mutable) */
    int64_t t_start_us;
    int64_t upstream_us; /* summed over exchanges, -1 = none */
    int64_t audit_us;    /* time spent waiting for durability */
    int64_t wait_since_us;
    /* Waiting for the audit store, then for a connection. */
    req_step_fn *on_durable;
    struct adp_req *up_next;
    /* The query. */
    struct vtj_query q;
    char subject[16];
    char product[VTJ_PRODUCT_MAX + 1];
    char *end_user;
    char *purpose;
    char *billing;
    struct xr_request *xreq;
    struct adp_xfer *xfer;
    struct vtj_result *result;
    bool followed; /* the passivated follow-up has been sent */
    json_t *first; /* answer to the first query when following up */
    /* The answer under construction. */
    int status;
    json_t *body;
    unsigned outcome;
    const char *fault_origin;
    unsigned retry_after_s;
    bool in_flight;  /* counted in w->in_flight */
    bool holds_slot; /* counted in w->up_busy */
    /* Readiness probe waiters. */
    struct adp_req *probe_next;
};

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 500 ? "Client Error" : "Server Error";
    }
}

/* evhttp wrote a reply out: a draining worker may stop once all are. */
static void on_reply_written(struct evhttp_request *http, void *arg)
{
    struct adp_worker *w = arg;

    (void)http;
    if (w->writing > 0)
        w->writing--;
    adp_server_worker_idle_check(w);
}

/*
 * Hand a reply to evhttp. evhttp writes it on a later loop turn; while it
 * does, the worker counts it so that a drain does not end the loop (and
 * close the connection) under it. When the client has already gone there
 * is no connection, evhttp frees the request at once and no completion
 * comes.
 */
static void send_reply(struct adp_worker *w, struct evhttp_request *http,
                       int status, const char *reason, struct evbuffer *out)
{
    if (evhttp_request_get_connection(http)) {
        w->writing++;
        evhttp_request_set_on_complete_cb(http, on_reply_written, w);
    }
    evhttp_send_reply(http, status, reason, out);
}

static void slot_release(struct adp_req *r);

static void req_free(struct adp_req *r)
{
    if (!r)
        return;
    slot_release(r);
    adp_xfer_free(r->xfer);
    xr_request_free(r->xreq);
    vtj_result_free(r->result);
    json_decref(r->first);
    json_decref(r->body);
    free(r->end_user);
    free(r->purpose);
    free(r->billing);
    adp_gen_unref(r->gen);
    free(r);
}

/* evbuffer cleanup for a reference to a malloc()ed answer text. */
static void free_text(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)(uintptr_t)data);
}

/* Send the prepared answer, account for it and free the request. */
static void reply_send(struct adp_req *r)
{
    struct adp_worker *w = r->w;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->http);
    struct evbuffer *out = evhttp_request_get_output_buffer(r->http);
    struct adp_log_req lr;
    int64_t dur = adp_mono_us() - r->t_start_us;
    char *text = NULL;
    size_t text_len = 0;
    char ra[16];

    if (r->body) {
        json_object_set_new(r->body, "request_id", json_string(r->id));
        text = adp_json_dump_line(r->body, &text_len);
    }
    /* The text is handed to the output buffer without a copy. */
    if (text && (!out || evbuffer_add_reference(out, text, text_len, free_text,
                                                NULL) != 0))
        free(text);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "X-Request-Id", r->id);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (r->retry_after_s) {
        snprintf(ra, sizeof(ra), "%u", r->retry_after_s);
        evhttp_add_header(h, "Retry-After", ra);
    }
    if (r->status == 401)
        evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"vayla\"");
    send_reply(w, r->http, r->status, reason_phrase(r->status), NULL);

    adp_metrics_request(w->metrics, r->route, r->status, r->outcome,
                        (uint64_t)dur);
    if (r->kind == RK_PERSON) {
        memset(&lr, 0, sizeof(lr));
        lr.req_id = r->id;
        lr.caller = r->caller ? r->caller->name : NULL;
        lr.method = "POST";
        lr.path = API_PERSON_PATH;
        lr.status = r->status;
        lr.outcome = outcome_name(r->outcome);
        lr.fault_origin = r->fault_origin;
        lr.xroad_id = r->xreq ? xr_request_id(r->xreq) : NULL;
        lr.duration_us = dur;
        lr.upstream_us = r->upstream_us;
        lr.audit_us = r->audit_us;
        adp_log_request(&lr);
    }
    if (r->in_flight) {
        w->in_flight--;
        adp_metrics_in_flight_add(w->metrics, -1);
    }
    req_free(r);
    adp_server_worker_idle_check(w);
}

/* Answer with an error object {"code","message",...}. */
static void reply_error(struct adp_req *r, int status, const char *code,
                        const char *message, unsigned outcome)
{
    json_t *o = json_object();

    if (o) {
        json_object_set_new(o, "code", json_string(code));
        json_object_set_new(o, "message", json_string(message));
    }
    json_decref(r->body);
    r->body = o;
    r->status = status;
    r->outcome = outcome;
    reply_send(r);
}

/* A request that could not be built: 422 for bad input values, 503 when
 * the daemon ran out of memory or a digest or the random source failed
 * (not the caller's fault). */
static void reply_input_error(struct adp_req *r, const struct xr_error *err)
{
    if (err->code == XR_ENOMEM)
        reply_error(r, 503, "out_of_memory", "out of memory", AO_REJECTED);
    else if (err->code == XR_EINTERNAL)
        reply_error(r, 503, "internal_error", err->msg, AO_REJECTED);
    else
        reply_error(r, 422, err->reason, err->msg, AO_REJECTED);
}

static void reject(struct adp_req *r, enum adp_metrics_reject why, int status,
                   const char *code, const char *message)
{
    adp_metrics_rejected(r->w->metrics, why);
    reply_error(r, status, code, message, AO_REJECTED);
}

/* ---- waiting for the audit store ---------------------------------------- */

static void audit_unavailable(struct adp_req *r)
{
    reply_error(r, 503, "audit_unavailable",
                "the audit store cannot record this query; nothing was "
                "sent to the security server or the answer is withheld",
                AO_AUDIT_UNAVAILABLE);
}

/* The audit writer made (or failed to make) a submission durable. */
void adp_api_on_audit(const struct adp_auditq_done *d, void *arg)
{
    struct adp_worker *w = arg;
    struct adp_req *r = d->ctx;

    w->audit_waiting--;
    r->audit_us += adp_mono_us() - r->wait_since_us;
    if (!d->ok) {
        adp_log_err("request %s: audit record not durable: %s", r->id, d->msg);
        json_decref(r->body);
        r->body = NULL;
        audit_unavailable(r);
        return;
    }
    r->on_durable(r);
}

/* Submit an intent (in) or an outcome (out); `next` runs once durable. */
static void audit_submit(struct adp_req *r, const struct adp_audit_intent *in,
                         const struct adp_audit_outcome *out, req_step_fn *next,
                         int64_t limit_ms)
{
    struct adp_worker *w = r->w;
    struct xr_error err;
    int64_t deadline = adp_mono_ms() + limit_ms;
    enum xr_status rc;

    r->on_durable = next;
    r->wait_since_us = adp_mono_us();
    if (in)
        rc = adp_auditq_intent(w->srv->auditq, in, deadline, &w->audit_sink, r,
                               &err);
    else
        rc = adp_auditq_outcome(w->srv->auditq, out, deadline, &w->audit_sink,
                                r, &err);
    if (rc != XR_OK) {
        adp_log_err("request %s: cannot submit the audit record: %s", r->id,
                    err.msg);
        json_decref(r->body);
        r->body = NULL;
        audit_unavailable(r);
        return;
    }
    w->audit_waiting++;
}

/* ---- authentication --------------------------------------------------------
 */

static X509 *peer_cert(struct evhttp_request *http)
{
    struct evhttp_connection *c = evhttp_request_get_connection(http);
    struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

    if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK)
        return NULL;
    return SSL_get1_peer_certificate(ssl);
}

/* Find the caller; 0 when authenticated, else an HTTP status was sent. */
static int authenticate(struct adp_req *r)
{
    const struct adp_config *cfg = r->gen->cfg;
    const char *auth;
    X509 *cert = peer_cert(r->http);

    if (cert) {
        r->caller = adp_caller_by_cert(cfg->callers, cfg->ncallers, cert);
        X509_free(cert);
    }
    if (!r->caller) {
        auth = evhttp_find_header(evhttp_request_get_input_headers(r->http),
                                  "Authorization");
        if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
            const char *t = auth + 7;
            while (*t == ' ')
                t++;
            r->caller =
                adp_caller_by_token(cfg->callers, cfg->ncallers, t, strlen(t));
        }
    }
    if (!r->caller) {
        reject(r, ADP_REJECT_UNAUTHENTICATED, 401, "unauthenticated",
               "no valid client certificate or bearer token");
        return -1;
    }
    return 0;
}

/* ---- the person query ------------------------------------------------------
 */

static void query_start(struct adp_req *r);
static void upstream_enqueue(struct adp_req *r);

/* Map an exchange that produced no VTJ answer; sets status and body. */
/* {"code","message","message_id"}: the start of every upstream error. */
static json_t *upstream_error(const struct adp_req *r, const char *code,
                              const char *message)
{
    json_t *o = json_object();

    json_object_set_new(o, "code", json_string(code));
    json_object_set_new(o, "message", json_string(message));
    json_object_set_new(o, "message_id", json_string(xr_request_id(r->xreq)));
    return o;
}

/* Map an exchange that produced no VTJ answer; sets status and body. */
static void answer_transport(struct adp_req *r,
                             const struct adp_xfer_result *res)
{
    r->body = upstream_error(r, adp_xfer_class_name(res->cls), res->message);
    r->status = res->cls == ADP_XFER_TIMEOUT ? 504 : 502;
    r->outcome = AO_TRANSPORT_ERROR;
    /* The access line says transport_error; this says which and why
     * (transport messages carry no personal data or secrets). */
    adp_log_warn("request %s: %s: %s", r->id, adp_xfer_class_name(res->cls),
                 res->message);
    adp_metrics_transport_failure(r->w->metrics, res->cls);
}

static void answer_fault(struct adp_req *r, const struct xr_fault *f)
{
    r->body = upstream_error(r, "xroad_fault",
                             "the X-Road exchange failed; origin tells "
                             "which side");
    json_object_set_new(r->body, "fault", adp_fault_json(f));
    r->status = 502;
    r->outcome = AO_FAULT;
    r->fault_origin = xr_fault_origin_name(f->origin);
    adp_metrics_fault(r->w->metrics, f->origin);
}

static void answer_invalid(struct adp_req *r, const struct xr_error *err)
{
    r->body = upstream_error(r, "invalid_response",
                             "the security server's answer failed "
                             "validation");
    json_object_set_new(r->body, "error", adp_error_json(err));
    r->status = 502;
    r->outcome = AO_INVALID_RESPONSE;
}

static void answer_vtj(struct adp_req *r)
{
    enum vtj_outcome o = vtj_result_outcome(r->result);
    json_t *j = vtj_result_json(r->result); /* borrowed, members shared */
    json_t *body = json_object();

    json_object_set_new(body, "message_id",
                        json_string(xr_request_id(r->xreq)));
    if (j)
        json_object_update(body, j);
    r->outcome = (unsigned)o;
    if (vtj_outcome_is_found(o)) {
        r->status = 200;
    } else if (vtj_outcome_is_error(o)) {
        /* Credentials, configuration or DVV-side errors: not the
         * caller's fault and not an answer about the person. */
        r->status = 502;
        json_object_set_new(body, "code", json_string("vtj_error"));
        json_object_set_new(body, "retryable",
                            json_boolean(vtj_result_is_retryable(r->result)));
    } else {
        r->status = 404;
        json_object_set_new(body, "code", json_string(vtj_outcome_name(o)));
    }
    r->body = body;
}

static void query_outcome_durable(struct adp_req *r)
{
    struct vtj_query next;
    struct vtj_policy pol;

    memset(&pol, 0, sizeof(pol));
    pol.follow_passivated = r->gen->cfg->vtj.follow_passivated;
    if (r->result && !r->followed &&
        vtj_result_follow_up(r->result, &pol, &r->q, &next)) {
        /* One re-query with the new hetu of a passivated person. */
        r->followed = true;
        r->first = r->body;
        r->body = NULL;
        snprintf(r->subject, sizeof(r->subject), "%s", next.hetu);
        r->q.hetu = r->subject;
        r->q.satu = NULL;
        vtj_result_free(r->result);
        r->result = NULL;
        xr_request_free(r->xreq);
        r->xreq = NULL;
        upstream_enqueue(r);
        return;
    }
    if (r->first && r->body)
        json_object_set(r->body, "passivated", r->first);
    reply_send(r);
}

/* Record the outcome (durable before the answer is released). */
static void query_record_outcome(struct adp_req *r, const uint8_t *resp,
                                 size_t resp_len, const char *result_class,
                                 const char *return_code,
                                 const struct xr_fault *f, int64_t dur_ms)
{
    struct adp_audit_outcome o;
    uint8_t digest[64];

    memset(&o, 0, sizeof(o));
    o.time_ms = wall_ms();
    o.message_id = xr_request_id(r->xreq);
    o.result_class = result_class;
    o.return_code = return_code;
    o.fault_code = f ? f->code : NULL;
    o.fault_origin = f ? xr_fault_origin_name(f->origin) : NULL;
    o.duration_ms = dur_ms;
    if (resp) {
        unsigned int n = 0;
        if (EVP_Digest(resp, resp_len, digest, &n, EVP_sha512(), NULL) &&
            n == sizeof(digest))
            o.response_sha512 = digest;
        else {
            o.response = resp; /* let the audit store hash it */
            o.response_len = resp_len;
        }
    }
    audit_submit(r, NULL, &o, query_outcome_durable, API_OUTCOME_WAIT_MS);
}

static void query_xfer_done(struct adp_xfer *x,
                            const struct adp_xfer_result *res, void *ctx)
{
    struct adp_req *r = ctx;
    struct xr_check_opts copts;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct vtj_policy pol;
    const struct adp_config *cfg = r->gen->cfg;
    const char *cls = "ok", *rc_text = NULL;
    const struct xr_fault *fault = NULL;

    r->xfer = NULL; /* x is freed below, after the outcome is submitted */
    r->upstream_us = (r->upstream_us < 0 ? 0 : r->upstream_us) +
                     (int64_t)res->total_ms * 1000;
    adp_metrics_upstream(r->w->metrics, (uint64_t)res->total_ms * 1000u);
    memset(&copts, 0, sizeof(copts));
    copts.limits.max_bytes = cfg->ss.max_response_bytes;
    copts.allow_missing_request_hash = cfg->ss.allow_missing_request_hash;
    if (res->cls != ADP_XFER_OK && res->cls != ADP_XFER_HTTP_STATUS) {
        answer_transport(r, res);
        cls = "transport_error";
    } else if (xr_response_check(r->xreq, res->content_type, res->body,
                                 res->body_len, &copts, &resp, &err) != XR_OK) {
        /* An HTTP error status without a parsable SOAP answer is a
         * transport failure; otherwise the answer itself is invalid. */
        if (res->cls == ADP_XFER_HTTP_STATUS) {
            answer_transport(r, res);
            cls = "transport_error";
        } else {
            answer_invalid(r, &err);
            cls = "invalid_response";
        }
    } else if (xr_response_verdict(resp) == XR_VERDICT_FAULT) {
        fault = xr_response_fault(resp);
        answer_fault(r, fault);
        cls = "fault";
    } else {
        memset(&pol, 0, sizeof(pol));
        pol.redact_protected_addresses = r->caller->redact_protected_addresses;
        pol.follow_passivated = cfg->vtj.follow_passivated;
        pol.expected_hetu = r->q.hetu;
        pol.expected_satu = r->q.satu;
        if (vtj_decode(xr_response_body(resp), &pol, &r->result, &err) !=
            XR_OK) {
            answer_invalid(r, &err);
            cls = "invalid_response";
        } else {
            answer_vtj(r);
            cls = vtj_outcome_name(vtj_result_outcome(r->result));
            rc_text = vtj_result_return_code(r->result);
        }
    }
    /* The slot goes to the next query now; the outcome submission may
     * answer and free r at once, so it comes last. x and resp are ours. */
    slot_release(r);
    query_record_outcome(r, res->body, res->body_len, cls, rc_text, fault,
                         res->total_ms);
    xr_response_free(resp);
    adp_xfer_free(x);
}

static void upstream_start(struct adp_req *r)
{
    const struct adp_config *cfg = r->gen->cfg;
    struct adp_xfer_opts opts;
    struct xr_bytes b = xr_request_bytes(r->xreq);
    struct xr_error err;
    struct adp_curlev *pool;

    adp_xfer_opts_from_config(&opts, &cfg->ss);
    pool = adp_server_pool(r->w, &opts);
    if (!pool)
        xr_error_set(&err, XR_ENOMEM, "out_of_memory", "",
                     "no connection pool");
    if (!pool || adp_xfer_start(pool, &opts, b.ptr, b.len, query_xfer_done, r,
                                &r->xfer, &err) != XR_OK) {
        struct adp_xfer_result res;
        memset(&res, 0, sizeof(res));
        res.cls = ADP_XFER_INTERNAL;
        snprintf(res.message, sizeof(res.message), "%s", err.msg);
        adp_log_err("request %s: cannot start the exchange: %s", r->id,
                    err.msg);
        answer_transport(r, &res);
        slot_release(r);
        query_record_outcome(r, NULL, 0, "transport_error", NULL, NULL, 0);
    }
}

/*
 * The upstream queue. A query takes a connection slot before anything is
 * built, and keeps it until its exchange is over: while it waits here it
 * holds only its parameters (no envelope, no request bytes, no libcurl
 * handle), so thousands can wait on a slow security server for a few
 * kilobytes each. A slot covers building the envelope, making the intent
 * durable and the exchange; [security_server] max_connections caps slots.
 */
static void upstream_pump(struct adp_worker *w)
{
    if (w->up_pumping)
        return; /* a request failing inside the loop released its slot */
    w->up_pumping = true;
    while (w->up_head && w->up_busy < adp_server_ss_connections(w)) {
        struct adp_req *r = w->up_head;
        w->up_head = r->up_next;
        if (!w->up_head)
            w->up_tail = NULL;
        r->up_next = NULL;
        r->holds_slot = true;
        w->up_busy++;
        query_start(r);
    }
    w->up_pumping = false;
}

static void upstream_enqueue(struct adp_req *r)
{
    struct adp_worker *w = r->w;

    r->up_next = NULL;
    if (w->up_tail)
        w->up_tail->up_next = r;
    else
        w->up_head = r;
    w->up_tail = r;
    upstream_pump(w);
}

/* The query's exchange is over (or never started): its slot is free. */
static void slot_release(struct adp_req *r)
{
    if (!r->holds_slot)
        return;
    r->holds_slot = false;
    r->w->up_busy--;
    upstream_pump(r->w);
}

/* Build the envelope and record the intent. */
static void query_start(struct adp_req *r)
{
    const struct adp_config *cfg = r->gen->cfg;
    struct vtj_credentials cred = {cfg->vtj.username, cfg->vtj.password};
    struct xr_header *hdr = NULL;
    struct adp_audit_intent in;
    struct xr_error err;
    char *body = NULL;
    size_t body_len = 0;
    char service[XR_ID_TEXT_MAX];
    uint8_t req_digest[64];

    if (vtj_request_body(&r->q, &cred, &body, &body_len, &err) != XR_OK) {
        reply_input_error(r, &err);
        return;
    }
    hdr = malloc(sizeof(*hdr));
    if (!hdr)
        goto nomem;
    xr_header_init(hdr);
    hdr->client = r->caller->has_client ? r->caller->client : cfg->xroad.client;
    hdr->service = cfg->vtj.service;
    hdr->has_user_id = true;
    snprintf(hdr->user_id, sizeof(hdr->user_id), "%s", r->end_user);
    hdr->has_issue = true;
    snprintf(hdr->issue, sizeof(hdr->issue), "%s", r->purpose);
    if (cfg->xroad.has_security_server) {
        hdr->has_security_server = true;
        hdr->security_server = cfg->xroad.security_server;
    }
    /* A complete header is used as it is (xr_request_new copies it
     * otherwise, to fill in the id). */
    if (xr_uuid7(hdr->id, sizeof(hdr->id), &err) != XR_OK) {
        reply_input_error(r, &err);
        goto out;
    }
    if (xr_request_new(hdr, (const uint8_t *)body, body_len, &r->xreq, &err) !=
        XR_OK) {
        reply_input_error(r, &err);
        goto out;
    }
    xr_id_format(&hdr->service, false, service, sizeof(service));
    memset(&in, 0, sizeof(in));
    in.time_ms = wall_ms();
    in.caller = r->caller->name; /* lives in r->gen */
    in.end_user = r->end_user;
    in.purpose = r->purpose;
    in.service = service;
    in.product = r->product;
    in.subject = r->subject;
    in.message_id = xr_request_id(r->xreq);
    /* The digest was made with the request; no copy of the bytes (they
     * hold the VTJ password) crosses to the audit thread. */
    xr_request_sha512(r->xreq, req_digest);
    in.request_sha512 = req_digest;
    audit_submit(r, &in, NULL, upstream_start, API_INTENT_WAIT_MS);
    goto out;
nomem:
    reply_error(r, 503, "out_of_memory", "out of memory", AO_REJECTED);
out:
    free(hdr);
    vtj_body_free(body, body_len);
}

/* Copy a JSON string member; false (and an answer sent) when invalid. */
static bool take_string(struct adp_req *r, json_t *v, const char *name,
                        size_t max, char **out)
{
    char msg[128];

    if (!json_is_string(v)) {
        snprintf(msg, sizeof(msg), "%s must be a string", name);
        reject(r, ADP_REJECT_BAD_REQUEST, 400, "bad_request", msg);
        return false;
    }
    if (json_string_length(v) > max) {
        snprintf(msg, sizeof(msg), "%s is longer than %zu bytes", name, max);
        reply_error(r, 422, "too_long", msg, AO_REJECTED);
        return false;
    }
    *out = strdup(json_string_value(v));
    if (!*out) {
        reply_error(r, 503, "out_of_memory", "out of memory", AO_REJECTED);
        return false;
    }
    return true;
}

static void handle_person(struct adp_req *r)
{
    const struct adp_config *cfg = r->gen->cfg;
    struct evbuffer *in = evhttp_request_get_input_buffer(r->http);
    const char *ctype = evhttp_find_header(
        evhttp_request_get_input_headers(r->http), "Content-Type");
    size_t len = evbuffer_get_length(in);
    json_t *doc = NULL, *v;
    json_error_t jerr;
    const char *key;
    char *hetu = NULL, *satu = NULL, *product = NULL;
    unsigned retry;
    struct xr_error err;

    if (authenticate(r) != 0)
        goto out;
    if (!adp_caller_allows(r->caller, ADP_OP_VTJ_PERSON, NULL)) {
        reject(r, ADP_REJECT_FORBIDDEN, 403, "forbidden",
               "this caller may not query persons");
        goto out;
    }
    if (!adp_rate_take(&r->caller->rate, &retry)) {
        r->retry_after_s = retry;
        reject(r, ADP_REJECT_RATE_LIMITED, 429, "rate_limited",
               "request rate limit of this caller exceeded");
        goto out;
    }
    if (ctype && strncasecmp(ctype, "application/json", 16) != 0) {
        reject(r, ADP_REJECT_BAD_REQUEST, 415, "unsupported_media_type",
               "send the query as application/json");
        goto out;
    }
    if (len == 0) {
        reject(r, ADP_REJECT_BAD_REQUEST, 400, "malformed_json",
               "the body is empty; send a JSON object");
        goto out;
    }
    doc = json_loadb((const char *)evbuffer_pullup(in, (ev_ssize_t)len), len,
                     JSON_REJECT_DUPLICATES, &jerr);
    /* The body is parsed: give its buffer back now rather than holding it
     * while the query waits for the security server. */
    evbuffer_drain(in, len);
    if (!doc || !json_is_object(doc)) {
        reject(r, ADP_REJECT_BAD_REQUEST, 400, "malformed_json",
               doc ? "the body must be a JSON object" : jerr.text);
        goto out;
    }
    json_object_foreach(doc, key, v)
    {
        bool ok;
        if (!strcmp(key, "hetu"))
            ok = take_string(r, v, key, 32, &hetu);
        else if (!strcmp(key, "satu"))
            ok = take_string(r, v, key, 32, &satu);
        else if (!strcmp(key, "product"))
            ok = take_string(r, v, key, VTJ_PRODUCT_MAX, &product);
        else if (!strcmp(key, "end_user"))
            ok = take_string(r, v, key, 4 * VTJ_END_USER_MAX_CHARS,
                             &r->end_user);
        else if (!strcmp(key, "purpose"))
            ok = take_string(r, v, key, API_PURPOSE_MAX, &r->purpose);
        else if (!strcmp(key, "billing"))
            ok = take_string(r, v, key, API_BILLING_MAX, &r->billing);
        else {
            char msg[96];
            snprintf(msg, sizeof(msg), "unknown field '%.40s'", key);
            reject(r, ADP_REJECT_BAD_REQUEST, 400, "unknown_field", msg);
            ok = false;
        }
        if (!ok)
            goto out;
    }
    if (!r->end_user || !r->end_user[0]) {
        reply_error(r, 422, "missing_end_user",
                    "end_user (the natural person behind the query) is "
                    "required",
                    AO_REJECTED);
        goto out;
    }
    if (!r->purpose || !r->purpose[0]) {
        reply_error(r, 422, "missing_purpose",
                    "purpose (why the data is needed) is required",
                    AO_REJECTED);
        goto out;
    }
    snprintf(r->product, sizeof(r->product), "%s",
             product ? product : cfg->vtj.product);
    if (!adp_caller_allows(r->caller, ADP_OP_VTJ_PERSON, r->product)) {
        reject(r, ADP_REJECT_FORBIDDEN, 403, "product_not_allowed",
               "this caller may not use that product");
        goto out;
    }
    if ((hetu && strlen(hetu) >= sizeof(r->subject)) ||
        (satu && strlen(satu) >= sizeof(r->subject))) {
        reply_error(r, 422, hetu ? "invalid_hetu" : "invalid_satu",
                    "identifier has the wrong length", AO_REJECTED);
        goto out;
    }
    snprintf(r->subject, sizeof(r->subject), "%s",
             hetu ? hetu : (satu ? satu : ""));
    memset(&r->q, 0, sizeof(r->q));
    r->q.product = r->product;
    r->q.hetu = hetu ? r->subject : NULL;
    r->q.satu = satu ? r->subject : NULL;
    r->q.end_user = r->end_user;
    r->q.billing = r->billing;
    r->q.refuse_temporary = !strcmp(cfg->vtj.service.instance, "FI");
    /* Every input is checked before anything is recorded or sent. */
    if (vtj_query_check(&r->q, &err) != XR_OK) {
        reply_input_error(r, &err);
        goto out;
    }
    upstream_enqueue(r);
out:
    json_decref(doc);
    free(hetu);
    free(satu);
    free(product);
}

/* ---- readiness
 * ------------------------------------------------------------------ */

static void readyz_answer(struct adp_req *r)
{
    struct adp_worker *w = r->w;
    json_t *o = json_object();
    bool audit_ok = adp_auditq_healthy(w->srv->auditq);
    bool ready = audit_ok && w->probe.reachable;

    json_object_set_new(o, "ready", json_boolean(ready));
    json_object_set_new(o, "audit_store",
                        json_string(audit_ok ? "ok" : "failing"));
    json_object_set_new(
        o, "security_server",
        json_string(w->probe.reachable ? "reachable" : w->probe.detail));
    r->body = o;
    r->status = ready ? 200 : 503;
    r->outcome = AO_OK;
    reply_send(r);
}

static void probe_done(struct adp_xfer *x, const struct adp_xfer_result *res,
                       void *ctx)
{
    struct adp_worker *w = ctx;
    struct adp_req *r;

    /* Any HTTP answer, even a fault, shows the SS is there and the TLS
     * (and client certificate) set-up works. */
    w->probe.reachable =
        res->cls == ADP_XFER_OK || res->cls == ADP_XFER_HTTP_STATUS;
    snprintf(w->probe.detail, sizeof(w->probe.detail), "%s",
             adp_xfer_class_name(res->cls));
    w->probe.checked_ms = adp_mono_ms();
    w->probe.running = false;
    w->probe.xfer = NULL;
    adp_xfer_free(x);
    while ((r = w->probe_waiters) != NULL) {
        w->probe_waiters = r->probe_next;
        readyz_answer(r);
    }
}

static void handle_readyz(struct adp_req *r)
{
    struct adp_worker *w = r->w;
    struct adp_xfer_opts opts;
    struct adp_xfer *x = NULL;
    struct adp_curlev *pool;
    struct xr_error err;

    if (w->probe.checked_ms &&
        adp_mono_ms() - w->probe.checked_ms < API_PROBE_TTL_MS) {
        readyz_answer(r);
        return;
    }
    r->probe_next = w->probe_waiters;
    w->probe_waiters = r;
    if (w->probe.running)
        return;
    adp_xfer_opts_from_config(&opts, &r->gen->cfg->ss);
    if (opts.timeout_ms > API_PROBE_TIMEOUT)
        opts.timeout_ms = API_PROBE_TIMEOUT;
    if (opts.connect_timeout_ms > API_PROBE_TIMEOUT)
        opts.connect_timeout_ms = API_PROBE_TIMEOUT;
    opts.max_response_bytes = 65536;
    pool = adp_server_pool(w, &opts);
    if (!pool || adp_xfer_start(pool, &opts, (const uint8_t *)"", 0, probe_done,
                                w, &x, &err) != XR_OK) {
        struct adp_xfer_result res;
        memset(&res, 0, sizeof(res));
        res.cls = ADP_XFER_INTERNAL;
        w->probe.running = true;
        probe_done(NULL, &res, w);
        return;
    }
    w->probe.xfer = x;
    w->probe.running = true;
}

static void handle_metrics(struct adp_req *r)
{
    struct evbuffer *out = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->http);
    struct adp_worker *w = r->w;

    if (!out || adp_metrics_render(w->srv->metrics, out) != XR_OK) {
        if (out)
            evbuffer_free(out);
        reply_error(r, 503, "out_of_memory", "cannot render metrics", AO_OK);
        return;
    }
    evhttp_add_header(h, "Content-Type", ADP_METRICS_CONTENT_TYPE);
    send_reply(w, r->http, 200, "OK", out);
    evbuffer_free(out);
    adp_metrics_request(w->metrics, r->route, 200, AO_OK,
                        (uint64_t)(adp_mono_us() - r->t_start_us));
    if (r->in_flight) {
        w->in_flight--;
        adp_metrics_in_flight_add(w->metrics, -1);
    }
    req_free(r);
}

/* ---- routing
 * ---------------------------------------------------------------------- */

void adp_api_handle(struct evhttp_request *http, void *arg)
{
    struct adp_worker *w = arg;
    struct adp_req *r;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(http);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(http);

    r = calloc(1, sizeof(*r));
    if (!r) {
        evhttp_send_error(http, 503, "out of memory");
        return;
    }
    adp_server_worker_idle_check(w); /* pick up a reload first */
    r->w = w;
    r->gen = adp_gen_ref(w->gen);
    r->http = http;
    r->t_start_us = adp_mono_us();
    r->upstream_us = -1;
    r->route = ADP_ROUTE_UNMATCHED;
    snprintf(r->id, sizeof(r->id), "%lx-%02x-%06llx", w->srv->pid, w->id,
             (unsigned long long)++w->req_seq);
    w->in_flight++;
    r->in_flight = true;
    adp_metrics_in_flight_add(w->metrics, 1);
    if (!path) {
        reject(r, ADP_REJECT_BAD_REQUEST, 400, "bad_request", "bad URI");
        return;
    }
    if (!strcmp(path, API_PERSON_PATH)) {
        r->route = ADP_ROUTE_VTJ_PERSON;
        r->kind = RK_PERSON;
        if (cmd != EVHTTP_REQ_POST) {
            reject(r, ADP_REJECT_BAD_REQUEST, 405, "method_not_allowed",
                   "use POST");
        } else if (w->draining) {
            r->retry_after_s = 1;
            reply_error(r, 503, "shutting_down", "the service is shutting down",
                        AO_SHUTTING_DOWN);
        } else if (w->in_flight > max_in_flight(w)) {
            r->retry_after_s = r->gen->cfg->api.retry_after_s;
            reject(r, ADP_REJECT_OVERLOADED, 503, "overloaded",
                   "too many queries in flight; retry later");
        } else {
            handle_person(r);
        }
        return;
    }
    if (cmd != EVHTTP_REQ_GET) {
        reject(r, ADP_REJECT_BAD_REQUEST, 405, "method_not_allowed", "use GET");
        return;
    }
    if (!strcmp(path, "/healthz")) {
        json_t *o = json_object();
        r->route = ADP_ROUTE_HEALTHZ;
        json_object_set_new(o, "status", json_string("ok"));
        r->body = o;
        r->status = 200;
        r->outcome = AO_OK;
        reply_send(r);
    } else if (!strcmp(path, "/readyz")) {
        r->route = ADP_ROUTE_READYZ;
        r->kind = RK_READYZ;
        handle_readyz(r);
    } else if (!strcmp(path, "/metrics")) {
        r->route = ADP_ROUTE_METRICS;
        handle_metrics(r);
    } else {
        reply_error(r, 404, "not_found", "no such endpoint", AO_REJECTED);
    }
}

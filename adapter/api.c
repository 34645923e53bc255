/*
 * The HTTP API of the daemon (api.h): routing, caller authentication,
 * replies and their accounting, the verdict table, readiness and
 * metrics. The routes that run queries are in api_person.c and
 * api_soap.c (api_internal.h). Runs on one worker's event loop; nothing
 * here blocks.
 *
 * (evhttp's on-complete callback is not where a request is freed:
 * libevent 2.1 does not call it when the client went away before the
 * reply, so it cannot be the only place that frees.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <xroad/xroad.h>

#include "api_internal.h"
#include "jsonout.h"
#include "log.h"
#include "services/soap.h"
#include "services/vtj_call.h"
#include "upstream.h"
#include "util.h"

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
    case 431:
        return "Request Header Fields Too Large";
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

bool adp_api_idle(const struct adp_api *api)
{
    return api->in_flight == 0 && api->writing == 0 && api->audit_waiting == 0;
}

/* evhttp wrote a reply out: the connection is idle again, and a draining
 * worker may stop once all are. */
static void on_reply_written(struct evhttp_request *http, void *arg)
{
    struct adp_api *api = arg;

    adp_conns_answered(api->host.conns, evhttp_request_get_connection(http));
    if (api->writing > 0)
        api->writing--;
    api->host.idle(api->host.ctx);
}

/*
 * evhttp puts the head and the body into the connection's output as
 * separate chunks, and libevent's TLS bufferevent writes each chunk as its
 * own TLS record and write(2) once the socket is writable: two packets,
 * and two wake-ups of the caller, per answer. Made contiguous here, before
 * the loop turn that writes it, the answer goes out as one record in one
 * write, as nginx's ssl_buffer_size does. Plain connections need nothing:
 * they write every chunk with one writev(2).
 */
static void coalesce_tls_reply(struct evbuffer *out)
{
    size_t len = evbuffer_get_length(out);

    if (len > API_TLS_RECORD)
        len = API_TLS_RECORD;
    if (len && evbuffer_get_contiguous_space(out) < len)
        (void)evbuffer_pullup(out, (ev_ssize_t)len);
}

/*
 * Hand a reply to evhttp. evhttp writes it on a later loop turn; while it
 * does, the API counts it so that a drain does not end the loop (and
 * close the connection) under it. When the client has already gone there
 * is no connection, evhttp frees the request at once and no completion
 * comes.
 */
static void send_reply(struct adp_api *api, struct evhttp_request *http,
                       int status, const char *reason, struct evbuffer *out)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(http);
    struct bufferevent *bev = NULL;

    if (evcon) {
        api->writing++;
        evhttp_request_set_on_complete_cb(http, on_reply_written, api);
        bev = evhttp_connection_get_bufferevent(evcon);
    }
    evhttp_send_reply(http, status, reason, out);
    if (bev && bufferevent_openssl_get_ssl(bev))
        coalesce_tls_reply(bufferevent_get_output(bev));
}

static void req_free(struct adp_req *r)
{
    if (!r)
        return;
    adp_query_free(r->query);
    adp__api_services_free(r->services);
    vtj_call_free(r->vtj);
    soap_call_free(r->soap);
    xr_mime_free(r->mime);
    json_decref(r->body);
    free(r->text.p);
    if (r->raw)
        evbuffer_free(r->raw);
    free(r->raw_type);
    free(r->service);
    free(r->end_user);
    free(r->purpose);
    free(r->subject);
    free(r->path);
    adp_gen_unref(r->gen);
    free(r);
}

/* The request is over: in-flight accounting, then free it. */
static void req_end(struct adp_req *r)
{
    struct adp_api *api = r->api;

    if (r->in_flight) {
        api->in_flight--;
        adp_metrics_in_flight_add(api->host.metrics, -1);
    }
    req_free(r);
    api->host.idle(api->host.ctx);
}

/* evbuffer cleanup for a reference to a malloc()ed answer text. */
static void free_text(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)(uintptr_t)data);
}

static void log_access(const struct adp_req *r, const char *method, int64_t dur)
{
    const struct adp_verdict *v = r->verdict;
    struct adp_log_req lr;

    memset(&lr, 0, sizeof(lr));
    lr.req_id = r->id;
    lr.caller = r->caller ? r->caller->name : NULL;
    lr.method = method;
    lr.path = r->path;
    lr.status = r->status;
    lr.outcome = outcome_name(r->outcome);
    lr.fault_origin = r->fault_origin;
    /* Only a query that was sent has an id the SS knows. */
    lr.xroad_id = v && v->sent ? v->message_id : NULL;
    lr.duration_us = dur;
    lr.upstream_us = v ? v->upstream_us : -1;
    lr.audit_us = v ? v->audit_us : -1;
    adp_log_request(&lr);
}

/*
 * The JSON body as XML, for callers of the generic SOAP route that asked
 * for XML: <error> (or <answer>) in vayla's namespace, one element per
 * member, arrays as repeated elements. Member names are vayla's own
 * ([a-z_]); values are escaped, and characters XML 1.0 cannot carry
 * become U+FFFD.
 */
#define API_XML_NS    "urn:x-vayla:api:1"
#define API_XML_DEPTH 8

static void xml_text(struct evbuffer *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '&')
            evbuffer_add(out, "&amp;", 5);
        else if (c == '<')
            evbuffer_add(out, "&lt;", 4);
        else if (c == '>')
            evbuffer_add(out, "&gt;", 4);
        else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            evbuffer_add(out, "\xef\xbf\xbd", 3);
        else
            evbuffer_add(out, s, 1);
    }
}

static void xml_member(struct evbuffer *out, const char *name, json_t *v,
                       unsigned depth)
{
    const char *key;
    json_t *m;
    size_t i;

    if (depth > API_XML_DEPTH || json_is_null(v))
        return;
    if (json_is_array(v)) {
        json_array_foreach(v, i, m) xml_member(out, name, m, depth + 1);
        return;
    }
    evbuffer_add_printf(out, "<%s>", name);
    if (json_is_object(v)) {
        json_object_foreach(v, key, m) xml_member(out, key, m, depth + 1);
    } else if (json_is_string(v)) {
        xml_text(out, json_string_value(v));
    } else if (json_is_integer(v)) {
        evbuffer_add_printf(out, "%lld", (long long)json_integer_value(v));
    } else if (json_is_boolean(v)) {
        evbuffer_add_printf(out, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_real(v)) {
        evbuffer_add_printf(out, "%.17g", json_real_value(v));
    }
    evbuffer_add_printf(out, "</%s>", name);
}

static void xml_body(struct evbuffer *out, const char *root, json_t *o)
{
    const char *key;
    json_t *m;

    evbuffer_add_printf(out,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<%s xmlns=\"" API_XML_NS "\">",
                        root);
    json_object_foreach(o, key, m) xml_member(out, key, m, 1);
    evbuffer_add_printf(out, "</%s>\n", root);
}

/*
 * Hand the JSON text to the output buffer without a copy. Text that could
 * not be written (out of memory) turns the answer into a 503 with a fixed
 * body instead of an empty one with the intended status.
 */
static void put_text(struct adp_req *r, struct evbuffer *out, char *text,
                     size_t len)
{
    static const char oom[] = "{\"code\":\"out_of_memory\",\"message\":"
                              "\"out of memory writing the answer\"}\n";

    if (text && evbuffer_add_reference(out, text, len, free_text, NULL) == 0)
        return;
    free(text);
    r->status = 503; /* as every internal failure (docs/openapi.yaml) */
    evbuffer_add(out, oom, sizeof(oom) - 1);
}

/* The body: raw bytes, the JSON object as XML, or JSON. */
static const char *put_body(struct adp_req *r, struct evbuffer *out)
{
    char *text = NULL;
    size_t text_len = 0;

    if (r->raw) {
        evbuffer_add_buffer(out, r->raw);
        return r->raw_type ? r->raw_type : "application/octet-stream";
    }
    if (r->text.n > 0) {
        JW_LIT(&r->text, ",\"request_id\":");
        jw_string(&r->text, r->id, strlen(r->id));
        jw_putc(&r->text, '}');
        text = jw_finish_line(&r->text, &text_len);
        memset(&r->text, 0, sizeof(r->text)); /* handed over below */
        put_text(r, out, text, text_len);
        return "application/json";
    }
    if (!r->body)
        return "application/json";
    json_object_set_new(r->body, "request_id", json_string(r->id));
    if (r->xml) {
        xml_body(out, r->status >= 400 ? "error" : "answer", r->body);
        return "application/xml; charset=UTF-8";
    }
    text = adp_json_dump_line(r->body, &text_len);
    put_text(r, out, text, text_len);
    return "application/json";
}

void adp__api_reply_send(struct adp_req *r)
{
    struct adp_api *api = r->api;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->http);
    struct evbuffer *out = evhttp_request_get_output_buffer(r->http);
    int64_t dur = adp_mono_us() - r->t_start_us;
    /* Read before the reply: evhttp may free the request with it. */
    const char *method =
        evhttp_request_get_command(r->http) == EVHTTP_REQ_GET ? "GET" : "POST";
    char ra[16];

    evhttp_add_header(h, "Content-Type", put_body(r, out));
    evhttp_add_header(h, "X-Request-Id", r->id);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (r->retry_after_s) {
        snprintf(ra, sizeof(ra), "%u", r->retry_after_s);
        evhttp_add_header(h, "Retry-After", ra);
    }
    if (r->status == 401)
        evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"vayla\"");
    if (r->close)
        evhttp_add_header(h, "Connection", "close");
    send_reply(api, r->http, r->status, reason_phrase(r->status), NULL);
    adp_metrics_request(api->host.metrics, r->route, r->status, r->outcome,
                        (uint64_t)dur);
    if (r->kind == RK_QUERY)
        log_access(r, method, dur);
    req_end(r);
}

json_t *adp__api_error_body(const char *code, const char *message)
{
    json_t *o = json_object();

    if (o) {
        json_object_set_new(o, "code", json_string(code));
        json_object_set_new(o, "message", json_string(message));
    }
    return o;
}

void adp__api_reply_error(struct adp_req *r, int status, const char *code,
                          const char *message, unsigned outcome)
{
    json_decref(r->body);
    r->body = adp__api_error_body(code, message);
    free(r->text.p);
    memset(&r->text, 0, sizeof(r->text));
    r->status = status;
    r->outcome = outcome;
    if (r->raw) {
        evbuffer_free(r->raw);
        r->raw = NULL;
    }
    adp__api_reply_send(r);
}

void adp__api_reply_input_error(struct adp_req *r, const struct xr_error *err)
{
    if (err->code == XR_ENOMEM)
        adp__api_reply_error(r, 503, "out_of_memory", "out of memory",
                             AO_REJECTED);
    else
        adp__api_reply_error(r, 422, err->reason, err->msg, AO_REJECTED);
}

void adp__api_reject(struct adp_req *r, enum adp_metrics_reject why, int status,
                     const char *code, const char *message)
{
    adp_metrics_rejected(r->api->host.metrics, why);
    adp__api_reply_error(r, status, code, message, AO_REJECTED);
}

/* ---- the audit store as the pipeline sees it ------------------------------
 */

static void on_audit(const struct adp_auditq_done *d, void *arg)
{
    struct adp_api *api = arg;

    api->audit_waiting--;
    adp_query_on_durable(d->ctx, d->ok, d->msg);
}

static enum xr_status audit_intent(void *ctx, struct adp_query *q,
                                   const struct adp_audit_intent *in,
                                   struct xr_error *err)
{
    struct adp_api *api = ctx;
    enum xr_status rc;

    rc = adp_auditq_intent(api->host.auditq, in,
                           adp_mono_ms() + API_INTENT_WAIT_MS, &api->sink, q,
                           err);
    if (rc == XR_OK)
        api->audit_waiting++;
    return rc;
}

static enum xr_status audit_outcome(void *ctx, struct adp_query *q,
                                    const struct adp_audit_outcome *o,
                                    struct xr_error *err)
{
    struct adp_api *api = ctx;
    enum xr_status rc;

    rc = adp_auditq_outcome(api->host.auditq, o,
                            adp_mono_ms() + API_OUTCOME_WAIT_MS, &api->sink, q,
                            err);
    if (rc == XR_OK)
        api->audit_waiting++;
    return rc;
}

static void audit_close(void *ctx, const struct adp_audit_outcome *o)
{
    struct adp_api *api = ctx;
    struct xr_error err;

    if (adp_auditq_outcome(api->host.auditq, o,
                           adp_mono_ms() + API_OUTCOME_WAIT_MS, NULL, NULL,
                           &err) != XR_OK)
        adp_log_err("cannot close a failed intent: %s", err.msg);
}

/* ---- authentication ----------------------------------------------------- */

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
    bool token_given = false;
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
            token_given = true;
            r->caller =
                adp_caller_by_token(cfg->callers, cfg->ncallers, t, strlen(t));
        }
    }
    if (!r->caller && token_given) {
        /* A wrong token is refused even where the peer's uid would do:
         * a client that sends one means to be that caller, and falling
         * back would hide its misconfiguration (or a guess). */
        adp__api_reject(r, ADP_REJECT_UNAUTHENTICATED, 401, "unauthenticated",
                        "the bearer token matches no caller");
        return -1;
    }
    if (!r->caller && r->conn.listener == ADP_LISTENER_UNIX &&
        r->conn.has_peer_cred)
        r->caller =
            adp_caller_by_peer(cfg->callers, cfg->ncallers,
                               (unsigned)r->conn.uid, (unsigned)r->conn.gid);
    if (!r->caller) {
        adp__api_reject(
            r, ADP_REJECT_UNAUTHENTICATED, 401, "unauthenticated",
            "no valid client certificate, bearer token or (on the UNIX "
            "socket) peer uid/gid");
        return -1;
    }
    return 0;
}

bool adp__api_admit(struct adp_req *r, enum adp_op op)
{
    unsigned retry;

    if (authenticate(r) != 0)
        return false;
    if (!adp_caller_allows(r->caller, op, NULL)) {
        adp__api_reject(r, ADP_REJECT_FORBIDDEN, 403, "forbidden",
                        "this caller may not use this route (its allow "
                        "list)");
        return false;
    }
    if (!adp_rate_take(&r->caller->rate, &retry)) {
        r->retry_after_s = retry;
        adp__api_reject(r, ADP_REJECT_RATE_LIMITED, 429, "rate_limited",
                        "request rate limit of this caller exceeded");
        return false;
    }
    return true;
}

/* ---- the verdict table ---------------------------------------------------
 */

/*
 * The one place where a query verdict becomes an HTTP status and error
 * code (docs/api.md, "Status codes and error codes"). A NULL code means:
 * the module's outcome name (no data), the transport class, or the
 * reason of the error.
 */
static const struct {
    int status;
    const char *code;
} verdicts[ADP_VERDICT_COUNT] = {
    [ADP_VERDICT_DATA] = {200, NULL},
    [ADP_VERDICT_NO_DATA] = {404, NULL},
    [ADP_VERDICT_SERVICE_ERROR] = {502, "vtj_error"},
    [ADP_VERDICT_FAULT] = {502, "xroad_fault"},
    [ADP_VERDICT_INVALID] = {502, "invalid_response"},
    [ADP_VERDICT_TRANSPORT] = {502, NULL},
    [ADP_VERDICT_REJECTED] = {422, NULL},
    [ADP_VERDICT_AUDIT] = {503, "audit_unavailable"},
    [ADP_VERDICT_INTERNAL] = {503, "internal_error"},
};

int adp_api_verdict_status(const struct adp_verdict *v, const char **code)
{
    int status = verdicts[v->cls].status;

    *code = verdicts[v->cls].code;
    switch (v->cls) {
    case ADP_VERDICT_DATA:
        break;
    case ADP_VERDICT_NO_DATA:
        *code = v->outcome;
        break;
    case ADP_VERDICT_TRANSPORT:
        *code = adp_xfer_class_name(v->transport);
        if (v->transport == ADP_XFER_TIMEOUT)
            status = 504;
        break;
    case ADP_VERDICT_REJECTED:
        *code = v->err->reason ? v->err->reason : "rejected";
        break;
    case ADP_VERDICT_INTERNAL:
        if (v->err->code == XR_ENOMEM)
            *code = "out_of_memory";
        break;
    case ADP_VERDICT_SERVICE_ERROR:
    case ADP_VERDICT_FAULT:
    case ADP_VERDICT_INVALID:
    case ADP_VERDICT_AUDIT:
        break;
    }
    return status;
}

/* Metrics/log outcome index of a verdict. */
unsigned adp__api_verdict_outcome(const struct adp_verdict *v,
                                  unsigned data_outcome)
{
    switch (v->cls) {
    case ADP_VERDICT_DATA:
    case ADP_VERDICT_NO_DATA:
    case ADP_VERDICT_SERVICE_ERROR:
        return data_outcome;
    case ADP_VERDICT_FAULT:
        return AO_FAULT;
    case ADP_VERDICT_INVALID:
        return AO_INVALID_RESPONSE;
    case ADP_VERDICT_TRANSPORT:
        return AO_TRANSPORT_ERROR;
    case ADP_VERDICT_AUDIT:
        return AO_AUDIT_UNAVAILABLE;
    case ADP_VERDICT_REJECTED:
    case ADP_VERDICT_INTERNAL:
        return AO_REJECTED;
    }
    return AO_REJECTED;
}

json_t *adp__api_failed_body(const struct adp_verdict *v, const char *code)
{
    json_t *body = NULL;

    switch (v->cls) {
    case ADP_VERDICT_FAULT:
        body = adp__api_error_body(code,
                                   "the X-Road exchange failed; origin tells "
                                   "which side");
        json_object_set_new(body, "fault", adp_fault_json(v->fault));
        break;
    case ADP_VERDICT_INVALID:
        body = adp__api_error_body(code, "the security server's answer failed "
                                         "validation");
        json_object_set_new(body, "error", adp_error_json(v->err));
        break;
    case ADP_VERDICT_AUDIT:
        body = adp__api_error_body(
            code, v->sent ? "the audit store cannot record the "
                            "outcome; the answer is withheld"
                          : "the audit store cannot record this "
                            "query; nothing was sent to the "
                            "security server");
        break;
    case ADP_VERDICT_TRANSPORT:
    case ADP_VERDICT_REJECTED:
    case ADP_VERDICT_INTERNAL:
    case ADP_VERDICT_DATA:
    case ADP_VERDICT_NO_DATA:
    case ADP_VERDICT_SERVICE_ERROR:
        body = adp__api_error_body(code, v->err->msg);
        break;
    }
    if (body && v->message_id)
        json_object_set_new(body, "message_id", json_string(v->message_id));
    return body;
}

void adp__api_verdict_note(struct adp_req *r, const struct adp_verdict *v)
{
    if (v->cls == ADP_VERDICT_FAULT) {
        r->fault_origin = xr_fault_origin_name(v->fault->origin);
        adp_metrics_fault(r->api->host.metrics, v->fault->origin);
    } else if (v->cls == ADP_VERDICT_TRANSPORT) {
        /* The access line says transport_error; this says which and why
         * (transport messages carry no personal data or secrets). */
        adp_log_warn("request %s: %s: %s", r->id,
                     adp_xfer_class_name(v->transport), v->err->msg);
    } else if (v->cls == ADP_VERDICT_AUDIT || v->cls == ADP_VERDICT_INTERNAL) {
        adp_log_err("request %s: %s: %s", r->id, adp_verdict_class_name(v->cls),
                    v->err->msg);
    }
}

void adp__api_query_params(struct adp_req *r, adp_query_done_fn *done,
                           struct adp_query_params *qp)
{
    const struct adp_config *cfg = r->gen->cfg;

    memset(qp, 0, sizeof(*qp));
    qp->client =
        r->caller->has_client ? &r->caller->client : &cfg->xroad.client;
    qp->security_server =
        cfg->xroad.has_security_server ? &cfg->xroad.security_server : NULL;
    qp->user_id = r->end_user;
    qp->issue = r->purpose;
    qp->caller = r->caller->name; /* lives in r->gen */
    qp->ss = &cfg->ss;
    qp->net = adp_upstream_net(r->api->host.up);
    qp->audit = &r->api->audit;
    qp->done = done;
    qp->done_ctx = r;
}

bool adp__api_is_media(const char *ctype, const char *media)
{
    size_t n = strlen(media);
    const char *p;

    if (!ctype || strncasecmp(ctype, media, n) != 0)
        return false;
    p = ctype + n;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '\0' || *p == ';';
}

/* ---- readiness -----------------------------------------------------------
 */

static void readyz_answer(struct adp_req *r)
{
    struct adp_api *api = r->api;
    json_t *o = json_object();
    bool audit_ok = adp_auditq_healthy(api->host.auditq);
    bool ready = audit_ok && api->probe.reachable;

    json_object_set_new(o, "ready", json_boolean(ready));
    json_object_set_new(o, "audit_store",
                        json_string(audit_ok ? "ok" : "failing"));
    json_object_set_new(
        o, "security_server",
        json_string(api->probe.reachable ? "reachable" : api->probe.detail));
    r->body = o;
    r->status = ready ? 200 : 503;
    r->outcome = AO_OK;
    adp__api_reply_send(r);
}

static void probe_done(struct adp_xfer *x, const struct adp_xfer_result *res,
                       void *ctx)
{
    struct adp_api *api = ctx;
    struct adp_req *r;

    /* Any HTTP answer, even a fault, shows the SS is there and the TLS
     * (and client certificate) set-up works. */
    api->probe.reachable =
        res->cls == ADP_XFER_OK || res->cls == ADP_XFER_HTTP_STATUS;
    snprintf(api->probe.detail, sizeof(api->probe.detail), "%s",
             adp_xfer_class_name(res->cls));
    api->probe.checked_ms = adp_mono_ms();
    api->probe.running = false;
    api->probe.xfer = NULL;
    adp_xfer_free(x);
    while ((r = api->probe_waiters) != NULL) {
        api->probe_waiters = r->probe_next;
        readyz_answer(r);
    }
}

/* An empty POST: any HTTP answer proves TCP, TLS and the certificate. */
static const struct adp_upstream_req probe_req = {
    .body = (const uint8_t *)"",
    .timeout_ms_max = API_PROBE_TIMEOUT,
    .max_response_bytes = 65536,
};

static void handle_readyz(struct adp_req *r)
{
    struct adp_api *api = r->api;
    struct adp_xfer *x = NULL;
    struct xr_error err;

    if (api->probe.checked_ms &&
        adp_mono_ms() - api->probe.checked_ms < API_PROBE_TTL_MS) {
        readyz_answer(r);
        return;
    }
    r->probe_next = api->probe_waiters;
    api->probe_waiters = r;
    if (api->probe.running)
        return;
    api->probe.running = true;
    if (adp_upstream_exchange(api->host.up, &r->gen->cfg->ss, &probe_req,
                              probe_done, api, &x, &err) != XR_OK) {
        struct adp_xfer_result res;
        memset(&res, 0, sizeof(res));
        res.cls = ADP_XFER_INTERNAL;
        probe_done(NULL, &res, api);
        return;
    }
    api->probe.xfer = x;
}

static void handle_metrics(struct adp_req *r)
{
    struct adp_api *api = r->api;
    struct evbuffer *out = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->http);

    if (!out || adp_metrics_render(api->host.registry, out) != XR_OK) {
        if (out)
            evbuffer_free(out);
        adp__api_reply_error(r, 503, "out_of_memory", "cannot render metrics",
                             AO_OK);
        return;
    }
    evhttp_add_header(h, "Content-Type", ADP_METRICS_CONTENT_TYPE);
    send_reply(api, r->http, 200, "OK", out);
    evbuffer_free(out);
    adp_metrics_request(api->host.metrics, r->route, 200, AO_OK,
                        (uint64_t)(adp_mono_us() - r->t_start_us));
    req_end(r);
}

void adp__api_park(struct adp_req *r, bool body)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(r->http);
    struct evkeyval *kv, *next;

    for (kv = h->tqh_first; kv; kv = next) {
        next = kv->next.tqe_next;
        /* The first header of this name is kv itself: the earlier ones
         * are kept ones or gone. */
        if (strcasecmp(kv->key, "Connection") &&
            strcasecmp(kv->key, "Proxy-Connection"))
            (void)evhttp_remove_header(h, kv->key);
    }
    if (body) {
        struct evbuffer *in = evhttp_request_get_input_buffer(r->http);
        (void)evbuffer_drain(in, evbuffer_get_length(in));
    }
}

/* ---- routing -------------------------------------------------------------
 */

static unsigned max_in_flight(const struct adp_api *api,
                              const struct adp_gen *g)
{
    unsigned n = g->cfg->api.max_in_flight / api->host.nworkers;
    return n > 0 ? n : 1;
}

/*
 * The routes that run queries: POST only, refused while draining and
 * beyond the worker's share of [api] max_in_flight, then the handler.
 * A later GET route that runs queries (GET /v1/xroad/services) passes
 * `get`.
 */
static bool query_admitted(struct adp_req *r, enum evhttp_cmd_type cmd,
                           bool get, enum adp_metrics_route route,
                           const char *path)
{
    struct adp_api *api = r->api;

    r->route = route;
    r->kind = RK_QUERY;
    r->path = strndup(path, API_PATH_LOG_MAX - 1); /* NULL: logged as - */
    if (cmd != (get ? EVHTTP_REQ_GET : EVHTTP_REQ_POST)) {
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 405, "method_not_allowed",
                        get ? "use GET" : "use POST");
    } else if (api->host.draining(api->host.ctx)) {
        r->retry_after_s = 1;
        adp__api_reply_error(r, 503, "shutting_down",
                             "the service is shutting down", AO_SHUTTING_DOWN);
    } else if (api->in_flight > max_in_flight(api, r->gen)) {
        r->retry_after_s = r->gen->cfg->api.retry_after_s;
        adp__api_reject(r, ADP_REJECT_OVERLOADED, 503, "overloaded",
                        "too many queries in flight; retry later");
    } else {
        return true;
    }
    return false;
}

void adp_api_handle(struct evhttp_request *http, void *arg)
{
    struct adp_api *api = arg;
    struct adp_req *r;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(http);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(http);

    r = calloc(1, sizeof(*r));
    if (!r) {
        evhttp_send_error(http, 503, "out of memory");
        return;
    }
    r->api = api;
    r->gen = adp_gen_ref(api->host.gen(api->host.ctx));
    r->http = http;
    r->t_start_us = adp_mono_us();
    r->route = ADP_ROUTE_UNMATCHED;
    snprintf(r->id, sizeof(r->id), "%lx-%02x-%06llx", api->host.pid,
             api->host.worker_id, (unsigned long long)++api->req_seq);
    api->in_flight++;
    r->in_flight = true;
    adp_metrics_in_flight_add(api->host.metrics, 1);
    if (evhttp_request_get_connection(http))
        (void)adp_conns_dispatched(
            api->host.conns, evhttp_request_get_connection(http), &r->conn);
    if (r->conn.bad_framing) {
        /* The head is not what a strict parser reads the same way: no
         * answer but this one, and the connection goes (conn.h). */
        r->close = true;
        if (r->conn.bad_status == 431)
            adp__api_reject(r, ADP_REJECT_TOO_LARGE, 431, "header_too_large",
                            r->conn.why);
        else
            adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 400, "bad_request",
                            r->conn.why);
        return;
    }
    if (!path) {
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 400, "bad_request",
                        "bad URI");
        return;
    }
    if (!strcmp(path, API_PERSON_PATH)) {
        if (query_admitted(r, cmd, false, ADP_ROUTE_VTJ_PERSON, path))
            adp__api_person(r);
        return;
    }
    if (!strncmp(path, API_SOAP_PREFIX, strlen(API_SOAP_PREFIX))) {
        if (query_admitted(r, cmd, false, ADP_ROUTE_XROAD_SOAP, path))
            adp__api_soap(r, path + strlen(API_SOAP_PREFIX));
        return;
    }
    if (!strncmp(path, API_PROVE_PREFIX, strlen(API_PROVE_PREFIX))) {
        if (query_admitted(r, cmd, true, ADP_ROUTE_AUDIT_PROVE, path))
            adp__api_prove(r, path + strlen(API_PROVE_PREFIX));
        return;
    }
    if (!strcmp(path, API_SERVICES_PATH)) {
        if (query_admitted(r, cmd, true, ADP_ROUTE_XROAD_SERVICES, path))
            adp__api_services(r);
        return;
    }
    if (cmd != EVHTTP_REQ_GET) {
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 405, "method_not_allowed",
                        "use GET");
        return;
    }
    if (!strcmp(path, "/healthz")) {
        json_t *o = json_object();
        r->route = ADP_ROUTE_HEALTHZ;
        json_object_set_new(o, "status", json_string("ok"));
        r->body = o;
        r->status = 200;
        r->outcome = AO_OK;
        adp__api_reply_send(r);
    } else if (!strcmp(path, "/readyz")) {
        r->route = ADP_ROUTE_READYZ;
        r->kind = RK_READYZ;
        handle_readyz(r);
    } else if (!strcmp(path, "/metrics")) {
        r->route = ADP_ROUTE_METRICS;
        handle_metrics(r);
    } else {
        adp__api_reply_error(r, 404, "not_found", "no such endpoint",
                             AO_REJECTED);
    }
}

/* ---- life cycle ----------------------------------------------------------
 */

enum xr_status adp_api_new(const struct adp_api_host *host,
                           struct adp_api **out, struct xr_error *err)
{
    struct adp_api *api = calloc(1, sizeof(*api));
    enum xr_status rc;

    *out = NULL;
    if (!api)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    api->host = *host;
    api->audit.ctx = api;
    api->audit.intent = audit_intent;
    api->audit.outcome = audit_outcome;
    api->audit.close = audit_close;
    rc = adp_auditq_sink_init(&api->sink, host->base, on_audit, api, err);
    if (rc != XR_OK) {
        free(api);
        return rc;
    }
    api->sink_ready = true;
    *out = api;
    return XR_OK;
}

void adp_api_free(struct adp_api *api)
{
    if (!api)
        return;
    adp_xfer_free(api->probe.xfer);
    adp__api_prove_orphan_all(api);
    if (api->sink_ready)
        adp_auditq_sink_cleanup(&api->sink);
    free(api);
}

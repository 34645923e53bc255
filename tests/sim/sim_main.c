/*
 * vayla-sim: options, listeners, the X-Road request pipeline and the
 * control endpoint. See docs/simulator.md.
 *
 * Pipeline for one SOAP request, in the order a client's security server
 * applies its checks (ClientMessageProcessor, MessageProcessorBase):
 *   method POST -> Content-Type -> SOAPAction -> SOAP parse and header
 *   rules (libxroad) -> client registered -> IS authentication (connection
 *   type, IS certificates) -> provider known -> service known -> access
 *   right -> fault injection -> service.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "sim.h"

#define OVERSIZE_BYTES (40ull * 1024ull * 1024ull)
#define DRIP_TICK_MS   250u

struct sim {
    struct sim_conf conf;
    struct event_base *base;
    SSL_CTX *ssl_ctx;
    struct sim_http_server *https, *http, *control;
    int https_port, http_port, control_port;
    struct sim_fault fault; /* current fault injection */
    struct sim_msglog *log;
    struct sim_vtj *vtj;
    struct sim_opmon *opmon;
    /*
     * The request being answered (one at a time: the handler answers
     * before it returns): what operational monitoring records about it.
     * hdr is NULL until the request's header has been read; requests
     * without one leave no record.
     */
    struct {
        const struct xr_header *hdr;
        size_t soap_len;
        unsigned attachments;
    } cur;
    struct sim_asic *asic; /* signed message log, NULL without [asic] */
};

/* ---- replies ---- */

/* A message id fit for a log line: printable ASCII only, capped. */
static const char *log_id(const char *id, char *buf, size_t size)
{
    size_t n = 0;

    if (!id)
        return "-";
    for (; *id && n + 1 < size && n < 80; id++)
        buf[n++] = (*id >= 0x20 && *id < 0x7f) ? *id : '?';
    buf[n] = '\0';
    return buf;
}

/* What the security server says happened (operational monitoring). */
struct result {
    bool succeeded;
    const char *fault_code; /* NULL unless a fault */
    const char *fault_string;
    size_t soap_len; /* the answer's SOAP part (0: the whole body) */
    unsigned attachments;
};

/* Record the current exchange, if its header was read. */
static void record(struct sim *sim, const struct sim_http_req *req,
                   const struct result *r, size_t body_len)
{
    struct sim_opmon_exchange x;

    if (!sim->cur.hdr)
        return;
    memset(&x, 0, sizeof(x));
    x.hdr = sim->cur.hdr;
    x.request_in_ms = req->recv_ms;
    x.request_size = sim->cur.soap_len;
    x.request_mime_size = req->body_len;
    x.request_attachments = sim->cur.attachments;
    x.response_size = r->soap_len ? r->soap_len : body_len;
    x.response_mime_size = body_len;
    x.response_attachments = r->attachments;
    x.succeeded = r->succeeded;
    x.fault_code = r->fault_code;
    x.fault_string = r->fault_string;
    x.internal_ip = sim->conf.listen;
    x.xroad_version = sim->conf.style == SIM_STYLE_SNAKE ? "7.8.0" : "7.7.0";
    sim_opmon_add(sim->opmon, &x);
}

/* Log the exchange, record it, then send. */
static void reply_logged(struct sim *sim, struct sim_http_conn *conn,
                         const struct sim_http_req *req, const char *id,
                         int status, const char *ctype, const uint8_t *body,
                         size_t len, const struct sim_http_wire *wire,
                         const char *outcome, const struct result *r)
{
    char idbuf[96];

    sim_msglog_add(sim->log, id, req->body, req->body_len, body, len, outcome);
    if (r)
        record(sim, req, r, len);
    sim_log("%s %s -> %d %s", req->peer_addr, log_id(id, idbuf, sizeof(idbuf)),
            status, outcome);
    sim_http_reply(conn, status, ctype ? ctype : "text/xml; charset=UTF-8",
                   body, len, wire);
}

/* A fault with `code` used as given (already in its final spelling). */
static void reply_fault_exact(struct sim *sim, struct sim_http_conn *conn,
                              const struct sim_http_req *req, const char *id,
                              int status, const char *code, const char *text)
{
    struct result r = {false, code, text, 0, 0};
    char outcome[200];
    char *xml = NULL;
    size_t len = 0;

    snprintf(outcome, sizeof(outcome), "fault %.150s", code);
    if (sim_soap_fault(code, text, &xml, &len) != 0) {
        sim_log("cannot build fault %.150s", code);
        sim_http_drop(conn);
        return;
    }
    reply_logged(sim, conn, req, id, status, NULL, (const uint8_t *)xml, len,
                 NULL, outcome, &r);
    free(xml);
}

/* An X-Road fault as the security server sends it (HTTP 200). */
static void reply_fault(struct sim *sim, struct sim_http_conn *conn,
                        const struct sim_http_req *req, const char *id,
                        int status, const char *camel, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void reply_fault(struct sim *sim, struct sim_http_conn *conn,
                        const struct sim_http_req *req, const char *id,
                        int status, const char *camel, const char *fmt, ...)
{
    char code[160], text[XR_TEXT_MAX];
    va_list ap;

    sim_soap_code(sim->conf.style, camel, code, sizeof(code));
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    reply_fault_exact(sim, conn, req, id, status, code, text);
}

/*
 * The client security server's answer to a request it could not parse:
 * X-Road's code and text for the refusal, or, for a request that is a
 * SOAP Fault, that fault's own fields behind the "Client." prefix.
 */
static void reply_refusal(struct sim *sim, struct sim_http_conn *conn,
                          const struct sim_http_req *req, const char *ctype,
                          const struct xr_limits *limits,
                          const struct xr_error *err)
{
    struct sim_refusal *r = malloc(sizeof(*r));
    char code[XR_TEXT_MAX + 32], outcome[200];
    char *xml = NULL;
    size_t len = 0;

    if (!r) {
        sim_http_drop(conn);
        return;
    }
    sim_soap_refusal(sim->conf.style, ctype, req->body, req->body_len, limits,
                     err, r);
    if (r->from_fault)
        sim_strlcpy(code, r->code, sizeof(code));
    else
        sim_soap_code(sim->conf.style, r->code, code, sizeof(code));
    snprintf(outcome, sizeof(outcome), "fault %.120s", code);
    if (sim_soap_fault_ex(code, r->string, r->actor, r->detail, &xml, &len) !=
        0) {
        sim_log("cannot build fault %.120s", code);
        sim_http_drop(conn);
    } else {
        reply_logged(sim, conn, req, NULL, 200, NULL, (const uint8_t *)xml, len,
                     NULL, outcome, NULL);
    }
    free(xml);
    free(r);
}

/* ---- the X-Road pipeline ---- */

static bool soap_action_ok(const char *v)
{
    size_t n;

    if (!v || !v[0])
        return true;
    n = strlen(v);
    return n >= 2 && v[0] == '"' && v[n - 1] == '"';
}

static const struct sim_client *find_client(const struct sim *sim,
                                            const struct xr_id *id)
{
    for (size_t i = 0; i < sim->conf.nclients; i++)
        if (xr_id_equal(&sim->conf.clients[i].id, id))
            return &sim->conf.clients[i];
    return NULL;
}

/* NULL and a fault text when the client may not use this connection. */
static const char *authenticate(const struct sim_client *c,
                                const struct sim_http_req *req)
{
    uint8_t fp[32];

    switch (c->conntype) {
    case SIM_CONN_NOSSL:
        return NULL;
    case SIM_CONN_SSLNOAUTH:
        return req->tls ? NULL
                        : "specifies HTTPS NO AUTH but client made "
                          "plaintext connection";
    case SIM_CONN_SSLAUTH:
        if (!req->tls)
            return "specifies HTTPS but client made plaintext connection";
        if (!req->peer_cert)
            return "specifies HTTPS but did not supply TLS certificate";
        if (c->ncerts == 0)
            return "has no IS certificates";
        if (sim_tls_fingerprint(req->peer_cert, fp) != 0)
            return "TLS certificate could not be read";
        for (size_t i = 0; i < c->ncerts; i++)
            if (CRYPTO_memcmp(fp, c->certs[i], sizeof(fp)) == 0)
                return NULL;
        return "TLS certificate does not match any IS certificates";
    }
    return "unknown connection type";
}

static bool same_provider(const struct xr_id *a, const struct xr_id *b)
{
    return !strcmp(a->instance, b->instance) &&
           !strcmp(a->member_class, b->member_class) &&
           !strcmp(a->member_code, b->member_code) &&
           !strcmp(a->subsystem_code, b->subsystem_code);
}

static bool allowed(const struct sim_service *s, const struct xr_id *client)
{
    for (size_t i = 0; i < s->nallow; i++)
        if (xr_id_equal(&s->allow[i], client))
            return true;
    return false;
}

/* A request to the owner's operational monitoring service. */
static bool is_opmon(const struct sim *sim, const struct xr_id *service)
{
    const struct xr_id *ss = &sim->conf.security_server;

    return sim->conf.has_security_server &&
           xr_meta_kind_of(service->service_code) == XR_META_KIND_OPMON &&
           !service->subsystem_code[0] && !service->service_version[0] &&
           !strcmp(service->instance, ss->instance) &&
           !strcmp(service->member_class, ss->member_class) &&
           !strcmp(service->member_code, ss->member_code);
}

/* The last "</Body>" or "</prefix:Body>" tag in a serialised envelope. */
static char *find_body_close(char *xml)
{
    char *found = NULL;

    for (char *p = strstr(xml, "</"); p; p = strstr(p + 2, "</")) {
        const char *gt = strchr(p, '>');
        const char *colon = NULL;
        if (!gt)
            break;
        for (const char *q = p + 2; q < gt; q++)
            if (*q == ':')
                colon = q;
        const char *local = colon ? colon + 1 : p + 2;
        if (gt - local == 4 && !strncmp(local, "Body", 4))
            found = p;
    }
    return found;
}

/* Who answers a request that passed the checks. */
enum handler { H_VTJ, H_ECHO, H_META, H_OPMON };

/* Fill the Body (or ask for a fault) by the handler. -1: internal. */
static int handle(struct sim *sim, enum handler h, const char *ctype,
                  const struct sim_http_req *req, struct xr_request *xreq,
                  xmlNodePtr body, struct sim_answer *a)
{
    const struct xr_header *hdr = xr_request_header(xreq);
    xmlNodePtr wrapper = xr_request_body(xreq);

    switch (h) {
    case H_VTJ:
        return sim_vtj_answer(sim->vtj, wrapper, body, a->outcome,
                              sizeof(a->outcome));
    case H_ECHO:
        return sim_echo_answer(wrapper, ctype, req->body, req->body_len, body,
                               a);
    case H_META:
        return sim_meta_answer(&sim->conf,
                               xr_meta_kind_of(hdr->service.service_code), hdr,
                               wrapper, body, a);
    case H_OPMON:
        return sim_opmon_answer(sim->opmon, &sim->conf, hdr, wrapper, body, a);
    }
    return -1;
}

/*
 * The normal answer, shaped by the echo/wire fault injections. Returns -1
 * when the response could not be built.
 */
static int answer(struct sim *sim, struct sim_http_conn *conn,
                  const struct sim_http_req *req, const char *ctype,
                  struct xr_request *xreq, enum handler h,
                  const struct sim_fault *f)
{
    const struct xr_header *hdr = xr_request_header(xreq);
    struct sim_echo echo = {.hash = SIM_HASH_OK};
    struct sim_http_wire wire = {0};
    struct sim_answer *a = calloc(1, sizeof(*a));
    struct result res = {true, NULL, NULL, 0, 0};
    xmlDocPtr doc = NULL;
    xmlNodePtr body = NULL;
    uint8_t *bytes = NULL, *mime = NULL;
    size_t len = 0, mime_len = 0;
    char note[320], idbuf[96], mctype[256];
    int status = 200, rc = -1;

    if (!a)
        return -1;
    switch (f->kind) {
    case SIM_FAULT_BAD_REQUEST_HASH:
        echo.hash = SIM_HASH_WRONG;
        break;
    case SIM_FAULT_NO_REQUEST_HASH:
        echo.hash = SIM_HASH_NONE;
        break;
    case SIM_FAULT_ALTER_HEADER:
        sim_strlcpy(echo.alter_field, f->arg, sizeof(echo.alter_field));
        break;
    case SIM_FAULT_REORDER_HEADER:
        echo.reorder = true;
        break;
    case SIM_FAULT_VERSION_WS:
        echo.version_ws = true;
        break;
    case SIM_FAULT_DVV_HEADER:
        echo.reorder = echo.version_ws = true;
        break;
    case SIM_FAULT_HTTP_STATUS:
        status = (int)f->http_status;
        break;
    case SIM_FAULT_LATENCY:
        wire.delay_ms = f->latency_ms;
        break;
    case SIM_FAULT_CLOSE_IDLE:
        wire.close_idle_ms = f->latency_ms;
        break;
    case SIM_FAULT_TRUNCATE:
        wire.truncate = true;
        break;
    case SIM_FAULT_SLOW_DRIP:
        /* Four ticks a second; at least one byte per tick. */
        wire.drip_tick_ms = DRIP_TICK_MS;
        wire.drip_bytes = f->drip_bps >= 4 ? f->drip_bps / 4 : 1;
        if (f->drip_bps < 4)
            wire.drip_tick_ms = 1000u / f->drip_bps;
        break;
    case SIM_FAULT_NONE:
    case SIM_FAULT_STALL:
    case SIM_FAULT_DROP:
    case SIM_FAULT_GARBAGE:
    case SIM_FAULT_OVERSIZE:
    case SIM_FAULT_HTTP500_FAULT:
    case SIM_FAULT_FAULT_CODE:
    case SIM_FAULT_HTTP500_GARBAGE:
        break;
    }
    if (sim_soap_response_new(xreq, &echo, &doc, &body) != 0 ||
        handle(sim, h, ctype, req, xreq, body, a) != 0)
        goto out;
    if (a->fault) {
        /* A service's own fault passes through unchanged; the security
         * server's are spelt in the configured style. */
        if (a->fault_verbatim)
            reply_fault_exact(sim, conn, req, hdr->id, 200, a->fault_code,
                              a->fault_text);
        else
            reply_fault(sim, conn, req, hdr->id, 200, a->fault_code, "%s",
                        a->fault_text);
        rc = 0;
        goto out;
    }
    sim_soap_indent_body(body);
    if (sim_soap_serialize(doc, &bytes, &len) != 0)
        goto out;

    if (f->kind == SIM_FAULT_OVERSIZE && a->nparts == 0) {
        /* Pad with whitespace just before </Body>: still valid XML. */
        char *body_close = find_body_close((char *)bytes);
        if (!body_close)
            goto out;
        sim_msglog_add(sim->log, hdr->id, req->body, req->body_len, bytes,
                       (size_t)(body_close - (char *)bytes),
                       "injected oversize (head only stored)");
        record(sim, req, &res, OVERSIZE_BYTES);
        sim_log("%s %s -> 200 injected oversize", req->peer_addr,
                log_id(hdr->id, idbuf, sizeof(idbuf)));
        char *tail = strdup(body_close);
        if (!tail)
            goto out;
        *body_close = '\0';
        sim_http_reply_stream(conn, 200, "text/xml; charset=UTF-8",
                              (const char *)bytes, tail, OVERSIZE_BYTES);
        free(tail);
        rc = 0;
        goto out;
    }
    if (f->kind != SIM_FAULT_NONE) {
        char fname[160];
        sim_fault_format(f, fname, sizeof(fname));
        snprintf(note, sizeof(note), "%s (injected %s)", a->outcome, fname);
    } else {
        sim_strlcpy(note, a->outcome, sizeof(note));
    }
    res.soap_len = len;
    res.attachments = (unsigned)a->nparts;
    /* An answer the security server would not have delivered whole. */
    res.succeeded = f->kind != SIM_FAULT_TRUNCATE;
    if (a->nparts > 0) {
        if (sim_mime_build(bytes, len, a->mtom, a->parts, a->nparts, &mime,
                           &mime_len, mctype, sizeof(mctype)) != 0)
            goto out;
        reply_logged(sim, conn, req, hdr->id, status, mctype, mime, mime_len,
                     &wire, note, &res);
    } else {
        reply_logged(sim, conn, req, hdr->id, status, NULL, bytes, len, &wire,
                     note, &res);
    }
    if (f->kind == SIM_FAULT_NONE || f->kind == SIM_FAULT_LATENCY ||
        f->kind == SIM_FAULT_CLOSE_IDLE)
        sim_asic_log(sim->asic, xreq, bytes, len);
    rc = 0;
out:
    free(bytes);
    free(mime);
    xmlFreeDoc(doc);
    sim_answer_cleanup(a);
    free(a);
    return rc;
}

/* The injected behaviours that replace the answer; true when one did. */
static bool inject(struct sim *sim, struct sim_http_conn *conn,
                   const struct sim_http_req *req, const struct xr_header *hdr,
                   const struct sim_fault *f)
{
    struct result failed = {false, NULL, NULL, 0, 0};
    char idbuf[96];

    switch (f->kind) {
    case SIM_FAULT_STALL:
        sim_msglog_add(sim->log, hdr->id, req->body, req->body_len, NULL, 0,
                       "injected stall");
        record(sim, req, &failed, 0);
        sim_log("%s %s -> injected stall", req->peer_addr,
                log_id(hdr->id, idbuf, sizeof(idbuf)));
        sim_http_stall(conn);
        return true;
    case SIM_FAULT_DROP:
        sim_msglog_add(sim->log, hdr->id, req->body, req->body_len, NULL, 0,
                       "injected drop");
        record(sim, req, &failed, 0);
        sim_log("%s %s -> injected drop", req->peer_addr,
                log_id(hdr->id, idbuf, sizeof(idbuf)));
        sim_http_drop(conn);
        return true;
    case SIM_FAULT_GARBAGE: {
        static const char junk[] = "%PDF-1.4 this is not XML <<< \x01\x02 >>>"
                                   "\n<html><body>Gateway says hi";
        reply_logged(sim, conn, req, hdr->id, 200, NULL, (const uint8_t *)junk,
                     sizeof(junk) - 1, NULL, "injected garbage", &failed);
        return true;
    }
    case SIM_FAULT_HTTP500_GARBAGE: {
        /*
         * A proxy's error page, HTML that is not even well-formed XML,
         * labelled text/xml so that only parsing the body tells.
         */
        static const char page[] =
            "<html><head><title>500 Internal Server Error</title></head>\n"
            "<body><h1>500 Internal Server Error</h1><hr>\n"
            "<p>The server encountered an internal error & could not "
            "complete your request.<br></body></html>\n";
        reply_logged(sim, conn, req, hdr->id, 500, NULL, (const uint8_t *)page,
                     sizeof(page) - 1, NULL, "injected http500_garbage",
                     &failed);
        return true;
    }
    case SIM_FAULT_HTTP500_FAULT:
        reply_fault(sim, conn, req, hdr->id, 500,
                    "Server.ServerProxy.ServiceFailed.InternalError",
                    "Simulated service failure answered with HTTP 500");
        return true;
    case SIM_FAULT_FAULT_CODE:
        reply_fault(sim, conn, req, hdr->id, 200, f->arg,
                    "Fault injected by vayla-sim: %s", f->arg);
        return true;
    case SIM_FAULT_NONE:
    case SIM_FAULT_LATENCY:
    case SIM_FAULT_CLOSE_IDLE:
    case SIM_FAULT_TRUNCATE:
    case SIM_FAULT_OVERSIZE:
    case SIM_FAULT_BAD_REQUEST_HASH:
    case SIM_FAULT_NO_REQUEST_HASH:
    case SIM_FAULT_ALTER_HEADER:
    case SIM_FAULT_SLOW_DRIP:
    case SIM_FAULT_REORDER_HEADER:
    case SIM_FAULT_VERSION_WS:
    case SIM_FAULT_DVV_HEADER:
    case SIM_FAULT_HTTP_STATUS:
        break;
    }
    return false;
}

/* Attachments of a multipart request (0 for text/xml). */
static unsigned attachments_of(const char *ctype,
                               const struct sim_http_req *req)
{
    struct xr_response *parsed = NULL;
    struct xr_error err;
    unsigned n = 0;

    if (strncasecmp(ctype, "multipart/", 10) != 0)
        return 0;
    if (xr_response_parse(ctype, req->body, req->body_len, NULL, &parsed,
                          &err) == XR_OK)
        n = (unsigned)xr_response_part_count(parsed);
    xr_response_free(parsed);
    return n;
}

/* GET /listClients[?xRoadInstance=I]: answered from global configuration,
 * XML, or JSON when Accept names application/json (q-values ignored, as
 * X-Road does). */
static void list_clients(struct sim *sim, struct sim_http_conn *conn,
                         const struct sim_http_req *req)
{
    const char *accept = sim_http_header(req, "Accept");
    const char *q = strchr(req->target, '?');
    bool json = accept && strstr(accept, "application/json");
    char instance[XR_ID_PART_MAX + 1] = "";
    char *out = NULL;
    size_t len = 0;

    if (q) {
        if (strncmp(q + 1, "xRoadInstance=", 14) != 0 ||
            strlen(q + 15) >= sizeof(instance)) {
            reply_fault(sim, conn, req, NULL, 200, "Client.InvalidRequest",
                        "Unknown or malformed query parameters");
            return;
        }
        sim_strlcpy(instance, q + 15, sizeof(instance));
    }
    if (sim_meta_list_clients(&sim->conf, instance[0] ? instance : NULL, json,
                              &out, &len) != 0) {
        sim_http_drop(conn);
        return;
    }
    sim_log("%s GET %.100s -> 200 listClients (%s)", req->peer_addr,
            req->target, json ? "json" : "xml");
    sim_http_reply(conn, 200,
                   json ? "application/json; charset=UTF-8"
                        : "text/xml; charset=UTF-8",
                   (const uint8_t *)out, len, NULL);
    free(out);
}

static void soap_handler(struct sim_http_conn *conn, struct sim_http_req *req,
                         void *arg)
{
    struct sim *sim = arg;
    struct xr_request *xreq = NULL;
    struct xr_limits limits = {0};
    struct xr_error err;
    const struct xr_header *hdr;
    const struct sim_client *client;
    const struct sim_service *svc = NULL;
    const char *ctype, *why;
    char cid[XR_ID_TEXT_MAX], sid[XR_ID_TEXT_MAX];
    struct sim_fault f = sim->fault;
    bool provider_known = false;
    enum handler h = H_VTJ;

    memset(&sim->cur, 0, sizeof(sim->cur));
    if (sim_asic_http(sim->asic, &sim->conf, conn, req))
        return;
    if (!strcmp(req->method, "GET") &&
        (!strcmp(req->target, "/listClients") ||
         !strncmp(req->target, "/listClients?", 13))) {
        list_clients(sim, conn, req);
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        reply_fault(sim, conn, req, NULL, 200, "Client.InvalidHttpMethod",
                    "Must use POST request method instead of %s", req->method);
        goto out;
    }
    ctype = sim_http_header(req, "Content-Type");
    if (!ctype) {
        reply_fault(sim, conn, req, NULL, 200, "Client.InvalidRequest",
                    "Could not get content type from request");
        goto out;
    }
    if (!soap_action_ok(sim_http_header(req, "SOAPAction"))) {
        reply_fault(sim, conn, req, NULL, 200, "Client.InvalidSoapAction",
                    "Malformed SOAPAction header");
        goto out;
    }
    limits.max_bytes = sim->conf.max_body_bytes;
    if (xr_request_parse(ctype, req->body, req->body_len, &limits, &xreq,
                         &err) != XR_OK) {
        reply_refusal(sim, conn, req, ctype, &limits, &err);
        goto out;
    }
    hdr = xr_request_header(xreq);
    /* From here on the exchange has a client and a service: operational
     * monitoring records it, whatever the answer. */
    sim->cur.hdr = hdr;
    sim->cur.soap_len = xr_request_bytes(xreq).len;
    sim->cur.attachments = attachments_of(ctype, req);
    xr_id_format(&hdr->client, true, cid, sizeof(cid));
    xr_id_format(&hdr->service, true, sid, sizeof(sid));

    client = find_client(sim, &hdr->client);
    if (!client) {
        reply_fault(sim, conn, req, hdr->id, 200,
                    "Server.ClientProxy.UnknownMember", "Client '%s' not found",
                    cid);
        goto out;
    }
    why = authenticate(client, req);
    if (why) {
        reply_fault(sim, conn, req, hdr->id, 200,
                    "Server.ClientProxy.SslAuthenticationFailed",
                    "Client (%s) %s", cid, why);
        goto out;
    }
    if (is_opmon(sim, &hdr->service)) {
        /* The owner's own service: no provider lookup, no access list. */
        h = H_OPMON;
    } else {
        for (size_t i = 0; i < sim->conf.nservices; i++) {
            const struct sim_service *s = &sim->conf.services[i];
            if (same_provider(&s->id, &hdr->service))
                provider_known = true;
            if (xr_id_equal(&s->id, &hdr->service))
                svc = s;
        }
        if (!provider_known) {
            reply_fault(sim, conn, req, hdr->id, 200,
                        "Server.ClientProxy.UnknownMember",
                        "Could not find addresses for service provider "
                        "\"%s\"",
                        sid);
            goto out;
        }
        switch (xr_meta_kind_of(hdr->service.service_code)) {
        case XR_META_KIND_LIST_METHODS:
        case XR_META_KIND_ALLOWED_METHODS:
        case XR_META_KIND_GET_WSDL:
            /* Metaservices: answered by the provider's security server
             * for any client, whatever the access rights. */
            h = H_META;
            break;
        case XR_META_NONE:
        case XR_META_KIND_OPMON:
            if (!svc) {
                reply_fault(sim, conn, req, hdr->id, 200,
                            "Server.ServerProxy.UnknownService",
                            "Unknown service: %s", sid);
                goto out;
            }
            if (!allowed(svc, &hdr->client)) {
                reply_fault(sim, conn, req, hdr->id, 200,
                            "Server.ServerProxy.AccessDenied",
                            "Request is not allowed: %s", sid);
                goto out;
            }
            h = svc->kind == SIM_SERVICE_ECHO ? H_ECHO : H_VTJ;
            break;
        }
    }
    if (inject(sim, conn, req, hdr, &f))
        goto out;
    if (answer(sim, conn, req, ctype, xreq, h, &f) != 0)
        reply_fault(sim, conn, req, hdr->id, 200,
                    "Server.ServerProxy.ServiceFailed.InternalError",
                    "Simulator could not build the response");
out:
    memset(&sim->cur, 0, sizeof(sim->cur));
    xr_request_free(xreq);
}

/* ---- control endpoint ---- */

static void control_text(struct sim_http_conn *conn, int status,
                         const char *ctype, const char *text)
{
    sim_http_reply(conn, status, ctype, (const uint8_t *)text, strlen(text),
                   NULL);
}

/* Percent-decode a path segment in place; -1 on a bad escape. */
static int pct_decode(char *s)
{
    char *w = s;

    for (const char *r = s; *r; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        char hex[3] = {r[1], r[1] ? r[2] : '\0', '\0'};
        char *end = NULL;
        long v = strtol(hex, &end, 16);
        if (!hex[0] || !hex[1] || !end || *end != '\0' || v <= 0)
            return -1;
        *w++ = (char)v;
        r += 2;
    }
    *w = '\0';
    return 0;
}

static void control_handler(struct sim_http_conn *conn,
                            struct sim_http_req *req, void *arg)
{
    struct sim *sim = arg;
    char buf[512], why[200];
    char *json = NULL;
    const char *path = req->target;

    if (!strcmp(path, "/fault")) {
        if (!strcmp(req->method, "GET")) {
            sim_fault_format(&sim->fault, why, sizeof(why));
            snprintf(buf, sizeof(buf), "%s\n", why);
            control_text(conn, 200, "text/plain; charset=UTF-8", buf);
        } else if (!strcmp(req->method, "PUT") ||
                   !strcmp(req->method, "POST")) {
            struct sim_fault f;
            char name[200];
            size_t n = req->body_len < sizeof(name) - 1 ? req->body_len
                                                        : sizeof(name) - 1;
            memcpy(name, req->body, n);
            name[n] = '\0';
            while (n > 0 && strchr(" \t\r\n", name[n - 1]))
                name[--n] = '\0';
            if (sim_fault_parse(name, &f, why, sizeof(why)) != 0) {
                snprintf(buf, sizeof(buf), "%s\n", why);
                control_text(conn, 400, "text/plain; charset=UTF-8", buf);
                return;
            }
            sim->fault = f;
            sim_fault_format(&f, why, sizeof(why));
            sim_log("fault injection now %s", why);
            snprintf(buf, sizeof(buf), "%s\n", why);
            control_text(conn, 200, "text/plain; charset=UTF-8", buf);
        } else {
            control_text(conn, 405, "text/plain", "GET or PUT\n");
        }
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        control_text(conn, 405, "text/plain", "GET only\n");
        return;
    }
    if (!strcmp(path, "/") || !strcmp(path, "/health")) {
        sim_fault_format(&sim->fault, why, sizeof(why));
        snprintf(buf, sizeof(buf),
                 "{\"status\": \"ok\", \"https_port\": %d, \"http_port\": "
                 "%d, \"control_port\": %d, \"fault\": \"%s\", \"persons\": "
                 "%zu}\n",
                 sim->https_port, sim->http_port, sim->control_port, why,
                 sim_vtj_person_count(sim->vtj));
        control_text(conn, 200, "application/json", buf);
        return;
    }
    if (!strcmp(path, "/log")) {
        json = sim_msglog_list_json(sim->log);
        control_text(conn, json ? 200 : 500, "application/json",
                     json ? json : "null");
        free(json);
        return;
    }
    if (!strncmp(path, "/log/", 5)) {
        char id[sizeof(req->target)];
        char *slash;
        bool want_req = false, want_resp = false;

        sim_strlcpy(id, path + 5, sizeof(id));
        slash = strchr(id, '/');
        if (slash) {
            want_req = !strcmp(slash, "/request");
            want_resp = !strcmp(slash, "/response");
            if (!want_req && !want_resp) {
                control_text(conn, 404, "text/plain", "not found\n");
                return;
            }
            *slash = '\0';
        }
        if (pct_decode(id) != 0) {
            control_text(conn, 400, "text/plain", "bad escape\n");
            return;
        }
        if (want_req || want_resp) {
            size_t len = 0;
            const uint8_t *b = sim_msglog_bytes(sim->log, id, want_resp, &len);
            if (!b) {
                control_text(conn, 404, "text/plain", "not found\n");
                return;
            }
            sim_http_reply(conn, 200, "application/octet-stream", b, len, NULL);
            return;
        }
        json = sim_msglog_entry_json(sim->log, id);
        if (!json) {
            control_text(conn, 404, "text/plain", "not found\n");
            return;
        }
        control_text(conn, 200, "application/json", json);
        free(json);
        return;
    }
    control_text(conn, 404, "text/plain", "not found\n");
}

/* ---- start-up ---- */

static void usage(FILE *out)
{
    fprintf(out, "usage: vayla-sim -c sim.conf [options]\n"
                 "  -c, --config PATH       sim.conf (required)\n"
                 "      --https-port N      HTTPS SOAP port (0 = any free port,"
                 " -1 = off)\n"
                 "      --port N            same as --https-port\n"
                 "      --http-port N       plain HTTP SOAP port (0 = any, -1 ="
                 " off)\n"
                 "      --control-port N    control endpoint, 127.0.0.1 only\n"
                 "      --fault NAME        initial fault injection\n"
                 "      --style camel|snake fault codes as X-Road 7.x or 7.8\n"
                 "      --dataset PATH      persons JSON instead of the "
                 "built-in one\n"
                 "      --message-log DIR   write the message log to DIR\n"
                 "      --ready-file PATH   write the bound ports there when "
                 "ready\n"
                 "  -h, --help\n");
}

static int write_ready(const struct sim *sim, const char *path)
{
    char tmp[SIM_PATH_MAX + 8];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "https_port=%d\nhttp_port=%d\ncontrol_port=%d\npid=%ld\n",
            sim->https_port, sim->http_port, sim->control_port, (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    sim_log("signal %d, stopping", (int)sig);
    event_base_loopexit(arg, NULL);
}

enum opt_id {
    OPT_HTTPS = 256,
    OPT_HTTP,
    OPT_CONTROL,
    OPT_FAULT,
    OPT_STYLE,
    OPT_DATASET,
    OPT_MSGLOG,
    OPT_READY
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"https-port", required_argument, NULL, OPT_HTTPS},
        {"port", required_argument, NULL, OPT_HTTPS},
        {"http-port", required_argument, NULL, OPT_HTTP},
        {"control-port", required_argument, NULL, OPT_CONTROL},
        {"fault", required_argument, NULL, OPT_FAULT},
        {"style", required_argument, NULL, OPT_STYLE},
        {"dataset", required_argument, NULL, OPT_DATASET},
        {"message-log", required_argument, NULL, OPT_MSGLOG},
        {"ready-file", required_argument, NULL, OPT_READY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct sim *sim = NULL;
    const char *config = NULL, *ready = NULL, *fault = NULL, *style = NULL;
    const char *dataset = NULL, *msglog = NULL;
    long https = -2, http = -2, control = -2, v;
    char err[SIM_PATH_MAX + 256];
    struct event *sigint = NULL, *sigterm = NULL;
    struct sim_http_opts opts;
    struct xr_error xerr;
    bool xr_inited = false;
    int c, rc = 1;

    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case OPT_HTTPS:
        case OPT_HTTP:
        case OPT_CONTROL:
            if (sim_parse_long(optarg, -1, 65535, &v) != 0) {
                fprintf(stderr, "vayla-sim: bad port '%s'\n", optarg);
                return 1;
            }
            if (c == OPT_HTTPS)
                https = v;
            else if (c == OPT_HTTP)
                http = v;
            else
                control = v;
            break;
        case OPT_FAULT:
            fault = optarg;
            break;
        case OPT_STYLE:
            style = optarg;
            break;
        case OPT_DATASET:
            dataset = optarg;
            break;
        case OPT_MSGLOG:
            msglog = optarg;
            break;
        case OPT_READY:
            ready = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (!config || optind != argc) {
        usage(stderr);
        return 1;
    }

    sim = calloc(1, sizeof(*sim));
    if (!sim) {
        fprintf(stderr, "vayla-sim: out of memory\n");
        return 1;
    }
    if (xr_global_init(&xerr) != XR_OK) {
        fprintf(stderr, "vayla-sim: %s\n", xerr.msg);
        goto out;
    }
    xr_inited = true;
    if (sim_conf_load(&sim->conf, config, err, sizeof(err)) != 0) {
        fprintf(stderr, "vayla-sim: %s\n", err);
        goto out;
    }
    if (https != -2)
        sim->conf.https_port = (int)https;
    if (http != -2)
        sim->conf.http_port = (int)http;
    if (control != -2)
        sim->conf.control_port = (int)control;
    if (style && !strcmp(style, "snake"))
        sim->conf.style = SIM_STYLE_SNAKE;
    else if (style && !strcmp(style, "camel"))
        sim->conf.style = SIM_STYLE_CAMEL;
    else if (style) {
        fprintf(stderr, "vayla-sim: --style must be camel or snake\n");
        goto out;
    }
    if (dataset)
        sim_strlcpy(sim->conf.dataset_file, dataset,
                    sizeof(sim->conf.dataset_file));
    if (msglog)
        sim_strlcpy(sim->conf.msglog_dir, msglog, sizeof(sim->conf.msglog_dir));
    if (sim_fault_parse(fault ? fault : sim->conf.fault, &sim->fault, err,
                        sizeof(err)) != 0) {
        fprintf(stderr, "vayla-sim: --fault: %s\n", err);
        goto out;
    }
    if (sim_vtj_new(sim->conf.dataset_file, sim->conf.vtj_username,
                    sim->conf.vtj_password, &sim->vtj, err, sizeof(err)) != 0 ||
        sim_msglog_new(sim->conf.msglog_dir, &sim->log, err, sizeof(err)) !=
            0) {
        fprintf(stderr, "vayla-sim: %s\n", err);
        goto out;
    }
    if (sim_opmon_new(sim->conf.opmon_keep, &sim->opmon) != 0) {
        fprintf(stderr, "vayla-sim: out of memory (opmon_keep)\n");
        goto out;
    }

    signal(SIGPIPE, SIG_IGN);
    sim->base = event_base_new();
    if (!sim->base) {
        fprintf(stderr, "vayla-sim: event_base_new failed\n");
        goto out;
    }
    if (sim_asic_new(sim->base, &sim->conf, &sim->asic, err, sizeof(err)) !=
        0) {
        fprintf(stderr, "vayla-sim: [asic]: %s\n", err);
        goto out;
    }
    sim->https_port = sim->http_port = sim->control_port = -1;
    opts = (struct sim_http_opts){.max_body_bytes = sim->conf.max_body_bytes,
                                  .handler = soap_handler,
                                  .handler_arg = sim};
    if (sim->conf.https_port >= 0) {
        if (!sim->conf.cert_file[0] || !sim->conf.key_file[0]) {
            fprintf(stderr, "vayla-sim: HTTPS needs [sim] cert and key\n");
            goto out;
        }
        if (sim_tls_ctx_new(sim->conf.cert_file, sim->conf.key_file,
                            &sim->ssl_ctx, err, sizeof(err)) != 0) {
            fprintf(stderr, "vayla-sim: %s\n", err);
            goto out;
        }
        opts.ssl_ctx = sim->ssl_ctx;
        if (sim_http_server_new(sim->base, sim->conf.listen,
                                sim->conf.https_port, &opts, &sim->https,
                                &sim->https_port, err, sizeof(err)) != 0) {
            fprintf(stderr, "vayla-sim: https: %s\n", err);
            goto out;
        }
    }
    opts.ssl_ctx = NULL;
    if (sim->conf.http_port >= 0 &&
        sim_http_server_new(sim->base, sim->conf.listen, sim->conf.http_port,
                            &opts, &sim->http, &sim->http_port, err,
                            sizeof(err)) != 0) {
        fprintf(stderr, "vayla-sim: http: %s\n", err);
        goto out;
    }
    opts.handler = control_handler;
    opts.max_body_bytes = 4096;
    if (sim->conf.control_port >= 0 &&
        sim_http_server_new(sim->base, "127.0.0.1", sim->conf.control_port,
                            &opts, &sim->control, &sim->control_port, err,
                            sizeof(err)) != 0) {
        fprintf(stderr, "vayla-sim: control: %s\n", err);
        goto out;
    }

    sigint = evsignal_new(sim->base, SIGINT, on_signal, sim->base);
    sigterm = evsignal_new(sim->base, SIGTERM, on_signal, sim->base);
    if (!sigint || !sigterm || evsignal_add(sigint, NULL) != 0 ||
        evsignal_add(sigterm, NULL) != 0) {
        fprintf(stderr, "vayla-sim: cannot install signal handlers\n");
        goto out;
    }
    if (ready && write_ready(sim, ready) != 0) {
        fprintf(stderr, "vayla-sim: cannot write %s: %s\n", ready,
                strerror(errno));
        goto out;
    }
    sim_fault_format(&sim->fault, err, sizeof(err));
    printf("vayla-sim: ready https=%d http=%d control=%d style=%s fault=%s "
           "persons=%zu\n",
           sim->https_port, sim->http_port, sim->control_port,
           sim->conf.style == SIM_STYLE_SNAKE ? "snake" : "camel", err,
           sim_vtj_person_count(sim->vtj));
    fflush(stdout);

    event_base_dispatch(sim->base);
    rc = 0;
out:
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    sim_http_server_free(sim->control);
    sim_http_server_free(sim->http);
    sim_http_server_free(sim->https);
    SSL_CTX_free(sim->ssl_ctx);
    sim_asic_free(sim->asic);
    if (sim->base)
        event_base_free(sim->base);
    sim_vtj_free(sim->vtj);
    sim_msglog_free(sim->log);
    sim_opmon_free(sim->opmon);
    sim_conf_cleanup(&sim->conf);
    free(sim);
    if (xr_inited)
        xr_global_cleanup();
    return rc;
}

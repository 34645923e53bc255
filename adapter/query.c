/*
 * The query pipeline (query.h). One state machine per query, driven by a
 * small trampoline: every completion records what happened and calls
 * run(), and only the outermost run() steps the machine, so a completion
 * that arrives before the call that caused it has returned (a fake, the
 * CLI's synchronous audit store, a slot that is free at once) is safe.
 * The face's `done` is called last, outside the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlstring.h>
#include <openssl/crypto.h>
#include <xroad/response.h>
#include <xroad/xroad.h>

#include "query.h"
#include "util.h"

#define ID_MAX 40u /* UUIDv7 text + NUL, with room */

enum state {
    S_NEW,
    S_WAIT_SLOT,
    S_BUILD,
    S_WAIT_INTENT,
    S_SEND,
    S_WAIT_EXCHANGE,
    S_JUDGE,
    S_RECORD,
    S_WAIT_OUTCOME,
    S_NEXT,
    S_FINISH,
    S_DONE,  /* finished: done is due */
    S_CALLED /* done has been called */
};

struct adp_query {
    struct adp_query_params p;
    struct adp_query_net_slot slot; /* the transport's */
    enum state st;
    bool running;           /* inside run() */
    struct xr_request *req; /* current step's request */
    uint8_t *multipart;     /* with attachments: the body */
    size_t multipart_len;
    char *multipart_type;     /* its Content-Type (owned, XR_MIME_CTYPE_MAX) */
    struct xr_response *resp; /* kept for a fault verdict */
    const struct adp_xfer_result *res;     /* during S_JUDGE only */
    int64_t wait_since_us;                 /* audit wait start */
    char ids[ADP_QUERY_MAX_STEPS][ID_MAX]; /* message ids, oldest first */
    struct xr_error *err;                  /* v.err once one is set (owned) */
    struct adp_verdict v;
};

/* v.err before any is set, and when the room for one was not there. */
static const struct xr_error no_error;
static const struct xr_error lost_error = {
    .code = XR_ENOMEM,
    .reason = "out_of_memory",
    .msg = "out of memory (the reason of this failure was lost)"};

/* The verdict's error: a copy of *e, allocated the first time. */
static void set_err(struct adp_query *q, const struct xr_error *e)
{
    if (!q->err && !(q->err = malloc(sizeof(*q->err)))) {
        q->v.err = &lost_error;
        return;
    }
    *q->err = *e;
    q->v.err = q->err;
}

const char *adp_verdict_class_name(enum adp_verdict_class cls)
{
    switch (cls) {
    case ADP_VERDICT_DATA:
        return "data";
    case ADP_VERDICT_NO_DATA:
        return "no_data";
    case ADP_VERDICT_SERVICE_ERROR:
        return "service_error";
    case ADP_VERDICT_FAULT:
        return "fault";
    case ADP_VERDICT_INVALID:
        return "invalid";
    case ADP_VERDICT_TRANSPORT:
        return "transport";
    case ADP_VERDICT_REJECTED:
        return "rejected";
    case ADP_VERDICT_AUDIT:
        return "audit";
    case ADP_VERDICT_INTERNAL:
        return "internal";
    }
    return "internal";
}

struct adp_query_net_slot *adp_query_net_slot(struct adp_query *q)
{
    return &q->slot;
}

enum xr_status adp_query_new(const struct adp_query_params *p,
                             struct adp_query **out, struct xr_error *err)
{
    struct adp_query *q;

    *out = NULL;
    if (!p->svc || !p->call || !p->client || !p->service || !p->user_id ||
        !p->issue || !p->caller || !p->ss || !p->net || !p->done ||
        (p->audit && !p->audit->close))
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "adp_query_new: a required parameter is missing");
    q = calloc(1, sizeof(*q));
    if (!q)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    q->p = *p;
    q->st = S_NEW;
    q->v.upstream_us = -1;
    q->v.err = &no_error;
    *out = q;
    return XR_OK;
}

void adp_query_free(struct adp_query *q)
{
    if (!q)
        return;
    q->p.net->release(q->p.net->ctx, q);
    xr_request_free(q->req);
    free(q->multipart);
    free(q->multipart_type);
    xr_response_free(q->resp);
    free(q->err);
    free(q);
}

size_t adp_query_message_ids(const struct adp_query *q, const char **ids,
                             size_t max)
{
    size_t n = q->v.steps < max ? q->v.steps : max;

    for (size_t i = 0; i < n; i++)
        ids[i] = q->ids[i];
    return n;
}

/* ---- the verdict ---------------------------------------------------------
 */

static void verdict(struct adp_query *q, enum adp_verdict_class cls,
                    const char *outcome)
{
    q->v.cls = cls;
    q->v.outcome = outcome;
}

/* A failure before anything was sent: REJECTED for input the module or
 * libxroad refuses, INTERNAL for memory, digests and the random source. */
static void build_failed(struct adp_query *q, const struct xr_error *err)
{
    bool internal = err->code == XR_ENOMEM || err->code == XR_EINTERNAL ||
                    err->code == XR_EIO;

    set_err(q, err);
    verdict(q, internal ? ADP_VERDICT_INTERNAL : ADP_VERDICT_REJECTED,
            internal ? "internal_error" : "rejected");
}

static void transport(struct adp_query *q, enum adp_xfer_class cls,
                      const char *message)
{
    struct xr_error e;

    q->v.transport = cls;
    xr_error_set(&e, cls == ADP_XFER_TIMEOUT ? XR_ETIMEDOUT : XR_EIO,
                 adp_xfer_class_name(cls), "", "%s", message);
    set_err(q, &e);
    verdict(q, ADP_VERDICT_TRANSPORT, "transport_error");
}

/* ---- step 2: the request -------------------------------------------------
 */

static enum xr_status header_new(const struct adp_query *q,
                                 struct xr_header **out, struct xr_error *err)
{
    struct xr_header *h = malloc(sizeof(*h));

    *out = NULL;
    if (!h)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    xr_header_init(h);
    h->client = *q->p.client;
    h->service = *q->p.service;
    if (q->p.security_server) {
        h->has_security_server = true;
        h->security_server = *q->p.security_server;
    }
    h->has_user_id = true;
    h->has_issue = true;
    if (strlen(q->p.user_id) >= sizeof(h->user_id) ||
        strlen(q->p.issue) >= sizeof(h->issue)) {
        free(h);
        return xr_error_set(err, XR_EINVAL, "too_long", "",
                            "userId and issue are limited to %d bytes",
                            XR_TEXT_MAX);
    }
    memcpy(h->user_id, q->p.user_id, strlen(q->p.user_id) + 1);
    memcpy(h->issue, q->p.issue, strlen(q->p.issue) + 1);
    /* The id is made here so that the header is complete and
     * xr_request_new() uses it without a copy. */
    if (xr_uuid7(h->id, sizeof(h->id), err) != XR_OK) {
        free(h);
        return err ? err->code : XR_EINTERNAL;
    }
    *out = h;
    return XR_OK;
}

static void submit_intent(struct adp_query *q)
{
    const struct adp_query_audit *a = q->p.audit;
    struct adp_audit_intent in;
    struct xr_error err;
    char service[XR_ID_TEXT_MAX];
    uint8_t digest[ADP_AUDIT_SHA512_LEN];

    (void)xr_id_format(q->p.service, false, service, sizeof(service));
    memset(&in, 0, sizeof(in));
    in.time_ms = adp_audit_now_ms();
    in.caller = q->p.caller;
    in.end_user = q->p.user_id;
    in.purpose = q->p.issue;
    in.service = service;
    in.product = q->p.svc->product(q->p.call);
    in.subject = q->p.svc->subject(q->p.call);
    in.message_id = xr_request_id(q->req);
    /* The digest was made with the request: no copy of the bytes (they
     * may hold a password) crosses to the audit store. */
    xr_request_sha512(q->req, digest);
    in.request_sha512 = digest;
    q->wait_since_us = adp_mono_us();
    q->st = S_WAIT_INTENT;
    if (a->intent(a->ctx, q, &in, &err) != XR_OK) {
        set_err(q, &err);
        verdict(q, ADP_VERDICT_AUDIT, "audit_unavailable");
        q->st = S_FINISH;
    }
}

/* With attachments: the multipart body, the SOAP message first. */
static enum xr_status wrap(struct adp_query *q, struct xr_error *err)
{
    const struct adp_service_ops *svc = q->p.svc;
    const struct xr_part *att = NULL;
    struct xr_part *parts = NULL;
    bool mtom = false;
    size_t n = svc->attachments ? svc->attachments(q->p.call, &att, &mtom) : 0;
    enum xr_status rc;

    free(q->multipart);
    q->multipart = NULL;
    q->multipart_len = 0;
    if (n == 0)
        return XR_OK;
    if (!q->multipart_type)
        q->multipart_type = malloc(XR_MIME_CTYPE_MAX);
    parts = calloc(n + 1, sizeof(*parts));
    if (!parts || !q->multipart_type) {
        free(parts);
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    }
    snprintf(parts[0].content_type, sizeof(parts[0].content_type), "%s",
             mtom ? "application/xop+xml; charset=UTF-8; type=\"text/xml\""
                  : "text/xml; charset=UTF-8");
    parts[0].data = xr_request_bytes(q->req);
    memcpy(parts + 1, att, n * sizeof(*parts));
    rc = xr_mime_write(parts, n + 1, &q->multipart, &q->multipart_len,
                       q->multipart_type, err);
    free(parts);
    return rc;
}

static void build(struct adp_query *q)
{
    const struct adp_service_ops *svc = q->p.svc;
    struct xr_header *hdr = NULL;
    struct xr_error err;
    char *body = NULL;
    size_t body_len = 0;

    xr_error_clear(&err);
    q->st = S_FINISH;
    if (svc->body(q->p.call, &body, &body_len, &err) != XR_OK ||
        header_new(q, &hdr, &err) != XR_OK ||
        (svc->own_body ? xr_request_new_own : xr_request_new)(
            hdr, (const uint8_t *)body, body_len, &q->req, &err) != XR_OK ||
        wrap(q, &err) != XR_OK) {
        build_failed(q, &err);
        goto out;
    }
    snprintf(q->ids[q->v.steps], ID_MAX, "%s", xr_request_id(q->req));
    q->v.message_id = q->ids[q->v.steps];
    q->v.steps++;
    if (q->p.audit)
        submit_intent(q);
    else
        q->st = S_SEND;
out:
    free(hdr);
    if (body)
        svc->body_free(body, body_len);
}

/* ---- steps 4 and 5: exchange and judgement -------------------------------
 */

static void send_request(struct adp_query *q)
{
    const struct adp_query_net *net = q->p.net;
    struct xr_bytes b = xr_request_bytes(q->req);
    struct adp_query_wire w = {b.ptr, b.len, NULL};
    struct xr_error err;

    if (q->multipart) {
        w.bytes = q->multipart;
        w.len = q->multipart_len;
        w.content_type = q->multipart_type;
    }
    q->st = S_WAIT_EXCHANGE;
    q->v.sent = true;
    if (net->exchange(net->ctx, q, q->p.ss, &w, &err) != XR_OK) {
        /* Nothing left this process: the outcome records that. */
        q->v.sent = false;
        transport(q, ADP_XFER_INTERNAL, err.msg);
        q->st = S_RECORD;
    }
}

/* Decode a judged, non-fault answer with the module. */
static void decode(struct adp_query *q, const struct xr_response *resp)
{
    const struct adp_service_ops *svc = q->p.svc;
    enum adp_service_result r;
    struct xr_error err;
    const char *outcome = NULL, *code = NULL;

    if (svc->decode(q->p.call, resp, &err) != XR_OK) {
        set_err(q, &err);
        verdict(q, ADP_VERDICT_INVALID, "invalid_response");
        return;
    }
    r = svc->result(q->p.call, &outcome, &code);
    q->v.return_code = code;
    switch (r) {
    case ADP_SERVICE_DATA:
        verdict(q, ADP_VERDICT_DATA, outcome);
        return;
    case ADP_SERVICE_NO_DATA:
        verdict(q, ADP_VERDICT_NO_DATA, outcome);
        return;
    case ADP_SERVICE_ERROR:
        verdict(q, ADP_VERDICT_SERVICE_ERROR, outcome);
        return;
    }
}

static void fault(struct adp_query *q, struct xr_response *resp)
{
    q->resp = resp;
    q->v.fault = xr_response_fault(resp);
    verdict(q, ADP_VERDICT_FAULT, "fault");
}

/*
 * The judgement of one exchange (docs/architecture.md, "How an answer is
 * judged"):
 *   - no HTTP answer: transport failure of its class;
 *   - an HTTP status other than 200 and 500: the fault when the body is
 *     a SOAP fault (it says more), otherwise http_status;
 *   - 200 or 500: libxroad's full check; a 500 whose body is not a usable
 *     SOAP message is http_status (a proxy's error page), a 200 whose body
 *     fails a check is invalid;
 *   - a fault is a fault; anything else goes to the module.
 */
static void judge(struct adp_query *q, const struct adp_xfer_result *res)
{
    struct xr_check_opts co;
    struct xr_response *resp = NULL;
    struct xr_error err;

    memset(&co, 0, sizeof(co));
    co.limits.max_bytes = q->p.ss->max_response_bytes;
    co.allow_missing_request_hash = q->p.ss->allow_missing_request_hash;
    co.dict = q->p.net->names;
    xr_error_clear(&err);
    q->v.http_status = res->http_status;
    q->v.upstream_us =
        (q->v.upstream_us < 0 ? 0 : q->v.upstream_us) + res->total_ms * 1000;
    if (res->cls != ADP_XFER_OK && res->cls != ADP_XFER_HTTP_STATUS) {
        transport(q, res->cls, res->message);
        return;
    }
    if (res->cls == ADP_XFER_HTTP_STATUS) {
        if (res->body_len > 0 &&
            xr_response_parse(res->content_type, res->body, res->body_len, &co,
                              &resp, &err) == XR_OK &&
            xr_response_verdict(resp) == XR_VERDICT_FAULT) {
            fault(q, resp);
            return;
        }
        xr_response_free(resp);
        transport(q, ADP_XFER_HTTP_STATUS, res->message);
        return;
    }
    if (xr_response_check(q->req, res->content_type, res->body, res->body_len,
                          &co, &resp, &err) != XR_OK) {
        if (res->http_status == 500) {
            char msg[ADP_XFER_MSG_MAX];
            snprintf(msg, sizeof(msg),
                     "the security server answered HTTP 500 without a valid "
                     "SOAP message (%s: %.160s)",
                     err.reason ? err.reason : "invalid", err.msg);
            transport(q, ADP_XFER_HTTP_STATUS, msg);
        } else {
            set_err(q, &err);
            verdict(q, ADP_VERDICT_INVALID, "invalid_response");
        }
        return;
    }
    if (xr_response_verdict(resp) == XR_VERDICT_FAULT) {
        fault(q, resp);
        return;
    }
    decode(q, resp);
    xr_response_free(resp);
}

/* ---- step 7: the outcome -------------------------------------------------
 */

static void submit_outcome(struct adp_query *q)
{
    const struct adp_query_audit *a = q->p.audit;
    const struct adp_xfer_result *res = q->res;
    struct adp_audit_outcome o;
    struct xr_error err;
    uint8_t digest[ADP_AUDIT_SHA512_LEN];

    memset(&o, 0, sizeof(o));
    o.time_ms = adp_audit_now_ms();
    o.message_id = xr_request_id(q->req);
    o.result_class = q->v.outcome;
    o.return_code = q->v.return_code;
    o.fault_code = q->v.fault ? q->v.fault->code : NULL;
    o.fault_origin =
        q->v.fault ? xr_fault_origin_name(q->v.fault->origin) : NULL;
    o.duration_ms = res && res->total_ms > 0 ? res->total_ms : 0;
    /* The digest of the bytes received, when an answer came at all. */
    if (res && res->body_len > 0) {
        if (xr_sha512(res->body, res->body_len, digest))
            o.response_sha512 = digest;
        else {
            o.response = res->body; /* the store hashes it */
            o.response_len = res->body_len;
        }
    }
    q->wait_since_us = adp_mono_us();
    q->st = S_WAIT_OUTCOME;
    if (a->outcome(a->ctx, q, &o, &err) != XR_OK) {
        set_err(q, &err);
        verdict(q, ADP_VERDICT_AUDIT, "audit_unavailable");
        q->st = S_FINISH;
    }
}

/* After a durable outcome: one more request, or the end. */
static void next(struct adp_query *q)
{
    const struct adp_service_ops *svc = q->p.svc;
    bool answered = q->v.cls == ADP_VERDICT_DATA ||
                    q->v.cls == ADP_VERDICT_NO_DATA ||
                    q->v.cls == ADP_VERDICT_SERVICE_ERROR;

    q->st = S_FINISH;
    if (!answered || q->v.steps >= ADP_QUERY_MAX_STEPS || !svc->follow_up ||
        !svc->follow_up(q->p.call))
        return;
    /* The earlier request is no longer needed (its bytes may hold a
     * password); its id stays in q->ids. */
    xr_request_free(q->req);
    q->req = NULL;
    free(q->multipart);
    q->multipart = NULL;
    q->v.return_code = NULL;
    q->v.http_status = 0;
    q->v.sent = false;
    q->st = S_WAIT_SLOT;
    q->p.net->acquire(q->p.net->ctx, q);
}

/* ---- the machine ---------------------------------------------------------
 */

/* One transition; false while waiting for a completion. */
static bool step(struct adp_query *q)
{
    switch (q->st) {
    case S_NEW:
        q->st = S_WAIT_SLOT;
        q->p.net->acquire(q->p.net->ctx, q);
        return true;
    case S_BUILD:
        build(q);
        return true;
    case S_SEND:
        send_request(q);
        return true;
    case S_JUDGE:
        judge(q, q->res);
        q->st = S_RECORD;
        return true;
    case S_RECORD:
        if (q->p.audit) {
            submit_outcome(q);
        } else {
            q->st = S_NEXT;
        }
        /* The slot goes to the next query now; the exchange (and the
         * answer bytes q->res points to) is freed with it. */
        q->res = NULL;
        q->p.net->release(q->p.net->ctx, q);
        return true;
    case S_NEXT:
        next(q);
        return true;
    case S_FINISH:
        q->p.net->release(q->p.net->ctx, q);
        q->st = S_DONE;
        return false;
    case S_WAIT_SLOT:
    case S_WAIT_INTENT:
    case S_WAIT_EXCHANGE:
    case S_WAIT_OUTCOME:
    case S_DONE:
    case S_CALLED:
        return false;
    }
    return false;
}

static void run(struct adp_query *q)
{
    if (q->running)
        return; /* the outer run() goes on from the new state */
    q->running = true;
    while (step(q))
        ;
    q->running = false;
    if (q->st == S_DONE) {
        q->st = S_CALLED;
        q->p.done(q, &q->v, q->p.done_ctx);
    }
}

void adp_query_start(struct adp_query *q)
{
    if (q->st == S_NEW)
        run(q);
}

void adp_query_on_slot(struct adp_query *q)
{
    if (q->st != S_WAIT_SLOT)
        return;
    q->st = S_BUILD;
    run(q);
}

void adp_query_on_exchange(struct adp_query *q,
                           const struct adp_xfer_result *res)
{
    if (q->st != S_WAIT_EXCHANGE)
        return;
    q->res = res;
    q->st = S_JUDGE;
    run(q);
}

/* An intent that did not become durable is closed by a "not_sent"
 * outcome, in case the store commits the intent later. */
static void close_intent(struct adp_query *q)
{
    struct adp_audit_outcome o;

    memset(&o, 0, sizeof(o));
    o.time_ms = adp_audit_now_ms();
    o.message_id = xr_request_id(q->req);
    o.result_class = "not_sent";
    q->p.audit->close(q->p.audit->ctx, &o);
}

void adp_query_on_durable(struct adp_query *q, bool ok, const char *msg)
{
    bool intent = q->st == S_WAIT_INTENT;

    if (!intent && q->st != S_WAIT_OUTCOME)
        return;
    q->v.audit_us += adp_mono_us() - q->wait_since_us;
    if (ok) {
        q->st = intent ? S_SEND : S_NEXT;
    } else {
        struct xr_error e;

        xr_error_set(&e, XR_EIO, "audit_unavailable", "", "%s",
                     msg ? msg : "the audit store failed");
        set_err(q, &e);
        /* After a failed intent nothing is sent; after a failed outcome
         * the answer is withheld. */
        if (intent)
            close_intent(q);
        verdict(q, ADP_VERDICT_AUDIT, "audit_unavailable");
        q->st = S_FINISH;
    }
    run(q);
}

/* ---- caller-supplied texts -----------------------------------------------
 */

/* Length of the UTF-8 character at s (valid by xmlCheckUTF8). */
static size_t utf8_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xf0)
        return 4;
    if (c >= 0xe0)
        return 3;
    return 2;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Error codes per text, stable (docs/api.md). */
static const struct {
    const char *name, *missing, *too_long, *invalid;
} texts[] = {
    [ADP_TEXT_END_USER] = {"end_user", "missing_end_user", "end_user_too_long",
                           "invalid_end_user"},
    [ADP_TEXT_PURPOSE] = {"purpose", "missing_purpose", "purpose_too_long",
                          "invalid_purpose"},
    [ADP_TEXT_SUBJECT] = {"subject", "missing_subject", "subject_too_long",
                          "invalid_subject"},
};

enum xr_status adp_query_text(enum adp_text which, const char *in, size_t max,
                              char **out, struct xr_error *err)
{
    const char *name = texts[which].name;
    size_t b = 0, e = in ? strlen(in) : 0;
    char *s;

    *out = NULL;
    while (b < e && is_space(in[b]))
        b++;
    while (e > b && is_space(in[e - 1]))
        e--;
    if (b == e)
        return xr_error_set(err, XR_EINVAL, texts[which].missing, name,
                            "%s is required", name);
    if (e - b > max)
        return xr_error_set(err, XR_EINVAL, texts[which].too_long, name,
                            "%s is longer than %zu bytes", name, max);
    s = malloc(e - b + 1);
    if (!s)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    memcpy(s, in + b, e - b);
    s[e - b] = '\0';
    if (!xmlCheckUTF8((const xmlChar *)s)) {
        free(s);
        return xr_error_set(err, XR_EINVAL, texts[which].invalid, name,
                            "%s is not valid UTF-8", name);
    }
    for (size_t i = 0; s[i]; i += utf8_len((unsigned char)s[i])) {
        unsigned char c = (unsigned char)s[i];
        /* C0 and DEL; C1 is U+0080..U+009F, encoded C2 80..C2 9F. */
        if (c < 0x20 || c == 0x7f ||
            (c == 0xc2 && (unsigned char)s[i + 1] >= 0x80 &&
             (unsigned char)s[i + 1] <= 0x9f)) {
            free(s);
            return xr_error_set(err, XR_EINVAL, texts[which].invalid, name,
                                "%s contains a control character", name);
        }
    }
    *out = s;
    return XR_OK;
}

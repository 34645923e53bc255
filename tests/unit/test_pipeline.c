/*
 * The query pipeline (adapter/query.c) on its own: a fake service module,
 * a fake transport and a fake audit store, no event loop, no network.
 * Every verdict class, the order of the audit records against the
 * exchange, the follow-up, the three places where the daemon's and the
 * CLI's pipelines once disagreed, synchronous and later completions, and
 * the one rule for caller-supplied texts.
 */
#include "test_helpers.h"

#include "query.h"
#include "services/soap.h"
#include "services/vtj_call.h"

#define FAKE_NS "urn:example:fake"

/* ---- the fake service module ----------------------------------------- */

struct fake_call {
    enum xr_status body_rc;         /* what body() returns */
    enum xr_status decode_rc;       /* what decode() returns */
    enum adp_service_result result; /* what result() says */
    int follow_ups;                 /* follow_up() says yes this often */
    unsigned bodies, decodes, follows;
    char subject[16];
};

static enum xr_status fake_body(void *call, char **xml, size_t *len,
                                struct xr_error *err)
{
    struct fake_call *c = call;
    static const char b[] = "<" XRT_SERVICE_CODE " xmlns=\"" FAKE_NS "\"/>";

    c->bodies++;
    *xml = NULL;
    if (c->body_rc != XR_OK)
        return xr_error_set(err, c->body_rc,
                            c->body_rc == XR_EINVAL ? "invalid_hetu"
                                                    : "out_of_memory",
                            "", "fake body refused");
    *xml = strdup(b);
    *len = sizeof(b) - 1;
    return XR_OK;
}

static void fake_body_free(char *xml, size_t len)
{
    (void)len;
    free(xml);
}

static enum xr_status fake_decode(void *call, const struct xr_response *resp,
                                  struct xr_error *err)
{
    struct fake_call *c = call;

    c->decodes++;
    assert_non_null(xr_response_body(resp));
    if (c->decode_rc != XR_OK)
        return xr_error_set(err, c->decode_rc, "not_vtj_response", "",
                            "fake decode refused");
    return XR_OK;
}

static enum adp_service_result fake_result(const void *call,
                                           const char **outcome,
                                           const char **code)
{
    const struct fake_call *c = call;

    *outcome = c->result == ADP_SERVICE_DATA      ? "found"
               : c->result == ADP_SERVICE_NO_DATA ? "not_found"
                                                  : "credentials_error";
    *code = c->result == ADP_SERVICE_DATA ? "0000" : "0001";
    return c->result;
}

static const char *fake_subject(const void *call)
{
    const struct fake_call *c = call;

    return c->subject;
}

static const char *fake_product(const void *call)
{
    (void)call;
    return "PRODUCT";
}

static bool fake_follow_up(void *call)
{
    struct fake_call *c = call;

    if (c->follow_ups <= 0)
        return false;
    c->follow_ups--;
    c->follows++;
    snprintf(c->subject, sizeof(c->subject), "second");
    return true;
}

static const struct adp_service_ops fake_service = {
    .name = "fake",
    .body = fake_body,
    .body_free = fake_body_free,
    .decode = fake_decode,
    .result = fake_result,
    .subject = fake_subject,
    .product = fake_product,
    .follow_up = fake_follow_up,
};

/* ---- the fake transport -------------------------------------------------- */

struct fake_net {
    bool grant_later;        /* acquire queues instead of granting */
    enum xr_status start_rc; /* what exchange() returns */
    unsigned acquires, exchanges, releases;
    unsigned intents_at_send; /* audit intents durable when sent */
    struct adp_query *q;      /* the query that asked */
    uint8_t *sent;            /* copy of the last request bytes */
    size_t sent_len;
    char sent_type[XR_MIME_CTYPE_MAX]; /* its Content-Type, "" = text/xml */
    struct fake_audit *audit;          /* to check the order */
};

/* ---- the fake audit store ------------------------------------------------ */

struct fake_audit {
    bool later;                 /* complete on deliver, not at once */
    enum xr_status submit_rc;   /* what intent()/outcome() return */
    bool intent_ok, outcome_ok; /* what the completions say */
    unsigned intents, outcomes; /* submissions accepted */
    unsigned durable_intents;   /* completed ok */
    char classes[4][64];        /* result_class of each outcome */
    bool response_digest[4];    /* the outcome carried a response hash */
    char subjects[4][16];
    unsigned closes;           /* outcomes recorded without waiting */
    struct adp_query *pending; /* a later completion to deliver */
    bool pending_ok;
};

static void net_acquire(void *ctx, struct adp_query *q)
{
    struct fake_net *n = ctx;

    n->acquires++;
    n->q = q;
    adp_query_net_slot(q)->queued = true;
    if (!n->grant_later) {
        adp_query_net_slot(q)->queued = false;
        adp_query_net_slot(q)->holds = true;
        adp_query_on_slot(q);
    }
}

static enum xr_status net_exchange(void *ctx, struct adp_query *q,
                                   const struct adp_config_ss *ss,
                                   const struct adp_query_wire *w,
                                   struct xr_error *err)
{
    struct fake_net *n = ctx;
    const uint8_t *bytes = w->bytes;
    size_t len = w->len;

    (void)ss;
    assert_true(adp_query_net_slot(q)->holds);
    if (n->start_rc != XR_OK)
        return xr_error_set(err, n->start_rc, "curl_error", "",
                            "fake start failed");
    n->exchanges++;
    n->intents_at_send = n->audit ? n->audit->durable_intents : 0;
    free(n->sent);
    n->sent = malloc(len);
    memcpy(n->sent, bytes, len);
    n->sent_len = len;
    snprintf(n->sent_type, sizeof(n->sent_type), "%s",
             w->content_type ? w->content_type : "");
    return XR_OK;
}

static void net_release(void *ctx, struct adp_query *q)
{
    struct fake_net *n = ctx;
    struct adp_query_net_slot *s = adp_query_net_slot(q);

    if (s->holds || s->queued)
        n->releases++;
    s->holds = false;
    s->queued = false;
}

static enum xr_status audit_submit(struct fake_audit *a, struct adp_query *q,
                                   bool ok, struct xr_error *err)
{
    if (a->submit_rc != XR_OK)
        return xr_error_set(err, a->submit_rc, "too_large", "",
                            "fake store refused the record");
    if (a->later) {
        a->pending = q;
        a->pending_ok = ok;
    } else {
        adp_query_on_durable(q, ok, ok ? NULL : "fake commit failed");
    }
    return XR_OK;
}

static enum xr_status audit_intent(void *ctx, struct adp_query *q,
                                   const struct adp_audit_intent *in,
                                   struct xr_error *err)
{
    struct fake_audit *a = ctx;

    assert_non_null(in->message_id);
    assert_non_null(in->request_sha512);
    assert_string_equal(in->end_user, "u1");
    assert_string_equal(in->purpose, "case 1");
    if (a->submit_rc == XR_OK) {
        snprintf(a->subjects[a->intents % 4], 16, "%s", in->subject);
        a->intents++;
        if (a->intent_ok && !a->later)
            a->durable_intents++;
    }
    return audit_submit(a, q, a->intent_ok, err);
}

static enum xr_status audit_outcome(void *ctx, struct adp_query *q,
                                    const struct adp_audit_outcome *o,
                                    struct xr_error *err)
{
    struct fake_audit *a = ctx;

    if (a->submit_rc == XR_OK) {
        snprintf(a->classes[a->outcomes % 4], 64, "%s", o->result_class);
        a->response_digest[a->outcomes % 4] =
            o->response_sha512 != NULL || o->response != NULL;
        a->outcomes++;
    }
    return audit_submit(a, q, a->outcome_ok, err);
}

static void audit_close(void *ctx, const struct adp_audit_outcome *o)
{
    struct fake_audit *a = ctx;

    snprintf(a->classes[a->outcomes % 4], 64, "%s", o->result_class);
    a->outcomes++;
    a->closes++;
}

/* Deliver a later audit completion. */
static void audit_deliver(struct fake_audit *a)
{
    struct adp_query *q = a->pending;

    assert_non_null(q);
    a->pending = NULL;
    if (a->pending_ok && a->intents > a->durable_intents &&
        a->outcomes < a->intents)
        a->durable_intents++;
    adp_query_on_durable(q, a->pending_ok, a->pending_ok ? NULL : "later");
}

/* ---- a world: one query with its fakes ----------------------------------- */

struct world {
    struct fake_call call;
    struct fake_net net;
    struct fake_audit audit;
    struct adp_query_net net_if;
    struct adp_query_audit audit_if;
    struct adp_config_ss ss;
    struct xr_id client, service;
    struct adp_query *q;
    struct adp_verdict v; /* copy of the verdict */
    unsigned dones;
    char *answer; /* the last rendered answer */
};

static void on_done(struct adp_query *q, const struct adp_verdict *v, void *ctx)
{
    struct world *w = ctx;

    assert_ptr_equal(q, w->q);
    w->v = *v;
    w->dones++;
}

static void world_init(struct world *w, bool with_audit)
{
    struct adp_query_params p;
    struct xr_error err;

    memset(w, 0, sizeof(*w));
    w->call.result = ADP_SERVICE_DATA;
    snprintf(w->call.subject, sizeof(w->call.subject), "first");
    w->audit.intent_ok = w->audit.outcome_ok = true;
    w->net.audit = with_audit ? &w->audit : NULL;
    w->net_if = (struct adp_query_net){&w->net, net_acquire, net_exchange,
                                       net_release, NULL};
    w->audit_if = (struct adp_query_audit){&w->audit, audit_intent,
                                           audit_outcome, audit_close};
    w->ss.max_response_bytes = 1u << 20;
    XRT_ASSERT_OK(xr_id_parse_client(XRT_CLIENT, &w->client, &err), err);
    XRT_ASSERT_OK(xr_id_parse_service(XRT_SERVICE, &w->service, &err), err);
    memset(&p, 0, sizeof(p));
    p.svc = &fake_service;
    p.call = &w->call;
    p.client = &w->client;
    p.service = &w->service;
    p.user_id = "u1";
    p.issue = "case 1";
    p.caller = "test";
    p.ss = &w->ss;
    p.net = &w->net_if;
    p.audit = with_audit ? &w->audit_if : NULL;
    p.done = on_done;
    p.done_ctx = w;
    XRT_ASSERT_OK(adp_query_new(&p, &w->q, &err), err);
}

static void world_free(struct world *w)
{
    adp_query_free(w->q);
    free(w->net.sent);
    free(w->answer);
}

/* An answer to the last request sent: echo, requestHash, and `body` (NULL:
 * a <serviceCode>Response wrapper). */
static const char *answer(struct world *w, const char *body)
{
    struct xr_request *req = NULL;
    struct xr_error err;
    struct xrt_msg m;
    size_t len;

    assert_non_null(w->net.sent);
    XRT_ASSERT_OK(
        xr_request_parse(NULL, w->net.sent, w->net.sent_len, NULL, &req, &err),
        err);
    xrt_msg_echo(&m, req, true);
    if (body)
        snprintf(m.body, sizeof(m.body), "%s", body);
    free(w->answer);
    w->answer = xrt_msg_render(&m, &len);
    xr_request_free(req);
    return w->answer;
}

#define FAULT_BODY                                                           \
    "<SOAP-ENV:Fault><faultcode>Server.ServerProxy.AccessDenied</faultcode>" \
    "<faultstring>no</faultstring><detail><faultDetail>d-1</faultDetail>"    \
    "</detail></SOAP-ENV:Fault>"

static const char fault_doc[] =
    "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" XR_NS_SOAP11
    "\"><SOAP-ENV:Body>" FAULT_BODY "</SOAP-ENV:Body></SOAP-ENV:Envelope>";

/* Deliver an exchange result: HTTP `status` with `body` (NULL = none). */
static void deliver(struct world *w, enum adp_xfer_class cls, long status,
                    const char *body)
{
    struct adp_xfer_result res;

    memset(&res, 0, sizeof(res));
    res.cls = cls;
    res.http_status = status;
    res.content_type = "text/xml; charset=UTF-8";
    res.body = (const uint8_t *)(body ? body : "");
    res.body_len = body ? strlen(body) : 0;
    res.total_ms = 12;
    snprintf(res.message, sizeof(res.message), "fake %s",
             adp_xfer_class_name(cls));
    adp_query_on_exchange(w->q, &res);
}

/* Start and answer one exchange; returns the verdict class. */
static enum adp_verdict_class run_one(struct world *w, enum adp_xfer_class cls,
                                      long status, const char *body)
{
    adp_query_start(w->q);
    assert_int_equal(w->net.exchanges, 1);
    assert_int_equal(w->dones, 0);
    deliver(w, cls, status, body);
    assert_int_equal(w->dones, 1);
    return w->v.cls;
}

/* ---- verdicts ------------------------------------------------------------ */

static void test_data_order_of_records(void **state)
{
    struct world w;

    (void)state;
    world_init(&w, true);
    adp_query_start(w.q);
    /* The intent was durable before anything was sent. */
    assert_int_equal(w.audit.intents, 1);
    assert_int_equal(w.net.intents_at_send, 1);
    assert_int_equal(w.audit.outcomes, 0);
    deliver(&w, ADP_XFER_OK, 200, answer(&w, NULL));
    assert_int_equal(w.dones, 1);
    assert_int_equal(w.v.cls, ADP_VERDICT_DATA);
    assert_string_equal(w.v.outcome, "found");
    assert_string_equal(w.v.return_code, "0000");
    assert_true(w.v.sent);
    assert_int_equal(w.v.http_status, 200);
    assert_int_equal(w.v.steps, 1);
    assert_int_equal(w.v.upstream_us, 12000);
    assert_non_null(w.v.message_id);
    assert_int_equal(strlen(w.v.message_id), 36);
    /* The outcome, with the answer's digest, before the verdict. */
    assert_int_equal(w.audit.outcomes, 1);
    assert_string_equal(w.audit.classes[0], "found");
    assert_true(w.audit.response_digest[0]);
    assert_string_equal(w.audit.subjects[0], "first");
    assert_int_equal(w.net.acquires, 1);
    assert_int_equal(w.net.releases, 1);
    world_free(&w);
}

static void test_no_data_and_service_error(void **state)
{
    struct world w;

    (void)state;
    world_init(&w, true);
    w.call.result = ADP_SERVICE_NO_DATA;
    adp_query_start(w.q);
    deliver(&w, ADP_XFER_OK, 200, answer(&w, NULL));
    assert_int_equal(w.v.cls, ADP_VERDICT_NO_DATA);
    world_free(&w);
    world_init(&w, true);
    adp_query_start(w.q);
    w.call.result = ADP_SERVICE_ERROR;
    deliver(&w, ADP_XFER_OK, 200, answer(&w, NULL));
    assert_int_equal(w.v.cls, ADP_VERDICT_SERVICE_ERROR);
    assert_string_equal(w.v.outcome, "credentials_error");
    assert_string_equal(w.audit.classes[0], "credentials_error");
    world_free(&w);
}

static void test_fault(void **state)
{
    struct world w;

    (void)state;
    world_init(&w, true);
    adp_query_start(w.q);
    deliver(&w, ADP_XFER_OK, 200, answer(&w, FAULT_BODY));
    assert_int_equal(w.v.cls, ADP_VERDICT_FAULT);
    assert_non_null(w.v.fault);
    assert_int_equal(w.v.fault->origin, XR_ORIGIN_SERVER_PROXY);
    assert_string_equal(w.v.fault->detail, "d-1");
    assert_string_equal(w.audit.classes[0], "fault");
    assert_int_equal(w.call.decodes, 0);
    world_free(&w);
    /* A fault without any header (as security servers send them). */
    world_init(&w, true);
    assert_int_equal(run_one(&w, ADP_XFER_OK, 200, fault_doc),
                     ADP_VERDICT_FAULT);
    world_free(&w);
}

static void test_invalid(void **state)
{
    struct world w;
    char *bad;

    (void)state;
    world_init(&w, true);
    adp_query_start(w.q);
    /* One byte of the requestHash changed. */
    bad = strdup(answer(&w, NULL));
    {
        char *h = strstr(bad, "algorithmId=");
        h = strchr(strchr(h, '>'), '>') + 1;
        *h = *h == 'A' ? 'B' : 'A';
    }
    deliver(&w, ADP_XFER_OK, 200, bad);
    assert_int_equal(w.v.cls, ADP_VERDICT_INVALID);
    assert_string_equal(w.v.err->reason, "request_hash_mismatch");
    assert_string_equal(w.audit.classes[0], "invalid_response");
    free(bad);
    world_free(&w);
    /* The module refuses the answer. */
    world_init(&w, true);
    w.call.decode_rc = XR_EPROTO;
    adp_query_start(w.q);
    deliver(&w, ADP_XFER_OK, 200, answer(&w, NULL));
    assert_int_equal(w.v.cls, ADP_VERDICT_INVALID);
    assert_string_equal(w.v.err->reason, "not_vtj_response");
    world_free(&w);
}

static void test_transport(void **state)
{
    struct world w;

    (void)state;
    world_init(&w, true);
    assert_int_equal(run_one(&w, ADP_XFER_TIMEOUT, 0, NULL),
                     ADP_VERDICT_TRANSPORT);
    assert_int_equal(w.v.transport, ADP_XFER_TIMEOUT);
    assert_string_equal(w.v.err->reason, "timeout");
    assert_string_equal(w.v.err->msg, "fake timeout");
    assert_string_equal(w.audit.classes[0], "transport_error");
    /* No answer came: no response digest is recorded. */
    assert_false(w.audit.response_digest[0]);
    world_free(&w);
}

/* Disagreement 1: a status other than 200/500 with a valid, non-fault
 * answer is http_status, never decoded. */
static void test_other_status_valid_answer(void **state)
{
    struct world w;

    (void)state;
    world_init(&w, true);
    adp_query_start(w.q);
    deliver(&w, ADP_XFER_HTTP_STATUS, 404, answer(&w, NULL));
    assert_int_equal(w.v.cls, ADP_VERDICT_TRANSPORT);
    assert_int_equal(w.v.transport, ADP_XFER_HTTP_STATUS);
    assert_int_equal(w.v.http_status, 404);
    assert_int_equal(w.call.decodes, 0);
    /* The body that came is still recorded. */
    assert_true(w.audit.response_digest[0]);
    world_free(&w);
    /* ... unless it is a fault, which says more. */
    world_init(&w, true);
    assert_int_equal(run_one(&w, ADP_XFER_HTTP_STATUS, 503, fault_doc),
                     ADP_VERDICT_FAULT);
    world_free(&w);
}

/* Disagreement 2: HTTP 500 with an unusable body is http_status, not an
 * invalid answer; 500 with a usable answer is judged as 200 is. */
static void test_500(void **state)
{
    struct world w;

    (void)state;
    world_init(&w, true);
    assert_int_equal(run_one(&w, ADP_XFER_OK, 500, "<html>oops</html>"),
                     ADP_VERDICT_TRANSPORT);
    assert_int_equal(w.v.transport, ADP_XFER_HTTP_STATUS);
    assert_non_null(strstr(w.v.err->msg, "HTTP 500"));
    world_free(&w);
    world_init(&w, true);
    adp_query_start(w.q);
    deliver(&w, ADP_XFER_OK, 500, answer(&w, NULL));
    assert_int_equal(w.v.cls, ADP_VERDICT_DATA);
    world_free(&w);
    world_init(&w, true);
    assert_int_equal(run_one(&w, ADP_XFER_OK, 500, fault_doc),
                     ADP_VERDICT_FAULT);
    world_free(&w);
}

/* Disagreement 3: temporary identity codes are refused on the VTJ
 * service's production instance, whatever the client's instance. */
static void test_temporary_hetu_by_service_instance(void **state)
{
    struct vtj_credentials cred = {"user", "secret"};
    struct vtj_call_params p;
    struct vtj_call *c = NULL;
    struct xr_error err;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.product = "PERUSSANOMA 3";
    p.hetu = "010101-999X"; /* individual number 999: temporary */
    p.end_user = "u1";
    p.cred = &cred;
    p.service_instance = "FI";
    XRT_ASSERT_REASON(vtj_call_new(&p, &c, &err), err, "temporary_hetu");
    assert_null(c);
    p.service_instance = "FI-TEST";
    XRT_ASSERT_OK(vtj_call_new(&p, &c, &err), err);
    vtj_call_free(c);
}

static void test_rejected_and_internal(void **state)
{
    struct world w;

    (void)state;
    world_init(&w, true);
    w.call.body_rc = XR_EINVAL;
    adp_query_start(w.q);
    assert_int_equal(w.dones, 1);
    assert_int_equal(w.v.cls, ADP_VERDICT_REJECTED);
    assert_string_equal(w.v.err->reason, "invalid_hetu");
    assert_false(w.v.sent);
    assert_int_equal(w.net.exchanges, 0);
    assert_int_equal(w.audit.intents, 0);
    assert_int_equal(w.net.releases, 1); /* the slot went back */
    world_free(&w);
    world_init(&w, true);
    w.call.body_rc = XR_ENOMEM;
    adp_query_start(w.q);
    assert_int_equal(w.v.cls, ADP_VERDICT_INTERNAL);
    assert_int_equal(w.net.exchanges, 0);
    world_free(&w);
}

static void test_audit_failures(void **state)
{
    struct world w;

    (void)state;
    /* The store refuses the intent at once: nothing is sent. */
    world_init(&w, true);
    w.audit.submit_rc = XR_ELIMIT;
    adp_query_start(w.q);
    assert_int_equal(w.v.cls, ADP_VERDICT_AUDIT);
    assert_false(w.v.sent);
    assert_int_equal(w.net.exchanges, 0);
    world_free(&w);
    /* The intent's commit fails later: nothing is sent. */
    world_init(&w, true);
    w.audit.later = true;
    w.audit.intent_ok = false;
    adp_query_start(w.q);
    assert_int_equal(w.dones, 0);
    audit_deliver(&w.audit);
    assert_int_equal(w.dones, 1);
    assert_int_equal(w.v.cls, ADP_VERDICT_AUDIT);
    assert_false(w.v.sent);
    assert_string_equal(w.v.err->msg, "later");
    assert_int_equal(w.net.exchanges, 0);
    /* The intent may still be committed later: it is closed. */
    assert_int_equal(w.audit.closes, 1);
    assert_string_equal(w.audit.classes[0], "not_sent");
    world_free(&w);
    /* The outcome's commit fails: the answer is withheld. */
    world_init(&w, true);
    w.audit.outcome_ok = false;
    adp_query_start(w.q);
    deliver(&w, ADP_XFER_OK, 200, answer(&w, NULL));
    assert_int_equal(w.v.cls, ADP_VERDICT_AUDIT);
    assert_true(w.v.sent);
    world_free(&w);
}

static void test_exchange_start_fails(void **state)
{
    struct world w;

    (void)state;
    world_init(&w, true);
    w.net.start_rc = XR_ENOMEM;
    adp_query_start(w.q);
    assert_int_equal(w.dones, 1);
    assert_int_equal(w.v.cls, ADP_VERDICT_TRANSPORT);
    assert_int_equal(w.v.transport, ADP_XFER_INTERNAL);
    assert_false(w.v.sent);
    /* The intent is closed by an outcome. */
    assert_int_equal(w.audit.outcomes, 1);
    assert_string_equal(w.audit.classes[0], "transport_error");
    world_free(&w);
}

static void test_follow_up(void **state)
{
    struct world w;
    const char *ids[ADP_QUERY_MAX_STEPS + 1];

    (void)state;
    world_init(&w, true);
    w.call.result = ADP_SERVICE_NO_DATA;
    w.call.follow_ups = 5; /* the pipeline stops at ADP_QUERY_MAX_STEPS */
    adp_query_start(w.q);
    deliver(&w, ADP_XFER_OK, 200, answer(&w, NULL));
    assert_int_equal(w.dones, 0);
    assert_int_equal(w.net.exchanges, 2);
    w.call.result = ADP_SERVICE_DATA;
    deliver(&w, ADP_XFER_OK, 200, answer(&w, NULL));
    assert_int_equal(w.dones, 1);
    assert_int_equal(w.v.cls, ADP_VERDICT_DATA);
    assert_int_equal(w.v.steps, 2);
    assert_int_equal(w.call.follows, 1);
    assert_int_equal(w.net.acquires, 2);
    assert_int_equal(w.audit.intents, 2);
    assert_int_equal(w.audit.outcomes, 2);
    assert_string_equal(w.audit.subjects[1], "second");
    assert_int_equal(adp_query_message_ids(w.q, ids, 3), 2);
    assert_string_not_equal(ids[0], ids[1]);
    assert_string_equal(ids[1], w.v.message_id);
    assert_int_equal(w.v.upstream_us, 24000);
    world_free(&w);
    /* A failed exchange is never followed up. */
    world_init(&w, true);
    w.call.follow_ups = 1;
    assert_int_equal(run_one(&w, ADP_XFER_TRUNCATED, 0, NULL),
                     ADP_VERDICT_TRANSPORT);
    assert_int_equal(w.call.follows, 0);
    world_free(&w);
}

static void test_without_audit(void **state)
{
    struct world w;

    (void)state;
    world_init(&w, false);
    adp_query_start(w.q);
    deliver(&w, ADP_XFER_OK, 200, answer(&w, NULL));
    assert_int_equal(w.v.cls, ADP_VERDICT_DATA);
    assert_int_equal(w.audit.intents, 0);
    world_free(&w);
}

/* Completions that come later, one by one. */
static void test_later_completions(void **state)
{
    struct world w;

    (void)state;
    world_init(&w, true);
    w.net.grant_later = true;
    w.audit.later = true;
    adp_query_start(w.q);
    /* Waiting for a slot holds nothing: no body built. */
    assert_int_equal(w.call.bodies, 0);
    adp_query_net_slot(w.q)->queued = false;
    adp_query_net_slot(w.q)->holds = true;
    adp_query_on_slot(w.q);
    assert_int_equal(w.call.bodies, 1);
    assert_int_equal(w.net.exchanges, 0);
    audit_deliver(&w.audit); /* intent durable */
    assert_int_equal(w.net.exchanges, 1);
    deliver(&w, ADP_XFER_OK, 200, answer(&w, NULL));
    assert_int_equal(w.dones, 0);
    audit_deliver(&w.audit); /* outcome durable */
    assert_int_equal(w.dones, 1);
    assert_int_equal(w.v.cls, ADP_VERDICT_DATA);
    assert_true(w.v.audit_us >= 0);
    /* Stray completions after done change nothing. */
    adp_query_on_slot(w.q);
    adp_query_on_durable(w.q, false, "late");
    assert_int_equal(w.dones, 1);
    world_free(&w);
}

static void test_free_while_waiting(void **state)
{
    struct world w;

    (void)state;
    world_init(&w, true);
    w.net.grant_later = true;
    adp_query_start(w.q);
    world_free(&w); /* releases its place in the queue */
    assert_int_equal(w.net.releases, 1);
    assert_int_equal(w.dones, 0);
}

/* ---- caller-supplied texts ------------------------------------------------
 */

static void test_texts(void **state)
{
    static const struct {
        const char *in;
        const char *want; /* NULL: refused with reason */
        const char *reason;
    } cases[] = {
        {"maija", "maija", NULL},
        {"  maija \t\r\n", "maija", NULL},
        {"asia 2026/123 ", "asia 2026/123", NULL},
        {"K\xc3\xa4ytt\xc3\xa4j\xc3\xa4", "K\xc3\xa4ytt\xc3\xa4j\xc3\xa4",
         NULL},
        {"", NULL, "missing_end_user"},
        {" \t ", NULL, "missing_end_user"},
        {"a\tb", NULL, "invalid_end_user"},
        {"a\nb", NULL, "invalid_end_user"},
        {"a\x7f", NULL, "invalid_end_user"},
        {"a\x01", NULL, "invalid_end_user"},
        {"a\xc2\x85z", NULL, "invalid_end_user"}, /* U+0085 NEL */
        {"a\xc2\x9fz", NULL, "invalid_end_user"}, /* U+009F */
        {"a\xc2\xa0z", "a\xc2\xa0z", NULL},       /* U+00A0 is text */
        {"\xff\xfe", NULL, "invalid_end_user"},
        {"0123456789abcdefg", NULL, "end_user_too_long"},
    };
    struct xr_error err;
    char *out;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum xr_status st =
            adp_query_text(ADP_TEXT_END_USER, cases[i].in, 16, &out, &err);
        if (cases[i].want) {
            XRT_ASSERT_OK(st, err);
            assert_string_equal(out, cases[i].want);
            free(out);
        } else {
            XRT_ASSERT_REASON_FIELD(st, err, cases[i].reason, "end_user");
            assert_null(out);
        }
    }
    XRT_ASSERT_REASON(adp_query_text(ADP_TEXT_PURPOSE, NULL, 10, &out, &err),
                      err, "missing_purpose");
}

/* ---- the generic SOAP module: attachments both ways ---------------------- */

static void soap_world(struct world *w, struct soap_call *call)
{
    struct adp_query_params p;
    struct xr_error err;

    world_init(w, true);
    adp_query_free(w->q);
    memset(&p, 0, sizeof(p));
    p.svc = &soap_service;
    p.call = call;
    p.client = &w->client;
    p.service = &w->service;
    p.user_id = "u1";
    p.issue = "case 1";
    p.caller = "test";
    p.ss = &w->ss;
    p.net = &w->net_if;
    p.audit = &w->audit_if;
    p.done = on_done;
    p.done_ctx = w;
    XRT_ASSERT_OK(adp_query_new(&p, &w->q, &err), err);
}

static void test_soap_attachments(void **state)
{
    static const char payload[] =
        "<" XRT_SERVICE_CODE " xmlns=\"urn:x\"><a>1</a></" XRT_SERVICE_CODE ">";
    static const uint8_t bin[] = {0, 1, 2, '\r', '\n', '-', '-', 0xff};
    struct xr_part in[2], out[2];
    struct soap_call_params sp;
    struct soap_call *call = NULL;
    const struct soap_answer *a;
    struct xr_request *req = NULL;
    struct xr_mime *m = NULL;
    struct xr_error err;
    struct xrt_msg msg;
    struct adp_xfer_result res;
    struct world w;
    uint8_t *wire = NULL, digest[64];
    size_t wire_len = 0, soap_len;
    char ct[XR_MIME_CTYPE_MAX], *soap;

    (void)state;
    memset(in, 0, sizeof(in));
    snprintf(in[0].content_type, sizeof(in[0].content_type),
             "application/octet-stream");
    snprintf(in[0].content_id, sizeof(in[0].content_id), "bin@x");
    in[0].data.ptr = bin;
    in[0].data.len = sizeof(bin);
    snprintf(in[1].content_type, sizeof(in[1].content_type), "text/plain");
    in[1].data.ptr = (const uint8_t *)"hello";
    in[1].data.len = 5;
    memset(&sp, 0, sizeof(sp));
    sp.payload = (const uint8_t *)payload;
    sp.payload_len = sizeof(payload) - 1;
    sp.parts = in;
    sp.nparts = 2;
    sp.subject = "case-42";
    XRT_ASSERT_OK(soap_call_new(&sp, &call, &err), err);
    soap_world(&w, call);
    adp_query_start(w.q);
    assert_int_equal(w.net.exchanges, 1);

    /* The wire: the SOAP message first, then the parts unchanged. */
    assert_non_null(strstr(w.net.sent_type, "multipart/related"));
    XRT_ASSERT_OK(xr_mime_parse(w.net.sent_type, w.net.sent, w.net.sent_len,
                                NULL, &m, &err),
                  err);
    assert_int_equal(xr_mime_count(m), 3);
    assert_non_null(strstr(xr_mime_part(m, 0)->content_type, "text/xml"));
    assert_int_equal(xr_mime_part(m, 1)->data.len, sizeof(bin));
    assert_memory_equal(xr_mime_part(m, 1)->data.ptr, bin, sizeof(bin));
    assert_string_equal(xr_mime_part(m, 1)->content_id, "bin@x");
    assert_memory_equal(xr_mime_part(m, 2)->data.ptr, "hello", 5);
    /* The audit digest is the SOAP part's (what requestHash covers). */
    XRT_ASSERT_OK(xr_request_parse(w.net.sent_type, w.net.sent, w.net.sent_len,
                                   NULL, &req, &err),
                  err);
    xr_request_sha512(req, digest);
    assert_int_equal(xr_request_bytes(req).len, xr_mime_part(m, 0)->data.len);
    assert_string_equal(w.audit.subjects[0], "case-42");

    /* The answer: a wrapper and one attachment back. */
    xrt_msg_echo(&msg, req, true);
    snprintf(msg.body, sizeof(msg.body),
             "<p:" XRT_SERVICE_CODE
             "Response xmlns:p=\"urn:x\">ok</p:" XRT_SERVICE_CODE "Response>");
    soap = xrt_msg_render(&msg, &soap_len);
    memset(out, 0, sizeof(out));
    snprintf(out[0].content_type, sizeof(out[0].content_type),
             "text/xml; charset=UTF-8");
    out[0].data.ptr = (const uint8_t *)soap;
    out[0].data.len = soap_len;
    snprintf(out[1].content_type, sizeof(out[1].content_type), "image/png");
    snprintf(out[1].content_id, sizeof(out[1].content_id), "back@x");
    out[1].data.ptr = bin;
    out[1].data.len = sizeof(bin);
    XRT_ASSERT_OK(xr_mime_write(out, 2, &wire, &wire_len, ct, &err), err);
    memset(&res, 0, sizeof(res));
    res.cls = ADP_XFER_OK;
    res.http_status = 200;
    res.content_type = ct;
    res.body = wire;
    res.body_len = wire_len;
    adp_query_on_exchange(w.q, &res);
    assert_int_equal(w.dones, 1);
    assert_int_equal(w.v.cls, ADP_VERDICT_DATA);
    assert_string_equal(w.v.outcome, "ok");
    assert_string_equal(w.audit.classes[0], "ok");
    a = soap_call_answer(call);
    assert_non_null(a);
    assert_false(a->mtom);
    assert_int_equal(a->nparts, 1);
    assert_string_equal(a->parts[0].content_id, "back@x");
    assert_memory_equal(a->parts[0].data.ptr, bin, sizeof(bin));
    assert_non_null(strstr((const char *)a->xml, "xmlns:p=\"urn:x\""));
    free(wire);
    free(soap);
    xr_request_free(req);
    xr_mime_free(m);
    world_free(&w);
    soap_call_free(call);
}

/* MTOM: the SOAP part goes as an xop root; a payload without the
 * serviceCode's name is refused before anything is sent. */
static void test_soap_mtom_and_refusal(void **state)
{
    static const char payload[] = "<" XRT_SERVICE_CODE " xmlns=\"urn:x\"/>";
    static const char wrong[] = "<other xmlns=\"urn:x\"/>";
    struct xr_part in;
    struct soap_call_params sp;
    struct soap_call *call = NULL;
    struct xr_error err;
    struct world w;

    (void)state;
    memset(&in, 0, sizeof(in));
    snprintf(in.content_type, sizeof(in.content_type), "image/png");
    snprintf(in.content_id, sizeof(in.content_id), "img@x");
    in.data.ptr = (const uint8_t *)"PNG";
    in.data.len = 3;
    memset(&sp, 0, sizeof(sp));
    sp.payload = (const uint8_t *)payload;
    sp.payload_len = sizeof(payload) - 1;
    sp.parts = &in;
    sp.nparts = 1;
    sp.mtom = true;
    XRT_ASSERT_OK(soap_call_new(&sp, &call, &err), err);
    soap_world(&w, call);
    adp_query_start(w.q);
    assert_non_null(strstr(w.net.sent_type, "type=\"application/xop+xml\""));
    deliver(&w, ADP_XFER_CONNECT_FAILED, 0, NULL);
    world_free(&w);
    soap_call_free(call);

    sp.payload = (const uint8_t *)wrong;
    sp.payload_len = sizeof(wrong) - 1;
    XRT_ASSERT_OK(soap_call_new(&sp, &call, &err), err);
    soap_world(&w, call);
    adp_query_start(w.q);
    assert_int_equal(w.dones, 1);
    assert_int_equal(w.v.cls, ADP_VERDICT_REJECTED);
    assert_int_equal(w.net.exchanges, 0);
    assert_int_equal(w.audit.intents, 0);
    world_free(&w);
    soap_call_free(call);

    sp.payload = NULL;
    XRT_ASSERT_REASON(soap_call_new(&sp, &call, &err), err, "missing_payload");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_order_of_records),
        cmocka_unit_test(test_no_data_and_service_error),
        cmocka_unit_test(test_fault),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_transport),
        cmocka_unit_test(test_other_status_valid_answer),
        cmocka_unit_test(test_500),
        cmocka_unit_test(test_temporary_hetu_by_service_instance),
        cmocka_unit_test(test_rejected_and_internal),
        cmocka_unit_test(test_audit_failures),
        cmocka_unit_test(test_exchange_start_fails),
        cmocka_unit_test(test_follow_up),
        cmocka_unit_test(test_without_audit),
        cmocka_unit_test(test_later_completions),
        cmocka_unit_test(test_free_while_waiting),
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_soap_attachments),
        cmocka_unit_test(test_soap_mtom_and_refusal),
    };

    return cmocka_run_group_tests_name("pipeline", tests, xrt_group_setup,
                                       xrt_group_teardown);
}

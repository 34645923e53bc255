/*
 * The metaservice and operational-monitoring service modules
 * (services/meta.h, services/opmon.h) in the real query pipeline
 * (query.c) with a fake transport and audit store: what is sent, how
 * answers, faults and invalid answers end, and what the audit trail gets.
 */
#include <zlib.h>

#include "test_helpers.h"

#include "query.h"
#include "services/meta.h"
#include "services/opmon.h"

#define PROVIDER "SUBSYSTEM:FI-TEST/GOV/0245437-2/vayla-echo"
#define SERVER   "SERVER:FI-TEST/MUN/0101263-6/ss1"
#define BOUNDARY "svc-b"

/* ---- a fake transport and audit store ----------------------------------- */

struct world {
    struct adp_query_net net;
    struct adp_query_audit audit;
    struct adp_config_ss ss;
    struct xr_id client, service;
    struct adp_query *q;
    struct adp_verdict v;
    unsigned dones;
    uint8_t *sent;
    size_t sent_len;
    char subject[128];
    char outcome[64];
    unsigned intents, outcomes;
};

static void net_acquire(void *ctx, struct adp_query *q)
{
    (void)ctx;
    adp_query_net_slot(q)->holds = true;
    adp_query_on_slot(q);
}

static enum xr_status net_exchange(void *ctx, struct adp_query *q,
                                   const struct adp_config_ss *ss,
                                   const struct adp_query_wire *wire,
                                   struct xr_error *err)
{
    struct world *w = ctx;
    const uint8_t *bytes = wire->bytes;
    size_t len = wire->len;

    (void)q;
    (void)ss;
    (void)err;
    free(w->sent);
    w->sent = malloc(len + 1);
    memcpy(w->sent, bytes, len);
    w->sent[len] = '\0';
    w->sent_len = len;
    return XR_OK;
}

static void net_release(void *ctx, struct adp_query *q)
{
    (void)ctx;
    adp_query_net_slot(q)->holds = false;
}

static enum xr_status audit_intent(void *ctx, struct adp_query *q,
                                   const struct adp_audit_intent *in,
                                   struct xr_error *err)
{
    struct world *w = ctx;

    (void)err;
    w->intents++;
    snprintf(w->subject, sizeof(w->subject), "%s",
             in->subject ? in->subject : "(none)");
    assert_null(in->product);
    adp_query_on_durable(q, true, NULL);
    return XR_OK;
}

static enum xr_status audit_outcome(void *ctx, struct adp_query *q,
                                    const struct adp_audit_outcome *o,
                                    struct xr_error *err)
{
    struct world *w = ctx;

    (void)err;
    w->outcomes++;
    snprintf(w->outcome, sizeof(w->outcome), "%s", o->result_class);
    adp_query_on_durable(q, true, NULL);
    return XR_OK;
}

static void audit_close(void *ctx, const struct adp_audit_outcome *o)
{
    (void)ctx;
    (void)o;
    fail_msg("no intent may fail here");
}

static void on_done(struct adp_query *q, const struct adp_verdict *v, void *ctx)
{
    struct world *w = ctx;

    (void)q;
    w->v = *v;
    w->dones++;
}

static void world_start(struct world *w, const struct adp_service_ops *svc,
                        void *call)
{
    struct adp_query_params p;
    struct xr_error err;

    w->net =
        (struct adp_query_net){w, net_acquire, net_exchange, net_release, NULL};
    w->audit =
        (struct adp_query_audit){w, audit_intent, audit_outcome, audit_close};
    w->ss.max_response_bytes = 1u << 22;
    XRT_ASSERT_OK(xr_id_parse_client(XRT_CLIENT, &w->client, &err), err);
    memset(&p, 0, sizeof(p));
    p.svc = svc;
    p.call = call;
    p.client = &w->client;
    p.service = &w->service;
    p.user_id = "operator";
    p.issue = "metaservice";
    p.caller = "test";
    p.ss = &w->ss;
    p.net = &w->net;
    p.audit = &w->audit;
    p.done = on_done;
    p.done_ctx = w;
    XRT_ASSERT_OK(adp_query_new(&p, &w->q, &err), err);
    adp_query_start(w->q);
    assert_non_null(w->sent);
    assert_int_equal(w->dones, 0);
}

static void world_free(struct world *w)
{
    adp_query_free(w->q);
    free(w->sent);
}

/* Answer the request sent: its header echoed, `body` in Body, and when
 * att is not NULL one attachment (multipart). */
static void respond(struct world *w, const char *body, const char *att_type,
                    const char *cid, const void *att, size_t att_len)
{
    struct xr_request *req = NULL;
    struct adp_xfer_result res;
    struct xrt_buf b = {0};
    struct xr_error err;
    struct xrt_msg m;
    size_t len;
    char *text;

    XRT_ASSERT_OK(
        xr_request_parse(NULL, w->sent, w->sent_len, NULL, &req, &err), err);
    xrt_msg_echo(&m, req, true);
    m.body_dyn = body;
    text = xrt_msg_render(&m, &len);
    memset(&res, 0, sizeof(res));
    res.cls = ADP_XFER_OK;
    res.http_status = 200;
    if (att) {
        xrt_buf_adds(&b, "--" BOUNDARY "\r\nContent-Type: text/xml\r\n\r\n");
        xrt_buf_addn(&b, text, len);
        xrt_buf_addf(&b,
                     "\r\n--" BOUNDARY "\r\nContent-Type: %s\r\n"
                     "Content-ID: <%s>\r\n\r\n",
                     att_type, cid);
        xrt_buf_addn(&b, att, att_len);
        xrt_buf_adds(&b, "\r\n--" BOUNDARY "--\r\n");
        res.content_type = "multipart/related; type=\"text/xml\"; "
                           "boundary=" BOUNDARY;
        res.body = (const uint8_t *)b.p;
        res.body_len = b.len;
    } else {
        res.content_type = "text/xml; charset=UTF-8";
        res.body = (const uint8_t *)text;
        res.body_len = len;
    }
    adp_query_on_exchange(w->q, &res);
    assert_int_equal(w->dones, 1);
    xrt_buf_free(&b);
    free(text);
    xr_request_free(req);
}

/* ---- listMethods / allowedMethods -------------------------------------- */

#define ECHO_SERVICE                                                           \
    "<xrd:service id:objectType=\"SERVICE\"><id:xRoadInstance>FI-TEST"         \
    "</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>"   \
    "0245437-2</id:memberCode><id:subsystemCode>vayla-echo</id:subsystemCode>" \
    "<id:serviceCode>echo</id:serviceCode><id:serviceVersion>v1"               \
    "</id:serviceVersion></xrd:service>"

static void test_service_ids(void **state)
{
    struct xr_id provider, out, server;
    struct xr_error err;
    char text[XR_ID_TEXT_MAX];
    (void)state;

    XRT_ASSERT_OK(xr_id_parse_client(PROVIDER, &provider, &err), err);
    XRT_ASSERT_OK(
        meta_service_id(&provider, XR_META_KIND_ALLOWED_METHODS, &out, &err),
        err);
    xr_id_format(&out, true, text, sizeof(text));
    assert_string_equal(text, "SERVICE:FI-TEST/GOV/0245437-2/vayla-echo/"
                              "allowedMethods");
    XRT_ASSERT_OK(xr_id_parse_client("FI-TEST/GOV/0245437-2", &provider, &err),
                  err);
    XRT_ASSERT_OK(meta_service_id(&provider, XR_META_KIND_GET_WSDL, &out, &err),
                  err);
    xr_id_format(&out, false, text, sizeof(text));
    assert_string_equal(text, "FI-TEST/GOV/0245437-2/getWsdl");
    XRT_ASSERT_REASON(
        meta_service_id(&out, XR_META_KIND_LIST_METHODS, &out, &err), err,
        "invalid_id");
    XRT_ASSERT_REASON(
        meta_service_id(&provider, XR_META_KIND_OPMON, &out, &err), err,
        "invalid_argument");
    XRT_ASSERT_OK(xr_id_parse_server(SERVER, &server, &err), err);
    XRT_ASSERT_OK(opmon_service_id(&server, &out, &err), err);
    xr_id_format(&out, true, text, sizeof(text));
    assert_string_equal(text, "SERVICE:FI-TEST/MUN/0101263-6/"
                              "getSecurityServerOperationalData");
    XRT_ASSERT_REASON(opmon_service_id(&provider, &out, &err), err,
                      "invalid_id");
}

static void test_list_methods(void **state)
{
    struct meta_call_params p = {XR_META_KIND_LIST_METHODS, NULL, NULL, NULL};
    struct meta_call *call = NULL;
    struct world w;
    struct xr_error err;
    const struct xr_id *ids;
    struct xr_id provider;
    (void)state;

    memset(&w, 0, sizeof(w));
    XRT_ASSERT_OK(meta_call_new(&p, &call, &err), err);
    XRT_ASSERT_OK(xr_id_parse_client(PROVIDER, &provider, &err), err);
    XRT_ASSERT_OK(meta_service_id(&provider, p.kind, &w.service, &err), err);
    world_start(&w, &meta_service, call);
    /* The body is the empty wrapper in the X-Road namespace. */
    assert_non_null(strstr((const char *)w.sent,
                           "<xrd:listMethods xmlns:xrd=\"" XR_NS_XROAD
                           "\"/></SOAP-ENV:Body>"));
    respond(&w,
            "<xrd:listMethodsResponse>" ECHO_SERVICE ECHO_SERVICE
            "</xrd:listMethodsResponse>",
            NULL, NULL, NULL, 0);
    assert_int_equal(w.v.cls, ADP_VERDICT_DATA);
    assert_string_equal(w.v.outcome, "listed");
    assert_int_equal(meta_call_services(call, &ids), 2);
    assert_string_equal(ids[1].service_version, "v1");
    assert_string_equal(w.subject, "(none)");
    assert_string_equal(w.outcome, "listed");
    world_free(&w);
    meta_call_free(call);
}

static void test_allowed_methods_fault_and_invalid(void **state)
{
    struct meta_call_params p = {XR_META_KIND_ALLOWED_METHODS, NULL, NULL,
                                 NULL};
    struct meta_call *call = NULL;
    struct world w;
    struct xr_error err;
    struct xr_id provider;
    const struct xr_id *ids;
    (void)state;

    XRT_ASSERT_OK(meta_call_new(&p, &call, &err), err);
    XRT_ASSERT_OK(xr_id_parse_client(PROVIDER, &provider, &err), err);
    memset(&w, 0, sizeof(w));
    XRT_ASSERT_OK(meta_service_id(&provider, p.kind, &w.service, &err), err);
    world_start(&w, &meta_service, call);
    respond(&w,
            "<SOAP-ENV:Fault><faultcode>Server.ClientProxy.UnknownMember"
            "</faultcode><faultstring>no</faultstring></SOAP-ENV:Fault>",
            NULL, NULL, NULL, 0);
    assert_int_equal(w.v.cls, ADP_VERDICT_FAULT);
    assert_int_equal(w.v.fault->origin, XR_ORIGIN_CLIENT_PROXY);
    assert_string_equal(w.outcome, "fault");
    world_free(&w);

    /* A listMethods answer to allowedMethods is not a usable answer. */
    memset(&w, 0, sizeof(w));
    XRT_ASSERT_OK(meta_service_id(&provider, p.kind, &w.service, &err), err);
    world_start(&w, &meta_service, call);
    respond(&w,
            "<xrd:allowedMethodsResponse><xrd:x/>"
            "</xrd:allowedMethodsResponse>",
            NULL, NULL, NULL, 0);
    assert_int_equal(w.v.cls, ADP_VERDICT_INVALID);
    assert_string_equal(w.v.err->reason, "meta_invalid");
    assert_string_equal(w.outcome, "invalid_response");
    assert_int_equal(meta_call_services(call, &ids), 0);
    world_free(&w);
    meta_call_free(call);
}

/* ---- getWsdl ------------------------------------------------------------ */

#define WSDL                                                             \
    "<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" " \
    "name=\"echo\"/>"

static void test_get_wsdl(void **state)
{
    struct meta_call_params p = {XR_META_KIND_GET_WSDL, "echo", "v1", NULL};
    struct meta_call *call = NULL;
    struct world w;
    struct xr_error err;
    struct xr_id provider;
    struct xr_bytes b;
    (void)state;

    XRT_ASSERT_OK(meta_call_new(&p, &call, &err), err);
    XRT_ASSERT_OK(xr_id_parse_client(PROVIDER, &provider, &err), err);
    memset(&w, 0, sizeof(w));
    XRT_ASSERT_OK(meta_service_id(&provider, p.kind, &w.service, &err), err);
    world_start(&w, &meta_service, call);
    assert_non_null(strstr((const char *)w.sent,
                           "<xrd:serviceCode>echo</xrd:serviceCode>"
                           "<xrd:serviceVersion>v1</xrd:serviceVersion>"));
    respond(&w,
            "<xrd:getWsdlResponse><xrd:serviceCode>echo</xrd:serviceCode>"
            "<xrd:serviceVersion>v1</xrd:serviceVersion>"
            "</xrd:getWsdlResponse>",
            "text/xml", "wsdl", WSDL, strlen(WSDL));
    assert_int_equal(w.v.cls, ADP_VERDICT_DATA);
    assert_string_equal(w.v.outcome, "wsdl");
    b = meta_call_wsdl(call);
    assert_int_equal(b.len, strlen(WSDL));
    assert_memory_equal(b.ptr, WSDL, b.len);
    assert_string_equal(w.subject, "echo/v1");
    world_free(&w);

    /* The answer names another version. */
    memset(&w, 0, sizeof(w));
    XRT_ASSERT_OK(meta_service_id(&provider, p.kind, &w.service, &err), err);
    world_start(&w, &meta_service, call);
    respond(&w,
            "<xrd:getWsdlResponse><xrd:serviceCode>echo</xrd:serviceCode>"
            "<xrd:serviceVersion>v2</xrd:serviceVersion>"
            "</xrd:getWsdlResponse>",
            "text/xml", "wsdl", WSDL, strlen(WSDL));
    assert_int_equal(w.v.cls, ADP_VERDICT_INVALID);
    assert_string_equal(w.v.err->reason, "wsdl_mismatch");
    assert_null(meta_call_wsdl(call).ptr);
    world_free(&w);
    meta_call_free(call);

    /* Refused before anything exists. */
    p.service_code = "a/b";
    XRT_ASSERT_REASON(meta_call_new(&p, &call, &err), err, "invalid_id");
    p.kind = XR_META_KIND_OPMON;
    XRT_ASSERT_REASON(meta_call_new(&p, &call, &err), err, "invalid_argument");
}

/* ---- operational data ---------------------------------------------------- */

static char *gzip_text(const char *s, size_t *out_len)
{
    size_t len = strlen(s), cap = compressBound((uLong)len) + 64;
    unsigned char *out = malloc(cap);
    z_stream z;

    memset(&z, 0, sizeof(z));
    assert_int_equal(
        deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
        Z_OK);
    z.next_in = (Bytef *)(uintptr_t)s;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = z.total_out;
    deflateEnd(&z);
    return (char *)out;
}

#define OPMON_BODY(n)                                                      \
    "<om:getSecurityServerOperationalDataResponse xmlns:om=\"" XR_NS_OPMON \
    "\"><om:recordsCount>" n "</om:recordsCount><om:records>cid:d"         \
    "</om:records><om:nextRecordsFrom>1780000060</om:nextRecordsFrom>"     \
    "</om:getSecurityServerOperationalDataResponse>"

static void test_opmon(void **state)
{
    static const char *const fields[] = {"messageId", "succeeded"};
    struct opmon_call_params p = {1780000000, 1780000100, NULL,
                                  fields,     2,          NULL};
    struct opmon_call *call = NULL;
    struct world w;
    struct xr_error err;
    struct xr_id server;
    size_t gz_len;
    char *gz = gzip_text("{\"records\":[{\"messageId\":\"a\",\"succeeded\":"
                         "true},{\"messageId\":\"b\",\"succeeded\":false}]}",
                         &gz_len);
    int64_t next = 0;
    (void)state;

    XRT_ASSERT_OK(opmon_call_new(&p, &call, &err), err);
    assert_null(opmon_call_result(call));
    XRT_ASSERT_OK(xr_id_parse_server(SERVER, &server, &err), err);
    memset(&w, 0, sizeof(w));
    XRT_ASSERT_OK(opmon_service_id(&server, &w.service, &err), err);
    world_start(&w, &opmon_service, call);
    assert_non_null(strstr((const char *)w.sent,
                           "<om:outputSpec><om:outputField>messageId"));
    respond(&w, OPMON_BODY("2"), "application/gzip", "d", gz, gz_len);
    assert_int_equal(w.v.cls, ADP_VERDICT_DATA);
    assert_string_equal(w.v.outcome, "records");
    assert_int_equal(xr_opmon_result_count(opmon_call_result(call)), 2);
    assert_true(xr_opmon_result_next(opmon_call_result(call), &next));
    assert_int_equal(next, 1780000060);
    assert_string_equal(w.subject, "records 1780000000..1780000100");
    world_free(&w);

    /* A count that does not match: invalid, and the old page is gone. */
    memset(&w, 0, sizeof(w));
    XRT_ASSERT_OK(opmon_service_id(&server, &w.service, &err), err);
    world_start(&w, &opmon_service, call);
    respond(&w, OPMON_BODY("3"), "application/gzip", "d", gz, gz_len);
    assert_int_equal(w.v.cls, ADP_VERDICT_INVALID);
    assert_string_equal(w.v.err->reason, "opmon_count_mismatch");
    assert_null(opmon_call_result(call));
    world_free(&w);
    opmon_call_free(call);
    free(gz);

    p.records_to = p.records_from - 1;
    XRT_ASSERT_REASON(opmon_call_new(&p, &call, &err), err, "meta_invalid");
    assert_null(call);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_ids),
        cmocka_unit_test(test_list_methods),
        cmocka_unit_test(test_allowed_methods_fault_and_invalid),
        cmocka_unit_test(test_get_wsdl),
        cmocka_unit_test(test_opmon),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("meta_service", tests, xrt_group_setup,
                                       xrt_group_teardown);
}

/*
 * libxroad operational monitoring (meta.h, PR-OPMON): the request body and
 * its reader, the JSON records field by field, and whole answers with the
 * gzip'd attachment (decompression cap, corrupt and trailing data, count,
 * nextRecordsFrom).
 */
#include <zlib.h>

#include "test_helpers.h"

#define OWNER_SERVICE \
    "SERVICE:FI-TEST/MUN/0101263-6/getSecurityServerOperationalData"
#define BOUNDARY "opmon-b"
#define CID      "operational-monitoring-data.json.gz"

/* A full record: every field of the protocol's schema. */
#define FULL_RECORD                                                       \
    "{\"monitoringDataTs\":1780000001,\"securityServerInternalIp\":"      \
    "\"10.0.0.1\",\"securityServerType\":\"Client\",\"requestInTs\":"     \
    "1780000000100,\"requestOutTs\":1780000000110,\"responseInTs\":"      \
    "1780000000200,\"responseOutTs\":1780000000210,"                      \
    "\"clientXRoadInstance\":\"FI-TEST\",\"clientMemberClass\":\"MUN\","  \
    "\"clientMemberCode\":\"0101263-6\",\"clientSubsystemCode\":"         \
    "\"vayla-demo\",\"serviceXRoadInstance\":\"FI-TEST\","                \
    "\"serviceMemberClass\":\"GOV\",\"serviceMemberCode\":\"0245437-2\"," \
    "\"serviceSubsystemCode\":\"vayla-echo\",\"serviceCode\":\"echo\","   \
    "\"serviceVersion\":\"v1\",\"representedPartyClass\":\"COM\","        \
    "\"representedPartyCode\":\"1234567-8\",\"messageId\":\"m-1\","       \
    "\"messageUserId\":\"u\",\"messageIssue\":\"case 1\","                \
    "\"messageProtocolVersion\":\"4.0\",\"clientSecurityServerAddress\":" \
    "\"ss1\",\"serviceSecurityServerAddress\":\"ss2\",\"requestSize\":"   \
    "1000,\"requestMimeSize\":1500,\"requestAttachmentCount\":1,"         \
    "\"responseSize\":900,\"responseMimeSize\":1400,"                     \
    "\"responseAttachmentCount\":1,\"succeeded\":true,\"serviceType\":"   \
    "\"WSDL\",\"statusCode\":200,\"xRoadVersion\":\"7.8.0\","             \
    "\"xRequestId\":\"r-1\",\"restMethod\":\"POST\",\"restPath\":\"/x\"," \
    "\"faultCode\":\"-\",\"faultString\":\"-\"}"

static char *gzip_text(const void *data, size_t len, size_t *out_len)
{
    z_stream z;
    size_t cap = compressBound((uLong)len) + 64;
    unsigned char *out = malloc(cap);

    assert_non_null(out);
    memset(&z, 0, sizeof(z));
    assert_int_equal(
        deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
        Z_OK);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = z.total_out;
    deflateEnd(&z);
    return (char *)out;
}

static struct xr_request *opmon_request(void)
{
    struct xr_opmon_query q = {1780000000, 1780000100, NULL, NULL, 0};
    struct xr_header h;
    struct xr_request *req = NULL;
    struct xr_error err;
    char *body = NULL;
    size_t len;

    XRT_ASSERT_OK(xr_opmon_body(&q, &body, &len, &err), err);
    xrt_std_header(&h);
    assert_int_equal(xr_id_parse_service(OWNER_SERVICE, &h.service, &err),
                     XR_OK);
    XRT_ASSERT_OK(xr_request_new(&h, (const uint8_t *)body, len, &req, &err),
                  err);
    free(body);
    return req;
}

/* The answer: SOAP part with `soap_body`, attachment of `ctype` with
 * `att` (NULL: none), judged against req. */
static enum xr_status opmon_answer(const struct xr_request *req,
                                   const char *soap_body, const char *ctype,
                                   const char *cid, const void *att,
                                   size_t att_len, struct xr_response **resp,
                                   struct xr_error *err)
{
    struct xrt_msg m;
    struct xrt_buf b = {0};
    size_t len;
    char *text;
    enum xr_status st;

    xrt_msg_echo(&m, req, true);
    m.body_dyn = soap_body;
    text = xrt_msg_render(&m, &len);
    xrt_buf_adds(&b, "--" BOUNDARY "\r\ncontent-type:text/xml\r\n\r\n");
    xrt_buf_addn(&b, text, len);
    if (att) {
        xrt_buf_adds(&b, "\r\n--" BOUNDARY "\r\n");
        xrt_buf_addf(&b,
                     "content-type:%s\r\ncontent-transfer-encoding: binary"
                     "\r\ncontent-id: <%s>\r\n\r\n",
                     ctype, cid);
        xrt_buf_addn(&b, att, att_len);
    }
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "--\r\n");
    st = xr_response_check(req,
                           "multipart/related; type=\"text/xml\"; "
                           "charset=UTF-8; boundary=" BOUNDARY,
                           (const uint8_t *)b.p, b.len, NULL, resp, err);
    free(text);
    xrt_buf_free(&b);
    return st;
}

#define SOAP_BODY(count, next)                                             \
    "<om:getSecurityServerOperationalDataResponse xmlns:om=\"" XR_NS_OPMON \
    "\"><om:recordsCount>" count "</om:recordsCount><om:records>cid:" CID  \
    "</om:records>" next "</om:getSecurityServerOperationalDataResponse>"

/* ---- the request ------------------------------------------------------- */

static void test_body_round_trip(void **state)
{
    static const char *const fields[] = {"messageId", "succeeded",
                                         "requestInTs", "faultCode"};
    struct xr_id client;
    struct xr_opmon_query q = {1780000000, 1780000100, &client, fields, 4};
    struct xr_opmon_request r;
    struct xr_header h;
    struct xr_request *req = NULL;
    struct xr_error err;
    char *body = NULL;
    size_t len;
    (void)state;

    assert_int_equal(xr_id_parse_client(XRT_CLIENT, &client, &err), XR_OK);
    XRT_ASSERT_OK(xr_opmon_body(&q, &body, &len, &err), err);
    assert_non_null(strstr(body, "<om:recordsFrom>1780000000</om:recordsFrom>"
                                 "<om:recordsTo>1780000100</om:recordsTo>"));
    assert_non_null(strstr(body, "<om:client id:objectType=\"SUBSYSTEM\">"));
    xrt_std_header(&h);
    assert_int_equal(xr_id_parse_service(OWNER_SERVICE, &h.service, &err),
                     XR_OK);
    XRT_ASSERT_OK(xr_request_new(&h, (const uint8_t *)body, len, &req, &err),
                  err);
    XRT_ASSERT_OK(xr_opmon_request_parse(xr_request_body(req), &r, &err), err);
    assert_int_equal(r.records_from, 1780000000);
    assert_int_equal(r.records_to, 1780000100);
    assert_true(r.has_client);
    assert_true(xr_id_equal(&r.client, &client));
    assert_int_equal(r.nfields, 4);
    assert_string_equal(r.fields[3], "faultCode");
    xr_request_free(req);
    free(body);

    /* Without a client and fields: no outputSpec at all. */
    q.client = NULL;
    q.nfields = 0;
    XRT_ASSERT_OK(xr_opmon_body(&q, &body, &len, &err), err);
    assert_null(strstr(body, "outputSpec"));
    assert_null(strstr(body, "om:client"));
    free(body);
}

static void test_body_refusals(void **state)
{
    static const char *const unknown[] = {"messageId", "hetu"};
    static const char *const twice[] = {"messageId", "messageId"};
    struct xr_id server;
    struct xr_opmon_query q = {10, 9, NULL, NULL, 0};
    struct xr_error err;
    char *body = NULL;
    size_t len;
    (void)state;

    XRT_ASSERT_REASON(xr_opmon_body(&q, &body, &len, &err), err,
                      "meta_invalid");
    q.records_from = -1;
    q.records_to = 5;
    XRT_ASSERT_REASON(xr_opmon_body(&q, &body, &len, &err), err,
                      "meta_invalid");
    q.records_from = 1;
    q.fields = unknown;
    q.nfields = 2;
    XRT_ASSERT_REASON(xr_opmon_body(&q, &body, &len, &err), err,
                      "meta_invalid");
    q.fields = twice;
    XRT_ASSERT_REASON(xr_opmon_body(&q, &body, &len, &err), err,
                      "meta_invalid");
    q.fields = NULL;
    q.nfields = XR_OPMON_FIELD_MAX + 1;
    XRT_ASSERT_REASON(xr_opmon_body(&q, &body, &len, &err), err,
                      "meta_invalid");
    q.nfields = 0;
    assert_int_equal(
        xr_id_parse_server("FI-TEST/MUN/0101263-6/ss1", &server, &err), XR_OK);
    q.client = &server;
    XRT_ASSERT_REASON(xr_opmon_body(&q, &body, &len, &err), err, "invalid_id");
    assert_null(body);
    assert_true(xr_opmon_field_is_known("xRoadVersion"));
    assert_false(xr_opmon_field_is_known("xRequestId"));
    assert_false(xr_opmon_field_is_known("MessageId"));
}

static void test_request_reader_refusals(void **state)
{
    static const char *bad[] = {
        "<om:getSecurityServerOperationalData xmlns:om=\"" XR_NS_OPMON "\"/>",
        "<om:getSecurityServerOperationalData xmlns:om=\"" XR_NS_OPMON "\">"
        "<om:searchCriteria><om:recordsFrom>1</om:recordsFrom>"
        "</om:searchCriteria></om:getSecurityServerOperationalData>",
        "<om:getSecurityServerOperationalData xmlns:om=\"" XR_NS_OPMON "\">"
        "<om:searchCriteria><om:recordsFrom>x</om:recordsFrom><om:recordsTo>1"
        "</om:recordsTo></om:searchCriteria>"
        "</om:getSecurityServerOperationalData>",
        "<om:getSecurityServerOperationalData xmlns:om=\"" XR_NS_OPMON "\">"
        "<om:searchCriteria><om:recordsFrom>99999999999999999999"
        "</om:recordsFrom><om:recordsTo>1</om:recordsTo></om:searchCriteria>"
        "</om:getSecurityServerOperationalData>",
        "<om:getSecurityServerOperationalData xmlns:om=\"" XR_NS_OPMON "\">"
        "<om:searchCriteria><om:recordsFrom>1</om:recordsFrom><om:recordsTo>1"
        "</om:recordsTo></om:searchCriteria><om:other/>"
        "</om:getSecurityServerOperationalData>",
        "<om:getSecurityServerOperationalData xmlns:om=\"" XR_NS_OPMON "\">"
        "<om:searchCriteria><om:recordsFrom>1</om:recordsFrom><om:recordsTo>1"
        "</om:recordsTo></om:searchCriteria><om:outputSpec><om:x/>"
        "</om:outputSpec></om:getSecurityServerOperationalData>",
        "<getSecurityServerOperationalData/>",
    };
    struct xr_opmon_request r;
    struct xr_header h;
    struct xr_error err;
    (void)state;

    xrt_std_header(&h);
    assert_int_equal(xr_id_parse_service(OWNER_SERVICE, &h.service, &err),
                     XR_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xr_request *req = NULL;
        XRT_ASSERT_OK(xr_request_new(&h, (const uint8_t *)bad[i],
                                     strlen(bad[i]), &req, &err),
                      err);
        XRT_ASSERT_REASON(
            xr_opmon_request_parse(xr_request_body(req), &r, &err), err,
            "meta_invalid");
        xr_request_free(req);
    }
}

/* ---- the records ------------------------------------------------------- */

static void test_full_record(void **state)
{
    static const char text[] = "{\"records\":[" FULL_RECORD "]}";
    struct xr_opmon_result *r = NULL;
    const struct xr_opmon_record *rec;
    struct xr_error err;
    struct xr_id id;
    char s[XR_ID_TEXT_MAX];
    (void)state;

    XRT_ASSERT_OK(xr_opmon_records_parse((const uint8_t *)text, strlen(text),
                                         NULL, &r, &err),
                  err);
    assert_int_equal(xr_opmon_result_count(r), 1);
    rec = xr_opmon_result_get(r, 0);
    assert_int_equal(rec->has_num, (1u << XR_OPMON_NUM_COUNT) - 1);
    for (int i = 0; i < XR_OPMON_STR_COUNT; i++)
        if (!rec->str[i])
            fail_msg("%s missing", xr_opmon_str_name((enum xr_opmon_str)i));
    assert_int_equal(rec->num[XR_OPMON_MONITORING_DATA_TS], 1780000001);
    assert_int_equal(rec->num[XR_OPMON_REQUEST_IN_TS], 1780000000100LL);
    assert_string_equal(rec->str[XR_OPMON_MESSAGE_ID], "m-1");
    assert_true(rec->has_succeeded && rec->succeeded);
    assert_true(xr_opmon_record_client(rec, &id));
    xr_id_format(&id, true, s, sizeof(s));
    assert_string_equal(s, "SUBSYSTEM:FI-TEST/MUN/0101263-6/vayla-demo");
    assert_true(xr_opmon_record_service(rec, &id));
    xr_id_format(&id, true, s, sizeof(s));
    assert_string_equal(s, "SERVICE:FI-TEST/GOV/0245437-2/vayla-echo/echo/v1");
    assert_null(xr_opmon_result_get(r, 1));
    assert_string_equal(xr_opmon_num_name(XR_OPMON_STATUS_CODE), "statusCode");
    assert_string_equal(xr_opmon_str_name(XR_OPMON_X_REQUEST_ID), "xRequestId");
    xr_opmon_result_free(r);
}

static void test_partial_records(void **state)
{
    /* A projection (outputSpec), nulls, a member client, a field of a
     * later protocol version, a multi-line fault string. */
    static const char text[] =
        " {\"future\":{\"a\":[1,2,{\"b\":null}]},\"records\":["
        "{\"messageId\":\"a\",\"succeeded\":false,\"faultCode\":"
        "\"Server.ServerProxy.AccessDenied\",\"faultString\":"
        "\"Request is not allowed:\\n\\tline 2\",\"requestInTs\":null,"
        "\"clientXRoadInstance\":\"FI\",\"clientMemberClass\":\"GOV\","
        "\"clientMemberCode\":\"1\",\"clientSubsystemCode\":null,"
        "\"newField2030\":\"x\"},{}]} ";
    struct xr_opmon_result *r = NULL;
    const struct xr_opmon_record *rec;
    struct xr_error err;
    struct xr_id id;
    int64_t next;
    (void)state;

    XRT_ASSERT_OK(xr_opmon_records_parse((const uint8_t *)text, strlen(text),
                                         NULL, &r, &err),
                  err);
    assert_int_equal(xr_opmon_result_count(r), 2);
    rec = xr_opmon_result_get(r, 0);
    assert_int_equal(rec->has_num, 0);
    assert_true(rec->has_succeeded);
    assert_false(rec->succeeded);
    assert_string_equal(rec->str[XR_OPMON_FAULT_STRING],
                        "Request is not allowed:\n\tline 2");
    assert_null(rec->str[XR_OPMON_CLIENT_SUBSYSTEM_CODE]);
    assert_true(xr_opmon_record_client(rec, &id));
    assert_int_equal(id.type, XR_ID_MEMBER);
    assert_false(xr_opmon_record_service(rec, &id));
    rec = xr_opmon_result_get(r, 1);
    assert_false(rec->has_succeeded);
    assert_false(xr_opmon_record_client(rec, &id));
    assert_false(xr_opmon_result_next(r, &next));
    xr_opmon_result_free(r);
}

static void test_record_refusals(void **state)
{
    static const struct {
        const char *text, *reason, *field;
    } cases[] = {
        {"{\"records\":[{\"requestInTs\":-1}]}", "opmon_invalid_field",
         "requestInTs"},
        {"{\"records\":[{\"requestInTs\":1.5}]}", "opmon_invalid_field", ""},
        {"{\"records\":[{\"requestInTs\":\"1\"}]}", "opmon_invalid_field",
         "requestInTs"},
        {"{\"records\":[{\"requestInTs\":99999999999999999999}]}",
         "opmon_invalid_field", ""},
        {"{\"records\":[{\"messageId\":1}]}", "opmon_invalid_field",
         "messageId"},
        {"{\"records\":[{\"messageId\":\"a\\nb\"}]}", "opmon_invalid_field",
         "messageId"},
        {"{\"records\":[{\"messageId\":\"a\\u0085b\"}]}", "opmon_invalid_field",
         "messageId"},
        {"{\"records\":[{\"messageId\":\"a\",\"messageId\":\"b\"}]}",
         "opmon_invalid_field", "messageId"},
        {"{\"records\":[{\"succeeded\":\"true\"}]}", "opmon_invalid_field",
         "succeeded"},
        {"{\"records\":[{\"succeeded\":true,\"succeeded\":true}]}",
         "opmon_invalid_field", "succeeded"},
        {"{\"records\":[{\"securityServerType\":\"Server\"}]}",
         "opmon_invalid_field", "securityServerType"},
        {"{\"records\":[{\"requestInTs\":true}]}", "opmon_invalid_field",
         "requestInTs"},
        {"{\"records\":[1]}", "opmon_invalid_json", "records"},
        {"{\"records\":{}}", "opmon_invalid_json", "records"},
        {"{\"records\":[],\"records\":[]}", "opmon_invalid_json", "records"},
        {"{\"other\":[]}", "opmon_invalid_json", "records"},
        {"[]", "opmon_invalid_json", ""},
        {"{\"records\":[]", "opmon_invalid_json", ""},
        {"{\"records\":[]}}", "opmon_invalid_json", ""},
        {"{\"records\":[{\"messageId\":\"\xff\"}]}", "opmon_invalid_json", ""},
        {"{\"records\":[{\"messageId\":\"a\tb\"}]}", "opmon_invalid_json", ""},
        {"{\"records\":[{\"messageId\":\"\\x\"}]}", "opmon_invalid_json", ""},
        {"{\"records\":[{\"messageId\":\"\\udc00\"}]}", "opmon_invalid_json",
         ""},
        {"{\"records\":[{\"x\":tru}]}", "opmon_invalid_json", ""},
        {"{\"records\":[{\"x\":01}]}", "opmon_invalid_json", ""},
        {"{\"records\":[{\"x\":1.}]}", "opmon_invalid_json", ""},
        {"", "opmon_invalid_json", ""},
    };
    struct xr_opmon_result *r = NULL;
    struct xr_error err;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum xr_status st =
            xr_opmon_records_parse((const uint8_t *)cases[i].text,
                                   strlen(cases[i].text), NULL, &r, &err);
        if (st == XR_OK)
            fail_msg("case %zu (%s) accepted", i, cases[i].text);
        XRT_ASSERT_REASON_FIELD(st, err, cases[i].reason, cases[i].field);
        assert_null(r);
    }
}

static void test_record_lengths(void **state)
{
    struct xrt_buf b = {0};
    struct xr_opmon_result *r = NULL;
    struct xr_error err;
    (void)state;

    /* 255 characters (two bytes each) pass, 256 do not. */
    xrt_buf_adds(&b, "{\"records\":[{\"messageId\":\"");
    xrt_buf_repeat(&b, "\xc3\xa4", 255);
    xrt_buf_adds(&b, "\"}]}");
    XRT_ASSERT_OK(
        xr_opmon_records_parse((const uint8_t *)b.p, b.len, NULL, &r, &err),
        err);
    xr_opmon_result_free(r);
    xrt_buf_free(&b);
    xrt_buf_adds(&b, "{\"records\":[{\"messageId\":\"");
    xrt_buf_repeat(&b, "a", 256);
    xrt_buf_adds(&b, "\"}]}");
    XRT_ASSERT_REASON_FIELD(
        xr_opmon_records_parse((const uint8_t *)b.p, b.len, NULL, &r, &err),
        err, "opmon_invalid_field", "messageId");
    xrt_buf_free(&b);
    /* faultString may have 2048. */
    xrt_buf_adds(&b, "{\"records\":[{\"faultString\":\"");
    xrt_buf_repeat(&b, "x", 2048);
    xrt_buf_adds(&b, "\"}]}");
    XRT_ASSERT_OK(
        xr_opmon_records_parse((const uint8_t *)b.p, b.len, NULL, &r, &err),
        err);
    xr_opmon_result_free(r);
    xrt_buf_free(&b);
    /* An unknown field's long string is skipped, not stored. */
    xrt_buf_adds(&b, "{\"records\":[{\"later\":\"");
    xrt_buf_repeat(&b, "y", 100000);
    xrt_buf_adds(&b, "\"}]}");
    XRT_ASSERT_OK(
        xr_opmon_records_parse((const uint8_t *)b.p, b.len, NULL, &r, &err),
        err);
    xr_opmon_result_free(r);
    xrt_buf_free(&b);
    /* A record with too many fields. */
    xrt_buf_adds(&b, "{\"records\":[{");
    for (int i = 0; i < 300; i++)
        xrt_buf_addf(&b, "%s\"f%d\":0", i ? "," : "", i);
    xrt_buf_adds(&b, "}]}");
    XRT_ASSERT_REASON(
        xr_opmon_records_parse((const uint8_t *)b.p, b.len, NULL, &r, &err),
        err, "opmon_invalid_json");
    xrt_buf_free(&b);
}

static void test_record_caps(void **state)
{
    struct xr_meta_limits items = {0, 3}, bytes = {64, 0};
    struct xr_opmon_result *r = NULL;
    struct xrt_buf b = {0};
    struct xr_error err;
    (void)state;

    xrt_buf_adds(&b, "{\"records\":[{},{},{}]}");
    XRT_ASSERT_OK(
        xr_opmon_records_parse((const uint8_t *)b.p, b.len, &items, &r, &err),
        err);
    assert_int_equal(xr_opmon_result_count(r), 3);
    xr_opmon_result_free(r);
    xrt_buf_free(&b);
    xrt_buf_adds(&b, "{\"records\":[{},{},{},{}]}");
    XRT_ASSERT_REASON(
        xr_opmon_records_parse((const uint8_t *)b.p, b.len, &items, &r, &err),
        err, "too_many");
    xrt_buf_free(&b);
    xrt_buf_adds(&b, "{\"records\":[");
    xrt_buf_repeat(&b, "{},", 30);
    xrt_buf_adds(&b, "{}]}");
    XRT_ASSERT_REASON(
        xr_opmon_records_parse((const uint8_t *)b.p, b.len, &bytes, &r, &err),
        err, "too_large");
    xrt_buf_free(&b);
    /* Nesting in a skipped field is capped. */
    xrt_buf_adds(&b, "{\"records\":[],\"x\":");
    xrt_buf_repeat(&b, "[", 5000);
    xrt_buf_repeat(&b, "]", 5000);
    xrt_buf_adds(&b, "}");
    XRT_ASSERT_REASON(
        xr_opmon_records_parse((const uint8_t *)b.p, b.len, NULL, &r, &err),
        err, "opmon_invalid_json");
    assert_int_equal(err.code, XR_ELIMIT);
    xrt_buf_free(&b);
}

/* ---- whole answers ----------------------------------------------------- */

static void test_answer_gzip(void **state)
{
    static const char json[] =
        "{\"records\":[" FULL_RECORD "," FULL_RECORD "]}";
    struct xr_request *req = opmon_request();
    struct xr_response *resp = NULL;
    struct xr_opmon_result *r = NULL;
    struct xr_error err;
    size_t gz_len;
    char *gz = gzip_text(json, strlen(json), &gz_len);
    int64_t next = 0;
    (void)state;

    XRT_ASSERT_OK(opmon_answer(req, SOAP_BODY("2", ""), "application/gzip", CID,
                               gz, gz_len, &resp, &err),
                  err);
    XRT_ASSERT_OK(xr_opmon_parse(resp, NULL, &r, &err), err);
    assert_int_equal(xr_opmon_result_count(r), 2);
    assert_false(xr_opmon_result_next(r, &next));
    xr_opmon_result_free(r);
    xr_response_free(resp);

    /* nextRecordsFrom, and a plain JSON attachment. */
    XRT_ASSERT_OK(opmon_answer(req,
                               SOAP_BODY("2", "<om:nextRecordsFrom>1780000050"
                                              "</om:nextRecordsFrom>"),
                               "application/json", CID, json, strlen(json),
                               &resp, &err),
                  err);
    XRT_ASSERT_OK(xr_opmon_parse(resp, NULL, &r, &err), err);
    assert_true(xr_opmon_result_next(r, &next));
    assert_int_equal(next, 1780000050);
    xr_opmon_result_free(r);
    xr_response_free(resp);

    /* recordsCount must match. */
    XRT_ASSERT_OK(opmon_answer(req, SOAP_BODY("3", ""), "application/gzip", CID,
                               gz, gz_len, &resp, &err),
                  err);
    XRT_ASSERT_REASON_FIELD(xr_opmon_parse(resp, NULL, &r, &err), err,
                            "opmon_count_mismatch", "recordsCount");
    assert_null(r);
    xr_response_free(resp);

    /* The reference must name the attachment. */
    XRT_ASSERT_OK(opmon_answer(req, SOAP_BODY("2", ""), "application/gzip",
                               "other.json.gz", gz, gz_len, &resp, &err),
                  err);
    XRT_ASSERT_REASON(xr_opmon_parse(resp, NULL, &r, &err), err,
                      "opmon_missing_attachment");
    xr_response_free(resp);
    XRT_ASSERT_OK(
        opmon_answer(req, SOAP_BODY("0", ""), NULL, NULL, NULL, 0, &resp, &err),
        err);
    XRT_ASSERT_REASON(xr_opmon_parse(resp, NULL, &r, &err), err,
                      "opmon_missing_attachment");
    xr_response_free(resp);

    /* Another media type. */
    XRT_ASSERT_OK(opmon_answer(req, SOAP_BODY("2", ""), "text/plain", CID, gz,
                               gz_len, &resp, &err),
                  err);
    XRT_ASSERT_REASON(xr_opmon_parse(resp, NULL, &r, &err), err,
                      "opmon_payload");
    xr_response_free(resp);
    free(gz);
    xr_request_free(req);
}

static void test_answer_gzip_damage(void **state)
{
    static const char json[] = "{\"records\":[" FULL_RECORD "]}";
    struct xr_request *req = opmon_request();
    struct xr_response *resp = NULL;
    struct xr_opmon_result *r = NULL;
    struct xr_error err;
    size_t gz_len;
    char *gz = gzip_text(json, strlen(json), &gz_len);
    char *copy = malloc(gz_len + 8);
    (void)state;

    assert_non_null(copy);
    /* Truncated. */
    XRT_ASSERT_OK(opmon_answer(req, SOAP_BODY("1", ""), "application/gzip", CID,
                               gz, gz_len / 2, &resp, &err),
                  err);
    XRT_ASSERT_REASON(xr_opmon_parse(resp, NULL, &r, &err), err,
                      "opmon_payload");
    xr_response_free(resp);
    /* A flipped byte in the data: CRC or stream error. */
    memcpy(copy, gz, gz_len);
    copy[gz_len / 2] ^= 0x55;
    XRT_ASSERT_OK(opmon_answer(req, SOAP_BODY("1", ""), "application/gzip", CID,
                               copy, gz_len, &resp, &err),
                  err);
    XRT_ASSERT_REASON(xr_opmon_parse(resp, NULL, &r, &err), err,
                      "opmon_payload");
    xr_response_free(resp);
    /* Data after the stream. */
    memcpy(copy, gz, gz_len);
    memcpy(copy + gz_len, "garbage!", 8);
    XRT_ASSERT_OK(opmon_answer(req, SOAP_BODY("1", ""), "application/gzip", CID,
                               copy, gz_len + 8, &resp, &err),
                  err);
    XRT_ASSERT_REASON(xr_opmon_parse(resp, NULL, &r, &err), err,
                      "opmon_payload");
    xr_response_free(resp);
    /* Not gzip at all. */
    XRT_ASSERT_OK(opmon_answer(req, SOAP_BODY("1", ""), "application/gzip", CID,
                               json, strlen(json), &resp, &err),
                  err);
    XRT_ASSERT_REASON(xr_opmon_parse(resp, NULL, &r, &err), err,
                      "opmon_payload");
    xr_response_free(resp);
    free(copy);
    free(gz);
    xr_request_free(req);
}

/* A small attachment that inflates beyond the cap is stopped at the cap,
 * not decompressed whole. */
static void test_answer_gzip_bomb(void **state)
{
    size_t n = 8u * 1024u * 1024u, gz_len;
    struct xrt_buf b = {0};
    struct xr_request *req = opmon_request();
    struct xr_response *resp = NULL;
    struct xr_opmon_result *r = NULL;
    struct xr_meta_limits lim = {1024u * 1024u, 0};
    struct xr_error err;
    char *gz;
    (void)state;

    xrt_buf_adds(&b, "{\"records\":[],\"x\":\"");
    xrt_buf_repeat(&b, "0", n);
    xrt_buf_adds(&b, "\"}");
    gz = gzip_text(b.p, b.len, &gz_len);
    assert_true(gz_len < 64u * 1024u);
    XRT_ASSERT_OK(opmon_answer(req, SOAP_BODY("0", ""), "application/gzip", CID,
                               gz, gz_len, &resp, &err),
                  err);
    XRT_ASSERT_REASON(xr_opmon_parse(resp, &lim, &r, &err), err, "too_large");
    assert_null(r);
    /* With the default cap (64 MiB) it is read, and the long unknown
     * field is skipped. */
    XRT_ASSERT_OK(xr_opmon_parse(resp, NULL, &r, &err), err);
    assert_int_equal(xr_opmon_result_count(r), 0);
    xr_opmon_result_free(r);
    xr_response_free(resp);
    free(gz);
    xrt_buf_free(&b);
    xr_request_free(req);
}

static void test_answer_soap_part(void **state)
{
    static const char *bad[] = {
        "<om:getSecurityServerOperationalDataResponse xmlns:om=\"" XR_NS_OPMON
        "\"><om:records>cid:" CID "</om:records>"
        "</om:getSecurityServerOperationalDataResponse>",
        "<om:getSecurityServerOperationalDataResponse xmlns:om=\"" XR_NS_OPMON
        "\"><om:recordsCount>-1</om:recordsCount><om:records>cid:" CID
        "</om:records></om:getSecurityServerOperationalDataResponse>",
        "<om:getSecurityServerOperationalDataResponse xmlns:om=\"" XR_NS_OPMON
        "\"><om:recordsCount>1</om:recordsCount><om:records>" CID
        "</om:records></om:getSecurityServerOperationalDataResponse>",
        "<om:getSecurityServerOperationalDataResponse xmlns:om=\"" XR_NS_OPMON
        "\"><om:recordsCount>1</om:recordsCount><om:records>cid:" CID
        "</om:records><om:nextRecordsFrom>-5</om:nextRecordsFrom>"
        "</om:getSecurityServerOperationalDataResponse>",
        "<om:getSecurityServerOperationalDataResponse xmlns:om=\"" XR_NS_OPMON
        "\"><om:recordsCount>1</om:recordsCount><om:records>cid:" CID
        "</om:records><om:extra/>"
        "</om:getSecurityServerOperationalDataResponse>",
        "<om:getSecurityServerOperationalDataResponse xmlns:om=\"urn:x\">"
        "<om:recordsCount>1</om:recordsCount><om:records>cid:" CID
        "</om:records></om:getSecurityServerOperationalDataResponse>",
    };
    struct xr_request *req = opmon_request();
    struct xr_response *resp = NULL;
    struct xr_opmon_result *r = NULL;
    struct xr_error err;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        XRT_ASSERT_OK(opmon_answer(req, bad[i], "application/json", CID,
                                   "{\"records\":[{}]}", 16, &resp, &err),
                      err);
        XRT_ASSERT_REASON(xr_opmon_parse(resp, NULL, &r, &err), err,
                          "meta_invalid");
        xr_response_free(resp);
    }
    xr_request_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_round_trip),
        cmocka_unit_test(test_body_refusals),
        cmocka_unit_test(test_request_reader_refusals),
        cmocka_unit_test(test_full_record),
        cmocka_unit_test(test_partial_records),
        cmocka_unit_test(test_record_refusals),
        cmocka_unit_test(test_record_lengths),
        cmocka_unit_test(test_record_caps),
        cmocka_unit_test(test_answer_gzip),
        cmocka_unit_test(test_answer_gzip_damage),
        cmocka_unit_test(test_answer_gzip_bomb),
        cmocka_unit_test(test_answer_soap_part),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("opmon", tests, xrt_group_setup,
                                       xrt_group_teardown);
}

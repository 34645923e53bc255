/*
 * libxroad metaservices (meta.h): request bodies, listClients (XML and
 * JSON), listMethods / allowedMethods, getWsdl, the request readers of a
 * security server, and the metaservice vectors of ../shared/vectors.
 * Operational monitoring is in test_opmon.c.
 */
#include "test_helpers.h"

#define PROVIDER "SUBSYSTEM:FI-TEST/GOV/0245437-2/vayla-echo"
#define NS_WSDL  "http://schemas.xmlsoap.org/wsdl/"
#define BOUNDARY "meta-boundary-7"

/* A request from XRT_CLIENT to PROVIDER's `code` with `body`. */
static struct xr_request *meta_request(const char *code, const char *body,
                                       size_t len)
{
    struct xr_header h;
    struct xr_request *req = NULL;
    struct xr_error err;
    char id[XR_ID_TEXT_MAX + 40];

    xrt_std_header(&h);
    snprintf(id, sizeof(id), "SERVICE:FI-TEST/GOV/0245437-2/vayla-echo/%s",
             code);
    assert_int_equal(xr_id_parse_service(id, &h.service, &err), XR_OK);
    XRT_ASSERT_OK(xr_request_new(&h, (const uint8_t *)body, len, &req, &err),
                  err);
    return req;
}

/* Judge `body_xml` as the answer to req (text/xml, or multipart with one
 * attachment when att is not NULL). */
static enum xr_status answer(const struct xr_request *req, const char *body_xml,
                             const char *att_type, const char *att,
                             size_t att_len, struct xr_response **resp,
                             struct xr_error *err)
{
    struct xrt_msg m;
    struct xrt_buf b = {0};
    size_t len;
    char *text;
    enum xr_status st;

    xrt_msg_echo(&m, req, true);
    m.body_dyn = body_xml;
    text = xrt_msg_render(&m, &len);
    if (!att) {
        st = xr_response_check(req, "text/xml; charset=UTF-8",
                               (const uint8_t *)text, len, NULL, resp, err);
        free(text);
        return st;
    }
    xrt_buf_adds(&b, "--" BOUNDARY "\r\nContent-Type: text/xml; "
                     "charset=UTF-8\r\n\r\n");
    xrt_buf_addn(&b, text, len);
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "\r\n");
    xrt_buf_addf(&b, "Content-Type: %s\r\nContent-ID: <wsdl-1>\r\n\r\n",
                 att_type);
    xrt_buf_addn(&b, att, att_len);
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "--\r\n");
    st = xr_response_check(req,
                           "multipart/related; type=\"text/xml\"; "
                           "charset=UTF-8; boundary=" BOUNDARY,
                           (const uint8_t *)b.p, b.len, NULL, resp, err);
    free(text);
    xrt_buf_free(&b);
    return st;
}

/* ---- request bodies ---------------------------------------------------- */

static void test_kind_of(void **state)
{
    (void)state;
    assert_int_equal(xr_meta_kind_of("listMethods"), XR_META_KIND_LIST_METHODS);
    assert_int_equal(xr_meta_kind_of("allowedMethods"),
                     XR_META_KIND_ALLOWED_METHODS);
    assert_int_equal(xr_meta_kind_of("getWsdl"), XR_META_KIND_GET_WSDL);
    assert_int_equal(xr_meta_kind_of("getSecurityServerOperationalData"),
                     XR_META_KIND_OPMON);
    assert_int_equal(xr_meta_kind_of("listmethods"), XR_META_NONE);
    assert_int_equal(xr_meta_kind_of("getState"), XR_META_NONE);
    assert_int_equal(xr_meta_kind_of(NULL), XR_META_NONE);
}

static void test_methods_body(void **state)
{
    struct xr_request *req;
    struct xr_error err;
    char *xml = NULL;
    size_t len = 0;
    (void)state;

    XRT_ASSERT_OK(
        xr_meta_methods_body(XR_META_KIND_LIST_METHODS, &xml, &len, &err), err);
    assert_string_equal(xml,
                        "<xrd:listMethods xmlns:xrd=\"" XR_NS_XROAD "\"/>");
    assert_int_equal(len, strlen(xml));
    /* The wrapper is acceptable to xr_request_new() and reads back. */
    req = meta_request("listMethods", xml, len);
    XRT_ASSERT_OK(xr_meta_methods_request_parse(
                      xr_request_body(req), XR_META_KIND_LIST_METHODS, &err),
                  err);
    XRT_ASSERT_REASON(
        xr_meta_methods_request_parse(xr_request_body(req),
                                      XR_META_KIND_ALLOWED_METHODS, &err),
        err, "meta_invalid");
    xr_request_free(req);
    free(xml);
    XRT_ASSERT_OK(
        xr_meta_methods_body(XR_META_KIND_ALLOWED_METHODS, &xml, &len, &err),
        err);
    assert_non_null(strstr(xml, "<xrd:allowedMethods "));
    free(xml);
    XRT_ASSERT_REASON(
        xr_meta_methods_body(XR_META_KIND_GET_WSDL, &xml, &len, &err), err,
        "invalid_argument");
    assert_null(xml);
}

static void test_methods_request_reader(void **state)
{
    static const char *bad[] = {
        /* an element child */
        "<xrd:listMethods xmlns:xrd=\"" XR_NS_XROAD "\"><xrd:x/>"
        "</xrd:listMethods>",
        /* no namespace, as xr_request_new() would build it by default */
        "<listMethods/>",
        /* another namespace */
        "<a:listMethods xmlns:a=\"urn:other\"/>",
    };
    struct xr_error err;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xr_request *req =
            meta_request("listMethods", bad[i], strlen(bad[i]));
        XRT_ASSERT_REASON(
            xr_meta_methods_request_parse(xr_request_body(req),
                                          XR_META_KIND_LIST_METHODS, &err),
            err, "meta_invalid");
        xr_request_free(req);
    }
    /* Text (white space) inside the wrapper is fine. */
    const char *ws = "<xrd:listMethods xmlns:xrd=\"" XR_NS_XROAD "\">\n  "
                     "</xrd:listMethods>";
    struct xr_request *req = meta_request("listMethods", ws, strlen(ws));
    XRT_ASSERT_OK(xr_meta_methods_request_parse(
                      xr_request_body(req), XR_META_KIND_LIST_METHODS, &err),
                  err);
    xr_request_free(req);
}

static void test_wsdl_body(void **state)
{
    struct xr_wsdl_request w;
    struct xr_request *req;
    struct xr_error err;
    char *xml = NULL;
    size_t len;
    (void)state;

    XRT_ASSERT_OK(xr_meta_wsdl_body("echo", "v1", &xml, &len, &err), err);
    assert_string_equal(xml, "<xrd:getWsdl xmlns:xrd=\"" XR_NS_XROAD "\">"
                             "<xrd:serviceCode>echo</xrd:serviceCode>"
                             "<xrd:serviceVersion>v1</xrd:serviceVersion>"
                             "</xrd:getWsdl>");
    req = meta_request("getWsdl", xml, len);
    XRT_ASSERT_OK(xr_meta_wsdl_request_parse(xr_request_body(req), &w, &err),
                  err);
    assert_string_equal(w.service_code, "echo");
    assert_string_equal(w.service_version, "v1");
    xr_request_free(req);
    free(xml);

    XRT_ASSERT_OK(xr_meta_wsdl_body("echo", NULL, &xml, &len, &err), err);
    assert_null(strstr(xml, "serviceVersion"));
    req = meta_request("getWsdl", xml, len);
    XRT_ASSERT_OK(xr_meta_wsdl_request_parse(xr_request_body(req), &w, &err),
                  err);
    assert_string_equal(w.service_version, "");
    xr_request_free(req);
    free(xml);
    XRT_ASSERT_OK(xr_meta_wsdl_body("echo", "", &xml, &len, &err), err);
    assert_null(strstr(xml, "serviceVersion"));
    free(xml);

    XRT_ASSERT_REASON_FIELD(xr_meta_wsdl_body("a b", NULL, &xml, &len, &err),
                            err, "invalid_id", "serviceCode");
    XRT_ASSERT_REASON_FIELD(xr_meta_wsdl_body("", NULL, &xml, &len, &err), err,
                            "invalid_id", "serviceCode");
    XRT_ASSERT_REASON_FIELD(xr_meta_wsdl_body("echo", "v<1", &xml, &len, &err),
                            err, "invalid_id", "serviceVersion");
    assert_null(xml);
}

static void test_wsdl_request_reader(void **state)
{
    static const char *bad[] = {
        "<xrd:getWsdl xmlns:xrd=\"" XR_NS_XROAD "\"/>",
        "<xrd:getWsdl xmlns:xrd=\"" XR_NS_XROAD "\"><xrd:serviceCode/>"
        "</xrd:getWsdl>",
        "<xrd:getWsdl xmlns:xrd=\"" XR_NS_XROAD "\"><xrd:serviceCode>a"
        "</xrd:serviceCode><xrd:serviceCode>b</xrd:serviceCode></xrd:getWsdl>",
        "<xrd:getWsdl xmlns:xrd=\"" XR_NS_XROAD "\"><xrd:serviceCode>a"
        "</xrd:serviceCode><xrd:other/></xrd:getWsdl>",
        "<xrd:getWsdl xmlns:xrd=\"" XR_NS_XROAD "\"><xrd:serviceCode><x/>"
        "</xrd:serviceCode></xrd:getWsdl>",
        "<xrd:getWsdl xmlns:xrd=\"" XR_NS_XROAD "\"><xrd:serviceCode>a&#x85;b"
        "</xrd:serviceCode></xrd:getWsdl>",
        "<getWsdl><serviceCode>a</serviceCode></getWsdl>",
    };
    struct xr_wsdl_request w;
    struct xr_error err;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xr_request *req =
            meta_request("getWsdl", bad[i], strlen(bad[i]));
        XRT_ASSERT_REASON(
            xr_meta_wsdl_request_parse(xr_request_body(req), &w, &err), err,
            "meta_invalid");
        xr_request_free(req);
    }
}

/* ---- listMethods / allowedMethods answers ------------------------------ */

#define SERVICE_XML(code, version)                    \
    "<xrd:service id:objectType=\"SERVICE\">"         \
    "<id:xRoadInstance>FI-TEST</id:xRoadInstance>"    \
    "<id:memberClass>GOV</id:memberClass>"            \
    "<id:memberCode>0245437-2</id:memberCode>"        \
    "<id:subsystemCode>vayla-echo</id:subsystemCode>" \
    "<id:serviceCode>" code "</id:serviceCode>" version "</xrd:service>"

static void test_methods_answer(void **state)
{
    struct xr_request *req;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xr_id *ids = NULL;
    size_t n = 0;
    char text[XR_ID_TEXT_MAX];
    (void)state;

    req = meta_request("listMethods", NULL, 0);
    XRT_ASSERT_OK(
        answer(req,
               "<xrd:listMethodsResponse>" SERVICE_XML(
                   "echo", "<id:serviceVersion>v1</id:serviceVersion>")
                   SERVICE_XML("other", "") "</xrd:listMethodsResponse>",
               NULL, NULL, 0, &resp, &err),
        err);
    XRT_ASSERT_OK(xr_meta_methods_parse(resp, XR_META_KIND_LIST_METHODS, NULL,
                                        &ids, &n, &err),
                  err);
    assert_int_equal(n, 2);
    xr_id_format(&ids[0], true, text, sizeof(text));
    assert_string_equal(text,
                        "SERVICE:FI-TEST/GOV/0245437-2/vayla-echo/echo/v1");
    xr_id_format(&ids[1], false, text, sizeof(text));
    assert_string_equal(text, "FI-TEST/GOV/0245437-2/vayla-echo/other");
    free(ids);

    /* A cap on the number of services. */
    struct xr_meta_limits lim = {0, 1};
    XRT_ASSERT_REASON(xr_meta_methods_parse(resp, XR_META_KIND_LIST_METHODS,
                                            &lim, &ids, &n, &err),
                      err, "too_many");
    assert_null(ids);
    /* The other metaservice's wrapper is not accepted. */
    XRT_ASSERT_REASON_FIELD(xr_meta_methods_parse(resp,
                                                  XR_META_KIND_ALLOWED_METHODS,
                                                  NULL, &ids, &n, &err),
                            err, "meta_invalid", "Body");
    xr_response_free(resp);
    xr_request_free(req);
}

static void test_methods_answer_empty_and_bad(void **state)
{
    static const struct {
        const char *body, *reason;
    } cases[] = {
        {"<xrd:allowedMethodsResponse><xrd:other/>"
         "</xrd:allowedMethodsResponse>",
         "meta_invalid"},
        {"<xrd:allowedMethodsResponse><xrd:service>"
         "<id:xRoadInstance>FI</id:xRoadInstance></xrd:service>"
         "</xrd:allowedMethodsResponse>",
         "invalid_id"},
        {"<xrd:allowedMethodsResponse><xrd:service id:objectType=\"SUBSYSTEM\">"
         "<id:xRoadInstance>FI</id:xRoadInstance><id:memberClass>G"
         "</id:memberClass><id:memberCode>1</id:memberCode><id:subsystemCode>"
         "s</id:subsystemCode></xrd:service></xrd:allowedMethodsResponse>",
         "invalid_id"},
        {"<xrd:allowedMethodsResponse>" SERVICE_XML(
             "a&#x9F;b", "") "</xrd:allowedMethodsResponse>",
         "invalid_id"},
        {"<xrd:allowedMethodsResponse><xrd:service id:objectType=\"SERVICE\">"
         "<id:xRoadInstance>FI</id:xRoadInstance><id:memberClass>G"
         "</id:memberClass><id:memberCode>1</id:memberCode>"
         "</xrd:service></xrd:allowedMethodsResponse>",
         "invalid_id"},
    };
    struct xr_request *req = meta_request("allowedMethods", NULL, 0);
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xr_id *ids = NULL;
    size_t n = 7;
    (void)state;

    XRT_ASSERT_OK(answer(req, "<xrd:allowedMethodsResponse/>", NULL, NULL, 0,
                         &resp, &err),
                  err);
    XRT_ASSERT_OK(xr_meta_methods_parse(resp, XR_META_KIND_ALLOWED_METHODS,
                                        NULL, &ids, &n, &err),
                  err);
    assert_int_equal(n, 0);
    free(ids);
    xr_response_free(resp);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        XRT_ASSERT_OK(answer(req, cases[i].body, NULL, NULL, 0, &resp, &err),
                      err);
        XRT_ASSERT_REASON(xr_meta_methods_parse(resp,
                                                XR_META_KIND_ALLOWED_METHODS,
                                                NULL, &ids, &n, &err),
                          err, cases[i].reason);
        assert_null(ids);
        assert_int_equal(n, 0);
        xr_response_free(resp);
    }
    xr_request_free(req);
}

/* ---- getWsdl answers --------------------------------------------------- */

#define WSDL_DOC                                                               \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<wsdl:definitions "           \
    "xmlns:wsdl=\"" NS_WSDL "\" xmlns:soap=\"http://schemas.xmlsoap.org/"      \
    "wsdl/soap/\" name=\"echo\"><wsdl:service name=\"s\"><wsdl:port "          \
    "name=\"p\" binding=\"b\"><soap:address location=\"" XR_META_WSDL_LOCATION \
    "\"/></wsdl:port></wsdl:service></wsdl:definitions>\n"

#define WSDL_RESPONSE(code, version)                                           \
    "<xrd:getWsdlResponse><xrd:serviceCode>" code "</xrd:serviceCode>" version \
    "</xrd:getWsdlResponse>"

static void test_wsdl_answer(void **state)
{
    struct xr_request *req;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xr_bytes wsdl;
    char *body = NULL;
    size_t len;
    (void)state;

    XRT_ASSERT_OK(xr_meta_wsdl_body("echo", "v1", &body, &len, &err), err);
    req = meta_request("getWsdl", body, len);
    free(body);
    XRT_ASSERT_OK(answer(req,
                         WSDL_RESPONSE("echo", "<xrd:serviceVersion>v1"
                                               "</xrd:serviceVersion>"),
                         "text/xml; charset=UTF-8", WSDL_DOC, strlen(WSDL_DOC),
                         &resp, &err),
                  err);
    XRT_ASSERT_OK(xr_meta_wsdl_parse(resp, "echo", "v1", NULL, &wsdl, &err),
                  err);
    assert_int_equal(wsdl.len, strlen(WSDL_DOC));
    assert_memory_equal(wsdl.ptr, WSDL_DOC, wsdl.len);
    /* The echo must name what was asked. */
    XRT_ASSERT_REASON(xr_meta_wsdl_parse(resp, "echo", NULL, NULL, &wsdl, &err),
                      err, "wsdl_mismatch");
    XRT_ASSERT_REASON(
        xr_meta_wsdl_parse(resp, "other", "v1", NULL, &wsdl, &err), err,
        "wsdl_mismatch");
    /* The WSDL cap. */
    struct xr_meta_limits lim = {100, 0};
    XRT_ASSERT_REASON(xr_meta_wsdl_parse(resp, "echo", "v1", &lim, &wsdl, &err),
                      err, "too_large");
    assert_null(wsdl.ptr);
    xr_response_free(resp);

    /* No attachment. */
    XRT_ASSERT_OK(answer(req,
                         WSDL_RESPONSE("echo", "<xrd:serviceVersion>v1"
                                               "</xrd:serviceVersion>"),
                         NULL, NULL, 0, &resp, &err),
                  err);
    XRT_ASSERT_REASON(xr_meta_wsdl_parse(resp, "echo", "v1", NULL, &wsdl, &err),
                      err, "wsdl_missing");
    xr_response_free(resp);

    /* Attachments that are not WSDL documents. */
    static const char *not_wsdl[] = {
        "<html><body>not found</body></html>",
        "<wsdl:definitions xmlns:wsdl=\"" NS_WSDL "\">",
        "<!DOCTYPE x [<!ENTITY a \"b\">]><wsdl:definitions "
        "xmlns:wsdl=\"" NS_WSDL "\"/>",
        "<definitions/>",
    };
    for (size_t i = 0; i < sizeof(not_wsdl) / sizeof(not_wsdl[0]); i++) {
        XRT_ASSERT_OK(answer(req,
                             WSDL_RESPONSE("echo", "<xrd:serviceVersion>v1"
                                                   "</xrd:serviceVersion>"),
                             "text/xml", not_wsdl[i], strlen(not_wsdl[i]),
                             &resp, &err),
                      err);
        XRT_ASSERT_REASON(
            xr_meta_wsdl_parse(resp, "echo", "v1", NULL, &wsdl, &err), err,
            "wsdl_invalid");
        xr_response_free(resp);
    }
    /* The wrapper's content is checked too. */
    XRT_ASSERT_OK(answer(req,
                         "<xrd:getWsdlResponse><xrd:serviceVersion>v1"
                         "</xrd:serviceVersion></xrd:getWsdlResponse>",
                         "text/xml", WSDL_DOC, strlen(WSDL_DOC), &resp, &err),
                  err);
    XRT_ASSERT_REASON_FIELD(
        xr_meta_wsdl_parse(resp, "echo", "v1", NULL, &wsdl, &err), err,
        "meta_invalid", "serviceCode");
    xr_response_free(resp);
    xr_request_free(req);
}

/* ---- listClients ------------------------------------------------------- */

#define CLIENT_LIST_XML                                                       \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                            \
    "<x:clientList xmlns:i=\"" XR_NS_ID "\" xmlns:x=\"" XR_NS_XROAD "\">\n"   \
    " <x:member><x:id i:objectType=\"MEMBER\"><i:xRoadInstance>FI-TEST"       \
    "</i:xRoadInstance><i:memberClass>GOV</i:memberClass><i:memberCode>"      \
    "0245437-2</i:memberCode></x:id><x:name>Digi- ja v\xc3\xa4"               \
    "est\xc3\xb6tietovirasto</x:name></x:member>\n"                           \
    " <x:member><x:id i:objectType=\"SUBSYSTEM\"><i:xRoadInstance>FI-TEST"    \
    "</i:xRoadInstance><i:memberClass>GOV</i:memberClass><i:memberCode>"      \
    "0245437-2</i:memberCode><i:subsystemCode>vayla-echo</i:subsystemCode>"   \
    "</x:id><x:name>Digi- ja v\xc3\xa4"                                       \
    "est\xc3\xb6tietovirasto</x:name><x:subsystemName>Echo</x:subsystemName>" \
    "</x:member>\n"                                                           \
    " <x:member><x:id i:objectType=\"MEMBER\"><i:xRoadInstance>FI-TEST"       \
    "</i:xRoadInstance><i:memberClass>MUN</i:memberClass><i:memberCode>"      \
    "0101263-6</i:memberCode></x:id></x:member>\n"                            \
    "</x:clientList>\n"

#define CLIENT_LIST_JSON                                                   \
    "{\"member\":[{\"id\":{\"member_class\":\"GOV\",\"member_code\":"      \
    "\"0245437-2\",\"object_type\":\"MEMBER\",\"xroad_instance\":"         \
    "\"FI-TEST\"},\"name\":\"Digi- ja v\\u00e4est\xc3\xb6tietovirasto\"}," \
    "{\"id\":{\"member_class\":\"GOV\",\"member_code\":\"0245437-2\","     \
    "\"subsystem_code\":\"vayla-echo\",\"object_type\":\"SUBSYSTEM\","     \
    "\"xroad_instance\":\"FI-TEST\",\"future\":[1,{\"a\":null}]},"         \
    "\"name\":\"Digi- ja v\xc3\xa4"                                        \
    "est\xc3\xb6tietovirasto\","                                           \
    "\"subsystem_name\":\"Echo\",\"extra\":{\"x\":[true,false,-1.5e3]}},"  \
    "{\"id\":{\"object_type\":\"MEMBER\",\"xroad_instance\":\"FI-TEST\","  \
    "\"member_class\":\"MUN\",\"member_code\":\"0101263-6\"},"             \
    "\"name\":null}]}"

static void check_three(const struct xr_client_list *l)
{
    const struct xr_client_entry *e;
    struct xr_id id;
    char text[XR_ID_TEXT_MAX];

    assert_int_equal(xr_client_list_count(l), 3);
    e = xr_client_list_get(l, 0);
    assert_int_equal(e->type, XR_ID_MEMBER);
    assert_string_equal(e->member_code, "0245437-2");
    assert_string_equal(e->subsystem_code, "");
    assert_string_equal(e->name, "Digi- ja v\xc3\xa4"
                                 "est\xc3\xb6tietovirasto");
    assert_null(e->subsystem_name);
    e = xr_client_list_get(l, 1);
    assert_int_equal(e->type, XR_ID_SUBSYSTEM);
    assert_true(xr_client_entry_id(e, &id));
    xr_id_format(&id, true, text, sizeof(text));
    assert_string_equal(text, PROVIDER);
    assert_string_equal(e->subsystem_name, "Echo");
    e = xr_client_list_get(l, 2);
    assert_string_equal(e->member_class, "MUN");
    assert_null(e->name);
    assert_null(xr_client_list_get(l, 3));
}

static void test_client_list(void **state)
{
    struct xr_client_list *l = NULL;
    struct xr_error err;
    (void)state;

    XRT_ASSERT_OK(xr_client_list_parse("text/xml; charset=UTF-8",
                                       (const uint8_t *)CLIENT_LIST_XML,
                                       strlen(CLIENT_LIST_XML), NULL, &l, &err),
                  err);
    check_three(l);
    xr_client_list_free(l);
    XRT_ASSERT_OK(xr_client_list_parse("application/json;charset=utf-8",
                                       (const uint8_t *)CLIENT_LIST_JSON,
                                       strlen(CLIENT_LIST_JSON), NULL, &l,
                                       &err),
                  err);
    check_three(l);
    xr_client_list_free(l);
    /* An empty list, both ways; "member" may be left out in JSON. */
    static const char *empty[][2] = {
        {"text/xml", "<clientList xmlns=\"" XR_NS_XROAD "\"/>"},
        {"application/json", "{\"member\":[]}"},
        {"application/json", " {} "},
    };
    for (size_t i = 0; i < 3; i++) {
        XRT_ASSERT_OK(xr_client_list_parse(empty[i][0],
                                           (const uint8_t *)empty[i][1],
                                           strlen(empty[i][1]), NULL, &l, &err),
                      err);
        assert_int_equal(xr_client_list_count(l), 0);
        xr_client_list_free(l);
    }
}

static void test_client_list_limits(void **state)
{
    struct xr_client_list *l = NULL;
    struct xr_meta_limits items = {0, 2}, bytes = {100, 0};
    struct xr_error err;
    (void)state;

    XRT_ASSERT_REASON(
        xr_client_list_parse("text/xml", (const uint8_t *)CLIENT_LIST_XML,
                             strlen(CLIENT_LIST_XML), &items, &l, &err),
        err, "too_many");
    assert_null(l);
    XRT_ASSERT_REASON(xr_client_list_parse(
                          "application/json", (const uint8_t *)CLIENT_LIST_JSON,
                          strlen(CLIENT_LIST_JSON), &items, &l, &err),
                      err, "too_many");
    XRT_ASSERT_REASON(xr_client_list_parse(
                          "application/json", (const uint8_t *)CLIENT_LIST_JSON,
                          strlen(CLIENT_LIST_JSON), &bytes, &l, &err),
                      err, "too_large");
    /* Deep JSON nesting is refused, not recursed into. */
    struct xrt_buf b = {0};
    xrt_buf_adds(&b, "{\"x\":");
    xrt_buf_repeat(&b, "[", 100000);
    xrt_buf_repeat(&b, "]", 100000);
    xrt_buf_adds(&b, "}");
    XRT_ASSERT_REASON(xr_client_list_parse("application/json",
                                           (const uint8_t *)b.p, b.len, NULL,
                                           &l, &err),
                      err, "client_list_invalid");
    xrt_buf_free(&b);
}

static void test_client_list_bad(void **state)
{
    static const struct {
        const char *ctype, *text, *reason;
    } cases[] = {
        {"text/xml", "<x/>", "client_list_invalid"},
        {"text/xml",
         "<clientList xmlns=\"" XR_NS_XROAD "\"><other/>"
         "</clientList>",
         "client_list_invalid"},
        {"text/xml",
         "<clientList xmlns=\"" XR_NS_XROAD "\"><member><name>a"
         "</name></member></clientList>",
         "client_list_invalid"},
        {"text/xml",
         "<clientList xmlns=\"" XR_NS_XROAD "\" xmlns:i=\"" XR_NS_ID "\">"
         "<member><id i:objectType=\"SUBSYSTEM\"><i:xRoadInstance>A"
         "</i:xRoadInstance><i:memberClass>B</i:memberClass><i:memberCode>C"
         "</i:memberCode></id></member></clientList>",
         "invalid_id"},
        {"text/xml",
         "<clientList xmlns=\"" XR_NS_XROAD "\" xmlns:i=\"" XR_NS_ID "\">"
         "<member><id i:objectType=\"SERVICE\"><i:xRoadInstance>A"
         "</i:xRoadInstance><i:memberClass>B</i:memberClass><i:memberCode>C"
         "</i:memberCode><i:serviceCode>s</i:serviceCode></id></member>"
         "</clientList>",
         "invalid_id"},
        {"text/xml",
         "<clientList xmlns=\"" XR_NS_XROAD "\" xmlns:i=\"" XR_NS_ID "\">"
         "<member><id i:objectType=\"MEMBER\"><i:xRoadInstance>A"
         "</i:xRoadInstance><i:memberClass>B</i:memberClass><i:memberCode>C"
         "</i:memberCode></id><name>bell&#x85;</name></member></clientList>",
         "client_list_invalid"},
        {"text/xml",
         "<clientList xmlns=\"" XR_NS_XROAD "\" xmlns:i=\"" XR_NS_ID "\">"
         "<member><id i:objectType=\"MEMBER\"><i:xRoadInstance>A"
         "</i:xRoadInstance><i:memberClass>B</i:memberClass><i:memberCode>C"
         "</i:memberCode></id><name>a</name><name>b</name></member>"
         "</clientList>",
         "client_list_invalid"},
        {"text/xml", "<clientList", "malformed_xml"},
        {"text/html", "<html/>", "invalid_content_type"},
        {"application/json", "[]", "client_list_invalid"},
        {"application/json", "{\"member\":[],}", "client_list_invalid"},
        {"application/json", "{\"member\":[]} x", "client_list_invalid"},
        {"application/json",
         "{\"member\":[{\"id\":{\"object_type\":"
         "\"MEMBER\",\"xroad_instance\":\"A\","
         "\"member_class\":\"B\"}}]}",
         "invalid_id"},
        {"application/json",
         "{\"member\":[{\"id\":{\"object_type\":\"MEMBER\",\"xroad_instance\":"
         "\"A\",\"member_class\":\"B\",\"member_code\":\"C\","
         "\"subsystem_code\":\"D\"}}]}",
         "invalid_id"},
        {"application/json",
         "{\"member\":[{\"id\":{\"object_type\":\"SERVER\",\"xroad_instance\":"
         "\"A\",\"member_class\":\"B\",\"member_code\":\"C\"}}]}",
         "invalid_id"},
        {"application/json",
         "{\"member\":[{\"id\":{\"object_type\":\"MEMBER\",\"xroad_instance\":"
         "\"A\",\"member_class\":\"B\",\"member_code\":\"C\"},\"name\":"
         "\"x\\u0007\"}]}",
         "client_list_invalid"},
        {"application/json",
         "{\"member\":[{\"id\":{\"object_type\":\"MEMBER\",\"xroad_instance\":"
         "\"A\",\"member_class\":\"B\",\"member_code\":\"C\"},\"name\":"
         "\"\\ud800\"}]}",
         "client_list_invalid"},
        {"application/json",
         "{\"member\":[{\"id\":{\"object_type\":\"MEMBER\",\"xroad_instance\":"
         "\"A\",\"member_class\":\"B\",\"member_code\":\"C\"},\"name\":"
         "\"a\",\"name\":\"b\"}]}",
         "client_list_invalid"},
        {"application/json",
         "{\"member\":[{\"id\":{\"object_type\":\"MEMBER\",\"xroad_instance\":"
         "\"A\",\"member_class\":\"B\",\"member_code\":\"C\"},\"name\":"
         "\"\xc0\xaf\"}]}",
         "client_list_invalid"},
        {"application/json",
         "{\"member\":[{\"id\":{\"object_type\":\"MEMBER\",\"xroad_instance\":"
         "\"A\",\"member_class\":\"B\",\"member_code\":\"C\"},\"name\":"
         "\"a\\u0000b\"}]}",
         "client_list_invalid"},
        {"application/json", "{\"member\":[{\"name\":\"a\"}]}",
         "client_list_invalid"},
        {"application/json", "{\"member\":[1]}", "client_list_invalid"},
        {"application/json", "{\"member\":\"x\"}", "client_list_invalid"},
    };
    struct xr_client_list *l = NULL;
    struct xr_error err;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum xr_status st =
            xr_client_list_parse(cases[i].ctype, (const uint8_t *)cases[i].text,
                                 strlen(cases[i].text), NULL, &l, &err);
        if (st == XR_OK)
            fail_msg("case %zu accepted", i);
        XRT_ASSERT_REASON(st, err, cases[i].reason);
        assert_null(l);
    }
}

/* A JSON key with escapes is the same key; an over-long unknown key is
 * skipped. */
static void test_client_list_json_keys(void **state)
{
    static const char text[] =
        "{\"\\u006dember\":[{\"id\":{\"object_type\":\"MEMBER\","
        "\"xroad_instance\":\"A\",\"member_class\":\"B\",\"member_code\":"
        "\"C\",\"a_very_long_key_that_is_not_known_to_the_reader_at_all\":1}"
        ",\"name\":\"\\ud83d\\ude00 \\\"q\\\" \\/\"}]}";
    struct xr_client_list *l = NULL;
    struct xr_error err;
    (void)state;

    XRT_ASSERT_OK(xr_client_list_parse("application/json",
                                       (const uint8_t *)text, strlen(text),
                                       NULL, &l, &err),
                  err);
    assert_int_equal(xr_client_list_count(l), 1);
    assert_string_equal(xr_client_list_get(l, 0)->name,
                        "\xf0\x9f\x98\x80 \"q\" /");
    xr_client_list_free(l);
}

/* ---- the metaservice vectors -------------------------------------------- */

static void test_vectors_metaservice_requests(void **state)
{
    static const struct {
        const char *file;
        enum xr_meta_kind kind;
    } files[] = {
        {"xroad/soap/requests-valid/listMethods.query",
         XR_META_KIND_LIST_METHODS},
        {"xroad/soap/requests-valid/allowedMethods.query",
         XR_META_KIND_ALLOWED_METHODS},
    };
    const char *dir;
    (void)state;

    XRT_REQUIRE_VECTORS(dir);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[4096];
        uint8_t *buf;
        size_t len;
        struct xr_request *req = NULL;
        struct xr_error err;
        const struct xr_header *h;

        snprintf(path, sizeof(path), "%s/%s", dir, files[i].file);
        buf = xrt_read_file(path, &len);
        if (!buf)
            fail_msg("cannot read %s", path);
        XRT_ASSERT_OK(xr_request_parse("text/xml; charset=UTF-8", buf, len,
                                       NULL, &req, &err),
                      err);
        h = xr_request_header(req);
        assert_int_equal(xr_meta_kind_of(h->service.service_code),
                         files[i].kind);
        assert_string_equal(h->service.member_code, "producer");
        XRT_ASSERT_OK(xr_meta_methods_request_parse(xr_request_body(req),
                                                    files[i].kind, &err),
                      err);
        /* The other one's reader refuses it. */
        XRT_ASSERT_REASON(xr_meta_methods_request_parse(
                              xr_request_body(req),
                              files[i].kind == XR_META_KIND_LIST_METHODS
                                  ? XR_META_KIND_ALLOWED_METHODS
                                  : XR_META_KIND_LIST_METHODS,
                              &err),
                          err, "meta_invalid");
        xr_request_free(req);
        free(buf);
    }
    /* An ordinary service is no metaservice. */
    {
        char path[4096];
        uint8_t *buf;
        size_t len;
        struct xr_request *req = NULL;
        struct xr_error err;
        snprintf(path, sizeof(path),
                 "%s/xroad/soap/requests-valid/getstate.query", dir);
        buf = xrt_read_file(path, &len);
        if (!buf)
            fail_msg("cannot read %s", path);
        XRT_ASSERT_OK(xr_request_parse(NULL, buf, len, NULL, &req, &err), err);
        assert_int_equal(
            xr_meta_kind_of(xr_request_header(req)->service.service_code),
            XR_META_NONE);
        xr_request_free(req);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_of),
        cmocka_unit_test(test_methods_body),
        cmocka_unit_test(test_methods_request_reader),
        cmocka_unit_test(test_wsdl_body),
        cmocka_unit_test(test_wsdl_request_reader),
        cmocka_unit_test(test_methods_answer),
        cmocka_unit_test(test_methods_answer_empty_and_bad),
        cmocka_unit_test(test_wsdl_answer),
        cmocka_unit_test(test_client_list),
        cmocka_unit_test(test_client_list_limits),
        cmocka_unit_test(test_client_list_bad),
        cmocka_unit_test(test_client_list_json_keys),
        cmocka_unit_test(test_vectors_metaservice_requests),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("meta", tests, xrt_group_setup,
                                       xrt_group_teardown);
}

/*
 * Unit tests for include/xroad/fault.h: faultcode classification (7.x
 * CamelCase and 7.8+ snake_case, any case), code comparison and leaves,
 * reading Fault elements through the response judge, and building faults
 * the way a security server does.
 */
#include <libxml/parser.h>

#include "test_helpers.h"

struct class_case {
    const char *code;
    enum xr_fault_origin origin;
    bool service_failed;
};

static void test_origin_names(void **state)
{
    (void)state;
    assert_string_equal(xr_fault_origin_name(XR_ORIGIN_CLIENT), "client");
    assert_string_equal(xr_fault_origin_name(XR_ORIGIN_CLIENT_PROXY),
                        "client_proxy");
    assert_string_equal(xr_fault_origin_name(XR_ORIGIN_SERVER_PROXY),
                        "server_proxy");
    assert_string_equal(xr_fault_origin_name(XR_ORIGIN_SERVICE), "service");
}

static void test_classify(void **state)
{
    static const struct class_case cases[] = {
        /* 7.x CamelCase */
        {"Client.MissingHeader", XR_ORIGIN_CLIENT, false},
        {"Client.InvalidSoap", XR_ORIGIN_CLIENT, false},
        {"Server.ClientProxy.UnknownMember", XR_ORIGIN_CLIENT_PROXY, false},
        {"Server.ClientProxy.SslAuthenticationFailed", XR_ORIGIN_CLIENT_PROXY,
         false},
        {"Server.ClientProxy.ServiceFailed.InconsistentResponse",
         XR_ORIGIN_CLIENT_PROXY, true},
        {"Server.ClientProxy.ServiceFailed.MissingBody", XR_ORIGIN_CLIENT_PROXY,
         true},
        {"Server.ServerProxy.AccessDenied", XR_ORIGIN_SERVER_PROXY, false},
        {"Server.ServerProxy.UnknownService", XR_ORIGIN_SERVER_PROXY, false},
        {"Server.ServerProxy.ServiceFailed.NetworkError",
         XR_ORIGIN_SERVER_PROXY, true},
        {"Server.ClientProxy.LoggingFailed.InternalError",
         XR_ORIGIN_CLIENT_PROXY, false},
        /* 7.8+ snake_case */
        {"client.missing_header", XR_ORIGIN_CLIENT, false},
        {"client.invalid_soap", XR_ORIGIN_CLIENT, false},
        {"server.clientproxy.unknown_member", XR_ORIGIN_CLIENT_PROXY, false},
        {"server.clientproxy.service_failed.inconsistent_response",
         XR_ORIGIN_CLIENT_PROXY, true},
        {"server.serverproxy.access_denied", XR_ORIGIN_SERVER_PROXY, false},
        {"server.serverproxy.service_failed.invalid_body",
         XR_ORIGIN_SERVER_PROXY, true},
        /* any case */
        {"CLIENT.X", XR_ORIGIN_CLIENT, false},
        {"SERVER.CLIENTPROXY.X", XR_ORIGIN_CLIENT_PROXY, false},
        {"sErVeR.sErVeRpRoXy.SERVICEFAILED.x", XR_ORIGIN_SERVER_PROXY, true},
        /* service-level: anything else */
        {"soap:Server", XR_ORIGIN_SERVICE, false},
        {"soap:Client", XR_ORIGIN_SERVICE, false},
        {"SOAP-ENV:Clientrwerete", XR_ORIGIN_SERVICE, false},
        {"foo:FOOCODE", XR_ORIGIN_SERVICE, false},
        {"CODE", XR_ORIGIN_SERVICE, false},
        {"Server", XR_ORIGIN_SERVICE, false},
        {"Client", XR_ORIGIN_SERVICE, false},
        {"ClientX.Foo", XR_ORIGIN_SERVICE, false},
        {"Server.ClientProxyX.Foo", XR_ORIGIN_SERVICE, false},
        {"Server.ServiceFailed.Foo", XR_ORIGIN_SERVICE, false},
        {"xClient.Foo", XR_ORIGIN_SERVICE, false},
        {"", XR_ORIGIN_SERVICE, false},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool sf = !cases[i].service_failed;
        enum xr_fault_origin o = xr_fault_classify(cases[i].code, &sf);
        if (o != cases[i].origin || sf != cases[i].service_failed)
            fail_msg("classify(%s): got %s/%d, want %s/%d", cases[i].code,
                     xr_fault_origin_name(o), sf,
                     xr_fault_origin_name(cases[i].origin),
                     cases[i].service_failed);
        /* service_failed may be NULL. */
        assert_int_equal(xr_fault_classify(cases[i].code, NULL),
                         cases[i].origin);
    }
}

static void test_classify_long_code(void **state)
{
    char code[4000];

    (void)state;
    snprintf(code, sizeof(code), "Server.ServerProxy.ServiceFailed.");
    memset(code + strlen(code), 'x', sizeof(code) - strlen(code) - 1);
    code[sizeof(code) - 1] = '\0';
    assert_int_equal(xr_fault_classify(code, NULL), XR_ORIGIN_SERVER_PROXY);
}

static void test_code_equal(void **state)
{
    (void)state;
    assert_true(xr_fault_code_equal("Server.ClientProxy.UnknownMember",
                                    "server.clientproxy.unknown_member"));
    assert_true(
        xr_fault_code_equal("Client.InvalidSoap", "client.invalid_soap"));
    assert_true(
        xr_fault_code_equal("Server.ServerProxy.ServiceFailed.InvalidBody",
                            "server.serverproxy.service_failed.invalid_body"));
    assert_true(xr_fault_code_equal("CODE", "code"));
    assert_true(xr_fault_code_equal("", ""));
    assert_false(
        xr_fault_code_equal("Client.InvalidSoap", "Client.InvalidSoapAction"));
    assert_false(xr_fault_code_equal("Client.InvalidSoap",
                                     "Server.ClientProxy.InvalidSoap"));
    assert_false(xr_fault_code_equal("Client.X", "Client.Y"));
    assert_false(xr_fault_code_equal("Client.X", ""));
}

static void test_leaf(void **state)
{
    char out[64];

    (void)state;
    xr_fault_leaf("Server.ClientProxy.SslAuthenticationFailed", out,
                  sizeof(out));
    assert_string_equal(out, "sslauthenticationfailed");
    xr_fault_leaf("server.clientproxy.ssl_authentication_failed", out,
                  sizeof(out));
    assert_string_equal(out, "sslauthenticationfailed");
    xr_fault_leaf("Server.ServerProxy.ServiceFailed.InvalidBody", out,
                  sizeof(out));
    assert_string_equal(out, "invalidbody");
    xr_fault_leaf("CODE", out, sizeof(out));
    assert_string_equal(out, "code");
    xr_fault_leaf("Client.", out, sizeof(out));
    assert_string_equal(out, "");
    /* Truncation: at most size bytes, NUL included. */
    memset(out, 'Z', sizeof(out));
    xr_fault_leaf("Server.ClientProxy.SslAuthenticationFailed", out, 4);
    assert_string_equal(out, "ssl");
    assert_int_equal(out[4], 'Z');
}

/* ------------------------------------------------------------------ */
/* Reading faults                                                      */

static const char *const fault_env_head =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" XR_NS_SOAP11 "\" "
    "xmlns:xrd=\"" XR_NS_XROAD "\"><SOAP-ENV:Body>";
static const char *const fault_env_tail =
    "</SOAP-ENV:Body></SOAP-ENV:Envelope>";

/* Parse a Fault (given as the Body content) and return the response. */
static struct xr_response *parse_fault(const char *fault_xml)
{
    struct xrt_buf b = {0};
    struct xr_response *resp = NULL;
    struct xr_error err;

    xrt_buf_adds(&b, fault_env_head);
    xrt_buf_adds(&b, fault_xml);
    xrt_buf_adds(&b, fault_env_tail);
    XRT_ASSERT_OK(xr_response_parse("text/xml; charset=UTF-8",
                                    (const uint8_t *)b.p, b.len, NULL, &resp,
                                    &err),
                  err);
    xrt_buf_free(&b);
    assert_non_null(resp);
    assert_int_equal(xr_response_verdict(resp), XR_VERDICT_FAULT);
    assert_non_null(xr_response_fault(resp));
    assert_null(xr_response_body(resp));
    return resp;
}

static void test_read_ss_fault(void **state)
{
    struct xr_response *resp;
    const struct xr_fault *f;

    (void)state;
    /* Exactly the security server's format (PR-MESS Annex D.1). */
    resp = parse_fault(
        "<SOAP-ENV:Fault><faultcode>Server.ClientProxy.ServiceFailed."
        "MissingBody</faultcode><faultstring>Malformed SOAP message: body "
        "missing</faultstring><faultactor></faultactor><detail><faultDetail "
        "xmlns=\"\">f31e7451-f0ac-48f6-9f05-1f0459e48eea</faultDetail>"
        "</detail></SOAP-ENV:Fault>");
    f = xr_response_fault(resp);
    assert_string_equal(f->code,
                        "Server.ClientProxy.ServiceFailed.MissingBody");
    assert_string_equal(f->string, "Malformed SOAP message: body missing");
    assert_true(f->has_actor);
    assert_string_equal(f->actor, "");
    assert_string_equal(f->detail, "f31e7451-f0ac-48f6-9f05-1f0459e48eea");
    assert_int_equal(f->origin, XR_ORIGIN_CLIENT_PROXY);
    assert_true(f->service_failed);
    assert_null(xr_response_header(resp));
    xr_response_free(resp);

    /* 7.8 snake_case, faultDetail in the xroad namespace, no actor. */
    resp = parse_fault("<SOAP-ENV:Fault><faultcode>server.serverproxy."
                       "access_denied</faultcode><faultstring>Request is not "
                       "allowed</faultstring><detail><xrd:faultDetail>"
                       "abc</xrd:faultDetail></detail></SOAP-ENV:Fault>");
    f = xr_response_fault(resp);
    assert_string_equal(f->code, "server.serverproxy.access_denied");
    assert_false(f->has_actor);
    assert_string_equal(f->detail, "abc");
    assert_int_equal(f->origin, XR_ORIGIN_SERVER_PROXY);
    assert_false(f->service_failed);
    xr_response_free(resp);
}

static void test_read_detail_rules(void **state)
{
    struct xr_response *resp;

    (void)state;
    /* faultDetail wins even when it is not the first detail child. */
    resp = parse_fault("<SOAP-ENV:Fault><faultcode>Client.X</faultcode>"
                       "<faultstring>s</faultstring><detail><other>o</other>"
                       "<faultDetail>the-id</faultDetail></detail>"
                       "</SOAP-ENV:Fault>");
    assert_string_equal(xr_response_fault(resp)->detail, "the-id");
    assert_int_equal(xr_response_fault(resp)->origin, XR_ORIGIN_CLIENT);
    xr_response_free(resp);

    /* Otherwise the first child's text, trimmed. */
    resp = parse_fault("<SOAP-ENV:Fault><faultcode>foo:FOOCODE</faultcode>"
                       "<faultstring>STRING</faultstring><detail>\n  "
                       "<foo:detail xmlns:foo=\"urn:foo\">  DETAIL \n"
                       "</foo:detail><foo:more xmlns:foo=\"urn:foo\">x"
                       "</foo:more></detail></SOAP-ENV:Fault>");
    assert_string_equal(xr_response_fault(resp)->detail, "DETAIL");
    assert_string_equal(xr_response_fault(resp)->code, "foo:FOOCODE");
    assert_int_equal(xr_response_fault(resp)->origin, XR_ORIGIN_SERVICE);
    xr_response_free(resp);

    /* Empty detail, whitespace around the code. */
    resp = parse_fault("<SOAP-ENV:Fault><faultcode>\n   Client.Foo  \n"
                       "</faultcode><faultstring/><detail/>"
                       "</SOAP-ENV:Fault>");
    assert_string_equal(xr_response_fault(resp)->code, "Client.Foo");
    assert_string_equal(xr_response_fault(resp)->string, "");
    assert_string_equal(xr_response_fault(resp)->detail, "");
    xr_response_free(resp);
}

static void test_read_long_faultstring_truncated(void **state)
{
    struct xrt_buf b = {0};
    struct xr_response *resp;
    const struct xr_fault *f;

    (void)state;
    xrt_buf_adds(&b, "<SOAP-ENV:Fault><faultcode>Client.X</faultcode>"
                     "<faultstring>");
    xrt_buf_repeat(&b, "abcdefghij", 500);
    xrt_buf_adds(&b, "</faultstring></SOAP-ENV:Fault>");
    resp = parse_fault(b.p);
    f = xr_response_fault(resp);
    assert_int_equal(strlen(f->string), XR_TEXT_MAX);
    assert_memory_equal(f->string, "abcdefghij", 10);
    xr_response_free(resp);
    xrt_buf_free(&b);
}

static void test_read_truncation_keeps_utf8(void **state)
{
    struct xrt_buf b = {0};
    struct xr_response *resp;
    const struct xr_fault *f;

    (void)state;
    /* 1 + 2 * 600 bytes: a cut at XR_TEXT_MAX bytes would split a
     * character; the stored text must stay valid UTF-8 (it is printed as
     * JSON by the CLI). */
    xrt_buf_adds(&b, "<SOAP-ENV:Fault><faultcode>x");
    xrt_buf_repeat(&b, "\xc3\xa4", 600);
    xrt_buf_adds(&b, "</faultcode><faultstring>x");
    xrt_buf_repeat(&b, "\xc3\xa4", 600);
    xrt_buf_adds(&b, "</faultstring><faultactor>x");
    xrt_buf_repeat(&b, "\xe2\x82\xac", 600);
    xrt_buf_adds(&b, "</faultactor><detail><d>x");
    xrt_buf_repeat(&b, "\xc3\xa4", 600);
    xrt_buf_adds(&b, "</d></detail></SOAP-ENV:Fault>");
    resp = parse_fault(b.p);
    f = xr_response_fault(resp);
    assert_true(strlen(f->string) <= XR_TEXT_MAX);
    assert_true(strlen(f->string) >= XR_TEXT_MAX - 3);
    assert_true(xmlCheckUTF8((const xmlChar *)f->code));
    assert_true(xmlCheckUTF8((const xmlChar *)f->string));
    assert_true(xmlCheckUTF8((const xmlChar *)f->actor));
    assert_true(xmlCheckUTF8((const xmlChar *)f->detail));
    xr_response_free(resp);
    xrt_buf_free(&b);
}

static void test_fault_in_check_needs_no_echo(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct xr_response *resp = NULL;
    struct xr_error err;

    (void)state;
    /* Header present but not echoing: still a FAULT verdict. */
    xrt_msg_echo(&m, req, false);
    xrt_text_xml(m.id, sizeof(m.id), "id", "some-other-id");
    xrt_text_xml(m.user_id, sizeof(m.user_id), "userId", "someone-else");
    snprintf(m.body, sizeof(m.body),
             "<SOAP-ENV:Fault><faultcode>Server.ServerProxy.AccessDenied"
             "</faultcode><faultstring>Request is not allowed"
             "</faultstring></SOAP-ENV:Fault>");
    XRT_ASSERT_OK(xrt_check_msg(req, &m, NULL, &resp, &err), err);
    assert_int_equal(xr_response_verdict(resp), XR_VERDICT_FAULT);
    assert_int_equal(xr_response_fault(resp)->origin, XR_ORIGIN_SERVER_PROXY);
    assert_string_equal(xr_response_fault(resp)->string,
                        "Request is not allowed");
    xr_response_free(resp);

    /* No header at all, no requestHash: FAULT, not request_hash_missing. */
    m.no_header = true;
    XRT_ASSERT_OK(xrt_check_msg(req, &m, NULL, &resp, &err), err);
    assert_int_equal(xr_response_verdict(resp), XR_VERDICT_FAULT);
    assert_null(xr_response_header(resp));
    xr_response_free(resp);
    xr_request_free(req);
}

static void test_fault_soap12_is_not_a_fault(void **state)
{
    const char *doc =
        "<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\">"
        "<e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value></e:Code>"
        "</e:Fault></e:Body></e:Envelope>";
    struct xr_response *resp = NULL;
    struct xr_error err;

    (void)state;
    XRT_ASSERT_REASON(xr_response_parse(NULL, (const uint8_t *)doc, strlen(doc),
                                        NULL, &resp, &err),
                      err, "invalid_soap");
    assert_null(resp);
}

/* ------------------------------------------------------------------ */
/* Building faults                                                     */

static void test_build_without_header(void **state)
{
    char *out = NULL;
    size_t len = 0;
    struct xr_error err;
    struct xr_response *resp = NULL;
    const struct xr_fault *f;
    xmlDocPtr doc;
    xmlNodePtr env, body, fault;

    (void)state;
    XRT_ASSERT_OK(xr_fault_build("Server.ClientProxy.InternalError",
                                 "Something <broke> & \"failed\"",
                                 "f31e7451-f0ac-48f6-9f05-1f0459e48eea", NULL,
                                 &out, &len, &err),
                  err);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);

    /* Structure: Envelope/Body/Fault, no Header, unqualified children. */
    doc = xmlReadMemory(out, (int)len, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    env = xmlDocGetRootElement(doc);
    assert_string_equal((const char *)env->name, "Envelope");
    assert_string_equal((const char *)env->ns->href, XR_NS_SOAP11);
    body = env->children;
    while (body && body->type != XML_ELEMENT_NODE)
        body = body->next;
    assert_non_null(body);
    assert_string_equal((const char *)body->name, "Body");
    fault = body->children;
    assert_non_null(fault);
    assert_string_equal((const char *)fault->name, "Fault");
    assert_string_equal((const char *)fault->ns->href, XR_NS_SOAP11);
    /* SOAP 1.1: faultcode, faultstring, faultactor, detail and the
     * security server's faultDetail are all unqualified. */
    for (xmlNodePtr c = fault->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (c->ns)
            fail_msg("fault child %s is in namespace %s, must be "
                     "unqualified",
                     c->name, c->ns->href);
        if (strcmp((const char *)c->name, "detail") == 0) {
            xmlNodePtr fd = c->children;
            assert_non_null(fd);
            assert_string_equal((const char *)fd->name, "faultDetail");
            if (fd->ns && fd->ns->href && fd->ns->href[0])
                fail_msg("faultDetail is in namespace %s, must be "
                         "unqualified",
                         fd->ns->href);
        }
    }
    xmlFreeDoc(doc);

    /* Our own reader returns the four values. */
    XRT_ASSERT_OK(
        xr_response_parse(NULL, (const uint8_t *)out, len, NULL, &resp, &err),
        err);
    f = xr_response_fault(resp);
    assert_non_null(f);
    assert_string_equal(f->code, "Server.ClientProxy.InternalError");
    assert_string_equal(f->string, "Something <broke> & \"failed\"");
    assert_true(f->has_actor);
    assert_string_equal(f->actor, "");
    assert_string_equal(f->detail, "f31e7451-f0ac-48f6-9f05-1f0459e48eea");
    assert_int_equal(f->origin, XR_ORIGIN_CLIENT_PROXY);
    assert_null(xr_response_header(resp));
    xr_response_free(resp);
    free(out);

    /* detail NULL: no detail element at all. */
    XRT_ASSERT_OK(xr_fault_build("Client.InvalidSoap", "bad", NULL, NULL, &out,
                                 &len, &err),
                  err);
    assert_null(strstr(out, "detail"));
    XRT_ASSERT_OK(
        xr_response_parse(NULL, (const uint8_t *)out, len, NULL, &resp, &err),
        err);
    assert_string_equal(xr_response_fault(resp)->detail, "");
    assert_int_equal(xr_response_fault(resp)->origin, XR_ORIGIN_CLIENT);
    xr_response_free(resp);
    free(out);
}

static void test_build_with_header(void **state)
{
    struct xr_header h;
    char *out = NULL;
    size_t len = 0;
    struct xr_error err;
    xmlDocPtr doc;
    xmlNodePtr env, hdr;
    size_t n = 0;
    struct xr_response *resp = NULL;

    (void)state;
    xrt_std_header(&h);
    XRT_ASSERT_OK(xr_fault_build("Server.ServerProxy.UnknownService",
                                 "Unknown service", "id-1", &h, &out, &len,
                                 &err),
                  err);
    doc = xmlReadMemory(out, (int)len, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    env = xmlDocGetRootElement(doc);
    hdr = env->children;
    while (hdr && hdr->type != XML_ELEMENT_NODE)
        hdr = hdr->next;
    assert_non_null(hdr);
    assert_string_equal((const char *)hdr->name, "Header");
    for (xmlNodePtr c = hdr->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (n == 0)
            assert_string_equal((const char *)c->name, "client");
        n++;
    }
    assert_true(n >= 4);
    xmlFreeDoc(doc);

    /* As a response it is a fault, header echo not required. */
    {
        struct xr_request *req = xrt_request_from(&h);
        XRT_ASSERT_OK(xr_response_check(req, NULL, (const uint8_t *)out, len,
                                        NULL, &resp, &err),
                      err);
        assert_int_equal(xr_response_verdict(resp), XR_VERDICT_FAULT);
        assert_int_equal(xr_response_fault(resp)->origin,
                         XR_ORIGIN_SERVER_PROXY);
        xr_response_free(resp);
        xr_request_free(req);
    }
    free(out);
}

static void test_build_invalid_arguments(void **state)
{
    char *out = (char *)1;
    size_t len = 7;
    struct xr_error err;

    (void)state;
    assert_int_equal(xr_fault_build("", "s", NULL, NULL, &out, &len, &err),
                     XR_EINVAL);
    assert_null(out);
    assert_non_null(err.reason);
    out = (char *)1;
    assert_int_equal(xr_fault_build("Client.X", "bad \xff utf8", NULL, NULL,
                                    &out, &len, &err),
                     XR_EINVAL);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_origin_names),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_classify_long_code),
        cmocka_unit_test(test_code_equal),
        cmocka_unit_test(test_leaf),
        cmocka_unit_test(test_read_ss_fault),
        cmocka_unit_test(test_read_detail_rules),
        cmocka_unit_test(test_read_long_faultstring_truncated),
        cmocka_unit_test(test_read_truncation_keeps_utf8),
        cmocka_unit_test(test_fault_in_check_needs_no_echo),
        cmocka_unit_test(test_fault_soap12_is_not_a_fault),
        cmocka_unit_test(test_build_without_header),
        cmocka_unit_test(test_build_with_header),
        cmocka_unit_test(test_build_invalid_arguments),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("fault", tests, xrt_group_setup,
                                       xrt_group_teardown);
}

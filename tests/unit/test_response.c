/*
 * Unit tests for include/xroad/response.h: the judge of a security
 * server's answer to one request. Every rule has a passing case and a
 * failing case with its exact reason and, for header rules, the field.
 */
#include "test_helpers.h"

struct fixture {
    struct xr_request *req;
    struct xrt_msg m;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    f->req = xrt_std_request();
    xrt_msg_echo(&f->m, f->req, true);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    xr_request_free(f->req);
    free(f);
    return 0;
}

/* Check f->m against f->req, expecting a failure with reason and field. */
static void expect_fail_at(struct fixture *f, const char *reason,
                           const char *field, int line)
{
    struct xr_response *resp = NULL;
    struct xr_error err;
    enum xr_status st = xrt_check_msg(f->req, &f->m, NULL, &resp, &err);

    if (field)
        xrt_assert_reason_field_at(st, &err, reason, field, __FILE__, line);
    else
        xrt_assert_reason_at(st, &err, reason, __FILE__, line);
    assert_null(resp);
}

#define EXPECT_FAIL(f, reason, field) \
    expect_fail_at((f), (reason), (field), __LINE__)

static struct xr_response *expect_ok_at(struct fixture *f,
                                        const struct xr_check_opts *opts,
                                        int line)
{
    struct xr_response *resp = NULL;
    struct xr_error err;
    enum xr_status st = xrt_check_msg(f->req, &f->m, opts, &resp, &err);

    xrt_assert_ok_at(st, &err, __FILE__, line);
    assert_non_null(resp);
    assert_int_equal(xr_response_verdict(resp), XR_VERDICT_OK);
    return resp;
}

#define EXPECT_OK(f) xr_response_free(expect_ok_at((f), NULL, __LINE__))

/* ------------------------------------------------------------------ */

static void test_ok_exact_echo(void **state)
{
    struct fixture *f = *state;
    struct xr_response *resp;
    const struct xr_header *h;
    xmlNodePtr body;
    size_t len;
    char *text = xrt_msg_render(&f->m, &len);
    char want[XR_HASH_B64_MAX + 1];

    resp = expect_ok_at(f, NULL, __LINE__);
    assert_null(xr_response_fault(resp));
    h = xr_response_header(resp);
    assert_non_null(h);
    assert_true(xr_id_equal(&h->client, &xr_request_header(f->req)->client));
    assert_true(xr_id_equal(&h->service, &xr_request_header(f->req)->service));
    assert_string_equal(h->id, XRT_MSG_ID);
    assert_string_equal(h->user_id, XRT_USER_ID);
    assert_string_equal(h->issue, XRT_ISSUE);
    assert_string_equal(h->party_code, XRT_PARTY_CODE);
    assert_string_equal(h->protocol_version, "4.0");
    assert_true(h->has_request_hash);
    xr_request_hash(f->req, want, sizeof(want));
    assert_string_equal(h->request_hash, want);
    assert_string_equal(h->request_hash_algo, XR_HASH_ALGO_URI);
    body = xr_response_body(resp);
    assert_non_null(body);
    assert_string_equal((const char *)body->name, XRT_SERVICE_CODE "Response");
    assert_string_equal((const char *)body->ns->href, XRT_NS_BODY);
    /* The SOAP bytes are the whole text/xml body; no attachments. */
    assert_int_equal(xr_response_soap(resp).len, len);
    assert_memory_equal(xr_response_soap(resp).ptr, text, len);
    assert_int_equal(xr_response_part_count(resp), 0);
    assert_null(xr_response_part(resp, 0));
    xr_response_free(resp);
    free(text);
}

static void test_ok_order_prefix_whitespace(void **state)
{
    struct fixture *f = *state;
    char hash[XR_HASH_B64_MAX + 1];

    /* Any order. */
    f->m.order = "vhSrxuisce";
    EXPECT_OK(f);
    /* Whitespace around values, protocolVersion "4.0\n" as DVV sends. */
    f->m.order = NULL;
    snprintf(f->m.user_id, sizeof(f->m.user_id),
             "<xrd:userId>\n   %s \t</xrd:userId>", XRT_USER_ID);
    snprintf(f->m.issue, sizeof(f->m.issue), "<xrd:issue> %s\n</xrd:issue>",
             XRT_ISSUE);
    snprintf(f->m.protocol_version, sizeof(f->m.protocol_version),
             "<xrd:protocolVersion>4.0\n    </xrd:protocolVersion>");
    /* requestHash wrapped across lines. */
    xr_request_hash(f->req, hash, sizeof(hash));
    snprintf(f->m.request_hash, sizeof(f->m.request_hash),
             "<xrd:requestHash algorithmId=\"" XR_HASH_ALGO_URI
             "\">\n  %.40s\n  %s\n</xrd:requestHash>",
             hash, hash + 40);
    EXPECT_OK(f);
    /* Other prefixes bound to the same namespaces, declared locally. */
    snprintf(f->m.id, sizeof(f->m.id),
             "<h:id xmlns:h=\"" XR_NS_XROAD "\">" XRT_MSG_ID "</h:id>");
    snprintf(f->m.repr, sizeof(f->m.repr),
             "<r:representedParty xmlns:r=\"" XR_NS_REPR "\">"
             "<r:partyClass>" XRT_PARTY_CLASS "</r:partyClass>"
             "<r:partyCode>" XRT_PARTY_CODE "</r:partyCode>"
             "</r:representedParty>");
    EXPECT_OK(f);
    /* Foreign header elements are ignored, protocolVersion 4.1 is fine,
     * securityServer is not compared. */
    snprintf(f->m.extra, sizeof(f->m.extra),
             "<foo:userId xmlns:foo=\"urn:foo\">x</foo:userId>"
             "<userId>unqualified</userId>");
    snprintf(f->m.protocol_version, sizeof(f->m.protocol_version),
             "<xrd:protocolVersion>4.1</xrd:protocolVersion>");
    snprintf(f->m.security_server, sizeof(f->m.security_server),
             "<xrd:securityServer id:objectType=\"SERVER\">"
             "<id:xRoadInstance>FI</id:xRoadInstance>"
             "<id:memberClass>GOV</id:memberClass>"
             "<id:memberCode>9</id:memberCode>"
             "<id:serverCode>other</id:serverCode></xrd:securityServer>");
    EXPECT_OK(f);
}

static void test_ok_body_variants(void **state)
{
    struct fixture *f = *state;

    /* The wrapper only has to start with the serviceCode. */
    snprintf(f->m.body, sizeof(f->m.body), "<" XRT_SERVICE_CODE "/>");
    EXPECT_OK(f);
    snprintf(f->m.body, sizeof(f->m.body),
             "<!-- comment -->\n  <?pi data?>\n<x:" XRT_SERVICE_CODE
             "Response xmlns:x=\"urn:any\">text</x:" XRT_SERVICE_CODE
             "Response>\n<!-- trailing -->\n");
    EXPECT_OK(f);
}

static void test_request_hash_algorithms(void **state)
{
    struct fixture *f = *state;
    char hash[XR_HASH_B64_MAX + 1];

    xr_request_hash(f->req, hash, sizeof(hash));
    xrt_hash_xml(f->m.request_hash, sizeof(f->m.request_hash), "SHA-512", hash);
    EXPECT_OK(f);
    xrt_hash_xml(f->m.request_hash, sizeof(f->m.request_hash),
                 "http://www.w3.org/2001/04/xmlenc#sha256", hash);
    EXPECT_FAIL(f, "request_hash_algorithm", NULL);
    xrt_hash_xml(f->m.request_hash, sizeof(f->m.request_hash), "MD5", hash);
    EXPECT_FAIL(f, "request_hash_algorithm", NULL);
}

static void test_request_hash_mismatch(void **state)
{
    struct fixture *f = *state;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xr_check_opts opts = {0};
    char other[89];
    char hash[XR_HASH_B64_MAX + 1];

    xrt_hash_xml(f->m.request_hash, sizeof(f->m.request_hash), XR_HASH_ALGO_URI,
                 "foo");
    EXPECT_FAIL(f, "request_hash_mismatch", NULL);
    /* allow_missing does not excuse a wrong hash. */
    opts.allow_missing_request_hash = true;
    XRT_ASSERT_REASON(xrt_check_msg(f->req, &f->m, &opts, &resp, &err), err,
                      "request_hash_mismatch");
    assert_int_equal(err.code, XR_ESIG);

    /* A well-formed SHA-512 of other bytes. */
    xrt_sha512_b64("other bytes", 11, other);
    xrt_hash_xml(f->m.request_hash, sizeof(f->m.request_hash), XR_HASH_ALGO_URI,
                 other);
    EXPECT_FAIL(f, "request_hash_mismatch", NULL);

    /* One character off, and the right hash in lower case. */
    xr_request_hash(f->req, hash, sizeof(hash));
    hash[10] = hash[10] == 'A' ? 'B' : 'A';
    xrt_hash_xml(f->m.request_hash, sizeof(f->m.request_hash), XR_HASH_ALGO_URI,
                 hash);
    EXPECT_FAIL(f, "request_hash_mismatch", NULL);
    xr_request_hash(f->req, hash, sizeof(hash));
    for (char *p = hash; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    xrt_hash_xml(f->m.request_hash, sizeof(f->m.request_hash), XR_HASH_ALGO_URI,
                 hash);
    EXPECT_FAIL(f, "request_hash_mismatch", NULL);

    /* Empty requestHash element. */
    xrt_hash_xml(f->m.request_hash, sizeof(f->m.request_hash), XR_HASH_ALGO_URI,
                 "");
    EXPECT_FAIL(f, "request_hash_mismatch", NULL);
}

static void test_request_hash_of_other_request(void **state)
{
    struct fixture *f = *state;
    struct xr_header h;
    struct xr_request *other;
    char hash[XR_HASH_B64_MAX + 1];

    /* A different request with an identical header (new bytes only in the
     * body) must not validate this response. */
    xrt_std_header(&h);
    {
        struct xr_error err;
        static const char body[] =
            "<" XRT_SERVICE_CODE ">x</" XRT_SERVICE_CODE ">";
        XRT_ASSERT_OK(xr_request_new(&h, (const uint8_t *)body,
                                     sizeof(body) - 1, &other, &err),
                      err);
    }
    xr_request_hash(other, hash, sizeof(hash));
    xrt_hash_xml(f->m.request_hash, sizeof(f->m.request_hash), XR_HASH_ALGO_URI,
                 hash);
    EXPECT_FAIL(f, "request_hash_mismatch", NULL);
    xr_request_free(other);
}

static void test_request_hash_missing(void **state)
{
    struct fixture *f = *state;
    struct xr_check_opts opts = {0};
    struct xr_response *resp;

    f->m.request_hash[0] = '\0';
    EXPECT_FAIL(f, "request_hash_missing", NULL);
    opts.allow_missing_request_hash = true;
    resp = expect_ok_at(f, &opts, __LINE__);
    assert_false(xr_response_header(resp)->has_request_hash);
    xr_response_free(resp);

    /* Duplicated requestHash is a duplicate header field. */
    xrt_msg_echo(&f->m, f->req, true);
    snprintf(f->m.extra, sizeof(f->m.extra), "%s", f->m.request_hash);
    EXPECT_FAIL(f, "duplicate_header_field", "requestHash");
}

static void test_header_mismatch_each_field(void **state)
{
    struct fixture *f = *state;
    struct xr_id id;
    struct xr_error err;

    /* client: other subsystem, other type, other member. */
    XRT_ASSERT_OK(xr_id_parse_client("FI-TEST/MUN/0000000-0/other", &id, &err),
                  err);
    xrt_id_xml(f->m.client, sizeof(f->m.client), "client", &id);
    EXPECT_FAIL(f, "header_mismatch", "client");
    XRT_ASSERT_OK(xr_id_parse_client("FI-TEST/MUN/0000000-0", &id, &err), err);
    xrt_id_xml(f->m.client, sizeof(f->m.client), "client", &id);
    EXPECT_FAIL(f, "header_mismatch", "client");
    XRT_ASSERT_OK(
        xr_id_parse_client("FI/MUN/0000000-0/example-adapter", &id, &err), err);
    xrt_id_xml(f->m.client, sizeof(f->m.client), "client", &id);
    EXPECT_FAIL(f, "header_mismatch", "client");

    /* service: other version, no version, other case. */
    xrt_msg_echo(&f->m, f->req, true);
    XRT_ASSERT_OK(xr_id_parse_service(
                      "FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v2",
                      &id, &err),
                  err);
    xrt_id_xml(f->m.service, sizeof(f->m.service), "service", &id);
    EXPECT_FAIL(f, "header_mismatch", "service");
    XRT_ASSERT_OK(
        xr_id_parse_service(
            "FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely", &id, &err),
        err);
    xrt_id_xml(f->m.service, sizeof(f->m.service), "service", &id);
    EXPECT_FAIL(f, "header_mismatch", "service");
    XRT_ASSERT_OK(xr_id_parse_service(
                      "FI-TEST/GOV/0245437-2/vtjkysely/HenkilonTunnusKysely/v1",
                      &id, &err),
                  err);
    xrt_id_xml(f->m.service, sizeof(f->m.service), "service", &id);
    EXPECT_FAIL(f, "header_mismatch", "service");

    /* id */
    xrt_msg_echo(&f->m, f->req, true);
    xrt_text_xml(f->m.id, sizeof(f->m.id), "id", XRT_MSG_ID "x");
    EXPECT_FAIL(f, "header_mismatch", "id");
    /* userId (case matters) */
    xrt_msg_echo(&f->m, f->req, true);
    xrt_text_xml(f->m.user_id, sizeof(f->m.user_id), "userId",
                 "Example-user-42");
    EXPECT_FAIL(f, "header_mismatch", "userId");
    /* issue */
    xrt_msg_echo(&f->m, f->req, true);
    xrt_text_xml(f->m.issue, sizeof(f->m.issue), "issue", "case-18");
    EXPECT_FAIL(f, "header_mismatch", "issue");
    xrt_text_xml(f->m.issue, sizeof(f->m.issue), "issue", "");
    EXPECT_FAIL(f, "header_mismatch", "issue");
    /* representedParty: code, class, class absent */
    xrt_msg_echo(&f->m, f->req, true);
    snprintf(f->m.repr, sizeof(f->m.repr),
             "<repr:representedParty><repr:partyClass>COM</repr:partyClass>"
             "<repr:partyCode>7654321-0</repr:partyCode>"
             "</repr:representedParty>");
    EXPECT_FAIL(f, "header_mismatch", "representedParty");
    snprintf(f->m.repr, sizeof(f->m.repr),
             "<repr:representedParty><repr:partyClass>GOV</repr:partyClass>"
             "<repr:partyCode>" XRT_PARTY_CODE "</repr:partyCode>"
             "</repr:representedParty>");
    EXPECT_FAIL(f, "header_mismatch", "representedParty");
    snprintf(f->m.repr, sizeof(f->m.repr),
             "<repr:representedParty><repr:partyCode>" XRT_PARTY_CODE
             "</repr:partyCode></repr:representedParty>");
    EXPECT_FAIL(f, "header_mismatch", "representedParty");
}

static void test_missing_echoed_field(void **state)
{
    struct fixture *f = *state;

    f->m.user_id[0] = '\0';
    EXPECT_FAIL(f, "missing_header", "userId");
    xrt_msg_echo(&f->m, f->req, true);
    f->m.issue[0] = '\0';
    EXPECT_FAIL(f, "missing_header", "issue");
    xrt_msg_echo(&f->m, f->req, true);
    f->m.repr[0] = '\0';
    EXPECT_FAIL(f, "missing_header", "representedParty");
    xrt_msg_echo(&f->m, f->req, true);
    f->m.service[0] = '\0';
    EXPECT_FAIL(f, "missing_header", "service");
    xrt_msg_echo(&f->m, f->req, true);
    f->m.client[0] = '\0';
    EXPECT_FAIL(f, "missing_header", "client");
    xrt_msg_echo(&f->m, f->req, true);
    f->m.id[0] = '\0';
    EXPECT_FAIL(f, "missing_header", "id");
    xrt_msg_echo(&f->m, f->req, true);
    f->m.protocol_version[0] = '\0';
    EXPECT_FAIL(f, "missing_header", "protocolVersion");
}

static void test_extra_field_request_lacked(void **state)
{
    struct fixture *f = *state;
    struct xr_header h;
    struct xr_request *bare;

    /* A request without userId, issue and representedParty ... */
    xrt_std_header(&h);
    h.has_user_id = false;
    h.user_id[0] = '\0';
    h.has_issue = false;
    h.issue[0] = '\0';
    h.has_represented_party = false;
    h.has_party_class = false;
    bare = xrt_request_from(&h);
    xr_request_free(f->req);
    f->req = bare;
    xrt_msg_echo(&f->m, f->req, true);
    EXPECT_OK(f);
    /* ... answered with them: absent must equal absent. */
    xrt_text_xml(f->m.user_id, sizeof(f->m.user_id), "userId", "someone");
    EXPECT_FAIL(f, "header_mismatch", "userId");
    xrt_msg_echo(&f->m, f->req, true);
    xrt_text_xml(f->m.issue, sizeof(f->m.issue), "issue", "");
    EXPECT_FAIL(f, "header_mismatch", "issue");
    xrt_msg_echo(&f->m, f->req, true);
    snprintf(f->m.repr, sizeof(f->m.repr),
             "<repr:representedParty><repr:partyCode>X</repr:partyCode>"
             "</repr:representedParty>");
    EXPECT_FAIL(f, "header_mismatch", "representedParty");
}

static void test_empty_issue_echo(void **state)
{
    struct fixture *f = *state;
    struct xr_header h;

    /* Request with a present but empty issue (as in the VTJ vectors). */
    xrt_std_header(&h);
    h.issue[0] = '\0';
    xr_request_free(f->req);
    f->req = xrt_request_from(&h);
    xrt_msg_echo(&f->m, f->req, true);
    snprintf(f->m.issue, sizeof(f->m.issue), "<xrd:issue/>");
    EXPECT_OK(f);
    snprintf(f->m.issue, sizeof(f->m.issue), "<xrd:issue>  \n</xrd:issue>");
    EXPECT_OK(f);
    f->m.issue[0] = '\0';
    EXPECT_FAIL(f, "missing_header", "issue");
}

/*
 * Surrounding white space in userId and issue is not part of the value:
 * a request built with it and the same request parsed from its bytes
 * accept an echo without it, and the reverse (a service or security
 * server may normalise white space). Inner white space still counts.
 */
static void test_echo_whitespace(void **state)
{
    struct fixture *f = *state;
    struct xr_header h;
    struct xr_request *parsed = NULL;
    struct xr_response *resp = NULL;
    struct xr_bytes b;
    struct xr_error err;

    xrt_std_header(&h);
    snprintf(h.user_id, sizeof(h.user_id), " u1 ");
    snprintf(h.issue, sizeof(h.issue), "trail \n");
    xr_request_free(f->req);
    f->req = xrt_request_from(&h);
    xrt_msg_echo(&f->m, f->req, true);
    snprintf(f->m.user_id, sizeof(f->m.user_id), "<xrd:userId>u1</xrd:userId>");
    snprintf(f->m.issue, sizeof(f->m.issue), "<xrd:issue>trail</xrd:issue>");
    EXPECT_OK(f);
    /* The same bytes parsed back judge the same. */
    b = xr_request_bytes(f->req);
    assert_int_equal(xr_request_parse(NULL, b.ptr, b.len, NULL, &parsed, &err),
                     XR_OK);
    assert_int_equal(xrt_check_msg(parsed, &f->m, NULL, &resp, &err), XR_OK);
    xr_response_free(resp);
    resp = NULL;
    xr_request_free(parsed);
    /* An echo that keeps the white space is the same value too. */
    snprintf(f->m.issue, sizeof(f->m.issue), "<xrd:issue> trail </xrd:issue>");
    EXPECT_OK(f);
    /* Inner white space is part of the value. */
    snprintf(f->m.issue, sizeof(f->m.issue), "<xrd:issue>tr ail</xrd:issue>");
    EXPECT_FAIL(f, "header_mismatch", "issue");
}

static void test_duplicates(void **state)
{
    struct fixture *f = *state;

    snprintf(f->m.extra, sizeof(f->m.extra), "%s", f->m.user_id);
    EXPECT_FAIL(f, "duplicate_header_field", "userId");
    snprintf(f->m.extra, sizeof(f->m.extra), "%s", f->m.client);
    EXPECT_FAIL(f, "duplicate_header_field", "client");
    snprintf(f->m.extra, sizeof(f->m.extra),
             "<o:id xmlns:o=\"" XR_NS_XROAD "\">" XRT_MSG_ID "</o:id>");
    EXPECT_FAIL(f, "duplicate_header_field", "id");
    snprintf(f->m.extra, sizeof(f->m.extra), "%s", f->m.service);
    EXPECT_FAIL(f, "duplicate_header_field", "service");
    snprintf(f->m.extra, sizeof(f->m.extra), "%s", f->m.issue);
    EXPECT_FAIL(f, "duplicate_header_field", "issue");
    snprintf(f->m.extra, sizeof(f->m.extra), "%s", f->m.repr);
    EXPECT_FAIL(f, "duplicate_header_field", "representedParty");
}

static void test_protocol_version(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {"5.0", "3.5", "", "4", "40", "v4.0"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xrt_text_xml(f->m.protocol_version, sizeof(f->m.protocol_version),
                     "protocolVersion", bad[i]);
        EXPECT_FAIL(f, "protocol_version", "protocolVersion");
    }
}

static void test_body_rules(void **state)
{
    struct fixture *f = *state;

    snprintf(f->m.body, sizeof(f->m.body), "<SomethingElseResponse/>");
    EXPECT_FAIL(f, "body_invalid", NULL);
    snprintf(f->m.body, sizeof(f->m.body), "<henkilontunnuskyselyResponse/>");
    EXPECT_FAIL(f, "body_invalid", NULL);
    snprintf(f->m.body, sizeof(f->m.body), "<HenkilonTunnus/>");
    EXPECT_FAIL(f, "body_invalid", NULL);
    snprintf(f->m.body, sizeof(f->m.body), "%s", "");
    EXPECT_FAIL(f, "body_invalid", NULL);
    snprintf(f->m.body, sizeof(f->m.body), "  only text  ");
    EXPECT_FAIL(f, "body_invalid", NULL);
    snprintf(f->m.body, sizeof(f->m.body),
             "<" XRT_SERVICE_CODE "Response/><" XRT_SERVICE_CODE "Response/>");
    EXPECT_FAIL(f, "body_invalid", NULL);
    f->m.no_body = true;
    EXPECT_FAIL(f, "missing_body", NULL);
}

static void test_missing_header(void **state)
{
    struct fixture *f = *state;
    struct xr_response *resp = NULL;
    struct xr_error err;
    size_t len;
    char *text;

    f->m.no_header = true;
    EXPECT_FAIL(f, "missing_header", NULL);
    /* xr_response_parse agrees. */
    text = xrt_msg_render(&f->m, &len);
    XRT_ASSERT_REASON(
        xr_response_parse(NULL, (const uint8_t *)text, len, NULL, &resp, &err),
        err, "missing_header");
    assert_null(resp);
    free(text);
}

static void test_invalid_soap_and_xml(void **state)
{
    struct fixture *f = *state;
    struct xr_response *resp = NULL;
    struct xr_error err;
    static const char *const not_soap[] = {
        "<foo/>",
        "<Envelope><Body/></Envelope>",
        ("<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\">"
         "<e:Header/><e:Body><x/></e:Body></e:Envelope>"),
    };

    for (size_t i = 0; i < sizeof(not_soap) / sizeof(not_soap[0]); i++) {
        XRT_ASSERT_REASON(
            xr_response_check(f->req, NULL, (const uint8_t *)not_soap[i],
                              strlen(not_soap[i]), NULL, &resp, &err),
            err, "invalid_soap");
        assert_null(resp);
    }
    XRT_ASSERT_REASON(xr_response_check(f->req, NULL,
                                        (const uint8_t *)"<a><b></a>", 10, NULL,
                                        &resp, &err),
                      err, "malformed_xml");
    assert_int_equal(err.code, XR_EPARSE);
    /* An empty HTTP body. */
    XRT_ASSERT_REASON_IN(xr_response_check(f->req, NULL, (const uint8_t *)"", 0,
                                           NULL, &resp, &err),
                         err, "invalid_soap", "malformed_xml");
    assert_null(resp);

    /* objectType missing in the response's client. */
    snprintf(f->m.client, sizeof(f->m.client),
             "<xrd:client><id:xRoadInstance>FI-TEST</id:xRoadInstance>"
             "<id:memberClass>MUN</id:memberClass><id:memberCode>0000000-0"
             "</id:memberCode><id:subsystemCode>example-adapter"
             "</id:subsystemCode></xrd:client>");
    EXPECT_FAIL(f, "invalid_xml", NULL);
}

static void test_content_types(void **state)
{
    struct fixture *f = *state;
    static const char *const ok[] = {
        NULL, "text/xml", "text/xml; charset=UTF-8", "Text/XML; Charset=utf-8",
        "text/xml;charset=\"UTF-8\""};
    static const char *const bad[] = {"application/json", "text/html",
                                      "application/soap+xml",
                                      "application/octet-stream"};
    size_t len;
    char *text = xrt_msg_render(&f->m, &len);

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct xr_response *resp = NULL;
        struct xr_error err;
        XRT_ASSERT_OK(xr_response_check(f->req, ok[i], (const uint8_t *)text,
                                        len, NULL, &resp, &err),
                      err);
        xr_response_free(resp);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xr_response *resp = NULL;
        struct xr_error err;
        XRT_ASSERT_REASON(xr_response_check(f->req, bad[i],
                                            (const uint8_t *)text, len, NULL,
                                            &resp, &err),
                          err, "invalid_content_type");
        assert_null(resp);
    }
    free(text);
}

static void test_parse_without_request(void **state)
{
    struct fixture *f = *state;
    struct xr_response *resp = NULL;
    struct xr_error err;
    size_t len;
    char *text;

    /* Structure only: no echo, no hash required. */
    xrt_text_xml(f->m.id, sizeof(f->m.id), "id", "anything");
    f->m.request_hash[0] = '\0';
    text = xrt_msg_render(&f->m, &len);
    XRT_ASSERT_OK(xr_response_parse("text/xml", (const uint8_t *)text, len,
                                    NULL, &resp, &err),
                  err);
    assert_int_equal(xr_response_verdict(resp), XR_VERDICT_OK);
    assert_string_equal(xr_response_header(resp)->id, "anything");
    assert_false(xr_response_header(resp)->has_request_hash);
    assert_non_null(xr_response_body(resp));
    xr_response_free(resp);
    resp = NULL;
    free(text);

    /* Structural rules still apply. */
    xrt_msg_echo(&f->m, f->req, true);
    f->m.id[0] = '\0';
    text = xrt_msg_render(&f->m, &len);
    XRT_ASSERT_REASON_IN(
        xr_response_parse(NULL, (const uint8_t *)text, len, NULL, &resp, &err),
        err, "missing_header_field", "missing_header");
    assert_string_equal(err.field, "id");
    assert_null(resp);
    free(text);

    xrt_msg_echo(&f->m, f->req, true);
    snprintf(f->m.body, sizeof(f->m.body), "<a/><b/>");
    text = xrt_msg_render(&f->m, &len);
    XRT_ASSERT_REASON(
        xr_response_parse(NULL, (const uint8_t *)text, len, NULL, &resp, &err),
        err, "body_invalid");
    free(text);

    xrt_msg_echo(&f->m, f->req, true);
    xrt_text_xml(f->m.protocol_version, sizeof(f->m.protocol_version),
                 "protocolVersion", "3.0");
    text = xrt_msg_render(&f->m, &len);
    XRT_ASSERT_REASON(
        xr_response_parse(NULL, (const uint8_t *)text, len, NULL, &resp, &err),
        err, "protocol_version");
    free(text);
}

static void test_limits(void **state)
{
    struct fixture *f = *state;
    struct xr_check_opts opts = {0};
    struct xr_response *resp = NULL;
    struct xr_error err;
    size_t len;
    char *text = xrt_msg_render(&f->m, &len);

    opts.limits.max_bytes = len;
    XRT_ASSERT_OK(xr_response_check(f->req, NULL, (const uint8_t *)text, len,
                                    &opts, &resp, &err),
                  err);
    xr_response_free(resp);
    resp = NULL;
    opts.limits.max_bytes = len - 1;
    XRT_ASSERT_REASON(xr_response_check(f->req, NULL, (const uint8_t *)text,
                                        len, &opts, &resp, &err),
                      err, "too_large");
    assert_int_equal(err.code, XR_ELIMIT);
    assert_null(resp);
    XRT_ASSERT_REASON(
        xr_response_parse(NULL, (const uint8_t *)text, len, &opts, &resp, &err),
        err, "too_large");
    free(text);

    /* Over-long header texts. */
    {
        char big[XR_TEXT_MAX + 50];
        memset(big, 'u', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        xrt_text_xml(f->m.user_id, sizeof(f->m.user_id), "userId", big);
        EXPECT_FAIL(f, "too_large", "userId");
    }
}

/*
 * A caller's dictionary (xr_check_opts.dict): the answer's names are
 * interned in it, answers parsed with it read as without it, each keeps
 * its own reference (the caller may let the dictionary go first), and a
 * failed parse leaves the count as it was.
 */
static void test_caller_dictionary(void **state)
{
    struct fixture *f = *state;
    struct xr_check_opts opts = {0};
    struct xr_response *a, *b, *plain;
    struct xr_response *resp = NULL;
    struct xr_error err;
    xmlNodePtr body;
    int size;

    opts.dict = xmlDictCreate();
    assert_non_null(opts.dict);
    a = expect_ok_at(f, &opts, __LINE__);
    size = xmlDictSize(opts.dict);
    assert_true(size > 0);
    b = expect_ok_at(f, &opts, __LINE__);
    /* The second answer brings no new names. */
    assert_int_equal(xmlDictSize(opts.dict), size);
    body = xr_response_body(b);
    assert_true(xmlDictOwns(opts.dict, body->name) == 1);
    plain = expect_ok_at(f, NULL, __LINE__);
    assert_false(xmlDictOwns(opts.dict, xr_response_body(plain)->name) == 1);
    assert_string_equal((const char *)body->name,
                        (const char *)xr_response_body(plain)->name);
    assert_string_equal(xr_response_header(b)->id,
                        xr_response_header(plain)->id);
    XRT_ASSERT_REASON(xr_response_check(f->req, NULL, (const uint8_t *)"<a>", 3,
                                        &opts, &resp, &err),
                      err, "malformed_xml");
    assert_null(resp);
    /* Let the dictionary go before the answers: they keep it alive. */
    xmlDictFree(opts.dict);
    assert_string_equal((const char *)xr_response_body(a)->name,
                        XRT_SERVICE_CODE "Response");
    xr_response_free(a);
    assert_string_equal((const char *)xr_response_body(b)->name,
                        XRT_SERVICE_CODE "Response");
    xr_response_free(b);
    xr_response_free(plain);
}

static void test_messages_stay_utf8(void **state)
{
    struct fixture *f = *state;
    struct xrt_buf b = {0};

    /* Non-ASCII names and values quoted into err->msg must not be cut in
     * the middle of a character (the CLI turns msg into a JSON string). */
    xrt_buf_adds(&b, "<x");
    xrt_buf_repeat(&b, "\xc3\xa4", 100);
    xrt_buf_adds(&b, "/>");
    f->m.body_dyn = b.p;
    EXPECT_FAIL(f, "body_invalid", NULL);
    f->m.body_dyn = NULL;
    xrt_buf_free(&b);

    xrt_buf_adds(&b, "x");
    xrt_buf_repeat(&b, "\xc3\xa4", 40);
    xrt_text_xml(f->m.protocol_version, sizeof(f->m.protocol_version),
                 "protocolVersion", b.p);
    EXPECT_FAIL(f, "protocol_version", "protocolVersion");
    xrt_buf_free(&b);

    xrt_msg_echo(&f->m, f->req, true);
    xrt_buf_adds(&b, "x");
    xrt_buf_repeat(&b, "\xc3\xa4", 100);
    xrt_hash_xml(f->m.request_hash, sizeof(f->m.request_hash), b.p, "AAAA");
    EXPECT_FAIL(f, "request_hash_algorithm", NULL);
    xrt_buf_free(&b);
}

static void test_out_cleared_on_failure(void **state)
{
    struct fixture *f = *state;
    struct xr_response *stale = (struct xr_response *)(uintptr_t)0x1;
    struct xr_request *stale_req = (struct xr_request *)(uintptr_t)0x1;
    struct xr_error err;

    /* A caller reusing its pointer must never see a stale value after an
     * error (it would free it). */
    assert_int_not_equal(
        xr_response_parse(NULL, (const uint8_t *)"<", 1, NULL, &stale, &err),
        XR_OK);
    assert_null(stale);
    stale = (struct xr_response *)(uintptr_t)0x1;
    assert_int_not_equal(xr_response_check(f->req, NULL, (const uint8_t *)"<",
                                           1, NULL, &stale, &err),
                         XR_OK);
    assert_null(stale);
    assert_int_not_equal(
        xr_request_parse(NULL, (const uint8_t *)"<", 1, NULL, &stale_req, &err),
        XR_OK);
    assert_null(stale_req);
}

static void test_err_null_and_reuse(void **state)
{
    struct fixture *f = *state;
    struct xr_response *resp = NULL;
    size_t len;
    char *text;

    xrt_text_xml(f->m.user_id, sizeof(f->m.user_id), "userId", "x");
    text = xrt_msg_render(&f->m, &len);
    assert_int_equal(xr_response_check(f->req, NULL, (const uint8_t *)text, len,
                                       NULL, &resp, NULL),
                     XR_EPROTO);
    assert_null(resp);
    free(text);
    xr_response_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ok_exact_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ok_order_prefix_whitespace, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ok_body_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_hash_algorithms, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_request_hash_mismatch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_request_hash_of_other_request,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_hash_missing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_header_mismatch_each_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_echoed_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_extra_field_request_lacked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_issue_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_whitespace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_soap_and_xml, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_content_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_without_request, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_caller_dictionary, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages_stay_utf8, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_cleared_on_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_err_null_and_reuse, setup,
                                        teardown),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("response", tests, xrt_group_setup,
                                       xrt_group_teardown);
}

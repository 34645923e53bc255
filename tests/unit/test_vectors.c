/*
 * Interoperability tests over the upstream X-Road SOAP vectors in
 * $XR_VECTORS_DIR/xroad/soap/ and the VTJ synthetic pair in
 * $XR_VECTORS_DIR/vtj/synthetic/, with the verdicts that the vectors'
 * SOURCES.md states. Every file in soap/ must be covered by a case here
 * (test_inventory). Everything is skipped with a message when the
 * vectors directory is absent.
 */
#include <ctype.h>
#include <dirent.h>

#include "test_helpers.h"

#define SWA_CT \
    "multipart/related; charset=UTF-8; boundary=jetty771207119h3h10dty"
#define MTOM_CT                                                \
    "Multipart/Related; start-info=\"application/soap+xml\"; " \
    "type=\"application/xop+xml\"; boundary=\"jetty771207119h3h10dty\""
#define MTOM_RESP_CT MTOM_CT ";charset=UTF-8"
#define XML_CT       "text/xml; charset=UTF-8"

/* Every file of soap/, by relative path. */
static const char *const soap_files[] = {
    "requests-valid/getstate.query",
    "requests-valid/getstate-subsystem.query",
    "requests-valid/simple-representedparty.query",
    "requests-valid/missing-userId.query",
    "requests-valid/listMethods.query",
    "requests-valid/allowedMethods.query",
    "requests-invalid/no-header.query",
    "requests-invalid/missing-body.query",
    "requests-invalid/faulty-header.query",
    "requests-invalid/faulty-header2.query",
    "requests-invalid/malformed-body1.query",
    "requests-invalid/malformed-body2.query",
    "requests-invalid/malformed-body3.query",
    "requests-invalid/missing-protocolVersion.query",
    "requests-invalid/wrong-protocolVersion.query",
    "requests-invalid/missingobjecttype.query",
    "responses/getstate.answer",
    "responses/getstate-subsystem.answer",
    "responses/missing-userId.answer",
    "responses/requesthash.answer",
    "responses/response-with-requestId.answer",
    "responses/getstate-iso88591.answer",
    "faults/fault.query",
    "faults/customfault.answer",
    "faults/faulty-fault.answer",
    "faults/soapfaulterror.query",
    "multipart/attachm.query",
    "multipart/attachments.answer",
    "multipart/attachm-mtom.query",
    "multipart/attachm-mtom.answer",
    "multipart/soapfault-mtom.answer",
    "multipart/attachm-no-soap.query",
    "multipart/attachm-error.query",
    "multipart/faulty-multipart.query",
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

struct vec {
    char path[1024];
    uint8_t *data;
    size_t len;
};

/* Load $XR_VECTORS_DIR/<sub>; fails the test when the file is missing. */
static void vec_load(struct vec *v, const char *dir, const char *sub)
{
    snprintf(v->path, sizeof(v->path), "%s/%s", dir, sub);
    v->data = xrt_read_file(v->path, &v->len);
    if (!v->data)
        fail_msg("vector %s is missing (XR_VECTORS_DIR exists)", v->path);
}

static void vec_free(struct vec *v)
{
    free(v->data);
    v->data = NULL;
}

static void soap_load(struct vec *v, const char *dir, const char *rel)
{
    char sub[512];

    snprintf(sub, sizeof(sub), "xroad/soap/%s", rel);
    vec_load(v, dir, sub);
}

/* "Client.MissingHeaderField" -> "missing_header_field" (the leaf). */
static void camel_leaf_to_snake(const char *code, char *out, size_t size)
{
    const char *leaf = strrchr(code, '.');
    size_t o = 0;

    leaf = leaf ? leaf + 1 : code;
    for (size_t i = 0; leaf[i] && o + 2 < size; i++) {
        unsigned char c = (unsigned char)leaf[i];
        if (isupper(c) && i > 0)
            out[o++] = '_';
        out[o++] = (char)tolower(c);
    }
    out[o] = '\0';
}

/*
 * Parse a query as the request an answer belongs to. X-Road's harness
 * gives query and answer fresh, equal ids, so when the literal ids differ
 * the query's <xroad:id> is rewritten to the answer's before parsing.
 */
static struct xr_request *request_for(const char *dir, const char *query_rel,
                                      const char *query_ct,
                                      const char *answer_id)
{
    struct vec q;
    struct xr_request *req = NULL;
    struct xr_error err;
    const char *qid;

    soap_load(&q, dir, query_rel);
    XRT_ASSERT_OK(xr_request_parse(query_ct, q.data, q.len, NULL, &req, &err),
                  err);
    qid = xr_request_header(req)->id;
    if (answer_id && strcmp(qid, answer_id) != 0) {
        char from[XR_TEXT_MAX + 32], to[XR_TEXT_MAX + 32];
        size_t n;
        char *text;

        snprintf(from, sizeof(from), "<xroad:id>%s</xroad:id>", qid);
        snprintf(to, sizeof(to), "<xroad:id>%s</xroad:id>", answer_id);
        text = xrt_replace((const char *)q.data, q.len, from, to, &n);
        assert_non_null(text);
        xr_request_free(req);
        req = NULL;
        XRT_ASSERT_OK(xr_request_parse(query_ct, (const uint8_t *)text, n, NULL,
                                       &req, &err),
                      err);
        assert_string_equal(xr_request_header(req)->id, answer_id);
        free(text);
    }
    vec_free(&q);
    return req;
}

/* The id in an answer, via xr_response_parse. */
static void answer_id(const struct vec *a, const char *ct, char *out,
                      size_t size)
{
    struct xr_response *resp = NULL;
    struct xr_error err;

    XRT_ASSERT_OK(xr_response_parse(ct, a->data, a->len, NULL, &resp, &err),
                  err);
    assert_non_null(xr_response_header(resp));
    snprintf(out, size, "%s", xr_response_header(resp)->id);
    xr_response_free(resp);
}

/* Strip trailing CR/LF for comparing attachment payloads. */
static size_t trim_eol(const uint8_t *p, size_t n)
{
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    return n;
}

static void assert_part_text(const struct xr_part *p, const char *ct_prefix,
                             const char *text)
{
    assert_non_null(p);
    if (strncmp(p->content_type, ct_prefix, strlen(ct_prefix)) != 0)
        fail_msg("part content type '%s' does not start with '%s'",
                 p->content_type, ct_prefix);
    assert_int_equal(trim_eol(p->data.ptr, p->data.len), strlen(text));
    assert_memory_equal(p->data.ptr, text, strlen(text));
}

/* ------------------------------------------------------------------ */

static void test_inventory(void **state)
{
    static const char *const subdirs[] = {"requests-valid", "requests-invalid",
                                          "responses", "faults", "multipart"};
    const char *dir;
    char path[1024];
    size_t seen = 0;

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    for (size_t s = 0; s < sizeof(subdirs) / sizeof(subdirs[0]); s++) {
        DIR *d;
        struct dirent *de;

        snprintf(path, sizeof(path), "%s/xroad/soap/%s", dir, subdirs[s]);
        d = opendir(path);
        if (!d)
            fail_msg("cannot open %s", path);
        while ((de = readdir(d)) != NULL) {
            char rel[512];
            bool known = false;

            if (de->d_name[0] == '.')
                continue;
            snprintf(rel, sizeof(rel), "%s/%s", subdirs[s], de->d_name);
            for (size_t i = 0; i < sizeof(soap_files) / sizeof(soap_files[0]);
                 i++)
                if (strcmp(rel, soap_files[i]) == 0)
                    known = true;
            if (!known) {
                closedir(d);
                fail_msg("vector soap/%s has no test case here", rel);
            }
            seen++;
        }
        closedir(d);
    }
    assert_int_equal(seen, sizeof(soap_files) / sizeof(soap_files[0]));
}

struct valid_case {
    const char *file;
    enum xr_id_type client_type;
    const char *service_code;
    const char *id;
    const char *user_id; /* NULL = absent */
    const char *issue;   /* NULL = absent */
    const char *party;   /* "CLASS/CODE", NULL = absent */
};

static void test_requests_valid(void **state)
{
    static const struct valid_case cases[] = {
        {"getstate.query", XR_ID_MEMBER, "getState",
         "411d6755661409fed365ad8135f8210be07613da", "EE:PIN:abc4567", "",
         NULL},
        {"getstate-subsystem.query", XR_ID_SUBSYSTEM, "getState",
         "411d6755661409fed365ad8135f8210be07613da", "EE:PIN:abc4567", "",
         NULL},
        {"simple-representedparty.query", XR_ID_MEMBER, "testQuery",
         "1234567890", "EE37702211234", "issue-1", "COM/MEMBER3"},
        {"missing-userId.query", XR_ID_MEMBER, "testQuery", "1234567890", NULL,
         NULL, NULL},
        {"listMethods.query", XR_ID_MEMBER, "listMethods",
         "411d6755661409fed365ad8135f8210be07613da", "EE:PIN:abc4567", "",
         NULL},
        {"allowedMethods.query", XR_ID_MEMBER, "allowedMethods",
         "411d6755661409fed365ad8135f8210be07613da", "EE:PIN:abc4567", "",
         NULL},
    };
    const char *dir;

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct valid_case *c = &cases[i];
        struct vec v;
        struct xr_request *req = NULL, *built = NULL, *back = NULL;
        struct xr_error err;
        const struct xr_header *h;
        char rel[256], want[89], got[XR_HASH_B64_MAX + 1];

        snprintf(rel, sizeof(rel), "requests-valid/%s", c->file);
        soap_load(&v, dir, rel);
        XRT_ASSERT_OK(xr_request_parse(XML_CT, v.data, v.len, NULL, &req, &err),
                      err);
        h = xr_request_header(req);
        assert_int_equal(h->client.type, c->client_type);
        assert_string_equal(h->client.instance, "EE");
        assert_string_equal(h->client.member_class, "BUSINESS");
        assert_string_equal(h->client.member_code, "consumer");
        assert_int_equal(h->service.type, XR_ID_SERVICE);
        assert_string_equal(h->service.member_code, "producer");
        assert_string_equal(h->service.service_code, c->service_code);
        assert_string_equal(h->id, c->id);
        assert_int_equal(h->has_user_id, c->user_id != NULL);
        if (c->user_id)
            assert_string_equal(h->user_id, c->user_id);
        assert_int_equal(h->has_issue, c->issue != NULL);
        if (c->issue)
            assert_string_equal(h->issue, c->issue);
        assert_int_equal(h->has_represented_party, c->party != NULL);
        if (c->party) {
            char pc[2 * XR_TEXT_MAX + 4];
            snprintf(pc, sizeof(pc), "%s/%s", h->party_class, h->party_code);
            assert_true(h->has_party_class);
            assert_string_equal(pc, c->party);
        }
        assert_string_equal(h->protocol_version, "4.0");
        /* Kept bytes are the file; the hash is over them. */
        assert_int_equal(xr_request_bytes(req).len, v.len);
        assert_memory_equal(xr_request_bytes(req).ptr, v.data, v.len);
        xrt_sha512_b64(v.data, v.len, want);
        xr_request_hash(req, got, sizeof(got));
        assert_string_equal(got, want);
        assert_non_null(xr_request_body(req));
        assert_string_equal((const char *)xr_request_body(req)->name,
                            c->service_code);

        /* The builder, given the parsed header, produces a structurally
         * equal header. */
        XRT_ASSERT_OK(xr_request_new(h, NULL, 0, &built, &err), err);
        XRT_ASSERT_OK(xr_request_parse(NULL, xr_request_bytes(built).ptr,
                                       xr_request_bytes(built).len, NULL, &back,
                                       &err),
                      err);
        {
            const struct xr_header *b = xr_request_header(back);
            assert_true(xr_id_equal(&b->client, &h->client));
            assert_true(xr_id_equal(&b->service, &h->service));
            assert_string_equal(b->id, h->id);
            assert_int_equal(b->has_user_id, h->has_user_id);
            assert_string_equal(b->user_id, h->user_id);
            assert_int_equal(b->has_issue, h->has_issue);
            assert_string_equal(b->issue, h->issue);
            assert_int_equal(b->has_represented_party,
                             h->has_represented_party);
            assert_string_equal(b->party_code, h->party_code);
            assert_string_equal(b->party_class, h->party_class);
        }
        xr_request_free(back);
        xr_request_free(built);
        xr_request_free(req);
        vec_free(&v);
    }
}

static void test_request_getstate_details(void **state)
{
    const char *dir;
    struct vec v;
    struct xr_request *req = NULL;
    struct xr_error err;
    xmlNodePtr w;
    xmlChar *t;
    struct xrt_buf b = {0};

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    soap_load(&v, dir, "requests-valid/getstate.query");
    XRT_ASSERT_OK(xr_request_parse(NULL, v.data, v.len, NULL, &req, &err), err);
    w = xr_request_body(req);
    assert_string_equal((const char *)w->ns->href, XR_NS_XROAD);
    t = xmlNodeGetContent(w);
    assert_string_equal((const char *)t, "a\xc3\xa4\xc3\xb5"); /* aäõ */
    xmlFree(t);
    xr_request_free(req);
    req = NULL;
    vec_free(&v);

    /* getstate-subsystem is also sent with a UTF-8 BOM upstream; the BOM
     * stays in the kept bytes. */
    soap_load(&v, dir, "requests-valid/getstate-subsystem.query");
    xrt_buf_adds(&b, "\xef\xbb\xbf");
    xrt_buf_addn(&b, v.data, v.len);
    XRT_ASSERT_OK(
        xr_request_parse(XML_CT, (const uint8_t *)b.p, b.len, NULL, &req, &err),
        err);
    assert_int_equal(xr_request_bytes(req).len, v.len + 3);
    assert_memory_equal(xr_request_bytes(req).ptr, "\xef\xbb\xbf", 3);
    assert_string_equal(xr_request_header(req)->client.subsystem_code,
                        "subsys1");
    assert_string_equal(xr_request_header(req)->service.subsystem_code,
                        "subsys2");
    xr_request_free(req);
    xrt_buf_free(&b);
    vec_free(&v);
}

struct invalid_case {
    const char *file;
    const char *xroad_code; /* as SOURCES.md states it */
    const char *field;      /* NULL: not asserted */
};

static void test_requests_invalid(void **state)
{
    static const struct invalid_case cases[] = {
        {"no-header.query", "Client.MissingHeader", NULL},
        {"missing-body.query", "Client.MissingBody", NULL},
        {"faulty-header.query", "Client.MissingHeaderField", NULL},
        {"faulty-header2.query", "Client.DuplicateHeaderField", "client"},
        {"malformed-body1.query", "Client.InvalidBody", NULL},
        {"malformed-body2.query", "Client.InvalidBody", NULL},
        {"malformed-body3.query", "Client.InconsistentHeaders", NULL},
        {"missing-protocolVersion.query", "Client.MissingHeaderField",
         "protocolVersion"},
        {"wrong-protocolVersion.query", "Client.InvalidProtocolVersion", NULL},
        {"missingobjecttype.query", "Client.InvalidXml", NULL},
    };
    const char *dir;

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vec v;
        struct xr_request *req = NULL;
        struct xr_error err;
        enum xr_status st;
        char rel[256], reason[64], code78[96];

        snprintf(rel, sizeof(rel), "requests-invalid/%s", cases[i].file);
        soap_load(&v, dir, rel);
        camel_leaf_to_snake(cases[i].xroad_code, reason, sizeof(reason));
        /* The reason is the 7.8 snake_case form of the X-Road code. */
        snprintf(code78, sizeof(code78), "client.%s", reason);
        assert_true(xr_fault_code_equal(code78, cases[i].xroad_code));

        st = xr_request_parse(XML_CT, v.data, v.len, NULL, &req, &err);
        if (st == XR_OK)
            fail_msg("%s was accepted; X-Road answers %s", rel,
                     cases[i].xroad_code);
        if (cases[i].field)
            XRT_ASSERT_REASON_FIELD(st, err, reason, cases[i].field);
        else
            XRT_ASSERT_REASON(st, err, reason);
        assert_null(req);
        vec_free(&v);
    }
}

struct pair_case {
    const char *answer;
    const char *query;
    const char *answer_ct;
    const char *body_name;
};

static void test_responses_consistent(void **state)
{
    static const struct pair_case cases[] = {
        {"responses/getstate.answer", "requests-valid/getstate.query", XML_CT,
         "getStateResponse"},
        {"responses/getstate-subsystem.answer",
         "requests-valid/getstate-subsystem.query", XML_CT, "getStateResponse"},
        {"responses/missing-userId.answer",
         "requests-valid/missing-userId.query", XML_CT, "testQueryResponse"},
    };
    const char *dir;

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct pair_case *c = &cases[i];
        struct vec a;
        struct xr_request *req;
        struct xr_response *resp = NULL;
        struct xr_error err;
        struct xr_check_opts opts = {0};
        char id[XR_TEXT_MAX + 1];

        soap_load(&a, dir, c->answer);
        answer_id(&a, c->answer_ct, id, sizeof(id));
        req = request_for(dir, c->query, XML_CT, id);

        /* As the provider's service sent it: no requestHash yet. */
        opts.allow_missing_request_hash = true;
        XRT_ASSERT_OK(xr_response_check(req, c->answer_ct, a.data, a.len, &opts,
                                        &resp, &err),
                      err);
        assert_int_equal(xr_response_verdict(resp), XR_VERDICT_OK);
        assert_string_equal((const char *)xr_response_body(resp)->name,
                            c->body_name);
        xr_response_free(resp);
        resp = NULL;
        XRT_ASSERT_REASON(xr_response_check(req, c->answer_ct, a.data, a.len,
                                            NULL, &resp, &err),
                          err, "request_hash_missing");

        /* As the client receives it: the provider's security server has
         * inserted the real requestHash right after the id. */
        {
            char hash[XR_HASH_B64_MAX + 1], from[XR_TEXT_MAX + 32],
                to[XR_TEXT_MAX + 256];
            size_t n;
            char *text;

            xr_request_hash(req, hash, sizeof(hash));
            snprintf(from, sizeof(from), "<xroad:id>%s</xroad:id>", id);
            snprintf(to, sizeof(to),
                     "<xroad:id>%s</xroad:id>\n        <xroad:requestHash "
                     "algorithmId=\"" XR_HASH_ALGO_URI "\">%s"
                     "</xroad:requestHash>",
                     id, hash);
            text = xrt_replace((const char *)a.data, a.len, from, to, &n);
            assert_non_null(text);
            XRT_ASSERT_OK(xr_response_check(req, c->answer_ct,
                                            (const uint8_t *)text, n, NULL,
                                            &resp, &err),
                          err);
            assert_int_equal(xr_response_verdict(resp), XR_VERDICT_OK);
            xr_response_free(resp);
            free(text);
        }
        xr_request_free(req);
        vec_free(&a);
    }
}

static void test_requesthash_answer_rejected(void **state)
{
    const char *dir;
    struct vec a;
    struct xr_request *req;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xr_check_opts opts = {0};
    char id[XR_TEXT_MAX + 1];

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    soap_load(&a, dir, "responses/requesthash.answer");
    answer_id(&a, XML_CT, id, sizeof(id));
    req = request_for(dir, "requests-valid/getstate.query", XML_CT, id);
    XRT_ASSERT_REASON(
        xr_response_check(req, XML_CT, a.data, a.len, NULL, &resp, &err), err,
        "request_hash_mismatch");
    assert_int_equal(err.code, XR_ESIG);
    assert_null(resp);
    /* Allowing a missing hash does not excuse a wrong one. */
    opts.allow_missing_request_hash = true;
    XRT_ASSERT_REASON(
        xr_response_check(req, XML_CT, a.data, a.len, &opts, &resp, &err), err,
        "request_hash_mismatch");
    /* The structure alone is fine. */
    XRT_ASSERT_OK(xr_response_parse(XML_CT, a.data, a.len, NULL, &resp, &err),
                  err);
    assert_string_equal(xr_response_header(resp)->request_hash, "foo");
    xr_response_free(resp);
    xr_request_free(req);
    vec_free(&a);
}

static void test_response_with_request_id(void **state)
{
    const char *dir;
    struct vec a;
    struct xr_response *resp = NULL;
    struct xr_error err;
    const struct xr_header *h;

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    soap_load(&a, dir, "responses/response-with-requestId.answer");
    XRT_ASSERT_OK(xr_response_parse(XML_CT, a.data, a.len, NULL, &resp, &err),
                  err);
    h = xr_response_header(resp);
    assert_non_null(h);
    assert_true(h->has_request_hash);
    assert_string_equal(h->request_hash,
                        "xhlFFlffQR5L0KOL3dGRuLxxOsl04P1+8/qi/NCT1ze5SQFLtRG1"
                        "CU34+suTgAEcRfJz/P+wG4dSGHgukcsBdA==");
    assert_string_equal(h->request_hash_algo, XR_HASH_ALGO_URI);
    /* Identifiers verbatim, spaces included. */
    assert_string_equal(h->service.subsystem_code, "mgmt service provider");
    assert_string_equal(h->service.service_code, "clientReg");
    assert_int_equal(h->client.type, XR_ID_MEMBER);
    assert_string_equal(h->client.member_code, "TS1OWNER");
    assert_string_equal(h->id, "d9e5b4e0-052c-42f9-9ed7-b003f97f0f5f");
    assert_false(h->has_user_id);
    assert_false(h->has_issue);
    assert_string_equal((const char *)xr_response_body(resp)->name,
                        "clientRegResponse");
    xr_response_free(resp);
    vec_free(&a);
}

static void test_iso88591_answer(void **state)
{
    const char *dir;
    struct vec a;
    struct xr_request *req;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xr_check_opts opts = {0};
    char id[XR_TEXT_MAX + 1];
    const char *ct = "text/xml; charset=ISO-8859-1";
    xmlChar *t;

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    soap_load(&a, dir, "responses/getstate-iso88591.answer");
    answer_id(&a, ct, id, sizeof(id));
    req = request_for(dir, "requests-valid/getstate.query", XML_CT, id);
    opts.allow_missing_request_hash = true;
    XRT_ASSERT_OK(xr_response_check(req, ct, a.data, a.len, &opts, &resp, &err),
                  err);
    /* The body bytes EF BF BD are three Latin-1 characters. */
    t = xmlNodeGetContent(xr_response_body(resp));
    assert_non_null(strstr((const char *)t, "\xc3\xaf\xc2\xbf\xc2\xbd"));
    xmlFree(t);
    xr_response_free(resp);
    xr_request_free(req);
    vec_free(&a);
}

struct fault_case {
    const char *file;
    const char *ct;
    const char *code;
    const char *string;
    const char *actor; /* NULL: no faultactor element */
    const char *detail;
    enum xr_fault_origin origin;
};

static void test_faults(void **state)
{
    static const struct fault_case cases[] = {
        {"faults/fault.query", XML_CT, "CODE", "STRING", "ACTOR", "DETAIL",
         XR_ORIGIN_SERVICE},
        {"faults/customfault.answer", XML_CT, "foo:FOOCODE", "STRING", "ACTOR",
         "DETAIL", XR_ORIGIN_SERVICE},
        {"faults/faulty-fault.answer", XML_CT, "soap:Server",
         "Intentional SOAP-Fault for testing (when given-name or last-name "
         "starts with 'ERROR')",
         NULL, "", XR_ORIGIN_SERVICE},
        {"faults/soapfaulterror.query", XML_CT, "SOAP-ENV:Clientrwerete",
         "Message does not have necessary info", "http://gizmos.com/order",
         "Quantity element does not have a value", XR_ORIGIN_SERVICE},
        {"multipart/soapfault-mtom.answer", MTOM_RESP_CT, "soap:Server",
         "Error", NULL, "Unable to create payload, try increasing the size",
         XR_ORIGIN_SERVICE},
    };
    const char *dir;
    struct xr_request *unrelated;

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    unrelated = xrt_std_request();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct fault_case *c = &cases[i];
        struct vec v;
        struct xr_response *resp = NULL;
        struct xr_error err;
        const struct xr_fault *f;

        soap_load(&v, dir, c->file);
        XRT_ASSERT_OK(
            xr_response_parse(c->ct, v.data, v.len, NULL, &resp, &err), err);
        assert_int_equal(xr_response_verdict(resp), XR_VERDICT_FAULT);
        f = xr_response_fault(resp);
        assert_non_null(f);
        assert_string_equal(f->code, c->code);
        assert_string_equal(f->string, c->string);
        assert_int_equal(f->has_actor, c->actor != NULL);
        if (c->actor)
            assert_string_equal(f->actor, c->actor);
        assert_string_equal(f->detail, c->detail);
        assert_int_equal(f->origin, c->origin);
        assert_false(f->service_failed);
        assert_null(xr_response_body(resp));
        xr_response_free(resp);
        resp = NULL;
        /* Against any request: a fault is a fault, no echo needed. */
        XRT_ASSERT_OK(xr_response_check(unrelated, c->ct, v.data, v.len, NULL,
                                        &resp, &err),
                      err);
        assert_int_equal(xr_response_verdict(resp), XR_VERDICT_FAULT);
        assert_string_equal(xr_response_fault(resp)->code, c->code);
        xr_response_free(resp);
        vec_free(&v);
    }
    xr_request_free(unrelated);
}

/* The first part's body as SOURCES.md defines it: after the part headers,
 * up to the line break before the next delimiter. */
static void first_part(const struct vec *v, const uint8_t **p, size_t *n)
{
    const char *s = (const char *)v->data;
    const char *start = strstr(s, "\n\n");
    const char *end;

    assert_non_null(start);
    start += 2;
    end = strstr(start, "\n--jetty771207119h3h10dty");
    assert_non_null(end);
    *p = (const uint8_t *)start;
    *n = (size_t)(end - start);
}

static void test_multipart_swa(void **state)
{
    const char *dir;
    struct vec q, a;
    struct xr_request *req = NULL;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xr_check_opts opts = {0};
    const uint8_t *soap;
    size_t soap_len;
    char want[89], got[XR_HASH_B64_MAX + 1], id[XR_TEXT_MAX + 1];

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    /* attachm.query: accepted; only the SOAP part is kept and hashed. */
    soap_load(&q, dir, "multipart/attachm.query");
    XRT_ASSERT_OK(xr_request_parse(SWA_CT, q.data, q.len, NULL, &req, &err),
                  err);
    first_part(&q, &soap, &soap_len);
    assert_int_equal(xr_request_bytes(req).len, soap_len);
    assert_memory_equal(xr_request_bytes(req).ptr, soap, soap_len);
    xrt_sha512_b64(soap, soap_len, want);
    xr_request_hash(req, got, sizeof(got));
    assert_string_equal(got, want);
    assert_string_equal(xr_request_header(req)->service.service_code, "test");
    xr_request_free(req);
    vec_free(&q);

    /* attachments.answer answers attachm.query: three text/plain parts. */
    soap_load(&a, dir, "multipart/attachments.answer");
    answer_id(&a, SWA_CT, id, sizeof(id));
    req = request_for(dir, "multipart/attachm.query", SWA_CT, id);
    opts.allow_missing_request_hash = true;
    XRT_ASSERT_OK(
        xr_response_check(req, SWA_CT, a.data, a.len, &opts, &resp, &err), err);
    assert_int_equal(xr_response_verdict(resp), XR_VERDICT_OK);
    assert_int_equal(xr_response_part_count(resp), 3);
    assert_part_text(xr_response_part(resp, 0), "text/plain", "blaah");
    assert_part_text(xr_response_part(resp, 1), "text/plain", "blaah1");
    assert_part_text(xr_response_part(resp, 2), "text/plain", "blaah2");
    assert_string_equal((const char *)xr_response_body(resp)->name,
                        "testResponse");
    first_part(&a, &soap, &soap_len);
    assert_int_equal(xr_response_soap(resp).len, soap_len);
    assert_memory_equal(xr_response_soap(resp).ptr, soap, soap_len);
    xr_response_free(resp);
    xr_request_free(req);
    vec_free(&a);
}

static void test_multipart_mtom(void **state)
{
    const char *dir;
    struct vec q, a;
    struct xr_request *req = NULL;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xr_check_opts opts = {0};
    char id[XR_TEXT_MAX + 1];

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    soap_load(&q, dir, "multipart/attachm-mtom.query");
    XRT_ASSERT_OK(xr_request_parse(MTOM_CT, q.data, q.len, NULL, &req, &err),
                  err);
    assert_string_equal(xr_request_header(req)->id, "1234567890");
    xr_request_free(req);
    vec_free(&q);

    /* The answer has id 9876543210: the ids are taken as matching. */
    soap_load(&a, dir, "multipart/attachm-mtom.answer");
    answer_id(&a, MTOM_RESP_CT, id, sizeof(id));
    assert_string_equal(id, "9876543210");
    req = request_for(dir, "multipart/attachm-mtom.query", MTOM_CT, id);
    opts.allow_missing_request_hash = true;
    XRT_ASSERT_OK(
        xr_response_check(req, MTOM_RESP_CT, a.data, a.len, &opts, &resp, &err),
        err);
    assert_int_equal(xr_response_verdict(resp), XR_VERDICT_OK);
    assert_int_equal(xr_response_part_count(resp), 1);
    assert_part_text(xr_response_part(resp, 0), "text/plain", "foobarbaz");
    assert_string_equal(xr_response_part(resp, 0)->content_id,
                        "42a7ee0a-20ee-426b-a135-094d72bc138f@example.org");
    xr_response_free(resp);
    xr_request_free(req);
    vec_free(&a);
}

struct mp_fail_case {
    const char *file;
    const char *ct;
    const char *reason;
};

static void test_multipart_invalid(void **state)
{
    static const struct mp_fail_case cases[] = {
        /* Client.InvalidContentType: the first part is not SOAP. */
        {"multipart/attachm-no-soap.query", SWA_CT, "invalid_content_type"},
        /* Client.InvalidContentType: a part without Content-Type. */
        {"multipart/attachm-error.query", SWA_CT, "invalid_content_type"},
        /* ServiceFailed.InvalidMessage: boundaries do not match. */
        {"multipart/faulty-multipart.query",
         "multipart/related; boundary=jetty771207119h3h10dty; charset=utf-8",
         "mime_parsing_failed"},
    };
    const char *dir;

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vec v;
        struct xr_request *req = NULL;
        struct xr_response *resp = NULL;
        struct xr_error err;

        soap_load(&v, dir, cases[i].file);
        XRT_ASSERT_REASON(
            xr_request_parse(cases[i].ct, v.data, v.len, NULL, &req, &err), err,
            cases[i].reason);
        assert_null(req);
        XRT_ASSERT_REASON(
            xr_response_parse(cases[i].ct, v.data, v.len, NULL, &resp, &err),
            err, cases[i].reason);
        assert_null(resp);
        vec_free(&v);
    }
}

#define VTJ_HASH                                                           \
    "a5unEiCTptpw4BlgwUJjyqS/A2z+eLhOjE7HuUoLByeAPgBTIIhZdC3nzgorx9gCW2Gy" \
    "yDydxN05MuNRhWBRHw=="

static void test_vtj_synthetic_pair(void **state)
{
    const char *dir;
    struct vec q, a, nf, sf;
    struct xr_request *req = NULL, *edited = NULL;
    struct xr_response *resp = NULL;
    struct xr_error err;
    const struct xr_header *h;
    char got[XR_HASH_B64_MAX + 1];

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    vec_load(&q, dir, "vtj/synthetic/01-request-HenkilonTunnusKysely.xml");
    vec_load(&a, dir, "vtj/synthetic/02-response-found-turvakielto.xml");
    XRT_ASSERT_OK(xr_request_parse(XML_CT, q.data, q.len, NULL, &req, &err),
                  err);
    xr_request_hash(req, got, sizeof(got));
    assert_string_equal(got, VTJ_HASH);
    h = xr_request_header(req);
    assert_int_equal(h->client.type, XR_ID_SUBSYSTEM);
    assert_string_equal(h->service.service_version, "v1");
    assert_string_equal((const char *)xr_request_body(req)->name,
                        "HenkilonTunnusKysely");

    /* The full check, requestHash required. */
    XRT_ASSERT_OK(
        xr_response_check(req, XML_CT, a.data, a.len, NULL, &resp, &err), err);
    assert_int_equal(xr_response_verdict(resp), XR_VERDICT_OK);
    h = xr_response_header(resp);
    assert_string_equal(h->request_hash, VTJ_HASH);
    assert_string_equal(h->protocol_version, "4.0");
    assert_true(h->has_issue);
    assert_string_equal(h->issue, "");
    assert_string_equal((const char *)xr_response_body(resp)->name,
                        "HenkilonTunnusKyselyResponse");
    xr_response_free(resp);
    resp = NULL;

    /* One byte more in the request and the hash no longer binds. */
    {
        struct xrt_buf b = {0};
        xrt_buf_addn(&b, q.data, q.len);
        xrt_buf_adds(&b, "\n");
        XRT_ASSERT_OK(xr_request_parse(XML_CT, (const uint8_t *)b.p, b.len,
                                       NULL, &edited, &err),
                      err);
        XRT_ASSERT_REASON(
            xr_response_check(edited, XML_CT, a.data, a.len, NULL, &resp, &err),
            err, "request_hash_mismatch");
        xr_request_free(edited);
        xrt_buf_free(&b);
    }

    /* 03 has an empty header: a header-checking client rejects it. */
    vec_load(&nf, dir, "vtj/synthetic/03-response-notfound-fault0001.xml");
    XRT_ASSERT_REASON_IN(
        xr_response_check(req, XML_CT, nf.data, nf.len, NULL, &resp, &err), err,
        "missing_header", "missing_header_field");
    assert_string_equal(err.field, "client");
    assert_null(resp);

    /* 04 is an X-Road technical fault from our own security server. */
    vec_load(&sf, dir, "vtj/synthetic/04-xroad-technical-soapfault.xml");
    XRT_ASSERT_OK(
        xr_response_check(req, XML_CT, sf.data, sf.len, NULL, &resp, &err),
        err);
    assert_int_equal(xr_response_verdict(resp), XR_VERDICT_FAULT);
    {
        const struct xr_fault *f = xr_response_fault(resp);
        assert_string_equal(f->code,
                            "Server.ClientProxy.ServiceFailed.MissingBody");
        assert_string_equal(f->string, "Malformed SOAP message: body missing");
        assert_true(f->has_actor);
        assert_string_equal(f->actor, "");
        assert_string_equal(f->detail, "00000000-0000-4000-8000-000000000000");
        assert_int_equal(f->origin, XR_ORIGIN_CLIENT_PROXY);
        assert_true(f->service_failed);
    }
    xr_response_free(resp);
    xr_request_free(req);
    vec_free(&q);
    vec_free(&a);
    vec_free(&nf);
    vec_free(&sf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inventory),
        cmocka_unit_test(test_requests_valid),
        cmocka_unit_test(test_request_getstate_details),
        cmocka_unit_test(test_requests_invalid),
        cmocka_unit_test(test_responses_consistent),
        cmocka_unit_test(test_requesthash_answer_rejected),
        cmocka_unit_test(test_response_with_request_id),
        cmocka_unit_test(test_iso88591_answer),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_multipart_swa),
        cmocka_unit_test(test_multipart_mtom),
        cmocka_unit_test(test_multipart_invalid),
        cmocka_unit_test(test_vtj_synthetic_pair),
    };

    if (!xrt_vectors_dir()) {
        /* ctest's SKIP_RETURN_CODE: reported as skipped, not passed. */
        print_message("SKIP: XR_VECTORS_DIR (%s) is not a directory; all "
                      "vector tests are skipped\n",
                      getenv("XR_VECTORS_DIR") ? getenv("XR_VECTORS_DIR")
                                               : "unset");
        return 77;
    }
    xrt_filter_from_env();
    return cmocka_run_group_tests_name("vectors", tests, xrt_group_setup,
                                       xrt_group_teardown);
}

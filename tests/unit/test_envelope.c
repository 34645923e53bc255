/*
 * Unit tests for include/xroad/envelope.h: building X-Road SOAP 4.0
 * requests (structure, escaping, ids, kept bytes, hash) and parsing
 * existing requests the way a client-side security server checks them
 * (one test per X-Road error reason).
 */
#include <ctype.h>
#include <time.h>

#include <libxml/parser.h>

#include "test_helpers.h"

/* ------------------------------------------------------------------ */
/* Independent inspection of built bytes                              */

static xmlDocPtr reparse(struct xr_bytes b)
{
    xmlDocPtr doc = xmlReadMemory((const char *)b.ptr, (int)b.len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    assert_non_null(doc);
    return doc;
}

static bool is_elem(const xmlNode *n, const char *ns, const char *name)
{
    if (!n || n->type != XML_ELEMENT_NODE)
        return false;
    if (strcmp((const char *)n->name, name) != 0)
        return false;
    if (!ns)
        return n->ns == NULL;
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

static xmlNodePtr first_elem(const xmlNode *parent)
{
    for (xmlNodePtr c = parent->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

static xmlNodePtr next_elem(const xmlNode *n)
{
    for (xmlNodePtr c = n->next; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

static size_t count_elems(const xmlNode *parent)
{
    size_t n = 0;
    for (xmlNodePtr c = first_elem(parent); c; c = next_elem(c))
        n++;
    return n;
}

/* Text of n, which must be an element; the caller frees. */
static char *text_of(const xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    assert_non_null(t);
    return (char *)t;
}

static void assert_text(const xmlNode *n, const char *want)
{
    char *t = text_of(n);
    assert_string_equal(t, want);
    xmlFree(t);
}

static void assert_object_type(const xmlNode *n, const char *want)
{
    xmlChar *v = xmlGetNsProp(n, (const xmlChar *)"objectType",
                              (const xmlChar *)XR_NS_ID);
    if (!v)
        fail_msg("element %s has no {%s}objectType", n->name, XR_NS_ID);
    assert_string_equal((const char *)v, want);
    xmlFree(v);
}

/* Check the identifier children of n in schema order. */
static void assert_id_children(const xmlNode *n, const struct xr_id *id)
{
    xmlNodePtr c = first_elem(n);

    assert_true(is_elem(c, XR_NS_ID, "xRoadInstance"));
    assert_text(c, id->instance);
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_ID, "memberClass"));
    assert_text(c, id->member_class);
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_ID, "memberCode"));
    assert_text(c, id->member_code);
    c = next_elem(c);
    if (id->subsystem_code[0]) {
        assert_true(is_elem(c, XR_NS_ID, "subsystemCode"));
        assert_text(c, id->subsystem_code);
        c = next_elem(c);
    }
    if (id->type == XR_ID_SERVICE) {
        assert_true(is_elem(c, XR_NS_ID, "serviceCode"));
        assert_text(c, id->service_code);
        c = next_elem(c);
        if (id->service_version[0]) {
            assert_true(is_elem(c, XR_NS_ID, "serviceVersion"));
            assert_text(c, id->service_version);
            c = next_elem(c);
        }
    }
    if (id->type == XR_ID_SERVER) {
        assert_true(is_elem(c, XR_NS_ID, "serverCode"));
        assert_text(c, id->server_code);
        c = next_elem(c);
    }
    assert_null(c);
}

static void assert_headers_equal(const struct xr_header *a,
                                 const struct xr_header *b)
{
    assert_true(xr_id_equal(&a->client, &b->client));
    assert_true(xr_id_equal(&a->service, &b->service));
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->has_user_id, b->has_user_id);
    assert_string_equal(a->user_id, b->user_id);
    assert_int_equal(a->has_issue, b->has_issue);
    assert_string_equal(a->issue, b->issue);
    assert_int_equal(a->has_represented_party, b->has_represented_party);
    assert_int_equal(a->has_party_class, b->has_party_class);
    assert_string_equal(a->party_class, b->party_class);
    assert_string_equal(a->party_code, b->party_code);
    assert_int_equal(a->has_security_server, b->has_security_server);
    if (a->has_security_server)
        assert_true(xr_id_equal(&a->security_server, &b->security_server));
    assert_string_equal(a->protocol_version, b->protocol_version);
}

static bool is_uuid_v(const char *s, char version)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return s[14] == version && strchr("89abAB", s[19]) != NULL;
}

static bool is_uuid4(const char *s)
{
    return is_uuid_v(s, '4');
}

static bool is_uuid7(const char *s)
{
    return is_uuid_v(s, '7');
}

/* ------------------------------------------------------------------ */
/* Building                                                            */

static void test_header_init(void **state)
{
    struct xr_header h;

    (void)state;
    memset(&h, 0x5a, sizeof(h));
    xr_header_init(&h);
    assert_string_equal(h.protocol_version, "4.0");
    assert_string_equal(h.id, "");
    assert_false(h.has_user_id);
    assert_false(h.has_issue);
    assert_false(h.has_represented_party);
    assert_false(h.has_party_class);
    assert_false(h.has_security_server);
    assert_false(h.has_request_hash);
    assert_string_equal(h.client.instance, "");
    assert_string_equal(h.service.service_code, "");
}

static void test_build_full_structure(void **state)
{
    struct xr_header h;
    struct xr_request *req;
    struct xr_error err;
    struct xr_bytes b;
    xmlDocPtr doc;
    xmlNodePtr env, hdr, body, c;

    (void)state;
    xrt_std_header(&h);
    h.has_security_server = true;
    XRT_ASSERT_OK(xr_id_parse_server("SERVER:FI-TEST/GOV/0245437-2/ss1",
                                     &h.security_server, &err),
                  err);
    req = xrt_request_from(&h);
    b = xr_request_bytes(req);
    assert_non_null(b.ptr);
    assert_true(b.len > 100);
    /* UTF-8 with an XML declaration; nothing before it (no BOM). */
    assert_memory_equal(b.ptr, "<?xml", 5);
    {
        char first[128];
        size_t n = b.len < sizeof(first) - 1 ? b.len : sizeof(first) - 1;
        memcpy(first, b.ptr, n);
        first[n] = '\0';
        for (char *p = first; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        assert_non_null(strstr(first, "encoding=\"utf-8\""));
    }
    /* No requestHash in a request. */
    assert_null(
        xrt_replace((const char *)b.ptr, b.len, "requestHash", "", NULL));

    doc = reparse(b);
    env = xmlDocGetRootElement(doc);
    assert_true(is_elem(env, XR_NS_SOAP11, "Envelope"));
    assert_int_equal(count_elems(env), 2);
    hdr = first_elem(env);
    assert_true(is_elem(hdr, XR_NS_SOAP11, "Header"));
    body = next_elem(hdr);
    assert_true(is_elem(body, XR_NS_SOAP11, "Body"));

    /* Header children in the documented order. */
    c = first_elem(hdr);
    assert_true(is_elem(c, XR_NS_XROAD, "client"));
    assert_object_type(c, "SUBSYSTEM");
    assert_id_children(c, &h.client);
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_XROAD, "service"));
    assert_object_type(c, "SERVICE");
    assert_id_children(c, &h.service);
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_XROAD, "id"));
    assert_text(c, XRT_MSG_ID);
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_XROAD, "userId"));
    assert_text(c, XRT_USER_ID);
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_XROAD, "issue"));
    assert_text(c, XRT_ISSUE);
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_REPR, "representedParty"));
    {
        xmlNodePtr p = first_elem(c);
        assert_true(is_elem(p, XR_NS_REPR, "partyClass"));
        assert_text(p, XRT_PARTY_CLASS);
        p = next_elem(p);
        assert_true(is_elem(p, XR_NS_REPR, "partyCode"));
        assert_text(p, XRT_PARTY_CODE);
        assert_null(next_elem(p));
    }
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_XROAD, "securityServer"));
    assert_object_type(c, "SERVER");
    assert_id_children(c, &h.security_server);
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_XROAD, "protocolVersion"));
    assert_text(c, "4.0");
    assert_null(next_elem(c));

    /* One body wrapper named after the service code, body kept. */
    assert_int_equal(count_elems(body), 1);
    c = first_elem(body);
    assert_true(is_elem(c, XRT_NS_BODY, XRT_SERVICE_CODE));
    c = first_elem(c);
    assert_true(is_elem(c, XRT_NS_BODY, "request"));
    assert_text(first_elem(c), "PERUSSANOMA 3");

    /* The header accessor returns what was built. */
    assert_headers_equal(xr_request_header(req), &h);
    assert_false(xr_request_header(req)->has_request_hash);

    xmlFreeDoc(doc);
    xr_request_free(req);
}

static void test_build_minimal(void **state)
{
    struct xr_header h;
    struct xr_request *req = NULL;
    struct xr_error err;
    xmlDocPtr doc;
    xmlNodePtr hdr, body, c;

    (void)state;
    xr_header_init(&h);
    XRT_ASSERT_OK(xr_id_parse_client("FI/GOV/0245437-2", &h.client, &err), err);
    XRT_ASSERT_OK(
        xr_id_parse_service("FI/GOV/0245437-2/ping", &h.service, &err), err);
    snprintf(h.id, sizeof(h.id), "id-1");
    XRT_ASSERT_OK(xr_request_new(&h, NULL, 0, &req, &err), err);
    doc = reparse(xr_request_bytes(req));
    hdr = first_elem(xmlDocGetRootElement(doc));
    c = first_elem(hdr);
    assert_true(is_elem(c, XR_NS_XROAD, "client"));
    assert_object_type(c, "MEMBER");
    assert_id_children(c, &h.client);
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_XROAD, "service"));
    assert_object_type(c, "SERVICE");
    assert_id_children(c, &h.service);
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_XROAD, "id"));
    assert_text(c, "id-1");
    c = next_elem(c);
    assert_true(is_elem(c, XR_NS_XROAD, "protocolVersion"));
    assert_text(c, "4.0");
    assert_null(next_elem(c));

    /* body NULL: empty wrapper without a namespace. */
    body = next_elem(hdr);
    assert_int_equal(count_elems(body), 1);
    c = first_elem(body);
    assert_true(is_elem(c, NULL, "ping"));
    assert_null(c->children);

    c = xr_request_body(req);
    assert_non_null(c);
    assert_string_equal((const char *)c->name, "ping");

    xmlFreeDoc(doc);
    xr_request_free(req);
}

static void test_build_uuid(void **state)
{
    struct xr_header h;
    struct xr_request *a = NULL, *b = NULL;
    struct xr_error err;
    char u1[37], u2[37], small[36];

    (void)state;
    xrt_std_header(&h);
    h.id[0] = '\0';
    XRT_ASSERT_OK(xr_request_new(&h, NULL, 0, &a, &err), err);
    XRT_ASSERT_OK(xr_request_new(&h, NULL, 0, &b, &err), err);
    assert_true(is_uuid7(xr_request_header(a)->id));
    assert_true(is_uuid7(xr_request_header(b)->id));
    /* Time-ordered: b was made after a (same millisecond or later). */
    assert_true(
        strncmp(xr_request_header(a)->id, xr_request_header(b)->id, 13) <= 0);
    assert_string_not_equal(xr_request_header(a)->id, xr_request_header(b)->id);
    /* The generated id is what was sent. */
    {
        xmlDocPtr doc = reparse(xr_request_bytes(a));
        xmlNodePtr hdr = first_elem(xmlDocGetRootElement(doc));
        xmlNodePtr c = next_elem(next_elem(first_elem(hdr)));
        assert_true(is_elem(c, XR_NS_XROAD, "id"));
        assert_text(c, xr_request_header(a)->id);
        xmlFreeDoc(doc);
    }
    xr_request_free(a);
    xr_request_free(b);

    XRT_ASSERT_OK(xr_uuid4(u1, sizeof(u1), &err), err);
    XRT_ASSERT_OK(xr_uuid4(u2, sizeof(u2), &err), err);
    assert_true(is_uuid4(u1));
    assert_true(is_uuid4(u2));
    assert_string_not_equal(u1, u2);
    assert_int_not_equal(xr_uuid4(small, sizeof(small), &err), XR_OK);
    assert_non_null(err.reason);
    XRT_ASSERT_OK(xr_uuid7(u1, sizeof(u1), &err), err);
    XRT_ASSERT_OK(xr_uuid7(u2, sizeof(u2), &err), err);
    assert_true(is_uuid7(u1));
    assert_true(is_uuid7(u2));
    assert_string_not_equal(u1, u2);
    assert_int_not_equal(xr_uuid7(small, sizeof(small), &err), XR_OK);
    {
        /* The first 48 bits are the Unix time in milliseconds. */
        char hexms[13];
        unsigned long long ms;
        time_t now = time(NULL);
        memcpy(hexms, u1, 8);
        memcpy(hexms + 8, u1 + 9, 4);
        hexms[12] = '\0';
        ms = strtoull(hexms, NULL, 16);
        assert_true(ms / 1000 + 5 >= (unsigned long long)now &&
                    ms / 1000 <= (unsigned long long)now + 5);
    }
}

static void test_build_escaping(void **state)
{
    struct xr_header h;
    struct xr_request *req;
    struct xr_error err;
    struct xr_bytes b;
    struct xr_request *back = NULL;
    const char *nasty = "a<b>&c\"d'e]]>f</xrd:userId><x>";
    const char *utf8 =
        "K\xc3\xa4ytt\xc3\xa4j\xc3\xa4 \xe2\x82\xac \xe6\x97\xa5";

    (void)state;
    xrt_std_header(&h);
    snprintf(h.user_id, sizeof(h.user_id), "%s", nasty);
    snprintf(h.issue, sizeof(h.issue), "%s", utf8);
    snprintf(h.party_code, sizeof(h.party_code), "&amp;<");
    snprintf(h.id, sizeof(h.id), "id&<>");
    req = xrt_request_from(&h);
    b = xr_request_bytes(req);
    /* The raw markup never appears unescaped. */
    assert_null(xrt_replace((const char *)b.ptr, b.len, "a<b>", "", NULL));
    assert_null(xrt_replace((const char *)b.ptr, b.len, "<x>", "", NULL));
    {
        char *hit =
            xrt_replace((const char *)b.ptr, b.len, "&amp;amp;&lt;", "", NULL);
        assert_non_null(hit);
        free(hit);
    }
    /* Our parser and libxml2 both read back the exact values. */
    XRT_ASSERT_OK(xr_request_parse(NULL, b.ptr, b.len, NULL, &back, &err), err);
    assert_string_equal(xr_request_header(back)->user_id, nasty);
    assert_string_equal(xr_request_header(back)->issue, utf8);
    assert_string_equal(xr_request_header(back)->party_code, "&amp;<");
    assert_string_equal(xr_request_header(back)->id, "id&<>");
    xr_request_free(back);
    xr_request_free(req);
}

static void test_build_control_chars_consistent(void **state)
{
    /* Either refused, or built so that the result parses again. */
    static const char *const values[] = {"a\001b",
                                         "a\x1f",
                                         "\x7f",
                                         "tab\there",
                                         "nl\nhere",
                                         "cr\rhere",
                                         "\xff\xfe",
                                         "U+FFFE \xef\xbf\xbe",
                                         "U+FFFF \xef\xbf\xbf",
                                         "surrogate \xed\xa0\x80",
                                         "overlong \xc0\xaf",
                                         "overlong \xe0\x80\xaf"};
    (void)state;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct xr_header h;
        struct xr_request *req = NULL, *back = NULL;
        struct xr_error err;
        enum xr_status st;

        xrt_std_header(&h);
        snprintf(h.user_id, sizeof(h.user_id), "%s", values[i]);
        st = xr_request_new(&h, NULL, 0, &req, &err);
        if (st != XR_OK) {
            assert_null(req);
            assert_int_equal(err.code, st);
            assert_non_null(err.reason);
            continue;
        }
        {
            struct xr_bytes b = xr_request_bytes(req);
            XRT_ASSERT_OK(
                xr_request_parse(NULL, b.ptr, b.len, NULL, &back, &err), err);
        }
        xr_request_free(back);
        xr_request_free(req);
    }
}

static void test_build_body_errors(void **state)
{
    struct {
        const char *body;
        const char *reason; /* NULL: a body/service-code mismatch */
    } cases[] = {
        {"<vtj:Other xmlns:vtj=\"urn:x\"/>", NULL},
        {"<HenkilonTunnusKyselyX/>", NULL},
        {"<henkilontunnuskysely/>", NULL},
        {"<HenkilonTunnusKysely>", "malformed_xml"},
        {"<HenkilonTunnusKysely/><HenkilonTunnusKysely/>", "malformed_xml"},
        {"not xml at all", "malformed_xml"},
        {"<!DOCTYPE HenkilonTunnusKysely><HenkilonTunnusKysely/>",
         "dtd_forbidden"},
        {"<!DOCTYPE a [<!ENTITY e \"x\">]><HenkilonTunnusKysely>&e;"
         "</HenkilonTunnusKysely>",
         "dtd_forbidden"},
        {"<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
         "<HenkilonTunnusKysely>&e;</HenkilonTunnusKysely>",
         "dtd_forbidden"},
        {"<HenkilonTunnusKysely>&undefined;</HenkilonTunnusKysely>",
         "malformed_xml"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct xr_header h;
        struct xr_request *req = NULL;
        struct xr_error err;
        enum xr_status st;

        xrt_std_header(&h);
        st = xr_request_new(&h, (const uint8_t *)cases[i].body,
                            strlen(cases[i].body), &req, &err);
        if (cases[i].reason)
            XRT_ASSERT_REASON(st, err, cases[i].reason);
        else
            XRT_ASSERT_REASON_IN(st, err, "inconsistent_headers",
                                 "invalid_body", "body_invalid");
        assert_null(req);
    }
}

/*
 * xr_request_new_own(): a body the caller wrote is carried as
 * xr_request_new() carries it (the same bytes but the id), and what it
 * still checks (characters, element name, shape, size) is refused with
 * the reason named.
 */
static void test_build_own_body(void **state)
{
    static const char *same[] = {
        "<" XRT_SERVICE_CODE "/>",
        "<" XRT_SERVICE_CODE " xmlns=\"" XRT_NS_BODY "\"><request><a>K\xc3"
        "\xa4ytt\xc3\xa4j\xc3\xa4 &amp; &lt;x&gt; \xf0\x9f\x98\x80</a>"
        "</request></" XRT_SERVICE_CODE ">",
        "<v:" XRT_SERVICE_CODE " xmlns:v=\"" XRT_NS_BODY
        "\">\t\r\n</v:" XRT_SERVICE_CODE ">",
        "<" XRT_SERVICE_CODE "\n xmlns=\"" XRT_NS_BODY "\"></" XRT_SERVICE_CODE
        ">",
    };
    struct {
        const char *body;
        const char *reason;
    } bad[] = {
        {"<" XRT_SERVICE_CODE "X/>", "body_invalid"},
        {"<v:Other xmlns:v=\"urn:x\"/>", "body_invalid"},
        {"<x:" XRT_SERVICE_CODE "y/>", "body_invalid"},
        {"<" XRT_SERVICE_CODE "><a>\x01</a></" XRT_SERVICE_CODE ">",
         "body_invalid"},
        {"<" XRT_SERVICE_CODE "><a>\xc3</a></" XRT_SERVICE_CODE ">",
         "body_invalid"}, /* a cut UTF-8 sequence */
        {"<" XRT_SERVICE_CODE "><a>\xc0\xaf</a></" XRT_SERVICE_CODE ">",
         "body_invalid"}, /* overlong */
        {"<" XRT_SERVICE_CODE "><a>\xed\xa0\x80</a></" XRT_SERVICE_CODE ">",
         "body_invalid"}, /* a surrogate */
        {"<" XRT_SERVICE_CODE "><a>\xef\xbf\xbf</a></" XRT_SERVICE_CODE ">",
         "body_invalid"}, /* U+FFFF */
        {" <" XRT_SERVICE_CODE "/>", "body_invalid"},
        {"<" XRT_SERVICE_CODE "/> ", "body_invalid"},
        {"<?xml version=\"1.0\"?><" XRT_SERVICE_CODE "/>", "body_invalid"},
        {"<>", "body_invalid"},
        {"", "body_invalid"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        struct xr_header h;

        xrt_std_header(&h);
        snprintf(h.id, sizeof(h.id), "fixed-id-%zu", i);
        xrt_assert_builders_agree(&h, same[i], strlen(same[i]));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xr_header h;
        struct xr_request *req = NULL;
        struct xr_error err;

        xrt_std_header(&h);
        XRT_ASSERT_REASON(xr_request_new_own(&h, (const uint8_t *)bad[i].body,
                                             strlen(bad[i].body), &req, &err),
                          err, bad[i].reason);
        assert_string_equal(err.field, "body");
        assert_null(req);
    }
    { /* above the byte cap: refused before any scan */
        size_t n = XR_LIMIT_BYTES_DEFAULT + 1u;
        uint8_t *big = malloc(n);
        struct xr_header h;
        struct xr_request *req = NULL;
        struct xr_error err;

        assert_non_null(big);
        memset(big, 'a', n);
        big[0] = '<';
        big[n - 1] = '>';
        xrt_std_header(&h);
        XRT_ASSERT_REASON(xr_request_new_own(&h, big, n, &req, &err), err,
                          "too_large");
        assert_null(req);
        free(big);
    }
}

static void test_build_invalid_header(void **state)
{
    struct xr_header h;
    struct xr_request *req = NULL;
    struct xr_error err;

    (void)state;
    /* A bad character in the client's member code. */
    xrt_std_header(&h);
    snprintf(h.client.member_code, sizeof(h.client.member_code), "a b");
    XRT_ASSERT_REASON(xr_request_new(&h, NULL, 0, &req, &err), err,
                      "invalid_id");
    assert_null(req);

    /* A SUBSYSTEM client without its subsystem code. */
    xrt_std_header(&h);
    h.client.subsystem_code[0] = '\0';
    XRT_ASSERT_REASON(xr_request_new(&h, NULL, 0, &req, &err), err,
                      "invalid_id");

    /* A service without a service code. */
    xrt_std_header(&h);
    h.service.service_code[0] = '\0';
    XRT_ASSERT_REASON(xr_request_new(&h, NULL, 0, &req, &err), err,
                      "invalid_id");

    /* A client that is a service, a service that is a member. */
    xrt_std_header(&h);
    h.client.type = XR_ID_SERVICE;
    assert_int_not_equal(xr_request_new(&h, NULL, 0, &req, &err), XR_OK);
    assert_non_null(err.reason);
    assert_null(req);
    xrt_std_header(&h);
    h.service.type = XR_ID_MEMBER;
    assert_int_not_equal(xr_request_new(&h, NULL, 0, &req, &err), XR_OK);
    assert_non_null(err.reason);
    assert_null(req);

    /* A security server with a bad part. */
    xrt_std_header(&h);
    h.has_security_server = true;
    XRT_ASSERT_OK(xr_id_parse_server("FI/GOV/1/ss1", &h.security_server, &err),
                  err);
    snprintf(h.security_server.server_code,
             sizeof(h.security_server.server_code), "ss/1");
    XRT_ASSERT_REASON(xr_request_new(&h, NULL, 0, &req, &err), err,
                      "invalid_id");
    assert_null(req);
}

static void test_bytes_and_hash(void **state)
{
    struct xr_request *req;
    struct xr_bytes b, b2;
    char want[89], got[XR_HASH_B64_MAX + 1];
    uint8_t *copy;

    (void)state;
    req = xrt_std_request();
    b = xr_request_bytes(req);
    copy = malloc(b.len);
    assert_non_null(copy);
    memcpy(copy, b.ptr, b.len);
    xrt_sha512_b64(b.ptr, b.len, want);
    xr_request_hash(req, got, sizeof(got));
    assert_string_equal(got, want);
    assert_int_equal(strlen(got), 88);

    /* Reading the body (lazily parsed) does not change the kept bytes. */
    assert_non_null(xr_request_body(req));
    b2 = xr_request_bytes(req);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.ptr, copy, b.len);
    xr_request_hash(req, got, sizeof(got));
    assert_string_equal(got, want);

    free(copy);
    xr_request_free(req);
    xr_request_free(NULL);
}

/* Lower-case hex of d[0..n) into out (2n + 1 bytes). */
static void hex_of(const uint8_t *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* The digest helpers (algorithms fetched by xr_global_init()): FIPS 180-2
 * vectors, and the request's own digest. */
static void test_digests(void **state)
{
    static const char abc512[] =
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
    static const char abc256[] =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static const char empty256[] =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    uint8_t d[XR_SHA512_LEN], d2[XR_SHA512_LEN];
    char hex[2 * XR_SHA512_LEN + 1];
    struct xr_request *req;
    struct xr_bytes b;

    (void)state;
    assert_true(xr_sha512("abc", 3, d));
    hex_of(d, XR_SHA512_LEN, hex);
    assert_string_equal(hex, abc512);
    assert_true(xr_sha256("abc", 3, d));
    hex_of(d, XR_SHA256_LEN, hex);
    assert_string_equal(hex, abc256);
    assert_true(xr_sha256("", 0, d));
    hex_of(d, XR_SHA256_LEN, hex);
    assert_string_equal(hex, empty256);

    req = xrt_std_request();
    b = xr_request_bytes(req);
    assert_true(xr_sha512(b.ptr, b.len, d));
    xr_request_sha512(req, d2);
    assert_memory_equal(d, d2, XR_SHA512_LEN);
    xr_request_free(req);
}

/* Build with body text; returns the request (asserts success). */
static struct xr_request *build_with_body(const char *body, size_t len)
{
    struct xr_header h;
    struct xr_request *req = NULL;
    struct xr_error err;

    xrt_std_header(&h);
    XRT_ASSERT_OK(xr_request_new(&h, (const uint8_t *)body, len, &req, &err),
                  err);
    return req;
}

static bool bytes_contain(struct xr_bytes b, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; n <= b.len && i + n <= b.len; i++)
        if (memcmp(b.ptr + i, needle, n) == 0)
            return true;
    return false;
}

static void test_build_body_forms(void **state)
{
    /* A plain UTF-8 body is carried byte for byte, odd spacing kept. */
    static const char plain[] =
        "\n  <" XRT_SERVICE_CODE "  xmlns=\"" XRT_NS_BODY "\" ><a  b='1'"
        "></a><t>K\xc3\xa4ytt\xc3\xa4j\xc3\xa4 &amp; "
        "&#228;</t></" XRT_SERVICE_CODE ">\n";
    /* A declaration (ISO-8859-1), comments and a PI around the root: the
     * root is serialised again as UTF-8, the rest is not carried. */
    static const char latin[] =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<!-- before -->"
        "<" XRT_SERVICE_CODE " xmlns=\"" XRT_NS_BODY
        "\"><t>\xe4</t></" XRT_SERVICE_CODE "><?pi after?>";
    static const char latin_decl_only[] =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><" XRT_SERVICE_CODE
        " xmlns=\"" XRT_NS_BODY "\"><t>\xe4</t></" XRT_SERVICE_CODE ">";
    struct xr_request *req, *back = NULL;
    struct xr_error err;
    struct xr_bytes b;
    xmlNodePtr w;
    char *t;

    (void)state;
    req = build_with_body(plain, sizeof(plain) - 1);
    b = xr_request_bytes(req);
    {
        /* Exactly the trimmed body between <SOAP-ENV:Body> and its end. */
        char want[512];
        snprintf(want, sizeof(want), "<SOAP-ENV:Body>%.*s</SOAP-ENV:Body>",
                 (int)(sizeof(plain) - 5), plain + 3);
        assert_true(bytes_contain(b, want));
    }
    XRT_ASSERT_OK(xr_request_parse(NULL, b.ptr, b.len, NULL, &back, &err), err);
    w = xr_request_body(back);
    assert_true(is_elem(w, XRT_NS_BODY, XRT_SERVICE_CODE));
    xr_request_free(back);
    xr_request_free(req);

    req = build_with_body(latin, sizeof(latin) - 1);
    b = xr_request_bytes(req);
    assert_false(bytes_contain(b, "ISO-8859-1"));
    assert_false(bytes_contain(b, "before"));
    assert_false(bytes_contain(b, "<?pi"));
    XRT_ASSERT_OK(xr_request_parse(NULL, b.ptr, b.len, NULL, &back, &err), err);
    w = xr_request_body(back);
    assert_true(is_elem(w, XRT_NS_BODY, XRT_SERVICE_CODE));
    t = text_of(first_elem(w));
    assert_string_equal(t, "\xc3\xa4"); /* the same character, in UTF-8 */
    xmlFree(t);
    xr_request_free(back);
    xr_request_free(req);

    /* Only a declaration before the root (no other node): the body must
     * still be serialised again, never pasted with its declaration and
     * its ISO-8859-1 bytes into a UTF-8 envelope. */
    req = build_with_body(latin_decl_only, sizeof(latin_decl_only) - 1);
    b = xr_request_bytes(req);
    assert_false(bytes_contain(b, "ISO-8859-1"));
    assert_false(bytes_contain(b, "<t>\xe4</t>"));
    assert_true(bytes_contain(b, "<t>\xc3\xa4</t>"));
    XRT_ASSERT_OK(xr_request_parse(NULL, b.ptr, b.len, NULL, &back, &err), err);
    t = text_of(first_elem(xr_request_body(back)));
    assert_string_equal(t, "\xc3\xa4");
    xmlFree(t);
    xr_request_free(back);
    xr_request_free(req);
}

static void test_build_reparse_roundtrip(void **state)
{
    struct xr_header h;
    struct xr_request *req, *back = NULL;
    struct xr_error err;
    struct xr_bytes b;
    xmlNodePtr w;

    (void)state;
    xrt_std_header(&h);
    h.has_security_server = true;
    XRT_ASSERT_OK(xr_id_parse_server("FI-TEST/GOV/0245437-2/ss1",
                                     &h.security_server, &err),
                  err);
    req = xrt_request_from(&h);
    b = xr_request_bytes(req);
    XRT_ASSERT_OK(xr_request_parse("text/xml; charset=UTF-8", b.ptr, b.len,
                                   NULL, &back, &err),
                  err);
    assert_headers_equal(xr_request_header(back), &h);
    assert_int_equal(xr_request_bytes(back).len, b.len);
    assert_memory_equal(xr_request_bytes(back).ptr, b.ptr, b.len);
    w = xr_request_body(back);
    assert_true(is_elem(w, XRT_NS_BODY, XRT_SERVICE_CODE));
    xr_request_free(back);
    xr_request_free(req);
}

/* ------------------------------------------------------------------ */
/* Parsing requests                                                    */

#define REQ_BODY                                               \
    "<vtj:" XRT_SERVICE_CODE " xmlns:vtj=\"" XRT_NS_BODY "\">" \
    "<vtj:request/></vtj:" XRT_SERVICE_CODE ">"

/* A request message as xrt_msg: the standard header without a hash. */
static void req_msg(struct xrt_msg *m)
{
    struct xr_request *req = xrt_std_request();

    xrt_msg_echo(m, req, false);
    snprintf(m->body, sizeof(m->body), "%s", REQ_BODY);
    xr_request_free(req);
}

static enum xr_status parse_msg(const struct xrt_msg *m,
                                const char *content_type,
                                struct xr_request **out, struct xr_error *err)
{
    size_t len;
    char *text = xrt_msg_render(m, &len);
    enum xr_status st;

    *out = NULL;
    st = xr_request_parse(content_type, (const uint8_t *)text, len, NULL, out,
                          err);
    free(text);
    if (st != XR_OK)
        assert_null(*out);
    return st;
}

/* Parse and expect a failure with reason (and field when not NULL). */
static void expect_parse_fail(const struct xrt_msg *m, const char *reason,
                              const char *field, int line)
{
    struct xr_request *req = NULL;
    struct xr_error err;
    enum xr_status st = parse_msg(m, NULL, &req, &err);

    if (field)
        xrt_assert_reason_field_at(st, &err, reason, field, __FILE__, line);
    else
        xrt_assert_reason_at(st, &err, reason, __FILE__, line);
    xr_request_free(req);
}

#define EXPECT_FAIL(m, reason, field) \
    expect_parse_fail((m), (reason), (field), __LINE__)

static void test_parse_ok(void **state)
{
    struct xrt_msg m;
    struct xr_request *req = NULL;
    struct xr_error err;
    const struct xr_header *h;
    size_t len;
    char *text;
    char want[89], got[XR_HASH_B64_MAX + 1];

    (void)state;
    req_msg(&m);
    text = xrt_msg_render(&m, &len);
    XRT_ASSERT_OK(
        xr_request_parse(NULL, (const uint8_t *)text, len, NULL, &req, &err),
        err);
    h = xr_request_header(req);
    assert_int_equal(h->client.type, XR_ID_SUBSYSTEM);
    assert_string_equal(h->client.subsystem_code, "example-adapter");
    assert_int_equal(h->service.type, XR_ID_SERVICE);
    assert_string_equal(h->service.service_code, XRT_SERVICE_CODE);
    assert_string_equal(h->service.service_version, "v1");
    assert_string_equal(h->id, XRT_MSG_ID);
    assert_true(h->has_user_id);
    assert_string_equal(h->user_id, XRT_USER_ID);
    assert_true(h->has_issue);
    assert_string_equal(h->issue, XRT_ISSUE);
    assert_true(h->has_represented_party);
    assert_true(h->has_party_class);
    assert_string_equal(h->party_class, XRT_PARTY_CLASS);
    assert_string_equal(h->party_code, XRT_PARTY_CODE);
    assert_false(h->has_security_server);
    assert_string_equal(h->protocol_version, "4.0");
    /* The kept bytes are the input, byte for byte. */
    assert_int_equal(xr_request_bytes(req).len, len);
    assert_memory_equal(xr_request_bytes(req).ptr, text, len);
    xrt_sha512_b64(text, len, want);
    xr_request_hash(req, got, sizeof(got));
    assert_string_equal(got, want);
    assert_true(is_elem(xr_request_body(req), XRT_NS_BODY, XRT_SERVICE_CODE));
    xr_request_free(req);
    free(text);
}

static void test_parse_optional_fields(void **state)
{
    struct xrt_msg m;
    struct xr_request *req = NULL;
    struct xr_error err;
    const struct xr_header *h;

    (void)state;
    /* Absent userId / issue / representedParty; present but empty issue. */
    req_msg(&m);
    m.user_id[0] = '\0';
    m.repr[0] = '\0';
    snprintf(m.issue, sizeof(m.issue), "<xrd:issue/>");
    XRT_ASSERT_OK(parse_msg(&m, NULL, &req, &err), err);
    h = xr_request_header(req);
    assert_false(h->has_user_id);
    assert_true(h->has_issue);
    assert_string_equal(h->issue, "");
    assert_false(h->has_represented_party);
    xr_request_free(req);

    /* representedParty without partyClass; securityServer present. */
    req_msg(&m);
    m.issue[0] = '\0';
    snprintf(m.repr, sizeof(m.repr),
             "<repr:representedParty><repr:partyCode>MEMBER3</repr:partyCode>"
             "</repr:representedParty>");
    snprintf(m.security_server, sizeof(m.security_server),
             "<xrd:securityServer id:objectType=\"SERVER\">"
             "<id:xRoadInstance>FI</id:xRoadInstance>"
             "<id:memberClass>GOV</id:memberClass>"
             "<id:memberCode>0245437-2</id:memberCode>"
             "<id:serverCode>ss1</id:serverCode></xrd:securityServer>");
    XRT_ASSERT_OK(parse_msg(&m, NULL, &req, &err), err);
    h = xr_request_header(req);
    assert_false(h->has_issue);
    assert_true(h->has_represented_party);
    assert_false(h->has_party_class);
    assert_string_equal(h->party_code, "MEMBER3");
    assert_true(h->has_security_server);
    assert_int_equal(h->security_server.type, XR_ID_SERVER);
    assert_string_equal(h->security_server.server_code, "ss1");
    xr_request_free(req);
}

static void test_parse_order_whitespace_foreign(void **state)
{
    struct xrt_msg m;
    struct xr_request *req = NULL;
    struct xr_error err;
    const struct xr_header *h;

    (void)state;
    req_msg(&m);
    m.order = "evxuriSsc"; /* reversed, protocolVersion first */
    snprintf(m.protocol_version, sizeof(m.protocol_version),
             "<xrd:protocolVersion>\n  4.0\n</xrd:protocolVersion>");
    snprintf(m.user_id, sizeof(m.user_id), "<xrd:userId>  %s\t\n</xrd:userId>",
             XRT_USER_ID);
    /* Foreign header elements, and an xroad-lookalike namespace. */
    snprintf(
        m.extra, sizeof(m.extra),
        "<foo:userId xmlns:foo=\"urn:foo\">other</foo:userId>"
        "<userId>unqualified</userId>"
        "<z:client xmlns:z=\"http://x-road.eu/xsd/xroad.xsd/\"/>"
        "<tok:securityToken xmlns:tok=\"http://x-road.eu/xsd/"
        "security-token.xsd\" tokenType=\"urn:t\">abc</tok:securityToken>");
    XRT_ASSERT_OK(parse_msg(&m, NULL, &req, &err), err);
    h = xr_request_header(req);
    assert_string_equal(h->user_id, XRT_USER_ID);
    assert_string_equal(h->protocol_version, "4.0");
    assert_string_equal(h->client.subsystem_code, "example-adapter");
    xr_request_free(req);

    /* Unknown identifier children are ignored; a different prefix for the
     * xroad namespace is the same namespace. */
    req_msg(&m);
    snprintf(m.client, sizeof(m.client),
             "<q:client xmlns:q=\"http://x-road.eu/xsd/xroad.xsd\" "
             "xmlns:i=\"http://x-road.eu/xsd/identifiers\" "
             "i:objectType=\"SUBSYSTEM\"><i:xRoadInstance>FI-TEST"
             "</i:xRoadInstance><i:memberClass>MUN</i:memberClass>"
             "<i:memberCode>0000000-0</i:memberCode><i:futureField>x"
             "</i:futureField><i:subsystemCode>example-adapter"
             "</i:subsystemCode></q:client>");
    XRT_ASSERT_OK(parse_msg(&m, NULL, &req, &err), err);
    assert_string_equal(xr_request_header(req)->client.member_code,
                        "0000000-0");
    xr_request_free(req);
}

static void test_parse_malformed_xml(void **state)
{
    static const char *const bad[] = {
        "<",
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" XR_NS_SOAP11 "\">",
        "<a><b></a></b>",
        "\x00\x01\x02",
        "<a>\xff\xfe</a>",
        "<?xml version=\"1.0\"?><a/><b/>",
    };
    struct xrt_msg m;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xr_request *req = NULL;
        struct xr_error err;
        size_t len = i == 3 ? 3 : strlen(bad[i]);
        enum xr_status st = xr_request_parse(NULL, (const uint8_t *)bad[i], len,
                                             NULL, &req, &err);
        XRT_ASSERT_REASON(st, err, "malformed_xml");
        assert_int_equal(st, XR_EPARSE);
        assert_null(req);
    }
    /* A namespace error (unbound prefix) inside an otherwise valid request:
     * a namespace-aware SOAP parser rejects it. */
    req_msg(&m);
    snprintf(m.body, sizeof(m.body),
             "<vtj:" XRT_SERVICE_CODE " xmlns:vtj=\"" XRT_NS_BODY "\">"
             "<q:unbound/></vtj:" XRT_SERVICE_CODE ">");
    EXPECT_FAIL(&m, "malformed_xml", NULL);
}

static void test_parse_invalid_soap(void **state)
{
    static const char *const bad[] = {
        "<foo/>",
        "<Envelope><Header/><Body/></Envelope>",
        ("<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\">"
         "<e:Header/><e:Body><x/></e:Body></e:Envelope>"),
        ("<e:Body xmlns:e=\"" XR_NS_SOAP11 "\"><x/></e:Body>"),
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xr_request *req = NULL;
        struct xr_error err;
        XRT_ASSERT_REASON(xr_request_parse(NULL, (const uint8_t *)bad[i],
                                           strlen(bad[i]), NULL, &req, &err),
                          err, "invalid_soap");
        assert_null(req);
    }
}

static void test_parse_missing_header(void **state)
{
    struct xrt_msg m;

    (void)state;
    req_msg(&m);
    m.no_header = true;
    EXPECT_FAIL(&m, "missing_header", NULL);
}

static void test_parse_missing_header_field(void **state)
{
    struct xrt_msg m;

    (void)state;
    req_msg(&m);
    m.client[0] = '\0';
    EXPECT_FAIL(&m, "missing_header_field", "client");
    req_msg(&m);
    m.service[0] = '\0';
    EXPECT_FAIL(&m, "missing_header_field", "service");
    req_msg(&m);
    m.id[0] = '\0';
    EXPECT_FAIL(&m, "missing_header_field", "id");
    req_msg(&m);
    m.protocol_version[0] = '\0';
    EXPECT_FAIL(&m, "missing_header_field", "protocolVersion");
    /* Present but in a foreign namespace does not count. */
    req_msg(&m);
    snprintf(m.id, sizeof(m.id), "<o:id xmlns:o=\"urn:other\">1</o:id>");
    EXPECT_FAIL(&m, "missing_header_field", "id");
}

static void test_parse_duplicate_header_field(void **state)
{
    struct xrt_msg m;

    (void)state;
    req_msg(&m);
    snprintf(m.extra, sizeof(m.extra), "%s", m.client);
    EXPECT_FAIL(&m, "duplicate_header_field", "client");
    req_msg(&m);
    snprintf(m.extra, sizeof(m.extra), "%s", m.service);
    EXPECT_FAIL(&m, "duplicate_header_field", "service");
    req_msg(&m);
    snprintf(m.extra, sizeof(m.extra), "<xrd:id>other</xrd:id>");
    EXPECT_FAIL(&m, "duplicate_header_field", "id");
    req_msg(&m);
    /* Same namespace under another prefix is still a duplicate. */
    snprintf(m.extra, sizeof(m.extra),
             "<x:userId xmlns:x=\"" XR_NS_XROAD "\">%s</x:userId>",
             XRT_USER_ID);
    EXPECT_FAIL(&m, "duplicate_header_field", "userId");
    req_msg(&m);
    snprintf(m.extra, sizeof(m.extra), "<xrd:issue/>");
    EXPECT_FAIL(&m, "duplicate_header_field", "issue");
    req_msg(&m);
    snprintf(m.extra, sizeof(m.extra), "%s", m.protocol_version);
    EXPECT_FAIL(&m, "duplicate_header_field", "protocolVersion");
    req_msg(&m);
    snprintf(m.extra, sizeof(m.extra), "%s", m.repr);
    EXPECT_FAIL(&m, "duplicate_header_field", "representedParty");

    /* A repeated identifier child. */
    req_msg(&m);
    snprintf(m.client, sizeof(m.client),
             "<xrd:client id:objectType=\"MEMBER\">"
             "<id:xRoadInstance>FI</id:xRoadInstance>"
             "<id:memberClass>GOV</id:memberClass>"
             "<id:memberCode>1</id:memberCode>"
             "<id:memberCode>2</id:memberCode></xrd:client>");
    expect_parse_fail(&m, "duplicate_header_field", NULL, __LINE__);
}

static void test_parse_invalid_xml_object_type(void **state)
{
    struct xrt_msg m;
    static const char *const ids = "<id:xRoadInstance>FI</id:xRoadInstance>"
                                   "<id:memberClass>GOV</id:memberClass>"
                                   "<id:memberCode>1</id:memberCode>";

    (void)state;
    /* Missing objectType on the client. */
    req_msg(&m);
    snprintf(m.client, sizeof(m.client), "<xrd:client>%s</xrd:client>", ids);
    EXPECT_FAIL(&m, "invalid_xml", NULL);
    /* Unqualified objectType does not count. */
    req_msg(&m);
    snprintf(m.client, sizeof(m.client),
             "<xrd:client objectType=\"MEMBER\">%s</xrd:client>", ids);
    EXPECT_FAIL(&m, "invalid_xml", NULL);
    /* Unknown objectType. */
    req_msg(&m);
    snprintf(m.client, sizeof(m.client),
             "<xrd:client id:objectType=\"FOO\">%s</xrd:client>", ids);
    EXPECT_FAIL(&m, "invalid_xml", NULL);
    /* Removed CENTRALSERVICE is unknown too. */
    req_msg(&m);
    snprintf(m.service, sizeof(m.service),
             "<xrd:service id:objectType=\"CENTRALSERVICE\">"
             "<id:xRoadInstance>FI</id:xRoadInstance>"
             "<id:serviceCode>" XRT_SERVICE_CODE "</id:serviceCode>"
             "</xrd:service>");
    EXPECT_FAIL(&m, "invalid_xml", NULL);
    /* Unexpected objectType: a client that says SERVICE ... */
    req_msg(&m);
    snprintf(m.client, sizeof(m.client),
             "<xrd:client id:objectType=\"SERVICE\">%s"
             "<id:serviceCode>x</id:serviceCode></xrd:client>",
             ids);
    EXPECT_FAIL(&m, "invalid_xml", NULL);
    /* ... and a service that says MEMBER. */
    req_msg(&m);
    snprintf(m.service, sizeof(m.service),
             "<xrd:service id:objectType=\"MEMBER\">%s"
             "<id:serviceCode>" XRT_SERVICE_CODE "</id:serviceCode>"
             "</xrd:service>",
             ids);
    EXPECT_FAIL(&m, "invalid_xml", NULL);
    /* objectType values are case-sensitive. */
    req_msg(&m);
    snprintf(m.client, sizeof(m.client),
             "<xrd:client id:objectType=\"member\">%s</xrd:client>", ids);
    EXPECT_FAIL(&m, "invalid_xml", NULL);
}

static void test_parse_body_rules(void **state)
{
    struct xrt_msg m;
    struct xr_request *req = NULL;
    struct xr_error err;

    (void)state;
    req_msg(&m);
    m.no_body = true;
    EXPECT_FAIL(&m, "missing_body", NULL);

    req_msg(&m);
    m.body[0] = '\0';
    EXPECT_FAIL(&m, "invalid_body", NULL);

    req_msg(&m);
    snprintf(m.body, sizeof(m.body), "  just text  ");
    EXPECT_FAIL(&m, "invalid_body", NULL);

    req_msg(&m);
    snprintf(m.body, sizeof(m.body), "%s%s", REQ_BODY, REQ_BODY);
    EXPECT_FAIL(&m, "invalid_body", NULL);

    req_msg(&m);
    snprintf(m.body, sizeof(m.body), "<xrd:blaah/>");
    EXPECT_FAIL(&m, "inconsistent_headers", NULL);

    /* Case matters: the code compares with startsWith, case-sensitively. */
    req_msg(&m);
    snprintf(m.body, sizeof(m.body), "<henkilontunnuskysely/>");
    EXPECT_FAIL(&m, "inconsistent_headers", NULL);

    /* startsWith: a ...Response wrapper, comments and PIs around it. */
    req_msg(&m);
    snprintf(m.body, sizeof(m.body),
             "<!-- c --><?pi x?>\n<HenkilonTunnusKyselyResponse/>\n<!-- d -->");
    XRT_ASSERT_OK(parse_msg(&m, NULL, &req, &err), err);
    assert_string_equal((const char *)xr_request_body(req)->name,
                        "HenkilonTunnusKyselyResponse");
    xr_request_free(req);
}

static void test_parse_protocol_version(void **state)
{
    static const char *const bad[] = {"3.5", "",     "40", "4",
                                      "5.0", "v4.0", "4,0"};
    static const char *const good[] = {"4.0", "4.1", " 4.0\n", "4.x"};
    struct xrt_msg m;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        req_msg(&m);
        xrt_text_xml(m.protocol_version, sizeof(m.protocol_version),
                     "protocolVersion", bad[i]);
        EXPECT_FAIL(&m, "invalid_protocol_version", NULL);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct xr_request *req = NULL;
        struct xr_error err;
        req_msg(&m);
        xrt_text_xml(m.protocol_version, sizeof(m.protocol_version),
                     "protocolVersion", good[i]);
        XRT_ASSERT_OK(parse_msg(&m, NULL, &req, &err), err);
        xr_request_free(req);
    }
}

static void test_parse_content_type(void **state)
{
    static const char *const ok[] = {
        NULL, "text/xml", "text/xml; charset=UTF-8",
        "TEXT/XML;CHARSET=\"utf-8\"", "text/xml ; charset=utf-8"};
    static const char *const bad[] = {"application/json", "text/plain",
                                      "application/soap+xml; charset=utf-8",
                                      "xml"};
    struct xrt_msg m;

    (void)state;
    req_msg(&m);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct xr_request *req = NULL;
        struct xr_error err;
        XRT_ASSERT_OK(parse_msg(&m, ok[i], &req, &err), err);
        xr_request_free(req);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xr_request *req = NULL;
        struct xr_error err;
        XRT_ASSERT_REASON(parse_msg(&m, bad[i], &req, &err), err,
                          "invalid_content_type");
    }
}

static void test_parse_limits(void **state)
{
    struct xrt_msg m;
    struct xr_request *req = NULL;
    struct xr_error err;
    struct xr_limits lim = {0};
    size_t len;
    char *text;
    char big[XR_TEXT_MAX + 200];

    (void)state;
    req_msg(&m);
    text = xrt_msg_render(&m, &len);
    lim.max_bytes = len;
    XRT_ASSERT_OK(
        xr_request_parse(NULL, (const uint8_t *)text, len, &lim, &req, &err),
        err);
    xr_request_free(req);
    req = NULL;
    lim.max_bytes = len - 1;
    XRT_ASSERT_REASON(
        xr_request_parse(NULL, (const uint8_t *)text, len, &lim, &req, &err),
        err, "too_large");
    assert_int_equal(err.code, XR_ELIMIT);
    assert_null(req);
    free(text);

    /* A header value longer than XR_TEXT_MAX. */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    req_msg(&m);
    xrt_text_xml(m.id, sizeof(m.id), "id", big);
    EXPECT_FAIL(&m, "too_large", "id");
    req_msg(&m);
    xrt_text_xml(m.user_id, sizeof(m.user_id), "userId", big);
    EXPECT_FAIL(&m, "too_large", "userId");

    /* Exactly XR_TEXT_MAX bytes still fit. */
    big[XR_TEXT_MAX] = '\0';
    req_msg(&m);
    xrt_text_xml(m.issue, sizeof(m.issue), "issue", big);
    {
        XRT_ASSERT_OK(parse_msg(&m, NULL, &req, &err), err);
        assert_int_equal(strlen(xr_request_header(req)->issue), XR_TEXT_MAX);
        xr_request_free(req);
    }
}

static void test_parse_err_null(void **state)
{
    struct xr_request *req = NULL;

    (void)state;
    assert_int_equal(
        xr_request_parse(NULL, (const uint8_t *)"<", 1, NULL, &req, NULL),
        XR_EPARSE);
    assert_null(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_init),
        cmocka_unit_test(test_build_full_structure),
        cmocka_unit_test(test_build_minimal),
        cmocka_unit_test(test_build_uuid),
        cmocka_unit_test(test_build_escaping),
        cmocka_unit_test(test_build_control_chars_consistent),
        cmocka_unit_test(test_build_body_errors),
        cmocka_unit_test(test_build_own_body),
        cmocka_unit_test(test_build_invalid_header),
        cmocka_unit_test(test_bytes_and_hash),
        cmocka_unit_test(test_digests),
        cmocka_unit_test(test_build_reparse_roundtrip),
        cmocka_unit_test(test_build_body_forms),
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_optional_fields),
        cmocka_unit_test(test_parse_order_whitespace_foreign),
        cmocka_unit_test(test_parse_malformed_xml),
        cmocka_unit_test(test_parse_invalid_soap),
        cmocka_unit_test(test_parse_missing_header),
        cmocka_unit_test(test_parse_missing_header_field),
        cmocka_unit_test(test_parse_duplicate_header_field),
        cmocka_unit_test(test_parse_invalid_xml_object_type),
        cmocka_unit_test(test_parse_body_rules),
        cmocka_unit_test(test_parse_protocol_version),
        cmocka_unit_test(test_parse_content_type),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_err_null),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("envelope", tests, xrt_group_setup,
                                       xrt_group_teardown);
}

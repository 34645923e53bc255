/*
 * Unit tests of the VTJ request side (vtj_request.c): input validation,
 * the HenkilonTunnusKysely and HaeTuotteenSkeema body wrappers (WSDL order,
 * escaping, omitted empty fields), schema validation against the WSDL in
 * the shared vectors, the golden request 01, and password loading.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/xmlschemas.h>

#include "test_vtj_common.h"

#include "services/vtj.h"

#define WSDL_NS "http://schemas.xmlsoap.org/wsdl/"
#define XSD_NS  "http://www.w3.org/2001/XMLSchema"

static const char *const wsdl_order[] = {
    "SoSoNimi",
    "Kayttajatunnus",
    "Salasana",
    "Loppukayttaja",
    "Laskutustiedot",
    "Henkilotunnus",
    "SahkoinenAsiointitunnus",
    "VarmenteenMyontaja",
    "X509Certificate",
    "VarmenteenVoimassaolotarkistus",
    "VarmenteenSulkulistatarkistus",
    "Tunnistusportaali",
    "Vara1",
};

static const struct vtj_credentials cred = {"TESTUSER", "s3cret-Pw"};

static struct vtj_query base_query(void)
{
    struct vtj_query q;

    memset(&q, 0, sizeof(q));
    q.product = "PERUSSANOMA 3";
    q.hetu = "260991-999R";
    q.end_user = "case-worker-7";
    return q;
}

/* Build, parse and return the body document; asserts success. */
static xmlDocPtr build_doc(const struct vtj_query *q, char **xml_out)
{
    struct xr_error err;
    char *xml = NULL;
    size_t len = 0;
    enum xr_status st;
    xmlDocPtr doc;

    memset(&err, 0, sizeof(err));
    st = vtj_request_body(q, &cred, &xml, &len, &err);
    if (st != XR_OK)
        fail_msg("vtj_request_body: %s %s", err.reason, err.msg);
    assert_non_null(xml);
    assert_int_equal(strlen(xml), len);
    doc = tv_parse(xml, len);
    assert_non_null(doc);
    if (xml_out)
        *xml_out = xml;
    else
        vtj_body_free(xml, len);
    return doc;
}

static int order_index(const char *name)
{
    for (size_t i = 0; i < sizeof(wsdl_order) / sizeof(wsdl_order[0]); i++)
        if (!strcmp(wsdl_order[i], name))
            return (int)i;
    return -1;
}

static xmlNodePtr request_el(xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc), req;

    assert_non_null(root);
    assert_string_equal((const char *)root->name, "HenkilonTunnusKysely");
    assert_non_null(root->ns);
    assert_string_equal((const char *)root->ns->href, VTJ_NS_WS);
    req = tv_first_element(root->children);
    assert_non_null(req);
    assert_string_equal((const char *)req->name, "request");
    assert_string_equal((const char *)req->ns->href, VTJ_NS_WS);
    assert_null(tv_first_element(req->next));
    return req;
}

static char *child_text(xmlNodePtr req, const char *name)
{
    for (xmlNodePtr n = req->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name))
            return (char *)xmlNodeGetContent(n);
    return NULL;
}

static void test_body_minimal(void **state)
{
    struct vtj_query q = base_query();
    xmlDocPtr doc;
    xmlNodePtr req;
    const char *want[] = {"SoSoNimi", "Kayttajatunnus", "Salasana",
                          "Loppukayttaja", "Henkilotunnus"};
    size_t i = 0;
    char *v;

    (void)state;
    doc = build_doc(&q, NULL);
    req = request_el(doc);
    for (xmlNodePtr n = tv_first_element(req->children); n;
         n = tv_first_element(n->next), i++) {
        assert_true(i < 5);
        assert_string_equal((const char *)n->name, want[i]);
        assert_string_equal((const char *)n->ns->href, VTJ_NS_WS);
    }
    assert_int_equal(i, 5);
    v = child_text(req, "Henkilotunnus");
    assert_string_equal(v, "260991-999R");
    xmlFree(v);
    v = child_text(req, "Salasana");
    assert_string_equal(v, "s3cret-Pw");
    xmlFree(v);
    xmlFreeDoc(doc);
}

static void test_body_all_fields_in_order(void **state)
{
    struct vtj_query q = base_query();
    xmlDocPtr doc;
    xmlNodePtr req;
    int last = -1, count = 0;
    char *v;

    (void)state;
    q.hetu = NULL;
    q.satu = "10000001N";
    q.billing = "kustannuspaikka 42";
    q.cert_issuer = "VRK CA for Test Purposes";
    q.x509_certificate = "TUlJQm\nQUFB";
    q.cert_validity = "1";
    q.cert_crl = "1";
    q.portal = "portal";
    q.reserved1 = "v";
    doc = build_doc(&q, NULL);
    req = request_el(doc);
    for (xmlNodePtr n = tv_first_element(req->children); n;
         n = tv_first_element(n->next)) {
        int idx = order_index((const char *)n->name);
        assert_true(idx > last);
        last = idx;
        count++;
    }
    /* Everything except Henkilotunnus (empty = omitted). */
    assert_int_equal(count, 12);
    v = child_text(req, "Henkilotunnus");
    assert_null(v);
    v = child_text(req, "SahkoinenAsiointitunnus");
    assert_string_equal(v, "10000001N");
    xmlFree(v);
    xmlFreeDoc(doc);
}

/*
 * The body buffer starts at 2 KiB and grows: the longest certificate and
 * a billing text that escaping makes five times longer come out whole.
 */
static void test_body_grows(void **state)
{
    struct vtj_query q = base_query();
    char *cert = malloc(VTJ_CERT_MAX + 1u);
    char *billing = malloc(VTJ_FIELD_MAX + 1u);
    xmlDocPtr doc;
    xmlNodePtr req;
    char *xml = NULL;
    char *v;

    (void)state;
    assert_non_null(cert);
    assert_non_null(billing);
    for (size_t i = 0; i < VTJ_CERT_MAX; i++)
        cert[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"[i % 32u];
    cert[VTJ_CERT_MAX] = '\0';
    memset(billing, '&', VTJ_FIELD_MAX);
    billing[VTJ_FIELD_MAX] = '\0';
    q.x509_certificate = cert;
    q.billing = billing;
    doc = build_doc(&q, &xml);
    assert_true(strlen(xml) > (size_t)VTJ_CERT_MAX + 5u * VTJ_FIELD_MAX);
    req = request_el(doc);
    v = child_text(req, "X509Certificate");
    assert_string_equal(v, cert);
    xmlFree(v);
    v = child_text(req, "Laskutustiedot");
    assert_string_equal(v, billing);
    xmlFree(v);
    v = child_text(req, "Henkilotunnus");
    assert_string_equal(v, q.hetu);
    xmlFree(v);
    vtj_body_free(xml, 0);
    xmlFreeDoc(doc);
    free(cert);
    free(billing);
}

static void test_body_escaping(void **state)
{
    struct vtj_query q = base_query();
    struct vtj_credentials c2 = {"user&<>\"'", "p<w>&\"d'"};
    struct xr_error err;
    xmlDocPtr doc;
    xmlNodePtr req;
    char *xml = NULL, *v;
    size_t len = 0;

    (void)state;
    memset(&err, 0, sizeof(err));
    q.product = "Huoltaja-Huollettavat & <muut>";
    q.end_user = "Äijä Öljynen <äö> & \"x\"";
    q.billing = "]]> <!-- -->";
    assert_int_equal(vtj_request_body(&q, &c2, &xml, &len, &err), XR_OK);
    assert_null(strstr(xml, "<muut>"));
    assert_null(strstr(xml, "<!--"));
    doc = tv_parse(xml, len);
    assert_non_null(doc);
    req = request_el(doc);
    v = child_text(req, "SoSoNimi");
    assert_string_equal(v, "Huoltaja-Huollettavat & <muut>");
    xmlFree(v);
    v = child_text(req, "Loppukayttaja");
    assert_string_equal(v, "Äijä Öljynen <äö> & \"x\"");
    xmlFree(v);
    v = child_text(req, "Salasana");
    assert_string_equal(v, "p<w>&\"d'");
    xmlFree(v);
    v = child_text(req, "Laskutustiedot");
    assert_string_equal(v, "]]> <!-- -->");
    xmlFree(v);
    xmlFreeDoc(doc);
    {
        /* The pipeline builds VTJ requests without parsing the body
         * (own_body): the envelope must be the one the parsing path
         * builds, byte for byte. */
        struct xr_header h;

        xrt_std_header(&h);
        snprintf(h.id, sizeof(h.id), "%s", "vtj-own-body");
        xrt_assert_builders_agree(&h, xml, len);
    }
    vtj_body_free(xml, len);
}

/* Expect a validation failure with the given reason and no output. */
static void expect_reason(const struct vtj_query *q,
                          const struct vtj_credentials *c, const char *reason)
{
    struct xr_error err;
    static char sentinel[] = "sentinel";
    char *xml = sentinel;
    size_t len = 99;
    enum xr_status st;

    memset(&err, 0, sizeof(err));
    st = vtj_request_body(q, c, &xml, &len, &err);
    if (st == XR_OK)
        fail_msg("expected %s, got XR_OK", reason);
    assert_null(xml);
    assert_int_equal(len, 0);
    assert_int_equal(err.code, st);
    if (strcmp(err.reason, reason) != 0)
        fail_msg("expected reason %s, got %s (%s)", reason, err.reason,
                 err.msg);
    assert_true(err.msg[0] != '\0');
    /* Never a secret or an identity code in the message. */
    assert_null(strstr(err.msg, "s3cret"));
    assert_null(strstr(err.msg, "TESTUSER"));
    assert_null(strstr(err.msg, "260991"));
    assert_null(strstr(err.msg, "10000001"));
    if (q)
        assert_int_equal(vtj_query_check(q, &err) == XR_OK,
                         !strcmp(reason, "missing_username") ||
                             !strcmp(reason, "missing_password") ||
                             !strcmp(reason, "credential_too_long") ||
                             !strcmp(reason, "invalid_credential"));
}

static void test_validation(void **state)
{
    struct vtj_query q;
    char long_ascii[64], long_ae[128], ok_ae[128], big[2048];
    struct vtj_credentials c;

    (void)state;
    expect_reason(NULL, &cred, "invalid_argument");

    q = base_query();
    q.product = NULL;
    expect_reason(&q, &cred, "missing_product");
    q.product = "  ";
    expect_reason(&q, &cred, "missing_product");
    memset(big, 'P', 101);
    big[101] = '\0';
    q.product = big;
    expect_reason(&q, &cred, "product_too_long");
    q.product = "PERUS\x01SANOMA";
    expect_reason(&q, &cred, "invalid_product");

    q = base_query();
    q.hetu = NULL;
    expect_reason(&q, &cred, "missing_subject");
    q.hetu = "";
    expect_reason(&q, &cred, "missing_subject");
    q.hetu = "260991-999R";
    q.satu = "10000001N";
    expect_reason(&q, &cred, "ambiguous_subject");
    q.satu = NULL;
    q.hetu = "260991-999X";
    expect_reason(&q, &cred, "invalid_hetu");
    q.hetu = "260991Z999R";
    expect_reason(&q, &cred, "invalid_hetu");
    q.hetu = "260991-999R";
    q.refuse_temporary = true;
    expect_reason(&q, &cred, "temporary_hetu");
    q.hetu = NULL;
    q.satu = "10000001M";
    expect_reason(&q, &cred, "invalid_satu");

    q = base_query();
    q.end_user = NULL;
    expect_reason(&q, &cred, "missing_end_user");
    q.end_user = "";
    expect_reason(&q, &cred, "missing_end_user");
    q.end_user = " \t ";
    expect_reason(&q, &cred, "missing_end_user");
    memset(long_ascii, 'u', 51);
    long_ascii[51] = '\0';
    q.end_user = long_ascii;
    expect_reason(&q, &cred, "end_user_too_long");
    long_ascii[50] = '\0'; /* exactly 50 is fine */
    {
        struct xr_error err;
        char *xml = NULL;
        size_t len = 0;
        memset(&err, 0, sizeof(err));
        assert_int_equal(vtj_request_body(&q, &cred, &xml, &len, &err), XR_OK);
        vtj_body_free(xml, len);
        /* 50 two-byte characters are 50 characters, not 100. */
        for (int i = 0; i < 50; i++)
            memcpy(ok_ae + 2 * i, "\xc3\xa4", 2);
        ok_ae[100] = '\0';
        q.end_user = ok_ae;
        assert_int_equal(vtj_request_body(&q, &cred, &xml, &len, &err), XR_OK);
        vtj_body_free(xml, len);
    }
    for (int i = 0; i < 51; i++)
        memcpy(long_ae + 2 * i, "\xc3\xa4", 2);
    long_ae[102] = '\0';
    q.end_user = long_ae;
    expect_reason(&q, &cred, "end_user_too_long");
    q.end_user = "bad\xff";
    expect_reason(&q, &cred, "invalid_end_user");
    q.end_user = "overlong\xc0\xaf";
    expect_reason(&q, &cred, "invalid_end_user");
    q.end_user = "surrogate\xed\xa0\x80";
    expect_reason(&q, &cred, "invalid_end_user");
    q.end_user = "line\nbreak";
    expect_reason(&q, &cred, "invalid_end_user");
    q.end_user = "truncated\xc3";
    expect_reason(&q, &cred, "invalid_end_user");

    q = base_query();
    memset(big, 'b', 1025);
    big[1025] = '\0';
    q.billing = big;
    expect_reason(&q, &cred, "field_too_long");
    q.billing = "tab\there";
    expect_reason(&q, &cred, "invalid_field");

    q = base_query();
    expect_reason(&q, NULL, "missing_username");
    c.username = "";
    c.password = "x";
    expect_reason(&q, &c, "missing_username");
    c.username = "TESTUSER";
    c.password = NULL;
    expect_reason(&q, &c, "missing_password");
    c.password = "s3cret\n";
    expect_reason(&q, &c, "invalid_credential");
    memset(big, 's', 300);
    big[300] = '\0';
    c.password = big;
    expect_reason(&q, &c, "credential_too_long");
}

static void test_schema_body(void **state)
{
    struct xr_error err;
    char *xml = NULL, *v;
    size_t len = 0;
    xmlDocPtr doc;
    xmlNodePtr root, req;

    (void)state;
    memset(&err, 0, sizeof(err));
    assert_int_equal(
        vtj_schema_request_body("PERUSSANOMA 1", 1, &xml, &len, &err), XR_OK);
    doc = tv_parse(xml, len);
    assert_non_null(doc);
    root = xmlDocGetRootElement(doc);
    assert_string_equal((const char *)root->name, "HaeTuotteenSkeema");
    assert_string_equal((const char *)root->ns->href, VTJ_NS_WS);
    req = tv_first_element(root->children);
    v = child_text(req, "Laji");
    assert_string_equal(v, "1");
    xmlFree(v);
    assert_null(strstr(xml, "Kayttajatunnus"));
    xmlFreeDoc(doc);
    vtj_body_free(xml, len);

    assert_int_not_equal(
        vtj_schema_request_body("PERUSSANOMA 1", -1, &xml, &len, &err), XR_OK);
    assert_string_equal(err.reason, "invalid_laji");
    assert_null(xml);
    assert_int_not_equal(vtj_schema_request_body("", 1, &xml, &len, &err),
                         XR_OK);
    assert_string_equal(err.reason, "missing_product");
    vtj_body_free(NULL, 0);
}

/*
 * The xsd:schema of the WSDL for namespace vtjkysely/1 as its own schema
 * document, with the WSDL root's namespace declarations copied (the schema
 * refers to tns: in attribute values).
 */
static xmlSchemaPtr wsdl_schema(void)
{
    char path[4096];
    xmlDocPtr wsdl = NULL, sdoc = NULL;
    xmlNodePtr root, types = NULL, schema = NULL, copy;
    xmlSchemaParserCtxtPtr pctx = NULL;
    xmlSchemaPtr s = NULL;

    if (!tv_vector_path("vtj/vtjkysely-xroad-SoSoAdapterService60.wsdl", path,
                        sizeof(path)))
        return NULL;
    wsdl = xmlReadFile(path, NULL, XML_PARSE_NONET);
    assert_non_null(wsdl);
    root = xmlDocGetRootElement(wsdl);
    for (xmlNodePtr n = root->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && n->ns &&
            !strcmp((const char *)n->ns->href, WSDL_NS) &&
            !strcmp((const char *)n->name, "types"))
            types = n;
    assert_non_null(types);
    for (xmlNodePtr n = types->children; n; n = n->next) {
        xmlChar *tns;
        if (n->type != XML_ELEMENT_NODE || !n->ns ||
            strcmp((const char *)n->ns->href, XSD_NS) != 0)
            continue;
        tns = xmlGetProp(n, (const xmlChar *)"targetNamespace");
        if (tns && !strcmp((const char *)tns, VTJ_NS_WS))
            schema = n;
        xmlFree(tns);
    }
    assert_non_null(schema);
    sdoc = xmlNewDoc((const xmlChar *)"1.0");
    copy = xmlDocCopyNode(schema, sdoc, 1);
    assert_non_null(copy);
    xmlDocSetRootElement(sdoc, copy);
    for (xmlNsPtr ns = root->nsDef; ns; ns = ns->next)
        if (ns->prefix && !xmlSearchNs(sdoc, copy, ns->prefix))
            xmlNewNs(copy, ns->href, ns->prefix);
    pctx = xmlSchemaNewDocParserCtxt(sdoc);
    assert_non_null(pctx);
    s = xmlSchemaParse(pctx);
    assert_non_null(s);
    xmlSchemaFreeParserCtxt(pctx);
    xmlFreeDoc(sdoc);
    xmlFreeDoc(wsdl);
    return s;
}

static void quiet(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

static int validate(xmlSchemaPtr s, xmlDocPtr doc)
{
    xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(s);
    int rc;

    assert_non_null(v);
    xmlSchemaSetValidStructuredErrors(v, quiet, NULL);
    rc = xmlSchemaValidateDoc(v, doc);
    xmlSchemaFreeValidCtxt(v);
    return rc;
}

static void test_vectors_wsdl_validation(void **state)
{
    xmlSchemaPtr s;
    struct vtj_query q;
    struct xr_error err;
    xmlDocPtr doc;
    char *xml = NULL;
    size_t len = 0;

    (void)state;
    xmlSetGenericErrorFunc(NULL, NULL);
    s = wsdl_schema();
    if (!s) {
        skip();
        return;
    }
    q = base_query();
    doc = build_doc(&q, NULL);
    assert_int_equal(validate(s, doc), 0);
    xmlFreeDoc(doc);

    q.hetu = NULL;
    q.satu = "10000001N";
    q.billing = "b";
    q.cert_issuer = "i";
    q.x509_certificate = "c";
    q.cert_validity = "1";
    q.cert_crl = "1";
    q.portal = "p";
    q.reserved1 = "r";
    doc = build_doc(&q, NULL);
    assert_int_equal(validate(s, doc), 0);
    xmlFreeDoc(doc);

    memset(&err, 0, sizeof(err));
    assert_int_equal(
        vtj_schema_request_body("PERUSSANOMA 1", 1, &xml, &len, &err), XR_OK);
    doc = tv_parse(xml, len);
    assert_int_equal(validate(s, doc), 0);
    xmlFreeDoc(doc);
    vtj_body_free(xml, len);

    /* The validator is effective: a wrong order is rejected. */
    {
        static const char bad[] =
            "<HenkilonTunnusKysely xmlns=\"" VTJ_NS_WS "\"><request>"
            "<Kayttajatunnus>u</Kayttajatunnus><SoSoNimi>p</SoSoNimi>"
            "</request></HenkilonTunnusKysely>";
        doc = tv_parse(bad, sizeof(bad) - 1);
        assert_int_not_equal(validate(s, doc), 0);
        xmlFreeDoc(doc);
    }
    xmlSchemaFree(s);
}

/* Same element names, namespaces and texts, in the same order. */
static void assert_same_tree(xmlNodePtr a, xmlNodePtr b)
{
    xmlNodePtr ca, cb;

    assert_string_equal((const char *)a->name, (const char *)b->name);
    assert_string_equal((const char *)a->ns->href, (const char *)b->ns->href);
    ca = tv_first_element(a->children);
    cb = tv_first_element(b->children);
    if (!ca && !cb) {
        char *ta = (char *)xmlNodeGetContent(a);
        char *tb = (char *)xmlNodeGetContent(b);
        assert_string_equal(ta, tb);
        xmlFree(ta);
        xmlFree(tb);
        return;
    }
    while (ca || cb) {
        assert_non_null(ca);
        assert_non_null(cb);
        assert_same_tree(ca, cb);
        ca = tv_first_element(ca->next);
        cb = tv_first_element(cb->next);
    }
}

static void test_vectors_golden_request_01(void **state)
{
    char path[4096];
    struct vtj_query q;
    struct vtj_credentials c = {"EXAMPLEUSER", "example-secret"};
    struct xr_error err;
    char *buf, *xml = NULL;
    size_t blen = 0, len = 0;
    xmlDocPtr golden, mine;

    (void)state;
    if (!tv_vector_path("vtj/synthetic/01-request-HenkilonTunnusKysely.xml",
                        path, sizeof(path))) {
        skip();
        return;
    }
    buf = tv_read(path, &blen);
    assert_non_null(buf);
    golden = tv_parse(buf, blen);
    assert_non_null(golden);
    memset(&q, 0, sizeof(q));
    q.product = "PERUSSANOMA 3";
    q.hetu = "260991-999R";
    q.end_user = "example-user-42";
    memset(&err, 0, sizeof(err));
    assert_int_equal(vtj_request_body(&q, &c, &xml, &len, &err), XR_OK);
    mine = tv_parse(xml, len);
    assert_non_null(mine);
    assert_same_tree(tv_body_child(golden), xmlDocGetRootElement(mine));
    xmlFreeDoc(mine);
    xmlFreeDoc(golden);
    vtj_body_free(xml, len);
    free(buf);
}

static void write_file(const char *path, const char *data, mode_t mode)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_password_load(void **state)
{
    char dir[] = "/tmp/vtjpwXXXXXX", path[256];
    struct xr_error err;
    char *pw = NULL, big[400];

    (void)state;
    memset(&err, 0, sizeof(err));
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/pw", dir);

    write_file(path, "s3cret-Pw\r\nignored second line\n", 0600);
    assert_int_equal(vtj_password_load(path, NULL, &pw, &err), XR_OK);
    assert_string_equal(pw, "s3cret-Pw");
    vtj_password_free(pw);
    pw = NULL;

    write_file(path, "s3cret-Pw\n", 0644);
    assert_int_equal(vtj_password_load(path, NULL, &pw, &err), XR_EINVAL);
    assert_string_equal(err.reason, "credential_file_permissions");
    assert_null(pw);
    assert_null(strstr(err.msg, "s3cret"));

    write_file(path, "\n", 0600);
    assert_int_equal(vtj_password_load(path, NULL, &pw, &err), XR_EINVAL);
    assert_string_equal(err.reason, "missing_password");

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    write_file(path, big, 0600);
    assert_int_equal(vtj_password_load(path, NULL, &pw, &err), XR_EINVAL);
    assert_string_equal(err.reason, "credential_too_long");

    write_file(path, "ctl\x01pw\n", 0400);
    assert_int_equal(vtj_password_load(path, NULL, &pw, &err), XR_EINVAL);
    assert_string_equal(err.reason, "invalid_credential");
    assert_int_equal(unlink(path), 0);

    assert_int_equal(vtj_password_load(path, NULL, &pw, &err), XR_EIO);
    assert_string_equal(err.reason, "credential_unavailable");

    assert_int_equal(setenv("VAYLA_TEST_VTJ_PW", "env-s3cret", 1), 0);
    assert_int_equal(vtj_password_load(NULL, "VAYLA_TEST_VTJ_PW", &pw, &err),
                     XR_OK);
    assert_string_equal(pw, "env-s3cret");
    vtj_password_free(pw);
    pw = NULL;
    assert_int_equal(unsetenv("VAYLA_TEST_VTJ_PW"), 0);
    assert_int_equal(vtj_password_load(NULL, "VAYLA_TEST_VTJ_PW", &pw, &err),
                     XR_EIO);
    assert_null(strstr(err.msg, "env-s3cret"));

    assert_int_equal(vtj_password_load(NULL, NULL, &pw, &err), XR_EINVAL);
    assert_string_equal(err.reason, "invalid_argument");
    assert_int_equal(vtj_password_load(path, "X", &pw, &err), XR_EINVAL);
    assert_string_equal(err.reason, "invalid_argument");
    vtj_password_free(NULL);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_minimal),
        cmocka_unit_test(test_body_all_fields_in_order),
        cmocka_unit_test(test_body_grows),
        cmocka_unit_test(test_body_escaping),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_schema_body),
        cmocka_unit_test(test_vectors_wsdl_validation),
        cmocka_unit_test(test_vectors_golden_request_01),
        cmocka_unit_test(test_password_load),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("vtj_request", tests, NULL, NULL);
}

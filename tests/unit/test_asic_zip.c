/*
 * The container reader and the container rules: hostile ZIPs (traversal,
 * absolute and odd names, duplicates, zip bombs, caps, corruption), the
 * X-Road structure checks in their order, stray entries (warnings, not
 * failures), zips of containers, and loading the verification
 * configuration from a folder and from the ZIP.
 */
#include <unistd.h>

#include "test_asic_common.h"

static struct ta *T;
static struct af_signed SG; /* a signed request, single time-stamp */
static struct af_spec SPEC;

static int group_setup(void **state)
{
    if (xrt_group_setup(state) != 0)
        return -1;
    T = ta_new(0);
    ta_spec(T, &SPEC);
    return af_sign(&T->trust, &SPEC, &SG);
}

static int group_teardown(void **state)
{
    af_signed_cleanup(&SG);
    ta_free(T);
    return xrt_group_teardown(state);
}

static const char MT[] = XR_ASIC_MIMETYPE;
static bool utf8_flag = true;

struct part {
    const char *name;
    const void *data;
    size_t len; /* 0 with data: strlen */
};

/* A ZIP of the parts in order (stored); NULL parts end the list. */
static uint8_t *zip_parts(const struct part *p, size_t *len)
{
    struct af_zip *z = af_zip_new();
    uint8_t *out = NULL;

    assert_non_null(z);
    af_zip_utf8_flag(z, utf8_flag);
    for (; p->name; p++) {
        size_t l = p->len ? p->len : (p->data ? strlen(p->data) : 0);
        assert_int_equal(
            af_zip_add(z, p->name, p->data ? p->data : "", l, false), 0);
    }
    assert_int_equal(af_zip_finish(z, &out, len), 0);
    return out;
}

/* The three required entries plus `extra` (name, data). */
static void expect_with(const char *extra, const char *data, const char *reason)
{
    struct part p[] = {
        {"mimetype", MT, 0},
        {"message.xml", SPEC.message, SPEC.message_len},
        {"META-INF/signatures.xml", SG.signatures, SG.signatures_len},
        {extra, data, 0},
        {NULL, NULL, 0}};
    size_t n = 0;
    uint8_t *z = zip_parts(p, &n);

    TA_EXPECT_BYTES(T, z, n, reason);
    free(z);
}

static void test_baseline(void **state)
{
    (void)state;
    expect_with("META-INF/manifest.xml", "<m/>", "");
}

static void test_unsafe_names(void **state)
{
    static const char *const bad[] = {
        "../message.xml", "/etc/passwd",   "META-INF\\signatures.xml",
        "a/../b",         "./message.xml", "\xff\xfe.xml",
        "ctl\x01.xml",    "C:message.xml", "META-INF//x.xml",
        "\xc0\xae.xml", /* overlong '.' */
    };

    (void)state;
    /* Without the UTF-8 flag libzip hands the raw names over. */
    utf8_flag = false;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_with(bad[i], "x", "asic_unsafe_entry_name");
    /* With it, libzip itself refuses names that are not UTF-8. */
    utf8_flag = true;
    expect_with("\xff\xfe.xml", "x", "asic_corrupt");
}

static void test_duplicates(void **state)
{
    (void)state;
    expect_with("message.xml", "<other/>", "asic_duplicate_entry");
    expect_with("MESSAGE.XML", "<other/>", "asic_duplicate_entry");
    expect_with("meta-inf/Signatures.xml", "<other/>", "asic_duplicate_entry");
}

static void test_unexpected_entries(void **state)
{
    (void)state;
    expect_with("other/x.xml", "x", "asic_unexpected_entry");
    expect_with("META-INF/sub/x.xml", "x", "asic_unexpected_entry");
    expect_with("other/", "", "asic_unexpected_entry");
    /* The META-INF folder entry itself is fine. */
    expect_with("META-INF/", "", "");
}

/* Stray files do not make it invalid (X-Road ignores them): warnings. */
static void test_stray_entries_warn(void **state)
{
    struct part p[] = {
        {"META-INF/signatures.xml", SG.signatures, SG.signatures_len},
        {"message.xml", SPEC.message, SPEC.message_len},
        {"hashchain.xml", "<x/>", 0},
        {"sig-hashchainresult.xml", "<x/>", 0},
        {"sig-hashchain.xml", "<y/>", 0},
        {"META-INF/signatures2.xml", "<z/>", 0},
        {"mimetype", MT, 0}, /* last and stored: accepted */
        {NULL, NULL, 0}};
    size_t n = 0;
    uint8_t *z = zip_parts(p, &n);
    struct xr_asic_result *r = NULL;
    struct xr_error err;

    (void)state;
    XRT_ASSERT_OK(ta_verify_bytes(T, z, n, &r, &err), err);
    assert_int_equal(xr_asic_result_warning_count(r), 4);
    assert_non_null(strstr(xr_asic_result_warning(r, 0), "hashchain.xml"));
    assert_non_null(strstr(xr_asic_result_warning(r, 0), "not covered"));
    xr_asic_result_free(r);
    free(z);
}

static void test_structure_order(void **state)
{
    struct part p[8];
    size_t n = 0;
    uint8_t *z;

    (void)state;
    /* No mimetype. */
    p[0] = (struct part){"message.xml", SPEC.message, SPEC.message_len};
    p[1] = (struct part){"META-INF/signatures.xml", SG.signatures,
                         SG.signatures_len};
    p[2] = (struct part){NULL, NULL, 0};
    z = zip_parts(p, &n);
    TA_EXPECT_BYTES(T, z, n, "asic_mime_type_not_found");
    free(z);
    /* Blank or wrong mimetype. */
    expect_with(NULL, NULL, "");
    {
        struct part q[] = {{"mimetype", "  \n", 0},
                           {"message.xml", SPEC.message, SPEC.message_len},
                           {NULL, NULL, 0}};
        z = zip_parts(q, &n);
        TA_EXPECT_BYTES(T, z, n, "asic_mime_type_not_found");
        free(z);
        q[0].data = "application/zip";
        z = zip_parts(q, &n);
        TA_EXPECT_BYTES(T, z, n, "asic_invalid_mime_type");
        free(z);
        /* Compared ignoring case, like X-Road. */
        q[0].data = "Application/VND.etsi.asic-e+zip";
        q[1].name = "other.xml";
        z = zip_parts(q, &n);
        TA_EXPECT_BYTES(T, z, n, "asic_message_not_found");
        free(z);
    }
    {
        struct part q[] = {{"mimetype", MT, 0},
                           {"message.xml", SPEC.message, SPEC.message_len},
                           {NULL, NULL, 0},
                           {NULL, NULL, 0},
                           {NULL, NULL, 0}};
        z = zip_parts(q, &n);
        TA_EXPECT_BYTES(T, z, n, "asic_signature_not_found");
        free(z);
        q[2] = (struct part){"META-INF/signatures.xml", SG.signatures,
                             SG.signatures_len};
        q[3] = (struct part){"sig-hashchain.xml", "<a/>", 0};
        z = zip_parts(q, &n);
        TA_EXPECT_BYTES(T, z, n, "asic_hash_chain_result_not_found");
        free(z);
        q[3] = (struct part){"ts-hashchainresult.xml", "<a/>", 0};
        z = zip_parts(q, &n);
        TA_EXPECT_BYTES(T, z, n, "asic_hash_chain_not_found");
        free(z);
        q[3] = (struct part){"META-INF/timestamp.tst", "", 0};
        z = zip_parts(q, &n);
        TA_EXPECT_BYTES(T, z, n, "asic_timestamp_not_found");
        free(z);
        q[3] = (struct part){"META-INF/ASiCManifest.xml", " ", 0};
        z = zip_parts(q, &n);
        TA_EXPECT_BYTES(T, z, n, "asic_manifest_not_found");
        free(z);
    }
}

static void test_not_a_zip(void **state)
{
    static const uint8_t junk[] = "Either this is not a zipfile";
    uint8_t *z;
    size_t n = 0;

    (void)state;
    TA_EXPECT_BYTES(T, junk, sizeof(junk) - 1, "asic_not_container");
    /* Truncated: the end of central directory is gone. */
    expect_with(NULL, NULL, "");
    {
        struct part p[] = {{"mimetype", MT, 0},
                           {"message.xml", SPEC.message, SPEC.message_len},
                           {NULL, NULL, 0}};
        z = zip_parts(p, &n);
        TA_EXPECT_BYTES(T, z, n - 10, "asic_not_container");
        /* An empty ZIP. */
        free(z);
    }
    {
        struct af_zip *e = af_zip_new();
        assert_int_equal(af_zip_finish(e, &z, &n), 0);
        TA_EXPECT_BYTES(T, z, n, "asic_not_container");
        free(z);
    }
}

static void test_corrupt_entry(void **state)
{
    struct part p[] = {
        {"mimetype", MT, 0},
        {"message.xml", SPEC.message, SPEC.message_len},
        {"META-INF/signatures.xml", SG.signatures, SG.signatures_len},
        {NULL, NULL, 0}};
    size_t n = 0;
    uint8_t *z = zip_parts(p, &n);
    uint8_t *hit;

    (void)state;
    /* One byte of the stored message changed: the CRC does not match. */
    hit = NULL;
    for (size_t i = 0; i + 5 <= n && !hit; i++)
        if (!memcmp(z + i, "msg-1", 5))
            hit = z + i;
    assert_non_null(hit);
    hit[4] = '7';
    TA_EXPECT_BYTES(T, z, n, "asic_corrupt");
    free(z);
}

static void test_zip_bomb(void **state)
{
    size_t big = 8u * 1024u * 1024u, n = 0;
    uint8_t *zeros = calloc(1, big), *z = NULL;
    struct af_zip *w;

    (void)state;
    assert_non_null(zeros);
    for (int lie = 0; lie < 2; lie++) {
        w = af_zip_new();
        assert_int_equal(af_zip_add(w, "mimetype", MT, sizeof(MT) - 1, true),
                         0);
        /* 8 MiB of zeros deflate to about 8 KiB: a ratio of ~1000. */
        assert_int_equal(af_zip_add_lying(w, "message.xml", zeros, big, true,
                                          lie ? 100u : (uint32_t)big),
                         0);
        assert_int_equal(af_zip_finish(w, &z, &n), 0);
        assert_true(n < 64 * 1024);
        TA_EXPECT_BYTES(T, z, n, "asic_zip_bomb");
        free(z);
    }
    free(zeros);
}

static void test_caps(void **state)
{
    struct xr_asic_opts o = {0};
    struct xr_asic_result *r = NULL;
    struct xr_error err;
    uint8_t *c = NULL;
    size_t n = 0;
    struct af_zip *w;

    (void)state;
    ta_forge(T, &SPEC, &c, &n);
    o.zip.max_entries = 3;
    XRT_ASSERT_REASON(xr_asic_verify(T->vc, c, n, &o, NULL, &r, &err), err,
                      "too_large");
    xr_asic_result_free(r);
    memset(&o, 0, sizeof(o));
    o.zip.max_entry_bytes = 1000;
    XRT_ASSERT_REASON(xr_asic_verify(T->vc, c, n, &o, NULL, &r, &err), err,
                      "too_large");
    xr_asic_result_free(r);
    memset(&o, 0, sizeof(o));
    o.zip.max_total_bytes = 2000;
    XRT_ASSERT_REASON(xr_asic_verify(T->vc, c, n, &o, NULL, &r, &err), err,
                      "too_large");
    xr_asic_result_free(r);
    memset(&o, 0, sizeof(o));
    o.zip.max_bytes = n - 1;
    XRT_ASSERT_REASON(xr_asic_verify(T->vc, c, n, &o, NULL, &r, &err), err,
                      "too_large");
    xr_asic_result_free(r);
    memset(&o, 0, sizeof(o));
    o.xml.max_nodes = 20;
    XRT_ASSERT_REASON(xr_asic_verify(T->vc, c, n, &o, NULL, &r, &err), err,
                      "malformed_signature");
    xr_asic_result_free(r);
    free(c);
    /* The default entry cap (64) applies to containers. */
    w = af_zip_new();
    for (int i = 0; i < 70; i++) {
        char name[32];
        snprintf(name, sizeof(name), "attachment%d", i);
        assert_int_equal(af_zip_add(w, name, "x", 1, false), 0);
    }
    assert_int_equal(af_zip_finish(w, &c, &n), 0);
    TA_EXPECT_BYTES(T, c, n, "too_large");
    free(c);
}

static void test_bundle(void **state)
{
    struct af_zip *w = af_zip_new();
    uint8_t *c = NULL, *z = NULL;
    size_t n = 0, zl = 0;
    struct xr_asic_bundle *b = NULL;
    struct xr_error err;

    (void)state;
    ta_forge(T, &SPEC, &c, &n);
    assert_int_equal(af_zip_add(w, "q1-request-AAAA.asice", c, n, false), 0);
    assert_int_equal(af_zip_add(w, "q1-response-AAAB.ASICE", c, n, false), 0);
    assert_int_equal(af_zip_finish(w, &z, &zl), 0);
    XRT_ASSERT_OK(xr_asic_bundle_open(z, zl, NULL, &b, &err), err);
    assert_int_equal(xr_asic_bundle_count(b), 2);
    assert_string_equal(xr_asic_bundle_name(b, 1), "q1-response-AAAB.ASICE");
    assert_null(xr_asic_bundle_name(b, 2));
    assert_int_equal(xr_asic_bundle_data(b, 0).len, n);
    assert_null(xr_asic_bundle_data(b, 2).ptr);
    TA_EXPECT_BYTES(T, xr_asic_bundle_data(b, 0).ptr,
                    xr_asic_bundle_data(b, 0).len, "");
    xr_asic_bundle_free(b);
    free(z);
    /* A container is not a bundle. */
    XRT_ASSERT_REASON(xr_asic_bundle_open(c, n, NULL, &b, &err), err,
                      "not_bundle");
    assert_null(b);
    /* Anything but containers in a bundle is refused. */
    w = af_zip_new();
    assert_int_equal(af_zip_add(w, "a.asice", c, n, false), 0);
    assert_int_equal(af_zip_add(w, "readme.txt", "x", 1, false), 0);
    assert_int_equal(af_zip_finish(w, &z, &zl), 0);
    XRT_ASSERT_REASON(xr_asic_bundle_open(z, zl, NULL, &b, &err), err,
                      "asic_unexpected_entry");
    free(z);
    free(c);
}

/* ------------------------------------------------------------------ */
/* Verification configuration                                          */

static void test_vconf_dir_and_pem(void **state)
{
    char dir[] = "/tmp/vayla-vconf-XXXXXX";
    struct xr_vconf *vc = NULL;
    struct xr_error err;
    uint8_t *c = NULL;
    size_t n = 0;
    struct xr_asic_result *r = NULL;
    char cmd[256];

    (void)state;
    assert_non_null(mkdtemp(dir));
    T->trust.pem_certs = true;
    assert_int_equal(af_vconf_dir(&T->trust, dir), 0);
    T->trust.pem_certs = false;
    XRT_ASSERT_OK(xr_vconf_load_dir(dir, &vc, &err), err);
    assert_string_equal(xr_vconf_instance(vc), TA_INST);
    ta_forge(T, &SPEC, &c, &n);
    XRT_ASSERT_OK(xr_asic_verify(vc, c, n, NULL, NULL, &r, &err), err);
    xr_asic_result_free(r);
    xr_vconf_free(vc);
    free(c);
    /* The own instance needs its shared-params.xml. */
    snprintf(cmd, sizeof(cmd), "%s/instance-identifier", dir);
    {
        FILE *f = fopen(cmd, "w");
        assert_non_null(f);
        fputs("OTHER\n", f);
        fclose(f);
    }
    XRT_ASSERT_REASON(xr_vconf_load_dir(dir, &vc, &err), err,
                      "invalid_verification_conf");
    assert_null(vc);
    assert_int_equal(unlink(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/%s/shared-params.xml", dir, TA_INST);
    assert_int_equal(unlink(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/%s", dir, TA_INST);
    assert_int_equal(rmdir(cmd), 0);
    assert_int_equal(rmdir(dir), 0);
    XRT_ASSERT_REASON(xr_vconf_load_dir("/nonexistent-vayla", &vc, &err), err,
                      "io_error");
}

static void test_vconf_zip_errors(void **state)
{
    struct xr_vconf *vc = NULL;
    struct xr_error err;
    struct af_zip *w;
    uint8_t *z = NULL;
    size_t n = 0;
    static const char *const bad_params[] = {
        "<x/>",
        "not xml",
        "<conf><approvedCA><topCA><cert>!!!</cert></topCA></approvedCA>"
        "</conf>",
        "<conf><approvedCA><topCA><cert>QUJD</cert></topCA></approvedCA>"
        "</conf>",
        "<conf><globalSettings><ocspFreshnessSeconds>x"
        "</ocspFreshnessSeconds></globalSettings></conf>",
        "<conf><instanceIdentifier>OTHER</instanceIdentifier></conf>",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad_params) / sizeof(bad_params[0]); i++) {
        w = af_zip_new();
        assert_int_equal(af_zip_add(w, "verificationconf/instance-identifier",
                                    "DEV", 3, true),
                         0);
        assert_int_equal(af_zip_add(w, "verificationconf/DEV/shared-params.xml",
                                    bad_params[i], strlen(bad_params[i]), true),
                         0);
        assert_int_equal(af_zip_finish(w, &z, &n), 0);
        XRT_ASSERT_REASON(xr_vconf_load_zip(z, n, &vc, &err), err,
                          "invalid_verification_conf");
        assert_null(vc);
        free(z);
    }
    /* No instance-identifier. */
    w = af_zip_new();
    assert_int_equal(af_zip_add(w, "DEV/shared-params.xml", "<conf/>", 7, 0),
                     0);
    assert_int_equal(af_zip_finish(w, &z, &n), 0);
    XRT_ASSERT_REASON(xr_vconf_load_zip(z, n, &vc, &err), err,
                      "invalid_verification_conf");
    free(z);
    XRT_ASSERT_REASON(xr_vconf_load_zip((const uint8_t *)"PK", 2, &vc, &err),
                      err, "asic_not_container");
    XRT_ASSERT_REASON(xr_vconf_load_zip(NULL, 0, &vc, &err), err,
                      "invalid_argument");
}

/* xr_zip_each(): every entry of a safe ZIP, nothing of an unsafe one. */
static int count_entry(void *ctx, const char *name, const uint8_t *data,
                       size_t len, bool is_dir)
{
    size_t *n = ctx;

    assert_false(is_dir);
    assert_non_null(data);
    if (!strcmp(name, "verificationconf/FI/shared-params.xml"))
        assert_memory_equal(data, "<p/>", len);
    return ++*n == 99; /* stop after 99 */
}

static void test_zip_each(void **state)
{
    struct part good[] = {{"verificationconf/instance-identifier", "FI", 0},
                          {"verificationconf/FI/shared-params.xml", "<p/>", 0},
                          {NULL, NULL, 0}};
    struct part bad[] = {{"verificationconf/instance-identifier", "FI", 0},
                         {"verificationconf/../../etc/x", "x", 0},
                         {NULL, NULL, 0}};
    struct xr_zip_limits one = {0, 1, 0, 0, 0};
    struct xr_error err;
    size_t len = 0, n = 0;
    uint8_t *z;

    (void)state;
    utf8_flag = true;
    z = zip_parts(good, &len);
    assert_int_equal(xr_zip_each(z, len, NULL, count_entry, &n, &err), XR_OK);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_not_equal(xr_zip_each(z, len, &one, count_entry, &n, &err),
                         XR_OK);
    assert_string_equal(err.reason, "too_large");
    assert_int_equal(n, 0);
    assert_int_equal(xr_zip_each(z, len, NULL, NULL, &n, &err), XR_EINVAL);
    free(z);
    z = zip_parts(bad, &len);
    assert_int_not_equal(xr_zip_each(z, len, NULL, count_entry, &n, &err),
                         XR_OK);
    assert_string_equal(err.reason, "asic_unsafe_entry_name");
    assert_int_equal(n, 0); /* nothing before the whole ZIP passed */
    free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline),
        cmocka_unit_test(test_unsafe_names),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_unexpected_entries),
        cmocka_unit_test(test_stray_entries_warn),
        cmocka_unit_test(test_structure_order),
        cmocka_unit_test(test_not_a_zip),
        cmocka_unit_test(test_corrupt_entry),
        cmocka_unit_test(test_zip_bomb),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_bundle),
        cmocka_unit_test(test_vconf_dir_and_pem),
        cmocka_unit_test(test_vconf_zip_errors),
        cmocka_unit_test(test_zip_each),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("asic_zip", tests, group_setup,
                                       group_teardown);
}

/*
 * ASiC-E verification against containers forged at test time
 * (tests/common/asic_forge): every shape a security server writes
 * verifies, and for each check a tampered container fails with that
 * check's code. Keys are made when the test runs; nothing is committed.
 */
#include <pthread.h>

#include "test_asic_common.h"

static struct ta *T;

static int group_setup(void **state)
{
    if (xrt_group_setup(state) != 0)
        return -1;
    T = ta_new(2048);
    return 0;
}

static int group_teardown(void **state)
{
    ta_free(T);
    return xrt_group_teardown(state);
}

/* ------------------------------------------------------------------ */
/* Valid shapes                                                        */

static void test_valid_single_ts(void **state)
{
    struct af_spec s;
    uint8_t *c = NULL;
    size_t n = 0;
    struct xr_asic_result *r = NULL;
    struct xr_error err;
    struct xr_bytes m;
    char id[XR_ID_TEXT_MAX];

    (void)state;
    ta_spec(T, &s);
    s.ts_time = T->now - 10;
    ta_forge(T, &s, &c, &n);
    XRT_ASSERT_OK(ta_verify_bytes(T, c, n, &r, &err), err);
    assert_int_equal(xr_asic_result_message_type(r), XR_ASIC_MSG_REQUEST);
    assert_string_equal(xr_asic_msg_type_name(XR_ASIC_MSG_REQUEST), "request");
    assert_string_equal(xr_asic_result_message_id(r), "msg-1");
    xr_id_format(xr_asic_result_signer(r), true, id, sizeof(id));
    assert_string_equal(id, "SUBSYSTEM:" TA_CLIENT);
    assert_int_equal(xr_asic_result_signing_time(r), T->now - 10);
    assert_int_equal(xr_asic_result_claimed_signing_time(r), T->now);
    assert_false(xr_asic_result_batch_timestamp(r));
    assert_false(xr_asic_result_is_rest(r));
    assert_non_null(xr_asic_result_header(r));
    assert_string_equal(xr_asic_result_header(r)->id, "msg-1");
    /* The exact message bytes, for comparing with an audit record. */
    m = xr_asic_result_message(r);
    assert_int_equal(m.len, strlen(T->request));
    assert_memory_equal(m.ptr, T->request, m.len);
    assert_non_null(strstr(xr_asic_result_signer_subject(r), "0101263-6"));
    assert_non_null(strstr(xr_asic_result_tsa_subject(r), "Test TSA"));
    assert_non_null(strstr(xr_asic_result_ocsp_subject(r), "Test OCSP"));
    assert_true(xr_asic_result_ocsp_produced_at(r) > 0);
    assert_int_equal(xr_asic_result_warning_count(r), 0);
    assert_null(xr_asic_result_warning(r, 0));
    assert_int_equal(xr_asic_result_error(r)->code, XR_OK);
    xr_asic_result_free(r);
    free(c);
}

static void test_valid_response(void **state)
{
    struct af_spec s;
    uint8_t *c = NULL;
    size_t n = 0;
    struct xr_asic_result *r = NULL;
    struct xr_error err;
    char id[XR_ID_TEXT_MAX];

    (void)state;
    ta_spec(T, &s);
    s.signer = &T->provider;
    s.message = (const uint8_t *)T->response;
    s.message_len = strlen(T->response);
    ta_forge(T, &s, &c, &n);
    XRT_ASSERT_OK(ta_verify_bytes(T, c, n, &r, &err), err);
    assert_int_equal(xr_asic_result_message_type(r), XR_ASIC_MSG_RESPONSE);
    xr_id_format(xr_asic_result_signer(r), true, id, sizeof(id));
    assert_string_equal(id, "SUBSYSTEM:FI-TEST/GOV/0245437-2/VTJkysely");
    xr_asic_result_free(r);
    free(c);
    /* The client's certificate cannot sign the provider's response. */
    s.signer = &T->client;
    TA_EXPECT(T, &s, "incorrect_certificate");
}

/* Several containers of one batch share one token; each verifies. */
static void test_valid_batch_ts(void **state)
{
    struct af_spec s[3];
    struct af_signed sg[3];
    struct af_batch b;
    const char *sigs[3];
    size_t lens[3];
    char *msgs[3];

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof(id), "batch-%zu", i);
        msgs[i] = af_soap_message(TA_CLIENT, TA_SERVICE, id, false, "<a/>");
        ta_spec(T, &s[i]);
        s[i].ts = AF_TS_BATCH;
        s[i].message = (const uint8_t *)msgs[i];
        s[i].message_len = strlen(msgs[i]);
        assert_int_equal(af_sign(&T->trust, &s[i], &sg[i]), 0);
        sigs[i] = sg[i].signatures;
        lens[i] = sg[i].signatures_len;
    }
    assert_int_equal(
        af_batch_stamp(&T->trust, NULL, sigs, lens, 3, T->now - 5, &b), 0);
    for (size_t i = 0; i < 3; i++) {
        uint8_t *c = NULL;
        size_t n = 0;
        struct xr_asic_result *r = NULL;
        struct xr_error err;
        assert_int_equal(af_zip_container(&s[i], &sg[i], &b, i, &c, &n), 0);
        XRT_ASSERT_OK(ta_verify_bytes(T, c, n, &r, &err), err);
        assert_true(xr_asic_result_batch_timestamp(r));
        assert_int_equal(xr_asic_result_signing_time(r), T->now - 5);
        assert_int_equal(xr_asic_result_warning_count(r), 0);
        xr_asic_result_free(r);
        free(c);
        /* Another container's chain does not lead to this signature. */
        if (i > 0) {
            assert_int_equal(af_zip_container(&s[i], &sg[i], &b, i - 1, &c, &n),
                             0);
            TA_EXPECT_BYTES(T, c, n, "timestamp_hash_chain_invalid");
            free(c);
        }
    }
    af_batch_cleanup(&b);
    for (size_t i = 0; i < 3; i++) {
        af_signed_cleanup(&sg[i]);
        free(msgs[i]);
    }
}

static const uint8_t att1[] = "first attachment";
static const uint8_t att2[] = "{\"second\":true}";

static void with_attachments(struct af_spec *s)
{
    s->nattach = 2;
    s->attach[0] = att1;
    s->attach_len[0] = sizeof(att1) - 1;
    s->attach[1] = att2;
    s->attach_len[1] = sizeof(att2) - 1;
}

static void test_valid_hashchain_attachments(void **state)
{
    struct af_spec s;
    uint8_t *c = NULL;
    size_t n = 0;
    struct xr_asic_result *r = NULL;
    struct xr_error err;

    (void)state;
    ta_spec(T, &s);
    with_attachments(&s);
    s.hashchain = true;
    ta_forge(T, &s, &c, &n);
    XRT_ASSERT_OK(ta_verify_bytes(T, c, n, &r, &err), err);
    assert_int_equal(xr_asic_result_digest_count(r), 2);
    assert_string_equal(xr_asic_result_digest(r, 0)->uri, "/attachment1");
    assert_true(xr_asic_result_digest(r, 0)->verified);
    assert_int_equal(strlen(xr_asic_result_digest(r, 1)->hex), 128);
    assert_null(xr_asic_result_digest(r, 2));
    xr_asic_result_free(r);
    free(c);

    /* X-Road 7.5 and older do not store attachments: unverified. */
    s.attach_absent = true;
    ta_forge(T, &s, &c, &n);
    XRT_ASSERT_OK(ta_verify_bytes(T, c, n, &r, &err), err);
    assert_int_equal(xr_asic_result_digest_count(r), 2);
    assert_false(xr_asic_result_digest(r, 0)->verified);
    assert_int_equal(xr_asic_result_warning_count(r), 2);
    assert_non_null(strstr(xr_asic_result_warning(r, 0), "unverified"));
    xr_asic_result_free(r);
    free(c);
}

static void test_valid_non_batch_attachments(void **state)
{
    struct af_spec s;
    uint8_t *c = NULL;
    size_t n = 0;
    struct xr_asic_result *r = NULL;
    struct xr_error err;

    (void)state;
    ta_spec(T, &s);
    with_attachments(&s);
    ta_forge(T, &s, &c, &n);
    XRT_ASSERT_OK(ta_verify_bytes(T, c, n, &r, &err), err);
    assert_int_equal(xr_asic_result_digest_count(r), 2);
    assert_true(xr_asic_result_digest(r, 1)->verified);
    xr_asic_result_free(r);
    free(c);
    /* Directly referenced attachments must be in the container. */
    s.attach_absent = true;
    TA_EXPECT(T, &s, "invalid_reference");
}

static const char rest_response[] =
    "200\r\nOK\r\nContent-Type:application/json\r\n"
    "x-road-id:FI-TEST-rest-1\r\n"
    "x-road-client:FI-TEST/MUN/0101263-6/vayla-demo\r\n"
    "x-road-service:FI-TEST/GOV/0245437-2/VTJkysely/person\r\n\r\n";

static void test_valid_dss_rest(void **state)
{
    struct af_spec s;
    uint8_t *c = NULL;
    size_t n = 0;
    struct xr_asic_result *r = NULL;
    struct xr_error err;
    char id[XR_ID_TEXT_MAX];

    (void)state;
    ta_spec(T, &s);
    s.dss = true;
    s.ts = AF_TS_BATCH;
    s.signer = &T->provider;
    s.message = (const uint8_t *)rest_response;
    s.message_len = sizeof(rest_response) - 1;
    s.nattach = 1;
    s.attach[0] = att2;
    s.attach_len[0] = sizeof(att2) - 1;
    ta_forge(T, &s, &c, &n);
    XRT_ASSERT_OK(ta_verify_bytes(T, c, n, &r, &err), err);
    assert_true(xr_asic_result_is_rest(r));
    assert_null(xr_asic_result_header(r));
    assert_int_equal(xr_asic_result_message_type(r), XR_ASIC_MSG_RESPONSE);
    assert_string_equal(xr_asic_result_message_id(r), "FI-TEST-rest-1");
    xr_id_format(xr_asic_result_signer(r), false, id, sizeof(id));
    assert_string_equal(id, "FI-TEST/GOV/0245437-2/VTJkysely");
    xr_asic_result_free(r);
    free(c);
    /* The REST body left out (body logging off): a configuration error. */
    s.attach_absent = true;
    TA_EXPECT(T, &s, "message_body_not_logged");
}

static void test_valid_ecdsa(void **state)
{
    struct ta *e = ta_new(0);
    struct af_spec s;

    (void)state;
    ta_spec(e, &s);
    TA_EXPECT(e, &s, "");
    s.ts = AF_TS_BATCH;
    s.dss = true;
    TA_EXPECT(e, &s, "");
    ta_free(e);
}

/* ------------------------------------------------------------------ */
/* Tampering: one check each                                           */

/* Sign s, replace `from` by `to` in signatures.xml, zip. */
static void expect_sig_edit(const struct af_spec *s, const char *from,
                            const char *to, const char *reason)
{
    struct af_signed sg;
    uint8_t *edited, *c = NULL;
    size_t el = 0, n = 0;

    assert_int_equal(af_sign(&T->trust, s, &sg), 0);
    edited = af_replace((const uint8_t *)sg.signatures, sg.signatures_len, from,
                        to, &el);
    if (!edited)
        fail_msg("'%s' not found in signatures.xml", from);
    free(sg.signatures);
    sg.signatures = (char *)edited;
    sg.signatures_len = el;
    assert_int_equal(af_zip_container(s, &sg, NULL, 0, &c, &n), 0);
    TA_EXPECT_BYTES(T, c, n, reason);
    free(c);
    af_signed_cleanup(&sg);
}

static void test_message_byte_changed(void **state)
{
    struct af_spec s;
    struct af_signed sg;
    uint8_t *c = NULL, *other;
    size_t n = 0, ol = 0;

    (void)state;
    ta_spec(T, &s);
    assert_int_equal(af_sign(&T->trust, &s, &sg), 0);
    other =
        af_replace(s.message, s.message_len, "010101-123N", "010101-123M", &ol);
    assert_non_null(other);
    s.message = other;
    s.message_len = ol;
    assert_int_equal(af_zip_container(&s, &sg, NULL, 0, &c, &n), 0);
    TA_EXPECT_BYTES(T, c, n, "invalid_signature_value");
    free(c);
    af_signed_cleanup(&sg);
    free(other);
}

static void test_signature_edited(void **state)
{
    struct af_spec s;

    (void)state;
    ta_spec(T, &s);
    /* SigningTime inside SignedProperties (ends in .000Z). */
    expect_sig_edit(&s, ".000Z</xades:SigningTime>",
                    ".001Z</xades:SigningTime>", "invalid_signature_value");
    /* The signature value itself: a single time-stamp would not match
     * first, so stamp in a batch (over signatures.xml as stored). */
    s.ts = AF_TS_NONE;
    s.no_ocsp = false;
    {
        struct af_signed sg;
        struct af_batch b;
        const char *sigs[1];
        size_t lens[1], el = 0, n = 0;
        uint8_t *edited, *c = NULL;
        char *p, *q;
        assert_int_equal(af_sign(&T->trust, &s, &sg), 0);
        p = strstr(sg.signatures, "<ds:SignatureValue");
        assert_non_null(p);
        q = strchr(p, '>') + 1;
        edited = (uint8_t *)strdup(sg.signatures);
        el = sg.signatures_len;
        edited[q - sg.signatures] = *q == 'A' ? 'B' : 'A';
        free(sg.signatures);
        sg.signatures = (char *)edited;
        sg.signatures_len = el;
        sigs[0] = sg.signatures;
        lens[0] = el;
        s.ts = AF_TS_BATCH;
        assert_int_equal(
            af_batch_stamp(&T->trust, NULL, sigs, lens, 1, T->now, &b), 0);
        assert_int_equal(af_zip_container(&s, &sg, &b, 0, &c, &n), 0);
        TA_EXPECT_BYTES(T, c, n, "invalid_signature_value");
        free(c);
        af_batch_cleanup(&b);
        af_signed_cleanup(&sg);
    }
}

static void test_wrong_signer(void **state)
{
    struct af_spec s;

    (void)state;
    ta_spec(T, &s);
    s.signer = &T->provider; /* a request must be signed by the client */
    TA_EXPECT(T, &s, "incorrect_certificate");
}

static void test_not_signing_certificate(void **state)
{
    struct af_party p;
    struct af_spec s;

    (void)state;
    assert_int_equal(af_issue(&T->trust.ca, AF_CERT_SIGN_NOKU, TA_INST, "MUN",
                              "0101263-6", T->now - 86400, T->now + 86400, 0,
                              &p),
                     0);
    ta_spec(T, &s);
    s.signer = &p;
    TA_EXPECT(T, &s, "not_signing_certificate");
    af_party_cleanup(&p);
}

static void test_certificate_not_valid_at_ts(void **state)
{
    struct af_party p;
    struct af_spec s;
    uint8_t *c = NULL;
    size_t n = 0;
    struct xr_asic_result *r = NULL;
    struct xr_error err;

    (void)state;
    /* Valid for one hour, two days ago. */
    assert_int_equal(af_issue(&T->trust.ca, AF_CERT_SIGN, TA_INST, "MUN",
                              "0101263-6", T->now - 2 * 86400,
                              T->now - 2 * 86400 + 3600, 0, &p),
                     0);
    ta_spec(T, &s);
    s.signer = &p;
    /* Expired at the time-stamp time. */
    ta_forge(T, &s, &c, &n);
    XRT_ASSERT_REASON(ta_verify_bytes(T, c, n, &r, &err), err,
                      "invalid_cert_path");
    assert_non_null(strstr(err.msg, "expired"));
    xr_asic_result_free(r);
    free(c);
    /* Not yet valid at the time-stamp time. */
    s.ts_time = T->now - 3 * 86400;
    s.ocsp.this_update = s.ts_time - 60;
    ta_forge(T, &s, &c, &n);
    XRT_ASSERT_REASON(ta_verify_bytes(T, c, n, &r, &err), err,
                      "invalid_cert_path");
    assert_non_null(strstr(err.msg, "not yet valid"));
    xr_asic_result_free(r);
    free(c);
    /* Inside its validity the same certificate is fine. */
    s.ts_time = T->now - 2 * 86400 + 60;
    s.ocsp.this_update = s.ts_time - 60;
    TA_EXPECT(T, &s, "");
    af_party_cleanup(&p);
}

static void test_unknown_ca(void **state)
{
    struct af_trust other;
    struct af_party p;
    struct af_spec s;

    (void)state;
    assert_int_equal(
        af_trust_init(&other, TA_INST, T->now - 86400, T->now + 86400, 0), 0);
    assert_int_equal(af_issue(&other.ca, AF_CERT_SIGN, TA_INST, "MUN",
                              "0101263-6", T->now - 86400, T->now + 86400, 0,
                              &p),
                     0);
    ta_spec(T, &s);
    s.signer = &p;
    TA_EXPECT(T, &s, "cannot_create_cert_path");
    af_party_cleanup(&p);
    af_trust_cleanup(&other);
}

static void test_ocsp_checks(void **state)
{
    struct af_spec s;
    struct af_party plain;

    (void)state;
    ta_spec(T, &s);
    s.ocsp.status = V_OCSP_CERTSTATUS_REVOKED;
    s.ocsp.revoked_at = T->now - 3600;
    TA_EXPECT(T, &s, "cert_revoked");
    s.ocsp.status = V_OCSP_CERTSTATUS_UNKNOWN;
    TA_EXPECT(T, &s, "cert_status_unknown");
    ta_spec(T, &s);
    /* ocspFreshnessSeconds is 3600: one second too old. */
    s.ocsp.this_update = s.ts_time - 3601;
    TA_EXPECT(T, &s, "ocsp_too_old");
    s.ocsp.this_update = s.ts_time - 3600;
    TA_EXPECT(T, &s, "");
    /* A thisUpdate after the time-stamp is allowed (X-Road). */
    s.ocsp.this_update = s.ts_time + 120;
    TA_EXPECT(T, &s, "");
    s.ocsp.this_update = s.ts_time - 60;
    s.ocsp.next_update = s.ts_time - 1;
    TA_EXPECT(T, &s, "ocsp_next_update_expired");
    s.ocsp.next_update = s.ts_time + 3600;
    TA_EXPECT(T, &s, "");
    /* A responder the CA issued but did not authorise (no EKU). */
    assert_int_equal(af_issue(&T->trust.ca, AF_CERT_PLAIN, NULL, NULL,
                              "Rogue OCSP", T->now - 86400, T->now + 86400, 0,
                              &plain),
                     0);
    ta_spec(T, &s);
    s.ocsp.responder = &plain;
    TA_EXPECT(T, &s, "ocsp_unauthorized_responder");
    /* ... and without its certificate it cannot even be found. */
    s.ocsp.no_certs = true;
    TA_EXPECT(T, &s, "ocsp_responder_not_found");
    af_party_cleanup(&plain);
    /* ResponderID by key hash works too. */
    ta_spec(T, &s);
    s.ocsp.by_key = true;
    TA_EXPECT(T, &s, "");
    /* No response, or a response about another certificate. */
    ta_spec(T, &s);
    s.no_ocsp = true;
    TA_EXPECT(T, &s, "ocsp_not_found");
    s.no_ocsp = false;
    s.ocsp_for = &T->provider;
    TA_EXPECT(T, &s, "ocsp_not_found");
}

static void test_timestamp_checks(void **state)
{
    struct af_spec s;
    struct af_trust other;
    static const uint8_t other_data[] = "something else";

    (void)state;
    ta_spec(T, &s);
    s.ts_data = other_data;
    s.ts_data_len = sizeof(other_data) - 1;
    TA_EXPECT(T, &s, "timestamp_hash_mismatch");
    ta_spec(T, &s);
    s.ts = AF_TS_NONE;
    TA_EXPECT(T, &s, "timestamp_not_found");
    /* A TSA of another PKI (trusted nowhere here). */
    assert_int_equal(
        af_trust_init(&other, TA_INST, T->now - 86400, T->now + 86400, 0), 0);
    ta_spec(T, &s);
    s.tsa = &other.tsa;
    TA_EXPECT(T, &s, "timestamp_signer_not_found");
    s.ts = AF_TS_BATCH;
    TA_EXPECT(T, &s, "timestamp_signer_not_found");
    af_trust_cleanup(&other);
}

/* A token whose signature bytes were changed: timestamp_validation. */
static void test_timestamp_signature(void **state)
{
    struct af_spec s;
    struct af_signed sg;
    struct af_batch b;
    const char *sigs[1];
    size_t lens[1], n = 0;
    uint8_t *c = NULL;

    (void)state;
    ta_spec(T, &s);
    s.ts = AF_TS_BATCH;
    assert_int_equal(af_sign(&T->trust, &s, &sg), 0);
    sigs[0] = sg.signatures;
    lens[0] = sg.signatures_len;
    assert_int_equal(af_batch_stamp(&T->trust, NULL, sigs, lens, 1, T->now, &b),
                     0);
    /* The CMS signature value is the last element of the token. */
    b.token[b.token_len - 1] ^= 0x01;
    assert_int_equal(af_zip_container(&s, &sg, &b, 0, &c, &n), 0);
    TA_EXPECT_BYTES(T, c, n, "timestamp_validation");
    free(c);
    af_batch_cleanup(&b);
    af_signed_cleanup(&sg);
}

static void test_hash_chains_broken(void **state)
{
    struct af_spec s;
    struct af_signed sg;
    uint8_t *c = NULL, *other;
    size_t n = 0, ol = 0;
    char *hc;

    (void)state;
    ta_spec(T, &s);
    with_attachments(&s);
    s.hashchain = true;
    /* message.xml changed: its DataRef no longer matches. */
    assert_int_equal(af_sign(&T->trust, &s, &sg), 0);
    other = af_replace(s.message, s.message_len, "msg-1", "msg-2", &ol);
    {
        struct af_spec z = s;
        z.message = other;
        z.message_len = ol;
        assert_int_equal(af_zip_container(&z, &sg, NULL, 0, &c, &n), 0);
    }
    TA_EXPECT_BYTES(T, c, n, "invalid_hash_chain_ref");
    free(c);
    free(other);
    /* A DataRef to a different name: /message.xml is not covered. */
    hc = (char *)af_replace((const uint8_t *)sg.hc, strlen(sg.hc),
                            "URI=\"/message.xml\"", "URI=\"/messageX.xml\"",
                            &ol);
    assert_non_null(hc);
    free(sg.hc);
    sg.hc = hc;
    assert_int_equal(af_zip_container(&s, &sg, NULL, 0, &c, &n), 0);
    TA_EXPECT_BYTES(T, c, n, "hash_chain_unused_inputs");
    free(c);
    af_signed_cleanup(&sg);
    /* An absent attachment's listed digest changed: the result differs. */
    s.attach_absent = true;
    assert_int_equal(af_sign(&T->trust, &s, &sg), 0);
    {
        char *p = strstr(sg.hc, "/attachment1");
        p = strstr(p, "<DigestValue>") + strlen("<DigestValue>");
        *p = *p == 'A' ? 'B' : 'A';
    }
    assert_int_equal(af_zip_container(&s, &sg, NULL, 0, &c, &n), 0);
    TA_EXPECT_BYTES(T, c, n, "invalid_hash_chain");
    free(c);
    af_signed_cleanup(&sg);
}

static void test_batch_chain_and_manifest(void **state)
{
    struct af_spec s;
    struct af_signed sg;
    struct af_batch b;
    const char *sigs[2];
    size_t lens[2], n = 0;
    uint8_t *c = NULL;
    char *msg2 = af_soap_message(TA_CLIENT, TA_SERVICE, "m2", false, "<a/>");
    struct af_spec s2;
    struct af_signed sg2;

    (void)state;
    ta_spec(T, &s);
    s.ts = AF_TS_BATCH;
    ta_spec(T, &s2);
    s2.message = (const uint8_t *)msg2;
    s2.message_len = strlen(msg2);
    assert_int_equal(af_sign(&T->trust, &s, &sg), 0);
    assert_int_equal(af_sign(&T->trust, &s2, &sg2), 0);
    sigs[0] = sg.signatures;
    lens[0] = sg.signatures_len;
    sigs[1] = sg2.signatures;
    lens[1] = sg2.signatures_len;
    assert_int_equal(af_batch_stamp(&T->trust, NULL, sigs, lens, 2, T->now, &b),
                     0);
    /* The sibling's HashValue changed: the chain no longer leads there. */
    {
        char *p = strstr(b.chains[0], "<ns2:HashValue><DigestValue>");
        assert_non_null(p);
        p += strlen("<ns2:HashValue><DigestValue>");
        *p = *p == 'A' ? 'B' : 'A';
    }
    assert_int_equal(af_zip_container(&s, &sg, &b, 0, &c, &n), 0);
    TA_EXPECT_BYTES(T, c, n, "timestamp_hash_chain_invalid");
    free(c);
    af_batch_cleanup(&b);
    af_signed_cleanup(&sg);
    af_signed_cleanup(&sg2);
    free(msg2);
}

static void test_reference_lockdown(void **state)
{
    struct af_spec s;

    (void)state;
    ta_spec(T, &s);
    s.extra_ref = "file:///etc/hostname";
    TA_EXPECT(T, &s, "invalid_reference");
    s.extra_ref = "http://127.0.0.1:9/x";
    TA_EXPECT(T, &s, "invalid_reference");
    s.extra_ref = "/META-INF/manifest.xml";
    TA_EXPECT(T, &s, "invalid_reference");
    s.extra_ref = "#xpointer(/)";
    TA_EXPECT(T, &s, "invalid_reference");
    /* A second same-document reference to something else. */
    s.extra_ref = "#signature";
    TA_EXPECT(T, &s, "malformed_signature");
    s.extra_ref = NULL;
    s.extra_transform = "http://www.w3.org/TR/1999/REC-xslt-19991116";
    TA_EXPECT(T, &s, "transform_forbidden");
    s.extra_transform = "http://www.w3.org/TR/1999/REC-xpath-19991116";
    TA_EXPECT(T, &s, "transform_forbidden");
    s.extra_transform = NULL;
    s.dup_id = true;
    TA_EXPECT(T, &s, "duplicate_id");
}

static void test_cert_digest(void **state)
{
    struct af_spec s;

    (void)state;
    ta_spec(T, &s);
    s.cert_digest_of = &T->provider;
    TA_EXPECT(T, &s, "signing_certificate_mismatch");
}

static void test_body_not_logged(void **state)
{
    struct af_spec s;
    struct af_signed sg;
    uint8_t *c = NULL;
    size_t n = 0;
    struct xr_asic_result *r = NULL;
    struct xr_error err;
    char *blanked;

    (void)state;
    /* Signed with the body, logged as a security server logs it with
     * message-body-logging=false: an empty xrd:<serviceCode> wrapper. */
    blanked = af_soap_message(TA_CLIENT, TA_SERVICE, "msg-1", false, "");
    assert_non_null(blanked);
    {
        size_t bl = 0;
        uint8_t *x = af_replace(
            (const uint8_t *)blanked, strlen(blanked),
            "<svc:HenkilonTunnusKysely xmlns:svc=\"http://example.test/svc\">"
            "</svc:HenkilonTunnusKysely>",
            "<xrd:HenkilonTunnusKysely/>", &bl);
        assert_non_null(x);
        free(blanked);
        blanked = (char *)x;
    }
    ta_spec(T, &s);
    assert_int_equal(af_sign(&T->trust, &s, &sg), 0);
    s.message = (const uint8_t *)blanked;
    s.message_len = strlen(blanked);
    assert_int_equal(af_zip_container(&s, &sg, NULL, 0, &c, &n), 0);
    XRT_ASSERT_REASON(ta_verify_bytes(T, c, n, &r, &err), err,
                      "message_body_not_logged");
    assert_non_null(strstr(err.msg, "message-body-logging"));
    /* The message is still identified. */
    assert_string_equal(xr_asic_result_message_id(r), "msg-1");
    xr_asic_result_free(r);
    free(c);
    af_signed_cleanup(&sg);
    free(blanked);
}

/* ------------------------------------------------------------------ */
/* Cache and threads                                                   */

static void test_cache(void **state)
{
    struct xr_asic_cache *cache = NULL;
    struct af_spec s;
    struct af_party p;
    uint8_t *c1 = NULL, *c2 = NULL, *c3 = NULL;
    size_t n1 = 0, n2 = 0, n3 = 0;
    struct xr_asic_result *r = NULL;
    struct xr_error err;

    (void)state;
    XRT_ASSERT_OK(xr_asic_cache_new(&cache, &err), err);
    assert_int_equal(af_issue(&T->trust.ca, AF_CERT_SIGN, TA_INST, "MUN",
                              "0101263-6", T->now - 86400, T->now + 86400, 0,
                              &p),
                     0);
    ta_spec(T, &s);
    s.signer = &p;
    s.ts = AF_TS_BATCH;
    ta_forge(T, &s, &c1, &n1);
    /* Same certificate, OCSP response not fresh for this time. */
    s.ts_time = T->now + 7200;
    ta_forge(T, &s, &c2, &n2);
    /* Same certificate, time-stamped after it expired. */
    s.ts_time = T->now + 2 * 86400;
    s.ocsp.this_update = s.ts_time - 60;
    ta_forge(T, &s, &c3, &n3);
    for (int round = 0; round < 2; round++) {
        XRT_ASSERT_OK(xr_asic_verify(T->vc, c1, n1, NULL, cache, &r, &err),
                      err);
        xr_asic_result_free(r);
        XRT_ASSERT_REASON(xr_asic_verify(T->vc, c2, n2, NULL, cache, &r, &err),
                          err, "ocsp_too_old");
        xr_asic_result_free(r);
        XRT_ASSERT_REASON(xr_asic_verify(T->vc, c3, n3, NULL, cache, &r, &err),
                          err, "invalid_cert_path");
        xr_asic_result_free(r);
    }
    free(c1);
    free(c2);
    free(c3);
    af_party_cleanup(&p);
    xr_asic_cache_free(cache);
}

struct worker {
    const uint8_t *good, *bad;
    size_t good_len, bad_len;
    int failures;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct xr_asic_cache *cache = NULL;
    struct xr_error err;

    if (xr_asic_cache_new(&cache, &err) != XR_OK) {
        w->failures++;
        return NULL;
    }
    for (int i = 0; i < 20; i++) {
        struct xr_asic_result *r = NULL;
        if (xr_asic_verify(T->vc, w->good, w->good_len, NULL, cache, &r,
                           &err) != XR_OK)
            w->failures++;
        xr_asic_result_free(r);
        if (xr_asic_verify(T->vc, w->bad, w->bad_len, NULL, cache, &r, &err) ==
                XR_OK ||
            strcmp(err.reason, "invalid_signature_value") != 0)
            w->failures++;
        xr_asic_result_free(r);
    }
    xr_asic_cache_free(cache);
    return NULL;
}

/* The IO resolver is per thread: concurrent verifications never see
 * each other's container. */
static void test_threads(void **state)
{
    struct af_spec s;
    struct af_signed sg;
    struct worker w[4];
    pthread_t th[4];
    uint8_t *good = NULL, *bad = NULL, *other;
    size_t gl = 0, bl = 0, ol = 0;

    (void)state;
    ta_spec(T, &s);
    ta_forge(T, &s, &good, &gl);
    assert_int_equal(af_sign(&T->trust, &s, &sg), 0);
    other = af_replace(s.message, s.message_len, "msg-1", "msg-9", &ol);
    s.message = other;
    s.message_len = ol;
    assert_int_equal(af_zip_container(&s, &sg, NULL, 0, &bad, &bl), 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){good, bad, gl, bl, 0};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    free(good);
    free(bad);
    free(other);
    af_signed_cleanup(&sg);
}

static void test_bad_arguments(void **state)
{
    struct xr_asic_result *r = (struct xr_asic_result *)1;
    struct xr_error err;

    (void)state;
    XRT_ASSERT_REASON(
        xr_asic_verify(NULL, (const uint8_t *)"x", 1, NULL, NULL, &r, &err),
        err, "invalid_argument");
    assert_null(r);
    XRT_ASSERT_REASON(xr_asic_cache_new(NULL, &err), err, "invalid_argument");
    xr_asic_result_free(NULL);
    xr_asic_cache_free(NULL);
    xr_vconf_free(NULL);
    xr_asic_bundle_free(NULL);
    /* An empty buffer is simply not a container. */
    XRT_ASSERT_REASON(xr_asic_verify(T->vc, NULL, 0, NULL, NULL, &r, &err), err,
                      "asic_not_container");
    xr_asic_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_single_ts),
        cmocka_unit_test(test_valid_response),
        cmocka_unit_test(test_valid_batch_ts),
        cmocka_unit_test(test_valid_hashchain_attachments),
        cmocka_unit_test(test_valid_non_batch_attachments),
        cmocka_unit_test(test_valid_dss_rest),
        cmocka_unit_test(test_valid_ecdsa),
        cmocka_unit_test(test_message_byte_changed),
        cmocka_unit_test(test_signature_edited),
        cmocka_unit_test(test_wrong_signer),
        cmocka_unit_test(test_not_signing_certificate),
        cmocka_unit_test(test_certificate_not_valid_at_ts),
        cmocka_unit_test(test_unknown_ca),
        cmocka_unit_test(test_ocsp_checks),
        cmocka_unit_test(test_timestamp_checks),
        cmocka_unit_test(test_timestamp_signature),
        cmocka_unit_test(test_hash_chains_broken),
        cmocka_unit_test(test_batch_chain_and_manifest),
        cmocka_unit_test(test_reference_lockdown),
        cmocka_unit_test(test_cert_digest),
        cmocka_unit_test(test_body_not_logged),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_bad_arguments),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("asic", tests, group_setup,
                                       group_teardown);
}

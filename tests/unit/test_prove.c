/*
 * Unit tests for the judgement of adapter/prove.h (adp_prove_judge):
 * every verdict from plain facts, in the order the checks run, and the
 * JSON shape the CLI and the API print.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "prove.h"

static const char req_msg[] = "<request/>";
static const char resp_msg[] = "<response/>";

struct fixture {
    struct xr_id client, provider, other;
    uint8_t req_sha[ADP_AUDIT_SHA512_LEN], resp_sha[ADP_AUDIT_SHA512_LEN];
    struct adp_prove_input in;
};

static void sha512(const char *s, uint8_t *out)
{
    unsigned n = 0;

    assert_true(EVP_Digest(s, strlen(s), out, &n, EVP_sha512(), NULL));
    assert_int_equal(n, ADP_AUDIT_SHA512_LEN);
}

static void id(const char *text, struct xr_id *out)
{
    struct xr_error err;

    assert_int_equal(xr_id_parse_client(text, out, &err), XR_OK);
}

/* Everything proven; each test breaks one fact. */
static void setup(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    id("SUBSYSTEM:FI/MUN/0101263-6/vayla", &f->client);
    id("SUBSYSTEM:FI/GOV/0245437-2/VTJkysely", &f->provider);
    id("SUBSYSTEM:FI/GOV/0245437-2/other", &f->other);
    sha512(req_msg, f->req_sha);
    sha512(resp_msg, f->resp_sha);
    f->in.in_audit = true;
    f->in.request_sha512 = f->req_sha;
    f->in.response_sha512 = f->resp_sha;
    f->in.client = &f->client;
    f->in.provider = &f->provider;
    f->in.req = (struct adp_prove_evidence){
        ADP_FETCH_OK,   "", true, "", "", &f->client, (const uint8_t *)req_msg,
        strlen(req_msg)};
    f->in.resp = (struct adp_prove_evidence){ADP_FETCH_OK,
                                             "",
                                             true,
                                             "",
                                             "",
                                             &f->provider,
                                             (const uint8_t *)resp_msg,
                                             strlen(resp_msg)};
}

static enum adp_prove_verdict judge(const struct fixture *f,
                                    struct adp_prove_result *r)
{
    adp_prove_judge(&f->in, r);
    return r->verdict;
}

static void test_proven(void **state)
{
    struct fixture f;
    struct adp_prove_result r;

    (void)state;
    setup(&f);
    assert_int_equal(judge(&f, &r), ADP_PROVE_PROVEN);
    assert_true(r.req.digest_match && r.resp.digest_match);
    assert_true(r.req.signer_ok && r.resp.signer_ok);
    assert_string_equal(r.hint, "");
}

static void test_audit_side(void **state)
{
    struct fixture f;
    struct adp_prove_result r;

    (void)state;
    setup(&f);
    f.in.in_audit = false;
    assert_int_equal(judge(&f, &r), ADP_PROVE_NOT_IN_AUDIT);
    setup(&f);
    f.in.response_sha512 = NULL;
    assert_int_equal(judge(&f, &r), ADP_PROVE_NO_RESPONSE_IN_AUDIT);
    assert_false(r.req.checked);
}

static void test_downloads(void **state)
{
    struct fixture f;
    struct adp_prove_result r;

    (void)state;
    setup(&f);
    f.in.resp.fetch = ADP_FETCH_NOT_FOUND;
    assert_int_equal(judge(&f, &r), ADP_PROVE_MISSING_CONTAINER);
    assert_non_null(strstr(r.detail, "response"));
    setup(&f);
    f.in.req.fetch = ADP_FETCH_NOT_TIMESTAMPED;
    assert_int_equal(judge(&f, &r), ADP_PROVE_NOT_TIMESTAMPED);
    setup(&f);
    f.in.req.fetch = ADP_FETCH_DENIED;
    f.in.req.fetch_msg = "not allowed";
    assert_int_equal(judge(&f, &r), ADP_PROVE_FETCH_FAILED);
    assert_string_equal(r.code, "not_allowed");
}

static void test_containers(void **state)
{
    struct fixture f;
    struct adp_prove_result r;

    (void)state;
    setup(&f);
    f.in.resp.valid = false;
    f.in.resp.code = "ocsp_too_old";
    assert_int_equal(judge(&f, &r), ADP_PROVE_INVALID_CONTAINER);
    assert_string_equal(r.code, "ocsp_too_old");
    assert_true(r.req.valid && !r.resp.valid);
    setup(&f);
    f.in.req.signer = &f.other;
    assert_int_equal(judge(&f, &r), ADP_PROVE_WRONG_SIGNER);
    setup(&f);
    f.in.resp.signer = &f.client; /* the response must be the provider's */
    assert_int_equal(judge(&f, &r), ADP_PROVE_WRONG_SIGNER);
    assert_non_null(strstr(r.detail, "response"));
    setup(&f);
    f.in.req.signer = NULL;
    assert_int_equal(judge(&f, &r), ADP_PROVE_WRONG_SIGNER);
}

static void test_differs(void **state)
{
    struct fixture f;
    struct adp_prove_result r;
    uint8_t zero[ADP_AUDIT_SHA512_LEN] = {0};

    (void)state;
    setup(&f);
    f.in.request_sha512 = zero;
    assert_int_equal(judge(&f, &r), ADP_PROVE_REQUEST_DIFFERS);
    assert_string_equal(r.code, "digest_mismatch");
    assert_string_equal(r.hint, "");
    setup(&f);
    f.in.response_sha512 = zero;
    assert_int_equal(judge(&f, &r), ADP_PROVE_RESPONSE_DIFFERS);
    assert_true(r.req.digest_match && !r.resp.digest_match);
    /* Logged without the body: differs, with what to change. */
    setup(&f);
    f.in.resp.valid = false;
    f.in.resp.code = "message_body_not_logged";
    assert_int_equal(judge(&f, &r), ADP_PROVE_RESPONSE_DIFFERS);
    assert_string_equal(r.code, "message_body_not_logged");
    assert_non_null(strstr(r.hint, "message-body-logging"));
}

static void test_json(void **state)
{
    struct fixture f;
    struct adp_prove_result r;
    json_t *o;

    (void)state;
    setup(&f);
    f.in.response_sha512 = NULL;
    judge(&f, &r);
    o = adp_prove_json("id-1", &r);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "verdict")),
                        "no_response_in_audit");
    assert_true(json_is_false(json_object_get(o, "proven")));
    assert_true(json_is_null(json_object_get(o, "request")));
    assert_true(json_is_null(json_object_get(o, "hint")));
    json_decref(o);
    for (unsigned v = 0; v < ADP_PROVE_VERDICTS; v++)
        assert_non_null(adp_prove_verdict_name(v));
    assert_string_equal(adp_prove_verdict_name(ADP_PROVE_PROVEN), "proven");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proven),    cmocka_unit_test(test_audit_side),
        cmocka_unit_test(test_downloads), cmocka_unit_test(test_containers),
        cmocka_unit_test(test_differs),   cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

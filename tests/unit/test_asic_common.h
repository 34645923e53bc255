/*
 * Shared fixture of the container tests: a test PKI made at run time
 * (asic_forge), its verification configuration loaded into libxroad,
 * signing certificates for the usual cases, and helpers that forge a
 * container from a spec and verify it.
 */
#ifndef XR_TEST_ASIC_COMMON_H
#define XR_TEST_ASIC_COMMON_H

#include <time.h>

#include <openssl/ocsp.h>

#include "asic_forge.h"
#include "test_helpers.h"

#define TA_INST     "FI-TEST"
#define TA_CLIENT   "FI-TEST/MUN/0101263-6/vayla-demo"
#define TA_PROVIDER "FI-TEST/GOV/0245437-2"
#define TA_SERVICE  "FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely"

struct ta {
    int64_t now;
    struct af_trust trust;
    struct af_party client;   /* signs requests: MUN/0101263-6 */
    struct af_party provider; /* signs responses: GOV/0245437-2 */
    struct xr_vconf *vc;
    char *request;  /* SOAP request from TA_CLIENT */
    char *response; /* SOAP response */
};

static inline struct ta *ta_new(int rsa_bits)
{
    struct ta *t = calloc(1, sizeof(*t));
    struct xr_error err;
    uint8_t *z = NULL;
    size_t zl = 0;

    assert_non_null(t);
    t->now = (int64_t)time(NULL);
    assert_int_equal(af_trust_init(&t->trust, TA_INST, t->now - 86400 * 30,
                                   t->now + 86400 * 3650, rsa_bits),
                     0);
    assert_int_equal(af_issue(&t->trust.ca, AF_CERT_SIGN, TA_INST, "MUN",
                              "0101263-6", t->now - 86400, t->now + 86400 * 365,
                              rsa_bits, &t->client),
                     0);
    assert_int_equal(af_issue(&t->trust.ca, AF_CERT_SIGN, TA_INST, "GOV",
                              "0245437-2", t->now - 86400, t->now + 86400 * 365,
                              rsa_bits, &t->provider),
                     0);
    assert_int_equal(af_vconf_zip(&t->trust, &z, &zl), 0);
    XRT_ASSERT_OK(xr_vconf_load_zip(z, zl, &t->vc, &err), err);
    free(z);
    t->request = af_soap_message(TA_CLIENT, TA_SERVICE, "msg-1", false,
                                 "<svc:hetu>010101-123N</svc:hetu>");
    t->response = af_soap_message(TA_CLIENT, TA_SERVICE, "msg-1", true,
                                  "<svc:name>Test Person</svc:name>");
    assert_non_null(t->request);
    assert_non_null(t->response);
    return t;
}

static inline void ta_free(struct ta *t)
{
    if (!t)
        return;
    af_party_cleanup(&t->client);
    af_party_cleanup(&t->provider);
    af_trust_cleanup(&t->trust);
    xr_vconf_free(t->vc);
    free(t->request);
    free(t->response);
    free(t);
}

/* A request signed by the client, single time-stamp, OCSP good. */
static inline void ta_spec(const struct ta *t, struct af_spec *s)
{
    af_spec_init(s, &t->client, t->now);
    s->message = (const uint8_t *)t->request;
    s->message_len = strlen(t->request);
}

static inline void ta_forge(const struct ta *t, const struct af_spec *s,
                            uint8_t **out, size_t *len)
{
    if (af_container(&t->trust, s, out, len) != 0)
        fail_msg("asic_forge could not make the container");
}

/* Verify bytes; returns the status, *r the result (caller frees). */
static inline enum xr_status ta_verify_bytes(const struct ta *t,
                                             const uint8_t *b, size_t n,
                                             struct xr_asic_result **r,
                                             struct xr_error *err)
{
    enum xr_status st;

    xr_error_clear(err);
    *r = NULL;
    st = xr_asic_verify(t->vc, b, n, NULL, NULL, r, err);
    assert_non_null(*r);
    assert_int_equal(xr_asic_result_valid(*r), st == XR_OK);
    if (st != XR_OK)
        assert_string_equal(xr_asic_result_error(*r)->reason, err->reason);
    return st;
}

/* Forge from spec and expect `reason` ("" = valid). */
#define TA_EXPECT(t, spec, reason) \
    ta_expect_at((t), (spec), (reason), __FILE__, __LINE__)

static inline void ta_expect_at(const struct ta *t, const struct af_spec *s,
                                const char *reason, const char *file, int line)
{
    uint8_t *c = NULL;
    size_t n = 0;
    struct xr_asic_result *r = NULL;
    struct xr_error err;
    enum xr_status st;

    ta_forge(t, s, &c, &n);
    st = ta_verify_bytes(t, c, n, &r, &err);
    if (!reason[0])
        xrt_assert_ok_at(st, &err, file, line);
    else
        xrt_assert_reason_at(st, &err, reason, file, line);
    xr_asic_result_free(r);
    free(c);
}

/* Verify bytes and expect `reason` ("" = valid). */
#define TA_EXPECT_BYTES(t, b, n, reason) \
    ta_expect_bytes_at((t), (b), (n), (reason), __FILE__, __LINE__)

static inline void ta_expect_bytes_at(const struct ta *t, const uint8_t *b,
                                      size_t n, const char *reason,
                                      const char *file, int line)
{
    struct xr_asic_result *r = NULL;
    struct xr_error err;
    enum xr_status st = ta_verify_bytes(t, b, n, &r, &err);

    if (!reason[0])
        xrt_assert_ok_at(st, &err, file, line);
    else
        xrt_assert_reason_at(st, &err, reason, file, line);
    xr_asic_result_free(r);
}

#endif

/*
 * RFC 3161 time-stamp tokens (see tsp.h).
 */
#include <string.h>

#include "acache.h"
#include "tsp.h"
#include "vutil.h"

void xr__tst_cleanup(struct xr__tst *t)
{
    if (!t)
        return;
    TS_TST_INFO_free(t->info);
    if (t->p7_owned)
        PKCS7_free(t->p7);
    memset(t, 0, sizeof(*t));
}

enum xr_status xr__tst_parse(const uint8_t *der, size_t len,
                             struct xr_asic_cache *cache, struct xr__tst *t,
                             struct xr_error *err)
{
    const ASN1_GENERALIZEDTIME *gt;

    memset(t, 0, sizeof(*t));
    if (len == 0 || len > (size_t)INT32_MAX)
        return xr_error_set(err, XR_EPARSE, "timestamp_malformed", "",
                            "the time-stamp token is empty or too large");
    t->p7 = xr__acache_p7(cache, der, len, &t->p7_owned);
    if (!t->p7 || !PKCS7_type_is_signed(t->p7)) {
        ERR_clear_error();
        return xr_error_set(err, XR_EPARSE, "timestamp_malformed", "",
                            "the time-stamp token is not a signed CMS "
                            "ContentInfo");
    }
    t->info = PKCS7_to_TS_TST_INFO(t->p7);
    if (!t->info) {
        ERR_clear_error();
        return xr_error_set(err, XR_EPARSE, "timestamp_malformed", "",
                            "the time-stamp token holds no TSTInfo");
    }
    gt = TS_TST_INFO_get_time(t->info);
    if (!gt || !xr__asn1_time_unix(gt, &t->gen_time))
        return xr_error_set(err, XR_EPARSE, "timestamp_malformed", "",
                            "the time-stamp genTime cannot be read");
    return XR_OK;
}

enum xr_status xr__tst_check_imprint(const struct xr__tst *t,
                                     const uint8_t *data, size_t len,
                                     struct xr_error *err)
{
    TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(t->info);
    X509_ALGOR *alg = mi ? TS_MSG_IMPRINT_get_algo(mi) : NULL;
    ASN1_OCTET_STRING *want = mi ? TS_MSG_IMPRINT_get_msg(mi) : NULL;
    const ASN1_OBJECT *obj = NULL;
    const EVP_MD *md = NULL;
    uint8_t got[EVP_MAX_MD_SIZE];
    unsigned glen = 0;

    if (alg)
        X509_ALGOR_get0(&obj, NULL, NULL, alg);
    switch (obj ? OBJ_obj2nid(obj) : NID_undef) {
    case NID_sha256:
        md = EVP_sha256();
        break;
    case NID_sha384:
        md = EVP_sha384();
        break;
    case NID_sha512:
        md = EVP_sha512();
        break;
    default:
        break;
    }
    if (!md || !want)
        return xr_error_set(err, XR_EPROTO, "timestamp_malformed", "",
                            "the time-stamp uses an unsupported hash "
                            "algorithm");
    if (!xr__digest(md, data, len, got, &glen))
        return xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                            "digest failed");
    if ((int)glen != ASN1_STRING_length(want) ||
        CRYPTO_memcmp(got, ASN1_STRING_get0_data(want), glen) != 0)
        return xr_error_set(err, XR_ESIG, "timestamp_hash_mismatch", "",
                            "time-stamp hashes do not match: the "
                            "time-stamp covers other data");
    return XR_OK;
}

enum xr_status xr__tst_find_signer(struct xr__tst *t, X509 *const *tsas,
                                   size_t ntsas, struct xr_error *err)
{
    STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_get_signer_info(t->p7);
    PKCS7_SIGNER_INFO *si;

    if (!sis || sk_PKCS7_SIGNER_INFO_num(sis) != 1)
        return xr_error_set(err, XR_EPROTO, "timestamp_malformed", "",
                            "the time-stamp token must have one signer");
    si = sk_PKCS7_SIGNER_INFO_value(sis, 0);
    if (!si || !si->issuer_and_serial)
        return xr_error_set(err, XR_EPROTO, "timestamp_malformed", "",
                            "the time-stamp signer is not named");
    for (size_t i = 0; i < ntsas; i++) {
        if (X509_NAME_cmp(X509_get_issuer_name(tsas[i]),
                          si->issuer_and_serial->issuer) == 0 &&
            ASN1_INTEGER_cmp(X509_get0_serialNumber(tsas[i]),
                             si->issuer_and_serial->serial) == 0) {
            t->tsa = tsas[i];
            return XR_OK;
        }
    }
    return xr_error_set(err, XR_ECERT, "timestamp_signer_not_found", "",
                        "the time-stamp was not signed by an approved TSA "
                        "of the verification configuration");
}

enum xr_status xr__tst_verify_signature(const struct xr__tst *t,
                                        struct xr_error *err)
{
    TS_VERIFY_CTX *ctx = NULL;
    X509_STORE *store = NULL;
    STACK_OF(X509) *certs = NULL;
    enum xr_status rc;
    unsigned long e;

    ctx = TS_VERIFY_CTX_new();
    store = X509_STORE_new();
    certs = sk_X509_new_null();
    if (!ctx || !store || !certs || X509_STORE_add_cert(store, t->tsa) != 1 ||
        X509_up_ref(t->tsa) != 1) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "cannot set up the time-stamp check");
        goto out;
    }
    if (sk_X509_push(certs, t->tsa) <= 0) {
        X509_free(t->tsa); /* the reference taken above */
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "cannot set up the time-stamp check");
        goto out;
    }
    /*
     * The approved TSA certificate is the trust anchor itself (X-Road does
     * no chain building for TSAs), checked at genTime.
     */
    X509_VERIFY_PARAM_set_flags(X509_STORE_get0_param(store),
                                X509_V_FLAG_PARTIAL_CHAIN);
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store),
                               (time_t)t->gen_time);
    TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_SIGNATURE);
    /* Both setters take ownership (OpenSSL 3.0; set0 in 3.4). */
    TS_VERIFY_CTX_set_store(ctx, store);
    store = NULL;
    TS_VERIFY_CTX_set_certs(ctx, certs);
    certs = NULL;
    if (TS_RESP_verify_token(ctx, t->p7) != 1) {
        char why[120];
        e = ERR_peek_last_error();
        ERR_error_string_n(e, why, sizeof(why));
        rc = xr_error_set(err, XR_ECERT, "timestamp_validation", "",
                          "the time-stamp signature does not verify with "
                          "the approved TSA certificate (%s)",
                          why);
        if (err)
            err->ssl_err = e;
        goto out;
    }
    rc = XR_OK;
out:
    ERR_clear_error();
    sk_X509_pop_free(certs, X509_free);
    X509_STORE_free(store);
    TS_VERIFY_CTX_free(ctx);
    return rc;
}

/*
 * API caller authentication, authorisation and rate limiting.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <xroad/xroad.h>

#include "caller.h"
#include "util.h"

void adp_rate_init(struct adp_rate *r, double per_second, double burst)
{
    pthread_mutex_init(&r->lock, NULL);
    r->per_second = per_second > 0 ? per_second : 0;
    r->burst = burst > 0 ? burst : (per_second > 1 ? per_second : 1);
    r->tokens = r->burst;
    r->last_us = adp_mono_us();
}

void adp_rate_cleanup(struct adp_rate *r)
{
    pthread_mutex_destroy(&r->lock);
}

bool adp_rate_take(struct adp_rate *r, unsigned *retry_after_s)
{
    bool ok;
    int64_t t;

    if (r->per_second <= 0)
        return true;
    t = adp_mono_us();
    pthread_mutex_lock(&r->lock);
    r->tokens += (double)(t - r->last_us) * r->per_second / 1e6;
    if (r->tokens > r->burst)
        r->tokens = r->burst;
    r->last_us = t;
    ok = r->tokens >= 1.0;
    if (ok) {
        r->tokens -= 1.0;
    } else if (retry_after_s) {
        double wait = (1.0 - r->tokens) / r->per_second;
        *retry_after_s = wait < 1.0 ? 1u : (unsigned)(wait + 0.999);
    }
    pthread_mutex_unlock(&r->lock);
    return ok;
}

struct adp_caller *adp_caller_by_token(struct adp_caller *callers, size_t n,
                                       const char *token, size_t token_len)
{
    uint8_t h[XR_SHA256_LEN];
    struct adp_caller *found = NULL;

    if (!token || token_len == 0 || !xr_sha256(token, token_len, h))
        return NULL;
    /* Look at every caller: no early exit. */
    for (size_t i = 0; i < n; i++) {
        if (callers[i].has_token &&
            CRYPTO_memcmp(h, callers[i].token_sha256, ADP_SHA256_LEN) == 0)
            found = &callers[i];
    }
    return found;
}

bool adp_cert_sha256(X509 *cert, uint8_t out[ADP_SHA256_LEN])
{
    unsigned int n = 0;

    return X509_digest(cert, EVP_sha256(), out, &n) == 1 && n == ADP_SHA256_LEN;
}

bool adp_cert_subject(X509 *cert, char *out, size_t size)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;
    bool ok = false;

    if (!b)
        return false;
    if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) <
        0)
        goto out;
    n = BIO_get_mem_data(b, &p);
    if (n < 0 || (size_t)n >= size)
        goto out;
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    ok = true;
out:
    BIO_free(b);
    return ok;
}

struct adp_caller *adp_caller_by_cert(struct adp_caller *callers, size_t n,
                                      X509 *cert)
{
    uint8_t fp[ADP_SHA256_LEN];
    char subject[ADP_CALLER_SUBJECT_MAX + 1];
    bool have_fp, have_subject;

    if (!cert)
        return NULL;
    have_fp = adp_cert_sha256(cert, fp);
    have_subject = adp_cert_subject(cert, subject, sizeof(subject));
    for (size_t i = 0; have_fp && i < n; i++) {
        if (callers[i].has_cert_sha256 &&
            CRYPTO_memcmp(fp, callers[i].cert_sha256, ADP_SHA256_LEN) == 0)
            return &callers[i];
    }
    for (size_t i = 0; have_subject && i < n; i++) {
        if (callers[i].cert_subject[0] &&
            strcmp(callers[i].cert_subject, subject) == 0)
            return &callers[i];
    }
    return NULL;
}

struct adp_caller *adp_caller_by_peer(struct adp_caller *callers, size_t n,
                                      unsigned uid, unsigned gid)
{
    for (size_t i = 0; i < n; i++) {
        if (callers[i].has_unix_uid && callers[i].unix_uid == uid)
            return &callers[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (callers[i].has_unix_gid && callers[i].unix_gid == gid)
            return &callers[i];
    }
    return NULL;
}

bool adp_caller_allows(const struct adp_caller *c, enum adp_op op,
                       const char *product)
{
    if (!(c->ops & (unsigned)op))
        return false;
    if (!product || c->nproducts == 0)
        return true;
    for (size_t i = 0; i < c->nproducts; i++) {
        if (strcmp(c->products[i], product) == 0)
            return true;
    }
    return false;
}

bool adp_caller_allows_service(const struct adp_caller *c,
                               const struct xr_id *service)
{
    if (!(c->ops & (unsigned)ADP_OP_XROAD_SOAP))
        return false;
    for (size_t i = 0; i < c->nservices; i++) {
        const struct xr_id *a = &c->services[i];
        if (!strcmp(a->instance, service->instance) &&
            !strcmp(a->member_class, service->member_class) &&
            !strcmp(a->member_code, service->member_code) &&
            !strcmp(a->subsystem_code, service->subsystem_code) &&
            !strcmp(a->service_code, service->service_code) &&
            (!a->service_version[0] ||
             !strcmp(a->service_version, service->service_version)))
            return true;
    }
    return false;
}

bool adp_hex_sha256(const char *text, uint8_t out[ADP_SHA256_LEN])
{
    return adp_hex_decode(text, out, ADP_SHA256_LEN);
}

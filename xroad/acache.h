/*
 * The verifier's per-thread cache (struct xr_asic_cache, asic.h):
 *  - parsed objects by the SHA-256 of their DER (certificates, OCSP
 *    responses, time-stamp tokens): OpenSSL 3 decodes every public key
 *    through its decoder framework, which costs far more than the rest of
 *    a container, and the same few certificates, responses and batch
 *    tokens recur in every container of a security server;
 *  - results of time-independent checks ("memos"): a token's signature, a
 *    chain's signatures, an OCSP response's signature and authorisation.
 * Bounded, evicting the oldest. A verification inserts at most
 * XR__ACACHE_PER_VERIFY objects, fewer than the object slots, so nothing
 * it borrowed is evicted while it runs. Private to libxroad.
 */
#ifndef XROAD_ACACHE_H
#define XROAD_ACACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ocsp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "internal.h"
#include "ocsp.h"
#include "vconf.h"
#include "xroad/asic.h"

#define XR__ACACHE_OBJECTS    128
#define XR__ACACHE_PER_VERIFY 40 /* 1 + 16 certificates, 16 OCSP, 1 token */
#define XR__ACACHE_MEMOS      256
#define XR__ACACHE_CHAIN_MAX  8

enum xr__memo_kind {
    XR__MEMO_TST = 1,
    XR__MEMO_CHAIN,
    XR__MEMO_OCSP,
    XR__MEMO_ISSUER
};

/* Where a certificate of a remembered chain comes from. */
struct xr__chain_src {
    int extra;  /* -1: the signing certificate; >= 0: CertificateValues */
    X509 *conf; /* non-NULL: this configuration certificate */
};

struct xr__memo {
    bool used;
    uint8_t key[32];
    /* XR__MEMO_CHAIN: the path and the window in which all are valid. */
    size_t nchain;
    struct xr__chain_src chain[XR__ACACHE_CHAIN_MAX];
    int64_t not_before, not_after;
    /* XR__MEMO_OCSP */
    struct xr__ocsp_found found;
    /* XR__MEMO_ISSUER: the approved CA that issued the certificate. */
    const struct xr__vca *issuer;
};

/* key = SHA-256(kind, then each part with its length). */
XR_HIDDEN bool xr__memo_key(uint8_t key[32], enum xr__memo_kind kind,
                            const uint8_t *const *parts, const size_t *lens,
                            size_t nparts);

/*
 * The memo with this key, or NULL. A cache last used with another
 * configuration forgets its memos first. c may be NULL.
 */
XR_HIDDEN struct xr__memo *xr__memo_get(struct xr_asic_cache *c,
                                        const struct xr_vconf *vc,
                                        const uint8_t key[32]);

/* A zeroed memo slot for key (evicting the oldest); NULL when c is. */
XR_HIDDEN struct xr__memo *xr__memo_put(struct xr_asic_cache *c,
                                        const uint8_t key[32]);

/*
 * A certificate from DER (or PEM text), through the cache. Returns a new
 * reference (X509_free), or NULL when it cannot be parsed. c may be NULL.
 */
XR_HIDDEN X509 *xr__acache_x509(struct xr_asic_cache *c, const uint8_t *der,
                                size_t len);

/*
 * An OCSP response / a PKCS#7 time-stamp token from DER, through the
 * cache. *owned says whether the caller must free it (no cache, or it
 * could not be kept); otherwise it is borrowed from the cache until the
 * verification ends. NULL when it cannot be parsed.
 */
XR_HIDDEN OCSP_RESPONSE *xr__acache_ocsp(struct xr_asic_cache *c,
                                         const uint8_t *der, size_t len,
                                         bool *owned);
XR_HIDDEN PKCS7 *xr__acache_p7(struct xr_asic_cache *c, const uint8_t *der,
                               size_t len, bool *owned);

#endif

/*
 * The OCSP responses embedded in a signature (X-Road OcspVerifier): for a
 * certificate of the signer's chain, the response whose first single
 * response names it (CertID with the response's own hash), signed by a
 * responder found by ResponderID among the configuration's OCSP and CA
 * certificates and the response's own, and authorised for the issuing
 * CA; then, at the validation time, fresh (thisUpdate no older than
 * ocspFreshnessSeconds), nextUpdate not passed, status good.
 * Private to libxroad.
 */
#ifndef XROAD_OCSP_H
#define XROAD_OCSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "internal.h"
#include "vconf.h"

/* What the time-independent checks found. */
struct xr__ocsp_found {
    size_t index;        /* of the matching response */
    char responder[256]; /* responder subject, RFC 2253 */
    int64_t produced_at;
    /* The single response, read once (the time checks need no decoding). */
    int status; /* V_OCSP_CERTSTATUS_* */
    int64_t this_update;
    bool has_next_update;
    int64_t next_update;
    int64_t revoked_at; /* INT64_MIN when not given */
};

/*
 * Find the response for subject (issued by issuer) and check everything
 * that does not depend on the validation time: response status, CertID,
 * responder identity, signature, authorisation; and read the single
 * response's status and times into *out.
 * Errors: ocsp_not_found, ocsp_malformed, ocsp_responder_not_found,
 * ocsp_invalid_signature, ocsp_unauthorized_responder, out_of_memory.
 */
XR_HIDDEN enum xr_status xr__ocsp_find(const struct xr_vconf *vc,
                                       OCSP_RESPONSE *const *resps,
                                       size_t nresps, X509 *subject,
                                       X509 *issuer, struct xr__ocsp_found *out,
                                       struct xr_error *err);

/*
 * The checks at the validation time `at` of the response found:
 * ocsp_too_old (thisUpdate before at - freshness_s),
 * ocsp_next_update_expired (nextUpdate before at), cert_revoked,
 * cert_status_unknown, ocsp_malformed.
 */
XR_HIDDEN enum xr_status xr__ocsp_check_at(const struct xr__ocsp_found *f,
                                           X509 *subject, int64_t at,
                                           long freshness_s,
                                           struct xr_error *err);

#endif

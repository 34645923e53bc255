/*
 * The signing certificate: key usage, the member its subject names
 * (certificate profiles), and its chain to an approved CA at a given time
 * (X-Road CertChainVerifier: PKIX without revocation; revocation comes
 * from the embedded OCSP responses, ocsp.h). Private to libxroad.
 */
#ifndef XROAD_CERTPATH_H
#define XROAD_CERTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "internal.h"
#include "vconf.h"

/* True when cert has a keyUsage extension with nonRepudiation. */
XR_HIDDEN bool xr__cert_is_signing(X509 *cert);

/*
 * The member (instance, class, code) the subject of cert names under the
 * profile: FI (C=FI, O, CN=memberCode, serialNumber=INST/SERVER/CLASS; or
 * the legacy C=FI, O=INST, OU=CLASS, CN=CODE) or generic (C, O, CN).
 * Error: incorrect_certificate (what is missing or malformed).
 */
XR_HIDDEN enum xr_status xr__cert_member(X509 *cert, enum xr__profile profile,
                                         struct xr_id *out,
                                         struct xr_error *err);

/*
 * Validate cert's chain at time `at` against the approved CAs of inst
 * that may issue signing certificates (authenticationOnly CAs excluded),
 * with the certificates in extra as intermediates. On success *chain is
 * the path from cert to the anchor (the anchor last).
 * Errors: cannot_create_cert_path (no approved issuer reached),
 * invalid_cert_path (expired or not yet valid at `at`, bad signature,
 * constraints), out_of_memory.
 * Ownership: *chain is new (sk_X509_pop_free(.., X509_free)).
 */
XR_HIDDEN enum xr_status xr__certpath_verify(const struct xr__vinst *inst,
                                             X509 *cert, X509 *const *extra,
                                             size_t nextra, int64_t at,
                                             STACK_OF(X509) * *chain,
                                             struct xr_error *err);

#endif

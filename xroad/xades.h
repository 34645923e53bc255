/*
 * Reading the XAdES signature of a container (META-INF/signatures.xml) in
 * both shapes X-Road writes: ds:Signature inside asic:XAdESSignatures
 * (X-Road 7 profile) and a root ds:Signature (DSS profile, REST and
 * X-Road 8). Only reads and checks structure; the cryptography is in
 * dsig.c (signature value), tsp.c, ocsp.c and certpath.c.
 * Private to libxroad.
 */
#ifndef XROAD_XADES_H
#define XROAD_XADES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "internal.h"
#include "xroad/asic.h"

#define XR__XSIG_MAX_REFS  64 /* ds:Reference elements */
#define XR__XSIG_MAX_CERTS 16 /* CertificateValues */
#define XR__XSIG_MAX_OCSP  16 /* EncapsulatedOCSPValue */
#define XR__XSIG_URI_MAX   512

struct xr__xref {
    char uri[XR__XSIG_URI_MAX];
    bool has_uri;
    bool signed_props_type; /* Type = ...#SignedProperties */
};

/* A cert reference of xades:CompleteCertificateRefs. */
struct xr__xcertref {
    char uri[XR__XSIG_URI_MAX]; /* "#encapsulated-cert-1" */
    const EVP_MD *md;
    uint8_t digest[EVP_MAX_MD_SIZE];
    size_t digest_len;
};

struct xr__xsig {
    xmlNodePtr sig;          /* ds:Signature, in the caller's document */
    xmlNodePtr signed_props; /* xades:SignedProperties */
    size_t nrefs;
    struct xr__xref refs[XR__XSIG_MAX_REFS];
    uint8_t *sigval; /* raw decoded SignatureValue, owned */
    size_t sigval_len;
    X509 *cert;           /* KeyInfo certificate, owned; NULL if none */
    int64_t signing_time; /* xades:SigningTime; INT64_MIN if absent */
    /* SigningCertificate (V1) or SigningCertificateV2: CertDigest. */
    bool has_cert_digest;
    const EVP_MD *cert_md;
    uint8_t cert_digest[EVP_MAX_MD_SIZE];
    size_t cert_digest_len;
    uint8_t *ts_token; /* single time-stamp (DER), owned, or NULL */
    size_t ts_len;
    size_t ncerts; /* CertificateValues */
    X509 *certs[XR__XSIG_MAX_CERTS];
    char cert_ids[XR__XSIG_MAX_CERTS][128];
    size_t ncertrefs;
    struct xr__xcertref certrefs[XR__XSIG_MAX_CERTS];
    size_t nocsp; /* RevocationValues/OCSPValues */
    /* Owned when ocsp_owned[i], else borrowed from the cache. */
    OCSP_RESPONSE *ocsp[XR__XSIG_MAX_OCSP];
    bool ocsp_owned[XR__XSIG_MAX_OCSP];
    uint8_t *ocsp_der[XR__XSIG_MAX_OCSP]; /* their DER, owned */
    size_t ocsp_der_len[XR__XSIG_MAX_OCSP];
};

/*
 * Find and read the one ds:Signature of doc. Refuses duplicate Id values
 * anywhere in the document ("duplicate_id", counting Id and xml:id
 * together: a signature-wrapping defence) and registers every Id
 * attribute as an XML ID so "#..." references resolve. Other errors:
 * malformed_signature (no or several signatures, missing SignatureValue,
 * QualifyingProperties or SignedProperties, bad base64, unparsable
 * certificate or OCSP value, caps), out_of_memory.
 * Certificates and OCSP responses are parsed through cache (may be
 * NULL; see acache.h).
 * Ownership: *out is caller storage filled with owned objects (release
 * with xr__xsig_cleanup(), also after a failure; the cache must outlive
 * it); node pointers borrow from doc, which must outlive *out.
 */
XR_HIDDEN enum xr_status xr__xsig_read(xmlDocPtr doc,
                                       struct xr_asic_cache *cache,
                                       struct xr__xsig *out,
                                       struct xr_error *err);
XR_HIDDEN void xr__xsig_cleanup(struct xr__xsig *x);

/* True when a ds:Reference of the signature has exactly this URI. */
XR_HIDDEN bool xr__xsig_references(const struct xr__xsig *x, const char *uri);

#endif

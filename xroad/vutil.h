/*
 * Small helpers shared by the signed-document verifier (asic.c and the
 * modules under it): base64 as XML-DSig writes it, digest algorithm URIs,
 * ASN.1 times, hex, element text. Private to libxroad.
 */
#ifndef XROAD_VUTIL_H
#define XROAD_VUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>
#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "internal.h"

/* XML namespaces of the signed documents. */
#define XR__NS_DS       "http://www.w3.org/2000/09/xmldsig#"
#define XR__NS_XADES    "http://uri.etsi.org/01903/v1.3.2#"
#define XR__NS_ASIC     "http://uri.etsi.org/02918/v1.2.1#"
#define XR__NS_ASIC_OLD "http://uri.etsi.org/02918/v1.1.1#"
#define XR__NS_ASICM    "http://uri.etsi.org/2918/v1.2.1#"
#define XR__NS_HC       "http://cyber.ee/hashchain"

/* Longest base64 text accepted in one element (certificates, tokens). */
#define XR__B64_TEXT_MAX (1024u * 1024u)

/*
 * Decode base64 text as XML-DSig writes it: white space (including the
 * CR of "&#13;") anywhere is skipped; anything else outside the alphabet,
 * bad padding or trailing bits are errors (reason `reason`, message names
 * `what`). An empty text decodes to zero bytes.
 * Ownership: *out is new (free()), also for zero bytes.
 */
XR_HIDDEN enum xr_status xr__b64_decode(const char *text, size_t len,
                                        uint8_t **out, size_t *out_len,
                                        const char *what, const char *reason,
                                        struct xr_error *err);

/*
 * The concatenated text of an element's text children, untrimmed, capped
 * at XR__B64_TEXT_MAX. NULL (with *len 0) when out of memory or too
 * long; *too_long says which.
 * Ownership: new (free()).
 */
XR_HIDDEN char *xr__node_text(const xmlNode *node, size_t *len, bool *too_long);

/*
 * base64 text of an element decoded (see xr__b64_decode()).
 * Ownership: *out is new (free()).
 */
XR_HIDDEN enum xr_status xr__node_b64(const xmlNode *node, uint8_t **out,
                                      size_t *out_len, const char *what,
                                      const char *reason, struct xr_error *err);

/*
 * The digest a URI names (XML-Enc / XML-DSig-more SHA-256, SHA-384,
 * SHA-512; also the bare names "SHA-256", "SHA-384", "SHA-512"), or NULL
 * for anything else (SHA-1 and MD5 are refused on purpose).
 */
XR_HIDDEN const EVP_MD *xr__md_by_uri(const char *uri);

/* The XML-DSig URI of a digest (SHA-256/384/512), or NULL. */
XR_HIDDEN const char *xr__md_uri(const EVP_MD *md);

/* Digest data with md into out (>= EVP_MAX_MD_SIZE); false on failure. */
XR_HIDDEN bool xr__digest(const EVP_MD *md, const uint8_t *data, size_t len,
                          uint8_t *out, unsigned *out_len);

/* An ASN.1 time as Unix seconds; false when it cannot be read. */
XR_HIDDEN bool xr__asn1_time_unix(const ASN1_TIME *t, int64_t *out);

/*
 * Parse an xs:dateTime ("2024-12-05T13:16:11.661Z", offsets allowed) to
 * Unix seconds (fractions dropped). False when malformed.
 */
XR_HIDDEN bool xr__xsd_datetime(const char *s, int64_t *out);

/* "2024-12-05T13:16:11Z" into buf (>= 21 bytes). */
XR_HIDDEN void xr__iso_time(int64_t t, char *buf, size_t size);

/* Lower-case hex of n bytes into out (>= 2n + 1). */
XR_HIDDEN void xr__hex(const uint8_t *p, size_t n, char *out);

/* One-line RFC 2253 form of a name into buf; "" on failure. */
XR_HIDDEN void xr__name_text(const X509_NAME *name, char *buf, size_t size);

/* The DER of a certificate; NULL when it cannot be encoded. new (free()) */
XR_HIDDEN uint8_t *xr__cert_der(X509 *cert, size_t *len);

/* An X.509 certificate from DER, or from PEM text when it starts so. */
XR_HIDDEN X509 *xr__cert_parse(const uint8_t *p, size_t len);

/* ASCII case-insensitive equality of two strings. */
XR_HIDDEN bool xr__ieq(const char *a, const char *b);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates). */
XR_HIDDEN bool xr__utf8_valid(const uint8_t *s, size_t len);

#endif

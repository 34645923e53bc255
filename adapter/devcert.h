/*
 * Throw-away test PKI for local development and tests (`vayla dev init`):
 * an EC P-256 CA, a server certificate for 127.0.0.1/localhost and a
 * client certificate, made with the OpenSSL 3 C API. Never for production.
 */
#ifndef VAYLA_DEVCERT_H
#define VAYLA_DEVCERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <xroad/error.h>

enum adp_devcert_kind {
    ADP_DEVCERT_CA,     /* CA:TRUE, keyCertSign, 10 years */
    ADP_DEVCERT_SERVER, /* serverAuth, SAN IP:127.0.0.1, DNS:localhost */
    ADP_DEVCERT_CLIENT, /* clientAuth */
    /* For the simulator's signed message log (ASiC containers): */
    ADP_DEVCERT_SIGN, /* X-Road signing certificate, nonRepudiation; cn is
                         the member INSTANCE/CLASS/CODE and the subject
                         follows the Finnish profile (C=FI, O, CN=code,
                         serialNumber=INSTANCE/ss1/CLASS) */
    ADP_DEVCERT_OCSP, /* OCSP responder: extendedKeyUsage OCSPSigning */
    ADP_DEVCERT_TSA   /* time-stamping authority: critical timeStamping */
};

/* A key pair and its certificate. Both owned; see adp_devcert_cleanup(). */
struct adp_devcert {
    EVP_PKEY *key;
    X509 *cert;
};

/*
 * Make a new P-256 key and a certificate with subject CN=cn. For
 * ADP_DEVCERT_CA the certificate is self-signed and ca must be NULL;
 * otherwise it is signed by *ca and valid for 2 years.
 * Errors: XR_ENOMEM, XR_EINTERNAL (reason "openssl", ssl_err set).
 * Ownership: *out is caller storage, filled with new objects; release with
 * adp_devcert_cleanup() (also after a failure). ca is borrowed.
 * Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status adp_devcert_make(enum adp_devcert_kind kind,
                                             const char *cn,
                                             const struct adp_devcert *ca,
                                             struct adp_devcert *out,
                                             struct xr_error *err);

/* Free the key and the certificate and zero *dc. Accepts NULL members. */
void adp_devcert_cleanup(struct adp_devcert *dc);

/*
 * Write the certificate (PEM, mode 0644) and, when key_path is not NULL,
 * the private key (PKCS#8 PEM, unencrypted, created with mode 0600).
 * Existing files are replaced. Errors: XR_EIO ("io_error").
 * Ownership: borrows everything. Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status adp_devcert_write(const struct adp_devcert *dc,
                                              const char *cert_path,
                                              const char *key_path,
                                              struct xr_error *err);

/*
 * SHA-256 fingerprint of the certificate's DER as "AB:CD:..." (95
 * characters + NUL; size must be at least 96).
 * Errors: XR_EINVAL (size), XR_EINTERNAL (digest failed).
 * Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status adp_devcert_fingerprint(X509 *cert, char *out,
                                                    size_t size,
                                                    struct xr_error *err);

/*
 * A new Ed25519 key pair (the audit checkpoint key): the private key to
 * key_path (PKCS#8 PEM, mode 0600), the public key to pub_path (PEM,
 * 0644). Errors: XR_EIO, XR_EINTERNAL. Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status adp_devcert_write_ed25519(const char *key_path,
                                                      const char *pub_path,
                                                      struct xr_error *err);

#endif

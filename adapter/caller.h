/*
 * API callers: who may call the daemon, how they prove it, and what each
 * may do. Callers come from `[caller.NAME]` sections of the configuration
 * (docs/configuration.md) and are immutable once loaded, except for the
 * rate limiter, which is shared by all worker threads.
 *
 * Authentication, in this order:
 *   1. a TLS client certificate (mTLS listener): matched by the SHA-256
 *      fingerprint of its DER encoding, or by its subject (RFC 2253);
 *   2. `Authorization: Bearer TOKEN`: matched by SHA-256(TOKEN); tokens
 *      are stored only as hashes and compared in constant time;
 *   3. on the UNIX socket, the peer's uid or gid (SO_PEERCRED).
 */
#ifndef VAYLA_CALLER_H
#define VAYLA_CALLER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>
#include <xroad/error.h>
#include <xroad/id.h>

#define ADP_CALLER_NAME_MAX     64u
#define ADP_CALLER_PRODUCTS_MAX 32u
#define ADP_CALLER_SUBJECT_MAX  512u
#define ADP_CALLER_SERVICES_MAX 256u
#define ADP_SHA256_LEN          32u

/* Operations a caller may be allowed (bit flags). */
enum adp_op {
    ADP_OP_VTJ_PERSON = 1u << 0, /* "vtj_person": POST /v1/vtj/person */
    ADP_OP_XROAD_SOAP = 1u << 1, /* "xroad_soap": the generic SOAP path and
                                    GET /v1/xroad/services */
    ADP_OP_AUDIT = 1u << 2       /* "audit": GET /v1/audit/prove/{id} */
};

/* Token-bucket rate limiter; thread-safe. */
struct adp_rate {
    pthread_mutex_t lock;
    double per_second; /* 0 = unlimited */
    double burst;      /* bucket size */
    double tokens;
    int64_t last_us; /* CLOCK_MONOTONIC, microseconds */
};

struct adp_caller {
    char name[ADP_CALLER_NAME_MAX + 1];
    bool has_token;
    uint8_t token_sha256[ADP_SHA256_LEN];
    bool has_cert_sha256;
    uint8_t cert_sha256[ADP_SHA256_LEN];
    char cert_subject[ADP_CALLER_SUBJECT_MAX + 1]; /* "" = not used */
    unsigned ops;                                  /* enum adp_op bits */
    size_t nproducts;                              /* 0 = any product */
    char products[ADP_CALLER_PRODUCTS_MAX][101];
    /*
     * Services of the generic SOAP path (`services`, repeatable). An
     * entry without a version allows every version. Owned (freed with
     * the configuration).
     */
    struct xr_id *services;
    size_t nservices;
    bool has_client; /* X-Road client subsystem for this caller */
    struct xr_id client;
    /*
     * Remove the addresses of persons with a protection order (or whose
     * protection is unknown) from VTJ answers: true unless the caller is
     * entitled to them (docs/vtj.md §6).
     */
    bool redact_protected_addresses;
    bool has_unix_uid; /* UNIX socket peers with this uid */
    unsigned unix_uid;
    bool has_unix_gid; /* UNIX socket peers with this gid */
    unsigned unix_gid;
    struct adp_rate rate;
};

/*
 * Initialise the limiter: per_second 0 disables it; burst 0 means
 * max(1, per_second). Thread-safety: before sharing.
 */
void adp_rate_init(struct adp_rate *r, double per_second, double burst);
void adp_rate_cleanup(struct adp_rate *r);

/*
 * Take one token. Returns true when allowed; otherwise false and
 * *retry_after_s (>= 1) says when a token will be there.
 * Thread-safety: thread-safe.
 */
bool adp_rate_take(struct adp_rate *r, unsigned *retry_after_s);

/*
 * Find the caller presenting `token` (the raw bearer token). Compares
 * SHA-256 hashes in constant time over every caller, so timing does not
 * reveal which caller nearly matched.
 * Ownership: returns a borrowed pointer into callers, or NULL.
 */
struct adp_caller *adp_caller_by_token(struct adp_caller *callers, size_t n,
                                       const char *token, size_t token_len);

/*
 * Find the caller matching a verified TLS client certificate (fingerprint
 * first, then subject). Ownership: borrowed pointer or NULL.
 */
struct adp_caller *adp_caller_by_cert(struct adp_caller *callers, size_t n,
                                      X509 *cert);

/*
 * Find the caller of a UNIX socket peer by its credentials (SO_PEERCRED):
 * unix_uid first, then unix_gid. Ownership: borrowed pointer or NULL.
 */
struct adp_caller *adp_caller_by_peer(struct adp_caller *callers, size_t n,
                                      unsigned uid, unsigned gid);

/* True when the caller may run `op` for `product` (NULL: no product). */
bool adp_caller_allows(const struct adp_caller *c, enum adp_op op,
                       const char *product);

/*
 * True when the caller may call `service` on the generic SOAP path: it
 * has the xroad_soap operation and a `services` entry with the same
 * instance, class, member, subsystem and code, and the same version or
 * none.
 */
bool adp_caller_allows_service(const struct adp_caller *c,
                               const struct xr_id *service);

/*
 * SHA-256 fingerprint of a certificate's DER encoding.
 * Returns false on failure.
 */
bool adp_cert_sha256(X509 *cert, uint8_t out[ADP_SHA256_LEN]);

/* RFC 2253 subject of cert into out; false when it does not fit. */
bool adp_cert_subject(X509 *cert, char *out, size_t size);

/*
 * Parse "AB:CD:…" or "abcd…" (64 hex digits, colons optional) into out.
 * Returns false on any other form.
 */
bool adp_hex_sha256(const char *text, uint8_t out[ADP_SHA256_LEN]);

#endif

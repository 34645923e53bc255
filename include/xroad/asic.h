/*
 * Verifying X-Road signed documents: the ASiC-E containers a security
 * server keeps in its message log and serves from /asic, checked in the
 * order X-Road's own verifier (AsicContainerVerifier) checks them:
 *
 *   1. container structure (safe ZIP, mimetype, message, signature, pairs
 *      of hash-chain files);
 *   2. message.xml read as SOAP (else REST): request -> the signer must be
 *      the client, response -> the provider of `service`;
 *   3. the signature references /message.xml or /sig-hashchainresult.xml;
 *   4. time-stamp (single: imprint over the raw SignatureValue; batch:
 *      ts-hashchain.xml to ts-hashchainresult.xml), trusted TSA; its
 *      genTime becomes the validation time;
 *   5. signature hash chain (batch signing, SOAP with attachments);
 *   6. signing certificate: nonRepudiation key usage;
 *   7. certificate subject names the signing member (Finnish profile);
 *   8. XML signature value (xmlsec1, locked down), then the XAdES
 *      SigningCertificate digest as an extra check;
 *   9. certificate chain to an approved CA at the validation time;
 *  10. embedded OCSP responses: good, authorised responder, fresh.
 *
 * Every failure carries a stable snake_case code in err->reason; the list
 * and the meaning of each is in docs/verify.md. A signature that fails on
 * a message whose body is empty is reported as "message_body_not_logged":
 * a security-server setting, not tampering.
 *
 * The library reads nothing but the bytes (or the folder) the caller
 * names, never logs and never opens a connection.
 */
#ifndef XROAD_ASIC_H
#define XROAD_ASIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xroad/common.h"
#include "xroad/error.h"
#include "xroad/id.h"
#include "xroad/envelope.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XR_ASIC_MIMETYPE "application/vnd.etsi.asic-e+zip"

/*
 * Caps for reading a ZIP (a container, a zip of containers or a
 * verification configuration). Zero in any field means the default below.
 * Sizes are counted while inflating; the sizes a ZIP directory claims are
 * not trusted.
 */
struct xr_zip_limits {
    size_t max_bytes;       /* the ZIP file itself */
    size_t max_entries;     /* entries, directories included */
    size_t max_entry_bytes; /* one entry, uncompressed */
    size_t max_total_bytes; /* all entries together, uncompressed */
    unsigned max_ratio;     /* uncompressed / compressed bytes of one entry,
                               checked once an entry passes 1 MiB */
};

#define XR_ZIP_BYTES_DEFAULT       (64u * 1024u * 1024u)
#define XR_ZIP_ENTRIES_DEFAULT     64u
#define XR_ZIP_ENTRY_BYTES_DEFAULT (32u * 1024u * 1024u)
#define XR_ZIP_TOTAL_BYTES_DEFAULT (64u * 1024u * 1024u)
#define XR_ZIP_RATIO_DEFAULT       100u

/* ------------------------------------------------------------------ */
/* Verification configuration                                          */

/*
 * The trust material of a security server's /verificationconf: the own
 * instance (instance-identifier) and, per instance, the approved CAs
 * (with their OCSP responders and certificate profile), the approved
 * time-stamping authorities and ocspFreshnessSeconds, all read from
 * shared-params.xml. Certificates are accepted as base64 of DER or of PEM.
 * Immutable once loaded.
 */
struct xr_vconf;

/*
 * Load the unzipped layout: DIR/instance-identifier and
 * DIR/<INSTANCE>/shared-params.xml for each instance directory (a DIR that
 * holds a verificationconf/ folder is also accepted). Only these files are
 * read. Errors: "invalid_verification_conf" (with the file and the
 * problem), "io_error", "too_large", "out_of_memory".
 * Ownership: *out is new; free with xr_vconf_free().
 * Thread-safety: reentrant.
 */
XR_API XR_NODISCARD enum xr_status xr_vconf_load_dir(const char *dir,
                                                     struct xr_vconf **out,
                                                     struct xr_error *err);

/*
 * Load the ZIP that GET /verificationconf returns (entries
 * verificationconf/instance-identifier and
 * verificationconf/<INSTANCE>/shared-params.xml; the verificationconf/
 * prefix is optional). Errors as xr_vconf_load_dir() plus the ZIP reader's
 * ("asic_not_container", "asic_unsafe_entry_name", ...).
 * Ownership: *out is new; buf is only read during the call.
 * Thread-safety: reentrant.
 */
XR_API XR_NODISCARD enum xr_status xr_vconf_load_zip(const uint8_t *buf,
                                                     size_t len,
                                                     struct xr_vconf **out,
                                                     struct xr_error *err);

/* Free a configuration. Accepts NULL. */
XR_API void xr_vconf_free(struct xr_vconf *vc);

/*
 * The own instance ("FI", "DEV", ...). Ownership: get0, valid until
 * xr_vconf_free(). Thread-safety: a loaded configuration may be shared
 * by any number of threads.
 */
XR_API const char *xr_vconf_instance(const struct xr_vconf *vc);

/* ------------------------------------------------------------------ */
/* Verifying one container                                             */

struct xr_asic_opts {
    struct xr_zip_limits zip; /* zeros = defaults */
    struct xr_limits xml;     /* caps for every XML entry; zeros = defaults */
    /*
     * Verify a container without a time-stamp (a bare signature, as in
     * X-Road's own signature tests) at validation_time (Unix seconds)
     * instead of failing with "timestamp_not_found". Off for /asic
     * containers, which are always time-stamped.
     */
    bool allow_no_timestamp;
    int64_t validation_time;
};

/*
 * Results of the expensive checks that many containers of one security
 * server share (the same signing certificate chain, the same OCSP
 * response, the same batch time-stamp token): each is verified once and
 * remembered by the SHA-256 of its exact bytes, and the time-dependent
 * rules (validity at genTime, OCSP freshness) are still applied to every
 * container. Bounded (oldest entries are dropped). Bound to one
 * configuration: used with another, it starts afresh.
 * Thread-safety: one cache per thread (it is not locked).
 */
struct xr_asic_cache;

/* Ownership: *out is new; free with xr_asic_cache_free(). */
XR_API XR_NODISCARD enum xr_status xr_asic_cache_new(struct xr_asic_cache **out,
                                                     struct xr_error *err);
XR_API void xr_asic_cache_free(struct xr_asic_cache *cache);

enum xr_asic_msg_type {
    XR_ASIC_MSG_UNKNOWN,
    XR_ASIC_MSG_REQUEST,
    XR_ASIC_MSG_RESPONSE
};

/* "request", "response" or "unknown". Static string. */
XR_API const char *xr_asic_msg_type_name(enum xr_asic_msg_type t);

/* The outcome of one verification; see the accessors below. */
struct xr_asic_result;

/*
 * Verify one container (buf, len) against the configuration.
 *
 * Returns XR_OK when every check passed. Otherwise the status and
 * err->reason say which check failed (docs/verify.md lists every code);
 * *out is still set and holds what was learnt before the failing check
 * (message id, type, signer, ...) and a copy of the error, so a batch
 * tool can report it. *out is NULL only for XR_EINVAL (bad arguments) and
 * XR_ENOMEM before a result could be allocated.
 *
 * opts may be NULL (defaults); cache may be NULL (no memory between
 * calls).
 * Ownership: *out is new; free with xr_asic_result_free(). buf is only
 * read during the call (the result keeps its own copy of message.xml).
 * Thread-safety: reentrant with distinct caches; vc may be shared.
 * xr_global_init() must have run.
 */
XR_API XR_NODISCARD enum xr_status xr_asic_verify(
    const struct xr_vconf *vc, const uint8_t *buf, size_t len,
    const struct xr_asic_opts *opts, struct xr_asic_cache *cache,
    struct xr_asic_result **out, struct xr_error *err);

/* Free a result. Accepts NULL. */
XR_API void xr_asic_result_free(struct xr_asic_result *r);

/* True when every check passed. */
XR_API bool xr_asic_result_valid(const struct xr_asic_result *r);

/*
 * The failure (code XR_OK and reason "" when valid).
 * Ownership: get0, valid until xr_asic_result_free().
 */
XR_API const struct xr_error *xr_asic_result_error(
    const struct xr_asic_result *r);

/* Request or response (UNKNOWN when message.xml could not be read). */
XR_API enum xr_asic_msg_type xr_asic_result_message_type(
    const struct xr_asic_result *r);

/* True when message.xml is a REST message (request or status line). */
XR_API bool xr_asic_result_is_rest(const struct xr_asic_result *r);

/*
 * The X-Road message id (SOAP xrd:id, REST X-Road-Id); "" when unknown.
 * Ownership: get0.
 */
XR_API const char *xr_asic_result_message_id(const struct xr_asic_result *r);

/*
 * The party the message names as its signer: the client of a request,
 * the provider (member or subsystem of `service`) of a response. NULL
 * when unknown. Ownership: get0.
 */
XR_API const struct xr_id *xr_asic_result_signer(
    const struct xr_asic_result *r);

/*
 * The SOAP header of message.xml, or NULL for REST messages and messages
 * that could not be read. Ownership: get0.
 */
XR_API const struct xr_header *xr_asic_result_header(
    const struct xr_asic_result *r);

/*
 * The exact bytes of message.xml as stored in the container: what the
 * signature covers when the result is valid (compare their SHA-512 with
 * an audit record). Empty when the container could not be read.
 * Ownership: get0, valid until xr_asic_result_free().
 */
XR_API struct xr_bytes xr_asic_result_message(const struct xr_asic_result *r);

/*
 * The trusted signing time: the time-stamp's genTime (Unix seconds), or
 * the caller's validation_time for an allowed untimestamped container.
 * INT64_MIN when not (yet) known.
 */
XR_API int64_t xr_asic_result_signing_time(const struct xr_asic_result *r);

/* xades:SigningTime as the signer claimed it; INT64_MIN when absent. */
XR_API int64_t
xr_asic_result_claimed_signing_time(const struct xr_asic_result *r);

/* True when the time-stamp is a batch one (META-INF/timestamp.tst). */
XR_API bool xr_asic_result_batch_timestamp(const struct xr_asic_result *r);

/*
 * One-line subjects (RFC 2253) of the signing certificate, the TSA and
 * the signer's OCSP responder; "" when not (yet) known. Ownership: get0.
 */
XR_API const char *xr_asic_result_signer_subject(
    const struct xr_asic_result *r);
XR_API const char *xr_asic_result_tsa_subject(const struct xr_asic_result *r);
XR_API const char *xr_asic_result_ocsp_subject(const struct xr_asic_result *r);

/* producedAt of the signer's OCSP response; INT64_MIN when unknown. */
XR_API int64_t xr_asic_result_ocsp_produced_at(const struct xr_asic_result *r);

/*
 * A data reference that a hash chain names: its digest and whether the
 * container held the data to check it ("verified") or the digest is only
 * what the chain lists ("unverified": X-Road 7.5 and older do not store
 * attachments).
 */
struct xr_asic_digest {
    char uri[128]; /* "/attachment1" */
    char hex[129]; /* lower-case hex of the digest */
    bool verified;
};

XR_API size_t xr_asic_result_digest_count(const struct xr_asic_result *r);
/* Ownership: get0; NULL when i is out of range. */
XR_API const struct xr_asic_digest *xr_asic_result_digest(
    const struct xr_asic_result *r, size_t i);

/*
 * Warnings that do not make the container invalid, as sentences: entries
 * no signature or hash chain covers, unverified digests.
 */
XR_API size_t xr_asic_result_warning_count(const struct xr_asic_result *r);
/* Ownership: get0; NULL when i is out of range. */
XR_API const char *xr_asic_result_warning(const struct xr_asic_result *r,
                                          size_t i);

/* ------------------------------------------------------------------ */
/* Zips of containers (what /asic returns without "unique")            */

struct xr_asic_bundle;

/*
 * Open a ZIP whose entries are containers (names ending in ".asice",
 * case-insensitively; directories are skipped). A ZIP that is itself a
 * container (it has a "mimetype" or "message.xml" entry) gives
 * XR_EPROTO with reason "not_bundle", so callers can try a bundle first
 * and fall back to verifying the bytes as one container. Other ZIP errors
 * as the container reader's. limits may be NULL (defaults, but 100000
 * entries).
 * Ownership: *out is new and owns copies of the entries; buf is only read
 * during the call. Thread-safety: reentrant.
 */
XR_API XR_NODISCARD enum xr_status xr_asic_bundle_open(
    const uint8_t *buf, size_t len, const struct xr_zip_limits *limits,
    struct xr_asic_bundle **out, struct xr_error *err);
XR_API void xr_asic_bundle_free(struct xr_asic_bundle *b);
XR_API size_t xr_asic_bundle_count(const struct xr_asic_bundle *b);
/* Entry name and bytes. Ownership: get0, valid until the bundle is freed. */
XR_API const char *xr_asic_bundle_name(const struct xr_asic_bundle *b,
                                       size_t i);
XR_API struct xr_bytes xr_asic_bundle_data(const struct xr_asic_bundle *b,
                                           size_t i);

/* ------------------------------------------------------------------ */
/* Any ZIP, read safely (e.g. to unpack a verification configuration)  */

/*
 * Called once per entry in directory order: name is a safe relative
 * UTF-8 path (no "..", "." or empty component, no leading '/', no
 * backslash, colon or control character; unique ignoring case), is_dir
 * for entries ending in '/' (data NULL, len 0). Return non-zero to stop
 * (xr_zip_each() then returns XR_OK).
 * Ownership: name and data are valid only during the call.
 */
typedef int xr_zip_entry_fn(void *ctx, const char *name, const uint8_t *data,
                            size_t len, bool is_dir);

/*
 * Read the ZIP (buf, len) with the container reader's checks and caps
 * (limits NULL: defaults) and pass every entry to fn. Nothing is called
 * unless the whole ZIP passed: a bad entry anywhere gives its error
 * ("asic_unsafe_entry_name", "too_large", "asic_zip_bomb",
 * "asic_encrypted_entry", ...) before any callback.
 * Thread-safety: reentrant.
 */
XR_API XR_NODISCARD enum xr_status xr_zip_each(
    const uint8_t *buf, size_t len, const struct xr_zip_limits *limits,
    xr_zip_entry_fn *fn, void *ctx, struct xr_error *err);

#ifdef __cplusplus
}
#endif
#endif

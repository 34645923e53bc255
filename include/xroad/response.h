/*
 * Judging a security server's answer to one request, in this order:
 *   1. hardened parse (no DTD, no entities, no network, size/depth/node
 *      caps); text/xml or multipart/related (SwA, MTOM);
 *   2. SOAP Fault -> verdict FAULT with the classified fault;
 *   3. header echo (client, service, id, userId, issue, representedParty),
 *      protocolVersion "4.*", requestHash = base64(SHA-512(request bytes));
 *   4. Body: exactly one child whose local name starts with serviceCode.
 * Anything else is invalid: the function returns an error status and
 * err->reason names the rule (see below).
 */
#ifndef XROAD_RESPONSE_H
#define XROAD_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "xroad/common.h"
#include "xroad/error.h"
#include "xroad/envelope.h"
#include "xroad/fault.h"
#include "xroad/mime.h"

#ifdef __cplusplus
extern "C" {
#endif

enum xr_verdict { XR_VERDICT_OK, XR_VERDICT_FAULT };

struct xr_check_opts {
    struct xr_limits limits;         /* zeros = defaults */
    bool allow_missing_request_hash; /* e.g. a plain-HTTP test SS */
    /*
     * A libxml2 dictionary to intern the answer's names in, instead of one
     * created and freed per answer (a few per cent of a query). NULL = a
     * new one per answer. Borrowed: each parsed answer takes a reference
     * until xr_response_free(). Not thread-safe: one thread at a time.
     * An answer may bring new names, so the caller bounds its growth
     * (xmlDictSize(), then a new dictionary).
     */
    xmlDictPtr dict;
};

struct xr_response;

/*
 * Parse an answer without a request to compare with (steps 1, 2 and the
 * structural part of 3 and 4: header fields read, duplicate fields,
 * protocolVersion, one body child). content_type NULL = text/xml.
 *
 * Returns XR_OK with *out set for both OK and FAULT verdicts. Invalid
 * answers return an error, *out NULL, and err->reason one of:
 *   too_large, malformed_xml, dtd_forbidden, invalid_soap,
 *   invalid_content_type, mime_parsing_failed, missing_soap,
 *   missing_header (err->field names a missing field, or "" when the
 *   whole Header is missing), duplicate_header_field, protocol_version,
 *   body_invalid, missing_body, invalid_xml.
 * Ownership: *out is new (free with xr_response_free); buf is copied.
 */
XR_API XR_NODISCARD enum xr_status xr_response_parse(
    const char *content_type, const uint8_t *buf, size_t len,
    const struct xr_check_opts *opts, struct xr_response **out,
    struct xr_error *err);

/*
 * xr_response_parse() plus every comparison with the request. Additional
 * reasons: header_mismatch (err->field names the field: client, service,
 * id, userId, issue, representedParty), missing_header (a field the
 * request had is absent: err->field), request_hash_missing,
 * request_hash_mismatch, request_hash_algorithm, body_invalid (wrapper name
 * does not start with serviceCode).
 * A FAULT verdict is returned as soon as a Fault is seen: faults are not
 * required to echo the header.
 */
XR_API XR_NODISCARD enum xr_status xr_response_check(
    const struct xr_request *req, const char *content_type, const uint8_t *buf,
    size_t len, const struct xr_check_opts *opts, struct xr_response **out,
    struct xr_error *err);

XR_API void xr_response_free(struct xr_response *resp);

XR_API enum xr_verdict xr_response_verdict(const struct xr_response *resp);

/* NULL unless the verdict is FAULT. Ownership: get0. */
XR_API const struct xr_fault *xr_response_fault(const struct xr_response *resp);

/* NULL when the message had no Header (faults). Ownership: get0. */
XR_API const struct xr_header *xr_response_header(
    const struct xr_response *resp);

/* The Body's only child (NULL for faults). Ownership: get0. */
XR_API xmlNodePtr xr_response_body(const struct xr_response *resp);

/* The raw bytes of the SOAP part. Ownership: get0. */
XR_API struct xr_bytes xr_response_soap(const struct xr_response *resp);

/* Content-Type of the SOAP part: the HTTP one for a single part, the
 * first MIME part's for multipart (application/xop+xml for MTOM).
 * Ownership: get0, never NULL. */
XR_API const char *xr_response_soap_type(const struct xr_response *resp);

/*
 * The Body's wrapper element as a standalone UTF-8 XML document, with
 * every namespace it uses declared on it (prefixes declared on Envelope
 * or Body are copied down). Errors: missing_body (a fault),
 * out_of_memory.
 * Ownership: *out new (free()). Thread-safety: reentrant.
 */
XR_API XR_NODISCARD enum xr_status xr_response_body_xml(
    const struct xr_response *resp, uint8_t **out, size_t *len,
    struct xr_error *err);

/* Attachments (MIME parts after the SOAP part). Ownership: get0. */
XR_API size_t xr_response_part_count(const struct xr_response *resp);
XR_API const struct xr_part *xr_response_part(const struct xr_response *resp,
                                              size_t i);

#ifdef __cplusplus
}
#endif
#endif

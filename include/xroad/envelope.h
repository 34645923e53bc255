/*
 * X-Road SOAP 4.0 request envelopes: the header fields and the request
 * object that keeps the exact bytes sent (what requestHash covers).
 */
#ifndef XROAD_ENVELOPE_H
#define XROAD_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "xroad/common.h"
#include "xroad/error.h"
#include "xroad/id.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XR_NS_SOAP11     "http://schemas.xmlsoap.org/soap/envelope/"
#define XR_NS_XROAD      "http://x-road.eu/xsd/xroad.xsd"
#define XR_NS_ID         "http://x-road.eu/xsd/identifiers"
#define XR_NS_REPR       "http://x-road.eu/xsd/representation.xsd"
#define XR_HASH_ALGO_URI "http://www.w3.org/2001/04/xmlenc#sha512"

#define XR_TEXT_MAX         1024 /* id, userId, issue, partyCode: bytes */
#define XR_HASH_B64_MAX     128  /* base64 of a SHA-512 digest is 88 */
#define XR_PROTOCOL_VERSION "4.0"

/*
 * The X-Road header of one message. Absent optional fields have their
 * has_* flag false; an empty but present element has the flag true and an
 * empty string.
 */
struct xr_header {
    struct xr_id client;      /* MEMBER or SUBSYSTEM */
    struct xr_id service;     /* SERVICE */
    char id[XR_TEXT_MAX + 1]; /* when building: "" = generate a UUIDv7 */
    bool has_user_id;
    char user_id[XR_TEXT_MAX + 1];
    bool has_issue;
    char issue[XR_TEXT_MAX + 1];
    bool has_represented_party;
    bool has_party_class;
    char party_class[XR_TEXT_MAX + 1];
    char party_code[XR_TEXT_MAX + 1];
    bool has_security_server;
    struct xr_id security_server; /* SERVER */
    char protocol_version[32];    /* "4.0" when building */
    /* Responses only: inserted by the provider's security server. */
    bool has_request_hash;
    char request_hash[XR_HASH_B64_MAX + 1]; /* XML whitespace removed */
    char request_hash_algo[128];            /* algorithmId attribute */
};

/* Zero *hdr and set protocol_version to "4.0". */
XR_API void xr_header_init(struct xr_header *hdr);

/* Opaque: one request message and its exact bytes. */
struct xr_request;

/*
 * Build a SOAP 1.1 request: Header with client, service, id, userId?,
 * issue?, representedParty?, securityServer?, protocolVersion, and a Body
 * with one wrapper element.
 *
 * body/body_len: an XML document whose root element is the wrapper; its
 * local name must equal hdr->service.service_code. NULL builds an empty
 * wrapper element `<serviceCode/>` without a namespace. The body is parsed
 * with the hardened parser (no DTD, no entities, no network).
 * All values are escaped as XML text. hdr->id empty = a UUIDv7.
 * Errors: invalid_id (a malformed identifier), invalid_header (a text
 * value that is too long, not UTF-8 or has control characters),
 * invalid_protocol_version, body_invalid, malformed_xml / dtd_forbidden /
 * too_large (the body), out_of_memory.
 *
 * Ownership: *out is new; free with xr_request_free(). hdr and body are
 * copied. Thread-safety: reentrant.
 */
XR_API XR_NODISCARD enum xr_status xr_request_new(const struct xr_header *hdr,
                                                  const uint8_t *body,
                                                  size_t body_len,
                                                  struct xr_request **out,
                                                  struct xr_error *err);

/*
 * xr_request_new() for a body the caller's own writer produced: fixed
 * markup around values it escaped itself, never bytes it received. The
 * body is not parsed (setting up a parser for a small body costs more
 * than building the envelope). It is checked to be at most
 * XR_LIMIT_BYTES_DEFAULT bytes of XML characters in UTF-8 (no control
 * character, no invalid sequence), to start with '<' and end with '>',
 * and its root element's local name must equal hdr->service.service_code
 * ("body_invalid", "too_large"). That it is one well-formed element is the
 * caller's promise: give anything from outside to xr_request_new(). body
 * NULL is as in xr_request_new().
 * Ownership and errors otherwise as xr_request_new().
 */
XR_API XR_NODISCARD enum xr_status xr_request_new_own(
    const struct xr_header *hdr, const uint8_t *body, size_t body_len,
    struct xr_request **out, struct xr_error *err);

/*
 * Parse an existing request message (text/xml, or multipart/related when
 * content_type says so; NULL = text/xml) and check it as a client-side
 * security server does. Errors use the X-Road code names as reasons:
 * "malformed_xml", "invalid_soap", "missing_header", "missing_header_field",
 * "duplicate_header_field", "invalid_xml" (objectType), "missing_body",
 * "invalid_body", "inconsistent_headers", "invalid_protocol_version",
 * "invalid_content_type", "mime_parsing_failed", "too_large".
 * The kept bytes are the SOAP part's raw bytes.
 * Ownership: *out is new; buf is copied. limits may be NULL (defaults).
 */
XR_API XR_NODISCARD enum xr_status xr_request_parse(
    const char *content_type, const uint8_t *buf, size_t len,
    const struct xr_limits *limits, struct xr_request **out,
    struct xr_error *err);

/* Free a request. Accepts NULL. */
XR_API void xr_request_free(struct xr_request *req);

/* The exact bytes of the SOAP message. Ownership: get0, valid until free. */
XR_API struct xr_bytes xr_request_bytes(const struct xr_request *req);

/* The message id (xrd:id). Ownership: get0, valid until free. */
XR_API const char *xr_request_id(const struct xr_request *req);

/*
 * The header. A built request keeps only its bytes and the fields the
 * answer must echo; the full header is parsed back from the bytes on the
 * first call (so prefer xr_request_id() on hot paths). Returns NULL only
 * when that fails for lack of memory.
 * Ownership: get0, valid until free.
 * Thread-safety: a request is used by one thread at a time.
 */
XR_API const struct xr_header *xr_request_header(const struct xr_request *req);

/* SHA-512 of the bytes (computed once, when the request was made). */
XR_API void xr_request_sha512(const struct xr_request *req, uint8_t out[64]);

/*
 * The Body's wrapper element (parsed back from the bytes on first use for
 * built requests). Returns NULL only on allocation failure.
 * Ownership: get0, valid until xr_request_free().
 */
XR_API xmlNodePtr xr_request_body(struct xr_request *req);

/*
 * base64(SHA-512(bytes)) into out (at least XR_HASH_B64_MAX + 1 bytes):
 * the value a provider's security server puts in requestHash.
 */
XR_API void xr_request_hash(const struct xr_request *req, char *out,
                            size_t size);

/* Generate a random UUIDv4 into out (at least 37 bytes). */
XR_API XR_NODISCARD enum xr_status xr_uuid4(char *out, size_t size,
                                            struct xr_error *err);

/*
 * Generate a UUIDv7 (RFC 9562) into out (at least 37 bytes): the Unix
 * time in milliseconds, then 74 random bits. Message ids built by
 * xr_request_new() are v7, so they sort by time and an index over them
 * (vayla's audit store) grows at one end instead of at random pages.
 */
XR_API XR_NODISCARD enum xr_status xr_uuid7(char *out, size_t size,
                                            struct xr_error *err);

#ifdef __cplusplus
}
#endif
#endif

/*
 * multipart/related bodies: SOAP with attachments (SwA) and MTOM
 * (PR-MESS 2.4). Reading one that a caller or a security server sent,
 * and writing one to send, with the SOAP part (or the payload that
 * becomes it) first: the security server always takes the first part as
 * the SOAP message and does not use the `start` parameter.
 */
#ifndef XROAD_MIME_H
#define XROAD_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xroad/common.h"
#include "xroad/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XR_PART_HEADER_MAX 256 /* Content-Type, Content-ID: bytes + NUL */

/* One MIME part. */
struct xr_part {
    char content_type[XR_PART_HEADER_MAX];
    char content_id[XR_PART_HEADER_MAX]; /* without <>; "" when absent */
    struct xr_bytes data;                /* ownership stated by the giver */
};

/* Opaque: a parsed multipart/related body. */
struct xr_mime;

/*
 * Split a multipart/related body. content_type is the HTTP Content-Type
 * (it must be multipart/related with a boundary). Part 0 is the root.
 * Every part needs a Content-Type; header values must be printable
 * ASCII. Caps: limits->max_bytes for len, max_parts for the parts (NULL
 * or zero fields: the defaults).
 * Errors (err->reason): invalid_content_type (not multipart/related, no
 * boundary, a part without Content-Type), mime_parsing_failed (no
 * delimiter, unterminated part headers, a header line without ':'),
 * missing_soap (no parts), too_large, out_of_memory.
 * Ownership: *out new (xr_mime_free); the parts borrow from buf, which
 * must outlive *out. Thread-safety: reentrant.
 */
XR_API XR_NODISCARD enum xr_status xr_mime_parse(const char *content_type,
                                                 const uint8_t *buf, size_t len,
                                                 const struct xr_limits *limits,
                                                 struct xr_mime **out,
                                                 struct xr_error *err);

/* Number of parts, the root included (at least 1). */
XR_API size_t xr_mime_count(const struct xr_mime *m);

/* Part i (0 = the root), or NULL past the end. Ownership: get0, valid
 * until xr_mime_free; data borrows from the parsed buffer. */
XR_API const struct xr_part *xr_mime_part(const struct xr_mime *m, size_t i);

/* Free a parsed body. Accepts NULL. */
XR_API void xr_mime_free(struct xr_mime *m);

/*
 * The media type of a Content-Type value, lower case, without
 * parameters ("multipart/related"), into out. False when value is not a
 * content type or the media type does not fit.
 */
XR_API bool xr_mime_media(const char *value, char *out, size_t size);

/* Maximum length of the Content-Type xr_mime_write() makes, NUL incl. */
#define XR_MIME_CTYPE_MAX 512

/*
 * Write parts[0..n) as one multipart/related body: parts[0] is the root
 * (the SOAP message: text/xml for SwA, application/xop+xml for MTOM;
 * Content-Transfer-Encoding 8bit, as the security server requires), the
 * others follow as binary parts with their Content-Type and Content-ID.
 * The boundary is random and checked not to occur in any part.
 * *content_type gets the HTTP Content-Type (`multipart/related;
 * type="…"; boundary="…"`, with start-info for MTOM).
 * Errors: invalid_part (n == 0, a header value that is empty where
 * required or not printable ASCII, a root that is not XML),
 * boundary_failed (no boundary absent from the data after several
 * tries), too_large (the body would not fit in size_t), random_failed,
 * out_of_memory.
 * Ownership: *out new (free()); parts borrowed. Thread-safety: reentrant.
 */
XR_API XR_NODISCARD enum xr_status xr_mime_write(
    const struct xr_part *parts, size_t n, uint8_t **out, size_t *out_len,
    char content_type[XR_MIME_CTYPE_MAX], struct xr_error *err);

#ifdef __cplusplus
}
#endif
#endif

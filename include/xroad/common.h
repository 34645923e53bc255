/*
 * Shared macros and small types of the libxroad public API.
 */
#ifndef XROAD_COMMON_H
#define XROAD_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XR_API               __attribute__((visibility("default")))
#define XR_NODISCARD         __attribute__((warn_unused_result))
#define XR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* A borrowed byte range. The owner is stated wherever one is returned. */
struct xr_bytes {
    const uint8_t *ptr;
    size_t len;
};

/*
 * Caps applied to untrusted XML and MIME input. Zero in any field means
 * "use the default" (see XR_LIMIT_* below).
 */
struct xr_limits {
    size_t max_bytes;   /* whole HTTP body */
    unsigned max_depth; /* element nesting */
    size_t max_nodes;   /* elements + attributes + text nodes */
    unsigned max_parts; /* MIME parts in a multipart body */
    unsigned max_attrs; /* attributes (and namespace declarations) of one
                           element */
};

#define XR_LIMIT_BYTES_DEFAULT (16u * 1024u * 1024u)
#define XR_LIMIT_DEPTH_DEFAULT 64u
#define XR_LIMIT_NODES_DEFAULT 200000u
#define XR_LIMIT_PARTS_DEFAULT 32u
#define XR_LIMIT_ATTRS_DEFAULT 256u

/*
 * Length (1..4) of the strict UTF-8 sequence at p[0..n): no overlong
 * form, no UTF-16 surrogate, nothing above U+10FFFF; 0 when the bytes do
 * not start one (or n is 0). The one UTF-8 decoder of libxroad, for
 * callers that check text of their own. Thread-safety: reentrant.
 */
XR_API size_t xr_utf8_seq(const uint8_t *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif

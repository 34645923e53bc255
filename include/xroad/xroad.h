/*
 * libxroad: X-Road SOAP 4.0 message protocol for client information systems.
 *
 * Umbrella header. libxroad builds request envelopes, judges responses and
 * faults, and (later) verifies signed ASiC-E containers. It never logs, never
 * reads configuration files and never opens network connections: it builds
 * and validates bytes, the adapter moves them.
 */
#ifndef XROAD_XROAD_H
#define XROAD_XROAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xroad/common.h"
#include "xroad/error.h"
#include "xroad/id.h"
#include "xroad/envelope.h"
#include "xroad/fault.h"
#include "xroad/mime.h"
#include "xroad/response.h"
#include "xroad/meta.h"
#include "xroad/asic.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Initialise libxml2 and the library's process-global state: a deny-all
 * external entity loader, and libxml2's generic error channel silenced (it
 * would write parts of untrusted input to stderr; errors are reported
 * through struct xr_error instead). Call once from main() before any
 * thread exists.
 * Returns XR_OK or an error.
 * Thread-safety: not thread-safe; call before starting threads.
 */
XR_API XR_NODISCARD enum xr_status xr_global_init(struct xr_error *err);

/* Undo xr_global_init(). Thread-safety: call after all threads have ended. */
XR_API void xr_global_cleanup(void);

#define XR_SHA512_LEN 64
#define XR_SHA256_LEN 32

/*
 * SHA-512 (SHA-256) of data[0..len) into out. xr_global_init() fetches
 * both algorithms once; without it each call looks the algorithm up in
 * OpenSSL's provider store again, under its lock, as EVP_sha512() does.
 * Returns false when OpenSSL fails (out is then unspecified).
 * Thread-safety: reentrant.
 */
XR_API XR_NODISCARD bool xr_sha512(const void *data, size_t len,
                                   uint8_t out[XR_SHA512_LEN]);
XR_API XR_NODISCARD bool xr_sha256(const void *data, size_t len,
                                   uint8_t out[XR_SHA256_LEN]);

/* Library version, e.g. "0.1.0". Static string. */
XR_API const char *xr_version(void);

#ifdef __cplusplus
}
#endif
#endif

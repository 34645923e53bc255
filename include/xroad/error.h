/*
 * Error reporting: every fallible libxroad function returns enum xr_status
 * and takes `struct xr_error *err` as its last parameter (may be NULL).
 */
#ifndef XROAD_ERROR_H
#define XROAD_ERROR_H

#include "xroad/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum xr_status {
    XR_OK = 0,
    XR_ENOMEM,    /* allocation failed */
    XR_EINVAL,    /* caller passed bad arguments or bad input values */
    XR_ELIMIT,    /* input exceeded a size/count/depth limit */
    XR_EPARSE,    /* not well-formed XML / MIME / base64 */
    XR_EPROTO,    /* well-formed but violates X-Road/SOAP rules */
    XR_ESIG,      /* digest or signature mismatch (requestHash, ...) */
    XR_ECERT,     /* chain, OCSP or time-stamp validation failed */
    XR_EIO,       /* system error; see sys_errno */
    XR_ETIMEDOUT, /* deadline exceeded */
    XR_EINTERNAL  /* bug or unexpected library state */
};

#define XR_ERRMSG_MAX   256
#define XR_ERRFIELD_MAX 48

/*
 * Filled by the function that failed. `reason` is a stable snake_case code
 * that scripts and HTTP clients may depend on (for example
 * "request_hash_mismatch", "header_mismatch", "malformed_xml"); `field`
 * names the offending header field or input, when there is one; `msg` is a
 * human sentence for operators. None of them ever holds a secret.
 */
struct xr_error {
    enum xr_status code;
    const char *reason;          /* static string, never NULL after a set */
    char field[XR_ERRFIELD_MAX]; /* e.g. "userId"; "" when not applicable */
    int sys_errno;               /* errno of a failed system call, or 0 */
    unsigned long ssl_err;       /* first OpenSSL ERR_get_error(), or 0 */
    char msg[XR_ERRMSG_MAX];     /* for operators: no secrets, no PII */
};

/* Static name of a status, e.g. "XR_EPROTO". Never NULL. */
XR_API const char *xr_strerror(enum xr_status code);

/* Reset *err to XR_OK with empty texts. Accepts NULL. */
XR_API void xr_error_clear(struct xr_error *err);

/*
 * Fill *err (if not NULL) and return `code`. Public so that the adapter and
 * service modules report errors in the same shape.
 * Ownership: `reason` must be a static string; it is stored, not copied.
 */
XR_API enum xr_status xr_error_set(struct xr_error *err, enum xr_status code,
                                   const char *reason, const char *field,
                                   const char *fmt, ...) XR_PRINTF(5, 6);

/*
 * As xr_error_set() for a failed system call: also stores errnum in
 * err->sys_errno and appends ": " and strerror(errnum) to the message.
 */
XR_API enum xr_status xr_error_set_errno(struct xr_error *err,
                                         enum xr_status code, int errnum,
                                         const char *reason, const char *field,
                                         const char *fmt, ...) XR_PRINTF(6, 7);

#ifdef __cplusplus
}
#endif
#endif

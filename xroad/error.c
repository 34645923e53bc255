/*
 * Error reporting: one struct, filled once, never allocating.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *xr_strerror(enum xr_status code)
{
    switch (code) {
    case XR_OK:
        return "XR_OK";
    case XR_ENOMEM:
        return "XR_ENOMEM";
    case XR_EINVAL:
        return "XR_EINVAL";
    case XR_ELIMIT:
        return "XR_ELIMIT";
    case XR_EPARSE:
        return "XR_EPARSE";
    case XR_EPROTO:
        return "XR_EPROTO";
    case XR_ESIG:
        return "XR_ESIG";
    case XR_ECERT:
        return "XR_ECERT";
    case XR_EIO:
        return "XR_EIO";
    case XR_ETIMEDOUT:
        return "XR_ETIMEDOUT";
    case XR_EINTERNAL:
        return "XR_EINTERNAL";
    }
    return "XR_EUNKNOWN";
}

void xr_error_clear(struct xr_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof(*err));
    err->reason = "";
}

static void set_v(struct xr_error *err, enum xr_status code, const char *reason,
                  const char *field, const char *fmt, va_list ap)
    XR_PRINTF(5, 0);

static void set_v(struct xr_error *err, enum xr_status code, const char *reason,
                  const char *field, const char *fmt, va_list ap)
{
    err->code = code;
    err->reason = reason ? reason : "";
    err->sys_errno = 0;
    err->ssl_err = 0;
    xr__strlcpy(err->field, field ? field : "", sizeof(err->field));
    err->field[xr__utf8_trim(err->field, strlen(err->field))] = '\0';
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    /* Messages quote untrusted text with %.Ns: never end mid-character. */
    err->msg[xr__utf8_trim(err->msg, strlen(err->msg))] = '\0';
}

enum xr_status xr_error_set_errno(struct xr_error *err, enum xr_status code,
                                  int errnum, const char *reason,
                                  const char *field, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    if (!err)
        return code;
    va_start(ap, fmt);
    set_v(err, code, reason, field, fmt, ap);
    va_end(ap);
    err->sys_errno = errnum;
    n = strlen(err->msg);
    if (errnum != 0 && n < sizeof(err->msg))
        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
    return code;
}

enum xr_status xr_error_set(struct xr_error *err, enum xr_status code,
                            const char *reason, const char *field,
                            const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    va_start(ap, fmt);
    set_v(err, code, reason, field, fmt, ap);
    va_end(ap);
    return code;
}

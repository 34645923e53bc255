/*
 * Small adapter utilities: bounded file reading, secret wiping.
 */
#ifndef VAYLA_UTIL_H
#define VAYLA_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <xroad/error.h>

/*
 * Read a whole file (or "-" for stdin) of at most max_bytes into a new
 * NUL-terminated buffer (*out, free()). Errors: XR_EIO ("io_error", message
 * names the path and errno), XR_ELIMIT ("too_large").
 */
enum xr_status adp_file_read(const char *path, size_t max_bytes, uint8_t **out,
                             size_t *out_len, struct xr_error *err);

/* Overwrite then free a secret buffer. Accepts NULL. */
void adp_secret_free(char *s);

#endif

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util.h"

enum xr_status adp_file_read(const char *path, size_t max_bytes, uint8_t **out,
                             size_t *out_len, struct xr_error *err)
{
    FILE *f = NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    enum xr_status rc;
    bool is_stdin = strcmp(path, "-") == 0;

    *out = NULL;
    *out_len = 0;
    f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        rc = xr_error_set(err, XR_EIO, "io_error", "", "%s: %s", path,
                          strerror(errno));
        goto out;
    }
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            uint8_t *nbuf;
            if (ncap > max_bytes + 1)
                ncap = max_bytes + 1;
            if (ncap <= len) {
                rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                                  "%s: larger than %zu bytes", path, max_bytes);
                goto out;
            }
            nbuf = realloc(buf, ncap + 1);
            if (!nbuf) {
                rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                  "%s: out of memory", path);
                goto out;
            }
            buf = nbuf;
            cap = ncap;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                rc = xr_error_set(err, XR_EIO, "io_error", "", "%s: %s", path,
                                  strerror(errno));
                goto out;
            }
            break;
        }
        if (len > max_bytes) {
            rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                              "%s: larger than %zu bytes", path, max_bytes);
            goto out;
        }
    }
    if (!buf) {
        buf = malloc(1);
        if (!buf) {
            rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                              "%s: out of memory", path);
            goto out;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = XR_OK;
out:
    free(buf);
    if (f && !is_stdin)
        fclose(f);
    return rc;
}

void adp_secret_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

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
        rc = xr_error_set_errno(err, XR_EIO, errno, "io_error", "", "%s", path);
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
                rc = xr_error_set_errno(err, XR_EIO, errno, "io_error", "",
                                        "%s", path);
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

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool adp_hex_decode(const char *text, uint8_t *out, size_t n)
{
    bool colons = strchr(text, ':') != NULL;
    const char *s = text;

    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (i > 0 && colons && *s++ != ':')
            return false;
        hi = hexval(s[0]);
        lo = hi < 0 ? -1 : hexval(s[1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return *s == '\0';
}

void adp_hex_encode(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

int64_t adp_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t adp_mono_ms(void)
{
    return adp_mono_us() / 1000;
}

int adp_tls_load_crl(X509_STORE *store, const char *path, char *why,
                     size_t why_size)
{
    struct stat st;
    X509_LOOKUP *lu;
    int n;

    if (stat(path, &st) != 0) {
        snprintf(why, why_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        lu = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
        n = lu ? X509_LOOKUP_add_dir(lu, path, X509_FILETYPE_PEM) : 0;
    } else {
        lu = X509_STORE_add_lookup(store, X509_LOOKUP_file());
        n = lu ? X509_load_crl_file(lu, path, X509_FILETYPE_PEM) : 0;
    }
    if (n <= 0) {
        unsigned long e = ERR_peek_last_error();
        snprintf(why, why_size, "%s: no CRL could be loaded (%s)", path,
                 e ? ERR_reason_error_string(e) : "empty");
        ERR_clear_error();
        return -1;
    }
    X509_STORE_set_flags(store,
                         X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    return 0;
}

void adp_thread_name(const char *name)
{
    char n[16];

    snprintf(n, sizeof(n), "%s", name);
    (void)prctl(PR_SET_NAME, (unsigned long)n, 0UL, 0UL, 0UL);
}

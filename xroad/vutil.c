/*
 * Helpers of the signed-document verifier: base64, digests, times, names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "vutil.h"

/* Base64 digit values; 64 marks white space, 65 anything else. */
static const uint8_t b64_table[256] = {
    65, 65, 65, 65, 65, 65, 65, 65, 65, 64, 64, 65, 65, 64, 65, 65, 65, 65, 65,
    65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 64, 65, 65, 65, 65, 65,
    65, 65, 65, 65, 65, 62, 65, 65, 65, 63, 52, 53, 54, 55, 56, 57, 58, 59, 60,
    61, 65, 65, 65, 65, 65, 65, 65, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
    11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 65, 65, 65, 65,
    65, 65, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42,
    43, 44, 45, 46, 47, 48, 49, 50, 51, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65,
    65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65,
    65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65,
    65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65,
    65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65,
    65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65,
    65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65, 65,
    65, 65, 65, 65, 65, 65, 65, 65, 65};

static int b64_value(unsigned char c)
{
    return b64_table[c] < 64 ? b64_table[c] : -1;
}

static bool is_space(unsigned char c)
{
    return b64_table[c] == 64;
}

enum xr_status xr__b64_decode(const char *text, size_t len, uint8_t **out,
                              size_t *out_len, const char *what,
                              const char *reason, struct xr_error *err)
{
    uint8_t *buf;
    size_t o = 0, pad = 0, nch = 0;
    uint32_t acc = 0;

    *out = NULL;
    *out_len = 0;
    /* Every 4 characters give at most 3 bytes. */
    buf = malloc(len / 4 * 3 + 3);
    if (!buf)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory decoding %s", what);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        int v = b64_table[c];

        if (v == 64)
            continue;
        if (v < 64 && pad == 0) {
            acc = (acc << 6) | (uint32_t)v;
            if (++nch % 4 == 0) {
                buf[o++] = (uint8_t)(acc >> 16);
                buf[o++] = (uint8_t)(acc >> 8);
                buf[o++] = (uint8_t)acc;
                acc = 0;
            }
            continue;
        }
        if (c == '=') {
            pad++;
            if (pad > 2)
                goto bad;
            v = 0;
        } else {
            v = b64_value(c);
            if (v < 0 || pad > 0)
                goto bad;
        }
        acc = (acc << 6) | (uint32_t)v;
        nch++;
        if (nch % 4 == 0) {
            buf[o++] = (uint8_t)(acc >> 16);
            buf[o++] = (uint8_t)(acc >> 8);
            buf[o++] = (uint8_t)acc;
            acc = 0;
            if (pad > 0)
                break;
        }
    }
    if (nch % 4 != 0)
        goto bad;
    /* Nothing but white space may follow the padding. */
    if (pad > 0) {
        size_t seen = 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)text[i];
            if (is_space(c))
                continue;
            if (++seen > nch)
                goto bad;
        }
        /* The bits that padding drops must be zero (canonical form). */
        if ((pad == 1 && (buf[o - 1] != 0)) ||
            (pad == 2 && (buf[o - 1] != 0 || buf[o - 2] != 0)))
            goto bad;
        o -= pad;
    }
    *out = buf;
    *out_len = o;
    return XR_OK;
bad:
    free(buf);
    return xr_error_set(err, XR_EPARSE, reason, "", "%s is not valid base64",
                        what);
}

char *xr__node_text(const xmlNode *node, size_t *len, bool *too_long)
{
    size_t n = 0;
    char *buf;

    *len = 0;
    *too_long = false;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
            c->content)
            n += strlen(xr__cs(c->content));
        if (n > XR__B64_TEXT_MAX) {
            *too_long = true;
            return NULL;
        }
    }
    buf = malloc(n + 1);
    if (!buf)
        return NULL;
    n = 0;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
            c->content) {
            size_t l = strlen(xr__cs(c->content));
            memcpy(buf + n, c->content, l);
            n += l;
        }
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

enum xr_status xr__node_b64(const xmlNode *node, uint8_t **out, size_t *out_len,
                            const char *what, const char *reason,
                            struct xr_error *err)
{
    size_t len;
    bool too_long;
    char *text = xr__node_text(node, &len, &too_long);
    enum xr_status rc;

    *out = NULL;
    *out_len = 0;
    if (!text) {
        if (too_long)
            return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                "%s is longer than %u bytes", what,
                                XR__B64_TEXT_MAX);
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory reading %s", what);
    }
    rc = xr__b64_decode(text, len, out, out_len, what, reason, err);
    free(text);
    return rc;
}

static const struct {
    const char *uri;
    int nid;
} md_uris[] = {
    {"http://www.w3.org/2001/04/xmlenc#sha256", NID_sha256},
    {"http://www.w3.org/2001/04/xmldsig-more#sha384", NID_sha384},
    {"http://www.w3.org/2001/04/xmlenc#sha512", NID_sha512},
    {"SHA-256", NID_sha256},
    {"SHA-384", NID_sha384},
    {"SHA-512", NID_sha512},
};

const EVP_MD *xr__md_by_uri(const char *uri)
{
    if (!uri)
        return NULL;
    for (size_t i = 0; i < sizeof(md_uris) / sizeof(md_uris[0]); i++) {
        if (!strcmp(uri, md_uris[i].uri)) {
            switch (md_uris[i].nid) {
            case NID_sha256:
                return EVP_sha256();
            case NID_sha384:
                return EVP_sha384();
            default:
                return EVP_sha512();
            }
        }
    }
    return NULL;
}

const char *xr__md_uri(const EVP_MD *md)
{
    if (!md)
        return NULL;
    for (size_t i = 0; i < 3; i++)
        if (EVP_MD_get_type(md) == md_uris[i].nid)
            return md_uris[i].uri;
    return NULL;
}

bool xr__digest(const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *out,
                unsigned *out_len)
{
    return EVP_Digest(data, len, out, out_len, md, NULL) == 1;
}

/*
 * Seconds since the epoch of a UTC calendar time. timegm() takes the
 * time-zone lock and reads the environment on every call; this is plain
 * arithmetic (days from the civil date, proleptic Gregorian).
 */
static int64_t utc_seconds(int64_t y, int64_t mo, int64_t d, int64_t h,
                           int64_t mi, int64_t s)
{
    int64_t era, yoe, doy, doe;

    y -= mo <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return ((era * 146097 + doe - 719468) * 86400) + h * 3600 + mi * 60 + s;
}

bool xr__asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return false;
    *out = utc_seconds((int64_t)tm.tm_year + 1900, (int64_t)tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return true;
}

/* Read exactly n digits at *p into *v. */
static bool digits(const char **p, int n, int *v)
{
    int r = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        r = r * 10 + (c - '0');
    }
    *p += n;
    *v = r;
    return true;
}

bool xr__xsd_datetime(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    const char *p = s;
    int64_t t;

    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
        *p++ != '-' || !digits(&p, 2, &d) || *p++ != 'T' ||
        !digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) ||
        *p++ != ':' || !digits(&p, 2, &sec))
        return false;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        for (int n = 0; *p >= '0' && *p <= '9'; p++)
            if (++n > 12)
                return false;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) ||
            oh > 14 || om > 59)
            return false;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60)
        return false;
    t = utc_seconds(y, mo, d, h, mi, sec);
    t -= (int64_t)sign * (oh * 3600 + om * 60);
    *out = t;
    return true;
}

void xr__iso_time(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (size == 0)
        return;
    buf[0] = '\0';
    if (!gmtime_r(&tt, &tm))
        return;
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void xr__hex(const uint8_t *p, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[p[i] >> 4];
        out[2 * i + 1] = h[p[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

void xr__name_text(const X509_NAME *name, char *buf, size_t size)
{
    BIO *b;
    char *p = NULL;
    long n;

    if (size == 0)
        return;
    buf[0] = '\0';
    b = BIO_new(BIO_s_mem());
    if (!b)
        return;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
        n = BIO_get_mem_data(b, &p);
        if (n > 0 && p) {
            size_t c = (size_t)n < size - 1 ? (size_t)n : size - 1;
            memcpy(buf, p, c);
            buf[c] = '\0';
            buf[xr__utf8_trim(buf, c)] = '\0';
        }
    }
    BIO_free(b);
}

uint8_t *xr__cert_der(X509 *cert, size_t *len)
{
    unsigned char *der = NULL, *p;
    int n = i2d_X509(cert, NULL);

    *len = 0;
    if (n <= 0)
        return NULL;
    der = malloc((size_t)n);
    if (!der)
        return NULL;
    p = der;
    if (i2d_X509(cert, &p) != n) {
        free(der);
        return NULL;
    }
    *len = (size_t)n;
    return der;
}

X509 *xr__cert_parse(const uint8_t *p, size_t len)
{
    static const char pem[] = "-----BEGIN";
    const unsigned char *q = p;
    size_t i = 0;

    if (len > (size_t)INT32_MAX)
        return NULL;
    while (i < len && is_space(p[i]))
        i++;
    if (len - i >= sizeof(pem) - 1 && !memcmp(p + i, pem, sizeof(pem) - 1)) {
        BIO *b = BIO_new_mem_buf(p, (int)len);
        X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        return x;
    }
    {
        X509 *x = d2i_X509(NULL, &q, (long)len);
        /* Trailing bytes after the certificate are not a certificate. */
        if (x && q != p + len) {
            X509_free(x);
            return NULL;
        }
        return x;
    }
}

bool xr__ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return *a == *b;
}

bool xr__utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint8_t c = s[i];
        uint32_t cp;
        size_t n;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

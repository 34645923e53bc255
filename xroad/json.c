/*
 * A small pull reader for JSON (RFC 8259) over a byte buffer, for the
 * metaservice and operational-monitoring answers (internal.h). It builds
 * no tree: the caller walks the document and keeps only what it needs,
 * so a hostile document costs no more memory than its caller's caps
 * allow. Strings are decoded (escapes, surrogate pairs) into a scratch
 * buffer of fixed size and checked as strict UTF-8; nesting is capped.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void xr__json_init(struct xr__json *j, const uint8_t *buf, size_t len,
                   char *scratch, size_t scratch_size, unsigned max_depth,
                   const char *reason)
{
    memset(j, 0, sizeof(*j));
    j->p = buf;
    j->start = buf;
    j->end = buf + len;
    j->scratch = scratch;
    j->scratch_size = scratch_size;
    j->max_depth = max_depth;
    j->reason = reason;
}

enum xr_status xr__json_fail(struct xr__json *j, const char *what,
                             struct xr_error *err)
{
    return xr_error_set(err, XR_EPARSE, j->reason, "", "%s at byte %zu", what,
                        (size_t)(j->p - j->start));
}

static void skip_ws(struct xr__json *j)
{
    while (j->p < j->end &&
           (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

int xr__json_peek(struct xr__json *j)
{
    skip_ws(j);
    return j->p < j->end ? *j->p : -1;
}

enum xr_status xr__json_expect(struct xr__json *j, char c, struct xr_error *err)
{
    char what[40];

    if (xr__json_peek(j) != (unsigned char)c) {
        snprintf(what, sizeof(what), "expected '%c'", c);
        return xr__json_fail(j, what, err);
    }
    j->p++;
    if (c == '{' || c == '[') {
        if (j->depth >= j->max_depth)
            return xr_error_set(err, XR_ELIMIT, j->reason, "",
                                "JSON nested deeper than %u levels",
                                j->max_depth);
        j->depth++;
    }
    return XR_OK;
}

enum xr_status xr__json_more(struct xr__json *j, char close, bool *first,
                             bool *more, struct xr_error *err)
{
    int c = xr__json_peek(j);

    *more = false;
    if (c == (unsigned char)close) {
        j->p++;
        j->depth--;
        return XR_OK;
    }
    if (!*first) {
        if (c != ',')
            return xr__json_fail(j, "expected ',' or the end of a container",
                                 err);
        j->p++;
        /* "[1,]" and "{"a":1,}" are not JSON: something must follow. */
        c = xr__json_peek(j);
        if (c == ']' || c == '}' || c < 0)
            return xr__json_fail(j, "trailing comma", err);
    }
    *first = false;
    *more = true;
    return XR_OK;
}

/* Four hex digits at p (bounded by end). */
static bool hex4(const uint8_t *p, const uint8_t *end, unsigned *out)
{
    unsigned v = 0;

    if (end - p < 4)
        return false;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        v = (v << 4) | d;
    }
    *out = v;
    return true;
}

/*
 * Append bytes to the scratch buffer, or only count them. A string that
 * does not fit fails, unless the reader is decoding a key (j->clip): a
 * long key is simply not one of the known names.
 */
static bool put(struct xr__json *j, bool store, size_t *o, const void *s,
                size_t n)
{
    if (store && !j->clipped) {
        if (*o + n >= j->scratch_size) {
            if (!j->clip)
                return false;
            j->clipped = true;
        } else {
            memcpy(j->scratch + *o, s, n);
        }
    }
    *o += n;
    return true;
}

static size_t encode_utf8(unsigned cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One escape after the backslash at j->p; the code point into *cp. */
static enum xr_status escape(struct xr__json *j, unsigned *cp,
                             struct xr_error *err)
{
    unsigned hi, lo;
    uint8_t c;

    if (j->p >= j->end)
        return xr__json_fail(j, "unterminated string", err);
    c = *j->p++;
    switch (c) {
    case '"':
    case '\\':
    case '/':
        *cp = c;
        return XR_OK;
    case 'b':
        *cp = '\b';
        return XR_OK;
    case 'f':
        *cp = '\f';
        return XR_OK;
    case 'n':
        *cp = '\n';
        return XR_OK;
    case 'r':
        *cp = '\r';
        return XR_OK;
    case 't':
        *cp = '\t';
        return XR_OK;
    case 'u':
        break;
    default:
        return xr__json_fail(j, "invalid escape in a string", err);
    }
    if (!hex4(j->p, j->end, &hi))
        return xr__json_fail(j, "invalid \\u escape", err);
    j->p += 4;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return xr__json_fail(j, "unpaired UTF-16 surrogate", err);
    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = hi;
        return XR_OK;
    }
    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
        !hex4(j->p + 2, j->end, &lo) || lo < 0xdc00 || lo > 0xdfff)
        return xr__json_fail(j, "unpaired UTF-16 surrogate", err);
    j->p += 6;
    *cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
    return XR_OK;
}

static enum xr_status string(struct xr__json *j, bool store, const char **out,
                             size_t *len, struct xr_error *err)
{
    size_t o = 0;
    enum xr_status rc;

    if (xr__json_peek(j) != '"')
        return xr__json_fail(j, "expected a string", err);
    j->p++;
    for (;;) {
        const uint8_t *run = j->p;
        char enc[4];
        unsigned cp = 0;
        size_t n;

        /* A run of plain characters, copied at once. */
        while (j->p < j->end && *j->p != '"' && *j->p != '\\' &&
               *j->p >= 0x20 && *j->p < 0x80)
            j->p++;
        if (!put(j, store, &o, run, (size_t)(j->p - run)))
            goto too_long;
        if (j->p >= j->end)
            return xr__json_fail(j, "unterminated string", err);
        if (*j->p == '"') {
            j->p++;
            break;
        }
        if (*j->p < 0x20)
            return xr__json_fail(j, "control character in a string", err);
        if (*j->p == '\\') {
            j->p++;
            rc = escape(j, &cp, err);
            if (rc != XR_OK)
                return rc;
            if (cp == 0)
                return xr__json_fail(j, "NUL character in a string", err);
            n = encode_utf8(cp, enc);
            if (!put(j, store, &o, enc, n))
                goto too_long;
            continue;
        }
        n = xr__utf8_seq(j->p, j->end);
        if (n == 0)
            return xr__json_fail(j, "invalid UTF-8 in a string", err);
        if (!put(j, store, &o, j->p, n))
            goto too_long;
        j->p += n;
    }
    if (store) {
        j->scratch[j->clipped ? 0 : o] = '\0';
        *out = j->scratch;
    }
    if (len)
        *len = o;
    return XR_OK;
too_long:
    return xr_error_set(err, XR_ELIMIT, j->reason, "",
                        "a string at byte %zu is longer than %zu bytes",
                        (size_t)(j->p - j->start), j->scratch_size - 1);
}

enum xr_status xr__json_string(struct xr__json *j, const char **out,
                               size_t *len, struct xr_error *err)
{
    return string(j, true, out, len, err);
}

enum xr_status xr__json_key(struct xr__json *j, char *key, size_t size,
                            struct xr_error *err)
{
    char *scratch = j->scratch;
    size_t scratch_size = j->scratch_size;
    const char *s = NULL;
    enum xr_status rc;

    /* Decoded into the caller's small buffer; a key that does not fit
     * comes back as "" (no known name is that long). */
    j->scratch = key;
    j->scratch_size = size;
    j->clip = true;
    j->clipped = false;
    rc = string(j, true, &s, NULL, err);
    j->scratch = scratch;
    j->scratch_size = scratch_size;
    j->clip = false;
    j->clipped = false;
    if (rc != XR_OK)
        return rc;
    return xr__json_expect(j, ':', err);
}

enum xr_status xr__json_int(struct xr__json *j, int64_t *out,
                            struct xr_error *err)
{
    bool neg = false;
    uint64_t v = 0;
    const uint8_t *digits;

    skip_ws(j);
    if (j->p < j->end && *j->p == '-') {
        neg = true;
        j->p++;
    }
    digits = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned d = (unsigned)(*j->p - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return xr_error_set(err, XR_ELIMIT, j->reason, "",
                                "an integer at byte %zu is out of range",
                                (size_t)(digits - j->start));
        v = v * 10 + d;
        j->p++;
    }
    if (j->p == digits || (*digits == '0' && j->p - digits > 1))
        return xr__json_fail(j, "expected an integer", err);
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E' ||
                          *j->p == '-' || *j->p == '+'))
        return xr__json_fail(j, "expected an integer, not a fraction", err);
    *out = neg ? -(int64_t)v : (int64_t)v;
    return XR_OK;
}

/* A number of any form, validated and skipped. */
static enum xr_status number(struct xr__json *j, struct xr_error *err)
{
    const uint8_t *d;

    if (j->p < j->end && *j->p == '-')
        j->p++;
    d = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    if (j->p == d || (*d == '0' && j->p - d > 1))
        return xr__json_fail(j, "invalid number", err);
    if (j->p < j->end && *j->p == '.') {
        d = ++j->p;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
        if (j->p == d)
            return xr__json_fail(j, "invalid number", err);
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        d = j->p;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
        if (j->p == d)
            return xr__json_fail(j, "invalid number", err);
    }
    return XR_OK;
}

enum xr_status xr__json_literal(struct xr__json *j, enum xr__json_lit *out,
                                struct xr_error *err)
{
    static const struct {
        const char *text;
        enum xr__json_lit lit;
    } lits[] = {{"true", XR__JSON_TRUE},
                {"false", XR__JSON_FALSE},
                {"null", XR__JSON_NULL}};

    skip_ws(j);
    for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
        size_t n = strlen(lits[i].text);
        if ((size_t)(j->end - j->p) >= n && !memcmp(j->p, lits[i].text, n)) {
            j->p += n;
            *out = lits[i].lit;
            return XR_OK;
        }
    }
    return xr__json_fail(j, "expected true, false or null", err);
}

enum xr_status xr__json_skip(struct xr__json *j, struct xr_error *err)
{
    int c = xr__json_peek(j);
    enum xr__json_lit lit;
    enum xr_status rc;
    bool first = true, more = false;
    char key[2];

    switch (c) {
    case '"':
        return string(j, false, NULL, NULL, err);
    case '{':
    case '[':
        rc = xr__json_expect(j, (char)c, err);
        /* Recursion is bounded by max_depth, checked in expect(). */
        while (rc == XR_OK) {
            rc = xr__json_more(j, c == '{' ? '}' : ']', &first, &more, err);
            if (rc != XR_OK || !more)
                break;
            if (c == '{')
                rc = xr__json_key(j, key, sizeof(key), err);
            if (rc == XR_OK)
                rc = xr__json_skip(j, err);
        }
        return rc;
    case 't':
    case 'f':
    case 'n':
        return xr__json_literal(j, &lit, err);
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return number(j, err);
        return xr__json_fail(j, "expected a value", err);
    }
}

enum xr_status xr__json_end(struct xr__json *j, struct xr_error *err)
{
    if (xr__json_peek(j) >= 0)
        return xr__json_fail(j, "data after the JSON document", err);
    return XR_OK;
}

/*
 * Small text helpers with no dependencies inside the library: bounded
 * copies, UTF-8-safe truncation and the XML text writer used to build
 * envelopes. error.c and util.c both build on this file.
 */
#include <string.h>

#include "internal.h"

size_t xr__strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);

    if (size > 0) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

size_t xr__utf8_trim(const char *s, size_t len)
{
    size_t i = len, cont = 0, need;
    unsigned char c;

    /* Walk back over at most three continuation bytes to a lead byte. */
    while (i > 0 && cont < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
        i--;
        cont++;
    }
    if (i == 0)
        return len;
    c = (unsigned char)s[i - 1];
    if (c < 0x80)
        return len;
    if (c >= 0xf0)
        need = 4;
    else if (c >= 0xe0)
        need = 3;
    else if (c >= 0xc0)
        need = 2;
    else
        return len; /* not UTF-8 to begin with: leave it */
    return cont + 1 >= need ? len : i - 1;
}

const char *xr__clip(char *buf, size_t size, const char *s)
{
    size_t n;

    if (size == 0)
        return "";
    n = strlen(s);
    if (n >= size)
        n = xr__utf8_trim(s, size - 1);
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

void xr__tw_put(struct xr__tw *w, const char *s, size_t n)
{
    if (w->p)
        memcpy(w->p + w->n, s, n);
    w->n += n;
}

void xr__tw_str(struct xr__tw *w, const char *s)
{
    xr__tw_put(w, s, strlen(s));
}

void xr__tw_text(struct xr__tw *w, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *rep;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '\r':
            rep = "&#13;";
            break;
        default:
            continue;
        }
        xr__tw_put(w, run, (size_t)(s - run));
        xr__tw_str(w, rep);
        run = s + 1;
    }
    xr__tw_put(w, run, (size_t)(s - run));
}

/* Length of a strict UTF-8 sequence at p (no overlongs, no surrogates,
 * at most U+10FFFF), 0 when invalid. */
size_t xr_utf8_seq(const uint8_t *p, size_t n)
{
    return n > 0 ? xr__utf8_seq(p, p + n) : 0;
}

size_t xr__utf8_seq(const uint8_t *p, const uint8_t *end)
{
    size_t n = (size_t)(end - p);
    uint8_t c = p[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && p[1] < 0xa0)
            return 0; /* overlong */
        if (c == 0xed && p[1] >= 0xa0)
            return 0; /* UTF-16 surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
            (p[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && p[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xf4 && p[1] >= 0x90)
            return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

bool xr__text_clean(const char *s, size_t len, bool newlines)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + len;

    while (p < end) {
        size_t n = xr__utf8_seq(p, end);
        if (n == 0)
            return false;
        if (n == 1 && (*p < 0x20 || *p == 0x7f) &&
            !(newlines && (*p == '\t' || *p == '\n' || *p == '\r')))
            return false;
        /* C1 controls U+0080..U+009F are C2 80..C2 9F. */
        if (n == 2 && p[0] == 0xc2 && p[1] <= 0x9f)
            return false;
        p += n;
    }
    return true;
}

bool xr__xml_chars(const uint8_t *b, size_t n)
{
    const uint8_t *p = b, *end = b + n;

    while (p < end) {
        size_t k;
        if (*p >= 0x20 && *p < 0x80) { /* the common case */
            p++;
            continue;
        }
        k = xr__utf8_seq(p, end);
        if (k == 0 || (k == 1 && *p != '\t' && *p != '\n' && *p != '\r'))
            return false;
        if (k == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe)
            return false; /* U+FFFE, U+FFFF */
        p += k;
    }
    return true;
}

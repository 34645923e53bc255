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

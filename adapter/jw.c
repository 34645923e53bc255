/*
 * The compact JSON text writer behind adp_json_dump_line() and the
 * answer documents (jdoc.h): one growing buffer, no callback per token,
 * no printf for integers; byte for byte what jansson's
 * json_dumps(JSON_COMPACT) writes for the same values.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jw.h"

#define JW_MAX_DEPTH 64

/* Stop writing: the result is thrown away; no later room check passes. */
void jw_fail(struct jw *w)
{
    w->failed = true;
    w->cap = w->n;
}

/* Make room for `need` more bytes: the slow path of jw_room(). */
bool jw_grow(struct jw *w, size_t need)
{
    size_t cap;
    char *p;

    if (w->failed)
        return false;
    cap = w->cap ? w->cap : 4096; /* a person answer is about 3 KB */
    while (cap - w->n < need) {
        if (cap > SIZE_MAX / 2) {
            jw_fail(w);
            return false;
        }
        cap *= 2;
    }
    p = realloc(w->p, cap);
    if (!p) {
        jw_fail(w);
        return false;
    }
    w->p = p;
    w->cap = cap;
    return true;
}

/*
 * How a byte is escaped in a JSON string: 0 not at all, 'u' as \u00XX,
 * any other letter as a backslash and that letter (controls, '"', '\\').
 */
static const char jw_escape[256] = {
    [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u',  [0x04] = 'u',
    [0x05] = 'u', [0x06] = 'u', [0x07] = 'u', [0x08] = 'b',  [0x09] = 't',
    [0x0a] = 'n', [0x0b] = 'u', [0x0c] = 'f', [0x0d] = 'r',  [0x0e] = 'u',
    [0x0f] = 'u', [0x10] = 'u', [0x11] = 'u', [0x12] = 'u',  [0x13] = 'u',
    [0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u',  [0x18] = 'u',
    [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u',  [0x1d] = 'u',
    [0x1e] = 'u', [0x1f] = 'u', ['"'] = '"',  ['\\'] = '\\',
};

/* s[from..n) escaped, after the plain run before it was written. */
static void jw_string_escaped(struct jw *w, const char *s, size_t from,
                              size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = from;

    for (size_t i = from; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e = jw_escape[c];

        if (!e)
            continue;
        jw_put(w, s + run, i - run);
        run = i + 1;
        {
            const char esc[6] = {'\\', e, '0', '0', hex[c >> 4], hex[c & 15]};
            jw_put(w, esc, e == 'u' ? 6 : 2);
        }
    }
    jw_put(w, s + run, n - run);
}

/*
 * Almost every string of an answer needs no escape: it goes out with one
 * room check and one copy, quotes included.
 */
void jw_string(struct jw *w, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && !jw_escape[(unsigned char)s[i]])
        i++;
    if (i == n) {
        if (n <= SIZE_MAX - 2 && jw_room(w, n + 2)) {
            char *p = w->p + w->n;
            p[0] = '"';
            memcpy(p + 1, s, n);
            p[n + 1] = '"';
            w->n += n + 2;
        }
        return;
    }
    jw_putc(w, '"');
    jw_put(w, s, i);
    jw_string_escaped(w, s, i, n);
    jw_putc(w, '"');
}

void jw_integer(struct jw *w, json_int_t v)
{
    char buf[24];
    size_t i = sizeof(buf);
    /* Through unsigned, so the most negative value has a magnitude. */
    unsigned long long u =
        v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[--i] = '-';
    jw_put(w, buf + i, sizeof(buf) - i);
}

static void jw_real(struct jw *w, double v)
{
    char buf[40];
    int n;

    if (!isfinite(v)) {
        jw_fail(w);
        return;
    }
    /* As jansson: %.17g, with ".0" when it would read as an integer. */
    n = snprintf(buf, sizeof(buf), "%.17g", v);
    if (n <= 0 || (size_t)n >= sizeof(buf) - 2) {
        jw_fail(w);
        return;
    }
    if (!strpbrk(buf, ".e")) {
        buf[n++] = '.';
        buf[n++] = '0';
        buf[n] = '\0';
    }
    /* No '+' and no leading zeros in the exponent: "1e+05" is "1e5". */
    {
        char *e = strchr(buf, 'e');
        if (e) {
            char *from = e + 1, *to = e + 1;
            if (*to == '-')
                to++, from++;
            else if (*from == '+')
                from++;
            while (*from == '0' && from[1])
                from++;
            memmove(to, from, strlen(from) + 1);
            n = (int)strlen(buf);
        }
    }
    jw_put(w, buf, (size_t)n);
}

static void jw_value(struct jw *w, const json_t *j, unsigned depth)
{
    if (depth > JW_MAX_DEPTH) {
        jw_fail(w);
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        /* The iterator directly: json_object_foreach() looks every key
         * up in the hash table twice to step to the next one. */
        json_t *o = (json_t *)(uintptr_t)j;
        bool first = true;
        jw_putc(w, '{');
        for (void *it = json_object_iter(o); it;
             it = json_object_iter_next(o, it)) {
            if (!first)
                jw_putc(w, ',');
            first = false;
            jw_string(w, json_object_iter_key(it),
                      json_object_iter_key_len(it));
            jw_putc(w, ':');
            jw_value(w, json_object_iter_value(it), depth + 1);
        }
        jw_putc(w, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        jw_putc(w, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                jw_putc(w, ',');
            jw_value(w, json_array_get(j, i), depth + 1);
        }
        jw_putc(w, ']');
        break;
    }
    case JSON_STRING:
        jw_string(w, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        jw_integer(w, json_integer_value(j));
        break;
    case JSON_REAL:
        jw_real(w, json_real_value(j));
        break;
    case JSON_TRUE:
        JW_LIT(w, "true");
        break;
    case JSON_FALSE:
        JW_LIT(w, "false");
        break;
    case JSON_NULL:
        JW_LIT(w, "null");
        break;
    }
}

void jw_json(struct jw *w, const json_t *j)
{
    if (!j) {
        jw_fail(w);
        return;
    }
    jw_value(w, j, 0);
}

char *jw_finish_line(struct jw *w, size_t *len)
{
    *len = 0;
    jw_putc(w, '\n');
    jw_putc(w, '\0');
    if (w->failed) {
        free(w->p);
        w->p = NULL;
        return NULL;
    }
    /* Give back the room the doubling left: answers can wait a while in
     * the output buffers of slow readers. */
    if (w->cap - w->n >= 1024) {
        char *p = realloc(w->p, w->n);
        if (p)
            w->p = p;
    }
    *len = w->n - 1;
    return w->p;
}

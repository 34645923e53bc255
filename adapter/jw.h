/*
 * A compact JSON text writer: one growing buffer, written front to back.
 * What it writes for a value is byte for byte what jansson's
 * json_dumps(JSON_COMPACT) writes (keys in insertion order, UTF-8 kept,
 * '"', '\\' and control characters escaped), so a document may be written
 * from a jansson tree (jw_json()), from an answer document (jdoc.h) or
 * token by token, and spliced.
 *
 * A writer starts zeroed (struct jw w = {0}). After an allocation failure
 * it is "failed": every later write is dropped and jw_finish_line() gives
 * NULL. Ownership: the buffer is the writer's until jw_finish_line() hands
 * it over; a writer abandoned before that is freed with free(w.p).
 * Thread-safety: a writer is used by one thread at a time.
 */
#ifndef VAYLA_JW_H
#define VAYLA_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <jansson.h>

struct jw {
    char *p;
    size_t n, cap;
    bool failed;
};

/* Stop writing: the result is thrown away; no later room check passes. */
void jw_fail(struct jw *w);
/* Make room for `need` more bytes: the slow path of jw_room(). */
bool jw_grow(struct jw *w, size_t need);

/* A failed writer keeps cap == n, so it never passes the first test. */
static inline bool jw_room(struct jw *w, size_t need)
{
    return w->cap - w->n >= need || jw_grow(w, need);
}

/* n raw bytes (already JSON text). */
static inline void jw_put(struct jw *w, const char *s, size_t n)
{
    if (n && jw_room(w, n)) {
        memcpy(w->p + w->n, s, n);
        w->n += n;
    }
}

static inline void jw_putc(struct jw *w, char c)
{
    if (jw_room(w, 1))
        w->p[w->n++] = c;
}

/* A string literal that is already JSON text; its length is the compiler's. */
#define JW_LIT(w, lit) jw_put((w), "" lit, sizeof(lit) - 1)

/* s[0..n) as a JSON string, quoted and escaped (UTF-8 passed through). */
void jw_string(struct jw *w, const char *s, size_t n);
/* A JSON integer. */
void jw_integer(struct jw *w, json_int_t v);
/* A jansson value; nesting deeper than 64 or a non-finite real fails. */
void jw_json(struct jw *w, const json_t *j);
/*
 * End with a newline and hand the text over: NUL-terminated, *len
 * excluding the NUL (not the newline). NULL when the writer failed (its
 * buffer is then freed). Ownership: new string (free()).
 */
char *jw_finish_line(struct jw *w, size_t *len);

#endif

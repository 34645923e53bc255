/*
 * Answer documents in one arena (jdoc.h).
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xroad/common.h>

#include "jdoc.h"

#define JD_BLOCK_FIRST (8u * 1024u) /* a person answer needs about 12 KiB */
#define JD_BLOCK_MAX   (256u * 1024u)
#define JD_MAX_DEPTH   64u

enum jd_type {
    JD_NULL,
    JD_TRUE,
    JD_FALSE,
    JD_INT,
    JD_STRING,
    JD_OBJECT,
    JD_ARRAY
};

/* A member of an object (key set) or an item of an array (key NULL). */
struct jd_member {
    const char *key;
    size_t key_len;
    struct jd_node *v;
    struct jd_member *next;
};

struct jd_node {
    enum jd_type type;
    union {
        long long i;
        struct {
            const char *p; /* NUL-terminated */
            size_t len;
        } s;
        struct {
            struct jd_member *first, *last;
            size_t count;
        } c;
    } u;
};

struct jd_block {
    struct jd_block *next;
    size_t used, size;
    alignas(max_align_t) unsigned char data[];
};

struct jd {
    struct jd_block *blocks; /* the newest first */
    size_t next_size;
};

static struct jd_node node_null = {.type = JD_NULL};
static struct jd_node node_true = {.type = JD_TRUE};
static struct jd_node node_false = {.type = JD_FALSE};

struct jd *jd_new(void)
{
    struct jd *d = calloc(1, sizeof(*d));

    if (d)
        d->next_size = JD_BLOCK_FIRST;
    return d;
}

void jd_free(struct jd *d)
{
    if (!d)
        return;
    while (d->blocks) {
        struct jd_block *b = d->blocks;
        d->blocks = b->next;
        free(b);
    }
    free(d);
}

static void *jd_alloc(struct jd *d, size_t n, size_t align)
{
    struct jd_block *b = d->blocks;
    size_t at;

    if (b) {
        at = (b->used + align - 1u) & ~(align - 1u);
        if (at <= b->size && b->size - at >= n) {
            b->used = at + n;
            return b->data + at;
        }
    }
    if (n > SIZE_MAX / 4u)
        return NULL;
    {
        size_t size = d->next_size;
        while (size < n)
            size *= 2u; /* n is at most a string's length: bounded */
        b = malloc(sizeof(*b) + size);
        if (!b)
            return NULL;
        b->size = size;
        b->used = n;
        b->next = d->blocks;
        d->blocks = b;
        if (d->next_size < JD_BLOCK_MAX)
            d->next_size *= 2u;
        return b->data;
    }
}

static struct jd_node *new_node(struct jd *d, enum jd_type t)
{
    struct jd_node *n = jd_alloc(d, sizeof(*n), alignof(struct jd_node));

    if (n) {
        memset(n, 0, sizeof(*n));
        n->type = t;
    }
    return n;
}

struct jd_node *jd_object(struct jd *d)
{
    return new_node(d, JD_OBJECT);
}

struct jd_node *jd_array(struct jd *d)
{
    return new_node(d, JD_ARRAY);
}

/*
 * Whether s[0..len) is UTF-8 as jansson accepts it: no overlong forms, no
 * surrogates, nothing above U+10FFFF; NUL is a character.
 */
static bool utf8_ok(const unsigned char *s, size_t len)
{
    for (size_t i = 0, n; i < len; i += n)
        if ((n = xr_utf8_seq(s + i, len - i)) == 0)
            return false;
    return true;
}

static bool ascii(const char *s, size_t n)
{
    uint64_t any = 0, w;
    size_t i = 0;

    for (; i + 8u <= n; i += 8u) {
        memcpy(&w, s + i, 8u);
        any |= w;
    }
    for (; i < n; i++)
        any |= (unsigned char)s[i];
    return (any & 0x8080808080808080u) == 0;
}

struct jd_node *jd_string(struct jd *d, const char *s, size_t len)
{
    struct jd_node *n;
    char *p;

    if (!s || (!ascii(s, len) && !utf8_ok((const unsigned char *)s, len)) ||
        len == SIZE_MAX)
        return NULL;
    n = new_node(d, JD_STRING);
    p = n ? jd_alloc(d, len + 1u, 1u) : NULL;
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    n->u.s.p = p;
    n->u.s.len = len;
    return n;
}

struct jd_node *jd_lit(struct jd *d, const char *s)
{
    struct jd_node *n = s ? new_node(d, JD_STRING) : NULL;

    if (n) {
        n->u.s.p = s;
        n->u.s.len = strlen(s);
    }
    return n;
}

struct jd_node *jd_int(struct jd *d, long long v)
{
    struct jd_node *n = new_node(d, JD_INT);

    if (n)
        n->u.i = v;
    return n;
}

struct jd_node *jd_bool(bool v)
{
    return v ? &node_true : &node_false;
}

struct jd_node *jd_null(void)
{
    return &node_null;
}

static struct jd_member *find(const struct jd_node *obj, const char *key,
                              size_t key_len, struct jd_member **prev)
{
    struct jd_member *p = NULL;

    for (struct jd_member *m = obj->u.c.first; m; p = m, m = m->next)
        if (m->key_len == key_len &&
            (m->key == key || memcmp(m->key, key, key_len) == 0)) {
            if (prev)
                *prev = p;
            return m;
        }
    return NULL;
}

static int add(struct jd *d, struct jd_node *c, const char *key, size_t key_len,
               struct jd_node *v)
{
    struct jd_member *m = jd_alloc(d, sizeof(*m), alignof(struct jd_member));

    if (!m)
        return -1;
    m->key = key;
    m->key_len = key_len;
    m->v = v;
    m->next = NULL;
    if (c->u.c.last)
        c->u.c.last->next = m;
    else
        c->u.c.first = m;
    c->u.c.last = m;
    c->u.c.count++;
    return 0;
}

int jd_set(struct jd *d, struct jd_node *obj, const char *key,
           struct jd_node *v)
{
    struct jd_member *m;
    size_t key_len;

    if (!obj || obj->type != JD_OBJECT || !key || !v)
        return -1;
    key_len = strlen(key);
    m = find(obj, key, key_len, NULL);
    if (m) {
        m->v = v;
        return 0;
    }
    return add(d, obj, key, key_len, v);
}

int jd_append(struct jd *d, struct jd_node *arr, struct jd_node *v)
{
    if (!arr || arr->type != JD_ARRAY || !v)
        return -1;
    return add(d, arr, NULL, 0, v);
}

struct jd_node *jd_get(const struct jd_node *obj, const char *key)
{
    struct jd_member *m;

    if (!obj || obj->type != JD_OBJECT || !key)
        return NULL;
    m = find(obj, key, strlen(key), NULL);
    return m ? m->v : NULL;
}

bool jd_del(struct jd_node *obj, const char *key)
{
    struct jd_member *m, *prev = NULL;

    if (!obj || obj->type != JD_OBJECT || !key)
        return false;
    m = find(obj, key, strlen(key), &prev);
    if (!m)
        return false;
    if (prev)
        prev->next = m->next;
    else
        obj->u.c.first = m->next;
    if (obj->u.c.last == m)
        obj->u.c.last = prev;
    obj->u.c.count--;
    return true;
}

size_t jd_size(const struct jd_node *n)
{
    return n && (n->type == JD_OBJECT || n->type == JD_ARRAY) ? n->u.c.count
                                                              : 0;
}

const char *jd_str(const struct jd_node *n)
{
    return n && n->type == JD_STRING ? n->u.s.p : NULL;
}

/* ---- Writing ------------------------------------------------------------ */

static void write_value(struct jw *w, const struct jd_node *n, unsigned depth);

static void write_members(struct jw *w, const struct jd_node *c, bool lead,
                          unsigned depth)
{
    for (const struct jd_member *m = c->u.c.first; m; m = m->next) {
        if (lead)
            jw_putc(w, ',');
        lead = true;
        if (c->type == JD_OBJECT) {
            jw_string(w, m->key, m->key_len);
            jw_putc(w, ':');
        }
        write_value(w, m->v, depth + 1u);
    }
}

static void write_value(struct jw *w, const struct jd_node *n, unsigned depth)
{
    if (depth > JD_MAX_DEPTH) {
        jw_fail(w);
        return;
    }
    switch (n->type) {
    case JD_NULL:
        JW_LIT(w, "null");
        break;
    case JD_TRUE:
        JW_LIT(w, "true");
        break;
    case JD_FALSE:
        JW_LIT(w, "false");
        break;
    case JD_INT:
        jw_integer(w, (json_int_t)n->u.i);
        break;
    case JD_STRING:
        jw_string(w, n->u.s.p, n->u.s.len);
        break;
    case JD_OBJECT:
        jw_putc(w, '{');
        write_members(w, n, false, depth);
        jw_putc(w, '}');
        break;
    case JD_ARRAY:
        jw_putc(w, '[');
        write_members(w, n, false, depth);
        jw_putc(w, ']');
        break;
    }
}

void jd_write(struct jw *w, const struct jd_node *n)
{
    if (!n) {
        jw_fail(w);
        return;
    }
    write_value(w, n, 0);
}

void jd_write_members(struct jw *w, const struct jd_node *obj)
{
    if (!obj || obj->type != JD_OBJECT) {
        jw_fail(w);
        return;
    }
    write_members(w, obj, true, 0);
}

/* ---- As jansson --------------------------------------------------------- */

static json_t *to_json(const struct jd_node *n, unsigned depth)
{
    json_t *j = NULL;

    if (depth > JD_MAX_DEPTH)
        return NULL;
    switch (n->type) {
    case JD_NULL:
        return json_null();
    case JD_TRUE:
        return json_true();
    case JD_FALSE:
        return json_false();
    case JD_INT:
        return json_integer((json_int_t)n->u.i);
    case JD_STRING:
        return json_stringn_nocheck(n->u.s.p, n->u.s.len);
    case JD_OBJECT:
    case JD_ARRAY:
        j = n->type == JD_OBJECT ? json_object() : json_array();
        if (!j)
            return NULL;
        for (const struct jd_member *m = n->u.c.first; m; m = m->next) {
            json_t *v = to_json(m->v, depth + 1u);
            int rc = n->type == JD_OBJECT
                         ? json_object_set_new_nocheck(j, m->key, v)
                         : json_array_append_new(j, v);
            if (!v || rc != 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    }
    return NULL;
}

json_t *jd_to_json(const struct jd_node *n)
{
    return n ? to_json(n, 0) : NULL;
}

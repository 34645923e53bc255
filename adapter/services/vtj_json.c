/*
 * The JSON form of a VTJ answer (docs/api.md): values converted by their
 * kind (dates, flags, counts, language and country codes), the fields and
 * groups of an element found by the paths of its shape and built into
 * objects and arrays, and the fixed key order of the result.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "services/vtj_internal.h"

/* ---- Value conversion ------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static unsigned num(const char *s, size_t n)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10u + (unsigned)(s[i] - '0');
    return v;
}

static unsigned month_days(unsigned y, unsigned m)
{
    static const unsigned d[12] = {31, 28, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31};

    if (m == 2u && ((y % 4u == 0u && y % 100u != 0u) || y % 400u == 0u))
        return 29u;
    return d[m - 1u];
}

/*
 * yyyymmdd -> ISO 8601 (reduced precision for 00 month/day) into out (at
 * least 11 bytes, not NUL-terminated); returns the length, 0 = invalid.
 * The digits are valid as they stand, so they are copied, not formatted.
 */
static size_t iso_date(const char *v, size_t len, char *out)
{
    unsigned y, m, d;

    if (len != 8 || !all_digits(v, 8))
        return 0;
    y = num(v, 4);
    m = num(v + 4, 2);
    d = num(v + 6, 2);
    if (y == 0u)
        return 0;
    memcpy(out, v, 4);
    if (m == 0u && d == 0u)
        return 4;
    if (m < 1u || m > 12u)
        return 0;
    out[4] = '-';
    memcpy(out + 5, v + 4, 2);
    if (d == 0u)
        return 7;
    if (d > month_days(y, m))
        return 0;
    out[7] = '-';
    memcpy(out + 8, v + 6, 2);
    return 10;
}

/* yyyymmddhhmmss -> yyyy-mm-ddThh:mm:ss (Finnish local time) into out (at
 * least 19 bytes, not NUL-terminated); returns the length, 0 = invalid. */
static size_t iso_timestamp(const char *v, size_t len, char *out)
{
    if (len != 14 || !all_digits(v, 14) || iso_date(v, 8, out) != 10 ||
        num(v + 8, 2) > 23u || num(v + 10, 2) > 59u || num(v + 12, 2) > 60u)
        return 0;
    out[10] = 'T';
    memcpy(out + 11, v + 8, 2);
    out[13] = ':';
    memcpy(out + 14, v + 10, 2);
    out[16] = ':';
    memcpy(out + 17, v + 12, 2);
    return 19;
}

enum xr_status vtj__warn(struct dctx *c, const char *what, const char *field)
{
    char buf[128];

    if (field)
        (void)snprintf(buf, sizeof(buf), "%s:%s", what, field);
    else
        (void)snprintf(buf, sizeof(buf), "%s", what);
    if (!c->warnings)
        c->warnings = jd_array(c->doc); /* most answers have none */
    if (jd_append(c->doc, c->warnings, jd_string(c->doc, buf, strlen(buf))) !=
        0)
        return xr_error_set(c->err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    return XR_OK;
}

enum xr_status vtj__oom(struct xr_error *err)
{
    return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                        "out of memory decoding the VTJ answer");
}

/* Convert v per kind; *out = NULL with a warning when not convertible. */
static enum xr_status convert(struct dctx *c, const char *json_name,
                              enum fkind kind, const struct span *v,
                              struct jd_node **out)
{
    char buf[32];
    size_t n;

    *out = NULL;
    switch (kind) {
    case FK_TEXT:
        *out = jd_string(c->doc, v->p, v->len);
        break;
    case FK_DATE:
        n = iso_date(v->p, v->len, buf);
        if (n == 0)
            return vtj__warn(c, "invalid_date", json_name);
        *out = jd_string(c->doc, buf, n);
        break;
    case FK_TIMESTAMP:
        n = iso_timestamp(v->p, v->len, buf);
        if (n == 0)
            return vtj__warn(c, "invalid_timestamp", json_name);
        *out = jd_string(c->doc, buf, n);
        break;
    case FK_FLAG:
        if (span_is(v, "1"))
            *out = jd_bool(true);
        else if (span_is(v, "0"))
            *out = jd_bool(false);
        else
            return vtj__warn(c, "unexpected_value", json_name);
        break;
    case FK_VALIDITY:
        *out = jd_bool(span_is(v, "1"));
        break;
    case FK_COUNT:
        if (v->len == 0 || v->len > 9 || !all_digits(v->p, v->len))
            return vtj__warn(c, "invalid_count", json_name);
        *out = jd_int(c->doc, (long long)num(v->p, v->len));
        break;
    case FK_LANG:
        if (v->len <= 8) {
            for (size_t i = 0; i < v->len; i++)
                buf[i] = (v->p[i] >= 'A' && v->p[i] <= 'Z')
                             ? (char)(v->p[i] - 'A' + 'a')
                             : v->p[i];
            /* Withdrawn ISO 639 code for Hebrew still seen in VTJ. */
            if (v->len == 2 && buf[0] == 'i' && buf[1] == 'w')
                *out = jd_lit(c->doc, "he");
            else
                *out = jd_string(c->doc, buf, v->len);
        } else {
            *out = jd_string(c->doc, v->p, v->len);
        }
        break;
    case FK_COUNTRY:
        /* Old codes still seen in VTJ: Sudan 736 -> 729, Ethiopia 230. */
        if (span_is(v, "736"))
            *out = jd_lit(c->doc, "729");
        else if (span_is(v, "230"))
            *out = jd_lit(c->doc, "231");
        else
            *out = jd_string(c->doc, v->p, v->len);
        break;
    }
    if (!*out)
        return vtj__oom(c->err);
    return XR_OK;
}

/* ---- Emitting JSON ---------------------------------------------------- */

/* Set key to v in o's object, created (with its "type") on first use. */
static enum xr_status jobj_set(struct jobj *o, const char *key,
                               struct jd_node *v, struct dctx *c)
{
    if (!o->obj) {
        o->obj = jd_object(c->doc);
        if (!o->obj || (o->type && jd_set(c->doc, o->obj, "type",
                                          jd_lit(c->doc, o->type)) != 0))
            return vtj__oom(c->err);
    }
    if (jd_set(c->doc, o->obj, key, v) != 0)
        return vtj__oom(c->err);
    return XR_OK;
}

/*
 * Resolve a compiled table path below the scanned element into a trimmed
 * span (empty when absent or empty); buf as for vtj__list_span(). The first
 * step comes from the scan; the rest of the path ("/B..", "@x") is
 * resolved by scanning below the (small) element it found.
 */
static enum xr_status path_span(struct scan *s, const struct ppath *pp,
                                char *buf, struct span *out, struct dctx *c)
{
    const xmlNode *cur = s->el;
    const char *p = pp->rest;
    enum xr_status rc;

    out->p = NULL;
    out->len = 0;
    if (pp->step != NO_STEP) {
        rc = vtj__scan_child(s, pp->step, &cur, c);
        if (rc != XR_OK || !cur)
            return rc;
        if (*p == '/')
            p++;
    }
    while (*p && *p != '@') {
        const xmlNode *child;
        size_t n = strcspn(p, "/@");

        if (n >= PATH_MAX_BYTES)
            return xr_error_set(c->err, XR_EINTERNAL, "internal_error", "",
                                "table path too long");
        rc = vtj__find_child_n(c, cur, NS_MSG, p, n, &child);
        if (rc != XR_OK || !child)
            return rc;
        cur = child;
        p += n;
        if (*p == '/')
            p++;
    }
    if (*p == '@')
        return vtj__attr_span(cur, p + 1, buf, out, c->err);
    return vtj__list_span(cur->children, xs(cur->name), buf, out, c->err);
}

static enum xr_status emit_field(struct jobj *o, const struct pfield *pf,
                                 struct scan *s, struct dctx *c)
{
    struct span v = {NULL, 0};
    struct jd_node *j = NULL;
    enum xr_status rc;

    for (unsigned i = 0; i < pf->npaths; i++) {
        rc = path_span(s, &pf->path[i], c->value, &v, c);
        if (rc != XR_OK)
            return rc;
        if (v.len > 0)
            break;
    }
    if (v.len == 0)
        return XR_OK;
    rc = convert(c, pf->f->json, pf->f->kind, &v, &j);
    if (rc != XR_OK || !j)
        return rc;
    return jobj_set(o, pf->f->json, j, c);
}

/* Every field of the scanned element's shape into o, in table order. */
enum xr_status vtj__emit_fields(struct jobj *o, struct scan *s, struct dctx *c)
{
    for (unsigned i = 0; i < s->shape->nfields; i++) {
        enum xr_status rc = emit_field(o, &s->shape->pf[i], s, c);
        if (rc != XR_OK)
            return rc;
    }
    return XR_OK;
}

static enum xr_status group_object(const struct pgroup *pg, const xmlNode *el,
                                   struct jd_node **out, struct dctx *c);

enum xr_status vtj__append_item(struct jobj *parent, const char *key,
                                struct jd_node *item, struct dctx *c)
{
    struct jd_node *arr = parent->obj ? jd_get(parent->obj, key) : NULL;
    enum xr_status rc;

    if (!arr) {
        arr = jd_array(c->doc);
        if (!arr)
            return vtj__oom(c->err);
        if ((rc = jobj_set(parent, key, arr, c)) != XR_OK)
            return rc;
    }
    if (jd_size(arr) >= VTJ_GROUP_MAX)
        return vtj__too_many(c->err, key);
    if (jd_append(c->doc, arr, item) != 0)
        return vtj__oom(c->err);
    return XR_OK;
}

/* Decode group pg found below the scanned element into parent. */
static enum xr_status emit_group(struct jobj *parent, const struct pgroup *pg,
                                 struct scan *ps, struct dctx *c)
{
    const struct vgroup *g = pg->g;
    const struct pstep *st = &ps->shape->steps[pg->step];
    const xmlNode *el = NULL, *n;
    const struct hit *h;
    struct jd_node *obj = NULL;
    unsigned seen, items = 0;
    enum xr_status rc;

    if (!g->repeated) {
        rc = vtj__scan_child(ps, pg->step, &el, c);
        if (rc != XR_OK || !el)
            return rc;
        rc = group_object(pg, el, &obj, c);
        if (rc != XR_OK || !obj)
            return rc;
        if (g->type)
            return vtj__append_item(parent, g->json, obj, c);
        return jobj_set(parent, g->json, obj, c);
    }
    /* The items are the elements from the first to the last one filed. */
    h = &ps->hit[pg->step];
    seen = h->count > 0 ? h->first_pos - 1u : 0u;
    for (n = h->count > 0 ? h->first : NULL; n; n = n->next) {
        if (++seen > VTJ_CHILD_MAX)
            return vtj__too_many(c->err, g->element);
        if (n != h->first && !is_el_n(c, n, NS_MSG, st->name, st->len))
            continue;
        if (++items > VTJ_GROUP_MAX)
            return vtj__too_many(c->err, g->element);
        rc = group_object(pg, n, &obj, c);
        if (rc != XR_OK)
            return rc;
        if (obj) { /* NULL: empty skeleton row or no identifying field */
            rc = vtj__append_item(parent, g->json, obj, c);
            if (rc != XR_OK)
                return rc;
        }
        if (n == h->last)
            break;
    }
    /* A scan over all children would stop at the cap. */
    if (ps->overflow)
        return vtj__too_many(c->err, g->element);
    return XR_OK;
}

/* Every group of the scanned element's shape into o, in table order. */
static enum xr_status emit_groups(struct jobj *o, struct scan *s,
                                  struct dctx *c)
{
    for (unsigned i = 0; i < s->shape->ngroups; i++) {
        enum xr_status rc = emit_group(o, &s->shape->pg[i], s, c);
        if (rc != XR_OK)
            return rc;
    }
    return XR_OK;
}

/*
 * Build the object of one group element. *out is NULL when the group is
 * to be dropped: no field at all, or the identifying field g->id empty.
 */
static enum xr_status group_object(const struct pgroup *pg, const xmlNode *el,
                                   struct jd_node **out, struct dctx *c)
{
    struct jobj o = {NULL, pg->g->type};
    struct scan s;
    enum xr_status rc;

    *out = NULL;
    vtj__scan_open(&s, pg->shape, el, c);
    if ((rc = vtj__emit_fields(&o, &s, c)) != XR_OK ||
        (rc = emit_groups(&o, &s, c)) != XR_OK)
        return rc;
    /* A dropped object stays in the arena, unlinked, until the end. */
    if (o.obj && (!pg->g->id || jd_get(o.obj, pg->g->id)))
        *out = o.obj;
    return XR_OK;
}

/* Emit fields and groups of a scanned element into an existing object. */
enum xr_status vtj__group_object_root(struct scan *s, struct jd_node *obj,
                                      struct dctx *c)
{
    struct jobj o = {obj, NULL};
    enum xr_status rc;

    rc = vtj__emit_fields(&o, s, c);
    if (rc != XR_OK)
        return rc;
    return emit_groups(&o, s, c);
}

/*
 * The keys that come first in the JSON form but are known last. vtj_decode()
 * inserts them with null values into the object that then receives the
 * message fields; vtj__assemble() sets them (a replaced value keeps its
 * member's place) and removes return_text when there is none.
 */
static const char *const header_keys[] = {
    "outcome", "return_code", "return_code_source", "return_text", "retryable"};

int vtj__insert_header(struct dctx *c, struct jd_node *j)
{
    for (size_t i = 0; i < sizeof(header_keys) / sizeof(header_keys[0]); i++)
        if (jd_set(c->doc, j, header_keys[i], jd_null()) != 0)
            return -1;
    return 0;
}

static struct jd_node *text_or_null(struct dctx *c, const char *s)
{
    return s ? jd_string(c->doc, s, strlen(s)) : NULL;
}

/*
 * Complete the JSON form j (made with vtj__insert_header()) in its fixed
 * key order, with person (may be NULL) and c->warnings.
 */
enum xr_status vtj__assemble(struct vtj_result *r, struct dctx *c,
                             struct jd_node *j, struct jd_node *person)
{
    struct jd *d = c->doc;

    if (jd_set(d, j, "outcome", jd_lit(d, vtj_outcome_name(r->outcome))) ||
        jd_set(d, j, "return_code", text_or_null(c, r->return_code)) ||
        jd_set(d, j, "return_code_source",
               jd_lit(d, r->from_fault ? "fault_code" : "paluukoodi")) ||
        (r->return_text
             ? jd_set(d, j, "return_text", text_or_null(c, r->return_text))
             : !jd_del(j, "return_text")) ||
        jd_set(d, j, "retryable", jd_bool(r->retryable)))
        return vtj__oom(c->err);
    if (r->new_hetu &&
        jd_set(d, j, "new_hetu", text_or_null(c, r->new_hetu)) != 0)
        return vtj__oom(c->err);
    if (person && jd_set(d, j, "person", person) != 0)
        return vtj__oom(c->err);
    if (jd_size(c->warnings) > 0 && jd_set(d, j, "warnings", c->warnings) != 0)
        return vtj__oom(c->err);
    return XR_OK;
}

/*
 * Reading the XML of a VTJ answer: the namespace check, the single-child
 * lookup with its caps, the scan of a group element's children by the
 * steps of its shape, and text values (concatenated, trimmed, bounded).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "services/vtj_internal.h"

/* ---- XML helpers ------------------------------------------------------ */

static bool ns_href_ok(const char *href, enum nsset set)
{
    switch (set) {
    case NS_WS:
        return strcmp(href, VTJ_NS_WS) == 0;
    case NS_MSG:
        return strcmp(href, VTJ_NS_MESSAGE) == 0 ||
               strcmp(href, VTJ_NS_CATALOGUE) == 0;
    }
    return false;
}

bool vtj__ns_check(struct dctx *c, const xmlNs *ns, enum nsset set)
{
    struct nscache *nc = &c->ns[set];
    bool ok;

    if (!ns || !ns->href)
        return false;
    if (ns == nc->rejected)
        return false;
    ok = ns_href_ok(xs(ns->href), set);
    if (ok)
        nc->accepted = ns;
    else
        nc->rejected = ns;
    return ok;
}

enum xr_status vtj__too_many(struct xr_error *err, const char *name)
{
    return xr_error_set(err, XR_ELIMIT, "too_many_items", name,
                        "more than %u children or items in %.48s",
                        VTJ_CHILD_MAX, name);
}

/* seg[0..len) as a string for an error message (the field and the
 * message keep less than PATH_MAX_BYTES of it anyway). */
static const char *seg_name(const char *seg, size_t len,
                            char buf[PATH_MAX_BYTES])
{
    if (len >= PATH_MAX_BYTES)
        len = PATH_MAX_BYTES - 1u;
    memcpy(buf, seg, len);
    buf[len] = '\0';
    return buf;
}

static enum xr_status too_many_n(struct xr_error *err, const char *seg,
                                 size_t len)
{
    char buf[PATH_MAX_BYTES];

    return vtj__too_many(err, seg_name(seg, len, buf));
}

static enum xr_status duplicate_n(struct xr_error *err, const char *seg,
                                  size_t len)
{
    char buf[PATH_MAX_BYTES];
    const char *name = seg_name(seg, len, buf);

    return xr_error_set(err, XR_EPROTO, "duplicate_element", name,
                        "element %.48s appears more than once", name);
}

/*
 * The single child element seg[0..len) of parent in namespace set `set`,
 * or NULL. Two or more: XR_EPROTO duplicate_element. Examines at most
 * VTJ_CHILD_MAX child nodes (more: XR_ELIMIT too_many_items).
 */
enum xr_status vtj__find_child_n(struct dctx *c, const xmlNode *parent,
                                 enum nsset set, const char *seg, size_t len,
                                 const xmlNode **out)
{
    unsigned seen = 0;

    *out = NULL;
    for (const xmlNode *n = parent->children; n; n = n->next) {
        if (++seen > VTJ_CHILD_MAX) {
            *out = NULL;
            return too_many_n(c->err, seg, len);
        }
        if (!is_el_n(c, n, set, seg, len))
            continue;
        if (*out) {
            *out = NULL;
            return duplicate_n(c->err, seg, len);
        }
        *out = n;
    }
    return XR_OK;
}

enum xr_status vtj__find_child(struct dctx *c, const xmlNode *parent,
                               enum nsset set, const char *name,
                               const xmlNode **out)
{
    return vtj__find_child_n(c, parent, set, name, strlen(name), out);
}

/* ---- Scanning a group element ----------------------------------------- */

/* Scan the children of el for the steps of shape (if it has any). */
void vtj__scan_open(struct scan *s, const struct pshape *shape,
                    const xmlNode *el, struct dctx *c)
{
    unsigned pos = 0;

    s->shape = shape;
    s->el = el;
    s->overflow = false;
    if (shape->nsteps == 0)
        return; /* attributes only */
    memset(s->hit, 0, shape->nsteps * sizeof(s->hit[0]));
    for (const xmlNode *n = el->children; n; n = n->next) {
        struct hit *h;
        size_t len;
        int slot;

        if (++pos > VTJ_CHILD_MAX) {
            s->overflow = true;
            break;
        }
        if (n->type != XML_ELEMENT_NODE || !n->name || !ns_ok(c, n, NS_MSG))
            continue;
        len = strnlen(xs(n->name), STEP_NAME_MAX + 1u);
        slot = shape_find(shape, xs(n->name), len);
        if (slot < 0)
            continue; /* not looked up below this element */
        h = &s->hit[slot];
        if (h->count++ == 0) {
            h->first = n;
            h->first_pos = pos;
        }
        h->last = n;
    }
}

/* vtj__find_child_n(s->el, NS_MSG, <name of step>) through the scan. */
enum xr_status vtj__scan_child(struct scan *s, unsigned step,
                               const xmlNode **out, struct dctx *c)
{
    const struct pstep *st = &s->shape->steps[step];
    const struct hit *h;

    *out = NULL;
    h = &s->hit[step];
    /* A second one within the examined nodes is found before the cap. */
    if (h->count > 1)
        return duplicate_n(c->err, st->name, st->len);
    if (s->overflow)
        return too_many_n(c->err, st->name, st->len);
    *out = h->first;
    return XR_OK;
}

/* The single child `name`: through the scan when name is a step. */
enum xr_status vtj__scan_get(struct scan *s, const char *name,
                             const xmlNode **out, struct dctx *c)
{
    int step = shape_find(s->shape, name, strlen(name));

    if (step < 0)
        return vtj__find_child(c, s->el, NS_MSG, name, out);
    return vtj__scan_child(s, (unsigned)step, out, c);
}

/* ---- Text ------------------------------------------------------------- */

static bool is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_text(const xmlNode *n)
{
    return (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
           n->content;
}

static enum xr_status too_long(struct xr_error *err, const char *name)
{
    return xr_error_set(err, XR_ELIMIT, "value_too_long", name,
                        "a value in %.48s is longer than %u bytes", name,
                        VTJ_VALUE_MAX);
}

/*
 * The text/CDATA nodes of a node list, concatenated: *s points into the
 * node's own content when only one node carries text, otherwise into buf
 * (VTJ_VALUE_MAX + 1 bytes); *total is the length, 0 when there is none.
 * Caps: VTJ_CHILD_MAX nodes, VTJ_VALUE_MAX bytes.
 */
static enum xr_status concat_text(const xmlNode *first, const char *name,
                                  char *buf, const char **s, size_t *total,
                                  struct xr_error *err)
{
    const xmlNode *only = NULL;
    unsigned seen = 0, parts = 0;
    size_t at = 0;

    *s = NULL;
    *total = 0;
    for (const xmlNode *n = first; n; n = n->next) {
        size_t l;

        if (++seen > VTJ_CHILD_MAX)
            return vtj__too_many(err, name);
        if (!is_text(n))
            continue;
        l = strnlen(xs(n->content), VTJ_VALUE_MAX + 1u);
        *total += l;
        if (*total > VTJ_VALUE_MAX)
            return too_long(err, name);
        if (l > 0) {
            parts++;
            only = n;
        }
    }
    if (*total == 0)
        return XR_OK;
    if (parts == 1) {
        *s = xs(only->content);
        return XR_OK;
    }
    /* Same nodes as above (at most VTJ_CHILD_MAX), *total fits. */
    for (const xmlNode *n = first; n && at < *total; n = n->next) {
        if (is_text(n)) {
            size_t l = strlen(xs(n->content));
            memcpy(buf + at, n->content, l);
            at += l;
        }
    }
    *s = buf;
    return XR_OK;
}

/*
 * The text/CDATA nodes of a node list, concatenated (concat_text()) and
 * trimmed of XML whitespace; an empty span when nothing is left.
 */
enum xr_status vtj__list_span(const xmlNode *first, const char *name, char *buf,
                              struct span *out, struct xr_error *err)
{
    const char *s;
    size_t total, start, end;
    enum xr_status rc;

    out->p = NULL;
    out->len = 0;
    if (first && !first->next) {
        /* One child node, the usual <A>value</A>: the same, shorter. */
        if (!is_text(first))
            return XR_OK;
        s = xs(first->content);
        total = strnlen(s, VTJ_VALUE_MAX + 1u);
        if (total > VTJ_VALUE_MAX)
            return too_long(err, name);
    } else {
        rc = concat_text(first, name, buf, &s, &total, err);
        if (rc != XR_OK)
            return rc;
    }
    for (start = 0; start < total && is_xml_space(s[start]); start++)
        ;
    for (end = total; end > start && is_xml_space(s[end - 1]); end--)
        ;
    if (start < end) {
        out->p = s + start;
        out->len = end - start;
    }
    return XR_OK;
}

/* A span as a new string (*out NULL when empty). */
static enum xr_status span_dup(const struct span *v, const char *name,
                               char **out, struct xr_error *err)
{
    *out = NULL;
    if (v->len == 0)
        return XR_OK;
    *out = malloc(v->len + 1u);
    if (!*out)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", name,
                            "out of memory");
    memcpy(*out, v->p, v->len);
    (*out)[v->len] = '\0';
    return XR_OK;
}

/* vtj__list_span() into a new string; *out is NULL when the value is empty. */
enum xr_status vtj__list_text(const xmlNode *first, const char *name,
                              char **out, struct xr_error *err)
{
    char buf[VTJ_VALUE_MAX + 1u];
    struct span v;
    enum xr_status rc;

    *out = NULL;
    rc = vtj__list_span(first, name, buf, &v, err);
    if (rc != XR_OK)
        return rc;
    return span_dup(&v, name, out, err);
}

enum xr_status vtj__elem_text(const xmlNode *el, char **out,
                              struct xr_error *err)
{
    return vtj__list_text(el->children, xs(el->name), out, err);
}

/* Unqualified attribute `name` of el, trimmed; empty span when absent. */
enum xr_status vtj__attr_span(const xmlNode *el, const char *name, char *buf,
                              struct span *out, struct xr_error *err)
{
    unsigned seen = 0;

    out->p = NULL;
    out->len = 0;
    for (const xmlAttr *a = el->properties; a; a = a->next) {
        if (++seen > VTJ_CHILD_MAX)
            return vtj__too_many(err, name);
        if (a->ns == NULL && a->name && a->name[0] == (xmlChar)name[0] &&
            strcmp(xs(a->name), name) == 0)
            return vtj__list_span(a->children, name, buf, out, err);
    }
    return XR_OK;
}

enum xr_status vtj__attr_text(const xmlNode *el, const char *name, char **out,
                              struct xr_error *err)
{
    char buf[VTJ_VALUE_MAX + 1u];
    struct span v;
    enum xr_status rc;

    *out = NULL;
    rc = vtj__attr_span(el, name, buf, &v, err);
    if (rc != XR_OK)
        return rc;
    return span_dup(&v, name, out, err);
}

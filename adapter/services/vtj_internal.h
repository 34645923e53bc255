/*
 * Private to the VTJ answer decoder: the result, the mapping tables and
 * their compiled form, the decoding state, and the helpers its files
 * share. Other modules use services/vtj.h only. The files:
 *
 *   vtj_codes.c   the return-code table and the outcome classification
 *   vtj_plan.c    the mapping tables (VTJ elements -> JSON keys) and their
 *                 compiled form, the plan
 *   vtj_xml.c     namespaces, child lookup, the scan of a group element,
 *                 text values
 *   vtj_json.c    value conversion, the fields and groups of an element
 *                 by the paths of its shape, and the JSON form
 *   vtj_decode.c  vtj_decode(), vtj_schema_decode() and the accessors
 *
 * The rules of the decoding (docs/vtj.md §3, §5, §7) are at the top
 * of vtj_decode.c. Every loop over the document is bounded (VTJ_CHILD_MAX,
 * VTJ_GROUP_MAX, VTJ_VALUE_MAX); nothing here is thread-shared except the
 * plan, which is read-only once compiled.
 */
#ifndef VAYLA_VTJ_INTERNAL_H
#define VAYLA_VTJ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <libxml/tree.h>

#include "jdoc.h"
#include "services/vtj.h"

/* Children examined per element; more is XR_ELIMIT. */
#define VTJ_CHILD_MAX  4096u
/* Bytes of a static path in the tables. */
#define PATH_MAX_BYTES 96u

/* What vtj_decode() hands out (opaque in vtj.h). */
struct vtj_result {
    enum vtj_outcome outcome;
    bool from_fault; /* the code came from response/faultCode */
    bool retryable;  /* the same query may be retried later */
    bool redacted;   /* the policy removed addresses */
    enum vtj_turvakielto turvakielto;
    char *return_code;    /* owned */
    char *return_text;    /* owned, may be NULL */
    char *new_hetu;       /* owned, may be NULL */
    char *product;        /* owned, may be NULL */
    char *hetu;           /* owned, may be NULL */
    struct jd *doc;       /* owned: the arena of json */
    struct jd_node *json; /* in doc: the complete JSON form */
};

/* ---- Return codes (vtj_codes.c) ----------------------------------- */

struct code_map {
    const char *code;
    enum vtj_outcome outcome;
    const char *warning; /* added to "warnings", or NULL */
    bool retryable;
};

/* The entry of a (sanitised) return code, NULL when VTJ has not listed it. */
const struct code_map *vtj__code_lookup(const char *code);
/* Outcome and retryable of r from m (NULL: an unknown code). */
void vtj__apply_code(struct vtj_result *r, const struct code_map *m);
/* Whether an answer with this outcome may carry person data. */
bool vtj__outcome_has_person(enum vtj_outcome o);
/*
 * Cut code to RETURN_CODE_MAX (32) bytes and replace anything but printable
 * ASCII with '?': return codes are short ASCII, anything else is kept only
 * in this form.
 */
void vtj__sanitize_code(char *code);

/* ---- Mapping tables (vtj_plan.c) ----------------------------------- */

enum fkind {
    FK_TEXT,      /* trimmed string */
    FK_DATE,      /* yyyymmdd -> yyyy-mm-dd (yyyy-mm, yyyy when 00) */
    FK_TIMESTAMP, /* yyyymmddhhmmss -> yyyy-mm-ddThh:mm:ss */
    FK_FLAG,      /* "1" true, "0" false, else omitted with a warning */
    FK_VALIDITY,  /* voimassaolokoodi: "1" true, anything else false */
    FK_COUNT,     /* decimal digits -> integer */
    FK_LANG,      /* language code, lower case, iw -> he */
    FK_COUNTRY    /* ISO 3166 numeric, 736 -> 729, 230 -> 231 */
};

/*
 * A value and where to find it relative to the group element: up to three
 * alternative paths, tried in order; the first non-empty one wins.
 * Path syntax: "A", "A/B", "A@attr", "@attr" (attribute of the group
 * element).
 */
struct vfield {
    const char *json;
    enum fkind kind;
    const char *path[3];
};

struct vgroup {
    const char *element; /* local name */
    const char *json;    /* key in the parent object */
    const char *type;    /* non-NULL: "type" value; item goes to an array */
    bool repeated;       /* may occur many times (JSON array) */
    const char *id;      /* JSON key that must be present, NULL = any */
    const struct vfield *fields; /* terminated by {NULL} */
    const struct vgroup *groups; /* terminated by {NULL} */
};

/* ---- Compiled tables (vtj_plan.c) ---------------------------------- */

/*
 * The decoder looks up many table paths below each group element (about
 * 50 below Henkilo). Parsing and comparing the path texts on every lookup
 * would cost more than the rest of the decoding, so the first vtj_decode()
 * compiles the tables once (pthread_once) into shapes, read-only after:
 *
 *   a shape is one (fields, groups) pair of the tables; its steps are the
 *   distinct element names looked up directly below such an element: the
 *   first step of every field path, every group element, and the names
 *   the code looks up itself (extra). Each step has a slot.
 *
 * Decoding a group element then scans its children once and files every
 * element whose name is a step into that step's slot (struct scan); a
 * lookup is a slot read. Deeper steps ("A/B": B) and attributes are
 * resolved from the path text below the (small) element found.
 */
#define STEP_NAME_MAX   (PATH_MAX_BYTES - 1u)
#define SHAPE_STEPS_MAX 64u  /* distinct names below one element */
#define SHAPE_BUCKETS   128u /* open addressing, 2^7 (key_bucket), > steps */
#define NO_STEP         0xFFu

struct pstep {
    const char *name; /* not NUL-terminated after len */
    size_t len;
    unsigned key; /* name_key() */
};

struct ppath {
    unsigned char step; /* slot of the first element step, or NO_STEP */
    const char *rest;   /* the path after that step: "", "/B..", "@x" */
};

struct pfield {
    const struct vfield *f;
    struct ppath path[3];
    unsigned npaths;
};

struct pshape;

struct pgroup {
    const struct vgroup *g;
    unsigned char step; /* slot of g->element in the parent's shape */
    const struct pshape *shape;
};

struct pshape {
    const struct vfield *fields; /* the tables compiled, also the key */
    const struct vgroup *groups;
    const char *const *extra;
    const struct pfield *pf;
    unsigned nfields;
    const struct pgroup *pg;
    unsigned ngroups;
    const struct pstep *steps;
    unsigned nsteps;
    unsigned char bucket[SHAPE_BUCKETS]; /* 1 + slot; 0 = empty */
};

/*
 * A name's length and its first and last two bytes, packed: the table
 * names differ there. Equal keys still need a compare of the names.
 */
static inline unsigned name_key(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    return (unsigned)len ^ (unsigned)(unsigned char)s[0] << 8 ^
           (unsigned)(unsigned char)s[len > 1 ? 1 : 0] << 14 ^
           (unsigned)(unsigned char)s[len > 1 ? len - 2 : 0] << 19 ^
           (unsigned)(unsigned char)s[len - 1] << 24;
}

static inline unsigned key_bucket(unsigned key)
{
    return (key * 2654435761u) >> 25; /* 7 bits: SHAPE_BUCKETS */
}

/*
 * The slot of name[0..len) in shape s; *bucket is where it would go when
 * absent (-1 returned). Ends: fewer steps than buckets, one is empty.
 */
static inline int shape_probe(const struct pshape *s, const char *name,
                              size_t len, unsigned key, unsigned *bucket)
{
    for (unsigned i = key_bucket(key);; i = (i + 1u) & (SHAPE_BUCKETS - 1u)) {
        const struct pstep *st;

        if (s->bucket[i] == 0) {
            *bucket = i;
            return -1;
        }
        st = &s->steps[s->bucket[i] - 1u];
        if (st->key == key && st->len == len &&
            memcmp(st->name, name, len) == 0)
            return s->bucket[i] - 1;
    }
}

static inline int shape_find(const struct pshape *s, const char *name,
                             size_t len)
{
    unsigned bucket;

    if (len > STEP_NAME_MAX)
        return -1;
    return shape_probe(s, name, len, name_key(name, len), &bucket);
}

/* The shapes of the elements the decoder starts from. */
struct plan {
    const struct pshape *message;     /* VTJHenkiloVastaussanoma */
    const struct pshape *person;      /* Henkilo */
    const struct pshape *turvakielto; /* Henkilo/Turvakielto */
    const struct pshape *search_key;  /* one key of Hakuperusteet */
};

/*
 * The plan, compiled by the first call (pthread_once) and read-only after;
 * NULL when a table does not fit the capacities of the plan.
 * Thread-safety: any thread.
 */
const struct plan *vtj__plan(void);

/* ---- XML helpers (vtj_xml.c) -------------------------------------- */

enum nsset {
    NS_WS, /* the X-Road wrapper namespace (vtjkysely/1) */
    NS_MSG /* VTJHenkiloVastaussanoma and the catalogue namespace */
};

/*
 * The outcome of the namespace check for the xmlNs declarations seen
 * last: a document declares a handful of namespaces and every element
 * points at one of them, so the href compare runs once per declaration
 * instead of once per element. The tree is not modified during a call,
 * so a pointer keeps its href.
 */
struct nscache {
    const xmlNs *accepted;
    const xmlNs *rejected;
};

/* Decoding state. */
struct dctx {
    struct jd *doc;           /* the document the JSON form is built in */
    struct jd_node *warnings; /* in doc, created on the first warning */
    struct xr_error *err;
    const struct plan *plan; /* vtj__plan(); NULL for vtj_schema_decode() */
    struct nscache ns[2];    /* by enum nsset */
    /* The value being converted by emit_field() when it spans several
     * text nodes (vtj__list_span()); emit_field() does not nest. */
    char value[VTJ_VALUE_MAX + 1u];
};

/* The namespace check behind ns_ok(), which caches its outcome in c. */
bool vtj__ns_check(struct dctx *c, const xmlNs *ns, enum nsset set);

static inline const char *xs(const xmlChar *s)
{
    return (const char *)s;
}

static inline bool ns_ok(struct dctx *c, const xmlNode *n, enum nsset set)
{
    if (n->ns && n->ns == c->ns[set].accepted)
        return true;
    return vtj__ns_check(c, n->ns, set);
}

/* name (NUL-terminated) equals the len bytes at seg. */
static inline bool name_is(const char *name, const char *seg, size_t len)
{
    return strncmp(name, seg, len) == 0 && name[len] == '\0';
}

/* An element of namespace set `set` whose local name is seg[0..len). */
static inline bool is_el_n(struct dctx *c, const xmlNode *n, enum nsset set,
                           const char *seg, size_t len)
{
    return n->type == XML_ELEMENT_NODE && n->name &&
           (len == 0 || n->name[0] == (xmlChar)seg[0]) &&
           name_is(xs(n->name), seg, len) && ns_ok(c, n, set);
}

static inline bool is_el(struct dctx *c, const xmlNode *n, enum nsset set,
                         const char *name)
{
    return is_el_n(c, n, set, name, strlen(name));
}

/* XR_ELIMIT "too_many_items": more than VTJ_CHILD_MAX children or items
 * in name. */
enum xr_status vtj__too_many(struct xr_error *err, const char *name);

/*
 * The single child element seg[0..len) of parent in namespace set `set`,
 * or NULL. Two or more: XR_EPROTO duplicate_element. Examines at most
 * VTJ_CHILD_MAX child nodes (more: XR_ELIMIT too_many_items).
 */
enum xr_status vtj__find_child_n(struct dctx *c, const xmlNode *parent,
                                 enum nsset set, const char *seg, size_t len,
                                 const xmlNode **out);
/* vtj__find_child_n() of a NUL-terminated name. */
enum xr_status vtj__find_child(struct dctx *c, const xmlNode *parent,
                               enum nsset set, const char *name,
                               const xmlNode **out);

/* ---- Scanning a group element (vtj_xml.c) -------------------------- */

/*
 * The children of one element filed by the steps of its shape. A lookup
 * gives the same answer vtj__find_child_n() would: the scan covers exactly the
 * nodes vtj__find_child_n() examines (the first VTJ_CHILD_MAX) and remembers
 * whether there are more. Scanning never fails, so scanning before the
 * first lookup reports the same errors in the same order as scanning
 * per lookup.
 */
struct hit {
    const xmlNode *first; /* first child element with the step's name */
    const xmlNode *last;  /* last one among the examined nodes */
    unsigned first_pos;   /* 1-based position of first among all children */
    unsigned count;
};

struct scan {
    const struct pshape *shape;
    const xmlNode *el;
    bool overflow; /* el has more than VTJ_CHILD_MAX child nodes */
    struct hit hit[SHAPE_STEPS_MAX];
};

/* Scan the children of el for the steps of shape (if it has any). */
void vtj__scan_open(struct scan *s, const struct pshape *shape,
                    const xmlNode *el, struct dctx *c);
/* The single child of s->el with the name of step `step`, as
 * vtj__find_child() would find it (errors included). */
enum xr_status vtj__scan_child(struct scan *s, unsigned step,
                               const xmlNode **out, struct dctx *c);
/* The single child `name` of s->el: through the scan when name is a step. */
enum xr_status vtj__scan_get(struct scan *s, const char *name,
                             const xmlNode **out, struct dctx *c);

/* ---- Text (vtj_xml.c) --------------------------------------------- */

/* A value: len bytes at p, not NUL-terminated; len 0 = absent. */
struct span {
    const char *p;
    size_t len;
};

/*
 * The text/CDATA nodes of a node list, concatenated and trimmed of XML
 * whitespace; an empty span when nothing is left. The span points into the
 * node's own content when one node carries text, otherwise into buf
 * (VTJ_VALUE_MAX + 1 bytes). Caps: VTJ_CHILD_MAX nodes, VTJ_VALUE_MAX
 * bytes; name is for error messages.
 */
enum xr_status vtj__list_span(const xmlNode *first, const char *name, char *buf,
                              struct span *out, struct xr_error *err);
/* vtj__list_span() into a new string; *out is NULL when the value is
 * empty. Ownership: *out is the caller's (free()). */
enum xr_status vtj__list_text(const xmlNode *first, const char *name,
                              char **out, struct xr_error *err);
/* vtj__list_text() of the children of el. */
enum xr_status vtj__elem_text(const xmlNode *el, char **out,
                              struct xr_error *err);
/* Unqualified attribute `name` of el, trimmed; empty span when absent;
 * buf as for vtj__list_span(). */
enum xr_status vtj__attr_span(const xmlNode *el, const char *name, char *buf,
                              struct span *out, struct xr_error *err);
/* vtj__attr_span() into a new string (NULL when empty), the caller's. */
enum xr_status vtj__attr_text(const xmlNode *el, const char *name, char **out,
                              struct xr_error *err);
/* The span holds exactly lit (never true for an empty span). */
static inline bool span_is(const struct span *v, const char *lit)
{
    return v->len > 0 && name_is(lit, v->p, v->len);
}

/* ---- Emitting JSON (vtj_json.c) ------------------------------------ */

/*
 * The object of one group element, created with its first member (so a
 * group that yields nothing costs no allocation); a typed group's "type"
 * comes first. Keys are the static ASCII names of the tables, which the
 * document borrows. Every node is in c->doc and dies with it.
 */
struct jobj {
    struct jd_node *obj;
    const char *type;
};

/* Add "what" or "what:field" to c->warnings (created on the first one). */
enum xr_status vtj__warn(struct dctx *c, const char *what, const char *field);
/* XR_ENOMEM "out_of_memory". */
enum xr_status vtj__oom(struct xr_error *err);
/* Every field of the scanned element's shape into o, in table order. */
enum xr_status vtj__emit_fields(struct jobj *o, struct scan *s, struct dctx *c);
/*
 * Append item to the array `key` of parent (created when absent); more
 * than VTJ_GROUP_MAX items: XR_ELIMIT.
 */
enum xr_status vtj__append_item(struct jobj *parent, const char *key,
                                struct jd_node *item, struct dctx *c);
/* Emit fields and groups of a scanned element into an existing object. */
enum xr_status vtj__group_object_root(struct scan *s, struct jd_node *obj,
                                      struct dctx *c);
/*
 * The keys that come first in the JSON form but are known last, set to
 * null in j (-1: out of memory); vtj__assemble() fills them in.
 */
int vtj__insert_header(struct dctx *c, struct jd_node *j);
/*
 * Complete the JSON form j (made with vtj__insert_header()) in its fixed
 * key order, with person (may be NULL) and c->warnings.
 */
enum xr_status vtj__assemble(struct vtj_result *r, struct dctx *c,
                             struct jd_node *j, struct jd_node *person);

#endif

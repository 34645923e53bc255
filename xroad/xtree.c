/*
 * Read-only XML trees in one arena (internal.h, XR__XML_ARENA).
 *
 * libxml2's own tree builder makes one allocation per element, text,
 * attribute, attribute value and namespace declaration, about 360 for a
 * VTJ answer, and frees them one by one. A SOAP answer is only read after
 * it is parsed, so these SAX handlers build the same tree (the same
 * libxml2 structures, linked the same way, so every reader and
 * xmlDocCopyNode()/xmlNodeDump() work unchanged) in a few large blocks,
 * freed at once. tests/unit/test_xtree.c compares the two trees node by
 * node on every vector, fixture and fuzz input.
 *
 * What the builder must reproduce of libxml2 2.9's SAX2 (SAX2.c):
 *   - the root and comments/PIs outside it are children of the document,
 *     and their parent is the document node;
 *   - namespace declarations become the element's nsDef list in document
 *     order; the element's and its attributes' ns is the nearest
 *     declaration of their prefix (the element's own first), "xml" the
 *     document's oldNs;
 *   - adjacent character data (entity and character references arrive as
 *     separate chunks) is one text node; a comment or element between
 *     two runs makes two;
 *   - an attribute value has one text child, none when empty; a literal
 *     '&' reaches SAX as "&#38;" (libxml2 keeps it escaped when entities
 *     are not substituted) and is decoded here as SAX2 decodes it.
 * Names and namespace URIs are the parser's dictionary strings; the
 * document keeps a reference on the dictionary.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include "internal.h"

#define XT_MAGIC     0x78747265u /* "xtre" */
#define XT_BLOCK_MIN (8u * 1024u)
#define XT_BLOCK_MAX (256u * 1024u)

struct xt_block {
    struct xt_block *next;
    size_t used, size;
    alignas(max_align_t) unsigned char data[];
};

struct xr__xtree {
    unsigned magic; /* first: xr__xml_free() tells the trees apart by it */
    struct xt_block *blocks;
    size_t next_size;
    xmlDocPtr doc;
    xmlDictPtr dict;
    /* The text node written last and its room: a chunk extends it while
     * it is still its parent's last child. */
    xmlNodePtr open_text;
    size_t open_len, open_cap;
    const char *failed; /* why the tree could not be built */
    bool oom;           /* ... because an allocation failed */
};

static void *xt_alloc(struct xr__xtree *t, size_t n)
{
    struct xt_block *b = t->blocks;
    size_t at;

    n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    at = b ? b->used : 0;
    if (!b || b->size - at < n) {
        size_t size = t->next_size;
        if (size < n)
            size = n;
        b = malloc(sizeof(*b) + size);
        if (!b)
            return NULL;
        b->used = 0;
        b->size = size;
        b->next = t->blocks;
        t->blocks = b;
        if (t->next_size < XT_BLOCK_MAX)
            t->next_size *= 2;
        at = 0;
    }
    b->used = at + n;
    return b->data + at;
}

static void *xt_zalloc(struct xr__xtree *t, size_t n)
{
    void *p = xt_alloc(t, n);

    if (p)
        memset(p, 0, n);
    return p;
}

/* A copy of s in the arena; NULL for NULL or when out of memory. */
static xmlChar *xt_dup(struct xr__xtree *t, const xmlChar *s)
{
    size_t n = s ? strlen((const char *)s) + 1 : 0;
    xmlChar *c = n ? xt_alloc(t, n) : NULL;

    if (c)
        memcpy(c, s, n);
    return c;
}

static void xt_fail(struct xr__xtree *t, xmlParserCtxtPtr ctxt, const char *why)
{
    if (!t->failed)
        t->failed = why;
    xmlStopParser(ctxt);
}

static void xt_oom(struct xr__xtree *t, xmlParserCtxtPtr ctxt)
{
    if (!t->failed)
        t->oom = true;
    xt_fail(t, ctxt, "out of memory");
}

struct xr__xtree *xr__xtree_new(xmlDictPtr dict, size_t hint)
{
    struct xr__xtree *t = calloc(1, sizeof(*t));
    xmlNsPtr xml;

    if (!t)
        return NULL;
    t->magic = XT_MAGIC;
    /* About four bytes of tree per byte of a pretty-printed answer. */
    t->next_size = hint > XT_BLOCK_MAX / 4   ? XT_BLOCK_MAX
                   : hint * 4 < XT_BLOCK_MIN ? XT_BLOCK_MIN
                                             : hint * 4;
    t->doc = xt_zalloc(t, sizeof(*t->doc));
    xml = xt_zalloc(t, sizeof(*xml));
    if (!t->doc || !xml) {
        xr__xtree_free(t);
        return NULL;
    }
    t->doc->type = XML_DOCUMENT_NODE;
    t->doc->doc = t->doc;
    t->doc->standalone = -1;
    t->doc->compression = -1;
    t->doc->charset = XML_CHAR_ENCODING_UTF8;
    t->doc->properties = XML_DOC_WELLFORMED | XML_DOC_NSVALID;
    t->doc->_private = t;
    /* The "xml" prefix is bound without a declaration (xmlSearchNs()
     * would otherwise allocate it on the document). */
    xml->type = XML_NAMESPACE_DECL;
    xml->href = XML_XML_NAMESPACE;
    xml->prefix = (const xmlChar *)"xml";
    t->doc->oldNs = xml;
    t->dict = dict;
    xmlDictReference(dict);
    t->doc->dict = dict;
    return t;
}

void xr__xtree_free(struct xr__xtree *t)
{
    struct xt_block *b;

    if (!t)
        return;
    b = t->blocks;
    while (b) {
        struct xt_block *next = b->next;
        free(b);
        b = next;
    }
    if (t->dict)
        xmlDictFree(t->dict);
    free(t);
}

xmlDocPtr xr__xtree_finish(struct xr__xtree *t, xmlParserCtxtPtr ctxt)
{
    const xmlChar *enc = ctxt->encoding;

    /* The declaration's version and the encoding read, as SAX2 keeps
     * them: a serialisation of the document starts the same. */
    if (!enc && ctxt->inputNr > 0 && ctxt->inputTab[0])
        enc = ctxt->inputTab[0]->encoding;
    t->doc->version = xt_dup(t, ctxt->version);
    t->doc->encoding = xt_dup(t, enc);
    t->doc->standalone = ctxt->standalone;
    if ((ctxt->version && !t->doc->version) || (enc && !t->doc->encoding)) {
        if (!t->failed) {
            t->oom = true;
            t->failed = "out of memory";
        }
    }
    return t->doc;
}

const char *xr__xtree_failed(const struct xr__xtree *t, bool *oom)
{
    *oom = t->oom;
    return t->failed;
}

void xr__xml_free(xmlDocPtr doc)
{
    struct xr__xtree *t;

    if (!doc)
        return;
    t = doc->_private;
    if (t && t->magic == XT_MAGIC && t->doc == doc)
        xr__xtree_free(t);
    else
        xmlFreeDoc(doc);
}

/* Append n under parent (an element, or the document). */
static void xt_link(xmlNodePtr parent, xmlNodePtr n)
{
    n->parent = parent;
    if (parent->last) {
        parent->last->next = n;
        n->prev = parent->last;
    } else {
        parent->children = n;
    }
    parent->last = n;
}

static unsigned short xt_line(xmlParserCtxtPtr ctxt)
{
    if (!ctxt->input)
        return 0;
    return ctxt->input->line < 65535 ? (unsigned short)ctxt->input->line
                                     : 65535;
}

/* The nearest declaration of prefix (NULL: the default namespace) in
 * scope at n, as xmlSearchNs() finds it. */
static xmlNsPtr xt_search(struct xr__xtree *t, xmlNodePtr n,
                          const xmlChar *prefix)
{
    if (prefix && xmlStrEqual(prefix, (const xmlChar *)"xml"))
        return t->doc->oldNs;
    for (; n && n->type == XML_ELEMENT_NODE; n = n->parent) {
        for (xmlNsPtr ns = n->nsDef; ns; ns = ns->next) {
            if (!ns->href)
                continue;
            if (prefix ? ns->prefix && xmlStrEqual(ns->prefix, prefix)
                       : !ns->prefix)
                return ns;
        }
    }
    return NULL;
}

/*
 * A text node holding [s, s + len), or NULL when out of memory. Its
 * content has room for cap bytes and the NUL.
 */
static xmlNodePtr xt_text_node(struct xr__xtree *t, const xmlChar *s,
                               size_t len, size_t cap)
{
    xmlNodePtr n = xt_zalloc(t, sizeof(*n));
    xmlChar *c = n ? xt_alloc(t, cap + 1) : NULL;

    if (!c)
        return NULL;
    memcpy(c, s, len);
    c[len] = '\0';
    n->type = XML_TEXT_NODE;
    n->name = xmlStringText;
    n->content = c;
    n->doc = t->doc;
    return n;
}

/*
 * An attribute value as SAX2 stores it: "&#38;" is a literal '&' (the
 * only reference libxml2 leaves in a value when it substitutes none);
 * anything else after '&' cannot come from a well-formed document
 * without a DTD and fails the tree.
 */
static xmlNodePtr xt_attr_text(struct xr__xtree *t, xmlParserCtxtPtr ctxt,
                               const xmlChar *v, const xmlChar *end)
{
    size_t len = (size_t)(end - v), o = 0;
    xmlNodePtr n;
    xmlChar *c;

    if (!memchr(v, '&', len))
        return xt_text_node(t, v, len, len);
    n = xt_text_node(t, (const xmlChar *)"", 0, len);
    if (!n)
        return NULL;
    c = n->content;
    for (const xmlChar *p = v; p < end;) {
        if (*p != '&') {
            c[o++] = *p++;
        } else if (end - p >= 5 && !memcmp(p, "&#38;", 5)) {
            c[o++] = '&';
            p += 5;
        } else {
            xt_fail(t, ctxt, "an entity reference in an attribute value");
            return NULL;
        }
    }
    c[o] = '\0';
    return n;
}

void xr__xtree_start(struct xr__xtree *t, xmlParserCtxtPtr ctxt,
                     const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int nb_namespaces,
                     const xmlChar **namespaces, int nb_attributes,
                     const xmlChar **attributes)
{
    xmlNodePtr parent = ctxt->node;
    xmlNodePtr n = xt_zalloc(t, sizeof(*n));
    xmlNsPtr last = NULL;
    xmlAttrPtr alast = NULL;

    if (!n) {
        xt_oom(t, ctxt);
        return;
    }
    n->type = XML_ELEMENT_NODE;
    n->name = localname;
    n->doc = t->doc;
    n->line = xt_line(ctxt);
    for (int i = 0; i < nb_namespaces; i++) {
        xmlNsPtr ns = xt_zalloc(t, sizeof(*ns));
        if (!ns) {
            xt_oom(t, ctxt);
            return;
        }
        ns->type = XML_NAMESPACE_DECL;
        ns->prefix = namespaces[2 * i];
        ns->href = namespaces[2 * i + 1];
        if (last)
            last->next = ns;
        else
            n->nsDef = ns;
        last = ns;
        if (uri && prefix == ns->prefix)
            n->ns = ns;
    }
    xt_link(parent ? parent : (xmlNodePtr)t->doc, n);
    if (nodePush(ctxt, n) < 0) {
        xt_fail(t, ctxt, "nesting too deep");
        return;
    }
    if (uri && !n->ns) {
        n->ns = xt_search(t, n, prefix);
        if (!n->ns) {
            xt_fail(t, ctxt, "an undeclared namespace prefix");
            return;
        }
    }
    for (int i = 0; i < nb_attributes; i++) {
        const xmlChar **a = attributes + 5 * i;
        xmlAttrPtr at = xt_zalloc(t, sizeof(*at));
        if (!at) {
            xt_oom(t, ctxt);
            return;
        }
        at->type = XML_ATTRIBUTE_NODE;
        at->name = a[0];
        at->parent = n;
        at->doc = t->doc;
        if (a[1]) {
            at->ns = xt_search(t, n, a[1]);
            if (!at->ns) {
                xt_fail(t, ctxt, "an undeclared namespace prefix");
                return;
            }
        }
        /* SAX2: a value read in place (not NUL-terminated) has a text
         * child even when empty; a decoded one has none when empty. */
        if (a[4] > a[3] || *a[4] != '\0') {
            xmlNodePtr v = xt_attr_text(t, ctxt, a[3], a[4]);
            if (!v) {
                xt_oom(t, ctxt);
                return;
            }
            v->parent = (xmlNodePtr)at;
            at->children = at->last = v;
        }
        if (alast) {
            alast->next = at;
            at->prev = alast;
        } else {
            n->properties = at;
        }
        alast = at;
    }
}

void xr__xtree_end(struct xr__xtree *t, xmlParserCtxtPtr ctxt)
{
    (void)t;
    (void)nodePop(ctxt);
}

void xr__xtree_text(struct xr__xtree *t, xmlParserCtxtPtr ctxt,
                    const xmlChar *ch, int len)
{
    xmlNodePtr parent = ctxt->node, n;
    size_t add = len > 0 ? (size_t)len : 0;
    size_t cap = add < 32 ? 32 : add;

    if (!parent)
        return; /* outside the root: SAX2 keeps nothing */
    /* The parent's last child is the text written last: extend it. */
    n = parent->last;
    if (n && n == t->open_text) {
        if (add > t->open_cap - t->open_len) {
            /* Double the room: chunks of a long text cost linear time.
             * The byte cap keeps the sum far below SIZE_MAX / 2. */
            xmlChar *c;
            cap = (t->open_len + add) * 2;
            c = xt_alloc(t, cap + 1);
            if (!c) {
                xt_oom(t, ctxt);
                return;
            }
            memcpy(c, n->content, t->open_len);
            n->content = c;
            t->open_cap = cap;
        }
        memcpy(n->content + t->open_len, ch, add);
        t->open_len += add;
        n->content[t->open_len] = '\0';
        return;
    }
    n = xt_text_node(t, ch, add, cap);
    if (!n) {
        xt_oom(t, ctxt);
        return;
    }
    n->line = xt_line(ctxt);
    xt_link(parent, n);
    t->open_text = n;
    t->open_len = add;
    t->open_cap = cap;
}

/* A comment (pi false) or processing instruction, where SAX2 puts it. */
static void xt_misc(struct xr__xtree *t, xmlParserCtxtPtr ctxt, bool pi,
                    const xmlChar *name, const xmlChar *value)
{
    xmlNodePtr n = xt_zalloc(t, sizeof(*n));
    xmlChar *c = n ? xt_dup(t, value) : NULL;

    if (!n || (value && !c)) {
        xt_oom(t, ctxt);
        return;
    }
    if (pi && t->dict) {
        name = xmlDictLookup(t->dict, name, -1);
        if (!name) {
            xt_oom(t, ctxt);
            return;
        }
    }
    n->type = pi ? XML_PI_NODE : XML_COMMENT_NODE;
    n->name = name;
    n->content = c;
    n->doc = t->doc;
    n->line = xt_line(ctxt);
    xt_link(ctxt->node ? ctxt->node : (xmlNodePtr)t->doc, n);
}

void xr__xtree_comment(struct xr__xtree *t, xmlParserCtxtPtr ctxt,
                       const xmlChar *value)
{
    xt_misc(t, ctxt, false, xmlStringComment, value);
}

void xr__xtree_pi(struct xr__xtree *t, xmlParserCtxtPtr ctxt,
                  const xmlChar *target, const xmlChar *data)
{
    xt_misc(t, ctxt, true, target, data);
}

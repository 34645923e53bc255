/*
 * Hardened XML parsing and small tree helpers.
 *
 * Untrusted XML is parsed with XML_PARSE_NONET and without entity
 * substitution. A DOCTYPE stops the parser at once (SAX internalSubset
 * hook), so no entity is ever declared, let alone expanded: billion laughs
 * and external entities never get a chance. Element count and depth are
 * enforced while parsing (SAX startElementNs hook), not afterwards.
 */
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlerror.h>
#include <openssl/crypto.h>

#include "internal.h"

struct parse_state {
    const struct xr_limits *lim;
    size_t nodes;
    bool dtd_seen;
    bool limit_hit;
    char limit_what[32];
    /* libxml2's own handlers, called after counting. */
    startElementNsSAX2Func start_element;
    charactersSAXFunc characters;
    charactersSAXFunc cdata;
    commentSAXFunc comment;
    processingInstructionSAXFunc pi;
    /* XR__XML_ARENA: the tree being built instead (xtree.c). */
    struct xr__xtree *tree;
};

/* Count one more node; false (and the parser stopped) above the cap. */
static bool count_node(xmlParserCtxtPtr ctxt, struct parse_state *st, size_t n)
{
    st->nodes += n;
    if (st->nodes <= st->lim->max_nodes)
        return true;
    st->limit_hit = true;
    xr__strlcpy(st->limit_what, "node count", sizeof(st->limit_what));
    xmlStopParser(ctxt);
    return false;
}

/*
 * Text arrives in chunks, so a long text node counts several times: an
 * over-estimate bounded by the byte cap, never an under-estimate.
 */
static void on_characters(void *ctx, const xmlChar *ch, int len)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;

    if (!count_node(ctxt, st, 1))
        return;
    if (st->tree)
        xr__xtree_text(st->tree, ctxt, ch, len);
    else
        st->characters(ctx, ch, len);
}

static void on_cdata(void *ctx, const xmlChar *ch, int len)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;

    if (count_node(ctxt, st, 1))
        st->cdata(ctx, ch, len);
}

static void on_comment(void *ctx, const xmlChar *value)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;

    if (!count_node(ctxt, st, 1))
        return;
    if (st->tree)
        xr__xtree_comment(st->tree, ctxt, value);
    else
        st->comment(ctx, value);
}

static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;

    if (!count_node(ctxt, st, 1))
        return;
    if (st->tree)
        xr__xtree_pi(st->tree, ctxt, target, data);
    else
        st->pi(ctx, target, data);
}

static void on_internal_subset(void *ctx, const xmlChar *name,
                               const xmlChar *external_id,
                               const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;

    (void)name;
    (void)external_id;
    (void)system_id;
    st->dtd_seen = true;
    xmlStopParser(ctxt);
}

static void on_start_element(void *ctx, const xmlChar *localname,
                             const xmlChar *prefix, const xmlChar *uri,
                             int nb_namespaces, const xmlChar **namespaces,
                             int nb_attributes, int nb_defaulted,
                             const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;

    if (!count_node(ctxt, st,
                    1u + (size_t)(nb_attributes > 0 ? nb_attributes : 0)))
        return;
    /* nodeNr is the number of open elements above this one. */
    if ((unsigned)ctxt->nodeNr + 1u > st->lim->max_depth) {
        st->limit_hit = true;
        xr__strlcpy(st->limit_what, "nesting depth", sizeof(st->limit_what));
        xmlStopParser(ctxt);
        return;
    }
    if (st->tree)
        xr__xtree_start(st->tree, ctxt, localname, prefix, uri, nb_namespaces,
                        namespaces, nb_attributes, attributes);
    else
        st->start_element(ctx, localname, prefix, uri, nb_namespaces,
                          namespaces, nb_attributes, nb_defaulted, attributes);
}

static void on_end_element(void *ctx, const xmlChar *localname,
                           const xmlChar *prefix, const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;

    (void)localname;
    (void)prefix;
    (void)uri;
    xr__xtree_end(st->tree, ctxt);
}

/* No document for libxml2 to build: the arena holds it (xtree.c). */
static void on_start_document(void *ctx)
{
    (void)ctx;
}

/* A reference to an entity that is not predefined: with no DTD there is
 * none, and the parser reports the document not well-formed. SAX2 would
 * add a node of its own to the tree: nothing is added. */
static void on_reference(void *ctx, const xmlChar *name)
{
    (void)ctx;
    (void)name;
}

/* The first occurrence of the n-byte string s in [p, end), or end. */
static const uint8_t *find(const uint8_t *p, const uint8_t *end, const char *s,
                           size_t n)
{
    while (p < end) {
        const uint8_t *q = memchr(p, (unsigned char)s[0], (size_t)(end - p));
        if (!q || (size_t)(end - q) < n)
            return end;
        if (!memcmp(q, s, n))
            return q;
        p = q + 1;
    }
    return end;
}

/*
 * Count the attributes of every start tag before libxml2 sees them:
 * libxml2 checks each new attribute against all earlier ones of its
 * element (quadratic: 100,000 attributes on one element cost seconds of
 * CPU), and its SAX hook only runs after that. One pass over the bytes:
 * in a start tag, every '=' outside a quoted value is one attribute (or
 * namespace declaration). Comments, CDATA sections, processing
 * instructions and end tags are skipped; a DOCTYPE stops the scan (the
 * parser refuses it at once). The byte values counted are the same in
 * UTF-8 and in the UTF-16 forms of these ASCII characters.
 */
static enum xr_status attr_prescan(const uint8_t *b, size_t n,
                                   const struct xr_limits *lim,
                                   struct xr_error *err)
{
    const uint8_t *p = b, *end = b + n;
    size_t total = 0;

    /* Every attribute the scan below counts is one '=' byte: a document
     * with no more '=' bytes than one element may have attributes is
     * within both caps, whatever its shape (memchr, not a byte loop). */
    for (const uint8_t *q = b; (q = memchr(q, '=', (size_t)(end - q))) != NULL;
         q++)
        if (++total > lim->max_attrs)
            break;
    if (total <= lim->max_attrs && total <= lim->max_nodes)
        return XR_OK;
    total = 0;
    while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
        unsigned in_tag = 0;
        if (end - p >= 4 && !memcmp(p, "<!--", 4)) {
            p = find(p + 4, end, "-->", 3);
            continue;
        }
        if (end - p >= 9 && !memcmp(p, "<![CDATA[", 9)) {
            p = find(p + 9, end, "]]>", 3);
            continue;
        }
        if (end - p >= 2 && p[1] == '!')
            return XR_OK; /* a DOCTYPE: the parser stops on it */
        if (end - p >= 2 && (p[1] == '?' || p[1] == '/')) {
            p = find(p + 1, end, ">", 1);
            continue;
        }
        for (p++; p < end; p++) {
            if (*p == '"' || *p == '\'') {
                /* a quoted value: straight to its closing quote */
                const uint8_t *q = memchr(p + 1, *p, (size_t)(end - p - 1));
                if (!q)
                    return XR_OK; /* unclosed: the parser refuses it */
                p = q;
            } else if (*p == '=') {
                if (++in_tag > lim->max_attrs)
                    return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                        "an XML element has more than %u "
                                        "attributes",
                                        lim->max_attrs);
                if (++total > lim->max_nodes)
                    return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                        "the XML has more than %zu "
                                        "attributes",
                                        lim->max_nodes);
            } else if (*p == '>') {
                break;
            }
        }
    }
    return XR_OK;
}

static bool is_utf8_name(const char *s, size_t n)
{
    return (n == 5 && !strncasecmp(s, "UTF-8", 5)) ||
           (n == 4 && !strncasecmp(s, "UTF8", 4));
}

/*
 * True when libxml2 would read buf as UTF-8 by itself: no byte-order mark
 * but UTF-8's, a first byte '<' not followed by NUL (UTF-16 and UCS-4
 * without a mark), and an XML declaration that names no encoding or
 * UTF-8. Anything else, or a declaration longer than 256 bytes, is false.
 */
static bool reads_as_utf8(const uint8_t *b, size_t n)
{
    const uint8_t *end, *p, *e;
    uint8_t q;

    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
        b += 3, n -= 3;
    if (n < 2 || b[0] != '<' || b[1] == 0)
        return false;
    if (n < 6 || memcmp(b, "<?xml", 5) != 0 ||
        !(b[5] == ' ' || b[5] == '\t' || b[5] == '\r' || b[5] == '\n'))
        return true; /* no declaration */
    end = b + (n < 256 ? n : 256);
    for (e = b + 5; e + 1 < end && !(e[0] == '?' && e[1] == '>'); e++)
        ;
    if (e + 1 >= end)
        return false;
    for (p = b + 5; p + 8 <= e && memcmp(p, "encoding", 8) != 0; p++)
        ;
    if (p + 8 > e)
        return true; /* no encoding named */
    for (p += 8; p < e && (*p == ' ' || *p == '\t' || *p == '\r' ||
                           *p == '\n' || *p == '=');
         p++)
        ;
    if (p >= e || (*p != '"' && *p != '\''))
        return false;
    q = *p++;
    for (const uint8_t *v = p; v < e; v++)
        if (*v == q)
            return is_utf8_name((const char *)p, (size_t)(v - p));
    return false;
}

enum xr_status xr__xml_parse(const uint8_t *buf, size_t len,
                             const char *encoding,
                             const struct xr_limits *limits, unsigned flags,
                             xmlDocPtr *out, struct xr_error *err)
{
    return xr__xml_parse_in(buf, len, encoding, limits, flags, NULL, out, err);
}

enum xr_status xr__xml_parse_in(const uint8_t *buf, size_t len,
                                const char *encoding,
                                const struct xr_limits *limits, unsigned flags,
                                xmlDictPtr dict, xmlDocPtr *out,
                                struct xr_error *err)
{
    struct xr_limits lim = *limits;
    struct parse_state st;
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    enum xr_status rc;
    const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                     XML_PARSE_NOCDATA |
                     ((flags & (XR__XML_READONLY | XR__XML_ARENA))
                          ? (XML_PARSE_NOBLANKS | XML_PARSE_COMPACT)
                          : 0);

    *out = NULL;
    xr__limits_resolve(&lim);
    memset(&st, 0, sizeof(st));
    st.lim = &lim;
    if (len > lim.max_bytes) {
        rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                          "XML document is %zu bytes, limit %zu", len,
                          lim.max_bytes);
        goto out;
    }
    if (len == 0) {
        rc = xr_error_set(err, XR_EPARSE, "malformed_xml", "",
                          "empty XML document");
        goto out;
    }
    if (len > (size_t)INT32_MAX) {
        rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                          "XML document too large for the parser");
        goto out;
    }
    rc = attr_prescan(buf, len, &lim, err);
    if (rc != XR_OK)
        goto out;
    /* libxml2 reads UTF-8 in place, but a named encoding sends every byte
     * through a converter first: not named when the document is UTF-8
     * by its own account too (the same characters either way). */
    if (encoding && is_utf8_name(encoding, strlen(encoding)) &&
        reads_as_utf8(buf, len))
        encoding = NULL;
    ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "cannot create XML parser");
        goto out;
    }
    if (dict) {
        /* The caller's dictionary instead of the one the context made,
         * with the limit libxml2 gives its own (xmlInitParserCtxt);
         * xmlCtxtReadMemory() looks its names up again in it. */
        xmlDictFree(ctxt->dict);
        ctxt->dict = dict;
        xmlDictReference(dict);
        xmlDictSetLimit(dict, XML_MAX_DICTIONARY_LIMIT);
    }
    ctxt->_private = &st;
    st.start_element = ctxt->sax->startElementNs;
    ctxt->sax->startElementNs = on_start_element;
    st.characters = ctxt->sax->characters;
    st.cdata = ctxt->sax->cdataBlock;
    st.comment = ctxt->sax->comment;
    st.pi = ctxt->sax->processingInstruction;
    if (st.characters)
        ctxt->sax->characters = on_characters;
    if (st.cdata)
        ctxt->sax->cdataBlock = on_cdata;
    if (st.comment)
        ctxt->sax->comment = on_comment;
    if (st.pi)
        ctxt->sax->processingInstruction = on_pi;
    ctxt->sax->internalSubset = on_internal_subset;
    if (flags & XR__XML_ARENA) {
        st.tree = xr__xtree_new(ctxt->dict, len);
        if (!st.tree) {
            rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                              "cannot create XML parser");
            goto out;
        }
        ctxt->sax->startDocument = on_start_document;
        ctxt->sax->endElementNs = on_end_element;
        ctxt->sax->reference = on_reference;
    }
    doc = xmlCtxtReadMemory(ctxt, (const char *)buf, (int)len, NULL, encoding,
                            opts);
    if (st.tree) {
        /* libxml2 built nothing (its SAX2 handlers never ran); the
         * document is the arena's from here, freed by xr__xml_free(). */
        bool oom = false;
        const char *why;
        if (doc)
            xmlFreeDoc(doc);
        doc = xr__xtree_finish(st.tree, ctxt);
        why = xr__xtree_failed(st.tree, &oom);
        st.tree = NULL;
        if (oom) {
            rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                              "out of memory building the XML tree");
            goto out;
        }
        if (why && !st.limit_hit && !st.dtd_seen) {
            rc = xr_error_set(err, XR_EPARSE, "malformed_xml", "",
                              "malformed XML: %s", why);
            goto out;
        }
    }
    if (st.dtd_seen || (doc && (doc->intSubset || doc->extSubset))) {
        rc = xr_error_set(err, XR_EPROTO, "dtd_forbidden", "",
                          "document type declarations (DTD) are not allowed");
        goto out;
    }
    if (st.limit_hit) {
        rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                          "XML %s exceeds the limit (%u levels, %zu nodes)",
                          st.limit_what, lim.max_depth, lim.max_nodes);
        goto out;
    }
    if (!doc || !ctxt->wellFormed || !ctxt->nsWellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[160] = "not well-formed";

        if (e && e->message) {
            size_t n = xr__strlcpy(msg, e->message, sizeof(msg));
            if (n > 0 && n < sizeof(msg) && msg[n - 1] == '\n')
                msg[n - 1] = '\0';
        }
        rc = xr_error_set(err, XR_EPARSE, "malformed_xml", "",
                          "malformed XML at line %d: %s", e ? e->line : 0, msg);
        goto out;
    }
    if (!xmlDocGetRootElement(doc)) {
        rc = xr_error_set(err, XR_EPARSE, "malformed_xml", "",
                          "XML document has no root element");
        goto out;
    }
    *out = doc;
    doc = NULL;
    rc = XR_OK;
out:
    xr__xml_free(doc);
    if (ctxt) {
        ctxt->_private = NULL;
        xmlFreeParserCtxt(ctxt);
    }
    return rc;
}

bool xr__xml_is(const xmlNode *node, const char *ns, const char *name)
{
    if (!node || node->type != XML_ELEMENT_NODE)
        return false;
    if (strcmp(xr__cs(node->name), name) != 0)
        return false;
    if (!ns)
        return node->ns == NULL || node->ns->href == NULL ||
               node->ns->href[0] == '\0';
    return node->ns && node->ns->href &&
           strcmp(xr__cs(node->ns->href), ns) == 0;
}

xmlNodePtr xr__xml_next_elem(const xmlNode *node)
{
    for (xmlNodePtr n = node ? node->next : NULL; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            return n;
    }
    return NULL;
}

xmlNodePtr xr__xml_first_elem(const xmlNode *parent)
{
    if (!parent)
        return NULL;
    for (xmlNodePtr n = parent->children; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            return n;
    }
    return NULL;
}

static bool is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum xr_status xr__xml_text(const xmlNode *node, char *out, size_t size,
                            const char *field, struct xr_error *err)
{
    size_t n = 0;
    bool overflow = false;

    if (size == 0)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", field,
                            "no room for %s", field);
    /* Concatenate direct text children; the depth cap bounds the tree. */
    for (const xmlNode *c = node->children; c; c = c->next) {
        const char *t;
        size_t tl;

        if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
            continue;
        t = xr__cs(c->content);
        if (!t)
            continue;
        tl = strlen(t);
        if (tl >= size - n) {
            overflow = true;
            break;
        }
        memcpy(out + n, t, tl);
        n += tl;
    }
    out[n] = '\0';
    if (overflow) {
        out[0] = '\0';
        return xr_error_set(err, XR_ELIMIT, "too_large", field,
                            "%s is longer than %zu bytes", field, size - 1);
    }
    /* Trim XML whitespace on both sides. */
    {
        size_t b = 0, e = n;
        while (b < e && is_xml_space(out[b]))
            b++;
        while (e > b && is_xml_space(out[e - 1]))
            e--;
        memmove(out, out + b, e - b);
        out[e - b] = '\0';
    }
    return XR_OK;
}

enum xr_status xr__xml_serialize(xmlDocPtr doc, uint8_t **out, size_t *len,
                                 struct xr_error *err)
{
    xmlChar *mem = NULL;
    int size = 0;

    xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
    if (!mem || size <= 0) {
        if (mem)
            xmlFree(mem);
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "cannot serialise the envelope");
    }
    *out = malloc((size_t)size + 1);
    if (!*out) {
        xmlFree(mem);
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    }
    memcpy(*out, mem, (size_t)size);
    (*out)[size] = '\0';
    *len = (size_t)size;
    /* Bodies carry credentials (VTJ's Salasana): wipe the copy. */
    OPENSSL_cleanse(mem, (size_t)size);
    xmlFree(mem);
    return XR_OK;
}

xmlNodePtr xr__envelope_new(xmlDocPtr *doc, xmlNsPtr *soap)
{
    xmlNodePtr env;

    *soap = NULL;
    *doc = xmlNewDoc(xr__xc("1.0"));
    if (!*doc)
        return NULL;
    env = xmlNewDocNode(*doc, NULL, xr__xc("Envelope"), NULL);
    if (!env)
        return NULL;
    xmlDocSetRootElement(*doc, env);
    *soap = xmlNewNs(env, xr__xc(XR_NS_SOAP11), xr__xc("SOAP-ENV"));
    if (!*soap)
        return NULL;
    xmlSetNs(env, *soap);
    return env;
}

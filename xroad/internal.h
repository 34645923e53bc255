/*
 * libxroad internals: shared by the modules in xroad/, never installed,
 * never included from adapter/.
 */
#ifndef XROAD_INTERNAL_H
#define XROAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>
#include <libxml/dict.h>

#include "xroad/xroad.h"

#define XR_HIDDEN __attribute__((visibility("hidden")))

/* libxml2 wants unsigned char strings; one helper instead of casts. */
static inline const xmlChar *xr__xc(const char *s)
{
    return (const xmlChar *)(const void *)s;
}

static inline const char *xr__cs(const xmlChar *s)
{
    return (const char *)(const void *)s;
}

/* Copy with truncation; returns strlen(src) (>= size means truncated). */
XR_HIDDEN size_t xr__strlcpy(char *dst, const char *src, size_t size);

/*
 * Length of s[0..len) without a trailing incomplete UTF-8 sequence, so a
 * string cut at a byte count stays valid UTF-8.
 */
XR_HIDDEN size_t xr__utf8_trim(const char *s, size_t len);

/*
 * Copy s into buf (size bytes), cut at a character boundary: for quoting
 * untrusted text in error messages. Returns buf.
 */
#define XR_CLIP 65 /* buffer size for a clipped quote: 64 bytes + NUL */
XR_HIDDEN const char *xr__clip(char *buf, size_t size, const char *s);

/*
 * Two-pass text writer: with p NULL it only counts (n), so the caller can
 * allocate exactly n bytes and write again. Never fails.
 */
struct xr__tw {
    char *p;  /* destination, or NULL to count */
    size_t n; /* bytes written (or counted) so far */
};
XR_HIDDEN void xr__tw_put(struct xr__tw *w, const char *s, size_t n);
XR_HIDDEN void xr__tw_str(struct xr__tw *w, const char *s);
/* s as XML character data: & < > and CR escaped as libxml2 does. */
XR_HIDDEN void xr__tw_text(struct xr__tw *w, const char *s);

/* Fill in zero fields of *lim with the defaults. */
XR_HIDDEN void xr__limits_resolve(struct xr_limits *lim);

/* n random bytes from OpenSSL's generator (reason random_failed). */
XR_HIDDEN enum xr_status xr__random(uint8_t *out, size_t n,
                                    struct xr_error *err);

/*
 * Hardened XML parse: NONET, no entity substitution, no DTD allowed (a
 * DOCTYPE gives reason "dtd_forbidden"), size/depth/node caps ("too_large"),
 * structured error capture ("malformed_xml" with line and message).
 * encoding: from the HTTP charset, or NULL to use the document's own.
 * flags: XR__XML_READONLY for trees only read after parsing (SOAP
 * messages): whitespace-only text between elements is not kept and short
 * texts are stored inside their nodes, which halves the allocations of a
 * pretty-printed answer. Bytes are hashed from the buffer, never from the
 * tree, so nothing that is checked changes.
 * Ownership: *out is a new document (xr__xml_free()).
 */
#define XR__XML_READONLY 1u
/*
 * XR__XML_ARENA (implies READONLY): the tree is built in one arena
 * (xtree.c): the same libxml2 structures, read and copied as usual, but
 * never modified and freed only with xr__xml_free().
 */
#define XR__XML_ARENA    2u
XR_HIDDEN enum xr_status xr__xml_parse(const uint8_t *buf, size_t len,
                                       const char *encoding,
                                       const struct xr_limits *lim,
                                       unsigned flags, xmlDocPtr *out,
                                       struct xr_error *err);
/*
 * xr__xml_parse() with the names interned in dict (borrowed; the document
 * keeps a reference) instead of a new dictionary; NULL = a new one.
 */
XR_HIDDEN enum xr_status xr__xml_parse_in(const uint8_t *buf, size_t len,
                                          const char *encoding,
                                          const struct xr_limits *lim,
                                          unsigned flags, xmlDictPtr dict,
                                          xmlDocPtr *out, struct xr_error *err);

/* Free a document of xr__xml_parse(), of either kind (an arena tree is
 * known by its doc->_private, which libxroad sets on no other document).
 * NULL is a no-op. */
XR_HIDDEN void xr__xml_free(xmlDocPtr doc);

/*
 * The arena tree builder behind XR__XML_ARENA (xtree.c), driven by
 * xml.c's SAX hooks after its caps have counted each event. A handler
 * that cannot build (out of memory, a construct SAX2 would not produce
 * from a document without a DTD) stops the parser and
 * xr__xtree_failed() says why (*oom: an allocation failed). dict is the
 * parser's dictionary (a reference is kept); hint the document's size in bytes.
 * Ownership: xr__xtree_finish() hands over the document (freed with
 * xr__xml_free(), which frees the builder); otherwise xr__xtree_free().
 */
struct xr__xtree;
XR_HIDDEN struct xr__xtree *xr__xtree_new(xmlDictPtr dict, size_t hint);
XR_HIDDEN void xr__xtree_free(struct xr__xtree *t);
XR_HIDDEN xmlDocPtr xr__xtree_finish(struct xr__xtree *t,
                                     xmlParserCtxtPtr ctxt);
XR_HIDDEN const char *xr__xtree_failed(const struct xr__xtree *t, bool *oom);
XR_HIDDEN void xr__xtree_start(struct xr__xtree *t, xmlParserCtxtPtr ctxt,
                               const xmlChar *localname, const xmlChar *prefix,
                               const xmlChar *uri, int nb_namespaces,
                               const xmlChar **namespaces, int nb_attributes,
                               const xmlChar **attributes);
XR_HIDDEN void xr__xtree_end(struct xr__xtree *t, xmlParserCtxtPtr ctxt);
XR_HIDDEN void xr__xtree_text(struct xr__xtree *t, xmlParserCtxtPtr ctxt,
                              const xmlChar *ch, int len);
XR_HIDDEN void xr__xtree_comment(struct xr__xtree *t, xmlParserCtxtPtr ctxt,
                                 const xmlChar *value);
XR_HIDDEN void xr__xtree_pi(struct xr__xtree *t, xmlParserCtxtPtr ctxt,
                            const xmlChar *target, const xmlChar *data);

/*
 * Serialise doc as UTF-8 (with the XML declaration) into a new
 * NUL-terminated buffer (*out, free()); libxml2's own copy is wiped, as
 * bodies may carry credentials. Errors: XR_ENOMEM.
 */
XR_HIDDEN enum xr_status xr__xml_serialize(xmlDocPtr doc, uint8_t **out,
                                           size_t *len, struct xr_error *err);

/*
 * A new document whose root is an empty SOAP-ENV:Envelope; *soap is the
 * SOAP namespace. Returns the Envelope, or NULL when out of memory (*doc
 * may then still need xmlFreeDoc()).
 */
XR_HIDDEN xmlNodePtr xr__envelope_new(xmlDocPtr *doc, xmlNsPtr *soap);

/* True when node is an element with this namespace URI and local name. */
XR_HIDDEN bool xr__xml_is(const xmlNode *node, const char *ns,
                          const char *name);

/* First / next element sibling (skips text, comments, PIs). */
XR_HIDDEN xmlNodePtr xr__xml_first_elem(const xmlNode *parent);
XR_HIDDEN xmlNodePtr xr__xml_next_elem(const xmlNode *node);

/*
 * Text content of an element, XML-whitespace-trimmed, into out.
 * Returns XR_ELIMIT (reason "too_large", field = `field`) when it does not
 * fit.
 */
XR_HIDDEN enum xr_status xr__xml_text(const xmlNode *node, char *out,
                                      size_t size, const char *field,
                                      struct xr_error *err);

/* base64(SHA-512(data)) into out (>= XR_HASH_B64_MAX + 1). */
XR_HIDDEN void xr__sha512_b64(const uint8_t *data, size_t len, char *out,
                              size_t size);

/*
 * HTTP Content-Type parsing: media type (lower-cased) and the parameters
 * that matter here. Unknown parameters are ignored. Quoted values are
 * unquoted.
 */
struct xr__ctype {
    char media[128];    /* "text/xml", "multipart/related", ... */
    char charset[64];   /* "" when absent */
    char boundary[128]; /* "" when absent */
};
XR_HIDDEN enum xr_status xr__ctype_parse(const char *value,
                                         struct xr__ctype *out,
                                         struct xr_error *err);

/* One part of a multipart body; pointers borrow from the input buffer. */
struct xr__mime_part {
    char content_type[256];
    char content_id[256];
    char transfer_encoding[64];
    const uint8_t *body;
    size_t body_len;
};

/*
 * Split a multipart body on `boundary`. At most max_parts parts; the caller
 * owns *parts (free()). Errors: "mime_parsing_failed", "too_large",
 * "invalid_content_type" (a part without Content-Type).
 */
XR_HIDDEN enum xr_status xr__mime_split(const uint8_t *buf, size_t len,
                                        const char *boundary,
                                        unsigned max_parts,
                                        struct xr__mime_part **parts,
                                        size_t *nparts, struct xr_error *err);

/*
 * The SOAP message inside an HTTP body: for text/xml the whole body, for
 * multipart the first part. Parses it (hardened) and fills *doc, a
 * read-only tree; xml_flags XR__XML_ARENA builds it in one arena.
 * parts/nparts receive all parts (NULL for text/xml).
 */
struct xr__soap {
    xmlDocPtr doc;
    const uint8_t *soap; /* borrowed from the input buffer */
    size_t soap_len;
    struct xr__mime_part *parts; /* owned; parts[0] is the SOAP part */
    size_t nparts;
};
/* dict: as for xr__xml_parse_in(). */
XR_HIDDEN enum xr_status xr__soap_open(const char *content_type,
                                       const uint8_t *buf, size_t len,
                                       const struct xr_limits *lim,
                                       unsigned xml_flags, xmlDictPtr dict,
                                       struct xr__soap *out,
                                       struct xr_error *err);
XR_HIDDEN void xr__soap_close(struct xr__soap *s);

/*
 * Read an X-Road SOAP envelope (message.c): Envelope/Header/Body structure,
 * header fields into *hdr (duplicates, objectType and protocolVersion checked),
 * body wrapper into *body (exactly one element child), or a Fault into
 * *fault (then *is_fault is true and the header may be absent).
 * require_service: requests must carry a service header.
 * body_err: when not NULL, body problems (not exactly one child, wrapper
 * not starting with serviceCode) are stored there, *body stays NULL and
 * the function still returns XR_OK, so header checks can come first.
 */
XR_HIDDEN enum xr_status xr__msg_read(xmlDocPtr doc, bool require_service,
                                      struct xr_header *hdr, bool *has_header,
                                      xmlNodePtr *body, bool *is_fault,
                                      struct xr_fault *fault,
                                      struct xr_error *body_err,
                                      struct xr_error *err);

/*
 * Read the X-Road fields of a SOAP Header element into *hdr (header.c):
 * found by namespace and local name in any order; duplicates, objectType
 * and protocolVersion checked; require_service for requests.
 */
XR_HIDDEN enum xr_status xr__header_read(const xmlNode *header,
                                         bool require_service,
                                         struct xr_header *hdr,
                                         struct xr_error *err);

/* Read a Fault element into *fault (fault.c). */
XR_HIDDEN enum xr_status xr__fault_read(const xmlNode *fault_elem,
                                        struct xr_fault *fault,
                                        struct xr_error *err);

/*
 * Echo fields: the header fields a response must repeat, in the order
 * they are checked. A request keeps them packed (envelope.c); the judge
 * packs the response's the same way and compares bytes.
 */
enum {
    XR__ECHO_CLIENT,
    XR__ECHO_SERVICE,
    XR__ECHO_ID,
    XR__ECHO_USER_ID,
    XR__ECHO_ISSUE,
    XR__ECHO_REPR,
    XR__ECHO_COUNT
};

/* Name of an echo field as used in err->field ("client", "userId", ...). */
XR_HIDDEN const char *xr__echo_name(int field);

/*
 * Pack one echo field of hdr: a presence byte ('0' absent, '1' present)
 * then an unambiguous encoding of the value (identifier parts are
 * length-prefixed). Returns the packed length; writes only when out is
 * not NULL and size is large enough.
 */
XR_HIDDEN size_t xr__echo_pack(const struct xr_header *hdr, int field,
                               char *out, size_t size);

/* The packed echo field of a request. Ownership: get0. */
XR_HIDDEN void xr__request_echo(const struct xr_request *req, int field,
                                const char **ptr, size_t *len);

/*
 * The header elements of *hdr as text, in the order and form of
 * xr__header_write(), with the prefixes SOAP-ENV, xrd, id and repr that
 * the caller declares on the Envelope. hdr must have passed the request
 * checks (valid UTF-8, no control characters).
 */
XR_HIDDEN void xr__header_text(struct xr__tw *w, const struct xr_header *hdr);

/* Add header children for *hdr under `header` (used by requests and the
 * fault builder). */
XR_HIDDEN enum xr_status xr__header_write(xmlNodePtr header,
                                          const struct xr_header *hdr,
                                          struct xr_error *err);

/*
 * Read an identifier element (objectType attribute in the identifiers
 * namespace, parts as children in that namespace) into *id (header.c).
 * `types` is a mask of (1u << enum xr_id_type) values the element may
 * have; `field` names it in errors (reasons "invalid_xml",
 * "duplicate_header_field", "too_large"). The parts are not checked
 * against the strict character set.
 */
XR_HIDDEN enum xr_status xr__id_read(const xmlNode *el, const char *field,
                                     unsigned types, struct xr_id *id,
                                     struct xr_error *err);

/* Length of the strict UTF-8 sequence at p (no overlong forms, no
 * surrogates, at most U+10FFFF; bounded by end), 0 when invalid. */
XR_HIDDEN size_t xr__utf8_seq(const uint8_t *p, const uint8_t *end);

/*
 * True when s[0..len) is valid UTF-8 without control characters (C0,
 * DEL, C1); TAB, LF and CR are allowed when `newlines` is true.
 */
XR_HIDDEN bool xr__text_clean(const char *s, size_t len, bool newlines);

/*
 * Whether b[0..n) holds only characters XML 1.0 allows: strict UTF-8 (as
 * xr__utf8_seq), no C0 control but TAB, LF and CR, neither U+FFFE nor
 * U+FFFF. Unlike xr__text_clean(), DEL and C1 controls pass: they are XML
 * characters.
 */
XR_HIDDEN bool xr__xml_chars(const uint8_t *b, size_t n);

/*
 * String arena (arena.c): copies of strings in large blocks that never
 * move; everything is freed at once. A zeroed struct is an empty arena.
 */
struct xr__arena_block;
struct xr__arena {
    struct xr__arena_block *head;
};
/* A NUL-terminated copy of s[0..len), or NULL when out of memory. */
XR_HIDDEN const char *xr__arena_dup(struct xr__arena *a, const char *s,
                                    size_t len);
XR_HIDDEN void xr__arena_free(struct xr__arena *a);

/*
 * JSON pull reader (json.c): no tree is built; the caller walks the
 * document with these calls. Strings are decoded (escapes, surrogate
 * pairs) into `scratch` and checked as strict UTF-8; "\u0000" is
 * refused. Nesting deeper than max_depth is refused. Every error uses
 * `reason` (static) as err->reason and names the byte offset.
 */
struct xr__json {
    const uint8_t *start, *p, *end;
    char *scratch; /* decoded strings; NUL-terminated */
    size_t scratch_size;
    unsigned depth, max_depth;
    const char *reason;
    bool clip, clipped; /* decoding a key: truncate instead of failing */
};
enum xr__json_lit { XR__JSON_TRUE, XR__JSON_FALSE, XR__JSON_NULL };

XR_HIDDEN void xr__json_init(struct xr__json *j, const uint8_t *buf, size_t len,
                             char *scratch, size_t scratch_size,
                             unsigned max_depth, const char *reason);
/* The next non-whitespace byte, or -1 at the end (nothing consumed). */
XR_HIDDEN int xr__json_peek(struct xr__json *j);
/* Consume c ('{' and '[' open a level, checked against max_depth). */
XR_HIDDEN enum xr_status xr__json_expect(struct xr__json *j, char c,
                                         struct xr_error *err);
/*
 * Inside an object or array: *more true when another member follows
 * (the separating comma consumed), false when `close` ended it. *first
 * must start true for each container.
 */
XR_HIDDEN enum xr_status xr__json_more(struct xr__json *j, char close,
                                       bool *first, bool *more,
                                       struct xr_error *err);
/* An object key and its ':' into key (size bytes); "" when longer. */
XR_HIDDEN enum xr_status xr__json_key(struct xr__json *j, char *key,
                                      size_t size, struct xr_error *err);
/* A string value: *out points into the scratch buffer until the next
 * string is read; *len (may be NULL) is its length in bytes. */
XR_HIDDEN enum xr_status xr__json_string(struct xr__json *j, const char **out,
                                         size_t *len, struct xr_error *err);
/* An integer (no fraction or exponent) within int64_t. */
XR_HIDDEN enum xr_status xr__json_int(struct xr__json *j, int64_t *out,
                                      struct xr_error *err);
XR_HIDDEN enum xr_status xr__json_literal(struct xr__json *j,
                                          enum xr__json_lit *out,
                                          struct xr_error *err);
/* Any value, checked and skipped. */
XR_HIDDEN enum xr_status xr__json_skip(struct xr__json *j,
                                       struct xr_error *err);
/* Only white space may follow the document. */
XR_HIDDEN enum xr_status xr__json_end(struct xr__json *j, struct xr_error *err);
XR_HIDDEN enum xr_status xr__json_fail(struct xr__json *j, const char *what,
                                       struct xr_error *err);

#endif

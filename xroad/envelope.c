/*
 * Request envelopes: building (xr_request_new) and reading back
 * (xr_request_parse). A request always keeps the exact bytes of its SOAP
 * message: they are what the provider's security server hashes into
 * requestHash.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlsave.h>
#include <libxml/xmlstring.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

/*
 * Built requests stay small while they wait for an answer (a daemon keeps
 * thousands): the exact bytes, the digest, and the header fields the
 * answer must echo, packed. The full header and the tree are materialised
 * on first use only (parsed requests have them from the start).
 */
struct req_lazy {
    struct xr_header *hdr; /* owned, NULL until needed */
    xmlDocPtr doc;         /* owned, NULL until needed */
    xmlNodePtr body;       /* borrowed from doc */
    bool failed;           /* materialising failed (out of memory) */
};

struct xr_request {
    uint8_t *bytes; /* owned: exact SOAP message bytes */
    size_t len;
    uint8_t sha512[64]; /* SHA-512 of bytes */
    char *echo;         /* owned: packed echo fields */
    size_t echo_off[XR__ECHO_COUNT];
    size_t echo_len[XR__ECHO_COUNT];
    const char *id;        /* borrowed from echo: the message id */
    struct req_lazy *lazy; /* owned; mutable behind const */
};

/*
 * Header text values: no control characters but TAB/LF/CR, and characters
 * XML allows in strict UTF-8, so that the envelope parses again.
 */
static enum xr_status check_text(const char *v, const char *field,
                                 struct xr_error *err)
{
    size_t n = strlen(v);

    if (n > XR_TEXT_MAX)
        return xr_error_set(err, XR_EINVAL, "invalid_header", field,
                            "%s is longer than %d bytes", field, XR_TEXT_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return xr_error_set(err, XR_EINVAL, "invalid_header", field,
                                "%s contains control character 0x%02x", field,
                                c);
    }
    if (!xr__xml_chars((const uint8_t *)v, n))
        return xr_error_set(err, XR_EINVAL, "invalid_header", field,
                            "%s is not valid UTF-8 or has a character XML "
                            "does not allow (U+FFFE, U+FFFF)",
                            field);
    return XR_OK;
}

static enum xr_status check_header(const struct xr_header *h,
                                   struct xr_error *err)
{
    enum xr_status rc;

    if (h->client.type != XR_ID_MEMBER && h->client.type != XR_ID_SUBSYSTEM)
        return xr_error_set(err, XR_EINVAL, "invalid_id", "client",
                            "client must be a MEMBER or SUBSYSTEM");
    if (h->service.type != XR_ID_SERVICE)
        return xr_error_set(err, XR_EINVAL, "invalid_id", "service",
                            "service must be a SERVICE identifier");
    if ((rc = xr_id_validate(&h->client, err)) != XR_OK ||
        (rc = xr_id_validate(&h->service, err)) != XR_OK)
        return rc;
    if (h->has_security_server &&
        (h->security_server.type != XR_ID_SERVER ||
         (rc = xr_id_validate(&h->security_server, err)) != XR_OK))
        return h->security_server.type != XR_ID_SERVER
                   ? xr_error_set(err, XR_EINVAL, "invalid_id",
                                  "securityServer",
                                  "securityServer must be a SERVER id")
                   : rc;
    if ((rc = check_text(h->id, "id", err)) != XR_OK)
        return rc;
    if (h->has_user_id && (rc = check_text(h->user_id, "userId", err)) != XR_OK)
        return rc;
    if (h->has_issue && (rc = check_text(h->issue, "issue", err)) != XR_OK)
        return rc;
    if (h->has_represented_party) {
        if (!h->party_code[0])
            return xr_error_set(err, XR_EINVAL, "invalid_header",
                                "representedParty",
                                "representedParty needs a partyCode");
        if ((rc = check_text(h->party_code, "representedParty", err)) !=
                XR_OK ||
            (h->has_party_class &&
             (rc = check_text(h->party_class, "representedParty", err)) !=
                 XR_OK))
            return rc;
    }
    if (strncmp(h->protocol_version, "4.", 2) != 0)
        return xr_error_set(err, XR_EINVAL, "invalid_protocol_version",
                            "protocolVersion", "protocolVersion must be 4.x");
    return XR_OK;
}

/* Allocate a request with its lazy part. */
static struct xr_request *req_alloc(void)
{
    struct xr_request *req = calloc(1, sizeof(*req));

    if (!req)
        return NULL;
    req->lazy = calloc(1, sizeof(*req->lazy));
    if (!req->lazy) {
        free(req);
        return NULL;
    }
    return req;
}

/* Pack the echo fields of hdr and hash the bytes. */
static enum xr_status req_finish(struct xr_request *req,
                                 const struct xr_header *hdr,
                                 struct xr_error *err)
{
    size_t total = 0, o = 0;

    for (int f = 0; f < XR__ECHO_COUNT; f++) {
        req->echo_len[f] = xr__echo_pack(hdr, f, NULL, 0);
        total += req->echo_len[f];
    }
    req->echo = malloc(total + 1);
    if (!req->echo)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    for (int f = 0; f < XR__ECHO_COUNT; f++) {
        req->echo_off[f] = o;
        xr__echo_pack(hdr, f, req->echo + o, req->echo_len[f]);
        o += req->echo_len[f];
    }
    req->echo[o] = '\0';
    /* The id field is "1" + the id: a NUL-terminated copy follows it. */
    {
        char *id = malloc(strlen(hdr->id) + 1);
        if (!id)
            return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                "out of memory");
        memcpy(id, hdr->id, strlen(hdr->id) + 1);
        req->id = id;
    }
    if (!xr_sha512(req->bytes, req->len, req->sha512))
        return xr_error_set(err, XR_EINTERNAL, "digest_failed", "",
                            "SHA-512 of the request failed");
    return XR_OK;
}

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The exact bytes of the body's root element, when the body is nothing
 * else: no XML declaration (so UTF-8), no comment or processing
 * instruction around the root, only whitespace. The parse has already
 * proved those bytes well-formed. Otherwise false: the root is serialised.
 */
static bool body_span(const uint8_t *b, size_t n, xmlDocPtr bdoc,
                      const uint8_t **span, size_t *span_len)
{
    xmlNodePtr root = xmlDocGetRootElement(bdoc);
    size_t s = 0, e = n;

    if (!root || bdoc->children != root || root->next)
        return false;
    while (s < e && is_ws(b[s]))
        s++;
    while (e > s && is_ws(b[e - 1]))
        e--;
    if (e - s < 3 || b[s] != '<' || b[s + 1] == '?' || b[s + 1] == '!' ||
        b[s + 1] == '\0' || b[e - 1] != '>')
        return false;
    *span = b + s;
    *span_len = e - s;
    return true;
}

/* The body root serialised by libxml2 (new buffer, wiped by the caller). */
static xmlBufferPtr body_dump(xmlDocPtr bdoc)
{
    xmlBufferPtr buf = xmlBufferCreate();

    if (!buf)
        return NULL;
    if (xmlNodeDump(buf, bdoc, xmlDocGetRootElement(bdoc), 0, 0) < 0) {
        xmlBufferFree(buf);
        return NULL;
    }
    return buf;
}

static void envelope_text(struct xr__tw *w, const struct xr_header *h,
                          const uint8_t *body, size_t body_len)
{
    xr__tw_str(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" XR_NS_SOAP11
                  "\" xmlns:xrd=\"" XR_NS_XROAD "\" xmlns:id=\"" XR_NS_ID "\"");
    if (h->has_represented_party)
        xr__tw_str(w, " xmlns:repr=\"" XR_NS_REPR "\"");
    xr__tw_put(w, ">", 1);
    xr__header_text(w, h);
    xr__tw_str(w, "<SOAP-ENV:Body>");
    if (body) {
        xr__tw_put(w, (const char *)body, body_len);
    } else {
        xr__tw_put(w, "<", 1);
        xr__tw_str(w, h->service.service_code);
        xr__tw_put(w, "/>", 2);
    }
    xr__tw_str(w, "</SOAP-ENV:Body></SOAP-ENV:Envelope>\n");
}

/*
 * The checks a body from the caller's own writer gets instead of a parse:
 * at most the default byte cap, XML characters only, starts with a start
 * tag and ends with '>', and the root element's local name (after an
 * optional prefix) is the serviceCode.
 */
static enum xr_status own_body_check(const uint8_t *b, size_t n,
                                     const char *service_code,
                                     struct xr_error *err)
{
    size_t i = 1, start, code_len = strlen(service_code);
    char q1[XR_CLIP], q2[XR_CLIP], name[4 * XR_CLIP];

    if (n > XR_LIMIT_BYTES_DEFAULT)
        return xr_error_set(err, XR_ELIMIT, "too_large", "body",
                            "the body exceeds %u bytes",
                            XR_LIMIT_BYTES_DEFAULT);
    if (n < 3 || b[0] != '<' || b[n - 1] != '>')
        return xr_error_set(err, XR_EINVAL, "body_invalid", "body",
                            "the body must be one element");
    if (!xr__xml_chars(b, n))
        return xr_error_set(err, XR_EINVAL, "body_invalid", "body",
                            "the body has bytes that are not XML "
                            "characters in UTF-8");
    start = i;
    while (i < n && b[i] != ' ' && b[i] != '>' && b[i] != '/' && b[i] != '\t' &&
           b[i] != '\n' && b[i] != '\r') {
        if (b[i] == ':')
            start = i + 1;
        i++;
    }
    if (i - start == code_len && code_len > 0 &&
        memcmp(b + start, service_code, code_len) == 0)
        return XR_OK;
    snprintf(name, sizeof(name), "%.*s",
             (int)(i - 1 < sizeof(name) - 1 ? i - 1 : sizeof(name) - 1),
             (const char *)b + 1);
    return xr_error_set(err, XR_EINVAL, "body_invalid", "body",
                        "body element %s must be named like the "
                        "serviceCode %s",
                        xr__clip(q1, sizeof(q1), name),
                        xr__clip(q2, sizeof(q2), service_code));
}

/*
 * The envelope is written as text around the body's own bytes: building a
 * tree, copying the body into it and serialising it all again cost more
 * than the rest of a query. A body from outside is still parsed (with the
 * caps) to prove it well-formed and to check its element name; a body of
 * the caller's own writer (xr_request_new_own()) gets own_body_check().
 */
static enum xr_status request_new(const struct xr_header *hdr,
                                  const uint8_t *body, size_t body_len,
                                  bool own, struct xr_request **out,
                                  struct xr_error *err)
{
    struct xr_request *req = NULL;
    struct xr_header *h = NULL;
    const struct xr_header *use = NULL;
    xmlDocPtr bdoc = NULL;
    xmlBufferPtr dump = NULL;
    const uint8_t *span = NULL;
    size_t span_len = 0;
    struct xr__tw w = {NULL, 0};
    struct xr_limits lim = {0};
    enum xr_status rc;

    *out = NULL;
    req = req_alloc();
    if (!req)
        goto nomem;
    if (hdr->id[0] && hdr->protocol_version[0] && !hdr->has_request_hash) {
        use = hdr; /* nothing to fill in: no copy of the (large) header */
    } else {
        h = malloc(sizeof(*h));
        if (!h)
            goto nomem;
        *h = *hdr;
        if (!h->protocol_version[0])
            xr__strlcpy(h->protocol_version, XR_PROTOCOL_VERSION,
                        sizeof(h->protocol_version));
        h->has_request_hash = false;
        h->request_hash[0] = '\0';
        h->request_hash_algo[0] = '\0';
        if (!h->id[0]) {
            rc = xr_uuid7(h->id, sizeof(h->id), err);
            if (rc != XR_OK)
                goto out;
        }
        use = h;
    }
    rc = check_header(use, err);
    if (rc != XR_OK)
        goto out;
    if (body && own) {
        rc = own_body_check(body, body_len, use->service.service_code, err);
        if (rc != XR_OK)
            goto out;
        span = body;
        span_len = body_len;
    } else if (body) {
        xmlNodePtr broot;
        rc = xr__xml_parse(body, body_len, NULL, &lim, 0, &bdoc, err);
        if (rc != XR_OK) {
            if (err)
                xr__strlcpy(err->field, "body", sizeof(err->field));
            goto out;
        }
        broot = xmlDocGetRootElement(bdoc);
        if (strcmp(xr__cs(broot->name), use->service.service_code) != 0) {
            char q1[XR_CLIP], q2[XR_CLIP];
            rc = xr_error_set(
                err, XR_EINVAL, "body_invalid", "body",
                "body element %s must be named like the "
                "serviceCode %s",
                xr__clip(q1, sizeof(q1), xr__cs(broot->name)),
                xr__clip(q2, sizeof(q2), use->service.service_code));
            goto out;
        }
        if (!body_span(body, body_len, bdoc, &span, &span_len)) {
            dump = body_dump(bdoc);
            if (!dump)
                goto nomem;
            span = xmlBufferContent(dump);
            span_len = (size_t)xmlBufferLength(dump);
        }
    }
    envelope_text(&w, use, span, span_len);
    req->bytes = malloc(w.n + 1);
    if (!req->bytes)
        goto nomem;
    req->len = w.n;
    w.p = (char *)req->bytes;
    w.n = 0;
    envelope_text(&w, use, span, span_len);
    req->bytes[w.n] = '\0';
    rc = req_finish(req, use, err);
    if (rc != XR_OK)
        goto out;
    /* The full header is dropped: see struct xr_request. */
    *out = req;
    req = NULL;
    rc = XR_OK;
    goto out;
nomem:
    rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                      "out of memory building the envelope");
out:
    if (dump) {
        /* Bodies carry credentials (VTJ's Salasana): wipe the copy. */
        const xmlChar *c = xmlBufferContent(dump);
        if (c)
            OPENSSL_cleanse((void *)(uintptr_t)c,
                            (size_t)xmlBufferLength(dump));
        xmlBufferFree(dump);
    }
    if (bdoc)
        xmlFreeDoc(bdoc);
    free(h);
    xr_request_free(req);
    return rc;
}

enum xr_status xr_request_new(const struct xr_header *hdr, const uint8_t *body,
                              size_t body_len, struct xr_request **out,
                              struct xr_error *err)
{
    return request_new(hdr, body, body_len, false, out, err);
}

enum xr_status xr_request_new_own(const struct xr_header *hdr,
                                  const uint8_t *body, size_t body_len,
                                  struct xr_request **out, struct xr_error *err)
{
    return request_new(hdr, body, body_len, true, out, err);
}

/* Parse bytes into a header and tree (shared by parse and lazy use). */
static enum xr_status req_read(const char *content_type, const uint8_t *buf,
                               size_t len, const struct xr_limits *lim,
                               struct xr__soap *soap, struct xr_header *hdr,
                               xmlNodePtr *body, struct xr_error *err)
{
    struct xr_fault fault;
    bool has_header = false, is_fault = false;
    enum xr_status rc;

    rc = xr__soap_open(content_type, buf, len, lim, 0, NULL, soap, err);
    if (rc != XR_OK)
        return rc;
    rc = xr__msg_read(soap->doc, true, hdr, &has_header, body, &is_fault,
                      &fault, NULL, err);
    if (rc != XR_OK)
        return rc;
    if (is_fault) {
        char q[XR_CLIP];
        return xr_error_set(err, XR_EPROTO, "invalid_soap", "Body",
                            "a request must not be a SOAP Fault (faultcode "
                            "%s)",
                            xr__clip(q, sizeof(q), fault.code));
    }
    return XR_OK;
}

enum xr_status xr_request_parse(const char *content_type, const uint8_t *buf,
                                size_t len, const struct xr_limits *limits,
                                struct xr_request **out, struct xr_error *err)
{
    struct xr_limits lim = {0};
    struct xr__soap soap;
    struct xr_request *req = NULL;
    xmlNodePtr body = NULL;
    enum xr_status rc;

    *out = NULL;
    memset(&soap, 0, sizeof(soap));
    if (limits)
        lim = *limits;
    req = req_alloc();
    if (!req || !(req->lazy->hdr = malloc(sizeof(*req->lazy->hdr)))) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    rc = req_read(content_type, buf, len, &lim, &soap, req->lazy->hdr, &body,
                  err);
    if (rc != XR_OK)
        goto out;
    req->bytes = malloc(soap.soap_len + 1);
    if (!req->bytes) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    memcpy(req->bytes, soap.soap, soap.soap_len);
    req->bytes[soap.soap_len] = '\0';
    req->len = soap.soap_len;
    rc = req_finish(req, req->lazy->hdr, err);
    if (rc != XR_OK)
        goto out;
    req->lazy->doc = soap.doc;
    soap.doc = NULL;
    req->lazy->body = body;
    *out = req;
    req = NULL;
    rc = XR_OK;
out:
    xr__soap_close(&soap);
    xr_request_free(req);
    return rc;
}

void xr_request_free(struct xr_request *req)
{
    if (!req)
        return;
    if (req->lazy) {
        if (req->lazy->doc)
            xmlFreeDoc(req->lazy->doc);
        free(req->lazy->hdr);
        free(req->lazy);
    }
    free((void *)(uintptr_t)req->id);
    free(req->echo);
    /* The bytes may hold credentials (VTJ's Salasana): wipe them. */
    if (req->bytes)
        OPENSSL_cleanse(req->bytes, req->len);
    free(req->bytes);
    free(req);
}

/* Materialise header and tree of a built request from its bytes. */
static bool req_materialise(const struct xr_request *req)
{
    struct req_lazy *lz = req->lazy;
    struct xr__soap soap;
    struct xr_limits lim = {0};
    xmlNodePtr body = NULL;

    if (lz->doc || lz->failed)
        return !lz->failed;
    memset(&soap, 0, sizeof(soap));
    lim.max_bytes = req->len + 1;
    if (!lz->hdr)
        lz->hdr = malloc(sizeof(*lz->hdr));
    if (!lz->hdr || req_read(NULL, req->bytes, req->len, &lim, &soap, lz->hdr,
                             &body, NULL) != XR_OK) {
        xr__soap_close(&soap);
        lz->failed = true;
        return false;
    }
    lz->doc = soap.doc;
    soap.doc = NULL;
    lz->body = body;
    xr__soap_close(&soap);
    return true;
}

struct xr_bytes xr_request_bytes(const struct xr_request *req)
{
    struct xr_bytes b = {req->bytes, req->len};
    return b;
}

const char *xr_request_id(const struct xr_request *req)
{
    return req->id;
}

const struct xr_header *xr_request_header(const struct xr_request *req)
{
    if (!req->lazy->hdr || !req->lazy->doc)
        req_materialise(req);
    return req->lazy->failed ? NULL : req->lazy->hdr;
}

xmlNodePtr xr_request_body(struct xr_request *req)
{
    return req_materialise(req) ? req->lazy->body : NULL;
}

void xr_request_sha512(const struct xr_request *req, uint8_t out[64])
{
    memcpy(out, req->sha512, sizeof(req->sha512));
}

void xr_request_hash(const struct xr_request *req, char *out, size_t size)
{
    unsigned char b64[XR_HASH_B64_MAX + 1];

    if (size == 0)
        return;
    EVP_EncodeBlock(b64, req->sha512, (int)sizeof(req->sha512));
    xr__strlcpy(out, (const char *)b64, size);
}

void xr__request_echo(const struct xr_request *req, int field, const char **ptr,
                      size_t *len)
{
    *ptr = req->echo + req->echo_off[field];
    *len = req->echo_len[field];
}

/*
 * X-Road behaviour of the simulated security server: fault codes in either
 * spelling, SS-style fault bodies, and response envelopes that echo the
 * request header with requestHash inserted right after id, as a provider's
 * security server does (xroad-protocol.md sections 4, 6 and 9).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "sim.h"

/* One dotted component, CamelCase -> snake_case ("InvalidXml"). */
static size_t snake_part(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;

    /* Origin words have no underscores in the 7.8 codes. */
    if ((n == 11 && !strncmp(s, "ClientProxy", n)) ||
        (n == 11 && !strncmp(s, "ServerProxy", n)))
        for (size_t i = 0; i < n && o + 1 < size; i++)
            out[o++] = (char)tolower((unsigned char)s[i]);
    else
        for (size_t i = 0; i < n && o + 2 < size; i++) {
            unsigned char c = (unsigned char)s[i];
            if (isupper(c) && i > 0 &&
                (islower((unsigned char)s[i - 1]) ||
                 isdigit((unsigned char)s[i - 1]) ||
                 (i + 1 < n && islower((unsigned char)s[i + 1]))))
                out[o++] = '_';
            out[o++] = (char)tolower(c);
        }
    out[o] = '\0';
    return o;
}

void sim_soap_code(enum sim_style style, const char *camel, char *out,
                   size_t size)
{
    size_t o = 0;
    const char *p = camel;

    switch (style) {
    case SIM_STYLE_CAMEL:
        sim_strlcpy(out, camel, size);
        return;
    case SIM_STYLE_SNAKE:
        break;
    }
    if (size == 0)
        return;
    out[0] = '\0';
    while (*p && o + 1 < size) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        o += snake_part(p, n, out + o, size - o);
        if (!dot)
            break;
        if (o + 1 < size)
            out[o++] = '.';
        out[o] = '\0';
        p = dot + 1;
    }
}

struct reason_map {
    const char *reason; /* libxroad xr_request_parse() reason */
    const char *code;   /* what the client's security server answers */
    const char *text;   /* faultstring, 7.x style */
};

static const struct reason_map reasons[] = {
    {"malformed_xml", "Client.InvalidSoap", "Malformed SOAP message"},
    {"dtd_forbidden", "Client.InvalidSoap",
     "Malformed SOAP message: DOCTYPE is disallowed"},
    {"invalid_soap", "Client.InvalidSoap",
     "Malformed SOAP message: envelope missing"},
    {"invalid_xml", "Client.InvalidXml", "Invalid XML in SOAP header"},
    {"missing_header", "Client.MissingHeader",
     "Malformed SOAP message: header missing"},
    {"missing_header_field", "Client.MissingHeaderField",
     "Required field is missing"},
    {"duplicate_header_field", "Client.DuplicateHeaderField",
     "SOAP header contains duplicate field"},
    {"missing_body", "Client.MissingBody",
     "Malformed SOAP message: body missing"},
    {"invalid_body", "Client.InvalidBody",
     "Malformed SOAP message: body must have exactly one child element"},
    {"inconsistent_headers", "Client.InconsistentHeaders",
     "Malformed SOAP message: service code does not match in header and "
     "body"},
    {"invalid_protocol_version", "Client.InvalidProtocolVersion",
     "Unsupported protocol version"},
    {"invalid_content_type", "Client.InvalidContentType",
     "Invalid content type"},
    {"mime_parsing_failed", "Client.MimeParsingFailed",
     "Failed to parse MIME message"},
    {"too_large", "Client.InvalidRequest",
     "Request exceeds the simulator's size limits"},
    {"invalid_id", "Client.InvalidXml", "Invalid identifier in SOAP header"},
};

void sim_soap_reason_code(const char *reason, const char **camel,
                          const char **text)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reason && !strcmp(reason, reasons[i].reason)) {
            *camel = reasons[i].code;
            *text = reasons[i].text;
            return;
        }
    *camel = "Server.ClientProxy.InternalError";
    *text = "Internal error while processing the request";
}

/*
 * Serialised by libxroad like SoapFault.createFaultXml (xroad-protocol.md
 * 9.1): Envelope/Body/Fault with unqualified faultcode, faultstring, an
 * empty faultactor and detail/faultDetail = a fresh UUID, no Header.
 */
int sim_soap_fault(const char *code, const char *text, char **out, size_t *len)
{
    char detail[40];
    struct xr_error err;

    *out = NULL;
    *len = 0;
    if (xr_uuid4(detail, sizeof(detail), &err) != XR_OK)
        return -1;
    if (xr_fault_build(code, text, detail, NULL, out, len, &err) != XR_OK)
        return -1;
    return 0;
}

static bool is_elem(const xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           !strcmp(sim_cs(n->ns->href), ns) && !strcmp(sim_cs(n->name), name);
}

static xmlNodePtr child(xmlNodePtr parent, const char *ns, const char *name)
{
    if (!parent)
        return NULL;
    for (xmlNodePtr n = parent->children; n; n = n->next)
        if (is_elem(n, ns, name))
            return n;
    return NULL;
}

/* Append "-altered" to an element's text. */
static int alter_text(xmlNodePtr n)
{
    xmlChar *old = xmlNodeGetContent(n);
    char buf[XR_TEXT_MAX + 16];
    char trimmed[XR_TEXT_MAX + 1];
    size_t len;
    const char *s = old ? sim_cs(old) : "";

    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    sim_strlcpy(trimmed, s, sizeof(trimmed));
    len = strlen(trimmed);
    while (len > 0 && strchr(" \t\r\n", trimmed[len - 1]))
        trimmed[--len] = '\0';
    snprintf(buf, sizeof(buf), "%s-altered", trimmed);
    xmlFree(old);
    xmlNodeSetContent(n, NULL);
    xmlNodeAddContent(n, sim_xc(buf));
    return 0;
}

/* alter_header:FIELD. Absent userId/issue are added after id. */
static int alter_header(xmlNodePtr header, xmlNodePtr id, const char *field)
{
    xmlNodePtr n, part;

    if (!strcmp(field, "id"))
        return alter_text(id);
    if (!strcmp(field, "userId") || !strcmp(field, "issue")) {
        n = child(header, XR_NS_XROAD, field);
        if (n)
            return alter_text(n);
        n = xmlNewDocNode(header->doc, id->ns, sim_xc(field), NULL);
        if (!n)
            return -1;
        xmlNodeAddContent(n, sim_xc("added-by-vayla-sim"));
        xmlAddNextSibling(id, n);
        return 0;
    }
    n = child(header, XR_NS_XROAD, field); /* client or service */
    if (!n)
        return -1;
    part = child(n, XR_NS_ID, "serviceVersion");
    if (!part)
        part = child(n, XR_NS_ID, "subsystemCode");
    if (!part)
        part = child(n, XR_NS_ID, "memberCode");
    return part ? alter_text(part) : -1;
}

int sim_soap_response_new(struct xr_request *req, const struct sim_echo *echo,
                          xmlDocPtr *out, xmlNodePtr *body)
{
    xmlNodePtr wrapper = xr_request_body(req);
    xmlDocPtr doc = NULL;
    xmlNodePtr root, header, id, n, next, rh;
    char hash[XR_HASH_B64_MAX + 1];
    int rc = -1;

    *out = NULL;
    *body = NULL;
    if (!wrapper || !wrapper->doc)
        goto out;
    doc = xmlCopyDoc(wrapper->doc, 1);
    if (!doc)
        goto out;
    root = xmlDocGetRootElement(doc);
    /* A comment before the request's Envelope is not part of the answer. */
    for (n = doc->children; n; n = next) {
        next = n->next;
        if (n != root) {
            xmlUnlinkNode(n);
            xmlFreeNode(n);
        }
    }
    header = child(root, XR_NS_SOAP11, "Header");
    *body = child(root, XR_NS_SOAP11, "Body");
    id = child(header, XR_NS_XROAD, "id");
    if (!header || !*body || !id)
        goto out;
    for (n = (*body)->children; n; n = next) {
        next = n->next;
        xmlUnlinkNode(n);
        xmlFreeNode(n);
    }
    /* The provider's SS removes any requestHash before inserting its own. */
    for (n = header->children; n; n = next) {
        next = n->next;
        if (is_elem(n, XR_NS_XROAD, "requestHash")) {
            xmlUnlinkNode(n);
            xmlFreeNode(n);
        }
    }

    if (echo->hash != SIM_HASH_NONE) {
        xr_request_hash(req, hash, sizeof(hash));
        if (echo->hash == SIM_HASH_WRONG)
            hash[0] = hash[0] == 'A' ? 'B' : 'A';
        rh = xmlNewDocNode(doc, id->ns, sim_xc("requestHash"), NULL);
        if (!rh)
            goto out;
        xmlNodeAddContent(rh, sim_xc(hash));
        if (!xmlNewProp(rh, sim_xc("algorithmId"), sim_xc(XR_HASH_ALGO_URI))) {
            xmlFreeNode(rh);
            goto out;
        }
        /* Same indentation as id: copy the whitespace that precedes it. */
        if (id->prev && id->prev->type == XML_TEXT_NODE &&
            xmlIsBlankNode(id->prev)) {
            xmlNodePtr ws = xmlNewDocText(doc, id->prev->content);
            if (ws)
                xmlAddNextSibling(id, ws);
            xmlAddNextSibling(ws ? ws : id, rh);
        } else {
            xmlAddNextSibling(id, rh);
        }
    }
    if (echo->alter_field[0] &&
        alter_header(header, id, echo->alter_field) != 0)
        goto out;
    *out = doc;
    doc = NULL;
    rc = 0;
out:
    if (rc != 0)
        *body = NULL;
    xmlFreeDoc(doc);
    return rc;
}

/*
 * Indent an element-only subtree the way a pretty printer would (libxml2's
 * own formatting stays off below an element with text children, and the
 * echoed Header has some). Depth is bounded by the tree we built.
 */
static void indent(xmlNodePtr node, int depth)
{
    char ws[2 + 2 * 32];
    xmlNodePtr c, next, last = NULL;
    int n = depth < 31 ? depth + 1 : 32;

    for (c = node->children; c; c = c->next)
        if (c->type != XML_ELEMENT_NODE)
            return; /* has text: leave as is */
    if (!node->children)
        return;
    ws[0] = '\n';
    memset(ws + 1, ' ', (size_t)(2 * n));
    ws[1 + 2 * n] = '\0';
    for (c = node->children; c; c = next) {
        next = c->next;
        xmlAddPrevSibling(c, xmlNewDocText(node->doc, sim_xc(ws)));
        indent(c, depth + 1);
        last = c;
    }
    ws[1 + 2 * (n - 1)] = '\0';
    xmlAddNextSibling(last, xmlNewDocText(node->doc, sim_xc(ws)));
}

void sim_soap_indent_body(xmlNodePtr body)
{
    if (body)
        indent(body, 1);
}

int sim_soap_serialize(xmlDocPtr doc, uint8_t **out, size_t *len)
{
    xmlChar *mem = NULL;
    int size = 0;

    *out = NULL;
    *len = 0;
    xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
    if (!mem || size <= 0) {
        xmlFree(mem);
        return -1;
    }
    *out = malloc((size_t)size + 1);
    if (!*out) {
        xmlFree(mem);
        return -1;
    }
    memcpy(*out, mem, (size_t)size);
    (*out)[size] = '\0';
    *len = (size_t)size;
    xmlFree(mem);
    return 0;
}

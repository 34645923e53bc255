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
#include <libxml/xmlsave.h>

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
    const char *text;   /* faultstring, 7.x style, when nothing better */
};

/*
 * Codes from ErrorCodes.java; the texts are SaxSoapParserImpl's,
 * SoapUtils's and ProtocolVersion's messages (refusal_text() fills in the
 * parts that name the offending field or value).
 */
static const struct reason_map reasons[] = {
    {"malformed_xml", "Client.InvalidSoap", "org.xml.sax.SAXParseException"},
    {"dtd_forbidden", "Client.InvalidSoap",
     "org.xml.sax.SAXParseException; DOCTYPE is disallowed when the feature "
     "\"http://apache.org/xml/features/disallow-doctype-decl\" set to true."},
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
     "Invalid protocol version"},
    {"invalid_content_type", "Client.InvalidContentType",
     "Invalid content type"},
    {"mime_parsing_failed", "Client.MimeParsingFailed",
     "Failed to parse MIME message"},
    {"missing_soap", "Client.MissingSoap",
     "Request does not contain SOAP message"},
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

/* The text after PREFIX in s, or NULL. */
static const char *after(const char *s, const char *prefix)
{
    const char *p = strstr(s, prefix);

    return p ? p + strlen(prefix) : NULL;
}

/*
 * X-Road's faultstring for a refusal. libxroad's operator message names
 * the field or value; X-Road's wording is rebuilt around it.
 */
static void refusal_text(const struct xr_error *err, const char *ctype,
                         const char *fallback, char *out, size_t size)
{
    const char *r = err->reason, *m = err->msg, *p, *q;
    int line = 0, pos = 0;

    if (!strcmp(r, "malformed_xml")) {
        /* Xerces reports an empty document as a premature end. */
        if (!strcmp(m, "empty XML document"))
            snprintf(out, size,
                     "org.xml.sax.SAXParseException; lineNumber: 1; "
                     "columnNumber: 1; Premature end of file.");
        else if (sscanf(m, "malformed XML at line %d: %n", &line, &pos) == 1 &&
                 pos > 0)
            snprintf(out, size,
                     "org.xml.sax.SAXParseException; lineNumber: %d; %s", line,
                     m + pos);
        else
            snprintf(out, size, "org.xml.sax.SAXParseException; %s", m);
    } else if (!strcmp(r, "invalid_soap") && err->field[0]) {
        snprintf(out, size, "Malformed SOAP message: %s", m);
    } else if (!strcmp(r, "invalid_xml")) {
        if ((p = after(m, ": unexpected objectType ")) != NULL)
            snprintf(out, size, "Unexpected objectType: %s", p);
        else if (strstr(m, ": unknown objectType"))
            snprintf(out, size, "Unknown objectType");
        else if (strstr(m, ": missing objectType attribute"))
            snprintf(out, size, "Missing objectType attribute");
        else
            sim_strlcpy(out, m, size);
    } else if (!strcmp(r, "missing_header_field")) {
        if (!strcmp(err->field, "service"))
            snprintf(out, size, "Message header must contain service id");
        else
            snprintf(out, size, "Required field '%s' is missing", err->field);
    } else if (!strcmp(r, "duplicate_header_field")) {
        /* The field as a QName, {namespace}local, as Java prints it. */
        bool repr = !strcmp(err->field, "representedParty");
        if ((p = after(m, "duplicate ")) != NULL)
            snprintf(out, size, "SOAP header contains duplicate field '{%s}%s'",
                     repr ? XR_NS_REPR : XR_NS_ID, p);
        else
            snprintf(out, size, "SOAP header contains duplicate field '{%s}%s'",
                     repr ? XR_NS_REPR : XR_NS_XROAD, err->field);
    } else if (!strcmp(r, "invalid_protocol_version")) {
        p = strchr(m, '\'');
        q = p ? strstr(p + 1, "' is not 4.x") : NULL;
        if (p && q)
            snprintf(out, size,
                     "Invalid protocol version (supported: 4.x, provided: "
                     "%.*s)",
                     (int)(q - p - 1), p + 1);
        else
            snprintf(out, size,
                     "Invalid protocol version (supported: 4.x, "
                     "provided: a value too long to be 4.x)");
    } else if (!strcmp(r, "invalid_content_type") &&
               !strcmp(err->field, "Content-Type") && ctype) {
        size_t n = strcspn(ctype, ";");
        while (n > 0 && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
            n--;
        snprintf(out, size, "Invalid content type: %.*s", (int)n, ctype);
    } else if (!strcmp(r, "mime_parsing_failed") ||
               !strcmp(r, "invalid_content_type") || !strcmp(r, "too_large") ||
               !strcmp(r, "invalid_id")) {
        snprintf(out, size, "%s: %s", fallback, m);
    } else {
        sim_strlcpy(out, fallback, size);
    }
}

/*
 * A request whose Body holds a SOAP Fault. X-Road reads the fault before
 * any header rule (SaxSoapParserImpl skips the header checks when the Body
 * has a Fault) and answers with its fields, the code behind the client
 * origin prefix.
 */
static bool fault_request(enum sim_style style, const char *ctype,
                          const uint8_t *body, size_t len,
                          const struct xr_limits *limits,
                          struct sim_refusal *out)
{
    struct xr_check_opts opts = {0};
    struct xr_response *resp = NULL;
    const struct xr_fault *f = NULL;
    struct xr_error err;

    if (limits)
        opts.limits = *limits;
    if (xr_response_parse(ctype, body, len, &opts, &resp, &err) != XR_OK)
        return false;
    if (xr_response_verdict(resp) == XR_VERDICT_FAULT)
        f = xr_response_fault(resp);
    if (f) {
        out->from_fault = true;
        snprintf(out->code, sizeof(out->code), "%s.%s",
                 style == SIM_STYLE_SNAKE ? "client" : "Client", f->code);
        sim_strlcpy(out->string, f->string, sizeof(out->string));
        sim_strlcpy(out->actor, f->has_actor ? f->actor : "",
                    sizeof(out->actor));
        sim_strlcpy(out->detail, f->detail, sizeof(out->detail));
    }
    xr_response_free(resp);
    return f != NULL;
}

void sim_soap_refusal(enum sim_style style, const char *content_type,
                      const uint8_t *body, size_t len,
                      const struct xr_limits *limits,
                      const struct xr_error *err, struct sim_refusal *out)
{
    const char *camel, *text;

    memset(out, 0, sizeof(*out));
    /* libxroad refuses a Fault as a request with invalid_soap. */
    if (!strcmp(err->reason, "invalid_soap") &&
        fault_request(style, content_type, body, len, limits, out))
        return;
    sim_soap_reason_code(err->reason, &camel, &text);
    sim_strlcpy(out->code, camel, sizeof(out->code));
    refusal_text(err, content_type, text, out->string, sizeof(out->string));
}

/* Text fit for the serialiser: valid UTF-8 (other bytes become '?'). */
static void utf8_clean(const char *in, char *out, size_t size)
{
    sim_strlcpy(out, in ? in : "", size);
    if (xmlCheckUTF8(sim_xc(out)))
        return;
    for (char *c = out; *c; c++)
        if ((unsigned char)*c >= 0x80)
            *c = '?';
}

/* An unqualified child element (SOAP 1.1 fault children have no ns). */
static xmlNodePtr add_plain(xmlNodePtr parent, const char *name,
                            const char *text)
{
    xmlNodePtr n = xmlNewDocNode(parent->doc, NULL, sim_xc(name), NULL);
    char clean[XR_TEXT_MAX + 64];

    if (!n)
        return NULL;
    if (text && text[0]) {
        utf8_clean(text, clean, sizeof(clean));
        xmlNodeAddContent(n, sim_xc(clean));
    }
    return xmlAddChild(parent, n);
}

/*
 * Serialised like SoapFault.createFaultXml (xroad-protocol.md 9.1):
 * Envelope/Body/Fault with unqualified faultcode, faultstring, faultactor
 * (empty unless given) and detail/faultDetail, no Header. Empty elements
 * are written as a start and an end tag, as X-Road writes them.
 */
int sim_soap_fault_ex(const char *code, const char *text, const char *actor,
                      const char *detail, char **out, size_t *len)
{
    char uuid[40];
    struct xr_error err;
    xmlDocPtr doc = NULL;
    xmlNodePtr env, body, fault, d = NULL;
    xmlNsPtr soap;
    xmlBufferPtr buf = NULL;
    xmlSaveCtxtPtr save = NULL;
    int rc = -1;

    *out = NULL;
    *len = 0;
    if (!detail || !detail[0]) {
        if (xr_uuid4(uuid, sizeof(uuid), &err) != XR_OK)
            goto done;
        detail = uuid;
    }
    doc = xmlNewDoc(sim_xc("1.0"));
    env = doc ? xmlNewDocNode(doc, NULL, sim_xc("Envelope"), NULL) : NULL;
    if (!env)
        goto done;
    xmlDocSetRootElement(doc, env);
    soap = xmlNewNs(env, sim_xc(XR_NS_SOAP11), sim_xc("SOAP-ENV"));
    if (!soap)
        goto done;
    xmlSetNs(env, soap);
    body = xmlNewChild(env, soap, sim_xc("Body"), NULL);
    fault = body ? xmlNewChild(body, soap, sim_xc("Fault"), NULL) : NULL;
    if (!fault || !add_plain(fault, "faultcode", code) ||
        !add_plain(fault, "faultstring", text) ||
        !add_plain(fault, "faultactor", actor) ||
        !(d = add_plain(fault, "detail", NULL)) ||
        !add_plain(d, "faultDetail", detail))
        goto done;
    buf = xmlBufferCreate();
    save = buf ? xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_EMPTY) : NULL;
    if (!save || xmlSaveDoc(save, doc) < 0)
        goto done;
    xmlSaveClose(save);
    save = NULL;
    *len = (size_t)xmlBufferLength(buf);
    *out = malloc(*len + 1);
    if (!*out) {
        *len = 0;
        goto done;
    }
    memcpy(*out, xmlBufferContent(buf), *len);
    (*out)[*len] = '\0';
    rc = 0;
done:
    if (save)
        xmlSaveClose(save);
    if (buf)
        xmlBufferFree(buf);
    xmlFreeDoc(doc);
    return rc;
}

int sim_soap_fault(const char *code, const char *text, char **out, size_t *len)
{
    return sim_soap_fault_ex(code, text, NULL, NULL, out, len);
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

/*
 * A new element named `name` with model's namespace and prefix, to be
 * placed next to model. When model declares namespaces itself (SOAP stacks
 * such as zeep or WCF write xmlns on every header element), the new
 * element gets copies of those declarations, as a security server does:
 * X-Road's SAX-based processor writes requestHash with id's prefix and
 * id's attributes, xmlns ones included. Without that copy the prefix
 * would be out of scope (not well-formed) or, for a default namespace
 * declared on id, the element would land in no namespace.
 * Ownership: the new node is unlinked; the caller links or frees it.
 */
static xmlNodePtr new_like(xmlNodePtr model, const char *name)
{
    xmlNodePtr n = xmlNewDocNode(model->doc, NULL, sim_xc(name), NULL);
    xmlNsPtr use = model->ns;

    if (!n)
        return NULL;
    for (xmlNsPtr d = model->nsDef; d; d = d->next) {
        xmlNsPtr c = xmlNewNs(n, d->href, d->prefix);
        if (!c) {
            xmlFreeNode(n);
            return NULL;
        }
        if (d == model->ns)
            use = c;
    }
    xmlSetNs(n, use);
    return n;
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
        n = new_like(id, field);
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

/* The output header parts of DVV's WSDL (SoSoAdapterService60), in order. */
static const char *const wsdl_header_order[] = {
    "client", "id", "issue", "protocolVersion", "service", "userId"};

#define WCF_MAX_DEPTH 16 /* identifiers are two levels deep */

/*
 * The namespace for href as DVV's WCF adapter writes it, declared on the
 * copied header element `top`: h for X-Road, a for identifiers, n0, n1,
 * ... for anything else.
 */
static xmlNsPtr wcf_ns(xmlNodePtr top, const xmlChar *href)
{
    char prefix[16];
    int count = 0;

    for (xmlNsPtr d = top->nsDef; d; d = d->next, count++)
        if (xmlStrEqual(d->href, href))
            return d;
    if (xmlStrEqual(href, sim_xc(XR_NS_XROAD)))
        snprintf(prefix, sizeof(prefix), "h");
    else if (xmlStrEqual(href, sim_xc(XR_NS_ID)))
        snprintf(prefix, sizeof(prefix), "a");
    else
        snprintf(prefix, sizeof(prefix), "n%d", count);
    return xmlNewNs(top, href, sim_xc(prefix));
}

/*
 * Copy src with the namespaces re-declared on the copy's top element,
 * the way a WCF service serialises each header element on its own.
 * Elements, attributes and text are kept; comments and deeper levels
 * than WCF_MAX_DEPTH are dropped.
 */
static xmlNodePtr wcf_copy(xmlDocPtr doc, const xmlNode *src, xmlNodePtr top,
                           int depth)
{
    xmlNodePtr el = xmlNewDocNode(doc, NULL, src->name, NULL);

    if (!el)
        return NULL;
    if (!top)
        top = el;
    if (src->ns) {
        xmlNsPtr ns = wcf_ns(top, src->ns->href);
        if (!ns)
            goto fail;
        xmlSetNs(el, ns);
    }
    for (xmlAttrPtr a = src->properties; a; a = a->next) {
        xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
        xmlNsPtr ns = a->ns ? wcf_ns(top, a->ns->href) : NULL;
        bool ok = (!a->ns || ns) &&
                  xmlNewNsProp(el, ns, a->name, v ? v : sim_xc("")) != NULL;
        xmlFree(v);
        if (!ok)
            goto fail;
    }
    for (const xmlNode *c = src->children; c; c = c->next) {
        xmlNodePtr n = NULL;
        if (c->type == XML_ELEMENT_NODE && depth < WCF_MAX_DEPTH)
            n = wcf_copy(doc, c, top, depth + 1);
        else if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
            n = xmlNewDocText(doc, c->content);
        else
            continue;
        if (!n)
            goto fail;
        xmlAddChild(el, n);
    }
    return el;
fail:
    xmlFreeNode(el);
    return NULL;
}

/* The blank text node right before n, or NULL. */
static const xmlChar *indent_before(const xmlNode *n)
{
    if (n && n->prev && n->prev->type == XML_TEXT_NODE &&
        xmlIsBlankNode(n->prev))
        return n->prev->content;
    return NULL;
}

/*
 * The header as DVV's adapter writes it: the WSDL's header fields in the
 * WSDL's order, each a WCF-style copy with its own namespace
 * declarations, then every other element as received. The request's
 * indentation is kept.
 */
static int reorder_header(xmlNodePtr header)
{
    xmlDocPtr doc = header->doc;
    xmlNodePtr tmp = NULL, n, next, first = NULL, last = NULL;
    xmlChar *ind = NULL, *tail = NULL;
    int rc = -1;

    for (n = header->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (!first)
            first = n;
        last = n;
    }
    if (!first)
        return 0;
    if (indent_before(first))
        ind = xmlStrdup(indent_before(first));
    if (last->next && last->next->type == XML_TEXT_NODE &&
        xmlIsBlankNode(last->next))
        tail = xmlStrdup(last->next->content);
    tmp = xmlNewDocNode(doc, NULL, sim_xc("tmp"), NULL);
    if (!tmp)
        goto out;
    for (size_t i = 0; i < sizeof(wsdl_header_order) / sizeof(char *); i++) {
        xmlNodePtr src = child(header, XR_NS_XROAD, wsdl_header_order[i]);
        if (!src)
            continue;
        n = wcf_copy(doc, src, NULL, 0);
        if (!n)
            goto out;
        if (ind)
            xmlAddChild(tmp, xmlNewDocText(doc, ind));
        xmlAddChild(tmp, n);
    }
    for (n = header->children; n; n = next) {
        bool known = false;
        next = n->next;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        for (size_t i = 0; i < sizeof(wsdl_header_order) / sizeof(char *); i++)
            known = known || is_elem(n, XR_NS_XROAD, wsdl_header_order[i]);
        if (known)
            continue;
        /* Still under Header afterwards, so its namespaces stay in scope. */
        xmlUnlinkNode(n);
        if (ind)
            xmlAddChild(tmp, xmlNewDocText(doc, ind));
        xmlAddChild(tmp, n);
    }
    for (n = header->children; n; n = next) {
        next = n->next;
        xmlUnlinkNode(n);
        xmlFreeNode(n);
    }
    for (n = tmp->children; n; n = next) {
        next = n->next;
        xmlUnlinkNode(n);
        xmlAddChild(header, n);
    }
    if (tail)
        xmlAddChild(header, xmlNewDocText(doc, tail));
    rc = 0;
out:
    xmlFreeNode(tmp);
    xmlFree(ind);
    xmlFree(tail);
    return rc;
}

/*
 * protocolVersion as DVV answers it: the value followed by a newline and
 * the element's indentation ("4.0\n    "). Only trailing whitespace: the
 * client's own security server checks that the value starts with "4."
 * (ProtocolVersion.validate), so a leading blank never reaches a client.
 */
static int version_ws(xmlNodePtr header)
{
    xmlNodePtr pv = child(header, XR_NS_XROAD, "protocolVersion");
    const xmlChar *ind = indent_before(pv);
    char text[64], value[32], spaces[24];
    xmlChar *old;
    const char *s;
    size_t n;
    int depth = 0;

    if (!pv)
        return 0;
    old = xmlNodeGetContent(pv);
    s = old ? sim_cs(old) : "";
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    sim_strlcpy(value, s, sizeof(value));
    xmlFree(old);
    n = strlen(value);
    while (n > 0 && strchr(" \t\r\n", value[n - 1]))
        value[--n] = '\0';
    /*
     * The element's indentation without its leading newline. libxroad
     * parses requests without blank text nodes, and then the serialiser
     * indents by two spaces a level, so that is the indentation.
     */
    if (ind && ind[0] == '\n')
        ind++;
    if (!ind) {
        for (xmlNodePtr a = pv->parent; a && a->type == XML_ELEMENT_NODE &&
                                        depth < (int)sizeof(spaces) - 2;
             a = a->parent)
            depth += 2;
        memset(spaces, ' ', (size_t)depth);
        spaces[depth] = '\0';
    }
    snprintf(text, sizeof(text), "%s\n%s", value, ind ? sim_cs(ind) : spaces);
    xmlNodeSetContent(pv, NULL);
    xmlNodeAddContent(pv, sim_xc(text));
    return 0;
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
    if (!header || !*body || !child(header, XR_NS_XROAD, "id"))
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
    /* The service writes its header first, then the SS adds the hash. */
    if (echo->reorder && reorder_header(header) != 0)
        goto out;
    if (echo->version_ws && version_ws(header) != 0)
        goto out;
    id = child(header, XR_NS_XROAD, "id");
    if (!id)
        goto out;

    if (echo->hash != SIM_HASH_NONE) {
        xr_request_hash(req, hash, sizeof(hash));
        if (echo->hash == SIM_HASH_WRONG)
            hash[0] = hash[0] == 'A' ? 'B' : 'A';
        rh = new_like(id, "requestHash");
        if (!rh)
            goto out;
        xmlNodeAddContent(rh, sim_xc(hash));
        if (!xmlNewProp(rh, sim_xc("algorithmId"), sim_xc(XR_HASH_ALGO_URI))) {
            xmlFreeNode(rh);
            goto out;
        }
        /* Same indentation as id: copy the whitespace that precedes it. */
        if (indent_before(id)) {
            xmlNodePtr ws = xmlNewDocText(doc, indent_before(id));
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

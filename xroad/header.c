/*
 * Reading and writing the X-Road SOAP header (PR-MESS Table 1) and the
 * Envelope/Header/Body structure around it. Elements are found by
 * namespace URI and local name; order is free; duplicates are errors.
 */
#include <string.h>

#include "internal.h"

enum hdr_field {
    F_CLIENT,
    F_SERVICE,
    F_ID,
    F_USER_ID,
    F_ISSUE,
    F_PROTOCOL_VERSION,
    F_REQUEST_HASH,
    F_SECURITY_SERVER,
    F_REPRESENTED_PARTY,
    F_COUNT
};

static const struct {
    const char *ns;
    const char *name;
} fields[F_COUNT] = {
    [F_CLIENT] = {XR_NS_XROAD, "client"},
    [F_SERVICE] = {XR_NS_XROAD, "service"},
    [F_ID] = {XR_NS_XROAD, "id"},
    [F_USER_ID] = {XR_NS_XROAD, "userId"},
    [F_ISSUE] = {XR_NS_XROAD, "issue"},
    [F_PROTOCOL_VERSION] = {XR_NS_XROAD, "protocolVersion"},
    [F_REQUEST_HASH] = {XR_NS_XROAD, "requestHash"},
    [F_SECURITY_SERVER] = {XR_NS_XROAD, "securityServer"},
    [F_REPRESENTED_PARTY] = {XR_NS_REPR, "representedParty"},
};

void xr_header_init(struct xr_header *hdr)
{
    memset(hdr, 0, sizeof(*hdr));
    xr__strlcpy(hdr->protocol_version, XR_PROTOCOL_VERSION,
                sizeof(hdr->protocol_version));
}

enum xr_status xr__id_read(const xmlNode *el, const char *field, unsigned types,
                           struct xr_id *id, struct xr_error *err)
{
    static const char *parts[] = {
        "xRoadInstance", "memberClass",    "memberCode", "subsystemCode",
        "serviceCode",   "serviceVersion", "serverCode"};
    char *dst[] = {id->instance,       id->member_class, id->member_code,
                   id->subsystem_code, id->service_code, id->service_version,
                   id->server_code};
    bool seen[7] = {false};
    xmlChar *ot;
    enum xr_status rc;

    memset(id, 0, sizeof(*id));
    ot = xmlGetNsProp(el, xr__xc("objectType"), xr__xc(XR_NS_ID));
    if (!ot)
        return xr_error_set(err, XR_EPROTO, "invalid_xml", field,
                            "%s: missing objectType attribute", field);
    if (!strcmp(xr__cs(ot), "MEMBER"))
        id->type = XR_ID_MEMBER;
    else if (!strcmp(xr__cs(ot), "SUBSYSTEM"))
        id->type = XR_ID_SUBSYSTEM;
    else if (!strcmp(xr__cs(ot), "SERVICE"))
        id->type = XR_ID_SERVICE;
    else if (!strcmp(xr__cs(ot), "SERVER"))
        id->type = XR_ID_SERVER;
    else {
        xmlFree(ot);
        return xr_error_set(err, XR_EPROTO, "invalid_xml", field,
                            "%s: unknown objectType", field);
    }
    xmlFree(ot);
    if (!(types & (1u << id->type)))
        return xr_error_set(err, XR_EPROTO, "invalid_xml", field,
                            "%s: unexpected objectType %s", field,
                            xr_id_type_name(id->type));
    /* Only the identifier children are read; others are ignored. */
    for (xmlNodePtr c = xr__xml_first_elem(el); c; c = xr__xml_next_elem(c)) {
        for (size_t i = 0; i < 7; i++) {
            if (!xr__xml_is(c, XR_NS_ID, parts[i]))
                continue;
            if (seen[i])
                return xr_error_set(err, XR_EPROTO, "duplicate_header_field",
                                    field, "%s: duplicate %s", field, parts[i]);
            seen[i] = true;
            rc = xr__xml_text(c, dst[i], XR_ID_PART_MAX + 1, field, err);
            if (rc != XR_OK)
                return rc;
        }
    }
    if (!id->instance[0] || !id->member_class[0] || !id->member_code[0])
        return xr_error_set(err, XR_EPROTO, "invalid_xml", field,
                            "%s: identifier lacks xRoadInstance, "
                            "memberClass or memberCode",
                            field);
    if (id->type == XR_ID_SUBSYSTEM && !id->subsystem_code[0])
        return xr_error_set(err, XR_EPROTO, "invalid_xml", field,
                            "%s: SUBSYSTEM identifier lacks subsystemCode",
                            field);
    if (id->type == XR_ID_SERVICE && !id->service_code[0])
        return xr_error_set(err, XR_EPROTO, "invalid_xml", field,
                            "%s: SERVICE identifier lacks serviceCode", field);
    return XR_OK;
}

/* Read an identifier element of the header (client, service,
 * securityServer): the object types each may have. */
static enum xr_status read_id(const xmlNode *el, const char *field,
                              struct xr_id *id, struct xr_error *err)
{
    unsigned types = 0;

    if (!strcmp(field, "client"))
        types = (1u << XR_ID_MEMBER) | (1u << XR_ID_SUBSYSTEM);
    else if (!strcmp(field, "service"))
        types = 1u << XR_ID_SERVICE;
    else if (!strcmp(field, "securityServer"))
        types = 1u << XR_ID_SERVER;
    return xr__id_read(el, field, types, id, err);
}

static enum xr_status read_repr(const xmlNode *el, struct xr_header *hdr,
                                struct xr_error *err)
{
    bool seen_class = false, seen_code = false;
    enum xr_status rc;

    for (xmlNodePtr c = xr__xml_first_elem(el); c; c = xr__xml_next_elem(c)) {
        if (xr__xml_is(c, XR_NS_REPR, "partyClass")) {
            if (seen_class)
                return xr_error_set(err, XR_EPROTO, "duplicate_header_field",
                                    "representedParty", "duplicate partyClass");
            seen_class = true;
            rc = xr__xml_text(c, hdr->party_class, sizeof(hdr->party_class),
                              "representedParty", err);
        } else if (xr__xml_is(c, XR_NS_REPR, "partyCode")) {
            if (seen_code)
                return xr_error_set(err, XR_EPROTO, "duplicate_header_field",
                                    "representedParty", "duplicate partyCode");
            seen_code = true;
            rc = xr__xml_text(c, hdr->party_code, sizeof(hdr->party_code),
                              "representedParty", err);
        } else {
            continue;
        }
        if (rc != XR_OK)
            return rc;
    }
    if (!seen_code)
        return xr_error_set(err, XR_EPROTO, "invalid_xml", "representedParty",
                            "representedParty lacks partyCode");
    hdr->has_party_class = seen_class;
    hdr->has_represented_party = true;
    return XR_OK;
}

static enum xr_status read_field(const xmlNode *el, enum hdr_field f,
                                 struct xr_header *hdr, struct xr_error *err)
{
    const char *name = fields[f].name;

    switch (f) {
    case F_CLIENT:
        return read_id(el, name, &hdr->client, err);
    case F_SERVICE:
        return read_id(el, name, &hdr->service, err);
    case F_SECURITY_SERVER:
        hdr->has_security_server = true;
        return read_id(el, name, &hdr->security_server, err);
    case F_ID:
        return xr__xml_text(el, hdr->id, sizeof(hdr->id), name, err);
    case F_USER_ID:
        hdr->has_user_id = true;
        return xr__xml_text(el, hdr->user_id, sizeof(hdr->user_id), name, err);
    case F_ISSUE:
        hdr->has_issue = true;
        return xr__xml_text(el, hdr->issue, sizeof(hdr->issue), name, err);
    case F_PROTOCOL_VERSION:
        /* Anything too long for the field is certainly not "4.x". */
        if (xr__xml_text(el, hdr->protocol_version,
                         sizeof(hdr->protocol_version), name, NULL) != XR_OK)
            return xr_error_set(err, XR_EPROTO, "invalid_protocol_version",
                                "protocolVersion",
                                "protocolVersion is not 4.x (%zu bytes or "
                                "more)",
                                sizeof(hdr->protocol_version));
        return XR_OK;
    case F_REQUEST_HASH: {
        char raw[XR_HASH_B64_MAX * 2];
        size_t o = 0;
        xmlChar *algo;
        enum xr_status rc =
            xr__xml_text(el, raw, sizeof(raw), "requestHash", err);
        if (rc != XR_OK)
            return rc;
        /* Base64 may be wrapped: drop all XML white space. */
        for (size_t i = 0; raw[i]; i++) {
            if (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\r' ||
                raw[i] == '\n')
                continue;
            if (o + 1 >= sizeof(hdr->request_hash))
                return xr_error_set(err, XR_ELIMIT, "too_large", "requestHash",
                                    "requestHash too long");
            hdr->request_hash[o++] = raw[i];
        }
        hdr->request_hash[o] = '\0';
        hdr->has_request_hash = true;
        algo = xmlGetProp(el, xr__xc("algorithmId"));
        if (algo) {
            xr__strlcpy(hdr->request_hash_algo, xr__cs(algo),
                        sizeof(hdr->request_hash_algo));
            xmlFree(algo);
        }
        return XR_OK;
    }
    case F_REPRESENTED_PARTY:
        return read_repr(el, hdr, err);
    case F_COUNT:
        break;
    }
    return xr_error_set(err, XR_EINTERNAL, "internal", "", "bad field");
}

enum xr_status xr__header_read(const xmlNode *header, bool require_service,
                               struct xr_header *hdr, struct xr_error *err)
{
    bool seen[F_COUNT] = {false};
    enum xr_status rc;

    for (xmlNodePtr c = xr__xml_first_elem(header); c;
         c = xr__xml_next_elem(c)) {
        for (int f = 0; f < F_COUNT; f++) {
            if (!xr__xml_is(c, fields[f].ns, fields[f].name))
                continue;
            if (seen[f])
                return xr_error_set(
                    err, XR_EPROTO, "duplicate_header_field", fields[f].name,
                    "header field %s appears twice", fields[f].name);
            seen[f] = true;
            rc = read_field(c, (enum hdr_field)f, hdr, err);
            if (rc != XR_OK)
                return rc;
            break;
        }
    }
    if (!seen[F_CLIENT])
        return xr_error_set(err, XR_EPROTO, "missing_header_field", "client",
                            "required header field 'client' is missing");
    if (require_service && !seen[F_SERVICE])
        return xr_error_set(err, XR_EPROTO, "missing_header_field", "service",
                            "message header must contain service id");
    if (!seen[F_ID])
        return xr_error_set(err, XR_EPROTO, "missing_header_field", "id",
                            "required header field 'id' is missing");
    if (!seen[F_PROTOCOL_VERSION])
        return xr_error_set(err, XR_EPROTO, "missing_header_field",
                            "protocolVersion",
                            "required header field 'protocolVersion' is "
                            "missing");
    if (strncmp(hdr->protocol_version, "4.", 2) != 0) {
        char q[17];
        return xr_error_set(err, XR_EPROTO, "invalid_protocol_version",
                            "protocolVersion",
                            "protocolVersion '%s' is not 4.x",
                            xr__clip(q, sizeof(q), hdr->protocol_version));
    }
    return XR_OK;
}

/* <prefix:name>text</prefix:name>; NULL on allocation failure. */
static xmlNodePtr add_text(xmlNodePtr parent, xmlNsPtr ns, const char *name,
                           const char *text)
{
    xmlNodePtr n = xmlNewChild(parent, ns, xr__xc(name), NULL);
    if (!n)
        return NULL;
    if (text && *text) {
        xmlNodePtr t = xmlNewText(xr__xc(text));
        if (!t || !xmlAddChild(n, t)) {
            xmlFreeNode(t);
            return NULL;
        }
    }
    return n;
}

static bool write_id(xmlNodePtr parent, xmlNsPtr xrd, xmlNsPtr idns,
                     const char *name, const struct xr_id *id)
{
    xmlNodePtr el = xmlNewChild(parent, xrd, xr__xc(name), NULL);
    const char *opt[4] = {id->subsystem_code, id->service_code,
                          id->service_version, id->server_code};
    static const char *opt_names[4] = {"subsystemCode", "serviceCode",
                                       "serviceVersion", "serverCode"};

    if (!el ||
        !xmlNewNsProp(el, idns, xr__xc("objectType"),
                      xr__xc(xr_id_type_name(id->type))) ||
        !add_text(el, idns, "xRoadInstance", id->instance) ||
        !add_text(el, idns, "memberClass", id->member_class) ||
        !add_text(el, idns, "memberCode", id->member_code))
        return false;
    for (size_t i = 0; i < 4; i++) {
        if (opt[i][0] && !add_text(el, idns, opt_names[i], opt[i]))
            return false;
    }
    return true;
}

/* <pfx:name>escaped text</pfx:name>, or <pfx:name/> when text is empty. */
static void text_el(struct xr__tw *w, const char *qname, const char *text)
{
    xr__tw_put(w, "<", 1);
    xr__tw_str(w, qname);
    if (!text || !*text) {
        xr__tw_put(w, "/>", 2);
        return;
    }
    xr__tw_put(w, ">", 1);
    xr__tw_text(w, text);
    xr__tw_put(w, "</", 2);
    xr__tw_str(w, qname);
    xr__tw_put(w, ">", 1);
}

static void id_text(struct xr__tw *w, const char *name, const struct xr_id *id)
{
    const char *opt[4] = {id->subsystem_code, id->service_code,
                          id->service_version, id->server_code};
    static const char *const opt_names[4] = {
        "id:subsystemCode", "id:serviceCode", "id:serviceVersion",
        "id:serverCode"};

    xr__tw_str(w, "<xrd:");
    xr__tw_str(w, name);
    xr__tw_str(w, " id:objectType=\"");
    xr__tw_str(w, xr_id_type_name(id->type));
    xr__tw_str(w, "\">");
    text_el(w, "id:xRoadInstance", id->instance);
    text_el(w, "id:memberClass", id->member_class);
    text_el(w, "id:memberCode", id->member_code);
    for (size_t i = 0; i < 4; i++) {
        if (opt[i][0])
            text_el(w, opt_names[i], opt[i]);
    }
    xr__tw_str(w, "</xrd:");
    xr__tw_str(w, name);
    xr__tw_put(w, ">", 1);
}

void xr__header_text(struct xr__tw *w, const struct xr_header *hdr)
{
    xr__tw_str(w, "<SOAP-ENV:Header>");
    id_text(w, "client", &hdr->client);
    id_text(w, "service", &hdr->service);
    text_el(w, "xrd:id", hdr->id);
    if (hdr->has_user_id)
        text_el(w, "xrd:userId", hdr->user_id);
    if (hdr->has_issue)
        text_el(w, "xrd:issue", hdr->issue);
    if (hdr->has_represented_party) {
        xr__tw_str(w, "<repr:representedParty>");
        if (hdr->has_party_class)
            text_el(w, "repr:partyClass", hdr->party_class);
        text_el(w, "repr:partyCode", hdr->party_code);
        xr__tw_str(w, "</repr:representedParty>");
    }
    if (hdr->has_security_server)
        id_text(w, "securityServer", &hdr->security_server);
    text_el(w, "xrd:protocolVersion",
            hdr->protocol_version[0] ? hdr->protocol_version
                                     : XR_PROTOCOL_VERSION);
    xr__tw_str(w, "</SOAP-ENV:Header>");
}

enum xr_status xr__header_write(xmlNodePtr header, const struct xr_header *hdr,
                                struct xr_error *err)
{
    xmlNodePtr root = header->parent;
    xmlNsPtr xrd, idns, repr = NULL;

    xrd = xmlSearchNsByHref(header->doc, header, xr__xc(XR_NS_XROAD));
    if (!xrd)
        xrd = xmlNewNs(root, xr__xc(XR_NS_XROAD), xr__xc("xrd"));
    idns = xmlSearchNsByHref(header->doc, header, xr__xc(XR_NS_ID));
    if (!idns)
        idns = xmlNewNs(root, xr__xc(XR_NS_ID), xr__xc("id"));
    if (hdr->has_represented_party) {
        repr = xmlSearchNsByHref(header->doc, header, xr__xc(XR_NS_REPR));
        if (!repr)
            repr = xmlNewNs(root, xr__xc(XR_NS_REPR), xr__xc("repr"));
    }
    if (!xrd || !idns || (hdr->has_represented_party && !repr))
        goto nomem;
    if (!write_id(header, xrd, idns, "client", &hdr->client) ||
        !write_id(header, xrd, idns, "service", &hdr->service) ||
        !add_text(header, xrd, "id", hdr->id))
        goto nomem;
    if (hdr->has_user_id && !add_text(header, xrd, "userId", hdr->user_id))
        goto nomem;
    if (hdr->has_issue && !add_text(header, xrd, "issue", hdr->issue))
        goto nomem;
    if (hdr->has_represented_party) {
        xmlNodePtr rp =
            xmlNewChild(header, repr, xr__xc("representedParty"), NULL);
        if (!rp ||
            (hdr->has_party_class &&
             !add_text(rp, repr, "partyClass", hdr->party_class)) ||
            !add_text(rp, repr, "partyCode", hdr->party_code))
            goto nomem;
    }
    if (hdr->has_security_server &&
        !write_id(header, xrd, idns, "securityServer", &hdr->security_server))
        goto nomem;
    if (!add_text(header, xrd, "protocolVersion",
                  hdr->protocol_version[0] ? hdr->protocol_version
                                           : XR_PROTOCOL_VERSION))
        goto nomem;
    return XR_OK;
nomem:
    return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                        "out of memory building the header");
}

/* ---- echo fields ----------------------------------------------------- */

const char *xr__echo_name(int field)
{
    static const char *const names[XR__ECHO_COUNT] = {
        "client", "service", "id", "userId", "issue", "representedParty"};
    return field >= 0 && field < XR__ECHO_COUNT ? names[field] : "";
}

struct packer {
    char *out;
    size_t size;
    size_t n;
};

static void put(struct packer *p, const void *data, size_t len)
{
    if (p->out && p->n + len <= p->size)
        memcpy(p->out + p->n, data, len);
    p->n += len;
}

static void put_byte(struct packer *p, char c)
{
    put(p, &c, 1);
}

/* Two-byte length, then the bytes (values are capped well below 64 KiB). */
static void put_str(struct packer *p, const char *s)
{
    size_t l = strlen(s);
    char len[2] = {(char)((l >> 8) & 0xff), (char)(l & 0xff)};
    put(p, len, 2);
    put(p, s, l);
}

/*
 * A text value as it compares: without surrounding XML white space, as
 * xr__xml_text() reads values back. A request built with "case 1 " and
 * its echo read as "case 1" are the same value, as they are for a
 * request parsed from its bytes.
 */
static void put_text(struct packer *p, const char *s)
{
    size_t b = 0, e = strlen(s), l;
    char len[2];

    while (b < e &&
           (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n'))
        b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' ||
                     s[e - 1] == '\n'))
        e--;
    l = e - b;
    len[0] = (char)((l >> 8) & 0xff);
    len[1] = (char)(l & 0xff);
    put(p, len, 2);
    put(p, s + b, l);
}

static void put_id(struct packer *p, const struct xr_id *id)
{
    put_byte(p, (char)('0' + (int)id->type));
    put_str(p, id->instance);
    put_str(p, id->member_class);
    put_str(p, id->member_code);
    put_str(p, id->subsystem_code);
    put_str(p, id->service_code);
    put_str(p, id->service_version);
    put_str(p, id->server_code);
}

size_t xr__echo_pack(const struct xr_header *h, int field, char *out,
                     size_t size)
{
    struct packer p = {out, size, 0};

    switch (field) {
    case XR__ECHO_CLIENT:
        put_byte(&p, '1');
        put_id(&p, &h->client);
        break;
    case XR__ECHO_SERVICE:
        put_byte(&p, h->service.service_code[0] ? '1' : '0');
        if (h->service.service_code[0])
            put_id(&p, &h->service);
        break;
    case XR__ECHO_ID:
        put_byte(&p, '1');
        put_text(&p, h->id);
        break;
    case XR__ECHO_USER_ID:
        put_byte(&p, h->has_user_id ? '1' : '0');
        if (h->has_user_id)
            put_text(&p, h->user_id);
        break;
    case XR__ECHO_ISSUE:
        put_byte(&p, h->has_issue ? '1' : '0');
        if (h->has_issue)
            put_text(&p, h->issue);
        break;
    case XR__ECHO_REPR:
        put_byte(&p, h->has_represented_party ? '1' : '0');
        if (h->has_represented_party) {
            put_byte(&p, h->has_party_class ? '1' : '0');
            put_text(&p, h->party_class);
            put_text(&p, h->party_code);
        }
        break;
    default:
        break;
    }
    return p.n;
}

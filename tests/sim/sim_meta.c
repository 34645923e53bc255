/*
 * X-Road's metaservices as a security server answers them (PR-META,
 * sim.h): listClients from "global configuration" (sim.conf),
 * listMethods / allowedMethods from the configured services and access
 * rights, getWsdl with the service's WSDL as an attachment whose
 * endpoint addresses are replaced by XR_META_WSDL_LOCATION.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>

#include "sim.h"

#define NS_WSDL     "http://schemas.xmlsoap.org/wsdl/"
#define NS_SOAP     "http://schemas.xmlsoap.org/wsdl/soap/"
#define NS_SOAP12   "http://schemas.xmlsoap.org/wsdl/soap12/"
#define WSDL_MAX    (4u * 1024u * 1024u)
#define CLIENTS_MAX (SIM_MAX_MEMBERS + 2 * (SIM_MAX_CLIENTS + SIM_MAX_SERVICES))

/* ---- listClients --------------------------------------------------------- */

struct entry {
    struct xr_id id;
    const char *name; /* borrowed from conf, or NULL */
    const char *subsystem_name;
};

static bool has(const struct entry *e, size_t n, const struct xr_id *id)
{
    for (size_t i = 0; i < n; i++)
        if (xr_id_equal(&e[i].id, id))
            return true;
    return false;
}

static void add(struct entry *e, size_t *n, const struct xr_id *id)
{
    struct xr_id member = *id;

    /* A subsystem's member is in global configuration too. */
    if (id->type == XR_ID_SUBSYSTEM) {
        member.type = XR_ID_MEMBER;
        member.subsystem_code[0] = '\0';
        if (!has(e, *n, &member) && *n < CLIENTS_MAX)
            e[(*n)++] = (struct entry){member, NULL, NULL};
    }
    if (!has(e, *n, id) && *n < CLIENTS_MAX)
        e[(*n)++] = (struct entry){*id, NULL, NULL};
}

/* The member's name for an entry (its own or its member's). */
static const char *member_name(const struct sim_conf *conf,
                               const struct xr_id *id)
{
    for (size_t i = 0; i < conf->nmembers; i++) {
        const struct xr_id *m = &conf->members[i].id;
        if (!strcmp(m->instance, id->instance) &&
            !strcmp(m->member_class, id->member_class) &&
            !strcmp(m->member_code, id->member_code) &&
            conf->members[i].display_name[0])
            return conf->members[i].display_name;
    }
    return NULL;
}

static size_t collect(const struct sim_conf *conf, struct entry *e)
{
    size_t n = 0;

    for (size_t i = 0; i < conf->nmembers; i++) {
        const struct sim_member *m = &conf->members[i];
        if (!has(e, n, &m->id) && n < CLIENTS_MAX)
            e[n++] = (struct entry){
                m->id, NULL, m->subsystem_name[0] ? m->subsystem_name : NULL};
    }
    for (size_t i = 0; i < conf->nclients; i++)
        add(e, &n, &conf->clients[i].id);
    for (size_t i = 0; i < conf->nservices; i++) {
        struct xr_id p = conf->services[i].id;
        p.type = p.subsystem_code[0] ? XR_ID_SUBSYSTEM : XR_ID_MEMBER;
        p.service_code[0] = p.service_version[0] = '\0';
        add(e, &n, &p);
    }
    for (size_t i = 0; i < n; i++)
        e[i].name = member_name(conf, &e[i].id);
    return n;
}

static char *clients_json(const struct entry *e, size_t n)
{
    json_t *root = json_object(), *arr = json_array();
    char *out;

    for (size_t i = 0; root && arr && i < n; i++) {
        json_t *m = json_object(), *id = json_object();
        json_object_set_new(id, "member_class",
                            json_string(e[i].id.member_class));
        json_object_set_new(id, "member_code",
                            json_string(e[i].id.member_code));
        if (e[i].id.type == XR_ID_SUBSYSTEM)
            json_object_set_new(id, "subsystem_code",
                                json_string(e[i].id.subsystem_code));
        json_object_set_new(id, "object_type",
                            json_string(xr_id_type_name(e[i].id.type)));
        json_object_set_new(id, "xroad_instance",
                            json_string(e[i].id.instance));
        json_object_set_new(m, "id", id);
        if (e[i].name)
            json_object_set_new(m, "name", json_string(e[i].name));
        if (e[i].subsystem_name)
            json_object_set_new(m, "subsystem_name",
                                json_string(e[i].subsystem_name));
        json_array_append_new(arr, m);
    }
    json_object_set_new(root, "member", arr);
    out = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return out;
}

/* The namespace `href` in scope at node, or a new declaration on node
 * with `prefix` (an answer reuses the request envelope's declarations). */
static xmlNsPtr ns_for(xmlNodePtr node, const char *href, const char *prefix)
{
    xmlNsPtr ns = xmlSearchNsByHref(node->doc, node, sim_xc(href));

    return ns ? ns : xmlNewNs(node, sim_xc(href), sim_xc(prefix));
}

/* <PREFIX:NAME>text</PREFIX:NAME> under parent. */
static xmlNodePtr text_child(xmlNodePtr parent, xmlNsPtr ns, const char *name,
                             const char *text)
{
    xmlNodePtr n = xmlNewChild(parent, ns, sim_xc(name), NULL);

    if (n && text)
        xmlNodeAddContent(n, sim_xc(text));
    return n;
}

/* An identifier element (objectType and parts) under parent. */
static xmlNodePtr id_element(xmlNodePtr parent, xmlNsPtr ns, xmlNsPtr id_ns,
                             const char *name, const struct xr_id *id)
{
    xmlNodePtr n = xmlNewChild(parent, ns, sim_xc(name), NULL);

    if (!n || !xmlNewNsProp(n, id_ns, sim_xc("objectType"),
                            sim_xc(xr_id_type_name(id->type))))
        return NULL;
    if (!text_child(n, id_ns, "xRoadInstance", id->instance) ||
        !text_child(n, id_ns, "memberClass", id->member_class) ||
        !text_child(n, id_ns, "memberCode", id->member_code))
        return NULL;
    if (id->subsystem_code[0] &&
        !text_child(n, id_ns, "subsystemCode", id->subsystem_code))
        return NULL;
    if (id->type == XR_ID_SERVICE) {
        if (!text_child(n, id_ns, "serviceCode", id->service_code))
            return NULL;
        if (id->service_version[0] &&
            !text_child(n, id_ns, "serviceVersion", id->service_version))
            return NULL;
    }
    return n;
}

static char *clients_xml(const struct entry *e, size_t n, size_t *len)
{
    xmlDocPtr doc = xmlNewDoc(sim_xc("1.0"));
    xmlNodePtr root = doc ? xmlNewNode(NULL, sim_xc("clientList")) : NULL;
    xmlNsPtr x, id;
    xmlChar *mem = NULL;
    char *out = NULL;
    int size = 0;

    if (!root)
        goto out;
    xmlDocSetRootElement(doc, root);
    id = xmlNewNs(root, sim_xc(XR_NS_ID), sim_xc("ns1"));
    x = xmlNewNs(root, sim_xc(XR_NS_XROAD), sim_xc("ns2"));
    if (!id || !x)
        goto out;
    xmlSetNs(root, x);
    for (size_t i = 0; i < n; i++) {
        xmlNodePtr m = xmlNewChild(root, x, sim_xc("member"), NULL);
        if (!m || !id_element(m, x, id, "id", &e[i].id))
            goto out;
        if (e[i].name && !text_child(m, x, "name", e[i].name))
            goto out;
        if (e[i].subsystem_name &&
            !text_child(m, x, "subsystemName", e[i].subsystem_name))
            goto out;
    }
    xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
    if (mem && size > 0) {
        out = malloc((size_t)size + 1);
        if (out) {
            memcpy(out, mem, (size_t)size);
            out[size] = '\0';
            *len = (size_t)size;
        }
    }
out:
    xmlFree(mem);
    xmlFreeDoc(doc);
    return out;
}

int sim_meta_list_clients(const struct sim_conf *conf, const char *instance,
                          bool json, char **out, size_t *len)
{
    struct entry *all = calloc(CLIENTS_MAX, sizeof(*all));
    size_t n, k = 0;

    *out = NULL;
    *len = 0;
    if (!all)
        return -1;
    n = collect(conf, all);
    /* ?xRoadInstance=I: that instance's clients only. */
    for (size_t i = 0; i < n; i++)
        if (!instance || !strcmp(all[i].id.instance, instance))
            all[k++] = all[i];
    if (json) {
        *out = clients_json(all, k);
        if (*out)
            *len = strlen(*out);
    } else {
        *out = clients_xml(all, k, len);
    }
    free(all);
    return *out ? 0 : -1;
}

/* ---- listMethods / allowedMethods ---------------------------------------- */

static bool same_provider(const struct xr_id *a, const struct xr_id *b)
{
    return !strcmp(a->instance, b->instance) &&
           !strcmp(a->member_class, b->member_class) &&
           !strcmp(a->member_code, b->member_code) &&
           !strcmp(a->subsystem_code, b->subsystem_code);
}

static bool allowed(const struct sim_service *s, const struct xr_id *client)
{
    for (size_t i = 0; i < s->nallow; i++)
        if (xr_id_equal(&s->allow[i], client))
            return true;
    return false;
}

static int methods(const struct sim_conf *conf, enum xr_meta_kind kind,
                   const struct xr_header *hdr, xmlNodePtr body,
                   struct sim_answer *a)
{
    xmlNsPtr x, id;
    xmlNodePtr list;
    size_t n = 0;

    list = xmlNewChild(body, NULL,
                       sim_xc(kind == XR_META_KIND_LIST_METHODS
                                  ? "listMethodsResponse"
                                  : "allowedMethodsResponse"),
                       NULL);
    if (!list)
        return -1;
    x = ns_for(list, XR_NS_XROAD, "xrd");
    id = ns_for(list, XR_NS_ID, "id");
    if (!x || !id)
        return -1;
    xmlSetNs(list, x);
    for (size_t i = 0; i < conf->nservices; i++) {
        const struct sim_service *s = &conf->services[i];
        if (!same_provider(&s->id, &hdr->service))
            continue;
        /* allowedMethods: only what this client may call. */
        if (kind == XR_META_KIND_ALLOWED_METHODS && !allowed(s, &hdr->client))
            continue;
        if (!id_element(list, x, id, "service", &s->id))
            return -1;
        n++;
    }
    snprintf(a->outcome, sizeof(a->outcome), "%s %zu service(s)",
             kind == XR_META_KIND_LIST_METHODS ? "listMethods"
                                               : "allowedMethods",
             n);
    return 0;
}

/* ---- getWsdl --------------------------------------------------------------
 */

/* printf into a new string (free()), NULL when out of memory. */
static char *fmt_alloc(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *fmt_alloc(const char *fmt, ...)
{
    va_list ap, ap2;
    char *out;
    int n;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    out = n < 0 ? NULL : malloc((size_t)n + 1);
    if (out)
        vsnprintf(out, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return out;
}

/* A WSDL 1.1 for a service of the simulator, with the address of the
 * provider's "internal" endpoint (replaced before it is served). */
static char *wsdl_generate(const struct sim_service *s)
{
    const char *code = s->id.service_code;
    const char *tns = s->kind == SIM_SERVICE_VTJ
                          ? "http://xml.vrk.fi/ws/vtj/vtjkysely/1"
                          : "urn:vayla:echo:1";

    /* Identifier parts are of the strict character set: no escaping. */
    return fmt_alloc(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<wsdl:definitions xmlns:wsdl=\"" NS_WSDL "\" xmlns:soap=\"" NS_SOAP
        "\"\n    xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
        "xmlns:xrd=\"" XR_NS_XROAD "\"\n    xmlns:tns=\"%s\" name=\"%s\" "
        "targetNamespace=\"%s\">\n"
        "  <wsdl:types>\n"
        "    <xsd:schema targetNamespace=\"%s\" "
        "elementFormDefault=\"qualified\">\n"
        "      <xsd:import namespace=\"" XR_NS_XROAD "\" "
        "schemaLocation=\"http://x-road.eu/xsd/xroad.xsd\"/>\n"
        "      <xsd:element name=\"%s\"><xsd:complexType><xsd:sequence>"
        "<xsd:any minOccurs=\"0\" maxOccurs=\"unbounded\" "
        "processContents=\"lax\"/></xsd:sequence></xsd:complexType>"
        "</xsd:element>\n"
        "      <xsd:element name=\"%sResponse\"><xsd:complexType>"
        "<xsd:sequence><xsd:any minOccurs=\"0\" maxOccurs=\"unbounded\" "
        "processContents=\"lax\"/></xsd:sequence></xsd:complexType>"
        "</xsd:element>\n"
        "    </xsd:schema>\n"
        "  </wsdl:types>\n"
        "  <wsdl:message name=\"requestheader\">\n"
        "    <wsdl:part name=\"client\" element=\"xrd:client\"/>\n"
        "    <wsdl:part name=\"service\" element=\"xrd:service\"/>\n"
        "    <wsdl:part name=\"userId\" element=\"xrd:userId\"/>\n"
        "    <wsdl:part name=\"id\" element=\"xrd:id\"/>\n"
        "    <wsdl:part name=\"issue\" element=\"xrd:issue\"/>\n"
        "    <wsdl:part name=\"protocolVersion\" "
        "element=\"xrd:protocolVersion\"/>\n"
        "  </wsdl:message>\n"
        "  <wsdl:message name=\"%s\"><wsdl:part name=\"body\" "
        "element=\"tns:%s\"/></wsdl:message>\n"
        "  <wsdl:message name=\"%sResponse\"><wsdl:part name=\"body\" "
        "element=\"tns:%sResponse\"/></wsdl:message>\n"
        "  <wsdl:portType name=\"%sPortType\">\n"
        "    <wsdl:operation name=\"%s\"><wsdl:input message=\"tns:%s\"/>"
        "<wsdl:output message=\"tns:%sResponse\"/></wsdl:operation>\n"
        "  </wsdl:portType>\n"
        "  <wsdl:binding name=\"%sBinding\" type=\"tns:%sPortType\">\n"
        "    <soap:binding style=\"document\" "
        "transport=\"http://schemas.xmlsoap.org/soap/http\"/>\n"
        "    <wsdl:operation name=\"%s\">\n"
        "      <soap:operation soapAction=\"\"/>\n"
        "      <xrd:version>%s</xrd:version>\n"
        "      <wsdl:input><soap:body parts=\"body\" use=\"literal\"/>"
        "<soap:header message=\"tns:requestheader\" part=\"client\" "
        "use=\"literal\"/><soap:header message=\"tns:requestheader\" "
        "part=\"service\" use=\"literal\"/><soap:header "
        "message=\"tns:requestheader\" part=\"id\" use=\"literal\"/>"
        "<soap:header message=\"tns:requestheader\" part=\"protocolVersion\" "
        "use=\"literal\"/></wsdl:input>\n"
        "      <wsdl:output><soap:body parts=\"body\" use=\"literal\"/>"
        "</wsdl:output>\n"
        "    </wsdl:operation>\n"
        "  </wsdl:binding>\n"
        "  <wsdl:service name=\"%sService\">\n"
        "    <wsdl:port name=\"%sPort\" binding=\"tns:%sBinding\">\n"
        "      <soap:address location=\"http://10.20.30.40:8080/internal/"
        "%s\"/>\n"
        "    </wsdl:port>\n"
        "  </wsdl:service>\n"
        "</wsdl:definitions>\n",
        tns, code, tns, tns, code, code, code, code, code, code, code, code,
        code, code, code, code, code,
        s->id.service_version[0] ? s->id.service_version : "v1", code, code,
        code, code);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n;

    *len = 0;
    if (!f)
        return NULL;
    buf = malloc(WSDL_MAX + 1);
    if (buf) {
        n = fread(buf, 1, WSDL_MAX + 1, f);
        if (ferror(f) || n > WSDL_MAX) {
            free(buf);
            buf = NULL;
        } else {
            *len = n;
        }
    }
    fclose(f);
    return buf;
}

static void rewrite_addresses(xmlNodePtr n)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (!strcmp(sim_cs(n->name), "address") && n->ns &&
            (!strcmp(sim_cs(n->ns->href), NS_SOAP) ||
             !strcmp(sim_cs(n->ns->href), NS_SOAP12)) &&
            xmlHasProp(n, sim_xc("location")))
            xmlSetProp(n, sim_xc("location"), sim_xc(XR_META_WSDL_LOCATION));
        rewrite_addresses(n->children);
    }
}

int sim_meta_wsdl_rewrite(const uint8_t *wsdl, size_t len, uint8_t **out,
                          size_t *out_len)
{
    xmlDocPtr doc;
    xmlChar *mem = NULL;
    int size = 0;

    *out = NULL;
    *out_len = 0;
    if (len > WSDL_MAX)
        return -1;
    /* No network, no entities, no DTD loading: the file is configuration
     * but still parsed carefully. */
    doc = xmlReadMemory((const char *)wsdl, (int)len, "wsdl", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING);
    if (!doc)
        return -1;
    rewrite_addresses(xmlDocGetRootElement(doc));
    xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
    xmlFreeDoc(doc);
    if (!mem || size <= 0) {
        xmlFree(mem);
        return -1;
    }
    *out = malloc((size_t)size);
    if (*out) {
        memcpy(*out, mem, (size_t)size);
        *out_len = (size_t)size;
    }
    xmlFree(mem);
    return *out ? 0 : -1;
}

static int get_wsdl(const struct sim_conf *conf, const struct xr_header *hdr,
                    xmlNodePtr wrapper, xmlNodePtr body, struct sim_answer *a)
{
    struct xr_wsdl_request w;
    struct xr_error err;
    const struct sim_service *svc = NULL;
    uint8_t *raw = NULL, *wsdl = NULL;
    size_t raw_len = 0, wsdl_len = 0;
    xmlNodePtr resp;
    xmlNsPtr x;
    int rc = -1;

    if (xr_meta_wsdl_request_parse(wrapper, &w, &err) != XR_OK) {
        sim_answer_fault(a, false, "Client.InvalidRequest", "%s", err.msg);
        return 0;
    }
    for (size_t i = 0; i < conf->nservices; i++) {
        const struct sim_service *s = &conf->services[i];
        if (same_provider(&s->id, &hdr->service) &&
            !strcmp(s->id.service_code, w.service_code) &&
            !strcmp(s->id.service_version, w.service_version))
            svc = s;
    }
    if (!svc) {
        struct xr_id asked = hdr->service;
        char text[XR_ID_TEXT_MAX];
        sim_strlcpy(asked.service_code, w.service_code,
                    sizeof(asked.service_code));
        sim_strlcpy(asked.service_version, w.service_version,
                    sizeof(asked.service_version));
        xr_id_format(&asked, true, text, sizeof(text));
        sim_answer_fault(a, false, "Server.ServerProxy.UnknownService",
                         "Unknown service: %s", text);
        return 0;
    }
    if (svc->wsdl_file[0]) {
        raw = read_file(svc->wsdl_file, &raw_len);
        if (!raw) {
            sim_answer_fault(a, false,
                             "Server.ServerProxy.ServiceFailed.InternalError",
                             "Could not read the service description");
            return 0;
        }
    } else {
        raw = (uint8_t *)wsdl_generate(svc);
        raw_len = raw ? strlen((char *)raw) : 0;
        if (!raw)
            goto out;
    }
    if (sim_meta_wsdl_rewrite(raw, raw_len, &wsdl, &wsdl_len) != 0) {
        sim_answer_fault(a, false,
                         "Server.ServerProxy.ServiceFailed.InvalidWsdl",
                         "The service description is not well-formed XML");
        rc = 0;
        goto out;
    }
    /* The answer echoes what was asked; the WSDL is the attachment. */
    resp = xmlNewChild(body, NULL, sim_xc("getWsdlResponse"), NULL);
    x = resp ? ns_for(resp, XR_NS_XROAD, "xrd") : NULL;
    if (!x)
        goto out;
    xmlSetNs(resp, x);
    if (!text_child(resp, x, "serviceCode", w.service_code) ||
        (w.service_version[0] &&
         !text_child(resp, x, "serviceVersion", w.service_version)) ||
        sim_answer_part(a, "text/xml; charset=UTF-8", "wsdl", wsdl, wsdl_len) !=
            0)
        goto out;
    snprintf(a->outcome, sizeof(a->outcome), "getWsdl %.60s%s%.40s",
             w.service_code, w.service_version[0] ? "/" : "",
             w.service_version);
    rc = 0;
out:
    free(raw);
    free(wsdl);
    return rc;
}

int sim_meta_answer(const struct sim_conf *conf, enum xr_meta_kind kind,
                    const struct xr_header *hdr, xmlNodePtr wrapper,
                    xmlNodePtr body, struct sim_answer *a)
{
    struct xr_error err;

    switch (kind) {
    case XR_META_KIND_LIST_METHODS:
    case XR_META_KIND_ALLOWED_METHODS:
        if (xr_meta_methods_request_parse(wrapper, kind, &err) != XR_OK) {
            sim_answer_fault(a, false, "Client.InvalidRequest", "%s", err.msg);
            return 0;
        }
        return methods(conf, kind, hdr, body, a);
    case XR_META_KIND_GET_WSDL:
        return get_wsdl(conf, hdr, wrapper, body, a);
    case XR_META_NONE:
    case XR_META_KIND_OPMON:
        break;
    }
    return -1;
}

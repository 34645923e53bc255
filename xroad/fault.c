/*
 * SOAP faults: classification by faultcode prefix (X-Road 7.x CamelCase and
 * 7.8+ snake_case alike) and serialisation in the security server's style.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *xr_fault_origin_name(enum xr_fault_origin origin)
{
    switch (origin) {
    case XR_ORIGIN_CLIENT:
        return "client";
    case XR_ORIGIN_CLIENT_PROXY:
        return "client_proxy";
    case XR_ORIGIN_SERVER_PROXY:
        return "server_proxy";
    case XR_ORIGIN_SERVICE:
        return "service";
    }
    return "service";
}

/*
 * Normalise into out: lower case, '_' dropped. Stops at the buffer size;
 * codes longer than that only matter for their prefix anyway.
 */
static void normalise(const char *code, char *out, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; code[i] && o + 1 < size; i++) {
        if (code[i] == '_')
            continue;
        out[o++] = (char)tolower((unsigned char)code[i]);
    }
    out[o] = '\0';
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum xr_fault_origin xr_fault_classify(const char *code, bool *service_failed)
{
    char n[XR_TEXT_MAX + 1];
    enum xr_fault_origin o;

    normalise(code ? code : "", n, sizeof(n));
    if (starts(n, "client."))
        o = XR_ORIGIN_CLIENT;
    else if (starts(n, "server.clientproxy."))
        o = XR_ORIGIN_CLIENT_PROXY;
    else if (starts(n, "server.serverproxy."))
        o = XR_ORIGIN_SERVER_PROXY;
    else
        o = XR_ORIGIN_SERVICE;
    if (service_failed)
        *service_failed =
            o != XR_ORIGIN_SERVICE && strstr(n, ".servicefailed.") != NULL;
    return o;
}

bool xr_fault_code_equal(const char *a, const char *b)
{
    char na[XR_TEXT_MAX + 1], nb[XR_TEXT_MAX + 1];

    normalise(a, na, sizeof(na));
    normalise(b, nb, sizeof(nb));
    return strcmp(na, nb) == 0;
}

void xr_fault_leaf(const char *code, char *out, size_t size)
{
    const char *dot = strrchr(code, '.');
    normalise(dot ? dot + 1 : code, out, size);
}

/* A child element in no namespace (not inheriting the parent's). */
static xmlNodePtr add_unqualified(xmlNodePtr parent, const char *name,
                                  const char *text)
{
    xmlNodePtr n = xmlNewDocNode(parent->doc, NULL, xr__xc(name), NULL);

    if (!n)
        return NULL;
    if (text && *text) {
        xmlNodePtr t = xmlNewDocText(parent->doc, xr__xc(text));
        if (!t) {
            xmlFreeNode(n);
            return NULL;
        }
        xmlAddChild(n, t);
    }
    if (!xmlAddChild(parent, n)) {
        xmlFreeNode(n);
        return NULL;
    }
    return n;
}

enum xr_status xr_fault_build(const char *code, const char *string,
                              const char *detail, const struct xr_header *hdr,
                              char **out, size_t *out_len, struct xr_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr env, body, fault, d, fd;
    xmlNsPtr soap;
    uint8_t *bytes = NULL;
    enum xr_status rc;

    *out = NULL;
    *out_len = 0;
    if (!code || !*code || !xmlCheckUTF8(xr__xc(code)) ||
        (string && !xmlCheckUTF8(xr__xc(string))) ||
        (detail && !xmlCheckUTF8(xr__xc(detail)))) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                          "fault code, string and detail must be UTF-8 and "
                          "the code non-empty");
        goto out;
    }
    env = xr__envelope_new(&doc, &soap);
    if (!env)
        goto nomem;
    if (hdr) {
        xmlNodePtr h = xmlNewChild(env, soap, xr__xc("Header"), NULL);
        if (!h)
            goto nomem;
        rc = xr__header_write(h, hdr, err);
        if (rc != XR_OK)
            goto out;
    }
    body = xmlNewChild(env, soap, xr__xc("Body"), NULL);
    fault = body ? xmlNewChild(body, soap, xr__xc("Fault"), NULL) : NULL;
    /* SOAP 1.1 fault children are unqualified: no namespace at all. */
    if (!fault || !add_unqualified(fault, "faultcode", code) ||
        !add_unqualified(fault, "faultstring", string ? string : "") ||
        !add_unqualified(fault, "faultactor", ""))
        goto nomem;
    if (detail) {
        d = add_unqualified(fault, "detail", NULL);
        fd = d ? add_unqualified(d, "faultDetail", detail) : NULL;
        if (!fd)
            goto nomem;
    }
    rc = xr__xml_serialize(doc, &bytes, out_len, err);
    if (rc == XR_OK)
        *out = (char *)bytes;
    goto out;
nomem:
    rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                      "out of memory building a fault");
out:
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

/* Copy text content with truncation (fault fields are informative). */
static void text_trunc(const xmlNode *node, char *out, size_t size)
{
    xmlChar *t = xmlNodeGetContent(node);
    const char *s = t ? xr__cs(t) : "";
    size_t b = 0, e = strlen(s);

    while (b < e &&
           (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n'))
        b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' ||
                     s[e - 1] == '\n'))
        e--;
    if (e - b >= size) {
        e = b + size - 1;
        /* Do not cut a UTF-8 character in two. */
        e = b + xr__utf8_trim(s + b, e - b);
    }
    memcpy(out, s + b, e - b);
    out[e - b] = '\0';
    if (t)
        xmlFree(t);
}

enum xr_status xr__fault_read(const xmlNode *fault_elem, struct xr_fault *fault,
                              struct xr_error *err)
{
    bool have_code = false;

    (void)err;
    memset(fault, 0, sizeof(*fault));
    /* SOAP 1.1 fault children are unqualified; accept any namespace. */
    for (xmlNodePtr c = xr__xml_first_elem(fault_elem); c;
         c = xr__xml_next_elem(c)) {
        const char *n = xr__cs(c->name);
        if (!strcmp(n, "faultcode") && !have_code) {
            text_trunc(c, fault->code, sizeof(fault->code));
            have_code = true;
        } else if (!strcmp(n, "faultstring")) {
            text_trunc(c, fault->string, sizeof(fault->string));
        } else if (!strcmp(n, "faultactor")) {
            fault->has_actor = true;
            text_trunc(c, fault->actor, sizeof(fault->actor));
        } else if (!strcmp(n, "detail")) {
            xmlNodePtr d = NULL;
            for (xmlNodePtr k = xr__xml_first_elem(c); k;
                 k = xr__xml_next_elem(k)) {
                if (!strcmp(xr__cs(k->name), "faultDetail")) {
                    d = k;
                    break;
                }
            }
            if (!d)
                d = xr__xml_first_elem(c);
            text_trunc(d ? d : c, fault->detail, sizeof(fault->detail));
        }
    }
    fault->origin = xr_fault_classify(fault->code, &fault->service_failed);
    return XR_OK;
}

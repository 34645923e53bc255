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

#include "internal.h"

struct xr_request {
    struct xr_header hdr;
    uint8_t *bytes; /* owned: exact SOAP message bytes */
    size_t len;
    xmlDocPtr doc;   /* owned: the message as a tree */
    xmlNodePtr body; /* borrowed from doc: the Body's wrapper element */
};

void xr_header_init(struct xr_header *hdr)
{
    memset(hdr, 0, sizeof(*hdr));
    xr__strlcpy(hdr->protocol_version, XR_PROTOCOL_VERSION,
                sizeof(hdr->protocol_version));
}

/* Header text values: valid UTF-8, no control characters but TAB/LF/CR. */
static enum xr_status check_text(const char *v, const char *field,
                                 struct xr_error *err)
{
    size_t n = strlen(v);

    if (n > XR_TEXT_MAX)
        return xr_error_set(err, XR_EINVAL, "invalid_header", field,
                            "%s is longer than %d bytes", field, XR_TEXT_MAX);
    if (!xmlCheckUTF8(xr__xc(v)))
        return xr_error_set(err, XR_EINVAL, "invalid_header", field,
                            "%s is not valid UTF-8", field);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return xr_error_set(err, XR_EINVAL, "invalid_header", field,
                                "%s contains control character 0x%02x", field,
                                c);
    }
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

static enum xr_status serialize(xmlDocPtr doc, uint8_t **out, size_t *len,
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
    xmlFree(mem);
    return XR_OK;
}

enum xr_status xr_request_new(const struct xr_header *hdr, const uint8_t *body,
                              size_t body_len, struct xr_request **out,
                              struct xr_error *err)
{
    struct xr_request *req = NULL;
    xmlDocPtr bdoc = NULL;
    xmlNodePtr env, header, bodyel, wrapper;
    xmlNsPtr soap;
    struct xr_limits lim = {0};
    enum xr_status rc;

    *out = NULL;
    req = calloc(1, sizeof(*req));
    if (!req) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    req->hdr = *hdr;
    if (!req->hdr.protocol_version[0])
        xr__strlcpy(req->hdr.protocol_version, XR_PROTOCOL_VERSION,
                    sizeof(req->hdr.protocol_version));
    req->hdr.has_request_hash = false;
    req->hdr.request_hash[0] = '\0';
    req->hdr.request_hash_algo[0] = '\0';
    if (!req->hdr.id[0]) {
        rc = xr_uuid4(req->hdr.id, sizeof(req->hdr.id), err);
        if (rc != XR_OK)
            goto out;
    }
    rc = check_header(&req->hdr, err);
    if (rc != XR_OK)
        goto out;
    if (body) {
        xmlNodePtr broot;
        rc = xr__xml_parse(body, body_len, NULL, &lim, &bdoc, err);
        if (rc != XR_OK) {
            if (err)
                xr__strlcpy(err->field, "body", sizeof(err->field));
            goto out;
        }
        broot = xmlDocGetRootElement(bdoc);
        if (strcmp(xr__cs(broot->name), req->hdr.service.service_code) != 0) {
            rc = xr_error_set(err, XR_EINVAL, "body_invalid", "body",
                              "body element %.64s must be named like the "
                              "serviceCode %.64s",
                              xr__cs(broot->name),
                              req->hdr.service.service_code);
            goto out;
        }
    }
    req->doc = xmlNewDoc(xr__xc("1.0"));
    if (!req->doc)
        goto nomem;
    env = xmlNewDocNode(req->doc, NULL, xr__xc("Envelope"), NULL);
    if (!env)
        goto nomem;
    xmlDocSetRootElement(req->doc, env);
    soap = xmlNewNs(env, xr__xc(XR_NS_SOAP11), xr__xc("SOAP-ENV"));
    if (!soap || !xmlNewNs(env, xr__xc(XR_NS_XROAD), xr__xc("xrd")) ||
        !xmlNewNs(env, xr__xc(XR_NS_ID), xr__xc("id")))
        goto nomem;
    xmlSetNs(env, soap);
    header = xmlNewChild(env, soap, xr__xc("Header"), NULL);
    bodyel = xmlNewChild(env, soap, xr__xc("Body"), NULL);
    if (!header || !bodyel)
        goto nomem;
    rc = xr__header_write(header, &req->hdr, err);
    if (rc != XR_OK)
        goto out;
    if (bdoc)
        wrapper = xmlDocCopyNode(xmlDocGetRootElement(bdoc), req->doc, 1);
    else
        wrapper = xmlNewDocNode(req->doc, NULL,
                                xr__xc(req->hdr.service.service_code), NULL);
    if (!wrapper || !xmlAddChild(bodyel, wrapper)) {
        xmlFreeNode(wrapper);
        goto nomem;
    }
    xmlReconciliateNs(req->doc, wrapper);
    req->body = wrapper;
    rc = serialize(req->doc, &req->bytes, &req->len, err);
    if (rc != XR_OK)
        goto out;
    *out = req;
    req = NULL;
    rc = XR_OK;
    goto out;
nomem:
    rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                      "out of memory building the envelope");
out:
    if (bdoc)
        xmlFreeDoc(bdoc);
    xr_request_free(req);
    return rc;
}

enum xr_status xr_request_parse(const char *content_type, const uint8_t *buf,
                                size_t len, const struct xr_limits *limits,
                                struct xr_request **out, struct xr_error *err)
{
    struct xr_limits lim = {0};
    struct xr__soap soap;
    struct xr_request *req = NULL;
    struct xr_fault fault;
    bool has_header = false, is_fault = false;
    xmlNodePtr body = NULL;
    enum xr_status rc;

    *out = NULL;
    memset(&soap, 0, sizeof(soap));
    if (limits)
        lim = *limits;
    rc = xr__soap_open(content_type, buf, len, &lim, &soap, err);
    if (rc != XR_OK)
        goto out;
    req = calloc(1, sizeof(*req));
    if (!req) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    rc = xr__msg_read(soap.doc, true, &req->hdr, &has_header, &body, &is_fault,
                      &fault, NULL, err);
    if (rc != XR_OK)
        goto out;
    if (is_fault) {
        rc = xr_error_set(err, XR_EPROTO, "invalid_soap", "Body",
                          "a request must not be a SOAP Fault (faultcode "
                          "%.64s)",
                          fault.code);
        goto out;
    }
    req->bytes = malloc(soap.soap_len + 1);
    if (!req->bytes) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    memcpy(req->bytes, soap.soap, soap.soap_len);
    req->bytes[soap.soap_len] = '\0';
    req->len = soap.soap_len;
    req->doc = soap.doc;
    soap.doc = NULL;
    req->body = body;
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
    if (req->doc)
        xmlFreeDoc(req->doc);
    free(req->bytes);
    free(req);
}

struct xr_bytes xr_request_bytes(const struct xr_request *req)
{
    struct xr_bytes b = {req->bytes, req->len};
    return b;
}

const struct xr_header *xr_request_header(const struct xr_request *req)
{
    return &req->hdr;
}

xmlNodePtr xr_request_body(struct xr_request *req)
{
    return req->body;
}

void xr_request_hash(const struct xr_request *req, char *out, size_t size)
{
    xr__sha512_b64(req->bytes, req->len, out, size);
}

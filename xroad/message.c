/*
 * Reading a whole SOAP message: the Envelope/Header/Body structure, the
 * X-Road header (header.c), a Fault (fault.c) and the rule for the Body's
 * one wrapper element. Requests (envelope.c) and answers (response.c) are
 * both read here.
 */
#include <string.h>

#include "internal.h"

/* Exactly one Body child, named with the serviceCode as prefix. */
static enum xr_status check_body(const xmlNode *first,
                                 const struct xr_header *hdr,
                                 struct xr_error *err)
{
    const xmlNode *second = first ? xr__xml_next_elem(first) : NULL;

    if (!first || second)
        return xr_error_set(err, XR_EPROTO, "invalid_body", "Body",
                            "SOAP Body must have exactly one child element, "
                            "has %s",
                            first ? "more" : "none");
    if (hdr->service.service_code[0] &&
        strncmp(xr__cs(first->name), hdr->service.service_code,
                strlen(hdr->service.service_code)) != 0) {
        char q1[XR_CLIP], q2[XR_CLIP];
        return xr_error_set(
            err, XR_EPROTO, "inconsistent_headers", "Body",
            "body element %s does not start with "
            "serviceCode %s",
            xr__clip(q1, sizeof(q1), xr__cs(first->name)),
            xr__clip(q2, sizeof(q2), hdr->service.service_code));
    }
    return XR_OK;
}

enum xr_status xr__msg_read(xmlDocPtr doc, bool require_service,
                            struct xr_header *hdr, bool *has_header,
                            xmlNodePtr *body, bool *is_fault,
                            struct xr_fault *fault, struct xr_error *body_err,
                            struct xr_error *err)
{
    xmlNodePtr root = xmlDocGetRootElement(doc), header = NULL, bodyel = NULL;
    xmlNodePtr first;
    enum xr_status rc;

    xr_header_init(hdr);
    hdr->protocol_version[0] = '\0';
    *has_header = false;
    *body = NULL;
    *is_fault = false;
    if (!xr__xml_is(root, XR_NS_SOAP11, "Envelope"))
        return xr_error_set(err, XR_EPROTO, "invalid_soap", "",
                            "not a SOAP 1.1 envelope (root element is %s)",
                            root ? xr__cs(root->name) : "missing");
    for (xmlNodePtr c = xr__xml_first_elem(root); c; c = xr__xml_next_elem(c)) {
        if (xr__xml_is(c, XR_NS_SOAP11, "Header")) {
            if (header)
                return xr_error_set(err, XR_EPROTO, "invalid_soap", "Header",
                                    "more than one SOAP Header");
            header = c;
        } else if (xr__xml_is(c, XR_NS_SOAP11, "Body")) {
            if (bodyel)
                return xr_error_set(err, XR_EPROTO, "invalid_soap", "Body",
                                    "more than one SOAP Body");
            bodyel = c;
        }
    }
    if (!bodyel)
        return xr_error_set(err, XR_EPROTO, "missing_body", "",
                            "SOAP message has no Body");
    first = xr__xml_first_elem(bodyel);
    if (first && xr__xml_is(first, XR_NS_SOAP11, "Fault")) {
        *is_fault = true;
        rc = xr__fault_read(first, fault, err);
        if (rc != XR_OK)
            return rc;
        /* Read the header when there is one, but do not insist on it. */
        if (header) {
            struct xr_error ignore;
            *has_header = xr__header_read(header, false, hdr, &ignore) == XR_OK;
        }
        return XR_OK;
    }
    if (!header)
        return xr_error_set(err, XR_EPROTO, "missing_header", "",
                            "SOAP message has no Header");
    rc = xr__header_read(header, require_service, hdr, err);
    if (rc != XR_OK)
        return rc;
    *has_header = true;
    rc = check_body(first, hdr, body_err ? body_err : err);
    if (rc != XR_OK)
        return body_err ? XR_OK : rc;
    *body = first;
    return XR_OK;
}

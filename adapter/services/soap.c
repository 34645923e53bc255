/*
 * The generic SOAP service module (soap.h).
 */
#include <stdlib.h>
#include <string.h>

#include <xroad/response.h>

#include "services/soap.h"

struct soap_call {
    struct soap_call_params p; /* parts replaced by the owned copy */
    struct xr_part *parts;     /* owned array, borrowed data */
    char *subject;             /* owned, or NULL */
    /* The answer. */
    bool answered;
    struct soap_answer ans;
    uint8_t *xml;              /* owned */
    struct xr_part *ans_parts; /* owned array */
    uint8_t *ans_data;         /* owned: every part's bytes, in order */
};

enum xr_status soap_call_new(const struct soap_call_params *p,
                             struct soap_call **out, struct xr_error *err)
{
    struct soap_call *c = NULL;

    *out = NULL;
    if (!p->payload || p->payload_len == 0)
        return xr_error_set(err, XR_EINVAL, "missing_payload", "",
                            "the request has no payload");
    c = calloc(1, sizeof(*c));
    if (!c)
        goto oom;
    c->p = *p;
    if (p->nparts) {
        c->parts = calloc(p->nparts, sizeof(*c->parts));
        if (!c->parts)
            goto oom;
        memcpy(c->parts, p->parts, p->nparts * sizeof(*c->parts));
    }
    c->p.parts = c->parts;
    if (p->subject && !(c->subject = strdup(p->subject)))
        goto oom;
    c->p.subject = c->subject;
    *out = c;
    return XR_OK;
oom:
    soap_call_free(c);
    return xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
}

void soap_call_free(struct soap_call *c)
{
    if (!c)
        return;
    free(c->parts);
    free(c->subject);
    free(c->xml);
    free(c->ans_parts);
    free(c->ans_data);
    free(c);
}

const struct soap_answer *soap_call_answer(const struct soap_call *c)
{
    return c->answered ? &c->ans : NULL;
}

/* ---- the service operations ---------------------------------------------
 */

/* The payload is the wrapper as the caller sent it (libxroad parses it
 * with its hardened parser and checks the root's name). The pipeline
 * frees the body with body_free: give it a copy. */
static enum xr_status op_body(void *call, char **xml, size_t *len,
                              struct xr_error *err)
{
    struct soap_call *c = call;

    *xml = malloc(c->p.payload_len);
    if (!*xml)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    memcpy(*xml, c->p.payload, c->p.payload_len);
    *len = c->p.payload_len;
    return XR_OK;
}

static void op_body_free(char *xml, size_t len)
{
    (void)len;
    free(xml);
}

static bool is_xop(const char *content_type)
{
    char media[64];

    return xr_mime_media(content_type, media, sizeof(media)) &&
           !strcmp(media, "application/xop+xml");
}

/* Keep the wrapper and a copy of the attachments (the response is freed
 * after decoding). */
static enum xr_status op_decode(void *call, const struct xr_response *resp,
                                struct xr_error *err)
{
    struct soap_call *c = call;
    size_t n = xr_response_part_count(resp), total = 0;
    uint8_t *p;
    enum xr_status rc;

    free(c->xml);
    free(c->ans_parts);
    free(c->ans_data);
    c->xml = NULL;
    c->ans_parts = NULL;
    c->ans_data = NULL;
    c->answered = false;
    rc = xr_response_body_xml(resp, &c->xml, &c->ans.xml_len, err);
    if (rc != XR_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        total += xr_response_part(resp, i)->data.len; /* capped by the
                                                         response size */
    if (n && (!(c->ans_parts = calloc(n, sizeof(*c->ans_parts))) ||
              !(c->ans_data = malloc(total ? total : 1))))
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    p = c->ans_data;
    for (size_t i = 0; i < n; i++) {
        const struct xr_part *src = xr_response_part(resp, i);
        c->ans_parts[i] = *src;
        if (src->data.len)
            memcpy(p, src->data.ptr, src->data.len);
        c->ans_parts[i].data.ptr = p;
        p += src->data.len;
    }
    c->ans.xml = c->xml;
    c->ans.mtom = is_xop(xr_response_soap_type(resp));
    c->ans.parts = c->ans_parts;
    c->ans.nparts = n;
    c->answered = true;
    return XR_OK;
}

static enum adp_service_result op_result(const void *call, const char **outcome,
                                         const char **return_code)
{
    (void)call;
    *outcome = "ok";
    *return_code = NULL;
    return ADP_SERVICE_DATA;
}

static const char *op_subject(const void *call)
{
    return ((const struct soap_call *)call)->subject;
}

static const char *op_product(const void *call)
{
    (void)call;
    return NULL;
}

static size_t op_attachments(const void *call, const struct xr_part **parts,
                             bool *mtom)
{
    const struct soap_call *c = call;

    *parts = c->parts;
    *mtom = c->p.mtom;
    return c->p.nparts;
}

const struct adp_service_ops soap_service = {
    .name = "soap",
    .body = op_body,
    .body_free = op_body_free,
    .decode = op_decode,
    .result = op_result,
    .subject = op_subject,
    .product = op_product,
    .attachments = op_attachments,
    .follow_up = NULL,
};

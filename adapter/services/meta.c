/*
 * Metaservices as pipeline service modules (services/meta.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/meta.h"

struct meta_call {
    enum xr_meta_kind kind;
    char code[XR_ID_PART_MAX + 1];    /* getWsdl: service code */
    char version[XR_ID_PART_MAX + 1]; /* getWsdl: version, "" = none */
    char subject[2 * XR_ID_PART_MAX + 2];
    struct xr_meta_limits limits;
    struct xr_id *ids; /* listMethods / allowedMethods */
    size_t nids;
    uint8_t *wsdl; /* getWsdl, NUL-terminated copy */
    size_t wsdl_len;
};

void meta_call_free(struct meta_call *c)
{
    if (!c)
        return;
    free(c->ids);
    free(c->wsdl);
    free(c);
}

enum xr_status meta_call_new(const struct meta_call_params *p,
                             struct meta_call **out, struct xr_error *err)
{
    struct meta_call *c;

    *out = NULL;
    if (p->kind != XR_META_KIND_LIST_METHODS &&
        p->kind != XR_META_KIND_ALLOWED_METHODS &&
        p->kind != XR_META_KIND_GET_WSDL)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "not a metaservice of this module");
    if (p->kind == XR_META_KIND_GET_WSDL &&
        (!p->service_code || !xr_id_part_is_valid(p->service_code) ||
         (p->service_version && p->service_version[0] &&
          !xr_id_part_is_valid(p->service_version))))
        return xr_error_set(err, XR_EINVAL, "invalid_id", "service",
                            "the service code or version is not a valid "
                            "identifier part");
    c = calloc(1, sizeof(*c));
    if (!c)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    c->kind = p->kind;
    if (p->limits)
        c->limits = *p->limits;
    if (p->kind == XR_META_KIND_GET_WSDL) {
        /* Checked above: both fit. */
        snprintf(c->code, sizeof(c->code), "%s", p->service_code);
        snprintf(c->version, sizeof(c->version), "%s",
                 p->service_version ? p->service_version : "");
        snprintf(c->subject, sizeof(c->subject), "%s%s%s", c->code,
                 c->version[0] ? "/" : "", c->version);
    }
    *out = c;
    return XR_OK;
}

enum xr_status meta_service_id(const struct xr_id *provider,
                               enum xr_meta_kind kind, struct xr_id *out,
                               struct xr_error *err)
{
    const char *code = kind == XR_META_KIND_LIST_METHODS ? XR_META_LIST_METHODS
                       : kind == XR_META_KIND_ALLOWED_METHODS
                           ? XR_META_ALLOWED_METHODS
                       : kind == XR_META_KIND_GET_WSDL ? XR_META_GET_WSDL
                                                       : NULL;

    memset(out, 0, sizeof(*out));
    if (!code)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "not a metaservice of this module");
    if (provider->type != XR_ID_MEMBER && provider->type != XR_ID_SUBSYSTEM)
        return xr_error_set(err, XR_EINVAL, "invalid_id", "provider",
                            "the provider must be a MEMBER or SUBSYSTEM");
    *out = *provider;
    out->type = XR_ID_SERVICE;
    snprintf(out->service_code, sizeof(out->service_code), "%s", code);
    out->service_version[0] = '\0';
    return xr_id_validate(out, err);
}

size_t meta_call_services(const struct meta_call *c, const struct xr_id **ids)
{
    *ids = c->ids;
    return c->nids;
}

struct xr_bytes meta_call_wsdl(const struct meta_call *c)
{
    struct xr_bytes b = {c->wsdl, c->wsdl_len};
    return b;
}

/* ---- adp_service_ops ----------------------------------------------------- */

static enum xr_status body(void *call, char **xml, size_t *len,
                           struct xr_error *err)
{
    struct meta_call *c = call;

    if (c->kind == XR_META_KIND_GET_WSDL)
        return xr_meta_wsdl_body(c->code, c->version, xml, len, err);
    return xr_meta_methods_body(c->kind, xml, len, err);
}

static void body_free(char *xml, size_t len)
{
    (void)len; /* nothing secret in a metaservice body */
    free(xml);
}

static enum xr_status decode(void *call, const struct xr_response *resp,
                             struct xr_error *err)
{
    struct meta_call *c = call;
    struct xr_bytes w;
    enum xr_status rc;

    free(c->ids);
    free(c->wsdl);
    c->ids = NULL;
    c->nids = 0;
    c->wsdl = NULL;
    c->wsdl_len = 0;
    if (c->kind != XR_META_KIND_GET_WSDL) {
        rc = xr_meta_methods_parse(resp, c->kind, &c->limits, &c->ids, &c->nids,
                                   err);
    } else {
        rc = xr_meta_wsdl_parse(resp, c->code, c->version, &c->limits, &w, err);
        if (rc == XR_OK) {
            /* The answer is freed after decoding: keep a copy. */
            c->wsdl = malloc(w.len + 1);
            if (!c->wsdl)
                return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                    "out of memory");
            memcpy(c->wsdl, w.ptr, w.len);
            c->wsdl[w.len] = '\0';
            c->wsdl_len = w.len;
        }
    }
    return rc;
}

static enum adp_service_result result(const void *call, const char **outcome,
                                      const char **return_code)
{
    const struct meta_call *c = call;

    *return_code = NULL;
    *outcome = c->kind == XR_META_KIND_GET_WSDL ? "wsdl" : "listed";
    return ADP_SERVICE_DATA;
}

static const char *subject(const void *call)
{
    const struct meta_call *c = call;

    /* getWsdl is about one service; the lists are about no one thing. */
    return c->subject[0] ? c->subject : NULL;
}

static const char *product(const void *call)
{
    (void)call;
    return NULL;
}

const struct adp_service_ops meta_service = {
    .name = "meta",
    .body = body,
    .body_free = body_free,
    .decode = decode,
    .result = result,
    .subject = subject,
    .product = product,
    .follow_up = NULL,
};

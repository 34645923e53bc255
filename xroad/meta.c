/*
 * Metaservices of PR-META (meta.h): listMethods, allowedMethods and
 * getWsdl request bodies and answers, and the request readers a security
 * server needs. listClients is in clients.c, operational monitoring in
 * opmon.c.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "xroad/meta.h"

#define NS_WSDL               "http://schemas.xmlsoap.org/wsdl/"
#define METHODS_ITEMS_DEFAULT 4096u
#define WSDL_BYTES_DEFAULT    (16u * 1024u * 1024u)
#define WSDL_NODES_DEFAULT    1000000u

enum xr_meta_kind xr_meta_kind_of(const char *code)
{
    if (!code)
        return XR_META_NONE;
    if (!strcmp(code, XR_META_LIST_METHODS))
        return XR_META_KIND_LIST_METHODS;
    if (!strcmp(code, XR_META_ALLOWED_METHODS))
        return XR_META_KIND_ALLOWED_METHODS;
    if (!strcmp(code, XR_META_GET_WSDL))
        return XR_META_KIND_GET_WSDL;
    if (!strcmp(code, XR_OPMON_OPERATIONAL))
        return XR_META_KIND_OPMON;
    return XR_META_NONE;
}

/* The text written by w (two passes: count, then write). */
static enum xr_status tw_finish(void (*emit)(struct xr__tw *, const void *),
                                const void *arg, char **xml, size_t *len,
                                struct xr_error *err)
{
    struct xr__tw w = {NULL, 0};

    emit(&w, arg);
    w.p = malloc(w.n + 1);
    if (!w.p)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    w.n = 0;
    emit(&w, arg);
    w.p[w.n] = '\0';
    *xml = w.p;
    *len = w.n;
    return XR_OK;
}

static void emit_methods(struct xr__tw *w, const void *arg)
{
    const char *name = arg;

    xr__tw_str(w, "<xrd:");
    xr__tw_str(w, name);
    xr__tw_str(w, " xmlns:xrd=\"" XR_NS_XROAD "\"/>");
}

enum xr_status xr_meta_methods_body(enum xr_meta_kind kind, char **xml,
                                    size_t *len, struct xr_error *err)
{
    *xml = NULL;
    *len = 0;
    if (kind != XR_META_KIND_LIST_METHODS &&
        kind != XR_META_KIND_ALLOWED_METHODS)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "not listMethods or allowedMethods");
    return tw_finish(emit_methods,
                     kind == XR_META_KIND_LIST_METHODS
                         ? XR_META_LIST_METHODS
                         : XR_META_ALLOWED_METHODS,
                     xml, len, err);
}

static void emit_wsdl(struct xr__tw *w, const void *arg)
{
    const char *const *cv = arg;

    xr__tw_str(w, "<xrd:getWsdl xmlns:xrd=\"" XR_NS_XROAD "\">"
                  "<xrd:serviceCode>");
    xr__tw_text(w, cv[0]);
    xr__tw_str(w, "</xrd:serviceCode>");
    if (cv[1] && cv[1][0]) {
        xr__tw_str(w, "<xrd:serviceVersion>");
        xr__tw_text(w, cv[1]);
        xr__tw_str(w, "</xrd:serviceVersion>");
    }
    xr__tw_str(w, "</xrd:getWsdl>");
}

enum xr_status xr_meta_wsdl_body(const char *service_code,
                                 const char *service_version, char **xml,
                                 size_t *len, struct xr_error *err)
{
    const char *cv[2] = {service_code, service_version};

    *xml = NULL;
    *len = 0;
    if (!service_code || !xr_id_part_is_valid(service_code))
        return xr_error_set(err, XR_EINVAL, "invalid_id", "serviceCode",
                            "serviceCode is not a valid identifier part");
    if (service_version && service_version[0] &&
        !xr_id_part_is_valid(service_version))
        return xr_error_set(err, XR_EINVAL, "invalid_id", "serviceVersion",
                            "serviceVersion is not a valid identifier part");
    return tw_finish(emit_wsdl, cv, xml, len, err);
}

/* ---- answers ---------------------------------------------------------- */

/* Every part of an identifier read from an answer: clean UTF-8. */
static enum xr_status id_clean(const struct xr_id *id, const char *field,
                               struct xr_error *err)
{
    const char *parts[] = {id->instance,     id->member_class,
                           id->member_code,  id->subsystem_code,
                           id->service_code, id->service_version,
                           id->server_code};

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (!xr__text_clean(parts[i], strlen(parts[i]), false))
            return xr_error_set(err, XR_EPROTO, "invalid_id", field,
                                "%s: an identifier part is not clean "
                                "UTF-8 text",
                                field);
    return XR_OK;
}

enum xr_status xr_meta_methods_parse(const struct xr_response *resp,
                                     enum xr_meta_kind kind,
                                     const struct xr_meta_limits *lim,
                                     struct xr_id **ids, size_t *n,
                                     struct xr_error *err)
{
    size_t max = lim && lim->max_items ? lim->max_items : METHODS_ITEMS_DEFAULT;
    const char *wrapper = kind == XR_META_KIND_LIST_METHODS
                              ? "listMethodsResponse"
                              : "allowedMethodsResponse";
    xmlNodePtr body = xr_response_body(resp);
    struct xr_id *arr = NULL;
    size_t count = 0, cap = 0;
    enum xr_status rc = XR_OK;

    *ids = NULL;
    *n = 0;
    if (kind != XR_META_KIND_LIST_METHODS &&
        kind != XR_META_KIND_ALLOWED_METHODS)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "not listMethods or allowedMethods");
    if (!body || !xr__xml_is(body, XR_NS_XROAD, wrapper))
        return xr_error_set(err, XR_EPROTO, "meta_invalid", "Body",
                            "the answer is not xrd:%s", wrapper);
    for (xmlNodePtr c = xr__xml_first_elem(body); c; c = xr__xml_next_elem(c)) {
        if (!xr__xml_is(c, XR_NS_XROAD, "service")) {
            rc = xr_error_set(err, XR_EPROTO, "meta_invalid", "service",
                              "%s has an element other than xrd:service",
                              wrapper);
            goto out;
        }
        if (count >= max) {
            rc = xr_error_set(err, XR_ELIMIT, "too_many", "service",
                              "more than %zu services", max);
            goto out;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct xr_id *grown;
            if (ncap > max)
                ncap = max;
            grown = realloc(arr, ncap * sizeof(*arr));
            if (!grown) {
                rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                  "out of memory");
                goto out;
            }
            arr = grown;
            cap = ncap;
        }
        rc = xr__id_read(c, "service", 1u << XR_ID_SERVICE, &arr[count], err);
        if (rc == XR_OK)
            rc = id_clean(&arr[count], "service", err);
        if (rc != XR_OK) {
            /* An identifier that fails here is malformed, whatever the
             * header reader calls it. */
            if (err && strcmp(err->reason, "too_large") != 0)
                err->reason = "invalid_id";
            goto out;
        }
        count++;
    }
    *ids = arr;
    *n = count;
    arr = NULL;
out:
    free(arr);
    return rc;
}

/* The text of an element child into out; reason meta_invalid. */
static enum xr_status child_text(const xmlNode *c, char *out, size_t size,
                                 const char *field, struct xr_error *err)
{
    if (xr__xml_text(c, out, size, field, NULL) != XR_OK)
        return xr_error_set(err, XR_EPROTO, "meta_invalid", field,
                            "%s is longer than %zu bytes", field, size - 1);
    if (xr__xml_first_elem(c))
        return xr_error_set(err, XR_EPROTO, "meta_invalid", field,
                            "%s has element children", field);
    return XR_OK;
}

/* serviceCode and serviceVersion children of getWsdl / getWsdlResponse. */
static enum xr_status wsdl_codes(const xmlNode *wrapper,
                                 struct xr_wsdl_request *out,
                                 struct xr_error *err)
{
    bool code = false, version = false;
    enum xr_status rc;

    memset(out, 0, sizeof(*out));
    for (xmlNodePtr c = xr__xml_first_elem(wrapper); c;
         c = xr__xml_next_elem(c)) {
        if (xr__xml_is(c, XR_NS_XROAD, "serviceCode") && !code) {
            code = true;
            rc = child_text(c, out->service_code, sizeof(out->service_code),
                            "serviceCode", err);
        } else if (xr__xml_is(c, XR_NS_XROAD, "serviceVersion") && !version) {
            version = true;
            rc =
                child_text(c, out->service_version,
                           sizeof(out->service_version), "serviceVersion", err);
        } else {
            return xr_error_set(err, XR_EPROTO, "meta_invalid", "getWsdl",
                                "unexpected or repeated element in %s",
                                xr__cs(wrapper->name));
        }
        if (rc != XR_OK)
            return rc;
    }
    if (!code || !out->service_code[0])
        return xr_error_set(err, XR_EPROTO, "meta_invalid", "serviceCode",
                            "%s lacks serviceCode", xr__cs(wrapper->name));
    if (!xr__text_clean(out->service_code, strlen(out->service_code), false) ||
        !xr__text_clean(out->service_version, strlen(out->service_version),
                        false))
        return xr_error_set(err, XR_EPROTO, "meta_invalid", "serviceCode",
                            "serviceCode or serviceVersion is not clean "
                            "UTF-8 text");
    return XR_OK;
}

enum xr_status xr_meta_wsdl_parse(const struct xr_response *resp,
                                  const char *service_code,
                                  const char *service_version,
                                  const struct xr_meta_limits *lim,
                                  struct xr_bytes *wsdl, struct xr_error *err)
{
    struct xr_wsdl_request got;
    struct xr_limits xl = {0};
    struct xr__ctype ct;
    const struct xr_part *part;
    xmlNodePtr body = xr_response_body(resp), root;
    xmlDocPtr doc = NULL;
    const char *want_version = service_version ? service_version : "";
    enum xr_status rc;

    wsdl->ptr = NULL;
    wsdl->len = 0;
    if (!body || !xr__xml_is(body, XR_NS_XROAD, "getWsdlResponse"))
        return xr_error_set(err, XR_EPROTO, "meta_invalid", "Body",
                            "the answer is not xrd:getWsdlResponse");
    rc = wsdl_codes(body, &got, err);
    if (rc != XR_OK)
        return rc;
    if (strcmp(got.service_code, service_code) != 0 ||
        strcmp(got.service_version, want_version) != 0)
        return xr_error_set(err, XR_EPROTO, "wsdl_mismatch", "serviceCode",
                            "the answer is about another service than "
                            "the one asked for");
    if (xr_response_part_count(resp) < 1)
        return xr_error_set(err, XR_EPROTO, "wsdl_missing", "",
                            "the answer has no WSDL attachment");
    part = xr_response_part(resp, 0);
    xl.max_bytes = lim && lim->max_bytes ? lim->max_bytes : WSDL_BYTES_DEFAULT;
    xl.max_nodes = WSDL_NODES_DEFAULT;
    if (part->data.len > xl.max_bytes)
        return xr_error_set(err, XR_ELIMIT, "too_large", "wsdl",
                            "the WSDL is %zu bytes, limit %zu", part->data.len,
                            xl.max_bytes);
    if (xr__ctype_parse(part->content_type[0] ? part->content_type : "text/xml",
                        &ct, NULL) != XR_OK)
        ct.charset[0] = '\0';
    rc = xr__xml_parse(part->data.ptr, part->data.len,
                       ct.charset[0] ? ct.charset : NULL, &xl, XR__XML_READONLY,
                       &doc, err);
    if (rc != XR_OK) {
        if (err && strcmp(err->reason, "too_large") != 0)
            err->reason = "wsdl_invalid";
        return rc;
    }
    root = xmlDocGetRootElement(doc);
    if (!root || !xr__xml_is(root, NS_WSDL, "definitions")) {
        xmlFreeDoc(doc);
        return xr_error_set(err, XR_EPROTO, "wsdl_invalid", "wsdl",
                            "the attachment is not a wsdl:definitions "
                            "document");
    }
    xmlFreeDoc(doc);
    *wsdl = part->data;
    return XR_OK;
}

/* ---- requests (a security server's side) ------------------------------ */

enum xr_status xr_meta_methods_request_parse(const xmlNode *wrapper,
                                             enum xr_meta_kind kind,
                                             struct xr_error *err)
{
    const char *name = kind == XR_META_KIND_LIST_METHODS
                           ? XR_META_LIST_METHODS
                           : XR_META_ALLOWED_METHODS;

    if (kind != XR_META_KIND_LIST_METHODS &&
        kind != XR_META_KIND_ALLOWED_METHODS)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "not listMethods or allowedMethods");
    if (!wrapper || !xr__xml_is(wrapper, XR_NS_XROAD, name))
        return xr_error_set(err, XR_EPROTO, "meta_invalid", name,
                            "the body is not xrd:%s", name);
    if (xr__xml_first_elem(wrapper))
        return xr_error_set(err, XR_EPROTO, "meta_invalid", name,
                            "xrd:%s must be empty", name);
    return XR_OK;
}

enum xr_status xr_meta_wsdl_request_parse(const xmlNode *wrapper,
                                          struct xr_wsdl_request *out,
                                          struct xr_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!wrapper || !xr__xml_is(wrapper, XR_NS_XROAD, XR_META_GET_WSDL))
        return xr_error_set(err, XR_EPROTO, "meta_invalid", "getWsdl",
                            "the body is not xrd:getWsdl");
    return wsdl_codes(wrapper, out, err);
}

/*
 * Judging a security server's answer: hardened parse, fault
 * classification, header echo and requestHash, body wrapper.
 * See include/xroad/response.h for the order and the reasons.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct xr_response {
    enum xr_verdict verdict;
    struct xr_fault fault;
    struct xr_header hdr;
    bool has_header;
    uint8_t *buf; /* owned copy of the HTTP body */
    size_t len;
    struct xr__soap soap;     /* doc owned; parts borrow from buf */
    xmlNodePtr body;          /* borrowed from soap.doc */
    struct xr_error body_err; /* deferred body problem, code XR_OK if none */
    struct xr_part *parts;    /* owned; attachments (MIME parts 2..n) */
    size_t nparts;
    char soap_type[XR_PART_HEADER_MAX]; /* Content-Type of the SOAP part */
};

void xr_response_free(struct xr_response *resp)
{
    if (!resp)
        return;
    xr__soap_close(&resp->soap);
    free(resp->parts);
    free(resp->buf);
    free(resp);
}

/* Response-side names for the reasons shared with request parsing. */
static enum xr_status rename_reason(enum xr_status rc, struct xr_error *err)
{
    if (!err || rc == XR_OK)
        return rc;
    if (!strcmp(err->reason, "invalid_body") ||
        !strcmp(err->reason, "inconsistent_headers"))
        err->reason = "body_invalid";
    else if (!strcmp(err->reason, "invalid_protocol_version"))
        err->reason = "protocol_version";
    else if (!strcmp(err->reason, "missing_header_field"))
        err->reason = "missing_header";
    return rc;
}

static enum xr_status copy_parts(struct xr_response *resp, struct xr_error *err)
{
    size_t n = resp->soap.nparts > 1 ? resp->soap.nparts - 1 : 0;

    if (n == 0)
        return XR_OK;
    resp->parts = calloc(n, sizeof(*resp->parts));
    if (!resp->parts)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct xr__mime_part *m = &resp->soap.parts[i + 1];
        struct xr_part *p = &resp->parts[i];
        xr__strlcpy(p->content_type, m->content_type, sizeof(p->content_type));
        xr__strlcpy(p->content_id, m->content_id, sizeof(p->content_id));
        p->data.ptr = m->body;
        p->data.len = m->body_len;
    }
    resp->nparts = n;
    return XR_OK;
}

/* Parse everything; body problems are kept in resp->body_err. */
static enum xr_status parse(const char *content_type, const uint8_t *buf,
                            size_t len, const struct xr_check_opts *opts,
                            struct xr_response **out, struct xr_error *err)
{
    struct xr_response *resp = NULL;
    struct xr_limits lim = {0};
    bool is_fault = false;
    enum xr_status rc;

    *out = NULL;
    if (opts)
        lim = opts->limits;
    xr__limits_resolve(&lim);
    if (len > lim.max_bytes) {
        rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                          "response is %zu bytes, limit %zu", len,
                          lim.max_bytes);
        goto out;
    }
    resp = calloc(1, sizeof(*resp));
    if (!resp || !(resp->buf = malloc(len ? len : 1))) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    if (len)
        memcpy(resp->buf, buf, len);
    resp->len = len;
    xr_error_clear(&resp->body_err);
    /* An answer is only read: its tree is built in one arena. */
    rc = xr__soap_open(content_type, resp->buf, len, &lim, XR__XML_ARENA,
                       opts ? opts->dict : NULL, &resp->soap, err);
    if (rc != XR_OK)
        goto out;
    xr__strlcpy(resp->soap_type,
                resp->soap.nparts ? resp->soap.parts[0].content_type
                : content_type    ? content_type
                                  : "text/xml",
                sizeof(resp->soap_type));
    rc = xr__msg_read(resp->soap.doc, false, &resp->hdr, &resp->has_header,
                      &resp->body, &is_fault, &resp->fault, &resp->body_err,
                      err);
    if (rc != XR_OK)
        goto out;
    resp->verdict = is_fault ? XR_VERDICT_FAULT : XR_VERDICT_OK;
    rc = copy_parts(resp, err);
    if (rc != XR_OK)
        goto out;
    *out = resp;
    resp = NULL;
out:
    xr_response_free(resp);
    return rename_reason(rc, err);
}

enum xr_status xr_response_parse(const char *content_type, const uint8_t *buf,
                                 size_t len, const struct xr_check_opts *opts,
                                 struct xr_response **out, struct xr_error *err)
{
    struct xr_response *resp = NULL;
    enum xr_status rc;

    *out = NULL;
    rc = parse(content_type, buf, len, opts, &resp, err);
    if (rc != XR_OK)
        return rc;
    if (resp->verdict == XR_VERDICT_OK && resp->body_err.code != XR_OK) {
        if (err)
            *err = resp->body_err;
        rc = rename_reason(resp->body_err.code, err);
        xr_response_free(resp);
        return rc;
    }
    *out = resp;
    return XR_OK;
}

/*
 * Compare the response's echo fields with the request's packed ones:
 * absent equals absent, present must be equal byte for byte.
 */
static enum xr_status compare(const struct xr_request *req,
                              const struct xr_header *r, struct xr_error *err)
{
    char buf[8 * (XR_ID_PART_MAX + 3) + 2 * (XR_TEXT_MAX + 3)];

    for (int f = 0; f < XR__ECHO_COUNT; f++) {
        const char *want;
        size_t want_len, got_len = xr__echo_pack(r, f, NULL, 0);
        const char *name = xr__echo_name(f);

        xr__request_echo(req, f, &want, &want_len);
        if (got_len > sizeof(buf))
            return xr_error_set(err, XR_ELIMIT, "too_large", name,
                                "response header %s too long", name);
        xr__echo_pack(r, f, buf, sizeof(buf));
        if (got_len == want_len && memcmp(buf, want, want_len) == 0)
            continue;
        if (want[0] == '1' && buf[0] == '0')
            return xr_error_set(err, XR_EPROTO, "missing_header", name,
                                "response lacks header %s that the request "
                                "had",
                                name);
        if (want[0] == '0' && buf[0] == '1')
            return xr_error_set(err, XR_EPROTO, "header_mismatch", name,
                                "response has header %s that the request "
                                "did not have",
                                name);
        return xr_error_set(err, XR_EPROTO, "header_mismatch", name,
                            "response header %s does not echo the request",
                            name);
    }
    return XR_OK;
}

static enum xr_status check_hash(const struct xr_request *req,
                                 const struct xr_header *r, bool allow_missing,
                                 struct xr_error *err)
{
    char want[XR_HASH_B64_MAX + 1];

    if (!r->has_request_hash) {
        if (allow_missing)
            return XR_OK;
        return xr_error_set(err, XR_ESIG, "request_hash_missing", "requestHash",
                            "response has no requestHash; cannot bind it to "
                            "the request");
    }
    if (strcmp(r->request_hash_algo, XR_HASH_ALGO_URI) != 0 &&
        strcmp(r->request_hash_algo, "SHA-512") != 0) {
        char q[101];
        return xr_error_set(err, XR_ESIG, "request_hash_algorithm",
                            "requestHash",
                            "requestHash algorithmId '%s' is not SHA-512",
                            xr__clip(q, sizeof(q), r->request_hash_algo));
    }
    xr_request_hash(req, want, sizeof(want));
    if (strcmp(want, r->request_hash) != 0)
        return xr_error_set(err, XR_ESIG, "request_hash_mismatch",
                            "requestHash",
                            "requestHash does not match SHA-512 of the "
                            "request bytes sent");
    return XR_OK;
}

enum xr_status xr_response_check(const struct xr_request *req,
                                 const char *content_type, const uint8_t *buf,
                                 size_t len, const struct xr_check_opts *opts,
                                 struct xr_response **out, struct xr_error *err)
{
    struct xr_response *resp = NULL;
    enum xr_status rc;

    *out = NULL;
    rc = parse(content_type, buf, len, opts, &resp, err);
    if (rc != XR_OK)
        goto out;
    if (resp->verdict == XR_VERDICT_FAULT)
        goto done;
    rc = compare(req, &resp->hdr, err);
    if (rc != XR_OK)
        goto out;
    rc = check_hash(req, &resp->hdr, opts && opts->allow_missing_request_hash,
                    err);
    if (rc != XR_OK)
        goto out;
    if (resp->body_err.code != XR_OK) {
        if (err)
            *err = resp->body_err;
        rc = rename_reason(resp->body_err.code, err);
        goto out;
    }
    /* The echoed service equals the request's, so its serviceCode is
     * the request's: the body must start with it. */
    if (strncmp(xr__cs(resp->body->name), resp->hdr.service.service_code,
                strlen(resp->hdr.service.service_code)) != 0) {
        char q[XR_CLIP];
        rc = xr_error_set(
            err, XR_EPROTO, "body_invalid", "Body",
            "response body element does not start with "
            "serviceCode %s",
            xr__clip(q, sizeof(q), resp->hdr.service.service_code));
        goto out;
    }
done:
    *out = resp;
    resp = NULL;
    rc = XR_OK;
out:
    xr_response_free(resp);
    return rc;
}

enum xr_verdict xr_response_verdict(const struct xr_response *resp)
{
    return resp->verdict;
}

const struct xr_fault *xr_response_fault(const struct xr_response *resp)
{
    return resp->verdict == XR_VERDICT_FAULT ? &resp->fault : NULL;
}

const struct xr_header *xr_response_header(const struct xr_response *resp)
{
    return resp->has_header ? &resp->hdr : NULL;
}

xmlNodePtr xr_response_body(const struct xr_response *resp)
{
    return resp->body;
}

struct xr_bytes xr_response_soap(const struct xr_response *resp)
{
    struct xr_bytes b = {resp->soap.soap, resp->soap.soap_len};
    return b;
}

const char *xr_response_soap_type(const struct xr_response *resp)
{
    return resp->soap_type;
}

enum xr_status xr_response_body_xml(const struct xr_response *resp,
                                    uint8_t **out, size_t *len,
                                    struct xr_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr copy;
    xmlChar *mem = NULL;
    int n = 0;
    enum xr_status rc;

    *out = NULL;
    *len = 0;
    if (!resp->body)
        return xr_error_set(err, XR_EINVAL, "missing_body", "",
                            "the answer has no Body wrapper");
    doc = xmlNewDoc((const xmlChar *)"1.0");
    copy = doc ? xmlDocCopyNode(resp->body, doc, 1) : NULL;
    if (!copy) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    xmlDocSetRootElement(doc, copy);
    /* Prefixes declared on Envelope or Body are declared on the copy. */
    if (xmlReconciliateNs(doc, copy) < 0) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "cannot declare the wrapper's namespaces");
        goto out;
    }
    xmlDocDumpMemoryEnc(doc, &mem, &n, "UTF-8");
    if (!mem || n <= 0) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    /* A copy, so the caller frees with free() whatever libxml2's
     * allocator is. */
    *out = malloc((size_t)n);
    if (!*out) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    memcpy(*out, mem, (size_t)n);
    *len = (size_t)n;
    rc = XR_OK;
out:
    xmlFree(mem);
    xmlFreeDoc(doc);
    return rc;
}

size_t xr_response_part_count(const struct xr_response *resp)
{
    return resp->nparts;
}

const struct xr_part *xr_response_part(const struct xr_response *resp, size_t i)
{
    return i < resp->nparts ? &resp->parts[i] : NULL;
}

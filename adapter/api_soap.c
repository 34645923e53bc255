/*
 * The generic SOAP face of the query pipeline (api_internal.h):
 *
 *   POST /v1/xroad/soap/INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE[/VERSION]
 *
 * with the Body wrapper as XML (or a multipart/related body whose root
 * is the wrapper and whose other parts are attachments, SwA or MTOM),
 * the end user and purpose in X-Road-UserId and X-Road-Issue, and an
 * optional audit subject in X-Vayla-Subject. The answer is the wrapper
 * (with its attachments) as XML or as JSON, by Accept; failures are the
 * same error objects as elsewhere, in the format asked for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "api_internal.h"
#include "services/soap.h"

#define ACCEPT_ITEMS_MAX 32u /* media ranges read from Accept */

/* ---- content negotiation -------------------------------------------------
 */

/* The q of the most specific range in Accept matching `media` ("a/b"),
 * -1 when none does (RFC 9110 12.5.1). */
static double accept_q(const char *accept, const char *media)
{
    const char *slash = strchr(media, '/');
    size_t tlen = (size_t)(slash - media);
    const char *p = accept;
    double q_best = -1;
    int spec_best = -1;

    for (unsigned n = 0; *p && n < ACCEPT_ITEMS_MAX; n++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[128], *semi, *m;
        double q = 1;
        int spec = -1;

        if (len < sizeof(item)) {
            memcpy(item, p, len);
            item[len] = '\0';
            semi = strchr(item, ';');
            if (semi) {
                const char *qp = strstr(semi, "q=");
                *semi = '\0';
                if (qp)
                    q = strtod(qp + 2, NULL);
            }
            m = item;
            while (*m == ' ' || *m == '\t')
                m++;
            for (char *t = m + strlen(m);
                 t > m && (t[-1] == ' ' || t[-1] == '\t');)
                *--t = '\0';
            if (!strcasecmp(m, media))
                spec = 2;
            else if (!strncasecmp(m, media, tlen + 1) &&
                     !strcmp(m + tlen + 1, "*"))
                spec = 1;
            else if (!strcmp(m, "*/*"))
                spec = 0;
            if (spec > spec_best) {
                spec_best = spec;
                q_best = q;
            }
        }
        p = end ? end + 1 : p + len;
    }
    return q_best;
}

/*
 * JSON or XML: the one with the higher q (JSON on a tie and without
 * Accept). False when the caller accepts neither (406 sent).
 */
static bool negotiate(struct adp_req *r)
{
    const char *accept =
        evhttp_find_header(evhttp_request_get_input_headers(r->http), "Accept");
    double qj, qx;

    if (!accept || !*accept)
        return true;
    qj = accept_q(accept, "application/json");
    qx = accept_q(accept, "application/xml");
    if (accept_q(accept, "text/xml") > qx)
        qx = accept_q(accept, "text/xml");
    if (accept_q(accept, "multipart/related") > qx)
        qx = accept_q(accept, "multipart/related");
    if (qj <= 0 && qx <= 0) {
        adp__api_reply_error(r, 406, "not_acceptable",
                             "this route answers application/json, or "
                             "application/xml (multipart/related with "
                             "attachments)",
                             AO_REJECTED);
        return false;
    }
    r->xml = qx > qj;
    return true;
}

/* ---- the answer ----------------------------------------------------------
 */

static json_t *base64_json(const struct xr_bytes *b)
{
    size_t n = 4 * ((b->len + 2) / 3) + 1;
    char *text = malloc(n);
    json_t *j;

    if (!text)
        return NULL;
    EVP_EncodeBlock((unsigned char *)text, b->ptr, (int)b->len);
    j = json_string(text);
    free(text);
    return j;
}

static json_t *answer_json(const struct adp_req *r, const struct adp_verdict *v,
                           const struct soap_answer *a)
{
    json_t *body = json_object(), *atts = json_array();
    char service[XR_ID_TEXT_MAX];

    (void)xr_id_format(r->service, false, service, sizeof(service));
    if (!body || !atts) {
        json_decref(body);
        json_decref(atts);
        return NULL;
    }
    json_object_set_new(body, "message_id", json_string(v->message_id));
    json_object_set_new(body, "service", json_string(service));
    json_object_set_new(body, "body",
                        json_stringn((const char *)a->xml, a->xml_len));
    for (size_t i = 0; i < a->nparts; i++) {
        const struct xr_part *p = &a->parts[i];
        json_t *o = json_object();
        json_object_set_new(o, "content_type", json_string(p->content_type));
        if (p->content_id[0])
            json_object_set_new(o, "content_id", json_string(p->content_id));
        json_object_set_new(o, "size", json_integer((json_int_t)p->data.len));
        json_object_set_new(o, "data", base64_json(&p->data));
        json_array_append_new(atts, o);
    }
    json_object_set_new(body, "attachments", atts);
    return body;
}

/* The wrapper as XML; with attachments, a multipart/related body whose
 * root is the wrapper. False when out of memory. */
static bool answer_xml(struct adp_req *r, const struct soap_answer *a)
{
    struct xr_part *parts = NULL;
    uint8_t *mp = NULL;
    size_t mp_len = 0;
    struct xr_error err;
    bool ok = false;

    r->raw = evbuffer_new();
    r->raw_type = malloc(XR_MIME_CTYPE_MAX);
    if (!r->raw || !r->raw_type)
        return false;
    if (a->nparts == 0) {
        snprintf(r->raw_type, XR_MIME_CTYPE_MAX,
                 "application/xml; charset=UTF-8");
        return evbuffer_add(r->raw, a->xml, a->xml_len) == 0;
    }
    parts = calloc(a->nparts + 1, sizeof(*parts));
    if (!parts)
        goto out;
    snprintf(parts[0].content_type, sizeof(parts[0].content_type), "%s",
             a->mtom ? "application/xop+xml; charset=UTF-8; type=\"text/xml\""
                     : "text/xml; charset=UTF-8");
    parts[0].data.ptr = a->xml;
    parts[0].data.len = a->xml_len;
    memcpy(parts + 1, a->parts, a->nparts * sizeof(*parts));
    if (xr_mime_write(parts, a->nparts + 1, &mp, &mp_len, r->raw_type, &err) !=
        XR_OK)
        goto out;
    ok = evbuffer_add(r->raw, mp, mp_len) == 0;
out:
    free(parts);
    free(mp);
    return ok;
}

static void on_soap_done(struct adp_query *q, const struct adp_verdict *v,
                         void *ctx)
{
    struct adp_req *r = ctx;
    const struct soap_answer *a = soap_call_answer(r->soap);
    const char *code = NULL;

    (void)q;
    r->verdict = v;
    r->status = adp_api_verdict_status(v, &code);
    r->outcome = adp__api_verdict_outcome(v, AO_OK);
    if (v->message_id)
        evhttp_add_header(evhttp_request_get_output_headers(r->http),
                          "X-Road-Id", v->message_id);
    if (v->cls == ADP_VERDICT_DATA && a) {
        if (r->xml ? !answer_xml(r, a) : !(r->body = answer_json(r, v, a))) {
            adp__api_reply_error(r, 503, "out_of_memory", "out of memory",
                                 AO_REJECTED);
            return;
        }
    } else {
        r->body = adp__api_failed_body(v, code);
    }
    adp__api_verdict_note(r, v);
    adp__api_reply_send(r); /* frees r and q */
}

/* ---- the request ---------------------------------------------------------
 */

/* The service id of the path (percent-decoded); false when answered. */
static bool service_of(struct adp_req *r, const char *id)
{
    char *text = evhttp_uridecode(id, 0, NULL);
    struct xr_error err;
    bool ok;

    if (!r->service)
        r->service = malloc(sizeof(*r->service));
    if (!r->service) {
        free(text);
        adp__api_reply_error(r, 503, "out_of_memory", "out of memory",
                             AO_REJECTED);
        return false;
    }
    ok = text && xr_id_parse_service(text, r->service, &err) == XR_OK &&
         r->service->subsystem_code[0];
    free(text);
    if (!ok) {
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 400, "invalid_service_id",
                        "the path must name a service as "
                        "/v1/xroad/soap/INSTANCE/CLASS/CODE/SUBSYSTEM/"
                        "SERVICE[/VERSION]");
        return false;
    }
    if (!adp_caller_allows_service(r->caller, r->service)) {
        adp__api_reject(r, ADP_REJECT_FORBIDDEN, 403, "service_not_allowed",
                        "this caller may not call that service (its "
                        "services list)");
        return false;
    }
    return true;
}

/* End user, purpose and subject from the headers; false when answered. */
static bool texts_of(struct adp_req *r)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(r->http);
    const char *subject = evhttp_find_header(h, "X-Vayla-Subject");
    struct xr_error err;
    char msg[160];

    if (adp_query_text(ADP_TEXT_END_USER,
                       evhttp_find_header(h, "X-Road-UserId"), XR_TEXT_MAX,
                       &r->end_user, &err) != XR_OK ||
        adp_query_text(ADP_TEXT_PURPOSE, evhttp_find_header(h, "X-Road-Issue"),
                       API_PURPOSE_MAX, &r->purpose, &err) != XR_OK ||
        (subject && adp_query_text(ADP_TEXT_SUBJECT, subject, SOAP_SUBJECT_MAX,
                                   &r->subject, &err) != XR_OK)) {
        if (err.code != XR_ENOMEM) {
            const char *hdr = !strcmp(err.field, "end_user") ? "X-Road-UserId"
                              : !strcmp(err.field, "purpose")
                                  ? "X-Road-Issue"
                                  : "X-Vayla-Subject";
            snprintf(msg, sizeof(msg), "header %s: %.100s", hdr, err.msg);
            snprintf(err.msg, sizeof(err.msg), "%s", msg);
        }
        adp__api_reply_input_error(r, &err);
        return false;
    }
    return true;
}

/* The payload and attachments of the body; false when answered. */
static bool payload_of(struct adp_req *r, struct soap_call_params *sp)
{
    const struct adp_config *cfg = r->gen->cfg;
    struct evbuffer *buf = evhttp_request_get_input_buffer(r->http);
    const char *ctype = evhttp_find_header(
        evhttp_request_get_input_headers(r->http), "Content-Type");
    size_t len = evbuffer_get_length(buf);
    const uint8_t *bytes;
    struct xr_limits lim = {0};
    struct xr_error err;
    char media[64];

    if (len > cfg->api.max_soap_body_bytes) {
        adp__api_reject(r, ADP_REJECT_TOO_LARGE, 413, "too_large",
                        "the body is over [api] max_soap_body_bytes");
        return false;
    }
    if (len == 0) {
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 400, "missing_payload",
                        "the body is empty; send the service's request "
                        "element");
        return false;
    }
    /* The body stays in the request's input buffer, contiguous, until
     * the reply: the call and the parts borrow it. */
    bytes = evbuffer_pullup(buf, -1);
    if (!bytes) {
        adp__api_reply_error(r, 503, "out_of_memory", "out of memory",
                             AO_REJECTED);
        return false;
    }
    if (adp__api_is_media(ctype, "application/xml") ||
        adp__api_is_media(ctype, "text/xml")) {
        sp->payload = bytes;
        sp->payload_len = len;
        return true;
    }
    if (!adp__api_is_media(ctype, "multipart/related")) {
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 415,
                        "unsupported_media_type",
                        "send application/xml, or multipart/related with the "
                        "request element first and attachments after it");
        return false;
    }
    lim.max_bytes = cfg->api.max_soap_body_bytes;
    if (xr_mime_parse(ctype, bytes, len, &lim, &r->mime, &err) != XR_OK) {
        if (err.code == XR_ENOMEM)
            adp__api_reply_error(r, 503, "out_of_memory", "out of memory",
                                 AO_REJECTED);
        else
            adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 400, err.reason,
                            err.msg);
        return false;
    }
    if (!xr_mime_media(xr_mime_part(r->mime, 0)->content_type, media,
                       sizeof(media)) ||
        (strcmp(media, "application/xml") && strcmp(media, "text/xml") &&
         strcmp(media, "application/xop+xml"))) {
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 415,
                        "unsupported_media_type",
                        "the first part must be the request element "
                        "(application/xml, text/xml or application/xop+xml)");
        return false;
    }
    sp->payload = xr_mime_part(r->mime, 0)->data.ptr;
    sp->payload_len = xr_mime_part(r->mime, 0)->data.len;
    sp->nparts = xr_mime_count(r->mime) - 1;
    sp->mtom = !strcmp(media, "application/xop+xml");
    return true;
}

/* The attachments of r->mime as one array (soap_call_new copies it). */
static struct xr_part *attachments_of(const struct adp_req *r, size_t n)
{
    struct xr_part *parts = calloc(n ? n : 1, sizeof(*parts));

    for (size_t i = 0; parts && i < n; i++)
        parts[i] = *xr_mime_part(r->mime, i + 1);
    return parts;
}

void adp__api_soap(struct adp_req *r, const char *id)
{
    struct soap_call_params sp;
    struct adp_query_params qp;
    struct xr_part *parts = NULL;
    struct xr_error err;
    enum xr_status rc;

    memset(&sp, 0, sizeof(sp));
    if (!negotiate(r) || !adp__api_admit(r, ADP_OP_XROAD_SOAP) ||
        !service_of(r, id) || !texts_of(r) || !payload_of(r, &sp))
        return;
    sp.subject = r->subject;
    if (sp.nparts && !(parts = attachments_of(r, sp.nparts))) {
        adp__api_reply_error(r, 503, "out_of_memory", "out of memory",
                             AO_REJECTED);
        return;
    }
    sp.parts = parts;
    rc = soap_call_new(&sp, &r->soap, &err);
    free(parts);
    if (rc != XR_OK) {
        adp__api_reply_input_error(r, &err);
        return;
    }
    adp__api_query_params(r, on_soap_done, &qp);
    qp.svc = &soap_service;
    qp.call = r->soap;
    qp.service = r->service;
    if (adp_query_new(&qp, &r->query, &err) != XR_OK) {
        adp__api_reply_input_error(r, &err);
        return;
    }
    adp__api_park(r, false);   /* r->mime borrows the body */
    adp_query_start(r->query); /* may answer (and free r) at once */
}

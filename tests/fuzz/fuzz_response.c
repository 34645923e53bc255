/*
 * libFuzzer target for the response judge (xr_response_check and
 * xr_response_parse) against one fixed request.
 *
 * Input layout: byte 0 selects the Content-Type (low 3 bits) and options
 * (bit 3: allow a missing requestHash, bit 4: small limits); the rest is
 * the HTTP body. The fixed request is built once (fixed id, so its bytes
 * are deterministic); the seed corpus/fuzz_response/ok-with-hash carries
 * its real requestHash so that the fuzzer starts past the hash check.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xroad/xroad.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ctypes[8] = {
    NULL,
    "text/xml; charset=UTF-8",
    "text/xml; charset=ISO-8859-1",
    "multipart/related; boundary=MIMEb",
    "multipart/related; type=\"application/xop+xml\"; "
    "boundary=\"MIMEb\"; charset=UTF-8",
    "application/xop+xml; type=\"text/xml\"",
    "application/soap+xml",
    "multipart/related",
};

static struct xr_request *req;

static void init_once(void)
{
    static bool done;
    struct xr_header h;
    struct xr_error err;

    if (done)
        return;
    done = true;
    if (xr_global_init(&err) != XR_OK)
        abort();
    xr_header_init(&h);
    if (xr_id_parse_client("SUBSYSTEM:FI-TEST/MUN/0000000-0/example-adapter",
                           &h.client, &err) != XR_OK ||
        xr_id_parse_service("SERVICE:FI-TEST/GOV/0245437-2/VTJkysely/"
                            "HenkilonTunnusKysely/v1",
                            &h.service, &err) != XR_OK)
        abort();
    memcpy(h.id, "fuzz-1", sizeof("fuzz-1"));
    h.has_user_id = true;
    memcpy(h.user_id, "u1", sizeof("u1"));
    h.has_issue = true;
    h.issue[0] = '\0';
    if (xr_request_new(&h, NULL, 0, &req, &err) != XR_OK)
        abort();
}

static bool terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

/*
 * Touch everything a caller may read; abort on a broken invariant. No
 * returned byte range may be longer than the input it was cut from.
 */
static void inspect(const struct xr_response *resp, size_t input_len)
{
    const struct xr_fault *f = xr_response_fault(resp);
    const struct xr_header *h = xr_response_header(resp);
    struct xr_bytes soap = xr_response_soap(resp);
    size_t n = xr_response_part_count(resp);
    volatile uint8_t sink = 0;

    if (xr_response_verdict(resp) == XR_VERDICT_FAULT) {
        if (!f || xr_response_body(resp) != NULL)
            abort();
        if (!terminated(f->code, sizeof(f->code)) ||
            !terminated(f->string, sizeof(f->string)) ||
            !terminated(f->actor, sizeof(f->actor)) ||
            !terminated(f->detail, sizeof(f->detail)))
            abort();
        if (xr_fault_classify(f->code, NULL) != f->origin)
            abort();
        sink ^= (uint8_t)strlen(xr_fault_origin_name(f->origin));
    } else {
        xmlNodePtr body = xr_response_body(resp);
        if (f || !body || !h)
            abort();
        sink ^= (uint8_t)strlen((const char *)body->name);
    }
    if (h) {
        if (!terminated(h->id, sizeof(h->id)) ||
            !terminated(h->request_hash, sizeof(h->request_hash)) ||
            !terminated(h->request_hash_algo, sizeof(h->request_hash_algo)))
            abort();
        sink ^= (uint8_t)strlen(h->user_id);
    }
    if (soap.len > input_len || n > input_len)
        abort();
    for (size_t i = 0; i < soap.len; i++)
        sink ^= soap.ptr[i];
    for (size_t i = 0; i < n; i++) {
        const struct xr_part *p = xr_response_part(resp, i);
        if (!p || !terminated(p->content_type, sizeof(p->content_type)) ||
            !terminated(p->content_id, sizeof(p->content_id)) ||
            p->data.len > input_len)
            abort();
        for (size_t k = 0; k < p->data.len; k++)
            sink ^= p->data.ptr[k];
    }
    if (xr_response_part(resp, n) != NULL)
        abort();
    (void)sink;
}

static void check_error(enum xr_status rc, const struct xr_error *err,
                        const struct xr_response *resp)
{
    if (resp != NULL || err->code != rc || err->reason == NULL ||
        !terminated(err->msg, sizeof(err->msg)) ||
        !terminated(err->field, sizeof(err->field)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xr_check_opts opts;
    struct xr_response *resp = NULL;
    struct xr_error err;
    const char *ct;
    enum xr_status rc, rc2;

    init_once();
    if (size < 1)
        return 0;
    memset(&opts, 0, sizeof(opts));
    ct = ctypes[data[0] & 7u];
    opts.allow_missing_request_hash = (data[0] & 8u) != 0;
    if (data[0] & 16u) {
        opts.limits.max_bytes = 4096;
        opts.limits.max_depth = 12;
        opts.limits.max_nodes = 200;
        opts.limits.max_parts = 3;
    }
    data++;
    size--;

    rc = xr_response_check(req, ct, data, size, &opts, &resp, &err);
    if (rc == XR_OK)
        inspect(resp, size);
    else
        check_error(rc, &err, resp);
    xr_response_free(resp);
    resp = NULL;

    /* parse is check without the comparisons: it cannot be stricter. */
    rc2 = xr_response_parse(ct, data, size, &opts, &resp, &err);
    if (rc2 == XR_OK)
        inspect(resp, size);
    else
        check_error(rc2, &err, resp);
    if (rc == XR_OK && rc2 != XR_OK)
        abort();
    xr_response_free(resp);
    return 0;
}

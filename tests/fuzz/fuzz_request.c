/*
 * libFuzzer target for xr_request_parse: byte 0 selects the Content-Type,
 * the rest is the HTTP body. A parsed request must expose consistent
 * bytes, header and body, and its kept bytes must parse again to the same
 * header. The same bytes as a body of the caller's own writer
 * (xr_request_new_own(), serviceCode "Envelope" so that the corpus's
 * envelopes pass its name check) are carried verbatim or refused cleanly.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xroad/xroad.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ctypes[4] = {
    NULL,
    "text/xml; charset=UTF-8",
    "multipart/related; boundary=MIMEb",
    "text/xml; charset=ISO-8859-1",
};

static struct xr_header own_hdr;

static void init_once(void)
{
    static bool done;
    struct xr_error err;

    if (done)
        return;
    done = true;
    if (xr_global_init(&err) != XR_OK)
        abort();
    xr_header_init(&own_hdr);
    if (xr_id_parse_client("SUBSYSTEM:FI-TEST/GOV/0245437-2/fuzz",
                           &own_hdr.client, &err) != XR_OK ||
        xr_id_parse_service("SERVICE:FI-TEST/GOV/0245437-2/fuzz/Envelope",
                            &own_hdr.service, &err) != XR_OK)
        abort();
    memcpy(own_hdr.id, "fuzz-own", sizeof("fuzz-own"));
}

/* xr_request_new_own(): the body verbatim, or a clean refusal. */
static void own_body(const uint8_t *data, size_t size)
{
    struct xr_request *own = NULL;
    struct xr_error err;

    if (xr_request_new_own(&own_hdr, data, size, &own, &err) != XR_OK) {
        if (own != NULL || err.reason == NULL)
            abort();
        return;
    }
    {
        /* The body ends the Body element, byte for byte. */
        static const char tail[] = "</SOAP-ENV:Body></SOAP-ENV:Envelope>\n";
        struct xr_bytes b = xr_request_bytes(own);
        size_t t = sizeof(tail) - 1;

        if (b.len < size + t ||
            memcmp(b.ptr + b.len - t - size, data, size) != 0 ||
            memcmp(b.ptr + b.len - t, tail, t) != 0)
            abort();
    }
    xr_request_free(own);
}

static bool same_header(const struct xr_header *a, const struct xr_header *b)
{
    return xr_id_equal(&a->client, &b->client) &&
           xr_id_equal(&a->service, &b->service) && strcmp(a->id, b->id) == 0 &&
           a->has_user_id == b->has_user_id &&
           strcmp(a->user_id, b->user_id) == 0 &&
           a->has_issue == b->has_issue && strcmp(a->issue, b->issue) == 0 &&
           a->has_represented_party == b->has_represented_party &&
           strcmp(a->party_code, b->party_code) == 0 &&
           strcmp(a->protocol_version, b->protocol_version) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xr_request *req = NULL, *again = NULL, *built = NULL;
    struct xr_error err;
    struct xr_limits lim;
    const char *ct;
    unsigned sel;
    enum xr_status rc;

    init_once();
    if (size < 1)
        return 0;
    sel = data[0] & 3u;
    ct = ctypes[sel];
    memset(&lim, 0, sizeof(lim));
    if (data[0] & 4u) {
        lim.max_bytes = 4096;
        lim.max_depth = 10;
        lim.max_nodes = 100;
        lim.max_parts = 2;
    }
    data++;
    size--;
    own_body(data, size);
    rc = xr_request_parse(ct, data, size, &lim, &req, &err);
    if (rc != XR_OK) {
        if (req != NULL || err.code != rc || err.reason == NULL ||
            memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
            abort();
        return 0;
    }
    {
        struct xr_bytes b = xr_request_bytes(req);
        const struct xr_header *h = xr_request_header(req);
        char hash[XR_HASH_B64_MAX + 1];
        xmlNodePtr body = xr_request_body(req);

        if (!h || !body || b.len == 0 || b.len > size)
            abort();
        xr_request_hash(req, hash, sizeof(hash));
        if (strlen(hash) != 88)
            abort();
        /* The kept bytes are the SOAP message itself. */
        if (sel <= 1) {
            if (b.len != size || memcmp(b.ptr, data, size) != 0)
                abort();
            if (xr_request_parse(ct, b.ptr, b.len, &lim, &again, &err) !=
                    XR_OK ||
                !same_header(h, xr_request_header(again)))
                abort();
        }
        /* Building from a parsed header either works or is refused
         * cleanly (parsed identifiers need not be strict). */
        if (xr_request_new(h, NULL, 0, &built, &err) != XR_OK &&
            (built != NULL || err.reason == NULL))
            abort();
    }
    xr_request_free(built);
    xr_request_free(again);
    xr_request_free(req);
    return 0;
}

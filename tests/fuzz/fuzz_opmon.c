/*
 * libFuzzer target for operational-monitoring answers (meta.h). The first
 * byte picks the path:
 *   0  the JSON records alone (xr_opmon_records_parse), cap of 8 records;
 *   1  the rest gzip-compressed by the harness, as the attachment of a
 *      judged answer (xr_opmon_parse: gunzip, then JSON);
 *   2  the rest as the attachment bytes themselves (corrupt gzip).
 * Properties: a failure has a reason and no result; a success holds at
 * most the cap of records, every integer >= 0 and every string clean
 * UTF-8 within the protocol's lengths.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlstring.h>
#include <xroad/xroad.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BOUNDARY "fz"
#define MAX_OUT  (1u << 20)
#define CAP      8u

static struct xr_request *req;
static char soap[4096];
static size_t soap_len;

static void init_once(void)
{
    struct xr_opmon_query q = {0, 1, NULL, NULL, 0};
    struct xr_header h;
    struct xr_error err;
    char *body = NULL, hash[XR_HASH_B64_MAX + 1];
    size_t len;
    int n;

    if (req)
        return;
    if (xr_global_init(&err) != XR_OK)
        abort();
    xr_header_init(&h);
    if (xr_id_parse_client("FI-TEST/MUN/0101263-6/vayla-demo", &h.client,
                           &err) != XR_OK ||
        xr_id_parse_service("FI-TEST/MUN/0101263-6/"
                            "getSecurityServerOperationalData",
                            &h.service, &err) != XR_OK ||
        xr_opmon_body(&q, &body, &len, &err) != XR_OK ||
        xr_request_new(&h, (const uint8_t *)body, len, &req, &err) != XR_OK)
        abort();
    free(body);
    /* The SOAP part of the answer: the request's header echoed with its
     * hash, and a body that names one record in the attachment "d". */
    xr_request_hash(req, hash, sizeof(hash));
    n = snprintf(
        soap, sizeof(soap),
        "--" BOUNDARY "\r\nContent-Type: text/xml\r\n\r\n"
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" XR_NS_SOAP11 "\" "
        "xmlns:xrd=\"" XR_NS_XROAD "\" xmlns:id=\"" XR_NS_ID "\">"
        "<SOAP-ENV:Header><xrd:client id:objectType=\"SUBSYSTEM\">"
        "<id:xRoadInstance>FI-TEST</id:xRoadInstance><id:memberClass>MUN"
        "</id:memberClass><id:memberCode>0101263-6</id:memberCode>"
        "<id:subsystemCode>vayla-demo</id:subsystemCode></xrd:client>"
        "<xrd:service id:objectType=\"SERVICE\"><id:xRoadInstance>FI-TEST"
        "</id:xRoadInstance><id:memberClass>MUN</id:memberClass>"
        "<id:memberCode>0101263-6</id:memberCode><id:serviceCode>"
        "getSecurityServerOperationalData</id:serviceCode></xrd:service>"
        "<xrd:id>%s</xrd:id><xrd:requestHash algorithmId=\"" XR_HASH_ALGO_URI
        "\">%s</xrd:requestHash><xrd:protocolVersion>4.0"
        "</xrd:protocolVersion></SOAP-ENV:Header><SOAP-ENV:Body>"
        "<om:getSecurityServerOperationalDataResponse xmlns:om=\"" XR_NS_OPMON
        "\"><om:recordsCount>1</om:recordsCount><om:records>cid:d"
        "</om:records></om:getSecurityServerOperationalDataResponse>"
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>\r\n--" BOUNDARY "\r\n"
        "Content-Type: application/gzip\r\nContent-ID: <d>\r\n\r\n",
        xr_request_id(req), hash);
    if (n < 0 || (size_t)n >= sizeof(soap))
        abort();
    soap_len = (size_t)n;
}

static void check(const struct xr_opmon_result *r)
{
    size_t n = xr_opmon_result_count(r);

    if (n > CAP)
        abort();
    for (size_t i = 0; i < n; i++) {
        const struct xr_opmon_record *rec = xr_opmon_result_get(r, i);
        for (int f = 0; f < XR_OPMON_NUM_COUNT; f++)
            if ((rec->has_num & (1u << f)) && rec->num[f] < 0)
                abort();
        for (int f = 0; f < XR_OPMON_STR_COUNT; f++) {
            const char *s = rec->str[f];
            if (!s)
                continue;
            if (!xmlCheckUTF8((const xmlChar *)s) || strlen(s) > 4 * 2048)
                abort();
            for (const char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 && f != XR_OPMON_FAULT_STRING)
                    abort();
        }
    }
}

static void outcome(enum xr_status st, const struct xr_error *err,
                    struct xr_opmon_result *r)
{
    if (st != XR_OK) {
        if (!err->reason || !err->msg[0] || r)
            abort();
        return;
    }
    check(r);
    xr_opmon_result_free(r);
}

/* The judged answer whose attachment is att[0..len). */
static void answer(const uint8_t *att, size_t len)
{
    static const char tail[] = "\r\n--" BOUNDARY "--\r\n";
    struct xr_response *resp = NULL;
    struct xr_opmon_result *r = NULL;
    struct xr_meta_limits lim = {MAX_OUT, CAP};
    struct xr_error err;
    uint8_t *msg = malloc(soap_len + len + sizeof(tail));
    size_t n = 0;

    if (!msg)
        return;
    memcpy(msg, soap, soap_len);
    n = soap_len;
    if (len)
        memcpy(msg + n, att, len);
    n += len;
    memcpy(msg + n, tail, sizeof(tail) - 1);
    n += sizeof(tail) - 1;
    if (xr_response_check(req,
                          "multipart/related; type=\"text/xml\"; "
                          "boundary=" BOUNDARY,
                          msg, n, NULL, &resp, &err) == XR_OK) {
        enum xr_status st = xr_opmon_parse(resp, &lim, &r, &err);
        outcome(st, &err, r);
        xr_response_free(resp);
    }
    free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xr_opmon_result *r = NULL;
    struct xr_meta_limits lim = {MAX_OUT, CAP};
    struct xr_error err;

    init_once();
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: {
        enum xr_status st =
            xr_opmon_records_parse(data + 1, size - 1, &lim, &r, &err);
        outcome(st, &err, r);
        break;
    }
    case 1: {
        uLongf cap = compressBound((uLong)(size - 1)) + 32;
        uint8_t *gz = malloc(cap);
        z_stream z;
        memset(&z, 0, sizeof(z));
        if (!gz || deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8,
                                Z_DEFAULT_STRATEGY) != Z_OK) {
            free(gz);
            break;
        }
        z.next_in = (Bytef *)(uintptr_t)(data + 1);
        z.avail_in = (uInt)(size - 1);
        z.next_out = gz;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) == Z_STREAM_END)
            answer(gz, z.total_out);
        deflateEnd(&z);
        free(gz);
        break;
    }
    default:
        answer(data + 1, size - 1);
        break;
    }
    return 0;
}

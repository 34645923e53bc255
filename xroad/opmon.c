/*
 * Operational monitoring (PR-OPMON, meta.h): the
 * getSecurityServerOperationalData request body, its answer (a SOAP part
 * with recordsCount and a swaRef to a gzip'd JSON attachment) and the
 * JSON records, checked field by field against the protocol's JSON
 * schema; and the request reader a security server needs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "internal.h"
#include "xroad/meta.h"

#define OPMON_ITEMS_DEFAULT 100000u
#define OPMON_BYTES_DEFAULT (64u * 1024u * 1024u)
#define JSON_DEPTH          16u
#define RECORD_KEYS_MAX     256u /* members of one record object */
#define TEXT_CHARS_MAX      255u
#define FAULT_STRING_MAX    2048u
#define SCRATCH_SIZE        (FAULT_STRING_MAX * 4u + 16u)

/* ---- the fields -------------------------------------------------------- */

static const char *const num_names[XR_OPMON_NUM_COUNT] = {
    [XR_OPMON_MONITORING_DATA_TS] = "monitoringDataTs",
    [XR_OPMON_REQUEST_IN_TS] = "requestInTs",
    [XR_OPMON_REQUEST_OUT_TS] = "requestOutTs",
    [XR_OPMON_RESPONSE_IN_TS] = "responseInTs",
    [XR_OPMON_RESPONSE_OUT_TS] = "responseOutTs",
    [XR_OPMON_REQUEST_SIZE] = "requestSize",
    [XR_OPMON_REQUEST_MIME_SIZE] = "requestMimeSize",
    [XR_OPMON_REQUEST_ATTACHMENT_COUNT] = "requestAttachmentCount",
    [XR_OPMON_RESPONSE_SIZE] = "responseSize",
    [XR_OPMON_RESPONSE_MIME_SIZE] = "responseMimeSize",
    [XR_OPMON_RESPONSE_ATTACHMENT_COUNT] = "responseAttachmentCount",
    [XR_OPMON_STATUS_CODE] = "statusCode",
};

static const char *const str_names[XR_OPMON_STR_COUNT] = {
    [XR_OPMON_SECURITY_SERVER_INTERNAL_IP] = "securityServerInternalIp",
    [XR_OPMON_SECURITY_SERVER_TYPE] = "securityServerType",
    [XR_OPMON_CLIENT_XROAD_INSTANCE] = "clientXRoadInstance",
    [XR_OPMON_CLIENT_MEMBER_CLASS] = "clientMemberClass",
    [XR_OPMON_CLIENT_MEMBER_CODE] = "clientMemberCode",
    [XR_OPMON_CLIENT_SUBSYSTEM_CODE] = "clientSubsystemCode",
    [XR_OPMON_SERVICE_XROAD_INSTANCE] = "serviceXRoadInstance",
    [XR_OPMON_SERVICE_MEMBER_CLASS] = "serviceMemberClass",
    [XR_OPMON_SERVICE_MEMBER_CODE] = "serviceMemberCode",
    [XR_OPMON_SERVICE_SUBSYSTEM_CODE] = "serviceSubsystemCode",
    [XR_OPMON_SERVICE_CODE] = "serviceCode",
    [XR_OPMON_SERVICE_VERSION] = "serviceVersion",
    [XR_OPMON_REST_METHOD] = "restMethod",
    [XR_OPMON_REST_PATH] = "restPath",
    [XR_OPMON_REPRESENTED_PARTY_CLASS] = "representedPartyClass",
    [XR_OPMON_REPRESENTED_PARTY_CODE] = "representedPartyCode",
    [XR_OPMON_MESSAGE_ID] = "messageId",
    [XR_OPMON_MESSAGE_USER_ID] = "messageUserId",
    [XR_OPMON_MESSAGE_ISSUE] = "messageIssue",
    [XR_OPMON_MESSAGE_PROTOCOL_VERSION] = "messageProtocolVersion",
    [XR_OPMON_CLIENT_SECURITY_SERVER_ADDRESS] = "clientSecurityServerAddress",
    [XR_OPMON_SERVICE_SECURITY_SERVER_ADDRESS] = "serviceSecurityServerAddress",
    [XR_OPMON_FAULT_CODE] = "faultCode",
    [XR_OPMON_FAULT_STRING] = "faultString",
    [XR_OPMON_SERVICE_TYPE] = "serviceType",
    [XR_OPMON_XROAD_VERSION] = "xRoadVersion",
    [XR_OPMON_X_REQUEST_ID] = "xRequestId",
};

/* outputSpec names (PR-OPMON section 2): every record field but
 * xRequestId, which is sent but cannot be asked for. */
static const char *const output_fields[] = {
    "monitoringDataTs",
    "securityServerInternalIp",
    "securityServerType",
    "requestInTs",
    "requestOutTs",
    "responseInTs",
    "responseOutTs",
    "clientXRoadInstance",
    "clientMemberClass",
    "clientMemberCode",
    "clientSubsystemCode",
    "serviceXRoadInstance",
    "serviceMemberClass",
    "serviceMemberCode",
    "serviceSubsystemCode",
    "serviceCode",
    "restMethod",
    "restPath",
    "serviceVersion",
    "representedPartyClass",
    "representedPartyCode",
    "messageId",
    "messageUserId",
    "messageIssue",
    "messageProtocolVersion",
    "clientSecurityServerAddress",
    "serviceSecurityServerAddress",
    "requestSize",
    "requestMimeSize",
    "requestAttachmentCount",
    "responseSize",
    "responseMimeSize",
    "responseAttachmentCount",
    "succeeded",
    "serviceType",
    "faultCode",
    "faultString",
    "statusCode",
    "xRoadVersion",
};

const char *xr_opmon_num_name(enum xr_opmon_num f)
{
    return (unsigned)f < XR_OPMON_NUM_COUNT ? num_names[f] : "";
}

const char *xr_opmon_str_name(enum xr_opmon_str f)
{
    return (unsigned)f < XR_OPMON_STR_COUNT ? str_names[f] : "";
}

bool xr_opmon_field_is_known(const char *name)
{
    for (size_t i = 0; i < sizeof(output_fields) / sizeof(output_fields[0]);
         i++)
        if (!strcmp(name, output_fields[i]))
            return true;
    return false;
}

/* ---- the request body -------------------------------------------------- */

static void emit_id_part(struct xr__tw *w, const char *name, const char *v)
{
    if (!v[0])
        return;
    xr__tw_str(w, "<id:");
    xr__tw_str(w, name);
    xr__tw_str(w, ">");
    xr__tw_text(w, v);
    xr__tw_str(w, "</id:");
    xr__tw_str(w, name);
    xr__tw_str(w, ">");
}

static void emit_body(struct xr__tw *w, const void *arg)
{
    const struct xr_opmon_query *q = arg;
    char num[32];

    xr__tw_str(w, "<om:getSecurityServerOperationalData xmlns:om=\"" XR_NS_OPMON
                  "\" xmlns:id=\"" XR_NS_ID "\"><om:searchCriteria>"
                  "<om:recordsFrom>");
    snprintf(num, sizeof(num), "%lld", (long long)q->records_from);
    xr__tw_str(w, num);
    xr__tw_str(w, "</om:recordsFrom><om:recordsTo>");
    snprintf(num, sizeof(num), "%lld", (long long)q->records_to);
    xr__tw_str(w, num);
    xr__tw_str(w, "</om:recordsTo>");
    if (q->client) {
        xr__tw_str(w, "<om:client id:objectType=\"");
        xr__tw_str(w, xr_id_type_name(q->client->type));
        xr__tw_str(w, "\">");
        emit_id_part(w, "xRoadInstance", q->client->instance);
        emit_id_part(w, "memberClass", q->client->member_class);
        emit_id_part(w, "memberCode", q->client->member_code);
        emit_id_part(w, "subsystemCode", q->client->subsystem_code);
        xr__tw_str(w, "</om:client>");
    }
    xr__tw_str(w, "</om:searchCriteria>");
    if (q->nfields > 0) {
        xr__tw_str(w, "<om:outputSpec>");
        for (size_t i = 0; i < q->nfields; i++) {
            xr__tw_str(w, "<om:outputField>");
            xr__tw_str(w, q->fields[i]);
            xr__tw_str(w, "</om:outputField>");
        }
        xr__tw_str(w, "</om:outputSpec>");
    }
    xr__tw_str(w, "</om:getSecurityServerOperationalData>");
}

enum xr_status xr_opmon_body(const struct xr_opmon_query *q, char **xml,
                             size_t *len, struct xr_error *err)
{
    struct xr__tw w = {NULL, 0};
    enum xr_status rc;

    *xml = NULL;
    *len = 0;
    if (q->records_from < 0 || q->records_to < q->records_from)
        return xr_error_set(err, XR_EINVAL, "meta_invalid", "searchCriteria",
                            "records_from must be >= 0 and records_to >= "
                            "records_from");
    if (q->client) {
        if (q->client->type != XR_ID_MEMBER &&
            q->client->type != XR_ID_SUBSYSTEM)
            return xr_error_set(err, XR_EINVAL, "invalid_id", "client",
                                "the client filter must be a MEMBER or "
                                "SUBSYSTEM");
        rc = xr_id_validate(q->client, err);
        if (rc != XR_OK)
            return rc;
    }
    if (q->nfields > XR_OPMON_FIELD_MAX)
        return xr_error_set(err, XR_EINVAL, "meta_invalid", "outputSpec",
                            "more than %d output fields", XR_OPMON_FIELD_MAX);
    for (size_t i = 0; i < q->nfields; i++) {
        if (!q->fields[i] || !xr_opmon_field_is_known(q->fields[i]))
            return xr_error_set(err, XR_EINVAL, "meta_invalid", "outputSpec",
                                "unknown output field");
        for (size_t k = 0; k < i; k++)
            if (!strcmp(q->fields[i], q->fields[k]))
                return xr_error_set(err, XR_EINVAL, "meta_invalid",
                                    "outputSpec", "output field %s repeated",
                                    q->fields[i]);
    }
    emit_body(&w, q);
    w.p = malloc(w.n + 1);
    if (!w.p)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    w.n = 0;
    emit_body(&w, q);
    w.p[w.n] = '\0';
    *xml = w.p;
    *len = w.n;
    return XR_OK;
}

/* ---- the result -------------------------------------------------------- */

struct xr_opmon_result {
    struct xr__arena arena;
    struct xr_opmon_record *rec;
    size_t n, cap, max;
    bool has_next;
    int64_t next;
};

void xr_opmon_result_free(struct xr_opmon_result *r)
{
    if (!r)
        return;
    xr__arena_free(&r->arena);
    free(r->rec);
    free(r);
}

size_t xr_opmon_result_count(const struct xr_opmon_result *r)
{
    return r->n;
}

const struct xr_opmon_record *xr_opmon_result_get(
    const struct xr_opmon_result *r, size_t i)
{
    return i < r->n ? &r->rec[i] : NULL;
}

bool xr_opmon_result_next(const struct xr_opmon_result *r, int64_t *out)
{
    if (r->has_next)
        *out = r->next;
    return r->has_next;
}

static bool id_from(struct xr_id *out, enum xr_id_type type, const char *inst,
                    const char *cls, const char *code, const char *sub)
{
    memset(out, 0, sizeof(*out));
    if (!inst || !cls || !code)
        return false;
    out->type = type;
    return xr__strlcpy(out->instance, inst, sizeof(out->instance)) <
               sizeof(out->instance) &&
           xr__strlcpy(out->member_class, cls, sizeof(out->member_class)) <
               sizeof(out->member_class) &&
           xr__strlcpy(out->member_code, code, sizeof(out->member_code)) <
               sizeof(out->member_code) &&
           xr__strlcpy(out->subsystem_code, sub ? sub : "",
                       sizeof(out->subsystem_code)) <
               sizeof(out->subsystem_code);
}

bool xr_opmon_record_client(const struct xr_opmon_record *rec,
                            struct xr_id *out)
{
    const char *sub = rec->str[XR_OPMON_CLIENT_SUBSYSTEM_CODE];

    return id_from(out, sub && sub[0] ? XR_ID_SUBSYSTEM : XR_ID_MEMBER,
                   rec->str[XR_OPMON_CLIENT_XROAD_INSTANCE],
                   rec->str[XR_OPMON_CLIENT_MEMBER_CLASS],
                   rec->str[XR_OPMON_CLIENT_MEMBER_CODE], sub);
}

bool xr_opmon_record_service(const struct xr_opmon_record *rec,
                             struct xr_id *out)
{
    const char *code = rec->str[XR_OPMON_SERVICE_CODE];
    const char *version = rec->str[XR_OPMON_SERVICE_VERSION];

    if (!code ||
        !id_from(out, XR_ID_SERVICE, rec->str[XR_OPMON_SERVICE_XROAD_INSTANCE],
                 rec->str[XR_OPMON_SERVICE_MEMBER_CLASS],
                 rec->str[XR_OPMON_SERVICE_MEMBER_CODE],
                 rec->str[XR_OPMON_SERVICE_SUBSYSTEM_CODE]))
        return false;
    return xr__strlcpy(out->service_code, code, sizeof(out->service_code)) <
               sizeof(out->service_code) &&
           xr__strlcpy(out->service_version, version ? version : "",
                       sizeof(out->service_version)) <
               sizeof(out->service_version);
}

/* ---- the JSON records -------------------------------------------------- */

static enum xr_status bad_field(const char *name, const char *why,
                                struct xr_error *err)
{
    return xr_error_set(err, XR_EPROTO, "opmon_invalid_field", name, "%s %s",
                        name, why);
}

/* Unicode characters in valid UTF-8. */
static size_t chars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

static int find_name(const char *const *names, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], key))
            return (int)i;
    return -1;
}

static enum xr_status record_str(struct xr_opmon_result *r,
                                 struct xr_opmon_record *rec,
                                 struct xr__json *j, enum xr_opmon_str f,
                                 struct xr_error *err)
{
    const char *name = str_names[f], *s;
    size_t len,
        max = f == XR_OPMON_FAULT_STRING ? FAULT_STRING_MAX : TEXT_CHARS_MAX;
    enum xr_status rc;

    rc = xr__json_string(j, &s, &len, err);
    if (rc != XR_OK)
        return rc;
    if (chars(s, len) > max)
        return bad_field(name, "is too long", err);
    /* A fault string may span lines (a stack trace); nothing else may. */
    if (!xr__text_clean(s, len, f == XR_OPMON_FAULT_STRING))
        return bad_field(name, "has control characters", err);
    if (f == XR_OPMON_SECURITY_SERVER_TYPE && strcmp(s, "Client") != 0 &&
        strcmp(s, "Producer") != 0)
        return bad_field(name, "is neither Client nor Producer", err);
    rec->str[f] = xr__arena_dup(&r->arena, s, len);
    if (!rec->str[f])
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    return XR_OK;
}

static enum xr_status record_value(struct xr_opmon_result *r,
                                   struct xr_opmon_record *rec,
                                   struct xr__json *j, const char *key,
                                   uint64_t *seen_num, uint64_t *seen_str,
                                   bool *seen_ok, struct xr_error *err)
{
    int n = find_name(num_names, XR_OPMON_NUM_COUNT, key);
    int s = n < 0 ? find_name(str_names, XR_OPMON_STR_COUNT, key) : -1;
    bool ok = n < 0 && s < 0 && !strcmp(key, "succeeded");
    enum xr__json_lit lit;
    enum xr_status rc;
    int c;

    if (n < 0 && s < 0 && !ok)
        return xr__json_skip(j, err); /* a field of a later protocol */
    if ((n >= 0 && (*seen_num & (1ull << n))) ||
        (s >= 0 && (*seen_str & (1ull << s))) || (ok && *seen_ok))
        return bad_field(key, "is repeated", err);
    if (n >= 0)
        *seen_num |= 1ull << n;
    else if (s >= 0)
        *seen_str |= 1ull << s;
    else
        *seen_ok = true;
    c = xr__json_peek(j);
    if (c == 'n') { /* null: the field is absent */
        rc = xr__json_literal(j, &lit, err);
        if (rc == XR_OK && lit != XR__JSON_NULL)
            rc = bad_field(key, "has the wrong type", err);
        return rc;
    }
    if (n >= 0) {
        int64_t v;
        if (c != '-' && (c < '0' || c > '9'))
            return bad_field(key, "is not an integer", err);
        rc = xr__json_int(j, &v, err);
        if (rc != XR_OK) {
            if (err)
                err->reason = "opmon_invalid_field";
            return rc;
        }
        if (v < 0)
            return bad_field(key, "is negative", err);
        rec->num[n] = v;
        rec->has_num |= 1u << n;
        return XR_OK;
    }
    if (s >= 0) {
        if (c != '"')
            return bad_field(key, "is not a string", err);
        return record_str(r, rec, j, (enum xr_opmon_str)s, err);
    }
    if (c != 't' && c != 'f')
        return bad_field(key, "is not a boolean", err);
    rc = xr__json_literal(j, &lit, err);
    if (rc != XR_OK)
        return rc;
    rec->has_succeeded = true;
    rec->succeeded = lit == XR__JSON_TRUE;
    return XR_OK;
}

static enum xr_status record(struct xr_opmon_result *r, struct xr__json *j,
                             struct xr_error *err)
{
    struct xr_opmon_record *rec;
    uint64_t seen_num = 0, seen_str = 0;
    bool seen_ok = false, first = true, more;
    unsigned keys = 0;
    char key[48];
    enum xr_status rc;

    if (r->n >= r->max)
        return xr_error_set(err, XR_ELIMIT, "too_many", "records",
                            "more than %zu records", r->max);
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 64;
        struct xr_opmon_record *grown;
        if (ncap > r->max)
            ncap = r->max;
        grown = realloc(r->rec, ncap * sizeof(*grown));
        if (!grown)
            return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                "out of memory");
        r->rec = grown;
        r->cap = ncap;
    }
    rec = &r->rec[r->n];
    memset(rec, 0, sizeof(*rec));
    if (xr__json_peek(j) != '{')
        return xr_error_set(err, XR_EPROTO, "opmon_invalid_json", "records",
                            "a record is not an object");
    rc = xr__json_expect(j, '{', err);
    while (rc == XR_OK) {
        rc = xr__json_more(j, '}', &first, &more, err);
        if (rc != XR_OK || !more)
            break;
        if (++keys > RECORD_KEYS_MAX)
            return xr_error_set(err, XR_ELIMIT, "opmon_invalid_json", "records",
                                "a record has more than %u fields",
                                RECORD_KEYS_MAX);
        rc = xr__json_key(j, key, sizeof(key), err);
        if (rc == XR_OK)
            rc = record_value(r, rec, j, key, &seen_num, &seen_str, &seen_ok,
                              err);
    }
    if (rc == XR_OK)
        r->n++;
    return rc;
}

static enum xr_status records_parse(struct xr_opmon_result *r,
                                    const uint8_t *buf, size_t len,
                                    struct xr_error *err)
{
    char *scratch = malloc(SCRATCH_SIZE);
    struct xr__json j;
    bool first = true, more, seen = false;
    char key[16];
    enum xr_status rc;

    if (!scratch)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    xr__json_init(&j, buf, len, scratch, SCRATCH_SIZE, JSON_DEPTH,
                  "opmon_invalid_json");
    if (xr__json_peek(&j) != '{') {
        rc = xr_error_set(err, XR_EPARSE, "opmon_invalid_json", "",
                          "the payload is not a JSON object");
        goto out;
    }
    rc = xr__json_expect(&j, '{', err);
    while (rc == XR_OK) {
        rc = xr__json_more(&j, '}', &first, &more, err);
        if (rc != XR_OK || !more)
            break;
        rc = xr__json_key(&j, key, sizeof(key), err);
        if (rc != XR_OK)
            break;
        if (strcmp(key, "records") != 0) {
            rc = xr__json_skip(&j, err);
            continue;
        }
        if (seen) {
            rc = xr_error_set(err, XR_EPROTO, "opmon_invalid_json", "records",
                              "records is repeated");
            break;
        }
        seen = true;
        if (xr__json_peek(&j) != '[') {
            rc = xr_error_set(err, XR_EPROTO, "opmon_invalid_json", "records",
                              "records is not an array");
            break;
        }
        bool afirst = true, amore;
        rc = xr__json_expect(&j, '[', err);
        while (rc == XR_OK) {
            rc = xr__json_more(&j, ']', &afirst, &amore, err);
            if (rc != XR_OK || !amore)
                break;
            rc = record(r, &j, err);
        }
    }
    if (rc == XR_OK)
        rc = xr__json_end(&j, err);
    if (rc == XR_OK && !seen)
        rc = xr_error_set(err, XR_EPROTO, "opmon_invalid_json", "records",
                          "the payload has no records");
out:
    free(scratch);
    return rc;
}

static struct xr_opmon_result *result_new(const struct xr_meta_limits *lim)
{
    struct xr_opmon_result *r = calloc(1, sizeof(*r));

    if (r)
        r->max = lim && lim->max_items ? lim->max_items : OPMON_ITEMS_DEFAULT;
    return r;
}

enum xr_status xr_opmon_records_parse(const uint8_t *json, size_t len,
                                      const struct xr_meta_limits *lim,
                                      struct xr_opmon_result **out,
                                      struct xr_error *err)
{
    size_t max = lim && lim->max_bytes ? lim->max_bytes : OPMON_BYTES_DEFAULT;
    struct xr_opmon_result *r;
    enum xr_status rc;

    *out = NULL;
    if (len > max)
        return xr_error_set(err, XR_ELIMIT, "too_large", "records",
                            "the records are %zu bytes, limit %zu", len, max);
    r = result_new(lim);
    if (!r)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    rc = records_parse(r, json, len, err);
    if (rc != XR_OK) {
        xr_opmon_result_free(r);
        return rc;
    }
    *out = r;
    return XR_OK;
}

/* ---- the answer -------------------------------------------------------- */

/*
 * Decompress a gzip stream of one member into a new buffer of at most
 * max bytes (a small compressed attachment may expand a thousandfold:
 * the cap applies to the output).
 */
static enum xr_status gunzip(const uint8_t *in, size_t in_len, size_t max,
                             uint8_t **out, size_t *out_len,
                             struct xr_error *err)
{
    z_stream z;
    uint8_t *buf = NULL;
    size_t cap = 0;
    enum xr_status rc = XR_OK;
    int zr;

    *out = NULL;
    *out_len = 0;
    memset(&z, 0, sizeof(z));
    if (in_len > UINT32_MAX)
        return xr_error_set(err, XR_ELIMIT, "too_large", "records",
                            "the attachment is too large");
    /* 16 + MAX_WBITS: a gzip wrapper and nothing else. */
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "cannot start decompression");
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)in_len;
    for (;;) {
        if (z.total_out == cap) {
            size_t ncap = cap ? cap * 2 : (in_len < 4096 ? 16384 : in_len * 4);
            uint8_t *grown;
            if (cap >= max + 1) {
                rc = xr_error_set(err, XR_ELIMIT, "too_large", "records",
                                  "the records are larger than %zu bytes "
                                  "decompressed",
                                  max);
                goto out;
            }
            if (ncap > max + 1)
                ncap = max + 1; /* one more byte tells "too large" */
            grown = realloc(buf, ncap);
            if (!grown) {
                rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                  "out of memory");
                goto out;
            }
            buf = grown;
            cap = ncap;
        }
        z.next_out = buf + z.total_out;
        z.avail_out =
            (uInt)(cap - z.total_out > UINT32_MAX ? UINT32_MAX
                                                  : cap - z.total_out);
        zr = inflate(&z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END)
            break;
        if (zr == Z_OK)
            continue;
        if (zr == Z_BUF_ERROR && z.avail_in == 0) {
            rc = xr_error_set(err, XR_EPARSE, "opmon_payload", "records",
                              "the gzip stream is truncated");
            goto out;
        }
        if (zr == Z_BUF_ERROR)
            continue; /* output full: grow */
        rc = xr_error_set(err, zr == Z_MEM_ERROR ? XR_ENOMEM : XR_EPARSE,
                          zr == Z_MEM_ERROR ? "out_of_memory" : "opmon_payload",
                          "records", "the gzip stream is corrupt (%s)",
                          z.msg ? z.msg : "inflate failed");
        goto out;
    }
    if (z.total_out > max) {
        rc = xr_error_set(err, XR_ELIMIT, "too_large", "records",
                          "the records are larger than %zu bytes "
                          "decompressed",
                          max);
        goto out;
    }
    if (z.avail_in != 0) {
        rc = xr_error_set(err, XR_EPARSE, "opmon_payload", "records",
                          "data after the gzip stream");
        goto out;
    }
    *out = buf;
    *out_len = z.total_out;
    buf = NULL;
out:
    inflateEnd(&z);
    free(buf);
    return rc;
}

/* An xs:long (optional sign, digits) within int64_t. */
static bool parse_long(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (!s[0] || (s[0] != '-' && s[0] != '+' && (s[0] < '0' || s[0] > '9')))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || !end || *end != '\0')
        return false;
    *out = v;
    return true;
}

static enum xr_status long_child(const xmlNode *c, const char *field,
                                 int64_t *out, struct xr_error *err)
{
    char text[40];

    if (xr__xml_text(c, text, sizeof(text), field, NULL) != XR_OK ||
        xr__xml_first_elem(c) || !parse_long(text, out))
        return xr_error_set(err, XR_EPROTO, "meta_invalid", field,
                            "%s is not an integer", field);
    return XR_OK;
}

/* The SOAP part: recordsCount, records (cid), nextRecordsFrom. */
struct soap_part {
    int64_t count;
    char cid[256];
    bool has_next;
    int64_t next;
};

static enum xr_status read_body(const xmlNode *body, struct soap_part *sp,
                                struct xr_error *err)
{
    bool seen_count = false, seen_records = false;
    char text[300];
    enum xr_status rc = XR_OK;

    memset(sp, 0, sizeof(*sp));
    if (!body || !xr__xml_is(body, XR_NS_OPMON,
                             "getSecurityServerOperationalDataResponse"))
        return xr_error_set(err, XR_EPROTO, "meta_invalid", "Body",
                            "the answer is not "
                            "om:getSecurityServerOperationalDataResponse");
    for (xmlNodePtr c = xr__xml_first_elem(body); c; c = xr__xml_next_elem(c)) {
        if (xr__xml_is(c, XR_NS_OPMON, "recordsCount") && !seen_count) {
            seen_count = true;
            rc = long_child(c, "recordsCount", &sp->count, err);
            if (rc == XR_OK && (sp->count < 0 || sp->count > INT32_MAX))
                rc =
                    xr_error_set(err, XR_EPROTO, "meta_invalid", "recordsCount",
                                 "recordsCount is out of range");
        } else if (xr__xml_is(c, XR_NS_OPMON, "records") && !seen_records) {
            seen_records = true;
            if (xr__xml_text(c, text, sizeof(text), "records", NULL) != XR_OK ||
                strncmp(text, "cid:", 4) != 0 || !text[4] ||
                strlen(text + 4) >= sizeof(sp->cid))
                rc = xr_error_set(err, XR_EPROTO, "meta_invalid", "records",
                                  "records is not a cid: reference");
            else
                xr__strlcpy(sp->cid, text + 4, sizeof(sp->cid));
        } else if (xr__xml_is(c, XR_NS_OPMON, "nextRecordsFrom") &&
                   !sp->has_next) {
            sp->has_next = true;
            rc = long_child(c, "nextRecordsFrom", &sp->next, err);
            if (rc == XR_OK && sp->next < 0)
                rc = xr_error_set(err, XR_EPROTO, "meta_invalid",
                                  "nextRecordsFrom",
                                  "nextRecordsFrom is negative");
        } else {
            rc = xr_error_set(err, XR_EPROTO, "meta_invalid",
                              "getSecurityServerOperationalDataResponse",
                              "unexpected or repeated element in the answer");
        }
        if (rc != XR_OK)
            return rc;
    }
    if (!seen_count || !seen_records)
        return xr_error_set(err, XR_EPROTO, "meta_invalid",
                            seen_count ? "records" : "recordsCount",
                            "the answer lacks %s",
                            seen_count ? "records" : "recordsCount");
    return XR_OK;
}

enum xr_status xr_opmon_parse(const struct xr_response *resp,
                              const struct xr_meta_limits *lim,
                              struct xr_opmon_result **out,
                              struct xr_error *err)
{
    size_t max = lim && lim->max_bytes ? lim->max_bytes : OPMON_BYTES_DEFAULT;
    const struct xr_part *part = NULL;
    struct xr_opmon_result *r = NULL;
    struct soap_part sp;
    struct xr__ctype ct;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    enum xr_status rc;

    *out = NULL;
    rc = read_body(xr_response_body(resp), &sp, err);
    if (rc != XR_OK)
        return rc;
    for (size_t i = 0; i < xr_response_part_count(resp); i++) {
        const struct xr_part *p = xr_response_part(resp, i);
        if (!strcmp(p->content_id, sp.cid)) {
            part = p;
            break;
        }
    }
    if (!part)
        return xr_error_set(err, XR_EPROTO, "opmon_missing_attachment",
                            "records",
                            "no attachment has the records' Content-ID");
    rc = xr__ctype_parse(part->content_type[0] ? part->content_type
                                               : "application/octet-stream",
                         &ct, err);
    if (rc != XR_OK)
        return rc;
    if (!strcmp(ct.media, "application/gzip") ||
        !strcmp(ct.media, "application/x-gzip")) {
        rc = gunzip(part->data.ptr, part->data.len, max, &plain, &plain_len,
                    err);
        if (rc != XR_OK)
            return rc;
        rc = xr_opmon_records_parse(plain, plain_len, lim, &r, err);
    } else if (!strcmp(ct.media, "application/json")) {
        rc = xr_opmon_records_parse(part->data.ptr, part->data.len, lim, &r,
                                    err);
    } else {
        rc = xr_error_set(err, XR_EPROTO, "opmon_payload", "records",
                          "the records attachment is %s, not "
                          "application/gzip",
                          ct.media);
    }
    free(plain);
    if (rc != XR_OK)
        return rc;
    if ((int64_t)r->n != sp.count) {
        rc =
            xr_error_set(err, XR_EPROTO, "opmon_count_mismatch", "recordsCount",
                         "recordsCount is %lld but %zu records were sent",
                         (long long)sp.count, r->n);
        xr_opmon_result_free(r);
        return rc;
    }
    r->has_next = sp.has_next;
    r->next = sp.next;
    *out = r;
    return XR_OK;
}

/* ---- the request (a security server's side) ---------------------------- */

static enum xr_status read_criteria(const xmlNode *sc,
                                    struct xr_opmon_request *out,
                                    struct xr_error *err)
{
    bool from = false, to = false;
    enum xr_status rc;

    for (xmlNodePtr c = xr__xml_first_elem(sc); c; c = xr__xml_next_elem(c)) {
        if (xr__xml_is(c, XR_NS_OPMON, "recordsFrom") && !from) {
            from = true;
            rc = long_child(c, "recordsFrom", &out->records_from, err);
        } else if (xr__xml_is(c, XR_NS_OPMON, "recordsTo") && !to) {
            to = true;
            rc = long_child(c, "recordsTo", &out->records_to, err);
        } else if (xr__xml_is(c, XR_NS_OPMON, "client") && !out->has_client) {
            out->has_client = true;
            rc = xr__id_read(c, "client",
                             (1u << XR_ID_MEMBER) | (1u << XR_ID_SUBSYSTEM),
                             &out->client, err);
            if (rc == XR_OK)
                rc = xr_id_validate(&out->client, err);
        } else {
            rc = xr_error_set(err, XR_EPROTO, "meta_invalid", "searchCriteria",
                              "unexpected or repeated element in "
                              "searchCriteria");
        }
        if (rc != XR_OK)
            return rc;
    }
    if (!from || !to)
        return xr_error_set(err, XR_EPROTO, "meta_invalid", "searchCriteria",
                            "searchCriteria lacks %s",
                            from ? "recordsTo" : "recordsFrom");
    return XR_OK;
}

static enum xr_status read_output_spec(const xmlNode *os,
                                       struct xr_opmon_request *out,
                                       struct xr_error *err)
{
    for (xmlNodePtr c = xr__xml_first_elem(os); c; c = xr__xml_next_elem(c)) {
        if (!xr__xml_is(c, XR_NS_OPMON, "outputField"))
            return xr_error_set(err, XR_EPROTO, "meta_invalid", "outputSpec",
                                "outputSpec has an element other than "
                                "outputField");
        if (out->nfields >= XR_OPMON_FIELD_MAX)
            return xr_error_set(err, XR_ELIMIT, "too_many", "outputSpec",
                                "more than %d output fields",
                                XR_OPMON_FIELD_MAX);
        if (xr__xml_text(c, out->fields[out->nfields], sizeof(out->fields[0]),
                         "outputField", NULL) != XR_OK ||
            xr__xml_first_elem(c) ||
            !xr__text_clean(out->fields[out->nfields],
                            strlen(out->fields[out->nfields]), false))
            return xr_error_set(err, XR_EPROTO, "meta_invalid", "outputField",
                                "an outputField is longer than %zu bytes "
                                "or not clean text",
                                sizeof(out->fields[0]) - 1);
        out->nfields++;
    }
    return XR_OK;
}

enum xr_status xr_opmon_request_parse(const xmlNode *wrapper,
                                      struct xr_opmon_request *out,
                                      struct xr_error *err)
{
    bool criteria = false, spec = false;
    enum xr_status rc;

    memset(out, 0, sizeof(*out));
    if (!wrapper || !xr__xml_is(wrapper, XR_NS_OPMON, XR_OPMON_OPERATIONAL))
        return xr_error_set(err, XR_EPROTO, "meta_invalid",
                            XR_OPMON_OPERATIONAL,
                            "the body is not om:" XR_OPMON_OPERATIONAL);
    for (xmlNodePtr c = xr__xml_first_elem(wrapper); c;
         c = xr__xml_next_elem(c)) {
        if (xr__xml_is(c, XR_NS_OPMON, "searchCriteria") && !criteria) {
            criteria = true;
            rc = read_criteria(c, out, err);
        } else if (xr__xml_is(c, XR_NS_OPMON, "outputSpec") && !spec) {
            spec = true;
            rc = read_output_spec(c, out, err);
        } else {
            rc = xr_error_set(err, XR_EPROTO, "meta_invalid",
                              XR_OPMON_OPERATIONAL,
                              "unexpected or repeated element in the "
                              "request");
        }
        if (rc != XR_OK)
            return rc;
    }
    if (!criteria)
        return xr_error_set(err, XR_EPROTO, "meta_invalid", "searchCriteria",
                            "the request lacks searchCriteria");
    return XR_OK;
}

/*
 * Operational monitoring as an X-Road security server does it (PR-OPMON,
 * sim.h): a record of every exchange the simulator answers, kept in a
 * ring of `opmon_keep` records, and getSecurityServerOperationalData
 * answered from it: the time range on monitoringDataTs (seconds), records
 * younger than `opmon_offset_seconds` held back (recordsTo moved and
 * nextRecordsFrom set, as X-Road does), at most `opmon_max_records` per
 * answer plus those sharing the last record's second (nextRecordsFrom
 * then points after it), outputSpec, the owner/client visibility rule,
 * and the JSON records gzip'd in an attachment referenced by swaRef.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "sim.h"

#define CID          "operational-monitoring-data.json.gz"
#define FAULT_MAX    2048u
#define TEXT_MAX_LEN 255u

enum {
    S_MESSAGE_ID,
    S_USER_ID,
    S_ISSUE,
    S_PROTOCOL,
    S_FAULT_CODE,
    S_FAULT_STRING,
    S_INTERNAL_IP,
    S_XROAD_VERSION,
    S_COUNT
};

struct rec {
    int64_t monitoring_s;
    int64_t request_in_ms, request_out_ms, response_in_ms, response_out_ms;
    struct xr_id client, service;
    int64_t request_size, request_mime_size, response_size, response_mime_size;
    unsigned request_atts, response_atts;
    bool succeeded;
    char *s[S_COUNT]; /* owned, NULL when absent */
};

struct sim_opmon {
    struct rec *ring;
    size_t keep, head, n; /* oldest at head */
};

static void rec_clear(struct rec *r)
{
    for (int i = 0; i < S_COUNT; i++)
        free(r->s[i]);
    memset(r, 0, sizeof(*r));
}

int sim_opmon_new(size_t keep, struct sim_opmon **out)
{
    struct sim_opmon *m = calloc(1, sizeof(*m));

    *out = NULL;
    if (!m || keep == 0 || !(m->ring = calloc(keep, sizeof(*m->ring)))) {
        free(m);
        return -1;
    }
    m->keep = keep;
    *out = m;
    return 0;
}

void sim_opmon_free(struct sim_opmon *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->keep; i++)
        rec_clear(&m->ring[i]);
    free(m->ring);
    free(m);
}

size_t sim_opmon_count(const struct sim_opmon *m)
{
    return m->n;
}

static const struct rec *rec_at(const struct sim_opmon *m, size_t i)
{
    return &m->ring[(m->head + i) % m->keep];
}

/* A copy cut to max characters of UTF-8 (the schema's maxLength). */
static char *dup_text(const char *s, size_t max)
{
    size_t n = 0, chars = 0;
    char *out;

    if (!s)
        return NULL;
    while (s[n] && chars < max) {
        n++;
        while (((unsigned char)s[n] & 0xc0) == 0x80)
            n++;
        chars++;
    }
    out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

void sim_opmon_add(struct sim_opmon *m, const struct sim_opmon_exchange *x)
{
    const struct xr_header *h = x->hdr;
    const char *texts[S_COUNT] = {h->id,
                                  h->has_user_id ? h->user_id : NULL,
                                  h->has_issue ? h->issue : NULL,
                                  h->protocol_version,
                                  x->fault_code,
                                  x->fault_code ? x->fault_string : NULL,
                                  x->internal_ip,
                                  x->xroad_version};
    int64_t now = sim_now_ms();
    struct rec *r;

    if (m->n == m->keep) { /* full: the oldest goes */
        rec_clear(&m->ring[m->head]);
        m->head = (m->head + 1) % m->keep;
        m->n--;
    }
    r = &m->ring[(m->head + m->n) % m->keep];
    memset(r, 0, sizeof(*r));
    r->monitoring_s = now / 1000;
    r->request_in_ms = x->request_in_ms;
    /* One process is both security servers: the request leaves for the
     * service as it arrives, the answer leaves as it is made. */
    r->request_out_ms = x->request_in_ms;
    r->response_in_ms = now;
    r->response_out_ms = now;
    r->client = h->client;
    r->service = h->service;
    r->request_size = (int64_t)x->request_size;
    r->request_mime_size = (int64_t)x->request_mime_size;
    r->response_size = (int64_t)x->response_size;
    r->response_mime_size = (int64_t)x->response_mime_size;
    r->request_atts = x->request_attachments;
    r->response_atts = x->response_attachments;
    r->succeeded = x->succeeded;
    for (int i = 0; i < S_COUNT; i++) {
        if (!texts[i])
            continue;
        r->s[i] =
            dup_text(texts[i], i == S_FAULT_STRING ? FAULT_MAX : TEXT_MAX_LEN);
        if (!r->s[i]) {
            sim_log("opmon: out of memory, a record is dropped");
            rec_clear(r);
            return;
        }
    }
    m->n++;
}

/* ---- the query ------------------------------------------------------------
 */

/* The member part of a client or service equals id (member or
 * subsystem, exactly). */
static bool party_is(const struct xr_id *party, const struct xr_id *id)
{
    return !strcmp(party->instance, id->instance) &&
           !strcmp(party->member_class, id->member_class) &&
           !strcmp(party->member_code, id->member_code) &&
           !strcmp(party->subsystem_code, id->subsystem_code);
}

static bool is_owner(const struct sim_conf *conf, const struct xr_header *h)
{
    const struct xr_id *ss = &conf->security_server;

    return conf->has_security_server && h->client.type == XR_ID_MEMBER &&
           h->has_security_server && xr_id_equal(&h->security_server, ss) &&
           !strcmp(h->client.instance, ss->instance) &&
           !strcmp(h->client.member_class, ss->member_class) &&
           !strcmp(h->client.member_code, ss->member_code);
}

/* Is the field wanted (no outputSpec: every field)? */
static bool want(const struct xr_opmon_request *q, const char *name)
{
    if (q->nfields == 0)
        return true;
    for (size_t i = 0; i < q->nfields; i++)
        if (!strcmp(q->fields[i], name))
            return true;
    return false;
}

static void set_int(json_t *o, const struct xr_opmon_request *q,
                    const char *name, int64_t v)
{
    if (want(q, name))
        json_object_set_new(o, name, json_integer((json_int_t)v));
}

static void set_str(json_t *o, const struct xr_opmon_request *q,
                    const char *name, const char *v)
{
    if (v && v[0] && want(q, name))
        json_object_set_new(o, name, json_string(v));
}

static json_t *rec_json(const struct rec *r, const struct xr_opmon_request *q,
                        bool owner)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    set_int(o, q, "monitoringDataTs", r->monitoring_s);
    /* Only the owner learns the server's internal address. */
    if (owner)
        set_str(o, q, "securityServerInternalIp", r->s[S_INTERNAL_IP]);
    set_str(o, q, "securityServerType", "Client");
    set_int(o, q, "requestInTs", r->request_in_ms);
    set_int(o, q, "requestOutTs", r->request_out_ms);
    set_int(o, q, "responseInTs", r->response_in_ms);
    set_int(o, q, "responseOutTs", r->response_out_ms);
    set_str(o, q, "clientXRoadInstance", r->client.instance);
    set_str(o, q, "clientMemberClass", r->client.member_class);
    set_str(o, q, "clientMemberCode", r->client.member_code);
    set_str(o, q, "clientSubsystemCode", r->client.subsystem_code);
    set_str(o, q, "serviceXRoadInstance", r->service.instance);
    set_str(o, q, "serviceMemberClass", r->service.member_class);
    set_str(o, q, "serviceMemberCode", r->service.member_code);
    set_str(o, q, "serviceSubsystemCode", r->service.subsystem_code);
    set_str(o, q, "serviceCode", r->service.service_code);
    set_str(o, q, "serviceVersion", r->service.service_version);
    set_str(o, q, "messageId", r->s[S_MESSAGE_ID]);
    set_str(o, q, "messageUserId", r->s[S_USER_ID]);
    set_str(o, q, "messageIssue", r->s[S_ISSUE]);
    set_str(o, q, "messageProtocolVersion", r->s[S_PROTOCOL]);
    set_int(o, q, "requestSize", r->request_size);
    set_int(o, q, "requestMimeSize", r->request_mime_size);
    set_int(o, q, "requestAttachmentCount", r->request_atts);
    set_int(o, q, "responseSize", r->response_size);
    set_int(o, q, "responseMimeSize", r->response_mime_size);
    set_int(o, q, "responseAttachmentCount", r->response_atts);
    if (want(q, "succeeded"))
        json_object_set_new(o, "succeeded", json_boolean(r->succeeded));
    set_str(o, q, "serviceType", "WSDL");
    set_str(o, q, "faultCode", r->s[S_FAULT_CODE]);
    set_str(o, q, "faultString", r->s[S_FAULT_STRING]);
    set_str(o, q, "xRoadVersion", r->s[S_XROAD_VERSION]);
    return o;
}

/* Does the asking client see this record, and does it pass the filter? */
static bool visible(const struct rec *r, const struct xr_header *h, bool owner,
                    const struct xr_opmon_request *q)
{
    if (!owner && !party_is(&r->client, &h->client) &&
        !party_is(&r->service, &h->client))
        return false;
    return !q->has_client || party_is(&r->service, &q->client);
}

static int gzip(const char *in, size_t len, uint8_t **out, size_t *out_len)
{
    z_stream z;
    size_t cap = compressBound((uLong)len) + 64;
    uint8_t *buf = malloc(cap);
    int rc = -1;

    *out = NULL;
    memset(&z, 0, sizeof(z));
    if (!buf || deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
                             Z_DEFAULT_STRATEGY) != Z_OK) {
        free(buf);
        return -1;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
        *out = buf;
        *out_len = z.total_out;
        buf = NULL;
        rc = 0;
    }
    deflateEnd(&z);
    free(buf);
    return rc;
}

static xmlNodePtr num_child(xmlNodePtr parent, xmlNsPtr ns, const char *name,
                            int64_t v)
{
    char text[32];

    snprintf(text, sizeof(text), "%" PRId64, v);
    return xmlNewTextChild(parent, ns, sim_xc(name), sim_xc(text));
}

int sim_opmon_answer(const struct sim_opmon *m, const struct sim_conf *conf,
                     const struct xr_header *hdr, xmlNodePtr wrapper,
                     xmlNodePtr body, struct sim_answer *a)
{
    struct xr_opmon_request *q = malloc(sizeof(*q));
    struct xr_error err;
    bool owner = is_owner(conf, hdr), has_next = false;
    int64_t available = sim_now_ms() / 1000 - conf->opmon_offset_s;
    int64_t to, next = 0, last_ts = -1;
    size_t count = 0;
    json_t *root = NULL, *arr = NULL;
    char *json = NULL;
    uint8_t *gz = NULL;
    size_t gz_len = 0;
    xmlNodePtr resp;
    xmlNsPtr om;
    int rc = -1;

    if (!q)
        return -1;
    if (xr_opmon_request_parse(wrapper, q, &err) != XR_OK) {
        sim_answer_fault(a, false, "Client.InvalidRequest", "%s", err.msg);
        rc = 0;
        goto out;
    }
    /* X-Road's checks, its texts (OperationalDataRequestHandler). */
    if (q->records_from < 0 || q->records_to < 0 ||
        q->records_to < q->records_from || q->records_from >= available) {
        sim_answer_fault(
            a, false, "Client.InvalidRequest", "%s",
            q->records_from < 0 ? "Records from timestamp is a negative number"
            : q->records_to < 0 ? "Records to timestamp is a negative number"
            : q->records_to < q->records_from
                ? "Records to timestamp is earlier than records from "
                  "timestamp"
                : "Records not available yet");
        rc = 0;
        goto out;
    }
    for (size_t i = 0; i < q->nfields; i++)
        if (!xr_opmon_field_is_known(q->fields[i])) {
            sim_answer_fault(a, false, "Client.InvalidRequest",
                             "Unknown output field in search criteria: %s",
                             q->fields[i]);
            rc = 0;
            goto out;
        }
    to = q->records_to;
    if (to >= available) { /* not all committed yet */
        to = available - 1;
        has_next = true;
        next = available;
    }
    root = json_object();
    arr = json_array();
    if (!root || !arr)
        goto out;
    for (size_t i = 0; i < m->n; i++) {
        const struct rec *r = rec_at(m, i);
        if (r->monitoring_s < q->records_from || r->monitoring_s > to ||
            !visible(r, hdr, owner, q))
            continue;
        /* Past the cap, only records of the last second still go in. */
        if (count >= conf->opmon_max_records && r->monitoring_s != last_ts) {
            has_next = true;
            next = last_ts + 1;
            break;
        }
        if (json_array_append_new(arr, rec_json(r, q, owner)) != 0)
            goto out;
        last_ts = r->monitoring_s;
        count++;
    }
    json_object_set_new(root, "records", arr);
    arr = NULL;
    json = json_dumps(root, JSON_COMPACT);
    if (!json || gzip(json, strlen(json), &gz, &gz_len) != 0)
        goto out;
    resp = xmlNewChild(
        body, NULL, sim_xc("getSecurityServerOperationalDataResponse"), NULL);
    om = resp ? xmlNewNs(resp, sim_xc(XR_NS_OPMON), sim_xc("om")) : NULL;
    if (!om)
        goto out;
    xmlSetNs(resp, om);
    if (!num_child(resp, om, "recordsCount", (int64_t)count) ||
        !xmlNewTextChild(resp, om, sim_xc("records"), sim_xc("cid:" CID)) ||
        (has_next && !num_child(resp, om, "nextRecordsFrom", next)) ||
        sim_answer_part(a, "application/gzip", CID, gz, gz_len) != 0)
        goto out;
    snprintf(a->outcome, sizeof(a->outcome), "operational data %zu record(s)%s",
             count, owner ? " (owner)" : "");
    rc = 0;
out:
    json_decref(arr);
    json_decref(root);
    free(json);
    free(gz);
    free(q);
    return rc;
}

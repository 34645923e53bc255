/*
 * GET /asic and GET /verificationconf as a security server's client proxy
 * answers them (AsicContainerClientRequestProcessor; xroad-protocol.md
 * 12.2): parameters checked first (400), then the client must be
 * registered here (500) and authenticate with its connection type (401);
 * records not yet time-stamped give 500 unless `force`; no record gives
 * 404. Without `unique` the answer is a zip of containers, stored, named
 * <queryId>-request-<seq>.asice / -response-; with `unique` one container.
 * /verificationconf needs no authentication.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sim_asic.h"

#define MAX_PARAMS 16

struct params {
    char query_id[XR_TEXT_MAX + 1];
    struct xr_id client;
    bool has[5]; /* queryId, xRoadInstance, memberClass, memberCode, sub */
    bool request_only, response_only, unique, force;
};

static void text(struct sim_http_conn *conn, int status, const char *msg)
{
    sim_http_reply(conn, status, "text/plain; charset=UTF-8",
                   (const uint8_t *)msg, strlen(msg), NULL);
}

/* Percent-decode (and '+' as space) in place; -1 on a bad escape. */
static int decode(char *s)
{
    char *w = s;

    for (const char *r = s; *r; r++) {
        if (*r == '+') {
            *w++ = ' ';
        } else if (*r == '%') {
            char hex[3] = {r[1], r[1] ? r[2] : '\0', '\0'};
            char *end = NULL;
            long v = strtol(hex, &end, 16);
            if (!hex[0] || !hex[1] || !end || *end || v <= 0)
                return -1;
            *w++ = (char)v;
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return 0;
}

/* Read the query string; -1 with a 400 text in why. */
static int parse_query(const char *q, struct params *p, char *why, size_t size)
{
    static const char *const names[] = {"queryId", "xRoadInstance",
                                        "memberClass", "memberCode",
                                        "subsystemCode"};
    char buf[1024];
    char *save = NULL;
    size_t n = 0;

    memset(p, 0, sizeof(*p));
    if (strlen(q) >= sizeof(buf)) {
        snprintf(why, size, "Query string too long.");
        return -1;
    }
    sim_strlcpy(buf, q, sizeof(buf));
    for (char *kv = strtok_r(buf, "&", &save); kv && n < MAX_PARAMS;
         kv = strtok_r(NULL, "&", &save), n++) {
        char *eq = strchr(kv, '=');
        char *val = eq ? eq + 1 : kv + strlen(kv);
        char *dst[] = {p->query_id, p->client.instance, p->client.member_class,
                       p->client.member_code, p->client.subsystem_code};
        size_t dsz[] = {sizeof(p->query_id), XR_ID_PART_MAX + 1,
                        XR_ID_PART_MAX + 1, XR_ID_PART_MAX + 1,
                        XR_ID_PART_MAX + 1};
        if (eq)
            *eq = '\0';
        if (decode(kv) != 0 || decode(val) != 0) {
            snprintf(why, size, "Malformed query string.");
            return -1;
        }
        /* Flags count by presence; their value is ignored. */
        if (!strcmp(kv, "requestOnly"))
            p->request_only = true;
        else if (!strcmp(kv, "responseOnly"))
            p->response_only = true;
        else if (!strcmp(kv, "unique"))
            p->unique = true;
        else if (!strcmp(kv, "force"))
            p->force = true;
        for (size_t i = 0; i < 5; i++) {
            if (strcmp(kv, names[i]) != 0 || !val[0])
                continue;
            if (strlen(val) >= dsz[i]) {
                snprintf(why, size, "Parameter \"%s\" is too long.", names[i]);
                return -1;
            }
            sim_strlcpy(dst[i], val, dsz[i]);
            p->has[i] = true;
        }
    }
    for (size_t i = 0; i < 4; i++) {
        if (!p->has[i]) {
            snprintf(why, size, "Parameter \"%s\" must be specified.",
                     names[i]);
            return -1;
        }
    }
    if (p->request_only && p->response_only) {
        snprintf(why, size,
                 "Parameters \"requestOnly\" and \"responseOnly\" are "
                 "mutually exclusive.");
        return -1;
    }
    if (p->unique && !p->request_only && !p->response_only) {
        snprintf(why, size,
                 "Parameter \"unique\" not applicable without "
                 "\"requestOnly\" or \"responseOnly\".");
        return -1;
    }
    p->client.type = p->has[4] ? XR_ID_SUBSYSTEM : XR_ID_MEMBER;
    return 0;
}

/* The IS authentication of the client's connection type. */
static bool authenticated(const struct sim_client *c,
                          const struct sim_http_req *req)
{
    uint8_t fp[32];

    switch (c->conntype) {
    case SIM_CONN_NOSSL:
        return true;
    case SIM_CONN_SSLNOAUTH:
        return req->tls;
    case SIM_CONN_SSLAUTH:
        if (!req->tls || !req->peer_cert ||
            sim_tls_fingerprint(req->peer_cert, fp) != 0)
            return false;
        for (size_t i = 0; i < c->ncerts; i++)
            if (CRYPTO_memcmp(fp, c->certs[i], sizeof(fp)) == 0)
                return true;
        return false;
    }
    return false;
}

/* urlencode(queryId), cut at 226 bytes, as the entry name starts. */
static void name_stem(const char *id, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)id;
         *p && o + 4 < size && o < 226; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

static void base32(unsigned long v, char *out, size_t size)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuv";
    char tmp[32];
    size_t n = 0;

    do {
        tmp[n++] = digits[v % 32];
        v /= 32;
    } while (v && n < sizeof(tmp));
    for (size_t i = 0; i < n && i + 1 < size; i++)
        out[i] = tmp[n - 1 - i];
    out[n < size ? n : size - 1] = '\0';
}

static void serve_asic(struct sim_asic *a, const struct sim_conf *conf,
                       struct sim_http_conn *conn,
                       const struct sim_http_req *req, const char *query)
{
    struct params p;
    const struct sim_client *client = NULL;
    char why[300], stem[240];
    size_t matches = 0, unstamped = 0;
    struct sim_asic_record *one = NULL;
    struct af_zip *z;
    uint8_t *zip = NULL;
    size_t zl = 0;

    if (parse_query(query, &p, why, sizeof(why)) != 0) {
        text(conn, 400, why);
        return;
    }
    for (size_t i = 0; i < conf->nclients; i++)
        if (xr_id_equal(&conf->clients[i].id, &p.client))
            client = &conf->clients[i];
    if (!client) {
        text(conn, 500, "Client is not registered on this security server.");
        return;
    }
    if (!authenticated(client, req)) {
        text(conn, 401, "Client authentication failed.");
        return;
    }
    for (size_t i = 0; i < sim_asic_count(a); i++) {
        struct sim_asic_record *r = sim_asic_record_at(a, i);
        if (strcmp(r->id, p.query_id) || !xr_id_equal(&r->client, &p.client) ||
            (p.request_only && r->response) ||
            (p.response_only && !r->response))
            continue;
        matches++;
        unstamped += !r->stamped;
        one = r;
    }
    if (matches == 0) {
        text(conn, 404, "No signed documents found");
        return;
    }
    if (unstamped && !p.force) {
        text(conn, 500,
             unstamped == 1 ? "Message signature has not been timestamped "
                              "yet!"
                            : "Some message signatures have not been "
                              "timestamped yet!");
        return;
    }
    if (unstamped && sim_asic_stamp(a) != 0) {
        text(conn, 500, "Could not create missing timestamp!");
        return;
    }
    if (p.unique) {
        if (matches > 1) {
            text(conn, 500, "Multiple messages found with this query id");
            return;
        }
        sim_http_reply(conn, 200, "application/vnd.etsi.asic-e+zip",
                       one->container, one->container_len, NULL);
        return;
    }
    name_stem(p.query_id, stem, sizeof(stem));
    z = af_zip_new();
    for (size_t i = 0; z && i < sim_asic_count(a); i++) {
        struct sim_asic_record *r = sim_asic_record_at(a, i);
        char name[300], seq[16];
        if (strcmp(r->id, p.query_id) || !xr_id_equal(&r->client, &p.client) ||
            (p.request_only && r->response) ||
            (p.response_only && !r->response) || !r->container)
            continue;
        base32(r->seq, seq, sizeof(seq));
        snprintf(name, sizeof(name), "%s-%s-%s.asice", stem,
                 r->response ? "response" : "request", seq);
        if (af_zip_add(z, name, r->container, r->container_len, false) != 0) {
            af_zip_free(z);
            z = NULL;
        }
    }
    if (!z || af_zip_finish(z, &zip, &zl) != 0) {
        text(conn, 500, "Internal error");
        return;
    }
    sim_http_reply(conn, 200, "application/zip", zip, zl, NULL);
    free(zip);
}

bool sim_asic_http(struct sim_asic *a, const struct sim_conf *conf,
                   struct sim_http_conn *conn, const struct sim_http_req *req)
{
    const char *t = req->target;
    const char *q = strchr(t, '?');
    size_t plen = q ? (size_t)(q - t) : strlen(t);
    bool asic = plen == 5 && !strncmp(t, "/asic", 5);
    bool vconf = plen == 17 && !strncmp(t, "/verificationconf", 17);

    /* Only GET; other methods go on to the SOAP handler, as on an SS. */
    if ((!asic && !vconf) || strcmp(req->method, "GET") != 0)
        return false;
    if (!a) {
        text(conn, 404, "Message log is not configured.");
        return true;
    }
    if (vconf) {
        uint8_t *zip = NULL;
        size_t zl = 0;
        if (af_vconf_zip(sim_asic_trust(a), &zip, &zl) != 0) {
            text(conn, 500, "Internal error");
            return true;
        }
        sim_http_reply(conn, 200, "application/zip", zip, zl, NULL);
        free(zip);
        return true;
    }
    serve_asic(a, conf, conn, req, q ? q + 1 : "");
    sim_log("%s GET /asic", req->peer_addr);
    return true;
}

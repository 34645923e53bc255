/*
 * Downloads from the security server's /asic and /verificationconf, and
 * one query proven end to end (prove.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "prove.h"
#include "util.h"

#define SS_TEXT_MAX 200 /* bytes of the security server's error text quoted */

const char *adp_fetch_status_name(enum adp_fetch_status st)
{
    switch (st) {
    case ADP_FETCH_OK:
        return "ok";
    case ADP_FETCH_NOT_FOUND:
        return "not_found";
    case ADP_FETCH_NOT_TIMESTAMPED:
        return "not_timestamped";
    case ADP_FETCH_DENIED:
        return "not_allowed";
    case ADP_FETCH_BAD_PARAMS:
        return "bad_parameters";
    case ADP_FETCH_ENCRYPTED:
        return "encrypted";
    case ADP_FETCH_TOO_LARGE:
        return "too_large";
    case ADP_FETCH_SERVER_ERROR:
        return "server_error";
    case ADP_FETCH_UNREACHABLE:
        return "unreachable";
    }
    return "server_error";
}

void adp_fetch_result_cleanup(struct adp_fetch_result *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

/* The security server's plain-text error: first line, printable, clipped. */
static void ss_text(const struct adp_xfer_result *res, char *out, size_t size)
{
    size_t o = 0;

    for (size_t i = 0;
         res->body && i < res->body_len && o + 1 < size && o < SS_TEXT_MAX;
         i++) {
        unsigned char c = res->body[i];
        if (c == '\n' || c == '\r')
            break;
        out[o++] = c >= 0x20 && c != 0x7f ? (char)c : '?';
    }
    out[o] = '\0';
}

static bool is_zip(const uint8_t *p, size_t n)
{
    return n >= 4 && !memcmp(p, "PK\003\004", 4);
}

/* Sort an HTTP answer of /asic or /verificationconf into a status. */
static void classify(const struct adp_xfer_result *res, const char *what,
                     struct adp_fetch_result *out)
{
    char text[SS_TEXT_MAX + 1];
    long st = res->http_status;

    ss_text(res, text, sizeof(text));
    out->http_status = st;
    if (res->cls == ADP_XFER_TOO_LARGE) {
        out->st = ADP_FETCH_TOO_LARGE;
        snprintf(out->msg, sizeof(out->msg), "%s: %s", what, res->message);
    } else if (res->cls != ADP_XFER_OK && res->cls != ADP_XFER_HTTP_STATUS) {
        out->st = ADP_FETCH_UNREACHABLE;
        snprintf(out->msg, sizeof(out->msg),
                 "%s: the security server cannot be reached (%s): %s", what,
                 adp_xfer_class_name(res->cls), res->message);
    } else if (strstr(text, "timestamped yet") ||
               (st == 404 && strstr(text, "timestamp"))) {
        out->st = ADP_FETCH_NOT_TIMESTAMPED;
        snprintf(out->msg, sizeof(out->msg),
                 "%s: not time-stamped yet (HTTP %ld: %s)", what, st, text);
    } else if (st == 404) {
        out->st = ADP_FETCH_NOT_FOUND;
        snprintf(out->msg, sizeof(out->msg),
                 "%s: not found (HTTP 404: %s): no such query id for this "
                 "client, not yet time-stamped, or already archived",
                 what, text);
    } else if (st == 401 || st == 403) {
        out->st = ADP_FETCH_DENIED;
        snprintf(out->msg, sizeof(out->msg),
                 "%s: not allowed (HTTP %ld: %s): the security server did not "
                 "accept this client's connection (IS authentication: the "
                 "client certificate, or the address it may connect from)",
                 what, st, text);
    } else if (st == 400) {
        out->st = ADP_FETCH_BAD_PARAMS;
        snprintf(out->msg, sizeof(out->msg),
                 "%s: bad parameters (HTTP 400: %s)", what, text);
    } else if (st != 200) {
        out->st = ADP_FETCH_SERVER_ERROR;
        snprintf(out->msg, sizeof(out->msg),
                 "%s: the security server failed (HTTP %ld: %s)", what, st,
                 text);
    } else if (!is_zip(res->body, res->body_len)) {
        /* archive-encryption-enabled: OpenPGP, application/octet-stream */
        out->st = ADP_FETCH_ENCRYPTED;
        snprintf(out->msg, sizeof(out->msg),
                 "%s: the answer is not a ZIP (Content-Type %s): an encrypted "
                 "archive (archive-encryption-enabled); decrypt it with the "
                 "archive key and use vayla verify",
                 what, res->content_type ? res->content_type : "none");
    } else {
        out->st = ADP_FETCH_OK;
    }
}

struct get_wait {
    bool done;
    struct adp_fetch_result *out;
    const char *what;
    struct event_base *base;
};

static void on_get(struct adp_xfer *x, const struct adp_xfer_result *res,
                   void *ctx)
{
    struct get_wait *w = ctx;

    classify(res, w->what, w->out);
    if (w->out->st == ADP_FETCH_OK)
        w->out->body = adp_xfer_take_body(x, &w->out->len);
    if (w->out->st == ADP_FETCH_OK && !w->out->body) {
        w->out->st = ADP_FETCH_SERVER_ERROR;
        snprintf(w->out->msg, sizeof(w->out->msg), "%s: empty answer", w->what);
    }
    w->done = true;
    event_base_loopbreak(w->base);
}

bool adp_fetch_get(const struct adp_fetch *f, const char *path, size_t max,
                   const char *what, struct adp_fetch_result *out)
{
    struct adp_upstream_req rq;
    struct get_wait w = {false, out, what, f->base};
    struct adp_xfer *x = NULL;
    struct xr_error err;

    memset(out, 0, sizeof(*out));
    memset(&rq, 0, sizeof(rq));
    rq.get = true;
    rq.path = path;
    rq.max_response_bytes = max;
    rq.timeout_ms_max = f->timeout_ms_max;
    out->st = ADP_FETCH_UNREACHABLE;
    if (adp_upstream_exchange(f->up, f->ss, &rq, on_get, &w, &x, &err) !=
        XR_OK) {
        snprintf(out->msg, sizeof(out->msg), "%s: cannot start: %s", what,
                 err.msg);
        return false;
    }
    /* Every exchange has a deadline: the loop has a timer until then. */
    while (!w.done) {
        if (event_base_dispatch(f->base) != 0 && !w.done) {
            snprintf(out->msg, sizeof(out->msg), "%s: the event loop stopped",
                     what);
            adp_xfer_free(x);
            return false;
        }
    }
    adp_xfer_free(x);
    return true;
}

/* Percent-encode all but RFC 3986 unreserved characters. */
static bool put_enc(char *buf, size_t size, size_t *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
                     *p == '.' || *p == '~';
        if (*o + 4 >= size)
            return false;
        if (plain) {
            buf[(*o)++] = (char)*p;
        } else {
            buf[(*o)++] = '%';
            buf[(*o)++] = hex[*p >> 4];
            buf[(*o)++] = hex[*p & 15];
        }
    }
    buf[*o] = '\0';
    return true;
}

static bool put_raw(char *buf, size_t size, size_t *o, const char *s)
{
    size_t n = strlen(s);

    if (*o + n >= size)
        return false;
    memcpy(buf + *o, s, n + 1);
    *o += n;
    return true;
}

bool adp_asic_path(const struct adp_asic_query *q, char *buf, size_t size)
{
    const struct xr_id *c = q->client;
    size_t o = 0;
    bool ok;

    ok = put_raw(buf, size, &o, "/asic?queryId=") &&
         put_enc(buf, size, &o, q->query_id) &&
         put_raw(buf, size, &o, "&xRoadInstance=") &&
         put_enc(buf, size, &o, c->instance) &&
         put_raw(buf, size, &o, "&memberClass=") &&
         put_enc(buf, size, &o, c->member_class) &&
         put_raw(buf, size, &o, "&memberCode=") &&
         put_enc(buf, size, &o, c->member_code);
    if (ok && c->type == XR_ID_SUBSYSTEM)
        ok = put_raw(buf, size, &o, "&subsystemCode=") &&
             put_enc(buf, size, &o, c->subsystem_code);
    if (ok && q->request_only)
        ok = put_raw(buf, size, &o, "&requestOnly");
    if (ok && q->response_only)
        ok = put_raw(buf, size, &o, "&responseOnly");
    if (ok && q->unique)
        ok = put_raw(buf, size, &o, "&unique");
    return ok;
}

bool adp_vconf_load_path(const char *path, struct xr_vconf **vc)
{
    struct stat st;
    struct xr_error err;
    uint8_t *buf = NULL;
    size_t len = 0;
    enum xr_status rc;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "vayla: verification configuration %s: %s\n", path,
                strerror(errno));
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = xr_vconf_load_dir(path, vc, &err);
    } else {
        rc = adp_file_read(path, ADP_ASIC_MAX_BYTES, &buf, &len, &err);
        if (rc == XR_OK)
            rc = xr_vconf_load_zip(buf, len, vc, &err);
        free(buf);
    }
    if (rc != XR_OK) {
        fprintf(stderr, "vayla: verification configuration %s: %s [%s]\n", path,
                err.msg, err.reason);
        return false;
    }
    return true;
}

bool adp_vconf_fetch(const struct adp_fetch *f, struct xr_vconf **vc,
                     struct adp_fetch_result *out)
{
    struct xr_error err;
    bool ok;

    *vc = NULL;
    if (!adp_fetch_get(f, "/verificationconf", ADP_VCONF_MAX_BYTES,
                       "verification configuration", out) ||
        out->st != ADP_FETCH_OK)
        return false;
    ok = xr_vconf_load_zip(out->body, out->len, vc, &err) == XR_OK;
    if (!ok)
        snprintf(out->msg, sizeof(out->msg),
                 "verification configuration from the security server: %s "
                 "[%s]",
                 err.msg, err.reason);
    adp_fetch_result_cleanup(out);
    return ok;
}

/* ---- one query ---- */

enum adp_prove_open adp_prove_env_open(struct adp_prove_env *env,
                                       const char *conf_path,
                                       enum adp_fetch_status *fetch, char *msg,
                                       size_t size)
{
    struct adp_audit_options ao = {.read_only = true};
    struct adp_fetch_result fr;
    struct xr_error err;

    *fetch = ADP_FETCH_OK;
    msg[0] = '\0';
    if (!env->cfg->audit.path) {
        snprintf(msg, size, "[audit] path is not set");
        return ADP_PROVE_OPEN_AUDIT;
    }
    if (adp_audit_open(env->cfg->audit.path, &ao, &env->audit, &err) != XR_OK) {
        snprintf(msg, size, "audit store: %s", err.msg);
        return ADP_PROVE_OPEN_AUDIT;
    }
    if (conf_path && !adp_vconf_load_path(conf_path, &env->vc)) {
        snprintf(msg, size, "verification configuration %s", conf_path);
        return ADP_PROVE_OPEN_VCONF;
    }
    if (!conf_path && !adp_vconf_fetch(&env->fetch, &env->vc, &fr)) {
        *fetch = fr.st;
        snprintf(msg, size, "%s", fr.msg);
        return fr.st == ADP_FETCH_OK ? ADP_PROVE_OPEN_VCONF
                                     : ADP_PROVE_OPEN_FETCH;
    }
    /* Without a cache every container is checked in full: still right. */
    if (xr_asic_cache_new(&env->cache, &err) != XR_OK)
        env->cache = NULL;
    return ADP_PROVE_OPEN_OK;
}

void adp_prove_env_close(struct adp_prove_env *env)
{
    xr_asic_cache_free(env->cache);
    xr_vconf_free(env->vc);
    adp_audit_close(env->audit);
    env->cache = NULL;
    env->vc = NULL;
    env->audit = NULL;
}

/* The latest intent with this id and its outcome, copied. */
struct record {
    bool found;
    bool has_req, has_resp;
    uint8_t req[ADP_AUDIT_SHA512_LEN], resp[ADP_AUDIT_SHA512_LEN];
    char caller[ADP_AUDIT_TEXT_MAX + 1];
    char service[ADP_AUDIT_TEXT_MAX + 1];
};

static int record_cb(void *ctx, const struct adp_audit_row *in,
                     const struct adp_audit_row *o)
{
    struct record *r = ctx;

    memset(r, 0, sizeof(*r));
    r->found = true;
    if ((r->has_req = in->request_sha512 != NULL))
        memcpy(r->req, in->request_sha512, ADP_AUDIT_SHA512_LEN);
    if ((r->has_resp = o && o->response_sha512))
        memcpy(r->resp, o->response_sha512, ADP_AUDIT_SHA512_LEN);
    snprintf(r->caller, sizeof(r->caller), "%s", in->caller ? in->caller : "");
    snprintf(r->service, sizeof(r->service), "%s",
             in->service ? in->service : "");
    return 0; /* the latest wins */
}

/* The client of the message: the API caller's own client subsystem when
 * the record names one that has it, else [xroad] client. */
static const struct xr_id *client_of(const struct adp_config *cfg,
                                     const char *caller)
{
    for (size_t i = 0; i < cfg->ncallers; i++)
        if (!strcmp(cfg->callers[i].name, caller) && cfg->callers[i].has_client)
            return &cfg->callers[i].client;
    return &cfg->xroad.client;
}

/* The provider of `service` (member or subsystem): the response signer. */
static bool provider_of(const char *service, struct xr_id *out)
{
    struct xr_error err;
    struct xr_id s;

    if (xr_id_parse_service(service, &s, &err) != XR_OK)
        return false;
    memset(out, 0, sizeof(*out));
    out->type = s.subsystem_code[0] ? XR_ID_SUBSYSTEM : XR_ID_MEMBER;
    memcpy(out->instance, s.instance, sizeof(out->instance));
    memcpy(out->member_class, s.member_class, sizeof(out->member_class));
    memcpy(out->member_code, s.member_code, sizeof(out->member_code));
    memcpy(out->subsystem_code, s.subsystem_code, sizeof(out->subsystem_code));
    return true;
}

/* Download and verify one side; *res (may stay NULL) is the caller's. */
static void side(const struct adp_prove_env *env, const char *id,
                 const struct xr_id *client, bool response,
                 struct adp_fetch_result *fr, struct xr_asic_result **res,
                 struct adp_prove_evidence *e)
{
    struct adp_asic_query q = {id, client, !response, response, true};
    char path[3 * ADP_PROVE_ID_MAX + 4 * 3 * (XR_ID_PART_MAX + 1) + 128];
    struct xr_error err;

    memset(e, 0, sizeof(*e));
    e->fetch = ADP_FETCH_BAD_PARAMS;
    e->fetch_msg = "the message id is too long";
    if (!adp_asic_path(&q, path, sizeof(path)))
        return;
    (void)adp_fetch_get(&env->fetch, path, ADP_ASIC_MAX_BYTES,
                        response ? "response container" : "request container",
                        fr);
    e->fetch = fr->st;
    e->fetch_msg = fr->msg;
    if (fr->st != ADP_FETCH_OK)
        return;
    /* Invalid or not, *res says what was learnt (NULL only without
     * memory). */
    if (xr_asic_verify(env->vc, fr->body, fr->len, NULL, env->cache, res,
                       &err) != XR_OK &&
        !*res) {
        e->code = err.reason;
        e->msg = "cannot verify (out of memory)";
        return;
    }
    e->valid = xr_asic_result_valid(*res);
    e->code = xr_asic_result_error(*res)->reason;
    e->msg = xr_asic_result_error(*res)->msg;
    e->signer = xr_asic_result_signer(*res);
    e->message = xr_asic_result_message(*res).ptr;
    e->message_len = xr_asic_result_message(*res).len;
}

bool adp_prove_one(const struct adp_prove_env *env, const char *message_id,
                   struct adp_prove_result *out, struct xr_error *err)
{
    struct adp_audit_filter f;
    struct record rec;
    struct adp_prove_input in;
    struct adp_fetch_result fr[2];
    struct xr_asic_result *res[2] = {NULL, NULL};
    struct xr_id provider;
    const struct xr_id *client;

    memset(&f, 0, sizeof(f));
    memset(&rec, 0, sizeof(rec));
    memset(&in, 0, sizeof(in));
    memset(fr, 0, sizeof(fr));
    f.message_id = message_id;
    if (adp_audit_search(env->audit, &f, record_cb, &rec, err) != XR_OK)
        return false;
    in.in_audit = rec.found;
    in.request_sha512 = rec.has_req ? rec.req : NULL;
    in.response_sha512 = rec.has_resp ? rec.resp : NULL;
    if (in.in_audit && in.response_sha512) {
        client = client_of(env->cfg, rec.caller);
        in.client = client;
        in.provider = provider_of(rec.service, &provider) ? &provider : NULL;
        side(env, message_id, client, false, &fr[0], &res[0], &in.req);
        if (in.req.fetch == ADP_FETCH_OK)
            side(env, message_id, client, true, &fr[1], &res[1], &in.resp);
    }
    adp_prove_judge(&in, out);
    for (size_t i = 0; i < 2; i++) {
        xr_asic_result_free(res[i]);
        adp_fetch_result_cleanup(&fr[i]);
    }
    return true;
}

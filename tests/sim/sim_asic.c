/*
 * The simulator's signed message log, as a security server keeps one:
 * every completed exchange is logged twice, the request signed with the
 * client member's key and the response with the provider member's key
 * (the simulator plays both security servers), each signature with an
 * OCSP response for its certificate (one response per signer, refreshed
 * every 20 minutes as a security server caches them), time-stamped at
 * once (timestamping = single) or by a periodic batch (the default). The
 * containers are made with tests/common/asic_forge and served by
 * sim_asic_http.c. With body_logging = false the logged message has its
 * body replaced by an empty xrd:<serviceCode> element, as a security
 * server with message-body-logging=false does: its signature can then
 * never verify (vayla verify says message_body_not_logged).
 *
 * PKI files (written by `vayla dev init` into DIR/asic/): ca, ocsp, tsa
 * (.pem + .key) and sign-<INSTANCE>_<CLASS>_<CODE>.{pem,key} per member.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "asic_forge.h"
#include "sim.h"
#include "sim_asic.h"

#define OCSP_REFRESH_S 1200
#define MAX_SIGNERS    16

struct signer {
    char member[3 * (XR_ID_PART_MAX + 1)]; /* INST/CLASS/CODE */
    struct af_party party;
    uint8_t *ocsp; /* cached response */
    size_t ocsp_len;
    time_t ocsp_made;
};

struct sim_asic {
    struct af_trust trust;
    struct signer signers[MAX_SIGNERS];
    size_t nsigners;
    struct sim_asic_record *ring; /* SIM_ASIC_MAX_RECORDS */
    size_t start, count;
    unsigned long seq;
    struct event *timer;
    bool single, no_body;
};

int sim_asic_conf_set(struct sim_conf *conf, const char *key, const char *value,
                      char *why, size_t size)
{
    struct sim_asic_conf *a = &conf->asic;
    long v;
    int n;

    if (!strcmp(key, "pki")) {
        if (value[0] == '/' || !conf->dir[0])
            n = snprintf(a->pki_dir, sizeof(a->pki_dir), "%s", value);
        else
            n = snprintf(a->pki_dir, sizeof(a->pki_dir), "%s/%s", conf->dir,
                         value);
        if (n < 0 || (size_t)n >= sizeof(a->pki_dir)) {
            snprintf(why, size, "path too long");
            return -1;
        }
    } else if (!strcmp(key, "instance")) {
        if (!xr_id_part_is_valid(value) ||
            strlen(value) >= sizeof(a->instance)) {
            snprintf(why, size, "not an X-Road instance");
            return -1;
        }
        sim_strlcpy(a->instance, value, sizeof(a->instance));
    } else if (!strcmp(key, "timestamping")) {
        if (strcmp(value, "single") && strcmp(value, "batch")) {
            snprintf(why, size, "must be single or batch");
            return -1;
        }
        a->single_ts = !strcmp(value, "single");
    } else if (!strcmp(key, "batch_interval_ms")) {
        if (sim_parse_long(value, 10, 3600000L, &v) != 0) {
            snprintf(why, size, "must be 10..3600000");
            return -1;
        }
        a->batch_interval_ms = (unsigned)v;
    } else if (!strcmp(key, "body_logging")) {
        if (strcmp(value, "true") && strcmp(value, "false")) {
            snprintf(why, size, "must be true or false");
            return -1;
        }
        a->no_body_logging = !strcmp(value, "false");
    } else {
        snprintf(why, size, "unknown key");
        return -1;
    }
    return 0;
}

/* ---- set-up ---- */

static int load_signers(struct sim_asic *a, const char *dir, char *errbuf,
                        size_t errsize)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t seen = 0;

    if (!d) {
        snprintf(errbuf, errsize, "%s: cannot open", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL && ++seen < 1024) {
        char base[256], path[SIM_PATH_MAX + 300];
        size_t n = strlen(e->d_name);
        struct signer *s;
        FILE *f;
        if (strncmp(e->d_name, "sign-", 5) || n < 10 || n >= sizeof(base) ||
            strcmp(e->d_name + n - 4, ".pem") || a->nsigners == MAX_SIGNERS)
            continue;
        s = &a->signers[a->nsigners];
        memcpy(base, e->d_name, n - 4);
        base[n - 4] = '\0';
        /* sign-INST_CLASS_CODE: '_' separates the parts. */
        sim_strlcpy(s->member, base + 5, sizeof(s->member));
        for (char *p = s->member; *p; p++)
            if (*p == '_')
                *p = '/';
        snprintf(path, sizeof(path), "%s/%s.pem", dir, base);
        f = fopen(path, "r");
        s->party.cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        snprintf(path, sizeof(path), "%s/%s.key", dir, base);
        f = fopen(path, "r");
        s->party.key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        if (!s->party.cert || !s->party.key) {
            af_party_cleanup(&s->party);
            closedir(d);
            snprintf(errbuf, errsize, "%s: cannot read %s.pem/.key", dir, base);
            return -1;
        }
        a->nsigners++;
    }
    closedir(d);
    return 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sim_asic_stamp(arg);
}

int sim_asic_new(struct event_base *base, const struct sim_conf *conf,
                 struct sim_asic **out, char *errbuf, size_t errsize)
{
    const struct sim_asic_conf *c = &conf->asic;
    struct sim_asic *a;
    unsigned ms = c->batch_interval_ms ? c->batch_interval_ms : 1000u;
    struct timeval tv = {(time_t)(ms / 1000u),
                         (suseconds_t)(ms % 1000u) * 1000};

    *out = NULL;
    if (!c->pki_dir[0])
        return 0;
    a = calloc(1, sizeof(*a));
    if (a)
        a->ring = calloc(SIM_ASIC_MAX_RECORDS, sizeof(*a->ring));
    if (!a || !a->ring) {
        free(a);
        snprintf(errbuf, errsize, "out of memory");
        return -1;
    }
    a->single = c->single_ts;
    a->no_body = c->no_body_logging;
    if (af_trust_load(&a->trust, c->instance[0] ? c->instance : "FI-TEST",
                      c->pki_dir) != 0) {
        snprintf(errbuf, errsize, "%s: cannot read {ca,ocsp,tsa}.{pem,key}",
                 c->pki_dir);
        sim_asic_free(a);
        return -1;
    }
    if (load_signers(a, c->pki_dir, errbuf, errsize) != 0) {
        sim_asic_free(a);
        return -1;
    }
    if (!a->single) {
        a->timer = event_new(base, -1, EV_PERSIST, on_timer, a);
        if (!a->timer || event_add(a->timer, &tv) != 0) {
            snprintf(errbuf, errsize, "cannot start the time-stamp timer");
            sim_asic_free(a);
            return -1;
        }
    }
    *out = a;
    return 0;
}

static void record_clear(struct sim_asic_record *r)
{
    free(r->logged);
    free(r->container);
    af_signed_cleanup(&r->sg);
    memset(r, 0, sizeof(*r));
}

void sim_asic_free(struct sim_asic *a)
{
    if (!a)
        return;
    if (a->timer)
        event_free(a->timer);
    for (size_t i = 0; i < a->count; i++)
        record_clear(sim_asic_record_at(a, i));
    free(a->ring);
    for (size_t i = 0; i < a->nsigners; i++) {
        af_party_cleanup(&a->signers[i].party);
        free(a->signers[i].ocsp);
    }
    af_trust_cleanup(&a->trust);
    free(a);
}

/* ---- access for sim_asic_http.c ---- */

size_t sim_asic_count(const struct sim_asic *a)
{
    return a->count;
}

struct sim_asic_record *sim_asic_record_at(struct sim_asic *a, size_t i)
{
    return &a->ring[(a->start + i) % SIM_ASIC_MAX_RECORDS];
}

const struct af_trust *sim_asic_trust(const struct sim_asic *a)
{
    return &a->trust;
}

/* ---- logging ---- */

static struct signer *signer_for(struct sim_asic *a, const struct xr_id *id)
{
    char member[3 * (XR_ID_PART_MAX + 1)];

    snprintf(member, sizeof(member), "%s/%s/%s", id->instance, id->member_class,
             id->member_code);
    for (size_t i = 0; i < a->nsigners; i++)
        if (!strcmp(a->signers[i].member, member))
            return &a->signers[i];
    return NULL;
}

/* The signer's OCSP response: made once, refreshed as an SS does. */
static int ocsp_for(struct sim_asic *a, struct signer *s, time_t now)
{
    struct af_ocsp_opts o = {.status = V_OCSP_CERTSTATUS_GOOD,
                             .this_update = (int64_t)now - 60};

    if (s->ocsp && now - s->ocsp_made < OCSP_REFRESH_S)
        return 0;
    free(s->ocsp);
    s->ocsp = NULL;
    if (af_ocsp(&a->trust, s->party.cert, a->trust.ca.cert, &o, &s->ocsp,
                &s->ocsp_len) != 0)
        return -1;
    s->ocsp_made = now;
    return 0;
}

/*
 * The message as a security server with message-body-logging=false logs
 * it: same header, Body holding an empty xrd:<serviceCode>[Response].
 */
static uint8_t *blank_body(const uint8_t *msg, size_t len, const char *code,
                           bool response, size_t *out_len)
{
    xmlDocPtr doc =
        xmlReadMemory((const char *)msg, (int)len, NULL, NULL, XML_PARSE_NONET);
    xmlNodePtr body = NULL, el;
    xmlNsPtr ns;
    xmlChar *mem = NULL;
    char name[XR_ID_PART_MAX + 16];
    int size = 0;
    uint8_t *out = NULL;

    if (!doc)
        return NULL;
    for (xmlNodePtr c = xmlDocGetRootElement(doc)->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !strcmp(sim_cs(c->name), "Body"))
            body = c;
    if (!body)
        goto out;
    while (body->children) {
        xmlNodePtr c = body->children;
        xmlUnlinkNode(c);
        xmlFreeNode(c);
    }
    snprintf(name, sizeof(name), "%s%s", code, response ? "Response" : "");
    el = xmlNewChild(body, NULL, sim_xc(name), NULL);
    ns = el ? xmlSearchNsByHref(doc, el, sim_xc(XR_NS_XROAD)) : NULL;
    if (el && !ns)
        ns = xmlNewNs(el, sim_xc(XR_NS_XROAD), sim_xc("xrd"));
    if (!el || !ns)
        goto out;
    xmlSetNs(el, ns);
    xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
    if (mem && size > 0 && (out = malloc((size_t)size)) != NULL) {
        memcpy(out, mem, (size_t)size);
        *out_len = (size_t)size;
    }
out:
    xmlFree(mem);
    xmlFreeDoc(doc);
    return out;
}

static struct sim_asic_record *new_record(struct sim_asic *a)
{
    struct sim_asic_record *r;

    if (a->count == SIM_ASIC_MAX_RECORDS) {
        record_clear(sim_asic_record_at(a, 0));
        a->start = (a->start + 1) % SIM_ASIC_MAX_RECORDS;
        a->count--;
    }
    r = sim_asic_record_at(a, a->count);
    memset(r, 0, sizeof(*r));
    a->count++;
    r->seq = ++a->seq;
    return r;
}

/* Zip the container of a record stamped singly, or of a batch member. */
static int zip_record(struct sim_asic_record *r, const struct af_batch *b,
                      size_t i)
{
    struct af_spec s;

    memset(&s, 0, sizeof(s));
    s.message = r->logged;
    s.message_len = r->logged_len;
    s.deflate = true;
    if (af_zip_container(&s, &r->sg, b, i, &r->container, &r->container_len) !=
        0)
        return -1;
    r->stamped = true;
    return 0;
}

static void log_one(struct sim_asic *a, const struct xr_header *h,
                    bool response, const uint8_t *msg, size_t len)
{
    const struct xr_id *who = response ? &h->service : &h->client;
    struct signer *s = signer_for(a, who);
    struct sim_asic_record *r;
    struct af_spec spec;
    time_t now = time(NULL);

    if (!s || ocsp_for(a, s, now) != 0) {
        sim_log("asic: no signing key for %s/%s/%s; not logged", who->instance,
                who->member_class, who->member_code);
        return;
    }
    r = new_record(a);
    sim_strlcpy(r->id, h->id, sizeof(r->id));
    r->client = h->client;
    r->response = response;
    af_spec_init(&spec, &s->party, (int64_t)now);
    spec.message = msg;
    spec.message_len = len;
    spec.ts = a->single ? AF_TS_SINGLE : AF_TS_BATCH;
    spec.ocsp_der = s->ocsp;
    spec.ocsp_der_len = s->ocsp_len;
    if (af_sign(&a->trust, &spec, &r->sg) != 0)
        goto fail;
    if (a->no_body)
        r->logged = blank_body(msg, len, h->service.service_code, response,
                               &r->logged_len);
    else if ((r->logged = malloc(len ? len : 1)) != NULL) {
        memcpy(r->logged, msg, len);
        r->logged_len = len;
    }
    if (!r->logged)
        goto fail;
    if (a->single && zip_record(r, NULL, 0) != 0)
        goto fail;
    return;
fail:
    sim_log("asic: cannot sign or log message %.80s", h->id);
    record_clear(r);
    a->count--;
}

void sim_asic_log(struct sim_asic *a, struct xr_request *req,
                  const uint8_t *resp, size_t resp_len)
{
    const struct xr_header *h;
    struct xr_bytes rb;

    if (!a || !req || !(h = xr_request_header(req)))
        return;
    rb = xr_request_bytes(req);
    log_one(a, h, false, rb.ptr, rb.len);
    log_one(a, h, true, resp, resp_len);
}

int sim_asic_stamp(struct sim_asic *a)
{
    size_t n = 0, k = 0;
    const char **sigs;
    size_t *lens, *idx;
    struct af_batch b;
    int rc = -1;

    for (size_t i = 0; i < a->count; i++)
        if (!sim_asic_record_at(a, i)->stamped)
            n++;
    if (n == 0)
        return 0;
    sigs = calloc(n, sizeof(*sigs));
    lens = calloc(n, sizeof(*lens));
    idx = calloc(n, sizeof(*idx));
    if (!sigs || !lens || !idx)
        goto out;
    for (size_t i = 0; i < a->count; i++) {
        struct sim_asic_record *r = sim_asic_record_at(a, i);
        if (r->stamped)
            continue;
        sigs[k] = r->sg.signatures;
        lens[k] = r->sg.signatures_len;
        idx[k++] = i;
    }
    if (af_batch_stamp(&a->trust, NULL, sigs, lens, n, (int64_t)time(NULL),
                       &b) != 0)
        goto out;
    rc = 0;
    for (size_t j = 0; j < n; j++)
        if (zip_record(sim_asic_record_at(a, idx[j]), &b, j) != 0)
            rc = -1;
    af_batch_cleanup(&b);
    sim_log("asic: time-stamped a batch of %zu record(s)", n);
out:
    if (rc != 0)
        sim_log("asic: batch time-stamping failed");
    free(sigs);
    free(lens);
    free(idx);
    return rc;
}

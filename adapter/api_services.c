/*
 * GET /v1/xroad/services (api_internal.h): the services this caller may
 * call through POST /v1/xroad/soap/, from its `services` list, each
 * marked with what the security server says: X-Road's allowedMethods
 * metaservice, asked of every provider subsystem in the list with the
 * caller's own client subsystem, tells which of them the provider's
 * access rights grant. A service the configuration allows but the
 * provider does not grant is the commonest cause of an
 * `AccessDenied` fault on the generic path; this shows it before a
 * query fails.
 *
 * The checks are ordinary queries of the pipeline, one provider at a
 * time (their number is capped), so each is audited like any other, and
 * a provider that cannot be asked (fault, transport) marks its services
 * unknown rather than failing the listing. `?check=false` lists the
 * configuration alone, without asking anyone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api_internal.h"
#include "services/meta.h"

/* Providers asked per listing; the services of any beyond are listed
 * with "granted": null and "check": "not_checked". */
#define SERVICES_PROVIDERS_MAX 8u

/* What allowedMethods said about one configured service. */
enum grant {
    GRANT_UNCHECKED, /* not asked (check=false, or over the cap) */
    GRANT_YES,
    GRANT_NO,
    GRANT_UNKNOWN /* its provider could not be asked */
};

struct services_check {
    size_t n;          /* r->caller->nservices */
    enum grant *grant; /* per configured service */
    const char **why;  /* per service: the reason when unknown */
    struct xr_id providers[SERVICES_PROVIDERS_MAX];
    size_t nproviders;
    size_t next;            /* the provider being asked */
    struct meta_call *call; /* its allowedMethods call */
    struct xr_id service;   /* its metaservice id */
};

void adp__api_services_free(struct services_check *s)
{
    if (!s)
        return;
    meta_call_free(s->call);
    free(s->grant);
    free(s->why);
    free(s);
}

static bool same_subsystem(const struct xr_id *a, const struct xr_id *b)
{
    return !strcmp(a->instance, b->instance) &&
           !strcmp(a->member_class, b->member_class) &&
           !strcmp(a->member_code, b->member_code) &&
           !strcmp(a->subsystem_code, b->subsystem_code);
}

/* The distinct provider subsystems of the list, at most the cap. */
static void providers_of(const struct adp_caller *c, struct services_check *s)
{
    for (size_t i = 0; i < c->nservices; i++) {
        const struct xr_id *svc = &c->services[i];
        bool seen = false;

        for (size_t j = 0; j < s->nproviders && !seen; j++)
            seen = same_subsystem(&s->providers[j], svc);
        if (seen || s->nproviders == SERVICES_PROVIDERS_MAX)
            continue;
        s->providers[s->nproviders] = *svc;
        s->providers[s->nproviders].type = XR_ID_SUBSYSTEM;
        s->providers[s->nproviders].service_code[0] = '\0';
        s->providers[s->nproviders].service_version[0] = '\0';
        s->nproviders++;
    }
}

/* Mark the configured services of provider p from its answer (granted
 * NULL: the provider could not be asked, for reason `why`). */
static void mark(const struct adp_caller *c, struct services_check *s,
                 const struct xr_id *p, const struct xr_id *granted,
                 size_t ngranted, const char *why)
{
    for (size_t i = 0; i < c->nservices; i++) {
        const struct xr_id *want = &c->services[i];
        bool yes = false;

        if (!same_subsystem(want, p))
            continue;
        if (!granted) {
            s->grant[i] = GRANT_UNKNOWN;
            s->why[i] = why;
            continue;
        }
        /* A versionless entry is granted when any version is. */
        for (size_t k = 0; k < ngranted && !yes; k++)
            yes = same_subsystem(&granted[k], p) &&
                  !strcmp(granted[k].service_code, want->service_code) &&
                  (!want->service_version[0] ||
                   !strcmp(granted[k].service_version, want->service_version));
        s->grant[i] = yes ? GRANT_YES : GRANT_NO;
    }
}

static void answer(struct adp_req *r)
{
    const struct adp_caller *c = r->caller;
    struct services_check *s = r->services;
    json_t *body = json_object(), *list = json_array();
    char text[XR_ID_TEXT_MAX];

    if (!body || !list) {
        json_decref(body);
        json_decref(list);
        adp__api_reply_error(r, 503, "out_of_memory", "out of memory",
                             AO_REJECTED);
        return;
    }
    for (size_t i = 0; i < c->nservices; i++) {
        json_t *o = json_object();
        enum grant g = s ? s->grant[i] : GRANT_UNCHECKED;

        (void)xr_id_format(&c->services[i], false, text, sizeof(text));
        json_object_set_new(o, "service", json_string(text));
        json_object_set_new(o, "path",
                            json_sprintf(API_SOAP_PREFIX "%s", text));
        json_object_set_new(o, "granted",
                            g == GRANT_YES  ? json_true()
                            : g == GRANT_NO ? json_false()
                                            : json_null());
        json_object_set_new(o, "check",
                            json_string(g == GRANT_YES       ? "allowed_methods"
                                        : g == GRANT_NO      ? "allowed_methods"
                                        : g == GRANT_UNKNOWN ? s->why[i]
                                                             : "not_checked"));
        json_array_append_new(list, o);
    }
    json_object_set_new(body, "services", list);
    r->body = body;
    r->status = 200;
    r->outcome = AO_OK;
    adp__api_reply_send(r);
}

static void ask_next(struct adp_req *r);

static void on_allowed(struct adp_query *q, const struct adp_verdict *v,
                       void *ctx)
{
    struct adp_req *r = ctx;
    struct services_check *s = r->services;
    const struct xr_id *p = &s->providers[s->next];
    const struct xr_id *ids = NULL;
    size_t n;

    (void)q;
    if (v->cls == ADP_VERDICT_DATA) {
        n = meta_call_services(s->call, &ids);
        mark(r->caller, s, p, ids ? ids : p, ids ? n : 0, NULL);
    } else {
        adp__api_verdict_note(r, v);
        mark(r->caller, s, p, NULL, 0,
             v->cls == ADP_VERDICT_FAULT       ? "fault"
             : v->cls == ADP_VERDICT_TRANSPORT ? "transport_error"
             : v->cls == ADP_VERDICT_AUDIT     ? "audit_unavailable"
                                               : "invalid_response");
    }
    /* The query may be freed from inside its own done callback. */
    adp_query_free(r->query);
    r->query = NULL;
    meta_call_free(s->call);
    s->call = NULL;
    s->next++;
    ask_next(r);
}

/* Ask the next provider, or answer when every one has been asked. */
static void ask_next(struct adp_req *r)
{
    struct services_check *s = r->services;
    struct meta_call_params mp = {.kind = XR_META_KIND_ALLOWED_METHODS};
    struct adp_query_params qp;
    struct xr_error err;

    while (s->next < s->nproviders) {
        const struct xr_id *p = &s->providers[s->next];

        if (r->api->host.draining(r->api->host.ctx)) {
            mark(r->caller, s, p, NULL, 0, "shutting_down");
            s->next++;
            continue;
        }
        if (meta_service_id(p, mp.kind, &s->service, &err) != XR_OK ||
            meta_call_new(&mp, &s->call, &err) != XR_OK) {
            mark(r->caller, s, p, NULL, 0, "internal_error");
            s->next++;
            continue;
        }
        adp__api_query_params(r, on_allowed, &qp);
        qp.svc = &meta_service;
        qp.call = s->call;
        qp.service = &s->service;
        if (adp_query_new(&qp, &r->query, &err) != XR_OK) {
            meta_call_free(s->call);
            s->call = NULL;
            mark(r->caller, s, p, NULL, 0, "internal_error");
            s->next++;
            continue;
        }
        adp_query_start(r->query); /* on_allowed may run at once */
        return;
    }
    answer(r);
}

/* `check=false` (or 0, no) in the query string. */
static bool check_wanted(const struct adp_req *r)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->http);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq kv;
    const char *v;
    bool want = true;

    if (!query || evhttp_parse_query_str(query, &kv) != 0)
        return true;
    v = evhttp_find_header(&kv, "check");
    if (v && (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")))
        want = false;
    evhttp_clear_headers(&kv);
    return want;
}

/* End user and purpose of the checks: the caller's headers when given,
 * else the caller itself asking for this listing. */
static bool texts_of(struct adp_req *r)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(r->http);
    const char *user = evhttp_find_header(h, "X-Road-UserId");
    const char *issue = evhttp_find_header(h, "X-Road-Issue");
    char self[ADP_CALLER_NAME_MAX + 8];
    struct xr_error err;

    snprintf(self, sizeof(self), "vayla:%s", r->caller->name);
    if (adp_query_text(ADP_TEXT_END_USER, user ? user : self, XR_TEXT_MAX,
                       &r->end_user, &err) != XR_OK ||
        adp_query_text(ADP_TEXT_PURPOSE,
                       issue ? issue : "GET " API_SERVICES_PATH,
                       API_PURPOSE_MAX, &r->purpose, &err) != XR_OK) {
        adp__api_reply_input_error(r, &err);
        return false;
    }
    return true;
}

void adp__api_services(struct adp_req *r)
{
    struct services_check *s;
    size_t n;

    if (!adp__api_admit(r, ADP_OP_XROAD_SOAP))
        return;
    n = r->caller->nservices;
    if (n == 0 || !check_wanted(r)) {
        answer(r);
        return;
    }
    if (!texts_of(r))
        return;
    s = calloc(1, sizeof(*s));
    if (s) {
        s->grant = calloc(n, sizeof(*s->grant));
        s->why = calloc(n, sizeof(*s->why));
    }
    r->services = s;
    if (!s || !s->grant || !s->why) {
        adp__api_reply_error(r, 503, "out_of_memory", "out of memory",
                             AO_REJECTED);
        return;
    }
    s->n = n;
    providers_of(r->caller, s);
    ask_next(r);
}

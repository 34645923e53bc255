/*
 * POST /v1/vtj/person: the VTJ face of the query pipeline
 * (api_internal.h). A JSON query in, vtj_call through the pipeline, and
 * the verdict out as the person JSON or an error (docs/api.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "api_internal.h"
#include "services/vtj_call.h"

/*
 * The VTJ answer of one result as JSON text into w, its object left open:
 * "message_id" (null if none was sent), then the members of the person
 * JSON. No jansson tree: the result writes its own members.
 */
static void vtj_answer(struct jw *w, const char *message_id,
                       const struct vtj_result *res)
{
    JW_LIT(w, "{\"message_id\":");
    if (message_id)
        jw_string(w, message_id, strlen(message_id));
    else
        JW_LIT(w, "null");
    vtj_result_write_members(res, w);
}

/* The member ,"code":code. */
static void code_member(struct jw *w, const char *code)
{
    JW_LIT(w, ",\"code\":");
    jw_string(w, code, strlen(code));
}

/*
 * The passivated answer that was followed, as an object: its own message
 * id, its JSON and its outcome as "code".
 */
static void passivated_object(struct jw *w, const char *message_id,
                              const struct vtj_result *first)
{
    vtj_answer(w, message_id, first);
    code_member(w, vtj_outcome_name(vtj_result_outcome(first)));
    jw_putc(w, '}');
}

/*
 * The same object as the member "passivated" of a body that is a jansson
 * tree (a failed follow-up): written as above and read back, so the shape
 * has one definition.
 */
static void passivated_json(json_t *body, const char *message_id,
                            const struct vtj_result *first)
{
    struct jw w = {0};
    size_t len = 0;
    char *text;
    json_t *o;

    passivated_object(&w, message_id, first);
    text = jw_finish_line(&w, &len);
    o = text ? json_loadb(text, len, 0, NULL) : NULL;
    free(text);
    if (o)
        json_object_set_new(body, "passivated", o);
}

/*
 * The body of an answered query (data, no data, service error) as text:
 * the answer, then "code" unless it is data. (A service error's
 * "retryable" is the answer's own member, already written.)
 */
static void answered_text(struct adp_req *r, const struct adp_verdict *v,
                          const char *code)
{
    vtj_answer(&r->text, v->message_id, vtj_call_result(r->vtj));
    if (v->cls != ADP_VERDICT_DATA && code)
        code_member(&r->text, code);
}

/* The pipeline's verdict: translate it and answer. */
static void on_query_done(struct adp_query *q, const struct adp_verdict *v,
                          void *ctx)
{
    struct adp_req *r = ctx;
    const struct vtj_result *first = vtj_call_first(r->vtj);
    const char *code = NULL;
    const char *ids[ADP_QUERY_MAX_STEPS];
    bool followed;

    r->verdict = v;
    r->status = adp_api_verdict_status(v, &code);
    followed = first && adp_query_message_ids(q, ids, ADP_QUERY_MAX_STEPS) > 1;
    if (v->cls == ADP_VERDICT_DATA || v->cls == ADP_VERDICT_NO_DATA ||
        v->cls == ADP_VERDICT_SERVICE_ERROR) {
        r->outcome = adp__api_verdict_outcome(
            v, (unsigned)vtj_result_outcome(vtj_call_result(r->vtj)));
        answered_text(r, v, code);
        if (followed) {
            JW_LIT(&r->text, ",\"passivated\":");
            passivated_object(&r->text, ids[0], first);
        }
    } else {
        r->outcome = adp__api_verdict_outcome(v, AO_REJECTED);
        r->body = adp__api_failed_body(v, code);
        if (r->body && followed)
            passivated_json(r->body, ids[0], first);
    }
    adp__api_verdict_note(r, v);
    adp__api_reply_send(r); /* frees r and q */
}

/* ---- the person route ----------------------------------------------------
 */

/* Copy a JSON string member; false (and an answer sent) when invalid. */
static bool take_string(struct adp_req *r, json_t *v, const char *name,
                        size_t max, char **out)
{
    char msg[128];

    if (!json_is_string(v)) {
        snprintf(msg, sizeof(msg), "%s must be a string", name);
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 400, "bad_request", msg);
        return false;
    }
    if (json_string_length(v) > max) {
        snprintf(msg, sizeof(msg), "%s is longer than %zu bytes", name, max);
        adp__api_reply_error(r, 422, "too_long", msg, AO_REJECTED);
        return false;
    }
    *out = strdup(json_string_value(v));
    if (!*out) {
        adp__api_reply_error(r, 503, "out_of_memory", "out of memory",
                             AO_REJECTED);
        return false;
    }
    return true;
}

/* The members of a person query, as the caller sent them. */
struct person_in {
    char *hetu, *satu, *product, *end_user, *purpose, *billing;
};

static void person_in_free(struct person_in *p)
{
    free(p->hetu);
    free(p->satu);
    free(p->product);
    free(p->end_user);
    free(p->purpose);
    free(p->billing);
}

/* Read the JSON body into *in; false (and an answer sent) when it is not a
 * well-formed person query. */
static bool person_parse(struct adp_req *r, struct person_in *in)
{
    struct evbuffer *buf = evhttp_request_get_input_buffer(r->http);
    size_t len = evbuffer_get_length(buf);
    json_t *doc = NULL, *v;
    json_error_t jerr;
    const char *key;
    bool ok = false;

    if (len > r->gen->cfg->api.max_body_bytes) {
        adp__api_reject(r, ADP_REJECT_TOO_LARGE, 413, "too_large",
                        "the body is over [api] max_body_bytes");
        return false;
    }
    if (len == 0) {
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 400, "malformed_json",
                        "the body is empty; send a JSON object");
        return false;
    }
    doc = json_loadb((const char *)evbuffer_pullup(buf, (ev_ssize_t)len), len,
                     JSON_REJECT_DUPLICATES, &jerr);
    /* The body is parsed: give its buffer back now rather than holding it
     * while the query waits for the security server. */
    evbuffer_drain(buf, len);
    if (!doc || !json_is_object(doc)) {
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 400, "malformed_json",
                        doc ? "the body must be a JSON object" : jerr.text);
        goto out;
    }
    json_object_foreach(doc, key, v)
    {
        bool good;
        if (!strcmp(key, "hetu"))
            good = take_string(r, v, key, 32, &in->hetu);
        else if (!strcmp(key, "satu"))
            good = take_string(r, v, key, 32, &in->satu);
        else if (!strcmp(key, "product"))
            good = take_string(r, v, key, VTJ_PRODUCT_MAX, &in->product);
        else if (!strcmp(key, "end_user"))
            good = take_string(r, v, key, 4 * VTJ_END_USER_MAX_CHARS + 64,
                               &in->end_user);
        else if (!strcmp(key, "purpose"))
            good = take_string(r, v, key, API_PURPOSE_MAX + 64, &in->purpose);
        else if (!strcmp(key, "billing"))
            good = take_string(r, v, key, API_BILLING_MAX, &in->billing);
        else {
            char msg[96];
            snprintf(msg, sizeof(msg), "unknown field '%.40s'", key);
            adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 400, "unknown_field",
                            msg);
            good = false;
        }
        if (!good)
            goto out;
    }
    ok = true;
out:
    json_decref(doc);
    return ok;
}

/* Make the VTJ call and the query of a parsed person request; false (and
 * an answer sent) when an input value is refused. */
static bool person_query(struct adp_req *r, const struct person_in *in)
{
    const struct adp_config *cfg = r->gen->cfg;
    struct vtj_credentials cred = {cfg->vtj.username, cfg->vtj.password};
    struct vtj_call_params vp;
    struct adp_query_params qp;
    struct xr_error err;
    const char *product = in->product ? in->product : cfg->vtj.product;

    if (adp_query_text(ADP_TEXT_END_USER, in->end_user,
                       4 * VTJ_END_USER_MAX_CHARS, &r->end_user,
                       &err) != XR_OK ||
        adp_query_text(ADP_TEXT_PURPOSE, in->purpose, API_PURPOSE_MAX,
                       &r->purpose, &err) != XR_OK) {
        adp__api_reply_input_error(r, &err);
        return false;
    }
    if (!adp_caller_allows(r->caller, ADP_OP_VTJ_PERSON, product)) {
        adp__api_reject(r, ADP_REJECT_FORBIDDEN, 403, "product_not_allowed",
                        "this caller may not use that product");
        return false;
    }
    memset(&vp, 0, sizeof(vp));
    vp.product = product;
    vp.hetu = in->hetu;
    vp.satu = in->satu;
    vp.end_user = r->end_user;
    vp.billing = in->billing;
    vp.service_instance = cfg->vtj.service.instance;
    vp.cred = &cred; /* its strings live in r->gen */
    vp.follow_passivated = cfg->vtj.follow_passivated;
    vp.redact_protected_addresses = r->caller->redact_protected_addresses;
    if (vtj_call_new(&vp, &r->vtj, &err) != XR_OK) {
        adp__api_reply_input_error(r, &err);
        return false;
    }
    adp__api_query_params(r, on_query_done, &qp);
    qp.svc = &vtj_service;
    qp.call = r->vtj;
    qp.service = &cfg->vtj.service;
    if (adp_query_new(&qp, &r->query, &err) != XR_OK) {
        adp__api_reply_input_error(r, &err);
        return false;
    }
    return true;
}

void adp__api_person(struct adp_req *r)
{
    const char *ctype = evhttp_find_header(
        evhttp_request_get_input_headers(r->http), "Content-Type");
    struct person_in in;

    memset(&in, 0, sizeof(in));
    if (!adp__api_admit(r, ADP_OP_VTJ_PERSON))
        return;
    if (!adp__api_is_media(ctype, "application/json")) {
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 415,
                        "unsupported_media_type",
                        "send the query with Content-Type: application/json");
        return;
    }
    if (person_parse(r, &in) && person_query(r, &in)) {
        adp__api_park(r, true);
        adp_query_start(r->query); /* may answer (and free r) at once */
    }
    person_in_free(&in);
}

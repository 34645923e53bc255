/*
 * VTJ person queries as a pipeline service module (vtj_call.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/vtj_call.h"

#define SUBJECT_MAX 16u /* hetu 11, SATU 9 */

struct vtj_call {
    struct vtj_query q;          /* the current request; borrows below */
    struct vtj_credentials cred; /* strings borrowed */
    struct vtj_policy pol;
    char subject[SUBJECT_MAX]; /* hetu or SATU of the current request */
    bool is_satu;
    char *product; /* checked: at most VTJ_PRODUCT_MAX bytes */
    char *end_user;
    char *billing;
    struct vtj_result *result; /* of the current request */
    struct vtj_result *first;  /* of the first, after a follow-up */
};

void vtj_call_free(struct vtj_call *c)
{
    if (!c)
        return;
    vtj_result_free(c->result);
    vtj_result_free(c->first);
    free(c->product);
    free(c->end_user);
    free(c->billing);
    free(c);
}

/* Point the query and the decoding policy at the current subject. */
static void aim(struct vtj_call *c)
{
    c->q.hetu = c->is_satu ? NULL : c->subject;
    c->q.satu = c->is_satu ? c->subject : NULL;
    c->pol.expected_hetu = c->q.hetu;
    c->pol.expected_satu = c->q.satu;
}

enum xr_status vtj_call_new(const struct vtj_call_params *p,
                            struct vtj_call **out, struct xr_error *err)
{
    struct vtj_call *c = NULL;
    const char *subject = p->hetu ? p->hetu : p->satu;
    enum xr_status rc;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    c->cred = *p->cred;
    c->pol.follow_passivated = p->follow_passivated;
    c->pol.redact_protected_addresses = p->redact_protected_addresses;
    c->is_satu = !p->hetu && p->satu;
    c->end_user = p->end_user ? strdup(p->end_user) : NULL;
    c->billing = p->billing ? strdup(p->billing) : NULL;
    if ((p->end_user && !c->end_user) || (p->billing && !c->billing)) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    c->q.product = p->product;
    c->q.hetu = p->hetu;
    c->q.satu = p->satu;
    c->q.end_user = c->end_user;
    c->q.billing = c->billing;
    c->q.refuse_temporary =
        p->service_instance && strcmp(p->service_instance, "FI") == 0;
    /* Every input is checked before anything is recorded or sent. */
    rc = vtj_query_check(&c->q, err);
    if (rc != XR_OK)
        goto out;
    /* Checked: the code fits its buffer. */
    snprintf(c->subject, sizeof(c->subject), "%s", subject);
    if (!(c->product = strdup(p->product))) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    c->q.product = c->product;
    aim(c);
    *out = c;
    c = NULL;
    rc = XR_OK;
out:
    vtj_call_free(c);
    return rc;
}

const struct vtj_result *vtj_call_result(const struct vtj_call *c)
{
    return c->result;
}

const struct vtj_result *vtj_call_first(const struct vtj_call *c)
{
    return c->first;
}

/* ---- adp_service_ops ----------------------------------------------------- */

static enum xr_status body(void *call, char **xml, size_t *len,
                           struct xr_error *err)
{
    struct vtj_call *c = call;

    return vtj_request_body(&c->q, &c->cred, xml, len, err);
}

static void body_free(char *xml, size_t len)
{
    vtj_body_free(xml, len);
}

static enum xr_status decode(void *call, const struct xr_response *resp,
                             struct xr_error *err)
{
    struct vtj_call *c = call;

    vtj_result_free(c->result);
    c->result = NULL;
    return vtj_decode(xr_response_body(resp), &c->pol, &c->result, err);
}

static enum adp_service_result result(const void *call, const char **outcome,
                                      const char **return_code)
{
    const struct vtj_call *c = call;
    enum vtj_outcome o = vtj_result_outcome(c->result);

    *outcome = vtj_outcome_name(o);
    *return_code = vtj_result_return_code(c->result);
    if (vtj_outcome_is_found(o))
        return ADP_SERVICE_DATA;
    /* Credentials, configuration or DVV-side errors: not the caller's
     * fault and not an answer about the person. */
    return vtj_outcome_is_error(o) ? ADP_SERVICE_ERROR : ADP_SERVICE_NO_DATA;
}

static const char *subject(const void *call)
{
    const struct vtj_call *c = call;

    return c->subject;
}

static const char *product(const void *call)
{
    const struct vtj_call *c = call;

    return c->product;
}

/* A passivated code with a new one: query the new one, once. */
static bool follow_up(void *call)
{
    struct vtj_call *c = call;
    struct vtj_query next;

    if (c->first || !vtj_result_follow_up(c->result, &c->pol, &c->q, &next))
        return false;
    snprintf(c->subject, sizeof(c->subject), "%s", next.hetu);
    c->is_satu = false;
    c->first = c->result;
    c->result = NULL;
    aim(c);
    return true;
}

const struct adp_service_ops vtj_service = {
    .name = "vtj",
    .body = body,
    .body_free = body_free,
    .own_body = true, /* vtj_request.c: fixed markup, escaped values */
    .decode = decode,
    .result = result,
    .subject = subject,
    .product = product,
    .follow_up = follow_up,
};

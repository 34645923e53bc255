/*
 * getSecurityServerOperationalData as a pipeline service module
 * (services/opmon.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/opmon.h"

struct opmon_call {
    char *body; /* built once */
    size_t body_len;
    char subject[64]; /* "records FROM..TO" for the audit trail */
    struct xr_meta_limits limits;
    struct xr_opmon_result *result;
};

void opmon_call_free(struct opmon_call *c)
{
    if (!c)
        return;
    free(c->body);
    xr_opmon_result_free(c->result);
    free(c);
}

enum xr_status opmon_call_new(const struct opmon_call_params *p,
                              struct opmon_call **out, struct xr_error *err)
{
    struct xr_opmon_query q;
    struct opmon_call *c;
    enum xr_status rc;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    memset(&q, 0, sizeof(q));
    q.records_from = p->records_from;
    q.records_to = p->records_to;
    q.client = p->provider;
    q.fields = p->fields;
    q.nfields = p->nfields;
    rc = xr_opmon_body(&q, &c->body, &c->body_len, err);
    if (rc != XR_OK) {
        opmon_call_free(c);
        return rc;
    }
    if (p->limits)
        c->limits = *p->limits;
    snprintf(c->subject, sizeof(c->subject), "records %" PRId64 "..%" PRId64,
             p->records_from, p->records_to);
    *out = c;
    return XR_OK;
}

enum xr_status opmon_service_id(const struct xr_id *server, struct xr_id *out,
                                struct xr_error *err)
{
    memset(out, 0, sizeof(*out));
    if (server->type != XR_ID_SERVER)
        return xr_error_set(err, XR_EINVAL, "invalid_id", "security_server",
                            "the security server must be a SERVER identifier");
    /* The service belongs to the server's owner, a member: no subsystem. */
    out->type = XR_ID_SERVICE;
    memcpy(out->instance, server->instance, sizeof(out->instance));
    memcpy(out->member_class, server->member_class, sizeof(out->member_class));
    memcpy(out->member_code, server->member_code, sizeof(out->member_code));
    snprintf(out->service_code, sizeof(out->service_code), "%s",
             XR_OPMON_OPERATIONAL);
    return xr_id_validate(out, err);
}

const struct xr_opmon_result *opmon_call_result(const struct opmon_call *c)
{
    return c->result;
}

/* ---- adp_service_ops ----------------------------------------------------- */

static enum xr_status body(void *call, char **xml, size_t *len,
                           struct xr_error *err)
{
    struct opmon_call *c = call;

    *xml = malloc(c->body_len + 1);
    if (!*xml)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    memcpy(*xml, c->body, c->body_len + 1);
    *len = c->body_len;
    return XR_OK;
}

static void body_free(char *xml, size_t len)
{
    (void)len;
    free(xml);
}

static enum xr_status decode(void *call, const struct xr_response *resp,
                             struct xr_error *err)
{
    struct opmon_call *c = call;

    xr_opmon_result_free(c->result);
    c->result = NULL;
    return xr_opmon_parse(resp, &c->limits, &c->result, err);
}

static enum adp_service_result result(const void *call, const char **outcome,
                                      const char **return_code)
{
    (void)call;
    *outcome = "records";
    *return_code = NULL;
    return ADP_SERVICE_DATA;
}

static const char *subject(const void *call)
{
    const struct opmon_call *c = call;

    return c->subject;
}

static const char *product(const void *call)
{
    (void)call;
    return NULL;
}

const struct adp_service_ops opmon_service = {
    .name = "opmon",
    .body = body,
    .body_free = body_free,
    .decode = decode,
    .result = result,
    .subject = subject,
    .product = product,
    .follow_up = NULL,
};

/*
 * VTJ as a service module of the query pipeline (services/service.h):
 * one person query (HenkilonTunnusKysely) from the caller's parameters,
 * with at most one follow-up to the new identity code of a passivated
 * person.
 *
 * The faces make a call, hand it with vtj_service to the pipeline
 * (query.h) and, once the query is done, read the decoded answers here.
 */
#ifndef VAYLA_SERVICES_VTJ_CALL_H
#define VAYLA_SERVICES_VTJ_CALL_H

#include <stdbool.h>

#include <xroad/error.h>

#include "services/service.h"
#include "services/vtj.h"

/* The pipeline's view of VTJ person queries. */
extern const struct adp_service_ops vtj_service;

struct vtj_call;

/* What is asked. Strings are copied by vtj_call_new() except those of
 * cred. */
struct vtj_call_params {
    const char *product; /* SoSoNimi, required */
    const char *hetu;    /* exactly one of hetu and satu */
    const char *satu;
    const char *end_user; /* Loppukayttaja = X-Road userId (clean) */
    const char *billing;  /* Laskutustiedot, or NULL */
    /* The X-Road instance of the VTJ service: on the production instance
     * "FI" a temporary or test hetu is refused before a (billed) query is
     * spent. */
    const char *service_instance;
    /* Copied, but the strings are borrowed: they must outlive the call
     * (the daemon keeps its configuration generation referenced). */
    const struct vtj_credentials *cred;
    bool follow_passivated;          /* [vtj] follow_passivated */
    bool redact_protected_addresses; /* the caller's policy */
};

/*
 * Validate the parameters with vtj_query_check() (its reasons, XR_EINVAL;
 * messages never contain the identity code) and make a call.
 * Ownership: *out new, free with vtj_call_free() after the query.
 * Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status vtj_call_new(const struct vtj_call_params *p,
                                         struct vtj_call **out,
                                         struct xr_error *err);
void vtj_call_free(struct vtj_call *c);

/*
 * The decoded answer of the last request (NULL when there is none), and
 * of the first request when a passivated code was followed (else NULL).
 * Ownership: get0, valid until vtj_call_free().
 */
const struct vtj_result *vtj_call_result(const struct vtj_call *c);
const struct vtj_result *vtj_call_first(const struct vtj_call *c);

#endif

/*
 * The security server's operational monitoring (PR-OPMON) as a service
 * module of the query pipeline (services/service.h): one
 * getSecurityServerOperationalData request for a time range, answered by
 * the owner of the security server with the records the asking client may
 * read (a client that is not the owner sees only the exchanges it took
 * part in, as client or as provider). libxroad builds the body and reads
 * the gzip'd JSON records (xroad/meta.h).
 *
 * One call is one page: when the answer has nextRecordsFrom, the face
 * asks again from there with a new call (`vayla audit reconcile`).
 */
#ifndef VAYLA_SERVICES_OPMON_H
#define VAYLA_SERVICES_OPMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xroad/error.h>
#include <xroad/id.h>
#include <xroad/meta.h>

#include "services/service.h"

extern const struct adp_service_ops opmon_service;

struct opmon_call;

struct opmon_call_params {
    int64_t records_from; /* Unix seconds, >= 0 */
    int64_t records_to;   /* Unix seconds, inclusive, >= records_from */
    /* Only records of this service provider (NULL: all); copied. */
    const struct xr_id *provider;
    /* outputSpec (known field names, borrowed until the call is freed);
     * none = every field. */
    const char *const *fields;
    size_t nfields;
    const struct xr_meta_limits *limits; /* NULL: defaults; copied */
};

/*
 * Errors: XR_EINVAL "meta_invalid" (range, fields), "invalid_id"
 * (provider); XR_ENOMEM. The body is built here once, so a call that
 * exists has a valid request.
 * Ownership: *out new, free with opmon_call_free() after the query.
 */
XR_NODISCARD enum xr_status opmon_call_new(const struct opmon_call_params *p,
                                           struct opmon_call **out,
                                           struct xr_error *err);
void opmon_call_free(struct opmon_call *c);

/*
 * The service of the request: the owner member of `server` (a SERVER id)
 * with serviceCode getSecurityServerOperationalData. Errors: XR_EINVAL
 * "invalid_id".
 */
XR_NODISCARD enum xr_status opmon_service_id(const struct xr_id *server,
                                             struct xr_id *out,
                                             struct xr_error *err);

/* The decoded page (NULL before a decoded answer). Ownership: get0, valid
 * until opmon_call_free(). */
const struct xr_opmon_result *opmon_call_result(const struct opmon_call *c);

#endif

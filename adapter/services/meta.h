/*
 * X-Road's metaservices (PR-META) as service modules of the query
 * pipeline (services/service.h): listMethods, allowedMethods and getWsdl
 * are ordinary X-Road SOAP requests to a provider, so they get the same
 * header building, answer checks (header echo, requestHash, Body rule),
 * fault classification and audit trail as any query. libxroad builds the
 * bodies and reads the answers (xroad/meta.h).
 *
 * listClients is not an X-Road message (a GET answered by the client's
 * own security server): cli_meta.c fetches it with
 * adp_upstream_exchange().
 */
#ifndef VAYLA_SERVICES_META_H
#define VAYLA_SERVICES_META_H

#include <stddef.h>

#include <xroad/error.h>
#include <xroad/id.h>
#include <xroad/meta.h>

#include "services/service.h"

/* The pipeline's view of a metaservice call. */
extern const struct adp_service_ops meta_service;

struct meta_call;

struct meta_call_params {
    /* XR_META_KIND_LIST_METHODS, _ALLOWED_METHODS or _GET_WSDL. */
    enum xr_meta_kind kind;
    /* getWsdl: the service whose WSDL is asked for (code, version or
     * NULL); copied. */
    const char *service_code;
    const char *service_version;
    /* Caps on the answer (NULL: libxroad's defaults); copied. */
    const struct xr_meta_limits *limits;
};

/*
 * Errors: XR_EINVAL "invalid_argument" (another kind), "invalid_id" (a
 * getWsdl service code or version that is no identifier part); XR_ENOMEM.
 * Ownership: *out new, free with meta_call_free() after the query.
 * Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status meta_call_new(const struct meta_call_params *p,
                                          struct meta_call **out,
                                          struct xr_error *err);
void meta_call_free(struct meta_call *c);

/*
 * The header service of a metaservice request to `provider` (a MEMBER or
 * SUBSYSTEM): the provider's identifier with the metaservice's code and
 * no version. Errors: XR_EINVAL "invalid_id".
 */
XR_NODISCARD enum xr_status meta_service_id(const struct xr_id *provider,
                                            enum xr_meta_kind kind,
                                            struct xr_id *out,
                                            struct xr_error *err);

/* After a decoded answer: the services listed (listMethods,
 * allowedMethods), *ids NULL and 0 otherwise. Ownership: get0, valid until
 * meta_call_free(). */
size_t meta_call_services(const struct meta_call *c, const struct xr_id **ids);

/* After a decoded getWsdl answer: the WSDL's bytes (a copy kept by the
 * call; {NULL, 0} otherwise). Ownership: get0, valid until
 * meta_call_free(). */
struct xr_bytes meta_call_wsdl(const struct meta_call *c);

#endif

/*
 * Any SOAP service behind X-Road as a service module of the query
 * pipeline (services/service.h): the caller gives the Body wrapper (and
 * attachments), vayla adds the X-Road header, and the answer's wrapper
 * and attachments come back as they are. The judgement (header echo,
 * requestHash, faults) and the audit trail are the pipeline's, the same
 * as for VTJ; a non-fault answer is always "ok" data, since vayla does
 * not know the service's own result codes.
 */
#ifndef VAYLA_SERVICES_SOAP_H
#define VAYLA_SERVICES_SOAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xroad/error.h>
#include <xroad/mime.h>

#include "services/service.h"

#define SOAP_SUBJECT_MAX 256u /* bytes of the audit subject */

extern const struct adp_service_ops soap_service;

struct soap_call;

/* What is sent. */
struct soap_call_params {
    /* The Body wrapper: an XML document whose root element's local name
     * is the serviceCode (libxroad checks it when the request is built).
     * Borrowed: it must outlive the call. */
    const uint8_t *payload;
    size_t payload_len;
    /* Attachments, sent after the SOAP part in this order; mtom makes the
     * SOAP part an MTOM root. Copied array, borrowed data. */
    const struct xr_part *parts;
    size_t nparts;
    bool mtom;
    /* Audit subject (what or whom the query is about), or NULL. Copied. */
    const char *subject;
};

/*
 * Make a call. Errors: XR_EINVAL (no payload), XR_ENOMEM.
 * Ownership: *out new, free with soap_call_free() after the query.
 */
XR_NODISCARD enum xr_status soap_call_new(const struct soap_call_params *p,
                                          struct soap_call **out,
                                          struct xr_error *err);
void soap_call_free(struct soap_call *c);

/* The decoded answer, once the query ended with data. */
struct soap_answer {
    const uint8_t *xml; /* the Body wrapper as a standalone document */
    size_t xml_len;
    bool mtom;                   /* the answer's SOAP part was an MTOM root */
    const struct xr_part *parts; /* attachments, in order */
    size_t nparts;
};

/* NULL before a decoded answer. Ownership: get0, valid until free. */
const struct soap_answer *soap_call_answer(const struct soap_call *c);

#endif

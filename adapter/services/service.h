/*
 * The service module interface: what the query pipeline (query.h) needs
 * from a service behind X-Road. A module builds the Body wrapper of each
 * request, decodes the wrapper of each judged answer, names the outcome
 * and the audit subject, and may ask for one more request after an
 * answer (VTJ: a passivated identity code followed to the new one).
 *
 * The pipeline never looks inside a module's call object: everything it
 * needs comes through these functions. A module keeps whatever the face
 * shows the caller (decoded results, earlier answers) in its call object,
 * and the face reads it through the module's own header.
 *
 * Every function runs on the thread that owns the query.
 */
#ifndef VAYLA_SERVICES_SERVICE_H
#define VAYLA_SERVICES_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include <xroad/error.h>
#include <xroad/mime.h>
#include <xroad/response.h>

/* What a decoded answer means for the caller (the verdict class). */
enum adp_service_result {
    ADP_SERVICE_DATA,    /* the answer carries what was asked for */
    ADP_SERVICE_NO_DATA, /* a business answer without it (not found...) */
    ADP_SERVICE_ERROR    /* the service refused: credentials, config... */
};

struct adp_service_ops {
    /* Stable module name ("vtj"), for logs. Static. */
    const char *name;

    /*
     * The Body wrapper of the current request: an XML document whose root
     * element's local name is the serviceCode. Errors: XR_EINVAL for input
     * the service refuses (reason names it), XR_ELIMIT, XR_ENOMEM,
     * XR_EINTERNAL.
     * Ownership: *xml new, released with body_free (it may hold secrets).
     */
    XR_NODISCARD enum xr_status (*body)(void *call, char **xml, size_t *len,
                                        struct xr_error *err);
    void (*body_free)(char *xml, size_t len);

    /*
     * true when body() writes fixed markup around values it escaped
     * itself, never bytes it was given: the request is then built without
     * parsing the body (xr_request_new_own() checks its characters and
     * element name). false: the body is parsed (xr_request_new()).
     */
    bool own_body;

    /*
     * Decode a judged, non-fault answer (libxroad has checked the header
     * echo, requestHash and the Body rule). The module keeps the result.
     * An error means the answer is not a usable answer of this service
     * (the verdict is then "invalid"); err->reason names why.
     * Ownership: resp borrowed for the call.
     */
    XR_NODISCARD enum xr_status (*decode)(void *call,
                                          const struct xr_response *resp,
                                          struct xr_error *err);

    /*
     * What the decoded answer means. *outcome is the stable outcome name
     * ([a-z0-9_], recorded as the audit result class); *return_code the
     * service's own code or NULL. Both static or owned by the call.
     */
    enum adp_service_result (*result)(const void *call, const char **outcome,
                                      const char **return_code);

    /* Audit fields of the current request: the person or object asked
     * about and the product; NULL when none. Owned by the call. */
    const char *(*subject)(const void *call);
    const char *(*product)(const void *call);

    /*
     * Attachments of the current request, sent as MIME parts after the
     * SOAP message in this order (SOAP with attachments); *mtom true
     * makes the SOAP part the root of an MTOM package
     * (application/xop+xml), for payloads that refer to the parts with
     * xop:Include. Returns the number of parts; may be NULL (none).
     * Ownership: *parts get0 from the call.
     */
    size_t (*attachments)(const void *call, const struct xr_part **parts,
                          bool *mtom);

    /*
     * Called once the outcome of a decoded answer is durable. Return true
     * after preparing the call's next request (the pipeline then sends
     * it, at most ADP_QUERY_MAX_STEPS requests in all); false when done.
     * May be NULL (never follows up).
     */
    bool (*follow_up)(void *call);
};

#endif

/*
 * SOAP 1.1 faults as X-Road security servers and services send them, and
 * which side of the exchange each one blames.
 */
#ifndef XROAD_FAULT_H
#define XROAD_FAULT_H

#include <stdbool.h>
#include <stddef.h>

#include "xroad/common.h"
#include "xroad/error.h"
#include "xroad/envelope.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Which side failed, from the faultcode prefix (case-insensitive; CamelCase
 * 7.x codes and snake_case 7.8+ codes alike):
 *   CLIENT        Client.*               our request was invalid
 *   CLIENT_PROXY  Server.ClientProxy.*   our own security server
 *   SERVER_PROXY  Server.ServerProxy.*   the provider's security server
 *   SERVICE       anything else          the service itself
 */
enum xr_fault_origin {
    XR_ORIGIN_CLIENT,
    XR_ORIGIN_CLIENT_PROXY,
    XR_ORIGIN_SERVER_PROXY,
    XR_ORIGIN_SERVICE
};

struct xr_fault {
    char code[XR_TEXT_MAX + 1];   /* faultcode, trimmed, verbatim */
    char string[XR_TEXT_MAX + 1]; /* faultstring (truncated at the cap) */
    bool has_actor;
    char actor[XR_TEXT_MAX + 1];
    char detail[XR_TEXT_MAX + 1]; /* faultDetail, else first detail child */
    enum xr_fault_origin origin;
    bool service_failed; /* ".ServiceFailed." / ".service_failed." */
};

/* "client", "client_proxy", "server_proxy", "service". Static string. */
XR_API const char *xr_fault_origin_name(enum xr_fault_origin origin);

/*
 * Classify a faultcode. service_failed may be NULL.
 * Thread-safety: reentrant.
 */
XR_API enum xr_fault_origin xr_fault_classify(const char *code,
                                              bool *service_failed);

/*
 * True when two fault codes are the same code in either style: compared
 * case-insensitively with '_' ignored, so "Server.ClientProxy.UnknownMember"
 * equals "server.clientproxy.unknown_member".
 */
XR_API bool xr_fault_code_equal(const char *a, const char *b);

/*
 * The last dot-separated component of a code, normalised: lower case
 * without '_' (e.g. "sslauthenticationfailed"). Writes at most size bytes.
 */
XR_API void xr_fault_leaf(const char *code, char *out, size_t size);

/*
 * Serialise a fault the way an X-Road security server does (HTTP 200 body,
 * text/xml). hdr may be NULL (SS faults carry no header); when given its
 * fields are echoed in a Header. detail may be NULL (no detail element).
 * Errors: invalid_argument (empty code, text not UTF-8), out_of_memory.
 * Ownership: *out is new, NUL-terminated; free with free().
 */
XR_API XR_NODISCARD enum xr_status xr_fault_build(const char *code,
                                                  const char *string,
                                                  const char *detail,
                                                  const struct xr_header *hdr,
                                                  char **out, size_t *out_len,
                                                  struct xr_error *err);

#ifdef __cplusplus
}
#endif
#endif

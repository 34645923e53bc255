/*
 * X-Road identifiers: clients (MEMBER, SUBSYSTEM), services, security
 * servers. Plain data in caller storage; no allocation.
 *
 * Textual forms accepted by the parsers (the "TYPE:" prefix is optional):
 *   client   [MEMBER:]INST/CLASS/CODE
 *            [SUBSYSTEM:]INST/CLASS/CODE/SUBSYSTEM
 *   service  [SERVICE:]INST/CLASS/CODE/SERVICECODE            (4 parts)
 *            [SERVICE:]INST/CLASS/CODE/SUBSYSTEM/SERVICECODE  (5 parts)
 *            [SERVICE:]INST/CLASS/CODE/SUBSYSTEM/SERVICECODE/VERSION
 *   server   [SERVER:]INST/CLASS/CODE/SERVERCODE
 * Five service parts are read as subsystem + service code without version,
 * because services on Palveluväylä belong to subsystems.
 *
 * Every part must be 1..XR_ID_PART_MAX bytes of the strict X-Road character
 * set [A-Za-z0-9'()+,-.=?] (PR-MESS 2.7). Comparison is case-sensitive.
 */
#ifndef XROAD_ID_H
#define XROAD_ID_H

#include <stdbool.h>
#include <stddef.h>

#include "xroad/common.h"
#include "xroad/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XR_ID_PART_MAX 255
/* Longest formatted identifier, with prefix and NUL. */
#define XR_ID_TEXT_MAX (7 * (XR_ID_PART_MAX + 1) + 16)

enum xr_id_type { XR_ID_MEMBER, XR_ID_SUBSYSTEM, XR_ID_SERVICE, XR_ID_SERVER };

/*
 * One identifier. Unused parts are empty strings. A SERVICE whose provider
 * is a subsystem has a non-empty subsystem_code.
 */
struct xr_id {
    enum xr_id_type type;
    char instance[XR_ID_PART_MAX + 1];
    char member_class[XR_ID_PART_MAX + 1];
    char member_code[XR_ID_PART_MAX + 1];
    char subsystem_code[XR_ID_PART_MAX + 1];  /* SUBSYSTEM, SERVICE */
    char service_code[XR_ID_PART_MAX + 1];    /* SERVICE */
    char service_version[XR_ID_PART_MAX + 1]; /* SERVICE, optional */
    char server_code[XR_ID_PART_MAX + 1];     /* SERVER */
};

/*
 * Parse a client (MEMBER or SUBSYSTEM), service or security-server id.
 * On error *out is zeroed, err->reason is "invalid_id" and err->msg names
 * the part and the problem (empty part, bad character, too long, wrong
 * number of parts, wrong prefix).
 * Thread-safety: reentrant.
 */
XR_API XR_NODISCARD enum xr_status xr_id_parse_client(const char *text,
                                                      struct xr_id *out,
                                                      struct xr_error *err);
XR_API XR_NODISCARD enum xr_status xr_id_parse_service(const char *text,
                                                       struct xr_id *out,
                                                       struct xr_error *err);
XR_API XR_NODISCARD enum xr_status xr_id_parse_server(const char *text,
                                                      struct xr_id *out,
                                                      struct xr_error *err);

/*
 * Check that every non-empty part is valid and the mandatory parts for the
 * type are present. Used on identifiers filled in by code.
 */
XR_API XR_NODISCARD enum xr_status xr_id_validate(const struct xr_id *id,
                                                  struct xr_error *err);

/*
 * Format as "TYPE:INST/CLASS/CODE[/...]" (with_prefix) or without the type
 * prefix. Returns the length written, or the length that would have been
 * written when it does not fit (snprintf semantics).
 */
XR_API size_t xr_id_format(const struct xr_id *id, bool with_prefix, char *buf,
                           size_t size);

/* True when both identifiers have the same type and all the same parts. */
XR_API bool xr_id_equal(const struct xr_id *a, const struct xr_id *b);

/* "MEMBER", "SUBSYSTEM", "SERVICE", "SERVER". Static string. */
XR_API const char *xr_id_type_name(enum xr_id_type type);

/* True when `s` is a valid identifier part (strict character set, length). */
XR_API bool xr_id_part_is_valid(const char *s);

#ifdef __cplusplus
}
#endif
#endif

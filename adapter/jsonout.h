/*
 * JSON shapes shared by every command and the HTTP API, so a fault or an
 * error looks the same wherever it is reported (docs/cli.md).
 */
#ifndef VAYLA_JSONOUT_H
#define VAYLA_JSONOUT_H

#include <jansson.h>
#include <xroad/xroad.h>

/*
 * {"code","string","origin","detail"?,"actor"?} for a SOAP fault.
 * Ownership: new reference (NULL on allocation failure).
 */
json_t *adp_fault_json(const struct xr_fault *f);

/*
 * {"code","message","field"?}: code is err->reason (stable snake_case),
 * falling back to the status name. Ownership: new reference.
 */
json_t *adp_error_json(const struct xr_error *err);

/*
 * The compact text of j, byte for byte what json_dumps(j, JSON_COMPACT)
 * writes (keys in insertion order, UTF-8 kept, '"', '\\' and control
 * characters escaped), followed by a newline, at a fraction of its cost:
 * one buffer, no callback per token, no printf for integers.
 * Returns NULL on allocation failure, nesting deeper than 64 or a real
 * that is not finite. *len excludes the terminating NUL.
 * Ownership: new string (free()); j borrowed. Thread-safety: reentrant.
 */
char *adp_json_dump_line(const json_t *j, size_t *len);

/* Print compactly on stdout with a newline; 0 or -1 on write error. */
int adp_json_print(json_t *o);

#endif

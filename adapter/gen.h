/*
 * Configuration generations of the daemon. Everything a reload may change
 * (callers and their tokens, the TLS context with its certificate, the
 * security-server options, VTJ credentials) lives in one
 * reference-counted generation. SIGHUP loads a new one; a worker switches
 * between requests, and a request keeps the generation it started with
 * until it is answered.
 */
#ifndef VAYLA_GEN_H
#define VAYLA_GEN_H

#include <stdatomic.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <xroad/error.h>

#include "config.h"

struct adp_gen {
    atomic_uint refs;
    uint64_t number;        /* 1 for the first load, +1 per reload */
    struct adp_config *cfg; /* owned */
    SSL_CTX *tls;           /* owned; NULL on a plain listener */
};

/*
 * Load `path` into a new generation numbered `number`, with the checks
 * `vayla serve` needs beyond check-config ([audit] path, a listener) and
 * the API's TLS context. Each problem is one error record of the
 * operational log: path:line: key: reason.
 * Ownership: *out new with one reference. Thread-safety: any one thread.
 */
XR_NODISCARD enum xr_status adp_gen_load(const char *path, uint64_t number,
                                         struct adp_gen **out,
                                         struct xr_error *err);

/* Take / drop a reference; the last unref frees. Accept NULL.
 * Thread-safety: thread-safe. */
struct adp_gen *adp_gen_ref(struct adp_gen *g);
void adp_gen_unref(struct adp_gen *g);

#endif

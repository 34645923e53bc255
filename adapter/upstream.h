/*
 * The one owner of connections to the organisation's security server, per
 * event loop (a daemon worker, or the CLI's loop).
 *
 *   - Connection pools. One pool (adp_curlev: keep-alive connections, TLS
 *     sessions, DNS answers) per set of trust settings (CA file, pin,
 *     client certificate and key): cached connections are reused without a
 *     new handshake, so a reload that changes those settings starts a new
 *     pool; the old one finishes its exchanges and is freed when idle.
 *   - Connection slots: at most `slots` exchanges at once. Queries wait
 *     for a slot in a FIFO queue holding only their parameters (no
 *     request bytes, no libcurl handle); a slot covers building the
 *     request, making its intent durable and the exchange. This is the
 *     one throttle towards the security server: libcurl's own connection
 *     caps are not used.
 *   - The query pipeline's transport (adp_upstream_net(): query.h).
 *   - One-off exchanges outside the queue (readiness probes, GETs of the
 *     security server's own services).
 *
 * Exchange durations and transport failures go to the metrics shard.
 * Thread-safety: one upstream belongs to the thread of its event_base.
 */
#ifndef VAYLA_UPSTREAM_H
#define VAYLA_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <xroad/error.h>

#include "config.h"
#include "query.h"
#include "xfer.h"

struct adp_upstream;
struct adp_metrics_shard;

/*
 * Ownership: *out new, free with adp_upstream_free(); base and metrics
 * (may be NULL) are borrowed and must outlive it. slots >= 1.
 */
XR_NODISCARD enum xr_status adp_upstream_new(struct event_base *base,
                                             unsigned slots,
                                             struct adp_metrics_shard *metrics,
                                             struct adp_upstream **out,
                                             struct xr_error *err);

/*
 * Free the pools. Every exchange must have ended or been released (queries
 * freed). Not from inside a completion. Accepts NULL.
 */
void adp_upstream_free(struct adp_upstream *up);

/* Change the number of slots (a reload); waiting queries start at once
 * when slots were added. n >= 1. */
void adp_upstream_set_slots(struct adp_upstream *up, unsigned n);

/* The pipeline's transport on this upstream. Ownership: get0, valid until
 * adp_upstream_free(). */
const struct adp_query_net *adp_upstream_net(struct adp_upstream *up);

/* A request outside the query pipeline. Zeros: a SOAP POST of body. */
struct adp_upstream_req {
    bool get;                 /* GET of path (no body) */
    const char *path;         /* appended to the security server's URL */
    const char *accept;       /* Accept header, or NULL */
    const char *content_type; /* POST; NULL = text/xml; charset=UTF-8 */
    const uint8_t *body;      /* POST body (copied) */
    size_t body_len;
    long timeout_ms_max;       /* > 0: shorter deadlines than configured */
    size_t max_response_bytes; /* > 0: instead of the configured cap */
};

/*
 * Start an exchange outside the slot queue: a readiness probe, a
 * metaservice GET, a download from /asic or /verificationconf. Same
 * contract as adp_xfer_start(); *out is freed with adp_xfer_free().
 */
XR_NODISCARD enum xr_status adp_upstream_exchange(
    struct adp_upstream *up, const struct adp_config_ss *ss,
    const struct adp_upstream_req *rq, adp_xfer_done_fn *done, void *ctx,
    struct adp_xfer **out, struct xr_error *err);

/* Free pools that were replaced and have no exchange left. */
void adp_upstream_reap(struct adp_upstream *up);

/* Queries holding a slot / waiting for one. */
unsigned adp_upstream_busy(const struct adp_upstream *up);
unsigned adp_upstream_waiting(const struct adp_upstream *up);

#endif

/*
 * Connections of one worker's API listeners: admission, deadlines, the
 * per-peer cap and strict framing of request heads.
 *
 * evhttp (libevent 2.1) has no connection limit, no deadline that bytes do
 * not extend, and a lenient parser. This module sits beside it:
 *
 *   - Every accepted connection is tracked from its bufferevent
 *     (adp_conns_bev(), evhttp's bevcb) and told apart by phase:
 *       PENDING  TLS handshake, request head and body not complete yet;
 *       ACTIVE   a request was handed to the API and is not answered yet;
 *       IDLE     kept alive between requests.
 *   - Deadlines that bytes do not extend: a PENDING connection must
 *     deliver its whole first request within request_timeout_ms of its
 *     accept, an IDLE one the next request within keepalive_timeout_ms
 *     of the previous answer. One timer per worker serves all of them
 *     (phase lists are in deadline order).
 *   - Budgets per listener: at most max_connections open, of which at
 *     most max_pending not yet ACTIVE. A new connection over a budget
 *     evicts the oldest IDLE, then the oldest PENDING connection, so slow
 *     or idle clients cannot starve authenticated ones; only when every
 *     connection is ACTIVE does the listener pause. The TCP and UNIX
 *     listeners have budgets of their own: TCP load never pauses the UNIX
 *     socket.
 *   - At most max_per_peer connections per client address (TCP).
 *   - Strict framing: request heads are scanned as their bytes arrive
 *     (before evhttp parses them). A head longer than max_head_bytes is
 *     answered 431 (evhttp's own cap is set above it, so the request
 *     still reaches the API to be refused with a clear answer). Bare LF line
 * ends, obsolete line folding, white space before a header's colon, a
 * Content-Length that is not plain digits or appears twice, and any
 * Transfer-Encoding mark the connection; the API then answers 400 and closes
 * it, so a proxy in front can never be made to frame requests differently.
 *   - Body caps by route: at the end of each request line the scanner
 *     sets the connection's body cap (evhttp's, checked against
 *     Content-Length before any body byte is read) to big_body_bytes for
 *     targets under big_body_prefix and to max_body_bytes otherwise, so a
 *     JSON route never buffers a SOAP-sized body. evhttp answers 413.
 *   - UNIX peers: the caller's uid and gid (SO_PEERCRED).
 *
 * Thread-safety: one adp_conns per worker, used from its loop only.
 */
#ifndef VAYLA_CONN_H
#define VAYLA_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <xroad/error.h>

struct adp_conns;
struct adp_metrics_shard;

enum adp_listener { ADP_LISTENER_TCP, ADP_LISTENER_UNIX };
#define ADP_LISTENERS 2u

/* Limits of one worker (its share of the process-wide values). */
struct adp_conns_limits {
    unsigned max_connections;      /* per listener, >= 1 */
    unsigned max_pending;          /* per listener, not yet ACTIVE, >= 1 */
    unsigned max_per_peer;         /* per TCP client address; 0 = no cap */
    unsigned request_timeout_ms;   /* accept .. first request complete */
    unsigned keepalive_timeout_ms; /* answer .. next request complete */
    size_t max_head_bytes;         /* request line and headers */
    size_t max_body_bytes;         /* request body, by default */
    const char *big_body_prefix;   /* static; NULL = none */
    size_t big_body_bytes;         /* request body under that prefix */
};

/* Pause or resume accepting on a listener (the worker owns them). */
typedef void adp_conns_pause_fn(void *ctx, enum adp_listener l, bool pause);

/*
 * Ownership: *out new, free with adp_conns_free() after every connection
 * is gone (evhttp freed). base and metrics are borrowed.
 */
XR_NODISCARD enum xr_status adp_conns_new(
    struct event_base *base, const struct adp_conns_limits *lim,
    struct adp_metrics_shard *metrics, adp_conns_pause_fn *pause,
    void *pause_ctx, struct adp_conns **out, struct xr_error *err);
void adp_conns_free(struct adp_conns *cs);

/* New limits (a reload); applied to connections accepted from now on. */
void adp_conns_set_limits(struct adp_conns *cs,
                          const struct adp_conns_limits *lim);

/*
 * evhttp's bevcb for listener l: a TLS (tls != NULL) or plain bufferevent
 * for one new connection, tracked from now on. NULL when out of memory.
 */
struct bufferevent *adp_conns_bev(struct adp_conns *cs, enum adp_listener l,
                                  SSL_CTX *tls);

/* What the API learns about the connection of a request. */
struct adp_conn_info {
    enum adp_listener listener;
    bool bad_framing;   /* strict framing refused the request head */
    int bad_status;     /* 400, or 431 for a head over max_head_bytes */
    const char *why;    /* static: which rule, for the 400 answer */
    bool has_peer_cred; /* UNIX peers */
    uid_t uid;
    gid_t gid;
};

/*
 * A request of `evcon` was handed to the API: the connection is ACTIVE
 * (no deadline) until adp_conns_answered(). Fills *info.
 * Returns false when the connection is not known (never expected).
 */
bool adp_conns_dispatched(struct adp_conns *cs, struct evhttp_connection *evcon,
                          struct adp_conn_info *info);

/* The answer of the ACTIVE request was written: the connection is IDLE
 * and the keep-alive deadline runs. Unknown connections are ignored. */
void adp_conns_answered(struct adp_conns *cs, struct evhttp_connection *evcon);

/* Open connections of a listener, and those not ACTIVE. */
unsigned adp_conns_open(const struct adp_conns *cs, enum adp_listener l);
unsigned adp_conns_waiting(const struct adp_conns *cs, enum adp_listener l);

#endif

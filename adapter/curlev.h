/*
 * libcurl's multi-socket API driven by a libevent event_base (the pattern
 * of curl's docs/examples/hiperfifo.c).
 *
 * One `struct adp_curlev` = one CURLM bound to one event_base, used from
 * the thread that runs that base. The daemon creates one per event loop;
 * the CLI creates one, starts a transfer and runs the base until it is
 * done. Connections (keep-alive), TLS sessions and the DNS cache are shared
 * by all transfers of one adp_curlev and by nothing else, so a new
 * adp_curlev starts with clean caches: upstream.c keeps one per set of
 * trust settings.
 *
 * Nothing here blocks: sockets and the multi timer are libevent events,
 * name resolution runs in libcurl's threaded resolver (AsynchDNS, checked
 * by adp_curlev_global_init()). curl_multi_* is never called from inside a
 * libcurl callback; completions are delivered from a libevent callback
 * after curl_multi_socket_action() has returned.
 */
#ifndef VAYLA_CURLEV_H
#define VAYLA_CURLEV_H

#include <stdbool.h>

#include <curl/curl.h>
#include <event2/event.h>

#include <xroad/error.h>

struct adp_curlev;

/* Limits of one adp_curlev. Zero in a field means the default noted. */
struct adp_curlev_opts {
    long max_connects; /* idle connection cache size; 0 = 64 */
};

/*
 * Completion of one transfer. Called from the event loop (never from inside
 * libcurl) after the easy handle has been removed from the multi handle,
 * so the callee may curl_easy_cleanup() it, reuse it, start new transfers
 * or free other handles. It must not free the adp_curlev itself (do that
 * after event_base_loop() has returned, or from another event).
 */
typedef void adp_curlev_done_fn(CURL *easy, CURLcode result, void *ctx);

/*
 * One registered easy handle. Caller storage (typically embedded in the
 * object that owns the easy handle); must stay valid while `active`.
 * Fields are private except `easy`, set by the caller before adding.
 */
struct adp_curlev_handle {
    CURL *easy;               /* the caller's easy handle */
    adp_curlev_done_fn *done; /* private */
    void *ctx;                /* private */
    bool active;              /* private: added and not yet done/removed */
};

/*
 * Process-wide libcurl set-up: curl_global_init() and the checks the
 * design depends on: AsynchDNS (no blocking resolver on the loop), an
 * OpenSSL TLS backend (CURLOPT_SSL_CTX_FUNCTION) and libcurl >= 7.85
 * (CURLOPT_PROTOCOLS_STR). Idempotent.
 * Returns XR_OK, or XR_EINTERNAL (reason "curl_features") with a message.
 * Thread-safety: call from main() before starting threads.
 */
XR_NODISCARD enum xr_status adp_curlev_global_init(struct xr_error *err);

/*
 * Bind a new multi handle to `base`. opts may be NULL (defaults).
 * Ownership: *out is new, free with adp_curlev_free(); base is borrowed and
 * must outlive it.
 * Thread-safety: the object belongs to the thread that runs `base`.
 */
XR_NODISCARD enum xr_status adp_curlev_new(struct event_base *base,
                                           const struct adp_curlev_opts *opts,
                                           struct adp_curlev **out,
                                           struct xr_error *err);

/*
 * Free the multi handle, its sockets' events and its caches. Every handle
 * must have completed or been removed first (programming error
 * otherwise). Not from inside a completion callback. Accepts NULL.
 * Ownership: takes cev. Thread-safety: the thread of cev's event_base.
 */
void adp_curlev_free(struct adp_curlev *cev);

/* The event_base. Ownership: get0. Thread-safety: any (immutable). */
struct event_base *adp_curlev_base(const struct adp_curlev *cev);

/*
 * Number of handles added and not yet completed or removed.
 * Thread-safety: the thread of cev's event_base.
 */
unsigned adp_curlev_active(const struct adp_curlev *cev);

/*
 * Easy handles kept for reuse by one adp_curlev: a handle given back
 * after its transfer keeps its buffers (libcurl's 16 KiB download and
 * upload buffers among them), so a transfer does not allocate them again.
 */
#define ADP_CURLEV_SPARE_MAX 64u

/*
 * An easy handle with every option at its default: a spare one given back
 * with adp_curlev_easy_put(), or a new one. NULL when out of memory.
 * Ownership: the caller's; give it back with adp_curlev_easy_put() (or
 * curl_easy_cleanup() it). Thread-safety: cev's thread.
 */
CURL *adp_curlev_easy_get(struct adp_curlev *cev);

/*
 * Give back an easy handle that is not added (its transfer completed or
 * was removed): reset (curl_easy_reset(): options, and with them pointers
 * into the finished exchange, back to their defaults) and kept, or cleaned
 * up when ADP_CURLEV_SPARE_MAX are kept already. Accepts NULL.
 * Ownership: takes easy. Thread-safety: cev's thread.
 */
void adp_curlev_easy_put(struct adp_curlev *cev, CURL *easy);

/*
 * Start h->easy (already configured) on this multi handle. The easy
 * handle's CURLOPT_PRIVATE and CURLOPT_SHARE are set here: do not use
 * them. CURLOPT_SHARE is cleared again when the transfer completes or is
 * removed, so the easy handle may outlive the adp_curlev. On success done(easy,
 * result, ctx) is called exactly once, unless adp_curlev_remove() is called
 * first. On error the callback is never called (XR_ENOMEM, XR_EINTERNAL).
 * Ownership: h and h->easy are borrowed until done or removed.
 */
XR_NODISCARD enum xr_status adp_curlev_add(struct adp_curlev *cev,
                                           struct adp_curlev_handle *h,
                                           adp_curlev_done_fn *done, void *ctx,
                                           struct xr_error *err);

/*
 * Stop a running transfer without calling its callback. No-op when h is
 * not active. Must not be called from inside a libcurl callback.
 * Ownership: h and h->easy return to the caller. Thread-safety: cev's
 * thread.
 */
void adp_curlev_remove(struct adp_curlev *cev, struct adp_curlev_handle *h);

#endif

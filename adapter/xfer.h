/*
 * One exchange with the organisation's own security server: POST the exact
 * request bytes, receive the answer, classify transport failures.
 *
 * An exchange is an object driven by the libcurl multi interface through
 * an adp_curlev (curlev.h): thousands can wait at once on one event loop.
 * There is no blocking API; the CLI runs one exchange to completion with
 * event_base_dispatch().
 *
 * Request: POST to opts->url with `Content-Type: text/xml; charset=UTF-8`
 * (or opts->content_type, e.g. multipart/related with attachments) and
 * `SOAPAction: ""`; or GET of opts->url + opts->path (the security
 * server's listClients, /asic and /verificationconf). HTTP/1.1, no proxy
 * (environment proxies are ignored: the security server is local), no
 * redirects, no `Expect: 100-continue`, only http and https.
 *
 * TLS (https only): TLS 1.2 or newer; optional client certificate and key
 * for SSLAUTH; trust by
 *   ca_file only  chain verified against ca_file only (system CAs are never
 *                 added), host name verified;
 *   pin only      the server's leaf certificate is accepted if and only if
 *                 SHA-256 over its DER encoding equals the pin; chain and
 *                 host name are not checked (a self-signed SS internal
 *                 certificate is the normal case);
 *   both          chain + host name verified AND the pin must match.
 * An https URL without ca_file or pin is refused by adp_xfer_start(): there
 * is no "trust everything" mode.
 *
 * Failure classes (docs/cli.md, "Transport failure classes"):
 *   ok              HTTP 200 or 500 with a body (both carry SOAP; X-Road
 *                   faults may come with 500). The body is NOT judged here.
 *   connect_failed  no connection: name not resolved, refused, unreachable.
 *                   The request did not reach the security server.
 *   tls_failed      TLS handshake or verification failed, pin mismatch,
 *                   client certificate refused or unusable.
 *   timeout         connect_timeout_ms or timeout_ms expired.
 *   too_large       the response exceeded max_response_bytes (announced
 *                   by Content-Length or while receiving).
 *   http_status     any other HTTP status, or an unparsable HTTP response.
 *                   The body (capped) is still delivered: a SOAP fault may
 *                   be inside, the caller decides (cli_query does).
 *   truncated       the connection broke after it was established: closed
 *                   before Content-Length / the chunked end, reset, or no
 *                   answer at all. The request may have been processed.
 *   internal        out of memory or an unexpected libcurl error.
 */
#ifndef VAYLA_XFER_H
#define VAYLA_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xroad/error.h>

#include "curlev.h"

enum adp_xfer_class {
    ADP_XFER_OK,
    ADP_XFER_CONNECT_FAILED,
    ADP_XFER_TLS_FAILED,
    ADP_XFER_TIMEOUT,
    ADP_XFER_TOO_LARGE,
    ADP_XFER_HTTP_STATUS,
    ADP_XFER_TRUNCATED,
    ADP_XFER_INTERNAL
};

#define ADP_XFER_MSG_MAX 320
#define ADP_XFER_PIN_LEN 32u /* SHA-256 of the server certificate */

/*
 * Per-exchange options. All pointers are borrowed for the duration of
 * adp_xfer_start() only (libcurl copies what it keeps).
 */
struct adp_xfer_opts {
    const char *url;     /* http:// or https:// */
    const char *ca_file; /* PEM trust anchors, or NULL */
    bool has_pin;        /* pin_sha256 is set */
    uint8_t pin_sha256[ADP_XFER_PIN_LEN];
    const char *client_cert;           /* PEM, or NULL */
    const char *client_key;            /* PEM, or NULL (then in client_cert) */
    const char *client_key_passphrase; /* SECRET, or NULL */
    long connect_timeout_ms;           /* > 0 */
    long timeout_ms;                   /* > 0, total deadline */
    size_t max_response_bytes;         /* > 0 */
    /* The request. Zeros: a SOAP POST of the body to url. */
    bool get;                 /* GET without a body (listClients, /asic) */
    const char *path;         /* appended to url without its trailing '/',
                                 e.g. "/listClients?xRoadInstance=FI" */
    const char *content_type; /* POST; NULL = text/xml; charset=UTF-8 */
    const char *accept;       /* Accept header, or NULL for none */
};

/* The outcome of one exchange. */
struct adp_xfer_result {
    enum adp_xfer_class cls;
    long http_status;         /* last HTTP status, 0 if none */
    const char *content_type; /* response Content-Type or NULL; get0 */
    const uint8_t *body;      /* response body (NUL-terminated); get0 */
    size_t body_len;
    int curl_code;                  /* CURLcode, for logs */
    long total_ms;                  /* wall time of the exchange */
    bool reused;                    /* an existing connection was used */
    char message[ADP_XFER_MSG_MAX]; /* human, no secrets; "" when ok */
};

struct adp_xfer;

/*
 * Called exactly once per started exchange, from the event loop. res and
 * everything it points to stay valid until adp_xfer_free(x). The callee
 * may call adp_xfer_free(x) (and start or free other exchanges) inside
 * the callback.
 */
typedef void adp_xfer_done_fn(struct adp_xfer *x,
                              const struct adp_xfer_result *res, void *ctx);

/*
 * Start one exchange on `cev`: POST body/body_len (copied; the copy is
 * wiped with OPENSSL_cleanse() when the exchange is freed, because a VTJ
 * body carries the password) to opts->url.
 * Returns XR_OK with *out set, or an error (XR_EINVAL for bad options, e.g.
 * https without ca_file or pin; XR_ENOMEM; XR_EINTERNAL) in which case the
 * callback is never called and *out is NULL.
 * Ownership: *out is new and owned by the caller; it must be freed with
 * adp_xfer_free() (inside or after the callback, or earlier to cancel).
 * Thread-safety: the thread that runs cev's event_base.
 */
XR_NODISCARD enum xr_status adp_xfer_start(struct adp_curlev *cev,
                                           const struct adp_xfer_opts *opts,
                                           const uint8_t *body, size_t body_len,
                                           adp_xfer_done_fn *done, void *ctx,
                                           struct adp_xfer **out,
                                           struct xr_error *err);

/*
 * Free an exchange. If it is still running it is cancelled first and its
 * callback will not be called. Accepts NULL. Must not be called from
 * inside a libcurl callback (no caller of this API ever is).
 * Ownership: takes x. Thread-safety: the thread of its adp_curlev.
 */
void adp_xfer_free(struct adp_xfer *x);

/*
 * Take the response body out of a finished exchange (e.g. to keep it after
 * adp_xfer_free()). NUL-terminated; *len excludes the NUL. Returns NULL
 * when there is none or it was already taken.
 * Ownership: the caller frees the result with free().
 * Thread-safety: the thread of its adp_curlev.
 */
uint8_t *adp_xfer_take_body(struct adp_xfer *x, size_t *len);

/*
 * "ok", "connect_failed", ... Never NULL.
 * Ownership: static string. Thread-safety: reentrant.
 */
const char *adp_xfer_class_name(enum adp_xfer_class cls);

#endif

/*
 * Operational log of the vayla daemon and CLI (docs/operations.md, "Logs").
 *
 * Every record is ONE line written to stderr with ONE write(2) under a
 * process-wide mutex, so lines from different threads never interleave.
 * Lines are capped at ADP_LOG_LINE_MAX bytes (longer ones end in "...").
 * Control characters in messages are escaped (\n, \t, \xNN), so a hostile
 * value inside a message cannot forge a second line, and anything shaped
 * like a Finnish personal identity code (hetu) is replaced by
 * ADP_LOG_REDACTED: the operational log never carries a hetu, even by
 * mistake, and cutting a long message or value never leaves a partial or
 * newly hetu-shaped tail (tests/fuzz/fuzz_log.c checks both). Passwords, tokens
 * and raw responses must not be passed here at all; nothing in this module can
 * tell them apart from other text.
 *
 * Two output formats, chosen by adp_log_init():
 *   journald  when $JOURNAL_STREAM names the device:inode of fd 2 (systemd
 *             connected stderr to the journal): "<3>message" with the
 *             sd-daemon priority prefix and no timestamp (journald adds
 *             its own);
 *   plain     otherwise: "2026-11-27T16:33:51.123Z warn: message" with a
 *             UTC timestamp in milliseconds.
 *
 * Messages start with the function name where that helps the reader
 * (adp_log_err("%s: bind %s: ...", __func__, ...)).
 *
 * adp_log_request() writes the access log: one logfmt line per API
 * request. Its struct has no field for a hetu, an end-user id, a password
 * or a token, by design.
 */
#ifndef VAYLA_LOG_H
#define VAYLA_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include <xroad/common.h>

#define ADP_LOG_LINE_MAX 2048u        /* one line including the '\n' */
#define ADP_LOG_REDACTED "[REDACTED]" /* replaces hetu-shaped text */

/* Severities, most severe first; the numeric order is the filter order. */
enum adp_log_level {
    ADP_LOG_ERR,  /* something failed; an operator should look */
    ADP_LOG_WARN, /* degraded or unusual, the service goes on */
    ADP_LOG_INFO, /* lifecycle events and the access log (default) */
    ADP_LOG_DEBUG /* detail for developers; never secrets either */
};

struct adp_log_opts {
    /*
     * When running under journald, send each access-log record through
     * sd_journal_sendv() with the structured fields REQ_ID, CALLER,
     * OUTCOME, STATUS, FAULT_ORIGIN, XROAD_ID and DURATION_MS instead of
     * writing it to stderr (doing both would store every request twice).
     * If the journal socket is missing or sd_journal_sendv() fails, the line
     * goes to stderr as usual.
     * Ignored outside journald. Default false.
     */
    bool journal_fields;
};

/*
 * Choose the output format from $JOURNAL_STREAM and fd 2 (see above) and
 * apply opts (may be NULL = defaults). Without a call the log is plain,
 * at level INFO. May be called again (e.g. after fd 2 was redirected).
 * Ownership: opts borrowed for the call.
 * Thread-safety: call from main() before other threads log; it reads the
 * environment.
 */
void adp_log_init(const struct adp_log_opts *opts);

/* True when adp_log_init() chose the journald format. Thread-safe. */
bool adp_log_is_journald(void);

/*
 * Records less severe than `level` are dropped. The default is INFO.
 * Thread-safety: any thread, at any time (SIGHUP reload).
 */
void adp_log_set_level(enum adp_log_level level);
enum adp_log_level adp_log_get_level(void);

/* True when a record of `level` would be written. Thread-safe. */
bool adp_log_enabled(enum adp_log_level level);

/*
 * "err", "warn", "info", "debug" <-> enum. Parsing also accepts "error"
 * and "warning" (case-insensitive) and returns false for anything else.
 * Ownership: static strings. Thread-safety: reentrant.
 */
const char *adp_log_level_name(enum adp_log_level level);
bool adp_log_level_parse(const char *s, enum adp_log_level *out);

/*
 * Write one record at `level` (printf format). Messages longer than a line
 * are truncated. errno is preserved.
 * Ownership: arguments borrowed for the call.
 * Thread-safety: any thread.
 */
void adp_log(enum adp_log_level level, const char *fmt, ...) XR_PRINTF(2, 3);
void adp_log_err(const char *fmt, ...) XR_PRINTF(1, 2);
void adp_log_warn(const char *fmt, ...) XR_PRINTF(1, 2);
void adp_log_info(const char *fmt, ...) XR_PRINTF(1, 2);
void adp_log_debug(const char *fmt, ...) XR_PRINTF(1, 2);

/*
 * Like adp_log() and appends ": " followed by strerror(errno), with errno
 * as it was when adp_log_errno() was called (OpenBSD's log_warn()).
 * errno is preserved.
 * Thread-safety: any thread.
 */
void adp_log_errno(enum adp_log_level level, const char *fmt, ...)
    XR_PRINTF(2, 3);

/*
 * One API request, for the access log. Every string is optional (NULL is
 * written as "-") and borrowed for the duration of adp_log_request().
 * Durations are in microseconds; a negative value means "not applicable"
 * and is written as "-". There is deliberately no field for the queried
 * person, the end user, a password or a token.
 */
struct adp_log_req {
    const char *req_id;       /* vayla's request id */
    const char *caller;       /* authenticated client: cert subject, uid */
    const char *method;       /* "POST" */
    const char *path;         /* route path; anything from '?' is dropped */
    int status;               /* HTTP status sent */
    const char *outcome;      /* static outcome name, e.g. "found" */
    const char *fault_origin; /* "client", "server_proxy", ... or NULL */
    const char *xroad_id;     /* X-Road message id, or NULL */
    int64_t duration_us;      /* whole request, arrival to reply */
    int64_t upstream_us;      /* security-server exchange, or < 0 */
    int64_t audit_us;         /* waiting for audit durability, or < 0 */
};

/*
 * Write the access-log record of one request at level INFO (dropped when
 * the level is below INFO), as one logfmt line:
 *   ts=2026-11-27T16:33:51.123Z level=info msg=request req_id=...
 *   caller="CN=app,O=Org" method=POST path=/v1/vtj/person status=200
 *   outcome=found fault_origin=- xroad_id=... duration_ms=12.345
 *   upstream_ms=10.002 audit_ms=1.200
 * (under journald without ts=, with the "<6>" prefix). Values are quoted
 * when they contain anything but [A-Za-z0-9_.:/@+,-]; inside quotes '"'
 * and '\' are backslash-escaped and control bytes written as \n, \r, \t
 * or \u00XX. Each value is capped at ADP_LOG_VALUE_MAX bytes and
 * hetu-shaped text is redacted. See adp_log_opts.journal_fields for the
 * structured journald variant.
 * Ownership: r and its strings borrowed for the call.
 * Thread-safety: any thread.
 */
#define ADP_LOG_VALUE_MAX 256u
void adp_log_request(const struct adp_log_req *r);

/*
 * One audit checkpoint line (checkpoint.h) at level INFO: "audit
 * checkpoint: LINE", and under journald with the fields
 * VAYLA_EVENT=checkpoint and VAYLA_CHECKPOINT=LINE, which `vayla audit
 * verify --anchors journal` reads back. The line is not redacted (it is
 * hex and base64 only). Thread-safety: any thread.
 */
void adp_log_checkpoint(const char *line);

#endif

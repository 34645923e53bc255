/*
 * One query through the organisation's security server: the pipeline
 * that every face (the HTTP API, the CLI) drives and every service module
 * (services/service.h) plugs into.
 *
 *   1. wait for a connection slot              (net->acquire)
 *   2. build the request: the module's Body wrapper inside an X-Road
 *      envelope with client, service, id, userId, issue, protocolVersion
 *   3. make the audit INTENT durable            (audit->intent)
 *   4. exchange the exact bytes                 (net->exchange)
 *   5. judge the answer (libxroad): transport, HTTP status, fault, header
 *      echo, requestHash, Body rule
 *   6. decode it                                (svc->decode)
 *   7. make the audit OUTCOME durable           (audit->outcome)
 *   8. one more request when the module asks    (svc->follow_up), else
 *   9. hand one verdict to the face             (done)
 *
 * Nothing reaches the security server before its intent is durable and
 * no verdict reaches the face before the outcome is. The query does no
 * I/O of its own: the transport and the audit store are the two small
 * interfaces below, so tests drive it with fakes (tests/unit/
 * test_pipeline.c). A query without an audit interface (the CLI with no
 * [audit] path) skips steps 3 and 7.
 *
 * Callbacks into the query (slot granted, exchange done, record durable)
 * may come before the call that caused them has returned; the query
 * copes. `done` is the last thing the query does with itself: the face
 * may free it from inside `done`.
 *
 * Thread-safety: a query and its interfaces belong to one thread (one
 * event loop).
 */
#ifndef VAYLA_QUERY_H
#define VAYLA_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include <xroad/envelope.h>
#include <xroad/error.h>
#include <xroad/fault.h>
#include <xroad/id.h>

#include "audit.h"
#include "config.h"
#include "services/service.h"
#include "xfer.h"

#define ADP_QUERY_MAX_STEPS 2u /* requests per query: one follow-up */

/*
 * What a query ended in. The faces translate it, each through one table:
 * api.c into an HTTP status, cli_query.c into an exit status
 * (docs/api.md, docs/cli.md).
 */
enum adp_verdict_class {
    ADP_VERDICT_DATA,          /* the service answered with the data */
    ADP_VERDICT_NO_DATA,       /* answered without it: not found, ... */
    ADP_VERDICT_SERVICE_ERROR, /* the service refused: credentials, ... */
    ADP_VERDICT_FAULT,         /* a SOAP fault; the origin says who */
    ADP_VERDICT_INVALID,       /* the answer failed validation */
    ADP_VERDICT_TRANSPORT,     /* no usable HTTP answer */
    ADP_VERDICT_REJECTED,      /* the request cannot be built from the
                                  input: nothing was sent */
    ADP_VERDICT_AUDIT,         /* the audit store cannot record: nothing
                                  was sent, or the answer is withheld */
    ADP_VERDICT_INTERNAL       /* out of memory or an internal failure
                                  before sending: nothing was sent */
};
#define ADP_VERDICT_COUNT 9u

/* "data", "no_data", "service_error", "fault", "invalid", "transport",
 * "rejected", "audit", "internal". Static, never NULL. */
const char *adp_verdict_class_name(enum adp_verdict_class cls);

struct adp_verdict {
    enum adp_verdict_class cls;
    /* The request of the last step reached the transport (it may have
     * reached the security server). */
    bool sent;
    long http_status;              /* of the last exchange, 0 = none */
    enum adp_xfer_class transport; /* TRANSPORT: the failure class */
    const struct xr_fault *fault;  /* FAULT: get0, valid until free */
    /* DATA, NO_DATA, SERVICE_ERROR: the module's outcome name and code;
     * otherwise the audit class ("fault", "transport_error", ...). */
    const char *outcome;
    const char *return_code; /* NULL when none */
    /*
     * Why, for INVALID, TRANSPORT, REJECTED, AUDIT and INTERNAL:
     * err->reason is the stable code (for TRANSPORT the class name) and
     * err->msg the sentence for operators (no personal data, no secrets).
     * Never NULL (an empty error otherwise); get0, valid until the query
     * is freed. Held apart from the query so that a waiting query does not
     * carry it.
     */
    const struct xr_error *err;
    const char *message_id; /* X-Road id of the last request, or NULL */
    unsigned steps;         /* requests built (1, 2 after a follow-up) */
    int64_t upstream_us;    /* summed over exchanges, -1 when none */
    int64_t audit_us;       /* waiting for durability, summed */
};

struct adp_query;

/* Called exactly once per started query; v is valid until the query is
 * freed. The callee may free the query. */
typedef void adp_query_done_fn(struct adp_query *q, const struct adp_verdict *v,
                               void *ctx);

/*
 * What goes on the wire for one request: the SOAP message alone
 * (content_type NULL: text/xml; charset=UTF-8), or a multipart/related
 * body with the SOAP message as its first part when the service module
 * has attachments. requestHash and the audit digest cover the SOAP
 * message only (PR-MESS 2.2). Ownership: get0 from the query, valid
 * until the exchange completes.
 */
struct adp_query_wire {
    const uint8_t *bytes;
    size_t len;
    const char *content_type;
};

/*
 * The transport. Production: upstream.c (adp_upstream_net()); tests: a
 * fake. Per query, the implementation may use adp_query_net_slot(q).
 */
struct adp_query_net {
    void *ctx;
    /* Queue q for a connection slot; call adp_query_on_slot(q) once one
     * is free (possibly before returning). */
    void (*acquire)(void *ctx, struct adp_query *q);
    /*
     * POST the request on q's slot, with the security-server settings
     * ss. On XR_OK, call adp_query_on_exchange(q, res) exactly once
     * later; on an error, never.
     */
    XR_NODISCARD enum xr_status (*exchange)(void *ctx, struct adp_query *q,
                                            const struct adp_config_ss *ss,
                                            const struct adp_query_wire *w,
                                            struct xr_error *err);
    /* Forget q: leave the wait queue, give back its slot, cancel and free
     * a running exchange. Safe to call in any state. */
    void (*release)(void *ctx, struct adp_query *q);
    /* The libxml2 dictionary the answers this transport delivers are
     * parsed with (xr_check_opts.dict): one per thread, kept across
     * answers. NULL = a new one per answer. Owned by the transport. */
    xmlDictPtr names;
};

/* Storage inside each query for the transport's own bookkeeping. */
struct adp_query_net_slot {
    struct adp_query *next; /* wait queue link */
    void *exchange;         /* the running exchange */
    bool queued;            /* in the wait queue */
    bool holds;             /* holds a connection slot */
    void *owner;            /* the transport that set the fields */
};
struct adp_query_net_slot *adp_query_net_slot(struct adp_query *q);

/*
 * The audit store. Production: the daemon's group-commit writer (api.c)
 * or the CLI's own store (cli_query.c); tests: a fake. On XR_OK the
 * implementation calls adp_query_on_durable(q, ok, msg) exactly once
 * (possibly before returning); on an error, never.
 */
struct adp_query_audit {
    void *ctx;
    XR_NODISCARD enum xr_status (*intent)(void *ctx, struct adp_query *q,
                                          const struct adp_audit_intent *in,
                                          struct xr_error *err);
    XR_NODISCARD enum xr_status (*outcome)(void *ctx, struct adp_query *q,
                                           const struct adp_audit_outcome *o,
                                           struct xr_error *err);
    /*
     * Record an outcome without waiting and without a completion: the
     * "not_sent" outcome that closes an intent whose commit failed. The
     * store may still commit that intent later (it stays in its batch);
     * with this outcome next to it, it can never look like a query that
     * may have reached the service.
     */
    void (*close)(void *ctx, const struct adp_audit_outcome *o);
};

/*
 * What a query asks. Every pointer is borrowed and must outlive the
 * query (the daemon keeps the configuration generation referenced).
 */
struct adp_query_params {
    const struct adp_service_ops *svc;
    void *call;                          /* the module's call object */
    const struct xr_id *client;          /* MEMBER or SUBSYSTEM */
    const struct xr_id *service;         /* SERVICE */
    const struct xr_id *security_server; /* SERVER, or NULL */
    const char *user_id;                 /* clean: adp_query_text() */
    const char *issue;                   /* clean: adp_query_text() */
    const char *caller;                  /* audit: who asks */
    const struct adp_config_ss *ss;      /* limits, checks, transport */
    const struct adp_query_net *net;     /* required */
    const struct adp_query_audit *audit; /* NULL: no audit records */
    adp_query_done_fn *done;
    void *done_ctx;
};

/*
 * A new query in its first state. Nothing happens until
 * adp_query_start(). Errors: XR_EINVAL (a required parameter missing),
 * XR_ENOMEM.
 * Ownership: *out new, free with adp_query_free(); p is copied (the
 * pointers in it stay borrowed).
 */
XR_NODISCARD enum xr_status adp_query_new(const struct adp_query_params *p,
                                          struct adp_query **out,
                                          struct xr_error *err);

/* Run the pipeline; `done` comes exactly once, possibly before this
 * returns. */
void adp_query_start(struct adp_query *q);

/*
 * Free a query. After `done`, always; before it only when no audit
 * submission is outstanding (its completion would find nothing). The
 * transport is released. Accepts NULL.
 */
void adp_query_free(struct adp_query *q);

/* Message ids of the requests built so far (at most ADP_QUERY_MAX_STEPS),
 * oldest first. Ownership: get0, valid until free. */
size_t adp_query_message_ids(const struct adp_query *q, const char **ids,
                             size_t max);

/* Completions, called by the interfaces above. */
void adp_query_on_slot(struct adp_query *q);
void adp_query_on_exchange(struct adp_query *q,
                           const struct adp_xfer_result *res);
void adp_query_on_durable(struct adp_query *q, bool ok, const char *msg);

/* Caller-supplied texts that become X-Road header values. */
enum adp_text {
    ADP_TEXT_END_USER, /* X-Road userId (and VTJ Loppukayttaja) */
    ADP_TEXT_PURPOSE,  /* X-Road issue */
    ADP_TEXT_SUBJECT   /* audit subject of the generic SOAP path */
};

/*
 * The one rule for caller-supplied texts that become X-Road header values
 * and audit fields (end user, purpose), applied by every face before a
 * query is built: surrounding white space (space, TAB, CR, LF) is
 * removed; what remains must be 1..max bytes of valid UTF-8 without
 * control characters (C0, DEL, C1: a TAB, line feed or U+0085 inside the
 * text is refused, never normalised).
 * Errors (XR_EINVAL; err->field "end_user", "purpose" or "subject"):
 * missing_end_user / missing_purpose / missing_subject (absent or only
 * white space), end_user_too_long / purpose_too_long /
 * subject_too_long, invalid_end_user / invalid_purpose /
 * invalid_subject.
 * Ownership: *out new (free()), NULL on error. Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status adp_query_text(enum adp_text which, const char *in,
                                           size_t max, char **out,
                                           struct xr_error *err);

#endif

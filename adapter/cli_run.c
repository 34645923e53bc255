/*
 * The pipeline on a command's own event loop (cli_run.h).
 */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_run.h"
#include "curlev.h"
#include "jsonout.h"

void adp_cli_error_line(const char *what, const struct xr_error *err)
{
    fprintf(stderr, "vayla: %s: %s%s%s%s\n", what, err->msg,
            err->reason && err->reason[0] ? " [" : "",
            err->reason ? err->reason : "",
            err->reason && err->reason[0] ? "]" : "");
}

int adp_cli_run_open(struct adp_cli_run *r, const char *config_path,
                     enum adp_cli_audit mode)
{
    struct adp_audit_options ro = {true, 0, 0};
    struct passwd *pw = getpwuid(geteuid());
    struct xr_error err;

    memset(r, 0, sizeof(*r));
    if (adp_config_load(config_path ? config_path : adp_config_default_path(),
                        &r->cfg, adp_config_problem_print, stderr,
                        &err) != XR_OK) {
        fprintf(stderr, "vayla: configuration: %s\n", err.msg);
        return ADP_EXIT_USAGE;
    }
    if (adp_curlev_global_init(&err) != XR_OK) {
        adp_cli_error_line("libcurl", &err);
        return ADP_EXIT_USAGE;
    }
    /* A peer or a stdout reader that hangs up must give EPIPE, not kill
     * the process (CURLOPT_NOSIGNAL leaves SIGPIPE to the application). */
    signal(SIGPIPE, SIG_IGN);
    r->base = event_base_new();
    if (!r->base || adp_upstream_new(r->base, 1, NULL, &r->up, &err) != XR_OK) {
        fprintf(stderr, "vayla: cannot create the event loop: %s\n",
                r->base ? err.msg : "event_base_new failed");
        return ADP_EXIT_USAGE;
    }
    /* Every query through the pipeline is recorded like `vayla query`'s
     * (docs/audit.md). */
    if (mode != ADP_CLI_AUDIT_NONE && r->cfg->audit.path &&
        adp_audit_open(r->cfg->audit.path, NULL, &r->audit, &err) != XR_OK) {
        /* A store whose head does not match its rows is what
         * `audit reconcile` may be run to investigate: read it anyway. */
        if (mode != ADP_CLI_AUDIT_READ || err.code != XR_ESIG) {
            adp_cli_error_line("audit store (no query was sent)", &err);
            return ADP_EXIT_UNAVAILABLE;
        }
        adp_cli_error_line("warning: audit store", &err);
        fprintf(stderr, "vayla: warning: the store is read only; this "
                        "command's own queries are not recorded\n");
        if (adp_audit_open(r->cfg->audit.path, &ro, &r->reader, &err) !=
            XR_OK) {
            adp_cli_error_line("audit store", &err);
            return ADP_EXIT_UNAVAILABLE;
        }
    }
    if (r->audit)
        r->reader = r->audit;
    snprintf(r->caller, sizeof(r->caller), "cli:uid=%u(%.64s)",
             (unsigned)geteuid(), pw && pw->pw_name ? pw->pw_name : "?");
    return -1;
}

void adp_cli_run_close(struct adp_cli_run *r)
{
    adp_upstream_free(r->up);
    if (r->base)
        event_base_free(r->base);
    if (r->reader != r->audit)
        adp_audit_close(r->reader);
    adp_audit_close(r->audit); /* every row was committed already */
    adp_config_free(r->cfg);
    memset(r, 0, sizeof(*r));
}

/* ---- the audit store as the pipeline sees it: each record committed at
 * once (one process, one query at a time) ---------------------------------- */

static enum xr_status commit(struct adp_cli_run *r, struct adp_query *q,
                             enum xr_status rc, struct xr_error *err)
{
    if (rc == XR_OK)
        rc = adp_audit_commit(r->audit, err);
    /* The record was accepted; whether it is durable is the completion. */
    adp_query_on_durable(q, rc == XR_OK, rc == XR_OK ? NULL : err->msg);
    return XR_OK;
}

static enum xr_status audit_intent(void *ctx, struct adp_query *q,
                                   const struct adp_audit_intent *in,
                                   struct xr_error *err)
{
    struct adp_cli_run *r = ctx;
    uint64_t ticket = 0;

    return commit(r, q, adp_audit_intent(r->audit, in, &ticket, err), err);
}

static enum xr_status audit_outcome(void *ctx, struct adp_query *q,
                                    const struct adp_audit_outcome *o,
                                    struct xr_error *err)
{
    struct adp_cli_run *r = ctx;
    uint64_t ticket = 0;

    return commit(r, q, adp_audit_outcome(r->audit, o, &ticket, err), err);
}

static void audit_close(void *ctx, const struct adp_audit_outcome *o)
{
    struct adp_cli_run *r = ctx;
    uint64_t ticket = 0;
    struct xr_error err;

    if (adp_audit_outcome(r->audit, o, &ticket, &err) != XR_OK ||
        adp_audit_commit(r->audit, &err) != XR_OK)
        fprintf(stderr,
                "vayla: audit store: the failed intent stays "
                "uncommitted (%s)\n",
                err.msg);
}

/* ---- running ---------------------------------------------------------- */

static void on_done(struct adp_query *q, const struct adp_verdict *v, void *ctx)
{
    struct adp_cli_run *r = ctx;

    r->done_fn(r->done_ctx, q, v);
    r->done = true;
    event_base_loopbreak(r->base);
}

/* Run the loop until done. Every exchange has a deadline, so the loop
 * always has a timer or a socket until then. */
static bool run_loop(struct adp_cli_run *r)
{
    while (!r->done) {
        if (event_base_dispatch(r->base) != 0 && !r->done) {
            fprintf(stderr, "vayla: the event loop stopped before the "
                            "exchange completed\n");
            return false;
        }
    }
    return true;
}

int adp_cli_run_query(struct adp_cli_run *r, const struct adp_cli_query *cq,
                      adp_cli_done_fn *done, void *ctx)
{
    const struct adp_config *cfg = r->cfg;
    struct adp_query_params qp;
    struct adp_query *q = NULL;
    struct xr_error err;
    int rc = 0;

    r->qaudit =
        (struct adp_query_audit){r, audit_intent, audit_outcome, audit_close};
    memset(&qp, 0, sizeof(qp));
    qp.svc = cq->svc;
    qp.call = cq->call;
    qp.client = cq->client ? cq->client : &cfg->xroad.client;
    qp.service = cq->service;
    qp.security_server = cq->security_server ? cq->security_server
                         : cfg->xroad.has_security_server
                             ? &cfg->xroad.security_server
                             : NULL;
    qp.user_id = cq->user_id;
    qp.issue = cq->issue;
    qp.caller = r->caller;
    qp.ss = &cfg->ss;
    qp.net = adp_upstream_net(r->up);
    qp.audit = r->audit ? &r->qaudit : NULL;
    qp.done = on_done;
    qp.done_ctx = r;
    if (adp_query_new(&qp, &q, &err) != XR_OK) {
        adp_cli_error_line("cannot start the query", &err);
        return ADP_EXIT_USAGE;
    }
    r->done = false;
    r->done_fn = done;
    r->done_ctx = ctx;
    adp_query_start(q);
    if (!run_loop(r))
        rc = ADP_EXIT_UNAVAILABLE;
    adp_query_free(q);
    return rc;
}

static void on_get(struct adp_xfer *x, const struct adp_xfer_result *res,
                   void *ctx)
{
    struct adp_cli_run *r = ctx;

    (void)x; /* freed by adp_cli_run_get() */
    r->get_fn(r->done_ctx, res);
    r->done = true;
    event_base_loopbreak(r->base);
}

int adp_cli_run_get(struct adp_cli_run *r, const struct adp_upstream_req *rq,
                    adp_cli_get_fn *fn, void *ctx)
{
    struct adp_xfer *x = NULL;
    struct xr_error err;
    int rc = 0;

    r->done = false;
    r->get_fn = fn;
    r->done_ctx = ctx;
    if (adp_upstream_exchange(r->up, &r->cfg->ss, rq, on_get, r, &x, &err) !=
        XR_OK) {
        adp_cli_error_line("cannot start the exchange", &err);
        return ADP_EXIT_USAGE;
    }
    if (!run_loop(r))
        rc = ADP_EXIT_UNAVAILABLE;
    adp_xfer_free(x);
    return rc;
}

/* ---- texts and verdicts ------------------------------------------------- */

bool adp_cli_texts(const char *user_id, const char *issue,
                   const char *default_issue, char **uid, char **issue_out)
{
    struct passwd *pw = NULL;
    struct xr_error err;

    *uid = NULL;
    *issue_out = NULL;
    if (!user_id) {
        pw = getpwuid(geteuid());
        user_id = pw && pw->pw_name ? pw->pw_name : NULL;
        if (!user_id) {
            fprintf(stderr, "vayla: the OS user has no name: give "
                            "--user-id\n");
            return false;
        }
    }
    if (adp_query_text(ADP_TEXT_END_USER, user_id, XR_TEXT_MAX, uid, &err) !=
        XR_OK) {
        adp_cli_error_line("--user-id", &err);
        return false;
    }
    if (adp_query_text(ADP_TEXT_PURPOSE, issue ? issue : default_issue,
                       XR_TEXT_MAX, issue_out, &err) != XR_OK) {
        adp_cli_error_line("--issue", &err);
        free(*uid);
        *uid = NULL;
        return false;
    }
    return true;
}

const char *adp_cli_verdict_status(const struct adp_verdict *v)
{
    switch (v->cls) {
    case ADP_VERDICT_DATA:
    case ADP_VERDICT_NO_DATA:
    case ADP_VERDICT_SERVICE_ERROR:
        return "ok";
    case ADP_VERDICT_FAULT:
        return "fault";
    case ADP_VERDICT_INVALID:
        return "invalid";
    case ADP_VERDICT_TRANSPORT:
        return "transport_error";
    case ADP_VERDICT_REJECTED:
        return "rejected";
    case ADP_VERDICT_AUDIT:
        return "audit_unavailable";
    case ADP_VERDICT_INTERNAL:
        return "internal_error";
    }
    return "internal_error";
}

json_t *adp_cli_verdict_json(struct adp_query *q, const struct adp_verdict *v)
{
    const char *ids[ADP_QUERY_MAX_STEPS];
    size_t n = adp_query_message_ids(q, ids, ADP_QUERY_MAX_STEPS);
    json_t *o = json_object(), *e;

    if (!o)
        return NULL;
    if (n > 0)
        json_object_set_new(o, "message_id", json_string(ids[n - 1]));
    json_object_set_new(o, "status", json_string(adp_cli_verdict_status(v)));
    switch (v->cls) {
    case ADP_VERDICT_DATA:
    case ADP_VERDICT_NO_DATA:
    case ADP_VERDICT_SERVICE_ERROR:
        json_object_set_new(o, "outcome", json_string(v->outcome));
        return o;
    case ADP_VERDICT_FAULT:
        json_object_set_new(o, "fault", adp_fault_json(v->fault));
        return o;
    case ADP_VERDICT_TRANSPORT:
        e = json_object();
        json_object_set_new(e, "code",
                            json_string(adp_xfer_class_name(v->transport)));
        json_object_set_new(e, "message", json_string(v->err->msg));
        if (v->http_status != 0)
            json_object_set_new(e, "http_status", json_integer(v->http_status));
        json_object_set_new(o, "error", e);
        return o;
    case ADP_VERDICT_INVALID:
    case ADP_VERDICT_REJECTED:
    case ADP_VERDICT_AUDIT:
    case ADP_VERDICT_INTERNAL:
        json_object_set_new(o, "error", adp_error_json(v->err));
        return o;
    }
    return o;
}

void adp_cli_verdict_explain(const char *what, const struct adp_verdict *v)
{
    switch (v->cls) {
    case ADP_VERDICT_DATA:
    case ADP_VERDICT_NO_DATA:
        return;
    case ADP_VERDICT_SERVICE_ERROR:
        fprintf(stderr, "vayla: %s: the service refused: %s\n", what,
                v->outcome);
        return;
    case ADP_VERDICT_FAULT:
        fprintf(stderr, "vayla: %s: SOAP fault %s (%s)%s%s%s%s\n", what,
                v->fault->code, xr_fault_origin_name(v->fault->origin),
                v->fault->string[0] ? ": " : "", v->fault->string,
                v->fault->detail[0] ? " detail " : "", v->fault->detail);
        return;
    case ADP_VERDICT_INVALID:
        fprintf(stderr, "vayla: %s: invalid response: %s [%s]\n", what,
                v->err->msg, v->err->reason ? v->err->reason : "");
        return;
    case ADP_VERDICT_TRANSPORT:
        fprintf(stderr, "vayla: %s: %s: %s\n", what,
                adp_xfer_class_name(v->transport), v->err->msg);
        return;
    case ADP_VERDICT_REJECTED:
    case ADP_VERDICT_INTERNAL:
        fprintf(stderr, "vayla: %s: cannot build the request: %s [%s]\n", what,
                v->err->msg, v->err->reason ? v->err->reason : "");
        return;
    case ADP_VERDICT_AUDIT:
        fprintf(stderr, "vayla: %s: audit store (%s): %s\n", what,
                v->sent ? "the answer is withheld" : "the query was not sent",
                v->err->msg);
        return;
    }
}

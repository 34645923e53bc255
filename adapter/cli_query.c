/*
 * `vayla query person HETU --user-id U --issue TEXT [--product P]
 *  [--satu SATU] [-c CONFIG]`: one VTJ HenkilonTunnusKysely end to end
 * (docs/cli.md), as a face of the query pipeline (query.h): the same
 * pipeline, transport (upstream.h) and VTJ module as the daemon, on an
 * event loop of its own that runs until the verdict is in.
 *
 * Output: one JSON object on stdout; the hetu is never written to stderr.
 */
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <xroad/xroad.h>

#include "audit.h"
#include "cli.h"
#include "config.h"
#include "curlev.h"
#include "jsonout.h"
#include "query.h"
#include "services/hetu.h"
#include "services/vtj_call.h"
#include "upstream.h"

#define CLI_TEXT_MAX XR_TEXT_MAX /* --user-id, --issue: bytes */

static void query_usage(FILE *out)
{
    fprintf(out,
            "usage: vayla query person HETU --user-id U --issue TEXT\n"
            "                         [--product P] [--protected-addresses]\n"
            "                         [-c CONFIG]\n"
            "       vayla query person --satu SATU --user-id U --issue TEXT\n"
            "                         [--product P] [--protected-addresses]\n"
            "                         [-c CONFIG]\n"
            "\n"
            "Queries the person from VTJ through the security server in the\n"
            "configuration (-c, default $" ADP_CONFIG_ENV
            " or " ADP_CONFIG_DEFAULT_PATH ").\n"
            "--user-id is the X-Road userId and the VTJ end user\n"
            "(Loppukayttaja); --issue the X-Road issue (purpose, e.g. a case\n"
            "number); --product the VTJ product (default from the "
            "configuration).\n"
            "Addresses of persons with a protection order (or whose\n"
            "protection is unknown) are removed unless\n"
            "--protected-addresses is given (for operators entitled to "
            "them).\n"
            "\n"
            "Prints one JSON object. Exit 0 found, 4 not found or another\n"
            "non-found outcome, 6 VTJ refused (credentials, configuration),\n"
            "3 SOAP fault, 2 invalid response, 5 transport failure, 7 audit\n"
            "store unavailable, 1 usage, configuration or input error.\n");
}

/* ---- the verdict table ---------------------------------------------------
 */

/* The one place where a query verdict becomes an exit status
 * (docs/cli.md, "Exit statuses"). */
static const int exits[ADP_VERDICT_COUNT] = {
    [ADP_VERDICT_DATA] = ADP_EXIT_OK,
    [ADP_VERDICT_NO_DATA] = ADP_EXIT_NOTFOUND,
    [ADP_VERDICT_SERVICE_ERROR] = ADP_EXIT_SERVICE,
    [ADP_VERDICT_FAULT] = ADP_EXIT_FAULT,
    [ADP_VERDICT_INVALID] = ADP_EXIT_INVALID,
    [ADP_VERDICT_TRANSPORT] = ADP_EXIT_TRANSPORT,
    [ADP_VERDICT_REJECTED] = ADP_EXIT_USAGE,
    [ADP_VERDICT_AUDIT] = ADP_EXIT_UNAVAILABLE,
    [ADP_VERDICT_INTERNAL] = ADP_EXIT_UNAVAILABLE,
};

int adp_cli_verdict_exit(const struct adp_verdict *v)
{
    return exits[v->cls];
}

/* "status" of the JSON line. */
static const char *verdict_status(const struct adp_verdict *v)
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

/* ---- the run -------------------------------------------------------------
 */

struct run {
    struct event_base *base;
    struct vtj_call *call;
    struct adp_audit *audit; /* NULL: [audit] path unset */
    bool done;
    int exit_code;
};

/* Add "message_id" (and "message_ids" after a follow-up) to o. */
static void add_ids(json_t *o, struct adp_query *q)
{
    const char *ids[ADP_QUERY_MAX_STEPS];
    size_t n = adp_query_message_ids(q, ids, ADP_QUERY_MAX_STEPS);
    json_t *arr;

    if (n == 0)
        return;
    json_object_set_new(o, "message_id", json_string(ids[n - 1]));
    if (n < 2)
        return;
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_string(ids[i]));
    if (arr)
        json_object_set_new(o, "message_ids", arr);
}

/* What stderr says, beside the JSON (never the hetu). */
static void explain(const struct adp_verdict *v)
{
    switch (v->cls) {
    case ADP_VERDICT_DATA:
    case ADP_VERDICT_NO_DATA:
        return;
    case ADP_VERDICT_SERVICE_ERROR:
        fprintf(stderr, "vayla: VTJ refused the query: %s (%s)\n", v->outcome,
                v->return_code ? v->return_code : "no code");
        return;
    case ADP_VERDICT_FAULT:
        fprintf(stderr, "vayla: SOAP fault %s (%s)%s%s\n", v->fault->code,
                xr_fault_origin_name(v->fault->origin),
                v->fault->detail[0] ? ": " : "", v->fault->detail);
        return;
    case ADP_VERDICT_INVALID:
        fprintf(stderr, "vayla: invalid response: %s\n", v->err->msg);
        return;
    case ADP_VERDICT_TRANSPORT:
        fprintf(stderr, "vayla: %s: %s\n", adp_xfer_class_name(v->transport),
                v->err->msg);
        return;
    case ADP_VERDICT_REJECTED:
    case ADP_VERDICT_INTERNAL:
        fprintf(stderr, "vayla: cannot build the request: %s [%s]\n",
                v->err->msg, v->err->reason ? v->err->reason : "");
        return;
    case ADP_VERDICT_AUDIT:
        fprintf(stderr, "vayla: audit store (%s): %s\n",
                v->sent ? "the answer is withheld" : "the query was not sent",
                v->err->msg);
        return;
    }
}

/* The JSON line of a verdict. */
static json_t *verdict_json(const struct run *run, struct adp_query *q,
                            const struct adp_verdict *v)
{
    json_t *o = json_object(), *e;

    if (!o)
        return NULL;
    add_ids(o, q);
    json_object_set_new(o, "status", json_string(verdict_status(v)));
    switch (v->cls) {
    case ADP_VERDICT_DATA:
    case ADP_VERDICT_NO_DATA:
    case ADP_VERDICT_SERVICE_ERROR:
        json_object_set_new(o, "outcome", json_string(v->outcome));
        json_object_set_new(o, "person",
                            vtj_result_to_json(vtj_call_result(run->call)));
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

static void on_done(struct adp_query *q, const struct adp_verdict *v, void *ctx)
{
    struct run *run = ctx;
    json_t *o = verdict_json(run, q, v);

    explain(v);
    if (!o || adp_json_print(o) != 0) {
        fprintf(stderr, "vayla: cannot write the answer\n");
        run->exit_code = ADP_EXIT_USAGE;
    } else {
        run->exit_code = adp_cli_verdict_exit(v);
    }
    json_decref(o);
    run->done = true;
    event_base_loopbreak(run->base);
}

/* ---- the audit store as the pipeline sees it: each record committed at
 * once (one process, one query) ------------------------------------------- */

static enum xr_status audit_commit(struct run *run, struct adp_query *q,
                                   enum xr_status rc, struct xr_error *err)
{
    if (rc == XR_OK)
        rc = adp_audit_commit(run->audit, err);
    /* The record was accepted; whether it is durable is the completion. */
    adp_query_on_durable(q, rc == XR_OK, rc == XR_OK ? NULL : err->msg);
    return XR_OK;
}

static enum xr_status audit_intent(void *ctx, struct adp_query *q,
                                   const struct adp_audit_intent *in,
                                   struct xr_error *err)
{
    struct run *run = ctx;
    uint64_t ticket = 0;

    return audit_commit(run, q, adp_audit_intent(run->audit, in, &ticket, err),
                        err);
}

static enum xr_status audit_outcome(void *ctx, struct adp_query *q,
                                    const struct adp_audit_outcome *o,
                                    struct xr_error *err)
{
    struct run *run = ctx;
    uint64_t ticket = 0;

    return audit_commit(run, q, adp_audit_outcome(run->audit, o, &ticket, err),
                        err);
}

/* The intent did not commit: the process ends with it pending (discarded
 * on close) unless a retry commits it, and then its not_sent outcome too. */
static void audit_close(void *ctx, const struct adp_audit_outcome *o)
{
    struct run *run = ctx;
    uint64_t ticket = 0;
    struct xr_error err;

    if (adp_audit_outcome(run->audit, o, &ticket, &err) != XR_OK ||
        adp_audit_commit(run->audit, &err) != XR_OK)
        fprintf(stderr,
                "vayla: audit store: the failed intent stays "
                "uncommitted (%s)\n",
                err.msg);
}

/* ---- arguments -----------------------------------------------------------
 */

struct query_args {
    const char *hetu;
    const char *satu;
    const char *user_id;
    const char *issue;
    const char *product;
    const char *config;
    bool protected_addresses; /* --protected-addresses: no redaction */
};

static int parse_args(int argc, char **argv, struct query_args *a)
{
    static const struct option opts[] = {
        {"user-id", required_argument, NULL, 'u'},
        {"issue", required_argument, NULL, 'i'},
        {"product", required_argument, NULL, 'p'},
        {"satu", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"protected-addresses", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    memset(a, 0, sizeof(*a));
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            a->user_id = optarg;
            break;
        case 'i':
            a->issue = optarg;
            break;
        case 'p':
            a->product = optarg;
            break;
        case 's':
            a->satu = optarg;
            break;
        case 'c':
            a->config = optarg;
            break;
        case 'P':
            a->protected_addresses = true;
            break;
        case 'h':
            query_usage(stdout);
            return ADP_EXIT_OK;
        default:
            query_usage(stderr);
            return ADP_EXIT_USAGE;
        }
    }
    if (optind >= argc || strcmp(argv[optind], "person") != 0) {
        fprintf(stderr, "vayla: query: expected 'person'\n");
        query_usage(stderr);
        return ADP_EXIT_USAGE;
    }
    optind++;
    if (optind < argc)
        a->hetu = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "vayla: query: unexpected argument\n");
        return ADP_EXIT_USAGE;
    }
    if (!a->hetu == !a->satu) {
        fprintf(stderr, "vayla: query: give either HETU or --satu SATU\n");
        return ADP_EXIT_USAGE;
    }
    if (!a->user_id || !a->issue) {
        fprintf(stderr, "vayla: query: --user-id and --issue are required\n");
        return ADP_EXIT_USAGE;
    }
    return -1; /* continue */
}

/* Refuse a malformed code before anything else (never printing it). */
static bool codes_valid(const struct query_args *a)
{
    struct hetu_info info;
    char reason[64];

    if (a->hetu && !hetu_validate(a->hetu, &info)) {
        fprintf(stderr, "vayla: invalid hetu: %s (%s)\n",
                hetu_reason_text(info.reason),
                hetu_reason_format(&info, reason, sizeof(reason)));
        return false;
    }
    if (a->satu && !hetu_satu_validate(a->satu, &info)) {
        fprintf(stderr, "vayla: invalid SATU: %s (%s)\n",
                hetu_reason_text(info.reason),
                hetu_reason_format(&info, reason, sizeof(reason)));
        return false;
    }
    return true;
}

static void print_error_line(const char *what, const struct xr_error *err)
{
    fprintf(stderr, "vayla: %s: %s%s%s%s\n", what, err->msg,
            err->reason && err->reason[0] ? " [" : "",
            err->reason ? err->reason : "",
            err->reason && err->reason[0] ? "]" : "");
}

/* Input refused before a query exists: the same JSON as a rejected
 * verdict, and the reason on stderr. */
static void print_rejected(const char *what, const struct xr_error *err)
{
    json_t *o = json_object();

    print_error_line(what, err);
    if (!o)
        return;
    json_object_set_new(o, "status", json_string("rejected"));
    json_object_set_new(o, "error", adp_error_json(err));
    (void)adp_json_print(o);
    json_decref(o);
}

/* The pieces of one run that need cleaning up. */
struct parts {
    struct adp_config *cfg;
    struct adp_upstream *up;
    struct adp_query *q;
    char *user_id;
    char *issue;
    char caller[160]; /* "cli:uid=N(name)" */
};

/* Build the VTJ call and the query; false with a message printed. */
static bool make_query(const struct query_args *a, struct parts *p,
                       struct run *run, const struct adp_query_audit *audit)
{
    const struct adp_config *cfg = p->cfg;
    struct vtj_credentials cred = {cfg->vtj.username, cfg->vtj.password};
    struct vtj_call_params vp;
    struct adp_query_params qp;
    struct passwd *pw = getpwuid(geteuid());
    struct xr_error err;

    if (adp_query_text(ADP_TEXT_END_USER, a->user_id, CLI_TEXT_MAX, &p->user_id,
                       &err) != XR_OK ||
        adp_query_text(ADP_TEXT_PURPOSE, a->issue, CLI_TEXT_MAX, &p->issue,
                       &err) != XR_OK) {
        print_rejected(err.field[0] && !strcmp(err.field, "end_user")
                           ? "--user-id"
                           : "--issue",
                       &err);
        return false;
    }
    memset(&vp, 0, sizeof(vp));
    vp.product = a->product ? a->product : cfg->vtj.product;
    vp.hetu = a->hetu;
    vp.satu = a->satu;
    vp.end_user = p->user_id;
    vp.service_instance = cfg->vtj.service.instance;
    vp.cred = &cred; /* its strings live in cfg */
    vp.follow_passivated = cfg->vtj.follow_passivated;
    /* Fail closed, as for API callers: addresses of protected persons
     * only for an operator entitled to them (docs/vtj.md §6). */
    vp.redact_protected_addresses = !a->protected_addresses;
    if (vtj_call_new(&vp, &run->call, &err) != XR_OK) {
        print_rejected("invalid query", &err);
        return false;
    }
    snprintf(p->caller, sizeof(p->caller), "cli:uid=%u(%.64s)",
             (unsigned)geteuid(), pw && pw->pw_name ? pw->pw_name : "?");
    memset(&qp, 0, sizeof(qp));
    qp.svc = &vtj_service;
    qp.call = run->call;
    qp.client = &cfg->xroad.client;
    qp.service = &cfg->vtj.service;
    qp.security_server =
        cfg->xroad.has_security_server ? &cfg->xroad.security_server : NULL;
    qp.user_id = p->user_id;
    qp.issue = p->issue;
    qp.caller = p->caller;
    qp.ss = &cfg->ss;
    qp.net = adp_upstream_net(p->up);
    qp.audit = run->audit ? audit : NULL;
    qp.done = on_done;
    qp.done_ctx = run;
    if (adp_query_new(&qp, &p->q, &err) != XR_OK) {
        print_error_line("cannot start the query", &err);
        return false;
    }
    return true;
}

/* Run the loop until the verdict is in. Every exchange has a deadline
 * (timeout_ms), so the loop always has a timer or a socket until then. */
static bool run_loop(struct run *run)
{
    while (!run->done) {
        if (event_base_dispatch(run->base) != 0 && !run->done) {
            /* -1: loop error; 1: no events left, which cannot happen
             * while the query runs. Never spin. */
            fprintf(stderr, "vayla: the event loop stopped before the "
                            "query completed\n");
            return false;
        }
    }
    return true;
}

int cli_query(int argc, char **argv)
{
    struct query_args a;
    struct parts p;
    struct run run;
    struct adp_query_audit audit = {&run, audit_intent, audit_outcome,
                                    audit_close};
    struct xr_error err;
    int rc;

    memset(&p, 0, sizeof(p));
    memset(&run, 0, sizeof(run));
    rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    rc = ADP_EXIT_USAGE;
    if (!codes_valid(&a))
        goto out;
    if (adp_config_load(a.config ? a.config : adp_config_default_path(), &p.cfg,
                        adp_config_problem_print, stderr, &err) != XR_OK) {
        fprintf(stderr, "vayla: configuration: %s\n", err.msg);
        goto out;
    }
    if (adp_curlev_global_init(&err) != XR_OK) {
        print_error_line("libcurl", &err);
        goto out;
    }
    /* A peer or a stdout reader that hangs up must give EPIPE, not kill
     * the process (CURLOPT_NOSIGNAL leaves SIGPIPE to the application). */
    signal(SIGPIPE, SIG_IGN);
    run.base = event_base_new();
    if (!run.base ||
        adp_upstream_new(run.base, 1, NULL, &p.up, &err) != XR_OK) {
        fprintf(stderr, "vayla: cannot create the event loop: %s\n",
                run.base ? err.msg : "event_base_new failed");
        goto out;
    }
    /* VTJ requires a record of every query: with [audit] path set, each
     * query's intent is durable before it is sent and its outcome before
     * the answer is printed (docs/audit.md). */
    if (p.cfg->audit.path &&
        adp_audit_open(p.cfg->audit.path, NULL, &run.audit, &err) != XR_OK) {
        print_error_line("audit store (no query was sent)", &err);
        goto out;
    }
    if (!make_query(&a, &p, &run, &audit))
        goto out;
    run.exit_code = ADP_EXIT_USAGE;
    adp_query_start(p.q);
    if (run_loop(&run))
        rc = run.exit_code;
out:
    adp_query_free(p.q);
    vtj_call_free(run.call);
    adp_upstream_free(p.up);
    if (run.base)
        event_base_free(run.base);
    adp_audit_close(run.audit); /* every row was committed already */
    free(p.user_id);
    free(p.issue);
    adp_config_free(p.cfg);
    return rc;
}

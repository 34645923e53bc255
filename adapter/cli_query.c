/*
 * `vayla query person HETU --user-id U --issue TEXT [--product P]
 *  [--satu SATU] [-c CONFIG]`: one VTJ HenkilonTunnusKysely end to end
 * (docs/cli.md).
 *
 * The exchange runs on an event_base through the same adp_curlev/adp_xfer
 * objects the daemon uses; the CLI simply dispatches the loop until the
 * exchange (and at most one passivated follow-up) has completed.
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
#include "services/hetu.h"
#include "services/vtj.h"
#include "xfer.h"

/* State of one exchange, filled by the completion callback. */
struct exchange {
    struct event_base *base;
    bool finished;
    enum adp_xfer_class cls;
    long http_status;
    char *content_type; /* owned */
    uint8_t *body;      /* owned */
    size_t body_len;
    long total_ms; /* wall time of the exchange */
    char message[ADP_XFER_MSG_MAX];
};

static void query_usage(FILE *out)
{
    fprintf(out,
            "usage: vayla query person HETU --user-id U --issue TEXT\n"
            "                         [--product P] [-c CONFIG]\n"
            "       vayla query person --satu SATU --user-id U --issue TEXT\n"
            "                         [--product P] [-c CONFIG]\n"
            "\n"
            "Queries the person from VTJ through the security server in the\n"
            "configuration (-c, default $" ADP_CONFIG_ENV
            " or " ADP_CONFIG_DEFAULT_PATH ").\n"
            "--user-id is the X-Road userId and the VTJ end user\n"
            "(Loppukayttaja); --issue the X-Road issue (purpose, e.g. a case\n"
            "number); --product the VTJ product (default from the "
            "configuration).\n"
            "\n"
            "Prints one JSON object. Exit 0 found, 4 not found or another\n"
            "non-found outcome, 3 SOAP fault, 2 invalid response, 5 "
            "transport\nfailure, 1 usage, configuration or input error.\n");
}

static void on_xfer_done(struct adp_xfer *x, const struct adp_xfer_result *res,
                         void *ctx)
{
    struct exchange *ex = ctx;

    ex->finished = true;
    ex->cls = res->cls;
    ex->http_status = res->http_status;
    ex->total_ms = res->total_ms;
    snprintf(ex->message, sizeof(ex->message), "%s", res->message);
    if (res->content_type)
        ex->content_type = strdup(res->content_type);
    ex->body = adp_xfer_take_body(x, &ex->body_len);
    adp_xfer_free(x);
    event_base_loopbreak(ex->base);
}

static void exchange_cleanup(struct exchange *ex)
{
    free(ex->content_type);
    free(ex->body);
    memset(ex, 0, sizeof(*ex));
}

/* Run one exchange to completion. Returns false on a start error. */
static bool run_exchange(struct adp_curlev *cev, const struct adp_config *cfg,
                         const struct xr_request *req, struct exchange *ex,
                         struct xr_error *err)
{
    struct adp_xfer_opts opts;
    struct adp_xfer *x = NULL;
    struct xr_bytes bytes = xr_request_bytes(req);

    memset(ex, 0, sizeof(*ex));
    ex->base = adp_curlev_base(cev);
    adp_xfer_opts_from_config(&opts, &cfg->ss);
    if (adp_xfer_start(cev, &opts, bytes.ptr, bytes.len, on_xfer_done, ex, &x,
                       err) != XR_OK)
        return false;
    /* Bounded by the exchange's own deadline (timeout_ms): until it
     * completes libcurl always has a timer or a socket registered. */
    while (!ex->finished) {
        if (event_base_dispatch(ex->base) != 0 && !ex->finished) {
            /* -1: loop error; 1: no events left, which cannot happen
             * while the exchange runs. Never spin. */
            adp_xfer_free(x);
            xr_error_set(err, XR_EINTERNAL, "event_loop", "",
                         "the event loop stopped before the exchange "
                         "completed");
            return false;
        }
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

/* Add "message_id" (and "message_ids" after a follow-up) to o. */
static void add_ids(json_t *o, const char *const *ids, size_t n)
{
    json_t *arr;

    json_object_set_new(o, "message_id", json_string(ids[n - 1]));
    if (n < 2)
        return;
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_string(ids[i]));
    if (arr)
        json_object_set_new(o, "message_ids", arr);
}

/*
 * What one exchange ended in, when it did not end in a decoded VTJ answer:
 * the JSON to print (after the audit outcome is durable) and what the
 * audit store records.
 */
struct answer {
    json_t *json; /* owned; NULL when not decided */
    int exit_code;
    const char *result_class; /* audit class, static */
    bool has_fault;
    char fault_code[XR_TEXT_MAX + 1];
    const char *fault_origin; /* static */
};

/* {"status":"transport_error",...} */
static void transport_answer(struct answer *ans, const struct exchange *ex,
                             const char *const *ids, size_t n)
{
    json_t *o = json_object(), *e = json_object();

    ans->exit_code = ADP_EXIT_TRANSPORT;
    ans->result_class = "transport_error";
    if (!o || !e) {
        json_decref(o);
        json_decref(e);
        return;
    }
    add_ids(o, ids, n);
    json_object_set_new(o, "status", json_string("transport_error"));
    json_object_set_new(e, "code", json_string(adp_xfer_class_name(ex->cls)));
    json_object_set_new(e, "message", json_string(ex->message));
    if (ex->http_status != 0)
        json_object_set_new(e, "http_status", json_integer(ex->http_status));
    json_object_set_new(o, "error", e);
    ans->json = o;
    fprintf(stderr, "vayla: %s: %s\n", adp_xfer_class_name(ex->cls),
            ex->message);
}

/* {"status":status, key:v} (takes v) */
static void status_answer(struct answer *ans, const char *status,
                          const char *key, json_t *v, const char *const *ids,
                          size_t n, int exit_code, const char *result_class)
{
    json_t *o = json_object();

    ans->exit_code = exit_code;
    ans->result_class = result_class;
    if (!o || !v) {
        json_decref(o);
        json_decref(v);
        return;
    }
    add_ids(o, ids, n);
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, key, v);
    ans->json = o;
}

static void fault_answer(struct answer *ans, const struct xr_fault *f,
                         const char *const *ids, size_t n)
{
    status_answer(ans, "fault", "fault", adp_fault_json(f), ids, n,
                  ADP_EXIT_FAULT, "fault");
    ans->has_fault = true;
    snprintf(ans->fault_code, sizeof(ans->fault_code), "%s", f->code);
    ans->fault_origin = xr_fault_origin_name(f->origin);
    fprintf(stderr, "vayla: SOAP fault %s (%s)%s%s\n", f->code,
            xr_fault_origin_name(f->origin), f->detail[0] ? ": " : "",
            f->detail);
}

/*
 * Judge the transport result and the SOAP answer. Returns true with *resp
 * set for a non-fault answer (the caller decodes it); otherwise *ans says
 * what to report.
 */
static bool judge(const struct adp_config *cfg, const struct xr_request *req,
                  const struct exchange *ex, const char *const *ids, size_t n,
                  struct xr_response **resp, struct answer *ans)
{
    struct xr_check_opts co;
    struct xr_error err;
    enum xr_status rc;

    *resp = NULL;
    memset(&co, 0, sizeof(co));
    co.limits.max_bytes = cfg->ss.max_response_bytes;
    co.allow_missing_request_hash = cfg->ss.allow_missing_request_hash;
    xr_error_clear(&err);

    if (ex->cls != ADP_XFER_OK && ex->cls != ADP_XFER_HTTP_STATUS) {
        transport_answer(ans, ex, ids, n);
        return false;
    }
    if (ex->cls == ADP_XFER_HTTP_STATUS) {
        /* An unexpected status carrying a SOAP fault is reported as the
         * fault (more precise); anything else is a transport failure. */
        if (ex->body_len > 0 &&
            xr_response_parse(ex->content_type, ex->body, ex->body_len, &co,
                              resp, &err) == XR_OK &&
            xr_response_verdict(*resp) == XR_VERDICT_FAULT)
            fault_answer(ans, xr_response_fault(*resp), ids, n);
        else
            transport_answer(ans, ex, ids, n);
        xr_response_free(*resp);
        *resp = NULL;
        return false;
    }
    rc = xr_response_check(req, ex->content_type, ex->body, ex->body_len, &co,
                           resp, &err);
    if (rc != XR_OK && ex->http_status == 500) {
        /* HTTP 500 is accepted because SOAP faults may use it; without a
         * usable SOAP message it is an HTTP-level failure (e.g. an error
         * page from a proxy). */
        struct exchange e500 = *ex;
        e500.cls = ADP_XFER_HTTP_STATUS;
        snprintf(e500.message, sizeof(e500.message),
                 "the security server answered HTTP 500 without a valid SOAP "
                 "message (%s: %.160s)",
                 err.reason ? err.reason : xr_strerror(rc), err.msg);
        transport_answer(ans, &e500, ids, n);
        return false;
    }
    if (rc != XR_OK) {
        status_answer(ans, "invalid", "error", adp_error_json(&err), ids, n,
                      ADP_EXIT_INVALID, "invalid_response");
        fprintf(stderr, "vayla: invalid response: %s\n", err.msg);
        return false;
    }
    if (xr_response_verdict(*resp) == XR_VERDICT_FAULT) {
        fault_answer(ans, xr_response_fault(*resp), ids, n);
        xr_response_free(*resp);
        *resp = NULL;
        return false;
    }
    return true;
}

/* Build the envelope of one query. */
static bool build_request(const struct adp_config *cfg,
                          const struct vtj_query *q, const char *user_id,
                          const char *issue, struct xr_request **req,
                          struct xr_error *err)
{
    struct vtj_credentials cred = {cfg->vtj.username, cfg->vtj.password};
    struct xr_header *hdr = NULL;
    char *body = NULL;
    size_t body_len = 0;
    bool ok = false;

    hdr = malloc(sizeof(*hdr));
    if (!hdr) {
        xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    xr_header_init(hdr);
    hdr->client = cfg->xroad.client;
    hdr->service = cfg->vtj.service;
    if (cfg->xroad.has_security_server) {
        hdr->has_security_server = true;
        hdr->security_server = cfg->xroad.security_server;
    }
    hdr->has_user_id = true;
    hdr->has_issue = true;
    if (strlen(user_id) >= sizeof(hdr->user_id) ||
        strlen(issue) >= sizeof(hdr->issue)) {
        xr_error_set(err, XR_EINVAL, "too_long", "",
                     "--user-id and --issue are limited to %d bytes",
                     XR_TEXT_MAX);
        goto out;
    }
    memcpy(hdr->user_id, user_id, strlen(user_id) + 1);
    memcpy(hdr->issue, issue, strlen(issue) + 1);
    if (vtj_request_body(q, &cred, &body, &body_len, err) != XR_OK)
        goto out;
    if (xr_request_new(hdr, (const uint8_t *)body, body_len, req, err) != XR_OK)
        goto out;
    ok = true;
out:
    vtj_body_free(body, body_len);
    free(hdr);
    return ok;
}

struct query_args {
    const char *hetu;
    const char *satu;
    const char *user_id;
    const char *issue;
    const char *product;
    const char *config;
};

static int parse_args(int argc, char **argv, struct query_args *a)
{
    static const struct option opts[] = {
        {"user-id", required_argument, NULL, 'u'},
        {"issue", required_argument, NULL, 'i'},
        {"product", required_argument, NULL, 'p'},
        {"satu", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
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
    if (!a->user_id || !a->user_id[0] || !a->issue || !a->issue[0]) {
        fprintf(stderr, "vayla: query: --user-id and --issue are required\n");
        return ADP_EXIT_USAGE;
    }
    return -1; /* continue */
}

/* Decode a judged answer and print the person JSON. */
static int report_vtj(const struct vtj_result *r, const char *const *ids,
                      size_t n)
{
    json_t *o = json_object();
    json_t *person = vtj_result_to_json(r);
    enum vtj_outcome oc = vtj_result_outcome(r);

    if (!o || !person) {
        json_decref(o);
        json_decref(person);
        fprintf(stderr, "vayla: out of memory\n");
        return ADP_EXIT_USAGE;
    }
    add_ids(o, ids, n);
    json_object_set_new(o, "status", json_string("ok"));
    json_object_set_new(o, "outcome", json_string(vtj_outcome_name(oc)));
    json_object_set_new(o, "person", person);
    (void)adp_json_print(o);
    json_decref(o);
    return vtj_outcome_is_found(oc) ? ADP_EXIT_OK : ADP_EXIT_NOTFOUND;
}

/* The audit store of one command run; a = NULL when [audit] path is unset. */
struct audit_ctx {
    struct adp_audit *a;
    char caller[160];             /* "cli:uid=N(name)" */
    char service[XR_ID_TEXT_MAX]; /* X-Road service id */
};

/* Record the intent durably before anything is sent. */
static bool audit_intent(struct audit_ctx *au, const struct xr_request *req,
                         const struct vtj_query *q, const struct query_args *a,
                         struct xr_error *err)
{
    struct adp_audit_intent in;
    struct xr_bytes b = xr_request_bytes(req);
    uint64_t ticket = 0;

    if (!au->a)
        return true;
    memset(&in, 0, sizeof(in));
    in.caller = au->caller;
    in.end_user = a->user_id;
    in.purpose = a->issue;
    in.service = au->service;
    in.product = q->product;
    in.subject = q->hetu ? q->hetu : q->satu;
    in.message_id = xr_request_id(req);
    in.request = b.ptr;
    in.request_len = b.len;
    return adp_audit_intent(au->a, &in, &ticket, err) == XR_OK &&
           adp_audit_commit(au->a, err) == XR_OK;
}

/* Record the outcome durably before the answer is printed. */
static bool audit_outcome(struct audit_ctx *au, const struct xr_request *req,
                          const struct exchange *ex, const char *result_class,
                          const char *return_code, const struct answer *ans,
                          struct xr_error *err)
{
    struct adp_audit_outcome o;
    uint64_t ticket = 0;

    if (!au->a)
        return true;
    memset(&o, 0, sizeof(o));
    o.message_id = xr_request_id(req);
    o.result_class = result_class;
    o.return_code = return_code;
    o.fault_code = ans->has_fault ? ans->fault_code : NULL;
    o.fault_origin = ans->has_fault ? ans->fault_origin : NULL;
    o.duration_ms = ex->total_ms > 0 ? ex->total_ms : 0;
    o.response = ex->body_len ? ex->body : NULL;
    o.response_len = ex->body_len;
    return adp_audit_outcome(au->a, &o, &ticket, err) == XR_OK &&
           adp_audit_commit(au->a, err) == XR_OK;
}

/*
 * One query: build the envelope, record the intent, run the exchange,
 * judge and decode the answer, record the outcome. Returns true with
 * *result set; otherwise the outcome has been printed and *rc holds the
 * exit status. *req receives the request (it owns the message id stored
 * in ids[*n - 1]).
 */
static bool query_once(struct adp_curlev *cev, const struct adp_config *cfg,
                       struct audit_ctx *au, const struct vtj_query *q,
                       const struct vtj_policy *policy,
                       const struct query_args *a, struct xr_request **req,
                       const char **ids, size_t *n, struct vtj_result **result,
                       int *rc)
{
    struct exchange ex;
    struct answer ans;
    struct xr_response *resp = NULL;
    struct xr_error err;
    const char *cls, *code = NULL;
    bool ok = false;

    memset(&ex, 0, sizeof(ex));
    memset(&ans, 0, sizeof(ans));
    xr_error_clear(&err);
    *rc = ADP_EXIT_USAGE;
    if (!build_request(cfg, q, a->user_id, a->issue, req, &err)) {
        print_error_line("cannot build the request", &err);
        goto out;
    }
    ids[*n] = xr_request_id(*req);
    (*n)++;
    if (!audit_intent(au, *req, q, a, &err)) {
        print_error_line("audit store (the query was not sent)", &err);
        goto out;
    }
    if (!run_exchange(cev, cfg, *req, &ex, &err)) {
        print_error_line("cannot start the exchange", &err);
        ex.cls = ADP_XFER_INTERNAL;
        snprintf(ex.message, sizeof(ex.message), "%s", err.msg);
        transport_answer(&ans, &ex, ids, *n);
    } else if (judge(cfg, *req, &ex, ids, *n, &resp, &ans) &&
               vtj_decode(xr_response_body(resp), policy, result, &err) !=
                   XR_OK) {
        status_answer(&ans, "invalid", "error", adp_error_json(&err), ids, *n,
                      ADP_EXIT_INVALID, "invalid_response");
        fprintf(stderr, "vayla: invalid VTJ answer: %s\n", err.msg);
    }
    if (*result) {
        cls = vtj_outcome_name(vtj_result_outcome(*result));
        code = vtj_result_return_code(*result);
    } else {
        cls = ans.result_class ? ans.result_class : "transport_error";
    }
    if (!audit_outcome(au, *req, &ex, cls, code, &ans, &err)) {
        /* The answer is released only once its record is durable. */
        print_error_line("audit store (the answer is withheld)", &err);
        vtj_result_free(*result);
        *result = NULL;
        goto out;
    }
    if (*result) {
        ok = true;
        goto out;
    }
    if (!ans.json) {
        fprintf(stderr, "vayla: out of memory\n");
        goto out;
    }
    (void)adp_json_print(ans.json);
    *rc = ans.exit_code;
out:
    json_decref(ans.json);
    xr_response_free(resp);
    exchange_cleanup(&ex);
    return ok;
}

int cli_query(int argc, char **argv)
{
    struct query_args a;
    struct adp_config *cfg = NULL;
    struct event_base *base = NULL;
    struct adp_curlev *cev = NULL;
    struct xr_request *req[2] = {NULL, NULL};
    struct vtj_result *first = NULL, *second = NULL;
    struct xr_error err;
    struct hetu_info info;
    struct vtj_query q, next;
    struct vtj_policy policy, policy2;
    struct audit_ctx au;
    struct passwd *pw;
    char reason[64];
    const char *ids[2] = {NULL, NULL};
    size_t n = 0;
    int rc;

    xr_error_clear(&err);
    memset(&au, 0, sizeof(au));
    rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    rc = ADP_EXIT_USAGE;

    if (a.hetu && !hetu_validate(a.hetu, &info)) {
        fprintf(stderr, "vayla: invalid hetu: %s (%s)\n",
                hetu_reason_text(info.reason),
                hetu_reason_format(&info, reason, sizeof(reason)));
        goto out;
    }
    if (a.satu && !hetu_satu_validate(a.satu, &info)) {
        fprintf(stderr, "vayla: invalid SATU: %s (%s)\n",
                hetu_reason_text(info.reason),
                hetu_reason_format(&info, reason, sizeof(reason)));
        goto out;
    }
    if (adp_config_load(a.config ? a.config : adp_config_default_path(), &cfg,
                        adp_config_problem_print, stderr, &err) != XR_OK) {
        fprintf(stderr, "vayla: configuration: %s\n", err.msg);
        goto out;
    }

    memset(&q, 0, sizeof(q));
    q.product = a.product ? a.product : cfg->vtj.product;
    q.hetu = a.hetu;
    q.satu = a.satu;
    q.end_user = a.user_id;
    /* On the production instance a temporary/test hetu is refused before
     * a (billed) query is spent. */
    q.refuse_temporary = strcmp(cfg->xroad.client.instance, "FI") == 0;
    memset(&policy, 0, sizeof(policy));
    policy.follow_passivated = cfg->vtj.follow_passivated;
    policy.expected_hetu = a.hetu;
    policy.expected_satu = a.satu;

    if (adp_curlev_global_init(&err) != XR_OK) {
        print_error_line("libcurl", &err);
        goto out;
    }
    /* A peer or a stdout reader that hangs up must give EPIPE, not kill
     * the process (CURLOPT_NOSIGNAL leaves SIGPIPE to the application). */
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    if (!base || adp_curlev_new(base, NULL, &cev, &err) != XR_OK) {
        fprintf(stderr, "vayla: cannot create the event loop: %s\n",
                base ? err.msg : "event_base_new failed");
        goto out;
    }

    /* VTJ requires a record of every query: with [audit] path set, each
     * query's intent is durable before it is sent and its outcome before
     * the answer is printed (docs/audit.md). */
    if (cfg->audit.path) {
        if (adp_audit_open(cfg->audit.path, NULL, &au.a, &err) != XR_OK) {
            print_error_line("audit store (no query was sent)", &err);
            goto out;
        }
        pw = getpwuid(geteuid());
        snprintf(au.caller, sizeof(au.caller), "cli:uid=%u(%.64s)",
                 (unsigned)geteuid(), pw && pw->pw_name ? pw->pw_name : "?");
        (void)xr_id_format(&cfg->vtj.service, false, au.service,
                           sizeof(au.service));
    }

    if (!query_once(cev, cfg, &au, &q, &policy, &a, &req[0], ids, &n, &first,
                    &rc))
        goto out;
    /* Passivated hetu with a new one: re-query once (never twice). */
    if (vtj_result_follow_up(first, &policy, &q, &next)) {
        policy2 = policy;
        policy2.expected_hetu = next.hetu; /* borrows from first */
        policy2.expected_satu = NULL;
        policy2.follow_passivated = false;
        if (!query_once(cev, cfg, &au, &next, &policy2, &a, &req[1], ids, &n,
                        &second, &rc))
            goto out;
    }
    rc = report_vtj(second ? second : first, ids, n);
out:
    vtj_result_free(second);
    vtj_result_free(first);
    xr_request_free(req[0]);
    xr_request_free(req[1]);
    adp_curlev_free(cev);
    if (base)
        event_base_free(base);
    adp_audit_close(au.a); /* every row was committed already */
    adp_config_free(cfg);
    return rc;
}

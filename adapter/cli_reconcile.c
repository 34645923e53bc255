/*
 * `vayla audit reconcile -c FILE --from T --to T [--json]`: the audit
 * store against the security server's operational monitoring
 * (docs/audit.md, "Reconciling with the security server").
 *
 * The security server records every exchange it relays and serves the
 * records through getSecurityServerOperationalData; a client subsystem
 * that is not the server's owner reads the records of the exchanges it
 * took part in. vayla asks for the records of each of its client
 * subsystems ([xroad] client and every [caller.*] client) through the
 * query pipeline (services/opmon.h), reads its own audit store through
 * audit.h, and compares both ways by X-Road message id:
 *   not_in_audit            the security server relayed an exchange of
 *                           ours that the audit store does not have
 *                           (deleted, never written, or sent behind
 *                           vayla's back);
 *   not_at_security_server  the audit store has a query that reached the
 *                           transport and was answered or faulted, but
 *                           the security server has no record of it;
 *   outcome_mismatch        both have it, with different outcomes
 *                           (answered vs fault, fault codes, or "not
 *                           sent" in the store);
 *   repeated_at_security_server  one message id in several records.
 * Exit 0 when they agree, 2 with differences, 4 when the security server
 * could not yet vouch for the whole range (and nothing differs in the
 * part it covered); a failed fetch exits as `vayla query` would.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <xroad/xroad.h>

#include "audit.h"
#include "cli.h"
#include "cli_run.h"
#include "jsonout.h"
#include "services/opmon.h"

#define DEFAULT_ISSUE   "audit reconcile"
#define PAGES_MAX       10000u   /* pages per client */
#define RECORDS_MAX     1000000u /* records or queries in one run */
#define OWN_IDS_MAX     (PAGES_MAX * 8u)
#define MARGIN_EXTRA_S  5
#define MARGIN_MAX_S    86400L
#define TEXT_OR_DASH(s) ((s) && (s)[0] ? (s) : "-")

/* The fields asked for (outputSpec): what the comparison needs. */
static const char *const fields[] = {"monitoringDataTs",
                                     "requestInTs",
                                     "securityServerType",
                                     "clientXRoadInstance",
                                     "clientMemberClass",
                                     "clientMemberCode",
                                     "clientSubsystemCode",
                                     "serviceXRoadInstance",
                                     "serviceMemberClass",
                                     "serviceMemberCode",
                                     "serviceSubsystemCode",
                                     "serviceCode",
                                     "serviceVersion",
                                     "messageId",
                                     "succeeded",
                                     "faultCode"};

/* One exchange the security server recorded, with one of our clients as
 * the client. */
struct op_rec {
    char *message_id;
    char *client;  /* formatted identifier */
    char *service; /* formatted identifier, or NULL */
    char *fault_code;
    int64_t anchor_ms; /* requestInTs, else monitoringDataTs */
    bool has_succeeded, succeeded;
    bool producer; /* securityServerType Producer */
};

/* One query of the audit store. */
struct au_rec {
    char *message_id;
    char *service;
    char *result_class; /* NULL: no outcome (open intent) */
    char *fault_code;
    int64_t time_ms; /* the intent's */
};

struct diff {
    const char *kind;
    const struct op_rec *op; /* NULL when absent */
    const struct au_rec *au; /* NULL when absent */
};

struct recon {
    /* options */
    const char *config;
    int64_t from_ms, to_ms;
    long margin_s;
    bool has_margin;
    bool json;
    const char *server_text;
    const char *user_id;
    const char *issue;
    /* state */
    struct adp_cli_run run;
    struct xr_id server, service;
    struct xr_id *clients;
    size_t nclients;
    struct op_rec *op;
    size_t nop, capop;
    struct au_rec *au;
    size_t nau, capau;
    char **own; /* message ids of this run's own queries */
    size_t nown, capown;
    int64_t covered_s; /* last second the security server vouched for */
    struct diff *d;
    size_t nd, capd;
    bool oom;
    /* the page being fetched */
    struct opmon_call *call;
    int rc; /* exit of a failed page, else -1 */
    bool page_next;
    bool page_not_yet; /* a follow-up page was refused as not available */
    unsigned page_index;
    int64_t page_next_from;
    int64_t page_max_ts;
    size_t page_records;
};

/* Grow *arr (elements of size) to hold one more; false when out of memory
 * or at max. */
static bool grow(void **arr, size_t *cap, size_t n, size_t size, size_t max)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return true;
    if (n >= max)
        return false;
    ncap = *cap ? *cap * 2 : 256;
    if (ncap > max)
        ncap = max;
    p = realloc(*arr, ncap * size);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void recon_free(struct recon *r)
{
    for (size_t i = 0; i < r->nop; i++) {
        free(r->op[i].message_id);
        free(r->op[i].client);
        free(r->op[i].service);
        free(r->op[i].fault_code);
    }
    for (size_t i = 0; i < r->nau; i++) {
        free(r->au[i].message_id);
        free(r->au[i].service);
        free(r->au[i].result_class);
        free(r->au[i].fault_code);
    }
    for (size_t i = 0; i < r->nown; i++)
        free(r->own[i]);
    free(r->op);
    free(r->au);
    free(r->own);
    free(r->d);
    free(r->clients);
    opmon_call_free(r->call);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vayla audit reconcile -c FILE --from T --to T [--json]\n"
            "                             [--security-server ID] "
            "[--margin SECONDS]\n"
            "                             [--user-id U] [--issue TEXT]\n"
            "\n"
            "Compares the audit store with the security server's operational\n"
            "monitoring records of vayla's client subsystems ([xroad] client\n"
            "and every [caller.*] client) for queries made from T to T\n"
            "(--from inclusive, --to exclusive; YYYY-MM-DD or RFC 3339).\n"
            "--security-server: the security server (SERVER:INST/CLASS/CODE/"
            "SERVER),\n"
            "default [xroad] security_server; its owner serves the records.\n"
            "--margin: seconds either side of the range fetched so that a "
            "query at\n"
            "the edge is found on both sides (default: the exchange "
            "deadline + %d).\n"
            "The queries for the records are recorded in the audit store "
            "like every\n"
            "query (--user-id: default your user name; --issue: default "
            "\"" DEFAULT_ISSUE "\").\n"
            "Exit 0 they agree, 2 differences (a table, or JSON with "
            "--json), 4 the\n"
            "security server cannot vouch for the whole range yet; a failed "
            "fetch\n"
            "exits as `vayla query` would (3 fault, 5 transport, ...).\n",
            MARGIN_EXTRA_S);
}

enum opt_id {
    OPT_FROM = 256,
    OPT_TO,
    OPT_JSON,
    OPT_SERVER,
    OPT_MARGIN,
    OPT_USER_ID,
    OPT_ISSUE
};

static int parse_args(int argc, char **argv, struct recon *r)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"json", no_argument, NULL, OPT_JSON},
        {"security-server", required_argument, NULL, OPT_SERVER},
        {"margin", required_argument, NULL, OPT_MARGIN},
        {"user-id", required_argument, NULL, OPT_USER_ID},
        {"issue", required_argument, NULL, OPT_ISSUE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    bool has_from = false, has_to = false;
    char *end = NULL;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            r->config = optarg;
            break;
        case OPT_FROM:
        case OPT_TO:
            if (!adp_audit_time_parse(optarg, c == OPT_FROM ? &r->from_ms
                                                            : &r->to_ms)) {
                fprintf(stderr,
                        "vayla: audit reconcile: --%s: not a date or an "
                        "RFC 3339 time\n",
                        c == OPT_FROM ? "from" : "to");
                return ADP_EXIT_USAGE;
            }
            if (c == OPT_FROM)
                has_from = true;
            else
                has_to = true;
            break;
        case OPT_JSON:
            r->json = true;
            break;
        case OPT_SERVER:
            r->server_text = optarg;
            break;
        case OPT_MARGIN:
            errno = 0;
            r->margin_s = strtol(optarg, &end, 10);
            if (errno || !end || *end || end == optarg || r->margin_s < 0 ||
                r->margin_s > MARGIN_MAX_S) {
                fprintf(stderr, "vayla: audit reconcile: --margin must be "
                                "0..86400 seconds\n");
                return ADP_EXIT_USAGE;
            }
            r->has_margin = true;
            break;
        case OPT_USER_ID:
            r->user_id = optarg;
            break;
        case OPT_ISSUE:
            r->issue = optarg;
            break;
        case 'h':
            usage(stdout);
            return ADP_EXIT_OK;
        default:
            usage(stderr);
            return ADP_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vayla: audit reconcile: unexpected argument '%s'\n",
                argv[optind]);
        return ADP_EXIT_USAGE;
    }
    if (!has_from || !has_to) {
        fprintf(stderr, "vayla: audit reconcile: --from and --to are "
                        "required\n");
        return ADP_EXIT_USAGE;
    }
    if (r->to_ms <= r->from_ms) {
        fprintf(stderr, "vayla: audit reconcile: --to must be after --from\n");
        return ADP_EXIT_USAGE;
    }
    return -1;
}

/* ---- what to ask, and whom ---------------------------------------------- */

static bool add_client(struct recon *r, const struct xr_id *id)
{
    size_t cap = r->nclients;

    for (size_t i = 0; i < r->nclients; i++)
        if (xr_id_equal(&r->clients[i], id))
            return true;
    if (!grow((void **)&r->clients, &cap, r->nclients, sizeof(*r->clients),
              ADP_CONFIG_CALLERS_MAX + 1))
        return false;
    r->clients[r->nclients++] = *id;
    return true;
}

static int setup(struct recon *r)
{
    const struct adp_config *cfg = r->run.cfg;
    struct xr_error err;

    if (!r->run.reader) {
        fprintf(stderr, "vayla: audit reconcile: the configuration has no "
                        "[audit] path\n");
        return ADP_EXIT_USAGE;
    }
    if (r->server_text) {
        if (xr_id_parse_server(r->server_text, &r->server, &err) != XR_OK) {
            adp_cli_error_line("audit reconcile: --security-server", &err);
            return ADP_EXIT_USAGE;
        }
    } else if (cfg->xroad.has_security_server) {
        r->server = cfg->xroad.security_server;
    } else {
        fprintf(stderr, "vayla: audit reconcile: name the security server "
                        "with --security-server or [xroad] "
                        "security_server\n");
        return ADP_EXIT_USAGE;
    }
    if (opmon_service_id(&r->server, &r->service, &err) != XR_OK) {
        adp_cli_error_line("audit reconcile", &err);
        return ADP_EXIT_USAGE;
    }
    if (!add_client(r, &cfg->xroad.client))
        return ADP_EXIT_UNAVAILABLE;
    for (size_t i = 0; i < cfg->ncallers; i++)
        if (cfg->callers[i].has_client &&
            !add_client(r, &cfg->callers[i].client))
            return ADP_EXIT_UNAVAILABLE;
    if (!r->has_margin)
        r->margin_s = (cfg->ss.timeout_ms + 999) / 1000 + MARGIN_EXTRA_S;
    return -1;
}

/* ---- fetching the security server's records ------------------------------ */

static bool is_ours(const struct recon *r, const struct xr_id *client)
{
    for (size_t i = 0; i < r->nclients; i++)
        if (xr_id_equal(&r->clients[i], client))
            return true;
    return false;
}

/* Keep the records of one page whose client is one of ours. */
static bool keep_page(struct recon *r, const struct xr_opmon_result *res)
{
    size_t n = xr_opmon_result_count(res);

    r->page_records = n;
    r->page_max_ts = -1;
    for (size_t i = 0; i < n; i++) {
        const struct xr_opmon_record *rec = xr_opmon_result_get(res, i);
        const char *type = rec->str[XR_OPMON_SECURITY_SERVER_TYPE];
        struct xr_id client, service;
        char text[XR_ID_TEXT_MAX];
        struct op_rec *o;

        if (rec->has_num & (1u << XR_OPMON_MONITORING_DATA_TS) &&
            rec->num[XR_OPMON_MONITORING_DATA_TS] > r->page_max_ts)
            r->page_max_ts = rec->num[XR_OPMON_MONITORING_DATA_TS];
        /* Exchanges where one of ours was the provider, and records
         * without a message id, are not queries of ours. */
        if (!rec->str[XR_OPMON_MESSAGE_ID] ||
            !xr_opmon_record_client(rec, &client) || !is_ours(r, &client))
            continue;
        if (!grow((void **)&r->op, &r->capop, r->nop, sizeof(*r->op),
                  RECORDS_MAX)) {
            fprintf(stderr,
                    "vayla: audit reconcile: more than %u records: "
                    "reconcile a shorter range\n",
                    RECORDS_MAX);
            return false;
        }
        o = &r->op[r->nop];
        memset(o, 0, sizeof(*o));
        xr_id_format(&client, true, text, sizeof(text));
        o->message_id = strdup(rec->str[XR_OPMON_MESSAGE_ID]);
        o->client = strdup(text);
        if (xr_opmon_record_service(rec, &service)) {
            xr_id_format(&service, true, text, sizeof(text));
            o->service = strdup(text);
        }
        o->fault_code = dup_or_null(rec->str[XR_OPMON_FAULT_CODE]);
        if (!o->message_id || !o->client ||
            (rec->str[XR_OPMON_FAULT_CODE] && !o->fault_code)) {
            r->oom = true;
            free(o->message_id);
            free(o->client);
            free(o->service);
            free(o->fault_code);
            return false;
        }
        if (rec->has_num & (1u << XR_OPMON_REQUEST_IN_TS))
            o->anchor_ms = rec->num[XR_OPMON_REQUEST_IN_TS];
        else if (rec->has_num & (1u << XR_OPMON_MONITORING_DATA_TS))
            o->anchor_ms = rec->num[XR_OPMON_MONITORING_DATA_TS] * 1000;
        else
            o->anchor_ms = -1;
        o->has_succeeded = rec->has_succeeded;
        o->succeeded = rec->succeeded;
        o->producer = type && !strcmp(type, "Producer");
        r->nop++;
    }
    return true;
}

static void on_page(void *ctx, struct adp_query *q, const struct adp_verdict *v)
{
    struct recon *r = ctx;
    const char *ids[ADP_QUERY_MAX_STEPS];
    size_t n = adp_query_message_ids(q, ids, ADP_QUERY_MAX_STEPS);

    /* This run's own queries are not in the records yet: leave them out
     * of the comparison. */
    for (size_t i = 0; i < n; i++) {
        if (!grow((void **)&r->own, &r->capown, r->nown, sizeof(*r->own),
                  OWN_IDS_MAX) ||
            !(r->own[r->nown] = strdup(ids[i]))) {
            r->oom = true;
            r->rc = ADP_EXIT_UNAVAILABLE;
            return;
        }
        r->nown++;
    }
    /*
     * A page after a full one starts at nextRecordsFrom; when that full
     * page was in fact the last committed second (the server moved
     * recordsTo back and a record happened to lie in its last second),
     * the server refuses the start as not available yet: coverage ends
     * there, which is not an error.
     */
    if (v->cls == ADP_VERDICT_FAULT && r->page_index > 0 &&
        v->fault->origin == XR_ORIGIN_CLIENT &&
        (strstr(v->fault->code, "InvalidRequest") ||
         strstr(v->fault->code, "invalid_request"))) {
        r->page_not_yet = true;
        return;
    }
    if (v->cls != ADP_VERDICT_DATA) {
        adp_cli_verdict_explain("audit reconcile: operational data", v);
        if (r->json) {
            json_t *j = adp_cli_verdict_json(q, v);
            if (!j || adp_json_print(j) != 0)
                fprintf(stderr, "vayla: cannot write the answer\n");
            json_decref(j);
        }
        r->rc = adp_cli_verdict_exit(v);
        return;
    }
    if (!keep_page(r, opmon_call_result(r->call))) {
        r->rc = ADP_EXIT_UNAVAILABLE;
        return;
    }
    r->page_next =
        xr_opmon_result_next(opmon_call_result(r->call), &r->page_next_from);
}

/* Fetch every page of one client's records. */
static int fetch_client(struct recon *r, const struct xr_id *client,
                        int64_t from_s, int64_t to_s, const char *uid,
                        const char *issue)
{
    struct opmon_call_params p;
    struct adp_cli_query cq;
    struct xr_error err;
    int64_t cur = from_s;
    int rc;

    for (unsigned page = 0; page < PAGES_MAX; page++) {
        memset(&p, 0, sizeof(p));
        p.records_from = cur;
        p.records_to = to_s;
        p.fields = fields;
        p.nfields = sizeof(fields) / sizeof(fields[0]);
        opmon_call_free(r->call);
        r->call = NULL;
        if (opmon_call_new(&p, &r->call, &err) != XR_OK) {
            adp_cli_error_line("audit reconcile", &err);
            return ADP_EXIT_USAGE;
        }
        memset(&cq, 0, sizeof(cq));
        cq.svc = &opmon_service;
        cq.call = r->call;
        cq.client = client;
        cq.service = &r->service;
        /* Names the target server, as PR-OPMON asks. */
        cq.security_server = &r->server;
        cq.user_id = uid;
        cq.issue = issue;
        r->rc = -1;
        r->page_next = false;
        r->page_not_yet = false;
        r->page_index = page;
        rc = adp_cli_run_query(&r->run, &cq, on_page, r);
        if (rc != 0)
            return rc;
        if (r->rc >= 0)
            return r->rc;
        if (r->page_not_yet) {
            if (cur - 1 < r->covered_s)
                r->covered_s = cur - 1;
            return -1;
        }
        if (!r->page_next)
            return -1; /* covered through to_s */
        /*
         * nextRecordsFrom: either the page was full (the next page starts
         * one second after its last record) or the security server moved
         * recordsTo back to what it has committed (its offset): then it
         * vouches for nothing after nextRecordsFrom - 1.
         */
        if (r->page_records > 0 && r->page_max_ts >= 0 &&
            r->page_next_from == r->page_max_ts + 1 &&
            r->page_next_from > cur && r->page_next_from <= to_s) {
            cur = r->page_next_from;
            continue;
        }
        if (r->page_next_from - 1 < r->covered_s)
            r->covered_s = r->page_next_from - 1;
        return -1;
    }
    fprintf(stderr,
            "vayla: audit reconcile: more than %u pages of records: "
            "reconcile a shorter range\n",
            PAGES_MAX);
    return ADP_EXIT_UNAVAILABLE;
}

/* ---- reading the audit store ------------------------------------------- */

static int audit_cb(void *ctx, const struct adp_audit_row *in,
                    const struct adp_audit_row *out)
{
    struct recon *r = ctx;
    struct au_rec *a;
    int64_t t = 0;

    if (!in->message_id || !in->time || !adp_audit_time_parse(in->time, &t))
        return 0;
    if (!grow((void **)&r->au, &r->capau, r->nau, sizeof(*r->au),
              RECORDS_MAX)) {
        fprintf(stderr,
                "vayla: audit reconcile: more than %u audited "
                "queries: reconcile a shorter range\n",
                RECORDS_MAX);
        r->oom = true;
        return 1;
    }
    a = &r->au[r->nau];
    memset(a, 0, sizeof(*a));
    a->time_ms = t;
    a->message_id = strdup(in->message_id);
    a->service = dup_or_null(in->service);
    if (out) {
        a->result_class = dup_or_null(out->result_class);
        a->fault_code = dup_or_null(out->fault_code);
    }
    if (!a->message_id || (in->service && !a->service) ||
        (out && out->result_class && !a->result_class) ||
        (out && out->fault_code && !a->fault_code)) {
        free(a->message_id);
        free(a->service);
        free(a->result_class);
        free(a->fault_code);
        r->oom = true;
        return 1;
    }
    r->nau++;
    return 0;
}

/* ---- the comparison ------------------------------------------------------ */

static int op_cmp(const void *a, const void *b)
{
    const struct op_rec *x = a, *y = b;
    int c = strcmp(x->message_id, y->message_id);

    /* Client records before Producer ones of the same id. */
    return c ? c : (int)x->producer - (int)y->producer;
}

static int au_cmp(const void *a, const void *b)
{
    const struct au_rec *x = a, *y = b;

    return strcmp(x->message_id, y->message_id);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const struct op_rec *find_op(const struct recon *r, const char *id)
{
    size_t lo = 0, hi = r->nop;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->op[mid].message_id, id);
        if (c == 0) {
            while (mid > 0 && !strcmp(r->op[mid - 1].message_id, id))
                mid--;
            return &r->op[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const struct au_rec *find_au(const struct recon *r, const char *id)
{
    struct au_rec key = {(char *)(uintptr_t)id, NULL, NULL, NULL, 0};

    return r->nau ? bsearch(&key, r->au, r->nau, sizeof(*r->au), au_cmp) : NULL;
}

static bool own(const struct recon *r, const char *id)
{
    char *key = (char *)(uintptr_t)id;

    return r->nown &&
           bsearch(&key, r->own, r->nown, sizeof(*r->own), str_cmp) != NULL;
}

static bool add_diff(struct recon *r, const char *kind, const struct op_rec *op,
                     const struct au_rec *au)
{
    if (!grow((void **)&r->d, &r->capd, r->nd, sizeof(*r->d),
              2u * RECORDS_MAX + 1)) {
        r->oom = true;
        return false;
    }
    r->d[r->nd++] = (struct diff){kind, op, au};
    return true;
}

/* Outcomes the pipeline writes that say nothing about the answer. */
static bool unanswered(const char *cls)
{
    return !strcmp(cls, "transport_error") ||
           !strcmp(cls, "invalid_response") ||
           !strcmp(cls, "audit_unavailable") ||
           !strcmp(cls, "internal_error") || !strcmp(cls, "rejected");
}

/* Do the store's outcome and the security server's record agree? */
static bool outcomes_agree(const struct au_rec *a, const struct op_rec *o)
{
    if (!a->result_class)
        return true; /* open intent: the store does not know */
    if (!strcmp(a->result_class, "not_sent"))
        return false; /* it did reach the security server */
    if (unanswered(a->result_class) || !o->has_succeeded)
        return true;
    if (!strcmp(a->result_class, "fault"))
        return !o->succeeded && (!o->fault_code || !a->fault_code ||
                                 !strcmp(o->fault_code, a->fault_code));
    return o->succeeded; /* the service's answer */
}

/* Would the security server have a record of this audited query? */
static bool expected_there(const struct recon *r, const struct au_rec *a)
{
    char service[XR_ID_TEXT_MAX];

    if (!a->result_class || !strcmp(a->result_class, "not_sent") ||
        !strcmp(a->result_class, "transport_error"))
        return false;
    /* A security server need not record its own monitoring queries. */
    xr_id_format(&r->service, false, service, sizeof(service));
    return !a->service || strcmp(a->service, service) != 0;
}

static bool compare(struct recon *r, int64_t compared_to_ms)
{
    /* qsort() and bsearch() want an array even for no elements. */
    if (r->nop)
        qsort(r->op, r->nop, sizeof(*r->op), op_cmp);
    if (r->nau)
        qsort(r->au, r->nau, sizeof(*r->au), au_cmp);
    if (r->nown)
        qsort(r->own, r->nown, sizeof(*r->own), str_cmp);
    for (size_t i = 0; i < r->nop; i++) {
        const struct op_rec *o = &r->op[i];
        const struct au_rec *a;
        if (o->producer || own(r, o->message_id))
            continue;
        if (i > 0 && !strcmp(r->op[i - 1].message_id, o->message_id)) {
            /* The first of a repeated id was judged; report the repeat. */
            if (o->anchor_ms >= r->from_ms && o->anchor_ms < r->to_ms &&
                !add_diff(r, "repeated_at_security_server", o,
                          find_au(r, o->message_id)))
                return false;
            continue;
        }
        if (o->anchor_ms < r->from_ms || o->anchor_ms >= r->to_ms)
            continue;
        a = find_au(r, o->message_id);
        if (!a && !add_diff(r, "not_in_audit", o, NULL))
            return false;
    }
    for (size_t i = 0; i < r->nau; i++) {
        const struct au_rec *a = &r->au[i];
        const struct op_rec *o;
        if (a->time_ms < r->from_ms || a->time_ms >= r->to_ms ||
            own(r, a->message_id))
            continue;
        o = find_op(r, a->message_id);
        if (o && o->producer)
            o = NULL;
        if (o) {
            if (!outcomes_agree(a, o) && !add_diff(r, "outcome_mismatch", o, a))
                return false;
        } else if (a->time_ms < compared_to_ms && expected_there(r, a) &&
                   !add_diff(r, "not_at_security_server", NULL, a)) {
            return false;
        }
    }
    return true;
}

/* ---- output ------------------------------------------------------------ */

static const char *time_text(int64_t ms, char *buf, size_t size)
{
    if (ms < 0 || !adp_audit_time_format(ms, buf, size))
        return "-";
    return buf;
}

static void audit_side(const struct au_rec *a, char *buf, size_t size)
{
    if (!a)
        snprintf(buf, size, "-");
    else if (!a->result_class)
        snprintf(buf, size, "intent only");
    else if (a->fault_code)
        snprintf(buf, size, "%s %.200s", a->result_class, a->fault_code);
    else
        snprintf(buf, size, "%s", a->result_class);
}

static void ss_side(const struct op_rec *o, char *buf, size_t size)
{
    if (!o)
        snprintf(buf, size, "-");
    else if (!o->has_succeeded)
        snprintf(buf, size, "recorded");
    else if (o->succeeded)
        snprintf(buf, size, "succeeded");
    else
        snprintf(buf, size, "failed %.200s", TEXT_OR_DASH(o->fault_code));
}

static json_t *diff_json(const struct diff *d)
{
    char t[ADP_AUDIT_TIME_LEN + 1];
    json_t *j = json_object(), *s;
    const char *id = d->op ? d->op->message_id : d->au->message_id;
    const char *service = d->au && d->au->service ? d->au->service
                          : d->op                 ? d->op->service
                                                  : NULL;

    json_object_set_new(j, "kind", json_string(d->kind));
    json_object_set_new(j, "message_id", json_string(id));
    json_object_set_new(
        j, "time",
        json_string(time_text(d->au ? d->au->time_ms : d->op->anchor_ms, t,
                              sizeof(t))));
    json_object_set_new(j, "service",
                        service ? json_string(service) : json_null());
    if (d->op)
        json_object_set_new(j, "client", json_string(d->op->client));
    if (d->au) {
        s = json_object();
        json_object_set_new(s, "result_class",
                            d->au->result_class
                                ? json_string(d->au->result_class)
                                : json_null());
        if (d->au->fault_code)
            json_object_set_new(s, "fault_code",
                                json_string(d->au->fault_code));
        json_object_set_new(j, "audit", s);
    } else {
        json_object_set_new(j, "audit", json_null());
    }
    if (d->op) {
        s = json_object();
        json_object_set_new(s, "succeeded",
                            d->op->has_succeeded
                                ? json_boolean(d->op->succeeded)
                                : json_null());
        if (d->op->fault_code)
            json_object_set_new(s, "fault_code",
                                json_string(d->op->fault_code));
        json_object_set_new(j, "security_server", s);
    } else {
        json_object_set_new(j, "security_server", json_null());
    }
    return j;
}

static int report(struct recon *r, int64_t compared_to_ms, bool complete)
{
    char t1[ADP_AUDIT_TIME_LEN + 1], t2[ADP_AUDIT_TIME_LEN + 1];
    char t3[ADP_AUDIT_TIME_LEN + 1], text[XR_ID_TEXT_MAX];
    const char *status = r->nd      ? "differences"
                         : complete ? "agree"
                                    : "incomplete";
    int rc = r->nd      ? ADP_EXIT_INVALID
             : complete ? ADP_EXIT_OK
                        : ADP_EXIT_NOTFOUND;

    if (r->json) {
        json_t *j = json_object(), *arr = json_array(), *cl = json_array();
        for (size_t i = 0; i < r->nclients; i++) {
            xr_id_format(&r->clients[i], true, text, sizeof(text));
            json_array_append_new(cl, json_string(text));
        }
        for (size_t i = 0; i < r->nd; i++)
            json_array_append_new(arr, diff_json(&r->d[i]));
        xr_id_format(&r->server, true, text, sizeof(text));
        json_object_set_new(j, "status", json_string(status));
        json_object_set_new(j, "from",
                            json_string(time_text(r->from_ms, t1, sizeof(t1))));
        json_object_set_new(j, "to",
                            json_string(time_text(r->to_ms, t2, sizeof(t2))));
        json_object_set_new(j, "complete", json_boolean(complete));
        json_object_set_new(
            j, "compared_to",
            json_string(time_text(compared_to_ms, t3, sizeof(t3))));
        json_object_set_new(j, "margin_s", json_integer(r->margin_s));
        json_object_set_new(j, "security_server", json_string(text));
        json_object_set_new(j, "clients", cl);
        json_object_set_new(j, "security_server_records",
                            json_integer((json_int_t)r->nop));
        json_object_set_new(j, "audit_queries",
                            json_integer((json_int_t)r->nau));
        json_object_set_new(j, "differences", arr);
        if (adp_json_print(j) != 0)
            rc = ADP_EXIT_USAGE;
        json_decref(j);
        return rc;
    }
    if (r->nd)
        printf("KIND\tMESSAGE_ID\tTIME\tSERVICE\tAUDIT\tSECURITY_SERVER\n");
    for (size_t i = 0; i < r->nd; i++) {
        const struct diff *d = &r->d[i];
        char a[256], s[256];
        const char *service = d->au && d->au->service ? d->au->service
                              : d->op                 ? d->op->service
                                                      : NULL;
        audit_side(d->au, a, sizeof(a));
        ss_side(d->op, s, sizeof(s));
        printf("%s\t%s\t%s\t%s\t%s\t%s\n", d->kind,
               d->op ? d->op->message_id : d->au->message_id,
               time_text(d->au ? d->au->time_ms : d->op->anchor_ms, t1,
                         sizeof(t1)),
               TEXT_OR_DASH(service), a, s);
    }
    printf("%s: %zu difference(s); %zu audited queries, %zu security server "
           "records, %s .. %s\n",
           status, r->nd, r->nau, r->nop, time_text(r->from_ms, t1, sizeof(t1)),
           time_text(r->to_ms, t2, sizeof(t2)));
    if (!complete)
        printf("the security server vouches only for queries before %s; run "
               "again later for the rest\n",
               time_text(compared_to_ms, t3, sizeof(t3)));
    if (fflush(stdout) != 0)
        rc = ADP_EXIT_USAGE;
    return rc;
}

/* ---- the command -------------------------------------------------------- */

int cli_audit_reconcile(int argc, char **argv)
{
    struct recon r;
    struct adp_audit_filter f;
    struct xr_error err;
    char *uid = NULL, *issue = NULL;
    int64_t from_s, to_s, margin_ms, compared_to_ms;
    bool complete;
    int rc;

    memset(&r, 0, sizeof(r));
    rc = parse_args(argc, argv, &r);
    if (rc >= 0)
        return rc;
    rc = adp_cli_run_open(&r.run, r.config, ADP_CLI_AUDIT_READ);
    if (rc >= 0)
        goto out;
    rc = setup(&r);
    if (rc >= 0)
        goto out;
    rc = ADP_EXIT_USAGE;
    if (!adp_cli_texts(r.user_id, r.issue, DEFAULT_ISSUE, &uid, &issue))
        goto out;
    margin_ms = (int64_t)r.margin_s * 1000;
    from_s = (r.from_ms - margin_ms) / 1000;
    if (from_s < 0)
        from_s = 0;
    to_s = (r.to_ms + margin_ms + 999) / 1000;
    r.covered_s = to_s;
    for (size_t i = 0; i < r.nclients; i++) {
        rc = fetch_client(&r, &r.clients[i], from_s, to_s, uid, issue);
        if (rc >= 0)
            goto out;
    }
    /* The store, over the same widened range (by the intent's time). */
    memset(&f, 0, sizeof(f));
    f.has_from = true;
    f.from_ms = r.from_ms - margin_ms;
    f.has_to = true;
    f.to_ms = r.to_ms + margin_ms;
    if (adp_audit_search(r.run.reader, &f, audit_cb, &r, &err) != XR_OK) {
        adp_cli_error_line("audit reconcile: audit store", &err);
        rc = ADP_EXIT_UNAVAILABLE;
        goto out;
    }
    if (r.oom) {
        rc = ADP_EXIT_UNAVAILABLE;
        goto out;
    }
    /*
     * A query at time t has its record by t + margin. Where the security
     * server vouches only up to covered_s, queries after covered - margin
     * cannot be judged missing there yet.
     */
    compared_to_ms = (r.covered_s + 1) * 1000 - margin_ms;
    complete = compared_to_ms >= r.to_ms;
    if (compared_to_ms > r.to_ms)
        compared_to_ms = r.to_ms;
    if (!compare(&r, compared_to_ms)) {
        fprintf(stderr, "vayla: audit reconcile: out of memory\n");
        rc = ADP_EXIT_UNAVAILABLE;
        goto out;
    }
    rc = report(&r, compared_to_ms, complete);
out:
    adp_cli_run_close(&r.run);
    recon_free(&r);
    free(uid);
    free(issue);
    return rc;
}

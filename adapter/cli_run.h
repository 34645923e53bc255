/*
 * The query pipeline (query.h) on a command's own event loop, for CLI
 * faces other than `vayla query` (cli_meta.c, cli_reconcile.c): the
 * configuration, one upstream (upstream.h), the audit store committed
 * record by record (every query's intent durable before it is sent, its
 * outcome before anything is printed), queries run one at a time to
 * their verdict, GETs of the security server's own paths, and the JSON
 * and stderr shapes of a verdict.
 *
 * Thread-safety: a run belongs to the thread that opened it.
 */
#ifndef VAYLA_CLI_RUN_H
#define VAYLA_CLI_RUN_H

#include <stdbool.h>

#include <event2/event.h>
#include <jansson.h>
#include <xroad/xroad.h>

#include "audit.h"
#include "config.h"
#include "query.h"
#include "upstream.h"

#define ADP_CLI_CALLER_MAX 160u

typedef void adp_cli_done_fn(void *ctx, struct adp_query *q,
                             const struct adp_verdict *v);
typedef void adp_cli_get_fn(void *ctx, const struct adp_xfer_result *res);

/* How a command uses the audit store. */
enum adp_cli_audit {
    ADP_CLI_AUDIT_RECORD, /* record every query (the store must open
                             writable) */
    ADP_CLI_AUDIT_READ,   /* record when the store opens writable; when its
                             chain head does not match (a damaged or
                             tampered store), read it only and run the
                             queries unrecorded, with a warning */
    ADP_CLI_AUDIT_NONE    /* do not open it (downloads, or a command that
                             opens it read-only itself) */
};

struct adp_cli_run {
    struct adp_config *cfg;  /* owned */
    struct event_base *base; /* owned */
    struct adp_upstream *up; /* owned */
    /* Owned; NULL when [audit] path is unset, or (ADP_CLI_AUDIT_READ) when
     * the store could only be opened read-only: queries are not recorded. */
    struct adp_audit *audit;
    struct adp_audit *reader;        /* owned: the store to read (audit, or a
                                        read-only handle); NULL without a store */
    char caller[ADP_CLI_CALLER_MAX]; /* "cli:uid=N(name)" */
    /* private */
    struct adp_query_audit qaudit;
    bool done;
    adp_cli_done_fn *done_fn;
    adp_cli_get_fn *get_fn;
    void *done_ctx;
};

/*
 * Load the configuration (config_path NULL: $VAYLA_CONFIG or the
 * default), start libcurl, the event loop and the upstream, and open the
 * audit store named by [audit] path (writable: the queries are recorded;
 * see enum adp_cli_audit). Returns -1 when ready; otherwise the exit
 * status, with the reason printed. *r is zeroed first; close it in both
 * cases.
 */
int adp_cli_run_open(struct adp_cli_run *r, const char *config_path,
                     enum adp_cli_audit mode);
void adp_cli_run_close(struct adp_cli_run *r);

/* One query. Pointers are borrowed until adp_cli_run_query() returns. */
struct adp_cli_query {
    const struct adp_service_ops *svc;
    void *call;
    const struct xr_id *client;  /* NULL: [xroad] client */
    const struct xr_id *service; /* SERVICE */
    /* securityServer header (SERVER), NULL: [xroad] security_server */
    const struct xr_id *security_server;
    const char *user_id; /* clean (adp_cli_texts()) */
    const char *issue;   /* clean */
};

/*
 * Run one query to its verdict and call done(ctx, q, v) with it (v is
 * valid only during the call). Returns 0 after done, or the exit status when
 * the query could not run at all (message printed, done not called).
 */
int adp_cli_run_query(struct adp_cli_run *r, const struct adp_cli_query *cq,
                      adp_cli_done_fn *done, void *ctx);

/*
 * One exchange outside the pipeline (a GET of listClients) to its end:
 * fn(ctx, res) is called with the result (valid only during the call).
 * Returns 0 after fn, or the exit status when it could not start.
 */
int adp_cli_run_get(struct adp_cli_run *r, const struct adp_upstream_req *rq,
                    adp_cli_get_fn *fn, void *ctx);

/*
 * The end user and purpose of a CLI query, by the one text rule
 * (adp_query_text()): user_id NULL = the OS user name (the person at the
 * terminal), issue NULL = default_issue. False with the reason printed
 * (the option is named).
 * Ownership: *uid and *issue_out new (free()).
 */
bool adp_cli_texts(const char *user_id, const char *issue,
                   const char *default_issue, char **uid, char **issue_out);

/*
 * "status" of a verdict's JSON line ("ok", "fault", "invalid",
 * "transport_error", "rejected", "audit_unavailable", "internal_error").
 * Static.
 */
const char *adp_cli_verdict_status(const struct adp_verdict *v);

/*
 * {"message_id", "status", and "fault" or "error"} of a verdict, as
 * `vayla query` prints it; "outcome" for answered verdicts. The caller
 * adds what the service answered. Ownership: new reference (NULL when
 * out of memory).
 */
json_t *adp_cli_verdict_json(struct adp_query *q, const struct adp_verdict *v);

/* The stderr line of a verdict that is not an answer ("what" names the
 * command); nothing for answered verdicts. */
void adp_cli_verdict_explain(const char *what, const struct adp_verdict *v);

/* Print "vayla: WHAT: MSG [reason]" on stderr. */
void adp_cli_error_line(const char *what, const struct xr_error *err);

#endif

/*
 * `vayla audit prove [-c FILE] [--conf PATH] [--json] MESSAGE_ID...` and
 * `... --from T --to T`: prove audited queries end to end with the
 * security server's signed containers (prove.h, docs/verify.md). One
 * query at a time on the command's loop: the work is two downloads and
 * two verifications per query, bound by the security server.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_run.h"
#include "jsonout.h"
#include "prove.h"

#define PROVE_RANGE_MAX 100000u /* queries of one --from/--to run */

struct prove_opts {
    const char *config, *conf;
    bool json;
    struct adp_audit_filter range; /* has_from/has_to */
};

struct ids {
    char **v;
    size_t n, cap;
    bool oom, capped;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vayla audit prove [-c FILE] [--conf PATH] [--json] "
            "MESSAGE_ID...\n"
            "       vayla audit prove [-c FILE] [--conf PATH] [--json] "
            "--from T --to T\n"
            "\n"
            "Fetches the signed request and response containers of each "
            "audited query\n"
            "from the security server's /asic, verifies them and compares "
            "the signed\n"
            "messages with the audit record (SHA-512). Verdicts: proven, "
            "not_in_audit,\n"
            "no_response_in_audit, missing_container, not_timestamped, "
            "invalid_container,\n"
            "wrong_signer, request_differs, response_differs, fetch_failed. "
            "--from/--to\n"
            "prove every audited query in the range and print a summary. "
            "Without --conf\n"
            "the verification configuration is downloaded once from the "
            "security server.\n"
            "Exit status: 0 all proven, 2 any not proven, 1 usage or "
            "configuration error.\n");
}

static int parse(int argc, char **argv, struct prove_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"conf", required_argument, NULL, 'C'},
        {"json", no_argument, NULL, 'J'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'C':
            o->conf = optarg;
            break;
        case 'J':
            o->json = true;
            break;
        case 'F':
        case 'T':
            if (!adp_audit_time_parse(optarg, c == 'F' ? &o->range.from_ms
                                                       : &o->range.to_ms)) {
                fprintf(stderr,
                        "vayla: audit prove: --%s: not a date or "
                        "RFC 3339 time\n",
                        c == 'F' ? "from" : "to");
                return ADP_EXIT_USAGE;
            }
            *(c == 'F' ? &o->range.has_from : &o->range.has_to) = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return ADP_EXIT_USAGE;
        }
    }
    if (o->range.has_from != o->range.has_to ||
        (o->range.has_from && optind != argc) ||
        (!o->range.has_from && optind == argc) ||
        (o->range.has_from && o->range.from_ms >= o->range.to_ms)) {
        fprintf(stderr, "vayla: audit prove: give MESSAGE_ID... or --from T "
                        "--to T (from before to)\n");
        return ADP_EXIT_USAGE;
    }
    return ADP_EXIT_OK;
}

static int collect(void *ctx, const struct adp_audit_row *in,
                   const struct adp_audit_row *out)
{
    struct ids *l = ctx;

    (void)out;
    if (l->n == PROVE_RANGE_MAX) {
        l->capped = true;
        return 1;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->oom = true;
            return 1;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strdup(in->message_id ? in->message_id : "");
    if (!l->v[l->n]) {
        l->oom = true;
        return 1;
    }
    l->n++;
    return 0;
}

static void print_one(bool json, const char *id,
                      const struct adp_prove_result *r)
{
    if (json) {
        json_t *o = adp_prove_json(id, r);
        if (o)
            (void)adp_json_print(o);
        json_decref(o);
        return;
    }
    if (r->verdict == ADP_PROVE_PROVEN) {
        printf("%s: proven\n", id);
        return;
    }
    printf("%s: NOT PROVEN %s%s%s%s: %s\n", id,
           adp_prove_verdict_name(r->verdict), r->code[0] ? " [" : "", r->code,
           r->code[0] ? "]" : "", r->detail);
    if (r->hint[0])
        printf("  hint: %s\n", r->hint);
}

static void print_summary(bool json, const size_t *count, size_t total)
{
    json_t *o = json ? json_object() : NULL;

    if (!json)
        printf("summary: %zu queries:", total);
    for (size_t v = 0; v < ADP_PROVE_VERDICTS; v++) {
        const char *name = adp_prove_verdict_name((enum adp_prove_verdict)v);

        if (json)
            json_object_set_new(o, name, json_integer((json_int_t)count[v]));
        else if (count[v])
            printf(" %s %zu", name, count[v]);
    }
    if (json) {
        json_t *s = json_pack("{s:I, s:o}", "queries", (json_int_t)total,
                              "verdicts", o);
        json_t *w = s ? json_pack("{s:o}", "summary", s) : NULL;
        if (w)
            (void)adp_json_print(w);
        json_decref(w);
        return;
    }
    printf("\n");
}

/* Prove every id; the exit status. */
static int prove_all(const struct adp_prove_env *env,
                     const struct prove_opts *o, char **ids, size_t n)
{
    size_t count[ADP_PROVE_VERDICTS] = {0};
    int rc = ADP_EXIT_OK;

    for (size_t i = 0; i < n; i++) {
        struct adp_prove_result res;
        struct xr_error err;
        if (!adp_prove_one(env, ids[i], &res, &err)) {
            adp_cli_error_line("audit prove: audit store", &err);
            return ADP_EXIT_USAGE;
        }
        count[res.verdict]++;
        print_one(o->json, ids[i], &res);
        fflush(stdout);
        if (res.verdict != ADP_PROVE_PROVEN)
            rc = ADP_EXIT_INVALID;
    }
    if (o->range.has_from)
        print_summary(o->json, count, n);
    return rc;
}

static int with_run(struct adp_cli_run *r, const struct prove_opts *o,
                    char **argv, int argc)
{
    struct adp_prove_env env;
    struct ids l = {NULL, 0, 0, false, false};
    enum adp_fetch_status fst;
    struct xr_error err;
    char msg[ADP_FETCH_MSG_MAX + 64];
    int rc = ADP_EXIT_USAGE;

    memset(&env, 0, sizeof(env));
    env.fetch = (struct adp_fetch){r->base, r->up, &r->cfg->ss, 0};
    env.cfg = r->cfg;
    if (adp_prove_env_open(&env, o->conf, &fst, msg, sizeof(msg)) !=
        ADP_PROVE_OPEN_OK) {
        fprintf(stderr, "vayla: audit prove: %s\n", msg);
        goto out;
    }
    if (o->range.has_from) {
        if (adp_audit_search(env.audit, &o->range, collect, &l, &err) !=
                XR_OK ||
            l.oom) {
            if (l.oom)
                xr_error_set(&err, XR_ENOMEM, "out_of_memory", "",
                             "out of memory");
            adp_cli_error_line("audit prove: audit store", &err);
            goto out;
        }
        if (l.capped)
            fprintf(stderr,
                    "vayla: audit prove: only the first %u queries "
                    "of the range are proven\n",
                    PROVE_RANGE_MAX);
    }
    rc = o->range.has_from ? prove_all(&env, o, l.v, l.n)
                           : prove_all(&env, o, argv, (size_t)argc);
out:
    adp_prove_env_close(&env);
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
    return rc;
}

int cli_audit_prove(int argc, char **argv)
{
    struct prove_opts o;
    struct adp_cli_run r;
    int rc = parse(argc, argv, &o);

    if (rc != ADP_EXIT_OK)
        return rc < 0 ? ADP_EXIT_OK : rc;
    rc = adp_cli_run_open(&r, o.config, ADP_CLI_AUDIT_NONE);
    if (rc < 0)
        rc = with_run(&r, &o, argv + optind, argc - optind);
    adp_cli_run_close(&r);
    return rc;
}

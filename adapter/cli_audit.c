/*
 * `vayla audit verify|search|export|prune`: the audit store for audit teams
 * and operators (docs/audit.md). Read-only except prune. The store is named
 * by --db PATH, or by [audit] path of the configuration (-c FILE, default
 * $VAYLA_CONFIG or /etc/vayla/vayla.conf).
 *
 * Personal identifiers are printed only as the output of search/export,
 * which is what those commands are for; error messages never contain them.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "checkpoint.h"
#include "cli.h"
#include "util.h"
#include "config.h"

#define RETENTION_VTJ_MIN_DAYS 1826u /* five years (docs/vtj.md §9) */
#define RETENTION_MAX_DAYS     36500u
#define PRUNE_ROUNDS_MAX       1000000u /* bounds the prune loop */

#define ANCHOR_ARGS_MAX 16u /* --anchor options */

/* Options shared by the subcommands. */
struct audit_opts {
    const char *config;      /* -c FILE */
    const char *db;          /* --db PATH */
    bool json;               /* --json */
    bool force;              /* --force (prune) */
    unsigned retention_days; /* --retention-days, 0 = from config */
    size_t nanchor;          /* --anchor, repeatable */
    struct adp_audit_anchor anchor[ANCHOR_ARGS_MAX];
    const char *anchors;    /* --anchors FILE|journal */
    const char *anchor_key; /* --anchor-key PUB */
    struct adp_audit_filter filter;
    char subject_buf[ADP_AUDIT_TEXT_MAX + 2]; /* --subject - (stdin) */
};

enum opt_id {
    OPT_DB = 256,
    OPT_JSON,
    OPT_SUBJECT,
    OPT_END_USER,
    OPT_CALLER,
    OPT_MESSAGE_ID,
    OPT_FROM,
    OPT_TO,
    OPT_LIMIT,
    OPT_ANCHOR,
    OPT_ANCHORS,
    OPT_ANCHOR_KEY,
    OPT_RETENTION,
    OPT_FORCE
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vayla audit verify [-c FILE | --db PATH] [--anchor "
            "SEQ:HASH]...\n"
            "                          [--anchors FILE|journal] "
            "[--anchor-key PUB] [--json]\n"
            "       vayla audit search [-c FILE | --db PATH] [--subject ID|-]\n"
            "                          [--end-user U] [--caller C] "
            "[--message-id ID]\n"
            "                          [--from T] [--to T] [--limit N] "
            "[--json]\n"
            "       vayla audit export [-c FILE | --db PATH] [--from T] "
            "[--to T]\n"
            "       vayla audit prune  [-c FILE | --db PATH] "
            "[--retention-days N] [--force]\n"
            "       vayla audit reconcile -c FILE --from T --to T [--json] "
            "(see --help)\n"
            "       vayla audit prove [-c FILE] MESSAGE_ID... (see --help)\n"
            "\n"
            "verify  checks the hash chain; exit 0 intact, 2 broken (names "
            "the first\n"
            "        bad record), 1 error. Prints the head as SEQ:HASH; keep "
            "it elsewhere\n"
            "        and pass it later as --anchor to prove the chain was "
            "not rewritten.\n"
            "        --anchors checks every checkpoint the daemon wrote "
            "(its [audit]\n"
            "        checkpoint_file, or the journal); with --anchor-key "
            "each must carry a\n"
            "        valid signature of that Ed25519 public key.\n"
            "search  one line per query (intent + outcome): tab-separated "
            "with a header,\n"
            "        or JSON lines with --json. --subject - reads the "
            "identifier from\n"
            "        standard input (keeps it out of shell history).\n"
            "export  every stored record (intent, outcome, prune) as JSON "
            "lines.\n"
            "reconcile compares the store with the security server's "
            "operational\n"
            "        monitoring records (exit 0 agree, 2 differences).\n"
            "prune   deletes records older than the retention period "
            "([audit]\n"
            "        retention_days, default 1826) and anchors the rest; "
            "below 1826 days\n"
            "        (the VTJ minimum) only with --force.\n"
            "T is YYYY-MM-DD (UTC midnight) or RFC 3339, e.g. "
            "2026-11-27T10:00:00Z or\n"
            "2026-11-27T12:00:00+02:00; --from is inclusive, --to "
            "exclusive.\n");
}

static int fail(const char *what, const struct xr_error *err)
{
    fprintf(stderr, "vayla: audit %s: %s [%s]\n", what, err->msg,
            err->reason ? err->reason : xr_strerror(err->code));
    return ADP_EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || !end || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* "SEQ:64 hex digits" */
static bool parse_anchor(const char *s, struct adp_audit_anchor *an)
{
    const char *colon = strchr(s, ':');
    char seq[24];
    size_t n;

    if (!colon || (size_t)(colon - s) >= sizeof(seq))
        return false;
    n = (size_t)(colon - s);
    memcpy(seq, s, n);
    seq[n] = '\0';
    /* The hash as verify prints it: 64 hex digits, no colons. */
    return parse_u64(seq, 1, INT64_MAX, &an->seq) &&
           strlen(colon + 1) == 2 * ADP_AUDIT_HASH_LEN &&
           adp_hex_decode(colon + 1, an->hash, ADP_AUDIT_HASH_LEN);
}

/* Is `name` one of the space-separated words of `list`? */
static bool word_in(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; *p;) {
        size_t w = strcspn(p, " ");
        if (w == n && !strncmp(p, name, n))
            return true;
        p += w;
        p += strspn(p, " ");
    }
    return false;
}

/* --subject: the identifier, or "-" to read it from stdin (out of shell
 * history and ps). */
static int set_subject(struct audit_opts *o, const char *arg)
{
    size_t n;

    o->filter.subject = arg;
    if (strcmp(arg, "-") != 0)
        return ADP_EXIT_OK;
    if (!fgets(o->subject_buf, sizeof(o->subject_buf), stdin)) {
        fprintf(stderr, "vayla: audit: --subject -: nothing on "
                        "standard input\n");
        return ADP_EXIT_USAGE;
    }
    n = strcspn(o->subject_buf, "\r\n");
    o->subject_buf[n] = '\0';
    o->filter.subject = o->subject_buf;
    return ADP_EXIT_OK;
}

/*
 * Apply option c (argument: optarg) to o. *name is the option's name for
 * the check that the subcommand has it; NULL for -c and --db, which every
 * subcommand has. Returns ADP_EXIT_OK, or the exit status to return
 * (-1 after --help).
 */
static int apply_opt(int c, struct audit_opts *o, const char **name)
{
    uint64_t v;

    *name = NULL;
    switch (c) {
    case 'c':
        o->config = optarg;
        return ADP_EXIT_OK;
    case OPT_DB:
        o->db = optarg;
        return ADP_EXIT_OK;
    case 'h':
        usage(stdout);
        return -1;
    case OPT_JSON:
        *name = "json";
        o->json = true;
        return ADP_EXIT_OK;
    case OPT_SUBJECT:
        *name = "subject";
        return set_subject(o, optarg);
    case OPT_END_USER:
        *name = "end-user";
        o->filter.end_user = optarg;
        return ADP_EXIT_OK;
    case OPT_CALLER:
        *name = "caller";
        o->filter.caller = optarg;
        return ADP_EXIT_OK;
    case OPT_MESSAGE_ID:
        *name = "message-id";
        o->filter.message_id = optarg;
        return ADP_EXIT_OK;
    case OPT_FROM:
        *name = "from";
        o->filter.has_from = true;
        if (!adp_audit_time_parse(optarg, &o->filter.from_ms)) {
            fprintf(stderr, "vayla: audit: --from: not a date or RFC "
                            "3339 time\n");
            return ADP_EXIT_USAGE;
        }
        return ADP_EXIT_OK;
    case OPT_TO:
        *name = "to";
        o->filter.has_to = true;
        if (!adp_audit_time_parse(optarg, &o->filter.to_ms)) {
            fprintf(stderr, "vayla: audit: --to: not a date or RFC 3339 "
                            "time\n");
            return ADP_EXIT_USAGE;
        }
        return ADP_EXIT_OK;
    case OPT_LIMIT:
        *name = "limit";
        if (!parse_u64(optarg, 1, INT64_MAX, &o->filter.limit)) {
            fprintf(stderr, "vayla: audit: --limit: not a positive "
                            "number\n");
            return ADP_EXIT_USAGE;
        }
        return ADP_EXIT_OK;
    case OPT_ANCHORS:
        *name = "anchor";
        o->anchors = optarg;
        return ADP_EXIT_OK;
    case OPT_ANCHOR_KEY:
        *name = "anchor";
        o->anchor_key = optarg;
        return ADP_EXIT_OK;
    case OPT_ANCHOR:
        *name = "anchor";
        if (o->nanchor >= ANCHOR_ARGS_MAX) {
            fprintf(stderr, "vayla: audit: at most %u --anchor options\n",
                    ANCHOR_ARGS_MAX);
            return ADP_EXIT_USAGE;
        }
        if (!parse_anchor(optarg, &o->anchor[o->nanchor++])) {
            fprintf(stderr, "vayla: audit: --anchor: expected SEQ:HASH "
                            "(64 hex digits), as printed by verify\n");
            return ADP_EXIT_USAGE;
        }
        return ADP_EXIT_OK;
    case OPT_RETENTION:
        *name = "retention-days";
        if (!parse_u64(optarg, 1, RETENTION_MAX_DAYS, &v)) {
            fprintf(stderr, "vayla: audit: --retention-days: 1..%u\n",
                    RETENTION_MAX_DAYS);
            return ADP_EXIT_USAGE;
        }
        o->retention_days = (unsigned)v;
        return ADP_EXIT_OK;
    case OPT_FORCE:
        *name = "force";
        o->force = true;
        return ADP_EXIT_OK;
    default:
        usage(stderr);
        return ADP_EXIT_USAGE;
    }
}

/*
 * Parse the options of one subcommand. Returns ADP_EXIT_OK, or the exit
 * status to return (usage error, or --help which returns -1 as "done").
 */
static int parse_opts(int argc, char **argv, const char *allowed,
                      struct audit_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, OPT_DB},
        {"json", no_argument, NULL, OPT_JSON},
        {"subject", required_argument, NULL, OPT_SUBJECT},
        {"end-user", required_argument, NULL, OPT_END_USER},
        {"caller", required_argument, NULL, OPT_CALLER},
        {"message-id", required_argument, NULL, OPT_MESSAGE_ID},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"anchor", required_argument, NULL, OPT_ANCHOR},
        {"anchors", required_argument, NULL, OPT_ANCHORS},
        {"anchor-key", required_argument, NULL, OPT_ANCHOR_KEY},
        {"retention-days", required_argument, NULL, OPT_RETENTION},
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        const char *name;
        int rc = apply_opt(c, o, &name);

        if (rc != ADP_EXIT_OK)
            return rc;
        /* Each subcommand accepts only its own options. */
        if (name && !word_in(allowed, name)) {
            fprintf(stderr,
                    "vayla: audit %s: --%s is not an option of "
                    "this command\n",
                    argv[0], name);
            return ADP_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "vayla: audit %s: unexpected argument\n", argv[0]);
        return ADP_EXIT_USAGE;
    }
    if (o->config && o->db) {
        fprintf(stderr, "vayla: audit %s: give -c or --db, not both\n",
                argv[0]);
        return ADP_EXIT_USAGE;
    }
    if (o->filter.has_from && o->filter.has_to &&
        o->filter.from_ms >= o->filter.to_ms) {
        fprintf(stderr, "vayla: audit %s: --from must be before --to\n",
                argv[0]);
        return ADP_EXIT_USAGE;
    }
    return ADP_EXIT_OK;
}

/*
 * Open the store named by --db, or by [audit] path of the configuration.
 * *retention_days receives the configured retention (default 1826).
 * Ownership: *out is new (adp_audit_close()).
 */
static int open_store(const struct audit_opts *o, bool read_only, bool verify,
                      struct adp_audit **out, unsigned *retention_days)
{
    struct adp_audit_options ao = {.read_only = read_only};
    struct adp_config *cfg = NULL;
    struct xr_error err;
    const char *path = o->db;
    int rc;

    *retention_days = ADP_CONFIG_AUDIT_RETENTION_DEFAULT;
    if (!path) {
        const char *cpath = o->config ? o->config : adp_config_default_path();
        if (adp_config_load(cpath, &cfg, adp_config_problem_print, stderr,
                            &err) != XR_OK) {
            /* Problems and unreadable files were printed by the callback. */
            if (err.code == XR_ENOMEM)
                (void)fail("configuration", &err);
            rc = ADP_EXIT_USAGE;
            goto out;
        }
        if (!cfg->audit.path) {
            fprintf(stderr,
                    "vayla: audit: %s: [audit] path is not set "
                    "(or use --db PATH)\n",
                    cpath);
            rc = ADP_EXIT_USAGE;
            goto out;
        }
        path = cfg->audit.path;
        *retention_days = cfg->audit.retention_days;
    }
    if (adp_audit_open(path, &ao, out, &err) != XR_OK) {
        rc = fail("open", &err);
        /* A file whose chain state is missing or damaged is not an
         * intact audit store: verify reports that as broken. */
        if (err.code == XR_EPROTO && verify)
            rc = ADP_EXIT_INVALID;
        goto out;
    }
    rc = ADP_EXIT_OK;
out:
    adp_config_free(cfg);
    return rc;
}

/* ------------------------------------------------------------------ */
/* verify                                                               */

/*
 * The anchors of one verify: --anchor options and the checkpoints of
 * --anchors, which must belong to this store's chain.
 */
static int gather_anchors(struct adp_audit *a, const struct audit_opts *o,
                          struct adp_audit_anchor **out, size_t *n)
{
    struct adp_checkpoint *cps = NULL;
    struct adp_audit_head head;
    EVP_PKEY *pub = NULL;
    struct xr_error err;
    size_t ncp = 0;
    int rc = ADP_EXIT_USAGE;

    *out = NULL;
    *n = 0;
    if (o->anchor_key && !o->anchors) {
        fprintf(stderr, "vayla: audit verify: --anchor-key needs --anchors\n");
        return ADP_EXIT_USAGE;
    }
    if (o->anchor_key &&
        adp_checkpoint_key_load(o->anchor_key, false, &pub, &err) != XR_OK) {
        rc = fail("verify", &err);
        goto out;
    }
    if (o->anchors &&
        (adp_checkpoint_read(o->anchors, pub, &cps, &ncp, &err) != XR_OK ||
         adp_audit_head(a, &head, &err) != XR_OK)) {
        rc = fail(err.field[0] ? err.field : "verify", &err);
        goto out;
    }
    if (o->anchors && ncp == 0 && head.seq > 0) {
        /* Asked to check the store against its checkpoints and there are
         * none: a cut or emptied checkpoint file must not pass as an
         * anchored chain. */
        printf("audit chain NOT ANCHORED: %s holds no checkpoint for a "
               "store of %" PRIu64 " records (is it the daemon's "
               "[audit] checkpoint_file?)\n",
               o->anchors, head.seq);
        rc = ADP_EXIT_INVALID;
        goto out;
    }
    *out = calloc(o->nanchor + ncp + 1, sizeof(**out));
    if (!*out) {
        fprintf(stderr, "vayla: audit verify: out of memory\n");
        goto out;
    }
    memcpy(*out, o->anchor, o->nanchor * sizeof(**out));
    for (size_t i = 0; i < ncp; i++) {
        if (memcmp(cps[i].chain_id, head.chain_id, ADP_AUDIT_CHAIN_ID_LEN)) {
            /* A store made anew is a rewritten store as far as the
             * checkpoints know: never skip them. */
            printf("audit chain BROKEN: checkpoint %" PRIu64
                   " belongs to another chain: the store was replaced\n",
                   cps[i].anchor.seq);
            rc = ADP_EXIT_INVALID;
            goto out;
        }
        (*out)[o->nanchor + i] = cps[i].anchor;
    }
    *n = o->nanchor + ncp;
    rc = ADP_EXIT_OK;
out:
    if (rc != ADP_EXIT_OK) {
        free(*out);
        *out = NULL;
    }
    free(cps);
    EVP_PKEY_free(pub);
    return rc;
}

static int cmd_verify(int argc, char **argv)
{
    struct adp_audit_anchor *anchors = NULL;
    size_t nanchors = 0;
    struct adp_audit_verify_report rep;
    struct adp_audit *a = NULL;
    struct audit_opts o;
    struct xr_error err;
    char head[2 * ADP_AUDIT_HASH_LEN + 1];
    unsigned days;
    json_t *j = NULL;
    int rc;

    rc = parse_opts(argc, argv, "json anchor", &o);
    if (rc != ADP_EXIT_OK)
        return rc < 0 ? ADP_EXIT_OK : rc;
    rc = open_store(&o, true, true, &a, &days);
    if (rc != ADP_EXIT_OK)
        goto out;
    rc = gather_anchors(a, &o, &anchors, &nanchors);
    if (rc != ADP_EXIT_OK)
        goto out;
    if (adp_audit_verify(a, anchors, nanchors, &rep, &err) != XR_OK) {
        rc = fail("verify", &err);
        goto out;
    }
    adp_hex_encode(rep.head_hash, ADP_AUDIT_HASH_LEN, head);
    if (o.json) {
        j = json_pack(
            "{s:b, s:o, s:o, s:s, s:I, s:I, s:I, s:s, s:I, s:I, "
            "s:I, s:I, s:I}",
            "intact", rep.intact, "first_bad_seq",
            rep.intact ? json_null()
                       : json_integer((json_int_t)rep.first_bad_seq),
            "problem", rep.problem ? json_string(rep.problem) : json_null(),
            "detail", rep.detail, "records", (json_int_t)rep.rows, "base_seq",
            (json_int_t)rep.base_seq, "head_seq", (json_int_t)rep.head_seq,
            "head_hash", head, "intents", (json_int_t)rep.intents, "outcomes",
            (json_int_t)rep.outcomes, "prunes", (json_int_t)rep.prunes,
            "open_intents", (json_int_t)rep.open_intents, "orphan_outcomes",
            (json_int_t)rep.orphan_outcomes);
        if (j)
            json_object_update_new(
                j, json_pack("{s:I, s:I}", "anchors", (json_int_t)rep.anchors,
                             "anchors_pruned", (json_int_t)rep.anchors_pruned));
        if (!j || json_dumpf(j, stdout, JSON_COMPACT) != 0 ||
            fputc('\n', stdout) == EOF) {
            fprintf(stderr, "vayla: audit verify: cannot write output\n");
            rc = ADP_EXIT_USAGE;
            goto out;
        }
    } else if (rep.intact && rep.rows == 0) {
        printf("audit chain intact: no records\n");
        printf("head: %" PRIu64 ":%s\n", rep.head_seq, head);
    } else if (rep.intact) {
        printf("audit chain intact: %" PRIu64 " records (%" PRIu64
               " intents, %" PRIu64 " outcomes, %" PRIu64
               " prune records), seq %" PRIu64 "..%" PRIu64 "\n",
               rep.rows, rep.intents, rep.outcomes, rep.prunes, rep.base_seq,
               rep.head_seq);
        printf("head: %" PRIu64 ":%s\n", rep.head_seq, head);
        if (rep.anchors || rep.anchors_pruned)
            printf("anchors: %" PRIu64 " checked, %" PRIu64
                   " older than the retained chain\n",
                   rep.anchors, rep.anchors_pruned);
        if (rep.open_intents)
            printf("note: %" PRIu64 " intents have no outcome (in flight, "
                   "or the process stopped before the answer)\n",
                   rep.open_intents);
        if (rep.orphan_outcomes)
            printf("note: %" PRIu64 " outcomes have no retained intent "
                   "(pruned)\n",
                   rep.orphan_outcomes);
    } else {
        printf("audit chain BROKEN: first bad record %" PRIu64 ": %s: %s\n",
               rep.first_bad_seq, rep.problem, rep.detail);
    }
    if (fflush(stdout) != 0) {
        rc = ADP_EXIT_USAGE;
        goto out;
    }
    rc = rep.intact ? ADP_EXIT_OK : ADP_EXIT_INVALID;
out:
    free(anchors);
    json_decref(j);
    adp_audit_close(a);
    return rc;
}

/* ------------------------------------------------------------------ */
/* search and export                                                    */

struct out_ctx {
    bool json;
    bool failed; /* output error */
};

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *jdigest(const uint8_t *p, size_t n)
{
    char buf[2 * ADP_AUDIT_SHA512_LEN + 1];

    if (!p)
        return json_null();
    adp_hex_encode(p, n, buf);
    return json_string(buf);
}

static json_t *jpos(uint64_t v)
{
    return v ? json_integer((json_int_t)v) : json_null();
}

/* json_object_set_new that remembers an allocation failure. */
static void jset(json_t *o, const char *k, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(o, k, v) != 0)
        *ok = false;
}

static json_t *outcome_json(const struct adp_audit_row *r)
{
    json_t *o = json_object();
    bool ok = o != NULL;

    if (!ok)
        return NULL;
    jset(o, "seq", jpos(r->seq), &ok);
    jset(o, "time", jstr(r->time), &ok);
    jset(o, "result_class", jstr(r->result_class), &ok);
    jset(o, "return_code", jstr(r->return_code), &ok);
    jset(o, "fault_code", jstr(r->fault_code), &ok);
    jset(o, "fault_origin", jstr(r->fault_origin), &ok);
    jset(o, "duration_ms",
         r->has_duration ? json_integer(r->duration_ms) : json_null(), &ok);
    jset(o, "response_sha512",
         jdigest(r->response_sha512, ADP_AUDIT_SHA512_LEN), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int emit(struct out_ctx *c, json_t *o)
{
    if (!o || json_dumpf(o, stdout, JSON_COMPACT) != 0 ||
        fputc('\n', stdout) == EOF) {
        c->failed = true;
        json_decref(o);
        return 1;
    }
    json_decref(o);
    return 0;
}

static void tsv_field(const char *s)
{
    /* Stored text has no control characters (audit.c), so no escaping. */
    fputs(s && *s ? s : "-", stdout);
}

static int search_cb(void *ctx, const struct adp_audit_row *i,
                     const struct adp_audit_row *oc)
{
    struct out_ctx *c = ctx;
    json_t *o;
    bool ok = true;

    if (!c->json) {
        printf("%" PRIu64 "\t", i->seq);
        const char *f[] = {i->time,    i->caller,  i->end_user, i->purpose,
                           i->service, i->product, i->subject,  i->message_id};
        for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
            tsv_field(f[k]);
            fputc('\t', stdout);
        }
        if (oc) {
            tsv_field(oc->result_class);
            fputc('\t', stdout);
            tsv_field(oc->return_code);
            fputc('\t', stdout);
            tsv_field(oc->fault_code);
            fputc('\t', stdout);
            tsv_field(oc->fault_origin);
            printf("\t%" PRId64 "\n", oc->duration_ms);
        } else {
            fputs("(no outcome)\t-\t-\t-\t-\n", stdout);
        }
        if (ferror(stdout)) {
            c->failed = true;
            return 1;
        }
        return 0;
    }
    o = json_object();
    if (!o) {
        c->failed = true;
        return 1;
    }
    jset(o, "seq", jpos(i->seq), &ok);
    jset(o, "time", jstr(i->time), &ok);
    jset(o, "caller", jstr(i->caller), &ok);
    jset(o, "end_user", jstr(i->end_user), &ok);
    jset(o, "purpose", jstr(i->purpose), &ok);
    jset(o, "service", jstr(i->service), &ok);
    jset(o, "product", jstr(i->product), &ok);
    jset(o, "subject", jstr(i->subject), &ok);
    jset(o, "message_id", jstr(i->message_id), &ok);
    jset(o, "request_sha512", jdigest(i->request_sha512, ADP_AUDIT_SHA512_LEN),
         &ok);
    jset(o, "outcome", oc ? outcome_json(oc) : json_null(), &ok);
    if (!ok) {
        json_decref(o);
        c->failed = true;
        return 1;
    }
    return emit(c, o);
}

static int export_cb(void *ctx, const struct adp_audit_row *r)
{
    struct out_ctx *c = ctx;
    const char *kind = r->kind ? r->kind : "";
    json_t *o = json_object();
    bool ok = o != NULL;

    if (!ok) {
        c->failed = true;
        return 1;
    }
    jset(o, "seq", jpos(r->seq), &ok);
    jset(o, "kind", jstr(r->kind), &ok);
    jset(o, "time", jstr(r->time), &ok);
    if (!strcmp(kind, "intent")) {
        jset(o, "caller", jstr(r->caller), &ok);
        jset(o, "end_user", jstr(r->end_user), &ok);
        jset(o, "purpose", jstr(r->purpose), &ok);
        jset(o, "service", jstr(r->service), &ok);
        jset(o, "product", jstr(r->product), &ok);
        jset(o, "subject", jstr(r->subject), &ok);
        jset(o, "message_id", jstr(r->message_id), &ok);
        jset(o, "request_sha512",
             jdigest(r->request_sha512, ADP_AUDIT_SHA512_LEN), &ok);
    } else if (!strcmp(kind, "outcome")) {
        jset(o, "ref_seq", jpos(r->ref_seq), &ok);
        jset(o, "message_id", jstr(r->message_id), &ok);
        jset(o, "result_class", jstr(r->result_class), &ok);
        jset(o, "return_code", jstr(r->return_code), &ok);
        jset(o, "fault_code", jstr(r->fault_code), &ok);
        jset(o, "fault_origin", jstr(r->fault_origin), &ok);
        jset(o, "duration_ms",
             r->has_duration ? json_integer(r->duration_ms) : json_null(), &ok);
        jset(o, "response_sha512",
             jdigest(r->response_sha512, ADP_AUDIT_SHA512_LEN), &ok);
    } else if (!strcmp(kind, "prune")) {
        jset(o, "caller", jstr(r->caller), &ok);
        jset(o, "pruned_through_seq", jpos(r->prune_seq), &ok);
        jset(o, "pruned_through_hash",
             jdigest(r->prune_hash, ADP_AUDIT_HASH_LEN), &ok);
        jset(o, "cutoff", jstr(r->prune_cutoff), &ok);
        jset(o, "count", jpos(r->prune_count), &ok);
    }
    jset(o, "prev_hash", jdigest(r->prev_hash, ADP_AUDIT_HASH_LEN), &ok);
    jset(o, "row_hash", jdigest(r->row_hash, ADP_AUDIT_HASH_LEN), &ok);
    if (!ok) {
        json_decref(o);
        c->failed = true;
        return 1;
    }
    return emit(c, o);
}

static int cmd_search(int argc, char **argv, bool export)
{
    struct adp_audit *a = NULL;
    struct out_ctx c = {0};
    struct audit_opts o;
    struct xr_error err;
    enum xr_status st;
    unsigned days;
    int rc;

    rc = parse_opts(argc, argv,
                    export ? "from to"
                           : "json subject end-user caller message-id from "
                             "to limit",
                    &o);
    if (rc != ADP_EXIT_OK)
        return rc < 0 ? ADP_EXIT_OK : rc;
    rc = open_store(&o, true, false, &a, &days);
    if (rc != ADP_EXIT_OK)
        goto out;
    c.json = o.json || export;
    if (!c.json)
        printf("seq\ttime\tcaller\tend_user\tpurpose\tservice\tproduct\t"
               "subject\tmessage_id\tresult\treturn_code\tfault_code\t"
               "fault_origin\tduration_ms\n");
    st = export ? adp_audit_export(a, &o.filter, export_cb, &c, &err)
                : adp_audit_search(a, &o.filter, search_cb, &c, &err);
    if (st != XR_OK) {
        rc = fail(export ? "export" : "search", &err);
        goto out;
    }
    if (c.failed || fflush(stdout) != 0) {
        fprintf(stderr, "vayla: audit %s: cannot write output\n",
                export ? "export" : "search");
        rc = ADP_EXIT_USAGE;
        goto out;
    }
    rc = ADP_EXIT_OK;
out:
    adp_audit_close(a);
    return rc;
}

/* ------------------------------------------------------------------ */
/* prune                                                                */

static int cmd_prune(int argc, char **argv)
{
    struct adp_audit_prune_result res;
    struct adp_audit *a = NULL;
    struct audit_opts o;
    struct xr_error err;
    struct passwd *pw;
    char actor[128], cutoff_s[ADP_AUDIT_TIME_LEN + 1];
    uint64_t total = 0;
    int64_t cutoff;
    unsigned days, rounds = 0;
    int rc;

    rc = parse_opts(argc, argv, "retention-days force", &o);
    if (rc != ADP_EXIT_OK)
        return rc < 0 ? ADP_EXIT_OK : rc;
    rc = open_store(&o, false, false, &a, &days);
    if (rc != ADP_EXIT_OK)
        goto out;
    if (o.retention_days)
        days = o.retention_days;
    if (days < RETENTION_VTJ_MIN_DAYS && !o.force) {
        fprintf(stderr,
                "vayla: audit prune: retention of %u days is shorter than "
                "the five years (%u days) VTJ requires; use --force to "
                "prune anyway\n",
                days, RETENTION_VTJ_MIN_DAYS);
        rc = ADP_EXIT_USAGE;
        goto out;
    }
    cutoff = adp_audit_now_ms() - (int64_t)days * 86400000;
    pw = getpwuid(geteuid());
    if (snprintf(actor, sizeof(actor), "cli:uid=%u(%s) vayla audit prune",
                 (unsigned)geteuid(),
                 pw && pw->pw_name ? pw->pw_name : "?") >= (int)sizeof(actor))
        actor[sizeof(actor) - 1] = '\0';
    do {
        if (adp_audit_prune(a, cutoff, actor, 0, &res, &err) != XR_OK) {
            rc = fail("prune", &err);
            goto out;
        }
        total += res.deleted;
        if (res.deleted)
            printf("pruned records ..%" PRIu64 " (%" PRIu64
                   "), anchored by prune record %" PRIu64 "\n",
                   res.through_seq, res.deleted, res.prune_seq);
    } while (res.more && ++rounds < PRUNE_ROUNDS_MAX);
    if (!adp_audit_time_format(cutoff, cutoff_s, sizeof(cutoff_s)))
        cutoff_s[0] = '\0';
    printf("%" PRIu64 " records older than %s (%u days) pruned\n", total,
           cutoff_s, days);
    rc = fflush(stdout) == 0 ? ADP_EXIT_OK : ADP_EXIT_USAGE;
out:
    adp_audit_close(a);
    return rc;
}

int cli_audit(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : NULL;

    if (!sub) {
        usage(stderr);
        return ADP_EXIT_USAGE;
    }
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        usage(stdout);
        return ADP_EXIT_OK;
    }
    /* argv + 1: the subcommand becomes argv[0] for getopt. */
    if (!strcmp(sub, "verify"))
        return cmd_verify(argc - 1, argv + 1);
    if (!strcmp(sub, "search"))
        return cmd_search(argc - 1, argv + 1, false);
    if (!strcmp(sub, "export"))
        return cmd_search(argc - 1, argv + 1, true);
    if (!strcmp(sub, "prune"))
        return cmd_prune(argc - 1, argv + 1);
    if (!strcmp(sub, "reconcile"))
        return cli_audit_reconcile(argc - 1, argv + 1);
    if (!strcmp(sub, "prove"))
        return cli_audit_prove(argc - 1, argv + 1);
    fprintf(stderr, "vayla: audit: unknown subcommand '%s'\n", sub);
    usage(stderr);
    return ADP_EXIT_USAGE;
}

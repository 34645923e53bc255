/*
 * Audit store (adapter/audit.c, adapter/cli_audit.c): group commit, record
 * completeness, hash-chain verification against edits, deletions and
 * forged rows, retention pruning, search/export, and crash safety with
 * kill -9 during a load.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_helpers.h"

#include <jansson.h>
#include <sqlite3.h>

#include "audit.h"
#include "cli.h"

#define DAY_MS     86400000LL
#define SERVICE    "FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1"
#define HETU_A     "010101-123N"
#define HETU_B     "131052-308T"
#define CRASH_ACKS 400 /* acks to wait for before kill -9 */

struct fx {
    char dir[256];
    char path[320];
    char out[320]; /* captured CLI output */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/vayla-audit-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/audit.db", f->dir);
    snprintf(f->out, sizeof(f->out), "%s/out.txt", f->dir);
    *state = f;
    return 0;
}

/* Remove a directory tree we created (bounded depth, no symlinks). */
static int rm_tree(const char *path, int depth)
{
    struct dirent *e;
    struct stat sb;
    char p[1024];
    DIR *d;

    if (lstat(path, &sb) != 0)
        return -1;
    if (S_ISDIR(sb.st_mode) && depth > 0 && (d = opendir(path))) {
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
            rm_tree(p, depth - 1);
        }
        closedir(d);
    }
    return remove(path);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    int rc = rm_tree(f->dir, 3);

    free(f);
    return rc;
}

static struct adp_audit *open_rw(const struct fx *f)
{
    struct adp_audit *a = NULL;
    struct xr_error err;

    XRT_ASSERT_OK(adp_audit_open(f->path, NULL, &a, &err), err);
    return a;
}

static uint64_t intent(struct adp_audit *a, int n, int64_t t,
                       const char *subject, const char *end_user,
                       const char *caller)
{
    char msg[64], req[64];
    struct adp_audit_intent in = {0};
    struct xr_error err;
    uint64_t ticket = 0;

    snprintf(msg, sizeof(msg), "msg-%d", n);
    snprintf(req, sizeof(req), "<request n='%d'/>", n);
    in.time_ms = t;
    in.caller = caller;
    in.end_user = end_user;
    in.purpose = "asiakkuuden hoito";
    in.service = SERVICE;
    in.product = "PERUSSANOMA 3";
    in.subject = subject;
    in.message_id = msg;
    in.request = (const uint8_t *)req;
    in.request_len = strlen(req);
    XRT_ASSERT_OK(adp_audit_intent(a, &in, &ticket, &err), err);
    assert_true(ticket > 0);
    return ticket;
}

static uint64_t outcome(struct adp_audit *a, int n, int64_t t,
                        const char *klass)
{
    char msg[64], resp[64];
    struct adp_audit_outcome o = {0};
    struct xr_error err;
    uint64_t ticket = 0;

    snprintf(msg, sizeof(msg), "msg-%d", n);
    snprintf(resp, sizeof(resp), "<response n='%d'/>", n);
    o.time_ms = t ? t + 250 : 0;
    o.message_id = msg;
    o.result_class = klass;
    o.return_code = "0000";
    o.duration_ms = 250;
    o.response = (const uint8_t *)resp;
    o.response_len = strlen(resp);
    XRT_ASSERT_OK(adp_audit_outcome(a, &o, &ticket, &err), err);
    return ticket;
}

static void commit(struct adp_audit *a)
{
    struct xr_error err;

    XRT_ASSERT_OK(adp_audit_commit(a, &err), err);
    assert_int_equal(adp_audit_pending(a), 0);
}

/* One complete query (intent, commit, outcome, commit), as the CLI does. */
static void query(struct adp_audit *a, int n, int64_t t, const char *subject,
                  const char *end_user, const char *caller)
{
    uint64_t t1, t2;

    t1 = intent(a, n, t, subject, end_user, caller);
    commit(a);
    assert_true(adp_audit_durable(a) >= t1);
    t2 = outcome(a, n, t, "ok");
    commit(a);
    assert_true(adp_audit_durable(a) >= t2);
}

static void fill(const struct fx *f, int n)
{
    struct adp_audit *a = open_rw(f);

    for (int i = 1; i <= n; i++)
        query(a, i, 0, i % 2 ? HETU_A : HETU_B, "alice", "cli:uid=1000(t)");
    adp_audit_close(a);
}

static void sql(const char *path, const char *q)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    rc = sqlite3_exec(db, q, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("SQL failed: %s: %s", q, msg ? msg : "?");
    sqlite3_close(db);
}

static int sql_rc(const char *path, const char *q)
{
    sqlite3 *db = NULL;
    int rc;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    rc = sqlite3_exec(db, q, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int64_t sql_int(const char *path, const char *q)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void verify(const struct fx *f, const struct adp_audit_anchor *anchor,
                   struct adp_audit_verify_report *rep)
{
    struct adp_audit_options o = {.read_only = true};
    struct adp_audit *a = NULL;
    struct xr_error err;

    XRT_ASSERT_OK(adp_audit_open(f->path, &o, &a, &err), err);
    XRT_ASSERT_OK(adp_audit_verify(a, anchor, anchor ? 1 : 0, rep, &err), err);
    adp_audit_close(a);
}

static void assert_broken(const struct fx *f, const char *problem, uint64_t seq)
{
    struct adp_audit_verify_report rep;

    verify(f, NULL, &rep);
    if (rep.intact || strcmp(rep.problem, problem) != 0 ||
        rep.first_bad_seq != seq)
        fail_msg("expected %s at %llu, got intact=%d %s at %llu (%s)", problem,
                 (unsigned long long)seq, rep.intact,
                 rep.problem ? rep.problem : "-",
                 (unsigned long long)rep.first_bad_seq, rep.detail);
}

static void assert_intact(const struct fx *f)
{
    struct adp_audit_verify_report rep;

    verify(f, NULL, &rep);
    if (!rep.intact)
        fail_msg("chain broken: %s at %llu: %s", rep.problem,
                 (unsigned long long)rep.first_bad_seq, rep.detail);
}

/*
 * Run `vayla audit ARGS...` (NULL-terminated, argv[0] = "audit") with
 * stdout captured in f->out. Arguments are copied: getopt may permute.
 */
static int run_cli(const struct fx *f, const char *const *args)
{
    char *argv[16];
    int argc = 0, saved, fd, rc;

    while (args[argc]) {
        assert_true(argc < 15);
        argv[argc] = strdup(args[argc]);
        assert_non_null(argv[argc]);
        argc++;
    }
    argv[argc] = NULL;
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    fd = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    rc = cli_audit(argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return rc;
}

static int cli_verify(const struct fx *f)
{
    const char *argv[] = {"audit", "verify", "--db", f->path, NULL};
    return run_cli(f, argv);
}

/* Collects search results. */
struct hits {
    int n;
    int with_outcome;
    uint64_t seq[64];
    char klass[64][32];
    char subject[64][32];
    uint8_t req[64][ADP_AUDIT_SHA512_LEN];
    uint8_t resp[64][ADP_AUDIT_SHA512_LEN];
};

static int hits_cb(void *ctx, const struct adp_audit_row *i,
                   const struct adp_audit_row *o)
{
    struct hits *h = ctx;

    if (h->n >= 64)
        return 1;
    h->seq[h->n] = i->seq;
    snprintf(h->subject[h->n], 32, "%s", i->subject ? i->subject : "");
    memcpy(h->req[h->n], i->request_sha512, ADP_AUDIT_SHA512_LEN);
    if (o) {
        h->with_outcome++;
        snprintf(h->klass[h->n], 32, "%s", o->result_class);
        if (o->response_sha512)
            memcpy(h->resp[h->n], o->response_sha512, ADP_AUDIT_SHA512_LEN);
    }
    h->n++;
    return 0;
}

static struct hits search(struct adp_audit *a,
                          const struct adp_audit_filter *flt)
{
    struct hits h;
    struct xr_error err;

    memset(&h, 0, sizeof(h));
    XRT_ASSERT_OK(adp_audit_search(a, flt, hits_cb, &h, &err), err);
    return h;
}

/* ------------------------------------------------------------------ */

static void test_time(void **state)
{
    char buf[ADP_AUDIT_TIME_LEN + 1];
    int64_t ms, ms2;

    (void)state;
    assert_true(adp_audit_time_parse("2026-11-27", &ms));
    assert_int_equal(ms, 1795737600000LL);
    assert_true(adp_audit_time_parse("2026-11-27T10:00:00.5Z", &ms));
    assert_true(adp_audit_time_parse("2026-11-27T12:00:00.500+02:00", &ms2));
    assert_int_equal(ms, ms2);
    assert_true(adp_audit_time_format(ms, buf, sizeof(buf)));
    assert_string_equal(buf, "2026-11-27T10:00:00.500Z");
    assert_true(adp_audit_time_parse("2024-02-29T23:59Z", &ms));
    assert_false(adp_audit_time_parse("2026-02-29", &ms));
    assert_false(adp_audit_time_parse("2026-11-27T25:00:00Z", &ms));
    assert_false(adp_audit_time_parse("2026-11-27 10:00:00Z", &ms));
    assert_false(adp_audit_time_parse("2026-11-27T10:00:00", &ms));
    assert_false(adp_audit_time_parse("1969-12-31", &ms));
    assert_false(adp_audit_time_parse("2026-11-27T10:00:00.Z", &ms));
    assert_false(adp_audit_time_format(-1, buf, sizeof(buf)));
}

static void test_write_read(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = open_rw(f);
    struct adp_audit_filter flt = {.message_id = "msg-7"};
    uint8_t want[ADP_AUDIT_SHA512_LEN];
    const char *req = "<request n='7'/>", *resp = "<response n='7'/>";
    struct stat sb;
    struct hits h;

    query(a, 7, 0, HETU_A, "alice", "cli:uid=1000(t)");
    h = search(a, &flt);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.with_outcome, 1);
    assert_string_equal(h.subject[0], HETU_A);
    assert_string_equal(h.klass[0], "ok");
    /* The stored digests are SHA-512 of the exact bytes. */
    assert_non_null(
        EVP_Digest(req, strlen(req), want, NULL, EVP_sha512(), NULL));
    assert_memory_equal(h.req[0], want, sizeof(want));
    assert_non_null(
        EVP_Digest(resp, strlen(resp), want, NULL, EVP_sha512(), NULL));
    assert_memory_equal(h.resp[0], want, sizeof(want));
    adp_audit_close(a);
    /* Mode 0600 and WAL. */
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM pragma_journal_mode"
                                      " WHERE journal_mode = 'wal'"),
                     1);
    assert_intact(f);
}

/* A digest the caller already computed is stored as given. */
static void test_precomputed_digest(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = open_rw(f);
    struct adp_audit_filter flt = {.message_id = "pre-1"};
    struct adp_audit_intent in = {0};
    struct adp_audit_outcome o = {0};
    uint8_t d1[ADP_AUDIT_SHA512_LEN], d2[ADP_AUDIT_SHA512_LEN];
    struct xr_error err;
    uint64_t ticket;
    struct hits h;

    memset(d1, 0xa5, sizeof(d1));
    memset(d2, 0x5a, sizeof(d2));
    in.caller = "api:x";
    in.end_user = "alice";
    in.service = SERVICE;
    in.subject = HETU_B;
    in.message_id = "pre-1";
    in.request_sha512 = d1;
    XRT_ASSERT_OK(adp_audit_intent(a, &in, &ticket, &err), err);
    o.message_id = "pre-1";
    o.result_class = "ok";
    o.response_sha512 = d2;
    XRT_ASSERT_OK(adp_audit_outcome(a, &o, &ticket, &err), err);
    commit(a);
    h = search(a, &flt);
    assert_int_equal(h.n, 1);
    assert_memory_equal(h.req[0], d1, sizeof(d1));
    assert_memory_equal(h.resp[0], d2, sizeof(d2));
    adp_audit_close(a);
    assert_intact(f);
}

static void test_existing_file_mode_tightened(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a;
    struct stat sb;
    int fd = open(f->path, O_CREAT | O_WRONLY, 0644);

    assert_true(fd >= 0);
    fchmod(fd, 0644);
    close(fd);
    a = open_rw(f);
    adp_audit_close(a);
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

/* Every outcome shape is stored completely. */
static void test_outcome_complete(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = open_rw(f);
    struct {
        const char *klass, *rc, *fault, *origin;
        bool response;
    } cases[] = {
        {"ok", "0000", NULL, NULL, true},
        {"not_found", "0001", NULL, NULL, true},
        {"xroad_fault", NULL, "Server.ServerProxy.ServiceFailed", "server",
         true},
        {"client_fault", NULL, "Client.InvalidRequest", "client", true},
        {"transport_error", NULL, NULL, NULL, false},
        {"integrity_error", "0016", NULL, NULL, true},
    };
    struct xr_error err;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    uint64_t ticket;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct adp_audit_outcome o = {0};
        char msg[32];
        intent(a, (int)i, 0, HETU_A, "alice", "api:cn=hr-system");
        commit(a);
        snprintf(msg, sizeof(msg), "msg-%d", (int)i);
        o.message_id = msg;
        o.result_class = cases[i].klass;
        o.return_code = cases[i].rc;
        o.fault_code = cases[i].fault;
        o.fault_origin = cases[i].origin;
        o.duration_ms = (int64_t)(100 + i);
        o.response = cases[i].response ? (const uint8_t *)"<x/>" : NULL;
        o.response_len = cases[i].response ? 4 : 0;
        XRT_ASSERT_OK(adp_audit_outcome(a, &o, &ticket, &err), err);
        commit(a);
        assert_int_equal(adp_audit_durable(a), ticket);
    }
    adp_audit_close(a);

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(
            db,
            "SELECT i.time, i.caller, i.end_user, i.purpose, i.service,"
            " i.product, i.subject, i.message_id, length(i.request_sha512),"
            " o.result_class, o.return_code, o.fault_code, o.fault_origin,"
            " o.duration_ms, length(o.response_sha512), o.ref_seq = i.seq,"
            " o.time"
            " FROM records i JOIN records o ON o.ref_seq = i.seq"
            " WHERE i.kind = 'intent' ORDER BY i.seq",
            -1, &st, NULL),
        SQLITE_OK);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char msg[32];
        int64_t ms;
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        snprintf(msg, sizeof(msg), "msg-%d", (int)i);
        assert_true(adp_audit_time_parse(
            (const char *)sqlite3_column_text(st, 0), &ms));
        assert_int_equal(strlen((const char *)sqlite3_column_text(st, 0)),
                         ADP_AUDIT_TIME_LEN);
        assert_string_equal(sqlite3_column_text(st, 1), "api:cn=hr-system");
        assert_string_equal(sqlite3_column_text(st, 2), "alice");
        assert_string_equal(sqlite3_column_text(st, 3), "asiakkuuden hoito");
        assert_string_equal(sqlite3_column_text(st, 4), SERVICE);
        assert_string_equal(sqlite3_column_text(st, 5), "PERUSSANOMA 3");
        assert_string_equal(sqlite3_column_text(st, 6), HETU_A);
        assert_string_equal(sqlite3_column_text(st, 7), msg);
        assert_int_equal(sqlite3_column_int(st, 8), 64);
        assert_string_equal(sqlite3_column_text(st, 9), cases[i].klass);
        if (cases[i].rc)
            assert_string_equal(sqlite3_column_text(st, 10), cases[i].rc);
        else
            assert_int_equal(sqlite3_column_type(st, 10), SQLITE_NULL);
        if (cases[i].fault) {
            assert_string_equal(sqlite3_column_text(st, 11), cases[i].fault);
            assert_string_equal(sqlite3_column_text(st, 12), cases[i].origin);
        } else {
            assert_int_equal(sqlite3_column_type(st, 11), SQLITE_NULL);
        }
        assert_int_equal(sqlite3_column_int64(st, 13), 100 + (int64_t)i);
        if (cases[i].response)
            assert_int_equal(sqlite3_column_int(st, 14), 64);
        else
            assert_int_equal(sqlite3_column_type(st, 14), SQLITE_NULL);
        assert_int_equal(sqlite3_column_int(st, 15), 1);
        assert_int_equal(strlen((const char *)sqlite3_column_text(st, 16)),
                         ADP_AUDIT_TIME_LEN);
    }
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_intact(f);
}

static void test_validation(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = open_rw(f);
    struct adp_audit_intent in = {0};
    struct adp_audit_outcome o = {0};
    struct xr_error err;
    char long_subject[ADP_AUDIT_TEXT_MAX + 20];
    uint64_t ticket = 99;

    in.caller = "cli";
    in.end_user = "alice";
    in.service = SERVICE;
    in.message_id = "m1";
    in.subject = HETU_A;
    in.request = (const uint8_t *)"x";
    in.request_len = 1;

    in.caller = NULL;
    XRT_ASSERT_REASON_FIELD(adp_audit_intent(a, &in, &ticket, &err), err,
                            "invalid_field", "caller");
    assert_int_equal(ticket, 0);
    in.caller = "";
    XRT_ASSERT_REASON_FIELD(adp_audit_intent(a, &in, &ticket, &err), err,
                            "invalid_field", "caller");
    in.caller = "cli";
    in.purpose = "line\nbreak";
    XRT_ASSERT_REASON_FIELD(adp_audit_intent(a, &in, &ticket, &err), err,
                            "invalid_field", "purpose");
    in.purpose = "bad \xc3\x28 utf8";
    XRT_ASSERT_REASON_FIELD(adp_audit_intent(a, &in, &ticket, &err), err,
                            "invalid_field", "purpose");
    in.purpose = "käyttötarkoitus ✓";
    /* A hetu in a rejected field never appears in the message. */
    for (size_t i = 0; i + 1 < sizeof(long_subject); i++)
        long_subject[i] = HETU_A[i % 11];
    long_subject[sizeof(long_subject) - 1] = '\0';
    in.subject = long_subject;
    XRT_ASSERT_REASON_FIELD(adp_audit_intent(a, &in, &ticket, &err), err,
                            "too_large", "subject");
    assert_null(strstr(err.msg, "010101"));
    in.subject = "010101-123N\t";
    XRT_ASSERT_REASON_FIELD(adp_audit_intent(a, &in, &ticket, &err), err,
                            "invalid_field", "subject");
    assert_null(strstr(err.msg, "010101"));
    in.subject = HETU_A;
    in.request = NULL;
    XRT_ASSERT_REASON_FIELD(adp_audit_intent(a, &in, &ticket, &err), err,
                            "invalid_field", "request");
    in.request = (const uint8_t *)"x";
    in.time_ms = -5;
    XRT_ASSERT_REASON_FIELD(adp_audit_intent(a, &in, &ticket, &err), err,
                            "invalid_field", "time_ms");
    in.time_ms = 0;
    assert_int_equal(adp_audit_pending(a), 0);
    XRT_ASSERT_OK(adp_audit_intent(a, &in, &ticket, &err), err);
    assert_int_equal(ticket, 1);

    o.message_id = "m1";
    o.result_class = "Not-Found";
    XRT_ASSERT_REASON_FIELD(adp_audit_outcome(a, &o, &ticket, &err), err,
                            "invalid_field", "result_class");
    o.result_class = "not_found";
    o.duration_ms = -1;
    XRT_ASSERT_REASON_FIELD(adp_audit_outcome(a, &o, &ticket, &err), err,
                            "invalid_field", "duration_ms");
    o.duration_ms = 0;
    o.response_len = 3;
    XRT_ASSERT_REASON_FIELD(adp_audit_outcome(a, &o, &ticket, &err), err,
                            "invalid_field", "response");
    o.response_len = 0;
    o.message_id = NULL;
    XRT_ASSERT_REASON_FIELD(adp_audit_outcome(a, &o, &ticket, &err), err,
                            "invalid_field", "message_id");
    assert_int_equal(adp_audit_pending(a), 1);
    /* Outcome in the same batch as its intent still finds it. */
    o.message_id = "m1";
    XRT_ASSERT_OK(adp_audit_outcome(a, &o, &ticket, &err), err);
    assert_int_equal(ticket, 2);
    commit(a);
    assert_int_equal(adp_audit_durable(a), 2);
    adp_audit_close(a);
    assert_int_equal(sql_int(f->path, "SELECT ref_seq FROM records"
                                      " WHERE kind = 'outcome'"),
                     1);
}

static void test_read_only_and_back_pressure(void **state)
{
    struct fx *f = *state;
    struct adp_audit_options ro = {.read_only = true},
                             small = {.max_pending = 3};
    struct adp_audit *a = NULL;
    struct adp_audit_intent in = {0};
    struct xr_error err;
    uint64_t ticket;
    char other[400];

    /* Read-only never creates a file. */
    snprintf(other, sizeof(other), "%s/other.db", f->dir);
    assert_int_not_equal(adp_audit_open(other, &ro, &a, &err), XR_OK);
    assert_null(a);
    assert_int_equal(access(other, F_OK), -1);

    fill(f, 1);
    XRT_ASSERT_OK(adp_audit_open(f->path, &ro, &a, &err), err);
    in.caller = "c";
    in.end_user = "u";
    in.service = "s";
    in.message_id = "m";
    in.request = (const uint8_t *)"x";
    in.request_len = 1;
    XRT_ASSERT_REASON(adp_audit_intent(a, &in, &ticket, &err), err,
                      "read_only");
    adp_audit_close(a);

    XRT_ASSERT_OK(adp_audit_open(f->path, &small, &a, &err), err);
    for (int i = 0; i < 3; i++)
        XRT_ASSERT_OK(adp_audit_intent(a, &in, &ticket, &err), err);
    XRT_ASSERT_REASON(adp_audit_intent(a, &in, &ticket, &err), err,
                      "too_large");
    commit(a);
    XRT_ASSERT_OK(adp_audit_intent(a, &in, &ticket, &err), err);
    commit(a);
    adp_audit_close(a);

    /* A database that is not an audit store is refused. */
    sql(other, "CREATE TABLE t(x)");
    XRT_ASSERT_REASON(adp_audit_open(other, NULL, &a, &err), err,
                      "audit_schema");
}

/* Group commit: many appends, one transaction, durable watermark. */
static void test_group_commit(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = open_rw(f);
    uint64_t last = 0;

    for (int i = 0; i < 50; i++)
        last = intent(a, i, 0, HETU_A, "alice", "c");
    assert_int_equal(adp_audit_pending(a), 50);
    assert_int_equal(adp_audit_durable(a), 0);
    commit(a);
    assert_int_equal(adp_audit_durable(a), last);
    for (int i = 0; i < 50; i++)
        last = outcome(a, i, 0, "ok");
    commit(a);
    assert_int_equal(adp_audit_durable(a), last);
    XRT_ASSERT_OK(adp_audit_commit(a, NULL), (struct xr_error){0});
    adp_audit_close(a);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM records"), 100);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM records o"
                                      " JOIN records i ON i.seq = o.ref_seq"
                                      " AND i.message_id = o.message_id"
                                      " WHERE o.kind = 'outcome'"),
                     50);
    assert_intact(f);
}

/* A failed commit keeps the batch; the retry writes it. */
static void test_commit_failure_keeps_batch(void **state)
{
    struct fx *f = *state;
    struct adp_audit_options o = {.busy_timeout_ms = 50};
    struct adp_audit *a = NULL;
    struct xr_error err;
    sqlite3 *locker = NULL;
    uint64_t ticket;

    fill(f, 1);
    XRT_ASSERT_OK(adp_audit_open(f->path, &o, &a, &err), err);
    ticket = intent(a, 100, 0, HETU_A, "alice", "c");
    assert_int_equal(sqlite3_open(f->path, &locker), SQLITE_OK);
    assert_int_equal(sqlite3_exec(locker, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);
    XRT_ASSERT_REASON(adp_audit_commit(a, &err), err, "io_error");
    assert_int_equal(adp_audit_pending(a), 1);
    assert_true(adp_audit_durable(a) < ticket);
    assert_int_equal(sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(locker);
    commit(a);
    assert_int_equal(adp_audit_durable(a), ticket);
    adp_audit_close(a);
    assert_intact(f);
}

/* Two handles (two loops or processes) append to one chain. */
static void test_two_writers(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = open_rw(f), *b = open_rw(f);
    struct adp_audit_filter all = {0};
    struct hits h;

    intent(a, 1, 0, HETU_A, "alice", "loop-a");
    intent(b, 2, 0, HETU_B, "bob", "loop-b");
    commit(a);
    commit(b);
    outcome(b, 2, 0, "ok");
    outcome(a, 1, 0, "not_found");
    commit(b);
    commit(a);
    h = search(a, &all);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.with_outcome, 2);
    assert_string_equal(h.klass[0], "not_found");
    assert_string_equal(h.klass[1], "ok");
    adp_audit_close(a);
    adp_audit_close(b);
    assert_intact(f);
}

static void test_verify_ok_and_anchor(void **state)
{
    struct fx *f = *state;
    struct adp_audit_verify_report rep, rep2;
    struct adp_audit_anchor an;
    struct adp_audit *a;

    fill(f, 6);
    a = open_rw(f);
    intent(a, 99, 0, HETU_A, "alice", "c"); /* left without outcome */
    commit(a);
    adp_audit_close(a);
    verify(f, NULL, &rep);
    assert_true(rep.intact);
    assert_int_equal(rep.rows, 13);
    assert_int_equal(rep.intents, 7);
    assert_int_equal(rep.outcomes, 6);
    assert_int_equal(rep.base_seq, 1);
    assert_int_equal(rep.head_seq, 13);
    assert_int_equal(rep.open_intents, 1);
    assert_int_equal(rep.orphan_outcomes, 0);
    assert_int_equal(cli_verify(f), ADP_EXIT_OK);

    an.seq = rep.head_seq;
    memcpy(an.hash, rep.head_hash, sizeof(an.hash));
    verify(f, &an, &rep2);
    assert_true(rep2.intact);
    an.hash[0] ^= 1;
    verify(f, &an, &rep2);
    assert_false(rep2.intact);
    assert_string_equal(rep2.problem, "external_anchor");
    an.hash[0] ^= 1;
    an.seq = 50;
    verify(f, &an, &rep2);
    assert_false(rep2.intact);
    assert_string_equal(rep2.problem, "external_anchor");
    assert_int_equal(rep2.first_bad_seq, 50);
}

static void test_verify_empty(void **state)
{
    struct fx *f = *state;
    struct adp_audit_verify_report rep;

    adp_audit_close(open_rw(f));
    verify(f, NULL, &rep);
    assert_true(rep.intact);
    assert_int_equal(rep.rows, 0);
    assert_int_equal(rep.head_seq, 0);
}

static void test_verify_edit(void **state)
{
    struct fx *f = *state;
    const char *argv[] = {"audit", "verify", "--db", f->path, "--json", NULL};
    json_t *j;
    json_error_t jerr;

    fill(f, 5);
    /* The trigger stops accidental edits ... */
    assert_int_not_equal(sql_rc(f->path, "UPDATE records SET subject = "
                                         "'131052-308T' WHERE seq = 5"),
                         SQLITE_OK);
    assert_intact(f);
    /* ... but not someone who drops it: verify names the record. */
    sql(f->path, "DROP TRIGGER records_append_only;"
                 "UPDATE records SET subject = '131052-308T' WHERE seq = 5");
    assert_broken(f, "hash_mismatch", 5);
    assert_int_equal(cli_verify(f), ADP_EXIT_INVALID);
    assert_int_equal(run_cli(f, argv), ADP_EXIT_INVALID);
    j = json_load_file(f->out, 0, &jerr);
    assert_non_null(j);
    assert_false(json_boolean_value(json_object_get(j, "intact")));
    assert_int_equal(json_integer_value(json_object_get(j, "first_bad_seq")),
                     5);
    assert_string_equal(json_string_value(json_object_get(j, "problem")),
                        "hash_mismatch");
    json_decref(j);
}

static void test_verify_edit_outcome_and_time(void **state)
{
    struct fx *f = *state;

    fill(f, 4);
    sql(f->path, "DROP TRIGGER records_append_only;"
                 "UPDATE records SET result_class = 'not_found'"
                 " WHERE seq = 6");
    assert_broken(f, "hash_mismatch", 6);
    sql(f->path, "UPDATE records SET result_class = 'ok' WHERE seq = 6");
    assert_intact(f);
    sql(f->path, "UPDATE records SET time = '2020-01-01T00:00:00.000Z'"
                 " WHERE seq = 3");
    assert_broken(f, "hash_mismatch", 3);
}

static void test_verify_delete_middle(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = NULL;
    struct xr_error err;

    fill(f, 5);
    sql(f->path, "DELETE FROM records WHERE seq = 5");
    assert_broken(f, "missing", 5);
    assert_int_equal(cli_verify(f), ADP_EXIT_INVALID);
    /* The writer still opens (head intact) but verify keeps failing. */
    XRT_ASSERT_OK(adp_audit_open(f->path, NULL, &a, &err), err);
    adp_audit_close(a);
}

static void test_verify_delete_last(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = NULL;
    struct xr_error err;

    fill(f, 5);
    sql(f->path, "DELETE FROM records WHERE seq = 10");
    assert_broken(f, "head_mismatch", 10);
    /* A writer refuses to extend a chain whose head is gone. */
    XRT_ASSERT_REASON(adp_audit_open(f->path, NULL, &a, &err), err,
                      "audit_head_mismatch");
    assert_null(a);
}

static void test_verify_chain_state_gone(void **state)
{
    struct fx *f = *state;

    fill(f, 2);
    /* The genesis hash binds record 1 to the chain id. */
    sql(f->path, "UPDATE chain_state SET chain_id = randomblob(16)");
    assert_broken(f, "anchor_mismatch", 1);
    assert_int_not_equal(sql_rc(f->path, "DELETE FROM chain_state"), SQLITE_OK);
    sql(f->path, "DROP TRIGGER chain_state_keep; DELETE FROM chain_state");
    assert_int_equal(cli_verify(f), ADP_EXIT_INVALID);
}

static void test_verify_delete_prefix(void **state)
{
    struct fx *f = *state;

    fill(f, 5);
    sql(f->path, "DELETE FROM records WHERE seq <= 2");
    assert_broken(f, "missing", 1);
    /* Moving the chain base along is caught: no prune record says so. */
    sql(f->path, "UPDATE chain_state SET base_seq = 3, base_prev_hash ="
                 " (SELECT prev_hash FROM records WHERE seq = 3)");
    assert_broken(f, "anchor_mismatch", 1);
}

static void test_verify_forged_rows(void **state)
{
    struct fx *f = *state;
    char other[400], q[800];

    fill(f, 5);
    /* A self-consistent row from another store replaces record 5. */
    snprintf(other, sizeof(other), "%s/other.db", f->dir);
    {
        struct adp_audit *b = NULL;
        struct xr_error err;
        XRT_ASSERT_OK(adp_audit_open(other, NULL, &b, &err), err);
        for (int i = 1; i <= 5; i++)
            query(b, i, 0, HETU_B, "mallory", "cli:uid=1000(t)");
        adp_audit_close(b);
    }
    snprintf(q, sizeof(q),
             "ATTACH '%s' AS b;"
             "DELETE FROM records WHERE seq = 5;"
             "INSERT INTO records SELECT * FROM b.records WHERE seq = 5;",
             other);
    sql(f->path, q);
    assert_broken(f, "chain_break", 5);
    assert_int_equal(cli_verify(f), ADP_EXIT_INVALID);
}

static void test_verify_appended_row(void **state)
{
    struct fx *f = *state;

    fill(f, 3);
    /* An extra row after the head, chained to the last row. */
    sql(f->path, "INSERT INTO records (seq, kind, time, caller, end_user,"
                 " service, message_id, request_sha512, prev_hash, row_hash)"
                 " SELECT 7, 'intent', '2026-01-01T00:00:00.000Z', 'c', 'u',"
                 " 's', 'm', zeroblob(64), row_hash, zeroblob(32)"
                 " FROM records WHERE seq = 6");
    assert_broken(f, "unexpected", 7);
}

/* The schema refuses a row kind it does not know (the CHECK on kind). */
static void test_schema_kind_check(void **state)
{
    struct fx *f = *state;
    static const char row[] =
        "INSERT INTO records (seq, kind, time, caller, end_user, service,"
        " message_id, request_sha512, prev_hash, row_hash) VALUES"
        " (100, '%s', '2026-01-01T00:00:00.000Z', 'c', 'u', 's', 'm',"
        " zeroblob(64), zeroblob(32), zeroblob(32))";
    char q[512];

    fill(f, 1);
    snprintf(q, sizeof(q), row, "bogus");
    assert_int_equal(sql_rc(f->path, q), SQLITE_CONSTRAINT);
    snprintf(q, sizeof(q), row, "Intent");
    assert_int_equal(sql_rc(f->path, q), SQLITE_CONSTRAINT);
    snprintf(q, sizeof(q), row, "outcome");
    assert_int_equal(sql_rc(f->path, q), SQLITE_OK);
}

/*
 * An independent implementation of the row hash as docs/audit.md §3
 * specifies it, used to play a knowledgeable attacker.
 */
static const char *const hash_cols =
    "seq, kind, ref_seq, time, caller, end_user, purpose, service, product,"
    " subject, message_id, request_sha512, result_class, return_code,"
    " fault_code, fault_origin, duration_ms, response_sha512, prune_seq,"
    " prune_hash, prune_cutoff, prune_count, prev_hash";

static void doc_row_hash(sqlite3_stmt *st, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    static const char domain[] = "vayla-audit-row-v1";
    unsigned int n = 0;

    assert_non_null(md);
    assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
    EVP_DigestUpdate(md, domain, sizeof(domain)); /* includes the NUL */
    for (int c = 0; c < 23; c++) {
        uint8_t hdr[9];
        int type = sqlite3_column_type(st, c);
        if (type == SQLITE_NULL) {
            hdr[0] = 0;
            EVP_DigestUpdate(md, hdr, 1);
        } else if (type == SQLITE_INTEGER) {
            uint64_t v = (uint64_t)sqlite3_column_int64(st, c);
            hdr[0] = 1;
            for (int i = 0; i < 8; i++)
                hdr[1 + i] = (uint8_t)(v >> (56 - 8 * i));
            EVP_DigestUpdate(md, hdr, 9);
        } else {
            const void *p = type == SQLITE_TEXT
                                ? (const void *)sqlite3_column_text(st, c)
                                : sqlite3_column_blob(st, c);
            uint32_t len = (uint32_t)sqlite3_column_bytes(st, c);
            hdr[0] = type == SQLITE_TEXT ? 2 : 3;
            hdr[1] = (uint8_t)(len >> 24);
            hdr[2] = (uint8_t)(len >> 16);
            hdr[3] = (uint8_t)(len >> 8);
            hdr[4] = (uint8_t)len;
            EVP_DigestUpdate(md, hdr, 5);
            EVP_DigestUpdate(md, p, len);
        }
    }
    assert_int_equal(EVP_DigestFinal_ex(md, out, &n), 1);
    assert_int_equal(n, 32);
    EVP_MD_CTX_free(md);
}

/*
 * Rewrite rows from..head so that each one chains to its predecessor with
 * a correct hash, optionally fixing chain_state's head as well.
 */
static void rechain(const char *path, int64_t from, int64_t to, bool fix_head)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *rd = NULL, *up = NULL, *pv = NULL;
    uint8_t prev[32], h[32];
    char q[600];

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_exec(db, "DROP TRIGGER IF EXISTS records_append_only", NULL, NULL,
                 NULL);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT row_hash FROM records"
                                        " WHERE seq = ?1",
                                        -1, &pv, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(pv, 1, from - 1);
    assert_int_equal(sqlite3_step(pv), SQLITE_ROW);
    memcpy(prev, sqlite3_column_blob(pv, 0), 32);
    sqlite3_finalize(pv);
    snprintf(q, sizeof(q), "SELECT %s FROM records WHERE seq = ?1", hash_cols);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &rd, NULL), SQLITE_OK);
    for (int64_t seq = from; seq <= to; seq++) {
        /* prev_hash first, so that the new hash covers it. */
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "UPDATE records SET prev_hash ="
                                            " ?2 WHERE seq = ?1",
                                            -1, &up, NULL),
                         SQLITE_OK);
        sqlite3_bind_int64(up, 1, seq);
        sqlite3_bind_blob(up, 2, prev, 32, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(up), SQLITE_DONE);
        sqlite3_finalize(up);
        sqlite3_bind_int64(rd, 1, seq);
        assert_int_equal(sqlite3_step(rd), SQLITE_ROW);
        doc_row_hash(rd, h);
        sqlite3_reset(rd);
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "UPDATE records SET row_hash ="
                                            " ?2 WHERE seq = ?1",
                                            -1, &up, NULL),
                         SQLITE_OK);
        sqlite3_bind_int64(up, 1, seq);
        sqlite3_bind_blob(up, 2, h, 32, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(up), SQLITE_DONE);
        sqlite3_finalize(up);
        memcpy(prev, h, 32);
    }
    sqlite3_finalize(rd);
    if (fix_head) {
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "UPDATE chain_state SET"
                                            " head_hash = ?1",
                                            -1, &up, NULL),
                         SQLITE_OK);
        sqlite3_bind_blob(up, 1, prev, 32, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(up), SQLITE_DONE);
        sqlite3_finalize(up);
    }
    sqlite3_close(db);
}

/*
 * Someone who knows the format: a forged record 5 with a correct hash
 * chained to record 4 is named as the bad record; rewriting everything up
 * to the head (and chain_state) passes verify, and only an external anchor
 * catches it (the documented limit).
 */
static void test_verify_knowledgeable_forgery(void **state)
{
    struct fx *f = *state;
    struct adp_audit_verify_report rep;
    struct adp_audit_anchor an;

    fill(f, 5);
    verify(f, NULL, &rep);
    assert_true(rep.intact);
    an.seq = rep.head_seq;
    memcpy(an.hash, rep.head_hash, sizeof(an.hash));

    /* The independent implementation agrees with the store. */
    rechain(f->path, 2, 10, false);
    assert_intact(f);

    sql(f->path, "UPDATE records SET subject = '131052-308T'"
                 " WHERE seq = 5");
    rechain(f->path, 5, 5, false);
    assert_broken(f, "chain_break", 5);

    rechain(f->path, 6, 10, false);
    assert_broken(f, "head_mismatch", 10);

    rechain(f->path, 6, 10, true);
    assert_intact(f); /* consistent rewrite: the store alone cannot tell */
    verify(f, &an, &rep);
    assert_false(rep.intact);
    assert_string_equal(rep.problem, "external_anchor");
    assert_int_equal(rep.first_bad_seq, 10);
}

/*
 * Many anchors (the daemon's checkpoints), and verification from the last
 * one: a consistent rewrite of the whole chain, a truncated tail with its
 * chain_state rewritten, and a deleted row are caught from an anchor the
 * store does not hold; anchors older than the retained chain only count.
 */
static struct adp_audit *open_ro(const struct fx *f)
{
    struct adp_audit_options o = {.read_only = true};
    struct adp_audit *a = NULL;
    struct xr_error err;

    XRT_ASSERT_OK(adp_audit_open(f->path, &o, &a, &err), err);
    return a;
}

static void test_verify_anchors_and_from(void **state)
{
    struct fx *f = *state;
    struct adp_audit_verify_report rep;
    struct adp_audit_anchor an[3];
    struct adp_audit_head head;
    struct adp_audit *a;
    struct xr_error err;

    fill(f, 3); /* rows 1..6 */
    a = open_rw(f);
    XRT_ASSERT_OK(adp_audit_head(a, &head, &err), err);
    assert_int_equal(head.seq, 6);
    assert_int_equal(head.base_seq, 1);
    an[0].seq = 6;
    memcpy(an[0].hash, head.hash, sizeof(head.hash));
    adp_audit_close(a);
    fill(f, 3); /* rows 7..12 */
    a = open_rw(f);
    XRT_ASSERT_OK(adp_audit_head(a, &head, &err), err);
    an[1].seq = head.seq;
    memcpy(an[1].hash, head.hash, sizeof(head.hash));
    /* Anchors in any order, all met. */
    an[2] = an[0];
    XRT_ASSERT_OK(adp_audit_verify(a, an, 3, &rep, &err), err);
    assert_true(rep.intact);
    assert_int_equal(rep.anchors, 3);
    /* From the first one: the rows after it. */
    XRT_ASSERT_OK(adp_audit_verify_from(a, &an[0], &rep, &err), err);
    assert_true(rep.intact);
    assert_int_equal(rep.rows, 7);
    adp_audit_close(a);

    /* A row deleted after the anchor. */
    sql(f->path, "DELETE FROM records WHERE seq = 9");
    a = open_ro(f);
    XRT_ASSERT_OK(adp_audit_verify_from(a, &an[0], &rep, &err), err);
    assert_false(rep.intact);
    assert_string_equal(rep.problem, "missing");
    assert_int_equal(rep.first_bad_seq, 9);
    adp_audit_close(a);

    /* The tail cut back to row 8 and chain_state rewritten to match:
     * intact for the store alone, not for the anchor at 12. */
    sql(f->path, "DELETE FROM records WHERE seq > 8");
    sql(f->path, "UPDATE chain_state SET head_seq = 8, head_hash ="
                 " (SELECT row_hash FROM records WHERE seq = 8)");
    assert_intact(f);
    a = open_ro(f);
    XRT_ASSERT_OK(adp_audit_verify(a, an, 2, &rep, &err), err);
    assert_false(rep.intact);
    assert_string_equal(rep.problem, "external_anchor");
    assert_int_equal(rep.first_bad_seq, 12);
    XRT_ASSERT_OK(adp_audit_verify_from(a, &an[1], &rep, &err), err);
    assert_false(rep.intact);
    assert_string_equal(rep.problem, "external_anchor");
    /* The anchor at 6 still holds: the rows up to 8 are intact. */
    XRT_ASSERT_OK(adp_audit_verify_from(a, &an[0], &rep, &err), err);
    assert_true(rep.intact);
    adp_audit_close(a);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    struct stat sb;
    uint8_t *buf;
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &sb), 0);
    buf = malloc((size_t)sb.st_size);
    assert_non_null(buf);
    assert_int_equal(read(fd, buf, (size_t)sb.st_size), sb.st_size);
    close(fd);
    *len = (size_t)sb.st_size;
    return buf;
}

static void spill(const char *path, const uint8_t *buf, size_t len)
{
    char p[400];
    int fd;

    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    close(fd);
}

/*
 * Every single-field change anywhere in the chain (each column of each
 * row, and the chain state) is caught.
 */
static void test_verify_every_field(void **state)
{
    struct fx *f = *state;
    static const char *const cols[] = {
        "seq",          "kind",        "ref_seq",
        "time",         "caller",      "end_user",
        "purpose",      "service",     "product",
        "subject",      "message_id",  "request_sha512",
        "result_class", "return_code", "fault_code",
        "fault_origin", "duration_ms", "response_sha512",
        "prune_seq",    "prune_hash",  "prune_cutoff",
        "prune_count",  "prev_hash",   "row_hash"};
    /* (chain_id only anchors record 1: test_verify_chain_state_gone.) */
    static const char *const state_cols[] = {"base_seq", "base_prev_hash",
                                             "head_seq", "head_hash"};
    struct adp_audit *a;
    struct adp_audit_prune_result res;
    struct xr_error err;
    uint8_t *pristine;
    size_t len;
    char q[600];
    int cases = 0;
    int64_t head;

    /* A chain with all three kinds of rows, every column used somewhere. */
    a = open_rw(f);
    for (int i = 0; i < 3; i++)
        query(a, i, adp_audit_now_ms() - 3000 * DAY_MS + i, HETU_A, "alice",
              "c");
    XRT_ASSERT_OK(adp_audit_prune(a, adp_audit_now_ms() - 1826 * DAY_MS, "test",
                                  2, &res, &err),
                  err);
    for (int i = 3; i < 5; i++)
        query(a, i, 0, HETU_B, "bob", "c");
    {
        struct adp_audit_outcome o = {0};
        uint64_t t;
        intent(a, 9, 0, HETU_A, "alice", "c");
        o.message_id = "msg-9";
        o.result_class = "xroad_fault";
        o.fault_code = "Server.ServerProxy.ServiceFailed";
        o.fault_origin = "server";
        XRT_ASSERT_OK(adp_audit_outcome(a, &o, &t, &err), err);
        commit(a);
    }
    adp_audit_close(a);
    assert_intact(f);
    pristine = slurp(f->path, &len);

    assert_int_equal(sql_int(f->path, "SELECT min(seq) FROM records"), 3);
    head = sql_int(f->path, "SELECT max(seq) FROM records");
    assert_int_equal(head, 13);
    for (int64_t seq = 3; seq <= head; seq++) {
        for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
            spill(f->path, pristine, len);
            /* A different value of the same type (or one where NULL). */
            snprintf(q, sizeof(q),
                     "DROP TRIGGER records_append_only;"
                     "UPDATE records SET %s = CASE typeof(%s)"
                     " WHEN 'integer' THEN %s + 1000"
                     " WHEN 'text' THEN %s || 'x'"
                     " WHEN 'blob' THEN randomblob(length(%s))"
                     " ELSE CASE WHEN '%s' IN ('ref_seq', 'duration_ms',"
                     " 'prune_seq', 'prune_count') THEN 7"
                     " WHEN '%s' LIKE '%%sha512' THEN randomblob(64)"
                     " WHEN '%s' = 'prune_hash' THEN randomblob(32)"
                     " ELSE 'x' END END WHERE seq = %lld",
                     cols[c], cols[c], cols[c], cols[c], cols[c], cols[c],
                     cols[c], cols[c], (long long)seq);
            if (!strcmp(cols[c], "kind"))
                snprintf(q, sizeof(q),
                         "DROP TRIGGER records_append_only;"
                         "UPDATE records SET kind = CASE kind"
                         " WHEN 'intent' THEN 'outcome' ELSE 'intent' END"
                         " WHERE seq = %lld",
                         (long long)seq);
            /* The schema's CHECK constraints refuse some changes: fine. */
            if (sql_rc(f->path, q) == SQLITE_OK) {
                struct adp_audit_verify_report rep;
                verify(f, NULL, &rep);
                if (rep.intact)
                    fail_msg("change of %s in record %lld not detected",
                             cols[c], (long long)seq);
                cases++;
            }
        }
        /* Deleting the row. */
        spill(f->path, pristine, len);
        snprintf(q, sizeof(q), "DELETE FROM records WHERE seq = %lld",
                 (long long)seq);
        sql(f->path, q);
        {
            struct adp_audit_verify_report rep;
            verify(f, NULL, &rep);
            if (rep.intact)
                fail_msg("deletion of record %lld not detected",
                         (long long)seq);
        }
    }
    for (size_t c = 0; c < sizeof(state_cols) / sizeof(state_cols[0]); c++) {
        struct adp_audit_verify_report rep;
        spill(f->path, pristine, len);
        snprintf(q, sizeof(q),
                 "UPDATE chain_state SET %s = CASE typeof(%s)"
                 " WHEN 'integer' THEN %s + 1"
                 " ELSE randomblob(length(%s)) END",
                 state_cols[c], state_cols[c], state_cols[c], state_cols[c]);
        sql(f->path, q);
        verify(f, NULL, &rep);
        if (rep.intact)
            fail_msg("change of chain_state.%s not detected", state_cols[c]);
    }
    assert_true(cases > 250);
    free(pristine);
}

static void test_prune(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = open_rw(f);
    struct adp_audit_prune_result res;
    struct adp_audit_verify_report rep;
    struct adp_audit_filter all = {0};
    struct xr_error err;
    int64_t now = adp_audit_now_ms(), old = now - 3000 * DAY_MS;
    int64_t cutoff = now - 1826 * DAY_MS;
    struct hits h;

    for (int i = 0; i < 10; i++)
        query(a, i, old + i * 1000, HETU_A, "alice", "c");
    for (int i = 10; i < 15; i++)
        query(a, i, 0, HETU_B, "bob", "c");
    XRT_ASSERT_OK(adp_audit_prune(a, cutoff, "test", 0, &res, &err), err);
    assert_int_equal(res.deleted, 20);
    assert_int_equal(res.through_seq, 20);
    assert_int_equal(res.prune_seq, 31);
    assert_false(res.more);
    verify(f, NULL, &rep);
    assert_true(rep.intact);
    assert_int_equal(rep.base_seq, 21);
    assert_int_equal(rep.prunes, 1);
    assert_int_equal(rep.rows, 11);
    h = search(a, &all);
    assert_int_equal(h.n, 5);

    /* Nothing more to delete: no row written. */
    XRT_ASSERT_OK(adp_audit_prune(a, cutoff, "test", 0, &res, &err), err);
    assert_int_equal(res.deleted, 0);
    assert_int_equal(res.prune_seq, 0);
    /* An old-dated row after newer ones is never deleted (prefix only). */
    query(a, 20, old, HETU_A, "alice", "c");
    XRT_ASSERT_OK(adp_audit_prune(a, cutoff, "test", 0, &res, &err), err);
    assert_int_equal(res.deleted, 0);
    /* The chain keeps growing and verifying after the prune. */
    query(a, 21, 0, HETU_A, "alice", "c");
    adp_audit_close(a);
    assert_intact(f);
    assert_int_equal(cli_verify(f), ADP_EXIT_OK);

    /* Deleting the prune record, or rows after the anchor, is caught. */
    sql(f->path, "DELETE FROM records WHERE seq = 21");
    assert_broken(f, "missing", 21);
}

static void test_prune_batches_and_anchor(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = open_rw(f);
    struct adp_audit_prune_result res;
    struct adp_audit_verify_report rep;
    struct xr_error err;
    int64_t now = adp_audit_now_ms(), old = now - 4000 * DAY_MS;
    uint64_t total = 0;
    int rounds = 0;

    for (int i = 0; i < 10; i++)
        query(a, i, old + i, HETU_A, "alice", "c");
    do {
        XRT_ASSERT_OK(
            adp_audit_prune(a, now - 1826 * DAY_MS, "test", 6, &res, &err),
            err);
        total += res.deleted;
        assert_true(res.deleted <= 6);
        assert_intact(f);
    } while (res.more && ++rounds < 10);
    assert_int_equal(total, 20);
    adp_audit_close(a);
    verify(f, NULL, &rep);
    assert_true(rep.intact);
    assert_int_equal(rep.base_seq, 21);
    assert_int_equal(rep.intents, 0);
    assert_int_equal(rep.prunes, 4);

    /* Rows removed behind the anchor's back, base moved along. */
    sql(f->path, "DELETE FROM records WHERE seq = 21;"
                 "UPDATE chain_state SET base_seq = 22, base_prev_hash ="
                 " (SELECT prev_hash FROM records WHERE seq = 22)");
    assert_broken(f, "anchor_mismatch", 21);
}

/* A prune from another handle (cron) between a writer's appends. */
static void test_prune_concurrent_writer(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = open_rw(f), *b;
    struct adp_audit_prune_result res;
    struct adp_audit_filter all = {0};
    struct xr_error err;
    int64_t now = adp_audit_now_ms(), old = now - 3000 * DAY_MS;
    uint64_t t;
    struct hits h;

    for (int i = 0; i < 3; i++)
        query(a, i, old + i, HETU_A, "alice", "c");
    t = intent(a, 10, 0, HETU_B, "bob", "daemon"); /* pending */
    b = open_rw(f);
    XRT_ASSERT_OK(
        adp_audit_prune(b, now - 1826 * DAY_MS, "cron", 0, &res, &err), err);
    assert_int_equal(res.deleted, 6);
    commit(a); /* chains onto the prune record */
    assert_int_equal(adp_audit_durable(a), t);
    outcome(a, 10, 0, "ok");
    commit(a);
    h = search(b, &all);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.with_outcome, 1);
    assert_int_equal(h.seq[0], 8); /* after the prune record, seq 7 */
    adp_audit_close(a);
    adp_audit_close(b);
    assert_intact(f);
}

static void test_prune_refuses_broken_chain(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = open_rw(f);
    struct adp_audit_prune_result res;
    struct xr_error err;
    int64_t now = adp_audit_now_ms(), old = now - 3000 * DAY_MS;

    for (int i = 0; i < 4; i++)
        query(a, i, old + i, HETU_A, "alice", "c");
    query(a, 5, 0, HETU_A, "alice", "c");
    adp_audit_close(a);
    sql(f->path, "DROP TRIGGER records_append_only;"
                 "UPDATE records SET end_user = 'eve' WHERE seq = 3");
    a = open_rw(f);
    XRT_ASSERT_REASON(
        adp_audit_prune(a, now - 1826 * DAY_MS, "test", 0, &res, &err), err,
        "audit_chain_broken");
    adp_audit_close(a);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM records"), 10);
    assert_broken(f, "hash_mismatch", 3);
}

static void test_search_filters(void **state)
{
    struct fx *f = *state;
    struct adp_audit *a = open_rw(f);
    struct adp_audit_filter flt;
    int64_t t0;
    struct hits h;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    bool uses_index = false;

    assert_true(adp_audit_time_parse("2026-03-01T08:00:00Z", &t0));
    query(a, 1, t0, HETU_A, "alice", "api:hr");
    query(a, 2, t0 + 3600000, HETU_B, "bob", "api:hr");
    query(a, 3, t0 + 7200000, HETU_A, "bob", "api:payroll");
    intent(a, 4, t0 + 10800000, HETU_A, "alice", "api:payroll");
    commit(a);

    memset(&flt, 0, sizeof(flt));
    flt.subject = HETU_A;
    h = search(a, &flt);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.with_outcome, 2);
    assert_true(h.seq[0] < h.seq[1] && h.seq[1] < h.seq[2]);
    flt.end_user = "alice";
    h = search(a, &flt);
    assert_int_equal(h.n, 2);
    memset(&flt, 0, sizeof(flt));
    flt.caller = "api:payroll";
    h = search(a, &flt);
    assert_int_equal(h.n, 2);
    memset(&flt, 0, sizeof(flt));
    flt.has_from = true;
    flt.from_ms = t0 + 3600000;
    flt.has_to = true;
    flt.to_ms = t0 + 10800000; /* exclusive */
    h = search(a, &flt);
    assert_int_equal(h.n, 2);
    assert_string_equal(h.subject[0], HETU_B);
    flt.limit = 1;
    h = search(a, &flt);
    assert_int_equal(h.n, 1);
    memset(&flt, 0, sizeof(flt));
    flt.message_id = "msg-3";
    h = search(a, &flt);
    assert_int_equal(h.n, 1);
    flt.message_id = "msg-none";
    h = search(a, &flt);
    assert_int_equal(h.n, 0);
    adp_audit_close(a);

    /* The subject search is an index lookup, not a table scan. */
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "EXPLAIN QUERY PLAN SELECT i.seq FROM records i"
                           " LEFT JOIN records o ON o.ref_seq = i.seq"
                           " AND o.kind = 'outcome'"
                           " AND o.message_id = i.message_id"
                           " WHERE i.kind = 'intent' AND i.subject = ?"
                           " ORDER BY i.seq, o.seq",
                           -1, &st, NULL),
        SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        if (d && strstr(d, "records_subject"))
            uses_index = true;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(uses_index);
}

static void test_cli_search_and_export(void **state)
{
    struct fx *f = *state;
    const char *search_argv[] = {"audit",     "search", "--db",   f->path,
                                 "--subject", HETU_A,   "--json", NULL};
    const char *tsv_argv[] = {"audit",      "search", "--db", f->path,
                              "--end-user", "alice",  NULL};
    const char *export_argv[] = {"audit", "export", "--db", f->path, NULL};
    const char *bad_argv[] = {"audit",     "export", "--db", f->path,
                              "--subject", HETU_A,   NULL};
    char line[4096], prev_row[65] = "";
    struct adp_audit *a;
    FILE *in;
    int n = 0, kinds[3] = {0};
    int64_t ms;

    fill(f, 4); /* subjects A, B, A, B */
    a = open_rw(f);
    intent(a, 9, 0, HETU_A, "alice", "c"); /* no outcome */
    commit(a);
    adp_audit_close(a);

    assert_int_equal(run_cli(f, search_argv), ADP_EXIT_OK);
    in = fopen(f->out, "r");
    assert_non_null(in);
    while (fgets(line, sizeof(line), in)) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr), *o;
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "subject")),
                            HETU_A);
        assert_string_equal(json_string_value(json_object_get(j, "service")),
                            SERVICE);
        assert_int_equal(
            strlen(json_string_value(json_object_get(j, "request_sha512"))),
            128);
        assert_true(adp_audit_time_parse(
            json_string_value(json_object_get(j, "time")), &ms));
        o = json_object_get(j, "outcome");
        assert_non_null(o);
        if (n < 2) {
            assert_true(json_is_object(o));
            assert_string_equal(
                json_string_value(json_object_get(o, "result_class")), "ok");
            assert_true(json_is_integer(json_object_get(o, "duration_ms")));
        } else {
            assert_true(json_is_null(o));
        }
        json_decref(j);
        n++;
    }
    fclose(in);
    assert_int_equal(n, 3);

    /* Tab-separated: a header and one line per query. */
    assert_int_equal(run_cli(f, tsv_argv), ADP_EXIT_OK);
    in = fopen(f->out, "r");
    assert_non_null(in);
    n = 0;
    while (fgets(line, sizeof(line), in)) {
        if (n == 0)
            assert_true(!strncmp(line, "seq\ttime\tcaller", 15));
        n++;
    }
    fclose(in);
    assert_int_equal(n, 6);

    assert_int_equal(run_cli(f, export_argv), ADP_EXIT_OK);
    in = fopen(f->out, "r");
    assert_non_null(in);
    n = 0;
    while (fgets(line, sizeof(line), in)) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        const char *kind, *ph, *rh;
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "seq")), n + 1);
        kind = json_string_value(json_object_get(j, "kind"));
        assert_non_null(kind);
        ph = json_string_value(json_object_get(j, "prev_hash"));
        rh = json_string_value(json_object_get(j, "row_hash"));
        assert_int_equal(strlen(ph), 64);
        assert_int_equal(strlen(rh), 64);
        if (n > 0)
            assert_string_equal(ph, prev_row); /* the chain, visible */
        snprintf(prev_row, sizeof(prev_row), "%s", rh);
        if (!strcmp(kind, "intent")) {
            kinds[0]++;
            assert_true(json_is_string(json_object_get(j, "subject")));
            assert_true(json_is_string(json_object_get(j, "end_user")));
            assert_true(json_is_string(json_object_get(j, "purpose")));
            assert_null(json_object_get(j, "result_class"));
        } else if (!strcmp(kind, "outcome")) {
            kinds[1]++;
            assert_true(json_is_integer(json_object_get(j, "ref_seq")));
            assert_true(json_is_string(json_object_get(j, "result_class")));
            assert_null(json_object_get(j, "subject"));
        } else {
            kinds[2]++;
        }
        json_decref(j);
        n++;
    }
    fclose(in);
    assert_int_equal(n, 9);
    assert_int_equal(kinds[0], 5);
    assert_int_equal(kinds[1], 4);

    /* --subject - reads the identifier from stdin. */
    {
        const char *stdin_argv[] = {"audit",     "search", "--db", f->path,
                                    "--subject", "-",      NULL};
        char in_path[400];
        FILE *w;
        int saved, fd;
        snprintf(in_path, sizeof(in_path), "%s/stdin.txt", f->dir);
        w = fopen(in_path, "w");
        assert_non_null(w);
        fprintf(w, "%s\n", HETU_B);
        fclose(w);
        saved = dup(STDIN_FILENO);
        fd = open(in_path, O_RDONLY);
        assert_true(saved >= 0 && fd >= 0);
        dup2(fd, STDIN_FILENO);
        close(fd);
        clearerr(stdin);
        assert_int_equal(run_cli(f, stdin_argv), ADP_EXIT_OK);
        dup2(saved, STDIN_FILENO);
        close(saved);
        clearerr(stdin);
        in = fopen(f->out, "r");
        assert_non_null(in);
        n = 0;
        while (fgets(line, sizeof(line), in)) {
            if (n > 0)
                assert_non_null(strstr(line, HETU_B));
            n++;
        }
        fclose(in);
        assert_int_equal(n, 3); /* header + queries 2 and 4 */
    }

    /* Options of another subcommand are refused. */
    assert_int_equal(run_cli(f, bad_argv), ADP_EXIT_USAGE);
}

/* -c FILE: the store comes from [audit] path of a real configuration. */
static void test_cli_config(void **state)
{
    struct fx *f = *state;
    char env[400], conf[420], db[420];
    const char *dev[] = {"dev", "init", env, NULL};
    const char *verify_argv[] = {"audit", "verify", "-c", conf, NULL};
    const char *prune_argv[] = {"audit", "prune", "-c", conf, NULL};
    char *argv[4];
    struct stat sb;
    int rc;

    snprintf(env, sizeof(env), "%s/env", f->dir);
    snprintf(conf, sizeof(conf), "%s/vayla.conf", env);
    snprintf(db, sizeof(db), "%s/audit.db", env); /* path = audit.db */
    for (int i = 0; i < 3; i++)
        argv[i] = strdup(dev[i]);
    argv[3] = NULL;
    fflush(stdout);
    rc = cli_dev(3, argv);
    for (int i = 0; i < 3; i++)
        free(argv[i]);
    assert_int_equal(rc, ADP_EXIT_OK);
    /* Read-only commands never create the store. */
    assert_int_equal(run_cli(f, verify_argv), ADP_EXIT_USAGE);
    assert_int_equal(stat(db, &sb), -1);
    /* prune opens it for writing (creating it, mode 0600). */
    assert_int_equal(run_cli(f, prune_argv), ADP_EXIT_OK);
    assert_int_equal(stat(db, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(run_cli(f, verify_argv), ADP_EXIT_OK);
}

/* ------------------------------------------------------------------ */
/* Crash safety                                                          */

#define ACK_OUTCOME 0x80000000u

/*
 * Child: a load of queries in batches of 1..7; after each commit it reports
 * what became durable through the pipe. Never returns.
 */
static void crash_child(const char *path, int fd)
{
    struct adp_audit *a = NULL;
    struct xr_error err;
    uint32_t next = 1;

    if (adp_audit_open(path, NULL, &a, &err) != XR_OK)
        _exit(3);
    for (uint32_t round = 0; round < 1000000; round++) {
        uint32_t k = 1 + round % 7, first = next;
        for (uint32_t j = 0; j < k; j++) {
            struct adp_audit_intent in = {0};
            char msg[32], req[32];
            uint64_t t;
            snprintf(msg, sizeof(msg), "crash-%u", next + j);
            snprintf(req, sizeof(req), "<r n='%u'/>", next + j);
            in.caller = "load";
            in.end_user = "loader";
            in.service = SERVICE;
            in.subject = HETU_A;
            in.message_id = msg;
            in.request = (const uint8_t *)req;
            in.request_len = strlen(req);
            if (adp_audit_intent(a, &in, &t, &err) != XR_OK)
                _exit(4);
        }
        if (adp_audit_commit(a, &err) != XR_OK)
            _exit(5);
        for (uint32_t j = 0; j < k; j++) {
            uint32_t v = first + j;
            if (write(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
                _exit(6);
        }
        for (uint32_t j = 0; j < k; j++) {
            struct adp_audit_outcome o = {0};
            char msg[32];
            uint64_t t;
            snprintf(msg, sizeof(msg), "crash-%u", first + j);
            o.message_id = msg;
            o.result_class = "ok";
            o.duration_ms = 1;
            if (adp_audit_outcome(a, &o, &t, &err) != XR_OK)
                _exit(7);
        }
        if (adp_audit_commit(a, &err) != XR_OK)
            _exit(8);
        for (uint32_t j = 0; j < k; j++) {
            uint32_t v = (first + j) | ACK_OUTCOME;
            if (write(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
                _exit(9);
        }
        next += k;
    }
    _exit(0);
}

static int count_cb(void *ctx, const struct adp_audit_row *i,
                    const struct adp_audit_row *o)
{
    int *n = ctx;

    (void)i;
    n[0]++;
    if (o && o->result_class && !strcmp(o->result_class, "ok"))
        n[1]++;
    return 0;
}

static void ack(uint8_t *acked, size_t size, uint32_t v, uint32_t *max_id)
{
    uint32_t id = v & ~ACK_OUTCOME;

    assert_true(id > 0 && id < size);
    acked[id] |= (v & ACK_OUTCOME) ? 2 : 1;
    if (id > *max_id)
        *max_id = id;
}

/*
 * kill -9 during a load: every record the child had reported durable (its
 * caller could have answered) is present afterwards and the chain verifies.
 */
static void test_crash_kill9(void **state)
{
    struct fx *f = *state;
    static uint8_t acked[1u << 20]; /* bit 1: intent durable, 2: outcome */
    struct adp_audit_verify_report rep;
    struct adp_audit *a;
    uint32_t max_id = 0, acks = 0, v, durable_intents = 0;
    int pfd[2], status = 0;
    pid_t pid;
    ssize_t n;

    memset(acked, 0, sizeof(acked));
    adp_audit_close(open_rw(f)); /* schema exists before the load */
    assert_int_equal(pipe(pfd), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        crash_child(f->path, pfd[1]);
    }
    close(pfd[1]);
    while (acks < CRASH_ACKS) {
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        assert_true(poll(&p, 1, 60000) > 0); /* bounded wait */
        n = read(pfd[0], &v, sizeof(v));
        assert_int_equal(n, sizeof(v));
        ack(acked, sizeof(acked), v, &max_id);
        acks++;
    }
    /* The child is mid-stream: kill it without warning. */
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* Acknowledgements written before the kill are still in the pipe. */
    while ((n = read(pfd[0], &v, sizeof(v))) == (ssize_t)sizeof(v))
        ack(acked, sizeof(acked), v, &max_id);
    assert_int_equal(n, 0);
    close(pfd[0]);

    /* Reopen as the restarted daemon would (recovers the WAL). */
    a = open_rw(f);
    for (uint32_t id = 1; id <= max_id; id++) {
        struct adp_audit_filter flt = {0};
        struct xr_error err;
        char msg[32];
        int cnt[2] = {0, 0};
        if (!acked[id])
            continue;
        snprintf(msg, sizeof(msg), "crash-%u", id);
        flt.message_id = msg;
        XRT_ASSERT_OK(adp_audit_search(a, &flt, count_cb, cnt, &err), err);
        if (cnt[0] != 1)
            fail_msg("durable intent %u is missing after kill -9", id);
        if ((acked[id] & 2) && cnt[1] != 1)
            fail_msg("durable outcome %u is missing after kill -9", id);
        durable_intents++;
    }
    /* The store can only hold more than was acknowledged, never less. */
    query(a, 1, 0, HETU_A, "alice", "after-restart");
    adp_audit_close(a);
    verify(f, NULL, &rep);
    if (!rep.intact)
        fail_msg("chain broken after kill -9: %s", rep.detail);
    assert_true(rep.intents >= durable_intents + 1);
    assert_true(durable_intents >= CRASH_ACKS / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test_setup_teardown(test_write_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precomputed_digest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_existing_file_mode_tightened,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_outcome_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_and_back_pressure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failure_keeps_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_anchors_and_from, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_ok_and_anchor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_edit_outcome_and_time,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_delete_middle, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_delete_last, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_chain_state_gone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_delete_prefix, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_forged_rows, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_appended_row, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_knowledgeable_forgery,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_every_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_batches_and_anchor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_prune_concurrent_writer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_prune_refuses_broken_chain, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_search_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_search_and_export, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_kill9, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_kind_check, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}

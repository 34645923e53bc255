/*
 * The audit writer thread (adapter/auditq.c): every submission comes back
 * once on the worker's loop, and the writer's count of the outcomes it
 * waits for (adp_auditq_open(), the rows that decide whether a commit
 * waits for the group-commit gap) follows the queries: up with each
 * intent made durable for a query, down with that query's outcome, never
 * moved by an outcome that closes a failed intent, never below zero.
 */
#include <dirent.h>
#include <unistd.h>

#include "test_helpers.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "auditq.h"
#include "util.h"

#define SERVICE "FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1"
#define WAIT_S  20 /* a completion later than this is a failure */

struct fx {
    char dir[256];
    char path[320];
    struct event_base *base;
    struct event *timeout;
    struct adp_auditq_sink sink;
    struct adp_auditq *q;
    int done, ok;
    bool timed_out;
};

static void on_done(const struct adp_auditq_done *d, void *arg)
{
    struct fx *f = arg;

    f->done++;
    if (d->ok)
        f->ok++;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct fx *f = arg;

    (void)fd;
    (void)what;
    f->timed_out = true;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");
    struct adp_auditq_opts o;
    struct xr_error err;

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/vayla-auditq-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/audit.db", f->dir);
    f->base = event_base_new();
    f->timeout = f->base ? evtimer_new(f->base, on_timeout, f) : NULL;
    if (!f->timeout ||
        adp_auditq_sink_init(&f->sink, f->base, on_done, f, &err) != XR_OK)
        return -1;
    memset(&o, 0, sizeof(o));
    o.path = f->path;
    if (adp_auditq_new(&o, NULL, &f->q, &err) != XR_OK) {
        fprintf(stderr, "adp_auditq_new: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    static const char *const files[] = {"audit.db", "audit.db-wal",
                                        "audit.db-shm"};
    char p[400];

    adp_auditq_free(f->q);
    adp_auditq_sink_cleanup(&f->sink);
    event_free(f->timeout);
    event_base_free(f->base);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
        (void)unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Run the loop until `n` completions in all have come (bounded). */
static void wait_done(struct fx *f, int n)
{
    struct timeval tv = {WAIT_S, 0};

    evtimer_add(f->timeout, &tv);
    while (f->done < n && !f->timed_out)
        event_base_loop(f->base, EVLOOP_ONCE);
    evtimer_del(f->timeout);
    assert_false(f->timed_out);
    assert_int_equal(f->done, n);
    assert_int_equal(f->ok, n);
}

static void submit_intent(struct fx *f, int n, bool with_sink)
{
    char msg[64];
    uint8_t digest[ADP_AUDIT_SHA512_LEN];
    struct adp_audit_intent in = {0};
    struct xr_error err;

    snprintf(msg, sizeof(msg), "msg-%d", n);
    memset(digest, n & 0xff, sizeof(digest));
    in.time_ms = 1700000000000LL + n;
    in.caller = "api:test";
    in.end_user = "alice";
    in.purpose = "asiakkuuden hoito";
    in.service = SERVICE;
    in.subject = "010101-123N";
    in.message_id = msg;
    in.request_sha512 = digest;
    XRT_ASSERT_OK(adp_auditq_intent(f->q, &in, adp_mono_ms() + 60000,
                                    with_sink ? &f->sink : NULL, f, &err),
                  err);
}

static void submit_outcome(struct fx *f, int n, bool with_sink)
{
    char msg[64];
    struct adp_audit_outcome o = {0};
    struct xr_error err;

    snprintf(msg, sizeof(msg), "msg-%d", n);
    o.time_ms = 1700000000250LL + n;
    o.message_id = msg;
    o.result_class = with_sink ? "ok" : "not_sent";
    XRT_ASSERT_OK(adp_auditq_outcome(f->q, &o, adp_mono_ms() + 60000,
                                     with_sink ? &f->sink : NULL, f, &err),
                  err);
}

static int count_rows(const struct fx *f)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;

    if (sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM records", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* One query alone: its intent opens it, its outcome closes it. */
static void test_lone_query(void **state)
{
    struct fx *f = *state;

    assert_int_equal(adp_auditq_open(f->q), 0);
    submit_intent(f, 1, true);
    wait_done(f, 1);
    assert_int_equal(adp_auditq_open(f->q), 1);
    submit_outcome(f, 1, true);
    wait_done(f, 2);
    assert_int_equal(adp_auditq_open(f->q), 0);
    assert_int_equal(count_rows(f), 2);
}

/* Many queries between their intent and their outcome at once. */
static void test_many_open(void **state)
{
    struct fx *f = *state;
    enum { N = 40 };

    for (int i = 0; i < N; i++)
        submit_intent(f, i, true);
    wait_done(f, N);
    assert_int_equal(adp_auditq_open(f->q), N);
    for (int i = 0; i < N / 2; i++)
        submit_outcome(f, i, true);
    wait_done(f, N + N / 2);
    assert_int_equal(adp_auditq_open(f->q), N / 2);
    for (int i = N / 2; i < N; i++)
        submit_outcome(f, i, true);
    wait_done(f, 2 * N);
    assert_int_equal(adp_auditq_open(f->q), 0);
    assert_int_equal(count_rows(f), 2 * N);
}

/*
 * A "not_sent" outcome closing an intent that failed is submitted without
 * a sink: no query waits on it and it closes nothing the writer counted.
 * Intents without a sink are not counted either.
 */
static void test_unwaited_rows_not_counted(void **state)
{
    struct fx *f = *state;

    submit_intent(f, 1, true);
    submit_intent(f, 2, true);
    submit_intent(f, 3, false);
    wait_done(f, 2);
    assert_int_equal(adp_auditq_open(f->q), 2);
    submit_outcome(f, 9, false); /* closes a failed intent */
    submit_outcome(f, 1, true);
    wait_done(f, 3);
    assert_int_equal(adp_auditq_open(f->q), 1); /* query 2 goes on */
    submit_outcome(f, 2, true);
    wait_done(f, 4);
    assert_int_equal(adp_auditq_open(f->q), 0);
    assert_int_equal(count_rows(f), 6);
}

/* An outcome whose intent the writer never counted leaves zero at zero. */
static void test_never_below_zero(void **state)
{
    struct fx *f = *state;

    submit_outcome(f, 5, true);
    wait_done(f, 1);
    assert_int_equal(adp_auditq_open(f->q), 0);
    submit_intent(f, 6, true);
    wait_done(f, 2);
    assert_int_equal(adp_auditq_open(f->q), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lone_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwaited_rows_not_counted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_never_below_zero, setup, teardown),
    };

    if (evthread_use_pthreads() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

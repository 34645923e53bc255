/*
 * `vayla verify`, run as a program (VAYLA_BIN) on containers forged at
 * test time: one JSON line per container (also for each entry of a zip of
 * containers, named "zip!entry"), human lines without --json, exit
 * statuses 0 all valid / 2 any invalid / 1 usage or input error, the
 * configuration as a folder or as the ZIP, several worker threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "test_asic_common.h"

#ifndef VAYLA_BIN
#error "VAYLA_BIN must name the vayla binary"
#endif

extern char **environ;

static struct ta *T;
static char dir[] = "/tmp/vayla-cli-verify-XXXXXX";
static char conf_dir[512], conf_zip[512], good[512], good2[512], bad[512],
    bundle[512], junk[512];

struct run {
    int status;
    char *out, *err;
    size_t out_len, err_len;
};

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

static void run_vayla(struct run *r, const char *const *args)
{
    char *argv[32], out_path[600], err_path[600];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st = 0, n = 0;

    memset(r, 0, sizeof(*r));
    argv[n++] = (char *)(uintptr_t)VAYLA_BIN;
    for (const char *const *a = args; *a; a++) {
        assert_true(n < 31);
        argv[n++] = (char *)(uintptr_t)*a;
    }
    argv[n] = NULL;
    snprintf(out_path, sizeof(out_path), "%s/stdout", dir);
    snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (posix_spawn(&pid, VAYLA_BIN, &fa, NULL, argv, environ) != 0)
        fail_msg("cannot run %s: %s", VAYLA_BIN, strerror(errno));
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 6000; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        if (waitpid(pid, &st, WNOHANG) == pid)
            break;
        if (i == 5999) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fail_msg("vayla verify did not finish within 60 s");
        }
        nanosleep(&ts, NULL);
    }
    if (WIFSIGNALED(st))
        fail_msg("vayla died with signal %d", WTERMSIG(st));
    r->status = WEXITSTATUS(st);
    r->out = (char *)xrt_read_file(out_path, &r->out_len);
    r->err = (char *)xrt_read_file(err_path, &r->err_len);
    assert_non_null(r->out);
    assert_non_null(r->err);
}

static void write_to(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state)
{
    struct af_spec s;
    struct af_signed sg;
    uint8_t *c = NULL, *c2 = NULL, *other, *z = NULL;
    size_t n = 0, n2 = 0, ol = 0, zl = 0;
    struct af_zip *w;

    if (xrt_group_setup(state) != 0 || !mkdtemp(dir))
        return -1;
    T = ta_new(0);
    snprintf(conf_dir, sizeof(conf_dir), "%s/conf", dir);
    snprintf(conf_zip, sizeof(conf_zip), "%s/verificationconf.zip", dir);
    snprintf(good, sizeof(good), "%s/good.asice", dir);
    snprintf(good2, sizeof(good2), "%s/good2.asice", dir);
    snprintf(bad, sizeof(bad), "%s/bad.asice", dir);
    snprintf(bundle, sizeof(bundle), "%s/q1.zip", dir);
    snprintf(junk, sizeof(junk), "%s/junk.asice", dir);
    if (af_vconf_dir(&T->trust, conf_dir) != 0 ||
        af_vconf_zip(&T->trust, &z, &zl) != 0)
        return -1;
    write_to(conf_zip, z, zl);
    free(z);
    ta_spec(T, &s);
    ta_forge(T, &s, &c, &n);
    write_to(good, c, n);
    s.signer = &T->provider;
    s.message = (const uint8_t *)T->response;
    s.message_len = strlen(T->response);
    s.ts = AF_TS_BATCH;
    ta_forge(T, &s, &c2, &n2);
    write_to(good2, c2, n2);
    ta_spec(T, &s);
    if (af_sign(&T->trust, &s, &sg) != 0)
        return -1;
    other = af_replace(s.message, s.message_len, "msg-1", "msg-X", &ol);
    s.message = other;
    s.message_len = ol;
    if (af_zip_container(&s, &sg, NULL, 0, &z, &zl) != 0)
        return -1;
    write_to(bad, z, zl);
    free(other);
    /* As /asic returns them: stored entries, generated names. */
    w = af_zip_new();
    if (af_zip_add(w, "msg-1-request-AAAAAAA.asice", c, n, false) ||
        af_zip_add(w, "msg-1-response-AAAAAAB.asice", c2, n2, false) ||
        af_zip_add(w, "msg-X-request-AAAAAAC.asice", z, zl, false) ||
        af_zip_finish(w, &other, &ol))
        return -1;
    write_to(bundle, other, ol);
    write_to(junk, "not a zip", 9);
    free(other);
    free(z);
    free(c);
    free(c2);
    af_signed_cleanup(&sg);
    return 0;
}

static int group_teardown(void **state)
{
    static const char *const names[] = {"stdout",
                                        "stderr",
                                        "good.asice",
                                        "good2.asice",
                                        "bad.asice",
                                        "q1.zip",
                                        "junk.asice",
                                        "verificationconf.zip",
                                        "conf/instance-identifier",
                                        "conf/FI-TEST/shared-params.xml"};
    char p[600];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/conf/FI-TEST", dir);
    rmdir(p);
    rmdir(conf_dir);
    rmdir(dir);
    ta_free(T);
    return xrt_group_teardown(state);
}

/* The JSON lines of stdout, each checked for the key set. */
static json_t *lines(const struct run *r, size_t want)
{
    json_t *arr = json_array();
    const char *p = r->out;

    assert_non_null(arr);
    while (*p) {
        const char *nl = strchr(p, '\n');
        json_error_t je;
        json_t *o;
        assert_non_null(nl);
        o = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &je);
        if (!o)
            fail_msg("not a JSON line (%s): %.*s", je.text, (int)(nl - p), p);
        for (const char *const *k =
                 (const char *const[]){"file", "valid", "signer",
                                       "signing_time", "message_type",
                                       "message_id", "error", "warnings", NULL};
             *k; k++)
            if (!json_object_get(o, *k))
                fail_msg("line lacks \"%s\": %.*s", *k, (int)(nl - p), p);
        json_array_append_new(arr, o);
        p = nl + 1;
    }
    assert_int_equal(json_array_size(arr), want);
    return arr;
}

static const char *sget(json_t *arr, size_t i, const char *key)
{
    json_t *v = json_object_get(json_array_get(arr, i), key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool bget(json_t *arr, size_t i, const char *key)
{
    return json_is_true(json_object_get(json_array_get(arr, i), key));
}

static void test_json_all_valid(void **state)
{
    struct run r;
    json_t *a;

    (void)state;
    run_vayla(&r, (const char *const[]){"verify", "--json", "--conf", conf_dir,
                                        good, good2, NULL});
    assert_int_equal(r.status, 0);
    a = lines(&r, 2);
    assert_string_equal(sget(a, 0, "file"), good);
    assert_true(bget(a, 0, "valid"));
    assert_string_equal(sget(a, 0, "signer"), "SUBSYSTEM:" TA_CLIENT);
    assert_string_equal(sget(a, 0, "message_type"), "request");
    assert_string_equal(sget(a, 0, "message_id"), "msg-1");
    assert_int_equal(strlen(sget(a, 0, "signing_time")), 20);
    assert_true(json_is_null(json_object_get(json_array_get(a, 0), "error")));
    assert_string_equal(sget(a, 1, "message_type"), "response");
    assert_string_equal(sget(a, 1, "signer"),
                        "SUBSYSTEM:FI-TEST/GOV/0245437-2/VTJkysely");
    json_decref(a);
    run_free(&r);
}

static void test_json_invalid_and_zip(void **state)
{
    struct run r;
    json_t *a, *e;
    char name[700];

    (void)state;
    /* The configuration as the ZIP; a bundle; two workers. */
    run_vayla(&r, (const char *const[]){"verify", "--json", "--jobs", "2",
                                        "--conf", conf_zip, bad, bundle, NULL});
    assert_int_equal(r.status, 2);
    a = lines(&r, 4);
    assert_false(bget(a, 0, "valid"));
    e = json_object_get(json_array_get(a, 0), "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")),
                        "invalid_signature_value");
    assert_non_null(json_string_value(json_object_get(e, "message")));
    /* Still identified. */
    assert_string_equal(sget(a, 0, "message_id"), "msg-X");
    snprintf(name, sizeof(name), "%s!msg-1-request-AAAAAAA.asice", bundle);
    assert_string_equal(sget(a, 1, "file"), name);
    assert_true(bget(a, 1, "valid"));
    assert_true(bget(a, 2, "valid"));
    assert_false(bget(a, 3, "valid"));
    json_decref(a);
    run_free(&r);
}

static void test_text_output(void **state)
{
    struct run r;

    (void)state;
    run_vayla(&r, (const char *const[]){"verify", "--conf", conf_dir, good, bad,
                                        junk, NULL});
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.out, ": valid request msg-1 signed by "
                                  "SUBSYSTEM:" TA_CLIENT " at "));
    assert_non_null(strstr(r.out, ": INVALID invalid_signature_value: "));
    assert_non_null(strstr(r.out, ": INVALID asic_not_container: "));
    /* No progress line when stderr is not a terminal. */
    assert_int_equal(r.err_len, 0);
    run_free(&r);
}

static void test_input_and_usage_errors(void **state)
{
    struct run r;
    json_t *a;
    char missing[600];

    (void)state;
    snprintf(missing, sizeof(missing), "%s/no-such.asice", dir);
    run_vayla(&r, (const char *const[]){"verify", "--json", "--conf", conf_dir,
                                        bad, missing, NULL});
    assert_int_equal(r.status, 1);
    a = lines(&r, 2);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(a, 1), "error"), "code")),
        "io_error");
    json_decref(a);
    run_free(&r);
    run_vayla(&r, (const char *const[]){"verify", "--conf", conf_dir, NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "usage: vayla verify"));
    run_free(&r);
    run_vayla(&r,
              (const char *const[]){"verify", "--conf", missing, good, NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "verification configuration"));
    assert_int_equal(r.out_len, 0);
    run_free(&r);
    run_vayla(&r, (const char *const[]){"verify", "--conf", good, good, NULL});
    assert_int_equal(r.status, 1);
    run_free(&r);
    run_vayla(&r, (const char *const[]){"verify", "--jobs", "0", "--conf",
                                        conf_dir, good, NULL});
    assert_int_equal(r.status, 1);
    run_free(&r);
    run_vayla(&r, (const char *const[]){"verify", "--help", NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Exit status"));
    run_free(&r);
}

/* Many containers over a few workers: all lines, in input order. */
static void test_many(void **state)
{
    const char *args[32];
    struct run r;
    json_t *a;
    size_t n = 0;

    (void)state;
    args[n++] = "verify";
    args[n++] = "--json";
    args[n++] = "--jobs";
    args[n++] = "3";
    args[n++] = "--conf";
    args[n++] = conf_dir;
    for (int i = 0; i < 8; i++) {
        args[n++] = good;
        args[n++] = i == 5 ? bad : bundle;
    }
    args[n] = NULL;
    run_vayla(&r, args);
    assert_int_equal(r.status, 2);
    a = lines(&r, 8 + 7 * 3 + 1);
    for (size_t i = 0, k = 0; i < 8; i++) {
        assert_string_equal(sget(a, k, "file"), good);
        k++;
        if (i == 5) {
            assert_string_equal(sget(a, k, "file"), bad);
            k++;
        } else {
            assert_non_null(strstr(sget(a, k, "file"), "!msg-1-request"));
            k += 3;
        }
    }
    json_decref(a);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_all_valid),
        cmocka_unit_test(test_json_invalid_and_zip),
        cmocka_unit_test(test_text_output),
        cmocka_unit_test(test_input_and_usage_errors),
        cmocka_unit_test(test_many),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("cli_verify", tests, group_setup,
                                       group_teardown);
}

/*
 * Unit tests of adapter/cli_vtj.c: `vayla hetu` and `vayla vtj decode`,
 * called in-process with stdout/stderr (and stdin) redirected to files.
 */
#include <fcntl.h>
#include <unistd.h>

#include "test_vtj_common.h"

#include <jansson.h>
#include <xroad/xroad.h>

#include "cli.h"

struct run {
    int rc;
    char *out; /* captured stdout, NUL-terminated */
    char *err; /* captured stderr */
};

static char *slurp_fd(int fd)
{
    off_t n = lseek(fd, 0, SEEK_END);
    char *buf;

    assert_true(n >= 0);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(read(fd, buf, (size_t)n), n);
    buf[n] = '\0';
    return buf;
}

static int tmp_fd(void)
{
    char path[] = "/tmp/vtjcliXXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

/* Run fn(argc, argv) with captured output; stdin_text may be NULL. */
static void run_cli(struct run *r, int (*fn)(int, char **), int argc,
                    const char *const *argv, const char *stdin_text)
{
    int out = tmp_fd(), err = tmp_fd(), in = -1;
    int save_out, save_err, save_in = -1;
    char *args[16];

    assert_true(argc < 16);
    for (int i = 0; i < argc; i++) {
        args[i] = strdup(argv[i]);
        assert_non_null(args[i]);
    }
    args[argc] = NULL;
    if (stdin_text) {
        in = tmp_fd();
        assert_int_equal(write(in, stdin_text, strlen(stdin_text)),
                         (ssize_t)strlen(stdin_text));
        assert_int_equal(lseek(in, 0, SEEK_SET), 0);
        save_in = dup(0);
        assert_int_equal(dup2(in, 0), 0);
        clearerr(stdin);
    }
    fflush(stdout);
    fflush(stderr);
    save_out = dup(1);
    save_err = dup(2);
    assert_int_equal(dup2(out, 1), 1);
    assert_int_equal(dup2(err, 2), 2);
    r->rc = fn(argc, args);
    fflush(stdout);
    fflush(stderr);
    assert_int_equal(dup2(save_out, 1), 1);
    assert_int_equal(dup2(save_err, 2), 2);
    close(save_out);
    close(save_err);
    if (stdin_text) {
        assert_int_equal(dup2(save_in, 0), 0);
        close(save_in);
        close(in);
        clearerr(stdin);
    }
    for (int i = 0; i < argc; i++)
        free(args[i]);
    r->out = slurp_fd(out);
    r->err = slurp_fd(err);
    close(out);
    close(err);
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static int setup(void **state)
{
    struct xr_error err;

    (void)state;
    return xr_global_init(&err) == XR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    xr_global_cleanup();
    return 0;
}

static void test_hetu_cmd(void **state)
{
    struct run r;

    (void)state;
    {
        const char *argv[] = {"hetu", "131052-308T", "260991-999R",
                              "10000001N"};
        run_cli(&r, cli_hetu, 4, argv, NULL);
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.out, "131052-308T valid\n"
                                   "260991-999R valid temporary\n"
                                   "10000001N valid\n");
        run_free(&r);
    }
    {
        const char *argv[] = {"hetu",        "010190-999K", "131052-308T",
                              "290201A999X", "010100G999K", "010100-000E"};
        run_cli(&r, cli_hetu, 6, argv, NULL);
        assert_int_equal(r.rc, 2);
        assert_string_equal(r.out,
                            "010190-999K invalid: check_char_expected_W\n"
                            "131052-308T valid\n"
                            "290201A999X invalid: date\n"
                            "010100G999K invalid: century_sign\n"
                            "010100-000E invalid: individual_number_000_001\n");
        run_free(&r);
    }
    {
        /* Control characters are never echoed raw. */
        const char *argv[] = {"hetu", "--", "a\x1b[31mb", ""};
        run_cli(&r, cli_hetu, 4, argv, NULL);
        assert_int_equal(r.rc, 2);
        assert_null(strchr(r.out, '\x1b'));
        assert_non_null(strstr(r.out, "a?[31mb invalid: length"));
        assert_non_null(strstr(r.out, "\"\" invalid: length"));
        run_free(&r);
    }
    {
        const char *argv[] = {"hetu"};
        run_cli(&r, cli_hetu, 1, argv, NULL);
        assert_int_equal(r.rc, 1);
        assert_non_null(strstr(r.err, "usage"));
        run_free(&r);
    }
    {
        const char *argv[] = {"hetu", "-"};
        run_cli(&r, cli_hetu, 2, argv, "131052-308T\r\n\n010190-999K\n");
        assert_int_equal(r.rc, 2);
        assert_string_equal(r.out,
                            "131052-308T valid\n"
                            "010190-999K invalid: check_char_expected_W\n");
        run_free(&r);
        run_cli(&r, cli_hetu, 2, argv, "131052-308T\n");
        assert_int_equal(r.rc, 0);
        run_free(&r);
    }
}

static json_t *decode_ok(const char *path, const char *opt)
{
    const char *argv[] = {"vtj", "decode", path, opt};
    struct run r;
    json_error_t jerr;
    json_t *j;

    run_cli(&r, cli_vtj, opt ? 4 : 3, argv, NULL);
    if (r.rc != 0)
        fail_msg("vtj decode %s: exit %d: %s", path, r.rc, r.err);
    j = json_loads(r.out, 0, &jerr);
    if (!j)
        fail_msg("vtj decode %s: output is not JSON: %s", path, jerr.text);
    assert_null(strstr(r.out, "TESTUSER"));
    assert_null(strstr(r.out, "EXAMPLEUSER"));
    run_free(&r);
    return j;
}

static void expect_invalid(const char *path, const char *needle)
{
    const char *argv[] = {"vtj", "decode", path};
    struct run r;

    run_cli(&r, cli_vtj, 3, argv, NULL);
    if (r.rc != 2)
        fail_msg("vtj decode %s: exit %d, want 2 (%s)", path, r.rc, r.err);
    assert_string_equal(r.out, "");
    if (!strstr(r.err, needle))
        fail_msg("stderr lacks \"%s\": %s", needle, r.err);
    run_free(&r);
}

static void test_vtj_decode_cmd(void **state)
{
    char path[4096];
    json_t *j;

    (void)state;
    tv_fixture_path("perussanoma1-found.xml", path, sizeof(path));
    j = decode_ok(path, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "outcome")),
                        "found");
    assert_true(json_is_null(
        json_object_get(json_object_get(j, "person"), "turvakielto")));
    json_decref(j);

    j = decode_ok(path, "--redact");
    assert_null(json_object_get(json_object_get(j, "person"), "addresses"));
    json_decref(j);

    /* Not found and credential errors are VTJ answers: exit 0. */
    tv_fixture_path("fault-0001.xml", path, sizeof(path));
    j = decode_ok(path, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "outcome")),
                        "not_found");
    json_decref(j);

    tv_fixture_path("full.xml", path, sizeof(path));
    j = decode_ok(path, NULL);
    assert_true(json_is_true(
        json_object_get(json_object_get(j, "person"), "turvakielto")));
    json_decref(j);

    tv_fixture_path("xroad-fault.xml", path, sizeof(path));
    expect_invalid(path, "Server.ClientProxy.NetworkError");
    tv_fixture_path("not-person-answer.xml", path, sizeof(path));
    expect_invalid(path, "not_vtj_response");
    tv_fixture_path("no-such-file.xml", path, sizeof(path));
    {
        const char *argv[] = {"vtj", "decode", path};
        struct run r;
        run_cli(&r, cli_vtj, 3, argv, NULL);
        assert_int_equal(r.rc, 1);
        run_free(&r);
    }
    {
        const char *argv[] = {"vtj", "frobnicate"};
        struct run r;
        run_cli(&r, cli_vtj, 2, argv, NULL);
        assert_int_equal(r.rc, 1);
        run_free(&r);
    }
}

static void test_vtj_decode_vectors(void **state)
{
    char path[4096];
    json_t *j;

    (void)state;
    if (!tv_vector_path("vtj/synthetic/04-xroad-technical-soapfault.xml", path,
                        sizeof(path))) {
        skip();
        return;
    }
    /* A SOAP Fault over X-Road is not a VTJ answer. */
    expect_invalid(path, "Server.ClientProxy.ServiceFailed.MissingBody");

    if (!tv_vector_path("vtj/synthetic/02-response-found-turvakielto.xml", path,
                        sizeof(path))) {
        skip();
        return;
    }
    j = decode_ok(path, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "outcome")),
                        "found");
    assert_true(json_is_true(
        json_object_get(json_object_get(j, "person"), "turvakielto")));
    json_decref(j);

    /* 03 has an empty Header: body classification only (--body-only). */
    if (!tv_vector_path("vtj/synthetic/03-response-notfound-fault0001.xml",
                        path, sizeof(path))) {
        skip();
        return;
    }
    j = decode_ok(path, "--body-only");
    assert_string_equal(json_string_value(json_object_get(j, "outcome")),
                        "not_found");
    json_decref(j);
}

static void test_schema_body_cmd(void **state)
{
    const char *argv[] = {"vtj", "schema-body", "PERUSSANOMA 1", "--laji", "1"};
    struct run r;

    (void)state;
    run_cli(&r, cli_vtj, 5, argv, NULL);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "<HaeTuotteenSkeema xmlns="));
    assert_non_null(strstr(r.out, "<Laji>1</Laji>"));
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hetu_cmd),
        cmocka_unit_test(test_vtj_decode_cmd),
        cmocka_unit_test(test_vtj_decode_vectors),
        cmocka_unit_test(test_schema_body_cmd),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("vtj_cli", tests, setup, teardown);
}

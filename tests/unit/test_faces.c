/*
 * The two faces of the query pipeline against their documentation: every
 * verdict class through the API's table (HTTP status, error code) and the
 * CLI's (exit status), compared with the verdict tables that docs/api.md
 * and docs/cli.md state, which must also agree with each other.
 */
#include "test_helpers.h"

#include "api.h"
#include "cli.h"
#include "query.h"

/* One row of a documented verdict table. */
struct row {
    bool seen;
    int http;
    int exit_code;
};

/* First integer in s, or -1. */
static int first_int(const char *s)
{
    while (*s && (*s < '0' || *s > '9'))
        s++;
    return *s ? (int)strtol(s, NULL, 10) : -1;
}

/* Read the table of docs/NAME: rows "| `class` | HTTP | code | exit |". */
static void read_table(const char *name, struct row rows[ADP_VERDICT_COUNT])
{
    const char *src = getenv("XR_SOURCE_DIR");
    char path[1024], line[1024];
    FILE *f;

    memset(rows, 0, sizeof(struct row) * ADP_VERDICT_COUNT);
    assert_non_null(src);
    snprintf(path, sizeof(path), "%s/docs/%s", src, name);
    f = fopen(path, "r");
    assert_non_null(f);
    bool in_table = false;

    while (fgets(line, sizeof(line), f)) {
        char *cells[5];
        size_t n = 0;
        char *p = line;
        /* Only the verdict table: from its header to the blank line. */
        if (!strncmp(line, "| verdict | HTTP status |", 25))
            in_table = true;
        else if (line[0] != '|')
            in_table = false;
        if (!in_table || strncmp(line, "| `", 3) != 0)
            continue;
        while (n < 5 && (p = strchr(p, '|')) != NULL) {
            cells[n++] = ++p;
        }
        if (n != 5)
            continue;
        for (unsigned c = 0; c < ADP_VERDICT_COUNT; c++) {
            char want[64];
            snprintf(want, sizeof(want), " `%s` |",
                     adp_verdict_class_name((enum adp_verdict_class)c));
            if (strncmp(cells[0], want, strlen(want)) != 0)
                continue;
            assert_false(rows[c].seen); /* one row per verdict */
            rows[c].seen = true;
            rows[c].http = first_int(cells[1]);
            rows[c].exit_code = first_int(cells[3]);
        }
    }
    fclose(f);
}

static void test_faces_match_docs(void **state)
{
    struct row api[ADP_VERDICT_COUNT], cli[ADP_VERDICT_COUNT];

    (void)state;
    read_table("api.md", api);
    read_table("cli.md", cli);
    for (unsigned c = 0; c < ADP_VERDICT_COUNT; c++) {
        struct adp_verdict v;
        struct xr_error e;
        const char *code = NULL;
        int http;

        memset(&v, 0, sizeof(v));
        v.err = &e;
        v.cls = (enum adp_verdict_class)c;
        v.transport = ADP_XFER_CONNECT_FAILED;
        v.outcome = "not_found";
        xr_error_set(&e, XR_EINVAL, "invalid_hetu", "", "x");
        http = adp_api_verdict_status(&v, &code);
        if (!api[c].seen || !cli[c].seen)
            fail_msg("verdict %s missing from a documented table",
                     adp_verdict_class_name(v.cls));
        if (http != api[c].http || http != cli[c].http)
            fail_msg("verdict %s: API answers %d, api.md says %d, cli.md %d",
                     adp_verdict_class_name(v.cls), http, api[c].http,
                     cli[c].http);
        if (adp_cli_verdict_exit(&v) != cli[c].exit_code ||
            api[c].exit_code != cli[c].exit_code)
            fail_msg("verdict %s: CLI exits %d, cli.md says %d, api.md %d",
                     adp_verdict_class_name(v.cls), adp_cli_verdict_exit(&v),
                     cli[c].exit_code, api[c].exit_code);
        /* Every failure has a code; only data has none. */
        if (v.cls == ADP_VERDICT_DATA)
            assert_null(code);
        else
            assert_non_null(code);
    }
}

/* The cases the tables spell out in words. */
static void test_codes(void **state)
{
    struct adp_verdict v;
    struct xr_error e;
    const char *code;

    (void)state;
    memset(&v, 0, sizeof(v));
    xr_error_clear(&e);
    v.err = &e;
    v.cls = ADP_VERDICT_TRANSPORT;
    v.transport = ADP_XFER_TIMEOUT;
    assert_int_equal(adp_api_verdict_status(&v, &code), 504);
    assert_string_equal(code, "timeout");
    v.transport = ADP_XFER_HTTP_STATUS;
    assert_int_equal(adp_api_verdict_status(&v, &code), 502);
    assert_string_equal(code, "http_status");
    v.cls = ADP_VERDICT_NO_DATA;
    v.outcome = "passivated";
    assert_int_equal(adp_api_verdict_status(&v, &code), 404);
    assert_string_equal(code, "passivated");
    v.cls = ADP_VERDICT_REJECTED;
    xr_error_set(&e, XR_EINVAL, "missing_end_user", "end_user", "x");
    assert_int_equal(adp_api_verdict_status(&v, &code), 422);
    assert_string_equal(code, "missing_end_user");
    v.cls = ADP_VERDICT_INTERNAL;
    xr_error_set(&e, XR_ENOMEM, "out_of_memory", "", "x");
    assert_int_equal(adp_api_verdict_status(&v, &code), 503);
    assert_string_equal(code, "out_of_memory");
    xr_error_set(&e, XR_EINTERNAL, "digest_failed", "", "x");
    assert_int_equal(adp_api_verdict_status(&v, &code), 503);
    assert_string_equal(code, "internal_error");
    v.cls = ADP_VERDICT_SERVICE_ERROR;
    assert_int_equal(adp_api_verdict_status(&v, &code), 502);
    assert_string_equal(code, "vtj_error");
    assert_int_equal(adp_cli_verdict_exit(&v), ADP_EXIT_SERVICE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faces_match_docs),
        cmocka_unit_test(test_codes),
    };

    return cmocka_run_group_tests_name("faces", tests, NULL, NULL);
}

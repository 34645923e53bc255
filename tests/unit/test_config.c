/*
 * adp_config: valid files, defaults, every kind of problem with its line,
 * relative paths, secrets from file and environment, OpenSSL file checks,
 * and that no secret ever appears in a problem report.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <fcntl.h>

#include "cli.h"
#include "config.h"
#include "tls_fixture.h"

#define SECRET     "S3cr3t-P\xc3\xa4ssword"
#define ENV_SECRET "env-Secret-42"

static struct tlsfix fix;
static char realdir[PATH_MAX];
static char conf_path[PATH_MAX + 32];
static char pin_hex[100];

#define MAXP 64

struct problems {
    unsigned n;
    struct {
        unsigned line;
        char key[96];
        char reason[512];
    } p[MAXP];
    char all[32768]; /* everything reported, as printed */
};

static void collect(void *ctx, const char *path, unsigned line, const char *key,
                    const char *reason)
{
    struct problems *ps = ctx;
    size_t used = strlen(ps->all);

    if (ps->n < MAXP) {
        ps->p[ps->n].line = line;
        snprintf(ps->p[ps->n].key, sizeof(ps->p[ps->n].key), "%s", key);
        snprintf(ps->p[ps->n].reason, sizeof(ps->p[ps->n].reason), "%s",
                 reason);
    }
    ps->n++;
    snprintf(ps->all + used, sizeof(ps->all) - used, "%s:%u: %s: %s\n", path,
             line, key, reason);
}

/* Fail unless a problem at `line` for `key` mentions `text`. */
#define ASSERT_PROBLEM(ps, line, key, text) \
    assert_problem_at(ps, line, key, text, __LINE__)

static void assert_problem_at(const struct problems *ps, unsigned line,
                              const char *key, const char *text, int at)
{
    for (unsigned i = 0; i < ps->n && i < MAXP; i++) {
        if (ps->p[i].line == line && strcmp(ps->p[i].key, key) == 0 &&
            strstr(ps->p[i].reason, text))
            return;
    }
    fail_msg("test line %d: no problem '%u: %s: ...%s...' in:\n%s", at, line,
             key, text, ps->all);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Load `text` from the fixture directory's vayla.conf. */
static enum xr_status load(const char *text, struct adp_config **cfg,
                           struct problems *ps)
{
    struct xr_error err;
    enum xr_status rc;

    memset(ps, 0, sizeof(*ps));
    write_file(conf_path, text);
    xr_error_clear(&err);
    rc = adp_config_load(conf_path, cfg, collect, ps, &err);
    if (rc == XR_OK)
        assert_int_equal(ps->n, 0);
    else if (rc == XR_EINVAL)
        assert_string_equal(err.reason, "config_invalid");
    /* no secret in the summary either */
    assert_null(strstr(err.msg, SECRET));
    assert_null(strstr(ps->all, SECRET));
    assert_null(strstr(ps->all, ENV_SECRET));
    assert_null(strstr(ps->all, TLSFIX_PASSPHRASE));
    return rc;
}

static const char minimal[] =
    "[xroad]\n"
    "client = FI-TEST/MUN/0101263-6/vayla-demo\n"
    "[security_server]\n"
    "url = http://127.0.0.1:8080/\n"
    "[vtj]\n"
    "service = FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1\n"
    "username = vayla-demo\n"
    "password_file = vtj-password\n";

static void test_valid(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    char text[16384], want[PATH_MAX + 32];

    (void)state;
    snprintf(text, sizeof(text),
             "; vayla test configuration\n"
             "[xroad]\n"
             "client = SUBSYSTEM:FI-TEST/MUN/0101263-6/vayla-demo\n"
             "security_server = SERVER:FI-TEST/GOV/1234567-8/ss1\n"
             "\n"
             "[security_server]\n"
             "url = https://127.0.0.1:8443/\n"
             "ca_file = ca.pem\n"
             "pin_sha256 = %s\n"
             "client_cert = client.pem   ; SSLAUTH\n"
             "client_key = client-enc.key\n"
             "client_key_passphrase_file = %s\n"
             "connect_timeout_ms = 3000\n"
             "timeout_ms = 90000\n"
             "max_response_bytes = 1048576\n"
             "allow_missing_request_hash = yes\n"
             "\n"
             "[vtj]\n"
             "service = FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/"
             "v1\n"
             "username = vayla-demo\n"
             "password_file = vtj-password\n"
             "product = PERUSSANOMA 3 ; inline comment\n"
             "follow_passivated = false\n"
             "\n"
             "[audit]\n"
             "path = audit.db\n"
             "retention_days = 3650\n",
             pin_hex, fix.passphrase_file /* absolute stays absolute */);
    assert_int_equal(load(text, &cfg, &ps), XR_OK);
    assert_non_null(cfg);
    assert_string_equal(cfg->path, conf_path);
    assert_string_equal(cfg->dir, realdir);
    assert_int_equal(cfg->xroad.client.type, XR_ID_SUBSYSTEM);
    assert_string_equal(cfg->xroad.client.instance, "FI-TEST");
    assert_string_equal(cfg->xroad.client.subsystem_code, "vayla-demo");
    assert_true(cfg->xroad.has_security_server);
    assert_string_equal(cfg->xroad.security_server.server_code, "ss1");
    assert_string_equal(cfg->ss.url, "https://127.0.0.1:8443/");
    assert_true(cfg->ss.https);
    snprintf(want, sizeof(want), "%s/ca.pem", realdir);
    assert_string_equal(cfg->ss.ca_file, want);
    assert_true(cfg->ss.has_pin);
    assert_memory_equal(cfg->ss.pin_sha256, fix.server_fp, 32);
    snprintf(want, sizeof(want), "%s/client.pem", realdir);
    assert_string_equal(cfg->ss.client_cert, want);
    snprintf(want, sizeof(want), "%s/client-enc.key", realdir);
    assert_string_equal(cfg->ss.client_key, want);
    assert_string_equal(cfg->ss.client_key_passphrase_file,
                        fix.passphrase_file);
    assert_string_equal(cfg->ss.client_key_passphrase, TLSFIX_PASSPHRASE);
    assert_int_equal(cfg->ss.connect_timeout_ms, 3000);
    assert_int_equal(cfg->ss.timeout_ms, 90000);
    assert_int_equal(cfg->ss.max_response_bytes, 1048576);
    assert_true(cfg->ss.allow_missing_request_hash);
    assert_int_equal(cfg->vtj.service.type, XR_ID_SERVICE);
    assert_string_equal(cfg->vtj.service.service_code, "HenkilonTunnusKysely");
    assert_string_equal(cfg->vtj.service.service_version, "v1");
    assert_string_equal(cfg->vtj.username, "vayla-demo");
    assert_string_equal(cfg->vtj.password, SECRET);
    assert_null(cfg->vtj.password_env);
    assert_string_equal(cfg->vtj.product, "PERUSSANOMA 3");
    assert_false(cfg->vtj.follow_passivated);
    snprintf(want, sizeof(want), "%s/audit.db", realdir);
    assert_string_equal(cfg->audit.path, want);
    assert_int_equal(cfg->audit.retention_days, 3650);
    adp_config_free(cfg);
}

static void test_defaults(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;

    (void)state;
    assert_int_equal(load(minimal, &cfg, &ps), XR_OK);
    assert_int_equal(cfg->xroad.client.type, XR_ID_SUBSYSTEM);
    assert_false(cfg->xroad.has_security_server);
    assert_false(cfg->ss.https);
    assert_null(cfg->ss.ca_file);
    assert_false(cfg->ss.has_pin);
    assert_null(cfg->ss.client_cert);
    assert_null(cfg->ss.client_key_passphrase);
    assert_int_equal(cfg->ss.connect_timeout_ms,
                     ADP_CONFIG_CONNECT_TIMEOUT_MS_DEFAULT);
    assert_int_equal(cfg->ss.timeout_ms, ADP_CONFIG_TIMEOUT_MS_DEFAULT);
    assert_int_equal(cfg->ss.max_response_bytes,
                     ADP_CONFIG_MAX_RESPONSE_BYTES_DEFAULT);
    assert_false(cfg->ss.allow_missing_request_hash);
    assert_string_equal(cfg->vtj.product, ADP_CONFIG_VTJ_PRODUCT_DEFAULT);
    assert_true(cfg->vtj.follow_passivated);
    assert_null(cfg->audit.path);
    assert_int_equal(cfg->audit.retention_days,
                     ADP_CONFIG_AUDIT_RETENTION_DEFAULT);
    adp_config_free(cfg);
}

static void test_bom(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    char text[2048];

    (void)state;
    snprintf(text, sizeof(text), "\xEF\xBB\xBF%s", minimal);
    assert_int_equal(load(text, &cfg, &ps), XR_OK);
    assert_string_equal(cfg->vtj.username, "vayla-demo");
    adp_config_free(cfg);
}

static void test_pin_forms(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    char text[2048], plain[80];
    size_t j = 0;

    (void)state;
    for (size_t i = 0; pin_hex[i]; i++) {
        if (pin_hex[i] != ':')
            plain[j++] = (char)(pin_hex[i] | 0x20); /* lower case */
    }
    plain[j] = '\0';
    snprintf(text, sizeof(text),
             "[xroad]\nclient = FI-TEST/MUN/0101263-6/x\n"
             "[security_server]\nurl = https://localhost/\n"
             "pin_sha256 = %s\n"
             "[vtj]\nservice = FI-TEST/GOV/0245437-2/VTJkysely/"
             "HenkilonTunnusKysely/v1\nusername = u\n"
             "password_file = vtj-password\n",
             plain);
    assert_int_equal(load(text, &cfg, &ps), XR_OK);
    assert_true(cfg->ss.has_pin);
    assert_null(cfg->ss.ca_file);
    assert_memory_equal(cfg->ss.pin_sha256, fix.server_fp, 32);
    adp_config_free(cfg);
}

static void test_password_env(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    static const char text[] =
        "[xroad]\n"
        "client = FI-TEST/MUN/0101263-6/vayla-demo\n"
        "[security_server]\n"
        "url = http://127.0.0.1:8080/\n"
        "[vtj]\n"
        "service = FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1\n"
        "username = vayla-demo\n"
        "password_env = VAYLA_TEST_PASSWORD\n";

    (void)state;
    assert_int_equal(setenv("VAYLA_TEST_PASSWORD", ENV_SECRET, 1), 0);
    assert_int_equal(load(text, &cfg, &ps), XR_OK);
    assert_string_equal(cfg->vtj.password, ENV_SECRET);
    assert_string_equal(cfg->vtj.password_env, "VAYLA_TEST_PASSWORD");
    assert_null(cfg->vtj.password_file);
    adp_config_free(cfg);

    assert_int_equal(unsetenv("VAYLA_TEST_PASSWORD"), 0);
    assert_int_equal(load(text, &cfg, &ps), XR_EINVAL);
    assert_null(cfg);
    ASSERT_PROBLEM(&ps, 8, "vtj.password_env", "VAYLA_TEST_PASSWORD");
    assert_int_equal(ps.n, 1);
}

/* Bad values: every problem is reported, each with its own line. */
static void test_value_errors(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    static const char text[] =
        "[xroad]\n"                                               /* 1 */
        "client = FI-TEST/MUN\n"                                  /* 2 */
        "security_server = FI-TEST/GOV/1234567-8\n"               /* 3 */
        "[security_server]\n"                                     /* 4 */
        "url = ftp://127.0.0.1/\n"                                /* 5 */
        "pin_sha256 = sha256//AAAA\n"                             /* 6 */
        "connect_timeout_ms = 5s\n"                               /* 7 */
        "timeout_ms = 99999999999\n"                              /* 8 */
        "max_response_bytes = -1\n"                               /* 9 */
        "allow_missing_request_hash = maybe\n"                    /* 10 */
        "connect_timeout_ms = 1000\n"                             /* 11 */
        "[vtj]\n"                                                 /* 12 */
        "service = FI-TEST/GOV/0245437-2/VTJ kysely/Henkilo/v1\n" /* 13 */
        "username =\n"                                            /* 14 */
        "password_file = vtj-password\n"                          /* 15 */
        "password_env = 1BAD\n"                                   /* 16 */
        "follow_passivated = 2\n"                                 /* 17 */
        "[audit]\n"                                               /* 18 */
        "retention_days = 0\n";                                   /* 19 */

    (void)state;
    assert_int_equal(load(text, &cfg, &ps), XR_EINVAL);
    assert_null(cfg);
    ASSERT_PROBLEM(&ps, 2, "xroad.client", "invalid identifier");
    ASSERT_PROBLEM(&ps, 3, "xroad.security_server", "invalid identifier");
    ASSERT_PROBLEM(&ps, 5, "security_server.url", "http:// or https://");
    ASSERT_PROBLEM(&ps, 6, "security_server.pin_sha256", "64 hex digits");
    ASSERT_PROBLEM(&ps, 7, "security_server.connect_timeout_ms",
                   "'5s' is not a whole number in 100..600000");
    ASSERT_PROBLEM(&ps, 8, "security_server.timeout_ms", "1000..3600000");
    ASSERT_PROBLEM(&ps, 9, "security_server.max_response_bytes",
                   "not a whole number");
    ASSERT_PROBLEM(&ps, 10, "security_server.allow_missing_request_hash",
                   "not a boolean");
    ASSERT_PROBLEM(&ps, 11, "security_server.connect_timeout_ms",
                   "duplicate key (first set on line 7)");
    ASSERT_PROBLEM(&ps, 13, "vtj.service", "invalid identifier");
    ASSERT_PROBLEM(&ps, 14, "vtj.username", "empty value");
    ASSERT_PROBLEM(&ps, 16, "vtj.password_env",
                   "not an environment variable name");
    ASSERT_PROBLEM(&ps, 17, "vtj.follow_passivated", "not a boolean");
    ASSERT_PROBLEM(&ps, 19, "audit.retention_days", "1..36500");
    assert_int_equal(ps.n, 14);
}

static void test_syntax_errors(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    char text[4096], longline[300];

    (void)state;
    memset(longline, 'a', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    memcpy(longline, "username = ", 11);
    snprintf(text, sizeof(text),
             "stray = 1\n"                                 /* 1 */
             "[xroad]\n"                                   /* 2 */
             "client = FI-TEST/MUN/0101263-6/vayla-demo\n" /* 3 */
             "this line has no separator\n"                /* 4 */
             "[security_server\n"                          /* 5 */
             "[security_server]\n"                         /* 6 */
             "url = http://127.0.0.1:8080/\n"              /* 7 */
             "  continued value\n"                         /* 8 */
             "[vtj]\r\n"                                   /* 9 */
             "service = FI-TEST/GOV/0245437-2/VTJkysely/"
             "HenkilonTunnusKysely/v1\r\n"    /* 10 */
             "%s\n"                           /* 11 */
             "username = vayla-demo\n"        /* 12 */
             "password_file = vtj-password\n" /* 13 */
             "# a comment\n"                  /* 14 */
             "; another\n",                   /* 15 */
             longline);
    assert_int_equal(load(text, &cfg, &ps), XR_EINVAL);
    ASSERT_PROBLEM(&ps, 1, "stray", "key outside a section");
    ASSERT_PROBLEM(&ps, 4, "", "expected 'key = value'");
    ASSERT_PROBLEM(&ps, 5, "", "without ']'");
    ASSERT_PROBLEM(&ps, 8, "", "continuation lines are not supported");
    ASSERT_PROBLEM(&ps, 11, "", "line longer than");
    assert_int_equal(ps.n, 5);
}

static void test_unknown_keys_and_sections(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    char text[4096];

    (void)state;
    snprintf(text, sizeof(text),
             "%s"                      /* lines 1-8 */
             "urll = http://x/\n"      /* 9 */
             "password = " SECRET "\n" /* 10 */
             "[nosuch]\n"              /* 11 */
             "anything = goes\n"       /* 12 */
             "[audit]\n"               /* 13 */
             "Path = audit.db\n",      /* 14: keys are case-sensitive */
             minimal);
    assert_int_equal(load(text, &cfg, &ps), XR_EINVAL);
    ASSERT_PROBLEM(&ps, 9, "vtj.urll", "unknown key");
    ASSERT_PROBLEM(&ps, 10, "vtj.password", "password_file or password_env");
    ASSERT_PROBLEM(&ps, 11, "nosuch", "unknown section");
    ASSERT_PROBLEM(&ps, 14, "audit.Path", "unknown key");
    assert_int_equal(ps.n, 4); /* nothing for the key inside [nosuch] */
}

static void test_missing_required(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;

    (void)state;
    assert_int_equal(load("[vtj]\nproduct = X\n", &cfg, &ps), XR_EINVAL);
    ASSERT_PROBLEM(&ps, 0, "xroad.client", "required key is missing");
    ASSERT_PROBLEM(&ps, 0, "security_server.url", "required key is missing");
    ASSERT_PROBLEM(&ps, 1, "vtj.service", "required key is missing");
    ASSERT_PROBLEM(&ps, 1, "vtj.username", "required key is missing");
    ASSERT_PROBLEM(&ps, 1, "vtj.password_file",
                   "one of password_file or password_env");
    assert_int_equal(ps.n, 5);

    /* empty file */
    assert_int_equal(load("", &cfg, &ps), XR_EINVAL);
    assert_int_equal(ps.n, 5);
}

static void test_cross_checks(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    static const char text[] =
        "[xroad]\n"                                   /* 1 */
        "client = FI-TEST/MUN/0101263-6/vayla-demo\n" /* 2 */
        "[security_server]\n"                         /* 3 */
        "url = https://127.0.0.1:8443/\n"             /* 4 */
        "client_key = client.key\n"                   /* 5 */
        "connect_timeout_ms = 9000\n"                 /* 6 */
        "timeout_ms = 9000\n"                         /* 7 */
        "[vtj]\n"                                     /* 8 */
        "service = FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1\n"
        "username = vayla-demo\n"               /* 10 */
        "password_file = vtj-password\n"        /* 11 */
        "password_env = VAYLA_TEST_PASSWORD\n"; /* 12 */

    (void)state;
    assert_int_equal(load(text, &cfg, &ps), XR_EINVAL);
    ASSERT_PROBLEM(&ps, 4, "security_server.url", "ca_file or pin_sha256");
    ASSERT_PROBLEM(&ps, 5, "security_server.client_key", "needs client_cert");
    ASSERT_PROBLEM(&ps, 7, "security_server.timeout_ms",
                   "larger than connect_timeout_ms");
    ASSERT_PROBLEM(&ps, 12, "vtj.password_env", "mutually exclusive");
    assert_int_equal(ps.n, 4);
}

static void test_file_checks(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    char text[4096];

    (void)state;
    /* key of another certificate, missing CA, no such password file */
    snprintf(text, sizeof(text),
             "[xroad]\n"                                   /* 1 */
             "client = FI-TEST/MUN/0101263-6/vayla-demo\n" /* 2 */
             "[security_server]\n"                         /* 3 */
             "url = https://127.0.0.1:8443/\n"             /* 4 */
             "ca_file = no-such-ca.pem\n"                  /* 5 */
             "client_cert = client.pem\n"                  /* 6 */
             "client_key = server.key\n"                   /* 7 */
             "[vtj]\n"                                     /* 8 */
             "service = FI-TEST/GOV/0245437-2/VTJkysely/"
             "HenkilonTunnusKysely/v1\n"            /* 9 */
             "username = vayla-demo\n"              /* 10 */
             "password_file = no-such-password\n"); /* 11 */
    assert_int_equal(load(text, &cfg, &ps), XR_EINVAL);
    ASSERT_PROBLEM(&ps, 5, "security_server.ca_file", "no-such-ca.pem");
    ASSERT_PROBLEM(&ps, 7, "security_server.client_key",
                   "the key does not match");
    ASSERT_PROBLEM(&ps, 11, "vtj.password_file", "no-such-password");
    assert_int_equal(ps.n, 3);

    /* encrypted key: no passphrase, then a wrong one; CA not a PEM */
    snprintf(text, sizeof(text),
             "[xroad]\n"                                   /* 1 */
             "client = FI-TEST/MUN/0101263-6/vayla-demo\n" /* 2 */
             "[security_server]\n"                         /* 3 */
             "url = https://127.0.0.1:8443/\n"             /* 4 */
             "ca_file = vtj-password\n"                    /* 5 */
             "client_cert = client.pem\n"                  /* 6 */
             "client_key = client-enc.key\n"               /* 7 */
             "[vtj]\n"                                     /* 8 */
             "service = FI-TEST/GOV/0245437-2/VTJkysely/"
             "HenkilonTunnusKysely/v1\n"        /* 9 */
             "username = vayla-demo\n"          /* 10 */
             "password_file = vtj-password\n"); /* 11 */
    assert_int_equal(load(text, &cfg, &ps), XR_EINVAL);
    ASSERT_PROBLEM(&ps, 5, "security_server.ca_file", "vtj-password");
    ASSERT_PROBLEM(&ps, 7, "security_server.client_key",
                   "cannot load the private key");
    assert_int_equal(ps.n, 2);
}

static void test_secret_file_rules(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    char path[PATH_MAX + 32];

    (void)state;
    snprintf(path, sizeof(path), "%s/vtj-password", fix.dir);
    write_file(path, "\n");
    assert_int_equal(load(minimal, &cfg, &ps), XR_EINVAL);
    ASSERT_PROBLEM(&ps, 8, "vtj.password_file", "empty");
    write_file(path, SECRET "\nsecond line\n");
    assert_int_equal(load(minimal, &cfg, &ps), XR_EINVAL);
    ASSERT_PROBLEM(&ps, 8, "vtj.password_file", "one line");
    write_file(path, SECRET "\r\n"); /* CRLF is one line break */
    assert_int_equal(load(minimal, &cfg, &ps), XR_OK);
    assert_string_equal(cfg->vtj.password, SECRET);
    adp_config_free(cfg);
    write_file(path, SECRET "\n");
}

static void test_missing_file(void **state)
{
    struct adp_config *cfg = (struct adp_config *)&cfg;
    struct problems ps;
    struct xr_error err;
    char path[PATH_MAX + 32];

    (void)state;
    memset(&ps, 0, sizeof(ps));
    snprintf(path, sizeof(path), "%s/does-not-exist.conf", fix.dir);
    assert_int_equal(adp_config_load(path, &cfg, collect, &ps, &err), XR_EIO);
    assert_null(cfg);
    assert_int_equal(ps.n, 1);
    assert_int_equal(ps.p[0].line, 0);
    assert_non_null(strstr(ps.p[0].reason, "does-not-exist.conf"));
}

static void test_problem_print(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    (void)state;
    assert_non_null(f);
    adp_config_problem_print(f, "/etc/vayla/vayla.conf", 7,
                             "security_server.url", "bad");
    adp_config_problem_print(f, "/etc/vayla/vayla.conf", 0, "xroad.client",
                             "required key is missing");
    adp_config_problem_print(f, "x.conf", 3, "", "expected 'key = value'");
    assert_int_equal(fclose(f), 0);
    assert_string_equal(buf, "/etc/vayla/vayla.conf:7: security_server.url: "
                             "bad\n"
                             "/etc/vayla/vayla.conf: xroad.client: required "
                             "key is missing\n"
                             "x.conf:3: expected 'key = value'\n");
    free(buf);
}

static void test_default_path(void **state)
{
    (void)state;
    assert_int_equal(unsetenv(ADP_CONFIG_ENV), 0);
    assert_string_equal(adp_config_default_path(), ADP_CONFIG_DEFAULT_PATH);
    assert_int_equal(setenv(ADP_CONFIG_ENV, "/tmp/x.conf", 1), 0);
    assert_string_equal(adp_config_default_path(), "/tmp/x.conf");
    assert_int_equal(unsetenv(ADP_CONFIG_ENV), 0);
}

static void test_load_string(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    struct xr_error err;
    char path[PATH_MAX + 32];

    (void)state;
    memset(&ps, 0, sizeof(ps));
    snprintf(path, sizeof(path), "%s/virtual.conf", fix.dir);
    assert_int_equal(
        adp_config_load_string(path, minimal, &cfg, collect, &ps, &err), XR_OK);
    assert_string_equal(cfg->dir, realdir);
    adp_config_free(cfg);
}

static void test_daemon_sections(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    char text[8192], want[PATH_MAX + 32];

    (void)state;
    snprintf(text, sizeof(text),
             "%s"
             "[listen]\n"
             "address = ::1\n"
             "port = 0\n"
             "unix_socket = api.sock\n"
             "unix_mode = 0600\n"
             "tls_cert = server.pem\n"
             "tls_key = server.key\n"
             "client_ca = ca.pem\n"
             "[api]\n"
             "threads = 4\n"
             "max_connections = 100\n"
             "max_in_flight = 50\n"
             "retry_after_s = 2\n"
             "drain_timeout_ms = 1000\n"
             "max_body_bytes = 4096\n"
             "max_header_bytes = 2048\n"
             "read_timeout_ms = 5000\n"
             "log_level = debug\n"
             "[caller.app-1]\n"
             "token_sha256 = %s\n"
             "products = PERUSSANOMA 3, PERUSSANOMA 1\n"
             "client = FI-TEST/MUN/0101263-6/other\n"
             "redact_protected_addresses = true\n"
             "rate_per_second = 2.5\n"
             "rate_burst = 10\n"
             "[caller.tls_app]\n"
             "cert_subject = CN=vayla-client\n"
             "allow = vtj_person\n",
             minimal, pin_hex);
    assert_int_equal(load(text, &cfg, &ps), XR_OK);
    assert_string_equal(cfg->listen.address, "::1");
    assert_int_equal(cfg->listen.port, 0);
    snprintf(want, sizeof(want), "%s/api.sock", realdir);
    assert_string_equal(cfg->listen.unix_socket, want);
    assert_int_equal(cfg->listen.unix_mode, 0600);
    assert_non_null(cfg->listen.tls_cert);
    assert_true(cfg->listen.require_client_cert);
    assert_int_equal(cfg->api.threads, 4);
    assert_int_equal(cfg->api.max_connections, 100);
    assert_int_equal(cfg->api.max_in_flight, 50);
    assert_int_equal(cfg->api.retry_after_s, 2);
    assert_int_equal(cfg->api.drain_timeout_ms, 1000);
    assert_int_equal(cfg->api.max_body_bytes, 4096);
    assert_int_equal(cfg->api.max_header_bytes, 2048);
    assert_int_equal(cfg->api.read_timeout_ms, 5000);
    assert_int_equal(cfg->api.log_level, ADP_LOG_DEBUG);
    assert_int_equal(cfg->ncallers, 2);
    assert_string_equal(cfg->callers[0].name, "app-1");
    assert_true(cfg->callers[0].has_token);
    assert_memory_equal(cfg->callers[0].token_sha256, fix.server_fp, 32);
    assert_false(cfg->callers[0].has_cert_sha256);
    assert_int_equal(cfg->callers[0].ops, ADP_OP_VTJ_PERSON);
    assert_int_equal(cfg->callers[0].nproducts, 2);
    assert_string_equal(cfg->callers[0].products[1], "PERUSSANOMA 1");
    assert_true(cfg->callers[0].has_client);
    assert_string_equal(cfg->callers[0].client.subsystem_code, "other");
    assert_true(cfg->callers[0].redact_protected_addresses);
    assert_true(cfg->callers[0].rate.per_second > 2.4 &&
                cfg->callers[0].rate.per_second < 2.6);
    assert_string_equal(cfg->callers[1].name, "tls_app");
    assert_string_equal(cfg->callers[1].cert_subject, "CN=vayla-client");
    assert_true(adp_caller_allows(&cfg->callers[0], ADP_OP_VTJ_PERSON,
                                  "PERUSSANOMA 1"));
    assert_false(adp_caller_allows(&cfg->callers[0], ADP_OP_VTJ_PERSON,
                                   "PERUSSANOMA 5"));
    adp_config_free(cfg);

    /* defaults */
    assert_int_equal(load(minimal, &cfg, &ps), XR_OK);
    assert_null(cfg->listen.address);
    assert_int_equal(cfg->listen.port, ADP_CONFIG_LISTEN_PORT_DEFAULT);
    assert_int_equal(cfg->listen.unix_mode, ADP_CONFIG_UNIX_MODE_DEFAULT);
    assert_int_equal(cfg->api.threads, 0);
    assert_int_equal(cfg->api.max_in_flight, ADP_CONFIG_MAX_IN_FLIGHT_DEFAULT);
    assert_int_equal(cfg->api.log_level, ADP_LOG_INFO);
    assert_int_equal(cfg->ncallers, 0);
    adp_config_free(cfg);
}

/* [caller.NAME] services: repeatable lines that add, versionless entries
 * allowing every version, and lists that fail closed. */
static void test_caller_services(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    struct xr_id svc;
    struct xr_error err;
    char text[8192];

    (void)state;
    snprintf(text, sizeof(text),
             "%s"
             "[caller.gw]\n"
             "token_sha256 = %s\n"
             "allow = xroad_soap, audit\n"
             "services = FI-TEST/GOV/1/prov/echo/v1, FI-TEST/GOV/1/prov/other\n"
             "services = FI-TEST/COM/2/p2/svc\n",
             minimal, pin_hex);
    assert_int_equal(load(text, &cfg, &ps), XR_OK);
    assert_int_equal(cfg->callers[0].ops, ADP_OP_XROAD_SOAP | ADP_OP_AUDIT);
    assert_int_equal(cfg->callers[0].nservices, 3);
    assert_false(adp_caller_allows(&cfg->callers[0], ADP_OP_VTJ_PERSON, NULL));
    assert_int_equal(
        xr_id_parse_service("FI-TEST/GOV/1/prov/echo/v1", &svc, &err), XR_OK);
    assert_true(adp_caller_allows_service(&cfg->callers[0], &svc));
    assert_int_equal(
        xr_id_parse_service("FI-TEST/GOV/1/prov/echo/v2", &svc, &err), XR_OK);
    assert_false(adp_caller_allows_service(&cfg->callers[0], &svc));
    assert_int_equal(
        xr_id_parse_service("FI-TEST/GOV/1/prov/other/v9", &svc, &err), XR_OK);
    assert_true(adp_caller_allows_service(&cfg->callers[0], &svc));
    assert_int_equal(xr_id_parse_service("FI-TEST/COM/2/p2/svc", &svc, &err),
                     XR_OK);
    assert_true(adp_caller_allows_service(&cfg->callers[0], &svc));
    assert_int_equal(xr_id_parse_service("FI-TEST/COM/2/other/svc", &svc, &err),
                     XR_OK);
    assert_false(adp_caller_allows_service(&cfg->callers[0], &svc));
    adp_config_free(cfg);

    /* Without xroad_soap the list allows nothing. */
    snprintf(text, sizeof(text),
             "%s[caller.gw]\ntoken_sha256 = %s\n"
             "services = FI-TEST/COM/2/p2/svc\n",
             minimal, pin_hex);
    assert_int_equal(load(text, &cfg, &ps), XR_OK);
    assert_int_equal(xr_id_parse_service("FI-TEST/COM/2/p2/svc", &svc, &err),
                     XR_OK);
    assert_false(adp_caller_allows_service(&cfg->callers[0], &svc));
    adp_config_free(cfg);

    /* A member-level service (no subsystem) and a bad id are problems. */
    snprintf(text, sizeof(text),
             "%s[caller.gw]\ntoken_sha256 = %s\n" /* 9, 10 */
             "services = FI-TEST/COM/2/svc\n"     /* 11 */
             "services = FI-TEST/COM/2/p2/s!c\n", /* 12 */
             minimal, pin_hex);
    assert_int_equal(load(text, &cfg, &ps), XR_EINVAL);
    ASSERT_PROBLEM(&ps, 11, "caller.gw.services", "INSTANCE/CLASS/CODE");
    ASSERT_PROBLEM(&ps, 12, "caller.gw.services", "INSTANCE/CLASS/CODE");
}

static void test_daemon_errors(void **state)
{
    struct adp_config *cfg = NULL;
    struct problems ps;
    char text[8192];

    (void)state;
    snprintf(text, sizeof(text),
             "%s"                           /* 1-8 */
             "[listen]\n"                   /* 9 */
             "address = localhost\n"        /* 10 */
             "unix_mode = 0999\n"           /* 11 */
             "tls_key = server.key\n"       /* 12 */
             "require_client_cert = true\n" /* 13 */
             "[api]\n"                      /* 14 */
             "log_level = chatty\n"         /* 15 */
             "threads = 65\n"               /* 16 */
             "[caller.a]\n"                 /* 17 */
             "allow = everything\n"         /* 18 */
             "rate_per_second = fast\n"     /* 19 */
             "[caller.a]\n"                 /* 20 */
             "[caller.bad name]\n"          /* 21 */
             "[caller.b]\n"                 /* 22 */
             "token_sha256 = %s\n"          /* 23 */
             "token_sha256 = %s\n",         /* 24 */
             minimal, pin_hex, pin_hex);
    assert_int_equal(load(text, &cfg, &ps), XR_EINVAL);
    ASSERT_PROBLEM(&ps, 10, "listen.address", "not an IPv4 or IPv6 address");
    ASSERT_PROBLEM(&ps, 11, "listen.unix_mode", "octal");
    ASSERT_PROBLEM(&ps, 12, "listen.tls_key", "needs tls_cert");
    ASSERT_PROBLEM(&ps, 13, "listen.require_client_cert", "needs client_ca");
    ASSERT_PROBLEM(&ps, 15, "api.log_level", "not a log level");
    ASSERT_PROBLEM(&ps, 16, "api.threads", "0..64");
    ASSERT_PROBLEM(&ps, 18, "caller.a.allow", "vtj_person");
    ASSERT_PROBLEM(&ps, 19, "caller.a.rate_per_second", "not a number");
    ASSERT_PROBLEM(&ps, 20, "caller.a", "duplicate section (first on line 17)");
    ASSERT_PROBLEM(&ps, 21, "caller.bad name", "caller name");
    ASSERT_PROBLEM(&ps, 24, "caller.b.token_sha256", "duplicate key");
    ASSERT_PROBLEM(&ps, 17, "caller.a", "needs token_sha256");
    assert_int_equal(ps.n, 12);
}

/* `vayla check-config -c FILE` with stdout captured into out. */
static int check_config_cli(const char *path, char *out, size_t size)
{
    char a0[] = "check-config", a1[] = "-c", a2[PATH_MAX + 32];
    char *argv[] = {a0, a1, a2, NULL};
    char outpath[PATH_MAX + 32];
    int saved, fd, rc;
    FILE *f;
    size_t n;

    snprintf(a2, sizeof(a2), "%s", path);
    snprintf(outpath, sizeof(outpath), "%s/stdout", fix.dir);
    fflush(stdout);
    saved = dup(1);
    fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_true(dup2(fd, 1) >= 0);
    close(fd);
    rc = cli_check_config(3, argv);
    fflush(stdout);
    assert_true(dup2(saved, 1) >= 0);
    close(saved);
    f = fopen(outpath, "r");
    assert_non_null(f);
    n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
    unlink(outpath);
    return rc;
}

static void test_check_config_cli(void **state)
{
    char out[256];

    (void)state;
    write_file(conf_path, minimal);
    assert_int_equal(check_config_cli(conf_path, out, sizeof(out)),
                     ADP_EXIT_OK);
    assert_string_equal(out, "configuration OK\n");
    write_file(conf_path, "[vtj]\n");
    assert_int_equal(check_config_cli(conf_path, out, sizeof(out)),
                     ADP_EXIT_USAGE);
    assert_string_equal(out, "");
}

static int group_setup(void **state)
{
    char path[PATH_MAX + 32];

    (void)state;
    if (tlsfix_create(&fix) != 0)
        return -1;
    if (!realpath(fix.dir, realdir))
        return -1;
    snprintf(conf_path, sizeof(conf_path), "%s/vayla.conf", fix.dir);
    snprintf(path, sizeof(path), "%s/vtj-password", fix.dir);
    write_file(path, SECRET "\n");
    tlsfix_fp_hex(fix.server_fp, pin_hex, sizeof(pin_hex));
    return 0;
}

static int group_teardown(void **state)
{
    char path[PATH_MAX + 32];

    (void)state;
    snprintf(path, sizeof(path), "%s/vtj-password", fix.dir);
    (void)unlink(path);
    (void)unlink(conf_path);
    tlsfix_destroy(&fix);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_pin_forms),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_password_env),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_unknown_keys_and_sections),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_cross_checks),
        cmocka_unit_test(test_file_checks),
        cmocka_unit_test(test_secret_file_rules),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_problem_print),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test(test_load_string),
        cmocka_unit_test(test_daemon_sections),
        cmocka_unit_test(test_caller_services),
        cmocka_unit_test(test_daemon_errors),
        cmocka_unit_test(test_check_config_cli),
    };

    return cmocka_run_group_tests_name("config", tests, group_setup,
                                       group_teardown);
}

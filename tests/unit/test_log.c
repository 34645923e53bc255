/*
 * Unit tests for adapter/log.h: plain and journald formats, level
 * filtering, errno, escaping of hostile text, hetu redaction, the line
 * cap, the logfmt access line, and that lines written by several threads
 * never interleave.
 *
 * Output is captured by pointing fd 2 at a temporary file; fd 2 is
 * restored before any assertion so cmocka's messages stay visible.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

#define CAPTURE_MAX (1024u * 1024u)

/*
 * Link-time wrappers (-Wl,--wrap=..., tests/unit/CMakeLists.txt): the
 * journal socket's presence and sd_journal_sendv() are under the test's
 * control, so the structured journald path runs without a journald.
 */
static bool fake_socket_present; /* what access(journal socket) says */
static int fake_sendv_result;    /* what sd_journal_sendv() returns */
static int fake_sendv_calls;
static char fake_fields[8192]; /* the iovecs, one per line */

int __real_access(const char *path, int mode);
int __wrap_access(const char *path, int mode);
int __wrap_sd_journal_sendv(const struct iovec *iov, int n);

int __wrap_access(const char *path, int mode)
{
    if (!strcmp(path, "/run/systemd/journal/socket")) {
        if (fake_socket_present)
            return 0;
        errno = ENOENT;
        return -1;
    }
    return __real_access(path, mode);
}

int __wrap_sd_journal_sendv(const struct iovec *iov, int n)
{
    size_t used = 0;

    fake_sendv_calls++;
    fake_fields[0] = '\0';
    for (int i = 0; i < n; i++) {
        int w =
            snprintf(fake_fields + used, sizeof(fake_fields) - used, "%.*s\n",
                     (int)iov[i].iov_len, (const char *)iov[i].iov_base);

        assert_true(w > 0 && (size_t)w < sizeof(fake_fields) - used);
        used += (size_t)w;
    }
    return fake_sendv_result;
}

/* The captured stderr of one test. */
struct capture {
    int saved_fd; /* the real fd 2 */
    int file_fd;  /* the temporary file */
    char path[64];
};

static void capture_begin(struct capture *c)
{
    snprintf(c->path, sizeof(c->path), "/tmp/vayla-test-log-XXXXXX");
    c->file_fd = mkstemp(c->path);
    assert_true(c->file_fd >= 0);
    unlink(c->path);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(c->file_fd, STDERR_FILENO) == STDERR_FILENO);
}

/* Restore fd 2 and return what was written (malloc'd, NUL-terminated). */
static char *capture_end(struct capture *c)
{
    char *buf = malloc(CAPTURE_MAX + 1);
    ssize_t n;

    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    assert_non_null(buf);
    n = pread(c->file_fd, buf, CAPTURE_MAX, 0);
    close(c->file_fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    return buf;
}

/* Set $JOURNAL_STREAM to the device:inode of fd 2 (the capture file). */
static void pretend_journald(void)
{
    struct stat st;
    char v[64];

    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", v, 1);
}

static void assert_matches(const char *text, const char *pattern)
{
    regex_t re;
    int rc;

    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("'%s' does not match /%s/", text, pattern);
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == c;
    return n;
}

static int setup(void **state)
{
    (void)state;
    fake_socket_present = false;
    fake_sendv_result = 0;
    fake_sendv_calls = 0;
    unsetenv("JOURNAL_STREAM");
    adp_log_init(NULL);
    adp_log_set_level(ADP_LOG_INFO);
    return 0;
}

#define TS_RE \
    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static void test_plain_format(void **state)
{
    struct capture c;
    char *out;

    (void)state;
    capture_begin(&c);
    adp_log_warn("%s: listening on %s:%d", "adp_listen", "127.0.0.1", 8080);
    out = capture_end(&c);
    assert_false(adp_log_is_journald());
    assert_matches(out, "^" TS_RE " warn: adp_listen: listening on "
                        "127\\.0\\.0\\.1:8080\n$");
    free(out);
}

static void test_levels(void **state)
{
    enum adp_log_level lv;
    struct capture c;
    char *out;

    (void)state;
    adp_log_set_level(ADP_LOG_WARN);
    assert_int_equal(adp_log_get_level(), ADP_LOG_WARN);
    assert_true(adp_log_enabled(ADP_LOG_ERR));
    assert_false(adp_log_enabled(ADP_LOG_INFO));
    capture_begin(&c);
    adp_log_debug("dropped-debug");
    adp_log_info("dropped-info");
    adp_log_warn("kept-warn");
    adp_log_err("kept-err");
    adp_log(ADP_LOG_INFO, "dropped-generic");
    adp_log_set_level(ADP_LOG_DEBUG);
    adp_log_debug("kept-debug");
    adp_log(ADP_LOG_INFO, "kept-generic");
    out = capture_end(&c);
    assert_null(strstr(out, "dropped"));
    assert_matches(out,
                   "^" TS_RE " warn: kept-warn\n" TS_RE " err: kept-err\n" TS_RE
                   " debug: kept-debug\n" TS_RE " info: kept-generic\n$");
    free(out);

    assert_string_equal(adp_log_level_name(ADP_LOG_ERR), "err");
    assert_string_equal(adp_log_level_name(ADP_LOG_DEBUG), "debug");
    assert_true(adp_log_level_parse("WARNING", &lv));
    assert_int_equal(lv, ADP_LOG_WARN);
    assert_true(adp_log_level_parse("error", &lv));
    assert_int_equal(lv, ADP_LOG_ERR);
    assert_true(adp_log_level_parse("debug", &lv));
    assert_int_equal(lv, ADP_LOG_DEBUG);
    lv = ADP_LOG_INFO;
    assert_false(adp_log_level_parse("verbose", &lv));
    assert_false(adp_log_level_parse("", &lv));
    assert_false(adp_log_level_parse(NULL, &lv));
    assert_int_equal(lv, ADP_LOG_INFO);
}

static void test_errno(void **state)
{
    struct capture c;
    char *out;

    (void)state;
    capture_begin(&c);
    errno = ENOENT;
    adp_log_errno(ADP_LOG_ERR, "%s: open %s", "load", "/etc/x");
    assert_int_equal(errno, ENOENT); /* preserved */
    errno = EACCES;
    adp_log_info("plain");
    assert_int_equal(errno, EACCES);
    errno = EPERM;
    adp_log_errno(ADP_LOG_DEBUG, "filtered"); /* below INFO: nothing */
    assert_int_equal(errno, EPERM);
    out = capture_end(&c);
    assert_matches(out, "^" TS_RE " err: load: open /etc/x: No such file or "
                        "directory\n" TS_RE " info: plain\n$");
    free(out);
}

static void test_hostile_message(void **state)
{
    struct capture c;
    char *out;

    (void)state;
    capture_begin(&c);
    adp_log_info("a\nb\rc\td\x01"
                 "e\x7f"
                 "f\n2026-01-01T00:00:00.000Z err: forged");
    out = capture_end(&c);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_non_null(strstr(out, " info: a\\nb\\rc\\td\\x01e\\x7ff\\n2026-01-01"
                                "T00:00:00.000Z err: forged\n"));
    free(out);
}

static void test_hetu_redacted(void **state)
{
    struct capture c;
    char *out;

    (void)state;
    capture_begin(&c);
    adp_log_info("q 010101-123N r");
    adp_log_info("(131052A308T) 311299+9876,280264y123a.");
    adp_log_info("010594Y9032");      /* 2000s century letter, whole text */
    adp_log_info("hetu=010101-123N"); /* after '=' */
    /* Not hetu-shaped: kept as they are. */
    adp_log_info("id 12345678-1234-1234-1234-123456789abc");
    adp_log_info("day 2026-11-27 x010101-123N 320101-123N 011301-123N");
    adp_log_info("010101-123NN 010101-12N");
    out = capture_end(&c);
    assert_null(strstr(out, "q 010101"));
    assert_null(strstr(out, "131052A"));
    assert_non_null(strstr(out, "info: q [REDACTED] r\n"));
    assert_non_null(strstr(out, "info: ([REDACTED]) [REDACTED],[REDACTED].\n"));
    assert_non_null(strstr(out, "info: [REDACTED]\n"));
    assert_non_null(strstr(out, "info: hetu=[REDACTED]\n"));
    assert_non_null(strstr(out, "info: id 12345678-1234-1234-1234-"
                                "123456789abc\n"));
    assert_non_null(strstr(out, "info: day 2026-11-27 x010101-123N "
                                "320101-123N 011301-123N\n"));
    assert_non_null(strstr(out, "info: 010101-123NN 010101-12N\n"));
    free(out);
}

/*
 * A message longer than the format buffer, whose cut falls inside a hetu:
 * redaction shortens the text before it, so the cut lands inside the line
 * and the partial hetu must not appear.
 */
static void test_hetu_at_format_cut(void **state)
{
    char *msg = malloc(4096);
    struct capture c;
    size_t n = 0;
    char *out;

    (void)state;
    assert_non_null(msg);
    for (int i = 0; i < 171; i++) {
        memcpy(msg + n, "010101-123N ", 12);
        n += 12;
    }
    memcpy(msg + n, "abcdefg311299-987Z tail", 24);
    capture_begin(&c);
    adp_log_info("%s", msg);
    out = capture_end(&c);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_non_null(strstr(out, "[REDACTED] abcdefg"));
    assert_null(strstr(out, "311299"));
    assert_null(strstr(out, "-123N"));
    assert_memory_equal(out + strlen(out) - 4, "...\n", 4);
    free(out);
    free(msg);
}

static void test_line_cap(void **state)
{
    char *big = malloc(5000);
    struct capture c;
    char *out, *nl;

    (void)state;
    assert_non_null(big);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    /* A multi-byte character right where the cut happens. */
    memcpy(big + 2030, "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4", 8);
    capture_begin(&c);
    adp_log_info("%s", big);
    adp_log_info("after");
    out = capture_end(&c);
    nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_true((size_t)(nl - out) + 1 <= ADP_LOG_LINE_MAX);
    assert_memory_equal(nl - 3, "...", 3);
    /* No broken UTF-8 sequence before the marker. */
    assert_true(((unsigned char)nl[-4] & 0xc0) != 0xc0);
    assert_int_equal(count_char(out, '\n'), 2);
    assert_non_null(strstr(nl + 1, " info: after\n"));
    free(out);
    free(big);
}

static void test_journald(void **state)
{
    struct capture c;
    char *out;

    (void)state;
    capture_begin(&c);
    pretend_journald();
    adp_log_init(NULL);
    adp_log_set_level(ADP_LOG_DEBUG);
    assert_true(adp_log_is_journald());
    adp_log_err("e1");
    adp_log_warn("w1");
    adp_log_info("i1");
    adp_log_debug("d1");
    errno = EPIPE;
    adp_log_errno(ADP_LOG_WARN, "%s: write", "fn");
    out = capture_end(&c);
    assert_string_equal(out, "<3>e1\n<4>w1\n<6>i1\n<7>d1\n"
                             "<4>fn: write: Broken pipe\n");
    free(out);

    /* A stale or malformed JOURNAL_STREAM (fd 2 is something else). */
    setenv("JOURNAL_STREAM", "1:2", 1);
    adp_log_init(NULL);
    assert_false(adp_log_is_journald());
    setenv("JOURNAL_STREAM", "garbage", 1);
    adp_log_init(NULL);
    assert_false(adp_log_is_journald());
    setenv("JOURNAL_STREAM", "", 1);
    adp_log_init(NULL);
    assert_false(adp_log_is_journald());
    unsetenv("JOURNAL_STREAM");
}

static void fill_req(struct adp_log_req *r)
{
    memset(r, 0, sizeof(*r));
    r->req_id = "r-0001";
    r->caller = "CN=app,O=Org";
    r->method = "POST";
    r->path = "/v1/vtj/person";
    r->status = 200;
    r->outcome = "found";
    r->fault_origin = NULL;
    r->xroad_id = "a1b2c3d4-0000-4000-8000-1234567890ab";
    r->duration_us = 12345;
    r->upstream_us = 10002;
    r->audit_us = 1200;
}

static void test_request_line(void **state)
{
    struct adp_log_req r;
    struct capture c;
    char *out;

    (void)state;
    fill_req(&r);
    capture_begin(&c);
    adp_log_request(&r);
    r.caller = NULL;
    r.outcome = "fault";
    r.status = 502;
    r.fault_origin = "server_proxy";
    r.xroad_id = NULL;
    r.path = "/v1/vtj/person?hetu=010101-123N#frag";
    r.upstream_us = -1;
    r.audit_us = -5;
    r.duration_us = 7;
    adp_log_request(&r);
    out = capture_end(&c);
    assert_matches(out,
                   "^ts=" TS_RE " level=info msg=request req_id=r-0001 "
                   "caller=\"CN=app,O=Org\" method=POST path=/v1/vtj/person "
                   "status=200 outcome=found fault_origin=- "
                   "xroad_id=a1b2c3d4-0000-4000-8000-1234567890ab "
                   "duration_ms=12\\.345 upstream_ms=10\\.002 "
                   "audit_ms=1\\.200\n"
                   "ts=" TS_RE " level=info msg=request req_id=r-0001 "
                   "caller=- method=POST path=/v1/vtj/person status=502 "
                   "outcome=fault fault_origin=server_proxy xroad_id=- "
                   "duration_ms=0\\.007 upstream_ms=- audit_ms=-\n$");
    free(out);

    /* Below INFO the access log is off; NULL is ignored. */
    adp_log_set_level(ADP_LOG_WARN);
    capture_begin(&c);
    adp_log_request(&r);
    adp_log_request(NULL);
    out = capture_end(&c);
    assert_string_equal(out, "");
    free(out);
}

static void test_request_hostile(void **state)
{
    char long_id[1000];
    struct adp_log_req r;
    struct capture c;
    char *out;
    const char *p;

    (void)state;
    memset(long_id, 'z', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    fill_req(&r);
    r.req_id = long_id;
    r.caller = "CN=x\" level=err msg=\"forged\nts=1 \\ \x02 end";
    r.xroad_id = "id 010101-123N";
    r.method = "";
    r.outcome = "a=b";
    capture_begin(&c);
    adp_log_request(&r);
    out = capture_end(&c);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_null(strstr(out, "123N"));
    assert_non_null(strstr(out, " xroad_id=\"id [REDACTED]\" "));
    assert_non_null(strstr(out, " caller=\"CN=x\\\" level=err msg=\\\"forged"
                                "\\nts=1 \\\\ \\u0002 end\" "));
    assert_non_null(strstr(out, " method=\"\" "));
    assert_non_null(strstr(out, " outcome=\"a=b\" "));
    /* The id is capped at ADP_LOG_VALUE_MAX bytes plus "...". */
    p = strstr(out, " req_id=");
    assert_non_null(p);
    p += strlen(" req_id=");
    assert_int_equal(strspn(p, "z"), ADP_LOG_VALUE_MAX);
    assert_memory_equal(p + ADP_LOG_VALUE_MAX, "... ", 4);
    free(out);
}

/* A value cut right after a token glued to letters: no hetu-shaped tail. */
static void test_hetu_at_value_cut(void **state)
{
    char id[400];
    struct adp_log_req r;
    struct capture c;
    char *out;

    (void)state;
    memset(id, '_', ADP_LOG_VALUE_MAX - 11);
    snprintf(id + ADP_LOG_VALUE_MAX - 11, sizeof(id) - ADP_LOG_VALUE_MAX + 11,
             "010101-123Nx and more");
    fill_req(&r);
    r.req_id = id;
    capture_begin(&c);
    adp_log_request(&r);
    out = capture_end(&c);
    assert_null(strstr(out, "010101"));
    assert_non_null(strstr(out, "___... caller="));
    free(out);
}

#define JOURNAL_LINE                                                \
    "level=info msg=request req_id=r-0001 caller=\"CN=app,O=Org\" " \
    "method=POST path=/v1/vtj/person status=200 outcome=found "     \
    "fault_origin=- xroad_id=a1b2c3d4-0000-4000-8000-1234567890ab " \
    "duration_ms=12.345 upstream_ms=10.002 audit_ms=1.200"

/* Structured fields through sd_journal_sendv(), and nothing on stderr. */
static void test_request_journal_fields(void **state)
{
    struct adp_log_opts o = {.journal_fields = true};
    struct adp_log_req r;
    struct capture c;
    char *out;

    (void)state;
    fake_socket_present = true;
    fill_req(&r);
    capture_begin(&c);
    pretend_journald();
    adp_log_init(&o);
    adp_log_request(&r);
    r.caller = "evil\nPRIORITY=0";
    r.xroad_id = "010101-123N";
    r.status = 503;
    r.fault_origin = "client_proxy";
    adp_log_request(&r);
    out = capture_end(&c);
    assert_string_equal(out, "");
    assert_int_equal(fake_sendv_calls, 2);
    /* The second record: hostile values stay inside their field. */
    assert_string_equal(fake_fields,
                        "MESSAGE=level=info msg=request req_id=r-0001 "
                        "caller=\"evil\\nPRIORITY=0\" method=POST "
                        "path=/v1/vtj/person status=503 outcome=found "
                        "fault_origin=client_proxy xroad_id=\"[REDACTED]\" "
                        "duration_ms=12.345 upstream_ms=10.002 "
                        "audit_ms=1.200\n"
                        "PRIORITY=6\n"
                        "SYSLOG_IDENTIFIER=vayla\n"
                        "REQ_ID=r-0001\n"
                        "CALLER=evil\\nPRIORITY=0\n"
                        "OUTCOME=found\n"
                        "FAULT_ORIGIN=client_proxy\n"
                        "XROAD_ID=[REDACTED]\n"
                        "STATUS=503\n"
                        "DURATION_MS=12.345\n");
    free(out);
    unsetenv("JOURNAL_STREAM");
    adp_log_init(NULL);
}

/* Without the journal socket, or when sending fails: the stderr line. */
static void test_request_journal_fallback(void **state)
{
    struct adp_log_opts o = {.journal_fields = true};
    struct adp_log_req r;
    struct capture c;
    char *out;

    (void)state;
    fill_req(&r);
    capture_begin(&c);
    pretend_journald();
    fake_socket_present = false; /* sd_journal_sendv() would say "ok" */
    adp_log_init(&o);
    adp_log_request(&r);
    fake_socket_present = true;
    fake_sendv_result = -EAGAIN;
    adp_log_init(&o);
    adp_log_request(&r);
    /* Structured fields off (the default): stderr only. */
    fake_sendv_result = 0;
    adp_log_init(NULL);
    adp_log_request(&r);
    out = capture_end(&c);
    unsetenv("JOURNAL_STREAM");
    adp_log_init(NULL);
    assert_int_equal(fake_sendv_calls, 1); /* only the failing attempt */
    assert_string_equal(out, "<6>" JOURNAL_LINE "\n"
                             "<6>" JOURNAL_LINE "\n"
                             "<6>" JOURNAL_LINE "\n");
    free(out);
}

#define THREADS          4
#define LINES_PER_THREAD 300

static void *log_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    char pad[1200];

    for (int i = 0; i < LINES_PER_THREAD; i++) {
        size_t n = (size_t)((i * 37 + id * 101) % (int)(sizeof(pad) - 1));

        memset(pad, 'a' + id, n);
        pad[n] = '\0';
        adp_log_info("t%d n%d len%zu %s|", id, i, n, pad);
    }
    return NULL;
}

static void test_threads_no_interleaving(void **state)
{
    pthread_t th[THREADS];
    int seen[THREADS][LINES_PER_THREAD];
    struct capture c;
    char *out, *line, *save = NULL;
    int lines = 0;

    (void)state;
    memset(seen, 0, sizeof(seen));
    capture_begin(&c);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, log_thread, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    out = capture_end(&c);
    for (line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int id, n;
        size_t len, k;
        const char *p = strstr(line, " info: t");

        assert_non_null(p);
        assert_int_equal(sscanf(p, " info: t%d n%d len%zu ", &id, &n, &len), 3);
        assert_true(id >= 0 && id < THREADS);
        assert_true(n >= 0 && n < LINES_PER_THREAD);
        p = strchr(strstr(p, " len") + 1, ' ') + 1;
        for (k = 0; k < len; k++)
            assert_int_equal(p[k], 'a' + id);
        assert_string_equal(p + len, "|");
        seen[id][n]++;
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES_PER_THREAD);
    for (int i = 0; i < THREADS; i++) {
        for (int j = 0; j < LINES_PER_THREAD; j++)
            assert_int_equal(seen[i][j], 1);
    }
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_plain_format, setup),
        cmocka_unit_test_setup(test_levels, setup),
        cmocka_unit_test_setup(test_errno, setup),
        cmocka_unit_test_setup(test_hostile_message, setup),
        cmocka_unit_test_setup(test_hetu_redacted, setup),
        cmocka_unit_test_setup(test_hetu_at_format_cut, setup),
        cmocka_unit_test_setup(test_hetu_at_value_cut, setup),
        cmocka_unit_test_setup(test_line_cap, setup),
        cmocka_unit_test_setup(test_journald, setup),
        cmocka_unit_test_setup(test_request_line, setup),
        cmocka_unit_test_setup(test_request_hostile, setup),
        cmocka_unit_test_setup(test_request_journal_fields, setup),
        cmocka_unit_test_setup(test_request_journal_fallback, setup),
        cmocka_unit_test_setup(test_threads_no_interleaving, setup),
    };

    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}

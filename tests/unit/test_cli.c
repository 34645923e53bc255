/*
 * The command-line contract of `vayla envelope` and `vayla check-response`
 * (exit statuses 0 ok, 3 fault, 2 invalid, 1 usage; one JSON object with
 * only the keys that apply), run against the built binary VAYLA_BIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "test_helpers.h"

#ifndef VAYLA_BIN
#error "VAYLA_BIN must name the vayla binary"
#endif

extern char **environ;

static char tmpdir[256];

struct run {
    int status; /* exit status, or -1 when killed / not exited */
    char *out;  /* stdout, NUL-terminated */
    size_t out_len;
    char *err; /* stderr */
    size_t err_len;
};

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Run VAYLA_BIN with argv (NULL-terminated, without argv[0]). */
static void run_vayla(struct run *r, const char *const *args)
{
    char *argv[32];
    char out_path[512], err_path[512];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st = 0, n = 0;

    memset(r, 0, sizeof(*r));
    /* posix_spawn takes char *const[]; it does not modify the strings. */
    argv[n++] = (char *)(uintptr_t)VAYLA_BIN;
    for (const char *const *a = args; *a; a++) {
        assert_true(n < 31);
        argv[n++] = (char *)(uintptr_t)*a;
    }
    argv[n] = NULL;
    snprintf(out_path, sizeof(out_path), "%s/stdout", tmpdir);
    snprintf(err_path, sizeof(err_path), "%s/stderr", tmpdir);
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (posix_spawn(&pid, VAYLA_BIN, &fa, NULL, argv, environ) != 0)
        fail_msg("cannot run %s: %s", VAYLA_BIN, strerror(errno));
    posix_spawn_file_actions_destroy(&fa);
    /* Bounded wait: 30 s, then kill. */
    for (int i = 0; i < 3000; i++) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (i == 2999) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fail_msg("vayla did not finish within 30 s");
        }
        {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->out = (char *)xrt_read_file(out_path, &r->out_len);
    r->err = (char *)xrt_read_file(err_path, &r->err_len);
    assert_non_null(r->out);
    assert_non_null(r->err);
    if (WIFSIGNALED(st))
        fail_msg("vayla died with signal %d; stderr: %s", WTERMSIG(st), r->err);
}

static void write_file(const char *name, const void *data, size_t len,
                       char *path, size_t size)
{
    FILE *f;

    snprintf(path, size, "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* stdout must be exactly one JSON object (trailing white space only). */
static json_t *parse_json(const struct run *r)
{
    json_error_t je;
    json_t *j = json_loadb(r->out, r->out_len, JSON_REJECT_DUPLICATES, &je);

    if (!j)
        fail_msg("stdout is not one JSON object (%s): '%s'", je.text, r->out);
    assert_true(json_is_object(j));
    return j;
}

/* The object has exactly these keys (NULL-terminated). */
static void assert_keys(json_t *obj, ...)
{
    va_list ap;
    const char *k;
    size_t n = 0;

    va_start(ap, obj);
    while ((k = va_arg(ap, const char *)) != NULL) {
        if (!json_object_get(obj, k)) {
            char *dump = json_dumps(obj, JSON_COMPACT);
            va_end(ap);
            fail_msg("JSON lacks key '%s': %s", k, dump ? dump : "?");
        }
        n++;
    }
    va_end(ap);
    if (json_object_size(obj) != n) {
        char *dump = json_dumps(obj, JSON_COMPACT);
        fail_msg("JSON has %zu keys, want %zu: %s", json_object_size(obj), n,
                 dump ? dump : "?");
    }
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v))
        fail_msg("JSON key '%s' is not a string", key);
    return json_string_value(v);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "%s/vayla-cli-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    return xrt_group_setup(state);
}

static int teardown(void **state)
{
    static const char *const names[] = {"stdout",   "stderr",   "req.xml",
                                        "resp.xml", "body.xml", "bad.xml"};
    char path[512];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    return xrt_group_teardown(state);
}

/* ------------------------------------------------------------------ */

static void test_envelope_prints_request(void **state)
{
    struct run r;
    struct xr_request *req = NULL;
    struct xr_error err;
    const struct xr_header *h;
    const char *args[] = {
        "envelope",
        "--client",
        "FI-TEST/MUN/0000000-0/example-adapter",
        "--service",
        "FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1",
        "--user-id",
        "example-user-42",
        "--issue",
        "case <17> & more",
        "--id",
        "fixed-id-1",
        NULL};

    (void)state;
    run_vayla(&r, args);
    assert_int_equal(r.status, 0);
    XRT_ASSERT_OK(xr_request_parse("text/xml; charset=UTF-8",
                                   (const uint8_t *)r.out, r.out_len, NULL,
                                   &req, &err),
                  err);
    h = xr_request_header(req);
    assert_int_equal(h->client.type, XR_ID_SUBSYSTEM);
    assert_string_equal(h->client.subsystem_code, "example-adapter");
    assert_string_equal(h->service.service_code, "HenkilonTunnusKysely");
    assert_string_equal(h->service.service_version, "v1");
    assert_string_equal(h->id, "fixed-id-1");
    assert_string_equal(h->user_id, "example-user-42");
    assert_string_equal(h->issue, "case <17> & more");
    assert_string_equal(h->protocol_version, "4.0");
    assert_string_equal((const char *)xr_request_body(req)->name,
                        "HenkilonTunnusKysely");
    /* Without --body the empty wrapper is in VTJkysely's namespace, as
     * its WSDL requires (never in no namespace). */
    assert_non_null(xr_request_body(req)->ns);
    assert_string_equal((const char *)xr_request_body(req)->ns->href,
                        XRT_NS_BODY);
    xr_request_free(req);
    run_free(&r);
}

/* The empty wrapper's namespace: the metaservices' is X-Road's, an
 * unknown service's must be given (--namespace '' for none). */
static void test_envelope_wrapper_namespace(void **state)
{
    const char *meta[] = {"envelope",
                          "--client",
                          "FI/GOV/1/c",
                          "--service",
                          "FI/GOV/2/p/listMethods",
                          NULL};
    const char *other_ns[] = {"envelope",
                              "--client",
                              "FI/GOV/1/c",
                              "--service",
                              "FI/GOV/2/p/getThing",
                              "--namespace",
                              "urn:example:wrapper",
                              NULL};
    const char *none[] = {"envelope",
                          "--client",
                          "FI/GOV/1/c",
                          "--service",
                          "FI/GOV/2/p/getThing",
                          "--namespace",
                          "",
                          NULL};
    const char *unknown[] = {"envelope",
                             "--client",
                             "FI/GOV/1/c",
                             "--service",
                             "FI/GOV/2/p/getThing",
                             NULL};
    const struct {
        const char *const *args;
        const char *ns; /* NULL: no namespace */
    } ok[] = {{meta, "http://x-road.eu/xsd/xroad.xsd"},
              {other_ns, "urn:example:wrapper"},
              {none, NULL}};
    struct run r;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct xr_request *req = NULL;
        struct xr_error err;
        xmlNodePtr w;
        run_vayla(&r, ok[i].args);
        assert_int_equal(r.status, 0);
        XRT_ASSERT_OK(xr_request_parse(NULL, (const uint8_t *)r.out, r.out_len,
                                       NULL, &req, &err),
                      err);
        w = xr_request_body(req);
        if (ok[i].ns)
            assert_string_equal((const char *)w->ns->href, ok[i].ns);
        else
            assert_null(w->ns);
        xr_request_free(req);
        run_free(&r);
    }
    run_vayla(&r, unknown);
    assert_int_equal(r.status, 1);
    assert_int_equal(r.out_len, 0);
    assert_non_null(strstr(r.err, "--namespace"));
    run_free(&r);
}

static void test_envelope_prefixes_body_uuid(void **state)
{
    struct run r;
    struct xr_request *req = NULL;
    struct xr_error err;
    char body_path[512];
    static const char body[] =
        "<vtj:HenkilonTunnusKysely xmlns:vtj=\"" XRT_NS_BODY "\">"
        "<vtj:request><vtj:Henkilotunnus>010101-999X</vtj:Henkilotunnus>"
        "</vtj:request></vtj:HenkilonTunnusKysely>";
    const char *args[] = {
        "envelope",
        "--client",
        "SUBSYSTEM:FI/GOV/0245437-2/client",
        "--service",
        "SERVICE:FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1",
        "--body",
        body_path,
        NULL};
    const char *id;

    (void)state;
    write_file("body.xml", body, sizeof(body) - 1, body_path,
               sizeof(body_path));
    run_vayla(&r, args);
    assert_int_equal(r.status, 0);
    XRT_ASSERT_OK(xr_request_parse(NULL, (const uint8_t *)r.out, r.out_len,
                                   NULL, &req, &err),
                  err);
    assert_string_equal((const char *)xr_request_body(req)->ns->href,
                        XRT_NS_BODY);
    assert_false(xr_request_header(req)->has_user_id);
    assert_false(xr_request_header(req)->has_issue);
    /* No --id: a UUIDv7. */
    id = xr_request_header(req)->id;
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '7');
    xr_request_free(req);
    run_free(&r);
}

static void test_envelope_usage_errors(void **state)
{
    char bad_path[512];
    static const char bad_body[] = "<Other/>";
    const char *no_service[] = {"envelope", "--client", "FI/GOV/1", NULL};
    const char *no_client[] = {"envelope", "--service", "FI/GOV/1/svc", NULL};
    const char *bad_client[] = {"envelope",  "--client",     "FI/GOV",
                                "--service", "FI/GOV/1/svc", NULL};
    const char *bad_chars[] = {"envelope",  "--client",     "FI/GOV/a b",
                               "--service", "FI/GOV/1/svc", NULL};
    const char *bad_service[] = {"envelope",  "--client", "FI/GOV/1",
                                 "--service", "FI/GOV/1", NULL};
    const char *unknown_opt[] = {"envelope",  "--client",     "FI/GOV/1",
                                 "--service", "FI/GOV/1/svc", "--frobnicate",
                                 NULL};
    const char *missing_body[] = {"envelope",
                                  "--client",
                                  "FI/GOV/1",
                                  "--service",
                                  "FI/GOV/1/svc",
                                  "--body",
                                  "/nonexistent/body.xml",
                                  NULL};
    const char *wrong_body[] = {
        "envelope",     "--client", "FI/GOV/1", "--service",
        "FI/GOV/1/svc", "--body",   bad_path,   NULL};
    const char *const *cases[] = {no_service,   no_client,   bad_client,
                                  bad_chars,    bad_service, unknown_opt,
                                  missing_body, wrong_body};

    (void)state;
    write_file("bad.xml", bad_body, sizeof(bad_body) - 1, bad_path,
               sizeof(bad_path));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        run_vayla(&r, cases[i]);
        if (r.status != 1)
            fail_msg("case %zu: exit %d, want 1 (stderr: %s)", i, r.status,
                     r.err);
        assert_int_equal(r.out_len, 0);
        assert_true(r.err_len > 0);
        run_free(&r);
    }
}

/* Write a request (built in-process) and a response; run check-response. */
static void check(const struct xr_request *req, const char *resp,
                  size_t resp_len, const char *ct, bool allow_missing,
                  struct run *r)
{
    char req_path[512], resp_path[512];
    struct xr_bytes b = xr_request_bytes(req);
    const char *args[12];
    int n = 0;

    write_file("req.xml", b.ptr, b.len, req_path, sizeof(req_path));
    write_file("resp.xml", resp, resp_len, resp_path, sizeof(resp_path));
    args[n++] = "check-response";
    args[n++] = "--request";
    args[n++] = req_path;
    args[n++] = "--response";
    args[n++] = resp_path;
    if (ct) {
        args[n++] = "--content-type";
        args[n++] = ct;
    }
    if (allow_missing)
        args[n++] = "--allow-missing-request-hash";
    args[n] = NULL;
    run_vayla(r, args);
}

static void check_msg(const struct xr_request *req, const struct xrt_msg *m,
                      bool allow_missing, struct run *r)
{
    size_t len;
    char *text = xrt_msg_render(m, &len);

    check(req, text, len, NULL, allow_missing, r);
    free(text);
}

static void test_check_ok(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct run r;
    json_t *j;

    (void)state;
    xrt_msg_echo(&m, req, true);
    check_msg(req, &m, false, &r);
    assert_int_equal(r.status, 0);
    j = parse_json(&r);
    assert_keys(j, "status", NULL);
    assert_string_equal(jstr(j, "status"), "ok");
    json_decref(j);
    run_free(&r);
    xr_request_free(req);
}

static void test_check_fault(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct run r;
    json_t *j, *f;
    static const char fault[] =
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" XR_NS_SOAP11 "\">"
        "<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>server.serverproxy."
        "access_denied</faultcode><faultstring>Request is not allowed"
        "</faultstring><faultactor></faultactor><detail><faultDetail "
        "xmlns=\"\">a1b2</faultDetail></detail></SOAP-ENV:Fault>"
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>";

    (void)state;
    check(req, fault, sizeof(fault) - 1, NULL, false, &r);
    assert_int_equal(r.status, 3);
    j = parse_json(&r);
    assert_keys(j, "status", "fault", NULL);
    assert_string_equal(jstr(j, "status"), "fault");
    f = json_object_get(j, "fault");
    assert_true(json_is_object(f));
    assert_string_equal(jstr(f, "code"), "server.serverproxy.access_denied");
    assert_string_equal(jstr(f, "string"), "Request is not allowed");
    assert_string_equal(jstr(f, "origin"), "server_proxy");
    assert_string_equal(jstr(f, "detail"), "a1b2");
    json_decref(j);
    run_free(&r);
    xr_request_free(req);
}

static void test_check_fault_long_utf8(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_buf b = {0};
    struct run r;
    json_t *j, *f;

    (void)state;
    xrt_buf_adds(&b, "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" XR_NS_SOAP11
                     "\"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>Client.X"
                     "</faultcode><faultstring>x");
    xrt_buf_repeat(&b, "\xc3\xa4", 700);
    xrt_buf_adds(&b, "</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body>"
                     "</SOAP-ENV:Envelope>");
    check(req, b.p, b.len, NULL, false, &r);
    assert_int_equal(r.status, 3);
    j = parse_json(&r);
    f = json_object_get(j, "fault");
    assert_true(json_is_object(f));
    /* A truncated faultstring still arrives, as valid UTF-8. */
    assert_true(strlen(jstr(f, "string")) > 1000);
    assert_string_equal(jstr(f, "origin"), "client");
    json_decref(j);
    run_free(&r);
    xrt_buf_free(&b);
    xr_request_free(req);
}

static void test_check_invalid(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct run r;
    json_t *j, *e;

    (void)state;
    /* Header mismatch names the field. */
    xrt_msg_echo(&m, req, true);
    xrt_text_xml(m.user_id, sizeof(m.user_id), "userId", "someone-else");
    check_msg(req, &m, false, &r);
    assert_int_equal(r.status, 2);
    j = parse_json(&r);
    assert_keys(j, "status", "error", NULL);
    assert_string_equal(jstr(j, "status"), "invalid");
    e = json_object_get(j, "error");
    assert_keys(e, "code", "message", "field", NULL);
    assert_string_equal(jstr(e, "code"), "header_mismatch");
    assert_string_equal(jstr(e, "field"), "userId");
    assert_true(strlen(jstr(e, "message")) > 0);
    json_decref(j);
    run_free(&r);

    /* Wrong hash. */
    xrt_msg_echo(&m, req, true);
    xrt_hash_xml(m.request_hash, sizeof(m.request_hash), XR_HASH_ALGO_URI,
                 "foo");
    check_msg(req, &m, true, &r);
    assert_int_equal(r.status, 2);
    j = parse_json(&r);
    assert_string_equal(jstr(json_object_get(j, "error"), "code"),
                        "request_hash_mismatch");
    json_decref(j);
    run_free(&r);

    /* Not XML at all: no "field" when none applies. */
    check(req, "<oops", 5, NULL, false, &r);
    assert_int_equal(r.status, 2);
    j = parse_json(&r);
    e = json_object_get(j, "error");
    assert_string_equal(jstr(e, "code"), "malformed_xml");
    assert_null(json_object_get(e, "field"));
    assert_keys(e, "code", "message", NULL);
    json_decref(j);
    run_free(&r);
    xr_request_free(req);
}

static void test_check_missing_hash(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct run r;
    json_t *j;

    (void)state;
    xrt_msg_echo(&m, req, false);
    check_msg(req, &m, false, &r);
    assert_int_equal(r.status, 2);
    j = parse_json(&r);
    assert_string_equal(jstr(json_object_get(j, "error"), "code"),
                        "request_hash_missing");
    json_decref(j);
    run_free(&r);

    check_msg(req, &m, true, &r);
    assert_int_equal(r.status, 0);
    j = parse_json(&r);
    assert_keys(j, "status", NULL);
    assert_string_equal(jstr(j, "status"), "ok");
    json_decref(j);
    run_free(&r);
    xr_request_free(req);
}

static void test_check_multipart(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct xrt_buf b = {0};
    struct run r;
    size_t len;
    char *soap;
    json_t *j;

    (void)state;
    xrt_msg_echo(&m, req, true);
    soap = xrt_msg_render(&m, &len);
    xrt_buf_adds(&b,
                 "--MIMEb\r\nContent-Type: text/xml; charset=UTF-8\r\n\r\n");
    xrt_buf_addn(&b, soap, len);
    xrt_buf_adds(&b, "\r\n--MIMEb\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
                     "--MIMEb--\r\n");
    check(req, b.p, b.len,
          "multipart/related; type=\"text/xml\"; "
          "boundary=\"MIMEb\"",
          false, &r);
    assert_int_equal(r.status, 0);
    j = parse_json(&r);
    assert_string_equal(jstr(j, "status"), "ok");
    json_decref(j);
    run_free(&r);

    /* Without the content type the multipart body is not XML. */
    check(req, b.p, b.len, NULL, false, &r);
    assert_int_equal(r.status, 2);
    run_free(&r);
    xrt_buf_free(&b);
    free(soap);
    xr_request_free(req);
}

static void test_check_usage_errors(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    char req_path[512], resp_path[512], bad_path[512];
    size_t len;
    char *text;
    struct xr_bytes b = xr_request_bytes(req);

    (void)state;
    xrt_msg_echo(&m, req, true);
    text = xrt_msg_render(&m, &len);
    write_file("req.xml", b.ptr, b.len, req_path, sizeof(req_path));
    write_file("resp.xml", text, len, resp_path, sizeof(resp_path));
    write_file("bad.xml", "<not-soap/>", 11, bad_path, sizeof(bad_path));
    {
        const char *no_resp[] = {"check-response", "--request", req_path, NULL};
        const char *no_req[] = {"check-response", "--response", resp_path,
                                NULL};
        const char *missing_file[] = {
            "check-response", "--request", "/nonexistent/req.xml",
            "--response",     resp_path,   NULL};
        const char *missing_resp[] = {
            "check-response",        "--request", req_path, "--response",
            "/nonexistent/resp.xml", NULL};
        const char *bad_req[] = {"check-response", "--request", bad_path,
                                 "--response",     resp_path,   NULL};
        const char *extra[] = {
            "check-response", "--request", req_path, "--response",
            resp_path,        "stray",     NULL};
        const char *unknown[] = {
            "check-response", "--request", req_path, "--response",
            resp_path,        "--nope",    NULL};
        const char *const *cases[] = {no_resp,      no_req,  missing_file,
                                      missing_resp, bad_req, extra,
                                      unknown};
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct run r;
            run_vayla(&r, cases[i]);
            if (r.status != 1)
                fail_msg("case %zu: exit %d, want 1 (stdout: %s)", i, r.status,
                         r.out);
            assert_true(r.err_len > 0);
            run_free(&r);
        }
    }
    /* The same files, correctly given, pass. */
    {
        const char *ok[] = {"check-response", "--request", req_path,
                            "--response",     resp_path,   NULL};
        struct run r;
        run_vayla(&r, ok);
        assert_int_equal(r.status, 0);
        run_free(&r);
    }
    free(text);
    xr_request_free(req);
}

static void test_envelope_then_check(void **state)
{
    struct run r;
    struct xr_request *req = NULL;
    struct xr_error err;
    struct xrt_msg m;
    json_t *j;
    const char *args[] = {"envelope",
                          "--client",
                          "FI/MUN/1234567-8/app",
                          "--service",
                          "FI/GOV/0245437-2/VTJkysely/Ping",
                          "--user-id",
                          "u1",
                          NULL};

    (void)state;
    /* The CLI's own envelope, answered, judged by the CLI. */
    run_vayla(&r, args);
    assert_int_equal(r.status, 0);
    XRT_ASSERT_OK(xr_request_parse(NULL, (const uint8_t *)r.out, r.out_len,
                                   NULL, &req, &err),
                  err);
    run_free(&r);
    xrt_msg_echo(&m, req, true);
    check_msg(req, &m, false, &r);
    assert_int_equal(r.status, 0);
    j = parse_json(&r);
    assert_string_equal(jstr(j, "status"), "ok");
    json_decref(j);
    run_free(&r);
    xr_request_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_prints_request),
        cmocka_unit_test(test_envelope_prefixes_body_uuid),
        cmocka_unit_test(test_envelope_wrapper_namespace),
        cmocka_unit_test(test_envelope_usage_errors),
        cmocka_unit_test(test_check_ok),
        cmocka_unit_test(test_check_fault),
        cmocka_unit_test(test_check_fault_long_utf8),
        cmocka_unit_test(test_check_invalid),
        cmocka_unit_test(test_check_missing_hash),
        cmocka_unit_test(test_check_multipart),
        cmocka_unit_test(test_check_usage_errors),
        cmocka_unit_test(test_envelope_then_check),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("cli", tests, setup, teardown);
}

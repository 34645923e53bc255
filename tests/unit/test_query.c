/*
 * `vayla query person` end to end, in process: cli_query() against a small
 * X-Road-like security server (libevent evhttp on 127.0.0.1, port 0, in
 * its own thread) that echoes the request header, adds requestHash and
 * answers with a VTJ body chosen by the test. Checks the JSON printed on
 * stdout and every documented exit status.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <xroad/xroad.h>

#include "audit.h"
#include "cli.h"

#define HETU     "150380-903V"
#define NEW_HETU "260991-999R" /* test identity, valid on FI-TEST */
#define SECRET   "query-Test-Secret"

enum ss_mode {
    SS_FOUND,
    SS_NOT_FOUND,
    SS_PASSIVATED, /* 0002 + new hetu for HETU, found for the new one */
    SS_FAULT,
    SS_FAULT_404,
    SS_HTML_500,
    SS_BAD_HASH,
    SS_NOT_XML
};

struct ss {
    struct event_base *base;
    struct evhttp *http;
    int port;
    pthread_t thread;
    atomic_bool stop;
    atomic_int mode; /* enum ss_mode */
    atomic_uint requests;
    atomic_bool saw_secret_in_body; /* the password travels in the body */
};

static struct ss ss;
static char dir[PATH_MAX];
static char conf[PATH_MAX + 32];
static char pwfile[PATH_MAX + 32];

/* ---- the mock security server (its own thread, no cmocka asserts) ------ */

static void b64_sha512(const void *data, size_t len, char out[89])
{
    unsigned char md[64];
    unsigned int mdlen = 0;

    out[0] = '\0';
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha512(), NULL) == 1 &&
        mdlen == 64)
        EVP_EncodeBlock((unsigned char *)out, md, 64);
}

static void vtj_body(struct evbuffer *out, const char *queried,
                     const char *code, const char *person_hetu)
{
    evbuffer_add_printf(
        out,
        "<SOAP-ENV:Body><HenkilonTunnusKyselyResponse "
        "xmlns=\"http://xml.vrk.fi/ws/vtj/vtjkysely/1\"><request>"
        "<SoSoNimi>PERUSSANOMA 3</SoSoNimi><Kayttajatunnus>u</Kayttajatunnus>"
        "<Loppukayttaja>test-user</Loppukayttaja>"
        "<Henkilotunnus>%s</Henkilotunnus></request><response>",
        queried);
    if (!code) {
        evbuffer_add_printf(out, "<faultCode>0001</faultCode><faultString>"
                                 "Hakuperusteella ei l\xc3\xb6ydy tietoja"
                                 "</faultString>");
    } else {
        evbuffer_add_printf(
            out,
            "<VTJHenkiloVastaussanoma xmlns=\"http://xml.vrk.fi/schema/"
            "vtjkysely\" sanomatunnus=\"PERUSSANOMA 3\" "
            "tietojenPoimintaaika=\"20250101120000\" versio=\"1.0\">"
            "<Paluukoodi koodi=\"%s\">Haku onnistui</Paluukoodi>"
            "<Hakuperusteet><Henkilotunnus hakuperustePaluukoodi=\"1\">%s"
            "</Henkilotunnus></Hakuperusteet><Henkilo>"
            "<Henkilotunnus voimassaolokoodi=\"1\">%s</Henkilotunnus>"
            "<NykyinenSukunimi><Sukunimi>Esimerkki</Sukunimi>"
            "</NykyinenSukunimi></Henkilo></VTJHenkiloVastaussanoma>",
            code, queried, person_hetu);
    }
    evbuffer_add_printf(out, "</response></HenkilonTunnusKyselyResponse>"
                             "</SOAP-ENV:Body>");
}

static void ss_handle(struct evhttp_request *req, void *arg)
{
    struct ss *s = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evbuffer *out = evbuffer_new();
    size_t len = evbuffer_get_length(in);
    char *text = malloc(len + 1);
    char hash[89], queried[32] = "";
    const char *hdr_end, *body, *h, *e;
    int status = 200;

    s->requests++;
    if (!text || !out)
        goto fail;
    evbuffer_copyout(in, text, len);
    text[len] = '\0';
    if (strstr(text, SECRET))
        s->saw_secret_in_body = true;
    h = strstr(text, "<Henkilotunnus>");
    e = h ? strstr(h, "</Henkilotunnus>") : NULL;
    if (h && e && (size_t)(e - h - 15) < sizeof(queried)) {
        memcpy(queried, h + 15, (size_t)(e - h - 15));
        queried[e - h - 15] = '\0';
    }
    hdr_end = strstr(text, "</SOAP-ENV:Header>");
    body = strstr(text, "<SOAP-ENV:Body>");
    if (!hdr_end || !body)
        goto fail;
    b64_sha512(text, len, hash);
    if (s->mode == SS_BAD_HASH)
        hash[0] = hash[0] == 'A' ? 'B' : 'A';
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/xml; charset=UTF-8");
    switch ((enum ss_mode)s->mode) {
    case SS_FAULT:
    case SS_FAULT_404:
        evbuffer_add_printf(
            out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope"
                 " xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/"
                 "\"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>"
                 "Server.ServerProxy.AccessDenied</faultcode><faultstring>"
                 "Request is not allowed</faultstring><faultactor>"
                 "</faultactor><detail><faultDetail xmlns=\"\">f31e7451"
                 "</faultDetail></detail></SOAP-ENV:Fault></SOAP-ENV:Body>"
                 "</SOAP-ENV:Envelope>");
        status = s->mode == SS_FAULT ? 200 : 404;
        break;
    case SS_HTML_500:
        evbuffer_add_printf(out, "<html><body>proxy error</body></html>");
        status = 500;
        break;
    case SS_NOT_XML:
        evbuffer_add_printf(out, "this is not XML");
        break;
    case SS_FOUND:
    case SS_NOT_FOUND:
    case SS_PASSIVATED:
    case SS_BAD_HASH:
        /* echo everything up to the end of the header, add requestHash */
        evbuffer_add(out, text, (size_t)(hdr_end - text));
        evbuffer_add_printf(out,
                            "<xrd:requestHash algorithmId=\"http://www.w3.org/"
                            "2001/04/xmlenc#sha512\">%s</xrd:requestHash>"
                            "</SOAP-ENV:Header>",
                            hash);
        if (s->mode == SS_NOT_FOUND)
            vtj_body(out, queried, NULL, NULL);
        else if (s->mode == SS_PASSIVATED && strcmp(queried, HETU) == 0)
            vtj_body(out, queried, "0002", NEW_HETU);
        else
            vtj_body(out, queried, "0000", queried);
        evbuffer_add_printf(out, "</SOAP-ENV:Envelope>");
        break;
    }
    evhttp_send_reply(req, status, "X", out);
    evbuffer_free(out);
    free(text);
    return;
fail:
    evhttp_send_error(req, 400, NULL);
    evbuffer_free(out);
    free(text);
}

static void ss_tick(evutil_socket_t fd, short what, void *arg)
{
    struct ss *s = arg;

    (void)fd;
    (void)what;
    if (s->stop)
        event_base_loopbreak(s->base);
}

static void *ss_main(void *arg)
{
    struct ss *s = arg;
    struct timeval tv = {0, 20000};
    struct event *tick = event_new(s->base, -1, EV_PERSIST, ss_tick, s);

    if (tick && event_add(tick, &tv) == 0)
        event_base_dispatch(s->base);
    if (tick)
        event_free(tick);
    return NULL;
}

static int ss_start(void)
{
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);

    memset(&ss, 0, sizeof(ss));
    ss.base = event_base_new();
    ss.http = ss.base ? evhttp_new(ss.base) : NULL;
    if (!ss.http)
        return -1;
    evhttp_set_gencb(ss.http, ss_handle, &ss);
    bs = evhttp_bind_socket_with_handle(ss.http, "127.0.0.1", 0);
    if (!bs || getsockname(evhttp_bound_socket_get_fd(bs),
                           (struct sockaddr *)&sin, &sl) != 0)
        return -1;
    ss.port = ntohs(sin.sin_port);
    return pthread_create(&ss.thread, NULL, ss_main, &ss) == 0 ? 0 : -1;
}

static void ss_stop(void)
{
    ss.stop = true;
    pthread_join(ss.thread, NULL);
    evhttp_free(ss.http);
    event_base_free(ss.base);
}

/* ---- running the command ----------------------------------------------- */

static const char *audit_line; /* extra "[audit]" section, or NULL */

static void write_config(int port, bool follow)
{
    FILE *f = fopen(conf, "w");

    assert_non_null(f);
    fprintf(f,
            "[xroad]\n"
            "client = SUBSYSTEM:FI-TEST/MUN/0101263-6/vayla-demo\n"
            "[security_server]\n"
            "url = http://127.0.0.1:%d/\n"
            "connect_timeout_ms = 20000\n"
            "timeout_ms = 60000\n"
            "[vtj]\n"
            "service = FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/"
            "v1\n"
            "username = vayla-demo\n"
            "password_file = vtj-password\n"
            "follow_passivated = %s\n",
            port, follow ? "true" : "false");
    if (audit_line)
        fprintf(f, "[audit]\npath = %s\n", audit_line);
    assert_int_equal(fclose(f), 0);
}

/* cli_query() with a NULL-terminated list of arguments (copied). */
static int call_query(const char *first, ...)
{
    char *argv[16];
    int argc = 0, rc;
    const char *a;
    va_list ap;

    va_start(ap, first);
    for (a = first; a && argc < 15; a = va_arg(ap, const char *)) {
        argv[argc] = strdup(a);
        assert_non_null(argv[argc]);
        argc++;
    }
    va_end(ap);
    argv[argc] = NULL;
    rc = cli_query(argc, argv);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return rc;
}

/* Run `vayla query person ...` with stdout captured; returns the status. */
static int run_query(const char *hetu, json_t **out)
{
    char outpath[PATH_MAX + 32];
    json_error_t jerr;
    int saved, fd, rc;

    snprintf(outpath, sizeof(outpath), "%s/stdout", dir);
    fflush(stdout);
    saved = dup(1);
    fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_true(dup2(fd, 1) >= 0);
    close(fd);
    rc = call_query("query", "person", hetu, "--user-id", "test-user",
                    "--issue", "case-1", "-c", conf, (const char *)NULL);
    fflush(stdout);
    assert_true(dup2(saved, 1) >= 0);
    close(saved);
    *out = json_load_file(outpath, 0, &jerr);
    unlink(outpath);
    return rc;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void setup_mode(enum ss_mode mode, bool follow)
{
    ss.mode = mode;
    write_config(ss.port, follow);
}

/* ---- tests ------------------------------------------------------------- */

static void test_found(void **state)
{
    json_t *o = NULL;
    unsigned before = ss.requests;

    (void)state;
    setup_mode(SS_FOUND, true);
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_OK);
    assert_non_null(o);
    assert_string_equal(jstr(o, "status"), "ok");
    assert_string_equal(jstr(o, "outcome"), "found");
    assert_int_equal(strlen(jstr(o, "message_id")), 36);
    assert_true(json_is_object(json_object_get(o, "person")));
    assert_null(json_object_get(o, "message_ids"));
    assert_int_equal(ss.requests, before + 1);
    assert_true(ss.saw_secret_in_body);
    json_decref(o);
}

static void test_not_found(void **state)
{
    json_t *o = NULL;

    (void)state;
    setup_mode(SS_NOT_FOUND, true);
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_NOTFOUND);
    assert_string_equal(jstr(o, "status"), "ok");
    assert_string_equal(jstr(o, "outcome"), "not_found");
    json_decref(o);
}

static void test_passivated(void **state)
{
    json_t *o = NULL, *ids;
    unsigned before;

    (void)state;
    setup_mode(SS_PASSIVATED, true);
    before = ss.requests;
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_OK);
    assert_int_equal(ss.requests, before + 2);
    assert_string_equal(jstr(o, "outcome"), "found");
    ids = json_object_get(o, "message_ids");
    assert_int_equal(json_array_size(ids), 2);
    assert_string_equal(json_string_value(json_array_get(ids, 1)),
                        jstr(o, "message_id"));
    assert_string_not_equal(json_string_value(json_array_get(ids, 0)),
                            jstr(o, "message_id"));
    json_decref(o);

    /* not followed when the configuration says so */
    setup_mode(SS_PASSIVATED, false);
    before = ss.requests;
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_NOTFOUND);
    assert_int_equal(ss.requests, before + 1);
    assert_string_equal(jstr(o, "outcome"), "passivated");
    json_decref(o);
}

static void test_fault(void **state)
{
    json_t *o = NULL, *f;

    (void)state;
    setup_mode(SS_FAULT, true);
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_FAULT);
    assert_string_equal(jstr(o, "status"), "fault");
    f = json_object_get(o, "fault");
    assert_string_equal(jstr(f, "code"), "Server.ServerProxy.AccessDenied");
    assert_string_equal(jstr(f, "origin"), "server_proxy");
    assert_string_equal(jstr(f, "detail"), "f31e7451");
    assert_non_null(jstr(o, "message_id"));
    json_decref(o);

    /* a fault behind an unexpected HTTP status is still the fault */
    setup_mode(SS_FAULT_404, true);
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_FAULT);
    assert_string_equal(jstr(o, "status"), "fault");
    json_decref(o);
}

static void test_invalid(void **state)
{
    json_t *o = NULL;

    (void)state;
    setup_mode(SS_BAD_HASH, true);
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_INVALID);
    assert_string_equal(jstr(o, "status"), "invalid");
    assert_string_equal(jstr(json_object_get(o, "error"), "code"),
                        "request_hash_mismatch");
    json_decref(o);

    setup_mode(SS_NOT_XML, true);
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_INVALID);
    assert_string_equal(jstr(o, "status"), "invalid");
    json_decref(o);
}

static void test_transport(void **state)
{
    json_t *o = NULL, *e;
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    int fd, port;

    (void)state;
    /* HTML error page with 500: an HTTP failure, not an invalid answer */
    setup_mode(SS_HTML_500, true);
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_TRANSPORT);
    assert_string_equal(jstr(o, "status"), "transport_error");
    e = json_object_get(o, "error");
    assert_string_equal(jstr(e, "code"), "http_status");
    assert_int_equal(json_integer_value(json_object_get(e, "http_status")),
                     500);
    json_decref(o);

    /* nobody listening */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    port = ntohs(sin.sin_port);
    close(fd);
    write_config(port, true);
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_TRANSPORT);
    assert_string_equal(jstr(json_object_get(o, "error"), "code"),
                        "connect_failed");
    assert_non_null(jstr(o, "message_id"));
    json_decref(o);
}

static void test_usage_errors(void **state)
{
    json_t *o = NULL;
    unsigned before = ss.requests;

    (void)state;
    setup_mode(SS_FOUND, true);
    /* invalid hetu: refused before anything is sent */
    assert_int_equal(run_query("150380-903X", &o), ADP_EXIT_USAGE);
    assert_null(o);
    assert_int_equal(ss.requests, before);
    assert_int_equal(call_query("query", "someone", HETU, (const char *)NULL),
                     ADP_EXIT_USAGE);
    assert_int_equal(
        call_query("query", "person", HETU, "--issue", "x", (const char *)NULL),
        ADP_EXIT_USAGE);

    /* configuration problems */
    write_config(ss.port, true);
    unlink(pwfile);
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_USAGE);
    assert_null(o);
    assert_int_equal(ss.requests, before);
}

struct found_rows {
    unsigned n;
    char result_class[32];
    char caller[64];
    char subject[32];
    char purpose[32];
    bool has_response;
};

static int on_query_row(void *ctx, const struct adp_audit_row *intent,
                        const struct adp_audit_row *outcome)
{
    struct found_rows *f = ctx;

    f->n++;
    snprintf(f->caller, sizeof(f->caller), "%s",
             intent->caller ? intent->caller : "");
    snprintf(f->subject, sizeof(f->subject), "%s",
             intent->subject ? intent->subject : "");
    snprintf(f->purpose, sizeof(f->purpose), "%s",
             intent->purpose ? intent->purpose : "");
    snprintf(f->result_class, sizeof(f->result_class), "%s",
             outcome && outcome->result_class ? outcome->result_class : "");
    f->has_response = outcome && outcome->response_sha512;
    return 0;
}

/* The audit rows of one message id. */
static void audit_lookup(const char *path, const char *message_id,
                         struct found_rows *f)
{
    struct adp_audit_options ao = {.read_only = true};
    struct adp_audit_filter flt;
    struct adp_audit *a = NULL;
    struct xr_error err;

    memset(f, 0, sizeof(*f));
    memset(&flt, 0, sizeof(flt));
    flt.message_id = message_id;
    assert_int_equal(adp_audit_open(path, &ao, &a, &err), XR_OK);
    assert_int_equal(adp_audit_search(a, &flt, on_query_row, f, &err), XR_OK);
    adp_audit_close(a);
}

static void test_audit(void **state)
{
    char path[PATH_MAX + 32], bad[PATH_MAX + 64];
    struct found_rows rows;
    json_t *o = NULL;
    unsigned before;

    (void)state;
    snprintf(path, sizeof(path), "%s/audit.db", dir);
    audit_line = path;
    setup_mode(SS_FOUND, true);
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_OK);
    audit_lookup(path, jstr(o, "message_id"), &rows);
    assert_int_equal(rows.n, 1);
    assert_string_equal(rows.result_class, "found");
    assert_string_equal(rows.subject, HETU);
    assert_string_equal(rows.purpose, "case-1");
    assert_true(strncmp(rows.caller, "cli:uid=", 8) == 0);
    assert_true(rows.has_response);
    json_decref(o);

    setup_mode(SS_FAULT, true);
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_FAULT);
    audit_lookup(path, jstr(o, "message_id"), &rows);
    assert_string_equal(rows.result_class, "fault");
    json_decref(o);

    /* no usable audit store: nothing is sent */
    snprintf(bad, sizeof(bad), "%s/no-such-dir/audit.db", dir);
    audit_line = bad;
    setup_mode(SS_FOUND, true);
    before = ss.requests;
    assert_int_equal(run_query(HETU, &o), ADP_EXIT_USAGE);
    assert_null(o);
    assert_int_equal(ss.requests, before);
    audit_line = NULL;
    unlink(path);
    snprintf(bad, sizeof(bad), "%s-wal", path);
    unlink(bad);
    snprintf(bad, sizeof(bad), "%s-shm", path);
    unlink(bad);
}

static int group_setup(void **state)
{
    struct xr_error err;
    const char *tmp = getenv("TMPDIR");
    FILE *f;

    (void)state;
    if (xr_global_init(&err) != XR_OK)
        return -1;
    snprintf(dir, sizeof(dir), "%s/vayla-query-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(conf, sizeof(conf), "%s/vayla.conf", dir);
    snprintf(pwfile, sizeof(pwfile), "%s/vtj-password", dir);
    f = fopen(pwfile, "w");
    if (!f || fprintf(f, "%s\n", SECRET) < 0 || fclose(f) != 0)
        return -1;
    return ss_start();
}

static int group_teardown(void **state)
{
    (void)state;
    ss_stop();
    unlink(pwfile);
    unlink(conf);
    rmdir(dir);
    xr_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found),      cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_passivated), cmocka_unit_test(test_fault),
        cmocka_unit_test(test_invalid),    cmocka_unit_test(test_transport),
        cmocka_unit_test(test_audit),      cmocka_unit_test(test_usage_errors),
    };

    return cmocka_run_group_tests_name("query", tests, group_setup,
                                       group_teardown);
}

/*
 * adp_xfer / adp_curlev against tiny in-test servers on 127.0.0.1 (port 0):
 * a libevent evhttp server (plain, or TLS through bufferevent_openssl, with
 * optional client-certificate requirement) and a raw TCP server that hangs
 * or cuts a response short. Client and servers share one event_base, which
 * also shows that nothing in the transfer path blocks the loop.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "curlev.h"
#include "tls_fixture.h"
#include "xfer.h"

#define BODY          "<request>hello</request>"
/* Generous: the suite also runs under valgrind on a loaded machine. */
#define RUN_TIMEOUT_S 300

static struct tlsfix fix;
static bool tls12_only; /* https_one(): server limited to TLS 1.2, as an SS */
static bool tls11_only; /* https_one(): an old server, TLS 1.0/1.1 only */

/* ---- evhttp test server -------------------------------------------------- */

enum srv_mode {
    SRV_ECHO,      /* 200 text/xml, body = request body */
    SRV_STATUS,    /* status `status` with a small body */
    SRV_BIG_CL,    /* 200 with Content-Length big_size */
    SRV_BIG_CHUNK, /* 200 chunked, big_size bytes in 4 KiB chunks */
};

struct srv {
    struct event_base *base;
    struct evhttp *http;
    SSL_CTX *ssl; /* NULL = plain HTTP */
    int port;
    enum srv_mode mode;
    int status;
    size_t big_size;
    unsigned connections; /* accepted connections */
    unsigned requests;
    bool saw_post, saw_content_type, saw_soapaction, saw_no_expect;
    bool saw_get;
    size_t req_body_len; /* body bytes of the last request */
    char uri[256];       /* the request URI */
    char accept[128];    /* its Accept header */
    char ctype[128];     /* its Content-Type */
    bool saw_client_cert;
    char client_cn[64];
};

static struct bufferevent *srv_bevcb(struct event_base *base, void *arg)
{
    struct srv *s = arg;
    struct bufferevent *bev;

    s->connections++;
    if (!s->ssl)
        return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bev = bufferevent_openssl_socket_new(base, -1, SSL_new(s->ssl),
                                         BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (bev)
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static void srv_handle(struct evhttp_request *req, void *arg)
{
    struct srv *s = arg;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *outh = evhttp_request_get_output_headers(req);
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    struct evbuffer *out = evbuffer_new();
    const char *ct = evhttp_find_header(in, "Content-Type");
    const char *sa = evhttp_find_header(in, "SOAPAction");
    struct bufferevent *bev;

    s->requests++;
    s->saw_post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
    s->saw_content_type = ct && strcmp(ct, "text/xml; charset=UTF-8") == 0;
    s->saw_soapaction = sa && strcmp(sa, "\"\"") == 0;
    s->saw_no_expect = evhttp_find_header(in, "Expect") == NULL;
    s->saw_get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;
    s->req_body_len = evbuffer_get_length(body);
    snprintf(s->uri, sizeof(s->uri), "%s", evhttp_request_get_uri(req));
    snprintf(s->accept, sizeof(s->accept), "%s",
             evhttp_find_header(in, "Accept") ? evhttp_find_header(in, "Accept")
                                              : "");
    snprintf(s->ctype, sizeof(s->ctype), "%s", ct ? ct : "");
    bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
    if (bev) {
        /* as a real server would: no Nagle delay on small responses */
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
                   sizeof(one));
    }
    if (s->ssl && bev) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
        s->saw_client_cert = peer != NULL;
        if (peer) {
            X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
                                      NID_commonName, s->client_cn,
                                      sizeof(s->client_cn));
            X509_free(peer);
        }
    }
    evhttp_add_header(outh, "Content-Type", "text/xml; charset=UTF-8");
    switch (s->mode) {
    case SRV_ECHO:
        evbuffer_add_buffer(out, body);
        evhttp_send_reply(req, 200, "OK", out);
        break;
    case SRV_STATUS:
        evbuffer_add_printf(out, "<status>%d</status>", s->status);
        evhttp_send_reply(req, s->status, "Status", out);
        break;
    case SRV_BIG_CL: {
        char *big = malloc(s->big_size + 1);
        assert_non_null(big);
        memset(big, 'x', s->big_size);
        evbuffer_add(out, big, s->big_size);
        free(big);
        evhttp_send_reply(req, 200, "OK", out);
        break;
    }
    case SRV_BIG_CHUNK: {
        char chunk[4096];
        memset(chunk, 'y', sizeof(chunk));
        evhttp_send_reply_start(req, 200, "OK");
        for (size_t sent = 0; sent < s->big_size; sent += sizeof(chunk)) {
            evbuffer_add(out, chunk, sizeof(chunk));
            evhttp_send_reply_chunk(req, out);
        }
        evhttp_send_reply_end(req);
        break;
    }
    }
    evbuffer_free(out);
}

static int bound_port(evutil_socket_t fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);

    if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
        return -1;
    return ntohs(sin.sin_port);
}

static void srv_start(struct srv *s, struct event_base *base, SSL_CTX *ssl,
                      enum srv_mode mode)
{
    struct evhttp_bound_socket *bs;

    memset(s, 0, sizeof(*s));
    s->base = base;
    s->ssl = ssl;
    s->mode = mode;
    s->http = evhttp_new(base);
    assert_non_null(s->http);
    evhttp_set_bevcb(s->http, srv_bevcb, s);
    evhttp_set_gencb(s->http, srv_handle, s);
    bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    assert_non_null(bs);
    s->port = bound_port(evhttp_bound_socket_get_fd(bs));
    assert_true(s->port > 0);
}

static void srv_stop(struct srv *s)
{
    if (s->http)
        evhttp_free(s->http);
    if (s->ssl)
        SSL_CTX_free(s->ssl);
    s->http = NULL;
    s->ssl = NULL;
}

/* ---- raw TCP server: hangs, or answers with a cut-off body -------------- */

#define RAW_MAX_CONN 8

enum raw_mode { RAW_HANG, RAW_TRUNCATE };

struct raw {
    struct evconnlistener *lis;
    enum raw_mode mode;
    int port;
    struct bufferevent *conns[RAW_MAX_CONN];
    unsigned nconns;
    bool responded;
};

/* True once a whole request (headers + Content-Length body) is buffered. */
static bool raw_request_complete(struct evbuffer *in)
{
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    size_t hdr_len, len = evbuffer_get_length(in);
    char head[2048];
    const char *cl;
    size_t n;

    if (end.pos < 0)
        return false;
    hdr_len = (size_t)end.pos + 4;
    n = hdr_len < sizeof(head) - 1 ? hdr_len : sizeof(head) - 1;
    evbuffer_copyout(in, head, n);
    head[n] = '\0';
    cl = strstr(head, "\r\nContent-Length:"); /* libcurl's spelling */
    if (!cl)
        return true;
    return len >= hdr_len + strtoul(cl + 17, NULL, 10);
}

static void raw_close_when_flushed(struct bufferevent *bev, void *arg)
{
    struct raw *r = arg;

    if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
        return;
    for (unsigned i = 0; i < r->nconns; i++) {
        if (r->conns[i] == bev)
            r->conns[i] = NULL;
    }
    bufferevent_free(bev); /* closes: the client sees the body cut short */
}

static void raw_read(struct bufferevent *bev, void *arg)
{
    struct raw *r = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    static const char head[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/xml; charset=UTF-8\r\n"
                               "Content-Length: 1000\r\n\r\n";
    char part[100];

    if (r->mode == RAW_HANG || r->responded || !raw_request_complete(in))
        return;
    evbuffer_drain(in, evbuffer_get_length(in));
    r->responded = true;
    memset(part, 'z', sizeof(part));
    bufferevent_write(bev, head, sizeof(head) - 1);
    bufferevent_write(bev, part, sizeof(part));
    bufferevent_setcb(bev, raw_read, raw_close_when_flushed, NULL, r);
}

static void raw_accept(struct evconnlistener *lis, evutil_socket_t fd,
                       struct sockaddr *sa, int socklen, void *arg)
{
    struct raw *r = arg;
    struct bufferevent *bev;

    (void)sa;
    (void)socklen;
    bev = bufferevent_socket_new(evconnlistener_get_base(lis), fd,
                                 BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(bev);
    assert_true(r->nconns < RAW_MAX_CONN);
    r->conns[r->nconns++] = bev;
    bufferevent_setcb(bev, raw_read, NULL, NULL, r);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void raw_start(struct raw *r, struct event_base *base,
                      enum raw_mode mode)
{
    struct sockaddr_in sin;

    memset(r, 0, sizeof(*r));
    r->mode = mode;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    r->lis = evconnlistener_new_bind(base, raw_accept, r,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                     16, (struct sockaddr *)&sin, sizeof(sin));
    assert_non_null(r->lis);
    r->port = bound_port(evconnlistener_get_fd(r->lis));
    assert_true(r->port > 0);
}

static void raw_stop(struct raw *r)
{
    for (unsigned i = 0; i < r->nconns; i++) {
        if (r->conns[i])
            bufferevent_free(r->conns[i]);
    }
    if (r->lis)
        evconnlistener_free(r->lis);
    memset(r, 0, sizeof(*r));
}

/* ---- client side --------------------------------------------------------- */

struct outcome {
    bool called;
    unsigned calls;
    enum adp_xfer_class cls;
    long status;
    bool reused;
    char content_type[128];
    char message[ADP_XFER_MSG_MAX];
    char *body;
    size_t body_len;
};

struct world {
    struct event_base *base;
    struct adp_curlev *cev;
    unsigned pending; /* exchanges not yet completed */
    bool timed_out;
    struct event *deadline;
};

static struct world *world_current;

static void on_done(struct adp_xfer *x, const struct adp_xfer_result *res,
                    void *ctx)
{
    struct outcome *o = ctx;

    o->called = true;
    o->calls++;
    o->cls = res->cls;
    o->status = res->http_status;
    o->reused = res->reused;
    snprintf(o->content_type, sizeof(o->content_type), "%s",
             res->content_type ? res->content_type : "");
    snprintf(o->message, sizeof(o->message), "%s", res->message);
    o->body = (char *)adp_xfer_take_body(x, &o->body_len);
    adp_xfer_free(x);
    world_current->pending--;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct world *w = arg;

    (void)fd;
    (void)what;
    w->timed_out = true;
    event_base_loopbreak(w->base);
}

static void world_init(struct world *w, const struct adp_curlev_opts *opts)
{
    struct xr_error err;

    memset(w, 0, sizeof(*w));
    w->base = event_base_new();
    assert_non_null(w->base);
    assert_int_equal(adp_curlev_new(w->base, opts, &w->cev, &err), XR_OK);
    w->deadline = evtimer_new(w->base, on_deadline, w);
    assert_non_null(w->deadline);
    world_current = w;
}

static void world_free(struct world *w)
{
    assert_int_equal(adp_curlev_active(w->cev), 0);
    adp_curlev_free(w->cev);
    event_free(w->deadline);
    event_base_free(w->base);
    world_current = NULL;
}

/* Run the loop until every started exchange completed (bounded). */
static void world_run(struct world *w)
{
    struct timeval tv = {RUN_TIMEOUT_S, 0};

    evtimer_add(w->deadline, &tv);
    while (w->pending > 0 && !w->timed_out)
        event_base_loop(w->base, EVLOOP_ONCE);
    evtimer_del(w->deadline);
    assert_false(w->timed_out);
}

/* Let the loop run for ms milliseconds. */
static void world_spin(struct world *w, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    w->timed_out = false;
    evtimer_add(w->deadline, &tv);
    while (!w->timed_out)
        event_base_loop(w->base, EVLOOP_ONCE);
    w->timed_out = false;
}

static void opts_init(struct adp_xfer_opts *o, char *url, size_t size,
                      const char *scheme, int port)
{
    memset(o, 0, sizeof(*o));
    snprintf(url, size, "%s://127.0.0.1:%d/", scheme, port);
    o->url = url;
    o->connect_timeout_ms = 30000;
    o->timeout_ms = 120000;
    o->max_response_bytes = 1024 * 1024;
}

static void start(struct world *w, const struct adp_xfer_opts *o,
                  struct outcome *out)
{
    struct adp_xfer *x = NULL;
    struct xr_error err;

    memset(out, 0, sizeof(*out));
    xr_error_clear(&err);
    if (adp_xfer_start(w->cev, o, (const uint8_t *)BODY, strlen(BODY), on_done,
                       out, &x, &err) != XR_OK)
        fail_msg("adp_xfer_start: %s", err.msg);
    assert_non_null(x);
    w->pending++;
}

/* One exchange, run to completion, on a fresh world. */
static void one(const struct adp_xfer_opts *o, struct outcome *out)
{
    struct world w;

    world_init(&w, NULL);
    start(&w, o, out);
    world_run(&w);
    world_free(&w);
    assert_int_equal(out->calls, 1);
}

static void outcome_free(struct outcome *o)
{
    free(o->body);
    o->body = NULL;
}

#define ASSERT_CLASS(o, c)                                                 \
    do {                                                                   \
        if ((o).cls != (c))                                                \
            fail_msg("class %s, expected %s: %s",                          \
                     adp_xfer_class_name((o).cls), adp_xfer_class_name(c), \
                     (o).message);                                         \
        if ((o).cls != ADP_XFER_OK)                                        \
            print_message("  %s: %s\n", adp_xfer_class_name((o).cls),      \
                          (o).message);                                    \
    } while (0)

/* ---- tests --------------------------------------------------------------- */

static void test_http_ok(void **state)
{
    struct world w;
    struct srv s;
    struct adp_xfer_opts o;
    struct outcome out;
    char url[128];

    (void)state;
    world_init(&w, NULL);
    srv_start(&s, w.base, NULL, SRV_ECHO);
    opts_init(&o, url, sizeof(url), "http", s.port);
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_OK);
    assert_int_equal(out.status, 200);
    assert_string_equal(out.content_type, "text/xml; charset=UTF-8");
    assert_int_equal(out.body_len, strlen(BODY));
    assert_string_equal(out.body, BODY);
    assert_string_equal(out.message, "");
    assert_true(s.saw_post);
    assert_true(s.saw_content_type);
    assert_true(s.saw_soapaction);
    assert_true(s.saw_no_expect);
    outcome_free(&out);
    srv_stop(&s);
    world_free(&w);
}

/* GET of a path (listClients, /asic), and a POST with another content
 * type and an Accept header. */
static void test_get_and_headers(void **state)
{
    struct world w;
    struct srv s;
    struct adp_xfer_opts o;
    struct outcome out;
    char url[128];

    (void)state;
    world_init(&w, NULL);
    srv_start(&s, w.base, NULL, SRV_ECHO);
    opts_init(&o, url, sizeof(url), "http", s.port);
    o.get = true;
    o.path = "/listClients?xRoadInstance=FI";
    o.accept = "application/json";
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_OK);
    assert_true(s.saw_get);
    assert_string_equal(s.uri, "/listClients?xRoadInstance=FI");
    assert_string_equal(s.accept, "application/json");
    assert_string_equal(s.ctype, "");
    assert_int_equal(out.body_len, 0);
    outcome_free(&out);
    opts_init(&o, url, sizeof(url), "http", s.port);
    o.content_type = "multipart/related; boundary=b1; type=\"text/xml\"";
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_OK);
    assert_true(s.saw_post);
    assert_string_equal(s.ctype,
                        "multipart/related; boundary=b1; type=\"text/xml\"");
    assert_string_equal(s.uri, "/");
    assert_int_equal(s.req_body_len, strlen(BODY));
    outcome_free(&out);
    /* The easy handle of the POST is reused (adp_curlev_easy_get()):
     * nothing of it may carry over to a GET. */
    opts_init(&o, url, sizeof(url), "http", s.port);
    o.get = true;
    o.path = "/again";
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_OK);
    assert_true(s.saw_get);
    assert_string_equal(s.uri, "/again");
    assert_string_equal(s.ctype, "");
    assert_string_equal(s.accept, "*/*"); /* libcurl's default */
    assert_false(s.saw_soapaction);
    assert_int_equal(s.req_body_len, 0);
    outcome_free(&out);
    srv_stop(&s);
    world_free(&w);
}

static void test_https_ca_ok(void **state)
{
    struct world w;
    struct srv s;
    struct adp_xfer_opts o;
    struct outcome out;
    char url[128];

    (void)state;
    world_init(&w, NULL);
    srv_start(&s, w.base,
              tlsfix_server_ctx(&fix, fix.server_cert, fix.server_key, false),
              SRV_ECHO);
    opts_init(&o, url, sizeof(url), "https", s.port);
    o.ca_file = fix.ca;
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_OK);
    assert_string_equal(out.body, BODY);
    assert_false(s.saw_client_cert);
    outcome_free(&out);
    srv_stop(&s);
    world_free(&w);
}

/* Run one https exchange against a server with cert/key; return class. */
static enum adp_xfer_class https_one(const char *cert, const char *key,
                                     bool require_client,
                                     void (*tweak)(struct adp_xfer_opts *),
                                     struct outcome *out, struct srv *seen)
{
    struct world w;
    struct srv s;
    struct adp_xfer_opts o;
    char url[128];

    SSL_CTX *ctx = tlsfix_server_ctx(&fix, cert, key, require_client);

    assert_non_null(ctx);
    if (tls12_only)
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    if (tls11_only) {
        SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
        SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
        SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    }
    world_init(&w, NULL);
    srv_start(&s, w.base, ctx, SRV_ECHO);
    opts_init(&o, url, sizeof(url), "https", s.port);
    tweak(&o);
    start(&w, &o, out);
    world_run(&w);
    if (seen)
        *seen = s;
    srv_stop(&s);
    world_free(&w);
    return out->cls;
}

static void tw_pin_only(struct adp_xfer_opts *o)
{
    o->has_pin = true;
    memcpy(o->pin_sha256, fix.server_fp, 32);
}

static void tw_pin_wrong(struct adp_xfer_opts *o)
{
    o->has_pin = true;
    memcpy(o->pin_sha256, fix.server2_fp, 32);
}

static void tw_ca_pin(struct adp_xfer_opts *o)
{
    o->ca_file = fix.ca;
    tw_pin_only(o);
}

static void tw_ca_pin_wrong(struct adp_xfer_opts *o)
{
    o->ca_file = fix.ca;
    tw_pin_wrong(o);
}

static void tw_other_ca(struct adp_xfer_opts *o)
{
    o->ca_file = fix.other_ca;
}

static void tw_ca(struct adp_xfer_opts *o)
{
    o->ca_file = fix.ca;
}

static void tw_pin2_only(struct adp_xfer_opts *o)
{
    o->has_pin = true;
    memcpy(o->pin_sha256, fix.server2_fp, 32);
}

static void tw_ca_client(struct adp_xfer_opts *o)
{
    o->ca_file = fix.ca;
    o->client_cert = fix.client_cert;
    o->client_key = fix.client_key;
}

static void tw_ca_client_enc(struct adp_xfer_opts *o)
{
    o->ca_file = fix.ca;
    o->client_cert = fix.client_cert;
    o->client_key = fix.client_key_enc;
    o->client_key_passphrase = TLSFIX_PASSPHRASE;
}

static void tw_ca_client_badpass(struct adp_xfer_opts *o)
{
    tw_ca_client_enc(o);
    o->client_key_passphrase = "wrong";
}

static void test_pin_match_without_ca(void **state)
{
    struct outcome out;

    (void)state;
    https_one(fix.server_cert, fix.server_key, false, tw_pin_only, &out, NULL);
    ASSERT_CLASS(out, ADP_XFER_OK);
    outcome_free(&out);
}

static void test_pin_replaces_hostname_check(void **state)
{
    struct outcome out;

    (void)state;
    /* server2's only name is other.invalid: CA + host name check fails,
     * the pin alone accepts it. */
    https_one(fix.server2_cert, fix.server2_key, false, tw_ca, &out, NULL);
    ASSERT_CLASS(out, ADP_XFER_TLS_FAILED);
    outcome_free(&out);
    https_one(fix.server2_cert, fix.server2_key, false, tw_pin2_only, &out,
              NULL);
    ASSERT_CLASS(out, ADP_XFER_OK);
    outcome_free(&out);
}

static void test_pin_mismatch(void **state)
{
    struct outcome out;
    char fp[100];

    (void)state;
    https_one(fix.server_cert, fix.server_key, false, tw_pin_wrong, &out, NULL);
    ASSERT_CLASS(out, ADP_XFER_TLS_FAILED);
    assert_non_null(strstr(out.message, "does not match pin_sha256"));
    /* The message names the fingerprint actually presented. */
    tlsfix_fp_hex(fix.server_fp, fp, sizeof(fp));
    assert_non_null(strstr(out.message, fp));
    outcome_free(&out);
}

static void test_ca_and_pin(void **state)
{
    struct outcome out;

    (void)state;
    https_one(fix.server_cert, fix.server_key, false, tw_ca_pin, &out, NULL);
    ASSERT_CLASS(out, ADP_XFER_OK);
    outcome_free(&out);
    https_one(fix.server_cert, fix.server_key, false, tw_ca_pin_wrong, &out,
              NULL);
    ASSERT_CLASS(out, ADP_XFER_TLS_FAILED);
    outcome_free(&out);
}

static void test_wrong_ca(void **state)
{
    struct outcome out;

    (void)state;
    https_one(fix.server_cert, fix.server_key, false, tw_other_ca, &out, NULL);
    ASSERT_CLASS(out, ADP_XFER_TLS_FAILED);
    assert_int_equal(out.status, 0);
    /* we refused the server, not the other way round */
    assert_null(strstr(out.message, "refused"));
    outcome_free(&out);
}

static void test_client_cert(void **state)
{
    struct outcome out;
    struct srv seen;

    (void)state;
    https_one(fix.server_cert, fix.server_key, true, tw_ca_client, &out, &seen);
    ASSERT_CLASS(out, ADP_XFER_OK);
    assert_true(seen.saw_client_cert);
    assert_string_equal(seen.client_cn, "vayla-client");
    outcome_free(&out);

    https_one(fix.server_cert, fix.server_key, true, tw_ca_client_enc, &out,
              &seen);
    ASSERT_CLASS(out, ADP_XFER_OK);
    assert_true(seen.saw_client_cert);
    outcome_free(&out);

    https_one(fix.server_cert, fix.server_key, true, tw_ca_client_badpass, &out,
              NULL);
    ASSERT_CLASS(out, ADP_XFER_TLS_FAILED);
    assert_null(strstr(out.message, TLSFIX_PASSPHRASE));
    outcome_free(&out);
}

static void test_missing_client_cert(void **state)
{
    struct outcome out;
    struct srv seen;

    (void)state;
    https_one(fix.server_cert, fix.server_key, true, tw_ca, &out, &seen);
    ASSERT_CLASS(out, ADP_XFER_TLS_FAILED);
    assert_int_equal(seen.requests, 0);
    /* TLS 1.3 refuses after the handshake; the server's alert is named */
    assert_non_null(strstr(out.message, "certificate required"));
    outcome_free(&out);

    /* X-Road security servers speak TLS 1.2: refused in the handshake */
    tls12_only = true;
    https_one(fix.server_cert, fix.server_key, true, tw_ca, &out, &seen);
    ASSERT_CLASS(out, ADP_XFER_TLS_FAILED);
    assert_non_null(strstr(out.message, "refused the TLS connection"));
    assert_non_null(strstr(out.message, "client_cert registered"));
    outcome_free(&out);
    https_one(fix.server_cert, fix.server_key, true, tw_ca_client, &out, &seen);
    ASSERT_CLASS(out, ADP_XFER_OK);
    assert_true(seen.saw_client_cert);
    outcome_free(&out);
    tls12_only = false;
}

/* A security server that speaks only TLS 1.0/1.1: the message says that,
 * not that the client certificate might be unregistered. */
static void test_old_tls_server(void **state)
{
    struct outcome out;

    (void)state;
    tls11_only = true;
    https_one(fix.server_cert, fix.server_key, false, tw_ca, &out, NULL);
    tls11_only = false;
    ASSERT_CLASS(out, ADP_XFER_TLS_FAILED);
    if (!strstr(out.message, "TLS 1.2") ||
        strstr(out.message, "client_cert registered"))
        fail_msg("message: %s", out.message);
    outcome_free(&out);
}

static void test_connect_refused(void **state)
{
    struct adp_xfer_opts o;
    struct outcome out;
    char url[128];
    struct sockaddr_in sin;
    int fd, port;

    (void)state;
    /* A port that was just free: bind, read it, close. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    port = bound_port(fd);
    close(fd);
    opts_init(&o, url, sizeof(url), "http", port);
    one(&o, &out);
    ASSERT_CLASS(out, ADP_XFER_CONNECT_FAILED);
    outcome_free(&out);
}

static void test_timeout(void **state)
{
    struct world w;
    struct raw r;
    struct adp_xfer_opts o;
    struct outcome out;
    struct timeval t0, t1;
    char url[128];
    long ms;

    (void)state;
    world_init(&w, NULL);
    raw_start(&r, w.base, RAW_HANG);
    opts_init(&o, url, sizeof(url), "http", r.port);
    o.connect_timeout_ms = 1000;
    o.timeout_ms = 1500;
    gettimeofday(&t0, NULL);
    start(&w, &o, &out);
    world_run(&w);
    gettimeofday(&t1, NULL);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
    ASSERT_CLASS(out, ADP_XFER_TIMEOUT);
    assert_true(ms >= 1400);
    assert_true(ms < 15000);
    outcome_free(&out);
    raw_stop(&r);
    world_free(&w);
}

static void test_too_large(void **state)
{
    struct world w;
    struct srv s;
    struct adp_xfer_opts o;
    struct outcome out;
    char url[128];

    (void)state;
    /* announced by Content-Length */
    world_init(&w, NULL);
    srv_start(&s, w.base, NULL, SRV_BIG_CL);
    s.big_size = 64 * 1024;
    opts_init(&o, url, sizeof(url), "http", s.port);
    o.max_response_bytes = 16 * 1024;
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_TOO_LARGE);
    outcome_free(&out);

    /* chunked: only the write callback can notice */
    s.mode = SRV_BIG_CHUNK;
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_TOO_LARGE);
    assert_true(out.body_len <= 16 * 1024);
    outcome_free(&out);

    /* exactly at the cap is fine */
    s.mode = SRV_BIG_CL;
    s.big_size = 16 * 1024;
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_OK);
    assert_int_equal(out.body_len, 16 * 1024);
    outcome_free(&out);
    srv_stop(&s);
    world_free(&w);
}

static void test_truncated(void **state)
{
    struct world w;
    struct raw r;
    struct adp_xfer_opts o;
    struct outcome out;
    char url[128];

    (void)state;
    world_init(&w, NULL);
    raw_start(&r, w.base, RAW_TRUNCATE);
    opts_init(&o, url, sizeof(url), "http", r.port);
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_TRUNCATED);
    assert_true(r.responded);
    outcome_free(&out);
    raw_stop(&r);
    world_free(&w);
}

static void test_http_status(void **state)
{
    struct world w;
    struct srv s;
    struct adp_xfer_opts o;
    struct outcome out;
    char url[128];

    (void)state;
    world_init(&w, NULL);
    srv_start(&s, w.base, NULL, SRV_STATUS);
    s.status = 404;
    opts_init(&o, url, sizeof(url), "http", s.port);
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_HTTP_STATUS);
    assert_int_equal(out.status, 404);
    assert_string_equal(out.body, "<status>404</status>"); /* still given */
    outcome_free(&out);

    /* an empty body: still a completed exchange, with an empty body */
    s.status = 200;
    s.mode = SRV_BIG_CL;
    s.big_size = 0;
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_OK);
    assert_int_equal(out.body_len, 0);
    outcome_free(&out);
    s.mode = SRV_STATUS;

    /* 500 carries SOAP faults: not a transport failure */
    s.status = 500;
    start(&w, &o, &out);
    world_run(&w);
    ASSERT_CLASS(out, ADP_XFER_OK);
    assert_int_equal(out.status, 500);
    outcome_free(&out);
    srv_stop(&s);
    world_free(&w);
}

static void test_keepalive_reuse(void **state)
{
    struct world w;
    struct srv s;
    struct adp_xfer_opts o;
    struct outcome out;
    char url[128];

    (void)state;
    for (int tls = 0; tls < 2; tls++) {
        world_init(&w, NULL);
        srv_start(
            &s, w.base,
            tls ? tlsfix_server_ctx(&fix, fix.server_cert, fix.server_key, true)
                : NULL,
            SRV_ECHO);
        opts_init(&o, url, sizeof(url), tls ? "https" : "http", s.port);
        if (tls)
            tw_ca_client(&o);
        for (int i = 0; i < 3; i++) {
            start(&w, &o, &out);
            world_run(&w);
            ASSERT_CLASS(out, ADP_XFER_OK);
            assert_int_equal(out.reused, i > 0);
            outcome_free(&out);
        }
        assert_int_equal(s.requests, 3);
        assert_int_equal(s.connections, 1);
        srv_stop(&s);
        world_free(&w);
    }
}

#define NCONC 64

static void test_many_concurrent(void **state)
{
    struct world w;
    struct srv s;
    struct adp_xfer_opts o;
    struct outcome *outs;
    struct timeval t0, t1;
    char url[128];

    (void)state;
    outs = calloc(NCONC, sizeof(*outs));
    assert_non_null(outs);
    world_init(&w, NULL);
    srv_start(&s, w.base,
              tlsfix_server_ctx(&fix, fix.server_cert, fix.server_key, true),
              SRV_ECHO);
    opts_init(&o, url, sizeof(url), "https", s.port);
    tw_ca_client(&o);
    o.timeout_ms = 240000;
    for (int i = 0; i < NCONC; i++)
        start(&w, &o, &outs[i]);
    assert_int_equal(adp_curlev_active(w.cev), NCONC);
    gettimeofday(&t0, NULL);
    world_run(&w);
    gettimeofday(&t1, NULL);
    print_message("  %d exchanges over %u connections in %ld ms\n", NCONC,
                  s.connections,
                  (long)((t1.tv_sec - t0.tv_sec) * 1000 +
                         (t1.tv_usec - t0.tv_usec) / 1000));
    for (int i = 0; i < NCONC; i++) {
        assert_int_equal(outs[i].calls, 1);
        ASSERT_CLASS(outs[i], ADP_XFER_OK);
        assert_string_equal(outs[i].body, BODY);
        outcome_free(&outs[i]);
    }
    assert_int_equal(s.requests, NCONC);
    /* Capping connections is upstream.c's job (test_upstream). */
    assert_true(s.connections <= NCONC);
    srv_stop(&s);
    world_free(&w);
    free(outs);
}

static void test_start_errors(void **state)
{
    struct world w;
    struct adp_xfer_opts o;
    struct outcome out;
    struct adp_xfer *x = (struct adp_xfer *)&x;
    struct xr_error err;
    char url[128];

    (void)state;
    world_init(&w, NULL);
    memset(&out, 0, sizeof(out));

    /* https without any trust anchor: refused, no "trust all" */
    opts_init(&o, url, sizeof(url), "https", 1);
    assert_int_equal(adp_xfer_start(w.cev, &o, (const uint8_t *)BODY, 4,
                                    on_done, &out, &x, &err),
                     XR_EINVAL);
    assert_null(x);

    opts_init(&o, url, sizeof(url), "ftp", 1);
    assert_int_equal(adp_xfer_start(w.cev, &o, (const uint8_t *)BODY, 4,
                                    on_done, &out, &x, &err),
                     XR_EINVAL);

    opts_init(&o, url, sizeof(url), "http", 1);
    o.timeout_ms = 0;
    assert_int_equal(adp_xfer_start(w.cev, &o, (const uint8_t *)BODY, 4,
                                    on_done, &out, &x, &err),
                     XR_EINVAL);

    /* no callback was ever made for the refused starts */
    world_spin(&w, 100);
    assert_int_equal(out.calls, 0);
    world_free(&w);
}

static void test_cancel(void **state)
{
    struct world w;
    struct raw r;
    struct adp_xfer_opts o;
    struct outcome out;
    struct adp_xfer *x = NULL;
    struct xr_error err;
    char url[128];

    (void)state;
    world_init(&w, NULL);
    raw_start(&r, w.base, RAW_HANG);
    opts_init(&o, url, sizeof(url), "http", r.port);
    o.timeout_ms = 3000; /* well above the first spin, even under load */
    memset(&out, 0, sizeof(out));
    assert_int_equal(adp_xfer_start(w.cev, &o, (const uint8_t *)BODY,
                                    strlen(BODY), on_done, &out, &x, &err),
                     XR_OK);
    world_spin(&w, 200); /* connected, request sent, waiting */
    assert_int_equal(adp_curlev_active(w.cev), 1);
    adp_xfer_free(x);
    assert_int_equal(adp_curlev_active(w.cev), 0);
    world_spin(&w, 3300); /* past the deadline: still no callback */
    assert_false(out.called);
    raw_stop(&r);
    world_free(&w);
}

static int group_setup(void **state)
{
    struct xr_error err;

    (void)state;
    if (adp_curlev_global_init(&err) != XR_OK) {
        fprintf(stderr, "adp_curlev_global_init: %s\n", err.msg);
        return -1;
    }
    return tlsfix_create(&fix);
}

static int group_teardown(void **state)
{
    (void)state;
    tlsfix_destroy(&fix);
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_ok),
        cmocka_unit_test(test_get_and_headers),
        cmocka_unit_test(test_https_ca_ok),
        cmocka_unit_test(test_pin_match_without_ca),
        cmocka_unit_test(test_pin_replaces_hostname_check),
        cmocka_unit_test(test_pin_mismatch),
        cmocka_unit_test(test_ca_and_pin),
        cmocka_unit_test(test_wrong_ca),
        cmocka_unit_test(test_client_cert),
        cmocka_unit_test(test_missing_client_cert),
        cmocka_unit_test(test_old_tls_server),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_keepalive_reuse),
        cmocka_unit_test(test_many_concurrent),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_cancel),
    };

    /* The test servers write to peers that hang up on purpose. */
    signal(SIGPIPE, SIG_IGN);

    return cmocka_run_group_tests_name("xfer", tests, group_setup,
                                       group_teardown);
}

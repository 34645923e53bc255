/*
 * Minimal HTTP/1.1 server on libevent bufferevents, plain or TLS
 * (bufferevent_openssl).
 *
 * Why not evhttp: fault injection needs exact control over the bytes on
 * the wire (a Content-Length larger than the body followed by a close, a
 * body dripped a few bytes per second, a 40 MiB body produced as the socket
 * drains, a close without any answer). evhttp hides the connection and
 * would make each of those a fight with its internals; this server is small
 * enough to read in one sitting.
 *
 * What it accepts: one request at a time per connection (keep-alive, no
 * pipelining in parallel), bodies with Content-Length only (chunked
 * uploads get 501), a head of at most 16 KiB with at most 64 header
 * lines, bodies up to opts->max_body_bytes (413 otherwise). Anything
 * malformed gets 400 and a close. Idle connections are closed after
 * SIM_HTTP_IDLE_TIMEOUT_S seconds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "sim.h"

#define STREAM_PIECE     (256u * 1024u) /* filler bytes added per drain */
#define STREAM_LOW_WATER (64u * 1024u)

enum conn_state {
    ST_HEAD,     /* reading the request head */
    ST_BODY,     /* reading the body */
    ST_HANDLING, /* handler owns the request; no reply yet */
    ST_SENDING,  /* reply being written (maybe delayed or dripped) */
    ST_STALLED   /* never answers; input is discarded */
};

struct sim_http_conn {
    struct sim_http_server *srv;
    struct sim_http_conn *prev, *next; /* server's list */
    struct bufferevent *bev;           /* owns the socket and SSL */
    bool tls;
    enum conn_state state;
    bool keep_alive; /* the client allows another request afterwards */
    struct sim_http_req req;
    size_t body_got;

    struct event *timer;       /* delay and drip ticks; lazily created */
    struct evbuffer *pending;  /* reply bytes not yet handed to bev */
    size_t pending_head;       /* leading head bytes in pending */
    struct sim_http_wire wire; /* how the pending bytes go out */
    bool close_after;          /* close once everything is written */
    bool idle_close;           /* the timer closes the idle connection */

    uint64_t stream_left; /* filler bytes still to produce */
    char *stream_tail;    /* owned; written after the filler */
};

struct sim_http_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct sim_http_opts opts;
    struct sim_http_conn *conns;
    size_t nconns;
};

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void timer_cb(evutil_socket_t fd, short what, void *arg);

static void req_reset(struct sim_http_req *req)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->body);
    bool tls = req->tls;
    char addr[sizeof(req->peer_addr)];
    memcpy(addr, req->peer_addr, sizeof(addr));
    memset(req, 0, sizeof(*req));
    req->tls = tls;
    memcpy(req->peer_addr, addr, sizeof(addr));
}

static void conn_free(struct sim_http_conn *conn)
{
    struct sim_http_server *srv;

    if (!conn)
        return;
    srv = conn->srv;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        srv->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    srv->nconns--;

    if (conn->timer)
        event_free(conn->timer);
    if (conn->pending)
        evbuffer_free(conn->pending);
    free(conn->stream_tail);
    req_reset(&conn->req);
    if (conn->bev)
        bufferevent_free(conn->bev); /* closes the socket, frees SSL */
    free(conn);
}

/* Close after a TLS close_notify, so clients see a clean end of stream. */
static void conn_close(struct sim_http_conn *conn)
{
    if (conn->tls && conn->bev) {
        SSL *ssl = bufferevent_openssl_get_ssl(conn->bev);
        if (ssl)
            (void)SSL_shutdown(ssl);
    }
    conn_free(conn);
}

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        /* Fault injection may pick any status: a phrase for its class. */
        return status < 300   ? "Success"
               : status < 400 ? "Redirection"
               : status < 500 ? "Client Error"
                              : "Server Error";
    }
}

static int add_head(struct evbuffer *buf, int status, const char *ctype,
                    uint64_t content_length, bool close)
{
    return evbuffer_add_printf(buf,
                               "HTTP/1.1 %d %s\r\n"
                               "Content-Type: %s\r\n"
                               "Content-Length: %" PRIu64 "\r\n"
                               "%s"
                               "\r\n",
                               status, status_text(status), ctype,
                               content_length,
                               close ? "Connection: close\r\n" : "");
}

/* An error reply from the server itself; always closes the connection. */
static void reply_error(struct sim_http_conn *conn, int status)
{
    char body[96];
    int n =
        snprintf(body, sizeof(body), "%d %s\n", status, status_text(status));

    conn->keep_alive = false;
    sim_http_reply(conn, status, "text/plain; charset=UTF-8",
                   (const uint8_t *)body, n > 0 ? (size_t)n : 0, NULL);
}

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static bool is_token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

/*
 * Parse the head (NUL-terminated, CRLF line ends, final empty line
 * included) into conn->req. Returns 0 or the HTTP status to answer with.
 */
static int parse_head(struct sim_http_conn *conn, char *head)
{
    struct sim_http_req *req = &conn->req;
    char *line = head, *eol, *sp1, *sp2;
    const char *v;
    long cl = 0;

    eol = strstr(line, "\r\n");
    if (!eol)
        return 400;
    *eol = '\0';
    sp1 = strchr(line, ' ');
    sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof(req->method) ||
        (size_t)(sp2 - sp1 - 1) >= sizeof(req->target) || sp1 == line ||
        sp2 == sp1 + 1)
        return 400;
    memcpy(req->method, line, (size_t)(sp1 - line));
    for (const char *p = req->method; *p; p++)
        if (!is_token_char(*p))
            return 400;
    memcpy(req->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    if (!strcmp(sp2 + 1, "HTTP/1.1"))
        conn->keep_alive = true;
    else if (!strcmp(sp2 + 1, "HTTP/1.0"))
        conn->keep_alive = false;
    else
        return 400;

    line = eol + 2;
    while (*line) {
        char *colon, *vs, *ve;

        eol = strstr(line, "\r\n");
        if (!eol)
            return 400;
        if (eol == line)
            break; /* the empty line that ends the head */
        *eol = '\0';
        if (*line == ' ' || *line == '\t')
            return 400; /* obsolete line folding */
        colon = strchr(line, ':');
        if (!colon || colon == line)
            return 400;
        for (const char *p = line; p < colon; p++)
            if (!is_token_char(*p))
                return 400;
        if (req->nheaders >= SIM_HTTP_MAX_HEADERS)
            return 431;
        vs = colon + 1;
        while (*vs == ' ' || *vs == '\t')
            vs++;
        ve = eol;
        while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        req->headers[req->nheaders].name =
            dup_range(line, (size_t)(colon - line));
        req->headers[req->nheaders].value = dup_range(vs, (size_t)(ve - vs));
        if (!req->headers[req->nheaders].name ||
            !req->headers[req->nheaders].value) {
            free(req->headers[req->nheaders].name);
            free(req->headers[req->nheaders].value);
            return 500;
        }
        req->nheaders++;
        line = eol + 2;
    }

    v = sim_http_header(req, "Connection");
    if (v && !strcasecmp(v, "close"))
        conn->keep_alive = false;
    if (sim_http_header(req, "Transfer-Encoding"))
        return 501; /* chunked uploads: not supported, said so above */
    v = sim_http_header(req, "Content-Length");
    if (v && sim_parse_long(v, 0, 0x7fffffffL, &cl) != 0)
        return 400;
    if ((size_t)cl > conn->srv->opts.max_body_bytes)
        return 413;
    req->body_len = (size_t)cl;
    req->body = malloc(req->body_len + 1);
    if (!req->body)
        return 500;
    req->body[req->body_len] = '\0';
    return 0;
}

static void dispatch(struct sim_http_conn *conn)
{
    if (conn->tls) {
        SSL *ssl = bufferevent_openssl_get_ssl(conn->bev);
        conn->req.peer_cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    }
    conn->state = ST_HANDLING;
    conn->idle_close = false; /* a request came in time */
    if (conn->timer)
        evtimer_del(conn->timer);
    conn->req.recv_ms = sim_now_ms();
    bufferevent_disable(conn->bev, EV_READ);
    conn->srv->opts.handler(conn, &conn->req, conn->srv->opts.handler_arg);
    /* conn may be gone now (drop): do not touch it. */
}

/* Consume buffered input; dispatches at most one request. */
static void process_input(struct sim_http_conn *conn)
{
    struct evbuffer *in = bufferevent_get_input(conn->bev);
    struct evbuffer_ptr end;
    size_t avail, head_len, n;
    char *head;
    int status;

    if (conn->state == ST_STALLED) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    if (conn->state == ST_HEAD) {
        end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (end.pos < 0) {
            if (evbuffer_get_length(in) > SIM_HTTP_MAX_HEAD_BYTES)
                reply_error(conn, 431);
            return;
        }
        head_len = (size_t)end.pos + 4;
        if (head_len > SIM_HTTP_MAX_HEAD_BYTES) {
            reply_error(conn, 431);
            return;
        }
        head = malloc(head_len + 1);
        if (!head) {
            reply_error(conn, 500);
            return;
        }
        evbuffer_remove(in, head, head_len);
        head[head_len] = '\0';
        status = parse_head(conn, head);
        free(head);
        if (status != 0) {
            reply_error(conn, status);
            return;
        }
        conn->body_got = 0;
        conn->state = ST_BODY;
        /* Like Jetty: tell a waiting client to send its body now. */
        const char *expect = sim_http_header(&conn->req, "Expect");
        if (expect && !strcasecmp(expect, "100-continue") &&
            conn->req.body_len > evbuffer_get_length(in))
            bufferevent_write(conn->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    if (conn->state == ST_BODY) {
        avail = evbuffer_get_length(in);
        n = conn->req.body_len - conn->body_got;
        if (n > avail)
            n = avail;
        if (n > 0) {
            evbuffer_remove(in, conn->req.body + conn->body_got, n);
            conn->body_got += n;
        }
        if (conn->body_got == conn->req.body_len)
            dispatch(conn);
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    process_input(arg);
}

/* The reply is completely written: next request, or close. */
static void reply_done(struct sim_http_conn *conn)
{
    if (conn->close_after || !conn->keep_alive) {
        conn_close(conn);
        return;
    }
    req_reset(&conn->req);
    conn->state = ST_HEAD;
    if (conn->wire.close_idle_ms > 0) {
        struct timeval tv = {conn->wire.close_idle_ms / 1000,
                             (conn->wire.close_idle_ms % 1000) * 1000};
        if (!conn->timer)
            conn->timer = evtimer_new(conn->srv->base, timer_cb, conn);
        if (conn->timer && evtimer_add(conn->timer, &tv) == 0)
            conn->idle_close = true;
    }
    conn->wire = (struct sim_http_wire){0};
    bufferevent_enable(conn->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_input(conn->bev)) > 0)
        process_input(conn);
}

static void add_filler(struct sim_http_conn *conn)
{
    static const char line[] = "                                      "
                               "                         \n";
    struct evbuffer *out = bufferevent_get_output(conn->bev);
    uint64_t want = conn->stream_left;

    if (want > STREAM_PIECE)
        want = STREAM_PIECE;
    conn->stream_left -= want;
    while (want > 0) {
        size_t n = sizeof(line) - 1;
        if (n > want)
            n = (size_t)want;
        evbuffer_add(out, line + (sizeof(line) - 1 - n), n);
        want -= n;
    }
    if (conn->stream_left == 0) {
        if (conn->stream_tail) {
            evbuffer_add(out, conn->stream_tail, strlen(conn->stream_tail));
            free(conn->stream_tail);
            conn->stream_tail = NULL;
        }
        bufferevent_setwatermark(conn->bev, EV_WRITE, 0, 0);
    }
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct sim_http_conn *conn = arg;

    if (conn->state != ST_SENDING)
        return;
    if (conn->stream_left > 0) {
        add_filler(conn);
        return;
    }
    if (conn->pending && evbuffer_get_length(conn->pending) > 0)
        return; /* the timer still has bytes to hand over */
    if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        return;
    reply_done(conn);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        conn_free(arg);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sim_http_conn *conn = arg;
    struct evbuffer *out = bufferevent_get_output(conn->bev);
    size_t n;

    (void)fd;
    (void)what;
    if (conn->idle_close) {
        /* close_idle: only a connection still waiting for a request. */
        conn->idle_close = false;
        if (conn->state == ST_HEAD &&
            evbuffer_get_length(bufferevent_get_input(conn->bev)) == 0)
            conn_close(conn);
        return;
    }
    if (!conn->pending)
        return;
    if (conn->wire.drip_bytes == 0) {
        evbuffer_add_buffer(out, conn->pending);
        return;
    }
    /* The head goes out at once; the body drips. */
    n = conn->pending_head + conn->wire.drip_bytes;
    conn->pending_head = 0;
    if (n > evbuffer_get_length(conn->pending))
        n = evbuffer_get_length(conn->pending);
    evbuffer_remove_buffer(conn->pending, out, n);
    if (evbuffer_get_length(conn->pending) > 0) {
        struct timeval tv = {conn->wire.drip_tick_ms / 1000,
                             (conn->wire.drip_tick_ms % 1000) * 1000};
        evtimer_add(conn->timer, &tv);
    }
}

const char *sim_http_header(const struct sim_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (!strcasecmp(req->headers[i].name, name))
            return req->headers[i].value;
    return NULL;
}

void sim_http_reply(struct sim_http_conn *conn, int status,
                    const char *content_type, const uint8_t *body, size_t len,
                    const struct sim_http_wire *wire)
{
    struct sim_http_wire w = {0};
    struct evbuffer *buf = NULL;
    uint64_t announced = len;
    size_t head_len;

    if (wire)
        w = *wire;
    if (w.truncate) {
        announced = (uint64_t)len + 1024u + len / 2u;
        conn->close_after = true;
    }
    if (!conn->keep_alive)
        conn->close_after = true;
    conn->state = ST_SENDING;
    conn->wire = w;
    /* Nothing more is read until this reply is out (input stays bounded). */
    bufferevent_disable(conn->bev, EV_READ);

    buf = evbuffer_new();
    if (!buf ||
        add_head(buf, status, content_type, announced, conn->close_after) < 0) {
        if (buf)
            evbuffer_free(buf);
        conn_free(conn);
        return;
    }
    head_len = evbuffer_get_length(buf);
    if (len > 0 && evbuffer_add(buf, body, len) != 0) {
        evbuffer_free(buf);
        conn_free(conn);
        return;
    }
    if (w.delay_ms == 0 && w.drip_bytes == 0) {
        bufferevent_write_buffer(conn->bev, buf);
        evbuffer_free(buf);
        return;
    }
    /* Delayed or dripped: hand the bytes over from the timer. */
    if (!conn->timer)
        conn->timer = evtimer_new(conn->srv->base, timer_cb, conn);
    if (!conn->timer) {
        evbuffer_free(buf);
        conn_free(conn);
        return;
    }
    if (conn->pending)
        evbuffer_free(conn->pending);
    conn->pending = buf;
    conn->pending_head = head_len;
    if (conn->wire.drip_bytes > 0 && conn->wire.drip_tick_ms == 0)
        conn->wire.drip_tick_ms = 250;
    struct timeval tv = {w.delay_ms / 1000, (w.delay_ms % 1000) * 1000};
    evtimer_add(conn->timer, &tv);
}

void sim_http_reply_stream(struct sim_http_conn *conn, int status,
                           const char *content_type, const char *head,
                           const char *tail, uint64_t total_len)
{
    struct evbuffer *out = bufferevent_get_output(conn->bev);
    size_t fixed = strlen(head) + strlen(tail);

    if (total_len < fixed)
        total_len = fixed;
    conn->close_after = !conn->keep_alive;
    conn->state = ST_SENDING;
    bufferevent_disable(conn->bev, EV_READ);
    conn->stream_tail = strdup(tail);
    if (!conn->stream_tail ||
        add_head(out, status, content_type, total_len, conn->close_after) < 0) {
        conn_free(conn);
        return;
    }
    evbuffer_add(out, head, strlen(head));
    conn->stream_left = total_len - fixed;
    /* write_cb runs whenever the output falls below the low-water mark. */
    bufferevent_setwatermark(conn->bev, EV_WRITE, STREAM_LOW_WATER, 0);
    add_filler(conn);
}

void sim_http_drop(struct sim_http_conn *conn)
{
    conn_close(conn);
}

void sim_http_stall(struct sim_http_conn *conn)
{
    conn->state = ST_STALLED;
    /* No timeouts: the connection lives until the client gives up. */
    bufferevent_set_timeouts(conn->bev, NULL, NULL);
    bufferevent_enable(conn->bev, EV_READ);
}

static void accept_cb(struct evconnlistener *lst, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
    struct sim_http_server *srv = arg;
    struct sim_http_conn *conn = NULL;
    struct timeval idle = {SIM_HTTP_IDLE_TIMEOUT_S, 0};
    SSL *ssl = NULL;

    (void)lst;
    (void)salen;
    if (srv->nconns >= SIM_HTTP_MAX_CONNECTIONS) {
        evutil_closesocket(fd);
        return;
    }
    conn = calloc(1, sizeof(*conn));
    if (!conn) {
        evutil_closesocket(fd);
        return;
    }
    conn->srv = srv;
    conn->tls = srv->opts.ssl_ctx != NULL;
    conn->req.tls = conn->tls;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, conn->req.peer_addr,
                  sizeof(conn->req.peer_addr));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 =
            (const struct sockaddr_in6 *)(void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, conn->req.peer_addr,
                  sizeof(conn->req.peer_addr));
    }
    if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
        /* An answer written as several TLS records must not meet the
         * Nagle / delayed-ACK stall (about 40 ms per exchange). */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (conn->tls) {
        ssl = SSL_new(srv->opts.ssl_ctx);
        if (!ssl)
            goto fail;
        /* Ownership: ssl moves into the bufferevent. */
        conn->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
                                                   BUFFEREVENT_SSL_ACCEPTING,
                                                   BEV_OPT_CLOSE_ON_FREE);
        if (!conn->bev) {
            SSL_free(ssl);
            goto fail;
        }
        bufferevent_openssl_set_allow_dirty_shutdown(conn->bev, 1);
    } else {
        conn->bev =
            bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (!conn->bev)
            goto fail;
    }
    conn->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = conn;
    srv->conns = conn;
    srv->nconns++;
    conn->state = ST_HEAD;
    bufferevent_setcb(conn->bev, read_cb, write_cb, event_cb, conn);
    bufferevent_set_timeouts(conn->bev, &idle, &idle);
    bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
    return;
fail:
    evutil_closesocket(fd);
    free(conn);
}

int sim_http_server_new(struct event_base *base, const char *addr, int port,
                        const struct sim_http_opts *opts,
                        struct sim_http_server **out, int *bound_port,
                        char *errbuf, size_t errsize)
{
    struct sim_http_server *srv = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    int salen = (int)sizeof(ss);
    int rc = -1;

    *out = NULL;
    memset(&ss, 0, sizeof(ss));
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &salen) != 0) {
        snprintf(errbuf, errsize, "bad listen address '%s'", addr);
        goto out;
    }
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);

    srv = calloc(1, sizeof(*srv));
    if (!srv) {
        snprintf(errbuf, errsize, "out of memory");
        goto out;
    }
    srv->base = base;
    srv->opts = *opts;
    srv->listener = evconnlistener_new_bind(
        base, accept_cb, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
        (struct sockaddr *)&ss, salen);
    if (!srv->listener) {
        snprintf(errbuf, errsize, "cannot listen on %s:%d: %s", addr, port,
                 strerror(errno));
        goto out;
    }
    if (getsockname(evconnlistener_get_fd(srv->listener),
                    (struct sockaddr *)&ss, &sslen) != 0) {
        snprintf(errbuf, errsize, "getsockname: %s", strerror(errno));
        goto out;
    }
    *bound_port = ss.ss_family == AF_INET
                      ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                      : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    *out = srv;
    srv = NULL;
    rc = 0;
out:
    sim_http_server_free(srv);
    return rc;
}

void sim_http_server_free(struct sim_http_server *srv)
{
    if (!srv)
        return;
    while (srv->conns)
        conn_free(srv->conns);
    if (srv->listener)
        evconnlistener_free(srv->listener);
    free(srv);
}

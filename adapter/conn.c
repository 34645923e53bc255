/*
 * Connections of one worker's API listeners (conn.h).
 *
 * How a connection is tracked without help from evhttp 2.1: evhttp asks
 * adp_conns_bev() for the bufferevent of each accepted socket, then makes
 * its connection object and sets the bufferevent's callbacks with that
 * object as their argument, all in the same accept callback. We hold one
 * extra reference on the bufferevent and finish the set-up in an event of
 * the highest priority, which runs before any I/O of the new socket: the
 * callback argument is then the evhttp connection (or NULL when evhttp
 * already gave up on it), its close callback tells us when it goes, and
 * our reference is dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define NAME_MAX_SCAN 24u /* header name bytes kept for comparison */
#define TARGET_SCAN   32u /* request target bytes kept for the body cap */

enum phase { PH_SETUP, PH_PENDING, PH_ACTIVE, PH_IDLE };

/* The strict framing scanner of one connection (see conn.h). */
enum scan_state {
    SC_LINE_START, /* at the start of a line */
    SC_NAME,       /* in a header name */
    SC_VALUE,      /* in a header value or the request line */
    SC_CR,         /* after CR: LF must follow */
    SC_BODY,       /* skipping body bytes */
    SC_OFF         /* refused, or nothing more to check */
};

struct scan {
    enum scan_state st;
    bool request_line; /* the current line is the request line */
    bool seen_request; /* the request line of this head was read */
    bool empty_line;   /* the current line has no bytes yet */
    unsigned name_len;
    char name[NAME_MAX_SCAN + 1];
    bool in_cl;         /* in a Content-Length value */
    bool cl_seen;       /* Content-Length given in this head */
    bool cl_digit;      /* the value has a digit */
    bool cl_trailing;   /* white space after the digits */
    uint64_t cl;        /* its value */
    uint64_t body_left; /* body bytes still to skip */
    size_t head_bytes;  /* of the current head, so far */
    unsigned spaces;    /* on the request line, so far */
    unsigned target_len;
    char target[TARGET_SCAN + 1]; /* the request target's first bytes */
};

struct peer {
    struct peer *next;
    uint8_t key[17]; /* family + up to 16 address bytes */
    unsigned count;
};

struct conn {
    struct adp_conns *cs;
    enum adp_listener l;
    enum phase phase;
    struct bufferevent *bev;
    struct evhttp_connection *evcon;
    struct evbuffer_cb_entry *scan_cb;
    int64_t deadline_ms;
    struct conn *prev, *next; /* in its phase list */
    struct conn *hnext;       /* hash chain by evcon */
    struct peer *peer;        /* TCP: its address's count */
    struct scan scan;
    uint64_t heads;      /* request heads scanned */
    uint64_t dispatched; /* requests evhttp handed to the API */
    size_t cap;          /* the body cap last set */
    bool bad;
    int bad_status;
    const char *why; /* static: which framing rule refused */
    bool has_cred;
    uid_t uid;
    gid_t gid;
};

struct list {
    struct conn *head, *tail;
    unsigned n;
};

struct adp_conns {
    struct event_base *base;
    struct adp_conns_limits lim;
    struct adp_metrics_shard *metrics;
    adp_conns_pause_fn *pause;
    void *pause_ctx;
    struct event *timer;    /* the earliest deadline */
    struct event *setup_ev; /* connections to finish setting up */
    struct list setup;
    struct list pending[ADP_LISTENERS];
    struct list idle[ADP_LISTENERS];
    struct list active[ADP_LISTENERS];
    bool paused[ADP_LISTENERS];
    struct conn **tab; /* hash by evcon */
    size_t tab_size;   /* power of two */
    size_t tab_count;
    struct peer **peers; /* hash by address */
    size_t peers_size;   /* power of two */
};

/* ---- lists ---------------------------------------------------------------
 */

static void list_add(struct list *ls, struct conn *c)
{
    c->prev = ls->tail;
    c->next = NULL;
    if (ls->tail)
        ls->tail->next = c;
    else
        ls->head = c;
    ls->tail = c;
    ls->n++;
}

static void list_del(struct list *ls, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        ls->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        ls->tail = c->prev;
    c->prev = c->next = NULL;
    ls->n--;
}

static struct list *list_of(struct adp_conns *cs, struct conn *c)
{
    switch (c->phase) {
    case PH_SETUP:
        return &cs->setup;
    case PH_PENDING:
        return &cs->pending[c->l];
    case PH_IDLE:
        return &cs->idle[c->l];
    case PH_ACTIVE:
        return &cs->active[c->l];
    }
    return &cs->setup;
}

static void move(struct adp_conns *cs, struct conn *c, enum phase to)
{
    list_del(list_of(cs, c), c);
    c->phase = to;
    list_add(list_of(cs, c), c);
}

/* ---- the hash of connections by evcon ------------------------------------
 */

static size_t ptr_hash(const void *p, size_t size)
{
    uint64_t h = (uint64_t)(uintptr_t)p;

    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15u;
    return (size_t)(h >> 32) & (size - 1);
}

static bool tab_grow(struct adp_conns *cs)
{
    size_t nsize = cs->tab_size ? cs->tab_size * 2 : 64;
    struct conn **nt = calloc(nsize, sizeof(*nt));

    if (!nt)
        return false;
    for (size_t i = 0; i < cs->tab_size; i++) {
        struct conn *c = cs->tab[i], *nx;
        for (; c; c = nx) {
            size_t h = ptr_hash(c->evcon, nsize);
            nx = c->hnext;
            c->hnext = nt[h];
            nt[h] = c;
        }
    }
    free(cs->tab);
    cs->tab = nt;
    cs->tab_size = nsize;
    return true;
}

static bool tab_add(struct adp_conns *cs, struct conn *c)
{
    size_t h;

    if (cs->tab_count >= cs->tab_size && !tab_grow(cs))
        return false;
    h = ptr_hash(c->evcon, cs->tab_size);
    c->hnext = cs->tab[h];
    cs->tab[h] = c;
    cs->tab_count++;
    return true;
}

static struct conn *tab_find(const struct adp_conns *cs,
                             const struct evhttp_connection *evcon)
{
    if (!cs->tab_size)
        return NULL;
    for (struct conn *c = cs->tab[ptr_hash(evcon, cs->tab_size)]; c;
         c = c->hnext) {
        if (c->evcon == evcon)
            return c;
    }
    return NULL;
}

static void tab_del(struct adp_conns *cs, struct conn *c)
{
    struct conn **pp;

    if (!cs->tab_size)
        return;
    for (pp = &cs->tab[ptr_hash(c->evcon, cs->tab_size)]; *pp;
         pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            cs->tab_count--;
            return;
        }
    }
}

/* ---- peers ---------------------------------------------------------------
 */

/* The address of a TCP peer without its port; false for other kinds. */
static bool peer_key(const struct sockaddr *sa, uint8_t key[17])
{
    memset(key, 0, 17);
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        key[0] = 4;
        memcpy(key + 1, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        key[0] = 6;
        memcpy(key + 1, &in6->sin6_addr, 16);
        return true;
    }
    return false;
}

static size_t key_hash(const uint8_t key[17], size_t size)
{
    uint64_t h = 1469598103934665603u;

    for (size_t i = 0; i < 17; i++)
        h = (h ^ key[i]) * 1099511628211u;
    return (size_t)h & (size - 1);
}

/* The count of this address (created at 0), or NULL when out of memory. */
static struct peer *peer_get(struct adp_conns *cs, const uint8_t key[17])
{
    size_t h;
    struct peer *p;

    if (!cs->peers) {
        cs->peers_size = 256;
        cs->peers = calloc(cs->peers_size, sizeof(*cs->peers));
        if (!cs->peers)
            return NULL;
    }
    h = key_hash(key, cs->peers_size);
    for (p = cs->peers[h]; p; p = p->next) {
        if (!memcmp(p->key, key, sizeof(p->key)))
            return p;
    }
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    memcpy(p->key, key, sizeof(p->key));
    p->next = cs->peers[h];
    cs->peers[h] = p;
    return p;
}

static void peer_put(struct adp_conns *cs, struct peer *p)
{
    struct peer **pp;

    if (!p || --p->count > 0)
        return;
    for (pp = &cs->peers[key_hash(p->key, cs->peers_size)]; *pp;
         pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            free(p);
            return;
        }
    }
}

/* ---- strict framing ------------------------------------------------------
 */

static void refuse(struct conn *c, const char *why)
{
    c->bad = true;
    c->bad_status = 400;
    c->why = why;
    c->scan.st = SC_OFF;
}

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch);
}

/* The request line ended: the body cap of its route. */
static void body_cap(struct conn *c)
{
    const struct adp_conns_limits *lim = &c->cs->lim;
    struct scan *s = &c->scan;
    size_t cap = lim->max_body_bytes;

    if (!c->evcon || !cap)
        return;
    s->target[s->target_len] = '\0';
    if (lim->big_body_prefix &&
        !strncmp(s->target, lim->big_body_prefix, strlen(lim->big_body_prefix)))
        cap = lim->big_body_bytes;
    /* A pipelined request whose body evhttp has not read yet keeps its
     * cap: only raise it then (the JSON routes check their own cap). */
    if (c->heads > c->dispatched && cap < c->cap)
        return;
    c->cap = cap;
    evhttp_connection_set_max_body_size(c->evcon, (ev_ssize_t)cap);
}

/* The end of a header line: record what the framing needs. */
static void line_end(struct conn *c)
{
    struct scan *s = &c->scan;

    if (s->request_line) {
        body_cap(c);
        return;
    }
    if (s->in_cl && !s->cl_digit)
        refuse(c, "Content-Length has no digits");
    s->in_cl = false;
}

/* A header name ended at ':'. */
static void name_end(struct conn *c)
{
    struct scan *s = &c->scan;

    s->name[s->name_len < NAME_MAX_SCAN ? s->name_len : NAME_MAX_SCAN] = '\0';
    if (s->name_len <= NAME_MAX_SCAN &&
        !strcasecmp(s->name, "transfer-encoding")) {
        refuse(c, "Transfer-Encoding is not accepted; send Content-Length");
        return;
    }
    if (s->name_len <= NAME_MAX_SCAN &&
        !strcasecmp(s->name, "content-length")) {
        if (s->cl_seen) {
            refuse(c, "Content-Length appears more than once");
            return;
        }
        s->cl_seen = true;
        s->in_cl = true;
        s->cl_digit = s->cl_trailing = false;
        s->cl = 0;
    }
}

/* One byte of a Content-Length value (after the colon). */
static void cl_byte(struct conn *c, unsigned char ch)
{
    struct scan *s = &c->scan;

    if (ch == ' ' || ch == '\t') {
        if (s->cl_digit)
            s->cl_trailing = true;
        return;
    }
    if (ch < '0' || ch > '9' || s->cl_trailing || s->cl > UINT64_MAX / 10) {
        refuse(c, "Content-Length must be plain digits");
        return;
    }
    s->cl = s->cl * 10 + (uint64_t)(ch - '0');
    s->cl_digit = true;
}

/* The empty line ending a head: the body follows, then the next head. */
static void head_end(struct conn *c)
{
    struct scan *s = &c->scan;
    uint64_t body = s->cl_seen ? s->cl : 0;

    memset(s, 0, sizeof(*s));
    c->heads++;
    s->body_left = body;
    s->st = body ? SC_BODY : SC_LINE_START;
    s->empty_line = true;
}

static void scan_byte(struct conn *c, unsigned char ch)
{
    struct scan *s = &c->scan;

    if (s->seen_request && ++s->head_bytes > c->cs->lim.max_head_bytes) {
        refuse(c, "the request line and headers are too long");
        c->bad_status = 431;
        return;
    }
    switch (s->st) {
    case SC_CR:
        if (ch != '\n') {
            refuse(c, "a CR not followed by LF");
            return;
        }
        if (s->empty_line) {
            if (s->seen_request)
                head_end(c);
            else
                s->st = SC_LINE_START; /* empty lines before a request */
            return;
        }
        line_end(c);
        s->st = SC_LINE_START;
        s->empty_line = true;
        return;
    case SC_LINE_START:
        if (ch == '\r') {
            s->st = SC_CR;
            return;
        }
        if (ch == '\n') {
            refuse(c, "a bare LF line end");
            return;
        }
        s->empty_line = false;
        if (!s->seen_request) {
            s->seen_request = true;
            s->request_line = true;
            s->st = SC_VALUE;
            return;
        }
        s->request_line = false;
        if (ch == ' ' || ch == '\t') {
            refuse(c, "obsolete line folding");
            return;
        }
        s->name_len = 0;
        s->st = SC_NAME;
        scan_byte(c, ch); /* the byte starts the name */
        return;
    case SC_NAME:
        if (ch == ':') {
            name_end(c);
            if (s->st != SC_OFF)
                s->st = SC_VALUE;
            return;
        }
        if (!is_tchar(ch)) {
            refuse(c, ch == ' ' || ch == '\t'
                          ? "white space in or after a header name"
                          : "a header name with a character outside token");
            return;
        }
        if (s->name_len < NAME_MAX_SCAN)
            s->name[s->name_len] = (char)ch;
        s->name_len++;
        return;
    case SC_VALUE:
        if (ch == '\r') {
            s->st = SC_CR;
            return;
        }
        if (ch == '\n') {
            refuse(c, "a bare LF line end");
            return;
        }
        if (s->in_cl)
            cl_byte(c, ch);
        else if (s->request_line) {
            if (ch == ' ')
                s->spaces++;
            else if (s->spaces == 1 && s->target_len < TARGET_SCAN)
                s->target[s->target_len++] = (char)ch;
        }
        return;
    case SC_BODY:
    case SC_OFF:
        return;
    }
}

/* evbuffer callback on the input: runs as bytes arrive, before evhttp
 * parses them. Body bytes are skipped by count. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                     void *arg)
{
    struct conn *c = arg;
    struct evbuffer_ptr pos;
    struct evbuffer_iovec v[8];
    size_t len = evbuffer_get_length(buf), start;
    int n;

    if (info->n_added == 0 || c->scan.st == SC_OFF)
        return;
    start = len - info->n_added;
    while (start < len && c->scan.st != SC_OFF) {
        if (c->scan.st == SC_BODY) {
            uint64_t skip = c->scan.body_left;
            if (skip > len - start)
                skip = len - start;
            start += (size_t)skip;
            c->scan.body_left -= skip;
            if (c->scan.body_left == 0) {
                c->scan.st = SC_LINE_START;
                c->scan.empty_line = true;
            }
            continue;
        }
        if (evbuffer_ptr_set(buf, &pos, start, EVBUFFER_PTR_SET) != 0)
            return;
        n = evbuffer_peek(buf, (ev_ssize_t)(len - start), &pos, v, 8);
        if (n <= 0)
            return;
        for (int i = 0;
             i < n && i < 8 && c->scan.st != SC_OFF && c->scan.st != SC_BODY;
             i++) {
            const unsigned char *p = v[i].iov_base;
            size_t k = 0;
            for (; k < v[i].iov_len && c->scan.st != SC_OFF &&
                   c->scan.st != SC_BODY;
                 k++)
                scan_byte(c, p[k]);
            start += k;
        }
    }
}

/* ---- closing -------------------------------------------------------------
 */

static void deadline_arm(struct adp_conns *cs);

static void conn_free(struct conn *c)
{
    free(c);
}

/* evhttp's close callback: the connection is going away. */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
    struct conn *c = arg;
    struct adp_conns *cs = c->cs;
    enum adp_listener l = c->l;

    (void)evcon;
    list_del(list_of(cs, c), c);
    tab_del(cs, c);
    peer_put(cs, c->peer);
    if (c->scan_cb && c->bev)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->scan_cb);
    adp_metrics_connections_add(cs->metrics, -1);
    conn_free(c);
    if (cs->paused[l] && adp_conns_open(cs, l) < cs->lim.max_connections) {
        cs->paused[l] = false;
        cs->pause(cs->pause_ctx, l, false);
    }
}

/* Close a connection that holds no request of the API. */
static void conn_close(struct conn *c, const char *why)
{
    adp_log_debug("connection closed: %s", why);
    /* on_close() runs inside and frees c. */
    evhttp_connection_free(c->evcon);
}

/* ---- deadlines and budgets -----------------------------------------------
 */

static int64_t min_deadline(const struct adp_conns *cs)
{
    int64_t m = 0;

    for (unsigned l = 0; l < ADP_LISTENERS; l++) {
        const struct conn *h[2] = {cs->pending[l].head, cs->idle[l].head};
        for (size_t i = 0; i < 2; i++) {
            if (h[i] && (m == 0 || h[i]->deadline_ms < m))
                m = h[i]->deadline_ms;
        }
    }
    return m;
}

static void deadline_arm(struct adp_conns *cs)
{
    int64_t m = min_deadline(cs), now;
    struct timeval tv;

    if (m == 0) {
        evtimer_del(cs->timer);
        return;
    }
    now = adp_mono_ms();
    m = m > now ? m - now : 0;
    tv.tv_sec = (time_t)(m / 1000);
    tv.tv_usec = (suseconds_t)((m % 1000) * 1000);
    evtimer_add(cs->timer, &tv);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct adp_conns *cs = arg;
    int64_t now = adp_mono_ms();

    (void)fd;
    (void)what;
    for (unsigned l = 0; l < ADP_LISTENERS; l++) {
        while (cs->pending[l].head && cs->pending[l].head->deadline_ms <= now) {
            adp_metrics_conn_closed(cs->metrics, ADP_CONN_DEADLINE);
            conn_close(cs->pending[l].head, "request deadline");
        }
        while (cs->idle[l].head && cs->idle[l].head->deadline_ms <= now) {
            adp_metrics_conn_closed(cs->metrics, ADP_CONN_IDLE);
            conn_close(cs->idle[l].head, "keep-alive deadline");
        }
    }
    deadline_arm(cs);
}

/*
 * How many of the oldest IDLE and PENDING connections eviction looks at:
 * enough to find the heaviest peer among them, bounded so that an
 * admission costs O(1) whatever the budgets are.
 */
#define EVICT_SCAN 256

/* The IDLE or PENDING connection in `list` (oldest first) that ranks
 * highest, counting at most EVICT_SCAN entries; keeps *best. */
static void evict_scan(struct conn *head, const struct conn *except,
                       struct conn **best, unsigned *best_count)
{
    unsigned n = 0;

    for (struct conn *c = head; c && n < EVICT_SCAN; c = c->next, n++) {
        unsigned count = c->peer ? c->peer->count : 0;

        if (c == except)
            continue;
        /* Strictly more: among equals the older (and IDLE before
         * PENDING, scanned first) stays the choice. */
        if (!*best || count > *best_count) {
            *best = c;
            *best_count = count;
        }
    }
}

/*
 * The connection to give up for a newer one, other than `except`: one
 * that holds no request, from the peer address with the most connections
 * (so that a flood from a few addresses evicts its own connections, not
 * a client that opened one), the oldest of that peer, IDLE before
 * PENDING. On the UNIX socket (no peer address) the oldest IDLE, then the
 * oldest PENDING. NULL when every connection serves a request.
 */
static struct conn *evictable(struct adp_conns *cs, enum adp_listener l,
                              const struct conn *except)
{
    struct conn *best = NULL;
    unsigned best_count = 0;

    evict_scan(cs->idle[l].head, except, &best, &best_count);
    evict_scan(cs->pending[l].head, except, &best, &best_count);
    return best;
}

/*
 * A new connection is in: keep each budget by evicting the oldest
 * connection that holds no request. Returns false when the new one had
 * to go itself (it has been closed).
 */
static bool admit(struct adp_conns *cs, struct conn *c)
{
    enum adp_listener l = c->l;
    struct conn *old;

    if (c->peer && cs->lim.max_per_peer &&
        c->peer->count > cs->lim.max_per_peer) {
        adp_metrics_conn_closed(cs->metrics, ADP_CONN_PEER_LIMIT);
        conn_close(c, "per-peer limit");
        return false;
    }
    while (adp_conns_open(cs, l) > cs->lim.max_connections ||
           adp_conns_waiting(cs, l) > cs->lim.max_pending) {
        old = evictable(cs, l, c);
        if (!old)
            break;
        adp_metrics_conn_closed(cs->metrics, ADP_CONN_EVICTED);
        conn_close(old, "evicted by a newer connection");
    }
    if (adp_conns_open(cs, l) > cs->lim.max_connections) {
        /* Every other connection is serving a request. */
        adp_metrics_conn_closed(cs->metrics, ADP_CONN_FULL);
        conn_close(c, "connection limit");
        if (!cs->paused[l]) {
            cs->paused[l] = true;
            cs->pause(cs->pause_ctx, l, true);
        }
        return false;
    }
    return true;
}

/* ---- set-up --------------------------------------------------------------
 */

/* Peer credentials of a UNIX socket (Linux struct ucred's layout). */
struct peer_cred {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};

static void finish_setup(struct adp_conns *cs, struct conn *c)
{
    void *arg = NULL;
    uint8_t key[17];
    struct bufferevent *bev = c->bev;

    list_del(&cs->setup, c);
    bufferevent_getcb(bev, NULL, NULL, NULL, &arg);
    if (!arg) {
        /* evhttp gave up on the socket already (out of memory). */
        if (c->scan_cb)
            evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->scan_cb);
        conn_free(c);
        bufferevent_decref(bev);
        return;
    }
    c->evcon = arg;
    bufferevent_decref(bev); /* evhttp holds it now */
    evhttp_connection_set_closecb(c->evcon, on_close, c);
    c->phase = PH_PENDING;
    c->deadline_ms = adp_mono_ms() + cs->lim.request_timeout_ms;
    list_add(&cs->pending[c->l], c);
    adp_metrics_connections_add(cs->metrics, 1);
    if (!tab_add(cs, c)) {
        conn_close(c, "out of memory");
        return;
    }
    if (c->l == ADP_LISTENER_TCP) {
        /* Answers leave as several TLS records or segments: without
         * this, Nagle holds the last one until the peer's delayed ACK
         * (about 40 ms per leg). */
        int one = 1;
        if (setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
                       sizeof(one)) != 0)
            adp_log_errno(ADP_LOG_WARN, "TCP_NODELAY on an API connection");
    }
    if (c->l == ADP_LISTENER_TCP &&
        peer_key(evhttp_connection_get_addr(c->evcon), key)) {
        c->peer = peer_get(cs, key);
        if (!c->peer) {
            conn_close(c, "out of memory");
            return;
        }
        c->peer->count++;
    }
    if (c->l == ADP_LISTENER_UNIX) {
        struct peer_cred pc;
        socklen_t pl = sizeof(pc);
        if (getsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_PEERCRED, &pc,
                       &pl) == 0 &&
            pl == sizeof(pc)) {
            c->has_cred = true;
            c->uid = pc.uid;
            c->gid = pc.gid;
        }
    }
    admit(cs, c);
}

static void on_setup(evutil_socket_t fd, short what, void *arg)
{
    struct adp_conns *cs = arg;

    (void)fd;
    (void)what;
    while (cs->setup.head)
        finish_setup(cs, cs->setup.head);
    deadline_arm(cs);
}

struct bufferevent *adp_conns_bev(struct adp_conns *cs, enum adp_listener l,
                                  SSL_CTX *tls)
{
    struct bufferevent *bev;
    struct conn *c = calloc(1, sizeof(*c));
    SSL *ssl = NULL;

    if (!c)
        return NULL;
    if (tls) {
        ssl = SSL_new(tls);
        bev = ssl ? bufferevent_openssl_socket_new(
                        cs->base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
                  : NULL;
        if (!bev)
            SSL_free(ssl);
    } else {
        bev = bufferevent_socket_new(cs->base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev) {
        free(c);
        return NULL;
    }
    c->cs = cs;
    c->l = l;
    c->phase = PH_SETUP;
    c->bev = bev;
    c->scan.st = SC_LINE_START;
    c->scan.empty_line = true;
    c->scan_cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
    /* Held until finish_setup(): see the top of this file. */
    bufferevent_incref(bev);
    list_add(&cs->setup, c);
    event_active(cs->setup_ev, EV_READ, 0);
    return bev;
}

/* ---- the API's side ------------------------------------------------------
 */

bool adp_conns_dispatched(struct adp_conns *cs, struct evhttp_connection *evcon,
                          struct adp_conn_info *info)
{
    struct conn *c = tab_find(cs, evcon);

    memset(info, 0, sizeof(*info));
    if (!c)
        return false;
    if (c->phase != PH_ACTIVE)
        move(cs, c, PH_ACTIVE);
    c->dispatched++;
    info->listener = c->l;
    info->bad_framing = c->bad;
    info->bad_status = c->bad_status;
    info->why = c->why;
    info->has_peer_cred = c->has_cred;
    info->uid = c->uid;
    info->gid = c->gid;
    return true;
}

void adp_conns_answered(struct adp_conns *cs, struct evhttp_connection *evcon)
{
    struct conn *c = evcon ? tab_find(cs, evcon) : NULL;

    if (!c || c->phase != PH_ACTIVE)
        return;
    c->deadline_ms = adp_mono_ms() + cs->lim.keepalive_timeout_ms;
    move(cs, c, PH_IDLE);
    deadline_arm(cs);
}

unsigned adp_conns_open(const struct adp_conns *cs, enum adp_listener l)
{
    return cs->pending[l].n + cs->idle[l].n + cs->active[l].n;
}

unsigned adp_conns_waiting(const struct adp_conns *cs, enum adp_listener l)
{
    return cs->pending[l].n + cs->idle[l].n;
}

/* ---- life cycle ----------------------------------------------------------
 */

enum xr_status adp_conns_new(struct event_base *base,
                             const struct adp_conns_limits *lim,
                             struct adp_metrics_shard *metrics,
                             adp_conns_pause_fn *pause, void *pause_ctx,
                             struct adp_conns **out, struct xr_error *err)
{
    struct adp_conns *cs = calloc(1, sizeof(*cs));

    *out = NULL;
    if (!cs)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    cs->base = base;
    cs->metrics = metrics;
    cs->pause = pause;
    cs->pause_ctx = pause_ctx;
    adp_conns_set_limits(cs, lim);
    cs->timer = evtimer_new(base, on_deadline, cs);
    cs->setup_ev = event_new(base, -1, 0, on_setup, cs);
    if (!cs->timer || !cs->setup_ev) {
        adp_conns_free(cs);
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    }
    /* Before any I/O of the sockets it sets up (see the top). */
    event_priority_set(cs->setup_ev, 0);
    *out = cs;
    return XR_OK;
}

void adp_conns_set_limits(struct adp_conns *cs,
                          const struct adp_conns_limits *lim)
{
    cs->lim = *lim;
    if (cs->lim.max_connections == 0)
        cs->lim.max_connections = 1;
    if (cs->lim.max_pending == 0 ||
        cs->lim.max_pending > cs->lim.max_connections)
        cs->lim.max_pending = cs->lim.max_connections;
    if (cs->lim.max_head_bytes == 0)
        cs->lim.max_head_bytes = 16384;
}

void adp_conns_free(struct adp_conns *cs)
{
    if (!cs)
        return;
    if (cs->timer)
        event_free(cs->timer);
    if (cs->setup_ev)
        event_free(cs->setup_ev);
    free(cs->tab);
    if (cs->peers) {
        for (size_t i = 0; i < cs->peers_size; i++) {
            struct peer *p = cs->peers[i], *nx;
            for (; p; p = nx) {
                nx = p->next;
                free(p);
            }
        }
        free(cs->peers);
    }
    free(cs);
}

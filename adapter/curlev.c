/*
 * libcurl multi-socket <-> libevent glue (hiperfifo.c pattern).
 *
 * libcurl tells us, through the socket callback, which sockets to watch and
 * for what, and through the timer callback when to call it back. We keep
 * one libevent event per socket (stored with curl_multi_assign) and one
 * timer. Socket and timer events call curl_multi_socket_action() and then
 * drain curl_multi_info_read() for finished transfers. Neither libcurl
 * callback calls any curl_multi_* function (CURLM_RECURSIVE_API_CALL); the
 * timer callback only arms a libevent timer, even for a zero timeout.
 *
 * A kept-alive connection's socket stays registered while it is idle:
 * libcurl says CURL_POLL_REMOVE when an exchange ends and asks for the
 * same socket again with the next one, which would cost an epoll_ctl()
 * each way, a struct sock and an event per exchange. Its entry is kept
 * (idle) until libcurl closes the socket, which it reports through
 * CURLOPT_CLOSESOCKETFUNCTION, set on every handle; an idle socket that
 * becomes readable (the server closed it) is dropped from the loop at
 * once, so it cannot spin. libcurl checks an idle connection before it
 * reuses it.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "curlev.h"

struct adp_curlev {
    struct event_base *base; /* borrowed */
    CURLM *multi;            /* owned */
    CURLSH *share;           /* owned: DNS cache and TLS sessions */
    struct event *timer;     /* owned: the multi handle's single timeout */
    unsigned active;         /* handles added and not finished/removed */
    struct sock *socks;      /* owned: every watched socket */
    CURL *spare[ADP_CURLEV_SPARE_MAX]; /* owned: reset easy handles */
    unsigned nspare;
};

/* Per-socket state, attached to the socket with curl_multi_assign(). */
struct sock {
    struct adp_curlev *cev;
    curl_socket_t fd;
    struct event *ev;         /* owned; its argument is this sock */
    int what;                 /* CURL_POLL_* currently registered */
    bool idle;                /* libcurl said REMOVE; still registered */
    struct sock *prev, *next; /* in cev->socks */
};

static void check_done(struct adp_curlev *cev)
{
    CURLMsg *msg;
    int left = 0;

    /*
     * The loop is bounded by the number of finished transfers. A callback
     * may remove other handles: curl_multi_remove_handle() drops their
     * queued messages, so every message read here refers to a live handle.
     */
    while ((msg = curl_multi_info_read(cev->multi, &left)) != NULL) {
        struct adp_curlev_handle *h;
        char *priv = NULL;
        CURL *easy;
        CURLcode result;

        if (msg->msg != CURLMSG_DONE)
            continue;
        easy = msg->easy_handle;
        result = msg->data.result;
        (void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        h = (struct adp_curlev_handle *)(void *)priv;
        (void)curl_multi_remove_handle(cev->multi, easy);
        (void)curl_easy_setopt(easy, CURLOPT_SHARE, NULL);
        if (!h)
            continue;
        h->active = false;
        cev->active--;
        /* Last use of h: the callback may free it. */
        h->done(easy, result, h->ctx);
    }
}

static void socket_action(struct adp_curlev *cev, curl_socket_t fd, int mask)
{
    int running = 0;

    (void)curl_multi_socket_action(cev->multi, fd, mask, &running);
    check_done(cev);
}

static void sock_free(struct sock *s);

static void on_socket_event(evutil_socket_t fd, short kind, void *arg)
{
    struct sock *s = arg;
    struct adp_curlev *cev = s->cev;
    int mask = 0;

    if (s->idle) {
        /* Nobody waits on it: stop watching (libcurl will find the
         * connection dead when it next looks, or close it). */
        sock_free(s);
        return;
    }
    if (kind & EV_READ)
        mask |= CURL_CSELECT_IN;
    if (kind & EV_WRITE)
        mask |= CURL_CSELECT_OUT;
    socket_action(cev, (curl_socket_t)fd, mask);
}

static void on_timer(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    socket_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arm or cancel the libevent timer. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct adp_curlev *cev = userp;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0)
        return evtimer_del(cev->timer) == 0 ? 0 : -1;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(cev->timer, &tv) == 0 ? 0 : -1;
}

static void sock_free(struct sock *s)
{
    if (!s)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        s->cev->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->ev)
        event_free(s->ev);
    free(s);
}

/* CURLMOPT_SOCKETFUNCTION: add, change or remove the socket's event. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp)
{
    struct adp_curlev *cev = userp;
    struct sock *s = socketp;
    short kind = EV_PERSIST;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        /* libcurl forgets socketp; the entry stays, idle, until the
         * socket is closed (close_cb) or stirs (on_socket_event). */
        if (s)
            s->idle = true;
        return 0;
    }
    if (!s) {
        /* A kept-alive connection coming back: its idle entry. */
        for (s = cev->socks; s && !(s->idle && s->fd == fd); s = s->next)
            ;
        if (s) {
            if (curl_multi_assign(cev->multi, fd, s) != CURLM_OK)
                return -1;
            s->idle = false;
        }
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->cev = cev;
        s->fd = fd;
        /* curl_multi_assign() is the one multi call allowed here */
        if (curl_multi_assign(cev->multi, fd, s) != CURLM_OK) {
            free(s);
            return -1;
        }
        s->next = cev->socks;
        if (s->next)
            s->next->prev = s;
        cev->socks = s;
    }
    if (s->ev && s->what == what)
        return 0;
    if (what & CURL_POLL_IN)
        kind |= EV_READ;
    if (what & CURL_POLL_OUT)
        kind |= EV_WRITE;
    if (s->ev) {
        (void)event_del(s->ev);
        if (event_assign(s->ev, cev->base, fd, kind, on_socket_event, s) != 0)
            return -1;
    } else {
        s->ev = event_new(cev->base, fd, kind, on_socket_event, s);
        if (!s->ev)
            return -1;
    }
    s->what = what;
    return event_add(s->ev, NULL) == 0 ? 0 : -1;
}

/* CURLOPT_CLOSESOCKETFUNCTION: libcurl closes one of its sockets. */
static int close_cb(void *clientp, curl_socket_t fd)
{
    struct adp_curlev *cev = clientp;
    struct sock *s;

    for (s = cev->socks; s && s->fd != fd; s = s->next)
        ;
    sock_free(s); /* before close(): the fd number may be reused at once */
    return close(fd);
}

enum xr_status adp_curlev_global_init(struct xr_error *err)
{
    static bool done;
    const curl_version_info_data *vi;

    if (done)
        return XR_OK;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return xr_error_set(err, XR_EINTERNAL, "curl_features", "",
                            "curl_global_init failed");
    vi = curl_version_info(CURLVERSION_NOW);
    if (!(vi->features & CURL_VERSION_ASYNCHDNS))
        return xr_error_set(err, XR_EINTERNAL, "curl_features", "",
                            "libcurl %s lacks AsynchDNS: name resolution "
                            "would block the event loop",
                            vi->version);
    if (!vi->ssl_version || strncmp(vi->ssl_version, "OpenSSL", 7) != 0)
        return xr_error_set(err, XR_EINTERNAL, "curl_features", "",
                            "libcurl %s uses TLS backend %s; OpenSSL is "
                            "required (libcurl4-openssl-dev)",
                            vi->version,
                            vi->ssl_version ? vi->ssl_version : "none");
    if (vi->version_num < 0x075500)
        return xr_error_set(err, XR_EINTERNAL, "curl_features", "",
                            "libcurl %s is older than 7.85.0", vi->version);
    done = true;
    return XR_OK;
}

enum xr_status adp_curlev_new(struct event_base *base,
                              const struct adp_curlev_opts *opts,
                              struct adp_curlev **out, struct xr_error *err)
{
    struct adp_curlev *cev = NULL;
    long max_connects = 64;
    enum xr_status rc;

    *out = NULL;
    cev = calloc(1, sizeof(*cev));
    if (!cev) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    cev->base = base;
    cev->multi = curl_multi_init();
    cev->share = curl_share_init();
    cev->timer = evtimer_new(base, on_timer, cev);
    if (!cev->multi || !cev->share || !cev->timer) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "cannot create the multi handle");
        goto out;
    }
    /* No lock functions: the share is used by this loop's thread only. */
    if (curl_share_setopt(cev->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
            CURLSHE_OK ||
        curl_share_setopt(cev->share, CURLSHOPT_SHARE,
                          CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        rc = xr_error_set(err, XR_EINTERNAL, "curl_features", "",
                          "curl_share_setopt failed");
        goto out;
    }
    if (opts && opts->max_connects > 0)
        max_connects = opts->max_connects;
    if (curl_multi_setopt(cev->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) ||
        curl_multi_setopt(cev->multi, CURLMOPT_SOCKETDATA, cev) ||
        curl_multi_setopt(cev->multi, CURLMOPT_TIMERFUNCTION, timer_cb) ||
        curl_multi_setopt(cev->multi, CURLMOPT_TIMERDATA, cev) ||
        curl_multi_setopt(cev->multi, CURLMOPT_MAXCONNECTS, max_connects)) {
        rc = xr_error_set(err, XR_EINTERNAL, "curl_features", "",
                          "curl_multi_setopt failed");
        goto out;
    }
    *out = cev;
    cev = NULL;
    rc = XR_OK;
out:
    adp_curlev_free(cev);
    return rc;
}

void adp_curlev_free(struct adp_curlev *cev)
{
    if (!cev)
        return;
    /* Programming error: transfers still own their easy handles. */
    assert(cev->active == 0);
    while (cev->nspare > 0)
        curl_easy_cleanup(cev->spare[--cev->nspare]);
    /* Closes cached connections; socket_cb(REMOVE) frees their events. */
    if (cev->multi)
        (void)curl_multi_cleanup(cev->multi);
    while (cev->socks)
        sock_free(cev->socks);
    if (cev->share)
        (void)curl_share_cleanup(cev->share);
    if (cev->timer)
        event_free(cev->timer);
    free(cev);
}

struct event_base *adp_curlev_base(const struct adp_curlev *cev)
{
    return cev->base;
}

unsigned adp_curlev_active(const struct adp_curlev *cev)
{
    return cev->active;
}

CURL *adp_curlev_easy_get(struct adp_curlev *cev)
{
    if (cev->nspare > 0)
        return cev->spare[--cev->nspare];
    return curl_easy_init();
}

void adp_curlev_easy_put(struct adp_curlev *cev, CURL *easy)
{
    if (!easy)
        return;
    if (cev->nspare == ADP_CURLEV_SPARE_MAX) {
        curl_easy_cleanup(easy);
        return;
    }
    /* Every option back to its default (pointers into the finished
     * exchange among them); the handle's buffers stay allocated. */
    curl_easy_reset(easy);
    cev->spare[cev->nspare++] = easy;
}

enum xr_status adp_curlev_add(struct adp_curlev *cev,
                              struct adp_curlev_handle *h,
                              adp_curlev_done_fn *done, void *ctx,
                              struct xr_error *err)
{
    CURLMcode mc;

    if (!h->easy || !done || h->active)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "adp_curlev_add: bad handle");
    h->done = done;
    h->ctx = ctx;
    if (curl_easy_setopt(h->easy, CURLOPT_PRIVATE, h) != CURLE_OK ||
        curl_easy_setopt(h->easy, CURLOPT_SHARE, cev->share) != CURLE_OK ||
        curl_easy_setopt(h->easy, CURLOPT_CLOSESOCKETFUNCTION, close_cb) !=
            CURLE_OK ||
        curl_easy_setopt(h->easy, CURLOPT_CLOSESOCKETDATA, cev) != CURLE_OK)
        return xr_error_set(err, XR_EINTERNAL, "curl_error", "",
                            "curl_easy_setopt failed");
    mc = curl_multi_add_handle(cev->multi, h->easy);
    if (mc != CURLM_OK) {
        (void)curl_easy_setopt(h->easy, CURLOPT_SHARE, NULL);
        return xr_error_set(
            err, mc == CURLM_OUT_OF_MEMORY ? XR_ENOMEM : XR_EINTERNAL,
            "curl_error", "", "curl_multi_add_handle: %s",
            curl_multi_strerror(mc));
    }
    h->active = true;
    cev->active++;
    return XR_OK;
}

void adp_curlev_remove(struct adp_curlev *cev, struct adp_curlev_handle *h)
{
    if (!h || !h->active)
        return;
    (void)curl_multi_remove_handle(cev->multi, h->easy);
    (void)curl_easy_setopt(h->easy, CURLOPT_SHARE, NULL);
    h->active = false;
    cev->active--;
}

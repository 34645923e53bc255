/*
 * `vayla serve`: workers, listeners, generations, signals, drain, reload.
 * See server.h for the model.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <systemd/sd-daemon.h>

#include "api.h"
#include "auditq.h"
#include "checkpoint.h"
#include "conn.h"
#include "curlev.h"
#include "gen.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "upstream.h"
#include "util.h"

#define ADP_WORKERS_MAX 64u

struct adp_server;

struct adp_worker;

/* One listener of a worker: its own evhttp, so that the TCP listener may
 * speak TLS while the UNIX socket speaks plain HTTP. */
struct listener {
    struct adp_worker *w;
    enum adp_listener kind;
    struct evhttp *http;
    struct evhttp_bound_socket *bound; /* NULL when not configured */
    bool paused;                       /* by its connection budget */
};

struct adp_worker {
    unsigned id;
    struct adp_server *srv;
    pthread_t thread;
    struct event_base *base;
    struct listener lis[ADP_LISTENERS];
    struct adp_conns *conns; /* owned: admission and deadlines */
    struct adp_metrics_shard *metrics;
    struct adp_gen *gen;              /* current generation (a reference) */
    _Atomic(struct adp_gen *) posted; /* next generation from main */
    struct event *wake;               /* main -> worker: reload, drain */
    struct event *drain_ev;           /* drain deadline */
    struct event *backoff_ev;         /* accept back-off timer */
    bool accept_backoff;              /* accept() failing: paused */
    bool accepting;                   /* listeners enabled */
    bool draining;
    struct adp_upstream *up; /* owned: connections to the SS */
    struct adp_api *api;     /* owned: requests */
};

struct adp_server {
    char *config_path;
    unsigned nworkers;
    struct adp_worker *workers;
    int tcp_fds[ADP_WORKERS_MAX]; /* one SO_REUSEPORT socket per worker;
                                     -1 once evhttp owns it */
    bool tcp;                     /* a TCP listener is configured */
    int unix_fd;                  /* shared by all workers, -1 if none */
    unsigned tcp_port;            /* actual port (after binding port 0) */
    struct adp_metrics *metrics;
    struct adp_auditq *auditq; /* the audit writer thread */
    EVP_PKEY *checkpoint_key;  /* signs checkpoints, or NULL */
    atomic_bool stopping;
    _Atomic(struct adp_gen *) gen; /* newest generation (main's ref) */
    uint64_t gen_number;
    const char *ready_file; /* --ready-file, or NULL */
    long pid;               /* getpid(), once: part of every request id */
};

/* A worker's share of a process-wide number (at least 1). */
static unsigned share(const struct adp_worker *w, unsigned total)
{
    unsigned n = total / w->srv->nworkers;
    return n > 0 ? n : 1;
}

/* This worker's connection limits from a configuration. */
static void conns_limits(const struct adp_worker *w,
                         const struct adp_config *cfg,
                         struct adp_conns_limits *lim)
{
    memset(lim, 0, sizeof(*lim));
    lim->max_connections = share(w, cfg->api.max_connections);
    lim->max_pending = share(w, cfg->api.max_pending_connections);
    lim->max_per_peer = cfg->api.max_connections_per_peer;
    lim->request_timeout_ms = cfg->api.request_timeout_ms;
    lim->keepalive_timeout_ms = cfg->api.keepalive_timeout_ms;
    lim->max_head_bytes = cfg->api.max_header_bytes;
    lim->max_body_bytes = cfg->api.max_body_bytes;
    lim->big_body_prefix = ADP_API_SOAP_PREFIX;
    lim->big_body_bytes = cfg->api.max_soap_body_bytes;
}

static void worker_accept(struct adp_worker *w, bool on);

/* ---- listeners ------------------------------------------------------- */

static int tcp_listen(const char *address, unsigned port, unsigned *bound,
                      struct xr_error *err)
{
    struct addrinfo hints, *ai = NULL;
    char portstr[16];
    int fd = -1, one = 1, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%u", port);
    rc = getaddrinfo(address, portstr, &hints, &ai);
    if (rc != 0 || !ai) {
        xr_error_set(err, XR_EINVAL, "config_invalid", "listen.address",
                     "listen address %s: %s", address, gai_strerror(rc));
        goto out;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        xr_error_set_errno(err, XR_EIO, errno, "io_error", "listen.address",
                           "listen on %s port %u", address, port);
        if (fd >= 0)
            close(fd);
        fd = -1;
        goto out;
    }
    if (bound) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
            *bound = ntohs(ss.ss_family == AF_INET6
                               ? ((struct sockaddr_in6 *)&ss)->sin6_port
                               : ((struct sockaddr_in *)&ss)->sin_port);
    }
out:
    if (ai)
        freeaddrinfo(ai);
    return fd;
}

static int unix_listen(const char *path, unsigned mode, struct xr_error *err)
{
    struct sockaddr_un sa;
    int fd;
    mode_t old;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        xr_error_set(err, XR_EINVAL, "config_invalid", "listen.unix_socket",
                     "UNIX socket path too long");
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    /* Replace a stale socket from an earlier run, never another file. */
    {
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(path);
    }
    old = umask(0177);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        umask(old);
        goto fail;
    }
    umask(old);
    if (chmod(path, (mode_t)mode) != 0 || listen(fd, 1024) != 0)
        goto fail;
    return fd;
fail:
    xr_error_set_errno(err, XR_EIO, errno, "io_error", "listen.unix_socket",
                       "UNIX socket %s", path);
    if (fd >= 0)
        close(fd);
    return -1;
}

/* ---- connections (conn.h) ----------------------------------------------- */

/* evhttp's bevcb for one listener. */
static struct bufferevent *bev_new(struct event_base *base, void *arg)
{
    struct listener *li = arg;
    struct adp_worker *w = li->w;

    (void)base;
    return adp_conns_bev(w->conns, li->kind,
                         li->kind == ADP_LISTENER_TCP ? w->gen->tls : NULL);
}

static void listener_enable(struct listener *li, bool on)
{
    struct evconnlistener *l;

    if (!li->bound)
        return;
    l = evhttp_bound_socket_get_listener(li->bound);
    if (on)
        evconnlistener_enable(l);
    else
        evconnlistener_disable(l);
}

/* A listener whose budget is full (every connection serving) pauses
 * until one closes; the other listener goes on. */
static void on_conns_pause(void *ctx, enum adp_listener kind, bool pause)
{
    struct adp_worker *w = ctx;
    struct listener *li = &w->lis[kind];

    li->paused = pause;
    if (w->accepting)
        listener_enable(li, !pause);
}

/*
 * accept() failed with something other than EAGAIN, typically EMFILE: the
 * listening socket stays readable, so without a pause the loop would spin.
 * Stop accepting for a moment; connections that close free descriptors.
 */
/* The worker running on this thread (for callbacks whose argument
 * belongs to evhttp). */
static _Thread_local struct adp_worker *this_worker;

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct adp_worker *w = this_worker;
    struct timeval tv = {0, 250000};
    int e = EVUTIL_SOCKET_ERROR();

    (void)l;
    (void)arg; /* evhttp's */
    if (!w)
        return;
    if (!w->accept_backoff)
        adp_log_warn("worker %u: accept failed (%s); pausing new "
                     "connections",
                     w->id, evutil_socket_error_to_string(e));
    w->accept_backoff = true;
    worker_accept(w, false);
    evtimer_add(w->backoff_ev, &tv);
}

static void on_backoff_end(evutil_socket_t fd, short what, void *arg)
{
    struct adp_worker *w = arg;

    (void)fd;
    (void)what;
    w->accept_backoff = false;
    if (!w->draining)
        worker_accept(w, true);
}

static void worker_accept(struct adp_worker *w, bool on)
{
    w->accepting = on;
    for (unsigned i = 0; i < ADP_LISTENERS; i++)
        listener_enable(&w->lis[i], on && !w->lis[i].paused);
}

/* ---- workers ----------------------------------------------------------- */

/* Switch to a generation posted by the main thread, between requests. */
static void worker_take_posted(struct adp_worker *w)
{
    struct adp_gen *g = atomic_exchange(&w->posted, NULL);

    if (!g)
        return;
    adp_gen_unref(w->gen);
    w->gen = g;
    adp_upstream_set_slots(w->up, share(w, g->cfg->ss.max_connections));
    {
        struct adp_conns_limits lim;
        conns_limits(w, g->cfg, &lim);
        adp_conns_set_limits(w->conns, &lim);
    }
}

static void worker_maybe_exit(struct adp_worker *w)
{
    if (w->draining && adp_api_idle(w->api))
        event_base_loopexit(w->base, NULL);
}

static void on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct adp_worker *w = arg;

    (void)fd;
    (void)what;
    adp_log_warn("worker %u: drain deadline reached with requests in "
                 "flight",
                 w->id);
    event_base_loopexit(w->base, NULL);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct adp_worker *w = arg;

    (void)fd;
    (void)what;
    worker_take_posted(w);
    if (atomic_load(&w->srv->stopping) && !w->draining) {
        struct timeval tv;
        long ms = (long)w->gen->cfg->api.drain_timeout_ms;

        w->draining = true;
        worker_accept(w, false);
        tv.tv_sec = ms / 1000;
        tv.tv_usec = (ms % 1000) * 1000;
        event_add(w->drain_ev, &tv);
        worker_maybe_exit(w);
    }
}

/* ---- the API's view of its worker (struct adp_api_host) ---------------- */

static struct adp_gen *host_gen(void *ctx)
{
    struct adp_worker *w = ctx;

    worker_take_posted(w);
    return w->gen;
}

static bool host_draining(void *ctx)
{
    struct adp_worker *w = ctx;

    return w->draining;
}

static void host_idle(void *ctx)
{
    struct adp_worker *w = ctx;

    worker_take_posted(w);
    adp_upstream_reap(w->up);
    worker_maybe_exit(w);
}

static void *worker_main(void *arg)
{
    struct adp_worker *w = arg;
    char name[16];

    snprintf(name, sizeof(name), "vayla-w%u", w->id);
    adp_thread_name(name);
    this_worker = w;
    event_base_dispatch(w->base);
    return NULL;
}

/* One listener's evhttp: limits, the connection hooks, the API. */
static enum xr_status listener_setup(struct adp_worker *w,
                                     enum adp_listener kind, int fd,
                                     struct xr_error *err)
{
    const struct adp_config *cfg = w->gen->cfg;
    struct listener *li = &w->lis[kind];
    struct evhttp *http = evhttp_new(w->base);
    struct timeval tv;

    li->w = w;
    li->kind = kind;
    li->http = http;
    if (!http) {
        close(fd);
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "no memory");
    }
    /* The larger cap; the scanner lowers it per request by route. */
    evhttp_set_max_body_size(
        http,
        (ev_ssize_t)(cfg->api.max_soap_body_bytes > cfg->api.max_body_bytes
                         ? cfg->api.max_soap_body_bytes
                         : cfg->api.max_body_bytes));
    /* Above [api] max_header_bytes: conn.c enforces that one and answers
     * 431; evhttp's cap only bounds what it buffers. */
    evhttp_set_max_headers_size(
        http, (ev_ssize_t)(2 * cfg->api.max_header_bytes + 4096));
    tv.tv_sec = (time_t)(cfg->api.read_timeout_ms / 1000);
    tv.tv_usec = (suseconds_t)((cfg->api.read_timeout_ms % 1000) * 1000);
    evhttp_set_timeout_tv(http, &tv);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    /* An oversized body is read and discarded, then answered 413: closing
     * at once would reset a client that is still sending, which it sees as
     * a network error instead of a clear answer. */
    evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_default_content_type(http, "application/json");
    evhttp_set_bevcb(http, bev_new, li);
    evhttp_set_gencb(http, adp_api_handle, w->api);
    li->bound = evhttp_accept_socket_with_handle(http, fd);
    if (!li->bound) {
        close(fd);
        return xr_error_set(err, XR_EIO, "io_error", "",
                            "cannot accept on the %s listener",
                            kind == ADP_LISTENER_TCP ? "TCP" : "UNIX");
    }
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(li->bound),
                                on_accept_error);
    return XR_OK;
}

static enum xr_status worker_api(struct adp_server *srv, struct adp_worker *w,
                                 struct xr_error *err)
{
    struct adp_api_host host;

    memset(&host, 0, sizeof(host));
    host.base = w->base;
    host.up = w->up;
    host.conns = w->conns;
    host.auditq = srv->auditq;
    host.registry = srv->metrics;
    host.metrics = w->metrics;
    host.worker_id = w->id;
    host.nworkers = srv->nworkers;
    host.pid = srv->pid;
    host.ctx = w;
    host.gen = host_gen;
    host.draining = host_draining;
    host.idle = host_idle;
    return adp_api_new(&host, &w->api, err);
}

static enum xr_status worker_setup(struct adp_server *srv, struct adp_worker *w,
                                   struct xr_error *err)
{
    const struct adp_config *cfg = w->gen->cfg;
    struct event_config *ec = event_config_new();
    struct adp_conns_limits lim;
    enum xr_status rc;

    if (!ec)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "no memory");
    event_config_set_flag(ec, EVENT_BASE_FLAG_NO_CACHE_TIME);
    /*
     * Coalesce the interest changes of one loop turn into one epoll_ctl
     * per descriptor: libcurl and evhttp toggle read/write interest
     * several times per exchange. Safe here: no descriptor is dup()ed.
     */
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    w->base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (!w->base || event_base_priority_init(w->base, 2) != 0)
        return xr_error_set(err, XR_EINTERNAL, "event_base", "",
                            "cannot create event loop");
    w->wake = event_new(w->base, -1, 0, on_wake, w);
    w->drain_ev = evtimer_new(w->base, on_drain_deadline, w);
    w->backoff_ev = evtimer_new(w->base, on_backoff_end, w);
    if (!w->wake || !w->drain_ev || !w->backoff_ev)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "no memory");
    /* Wake-ups from the main thread (reload, drain) go first. */
    event_priority_set(w->wake, 0);
    conns_limits(w, cfg, &lim);
    rc = adp_conns_new(w->base, &lim, w->metrics, on_conns_pause, w, &w->conns,
                       err);
    if (rc == XR_OK)
        rc = adp_upstream_new(w->base, share(w, cfg->ss.max_connections),
                              w->metrics, &w->up, err);
    if (rc == XR_OK)
        rc = worker_api(srv, w, err);
    if (rc == XR_OK && srv->tcp_fds[w->id] >= 0) {
        rc = listener_setup(w, ADP_LISTENER_TCP, srv->tcp_fds[w->id], err);
        srv->tcp_fds[w->id] = -1; /* evhttp owns (or closed) it */
    }
    if (rc == XR_OK && srv->unix_fd >= 0) {
        int fd = dup(srv->unix_fd);
        if (fd < 0)
            return xr_error_set_errno(err, XR_EIO, errno, "io_error", "",
                                      "dup of the UNIX socket");
        rc = listener_setup(w, ADP_LISTENER_UNIX, fd, err);
    }
    w->accepting = rc == XR_OK;
    return rc;
}

static void worker_cleanup(struct adp_worker *w)
{
    /* evhttp first: closing its connections calls into conns. */
    for (unsigned i = 0; i < ADP_LISTENERS; i++) {
        if (w->lis[i].http)
            evhttp_free(w->lis[i].http);
    }
    adp_conns_free(w->conns);
    adp_api_free(w->api);
    adp_upstream_free(w->up);
    if (w->wake)
        event_free(w->wake);
    if (w->drain_ev)
        event_free(w->drain_ev);
    if (w->backoff_ev)
        event_free(w->backoff_ev);
    if (w->base)
        event_base_free(w->base);
    adp_gen_unref(w->gen);
    adp_gen_unref(atomic_exchange(&w->posted, NULL));
}

/* ---- main thread: signals and lifecycle -------------------------------- */

static int64_t client_cert_not_after(const struct adp_config *cfg);

struct main_ctx {
    struct adp_server *srv;
    struct event_base *base;
};

static void post_to_workers(struct adp_server *srv, struct adp_gen *g)
{
    for (unsigned i = 0; i < srv->nworkers; i++) {
        struct adp_worker *w = &srv->workers[i];
        if (g)
            adp_gen_unref(atomic_exchange(&w->posted, adp_gen_ref(g)));
        event_active(w->wake, EV_READ, 0);
    }
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    struct main_ctx *m = arg;
    struct adp_server *srv = m->srv;
    struct adp_gen *g;
    struct xr_error err;

    (void)sig;
    (void)what;
    sd_notify(0, "RELOADING=1");
    adp_log_info("reloading %s", srv->config_path);
    if (adp_gen_load(srv->config_path, srv->gen_number + 1, &g, &err) == XR_OK)
        srv->gen_number = g->number;
    if (!g) {
        adp_log_err("reload failed, keeping the running configuration: %s",
                    err.msg);
        adp_metrics_config_reload(srv->metrics, false);
        sd_notify(0, "READY=1\nSTATUS=reload failed; old configuration "
                     "kept");
        return;
    }
    if (g->cfg->api.threads != 0 && g->cfg->api.threads != srv->nworkers)
        adp_log_warn("reload: [api] threads changes take effect at the next "
                     "start");
    adp_log_set_level(g->cfg->api.log_level);
    post_to_workers(srv, g);
    adp_gen_unref(atomic_exchange(&srv->gen, g));
    adp_metrics_config_reload(srv->metrics, true);
    adp_metrics_set_client_cert_expiry(srv->metrics,
                                       client_cert_not_after(g->cfg));
    adp_log_info("configuration generation %llu active",
                 (unsigned long long)g->number);
    sd_notify(0, "READY=1\nSTATUS=serving");
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
    struct main_ctx *m = arg;

    (void)what;
    if (atomic_exchange(&m->srv->stopping, true))
        return;
    adp_log_info("signal %d: draining in-flight requests", (int)sig);
    sd_notify(0, "STOPPING=1");
    post_to_workers(m->srv, NULL);
    event_base_loopexit(m->base, NULL);
}

static int write_ready_file(const struct adp_server *srv,
                            const struct adp_config *cfg)
{
    char tmp[4096];
    FILE *f;

    if (!srv->ready_file)
        return 0;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", srv->ready_file) >=
        sizeof(tmp))
        return -1;
    f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "pid=%ld\n", (long)getpid());
    if (srv->tcp)
        fprintf(f, "tcp_port=%u\n", srv->tcp_port);
    if (cfg->listen.unix_socket)
        fprintf(f, "unix_socket=%s\n", cfg->listen.unix_socket);
    if (fclose(f) != 0 || rename(tmp, srv->ready_file) != 0)
        return -1;
    return 0;
}

/* notAfter of the SS client certificate (Unix seconds), 0 when none. */
static int64_t client_cert_not_after(const struct adp_config *cfg)
{
    BIO *b = NULL;
    X509 *x = NULL;
    int64_t t = 0;
    struct tm tm;

    if (!cfg->ss.client_cert)
        return 0;
    b = BIO_new_file(cfg->ss.client_cert, "r");
    x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    if (x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        t = (int64_t)timegm(&tm);
    X509_free(x);
    BIO_free(b);
    ERR_clear_error();
    return t;
}

/* Allow as many descriptors as the hard limit permits (connections). */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            adp_log_errno(ADP_LOG_WARN, "cannot raise the descriptor limit");
    }
}

/*
 * libevent's own warnings (it writes "[warn] ..." to stderr by default)
 * go through the operational log, so they have its format and escaping.
 */
static void on_event_log(int severity, const char *msg)
{
    enum adp_log_level level = ADP_LOG_DEBUG;

    if (severity >= EVENT_LOG_ERR)
        level = ADP_LOG_ERR;
    else if (severity == EVENT_LOG_WARN)
        level = ADP_LOG_WARN;
    else if (severity == EVENT_LOG_MSG)
        level = ADP_LOG_INFO;
    adp_log(level, "libevent: %s", msg ? msg : "");
}

/* The audit writer with its checkpoints ([audit], read at start only). */
static enum xr_status audit_start(struct adp_server *srv,
                                  const struct adp_config *cfg,
                                  struct xr_error *err)
{
    struct adp_auditq_opts o;
    enum xr_status rc;

    memset(&o, 0, sizeof(o));
    o.path = cfg->audit.path;
    o.checkpoint.file = cfg->audit.checkpoint_file;
    o.checkpoint.every = cfg->audit.checkpoint_every;
    o.checkpoint.interval_ms = cfg->audit.checkpoint_interval_s * 1000u;
    if (cfg->audit.checkpoint_key) {
        rc = adp_checkpoint_key_load(cfg->audit.checkpoint_key, true,
                                     &srv->checkpoint_key, err);
        if (rc != XR_OK)
            return rc;
        o.checkpoint.key = srv->checkpoint_key;
    }
    return adp_auditq_new(&o, adp_metrics_shard(srv->metrics, srv->nworkers),
                          &srv->auditq, err);
}

int adp_server_run(const char *config_path, const char *ready_file)
{
    struct adp_server srv;
    struct main_ctx m = {&srv, NULL};
    struct adp_gen *g0 = NULL;
    struct event *ev_hup = NULL, *ev_term = NULL, *ev_int = NULL;
    struct xr_error err;
    const struct adp_config *cfg;
    unsigned started = 0;
    int64_t t0 = adp_mono_ms();
    int status = 1;

    memset(&srv, 0, sizeof(srv));
    srv.unix_fd = -1;
    srv.pid = (long)getpid();
    for (unsigned i = 0; i < ADP_WORKERS_MAX; i++)
        srv.tcp_fds[i] = -1;
    srv.ready_file = ready_file;
    srv.config_path = strdup(config_path);
    if (!srv.config_path)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    {
        struct adp_log_opts lo = {.journal_fields = true};
        adp_log_init(&lo);
    }
    event_set_log_callback(on_event_log);
    raise_nofile();
    if (evthread_use_pthreads() != 0) {
        adp_log_err("libevent has no pthread support");
        goto out;
    }
    if (adp_curlev_global_init(&err) != XR_OK) {
        adp_log_err("%s", err.msg);
        goto out;
    }
    if (adp_gen_load(srv.config_path, 1, &g0, &err) == XR_OK)
        srv.gen_number = 1;
    if (!g0) {
        adp_log_err("%s", err.msg);
        goto out;
    }
    cfg = g0->cfg;
    adp_log_set_level(cfg->api.log_level);
    srv.nworkers = cfg->api.threads;
    if (srv.nworkers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        srv.nworkers = n > 0 ? (unsigned)n : 1u;
    }
    if (srv.nworkers > ADP_WORKERS_MAX)
        srv.nworkers = ADP_WORKERS_MAX;
    if (cfg->listen.address) {
        unsigned port = cfg->listen.port;
        srv.tcp = true;
        for (unsigned i = 0; i < srv.nworkers; i++) {
            srv.tcp_fds[i] = tcp_listen(cfg->listen.address, port,
                                        i == 0 ? &srv.tcp_port : NULL, &err);
            if (srv.tcp_fds[i] < 0) {
                adp_log_err("%s", err.msg);
                goto out;
            }
            port = srv.tcp_port; /* port 0: the others join the same port */
        }
    }
    if (cfg->listen.unix_socket) {
        srv.unix_fd =
            unix_listen(cfg->listen.unix_socket, cfg->listen.unix_mode, &err);
        if (srv.unix_fd < 0) {
            adp_log_err("%s", err.msg);
            goto out;
        }
    }
    /* One metrics shard per worker, one for the audit writer. */
    if (adp_api_metrics_new(srv.nworkers + 1, &srv.metrics, &err) != XR_OK) {
        adp_log_err("%s", err.msg);
        goto out;
    }
    if (audit_start(&srv, cfg, &err) != XR_OK) {
        adp_log_err("audit store %s: %s", cfg->audit.path, err.msg);
        goto out;
    }
    adp_metrics_set_client_cert_expiry(srv.metrics, client_cert_not_after(cfg));
    srv.workers = calloc(srv.nworkers, sizeof(*srv.workers));
    if (!srv.workers) {
        adp_log_err("out of memory");
        goto out;
    }
    for (unsigned i = 0; i < srv.nworkers; i++) {
        struct adp_worker *w = &srv.workers[i];
        w->id = i;
        w->srv = &srv;
        w->gen = adp_gen_ref(g0);
        atomic_init(&w->posted, NULL);
        w->metrics = adp_metrics_shard(srv.metrics, i);
        if (worker_setup(&srv, w, &err) != XR_OK) {
            adp_log_err("worker %u: %s", i, err.msg);
            goto out;
        }
    }
    atomic_init(&srv.gen, g0);
    g0 = NULL; /* srv.gen holds the main thread's reference */
    for (; started < srv.nworkers; started++) {
        if (pthread_create(&srv.workers[started].thread, NULL, worker_main,
                           &srv.workers[started]) != 0) {
            adp_log_err("cannot start worker threads");
            atomic_store(&srv.stopping, true);
            post_to_workers(&srv, NULL);
            goto join;
        }
    }
    m.base = event_base_new();
    ev_hup = m.base ? evsignal_new(m.base, SIGHUP, on_sighup, &m) : NULL;
    ev_term = m.base ? evsignal_new(m.base, SIGTERM, on_sigterm, &m) : NULL;
    ev_int = m.base ? evsignal_new(m.base, SIGINT, on_sigterm, &m) : NULL;
    if (!ev_hup || !ev_term || !ev_int || event_add(ev_hup, NULL) != 0 ||
        event_add(ev_term, NULL) != 0 || event_add(ev_int, NULL) != 0) {
        adp_log_err("cannot install signal handlers");
        atomic_store(&srv.stopping, true);
        post_to_workers(&srv, NULL);
        goto join;
    }
    cfg = atomic_load(&srv.gen)->cfg;
    if (write_ready_file(&srv, cfg) != 0)
        adp_log_warn("cannot write the ready file %s", ready_file);
    adp_log_info("ready in %lld ms: %u workers%s%s%s",
                 (long long)(adp_mono_ms() - t0), srv.nworkers,
                 cfg->listen.address ? ", TCP " : "",
                 cfg->listen.address ? cfg->listen.address : "",
                 cfg->listen.tls_cert ? " (TLS)" : "");
    sd_notify(0, "READY=1\nSTATUS=serving");
    event_base_dispatch(m.base);
    status = 0;
join:
    for (unsigned i = 0; i < started; i++)
        pthread_join(srv.workers[i].thread, NULL);
    adp_log_info("stopped");
out:
    if (ev_hup)
        event_free(ev_hup);
    if (ev_term)
        event_free(ev_term);
    if (ev_int)
        event_free(ev_int);
    if (m.base)
        event_base_free(m.base);
    if (srv.workers) {
        for (unsigned i = 0; i < srv.nworkers; i++)
            worker_cleanup(&srv.workers[i]);
        free(srv.workers);
    }
    adp_auditq_free(srv.auditq); /* commits what is left */
    EVP_PKEY_free(srv.checkpoint_key);
    for (unsigned i = 0; i < ADP_WORKERS_MAX; i++) {
        if (srv.tcp_fds[i] >= 0)
            close(srv.tcp_fds[i]);
    }
    if (srv.unix_fd >= 0) {
        const struct adp_gen *g = atomic_load(&srv.gen);
        close(srv.unix_fd);
        if (g && g->cfg->listen.unix_socket)
            unlink(g->cfg->listen.unix_socket);
    }
    adp_gen_unref(g0);
    adp_gen_unref(atomic_load(&srv.gen));
    adp_metrics_free(srv.metrics);
    free(srv.config_path);
    return status;
}

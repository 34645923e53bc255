/*
 * The daemon: `vayla serve`. N worker threads, each with its own libevent
 * event_base running an evhttp server and a libcurl multi handle
 * (curlev.h); one audit writer thread (auditq.h) that group-commits the
 * records of every worker; the main thread only handles signals, reloads
 * and systemd notifications.
 *
 * Configuration generations. Everything a reload may change (callers and
 * their tokens, the TLS context with its certificate, the security-server
 * options, VTJ credentials) lives in one reference-counted `struct
 * adp_gen`. SIGHUP loads a new generation and posts it to every worker;
 * a worker switches between requests, and a request keeps the generation
 * it started with until it is answered. Listening sockets are never
 * closed by a reload, so no connection is dropped.
 */
#ifndef VAYLA_SERVER_H
#define VAYLA_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include <xroad/error.h>

#include "auditq.h"
#include "config.h"

#define ADP_WORKERS_MAX 64u

struct adp_audit;
struct adp_curlev;
struct adp_metrics;
struct adp_metrics_shard;
struct adp_req;
struct adp_xfer;
struct adp_xfer_opts;

/* One configuration generation (see above). */
struct adp_gen {
    atomic_uint refs;
    uint64_t number;        /* 1 for the first load, +1 per reload */
    struct adp_config *cfg; /* owned */
    SSL_CTX *tls;           /* owned; NULL on a plain listener */
};

/* Take / drop a reference. Thread-safety: thread-safe. */
struct adp_gen *adp_gen_ref(struct adp_gen *g);
void adp_gen_unref(struct adp_gen *g);

/* Readiness of the upstream, cached per worker (GET /readyz). */
struct adp_probe {
    int64_t checked_ms;    /* monotonic ms of the last probe, 0 = never */
    bool reachable;        /* security server answered at all */
    bool running;          /* a probe is in flight */
    struct adp_xfer *xfer; /* the probe exchange while running */
    char detail[128];      /* why not reachable (transport class) */
};

struct adp_worker {
    unsigned id;
    struct adp_server *srv;
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound[2]; /* TCP, UNIX */
    struct adp_curlev *cev;               /* connections to the SS */
    struct adp_curlev *retired[4];        /* older pools still finishing */
    struct adp_auditq_sink audit_sink;    /* audit completions for this loop */
    unsigned audit_waiting;               /* submissions not yet completed */
    struct adp_metrics_shard *metrics;
    struct adp_gen *gen;              /* current generation (a reference) */
    _Atomic(struct adp_gen *) posted; /* next generation from main */
    struct event *wake;               /* main -> worker: reload, drain */
    struct event *drain_ev;           /* drain deadline */
    struct event *backoff_ev;         /* accept back-off timer */
    bool accept_backoff;              /* accept() failing: paused */
    unsigned conns;                   /* open TLS connections */
    unsigned in_flight;               /* API requests not yet answered */
    unsigned writing;                 /* replies evhttp is still writing */
    bool accepting;                   /* listeners enabled */
    bool draining;
    bool audit_ok;             /* last commit succeeded */
    uint64_t req_seq;          /* request ids */
    struct adp_req *wait_head; /* requests waiting for durability */
    struct adp_req *wait_tail;
    struct adp_req *up_head; /* queries waiting for a connection slot */
    struct adp_req *up_tail;
    unsigned up_busy; /* queries holding a slot (built .. exchange done) */
    bool up_pumping;  /* upstream_pump() is running (no re-entry) */
    struct adp_probe probe;
    struct adp_req *probe_waiters; /* /readyz requests on the probe */
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
    atomic_bool stopping;
    _Atomic(struct adp_gen *) gen; /* newest generation (main's ref) */
    uint64_t gen_number;
    const char *ready_file; /* --ready-file, or NULL */
    long pid;               /* getpid(), once: part of every request id */
};

/*
 * The connection pool for exchanges with these options: the current one,
 * or, after a reload changed the security server's trust settings, a new
 * one (the old pool finishes its exchanges and is freed when idle).
 * Returns NULL when no pool can be made (out of memory).
 */
struct adp_curlev *adp_server_pool(struct adp_worker *w,
                                   const struct adp_xfer_opts *opts);

/* This worker's share of [security_server] max_connections (>= 1). */
unsigned adp_server_ss_connections(const struct adp_worker *w);

/* Enable or disable accepting new connections on a worker's listeners. */
void adp_server_accept(struct adp_worker *w, bool on);

/*
 * Called by the API after a request finished: picks up a posted
 * generation and ends the worker's loop when draining is complete.
 */
void adp_server_worker_idle_check(struct adp_worker *w);

/*
 * Run the daemon until SIGTERM/SIGINT and a drain. Returns the process
 * exit status (0 after a clean drain, 1 on start-up failure).
 */
int adp_server_run(const char *config_path, const char *ready_file);

#endif

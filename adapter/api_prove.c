/*
 * GET /v1/audit/prove/{message_id}: `vayla audit prove` for one audited
 * query, as JSON (prove.h, docs/api.md), for callers with `allow = audit`.
 *
 * Choice: a bounded worker thread, not the worker's own loop. A proof is
 * three downloads (the verification configuration and two containers),
 * two container verifications (XML signatures, certificate paths, OCSP
 * and time-stamp checks: milliseconds of CPU each) and SQLite reads of the
 * audit store; the downloads alone could run on this loop's upstream, but
 * the verification and the reads would still block it. So the whole
 * proof runs in one thread with its own event loop and upstream (the same
 * upstream.h/xfer.h code as the CLI, with its own connection pool and a
 * deadline on each download), and the answer comes back to this loop
 * through an event made active from the thread. At most API_PROVE_MAX
 * proofs run per worker; more are refused with 503 and Retry-After.
 *
 * A job holds its own reference to the configuration generation. When
 * the worker stops with a proof still running (the drain deadline), the
 * API orphans its jobs (adp__api_prove_orphan_all): the event is freed
 * before the loop is, and the thread frees an orphaned job itself
 * instead of reporting to a loop that is gone.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "api_internal.h"
#include "log.h"
#include "prove.h"
#include "util.h"
#include "upstream.h"

#define API_PROVE_MAX        2      /* proofs at once per worker */
#define API_PROVE_TIMEOUT_MS 15000L /* per download */

struct prove_job {
    struct adp_req *r;
    struct adp_gen *gen;    /* own reference: the thread reads gen->cfg */
    struct prove_job *next; /* api->proofs, loop thread only */
    pthread_mutex_t mu;     /* guards done, orphan, finished */
    struct event *done;
    bool orphan;   /* the worker stopped: the thread frees the job */
    bool finished; /* the thread made `done` active */
    char id[ADP_PROVE_ID_MAX];
    /* Written by the thread, read on the loop after `done`. */
    enum adp_prove_open open;
    enum adp_fetch_status fetch;
    bool audit_failed;
    char msg[ADP_FETCH_MSG_MAX + 64];
    struct adp_prove_result res;
};

static void job_free(struct prove_job *j)
{
    if (j->done)
        event_free(j->done);
    adp_gen_unref(j->gen);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

static void run_proof(struct prove_job *j, struct event_base *base,
                      struct adp_upstream *up)
{
    struct adp_prove_env env;
    struct xr_error err;

    memset(&env, 0, sizeof(env));
    env.fetch =
        (struct adp_fetch){base, up, &j->gen->cfg->ss, API_PROVE_TIMEOUT_MS};
    env.cfg = j->gen->cfg;
    j->open = adp_prove_env_open(&env, NULL, &j->fetch, j->msg, sizeof(j->msg));
    if (j->open == ADP_PROVE_OPEN_OK &&
        !adp_prove_one(&env, j->id, &j->res, &err)) {
        j->audit_failed = true;
        snprintf(j->msg, sizeof(j->msg), "audit store: %s", err.msg);
    }
    adp_prove_env_close(&env);
}

static void *prove_thread(void *arg)
{
    struct prove_job *j = arg;
    struct event_base *base = event_base_new();
    struct adp_upstream *up = NULL;
    struct xr_error err;

    adp_thread_name("vayla-prove");
    if (base && adp_upstream_new(base, 1, NULL, &up, &err) == XR_OK) {
        run_proof(j, base, up);
    } else {
        j->open = ADP_PROVE_OPEN_FETCH;
        j->fetch = ADP_FETCH_UNREACHABLE;
        snprintf(j->msg, sizeof(j->msg), "cannot create an event loop");
    }
    adp_upstream_free(up);
    if (base)
        event_base_free(base);
    pthread_mutex_lock(&j->mu);
    if (!j->orphan) {
        j->finished = true;
        event_active(j->done, EV_READ, 0); /* the loop takes over j */
        pthread_mutex_unlock(&j->mu);
        return NULL;
    }
    pthread_mutex_unlock(&j->mu);
    job_free(j);
    return NULL;
}

static void answer(struct prove_job *j)
{
    struct adp_req *r = j->r;
    const struct adp_prove_result *p = &j->res;

    if (j->open == ADP_PROVE_OPEN_FETCH) {
        adp__api_reply_error(r, 502, "security_server_unreachable", j->msg,
                             AO_TRANSPORT_ERROR);
    } else if (j->open != ADP_PROVE_OPEN_OK || j->audit_failed) {
        adp__api_reply_error(r, 503, "audit_unavailable", j->msg,
                             AO_AUDIT_UNAVAILABLE);
    } else if (p->verdict == ADP_PROVE_NOT_IN_AUDIT) {
        adp__api_reply_error(r, 404, "not_in_audit", p->detail, AO_REJECTED);
    } else if (p->verdict == ADP_PROVE_FETCH_FAILED) {
        adp__api_reply_error(r, 502, "security_server_unreachable", p->detail,
                             AO_TRANSPORT_ERROR);
    } else {
        r->body = adp_prove_json(j->id, p);
        r->status = r->body ? 200 : 503;
        r->outcome = AO_OK;
        adp__api_reply_send(r);
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    struct prove_job *j = arg;

    (void)fd;
    (void)what;
    struct adp_api *api = j->r->api;
    struct prove_job **p = &api->proofs;

    /* The thread made `done` active holding mu: once mu is ours, it has
     * let go of the job for good. */
    pthread_mutex_lock(&j->mu);
    pthread_mutex_unlock(&j->mu);

    while (*p && *p != j)
        p = &(*p)->next;
    if (*p)
        *p = j->next;
    api->proving--;
    answer(j);
    job_free(j);
}

void adp__api_prove_orphan_all(struct adp_api *api)
{
    struct prove_job *j, *next;

    for (j = api->proofs; j; j = next) {
        bool finished;
        next = j->next;
        pthread_mutex_lock(&j->mu);
        j->orphan = true;
        finished = j->finished;
        event_free(j->done); /* before the loop is freed */
        j->done = NULL;
        pthread_mutex_unlock(&j->mu);
        if (finished)
            job_free(j); /* the thread has let go of it */
    }
    api->proofs = NULL;
}

/* The {message_id} segment, percent-decoded; false when unusable. */
static bool take_id(const char *seg, char *out, size_t size)
{
    size_t n = 0;
    char *d;
    bool ok;

    if (!seg[0] || strchr(seg, '/'))
        return false;
    d = evhttp_uridecode(seg, 0, &n);
    ok = d && n > 0 && n < size && strlen(d) == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)d[i] >= 0x20 && d[i] != 0x7f;
    if (ok)
        memcpy(out, d, n + 1);
    free(d);
    return ok;
}

void adp__api_prove(struct adp_req *r, const char *seg)
{
    struct adp_api *api = r->api;
    struct prove_job *j;
    pthread_attr_t attr;
    pthread_t th;
    bool started;

    if (!adp__api_admit(r, ADP_OP_AUDIT))
        return;
    j = calloc(1, sizeof(*j));
    if (!j) {
        adp__api_reply_error(r, 503, "out_of_memory", "out of memory",
                             AO_REJECTED);
        return;
    }
    if (!take_id(seg, j->id, sizeof(j->id))) {
        free(j);
        adp__api_reject(r, ADP_REJECT_BAD_REQUEST, 400, "bad_request",
                        "the message id is empty, too long or not text");
        return;
    }
    if (api->proving >= API_PROVE_MAX) {
        free(j);
        r->retry_after_s = 1;
        adp__api_reject(r, ADP_REJECT_OVERLOADED, 503, "overloaded",
                        "too many proofs running; retry later");
        return;
    }
    j->r = r;
    j->gen = adp_gen_ref(r->gen);
    pthread_mutex_init(&j->mu, NULL);
    j->done = event_new(api->host.base, -1, 0, on_done, j);
    started = j->done && pthread_attr_init(&attr) == 0;
    if (started) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&th, &attr, prove_thread, j) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        job_free(j);
        adp__api_reply_error(r, 503, "out_of_memory", "cannot start the proof",
                             AO_REJECTED);
        return;
    }
    j->next = api->proofs;
    api->proofs = j;
    api->proving++;
}

/*
 * `vayla verify [--conf PATH] [--json] [--jobs N] FILE...`: verify signed
 * containers (ASiC-E, as a security server's /asic returns them) and zips
 * of containers, non-interactively, in batch (docs/verify.md).
 *
 * The main thread reads the files one after the other and queues one task
 * per container (a zip of containers gives one task per entry, named
 * "zipfile!entry"); a small fixed pool of worker threads verifies them,
 * each with its own cache of shared results; the main thread prints the
 * results in input order as soon as each is ready, and a progress line on
 * stderr when that is a terminal and the batch is long. libxroad passes
 * the container being verified to xmlsec's (process-global) resolver
 * through a thread-local pointer, so the workers never see each other's.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <xroad/xroad.h>

#include "cli.h"
#include "jsonout.h"
#include "prove.h"
#include "util.h"

#define VERIFY_MAX_FILE_BYTES (64u * 1024u * 1024u)
#define VERIFY_MAX_JOBS       8
#define VERIFY_DEFAULT_CONF   "/etc/vayla/verificationconf"
#define PROGRESS_MIN_TASKS    20

/* One input file, shared by its tasks; freed with the last of them. */
struct vsrc {
    uint8_t *buf;
    struct xr_asic_bundle *bundle;
    size_t refs;
};

struct vtask {
    char *name;       /* "file" or "file!entry" */
    struct vsrc *src; /* NULL for a file that could not be read */
    struct xr_bytes data;
    struct xr_error read_err; /* set when src is NULL */
    char *out;                /* the printed text, when done */
    int status;               /* ADP_EXIT_OK / _INVALID / _USAGE */
    bool done;
};

struct vrun {
    const struct xr_vconf *vc;
    bool json;
    pthread_mutex_t mu;
    pthread_cond_t work; /* a task was queued, or no more will be */
    pthread_cond_t done; /* a task finished */
    struct vtask **tasks;
    size_t ntasks, cap, next, printed;
    bool closed; /* no more tasks */
    bool oom;
    bool progress;
    int64_t last_progress_ms;
};

static void verify_usage(FILE *out)
{
    fprintf(out,
            "usage: vayla verify [--conf PATH] [--json] [--jobs N] FILE...\n"
            "\n"
            "Verifies X-Road signed containers (.asice) and zips of "
            "containers as a\nsecurity server's /asic returns them, against "
            "the verification\nconfiguration PATH (the verificationconf.zip "
            "of GET /verificationconf,\nor the folder it unpacks to; default "
            "$VAYLA_VERIFICATION_CONF or\n%s). One line per container, JSON "
            "with --json.\nExit status: 0 all valid, 2 any invalid, 1 usage "
            "or input error.\n",
            VERIFY_DEFAULT_CONF);
}

static void src_release(struct vsrc *s)
{
    if (!s || --s->refs > 0)
        return;
    xr_asic_bundle_free(s->bundle);
    free(s->buf);
    free(s);
}

/* ---- output ---- */

static json_t *id_or_null(const struct xr_id *id)
{
    char text[XR_ID_TEXT_MAX];

    if (!id)
        return json_null();
    xr_id_format(id, true, text, sizeof(text));
    return json_string(text);
}

static json_t *time_or_null(int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;

    if (t == INT64_MIN || !gmtime_r(&tt, &tm))
        return json_null();
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

static char *json_line(const char *name, const struct xr_asic_result *r,
                       const struct xr_error *err)
{
    json_t *o = json_object(), *w = json_array();
    enum xr_asic_msg_type t =
        r ? xr_asic_result_message_type(r) : XR_ASIC_MSG_UNKNOWN;
    bool valid = r && xr_asic_result_valid(r);
    char *line = NULL;
    size_t len;

    if (!o || !w)
        goto out;
    for (size_t i = 0; r && i < xr_asic_result_warning_count(r); i++)
        json_array_append_new(w, json_string(xr_asic_result_warning(r, i)));
    if (json_object_set_new(o, "file", json_string(name)) ||
        json_object_set_new(o, "valid", json_boolean(valid)) ||
        json_object_set_new(o, "signer",
                            id_or_null(r ? xr_asic_result_signer(r) : NULL)) ||
        json_object_set_new(
            o, "signing_time",
            time_or_null(r ? xr_asic_result_signing_time(r) : INT64_MIN)) ||
        json_object_set_new(o, "message_type",
                            t == XR_ASIC_MSG_UNKNOWN
                                ? json_null()
                                : json_string(xr_asic_msg_type_name(t))) ||
        json_object_set_new(
            o, "message_id",
            str_or_null(r ? xr_asic_result_message_id(r) : NULL)) ||
        json_object_set_new(o, "error",
                            valid ? json_null() : adp_error_json(err)))
        goto out;
    if (json_object_set(o, "warnings", w))
        goto out;
    line = adp_json_dump_line(o, &len);
out:
    json_decref(w);
    json_decref(o);
    return line;
}

/* A line for people: the verdict, what and who, then warnings. */
static char *text_line(const char *name, const struct xr_asic_result *r,
                       const struct xr_error *err)
{
    char *out = NULL, signer[XR_ID_TEXT_MAX] = "?", when[32] = "?";
    size_t cap = 4096, len = 0;
    int n;

    out = malloc(cap);
    if (!out)
        return NULL;
    if (r && xr_asic_result_signer(r))
        xr_id_format(xr_asic_result_signer(r), true, signer, sizeof(signer));
    if (r && xr_asic_result_signing_time(r) != INT64_MIN) {
        time_t tt = (time_t)xr_asic_result_signing_time(r);
        struct tm tm;
        if (gmtime_r(&tt, &tm))
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (r && xr_asic_result_valid(r))
        n = snprintf(out, cap, "%s: valid %s %s signed by %s at %s\n", name,
                     xr_asic_msg_type_name(xr_asic_result_message_type(r)),
                     xr_asic_result_message_id(r), signer, when);
    else
        n = snprintf(out, cap, "%s: INVALID %s: %s\n", name,
                     err->reason && err->reason[0] ? err->reason
                                                   : xr_strerror(err->code),
                     err->msg);
    len = n > 0 ? ((size_t)n < cap ? (size_t)n : cap - 1) : 0;
    for (size_t i = 0; r && i < xr_asic_result_warning_count(r); i++) {
        n = snprintf(out + len, cap - len, "  warning: %s\n",
                     xr_asic_result_warning(r, i));
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
    return out;
}

/* ---- workers ---- */

static void run_task(struct vrun *v, struct xr_asic_cache *cache,
                     struct vtask *t)
{
    struct xr_asic_result *r = NULL;
    struct xr_error err;

    if (t->src) {
        if (xr_asic_verify(v->vc, t->data.ptr, t->data.len, NULL, cache, &r,
                           &err) == XR_OK)
            t->status = ADP_EXIT_OK;
        else
            t->status = ADP_EXIT_INVALID;
    } else {
        err = t->read_err;
        t->status = ADP_EXIT_USAGE;
    }
    t->out =
        v->json ? json_line(t->name, r, &err) : text_line(t->name, r, &err);
    xr_asic_result_free(r);
}

static void *worker(void *arg)
{
    struct vrun *v = arg;
    struct xr_asic_cache *cache = NULL;
    struct xr_error err;

    /* Without a cache every container is checked in full: still right. */
    if (xr_asic_cache_new(&cache, &err) != XR_OK)
        cache = NULL;
    pthread_mutex_lock(&v->mu);
    for (;;) {
        struct vtask *t;
        while (v->next >= v->ntasks && !v->closed)
            pthread_cond_wait(&v->work, &v->mu);
        if (v->next >= v->ntasks)
            break;
        t = v->tasks[v->next++];
        pthread_mutex_unlock(&v->mu);
        run_task(v, cache, t);
        pthread_mutex_lock(&v->mu);
        t->done = true;
        src_release(t->src);
        t->src = NULL;
        pthread_cond_broadcast(&v->done);
    }
    pthread_mutex_unlock(&v->mu);
    xr_asic_cache_free(cache);
    return NULL;
}

/* ---- the main thread: queue, print ---- */

/* Queue a task (mutex held by the caller). */
static bool queue(struct vrun *v, struct vtask *t)
{
    if (v->ntasks == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        struct vtask **n = realloc(v->tasks, cap * sizeof(*n));
        if (!n)
            return false;
        v->tasks = n;
        v->cap = cap;
    }
    v->tasks[v->ntasks++] = t;
    pthread_cond_signal(&v->work);
    return true;
}

static struct vtask *task_new(const char *file, const char *entry)
{
    struct vtask *t = calloc(1, sizeof(*t));
    size_t n = strlen(file) + (entry ? strlen(entry) + 2 : 1);

    if (!t)
        return NULL;
    t->name = malloc(n);
    if (!t->name) {
        free(t);
        return NULL;
    }
    snprintf(t->name, n, "%s%s%s", file, entry ? "!" : "", entry ? entry : "");
    return t;
}

/* Read one file and queue its container(s). */
static bool add_file(struct vrun *v, const char *path)
{
    struct vsrc *s = calloc(1, sizeof(*s));
    struct xr_error err;
    size_t len = 0, n = 1;
    bool ok = true;

    if (!s)
        return false;
    if (adp_file_read(path, VERIFY_MAX_FILE_BYTES, &s->buf, &len, &err) !=
        XR_OK) {
        struct vtask *t = task_new(path, NULL);
        free(s);
        if (!t)
            return false;
        t->read_err = err;
        pthread_mutex_lock(&v->mu);
        ok = queue(v, t);
        pthread_mutex_unlock(&v->mu);
        return ok;
    }
    /* A zip of containers, or else one container (the verifier then
     * says what is wrong with it). */
    if (xr_asic_bundle_open(s->buf, len, NULL, &s->bundle, &err) == XR_OK)
        n = xr_asic_bundle_count(s->bundle);
    s->refs = n > 0 ? n : 1;
    pthread_mutex_lock(&v->mu);
    for (size_t i = 0; i < n; i++) {
        struct vtask *t = task_new(
            path, s->bundle ? xr_asic_bundle_name(s->bundle, i) : NULL);
        if (t) {
            t->src = s;
            t->data = s->bundle ? xr_asic_bundle_data(s->bundle, i)
                                : (struct xr_bytes){s->buf, len};
        }
        if (!t || !queue(v, t)) {
            if (t) {
                free(t->name);
                free(t);
            }
            /* Drop the references of the tasks never queued. */
            s->refs -= n - i - 1;
            src_release(s);
            ok = false;
            break;
        }
    }
    if (n == 0)
        src_release(s); /* an empty zip of containers */
    pthread_mutex_unlock(&v->mu);
    return ok;
}

static void progress(struct vrun *v, bool final)
{
    int64_t now;

    if (!v->progress || v->ntasks < PROGRESS_MIN_TASKS)
        return;
    now = adp_mono_ms();
    if (!final && now - v->last_progress_ms < 100)
        return;
    v->last_progress_ms = now;
    if (final)
        fprintf(stderr, "\r\033[K");
    else
        fprintf(stderr, "\rvayla verify: %zu of %zu containers", v->printed,
                v->ntasks);
    fflush(stderr);
}

/* Print finished tasks in order (mutex held); block when `wait`. */
static int print_ready(struct vrun *v, bool wait, int worst)
{
    while (v->printed < v->ntasks) {
        struct vtask *t = v->tasks[v->printed];
        if (!t->done) {
            if (!wait)
                break;
            pthread_cond_wait(&v->done, &v->mu);
            continue;
        }
        if (v->progress && v->ntasks >= PROGRESS_MIN_TASKS)
            fprintf(stderr, "\r\033[K");
        if (t->out)
            fputs(t->out, stdout);
        else
            v->oom = true;
        if (t->status == ADP_EXIT_USAGE ||
            (t->status == ADP_EXIT_INVALID && worst == ADP_EXIT_OK))
            worst = t->status;
        free(t->out);
        free(t->name);
        free(t);
        v->tasks[v->printed++] = NULL;
        progress(v, false);
    }
    fflush(stdout);
    return worst;
}

static int jobs_default(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        return 1;
    return n > VERIFY_MAX_JOBS ? VERIFY_MAX_JOBS : (int)n;
}

static int run(struct vrun *v, int jobs, char **files, int nfiles)
{
    pthread_t th[VERIFY_MAX_JOBS];
    int started = 0, worst = ADP_EXIT_OK;

    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, worker, v) != 0)
            break;
    if (started == 0) {
        fprintf(stderr, "vayla: cannot start a worker thread\n");
        return ADP_EXIT_USAGE;
    }
    for (int i = 0; i < nfiles; i++) {
        if (!add_file(v, files[i])) {
            v->oom = true;
            break;
        }
        pthread_mutex_lock(&v->mu);
        worst = print_ready(v, false, worst);
        pthread_mutex_unlock(&v->mu);
    }
    pthread_mutex_lock(&v->mu);
    v->closed = true;
    pthread_cond_broadcast(&v->work);
    worst = print_ready(v, true, worst);
    pthread_mutex_unlock(&v->mu);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    progress(v, true);
    if (v->oom) {
        fprintf(stderr, "vayla: out of memory\n");
        return ADP_EXIT_USAGE;
    }
    return worst;
}

int cli_asic_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"conf", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"jobs", required_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *conf = getenv("VAYLA_VERIFICATION_CONF");
    struct xr_vconf *vc = NULL;
    struct vrun v;
    int c, jobs = jobs_default(), rc;

    memset(&v, 0, sizeof(v));
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            conf = optarg;
            break;
        case 'J':
            v.json = true;
            break;
        case 'j': {
            char *end = NULL;
            long n = strtol(optarg, &end, 10);
            if (!end || *end || n < 1 || n > VERIFY_MAX_JOBS) {
                fprintf(stderr, "vayla: --jobs must be 1..%d\n",
                        VERIFY_MAX_JOBS);
                return ADP_EXIT_USAGE;
            }
            jobs = (int)n;
            break;
        }
        case 'h':
            verify_usage(stdout);
            return ADP_EXIT_OK;
        default:
            verify_usage(stderr);
            return ADP_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        verify_usage(stderr);
        return ADP_EXIT_USAGE;
    }
    if (!adp_vconf_load_path(conf && conf[0] ? conf : VERIFY_DEFAULT_CONF, &vc))
        return ADP_EXIT_USAGE;
    v.vc = vc;
    v.progress = isatty(STDERR_FILENO) == 1;
    /*
     * libzip turns every entry's DOS time into a time_t with mktime();
     * without TZ glibc re-examines /etc/localtime on each call, a tenth of
     * the time of a small container. Naming the same zone once avoids
     * that; nothing here prints local time.
     */
    if (!getenv("TZ"))
        setenv("TZ", ":/etc/localtime", 0);
    pthread_mutex_init(&v.mu, NULL);
    pthread_cond_init(&v.work, NULL);
    pthread_cond_init(&v.done, NULL);
    rc = run(&v, jobs, argv + optind, argc - optind);
    pthread_cond_destroy(&v.done);
    pthread_cond_destroy(&v.work);
    pthread_mutex_destroy(&v.mu);
    /* Tasks left behind by an allocation failure. */
    for (size_t i = v.printed; i < v.ntasks; i++) {
        if (!v.tasks[i])
            continue;
        src_release(v.tasks[i]->src);
        free(v.tasks[i]->out);
        free(v.tasks[i]->name);
        free(v.tasks[i]);
    }
    free(v.tasks);
    xr_vconf_free(vc);
    return rc;
}

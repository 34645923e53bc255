/*
 * Load over vayla's UNIX socket: wrk speaks only TCP, so this small client
 * stands in for it on the caller leg that local systems use. Not a test:
 * bench_serve.sh runs it and prints the figures (docs/performance.md).
 *
 *   bench_unix SOCKET CONNECTIONS SECONDS
 *
 * Each connection is one thread on one keep-alive HTTP/1.1 connection,
 * sending the VTJ person query of person.lua one at a time (the caller is
 * known by its uid, no token). It prints one line:
 *
 *   requests N ok N rps R median_us M p99_us P
 *
 * where ok counts answers with status 200 and the latencies are those of
 * the first BU_MAX_SAMPLES requests per connection.
 * Exit status: 0, or 1 on a usage error or when no connection works.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BU_MAX_CONNS   256
#define BU_MAX_SAMPLES 200000
#define BU_BUF         65536

static const char bu_body[] =
    "{\"hetu\":\"150380-903V\",\"end_user\":\"bench.user@example.fi\","
    "\"purpose\":\"benchmark\"}";

struct bu_conn {
    pthread_t thread;
    const char *path;
    double until;
    long requests;
    long ok;
    long nsamples;
    double *samples; /* owned, BU_MAX_SAMPLES latencies in microseconds */
    int failed;
};

static double bu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bu_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read one answer: headers, then Content-Length bytes. Returns the status
 * code, or -1 when the connection fails or the answer is malformed. */
static int bu_read_answer(int fd, char *buf)
{
    size_t have = 0;
    long status = -1;
    long clen = -1;
    char *end = NULL;

    for (;;) {
        ssize_t n;

        if (have == BU_BUF - 1)
            return -1;
        n = read(fd, buf + have, BU_BUF - 1 - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end)
            break;
    }
    if (sscanf(buf, "HTTP/1.%*d %ld", &status) != 1)
        return -1;
    for (char *h = strstr(buf, "\r\n"); h && h < end;
         h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
            clen = strtol(h + 17, NULL, 10);
    }
    if (clen < 0 || clen > BU_BUF)
        return -1;
    {
        size_t body_have = have - (size_t)(end + 4 - buf);
        while (body_have < (size_t)clen) {
            ssize_t n = read(fd, buf, BU_BUF);
            if (n <= 0)
                return -1;
            body_have += (size_t)n;
        }
    }
    return (int)status;
}

static void *bu_run(void *arg)
{
    struct bu_conn *c = arg;
    char req[1024];
    char *buf = malloc(BU_BUF);
    int fd = bu_connect(c->path);
    int len;

    len = snprintf(
        req, sizeof(req),
        "POST /v1/vtj/person HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
        sizeof(bu_body) - 1, bu_body);
    if (fd < 0 || !buf) {
        c->failed = 1;
        goto out;
    }
    while (bu_now() < c->until) {
        double t0 = bu_now();
        int status;

        if (write(fd, req, (size_t)len) != len) {
            c->failed = 1;
            break;
        }
        status = bu_read_answer(fd, buf);
        if (status < 0) {
            c->failed = 1;
            break;
        }
        c->requests++;
        if (status == 200)
            c->ok++;
        if (c->nsamples < BU_MAX_SAMPLES)
            c->samples[c->nsamples++] = (bu_now() - t0) * 1e6;
    }
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

static int bu_cmp(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    struct bu_conn *conns = NULL;
    double *all = NULL;
    long nconn, secs, requests = 0, ok = 0, nall = 0, working = 0;
    double t0, t1;
    int rc = 1;

    if (argc != 4) {
        fprintf(stderr, "usage: bench_unix SOCKET CONNECTIONS SECONDS\n");
        return 1;
    }
    nconn = strtol(argv[2], NULL, 10);
    secs = strtol(argv[3], NULL, 10);
    if (nconn < 1 || nconn > BU_MAX_CONNS || secs < 1 || secs > 3600) {
        fprintf(stderr, "bench_unix: 1..%d connections, 1..3600 seconds\n",
                BU_MAX_CONNS);
        return 1;
    }
    conns = calloc((size_t)nconn, sizeof(*conns));
    if (!conns)
        goto out;
    t0 = bu_now();
    for (long i = 0; i < nconn; i++) {
        conns[i].path = argv[1];
        conns[i].until = t0 + (double)secs;
        conns[i].samples = malloc(BU_MAX_SAMPLES * sizeof(double));
        if (!conns[i].samples ||
            pthread_create(&conns[i].thread, NULL, bu_run, &conns[i])) {
            fprintf(stderr, "bench_unix: cannot start connection %ld\n", i);
            free(conns[i].samples);
            conns[i].samples = NULL;
            nconn = i;
            goto join;
        }
    }
join:
    for (long i = 0; i < nconn; i++)
        pthread_join(conns[i].thread, NULL);
    t1 = bu_now();
    for (long i = 0; i < nconn; i++) {
        requests += conns[i].requests;
        ok += conns[i].ok;
        nall += conns[i].nsamples;
        working += !conns[i].failed;
    }
    all = malloc((size_t)(nall > 0 ? nall : 1) * sizeof(double));
    if (!all || requests == 0) {
        fprintf(stderr,
                "bench_unix: no answer on %s (%ld of %ld connections worked)\n",
                argv[1], working, nconn);
        goto out;
    }
    nall = 0;
    for (long i = 0; i < nconn; i++) {
        memcpy(all + nall, conns[i].samples,
               (size_t)conns[i].nsamples * sizeof(double));
        nall += conns[i].nsamples;
    }
    qsort(all, (size_t)nall, sizeof(double), bu_cmp);
    printf("requests %ld ok %ld rps %.0f median_us %.0f p99_us %.0f\n",
           requests, ok, (double)requests / (t1 - t0), all[nall / 2],
           all[(nall * 99) / 100]);
    rc = 0;
out:
    if (conns) {
        for (long i = 0; i < nconn; i++)
            free(conns[i].samples);
    }
    free(conns);
    free(all);
    return rc;
}

/*
 * Message log: the request and response bytes of every exchange, by X-Road
 * message id, so that later issues (signed containers) can serve them.
 * Kept in memory (bounded) and, when a directory is configured, written to
 * DIR/<name>.request.xml, DIR/<name>.response.xml and DIR/<name>.meta.json
 * where <name> is the id reduced to [A-Za-z0-9._-] (max 64 characters)
 * plus "-" and 8 hex digits of SHA-256(id): never a path, never hidden,
 * distinct ids give distinct names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "sim.h"

#define MEMORY_CAP  (64u * 1024u * 1024u) /* all stored bytes together */
#define NAME_MAX_ID 64

struct entry {
    char id[XR_TEXT_MAX + 1];
    char name[NAME_MAX_ID + 16]; /* file name stem */
    char time[24];               /* UTC, ISO 8601 */
    char outcome[128];
    size_t req_total, resp_total; /* sizes as exchanged */
    uint8_t *req, *resp;          /* owned; NULL once evicted */
    size_t req_len, resp_len;     /* stored (capped) sizes */
};

struct sim_msglog {
    char dir[SIM_PATH_MAX];
    struct entry *ring; /* SIM_MSGLOG_MAX_ENTRIES slots */
    size_t start, count;
    size_t bytes;          /* stored bytes in memory */
    unsigned long unnamed; /* synthetic ids handed out */
    time_t started;        /* part of synthetic ids */
};

static struct entry *slot(const struct sim_msglog *log, size_t i)
{
    return &log->ring[(log->start + i) % SIM_MSGLOG_MAX_ENTRIES];
}

static void entry_clear(struct sim_msglog *log, struct entry *e)
{
    log->bytes -= e->req_len + e->resp_len;
    free(e->req);
    free(e->resp);
    memset(e, 0, sizeof(*e));
}

int sim_msglog_new(const char *dir, struct sim_msglog **out, char *errbuf,
                   size_t errsize)
{
    struct sim_msglog *log = calloc(1, sizeof(*log));

    *out = NULL;
    if (log)
        log->ring = calloc(SIM_MSGLOG_MAX_ENTRIES, sizeof(*log->ring));
    if (!log || !log->ring) {
        if (log)
            free(log);
        snprintf(errbuf, errsize, "out of memory");
        return -1;
    }
    log->started = time(NULL);
    if (dir && dir[0]) {
        sim_strlcpy(log->dir, dir, sizeof(log->dir));
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(errbuf, errsize, "%s: cannot create: %s", dir,
                     strerror(errno));
            sim_msglog_free(log);
            return -1;
        }
    }
    *out = log;
    return 0;
}

void sim_msglog_free(struct sim_msglog *log)
{
    if (!log)
        return;
    for (size_t i = 0; i < log->count; i++)
        entry_clear(log, slot(log, i));
    free(log->ring);
    free(log);
}

static void make_name(const char *id, char *out, size_t size)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char stem[NAME_MAX_ID + 1];
    size_t n = 0;

    for (const char *p = id; *p && n < NAME_MAX_ID; p++, n++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  (c == '.' && n > 0);
        stem[n] = ok ? c : '_';
    }
    stem[n] = '\0';
    if (n == 0)
        sim_strlcpy(stem, "id", sizeof(stem));
    if (EVP_Digest(id, strlen(id), md, &mdlen, EVP_sha256(), NULL) != 1)
        memset(md, 0, 4);
    snprintf(out, size, "%s-%02x%02x%02x%02x", stem, md[0], md[1], md[2],
             md[3]);
}

static void write_file(const struct sim_msglog *log, const char *name,
                       const char *suffix, const void *data, size_t len)
{
    char path[SIM_PATH_MAX + 128];
    int fd;
    const uint8_t *p = data;

    snprintf(path, sizeof(path), "%s/%s%s", log->dir, name, suffix);
    fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        sim_log("message log: cannot write %s: %s", path, strerror(errno));
        return;
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            sim_log("message log: write %s: %s", path, strerror(errno));
            break;
        }
        p += w;
        len -= (size_t)w;
    }
    close(fd);
}

static uint8_t *dup_capped(const uint8_t *p, size_t len, size_t *out_len)
{
    uint8_t *d;

    if (len > SIM_MSGLOG_MAX_BYTES)
        len = SIM_MSGLOG_MAX_BYTES;
    *out_len = 0;
    d = malloc(len + 1);
    if (!d)
        return NULL;
    if (len)
        memcpy(d, p, len);
    d[len] = '\0';
    *out_len = len;
    return d;
}

static json_t *entry_json(const struct entry *e)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "id", e->id, "time",
                     e->time, "outcome", e->outcome, "name", e->name,
                     "request_bytes", (json_int_t)e->req_total,
                     "response_bytes", (json_int_t)e->resp_total, "stored",
                     e->req != NULL);
}

void sim_msglog_add(struct sim_msglog *log, const char *id, const uint8_t *req,
                    size_t req_len, const uint8_t *resp, size_t resp_len,
                    const char *outcome)
{
    char synthetic[40];
    struct entry *e;
    time_t t = time(NULL);
    struct tm tm;

    if (!id || !id[0]) {
        /* Unique across runs too: files of older runs stay. */
        snprintf(synthetic, sizeof(synthetic), "unparsed-%lld-%lu",
                 (long long)log->started, ++log->unnamed);
        id = synthetic;
    }
    if (log->count == SIM_MSGLOG_MAX_ENTRIES) {
        entry_clear(log, slot(log, 0));
        log->start = (log->start + 1) % SIM_MSGLOG_MAX_ENTRIES;
        log->count--;
    }
    e = slot(log, log->count);
    memset(e, 0, sizeof(*e));
    log->count++;
    sim_strlcpy(e->id, id, sizeof(e->id));
    make_name(e->id, e->name, sizeof(e->name));
    gmtime_r(&t, &tm);
    strftime(e->time, sizeof(e->time), "%Y-%m-%dT%H:%M:%SZ", &tm);
    sim_strlcpy(e->outcome, outcome, sizeof(e->outcome));
    e->req_total = req_len;
    e->resp_total = resp_len;
    e->req = dup_capped(req, req_len, &e->req_len);
    e->resp = dup_capped(resp, resp_len, &e->resp_len);
    log->bytes += e->req_len + e->resp_len;

    /* Evict the bytes (not the metadata) of the oldest entries. */
    for (size_t i = 0; i + 1 < log->count && log->bytes > MEMORY_CAP; i++) {
        struct entry *old = slot(log, i);
        log->bytes -= old->req_len + old->resp_len;
        free(old->req);
        free(old->resp);
        old->req = old->resp = NULL;
        old->req_len = old->resp_len = 0;
    }

    if (log->dir[0]) {
        json_t *meta = entry_json(e);
        char *text = meta ? json_dumps(meta, JSON_INDENT(2)) : NULL;
        write_file(log, e->name, ".request.xml", e->req, e->req_len);
        write_file(log, e->name, ".response.xml", e->resp, e->resp_len);
        if (text)
            write_file(log, e->name, ".meta.json", text, strlen(text));
        free(text);
        json_decref(meta);
    }
}

static const struct entry *find(const struct sim_msglog *log, const char *id)
{
    for (size_t i = log->count; i > 0; i--)
        if (!strcmp(slot(log, i - 1)->id, id))
            return slot(log, i - 1);
    return NULL;
}

char *sim_msglog_list_json(const struct sim_msglog *log)
{
    json_t *arr = json_array();
    char *text;

    if (!arr)
        return NULL;
    for (size_t i = 0; i < log->count; i++)
        json_array_append_new(arr, entry_json(slot(log, i)));
    text = json_dumps(arr, JSON_INDENT(2));
    json_decref(arr);
    return text;
}

char *sim_msglog_entry_json(const struct sim_msglog *log, const char *id)
{
    const struct entry *e = find(log, id);
    json_t *obj;
    char *text;

    if (!e)
        return NULL;
    obj = entry_json(e);
    text = obj ? json_dumps(obj, JSON_INDENT(2)) : NULL;
    json_decref(obj);
    return text;
}

const uint8_t *sim_msglog_bytes(const struct sim_msglog *log, const char *id,
                                bool response, size_t *len)
{
    const struct entry *e = find(log, id);

    *len = 0;
    if (!e || !e->req)
        return NULL;
    *len = response ? e->resp_len : e->req_len;
    return response ? e->resp : e->req;
}

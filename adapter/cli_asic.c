/*
 * `vayla asic fetch` and `vayla asic conf`: downloads from the security
 * server's /asic and /verificationconf over the configured (m)TLS
 * connection (docs/cli.md, docs/verify.md). The configuration
 * (-c FILE) gives the security server and the client subsystem.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_run.h"
#include "prove.h"

#define CONF_MAX_ENTRIES     512u
#define CONF_MAX_ENTRY_BYTES (4u * 1024u * 1024u)
#define CONF_MAX_DEPTH       8 /* folders in one entry name */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vayla asic fetch [-c FILE] --query-id ID "
            "[--request-only|--response-only]\n"
            "                        [--unique] [-o OUT]\n"
            "       vayla asic conf  [-c FILE] -o DIR|FILE.zip\n"
            "\n"
            "fetch  downloads the signed containers of one message from the "
            "security\n"
            "       server's /asic, for the configured client subsystem: a zip "
            "of\n"
            "       containers, or one container with --unique (needs "
            "--request-only\n"
            "       or --response-only). OUT default: standard output when it "
            "is not\n"
            "       a terminal.\n"
            "conf   downloads /verificationconf and unpacks it into DIR "
            "(checked, capped,\n"
            "       no path leaves DIR), or writes the ZIP when OUT ends in "
            ".zip.\n"
            "Exit status: 0 done, 4 not found or not time-stamped yet, 5 the "
            "security\n"
            "server refused or cannot be reached, 1 usage or configuration "
            "error.\n");
}

/* Write all of buf to fd. */
static bool write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Write a file (mode 0644; replaced when it exists, never through a
 * symbolic link). */
static bool write_file_at(int dirfd, const char *name, const uint8_t *buf,
                          size_t len)
{
    int fd =
        openat(dirfd, name,
               O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    bool ok;

    if (fd < 0) {
        fprintf(stderr, "vayla: asic: %s: %s\n", name, strerror(errno));
        return false;
    }
    ok = write_all(fd, buf, len);
    if (close(fd) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "vayla: asic: %s: write failed\n", name);
    return ok;
}

static int fetch_exit(const struct adp_fetch_result *fr)
{
    switch (fr->st) {
    case ADP_FETCH_OK:
        return ADP_EXIT_OK;
    case ADP_FETCH_NOT_FOUND:
    case ADP_FETCH_NOT_TIMESTAMPED:
        return ADP_EXIT_NOTFOUND;
    case ADP_FETCH_BAD_PARAMS:
        return ADP_EXIT_USAGE;
    case ADP_FETCH_DENIED:
    case ADP_FETCH_ENCRYPTED:
    case ADP_FETCH_TOO_LARGE:
    case ADP_FETCH_SERVER_ERROR:
    case ADP_FETCH_UNREACHABLE:
        return ADP_EXIT_TRANSPORT;
    }
    return ADP_EXIT_TRANSPORT;
}

/* ---- conf: unpacking ---- */

struct unpack {
    int root; /* DIR */
    bool ok;
};

/* Open (creating) the folders of `name` under root, one component at a
 * time without following links; returns the fd of the last folder and
 * the file's base name in *base. */
static int open_parent(int root, char *name, char **base)
{
    int fd = dup(root), depth = 0;
    char *p = name, *slash;

    while (fd >= 0 && (slash = strchr(p, '/')) != NULL) {
        int next;
        *slash = '\0';
        if (++depth > CONF_MAX_DEPTH ||
            (mkdirat(fd, p, 0755) != 0 && errno != EEXIST)) {
            close(fd);
            return -1;
        }
        next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        *slash = '/';
        close(fd);
        fd = next;
        p = slash + 1;
    }
    *base = p;
    return fd;
}

static int unpack_entry(void *ctx, const char *name, const uint8_t *data,
                        size_t len, bool is_dir)
{
    struct unpack *u = ctx;
    char copy[XR_TEXT_MAX + 1], *base = NULL;
    int fd;

    if (snprintf(copy, sizeof(copy), "%s%s", name, is_dir ? "x" : "") >=
        (int)sizeof(copy)) {
        u->ok = false;
        return 1;
    }
    /* A folder entry: create its folders (the "x" stands for a file). */
    fd = open_parent(u->root, copy, &base);
    if (fd < 0) {
        fprintf(stderr, "vayla: asic conf: %s: cannot create its folder: %s\n",
                name, strerror(errno));
        u->ok = false;
        return 1;
    }
    if (!is_dir && !write_file_at(fd, base, data, len))
        u->ok = false;
    close(fd);
    return u->ok ? 0 : 1;
}

static int conf_write(const struct adp_fetch_result *fr, const char *out)
{
    struct xr_zip_limits lim = {ADP_VCONF_MAX_BYTES, CONF_MAX_ENTRIES,
                                CONF_MAX_ENTRY_BYTES, ADP_VCONF_MAX_BYTES, 0};
    struct xr_vconf *vc = NULL;
    struct xr_error err;
    struct unpack u = {-1, true};
    size_t n = strlen(out);

    /* Only a configuration libxroad can use is kept. */
    if (xr_vconf_load_zip(fr->body, fr->len, &vc, &err) != XR_OK) {
        adp_cli_error_line("asic conf: the security server's answer", &err);
        return ADP_EXIT_INVALID;
    }
    xr_vconf_free(vc);
    if (n > 4 && !strcasecmp(out + n - 4, ".zip"))
        return write_file_at(AT_FDCWD, out, fr->body, fr->len) ? ADP_EXIT_OK
                                                               : ADP_EXIT_USAGE;
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "vayla: asic conf: %s: %s\n", out, strerror(errno));
        return ADP_EXIT_USAGE;
    }
    u.root = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (u.root < 0) {
        fprintf(stderr, "vayla: asic conf: %s: %s\n", out, strerror(errno));
        return ADP_EXIT_USAGE;
    }
    if (xr_zip_each(fr->body, fr->len, &lim, unpack_entry, &u, &err) != XR_OK) {
        adp_cli_error_line("asic conf", &err);
        u.ok = false;
    }
    close(u.root);
    return u.ok ? ADP_EXIT_OK : ADP_EXIT_USAGE;
}

/* ---- the commands ---- */

struct asic_opts {
    const char *config, *out;
    struct adp_asic_query q;
};

static int parse(int argc, char **argv, struct asic_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"query-id", required_argument, NULL, 'q'},
        {"request-only", no_argument, NULL, 'R'},
        {"response-only", no_argument, NULL, 'S'},
        {"unique", no_argument, NULL, 'u'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'q':
            o->q.query_id = optarg;
            break;
        case 'R':
            o->q.request_only = true;
            break;
        case 'S':
            o->q.response_only = true;
            break;
        case 'u':
            o->q.unique = true;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return ADP_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return ADP_EXIT_USAGE;
    }
    return ADP_EXIT_OK;
}

static int check_fetch_opts(const struct asic_opts *o)
{
    const char *why = NULL;

    if (!o->q.query_id || !o->q.query_id[0])
        why = "--query-id is required";
    else if (strlen(o->q.query_id) > XR_TEXT_MAX)
        why = "--query-id is too long";
    else if (o->q.request_only && o->q.response_only)
        why = "--request-only and --response-only exclude each other";
    else if (o->q.unique && !o->q.request_only && !o->q.response_only)
        why = "--unique needs --request-only or --response-only";
    else if (!o->out && isatty(STDOUT_FILENO))
        why = "standard output is a terminal: give -o OUT";
    if (why) {
        fprintf(stderr, "vayla: asic fetch: %s\n", why);
        return ADP_EXIT_USAGE;
    }
    return ADP_EXIT_OK;
}

static int run_fetch(struct adp_cli_run *r, const struct asic_opts *o,
                     bool conf)
{
    struct adp_fetch f = {r->base, r->up, &r->cfg->ss, 0};
    struct adp_fetch_result fr;
    struct adp_asic_query q = o->q;
    char path[4 * XR_TEXT_MAX + 4 * 3 * (XR_ID_PART_MAX + 1) + 128];
    int rc;

    q.client = &r->cfg->xroad.client;
    if (!conf && !adp_asic_path(&q, path, sizeof(path))) {
        fprintf(stderr, "vayla: asic fetch: the query id is too long\n");
        return ADP_EXIT_USAGE;
    }
    if (!adp_fetch_get(&f, conf ? "/verificationconf" : path,
                       conf ? ADP_VCONF_MAX_BYTES : ADP_ASIC_MAX_BYTES,
                       conf ? "verification configuration" : "containers",
                       &fr) ||
        fr.st != ADP_FETCH_OK) {
        fprintf(stderr, "vayla: asic %s: %s\n", conf ? "conf" : "fetch",
                fr.msg);
        adp_fetch_result_cleanup(&fr);
        return fetch_exit(&fr);
    }
    if (conf)
        rc = conf_write(&fr, o->out);
    else if (o->out)
        rc = write_file_at(AT_FDCWD, o->out, fr.body, fr.len) ? ADP_EXIT_OK
                                                              : ADP_EXIT_USAGE;
    else
        rc = write_all(STDOUT_FILENO, fr.body, fr.len) ? ADP_EXIT_OK
                                                       : ADP_EXIT_USAGE;
    adp_fetch_result_cleanup(&fr);
    return rc;
}

int cli_asic(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : "";
    bool conf = !strcmp(sub, "conf");
    struct asic_opts o;
    struct adp_cli_run r;
    int rc;

    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        usage(stdout);
        return ADP_EXIT_OK;
    }
    if (!conf && strcmp(sub, "fetch") != 0) {
        usage(stderr);
        return ADP_EXIT_USAGE;
    }
    rc = parse(argc - 1, argv + 1, &o);
    if (rc != ADP_EXIT_OK)
        return rc < 0 ? ADP_EXIT_OK : rc;
    if (conf && (!o.out || o.q.query_id || o.q.request_only ||
                 o.q.response_only || o.q.unique)) {
        fprintf(stderr, "vayla: asic conf: give -o DIR|FILE.zip only\n");
        return ADP_EXIT_USAGE;
    }
    if (!conf && check_fetch_opts(&o) != ADP_EXIT_OK)
        return ADP_EXIT_USAGE;
    rc = adp_cli_run_open(&r, o.config, ADP_CLI_AUDIT_NONE);
    if (rc < 0)
        rc = run_fetch(&r, &o, conf);
    adp_cli_run_close(&r);
    return rc;
}

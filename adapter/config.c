/*
 * vayla.conf: the table of accepted keys, the line reader and inih
 * callbacks, the required keys, load and free. Values are parsed in
 * config_values.c, rules across keys, secrets and files are checked in
 * config_check.c (config_internal.h).
 *
 * inih does the INI tokenising; our own line reader (ini_parse_stream)
 * feeds it one line at a time, which gives exact line numbers for every
 * problem, lets us report all syntax errors (inih only returns the first)
 * and rejects constructs that would silently change meaning (over-long
 * lines, which inih would split, and indented continuation lines).
 */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/crypto.h>

#include "config_internal.h"
#include "util.h"

#define REASON_MAX 512

#define OFF(member)  SC_CONFIG, offsetof(struct adp_config, member)
#define COFF(member) SC_CALLER, offsetof(struct adp_caller, member)
#define CHAS(member) offsetof(struct adp_config, member)
#define KHAS(member) offsetof(struct adp_caller, member)

/*
 * Every accepted key. Keep in sync with docs/configuration.md and
 * /work/notes/config.md (agreed names: add keys, never rename).
 */
static const struct key_def keys[] = {
    {"xroad", "client", KT_CLIENT_ID, OFF(xroad.client), NO_HAS, 0, 0, true},
    {"xroad", "security_server", KT_SERVER_ID, OFF(xroad.security_server),
     CHAS(xroad.has_security_server), 0, 0, false},

    {"security_server", "url", KT_URL, OFF(ss.url), NO_HAS, 0, 0, true},
    {"security_server", "ca_file", KT_PATH, OFF(ss.ca_file), NO_HAS, 0, 0,
     false},
    {"security_server", "pin_sha256", KT_SHA256, OFF(ss.pin_sha256),
     CHAS(ss.has_pin), 0, 0, false},
    {"security_server", "client_cert", KT_PATH, OFF(ss.client_cert), NO_HAS, 0,
     0, false},
    {"security_server", "client_key", KT_PATH, OFF(ss.client_key), NO_HAS, 0, 0,
     false},
    {"security_server", "client_key_passphrase_file", KT_PATH,
     OFF(ss.client_key_passphrase_file), NO_HAS, 0, 0, false},
    {"security_server", "connect_timeout_ms", KT_LONG,
     OFF(ss.connect_timeout_ms), NO_HAS, 100, 600000, false},
    {"security_server", "timeout_ms", KT_LONG, OFF(ss.timeout_ms), NO_HAS, 1000,
     3600000, false},
    {"security_server", "max_response_bytes", KT_SIZE,
     OFF(ss.max_response_bytes), NO_HAS, 1024, 1024LL * 1024 * 1024, false},
    {"security_server", "max_connections", KT_UINT, OFF(ss.max_connections),
     NO_HAS, 1, 65536, false},
    {"security_server", "allow_missing_request_hash", KT_BOOL,
     OFF(ss.allow_missing_request_hash), NO_HAS, 0, 0, false},

    {"vtj", "service", KT_SERVICE_ID, OFF(vtj.service), NO_HAS, 0, 0, true},
    {"vtj", "username", KT_TEXT, OFF(vtj.username), NO_HAS, 0, 0, true},
    {"vtj", "password_file", KT_PATH, OFF(vtj.password_file), NO_HAS, 0, 0,
     false},
    {"vtj", "password_env", KT_ENVNAME, OFF(vtj.password_env), NO_HAS, 0, 0,
     false},
    {"vtj", "product", KT_TEXT, OFF(vtj.product), NO_HAS, 0, 0, false},
    {"vtj", "follow_passivated", KT_BOOL, OFF(vtj.follow_passivated), NO_HAS, 0,
     0, false},

    {"audit", "path", KT_PATH, OFF(audit.path), NO_HAS, 0, 0, false},
    {"audit", "checkpoint_file", KT_PATH, OFF(audit.checkpoint_file), NO_HAS, 0,
     0, false},
    {"audit", "checkpoint_key", KT_PATH, OFF(audit.checkpoint_key), NO_HAS, 0,
     0, false},
    {"audit", "checkpoint_every", KT_UINT, OFF(audit.checkpoint_every), NO_HAS,
     0, 1000000000, false},
    {"audit", "checkpoint_interval_s", KT_UINT,
     OFF(audit.checkpoint_interval_s), NO_HAS, 0, 86400, false},
    {"audit", "retention_days", KT_UINT, OFF(audit.retention_days), NO_HAS, 1,
     36500, false},

    {"listen", "address", KT_ADDRESS, OFF(listen.address), NO_HAS, 0, 0, false},
    {"listen", "port", KT_UINT, OFF(listen.port), NO_HAS, 0, 65535, false},
    {"listen", "unix_socket", KT_PATH, OFF(listen.unix_socket), NO_HAS, 0, 0,
     false},
    {"listen", "unix_mode", KT_OCTAL, OFF(listen.unix_mode), NO_HAS, 0, 0777,
     false},
    {"listen", "tls_cert", KT_PATH, OFF(listen.tls_cert), NO_HAS, 0, 0, false},
    {"listen", "tls_key", KT_PATH, OFF(listen.tls_key), NO_HAS, 0, 0, false},
    {"listen", "client_ca", KT_PATH, OFF(listen.client_ca), NO_HAS, 0, 0,
     false},
    {"listen", "require_client_cert", KT_BOOL, OFF(listen.require_client_cert),
     NO_HAS, 0, 0, false},
    {"listen", "client_crl", KT_PATH, OFF(listen.client_crl), NO_HAS, 0, 0,
     false},
    {"listen", "tls_ciphers", KT_TEXT, OFF(listen.tls_ciphers), NO_HAS, 0, 0,
     false},
    {"listen", "tls_ciphersuites", KT_TEXT, OFF(listen.tls_ciphersuites),
     NO_HAS, 0, 0, false},

    {"api", "threads", KT_UINT, OFF(api.threads), NO_HAS, 0, 64, false},
    {"api", "max_connections", KT_UINT, OFF(api.max_connections), NO_HAS, 1,
     1000000, false},
    {"api", "max_in_flight", KT_UINT, OFF(api.max_in_flight), NO_HAS, 1,
     1000000, false},
    {"api", "retry_after_s", KT_UINT, OFF(api.retry_after_s), NO_HAS, 1, 3600,
     false},
    {"api", "drain_timeout_ms", KT_UINT, OFF(api.drain_timeout_ms), NO_HAS, 0,
     600000, false},
    {"api", "max_body_bytes", KT_SIZE, OFF(api.max_body_bytes), NO_HAS, 1024,
     16LL * 1024 * 1024, false},
    {"api", "max_soap_body_bytes", KT_SIZE, OFF(api.max_soap_body_bytes),
     NO_HAS, 1024, 256LL * 1024 * 1024, false},
    {"api", "max_header_bytes", KT_SIZE, OFF(api.max_header_bytes), NO_HAS,
     1024, 1024LL * 1024, false},
    {"api", "read_timeout_ms", KT_UINT, OFF(api.read_timeout_ms), NO_HAS, 100,
     3600000, false},
    {"api", "max_pending_connections", KT_UINT,
     OFF(api.max_pending_connections), NO_HAS, 1, 1000000, false},
    {"api", "max_connections_per_peer", KT_UINT,
     OFF(api.max_connections_per_peer), NO_HAS, 0, 1000000, false},
    {"api", "request_timeout_ms", KT_UINT, OFF(api.request_timeout_ms), NO_HAS,
     100, 3600000, false},
    {"api", "keepalive_timeout_ms", KT_UINT, OFF(api.keepalive_timeout_ms),
     NO_HAS, 100, 3600000, false},
    {"api", "log_level", KT_LOGLEVEL, OFF(api.log_level), NO_HAS, 0, 0, false},

    {"caller", "token_sha256", KT_SHA256, COFF(token_sha256), KHAS(has_token),
     0, 0, false},
    {"caller", "cert_sha256", KT_SHA256, COFF(cert_sha256),
     KHAS(has_cert_sha256), 0, 0, false},
    {"caller", "cert_subject", KT_SUBJECT, COFF(cert_subject), NO_HAS, 0, 0,
     false},
    {"caller", "allow", KT_OPS, COFF(ops), NO_HAS, 0, 0, false},
    {"caller", "products", KT_PRODUCTS, COFF(nproducts), NO_HAS, 0, 0, false},
    {"caller", "services", KT_SERVICES, COFF(nservices), NO_HAS, 0, 0, false},
    {"caller", "client", KT_CLIENT_ID, COFF(client), KHAS(has_client), 0, 0,
     false},
    {"caller", "redact_protected_addresses", KT_BOOL,
     COFF(redact_protected_addresses), NO_HAS, 0, 0, false},
    {"caller", "unix_uid", KT_UINT, COFF(unix_uid), KHAS(has_unix_uid), 0,
     4294967294LL, false},
    {"caller", "unix_gid", KT_UINT, COFF(unix_gid), KHAS(has_unix_gid), 0,
     4294967294LL, false},
    {"caller", "rate_per_second", KT_DOUBLE, COFF(rate.per_second), NO_HAS, 0,
     1000000, false},
    {"caller", "rate_burst", KT_DOUBLE, COFF(rate.burst), NO_HAS, 0, 1000000,
     false},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= KEYS_MAX, "raise KEYS_MAX in config_internal.h");

static const char *const sections[] = {"xroad", "security_server", "vtj",
                                       "audit", "listen",          "api"};
#define NSECTIONS  (sizeof(sections) / sizeof(sections[0]))
#define SEC_CALLER ((int)NSECTIONS) /* cur_section of a [caller.NAME] */
_Static_assert(NSECTIONS <= SECTIONS_MAX,
               "raise SECTIONS_MAX in config_internal.h");

void adp__config_problem(struct parse_state *st, unsigned line, const char *key,
                         const char *fmt, ...)
{
    char reason[REASON_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    st->nproblems++;
    if (st->problem)
        st->problem(st->ctx, st->path, line, key, reason);
}

void adp_config_problem_print(void *ctx, const char *path, unsigned line,
                              const char *key, const char *reason)
{
    FILE *out = ctx ? ctx : stderr;

    if (line > 0 && key[0] != '\0')
        fprintf(out, "%s:%u: %s: %s\n", path, line, key, reason);
    else if (line > 0)
        fprintf(out, "%s:%u: %s\n", path, line, reason);
    else if (key[0] != '\0')
        fprintf(out, "%s: %s: %s\n", path, key, reason);
    else
        fprintf(out, "%s: %s\n", path, reason);
}

const char *adp_config_default_path(void)
{
    const char *p = getenv(ADP_CONFIG_ENV);

    if (p && p[0] != '\0')
        return p;
    return ADP_CONFIG_DEFAULT_PATH;
}

/* ---- small helpers ------------------------------------------------------ */

int adp__config_section_index(const char *name)
{
    for (size_t i = 0; i < NSECTIONS; i++) {
        if (strcmp(sections[i], name) == 0)
            return (int)i;
    }
    return -1;
}

static const struct key_def *key_find(const char *section, const char *key,
                                      size_t *idx)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].section, section) == 0 &&
            strcmp(keys[i].key, key) == 0) {
            *idx = i;
            return &keys[i];
        }
    }
    return NULL;
}

/* Index of a key named in code (a literal: a miss is a programming error). */
size_t adp__config_key_index(const char *section, const char *key)
{
    size_t idx = 0;
    const struct key_def *k = key_find(section, key, &idx);

    assert(k != NULL);
    (void)k;
    return idx;
}

/* "section.key" into buf. */
static const char *key_name(char *buf, size_t size, const char *section,
                            const char *key)
{
    snprintf(buf, size, "%s.%s", section, key);
    return buf;
}

/* ---- inih callbacks ----------------------------------------------------- */

static bool valid_caller_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > ADP_CALLER_NAME_MAX)
        return false;
    for (; *s; s++) {
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' ||
              *s == '.'))
            return false;
    }
    return true;
}

/* A [caller.NAME] header: append a caller (rate limiters come later). */
static bool start_caller(struct parse_state *st, const char *name)
{
    struct adp_config *cfg = st->cfg;
    struct adp_caller *nc;
    struct caller_lines *nl;
    char sec[SECTION_MAX + 16];

    snprintf(sec, sizeof(sec), CALLER_PREFIX "%s", name);
    st->cur_section = -1;
    if (!valid_caller_name(name)) {
        adp__config_problem(
            st, st->lineno, sec,
            "caller name must be 1..%u characters of A-Z a-z 0-9 _ - .",
            ADP_CALLER_NAME_MAX);
        return false;
    }
    for (size_t i = 0; i < cfg->ncallers; i++) {
        if (strcmp(cfg->callers[i].name, name) == 0) {
            adp__config_problem(st, st->lineno, sec,
                                "duplicate section (first on line %u)",
                                st->clines[i].section);
            return false;
        }
    }
    if (cfg->ncallers >= ADP_CONFIG_CALLERS_MAX) {
        adp__config_problem(st, st->lineno, sec, "more than %u callers",
                            ADP_CONFIG_CALLERS_MAX);
        return false;
    }
    nc = realloc(cfg->callers, (cfg->ncallers + 1) * sizeof(*nc));
    if (!nc) {
        st->oom = true;
        return false;
    }
    cfg->callers = nc;
    nl = realloc(st->clines, (cfg->ncallers + 1) * sizeof(*nl));
    if (!nl) {
        st->oom = true;
        return false;
    }
    st->clines = nl;
    memset(&nc[cfg->ncallers], 0, sizeof(*nc));
    memset(&nl[cfg->ncallers], 0, sizeof(*nl));
    memcpy(nc[cfg->ncallers].name, name, strlen(name) + 1);
    nc[cfg->ncallers].ops = ADP_OP_VTJ_PERSON; /* default: allow */
    /* Fail closed: protected addresses only to callers entitled to them. */
    nc[cfg->ncallers].redact_protected_addresses = true;
    nl[cfg->ncallers].section = st->lineno;
    st->cur_caller = cfg->ncallers++;
    st->cur_section = SEC_CALLER;
    return true;
}

/* Check one raw line's shape; returns false when it must not reach inih. */
static bool check_line(struct parse_state *st, const char *line)
{
    const char *p = line;
    const char *end;
    char name[SECTION_MAX];
    size_t n;

    if (st->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
        line = p = p + 3; /* UTF-8 BOM: inih skips it as well */
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || *p == '\r' || *p == ';' || *p == '#')
        return true;
    if (p != line) {
        /* inih would glue it to the previous value (multi-line values) */
        adp__config_problem(
            st, st->lineno, "",
            "indented line: continuation lines are not supported");
        return false;
    }
    if (*p == '[') {
        end = strchr(p, ']');
        if (!end) {
            adp__config_problem(st, st->lineno, "",
                                "section header without ']'");
            st->cur_section = -1;
            return false;
        }
        n = (size_t)(end - p - 1);
        if (n == 0 || n >= sizeof(name)) {
            adp__config_problem(st, st->lineno, "", "invalid section name");
            st->cur_section = -1;
            return false;
        }
        memcpy(name, p + 1, n);
        name[n] = '\0';
        if (strncmp(name, CALLER_PREFIX, strlen(CALLER_PREFIX)) == 0)
            return start_caller(st, name + strlen(CALLER_PREFIX));
        st->cur_section = adp__config_section_index(name);
        if (st->cur_section < 0) {
            adp__config_problem(st, st->lineno, name, "unknown section");
            return false;
        }
        if (st->section_line[st->cur_section] == 0)
            st->section_line[st->cur_section] = st->lineno;
        return true;
    }
    if (!strpbrk(p, "=:")) {
        adp__config_problem(st, st->lineno, "", "expected 'key = value'");
        return false;
    }
    return true;
}

/*
 * ini_reader: hand inih the next line (without its newline). A line that
 * does not fit inih's buffer or fails check_line() is replaced by an empty
 * line so inih neither splits nor interprets it.
 */
static char *reader(char *str, int num, void *stream)
{
    struct parse_state *st = stream;
    const char *start, *nl;
    size_t n;

    if (st->pos >= st->len || num < 2)
        return NULL;
    start = st->text + st->pos;
    nl = memchr(start, '\n', st->len - st->pos);
    n = nl ? (size_t)(nl - start) : st->len - st->pos;
    st->pos += n + (nl ? 1 : 0);
    st->lineno++;
    st->line_bad = false;
    if (n > 0 && start[n - 1] == '\r')
        n--;
    if (n > (size_t)num - 1) {
        adp__config_problem(st, st->lineno, "", "line longer than %d bytes",
                            num - 1);
        st->line_bad = true;
        str[0] = '\0';
        return str;
    }
    memcpy(str, start, n);
    str[n] = '\0';
    if (memchr(str, '\0', n)) {
        adp__config_problem(st, st->lineno, "", "NUL byte in line");
        st->line_bad = true;
        str[0] = '\0';
        return str;
    }
    if (!check_line(st, str)) {
        st->line_bad = true;
        str[0] = '\0';
    }
    return str;
}

static void store_value(struct parse_state *st, const struct key_def *k,
                        const char *kname, const char *value)
{
    char *base = k->scope == SC_CALLER
                     ? (char *)&st->cfg->callers[st->cur_caller]
                     : (char *)st->cfg;

    if (value[0] == '\0') {
        adp__config_problem(st, st->lineno, kname, "empty value");
        return;
    }
    if (!adp__config_parse_value(st, k, kname, value, base + k->offset))
        return;
    if (k->has_offset != NO_HAS)
        *(bool *)(base + k->has_offset) = true;
}

static int handler(void *user, const char *section, const char *name,
                   const char *value)
{
    struct parse_state *st = user;
    const struct key_def *k;
    char kname[SECTION_MAX + 64];
    unsigned *line;
    size_t idx = 0;

    if (st->line_bad)
        return 1;
    if (section[0] == '\0') {
        adp__config_problem(st, st->lineno, name, "key outside a section");
        return 1;
    }
    if (st->cur_section < 0)
        return 1; /* unknown section: reported once at its header */
    key_name(kname, sizeof(kname), section, name);
    k = key_find(st->cur_section == SEC_CALLER ? "caller" : section, name,
                 &idx);
    if (!k) {
        if (strcmp(name, "password") == 0)
            adp__config_problem(
                st, st->lineno, kname,
                "unknown key (never write secrets in this file: use "
                "password_file or password_env)");
        else
            adp__config_problem(st, st->lineno, kname, "unknown key");
        return 1;
    }
    line = k->scope == SC_CALLER ? &st->clines[st->cur_caller].key[idx]
                                 : &st->key_line[idx];
    if (*line != 0 && k->type != KT_SERVICES) {
        adp__config_problem(st, st->lineno, kname,
                            "duplicate key (first set on line %u)", *line);
        return 1;
    }
    *line = st->lineno;
    store_value(st, k, kname, value);
    return st->oom ? 0 : 1;
}

/* Every required key of the main sections is set. */
static void check_required(struct parse_state *st)
{
    char kname[SECTION_MAX + 64];

    for (size_t i = 0; i < NKEYS; i++) {
        int s = adp__config_section_index(keys[i].section);
        if (!keys[i].required || keys[i].scope != SC_CONFIG ||
            st->key_line[i] != 0)
            continue;
        adp__config_problem(
            st, s >= 0 ? st->section_line[s] : 0,
            key_name(kname, sizeof(kname), keys[i].section, keys[i].key),
            "required key is missing");
    }
}

/* ---- load / free -------------------------------------------------------- */

/* Absolute directory of `path` (realpath when it exists). */
static char *config_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    char *real;
    size_t n;

    if (!slash) {
        if (!getcwd(dir, sizeof(dir)))
            return strdup(".");
    } else {
        n = (size_t)(slash - path);
        if (n == 0)
            n = 1; /* "/vayla.conf" */
        if (n >= sizeof(dir))
            return NULL;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    real = realpath(dir, NULL);
    return real ? real : strdup(dir);
}

static enum xr_status load_text(const char *path, const char *text, size_t len,
                                struct adp_config **out,
                                adp_config_problem_fn *problem_fn, void *ctx,
                                struct xr_error *err)
{
    struct parse_state st;
    struct adp_config *cfg = NULL;
    enum xr_status rc;

    *out = NULL;
    memset(&st, 0, sizeof(st));
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    cfg->path = strdup(path);
    cfg->dir = config_dir(path);
    if (!cfg->path || !cfg->dir) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    cfg->ss.connect_timeout_ms = ADP_CONFIG_CONNECT_TIMEOUT_MS_DEFAULT;
    cfg->ss.timeout_ms = ADP_CONFIG_TIMEOUT_MS_DEFAULT;
    cfg->ss.max_response_bytes = ADP_CONFIG_MAX_RESPONSE_BYTES_DEFAULT;
    cfg->ss.max_connections = ADP_CONFIG_SS_CONNECTIONS_DEFAULT;
    cfg->vtj.follow_passivated = true;
    cfg->audit.retention_days = ADP_CONFIG_AUDIT_RETENTION_DEFAULT;
    cfg->audit.checkpoint_every = ADP_CONFIG_CHECKPOINT_EVERY_DEFAULT;
    cfg->audit.checkpoint_interval_s = ADP_CONFIG_CHECKPOINT_INTERVAL_DEFAULT;
    cfg->listen.port = ADP_CONFIG_LISTEN_PORT_DEFAULT;
    cfg->listen.unix_mode = ADP_CONFIG_UNIX_MODE_DEFAULT;
    cfg->listen.require_client_cert = true;
    cfg->api.max_connections = ADP_CONFIG_MAX_CONNECTIONS_DEFAULT;
    cfg->api.max_in_flight = ADP_CONFIG_MAX_IN_FLIGHT_DEFAULT;
    cfg->api.retry_after_s = ADP_CONFIG_RETRY_AFTER_S_DEFAULT;
    cfg->api.drain_timeout_ms = ADP_CONFIG_DRAIN_TIMEOUT_MS_DEFAULT;
    cfg->api.max_body_bytes = ADP_CONFIG_MAX_BODY_BYTES_DEFAULT;
    cfg->api.max_soap_body_bytes = ADP_CONFIG_MAX_SOAP_BODY_DEFAULT;
    cfg->api.max_header_bytes = ADP_CONFIG_MAX_HEADER_BYTES_DEFAULT;
    cfg->api.read_timeout_ms = ADP_CONFIG_READ_TIMEOUT_MS_DEFAULT;
    cfg->api.max_pending_connections = ADP_CONFIG_MAX_PENDING_DEFAULT;
    cfg->api.max_connections_per_peer = ADP_CONFIG_MAX_PER_PEER_DEFAULT;
    cfg->api.request_timeout_ms = ADP_CONFIG_REQUEST_TIMEOUT_MS_DEFAULT;
    cfg->api.keepalive_timeout_ms = ADP_CONFIG_KEEPALIVE_TIMEOUT_MS_DEFAULT;
    cfg->api.log_level = ADP_LOG_INFO;

    st.cfg = cfg;
    st.path = path;
    st.problem = problem_fn;
    st.ctx = ctx;
    st.text = text;
    st.len = len;
    st.cur_section = -1;
    /* The return value only repeats the first error line: every problem
     * has already been reported through our reader and handler. */
    (void)ini_parse_stream(reader, &st, handler, &st);
    if (!st.oom) {
        check_required(&st);
        adp__config_check_all(&st);
    }
    if (st.oom) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    if (st.nproblems > 0) {
        rc = xr_error_set(err, XR_EINVAL, "config_invalid", "",
                          "%s: %u problem%s", path, st.nproblems,
                          st.nproblems == 1 ? "" : "s");
        goto out;
    }
    /* The callers array is final: the limiters (mutexes) may start. */
    for (size_t i = 0; i < cfg->ncallers; i++) {
        struct adp_rate *r = &cfg->callers[i].rate;
        adp_rate_init(r, r->per_second, r->burst);
    }
    cfg->callers_ready = true;
    *out = cfg;
    cfg = NULL;
    rc = XR_OK;
out:
    free(st.clines);
    adp_config_free(cfg);
    return rc;
}

enum xr_status adp_config_load_string(const char *path, const char *text,
                                      struct adp_config **out,
                                      adp_config_problem_fn *problem_fn,
                                      void *ctx, struct xr_error *err)
{
    return load_text(path, text, strlen(text), out, problem_fn, ctx, err);
}

enum xr_status adp_config_load(const char *path, struct adp_config **out,
                               adp_config_problem_fn *problem_fn, void *ctx,
                               struct xr_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    enum xr_status rc;

    *out = NULL;
    rc = adp_file_read(path, ADP_CONFIG_FILE_MAX, &buf, &len, err);
    if (rc != XR_OK) {
        if (problem_fn)
            problem_fn(ctx, path, 0, "", err ? err->msg : "cannot read");
        goto out;
    }
    rc = load_text(path, (const char *)buf, len, out, problem_fn, ctx, err);
out:
    free(buf);
    return rc;
}

void adp_config_free(struct adp_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->dir);
    free(cfg->ss.url);
    free(cfg->ss.ca_file);
    free(cfg->ss.client_cert);
    free(cfg->ss.client_key);
    free(cfg->ss.client_key_passphrase_file);
    adp_secret_free(cfg->ss.client_key_passphrase);
    free(cfg->vtj.username);
    adp_secret_free(cfg->vtj.password);
    free(cfg->vtj.password_file);
    free(cfg->vtj.password_env);
    free(cfg->vtj.product);
    free(cfg->audit.path);
    free(cfg->audit.checkpoint_file);
    free(cfg->audit.checkpoint_key);
    free(cfg->listen.address);
    free(cfg->listen.unix_socket);
    free(cfg->listen.tls_cert);
    free(cfg->listen.tls_key);
    free(cfg->listen.client_ca);
    free(cfg->listen.client_crl);
    free(cfg->listen.tls_ciphers);
    free(cfg->listen.tls_ciphersuites);
    for (size_t i = 0; cfg->callers_ready && i < cfg->ncallers; i++)
        adp_rate_cleanup(&cfg->callers[i].rate);
    for (size_t i = 0; cfg->callers && i < cfg->ncallers; i++)
        free(cfg->callers[i].services);
    if (cfg->callers)
        OPENSSL_cleanse(cfg->callers, cfg->ncallers * sizeof(*cfg->callers));
    free(cfg->callers);
    OPENSSL_cleanse(cfg, sizeof(*cfg));
    free(cfg);
}

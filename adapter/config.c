/*
 * vayla.conf: table-driven inih parser, validation, secrets and file checks.
 *
 * inih does the INI tokenising; our own line reader (ini_parse_stream)
 * feeds it one line at a time, which gives exact line numbers for every
 * problem, lets us report all syntax errors (inih only returns the first)
 * and rejects constructs that would silently change meaning (over-long
 * lines, which inih would split, and indented continuation lines).
 */
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ini.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "services/vtj.h"
#include "util.h"

#define SECTION_MAX        64
#define ADP_CONFIG_PEM_MAX (1024u * 1024u) /* certificate / key files */
#define VALUE_ECHO_MAX     64 /* bytes of a bad value quoted in a problem */
#define REASON_MAX         512

enum key_type {
    KT_TEXT,       /* char *: 1..ADP_CONFIG_TEXT_MAX printable bytes */
    KT_PATH,       /* char *: resolved against the config directory */
    KT_BOOL,       /* bool */
    KT_LONG,       /* long within [min, max] */
    KT_SIZE,       /* size_t within [min, max] */
    KT_UINT,       /* unsigned within [min, max] */
    KT_CLIENT_ID,  /* struct xr_id: MEMBER or SUBSYSTEM */
    KT_SERVER_ID,  /* struct xr_id: SERVER */
    KT_SERVICE_ID, /* struct xr_id: SERVICE */
    KT_URL,        /* char *: http(s) URL to the security server */
    KT_SHA256,     /* uint8_t[32] from hex with optional ':' */
    KT_ENVNAME,    /* char *: environment variable name */
    KT_ADDRESS,    /* char *: IPv4 or IPv6 literal */
    KT_OCTAL,      /* unsigned file mode, octal, within [min, max] */
    KT_LOGLEVEL,   /* enum adp_log_level */
    KT_DOUBLE,     /* double within [min, max] */
    KT_SUBJECT,    /* char[ADP_CALLER_SUBJECT_MAX + 1] */
    KT_OPS,        /* unsigned enum adp_op bits, comma-separated names */
    KT_PRODUCTS    /* caller products: comma-separated list */
};

enum key_scope {
    SC_CONFIG, /* offset into struct adp_config */
    SC_CALLER  /* offset into struct adp_caller ([caller.NAME]) */
};

#define NO_HAS ((size_t)-1)

struct key_def {
    const char *section; /* "caller" for every [caller.NAME] */
    const char *key;
    enum key_type type;
    enum key_scope scope;
    size_t offset;     /* of the value, in the scope's struct */
    size_t has_offset; /* of a bool set when the key is given, or NO_HAS */
    long long min, max;
    bool required;
};

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

static const char *const sections[] = {"xroad", "security_server", "vtj",
                                       "audit", "listen",          "api"};
#define NSECTIONS  (sizeof(sections) / sizeof(sections[0]))
#define SEC_CALLER ((int)NSECTIONS) /* cur_section of a [caller.NAME] */

#define CALLER_PREFIX "caller."

/* Parse-time bookkeeping of one [caller.NAME] section. */
struct caller_lines {
    unsigned section;    /* line of the section header */
    unsigned key[NKEYS]; /* 0 = not set */
};

static const struct {
    const char *name;
    enum adp_op op;
} op_names[] = {{"vtj_person", ADP_OP_VTJ_PERSON}};

struct parse_state {
    struct adp_config *cfg;
    const char *path;
    adp_config_problem_fn *problem;
    void *ctx;
    unsigned nproblems;
    bool oom;

    /* line reader over the whole text */
    const char *text;
    size_t pos, len;
    unsigned lineno;
    bool line_bad; /* current line already reported: ignore it */

    int cur_section; /* index into sections[], SEC_CALLER, -1 unknown */
    unsigned section_line[NSECTIONS];
    unsigned key_line[NKEYS];    /* SC_CONFIG keys; 0 = not set */
    size_t cur_caller;           /* with SEC_CALLER: index into cfg->callers */
    struct caller_lines *clines; /* owned, parallel to cfg->callers */
};

static void problem(struct parse_state *st, unsigned line, const char *key,
                    const char *fmt, ...) XR_PRINTF(4, 5);

static void problem(struct parse_state *st, unsigned line, const char *key,
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

static int section_index(const char *name)
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
static size_t key_index(const char *section, const char *key)
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

/* Quote at most VALUE_ECHO_MAX bytes of a (non-secret) value. */
static const char *echo(char *buf, size_t size, const char *value)
{
    size_t n = strlen(value);
    size_t j = 0;

    for (size_t i = 0; i < n && i < VALUE_ECHO_MAX && j + 2 < size; i++) {
        unsigned char c = (unsigned char)value[i];
        buf[j++] = (c >= 0x20 && c != 0x7f) ? (char)c : '?';
    }
    if (n > VALUE_ECHO_MAX && j + 4 < size) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = '\0';
    return buf;
}

static bool has_control(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

static char *dup_or_oom(struct parse_state *st, const char *s)
{
    char *d = strdup(s);

    if (!d)
        st->oom = true;
    return d;
}

/* Absolute form of `value`: as is when absolute, else dir + "/" + value. */
static char *resolve_path(struct parse_state *st, const char *value)
{
    size_t n;
    char *out;

    if (value[0] == '/')
        return dup_or_oom(st, value);
    n = strlen(st->cfg->dir) + 1 + strlen(value) + 1;
    out = malloc(n);
    if (!out) {
        st->oom = true;
        return NULL;
    }
    snprintf(out, n, "%s/%s", st->cfg->dir, value);
    return out;
}

/* Decimal digits only (no sign, no spaces, no suffix). */
static bool parse_num(const char *s, long long min, long long max,
                      long long *out)
{
    char *end = NULL;
    unsigned long long v;

    if (!isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > (unsigned long long)max ||
        (long long)v < min)
        return false;
    *out = (long long)v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool valid_envname(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (; *s; s++) {
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    }
    return true;
}

/* http(s)://host[:port][/path]: no credentials, query or fragment. */
static bool check_url(const char *value, bool *https, char *why, size_t size)
{
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL;
    char *query = NULL, *frag = NULL;
    bool ok = false;
    CURLUcode uc;

    if (strlen(value) > ADP_CONFIG_URL_MAX) {
        snprintf(why, size, "URL longer than %u bytes", ADP_CONFIG_URL_MAX);
        goto out;
    }
    if (strncasecmp(value, "http://", 7) != 0 &&
        strncasecmp(value, "https://", 8) != 0) {
        snprintf(why, size, "must start with http:// or https://");
        goto out;
    }
    u = curl_url();
    if (!u) {
        snprintf(why, size, "out of memory");
        goto out;
    }
    uc = curl_url_set(u, CURLUPART_URL, value, 0);
    if (uc != CURLUE_OK) {
        snprintf(why, size, "not a valid URL: %s", curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        host[0] == '\0') {
        snprintf(why, size, "URL has no host");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        snprintf(why, size, "credentials in the URL are not allowed");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
        snprintf(why, size, "a query or fragment is not allowed");
        goto out;
    }
    *https = strcasecmp(scheme, "https") == 0;
    ok = true;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(pass);
    curl_free(query);
    curl_free(frag);
    curl_url_cleanup(u);
    return ok;
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
        problem(st, st->lineno, sec,
                "caller name must be 1..%u characters of A-Z a-z 0-9 _ - .",
                ADP_CALLER_NAME_MAX);
        return false;
    }
    for (size_t i = 0; i < cfg->ncallers; i++) {
        if (strcmp(cfg->callers[i].name, name) == 0) {
            problem(st, st->lineno, sec, "duplicate section (first on line %u)",
                    st->clines[i].section);
            return false;
        }
    }
    if (cfg->ncallers >= ADP_CONFIG_CALLERS_MAX) {
        problem(st, st->lineno, sec, "more than %u callers",
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
        problem(st, st->lineno, "",
                "indented line: continuation lines are not supported");
        return false;
    }
    if (*p == '[') {
        end = strchr(p, ']');
        if (!end) {
            problem(st, st->lineno, "", "section header without ']'");
            st->cur_section = -1;
            return false;
        }
        n = (size_t)(end - p - 1);
        if (n == 0 || n >= sizeof(name)) {
            problem(st, st->lineno, "", "invalid section name");
            st->cur_section = -1;
            return false;
        }
        memcpy(name, p + 1, n);
        name[n] = '\0';
        if (strncmp(name, CALLER_PREFIX, strlen(CALLER_PREFIX)) == 0)
            return start_caller(st, name + strlen(CALLER_PREFIX));
        st->cur_section = section_index(name);
        if (st->cur_section < 0) {
            problem(st, st->lineno, name, "unknown section");
            return false;
        }
        if (st->section_line[st->cur_section] == 0)
            st->section_line[st->cur_section] = st->lineno;
        return true;
    }
    if (!strpbrk(p, "=:")) {
        problem(st, st->lineno, "", "expected 'key = value'");
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
        problem(st, st->lineno, "", "line longer than %d bytes", num - 1);
        st->line_bad = true;
        str[0] = '\0';
        return str;
    }
    memcpy(str, start, n);
    str[n] = '\0';
    if (memchr(str, '\0', n)) {
        problem(st, st->lineno, "", "NUL byte in line");
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

/* Split a comma-separated list; calls fn for each trimmed item. */
static bool split_list(const char *value, bool (*fn)(void *, const char *),
                       void *arg)
{
    char item[ADP_CONFIG_TEXT_MAX + 1];
    const char *p = value;

    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0 || n >= sizeof(item))
            return false;
        memcpy(item, p, n);
        item[n] = '\0';
        if (!fn(arg, item))
            return false;
        p = end ? end + 1 : p + strlen(p);
        if (end && *p == '\0')
            return false; /* trailing comma */
    }
    return true;
}

static bool add_op(void *arg, const char *name)
{
    unsigned *ops = arg;

    for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
        if (strcmp(op_names[i].name, name) == 0) {
            *ops |= (unsigned)op_names[i].op;
            return true;
        }
    }
    return false;
}

static bool add_product(void *arg, const char *name)
{
    struct adp_caller *c = arg;

    if (c->nproducts >= ADP_CALLER_PRODUCTS_MAX ||
        strlen(name) >= sizeof(c->products[0]) || has_control(name))
        return false;
    memcpy(c->products[c->nproducts++], name, strlen(name) + 1);
    return true;
}

static bool parse_double(const char *s, long long min, long long max,
                         double *out)
{
    char *end = NULL;
    double v;

    if (!isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < (double)min ||
        v > (double)max)
        return false;
    *out = v;
    return true;
}

/* Parse one value into its field. Returns false after reporting. */
static bool parse_value(struct parse_state *st, const struct key_def *k,
                        const char *kname, const char *value, void *field)
{
    char why[256], q[VALUE_ECHO_MAX + 8];
    struct xr_error err;
    unsigned char addr[sizeof(struct in6_addr)];
    long long num = 0;
    enum xr_status rc;

    switch (k->type) {
    case KT_TEXT:
        if (strlen(value) > ADP_CONFIG_TEXT_MAX || has_control(value)) {
            problem(st, st->lineno, kname,
                    "must be 1..%u bytes without control characters",
                    ADP_CONFIG_TEXT_MAX);
            return false;
        }
        free(*(char **)field);
        *(char **)field = dup_or_oom(st, value);
        return true;
    case KT_PATH:
        if (strlen(value) >= PATH_MAX || has_control(value)) {
            problem(st, st->lineno, kname, "invalid path");
            return false;
        }
        free(*(char **)field);
        *(char **)field = resolve_path(st, value);
        return true;
    case KT_ENVNAME:
        if (strlen(value) > ADP_CONFIG_TEXT_MAX || !valid_envname(value)) {
            problem(st, st->lineno, kname,
                    "'%s' is not an environment variable name",
                    echo(q, sizeof(q), value));
            return false;
        }
        free(*(char **)field);
        *(char **)field = dup_or_oom(st, value);
        return true;
    case KT_ADDRESS:
        if (inet_pton(AF_INET, value, addr) != 1 &&
            inet_pton(AF_INET6, value, addr) != 1) {
            problem(st, st->lineno, kname,
                    "'%s' is not an IPv4 or IPv6 address",
                    echo(q, sizeof(q), value));
            return false;
        }
        free(*(char **)field);
        *(char **)field = dup_or_oom(st, value);
        return true;
    case KT_BOOL:
        if (!parse_bool(value, (bool *)field)) {
            problem(st, st->lineno, kname,
                    "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
                    echo(q, sizeof(q), value));
            return false;
        }
        return true;
    case KT_LONG:
    case KT_SIZE:
    case KT_UINT:
        if (!parse_num(value, k->min, k->max, &num)) {
            problem(st, st->lineno, kname,
                    "'%s' is not a whole number in %lld..%lld",
                    echo(q, sizeof(q), value), k->min, k->max);
            return false;
        }
        if (k->type == KT_LONG)
            *(long *)field = (long)num;
        else if (k->type == KT_SIZE)
            *(size_t *)field = (size_t)num;
        else
            *(unsigned *)field = (unsigned)num;
        return true;
    case KT_OCTAL: {
        char *end = NULL;
        unsigned long v;
        errno = 0;
        v = strtoul(value, &end, 8);
        if (!isdigit((unsigned char)value[0]) || errno != 0 || *end != '\0' ||
            v > (unsigned long)k->max) {
            problem(st, st->lineno, kname,
                    "'%s' is not an octal file mode (e.g. 0660)",
                    echo(q, sizeof(q), value));
            return false;
        }
        *(unsigned *)field = (unsigned)v;
        return true;
    }
    case KT_DOUBLE:
        if (!parse_double(value, k->min, k->max, (double *)field)) {
            problem(st, st->lineno, kname, "'%s' is not a number in %lld..%lld",
                    echo(q, sizeof(q), value), k->min, k->max);
            return false;
        }
        return true;
    case KT_LOGLEVEL:
        if (!adp_log_level_parse(value, (enum adp_log_level *)field)) {
            problem(st, st->lineno, kname,
                    "'%s' is not a log level (err, warn, info, debug)",
                    echo(q, sizeof(q), value));
            return false;
        }
        return true;
    case KT_SUBJECT:
        if (strlen(value) > ADP_CALLER_SUBJECT_MAX || has_control(value)) {
            problem(st, st->lineno, kname,
                    "must be 1..%u bytes without control characters",
                    ADP_CALLER_SUBJECT_MAX);
            return false;
        }
        memcpy(field, value, strlen(value) + 1);
        return true;
    case KT_OPS:
        *(unsigned *)field = 0;
        if (!split_list(value, add_op, field)) {
            problem(st, st->lineno, kname,
                    "must be a comma-separated list of: vtj_person");
            *(unsigned *)field = 0; /* fail closed */
            return false;
        }
        return true;
    case KT_PRODUCTS: {
        struct adp_caller *c = &st->cfg->callers[st->cur_caller];
        c->nproducts = 0;
        if (!split_list(value, add_product, c)) {
            problem(st, st->lineno, kname,
                    "must be a comma-separated list of at most %u product "
                    "names of 1..100 bytes",
                    ADP_CALLER_PRODUCTS_MAX);
            c->nproducts = 0;
            c->ops = 0; /* fail closed: an unreadable restriction */
            return false;
        }
        return true;
    }
    case KT_CLIENT_ID:
    case KT_SERVER_ID:
    case KT_SERVICE_ID:
        xr_error_clear(&err);
        if (k->type == KT_CLIENT_ID)
            rc = xr_id_parse_client(value, (struct xr_id *)field, &err);
        else if (k->type == KT_SERVER_ID)
            rc = xr_id_parse_server(value, (struct xr_id *)field, &err);
        else
            rc = xr_id_parse_service(value, (struct xr_id *)field, &err);
        if (rc != XR_OK) {
            problem(st, st->lineno, kname, "invalid identifier: %s",
                    err.msg[0] ? err.msg : xr_strerror(rc));
            return false;
        }
        return true;
    case KT_URL:
        if (!check_url(value, &st->cfg->ss.https, why, sizeof(why))) {
            problem(st, st->lineno, kname, "%s", why);
            return false;
        }
        free(*(char **)field);
        *(char **)field = dup_or_oom(st, value);
        return true;
    case KT_SHA256:
        if (!adp_hex_decode(value, (uint8_t *)field, ADP_PIN_SHA256_LEN)) {
            problem(st, st->lineno, kname,
                    "must be a SHA-256 fingerprint: 64 hex digits, "
                    "optionally in colon-separated pairs");
            return false;
        }
        return true;
    }
    return false;
}

static void store_value(struct parse_state *st, const struct key_def *k,
                        const char *kname, const char *value)
{
    char *base = k->scope == SC_CALLER
                     ? (char *)&st->cfg->callers[st->cur_caller]
                     : (char *)st->cfg;

    if (value[0] == '\0') {
        problem(st, st->lineno, kname, "empty value");
        return;
    }
    if (!parse_value(st, k, kname, value, base + k->offset))
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
        problem(st, st->lineno, name, "key outside a section");
        return 1;
    }
    if (st->cur_section < 0)
        return 1; /* unknown section: reported once at its header */
    key_name(kname, sizeof(kname), section, name);
    k = key_find(st->cur_section == SEC_CALLER ? "caller" : section, name,
                 &idx);
    if (!k) {
        if (strcmp(name, "password") == 0)
            problem(st, st->lineno, kname,
                    "unknown key (never write secrets in this file: use "
                    "password_file or password_env)");
        else
            problem(st, st->lineno, kname, "unknown key");
        return 1;
    }
    line = k->scope == SC_CALLER ? &st->clines[st->cur_caller].key[idx]
                                 : &st->key_line[idx];
    if (*line != 0) {
        problem(st, st->lineno, kname, "duplicate key (first set on line %u)",
                *line);
        return 1;
    }
    *line = st->lineno;
    store_value(st, k, kname, value);
    return st->oom ? 0 : 1;
}

/* ---- secrets and files -------------------------------------------------- */

/*
 * Read a secret file: at most ADP_CONFIG_SECRET_MAX bytes, one trailing
 * newline removed, no other line breaks, not empty.
 */
static char *read_secret_file(struct parse_state *st, const char *path,
                              unsigned line, const char *kname)
{
    struct xr_error err;
    uint8_t *buf = NULL;
    size_t len = 0;
    char *out = NULL;

    xr_error_clear(&err);
    if (adp_file_read(path, ADP_CONFIG_SECRET_MAX, &buf, &len, &err) != XR_OK) {
        if (err.code == XR_ENOMEM)
            st->oom = true;
        problem(st, line, kname, "%s", err.msg);
        goto out;
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    if (len == 0) {
        problem(st, line, kname, "%s: the file is empty", path);
        goto out;
    }
    if (memchr(buf, '\n', len) || memchr(buf, '\r', len) ||
        strlen((char *)buf) != len) {
        problem(st, line, kname,
                "%s: must hold one line (no line breaks or NUL bytes)", path);
        goto out;
    }
    out = (char *)buf;
    buf = NULL;
out:
    if (buf) {
        OPENSSL_cleanse(buf, len);
        free(buf);
    }
    return out;
}

/* First OpenSSL error as text, and clear the queue. */
static const char *ssl_reason(char *buf, size_t size)
{
    unsigned long e = ERR_peek_last_error();

    if (e == 0)
        snprintf(buf, size, "no details");
    else
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
    return buf;
}

struct passphrase {
    const char *text; /* NULL: none configured */
};

static int passphrase_cb(char *buf, int size, int rwflag, void *u)
{
    const char *pass = ((const struct passphrase *)u)->text;
    size_t n;

    (void)rwflag;
    if (!pass || size <= 0)
        return -1;
    n = strlen(pass);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, pass, n);
    return (int)n;
}

/*
 * Read a PEM file (at most ADP_CONFIG_PEM_MAX bytes, so /dev/zero or a
 * huge file cannot stall the check) into a memory BIO.
 */
static BIO *open_pem(struct parse_state *st, const char *path, unsigned line,
                     const char *kname)
{
    struct xr_error err;
    uint8_t *buf = NULL;
    size_t len = 0;
    BIO *bio = NULL;

    xr_error_clear(&err);
    if (adp_file_read(path, ADP_CONFIG_PEM_MAX, &buf, &len, &err) != XR_OK) {
        if (err.code == XR_ENOMEM)
            st->oom = true;
        problem(st, line, kname, "%s", err.msg);
        goto out;
    }
    bio = BIO_new(BIO_s_mem());
    if (!bio || BIO_write(bio, buf, (int)len) != (int)len) {
        BIO_free(bio);
        bio = NULL;
        st->oom = true;
        goto out;
    }
out:
    if (buf) {
        OPENSSL_cleanse(buf, len); /* may be a private key */
        free(buf);
    }
    return bio;
}

/* A PEM file of trust anchors: at least one certificate. */
static void check_ca_file(struct parse_state *st, const char *path,
                          unsigned line, const char *kname)
{
    STACK_OF(X509_INFO) *infos = NULL;
    BIO *bio = NULL;
    int ncert = 0;
    char why[256];

    bio = open_pem(st, path, line, kname);
    if (!bio)
        goto out;
    infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    if (!infos) {
        problem(st, line, kname, "%s: not a PEM certificate file: %s", path,
                ssl_reason(why, sizeof(why)));
        goto out;
    }
    for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
        if (sk_X509_INFO_value(infos, i)->x509)
            ncert++;
    }
    if (ncert == 0)
        problem(st, line, kname, "%s: contains no certificate", path);
out:
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    BIO_free(bio);
    ERR_clear_error();
}

/*
 * A PEM certificate and its private key (kpath NULL: the key is in the
 * certificate file), optionally encrypted with `pass`; the key must match.
 */
static void check_cert_key(struct parse_state *st, const char *cpath,
                           unsigned cline, const char *ckey, const char *kpath,
                           unsigned kline, const char *kkey, const char *pass)
{
    struct passphrase pw = {pass};
    X509 *cert = NULL;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    char why[256];

    if (!kpath) {
        kpath = cpath;
        kline = cline;
        kkey = ckey;
    }
    bio = open_pem(st, cpath, cline, ckey);
    if (!bio)
        goto out;
    cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (!cert) {
        problem(st, cline, ckey, "%s: no PEM certificate: %s", cpath,
                ssl_reason(why, sizeof(why)));
        goto out;
    }
    BIO_free(bio);
    bio = open_pem(st, kpath, kline, kkey);
    if (!bio)
        goto out;
    /* Never an interactive prompt: a NULL passphrase fails instead. */
    pkey = PEM_read_bio_PrivateKey(bio, NULL, passphrase_cb, &pw);
    if (!pkey) {
        problem(st, kline, kkey, "%s: cannot load the private key (%s): %s",
                kpath,
                pass ? "wrong passphrase or not PEM"
                     : "not PEM, or encrypted and no passphrase configured",
                ssl_reason(why, sizeof(why)));
        goto out;
    }
    if (X509_check_private_key(cert, pkey) != 1)
        problem(st, kline, kkey, "%s: the key does not match %s", kpath, cpath);
out:
    EVP_PKEY_free(pkey);
    X509_free(cert);
    BIO_free(bio);
    ERR_clear_error();
}

static unsigned kline(const struct parse_state *st, const char *section,
                      const char *key)
{
    return st->key_line[key_index(section, key)];
}

static void check_ss(struct parse_state *st)
{
    struct adp_config_ss *ss = &st->cfg->ss;
    unsigned line;

    if (ss->url && ss->https && !ss->ca_file && !ss->has_pin)
        problem(st, kline(st, "security_server", "url"), "security_server.url",
                "an https URL needs ca_file or pin_sha256 (or both) to trust "
                "the security server");
    if (ss->client_key && !ss->client_cert)
        problem(st, kline(st, "security_server", "client_key"),
                "security_server.client_key", "client_key needs client_cert");
    line = kline(st, "security_server", "client_key_passphrase_file");
    if (ss->client_key_passphrase_file && !ss->client_cert)
        problem(st, line, "security_server.client_key_passphrase_file",
                "needs client_cert and client_key");
    if (ss->timeout_ms <= ss->connect_timeout_ms)
        problem(st, kline(st, "security_server", "timeout_ms"),
                "security_server.timeout_ms",
                "must be larger than connect_timeout_ms (%ld)",
                ss->connect_timeout_ms);
    if (ss->client_key_passphrase_file)
        ss->client_key_passphrase =
            read_secret_file(st, ss->client_key_passphrase_file, line,
                             "security_server.client_key_passphrase_file");
    if (ss->ca_file)
        check_ca_file(st, ss->ca_file, kline(st, "security_server", "ca_file"),
                      "security_server.ca_file");
    if (ss->client_cert &&
        (!ss->client_key_passphrase_file || ss->client_key_passphrase))
        check_cert_key(st, ss->client_cert,
                       kline(st, "security_server", "client_cert"),
                       "security_server.client_cert", ss->client_key,
                       kline(st, "security_server", "client_key"),
                       "security_server.client_key", ss->client_key_passphrase);
}

static void check_vtj(struct parse_state *st)
{
    struct adp_config_vtj *vtj = &st->cfg->vtj;
    unsigned line;

    if (!vtj->product)
        vtj->product = dup_or_oom(st, ADP_CONFIG_VTJ_PRODUCT_DEFAULT);
    if (vtj->password_file && vtj->password_env) {
        problem(st, kline(st, "vtj", "password_env"), "vtj.password_env",
                "password_file and password_env are mutually exclusive");
    } else if (vtj->password_file) {
        vtj->password = read_secret_file(st, vtj->password_file,
                                         kline(st, "vtj", "password_file"),
                                         "vtj.password_file");
    } else if (vtj->password_env) {
        const char *v = getenv(vtj->password_env);
        line = kline(st, "vtj", "password_env");
        if (!v || v[0] == '\0')
            problem(st, line, "vtj.password_env",
                    "environment variable %s is not set or empty",
                    vtj->password_env);
        else if (strlen(v) > ADP_CONFIG_SECRET_MAX || has_control(v))
            problem(st, line, "vtj.password_env",
                    "environment variable %s: longer than %u bytes or holds "
                    "control characters",
                    vtj->password_env, ADP_CONFIG_SECRET_MAX);
        else
            vtj->password = dup_or_oom(st, v);
    } else {
        problem(st, st->section_line[section_index("vtj")], "vtj.password_file",
                "one of password_file or password_env is required");
    }
    /* VTJ takes at most VTJ_CREDENTIAL_MAX bytes: refuse a longer secret
     * now rather than on every query. */
    if (vtj->password && strlen(vtj->password) > VTJ_CREDENTIAL_MAX)
        problem(st,
                kline(st, "vtj",
                      vtj->password_file ? "password_file" : "password_env"),
                vtj->password_file ? "vtj.password_file" : "vtj.password_env",
                "the VTJ password is longer than %d bytes", VTJ_CREDENTIAL_MAX);
    if (vtj->username && strlen(vtj->username) > VTJ_CREDENTIAL_MAX)
        problem(st, kline(st, "vtj", "username"), "vtj.username",
                "longer than %d bytes", VTJ_CREDENTIAL_MAX);
}

static void check_listen(struct parse_state *st)
{
    struct adp_config_listen *l = &st->cfg->listen;

    if (l->tls_cert && !l->tls_key)
        problem(st, kline(st, "listen", "tls_cert"), "listen.tls_cert",
                "tls_cert needs tls_key");
    if (l->tls_key && !l->tls_cert)
        problem(st, kline(st, "listen", "tls_key"), "listen.tls_key",
                "tls_key needs tls_cert");
    if (l->tls_cert && !l->address)
        problem(st, kline(st, "listen", "tls_cert"), "listen.tls_cert",
                "TLS is served on the TCP listener: set address");
    if (l->client_ca && !l->tls_cert)
        problem(st, kline(st, "listen", "client_ca"), "listen.client_ca",
                "client_ca needs tls_cert and tls_key");
    if (kline(st, "listen", "require_client_cert") && l->require_client_cert &&
        !l->client_ca)
        problem(st, kline(st, "listen", "require_client_cert"),
                "listen.require_client_cert", "needs client_ca");
    if (l->tls_cert && l->tls_key)
        check_cert_key(st, l->tls_cert, kline(st, "listen", "tls_cert"),
                       "listen.tls_cert", l->tls_key,
                       kline(st, "listen", "tls_key"), "listen.tls_key", NULL);
    if (l->client_ca)
        check_ca_file(st, l->client_ca, kline(st, "listen", "client_ca"),
                      "listen.client_ca");
}

static void check_callers(struct parse_state *st)
{
    char sec[SECTION_MAX + 16];

    for (size_t i = 0; i < st->cfg->ncallers; i++) {
        const struct adp_caller *c = &st->cfg->callers[i];
        snprintf(sec, sizeof(sec), CALLER_PREFIX "%s", c->name);
        if (!c->has_token && !c->has_cert_sha256 && !c->cert_subject[0] &&
            !c->has_unix_uid && !c->has_unix_gid)
            problem(st, st->clines[i].section, sec,
                    "a caller needs token_sha256, cert_sha256, cert_subject, "
                    "unix_uid or unix_gid");
    }
}

/* Rules that involve more than one key, then secrets and files. */
static void check_all(struct parse_state *st)
{
    char kname[SECTION_MAX + 64];

    for (size_t i = 0; i < NKEYS; i++) {
        int s = section_index(keys[i].section);
        if (!keys[i].required || keys[i].scope != SC_CONFIG ||
            st->key_line[i] != 0)
            continue;
        problem(st, s >= 0 ? st->section_line[s] : 0,
                key_name(kname, sizeof(kname), keys[i].section, keys[i].key),
                "required key is missing");
    }
    check_ss(st);
    check_vtj(st);
    check_listen(st);
    check_callers(st);
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
    cfg->listen.port = ADP_CONFIG_LISTEN_PORT_DEFAULT;
    cfg->listen.unix_mode = ADP_CONFIG_UNIX_MODE_DEFAULT;
    cfg->listen.require_client_cert = true;
    cfg->api.max_connections = ADP_CONFIG_MAX_CONNECTIONS_DEFAULT;
    cfg->api.max_in_flight = ADP_CONFIG_MAX_IN_FLIGHT_DEFAULT;
    cfg->api.retry_after_s = ADP_CONFIG_RETRY_AFTER_S_DEFAULT;
    cfg->api.drain_timeout_ms = ADP_CONFIG_DRAIN_TIMEOUT_MS_DEFAULT;
    cfg->api.max_body_bytes = ADP_CONFIG_MAX_BODY_BYTES_DEFAULT;
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
    if (!st.oom)
        check_all(&st);
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
    free(cfg->listen.address);
    free(cfg->listen.unix_socket);
    free(cfg->listen.tls_cert);
    free(cfg->listen.tls_key);
    free(cfg->listen.client_ca);
    for (size_t i = 0; cfg->callers_ready && i < cfg->ncallers; i++)
        adp_rate_cleanup(&cfg->callers[i].rate);
    if (cfg->callers)
        OPENSSL_cleanse(cfg->callers, cfg->ncallers * sizeof(*cfg->callers));
    free(cfg->callers);
    OPENSSL_cleanse(cfg, sizeof(*cfg));
    free(cfg);
}

/*
 * vayla.conf values: each key type's parser (text, paths, booleans,
 * numbers, file modes, log levels, X-Road identifiers, URLs, fingerprints,
 * lists) and the message that names a bad value. A value is quoted in a
 * message only when it cannot be a secret, and then at most
 * VALUE_ECHO_MAX bytes of it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "config_internal.h"
#include "util.h"

#define VALUE_ECHO_MAX 64 /* bytes of a bad value quoted in a problem */

static const struct {
    const char *name;
    enum adp_op op;
} op_names[] = {{"vtj_person", ADP_OP_VTJ_PERSON},
                {"xroad_soap", ADP_OP_XROAD_SOAP},
                {"audit", ADP_OP_AUDIT}};

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

bool adp__config_has_control(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

char *adp__config_dup_or_oom(struct parse_state *st, const char *s)
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
        return adp__config_dup_or_oom(st, value);
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
        strlen(name) >= sizeof(c->products[0]) || adp__config_has_control(name))
        return false;
    memcpy(c->products[c->nproducts++], name, strlen(name) + 1);
    return true;
}

/* One service id of a `services` list, appended to the caller's. */
static bool add_service(void *arg, const char *text)
{
    struct adp_caller *c = arg;
    struct xr_id id, *grown;
    struct xr_error err;

    if (c->nservices >= ADP_CALLER_SERVICES_MAX ||
        xr_id_parse_service(text, &id, &err) != XR_OK || !id.subsystem_code[0])
        return false;
    grown = realloc(c->services, (c->nservices + 1) * sizeof(*grown));
    if (!grown)
        return false;
    c->services = grown;
    c->services[c->nservices++] = id;
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

/* Octal digits only, at most max (a file mode). */
static bool parse_octal(const char *s, long long max, unsigned *out)
{
    char *end = NULL;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 8);
    if (!isdigit((unsigned char)s[0]) || errno != 0 || *end != '\0' ||
        v > (unsigned long)max)
        return false;
    *out = (unsigned)v;
    return true;
}

/*
 * A key kept as an owned string (KT_TEXT, KT_PATH, KT_ENVNAME, KT_ADDRESS,
 * KT_URL): check the value by its type, then replace the old copy (a path
 * is stored resolved). Returns false after reporting.
 */
static bool parse_string(struct parse_state *st, const struct key_def *k,
                         const char *kname, const char *value, char **field)
{
    char why[256], q[VALUE_ECHO_MAX + 8];
    unsigned char addr[sizeof(struct in6_addr)];
    char *copy;

    if (k->type == KT_TEXT && (strlen(value) > ADP_CONFIG_TEXT_MAX ||
                               adp__config_has_control(value))) {
        adp__config_problem(st, st->lineno, kname,
                            "must be 1..%u bytes without control characters",
                            ADP_CONFIG_TEXT_MAX);
        return false;
    }
    if (k->type == KT_PATH &&
        (strlen(value) >= PATH_MAX || adp__config_has_control(value))) {
        adp__config_problem(st, st->lineno, kname, "invalid path");
        return false;
    }
    if (k->type == KT_ENVNAME &&
        (strlen(value) > ADP_CONFIG_TEXT_MAX || !valid_envname(value))) {
        adp__config_problem(st, st->lineno, kname,
                            "'%s' is not an environment variable name",
                            echo(q, sizeof(q), value));
        return false;
    }
    if (k->type == KT_ADDRESS && inet_pton(AF_INET, value, addr) != 1 &&
        inet_pton(AF_INET6, value, addr) != 1) {
        adp__config_problem(st, st->lineno, kname,
                            "'%s' is not an IPv4 or IPv6 address",
                            echo(q, sizeof(q), value));
        return false;
    }
    if (k->type == KT_URL &&
        !check_url(value, &st->cfg->ss.https, why, sizeof(why))) {
        adp__config_problem(st, st->lineno, kname, "%s", why);
        return false;
    }
    copy = k->type == KT_PATH ? resolve_path(st, value)
                              : adp__config_dup_or_oom(st, value);
    free(*field);
    *field = copy;
    return true;
}

/* KT_OPS, KT_PRODUCTS and KT_SERVICES: comma-separated lists, which fail
 * closed. */
static bool parse_list(struct parse_state *st, const struct key_def *k,
                       const char *kname, const char *value, void *field)
{
    struct adp_caller *c;

    if (k->type == KT_OPS) {
        *(unsigned *)field = 0;
        if (!split_list(value, add_op, field)) {
            adp__config_problem(
                st, st->lineno, kname,
                "must be a comma-separated list of: vtj_person, "
                "xroad_soap, audit");
            *(unsigned *)field = 0; /* fail closed */
            return false;
        }
        return true;
    }
    c = &st->cfg->callers[st->cur_caller];
    if (k->type == KT_SERVICES) {
        /* Repeatable: each line adds (a long list does not fit in one of
         * inih's lines). */
        if (!split_list(value, add_service, c)) {
            adp__config_problem(st, st->lineno, kname,
                                "must be a comma-separated list of service "
                                "ids INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE"
                                "[/VERSION], at most %u in all",
                                ADP_CALLER_SERVICES_MAX);
            c->ops &= ~(unsigned)ADP_OP_XROAD_SOAP; /* fail closed */
            return false;
        }
        return true;
    }
    c->nproducts = 0;
    if (!split_list(value, add_product, c)) {
        adp__config_problem(st, st->lineno, kname,
                            "must be a comma-separated list of at most %u "
                            "product names of 1..100 bytes",
                            ADP_CALLER_PRODUCTS_MAX);
        c->nproducts = 0;
        c->ops = 0; /* fail closed: an unreadable restriction */
        return false;
    }
    return true;
}

/* KT_CLIENT_ID, KT_SERVER_ID, KT_SERVICE_ID: an X-Road identifier. */
static bool parse_id(struct parse_state *st, const struct key_def *k,
                     const char *kname, const char *value, struct xr_id *field)
{
    struct xr_error err;
    enum xr_status rc;

    xr_error_clear(&err);
    if (k->type == KT_CLIENT_ID)
        rc = xr_id_parse_client(value, field, &err);
    else if (k->type == KT_SERVER_ID)
        rc = xr_id_parse_server(value, field, &err);
    else
        rc = xr_id_parse_service(value, field, &err);
    if (rc != XR_OK) {
        adp__config_problem(st, st->lineno, kname, "invalid identifier: %s",
                            err.msg[0] ? err.msg : xr_strerror(rc));
        return false;
    }
    return true;
}

bool adp__config_parse_value(struct parse_state *st, const struct key_def *k,
                             const char *kname, const char *value, void *field)
{
    char q[VALUE_ECHO_MAX + 8];
    long long num = 0;

    switch (k->type) {
    case KT_TEXT:
    case KT_PATH:
    case KT_ENVNAME:
    case KT_ADDRESS:
    case KT_URL:
        return parse_string(st, k, kname, value, (char **)field);
    case KT_BOOL:
        if (!parse_bool(value, (bool *)field)) {
            adp__config_problem(
                st, st->lineno, kname,
                "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
                echo(q, sizeof(q), value));
            return false;
        }
        return true;
    case KT_LONG:
    case KT_SIZE:
    case KT_UINT:
        if (!parse_num(value, k->min, k->max, &num)) {
            adp__config_problem(st, st->lineno, kname,
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
    case KT_OCTAL:
        if (!parse_octal(value, k->max, (unsigned *)field)) {
            adp__config_problem(st, st->lineno, kname,
                                "'%s' is not an octal file mode (e.g. 0660)",
                                echo(q, sizeof(q), value));
            return false;
        }
        return true;
    case KT_DOUBLE:
        if (!parse_double(value, k->min, k->max, (double *)field)) {
            adp__config_problem(st, st->lineno, kname,
                                "'%s' is not a number in %lld..%lld",
                                echo(q, sizeof(q), value), k->min, k->max);
            return false;
        }
        return true;
    case KT_LOGLEVEL:
        if (!adp_log_level_parse(value, (enum adp_log_level *)field)) {
            adp__config_problem(
                st, st->lineno, kname,
                "'%s' is not a log level (err, warn, info, debug)",
                echo(q, sizeof(q), value));
            return false;
        }
        return true;
    case KT_SUBJECT:
        if (strlen(value) > ADP_CALLER_SUBJECT_MAX ||
            adp__config_has_control(value)) {
            adp__config_problem(
                st, st->lineno, kname,
                "must be 1..%u bytes without control characters",
                ADP_CALLER_SUBJECT_MAX);
            return false;
        }
        memcpy(field, value, strlen(value) + 1);
        return true;
    case KT_OPS:
    case KT_PRODUCTS:
    case KT_SERVICES:
        return parse_list(st, k, kname, value, field);
    case KT_CLIENT_ID:
    case KT_SERVER_ID:
    case KT_SERVICE_ID:
        return parse_id(st, k, kname, value, (struct xr_id *)field);
    case KT_SHA256:
        if (!adp_hex_decode(value, (uint8_t *)field, ADP_PIN_SHA256_LEN)) {
            adp__config_problem(st, st->lineno, kname,
                                "must be a SHA-256 fingerprint: 64 hex "
                                "digits, optionally in colon-separated pairs");
            return false;
        }
        return true;
    }
    return false;
}

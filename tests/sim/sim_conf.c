/*
 * sim.conf: INI parsed with inih. See docs/simulator.md for the keys.
 * Unknown sections and keys are errors, reported as "path:line: key:
 * reason". Relative paths are relative to the config file's directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>
#include <openssl/crypto.h>

#include "sim.h"

struct parse_ctx {
    struct sim_conf *conf;
    char key[80];     /* first offending key */
    char reason[200]; /* and why */
};

static int fail(struct parse_ctx *ctx, const char *section, const char *key,
                const char *reason)
{
    if (ctx->reason[0] == '\0') {
        snprintf(ctx->key, sizeof(ctx->key), "%s.%s", section, key);
        sim_strlcpy(ctx->reason, reason, sizeof(ctx->reason));
    }
    return 0; /* inih: error on this line */
}

/* Resolve a path relative to the config file's directory. */
static int set_path(struct sim_conf *conf, char *dst, const char *value)
{
    int n;

    if (value[0] == '/' || conf->dir[0] == '\0')
        n = snprintf(dst, SIM_PATH_MAX, "%s", value);
    else
        n = snprintf(dst, SIM_PATH_MAX, "%s/%s", conf->dir, value);
    return (n < 0 || n >= SIM_PATH_MAX) ? -1 : 0;
}

static int set_port(const char *value, int *port)
{
    long v;

    if (sim_parse_long(value, -1, 65535, &v) != 0)
        return -1;
    *port = (int)v;
    return 0;
}

static int read_secret_file(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return -1;
    n = fread(out, 1, size - 1, f);
    if (ferror(f) || (n == size - 1 && fgetc(f) != EOF)) {
        fclose(f);
        OPENSSL_cleanse(out, size);
        return -1;
    }
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return 0;
}

static int sim_section(struct parse_ctx *ctx, const char *key,
                       const char *value)
{
    struct sim_conf *conf = ctx->conf;
    long v;

    if (!strcmp(key, "listen")) {
        if (strlen(value) >= sizeof(conf->listen))
            return fail(ctx, "sim", key, "too long");
        sim_strlcpy(conf->listen, value, sizeof(conf->listen));
    } else if (!strcmp(key, "https_port")) {
        if (set_port(value, &conf->https_port) != 0)
            return fail(ctx, "sim", key, "not a port (-1 = off, 0 = any)");
    } else if (!strcmp(key, "http_port")) {
        if (set_port(value, &conf->http_port) != 0)
            return fail(ctx, "sim", key, "not a port (-1 = off, 0 = any)");
    } else if (!strcmp(key, "control_port")) {
        if (set_port(value, &conf->control_port) != 0)
            return fail(ctx, "sim", key, "not a port (-1 = off, 0 = any)");
    } else if (!strcmp(key, "cert")) {
        if (set_path(conf, conf->cert_file, value) != 0)
            return fail(ctx, "sim", key, "path too long");
    } else if (!strcmp(key, "key")) {
        if (set_path(conf, conf->key_file, value) != 0)
            return fail(ctx, "sim", key, "path too long");
    } else if (!strcmp(key, "dataset")) {
        if (set_path(conf, conf->dataset_file, value) != 0)
            return fail(ctx, "sim", key, "path too long");
    } else if (!strcmp(key, "message_log")) {
        if (set_path(conf, conf->msglog_dir, value) != 0)
            return fail(ctx, "sim", key, "path too long");
    } else if (!strcmp(key, "fault")) {
        struct sim_fault f;
        char why[160];
        if (sim_fault_parse(value, &f, why, sizeof(why)) != 0)
            return fail(ctx, "sim", key, why);
        sim_strlcpy(conf->fault, value, sizeof(conf->fault));
    } else if (!strcmp(key, "error_style")) {
        if (!strcmp(value, "camel"))
            conf->style = SIM_STYLE_CAMEL;
        else if (!strcmp(value, "snake"))
            conf->style = SIM_STYLE_SNAKE;
        else
            return fail(ctx, "sim", key, "must be camel (7.x) or snake (7.8)");
    } else if (!strcmp(key, "max_body_bytes")) {
        if (sim_parse_long(value, 1024, 256L * 1024 * 1024, &v) != 0)
            return fail(ctx, "sim", key, "must be 1024..268435456");
        conf->max_body_bytes = (size_t)v;
    } else if (!strcmp(key, "security_server")) {
        struct xr_error err;
        if (xr_id_parse_server(value, &conf->security_server, &err) != XR_OK)
            return fail(ctx, "sim", key, err.msg);
        conf->has_security_server = true;
    } else if (!strcmp(key, "opmon_offset_seconds")) {
        if (sim_parse_long(value, 0, 86400, &v) != 0)
            return fail(ctx, "sim", key, "must be 0..86400");
        conf->opmon_offset_s = v;
    } else if (!strcmp(key, "opmon_max_records")) {
        if (sim_parse_long(value, 1, 1000000, &v) != 0)
            return fail(ctx, "sim", key, "must be 1..1000000");
        conf->opmon_max_records = (size_t)v;
    } else if (!strcmp(key, "opmon_keep")) {
        if (sim_parse_long(value, 1, 1000000, &v) != 0)
            return fail(ctx, "sim", key, "must be 1..1000000");
        conf->opmon_keep = (size_t)v;
    } else {
        return fail(ctx, "sim", key, "unknown key");
    }
    return 1;
}

static struct sim_client *client_for(struct sim_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->nclients; i++)
        if (!strcmp(conf->clients[i].name, name))
            return &conf->clients[i];
    if (conf->nclients >= SIM_MAX_CLIENTS || strlen(name) >= SIM_NAME_MAX)
        return NULL;
    struct sim_client *c = &conf->clients[conf->nclients++];
    memset(c, 0, sizeof(*c));
    sim_strlcpy(c->name, name, sizeof(c->name));
    c->conntype = SIM_CONN_SSLAUTH; /* X-Road default for new clients */
    return c;
}

static struct sim_service *service_for(struct sim_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->nservices; i++)
        if (!strcmp(conf->services[i].name, name))
            return &conf->services[i];
    if (conf->nservices >= SIM_MAX_SERVICES || strlen(name) >= SIM_NAME_MAX)
        return NULL;
    struct sim_service *s = &conf->services[conf->nservices++];
    memset(s, 0, sizeof(*s));
    sim_strlcpy(s->name, name, sizeof(s->name));
    s->kind = SIM_SERVICE_VTJ;
    return s;
}

static int client_section(struct parse_ctx *ctx, const char *section,
                          const char *key, const char *value)
{
    struct sim_client *c = client_for(ctx->conf, section + 7);
    struct xr_error err;

    if (!c)
        return fail(ctx, section, key, "too many clients or name too long");
    if (!strcmp(key, "id")) {
        if (xr_id_parse_client(value, &c->id, &err) != XR_OK)
            return fail(ctx, section, key, err.msg);
    } else if (!strcmp(key, "connection")) {
        if (!strcmp(value, "NOSSL"))
            c->conntype = SIM_CONN_NOSSL;
        else if (!strcmp(value, "SSLNOAUTH"))
            c->conntype = SIM_CONN_SSLNOAUTH;
        else if (!strcmp(value, "SSLAUTH"))
            c->conntype = SIM_CONN_SSLAUTH;
        else
            return fail(ctx, section, key,
                        "must be NOSSL, SSLNOAUTH or SSLAUTH");
    } else if (!strcmp(key, "cert_sha256")) {
        if (c->ncerts >= SIM_MAX_CERTS)
            return fail(ctx, section, key, "too many certificates");
        if (sim_tls_parse_fingerprint(value, c->certs[c->ncerts]) != 0)
            return fail(ctx, section, key,
                        "not a SHA-256 fingerprint (64 hex digits)");
        c->ncerts++;
    } else {
        return fail(ctx, section, key, "unknown key");
    }
    return 1;
}

static int service_section(struct parse_ctx *ctx, const char *section,
                           const char *key, const char *value)
{
    struct sim_service *s = service_for(ctx->conf, section + 8);
    struct xr_error err;

    if (!s)
        return fail(ctx, section, key, "too many services or name too long");
    if (!strcmp(key, "id")) {
        if (xr_id_parse_service(value, &s->id, &err) != XR_OK)
            return fail(ctx, section, key, err.msg);
    } else if (!strcmp(key, "type")) {
        if (!strcmp(value, "vtj"))
            s->kind = SIM_SERVICE_VTJ;
        else if (!strcmp(value, "echo"))
            s->kind = SIM_SERVICE_ECHO;
        else
            return fail(ctx, section, key, "must be vtj or echo");
    } else if (!strcmp(key, "wsdl")) {
        if (set_path(ctx->conf, s->wsdl_file, value) != 0)
            return fail(ctx, section, key, "path too long");
    } else if (!strcmp(key, "allow")) {
        if (s->nallow >= SIM_MAX_ALLOW)
            return fail(ctx, section, key, "too many access rights");
        if (xr_id_parse_client(value, &s->allow[s->nallow], &err) != XR_OK)
            return fail(ctx, section, key, err.msg);
        s->nallow++;
    } else {
        return fail(ctx, section, key, "unknown key");
    }
    return 1;
}

static struct sim_member *member_for(struct sim_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->nmembers; i++)
        if (!strcmp(conf->members[i].name, name))
            return &conf->members[i];
    if (conf->nmembers >= SIM_MAX_MEMBERS || strlen(name) >= SIM_NAME_MAX)
        return NULL;
    struct sim_member *m = &conf->members[conf->nmembers++];
    memset(m, 0, sizeof(*m));
    sim_strlcpy(m->name, name, sizeof(m->name));
    return m;
}

static int member_section(struct parse_ctx *ctx, const char *section,
                          const char *key, const char *value)
{
    struct sim_member *m = member_for(ctx->conf, section + 7);
    struct xr_error err;

    if (!m)
        return fail(ctx, section, key, "too many members or name too long");
    if (!strcmp(key, "id")) {
        if (xr_id_parse_client(value, &m->id, &err) != XR_OK)
            return fail(ctx, section, key, err.msg);
    } else if (!strcmp(key, "name") || !strcmp(key, "subsystem_name")) {
        char *dst = key[0] == 'n' ? m->display_name : m->subsystem_name;
        if (strlen(value) >= SIM_TEXT_MAX)
            return fail(ctx, section, key, "too long");
        sim_strlcpy(dst, value, SIM_TEXT_MAX);
    } else {
        return fail(ctx, section, key, "unknown key");
    }
    return 1;
}

static int vtj_section(struct parse_ctx *ctx, const char *key,
                       const char *value)
{
    struct sim_conf *conf = ctx->conf;
    char path[SIM_PATH_MAX];

    if (!strcmp(key, "username")) {
        if (strlen(value) >= sizeof(conf->vtj_username))
            return fail(ctx, "vtj", key, "too long");
        sim_strlcpy(conf->vtj_username, value, sizeof(conf->vtj_username));
    } else if (!strcmp(key, "password")) {
        if (strlen(value) >= sizeof(conf->vtj_password))
            return fail(ctx, "vtj", key, "too long");
        sim_strlcpy(conf->vtj_password, value, sizeof(conf->vtj_password));
    } else if (!strcmp(key, "password_file")) {
        if (set_path(conf, path, value) != 0)
            return fail(ctx, "vtj", key, "path too long");
        if (read_secret_file(path, conf->vtj_password,
                             sizeof(conf->vtj_password)) != 0)
            return fail(ctx, "vtj", key, "cannot read (or too long)");
    } else {
        return fail(ctx, "vtj", key, "unknown key");
    }
    return 1;
}

static int handler(void *user, const char *section, const char *key,
                   const char *value)
{
    struct parse_ctx *ctx = user;

    if (!strcmp(section, "sim"))
        return sim_section(ctx, key, value);
    if (!strncmp(section, "client.", 7) && section[7])
        return client_section(ctx, section, key, value);
    if (!strncmp(section, "service.", 8) && section[8])
        return service_section(ctx, section, key, value);
    if (!strncmp(section, "member.", 7) && section[7])
        return member_section(ctx, section, key, value);
    if (!strcmp(section, "vtj"))
        return vtj_section(ctx, key, value);
    if (!strcmp(section, "asic")) {
        char why[160];
        if (sim_asic_conf_set(ctx->conf, key, value, why, sizeof(why)) != 0)
            return fail(ctx, section, key, why);
        return 1;
    }
    return fail(ctx, section, key, "unknown section");
}

void sim_conf_init(struct sim_conf *conf)
{
    memset(conf, 0, sizeof(*conf));
    sim_strlcpy(conf->listen, "127.0.0.1", sizeof(conf->listen));
    conf->https_port = 8443;
    conf->http_port = 8080;
    conf->control_port = 8099;
    conf->style = SIM_STYLE_CAMEL;
    conf->max_body_bytes = 4u * 1024u * 1024u;
    sim_strlcpy(conf->fault, "none", sizeof(conf->fault));
    conf->opmon_offset_s = 60;       /* X-Road's default */
    conf->opmon_max_records = 10000; /* X-Road's default */
    conf->opmon_keep = 100000;
}

int sim_conf_load(struct sim_conf *conf, const char *path, char *errbuf,
                  size_t errsize)
{
    struct parse_ctx ctx;
    const char *slash = strrchr(path, '/');
    int line;

    sim_conf_init(conf);
    if (slash) {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1; /* "/sim.conf" */
        if (n >= sizeof(conf->dir)) {
            snprintf(errbuf, errsize, "%s: path too long", path);
            return -1;
        }
        memcpy(conf->dir, path, n);
        conf->dir[n] = '\0';
    } else {
        sim_strlcpy(conf->dir, ".", sizeof(conf->dir));
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.conf = conf;
    line = ini_parse(path, handler, &ctx);
    if (line < 0) {
        snprintf(errbuf, errsize, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (line > 0) {
        snprintf(errbuf, errsize, "%s:%d: %s: %s", path, line,
                 ctx.reason[0] ? ctx.key : "syntax",
                 ctx.reason[0] ? ctx.reason : "not a key = value line");
        return -1;
    }
    for (size_t i = 0; i < conf->nclients; i++)
        if (conf->clients[i].id.instance[0] == '\0') {
            snprintf(errbuf, errsize, "%s: [client.%s]: id is missing", path,
                     conf->clients[i].name);
            return -1;
        }
    for (size_t i = 0; i < conf->nmembers; i++)
        if (conf->members[i].id.instance[0] == '\0') {
            snprintf(errbuf, errsize, "%s: [member.%s]: id is missing", path,
                     conf->members[i].name);
            return -1;
        }
    for (size_t i = 0; i < conf->nservices; i++)
        if (conf->services[i].id.instance[0] == '\0') {
            snprintf(errbuf, errsize, "%s: [service.%s]: id is missing", path,
                     conf->services[i].name);
            return -1;
        }
    return 0;
}

void sim_conf_cleanup(struct sim_conf *conf)
{
    OPENSSL_cleanse(conf->vtj_password, sizeof(conf->vtj_password));
}

const char *sim_conntype_name(enum sim_conntype t)
{
    switch (t) {
    case SIM_CONN_NOSSL:
        return "NOSSL";
    case SIM_CONN_SSLNOAUTH:
        return "SSLNOAUTH";
    case SIM_CONN_SSLAUTH:
        return "SSLAUTH";
    }
    return "?";
}

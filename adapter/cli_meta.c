/*
 * `vayla meta list-clients|list-methods|allowed-methods|get-wsdl`: X-Road's
 * own services through the organisation's security server (docs/cli.md).
 * listClients is a GET the security server answers from global
 * configuration; the other three are X-Road SOAP queries run through the
 * query pipeline with the metaservice module (services/meta.h), checked
 * and audited like every query.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <xroad/xroad.h>

#include "cli.h"
#include "cli_run.h"
#include "jsonout.h"
#include "services/meta.h"

#define DEFAULT_ISSUE   "metaservice"
#define LIST_PATH_MAX   (32u + XR_ID_PART_MAX)
#define CLIENTS_MAX_RSP (64u * 1024u * 1024u)

static void meta_usage(FILE *out)
{
    fprintf(out,
            "usage: vayla meta list-clients [--instance I] [--accept xml|json]"
            " [--json] [-c FILE]\n"
            "       vayla meta list-methods PROVIDER [options] [--json]"
            " [-c FILE]\n"
            "       vayla meta allowed-methods PROVIDER [options] [--json]"
            " [-c FILE]\n"
            "       vayla meta get-wsdl SERVICE [-o FILE] [options] [--json]"
            " [-c FILE]\n"
            "\n"
            "PROVIDER is INSTANCE/CLASS/CODE[/SUBSYSTEM]; SERVICE adds\n"
            "/CODE[/VERSION] to a subsystem. Options of the SOAP commands:\n"
            "  --client ID     the X-Road client (default [xroad] client)\n"
            "  --user-id U     X-Road userId (default: your user name)\n"
            "  --issue TEXT    X-Road issue (default \"" DEFAULT_ISSUE "\")\n"
            "list-clients asks the security server for the members and\n"
            "subsystems of the instance (--accept: the answer's format).\n"
            "list-methods lists the provider's SOAP services, allowed-methods\n"
            "those the client may call; get-wsdl writes the WSDL to stdout\n"
            "or FILE. The SOAP commands are recorded in the audit store.\n"
            "Exit 0 ok, 3 SOAP fault, 2 invalid answer, 5 transport failure,\n"
            "7 audit store unavailable, 1 usage or configuration error.\n");
}

struct meta_opts {
    const char *config;
    const char *instance;
    const char *accept;
    const char *client;
    const char *user_id;
    const char *issue;
    const char *output;
    const char *target; /* PROVIDER or SERVICE */
    bool json;
};

enum opt_id {
    OPT_INSTANCE = 256,
    OPT_ACCEPT,
    OPT_CLIENT,
    OPT_USER_ID,
    OPT_ISSUE,
    OPT_JSON
};

/* Parse argv (argv[0] is the subcommand); -1 to go on, else the exit. */
static int parse_opts(int argc, char **argv, bool want_target,
                      struct meta_opts *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"instance", required_argument, NULL, OPT_INSTANCE},
        {"accept", required_argument, NULL, OPT_ACCEPT},
        {"client", required_argument, NULL, OPT_CLIENT},
        {"user-id", required_argument, NULL, OPT_USER_ID},
        {"issue", required_argument, NULL, OPT_ISSUE},
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case OPT_INSTANCE:
            o->instance = optarg;
            break;
        case OPT_ACCEPT:
            o->accept = optarg;
            break;
        case OPT_CLIENT:
            o->client = optarg;
            break;
        case OPT_USER_ID:
            o->user_id = optarg;
            break;
        case OPT_ISSUE:
            o->issue = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case 'h':
            meta_usage(stdout);
            return ADP_EXIT_OK;
        default:
            meta_usage(stderr);
            return ADP_EXIT_USAGE;
        }
    }
    if (want_target && optind < argc)
        o->target = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "vayla: meta %s: unexpected argument '%s'\n", argv[0],
                argv[optind]);
        return ADP_EXIT_USAGE;
    }
    if (want_target && !o->target) {
        fprintf(stderr, "vayla: meta %s: the %s is missing\n", argv[0],
                strcmp(argv[0], "get-wsdl") ? "PROVIDER" : "SERVICE");
        return ADP_EXIT_USAGE;
    }
    return -1;
}

/* Print j (one line) on stdout; false on a write error. */
static bool print_json(json_t *j)
{
    bool ok = j && adp_json_print(j) == 0;

    json_decref(j);
    if (!ok)
        fprintf(stderr, "vayla: cannot write the answer\n");
    return ok;
}

/* ---- list-clients ------------------------------------------------------ */

struct clients_run {
    const struct meta_opts *o;
    int rc;
};

static json_t *entry_json(const struct xr_client_entry *e)
{
    json_t *j = json_object();
    struct xr_id id;
    char text[XR_ID_TEXT_MAX];

    if (!j)
        return NULL;
    (void)xr_client_entry_id(e, &id);
    xr_id_format(&id, true, text, sizeof(text));
    json_object_set_new(j, "id", json_string(text));
    json_object_set_new(j, "object_type",
                        json_string(xr_id_type_name(e->type)));
    json_object_set_new(j, "xroad_instance", json_string(e->instance));
    json_object_set_new(j, "member_class", json_string(e->member_class));
    json_object_set_new(j, "member_code", json_string(e->member_code));
    if (e->type == XR_ID_SUBSYSTEM)
        json_object_set_new(j, "subsystem_code",
                            json_string(e->subsystem_code));
    if (e->name)
        json_object_set_new(j, "name", json_string(e->name));
    if (e->subsystem_name)
        json_object_set_new(j, "subsystem_name",
                            json_string(e->subsystem_name));
    return j;
}

/* A failure of list-clients: stderr, and the JSON line with --json. */
static int clients_fail(const struct meta_opts *o, const char *status,
                        const char *code, const char *msg, long http, int rc)
{
    json_t *j, *e;

    fprintf(stderr, "vayla: meta list-clients: %s: %s\n", code, msg);
    if (!o->json)
        return rc;
    j = json_object();
    e = json_object();
    json_object_set_new(e, "code", json_string(code));
    json_object_set_new(e, "message", json_string(msg));
    if (http)
        json_object_set_new(e, "http_status", json_integer(http));
    json_object_set_new(j, "status", json_string(status));
    json_object_set_new(j, "error", e);
    return print_json(j) ? rc : ADP_EXIT_USAGE;
}

static void on_clients(void *ctx, const struct adp_xfer_result *res)
{
    struct clients_run *cr = ctx;
    const struct meta_opts *o = cr->o;
    struct xr_client_list *l = NULL;
    struct xr_error err;
    json_t *j, *arr;
    size_t n;

    if (res->cls != ADP_XFER_OK || res->http_status != 200) {
        cr->rc = clients_fail(
            o, "transport_error",
            res->cls == ADP_XFER_OK ? "http_status"
                                    : adp_xfer_class_name(res->cls),
            res->cls == ADP_XFER_OK ? "the security server did not answer "
                                      "HTTP 200"
                                    : res->message,
            res->http_status, ADP_EXIT_TRANSPORT);
        return;
    }
    if (xr_client_list_parse(res->content_type, res->body, res->body_len, NULL,
                             &l, &err) != XR_OK) {
        cr->rc = clients_fail(o, "invalid", err.reason, err.msg, 0,
                              ADP_EXIT_INVALID);
        return;
    }
    n = xr_client_list_count(l);
    cr->rc = ADP_EXIT_OK;
    if (!o->json) {
        for (size_t i = 0; i < n; i++) {
            const struct xr_client_entry *e = xr_client_list_get(l, i);
            struct xr_id id;
            char text[XR_ID_TEXT_MAX];
            (void)xr_client_entry_id(e, &id);
            xr_id_format(&id, true, text, sizeof(text));
            printf("%s\t%s\t%s\n", text, e->name ? e->name : "",
                   e->subsystem_name ? e->subsystem_name : "");
        }
        if (fflush(stdout) != 0)
            cr->rc = ADP_EXIT_USAGE;
        xr_client_list_free(l);
        return;
    }
    j = json_object();
    arr = json_array();
    for (size_t i = 0; j && arr && i < n; i++)
        json_array_append_new(arr, entry_json(xr_client_list_get(l, i)));
    json_object_set_new(j, "status", json_string("ok"));
    json_object_set_new(j, "count", json_integer((json_int_t)n));
    json_object_set_new(j, "clients", arr);
    if (!print_json(j))
        cr->rc = ADP_EXIT_USAGE;
    xr_client_list_free(l);
}

static int cmd_list_clients(int argc, char **argv)
{
    struct meta_opts o;
    struct adp_cli_run run;
    struct adp_upstream_req rq;
    struct clients_run cr;
    char path[LIST_PATH_MAX];
    int rc = parse_opts(argc, argv, false, &o);

    if (rc >= 0)
        return rc;
    if (o.instance && !xr_id_part_is_valid(o.instance)) {
        fprintf(stderr, "vayla: meta list-clients: --instance is not an "
                        "X-Road instance code\n");
        return ADP_EXIT_USAGE;
    }
    if (o.accept && strcmp(o.accept, "xml") != 0 &&
        strcmp(o.accept, "json") != 0) {
        fprintf(stderr, "vayla: meta list-clients: --accept xml or json\n");
        return ADP_EXIT_USAGE;
    }
    /* The instance code's character set needs no escaping in a query. */
    snprintf(path, sizeof(path), "/listClients%s%s",
             o.instance ? "?xRoadInstance=" : "", o.instance ? o.instance : "");
    rc = adp_cli_run_open(&run, o.config, ADP_CLI_AUDIT_RECORD);
    if (rc < 0) {
        memset(&rq, 0, sizeof(rq));
        rq.get = true;
        rq.path = path;
        rq.accept = o.accept && !strcmp(o.accept, "json") ? "application/json"
                                                          : "text/xml";
        rq.max_response_bytes = CLIENTS_MAX_RSP;
        cr.o = &o;
        cr.rc = ADP_EXIT_USAGE;
        rc = adp_cli_run_get(&run, &rq, on_clients, &cr);
        if (rc == 0)
            rc = cr.rc;
    }
    adp_cli_run_close(&run);
    return rc;
}

/* ---- the SOAP metaservices ---------------------------------------------- */

struct soap_run {
    const struct meta_opts *o;
    struct meta_call *call;
    enum xr_meta_kind kind;
    const struct xr_id *target;
    int rc;
};

/* Write the WSDL to FILE (through a temporary file renamed into place) or
 * stdout. */
static bool write_wsdl(const char *path, struct xr_bytes w)
{
    char tmp[4096];
    FILE *f;
    int fd, n;

    if (!path)
        return fwrite(w.ptr, 1, w.len, stdout) == w.len && fflush(stdout) == 0;
    n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        fprintf(stderr, "vayla: meta get-wsdl: -o: path too long\n");
        return false;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "vayla: meta get-wsdl: %s: %s\n", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    if (fwrite(w.ptr, 1, w.len, f) != w.len || fclose(f) != 0 ||
        rename(tmp, path) != 0) {
        fprintf(stderr, "vayla: meta get-wsdl: %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

static void on_soap(void *ctx, struct adp_query *q, const struct adp_verdict *v)
{
    struct soap_run *sr = ctx;
    const struct meta_opts *o = sr->o;
    const struct xr_id *ids;
    char text[XR_ID_TEXT_MAX];
    json_t *j = NULL, *arr;
    size_t n;

    adp_cli_verdict_explain(
        sr->kind == XR_META_KIND_GET_WSDL ? "meta get-wsdl" : "meta", v);
    sr->rc = adp_cli_verdict_exit(v);
    if (v->cls != ADP_VERDICT_DATA) {
        if (o->json && !print_json(adp_cli_verdict_json(q, v)))
            sr->rc = ADP_EXIT_USAGE;
        return;
    }
    if (o->json) {
        j = adp_cli_verdict_json(q, v);
        if (!j) {
            sr->rc = ADP_EXIT_USAGE;
            return;
        }
    }
    if (sr->kind == XR_META_KIND_GET_WSDL) {
        struct xr_bytes w = meta_call_wsdl(sr->call);
        bool to_stdout_json = o->json && !o->output;
        xr_id_format(sr->target, true, text, sizeof(text));
        if (!to_stdout_json && !write_wsdl(o->output, w)) {
            json_decref(j);
            sr->rc = ADP_EXIT_USAGE;
            return;
        }
        if (!o->json)
            return;
        json_object_set_new(j, "service", json_string(text));
        json_object_set_new(j, "bytes", json_integer((json_int_t)w.len));
        if (o->output)
            json_object_set_new(j, "file", json_string(o->output));
        else
            json_object_set_new(j, "wsdl",
                                json_stringn((const char *)w.ptr, w.len));
        if (!json_object_get(j, "file") && !json_object_get(j, "wsdl")) {
            /* Not UTF-8: JSON cannot carry it as text. */
            fprintf(stderr, "vayla: meta get-wsdl: the WSDL is not UTF-8; "
                            "use -o FILE\n");
            json_decref(j);
            sr->rc = ADP_EXIT_INVALID;
            return;
        }
        if (!print_json(j))
            sr->rc = ADP_EXIT_USAGE;
        return;
    }
    n = meta_call_services(sr->call, &ids);
    if (!o->json) {
        for (size_t i = 0; i < n; i++) {
            xr_id_format(&ids[i], true, text, sizeof(text));
            printf("%s\n", text);
        }
        if (fflush(stdout) != 0)
            sr->rc = ADP_EXIT_USAGE;
        return;
    }
    xr_id_format(sr->target, true, text, sizeof(text));
    json_object_set_new(j, "provider", json_string(text));
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *e = json_object();
        xr_id_format(&ids[i], true, text, sizeof(text));
        json_object_set_new(e, "id", json_string(text));
        json_object_set_new(e, "service_code",
                            json_string(ids[i].service_code));
        if (ids[i].service_version[0])
            json_object_set_new(e, "service_version",
                                json_string(ids[i].service_version));
        json_array_append_new(arr, e);
    }
    json_object_set_new(j, "services", arr);
    if (!print_json(j))
        sr->rc = ADP_EXIT_USAGE;
}

static int cmd_soap(int argc, char **argv, enum xr_meta_kind kind)
{
    struct meta_opts o;
    struct adp_cli_run run;
    struct meta_call_params mp;
    struct soap_run sr;
    struct adp_cli_query cq;
    struct xr_id target, provider, service, client;
    struct xr_error err;
    char *uid = NULL, *issue = NULL;
    int rc = parse_opts(argc, argv, true, &o);

    memset(&run, 0, sizeof(run));
    memset(&sr, 0, sizeof(sr));
    if (rc >= 0)
        return rc;
    rc = ADP_EXIT_USAGE;
    if (kind == XR_META_KIND_GET_WSDL) {
        if (xr_id_parse_service(o.target, &target, &err) != XR_OK) {
            adp_cli_error_line("meta get-wsdl: SERVICE", &err);
            goto out;
        }
        provider = target;
        provider.type =
            target.subsystem_code[0] ? XR_ID_SUBSYSTEM : XR_ID_MEMBER;
        provider.service_code[0] = '\0';
        provider.service_version[0] = '\0';
    } else if (xr_id_parse_client(o.target, &target, &err) != XR_OK) {
        adp_cli_error_line("meta: PROVIDER", &err);
        goto out;
    } else {
        provider = target;
    }
    if (o.output && kind != XR_META_KIND_GET_WSDL) {
        fprintf(stderr, "vayla: meta: -o is for get-wsdl\n");
        goto out;
    }
    if (o.client && xr_id_parse_client(o.client, &client, &err) != XR_OK) {
        adp_cli_error_line("meta: --client", &err);
        goto out;
    }
    if (meta_service_id(&provider, kind, &service, &err) != XR_OK) {
        adp_cli_error_line("meta", &err);
        goto out;
    }
    if (!adp_cli_texts(o.user_id, o.issue, DEFAULT_ISSUE, &uid, &issue))
        goto out;
    memset(&mp, 0, sizeof(mp));
    mp.kind = kind;
    mp.service_code = target.service_code;
    mp.service_version = target.service_version;
    if (meta_call_new(&mp, &sr.call, &err) != XR_OK) {
        adp_cli_error_line("meta", &err);
        goto out;
    }
    rc = adp_cli_run_open(&run, o.config, ADP_CLI_AUDIT_RECORD);
    if (rc >= 0)
        goto out;
    sr.o = &o;
    sr.kind = kind;
    sr.target = &target;
    sr.rc = ADP_EXIT_USAGE;
    memset(&cq, 0, sizeof(cq));
    cq.svc = &meta_service;
    cq.call = sr.call;
    cq.client = o.client ? &client : NULL;
    cq.service = &service;
    cq.user_id = uid;
    cq.issue = issue;
    rc = adp_cli_run_query(&run, &cq, on_soap, &sr);
    if (rc == 0)
        rc = sr.rc;
out:
    adp_cli_run_close(&run);
    meta_call_free(sr.call);
    free(uid);
    free(issue);
    return rc;
}

int cli_meta(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : NULL;

    if (!sub) {
        meta_usage(stderr);
        return ADP_EXIT_USAGE;
    }
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        meta_usage(stdout);
        return ADP_EXIT_OK;
    }
    /* argv + 1: the subcommand becomes argv[0] for getopt. */
    if (!strcmp(sub, "list-clients"))
        return cmd_list_clients(argc - 1, argv + 1);
    if (!strcmp(sub, "list-methods"))
        return cmd_soap(argc - 1, argv + 1, XR_META_KIND_LIST_METHODS);
    if (!strcmp(sub, "allowed-methods"))
        return cmd_soap(argc - 1, argv + 1, XR_META_KIND_ALLOWED_METHODS);
    if (!strcmp(sub, "get-wsdl"))
        return cmd_soap(argc - 1, argv + 1, XR_META_KIND_GET_WSDL);
    fprintf(stderr, "vayla: meta: unknown subcommand '%s'\n", sub);
    meta_usage(stderr);
    return ADP_EXIT_USAGE;
}

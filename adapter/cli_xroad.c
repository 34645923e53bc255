/*
 * `vayla envelope` and `vayla check-response`: the message core on the
 * command line, for operators and for the test suite (docs/cli.md).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/entities.h>
#include <xroad/xroad.h>

#include "cli.h"
#include "jsonout.h"
#include "services/vtj.h"
#include "util.h"

#define CLI_MAX_FILE_BYTES (64u * 1024u * 1024u)

static void envelope_usage(FILE *out)
{
    fprintf(out,
            "usage: vayla envelope --client ID --service ID [--user-id U]\n"
            "                      [--issue TEXT] [--id ID] [--body FILE]\n"
            "                      [--represented-party [CLASS/]CODE]\n"
            "                      [--security-server ID] [--namespace URI]\n"
            "\n"
            "Prints the X-Road SOAP 4.0 request envelope, byte for byte as "
            "it\nwould be sent. ID forms: FI/GOV/0245437-2/VTJkysely "
            "(client),\nFI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1 "
            "(service),\nwith or without the SUBSYSTEM:/SERVICE: prefix. "
            "--body FILE holds\nthe body wrapper element (named like the "
            "serviceCode); without it\nan empty wrapper is sent, in the "
            "namespace of --namespace or, for\nX-Road's metaservices and "
            "VTJkysely, their own (--namespace ''\nfor none). --id "
            "defaults to a UUIDv7 (time-ordered).\n");
}

static int fail(const char *what, const struct xr_error *err)
{
    fprintf(stderr, "vayla: %s: %s%s%s%s\n", what, err->msg,
            err->reason && err->reason[0] ? " [" : "",
            err->reason ? err->reason : "",
            err->reason && err->reason[0] ? "]" : "");
    return ADP_EXIT_USAGE;
}

static bool set_text(char *dst, size_t size, const char *v, const char *opt)
{
    if (strlen(v) >= size) {
        fprintf(stderr, "vayla: %s is longer than %zu bytes\n", opt, size - 1);
        return false;
    }
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

/*
 * The namespace of an empty wrapper when --namespace is not given: the
 * X-Road namespace for the metaservices (PR-META), VTJkysely's for
 * DVV's VTJkysely subsystem; NULL when the service's own is unknown.
 */
static const char *known_namespace(const struct xr_id *service)
{
    static const char *const meta[] = {"listMethods", "allowedMethods",
                                       "getWsdl", "getOpenAPI"};

    for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
        if (!strcmp(service->service_code, meta[i]))
            return XR_NS_XROAD;
    }
    if (!strcmp(service->member_code, VTJ_SERVICE_MEMBER_CODE) &&
        !strcmp(service->subsystem_code, VTJ_SERVICE_SUBSYSTEM))
        return VTJ_NS_WS;
    return NULL;
}

/* `<serviceCode xmlns="ns"/>` (ns "" = no namespace) into *out. */
static bool empty_wrapper(const char *code, const char *ns, uint8_t **out,
                          size_t *len)
{
    xmlChar *esc = xmlEncodeSpecialChars(NULL, (const xmlChar *)ns);
    int n;
    char *b;

    *out = NULL;
    if (!esc)
        return false;
    n = snprintf(NULL, 0, "<%s xmlns=\"%s\"/>", code, (const char *)esc);
    b = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (b)
        snprintf(b, (size_t)n + 1, "<%s xmlns=\"%s\"/>", code,
                 (const char *)esc);
    xmlFree(esc);
    *out = (uint8_t *)b;
    *len = b ? (size_t)n : 0;
    return b != NULL;
}

int cli_envelope(int argc, char **argv)
{
    static const struct option opts[] = {
        {"client", required_argument, NULL, 'c'},
        {"service", required_argument, NULL, 's'},
        {"user-id", required_argument, NULL, 'u'},
        {"issue", required_argument, NULL, 'i'},
        {"id", required_argument, NULL, 'I'},
        {"body", required_argument, NULL, 'b'},
        {"represented-party", required_argument, NULL, 'r'},
        {"security-server", required_argument, NULL, 'S'},
        {"namespace", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *ns = NULL;
    struct xr_header *hdr = NULL;
    struct xr_request *req = NULL;
    struct xr_error err;
    const char *client = NULL, *service = NULL, *body_path = NULL;
    uint8_t *body = NULL;
    size_t body_len = 0;
    struct xr_bytes bytes;
    int c, rc = ADP_EXIT_USAGE;

    hdr = malloc(sizeof(*hdr));
    if (!hdr) {
        fprintf(stderr, "vayla: out of memory\n");
        return ADP_EXIT_USAGE;
    }
    xr_header_init(hdr);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            client = optarg;
            break;
        case 's':
            service = optarg;
            break;
        case 'u':
            hdr->has_user_id = true;
            if (!set_text(hdr->user_id, sizeof(hdr->user_id), optarg,
                          "--user-id"))
                goto out;
            break;
        case 'i':
            hdr->has_issue = true;
            if (!set_text(hdr->issue, sizeof(hdr->issue), optarg, "--issue"))
                goto out;
            break;
        case 'I':
            if (!*optarg) {
                fprintf(stderr, "vayla: --id must not be empty\n");
                goto out;
            }
            if (!set_text(hdr->id, sizeof(hdr->id), optarg, "--id"))
                goto out;
            break;
        case 'b':
            body_path = optarg;
            break;
        case 'r': {
            const char *slash = strchr(optarg, '/');
            hdr->has_represented_party = true;
            if (slash) {
                size_t n = (size_t)(slash - optarg);
                if (n >= sizeof(hdr->party_class)) {
                    fprintf(stderr, "vayla: partyClass too long\n");
                    goto out;
                }
                hdr->has_party_class = true;
                memcpy(hdr->party_class, optarg, n);
                hdr->party_class[n] = '\0';
            }
            if (!set_text(hdr->party_code, sizeof(hdr->party_code),
                          slash ? slash + 1 : optarg, "--represented-party"))
                goto out;
            break;
        }
        case 'S':
            hdr->has_security_server = true;
            if (xr_id_parse_server(optarg, &hdr->security_server, &err) !=
                XR_OK) {
                rc = fail("--security-server", &err);
                goto out;
            }
            break;
        case 'n':
            ns = optarg;
            break;
        case 'h':
            envelope_usage(stdout);
            rc = ADP_EXIT_OK;
            goto out;
        default:
            envelope_usage(stderr);
            goto out;
        }
    }
    if (optind != argc || !client || !service) {
        envelope_usage(stderr);
        goto out;
    }
    if (xr_id_parse_client(client, &hdr->client, &err) != XR_OK) {
        rc = fail("--client", &err);
        goto out;
    }
    if (xr_id_parse_service(service, &hdr->service, &err) != XR_OK) {
        rc = fail("--service", &err);
        goto out;
    }
    if (body_path && ns) {
        fprintf(stderr, "vayla: --namespace is for the empty wrapper; the "
                        "--body file has its own\n");
        goto out;
    }
    if (body_path && adp_file_read(body_path, CLI_MAX_FILE_BYTES, &body,
                                   &body_len, &err) != XR_OK) {
        rc = fail("--body", &err);
        goto out;
    }
    if (!body_path) {
        if (!ns)
            ns = known_namespace(&hdr->service);
        if (!ns) {
            fprintf(stderr,
                    "vayla: the namespace of %s's wrapper is not known: give "
                    "--body FILE or --namespace URI ('' for none)\n",
                    hdr->service.service_code);
            goto out;
        }
        if (!empty_wrapper(hdr->service.service_code, ns, &body, &body_len)) {
            fprintf(stderr, "vayla: out of memory\n");
            goto out;
        }
    }
    if (xr_request_new(hdr, body, body_len, &req, &err) != XR_OK) {
        rc = fail("envelope", &err);
        goto out;
    }
    bytes = xr_request_bytes(req);
    if (fwrite(bytes.ptr, 1, bytes.len, stdout) != bytes.len ||
        fflush(stdout) != 0) {
        fprintf(stderr, "vayla: cannot write the envelope\n");
        goto out;
    }
    rc = ADP_EXIT_OK;
out:
    xr_request_free(req);
    free(body);
    free(hdr);
    return rc;
}

static void check_usage(FILE *out)
{
    fprintf(out,
            "usage: vayla check-response --request FILE --response FILE\n"
            "                            [--content-type CT]\n"
            "                            [--allow-missing-request-hash]\n"
            "\n"
            "Judges a security server response against the request it "
            "answers\nand prints one JSON object. --content-type is the "
            "response's HTTP\nContent-Type (default text/xml); give it with "
            "its boundary when\nthe file holds a whole multipart body.\n"
            "Exit status: 0 ok, 3 SOAP fault, 2 invalid, 1 usage error.\n");
}

int cli_check_response(int argc, char **argv)
{
    static const struct option opts[] = {
        {"request", required_argument, NULL, 'q'},
        {"response", required_argument, NULL, 'r'},
        {"content-type", required_argument, NULL, 't'},
        {"allow-missing-request-hash", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *req_path = NULL, *resp_path = NULL, *ctype = NULL;
    struct xr_check_opts copts;
    struct xr_request *req = NULL;
    struct xr_response *resp = NULL;
    struct xr_error err;
    uint8_t *qbuf = NULL, *rbuf = NULL;
    size_t qlen = 0, rlen = 0;
    json_t *out = NULL;
    int c, rc = ADP_EXIT_USAGE;

    memset(&copts, 0, sizeof(copts));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'q':
            req_path = optarg;
            break;
        case 'r':
            resp_path = optarg;
            break;
        case 't':
            ctype = optarg;
            break;
        case 'a':
            copts.allow_missing_request_hash = true;
            break;
        case 'h':
            check_usage(stdout);
            return ADP_EXIT_OK;
        default:
            check_usage(stderr);
            return ADP_EXIT_USAGE;
        }
    }
    if (optind != argc || !req_path || !resp_path) {
        check_usage(stderr);
        return ADP_EXIT_USAGE;
    }
    if (adp_file_read(req_path, CLI_MAX_FILE_BYTES, &qbuf, &qlen, &err) !=
        XR_OK) {
        rc = fail("--request", &err);
        goto out;
    }
    if (xr_request_parse(NULL, qbuf, qlen, NULL, &req, &err) != XR_OK) {
        rc = fail("--request is not a valid X-Road request", &err);
        goto out;
    }
    if (adp_file_read(resp_path, CLI_MAX_FILE_BYTES, &rbuf, &rlen, &err) !=
        XR_OK) {
        rc = fail("--response", &err);
        goto out;
    }
    out = json_object();
    if (!out)
        goto out;
    if (xr_response_check(req, ctype, rbuf, rlen, &copts, &resp, &err) !=
        XR_OK) {
        json_object_set_new(out, "status", json_string("invalid"));
        json_object_set_new(out, "error", adp_error_json(&err));
        rc = ADP_EXIT_INVALID;
    } else if (xr_response_verdict(resp) == XR_VERDICT_FAULT) {
        json_object_set_new(out, "status", json_string("fault"));
        json_object_set_new(out, "fault",
                            adp_fault_json(xr_response_fault(resp)));
        rc = ADP_EXIT_FAULT;
    } else {
        json_object_set_new(out, "status", json_string("ok"));
        rc = ADP_EXIT_OK;
    }
    if (adp_json_print(out) != 0) {
        fprintf(stderr, "vayla: cannot write output\n");
        rc = ADP_EXIT_USAGE;
    }
out:
    json_decref(out);
    xr_response_free(resp);
    xr_request_free(req);
    free(qbuf);
    free(rbuf);
    return rc;
}

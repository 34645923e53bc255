/*
 * `vayla hetu` and `vayla vtj`: offline tools of the VTJ service module.
 *
 *   vayla hetu CODE...        check identity codes (hetu or SATU)
 *   vayla hetu -              the same, one code per line from stdin (keeps
 *                             the codes out of the process list)
 *   vayla vtj decode FILE     print the JSON form of a saved VTJ answer
 *   vayla vtj schema-body PRODUCT [--laji N]
 *                             print a HaeTuotteenSkeema body wrapper
 *
 * Nothing here prints the VTJ password; the request echo of an answer
 * (which holds the username) is never printed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <xroad/fault.h>
#include <xroad/response.h>

#include "cli.h"
#include "services/hetu.h"
#include "services/vtj.h"
#include "util.h"

#define HETU_STDIN_MAX_LINES 100000u /* codes read from stdin */
#define HETU_LINE_MAX        128u    /* bytes of one stdin line */
#define SHOW_MAX             40u     /* bytes of a code echoed back */

/* ---- vayla hetu ------------------------------------------------------- */

static void hetu_usage(FILE *out)
{
    fprintf(out,
            "usage: vayla hetu CODE...\n"
            "       vayla hetu -     (one code per line from stdin)\n"
            "\n"
            "Checks Finnish personal identity codes (hetu, decree 690/2022)\n"
            "and 9-character SATU numbers. Prints one line per code:\n"
            "  CODE valid | CODE valid temporary | CODE invalid: REASON\n"
            "Exit status: 0 all valid, 2 some invalid, 1 usage error.\n");
}

/* Print a code as given, with non-printable bytes as '?', bounded. */
static void show_code(FILE *out, const char *code)
{
    size_t n = strnlen(code, SHOW_MAX + 1u);

    for (size_t i = 0; i < n && i < SHOW_MAX; i++) {
        unsigned char c = (unsigned char)code[i];
        fputc(c >= 0x21u && c < 0x7Fu ? (int)c : '?', out);
    }
    if (n > SHOW_MAX)
        fputs("...", out);
    if (n == 0)
        fputs("\"\"", out);
}

/* Check one code and print its line. Returns true when valid. */
static bool hetu_one(const char *code)
{
    struct hetu_info info;
    char reason[48];
    bool ok;

    if (strnlen(code, SATU_LEN + 1u) == SATU_LEN)
        ok = hetu_satu_validate(code, &info);
    else
        ok = hetu_validate(code, &info);
    show_code(stdout, code);
    if (ok)
        printf(info.temporary ? " valid temporary\n" : " valid\n");
    else
        printf(" invalid: %s\n",
               hetu_reason_format(&info, reason, sizeof(reason)));
    return ok;
}

static int hetu_stdin(void)
{
    char line[HETU_LINE_MAX + 2u];
    unsigned lines = 0;
    bool all_ok = true;

    while (fgets(line, sizeof(line), stdin)) {
        size_t n = strlen(line);

        if (++lines > HETU_STDIN_MAX_LINES) {
            fprintf(stderr, "vayla hetu: more than %u lines on stdin\n",
                    HETU_STDIN_MAX_LINES);
            return ADP_EXIT_USAGE;
        }
        if (n > 0 && line[n - 1] != '\n' && !feof(stdin)) {
            /* Overlong line: report it once and skip the rest of it. */
            int ch;
            while ((ch = getchar()) != EOF && ch != '\n')
                ;
            printf("line %u invalid: length\n", lines);
            all_ok = false;
            continue;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        if (!hetu_one(line))
            all_ok = false;
    }
    if (ferror(stdin)) {
        fprintf(stderr, "vayla hetu: error reading stdin\n");
        return ADP_EXIT_USAGE;
    }
    return all_ok ? ADP_EXIT_OK : ADP_EXIT_INVALID;
}

int cli_hetu(int argc, char **argv)
{
    bool all_ok = true;
    int first = 1;

    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        hetu_usage(stdout);
        return ADP_EXIT_OK;
    }
    if (argc >= 2 && !strcmp(argv[1], "--"))
        first = 2;
    if (first >= argc) {
        hetu_usage(stderr);
        return ADP_EXIT_USAGE;
    }
    if (first == 1 && argc == 2 && !strcmp(argv[1], "-"))
        return hetu_stdin();
    for (int i = first; i < argc; i++)
        if (!hetu_one(argv[i]))
            all_ok = false;
    return all_ok ? ADP_EXIT_OK : ADP_EXIT_INVALID;
}

/* ---- vayla vtj --------------------------------------------------------- */

static void vtj_usage(FILE *out)
{
    fprintf(
        out,
        "usage: vayla vtj decode [OPTIONS] FILE\n"
        "       vayla vtj schema-body PRODUCT [--laji N]\n"
        "\n"
        "decode: print the JSON form (docs/api.md) of a saved VTJ answer\n"
        "(a SOAP envelope as received from the security server; FILE may\n"
        "be - for stdin). Exit 0 for a VTJ answer whatever its outcome, 2\n"
        "when the file is not a VTJ answer (SOAP Fault, other service,\n"
        "malformed), 1 for usage or I/O errors.\n"
        "  --redact             redact addresses of protected persons\n"
        "  --expect-hetu CODE   the queried hetu (checked against the answer)\n"
        "  --content-type TYPE  Content-Type of the saved body\n"
        "                       (default text/xml; multipart/related allowed)\n"
        "  --body-only          do not require an X-Road header (for\n"
        "                       hand-written or body-only samples)\n"
        "\n"
        "schema-body: print the HaeTuotteenSkeema body wrapper for PRODUCT.\n");
}

/*
 * Hardened parse for --body-only: no network, no DTD, no entity expansion.
 * Ownership: *doc new (xmlFreeDoc).
 */
static bool parse_plain(const uint8_t *buf, size_t len, xmlDocPtr *doc)
{
    xmlParserCtxtPtr ctxt = NULL;
    bool ok = false;

    *doc = NULL;
    if (len > (size_t)XR_LIMIT_BYTES_DEFAULT)
        return false;
    ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return false;
    *doc = xmlCtxtReadMemory(ctxt, (const char *)buf, (int)len, NULL, NULL,
                             XML_PARSE_NONET | XML_PARSE_NOERROR |
                                 XML_PARSE_NOWARNING);
    if (*doc && (*doc)->intSubset == NULL && ctxt->wellFormed)
        ok = true;
    xmlFreeParserCtxt(ctxt);
    if (!ok && *doc) {
        xmlFreeDoc(*doc);
        *doc = NULL;
    }
    return ok;
}

/* The only element child of SOAP Envelope/Body, or NULL. */
static xmlNodePtr plain_body_child(xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc), body = NULL, child = NULL;
    unsigned seen = 0;

    if (!root || !root->ns ||
        strcmp((const char *)root->ns->href, XR_NS_SOAP11) != 0 ||
        strcmp((const char *)root->name, "Envelope") != 0)
        return NULL;
    for (xmlNodePtr n = root->children; n && seen < 64u; n = n->next, seen++)
        if (n->type == XML_ELEMENT_NODE && n->ns &&
            !strcmp((const char *)n->ns->href, XR_NS_SOAP11) &&
            !strcmp((const char *)n->name, "Body"))
            body = n;
    if (!body)
        return NULL;
    seen = 0;
    for (xmlNodePtr n = body->children; n && seen < 4096u;
         n = n->next, seen++) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (child)
            return NULL; /* more than one body child */
        child = n;
    }
    return child;
}

static int vtj_decode_cmd(int argc, char **argv)
{
    struct vtj_policy policy = {false, false, NULL, NULL};
    struct xr_response *resp = NULL;
    struct vtj_result *res = NULL;
    struct xr_error err;
    const char *path = NULL, *ctype = NULL;
    bool body_only = false;
    xmlDocPtr doc = NULL;
    xmlNodePtr body = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    json_t *j = NULL;
    int rc;

    xr_error_clear(&err);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--redact")) {
            policy.redact_protected_addresses = true;
        } else if (!strcmp(argv[i], "--body-only")) {
            body_only = true;
        } else if (!strcmp(argv[i], "--expect-hetu") && i + 1 < argc) {
            policy.expected_hetu = argv[++i];
        } else if (!strcmp(argv[i], "--content-type") && i + 1 < argc) {
            ctype = argv[++i];
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            vtj_usage(stdout);
            rc = ADP_EXIT_OK;
            goto out;
        } else if ((argv[i][0] != '-' || !strcmp(argv[i], "-")) && !path) {
            path = argv[i];
        } else {
            vtj_usage(stderr);
            rc = ADP_EXIT_USAGE;
            goto out;
        }
    }
    if (!path) {
        vtj_usage(stderr);
        rc = ADP_EXIT_USAGE;
        goto out;
    }
    if (adp_file_read(path, XR_LIMIT_BYTES_DEFAULT, &buf, &len, &err) !=
        XR_OK) {
        fprintf(stderr, "vayla vtj decode: %s\n", err.msg);
        rc = ADP_EXIT_USAGE;
        goto out;
    }
    if (body_only) {
        if (!parse_plain(buf, len, &doc) || !(body = plain_body_child(doc))) {
            fprintf(stderr,
                    "vayla vtj decode: %s: not a VTJ response: not a "
                    "well-formed SOAP 1.1 envelope with one body element\n",
                    path);
            rc = ADP_EXIT_INVALID;
            goto out;
        }
        fprintf(stderr,
                "vayla vtj decode: %s: X-Road header not checked "
                "(--body-only)\n",
                path);
    } else {
        if (xr_response_parse(ctype, buf, len, NULL, &resp, &err) != XR_OK) {
            fprintf(stderr,
                    "vayla vtj decode: %s: not a VTJ response: %s: %s\n", path,
                    err.reason ? err.reason : "invalid", err.msg);
            rc = ADP_EXIT_INVALID;
            goto out;
        }
        if (xr_response_verdict(resp) == XR_VERDICT_FAULT) {
            const struct xr_fault *f = xr_response_fault(resp);
            fprintf(stderr,
                    "vayla vtj decode: %s: not a VTJ response: SOAP Fault "
                    "%.200s (origin %s): %.300s\n",
                    path, f ? f->code : "?",
                    f ? xr_fault_origin_name(f->origin) : "?",
                    f ? f->string : "");
            rc = ADP_EXIT_INVALID;
            goto out;
        }
        body = xr_response_body(resp);
    }
    if (vtj_decode(body, &policy, &res, &err) != XR_OK) {
        fprintf(stderr, "vayla vtj decode: %s: not a VTJ response: %s: %s\n",
                path, err.reason ? err.reason : "invalid", err.msg);
        rc = ADP_EXIT_INVALID;
        goto out;
    }
    j = vtj_result_to_json(res);
    if (!j || json_dumpf(j, stdout, JSON_INDENT(2)) != 0 ||
        fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "vayla vtj decode: cannot write the JSON output\n");
        rc = ADP_EXIT_USAGE;
        goto out;
    }
    rc = ADP_EXIT_OK;
out:
    json_decref(j);
    vtj_result_free(res);
    xr_response_free(resp);
    if (doc)
        xmlFreeDoc(doc);
    free(buf);
    return rc;
}

static int vtj_schema_body_cmd(int argc, char **argv)
{
    struct xr_error err;
    const char *product = NULL;
    char *xml = NULL;
    size_t len = 0;
    long laji = 1;
    int rc;

    xr_error_clear(&err);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--laji") && i + 1 < argc) {
            char *end = NULL;
            laji = strtol(argv[++i], &end, 10);
            if (!end || *end != '\0' || laji < 0 || laji > 99) {
                fprintf(stderr, "vayla vtj schema-body: --laji 0..99\n");
                rc = ADP_EXIT_USAGE;
                goto out;
            }
        } else if (!product && argv[i][0] != '-') {
            product = argv[i];
        } else {
            vtj_usage(stderr);
            rc = ADP_EXIT_USAGE;
            goto out;
        }
    }
    if (vtj_schema_request_body(product, (int)laji, &xml, &len, &err) !=
        XR_OK) {
        fprintf(stderr, "vayla vtj schema-body: %s: %s\n", err.reason, err.msg);
        rc = ADP_EXIT_USAGE;
        goto out;
    }
    if (fwrite(xml, 1, len, stdout) != len || fputc('\n', stdout) == EOF) {
        rc = ADP_EXIT_USAGE;
        goto out;
    }
    rc = ADP_EXIT_OK;
out:
    vtj_body_free(xml, len);
    return rc;
}

int cli_vtj(int argc, char **argv)
{
    if (argc < 2) {
        vtj_usage(stderr);
        return ADP_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        vtj_usage(stdout);
        return ADP_EXIT_OK;
    }
    if (!strcmp(argv[1], "decode"))
        return vtj_decode_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[1], "schema-body"))
        return vtj_schema_body_cmd(argc - 1, argv + 1);
    fprintf(stderr, "vayla vtj: unknown subcommand\n");
    vtj_usage(stderr);
    return ADP_EXIT_USAGE;
}

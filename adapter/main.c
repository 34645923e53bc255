/*
 * vayla: adapter between an organisation's systems and its X-Road security
 * server. This file only dispatches to the subcommands (cli.h).
 */
#include <stdio.h>
#include <string.h>

#include <xroad/xroad.h>

#include "cli.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"envelope", cli_envelope, "print an X-Road SOAP request envelope"},
    {"check-response", cli_check_response,
     "judge a security server response against its request"},
    {"hetu", cli_hetu, "check Finnish personal identity codes"},
    {"vtj", cli_vtj, "VTJkysely tools (decode a saved response)"},
    {"query", cli_query, "query a person from VTJ through the security server"},
    {"check-config", cli_check_config, "validate a configuration file"},
    {"audit", cli_audit, "verify, search, export and prune the audit store"},
    {"serve", cli_serve, "run the HTTP/JSON API daemon"},
    {"dev", cli_dev, "write a local test environment (vayla dev init DIR)"},
    {"meta", cli_meta,
     "X-Road's metaservices: list clients, methods, allowed methods, WSDL"},
    {"verify", cli_asic_verify, "verify signed containers (ASiC-E) from /asic"},
    {"asic", cli_asic,
     "download signed containers and the verification configuration"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vayla COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nvayla COMMAND --help shows the options of a command.\n");
}

int main(int argc, char **argv)
{
    struct xr_error err;
    int rc;

    if (argc < 2) {
        usage(stderr);
        return ADP_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return ADP_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vayla %s\n", xr_version());
        return ADP_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (xr_global_init(&err) != XR_OK) {
            fprintf(stderr, "vayla: %s\n", err.msg);
            return ADP_EXIT_USAGE;
        }
        rc = commands[i].run(argc - 1, argv + 1);
        xr_global_cleanup();
        return rc;
    }
    fprintf(stderr, "vayla: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return ADP_EXIT_USAGE;
}

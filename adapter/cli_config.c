/*
 * `vayla check-config [-c FILE]`: load and validate a configuration the way
 * the daemon and `vayla query` do (values, required keys, secrets readable,
 * certificate / key / CA files loadable with OpenSSL, key matching the
 * certificate) and print `configuration OK` or every problem as
 * `path:line: section.key: reason` (docs/configuration.md).
 */
#include <getopt.h>
#include <stdio.h>

#include <xroad/error.h>

#include "cli.h"
#include "config.h"

static void check_config_usage(FILE *out)
{
    fprintf(out,
            "usage: vayla check-config [-c FILE]\n"
            "\n"
            "Validates the configuration (default $" ADP_CONFIG_ENV
            " or " ADP_CONFIG_DEFAULT_PATH ")\nand prints 'configuration OK' "
            "(exit 0) or each problem with its file\nand line (exit 1). "
            "Secrets are never printed.\n");
}

int cli_check_config(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *path = NULL;
    struct adp_config *cfg = NULL;
    struct xr_error err;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'h':
            check_config_usage(stdout);
            return ADP_EXIT_OK;
        default:
            check_config_usage(stderr);
            return ADP_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        check_config_usage(stderr);
        return ADP_EXIT_USAGE;
    }
    if (!path)
        path = adp_config_default_path();
    xr_error_clear(&err);
    if (adp_config_load(path, &cfg, adp_config_problem_print, stderr, &err) !=
        XR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return ADP_EXIT_USAGE;
    }
    adp_config_free(cfg);
    printf("configuration OK\n");
    return ADP_EXIT_OK;
}

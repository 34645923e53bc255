/*
 * `vayla serve`: run the daemon (server.h).
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "server.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vayla serve [-c FILE] [--ready-file PATH]\n"
            "\n"
            "Runs the HTTP/JSON API daemon (docs/api.md, "
            "docs/operations.md).\n"
            "  -c FILE            configuration (default $VAYLA_CONFIG or\n"
            "                     /etc/vayla/vayla.conf)\n"
            "  --ready-file PATH  once serving, write pid, tcp_port and\n"
            "                     unix_socket there (for scripts and "
            "tests)\n"
            "Signals: SIGTERM/SIGINT drain and stop, SIGHUP reloads.\n");
}

int cli_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"ready-file", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *config = NULL, *ready = NULL;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'r':
            ready = optarg;
            break;
        case 'h':
            usage(stdout);
            return ADP_EXIT_OK;
        default:
            usage(stderr);
            return ADP_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return ADP_EXIT_USAGE;
    }
    return adp_server_run(config ? config : adp_config_default_path(), ready) ==
                   0
               ? ADP_EXIT_OK
               : ADP_EXIT_USAGE;
}

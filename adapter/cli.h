/*
 * vayla subcommands. Each takes the arguments after the program name
 * (argv[0] is the command name) and returns the process exit status.
 */
#ifndef VAYLA_CLI_H
#define VAYLA_CLI_H

/* Exit statuses shared by every command (docs/cli.md). */
enum adp_exit {
    ADP_EXIT_OK = 0,         /* success; for queries: person found */
    ADP_EXIT_USAGE = 1,      /* usage, configuration or input error */
    ADP_EXIT_INVALID = 2,    /* invalid response / invalid input code */
    ADP_EXIT_FAULT = 3,      /* SOAP fault */
    ADP_EXIT_NOTFOUND = 4,   /* VTJ: not found or another non-found outcome */
    ADP_EXIT_TRANSPORT = 5,  /* connect, TLS, timeout, HTTP status ... */
    ADP_EXIT_SERVICE = 6,    /* the service refused: VTJ credentials ... */
    ADP_EXIT_UNAVAILABLE = 7 /* the audit store cannot record the query,
                                or an internal failure before sending */
};

struct adp_verdict;

/* cli_xroad.c */
int cli_envelope(int argc, char **argv);
int cli_check_response(int argc, char **argv);

/* cli_vtj.c */
int cli_hetu(int argc, char **argv);
int cli_vtj(int argc, char **argv);

/* cli_query.c */
int cli_query(int argc, char **argv);
/* The exit status of a query verdict (docs/cli.md, "Exit statuses"). */
int adp_cli_verdict_exit(const struct adp_verdict *v);

/* cli_config.c */
int cli_check_config(int argc, char **argv);

/* cli_audit.c */
int cli_audit(int argc, char **argv);

/* cli_serve.c */
int cli_serve(int argc, char **argv);

/* cli_dev.c */
int cli_dev(int argc, char **argv);

/* cli_meta.c */
int cli_meta(int argc, char **argv);

/* cli_reconcile.c: `vayla audit reconcile` (argv[0] is "reconcile") */
int cli_audit_reconcile(int argc, char **argv);
/* cli_verify.c */
int cli_asic_verify(int argc, char **argv);

/* cli_asic.c: `vayla asic fetch|conf` */
int cli_asic(int argc, char **argv);

/* cli_prove.c: `vayla audit prove` (argv[0] is "prove") */
int cli_audit_prove(int argc, char **argv);

#endif

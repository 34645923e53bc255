/*
 * The vayla configuration file (INI, parsed with inih): keys, defaults and
 * validation. docs/configuration.md describes every key.
 *
 * adp_config_load() reads one file into a `struct adp_config`, checks every
 * value (ranges, identifiers, URL, fingerprint, required keys, secrets,
 * certificate / key / CA files loadable with OpenSSL, key matching its
 * certificate) and reports EVERY problem it finds, not only the first, each
 * as `path:line: section.key: reason`. Relative paths are resolved against
 * the directory of the configuration file.
 *
 * The resulting struct is plain, read-only data. The daemon's SIGHUP
 * reload loads a new struct and swaps it in; nothing in it refers to the
 * file after loading.
 */
#ifndef VAYLA_CONFIG_H
#define VAYLA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xroad/error.h>
#include <xroad/id.h>

#include "caller.h"
#include "log.h"

/* Environment variable naming the configuration file, and the fallback. */
#define ADP_CONFIG_ENV          "VAYLA_CONFIG"
#define ADP_CONFIG_DEFAULT_PATH "/etc/vayla/vayla.conf"

#define ADP_CONFIG_FILE_MAX   (1024u * 1024u) /* the .conf file itself */
#define ADP_CONFIG_SECRET_MAX 4096u           /* password / passphrase */
#define ADP_CONFIG_URL_MAX    2048u
#define ADP_CONFIG_TEXT_MAX   255u /* username, product, ... */

/* Defaults (docs/configuration.md). */
#define ADP_CONFIG_CONNECT_TIMEOUT_MS_DEFAULT  5000u
#define ADP_CONFIG_TIMEOUT_MS_DEFAULT          120000u
#define ADP_CONFIG_MAX_RESPONSE_BYTES_DEFAULT  (16u * 1024u * 1024u)
#define ADP_CONFIG_SS_CONNECTIONS_DEFAULT      256u /* whole process */
#define ADP_CONFIG_VTJ_PRODUCT_DEFAULT         "PERUSSANOMA 3"
#define ADP_CONFIG_AUDIT_RETENTION_DEFAULT     1826u /* days, 5 years */
#define ADP_CONFIG_CHECKPOINT_EVERY_DEFAULT    1000u /* records */
#define ADP_CONFIG_CHECKPOINT_INTERVAL_DEFAULT 300u  /* seconds */

#define ADP_PIN_SHA256_LEN 32u /* bytes of a SHA-256 fingerprint */

/* Daemon defaults ([listen], [api]). */
#define ADP_CONFIG_LISTEN_PORT_DEFAULT      8480u
#define ADP_CONFIG_UNIX_MODE_DEFAULT        0660u
#define ADP_CONFIG_MAX_CONNECTIONS_DEFAULT  1024u
#define ADP_CONFIG_MAX_IN_FLIGHT_DEFAULT    4096u
#define ADP_CONFIG_RETRY_AFTER_S_DEFAULT    1u
#define ADP_CONFIG_DRAIN_TIMEOUT_MS_DEFAULT 30000u
#define ADP_CONFIG_MAX_BODY_BYTES_DEFAULT   65536u
#define ADP_CONFIG_MAX_SOAP_BODY_DEFAULT    (8u * 1024u * 1024u)
#define ADP_CONFIG_MAX_HEADER_BYTES_DEFAULT 16384u
#define ADP_CONFIG_READ_TIMEOUT_MS_DEFAULT  30000u
#define ADP_CONFIG_MAX_PENDING_DEFAULT      512u /* connections not serving */
/* Mozilla's "intermediate" TLS 1.2 suites: AEAD with forward secrecy. */
#define ADP_CONFIG_TLS_CIPHERS_DEFAULT                           \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"       \
    "DHE-RSA-CHACHA20-POLY1305"
#define ADP_CONFIG_MAX_PER_PEER_DEFAULT         128u
#define ADP_CONFIG_REQUEST_TIMEOUT_MS_DEFAULT   10000u
#define ADP_CONFIG_KEEPALIVE_TIMEOUT_MS_DEFAULT 30000u
#define ADP_CONFIG_CALLERS_MAX                  256u

/* [xroad] */
struct adp_config_xroad {
    struct xr_id client;          /* client = (MEMBER or SUBSYSTEM) */
    bool has_security_server;     /* security_server = set */
    struct xr_id security_server; /* SERVER, for the targeting extension */
};

/* [security_server]: how to reach the organisation's own SS. */
struct adp_config_ss {
    char *url;                              /* http:// or https://, owned */
    bool https;                             /* url scheme is https */
    char *ca_file;                          /* absolute path or NULL, owned */
    bool has_pin;                           /* pin_sha256 set */
    uint8_t pin_sha256[ADP_PIN_SHA256_LEN]; /* SHA-256 of the leaf cert DER */
    char *client_cert;                /* PEM, absolute path or NULL, owned */
    char *client_key;                 /* PEM, absolute path or NULL, owned */
    char *client_key_passphrase_file; /* absolute path or NULL, owned */
    char *client_key_passphrase;      /* SECRET: file content, NULL if none */
    long connect_timeout_ms;          /* 100 .. 600000 */
    long timeout_ms;                  /* total deadline, 1000 .. 3600000 */
    size_t max_response_bytes;        /* 1024 .. 1 GiB */
    unsigned max_connections;         /* to the SS, whole daemon: queries beyond
                                         wait in vayla's queue (1 .. 65536) */
    bool allow_missing_request_hash;
};

/* [vtj]: VTJkysely (services/vtj.h). */
struct adp_config_vtj {
    struct xr_id service;   /* SERVICE id */
    char *username;         /* SoSoKayttajatunnus, owned */
    char *password;         /* SECRET: SoSoSalasana from file or env, owned */
    char *password_file;    /* absolute path or NULL (where it came from) */
    char *password_env;     /* variable name or NULL (where it came from) */
    char *product;          /* SoSoNimi, default "PERUSSANOMA 3", owned */
    bool follow_passivated; /* re-query once with the new hetu, default
                               true */
};

/* [audit]: used by the daemon's audit store. */
struct adp_config_audit {
    char *path;              /* absolute path or NULL when not set, owned */
    unsigned retention_days; /* 1 .. 36500, default 1826 */
    /* Checkpoints of the chain's head (checkpoint.h), by `vayla serve`: */
    char *checkpoint_file;          /* appended to, or NULL, owned */
    char *checkpoint_key;           /* Ed25519 private key PEM, or NULL */
    unsigned checkpoint_every;      /* records; 0 = not by count */
    unsigned checkpoint_interval_s; /* seconds; 0 = not by time */
};

/*
 * [listen]: where `vayla serve` accepts API requests. The server requires
 * address or unix_socket (or both).
 */
struct adp_config_listen {
    char *address;            /* IP literal (127.0.0.1, ::1) or NULL, owned */
    unsigned port;            /* 0..65535, 0 = ephemeral (tests) */
    char *unix_socket;        /* absolute path or NULL, owned */
    unsigned unix_mode;       /* file mode of the socket, default 0660 */
    char *tls_cert;           /* PEM chain for TLS on address, or NULL */
    char *tls_key;            /* PEM key (required with tls_cert) */
    char *client_ca;          /* PEM CA for client certificates, or NULL */
    bool require_client_cert; /* default true; needs client_ca */
    char *client_crl;         /* PEM CRL file or hashed directory, or NULL */
    char *tls_ciphers;        /* TLS 1.2 suites (OpenSSL list), or NULL =
                                 ADP_CONFIG_TLS_CIPHERS_DEFAULT */
    char *tls_ciphersuites;   /* TLS 1.3 suites, or NULL = OpenSSL's */
};

/* [api]: limits and behaviour of the daemon. */
struct adp_config_api {
    unsigned threads;           /* worker event loops; 0 = one per core */
    unsigned max_connections;   /* open API connections, whole process */
    unsigned max_in_flight;     /* API requests being served, whole process */
    unsigned retry_after_s;     /* Retry-After on 429/503 */
    unsigned drain_timeout_ms;  /* graceful stop: wait for in-flight */
    size_t max_body_bytes;      /* request body cap (JSON routes) */
    size_t max_soap_body_bytes; /* request body cap, generic SOAP path */
    size_t max_header_bytes;    /* request header cap */
    unsigned read_timeout_ms;   /* evhttp read/write timeout */
    unsigned max_pending_connections;  /* not serving a request (conn.h) */
    unsigned max_connections_per_peer; /* per client address; 0 = any */
    unsigned request_timeout_ms;       /* accept .. first request read */
    unsigned keepalive_timeout_ms;     /* answer .. next request read */
    enum adp_log_level log_level;      /* default info */
};

/*
 * One loaded configuration. Every pointer is owned by the struct and freed
 * by adp_config_free(); secrets are wiped with OPENSSL_cleanse() first.
 */
struct adp_config {
    char *path; /* the file as given to adp_config_load(), owned */
    char *dir;  /* absolute directory of that file, owned */
    struct adp_config_xroad xroad;
    struct adp_config_ss ss;
    struct adp_config_vtj vtj;
    struct adp_config_audit audit;
    struct adp_config_listen listen;
    struct adp_config_api api;
    /*
     * [caller.NAME] sections, in file order (caller.h). The rate limiters
     * are initialised; the array never moves after loading.
     */
    struct adp_caller *callers; /* owned, ncallers entries */
    size_t ncallers;
    bool callers_ready; /* private: rate limiters initialised */
};

/*
 * Called once per problem, in file order (problems found after parsing,
 * such as missing required keys or unloadable certificates, come last).
 * path: the configuration file; line: 1-based, 0 when no line applies
 * (e.g. a required key in a missing section); key: "section.key", or
 * "section" / "" when the problem concerns no single key; reason: a
 * sentence without secrets.
 * Ownership: all strings are borrowed for the duration of the call.
 */
typedef void adp_config_problem_fn(void *ctx, const char *path, unsigned line,
                                   const char *key, const char *reason);

/*
 * A ready-made problem callback: prints `path:line: key: reason` (or
 * `path: key: reason` when line is 0) to the FILE * passed as ctx
 * (stderr when ctx is NULL).
 * Ownership: all arguments borrowed. Thread-safety: as the FILE.
 */
void adp_config_problem_print(void *ctx, const char *path, unsigned line,
                              const char *key, const char *reason);

/*
 * The configuration path to use when none was given on the command line:
 * $VAYLA_CONFIG if set and non-empty, else ADP_CONFIG_DEFAULT_PATH.
 * Ownership: static or environment storage; do not free.
 * Thread-safety: reads the environment (no concurrent setenv).
 */
const char *adp_config_default_path(void);

/*
 * Load and validate `path`. Every problem is passed to `problem` (may be
 * NULL) with `ctx`.
 *
 * Returns XR_OK with *out set, or an error with *out NULL:
 *   XR_EINVAL (reason "config_invalid")  one or more problems were reported;
 *                                        err->msg says how many;
 *   XR_EIO    (reason "io_error")        the file could not be read (also
 *                                        reported through `problem`);
 *   XR_ENOMEM.
 * Ownership: *out is new; free with adp_config_free().
 * Thread-safety: reentrant (reads the environment for password_env).
 */
XR_NODISCARD enum xr_status adp_config_load(const char *path,
                                            struct adp_config **out,
                                            adp_config_problem_fn *problem,
                                            void *ctx, struct xr_error *err);

/*
 * Same as adp_config_load() but parses `text` (for fuzzing and tests);
 * `path` is used for messages and to resolve relative paths.
 * Ownership: text borrowed; *out as for adp_config_load().
 * Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status adp_config_load_string(
    const char *path, const char *text, struct adp_config **out,
    adp_config_problem_fn *problem, void *ctx, struct xr_error *err);

/*
 * Wipe the secrets and free everything, including the callers' rate
 * limiters. Accepts NULL.
 * Ownership: takes cfg. Thread-safety: no other thread may still use cfg.
 */
void adp_config_free(struct adp_config *cfg);

#endif

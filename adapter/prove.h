/*
 * Proving a query end to end (docs/verify.md, "Proving a query end to
 * end"): the signed containers the security server kept of an audited
 * query (GET /asic), verified with libxroad, compared with the audit
 * record: the request signed by our client, the response by the
 * service's provider, and SHA-512 of each signed message.xml equal to
 * the digest the audit store recorded for the bytes sent and received.
 *
 *   - Downloads (adp_fetch_get): one GET of the security server's /asic
 *     or /verificationconf on a caller's event loop and upstream
 *     (upstream.h, the configured (m)TLS connection), run to its end,
 *     capped, and its failure explained in plain words.
 *   - The judgement (adp_prove_judge): pure, from plain facts, so it is
 *     unit-tested without a security server.
 *   - One query (adp_prove_one): audit lookup, two downloads, two
 *     verifications, the judgement. Used by `vayla audit prove` and by
 *     GET /v1/audit/prove/{message_id} (api_prove.c).
 *
 * Thread-safety: a struct adp_prove_env belongs to the thread that runs
 * its event loop; the verification configuration may be shared.
 */
#ifndef VAYLA_PROVE_H
#define VAYLA_PROVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
#include <xroad/xroad.h>

#include "audit.h"
#include "config.h"
#include "upstream.h"

#define ADP_ASIC_MAX_BYTES  (64u * 1024u * 1024u) /* one /asic answer */
#define ADP_VCONF_MAX_BYTES (8u * 1024u * 1024u)  /* /verificationconf */
#define ADP_FETCH_MSG_MAX   512u
#define ADP_PROVE_ID_MAX    (XR_TEXT_MAX + 1)

/* Where downloads go. Everything borrowed. */
struct adp_fetch {
    struct event_base *base;
    struct adp_upstream *up;
    const struct adp_config_ss *ss;
    long timeout_ms_max; /* > 0: each download ends by then */
};

enum adp_fetch_status {
    ADP_FETCH_OK,
    ADP_FETCH_NOT_FOUND,       /* 404: no signed documents */
    ADP_FETCH_NOT_TIMESTAMPED, /* not time-stamped yet */
    ADP_FETCH_DENIED,          /* 401/403: IS authentication, address */
    ADP_FETCH_BAD_PARAMS,      /* 400 */
    ADP_FETCH_ENCRYPTED,       /* archive encryption: OpenPGP answer */
    ADP_FETCH_TOO_LARGE,       /* over the download cap */
    ADP_FETCH_SERVER_ERROR,    /* 500 and other statuses */
    ADP_FETCH_UNREACHABLE      /* connect, TLS, timeout, broken */
};

struct adp_fetch_result {
    enum adp_fetch_status st;
    long http_status;
    uint8_t *body; /* owned (NUL-terminated); NULL unless OK */
    size_t len;
    char msg[ADP_FETCH_MSG_MAX]; /* plain words; "" when OK */
};

/* "ok", "not_found", "not_timestamped", ... Static. */
const char *adp_fetch_status_name(enum adp_fetch_status st);

/*
 * GET `path` (e.g. "/verificationconf") to its end on f's loop, at most
 * max bytes. `what` names the download in the message. out->body is
 * owned by the caller (adp_fetch_result_cleanup()).
 * Returns false only when the loop could not run the exchange (out->st
 * UNREACHABLE with the reason).
 */
bool adp_fetch_get(const struct adp_fetch *f, const char *path, size_t max,
                   const char *what, struct adp_fetch_result *out);
void adp_fetch_result_cleanup(struct adp_fetch_result *r);

/* The parameters of one /asic download. */
struct adp_asic_query {
    const char *query_id;
    const struct xr_id *client; /* the client of the message */
    bool request_only, response_only, unique;
};

/* "/asic?queryId=...": false when it does not fit in size. */
bool adp_asic_path(const struct adp_asic_query *q, char *buf, size_t size);

/*
 * The verification configuration from PATH (the ZIP or the folder it
 * unpacks to). False with the reason printed on stderr.
 * Ownership: *vc new (xr_vconf_free()).
 */
bool adp_vconf_load_path(const char *path, struct xr_vconf **vc);

/* GET /verificationconf and load it. False with out->msg set. */
bool adp_vconf_fetch(const struct adp_fetch *f, struct xr_vconf **vc,
                     struct adp_fetch_result *out);

/* ---- the judgement ---- */

enum adp_prove_verdict {
    ADP_PROVE_PROVEN,
    ADP_PROVE_NOT_IN_AUDIT,
    ADP_PROVE_NO_RESPONSE_IN_AUDIT,
    ADP_PROVE_MISSING_CONTAINER,
    ADP_PROVE_NOT_TIMESTAMPED,
    ADP_PROVE_INVALID_CONTAINER,
    ADP_PROVE_WRONG_SIGNER,
    ADP_PROVE_REQUEST_DIFFERS,
    ADP_PROVE_RESPONSE_DIFFERS,
    ADP_PROVE_FETCH_FAILED /* the security server could not be asked */
};
#define ADP_PROVE_VERDICTS 10u

/* "proven", "not_in_audit", ... Static. */
const char *adp_prove_verdict_name(enum adp_prove_verdict v);

/* What is known of one side (request or response). Pointers borrowed. */
struct adp_prove_evidence {
    enum adp_fetch_status fetch;
    const char *fetch_msg;
    bool valid;                 /* libxroad: every check passed */
    const char *code;           /* libxroad's error code when invalid */
    const char *msg;            /* its message */
    const struct xr_id *signer; /* the signer it names; NULL unknown */
    const uint8_t *message;     /* message.xml as signed */
    size_t message_len;
};

struct adp_prove_input {
    bool in_audit;
    const uint8_t *request_sha512;  /* NULL: not recorded */
    const uint8_t *response_sha512; /* NULL: no response recorded */
    const struct xr_id *client;     /* must sign the request */
    const struct xr_id *provider;   /* must sign the response */
    struct adp_prove_evidence req, resp;
};

/* The outcome of one side, for the JSON and the line. */
struct adp_prove_side {
    bool checked;      /* a container was fetched and verified */
    bool valid;        /* libxroad said valid */
    bool signer_ok;    /* signed by whom it must be */
    bool digest_match; /* SHA-512 equal to the audit record */
};

struct adp_prove_result {
    enum adp_prove_verdict verdict;
    char code[64];     /* libxroad's or the download's code, or "" */
    char detail[1024]; /* plain words */
    char hint[512];    /* what to change, or "" */
    struct adp_prove_side req, resp;
};

/* Judge from the facts. Pure. */
void adp_prove_judge(const struct adp_prove_input *in,
                     struct adp_prove_result *out);

/* ---- one query ---- */

struct adp_prove_env {
    struct adp_fetch fetch;
    const struct adp_config *cfg; /* [xroad] client, API callers' clients */
    struct adp_audit *audit;      /* owned, read-only */
    struct xr_vconf *vc;          /* owned */
    struct xr_asic_cache *cache;  /* owned; may be NULL */
};

/* Why adp_prove_env_open() failed. */
enum adp_prove_open {
    ADP_PROVE_OPEN_OK,
    ADP_PROVE_OPEN_AUDIT, /* the audit store (unset or unreadable) */
    ADP_PROVE_OPEN_VCONF, /* the verification configuration */
    ADP_PROVE_OPEN_FETCH  /* its download: *fetch says why */
};

/*
 * Set env up (env->fetch and env->cfg set by the caller): the audit store
 * read-only, the verification configuration from conf_path (NULL:
 * downloaded from the security server) and a cache. msg says why not.
 * Close it in every case.
 */
enum adp_prove_open adp_prove_env_open(struct adp_prove_env *env,
                                       const char *conf_path,
                                       enum adp_fetch_status *fetch, char *msg,
                                       size_t size);
void adp_prove_env_close(struct adp_prove_env *env);

/*
 * Prove one audited query. Returns false only when the audit store
 * could not be read (err set); otherwise *out holds the verdict.
 */
bool adp_prove_one(const struct adp_prove_env *env, const char *message_id,
                   struct adp_prove_result *out, struct xr_error *err);

/* {"message_id","verdict","proven","code","detail","hint","request",
 * "response"}. Ownership: new reference (NULL when out of memory). */
json_t *adp_prove_json(const char *message_id,
                       const struct adp_prove_result *r);

#endif

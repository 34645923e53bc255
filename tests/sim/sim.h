/*
 * vayla-sim: a simulator of the client-facing side of an X-Road security
 * server (the part an information system talks to), with a VTJkysely
 * HenkilonTunnusKysely service behind it. Used by the integration tests and
 * by `vayla dev init` environments; never by the product.
 *
 * Modules (one prefix each):
 *   sim_conf.c    sim.conf (INI) -> struct sim_conf
 *   sim_http.c    minimal HTTP/1.1 server on bufferevents (plain and TLS)
 *                 with the wire-level behaviours fault injection needs
 *   sim_tls.c     server SSL_CTX and client certificate fingerprints
 *   sim_fault.c   fault-injection names: parse and format
 *   sim_soap.c    X-Road request checks, fault codes, response envelopes
 *   sim_vtj.c     the VTJ service and its dataset of test persons
 *   sim_echo.c    the echo service (a second, non-VTJ service)
 *   sim_meta.c    X-Road's metaservices: listClients, listMethods,
 *                 allowedMethods, getWsdl
 *   sim_opmon.c   operational monitoring: a record of every exchange and
 *                 getSecurityServerOperationalData
 *   sim_mime.c    multipart/related answers (SwA, MTOM)
 *   sim_msglog.c  message log (request and response bytes by message id)
 *   sim_util.c    small shared helpers (strlcpy, number parsing, log)
 *   sim_main.c    options, listeners, request dispatch, control endpoint
 *
 * Single-threaded: everything runs on one libevent event_base, so no
 * function here is thread-safe unless it says "reentrant". Functions that
 * return int give 0 on success and -1 on failure.
 */
#ifndef VAYLA_SIM_H
#define VAYLA_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <libxml/tree.h>
#include <openssl/ssl.h>

#include <xroad/xroad.h>

/* ------------------------------------------------------------------ */
/* Configuration (sim_conf.c)                                          */

#define SIM_PATH_MAX     4096
#define SIM_MAX_CLIENTS  16
#define SIM_MAX_CERTS    8 /* IS certificates per client subsystem */
#define SIM_MAX_SERVICES 16
#define SIM_MAX_ALLOW    16  /* access-right entries per service */
#define SIM_MAX_MEMBERS  32  /* [member.NAME] sections */
#define SIM_TEXT_MAX     256 /* member and subsystem names */
#define SIM_NAME_MAX     64
#define SIM_SECRET_MAX   256

/* Fault-code spelling: X-Road 7.x CamelCase or 7.8+ snake_case. */
enum sim_style { SIM_STYLE_CAMEL, SIM_STYLE_SNAKE };

/* IS connection type of a client subsystem (UG-SS 9.1). */
enum sim_conntype { SIM_CONN_NOSSL, SIM_CONN_SSLNOAUTH, SIM_CONN_SSLAUTH };

/* One client subsystem registered on the simulated security server. */
struct sim_client {
    char name[SIM_NAME_MAX]; /* section suffix: [client.NAME] */
    struct xr_id id;
    enum sim_conntype conntype;
    size_t ncerts;
    uint8_t certs[SIM_MAX_CERTS][32]; /* SHA-256 of the DER certificate */
};

/* Services the simulator provides. */
enum sim_service_kind { SIM_SERVICE_VTJ, SIM_SERVICE_ECHO };

struct sim_service {
    char name[SIM_NAME_MAX]; /* section suffix: [service.NAME] */
    enum sim_service_kind kind;
    struct xr_id id;
    size_t nallow;
    struct xr_id allow[SIM_MAX_ALLOW]; /* clients with an access right */
    char wsdl_file[SIM_PATH_MAX];      /* "" = a generated WSDL */
};

/* A member or subsystem of the instance, for listClients (global
 * configuration): [member.NAME]. */
struct sim_member {
    char name[SIM_NAME_MAX]; /* section suffix */
    struct xr_id id;         /* MEMBER or SUBSYSTEM */
    char display_name[SIM_TEXT_MAX];
    char subsystem_name[SIM_TEXT_MAX];
};

/*
 * [asic]: the signed message log (sim_asic.c). Zeros: off (no pki),
 * batch time-stamps every second, bodies logged.
 */
struct sim_asic_conf {
    char pki_dir[SIM_PATH_MAX]; /* {ca,ocsp,tsa}.{pem,key}, sign-*.{pem,key} */
    char instance[SIM_NAME_MAX];
    bool single_ts;             /* timestamping = single (else batch) */
    unsigned batch_interval_ms; /* 0 = 1000 */
    bool no_body_logging;       /* body_logging = false */
};

struct sim_conf {
    char dir[SIM_PATH_MAX]; /* directory of the config file */
    char listen[64];        /* address of the SOAP listeners */
    int https_port;         /* -1 = off, 0 = ephemeral */
    int http_port;
    int control_port; /* always on 127.0.0.1 */
    char cert_file[SIM_PATH_MAX];
    char key_file[SIM_PATH_MAX];
    char dataset_file[SIM_PATH_MAX]; /* "" = built-in dataset */
    char msglog_dir[SIM_PATH_MAX];   /* "" = in memory only */
    char fault[160];                 /* initial fault injection */
    enum sim_style style;
    size_t max_body_bytes;
    size_t nclients;
    struct sim_client clients[SIM_MAX_CLIENTS];
    size_t nservices;
    struct sim_service services[SIM_MAX_SERVICES];
    size_t nmembers;
    struct sim_member members[SIM_MAX_MEMBERS];
    /* The security server itself: its owner serves operational data. */
    bool has_security_server;
    struct xr_id security_server; /* SERVER */
    long opmon_offset_s;          /* records younger than this are not
                                     served yet (X-Road: 60) */
    size_t opmon_max_records;     /* per answer (X-Road: 10000) */
    size_t opmon_keep;            /* records kept, oldest dropped */
    char vtj_username[SIM_NAME_MAX];
    char vtj_password[SIM_SECRET_MAX]; /* secret: never logged */
    struct sim_asic_conf asic;
};

/*
 * Defaults: listen 127.0.0.1, ports 8443 (HTTPS) / 8080 (HTTP) / 8099
 * (control), camel-case codes, 4 MiB bodies, fault "none", no clients.
 * Ownership: caller storage. Thread-safety: reentrant.
 */
void sim_conf_init(struct sim_conf *conf);

/*
 * Parse sim.conf into *conf (defaults first). On error prints nothing and
 * returns -1 with "path:line: section.key: reason" in errbuf.
 * Ownership: caller storage (large: allocate it). Thread-safety: reentrant.
 */
int sim_conf_load(struct sim_conf *conf, const char *path, char *errbuf,
                  size_t errsize);

/*
 * Wipe the secrets held in *conf (the VTJ password).
 * Ownership: caller storage; nothing is freed. Thread-safety: reentrant.
 */
void sim_conf_cleanup(struct sim_conf *conf);

/*
 * "NOSSL", "SSLNOAUTH", "SSLAUTH".
 * Ownership: static string. Thread-safety: reentrant.
 */
const char *sim_conntype_name(enum sim_conntype t);

/* ------------------------------------------------------------------ */
/* Fault injection (sim_fault.c)                                       */

enum sim_fault_kind {
    SIM_FAULT_NONE,
    SIM_FAULT_LATENCY,          /* latency:MS */
    SIM_FAULT_STALL,            /* never answer */
    SIM_FAULT_DROP,             /* close without answer */
    SIM_FAULT_TRUNCATE,         /* Content-Length > body, then close */
    SIM_FAULT_GARBAGE,          /* 200 with a non-XML body */
    SIM_FAULT_OVERSIZE,         /* > 32 MiB, streamed */
    SIM_FAULT_BAD_REQUEST_HASH, /* requestHash of other bytes */
    SIM_FAULT_NO_REQUEST_HASH,  /* requestHash left out */
    SIM_FAULT_ALTER_HEADER,     /* alter_header:FIELD */
    SIM_FAULT_HTTP500_FAULT,    /* SOAP fault with HTTP 500 */
    SIM_FAULT_SLOW_DRIP,        /* slow_drip[:BYTES_PER_SECOND] */
    SIM_FAULT_FAULT_CODE,       /* fault:CODE */
    SIM_FAULT_REORDER_HEADER,   /* DVV's adapter: header in WSDL order */
    SIM_FAULT_VERSION_WS,       /* protocolVersion "4.0" + whitespace */
    SIM_FAULT_DVV_HEADER,       /* both of the above, as DVV answers */
    SIM_FAULT_HTTP_STATUS,      /* http_status:CODE with a valid answer */
    SIM_FAULT_HTTP500_GARBAGE,  /* HTTP 500 with a non-XML body */
    SIM_FAULT_CLOSE_IDLE        /* close_idle:MS after a normal answer */
};

#define SIM_DRIP_BPS_DEFAULT 64u /* "a few bytes per second" */

struct sim_fault {
    enum sim_fault_kind kind;
    unsigned latency_ms;  /* SIM_FAULT_LATENCY, SIM_FAULT_CLOSE_IDLE */
    unsigned drip_bps;    /* SIM_FAULT_SLOW_DRIP: body bytes per second */
    unsigned http_status; /* SIM_FAULT_HTTP_STATUS */
    char arg[128];        /* FIELD or CODE */
};

/*
 * Parse a fault-injection name ("none", "latency:250", "fault:CODE", ...;
 * docs/simulator.md section 7). Returns 0, or -1 with a reason in errbuf.
 * Ownership: *out is caller storage; text is borrowed.
 * Thread-safety: reentrant.
 */
int sim_fault_parse(const char *text, struct sim_fault *out, char *errbuf,
                    size_t errsize);

/*
 * Format back into the canonical text form (truncated to size).
 * Ownership: caller storage. Thread-safety: reentrant.
 */
void sim_fault_format(const struct sim_fault *f, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* HTTP server (sim_http.c)                                            */

#define SIM_HTTP_MAX_HEADERS     64
#define SIM_HTTP_MAX_HEAD_BYTES  (16u * 1024u)
#define SIM_HTTP_IDLE_TIMEOUT_S  60
#define SIM_HTTP_MAX_CONNECTIONS 256

struct sim_http_header {
    char *name;  /* owned by the request */
    char *value; /* owned by the request, trimmed */
};

/* One parsed request. Everything is owned by the connection. */
struct sim_http_req {
    char method[16];
    char target[1024];
    size_t nheaders;
    struct sim_http_header headers[SIM_HTTP_MAX_HEADERS];
    uint8_t *body; /* NUL-terminated for convenience */
    size_t body_len;
    bool tls;
    X509 *peer_cert; /* get0: client certificate, NULL when none */
    char peer_addr[64];
    int64_t recv_ms; /* Unix ms when the whole request was read */
};

struct sim_http_conn;
struct sim_http_server;

/*
 * Called once per complete request. The handler must answer exactly once
 * with one of sim_http_reply(), sim_http_reply_stream(), sim_http_drop()
 * or sim_http_stall(), now or later from a timer. req is valid until then.
 */
typedef void sim_http_handler_fn(struct sim_http_conn *conn,
                                 struct sim_http_req *req, void *arg);

struct sim_http_opts {
    SSL_CTX *ssl_ctx;      /* NULL = plain HTTP; get0, must outlive server */
    size_t max_body_bytes; /* bigger bodies get 413 and a close */
    sim_http_handler_fn *handler;
    void *handler_arg;
};

/*
 * Listen on addr:port (port 0 = ephemeral). *bound_port receives the real
 * port. On failure errbuf says why.
 * Ownership: *out is new, free with sim_http_server_free(), which also
 * closes every connection; opts is copied, opts->ssl_ctx is borrowed.
 * Thread-safety: loop thread only.
 */
int sim_http_server_new(struct event_base *base, const char *addr, int port,
                        const struct sim_http_opts *opts,
                        struct sim_http_server **out, int *bound_port,
                        char *errbuf, size_t errsize);
void sim_http_server_free(struct sim_http_server *srv);

/*
 * Value of a request header (case-insensitive name; the first one when
 * repeated), or NULL.
 * Ownership: get0, valid until the request is answered. Thread-safety: loop
 * thread only.
 */
const char *sim_http_header(const struct sim_http_req *req, const char *name);

/* How a reply is put on the wire. Zeros = a normal reply. */
struct sim_http_wire {
    unsigned delay_ms;      /* wait before sending anything */
    bool truncate;          /* announce more bytes than sent, then close */
    unsigned drip_bytes;    /* >0: send this many body bytes per tick */
    unsigned drip_tick_ms;  /* tick for drip_bytes */
    unsigned close_idle_ms; /* >0: close the kept-alive connection this
                               long after the reply if no request came */
};

/*
 * Send a reply (status line, Content-Type, Content-Length, body), shaped by
 * *wire (NULL = normal). After the call conn and its request belong to
 * the server again: do not touch them.
 * Ownership: body is copied. Thread-safety: loop thread only.
 */
void sim_http_reply(struct sim_http_conn *conn, int status,
                    const char *content_type, const uint8_t *body, size_t len,
                    const struct sim_http_wire *wire);

/*
 * Stream a reply of total_len bytes: head, then whitespace filler produced
 * in pieces as the socket drains, then tail. Nothing big is held in
 * memory. conn is not to be touched afterwards.
 * Ownership: head and tail are copied. Thread-safety: loop thread only.
 */
void sim_http_reply_stream(struct sim_http_conn *conn, int status,
                           const char *content_type, const char *head,
                           const char *tail, uint64_t total_len);

/*
 * Close the connection without answering (after a TLS close_notify).
 * Ownership: frees conn and its request. Thread-safety: loop thread only.
 */
void sim_http_drop(struct sim_http_conn *conn);

/*
 * Never answer; keep the connection (without idle timeout) until the
 * client gives up. Ownership: conn stays with the server.
 * Thread-safety: loop thread only.
 */
void sim_http_stall(struct sim_http_conn *conn);

/* ------------------------------------------------------------------ */
/* TLS (sim_tls.c)                                                     */

/*
 * Server context: TLS 1.2+, certificate and key from files, client
 * certificates requested but not required and not chain-checked (the
 * security server matches them against the IS certificate list instead,
 * like X-Road's trust-all trust manager).
 * Ownership: *out is new (SSL_CTX_free). Thread-safety: reentrant.
 */
int sim_tls_ctx_new(const char *cert_file, const char *key_file, SSL_CTX **out,
                    char *errbuf, size_t errsize);

/*
 * SHA-256 of a certificate's DER into out. Returns 0 or -1.
 * Ownership: cert is borrowed. Thread-safety: reentrant.
 */
int sim_tls_fingerprint(X509 *cert, uint8_t out[32]);

/*
 * Parse "AB:CD:..." or "abcd..." (64 hex digits, colons optional) into
 * out. Returns 0 or -1. Thread-safety: reentrant.
 */
int sim_tls_parse_fingerprint(const char *text, uint8_t out[32]);

/* ------------------------------------------------------------------ */
/* Message log (sim_msglog.c)                                          */

#define SIM_MSGLOG_MAX_ENTRIES 4096
#define SIM_MSGLOG_MAX_BYTES   (1024u * 1024u) /* per stored message */

struct sim_msglog;

/*
 * dir "" keeps the log in memory only (bounded by the caps above);
 * otherwise each exchange is also written to DIR/<name>.request.xml,
 * .response.xml and .meta.json, name = sanitised id + short hash. DIR is
 * created (0700) when missing.
 * Ownership: *out is new (sim_msglog_free, accepts NULL).
 * Thread-safety: loop thread only.
 */
int sim_msglog_new(const char *dir, struct sim_msglog **out, char *errbuf,
                   size_t errsize);
void sim_msglog_free(struct sim_msglog *log);

/*
 * Record one exchange. id may be NULL (unparsable request): a synthetic
 * id is used. outcome is a short text ("ok", "fault Client.InvalidBody",
 * "injected drop"). File errors are logged, not returned.
 * Ownership: bytes are copied (capped at SIM_MSGLOG_MAX_BYTES).
 * Thread-safety: loop thread only.
 */
void sim_msglog_add(struct sim_msglog *log, const char *id, const uint8_t *req,
                    size_t req_len, const uint8_t *resp, size_t resp_len,
                    const char *outcome);

/*
 * JSON (jansson) views for the control endpoint. NULL when the id is
 * unknown (or on allocation failure).
 * Ownership: new string, free(). Thread-safety: loop thread only.
 */
char *sim_msglog_list_json(const struct sim_msglog *log);
char *sim_msglog_entry_json(const struct sim_msglog *log, const char *id);

/*
 * Stored bytes of the newest exchange with this id (request or response);
 * NULL if unknown or evicted.
 * Ownership: get0, valid until the next sim_msglog_add().
 */
const uint8_t *sim_msglog_bytes(const struct sim_msglog *log, const char *id,
                                bool response, size_t *len);

/* ------------------------------------------------------------------ */
/* SOAP / X-Road behaviour (sim_soap.c)                                */

/*
 * Format an X-Road fault code in the configured style: "Client.InvalidBody"
 * stays as is (CAMEL) or becomes "client.invalid_body" (SNAKE).
 * Ownership: caller storage (truncated to size). Thread-safety: reentrant.
 */
void sim_soap_code(enum sim_style style, const char *camel, char *out,
                   size_t size);

/*
 * Map a libxroad request-parse reason ("missing_header", ...) to the
 * CamelCase code the security server answers with ("Client.MissingHeader")
 * and a faultstring. Unknown reasons give Server.ClientProxy.InternalError.
 * Ownership: static strings. Thread-safety: reentrant.
 */
void sim_soap_reason_code(const char *reason, const char **camel,
                          const char **text);

/*
 * Build an X-Road fault body as a security server does (unqualified
 * children, empty faultactor, UUID faultDetail). code is used verbatim.
 * Ownership: *out is new, NUL-terminated (free()).
 * Thread-safety: reentrant.
 */
int sim_soap_fault(const char *code, const char *text, char **out, size_t *len);

/*
 * The same with a faultactor (NULL = empty) and a faultDetail (NULL or ""
 * = a fresh UUID), as SoapFault.createFaultXml writes them.
 * Ownership: *out is new, NUL-terminated (free()). Thread-safety:
 * reentrant.
 */
int sim_soap_fault_ex(const char *code, const char *text, const char *actor,
                      const char *detail, char **out, size_t *len);

/*
 * What a client's security server answers to a request that
 * xr_request_parse() refused: the fault code (CamelCase 7.x spelling,
 * before sim_soap_code()) and X-Road's faultstring for the refusal.
 * A request that is itself a SOAP Fault is answered with that fault's
 * own code behind the origin prefix ("Client.CODE" / "client.CODE", as
 * X-Road's SoapFaultToClientProxy case asserts), string, actor and detail;
 * then from_fault is true and code is already in its final spelling.
 */
struct sim_refusal {
    bool from_fault;
    char code[XR_TEXT_MAX + 16];
    char string[XR_TEXT_MAX + 1];
    char actor[XR_TEXT_MAX + 1];  /* "" = empty faultactor */
    char detail[XR_TEXT_MAX + 1]; /* "" = a fresh UUID */
};

/*
 * Fill *out for a request (content_type, body) that xr_request_parse()
 * refused with *err. limits are the ones the parse used (NULL =
 * libxroad's defaults).
 * Ownership: everything borrowed; *out is caller storage.
 * Thread-safety: reentrant.
 */
void sim_soap_refusal(enum sim_style style, const char *content_type,
                      const uint8_t *body, size_t len,
                      const struct xr_limits *limits,
                      const struct xr_error *err, struct sim_refusal *out);

/* How the response header is echoed. */
struct sim_echo {
    enum { SIM_HASH_OK, SIM_HASH_WRONG, SIM_HASH_NONE } hash;
    char alter_field[32]; /* "" or client/service/id/userId/issue */
    /*
     * DVV's adapter (a WCF service) writes the header itself: the fields
     * of the WSDL's output header in the WSDL's order, each element with
     * its own namespace declarations (prefixes h and a), then any other
     * header element as received.
     */
    bool reorder;
    /* protocolVersion answered as "4.0" followed by a newline and indent. */
    bool version_ws;
};

/*
 * Start a response: a copy of the request envelope whose Header is the
 * request header exactly as received (or as DVV rewrites it, per *echo)
 * plus requestHash right after id (or altered per *echo), and whose Body
 * is empty. requestHash gets id's prefix, and id's own namespace
 * declarations when id declares its namespace itself, so the answer is
 * well-formed and requestHash is in the X-Road namespace whatever the
 * client's SOAP stack did. *body receives the Body element for the
 * service to fill.
 * Ownership: *out is a new document (xmlFreeDoc); *body is get0 (in
 * *out); req is borrowed. Thread-safety: reentrant.
 */
int sim_soap_response_new(struct xr_request *req, const struct sim_echo *echo,
                          xmlDocPtr *out, xmlNodePtr *body);

/*
 * Indent the (element-only) content of Body for human readers; text-free
 * whitespace only, so the XML means the same.
 * Ownership: modifies the tree in place. Thread-safety: reentrant.
 */
void sim_soap_indent_body(xmlNodePtr body);

/*
 * Serialise with an XML declaration, UTF-8, indenting new elements.
 * Ownership: *out is new, NUL-terminated (free()). Thread-safety: reentrant.
 */
int sim_soap_serialize(xmlDocPtr doc, uint8_t **out, size_t *len);

/* ------------------------------------------------------------------ */
/* VTJ service (sim_vtj.c)                                             */

struct sim_vtj;

/*
 * Load the dataset: a JSON file, or the built-in persons.json when path is
 * NULL or "". username/password are copied (password wiped on free).
 * Ownership: *out is new (sim_vtj_free, accepts NULL).
 * Thread-safety: reentrant.
 */
int sim_vtj_new(const char *dataset_path, const char *username,
                const char *password, struct sim_vtj **out, char *errbuf,
                size_t errsize);
void sim_vtj_free(struct sim_vtj *vtj);

/* Number of persons in the dataset. Thread-safety: reentrant. */
size_t sim_vtj_person_count(const struct sim_vtj *vtj);

/*
 * Answer one HenkilonTunnusKysely: `wrapper` is the request's Body child;
 * the HenkilonTunnusKyselyResponse element is appended to `body`. Business
 * errors (wrong password, missing Loppukayttaja, not found) are answers,
 * not failures. outcome receives a short text for the message log
 * ("Paluukoodi 0000", "faultCode 0001", ...; never a hetu). Returns 0, or
 * -1 on allocation failure.
 * Ownership: wrapper is borrowed; the new nodes belong to body's document.
 * Thread-safety: reentrant (the dataset is read-only).
 */
int sim_vtj_answer(const struct sim_vtj *vtj, xmlNodePtr wrapper,
                   xmlNodePtr body, char *outcome, size_t outsize);

/* The built-in dataset (generated from persons.json at build time). */
extern const unsigned char sim_persons_json[];
extern const size_t sim_persons_json_len;

/* ------------------------------------------------------------------ */
/* Multipart answers (sim_mime.c)                                      */

/* One attachment. Pointers are borrowed. */
struct sim_part {
    const char *content_type;
    const char *content_id; /* without <>; "" or NULL for none */
    const uint8_t *data;
    size_t len;
};

/*
 * A multipart/related body: the SOAP part (text/xml, or for MTOM
 * application/xop+xml) and the attachments, each with Content-ID and
 * binary transfer encoding, under a boundary that occurs in none of them.
 * ctype receives the HTTP Content-Type (at least 256 bytes).
 * Ownership: *out new (free()). Thread-safety: reentrant.
 */
int sim_mime_build(const uint8_t *soap, size_t soap_len, bool mtom,
                   const struct sim_part *parts, size_t n, uint8_t **out,
                   size_t *out_len, char *ctype, size_t ctype_size);

/* ------------------------------------------------------------------ */
/* Services and metaservices: what a handler answers                   */

/*
 * A handler appends its answer to the response Body, or asks for a SOAP
 * fault instead. Attachments it adds (at most SIM_MAX_PARTS) are sent as
 * a multipart answer; their bytes are owned by the answer (free()).
 */
#define SIM_MAX_PARTS 32

struct sim_answer {
    bool fault;          /* answer with a fault instead of the Body */
    bool fault_verbatim; /* code as given (a service's own fault) */
    char fault_code[160];
    char fault_text[512];
    char outcome[128]; /* for the message log */
    bool mtom;         /* the SOAP part as application/xop+xml */
    size_t nparts;
    struct sim_part parts[SIM_MAX_PARTS];
    char part_ctype[SIM_MAX_PARTS][256];
    char part_cid[SIM_MAX_PARTS][256];
    uint8_t *part_data[SIM_MAX_PARTS]; /* owned */
};

/* Add an attachment (copied). Returns 0, or -1 when full or out of
 * memory. */
int sim_answer_part(struct sim_answer *a, const char *ctype, const char *cid,
                    const uint8_t *data, size_t len);
/* Free the attachments. */
void sim_answer_cleanup(struct sim_answer *a);
/* Ask for a fault (code in 7.x CamelCase unless verbatim). */
void sim_answer_fault(struct sim_answer *a, bool verbatim, const char *code,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------------ */
/* The echo service (sim_echo.c)                                       */

/*
 * Answer one echo request: `wrapper` is the request's Body child; a
 * <wrapper-name>Response element in the wrapper's namespace with copies
 * of the wrapper's attributes and children is appended to `body`, and
 * every attachment of the request (content_type, body, len: the HTTP
 * request) is sent back with its Content-Type and Content-ID, MTOM when
 * the request was MTOM. A child element `fault` asks for a SOAP fault:
 * its text is the faultcode (verbatim), its `string` attribute the
 * faultstring. Returns 0, or -1 on allocation failure.
 */
int sim_echo_answer(xmlNodePtr wrapper, const char *content_type,
                    const uint8_t *req, size_t req_len, xmlNodePtr body,
                    struct sim_answer *a);

/* ------------------------------------------------------------------ */
/* Metaservices (sim_meta.c)                                           */

/*
 * listClients: the instance's members and subsystems from sim.conf
 * ([member.*], every [client.*], every service provider and their
 * members), XML clientList or snake_case JSON, optionally of one
 * instance. Ownership: *out new (free()).
 */
int sim_meta_list_clients(const struct sim_conf *conf, const char *instance,
                          bool json, char **out, size_t *len);

/*
 * listMethods / allowedMethods / getWsdl to the provider of hdr->service,
 * for hdr->client: the answer appended to body (getWsdl: the WSDL as an
 * attachment, its soap:address locations replaced as X-Road does), or a
 * fault in *a. Returns 0, or -1 on allocation failure.
 */
int sim_meta_answer(const struct sim_conf *conf, enum xr_meta_kind kind,
                    const struct xr_header *hdr, xmlNodePtr wrapper,
                    xmlNodePtr body, struct sim_answer *a);

/*
 * The WSDL text with every soap:address / soap12:address location
 * replaced by XR_META_WSDL_LOCATION. Ownership: *out new (free()).
 */
int sim_meta_wsdl_rewrite(const uint8_t *wsdl, size_t len, uint8_t **out,
                          size_t *out_len);

/* ------------------------------------------------------------------ */
/* Operational monitoring (sim_opmon.c)                                */

struct sim_opmon;

/* What the security server records about one exchange. */
struct sim_opmon_exchange {
    const struct xr_header *hdr; /* the parsed request header */
    int64_t request_in_ms;
    size_t request_size; /* the SOAP part */
    size_t request_mime_size;
    unsigned request_attachments;
    size_t response_size;
    size_t response_mime_size;
    unsigned response_attachments;
    bool succeeded;
    const char *fault_code; /* NULL unless a fault */
    const char *fault_string;
    const char *internal_ip;
    const char *xroad_version;
};

/* Ownership: *out new (sim_opmon_free, accepts NULL). keep >= 1. */
int sim_opmon_new(size_t keep, struct sim_opmon **out);
void sim_opmon_free(struct sim_opmon *m);

/* Record one exchange now (copied). Allocation failures drop it with a
 * log line. */
void sim_opmon_add(struct sim_opmon *m, const struct sim_opmon_exchange *x);

/* Records kept. */
size_t sim_opmon_count(const struct sim_opmon *m);

/*
 * getSecurityServerOperationalData for hdr->client: the answer appended
 * to body with the gzip'd JSON records as an attachment, or a fault in
 * *a (invalid request, as X-Road refuses it). The owner (a MEMBER client
 * equal to the owner of conf's security server, naming that server in
 * the securityServer header) reads every record, anyone else the
 * records of exchanges it took part in as client or as provider.
 * Returns 0, or -1 on allocation failure.
 */
int sim_opmon_answer(const struct sim_opmon *m, const struct sim_conf *conf,
                     const struct xr_header *hdr, xmlNodePtr wrapper,
                     xmlNodePtr body, struct sim_answer *a);

/* ------------------------------------------------------------------ */
/* Signed message log (sim_asic.c, sim_asic_http.c)                    */

/*
 * One [asic] key into conf->asic (relative paths against conf->dir).
 * Returns 0, or -1 with the reason in why.
 * Thread-safety: reentrant.
 */
int sim_asic_conf_set(struct sim_conf *conf, const char *key, const char *value,
                      char *why, size_t size);

struct sim_asic;

/*
 * Load the PKI named by conf->asic (a security server's signing keys, its
 * CA's OCSP responder and a TSA) and start the batch time-stamp timer on
 * base. *out stays NULL (and 0 is returned) when [asic] is not set.
 * Ownership: *out is new (sim_asic_free, accepts NULL).
 * Thread-safety: loop thread only.
 */
int sim_asic_new(struct event_base *base, const struct sim_conf *conf,
                 struct sim_asic **out, char *errbuf, size_t errsize);
void sim_asic_free(struct sim_asic *a);

/*
 * Log one completed exchange as a security server does: the request
 * signed with the client member's key, the response with the provider's,
 * each with an OCSP response, time-stamped at once (single) or with the
 * next batch. With body logging off the logged messages have an empty
 * body (the signatures stay those of the real messages).
 * Ownership: everything is copied. Thread-safety: loop thread only.
 */
void sim_asic_log(struct sim_asic *a, struct xr_request *req,
                  const uint8_t *resp, size_t resp_len);

/*
 * GET /asic and GET /verificationconf, as a security server's proxy
 * answers them (xroad-protocol.md 12.2). Returns false when the request
 * is not for these endpoints (the caller goes on with SOAP).
 * Thread-safety: loop thread only.
 */
bool sim_asic_http(struct sim_asic *a, const struct sim_conf *conf,
                   struct sim_http_conn *conn, const struct sim_http_req *req);

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

/* libxml2 wants unsigned char strings; one helper instead of casts. */
static inline const xmlChar *sim_xc(const char *s)
{
    return (const xmlChar *)(const void *)s;
}

static inline const char *sim_cs(const xmlChar *s)
{
    return (const char *)(const void *)s;
}

/* Copy with truncation; returns strlen(src). Thread-safety: reentrant. */
size_t sim_strlcpy(char *dst, const char *src, size_t size);

/*
 * Parse a whole decimal integer in [min, max]. Returns 0 or -1.
 * Thread-safety: reentrant.
 */
int sim_parse_long(const char *s, long min, long max, long *out);

/* Unix time in milliseconds (CLOCK_REALTIME). Thread-safety: reentrant. */
int64_t sim_now_ms(void);

/*
 * Log a line to stderr with a UTC timestamp. Never give it a secret or a
 * hetu. Thread-safety: one line per call (stdio locking).
 */
void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

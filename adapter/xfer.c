/*
 * One exchange with the security server on an adp_curlev (see xfer.h).
 *
 * TLS verification beyond libcurl's own is done in CURLOPT_SSL_CTX_FUNCTION
 * (libcurl creates one SSL_CTX per connection). libcurl's
 * CURLOPT_PINNEDPUBLICKEY pins the SubjectPublicKeyInfo, but X-Road
 * operators export and compare the security server's *certificate*, so the
 * pin here is SHA-256 over the leaf certificate's DER encoding, checked in
 * an OpenSSL certificate-verify callback.
 *
 * A connection (and its SSL_CTX) may outlive the exchange that opened it,
 * so the state the OpenSSL callbacks use lives in a small reference-counted
 * `struct tls_state`, shared by the exchange and the SSL_CTX (ex_data with
 * a free function). The callbacks record what happened (pin mismatch and
 * the fingerprint seen, fatal TLS alerts received) so that failures can be
 * reported precisely; e.g. with TLS 1.3 a server that refuses our client
 * certificate says so with an alert after the handshake, which libcurl
 * reports as a receive error.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "xfer.h"

#define BODY_INITIAL_CAP    (16u * 1024u)
/* libcurl's receive buffer, held by every exchange for its whole life
 * (libcurl's default is 16 KiB): one page, as nginx's proxy buffers, a
 * quarter of the memory per exchange waiting on the security server. */
#define RECV_BUFFER_BYTES   4096L
#define ADP_XFER_MAX_IDLE_S 25L /* seconds a pooled connection may idle */
#define FP_TEXT_MAX         (ADP_XFER_PIN_LEN * 3) /* "AB:CD:...:EF" + NUL */

struct tls_state {
    int refs;       /* the exchange + every SSL_CTX configured by it */
    int alert_code; /* the fatal alert read (TLS AlertDescription) */
    bool has_pin;
    uint8_t pin[ADP_XFER_PIN_LEN];
    bool verify_chain; /* ca_file given: X509_verify_cert() first */
    bool pin_mismatch;
    char seen_fp[FP_TEXT_MAX]; /* leaf fingerprint presented */
    bool alert_read;
    char alert[64]; /* fatal alert received from the server */
};

struct adp_xfer {
    struct adp_curlev *cev;     /* borrowed */
    struct adp_curlev_handle h; /* h.easy owned */
    struct curl_slist *headers; /* owned */
    uint8_t *req_body;          /* owned copy: holds the VTJ password */
    size_t req_len;
    adp_xfer_done_fn *done;
    void *ctx;
    struct tls_state *tls; /* one reference, NULL for http */
    uint8_t *body;         /* owned, capped at max */
    size_t len, cap, max;
    bool over_cap; /* write_cb refused: response too large */
    bool oom;      /* write_cb refused: out of memory */
    long connect_timeout_ms, timeout_ms;
    char *url;          /* owned: url + path */
    char *content_type; /* owned copy */
    char errbuf[CURL_ERROR_SIZE];
    struct adp_xfer_result res;
};

static const uint8_t empty_body[1] = {0};

/* ---- tls_state and OpenSSL callbacks ------------------------------------ */

static pthread_once_t ex_once = PTHREAD_ONCE_INIT;
static int ex_index = -1;

static void tls_state_unref(struct tls_state *t)
{
    if (!t)
        return;
    if (--t->refs == 0) {
        OPENSSL_cleanse(t, sizeof(*t));
        free(t);
    }
}

static void tls_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                        long argl, void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    tls_state_unref(ptr);
}

static void ex_init(void)
{
    ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tls_ex_free);
}

static void fp_format(const uint8_t *md, char *out, size_t size)
{
    size_t j = 0;

    for (size_t i = 0; i < ADP_XFER_PIN_LEN && j + 3 < size; i++)
        j += (size_t)snprintf(out + j, size - j, i ? ":%02X" : "%02X", md[i]);
}

/*
 * Replaces OpenSSL's chain verification (SSL_CTX_set_cert_verify_callback):
 * with ca_file run it first, then require the leaf fingerprint to match.
 */
static int cert_verify_cb(X509_STORE_CTX *sctx, void *arg)
{
    struct tls_state *t = arg;
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    X509 *leaf;

    if (t->verify_chain && X509_verify_cert(sctx) <= 0)
        return 0;
    leaf = X509_STORE_CTX_get0_cert(sctx);
    if (!leaf || !X509_digest(leaf, EVP_sha256(), md, &mdlen) ||
        mdlen != ADP_XFER_PIN_LEN) {
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    if (CRYPTO_memcmp(md, t->pin, ADP_XFER_PIN_LEN) != 0) {
        t->pin_mismatch = true;
        fp_format(md, t->seen_fp, sizeof(t->seen_fp));
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    return 1;
}

/* Alert names, including TLS 1.3's that OpenSSL 3.0 prints as "unknown". */
static const char *alert_name(int desc)
{
    switch (desc) {
    case 40:
        return "handshake failure";
    case 42:
        return "bad certificate";
    case 45:
        return "certificate expired";
    case 46:
        return "certificate unknown";
    case 48:
        return "unknown CA";
    case 70:
        return "protocol version";
    case 112:
        return "unrecognized name";
    case 116:
        return "certificate required";
    }
    return SSL_alert_desc_string_long(desc);
}

/* Records the first fatal alert the server sends us (not ours to it). */
static void info_cb(const SSL *ssl, int where, int ret)
{
    struct tls_state *t;

    if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT ||
        (ret >> 8) != SSL3_AL_FATAL)
        return;
    t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index);
    if (!t || t->alert_read)
        return;
    t->alert_read = true;
    t->alert_code = ret & 0xff;
    snprintf(t->alert, sizeof(t->alert), "%s", alert_name(ret & 0xff));
}

/* CURLOPT_SSL_CTX_FUNCTION: called once per new TLS connection. */
static CURLcode ssl_ctx_cb(CURL *curl, void *sslctx, void *parm)
{
    SSL_CTX *ctx = sslctx;
    struct tls_state *t = parm;

    (void)curl;
    if (ex_index < 0 || !SSL_CTX_set_ex_data(ctx, ex_index, t))
        return CURLE_OUT_OF_MEMORY;
    t->refs++;
    /* The callbacks must only ever run during the initial handshake. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_info_callback(ctx, info_cb);
    if (t->has_pin) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_cert_verify_callback(ctx, cert_verify_cb, t);
    }
    return CURLE_OK;
}

/* ---- body --------------------------------------------------------------- */

/* CURLOPT_WRITEFUNCTION: append, enforcing max_response_bytes. */
static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct adp_xfer *x = userdata;
    size_t n = size * nmemb; /* size is always 1 */
    size_t need, ncap;
    uint8_t *nbody;

    if (n == 0)
        return 0; /* libcurl signals an empty body this way */
    if (n > x->max - x->len) {
        x->over_cap = true;
        return 0; /* CURLE_WRITE_ERROR */
    }
    need = x->len + n;
    if (need > x->cap) {
        ncap = x->cap ? x->cap : BODY_INITIAL_CAP;
        while (ncap < need)
            ncap = ncap > x->max / 2 ? x->max : ncap * 2;
        if (ncap > x->max)
            ncap = x->max;
        nbody = realloc(x->body, ncap + 1); /* + NUL */
        if (!nbody) {
            x->oom = true;
            return 0;
        }
        x->body = nbody;
        x->cap = ncap;
    }
    memcpy(x->body + x->len, ptr, n);
    x->len += n;
    x->body[x->len] = '\0';
    return n;
}

/* ---- classification ----------------------------------------------------- */

static const char *detail(const struct adp_xfer *x, CURLcode rc)
{
    return x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
}

static void set_msg(struct adp_xfer *x, enum adp_xfer_class cls,
                    const char *fmt, ...) XR_PRINTF(3, 4);

static void set_msg(struct adp_xfer *x, enum adp_xfer_class cls,
                    const char *fmt, ...)
{
    va_list ap;

    x->res.cls = cls;
    va_start(ap, fmt);
    vsnprintf(x->res.message, sizeof(x->res.message), fmt, ap);
    va_end(ap);
}

/* What an alert from the security server most likely means. */
static const char *alert_hint(int desc)
{
    switch (desc) {
    case 70: /* protocol version */
        return "; the security server does not accept TLS 1.2 or newer, "
               "which vayla requires";
    case 40:  /* handshake failure */
    case 42:  /* bad certificate */
    case 45:  /* certificate expired */
    case 46:  /* certificate unknown */
    case 48:  /* unknown CA */
    case 116: /* certificate required */
        return "; is client_cert registered for this client?";
    }
    return "";
}

static void classify_tls(struct adp_xfer *x, CURLcode rc)
{
    const struct tls_state *t = x->tls;

    if (t && t->pin_mismatch)
        set_msg(x, ADP_XFER_TLS_FAILED,
                "the security server's certificate (SHA-256 %s) does not "
                "match pin_sha256",
                t->seen_fp);
    else if (t && t->alert_read)
        set_msg(x, ADP_XFER_TLS_FAILED,
                "the security server refused the TLS connection (alert: "
                "%s%s): %s",
                t->alert, alert_hint(t->alert_code), detail(x, rc));
    else
        set_msg(x, ADP_XFER_TLS_FAILED, "TLS failed: %s", detail(x, rc));
}

static void classify(struct adp_xfer *x, CURLcode rc)
{
    long status = x->res.http_status;

    x->res.cls = ADP_XFER_OK;
    x->res.message[0] = '\0';
    switch ((int)rc) {
    case CURLE_OK:
        if (status != 200 && status != 500)
            set_msg(x, ADP_XFER_HTTP_STATUS,
                    "the security server answered HTTP %ld", status);
        return;
    case CURLE_WRITE_ERROR:
        if (x->over_cap)
            set_msg(x, ADP_XFER_TOO_LARGE,
                    "the response exceeded max_response_bytes (%zu)", x->max);
        else
            set_msg(x, ADP_XFER_INTERNAL, "out of memory for the response");
        return;
    case CURLE_FILESIZE_EXCEEDED:
        set_msg(x, ADP_XFER_TOO_LARGE,
                "the announced response size exceeds max_response_bytes "
                "(%zu)",
                x->max);
        return;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        set_msg(x, ADP_XFER_CONNECT_FAILED,
                "cannot connect to the security server: %s", detail(x, rc));
        return;
    case CURLE_OPERATION_TIMEDOUT:
        set_msg(x, ADP_XFER_TIMEOUT,
                "deadline exceeded (connect_timeout_ms %ld, timeout_ms "
                "%ld): %s",
                x->connect_timeout_ms, x->timeout_ms, detail(x, rc));
        return;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        classify_tls(x, rc);
        return;
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        /* A fatal TLS alert means the server refused us at the TLS layer
         * (TLS 1.3 reports a refused client certificate after the
         * handshake). */
        if (x->tls && (x->tls->alert_read || x->tls->pin_mismatch))
            classify_tls(x, rc);
        else
            set_msg(x, ADP_XFER_TRUNCATED,
                    "the connection to the security server broke before "
                    "the response was complete (%zu bytes received): %s",
                    x->len, detail(x, rc));
        return;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP_RETURNED_ERROR:
        set_msg(x, ADP_XFER_HTTP_STATUS,
                "invalid HTTP response from the security server: %s",
                detail(x, rc));
        return;
    }
    set_msg(x, ADP_XFER_INTERNAL, "transfer failed: %s", detail(x, rc));
}

/* adp_curlev_done_fn */
static void on_done(CURL *easy, CURLcode rc, void *ctx)
{
    struct adp_xfer *x = ctx;
    long status = 0, nconn = 0;
    curl_off_t total_us = 0;
    char *ct = NULL;

    (void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    (void)curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &nconn);
    (void)curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
    if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        x->content_type = strdup(ct); /* NULL on OOM: reported as absent */
    x->res.http_status = status;
    x->res.curl_code = (int)rc;
    x->res.total_ms = (long)(total_us / 1000);
    x->res.reused = nconn == 0 && status != 0;
    x->res.content_type = x->content_type;
    classify(x, rc);
    x->res.body = x->body ? x->body : empty_body;
    x->res.body_len = x->len;
    /* Last use of x: the callback may free it. */
    x->done(x, &x->res, x->ctx);
}

/* ---- public ------------------------------------------------------------- */

const char *adp_xfer_class_name(enum adp_xfer_class cls)
{
    switch (cls) {
    case ADP_XFER_OK:
        return "ok";
    case ADP_XFER_CONNECT_FAILED:
        return "connect_failed";
    case ADP_XFER_TLS_FAILED:
        return "tls_failed";
    case ADP_XFER_TIMEOUT:
        return "timeout";
    case ADP_XFER_TOO_LARGE:
        return "too_large";
    case ADP_XFER_HTTP_STATUS:
        return "http_status";
    case ADP_XFER_TRUNCATED:
        return "truncated";
    case ADP_XFER_INTERNAL:
        return "internal";
    }
    return "internal";
}

#define SETOPT(opt, val)                                            \
    do {                                                            \
        if (curl_easy_setopt(easy, opt, val) != CURLE_OK) {         \
            rc = xr_error_set(err, XR_EINTERNAL, "curl_error", "",  \
                              "curl_easy_setopt(%s) failed", #opt); \
            goto out;                                               \
        }                                                           \
    } while (0)

static enum xr_status check_opts(const struct adp_xfer_opts *o, bool *https,
                                 struct xr_error *err)
{
    if (!o->url)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "url",
                            "no URL");
    if (strncasecmp(o->url, "https://", 8) == 0)
        *https = true;
    else if (strncasecmp(o->url, "http://", 7) == 0)
        *https = false;
    else
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "url",
                            "the URL must start with http:// or https://");
    if (*https && !o->ca_file && !o->has_pin)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "ca_file",
                            "https needs ca_file or pin_sha256");
    if (o->connect_timeout_ms <= 0 || o->timeout_ms <= 0 ||
        o->max_response_bytes == 0)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "timeouts and max_response_bytes must be > 0");
    return XR_OK;
}

/* TLS towards the security server: trust, client certificate (SSLAUTH).
 * Creates x->tls (shared with the connections it configures). */
static enum xr_status setopt_tls(struct adp_xfer *x,
                                 const struct adp_xfer_opts *opts,
                                 struct xr_error *err)
{
    CURL *easy = x->h.easy;
    enum xr_status rc;

    x->tls = calloc(1, sizeof(*x->tls));
    if (!x->tls) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    x->tls->refs = 1;
    x->tls->has_pin = opts->has_pin;
    memcpy(x->tls->pin, opts->pin_sha256, sizeof(x->tls->pin));
    x->tls->verify_chain = opts->ca_file != NULL;

    SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    /* Only ca_file is trusted: never the system store. */
    SETOPT(CURLOPT_CAPATH, NULL);
    SETOPT(CURLOPT_CAINFO, opts->ca_file);
    /* Without ca_file the pin replaces chain and host-name checks
     * (cert_verify_cb); with it libcurl checks both and the pin is
     * required in addition. */
    SETOPT(CURLOPT_SSL_VERIFYPEER, opts->ca_file ? 1L : 0L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, opts->ca_file ? 2L : 0L);
    SETOPT(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
    SETOPT(CURLOPT_SSL_CTX_DATA, x->tls);
    if (opts->client_cert) {
        SETOPT(CURLOPT_SSLCERT, opts->client_cert);
        SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
        SETOPT(CURLOPT_SSLKEY,
               opts->client_key ? opts->client_key : opts->client_cert);
        SETOPT(CURLOPT_SSLKEYTYPE, "PEM");
        if (opts->client_key_passphrase)
            SETOPT(CURLOPT_KEYPASSWD, opts->client_key_passphrase);
    }
    rc = XR_OK;
out:
    return rc;
}

/* Append "Name: value" to x->headers. */
static bool add_header(struct adp_xfer *x, const char *name, const char *value)
{
    char line[512];
    struct curl_slist *l;

    if ((size_t)snprintf(line, sizeof(line), "%s: %s", name, value) >=
        sizeof(line))
        return false;
    l = curl_slist_append(x->headers, line);
    if (!l)
        return false;
    x->headers = l;
    return true;
}

static enum xr_status request_headers(struct adp_xfer *x,
                                      const struct adp_xfer_opts *o,
                                      struct xr_error *err)
{
    bool ok = true;

    if (!o->get) {
        ok = add_header(x, "Content-Type",
                        o->content_type ? o->content_type
                                        : "text/xml; charset=UTF-8") &&
             add_header(x, "SOAPAction", "\"\"");
    }
    if (ok && o->accept)
        ok = add_header(x, "Accept", o->accept);
    /* "Expect:" removes the header (no 100-continue round trip). */
    if (ok) {
        struct curl_slist *l = curl_slist_append(x->headers, "Expect:");
        ok = l != NULL;
        if (l)
            x->headers = l;
    }
    if (!ok)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "a request header is too long, or out of "
                            "memory");
    return XR_OK;
}

/* url + path, without a doubled '/'. */
static enum xr_status request_url(struct adp_xfer *x,
                                  const struct adp_xfer_opts *o,
                                  struct xr_error *err)
{
    size_t n = strlen(o->url), p = o->path ? strlen(o->path) : 0;

    while (p && n > 0 && o->url[n - 1] == '/')
        n--;
    x->url = malloc(n + p + 1);
    if (!x->url)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    memcpy(x->url, o->url, n);
    if (p)
        memcpy(x->url + n, o->path, p);
    x->url[n + p] = '\0';
    return XR_OK;
}

enum xr_status adp_xfer_start(struct adp_curlev *cev,
                              const struct adp_xfer_opts *opts,
                              const uint8_t *body, size_t body_len,
                              adp_xfer_done_fn *done, void *ctx,
                              struct adp_xfer **out, struct xr_error *err)
{
    struct adp_xfer *x = NULL;
    CURL *easy = NULL;
    bool https = false;
    enum xr_status rc;

    *out = NULL;
    rc = check_opts(opts, &https, err);
    if (rc != XR_OK)
        goto out;
    if (pthread_once(&ex_once, ex_init) != 0 || ex_index < 0) {
        rc = xr_error_set(err, XR_EINTERNAL, "openssl_error", "",
                          "cannot allocate an SSL_CTX ex_data index");
        goto out;
    }
    x = calloc(1, sizeof(*x));
    if (!x) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    x->cev = cev;
    x->done = done;
    x->ctx = ctx;
    x->max = opts->max_response_bytes;
    x->connect_timeout_ms = opts->connect_timeout_ms;
    x->timeout_ms = opts->timeout_ms;
    easy = x->h.easy = adp_curlev_easy_get(cev);
    if (!easy) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "curl_easy_init failed");
        goto out;
    }
    rc = request_headers(x, opts, err);
    if (rc == XR_OK)
        rc = request_url(x, opts, err);
    if (rc != XR_OK)
        goto out;

    SETOPT(CURLOPT_URL, x->url);
    SETOPT(CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_PROXY, ""); /* ignore http_proxy & co: the SS is local */
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_BUFFERSIZE, RECV_BUFFER_BYTES);
    SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(CURLOPT_USERAGENT, "vayla/" VAYLA_VERSION);
    SETOPT(CURLOPT_HTTPHEADER, x->headers);
    if (opts->get) {
        SETOPT(CURLOPT_HTTPGET, 1L);
    } else {
        SETOPT(CURLOPT_POST, 1L);
        /* Our own copy (not CURLOPT_COPYPOSTFIELDS): the body carries the
         * VTJ password and is wiped when the exchange is freed. libcurl
         * reads it until the transfer is done or removed, both before
         * that. */
        x->req_body = malloc(body_len + 1);
        if (!x->req_body) {
            rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                              "out of memory");
            goto out;
        }
        if (body_len)
            memcpy(x->req_body, body, body_len);
        x->req_body[body_len] = '\0';
        x->req_len = body_len;
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        SETOPT(CURLOPT_POSTFIELDS, (const char *)x->req_body);
    }
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, opts->connect_timeout_ms);
    SETOPT(CURLOPT_TIMEOUT_MS, opts->timeout_ms);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)opts->max_response_bytes);
    SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
    SETOPT(CURLOPT_WRITEDATA, x);
    SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_TCP_NODELAY, 1L); /* libcurl's default, stated */
    /* Do not reuse a connection idle for longer than the security server's
     * Jetty is likely to keep it (client-connector idle times are 30 s):
     * a request on a connection the server is closing may fail or be
     * retried by libcurl. */
    SETOPT(CURLOPT_MAXAGE_CONN, ADP_XFER_MAX_IDLE_S);
    /* Over TLS libcurl copies the request into an upload buffer allocated
     * with every handle, 64 KiB by default. Its smallest size holds a
     * person query many times over (a larger request goes out in several
     * writes), and a block under 64 KiB does not make glibc consolidate
     * its free lists when it is freed. */
    SETOPT(CURLOPT_UPLOAD_BUFFERSIZE, 16384L);

    if (https) {
        rc = setopt_tls(x, opts, err);
        if (rc != XR_OK)
            goto out;
    }

    rc = adp_curlev_add(cev, &x->h, on_done, x, err);
    if (rc != XR_OK)
        goto out;
    *out = x;
    x = NULL;
    rc = XR_OK;
out:
    adp_xfer_free(x);
    return rc;
}

#undef SETOPT

void adp_xfer_free(struct adp_xfer *x)
{
    if (!x)
        return;
    adp_curlev_remove(x->cev, &x->h);
    adp_curlev_easy_put(x->cev, x->h.easy);
    if (x->req_body) {
        OPENSSL_cleanse(x->req_body, x->req_len);
        free(x->req_body);
    }
    curl_slist_free_all(x->headers);
    free(x->url);
    tls_state_unref(x->tls);
    free(x->body);
    free(x->content_type);
    free(x);
}

uint8_t *adp_xfer_take_body(struct adp_xfer *x, size_t *len)
{
    uint8_t *b = x->body;

    *len = b ? x->len : 0;
    x->body = NULL;
    x->len = x->cap = 0;
    x->res.body = empty_body;
    x->res.body_len = 0;
    return b;
}

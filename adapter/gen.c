/*
 * Configuration generations (gen.h) and the API's TLS context.
 */
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gen.h"
#include "log.h"
#include "util.h"

struct adp_gen *adp_gen_ref(struct adp_gen *g)
{
    if (g)
        atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    return g;
}

void adp_gen_unref(struct adp_gen *g)
{
    if (!g || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
        return;
    SSL_CTX_free(g->tls);
    adp_config_free(g->cfg);
    free(g);
}

/* ---- TLS context for the API listener --------------------------------- */

static SSL_CTX *tls_ctx_new(const struct adp_config_listen *l,
                            struct xr_error *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    unsigned long e;
    char why[160];

    if (!ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* TLS 1.2: AEAD suites with forward secrecy only (Mozilla
     * "intermediate"); TLS 1.3 suites are all AEAD. */
    if (SSL_CTX_set_cipher_list(
            ctx, l->tls_ciphers ? l->tls_ciphers
                                : ADP_CONFIG_TLS_CIPHERS_DEFAULT) != 1 ||
        (l->tls_ciphersuites &&
         SSL_CTX_set_ciphersuites(ctx, l->tls_ciphersuites) != 1))
        goto fail;
    SSL_CTX_set_dh_auto(ctx, 1);
    if (SSL_CTX_use_certificate_chain_file(ctx, l->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, l->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    if (l->client_ca) {
        if (SSL_CTX_load_verify_locations(ctx, l->client_ca, NULL) != 1)
            goto fail;
        SSL_CTX_set_verify(
            ctx,
            SSL_VERIFY_PEER |
                (l->require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
            NULL);
        SSL_CTX_set_verify_depth(ctx, 4);
        if (l->client_crl &&
            adp_tls_load_crl(SSL_CTX_get_cert_store(ctx), l->client_crl, why,
                             sizeof(why)) != 0) {
            xr_error_set(err, XR_ECERT, "tls_config", "listen.client_crl", "%s",
                         why);
            ERR_clear_error();
            SSL_CTX_free(ctx);
            return NULL;
        }
        /* Session resumption must not skip client authentication. */
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"vayla", 5);
    }
    return ctx;
fail:
    e = ERR_peek_last_error();
    xr_error_set(err, XR_ECERT, "tls_config", "listen",
                 "API TLS certificate, key or client CA: %s",
                 e ? ERR_reason_error_string(e) : "cannot create context");
    if (err)
        err->ssl_err = e;
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

/*
 * Configuration problems go through the operational log, one record each
 * (with its time and level, and as one write: a reload's problems never
 * run together with other lines).
 */
static void log_problem(void *ctx, const char *path, unsigned line,
                        const char *key, const char *reason)
{
    (void)ctx;
    if (line > 0 && key[0] != '\0')
        adp_log_err("%s:%u: %s: %s", path, line, key, reason);
    else if (line > 0)
        adp_log_err("%s:%u: %s", path, line, reason);
    else if (key[0] != '\0')
        adp_log_err("%s: %s: %s", path, key, reason);
    else
        adp_log_err("%s: %s", path, reason);
}

enum xr_status adp_gen_load(const char *path, uint64_t number,
                            struct adp_gen **out, struct xr_error *err)
{
    struct adp_gen *g = calloc(1, sizeof(*g));
    enum xr_status rc;

    *out = NULL;
    if (!g)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    atomic_init(&g->refs, 1);
    rc = adp_config_load(path, &g->cfg, log_problem, NULL, err);
    if (rc != XR_OK)
        goto fail;
    if (!g->cfg->audit.path) {
        rc = xr_error_set(err, XR_EINVAL, "config_invalid", "audit.path",
                          "%s: [audit] path is required by vayla serve", path);
        goto fail;
    }
    if (!g->cfg->listen.address && !g->cfg->listen.unix_socket) {
        rc = xr_error_set(err, XR_EINVAL, "config_invalid", "listen",
                          "%s: [listen] needs address or unix_socket", path);
        goto fail;
    }
    if (g->cfg->listen.tls_cert) {
        g->tls = tls_ctx_new(&g->cfg->listen, err);
        if (!g->tls) {
            rc = err ? err->code : XR_ECERT;
            goto fail;
        }
    }
    g->number = number;
    *out = g;
    return XR_OK;
fail:
    adp_gen_unref(g);
    return rc;
}

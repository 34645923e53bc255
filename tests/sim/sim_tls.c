/*
 * TLS for the simulated security server: a server context that asks for,
 * but does not require, a client certificate, and SHA-256 fingerprints to
 * match that certificate against a client subsystem's IS certificates.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sim.h"

/*
 * Accept any client certificate during the handshake, like X-Road's
 * trust-all trust manager with wantClientAuth: the decision is made per
 * client subsystem afterwards (Server.ClientProxy.SslAuthenticationFailed).
 */
static int accept_any(int preverify_ok, X509_STORE_CTX *ctx)
{
    (void)preverify_ok;
    (void)ctx;
    return 1;
}

int sim_tls_ctx_new(const char *cert_file, const char *key_file, SSL_CTX **out,
                    char *errbuf, size_t errsize)
{
    static const unsigned char sid_ctx[] = "vayla-sim";
    SSL_CTX *ctx = NULL;
    int rc = -1;

    *out = NULL;
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(errbuf, errsize, "SSL_CTX_new failed");
        goto out;
    }
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        snprintf(errbuf, errsize, "cannot require TLS 1.2");
        goto out;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        snprintf(errbuf, errsize, "%s: cannot load certificate: %s", cert_file,
                 ERR_reason_error_string(ERR_peek_error()));
        goto out;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(errbuf, errsize, "%s: cannot load key or key mismatch: %s",
                 key_file, ERR_reason_error_string(ERR_peek_error()));
        goto out;
    }
    /* SSL_VERIFY_PEER without FAIL_IF_NO_PEER_CERT = wantClientAuth. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    *out = ctx;
    ctx = NULL;
    rc = 0;
out:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

int sim_tls_fingerprint(X509 *cert, uint8_t out[32])
{
    unsigned int n = 0;

    if (!cert || X509_digest(cert, EVP_sha256(), out, &n) != 1 || n != 32)
        return -1;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sim_tls_parse_fingerprint(const char *text, uint8_t out[32])
{
    size_t n = 0;
    const char *p = text;

    /* Bounded by the 32 output bytes: at most 95 input characters. */
    while (*p && n < 32) {
        int hi, lo;

        if (*p == ':' && n > 0)
            p++;
        hi = hexval(p[0]);
        lo = hi >= 0 ? hexval(p[1]) : -1;
        if (hi < 0 || lo < 0)
            return -1;
        out[n++] = (uint8_t)(hi * 16 + lo);
        p += 2;
    }
    return (n == 32 && *p == '\0') ? 0 : -1;
}

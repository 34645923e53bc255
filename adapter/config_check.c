/*
 * vayla.conf checks after parsing: rules that involve more than one key,
 * the secrets (read from their files or the environment, never echoed)
 * and the certificate, key and trust-anchor files, each read with a size
 * cap and checked with OpenSSL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "checkpoint.h"
#include "config_internal.h"
#include "services/vtj.h"
#include "util.h"

#define ADP_CONFIG_PEM_MAX (1024u * 1024u) /* certificate / key files */

/* ---- secrets and files -------------------------------------------------- */

/*
 * Read a secret file: at most ADP_CONFIG_SECRET_MAX bytes, one trailing
 * newline removed, no other line breaks, not empty.
 */
static char *read_secret_file(struct parse_state *st, const char *path,
                              unsigned line, const char *kname)
{
    struct xr_error err;
    uint8_t *buf = NULL;
    size_t len = 0;
    char *out = NULL;

    xr_error_clear(&err);
    if (adp_file_read(path, ADP_CONFIG_SECRET_MAX, &buf, &len, &err) != XR_OK) {
        if (err.code == XR_ENOMEM)
            st->oom = true;
        adp__config_problem(st, line, kname, "%s", err.msg);
        goto out;
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    if (len == 0) {
        adp__config_problem(st, line, kname, "%s: the file is empty", path);
        goto out;
    }
    if (memchr(buf, '\n', len) || memchr(buf, '\r', len) ||
        strlen((char *)buf) != len) {
        adp__config_problem(
            st, line, kname,
            "%s: must hold one line (no line breaks or NUL bytes)", path);
        goto out;
    }
    out = (char *)buf;
    buf = NULL;
out:
    if (buf) {
        OPENSSL_cleanse(buf, len);
        free(buf);
    }
    return out;
}

/* First OpenSSL error as text, and clear the queue. */
static const char *ssl_reason(char *buf, size_t size)
{
    unsigned long e = ERR_peek_last_error();

    if (e == 0)
        snprintf(buf, size, "no details");
    else
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
    return buf;
}

struct passphrase {
    const char *text; /* NULL: none configured */
};

static int passphrase_cb(char *buf, int size, int rwflag, void *u)
{
    const char *pass = ((const struct passphrase *)u)->text;
    size_t n;

    (void)rwflag;
    if (!pass || size <= 0)
        return -1;
    n = strlen(pass);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, pass, n);
    return (int)n;
}

/*
 * Read a PEM file (at most ADP_CONFIG_PEM_MAX bytes, so /dev/zero or a
 * huge file cannot stall the check) into a memory BIO.
 */
static BIO *open_pem(struct parse_state *st, const char *path, unsigned line,
                     const char *kname)
{
    struct xr_error err;
    uint8_t *buf = NULL;
    size_t len = 0;
    BIO *bio = NULL;

    xr_error_clear(&err);
    if (adp_file_read(path, ADP_CONFIG_PEM_MAX, &buf, &len, &err) != XR_OK) {
        if (err.code == XR_ENOMEM)
            st->oom = true;
        adp__config_problem(st, line, kname, "%s", err.msg);
        goto out;
    }
    bio = BIO_new(BIO_s_mem());
    if (!bio || BIO_write(bio, buf, (int)len) != (int)len) {
        BIO_free(bio);
        bio = NULL;
        st->oom = true;
        goto out;
    }
out:
    if (buf) {
        OPENSSL_cleanse(buf, len); /* may be a private key */
        free(buf);
    }
    return bio;
}

/* A PEM file of trust anchors: at least one certificate. */
static void check_ca_file(struct parse_state *st, const char *path,
                          unsigned line, const char *kname)
{
    STACK_OF(X509_INFO) *infos = NULL;
    BIO *bio = NULL;
    int ncert = 0;
    char why[256];

    bio = open_pem(st, path, line, kname);
    if (!bio)
        goto out;
    infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    if (!infos) {
        adp__config_problem(st, line, kname,
                            "%s: not a PEM certificate file: %s", path,
                            ssl_reason(why, sizeof(why)));
        goto out;
    }
    for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
        if (sk_X509_INFO_value(infos, i)->x509)
            ncert++;
    }
    if (ncert == 0)
        adp__config_problem(st, line, kname, "%s: contains no certificate",
                            path);
out:
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    BIO_free(bio);
    ERR_clear_error();
}

/*
 * A PEM certificate and its private key (kpath NULL: the key is in the
 * certificate file), optionally encrypted with `pass`; the key must match.
 */
static void check_cert_key(struct parse_state *st, const char *cpath,
                           unsigned cline, const char *ckey, const char *kpath,
                           unsigned kline, const char *kkey, const char *pass)
{
    struct passphrase pw = {pass};
    X509 *cert = NULL;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    char why[256];

    if (!kpath) {
        kpath = cpath;
        kline = cline;
        kkey = ckey;
    }
    bio = open_pem(st, cpath, cline, ckey);
    if (!bio)
        goto out;
    cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (!cert) {
        adp__config_problem(st, cline, ckey, "%s: no PEM certificate: %s",
                            cpath, ssl_reason(why, sizeof(why)));
        goto out;
    }
    BIO_free(bio);
    bio = open_pem(st, kpath, kline, kkey);
    if (!bio)
        goto out;
    /* Never an interactive prompt: a NULL passphrase fails instead. */
    pkey = PEM_read_bio_PrivateKey(bio, NULL, passphrase_cb, &pw);
    if (!pkey) {
        adp__config_problem(
            st, kline, kkey, "%s: cannot load the private key (%s): %s", kpath,
            pass ? "wrong passphrase or not PEM"
                 : "not PEM, or encrypted and no passphrase configured",
            ssl_reason(why, sizeof(why)));
        goto out;
    }
    if (X509_check_private_key(cert, pkey) != 1)
        adp__config_problem(st, kline, kkey, "%s: the key does not match %s",
                            kpath, cpath);
out:
    EVP_PKEY_free(pkey);
    X509_free(cert);
    BIO_free(bio);
    ERR_clear_error();
}

static unsigned kline(const struct parse_state *st, const char *section,
                      const char *key)
{
    return st->key_line[adp__config_key_index(section, key)];
}

static void check_ss(struct parse_state *st)
{
    struct adp_config_ss *ss = &st->cfg->ss;
    unsigned line;

    if (ss->url && ss->https && !ss->ca_file && !ss->has_pin)
        adp__config_problem(
            st, kline(st, "security_server", "url"), "security_server.url",
            "an https URL needs ca_file or pin_sha256 (or both) to trust "
            "the security server");
    if (ss->client_key && !ss->client_cert)
        adp__config_problem(st, kline(st, "security_server", "client_key"),
                            "security_server.client_key",
                            "client_key needs client_cert");
    line = kline(st, "security_server", "client_key_passphrase_file");
    if (ss->client_key_passphrase_file && !ss->client_cert)
        adp__config_problem(st, line,
                            "security_server.client_key_passphrase_file",
                            "needs client_cert and client_key");
    if (ss->timeout_ms <= ss->connect_timeout_ms)
        adp__config_problem(st, kline(st, "security_server", "timeout_ms"),
                            "security_server.timeout_ms",
                            "must be larger than connect_timeout_ms (%ld)",
                            ss->connect_timeout_ms);
    if (ss->client_key_passphrase_file)
        ss->client_key_passphrase =
            read_secret_file(st, ss->client_key_passphrase_file, line,
                             "security_server.client_key_passphrase_file");
    if (ss->ca_file)
        check_ca_file(st, ss->ca_file, kline(st, "security_server", "ca_file"),
                      "security_server.ca_file");
    if (ss->client_cert &&
        (!ss->client_key_passphrase_file || ss->client_key_passphrase))
        check_cert_key(st, ss->client_cert,
                       kline(st, "security_server", "client_cert"),
                       "security_server.client_cert", ss->client_key,
                       kline(st, "security_server", "client_key"),
                       "security_server.client_key", ss->client_key_passphrase);
}

/* The checkpoint key is an Ed25519 private key; the file's folder exists. */
static void check_audit(struct parse_state *st)
{
    const struct adp_config_audit *au = &st->cfg->audit;
    struct xr_error err;
    EVP_PKEY *k = NULL;

    if (au->checkpoint_key &&
        adp_checkpoint_key_load(au->checkpoint_key, true, &k, &err) != XR_OK)
        adp__config_problem(st, kline(st, "audit", "checkpoint_key"),
                            "audit.checkpoint_key", "%s", err.msg);
    EVP_PKEY_free(k);
    if (au->checkpoint_key && !au->checkpoint_file)
        adp__config_problem(st, kline(st, "audit", "checkpoint_key"),
                            "audit.checkpoint_key",
                            "signs checkpoints: set checkpoint_file too");
}

static void check_vtj(struct parse_state *st)
{
    struct adp_config_vtj *vtj = &st->cfg->vtj;
    unsigned line;

    if (!vtj->product)
        vtj->product =
            adp__config_dup_or_oom(st, ADP_CONFIG_VTJ_PRODUCT_DEFAULT);
    if (vtj->password_file && vtj->password_env) {
        adp__config_problem(
            st, kline(st, "vtj", "password_env"), "vtj.password_env",
            "password_file and password_env are mutually exclusive");
    } else if (vtj->password_file) {
        vtj->password = read_secret_file(st, vtj->password_file,
                                         kline(st, "vtj", "password_file"),
                                         "vtj.password_file");
    } else if (vtj->password_env) {
        const char *v = getenv(vtj->password_env);
        line = kline(st, "vtj", "password_env");
        if (!v || v[0] == '\0')
            adp__config_problem(st, line, "vtj.password_env",
                                "environment variable %s is not set or empty",
                                vtj->password_env);
        else if (strlen(v) > ADP_CONFIG_SECRET_MAX ||
                 adp__config_has_control(v))
            adp__config_problem(
                st, line, "vtj.password_env",
                "environment variable %s: longer than %u bytes or holds "
                "control characters",
                vtj->password_env, ADP_CONFIG_SECRET_MAX);
        else
            vtj->password = adp__config_dup_or_oom(st, v);
    } else {
        adp__config_problem(st,
                            st->section_line[adp__config_section_index("vtj")],
                            "vtj.password_file",
                            "one of password_file or password_env is required");
    }
    /* VTJ takes at most VTJ_CREDENTIAL_MAX bytes: refuse a longer secret
     * now rather than on every query. */
    if (vtj->password && strlen(vtj->password) > VTJ_CREDENTIAL_MAX)
        adp__config_problem(
            st,
            kline(st, "vtj",
                  vtj->password_file ? "password_file" : "password_env"),
            vtj->password_file ? "vtj.password_file" : "vtj.password_env",
            "the VTJ password is longer than %d bytes", VTJ_CREDENTIAL_MAX);
    if (vtj->username && strlen(vtj->username) > VTJ_CREDENTIAL_MAX)
        adp__config_problem(st, kline(st, "vtj", "username"), "vtj.username",
                            "longer than %d bytes", VTJ_CREDENTIAL_MAX);
}

/* The first TLS key set in [listen], for a message. */
static const char *first_tls_key(const struct adp_config_listen *l)
{
    if (l->client_crl)
        return "client_crl";
    return l->tls_ciphers ? "tls_ciphers" : "tls_ciphersuites";
}

/* The TLS suites and the CRL of the API listener load in OpenSSL. */
static void check_listen_tls(struct parse_state *st,
                             const struct adp_config_listen *l)
{
    SSL_CTX *ctx;
    char why[160];

    if ((l->client_crl || l->tls_ciphers || l->tls_ciphersuites) &&
        !l->tls_cert)
        adp__config_problem(st, kline(st, "listen", first_tls_key(l)), "listen",
                            "TLS settings need tls_cert and tls_key");
    if (l->client_crl && !l->client_ca)
        adp__config_problem(st, kline(st, "listen", "client_crl"),
                            "listen.client_crl", "client_crl needs client_ca");
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        st->oom = true;
        return;
    }
    if (l->tls_ciphers && SSL_CTX_set_cipher_list(ctx, l->tls_ciphers) != 1)
        adp__config_problem(st, kline(st, "listen", "tls_ciphers"),
                            "listen.tls_ciphers",
                            "no cipher suite OpenSSL knows in this list");
    if (l->tls_ciphersuites &&
        SSL_CTX_set_ciphersuites(ctx, l->tls_ciphersuites) != 1)
        adp__config_problem(st, kline(st, "listen", "tls_ciphersuites"),
                            "listen.tls_ciphersuites",
                            "not a list of TLS 1.3 suites OpenSSL knows");
    if (l->client_crl && adp_tls_load_crl(SSL_CTX_get_cert_store(ctx),
                                          l->client_crl, why, sizeof(why)) != 0)
        adp__config_problem(st, kline(st, "listen", "client_crl"),
                            "listen.client_crl", "%s", why);
    SSL_CTX_free(ctx);
    ERR_clear_error();
}

static void check_listen(struct parse_state *st)
{
    struct adp_config_listen *l = &st->cfg->listen;

    if (l->tls_cert && !l->tls_key)
        adp__config_problem(st, kline(st, "listen", "tls_cert"),
                            "listen.tls_cert", "tls_cert needs tls_key");
    if (l->tls_key && !l->tls_cert)
        adp__config_problem(st, kline(st, "listen", "tls_key"),
                            "listen.tls_key", "tls_key needs tls_cert");
    if (l->tls_cert && !l->address)
        adp__config_problem(st, kline(st, "listen", "tls_cert"),
                            "listen.tls_cert",
                            "TLS is served on the TCP listener: set address");
    if (l->client_ca && !l->tls_cert)
        adp__config_problem(st, kline(st, "listen", "client_ca"),
                            "listen.client_ca",
                            "client_ca needs tls_cert and tls_key");
    if (kline(st, "listen", "require_client_cert") && l->require_client_cert &&
        !l->client_ca)
        adp__config_problem(st, kline(st, "listen", "require_client_cert"),
                            "listen.require_client_cert", "needs client_ca");
    if (l->tls_cert && l->tls_key)
        check_cert_key(st, l->tls_cert, kline(st, "listen", "tls_cert"),
                       "listen.tls_cert", l->tls_key,
                       kline(st, "listen", "tls_key"), "listen.tls_key", NULL);
    if (l->client_ca)
        check_ca_file(st, l->client_ca, kline(st, "listen", "client_ca"),
                      "listen.client_ca");
    check_listen_tls(st, l);
}

static void check_callers(struct parse_state *st)
{
    char sec[SECTION_MAX + 16];

    for (size_t i = 0; i < st->cfg->ncallers; i++) {
        const struct adp_caller *c = &st->cfg->callers[i];
        snprintf(sec, sizeof(sec), CALLER_PREFIX "%s", c->name);
        if (!c->has_token && !c->has_cert_sha256 && !c->cert_subject[0] &&
            !c->has_unix_uid && !c->has_unix_gid)
            adp__config_problem(st, st->clines[i].section, sec,
                                "a caller needs token_sha256, cert_sha256, "
                                "cert_subject, unix_uid or unix_gid");
    }
}

/* Rules that involve more than one key, then secrets and files. */
void adp__config_check_all(struct parse_state *st)
{
    check_ss(st);
    check_vtj(st);
    check_listen(st);
    check_audit(st);
    check_callers(st);
}

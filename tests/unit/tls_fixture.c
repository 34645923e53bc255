/*
 * Run-time test PKI (see tls_fixture.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls_fixture.h"

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok;

    if (!ext)
        return -1;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/*
 * A certificate for `key`, signed by issuer/issuer_key (self-signed when
 * issuer is NULL). kind: 'C' CA, 'S' server, 'L' client.
 */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
                       EVP_PKEY *issuer_key, char kind, const char *san,
                       long serial)
{
    X509 *x = X509_new();
    X509V3_CTX ctx;
    X509_NAME *name;

    if (!x)
        return NULL;
    if (!X509_set_version(x, 2) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 7L * 86400) ||
        !X509_set_pubkey(x, key))
        goto fail;
    name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name))
        goto fail;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    if (add_ext(x, &ctx, NID_subject_key_identifier, "hash") != 0)
        goto fail;
    if (kind == 'C') {
        if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") ||
            add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"))
            goto fail;
    } else {
        if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
            add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
            add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") ||
            add_ext(x, &ctx, NID_ext_key_usage,
                    kind == 'S' ? "serverAuth" : "clientAuth"))
            goto fail;
    }
    if (san && add_ext(x, &ctx, NID_subject_alt_name, san) != 0)
        goto fail;
    if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()))
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

static int write_cert(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (!f)
        return -1;
    ok = PEM_write_X509(f, x);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int write_key(const char *path, EVP_PKEY *k, const char *pass)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (!f)
        return -1;
    if (pass)
        ok = PEM_write_PrivateKey(f, k, EVP_aes_256_cbc(),
                                  (const unsigned char *)pass,
                                  (int)strlen(pass), NULL, NULL);
    else
        ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

    /* Temporary directories are short; a cut path is a test bug. */
    if (n < 0 || n >= PATH_MAX)
        abort();
}

int tlsfix_create(struct tlsfix *f)
{
    EVP_PKEY *cak = NULL, *ock = NULL, *sk = NULL, *s2k = NULL, *ck = NULL;
    X509 *ca = NULL, *oca = NULL, *s = NULL, *s2 = NULL, *c = NULL;
    unsigned len = 0;
    FILE *pf;
    int rc = -1;
    const char *tmp = getenv("TMPDIR");

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s/vayla-tls-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        perror("mkdtemp");
        return -1;
    }
    join(f->ca, f->dir, "ca.pem");
    join(f->other_ca, f->dir, "other-ca.pem");
    join(f->server_cert, f->dir, "server.pem");
    join(f->server_key, f->dir, "server.key");
    join(f->server2_cert, f->dir, "server2.pem");
    join(f->server2_key, f->dir, "server2.key");
    join(f->client_cert, f->dir, "client.pem");
    join(f->client_key, f->dir, "client.key");
    join(f->client_key_enc, f->dir, "client-enc.key");
    join(f->passphrase_file, f->dir, "passphrase");

    cak = EVP_EC_gen("P-256");
    ock = EVP_EC_gen("P-256");
    sk = EVP_EC_gen("P-256");
    s2k = EVP_EC_gen("P-256");
    ck = EVP_EC_gen("P-256");
    if (!cak || !ock || !sk || !s2k || !ck)
        goto out;
    ca = make_cert(cak, "vayla test CA", NULL, NULL, 'C', NULL, 1);
    oca = make_cert(ock, "unrelated CA", NULL, NULL, 'C', NULL, 2);
    if (!ca || !oca)
        goto out;
    s = make_cert(sk, "127.0.0.1", ca, cak, 'S', "IP:127.0.0.1,DNS:localhost",
                  3);
    s2 = make_cert(s2k, "other.invalid", ca, cak, 'S', "DNS:other.invalid", 4);
    c = make_cert(ck, "vayla-client", ca, cak, 'L', NULL, 5);
    if (!s || !s2 || !c)
        goto out;
    if (write_cert(f->ca, ca) || write_cert(f->other_ca, oca) ||
        write_cert(f->server_cert, s) || write_key(f->server_key, sk, NULL) ||
        write_cert(f->server2_cert, s2) ||
        write_key(f->server2_key, s2k, NULL) || write_cert(f->client_cert, c) ||
        write_key(f->client_key, ck, NULL) ||
        write_key(f->client_key_enc, ck, TLSFIX_PASSPHRASE))
        goto out;
    pf = fopen(f->passphrase_file, "w");
    if (!pf)
        goto out;
    fprintf(pf, "%s\n", TLSFIX_PASSPHRASE);
    if (fclose(pf) != 0)
        goto out;
    if (!X509_digest(s, EVP_sha256(), f->server_fp, &len) || len != 32 ||
        !X509_digest(s2, EVP_sha256(), f->server2_fp, &len) || len != 32)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "tlsfix_create: certificate generation failed\n");
    EVP_PKEY_free(cak);
    EVP_PKEY_free(ock);
    EVP_PKEY_free(sk);
    EVP_PKEY_free(s2k);
    EVP_PKEY_free(ck);
    X509_free(ca);
    X509_free(oca);
    X509_free(s);
    X509_free(s2);
    X509_free(c);
    return rc;
}

void tlsfix_destroy(struct tlsfix *f)
{
    const char *files[] = {f->ca,
                           f->other_ca,
                           f->server_cert,
                           f->server_key,
                           f->server2_cert,
                           f->server2_key,
                           f->client_cert,
                           f->client_key,
                           f->client_key_enc,
                           f->passphrase_file};

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (files[i][0])
            (void)unlink(files[i]);
    }
    if (f->dir[0])
        (void)rmdir(f->dir);
}

SSL_CTX *tlsfix_server_ctx(const struct tlsfix *f, const char *cert,
                           const char *key, bool require_client_cert)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (!ctx)
        return NULL;
    if (SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        goto fail;
    if (require_client_cert) {
        if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1)
            goto fail;
        SSL_CTX_set_verify(
            ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void tlsfix_fp_hex(const uint8_t fp[32], char *out, size_t size)
{
    size_t j = 0;

    out[0] = '\0';
    for (size_t i = 0; i < 32 && j + 4 <= size; i++)
        j += (size_t)snprintf(out + j, size - j, i ? ":%02X" : "%02X", fp[i]);
}

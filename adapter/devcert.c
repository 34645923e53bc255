/*
 * Throw-away test PKI (devcert.h) with the OpenSSL 3 C API.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "devcert.h"

#define CA_DAYS   3650L
#define LEAF_DAYS 730L

static enum xr_status ssl_fail(struct xr_error *err, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    enum xr_status rc;

    rc = xr_error_set(err, XR_EINTERNAL, "openssl", "", "%s: %s", what,
                      e ? ERR_reason_error_string(e) : "failed");
    if (err)
        err->ssl_err = e;
    ERR_clear_error();
    return rc;
}

/* Add one v3 extension in OpenSSL's config syntax. */
static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return 0;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int set_serial(X509 *cert)
{
    unsigned char raw[16];
    BIGNUM *bn = NULL;
    int ok = 0;

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return 0;
    raw[0] &= 0x7f; /* positive */
    bn = BN_bin2bn(raw, sizeof(raw), NULL);
    if (bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)))
        ok = 1;
    BN_free(bn);
    return ok;
}

/* The subject: O + CN, or the Finnish signing profile for a member. */
static int fill_name(X509_NAME *name, enum adp_devcert_kind kind,
                     const char *cn)
{
    char inst[128], cls[128], code[128], org[160], sn[300];

    if (kind != ADP_DEVCERT_SIGN)
        return X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                          (const unsigned char *)"vayla dev",
                                          -1, -1, 0) &&
               X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                          (const unsigned char *)cn, -1, -1, 0);
    /* INSTANCE/CLASS/CODE, three non-empty parts. */
    {
        const char *a = strchr(cn, '/');
        const char *b = a ? strchr(a + 1, '/') : NULL;
        if (!a || !b || strchr(b + 1, '/') || a == cn || b == a + 1 || !b[1] ||
            (size_t)(a - cn) >= sizeof(inst) ||
            (size_t)(b - a - 1) >= sizeof(cls) || strlen(b + 1) >= sizeof(code))
            return 0;
        memcpy(inst, cn, (size_t)(a - cn));
        inst[a - cn] = '\0';
        memcpy(cls, a + 1, (size_t)(b - a - 1));
        cls[b - a - 1] = '\0';
        memcpy(code, b + 1, strlen(b + 1) + 1);
    }
    snprintf(org, sizeof(org), "vayla dev %s", code);
    snprintf(sn, sizeof(sn), "%s/ss1/%s", inst, cls);
    return X509_NAME_add_entry_by_txt(name, "C", MBSTRING_UTF8,
                                      (const unsigned char *)"FI", -1, -1, 0) &&
           X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                      (const unsigned char *)org, -1, -1, 0) &&
           X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                      (const unsigned char *)code, -1, -1, 0) &&
           X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_UTF8,
                                      (const unsigned char *)sn, -1, -1, 0);
}

/* Key usage and extended key usage of the message-log kinds. */
static int signing_exts(X509 *cert, X509 *issuer, enum adp_devcert_kind kind)
{
    const char *ku = kind == ADP_DEVCERT_OCSP ? "critical,digitalSignature"
                                              : "critical,nonRepudiation";

    if (!add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext(cert, issuer, NID_key_usage, ku))
        return 0;
    if (kind == ADP_DEVCERT_OCSP)
        return add_ext(cert, issuer, NID_ext_key_usage, "OCSPSigning");
    if (kind == ADP_DEVCERT_TSA)
        return add_ext(cert, issuer, NID_ext_key_usage,
                       "critical,timeStamping");
    return 1;
}

enum xr_status adp_devcert_make(enum adp_devcert_kind kind, const char *cn,
                                const struct adp_devcert *ca,
                                struct adp_devcert *out, struct xr_error *err)
{
    X509_NAME *name = NULL;
    X509 *issuer;
    EVP_PKEY *signer;
    long days = LEAF_DAYS;
    enum xr_status rc;

    memset(out, 0, sizeof(*out));
    if ((kind == ADP_DEVCERT_CA) != (ca == NULL))
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "a CA is self-signed, other certificates need "
                            "a CA");
    ERR_clear_error();
    out->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!out->key) {
        rc = ssl_fail(err, "EC P-256 key generation");
        goto out;
    }
    out->cert = X509_new();
    name = X509_NAME_new();
    if (!out->cert || !name) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    if (kind == ADP_DEVCERT_CA)
        days = CA_DAYS;
    if (!fill_name(name, kind, cn) || !X509_set_version(out->cert, 2) ||
        !set_serial(out->cert) || !X509_set_subject_name(out->cert, name) ||
        !X509_set_issuer_name(out->cert,
                              ca ? X509_get_subject_name(ca->cert) : name) ||
        !X509_gmtime_adj(X509_getm_notBefore(out->cert), -3600L) ||
        !X509_gmtime_adj(X509_getm_notAfter(out->cert), days * 86400L) ||
        !X509_set_pubkey(out->cert, out->key)) {
        rc = ssl_fail(err, "certificate fields");
        goto out;
    }
    issuer = ca ? ca->cert : out->cert;
    signer = ca ? ca->key : out->key;
    if (!add_ext(out->cert, issuer, NID_subject_key_identifier, "hash") ||
        !add_ext(out->cert, issuer, NID_authority_key_identifier,
                 "keyid:always")) {
        rc = ssl_fail(err, "key identifiers");
        goto out;
    }
    switch (kind) {
    case ADP_DEVCERT_CA:
        if (!add_ext(out->cert, issuer, NID_basic_constraints,
                     "critical,CA:TRUE,pathlen:0") ||
            !add_ext(out->cert, issuer, NID_key_usage,
                     "critical,keyCertSign,cRLSign")) {
            rc = ssl_fail(err, "CA extensions");
            goto out;
        }
        break;
    case ADP_DEVCERT_SERVER:
        if (!add_ext(out->cert, issuer, NID_basic_constraints,
                     "critical,CA:FALSE") ||
            !add_ext(out->cert, issuer, NID_key_usage,
                     "critical,digitalSignature") ||
            !add_ext(out->cert, issuer, NID_ext_key_usage, "serverAuth") ||
            !add_ext(out->cert, issuer, NID_subject_alt_name,
                     "IP:127.0.0.1,DNS:localhost")) {
            rc = ssl_fail(err, "server extensions");
            goto out;
        }
        break;
    case ADP_DEVCERT_CLIENT:
        if (!add_ext(out->cert, issuer, NID_basic_constraints,
                     "critical,CA:FALSE") ||
            !add_ext(out->cert, issuer, NID_key_usage,
                     "critical,digitalSignature") ||
            !add_ext(out->cert, issuer, NID_ext_key_usage, "clientAuth")) {
            rc = ssl_fail(err, "client extensions");
            goto out;
        }
        break;
    case ADP_DEVCERT_SIGN:
    case ADP_DEVCERT_OCSP:
    case ADP_DEVCERT_TSA:
        if (!signing_exts(out->cert, issuer, kind)) {
            rc = ssl_fail(err, "message-log extensions");
            goto out;
        }
        break;
    }
    if (X509_sign(out->cert, signer, EVP_sha256()) <= 0) {
        rc = ssl_fail(err, "signing");
        goto out;
    }
    rc = XR_OK;
out:
    X509_NAME_free(name);
    return rc;
}

void adp_devcert_cleanup(struct adp_devcert *dc)
{
    if (!dc)
        return;
    EVP_PKEY_free(dc->key);
    X509_free(dc->cert);
    dc->key = NULL;
    dc->cert = NULL;
}

/* Create (or replace) a file with exactly `mode`, whatever the umask. */
static FILE *open_mode(const char *path, mode_t mode, struct xr_error *err)
{
    int fd;
    FILE *f;

    if (unlink(path) != 0 && errno != ENOENT) {
        xr_error_set_errno(err, XR_EIO, errno, "io_error", "", "%s", path);
        return NULL;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 || fchmod(fd, mode) != 0) {
        xr_error_set_errno(err, XR_EIO, errno, "io_error", "", "%s", path);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    f = fdopen(fd, "w");
    if (!f) {
        xr_error_set_errno(err, XR_EIO, errno, "io_error", "", "%s", path);
        close(fd);
    }
    return f;
}

enum xr_status adp_devcert_write(const struct adp_devcert *dc,
                                 const char *cert_path, const char *key_path,
                                 struct xr_error *err)
{
    FILE *f;
    int ok;

    f = open_mode(cert_path, 0644, err);
    if (!f)
        return XR_EIO;
    ok = PEM_write_X509(f, dc->cert);
    if (fclose(f) != 0 || !ok) {
        ERR_clear_error();
        return xr_error_set(err, XR_EIO, "io_error", "", "%s: write failed",
                            cert_path);
    }
    if (!key_path)
        return XR_OK;
    f = open_mode(key_path, 0600, err);
    if (!f)
        return XR_EIO;
    ok = PEM_write_PrivateKey(f, dc->key, NULL, NULL, 0, NULL, NULL);
    if (fclose(f) != 0 || !ok) {
        ERR_clear_error();
        return xr_error_set(err, XR_EIO, "io_error", "", "%s: write failed",
                            key_path);
    }
    return XR_OK;
}

enum xr_status adp_devcert_fingerprint(X509 *cert, char *out, size_t size,
                                       struct xr_error *err)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (size < 96)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "fingerprint buffer too small");
    if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32) {
        ERR_clear_error();
        return xr_error_set(err, XR_EINTERNAL, "openssl", "",
                            "SHA-256 digest failed");
    }
    for (unsigned int i = 0; i < n; i++) {
        out[i * 3] = hex[md[i] >> 4];
        out[i * 3 + 1] = hex[md[i] & 15];
        out[i * 3 + 2] = i + 1 < n ? ':' : '\0';
    }
    return XR_OK;
}

enum xr_status adp_devcert_write_ed25519(const char *key_path,
                                         const char *pub_path,
                                         struct xr_error *err)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    enum xr_status rc = XR_EIO;
    FILE *f = NULL;
    int ok;

    if (!k)
        return ssl_fail(err, "Ed25519 key generation");
    f = open_mode(key_path, 0600, err);
    if (!f)
        goto out;
    ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    if (fclose(f) != 0 || !ok) {
        rc = xr_error_set(err, XR_EIO, "io_error", "", "%s: write failed",
                          key_path);
        goto out;
    }
    f = open_mode(pub_path, 0644, err);
    if (!f)
        goto out;
    ok = PEM_write_PUBKEY(f, k);
    if (fclose(f) != 0 || !ok) {
        rc = xr_error_set(err, XR_EIO, "io_error", "", "%s: write failed",
                          pub_path);
        goto out;
    }
    rc = XR_OK;
out:
    ERR_clear_error();
    EVP_PKEY_free(k);
    return rc;
}

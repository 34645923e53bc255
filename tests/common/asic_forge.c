/*
 * asic_forge: PKI, OCSP responses, time-stamp tokens, ZIP writing, the
 * verification configuration and X-Road messages (see asic_forge.h).
 * Test-only code: it favours plainness over speed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include "asic_forge.h"

/* ------------------------------------------------------------------ */
/* PKI                                                                 */

void af_party_cleanup(struct af_party *p)
{
    if (!p)
        return;
    EVP_PKEY_free(p->key);
    X509_free(p->cert);
    p->key = NULL;
    p->cert = NULL;
}

static EVP_PKEY *new_key(int rsa_bits)
{
    return rsa_bits > 0 ? EVP_RSA_gen((unsigned)rsa_bits) : EVP_EC_gen("P-256");
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;
    int ok;

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!e)
        return -1;
    ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

static int name_add(X509_NAME *n, const char *field, const char *value)
{
    return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
                                      (const unsigned char *)value, -1, -1, 0)
               ? 0
               : -1;
}

enum kind_ext { K_CA, K_SIGN, K_SIGN_NOKU, K_OCSP, K_TSA, K_PLAIN };

/* Make a certificate for subject name n (taken) with key `key`. */
static X509 *make_cert(X509_NAME *n, EVP_PKEY *key, const struct af_party *iss,
                       enum kind_ext kind, int64_t nb, int64_t na)
{
    X509 *x = X509_new();
    uint8_t serial[8];
    BIGNUM *bn = NULL;
    X509 *icert = iss ? iss->cert : NULL;
    EVP_PKEY *ikey = iss ? iss->key : key;
    int rc = -1;

    if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
        goto out;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
        !X509_set_version(x, 2) || !X509_set_subject_name(x, n) ||
        !X509_set_issuer_name(x, icert ? X509_get_subject_name(icert) : n) ||
        !X509_set_pubkey(x, key) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na))
        goto out;
    if (add_ext(x, icert, NID_subject_key_identifier, "hash") != 0)
        goto out;
    if (icert &&
        add_ext(x, icert, NID_authority_key_identifier, "keyid:always") != 0)
        goto out;
    switch (kind) {
    case K_CA:
        rc = add_ext(x, icert, NID_basic_constraints, "critical,CA:TRUE") ||
             add_ext(x, icert, NID_key_usage,
                     "critical,keyCertSign,cRLSign,digitalSignature");
        break;
    case K_SIGN:
        rc = add_ext(x, icert, NID_basic_constraints, "CA:FALSE") ||
             add_ext(x, icert, NID_key_usage, "critical,nonRepudiation");
        break;
    case K_SIGN_NOKU:
        rc = add_ext(x, icert, NID_key_usage, "critical,digitalSignature");
        break;
    case K_OCSP:
        rc = add_ext(x, icert, NID_key_usage, "critical,digitalSignature") ||
             add_ext(x, icert, NID_ext_key_usage, "critical,OCSPSigning");
        break;
    case K_TSA:
        rc = add_ext(x, icert, NID_key_usage, "critical,nonRepudiation") ||
             add_ext(x, icert, NID_ext_key_usage, "critical,timeStamping");
        break;
    case K_PLAIN:
        rc = add_ext(x, icert, NID_key_usage, "critical,digitalSignature");
        break;
    }
    if (rc != 0 || !X509_sign(x, ikey, EVP_sha256()))
        rc = -1;
out:
    BN_free(bn);
    X509_NAME_free(n);
    if (rc != 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int make_party(X509_NAME *n, const struct af_party *iss,
                      enum kind_ext kind, int64_t nb, int64_t na, int bits,
                      struct af_party *out)
{
    memset(out, 0, sizeof(*out));
    out->key = new_key(bits);
    if (!out->key) {
        X509_NAME_free(n);
        return -1;
    }
    out->cert = make_cert(n, out->key, iss, kind, nb, na);
    if (!out->cert) {
        af_party_cleanup(out);
        return -1;
    }
    return 0;
}

static X509_NAME *simple_name(const char *cn)
{
    X509_NAME *n = X509_NAME_new();

    if (n && (name_add(n, "O", "Test") || name_add(n, "CN", cn))) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

int af_trust_init(struct af_trust *t, const char *instance, int64_t not_before,
                  int64_t not_after, int rsa_bits)
{
    char cn[128];

    memset(t, 0, sizeof(*t));
    snprintf(t->instance, sizeof(t->instance), "%s", instance);
    t->freshness_s = 3600;
    snprintf(cn, sizeof(cn), "%s Test CA", instance);
    if (make_party(simple_name(cn), NULL, K_CA, not_before, not_after, rsa_bits,
                   &t->ca) ||
        make_party(simple_name("Test OCSP"), &t->ca, K_OCSP, not_before,
                   not_after, rsa_bits, &t->ocsp) ||
        make_party(simple_name("Test TSA"), &t->ca, K_TSA, not_before,
                   not_after, rsa_bits, &t->tsa)) {
        af_trust_cleanup(t);
        return -1;
    }
    return 0;
}

void af_trust_cleanup(struct af_trust *t)
{
    if (!t)
        return;
    af_party_cleanup(&t->ca);
    af_party_cleanup(&t->ocsp);
    af_party_cleanup(&t->tsa);
}

int af_issue(const struct af_party *issuer, enum af_cert_kind kind,
             const char *inst, const char *cls, const char *code,
             int64_t not_before, int64_t not_after, int rsa_bits,
             struct af_party *out)
{
    X509_NAME *n = X509_NAME_new();
    char sn[256], org[160];

    if (!n)
        return -1;
    switch (kind) {
    case AF_CERT_SIGN:
    case AF_CERT_SIGN_NOKU:
        snprintf(sn, sizeof(sn), "%s/ss1/%s", inst, cls);
        snprintf(org, sizeof(org), "Test member %s", code);
        if (name_add(n, "C", "FI") || name_add(n, "O", org) ||
            name_add(n, "CN", code) || name_add(n, "serialNumber", sn)) {
            X509_NAME_free(n);
            return -1;
        }
        return make_party(n, issuer,
                          kind == AF_CERT_SIGN ? K_SIGN : K_SIGN_NOKU,
                          not_before, not_after, rsa_bits, out);
    case AF_CERT_OCSP:
    case AF_CERT_PLAIN:
    case AF_CERT_TSA:
        X509_NAME_free(n);
        return make_party(simple_name(code), issuer,
                          kind == AF_CERT_OCSP  ? K_OCSP
                          : kind == AF_CERT_TSA ? K_TSA
                                                : K_PLAIN,
                          not_before, not_after, rsa_bits, out);
    }
    X509_NAME_free(n);
    return -1;
}

/* ---- files ---- */

static int save_party(const struct af_party *p, const char *dir,
                      const char *name)
{
    char path[4096];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
    f = fopen(path, "w");
    if (!f)
        return -1;
    ok = PEM_write_X509(f, p->cert);
    if (fclose(f) != 0 || !ok)
        return -1;
    snprintf(path, sizeof(path), "%s/%s.key", dir, name);
    f = fopen(path, "w");
    if (!f)
        return -1;
    (void)chmod(path, 0600);
    ok = PEM_write_PrivateKey(f, p->key, NULL, NULL, 0, NULL, NULL);
    return fclose(f) != 0 || !ok ? -1 : 0;
}

static int load_party(struct af_party *p, const char *dir, const char *name)
{
    char path[4096];
    FILE *f;

    memset(p, 0, sizeof(*p));
    snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
    f = fopen(path, "r");
    if (!f)
        return -1;
    p->cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    snprintf(path, sizeof(path), "%s/%s.key", dir, name);
    f = fopen(path, "r");
    if (!f)
        return -1;
    p->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return p->cert && p->key ? 0 : -1;
}

int af_trust_save(const struct af_trust *t, const char *dir)
{
    return save_party(&t->ca, dir, "ca") || save_party(&t->ocsp, dir, "ocsp") ||
                   save_party(&t->tsa, dir, "tsa")
               ? -1
               : 0;
}

int af_trust_load(struct af_trust *t, const char *instance, const char *dir)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->instance, sizeof(t->instance), "%s", instance);
    t->freshness_s = 3600;
    if (load_party(&t->ca, dir, "ca") || load_party(&t->ocsp, dir, "ocsp") ||
        load_party(&t->tsa, dir, "tsa")) {
        af_trust_cleanup(t);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* OCSP and time-stamps                                                */

static int der_out(int n, unsigned char *p, uint8_t **der, size_t *len)
{
    if (n <= 0 || !p)
        return -1;
    *der = malloc((size_t)n);
    if (!*der) {
        OPENSSL_free(p);
        return -1;
    }
    memcpy(*der, p, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(p);
    return 0;
}

int af_ocsp(const struct af_trust *t, X509 *subject, X509 *issuer,
            const struct af_ocsp_opts *o, uint8_t **der, size_t *len)
{
    const struct af_party *r = o->responder ? o->responder : &t->ocsp;
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), subject, issuer);
    ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)o->this_update);
    ASN1_TIME *nu =
        o->next_update ? ASN1_TIME_set(NULL, (time_t)o->next_update) : NULL;
    ASN1_TIME *rt = ASN1_TIME_set(NULL, (time_t)o->revoked_at);
    OCSP_RESPONSE *resp = NULL;
    unsigned char *p = NULL;
    int rc = -1, n;

    if (!bs || !id || !tu || !rt)
        goto out;
    if (!OCSP_basic_add1_status(bs, id, o->status,
                                OCSP_REVOKED_STATUS_KEYCOMPROMISE, rt, tu, nu))
        goto out;
    if (!OCSP_basic_sign(bs, r->cert, r->key, EVP_sha256(), NULL,
                         (o->by_key ? OCSP_RESPID_KEY : 0) |
                             (o->no_certs ? OCSP_NOCERTS : 0)))
        goto out;
    resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    if (!resp)
        goto out;
    n = i2d_OCSP_RESPONSE(resp, &p);
    rc = der_out(n, p, der, len);
out:
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    ASN1_TIME_free(rt);
    return rc;
}

static int ts_time(struct TS_resp_ctx *ctx, void *data, long *sec, long *usec)
{
    (void)ctx;
    *sec = (long)*(const int64_t *)data;
    *usec = 0;
    return 1;
}

static ASN1_INTEGER *ts_serial(struct TS_resp_ctx *ctx, void *data)
{
    static unsigned long counter;
    ASN1_INTEGER *i = ASN1_INTEGER_new();

    (void)ctx;
    (void)data;
    if (i && !ASN1_INTEGER_set(i, (long)++counter)) {
        ASN1_INTEGER_free(i);
        return NULL;
    }
    return i;
}

/* A TS_REQ for SHA-512(data), DER in a memory BIO. */
static BIO *ts_request(const uint8_t *data, size_t len)
{
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    unsigned char md[64];
    unsigned mdlen = 0;
    BIO *b = NULL;

    if (!req || !mi || !alg ||
        !EVP_Digest(data, len, md, &mdlen, EVP_sha512(), NULL))
        goto out;
    X509_ALGOR_set_md(alg, EVP_sha512());
    if (!TS_MSG_IMPRINT_set_algo(mi, alg) ||
        !TS_MSG_IMPRINT_set_msg(mi, md, (int)mdlen) ||
        !TS_REQ_set_version(req, 1) || !TS_REQ_set_msg_imprint(req, mi) ||
        !TS_REQ_set_cert_req(req, 1))
        goto out;
    b = BIO_new(BIO_s_mem());
    if (b && i2d_TS_REQ_bio(b, req) != 1) {
        BIO_free(b);
        b = NULL;
    }
out:
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(req);
    return b;
}

int af_tst(const struct af_trust *t, const struct af_party *tsa,
           const uint8_t *data, size_t len, int64_t gen_time, uint8_t **der,
           size_t *der_len)
{
    const struct af_party *s = tsa ? tsa : &t->tsa;
    TS_RESP_CTX *ctx = TS_RESP_CTX_new();
    ASN1_OBJECT *policy = OBJ_txt2obj("1.2.3.4.1", 1);
    BIO *req = ts_request(data, len);
    TS_RESP *resp = NULL;
    unsigned char *p = NULL;
    int64_t when = gen_time;
    int rc = -1, n;

    if (!ctx || !policy || !req || !TS_RESP_CTX_set_signer_cert(ctx, s->cert) ||
        !TS_RESP_CTX_set_signer_key(ctx, s->key) ||
        !TS_RESP_CTX_set_def_policy(ctx, policy) ||
        !TS_RESP_CTX_add_md(ctx, EVP_sha512()) ||
        !TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()))
        goto out;
    TS_RESP_CTX_set_time_cb(ctx, ts_time, &when);
    TS_RESP_CTX_set_serial_cb(ctx, ts_serial, NULL);
    resp = TS_RESP_create_response(ctx, req);
    if (!resp || !TS_RESP_get_token(resp) ||
        ASN1_INTEGER_get(
            TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp))) != 0)
        goto out;
    n = i2d_PKCS7(TS_RESP_get_token(resp), &p);
    rc = der_out(n, p, der, der_len);
out:
    TS_RESP_free(resp);
    BIO_free(req);
    ASN1_OBJECT_free(policy);
    TS_RESP_CTX_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------ */
/* ZIP writer                                                          */

struct af_zentry {
    char *name;
    uint32_t crc, csize, usize, offset;
    uint16_t method;
};

struct af_zip {
    uint8_t *p;
    size_t len, cap;
    struct af_zentry *e;
    size_t n, ecap;
    bool fail;
    bool no_utf8; /* leave general purpose bit 11 unset */
};

static void zput(struct af_zip *z, const void *d, size_t n)
{
    if (z->fail)
        return;
    if (z->len + n > z->cap) {
        size_t cap = z->cap ? z->cap : 4096;
        uint8_t *np;
        while (cap < z->len + n)
            cap *= 2;
        np = realloc(z->p, cap);
        if (!np) {
            z->fail = true;
            return;
        }
        z->p = np;
        z->cap = cap;
    }
    memcpy(z->p + z->len, d, n);
    z->len += n;
}

static void z16(struct af_zip *z, uint32_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    zput(z, b, 2);
}

static void z32(struct af_zip *z, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    zput(z, b, 4);
}

struct af_zip *af_zip_new(void)
{
    return calloc(1, sizeof(struct af_zip));
}

void af_zip_utf8_flag(struct af_zip *z, bool on)
{
    z->no_utf8 = !on;
}

void af_zip_free(struct af_zip *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->n; i++)
        free(z->e[i].name);
    free(z->e);
    free(z->p);
    free(z);
}

/* Raw DEFLATE of data into a new buffer. */
static uint8_t *deflate_raw(const void *data, size_t len, size_t *out_len)
{
    z_stream zs;
    uLong bound;
    uint8_t *out;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    bound = deflateBound(&zs, (uLong)len);
    out = malloc(bound + 16);
    if (!out) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)(bound + 16);
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&zs);
        free(out);
        return NULL;
    }
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

int af_zip_add_lying(struct af_zip *z, const char *name, const void *data,
                     size_t len, bool deflate, uint32_t claimed)
{
    struct af_zentry *e;
    uint8_t *comp = NULL;
    size_t clen = len;
    size_t nl = strlen(name);

    if (z->n == z->ecap) {
        size_t cap = z->ecap ? z->ecap * 2 : 16;
        struct af_zentry *ne = realloc(z->e, cap * sizeof(*ne));
        if (!ne)
            return -1;
        z->e = ne;
        z->ecap = cap;
    }
    if (deflate) {
        comp = deflate_raw(data, len, &clen);
        if (!comp)
            return -1;
    }
    e = &z->e[z->n];
    e->name = strdup(name);
    if (!e->name) {
        free(comp);
        return -1;
    }
    z->n++;
    e->crc = (uint32_t)crc32(0L, data, (uInt)len);
    e->csize = (uint32_t)clen;
    e->usize = claimed;
    e->offset = (uint32_t)z->len;
    e->method = deflate ? 8 : 0;
    z32(z, 0x04034b50);
    z16(z, 20);
    z16(z, z->no_utf8 ? 0 : 0x0800); /* names are UTF-8 */
    z16(z, e->method);
    z16(z, 0);      /* time */
    z16(z, 0x5021); /* 2020-01-01 */
    z32(z, e->crc);
    z32(z, e->csize);
    z32(z, e->usize);
    z16(z, (uint32_t)nl);
    z16(z, 0);
    zput(z, name, nl);
    zput(z, comp ? comp : data, clen);
    free(comp);
    return z->fail ? -1 : 0;
}

int af_zip_add(struct af_zip *z, const char *name, const void *data, size_t len,
               bool deflate)
{
    return af_zip_add_lying(z, name, data, len, deflate, (uint32_t)len);
}

int af_zip_finish(struct af_zip *z, uint8_t **out, size_t *len)
{
    size_t cd = z->len, cd_size;

    for (size_t i = 0; i < z->n; i++) {
        const struct af_zentry *e = &z->e[i];
        size_t nl = strlen(e->name);
        z32(z, 0x02014b50);
        z16(z, 20);
        z16(z, 20);
        z16(z, z->no_utf8 ? 0 : 0x0800);
        z16(z, e->method);
        z16(z, 0);
        z16(z, 0x5021);
        z32(z, e->crc);
        z32(z, e->csize);
        z32(z, e->usize);
        z16(z, (uint32_t)nl);
        z16(z, 0);
        z16(z, 0);
        z16(z, 0);
        z16(z, 0);
        z32(z, 0);
        z32(z, e->offset);
        zput(z, e->name, nl);
    }
    cd_size = z->len - cd;
    z32(z, 0x06054b50);
    z16(z, 0);
    z16(z, 0);
    z16(z, (uint32_t)z->n);
    z16(z, (uint32_t)z->n);
    z32(z, (uint32_t)cd_size);
    z32(z, (uint32_t)cd);
    z16(z, 0);
    if (z->fail) {
        af_zip_free(z);
        return -1;
    }
    *out = z->p;
    *len = z->len;
    z->p = NULL;
    af_zip_free(z);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Verification configuration                                          */

/* base64 of the certificate (DER, or the PEM text) into a new string. */
static char *cert_b64(X509 *x, bool pem)
{
    unsigned char *der = NULL;
    char *pemtxt = NULL, *out;
    const unsigned char *src;
    int n;
    BIO *b = NULL;

    if (pem) {
        long l;
        b = BIO_new(BIO_s_mem());
        if (!b || !PEM_write_bio_X509(b, x)) {
            BIO_free(b);
            return NULL;
        }
        l = BIO_get_mem_data(b, &pemtxt);
        n = (int)l;
        src = (const unsigned char *)pemtxt;
    } else {
        n = i2d_X509(x, &der);
        src = der;
    }
    out = n > 0 ? malloc((size_t)n / 3 * 4 + 8) : NULL;
    if (out)
        EVP_EncodeBlock((unsigned char *)out, src, n);
    OPENSSL_free(der);
    BIO_free(b);
    return out;
}

char *af_shared_params(const struct af_trust *t)
{
    char *ca = cert_b64(t->ca.cert, t->pem_certs);
    char *oc = cert_b64(t->ocsp.cert, t->pem_certs);
    char *ts = cert_b64(t->tsa.cert, t->pem_certs);
    char *out = NULL;
    size_t n;

    if (ca && oc && ts) {
        n = strlen(ca) + strlen(oc) + strlen(ts) + 2048;
        out = malloc(n);
        if (out)
            snprintf(
                out, n,
                "<?xml version=\"1.0\" encoding=\"UTF-8\" "
                "standalone=\"yes\"?>\n"
                "<ns3:conf xmlns:ns2=\"http://x-road.eu/xsd/identifiers\" "
                "xmlns:ns3=\"http://x-road.eu/xsd/xroad.xsd\">\n"
                "    <instanceIdentifier>%s</instanceIdentifier>\n"
                "    <approvedCA>\n        <name>Test CA</name>\n"
                "        <authenticationOnly>false</authenticationOnly>\n"
                "        <topCA>\n            <cert>%s</cert>\n"
                "            <ocsp>\n                "
                "<url>http://127.0.0.1:1/</url>\n"
                "                <cert>%s</cert>\n            </ocsp>\n"
                "        </topCA>\n        <certificateProfileInfo>"
                "ee.ria.xroad.common.certificateprofile.impl."
                "FiVRKCertificateProfileInfoProvider"
                "</certificateProfileInfo>\n    </approvedCA>\n"
                "    <approvedTSA>\n        <name>Test TSA</name>\n"
                "        <url>http://127.0.0.1:1/</url>\n"
                "        <cert>%s</cert>\n    </approvedTSA>\n"
                "    <globalSettings>\n"
                "        <ocspFreshnessSeconds>%ld</ocspFreshnessSeconds>\n"
                "    </globalSettings>\n</ns3:conf>\n",
                t->instance, ca, oc, ts, t->freshness_s);
    }
    free(ca);
    free(oc);
    free(ts);
    return out;
}

int af_vconf_zip(const struct af_trust *t, uint8_t **out, size_t *len)
{
    struct af_zip *z = af_zip_new();
    char *sp = af_shared_params(t);
    char name[256];
    static const char meta[] = "{\"configurationVersion\":\"3\"}";
    int rc = -1;

    if (!z || !sp)
        goto out;
    snprintf(name, sizeof(name), "verificationconf/%s/shared-params.xml",
             t->instance);
    if (af_zip_add(z, "verificationconf/instance-identifier", t->instance,
                   strlen(t->instance), true) ||
        af_zip_add(z, name, sp, strlen(sp), true))
        goto out;
    snprintf(name, sizeof(name),
             "verificationconf/%s/shared-params.xml.metadata", t->instance);
    if (af_zip_add(z, name, meta, sizeof(meta) - 1, true))
        goto out;
    rc = af_zip_finish(z, out, len);
    z = NULL;
out:
    af_zip_free(z);
    free(sp);
    return rc;
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    size_t w;

    if (!f)
        return -1;
    w = fwrite(data, 1, len, f);
    return fclose(f) != 0 || w != len ? -1 : 0;
}

int af_vconf_dir(const struct af_trust *t, const char *dir)
{
    char path[4096];
    char *sp = af_shared_params(t);
    int rc = -1;

    if (!sp)
        return -1;
    snprintf(path, sizeof(path), "%s/%s", dir, t->instance);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        goto out;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        goto out;
    snprintf(path, sizeof(path), "%s/instance-identifier", dir);
    if (write_file(path, t->instance, strlen(t->instance)))
        goto out;
    snprintf(path, sizeof(path), "%s/%s/shared-params.xml", dir, t->instance);
    rc = write_file(path, sp, strlen(sp));
out:
    free(sp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */

/* Split "A/B/C[/D[/E]]" into parts; returns the count. */
static size_t split_id(const char *s, char parts[6][128])
{
    size_t n = 0, k = 0;

    memset(parts, 0, 6 * 128);
    for (; *s && n < 6; s++) {
        if (*s == '/') {
            n++;
            k = 0;
            continue;
        }
        if (k + 1 < 128)
            parts[n][k++] = *s;
    }
    return n + 1;
}

char *af_soap_message(const char *client, const char *service, const char *id,
                      bool response, const char *body)
{
    char c[6][128], s[6][128], cx[1024], *out;
    size_t nc = split_id(client, c), n;

    split_id(service, s);
    if (nc == 4)
        snprintf(cx, sizeof(cx),
                 "<xrd:client id:objectType=\"SUBSYSTEM\"><id:xRoadInstance>%s"
                 "</id:xRoadInstance><id:memberClass>%s</id:memberClass>"
                 "<id:memberCode>%s</id:memberCode><id:subsystemCode>%s"
                 "</id:subsystemCode></xrd:client>",
                 c[0], c[1], c[2], c[3]);
    else
        snprintf(cx, sizeof(cx),
                 "<xrd:client id:objectType=\"MEMBER\"><id:xRoadInstance>%s"
                 "</id:xRoadInstance><id:memberClass>%s</id:memberClass>"
                 "<id:memberCode>%s</id:memberCode></xrd:client>",
                 c[0], c[1], c[2]);
    n = strlen(cx) + strlen(body) + 4096;
    out = malloc(n);
    if (!out)
        return NULL;
    snprintf(out, n,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<SOAP-ENV:Envelope "
             "xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" "
             "xmlns:xrd=\"http://x-road.eu/xsd/xroad.xsd\" "
             "xmlns:id=\"http://x-road.eu/xsd/identifiers\">"
             "<SOAP-ENV:Header>%s"
             "<xrd:service id:objectType=\"SERVICE\"><id:xRoadInstance>%s"
             "</id:xRoadInstance><id:memberClass>%s</id:memberClass>"
             "<id:memberCode>%s</id:memberCode><id:subsystemCode>%s"
             "</id:subsystemCode><id:serviceCode>%s</id:serviceCode>"
             "</xrd:service><xrd:id>%s</xrd:id>"
             "<xrd:protocolVersion>4.0</xrd:protocolVersion>"
             "</SOAP-ENV:Header><SOAP-ENV:Body>"
             "<svc:%s%s xmlns:svc=\"http://example.test/svc\">%s</svc:%s%s>"
             "</SOAP-ENV:Body></SOAP-ENV:Envelope>\n",
             cx, s[0], s[1], s[2], s[3], s[4], id, s[4],
             response ? "Response" : "", body, s[4],
             response ? "Response" : "");
    return out;
}

uint8_t *af_replace(const uint8_t *buf, size_t len, const char *from,
                    const char *to, size_t *out_len)
{
    size_t fl = strlen(from), tl = strlen(to);
    uint8_t *out;

    for (size_t i = 0; i + fl <= len; i++) {
        if (memcmp(buf + i, from, fl) != 0)
            continue;
        out = malloc(len - fl + tl + 1);
        if (!out)
            return NULL;
        memcpy(out, buf, i);
        memcpy(out + i, to, tl);
        memcpy(out + i + tl, buf + i + fl, len - i - fl);
        *out_len = len - fl + tl;
        out[*out_len] = '\0';
        return out;
    }
    return NULL;
}

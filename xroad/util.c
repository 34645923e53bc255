/*
 * Library init, small string helpers, hashing.
 */
#include <limits.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "internal.h"
#include "dsig.h"

/*
 * Refuse every external entity, DTD or schema load libxml2 might attempt
 * (belt and braces: parsers also run with XML_PARSE_NONET and reject DTDs).
 */
static xmlParserInputPtr deny_entity_loader(const char *url, const char *id,
                                            xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

/*
 * libxml2 reports some errors with no parser context to attach them to
 * (a failed character conversion of a declared encoding, for one) through
 * its generic error channel, which writes them to stderr with the bytes
 * that failed. libxroad does not log, and those bytes come from untrusted
 * messages (a VTJ answer, say): the channel is silenced. Every error still
 * reaches the caller through the parser context and struct xr_error.
 */
static void silent_generic_error(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/*
 * The digests of every message, fetched once: EVP_sha512() would make
 * OpenSSL 3 look the algorithm up in its provider store on every call.
 * Set by xr_global_init() before any thread exists, read-only after.
 */
static EVP_MD *md_sha512;
static EVP_MD *md_sha256;

static const EVP_MD *md_or_sha512(void)
{
    return md_sha512 ? md_sha512 : EVP_sha512();
}

static const EVP_MD *md_or_sha256(void)
{
    return md_sha256 ? md_sha256 : EVP_sha256();
}

static bool digest(const EVP_MD *md, const void *data, size_t len, uint8_t *out,
                   unsigned int want)
{
    unsigned int n = 0;

    return EVP_Digest(data, len, out, &n, md, NULL) == 1 && n == want;
}

bool xr_sha512(const void *data, size_t len, uint8_t out[XR_SHA512_LEN])
{
    return digest(md_or_sha512(), data, len, out, XR_SHA512_LEN);
}

bool xr_sha256(const void *data, size_t len, uint8_t out[XR_SHA256_LEN])
{
    return digest(md_or_sha256(), data, len, out, XR_SHA256_LEN);
}

enum xr_status xr_global_init(struct xr_error *err)
{
    xr_error_clear(err);
    if (!md_sha512)
        md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
    if (!md_sha256)
        md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!md_sha512 || !md_sha256)
        return xr_error_set(err, XR_EINTERNAL, "openssl_error", "",
                            "OpenSSL offers no SHA-512 or SHA-256");
    xmlInitParser();
    xmlSetExternalEntityLoader(deny_entity_loader);
    /* This thread, and the default for threads created later. */
    xmlSetGenericErrorFunc(NULL, silent_generic_error);
    xmlThrDefSetGenericErrorFunc(NULL, silent_generic_error);
    /* xmlsec for signed containers: locked down once (dsig.c). */
    return xr__dsig_global_init(err);
}

void xr_global_cleanup(void)
{
    EVP_MD_free(md_sha512);
    EVP_MD_free(md_sha256);
    md_sha512 = md_sha256 = NULL;
    xr__dsig_global_shutdown();
    xmlCleanupParser();
}

const char *xr_version(void)
{
    return VAYLA_VERSION;
}

void xr__limits_resolve(struct xr_limits *lim)
{
    if (lim->max_bytes == 0)
        lim->max_bytes = XR_LIMIT_BYTES_DEFAULT;
    if (lim->max_depth == 0)
        lim->max_depth = XR_LIMIT_DEPTH_DEFAULT;
    if (lim->max_nodes == 0)
        lim->max_nodes = XR_LIMIT_NODES_DEFAULT;
    if (lim->max_parts == 0)
        lim->max_parts = XR_LIMIT_PARTS_DEFAULT;
    if (lim->max_attrs == 0)
        lim->max_attrs = XR_LIMIT_ATTRS_DEFAULT;
}

void xr__sha512_b64(const uint8_t *data, size_t len, char *out, size_t size)
{
    uint8_t md[XR_SHA512_LEN];
    unsigned char b64[XR_HASH_B64_MAX + 1];

    if (size == 0)
        return;
    out[0] = '\0';
    if (!xr_sha512(data, len, md))
        return;
    /* 64 bytes -> 88 characters + NUL: always fits XR_HASH_B64_MAX. */
    EVP_EncodeBlock(b64, md, (int)sizeof(md));
    xr__strlcpy(out, (const char *)b64, size);
}

/* Format 16 bytes as a UUID (lower-case hex, 8-4-4-4-12). */
static void uuid_format(const unsigned char r[16], char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 0x0f];
    }
    out[o] = '\0';
}

enum xr_status xr__random(uint8_t *out, size_t n, struct xr_error *err)
{
    if (n > INT_MAX || RAND_bytes(out, (int)n) != 1)
        return xr_error_set(err, XR_EINTERNAL, "random_failed", "",
                            "the random source failed");
    return XR_OK;
}

enum xr_status xr_uuid4(char *out, size_t size, struct xr_error *err)
{
    unsigned char r[16];

    if (size < 37)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "UUID buffer too small");
    if (RAND_bytes(r, (int)sizeof(r)) != 1)
        return xr_error_set(err, XR_EINTERNAL, "random_failed", "",
                            "no random bytes for a message id");
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    uuid_format(r, out);
    return XR_OK;
}

enum xr_status xr_uuid7(char *out, size_t size, struct xr_error *err)
{
    unsigned char r[16];
    struct timespec ts;
    uint64_t ms;

    if (size < 37)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "UUID buffer too small");
    if (RAND_bytes(r + 6, 10) != 1)
        return xr_error_set(err, XR_EINTERNAL, "random_failed", "",
                            "no random bytes for a message id");
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    for (int i = 5; i >= 0; i--) {
        r[i] = (unsigned char)(ms & 0xff);
        ms >>= 8;
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x70); /* version 7 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 9562 variant */
    uuid_format(r, out);
    return XR_OK;
}

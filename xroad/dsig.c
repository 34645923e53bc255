/*
 * xmlsec1 glue (see dsig.h for the lock-down rules).
 */
#include <stdlib.h>
#include <string.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>
#include <xmlsec/io.h>
#include <xmlsec/keys.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/app.h>
#include <xmlsec/openssl/evp.h>

#include "dsig.h"
#include "vutil.h"

/* What the error callback saw during this thread's verification. */
struct dsig_errors {
    bool any;
    bool transform_disabled;
    bool uri_refused;
    bool oom;
    int first_reason;
    char first[160];
};

/* The container being verified by this thread, or NULL. */
struct dsig_io {
    xr__dsig_lookup_fn *lookup;
    void *arg;
};

static _Thread_local const struct dsig_io *tl_io;
static _Thread_local struct dsig_errors tl_err;

/*
 * xmlsec reports every error through this callback (its default prints
 * to stderr). Library code does not print: the first error and the kinds
 * that decide the error code are kept for the verification that runs on
 * this thread.
 */
static void on_xmlsec_error(const char *file, int line, const char *func,
                            const char *object, const char *subject, int reason,
                            const char *msg)
{
    (void)file;
    (void)line;
    (void)object;
    if (reason == XMLSEC_ERRORS_R_TRANSFORM_DISABLED)
        tl_err.transform_disabled = true;
    if (reason == XMLSEC_ERRORS_R_INVALID_URI_TYPE ||
        reason == XMLSEC_ERRORS_R_IO_FAILED)
        tl_err.uri_refused = true;
    if (reason == XMLSEC_ERRORS_R_MALLOC_FAILED ||
        reason == XMLSEC_ERRORS_R_STRDUP_FAILED)
        tl_err.oom = true;
    if (!tl_err.any) {
        tl_err.any = true;
        tl_err.first_reason = reason;
        snprintf(tl_err.first, sizeof(tl_err.first), "%s%s%s%s%s",
                 func ? func : "", subject ? " " : "", subject ? subject : "",
                 msg ? ": " : "", msg ? msg : "");
    }
}

/* ---- the only IO handler xmlsec has: in-container entries ---- */

struct io_stream {
    const uint8_t *p;
    size_t len, pos;
};

static int io_match(const char *name)
{
    const uint8_t *d;
    size_t n;

    if (name && tl_io && tl_io->lookup(tl_io->arg, name, &d, &n))
        return 1;
    /* A reference the container does not serve: not a crypto failure. */
    tl_err.uri_refused = true;
    return 0;
}

static void *io_open(const char *name)
{
    struct io_stream *s;
    const uint8_t *d;
    size_t n;

    if (!name || !tl_io || !tl_io->lookup(tl_io->arg, name, &d, &n))
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->p = d;
    s->len = n;
    return s;
}

static int io_read(void *ctx, char *buf, int len)
{
    struct io_stream *s = ctx;
    size_t n;

    if (!s || len < 0)
        return -1;
    n = s->len - s->pos;
    if (n > (size_t)len)
        n = (size_t)len;
    memcpy(buf, s->p + s->pos, n);
    s->pos += n;
    return (int)n;
}

static int io_close(void *ctx)
{
    free(ctx);
    return 0;
}

static unsigned init_count;

enum xr_status xr__dsig_global_init(struct xr_error *err)
{
    if (init_count++ > 0)
        return XR_OK;
    xmlSecErrorsSetCallback(on_xmlsec_error);
    if (xmlSecInit() < 0)
        goto fail;
    if (xmlSecCheckVersion() != 1)
        goto fail;
    if (xmlSecOpenSSLAppInit(NULL) < 0 || xmlSecOpenSSLInit() < 0)
        goto fail;
    /* Drop the file/HTTP/FTP handlers xmlSecInit() registered. */
    xmlSecIOCleanupCallbacks();
    if (xmlSecIORegisterCallbacks(io_match, io_open, io_read, io_close) < 0)
        goto fail;
    xmlSecErrorsSetCallback(on_xmlsec_error);
    return XR_OK;
fail:
    init_count--;
    return xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                        "xmlsec initialisation failed: %s", tl_err.first);
}

void xr__dsig_global_shutdown(void)
{
    if (init_count == 0 || --init_count > 0)
        return;
    xmlSecOpenSSLShutdown();
    xmlSecOpenSSLAppShutdown();
    xmlSecShutdown();
}

static bool enable_transforms(xmlSecDSigCtxPtr ctx)
{
    xmlSecTransformId ref[] = {
        xmlSecTransformInclC14NId, xmlSecTransformInclC14N11Id,
        xmlSecTransformExclC14NId, xmlSecTransformEnvelopedId,
        xmlSecTransformSha256Id,   xmlSecTransformSha384Id,
        xmlSecTransformSha512Id};
    xmlSecTransformId sig[] = {
        xmlSecTransformInclC14NId,    xmlSecTransformInclC14N11Id,
        xmlSecTransformExclC14NId,    xmlSecTransformRsaSha256Id,
        xmlSecTransformRsaSha384Id,   xmlSecTransformRsaSha512Id,
        xmlSecTransformEcdsaSha256Id, xmlSecTransformEcdsaSha384Id,
        xmlSecTransformEcdsaSha512Id};

    for (size_t i = 0; i < sizeof(ref) / sizeof(ref[0]); i++)
        if (xmlSecDSigCtxEnableReferenceTransform(ctx, ref[i]) < 0)
            return false;
    for (size_t i = 0; i < sizeof(sig) / sizeof(sig[0]); i++)
        if (xmlSecDSigCtxEnableSignatureTransform(ctx, sig[i]) < 0)
            return false;
    return true;
}

/* The key of cert as an xmlsec key; NULL when out of memory. */
static xmlSecKeyPtr key_from_cert(X509 *cert)
{
    EVP_PKEY *pk = X509_get_pubkey(cert);
    xmlSecKeyDataPtr data;
    xmlSecKeyPtr key;

    if (!pk)
        return NULL;
    data = xmlSecOpenSSLEvpKeyAdopt(pk);
    if (!data) {
        EVP_PKEY_free(pk);
        return NULL;
    }
    key = xmlSecKeyCreate();
    if (!key || xmlSecKeySetValue(key, data) < 0) {
        xmlSecKeyDataDestroy(data);
        if (key)
            xmlSecKeyDestroy(key);
        return NULL;
    }
    return key;
}

/* The error of a verification that ran (rc == 0) but did not succeed. */
static enum xr_status failed_refs(xmlSecDSigCtxPtr ctx, size_t want,
                                  struct xr_error *err)
{
    size_t n = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
    char clip[XR_CLIP];

    for (size_t i = 0; i < n; i++) {
        xmlSecDSigReferenceCtxPtr r =
            xmlSecPtrListGetItem(&ctx->signedInfoReferences, (xmlSecSize)i);
        if (r && r->status != xmlSecDSigStatusSucceeded)
            return xr_error_set(
                err, XR_ESIG, "invalid_signature_value", "",
                "signature is not valid: the digest of "
                "reference '%s' does not match",
                xr__clip(clip, sizeof(clip), r->uri ? xr__cs(r->uri) : ""));
    }
    if (ctx->status == xmlSecDSigStatusSucceeded && n != want)
        return xr_error_set(err, XR_EPROTO, "malformed_signature", "",
                            "malformed signature: %zu of %zu references "
                            "processed",
                            n, want);
    return xr_error_set(err, XR_ESIG, "invalid_signature_value", "",
                        "signature is not valid: the signature value does "
                        "not match");
}

static size_t count_refs(xmlNodePtr sig)
{
    size_t n = 0;
    xmlNodePtr si = NULL;

    for (xmlNodePtr c = xr__xml_first_elem(sig); c && !si;
         c = xr__xml_next_elem(c))
        if (xr__xml_is(c, XR__NS_DS, "SignedInfo"))
            si = c;
    for (xmlNodePtr c = si ? xr__xml_first_elem(si) : NULL; c;
         c = xr__xml_next_elem(c))
        if (xr__xml_is(c, XR__NS_DS, "Reference"))
            n++;
    return n;
}

enum xr_status xr__dsig_verify(xmlDocPtr doc, xmlNodePtr sig, X509 *cert,
                               xr__dsig_lookup_fn *lookup, void *arg,
                               struct xr_error *err)
{
    struct dsig_io io = {.lookup = lookup, .arg = arg};
    xmlSecDSigCtxPtr ctx = NULL;
    xmlSecKeyPtr key = NULL;
    size_t want = count_refs(sig);
    enum xr_status rc;
    int r;

    (void)doc;
    memset(&tl_err, 0, sizeof(tl_err));
    key = key_from_cert(cert);
    ctx = key ? xmlSecDSigCtxCreate(NULL) : NULL;
    if (!ctx) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "cannot set up the signature check");
        goto out;
    }
    ctx->signKey = key; /* the context owns it now */
    key = NULL;
    ctx->flags = XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS |
                 XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES;
    ctx->enabledReferenceUris =
        xmlSecTransformUriTypeSameDocument | xmlSecTransformUriTypeRemote;
    if (!enable_transforms(ctx)) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "cannot set up the transform allow-list");
        goto out;
    }
    tl_io = &io;
    r = xmlSecDSigCtxVerify(ctx, sig);
    tl_io = NULL;
    if (r == 0 && ctx->status == xmlSecDSigStatusSucceeded &&
        xmlSecPtrListGetSize(&ctx->signedInfoReferences) == want) {
        bool all = true;
        for (size_t i = 0; i < want; i++) {
            xmlSecDSigReferenceCtxPtr ref =
                xmlSecPtrListGetItem(&ctx->signedInfoReferences, (xmlSecSize)i);
            if (!ref || ref->status != xmlSecDSigStatusSucceeded)
                all = false;
        }
        if (all) {
            rc = XR_OK;
            goto out;
        }
    }
    if (r == 0) {
        rc = failed_refs(ctx, want, err);
    } else if (tl_err.transform_disabled) {
        rc = xr_error_set(err, XR_EPROTO, "transform_forbidden", "",
                          "the signature uses a transform that is not "
                          "allowed (%s)",
                          tl_err.first);
    } else if (tl_err.uri_refused) {
        rc = xr_error_set(err, XR_EPROTO, "invalid_reference", "",
                          "a reference cannot be resolved inside the "
                          "container (%s)",
                          tl_err.first);
    } else if (tl_err.oom) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "out of memory checking the signature");
    } else {
        rc = xr_error_set(err, XR_EPROTO, "malformed_signature", "",
                          "malformed signature: %s",
                          tl_err.any ? tl_err.first : "xmlsec failed");
    }
out:
    if (ctx)
        xmlSecDSigCtxDestroy(ctx);
    if (key)
        xmlSecKeyDestroy(key);
    ERR_clear_error();
    return rc;
}

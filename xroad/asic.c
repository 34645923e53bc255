/*
 * ASiC-E container verification: the order of the checks (X-Road's
 * AsicContainerVerifier.verify and SignatureVerifier.verify, see
 * include/xroad/asic.h), the container rules, the result and zips of
 * containers. Trust checks are in asic_trust.c, message.xml in
 * asic_msg.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acache.h"
#include "asic.h"
#include "certpath.h"
#include "dsig.h"
#include "hashchain.h"
#include "vutil.h"

#define MALFORMED "malformed_signature"

/* ---- small helpers ---- */

void xr__asic_warn(struct xr__vctx *v, const char *fmt, ...)
{
    struct xr_asic_result *r = v->res;
    va_list ap;

    if (r->nwarnings == XR__ASIC_MAX_WARNINGS)
        return;
    va_start(ap, fmt);
    vsnprintf(r->warnings[r->nwarnings], XR__ASIC_WARNING_MAX, fmt, ap);
    va_end(ap);
    r->warnings[r->nwarnings][xr__utf8_trim(
        r->warnings[r->nwarnings], strlen(r->warnings[r->nwarnings]))] = '\0';
    r->nwarnings++;
}

const struct xr__zip_entry *xr__asic_entry(struct xr__vctx *v, const char *uri)
{
    const struct xr__zip_entry *e;

    if (uri[0] == '/')
        uri++;
    e = xr__zip_find(&v->zip, uri);
    if (e)
        v->covered[e - v->zip.e] = true;
    return e;
}

static bool is_blank(const struct xr__zip_entry *e)
{
    for (size_t i = 0; i < e->len; i++)
        if (e->data[i] != ' ' && e->data[i] != '\t' && e->data[i] != '\r' &&
            e->data[i] != '\n')
            return false;
    return true;
}

static void add_digest(struct xr__vctx *v, const char *uri,
                       const uint8_t *digest, size_t len, bool verified)
{
    struct xr_asic_result *r = v->res;
    struct xr_asic_digest *d;

    if (r->ndigests == XR__ASIC_MAX_DIGESTS || len > 64)
        return;
    d = &r->digests[r->ndigests++];
    xr__strlcpy(d->uri, uri, sizeof(d->uri));
    xr__hex(digest, len, d->hex);
    d->verified = verified;
    if (!verified)
        xr__asic_warn(v,
                      "the digest of %s is unverified: the container does "
                      "not hold it",
                      d->uri);
}

/* ---- 1. container structure ---- */

/* The entry roles, compared ignoring case as X-Road's reader does. */
static void assign_role(struct xr__vctx *v, const struct xr__zip_entry *e)
{
    static const struct {
        const char *name;
        size_t off;
    } roles[] = {
        {"mimetype", offsetof(struct xr__vctx, mimetype)},
        {"message.xml", offsetof(struct xr__vctx, message)},
        {"META-INF/signatures.xml", offsetof(struct xr__vctx, signature)},
        {"sig-hashchainresult.xml", offsetof(struct xr__vctx, sig_hcr)},
        {"sig-hashchain.xml", offsetof(struct xr__vctx, sig_hc)},
        {"ts-hashchainresult.xml", offsetof(struct xr__vctx, ts_hcr)},
        {"ts-hashchain.xml", offsetof(struct xr__vctx, ts_hc)},
        {"META-INF/timestamp.tst", offsetof(struct xr__vctx, tst)},
        {"META-INF/manifest.xml", offsetof(struct xr__vctx, manifest)},
        {"META-INF/ASiCManifest.xml", offsetof(struct xr__vctx, asic_manifest)},
    };

    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (xr__ieq(e->name, roles[i].name)) {
            const struct xr__zip_entry **slot =
                (const struct xr__zip_entry **)(void *)((char *)v +
                                                        roles[i].off);
            *slot = e;
            return;
        }
    }
}

/* Only root files and META-INF/ files: X-Road writes nothing else. */
static enum xr_status classify(struct xr__vctx *v, struct xr_error *err)
{
    char clip[XR_CLIP];

    for (size_t i = 0; i < v->zip.n; i++) {
        const struct xr__zip_entry *e = &v->zip.e[i];
        const char *slash = strchr(e->name, '/');
        bool meta = slash && (size_t)(slash - e->name) == 8 &&
                    !strncasecmp(e->name, "META-INF", 8);
        if (e->is_dir) {
            if (!meta || slash[1] != '\0')
                return xr_error_set(err, XR_EPROTO, "asic_unexpected_entry", "",
                                    "unexpected folder '%s' in the "
                                    "container",
                                    xr__clip(clip, sizeof(clip), e->name));
            v->covered[i] = true;
            continue;
        }
        if (slash && (!meta || strchr(slash + 1, '/')))
            return xr_error_set(err, XR_EPROTO, "asic_unexpected_entry", "",
                                "unexpected entry '%s' in the container",
                                xr__clip(clip, sizeof(clip), e->name));
        assign_role(v, e);
    }
    return XR_OK;
}

/* X-Road AsicContainer.verifyContents(), in its order. */
static enum xr_status structure(struct xr__vctx *v, struct xr_error *err)
{
    static const char mt[] = XR_ASIC_MIMETYPE;
    char clip[XR_CLIP];

    if (!v->mimetype || is_blank(v->mimetype))
        return xr_error_set(err, XR_EPROTO, "asic_mime_type_not_found", "",
                            "mimetype not found or is empty");
    if (v->mimetype->len != sizeof(mt) - 1 ||
        !xr__ieq((const char *)v->mimetype->data, mt))
        return xr_error_set(
            err, XR_EPROTO, "asic_invalid_mime_type", "",
            "invalid mime type: %s",
            xr__clip(clip, sizeof(clip), (const char *)v->mimetype->data));
    if (!v->message || is_blank(v->message))
        return xr_error_set(err, XR_EPROTO, "asic_message_not_found", "",
                            "message.xml not found or is empty");
    if (!v->signature || is_blank(v->signature))
        return xr_error_set(err, XR_EPROTO, "asic_signature_not_found", "",
                            "META-INF/signatures.xml not found or is empty");
    if (v->sig_hcr && is_blank(v->sig_hcr))
        v->sig_hcr = NULL;
    if (v->sig_hc && is_blank(v->sig_hc))
        v->sig_hc = NULL;
    if (v->sig_hc && !v->sig_hcr)
        return xr_error_set(err, XR_EPROTO, "asic_hash_chain_result_not_found",
                            "",
                            "sig-hashchainresult.xml not found or is "
                            "empty");
    if (v->sig_hcr && !v->sig_hc)
        return xr_error_set(err, XR_EPROTO, "asic_hash_chain_not_found", "",
                            "sig-hashchain.xml not found or is empty");
    if (v->tst && v->tst->len == 0)
        return xr_error_set(err, XR_EPROTO, "asic_timestamp_not_found", "",
                            "META-INF/timestamp.tst is empty");
    if (v->ts_hcr && is_blank(v->ts_hcr))
        v->ts_hcr = NULL;
    if (v->ts_hc && is_blank(v->ts_hc))
        v->ts_hc = NULL;
    if (v->ts_hc && !v->ts_hcr)
        return xr_error_set(err, XR_EPROTO, "asic_hash_chain_result_not_found",
                            "",
                            "ts-hashchainresult.xml not found or is "
                            "empty");
    if (v->ts_hcr && !v->ts_hc)
        return xr_error_set(err, XR_EPROTO, "asic_hash_chain_not_found", "",
                            "ts-hashchain.xml not found or is empty");
    if ((v->manifest && is_blank(v->manifest)) ||
        (v->asic_manifest && is_blank(v->asic_manifest)))
        return xr_error_set(err, XR_EPROTO, "asic_manifest_not_found", "",
                            "a manifest is empty");
    /* These are read by the checks; mark them so they are not flagged. */
    v->covered[v->mimetype - v->zip.e] = true;
    v->covered[v->signature - v->zip.e] = true;
    if (v->manifest)
        v->covered[v->manifest - v->zip.e] = true;
    return XR_OK;
}

/* ---- 2. the signature document ---- */

static enum xr_status read_signature(struct xr__vctx *v, struct xr_error *err)
{
    enum xr_status rc;

    rc = xr__xml_parse(v->signature->data, v->signature->len, NULL,
                       &v->opts.xml, 0, &v->sigdoc, err);
    if (rc != XR_OK) {
        char why[XR_ERRMSG_MAX] = "not XML";
        if (rc == XR_ENOMEM)
            return rc;
        if (err)
            xr__strlcpy(why, err->msg, sizeof(why));
        return xr_error_set(err, XR_EPROTO, MALFORMED, "",
                            "malformed signature: %s", why);
    }
    rc = xr__xsig_read(v->sigdoc, v->cache, &v->xsig, err);
    v->res->claimed_time = v->xsig.signing_time;
    return rc;
}

/* ---- 3. references ---- */

/* The names a detached reference may have. */
static bool allowed_entry(const char *uri)
{
    return !strcmp(uri, "/message.xml") ||
           !strcmp(uri, "/sig-hashchainresult.xml") ||
           !strncmp(uri, "/attachment", 11);
}

static enum xr_status check_references(struct xr__vctx *v, struct xr_error *err)
{
    const struct xr__xsig *x = &v->xsig;
    size_t same = 0;
    char clip[XR_CLIP];

    if (!xr__xsig_references(x, "/message.xml") &&
        !xr__xsig_references(x, "/sig-hashchainresult.xml"))
        return xr_error_set(err, XR_EPROTO, MALFORMED, "",
                            "signature does not reference '/message.xml' or "
                            "'/sig-hashchainresult.xml'");
    for (size_t i = 0; i < x->nrefs; i++) {
        const char *uri = x->refs[i].uri;
        xmlAttrPtr id;
        if (!x->refs[i].has_uri)
            return xr_error_set(err, XR_EPROTO, "invalid_reference", "",
                                "a reference without URI");
        if (uri[0] != '#') {
            if (!allowed_entry(uri))
                return xr_error_set(err, XR_EPROTO, "invalid_reference", "",
                                    "reference '%s' is not a container entry "
                                    "a signature may cover",
                                    xr__clip(clip, sizeof(clip), uri));
            continue;
        }
        /* "#id" only: XPointer expressions could select anything. */
        if (strpbrk(uri + 1, "()#/ ") || uri[1] == '\0')
            return xr_error_set(err, XR_EPROTO, "invalid_reference", "",
                                "same-document reference '%s' is not a "
                                "plain Id",
                                xr__clip(clip, sizeof(clip), uri));
        id = xmlGetID(v->sigdoc, xr__xc(uri + 1));
        if (!id || id->parent != x->signed_props)
            return xr_error_set(err, XR_EPROTO, MALFORMED, "",
                                "malformed signature: reference '%s' does "
                                "not point at this signature's "
                                "SignedProperties",
                                xr__clip(clip, sizeof(clip), uri));
        same++;
    }
    if (same != 1)
        return xr_error_set(err, XR_EPROTO, MALFORMED, "",
                            "malformed signature: it must reference its "
                            "SignedProperties exactly once");
    return XR_OK;
}

/* ---- 5. the signature hash chain ---- */

static bool hc_resolve(void *arg, const char *uri, const uint8_t **data,
                       size_t *len)
{
    const struct xr__zip_entry *e = xr__asic_entry(arg, uri);

    if (!e)
        return false;
    *data = e->data;
    *len = e->len;
    return true;
}

static void hc_report(void *arg, const char *uri, const uint8_t *digest,
                      size_t len, bool verified)
{
    if (strcmp(uri, "/message.xml") != 0)
        add_digest(arg, uri, digest, len, verified);
}

static enum xr_status sig_hash_chain(struct xr__vctx *v, struct xr_error *err)
{
    struct xr__hc_input in = {.uri = "/message.xml"};

    if (!xr__xsig_references(&v->xsig, "/sig-hashchainresult.xml") ||
        !v->sig_hcr)
        return XR_OK;
    v->covered[v->sig_hcr - v->zip.e] = true;
    return xr__hashchain_verify(v->sig_hcr->data, v->sig_hcr->len, hc_resolve,
                                v, &in, 1, hc_report, v, &v->opts.xml, err);
}

/* ---- 6, 7. signing certificate and signer ---- */

/*
 * The approved CA that issued the signing certificate (its signature is
 * checked, an RSA verification remembered per certificate).
 */
static const struct xr__vca *issuer_of(struct xr__vctx *v)
{
    uint8_t key[32], *der;
    const uint8_t *parts[2];
    size_t lens[2], len = 0;
    struct xr__memo *m;
    const struct xr__vca *ca;
    bool keyed;

    if (!v->cache)
        return xr__vconf_issuer(v->inst, v->xsig.cert);
    der = xr__cert_der(v->xsig.cert, &len);
    parts[0] = der;
    lens[0] = len;
    parts[1] = (const uint8_t *)v->inst->name;
    lens[1] = strlen(v->inst->name);
    keyed = der && xr__memo_key(key, XR__MEMO_ISSUER, parts, lens, 2);
    free(der);
    m = keyed ? xr__memo_get(v->cache, v->vc, key) : NULL;
    if (m)
        return m->issuer;
    ca = xr__vconf_issuer(v->inst, v->xsig.cert);
    if (ca && keyed) {
        m = xr__memo_put(v->cache, key);
        if (m)
            m->issuer = ca;
    }
    return ca;
}

static enum xr_status signer_cert(struct xr__vctx *v, struct xr_error *err)
{
    struct xr_asic_result *r = v->res;
    const struct xr__vca *ca;
    struct xr_id member;
    char a[XR_ID_TEXT_MAX], b[XR_ID_TEXT_MAX];
    enum xr_status rc;

    if (!v->xsig.cert)
        return xr_error_set(err, XR_EPROTO, MALFORMED, "",
                            "signature does not contain signing certificate");
    xr__name_text(X509_get_subject_name(v->xsig.cert), r->signer_subject,
                  sizeof(r->signer_subject));
    if (!xr__cert_is_signing(v->xsig.cert))
        return xr_error_set(err, XR_ECERT, "not_signing_certificate", "",
                            "certificate %s is not a signing certificate "
                            "(no nonRepudiation key usage)",
                            r->signer_subject);
    v->inst = xr__vconf_find(v->vc, r->signer.instance);
    if (!v->inst)
        return xr_error_set(err, XR_ECERT, "cannot_create_cert_path", "",
                            "the verification configuration has no instance "
                            "'%s' (the signer's)",
                            xr__clip(a, XR_CLIP, r->signer.instance));
    ca = issuer_of(v);
    if (!ca)
        return xr_error_set(err, XR_ECERT, "cannot_create_cert_path", "",
                            "certificate %s is not issued by an approved CA "
                            "of instance %s",
                            r->signer_subject, v->inst->name);
    rc = xr__cert_member(v->xsig.cert, ca->profile, &member, err);
    if (rc != XR_OK)
        return rc;
    if (strcmp(member.instance, r->signer.instance) ||
        strcmp(member.member_class, r->signer.member_class) ||
        strcmp(member.member_code, r->signer.member_code)) {
        xr_id_format(&member, false, a, sizeof(a));
        xr_id_format(&r->signer, true, b, sizeof(b));
        return xr_error_set(err, XR_ECERT, "incorrect_certificate", "",
                            "name in certificate (%s) does not match name in "
                            "message (%s)",
                            a, b);
    }
    return XR_OK;
}

/* ---- 8. signature value ---- */

static bool dsig_lookup(void *arg, const char *name, const uint8_t **data,
                        size_t *len)
{
    struct xr__vctx *v = arg;
    const struct xr__zip_entry *e;

    if (!allowed_entry(name))
        return false;
    e = xr__asic_entry(v, name);
    if (!e)
        return false;
    *data = e->data;
    *len = e->len;
    return true;
}

static enum xr_status cert_digest(struct xr__vctx *v, struct xr_error *err)
{
    const struct xr__xsig *x = &v->xsig;
    uint8_t *der, d[EVP_MAX_MD_SIZE];
    size_t len = 0;
    unsigned dl = 0;
    bool ok;

    if (!x->has_cert_digest) {
        xr__asic_warn(v, "the signature has no SigningCertificate digest");
        return XR_OK;
    }
    der = xr__cert_der(x->cert, &len);
    ok = der && xr__digest(x->cert_md, der, len, d, &dl) &&
         dl == x->cert_digest_len && !memcmp(d, x->cert_digest, dl);
    free(der);
    if (!ok)
        return xr_error_set(err, XR_ESIG, "signing_certificate_mismatch", "",
                            "the SigningCertificate digest does not match the "
                            "KeyInfo certificate");
    return XR_OK;
}

static enum xr_status signature_value(struct xr__vctx *v, struct xr_error *err)
{
    enum xr_status rc;

    rc = xr__dsig_verify(v->sigdoc, v->xsig.sig, v->xsig.cert, dsig_lookup, v,
                         err);
    if (rc != XR_OK && v->body_empty && err &&
        (!strcmp(err->reason, "invalid_signature_value") ||
         (v->res->is_rest && !strcmp(err->reason, "invalid_reference"))))
        return xr_error_set(
            err, rc, "message_body_not_logged", "",
            "signature is not valid and the message body is empty: the "
            "security server logged the message without its body "
            "(message-log message-body-logging=false). Enable body logging "
            "for this subsystem on the security server");
    if (rc != XR_OK)
        return rc;
    /* Report what the signature covers directly. */
    for (size_t i = 0; i < v->xsig.nrefs; i++) {
        const char *uri = v->xsig.refs[i].uri;
        const struct xr__zip_entry *e;
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned dl = 0;
        if (strncmp(uri, "/attachment", 11) != 0)
            continue;
        e = xr__asic_entry(v, uri);
        if (e && xr__digest(EVP_sha512(), e->data, e->len, d, &dl))
            add_digest(v, uri, d, dl, true);
    }
    return cert_digest(v, err);
}

/* ---- the sequence ---- */

static enum xr_status run(struct xr__vctx *v, const uint8_t *buf, size_t len,
                          struct xr_error *err)
{
    struct xr_asic_result *r = v->res;
    struct xr_error msg_err;
    enum xr_status rc, msg_rc;

    rc = xr__zip_read(buf, len, &v->opts.zip, &v->zip, err);
    if (rc != XR_OK)
        return rc;
    v->covered = calloc(v->zip.n, sizeof(*v->covered));
    if (!v->covered)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    if ((rc = classify(v, err)) != XR_OK || (rc = structure(v, err)) != XR_OK)
        return rc;
    r->message = malloc(v->message->len + 1);
    if (!r->message)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    memcpy(r->message, v->message->data, v->message->len + 1);
    r->message_len = v->message->len;
    /* Read the message for the report now; its error counts only where
     * X-Road first uses the signer it names. */
    xr_error_clear(&msg_err);
    msg_rc = xr__asic_read_message(v, &msg_err);
    if (msg_rc == XR_ENOMEM)
        return xr_error_set(err, msg_rc, "out_of_memory", "", "out of memory");
    if ((rc = read_signature(v, err)) != XR_OK ||
        (rc = check_references(v, err)) != XR_OK ||
        (rc = xr__asic_timestamp(v, err)) != XR_OK ||
        (rc = sig_hash_chain(v, err)) != XR_OK)
        return rc;
    /* X-Road needs the signer from here on (SignatureVerifier.verify). */
    if (msg_rc != XR_OK) {
        if (err)
            *err = msg_err;
        return msg_rc;
    }
    if ((rc = signer_cert(v, err)) != XR_OK ||
        (rc = signature_value(v, err)) != XR_OK ||
        (rc = xr__asic_chain(v, err)) != XR_OK)
        return rc;
    return xr__asic_ocsp(v, err);
}

/* Entries nothing checked: X-Road ignores them; they are reported. */
static void warn_uncovered(struct xr__vctx *v)
{
    char clip[XR_CLIP];

    if (v->tst)
        v->covered[v->tst - v->zip.e] = v->have_ts;
    if (v->ts_hcr && v->res->batch) {
        v->covered[v->ts_hcr - v->zip.e] = true;
        if (v->asic_manifest)
            v->covered[v->asic_manifest - v->zip.e] = true;
    }
    for (size_t i = 0; i < v->zip.n; i++)
        if (!v->covered[i])
            xr__asic_warn(v,
                          "entry '%s' is not covered by the signature or "
                          "the time-stamp and was not verified",
                          xr__clip(clip, sizeof(clip), v->zip.e[i].name));
}

enum xr_status xr_asic_verify(const struct xr_vconf *vc, const uint8_t *buf,
                              size_t len, const struct xr_asic_opts *opts,
                              struct xr_asic_cache *cache,
                              struct xr_asic_result **out, struct xr_error *err)
{
    struct xr__vctx v;
    struct xr_error e;
    enum xr_status rc;

    if (out)
        *out = NULL;
    if (!vc || !out || (!buf && len > 0))
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "missing configuration, container or result");
    memset(&v, 0, sizeof(v));
    xr_error_clear(&e);
    v.res = calloc(1, sizeof(*v.res));
    if (!v.res)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    v.res->signing_time = v.res->claimed_time = INT64_MIN;
    v.res->ocsp_produced_at = INT64_MIN;
    v.vc = vc;
    v.cache = cache;
    if (opts)
        v.opts = *opts;
    xr__zip_limits_resolve(&v.opts.zip);
    xr__limits_resolve(&v.opts.xml);
    ERR_clear_error();
    rc = run(&v, buf ? buf : (const uint8_t *)"", len, &e);
    /* What nothing checked only matters once everything else passed. */
    if (rc == XR_OK && v.covered)
        warn_uncovered(&v);
    v.res->valid = rc == XR_OK;
    if (rc == XR_OK)
        xr_error_clear(&e);
    v.res->error = e;
    sk_X509_pop_free(v.chain, X509_free);
    xr__tst_cleanup(&v.ts);
    xr__xsig_cleanup(&v.xsig);
    xmlFreeDoc(v.sigdoc);
    free(v.covered);
    xr__zip_free(&v.zip);
    ERR_clear_error();
    *out = v.res;
    if (err)
        *err = e;
    return rc;
}

/* ---- the result ---- */

void xr_asic_result_free(struct xr_asic_result *r)
{
    if (!r)
        return;
    free(r->message);
    free(r);
}

bool xr_asic_result_valid(const struct xr_asic_result *r)
{
    return r && r->valid;
}

const struct xr_error *xr_asic_result_error(const struct xr_asic_result *r)
{
    return &r->error;
}

enum xr_asic_msg_type xr_asic_result_message_type(
    const struct xr_asic_result *r)
{
    return r->type;
}

const char *xr_asic_msg_type_name(enum xr_asic_msg_type t)
{
    switch (t) {
    case XR_ASIC_MSG_REQUEST:
        return "request";
    case XR_ASIC_MSG_RESPONSE:
        return "response";
    case XR_ASIC_MSG_UNKNOWN:
        break;
    }
    return "unknown";
}

bool xr_asic_result_is_rest(const struct xr_asic_result *r)
{
    return r->is_rest;
}

const char *xr_asic_result_message_id(const struct xr_asic_result *r)
{
    return r->message_id;
}

const struct xr_id *xr_asic_result_signer(const struct xr_asic_result *r)
{
    return r->has_signer ? &r->signer : NULL;
}

const struct xr_header *xr_asic_result_header(const struct xr_asic_result *r)
{
    return r->has_header ? &r->header : NULL;
}

struct xr_bytes xr_asic_result_message(const struct xr_asic_result *r)
{
    struct xr_bytes b = {r->message, r->message_len};
    return b;
}

int64_t xr_asic_result_signing_time(const struct xr_asic_result *r)
{
    return r->signing_time;
}

int64_t xr_asic_result_claimed_signing_time(const struct xr_asic_result *r)
{
    return r->claimed_time;
}

bool xr_asic_result_batch_timestamp(const struct xr_asic_result *r)
{
    return r->batch;
}

const char *xr_asic_result_signer_subject(const struct xr_asic_result *r)
{
    return r->signer_subject;
}

const char *xr_asic_result_tsa_subject(const struct xr_asic_result *r)
{
    return r->tsa_subject;
}

const char *xr_asic_result_ocsp_subject(const struct xr_asic_result *r)
{
    return r->ocsp_subject;
}

int64_t xr_asic_result_ocsp_produced_at(const struct xr_asic_result *r)
{
    return r->ocsp_produced_at;
}

size_t xr_asic_result_digest_count(const struct xr_asic_result *r)
{
    return r->ndigests;
}

const struct xr_asic_digest *xr_asic_result_digest(
    const struct xr_asic_result *r, size_t i)
{
    return i < r->ndigests ? &r->digests[i] : NULL;
}

size_t xr_asic_result_warning_count(const struct xr_asic_result *r)
{
    return r->nwarnings;
}

const char *xr_asic_result_warning(const struct xr_asic_result *r, size_t i)
{
    return i < r->nwarnings ? r->warnings[i] : NULL;
}

/* ---- zips of containers ---- */

struct xr_asic_bundle {
    struct xr__zip zip;
    size_t n;
    size_t *idx; /* indices of the container entries */
};

static bool ends_with_asice(const char *name)
{
    size_t n = strlen(name);

    return n > 6 && xr__ieq(name + n - 6, ".asice");
}

enum xr_status xr_asic_bundle_open(const uint8_t *buf, size_t len,
                                   const struct xr_zip_limits *limits,
                                   struct xr_asic_bundle **out,
                                   struct xr_error *err)
{
    struct xr_zip_limits lim = {.max_entries = 100000u};
    struct xr_asic_bundle *b = NULL;
    char clip[XR_CLIP];
    enum xr_status rc;

    if (out)
        *out = NULL;
    if (!buf || !out)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "no ZIP given");
    if (limits)
        lim = *limits;
    b = calloc(1, sizeof(*b));
    if (!b)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    rc = xr__zip_read(buf, len, &lim, &b->zip, err);
    if (rc != XR_OK)
        goto out;
    if (xr__zip_find(&b->zip, "mimetype") ||
        xr__zip_find(&b->zip, "message.xml")) {
        rc = xr_error_set(err, XR_EPROTO, "not_bundle", "",
                          "the ZIP is a container, not a zip of containers");
        goto out;
    }
    b->idx = calloc(b->zip.n, sizeof(*b->idx));
    if (!b->idx) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < b->zip.n; i++) {
        if (b->zip.e[i].is_dir)
            continue;
        if (!ends_with_asice(b->zip.e[i].name)) {
            rc = xr_error_set(err, XR_EPROTO, "asic_unexpected_entry", "",
                              "entry '%s' of the zip is not a container "
                              "(.asice)",
                              xr__clip(clip, sizeof(clip), b->zip.e[i].name));
            goto out;
        }
        b->idx[b->n++] = i;
    }
    *out = b;
    b = NULL;
    rc = XR_OK;
out:
    xr_asic_bundle_free(b);
    return rc;
}

void xr_asic_bundle_free(struct xr_asic_bundle *b)
{
    if (!b)
        return;
    xr__zip_free(&b->zip);
    free(b->idx);
    free(b);
}

size_t xr_asic_bundle_count(const struct xr_asic_bundle *b)
{
    return b->n;
}

const char *xr_asic_bundle_name(const struct xr_asic_bundle *b, size_t i)
{
    return i < b->n ? b->zip.e[b->idx[i]].name : NULL;
}

struct xr_bytes xr_asic_bundle_data(const struct xr_asic_bundle *b, size_t i)
{
    struct xr_bytes r = {NULL, 0};

    if (i < b->n) {
        r.ptr = b->zip.e[b->idx[i]].data;
        r.len = b->zip.e[b->idx[i]].len;
    }
    return r;
}

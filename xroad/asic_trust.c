/*
 * The trust checks of a container: time-stamp (single or batch), the
 * signing certificate's chain at the time-stamp time, and the embedded
 * OCSP responses; plus the cache that lets many containers of one
 * security server share the expensive, time-independent parts (the
 * time-stamp token's signature, a chain's signatures, an OCSP response's
 * signature and authorisation).
 */
#include <stdlib.h>
#include <string.h>

#include "acache.h"
#include "asic.h"
#include "certpath.h"
#include "hashchain.h"
#include "ocsp.h"
#include "vutil.h"

/* ---- time-stamp ---- */

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

/* The optional ASiCManifest check: its digest of ts-hashchainresult.xml. */
static enum xr_status check_manifest(struct xr__vctx *v, struct xr_error *err)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr root, ref = NULL, dm = NULL, dv = NULL;
    xmlChar *alg = NULL;
    uint8_t *want = NULL, got[EVP_MAX_MD_SIZE];
    size_t wlen = 0;
    unsigned glen = 0;
    const EVP_MD *md;
    enum xr_status rc;

    rc = xr__xml_parse(v->asic_manifest->data, v->asic_manifest->len, NULL,
                       &v->opts.xml, XR__XML_READONLY, &doc, err);
    if (rc != XR_OK)
        goto bad;
    root = xmlDocGetRootElement(doc);
    if (!xr__xml_is(root, XR__NS_ASICM, "ASiCManifest"))
        goto bad;
    for (xmlNodePtr c = xr__xml_first_elem(root); c; c = xr__xml_next_elem(c)) {
        xmlChar *u = xmlGetNoNsProp(c, xr__xc("URI"));
        if (xr__xml_is(c, XR__NS_ASICM, "DataObjectReference") && u &&
            !strcmp(xr__cs(u), "ts-hashchainresult.xml"))
            ref = c;
        xmlFree(u);
    }
    for (xmlNodePtr c = ref ? xr__xml_first_elem(ref) : NULL; c;
         c = xr__xml_next_elem(c)) {
        if (xr__xml_is(c, XR__NS_DS, "DigestMethod"))
            dm = c;
        else if (xr__xml_is(c, XR__NS_DS, "DigestValue"))
            dv = c;
    }
    if (!dm || !dv)
        goto bad;
    alg = xmlGetNoNsProp(dm, xr__xc("Algorithm"));
    md = xr__md_by_uri(alg ? xr__cs(alg) : NULL);
    if (!md ||
        xr__node_b64(dv, &want, &wlen, "ASiCManifest digest",
                     "asic_manifest_invalid", NULL) != XR_OK ||
        !xr__digest(md, v->ts_hcr->data, v->ts_hcr->len, got, &glen))
        goto bad;
    if (glen != wlen || CRYPTO_memcmp(got, want, glen) != 0) {
        rc = xr_error_set(err, XR_ESIG, "asic_manifest_invalid", "",
                          "META-INF/ASiCManifest.xml has another digest of "
                          "ts-hashchainresult.xml");
        goto out;
    }
    rc = XR_OK;
    goto out;
bad:
    rc = xr_error_set(err, XR_EPROTO, "asic_manifest_invalid", "",
                      "META-INF/ASiCManifest.xml is not a manifest of "
                      "ts-hashchainresult.xml");
out:
    free(want);
    xmlFree(alg);
    xmlFreeDoc(doc);
    return rc;
}

/* Batch: ts-hashchain.xml must lead from signatures.xml to the result. */
static enum xr_status batch_chain(struct xr__vctx *v, struct xr_error *err)
{
    struct xr__hc_input in = {.uri = "/META-INF/signatures.xml"};
    struct xr_error e;
    enum xr_status rc;

    rc = xr__hashchain_verify(v->ts_hcr->data, v->ts_hcr->len, hc_resolve, v,
                              &in, 1, NULL, NULL, &v->opts.xml, &e);
    if (rc == XR_ENOMEM)
        return xr_error_set(err, rc, "out_of_memory", "", "out of memory");
    if (rc != XR_OK)
        return xr_error_set(err, XR_ESIG, "timestamp_hash_chain_invalid", "",
                            "failed to verify the time-stamp hash chain "
                            "(%s: %s)",
                            e.reason, e.msg);
    return XR_OK;
}

static enum xr_status ts_signature(struct xr__vctx *v, const uint8_t *tok,
                                   size_t len, struct xr_error *err)
{
    const uint8_t *parts[2] = {tok, NULL};
    size_t lens[2] = {len, 0};
    uint8_t key[32];
    size_t tsa_der_len = 0;
    uint8_t *tsa_der = xr__cert_der(v->ts.tsa, &tsa_der_len);
    bool keyed;
    enum xr_status rc;

    parts[1] = tsa_der;
    lens[1] = tsa_der_len;
    keyed = tsa_der && xr__memo_key(key, XR__MEMO_TST, parts, lens, 2);
    free(tsa_der);
    if (keyed && xr__memo_get(v->cache, v->vc, key))
        return XR_OK;
    rc = xr__tst_verify_signature(&v->ts, err);
    if (rc == XR_OK && keyed)
        xr__memo_put(v->cache, key);
    return rc;
}

enum xr_status xr__asic_timestamp(struct xr__vctx *v, struct xr_error *err)
{
    const struct xr__vinst *own = xr__vconf_find(v->vc, v->vc->own);
    const uint8_t *tok = v->xsig.ts_token, *data = v->xsig.sigval;
    size_t toklen = v->xsig.ts_len, dlen = v->xsig.sigval_len;
    enum xr_status rc;

    if (v->ts_hcr) {
        v->res->batch = true;
        rc = batch_chain(v, err);
        if (rc != XR_OK)
            return rc;
        data = v->ts_hcr->data;
        dlen = v->ts_hcr->len;
        if (v->tst) {
            tok = v->tst->data;
            toklen = v->tst->len;
        }
    }
    if (!tok) {
        if (v->opts.allow_no_timestamp) {
            v->at = v->opts.validation_time;
            v->res->signing_time = v->at;
            return XR_OK;
        }
        return xr_error_set(err, XR_EPROTO, "timestamp_not_found", "",
                            "the signature has no time-stamp");
    }
    rc = xr__tst_parse(tok, toklen, v->cache, &v->ts, err);
    if (rc != XR_OK)
        return rc;
    v->have_ts = true;
    if ((rc = xr__tst_check_imprint(&v->ts, data, dlen, err)) != XR_OK ||
        (rc = xr__tst_find_signer(&v->ts, own->tsas, own->ntsas, err)) !=
            XR_OK ||
        (rc = ts_signature(v, tok, toklen, err)) != XR_OK)
        return rc;
    v->at = v->ts.gen_time;
    v->res->signing_time = v->at;
    xr__name_text(X509_get_subject_name(v->ts.tsa), v->res->tsa_subject,
                  sizeof(v->res->tsa_subject));
    if (v->ts_hcr && v->asic_manifest)
        return check_manifest(v, err);
    return XR_OK;
}

/* ---- certificate chain ---- */

/* CompleteCertificateRefs must name the CertificateValues exactly. */
static enum xr_status check_cert_refs(struct xr__vctx *v, struct xr_error *err)
{
    const struct xr__xsig *x = &v->xsig;

    for (size_t i = 0; i < x->ncertrefs; i++) {
        const struct xr__xcertref *r = &x->certrefs[i];
        X509 *cert = NULL;
        uint8_t *der, d[EVP_MAX_MD_SIZE];
        size_t len = 0;
        unsigned dl = 0;
        bool ok;
        for (size_t k = 0; k < x->ncerts; k++)
            if (r->uri[0] == '#' && !strcmp(r->uri + 1, x->cert_ids[k]))
                cert = x->certs[k];
        if (!cert)
            return xr_error_set(err, XR_EPROTO, "malformed_signature", "",
                                "malformed signature: a certificate reference "
                                "names no encapsulated certificate");
        der = xr__cert_der(cert, &len);
        ok = der && xr__digest(r->md, der, len, d, &dl) &&
             dl == r->digest_len && !memcmp(d, r->digest, dl);
        free(der);
        if (!ok)
            return xr_error_set(err, XR_EPROTO, "malformed_signature", "",
                                "malformed signature: the digest of an "
                                "encapsulated certificate does not match its "
                                "reference");
    }
    return XR_OK;
}

/* The chain key: the signing certificate and the intermediates. */
static bool chain_key(const struct xr__xsig *x, uint8_t key[32])
{
    const uint8_t *parts[1 + XR__XSIG_MAX_CERTS];
    uint8_t *ders[1 + XR__XSIG_MAX_CERTS];
    size_t lens[1 + XR__XSIG_MAX_CERTS], n = 0;
    bool ok = true;

    for (size_t i = 0; i <= x->ncerts; i++) {
        X509 *c = i == 0 ? x->cert : x->certs[i - 1];
        ders[n] = xr__cert_der(c, &lens[n]);
        if (!ders[n]) {
            ok = false;
            break;
        }
        parts[n] = ders[n];
        n++;
    }
    ok = ok && xr__memo_key(key, XR__MEMO_CHAIN, parts, lens, n);
    for (size_t i = 0; i < n; i++)
        free(ders[i]);
    return ok;
}

/* Rebuild a remembered chain; NULL when out of memory. */
static STACK_OF(X509) *
    chain_from_memo(const struct xr__vctx *v, const struct xr__memo *m)
{
    STACK_OF(X509) *s = sk_X509_new_null();

    for (size_t i = 0; s && i < m->nchain; i++) {
        X509 *c = m->chain[i].conf        ? m->chain[i].conf
                  : m->chain[i].extra < 0 ? v->xsig.cert
                                          : v->xsig.certs[m->chain[i].extra];
        if (X509_up_ref(c) != 1 || !sk_X509_push(s, c)) {
            X509_free(c);
            sk_X509_pop_free(s, X509_free);
            return NULL;
        }
    }
    return s;
}

/* Remember a verified chain by where each certificate came from. */
static void chain_to_memo(struct xr__vctx *v, const uint8_t key[32])
{
    int n = sk_X509_num(v->chain);
    struct xr__memo m = {0};

    if (!v->cache || n < 1 || n > XR__ACACHE_CHAIN_MAX)
        return;
    m.not_before = INT64_MIN;
    m.not_after = INT64_MAX;
    for (int i = 0; i < n; i++) {
        X509 *c = sk_X509_value(v->chain, i);
        int64_t nb, na;
        bool found = false;
        if (!xr__asn1_time_unix(X509_get0_notBefore(c), &nb) ||
            !xr__asn1_time_unix(X509_get0_notAfter(c), &na))
            return;
        m.not_before = nb > m.not_before ? nb : m.not_before;
        m.not_after = na < m.not_after ? na : m.not_after;
        if (c == v->xsig.cert) {
            m.chain[i].extra = -1;
            found = true;
        }
        for (size_t k = 0; !found && k < v->xsig.ncerts; k++)
            if (c == v->xsig.certs[k]) {
                m.chain[i].extra = (int)k;
                found = true;
            }
        for (size_t k = 0; !found && k < v->inst->ncas; k++)
            if (c == v->inst->cas[k].cert) {
                m.chain[i].conf = c;
                found = true;
            }
        if (!found)
            return;
    }
    m.nchain = (size_t)n;
    {
        struct xr__memo *slot = xr__memo_put(v->cache, key);
        if (slot) {
            m.used = true;
            memcpy(m.key, key, 32);
            *slot = m;
        }
    }
}

enum xr_status xr__asic_chain(struct xr__vctx *v, struct xr_error *err)
{
    uint8_t key[32];
    bool keyed;
    const struct xr__memo *m;
    enum xr_status rc;

    rc = check_cert_refs(v, err);
    if (rc != XR_OK)
        return rc;
    keyed = v->cache && chain_key(&v->xsig, key);
    m = keyed ? xr__memo_get(v->cache, v->vc, key) : NULL;
    /* A remembered path holds when the new time is inside its window;
     * otherwise the full check runs and names the problem. */
    if (m && m->nchain > 0 && v->at >= m->not_before && v->at <= m->not_after) {
        v->chain = chain_from_memo(v, m);
        if (!v->chain)
            return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                "out of memory");
        return XR_OK;
    }
    rc = xr__certpath_verify(v->inst, v->xsig.cert, v->xsig.certs,
                             v->xsig.ncerts, v->at, &v->chain, err);
    if (rc == XR_OK && keyed)
        chain_to_memo(v, key);
    return rc;
}

/* ---- OCSP ---- */

static enum xr_status ocsp_find(struct xr__vctx *v, X509 *subject, X509 *issuer,
                                struct xr__ocsp_found *found,
                                struct xr_error *err)
{
    uint8_t key[32];
    const uint8_t *parts[2 + XR__XSIG_MAX_OCSP];
    uint8_t *ders[2 + XR__XSIG_MAX_OCSP];
    size_t lens[2 + XR__XSIG_MAX_OCSP], n = 0;
    bool keyed = true;
    const struct xr__memo *m;
    enum xr_status rc;

    if (!v->cache)
        return xr__ocsp_find(v->vc, v->xsig.ocsp, v->xsig.nocsp, subject,
                             issuer, found, err);
    memset(ders, 0, sizeof(ders));
    ders[n] = xr__cert_der(subject, &lens[n]);
    parts[n] = ders[n];
    n++;
    ders[n] = xr__cert_der(issuer, &lens[n]);
    parts[n] = ders[n];
    n++;
    keyed = ders[0] && ders[1];
    for (size_t i = 0; i < v->xsig.nocsp; i++, n++) {
        parts[n] = v->xsig.ocsp_der[i];
        lens[n] = v->xsig.ocsp_der_len[i];
    }
    keyed = keyed && xr__memo_key(key, XR__MEMO_OCSP, parts, lens, n);
    free(ders[0]);
    free(ders[1]);
    m = keyed ? xr__memo_get(v->cache, v->vc, key) : NULL;
    if (m) {
        *found = m->found;
        return XR_OK;
    }
    rc = xr__ocsp_find(v->vc, v->xsig.ocsp, v->xsig.nocsp, subject, issuer,
                       found, err);
    if (rc == XR_OK && keyed) {
        struct xr__memo *slot = xr__memo_put(v->cache, key);
        if (slot)
            slot->found = *found;
    }
    return rc;
}

enum xr_status xr__asic_ocsp(struct xr__vctx *v, struct xr_error *err)
{
    const struct xr__vinst *own = xr__vconf_find(v->vc, v->vc->own);
    int n = sk_X509_num(v->chain);
    enum xr_status rc;

    /* Every certificate of the path but the anchor needs a response. */
    for (int i = 0; i + 1 < n; i++) {
        X509 *subject = sk_X509_value(v->chain, i);
        X509 *issuer = sk_X509_value(v->chain, i + 1);
        struct xr__ocsp_found found;
        rc = ocsp_find(v, subject, issuer, &found, err);
        if (rc != XR_OK)
            return rc;
        rc = xr__ocsp_check_at(&found, subject, v->at, own->ocsp_freshness_s,
                               err);
        if (rc != XR_OK)
            return rc;
        if (i == 0) {
            xr__strlcpy(v->res->ocsp_subject, found.responder,
                        sizeof(v->res->ocsp_subject));
            v->res->ocsp_produced_at = found.produced_at;
        }
    }
    return XR_OK;
}

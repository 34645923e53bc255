/*
 * Reading the XAdES signature (see xades.h). Elements are found by
 * namespace and local name, never by prefix or by Id value, because the
 * two profiles use different prefixes and Ids.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/valid.h>

#include "acache.h"
#include "vutil.h"
#include "xades.h"

#define MALFORMED "malformed_signature"
#define SP_TYPE   "http://uri.etsi.org/01903#SignedProperties"
#define MAX_IDS   4096 /* Id attributes in one document */

static enum xr_status bad(struct xr_error *err, const char *what)
{
    return xr_error_set(err, XR_EPROTO, MALFORMED, "",
                        "malformed signature: %s", what);
}

static xmlNodePtr child(const xmlNode *n, const char *ns, const char *name)
{
    for (xmlNodePtr c = xr__xml_first_elem(n); c; c = xr__xml_next_elem(c))
        if (xr__xml_is(c, ns, name))
            return c;
    return NULL;
}

/*
 * Walk every element (iteratively, the parser capped the size) and
 * register its Id attribute as an XML ID. A value met twice, as Id or as
 * xml:id, is a duplicate: with two candidates a "#x" reference could be
 * made to resolve to content other than what the verifier reads.
 */
static enum xr_status register_ids(xmlDocPtr doc, struct xr_error *err)
{
    xmlNodePtr n = xmlDocGetRootElement(doc);
    size_t count = 0;
    char clip[XR_CLIP];

    while (n) {
        if (n->type == XML_ELEMENT_NODE) {
            for (xmlAttrPtr a = n->properties; a; a = a->next) {
                bool is_id = !a->ns && !strcmp(xr__cs(a->name), "Id");
                bool is_xml_id =
                    a->ns && a->ns->href &&
                    !strcmp(xr__cs(a->ns->href), "http://www.w3.org/XML/1998/"
                                                 "namespace") &&
                    !strcmp(xr__cs(a->name), "id");
                xmlChar *v;
                xmlAttrPtr prev;
                if (!is_id && !is_xml_id)
                    continue;
                if (++count > MAX_IDS)
                    return bad(err, "too many Id attributes");
                v = xmlNodeListGetString(doc, a->children, 1);
                if (!v)
                    return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                        "out of memory");
                prev = xmlGetID(doc, v);
                if (prev && prev != a) {
                    xr_error_set(err, XR_EPROTO, "duplicate_id", "",
                                 "the Id '%s' occurs more than once in the "
                                 "signature document",
                                 xr__clip(clip, sizeof(clip), xr__cs(v)));
                    xmlFree(v);
                    return XR_EPROTO;
                }
                if (!prev && !xmlAddID(NULL, doc, v, a)) {
                    xmlFree(v);
                    return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                        "cannot register an Id");
                }
                xmlFree(v);
            }
        }
        /* Next node in document order. */
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            continue;
        }
        while (n && !n->next)
            n = n->parent && n->parent->type == XML_ELEMENT_NODE ? n->parent
                                                                 : NULL;
        if (n)
            n = n->next;
    }
    return XR_OK;
}

static enum xr_status find_signature(xmlDocPtr doc, xmlNodePtr *sig,
                                     struct xr_error *err)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);

    *sig = NULL;
    if (xr__xml_is(root, XR__NS_DS, "Signature")) {
        *sig = root;
        return XR_OK;
    }
    /* ETSI TS 102 918 v1.2.1, and v1.1.1 in 2014-2015 containers. */
    if (!xr__xml_is(root, XR__NS_ASIC, "XAdESSignatures") &&
        !xr__xml_is(root, XR__NS_ASIC_OLD, "XAdESSignatures"))
        return bad(err, "the root is neither asic:XAdESSignatures nor "
                        "ds:Signature");
    for (xmlNodePtr c = xr__xml_first_elem(root); c; c = xr__xml_next_elem(c)) {
        if (!xr__xml_is(c, XR__NS_DS, "Signature"))
            return bad(err, "unexpected element in XAdESSignatures");
        if (*sig)
            return bad(err, "more than one signature");
        *sig = c;
    }
    if (!*sig)
        return bad(err, "no ds:Signature");
    return XR_OK;
}

static enum xr_status read_refs(xmlNodePtr si, struct xr__xsig *x,
                                struct xr_error *err)
{
    for (xmlNodePtr r = xr__xml_first_elem(si); r; r = xr__xml_next_elem(r)) {
        struct xr__xref *ref;
        xmlChar *v;
        if (!xr__xml_is(r, XR__NS_DS, "Reference"))
            continue;
        if (x->nrefs == XR__XSIG_MAX_REFS)
            return bad(err, "too many references");
        ref = &x->refs[x->nrefs++];
        v = xmlGetNoNsProp(r, xr__xc("URI"));
        if (v) {
            if (strlen(xr__cs(v)) >= sizeof(ref->uri)) {
                xmlFree(v);
                return bad(err, "reference URI too long");
            }
            xr__strlcpy(ref->uri, xr__cs(v), sizeof(ref->uri));
            ref->has_uri = true;
            xmlFree(v);
        }
        v = xmlGetNoNsProp(r, xr__xc("Type"));
        ref->signed_props_type = v && !strcmp(xr__cs(v), SP_TYPE);
        xmlFree(v);
    }
    if (x->nrefs == 0)
        return bad(err, "no references");
    return XR_OK;
}

static enum xr_status read_key_info(xmlNodePtr sig, struct xr__xsig *x,
                                    struct xr_asic_cache *cache,
                                    struct xr_error *err)
{
    xmlNodePtr ki = child(sig, XR__NS_DS, "KeyInfo");
    xmlNodePtr xd = ki ? child(ki, XR__NS_DS, "X509Data") : NULL;
    xmlNodePtr xc = xd ? child(xd, XR__NS_DS, "X509Certificate") : NULL;
    uint8_t *der = NULL;
    size_t len = 0;
    enum xr_status rc;

    if (!xc)
        return XR_OK; /* reported later, in X-Road's order */
    rc =
        xr__node_b64(xc, &der, &len, "the KeyInfo certificate", MALFORMED, err);
    if (rc != XR_OK)
        return rc;
    x->cert = xr__acache_x509(cache, der, len);
    free(der);
    if (!x->cert)
        return bad(err, "the KeyInfo certificate cannot be read");
    return XR_OK;
}

/* CertDigest of SigningCertificate or SigningCertificateV2. */
static enum xr_status read_signing_cert(xmlNodePtr ssp, struct xr__xsig *x,
                                        struct xr_error *err)
{
    xmlNodePtr sc = child(ssp, XR__NS_XADES, "SigningCertificate");
    xmlNodePtr cert, cd, dm, dv;
    xmlChar *alg;
    uint8_t *d = NULL;
    size_t dl = 0;
    enum xr_status rc;

    if (!sc)
        sc = child(ssp, XR__NS_XADES, "SigningCertificateV2");
    if (!sc)
        return XR_OK;
    cert = child(sc, XR__NS_XADES, "Cert");
    cd = cert ? child(cert, XR__NS_XADES, "CertDigest") : NULL;
    dm = cd ? child(cd, XR__NS_DS, "DigestMethod") : NULL;
    dv = cd ? child(cd, XR__NS_DS, "DigestValue") : NULL;
    if (!dm || !dv)
        return bad(err, "SigningCertificate without CertDigest");
    alg = xmlGetNoNsProp(dm, xr__xc("Algorithm"));
    x->cert_md = xr__md_by_uri(alg ? xr__cs(alg) : NULL);
    xmlFree(alg);
    if (!x->cert_md)
        return bad(err, "unsupported CertDigest algorithm");
    rc = xr__node_b64(dv, &d, &dl, "CertDigest", MALFORMED, err);
    if (rc != XR_OK)
        return rc;
    if (dl > sizeof(x->cert_digest)) {
        free(d);
        return bad(err, "CertDigest too long");
    }
    memcpy(x->cert_digest, d, dl);
    x->cert_digest_len = dl;
    x->has_cert_digest = true;
    free(d);
    return XR_OK;
}

static enum xr_status read_signed_props(xmlNodePtr sp, struct xr__xsig *x,
                                        struct xr_error *err)
{
    xmlNodePtr ssp = child(sp, XR__NS_XADES, "SignedSignatureProperties");
    xmlNodePtr st = ssp ? child(ssp, XR__NS_XADES, "SigningTime") : NULL;

    if (st) {
        char text[64];
        if (xr__xml_text(st, text, sizeof(text), "SigningTime", NULL) !=
                XR_OK ||
            !xr__xsd_datetime(text, &x->signing_time))
            return bad(err, "SigningTime is not a date and time");
    }
    return ssp ? read_signing_cert(ssp, x, err) : XR_OK;
}

static enum xr_status read_time_stamp(xmlNodePtr usp, struct xr__xsig *x,
                                      struct xr_error *err)
{
    xmlNodePtr ts = child(usp, XR__NS_XADES, "SignatureTimeStamp");
    xmlNodePtr enc;

    if (!ts)
        return XR_OK;
    /* Legacy containers hold the base64 token directly. */
    enc = child(ts, XR__NS_XADES, "EncapsulatedTimeStamp");
    return xr__node_b64(enc ? enc : ts, &x->ts_token, &x->ts_len,
                        "the time-stamp token", MALFORMED, err);
}

static enum xr_status read_cert_values(xmlNodePtr usp, struct xr__xsig *x,
                                       struct xr_asic_cache *cache,
                                       struct xr_error *err)
{
    xmlNodePtr cv = child(usp, XR__NS_XADES, "CertificateValues");

    if (!cv)
        return XR_OK;
    for (xmlNodePtr c = xr__xml_first_elem(cv); c; c = xr__xml_next_elem(c)) {
        uint8_t *der = NULL;
        size_t len = 0;
        xmlChar *id;
        enum xr_status rc;
        if (!xr__xml_is(c, XR__NS_XADES, "EncapsulatedX509Certificate"))
            continue;
        if (x->ncerts == XR__XSIG_MAX_CERTS)
            return bad(err, "too many certificates");
        rc = xr__node_b64(c, &der, &len, "an encapsulated certificate",
                          MALFORMED, err);
        if (rc != XR_OK)
            return rc;
        x->certs[x->ncerts] = xr__acache_x509(cache, der, len);
        free(der);
        if (!x->certs[x->ncerts])
            return bad(err, "an encapsulated certificate cannot be read");
        id = xmlGetNoNsProp(c, xr__xc("Id"));
        if (id)
            xr__strlcpy(x->cert_ids[x->ncerts], xr__cs(id),
                        sizeof(x->cert_ids[0]));
        xmlFree(id);
        x->ncerts++;
    }
    return XR_OK;
}

static enum xr_status read_cert_refs(xmlNodePtr usp, struct xr__xsig *x,
                                     struct xr_error *err)
{
    xmlNodePtr ccr = child(usp, XR__NS_XADES, "CompleteCertificateRefs");
    xmlNodePtr refs = ccr ? child(ccr, XR__NS_XADES, "CertRefs") : NULL;

    if (!refs)
        return XR_OK;
    for (xmlNodePtr c = xr__xml_first_elem(refs); c; c = xr__xml_next_elem(c)) {
        struct xr__xcertref *r;
        xmlNodePtr cd = child(c, XR__NS_XADES, "CertDigest");
        xmlNodePtr dm = cd ? child(cd, XR__NS_DS, "DigestMethod") : NULL;
        xmlNodePtr dv = cd ? child(cd, XR__NS_DS, "DigestValue") : NULL;
        xmlChar *v;
        uint8_t *d = NULL;
        size_t dl = 0;
        enum xr_status rc;
        if (!xr__xml_is(c, XR__NS_XADES, "Cert"))
            continue;
        if (x->ncertrefs == XR__XSIG_MAX_CERTS)
            return bad(err, "too many certificate references");
        if (!dm || !dv)
            return bad(err, "a certificate reference without CertDigest");
        r = &x->certrefs[x->ncertrefs];
        v = xmlGetNoNsProp(c, xr__xc("URI"));
        if (v)
            xr__strlcpy(r->uri, xr__cs(v), sizeof(r->uri));
        xmlFree(v);
        v = xmlGetNoNsProp(dm, xr__xc("Algorithm"));
        r->md = xr__md_by_uri(v ? xr__cs(v) : NULL);
        xmlFree(v);
        if (!r->md)
            return bad(err, "unsupported certificate reference digest");
        rc = xr__node_b64(dv, &d, &dl, "a certificate reference digest",
                          MALFORMED, err);
        if (rc != XR_OK)
            return rc;
        if (dl > sizeof(r->digest)) {
            free(d);
            return bad(err, "certificate reference digest too long");
        }
        memcpy(r->digest, d, dl);
        r->digest_len = dl;
        free(d);
        x->ncertrefs++;
    }
    return XR_OK;
}

static enum xr_status read_ocsp(xmlNodePtr usp, struct xr__xsig *x,
                                struct xr_asic_cache *cache,
                                struct xr_error *err)
{
    xmlNodePtr rv = child(usp, XR__NS_XADES, "RevocationValues");
    xmlNodePtr ov = rv ? child(rv, XR__NS_XADES, "OCSPValues") : NULL;

    if (!ov)
        return XR_OK;
    for (xmlNodePtr c = xr__xml_first_elem(ov); c; c = xr__xml_next_elem(c)) {
        uint8_t *der = NULL;
        size_t len = 0;
        enum xr_status rc;
        if (!xr__xml_is(c, XR__NS_XADES, "EncapsulatedOCSPValue"))
            continue;
        if (x->nocsp == XR__XSIG_MAX_OCSP)
            return bad(err, "too many OCSP responses");
        rc = xr__node_b64(c, &der, &len, "an OCSP response", MALFORMED, err);
        if (rc != XR_OK)
            return rc;
        x->ocsp_der[x->nocsp] = der;
        x->ocsp_der_len[x->nocsp] = len;
        x->ocsp[x->nocsp] =
            xr__acache_ocsp(cache, der, len, &x->ocsp_owned[x->nocsp]);
        if (!x->ocsp[x->nocsp]) {
            free(x->ocsp_der[x->nocsp]);
            x->ocsp_der[x->nocsp] = NULL;
            return bad(err, "an OCSP response cannot be read");
        }
        x->nocsp++;
    }
    return XR_OK;
}

static enum xr_status read_qualifying(xmlNodePtr sig, struct xr__xsig *x,
                                      struct xr_asic_cache *cache,
                                      struct xr_error *err)
{
    xmlNodePtr qp = NULL, usp, up;
    xmlChar *target, *id;
    bool target_ok;
    enum xr_status rc;

    for (xmlNodePtr o = xr__xml_first_elem(sig); o; o = xr__xml_next_elem(o)) {
        if (!xr__xml_is(o, XR__NS_DS, "Object"))
            continue;
        for (xmlNodePtr c = xr__xml_first_elem(o); c;
             c = xr__xml_next_elem(c)) {
            if (!xr__xml_is(c, XR__NS_XADES, "QualifyingProperties"))
                continue;
            if (qp)
                return bad(err, "more than one QualifyingProperties");
            qp = c;
        }
    }
    if (!qp)
        return bad(err, "no xades:QualifyingProperties");
    /* QualifyingProperties must belong to this signature. */
    target = xmlGetNoNsProp(qp, xr__xc("Target"));
    id = xmlGetNoNsProp(sig, xr__xc("Id"));
    target_ok = !target || !id ||
                (target[0] == '#' && !strcmp(xr__cs(target) + 1, xr__cs(id)));
    xmlFree(target);
    xmlFree(id);
    if (!target_ok)
        return bad(err, "QualifyingProperties target another signature");
    x->signed_props = child(qp, XR__NS_XADES, "SignedProperties");
    if (!x->signed_props)
        return bad(err, "no xades:SignedProperties");
    rc = read_signed_props(x->signed_props, x, err);
    if (rc != XR_OK)
        return rc;
    up = child(qp, XR__NS_XADES, "UnsignedProperties");
    usp = up ? child(up, XR__NS_XADES, "UnsignedSignatureProperties") : NULL;
    if (!usp)
        return XR_OK;
    if ((rc = read_time_stamp(usp, x, err)) != XR_OK ||
        (rc = read_cert_values(usp, x, cache, err)) != XR_OK ||
        (rc = read_cert_refs(usp, x, err)) != XR_OK)
        return rc;
    return read_ocsp(usp, x, cache, err);
}

enum xr_status xr__xsig_read(xmlDocPtr doc, struct xr_asic_cache *cache,
                             struct xr__xsig *x, struct xr_error *err)
{
    xmlNodePtr si, sv;
    enum xr_status rc;

    memset(x, 0, sizeof(*x));
    x->signing_time = INT64_MIN;
    rc = find_signature(doc, &x->sig, err);
    if (rc != XR_OK)
        return rc;
    rc = register_ids(doc, err);
    if (rc != XR_OK)
        return rc;
    si = child(x->sig, XR__NS_DS, "SignedInfo");
    if (!si)
        return bad(err, "no ds:SignedInfo");
    rc = read_refs(si, x, err);
    if (rc != XR_OK)
        return rc;
    sv = child(x->sig, XR__NS_DS, "SignatureValue");
    if (!sv)
        return bad(err, "no ds:SignatureValue");
    rc = xr__node_b64(sv, &x->sigval, &x->sigval_len, "SignatureValue",
                      MALFORMED, err);
    if (rc != XR_OK)
        return rc;
    if (x->sigval_len == 0)
        return bad(err, "empty SignatureValue");
    rc = read_key_info(x->sig, x, cache, err);
    if (rc != XR_OK)
        return rc;
    return read_qualifying(x->sig, x, cache, err);
}

void xr__xsig_cleanup(struct xr__xsig *x)
{
    if (!x)
        return;
    free(x->sigval);
    X509_free(x->cert);
    free(x->ts_token);
    for (size_t i = 0; i < x->ncerts; i++)
        X509_free(x->certs[i]);
    for (size_t i = 0; i < x->nocsp; i++) {
        if (x->ocsp_owned[i])
            OCSP_RESPONSE_free(x->ocsp[i]);
        free(x->ocsp_der[i]);
    }
    memset(x, 0, sizeof(*x));
}

bool xr__xsig_references(const struct xr__xsig *x, const char *uri)
{
    for (size_t i = 0; i < x->nrefs; i++)
        if (x->refs[i].has_uri && !strcmp(x->refs[i].uri, uri))
            return true;
    return false;
}

/*
 * Embedded OCSP responses (see ocsp.h).
 */
#include <string.h>

#include <openssl/x509v3.h>

#include "ocsp.h"
#include "vutil.h"

/* The first single response of a successful response, or NULL. */
static OCSP_SINGLERESP *first_single(OCSP_RESPONSE *resp, OCSP_BASICRESP **bs)
{
    *bs = NULL;
    if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
        return NULL;
    *bs = OCSP_response_get1_basic(resp);
    if (!*bs || OCSP_resp_count(*bs) < 1)
        return NULL;
    return OCSP_resp_get0(*bs, 0);
}

/* True when the CertID of single names subject issued by issuer. */
static bool names_cert(OCSP_SINGLERESP *single, X509 *subject, X509 *issuer)
{
    const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(single);
    ASN1_OBJECT *md_obj = NULL;
    const EVP_MD *md;
    OCSP_CERTID *mine;
    bool same;

    if (!cid || OCSP_id_get0_info(NULL, &md_obj, NULL, NULL,
                                  (OCSP_CERTID *)(uintptr_t)cid) != 1)
        return false;
    md = EVP_get_digestbyobj(md_obj);
    if (!md)
        return false;
    mine = OCSP_cert_to_id(md, subject, issuer);
    same = mine && OCSP_id_cmp(mine, cid) == 0;
    OCSP_CERTID_free(mine);
    return same;
}

/* Does cert match the ResponderID (by name or SHA-1 of the key)? */
static bool is_responder(X509 *cert, const ASN1_OCTET_STRING *keyid,
                         const X509_NAME *name)
{
    if (name)
        return X509_NAME_cmp(X509_get_subject_name(cert), name) == 0;
    if (keyid) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        return X509_pubkey_digest(cert, EVP_sha1(), md, &n) == 1 &&
               (int)n == ASN1_STRING_length(keyid) &&
               memcmp(md, ASN1_STRING_get0_data(keyid), n) == 0;
    }
    return false;
}

/* The responder certificate: configuration first, then the response. */
static X509 *find_responder(const struct xr_vconf *vc, OCSP_BASICRESP *bs)
{
    const ASN1_OCTET_STRING *keyid = NULL;
    const X509_NAME *name = NULL;
    const STACK_OF(X509) * in;

    if (OCSP_resp_get0_id(bs, &keyid, &name) != 1)
        return NULL;
    for (size_t i = 0; i < vc->ninst; i++) {
        const struct xr__vinst *inst = vc->inst[i];
        for (size_t k = 0; k < inst->ncas; k++) {
            const struct xr__vca *ca = &inst->cas[k];
            for (size_t j = 0; j < ca->nocsp; j++)
                if (is_responder(ca->ocsp[j], keyid, name))
                    return ca->ocsp[j];
        }
    }
    for (size_t i = 0; i < vc->ninst; i++) {
        const struct xr__vinst *inst = vc->inst[i];
        for (size_t k = 0; k < inst->ncas; k++)
            if (is_responder(inst->cas[k].cert, keyid, name))
                return inst->cas[k].cert;
    }
    in = OCSP_resp_get0_certs(bs);
    for (int i = 0; in && i < sk_X509_num(in); i++)
        if (is_responder(sk_X509_value(in, i), keyid, name))
            return sk_X509_value(in, i);
    return NULL;
}

/*
 * Authorised (RFC 6960 4.2.2.2, as X-Road): listed in the configuration
 * for the CA that issued the certificate, the CA itself, or issued by
 * that CA with extendedKeyUsage OCSPSigning.
 */
static bool authorised(const struct xr_vconf *vc, X509 *responder, X509 *issuer)
{
    EVP_PKEY *ikey;

    for (size_t i = 0; i < vc->ninst; i++) {
        const struct xr__vinst *inst = vc->inst[i];
        for (size_t k = 0; k < inst->ncas; k++) {
            const struct xr__vca *ca = &inst->cas[k];
            if (X509_cmp(ca->cert, issuer) != 0)
                continue;
            for (size_t j = 0; j < ca->nocsp; j++)
                if (X509_cmp(ca->ocsp[j], responder) == 0)
                    return true;
        }
    }
    if (X509_cmp(responder, issuer) == 0)
        return true;
    if (X509_NAME_cmp(X509_get_issuer_name(responder),
                      X509_get_subject_name(issuer)) != 0)
        return false;
    ikey = X509_get0_pubkey(issuer);
    if (!ikey || X509_verify(responder, ikey) != 1)
        return false;
    return (X509_get_extension_flags(responder) & EXFLAG_XKUSAGE) &&
           (X509_get_extended_key_usage(responder) & XKU_OCSP_SIGN);
}

/* Status and times of the single response into *out. */
static bool read_single(OCSP_SINGLERESP *single, struct xr__ocsp_found *out)
{
    ASN1_GENERALIZEDTIME *revtime = NULL, *thisupd = NULL, *nextupd = NULL;
    int reason = 0;

    out->status =
        OCSP_single_get0_status(single, &reason, &revtime, &thisupd, &nextupd);
    if (out->status < 0 || !thisupd ||
        !xr__asn1_time_unix(thisupd, &out->this_update))
        return false;
    out->has_next_update = nextupd != NULL;
    if (nextupd && !xr__asn1_time_unix(nextupd, &out->next_update))
        return false;
    if (!revtime || !xr__asn1_time_unix(revtime, &out->revoked_at))
        out->revoked_at = INT64_MIN;
    return true;
}

enum xr_status xr__ocsp_find(const struct xr_vconf *vc,
                             OCSP_RESPONSE *const *resps, size_t nresps,
                             X509 *subject, X509 *issuer,
                             struct xr__ocsp_found *out, struct xr_error *err)
{
    OCSP_BASICRESP *bs = NULL;
    STACK_OF(X509) *certs = NULL;
    X509 *responder;
    char subj[160];
    enum xr_status rc;
    size_t i;

    OCSP_SINGLERESP *single = NULL;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < nresps; i++) {
        single = first_single(resps[i], &bs);
        if (single && names_cert(single, subject, issuer))
            break;
        OCSP_BASICRESP_free(bs);
        bs = NULL;
    }
    if (!bs) {
        xr__name_text(X509_get_subject_name(subject), subj, sizeof(subj));
        rc = xr_error_set(err, XR_ECERT, "ocsp_not_found", "",
                          "unable to find an OCSP response for certificate "
                          "%s",
                          subj);
        goto out;
    }
    out->index = i;
    if (!xr__asn1_time_unix(OCSP_resp_get0_produced_at(bs),
                            &out->produced_at) ||
        !read_single(single, out)) {
        rc = xr_error_set(err, XR_EPROTO, "ocsp_malformed", "",
                          "OCSP producedAt, thisUpdate, nextUpdate or status "
                          "cannot be read");
        goto out;
    }
    responder = find_responder(vc, bs);
    if (!responder) {
        rc = xr_error_set(err, XR_ECERT, "ocsp_responder_not_found", "",
                          "could not find the OCSP responder certificate "
                          "for the responder ID");
        goto out;
    }
    xr__name_text(X509_get_subject_name(responder), out->responder,
                  sizeof(out->responder));
    certs = sk_X509_new_null();
    if (!certs || !sk_X509_push(certs, responder)) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    /* Signature only: the responder's trust is decided below. */
    if (OCSP_basic_verify(bs, certs, NULL, OCSP_NOINTERN | OCSP_NOVERIFY) !=
        1) {
        rc = xr_error_set(err, XR_ECERT, "ocsp_invalid_signature", "",
                          "signature on the OCSP response is not valid");
        goto out;
    }
    if (!authorised(vc, responder, issuer)) {
        rc = xr_error_set(err, XR_ECERT, "ocsp_unauthorized_responder", "",
                          "OCSP responder %s is not authorized for the CA",
                          out->responder);
        goto out;
    }
    rc = XR_OK;
out:
    ERR_clear_error();
    sk_X509_free(certs);
    OCSP_BASICRESP_free(bs);
    return rc;
}

enum xr_status xr__ocsp_check_at(const struct xr__ocsp_found *f, X509 *subject,
                                 int64_t at, long freshness_s,
                                 struct xr_error *err)
{
    char subj[160], when[32];

    if (f->this_update < at - (int64_t)freshness_s) {
        xr__iso_time(f->this_update, when, sizeof(when));
        return xr_error_set(err, XR_ECERT, "ocsp_too_old", "",
                            "OCSP response is too old (thisUpdate %s, more "
                            "than %ld s before the time-stamp)",
                            when, freshness_s);
    }
    if (f->has_next_update && f->next_update < at) {
        xr__iso_time(f->next_update, when, sizeof(when));
        return xr_error_set(err, XR_ECERT, "ocsp_next_update_expired", "",
                            "OCSP nextUpdate %s is before the time-stamp",
                            when);
    }
    if (f->status == V_OCSP_CERTSTATUS_GOOD)
        return XR_OK;
    xr__name_text(X509_get_subject_name(subject), subj, sizeof(subj));
    if (f->status == V_OCSP_CERTSTATUS_REVOKED) {
        when[0] = '\0';
        if (f->revoked_at != INT64_MIN)
            xr__iso_time(f->revoked_at, when, sizeof(when));
        return xr_error_set(err, XR_ECERT, "cert_revoked", "",
                            "OCSP response says certificate %s is REVOKED "
                            "(%s)",
                            subj, when);
    }
    return xr_error_set(err, XR_ECERT, "cert_status_unknown", "",
                        "OCSP response says the status of certificate %s "
                        "is UNKNOWN",
                        subj);
}

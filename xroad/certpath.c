/*
 * Signing certificate checks: key usage, subject name, chain (see
 * certpath.h).
 */
#include <string.h>

#include <openssl/x509v3.h>

#include "certpath.h"
#include "vutil.h"

bool xr__cert_is_signing(X509 *cert)
{
    return (X509_get_extension_flags(cert) & EXFLAG_KUSAGE) &&
           (X509_get_key_usage(cert) & KU_NON_REPUDIATION);
}

/* The first value of attribute nid in name as UTF-8, or false. */
static bool rdn(const X509_NAME *name, int nid, char *out, size_t size)
{
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    X509_NAME_ENTRY *e;
    unsigned char *utf = NULL;
    int n;

    if (i < 0)
        return false;
    e = X509_NAME_get_entry(name, i);
    n = e ? ASN1_STRING_to_UTF8(&utf, X509_NAME_ENTRY_get_data(e)) : -1;
    if (n < 0 || (size_t)n >= size || memchr(utf, '\0', (size_t)n)) {
        OPENSSL_free(utf);
        return false;
    }
    memcpy(out, utf, (size_t)n);
    out[n] = '\0';
    OPENSSL_free(utf);
    return true;
}

static enum xr_status incorrect(struct xr_error *err, const char *what)
{
    return xr_error_set(err, XR_ECERT, "incorrect_certificate", "",
                        "certificate subject name %s", what);
}

/* Finnish profile (FISubjectClientIdDecoder). */
static enum xr_status member_fi(const X509_NAME *name, struct xr_id *out,
                                struct xr_error *err)
{
    char c[8], o[XR_ID_PART_MAX + 1], sn[3 * XR_ID_PART_MAX + 8];
    char *p1, *p2;

    if (!rdn(name, NID_serialNumber, sn, sizeof(sn))) {
        if (!rdn(name, NID_organizationalUnitName, out->member_class,
                 sizeof(out->member_class))) {
            /* Neither form: the generic decoder (C, O, CN). */
            if (!rdn(name, NID_countryName, out->instance,
                     sizeof(out->instance)))
                return incorrect(err, "does not contain country code");
            if (!rdn(name, NID_organizationName, out->member_class,
                     sizeof(out->member_class)))
                return incorrect(err, "does not contain organization");
            if (!rdn(name, NID_commonName, out->member_code,
                     sizeof(out->member_code)))
                return incorrect(err, "does not contain common name");
            return XR_OK;
        }
        /* Legacy: C=FI, O=instance, OU=memberClass, CN=memberCode. */
        if (!rdn(name, NID_countryName, c, sizeof(c)) || strcmp(c, "FI"))
            return incorrect(err, "does not contain valid country code");
        if (!rdn(name, NID_organizationName, out->instance,
                 sizeof(out->instance)))
            return incorrect(err, "does not contain organization");
        if (!rdn(name, NID_commonName, out->member_code,
                 sizeof(out->member_code)))
            return incorrect(err, "does not contain common name");
        return XR_OK;
    }
    if (!rdn(name, NID_countryName, c, sizeof(c)) || strcmp(c, "FI"))
        return incorrect(err, "does not contain valid country code");
    if (!rdn(name, NID_organizationName, o, sizeof(o)))
        return incorrect(err, "does not contain organization");
    if (!rdn(name, NID_commonName, out->member_code, sizeof(out->member_code)))
        return incorrect(err, "does not contain common name");
    /* serialNumber = instance/serverCode/memberClass, three parts. */
    p1 = strchr(sn, '/');
    p2 = p1 ? strchr(p1 + 1, '/') : NULL;
    if (!p1 || !p2 || strchr(p2 + 1, '/') || p1 == sn || p2 == p1 + 1 ||
        p2[1] == '\0' || (size_t)(p1 - sn) >= sizeof(out->instance))
        return incorrect(err, "has an invalid serialNumber");
    memcpy(out->instance, sn, (size_t)(p1 - sn));
    out->instance[p1 - sn] = '\0';
    xr__strlcpy(out->member_class, p2 + 1, sizeof(out->member_class));
    return XR_OK;
}

enum xr_status xr__cert_member(X509 *cert, enum xr__profile profile,
                               struct xr_id *out, struct xr_error *err)
{
    const X509_NAME *name = X509_get_subject_name(cert);

    memset(out, 0, sizeof(*out));
    out->type = XR_ID_MEMBER;
    switch (profile) {
    case XR__PROFILE_FI:
        return member_fi(name, out, err);
    case XR__PROFILE_GENERIC:
        break;
    }
    if (!rdn(name, NID_countryName, out->instance, sizeof(out->instance)))
        return incorrect(err, "does not contain country code");
    if (!rdn(name, NID_organizationName, out->member_class,
             sizeof(out->member_class)))
        return incorrect(err, "does not contain organization");
    if (!rdn(name, NID_commonName, out->member_code, sizeof(out->member_code)))
        return incorrect(err, "does not contain common name");
    return XR_OK;
}

static enum xr_status path_error(X509_STORE_CTX *sc, struct xr_error *err)
{
    int e = X509_STORE_CTX_get_error(sc);
    X509 *bad = X509_STORE_CTX_get_current_cert(sc);
    char subj[160] = "";

    if (bad)
        xr__name_text(X509_get_subject_name(bad), subj, sizeof(subj));
    if (e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
        e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
        e == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
        e == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
        return xr_error_set(err, XR_ECERT, "cannot_create_cert_path", "",
                            "no path from the signing certificate to an "
                            "approved CA (%s: %s)",
                            subj, X509_verify_cert_error_string(e));
    return xr_error_set(err, XR_ECERT, "invalid_cert_path", "",
                        "invalid certificate path at the time-stamp time "
                        "(%s: %s)",
                        subj, X509_verify_cert_error_string(e));
}

enum xr_status xr__certpath_verify(const struct xr__vinst *inst, X509 *cert,
                                   X509 *const *extra, size_t nextra,
                                   int64_t at, STACK_OF(X509) * *chain,
                                   struct xr_error *err)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_VERIFY_PARAM *param;
    enum xr_status rc;
    size_t anchors = 0;

    *chain = NULL;
    if (!store || !sc || !untrusted)
        goto oom;
    for (size_t i = 0; i < inst->ncas; i++) {
        if (inst->cas[i].auth_only)
            continue;
        if (X509_STORE_add_cert(store, inst->cas[i].cert) != 1)
            goto oom;
        anchors++;
    }
    for (size_t i = 0; i < nextra; i++)
        if (!sk_X509_push(untrusted, extra[i]))
            goto oom;
    if (anchors == 0) {
        rc = xr_error_set(err, XR_ECERT, "cannot_create_cert_path", "",
                          "instance %s has no approved CA for signing "
                          "certificates",
                          inst->name);
        goto out;
    }
    if (X509_STORE_CTX_init(sc, store, cert, untrusted) != 1)
        goto oom;
    param = X509_STORE_CTX_get0_param(sc);
    /* An approved intermediate CA is a trust anchor of its own. */
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    X509_VERIFY_PARAM_set_time(param, (time_t)at);
    if (X509_verify_cert(sc) != 1) {
        rc = path_error(sc, err);
        goto out;
    }
    *chain = X509_STORE_CTX_get1_chain(sc);
    if (!*chain)
        goto oom;
    rc = XR_OK;
    goto out;
oom:
    rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                      "out of memory checking the certificate path");
out:
    ERR_clear_error();
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(sc);
    X509_STORE_free(store);
    return rc;
}

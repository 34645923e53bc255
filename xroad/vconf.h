/*
 * The verification configuration (struct xr_vconf) as the verifier's
 * modules see it. Private to libxroad.
 */
#ifndef XROAD_VCONF_H
#define XROAD_VCONF_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "internal.h"
#include "xroad/asic.h"

#define XR__VCONF_MAX_INSTANCES 32
#define XR__VCONF_MAX_CAS       128 /* approved CAs (top + intermediate) */
#define XR__VCONF_MAX_TSAS      64
#define XR__VCONF_MAX_OCSP      16 /* responder certificates per CA */
#define XR__VCONF_FILE_MAX      (16u * 1024u * 1024u)

/* How a CA's certificates name their member (certificateProfileInfo). */
enum xr__profile {
    XR__PROFILE_FI,     /* FiVRKCertificateProfileInfoProvider */
    XR__PROFILE_GENERIC /* anything else: C, O, CN */
};

/* One approved CA certificate (a top CA or an intermediate CA). */
struct xr__vca {
    X509 *cert;
    bool top;
    bool auth_only; /* authenticationOnly: may not issue signing certs */
    enum xr__profile profile;
    size_t nocsp;
    X509 *ocsp[XR__VCONF_MAX_OCSP]; /* responder certificates, owned */
};

struct xr__vinst {
    char name[XR_ID_PART_MAX + 1];
    size_t ncas;
    struct xr__vca cas[XR__VCONF_MAX_CAS];
    size_t ntsas;
    X509 *tsas[XR__VCONF_MAX_TSAS]; /* owned */
    long ocsp_freshness_s;          /* -1 when not configured */
};

struct xr_vconf {
    char own[XR_ID_PART_MAX + 1];
    size_t ninst;
    struct xr__vinst *inst[XR__VCONF_MAX_INSTANCES]; /* owned */
};

/* The instance called name, or NULL. */
XR_HIDDEN const struct xr__vinst *xr__vconf_find(const struct xr_vconf *vc,
                                                 const char *name);

/*
 * The approved CA of `inst` whose subject is the issuer of cert and whose
 * key verifies cert's signature, or NULL (X-Road getCaCert()).
 */
XR_HIDDEN const struct xr__vca *xr__vconf_issuer(const struct xr__vinst *inst,
                                                 X509 *cert);

/* Parse one shared-params.xml into a new instance (exposed for tests). */
XR_HIDDEN enum xr_status xr__vconf_parse_params(const uint8_t *buf, size_t len,
                                                const char *file,
                                                struct xr__vinst **out,
                                                struct xr_error *err);
XR_HIDDEN void xr__vinst_free(struct xr__vinst *in);

#endif

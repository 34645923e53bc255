/*
 * The container verifier's shared state, between asic.c (the order of
 * the checks, the public API), asic_msg.c (reading message.xml) and
 * asic_trust.c (time-stamp, certificates, OCSP, and the cache of their
 * results). Private to libxroad; the public API is include/xroad/asic.h.
 */
#ifndef XROAD_ASIC_PRIV_H
#define XROAD_ASIC_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>
#include <openssl/x509.h>

#include "internal.h"
#include "xroad/asic.h"
#include "tsp.h"
#include "vconf.h"
#include "xades.h"
#include "zip.h"

#define XR__ASIC_MAX_DIGESTS  32
#define XR__ASIC_MAX_WARNINGS 32
#define XR__ASIC_WARNING_MAX  200

struct xr_asic_result {
    bool valid;
    struct xr_error error;
    enum xr_asic_msg_type type;
    bool is_rest;
    char message_id[XR_TEXT_MAX + 1];
    bool has_signer;
    struct xr_id signer;
    bool has_header;
    struct xr_header header;
    uint8_t *message; /* owned copy of message.xml */
    size_t message_len;
    int64_t signing_time;
    int64_t claimed_time;
    int64_t ocsp_produced_at;
    bool batch;
    char signer_subject[256];
    char tsa_subject[256];
    char ocsp_subject[256];
    size_t ndigests;
    struct xr_asic_digest digests[XR__ASIC_MAX_DIGESTS];
    size_t nwarnings;
    char warnings[XR__ASIC_MAX_WARNINGS][XR__ASIC_WARNING_MAX];
};

/* Everything one verification works on. */
struct xr__vctx {
    const struct xr_vconf *vc;
    struct xr_asic_opts opts; /* resolved */
    struct xr_asic_cache *cache;
    struct xr_asic_result *res;
    struct xr__zip zip;
    bool *covered; /* per zip entry: some check used it */
    /* Entries by role (NULL when absent); borrowed from zip. */
    const struct xr__zip_entry *mimetype, *message, *signature;
    const struct xr__zip_entry *sig_hcr, *sig_hc, *ts_hcr, *ts_hc, *tst;
    const struct xr__zip_entry *manifest, *asic_manifest;
    bool body_empty; /* SOAP body (or REST body) not logged */
    xmlDocPtr sigdoc;
    struct xr__xsig xsig;
    struct xr__tst ts;
    bool have_ts;
    int64_t at;                   /* validation time */
    const struct xr__vinst *inst; /* the signer's instance */
    STACK_OF(X509) * chain;
};

/* asic_msg.c: read message.xml into res (type, id, signer, header) and
 * set body_empty. Error: invalid_message, out_of_memory. */
XR_HIDDEN enum xr_status xr__asic_read_message(struct xr__vctx *v,
                                               struct xr_error *err);

/* asic_trust.c */
XR_HIDDEN enum xr_status xr__asic_timestamp(struct xr__vctx *v,
                                            struct xr_error *err);
XR_HIDDEN enum xr_status xr__asic_chain(struct xr__vctx *v,
                                        struct xr_error *err);
XR_HIDDEN enum xr_status xr__asic_ocsp(struct xr__vctx *v,
                                       struct xr_error *err);

/* asic.c: an entry by name (a leading '/' is ignored), marked covered. */
XR_HIDDEN const struct xr__zip_entry *xr__asic_entry(struct xr__vctx *v,
                                                     const char *uri);

/* asic.c: add a warning sentence to the result (capped, truncated). */
XR_HIDDEN void xr__asic_warn(struct xr__vctx *v, const char *fmt, ...)
    XR_PRINTF(2, 3);

#endif

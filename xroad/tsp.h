/*
 * RFC 3161 time-stamp tokens as X-Road uses them (TimestampVerifier): the
 * token's imprint covers the raw SignatureValue (single time-stamp) or
 * ts-hashchainresult.xml (batch); its signer must be one of the approved
 * TSA certificates of the configuration, trusted directly (no chain
 * building), valid at the token's genTime. Private to libxroad.
 */
#ifndef XROAD_TSP_H
#define XROAD_TSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "internal.h"
#include "xroad/asic.h"

struct xr__tst {
    PKCS7 *p7; /* the token (ContentInfo): owned when p7_owned,
                  else borrowed from the cache */
    bool p7_owned;
    TS_TST_INFO *info; /* its TSTInfo, owned */
    int64_t gen_time;  /* Unix seconds */
    X509 *tsa;         /* the approved TSA certificate that signed it:
                          borrowed from the configuration */
};

/*
 * Parse a DER token (through cache, which may be NULL). Errors:
 * timestamp_malformed (not a signed ContentInfo with a TSTInfo, unreadable
 * genTime), out_of_memory. Ownership: *out is caller storage; release with
 * xr__tst_cleanup() (also after a failure).
 */
XR_HIDDEN enum xr_status xr__tst_parse(const uint8_t *der, size_t len,
                                       struct xr_asic_cache *cache,
                                       struct xr__tst *out,
                                       struct xr_error *err);

/*
 * The imprint must equal H(data) with the token's own hash algorithm
 * (SHA-256/384/512). Error: timestamp_hash_mismatch, timestamp_malformed
 * (unsupported algorithm).
 */
XR_HIDDEN enum xr_status xr__tst_check_imprint(const struct xr__tst *t,
                                               const uint8_t *data, size_t len,
                                               struct xr_error *err);

/*
 * Find the approved TSA certificate named by the token's SignerInfo
 * (issuer and serial number) and set t->tsa. Error:
 * timestamp_signer_not_found.
 */
XR_HIDDEN enum xr_status xr__tst_find_signer(struct xr__tst *t,
                                             X509 *const *tsas, size_t ntsas,
                                             struct xr_error *err);

/*
 * Verify the token's CMS signature with t->tsa (the only trusted
 * certificate), the ESS signing-certificate binding and the TSA
 * certificate's validity and time-stamping purpose at genTime, with
 * OpenSSL's TS_RESP_verify_token(). Error: timestamp_validation.
 */
XR_HIDDEN enum xr_status xr__tst_verify_signature(const struct xr__tst *t,
                                                  struct xr_error *err);

XR_HIDDEN void xr__tst_cleanup(struct xr__tst *t);

#endif

/*
 * X-Road hash chains (namespace http://cyber.ee/hashchain): a
 * HashChainResult names the last step of a HashChain and the digest of
 * that step's data; each step lists digests (HashValue), digests of other
 * steps (StepRef) and digests of files (DataRef). Step data is the DER
 * SEQUENCE OF SingleDigest { digest OCTET STRING, digestMethod
 * UTF8String, transforms SEQUENCE {} } of its values in document order
 * (X-Road DigestList). Private to libxroad.
 */
#ifndef XROAD_HASHCHAIN_H
#define XROAD_HASHCHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "internal.h"

#define XR__HC_MAX_STEPS  1024 /* steps per chain file */
#define XR__HC_MAX_VALUES 1024 /* values per step */
#define XR__HC_MAX_DEPTH  64   /* nested StepRefs */
#define XR__HC_MAX_EVALS  4096 /* steps evaluated in one verification */
#define XR__HC_MAX_FILES  8    /* chain files in one verification */

/*
 * Finds the bytes behind a URI ("/sig-hashchain.xml", "/message.xml").
 * Returns true and sets *data and *len (borrowed, valid for the whole
 * verification) when the URI names something available.
 */
typedef bool xr__hc_resolve_fn(void *arg, const char *uri, const uint8_t **data,
                               size_t *len);

/*
 * A required input: a DataRef with this URI must occur in the chain.
 * With digest set (and md its algorithm) that digest is used as the
 * DataRef's value when the algorithms agree, without comparing it to the
 * chain (X-Road's precomputed inputs); with digest NULL the data is
 * resolved, digested and compared like any other DataRef.
 */
struct xr__hc_input {
    const char *uri;
    const uint8_t *digest;
    size_t digest_len;
    const EVP_MD *md;
    bool used; /* set by the verifier */
};

/*
 * Called for each DataRef whose data the resolver does not have: the
 * chain's digest is then taken as it is ("unverified"), and for each
 * DataRef checked against its data ("verified").
 */
typedef void xr__hc_report_fn(void *arg, const char *uri, const uint8_t *digest,
                              size_t len, bool verified);

/*
 * Verify the hash chain that result_xml starts. Errors (err->reason, the
 * X-Road names): malformed_hash_chain (not a hash chain, bad URI, unknown
 * step, unsupported digest or transforms, caps), invalid_reference (a
 * chain file that cannot be resolved), invalid_hash_chain_ref (a DataRef
 * whose data has another digest), invalid_hash_chain (the result does not
 * match), hash_chain_unused_inputs (an input no DataRef names).
 * xml_lim: caps for parsing the XML files (NULL = defaults).
 * Ownership: borrows everything. Thread-safety: reentrant.
 */
XR_HIDDEN enum xr_status xr__hashchain_verify(
    const uint8_t *result_xml, size_t result_len, xr__hc_resolve_fn *resolve,
    void *resolve_arg, struct xr__hc_input *inputs, size_t ninputs,
    xr__hc_report_fn *report, void *report_arg, const struct xr_limits *xml_lim,
    struct xr_error *err);

#endif

/*
 * xmlsec1 glue, locked down (c-style.md section 2.1):
 *  - xmlsec's default IO handlers (file, HTTP, FTP) are removed once, at
 *    xr_global_init(); the only handler serves entries of the container
 *    being verified, from memory, through a _Thread_local pointer that is
 *    set only around one verification;
 *  - references may be same-document ("#...") or "remote" (which then
 *    reaches only that handler); local files never;
 *  - reference and SignedInfo transforms are allow-listed (C14N 1.0/1.1,
 *    exclusive C14N, enveloped-signature, SHA-256/384/512, RSA and ECDSA
 *    with SHA-256/384/512): XSLT and XPath filters are disabled;
 *  - ds:Manifest processing is off;
 *  - success needs rc == 0, status Succeeded and every reference of
 *    SignedInfo processed with status Succeeded;
 *  - xmlsec's error callback records into thread-local storage; nothing
 *    is printed.
 * The key comes from the certificate the caller passes (KeyInfo), never
 * from a keys manager; chain and revocation are checked elsewhere.
 * Private to libxroad.
 */
#ifndef XROAD_DSIG_H
#define XROAD_DSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>
#include <openssl/x509.h>

#include "internal.h"

/*
 * Serves the bytes of a detached reference. name is the reference URI as
 * xmlsec hands it over (URI-unescaped first, then raw). Returns true and
 * borrowed bytes when the name is one the caller allows.
 */
typedef bool xr__dsig_lookup_fn(void *arg, const char *name,
                                const uint8_t **data, size_t *len);

/* Process-wide set-up, from xr_global_init(); undone by the shutdown. */
XR_HIDDEN enum xr_status xr__dsig_global_init(struct xr_error *err);
XR_HIDDEN void xr__dsig_global_shutdown(void);

/*
 * Verify the XML signature `sig` (in doc, whose Id attributes must be
 * registered) with the public key of cert. lookup/arg serve detached
 * references. Errors: invalid_signature_value (a digest or the signature
 * value does not match), transform_forbidden (a transform outside the
 * allow-list), invalid_reference (a URI of a forbidden type or one the
 * lookup does not serve), malformed_signature (anything else xmlsec
 * refuses), out_of_memory.
 * Thread-safety: reentrant; the lookup is visible to this thread only.
 */
XR_HIDDEN enum xr_status xr__dsig_verify(xmlDocPtr doc, xmlNodePtr sig,
                                         X509 *cert, xr__dsig_lookup_fn *lookup,
                                         void *arg, struct xr_error *err);

#endif

/*
 * asic_forge: a test-only maker of X-Road signed containers, built on
 * OpenSSL and libxml2 alone (never on libxroad or xmlsec, so it checks the
 * verifier instead of mirroring it). It makes a throw-away PKI (a CA, an
 * OCSP responder, a TSA and FI-profile signing certificates), OCSP
 * responses, RFC 3161 tokens, XAdES signatures in both X-Road profiles,
 * hash chains, batch time-stamps, ZIPs (including hostile ones) and the
 * /verificationconf layout. Keys are made at run time; nothing here is
 * ever committed. Used by the unit tests, the fuzz seed generator, the
 * benchmark and the simulator (which signs its message log with it).
 *
 * Functions return 0 on success and -1 on failure (OpenSSL's error queue
 * or errno say why). Not thread-safe unless stated; every object is
 * owned by its struct and freed by the matching _free/_cleanup.
 */
#ifndef VAYLA_ASIC_FORGE_H
#define VAYLA_ASIC_FORGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define AF_MAX_ATTACH 4

/* A key and its certificate. */
struct af_party {
    EVP_PKEY *key;
    X509 *cert;
};

void af_party_cleanup(struct af_party *p);

/* The trust side: what a /verificationconf names. */
struct af_trust {
    char instance[64];
    struct af_party ca;   /* self-signed, approved CA (FI profile) */
    struct af_party ocsp; /* OCSP responder, EKU OCSPSigning, by the CA */
    struct af_party tsa;  /* time-stamping authority, by the CA */
    long freshness_s;     /* ocspFreshnessSeconds */
    bool pem_certs;       /* <cert> as base64 of PEM instead of DER */
};

/*
 * New PKI for `instance`, valid [not_before, not_after] (Unix seconds).
 * rsa_bits: 0 = EC P-256 keys (fast), else RSA of that size.
 */
int af_trust_init(struct af_trust *t, const char *instance, int64_t not_before,
                  int64_t not_after, int rsa_bits);
void af_trust_cleanup(struct af_trust *t);

/* Load/save a trust from/to files (PEM): DIR/{ca,ocsp,tsa}.{pem,key}. */
int af_trust_load(struct af_trust *t, const char *instance, const char *dir);
int af_trust_save(const struct af_trust *t, const char *dir);

enum af_cert_kind {
    AF_CERT_SIGN,      /* FI signing certificate: nonRepudiation */
    AF_CERT_SIGN_NOKU, /* no nonRepudiation (digitalSignature only) */
    AF_CERT_OCSP,      /* EKU OCSPSigning */
    AF_CERT_PLAIN,     /* no EKU: an unauthorised responder */
    AF_CERT_TSA        /* EKU timeStamping (critical) */
};

/*
 * A certificate issued by `issuer` for member INST/CLASS/CODE (FI
 * profile: C=FI, O=org, CN=code, serialNumber=INST/server/CLASS); for
 * non-signing kinds, cn is the common name and inst/cls are ignored.
 */
int af_issue(const struct af_party *issuer, enum af_cert_kind kind,
             const char *inst, const char *cls, const char *code,
             int64_t not_before, int64_t not_after, int rsa_bits,
             struct af_party *out);

/* ------------------------------------------------------------------ */

struct af_ocsp_opts {
    int status; /* V_OCSP_CERTSTATUS_GOOD / REVOKED / UNKNOWN */
    int64_t this_update;
    int64_t next_update; /* 0 = none */
    int64_t revoked_at;
    const struct af_party *responder; /* NULL = the trust's responder */
    bool by_key;   /* ResponderID by key hash instead of name */
    bool no_certs; /* leave the responder certificate out */
};

/* DER OCSPResponse for subject issued by issuer. *der: malloc'd. */
int af_ocsp(const struct af_trust *t, X509 *subject, X509 *issuer,
            const struct af_ocsp_opts *o, uint8_t **der, size_t *len);

/*
 * DER time-stamp token (ContentInfo) over data with SHA-512, genTime
 * gen_time, signed by tsa (NULL = the trust's TSA). *der: malloc'd.
 */
int af_tst(const struct af_trust *t, const struct af_party *tsa,
           const uint8_t *data, size_t len, int64_t gen_time, uint8_t **der,
           size_t *der_len);

/* ------------------------------------------------------------------ */
/* ZIP writer (stored or deflated; any names, duplicates allowed)      */

struct af_zip;

struct af_zip *af_zip_new(void);
/* Whether entries carry the "names are UTF-8" flag (default: yes). */
void af_zip_utf8_flag(struct af_zip *z, bool on);
/* Add an entry; deflate selects raw DEFLATE (level 9). */
int af_zip_add(struct af_zip *z, const char *name, const void *data, size_t len,
               bool deflate);
/* Add an entry whose local and central headers claim `claimed` bytes. */
int af_zip_add_lying(struct af_zip *z, const char *name, const void *data,
                     size_t len, bool deflate, uint32_t claimed);
/* The ZIP bytes (malloc'd); z is freed. */
int af_zip_finish(struct af_zip *z, uint8_t **out, size_t *len);
void af_zip_free(struct af_zip *z);

/* ------------------------------------------------------------------ */
/* Containers                                                          */

enum af_ts { AF_TS_SINGLE, AF_TS_BATCH, AF_TS_NONE };

struct af_spec {
    const uint8_t *message; /* message.xml bytes */
    size_t message_len;
    size_t nattach;
    const uint8_t *attach[AF_MAX_ATTACH];
    size_t attach_len[AF_MAX_ATTACH];
    bool attach_absent; /* sign the attachments, do not store them */
    bool hashchain;     /* sign /sig-hashchainresult.xml (sig chain) */
    bool dss;           /* root ds:Signature, exclusive C14N (REST) */
    const struct af_party *signer;
    int64_t signing_time; /* xades:SigningTime */
    enum af_ts ts;
    int64_t ts_time;            /* genTime */
    const struct af_party *tsa; /* NULL = trust TSA */
    const uint8_t *ts_data;     /* non-NULL: stamp these bytes instead */
    size_t ts_data_len;
    struct af_ocsp_opts ocsp; /* the signer's OCSP response */
    const uint8_t *ocsp_der;  /* or this one, as made (shared by many) */
    size_t ocsp_der_len;
    bool no_ocsp;
    bool deflate;          /* DEFLATE entries (as a security server does) */
    const char *extra_ref; /* an additional ds:Reference URI */
    const char *extra_transform; /* Transform Algorithm on the message ref */
    bool dup_id; /* a second element with Id="signed-properties" */
    /* SigningCertificate digest of another certificate (NULL: signer). */
    const struct af_party *cert_digest_of;
    const struct af_party *ocsp_for; /* OCSP about another certificate */
};

/* Defaults: single TS at `now`, OCSP good at now - 60, SigningTime now. */
void af_spec_init(struct af_spec *s, const struct af_party *signer,
                  int64_t now);

/* The unsigned parts of a container before its time-stamp. */
struct af_signed {
    char *signatures; /* META-INF/signatures.xml, malloc'd */
    size_t signatures_len;
    char *hcr, *hc;  /* sig-hashchainresult.xml / sig-hashchain.xml */
    uint8_t *sigval; /* raw SignatureValue */
    size_t sigval_len;
};

void af_signed_cleanup(struct af_signed *s);

/* Build and sign signatures.xml (with a single time-stamp if asked). */
int af_sign(const struct af_trust *t, const struct af_spec *s,
            struct af_signed *out);

/* A batch time-stamp over n signatures.xml (one token for all). */
struct af_batch {
    char *result;   /* ts-hashchainresult.xml, shared */
    char **chains;  /* ts-hashchain.xml per container */
    uint8_t *token; /* META-INF/timestamp.tst, shared */
    size_t token_len, n;
};

int af_batch_stamp(const struct af_trust *t, const struct af_party *tsa,
                   const char *const *sigs, const size_t *sig_lens, size_t n,
                   int64_t gen_time, struct af_batch *out);
void af_batch_cleanup(struct af_batch *b);

/*
 * Zip a container: mimetype (deflated first, like a security server),
 * message.xml, signatures.xml, hash chain, attachments and, for batch
 * time-stamps, ts-hashchain(-result).xml, timestamp.tst and
 * ASiCManifest.xml from b (index i). b may be NULL.
 */
int af_zip_container(const struct af_spec *s, const struct af_signed *sg,
                     const struct af_batch *b, size_t i, uint8_t **out,
                     size_t *len);

/* af_sign + (batch of one when AF_TS_BATCH) + af_zip_container. */
int af_container(const struct af_trust *t, const struct af_spec *s,
                 uint8_t **out, size_t *len);

/* ------------------------------------------------------------------ */
/* Verification configuration and messages                             */

/* shared-params.xml text for the trust (malloc'd, NUL-terminated). */
char *af_shared_params(const struct af_trust *t);
/* The /verificationconf ZIP (verificationconf/ prefix). */
int af_vconf_zip(const struct af_trust *t, uint8_t **out, size_t *len);
/* The unzipped layout under dir. */
int af_vconf_dir(const struct af_trust *t, const char *dir);

/*
 * An X-Road SOAP message: request from client to service, or (response)
 * the answer; ids "INST/CLASS/CODE[/SUB]" and service
 * "INST/CLASS/CODE/SUB/serviceCode". body: XML of the body wrapper's
 * content. Returns malloc'd text.
 */
char *af_soap_message(const char *client, const char *service, const char *id,
                      bool response, const char *body);

/* Replace the first `from` in buf[0..len) with `to`; malloc'd or NULL. */
uint8_t *af_replace(const uint8_t *buf, size_t len, const char *from,
                    const char *to, size_t *out_len);

#endif

/*
 * VTJkysely over Suomi.fi Palveluväylä (X-Road): DVV's population-register
 * query interface, X-Road flavour "SoSoAdapterService60"
 * (docs/vtj.md).
 *
 * This module builds the SOAP Body wrapper of a request (the X-Road header
 * and envelope come from libxroad's xr_request_new()) and decodes the Body
 * wrapper of a response (from libxroad's xr_response_body()) into a
 * classified result with a stable JSON form (docs/api.md).
 *
 * Service: SERVICE:<instance>/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1
 * SOAPAction: "" (VTJ_SOAP_ACTION).
 *
 * Secrets: the VTJ password is sent in the body (Salasana). Request bodies
 * therefore contain the password and must be freed with vtj_body_free().
 * Nothing in this module logs; error messages never contain the password,
 * the username or a personal identifier.
 */
#ifndef VAYLA_SERVICES_VTJ_H
#define VAYLA_SERVICES_VTJ_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libxml/tree.h>

#include <xroad/error.h>

/* Namespaces. */
#define VTJ_NS_WS        "http://xml.vrk.fi/ws/vtj/vtjkysely/1" /* body */
#define VTJ_NS_MESSAGE   "http://xml.vrk.fi/schema/vtjkysely"   /* answer */
#define VTJ_NS_CATALOGUE "http://xml.vrk.fi/schema/vtj/henkilotiedot/1"

/* X-Road service identifier parts (memberClass GOV, memberCode of DVV). */
#define VTJ_SERVICE_MEMBER_CLASS "GOV"
#define VTJ_SERVICE_MEMBER_CODE  "0245437-2"
#define VTJ_SERVICE_SUBSYSTEM    "VTJkysely"
#define VTJ_SERVICE_CODE         "HenkilonTunnusKysely"
#define VTJ_SCHEMA_SERVICE_CODE  "HaeTuotteenSkeema"
#define VTJ_SERVICE_VERSION      "v1"
#define VTJ_SOAP_ACTION          "" /* the HTTP header value, sent quoted */

/* Input caps (bytes unless stated). */
#define VTJ_END_USER_MAX_CHARS 50    /* Loppukayttaja: Unicode characters */
#define VTJ_PRODUCT_MAX        100   /* SoSoNimi */
#define VTJ_CREDENTIAL_MAX     256   /* Kayttajatunnus, Salasana */
#define VTJ_FIELD_MAX          1024  /* Laskutustiedot and the other fields */
#define VTJ_CERT_MAX           16384 /* X509Certificate (base64) */
#define VTJ_BODY_MAX           65536 /* whole request body */

/* Response caps. */
#define VTJ_VALUE_MAX  4096u /* one text value; longer = XR_ELIMIT */
#define VTJ_GROUP_MAX  512u  /* items of one repeated group */
#define VTJ_SCHEMA_MAX (4u * 1024u * 1024u) /* HaeTuotteenSkeema answer */

/*
 * One HenkilonTunnusKysely. All strings are borrowed (get0) for the
 * duration of the call; NULL and "" both mean "not given" for optional
 * fields, and optional fields that are not given are omitted from the body.
 */
struct vtj_query {
    const char *product;  /* SoSoNimi; required, 1..VTJ_PRODUCT_MAX bytes */
    const char *hetu;     /* Henkilotunnus; exactly one of hetu, satu */
    const char *satu;     /* SahkoinenAsiointitunnus */
    const char *end_user; /* Loppukayttaja; required, 1..50 characters */
    const char *billing;  /* Laskutustiedot; optional */
    /* Rarely used optional fields (certificate-based identification). */
    const char *cert_issuer;      /* VarmenteenMyontaja */
    const char *x509_certificate; /* X509Certificate, base64 */
    const char *cert_validity;    /* VarmenteenVoimassaolotarkistus */
    const char *cert_crl;         /* VarmenteenSulkulistatarkistus */
    const char *portal;           /* Tunnistusportaali */
    const char *reserved1;        /* Vara1 */
    /*
     * Set when the target is the production instance FI: a temporary or
     * test hetu (individual number 900..999) is then refused with
     * "temporary_hetu" instead of spending a query.
     */
    bool refuse_temporary;
};

/*
 * VTJ credentials, from configuration (the password from a file or the
 * environment, never from the command line). Borrowed for the call.
 */
struct vtj_credentials {
    const char *username; /* Kayttajatunnus, 1..VTJ_CREDENTIAL_MAX bytes */
    const char *password; /* Salasana, 1..VTJ_CREDENTIAL_MAX bytes */
};

/*
 * Validate a query without building anything: same checks and err->reason
 * values as vtj_request_body() (credentials are not checked).
 * Reasons (XR_EINVAL): missing_product, product_too_long, invalid_product,
 * missing_subject (neither hetu nor SATU), ambiguous_subject (both),
 * invalid_hetu, temporary_hetu, invalid_satu, missing_end_user,
 * end_user_too_long, invalid_end_user (bad UTF-8 or control characters),
 * field_too_long / invalid_field (err->field names the element).
 * err->msg never contains the identity code.
 * Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status vtj_query_check(const struct vtj_query *q,
                                            struct xr_error *err);

/*
 * Build the Body wrapper document of a HenkilonTunnusKysely:
 *   <HenkilonTunnusKysely xmlns="http://xml.vrk.fi/ws/vtj/vtjkysely/1">
 *   <request><SoSoNimi>..</SoSoNimi><Kayttajatunnus>..</Kayttajatunnus>
 *   <Salasana>..</Salasana><Loppukayttaja>..</Loppukayttaja>
 *   [<Laskutustiedot>..] [<Henkilotunnus>..] [<SahkoinenAsiointitunnus>..]
 *   [..the certificate fields, Tunnistusportaali, Vara1]</request>
 *   </HenkilonTunnusKysely>
 * Fields in WSDL order, empty ones omitted, values escaped by libxml2.
 * The query is validated first (vtj_query_check() reasons) and so are the
 * credentials: missing_username, missing_password, credential_too_long,
 * invalid_credential (XR_EINVAL; the values are never echoed).
 * Returns XR_OK, XR_EINVAL, XR_ELIMIT (body over VTJ_BODY_MAX) or
 * XR_ENOMEM.
 * Ownership: *xml is new, NUL-terminated, *len bytes without the NUL;
 * it contains the password: free it with vtj_body_free(). On error
 * *xml = NULL, *len = 0. len may be NULL.
 * Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status vtj_request_body(const struct vtj_query *q,
                                             const struct vtj_credentials *cred,
                                             char **xml, size_t *len,
                                             struct xr_error *err);

/*
 * Build the Body wrapper of a HaeTuotteenSkeema (fetch the XSD of a
 * product): <HaeTuotteenSkeema xmlns=VTJ_NS_WS><request><SoSoNimi>..
 * </SoSoNimi><Laji>laji</Laji></request></HaeTuotteenSkeema>.
 * Use service code VTJ_SCHEMA_SERVICE_CODE. laji is the WSDL's xsd:int
 * "kind" (normally 1); it must be 0..99. Reasons: missing_product,
 * product_too_long, invalid_product, invalid_laji (XR_EINVAL).
 * Ownership: *xml new, free with vtj_body_free() (or free()); len may be
 * NULL. Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status vtj_schema_request_body(const char *product,
                                                    int laji, char **xml,
                                                    size_t *len,
                                                    struct xr_error *err);

/*
 * Wipe and free a body made by vtj_request_body() or
 * vtj_schema_request_body(). len is the length returned with it (the
 * buffer is wiped up to the NUL when len is 0). Accepts NULL.
 * Ownership: takes xml. Thread-safety: reentrant.
 */
void vtj_body_free(char *xml, size_t len);

/*
 * Extract the product XSD from a HaeTuotteenSkeemaResponse wrapper (child
 * `reguest` (sic) is ignored; `response` holds the schema element or its
 * text). Reasons: not_vtj_response (XR_EPROTO: wrong wrapper), missing_schema
 * (XR_EPROTO), vtj_fault (XR_EPROTO: a faultCode was returned; err->field
 * = the code), too_large (XR_ELIMIT, over VTJ_SCHEMA_MAX).
 * Ownership: wrapper borrowed; *xsd new (free()), NUL-terminated.
 * Thread-safety: reentrant on distinct documents.
 */
XR_NODISCARD enum xr_status vtj_schema_decode(xmlNodePtr wrapper, char **xsd,
                                              size_t *len,
                                              struct xr_error *err);

/*
 * Load the VTJ password from exactly one of: a file (path; the first line,
 * without its line end; the file must not be accessible to group or others
 * and at most VTJ_CREDENTIAL_MAX + 2 bytes long) or an environment variable
 * (env_name). Never from the command line.
 * Reasons (XR_EINVAL unless noted): invalid_argument (neither or both
 * given), credential_unavailable (XR_EIO: cannot open / variable unset),
 * credential_file_permissions, credential_too_long, missing_password
 * (empty), invalid_credential (control characters or bad UTF-8). Messages
 * name the file or variable, never the value.
 * Ownership: *out new; free with vtj_password_free() (wipes it).
 * Thread-safety: reentrant (getenv is not thread-safe against setenv).
 */
XR_NODISCARD enum xr_status vtj_password_load(const char *path,
                                              const char *env_name, char **out,
                                              struct xr_error *err);

/*
 * Wipe and free a password from vtj_password_load(). Accepts NULL.
 * Ownership: takes password. Thread-safety: reentrant.
 */
void vtj_password_free(char *password);

/* ---- Decoding answers ------------------------------------------------ */

/*
 * Classification of one answer (docs/vtj.md §4, §5). Every return
 * code in the VTJ table maps to one outcome; unknown codes map to
 * VTJ_OUTCOME_UNKNOWN_CODE (never to found or not found).
 */
enum vtj_outcome {
    VTJ_OUTCOME_FOUND,                  /* 0000; 0008/0009 with a warning */
    VTJ_OUTCOME_UNDER_15,               /* 0018: data returned, flagged */
    VTJ_OUTCOME_NOT_FOUND,              /* faultCode 0001; 0001, 0006, 0017 */
    VTJ_OUTCOME_PASSIVATED,             /* 0002; new hetu when given */
    VTJ_OUTCOME_DECEASED_NOT_DISCLOSED, /* 0007 */
    VTJ_OUTCOME_NOT_DISCLOSABLE,        /* 0019 */
    VTJ_OUTCOME_CREDENTIALS_ERROR,      /* 0003, 0004, -1500 */
    VTJ_OUTCOME_CONFIG_ERROR,           /* 0010, 0011, -1505, -1900, -1901 */
    VTJ_OUTCOME_AUTH_FAILED,            /* 0012..0015 (certificates) */
    VTJ_OUTCOME_REQUEST_ERROR,          /* 0005, -1805, -1902..-1904, */
                                        /* hakuperustePaluukoodi 3 */
    VTJ_OUTCOME_INTEGRITY_ERROR,        /* 0016 */
    VTJ_OUTCOME_SERVICE_ERROR,          /* -1800 (retryable), -1905, -1906 */
    VTJ_OUTCOME_UNKNOWN_CODE            /* any other code: an error */
};

/*
 * Stable snake_case name: "found", "under_15", "not_found", "passivated",
 * "deceased_not_disclosed", "not_disclosable", "credentials_error",
 * "config_error", "auth_failed", "request_error", "integrity_error",
 * "service_error", "unknown_code". Never NULL.
 * Ownership: static. Thread-safety: reentrant.
 */
const char *vtj_outcome_name(enum vtj_outcome outcome);

/*
 * True for FOUND and UNDER_15 (person data present).
 * Ownership: none. Thread-safety: reentrant.
 */
bool vtj_outcome_is_found(enum vtj_outcome outcome);

/*
 * True for outcomes that are errors (credentials, configuration,
 * authentication, request, integrity, service, unknown code), as opposed
 * to business results (found, under 15, not found, passivated, deceased,
 * not disclosable).
 * Ownership: none. Thread-safety: reentrant.
 */
bool vtj_outcome_is_error(enum vtj_outcome outcome);

/* Protection order (turvakielto), tri-state; UNKNOWN must be treated as
 * PROTECTED by consumers (docs/vtj.md §6). */
enum vtj_turvakielto {
    VTJ_TURVAKIELTO_UNKNOWN,  /* no element in the product / not found */
    VTJ_TURVAKIELTO_NONE,     /* TurvakieltoTieto 0 or empty */
    VTJ_TURVAKIELTO_PROTECTED /* 1, or any other non-empty value */
};

/* Per-caller decoding policy. A zeroed struct is the default. */
struct vtj_policy {
    /*
     * Remove every address kind, the dwelling id and the municipality of
     * the person when turvakielto is PROTECTED or UNKNOWN (fail closed).
     * The JSON then carries "addresses_redacted": true.
     */
    bool redact_protected_addresses;
    /*
     * Allow vtj_result_follow_up() to propose one re-query with the new
     * hetu of a passivated person (OPH practice).
     */
    bool follow_passivated;
    /*
     * When not NULL, the search key the caller queried. The echoed search
     * key and Henkilo/Henkilotunnus must then match it (except for the new
     * hetu of a passivated person), otherwise vtj_decode() fails with
     * "subject_mismatch". Borrowed for the call.
     */
    const char *expected_hetu;
    const char *expected_satu;
};

/* Opaque decoded answer. */
struct vtj_result;
struct jw;

/*
 * Decode a HenkilonTunnusKyselyResponse wrapper (the SOAP Body's only
 * child, from xr_response_body()). Parsing is by namespace + local name,
 * without schema validation: unknown elements are ignored, empty elements
 * are absent, values are trimmed, dates become ISO 8601, repeated groups
 * whose identifying field is empty are dropped.
 *
 * A classified VTJ answer is XR_OK whatever its outcome (not found and
 * credential errors included); errors mean the wrapper is not a usable VTJ
 * answer:
 *   XR_EPROTO not_vtj_response (wrong element or namespace, no response
 *             element, neither faultCode nor VTJHenkiloVastaussanoma),
 *             missing_return_code (Paluukoodi without koodi),
 *             subject_mismatch (policy->expected_* differ from the answer),
 *             inconsistent_response (e.g. 0000 without Henkilo);
 *             duplicate_element (a single-valued element twice: never
 *             guessed at);
 *   XR_ELIMIT value_too_long, too_many_items;
 *   XR_EINVAL wrapper NULL; XR_ENOMEM.
 * Ownership: wrapper and policy borrowed (policy may be NULL = defaults);
 * *out new, free with vtj_result_free(); *out NULL on error.
 * Thread-safety: reentrant on distinct documents.
 */
XR_NODISCARD enum xr_status vtj_decode(xmlNodePtr wrapper,
                                       const struct vtj_policy *policy,
                                       struct vtj_result **out,
                                       struct xr_error *err);

/*
 * Free a result. Accepts NULL.
 * Ownership: takes r. Thread-safety: not with concurrent readers of r.
 */
void vtj_result_free(struct vtj_result *r);

/*
 * Accessors.
 * Ownership: returned strings are get0, valid until vtj_result_free().
 * Thread-safety: reentrant; a result may be read from several threads.
 */
enum vtj_outcome vtj_result_outcome(const struct vtj_result *r);
/* The code that decided the outcome: faultCode or Paluukoodi@koodi. */
const char *vtj_result_return_code(const struct vtj_result *r);
/* True when the code came from response/faultCode. */
bool vtj_result_is_fault_code(const struct vtj_result *r);
/* faultString or the Paluukoodi text; NULL when absent. */
const char *vtj_result_return_text(const struct vtj_result *r);
/* The new active hetu of a passivated person; NULL when not given. */
const char *vtj_result_new_hetu(const struct vtj_result *r);
/* True when the same query may be retried later (-1800). */
bool vtj_result_is_retryable(const struct vtj_result *r);
/* Product (sanomatunnus), or NULL. */
const char *vtj_result_product(const struct vtj_result *r);
/* The person's hetu (Henkilo/Henkilotunnus), or NULL. */
const char *vtj_result_hetu(const struct vtj_result *r);
/* Turvakielto of the person (UNKNOWN when no person). */
enum vtj_turvakielto vtj_result_turvakielto(const struct vtj_result *r);
/* True when the policy removed addresses from this result. */
bool vtj_result_addresses_redacted(const struct vtj_result *r);

/*
 * When the policy allows it (follow_passivated) and the answer is
 * PASSIVATED with a valid new hetu different from the queried one, fill
 * *next as a copy of *prev with hetu = the new hetu (satu = NULL) and
 * return true: the caller sends that query once and never follows a second
 * passivation. Otherwise return false and leave *next untouched.
 * Ownership: next->hetu borrows from r; other fields borrow from prev.
 * Thread-safety: reentrant.
 */
bool vtj_result_follow_up(const struct vtj_result *r,
                          const struct vtj_policy *policy,
                          const struct vtj_query *prev, struct vtj_query *next);

/*
 * The stable JSON form (docs/api.md "VTJ person JSON"): English snake_case
 * names, arrays always arrays, absent values omitted, turvakielto
 * true/false/null. Returns NULL only on allocation failure.
 * Ownership: new reference (json_decref()). Thread-safety: reentrant.
 */
json_t *vtj_result_to_json(const struct vtj_result *r);

/*
 * The same JSON as text, for an answer of the caller's own that carries
 * its members: each member as `,"key":value`, in the order of
 * vtj_result_to_json(), written into w (an object the caller has opened
 * and written at least one member of). Byte for byte what
 * json_dumps(JSON_COMPACT) writes for those members; no jansson tree is
 * made. r NULL fails the writer. Thread-safety: reentrant.
 */
void vtj_result_write_members(const struct vtj_result *r, struct jw *w);

#endif

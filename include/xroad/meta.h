/*
 * X-Road's own services (PR-META, PR-OPMON), as a client information
 * system uses them: request bodies to build, answers to read.
 *
 *   listClients                       GET /listClients[?xRoadInstance=I],
 *                                     XML clientList or snake_case JSON
 *   listMethods, allowedMethods       SOAP, empty wrapper in the X-Road
 *                                     namespace; answer: service ids
 *   getWsdl                           SOAP; answer: the WSDL as the first
 *                                     attachment of a multipart message
 *   getSecurityServerOperationalData  SOAP to the owner of the security
 *                                     server; answer: gzip'd JSON records
 *                                     in an attachment (swaRef)
 *
 * The answers are untrusted input: every reader has caps on bytes and on
 * entries (struct xr_meta_limits) and checks every field it keeps. The
 * SOAP answers are read from a struct xr_response that xr_response_check()
 * has already judged (header echo, requestHash, Body rule).
 *
 * For a security server or a simulator, the request readers at the end
 * check the bodies of incoming metaservice requests.
 *
 * Error reasons (err->reason), stable:
 *   meta_invalid        an answer or request body breaks the schema
 *                       (wrong wrapper, unknown or missing element, bad
 *                       value; err->field names the element)
 *   invalid_id          an identifier in an answer is incomplete, over
 *                       255 bytes a part, or not clean UTF-8
 *   too_many            more entries than max_items
 *   too_large           more bytes than max_bytes (also: decompressed)
 *   client_list_invalid listClients answer not XML/JSON of the schema
 *   wsdl_mismatch       getWsdl answer names another service than asked
 *   wsdl_missing        getWsdl answer without the WSDL attachment
 *   wsdl_invalid        the attachment is not a well-formed WSDL document
 *   opmon_missing_attachment  the records' cid names no attachment
 *   opmon_payload       the attachment is neither gzip nor JSON, or the
 *                       gzip stream is corrupt or has trailing data
 *   opmon_invalid_json  the payload is not JSON of the schema
 *   opmon_invalid_field a record field has the wrong type or value
 *                       (err->field names it)
 *   opmon_count_mismatch  recordsCount differs from the records sent
 *   plus the xml parse reasons (malformed_xml, dtd_forbidden, too_large,
 *   invalid_content_type) and out_of_memory.
 *
 * Thread-safety: every function is reentrant; results belong to the
 * caller.
 */
#ifndef XROAD_META_H
#define XROAD_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "xroad/common.h"
#include "xroad/error.h"
#include "xroad/id.h"
#include "xroad/response.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XR_NS_OPMON "http://x-road.eu/xsd/op-monitoring.xsd"

/* Service codes. */
#define XR_META_LIST_METHODS    "listMethods"
#define XR_META_ALLOWED_METHODS "allowedMethods"
#define XR_META_GET_WSDL        "getWsdl"
#define XR_OPMON_OPERATIONAL    "getSecurityServerOperationalData"

/* What WSDL endpoint addresses become when served by getWsdl (PR-META). */
#define XR_META_WSDL_LOCATION "http://example.org/xroad-endpoint"

enum xr_meta_kind {
    XR_META_NONE, /* not a metaservice */
    XR_META_KIND_LIST_METHODS,
    XR_META_KIND_ALLOWED_METHODS,
    XR_META_KIND_GET_WSDL,
    XR_META_KIND_OPMON
};

/* The metaservice a service code names, XR_META_NONE for others. */
XR_API enum xr_meta_kind xr_meta_kind_of(const char *service_code);

/*
 * Caps on one answer. Zeros = defaults: clients 100 000 entries and
 * 64 MiB; services 4096 entries; WSDL 16 MiB; operational data 100 000
 * records and 64 MiB of JSON after decompression.
 */
struct xr_meta_limits {
    size_t max_bytes;
    size_t max_items;
};

/* ---- request bodies (the Body wrapper, as xr_request_new() takes it) -- */

/*
 * <xrd:listMethods/> or <xrd:allowedMethods/> in the X-Road namespace.
 * kind: XR_META_KIND_LIST_METHODS or XR_META_KIND_ALLOWED_METHODS.
 * Ownership: *xml new (free()), NUL-terminated; *len excludes the NUL.
 */
XR_API XR_NODISCARD enum xr_status xr_meta_methods_body(enum xr_meta_kind kind,
                                                        char **xml, size_t *len,
                                                        struct xr_error *err);

/*
 * <xrd:getWsdl><xrd:serviceCode/><xrd:serviceVersion/>?</xrd:getWsdl>.
 * service_code: a valid identifier part; service_version NULL or "" for
 * none. Errors: invalid_id.
 */
XR_API XR_NODISCARD enum xr_status xr_meta_wsdl_body(
    const char *service_code, const char *service_version, char **xml,
    size_t *len, struct xr_error *err);

/* The operational data fields of PR-OPMON (outputSpec names). */
#define XR_OPMON_FIELD_MAX 64 /* outputField names in one request */

/* True when name is one of the protocol's outputField names. */
XR_API bool xr_opmon_field_is_known(const char *name);

struct xr_opmon_query {
    int64_t records_from; /* Unix seconds, >= 0 */
    int64_t records_to;   /* Unix seconds, inclusive, >= records_from */
    /* searchCriteria/client: only records with this service provider
     * (MEMBER or SUBSYSTEM); NULL for all. */
    const struct xr_id *client;
    /* outputSpec: the fields wanted (known names), none = all. */
    const char *const *fields;
    size_t nfields;
};

/*
 * <om:getSecurityServerOperationalData> with searchCriteria and, when
 * fields are given, outputSpec. Errors: meta_invalid (a time range that
 * is negative or reversed, an unknown or repeated field, more than
 * XR_OPMON_FIELD_MAX), invalid_id.
 */
XR_API XR_NODISCARD enum xr_status xr_opmon_body(const struct xr_opmon_query *q,
                                                 char **xml, size_t *len,
                                                 struct xr_error *err);

/* ---- listClients ------------------------------------------------------ */

/* One member or subsystem. Strings are owned by the list; name and
 * subsystem_name are NULL when absent, subsystem_code "" for MEMBER. */
struct xr_client_entry {
    enum xr_id_type type; /* XR_ID_MEMBER or XR_ID_SUBSYSTEM */
    const char *instance;
    const char *member_class;
    const char *member_code;
    const char *subsystem_code;
    const char *name;
    const char *subsystem_name;
};

struct xr_client_list;

/*
 * Read a listClients answer: `text/xml` (clientList, the charset from
 * content_type) or `application/json` (the snake_case form); the media
 * type decides, NULL = text/xml. Names: clean UTF-8 (no control
 * characters), at most 1024 bytes; identifier parts 1..255 bytes.
 * Unknown JSON keys are skipped; unknown XML elements are refused.
 * Ownership: *out new (xr_client_list_free()); buf borrowed.
 */
XR_API XR_NODISCARD enum xr_status xr_client_list_parse(
    const char *content_type, const uint8_t *buf, size_t len,
    const struct xr_meta_limits *lim, struct xr_client_list **out,
    struct xr_error *err);
XR_API void xr_client_list_free(struct xr_client_list *l);
XR_API size_t xr_client_list_count(const struct xr_client_list *l);
/* Ownership: get0, valid until the list is freed. */
XR_API const struct xr_client_entry *xr_client_list_get(
    const struct xr_client_list *l, size_t i);
/* The entry as an identifier; false when a part does not fit (never for
 * entries of a parsed list). */
XR_API bool xr_client_entry_id(const struct xr_client_entry *e,
                               struct xr_id *out);

/* ---- listMethods / allowedMethods --------------------------------------- */

/*
 * The services of a judged listMethodsResponse / allowedMethodsResponse
 * (kind says which wrapper is expected). Every child must be an
 * xrd:service with objectType SERVICE.
 * Ownership: *ids new array of *n (free()); resp borrowed.
 */
XR_API XR_NODISCARD enum xr_status xr_meta_methods_parse(
    const struct xr_response *resp, enum xr_meta_kind kind,
    const struct xr_meta_limits *lim, struct xr_id **ids, size_t *n,
    struct xr_error *err);

/* ---- getWsdl ---------------------------------------------------------- */

/*
 * The WSDL of a judged getWsdlResponse: the response must echo the
 * service code and version asked for (wsdl_mismatch), carry the WSDL as
 * its first attachment (wsdl_missing) and that must be a well-formed XML
 * document whose root is wsdl:definitions (wsdl_invalid; hardened parse).
 * Ownership: *wsdl borrows from resp.
 */
XR_API XR_NODISCARD enum xr_status xr_meta_wsdl_parse(
    const struct xr_response *resp, const char *service_code,
    const char *service_version, const struct xr_meta_limits *lim,
    struct xr_bytes *wsdl, struct xr_error *err);

/* ---- getSecurityServerOperationalData ----------------------------------- */

/* Integer fields of a record (milliseconds for *_TS but MONITORING_DATA_TS,
 * which is seconds). */
enum xr_opmon_num {
    XR_OPMON_MONITORING_DATA_TS,
    XR_OPMON_REQUEST_IN_TS,
    XR_OPMON_REQUEST_OUT_TS,
    XR_OPMON_RESPONSE_IN_TS,
    XR_OPMON_RESPONSE_OUT_TS,
    XR_OPMON_REQUEST_SIZE,
    XR_OPMON_REQUEST_MIME_SIZE,
    XR_OPMON_REQUEST_ATTACHMENT_COUNT,
    XR_OPMON_RESPONSE_SIZE,
    XR_OPMON_RESPONSE_MIME_SIZE,
    XR_OPMON_RESPONSE_ATTACHMENT_COUNT,
    XR_OPMON_STATUS_CODE,
    XR_OPMON_NUM_COUNT
};

/* Text fields of a record (at most 255 characters, faultString 2048). */
enum xr_opmon_str {
    XR_OPMON_SECURITY_SERVER_INTERNAL_IP,
    XR_OPMON_SECURITY_SERVER_TYPE, /* "Client" or "Producer" */
    XR_OPMON_CLIENT_XROAD_INSTANCE,
    XR_OPMON_CLIENT_MEMBER_CLASS,
    XR_OPMON_CLIENT_MEMBER_CODE,
    XR_OPMON_CLIENT_SUBSYSTEM_CODE,
    XR_OPMON_SERVICE_XROAD_INSTANCE,
    XR_OPMON_SERVICE_MEMBER_CLASS,
    XR_OPMON_SERVICE_MEMBER_CODE,
    XR_OPMON_SERVICE_SUBSYSTEM_CODE,
    XR_OPMON_SERVICE_CODE,
    XR_OPMON_SERVICE_VERSION,
    XR_OPMON_REST_METHOD,
    XR_OPMON_REST_PATH,
    XR_OPMON_REPRESENTED_PARTY_CLASS,
    XR_OPMON_REPRESENTED_PARTY_CODE,
    XR_OPMON_MESSAGE_ID,
    XR_OPMON_MESSAGE_USER_ID,
    XR_OPMON_MESSAGE_ISSUE,
    XR_OPMON_MESSAGE_PROTOCOL_VERSION,
    XR_OPMON_CLIENT_SECURITY_SERVER_ADDRESS,
    XR_OPMON_SERVICE_SECURITY_SERVER_ADDRESS,
    XR_OPMON_FAULT_CODE,
    XR_OPMON_FAULT_STRING,
    XR_OPMON_SERVICE_TYPE,
    XR_OPMON_XROAD_VERSION,
    XR_OPMON_X_REQUEST_ID,
    XR_OPMON_STR_COUNT
};

/* The JSON name of a field ("requestInTs", "messageId", ...). Static. */
XR_API const char *xr_opmon_num_name(enum xr_opmon_num f);
XR_API const char *xr_opmon_str_name(enum xr_opmon_str f);

/*
 * One operational data record. Absent fields (not sent, or null): the
 * bit (1u << field) clear in has_num / str[field] NULL / has_succeeded
 * false. Strings are owned by the result.
 */
struct xr_opmon_record {
    uint32_t has_num;
    int64_t num[XR_OPMON_NUM_COUNT]; /* >= 0 */
    const char *str[XR_OPMON_STR_COUNT];
    bool has_succeeded;
    bool succeeded;
};

struct xr_opmon_result;

/*
 * Read a judged getSecurityServerOperationalDataResponse: recordsCount,
 * records (cid: reference to an attachment), nextRecordsFrom; the
 * attachment (application/gzip, decompressed within max_bytes; or plain
 * application/json) holds {"records": [...]}. Every known field is
 * checked against the protocol's JSON schema (types, ranges, lengths,
 * securityServerType's values); unknown fields are skipped (the protocol
 * grows), a repeated field is refused. recordsCount must equal the
 * number of records.
 * Ownership: *out new (xr_opmon_result_free()); resp borrowed.
 */
XR_API XR_NODISCARD enum xr_status xr_opmon_parse(
    const struct xr_response *resp, const struct xr_meta_limits *lim,
    struct xr_opmon_result **out, struct xr_error *err);

/* The JSON payload alone ({"records": [...]}), as xr_opmon_parse() reads
 * it after decompression (for tests and fuzzing). */
XR_API XR_NODISCARD enum xr_status xr_opmon_records_parse(
    const uint8_t *json, size_t len, const struct xr_meta_limits *lim,
    struct xr_opmon_result **out, struct xr_error *err);

XR_API void xr_opmon_result_free(struct xr_opmon_result *r);
XR_API size_t xr_opmon_result_count(const struct xr_opmon_result *r);
/* Ownership: get0, valid until the result is freed. */
XR_API const struct xr_opmon_record *xr_opmon_result_get(
    const struct xr_opmon_result *r, size_t i);
/* nextRecordsFrom of the answer: true and *out when present. */
XR_API bool xr_opmon_result_next(const struct xr_opmon_result *r, int64_t *out);

/* The record's client / service as identifiers; false when the record
 * lacks instance, class or code, or a part does not fit. */
XR_API bool xr_opmon_record_client(const struct xr_opmon_record *rec,
                                   struct xr_id *out);
XR_API bool xr_opmon_record_service(const struct xr_opmon_record *rec,
                                    struct xr_id *out);

/* ---- reading requests (a security server's side) ----------------------- */

/*
 * Check the Body wrapper of a listMethods / allowedMethods request: the
 * element of `kind` in the X-Road namespace, without element children.
 */
XR_API XR_NODISCARD enum xr_status xr_meta_methods_request_parse(
    const xmlNode *wrapper, enum xr_meta_kind kind, struct xr_error *err);

/* A getWsdl request's service code and version ("" when absent). */
struct xr_wsdl_request {
    char service_code[XR_ID_PART_MAX + 1];
    char service_version[XR_ID_PART_MAX + 1];
};
XR_API XR_NODISCARD enum xr_status xr_meta_wsdl_request_parse(
    const xmlNode *wrapper, struct xr_wsdl_request *out, struct xr_error *err);

/* A getSecurityServerOperationalData request. Field names are kept as
 * given (check them with xr_opmon_field_is_known()). */
struct xr_opmon_request {
    int64_t records_from;
    int64_t records_to;
    bool has_client;
    struct xr_id client;
    size_t nfields;
    char fields[XR_OPMON_FIELD_MAX][64];
};
XR_API XR_NODISCARD enum xr_status xr_opmon_request_parse(
    const xmlNode *wrapper, struct xr_opmon_request *out, struct xr_error *err);

#ifdef __cplusplus
}
#endif
#endif

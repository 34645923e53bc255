/*
 * Fuzz target for the VTJ answer decoder (adapter/services/vtj_decode.c).
 *
 * The input is parsed as XML without network access or DTD (as libxroad
 * does), then the SOAP Body's element child (or the root element when the
 * input is not an envelope) goes through vtj_decode() with and without the
 * redaction policy, the JSON form is built and serialised, and
 * vtj_schema_decode() sees the same element. Any crash, leak or sanitizer
 * report is a bug; decoding errors are expected.
 *
 * The first bytes of the input (up to the first NUL, at most 256) are also
 * used as a hetu, a SATU and as request field values: hetu/SATU validation
 * must not crash, and every request body that vtj_request_body() accepts
 * must be well-formed XML (otherwise the target aborts).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "services/hetu.h"
#include "services/vtj.h"

#include "../common/tv_xml.h"

#define FUZZ_MAX_BYTES (1024u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void run(xmlNodePtr wrapper, const struct vtj_policy *policy)
{
    struct vtj_result *r = NULL;
    struct xr_error err;
    json_t *j;
    char *s;

    if (vtj_decode(wrapper, policy, &r, &err) != XR_OK)
        return;
    /* Exercise every accessor. */
    (void)vtj_outcome_name(vtj_result_outcome(r));
    (void)vtj_result_return_code(r);
    (void)vtj_result_return_text(r);
    (void)vtj_result_new_hetu(r);
    (void)vtj_result_product(r);
    (void)vtj_result_hetu(r);
    (void)vtj_result_turvakielto(r);
    (void)vtj_result_is_retryable(r);
    j = vtj_result_to_json(r);
    if (j) {
        s = json_dumps(j, JSON_COMPACT);
        free(s);
        json_decref(j);
    }
    {
        struct vtj_query prev, next;
        struct vtj_policy follow = {false, true, NULL, NULL};
        memset(&prev, 0, sizeof(prev));
        prev.hetu = "010101-9999";
        (void)vtj_result_follow_up(r, &follow, &prev, &next);
    }
    vtj_result_free(r);
}

/* Request side: validation, escaping and well-formedness. */
static void request_side(const uint8_t *data, size_t size)
{
    static const struct vtj_credentials cred = {"FUZZUSER", "fuzz&<pw>"};
    char text[257];
    size_t n = size < 256 ? size : 256;
    struct vtj_query q;
    struct xr_error err;
    char *xml = NULL;
    size_t len = 0;
    xmlDocPtr doc;

    memcpy(text, data, n);
    text[n] = '\0';
    (void)hetu_validate(text, NULL);
    (void)hetu_satu_validate(text, NULL);
    memset(&q, 0, sizeof(q));
    q.product = text;
    q.end_user = text;
    q.billing = text;
    q.hetu = "010181-900C";
    if (vtj_request_body(&q, &cred, &xml, &len, &err) != XR_OK)
        return;
    doc = xmlReadMemory(xml, (int)len, NULL, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING);
    if (!doc)
        __builtin_trap(); /* an accepted value broke the document */
    xmlFreeDoc(doc);
    vtj_body_free(xml, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct vtj_policy plain = {false, false, NULL, NULL};
    static const struct vtj_policy strict = {true, true, "260991-999R", NULL};
    xmlDocPtr doc;
    xmlNodePtr wrapper;
    char *xsd = NULL;
    size_t len = 0;
    struct xr_error err;

    if (size > FUZZ_MAX_BYTES)
        return 0;
    xmlSetGenericErrorFunc(NULL, quiet);
    request_side(data, size);
    doc = xmlReadMemory((const char *)data, (int)size, NULL, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING);
    if (!doc)
        return 0;
    if (doc->intSubset) {
        xmlFreeDoc(doc);
        return 0;
    }
    wrapper = tv_wrapper(doc);
    run(wrapper, &plain);
    run(wrapper, &strict);
    if (vtj_schema_decode(wrapper, &xsd, &len, &err) == XR_OK)
        free(xsd);
    xmlFreeDoc(doc);
    return 0;
}

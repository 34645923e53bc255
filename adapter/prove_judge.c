/*
 * The judgement of a proof (prove.h): pure functions of the facts, and
 * their JSON.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "prove.h"

#define BODY_HINT                                                        \
    "the security server logs messages without their body "              \
    "(message-log.message-body-logging=false, the Finnish package's "    \
    "default): enable body logging for the subsystems concerned "        \
    "(enabled-body-logging-remote-producer-subsystems for the services " \
    "you call) or message-body-logging=true; see docs/verify.md"

const char *adp_prove_verdict_name(enum adp_prove_verdict v)
{
    static const char *const names[ADP_PROVE_VERDICTS] = {
        "proven",
        "not_in_audit",
        "no_response_in_audit",
        "missing_container",
        "not_timestamped",
        "invalid_container",
        "wrong_signer",
        "request_differs",
        "response_differs",
        "fetch_failed"};

    return (unsigned)v < ADP_PROVE_VERDICTS ? names[v] : "fetch_failed";
}

__attribute__((format(printf, 4, 5))) static void set(
    struct adp_prove_result *out, enum adp_prove_verdict v, const char *code,
    const char *fmt, ...)
{
    va_list ap;

    out->verdict = v;
    snprintf(out->code, sizeof(out->code), "%s", code ? code : "");
    va_start(ap, fmt);
    vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
    va_end(ap);
}

static bool digest_equal(const uint8_t *data, size_t len, const uint8_t *want)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;

    if (!want || !EVP_Digest(data, len, md, &mdlen, EVP_sha512(), NULL) ||
        mdlen != ADP_AUDIT_SHA512_LEN)
        return false;
    return CRYPTO_memcmp(md, want, ADP_AUDIT_SHA512_LEN) == 0;
}

/*
 * One side: the first thing wrong with it sets the verdict. Returns
 * true when the side is proven.
 */
static bool judge_side(const struct adp_prove_evidence *e, const uint8_t *want,
                       const struct xr_id *signer, bool response,
                       struct adp_prove_side *s, struct adp_prove_result *out)
{
    const char *side = response ? "response" : "request";
    enum adp_prove_verdict differs =
        response ? ADP_PROVE_RESPONSE_DIFFERS : ADP_PROVE_REQUEST_DIFFERS;

    switch (e->fetch) {
    case ADP_FETCH_OK:
        break;
    case ADP_FETCH_NOT_FOUND:
        set(out, ADP_PROVE_MISSING_CONTAINER, "not_found",
            "the security server has no signed %s container for this "
            "query (%s)",
            side, e->fetch_msg);
        return false;
    case ADP_FETCH_NOT_TIMESTAMPED:
        set(out, ADP_PROVE_NOT_TIMESTAMPED, "not_timestamped",
            "the %s is not time-stamped yet; try again after the next "
            "time-stamping batch (%s)",
            side, e->fetch_msg);
        return false;
    case ADP_FETCH_DENIED:
    case ADP_FETCH_BAD_PARAMS:
    case ADP_FETCH_ENCRYPTED:
    case ADP_FETCH_TOO_LARGE:
    case ADP_FETCH_SERVER_ERROR:
    case ADP_FETCH_UNREACHABLE:
        set(out, ADP_PROVE_FETCH_FAILED, adp_fetch_status_name(e->fetch),
            "the %s container could not be downloaded: %s", side, e->fetch_msg);
        return false;
    }
    s->checked = true;
    s->valid = e->valid;
    s->signer_ok = e->signer && signer && xr_id_equal(e->signer, signer);
    s->digest_match = digest_equal(e->message, e->message_len, want);
    if (!e->valid && e->code && !strcmp(e->code, "message_body_not_logged")) {
        set(out, differs, e->code,
            "the signed %s the security server logged is not the message "
            "sent (its body was not logged): %s",
            side, e->msg);
        snprintf(out->hint, sizeof(out->hint), "%s", BODY_HINT);
        return false;
    }
    if (!e->valid) {
        set(out, ADP_PROVE_INVALID_CONTAINER, e->code,
            "the %s container does not verify: %s", side, e->msg);
        return false;
    }
    if (!s->signer_ok) {
        char want_id[XR_ID_TEXT_MAX] = "?", got[XR_ID_TEXT_MAX] = "?";
        char both[2 * XR_ID_TEXT_MAX + 32];
        if (signer)
            xr_id_format(signer, true, want_id, sizeof(want_id));
        if (e->signer)
            xr_id_format(e->signer, true, got, sizeof(got));
        snprintf(both, sizeof(both), "%s, expected %s", got, want_id);
        set(out, ADP_PROVE_WRONG_SIGNER, "wrong_signer",
            "the %s is signed by %s", side, both);
        return false;
    }
    if (!s->digest_match) {
        set(out, differs, "digest_mismatch",
            "the signed %s is not the one the audit store recorded "
            "(SHA-512 differs)",
            side);
        return false;
    }
    return true;
}

void adp_prove_judge(const struct adp_prove_input *in,
                     struct adp_prove_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!in->in_audit) {
        set(out, ADP_PROVE_NOT_IN_AUDIT, "",
            "no audited query has this message id");
        return;
    }
    if (!in->response_sha512) {
        set(out, ADP_PROVE_NO_RESPONSE_IN_AUDIT, "",
            "the audit store recorded no response bytes for this query");
        return;
    }
    if (!judge_side(&in->req, in->request_sha512, in->client, false, &out->req,
                    out))
        return;
    if (!judge_side(&in->resp, in->response_sha512, in->provider, true,
                    &out->resp, out))
        return;
    set(out, ADP_PROVE_PROVEN, "",
        "request and response are signed, time-stamped and equal to the "
        "audit record");
}

static json_t *side_json(const struct adp_prove_side *s)
{
    if (!s->checked)
        return json_null();
    return json_pack("{sbsbsb}", "valid", s->valid, "signer_ok", s->signer_ok,
                     "digest_match", s->digest_match);
}

json_t *adp_prove_json(const char *message_id, const struct adp_prove_result *r)
{
    return json_pack("{s:s, s:s, s:b, s:s?, s:s, s:s?, s:o, s:o}", "message_id",
                     message_id, "verdict", adp_prove_verdict_name(r->verdict),
                     "proven", r->verdict == ADP_PROVE_PROVEN, "code",
                     r->code[0] ? r->code : NULL, "detail", r->detail, "hint",
                     r->hint[0] ? r->hint : NULL, "request", side_json(&r->req),
                     "response", side_json(&r->resp));
}

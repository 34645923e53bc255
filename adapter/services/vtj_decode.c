/*
 * Decoding VTJkysely answers (vtj.h): vtj_decode(), which reads the
 * answer's parts, classifies its return code, checks that it is about the
 * subject asked for and maps the person data to the stable JSON form
 * documented in docs/api.md; vtj_schema_decode(); the accessors of a
 * result. The other parts of the decoder: vtj_internal.h.
 *
 * Rules (docs/vtj.md §3, §5, §7): elements are matched by namespace
 * and local name only; unknown elements are ignored; empty elements are
 * absent; values are trimmed; dates become ISO 8601; repeated groups whose
 * identifying field is empty are dropped; a single-valued element that
 * appears twice makes the answer invalid (never guess which one is meant).
 *
 * Every loop over the document is bounded: VTJ_CHILD_MAX children per
 * element, VTJ_GROUP_MAX items per repeated group, VTJ_VALUE_MAX bytes per
 * value. Recursion depth is fixed by the static tables (vtj_plan.c), not
 * by the input.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "services/hetu.h"
#include "services/vtj_internal.h"

/* ---- Decoding --------------------------------------------------------- */

/* Everything but the value buffer, which is written before it is read. */
static void dctx_init(struct dctx *c, struct xr_error *err)
{
    c->doc = NULL;
    c->warnings = NULL;
    c->err = err;
    c->plan = NULL;
    memset(c->ns, 0, sizeof(c->ns));
}

/*
 * Copy src for an operator message: at most size - 1 bytes, anything that
 * is not printable ASCII replaced with '?' (no log injection).
 */
static const char *printable(const char *src, char *dst, size_t size)
{
    size_t i = 0;

    if (size == 0)
        return "";
    for (; src && src[i] && i + 1 < size; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = ch >= 0x20u && ch < 0x7Fu ? (char)ch : '?';
    }
    dst[i] = '\0';
    return dst;
}

/* Trimmed text of the single child `name` (namespace vtjkysely/1). */
static enum xr_status ws_child_text(struct dctx *c, const xmlNode *parent,
                                    const char *name, char **out)
{
    const xmlNode *child = NULL;
    enum xr_status rc;

    *out = NULL;
    rc = vtj__find_child(c, parent, NS_WS, name, &child);
    if (rc != XR_OK || !child)
        return rc;
    return vtj__elem_text(child, out, c->err);
}

static enum xr_status dup_str(const char *s, char **out, struct xr_error *err)
{
    *out = NULL;
    if (!s)
        return XR_OK;
    *out = strdup(s);
    return *out ? XR_OK : vtj__oom(err);
}

/* Turvakielto of a Henkilo element into person JSON and *state. */
static enum xr_status turvakielto(struct scan *henkilo, struct jd_node *person,
                                  enum vtj_turvakielto *state, struct dctx *c)
{
    char buf[VTJ_VALUE_MAX + 1u];
    const xmlNode *tk = NULL, *tieto = NULL;
    struct scan s;
    struct jobj o = {person, NULL};
    struct span value = {NULL, 0};
    struct jd_node *flag = NULL;
    enum xr_status rc;

    *state = VTJ_TURVAKIELTO_UNKNOWN;
    rc = vtj__scan_get(henkilo, "Turvakielto", &tk, c);
    if (rc != XR_OK)
        return rc;
    if (tk) {
        vtj__scan_open(&s, c->plan->turvakielto, tk, c);
        rc = vtj__scan_get(&s, "TurvakieltoTieto", &tieto, c);
        if (rc == XR_OK && tieto)
            rc = vtj__list_span(tieto->children, xs(tieto->name), buf, &value,
                                c->err);
        if (rc != XR_OK)
            return rc;
        if (!tieto) {
            /* A Turvakielto without its value says nothing: unknown, which
             * consumers treat as protected (docs/vtj.md §6). */
            rc = vtj__warn(c, "missing_value", "turvakielto");
            if (rc != XR_OK)
                return rc;
        } else if (value.len == 0 || span_is(&value, "0")) {
            *state = VTJ_TURVAKIELTO_NONE;
        } else {
            /* "1", and fail closed on any other non-empty value. */
            *state = VTJ_TURVAKIELTO_PROTECTED;
            if (!span_is(&value, "1")) {
                rc = vtj__warn(c, "unexpected_value", "turvakielto");
                if (rc != XR_OK)
                    return rc;
            }
        }
    }
    switch (*state) {
    case VTJ_TURVAKIELTO_UNKNOWN:
        flag = jd_null();
        break;
    case VTJ_TURVAKIELTO_NONE:
        flag = jd_bool(false);
        break;
    case VTJ_TURVAKIELTO_PROTECTED:
        flag = jd_bool(true);
        break;
    }
    if (jd_set(c->doc, person, "turvakielto", flag) != 0)
        return vtj__oom(c->err);
    if (tk)
        return vtj__emit_fields(&o, &s, c);
    return XR_OK;
}

/* The search keys echoed in Hakuperusteet. */
struct keys {
    char *hetu; /* owned: Hakuperusteet/Henkilotunnus text */
    char *satu; /* owned */
    bool any0;  /* some key: not found */
    bool any2;  /* some key: passive */
    bool any3;  /* some key: too many matches */
};

static void keys_cleanup(struct keys *k)
{
    free(k->hetu);
    free(k->satu);
    k->hetu = k->satu = NULL;
}

static enum xr_status search_keys(const xmlNode *hp, struct jobj *top,
                                  struct keys *k, struct dctx *c)
{
    char buf[VTJ_VALUE_MAX + 1u];
    unsigned seen = 0;
    char *value = NULL;
    enum xr_status rc = XR_OK;

    for (const xmlNode *n = hp->children; n; n = n->next) {
        const char *type;
        char **slot;
        struct span code;
        struct scan s;
        struct jobj item = {NULL, NULL};

        if (++seen > VTJ_CHILD_MAX)
            return vtj__too_many(c->err, "Hakuperusteet");
        if (is_el(c, n, NS_MSG, "Henkilotunnus")) {
            type = "hetu";
            slot = &k->hetu;
        } else if (is_el(c, n, NS_MSG, "SahkoinenAsiointitunnus")) {
            type = "satu";
            slot = &k->satu;
        } else {
            continue;
        }
        if (*slot)
            return xr_error_set(c->err, XR_EPROTO, "duplicate_element",
                                xs(n->name),
                                "search key %s appears more than once", type);
        if ((rc = vtj__elem_text(n, &value, c->err)) != XR_OK ||
            (rc = vtj__attr_span(n, "hakuperustePaluukoodi", buf, &code,
                                 c->err)) != XR_OK)
            goto out;
        if (span_is(&code, "0"))
            k->any0 = true;
        if (span_is(&code, "2"))
            k->any2 = true;
        if (span_is(&code, "3"))
            k->any3 = true;
        item.obj = jd_object(c->doc);
        if (!item.obj ||
            jd_set(c->doc, item.obj, "type", jd_lit(c->doc, type)) != 0 ||
            (value && jd_set(c->doc, item.obj, "value",
                             jd_string(c->doc, value, strlen(value))) != 0) ||
            (code.len > 0 &&
             jd_set(c->doc, item.obj, "result_code",
                    jd_string(c->doc, code.p, code.len)) != 0)) {
            rc = vtj__oom(c->err);
            goto out;
        }
        vtj__scan_open(&s, c->plan->search_key, n, c);
        rc = vtj__emit_fields(&item, &s, c);
        if (rc != XR_OK)
            goto out;
        rc = vtj__append_item(top, "search_keys", item.obj, c);
        if (rc != XR_OK)
            goto out;
        /* An empty key is remembered as "" so duplicates are still seen. */
        *slot = value ? value : strdup("");
        value = NULL;
        if (!*slot) {
            rc = vtj__oom(c->err);
            goto out;
        }
    }
    rc = XR_OK;
out:
    free(value);
    return rc;
}

static bool given(const char *s)
{
    return s && s[0] != '\0';
}

static enum xr_status mismatch(struct xr_error *err, const char *what)
{
    return xr_error_set(err, XR_EPROTO, "subject_mismatch", "",
                        "the answer is about another subject than the query "
                        "(%s)",
                        what);
}

void vtj_result_free(struct vtj_result *r)
{
    if (!r)
        return;
    free(r->return_code);
    free(r->return_text);
    free(r->new_hetu);
    free(r->product);
    free(r->hetu);
    jd_free(r->doc);
    free(r);
}

/* What vtj_decode() has read of the answer so far. */
struct answer {
    const xmlNode *henkilo;   /* VTJHenkiloVastaussanoma/Henkilo, or NULL */
    char *echo_hetu;          /* owned: request/Henkilotunnus */
    char *echo_satu;          /* owned: request/SahkoinenAsiointitunnus */
    struct keys keys;         /* owned: the search keys of Hakuperusteet */
    const char *queried_hetu; /* borrowed: the subject asked for */
    const char *queried_satu; /* borrowed */
};

static void answer_cleanup(struct answer *ans)
{
    keys_cleanup(&ans->keys);
    free(ans->echo_hetu);
    free(ans->echo_satu);
    ans->echo_hetu = ans->echo_satu = NULL;
}

/* The wrapper's response element (*response) and its request echo. */
static enum xr_status read_echo(struct dctx *c, const xmlNode *wrapper,
                                struct answer *ans, const xmlNode **response)
{
    const xmlNode *request = NULL;
    enum xr_status rc;

    if ((rc = vtj__find_child(c, wrapper, NS_WS, "request", &request)) !=
            XR_OK ||
        (rc = vtj__find_child(c, wrapper, NS_WS, "response", response)) !=
            XR_OK)
        return rc;
    if (!*response)
        return xr_error_set(c->err, XR_EPROTO, "not_vtj_response", "response",
                            "the VTJ answer has no response element");
    if (request) {
        if ((rc = ws_child_text(c, request, "Henkilotunnus",
                                &ans->echo_hetu)) != XR_OK ||
            (rc = ws_child_text(c, request, "SahkoinenAsiointitunnus",
                                &ans->echo_satu)) != XR_OK)
            return rc;
    }
    return XR_OK;
}

/*
 * The return code and text: from response/faultCode, or from the message's
 * Paluukoodi, in which case the message's own fields go into top and its
 * search keys and Henkilo element into ans.
 */
static enum xr_status read_code(struct dctx *c, const xmlNode *response,
                                struct vtj_result *r, struct jobj *top,
                                struct answer *ans)
{
    const xmlNode *fcode = NULL, *fstring = NULL, *msg = NULL;
    const xmlNode *palu = NULL, *hp = NULL;
    struct scan msg_scan;
    enum xr_status rc;

    if ((rc = vtj__find_child(c, response, NS_WS, "faultCode", &fcode)) !=
            XR_OK ||
        (rc = vtj__find_child(c, response, NS_WS, "faultString", &fstring)) !=
            XR_OK ||
        (rc = vtj__find_child(c, response, NS_MSG, "VTJHenkiloVastaussanoma",
                              &msg)) != XR_OK)
        return rc;
    if (fcode && msg)
        return xr_error_set(c->err, XR_EPROTO, "inconsistent_response", "",
                            "the VTJ answer has both a faultCode and a "
                            "VTJHenkiloVastaussanoma");
    if (!fcode && !msg)
        return xr_error_set(c->err, XR_EPROTO, "not_vtj_response", "response",
                            "the VTJ answer has neither a faultCode nor a "
                            "VTJHenkiloVastaussanoma");
    if (fcode) {
        r->from_fault = true;
        if ((rc = vtj__elem_text(fcode, &r->return_code, c->err)) != XR_OK)
            return rc;
        if (fstring)
            return vtj__elem_text(fstring, &r->return_text, c->err);
        return XR_OK;
    }
    vtj__scan_open(&msg_scan, c->plan->message, msg, c);
    if ((rc = vtj__group_object_root(&msg_scan, top->obj, c)) != XR_OK)
        return rc;
    if ((rc = vtj__scan_get(&msg_scan, "Paluukoodi", &palu, c)) != XR_OK ||
        (rc = vtj__scan_get(&msg_scan, "Hakuperusteet", &hp, c)) != XR_OK ||
        (rc = vtj__scan_get(&msg_scan, "Henkilo", &ans->henkilo, c)) != XR_OK)
        return rc;
    if (palu) {
        if ((rc = vtj__attr_text(palu, "koodi", &r->return_code, c->err)) !=
                XR_OK ||
            (rc = vtj__elem_text(palu, &r->return_text, c->err)) != XR_OK)
            return rc;
    }
    if (hp)
        return search_keys(hp, top, &ans->keys, c);
    return XR_OK;
}

/* Outcome, retry rule and warnings of the return code and search keys. */
static enum xr_status classify(struct dctx *c, struct vtj_result *r,
                               const struct answer *ans)
{
    const struct code_map *map;
    enum xr_status rc;

    if (!r->return_code)
        return xr_error_set(c->err, XR_EPROTO, "missing_return_code", "",
                            "the VTJ answer has no return code");
    vtj__sanitize_code(r->return_code);
    map = vtj__code_lookup(r->return_code);
    vtj__apply_code(r, map);
    if (map && map->warning && (rc = vtj__warn(c, map->warning, NULL)) != XR_OK)
        return rc;
    /* Paluukoodi 0000 with a search key that did not match. */
    if (!r->from_fault && r->outcome == VTJ_OUTCOME_FOUND) {
        if (ans->keys.any3)
            r->outcome = VTJ_OUTCOME_REQUEST_ERROR;
        else if (ans->keys.any2)
            r->outcome = VTJ_OUTCOME_PASSIVATED;
        else if (ans->keys.any0 && !ans->henkilo)
            r->outcome = VTJ_OUTCOME_NOT_FOUND;
        if (ans->keys.any3 &&
            (rc = vtj__warn(c, "too_many_matches", NULL)) != XR_OK)
            return rc;
    }
    if (vtj_outcome_is_found(r->outcome) && !ans->henkilo)
        return xr_error_set(c->err, XR_EPROTO, "inconsistent_response",
                            "Henkilo", "return code %s without person data",
                            r->outcome == VTJ_OUTCOME_UNDER_15 ? "0018"
                                                               : "0000");
    return XR_OK;
}

/* Which subject was asked for (the caller's word first); the echoes in
 * the answer must name the same one. */
static enum xr_status check_subject(struct dctx *c,
                                    const struct vtj_policy *policy,
                                    struct answer *ans)
{
    const char *hetu, *satu;

    hetu = given(policy->expected_hetu) ? policy->expected_hetu
           : given(ans->echo_hetu)      ? ans->echo_hetu
                                        : ans->keys.hetu;
    satu = given(policy->expected_satu) ? policy->expected_satu
           : given(ans->echo_satu)      ? ans->echo_satu
                                        : ans->keys.satu;
    ans->queried_hetu = hetu;
    ans->queried_satu = satu;
    if (given(hetu) && given(ans->echo_hetu) &&
        strcmp(hetu, ans->echo_hetu) != 0)
        return mismatch(c->err, "request echo");
    if (given(hetu) && given(ans->keys.hetu) &&
        strcmp(hetu, ans->keys.hetu) != 0)
        return mismatch(c->err, "search key echo");
    if (given(satu) && given(ans->echo_satu) &&
        strcmp(satu, ans->echo_satu) != 0)
        return mismatch(c->err, "request echo");
    if (given(satu) && given(ans->keys.satu) &&
        strcmp(satu, ans->keys.satu) != 0)
        return mismatch(c->err, "search key echo");
    return XR_OK;
}

/*
 * The person's identifiers against the subject asked for. Another hetu is
 * accepted only in a passivated answer: it is the successor, r->new_hetu.
 */
static enum xr_status check_person(struct dctx *c, const struct answer *ans,
                                   struct vtj_result *r,
                                   const struct jd_node *person)
{
    enum xr_status rc;

    if (given(ans->queried_hetu) && given(r->hetu) &&
        strcmp(ans->queried_hetu, r->hetu) != 0) {
        if (r->outcome != VTJ_OUTCOME_PASSIVATED)
            return mismatch(c->err, "person");
        if (hetu_validate(r->hetu, NULL)) {
            rc = dup_str(r->hetu, &r->new_hetu, c->err);
            if (rc != XR_OK)
                return rc;
        } else if ((rc = vtj__warn(c, "invalid_value", "new_hetu")) != XR_OK) {
            return rc;
        }
    }
    if (given(ans->queried_satu) && !given(ans->queried_hetu)) {
        const char *ps = jd_str(jd_get(person, "satu"));
        if (given(ps) && strcmp(ps, ans->queried_satu) != 0 &&
            r->outcome != VTJ_OUTCOME_PASSIVATED)
            return mismatch(c->err, "person");
    }
    return XR_OK;
}

/*
 * The person JSON of the Henkilo element, with r's turvakielto and hetu;
 * addresses removed when the policy asks for it and a turvakielto may
 * apply. Ownership: *out is new, the caller's.
 */
static enum xr_status decode_person(struct dctx *c,
                                    const struct vtj_policy *policy,
                                    const struct answer *ans,
                                    struct vtj_result *r, struct jd_node **out)
{
    struct scan henkilo_scan;
    struct jd_node *person = NULL;
    enum xr_status rc;

    *out = NULL;
    person = jd_object(c->doc);
    if (!person)
        return vtj__oom(c->err);
    vtj__scan_open(&henkilo_scan, c->plan->person, ans->henkilo, c);
    if ((rc = vtj__group_object_root(&henkilo_scan, person, c)) != XR_OK ||
        (rc = turvakielto(&henkilo_scan, person, &r->turvakielto, c)) !=
            XR_OK ||
        (rc = dup_str(jd_str(jd_get(person, "hetu")), &r->hetu, c->err)) !=
            XR_OK ||
        (rc = check_person(c, ans, r, person)) != XR_OK)
        return rc;
    if (policy->redact_protected_addresses &&
        r->turvakielto != VTJ_TURVAKIELTO_NONE) {
        (void)jd_del(person, "addresses");
        (void)jd_del(person, "dwelling_id");
        (void)jd_del(person, "municipality");
        if (jd_set(c->doc, person, "addresses_redacted", jd_bool(true)) != 0)
            return vtj__oom(c->err);
        r->redacted = true;
    }
    *out = person;
    return XR_OK;
}

enum xr_status vtj_decode(xmlNodePtr wrapper, const struct vtj_policy *policy,
                          struct vtj_result **out, struct xr_error *err)
{
    static const struct vtj_policy defaults = {false, false, NULL, NULL};
    struct vtj_result *r = NULL;
    struct answer ans;
    struct dctx c; /* dctx_init() below */
    const xmlNode *response = NULL;
    struct jobj top_o = {NULL, NULL};
    struct jd_node *top = NULL, *person = NULL;
    enum xr_status rc;

    dctx_init(&c, err);
    memset(&ans, 0, sizeof(ans));
    if (out)
        *out = NULL;
    if (!policy)
        policy = &defaults;
    if (!wrapper || !out) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                          "no body element given");
        goto out;
    }
    c.plan = vtj__plan();
    if (!c.plan) {
        rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                          "the VTJ mapping tables exceed the decoder's "
                          "capacities");
        goto out;
    }
    if (!is_el(&c, wrapper, NS_WS, "HenkilonTunnusKyselyResponse")) {
        char ns[81], name[65];
        rc = xr_error_set(err, XR_EPROTO, "not_vtj_response", "",
                          "the body element {%s}%s is not a VTJ "
                          "HenkilonTunnusKyselyResponse",
                          printable(wrapper->ns ? xs(wrapper->ns->href) : NULL,
                                    ns, sizeof(ns)),
                          printable(xs(wrapper->name), name, sizeof(name)));
        goto out;
    }
    r = calloc(1, sizeof(*r));
    c.doc = r ? jd_new() : NULL;
    if (r)
        r->doc = c.doc; /* the result owns the document */
    /* top becomes the JSON form (vtj__assemble()) */
    top = c.doc ? jd_object(c.doc) : NULL;
    if (!r || !top || vtj__insert_header(&c, top) != 0) {
        rc = vtj__oom(err);
        goto out;
    }
    top_o.obj = top;
    r->turvakielto = VTJ_TURVAKIELTO_UNKNOWN;
    if ((rc = read_echo(&c, wrapper, &ans, &response)) != XR_OK ||
        (rc = read_code(&c, response, r, &top_o, &ans)) != XR_OK ||
        (rc = classify(&c, r, &ans)) != XR_OK ||
        (rc = check_subject(&c, policy, &ans)) != XR_OK)
        goto out;
    if (ans.henkilo && vtj__outcome_has_person(r->outcome) &&
        (rc = decode_person(&c, policy, &ans, r, &person)) != XR_OK)
        goto out;
    rc = dup_str(jd_str(jd_get(top, "product")), &r->product, err);
    if (rc != XR_OK)
        goto out;
    rc = vtj__assemble(r, &c, top, person);
    if (rc != XR_OK)
        goto out;
    r->json = top;
    *out = r;
    r = NULL; /* ownership moved to the caller */
    rc = XR_OK;
out:
    answer_cleanup(&ans);
    vtj_result_free(r); /* and the document, on failure */
    return rc;
}

/* ---- Accessors -------------------------------------------------------- */

enum vtj_outcome vtj_result_outcome(const struct vtj_result *r)
{
    return r->outcome;
}

const char *vtj_result_return_code(const struct vtj_result *r)
{
    return r->return_code;
}

bool vtj_result_is_fault_code(const struct vtj_result *r)
{
    return r->from_fault;
}

const char *vtj_result_return_text(const struct vtj_result *r)
{
    return r->return_text;
}

const char *vtj_result_new_hetu(const struct vtj_result *r)
{
    return r->new_hetu;
}

bool vtj_result_is_retryable(const struct vtj_result *r)
{
    return r->retryable;
}

const char *vtj_result_product(const struct vtj_result *r)
{
    return r->product;
}

const char *vtj_result_hetu(const struct vtj_result *r)
{
    return r->hetu;
}

enum vtj_turvakielto vtj_result_turvakielto(const struct vtj_result *r)
{
    return r->turvakielto;
}

bool vtj_result_addresses_redacted(const struct vtj_result *r)
{
    return r->redacted;
}

bool vtj_result_follow_up(const struct vtj_result *r,
                          const struct vtj_policy *policy,
                          const struct vtj_query *prev, struct vtj_query *next)
{
    if (!r || !policy || !prev || !next || !policy->follow_passivated)
        return false;
    if (r->outcome != VTJ_OUTCOME_PASSIVATED || !r->new_hetu)
        return false;
    if (given(prev->hetu) && strcmp(prev->hetu, r->new_hetu) == 0)
        return false;
    if (!hetu_validate(r->new_hetu, NULL))
        return false;
    *next = *prev;
    next->hetu = r->new_hetu;
    next->satu = NULL;
    return true;
}

void vtj_result_write_members(const struct vtj_result *r, struct jw *w)
{
    if (!r || !r->json) {
        jw_fail(w);
        return;
    }
    jd_write_members(w, r->json);
}

json_t *vtj_result_to_json(const struct vtj_result *r)
{
    if (!r || !r->json)
        return NULL;
    return jd_to_json(r->json);
}

/* ---- HaeTuotteenSkeema ------------------------------------------------ */

enum xr_status vtj_schema_decode(xmlNodePtr wrapper, char **xsd, size_t *len,
                                 struct xr_error *err)
{
    struct dctx c; /* dctx_init() below */
    const xmlNode *response = NULL, *fcode = NULL;
    xmlNodePtr schema = NULL;
    xmlBufferPtr buf = NULL;
    char *code = NULL, *text = NULL;
    unsigned seen = 0;
    enum xr_status rc;

    dctx_init(&c, err);
    *xsd = NULL;
    if (len)
        *len = 0;
    if (!wrapper || !is_el(&c, wrapper, NS_WS, "HaeTuotteenSkeemaResponse")) {
        rc = xr_error_set(err, XR_EPROTO, "not_vtj_response", "",
                          "the body element is not a "
                          "HaeTuotteenSkeemaResponse");
        goto out;
    }
    rc = vtj__find_child(&c, wrapper, NS_WS, "response", &response);
    if (rc != XR_OK)
        goto out;
    if (!response) {
        rc = xr_error_set(err, XR_EPROTO, "missing_schema", "response",
                          "the answer has no response element");
        goto out;
    }
    rc = vtj__find_child(&c, response, NS_WS, "faultCode", &fcode);
    if (rc != XR_OK)
        goto out;
    if (fcode) {
        rc = vtj__elem_text(fcode, &code, err);
        if (rc != XR_OK)
            goto out;
        if (code)
            vtj__sanitize_code(code);
        rc = xr_error_set(err, XR_EPROTO, "vtj_fault", code ? code : "",
                          "VTJ returned faultCode %s", code ? code : "(empty)");
        goto out;
    }
    for (xmlNodePtr n = response->children; n; n = n->next) {
        if (++seen > VTJ_CHILD_MAX) {
            rc = vtj__too_many(err, "response");
            goto out;
        }
        if (n->type == XML_ELEMENT_NODE) {
            schema = n;
            break;
        }
    }
    if (schema) {
        buf = xmlBufferCreate();
        if (!buf) {
            rc = vtj__oom(err);
            goto out;
        }
        if (xmlNodeDump(buf, wrapper->doc, schema, 0, 0) < 0) {
            rc = vtj__oom(err);
            goto out;
        }
        if ((size_t)xmlBufferLength(buf) > VTJ_SCHEMA_MAX) {
            rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                              "the product schema exceeds %u bytes",
                              VTJ_SCHEMA_MAX);
            goto out;
        }
        text = strndup(xs(xmlBufferContent(buf)), (size_t)xmlBufferLength(buf));
        if (!text) {
            rc = vtj__oom(err);
            goto out;
        }
    } else {
        /* Some adapters return the XSD as escaped text. */
        rc = vtj__list_text(response->children, "response", &text, err);
        if (rc != XR_OK)
            goto out;
        if (!text) {
            rc = xr_error_set(err, XR_EPROTO, "missing_schema", "response",
                              "the answer carries no schema");
            goto out;
        }
    }
    if (len)
        *len = strlen(text);
    *xsd = text;
    text = NULL; /* ownership moved to the caller */
    rc = XR_OK;
out:
    free(code);
    free(text);
    if (buf)
        xmlBufferFree(buf);
    return rc;
}

/*
 * listClients answers (meta.h): the members and subsystems of an X-Road
 * instance from global configuration, as XML (xrd:clientList, PR-META
 * Annex A) or as the snake_case JSON of PR-META's OpenAPI definition.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "xroad/meta.h"

#define CLIENTS_ITEMS_DEFAULT 100000u
#define CLIENTS_BYTES_DEFAULT (64u * 1024u * 1024u)
#define NAME_MAX_BYTES        1024u /* name, subsystemName */
#define NODES_PER_ENTRY       16u   /* member, id, 4 parts, 2 names, texts */
#define JSON_DEPTH            8u
#define JSON_KEYS_MAX         64u /* members of one JSON object */

struct xr_client_list {
    struct xr__arena arena;
    struct xr_client_entry *e;
    size_t n, cap, max;
};

void xr_client_list_free(struct xr_client_list *l)
{
    if (!l)
        return;
    xr__arena_free(&l->arena);
    free(l->e);
    free(l);
}

size_t xr_client_list_count(const struct xr_client_list *l)
{
    return l->n;
}

const struct xr_client_entry *xr_client_list_get(const struct xr_client_list *l,
                                                 size_t i)
{
    return i < l->n ? &l->e[i] : NULL;
}

bool xr_client_entry_id(const struct xr_client_entry *e, struct xr_id *out)
{
    memset(out, 0, sizeof(*out));
    out->type = e->type;
    return xr__strlcpy(out->instance, e->instance, sizeof(out->instance)) <
               sizeof(out->instance) &&
           xr__strlcpy(out->member_class, e->member_class,
                       sizeof(out->member_class)) < sizeof(out->member_class) &&
           xr__strlcpy(out->member_code, e->member_code,
                       sizeof(out->member_code)) < sizeof(out->member_code) &&
           xr__strlcpy(out->subsystem_code, e->subsystem_code,
                       sizeof(out->subsystem_code)) <
               sizeof(out->subsystem_code);
}

static enum xr_status oom(struct xr_error *err)
{
    return xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
}

/* A new zeroed entry at the end of the list. */
static enum xr_status add(struct xr_client_list *l,
                          struct xr_client_entry **out, struct xr_error *err)
{
    if (l->n >= l->max)
        return xr_error_set(err, XR_ELIMIT, "too_many", "member",
                            "more than %zu clients", l->max);
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        struct xr_client_entry *grown;
        if (ncap > l->max)
            ncap = l->max;
        grown = realloc(l->e, ncap * sizeof(*grown));
        if (!grown)
            return oom(err);
        l->e = grown;
        l->cap = ncap;
    }
    *out = &l->e[l->n++];
    memset(*out, 0, sizeof(**out));
    return XR_OK;
}

/* Keep a checked copy of s (name: clean UTF-8, at most NAME_MAX_BYTES). */
static enum xr_status keep(struct xr_client_list *l, const char *s, size_t len,
                           size_t max, const char *field, const char **out,
                           struct xr_error *err)
{
    if (len > max)
        return xr_error_set(err, XR_EPROTO,
                            max == XR_ID_PART_MAX ? "invalid_id"
                                                  : "client_list_invalid",
                            field, "%s is longer than %zu bytes", field, max);
    if (!xr__text_clean(s, len, false))
        return xr_error_set(err, XR_EPROTO,
                            max == XR_ID_PART_MAX ? "invalid_id"
                                                  : "client_list_invalid",
                            field, "%s is not clean UTF-8 text", field);
    *out = xr__arena_dup(&l->arena, s, len);
    return *out ? XR_OK : oom(err);
}

/* The identifier of an entry is complete and of its type. */
static enum xr_status entry_done(struct xr_client_entry *e,
                                 struct xr_error *err)
{
    if (!e->instance || !e->member_class || !e->member_code ||
        !e->instance[0] || !e->member_class[0] || !e->member_code[0])
        return xr_error_set(err, XR_EPROTO, "invalid_id", "id",
                            "a client lacks xRoadInstance, memberClass or "
                            "memberCode");
    if (e->type == XR_ID_SUBSYSTEM &&
        (!e->subsystem_code || !e->subsystem_code[0]))
        return xr_error_set(err, XR_EPROTO, "invalid_id", "id",
                            "a SUBSYSTEM lacks subsystemCode");
    if (e->type == XR_ID_MEMBER && e->subsystem_code && e->subsystem_code[0])
        return xr_error_set(err, XR_EPROTO, "invalid_id", "id",
                            "a MEMBER has a subsystemCode");
    if (!e->subsystem_code)
        e->subsystem_code = "";
    return XR_OK;
}

/* ---- XML --------------------------------------------------------------- */

static enum xr_status xml_member(struct xr_client_list *l, const xmlNode *m,
                                 struct xr_error *err)
{
    struct xr_client_entry *e = NULL;
    struct xr_id id;
    bool seen_id = false, seen_name = false, seen_sub = false;
    char text[NAME_MAX_BYTES + 2];
    enum xr_status rc;

    rc = add(l, &e, err);
    if (rc != XR_OK)
        return rc;
    for (xmlNodePtr c = xr__xml_first_elem(m); c; c = xr__xml_next_elem(c)) {
        if (xr__xml_is(c, XR_NS_XROAD, "id") && !seen_id) {
            seen_id = true;
            rc = xr__id_read(c, "id",
                             (1u << XR_ID_MEMBER) | (1u << XR_ID_SUBSYSTEM),
                             &id, err);
            if (rc != XR_OK) {
                if (err && strcmp(err->reason, "too_large") != 0)
                    err->reason = "invalid_id";
                return rc;
            }
            e->type = id.type;
            if ((rc = keep(l, id.instance, strlen(id.instance), XR_ID_PART_MAX,
                           "xRoadInstance", &e->instance, err)) != XR_OK ||
                (rc = keep(l, id.member_class, strlen(id.member_class),
                           XR_ID_PART_MAX, "memberClass", &e->member_class,
                           err)) != XR_OK ||
                (rc = keep(l, id.member_code, strlen(id.member_code),
                           XR_ID_PART_MAX, "memberCode", &e->member_code,
                           err)) != XR_OK ||
                (rc = keep(l, id.subsystem_code, strlen(id.subsystem_code),
                           XR_ID_PART_MAX, "subsystemCode", &e->subsystem_code,
                           err)) != XR_OK)
                return rc;
        } else if ((xr__xml_is(c, XR_NS_XROAD, "name") && !seen_name) ||
                   (xr__xml_is(c, XR_NS_XROAD, "subsystemName") && !seen_sub)) {
            bool is_name = !strcmp(xr__cs(c->name), "name");
            const char *field = is_name ? "name" : "subsystemName";
            if (is_name)
                seen_name = true;
            else
                seen_sub = true;
            if (xr__xml_text(c, text, sizeof(text), field, NULL) != XR_OK ||
                xr__xml_first_elem(c))
                return xr_error_set(err, XR_EPROTO, "client_list_invalid",
                                    field,
                                    "%s is longer than %u bytes or has "
                                    "elements",
                                    field, NAME_MAX_BYTES);
            rc = keep(l, text, strlen(text), NAME_MAX_BYTES, field,
                      is_name ? &e->name : &e->subsystem_name, err);
            if (rc != XR_OK)
                return rc;
        } else {
            return xr_error_set(err, XR_EPROTO, "client_list_invalid", "member",
                                "unexpected or repeated element in a "
                                "member");
        }
    }
    if (!seen_id)
        return xr_error_set(err, XR_EPROTO, "client_list_invalid", "id",
                            "a member has no id");
    return entry_done(e, err);
}

static enum xr_status parse_xml(struct xr_client_list *l, const char *charset,
                                const uint8_t *buf, size_t len,
                                size_t max_bytes, struct xr_error *err)
{
    struct xr_limits xl = {0};
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    enum xr_status rc;

    xl.max_bytes = max_bytes;
    xl.max_depth = 16;
    /* Enough nodes for max entries, no more. */
    xl.max_nodes = l->max <= (SIZE_MAX - 64) / NODES_PER_ENTRY
                       ? l->max * NODES_PER_ENTRY + 64
                       : SIZE_MAX;
    rc = xr__xml_parse(buf, len, charset, &xl, XR__XML_READONLY, &doc, err);
    if (rc != XR_OK)
        return rc;
    root = xmlDocGetRootElement(doc);
    if (!root || !xr__xml_is(root, XR_NS_XROAD, "clientList")) {
        rc = xr_error_set(err, XR_EPROTO, "client_list_invalid", "clientList",
                          "the answer is not xrd:clientList");
        goto out;
    }
    for (xmlNodePtr m = xr__xml_first_elem(root); m; m = xr__xml_next_elem(m)) {
        if (!xr__xml_is(m, XR_NS_XROAD, "member")) {
            rc = xr_error_set(err, XR_EPROTO, "client_list_invalid", "member",
                              "clientList has an element other than member");
            goto out;
        }
        rc = xml_member(l, m, err);
        if (rc != XR_OK)
            goto out;
    }
out:
    xmlFreeDoc(doc);
    return rc;
}

/* ---- JSON -------------------------------------------------------------- */

/* A string or null for one field; null leaves *out as it is. */
static enum xr_status json_text(struct xr_client_list *l, struct xr__json *j,
                                size_t max, const char *field, const char **out,
                                struct xr_error *err)
{
    const char *s;
    size_t len;
    enum xr__json_lit lit;
    enum xr_status rc;

    if (*out)
        return xr_error_set(err, XR_EPROTO, "client_list_invalid", field,
                            "%s is repeated", field);
    if (xr__json_peek(j) == 'n')
        return xr__json_literal(j, &lit, err);
    rc = xr__json_string(j, &s, &len, err);
    if (rc != XR_OK)
        return rc;
    return keep(l, s, len, max, field, out, err);
}

static enum xr_status json_id(struct xr_client_list *l, struct xr__json *j,
                              struct xr_client_entry *e, struct xr_error *err)
{
    const char *type = NULL;
    bool first = true, more;
    unsigned keys = 0;
    char key[32];
    enum xr_status rc;

    rc = xr__json_expect(j, '{', err);
    while (rc == XR_OK) {
        rc = xr__json_more(j, '}', &first, &more, err);
        if (rc != XR_OK || !more)
            break;
        if (++keys > JSON_KEYS_MAX)
            return xr_error_set(err, XR_ELIMIT, "client_list_invalid", "id",
                                "an id has more than %u keys", JSON_KEYS_MAX);
        rc = xr__json_key(j, key, sizeof(key), err);
        if (rc != XR_OK)
            break;
        if (!strcmp(key, "object_type"))
            rc = json_text(l, j, XR_ID_PART_MAX, "object_type", &type, err);
        else if (!strcmp(key, "xroad_instance"))
            rc = json_text(l, j, XR_ID_PART_MAX, "xroad_instance", &e->instance,
                           err);
        else if (!strcmp(key, "member_class"))
            rc = json_text(l, j, XR_ID_PART_MAX, "member_class",
                           &e->member_class, err);
        else if (!strcmp(key, "member_code"))
            rc = json_text(l, j, XR_ID_PART_MAX, "member_code", &e->member_code,
                           err);
        else if (!strcmp(key, "subsystem_code"))
            rc = json_text(l, j, XR_ID_PART_MAX, "subsystem_code",
                           &e->subsystem_code, err);
        else
            rc = xr__json_skip(j, err);
    }
    if (rc != XR_OK)
        return rc;
    if (!type)
        return xr_error_set(err, XR_EPROTO, "invalid_id", "object_type",
                            "a client id lacks object_type");
    if (!strcmp(type, "MEMBER"))
        e->type = XR_ID_MEMBER;
    else if (!strcmp(type, "SUBSYSTEM"))
        e->type = XR_ID_SUBSYSTEM;
    else
        return xr_error_set(err, XR_EPROTO, "invalid_id", "object_type",
                            "a client id has object_type other than MEMBER "
                            "or SUBSYSTEM");
    return XR_OK;
}

static enum xr_status json_member(struct xr_client_list *l, struct xr__json *j,
                                  struct xr_error *err)
{
    struct xr_client_entry *e = NULL;
    bool first = true, more, seen_id = false;
    unsigned keys = 0;
    char key[32];
    enum xr_status rc;

    rc = add(l, &e, err);
    if (rc == XR_OK)
        rc = xr__json_expect(j, '{', err);
    while (rc == XR_OK) {
        rc = xr__json_more(j, '}', &first, &more, err);
        if (rc != XR_OK || !more)
            break;
        if (++keys > JSON_KEYS_MAX)
            return xr_error_set(err, XR_ELIMIT, "client_list_invalid", "member",
                                "a member has more than %u keys",
                                JSON_KEYS_MAX);
        rc = xr__json_key(j, key, sizeof(key), err);
        if (rc != XR_OK)
            break;
        if (!strcmp(key, "id")) {
            if (seen_id)
                return xr_error_set(err, XR_EPROTO, "client_list_invalid", "id",
                                    "id is repeated");
            seen_id = true;
            rc = json_id(l, j, e, err);
        } else if (!strcmp(key, "name")) {
            rc = json_text(l, j, NAME_MAX_BYTES, "name", &e->name, err);
        } else if (!strcmp(key, "subsystem_name")) {
            rc = json_text(l, j, NAME_MAX_BYTES, "subsystem_name",
                           &e->subsystem_name, err);
        } else {
            rc = xr__json_skip(j, err);
        }
    }
    if (rc != XR_OK)
        return rc;
    if (!seen_id)
        return xr_error_set(err, XR_EPROTO, "client_list_invalid", "id",
                            "a member has no id");
    return entry_done(e, err);
}

static enum xr_status parse_json(struct xr_client_list *l, const uint8_t *buf,
                                 size_t len, struct xr_error *err)
{
    char scratch[NAME_MAX_BYTES * 4 + 16];
    struct xr__json j;
    bool first = true, more, seen = false;
    char key[16];
    enum xr_status rc;

    xr__json_init(&j, buf, len, scratch, sizeof(scratch), JSON_DEPTH,
                  "client_list_invalid");
    rc = xr__json_expect(&j, '{', err);
    while (rc == XR_OK) {
        rc = xr__json_more(&j, '}', &first, &more, err);
        if (rc != XR_OK || !more)
            break;
        rc = xr__json_key(&j, key, sizeof(key), err);
        if (rc != XR_OK)
            break;
        if (strcmp(key, "member") != 0) {
            rc = xr__json_skip(&j, err);
            continue;
        }
        if (seen)
            return xr_error_set(err, XR_EPROTO, "client_list_invalid", "member",
                                "member is repeated");
        seen = true;
        bool afirst = true, amore;
        rc = xr__json_expect(&j, '[', err);
        while (rc == XR_OK) {
            rc = xr__json_more(&j, ']', &afirst, &amore, err);
            if (rc != XR_OK || !amore)
                break;
            rc = json_member(l, &j, err);
        }
    }
    if (rc == XR_OK)
        rc = xr__json_end(&j, err);
    return rc;
}

enum xr_status xr_client_list_parse(const char *content_type,
                                    const uint8_t *buf, size_t len,
                                    const struct xr_meta_limits *lim,
                                    struct xr_client_list **out,
                                    struct xr_error *err)
{
    struct xr_client_list *l = NULL;
    struct xr__ctype ct;
    size_t max_bytes =
        lim && lim->max_bytes ? lim->max_bytes : CLIENTS_BYTES_DEFAULT;
    enum xr_status rc;

    *out = NULL;
    rc = xr__ctype_parse(content_type ? content_type : "text/xml", &ct, err);
    if (rc != XR_OK)
        return rc;
    if (len > max_bytes)
        return xr_error_set(err, XR_ELIMIT, "too_large", "",
                            "the client list is %zu bytes, limit %zu", len,
                            max_bytes);
    l = calloc(1, sizeof(*l));
    if (!l)
        return oom(err);
    l->max = lim && lim->max_items ? lim->max_items : CLIENTS_ITEMS_DEFAULT;
    if (!strcmp(ct.media, "application/json")) {
        rc = parse_json(l, buf, len, err);
    } else if (!strcmp(ct.media, "text/xml") ||
               !strcmp(ct.media, "application/xml")) {
        rc = parse_xml(l, ct.charset[0] ? ct.charset : NULL, buf, len,
                       max_bytes, err);
    } else {
        rc =
            xr_error_set(err, XR_EPROTO, "invalid_content_type", "Content-Type",
                         "a client list must be text/xml or "
                         "application/json, not %s",
                         ct.media);
    }
    if (rc != XR_OK) {
        xr_client_list_free(l);
        return rc;
    }
    *out = l;
    return XR_OK;
}

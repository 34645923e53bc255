/*
 * X-Road identifiers: parsing, validation and formatting of the textual
 * forms (PR-MESS Annex A, strict identifier character set of PR-MESS 2.7).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define ID_MAX_PARTS 6

bool xr_id_part_is_valid(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '\'' || c == '(' || c == ')' ||
                  c == '+' || c == ',' || c == '-' || c == '.' || c == '=' ||
                  c == '?';
        if (!ok || n >= XR_ID_PART_MAX)
            return false;
    }
    return n > 0;
}

static const char *part_names[][ID_MAX_PARTS] = {
    /* indexed by layout, see parse() */
    {"xRoadInstance", "memberClass", "memberCode", "", "", ""},
    {"xRoadInstance", "memberClass", "memberCode", "subsystemCode", "", ""},
    {"xRoadInstance", "memberClass", "memberCode", "serviceCode", "", ""},
    {"xRoadInstance", "memberClass", "memberCode", "subsystemCode",
     "serviceCode", ""},
    {"xRoadInstance", "memberClass", "memberCode", "subsystemCode",
     "serviceCode", "serviceVersion"},
    {"xRoadInstance", "memberClass", "memberCode", "serverCode", "", ""},
};

/* Describe why a part is invalid, precisely. */
static enum xr_status part_error(const char *part, size_t len, const char *name,
                                 struct xr_error *err)
{
    if (len == 0)
        return xr_error_set(err, XR_EINVAL, "invalid_id", name,
                            "identifier part %s is empty", name);
    if (len > XR_ID_PART_MAX)
        return xr_error_set(err, XR_EINVAL, "invalid_id", name,
                            "identifier part %s is longer than %d bytes", name,
                            XR_ID_PART_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)part[i];
        char one[2] = {part[i], '\0'};
        if (xr_id_part_is_valid(one))
            continue;
        if (c < 0x20 || c == 0x7f)
            return xr_error_set(err, XR_EINVAL, "invalid_id", name,
                                "identifier part %s contains control "
                                "character 0x%02x at offset %zu",
                                name, c, i);
        if (c >= 0x80)
            return xr_error_set(err, XR_EINVAL, "invalid_id", name,
                                "identifier part %s contains a non-ASCII "
                                "byte at offset %zu",
                                name, i);
        return xr_error_set(err, XR_EINVAL, "invalid_id", name,
                            "identifier part %s contains '%c' at offset %zu "
                            "(allowed: A-Z a-z 0-9 ' ( ) + , - . = ?)",
                            name, c, i);
    }
    return XR_OK;
}

/*
 * Split `text` after an optional "PREFIX:" into '/'-separated parts.
 * *prefix receives the prefix ("" when none).
 */
static enum xr_status split(const char *text, char *prefix, size_t psize,
                            const char *parts[ID_MAX_PARTS],
                            size_t lens[ID_MAX_PARTS], size_t *nparts,
                            struct xr_error *err)
{
    const char *p = text, *colon;
    size_t n = 0;

    prefix[0] = '\0';
    if (!text || !*text)
        return xr_error_set(err, XR_EINVAL, "invalid_id", "",
                            "identifier is empty");
    if (strlen(text) >= XR_ID_TEXT_MAX)
        return xr_error_set(err, XR_EINVAL, "invalid_id", "",
                            "identifier is longer than %d bytes",
                            XR_ID_TEXT_MAX - 1);
    colon = strchr(text, ':');
    if (colon) {
        size_t pl = (size_t)(colon - text);
        if (pl == 0 || pl >= psize)
            return xr_error_set(err, XR_EINVAL, "invalid_id", "",
                                "unknown identifier type prefix");
        memcpy(prefix, text, pl);
        prefix[pl] = '\0';
        p = colon + 1;
    }
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (n == ID_MAX_PARTS)
            return xr_error_set(err, XR_EINVAL, "invalid_id", "",
                                "identifier has more than %d parts",
                                ID_MAX_PARTS);
        parts[n] = p;
        lens[n] = l;
        n++;
        if (!slash)
            break;
        p = slash + 1;
    }
    *nparts = n;
    return XR_OK;
}

/* Check and copy parts[i] into the struct fields in `dst`. */
static enum xr_status fill(const char *parts[], const size_t lens[], size_t n,
                           const int layout, char *dst[], struct xr_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = part_names[layout][i];
        enum xr_status rc = part_error(parts[i], lens[i], name, err);
        if (rc != XR_OK)
            return rc;
        memcpy(dst[i], parts[i], lens[i]);
        dst[i][lens[i]] = '\0';
    }
    return XR_OK;
}

enum xr_status xr_id_parse_client(const char *text, struct xr_id *out,
                                  struct xr_error *err)
{
    char prefix[16];
    const char *parts[ID_MAX_PARTS];
    size_t lens[ID_MAX_PARTS], n = 0;
    char *dst[4];
    enum xr_status rc;

    memset(out, 0, sizeof(*out));
    rc = split(text, prefix, sizeof(prefix), parts, lens, &n, err);
    if (rc != XR_OK)
        return rc;
    if (n != 3 && n != 4) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_id", "",
                          "client identifier needs 3 parts "
                          "(INSTANCE/CLASS/CODE) or 4 (with subsystem), "
                          "got %zu",
                          n);
        goto fail;
    }
    if (prefix[0] && strcmp(prefix, n == 3 ? "MEMBER" : "SUBSYSTEM") != 0) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_id", "",
                          "prefix '%s' does not fit a client identifier "
                          "with %zu parts (expected %s)",
                          prefix, n, n == 3 ? "MEMBER" : "SUBSYSTEM");
        goto fail;
    }
    out->type = n == 3 ? XR_ID_MEMBER : XR_ID_SUBSYSTEM;
    dst[0] = out->instance;
    dst[1] = out->member_class;
    dst[2] = out->member_code;
    dst[3] = out->subsystem_code;
    rc = fill(parts, lens, n, n == 3 ? 0 : 1, dst, err);
    if (rc != XR_OK)
        goto fail;
    return XR_OK;
fail:
    memset(out, 0, sizeof(*out));
    return rc;
}

enum xr_status xr_id_parse_service(const char *text, struct xr_id *out,
                                   struct xr_error *err)
{
    char prefix[16];
    const char *parts[ID_MAX_PARTS];
    size_t lens[ID_MAX_PARTS], n = 0;
    char *dst[6];
    int layout;
    enum xr_status rc;

    memset(out, 0, sizeof(*out));
    rc = split(text, prefix, sizeof(prefix), parts, lens, &n, err);
    if (rc != XR_OK)
        return rc;
    if (prefix[0] && strcmp(prefix, "SERVICE") != 0) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_id", "",
                          "prefix '%s' does not fit a service identifier "
                          "(expected SERVICE)",
                          prefix);
        goto fail;
    }
    out->type = XR_ID_SERVICE;
    dst[0] = out->instance;
    dst[1] = out->member_class;
    dst[2] = out->member_code;
    switch (n) {
    case 4:
        layout = 2;
        dst[3] = out->service_code;
        break;
    case 5:
        layout = 3;
        dst[3] = out->subsystem_code;
        dst[4] = out->service_code;
        break;
    case 6:
        layout = 4;
        dst[3] = out->subsystem_code;
        dst[4] = out->service_code;
        dst[5] = out->service_version;
        break;
    default:
        rc = xr_error_set(err, XR_EINVAL, "invalid_id", "",
                          "service identifier needs 4 to 6 parts "
                          "(INSTANCE/CLASS/CODE[/SUBSYSTEM]/SERVICE"
                          "[/VERSION]), got %zu",
                          n);
        goto fail;
    }
    rc = fill(parts, lens, n, layout, dst, err);
    if (rc != XR_OK)
        goto fail;
    return XR_OK;
fail:
    memset(out, 0, sizeof(*out));
    return rc;
}

enum xr_status xr_id_parse_server(const char *text, struct xr_id *out,
                                  struct xr_error *err)
{
    char prefix[16];
    const char *parts[ID_MAX_PARTS];
    size_t lens[ID_MAX_PARTS], n = 0;
    char *dst[4];
    enum xr_status rc;

    memset(out, 0, sizeof(*out));
    rc = split(text, prefix, sizeof(prefix), parts, lens, &n, err);
    if (rc != XR_OK)
        return rc;
    if (prefix[0] && strcmp(prefix, "SERVER") != 0) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_id", "",
                          "prefix '%s' does not fit a security server "
                          "identifier (expected SERVER)",
                          prefix);
        goto fail;
    }
    if (n != 4) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_id", "",
                          "security server identifier needs 4 parts "
                          "(INSTANCE/CLASS/CODE/SERVER), got %zu",
                          n);
        goto fail;
    }
    out->type = XR_ID_SERVER;
    dst[0] = out->instance;
    dst[1] = out->member_class;
    dst[2] = out->member_code;
    dst[3] = out->server_code;
    rc = fill(parts, lens, n, 5, dst, err);
    if (rc != XR_OK)
        goto fail;
    return XR_OK;
fail:
    memset(out, 0, sizeof(*out));
    return rc;
}

static enum xr_status check(const char *v, const char *name, bool required,
                            struct xr_error *err)
{
    size_t n = strnlen(v, XR_ID_PART_MAX + 1);
    if (n == 0 && !required)
        return XR_OK;
    return part_error(v, n, name, err);
}

enum xr_status xr_id_validate(const struct xr_id *id, struct xr_error *err)
{
    enum xr_status rc;
    bool sub = false, svc = false, srv = false;

    switch (id->type) {
    case XR_ID_MEMBER:
        break;
    case XR_ID_SUBSYSTEM:
        sub = true;
        break;
    case XR_ID_SERVICE:
        svc = true;
        break;
    case XR_ID_SERVER:
        srv = true;
        break;
    }
    if ((rc = check(id->instance, "xRoadInstance", true, err)) != XR_OK ||
        (rc = check(id->member_class, "memberClass", true, err)) != XR_OK ||
        (rc = check(id->member_code, "memberCode", true, err)) != XR_OK ||
        (rc = check(id->subsystem_code, "subsystemCode", sub, err)) != XR_OK ||
        (rc = check(id->service_code, "serviceCode", svc, err)) != XR_OK ||
        (rc = check(id->service_version, "serviceVersion", false, err)) !=
            XR_OK ||
        (rc = check(id->server_code, "serverCode", srv, err)) != XR_OK)
        return rc;
    if ((!svc && (id->service_code[0] || id->service_version[0])) ||
        (!srv && id->server_code[0]) ||
        ((id->type == XR_ID_MEMBER || srv) && id->subsystem_code[0]))
        return xr_error_set(err, XR_EINVAL, "invalid_id", "",
                            "identifier of type %s has parts that do not "
                            "belong to it",
                            xr_id_type_name(id->type));
    return XR_OK;
}

size_t xr_id_format(const struct xr_id *id, bool with_prefix, char *buf,
                    size_t size)
{
    const char *opt[4] = {id->subsystem_code, id->service_code,
                          id->service_version, id->server_code};
    size_t n = 0;
    int w;

    w = snprintf(buf, size, "%s%s%s/%s/%s",
                 with_prefix ? xr_id_type_name(id->type) : "",
                 with_prefix ? ":" : "", id->instance, id->member_class,
                 id->member_code);
    if (w < 0)
        return 0;
    n = (size_t)w;
    for (size_t i = 0; i < 4; i++) {
        if (!opt[i][0])
            continue;
        w = snprintf(n < size ? buf + n : NULL, n < size ? size - n : 0, "/%s",
                     opt[i]);
        if (w < 0)
            return 0;
        n += (size_t)w;
    }
    return n;
}

bool xr_id_equal(const struct xr_id *a, const struct xr_id *b)
{
    return a->type == b->type && !strcmp(a->instance, b->instance) &&
           !strcmp(a->member_class, b->member_class) &&
           !strcmp(a->member_code, b->member_code) &&
           !strcmp(a->subsystem_code, b->subsystem_code) &&
           !strcmp(a->service_code, b->service_code) &&
           !strcmp(a->service_version, b->service_version) &&
           !strcmp(a->server_code, b->server_code);
}

const char *xr_id_type_name(enum xr_id_type type)
{
    switch (type) {
    case XR_ID_MEMBER:
        return "MEMBER";
    case XR_ID_SUBSYSTEM:
        return "SUBSYSTEM";
    case XR_ID_SERVICE:
        return "SERVICE";
    case XR_ID_SERVER:
        return "SERVER";
    }
    return "UNKNOWN";
}

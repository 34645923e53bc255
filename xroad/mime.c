/*
 * HTTP Content-Type parsing and multipart/related splitting (SwA, MTOM),
 * and locating the SOAP part of an HTTP body (PR-MESS 2.4: the first MIME
 * part is always the SOAP part).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define MIME_HEADER_LINES_MAX 64
#define MIME_HEADER_LINE_MAX  1024

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Copy [b, e) trimmed into out; false when it does not fit. */
static bool copy_trimmed(const char *b, const char *e, char *out, size_t size)
{
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b &&
           (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        e--;
    if ((size_t)(e - b) >= size)
        return false;
    memcpy(out, b, (size_t)(e - b));
    out[e - b] = '\0';
    return true;
}

enum xr_status xr__ctype_parse(const char *value, struct xr__ctype *out,
                               struct xr_error *err)
{
    const char *p = value, *e;

    memset(out, 0, sizeof(*out));
    if (!value || !*skip_ws(value))
        return xr_error_set(err, XR_EPROTO, "invalid_content_type",
                            "Content-Type", "no content type");
    e = strchr(p, ';');
    if (!e)
        e = p + strlen(p);
    if (!copy_trimmed(p, e, out->media, sizeof(out->media)) || !out->media[0])
        return xr_error_set(err, XR_EPROTO, "invalid_content_type",
                            "Content-Type", "bad media type");
    for (char *c = out->media; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    p = e;
    /* Parameters: ; name=value | ; name="quoted" (bounded by the input). */
    while (*p == ';') {
        char name[32], val[256];
        const char *ns, *ne, *vs, *ve;
        size_t vn = 0;

        p = skip_ws(p + 1);
        ns = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        ne = p;
        if (*p != '=') {
            continue; /* a bare token: ignore */
        }
        p = skip_ws(p + 1);
        if (*p == '"') {
            p++;
            vs = p;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (vn + 1 < sizeof(val))
                    val[vn++] = *p;
                p++;
            }
            ve = p;
            if (*p != '"')
                return xr_error_set(err, XR_EPROTO, "invalid_content_type",
                                    "Content-Type",
                                    "unterminated quoted parameter");
            p++;
            if ((size_t)(ve - vs) >= sizeof(val))
                return xr_error_set(err, XR_EPROTO, "invalid_content_type",
                                    "Content-Type", "parameter too long");
            val[vn] = '\0';
            while (*p && *p != ';')
                p++;
        } else {
            vs = p;
            while (*p && *p != ';')
                p++;
            ve = p;
            if (!copy_trimmed(vs, ve, val, sizeof(val)))
                return xr_error_set(err, XR_EPROTO, "invalid_content_type",
                                    "Content-Type", "parameter too long");
        }
        if (!copy_trimmed(ns, ne, name, sizeof(name)))
            continue; /* over-long unknown name: ignore */
        if (!strcasecmp(name, "charset")) {
            if (!copy_trimmed(val, val + strlen(val), out->charset,
                              sizeof(out->charset)))
                return xr_error_set(err, XR_EPROTO, "invalid_content_type",
                                    "Content-Type", "charset too long");
        } else if (!strcasecmp(name, "boundary")) {
            if (strlen(val) >= sizeof(out->boundary) || !val[0])
                return xr_error_set(err, XR_EPROTO, "invalid_content_type",
                                    "Content-Type", "bad boundary");
            xr__strlcpy(out->boundary, val, sizeof(out->boundary));
        }
    }
    return XR_OK;
}

/*
 * Find "--boundary" at the start of a line at or after `from`. The match
 * must be followed by "--", white space, CR/LF or the end of the buffer.
 * Returns the offset of the first '-' or len when not found; *line_start
 * gets the offset where the preceding line break begins (the CRLF or LF
 * before a delimiter belongs to the delimiter).
 */
static size_t find_delim(const uint8_t *buf, size_t len, size_t from,
                         const char *boundary, size_t blen, size_t *line_start)
{
    for (size_t i = from; i + 2 + blen <= len; i++) {
        const uint8_t *p;
        size_t after;

        if (buf[i] != '-' || buf[i + 1] != '-')
            continue;
        if (i != 0 && buf[i - 1] != '\n')
            continue;
        if (memcmp(buf + i + 2, boundary, blen) != 0)
            continue;
        after = i + 2 + blen;
        p = buf + after;
        if (after < len &&
            !(*p == '-' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            continue;
        *line_start = i;
        if (i >= 1 && buf[i - 1] == '\n') {
            *line_start = i - 1;
            if (i >= 2 && buf[i - 2] == '\r')
                *line_start = i - 2;
        }
        return i;
    }
    return len;
}

/* Printable ASCII and TAB only. */
static bool printable(const char *s)
{
    for (; *s; s++)
        if ((*s < 0x20 && *s != '\t') || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/* Offset just after the end of the line containing `pos` (or len). */
static size_t next_line(const uint8_t *buf, size_t len, size_t pos)
{
    const uint8_t *nl = memchr(buf + pos, '\n', len - pos);
    return nl ? (size_t)(nl - buf) + 1 : len;
}

static enum xr_status parse_part_headers(const uint8_t *buf, size_t len,
                                         size_t *pos,
                                         struct xr__mime_part *part,
                                         struct xr_error *err)
{
    unsigned lines = 0;
    char last[32] = "";

    for (;;) {
        size_t s = *pos, e = next_line(buf, len, s), le = e;
        char line[MIME_HEADER_LINE_MAX];
        const char *colon;

        if (s >= len)
            return xr_error_set(err, XR_EPARSE, "mime_parsing_failed", "",
                                "MIME part headers not terminated");
        while (le > s && (buf[le - 1] == '\n' || buf[le - 1] == '\r'))
            le--;
        *pos = e;
        if (le == s) {
            /* Headers done. Content-Type and Content-ID are passed on
             * (a relayed attachment keeps them): printable ASCII only. */
            if (!printable(part->content_type) || !printable(part->content_id))
                return xr_error_set(err, XR_EPARSE, "mime_parsing_failed", "",
                                    "MIME Content-Type or Content-ID with a "
                                    "control or non-ASCII byte");
            return XR_OK;
        }
        if (++lines > MIME_HEADER_LINES_MAX)
            return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                "more than %d MIME part header lines",
                                MIME_HEADER_LINES_MAX);
        if (le - s >= sizeof(line))
            return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                "MIME part header line too long");
        memcpy(line, buf + s, le - s);
        line[le - s] = '\0';
        if (memchr(line, '\0', le - s))
            return xr_error_set(err, XR_EPARSE, "mime_parsing_failed", "",
                                "NUL byte in MIME part header");
        if (line[0] == ' ' || line[0] == '\t') {
            /* Folded continuation: only meaningful for Content-Type. */
            if (!strcasecmp(last, "content-type")) {
                size_t cl = strlen(part->content_type);
                const char *v = skip_ws(line);
                if (cl + 1 + strlen(v) >= sizeof(part->content_type))
                    return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                        "MIME Content-Type too long");
                part->content_type[cl] = ' ';
                xr__strlcpy(part->content_type + cl + 1, v,
                            sizeof(part->content_type) - cl - 1);
            }
            continue;
        }
        colon = strchr(line, ':');
        if (!colon)
            return xr_error_set(err, XR_EPARSE, "mime_parsing_failed", "",
                                "MIME part header line without ':'");
        if (!copy_trimmed(line, colon, last, sizeof(last)))
            last[0] = '\0';
        if (!strcasecmp(last, "content-type")) {
            if (!copy_trimmed(colon + 1, line + strlen(line),
                              part->content_type, sizeof(part->content_type)))
                return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                    "MIME Content-Type too long");
        } else if (!strcasecmp(last, "content-id")) {
            char id[256];
            size_t n;
            if (!copy_trimmed(colon + 1, line + strlen(line), id, sizeof(id)))
                return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                    "MIME Content-ID too long");
            n = strlen(id);
            if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
                id[n - 1] = '\0';
                memmove(id, id + 1, n - 1);
            }
            xr__strlcpy(part->content_id, id, sizeof(part->content_id));
        } else if (!strcasecmp(last, "content-transfer-encoding")) {
            if (!copy_trimmed(colon + 1, line + strlen(line),
                              part->transfer_encoding,
                              sizeof(part->transfer_encoding)))
                return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                    "MIME transfer encoding too long");
        }
    }
}

enum xr_status xr__mime_split(const uint8_t *buf, size_t len,
                              const char *boundary, unsigned max_parts,
                              struct xr__mime_part **parts, size_t *nparts,
                              struct xr_error *err)
{
    struct xr__mime_part *arr = NULL;
    size_t n = 0, blen = strlen(boundary), pos, ls, d;
    enum xr_status rc;

    *parts = NULL;
    *nparts = 0;
    if (blen == 0 || blen > 70 + 57) {
        rc = xr_error_set(err, XR_EPROTO, "invalid_content_type",
                          "Content-Type", "missing or bad multipart boundary");
        goto out;
    }
    arr = calloc(max_parts ? max_parts : 1, sizeof(*arr));
    if (!arr) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    d = find_delim(buf, len, 0, boundary, blen, &ls);
    if (d == len) {
        rc = xr_error_set(err, XR_EPARSE, "mime_parsing_failed", "",
                          "multipart body has no boundary '%s'", boundary);
        goto out;
    }
    for (;;) {
        size_t after = d + 2 + blen, body, next;
        struct xr__mime_part *p;

        /* Close delimiter, or a delimiter at the very end (tolerated:
         * upstream security servers pass such bodies on). */
        if (after >= len ||
            (after + 1 < len && buf[after] == '-' && buf[after + 1] == '-'))
            break;
        if (n == max_parts) {
            rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                              "more than %u MIME parts", max_parts);
            goto out;
        }
        p = &arr[n];
        pos = next_line(buf, len, after);
        rc = parse_part_headers(buf, len, &pos, p, err);
        if (rc != XR_OK)
            goto out;
        body = pos;
        next = find_delim(buf, len, body, boundary, blen, &ls);
        /* The line break before a delimiter belongs to it; when the
         * delimiter follows the blank line at once there is none to
         * take back, and the part is empty. */
        if (next != len && ls < body)
            ls = body;
        p->body = buf + body;
        p->body_len = (next == len ? len : ls) - body;
        if (!p->content_type[0]) {
            rc = xr_error_set(err, XR_EPROTO, "invalid_content_type", "",
                              "MIME part %zu has no Content-Type", n + 1);
            goto out;
        }
        n++;
        if (next == len)
            break; /* no close delimiter: the part runs to the end */
        d = next;
    }
    if (n == 0) {
        rc = xr_error_set(err, XR_EPROTO, "missing_soap", "",
                          "multipart body has no parts");
        goto out;
    }
    *parts = arr;
    *nparts = n;
    arr = NULL;
    rc = XR_OK;
out:
    free(arr);
    return rc;
}

static bool media_is_soap_part(const char *media)
{
    return !strcmp(media, "text/xml") || !strcmp(media, "application/xop+xml");
}

enum xr_status xr__soap_open(const char *content_type, const uint8_t *buf,
                             size_t len, const struct xr_limits *limits,
                             unsigned xml_flags, xmlDictPtr dict,
                             struct xr__soap *out, struct xr_error *err)
{
    struct xr_limits lim = *limits;
    struct xr__ctype ct, pct;
    const char *encoding = NULL;
    enum xr_status rc;

    memset(out, 0, sizeof(*out));
    xr__limits_resolve(&lim);
    if (len > lim.max_bytes)
        return xr_error_set(err, XR_ELIMIT, "too_large", "",
                            "message is %zu bytes, limit %zu", len,
                            lim.max_bytes);
    rc = xr__ctype_parse(content_type ? content_type : "text/xml", &ct, err);
    if (rc != XR_OK)
        return rc;
    if (!strcmp(ct.media, "multipart/related")) {
        rc = xr__mime_split(buf, len, ct.boundary, lim.max_parts, &out->parts,
                            &out->nparts, err);
        if (rc != XR_OK)
            goto fail;
        rc = xr__ctype_parse(out->parts[0].content_type, &pct, err);
        if (rc != XR_OK)
            goto fail;
        if (!media_is_soap_part(pct.media)) {
            rc = xr_error_set(err, XR_EPROTO, "invalid_content_type", "",
                              "first MIME part is %s, not the SOAP message",
                              pct.media);
            goto fail;
        }
        out->soap = out->parts[0].body;
        out->soap_len = out->parts[0].body_len;
        if (pct.charset[0])
            encoding = pct.charset;
        else if (ct.charset[0])
            encoding = ct.charset;
    } else if (media_is_soap_part(ct.media)) {
        out->soap = buf;
        out->soap_len = len;
        if (ct.charset[0])
            encoding = ct.charset;
    } else {
        rc =
            xr_error_set(err, XR_EPROTO, "invalid_content_type", "Content-Type",
                         "content type %s is not text/xml or "
                         "multipart/related",
                         ct.media);
        goto fail;
    }
    /*
     * The charset comes from HTTP, UTF-8 when none is given (PR-MESS
     * 2.6): it overrides an XML declaration that says otherwise, as the
     * security server reads the message.
     */
    if (!encoding)
        encoding = "UTF-8";
    if (out->soap_len == 0) {
        rc = xr_error_set(err, XR_EPROTO, "invalid_soap", "",
                          "empty SOAP message");
        goto fail;
    }
    rc = xr__xml_parse_in(out->soap, out->soap_len, encoding, &lim,
                          XR__XML_READONLY | xml_flags, dict, &out->doc, err);
    if (rc != XR_OK)
        goto fail;
    return XR_OK;
fail:
    xr__soap_close(out);
    return rc;
}

void xr__soap_close(struct xr__soap *s)
{
    if (!s)
        return;
    xr__xml_free(s->doc);
    free(s->parts);
    memset(s, 0, sizeof(*s));
}

/* ---- the public reader and writer ----------------------------------------
 */

struct xr_mime {
    struct xr_part *parts;
    size_t n;
};

bool xr_mime_media(const char *value, char *out, size_t size)
{
    struct xr__ctype ct;

    if (!value || xr__ctype_parse(value, &ct, NULL) != XR_OK ||
        strlen(ct.media) >= size)
        return false;
    memcpy(out, ct.media, strlen(ct.media) + 1);
    return true;
}

enum xr_status xr_mime_parse(const char *content_type, const uint8_t *buf,
                             size_t len, const struct xr_limits *limits,
                             struct xr_mime **out, struct xr_error *err)
{
    struct xr_limits lim = {0};
    struct xr__ctype ct;
    struct xr__mime_part *raw = NULL;
    struct xr_mime *m = NULL;
    size_t n = 0;
    enum xr_status rc;

    *out = NULL;
    if (limits)
        lim = *limits;
    xr__limits_resolve(&lim);
    if (len > lim.max_bytes) {
        rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                          "multipart body is %zu bytes, limit %zu", len,
                          lim.max_bytes);
        goto out;
    }
    rc = xr__ctype_parse(content_type, &ct, err);
    if (rc != XR_OK)
        goto out;
    if (strcmp(ct.media, "multipart/related") != 0) {
        rc =
            xr_error_set(err, XR_EPROTO, "invalid_content_type", "Content-Type",
                         "%s is not multipart/related", ct.media);
        goto out;
    }
    rc = xr__mime_split(buf, len, ct.boundary, lim.max_parts, &raw, &n, err);
    if (rc != XR_OK)
        goto out;
    m = calloc(1, sizeof(*m));
    if (!m || !(m->parts = calloc(n, sizeof(*m->parts)))) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        xr__strlcpy(m->parts[i].content_type, raw[i].content_type,
                    sizeof(m->parts[i].content_type));
        xr__strlcpy(m->parts[i].content_id, raw[i].content_id,
                    sizeof(m->parts[i].content_id));
        m->parts[i].data.ptr = raw[i].body;
        m->parts[i].data.len = raw[i].body_len;
    }
    m->n = n;
    *out = m;
    m = NULL;
out:
    free(raw);
    xr_mime_free(m);
    return rc;
}

size_t xr_mime_count(const struct xr_mime *m)
{
    return m ? m->n : 0;
}

const struct xr_part *xr_mime_part(const struct xr_mime *m, size_t i)
{
    return m && i < m->n ? &m->parts[i] : NULL;
}

void xr_mime_free(struct xr_mime *m)
{
    if (!m)
        return;
    free(m->parts);
    free(m);
}

#define BOUNDARY_TRIES 4

/* Does needle[0..k) occur in h[0..n)? (k >= 1) */
static bool contains(const uint8_t *h, size_t n, const char *needle, size_t k)
{
    const uint8_t *p = h, *end = h + n;

    while ((size_t)(end - p) >= k) {
        p = memchr(p, needle[0], (size_t)(end - p) - k + 1);
        if (!p)
            return false;
        if (!memcmp(p, needle, k))
            return true;
        p++;
    }
    return false;
}

/* Does "--boundary" occur anywhere in the data of the parts? */
static bool boundary_in(const struct xr_part *parts, size_t n,
                        const char *delim, size_t dlen)
{
    for (size_t i = 0; i < n; i++)
        if (parts[i].data.len >= dlen &&
            contains(parts[i].data.ptr, parts[i].data.len, delim, dlen))
            return true;
    return false;
}

/* A fresh boundary absent from the parts; *delim gets "--" + it. */
static enum xr_status make_boundary(const struct xr_part *parts, size_t n,
                                    char delim[64], struct xr_error *err)
{
    static const char hex[] = "0123456789abcdef";

    for (int t = 0; t < BOUNDARY_TRIES; t++) {
        uint8_t r[16];
        char *p = delim;
        if (xr__random(r, sizeof(r), err) != XR_OK)
            return err ? err->code : XR_EINTERNAL;
        memcpy(p, "--xroad-", 8);
        p += 8;
        for (size_t i = 0; i < sizeof(r); i++) {
            *p++ = hex[r[i] >> 4];
            *p++ = hex[r[i] & 15];
        }
        *p = '\0';
        if (!boundary_in(parts, n, delim, strlen(delim)))
            return XR_OK;
    }
    return xr_error_set(err, XR_EINTERNAL, "boundary_failed", "",
                        "no MIME boundary absent from the data");
}

/* Append bytes to a buffer sized in advance. */
static void put(uint8_t **p, const void *s, size_t n)
{
    memcpy(*p, s, n);
    *p += n;
}

static void puts_(uint8_t **p, const char *s)
{
    put(p, s, strlen(s));
}

/* The header block of one part; NULL target: only count. */
static size_t part_head(const struct xr_part *pt, bool root, uint8_t **p)
{
    const char *te = root ? "8bit" : "binary";
    size_t n = strlen("Content-Type: \r\nContent-Transfer-Encoding: \r\n\r\n") +
               strlen(pt->content_type) + strlen(te);

    if (pt->content_id[0])
        n += strlen("Content-ID: <>\r\n") + strlen(pt->content_id);
    if (!p)
        return n;
    puts_(p, "Content-Type: ");
    puts_(p, pt->content_type);
    puts_(p, "\r\nContent-Transfer-Encoding: ");
    puts_(p, te);
    puts_(p, "\r\n");
    if (pt->content_id[0]) {
        puts_(p, "Content-ID: <");
        puts_(p, pt->content_id);
        puts_(p, ">\r\n");
    }
    puts_(p, "\r\n");
    return n;
}

/* Header values that go out again: required ones non-empty, all
 * printable ASCII without '<' '>' in ids (they are added). */
static enum xr_status check_parts(const struct xr_part *parts, size_t n,
                                  char root_media[128], struct xr_error *err)
{
    if (n == 0)
        return xr_error_set(err, XR_EINVAL, "invalid_part", "",
                            "a multipart body needs a root part");
    for (size_t i = 0; i < n; i++) {
        const struct xr_part *pt = &parts[i];
        if (!pt->content_type[0] || !printable(pt->content_type) ||
            !printable(pt->content_id) || strpbrk(pt->content_id, "<>\"\\") ||
            (!pt->data.ptr && pt->data.len))
            return xr_error_set(err, XR_EINVAL, "invalid_part", "",
                                "MIME part %zu: a missing Content-Type, or "
                                "a header value that is not printable ASCII",
                                i + 1);
    }
    if (!xr_mime_media(parts[0].content_type, root_media, 128) ||
        (strcmp(root_media, "text/xml") != 0 &&
         strcmp(root_media, "application/xop+xml") != 0))
        return xr_error_set(err, XR_EINVAL, "invalid_part", "",
                            "the root part must be text/xml or "
                            "application/xop+xml");
    return XR_OK;
}

enum xr_status xr_mime_write(const struct xr_part *parts, size_t n,
                             uint8_t **out, size_t *out_len,
                             char content_type[XR_MIME_CTYPE_MAX],
                             struct xr_error *err)
{
    char delim[64], media[128];
    size_t dlen, total, len;
    uint8_t *buf = NULL, *p;
    bool mtom;
    int k;
    enum xr_status rc;

    *out = NULL;
    *out_len = 0;
    content_type[0] = '\0';
    rc = check_parts(parts, n, media, err);
    if (rc == XR_OK)
        rc = make_boundary(parts, n, delim, err);
    if (rc != XR_OK)
        return rc;
    dlen = strlen(delim);
    mtom = !strcmp(media, "application/xop+xml");
    /* --B CRLF head data CRLF, per part; --B-- CRLF at the end. */
    total = dlen + 4;
    for (size_t i = 0; i < n; i++) {
        len = dlen + 2 + part_head(&parts[i], i == 0, NULL) + 2;
        if (parts[i].data.len > SIZE_MAX - len ||
            total > SIZE_MAX - len - parts[i].data.len)
            return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                "the multipart body is too large");
        total += len + parts[i].data.len;
    }
    buf = malloc(total);
    if (!buf)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    p = buf;
    for (size_t i = 0; i < n; i++) {
        put(&p, delim, dlen);
        puts_(&p, "\r\n");
        (void)part_head(&parts[i], i == 0, &p);
        if (parts[i].data.len)
            put(&p, parts[i].data.ptr, parts[i].data.len);
        puts_(&p, "\r\n");
    }
    put(&p, delim, dlen);
    puts_(&p, "--\r\n");
    k = snprintf(content_type, XR_MIME_CTYPE_MAX,
                 "multipart/related; type=\"%s\"%s%s%s%s; boundary=\"%s\"",
                 media, mtom ? "; start-info=\"text/xml\"" : "",
                 parts[0].content_id[0] ? "; start=\"<" : "",
                 parts[0].content_id, parts[0].content_id[0] ? ">\"" : "",
                 delim + 2);
    if (k < 0 || k >= XR_MIME_CTYPE_MAX) {
        free(buf);
        content_type[0] = '\0';
        return xr_error_set(err, XR_EINVAL, "invalid_part", "",
                            "the root Content-ID is too long for the "
                            "Content-Type");
    }
    *out = buf;
    *out_len = (size_t)(p - buf);
    return XR_OK;
}

/*
 * VTJkysely request bodies (vtj.h): input validation and the Body wrapper
 * documents of HenkilonTunnusKysely and HaeTuotteenSkeema.
 *
 * The document is assembled from fixed markup and values escaped by
 * libxml2 (xmlEncodeSpecialChars) into one buffer that this module owns,
 * so that every copy of the password made here can be wiped: the escaped
 * copy of each value and the output buffer (vtj_body_free()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/entities.h>
#include <libxml/xmlmemory.h>
#include <openssl/crypto.h>
#include <xroad/common.h>

#include "services/hetu.h"
#include "services/vtj.h"

/* One element of the request, in WSDL order. */
struct body_field {
    const char *element; /* local name in VTJ_NS_WS */
    const char *value;   /* borrowed; NULL or "" = omitted */
};

/* A bounded output buffer; owns ptr (wiped on free). */
struct obuf {
    char *ptr;
    size_t len;
    size_t cap; /* bytes usable, excluding the final NUL */
};

static const xmlChar *xc(const char *s)
{
    return (const xmlChar *)s;
}

static bool is_given(const char *s)
{
    return s && s[0] != '\0';
}

/* True when s has at least one byte that is not an ASCII space or tab. */
static bool has_content(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return true;
    return false;
}

/*
 * Validate that s (at most max bytes) is UTF-8 made of XML characters,
 * without C0 controls unless allow_ws (then TAB, LF and CR are allowed).
 * Counts code points into *chars. Returns 0 when valid, 1 when too long,
 * -1 when invalid. Never reads more than max + 1 bytes.
 */
static int check_text(const char *s, size_t max, bool allow_ws, size_t *chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strnlen(s, max + 1), i = 0, n = 0, k;

    if (len > max)
        return 1;
    for (; i < len; i += k, n++) {
        k = xr_utf8_seq(p + i, len - i);
        if (k == 0)
            return -1; /* overlong, surrogate, beyond U+10FFFF, broken */
        if (p[i] < 0x20u &&
            !(allow_ws && (p[i] == '\t' || p[i] == '\n' || p[i] == '\r')))
            return -1;
        /* The non-characters U+FFFE and U+FFFF: EF BF BE, EF BF BF. */
        if (k == 3 && p[i] == 0xEFu && p[i + 1] == 0xBFu &&
            (p[i + 2] == 0xBEu || p[i + 2] == 0xBFu))
            return -1;
    }
    if (chars)
        *chars = n;
    return 0;
}

/* Check one optional field; reasons field_too_long / invalid_field. */
static enum xr_status check_optional(const char *element, const char *value,
                                     size_t max, bool allow_ws,
                                     struct xr_error *err)
{
    int rc;

    if (!is_given(value))
        return XR_OK;
    rc = check_text(value, max, allow_ws, NULL);
    if (rc > 0)
        return xr_error_set(err, XR_EINVAL, "field_too_long", element,
                            "%s is longer than %zu bytes", element, max);
    if (rc < 0)
        return xr_error_set(err, XR_EINVAL, "invalid_field", element,
                            "%s is not valid UTF-8 text without control "
                            "characters",
                            element);
    return XR_OK;
}

static enum xr_status check_product(const char *product, struct xr_error *err)
{
    int rc;

    if (!is_given(product) || !has_content(product))
        return xr_error_set(err, XR_EINVAL, "missing_product", "SoSoNimi",
                            "the product (SoSoNimi) is required");
    rc = check_text(product, VTJ_PRODUCT_MAX, false, NULL);
    if (rc > 0)
        return xr_error_set(err, XR_EINVAL, "product_too_long", "SoSoNimi",
                            "the product (SoSoNimi) is longer than %d bytes",
                            VTJ_PRODUCT_MAX);
    if (rc < 0)
        return xr_error_set(err, XR_EINVAL, "invalid_product", "SoSoNimi",
                            "the product (SoSoNimi) is not valid UTF-8 "
                            "text without control characters");
    return XR_OK;
}

enum xr_status vtj_query_check(const struct vtj_query *q, struct xr_error *err)
{
    struct hetu_info info;
    char reason[48];
    size_t chars = 0;
    enum xr_status rc;
    int trc;

    if (!q)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "no query given");
    rc = check_product(q->product, err);
    if (rc != XR_OK)
        return rc;
    if (is_given(q->hetu) && is_given(q->satu))
        return xr_error_set(err, XR_EINVAL, "ambiguous_subject", "",
                            "give either a hetu or a SATU, not both");
    if (!is_given(q->hetu) && !is_given(q->satu))
        return xr_error_set(err, XR_EINVAL, "missing_subject", "",
                            "a hetu or a SATU is required");
    if (is_given(q->hetu)) {
        if (!hetu_validate(q->hetu, &info))
            return xr_error_set(
                err, XR_EINVAL, "invalid_hetu", "Henkilotunnus",
                "the identity code is not valid (%s)",
                hetu_reason_format(&info, reason, sizeof(reason)));
        if (info.temporary && q->refuse_temporary)
            return xr_error_set(err, XR_EINVAL, "temporary_hetu",
                                "Henkilotunnus",
                                "temporary or test identity codes (individual "
                                "number 900-999) are refused for this target");
    } else if (!hetu_satu_validate(q->satu, &info)) {
        return xr_error_set(err, XR_EINVAL, "invalid_satu",
                            "SahkoinenAsiointitunnus",
                            "the SATU is not valid (%s)",
                            hetu_reason_format(&info, reason, sizeof(reason)));
    }
    if (!is_given(q->end_user) || !has_content(q->end_user))
        return xr_error_set(err, XR_EINVAL, "missing_end_user", "Loppukayttaja",
                            "the end user (Loppukayttaja) is required");
    /* 50 characters of at most 4 bytes each. */
    trc = check_text(q->end_user, 4u * VTJ_END_USER_MAX_CHARS, false, &chars);
    if (trc < 0)
        return xr_error_set(err, XR_EINVAL, "invalid_end_user", "Loppukayttaja",
                            "the end user (Loppukayttaja) is not valid UTF-8 "
                            "text without control characters");
    if (trc > 0 || chars > VTJ_END_USER_MAX_CHARS)
        return xr_error_set(err, XR_EINVAL, "end_user_too_long",
                            "Loppukayttaja",
                            "the end user (Loppukayttaja) is longer than %d "
                            "characters",
                            VTJ_END_USER_MAX_CHARS);
    if ((rc = check_optional("Laskutustiedot", q->billing, VTJ_FIELD_MAX, false,
                             err)) != XR_OK ||
        (rc = check_optional("VarmenteenMyontaja", q->cert_issuer,
                             VTJ_FIELD_MAX, false, err)) != XR_OK ||
        (rc = check_optional("X509Certificate", q->x509_certificate,
                             VTJ_CERT_MAX, true, err)) != XR_OK ||
        (rc = check_optional("VarmenteenVoimassaolotarkistus", q->cert_validity,
                             VTJ_FIELD_MAX, false, err)) != XR_OK ||
        (rc = check_optional("VarmenteenSulkulistatarkistus", q->cert_crl,
                             VTJ_FIELD_MAX, false, err)) != XR_OK ||
        (rc = check_optional("Tunnistusportaali", q->portal, VTJ_FIELD_MAX,
                             false, err)) != XR_OK ||
        (rc = check_optional("Vara1", q->reserved1, VTJ_FIELD_MAX, false,
                             err)) != XR_OK)
        return rc;
    return XR_OK;
}

/* Credentials: the values never appear in messages. */
static enum xr_status check_credentials(const struct vtj_credentials *cred,
                                        struct xr_error *err)
{
    int rc;

    if (!cred || !is_given(cred->username))
        return xr_error_set(err, XR_EINVAL, "missing_username",
                            "Kayttajatunnus",
                            "the VTJ username is not configured");
    if (!is_given(cred->password))
        return xr_error_set(err, XR_EINVAL, "missing_password", "Salasana",
                            "the VTJ password is not configured");
    rc = check_text(cred->username, VTJ_CREDENTIAL_MAX, false, NULL);
    if (rc > 0)
        return xr_error_set(
            err, XR_EINVAL, "credential_too_long", "Kayttajatunnus",
            "the VTJ username is longer than %d bytes", VTJ_CREDENTIAL_MAX);
    if (rc < 0)
        return xr_error_set(err, XR_EINVAL, "invalid_credential",
                            "Kayttajatunnus",
                            "the VTJ username contains invalid characters");
    rc = check_text(cred->password, VTJ_CREDENTIAL_MAX, false, NULL);
    if (rc > 0)
        return xr_error_set(err, XR_EINVAL, "credential_too_long", "Salasana",
                            "the VTJ password is longer than %d bytes",
                            VTJ_CREDENTIAL_MAX);
    if (rc < 0)
        return xr_error_set(err, XR_EINVAL, "invalid_credential", "Salasana",
                            "the VTJ password contains invalid characters");
    return XR_OK;
}

/*
 * The body starts small and grows by doubling up to VTJ_BODY_MAX: a person
 * query is about 1.5 KB, and a 64 KiB block per query made glibc
 * consolidate its free lists on every free. It holds the password, so a
 * block it leaves is wiped before it is freed.
 */
#define OBUF_START 2048u

static enum xr_status obuf_oom(struct xr_error *err)
{
    return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                        "out of memory building the VTJ request");
}

static enum xr_status obuf_init(struct obuf *b, struct xr_error *err)
{
    b->len = 0;
    b->cap = OBUF_START;
    b->ptr = malloc(OBUF_START + 1u);
    if (!b->ptr)
        return obuf_oom(err);
    b->ptr[0] = '\0';
    return XR_OK;
}

static void obuf_cleanup(struct obuf *b)
{
    if (b->ptr) {
        OPENSSL_cleanse(b->ptr, b->cap + 1u);
        free(b->ptr);
    }
    b->ptr = NULL;
    b->len = b->cap = 0;
}

/* Room for n more bytes (and the NUL), within VTJ_BODY_MAX. */
static enum xr_status obuf_room(struct obuf *b, size_t n, struct xr_error *err)
{
    size_t cap = b->cap;
    char *p;

    if (n > (size_t)VTJ_BODY_MAX - b->len)
        return xr_error_set(err, XR_ELIMIT, "too_large", "",
                            "the VTJ request body exceeds %d bytes",
                            VTJ_BODY_MAX);
    if (n <= cap - b->len)
        return XR_OK;
    while (n > cap - b->len)
        cap = cap * 2u > (size_t)VTJ_BODY_MAX ? (size_t)VTJ_BODY_MAX : cap * 2u;
    p = malloc(cap + 1u);
    if (!p)
        return obuf_oom(err);
    memcpy(p, b->ptr, b->len + 1u);
    OPENSSL_cleanse(b->ptr, b->cap + 1u);
    free(b->ptr);
    b->ptr = p;
    b->cap = cap;
    return XR_OK;
}

static enum xr_status obuf_add(struct obuf *b, const char *s, size_t n,
                               struct xr_error *err)
{
    enum xr_status rc = obuf_room(b, n, err);

    if (rc != XR_OK)
        return rc;
    memcpy(b->ptr + b->len, s, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return XR_OK;
}

static enum xr_status obuf_adds(struct obuf *b, const char *s,
                                struct xr_error *err)
{
    return obuf_add(b, s, strlen(s), err);
}

/* Append <name>escaped value</name>; the escaped copy is wiped. */
static enum xr_status obuf_element(struct obuf *b, const char *name,
                                   const char *value, struct xr_error *err)
{
    xmlChar *enc = NULL;
    size_t n;
    enum xr_status rc;

    enc = xmlEncodeSpecialChars(NULL, xc(value));
    if (!enc) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", name,
                          "out of memory escaping %s", name);
        goto out;
    }
    n = strlen((const char *)enc);
    if ((rc = obuf_adds(b, "<", err)) != XR_OK ||
        (rc = obuf_adds(b, name, err)) != XR_OK ||
        (rc = obuf_adds(b, ">", err)) != XR_OK ||
        (rc = obuf_add(b, (const char *)enc, n, err)) != XR_OK ||
        (rc = obuf_adds(b, "</", err)) != XR_OK ||
        (rc = obuf_adds(b, name, err)) != XR_OK ||
        (rc = obuf_adds(b, ">", err)) != XR_OK)
        goto out;
    rc = XR_OK;
out:
    if (enc) {
        OPENSSL_cleanse(enc, strlen((const char *)enc));
        xmlFree(enc);
    }
    return rc;
}

/* Wrapper + request + fields (omitting empty ones) into *b. */
static enum xr_status build(struct obuf *b, const char *wrapper,
                            const struct body_field *fields, size_t nfields,
                            struct xr_error *err)
{
    enum xr_status rc;

    if ((rc = obuf_adds(b, "<", err)) != XR_OK ||
        (rc = obuf_adds(b, wrapper, err)) != XR_OK ||
        (rc = obuf_adds(b, " xmlns=\"" VTJ_NS_WS "\"><request>", err)) != XR_OK)
        return rc;
    for (size_t i = 0; i < nfields; i++) {
        if (!is_given(fields[i].value))
            continue;
        rc = obuf_element(b, fields[i].element, fields[i].value, err);
        if (rc != XR_OK)
            return rc;
    }
    if ((rc = obuf_adds(b, "</request></", err)) != XR_OK ||
        (rc = obuf_adds(b, wrapper, err)) != XR_OK ||
        (rc = obuf_adds(b, ">", err)) != XR_OK)
        return rc;
    return XR_OK;
}

enum xr_status vtj_request_body(const struct vtj_query *q,
                                const struct vtj_credentials *cred, char **xml,
                                size_t *len, struct xr_error *err)
{
    struct obuf b = {NULL, 0, 0};
    enum xr_status rc;

    *xml = NULL;
    if (len)
        *len = 0;
    rc = vtj_query_check(q, err);
    if (rc != XR_OK)
        goto out;
    rc = check_credentials(cred, err);
    if (rc != XR_OK)
        goto out;
    {
        /* WSDL order (HenkiloTunnusKyselyReqBodyTiedot). */
        const struct body_field fields[] = {
            {"SoSoNimi", q->product},
            {"Kayttajatunnus", cred->username},
            {"Salasana", cred->password},
            {"Loppukayttaja", q->end_user},
            {"Laskutustiedot", q->billing},
            {"Henkilotunnus", q->hetu},
            {"SahkoinenAsiointitunnus", q->satu},
            {"VarmenteenMyontaja", q->cert_issuer},
            {"X509Certificate", q->x509_certificate},
            {"VarmenteenVoimassaolotarkistus", q->cert_validity},
            {"VarmenteenSulkulistatarkistus", q->cert_crl},
            {"Tunnistusportaali", q->portal},
            {"Vara1", q->reserved1},
        };

        rc = obuf_init(&b, err);
        if (rc != XR_OK)
            goto out;
        rc = build(&b, VTJ_SERVICE_CODE, fields,
                   sizeof(fields) / sizeof(fields[0]), err);
        if (rc != XR_OK)
            goto out;
    }
    *xml = b.ptr;
    if (len)
        *len = b.len;
    b.ptr = NULL; /* ownership moved to the caller */
    rc = XR_OK;
out:
    obuf_cleanup(&b);
    return rc;
}

enum xr_status vtj_schema_request_body(const char *product, int laji,
                                       char **xml, size_t *len,
                                       struct xr_error *err)
{
    struct obuf b = {NULL, 0, 0};
    char num[16];
    enum xr_status rc;

    *xml = NULL;
    if (len)
        *len = 0;
    rc = check_product(product, err);
    if (rc != XR_OK)
        goto out;
    if (laji < 0 || laji > 99) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_laji", "Laji",
                          "Laji must be 0..99");
        goto out;
    }
    (void)snprintf(num, sizeof(num), "%d", laji);
    {
        const struct body_field fields[] = {
            {"SoSoNimi", product},
            {"Laji", num},
        };

        rc = obuf_init(&b, err);
        if (rc != XR_OK)
            goto out;
        rc = build(&b, VTJ_SCHEMA_SERVICE_CODE, fields,
                   sizeof(fields) / sizeof(fields[0]), err);
        if (rc != XR_OK)
            goto out;
    }
    *xml = b.ptr;
    if (len)
        *len = b.len;
    b.ptr = NULL; /* ownership moved to the caller */
    rc = XR_OK;
out:
    obuf_cleanup(&b);
    return rc;
}

void vtj_body_free(char *xml, size_t len)
{
    if (!xml)
        return;
    if (len == 0)
        len = strlen(xml);
    OPENSSL_cleanse(xml, len);
    free(xml);
}

void vtj_password_free(char *password)
{
    if (!password)
        return;
    OPENSSL_cleanse(password, strlen(password));
    free(password);
}

/* Read at most VTJ_CREDENTIAL_MAX + 2 bytes of the first line of path. */
static enum xr_status read_secret_file(const char *path, char *buf, size_t size,
                                       size_t *n, struct xr_error *err)
{
    struct stat st;
    int fd = -1;
    ssize_t got;
    enum xr_status rc;

    *n = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = xr_error_set_errno(err, XR_EIO, errno, "credential_unavailable",
                                "", "cannot open the VTJ password file %.200s",
                                path);
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = xr_error_set(err, XR_EIO, "credential_unavailable", "",
                          "the VTJ password file %.200s is not a regular "
                          "file",
                          path);
        goto out;
    }
    if ((st.st_mode & 0077) != 0) {
        rc = xr_error_set(err, XR_EINVAL, "credential_file_permissions", "",
                          "the VTJ password file %.200s is accessible to "
                          "group or others (chmod 600)",
                          path);
        goto out;
    }
    /* One read loop bounded by the buffer; a longer file is an error. */
    while (*n < size) {
        got = read(fd, buf + *n, size - *n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = xr_error_set_errno(
                err, XR_EIO, errno, "credential_unavailable", "",
                "cannot read the VTJ password file %.200s", path);
            goto out;
        }
        if (got == 0)
            break;
        *n += (size_t)got;
    }
    rc = XR_OK;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

enum xr_status vtj_password_load(const char *path, const char *env_name,
                                 char **out, struct xr_error *err)
{
    /* Room for the value, a CR LF and one byte to detect overlong. */
    char buf[VTJ_CREDENTIAL_MAX + 3];
    char *pw = NULL;
    size_t n = 0, end;
    enum xr_status rc;
    int trc;

    *out = NULL;
    if (is_given(path) == is_given(env_name)) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                          "give the VTJ password as exactly one of a file "
                          "or an environment variable");
        goto out;
    }
    if (is_given(path)) {
        rc = read_secret_file(path, buf, sizeof(buf) - 1u, &n, err);
        if (rc != XR_OK)
            goto out;
    } else {
        const char *v = getenv(env_name);
        if (!v) {
            rc = xr_error_set(err, XR_EIO, "credential_unavailable", "",
                              "the environment variable %.64s is not set",
                              env_name);
            goto out;
        }
        n = strnlen(v, sizeof(buf) - 1u);
        memcpy(buf, v, n);
    }
    buf[n] = '\0';
    /* The first line only, without LF or CR LF. */
    for (end = 0; end < n && buf[end] != '\n'; end++)
        ;
    if (end > 0 && buf[end - 1] == '\r')
        end--;
    buf[end] = '\0';
    if (end == 0) {
        rc = xr_error_set(err, XR_EINVAL, "missing_password", "Salasana",
                          "the VTJ password is empty");
        goto out;
    }
    trc = check_text(buf, VTJ_CREDENTIAL_MAX, false, NULL);
    if (trc > 0) {
        rc = xr_error_set(err, XR_EINVAL, "credential_too_long", "Salasana",
                          "the VTJ password is longer than %d bytes",
                          VTJ_CREDENTIAL_MAX);
        goto out;
    }
    if (trc < 0) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_credential", "Salasana",
                          "the VTJ password contains invalid characters");
        goto out;
    }
    pw = strdup(buf);
    if (!pw) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    *out = pw;
    pw = NULL; /* ownership moved to the caller */
    rc = XR_OK;
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    vtj_password_free(pw);
    return rc;
}

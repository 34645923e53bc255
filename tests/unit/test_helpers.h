/*
 * Shared helpers for the libxroad unit tests: error assertions that name the
 * caller's line, a growable string buffer, a builder for X-Road SOAP
 * responses with every header element under the test's control, file and
 * vector-directory access, and an independent SHA-512/base64.
 *
 * Everything is static inline so each test executable takes what it uses.
 * Include after <cmocka.h>'s prerequisites; this header includes them.
 */
#ifndef XR_TEST_HELPERS_H
#define XR_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include <xroad/xroad.h>

/* ------------------------------------------------------------------ */
/* Error assertions                                                    */

/*
 * The call failed (st != XR_OK), err->code equals st, err->reason equals
 * `reason` and err->msg is a non-empty sentence.
 */
#define XRT_ASSERT_REASON(st, err, reason) \
    xrt_assert_reason_at((st), &(err), (reason), __FILE__, __LINE__)

/* As XRT_ASSERT_REASON, and err->field equals `field`. */
#define XRT_ASSERT_REASON_FIELD(st, err, reason, field)                   \
    xrt_assert_reason_field_at((st), &(err), (reason), (field), __FILE__, \
                               __LINE__)

/* The call failed and err->reason is one of the NULL-terminated list. */
#define XRT_ASSERT_REASON_IN(st, err, ...)                                 \
    xrt_assert_reason_in_at((st), &(err), __FILE__, __LINE__, __VA_ARGS__, \
                            (const char *)NULL)

/* The call succeeded; prints the error otherwise. */
#define XRT_ASSERT_OK(st, err) \
    xrt_assert_ok_at((st), &(err), __FILE__, __LINE__)

static inline void xrt_assert_ok_at(enum xr_status st,
                                    const struct xr_error *err,
                                    const char *file, int line)
{
    if (st != XR_OK)
        fail_msg("%s:%d: expected XR_OK, got %s reason=%s field='%s' "
                 "msg='%s'",
                 file, line, xr_strerror(st),
                 err->reason ? err->reason : "(null)", err->field, err->msg);
}

static inline void xrt_assert_failed_at(enum xr_status st,
                                        const struct xr_error *err,
                                        const char *file, int line)
{
    if (st == XR_OK)
        fail_msg("%s:%d: expected a failure, got XR_OK", file, line);
    if (err->code != st)
        fail_msg("%s:%d: err->code %s differs from the returned %s", file, line,
                 xr_strerror(err->code), xr_strerror(st));
    if (err->reason == NULL)
        fail_msg("%s:%d: err->reason is NULL after a failure", file, line);
    if (err->msg[0] == '\0')
        fail_msg("%s:%d: err->msg is empty (reason %s)", file, line,
                 err->reason);
    if (memchr(err->msg, '\0', sizeof(err->msg)) == NULL)
        fail_msg("%s:%d: err->msg is not NUL-terminated", file, line);
    if (memchr(err->field, '\0', sizeof(err->field)) == NULL)
        fail_msg("%s:%d: err->field is not NUL-terminated", file, line);
    /* Messages go into JSON and the journal: they must be valid UTF-8. */
    if (!xmlCheckUTF8((const xmlChar *)err->msg))
        fail_msg("%s:%d: err->msg is not valid UTF-8 (reason %s)", file, line,
                 err->reason);
}

static inline void xrt_assert_reason_at(enum xr_status st,
                                        const struct xr_error *err,
                                        const char *reason, const char *file,
                                        int line)
{
    xrt_assert_failed_at(st, err, file, line);
    if (strcmp(err->reason, reason) != 0)
        fail_msg("%s:%d: reason: want %s, got %s (%s, field '%s', msg '%s')",
                 file, line, reason, err->reason, xr_strerror(st), err->field,
                 err->msg);
}

static inline void xrt_assert_reason_field_at(enum xr_status st,
                                              const struct xr_error *err,
                                              const char *reason,
                                              const char *field,
                                              const char *file, int line)
{
    xrt_assert_reason_at(st, err, reason, file, line);
    if (strcmp(err->field, field) != 0)
        fail_msg("%s:%d: field: want '%s', got '%s' (reason %s, msg '%s')",
                 file, line, field, err->field, err->reason, err->msg);
}

static inline void xrt_assert_reason_in_at(enum xr_status st,
                                           const struct xr_error *err,
                                           const char *file, int line, ...)
{
    va_list ap;
    const char *r;
    bool found = false;

    xrt_assert_failed_at(st, err, file, line);
    va_start(ap, line);
    while ((r = va_arg(ap, const char *)) != NULL) {
        if (strcmp(r, err->reason) == 0)
            found = true;
    }
    va_end(ap);
    if (!found)
        fail_msg("%s:%d: unexpected reason %s (field '%s', msg '%s')", file,
                 line, err->reason, err->field, err->msg);
}

/* ------------------------------------------------------------------ */
/* Growable buffer                                                     */

struct xrt_buf {
    char *p;
    size_t len;
    size_t cap;
};

static inline void xrt_buf_addn(struct xrt_buf *b, const void *data, size_t n)
{
    assert_true(n < ((size_t)1 << 40)); /* also tells gcc n is sane */
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *np;
        while (cap < b->len + n + 1)
            cap *= 2;
        np = realloc(b->p, cap);
        assert_non_null(np);
        b->p = np;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void xrt_buf_adds(struct xrt_buf *b, const char *s)
{
    xrt_buf_addn(b, s, strlen(s));
}

static inline void xrt_buf_addf(struct xrt_buf *b, const char *fmt, ...)
    XR_PRINTF(2, 3);
static inline void xrt_buf_addf(struct xrt_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    char small[512];

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if ((size_t)n < sizeof(small)) {
        xrt_buf_addn(b, small, (size_t)n);
        return;
    }
    {
        char *big = malloc((size_t)n + 1);
        assert_non_null(big);
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        xrt_buf_addn(b, big, (size_t)n);
        free(big);
    }
}

/* Append n copies of s. */
static inline void xrt_buf_repeat(struct xrt_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xrt_buf_adds(b, s);
}

static inline void xrt_buf_free(struct xrt_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Append s with the five XML special characters escaped. */
static inline void xrt_buf_add_escaped(struct xrt_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            xrt_buf_adds(b, "&lt;");
            break;
        case '>':
            xrt_buf_adds(b, "&gt;");
            break;
        case '&':
            xrt_buf_adds(b, "&amp;");
            break;
        case '"':
            xrt_buf_adds(b, "&quot;");
            break;
        case '\'':
            xrt_buf_adds(b, "&apos;");
            break;
        default:
            xrt_buf_addn(b, s, 1);
            break;
        }
    }
}

/*
 * Replace the first occurrence of `from` in the NUL-terminated text with
 * `to`; returns a new string (free()), or NULL when `from` is absent.
 */
static inline char *xrt_replace(const char *text, size_t text_len,
                                const char *from, const char *to,
                                size_t *out_len)
{
    struct xrt_buf b = {0};
    const char *hit = NULL;
    size_t flen = strlen(from);

    for (size_t i = 0; i + flen <= text_len; i++) {
        if (memcmp(text + i, from, flen) == 0) {
            hit = text + i;
            break;
        }
    }
    if (!hit)
        return NULL;
    xrt_buf_addn(&b, text, (size_t)(hit - text));
    xrt_buf_adds(&b, to);
    xrt_buf_addn(&b, hit + flen, text_len - (size_t)(hit - text) - flen);
    if (out_len)
        *out_len = b.len;
    return b.p;
}

/* ------------------------------------------------------------------ */
/* Files and vectors                                                   */

/* Whole file into a new NUL-terminated buffer, or NULL when unreadable. */
static inline uint8_t *xrt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct xrt_buf b = {0};
    char chunk[8192];
    size_t n;

    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        xrt_buf_addn(&b, chunk, n);
    fclose(f);
    if (!b.p)
        xrt_buf_addn(&b, "", 0);
    *len = b.len;
    return (uint8_t *)b.p;
}

/* $XR_VECTORS_DIR when it names a directory, else NULL. */
static inline const char *xrt_vectors_dir(void)
{
    const char *d = getenv("XR_VECTORS_DIR");
    struct stat st;

    if (!d || !*d || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return d;
}

/* Skip the current test with a message when the vectors are absent. */
#define XRT_REQUIRE_VECTORS(dir)                                              \
    do {                                                                      \
        (dir) = xrt_vectors_dir();                                            \
        if (!(dir)) {                                                         \
            print_message("SKIP: XR_VECTORS_DIR (%s) is not a directory; "    \
                          "vector test skipped\n",                            \
                          getenv("XR_VECTORS_DIR") ? getenv("XR_VECTORS_DIR") \
                                                   : "unset");                \
            skip();                                                           \
        }                                                                     \
    } while (0)

/* ------------------------------------------------------------------ */
/* Hash                                                                */

/* base64(SHA-512(data)), computed with OpenSSL directly (88 chars). */
static inline void xrt_sha512_b64(const void *data, size_t len, char out[89])
{
    unsigned char md[64];
    unsigned int mdlen = 0;

    assert_int_equal(EVP_Digest(data, len, md, &mdlen, EVP_sha512(), NULL), 1);
    assert_int_equal(mdlen, 64);
    assert_int_equal(EVP_EncodeBlock((unsigned char *)out, md, 64), 88);
    out[88] = '\0';
}

/* ------------------------------------------------------------------ */
/* Library set-up for cmocka groups                                    */

/*
 * XRT_TEST_FILTER=<glob> runs only the matching tests (cmocka's filter),
 * e.g. to look at one test's leaks under ASan.
 */
/*
 * Test selection from the environment (tests/unit/CMakeLists.txt):
 *   XRT_TEST_FILTER   run only the tests matching this cmocka pattern;
 *   XRT_SKIP_FILTER   report these as skipped (the vector cases of an
 *                     executable, which run under their own ctest name);
 *   XRT_VECTORS_ONLY  run only the tests named *vectors*, or exit 77
 *                     (ctest SKIP_RETURN_CODE) when ../shared/vectors is
 *                     absent, so ctest reports them as skipped.
 */
static inline void xrt_filter_from_env(void)
{
    const char *f = getenv("XRT_TEST_FILTER");
    const char *skip = getenv("XRT_SKIP_FILTER");

    if (getenv("XRT_VECTORS_ONLY")) {
        if (!xrt_vectors_dir()) {
            printf("SKIP: XR_VECTORS_DIR (%s) is not a directory: the "
                   "shared vector cases are skipped\n",
                   getenv("XR_VECTORS_DIR") ? getenv("XR_VECTORS_DIR")
                                            : "unset");
            exit(77);
        }
        cmocka_set_test_filter("*vectors*");
        return;
    }
    if (f && *f)
        cmocka_set_test_filter(f);
    if (skip && *skip)
        cmocka_set_skip_filter(skip);
}

static inline int xrt_group_setup(void **state)
{
    struct xr_error err;

    (void)state;
    return xr_global_init(&err) == XR_OK ? 0 : -1;
}

static inline int xrt_group_teardown(void **state)
{
    (void)state;
    xr_global_cleanup();
    return 0;
}

/* ------------------------------------------------------------------ */
/* Identifiers and a standard request                                  */

#define XRT_CLIENT "SUBSYSTEM:FI-TEST/MUN/0000000-0/example-adapter"
#define XRT_SERVICE \
    "SERVICE:FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1"
#define XRT_SERVICE_CODE "HenkilonTunnusKysely"
#define XRT_MSG_ID       "6f1c2d3e-0000-4000-8000-00000000abcd"
#define XRT_USER_ID      "example-user-42"
#define XRT_ISSUE        "case-17"
#define XRT_PARTY_CLASS  "COM"
#define XRT_PARTY_CODE   "1234567-8"
#define XRT_NS_BODY      "http://xml.vrk.fi/ws/vtj/vtjkysely/1"

/*
 * The header every response test starts from: SUBSYSTEM client, SERVICE
 * with subsystem and version, fixed id, userId, issue, representedParty.
 */
static inline void xrt_std_header(struct xr_header *h)
{
    struct xr_error err;

    xr_header_init(h);
    XRT_ASSERT_OK(xr_id_parse_client(XRT_CLIENT, &h->client, &err), err);
    XRT_ASSERT_OK(xr_id_parse_service(XRT_SERVICE, &h->service, &err), err);
    snprintf(h->id, sizeof(h->id), "%s", XRT_MSG_ID);
    h->has_user_id = true;
    snprintf(h->user_id, sizeof(h->user_id), "%s", XRT_USER_ID);
    h->has_issue = true;
    snprintf(h->issue, sizeof(h->issue), "%s", XRT_ISSUE);
    h->has_represented_party = true;
    h->has_party_class = true;
    snprintf(h->party_class, sizeof(h->party_class), "%s", XRT_PARTY_CLASS);
    snprintf(h->party_code, sizeof(h->party_code), "%s", XRT_PARTY_CODE);
}

/*
 * Build h around body with xr_request_new() (parsed) and
 * xr_request_new_own() (not parsed): both must succeed with the same bytes.
 */
static inline void xrt_assert_builders_agree(const struct xr_header *h,
                                             const char *body, size_t len)
{
    struct xr_request *parsed = NULL, *own = NULL;
    struct xr_error err;
    struct xr_bytes a, b;

    XRT_ASSERT_OK(xr_request_new(h, (const uint8_t *)body, len, &parsed, &err),
                  err);
    XRT_ASSERT_OK(xr_request_new_own(h, (const uint8_t *)body, len, &own, &err),
                  err);
    a = xr_request_bytes(parsed);
    b = xr_request_bytes(own);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    xr_request_free(parsed);
    xr_request_free(own);
}

static inline struct xr_request *xrt_request_from(const struct xr_header *h)
{
    struct xr_request *req = NULL;
    struct xr_error err;
    static const char body[] =
        "<vtj:" XRT_SERVICE_CODE " xmlns:vtj=\"" XRT_NS_BODY "\">"
        "<vtj:request><vtj:SoSoNimi>PERUSSANOMA 3</vtj:SoSoNimi>"
        "<vtj:Henkilotunnus>010101-999X</vtj:Henkilotunnus></vtj:request>"
        "</vtj:" XRT_SERVICE_CODE ">";

    XRT_ASSERT_OK(
        xr_request_new(h, (const uint8_t *)body, sizeof(body) - 1, &req, &err),
        err);
    assert_non_null(req);
    return req;
}

static inline struct xr_request *xrt_std_request(void)
{
    struct xr_header h;

    xrt_std_header(&h);
    return xrt_request_from(&h);
}

/* ------------------------------------------------------------------ */
/* Response builder                                                    */

/*
 * One SOAP message, element by element. Each header slot holds a complete
 * XML fragment, or "" to leave the element out. `extra` is appended to the
 * Header, `body` is the content of Body (body_dyn overrides it when set).
 * `order` lists the slots to emit, by letter:
 *   c client, s service, i id, h requestHash, u userId, x issue,
 *   r representedParty, S securityServer, v protocolVersion, e extra.
 */
#define XRT_FRAG_MAX 2048

struct xrt_msg {
    bool no_header;
    bool no_body;
    const char *order;
    char client[XRT_FRAG_MAX];
    char service[XRT_FRAG_MAX];
    char id[XRT_FRAG_MAX];
    char request_hash[XRT_FRAG_MAX];
    char user_id[XRT_FRAG_MAX];
    char issue[XRT_FRAG_MAX];
    char repr[XRT_FRAG_MAX];
    char security_server[XRT_FRAG_MAX];
    char protocol_version[XRT_FRAG_MAX];
    char extra[XRT_FRAG_MAX * 2];
    char body[XRT_FRAG_MAX * 4];
    const char *body_dyn;
};

#define XRT_DEFAULT_ORDER "csihuxrSve"

/* <xrd:ELEM id:objectType="TYPE"><id:...>...</xrd:ELEM> */
static inline void xrt_id_xml(char *out, size_t size, const char *elem,
                              const struct xr_id *id)
{
    struct xrt_buf b = {0};

    xrt_buf_addf(&b, "<xrd:%s id:objectType=\"%s\">", elem,
                 xr_id_type_name(id->type));
    xrt_buf_addf(&b, "<id:xRoadInstance>%s</id:xRoadInstance>", id->instance);
    xrt_buf_addf(&b, "<id:memberClass>%s</id:memberClass>", id->member_class);
    xrt_buf_addf(&b, "<id:memberCode>%s</id:memberCode>", id->member_code);
    if (id->subsystem_code[0])
        xrt_buf_addf(&b, "<id:subsystemCode>%s</id:subsystemCode>",
                     id->subsystem_code);
    if (id->type == XR_ID_SERVICE) {
        xrt_buf_addf(&b, "<id:serviceCode>%s</id:serviceCode>",
                     id->service_code);
        if (id->service_version[0])
            xrt_buf_addf(&b, "<id:serviceVersion>%s</id:serviceVersion>",
                         id->service_version);
    }
    if (id->type == XR_ID_SERVER)
        xrt_buf_addf(&b, "<id:serverCode>%s</id:serverCode>", id->server_code);
    xrt_buf_addf(&b, "</xrd:%s>", elem);
    assert_true(b.len < size);
    snprintf(out, size, "%s", b.p);
    xrt_buf_free(&b);
}

/* <xrd:NAME>escaped text</xrd:NAME> */
static inline void xrt_text_xml(char *out, size_t size, const char *name,
                                const char *text)
{
    struct xrt_buf b = {0};

    xrt_buf_addf(&b, "<xrd:%s>", name);
    xrt_buf_add_escaped(&b, text);
    xrt_buf_addf(&b, "</xrd:%s>", name);
    assert_true(b.len < size);
    snprintf(out, size, "%s", b.p);
    xrt_buf_free(&b);
}

static inline void xrt_hash_xml(char *out, size_t size, const char *algo,
                                const char *value)
{
    snprintf(out, size,
             "<xrd:requestHash algorithmId=\"%s\">%s</xrd:requestHash>", algo,
             value);
}

/*
 * Fill *m with an exact echo of req's header, a requestHash over its bytes
 * (when with_hash) and the body <vtj:<serviceCode>Response>.
 */
static inline void xrt_msg_echo(struct xrt_msg *m, const struct xr_request *req,
                                bool with_hash)
{
    const struct xr_header *h = xr_request_header(req);
    char hash[XR_HASH_B64_MAX + 1];

    memset(m, 0, sizeof(*m));
    xrt_id_xml(m->client, sizeof(m->client), "client", &h->client);
    xrt_id_xml(m->service, sizeof(m->service), "service", &h->service);
    xrt_text_xml(m->id, sizeof(m->id), "id", h->id);
    if (h->has_user_id)
        xrt_text_xml(m->user_id, sizeof(m->user_id), "userId", h->user_id);
    if (h->has_issue)
        xrt_text_xml(m->issue, sizeof(m->issue), "issue", h->issue);
    if (h->has_represented_party) {
        struct xrt_buf b = {0};
        xrt_buf_adds(&b, "<repr:representedParty>");
        if (h->has_party_class) {
            xrt_buf_adds(&b, "<repr:partyClass>");
            xrt_buf_add_escaped(&b, h->party_class);
            xrt_buf_adds(&b, "</repr:partyClass>");
        }
        xrt_buf_adds(&b, "<repr:partyCode>");
        xrt_buf_add_escaped(&b, h->party_code);
        xrt_buf_adds(&b, "</repr:partyCode></repr:representedParty>");
        snprintf(m->repr, sizeof(m->repr), "%s", b.p);
        xrt_buf_free(&b);
    }
    if (h->has_security_server)
        xrt_id_xml(m->security_server, sizeof(m->security_server),
                   "securityServer", &h->security_server);
    xrt_text_xml(m->protocol_version, sizeof(m->protocol_version),
                 "protocolVersion", "4.0");
    if (with_hash) {
        xr_request_hash(req, hash, sizeof(hash));
        xrt_hash_xml(m->request_hash, sizeof(m->request_hash), XR_HASH_ALGO_URI,
                     hash);
    }
    snprintf(m->body, sizeof(m->body),
             "<vtj:%sResponse xmlns:vtj=\"" XRT_NS_BODY "\">"
             "<vtj:response>ok</vtj:response></vtj:%sResponse>",
             h->service.service_code, h->service.service_code);
}

/* Serialise *m; returns a new NUL-terminated string (free()). */
static inline char *xrt_msg_render(const struct xrt_msg *m, size_t *len)
{
    struct xrt_buf b = {0};
    const char *order = m->order ? m->order : XRT_DEFAULT_ORDER;

    xrt_buf_adds(&b,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<SOAP-ENV:Envelope"
                 " xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\""
                 " xmlns:xrd=\"http://x-road.eu/xsd/xroad.xsd\""
                 " xmlns:id=\"http://x-road.eu/xsd/identifiers\""
                 " xmlns:repr=\"http://x-road.eu/xsd/representation.xsd\">\n");
    if (!m->no_header) {
        xrt_buf_adds(&b, "<SOAP-ENV:Header>\n");
        for (const char *o = order; *o; o++) {
            const char *f = "";
            switch (*o) {
            case 'c':
                f = m->client;
                break;
            case 's':
                f = m->service;
                break;
            case 'i':
                f = m->id;
                break;
            case 'h':
                f = m->request_hash;
                break;
            case 'u':
                f = m->user_id;
                break;
            case 'x':
                f = m->issue;
                break;
            case 'r':
                f = m->repr;
                break;
            case 'S':
                f = m->security_server;
                break;
            case 'v':
                f = m->protocol_version;
                break;
            case 'e':
                f = m->extra;
                break;
            default:
                fail_msg("bad order letter %c", *o);
            }
            if (*f) {
                xrt_buf_adds(&b, f);
                xrt_buf_adds(&b, "\n");
            }
        }
        xrt_buf_adds(&b, "</SOAP-ENV:Header>\n");
    }
    if (!m->no_body) {
        xrt_buf_adds(&b, "<SOAP-ENV:Body>");
        xrt_buf_adds(&b, m->body_dyn ? m->body_dyn : m->body);
        xrt_buf_adds(&b, "</SOAP-ENV:Body>\n");
    }
    xrt_buf_adds(&b, "</SOAP-ENV:Envelope>\n");
    *len = b.len;
    return b.p;
}

/*
 * Run xr_response_check of req against *m rendered as text/xml.
 * Returns the status; *out receives the response (caller frees).
 */
static inline enum xr_status xrt_check_msg(const struct xr_request *req,
                                           const struct xrt_msg *m,
                                           const struct xr_check_opts *opts,
                                           struct xr_response **out,
                                           struct xr_error *err)
{
    size_t len;
    char *text = xrt_msg_render(m, &len);
    enum xr_status st;

    *out = NULL;
    xr_error_clear(err);
    st = xr_response_check(req, "text/xml; charset=UTF-8",
                           (const uint8_t *)text, len, opts, out, err);
    free(text);
    if (st != XR_OK && *out != NULL)
        fail_msg("xr_response_check failed (%s) but set *out", err->reason);
    return st;
}

#endif

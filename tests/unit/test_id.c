/*
 * Unit tests for include/xroad/id.h: parsing, validation, formatting and
 * comparison of X-Road client, service and security-server identifiers.
 */
#include <errno.h>

#include "test_helpers.h"

static const struct xr_id zero_id;

/* The id failed with "invalid_id" and *out was zeroed. */
#define ASSERT_INVALID_ID(st, err, out)                         \
    do {                                                        \
        XRT_ASSERT_REASON((st), (err), "invalid_id");           \
        assert_int_equal((st), XR_EINVAL);                      \
        assert_memory_equal(&(out), &zero_id, sizeof(zero_id)); \
    } while (0)

static void fill_garbage(struct xr_id *id)
{
    memset(id, 'Z', sizeof(*id));
    id->instance[sizeof(id->instance) - 1] = '\0';
}

static void test_parse_member(void **state)
{
    struct xr_id id;
    struct xr_error err;

    (void)state;
    XRT_ASSERT_OK(xr_id_parse_client("FI/GOV/0245437-2", &id, &err), err);
    assert_int_equal(id.type, XR_ID_MEMBER);
    assert_string_equal(id.instance, "FI");
    assert_string_equal(id.member_class, "GOV");
    assert_string_equal(id.member_code, "0245437-2");
    assert_string_equal(id.subsystem_code, "");
    assert_string_equal(id.service_code, "");
    assert_string_equal(id.service_version, "");
    assert_string_equal(id.server_code, "");

    XRT_ASSERT_OK(xr_id_parse_client("MEMBER:FI-TEST/MUN/0000000-0", &id, &err),
                  err);
    assert_int_equal(id.type, XR_ID_MEMBER);
    assert_string_equal(id.instance, "FI-TEST");
    assert_string_equal(id.member_class, "MUN");
    assert_string_equal(id.member_code, "0000000-0");
    assert_string_equal(id.subsystem_code, "");
}

static void test_parse_subsystem(void **state)
{
    struct xr_id id, id2;
    struct xr_error err;

    (void)state;
    XRT_ASSERT_OK(xr_id_parse_client("FI/GOV/0245437-2/VTJkysely", &id, &err),
                  err);
    assert_int_equal(id.type, XR_ID_SUBSYSTEM);
    assert_string_equal(id.instance, "FI");
    assert_string_equal(id.member_class, "GOV");
    assert_string_equal(id.member_code, "0245437-2");
    assert_string_equal(id.subsystem_code, "VTJkysely");
    assert_string_equal(id.service_code, "");

    XRT_ASSERT_OK(
        xr_id_parse_client("SUBSYSTEM:FI/GOV/0245437-2/VTJkysely", &id2, &err),
        err);
    assert_true(xr_id_equal(&id, &id2));
}

static void test_parse_service(void **state)
{
    struct xr_id id;
    struct xr_error err;

    (void)state;
    /* Six parts: subsystem, service code and version. */
    XRT_ASSERT_OK(
        xr_id_parse_service(
            "FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1", &id, &err),
        err);
    assert_int_equal(id.type, XR_ID_SERVICE);
    assert_string_equal(id.instance, "FI");
    assert_string_equal(id.member_class, "GOV");
    assert_string_equal(id.member_code, "0245437-2");
    assert_string_equal(id.subsystem_code, "VTJkysely");
    assert_string_equal(id.service_code, "HenkilonTunnusKysely");
    assert_string_equal(id.service_version, "v1");
    assert_string_equal(id.server_code, "");

    /* Five parts: subsystem + service code, no version. */
    XRT_ASSERT_OK(xr_id_parse_service(
                      "SERVICE:FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely",
                      &id, &err),
                  err);
    assert_string_equal(id.subsystem_code, "VTJkysely");
    assert_string_equal(id.service_code, "HenkilonTunnusKysely");
    assert_string_equal(id.service_version, "");

    /* Four parts: member-level service. */
    XRT_ASSERT_OK(
        xr_id_parse_service("EE/BUSINESS/producer/getState", &id, &err), err);
    assert_int_equal(id.type, XR_ID_SERVICE);
    assert_string_equal(id.member_code, "producer");
    assert_string_equal(id.subsystem_code, "");
    assert_string_equal(id.service_code, "getState");
    assert_string_equal(id.service_version, "");
}

static void test_parse_server(void **state)
{
    struct xr_id id;
    struct xr_error err;

    (void)state;
    XRT_ASSERT_OK(xr_id_parse_server("SERVER:FI/GOV/0245437-2/ss1", &id, &err),
                  err);
    assert_int_equal(id.type, XR_ID_SERVER);
    assert_string_equal(id.member_code, "0245437-2");
    assert_string_equal(id.server_code, "ss1");
    assert_string_equal(id.subsystem_code, "");

    XRT_ASSERT_OK(xr_id_parse_server("FI/GOV/0245437-2/ss1", &id, &err), err);
    assert_string_equal(id.server_code, "ss1");

    fill_garbage(&id);
    ASSERT_INVALID_ID(xr_id_parse_server("FI/GOV/0245437-2", &id, &err), err,
                      id);
    fill_garbage(&id);
    ASSERT_INVALID_ID(xr_id_parse_server("FI/GOV/0245437-2/ss1/x", &id, &err),
                      err, id);
    fill_garbage(&id);
    ASSERT_INVALID_ID(
        xr_id_parse_server("SUBSYSTEM:FI/GOV/0245437-2/ss1", &id, &err), err,
        id);
}

static void test_parse_wrong_part_count(void **state)
{
    static const char *const bad_clients[] = {
        "FI",
        "FI/GOV",
        "FI/GOV/1/sub/extra",
        "FI/GOV/1/a/b/c",
    };
    static const char *const bad_services[] = {
        "FI/GOV/1",
        "FI/GOV",
        "FI/GOV/1/sub/svc/v1/extra",
        "FI/GOV/1/a/b/c/d/e",
    };
    struct xr_id id;
    struct xr_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad_clients) / sizeof(bad_clients[0]); i++) {
        fill_garbage(&id);
        ASSERT_INVALID_ID(xr_id_parse_client(bad_clients[i], &id, &err), err,
                          id);
    }
    for (size_t i = 0; i < sizeof(bad_services) / sizeof(bad_services[0]);
         i++) {
        fill_garbage(&id);
        ASSERT_INVALID_ID(xr_id_parse_service(bad_services[i], &id, &err), err,
                          id);
    }
}

static void test_parse_wrong_prefix(void **state)
{
    static const char *const bad_clients[] = {
        "SERVICE:FI/GOV/1/sub", /* a client is not a service */
        "SERVER:FI/GOV/1/ss",   /* nor a server */
        "MEMBER:FI/GOV/1/sub",  /* MEMBER has three parts */
        "SUBSYSTEM:FI/GOV/1",   /* SUBSYSTEM has four */
        "FOO:FI/GOV/1",         /* unknown type */
        "SUBSYSTEM:",           /* nothing after the prefix */
        ":FI/GOV/1",            /* empty prefix */
        "SUBSYSTEM:SUBSYSTEM:FI/GOV/1/sub",
    };
    static const char *const bad_services[] = {
        "SUBSYSTEM:FI/GOV/1/sub/svc",
        "MEMBER:FI/GOV/1/svc",
        "SERVICE:",
        "SERVICE:FI/GOV/1",
    };
    struct xr_id id;
    struct xr_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad_clients) / sizeof(bad_clients[0]); i++) {
        fill_garbage(&id);
        ASSERT_INVALID_ID(xr_id_parse_client(bad_clients[i], &id, &err), err,
                          id);
    }
    for (size_t i = 0; i < sizeof(bad_services) / sizeof(bad_services[0]);
         i++) {
        fill_garbage(&id);
        ASSERT_INVALID_ID(xr_id_parse_service(bad_services[i], &id, &err), err,
                          id);
    }
}

static void test_parse_empty_parts(void **state)
{
    static const char *const bad[] = {
        "",   "/GOV/1",      "FI//1",         "FI/GOV/",    "FI/GOV/1/",
        "//", "FI/GOV//sub", "MEMBER:/GOV/1", "FI/GOV/1//", "/",
    };
    struct xr_id id;
    struct xr_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fill_garbage(&id);
        ASSERT_INVALID_ID(xr_id_parse_client(bad[i], &id, &err), err, id);
    }
    fill_garbage(&id);
    ASSERT_INVALID_ID(xr_id_parse_service("FI/GOV/1/sub//v1", &id, &err), err,
                      id);
    fill_garbage(&id);
    ASSERT_INVALID_ID(xr_id_parse_service("FI/GOV/1/sub/svc/", &id, &err), err,
                      id);
}

static void test_parse_bad_characters(void **state)
{
    /* Each is placed into the member-code position. */
    static const char *const bad_parts[] = {
        "a b",          "a;b",
        "a%b",          "a\\b",
        "a\tb",         "a\nb",
        "a\001b",       "a\177b",
        "\xc3\xa4",                                   /* U+00E4 */
        "\xe2\x80\x8b", /* U+200B */ "\357\273\277a", /* BOM */
        "a*b",          "a\"b",
        "a<b",          "a&b",
        "a#b",          "a@b",
        " a",           "a ",
        "a_b",          "a!b",
        "a[b]",
    };
    struct xr_id id;
    struct xr_error err;
    char text[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad_parts) / sizeof(bad_parts[0]); i++) {
        snprintf(text, sizeof(text), "FI/GOV/%s", bad_parts[i]);
        fill_garbage(&id);
        ASSERT_INVALID_ID(xr_id_parse_client(text, &id, &err), err, id);
        /* The operator message must not echo raw control characters. */
        for (const char *p = err.msg; *p; p++)
            assert_false((unsigned char)*p < 0x20 || *p == 0x7f);

        snprintf(text, sizeof(text), "FI/GOV/1/sub/%s/v1", bad_parts[i]);
        fill_garbage(&id);
        ASSERT_INVALID_ID(xr_id_parse_service(text, &id, &err), err, id);
        assert_false(xr_id_part_is_valid(bad_parts[i]));
    }
    /* A colon inside a part is neither a prefix nor a valid character. */
    fill_garbage(&id);
    ASSERT_INVALID_ID(xr_id_parse_client("FI/GOV/a:b", &id, &err), err, id);
    fill_garbage(&id);
    ASSERT_INVALID_ID(xr_id_parse_client("FI:X/GOV/1", &id, &err), err, id);
}

static void test_parse_strict_charset_accepted(void **state)
{
    struct xr_id id;
    struct xr_error err;
    const char *all = "AZaz09'()+,-.=?";

    (void)state;
    assert_true(xr_id_part_is_valid(all));
    assert_true(xr_id_part_is_valid("1234567-8"));
    XRT_ASSERT_OK(
        xr_id_parse_client("FI-TEST/GOV/AZaz09'()+,-.=?/s.v", &id, &err), err);
    assert_string_equal(id.member_code, all);
    assert_string_equal(id.subsystem_code, "s.v");
}

static void test_parse_case_sensitive(void **state)
{
    struct xr_id a, b;
    struct xr_error err;

    (void)state;
    XRT_ASSERT_OK(xr_id_parse_service("FI/GOV/1/sub/service/v1", &a, &err),
                  err);
    XRT_ASSERT_OK(xr_id_parse_service("FI/GOV/1/sub/Service/V1", &b, &err),
                  err);
    assert_string_equal(b.service_code, "Service");
    assert_string_equal(b.service_version, "V1");
    assert_false(xr_id_equal(&a, &b));

    /* Lower-case instance is kept verbatim, not normalised. */
    XRT_ASSERT_OK(xr_id_parse_client("fi/gov/x", &a, &err), err);
    assert_string_equal(a.instance, "fi");
    assert_string_equal(a.member_class, "gov");
}

static void test_parse_length_limits(void **state)
{
    char part[XR_ID_PART_MAX + 2];
    char text[XR_ID_PART_MAX + 64];
    struct xr_id id;
    struct xr_error err;

    (void)state;
    memset(part, 'a', XR_ID_PART_MAX);
    part[XR_ID_PART_MAX] = '\0';
    assert_true(xr_id_part_is_valid(part));
    snprintf(text, sizeof(text), "FI/GOV/%s", part);
    XRT_ASSERT_OK(xr_id_parse_client(text, &id, &err), err);
    assert_int_equal(strlen(id.member_code), XR_ID_PART_MAX);

    part[XR_ID_PART_MAX] = 'a';
    part[XR_ID_PART_MAX + 1] = '\0';
    assert_false(xr_id_part_is_valid(part));
    snprintf(text, sizeof(text), "FI/GOV/%s", part);
    fill_garbage(&id);
    ASSERT_INVALID_ID(xr_id_parse_client(text, &id, &err), err, id);

    snprintf(text, sizeof(text), "FI/GOV/1/sub/%s", part);
    fill_garbage(&id);
    ASSERT_INVALID_ID(xr_id_parse_service(text, &id, &err), err, id);

    assert_false(xr_id_part_is_valid(""));
}

static void test_parse_huge_input(void **state)
{
    size_t n = 100000;
    char *text = malloc(n + 1);
    struct xr_id id;
    struct xr_error err;

    (void)state;
    assert_non_null(text);
    memset(text, 'a', n);
    text[n] = '\0';
    fill_garbage(&id);
    ASSERT_INVALID_ID(xr_id_parse_client(text, &id, &err), err, id);
    /* Many slashes: many empty parts. */
    memset(text, '/', n);
    fill_garbage(&id);
    ASSERT_INVALID_ID(xr_id_parse_service(text, &id, &err), err, id);
    free(text);
}

static void test_parse_err_null(void **state)
{
    struct xr_id id;

    (void)state;
    assert_int_not_equal(xr_id_parse_client("FI//x", &id, NULL), XR_OK);
    assert_int_not_equal(xr_id_parse_service("FI", &id, NULL), XR_OK);
    assert_int_not_equal(xr_id_parse_server("", &id, NULL), XR_OK);
}

struct fmt_case {
    const char *in;
    int kind; /* 0 client, 1 service, 2 server */
    const char *with_prefix;
    const char *without;
};

static void test_format_roundtrip(void **state)
{
    static const struct fmt_case cases[] = {
        {"FI/GOV/0245437-2", 0, "MEMBER:FI/GOV/0245437-2", "FI/GOV/0245437-2"},
        {"SUBSYSTEM:FI/GOV/0245437-2/VTJkysely", 0,
         "SUBSYSTEM:FI/GOV/0245437-2/VTJkysely", "FI/GOV/0245437-2/VTJkysely"},
        {"FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1", 1,
         "SERVICE:FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1",
         "FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1"},
        {"FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely", 1,
         "SERVICE:FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely",
         "FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely"},
        {"EE/BUSINESS/producer/getState", 1,
         "SERVICE:EE/BUSINESS/producer/getState",
         "EE/BUSINESS/producer/getState"},
        {"FI/GOV/0245437-2/ss1", 2, "SERVER:FI/GOV/0245437-2/ss1",
         "FI/GOV/0245437-2/ss1"},
    };
    struct xr_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct xr_id id, again;
        char buf[XR_ID_TEXT_MAX];
        size_t n;

        switch (cases[i].kind) {
        case 0:
            XRT_ASSERT_OK(xr_id_parse_client(cases[i].in, &id, &err), err);
            break;
        case 1:
            XRT_ASSERT_OK(xr_id_parse_service(cases[i].in, &id, &err), err);
            break;
        default:
            XRT_ASSERT_OK(xr_id_parse_server(cases[i].in, &id, &err), err);
            break;
        }
        n = xr_id_format(&id, true, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].with_prefix);
        assert_int_equal(n, strlen(cases[i].with_prefix));
        n = xr_id_format(&id, false, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].without);
        assert_int_equal(n, strlen(cases[i].without));

        /* The prefixed form parses back to the same identifier. */
        xr_id_format(&id, true, buf, sizeof(buf));
        switch (cases[i].kind) {
        case 0:
            XRT_ASSERT_OK(xr_id_parse_client(buf, &again, &err), err);
            break;
        case 1:
            XRT_ASSERT_OK(xr_id_parse_service(buf, &again, &err), err);
            break;
        default:
            XRT_ASSERT_OK(xr_id_parse_server(buf, &again, &err), err);
            break;
        }
        assert_true(xr_id_equal(&id, &again));
        XRT_ASSERT_OK(xr_id_validate(&id, &err), err);
    }
}

static void test_format_truncation(void **state)
{
    struct xr_id id;
    struct xr_error err;
    char buf[10];
    const char *full = "SUBSYSTEM:FI/GOV/0245437-2/VTJkysely";
    size_t n;

    (void)state;
    XRT_ASSERT_OK(xr_id_parse_client(full, &id, &err), err);
    memset(buf, 'X', sizeof(buf));
    n = xr_id_format(&id, true, buf, sizeof(buf));
    assert_int_equal(n, strlen(full));
    assert_int_equal(buf[sizeof(buf) - 1], '\0');
    assert_memory_equal(buf, full, sizeof(buf) - 1);

    /* size 0: nothing written, length still reported. */
    memset(buf, 'X', sizeof(buf));
    n = xr_id_format(&id, true, buf, 0);
    assert_int_equal(n, strlen(full));
    assert_int_equal(buf[0], 'X');

    /* Exactly fitting: length + NUL. */
    {
        char exact[37];
        assert_int_equal(sizeof(exact), strlen(full) + 1);
        n = xr_id_format(&id, true, exact, sizeof(exact));
        assert_int_equal(n, strlen(full));
        assert_string_equal(exact, full);
    }

    /* The longest identifier fits XR_ID_TEXT_MAX. */
    {
        struct xr_id big;
        char text[XR_ID_TEXT_MAX + 64];
        char out[XR_ID_TEXT_MAX];
        char part[XR_ID_PART_MAX + 1];

        memset(part, 'x', XR_ID_PART_MAX);
        part[XR_ID_PART_MAX] = '\0';
        snprintf(text, sizeof(text), "SERVICE:%s/%s/%s/%s/%s/%s", part, part,
                 part, part, part, part);
        XRT_ASSERT_OK(xr_id_parse_service(text, &big, &err), err);
        n = xr_id_format(&big, true, out, sizeof(out));
        assert_true(n < sizeof(out));
        assert_string_equal(out, text);
    }
}

static void test_equal(void **state)
{
    struct xr_id a, b;
    struct xr_error err;

    (void)state;
    XRT_ASSERT_OK(xr_id_parse_client("FI/GOV/1/sub", &a, &err), err);
    XRT_ASSERT_OK(xr_id_parse_client("SUBSYSTEM:FI/GOV/1/sub", &b, &err), err);
    assert_true(xr_id_equal(&a, &b));
    assert_true(xr_id_equal(&a, &a));

    XRT_ASSERT_OK(xr_id_parse_client("FI/GOV/1/sub2", &b, &err), err);
    assert_false(xr_id_equal(&a, &b));
    XRT_ASSERT_OK(xr_id_parse_client("FI/GOV/1", &b, &err), err);
    assert_false(xr_id_equal(&a, &b));
    XRT_ASSERT_OK(xr_id_parse_client("FI-TEST/GOV/1/sub", &b, &err), err);
    assert_false(xr_id_equal(&a, &b));

    /* Same parts, different type. */
    XRT_ASSERT_OK(xr_id_parse_server("FI/GOV/1/sub", &b, &err), err);
    assert_false(xr_id_equal(&a, &b));

    XRT_ASSERT_OK(xr_id_parse_service("FI/GOV/1/sub/svc/v1", &a, &err), err);
    XRT_ASSERT_OK(xr_id_parse_service("FI/GOV/1/sub/svc/v2", &b, &err), err);
    assert_false(xr_id_equal(&a, &b));
    XRT_ASSERT_OK(xr_id_parse_service("FI/GOV/1/sub/svc", &b, &err), err);
    assert_false(xr_id_equal(&a, &b));
}

static void test_type_name(void **state)
{
    (void)state;
    assert_string_equal(xr_id_type_name(XR_ID_MEMBER), "MEMBER");
    assert_string_equal(xr_id_type_name(XR_ID_SUBSYSTEM), "SUBSYSTEM");
    assert_string_equal(xr_id_type_name(XR_ID_SERVICE), "SERVICE");
    assert_string_equal(xr_id_type_name(XR_ID_SERVER), "SERVER");
}

static void test_validate(void **state)
{
    struct xr_id id;
    struct xr_error err;

    (void)state;
    memset(&id, 0, sizeof(id));
    id.type = XR_ID_SUBSYSTEM;
    snprintf(id.instance, sizeof(id.instance), "FI");
    snprintf(id.member_class, sizeof(id.member_class), "GOV");
    snprintf(id.member_code, sizeof(id.member_code), "0245437-2");
    /* SUBSYSTEM without a subsystem code. */
    XRT_ASSERT_REASON(xr_id_validate(&id, &err), err, "invalid_id");
    snprintf(id.subsystem_code, sizeof(id.subsystem_code), "VTJkysely");
    XRT_ASSERT_OK(xr_id_validate(&id, &err), err);

    /* A bad character in a part filled in by code. */
    snprintf(id.member_class, sizeof(id.member_class), "G V");
    XRT_ASSERT_REASON(xr_id_validate(&id, &err), err, "invalid_id");
    snprintf(id.member_class, sizeof(id.member_class), "GOV");

    /* Missing mandatory parts. */
    id.instance[0] = '\0';
    XRT_ASSERT_REASON(xr_id_validate(&id, &err), err, "invalid_id");
    snprintf(id.instance, sizeof(id.instance), "FI");

    id.type = XR_ID_SERVICE;
    XRT_ASSERT_REASON(xr_id_validate(&id, &err), err, "invalid_id");
    snprintf(id.service_code, sizeof(id.service_code), "svc");
    XRT_ASSERT_OK(xr_id_validate(&id, &err), err);
    snprintf(id.service_version, sizeof(id.service_version), "v/1");
    XRT_ASSERT_REASON(xr_id_validate(&id, &err), err, "invalid_id");

    memset(&id, 0, sizeof(id));
    id.type = XR_ID_SERVER;
    snprintf(id.instance, sizeof(id.instance), "FI");
    snprintf(id.member_class, sizeof(id.member_class), "GOV");
    snprintf(id.member_code, sizeof(id.member_code), "1");
    XRT_ASSERT_REASON(xr_id_validate(&id, &err), err, "invalid_id");
    snprintf(id.server_code, sizeof(id.server_code), "ss1");
    XRT_ASSERT_OK(xr_id_validate(&id, &err), err);

    /* A part of exactly XR_ID_PART_MAX bytes is valid ... */
    memset(&id, 0, sizeof(id));
    id.type = XR_ID_MEMBER;
    snprintf(id.instance, sizeof(id.instance), "FI");
    snprintf(id.member_class, sizeof(id.member_class), "GOV");
    memset(id.member_code, 'a', XR_ID_PART_MAX);
    XRT_ASSERT_OK(xr_id_validate(&id, &err), err);
    /* ... one without a NUL inside its array is not (bounded read). */
    memset(id.member_code, 'a', sizeof(id.member_code));
    XRT_ASSERT_REASON(xr_id_validate(&id, &err), err, "invalid_id");
}

static void test_error_helpers(void **state)
{
    struct xr_error err;
    enum xr_status st;

    (void)state;
    st = xr_error_set(&err, XR_EPROTO, "header_mismatch", "userId", "userId %s",
                      "differs");
    assert_int_equal(st, XR_EPROTO);
    assert_int_equal(err.code, XR_EPROTO);
    assert_string_equal(err.reason, "header_mismatch");
    assert_string_equal(err.field, "userId");
    assert_string_equal(err.msg, "userId differs");
    xr_error_clear(&err);
    assert_int_equal(err.code, XR_OK);
    assert_string_equal(err.field, "");
    assert_string_equal(err.msg, "");
    xr_error_clear(NULL);
    assert_int_equal(xr_error_set(NULL, XR_EINVAL, "x", NULL, "y"), XR_EINVAL);

    /* Over-long field and message are truncated, still terminated. */
    {
        char longf[200];
        memset(longf, 'f', sizeof(longf) - 1);
        longf[sizeof(longf) - 1] = '\0';
        xr_error_set(&err, XR_EINVAL, "invalid_id", longf, "%s", longf);
        assert_non_null(memchr(err.field, '\0', sizeof(err.field)));
        assert_non_null(memchr(err.msg, '\0', sizeof(err.msg)));
    }
    /* A failed system call: errno kept and explained. */
    st = xr_error_set_errno(&err, XR_EIO, ENOENT, "io_error", "", "open %s",
                            "/x");
    assert_int_equal(st, XR_EIO);
    assert_int_equal(err.sys_errno, ENOENT);
    assert_string_equal(err.msg, "open /x: No such file or directory");
    xr_error_set(&err, XR_EIO, "io_error", "", "plain");
    assert_int_equal(err.sys_errno, 0);
    assert_int_equal(xr_error_set_errno(NULL, XR_EIO, EIO, "x", "", "y"),
                     XR_EIO);
    assert_string_equal(xr_strerror(XR_OK), "XR_OK");
    assert_string_equal(xr_strerror(XR_EPROTO), "XR_EPROTO");
    assert_string_equal(xr_strerror(XR_ESIG), "XR_ESIG");
    assert_non_null(xr_strerror((enum xr_status)999));
    assert_non_null(xr_version());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_member),
        cmocka_unit_test(test_parse_subsystem),
        cmocka_unit_test(test_parse_service),
        cmocka_unit_test(test_parse_server),
        cmocka_unit_test(test_parse_wrong_part_count),
        cmocka_unit_test(test_parse_wrong_prefix),
        cmocka_unit_test(test_parse_empty_parts),
        cmocka_unit_test(test_parse_bad_characters),
        cmocka_unit_test(test_parse_strict_charset_accepted),
        cmocka_unit_test(test_parse_case_sensitive),
        cmocka_unit_test(test_parse_length_limits),
        cmocka_unit_test(test_parse_huge_input),
        cmocka_unit_test(test_parse_err_null),
        cmocka_unit_test(test_format_roundtrip),
        cmocka_unit_test(test_format_truncation),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_type_name),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_error_helpers),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("id", tests, xrt_group_setup,
                                       xrt_group_teardown);
}

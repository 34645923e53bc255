/*
 * Unit tests of the VTJ answer decoder (vtj_decode.c): one fixture per
 * product shape (tests/data/vtj), every return code, turvakielto rules,
 * redaction, subject checks, structural errors and limits, the JSON form,
 * the shared synthetic vectors 02 and 03, and HaeTuotteenSkeema answers.
 */
#include "test_vtj_common.h"

#include <dirent.h>

#include <jansson.h>

#include "services/vtj.h"
#include "jw.h"
#include "oom_alloc.h"

#define H1 "150585-9122" /* default subject of in-code messages */

struct dec {
    xmlDocPtr doc;
    struct vtj_result *r;
    json_t *j;
    struct xr_error err;
    enum xr_status st;
};

static void dec_free(struct dec *d)
{
    json_decref(d->j);
    vtj_result_free(d->r);
    if (d->doc)
        xmlFreeDoc(d->doc);
    memset(d, 0, sizeof(*d));
}

/* Decode a wrapper element; fills d->j on success. */
static enum xr_status dec_node(struct dec *d, xmlNodePtr wrapper,
                               const struct vtj_policy *p)
{
    memset(&d->err, 0, sizeof(d->err));
    d->st = vtj_decode(wrapper, p, &d->r, &d->err);
    if (d->st == XR_OK) {
        assert_non_null(d->r);
        d->j = vtj_result_to_json(d->r);
        assert_non_null(d->j);
    } else {
        assert_null(d->r);
        assert_int_equal(d->err.code, d->st);
        assert_non_null(d->err.reason);
        assert_true(d->err.msg[0] != '\0');
    }
    return d->st;
}

/* A fixture envelope: the Body child is the wrapper. Must decode. */
static void dec_fixture(struct dec *d, const char *name,
                        const struct vtj_policy *p)
{
    size_t len = 0;
    char *buf = tv_fixture(name, &len);

    memset(d, 0, sizeof(*d));
    d->doc = tv_parse(buf, len);
    free(buf);
    assert_non_null(d->doc);
    if (dec_node(d, tv_body_child(d->doc), p) != XR_OK)
        fail_msg("%s: %s: %s", name, d->err.reason, d->err.msg);
}

/* A document whose root element is the wrapper. */
static enum xr_status dec_xml(struct dec *d, const char *xml,
                              const struct vtj_policy *p)
{
    memset(d, 0, sizeof(*d));
    d->doc = tv_parse(xml, strlen(xml));
    if (!d->doc)
        fail_msg("test XML not well-formed: %.200s", xml);
    return dec_node(d, xmlDocGetRootElement(d->doc), p);
}

/* JSON value at a dotted path; numeric components index arrays. */
static json_t *jget(json_t *j, const char *path)
{
    char buf[256], *seg, *next;

    snprintf(buf, sizeof(buf), "%s", path);
    for (seg = buf; seg && j; seg = next) {
        next = strchr(seg, '.');
        if (next)
            *next++ = '\0';
        if (json_is_array(j))
            j = json_array_get(j, strtoul(seg, NULL, 10));
        else
            j = json_object_get(j, seg);
    }
    return j;
}

static void assert_jstr(json_t *j, const char *path, const char *want)
{
    json_t *v = jget(j, path);

    if (!json_is_string(v))
        fail_msg("%s: not a string (want \"%s\")", path, want);
    if (strcmp(json_string_value(v), want) != 0)
        fail_msg("%s: \"%s\", want \"%s\"", path, json_string_value(v), want);
}

static void assert_jabsent(json_t *j, const char *path)
{
    if (jget(j, path))
        fail_msg("%s: present, want absent", path);
}

static size_t jsize(json_t *j, const char *path)
{
    json_t *v = jget(j, path);

    if (!json_is_array(v))
        fail_msg("%s: not an array", path);
    return json_array_size(v);
}

static bool has_warning(json_t *j, const char *w)
{
    json_t *arr = json_object_get(j, "warnings");

    for (size_t i = 0; i < json_array_size(arr); i++)
        if (!strcmp(json_string_value(json_array_get(arr, i)), w))
            return true;
    return false;
}

/* Append s to buf (capacity cap) at *len; fails the test on overflow. */
static void sb_add(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);

    if (*len + n + 1 > cap)
        fail_msg("test buffer too small");
    memcpy(buf + *len, s, n + 1);
    *len += n;
}

/* No JSON null anywhere except the turvakielto flag. */
static void assert_no_nulls(json_t *j, const char *key)
{
    const char *k;
    json_t *v;
    size_t i;

    if (json_is_null(j) && strcmp(key, "turvakielto") != 0)
        fail_msg("null value at key %s", key);
    if (json_is_object(j))
        json_object_foreach(j, k, v) assert_no_nulls(v, k);
    if (json_is_array(j)) {
        assert_true(json_array_size(j) > 0); /* empty arrays are omitted */
        json_array_foreach(j, i, v) assert_no_nulls(v, key);
    }
}

/* The dumped JSON never carries the request echo (username). */
static void assert_no_echo(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);

    assert_non_null(s);
    assert_null(strstr(s, "TESTUSER"));
    assert_null(strstr(s, "EXAMPLEUSER"));
    assert_null(strstr(s, "Loppukayttaja"));
    free(s);
}

/* ---- in-code messages --------------------------------------------------- */

static char *message(const char *echo_hetu, const char *code, const char *keys,
                     const char *henkilo)
{
    static const char fmt[] =
        "<HenkilonTunnusKyselyResponse xmlns=\"" VTJ_NS_WS "\">"
        "<request><SoSoNimi>PERUSSANOMA 3</SoSoNimi>"
        "<Kayttajatunnus>TESTUSER</Kayttajatunnus><Salasana/>"
        "<Henkilotunnus>%s</Henkilotunnus></request>"
        "<response><VTJHenkiloVastaussanoma xmlns=\"" VTJ_NS_MESSAGE "\""
        " sanomatunnus=\"PERUSSANOMA 3\" "
        "tietojenPoimintaaika=\"20260101120000\""
        " versio=\"1.0\">"
        "<Paluukoodi%s>teksti</Paluukoodi>"
        "<Hakuperusteet>%s</Hakuperusteet>%s"
        "</VTJHenkiloVastaussanoma></response></HenkilonTunnusKyselyResponse>";
    char attr[64];
    size_t n;
    char *out;

    if (code)
        snprintf(attr, sizeof(attr), " koodi=\"%s\"", code);
    else
        attr[0] = '\0';
    n = strlen(fmt) + strlen(echo_hetu) + strlen(attr) + strlen(keys) +
        strlen(henkilo) + 1;
    out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, fmt, echo_hetu, attr, keys, henkilo);
    return out;
}

static char *fault_message(const char *code, const char *extra)
{
    static const char fmt[] =
        "<HenkilonTunnusKyselyResponse xmlns=\"" VTJ_NS_WS "\">"
        "<request><Henkilotunnus>" H1 "</Henkilotunnus></request>"
        "<response><faultCode>%s</faultCode>"
        "<faultString>viesti</faultString>%s</response>"
        "</HenkilonTunnusKyselyResponse>";
    size_t n = strlen(fmt) + strlen(code) + strlen(extra) + 1;
    char *out = malloc(n);

    assert_non_null(out);
    snprintf(out, n, fmt, code, extra);
    return out;
}

#define KEY1 "<Henkilotunnus hakuperustePaluukoodi=\"1\">" H1 "</Henkilotunnus>"
#define PERSON_MIN                                                          \
    "<Henkilo><Henkilotunnus voimassaolokoodi=\"1\">" H1 "</Henkilotunnus>" \
    "<NykyinenSukunimi><Sukunimi>Testinen</Sukunimi></NykyinenSukunimi>"    \
    "</Henkilo>"

/* Henkilo with the given Turvakielto XML and an address. */
static char *person_tk(const char *tk)
{
    static const char fmt[] =
        "<Henkilo><Henkilotunnus>" H1 "</Henkilotunnus>"
        "<VakinainenKotimainenLahiosoite><LahiosoiteS>Katu 1</LahiosoiteS>"
        "</VakinainenKotimainenLahiosoite>"
        "<VakinainenAsuinpaikka><Asuinpaikantunnus>X1</Asuinpaikantunnus>"
        "</VakinainenAsuinpaikka>"
        "<Kotikunta><Kuntanumero>091</Kuntanumero></Kotikunta>%s</Henkilo>";
    size_t n = strlen(fmt) + strlen(tk) + 1;
    char *out = malloc(n);

    assert_non_null(out);
    snprintf(out, n, fmt, tk);
    return out;
}

/* ---- product shapes ---------------------------------------------------- */

static void test_perussanoma1(void **state)
{
    struct dec d;
    struct vtj_policy redact = {true, false, NULL, NULL};

    (void)state;
    dec_fixture(&d, "perussanoma1-found.xml", NULL);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_FOUND);
    assert_true(vtj_outcome_is_found(vtj_result_outcome(d.r)));
    assert_string_equal(vtj_result_return_code(d.r), "0000");
    assert_false(vtj_result_is_fault_code(d.r));
    assert_false(vtj_result_is_retryable(d.r));
    assert_string_equal(vtj_result_product(d.r), "PERUSSANOMA 1");
    assert_string_equal(vtj_result_hetu(d.r), "150585-9122");
    assert_null(vtj_result_new_hetu(d.r));
    /* No Turvakielto element in the product: unknown, never false. */
    assert_int_equal(vtj_result_turvakielto(d.r), VTJ_TURVAKIELTO_UNKNOWN);
    assert_true(json_is_null(jget(d.j, "person.turvakielto")));
    assert_non_null(jget(d.j, "person.turvakielto"));

    assert_jstr(d.j, "outcome", "found");
    assert_jstr(d.j, "return_code", "0000");
    assert_jstr(d.j, "return_code_source", "paluukoodi");
    assert_jstr(d.j, "return_text", "Haku onnistui");
    assert_true(json_is_false(jget(d.j, "retryable")));
    assert_jstr(d.j, "product", "PERUSSANOMA 1");
    assert_jstr(d.j, "version", "1.0");
    assert_jstr(d.j, "extracted_at", "2026-01-15T10:30:00");
    assert_jstr(d.j, "customer_info.fi", "15.01.2026 10:30");
    assert_int_equal(jsize(d.j, "search_keys"), 2);
    assert_jstr(d.j, "search_keys.0.type", "hetu");
    assert_jstr(d.j, "search_keys.0.value", "150585-9122"); /* trimmed */
    assert_jstr(d.j, "search_keys.0.result_code", "1");
    assert_jstr(d.j, "search_keys.0.result_text_fi", "Löytyi");
    assert_jstr(d.j, "search_keys.1.type", "satu");
    assert_jstr(d.j, "search_keys.1.result_code", "4");
    assert_jabsent(d.j, "search_keys.1.value");

    assert_jstr(d.j, "person.hetu", "150585-9122");
    assert_true(json_is_true(jget(d.j, "person.hetu_valid")));
    assert_jstr(d.j, "person.last_name", "Testinen");
    assert_jstr(d.j, "person.first_names", "Maija Kaarina");
    /* Empty skeletons dropped: 2 addresses out of 6 elements. */
    assert_int_equal(jsize(d.j, "person.addresses"), 2);
    assert_jstr(d.j, "person.addresses.0.type", "permanent_domestic");
    assert_jstr(d.j, "person.addresses.0.street_fi", "Koekatu 1 A 2");
    assert_jstr(d.j, "person.addresses.0.postal_code", "00100");
    assert_jstr(d.j, "person.addresses.0.start_date", "2010-03-01");
    assert_jabsent(d.j, "person.addresses.0.end_date");
    assert_jstr(d.j, "person.addresses.1.type", "temporary_domestic");
    assert_jstr(d.j, "person.addresses.1.street_fi", "Kesätie 5");
    assert_jabsent(d.j, "person.addresses.1.street_sv");
    assert_jstr(d.j, "person.addresses.1.end_date", "2026-08-31");
    assert_jstr(d.j, "person.dwelling_id", "91000000000A001");
    assert_jstr(d.j, "person.municipality.code", "091");
    assert_jstr(d.j, "person.municipality.name_sv", "Helsingfors");
    assert_jabsent(d.j, "person.deceased");
    assert_jabsent(d.j, "person.death_date");
    assert_jabsent(d.j, "person.declared_dead_date");
    assert_jstr(d.j, "person.mother_tongue.code", "fi");
    assert_jstr(d.j, "person.gender.code", "2");
    assert_jabsent(d.j, "person.guardians");
    assert_jabsent(d.j, "warnings");
    assert_no_nulls(d.j, "");
    assert_no_echo(d.j);
    dec_free(&d);

    /* Redaction fails closed: turvakielto unknown counts as protected. */
    dec_fixture(&d, "perussanoma1-found.xml", &redact);
    assert_true(vtj_result_addresses_redacted(d.r));
    assert_jabsent(d.j, "person.addresses");
    assert_jabsent(d.j, "person.dwelling_id");
    assert_jabsent(d.j, "person.municipality");
    assert_true(json_is_true(jget(d.j, "person.addresses_redacted")));
    assert_jstr(d.j, "person.last_name", "Testinen");
    dec_free(&d);
}

static void test_huoltaja_huollettavat(void **state)
{
    struct dec d;
    struct vtj_policy redact = {true, false, "010180-926Y", NULL};

    (void)state;
    dec_fixture(&d, "huoltaja-huollettavat.xml", NULL);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_FOUND);
    assert_int_equal(vtj_result_turvakielto(d.r), VTJ_TURVAKIELTO_NONE);
    assert_true(json_is_false(jget(d.j, "person.turvakielto")));
    assert_jabsent(d.j, "person.turvakielto_end_date");
    /* Two dependants; the empty skeleton row is dropped. */
    assert_int_equal(jsize(d.j, "person.dependants"), 2);
    assert_jstr(d.j, "person.dependants.0.hetu", "120310A934V");
    assert_jstr(d.j, "person.dependants.0.last_name", "Koehenkilö");
    assert_jstr(d.j, "person.dependants.1.first_names", "Eino");
    assert_jabsent(d.j, "person.dependants.0.birth_date");
    assert_jabsent(d.j, "person.deceased");
    assert_jstr(d.j, "person.mother_tongue.code", "sv");
    assert_no_nulls(d.j, "");
    dec_free(&d);

    /* Not protected: addresses stay even with the redaction policy. */
    dec_fixture(&d, "huoltaja-huollettavat.xml", &redact);
    assert_false(vtj_result_addresses_redacted(d.r));
    assert_int_equal(jsize(d.j, "person.addresses"), 1);
    assert_jabsent(d.j, "person.addresses_redacted");
    dec_free(&d);
}

static void test_huollettava_huoltajat(void **state)
{
    struct dec d;

    (void)state;
    dec_fixture(&d, "huollettava-huoltajat.xml", NULL);
    assert_int_equal(vtj_result_turvakielto(d.r), VTJ_TURVAKIELTO_NONE);
    /* A guardian row without a hetu is dropped. */
    assert_int_equal(jsize(d.j, "person.guardians"), 2);
    assert_jstr(d.j, "person.guardians.0.hetu", "010180-926Y");
    assert_jstr(d.j, "person.guardians.1.hetu", "220472-9687");
    assert_jstr(d.j, "person.guardians.1.custody.custody_division_code", "1");
    assert_jstr(d.j, "person.guardians.1.custody.relationship_code", "3");
    assert_jabsent(d.j, "person.addresses");
    dec_free(&d);
}

static void test_everything(void **state)
{
    struct dec d;
    struct vtj_policy redact = {true, false, "060689-983C", NULL};
    json_t *copy;

    (void)state;
    dec_fixture(&d, "full.xml", NULL);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_FOUND);
    assert_int_equal(vtj_result_turvakielto(d.r), VTJ_TURVAKIELTO_PROTECTED);
    assert_true(json_is_true(jget(d.j, "person.turvakielto")));
    assert_jstr(d.j, "person.turvakielto_end_date", "2030-12-31");
    assert_jstr(d.j, "person.satu", "12345678N");
    assert_true(json_is_true(jget(d.j, "person.satu_valid")));
    assert_jstr(d.j, "person.call_name", "Kusti");
    /* Former names: the empty row is dropped. */
    assert_int_equal(jsize(d.j, "person.former_names"), 1);
    assert_jstr(d.j, "person.former_names.0.name", "Vanhanen");
    assert_jstr(d.j, "person.former_names.0.end_date", "2012-06-30");
    /* Every address kind. */
    assert_int_equal(jsize(d.j, "person.addresses"), 6);
    assert_jstr(d.j, "person.addresses.0.type", "permanent_domestic");
    assert_jstr(d.j, "person.addresses.1.type", "permanent_foreign");
    assert_jstr(d.j, "person.addresses.1.country_code", "752");
    assert_jstr(d.j, "person.addresses.1.locality_country_sv",
                "Stockholm, Sverige");
    assert_jstr(d.j, "person.addresses.2.type", "temporary_domestic");
    assert_jstr(d.j, "person.addresses.3.type", "temporary_foreign");
    assert_jstr(d.j, "person.addresses.4.type", "postal_domestic");
    assert_jstr(d.j, "person.addresses.4.street_fi", "PL 99");
    assert_jstr(d.j, "person.addresses.5.type", "postal_foreign");
    assert_jstr(d.j, "person.addresses.5.locality", "Tallinn");
    assert_jstr(d.j, "person.addresses.5.country_sv", "Estland");
    assert_jstr(d.j, "person.dwelling_id", "92000000000B002");
    assert_jstr(d.j, "person.municipality.name_fi", "Tampere");
    assert_true(json_is_true(jget(d.j, "person.deceased")));
    assert_jstr(d.j, "person.death_date", "2026-01-10");
    assert_jstr(d.j, "person.declared_dead_date", "2025-12");
    /* Code fix-ups: iw -> he, 736 -> 729; lower-case language codes. */
    assert_jstr(d.j, "person.mother_tongue.code", "he");
    assert_jstr(d.j, "person.service_language.code", "fi");
    assert_int_equal(jsize(d.j, "person.citizenships"), 2);
    assert_jstr(d.j, "person.citizenships.0.code", "246");
    assert_jstr(d.j, "person.citizenships.0.start_date", "1989-06-06");
    assert_jstr(d.j, "person.citizenships.1.code", "729");
    assert_true(json_is_true(jget(d.j, "person.finnish_citizen")));
    assert_int_equal(jsize(d.j, "person.guardians"), 1);
    assert_int_equal(json_integer_value(jget(d.j, "person.guardian_count")), 1);
    assert_int_equal(jsize(d.j, "person.dependants"), 1);
    assert_jstr(d.j, "person.dependants.0.custody.custody_division_code", "1");
    assert_int_equal(jsize(d.j, "person.children"), 2);
    assert_jstr(d.j, "person.children.1.hetu", "291120A925K");
    /* Trusteeship with every trustee kind; the empty person row dropped. */
    assert_jstr(d.j, "person.trusteeship.start_date", "2024-01-15");
    assert_jstr(d.j, "person.trusteeship.restriction_code", "2");
    assert_jstr(d.j, "person.trusteeship.task_division_sv", "Tillsammans");
    assert_int_equal(jsize(d.j, "person.trusteeship.person_trustees"), 1);
    assert_jstr(d.j, "person.trusteeship.person_trustees.0.last_name",
                "Valvoja");
    assert_jstr(d.j, "person.trusteeship.organisation_trustees.0.name",
                "Esimerkki Oy & Kumpp.");
    assert_jstr(d.j, "person.trusteeship.legal_aid_office_trustees.0.name_fi",
                "Pirkanmaan oikeusaputoimisto");
    assert_jstr(d.j, "person.continuing_power_of_attorney.start_date",
                "2025-01-01");
    assert_jstr(d.j,
                "person.continuing_power_of_attorney.attorneys.0.birth_date",
                "1956-01-01");
    assert_jabsent(d.j, "person.continuing_power_of_attorney.task_division_"
                        "code");
    assert_true(json_is_false(jget(d.j, "person.taken_into_care")));
    /* The catalogue namespace is accepted; other namespaces ignored. */
    assert_jstr(d.j, "person.email", "kalle.kaikkinen@example.invalid");
    assert_jstr(d.j, "person.last_name", "Kaikkinen");
    assert_int_equal(json_integer_value(jget(d.j, "person.resident_count")), 3);
    assert_int_equal(
        json_integer_value(jget(d.j, "person.resident_under_18_count")), 1);
    assert_int_equal(jsize(d.j, "person.residents_under_18"), 1);
    assert_no_nulls(d.j, "");
    assert_no_echo(d.j);

    /* vtj_result_to_json gives an independent copy each time. */
    copy = vtj_result_to_json(d.r);
    json_object_clear(copy);
    json_decref(copy);
    copy = vtj_result_to_json(d.r);
    assert_true(json_equal(copy, d.j));
    json_decref(copy);
    dec_free(&d);

    dec_fixture(&d, "full.xml", &redact);
    assert_true(vtj_result_addresses_redacted(d.r));
    assert_jabsent(d.j, "person.addresses");
    assert_jabsent(d.j, "person.dwelling_id");
    assert_jabsent(d.j, "person.municipality");
    assert_true(json_is_true(jget(d.j, "person.addresses_redacted")));
    assert_true(json_is_true(jget(d.j, "person.turvakielto")));
    dec_free(&d);
}

static void test_asukaslkm2(void **state)
{
    struct dec d;

    (void)state;
    dec_fixture(&d, "asukaslkm2.xml", NULL);
    assert_int_equal(json_integer_value(jget(d.j, "person.resident_count")), 4);
    assert_int_equal(
        json_integer_value(jget(d.j, "person.resident_under_18_count")), 2);
    assert_int_equal(jsize(d.j, "person.residents_under_18"), 2);
    assert_jstr(d.j, "person.residents_under_18.1.hetu", "291120A925K");
    assert_true(json_is_null(jget(d.j, "person.turvakielto")));
    dec_free(&d);
}

static void test_passivated(void **state)
{
    struct dec d;
    struct vtj_policy follow = {false, true, NULL, NULL};
    struct vtj_policy nofollow = {false, false, NULL, NULL};
    struct vtj_query prev, next;

    (void)state;
    dec_fixture(&d, "passivated-0002.xml", &follow);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_PASSIVATED);
    assert_false(vtj_outcome_is_found(VTJ_OUTCOME_PASSIVATED));
    assert_false(vtj_outcome_is_error(VTJ_OUTCOME_PASSIVATED));
    /* Same digits, other century sign: a different identity. */
    assert_string_equal(vtj_result_new_hetu(d.r), "031295-917P");
    assert_jstr(d.j, "outcome", "passivated");
    assert_jstr(d.j, "new_hetu", "031295-917P");
    assert_jstr(d.j, "search_keys.0.result_code", "2");

    memset(&prev, 0, sizeof(prev));
    prev.product = "PERUSSANOMA 1";
    prev.hetu = "031295Y917P";
    prev.end_user = "case-worker-7";
    memset(&next, 0, sizeof(next));
    assert_true(vtj_result_follow_up(d.r, &follow, &prev, &next));
    assert_string_equal(next.hetu, "031295-917P");
    assert_string_equal(next.end_user, "case-worker-7");
    assert_null(next.satu);
    assert_false(vtj_result_follow_up(d.r, &nofollow, &prev, &next));
    /* Never follow to the same code again. */
    prev.hetu = "031295-917P";
    assert_false(vtj_result_follow_up(d.r, &follow, &prev, &next));
    dec_free(&d);

    /* A found answer never proposes a follow-up. */
    dec_fixture(&d, "perussanoma1-found.xml", NULL);
    prev.hetu = "150585-9122";
    assert_false(vtj_result_follow_up(d.r, &follow, &prev, &next));
    dec_free(&d);
}

static void test_under15_deceased_notfound(void **state)
{
    struct dec d;

    (void)state;
    dec_fixture(&d, "under15-0018.xml", NULL);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_UNDER_15);
    assert_true(vtj_outcome_is_found(VTJ_OUTCOME_UNDER_15));
    assert_jstr(d.j, "outcome", "under_15");
    assert_jstr(d.j, "person.hetu", "300912A952D");
    assert_true(json_is_false(jget(d.j, "person.turvakielto")));
    dec_free(&d);

    dec_fixture(&d, "deceased-0007.xml", NULL);
    assert_int_equal(vtj_result_outcome(d.r),
                     VTJ_OUTCOME_DECEASED_NOT_DISCLOSED);
    assert_jstr(d.j, "outcome", "deceased_not_disclosed");
    assert_jabsent(d.j, "person");
    assert_int_equal(vtj_result_turvakielto(d.r), VTJ_TURVAKIELTO_UNKNOWN);
    dec_free(&d);

    dec_fixture(&d, "fault-0001.xml", NULL);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_NOT_FOUND);
    assert_true(vtj_result_is_fault_code(d.r));
    assert_string_equal(vtj_result_return_code(d.r), "0001");
    assert_string_equal(vtj_result_return_text(d.r),
                        "Hakuperusteella ei löydy tietoja vtj:stä");
    assert_jstr(d.j, "return_code_source", "fault_code");
    assert_jabsent(d.j, "person");
    assert_jabsent(d.j, "product");
    assert_no_echo(d.j);
    dec_free(&d);
}

/* ---- return codes ------------------------------------------------------ */

struct code_case {
    const char *code;
    enum vtj_outcome outcome;
    bool retryable;
};

static const struct code_case code_cases[] = {
    {"0000", VTJ_OUTCOME_FOUND, false},
    {"0001", VTJ_OUTCOME_NOT_FOUND, false},
    {"0002", VTJ_OUTCOME_PASSIVATED, false},
    {"0003", VTJ_OUTCOME_CREDENTIALS_ERROR, false},
    {"0004", VTJ_OUTCOME_CREDENTIALS_ERROR, false},
    {"0005", VTJ_OUTCOME_REQUEST_ERROR, false},
    {"0006", VTJ_OUTCOME_NOT_FOUND, false},
    {"0007", VTJ_OUTCOME_DECEASED_NOT_DISCLOSED, false},
    {"0008", VTJ_OUTCOME_FOUND, false},
    {"0009", VTJ_OUTCOME_FOUND, false},
    {"0010", VTJ_OUTCOME_CONFIG_ERROR, false},
    {"0011", VTJ_OUTCOME_CONFIG_ERROR, false},
    {"0012", VTJ_OUTCOME_AUTH_FAILED, false},
    {"0013", VTJ_OUTCOME_AUTH_FAILED, false},
    {"0014", VTJ_OUTCOME_AUTH_FAILED, false},
    {"0015", VTJ_OUTCOME_AUTH_FAILED, false},
    {"0016", VTJ_OUTCOME_INTEGRITY_ERROR, false},
    {"0017", VTJ_OUTCOME_NOT_FOUND, false},
    {"0018", VTJ_OUTCOME_UNDER_15, false},
    {"0019", VTJ_OUTCOME_NOT_DISCLOSABLE, false},
    {"-1500", VTJ_OUTCOME_CREDENTIALS_ERROR, false},
    {"-1505", VTJ_OUTCOME_CONFIG_ERROR, false},
    {"-1800", VTJ_OUTCOME_SERVICE_ERROR, true},
    {"-1805", VTJ_OUTCOME_REQUEST_ERROR, false},
    {"-1900", VTJ_OUTCOME_CONFIG_ERROR, false},
    {"-1901", VTJ_OUTCOME_CONFIG_ERROR, false},
    {"-1902", VTJ_OUTCOME_REQUEST_ERROR, false},
    {"-1903", VTJ_OUTCOME_REQUEST_ERROR, false},
    {"-1904", VTJ_OUTCOME_REQUEST_ERROR, false},
    {"-1905", VTJ_OUTCOME_SERVICE_ERROR, false},
    {"-1906", VTJ_OUTCOME_SERVICE_ERROR, false},
    /* Unknown codes are errors, never found or not found. */
    {"0020", VTJ_OUTCOME_UNKNOWN_CODE, false},
    {"0042", VTJ_OUTCOME_UNKNOWN_CODE, false},
    {"1", VTJ_OUTCOME_UNKNOWN_CODE, false},
    {"-1", VTJ_OUTCOME_UNKNOWN_CODE, false},
    {"-9999", VTJ_OUTCOME_UNKNOWN_CODE, false},
    {"abc", VTJ_OUTCOME_UNKNOWN_CODE, false},
};

static void test_return_codes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(code_cases) / sizeof(code_cases[0]); i++) {
        const struct code_case *cc = &code_cases[i];
        bool needs_person = vtj_outcome_is_found(cc->outcome);
        struct dec d;
        char *xml;

        /* As Paluukoodi, always with a Henkilo element. */
        xml = message(H1, cc->code, KEY1, PERSON_MIN);
        if (dec_xml(&d, xml, NULL) != XR_OK)
            fail_msg("code %s: %s", cc->code, d.err.reason);
        if (vtj_result_outcome(d.r) != cc->outcome)
            fail_msg("code %s: outcome %s", cc->code,
                     vtj_outcome_name(vtj_result_outcome(d.r)));
        assert_jstr(d.j, "outcome", vtj_outcome_name(cc->outcome));
        assert_jstr(d.j, "return_code", cc->code);
        assert_int_equal(vtj_result_is_retryable(d.r), cc->retryable);
        assert_int_equal(json_is_true(jget(d.j, "retryable")), cc->retryable);
        /* Person data only for outcomes that carry it. */
        if (vtj_outcome_is_error(cc->outcome) ||
            cc->outcome == VTJ_OUTCOME_NOT_FOUND ||
            cc->outcome == VTJ_OUTCOME_NOT_DISCLOSABLE)
            assert_jabsent(d.j, "person");
        else
            assert_jstr(d.j, "person.hetu", H1);
        assert_int_equal(vtj_outcome_is_error(cc->outcome),
                         cc->outcome >= VTJ_OUTCOME_CREDENTIALS_ERROR);
        dec_free(&d);
        free(xml);

        /* As faultCode: same mapping; found outcomes need a person. */
        xml = fault_message(cc->code, "");
        if (needs_person) {
            assert_int_equal(dec_xml(&d, xml, NULL), XR_EPROTO);
            assert_string_equal(d.err.reason, "inconsistent_response");
        } else {
            if (dec_xml(&d, xml, NULL) != XR_OK)
                fail_msg("faultCode %s: %s", cc->code, d.err.reason);
            assert_int_equal(vtj_result_outcome(d.r), cc->outcome);
            assert_true(vtj_result_is_fault_code(d.r));
            assert_jstr(d.j, "return_text", "viesti");
        }
        dec_free(&d);
        free(xml);
    }
}

static void test_hostile_codes(void **state)
{
    struct dec d;
    char *xml;

    (void)state;
    /* Control characters in a code never reach logs or JSON raw. */
    xml = fault_message("00&#10;01&#127;[2J", "");
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_UNKNOWN_CODE);
    assert_string_equal(vtj_result_return_code(d.r), "00?01?[2J");
    dec_free(&d);
    free(xml);
    /* Over-long codes are cut to 32 bytes. */
    xml = fault_message("0000000000000000000000000000000000000001", "");
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_int_equal(strlen(vtj_result_return_code(d.r)), 32);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_UNKNOWN_CODE);
    dec_free(&d);
    free(xml);
    /* The element named in a message is printable. */
    assert_int_equal(dec_xml(&d, "<a:X xmlns:a=\"urn:&#9;evil&#127;\"/>", NULL),
                     XR_EPROTO);
    assert_null(strchr(d.err.msg, '\n'));
    assert_null(strchr(d.err.msg, 0x7f));
    assert_non_null(strstr(d.err.msg, "urn:?evil?"));
    dec_free(&d);
}

static void test_code_warnings(void **state)
{
    struct dec d;
    char *xml;

    (void)state;
    xml = message(H1, "0008", KEY1, PERSON_MIN);
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_true(has_warning(d.j, "crl_check_not_performed"));
    dec_free(&d);
    free(xml);
    xml = fault_message("0003", "");
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_true(has_warning(d.j, "password_rejected"));
    dec_free(&d);
    free(xml);
}

static void test_search_key_refinement(void **state)
{
    struct dec d;
    char *xml;

    (void)state;
    /* 0000 with the key not found and no person: not found. */
    xml = message(H1, "0000",
                  "<Henkilotunnus hakuperustePaluukoodi=\"0\">" H1
                  "</Henkilotunnus>",
                  "");
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_NOT_FOUND);
    dec_free(&d);
    free(xml);
    /* Too many matches. */
    xml = message(H1, "0000",
                  "<Henkilotunnus hakuperustePaluukoodi=\"3\">" H1
                  "</Henkilotunnus>",
                  "");
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_REQUEST_ERROR);
    assert_true(has_warning(d.j, "too_many_matches"));
    dec_free(&d);
    free(xml);
    /* Key passive but Paluukoodi 0000: passivated, no new hetu. */
    xml = message(H1, "0000",
                  "<Henkilotunnus hakuperustePaluukoodi=\"2\">" H1
                  "</Henkilotunnus>",
                  PERSON_MIN);
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_PASSIVATED);
    assert_null(vtj_result_new_hetu(d.r));
    dec_free(&d);
    free(xml);
    /* 0000 found but no person: the answer is inconsistent. */
    xml = message(H1, "0000", KEY1, "");
    assert_int_equal(dec_xml(&d, xml, NULL), XR_EPROTO);
    assert_string_equal(d.err.reason, "inconsistent_response");
    dec_free(&d);
    free(xml);
}

/* ---- turvakielto ----------------------------------------------------------
 */

struct tk_case {
    const char *xml;
    enum vtj_turvakielto want;
    bool warning;
};

static void test_turvakielto(void **state)
{
    static const struct tk_case cases[] = {
        {"<Turvakielto><TurvakieltoTieto>1</TurvakieltoTieto></Turvakielto>",
         VTJ_TURVAKIELTO_PROTECTED, false},
        {"<Turvakielto><TurvakieltoTieto> 1\n</TurvakieltoTieto>"
         "</Turvakielto>",
         VTJ_TURVAKIELTO_PROTECTED, false},
        {"<Turvakielto><TurvakieltoTieto>0</TurvakieltoTieto></Turvakielto>",
         VTJ_TURVAKIELTO_NONE, false},
        {"<Turvakielto><TurvakieltoTieto/></Turvakielto>", VTJ_TURVAKIELTO_NONE,
         false},
        {"<Turvakielto><TurvakieltoTieto>  </TurvakieltoTieto></Turvakielto>",
         VTJ_TURVAKIELTO_NONE, false},
        /* Fail closed on anything else: a Turvakielto element without
         * its value says nothing (unknown), ... */
        {"<Turvakielto/>", VTJ_TURVAKIELTO_UNKNOWN, false},
        {"<Turvakielto><TurvakieltoPaattymispvm>20301231"
         "</TurvakieltoPaattymispvm></Turvakielto>",
         VTJ_TURVAKIELTO_UNKNOWN, false},
        /* ... and any value but 1, 0 or empty is protected. */
        {"<Turvakielto><TurvakieltoTieto>2</TurvakieltoTieto></Turvakielto>",
         VTJ_TURVAKIELTO_PROTECTED, true},
        {"<Turvakielto><TurvakieltoTieto>9</TurvakieltoTieto></Turvakielto>",
         VTJ_TURVAKIELTO_PROTECTED, true},
        {"<Turvakielto><TurvakieltoTieto>K</TurvakieltoTieto></Turvakielto>",
         VTJ_TURVAKIELTO_PROTECTED, true},
        {"<Turvakielto><TurvakieltoTieto>false</TurvakieltoTieto>"
         "</Turvakielto>",
         VTJ_TURVAKIELTO_PROTECTED, true},
        {"<Turvakielto><TurvakieltoTieto>00</TurvakieltoTieto>"
         "</Turvakielto>",
         VTJ_TURVAKIELTO_PROTECTED, true},
        {"", VTJ_TURVAKIELTO_UNKNOWN, false},
        /* In a foreign namespace: not the VTJ element, so unknown. */
        {"<x:Turvakielto xmlns:x=\"urn:x\"><x:TurvakieltoTieto>0"
         "</x:TurvakieltoTieto></x:Turvakielto>",
         VTJ_TURVAKIELTO_UNKNOWN, false},
    };
    struct vtj_policy redact = {true, false, NULL, NULL};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = person_tk(cases[i].xml), *xml;
        struct dec d;
        json_t *flag;

        xml = message(H1, "0000", KEY1, p);
        if (dec_xml(&d, xml, &redact) != XR_OK)
            fail_msg("case %zu: %s", i, d.err.reason);
        if (vtj_result_turvakielto(d.r) != cases[i].want)
            fail_msg("case %zu (%s): state %d", i, cases[i].xml,
                     vtj_result_turvakielto(d.r));
        flag = jget(d.j, "person.turvakielto");
        assert_non_null(flag);
        switch (cases[i].want) {
        case VTJ_TURVAKIELTO_UNKNOWN:
            assert_true(json_is_null(flag));
            break;
        case VTJ_TURVAKIELTO_NONE:
            assert_true(json_is_false(flag));
            break;
        case VTJ_TURVAKIELTO_PROTECTED:
            assert_true(json_is_true(flag));
            break;
        }
        assert_int_equal(has_warning(d.j, "unexpected_value:turvakielto"),
                         cases[i].warning);
        /* A Turvakielto element without its value is flagged. */
        assert_int_equal(has_warning(d.j, "missing_value:turvakielto"),
                         strstr(cases[i].xml, "<Turvakielto") != NULL &&
                             !strstr(cases[i].xml, "TurvakieltoTieto"));
        /* Redaction unless positively not protected. */
        if (cases[i].want == VTJ_TURVAKIELTO_NONE) {
            assert_non_null(jget(d.j, "person.addresses"));
            assert_non_null(jget(d.j, "person.municipality"));
        } else {
            assert_jabsent(d.j, "person.addresses");
            assert_jabsent(d.j, "person.dwelling_id");
            assert_jabsent(d.j, "person.municipality");
        }
        dec_free(&d);
        free(xml);
        free(p);
    }
}

/* ---- structure, subject checks, limits -------------------------------- */

static void expect_error(const char *xml, const struct vtj_policy *p,
                         enum xr_status st, const char *reason)
{
    struct dec d;

    if (dec_xml(&d, xml, p) != st)
        fail_msg("expected %s/%s, got %s/%s for %.300s", xr_strerror(st),
                 reason, xr_strerror(d.st), d.st ? d.err.reason : "-", xml);
    assert_string_equal(d.err.reason, reason);
    /* Messages never carry identity codes. */
    assert_null(strstr(d.err.msg, H1));
    dec_free(&d);
}

static void test_structure_errors(void **state)
{
    struct xr_error err;
    struct vtj_result *r = (struct vtj_result *)&err;
    char *xml, *p;

    (void)state;
    memset(&err, 0, sizeof(err));
    assert_int_equal(vtj_decode(NULL, NULL, &r, &err), XR_EINVAL);
    assert_null(r);

    expect_error("<Other xmlns=\"" VTJ_NS_WS "\"/>", NULL, XR_EPROTO,
                 "not_vtj_response");
    expect_error("<HenkilonTunnusKyselyResponse/>", NULL, XR_EPROTO,
                 "not_vtj_response");
    expect_error("<HenkilonTunnusKyselyResponse xmlns=\"urn:wrong\">"
                 "<response><faultCode>0001</faultCode></response>"
                 "</HenkilonTunnusKyselyResponse>",
                 NULL, XR_EPROTO, "not_vtj_response");
    expect_error("<HenkilonTunnusKyselyResponse xmlns=\"" VTJ_NS_WS "\">"
                 "<request/></HenkilonTunnusKyselyResponse>",
                 NULL, XR_EPROTO, "not_vtj_response");
    /* faultCode must be in the vtjkysely/1 namespace. */
    expect_error("<v:HenkilonTunnusKyselyResponse xmlns:v=\"" VTJ_NS_WS "\">"
                 "<v:response><faultCode>0001</faultCode></v:response>"
                 "</v:HenkilonTunnusKyselyResponse>",
                 NULL, XR_EPROTO, "not_vtj_response");
    expect_error("<HenkilonTunnusKyselyResponse xmlns=\"" VTJ_NS_WS "\">"
                 "<response><faultCode> </faultCode></response>"
                 "</HenkilonTunnusKyselyResponse>",
                 NULL, XR_EPROTO, "missing_return_code");
    expect_error("<HenkilonTunnusKyselyResponse xmlns=\"" VTJ_NS_WS "\">"
                 "<response/><response/></HenkilonTunnusKyselyResponse>",
                 NULL, XR_EPROTO, "duplicate_element");
    xml = fault_message(
        "0001", "<VTJHenkiloVastaussanoma xmlns=\"" VTJ_NS_MESSAGE "\"/>");
    expect_error(xml, NULL, XR_EPROTO, "inconsistent_response");
    free(xml);
    xml = fault_message("0001", "<faultCode>0000</faultCode>");
    expect_error(xml, NULL, XR_EPROTO, "duplicate_element");
    free(xml);
    xml = message(H1, NULL, KEY1, PERSON_MIN);
    expect_error(xml, NULL, XR_EPROTO, "missing_return_code");
    free(xml);
    /* A duplicated single-valued element is never guessed at. */
    p = person_tk("<Turvakielto><TurvakieltoTieto>0</TurvakieltoTieto>"
                  "</Turvakielto><Turvakielto><TurvakieltoTieto>1"
                  "</TurvakieltoTieto></Turvakielto>");
    xml = message(H1, "0000", KEY1, p);
    expect_error(xml, NULL, XR_EPROTO, "duplicate_element");
    free(xml);
    free(p);
    xml = message(H1, "0000", KEY1,
                  "<Henkilo><Henkilotunnus>" H1 "</Henkilotunnus>"
                  "<Henkilotunnus>" H1 "</Henkilotunnus></Henkilo>");
    expect_error(xml, NULL, XR_EPROTO, "duplicate_element");
    free(xml);
    xml = message(H1, "0000", KEY1 KEY1, PERSON_MIN);
    expect_error(xml, NULL, XR_EPROTO, "duplicate_element");
    free(xml);
}

static void test_subject_checks(void **state)
{
    struct vtj_policy expect = {false, false, H1, NULL};
    struct vtj_policy other = {false, false, "010180-926Y", NULL};
    struct dec d;
    char *xml;

    (void)state;
    xml = message(H1, "0000", KEY1, PERSON_MIN);
    assert_int_equal(dec_xml(&d, xml, &expect), XR_OK);
    dec_free(&d);
    expect_error(xml, &other, XR_EPROTO, "subject_mismatch");
    free(xml);
    /* The person is someone else than the echoed query. */
    xml = message("010180-926Y", "0000",
                  "<Henkilotunnus hakuperustePaluukoodi=\"1\">010180-926Y"
                  "</Henkilotunnus>",
                  PERSON_MIN);
    expect_error(xml, NULL, XR_EPROTO, "subject_mismatch");
    free(xml);
    /* The search-key echo differs from the request echo. */
    xml = message("010180-926Y", "0000", KEY1, PERSON_MIN);
    expect_error(xml, NULL, XR_EPROTO, "subject_mismatch");
    free(xml);
    /* The century sign matters. */
    xml = message("150585Y9122", "0000",
                  "<Henkilotunnus hakuperustePaluukoodi=\"1\">150585Y9122"
                  "</Henkilotunnus>",
                  PERSON_MIN);
    expect_error(xml, NULL, XR_EPROTO, "subject_mismatch");
    free(xml);
}

static void test_values_and_limits(void **state)
{
    struct dec d;
    char *xml, *big, *many;
    size_t n, len;

    (void)state;
    /* Invalid dates and flags are dropped with a warning. */
    xml = message(H1, "0000", KEY1,
                  "<Henkilo><Henkilotunnus>" H1 "</Henkilotunnus>"
                  "<Kuolintiedot><Kuollut>x</Kuollut><Kuolinpvm>20250230"
                  "</Kuolinpvm></Kuolintiedot><HuoltajaLkm>-1</HuoltajaLkm>"
                  "<Kuolleeksijulistamistiedot><Kuolleeksijulistamispvm>"
                  "20250000</Kuolleeksijulistamispvm>"
                  "</Kuolleeksijulistamistiedot></Henkilo>");
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_jabsent(d.j, "person.deceased");
    assert_jabsent(d.j, "person.death_date");
    assert_jabsent(d.j, "person.guardian_count");
    assert_jstr(d.j, "person.declared_dead_date", "2025");
    assert_true(has_warning(d.j, "unexpected_value:deceased"));
    assert_true(has_warning(d.j, "invalid_date:death_date"));
    assert_true(has_warning(d.j, "invalid_count:guardian_count"));
    dec_free(&d);
    free(xml);

    /* A value over VTJ_VALUE_MAX. */
    n = VTJ_VALUE_MAX + 10;
    big = malloc(n + 256);
    assert_non_null(big);
    len = 0;
    sb_add(big, n + 256, &len,
           "<Henkilo><Henkilotunnus>" H1
           "</Henkilotunnus><NykyinenSukunimi><Sukunimi>");
    memset(big + len, 'a', n);
    len += n;
    big[len] = '\0';
    sb_add(big, n + 256, &len, "</Sukunimi></NykyinenSukunimi></Henkilo>");
    xml = message(H1, "0000", KEY1, big);
    expect_error(xml, NULL, XR_ELIMIT, "value_too_long");
    free(xml);
    free(big);

    /* More than VTJ_GROUP_MAX items of one group. */
    n = (VTJ_GROUP_MAX + 1) * 96 + 256;
    many = malloc(n);
    assert_non_null(many);
    len = 0;
    sb_add(many, n, &len, "<Henkilo><Henkilotunnus>" H1 "</Henkilotunnus>");
    for (unsigned i = 0; i <= VTJ_GROUP_MAX; i++)
        sb_add(many, n, &len,
               "<Huollettava><Henkilotunnus>120310A934V</Henkilotunnus>"
               "</Huollettava>");
    sb_add(many, n, &len, "</Henkilo>");
    xml = message(H1, "0000", KEY1, many);
    expect_error(xml, NULL, XR_ELIMIT, "too_many_items");
    free(xml);
    free(many);
}

/* ---- lookup edge cases (one scan per group element) ---------------------- */

/* The keys of object j in order, comma-separated. */
static void key_order(json_t *j, char *buf, size_t cap)
{
    const char *k;
    json_t *v;
    size_t len = 0;

    buf[0] = '\0';
    json_object_foreach(j, k, v)
    {
        if (len)
            sb_add(buf, cap, &len, ",");
        sb_add(buf, cap, &len, k);
    }
}

static void test_key_order(void **state)
{
    char keys[512], *xml;
    struct dec d;

    (void)state;
    xml = message(H1, "0000", KEY1, PERSON_MIN);
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    key_order(d.j, keys, sizeof(keys));
    assert_string_equal(keys, "outcome,return_code,return_code_source,"
                              "return_text,retryable,product,version,"
                              "extracted_at,search_keys,person");
    key_order(jget(d.j, "person"), keys, sizeof(keys));
    assert_string_equal(keys, "hetu,hetu_valid,hetu_validity_code,last_name,"
                              "turvakielto");
    key_order(jget(d.j, "search_keys.0"), keys, sizeof(keys));
    assert_string_equal(keys, "type,value,result_code");
    dec_free(&d);
    free(xml);

    /* No faultString: return_text is left out, the order stays. */
    assert_int_equal(dec_xml(&d,
                             "<HenkilonTunnusKyselyResponse xmlns=\"" VTJ_NS_WS
                             "\">"
                             "<response><faultCode>0001</faultCode></response>"
                             "</HenkilonTunnusKyselyResponse>",
                             NULL),
                     XR_OK);
    key_order(d.j, keys, sizeof(keys));
    assert_string_equal(keys,
                        "outcome,return_code,return_code_source,retryable");
    dec_free(&d);

    /* Warnings come last, in field order. */
    xml = message(H1, "0000", KEY1,
                  "<Henkilo><Henkilotunnus>" H1 "</Henkilotunnus>"
                  "<HuoltajaLkm>x</HuoltajaLkm>"
                  "<Kuolintiedot><Kuollut>2</Kuollut></Kuolintiedot>"
                  "</Henkilo>");
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    key_order(d.j, keys, sizeof(keys));
    assert_string_equal(keys, "outcome,return_code,return_code_source,"
                              "return_text,retryable,product,version,"
                              "extracted_at,search_keys,person,warnings");
    assert_jstr(d.j, "warnings.0", "unexpected_value:deceased");
    assert_jstr(d.j, "warnings.1", "invalid_count:guardian_count");
    dec_free(&d);
    free(xml);
}

static void test_text_nodes(void **state)
{
    char *xml;
    struct dec d;

    (void)state;
    /* A value in several text, CDATA and comment nodes; trimmed once. */
    xml = message(H1, "0000", KEY1,
                  "<Henkilo><Henkilotunnus>" H1 "</Henkilotunnus>"
                  "<NykyinenSukunimi><Sukunimi> Tes<![CDATA[ti]]><!-- x -->"
                  "nen </Sukunimi></NykyinenSukunimi>"
                  "<NykyisetEtunimet><Etunimet><![CDATA[ ]]><!-- x -->"
                  "</Etunimet></NykyisetEtunimet>"
                  "<Etunimet>Fallback</Etunimet>"
                  "<Sahkopostiosoite>p\xc3\xa4\xc3\xa4@example.invalid"
                  "</Sahkopostiosoite></Henkilo>");
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_jstr(d.j, "person.last_name", "Testinen");
    /* The first path is empty, so the third one gives the value. */
    assert_jstr(d.j, "person.first_names", "Fallback");
    assert_jstr(d.j, "person.email", "p\xc3\xa4\xc3\xa4@example.invalid");
    dec_free(&d);
    free(xml);
}

static void test_dates(void **state)
{
    static const struct {
        const char *in, *out; /* out NULL: dropped with a warning */
    } cases[] = {
        {"20240229", "2024-02-29"}, {"20000229", "2000-02-29"},
        {"19000229", NULL},         {"20230229", NULL},
        {"20251200", "2025-12"},    {"20250000", "2025"},
        {"20250010", NULL},         {"20251300", NULL},
        {"00000101", NULL},         {"0012 0101", NULL},
        {"2025010", NULL},          {"202501011", NULL},
        {"00120101", "0012-01-01"}, {" 20251231 ", "2025-12-31"},
    };
    char henkilo[256], *xml;
    struct dec d;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(henkilo, sizeof(henkilo),
                 "<Henkilo><Henkilotunnus>" H1 "</Henkilotunnus>"
                 "<Kuolintiedot><Kuolinpvm>%s</Kuolinpvm></Kuolintiedot>"
                 "</Henkilo>",
                 cases[i].in);
        xml = message(H1, "0000", KEY1, henkilo);
        assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
        if (cases[i].out) {
            assert_jstr(d.j, "person.death_date", cases[i].out);
            assert_jabsent(d.j, "warnings");
        } else {
            assert_jabsent(d.j, "person.death_date");
            assert_true(has_warning(d.j, "invalid_date:death_date"));
        }
        dec_free(&d);
        free(xml);
    }
}

static void test_timestamps(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"20260101120000", "2026-01-01T12:00:00"},
        {"20261231235960", "2026-12-31T23:59:60"},
        {"20260101240000", NULL},
        {"20260101126000", NULL},
        {"20260101120061", NULL},
        {"20261200120000", NULL}, /* reduced dates are not timestamps */
        {"2026010112000x", NULL},
    };
    char *xml, *at;
    struct dec d;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        xml = message(H1, "0000", KEY1, PERSON_MIN);
        at = strstr(xml, "20260101120000");
        assert_non_null(at);
        memcpy(at, cases[i].in, 14);
        assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
        if (cases[i].out) {
            assert_jstr(d.j, "extracted_at", cases[i].out);
        } else {
            assert_jabsent(d.j, "extracted_at");
            assert_true(has_warning(d.j, "invalid_timestamp:extracted_at"));
        }
        dec_free(&d);
        free(xml);
    }
}

/* Henkilo: Henkilotunnus, n comments, then `tail`. */
static char *person_padded(unsigned n, const char *tail)
{
    size_t cap = 256 + strlen(tail) + (size_t)n * 7, len = 0;
    char *out = malloc(cap);

    assert_non_null(out);
    out[0] = '\0';
    sb_add(out, cap, &len, "<Henkilo><Henkilotunnus>" H1 "</Henkilotunnus>");
    for (unsigned i = 0; i < n; i++)
        sb_add(out, cap, &len, "<!---->");
    sb_add(out, cap, &len, tail);
    sb_add(out, cap, &len, "</Henkilo>");
    return out;
}

/* A padded person (see person_padded) is refused on Henkilotunnus. */
static void expect_padded_refused(unsigned n, const char *tail,
                                  enum xr_status rc, const char *reason)
{
    char *p = person_padded(n, tail), *xml = message(H1, "0000", KEY1, p);
    struct dec d;

    assert_int_equal(dec_xml(&d, xml, NULL), rc);
    assert_string_equal(d.err.reason, reason);
    assert_string_equal(d.err.field, "Henkilotunnus");
    dec_free(&d);
    free(xml);
    free(p);
}

static void test_child_cap(void **state)
{
    char *p, *xml;
    struct dec d;

    (void)state;
    /* Exactly VTJ_CHILD_MAX children: fine. */
    p = person_padded(4095, "");
    xml = message(H1, "0000", KEY1, p);
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_jstr(d.j, "person.hetu", H1);
    dec_free(&d);
    free(xml);
    free(p);

    /* One more: the first lookup below Henkilo fails. */
    expect_padded_refused(4096, "", XR_ELIMIT, "too_many_items");
    /* A duplicate within the examined children is a duplicate ... */
    expect_padded_refused(4094, "<Henkilotunnus>" H1 "</Henkilotunnus>",
                          XR_EPROTO, "duplicate_element");
    /* ... past them the cap is reached first. */
    expect_padded_refused(4095, "<Henkilotunnus>" H1 "</Henkilotunnus>",
                          XR_ELIMIT, "too_many_items");
}

static void test_namespaces_and_duplicates(void **state)
{
    char *xml;
    struct dec d;

    (void)state;
    /* Same local name in another namespace: ignored, not a duplicate. */
    xml = message(H1, "0000", KEY1,
                  "<Henkilo xmlns:x=\"urn:x\" xmlns:c=\"" VTJ_NS_CATALOGUE
                  "\"><x:Henkilotunnus>010180-926Y</x:Henkilotunnus>"
                  "<c:Henkilotunnus>" H1 "</c:Henkilotunnus>"
                  "<x:Kotikunta><Kuntanumero>1</Kuntanumero></x:Kotikunta>"
                  "<Kotikunta><x:Kuntanumero>2</x:Kuntanumero>"
                  "<c:KuntaS>Espoo</c:KuntaS></Kotikunta>"
                  "<x:Lapsi><Henkilotunnus>120310A934V</Henkilotunnus>"
                  "</x:Lapsi><Lapsi><Henkilotunnus>120310A934V"
                  "</Henkilotunnus></Lapsi><x:Lapsi/>"
                  "<Lapsi><Henkilotunnus>291120A925K</Henkilotunnus></Lapsi>"
                  "</Henkilo>");
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_jstr(d.j, "person.hetu", H1);
    assert_jabsent(d.j, "person.municipality.code");
    assert_jstr(d.j, "person.municipality.name_fi", "Espoo");
    assert_int_equal(jsize(d.j, "person.children"), 2);
    assert_jstr(d.j, "person.children.1.hetu", "291120A925K");
    dec_free(&d);
    free(xml);

    /* Duplicates of a group element and of a deeper step. */
    xml = message(H1, "0000", KEY1,
                  "<Henkilo><Henkilotunnus>" H1 "</Henkilotunnus>"
                  "<Kotikunta/><Kotikunta/></Henkilo>");
    expect_error(xml, NULL, XR_EPROTO, "duplicate_element");
    free(xml);
    xml = message(H1, "0000", KEY1,
                  "<Henkilo><Henkilotunnus>" H1 "</Henkilotunnus>"
                  "<Kuolintiedot><Kuollut>1</Kuollut><Kuollut>1</Kuollut>"
                  "</Kuolintiedot></Henkilo>");
    expect_error(xml, NULL, XR_EPROTO, "duplicate_element");
    free(xml);
    /* An attribute used by two fields, and one read from the element. */
    xml = message(H1, "0000", KEY1,
                  "<Henkilo><Henkilotunnus voimassaolokoodi=\" 0 \">" H1
                  "</Henkilotunnus></Henkilo>");
    assert_int_equal(dec_xml(&d, xml, NULL), XR_OK);
    assert_true(json_is_false(jget(d.j, "person.hetu_valid")));
    assert_jstr(d.j, "person.hetu_validity_code", "0");
    dec_free(&d);
    free(xml);
}

/* ---- shared synthetic vectors ------------------------------------------ */

static void test_vectors_shared(void **state)
{
    char path[4096];
    struct dec d;
    size_t len = 0;
    char *buf;

    (void)state;
    if (!tv_vector_path("vtj/synthetic/02-response-found-turvakielto.xml", path,
                        sizeof(path))) {
        skip();
        return;
    }
    buf = tv_read(path, &len);
    memset(&d, 0, sizeof(d));
    d.doc = tv_parse(buf, len);
    free(buf);
    assert_int_equal(dec_node(&d, tv_body_child(d.doc), NULL), XR_OK);
    /* SOURCES.md: found, turvakielto protected. */
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_FOUND);
    assert_int_equal(vtj_result_turvakielto(d.r), VTJ_TURVAKIELTO_PROTECTED);
    assert_jstr(d.j, "person.hetu", "260991-999R");
    assert_jstr(d.j, "person.turvakielto_end_date", "2030-12-31");
    assert_jstr(d.j, "product", "PERUSSANOMA 3");
    /* Empty address and municipality skeletons are absent. */
    assert_jabsent(d.j, "person.addresses");
    assert_jabsent(d.j, "person.municipality");
    assert_jabsent(d.j, "person.deceased");
    assert_no_echo(d.j);
    dec_free(&d);

    if (!tv_vector_path("vtj/synthetic/03-response-notfound-fault0001.xml",
                        path, sizeof(path))) {
        skip();
        return;
    }
    buf = tv_read(path, &len);
    memset(&d, 0, sizeof(d));
    d.doc = tv_parse(buf, len);
    free(buf);
    assert_int_equal(dec_node(&d, tv_body_child(d.doc), NULL), XR_OK);
    assert_int_equal(vtj_result_outcome(d.r), VTJ_OUTCOME_NOT_FOUND);
    assert_true(vtj_result_is_fault_code(d.r));
    dec_free(&d);

    /* 04 is a SOAP Fault: its body child is not a VTJ answer. */
    if (!tv_vector_path("vtj/synthetic/04-xroad-technical-soapfault.xml", path,
                        sizeof(path))) {
        skip();
        return;
    }
    buf = tv_read(path, &len);
    memset(&d, 0, sizeof(d));
    d.doc = tv_parse(buf, len);
    free(buf);
    assert_int_equal(dec_node(&d, tv_body_child(d.doc), NULL), XR_EPROTO);
    assert_string_equal(d.err.reason, "not_vtj_response");
    dec_free(&d);
}

/* ---- HaeTuotteenSkeema ----------------------------------------------------
 */

static void test_schema_decode(void **state)
{
    static const char ok[] =
        "<HaeTuotteenSkeemaResponse xmlns=\"" VTJ_NS_WS "\">"
        "<reguest><SoSoNimi>PERUSSANOMA 1</SoSoNimi><Laji>1</Laji></reguest>"
        "<response><xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">"
        "<xs:element name=\"A\"/></xs:schema></response>"
        "</HaeTuotteenSkeemaResponse>";
    static const char text[] =
        "<HaeTuotteenSkeemaResponse xmlns=\"" VTJ_NS_WS "\"><response>"
        "  &lt;xs:schema/&gt; </response></HaeTuotteenSkeemaResponse>";
    static const char fault[] =
        "<HaeTuotteenSkeemaResponse xmlns=\"" VTJ_NS_WS "\"><response>"
        "<faultCode>-1900</faultCode></response></HaeTuotteenSkeemaResponse>";
    static const char empty[] =
        "<HaeTuotteenSkeemaResponse xmlns=\"" VTJ_NS_WS "\"><response/>"
        "</HaeTuotteenSkeemaResponse>";
    struct xr_error err;
    xmlDocPtr doc;
    char *xsd = NULL;
    size_t len = 0;

    (void)state;
    memset(&err, 0, sizeof(err));
    doc = tv_parse(ok, sizeof(ok) - 1);
    assert_int_equal(
        vtj_schema_decode(xmlDocGetRootElement(doc), &xsd, &len, &err), XR_OK);
    assert_non_null(strstr(xsd, "schema"));
    assert_non_null(strstr(xsd, "name=\"A\""));
    assert_int_equal(strlen(xsd), len);
    free(xsd);
    xmlFreeDoc(doc);

    doc = tv_parse(text, sizeof(text) - 1);
    assert_int_equal(
        vtj_schema_decode(xmlDocGetRootElement(doc), &xsd, &len, &err), XR_OK);
    assert_string_equal(xsd, "<xs:schema/>");
    free(xsd);
    xmlFreeDoc(doc);

    doc = tv_parse(fault, sizeof(fault) - 1);
    assert_int_equal(
        vtj_schema_decode(xmlDocGetRootElement(doc), &xsd, &len, &err),
        XR_EPROTO);
    assert_string_equal(err.reason, "vtj_fault");
    assert_string_equal(err.field, "-1900");
    assert_null(xsd);
    xmlFreeDoc(doc);

    doc = tv_parse(empty, sizeof(empty) - 1);
    assert_int_equal(
        vtj_schema_decode(xmlDocGetRootElement(doc), &xsd, &len, &err),
        XR_EPROTO);
    assert_string_equal(err.reason, "missing_schema");
    xmlFreeDoc(doc);

    doc = tv_parse(fault, sizeof(fault) - 1);
    assert_int_equal(vtj_schema_decode(NULL, &xsd, &len, &err), XR_EPROTO);
    assert_string_equal(err.reason, "not_vtj_response");
    xmlFreeDoc(doc);
}

/* ---- allocation failures ------------------------------------------------ */

/*
 * Fail the N-th allocation of a decode for N = 1.. until it succeeds
 * (malloc, calloc, realloc and strdup of vayla's code, wrapped at link
 * time: oom_alloc.h): every failure must be XR_ENOMEM with no result
 * (leaks show under ASan). The answer document is one arena, so a full
 * answer has few allocation points: the result, the document, its blocks
 * and the copied strings.
 */
static void test_json_allocation_failures(void **state)
{
    size_t len = 0;
    char *buf = tv_fixture("full.xml", &len);
    xmlDocPtr doc = tv_parse(buf, len);
    struct vtj_policy redact = {true, false, NULL, NULL};
    long n;

    (void)state;
    free(buf);
    assert_non_null(doc);
    for (n = 1; n < 100000; n++) {
        struct vtj_result *r = NULL;
        struct xr_error err;
        enum xr_status st;
        bool refused;

        memset(&err, 0, sizeof(err));
        oom_arm(n);
        st = vtj_decode(tv_body_child(doc), &redact, &r, &err);
        refused = oom_disarm();
        if (!refused) {
            assert_int_equal(st, XR_OK);
            assert_non_null(r);
            vtj_result_free(r);
            break;
        }
        if (st != XR_ENOMEM)
            fail_msg("allocation %ld: %s %s", n, xr_strerror(st), err.reason);
        assert_null(r);
    }
    print_message("decode succeeded after %ld failing allocation points\n",
                  n - 1);
    assert_true(n > 5);
    xmlFreeDoc(doc);
}

/* ---- the JSON text against jansson -------------------------------------- */

/*
 * The answer the API writes from r's own members (vtj_result_write_members)
 * against jansson writing the same members from vtj_result_to_json(): byte
 * for byte, and the text reads back as that tree. Returns 1 when compared.
 */
static int text_agrees(const struct vtj_result *r, const char *what)
{
    struct jw w = {0};
    json_t *tree = vtj_result_to_json(r);
    json_t *o = json_object();
    json_t *back;
    char *text, *want;
    size_t len = 0;

    assert_non_null(tree);
    assert_non_null(o);
    JW_LIT(&w, "{\"message_id\":\"m-1\"");
    vtj_result_write_members(r, &w);
    jw_putc(&w, '}');
    text = jw_finish_line(&w, &len);
    assert_non_null(text);
    json_object_set_new(o, "message_id", json_string("m-1"));
    assert_int_equal(json_object_update(o, tree), 0);
    want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(want);
    if (len != strlen(want) + 1 || memcmp(text, want, len - 1) != 0)
        fail_msg("%s: the text differs from jansson's:\n%s\n%s", what, text,
                 want);
    back = json_loadb(text, len, 0, NULL);
    assert_non_null(back);
    assert_true(json_equal(back, o));
    json_decref(back);
    free(want);
    free(text);
    json_decref(o);
    json_decref(tree);
    return 1;
}

/* Decode buf with and without redaction; how many texts were compared. */
static int text_agrees_buf(const char *buf, size_t len, const char *what)
{
    static const struct vtj_policy plain = {false, false, NULL, NULL};
    static const struct vtj_policy redact = {true, true, NULL, NULL};
    const struct vtj_policy *policies[] = {&plain, &redact};
    xmlDocPtr doc = xmlReadMemory(buf, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR |
                                      XML_PARSE_NOWARNING);
    int n = 0;

    if (!doc)
        return 0;
    for (size_t i = 0; i < 2; i++) {
        struct vtj_result *r = NULL;
        struct xr_error err;
        xmlNodePtr w = doc->intSubset ? NULL : tv_wrapper(doc);

        if (w && vtj_decode(w, policies[i], &r, &err) == XR_OK) {
            n += text_agrees(r, what);
            vtj_result_free(r);
        }
    }
    xmlFreeDoc(doc);
    return n;
}

static int text_agrees_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        fail_msg("cannot open %s", dir);
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        size_t len = 0;
        char *buf;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        buf = tv_read(path, &len);
        if (!buf)
            continue;
        n += text_agrees_buf(buf, len, path);
        free(buf);
    }
    closedir(d);
    return n;
}

/*
 * Every fixture and every corpus file of the decoder's fuzz target that
 * decodes: the API's text is jansson's dump of the same JSON form.
 */
static void test_json_text_agrees(void **state)
{
    const char *src = getenv("XR_SOURCE_DIR");
    char dir[4096];
    int fixtures, corpus;

    (void)state;
    assert_non_null(src);
    snprintf(dir, sizeof(dir), "%s/tests/data/vtj", src);
    fixtures = text_agrees_dir(dir);
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/fuzz_vtj_decode", src);
    corpus = text_agrees_dir(dir);
    print_message("JSON text compared: %d fixture and %d corpus answers\n",
                  fixtures, corpus);
    assert_true(fixtures >= 10);
    assert_true(corpus >= 4);
}

static void test_outcome_names(void **state)
{
    (void)state;
    for (int o = VTJ_OUTCOME_FOUND; o <= VTJ_OUTCOME_UNKNOWN_CODE; o++)
        assert_non_null(vtj_outcome_name((enum vtj_outcome)o));
    assert_string_equal(vtj_outcome_name(VTJ_OUTCOME_NOT_DISCLOSABLE),
                        "not_disclosable");
    assert_true(vtj_outcome_is_error(VTJ_OUTCOME_UNKNOWN_CODE));
    assert_false(vtj_outcome_is_found(VTJ_OUTCOME_UNKNOWN_CODE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perussanoma1),
        cmocka_unit_test(test_huoltaja_huollettavat),
        cmocka_unit_test(test_huollettava_huoltajat),
        cmocka_unit_test(test_everything),
        cmocka_unit_test(test_asukaslkm2),
        cmocka_unit_test(test_passivated),
        cmocka_unit_test(test_under15_deceased_notfound),
        cmocka_unit_test(test_return_codes),
        cmocka_unit_test(test_hostile_codes),
        cmocka_unit_test(test_code_warnings),
        cmocka_unit_test(test_search_key_refinement),
        cmocka_unit_test(test_turvakielto),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_subject_checks),
        cmocka_unit_test(test_values_and_limits),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_text_nodes),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_child_cap),
        cmocka_unit_test(test_namespaces_and_duplicates),
        cmocka_unit_test(test_vectors_shared),
        cmocka_unit_test(test_schema_decode),
        cmocka_unit_test(test_json_allocation_failures),
        cmocka_unit_test(test_json_text_agrees),
        cmocka_unit_test(test_outcome_names),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("vtj_decode", tests, NULL, NULL);
}

/*
 * Decoding VTJkysely answers (vtj.h): classification of the return code
 * and a table-driven mapping of the person data to the stable JSON form
 * documented in docs/api.md.
 *
 * Rules (docs/vtjkysely.md §4, §6, §9): elements are matched by namespace
 * and local name only; unknown elements are ignored; empty elements are
 * absent; values are trimmed; dates become ISO 8601; repeated groups whose
 * identifying field is empty are dropped; a single-valued element that
 * appears twice makes the answer invalid (never guess which one is meant).
 *
 * Every loop over the document is bounded: VTJ_CHILD_MAX children per
 * element, VTJ_GROUP_MAX items per repeated group, VTJ_VALUE_MAX bytes per
 * value. Recursion depth is fixed by the static tables below, not by the
 * input.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "services/hetu.h"
#include "services/vtj.h"

/* Children examined per element; more is XR_ELIMIT. */
#define VTJ_CHILD_MAX  4096u
/* Bytes of a static path in the tables. */
#define PATH_MAX_BYTES 96u

struct vtj_result {
    enum vtj_outcome outcome;
    bool from_fault; /* the code came from response/faultCode */
    bool retryable;  /* the same query may be retried later */
    bool redacted;   /* the policy removed addresses */
    enum vtj_turvakielto turvakielto;
    char *return_code; /* owned */
    char *return_text; /* owned, may be NULL */
    char *new_hetu;    /* owned, may be NULL */
    char *product;     /* owned, may be NULL */
    char *hetu;        /* owned, may be NULL */
    json_t *json;      /* owned: the complete JSON form */
};

/* ---- Return codes (docs/vtjkysely.md §5) ----------------------------- */

struct code_map {
    const char *code;
    enum vtj_outcome outcome;
    const char *warning; /* added to "warnings", or NULL */
    bool retryable;
};

static const struct code_map code_table[] = {
    {"0000", VTJ_OUTCOME_FOUND, NULL, false},
    {"0001", VTJ_OUTCOME_NOT_FOUND, NULL, false},
    {"0002", VTJ_OUTCOME_PASSIVATED, NULL, false},
    {"0003", VTJ_OUTCOME_CREDENTIALS_ERROR, "password_rejected", false},
    {"0004", VTJ_OUTCOME_CREDENTIALS_ERROR, "username_rejected", false},
    {"0005", VTJ_OUTCOME_REQUEST_ERROR, NULL, false},
    {"0006", VTJ_OUTCOME_NOT_FOUND, NULL, false},
    {"0007", VTJ_OUTCOME_DECEASED_NOT_DISCLOSED, NULL, false},
    {"0008", VTJ_OUTCOME_FOUND, "crl_check_not_performed", false},
    {"0009", VTJ_OUTCOME_FOUND, "validity_check_not_performed", false},
    {"0010", VTJ_OUTCOME_CONFIG_ERROR, "identification_method_mismatch", false},
    {"0011", VTJ_OUTCOME_CONFIG_ERROR, "identification_method_mismatch", false},
    {"0012", VTJ_OUTCOME_AUTH_FAILED, "certificate_expired", false},
    {"0013", VTJ_OUTCOME_AUTH_FAILED, "certificate_revoked", false},
    {"0014", VTJ_OUTCOME_AUTH_FAILED, "not_a_certificate", false},
    {"0015", VTJ_OUTCOME_AUTH_FAILED, "certificate_not_accepted", false},
    {"0016", VTJ_OUTCOME_INTEGRITY_ERROR, NULL, false},
    {"0017", VTJ_OUTCOME_NOT_FOUND, "no_guardianship_register_data", false},
    {"0018", VTJ_OUTCOME_UNDER_15, NULL, false},
    {"0019", VTJ_OUTCOME_NOT_DISCLOSABLE, NULL, false},
    {"-1500", VTJ_OUTCOME_CREDENTIALS_ERROR, NULL, false},
    {"-1505", VTJ_OUTCOME_CONFIG_ERROR, "billing_information_error", false},
    {"-1800", VTJ_OUTCOME_SERVICE_ERROR, NULL, true},
    {"-1805", VTJ_OUTCOME_REQUEST_ERROR, "schema_validation_failed", false},
    {"-1900", VTJ_OUTCOME_CONFIG_ERROR, "product_not_found", false},
    {"-1901", VTJ_OUTCOME_CONFIG_ERROR, "product_not_found", false},
    {"-1902", VTJ_OUTCOME_REQUEST_ERROR, "invalid_characters", false},
    {"-1903", VTJ_OUTCOME_REQUEST_ERROR, "invalid_characters", false},
    {"-1904", VTJ_OUTCOME_REQUEST_ERROR, "missing_end_user", false},
    {"-1905", VTJ_OUTCOME_SERVICE_ERROR, "billing_error", false},
    {"-1906", VTJ_OUTCOME_SERVICE_ERROR, "unexpected_error", false},
};

static const struct code_map *code_lookup(const char *code)
{
    for (size_t i = 0; i < sizeof(code_table) / sizeof(code_table[0]); i++)
        if (strcmp(code_table[i].code, code) == 0)
            return &code_table[i];
    return NULL;
}

/* ---- Mapping tables ------------------------------------------------- */

enum fkind {
    FK_TEXT,      /* trimmed string */
    FK_DATE,      /* yyyymmdd -> yyyy-mm-dd (yyyy-mm, yyyy when 00) */
    FK_TIMESTAMP, /* yyyymmddhhmmss -> yyyy-mm-ddThh:mm:ss */
    FK_FLAG,      /* "1" true, "0" false, else omitted with a warning */
    FK_VALIDITY,  /* voimassaolokoodi: "1" true, anything else false */
    FK_COUNT,     /* decimal digits -> integer */
    FK_LANG,      /* language code, lower case, iw -> he */
    FK_COUNTRY    /* ISO 3166 numeric, 736 -> 729, 230 -> 231 */
};

/*
 * A value and where to find it relative to the group element: up to three
 * alternative paths, tried in order; the first non-empty one wins.
 * Path syntax: "A", "A/B", "A@attr", "@attr" (attribute of the group
 * element).
 */
struct vfield {
    const char *json;
    enum fkind kind;
    const char *path[3];
};

struct vgroup {
    const char *element; /* local name */
    const char *json;    /* key in the parent object */
    const char *type;    /* non-NULL: "type" value; item goes to an array */
    bool repeated;       /* may occur many times (JSON array) */
    const char *id;      /* JSON key that must be present, NULL = any */
    const struct vfield *fields; /* terminated by {NULL} */
    const struct vgroup *groups; /* terminated by {NULL} */
};

#define FIELD_END            \
    {                        \
        NULL, FK_TEXT,       \
        {                    \
            NULL, NULL, NULL \
        }                    \
    }
#define GROUP_END                                 \
    {                                             \
        NULL, NULL, NULL, false, NULL, NULL, NULL \
    }

#define LAST_NAME_PATHS                                             \
    {                                                               \
        "NykyinenSukunimi/Sukunimi", "NykyinenSukunimi", "Sukunimi" \
    }
#define FIRST_NAMES_PATHS                                           \
    {                                                               \
        "NykyisetEtunimet/Etunimet", "NykyisetEtunimet", "Etunimet" \
    }

static const struct vgroup g_none[] = {GROUP_END};

static const struct vfield f_former_name[] = {
    {"name", FK_TEXT, {"Nimi"}},
    {"name_type_code", FK_TEXT, {"Nimilajikoodi"}},
    {"start_date", FK_DATE, {"Alkupvm"}},
    {"end_date", FK_DATE, {"Loppupvm"}},
    {"info_fi", FK_TEXT, {"Info8S"}},
    {"info_sv", FK_TEXT, {"Info8R"}},
    FIELD_END};

static const struct vfield f_domestic_address[] = {
    {"street_fi", FK_TEXT, {"LahiosoiteS"}},
    {"street_sv", FK_TEXT, {"LahiosoiteR"}},
    {"postal_code", FK_TEXT, {"Postinumero"}},
    {"post_office_fi", FK_TEXT, {"PostitoimipaikkaS"}},
    {"post_office_sv", FK_TEXT, {"PostitoimipaikkaR"}},
    {"start_date", FK_DATE, {"AsuminenAlkupvm"}},
    {"end_date", FK_DATE, {"AsuminenLoppupvm"}},
    FIELD_END};

static const struct vfield f_foreign_address[] = {
    {"street", FK_TEXT, {"UlkomainenLahiosoite"}},
    {"locality_country_fi", FK_TEXT, {"UlkomainenPaikkakuntaJaValtioS"}},
    {"locality_country_sv", FK_TEXT, {"UlkomainenPaikkakuntaJaValtioR"}},
    {"locality_country_text",
     FK_TEXT,
     {"UlkomainenPaikkakuntaJaValtioSelvakielinen"}},
    {"country_code", FK_COUNTRY, {"Valtiokoodi3"}},
    {"start_date", FK_DATE, {"AsuminenAlkupvm"}},
    {"end_date", FK_DATE, {"AsuminenLoppupvm"}},
    FIELD_END};

static const struct vfield f_domestic_postal[] = {
    {"street_fi", FK_TEXT, {"PostiosoiteS"}},
    {"street_sv", FK_TEXT, {"PostiosoiteR"}},
    {"postal_code", FK_TEXT, {"Postinumero"}},
    {"post_office_fi", FK_TEXT, {"PostitoimipaikkaS"}},
    {"post_office_sv", FK_TEXT, {"PostitoimipaikkaR"}},
    {"start_date", FK_DATE, {"PostiosoiteAlkupvm"}},
    {"end_date", FK_DATE, {"PostiosoiteLoppupvm"}},
    FIELD_END};

static const struct vfield f_foreign_postal[] = {
    {"street", FK_TEXT, {"UlkomainenLahiosoite"}},
    {"locality", FK_TEXT, {"UlkomainenPaikkakunta"}},
    {"country_code", FK_COUNTRY, {"Valtiokoodi3"}},
    {"country_fi", FK_TEXT, {"ValtioS"}},
    {"country_sv", FK_TEXT, {"ValtioR"}},
    {"country_text", FK_TEXT, {"ValtioSelvakielinen"}},
    {"start_date", FK_DATE, {"PostiosoiteAlkupvm"}},
    {"end_date", FK_DATE, {"PostiosoiteLoppupvm"}},
    FIELD_END};

static const struct vfield f_municipality[] = {
    {"code", FK_TEXT, {"Kuntanumero"}},
    {"name_fi", FK_TEXT, {"KuntaS"}},
    {"name_sv", FK_TEXT, {"KuntaR"}},
    {"start_date", FK_DATE, {"KuntasuhdeAlkupvm"}},
    FIELD_END};

static const struct vfield f_language[] = {
    {"code", FK_LANG, {"Kielikoodi", "AidinkieliTietokoodi"}},
    {"name_fi", FK_TEXT, {"KieliS"}},
    {"name_sv", FK_TEXT, {"KieliR"}},
    {"name_text", FK_TEXT, {"KieliSelvakielinen"}},
    FIELD_END};

static const struct vfield f_gender[] = {{"code", FK_TEXT, {"Sukupuolikoodi"}},
                                         {"name_fi", FK_TEXT, {"SukupuoliS"}},
                                         {"name_sv", FK_TEXT, {"SukupuoliR"}},
                                         FIELD_END};

static const struct vfield f_citizenship[] = {
    {"code", FK_COUNTRY, {"Kansalaisuuskoodi3"}},
    {"name_fi", FK_TEXT, {"KansalaisuusS"}},
    {"name_sv", FK_TEXT, {"KansalaisuusR"}},
    {"name_text", FK_TEXT, {"KansalaisuusSelvakielinen"}},
    {"start_date", FK_DATE, {"Saamispvm"}},
    FIELD_END};

static const struct vfield f_custody[] = {
    {"custody_division_code", FK_TEXT, {"Huollonjakokoodi"}},
    {"relationship_code", FK_TEXT, {"Henkilosuhdelajikoodi"}},
    FIELD_END};

static const struct vgroup g_relative[] = {
    {"Huoltotiedot", "custody", NULL, false, NULL, f_custody, g_none},
    GROUP_END};

static const struct vfield f_relative[] = {
    {"hetu", FK_TEXT, {"Henkilotunnus"}},
    {"birth_date", FK_DATE, {"Syntymaaika"}},
    {"last_name", FK_TEXT, LAST_NAME_PATHS},
    {"first_names", FK_TEXT, FIRST_NAMES_PATHS},
    FIELD_END};

static const struct vfield f_person_trustee[] = {
    {"hetu", FK_TEXT, {"Henkilotunnus"}},
    {"birth_date", FK_DATE, {"Syntymaaika"}},
    {"last_name", FK_TEXT, LAST_NAME_PATHS},
    {"first_names", FK_TEXT, FIRST_NAMES_PATHS},
    {"task_start_date", FK_DATE, {"TehtavaAlkupvm"}},
    {"task_end_date", FK_DATE, {"TehtavaLoppupvm"}},
    FIELD_END};

static const struct vfield f_organisation_trustee[] = {
    {"business_id", FK_TEXT, {"Ytunnus"}},
    {"name", FK_TEXT, {"Nimi"}},
    {"task_start_date", FK_DATE, {"TehtavaAlkupvm"}},
    {"task_end_date", FK_DATE, {"TehtavaLoppupvm"}},
    FIELD_END};

static const struct vfield f_legal_aid_trustee[] = {
    {"authority_number", FK_TEXT, {"Viranomaisnumero"}},
    {"name_fi", FK_TEXT, {"ViranomainenS"}},
    {"name_sv", FK_TEXT, {"ViranomainenR"}},
    {"task_start_date", FK_DATE, {"TehtavaAlkupvm"}},
    {"task_end_date", FK_DATE, {"TehtavaLoppupvm"}},
    FIELD_END};

static const struct vfield f_trusteeship[] = {
    {"start_date", FK_DATE, {"Alkupvm"}},
    {"end_date", FK_DATE, {"Paattymispvm"}},
    {"info", FK_TEXT, {"EdunvalvontaTieto"}},
    {"restriction_code", FK_TEXT, {"Rajoituskoodi"}},
    {"restriction_fi", FK_TEXT, {"RajoitustekstiS"}},
    {"restriction_sv", FK_TEXT, {"RajoitustekstiR"}},
    {"task_division_code", FK_TEXT, {"Tehtavienjakokoodi"}},
    {"task_division_fi", FK_TEXT, {"TehtavienjakoS"}},
    {"task_division_sv", FK_TEXT, {"TehtavienjakoR"}},
    FIELD_END};

static const struct vgroup g_trusteeship[] = {
    {"HenkiloEdunvalvoja", "person_trustees", NULL, true, "hetu",
     f_person_trustee, g_none},
    {"YritysJaYhteisoEdunvalvoja", "organisation_trustees", NULL, true, NULL,
     f_organisation_trustee, g_none},
    {"OikeusaputoimistoEdunvalvoja", "legal_aid_office_trustees", NULL, true,
     NULL, f_legal_aid_trustee, g_none},
    GROUP_END};

static const struct vfield f_attorney[] = {
    {"hetu", FK_TEXT, {"Henkilotunnus"}},
    {"birth_date", FK_DATE, {"Syntymaaika"}},
    {"last_name", FK_TEXT, LAST_NAME_PATHS},
    {"first_names", FK_TEXT, FIRST_NAMES_PATHS},
    {"start_date", FK_DATE, {"ValtuutusAlkupvm"}},
    {"end_date", FK_DATE, {"ValtuutusLoppupvm"}},
    FIELD_END};

static const struct vfield f_power_of_attorney[] = {
    {"start_date", FK_DATE, {"Alkupvm"}},
    {"end_date", FK_DATE, {"Paattymispvm"}},
    {"info", FK_TEXT, {"EdunvalvontavaltuutusTieto"}},
    {"task_division_code", FK_TEXT, {"Tehtavienjakokoodi"}},
    {"task_division_fi", FK_TEXT, {"TehtavienjakoS"}},
    {"task_division_sv", FK_TEXT, {"TehtavienjakoR"}},
    FIELD_END};

static const struct vgroup g_power_of_attorney[] = {
    {"HenkiloEdunvalvontavaltuutettu", "attorneys", NULL, true, "hetu",
     f_attorney, g_none},
    GROUP_END};

static const struct vfield f_hetu_only[] = {
    {"hetu", FK_TEXT, {"Henkilotunnus"}}, FIELD_END};

/* Henkilo itself. Turvakielto is decided in code (turvakielto()). */
static const struct vfield f_person[] = {
    {"hetu", FK_TEXT, {"Henkilotunnus"}},
    {"hetu_valid", FK_VALIDITY, {"Henkilotunnus@voimassaolokoodi"}},
    {"hetu_validity_code", FK_TEXT, {"Henkilotunnus@voimassaolokoodi"}},
    {"satu", FK_TEXT, {"SahkoinenAsiointitunnus"}},
    {"satu_valid", FK_VALIDITY, {"SahkoinenAsiointitunnus@voimassaolokoodi"}},
    {"satu_validity_code",
     FK_TEXT,
     {"SahkoinenAsiointitunnus@voimassaolokoodi"}},
    {"last_name", FK_TEXT, LAST_NAME_PATHS},
    {"first_names", FK_TEXT, FIRST_NAMES_PATHS},
    {"call_name",
     FK_TEXT,
     {"NykyinenKutsumanimi/Kutsumanimi", "NykyinenKutsumanimi", "Kutsumanimi"}},
    {"dwelling_id", FK_TEXT, {"VakinainenAsuinpaikka/Asuinpaikantunnus"}},
    {"deceased", FK_FLAG, {"Kuolintiedot/Kuollut"}},
    {"death_date", FK_DATE, {"Kuolintiedot/Kuolinpvm"}},
    {"declared_dead_date",
     FK_DATE,
     {"Kuolleeksijulistamistiedot/Kuolleeksijulistamispvm"}},
    {"finnish_citizen", FK_FLAG, {"SuomenKansalaisuusTietokoodi"}},
    {"guardian_count", FK_COUNT, {"HuoltajaLkm"}},
    {"taken_into_care", FK_FLAG, {"Huostaanotto/HuostaanottoTieto"}},
    {"email", FK_TEXT, {"Sahkopostiosoite"}},
    {"resident_count", FK_COUNT, {"AsukasLkm"}},
    {"resident_under_18_count", FK_COUNT, {"AsukkaatAlle18v/AsukasLkm"}},
    FIELD_END};

static const struct vgroup g_person[] = {
    {"EntinenNimi", "former_names", NULL, true, "name", f_former_name, g_none},
    {"VakinainenKotimainenLahiosoite", "addresses", "permanent_domestic", false,
     NULL, f_domestic_address, g_none},
    {"VakinainenUlkomainenLahiosoite", "addresses", "permanent_foreign", false,
     NULL, f_foreign_address, g_none},
    {"TilapainenKotimainenLahiosoite", "addresses", "temporary_domestic", true,
     NULL, f_domestic_address, g_none},
    {"TilapainenUlkomainenLahiosoite", "addresses", "temporary_foreign", true,
     NULL, f_foreign_address, g_none},
    {"KotimainenPostiosoite", "addresses", "postal_domestic", true, NULL,
     f_domestic_postal, g_none},
    {"UlkomainenPostiosoite", "addresses", "postal_foreign", true, NULL,
     f_foreign_postal, g_none},
    {"Kotikunta", "municipality", NULL, false, NULL, f_municipality, g_none},
    {"Aidinkieli", "mother_tongue", NULL, false, NULL, f_language, g_none},
    {"Asiointikieli", "service_language", NULL, false, NULL, f_language,
     g_none},
    {"Sukupuoli", "gender", NULL, false, NULL, f_gender, g_none},
    {"Kansalaisuus", "citizenships", NULL, true, NULL, f_citizenship, g_none},
    {"Huoltotiedot", "custody", NULL, false, NULL, f_custody, g_none},
    {"Huoltaja", "guardians", NULL, true, "hetu", f_relative, g_relative},
    {"Huollettava", "dependants", NULL, true, "hetu", f_relative, g_relative},
    {"Lapsi", "children", NULL, true, "hetu", f_relative, g_relative},
    {"Edunvalvonta", "trusteeship", NULL, false, NULL, f_trusteeship,
     g_trusteeship},
    {"Edunvalvontavaltuutus", "continuing_power_of_attorney", NULL, false, NULL,
     f_power_of_attorney, g_power_of_attorney},
    {"AsukasAlle18v", "residents_under_18", NULL, true, "hetu", f_hetu_only,
     g_none},
    GROUP_END};

/* VTJHenkiloVastaussanoma: root attributes and Asiakasinfo. */
static const struct vfield f_message[] = {
    {"product", FK_TEXT, {"@sanomatunnus"}},
    {"version", FK_TEXT, {"@versio"}},
    {"extracted_at", FK_TIMESTAMP, {"@tietojenPoimintaaika"}},
    FIELD_END};

static const struct vfield f_customer_info[] = {{"fi", FK_TEXT, {"InfoS"}},
                                                {"sv", FK_TEXT, {"InfoR"}},
                                                {"en", FK_TEXT, {"InfoE"}},
                                                FIELD_END};

static const struct vgroup g_message[] = {{"Asiakasinfo", "customer_info", NULL,
                                           false, NULL, f_customer_info,
                                           g_none},
                                          GROUP_END};

/* ---- XML helpers ------------------------------------------------------ */

enum nsset {
    NS_WS, /* the X-Road wrapper namespace (vtjkysely/1) */
    NS_MSG /* VTJHenkiloVastaussanoma and the catalogue namespace */
};

/* Decoding state. */
struct dctx {
    json_t *warnings; /* borrowed array */
    struct xr_error *err;
};

static const char *xs(const xmlChar *s)
{
    return (const char *)s;
}

static bool ns_ok(const xmlNode *n, enum nsset set)
{
    const char *href;

    if (!n->ns || !n->ns->href)
        return false;
    href = xs(n->ns->href);
    switch (set) {
    case NS_WS:
        return strcmp(href, VTJ_NS_WS) == 0;
    case NS_MSG:
        return strcmp(href, VTJ_NS_MESSAGE) == 0 ||
               strcmp(href, VTJ_NS_CATALOGUE) == 0;
    }
    return false;
}

static bool is_el(const xmlNode *n, enum nsset set, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->name &&
           strcmp(xs(n->name), name) == 0 && ns_ok(n, set);
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

/* Return codes are short ASCII; anything else is kept only in this form. */
#define RETURN_CODE_MAX 32u

static void sanitize_code(char *code)
{
    size_t i;

    for (i = 0; code[i] && i < RETURN_CODE_MAX; i++) {
        unsigned char ch = (unsigned char)code[i];
        if (ch < 0x21u || ch >= 0x7Fu)
            code[i] = '?';
    }
    code[i] = '\0';
}

static enum xr_status too_many(struct xr_error *err, const char *name)
{
    return xr_error_set(err, XR_ELIMIT, "too_many_items", name,
                        "more than %u children or items in %.48s",
                        VTJ_CHILD_MAX, name);
}

/*
 * The single child element `name` of parent in namespace set `set`, or
 * NULL. Two or more: XR_EPROTO duplicate_element.
 */
static enum xr_status find_child(const xmlNode *parent, enum nsset set,
                                 const char *name, xmlNodePtr *out,
                                 struct xr_error *err)
{
    unsigned seen = 0;

    *out = NULL;
    for (xmlNodePtr n = parent->children; n; n = n->next) {
        if (++seen > VTJ_CHILD_MAX)
            return too_many(err, name);
        if (!is_el(n, set, name))
            continue;
        if (*out) {
            *out = NULL;
            return xr_error_set(err, XR_EPROTO, "duplicate_element", name,
                                "element %.48s appears more than once", name);
        }
        *out = n;
    }
    return XR_OK;
}

static bool is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Concatenate the text/CDATA nodes of a node list, trim XML whitespace.
 * *out is new, or NULL when the result is empty. Caps at VTJ_VALUE_MAX.
 */
static enum xr_status list_text(const xmlNode *first, const char *name,
                                char **out, struct xr_error *err)
{
    size_t total = 0, start, end;
    unsigned seen = 0;
    char *buf = NULL;

    *out = NULL;
    for (const xmlNode *n = first; n; n = n->next) {
        if (++seen > VTJ_CHILD_MAX)
            return too_many(err, name);
        if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
            n->content) {
            total += strnlen(xs(n->content), VTJ_VALUE_MAX + 1u);
            if (total > VTJ_VALUE_MAX)
                return xr_error_set(err, XR_ELIMIT, "value_too_long", name,
                                    "a value in %.48s is longer than %u "
                                    "bytes",
                                    name, VTJ_VALUE_MAX);
        }
    }
    if (total == 0)
        return XR_OK;
    buf = malloc(total + 1u);
    if (!buf)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", name,
                            "out of memory");
    total = 0;
    for (const xmlNode *n = first; n; n = n->next) {
        if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
            n->content) {
            size_t l = strlen(xs(n->content));
            memcpy(buf + total, n->content, l);
            total += l;
        }
    }
    buf[total] = '\0';
    for (start = 0; start < total && is_xml_space(buf[start]); start++)
        ;
    for (end = total; end > start && is_xml_space(buf[end - 1]); end--)
        ;
    if (start == end) {
        free(buf);
        return XR_OK;
    }
    memmove(buf, buf + start, end - start);
    buf[end - start] = '\0';
    *out = buf;
    return XR_OK;
}

static enum xr_status elem_text(const xmlNode *el, char **out,
                                struct xr_error *err)
{
    return list_text(el->children, xs(el->name), out, err);
}

/* Unqualified attribute `name` of el, trimmed; NULL when absent/empty. */
static enum xr_status attr_text(const xmlNode *el, const char *name, char **out,
                                struct xr_error *err)
{
    unsigned seen = 0;

    *out = NULL;
    for (const xmlAttr *a = el->properties; a; a = a->next) {
        if (++seen > VTJ_CHILD_MAX)
            return too_many(err, name);
        if (a->ns == NULL && a->name && strcmp(xs(a->name), name) == 0)
            return list_text(a->children, name, out, err);
    }
    return XR_OK;
}

/*
 * Resolve a static table path ("A", "A/B", "A@x", "@x") below el into a
 * trimmed string (new, or NULL when absent or empty).
 */
static enum xr_status path_text(const xmlNode *el, const char *path, char **out,
                                struct xr_error *err)
{
    char seg[PATH_MAX_BYTES];
    const char *p = path, *attr = NULL;
    const xmlNode *cur = el;
    xmlNodePtr child;
    enum xr_status rc;

    *out = NULL;
    while (*p && *p != '@') {
        size_t n = strcspn(p, "/@");
        if (n >= sizeof(seg))
            return xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                                "table path too long");
        memcpy(seg, p, n);
        seg[n] = '\0';
        rc = find_child(cur, NS_MSG, seg, &child, err);
        if (rc != XR_OK)
            return rc;
        if (!child)
            return XR_OK;
        cur = child;
        p += n;
        if (*p == '/')
            p++;
    }
    if (*p == '@')
        attr = p + 1;
    if (attr)
        return attr_text(cur, attr, out, err);
    return elem_text(cur, out, err);
}

/* ---- Value conversion ------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[n] == '\0';
}

static unsigned num(const char *s, size_t n)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10u + (unsigned)(s[i] - '0');
    return v;
}

static unsigned month_days(unsigned y, unsigned m)
{
    static const unsigned d[12] = {31, 28, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31};

    if (m == 2u && ((y % 4u == 0u && y % 100u != 0u) || y % 400u == 0u))
        return 29u;
    return d[m - 1u];
}

/* yyyymmdd -> ISO 8601 (reduced precision for 00 month/day). */
static bool iso_date(const char *v, char *out, size_t size)
{
    unsigned y, m, d;
    int n;

    if (!all_digits(v, 8))
        return false;
    y = num(v, 4);
    m = num(v + 4, 2);
    d = num(v + 6, 2);
    if (y == 0u)
        return false;
    if (m == 0u && d == 0u)
        n = snprintf(out, size, "%04u", y);
    else if (m >= 1u && m <= 12u && d == 0u)
        n = snprintf(out, size, "%04u-%02u", y, m);
    else if (m >= 1u && m <= 12u && d >= 1u && d <= month_days(y, m))
        n = snprintf(out, size, "%04u-%02u-%02u", y, m, d);
    else
        return false;
    return n > 0 && (size_t)n < size;
}

/* yyyymmddhhmmss -> yyyy-mm-ddThh:mm:ss (Finnish local time). */
static bool iso_timestamp(const char *v, char *out, size_t size)
{
    char date[16];
    unsigned hh, mi, ss;
    int n;

    if (!all_digits(v, 14))
        return false;
    {
        char d8[9];
        memcpy(d8, v, 8);
        d8[8] = '\0';
        if (!iso_date(d8, date, sizeof(date)) || strlen(date) != 10)
            return false;
    }
    hh = num(v + 8, 2);
    mi = num(v + 10, 2);
    ss = num(v + 12, 2);
    if (hh > 23u || mi > 59u || ss > 60u)
        return false;
    n = snprintf(out, size, "%sT%02u:%02u:%02u", date, hh, mi, ss);
    return n > 0 && (size_t)n < size;
}

static enum xr_status warn(struct dctx *c, const char *what, const char *field)
{
    char buf[128];

    if (field)
        (void)snprintf(buf, sizeof(buf), "%s:%s", what, field);
    else
        (void)snprintf(buf, sizeof(buf), "%s", what);
    if (json_array_append_new(c->warnings, json_string(buf)) != 0)
        return xr_error_set(c->err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    return XR_OK;
}

static enum xr_status oom(struct xr_error *err)
{
    return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                        "out of memory decoding the VTJ answer");
}

/* Convert v per kind; *out = NULL with a warning when not convertible. */
static enum xr_status convert(struct dctx *c, const char *json_name,
                              enum fkind kind, const char *v, json_t **out)
{
    char buf[32];
    size_t len = strlen(v);

    *out = NULL;
    switch (kind) {
    case FK_TEXT:
        *out = json_stringn(v, len);
        break;
    case FK_DATE:
        if (!iso_date(v, buf, sizeof(buf)))
            return warn(c, "invalid_date", json_name);
        *out = json_string(buf);
        break;
    case FK_TIMESTAMP:
        if (!iso_timestamp(v, buf, sizeof(buf)))
            return warn(c, "invalid_timestamp", json_name);
        *out = json_string(buf);
        break;
    case FK_FLAG:
        if (strcmp(v, "1") == 0)
            *out = json_true();
        else if (strcmp(v, "0") == 0)
            *out = json_false();
        else
            return warn(c, "unexpected_value", json_name);
        break;
    case FK_VALIDITY:
        *out = json_boolean(strcmp(v, "1") == 0);
        break;
    case FK_COUNT:
        if (len == 0 || len > 9 || !all_digits(v, len))
            return warn(c, "invalid_count", json_name);
        *out = json_integer((json_int_t)num(v, len));
        break;
    case FK_LANG:
        if (len <= 8) {
            for (size_t i = 0; i <= len; i++)
                buf[i] = (v[i] >= 'A' && v[i] <= 'Z') ? (char)(v[i] - 'A' + 'a')
                                                      : v[i];
            /* Withdrawn ISO 639 code for Hebrew still seen in VTJ. */
            *out = json_string(strcmp(buf, "iw") == 0 ? "he" : buf);
        } else {
            *out = json_stringn(v, len);
        }
        break;
    case FK_COUNTRY:
        /* Old codes still seen in VTJ: Sudan 736 -> 729, Ethiopia 230. */
        if (strcmp(v, "736") == 0)
            *out = json_string("729");
        else if (strcmp(v, "230") == 0)
            *out = json_string("231");
        else
            *out = json_stringn(v, len);
        break;
    }
    if (!*out)
        return oom(c->err);
    return XR_OK;
}

static enum xr_status emit_field(json_t *obj, const struct vfield *f,
                                 const xmlNode *el, struct dctx *c)
{
    char *v = NULL;
    json_t *j = NULL;
    enum xr_status rc = XR_OK;

    for (size_t i = 0; i < 3 && f->path[i]; i++) {
        rc = path_text(el, f->path[i], &v, c->err);
        if (rc != XR_OK)
            goto out;
        if (v)
            break;
    }
    if (!v)
        goto out;
    rc = convert(c, f->json, f->kind, v, &j);
    if (rc != XR_OK || !j)
        goto out;
    if (json_object_set_new(obj, f->json, j) != 0) {
        j = NULL; /* set_new consumed the reference even on failure */
        rc = oom(c->err);
        goto out;
    }
    rc = XR_OK;
out:
    free(v);
    return rc;
}

static enum xr_status group_object(const struct vgroup *g, const xmlNode *el,
                                   json_t **out, struct dctx *c);

static enum xr_status append_item(json_t *parent, const char *key, json_t *item,
                                  struct xr_error *err)
{
    json_t *arr = json_object_get(parent, key);

    if (!arr) {
        arr = json_array();
        if (!arr || json_object_set_new(parent, key, arr) != 0) {
            json_decref(item);
            return oom(err);
        }
    }
    if (json_array_size(arr) >= VTJ_GROUP_MAX) {
        json_decref(item);
        return too_many(err, key);
    }
    if (json_array_append_new(arr, item) != 0)
        return oom(err);
    return XR_OK;
}

/* Decode group g found below parent_el into parent (object). */
static enum xr_status emit_group(json_t *parent, const struct vgroup *g,
                                 const xmlNode *parent_el, struct dctx *c)
{
    xmlNodePtr el = NULL;
    json_t *obj = NULL;
    unsigned seen = 0, items = 0;
    enum xr_status rc;

    if (!g->repeated) {
        rc = find_child(parent_el, NS_MSG, g->element, &el, c->err);
        if (rc != XR_OK || !el)
            return rc;
        rc = group_object(g, el, &obj, c);
        if (rc != XR_OK || !obj)
            return rc;
        if (g->type)
            return append_item(parent, g->json, obj, c->err);
        if (json_object_set_new(parent, g->json, obj) != 0)
            return oom(c->err);
        return XR_OK;
    }
    for (xmlNodePtr n = parent_el->children; n; n = n->next) {
        if (++seen > VTJ_CHILD_MAX)
            return too_many(c->err, g->element);
        if (!is_el(n, NS_MSG, g->element))
            continue;
        if (++items > VTJ_GROUP_MAX)
            return too_many(c->err, g->element);
        rc = group_object(g, n, &obj, c);
        if (rc != XR_OK)
            return rc;
        if (!obj)
            continue; /* empty skeleton row or no identifying field */
        rc = append_item(parent, g->json, obj, c->err);
        if (rc != XR_OK)
            return rc;
    }
    return XR_OK;
}

/*
 * Build the object of one group element. *out is NULL when the group is
 * to be dropped: no field at all, or the identifying field g->id empty.
 */
static enum xr_status group_object(const struct vgroup *g, const xmlNode *el,
                                   json_t **out, struct dctx *c)
{
    json_t *obj = NULL;
    size_t own;
    enum xr_status rc;

    *out = NULL;
    obj = json_object();
    if (!obj)
        return oom(c->err);
    if (g->type && json_object_set_new(obj, "type", json_string(g->type))) {
        rc = oom(c->err);
        goto out;
    }
    for (const struct vfield *f = g->fields; f->json; f++) {
        rc = emit_field(obj, f, el, c);
        if (rc != XR_OK)
            goto out;
    }
    for (const struct vgroup *s = g->groups; s->element; s++) {
        rc = emit_group(obj, s, el, c);
        if (rc != XR_OK)
            goto out;
    }
    own = json_object_size(obj) - (g->type ? 1u : 0u);
    if (own == 0 || (g->id && !json_object_get(obj, g->id))) {
        rc = XR_OK;
        goto out; /* dropped */
    }
    *out = obj;
    obj = NULL;
    rc = XR_OK;
out:
    json_decref(obj);
    return rc;
}

/* Emit fields and groups of an element into an existing object. */
static enum xr_status group_object_root(const xmlNode *el,
                                        const struct vfield *fields,
                                        const struct vgroup *groups,
                                        json_t *obj, struct dctx *c)
{
    enum xr_status rc;

    for (const struct vfield *f = fields; f->json; f++) {
        rc = emit_field(obj, f, el, c);
        if (rc != XR_OK)
            return rc;
    }
    for (const struct vgroup *g = groups; g->element; g++) {
        rc = emit_group(obj, g, el, c);
        if (rc != XR_OK)
            return rc;
    }
    return XR_OK;
}

/* Trimmed text of the single child `name` (namespace vtjkysely/1). */
static enum xr_status ws_child_text(const xmlNode *parent, const char *name,
                                    char **out, struct xr_error *err)
{
    xmlNodePtr child = NULL;
    enum xr_status rc;

    *out = NULL;
    rc = find_child(parent, NS_WS, name, &child, err);
    if (rc != XR_OK || !child)
        return rc;
    return elem_text(child, out, err);
}

/* ---- Decoding --------------------------------------------------------- */

static enum xr_status set_str(json_t *obj, const char *key, const char *v,
                              struct xr_error *err)
{
    if (!v)
        return XR_OK;
    if (json_object_set_new(obj, key, json_string(v)) != 0)
        return oom(err);
    return XR_OK;
}

static enum xr_status dup_str(const char *s, char **out, struct xr_error *err)
{
    *out = NULL;
    if (!s)
        return XR_OK;
    *out = strdup(s);
    return *out ? XR_OK : oom(err);
}

/* Turvakielto of a Henkilo element into person JSON and *state. */
static enum xr_status turvakielto(const xmlNode *henkilo, json_t *person,
                                  enum vtj_turvakielto *state, struct dctx *c)
{
    xmlNodePtr tk = NULL;
    char *value = NULL;
    json_t *flag = NULL;
    enum xr_status rc;
    static const struct vfield end = {
        "turvakielto_end_date", FK_DATE, {"TurvakieltoPaattymispvm"}};

    *state = VTJ_TURVAKIELTO_UNKNOWN;
    rc = find_child(henkilo, NS_MSG, "Turvakielto", &tk, c->err);
    if (rc != XR_OK)
        goto out;
    if (tk) {
        rc = path_text(tk, "TurvakieltoTieto", &value, c->err);
        if (rc != XR_OK)
            goto out;
        if (!value || strcmp(value, "0") == 0) {
            *state = VTJ_TURVAKIELTO_NONE;
        } else {
            /* "1", and fail closed on any other non-empty value. */
            *state = VTJ_TURVAKIELTO_PROTECTED;
            if (strcmp(value, "1") != 0) {
                rc = warn(c, "unexpected_value", "turvakielto");
                if (rc != XR_OK)
                    goto out;
            }
        }
    }
    switch (*state) {
    case VTJ_TURVAKIELTO_UNKNOWN:
        flag = json_null();
        break;
    case VTJ_TURVAKIELTO_NONE:
        flag = json_false();
        break;
    case VTJ_TURVAKIELTO_PROTECTED:
        flag = json_true();
        break;
    }
    if (json_object_set_new(person, "turvakielto", flag) != 0) {
        rc = oom(c->err);
        goto out;
    }
    if (tk) {
        rc = emit_field(person, &end, tk, c);
        if (rc != XR_OK)
            goto out;
    }
    rc = XR_OK;
out:
    free(value);
    return rc;
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

static enum xr_status search_keys(const xmlNode *hp, json_t *top,
                                  struct keys *k, struct dctx *c)
{
    unsigned seen = 0;
    char *value = NULL, *code = NULL;
    enum xr_status rc = XR_OK;
    static const struct vfield texts[] = {
        {"result_text_fi", FK_TEXT, {"@hakuperusteTekstiS"}},
        {"result_text_sv", FK_TEXT, {"@hakuperusteTekstiR"}},
        {"result_text_en", FK_TEXT, {"@hakuperusteTekstiE"}},
        FIELD_END};

    for (xmlNodePtr n = hp->children; n; n = n->next) {
        const char *type;
        char **slot;
        json_t *item = NULL;

        if (++seen > VTJ_CHILD_MAX)
            return too_many(c->err, "Hakuperusteet");
        if (is_el(n, NS_MSG, "Henkilotunnus")) {
            type = "hetu";
            slot = &k->hetu;
        } else if (is_el(n, NS_MSG, "SahkoinenAsiointitunnus")) {
            type = "satu";
            slot = &k->satu;
        } else {
            continue;
        }
        if (*slot)
            return xr_error_set(c->err, XR_EPROTO, "duplicate_element",
                                xs(n->name),
                                "search key %s appears more than once", type);
        if ((rc = elem_text(n, &value, c->err)) != XR_OK ||
            (rc = attr_text(n, "hakuperustePaluukoodi", &code, c->err)) !=
                XR_OK)
            goto out;
        if (code && strcmp(code, "0") == 0)
            k->any0 = true;
        if (code && strcmp(code, "2") == 0)
            k->any2 = true;
        if (code && strcmp(code, "3") == 0)
            k->any3 = true;
        item = json_object();
        if (!item) {
            rc = oom(c->err);
            goto out;
        }
        if ((rc = set_str(item, "type", type, c->err)) != XR_OK ||
            (rc = set_str(item, "value", value, c->err)) != XR_OK ||
            (rc = set_str(item, "result_code", code, c->err)) != XR_OK) {
            json_decref(item);
            goto out;
        }
        for (const struct vfield *f = texts; f->json; f++) {
            rc = emit_field(item, f, n, c);
            if (rc != XR_OK) {
                json_decref(item);
                goto out;
            }
        }
        rc = append_item(top, "search_keys", item, c->err);
        if (rc != XR_OK)
            goto out;
        /* An empty key is remembered as "" so duplicates are still seen. */
        *slot = value ? value : strdup("");
        value = NULL;
        if (!*slot) {
            rc = oom(c->err);
            goto out;
        }
        free(code);
        code = NULL;
    }
    rc = XR_OK;
out:
    free(value);
    free(code);
    return rc;
}

static bool given(const char *s)
{
    return s && s[0] != '\0';
}

static bool outcome_has_person(enum vtj_outcome o)
{
    switch (o) {
    case VTJ_OUTCOME_FOUND:
    case VTJ_OUTCOME_UNDER_15:
    case VTJ_OUTCOME_PASSIVATED:
    case VTJ_OUTCOME_DECEASED_NOT_DISCLOSED:
        return true;
    case VTJ_OUTCOME_NOT_FOUND:
    case VTJ_OUTCOME_NOT_DISCLOSABLE:
    case VTJ_OUTCOME_CREDENTIALS_ERROR:
    case VTJ_OUTCOME_CONFIG_ERROR:
    case VTJ_OUTCOME_AUTH_FAILED:
    case VTJ_OUTCOME_REQUEST_ERROR:
    case VTJ_OUTCOME_INTEGRITY_ERROR:
    case VTJ_OUTCOME_SERVICE_ERROR:
    case VTJ_OUTCOME_UNKNOWN_CODE:
        return false;
    }
    return false;
}

static enum xr_status mismatch(struct xr_error *err, const char *what)
{
    return xr_error_set(err, XR_EPROTO, "subject_mismatch", "",
                        "the answer is about another subject than the query "
                        "(%s)",
                        what);
}

static void apply_code(struct vtj_result *r, const struct code_map *m)
{
    if (m) {
        r->outcome = m->outcome;
        r->retryable = m->retryable;
    } else {
        r->outcome = VTJ_OUTCOME_UNKNOWN_CODE;
        r->retryable = false;
    }
}

/*
 * The final JSON form, in a fixed key order. Takes person (may be NULL);
 * top and warnings stay owned by the caller.
 */
static enum xr_status assemble(struct vtj_result *r, json_t *top,
                               json_t *person, json_t *warnings,
                               struct xr_error *err)
{
    json_t *j = NULL, *v;
    const char *key;
    enum xr_status rc;

    j = json_object();
    if (!j ||
        json_object_set_new(j, "outcome",
                            json_string(vtj_outcome_name(r->outcome))) ||
        json_object_set_new(j, "return_code", json_string(r->return_code)) ||
        json_object_set_new(
            j, "return_code_source",
            json_string(r->from_fault ? "fault_code" : "paluukoodi")) ||
        (r->return_text &&
         json_object_set_new(j, "return_text", json_string(r->return_text))) ||
        json_object_set_new(j, "retryable", json_boolean(r->retryable))) {
        rc = oom(err);
        goto out;
    }
    json_object_foreach(top, key, v)
    {
        if (json_object_set(j, key, v) != 0) {
            rc = oom(err);
            goto out;
        }
    }
    if (r->new_hetu &&
        json_object_set_new(j, "new_hetu", json_string(r->new_hetu))) {
        rc = oom(err);
        goto out;
    }
    if (person) {
        rc = json_object_set_new(j, "person", person) ? oom(err) : XR_OK;
        person = NULL; /* consumed */
        if (rc != XR_OK)
            goto out;
    }
    if (json_array_size(warnings) > 0 &&
        json_object_set(j, "warnings", warnings) != 0) {
        rc = oom(err);
        goto out;
    }
    r->json = j;
    j = NULL;
    rc = XR_OK;
out:
    json_decref(person);
    json_decref(j);
    return rc;
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
    json_decref(r->json);
    free(r);
}

enum xr_status vtj_decode(xmlNodePtr wrapper, const struct vtj_policy *policy,
                          struct vtj_result **out, struct xr_error *err)
{
    static const struct vtj_policy defaults = {false, false, NULL, NULL};
    struct vtj_result *r = NULL;
    struct keys keys = {NULL, NULL, false, false, false};
    struct dctx c = {NULL, err};
    xmlNodePtr request = NULL, response = NULL, fcode = NULL, fstring = NULL;
    xmlNodePtr msg = NULL, palu = NULL, hp = NULL, henkilo = NULL;
    char *echo_hetu = NULL, *echo_satu = NULL;
    json_t *top = NULL, *person = NULL;
    const struct code_map *map = NULL;
    const char *queried_hetu, *queried_satu;
    enum xr_status rc;

    if (out)
        *out = NULL;
    if (!policy)
        policy = &defaults;
    if (!wrapper || !out) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                          "no body element given");
        goto out;
    }
    if (!is_el(wrapper, NS_WS, "HenkilonTunnusKyselyResponse")) {
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
    top = json_object();
    c.warnings = json_array();
    if (!r || !top || !c.warnings) {
        rc = oom(err);
        goto out;
    }
    r->turvakielto = VTJ_TURVAKIELTO_UNKNOWN;
    if ((rc = find_child(wrapper, NS_WS, "request", &request, err)) != XR_OK ||
        (rc = find_child(wrapper, NS_WS, "response", &response, err)) != XR_OK)
        goto out;
    if (!response) {
        rc = xr_error_set(err, XR_EPROTO, "not_vtj_response", "response",
                          "the VTJ answer has no response element");
        goto out;
    }
    if (request) {
        if ((rc = ws_child_text(request, "Henkilotunnus", &echo_hetu, err)) !=
                XR_OK ||
            (rc = ws_child_text(request, "SahkoinenAsiointitunnus", &echo_satu,
                                err)) != XR_OK)
            goto out;
    }
    if ((rc = find_child(response, NS_WS, "faultCode", &fcode, err)) != XR_OK ||
        (rc = find_child(response, NS_WS, "faultString", &fstring, err)) !=
            XR_OK ||
        (rc = find_child(response, NS_MSG, "VTJHenkiloVastaussanoma", &msg,
                         err)) != XR_OK)
        goto out;
    if (fcode && msg) {
        rc = xr_error_set(err, XR_EPROTO, "inconsistent_response", "",
                          "the VTJ answer has both a faultCode and a "
                          "VTJHenkiloVastaussanoma");
        goto out;
    }
    if (!fcode && !msg) {
        rc = xr_error_set(err, XR_EPROTO, "not_vtj_response", "response",
                          "the VTJ answer has neither a faultCode nor a "
                          "VTJHenkiloVastaussanoma");
        goto out;
    }
    if (fcode) {
        r->from_fault = true;
        if ((rc = elem_text(fcode, &r->return_code, err)) != XR_OK)
            goto out;
        if (fstring && (rc = elem_text(fstring, &r->return_text, err)) != XR_OK)
            goto out;
    } else {
        if ((rc = group_object_root(msg, f_message, g_message, top, &c)) !=
            XR_OK)
            goto out;
        if ((rc = find_child(msg, NS_MSG, "Paluukoodi", &palu, err)) != XR_OK ||
            (rc = find_child(msg, NS_MSG, "Hakuperusteet", &hp, err)) !=
                XR_OK ||
            (rc = find_child(msg, NS_MSG, "Henkilo", &henkilo, err)) != XR_OK)
            goto out;
        if (palu) {
            if ((rc = attr_text(palu, "koodi", &r->return_code, err)) !=
                    XR_OK ||
                (rc = elem_text(palu, &r->return_text, err)) != XR_OK)
                goto out;
        }
        if (hp && (rc = search_keys(hp, top, &keys, &c)) != XR_OK)
            goto out;
    }
    if (!r->return_code) {
        rc = xr_error_set(err, XR_EPROTO, "missing_return_code", "",
                          "the VTJ answer has no return code");
        goto out;
    }
    sanitize_code(r->return_code);
    map = code_lookup(r->return_code);
    apply_code(r, map);
    if (map && map->warning && (rc = warn(&c, map->warning, NULL)) != XR_OK)
        goto out;
    /* Paluukoodi 0000 with a search key that did not match. */
    if (!r->from_fault && r->outcome == VTJ_OUTCOME_FOUND) {
        if (keys.any3)
            r->outcome = VTJ_OUTCOME_REQUEST_ERROR;
        else if (keys.any2)
            r->outcome = VTJ_OUTCOME_PASSIVATED;
        else if (keys.any0 && !henkilo)
            r->outcome = VTJ_OUTCOME_NOT_FOUND;
        if (keys.any3 && (rc = warn(&c, "too_many_matches", NULL)) != XR_OK)
            goto out;
    }
    if (vtj_outcome_is_found(r->outcome) && !henkilo) {
        rc = xr_error_set(err, XR_EPROTO, "inconsistent_response", "Henkilo",
                          "return code %s without person data",
                          r->outcome == VTJ_OUTCOME_UNDER_15 ? "0018" : "0000");
        goto out;
    }

    /* Which subject was asked for: the caller's word first. */
    queried_hetu = given(policy->expected_hetu) ? policy->expected_hetu
                   : given(echo_hetu)           ? echo_hetu
                                                : keys.hetu;
    queried_satu = given(policy->expected_satu) ? policy->expected_satu
                   : given(echo_satu)           ? echo_satu
                                                : keys.satu;
    if (given(queried_hetu) && given(echo_hetu) &&
        strcmp(queried_hetu, echo_hetu) != 0) {
        rc = mismatch(err, "request echo");
        goto out;
    }
    if (given(queried_hetu) && given(keys.hetu) &&
        strcmp(queried_hetu, keys.hetu) != 0) {
        rc = mismatch(err, "search key echo");
        goto out;
    }
    if (given(queried_satu) && given(echo_satu) &&
        strcmp(queried_satu, echo_satu) != 0) {
        rc = mismatch(err, "request echo");
        goto out;
    }
    if (given(queried_satu) && given(keys.satu) &&
        strcmp(queried_satu, keys.satu) != 0) {
        rc = mismatch(err, "search key echo");
        goto out;
    }

    if (henkilo && outcome_has_person(r->outcome)) {
        person = json_object();
        if (!person) {
            rc = oom(err);
            goto out;
        }
        rc = group_object_root(henkilo, f_person, g_person, person, &c);
        if (rc != XR_OK)
            goto out;
        rc = turvakielto(henkilo, person, &r->turvakielto, &c);
        if (rc != XR_OK)
            goto out;
        rc = dup_str(json_string_value(json_object_get(person, "hetu")),
                     &r->hetu, err);
        if (rc != XR_OK)
            goto out;
        if (given(queried_hetu) && given(r->hetu) &&
            strcmp(queried_hetu, r->hetu) != 0) {
            if (r->outcome != VTJ_OUTCOME_PASSIVATED) {
                rc = mismatch(err, "person");
                goto out;
            }
            if (hetu_validate(r->hetu, NULL)) {
                rc = dup_str(r->hetu, &r->new_hetu, err);
                if (rc != XR_OK)
                    goto out;
            } else if ((rc = warn(&c, "invalid_value", "new_hetu")) != XR_OK) {
                goto out;
            }
        }
        if (given(queried_satu) && !given(queried_hetu)) {
            const char *ps = json_string_value(json_object_get(person, "satu"));
            if (given(ps) && strcmp(ps, queried_satu) != 0 &&
                r->outcome != VTJ_OUTCOME_PASSIVATED) {
                rc = mismatch(err, "person");
                goto out;
            }
        }
        if (policy->redact_protected_addresses &&
            r->turvakielto != VTJ_TURVAKIELTO_NONE) {
            (void)json_object_del(person, "addresses");
            (void)json_object_del(person, "dwelling_id");
            (void)json_object_del(person, "municipality");
            if (json_object_set_new(person, "addresses_redacted",
                                    json_true()) != 0) {
                rc = oom(err);
                goto out;
            }
            r->redacted = true;
        }
    }
    rc = dup_str(json_string_value(json_object_get(top, "product")),
                 &r->product, err);
    if (rc != XR_OK)
        goto out;
    rc = assemble(r, top, person, c.warnings, err);
    person = NULL; /* consumed by assemble() */
    if (rc != XR_OK)
        goto out;
    *out = r;
    r = NULL; /* ownership moved to the caller */
    rc = XR_OK;
out:
    keys_cleanup(&keys);
    free(echo_hetu);
    free(echo_satu);
    json_decref(person);
    json_decref(top);
    json_decref(c.warnings);
    vtj_result_free(r);
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

json_t *vtj_result_json(const struct vtj_result *r)
{
    return r ? r->json : NULL;
}

json_t *vtj_result_to_json(const struct vtj_result *r)
{
    if (!r || !r->json)
        return NULL;
    return json_deep_copy(r->json);
}

/* ---- HaeTuotteenSkeema ------------------------------------------------ */

enum xr_status vtj_schema_decode(xmlNodePtr wrapper, char **xsd, size_t *len,
                                 struct xr_error *err)
{
    xmlNodePtr response = NULL, fcode = NULL, schema = NULL;
    xmlBufferPtr buf = NULL;
    char *code = NULL, *text = NULL;
    unsigned seen = 0;
    enum xr_status rc;

    *xsd = NULL;
    if (len)
        *len = 0;
    if (!wrapper || !is_el(wrapper, NS_WS, "HaeTuotteenSkeemaResponse")) {
        rc = xr_error_set(err, XR_EPROTO, "not_vtj_response", "",
                          "the body element is not a "
                          "HaeTuotteenSkeemaResponse");
        goto out;
    }
    rc = find_child(wrapper, NS_WS, "response", &response, err);
    if (rc != XR_OK)
        goto out;
    if (!response) {
        rc = xr_error_set(err, XR_EPROTO, "missing_schema", "response",
                          "the answer has no response element");
        goto out;
    }
    rc = find_child(response, NS_WS, "faultCode", &fcode, err);
    if (rc != XR_OK)
        goto out;
    if (fcode) {
        rc = elem_text(fcode, &code, err);
        if (rc != XR_OK)
            goto out;
        if (code)
            sanitize_code(code);
        rc = xr_error_set(err, XR_EPROTO, "vtj_fault", code ? code : "",
                          "VTJ returned faultCode %s", code ? code : "(empty)");
        goto out;
    }
    for (xmlNodePtr n = response->children; n; n = n->next) {
        if (++seen > VTJ_CHILD_MAX) {
            rc = too_many(err, "response");
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
            rc = oom(err);
            goto out;
        }
        if (xmlNodeDump(buf, wrapper->doc, schema, 0, 0) < 0) {
            rc = oom(err);
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
            rc = oom(err);
            goto out;
        }
    } else {
        /* Some adapters return the XSD as escaped text. */
        rc = list_text(response->children, "response", &text, err);
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

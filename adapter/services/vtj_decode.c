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
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
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

/* Turvakielto: the flag itself is decided in code (turvakielto()). */
static const struct vfield f_turvakielto[] = {
    {"turvakielto_end_date", FK_DATE, {"TurvakieltoPaattymispvm"}}, FIELD_END};

/* One search key of Hakuperusteet; type, value and code are set in code. */
static const struct vfield f_search_key[] = {
    {"result_text_fi", FK_TEXT, {"@hakuperusteTekstiS"}},
    {"result_text_sv", FK_TEXT, {"@hakuperusteTekstiR"}},
    {"result_text_en", FK_TEXT, {"@hakuperusteTekstiE"}},
    FIELD_END};

/* ---- XML helpers ------------------------------------------------------ */

enum nsset {
    NS_WS, /* the X-Road wrapper namespace (vtjkysely/1) */
    NS_MSG /* VTJHenkiloVastaussanoma and the catalogue namespace */
};

/*
 * The outcome of the namespace check for the xmlNs declarations seen
 * last: a document declares a handful of namespaces and every element
 * points at one of them, so the href compare runs once per declaration
 * instead of once per element. The tree is not modified during a call,
 * so a pointer keeps its href.
 */
struct nscache {
    const xmlNs *accepted;
    const xmlNs *rejected;
};

/* Decoding state. */
struct dctx {
    json_t *warnings; /* created on the first warning; owned by the caller */
    struct xr_error *err;
    struct nscache ns[2]; /* by enum nsset */
    /* The value being converted by emit_field() when it spans several
     * text nodes (list_span()); emit_field() does not nest. */
    char value[VTJ_VALUE_MAX + 1u];
};

/* Everything but the value buffer, which is written before it is read. */
static void dctx_init(struct dctx *c, struct xr_error *err)
{
    c->warnings = NULL;
    c->err = err;
    memset(c->ns, 0, sizeof(c->ns));
}

static const char *xs(const xmlChar *s)
{
    return (const char *)s;
}

static bool ns_href_ok(const char *href, enum nsset set)
{
    switch (set) {
    case NS_WS:
        return strcmp(href, VTJ_NS_WS) == 0;
    case NS_MSG:
        return strcmp(href, VTJ_NS_MESSAGE) == 0 ||
               strcmp(href, VTJ_NS_CATALOGUE) == 0;
    }
    return false;
}

static bool ns_check(struct dctx *c, const xmlNs *ns, enum nsset set)
{
    struct nscache *nc = &c->ns[set];
    bool ok;

    if (!ns || !ns->href)
        return false;
    if (ns == nc->rejected)
        return false;
    ok = ns_href_ok(xs(ns->href), set);
    if (ok)
        nc->accepted = ns;
    else
        nc->rejected = ns;
    return ok;
}

static inline bool ns_ok(struct dctx *c, const xmlNode *n, enum nsset set)
{
    if (n->ns && n->ns == c->ns[set].accepted)
        return true;
    return ns_check(c, n->ns, set);
}

/* name (NUL-terminated) equals the len bytes at seg. */
static bool name_is(const char *name, const char *seg, size_t len)
{
    return strncmp(name, seg, len) == 0 && name[len] == '\0';
}

/* An element of namespace set `set` whose local name is seg[0..len). */
static bool is_el_n(struct dctx *c, const xmlNode *n, enum nsset set,
                    const char *seg, size_t len)
{
    return n->type == XML_ELEMENT_NODE && n->name &&
           (len == 0 || n->name[0] == (xmlChar)seg[0]) &&
           name_is(xs(n->name), seg, len) && ns_ok(c, n, set);
}

static bool is_el(struct dctx *c, const xmlNode *n, enum nsset set,
                  const char *name)
{
    return is_el_n(c, n, set, name, strlen(name));
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

/* seg[0..len) as a string for an error message (the field and the
 * message keep less than PATH_MAX_BYTES of it anyway). */
static const char *seg_name(const char *seg, size_t len,
                            char buf[PATH_MAX_BYTES])
{
    if (len >= PATH_MAX_BYTES)
        len = PATH_MAX_BYTES - 1u;
    memcpy(buf, seg, len);
    buf[len] = '\0';
    return buf;
}

static enum xr_status too_many_n(struct xr_error *err, const char *seg,
                                 size_t len)
{
    char buf[PATH_MAX_BYTES];

    return too_many(err, seg_name(seg, len, buf));
}

static enum xr_status duplicate_n(struct xr_error *err, const char *seg,
                                  size_t len)
{
    char buf[PATH_MAX_BYTES];
    const char *name = seg_name(seg, len, buf);

    return xr_error_set(err, XR_EPROTO, "duplicate_element", name,
                        "element %.48s appears more than once", name);
}

/*
 * The single child element seg[0..len) of parent in namespace set `set`,
 * or NULL. Two or more: XR_EPROTO duplicate_element. Examines at most
 * VTJ_CHILD_MAX child nodes (more: XR_ELIMIT too_many_items).
 */
static enum xr_status find_child_n(struct dctx *c, const xmlNode *parent,
                                   enum nsset set, const char *seg, size_t len,
                                   const xmlNode **out)
{
    unsigned seen = 0;

    *out = NULL;
    for (const xmlNode *n = parent->children; n; n = n->next) {
        if (++seen > VTJ_CHILD_MAX) {
            *out = NULL;
            return too_many_n(c->err, seg, len);
        }
        if (!is_el_n(c, n, set, seg, len))
            continue;
        if (*out) {
            *out = NULL;
            return duplicate_n(c->err, seg, len);
        }
        *out = n;
    }
    return XR_OK;
}

static enum xr_status find_child(struct dctx *c, const xmlNode *parent,
                                 enum nsset set, const char *name,
                                 const xmlNode **out)
{
    return find_child_n(c, parent, set, name, strlen(name), out);
}

/* ---- Compiled tables -------------------------------------------------- */

/*
 * The decoder looks up many table paths below each group element (about
 * 50 below Henkilo). Parsing and comparing the path texts on every lookup
 * would cost more than the rest of the decoding, so the first vtj_decode()
 * compiles the tables once (pthread_once) into shapes, read-only after:
 *
 *   a shape is one (fields, groups) pair of the tables; its steps are the
 *   distinct element names looked up directly below such an element: the
 *   first step of every field path, every group element, and the names
 *   the code looks up itself (extra). Each step has a slot.
 *
 * Decoding a group element then scans its children once and files every
 * element whose name is a step into that step's slot (struct scan); a
 * lookup is a slot read. Deeper steps ("A/B": B) and attributes are
 * resolved from the path text below the (small) element found.
 */
#define STEP_NAME_MAX   (PATH_MAX_BYTES - 1u)
#define SHAPE_STEPS_MAX 64u  /* distinct names below one element */
#define SHAPE_BUCKETS   128u /* open addressing, 2^7 (key_bucket), > steps */
#define PLAN_SHAPES     40u
#define PLAN_STEPS      256u
#define PLAN_FIELDS     192u
#define PLAN_GROUPS     48u
#define NO_STEP         0xFFu

struct pstep {
    const char *name; /* not NUL-terminated after len */
    size_t len;
    unsigned key; /* name_key() */
};

struct ppath {
    unsigned char step; /* slot of the first element step, or NO_STEP */
    const char *rest;   /* the path after that step: "", "/B..", "@x" */
};

struct pfield {
    const struct vfield *f;
    struct ppath path[3];
    unsigned npaths;
};

struct pshape;

struct pgroup {
    const struct vgroup *g;
    unsigned char step; /* slot of g->element in the parent's shape */
    const struct pshape *shape;
};

struct pshape {
    const struct vfield *fields; /* the tables compiled, also the key */
    const struct vgroup *groups;
    const char *const *extra;
    const struct pfield *pf;
    unsigned nfields;
    const struct pgroup *pg;
    unsigned ngroups;
    const struct pstep *steps;
    unsigned nsteps;
    unsigned char bucket[SHAPE_BUCKETS]; /* 1 + slot; 0 = empty */
};

/* Names looked up by the code, not by the tables. */
static const char *const x_none[] = {NULL};
static const char *const x_message[] = {"Paluukoodi", "Hakuperusteet",
                                        "Henkilo", NULL};
static const char *const x_person[] = {"Turvakielto", NULL};
static const char *const x_turvakielto[] = {"TurvakieltoTieto", NULL};

static pthread_once_t plan_once = PTHREAD_ONCE_INIT;
static bool plan_ready; /* false: a table does not fit the capacities */
static struct pshape plan_shape[PLAN_SHAPES];
static struct pstep plan_step[PLAN_STEPS];
static struct pfield plan_field[PLAN_FIELDS];
static struct pgroup plan_group[PLAN_GROUPS];
static unsigned plan_nshapes, plan_nsteps, plan_nfields, plan_ngroups;
static const struct pshape *shape_message, *shape_person, *shape_turvakielto,
    *shape_search_key;

/*
 * A name's length and its first and last two bytes, packed: the table
 * names differ there. Equal keys still need a compare of the names.
 */
static inline unsigned name_key(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    return (unsigned)len ^ (unsigned)(unsigned char)s[0] << 8 ^
           (unsigned)(unsigned char)s[len > 1 ? 1 : 0] << 14 ^
           (unsigned)(unsigned char)s[len > 1 ? len - 2 : 0] << 19 ^
           (unsigned)(unsigned char)s[len - 1] << 24;
}

static unsigned key_bucket(unsigned key)
{
    return (key * 2654435761u) >> 25; /* 7 bits: SHAPE_BUCKETS */
}

/*
 * The slot of name[0..len) in shape s; *bucket is where it would go when
 * absent (-1 returned). Ends: fewer steps than buckets, one is empty.
 */
static inline int shape_probe(const struct pshape *s, const char *name,
                              size_t len, unsigned key, unsigned *bucket)
{
    for (unsigned i = key_bucket(key);; i = (i + 1u) & (SHAPE_BUCKETS - 1u)) {
        const struct pstep *st;

        if (s->bucket[i] == 0) {
            *bucket = i;
            return -1;
        }
        st = &s->steps[s->bucket[i] - 1u];
        if (st->key == key && st->len == len &&
            memcmp(st->name, name, len) == 0)
            return s->bucket[i] - 1;
    }
}

static int shape_find(const struct pshape *s, const char *name, size_t len)
{
    unsigned bucket;

    if (len > STEP_NAME_MAX)
        return -1;
    return shape_probe(s, name, len, name_key(name, len), &bucket);
}

/* Slot of a step of the shape being compiled, added when new; -1 full. */
static int plan_add_step(struct pshape *s, const char *name, size_t len)
{
    unsigned key, bucket = 0;
    int slot;
    struct pstep *st;

    if (len > STEP_NAME_MAX)
        return -1;
    key = name_key(name, len);
    slot = shape_probe(s, name, len, key, &bucket);
    if (slot >= 0)
        return slot;
    if (s->nsteps == SHAPE_STEPS_MAX || plan_nsteps == PLAN_STEPS)
        return -1;
    /* This shape's steps are the last ones of plan_step (see below). */
    st = &plan_step[plan_nsteps++];
    st->name = name;
    st->len = len;
    st->key = key;
    s->bucket[bucket] = (unsigned char)++s->nsteps;
    return (int)s->nsteps - 1;
}

static int plan_add_name(struct pshape *s, const char *name)
{
    return plan_add_step(s, name, strlen(name));
}

static struct ppath plan_path(struct pshape *s, const char *path, bool *ok)
{
    struct ppath pp = {NO_STEP, path};
    size_t n;
    int slot;

    if (*path == '\0' || *path == '@')
        return pp; /* the element itself */
    n = strcspn(path, "/@");
    slot = plan_add_step(s, path, n);
    if (slot < 0) {
        *ok = false;
        return pp;
    }
    pp.step = (unsigned char)slot;
    pp.rest = path + n;
    return pp;
}

/* The shape of (fields, groups, extra), compiled once; NULL: no room. */
static const struct pshape *plan_compile(const struct vfield *fields,
                                         const struct vgroup *groups,
                                         const char *const *extra)
{
    struct pshape *s;
    struct pfield *pf;
    struct pgroup *pg;
    unsigned nf = 0, ng = 0;
    bool ok = true;

    for (unsigned i = 0; i < plan_nshapes; i++)
        if (plan_shape[i].fields == fields && plan_shape[i].groups == groups &&
            plan_shape[i].extra == extra)
            return &plan_shape[i];
    while (fields[nf].json)
        nf++;
    while (groups[ng].element)
        ng++;
    if (plan_nshapes == PLAN_SHAPES || nf > PLAN_FIELDS - plan_nfields ||
        ng > PLAN_GROUPS - plan_ngroups)
        return NULL;
    s = &plan_shape[plan_nshapes++];
    pf = &plan_field[plan_nfields];
    pg = &plan_group[plan_ngroups];
    plan_nfields += nf;
    plan_ngroups += ng;
    s->fields = fields;
    s->groups = groups;
    s->extra = extra;
    s->pf = pf;
    s->nfields = nf;
    s->pg = pg;
    s->ngroups = ng;
    s->steps = &plan_step[plan_nsteps];
    s->nsteps = 0;
    memset(s->bucket, 0, sizeof(s->bucket));
    /* All steps of this shape first, so that they are contiguous ... */
    for (unsigned i = 0; i < nf; i++) {
        pf[i].f = &fields[i];
        pf[i].npaths = 0;
        for (unsigned k = 0; k < 3 && fields[i].path[k]; k++)
            pf[i].path[pf[i].npaths++] = plan_path(s, fields[i].path[k], &ok);
    }
    for (unsigned i = 0; i < ng; i++) {
        int slot = plan_add_name(s, groups[i].element);
        if (slot < 0)
            return NULL;
        pg[i].g = &groups[i];
        pg[i].step = (unsigned char)slot;
    }
    for (unsigned i = 0; extra[i]; i++)
        if (plan_add_name(s, extra[i]) < 0)
            return NULL;
    if (!ok)
        return NULL;
    /* ... then the shapes of the groups. */
    for (unsigned i = 0; i < ng; i++) {
        pg[i].shape = plan_compile(groups[i].fields, groups[i].groups, x_none);
        if (!pg[i].shape)
            return NULL;
    }
    return s;
}

static void plan_init(void)
{
    shape_message = plan_compile(f_message, g_message, x_message);
    shape_person = plan_compile(f_person, g_person, x_person);
    shape_turvakielto = plan_compile(f_turvakielto, g_none, x_turvakielto);
    shape_search_key = plan_compile(f_search_key, g_none, x_none);
    plan_ready =
        shape_message && shape_person && shape_turvakielto && shape_search_key;
}

/* ---- Scanning a group element ----------------------------------------- */

/*
 * The children of one element filed by the steps of its shape. A lookup
 * gives the same answer find_child_n() would: the scan covers exactly the
 * nodes find_child_n() examines (the first VTJ_CHILD_MAX) and remembers
 * whether there are more. Scanning never fails, so scanning before the
 * first lookup reports the same errors in the same order as scanning
 * per lookup.
 */
struct hit {
    const xmlNode *first; /* first child element with the step's name */
    const xmlNode *last;  /* last one among the examined nodes */
    unsigned first_pos;   /* 1-based position of first among all children */
    unsigned count;
};

struct scan {
    const struct pshape *shape;
    const xmlNode *el;
    bool overflow; /* el has more than VTJ_CHILD_MAX child nodes */
    struct hit hit[SHAPE_STEPS_MAX];
};

/* Scan the children of el for the steps of shape (if it has any). */
static void scan_open(struct scan *s, const struct pshape *shape,
                      const xmlNode *el, struct dctx *c)
{
    unsigned pos = 0;

    s->shape = shape;
    s->el = el;
    s->overflow = false;
    if (shape->nsteps == 0)
        return; /* attributes only */
    memset(s->hit, 0, shape->nsteps * sizeof(s->hit[0]));
    for (const xmlNode *n = el->children; n; n = n->next) {
        struct hit *h;
        size_t len;
        int slot;

        if (++pos > VTJ_CHILD_MAX) {
            s->overflow = true;
            break;
        }
        if (n->type != XML_ELEMENT_NODE || !n->name || !ns_ok(c, n, NS_MSG))
            continue;
        len = strnlen(xs(n->name), STEP_NAME_MAX + 1u);
        slot = shape_find(shape, xs(n->name), len);
        if (slot < 0)
            continue; /* not looked up below this element */
        h = &s->hit[slot];
        if (h->count++ == 0) {
            h->first = n;
            h->first_pos = pos;
        }
        h->last = n;
    }
}

/* find_child_n(s->el, NS_MSG, <name of step>) through the scan. */
static enum xr_status scan_child(struct scan *s, unsigned step,
                                 const xmlNode **out, struct dctx *c)
{
    const struct pstep *st = &s->shape->steps[step];
    const struct hit *h;

    *out = NULL;
    h = &s->hit[step];
    /* A second one within the examined nodes is found before the cap. */
    if (h->count > 1)
        return duplicate_n(c->err, st->name, st->len);
    if (s->overflow)
        return too_many_n(c->err, st->name, st->len);
    *out = h->first;
    return XR_OK;
}

/* The single child `name`: through the scan when name is a step. */
static enum xr_status scan_get(struct scan *s, const char *name,
                               const xmlNode **out, struct dctx *c)
{
    int step = shape_find(s->shape, name, strlen(name));

    if (step < 0)
        return find_child(c, s->el, NS_MSG, name, out);
    return scan_child(s, (unsigned)step, out, c);
}

/* ---- Text ------------------------------------------------------------- */

static bool is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_text(const xmlNode *n)
{
    return (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
           n->content;
}

static enum xr_status too_long(struct xr_error *err, const char *name)
{
    return xr_error_set(err, XR_ELIMIT, "value_too_long", name,
                        "a value in %.48s is longer than %u bytes", name,
                        VTJ_VALUE_MAX);
}

/* A value: len bytes at p, not NUL-terminated; len 0 = absent. */
struct span {
    const char *p;
    size_t len;
};

/*
 * The text/CDATA nodes of a node list, concatenated: *s points into the
 * node's own content when only one node carries text, otherwise into buf
 * (VTJ_VALUE_MAX + 1 bytes); *total is the length, 0 when there is none.
 * Caps: VTJ_CHILD_MAX nodes, VTJ_VALUE_MAX bytes.
 */
static enum xr_status concat_text(const xmlNode *first, const char *name,
                                  char *buf, const char **s, size_t *total,
                                  struct xr_error *err)
{
    const xmlNode *only = NULL;
    unsigned seen = 0, parts = 0;
    size_t at = 0;

    *s = NULL;
    *total = 0;
    for (const xmlNode *n = first; n; n = n->next) {
        size_t l;

        if (++seen > VTJ_CHILD_MAX)
            return too_many(err, name);
        if (!is_text(n))
            continue;
        l = strnlen(xs(n->content), VTJ_VALUE_MAX + 1u);
        *total += l;
        if (*total > VTJ_VALUE_MAX)
            return too_long(err, name);
        if (l > 0) {
            parts++;
            only = n;
        }
    }
    if (*total == 0)
        return XR_OK;
    if (parts == 1) {
        *s = xs(only->content);
        return XR_OK;
    }
    /* Same nodes as above (at most VTJ_CHILD_MAX), *total fits. */
    for (const xmlNode *n = first; n && at < *total; n = n->next) {
        if (is_text(n)) {
            size_t l = strlen(xs(n->content));
            memcpy(buf + at, n->content, l);
            at += l;
        }
    }
    *s = buf;
    return XR_OK;
}

/*
 * The text/CDATA nodes of a node list, concatenated (concat_text()) and
 * trimmed of XML whitespace; an empty span when nothing is left.
 */
static enum xr_status list_span(const xmlNode *first, const char *name,
                                char *buf, struct span *out,
                                struct xr_error *err)
{
    const char *s;
    size_t total, start, end;
    enum xr_status rc;

    out->p = NULL;
    out->len = 0;
    if (first && !first->next) {
        /* One child node, the usual <A>value</A>: the same, shorter. */
        if (!is_text(first))
            return XR_OK;
        s = xs(first->content);
        total = strnlen(s, VTJ_VALUE_MAX + 1u);
        if (total > VTJ_VALUE_MAX)
            return too_long(err, name);
    } else {
        rc = concat_text(first, name, buf, &s, &total, err);
        if (rc != XR_OK)
            return rc;
    }
    for (start = 0; start < total && is_xml_space(s[start]); start++)
        ;
    for (end = total; end > start && is_xml_space(s[end - 1]); end--)
        ;
    if (start < end) {
        out->p = s + start;
        out->len = end - start;
    }
    return XR_OK;
}

/* A span as a new string (*out NULL when empty). */
static enum xr_status span_dup(const struct span *v, const char *name,
                               char **out, struct xr_error *err)
{
    *out = NULL;
    if (v->len == 0)
        return XR_OK;
    *out = malloc(v->len + 1u);
    if (!*out)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", name,
                            "out of memory");
    memcpy(*out, v->p, v->len);
    (*out)[v->len] = '\0';
    return XR_OK;
}

/* list_span() into a new string; *out is NULL when the value is empty. */
static enum xr_status list_text(const xmlNode *first, const char *name,
                                char **out, struct xr_error *err)
{
    char buf[VTJ_VALUE_MAX + 1u];
    struct span v;
    enum xr_status rc;

    *out = NULL;
    rc = list_span(first, name, buf, &v, err);
    if (rc != XR_OK)
        return rc;
    return span_dup(&v, name, out, err);
}

static enum xr_status elem_text(const xmlNode *el, char **out,
                                struct xr_error *err)
{
    return list_text(el->children, xs(el->name), out, err);
}

/* Unqualified attribute `name` of el, trimmed; empty span when absent. */
static enum xr_status attr_span(const xmlNode *el, const char *name, char *buf,
                                struct span *out, struct xr_error *err)
{
    unsigned seen = 0;

    out->p = NULL;
    out->len = 0;
    for (const xmlAttr *a = el->properties; a; a = a->next) {
        if (++seen > VTJ_CHILD_MAX)
            return too_many(err, name);
        if (a->ns == NULL && a->name && a->name[0] == (xmlChar)name[0] &&
            strcmp(xs(a->name), name) == 0)
            return list_span(a->children, name, buf, out, err);
    }
    return XR_OK;
}

static enum xr_status attr_text(const xmlNode *el, const char *name, char **out,
                                struct xr_error *err)
{
    char buf[VTJ_VALUE_MAX + 1u];
    struct span v;
    enum xr_status rc;

    *out = NULL;
    rc = attr_span(el, name, buf, &v, err);
    if (rc != XR_OK)
        return rc;
    return span_dup(&v, name, out, err);
}

/*
 * Resolve a compiled table path below the scanned element into a trimmed
 * span (empty when absent or empty); buf as for list_span(). The first
 * step comes from the scan; the rest of the path ("/B..", "@x") is
 * resolved by scanning below the (small) element it found.
 */
static enum xr_status path_span(struct scan *s, const struct ppath *pp,
                                char *buf, struct span *out, struct dctx *c)
{
    const xmlNode *cur = s->el;
    const char *p = pp->rest;
    enum xr_status rc;

    out->p = NULL;
    out->len = 0;
    if (pp->step != NO_STEP) {
        rc = scan_child(s, pp->step, &cur, c);
        if (rc != XR_OK || !cur)
            return rc;
        if (*p == '/')
            p++;
    }
    while (*p && *p != '@') {
        const xmlNode *child;
        size_t n = strcspn(p, "/@");

        if (n >= PATH_MAX_BYTES)
            return xr_error_set(c->err, XR_EINTERNAL, "internal_error", "",
                                "table path too long");
        rc = find_child_n(c, cur, NS_MSG, p, n, &child);
        if (rc != XR_OK || !child)
            return rc;
        cur = child;
        p += n;
        if (*p == '/')
            p++;
    }
    if (*p == '@')
        return attr_span(cur, p + 1, buf, out, c->err);
    return list_span(cur->children, xs(cur->name), buf, out, c->err);
}

/* ---- Value conversion ------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
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

/*
 * yyyymmdd -> ISO 8601 (reduced precision for 00 month/day) into out (at
 * least 11 bytes, not NUL-terminated); returns the length, 0 = invalid.
 * The digits are valid as they stand, so they are copied, not formatted.
 */
static size_t iso_date(const char *v, size_t len, char *out)
{
    unsigned y, m, d;

    if (len != 8 || !all_digits(v, 8))
        return 0;
    y = num(v, 4);
    m = num(v + 4, 2);
    d = num(v + 6, 2);
    if (y == 0u)
        return 0;
    memcpy(out, v, 4);
    if (m == 0u && d == 0u)
        return 4;
    if (m < 1u || m > 12u)
        return 0;
    out[4] = '-';
    memcpy(out + 5, v + 4, 2);
    if (d == 0u)
        return 7;
    if (d > month_days(y, m))
        return 0;
    out[7] = '-';
    memcpy(out + 8, v + 6, 2);
    return 10;
}

/* yyyymmddhhmmss -> yyyy-mm-ddThh:mm:ss (Finnish local time) into out (at
 * least 19 bytes, not NUL-terminated); returns the length, 0 = invalid. */
static size_t iso_timestamp(const char *v, size_t len, char *out)
{
    if (len != 14 || !all_digits(v, 14) || iso_date(v, 8, out) != 10 ||
        num(v + 8, 2) > 23u || num(v + 10, 2) > 59u || num(v + 12, 2) > 60u)
        return 0;
    out[10] = 'T';
    memcpy(out + 11, v + 8, 2);
    out[13] = ':';
    memcpy(out + 14, v + 10, 2);
    out[16] = ':';
    memcpy(out + 17, v + 12, 2);
    return 19;
}

static enum xr_status warn(struct dctx *c, const char *what, const char *field)
{
    char buf[128];

    if (field)
        (void)snprintf(buf, sizeof(buf), "%s:%s", what, field);
    else
        (void)snprintf(buf, sizeof(buf), "%s", what);
    if (!c->warnings)
        c->warnings = json_array(); /* most answers have none */
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

static bool is_ascii(const char *s, size_t n)
{
    uint64_t any = 0, w;
    size_t i = 0;

    for (; i + 8u <= n; i += 8u) {
        memcpy(&w, s + i, 8u);
        any |= w;
    }
    for (; i < n; i++)
        any |= (unsigned char)s[i];
    return (any & 0x8080808080808080u) == 0;
}

/*
 * A JSON string of len bytes at s. json_stringn() validates UTF-8 (and
 * returns NULL for invalid input); ASCII is valid UTF-8, so the common
 * case skips that second pass with the same result.
 */
static json_t *text_json(const char *s, size_t len)
{
    return is_ascii(s, len) ? json_stringn_nocheck(s, len)
                            : json_stringn(s, len);
}

/* The span holds exactly lit (never true for an empty span). */
static bool span_is(const struct span *v, const char *lit)
{
    return v->len > 0 && name_is(lit, v->p, v->len);
}

/* Convert v per kind; *out = NULL with a warning when not convertible. */
static enum xr_status convert(struct dctx *c, const char *json_name,
                              enum fkind kind, const struct span *v,
                              json_t **out)
{
    char buf[32];
    size_t n;

    *out = NULL;
    switch (kind) {
    case FK_TEXT:
        *out = text_json(v->p, v->len);
        break;
    case FK_DATE:
        n = iso_date(v->p, v->len, buf);
        if (n == 0)
            return warn(c, "invalid_date", json_name);
        *out = json_stringn_nocheck(buf, n);
        break;
    case FK_TIMESTAMP:
        n = iso_timestamp(v->p, v->len, buf);
        if (n == 0)
            return warn(c, "invalid_timestamp", json_name);
        *out = json_stringn_nocheck(buf, n);
        break;
    case FK_FLAG:
        if (span_is(v, "1"))
            *out = json_true();
        else if (span_is(v, "0"))
            *out = json_false();
        else
            return warn(c, "unexpected_value", json_name);
        break;
    case FK_VALIDITY:
        *out = json_boolean(span_is(v, "1"));
        break;
    case FK_COUNT:
        if (v->len == 0 || v->len > 9 || !all_digits(v->p, v->len))
            return warn(c, "invalid_count", json_name);
        *out = json_integer((json_int_t)num(v->p, v->len));
        break;
    case FK_LANG:
        if (v->len <= 8) {
            for (size_t i = 0; i < v->len; i++)
                buf[i] = (v->p[i] >= 'A' && v->p[i] <= 'Z')
                             ? (char)(v->p[i] - 'A' + 'a')
                             : v->p[i];
            /* Withdrawn ISO 639 code for Hebrew still seen in VTJ. */
            if (v->len == 2 && buf[0] == 'i' && buf[1] == 'w')
                *out = json_stringn_nocheck("he", 2);
            else
                *out = text_json(buf, v->len);
        } else {
            *out = text_json(v->p, v->len);
        }
        break;
    case FK_COUNTRY:
        /* Old codes still seen in VTJ: Sudan 736 -> 729, Ethiopia 230. */
        if (span_is(v, "736"))
            *out = json_stringn_nocheck("729", 3);
        else if (span_is(v, "230"))
            *out = json_stringn_nocheck("231", 3);
        else
            *out = text_json(v->p, v->len);
        break;
    }
    if (!*out)
        return oom(c->err);
    return XR_OK;
}

/* ---- Emitting JSON ---------------------------------------------------- */

/*
 * The object of one group element, created with its first member (so a
 * group that yields nothing costs no allocation); a typed group's "type"
 * comes first. Keys are the static ASCII names of the tables, hence the
 * _nocheck setters.
 */
struct jobj {
    json_t *obj;
    const char *type;
};

/* Set key to v (reference taken, also on failure). */
static enum xr_status jobj_set(struct jobj *o, const char *key, json_t *v,
                               struct xr_error *err)
{
    if (!o->obj) {
        o->obj = json_object();
        if (!o->obj || (o->type && json_object_set_new_nocheck(
                                       o->obj, "type",
                                       json_string_nocheck(o->type)) != 0)) {
            json_decref(v);
            return oom(err);
        }
    }
    if (json_object_set_new_nocheck(o->obj, key, v) != 0)
        return oom(err);
    return XR_OK;
}

static enum xr_status emit_field(struct jobj *o, const struct pfield *pf,
                                 struct scan *s, struct dctx *c)
{
    struct span v = {NULL, 0};
    json_t *j = NULL;
    enum xr_status rc;

    for (unsigned i = 0; i < pf->npaths; i++) {
        rc = path_span(s, &pf->path[i], c->value, &v, c);
        if (rc != XR_OK)
            return rc;
        if (v.len > 0)
            break;
    }
    if (v.len == 0)
        return XR_OK;
    rc = convert(c, pf->f->json, pf->f->kind, &v, &j);
    if (rc != XR_OK || !j)
        return rc;
    return jobj_set(o, pf->f->json, j, c->err);
}

/* Every field of the scanned element's shape into o, in table order. */
static enum xr_status emit_fields(struct jobj *o, struct scan *s,
                                  struct dctx *c)
{
    for (unsigned i = 0; i < s->shape->nfields; i++) {
        enum xr_status rc = emit_field(o, &s->shape->pf[i], s, c);
        if (rc != XR_OK)
            return rc;
    }
    return XR_OK;
}

static enum xr_status group_object(const struct pgroup *pg, const xmlNode *el,
                                   json_t **out, struct dctx *c);

static enum xr_status append_item(struct jobj *parent, const char *key,
                                  json_t *item, struct xr_error *err)
{
    json_t *arr = parent->obj ? json_object_get(parent->obj, key) : NULL;

    if (!arr) {
        arr = json_array();
        if (!arr) {
            json_decref(item);
            return oom(err);
        }
        if (jobj_set(parent, key, arr, err) != XR_OK) {
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

/* Decode group pg found below the scanned element into parent. */
static enum xr_status emit_group(struct jobj *parent, const struct pgroup *pg,
                                 struct scan *ps, struct dctx *c)
{
    const struct vgroup *g = pg->g;
    const struct pstep *st = &ps->shape->steps[pg->step];
    const xmlNode *el = NULL, *n;
    const struct hit *h;
    json_t *obj = NULL;
    unsigned seen, items = 0;
    enum xr_status rc;

    if (!g->repeated) {
        rc = scan_child(ps, pg->step, &el, c);
        if (rc != XR_OK || !el)
            return rc;
        rc = group_object(pg, el, &obj, c);
        if (rc != XR_OK || !obj)
            return rc;
        if (g->type)
            return append_item(parent, g->json, obj, c->err);
        return jobj_set(parent, g->json, obj, c->err);
    }
    /* The items are the elements from the first to the last one filed. */
    h = &ps->hit[pg->step];
    seen = h->count > 0 ? h->first_pos - 1u : 0u;
    for (n = h->count > 0 ? h->first : NULL; n; n = n->next) {
        if (++seen > VTJ_CHILD_MAX)
            return too_many(c->err, g->element);
        if (n != h->first && !is_el_n(c, n, NS_MSG, st->name, st->len))
            continue;
        if (++items > VTJ_GROUP_MAX)
            return too_many(c->err, g->element);
        rc = group_object(pg, n, &obj, c);
        if (rc != XR_OK)
            return rc;
        if (obj) { /* NULL: empty skeleton row or no identifying field */
            rc = append_item(parent, g->json, obj, c->err);
            if (rc != XR_OK)
                return rc;
        }
        if (n == h->last)
            break;
    }
    /* A scan over all children would stop at the cap. */
    if (ps->overflow)
        return too_many(c->err, g->element);
    return XR_OK;
}

/* Every group of the scanned element's shape into o, in table order. */
static enum xr_status emit_groups(struct jobj *o, struct scan *s,
                                  struct dctx *c)
{
    for (unsigned i = 0; i < s->shape->ngroups; i++) {
        enum xr_status rc = emit_group(o, &s->shape->pg[i], s, c);
        if (rc != XR_OK)
            return rc;
    }
    return XR_OK;
}

/*
 * Build the object of one group element. *out is NULL when the group is
 * to be dropped: no field at all, or the identifying field g->id empty.
 */
static enum xr_status group_object(const struct pgroup *pg, const xmlNode *el,
                                   json_t **out, struct dctx *c)
{
    struct jobj o = {NULL, pg->g->type};
    struct scan s;
    enum xr_status rc;

    *out = NULL;
    scan_open(&s, pg->shape, el, c);
    if ((rc = emit_fields(&o, &s, c)) != XR_OK ||
        (rc = emit_groups(&o, &s, c)) != XR_OK)
        goto out;
    if (!o.obj || (pg->g->id && !json_object_get(o.obj, pg->g->id))) {
        rc = XR_OK;
        goto out; /* dropped */
    }
    *out = o.obj;
    o.obj = NULL;
    rc = XR_OK;
out:
    json_decref(o.obj);
    return rc;
}

/* Emit fields and groups of a scanned element into an existing object. */
static enum xr_status group_object_root(struct scan *s, json_t *obj,
                                        struct dctx *c)
{
    struct jobj o = {obj, NULL};
    enum xr_status rc;

    rc = emit_fields(&o, s, c);
    if (rc != XR_OK)
        return rc;
    return emit_groups(&o, s, c);
}

/* Trimmed text of the single child `name` (namespace vtjkysely/1). */
static enum xr_status ws_child_text(struct dctx *c, const xmlNode *parent,
                                    const char *name, char **out)
{
    const xmlNode *child = NULL;
    enum xr_status rc;

    *out = NULL;
    rc = find_child(c, parent, NS_WS, name, &child);
    if (rc != XR_OK || !child)
        return rc;
    return elem_text(child, out, c->err);
}

/* ---- Decoding --------------------------------------------------------- */

static enum xr_status dup_str(const char *s, char **out, struct xr_error *err)
{
    *out = NULL;
    if (!s)
        return XR_OK;
    *out = strdup(s);
    return *out ? XR_OK : oom(err);
}

/* Turvakielto of a Henkilo element into person JSON and *state. */
static enum xr_status turvakielto(struct scan *henkilo, json_t *person,
                                  enum vtj_turvakielto *state, struct dctx *c)
{
    char buf[VTJ_VALUE_MAX + 1u];
    const xmlNode *tk = NULL, *tieto = NULL;
    struct scan s;
    struct jobj o = {person, NULL};
    struct span value = {NULL, 0};
    json_t *flag = NULL;
    enum xr_status rc;

    *state = VTJ_TURVAKIELTO_UNKNOWN;
    rc = scan_get(henkilo, "Turvakielto", &tk, c);
    if (rc != XR_OK)
        return rc;
    if (tk) {
        scan_open(&s, shape_turvakielto, tk, c);
        rc = scan_get(&s, "TurvakieltoTieto", &tieto, c);
        if (rc == XR_OK && tieto)
            rc = list_span(tieto->children, xs(tieto->name), buf, &value,
                           c->err);
        if (rc != XR_OK)
            return rc;
        if (value.len == 0 || span_is(&value, "0")) {
            *state = VTJ_TURVAKIELTO_NONE;
        } else {
            /* "1", and fail closed on any other non-empty value. */
            *state = VTJ_TURVAKIELTO_PROTECTED;
            if (!span_is(&value, "1")) {
                rc = warn(c, "unexpected_value", "turvakielto");
                if (rc != XR_OK)
                    return rc;
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
    if (json_object_set_new_nocheck(person, "turvakielto", flag) != 0)
        return oom(c->err);
    if (tk)
        return emit_fields(&o, &s, c);
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
            return too_many(c->err, "Hakuperusteet");
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
        if ((rc = elem_text(n, &value, c->err)) != XR_OK ||
            (rc = attr_span(n, "hakuperustePaluukoodi", buf, &code, c->err)) !=
                XR_OK)
            goto out;
        if (span_is(&code, "0"))
            k->any0 = true;
        if (span_is(&code, "2"))
            k->any2 = true;
        if (span_is(&code, "3"))
            k->any3 = true;
        item.obj = json_object();
        if (!item.obj ||
            json_object_set_new_nocheck(item.obj, "type",
                                        json_string_nocheck(type)) != 0 ||
            (value &&
             json_object_set_new_nocheck(
                 item.obj, "value", text_json(value, strlen(value))) != 0) ||
            (code.len > 0 &&
             json_object_set_new_nocheck(item.obj, "result_code",
                                         text_json(code.p, code.len)) != 0)) {
            json_decref(item.obj);
            rc = oom(c->err);
            goto out;
        }
        scan_open(&s, shape_search_key, n, c);
        rc = emit_fields(&item, &s, c);
        if (rc != XR_OK) {
            json_decref(item.obj);
            goto out;
        }
        rc = append_item(top, "search_keys", item.obj, c->err);
        if (rc != XR_OK)
            goto out;
        /* An empty key is remembered as "" so duplicates are still seen. */
        *slot = value ? value : strdup("");
        value = NULL;
        if (!*slot) {
            rc = oom(c->err);
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
 * The keys that come first in the JSON form but are known last. vtj_decode()
 * inserts them with null values into the object that then receives the
 * message fields; assemble() sets them (jansson keeps the position of a key
 * whose value is replaced) and removes return_text when there is none.
 */
static const char *const header_keys[] = {
    "outcome", "return_code", "return_code_source", "return_text", "retryable"};

static int insert_header(json_t *j)
{
    for (size_t i = 0; i < sizeof(header_keys) / sizeof(header_keys[0]); i++)
        if (json_object_set_new_nocheck(j, header_keys[i], json_null()) != 0)
            return -1;
    return 0;
}

/*
 * Complete the JSON form j (made with insert_header()) in its fixed key
 * order. Takes person (may be NULL); warnings stays owned by the caller.
 */
static enum xr_status assemble(struct vtj_result *r, json_t *j, json_t *person,
                               json_t *warnings, struct xr_error *err)
{
    enum xr_status rc;

    if (json_object_set_new_nocheck(
            j, "outcome", json_string_nocheck(vtj_outcome_name(r->outcome))) ||
        json_object_set_new_nocheck(j, "return_code",
                                    json_string(r->return_code)) ||
        json_object_set_new_nocheck(
            j, "return_code_source",
            json_string_nocheck(r->from_fault ? "fault_code" : "paluukoodi")) ||
        (r->return_text ? json_object_set_new_nocheck(
                              j, "return_text", json_string(r->return_text))
                        : json_object_del(j, "return_text")) ||
        json_object_set_new_nocheck(j, "retryable",
                                    json_boolean(r->retryable))) {
        rc = oom(err);
        goto out;
    }
    if (r->new_hetu &&
        json_object_set_new_nocheck(j, "new_hetu", json_string(r->new_hetu))) {
        rc = oom(err);
        goto out;
    }
    if (person) {
        rc =
            json_object_set_new_nocheck(j, "person", person) ? oom(err) : XR_OK;
        person = NULL; /* consumed */
        if (rc != XR_OK)
            goto out;
    }
    if (json_array_size(warnings) > 0 &&
        json_object_set_nocheck(j, "warnings", warnings) != 0) {
        rc = oom(err);
        goto out;
    }
    rc = XR_OK;
out:
    json_decref(person);
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
    struct dctx c; /* dctx_init() below */
    const xmlNode *request = NULL, *response = NULL, *fcode = NULL;
    const xmlNode *fstring = NULL, *msg = NULL, *palu = NULL, *hp = NULL;
    const xmlNode *henkilo = NULL;
    struct scan msg_scan, henkilo_scan;
    struct jobj top_o = {NULL, NULL};
    char *echo_hetu = NULL, *echo_satu = NULL;
    json_t *top = NULL, *person = NULL;
    const struct code_map *map = NULL;
    const char *queried_hetu, *queried_satu;
    enum xr_status rc;

    dctx_init(&c, err);
    if (out)
        *out = NULL;
    if (!policy)
        policy = &defaults;
    if (!wrapper || !out) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                          "no body element given");
        goto out;
    }
    if (pthread_once(&plan_once, plan_init) != 0 || !plan_ready) {
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
    top = json_object(); /* becomes the JSON form (assemble()) */
    if (!r || !top || insert_header(top) != 0) {
        rc = oom(err);
        goto out;
    }
    top_o.obj = top;
    r->turvakielto = VTJ_TURVAKIELTO_UNKNOWN;
    if ((rc = find_child(&c, wrapper, NS_WS, "request", &request)) != XR_OK ||
        (rc = find_child(&c, wrapper, NS_WS, "response", &response)) != XR_OK)
        goto out;
    if (!response) {
        rc = xr_error_set(err, XR_EPROTO, "not_vtj_response", "response",
                          "the VTJ answer has no response element");
        goto out;
    }
    if (request) {
        if ((rc = ws_child_text(&c, request, "Henkilotunnus", &echo_hetu)) !=
                XR_OK ||
            (rc = ws_child_text(&c, request, "SahkoinenAsiointitunnus",
                                &echo_satu)) != XR_OK)
            goto out;
    }
    if ((rc = find_child(&c, response, NS_WS, "faultCode", &fcode)) != XR_OK ||
        (rc = find_child(&c, response, NS_WS, "faultString", &fstring)) !=
            XR_OK ||
        (rc = find_child(&c, response, NS_MSG, "VTJHenkiloVastaussanoma",
                         &msg)) != XR_OK)
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
        scan_open(&msg_scan, shape_message, msg, &c);
        if ((rc = group_object_root(&msg_scan, top, &c)) != XR_OK)
            goto out;
        if ((rc = scan_get(&msg_scan, "Paluukoodi", &palu, &c)) != XR_OK ||
            (rc = scan_get(&msg_scan, "Hakuperusteet", &hp, &c)) != XR_OK ||
            (rc = scan_get(&msg_scan, "Henkilo", &henkilo, &c)) != XR_OK)
            goto out;
        if (palu) {
            if ((rc = attr_text(palu, "koodi", &r->return_code, err)) !=
                    XR_OK ||
                (rc = elem_text(palu, &r->return_text, err)) != XR_OK)
                goto out;
        }
        if (hp && (rc = search_keys(hp, &top_o, &keys, &c)) != XR_OK)
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
        scan_open(&henkilo_scan, shape_person, henkilo, &c);
        rc = group_object_root(&henkilo_scan, person, &c);
        if (rc != XR_OK)
            goto out;
        rc = turvakielto(&henkilo_scan, person, &r->turvakielto, &c);
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
            if (json_object_set_new_nocheck(person, "addresses_redacted",
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
    r->json = top;
    top = NULL;
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
    rc = find_child(&c, wrapper, NS_WS, "response", &response);
    if (rc != XR_OK)
        goto out;
    if (!response) {
        rc = xr_error_set(err, XR_EPROTO, "missing_schema", "response",
                          "the answer has no response element");
        goto out;
    }
    rc = find_child(&c, response, NS_WS, "faultCode", &fcode);
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

/*
 * The mapping of a VTJ answer to its JSON form as tables (which element
 * becomes which key, in which form), and their compilation into the plan
 * the decoder follows: one shape per (fields, groups) pair, with a slot
 * for every element name looked up below such an element
 * (vtj_internal.h, "Compiled tables").
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "services/vtj_internal.h"

/* ---- Mapping tables ------------------------------------------------- */

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

/* ---- Compiled tables -------------------------------------------------- */

#define PLAN_SHAPES 40u
#define PLAN_STEPS  256u
#define PLAN_FIELDS 192u
#define PLAN_GROUPS 48u

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
static struct plan plan_shapes;

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
    plan_shapes.message = plan_compile(f_message, g_message, x_message);
    plan_shapes.person = plan_compile(f_person, g_person, x_person);
    plan_shapes.turvakielto =
        plan_compile(f_turvakielto, g_none, x_turvakielto);
    plan_shapes.search_key = plan_compile(f_search_key, g_none, x_none);
    plan_ready = plan_shapes.message && plan_shapes.person &&
                 plan_shapes.turvakielto && plan_shapes.search_key;
}

const struct plan *vtj__plan(void)
{
    if (pthread_once(&plan_once, plan_init) != 0 || !plan_ready)
        return NULL;
    return &plan_shapes;
}

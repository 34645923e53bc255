/*
 * The VTJkysely HenkilonTunnusKysely service (X-Road flavour,
 * docs/vtj.md sections 2-4), answering from a dataset of fictitious
 * test persons (persons.json; every hetu has a 9xx individual number).
 *
 * Decision order for one request:
 *   Kayttajatunnus/Salasana wrong        -> faultCode -1500
 *   Loppukayttaja missing / > 50 chars   -> faultCode -1904 / -1902
 *   SoSoNimi not a known product         -> faultCode -1901
 *   neither or both of Henkilotunnus and
 *   SahkoinenAsiointitunnus, or invalid  -> Paluukoodi 0005
 *   a person with a forced return code   -> Paluukoodi of the dataset
 *   hetu or SATU of a person             -> Paluukoodi 0000 (0018 under 15)
 *   passivated hetu of a person          -> Paluukoodi 0002, new hetu
 *   anything else                        -> faultCode 0001 (not found)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>

#include "sim.h"

#define NS_VTJ_WS          "http://xml.vrk.fi/ws/vtj/vtjkysely/1"
#define NS_VTJ_MSG         "http://xml.vrk.fi/schema/vtjkysely"
#define NS_VTJ_HT          "http://xml.vrk.fi/schema/vtj/henkilotiedot/1"
#define NS_XSI             "http://www.w3.org/2001/XMLSchema-instance"
#define MAX_PERSONS        10000
#define MAX_DATASET        (4u * 1024u * 1024u)
#define END_USER_MAX_CHARS 50 /* Loppukayttaja, in characters */
/*
 * SATU numbers have no test range; the dataset takes them only from the
 * top of the range (89000000-89999999), far from the numbers issued first.
 */
#define SATU_DATASET_MIN   89000000L

struct sim_vtj {
    json_t *root;    /* owned: the dataset document */
    json_t *persons; /* get0: root's "persons" array */
    char username[SIM_NAME_MAX];
    char password[SIM_SECRET_MAX]; /* secret */
};

/* Products the simulator can answer, and what each includes. */
struct product {
    const char *name; /* canonical sanomatunnus */
    bool basic_only;  /* PERUSSANOMA 1: no Turvakielto etc. */
    bool wards;       /* Huollettava groups */
    bool guardians;   /* Huoltaja groups */
};

static const struct product products[] = {
    {"PERUSSANOMA 1", true, false, false},
    {"PERUSSANOMA 3", false, false, false},
    {"HUOLTAJA-HUOLLETTAVAT", false, true, false},
    {"HUOLLETTAVA-HUOLTAJAT", false, false, true},
};

/*
 * Return codes a dataset person can force ("paluukoodi"): VTJ answers
 * with a VTJHenkiloVastaussanoma that has this Paluukoodi, the search key
 * result given here, and no Henkilo (docs/vtj.md section 4).
 */
struct forced_code {
    const char *code;
    const char *text; /* Paluukoodi text, Finnish */
    const char *key;  /* hakuperustePaluukoodi */
};

static const struct forced_code forced_codes[] = {
    {"0001", "Hakuperusteella ei löydy tietoja vtj:stä", "0"},
    {"0003", "Salasana puuttuu, on virheellinen tai vanhentunut", "0"},
    {"0004", "Käyttäjätunnus puuttuu, on virheellinen tai vanhentunut", "0"},
    {"0006", "Hakuperusteella ei löydy tietoja vtj:stä", "0"},
    {"0007", "Henkilö on kuollut, tietoja ei luovuteta", "1"},
};

static const struct forced_code *forced_code(const char *code)
{
    for (size_t i = 0; i < sizeof(forced_codes) / sizeof(forced_codes[0]); i++)
        if (code && !strcmp(code, forced_codes[i].code))
            return &forced_codes[i];
    return NULL;
}

/* Characters in UTF-8 text: every byte that does not continue one. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0u) != 0x80u)
            n++;
    return n;
}

/* A SATU: 8 digits 10000001..89999999 and the hetu's check character. */
static bool satu_check(const char *s, long *number)
{
    static const char table[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";
    long num = 0;

    if (strlen(s) != 9)
        return false;
    for (int i = 0; i < 8; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        num = num * 10 + (s[i] - '0');
    }
    if (num < 10000001L || num > 89999999L || table[num % 31] != s[8])
        return false;
    if (number)
        *number = num;
    return true;
}

/* Check a hetu (2023 rules) and give the birth date as yyyymmdd. */
static bool hetu_check(const char *h, char birth[9])
{
    static const char table[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    long num = 0;
    int dd, mm, yy, year;
    char c;

    if (strlen(h) != 11)
        return false;
    for (int i = 0; i < 10; i++) {
        if (i == 6)
            continue;
        if (h[i] < '0' || h[i] > '9')
            return false;
        num = num * 10 + (h[i] - '0');
    }
    c = h[6];
    if (c == '+')
        year = 1800;
    else if (strchr("-YXWVU", c))
        year = 1900;
    else if (strchr("ABCDEF", c))
        year = 2000;
    else
        return false;
    if (table[num % 31] != h[10])
        return false;
    dd = (h[0] - '0') * 10 + (h[1] - '0');
    mm = (h[2] - '0') * 10 + (h[3] - '0');
    yy = (h[4] - '0') * 10 + (h[5] - '0');
    year += yy;
    if (mm < 1 || mm > 12 || dd < 1 || dd > mdays[mm - 1])
        return false;
    if (mm == 2 && dd == 29 &&
        !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return false;
    if (!strncmp(h + 7, "000", 3) || !strncmp(h + 7, "001", 3))
        return false;
    /* year 1800..2099, so exactly 8 digits */
    birth[0] = (char)('0' + year / 1000);
    birth[1] = (char)('0' + year / 100 % 10);
    birth[2] = h[4];
    birth[3] = h[5];
    birth[4] = h[2];
    birth[5] = h[3];
    birth[6] = h[0];
    birth[7] = h[1];
    birth[8] = '\0';
    return true;
}

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static const char *sub(const json_t *obj, const char *group, const char *key)
{
    return str(json_object_get(obj, group), key);
}

static bool person_ok(const json_t *p, char *errbuf, size_t errsize, size_t idx)
{
    char birth[9];
    const char *h = str(p, "hetu");
    json_t *old = json_object_get(p, "passivoidut");
    size_t i;
    json_t *v;

    if (!json_is_object(p) || !hetu_check(h, birth) || h[7] != '9') {
        snprintf(errbuf, errsize,
                 "person %zu: hetu missing, invalid or not a 9xx test hetu",
                 idx);
        return false;
    }
    json_array_foreach(old, i, v)
    {
        const char *o = json_string_value(v);
        if (!o || !hetu_check(o, birth) || o[7] != '9') {
            snprintf(errbuf, errsize,
                     "person %zu: passivated hetu %zu is not a valid 9xx "
                     "test hetu",
                     idx, i);
            return false;
        }
    }
    if (json_object_get(p, "satu")) {
        long num = 0;
        if (!satu_check(str(p, "satu"), &num) || num < SATU_DATASET_MIN) {
            snprintf(errbuf, errsize,
                     "person %zu: satu is not a valid SATU from %ld up", idx,
                     SATU_DATASET_MIN);
            return false;
        }
    }
    if (json_object_get(p, "paluukoodi") &&
        !forced_code(json_string_value(json_object_get(p, "paluukoodi")))) {
        snprintf(errbuf, errsize,
                 "person %zu: paluukoodi must be one of 0001, 0003, 0004, "
                 "0006, 0007",
                 idx);
        return false;
    }
    v = json_object_get(p, "turvakielto_tieto");
    if (v && !json_is_string(v) && !json_is_null(v)) {
        snprintf(errbuf, errsize,
                 "person %zu: turvakielto_tieto must be a string or null", idx);
        return false;
    }
    return true;
}

int sim_vtj_new(const char *dataset_path, const char *username,
                const char *password, struct sim_vtj **out, char *errbuf,
                size_t errsize)
{
    struct sim_vtj *vtj = NULL;
    json_error_t jerr;
    size_t i;
    json_t *p;
    int rc = -1;

    *out = NULL;
    vtj = calloc(1, sizeof(*vtj));
    if (!vtj) {
        snprintf(errbuf, errsize, "out of memory");
        goto out;
    }
    if (dataset_path && dataset_path[0]) {
        FILE *f = fopen(dataset_path, "rb");
        char *buf = NULL;
        size_t n = 0;

        if (!f) {
            snprintf(errbuf, errsize, "%s: cannot open", dataset_path);
            goto out;
        }
        buf = malloc(MAX_DATASET + 1);
        if (buf)
            n = fread(buf, 1, MAX_DATASET + 1, f);
        fclose(f);
        if (!buf || n > MAX_DATASET) {
            free(buf);
            snprintf(errbuf, errsize, "%s: unreadable or over %u bytes",
                     dataset_path, MAX_DATASET);
            goto out;
        }
        vtj->root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
        free(buf);
    } else {
        vtj->root =
            json_loadb((const char *)sim_persons_json, sim_persons_json_len,
                       JSON_REJECT_DUPLICATES, &jerr);
    }
    if (!vtj->root) {
        snprintf(errbuf, errsize, "dataset:%d:%d: %s", jerr.line, jerr.column,
                 jerr.text);
        goto out;
    }
    vtj->persons = json_object_get(vtj->root, "persons");
    if (!json_is_array(vtj->persons) ||
        json_array_size(vtj->persons) > MAX_PERSONS) {
        snprintf(errbuf, errsize,
                 "dataset: \"persons\" must be an array of at most %d",
                 MAX_PERSONS);
        goto out;
    }
    json_array_foreach(vtj->persons, i, p)
    {
        if (!person_ok(p, errbuf, errsize, i))
            goto out;
    }
    sim_strlcpy(vtj->username, username, sizeof(vtj->username));
    sim_strlcpy(vtj->password, password, sizeof(vtj->password));
    *out = vtj;
    vtj = NULL;
    rc = 0;
out:
    sim_vtj_free(vtj);
    return rc;
}

void sim_vtj_free(struct sim_vtj *vtj)
{
    if (!vtj)
        return;
    json_decref(vtj->root);
    OPENSSL_cleanse(vtj->password, sizeof(vtj->password));
    free(vtj);
}

size_t sim_vtj_person_count(const struct sim_vtj *vtj)
{
    return json_array_size(vtj->persons);
}

static const json_t *find_person(const struct sim_vtj *vtj, const char *hetu,
                                 bool *passive)
{
    size_t i, j;
    json_t *p, *v;

    *passive = false;
    json_array_foreach(vtj->persons, i, p)
    {
        if (!strcmp(str(p, "hetu"), hetu))
            return p;
    }
    json_array_foreach(vtj->persons, i, p)
    {
        json_array_foreach(json_object_get(p, "passivoidut"), j, v)
        {
            const char *o = json_string_value(v);
            if (o && !strcmp(o, hetu)) {
                *passive = true;
                return p;
            }
        }
    }
    return NULL;
}

static const json_t *find_person_by_satu(const struct sim_vtj *vtj,
                                         const char *satu)
{
    size_t i;
    json_t *p;

    json_array_foreach(vtj->persons, i, p)
    {
        if (!strcmp(str(p, "satu"), satu))
            return p;
    }
    return NULL;
}

/* ---- XML helpers (all elements in the parent's namespace) ---- */

static xmlNodePtr add(xmlNodePtr parent, const char *name, const char *text)
{
    if (!parent)
        return NULL;
    return xmlNewTextChild(parent, parent->ns, sim_xc(name),
                           text && text[0] ? sim_xc(text) : NULL);
}

static void attr(xmlNodePtr n, const char *name, const char *value)
{
    if (n)
        xmlNewProp(n, sim_xc(name), sim_xc(value));
}

/* Text of the request child `name` (vtjkysely/1), trimmed, or "". */
static void req_field(xmlNodePtr request, const char *name, char *out,
                      size_t size)
{
    out[0] = '\0';
    for (xmlNodePtr n = request ? request->children : NULL; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || !n->ns ||
            strcmp(sim_cs(n->ns->href), NS_VTJ_WS) != 0 ||
            strcmp(sim_cs(n->name), name) != 0)
            continue;
        xmlChar *t = xmlNodeGetContent(n);
        const char *s = t ? sim_cs(t) : "";
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            s++;
        sim_strlcpy(out, s, size);
        size_t len = strlen(out);
        while (len > 0 && strchr(" \t\r\n", out[len - 1]))
            out[--len] = '\0';
        xmlFree(t);
        return;
    }
}

/* Echo the request (Salasana emptied), as DVV's adapter does. */
static void echo_request(xmlNodePtr wrapper_out, xmlNodePtr request)
{
    xmlNodePtr echo = add(wrapper_out, "request", NULL);
    int count = 0;

    for (xmlNodePtr n = request ? request->children : NULL; n && count < 32;
         n = n->next) {
        if (n->type != XML_ELEMENT_NODE || !n->ns ||
            strcmp(sim_cs(n->ns->href), NS_VTJ_WS) != 0)
            continue;
        count++;
        if (!strcmp(sim_cs(n->name), "Salasana")) {
            add(echo, "Salasana", NULL);
            continue;
        }
        char text[512];
        req_field(request, sim_cs(n->name), text, sizeof(text));
        add(echo, sim_cs(n->name), text);
    }
}

static void fault_code(xmlNodePtr response, const char *code, const char *text,
                       char *outcome, size_t outsize)
{
    add(response, "faultCode", code);
    add(response, "faultString", text);
    snprintf(outcome, outsize, "faultCode %s", code);
}

static void now_texts(char stamp[15], char info[24])
{
    time_t t = time(NULL);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(stamp, 15, "%Y%m%d%H%M%S", &tm);
    strftime(info, 24, "%d.%m.%Y klo %H:%M", &tm);
}

static bool under_15(const char *birth)
{
    char today[9];
    time_t t = time(NULL);
    struct tm tm;
    long b, d;

    localtime_r(&t, &tm);
    strftime(today, sizeof(today), "%Y%m%d", &tm);
    if (sim_parse_long(birth, 0, 99999999, &b) != 0 ||
        sim_parse_long(today, 0, 99999999, &d) != 0)
        return false;
    return d - b < 150000; /* yyyymmdd arithmetic: < 15 years */
}

static void add_names(xmlNodePtr h, const json_t *p)
{
    add(add(h, "NykyinenSukunimi", NULL), "Sukunimi", str(p, "sukunimi"));
    add(add(h, "NykyisetEtunimet", NULL), "Etunimet", str(p, "etunimet"));
}

static void add_address(xmlNodePtr h, const json_t *p, bool protect)
{
    xmlNodePtr a = add(h, "VakinainenKotimainenLahiosoite", NULL);
    const char *o = "osoite";

    add(a, "LahiosoiteS", protect ? "" : sub(p, o, "lahiosoite_s"));
    add(a, "LahiosoiteR", protect ? "" : sub(p, o, "lahiosoite_r"));
    add(a, "Postinumero", protect ? "" : sub(p, o, "postinumero"));
    add(a, "PostitoimipaikkaS", protect ? "" : sub(p, o, "toimipaikka_s"));
    add(a, "PostitoimipaikkaR", protect ? "" : sub(p, o, "toimipaikka_r"));
    add(a, "AsuminenAlkupvm", protect ? "" : sub(p, o, "alkupvm"));
    add(a, "AsuminenLoppupvm", protect ? "" : sub(p, o, "loppupvm"));
}

static void add_foreign_address(xmlNodePtr h, const json_t *p, bool protect)
{
    xmlNodePtr a = add(h, "VakinainenUlkomainenLahiosoite", NULL);
    const char *o = "ulkomainen_osoite";

    add(a, "UlkomainenLahiosoite", protect ? "" : sub(p, o, "lahiosoite"));
    add(a, "UlkomainenPaikkakuntaJaValtioS",
        protect ? "" : sub(p, o, "paikkakunta_ja_valtio_s"));
    add(a, "UlkomainenPaikkakuntaJaValtioR",
        protect ? "" : sub(p, o, "paikkakunta_ja_valtio_r"));
    add(a, "UlkomainenPaikkakuntaJaValtioSelvakielinen", NULL);
    add(a, "Valtiokoodi3", protect ? "" : sub(p, o, "valtiokoodi3"));
    add(a, "AsuminenAlkupvm", protect ? "" : sub(p, o, "alkupvm"));
    add(a, "AsuminenLoppupvm", protect ? "" : sub(p, o, "loppupvm"));
}

/* The permanent dwelling id, verbatim (a trailing space included). */
static void add_dwelling(xmlNodePtr h, const json_t *p, bool protect)
{
    xmlNodePtr a = add(h, "VakinainenAsuinpaikka", NULL);

    add(a, "Asuinpaikantunnus", protect ? "" : str(p, "asuinpaikantunnus"));
}

static void add_kotikunta(xmlNodePtr h, const json_t *p, bool protect)
{
    xmlNodePtr k = add(h, "Kotikunta", NULL);

    add(k, "Kuntanumero", protect ? "" : sub(p, "kotikunta", "numero"));
    add(k, "KuntaS", protect ? "" : sub(p, "kotikunta", "s"));
    add(k, "KuntaR", protect ? "" : sub(p, "kotikunta", "r"));
    add(k, "KuntasuhdeAlkupvm", protect ? "" : sub(p, "kotikunta", "alkupvm"));
}

static void add_former_names(xmlNodePtr h, const json_t *p)
{
    json_t *list = json_object_get(p, "entiset_nimet");
    size_t i;
    json_t *e;

    if (json_array_size(list) == 0) {
        /* VTJ sends the group once with empty children when there is none */
        xmlNodePtr g = add(h, "EntinenNimi", NULL);
        add(g, "Nimi", NULL);
        add(g, "Nimilajikoodi", NULL);
        add(g, "Alkupvm", NULL);
        add(g, "Loppupvm", NULL);
        add(g, "Info8S", NULL);
        add(g, "Info8R", NULL);
        return;
    }
    json_array_foreach(list, i, e)
    {
        xmlNodePtr g = add(h, "EntinenNimi", NULL);
        add(g, "Nimi", str(e, "nimi"));
        add(g, "Nimilajikoodi", str(e, "nimilajikoodi"));
        add(g, "Alkupvm", str(e, "alkupvm"));
        add(g, "Loppupvm", str(e, "loppupvm"));
        add(g, "Info8S", NULL);
        add(g, "Info8R", NULL);
    }
}

/* Huollettava (wards) or Huoltaja (guardians) groups. */
static void add_relatives(xmlNodePtr h, const struct sim_vtj *vtj,
                          const json_t *p, const char *key, const char *group)
{
    json_t *list = json_object_get(p, key);
    size_t i, n = 0;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        const char *rh = json_string_value(v);
        bool passive;
        const json_t *r = rh ? find_person(vtj, rh, &passive) : NULL;
        char birth[9] = "";
        xmlNodePtr g;

        if (!r || i >= 32)
            continue;
        (void)hetu_check(rh, birth);
        g = add(h, group, NULL);
        add(g, "Henkilotunnus", rh);
        add(g, "Syntymaaika", birth);
        add_names(g, r);
        n++;
    }
    if (n == 0) {
        xmlNodePtr g = add(h, group, NULL);
        add(g, "Henkilotunnus", NULL);
        add(g, "Syntymaaika", NULL);
        add(add(g, "NykyinenSukunimi", NULL), "Sukunimi", NULL);
        add(add(g, "NykyisetEtunimet", NULL), "Etunimet", NULL);
    }
}

/*
 * Henkilo for the product. satu is the SATU the query used (its element
 * is added then), or NULL.
 */
static void add_person(xmlNodePtr msg, const struct sim_vtj *vtj,
                       const struct product *prod, const json_t *p,
                       const char *satu)
{
    xmlNodePtr h = add(msg, "Henkilo", NULL);
    xmlNodePtr n;
    const json_t *tk = json_object_get(p, "turvakielto");
    const json_t *tieto = json_object_get(p, "turvakielto_tieto");
    bool protect = tk != NULL;
    /* DVV includes a protected person's address for some products and
     * customers (docs/vtj.md section 6); "osoite_mukana" plays that. */
    bool hide = protect && !json_is_true(json_object_get(tk, "osoite_mukana"));
    const char *died = str(p, "kuolinpvm");
    const char *sex = str(p, "sukupuoli");

    n = add(h, "Henkilotunnus", str(p, "hetu"));
    attr(n, "voimassaolokoodi", "1");
    if (satu) {
        n = add(h, "SahkoinenAsiointitunnus", satu);
        attr(n, "voimassaolokoodi", "1");
    }
    add_names(h, p);
    if (!prod->basic_only && !prod->wards && !prod->guardians) {
        add(add(h, "NykyinenKutsumanimi", NULL), "Kutsumanimi",
            str(p, "kutsumanimi"));
        add_former_names(h, p);
    }
    add_address(h, p, hide);
    if (!prod->wards && !prod->guardians) {
        add_foreign_address(h, p, hide);
        add_dwelling(h, p, hide);
    }
    add_kotikunta(h, p, hide);
    if (!prod->wards && !prod->guardians) {
        n = add(h, "Kuolintiedot", NULL);
        add(n, "Kuollut", died[0] ? "1" : "");
        add(n, "Kuolinpvm", died);
        n = add(h, "Aidinkieli", NULL);
        add(n, "Kielikoodi", sub(p, "aidinkieli", "koodi"));
        add(n, "KieliS", sub(p, "aidinkieli", "s"));
        add(n, "KieliR", sub(p, "aidinkieli", "r"));
        add(n, "KieliSelvakielinen", NULL);
    }
    if (!prod->basic_only) {
        n = add(h, "Turvakielto", NULL);
        /* turvakielto_tieto: a string replaces the value, null drops it. */
        if (!tieto)
            add(n, "TurvakieltoTieto", protect ? "1" : "0");
        else if (json_is_string(tieto))
            add(n, "TurvakieltoTieto", json_string_value(tieto));
        add(n, "TurvakieltoPaattymispvm",
            protect ? sub(p, "turvakielto", "paattymispvm") : "");
    }
    if (!prod->wards && !prod->guardians) {
        n = add(h, "Sukupuoli", NULL);
        add(n, "Sukupuolikoodi", sex);
        add(n, "SukupuoliS",
            !strcmp(sex, "1")   ? "Mies"
            : !strcmp(sex, "2") ? "Nainen"
                                : "");
        add(n, "SukupuoliR",
            !strcmp(sex, "1")   ? "Man"
            : !strcmp(sex, "2") ? "Kvinna"
                                : "");
    }
    if (!prod->basic_only && !prod->wards && !prod->guardians) {
        n = add(h, "Kansalaisuus", NULL);
        add(n, "Kansalaisuuskoodi3", sub(p, "kansalaisuus", "koodi3"));
        add(n, "KansalaisuusS", sub(p, "kansalaisuus", "s"));
        add(n, "KansalaisuusR", sub(p, "kansalaisuus", "r"));
        n = add(h, "Edunvalvonta", NULL);
        add(n, "Alkupvm", NULL);
        add(n, "Paattymispvm", NULL);
        add(n, "Rajoituskoodi", NULL);
        add(n, "Tehtavienjakokoodi", NULL);
    }
    if (prod->wards)
        add_relatives(h, vtj, p, "huollettavat", "Huollettava");
    if (prod->guardians)
        add_relatives(h, vtj, p, "huoltajat", "Huoltaja");
}

/* The texts VTJ gives with a hakuperustePaluukoodi. */
static void key_texts(xmlNodePtr n, const char *code)
{
    attr(n, "hakuperustePaluukoodi", code);
    if (!strcmp(code, "1")) {
        attr(n, "hakuperusteTekstiE", "Found");
        attr(n, "hakuperusteTekstiR", "Hittades");
        attr(n, "hakuperusteTekstiS", "Löytyi");
    } else if (!strcmp(code, "2")) {
        attr(n, "hakuperusteTekstiE", "Search criterion passive");
        attr(n, "hakuperusteTekstiR", "Sökvillkoret passivt");
        attr(n, "hakuperusteTekstiS", "Hakuperuste passiivinen");
    } else if (!strcmp(code, "4")) {
        attr(n, "hakuperusteTekstiE", "Search criterion not used");
        attr(n, "hakuperusteTekstiR", "Sökvillkoret användes inte");
        attr(n, "hakuperusteTekstiS", "Hakuperustetta ei käytetty");
    } else {
        attr(n, "hakuperusteTekstiE", "Not found");
        attr(n, "hakuperusteTekstiR", "Hittades inte");
        attr(n, "hakuperusteTekstiS", "Ei löytynyt");
    }
}

/*
 * Hakuperusteet: the key that was used gets `code`, the other one "4"
 * (not used).
 */
static void add_search_keys(xmlNodePtr msg, const char *hetu, const char *satu,
                            const char *code)
{
    xmlNodePtr keys = add(msg, "Hakuperusteet", NULL);
    bool by_satu = satu && satu[0] && !(hetu && hetu[0]);

    key_texts(add(keys, "Henkilotunnus", by_satu ? NULL : hetu),
              by_satu ? "4" : code);
    key_texts(add(keys, "SahkoinenAsiointitunnus", by_satu ? satu : NULL),
              by_satu ? code : "4");
}

static xmlNodePtr new_message(xmlNodePtr response, const char *product)
{
    char stamp[15], info[24], loc[96];
    xmlNodePtr msg, ai;
    xmlNsPtr ns;

    msg = xmlNewChild(response, NULL, sim_xc("VTJHenkiloVastaussanoma"), NULL);
    if (!msg)
        return NULL;
    ns = xmlNewNs(msg, sim_xc(NS_VTJ_MSG), NULL);
    xmlSetNs(msg, ns);
    xmlNewNs(msg, sim_xc(NS_VTJ_HT), sim_xc("vtj"));
    xmlNsPtr xsi = xmlNewNs(msg, sim_xc(NS_XSI), sim_xc("xsi"));
    now_texts(stamp, info);
    attr(msg, "tietojenPoimintaaika", stamp);
    attr(msg, "sanomatunnus", product);
    attr(msg, "versio", "1.0");
    snprintf(loc, sizeof(loc), "%s %s.xsd", NS_VTJ_MSG, product);
    xmlNewNsProp(msg, xsi, sim_xc("schemaLocation"), sim_xc(loc));
    ai = add(msg, "Asiakasinfo", NULL);
    add(ai, "InfoS", info);
    add(ai, "InfoR", info);
    add(ai, "InfoE", info);
    return msg;
}

static bool secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

/* A VTJHenkiloVastaussanoma with this Paluukoodi and search keys only. */
static xmlNodePtr code_message(xmlNodePtr response, const char *product,
                               const char *code, const char *text,
                               const char *hetu, const char *satu,
                               const char *key, char *outcome, size_t outsize)
{
    xmlNodePtr msg = new_message(response, product);

    attr(add(msg, "Paluukoodi", text), "koodi", code);
    add_search_keys(msg, hetu, satu, key);
    snprintf(outcome, outsize, "Paluukoodi %s", code);
    return msg;
}

int sim_vtj_answer(const struct sim_vtj *vtj, xmlNodePtr wrapper,
                   xmlNodePtr body, char *outcome, size_t outsize)
{
    char product[64], user[SIM_NAME_MAX + 8], pass[SIM_SECRET_MAX + 8];
    char enduser[512], hetu[64], satu[64], birth[9];
    xmlNodePtr request = NULL, out, response, msg;
    const struct product *prod = NULL;
    const struct forced_code *forced;
    const json_t *person;
    bool passive = false;
    int rc = -1;

    for (xmlNodePtr n = wrapper->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && n->ns &&
            !strcmp(sim_cs(n->ns->href), NS_VTJ_WS) &&
            !strcmp(sim_cs(n->name), "request"))
            request = n;
    req_field(request, "SoSoNimi", product, sizeof(product));
    req_field(request, "Kayttajatunnus", user, sizeof(user));
    req_field(request, "Salasana", pass, sizeof(pass));
    req_field(request, "Loppukayttaja", enduser, sizeof(enduser));
    req_field(request, "Henkilotunnus", hetu, sizeof(hetu));
    req_field(request, "SahkoinenAsiointitunnus", satu, sizeof(satu));

    out = xmlNewChild(body, NULL, sim_xc("HenkilonTunnusKyselyResponse"), NULL);
    if (!out)
        goto done;
    xmlSetNs(out, xmlNewNs(out, sim_xc(NS_VTJ_WS), NULL));
    echo_request(out, request);
    response = add(out, "response", NULL);
    if (!response)
        goto done;

    if (!secret_equal(user, vtj->username) ||
        !secret_equal(pass, vtj->password)) {
        fault_code(response, "-1500",
                   "Virheellinen käyttäjätunnus tai salasana", outcome,
                   outsize);
        rc = 0;
        goto done;
    }
    if (enduser[0] == '\0') {
        fault_code(response, "-1904", "Loppukäyttäjä puuttuu", outcome,
                   outsize);
        rc = 0;
        goto done;
    }
    /* VTJ counts characters, not bytes: "Äänekoski" is 9 long. */
    if (utf8_chars(enduser) > END_USER_MAX_CHARS) {
        fault_code(response, "-1902",
                   "Sanoma ei ole validi: Loppukayttaja yli 50 merkkiä",
                   outcome, outsize);
        rc = 0;
        goto done;
    }
    for (size_t i = 0; i < sizeof(products) / sizeof(products[0]); i++)
        if (!strcasecmp(product, products[i].name))
            prod = &products[i];
    if (!prod) {
        fault_code(response, "-1901", "Tuotetta ei löydy", outcome, outsize);
        rc = 0;
        goto done;
    }
    /* Exactly one search key, and a valid one. */
    if (!hetu[0] == !satu[0] ||
        (hetu[0] ? !hetu_check(hetu, birth) : !satu_check(satu, NULL))) {
        msg = code_message(response, prod->name, "0005",
                           !hetu[0] == !satu[0]
                               ? "Anna joko henkilötunnus tai sähköinen "
                                 "asiointitunnus"
                           : hetu[0] ? "Henkilötunnus puuttuu tai on "
                                       "virheellinen"
                                     : "Sähköinen asiointitunnus on "
                                       "virheellinen",
                           hetu, satu, "0", outcome, outsize);
        rc = msg ? 0 : -1;
        goto done;
    }
    if (hetu[0])
        person = find_person(vtj, hetu, &passive);
    else
        person = find_person_by_satu(vtj, satu);
    if (!person) {
        fault_code(response, "0001", "Hakuperusteella ei löydy tietoja vtj:stä",
                   outcome, outsize);
        rc = 0;
        goto done;
    }
    forced =
        forced_code(json_string_value(json_object_get(person, "paluukoodi")));
    if (forced) {
        msg = code_message(response, prod->name, forced->code, forced->text,
                           hetu, satu, forced->key, outcome, outsize);
        rc = msg ? 0 : -1;
        goto done;
    }
    if (!hetu_check(str(person, "hetu"), birth))
        goto done; /* checked at load time */
    if (passive)
        msg = code_message(response, prod->name, "0002",
                           "Hakuperusteena käytetty henkilötunnus on "
                           "passivoitu",
                           hetu, satu, "2", outcome, outsize);
    else if (under_15(birth))
        msg = code_message(response, prod->name, "0018",
                           "Henkilö on alle 15-vuotias", hetu, satu, "1",
                           outcome, outsize);
    else
        msg = code_message(response, prod->name, "0000", "Haku onnistui", hetu,
                           satu, "1", outcome, outsize);
    add_person(msg, vtj, prod, person, hetu[0] ? NULL : satu);
    rc = msg ? 0 : -1;
done:
    OPENSSL_cleanse(pass, sizeof(pass));
    return rc;
}

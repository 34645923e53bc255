/*
 * Unit tests for vayla-sim's modules (tests/sim): fault-injection names,
 * fault-code spelling, fingerprints, sim.conf errors, the response
 * envelope (echo + requestHash), the VTJ service and the message log.
 * The network side is covered by tests/integration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim.h"

static const char request_template[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
    "xmlns:x=\"http://x-road.eu/xsd/xroad.xsd\" "
    "xmlns:i=\"http://x-road.eu/xsd/identifiers\" "
    "xmlns:v=\"http://xml.vrk.fi/ws/vtj/vtjkysely/1\">\n"
    "  <s:Header>\n"
    "    <x:protocolVersion>4.0</x:protocolVersion>\n"
    "    <x:id>test-id-1</x:id>\n"
    "    <x:client i:objectType=\"SUBSYSTEM\"><i:xRoadInstance>FI-TEST"
    "</i:xRoadInstance><i:memberClass>MUN</i:memberClass><i:memberCode>"
    "0101263-6</i:memberCode><i:subsystemCode>demo</i:subsystemCode>"
    "</x:client>\n"
    "    <x:service i:objectType=\"SERVICE\"><i:xRoadInstance>FI-TEST"
    "</i:xRoadInstance><i:memberClass>GOV</i:memberClass><i:memberCode>"
    "0245437-2</i:memberCode><i:subsystemCode>VTJkysely</i:subsystemCode>"
    "<i:serviceCode>HenkilonTunnusKysely</i:serviceCode><i:serviceVersion>"
    "v1</i:serviceVersion></x:service>\n"
    "    <x:userId>u1</x:userId>\n"
    "  </s:Header>\n"
    "  <s:Body><v:HenkilonTunnusKysely><v:request>"
    "<v:SoSoNimi>%s</v:SoSoNimi>"
    "<v:Kayttajatunnus>user</v:Kayttajatunnus>"
    "<v:Salasana>%s</v:Salasana>"
    "%s"
    "<v:Henkilotunnus>%s</v:Henkilotunnus>"
    "</v:request></v:HenkilonTunnusKysely></s:Body>\n"
    "</s:Envelope>\n";

/* Answer one request through the response envelope and the VTJ service. */
static char *vtj_exchange(const char *product, const char *password,
                          const char *enduser, const char *hetu,
                          const struct sim_echo *echo, char *outcome,
                          size_t outsize, char *hash, size_t hashsize)
{
    char xml[4096], loppu[160] = "";
    struct xr_request *req = NULL;
    struct sim_vtj *vtj = NULL;
    struct xr_error err;
    xmlDocPtr doc = NULL;
    xmlNodePtr body = NULL;
    uint8_t *out = NULL;
    size_t len = 0;
    char why[200];

    if (enduser)
        snprintf(loppu, sizeof(loppu), "<v:Loppukayttaja>%s</v:Loppukayttaja>",
                 enduser);
    snprintf(xml, sizeof(xml), request_template, product, password, loppu,
             hetu);
    assert_int_equal(xr_request_parse("text/xml; charset=UTF-8",
                                      (const uint8_t *)xml, strlen(xml), NULL,
                                      &req, &err),
                     XR_OK);
    if (hash)
        xr_request_hash(req, hash, hashsize);
    assert_int_equal(
        sim_vtj_new(NULL, "user", "secret", &vtj, why, sizeof(why)), 0);
    assert_int_equal(sim_soap_response_new(req, echo, &doc, &body), 0);
    assert_int_equal(
        sim_vtj_answer(vtj, xr_request_body(req), body, outcome, outsize), 0);
    assert_int_equal(sim_soap_serialize(doc, &out, &len), 0);
    assert_true(len > 0);
    xmlFreeDoc(doc);
    sim_vtj_free(vtj);
    xr_request_free(req);
    return (char *)out;
}

static void test_fault_names(void **state)
{
    static const char *const good[] = {"none",
                                       "latency:250",
                                       "stall",
                                       "drop",
                                       "truncate",
                                       "garbage",
                                       "oversize",
                                       "bad_request_hash",
                                       "no_request_hash",
                                       "alter_header:userId",
                                       "alter_header:client",
                                       "http500_fault",
                                       "slow_drip",
                                       "slow_drip:2048",
                                       "fault:Server.ServerProxy.AccessDenied",
                                       "fault:client.invalid_body"};
    static const char *const bad[] = {"",
                                      "nonsense",
                                      "latency",
                                      "latency:x",
                                      "latency:-1",
                                      "latency:600001",
                                      "stall:1",
                                      "alter_header",
                                      "alter_header:protocolVersion",
                                      "fault:",
                                      "fault:a b",
                                      "fault:<x>",
                                      "slow_drip:0",
                                      "drop:",
                                      "slow_drip:abc"};
    struct sim_fault f;
    char why[160], back[200];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(sim_fault_parse(good[i], &f, why, sizeof(why)), 0);
        sim_fault_format(&f, back, sizeof(back));
        assert_string_equal(back, good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(sim_fault_parse(bad[i], &f, why, sizeof(why)), -1);
        assert_true(why[0] != '\0');
    }
    assert_int_equal(sim_fault_parse("latency:1500", &f, why, sizeof(why)), 0);
    assert_int_equal(f.kind, SIM_FAULT_LATENCY);
    assert_int_equal(f.latency_ms, 1500);
    assert_int_equal(sim_fault_parse("slow_drip", &f, why, sizeof(why)), 0);
    assert_int_equal(f.drip_bps, SIM_DRIP_BPS_DEFAULT);
}

static void test_code_style(void **state)
{
    static const char *const pairs[][2] = {
        {"Client.InvalidXml", "client.invalid_xml"},
        {"Client.MissingHeaderField", "client.missing_header_field"},
        {"Server.ClientProxy.SslAuthenticationFailed",
         "server.clientproxy.ssl_authentication_failed"},
        {"Server.ServerProxy.ServiceFailed.InternalError",
         "server.serverproxy.service_failed.internal_error"},
        {"Server.ServerProxy.AccessDenied", "server.serverproxy.access_denied"},
        {"client.invalid_body", "client.invalid_body"},
    };
    char out[160];

    (void)state;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        sim_soap_code(SIM_STYLE_SNAKE, pairs[i][0], out, sizeof(out));
        assert_string_equal(out, pairs[i][1]);
        sim_soap_code(SIM_STYLE_CAMEL, pairs[i][0], out, sizeof(out));
        assert_string_equal(out, pairs[i][0]);
    }
    sim_soap_code(SIM_STYLE_SNAKE, "Server.ClientProxy.UnknownMember", out, 8);
    assert_int_equal(strlen(out), 7); /* truncated, terminated */
}

static void test_reason_codes(void **state)
{
    const char *code, *text;

    (void)state;
    sim_soap_reason_code("missing_header", &code, &text);
    assert_string_equal(code, "Client.MissingHeader");
    sim_soap_reason_code("malformed_xml", &code, &text);
    assert_string_equal(code, "Client.InvalidSoap");
    sim_soap_reason_code("inconsistent_headers", &code, &text);
    assert_string_equal(code, "Client.InconsistentHeaders");
    sim_soap_reason_code("something_new", &code, &text);
    assert_string_equal(code, "Server.ClientProxy.InternalError");
    sim_soap_reason_code(NULL, &code, &text);
    assert_string_equal(code, "Server.ClientProxy.InternalError");
}

static void test_fault_body(void **state)
{
    char *xml = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(
        sim_soap_fault("Client.InvalidBody", "a < b & c", &xml, &len), 0);
    assert_int_equal(strlen(xml), len);
    /* Unqualified children, as a real security server sends them. */
    assert_non_null(strstr(xml, "<faultcode>Client.InvalidBody</faultcode>"));
    assert_non_null(strstr(xml, "<faultstring>a &lt; b &amp; c</faultstring>"));
    assert_true(strstr(xml, "<faultactor/>") ||
                strstr(xml, "<faultactor></faultactor>"));
    assert_non_null(strstr(xml, "<detail><faultDetail>"));
    assert_null(strstr(xml, "Header"));
    free(xml);
}

static void test_fingerprint(void **state)
{
    uint8_t fp[32];
    char colon[100], plain[70];

    (void)state;
    for (int i = 0; i < 32; i++) {
        snprintf(colon + i * 3, 4, "%02X:", (unsigned)(i * 7 + 1) & 0xffu);
        snprintf(plain + i * 2, 3, "%02x", (unsigned)(i * 7 + 1) & 0xffu);
    }
    colon[95] = '\0';
    assert_int_equal(sim_tls_parse_fingerprint(colon, fp), 0);
    assert_int_equal(fp[31], (31 * 7 + 1) & 0xff);
    assert_int_equal(sim_tls_parse_fingerprint(plain, fp), 0);
    assert_int_equal(fp[1], 8);
    plain[63] = '\0';
    assert_int_equal(sim_tls_parse_fingerprint(plain, fp), -1);
    assert_int_equal(sim_tls_parse_fingerprint("zz", fp), -1);
    assert_int_equal(sim_tls_parse_fingerprint("", fp), -1);
    colon[94] = 'g';
    assert_int_equal(sim_tls_parse_fingerprint(colon, fp), -1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_conf(void **state)
{
    char dir[] = "/tmp/test_sim.XXXXXX";
    char path[256], why[512];
    struct sim_conf *conf = malloc(sizeof(*conf));

    (void)state;
    assert_non_null(conf);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sim.conf", dir);
    write_file(path, "[sim]\nhttps_port = 0\nerror_style = snake\n"
                     "cert = sim.pem\n\n"
                     "[client.a]\nid = SUBSYSTEM:FI-TEST/MUN/1-1/a\n"
                     "connection = NOSSL\n\n"
                     "[service.v]\nid = SERVICE:FI-TEST/GOV/2-2/S/Code/v1\n"
                     "allow = SUBSYSTEM:FI-TEST/MUN/1-1/a\n\n"
                     "[vtj]\nusername = u\npassword = p\n");
    assert_int_equal(sim_conf_load(conf, path, why, sizeof(why)), 0);
    assert_int_equal(conf->https_port, 0);
    assert_int_equal(conf->style, SIM_STYLE_SNAKE);
    assert_int_equal(conf->nclients, 1);
    assert_int_equal(conf->clients[0].conntype, SIM_CONN_NOSSL);
    assert_int_equal(conf->services[0].nallow, 1);
    assert_string_equal(conf->vtj_password, "p");
    assert_non_null(strstr(conf->cert_file, dir)); /* relative to the file */
    sim_conf_cleanup(conf);

    write_file(path, "[sim]\nhttps_port = 0\n\n[client.a]\nconnection = "
                     "MAYBE\n");
    assert_int_equal(sim_conf_load(conf, path, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "sim.conf:5: client.a.connection:"));

    write_file(path, "[sim]\nbogus = 1\n");
    assert_int_equal(sim_conf_load(conf, path, why, sizeof(why)), -1);
    assert_non_null(strstr(why, ":2: sim.bogus: unknown key"));

    write_file(path, "[client.a]\nconnection = NOSSL\n");
    assert_int_equal(sim_conf_load(conf, path, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "id is missing"));

    unlink(path);
    rmdir(dir);
    free(conf);
}

static void test_response_echo(void **state)
{
    struct sim_echo echo = {.hash = SIM_HASH_OK};
    char outcome[64], hash[XR_HASH_B64_MAX + 1], want[256];
    char *xml, *id, *rh;

    (void)state;
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "150380-903V", &echo,
                       outcome, sizeof(outcome), hash, sizeof(hash));
    assert_string_equal(outcome, "Paluukoodi 0000");
    snprintf(want, sizeof(want),
             "<x:requestHash algorithmId=\"" XR_HASH_ALGO_URI "\">%s"
             "</x:requestHash>",
             hash);
    id = strstr(xml, "<x:id>test-id-1</x:id>");
    rh = strstr(xml, want);
    assert_non_null(id);
    assert_non_null(rh);
    /* Right after id, with the same indentation. */
    assert_ptr_equal(rh, id + strlen("<x:id>test-id-1</x:id>\n    "));
    /* Header otherwise as received, in the received order. */
    assert_true(strstr(xml, "<x:protocolVersion>") < id);
    assert_true(strstr(xml, "<x:userId>u1</x:userId>") > rh);
    assert_non_null(strstr(xml, "<Salasana/>"));
    assert_null(strstr(xml, "secret"));
    free(xml);

    echo.hash = SIM_HASH_NONE;
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "150380-903V", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_null(strstr(xml, "requestHash"));
    free(xml);

    echo.hash = SIM_HASH_WRONG;
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "150380-903V", &echo,
                       outcome, sizeof(outcome), hash, sizeof(hash));
    assert_non_null(strstr(xml, "requestHash"));
    assert_null(strstr(xml, hash));
    free(xml);

    echo.hash = SIM_HASH_OK;
    snprintf(echo.alter_field, sizeof(echo.alter_field), "issue");
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "150380-903V", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_non_null(strstr(xml, "<x:issue>added-by-vayla-sim</x:issue>"));
    free(xml);

    snprintf(echo.alter_field, sizeof(echo.alter_field), "id");
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "150380-903V", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_non_null(strstr(xml, "<x:id>test-id-1-altered</x:id>"));
    free(xml);
}

static void test_vtj_answers(void **state)
{
    struct sim_echo echo = {.hash = SIM_HASH_OK};
    char outcome[64];
    char *xml;

    (void)state;
    xml = vtj_exchange("PERUSSANOMA 3", "wrong", "u1", "150380-903V", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "faultCode -1500");
    assert_null(strstr(xml, "Testinen"));
    free(xml);

    xml = vtj_exchange("PERUSSANOMA 3", "secret", NULL, "150380-903V", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "faultCode -1904");
    free(xml);

    xml = vtj_exchange("PERUSSANOMA 3", "secret",
                       "123456789012345678901234567890123456789012345678901",
                       "150380-903V", &echo, outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "faultCode -1902");
    free(xml);

    xml = vtj_exchange("Ei tuote", "secret", "u1", "150380-903V", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "faultCode -1901");
    free(xml);

    xml = vtj_exchange("perussanoma 3", "secret", "u1", "010100-999N", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "faultCode 0001");
    assert_non_null(strstr(xml, "<faultCode>0001</faultCode>"));
    free(xml);

    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "150380-903X", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "Paluukoodi 0005");
    free(xml);

    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "111070-905D", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "Paluukoodi 0002");
    assert_non_null(
        strstr(xml, "<Henkilotunnus voimassaolokoodi=\"1\">111070-917T<"));
    free(xml);

    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "260991-999R", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_non_null(strstr(xml, "<TurvakieltoTieto>1</TurvakieltoTieto>"));
    assert_null(strstr(xml, "Salainen"));
    assert_null(strstr(xml, "Tampere"));
    free(xml);

    xml = vtj_exchange("PERUSSANOMA 1", "secret", "u1", "260991-999R", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_null(strstr(xml, "Turvakielto"));
    free(xml);

    xml = vtj_exchange("HUOLTAJA-HUOLLETTAVAT", "secret", "u1", "220585-912K",
                       &echo, outcome, sizeof(outcome), NULL, 0);
    assert_non_null(strstr(xml, "<Henkilotunnus>130516A926D</Henkilotunnus>"));
    assert_non_null(strstr(xml, "<Syntymaaika>20190904</Syntymaaika>"));
    free(xml);

    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "130516A926D", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "Paluukoodi 0018");
    free(xml);
}

static void test_dataset_rules(void **state)
{
    char dir[] = "/tmp/test_sim.XXXXXX";
    char path[256], why[256];
    struct sim_vtj *vtj = NULL;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/p.json", dir);
    /* 131052-308T: valid check character, but not a 9xx test hetu. */
    write_file(path, "{\"persons\": [{\"hetu\": \"131052-308T\"}]}");
    assert_int_equal(sim_vtj_new(path, "u", "p", &vtj, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "9xx"));
    write_file(path, "{\"persons\": [{\"hetu\": \"150380-903W\"}]}");
    assert_int_equal(sim_vtj_new(path, "u", "p", &vtj, why, sizeof(why)), -1);
    write_file(path, "{\"persons\": [{\"hetu\": \"150380-903V\"}], "
                     "\"persons\": []}");
    assert_int_equal(sim_vtj_new(path, "u", "p", &vtj, why, sizeof(why)), -1);
    write_file(path, "{\"persons\": [{\"hetu\": \"150380-903V\"}]}");
    assert_int_equal(sim_vtj_new(path, "u", "p", &vtj, why, sizeof(why)), 0);
    assert_int_equal(sim_vtj_person_count(vtj), 1);
    sim_vtj_free(vtj);
    assert_int_equal(sim_vtj_new(NULL, "u", "p", &vtj, why, sizeof(why)), 0);
    assert_int_equal(sim_vtj_person_count(vtj), 8);
    sim_vtj_free(vtj);
    unlink(path);
    rmdir(dir);
}

/* True when dir has an entry PREFIX + 8 hex digits + SUFFIX. */
static bool dir_has(const char *dir, const char *prefix, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t pl = strlen(prefix), sl = strlen(suffix);
    bool found = false;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL && !found) {
        size_t n = strlen(e->d_name);
        if (n != pl + 8 + sl || strncmp(e->d_name, prefix, pl) != 0 ||
            strcmp(e->d_name + pl + 8, suffix) != 0)
            continue;
        found = strspn(e->d_name + pl, "0123456789abcdef") >= 8;
    }
    closedir(d);
    return found;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

static void test_msglog(void **state)
{
    char dir[] = "/tmp/test_sim.XXXXXX";
    char logdir[256], path[300], why[256];
    struct sim_msglog *log = NULL;
    const uint8_t *b;
    size_t len;
    char *json;
    struct stat st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(logdir, sizeof(logdir), "%s/log", dir);
    assert_int_equal(sim_msglog_new(logdir, &log, why, sizeof(why)), 0);
    sim_msglog_add(log, "../../x y", (const uint8_t *)"REQ", 3,
                   (const uint8_t *)"RESP", 4, "ok");
    sim_msglog_add(log, NULL, (const uint8_t *)"?", 1, NULL, 0, "bad");
    b = sim_msglog_bytes(log, "../../x y", true, &len);
    assert_non_null(b);
    assert_int_equal(len, 4);
    assert_memory_equal(b, "RESP", 4);
    assert_null(sim_msglog_bytes(log, "nope", false, &len));
    json = sim_msglog_list_json(log);
    assert_non_null(strstr(json, "\"id\": \"../../x y\""));
    assert_non_null(strstr(json, "\"id\": \"unparsed-")); /* no id */
    free(json);
    assert_null(sim_msglog_entry_json(log, "nope"));

    /* Nothing outside the log directory; a sanitised name inside it. */
    snprintf(path, sizeof(path), "%s/x y", dir);
    assert_int_not_equal(stat(path, &st), 0);
    assert_true(dir_has(logdir, "_._.._x_y-", ".request.xml"));
    assert_true(dir_has(logdir, "_._.._x_y-", ".meta.json"));
    sim_msglog_free(log);
    remove_tree(logdir);
    rmdir(dir);
}

static int setup(void **state)
{
    struct xr_error err;

    (void)state;
    return xr_global_init(&err) == XR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    xr_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_names),
        cmocka_unit_test(test_code_style),
        cmocka_unit_test(test_reason_codes),
        cmocka_unit_test(test_fault_body),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_conf),
        cmocka_unit_test(test_response_echo),
        cmocka_unit_test(test_vtj_answers),
        cmocka_unit_test(test_dataset_rules),
        cmocka_unit_test(test_msglog),
    };

    return cmocka_run_group_tests_name("sim", tests, setup, teardown);
}

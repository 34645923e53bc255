/*
 * Unit tests for vayla-sim's modules (tests/sim): fault-injection names,
 * fault-code spelling, fingerprints, sim.conf errors, the response
 * envelope (echo + requestHash, whatever namespace declarations the
 * request used; DVV's header shape), X-Road's refusals and their texts,
 * the VTJ service with every dataset shape, and the message log.
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
    "%s"
    "</v:request></v:HenkilonTunnusKysely></s:Body>\n"
    "</s:Envelope>\n";

/*
 * Answer one request (any bytes) through the response envelope and the
 * VTJ service; the answer must be judged ok by libxroad's response check
 * (well-formed, header echoed, requestHash right) unless the echo was
 * altered on purpose.
 */
static char *answer_raw(const char *xml, const struct sim_echo *echo,
                        char *outcome, size_t outsize, char *hash,
                        size_t hashsize)
{
    struct xr_request *req = NULL;
    struct xr_response *resp = NULL;
    struct sim_vtj *vtj = NULL;
    struct xr_error err;
    xmlDocPtr doc = NULL;
    xmlNodePtr body = NULL;
    uint8_t *out = NULL;
    size_t len = 0;
    char why[200];

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
    sim_soap_indent_body(body);
    assert_int_equal(sim_soap_serialize(doc, &out, &len), 0);
    assert_true(len > 0);
    if (echo->hash == SIM_HASH_OK && !echo->alter_field[0]) {
        if (xr_response_check(req, "text/xml; charset=UTF-8", out, len, NULL,
                              &resp, &err) != XR_OK)
            fail_msg("answer refused: %s %s: %s", err.reason, err.field,
                     err.msg);
        xr_response_free(resp);
    }
    xmlFreeDoc(doc);
    sim_vtj_free(vtj);
    xr_request_free(req);
    return (char *)out;
}

/*
 * One HenkilonTunnusKysely from request_template. key is a hetu, or
 * "satu:" and a SATU.
 */
static char *vtj_exchange(const char *product, const char *password,
                          const char *enduser, const char *key,
                          const struct sim_echo *echo, char *outcome,
                          size_t outsize, char *hash, size_t hashsize)
{
    char xml[4096], loppu[600] = "", keyel[160];

    if (enduser)
        snprintf(loppu, sizeof(loppu), "<v:Loppukayttaja>%s</v:Loppukayttaja>",
                 enduser);
    if (!strncmp(key, "satu:", 5))
        snprintf(keyel, sizeof(keyel),
                 "<v:SahkoinenAsiointitunnus>%s</v:SahkoinenAsiointitunnus>",
                 key + 5);
    else
        snprintf(keyel, sizeof(keyel), "<v:Henkilotunnus>%s</v:Henkilotunnus>",
                 key);
    snprintf(xml, sizeof(xml), request_template, product, password, loppu,
             keyel);
    return answer_raw(xml, echo, outcome, outsize, hash, hashsize);
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
                                       "fault:client.invalid_body",
                                       "reorder_header",
                                       "protocol_version_ws",
                                       "dvv_header",
                                       "http_status:203",
                                       "http_status:502",
                                       "http500_garbage"};
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
                                      "slow_drip:abc",
                                      "http_status",
                                      "http_status:200",
                                      "http_status:500",
                                      "http_status:204",
                                      "http_status:304",
                                      "http_status:101",
                                      "http_status:600",
                                      "dvv_header:1",
                                      "http500_garbage:x"};
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
    assert_int_equal(sim_fault_parse("http_status:418", &f, why, sizeof(why)),
                     0);
    assert_int_equal(f.kind, SIM_FAULT_HTTP_STATUS);
    assert_int_equal(f.http_status, 418);
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

    /* With an actor and a detail of its own; non-UTF-8 bytes replaced. */
    assert_int_equal(sim_soap_fault_ex("Client.X", "bad \xff byte", "ACTOR",
                                       "DETAIL", &xml, &len),
                     0);
    assert_non_null(strstr(xml, "<faultactor>ACTOR</faultactor>"));
    assert_non_null(strstr(xml, "<faultDetail>DETAIL</faultDetail>"));
    assert_non_null(strstr(xml, "<faultstring>bad ? byte</faultstring>"));
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

/* The X-Road header element `name` of a serialised answer, or NULL. */
static xmlNodePtr header_elem(xmlDocPtr doc, const char *name)
{
    xmlNodePtr root = xmlDocGetRootElement(doc), h;

    for (h = root ? root->children : NULL; h; h = h->next)
        if (h->type == XML_ELEMENT_NODE && !strcmp(sim_cs(h->name), "Header"))
            break;
    for (xmlNodePtr c = h ? h->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !strcmp(sim_cs(c->name), name))
            return c;
    return NULL;
}

static xmlNodePtr prev_elem(xmlNodePtr n)
{
    for (n = n->prev; n && n->type != XML_ELEMENT_NODE; n = n->prev)
        ;
    return n;
}

/*
 * Parse an answer strictly: well-formed XML with every prefix bound
 * (libxml2 builds a tree even when a prefix is unbound, so the context's
 * nsWellFormed flag is what tells).
 */
static xmlDocPtr parse_strict(const char *xml)
{
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    xmlDocPtr doc;

    assert_non_null(ctxt);
    doc = xmlCtxtReadMemory(ctxt, xml, (int)strlen(xml), NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING);
    assert_non_null(doc);
    assert_true(ctxt->wellFormed);
    assert_true(ctxt->nsWellFormed);
    xmlFreeParserCtxt(ctxt);
    return doc;
}

/* requestHash in the X-Road namespace, right after id, with this value. */
static void assert_request_hash(const char *xml, const char *hash)
{
    xmlDocPtr doc = parse_strict(xml);
    xmlNodePtr rh = header_elem(doc, "requestHash");
    xmlChar *v;

    assert_non_null(rh);
    assert_non_null(rh->ns);
    assert_string_equal(sim_cs(rh->ns->href), XR_NS_XROAD);
    assert_non_null(prev_elem(rh));
    assert_string_equal(sim_cs(prev_elem(rh)->name), "id");
    v = xmlNodeGetContent(rh);
    assert_string_equal(sim_cs(v), hash);
    xmlFree(v);
    xmlFreeDoc(doc);
}

/*
 * Requests whose X-Road namespace is declared on the header elements
 * themselves, as zeep, WCF and other SOAP stacks write them.
 * %s: the id element (and anything after it).
 */
static const char ns_template[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\n"
    "  <s:Header>\n"
    "    <ns0:client xmlns:ns0=\"http://x-road.eu/xsd/xroad.xsd\" "
    "xmlns:ns1=\"http://x-road.eu/xsd/identifiers\" "
    "ns1:objectType=\"SUBSYSTEM\"><ns1:xRoadInstance>FI-TEST"
    "</ns1:xRoadInstance><ns1:memberClass>MUN</ns1:memberClass>"
    "<ns1:memberCode>0101263-6</ns1:memberCode><ns1:subsystemCode>demo"
    "</ns1:subsystemCode></ns0:client>\n"
    "%s\n"
    "    <ns0:protocolVersion xmlns:ns0=\"http://x-road.eu/xsd/xroad.xsd\">"
    "4.0</ns0:protocolVersion>\n"
    "    <ns0:service xmlns:ns0=\"http://x-road.eu/xsd/xroad.xsd\" "
    "xmlns:ns1=\"http://x-road.eu/xsd/identifiers\" "
    "ns1:objectType=\"SERVICE\"><ns1:xRoadInstance>FI-TEST"
    "</ns1:xRoadInstance><ns1:memberClass>GOV</ns1:memberClass>"
    "<ns1:memberCode>0245437-2</ns1:memberCode><ns1:subsystemCode>VTJkysely"
    "</ns1:subsystemCode><ns1:serviceCode>HenkilonTunnusKysely"
    "</ns1:serviceCode><ns1:serviceVersion>v1</ns1:serviceVersion>"
    "</ns0:service>\n"
    "  </s:Header>\n"
    "  <s:Body><v:HenkilonTunnusKysely "
    "xmlns:v=\"http://xml.vrk.fi/ws/vtj/vtjkysely/1\"><v:request>"
    "<v:SoSoNimi>PERUSSANOMA 3</v:SoSoNimi>"
    "<v:Kayttajatunnus>user</v:Kayttajatunnus>"
    "<v:Salasana>secret</v:Salasana>"
    "<v:Loppukayttaja>u1</v:Loppukayttaja>"
    "<v:Henkilotunnus>150380-903V</v:Henkilotunnus>"
    "</v:request></v:HenkilonTunnusKysely></s:Body>\n"
    "</s:Envelope>\n";

static void test_request_hash_namespaces(void **state)
{
    static const char *const ids[] = {
        /* prefix declared on id itself (zeep, many SOAP stacks) */
        "    <ns0:id xmlns:ns0=\"http://x-road.eu/xsd/xroad.xsd\">m-1</ns0:id>",
        /* default namespace declared on id itself */
        "    <id xmlns=\"http://x-road.eu/xsd/xroad.xsd\">m-2</id>",
        /* id declares its own and an unrelated namespace */
        ("    <h:id xmlns:h=\"http://x-road.eu/xsd/xroad.xsd\" "
         "xmlns:o=\"urn:other\">m-3</h:id>"),
    };
    struct sim_echo echo = {.hash = SIM_HASH_OK};
    char xml[4096], outcome[64], hash[XR_HASH_B64_MAX + 1];
    char *answer;
    xmlDocPtr doc;

    (void)state;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        snprintf(xml, sizeof(xml), ns_template, ids[i]);
        answer = answer_raw(xml, &echo, outcome, sizeof(outcome), hash,
                            sizeof(hash));
        assert_string_equal(outcome, "Paluukoodi 0000");
        assert_request_hash(answer, hash);
        free(answer);
    }
    /* The default-namespace case carries its own declaration. */
    snprintf(xml, sizeof(xml), ns_template, ids[1]);
    answer =
        answer_raw(xml, &echo, outcome, sizeof(outcome), hash, sizeof(hash));
    assert_non_null(strstr(answer, "<requestHash xmlns=\"" XR_NS_XROAD "\""));
    free(answer);

    /* alter_header:userId adds userId after such an id, well-formed too. */
    snprintf(echo.alter_field, sizeof(echo.alter_field), "userId");
    snprintf(xml, sizeof(xml), ns_template, ids[0]);
    answer = answer_raw(xml, &echo, outcome, sizeof(outcome), NULL, 0);
    doc = parse_strict(answer);
    assert_non_null(header_elem(doc, "userId"));
    assert_string_equal(sim_cs(header_elem(doc, "userId")->ns->href),
                        XR_NS_XROAD);
    xmlFreeDoc(doc);
    free(answer);
}

static void test_dvv_header(void **state)
{
    static const char *const order[] = {
        "client",          "id",      "requestHash", "issue",
        "protocolVersion", "service", "userId"};
    struct sim_echo echo = {.hash = SIM_HASH_OK, .reorder = true};
    char xml[4096], outcome[64], hash[XR_HASH_B64_MAX + 1];
    char *answer;
    xmlDocPtr doc;
    xmlNodePtr n;
    size_t i = 0;

    (void)state;
    /* The template has protocolVersion, id, client, service, userId. */
    snprintf(xml, sizeof(xml), request_template, "PERUSSANOMA 3", "secret",
             "<v:Loppukayttaja>u1</v:Loppukayttaja>",
             "<v:Henkilotunnus>150380-903V</v:Henkilotunnus>");
    /* An issue too, so that all six WSDL header fields are there. */
    {
        char *at = strstr(xml, "    <x:userId>");
        char tail[4096];
        assert_non_null(at);
        snprintf(tail, sizeof(tail), "%s", at);
        snprintf(at, sizeof(xml) - (size_t)(at - xml),
                 "    <x:issue>case 1</x:issue>\n%s", tail);
    }
    echo.version_ws = true;
    answer =
        answer_raw(xml, &echo, outcome, sizeof(outcome), hash, sizeof(hash));
    assert_request_hash(answer, hash);
    doc = parse_strict(answer);
    n = header_elem(doc, "client");
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        assert_true(i < sizeof(order) / sizeof(order[0]));
        assert_string_equal(sim_cs(n->name), order[i]);
        /* Each element declares its namespace itself, WCF style. */
        assert_non_null(n->nsDef);
        assert_string_equal(sim_cs(n->ns->prefix), "h");
        i++;
    }
    assert_int_equal(i, sizeof(order) / sizeof(order[0]));
    xmlFreeDoc(doc);
    assert_non_null(strstr(answer, ">4.0\n    </h:protocolVersion>"));
    assert_non_null(strstr(answer, "<a:xRoadInstance>FI-TEST<"));
    assert_non_null(strstr(answer, "a:objectType=\"SUBSYSTEM\""));
    free(answer);

    /* protocolVersion whitespace alone keeps the received order. */
    echo.reorder = false;
    answer =
        answer_raw(xml, &echo, outcome, sizeof(outcome), hash, sizeof(hash));
    assert_non_null(strstr(answer, "<x:protocolVersion>4.0\n    "
                                   "</x:protocolVersion>\n    <x:id>"));
    free(answer);
}

/* The refusal for a request; err comes from xr_request_parse(). */
static void refuse(enum sim_style style, const char *ctype, const char *xml,
                   struct sim_refusal *r)
{
    struct xr_request *req = NULL;
    struct xr_error err;

    assert_int_not_equal(xr_request_parse(ctype, (const uint8_t *)xml,
                                          strlen(xml), NULL, &req, &err),
                         XR_OK);
    sim_soap_refusal(style, ctype, (const uint8_t *)xml, strlen(xml), NULL,
                     &err, r);
}

static void test_refusals(void **state)
{
    /* X-Road's fault.query (vectors/xroad/soap/faults), as a request. */
    static const char fault_query[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<SOAP-ENV:Envelope "
        "xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns:xroad=\"http://x-road.eu/xsd/xroad.xsd\"><SOAP-ENV:Body>"
        "<SOAP-ENV:Fault><faultcode>CODE</faultcode>"
        "<faultstring>STRING</faultstring><faultactor>ACTOR</faultactor>"
        "<detail><xroad:faultDetail>DETAIL</xroad:faultDetail></detail>"
        "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>\n";
    struct sim_refusal *r = malloc(sizeof(*r));
    char xml[4096], *body;
    size_t len;

    (void)state;
    assert_non_null(r);
    refuse(SIM_STYLE_CAMEL, "text/xml", fault_query, r);
    assert_true(r->from_fault);
    assert_string_equal(r->code, "Client.CODE");
    assert_string_equal(r->string, "STRING");
    assert_string_equal(r->actor, "ACTOR");
    assert_string_equal(r->detail, "DETAIL");
    assert_int_equal(
        sim_soap_fault_ex(r->code, r->string, r->actor, r->detail, &body, &len),
        0);
    assert_non_null(strstr(body, "<faultcode>Client.CODE</faultcode>"));
    assert_non_null(strstr(body, "<faultactor>ACTOR</faultactor>"));
    assert_non_null(strstr(body, "<faultDetail>DETAIL</faultDetail>"));
    free(body);
    refuse(SIM_STYLE_SNAKE, "text/xml", fault_query, r);
    assert_string_equal(r->code, "client.CODE");

    /* X-Road's own texts, with the field or value filled in. */
    snprintf(xml, sizeof(xml), request_template, "P", "s", "", "");
    {
        char copy[4096];
        char *at;

        snprintf(copy, sizeof(copy), "%s", xml);
        at = strstr(copy, "<x:protocolVersion>4.0");
        memcpy(at + strlen("<x:protocolVersion>"), "3.5", 3);
        refuse(SIM_STYLE_CAMEL, "text/xml", copy, r);
        assert_false(r->from_fault);
        assert_string_equal(r->code, "Client.InvalidProtocolVersion");
        assert_string_equal(
            r->string,
            "Invalid protocol version (supported: 4.x, provided: 3.5)");

        snprintf(copy, sizeof(copy), "%s", xml);
        at = strstr(copy, "    <x:id>test-id-1</x:id>\n");
        memmove(at, at + strlen("    <x:id>test-id-1</x:id>\n"),
                strlen(at + strlen("    <x:id>test-id-1</x:id>\n")) + 1);
        refuse(SIM_STYLE_CAMEL, "text/xml", copy, r);
        assert_string_equal(r->code, "Client.MissingHeaderField");
        assert_string_equal(r->string, "Required field 'id' is missing");

        snprintf(copy, sizeof(copy), "%s", xml);
        at = strstr(copy, "<x:userId>");
        memcpy(at, "<x:issue> ", 10);
        memcpy(strstr(at, "</x:userId>"), "</x:issue> ", 11);
        at = strstr(copy, "<x:id>");
        {
            char tail[4096];
            snprintf(tail, sizeof(tail), "%s", at);
            snprintf(at, sizeof(copy) - (size_t)(at - copy),
                     "<x:issue>a</x:issue>%s", tail);
        }
        refuse(SIM_STYLE_CAMEL, "text/xml", copy, r);
        assert_string_equal(r->code, "Client.DuplicateHeaderField");
        assert_string_equal(r->string,
                            "SOAP header contains duplicate field "
                            "'{http://x-road.eu/xsd/xroad.xsd}issue'");
    }
    refuse(SIM_STYLE_CAMEL, "application/json", xml, r);
    assert_string_equal(r->code, "Client.InvalidContentType");
    assert_string_equal(r->string, "Invalid content type: application/json");
    refuse(SIM_STYLE_CAMEL, "text/xml", "<a>", r);
    assert_string_equal(r->code, "Client.InvalidSoap");
    assert_non_null(strstr(r->string, "org.xml.sax.SAXParseException; "
                                      "lineNumber: "));
    refuse(SIM_STYLE_CAMEL, "text/xml", "<a/>", r);
    assert_string_equal(r->string, "Malformed SOAP message: envelope missing");
    refuse(SIM_STYLE_CAMEL, "text/xml",
           "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
           "<s:Body><x/></s:Body></s:Envelope>",
           r);
    assert_string_equal(r->code, "Client.MissingHeader");
    assert_string_equal(r->string, "Malformed SOAP message: header missing");
    free(r);
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

/* 50 copies of a two-byte character (and one more). */
static void umlauts(char *out, size_t size, int n)
{
    size_t o = 0;

    for (int i = 0; i < n && o + 3 < size; i++) {
        out[o++] = '\xc3'; /* U+00E4 */
        out[o++] = '\xa4';
    }
    out[o] = '\0';
}

static void test_vtj_shapes(void **state)
{
    struct sim_echo echo = {.hash = SIM_HASH_OK};
    char outcome[64], user[256];
    char *xml;

    (void)state;
    /* Loppukayttaja: 50 characters are fine in any script (100 bytes). */
    umlauts(user, sizeof(user), 50);
    xml = vtj_exchange("PERUSSANOMA 3", "secret", user, "150380-903V", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "Paluukoodi 0000");
    free(xml);
    umlauts(user, sizeof(user), 51);
    xml = vtj_exchange("PERUSSANOMA 3", "secret", user, "150380-903V", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "faultCode -1902");
    free(xml);

    /* SATU: found, not found, invalid. */
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "satu:89999999S", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "Paluukoodi 0000");
    assert_non_null(strstr(xml, "<SahkoinenAsiointitunnus "
                                "hakuperustePaluukoodi=\"1\""));
    assert_non_null(strstr(xml, ">89999999S</SahkoinenAsiointitunnus>"));
    assert_non_null(strstr(xml, "<Henkilotunnus voimassaolokoodi=\"1\">"
                                "010181-902E</Henkilotunnus>"));
    assert_non_null(strstr(xml, "<Henkilotunnus hakuperustePaluukoodi=\"4\""));
    free(xml);
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "satu:10000001N", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "faultCode 0001");
    free(xml);
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "satu:10000001A", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_string_equal(outcome, "Paluukoodi 0005");
    free(xml);

    /* Forced return codes: the code, the search key result, no person. */
    {
        static const char *const cases[][3] = {
            {"020282-9047", "0001", "0"}, {"030383-9060", "0006", "0"},
            {"040484-908S", "0003", "0"}, {"050585-910J", "0004", "0"},
            {"060686-912A", "0007", "1"},
        };
        char want[128];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", cases[i][0],
                               &echo, outcome, sizeof(outcome), NULL, 0);
            snprintf(want, sizeof(want), "Paluukoodi %s", cases[i][1]);
            assert_string_equal(outcome, want);
            snprintf(want, sizeof(want), "<Paluukoodi koodi=\"%s\">",
                     cases[i][1]);
            assert_non_null(strstr(xml, want));
            snprintf(want, sizeof(want), "hakuperustePaluukoodi=\"%s\"",
                     cases[i][2]);
            assert_non_null(strstr(xml, want));
            assert_null(strstr(xml, "<Henkilo>"));
            free(xml);
        }
    }

    /* The dwelling id keeps its trailing space. */
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "070787-9143", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_non_null(
        strstr(xml, "<Asuinpaikantunnus>99912345678B012 </Asuinpaikantunnus>"));
    free(xml);

    /* Turvakielto shapes. */
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "080888-916V", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_non_null(strstr(xml, "<Turvakielto>"));
    assert_non_null(strstr(xml, "<TurvakieltoTieto/>"));
    free(xml);
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "090989-918M", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_non_null(strstr(xml, "<Turvakielto>"));
    assert_null(strstr(xml, "TurvakieltoTieto"));
    free(xml);
    /* A protected person whose address DVV includes. */
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "101090-920D", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_non_null(strstr(xml, "<TurvakieltoTieto>1</TurvakieltoTieto>"));
    assert_non_null(strstr(xml, "<LahiosoiteS>Piilokuja 5</LahiosoiteS>"));
    assert_non_null(strstr(xml, "<Kuntanumero>398</Kuntanumero>"));
    assert_non_null(strstr(xml, ">99987654321C034</Asuinpaikantunnus>"));
    free(xml);
    /* The ordinary protected person still has them blank. */
    xml = vtj_exchange("PERUSSANOMA 3", "secret", "u1", "260991-999R", &echo,
                       outcome, sizeof(outcome), NULL, 0);
    assert_non_null(strstr(xml, "<Asuinpaikantunnus/>"));
    assert_non_null(strstr(xml, "<Kuntanumero/>"));
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
    /* SATU from the top of the range only; known forced codes only. */
    write_file(path, "{\"persons\": [{\"hetu\": \"150380-903V\", "
                     "\"satu\": \"10000001N\"}]}");
    assert_int_equal(sim_vtj_new(path, "u", "p", &vtj, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "satu"));
    write_file(path, "{\"persons\": [{\"hetu\": \"150380-903V\", "
                     "\"satu\": \"89999999T\"}]}");
    assert_int_equal(sim_vtj_new(path, "u", "p", &vtj, why, sizeof(why)), -1);
    write_file(path, "{\"persons\": [{\"hetu\": \"150380-903V\", "
                     "\"paluukoodi\": \"0000\"}]}");
    assert_int_equal(sim_vtj_new(path, "u", "p", &vtj, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "paluukoodi"));
    write_file(path, "{\"persons\": [{\"hetu\": \"150380-903V\", "
                     "\"turvakielto_tieto\": 1}]}");
    assert_int_equal(sim_vtj_new(path, "u", "p", &vtj, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "turvakielto_tieto"));
    assert_int_equal(sim_vtj_new(NULL, "u", "p", &vtj, why, sizeof(why)), 0);
    assert_int_equal(sim_vtj_person_count(vtj), 18);
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
        cmocka_unit_test(test_request_hash_namespaces),
        cmocka_unit_test(test_dvv_header),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_vtj_answers),
        cmocka_unit_test(test_vtj_shapes),
        cmocka_unit_test(test_dataset_rules),
        cmocka_unit_test(test_msglog),
    };

    return cmocka_run_group_tests_name("sim", tests, setup, teardown);
}

/*
 * The simulator's metaservices, echo service and operational monitoring
 * (tests/sim/sim_meta.c, sim_echo.c, sim_opmon.c, sim_mime.c) on their
 * own: sim.conf's new keys and their errors, listClients read back with
 * libxroad's own reader, the WSDL address rewrite, multipart answers read
 * back with libxroad, the echo's copy and requested fault, and
 * operational data: ring eviction, visibility, outputSpec and refusals,
 * the gzip'd records read back with libxroad.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "sim.h"

#define DEMO   "SUBSYSTEM:FI-TEST/MUN/0101263-6/vayla-demo"
#define OWNER  "MEMBER:FI-TEST/MUN/0101263-6"
#define SERVER "SERVER:FI-TEST/MUN/0101263-6/ss1"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Load `text` as sim.conf in a fresh directory; *why on failure. */
static int load(struct sim_conf *conf, const char *text, char *why, size_t size)
{
    char dir[] = "/tmp/test_sim_meta.XXXXXX", path[256];
    int rc;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sim.conf", dir);
    write_file(path, text);
    rc = sim_conf_load(conf, path, why, size);
    unlink(path);
    rmdir(dir);
    return rc;
}

static const char conf_text[] =
    "[sim]\nsecurity_server = " SERVER "\nopmon_offset_seconds = 0\n"
    "opmon_max_records = 3\nopmon_keep = 5\n\n"
    "[client.demo]\nid = " DEMO "\nconnection = NOSSL\n\n"
    "[service.echo]\ntype = echo\n"
    "id = SERVICE:FI-TEST/GOV/0245437-2/vayla-echo/echo/v1\n"
    "allow = " DEMO "\n\n"
    "[service.admin]\ntype = echo\n"
    "id = SERVICE:FI-TEST/GOV/0245437-2/vayla-echo/admin/v1\n\n"
    "[member.dvv]\nid = MEMBER:FI-TEST/GOV/0245437-2\nname = DVV\n\n"
    "[member.echo]\nid = SUBSYSTEM:FI-TEST/GOV/0245437-2/vayla-echo\n"
    "subsystem_name = Echo\n";

static void test_conf_keys(void **state)
{
    struct sim_conf *conf = malloc(sizeof(*conf));
    char why[512];
    (void)state;

    assert_non_null(conf);
    assert_int_equal(load(conf, conf_text, why, sizeof(why)), 0);
    assert_true(conf->has_security_server);
    assert_string_equal(conf->security_server.server_code, "ss1");
    assert_int_equal(conf->opmon_offset_s, 0);
    assert_int_equal(conf->opmon_max_records, 3);
    assert_int_equal(conf->opmon_keep, 5);
    assert_int_equal(conf->services[0].kind, SIM_SERVICE_ECHO);
    assert_int_equal(conf->nmembers, 2);
    assert_string_equal(conf->members[0].display_name, "DVV");
    assert_string_equal(conf->members[1].subsystem_name, "Echo");
    sim_conf_cleanup(conf);

    /* The defaults are X-Road's. */
    assert_int_equal(load(conf, "[sim]\n", why, sizeof(why)), 0);
    assert_int_equal(conf->opmon_offset_s, 60);
    assert_int_equal(conf->opmon_max_records, 10000);
    assert_false(conf->has_security_server);

    static const struct {
        const char *text, *why;
    } bad[] = {
        {"[service.x]\ntype = rest\n", "service.x.type: must be vtj or echo"},
        {"[sim]\nsecurity_server = " DEMO "\n", "sim.security_server:"},
        {"[sim]\nopmon_offset_seconds = -1\n", "must be 0..86400"},
        {"[sim]\nopmon_max_records = 0\n", "must be 1..1000000"},
        {"[member.m]\nname = x\n", "[member.m]: id is missing"},
        {"[member.m]\nid = " DEMO "\ncolour = red\n", "unknown key"},
        {"[member.m]\nid = SERVICE:A/B/C/D/E\n", "member.m.id:"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(load(conf, bad[i].text, why, sizeof(why)), -1);
        if (!strstr(why, bad[i].why))
            fail_msg("case %zu: '%s' lacks '%s'", i, why, bad[i].why);
    }
    free(conf);
}

/* ---- listClients --------------------------------------------------------- */

static void test_list_clients(void **state)
{
    struct sim_conf *conf = malloc(sizeof(*conf));
    struct xr_client_list *l = NULL;
    struct xr_error err;
    char why[512], *out = NULL;
    size_t len = 0;
    (void)state;

    assert_int_equal(load(conf, conf_text, why, sizeof(why)), 0);
    for (int json = 0; json < 2; json++) {
        assert_int_equal(sim_meta_list_clients(conf, NULL, json, &out, &len),
                         0);
        /* What the simulator writes, libxroad reads. */
        assert_int_equal(
            xr_client_list_parse(json ? "application/json" : "text/xml",
                                 (const uint8_t *)out, len, NULL, &l, &err),
            XR_OK);
        /* Two members, the provider subsystem, the client subsystem and
         * its member, each once. */
        assert_int_equal(xr_client_list_count(l), 4);
        const struct xr_client_entry *e = xr_client_list_get(l, 1);
        assert_int_equal(e->type, XR_ID_SUBSYSTEM);
        assert_string_equal(e->subsystem_code, "vayla-echo");
        assert_string_equal(e->name, "DVV"); /* its member's */
        assert_string_equal(e->subsystem_name, "Echo");
        assert_null(xr_client_list_get(l, 3)->name);
        xr_client_list_free(l);
        free(out);
    }
    assert_int_equal(sim_meta_list_clients(conf, "EE", true, &out, &len), 0);
    assert_string_equal(out, "{\"member\":[]}");
    free(out);
    free(conf);
}

/* ---- getWsdl's rewrite ------------------------------------------------------
 */

/* Does needle occur in hay[0..n)? */
static bool contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (!memcmp(hay + i, needle, k))
            return true;
    return false;
}

static void test_wsdl_rewrite(void **state)
{
    static const char in[] =
        "<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" "
        "xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\" "
        "xmlns:s12=\"http://schemas.xmlsoap.org/wsdl/soap12/\" "
        "xmlns:http=\"http://schemas.xmlsoap.org/wsdl/http/\">"
        "<wsdl:service name=\"s\"><wsdl:port name=\"a\" binding=\"b\">"
        "<soap:address location=\"http://10.0.0.1/in\"/></wsdl:port>"
        "<wsdl:port name=\"c\" binding=\"d\"><s12:address "
        "location=\"https://internal:8443/x\"/></wsdl:port>"
        "<wsdl:port name=\"e\" binding=\"f\"><http:address "
        "location=\"http://keep/\"/></wsdl:port></wsdl:service>"
        "</wsdl:definitions>";
    uint8_t *out = NULL;
    size_t len = 0;
    (void)state;

    assert_int_equal(
        sim_meta_wsdl_rewrite((const uint8_t *)in, strlen(in), &out, &len), 0);
    assert_true(contains(
        out, len, "<soap:address location=\"" XR_META_WSDL_LOCATION "\"/>"));
    assert_true(contains(out, len, "<s12:address location=\"http://example"));
    assert_false(contains(out, len, "10.0.0.1"));
    assert_false(contains(out, len, "internal:8443"));
    assert_true(contains(out, len, "http://keep/"));
    free(out);
    assert_int_equal(
        sim_meta_wsdl_rewrite((const uint8_t *)"<a>", 3, &out, &len), -1);
    assert_null(out);
}

/* ---- multipart ---------------------------------------------------------- */

static const char soap_doc[] =
    "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" XR_NS_SOAP11
    "\" xmlns:xrd=\"" XR_NS_XROAD "\" xmlns:id=\"" XR_NS_ID
    "\"><SOAP-ENV:Header>"
    "<xrd:client id:objectType=\"MEMBER\"><id:xRoadInstance>A"
    "</id:xRoadInstance><id:memberClass>B</id:memberClass><id:memberCode>C"
    "</id:memberCode></xrd:client><xrd:service id:objectType=\"SERVICE\">"
    "<id:xRoadInstance>A</id:xRoadInstance><id:memberClass>B"
    "</id:memberClass><id:memberCode>C</id:memberCode><id:serviceCode>x"
    "</id:serviceCode></xrd:service><xrd:id>1</xrd:id>"
    "<xrd:protocolVersion>4.0</xrd:protocolVersion></SOAP-ENV:Header>"
    "<SOAP-ENV:Body><xResponse/></SOAP-ENV:Body></SOAP-ENV:Envelope>";

static void test_mime_build(void **state)
{
    static const uint8_t bin[] = {0, 1, 2, '\r', '\n', '-', '-', 0xff};
    struct sim_part parts[2] = {
        {"text/plain", "a@x", (const uint8_t *)"first", 5},
        {"application/octet-stream", "b@x", bin, sizeof(bin)}};
    struct xr_response *resp = NULL;
    struct xr_error err;
    uint8_t *out = NULL;
    size_t len = 0;
    char ct[256];
    (void)state;

    for (int mtom = 0; mtom < 2; mtom++) {
        assert_int_equal(sim_mime_build((const uint8_t *)soap_doc,
                                        strlen(soap_doc), mtom, parts, 2, &out,
                                        &len, ct, sizeof(ct)),
                         0);
        assert_int_equal(xr_response_parse(ct, out, len, NULL, &resp, &err),
                         XR_OK);
        assert_int_equal(xr_response_part_count(resp), 2);
        assert_string_equal(xr_response_part(resp, 0)->content_id, "a@x");
        assert_int_equal(xr_response_part(resp, 1)->data.len, sizeof(bin));
        assert_memory_equal(xr_response_part(resp, 1)->data.ptr, bin,
                            sizeof(bin));
        assert_int_equal(strstr(ct, "application/xop+xml") != NULL, mtom);
        xr_response_free(resp);
        free(out);
    }
}

/* ---- echo ---------------------------------------------------------------- */

static xmlDocPtr doc_of(const char *xml)
{
    xmlDocPtr d =
        xmlReadMemory(xml, (int)strlen(xml), "t", NULL, XML_PARSE_NONET);
    assert_non_null(d);
    return d;
}

static void test_echo(void **state)
{
    xmlDocPtr req = doc_of("<e:echo xmlns:e=\"urn:e\" e:a=\"1\"><e:x>t"
                           "</e:x></e:echo>");
    xmlDocPtr out = doc_of("<Body/>");
    struct sim_answer *a = calloc(1, sizeof(*a));
    xmlBufferPtr buf = xmlBufferCreate();
    (void)state;

    assert_int_equal(sim_echo_answer(xmlDocGetRootElement(req), "text/xml",
                                     NULL, 0, xmlDocGetRootElement(out), a),
                     0);
    assert_false(a->fault);
    xmlNodeDump(buf, out, xmlDocGetRootElement(out), 0, 0);
    assert_string_equal(sim_cs(xmlBufferContent(buf)),
                        "<Body><e:echoResponse xmlns:e=\"urn:e\" e:a=\"1\">"
                        "<e:x>t</e:x></e:echoResponse></Body>");
    xmlBufferFree(buf);
    xmlFreeDoc(req);
    xmlFreeDoc(out);

    memset(a, 0, sizeof(*a));
    req = doc_of("<e:echo xmlns:e=\"urn:e\"><e:fault string=\"why\"> E.x "
                 "</e:fault></e:echo>");
    out = doc_of("<Body/>");
    assert_int_equal(sim_echo_answer(xmlDocGetRootElement(req), "text/xml",
                                     NULL, 0, xmlDocGetRootElement(out), a),
                     0);
    assert_true(a->fault);
    assert_true(a->fault_verbatim);
    assert_string_equal(a->fault_code, "E.x");
    assert_string_equal(a->fault_text, "why");
    /* A `fault` in another namespace is payload, not a request. */
    xmlFreeDoc(req);
    xmlFreeDoc(out);
    memset(a, 0, sizeof(*a));
    req = doc_of("<e:echo xmlns:e=\"urn:e\"><o:fault xmlns:o=\"urn:o\">x"
                 "</o:fault></e:echo>");
    out = doc_of("<Body/>");
    assert_int_equal(sim_echo_answer(xmlDocGetRootElement(req), "text/xml",
                                     NULL, 0, xmlDocGetRootElement(out), a),
                     0);
    assert_false(a->fault);
    xmlFreeDoc(req);
    xmlFreeDoc(out);
    free(a);
}

/* ---- operational monitoring -----------------------------------------------
 */

static void add(struct sim_opmon *m, const char *client, const char *service,
                const char *id, bool ok)
{
    struct xr_header h;
    struct sim_opmon_exchange x;
    struct xr_error err;

    xr_header_init(&h);
    assert_int_equal(xr_id_parse_client(client, &h.client, &err), XR_OK);
    assert_int_equal(xr_id_parse_service(service, &h.service, &err), XR_OK);
    snprintf(h.id, sizeof(h.id), "%s", id);
    memset(&x, 0, sizeof(x));
    x.hdr = &h;
    x.request_in_ms = 1000;
    x.succeeded = ok;
    x.fault_code = ok ? NULL : "Server.X";
    x.fault_string = "line 1\nline 2";
    x.internal_ip = "127.0.0.1";
    sim_opmon_add(m, &x);
}

/* Ask for operational data as `client` (owner: with the securityServer
 * header); the records read back with libxroad into *out. */
static void ask(struct sim_opmon *m, const struct sim_conf *conf,
                const char *client, bool with_server, const char *spec,
                struct sim_answer *a, struct xr_opmon_result **out)
{
    char body[1024];
    struct xr_header h;
    struct xr_request *req = NULL;
    struct xr_error err;
    xmlDocPtr out_doc = doc_of("<Body/>");
    z_stream z;
    uint8_t *plain = malloc(1u << 20);

    snprintf(body, sizeof(body),
             "<om:getSecurityServerOperationalData xmlns:om=\"" XR_NS_OPMON
             "\"><om:searchCriteria><om:recordsFrom>0</om:recordsFrom>"
             "<om:recordsTo>%lld</om:recordsTo></om:searchCriteria>%s"
             "</om:getSecurityServerOperationalData>",
             (long long)(sim_now_ms() / 1000 + 100), spec);
    xr_header_init(&h);
    assert_int_equal(xr_id_parse_client(client, &h.client, &err), XR_OK);
    assert_int_equal(xr_id_parse_service("FI-TEST/MUN/0101263-6/"
                                         "getSecurityServerOperationalData",
                                         &h.service, &err),
                     XR_OK);
    if (with_server) {
        h.has_security_server = true;
        assert_int_equal(xr_id_parse_server(SERVER, &h.security_server, &err),
                         XR_OK);
    }
    assert_int_equal(
        xr_request_new(&h, (const uint8_t *)body, strlen(body), &req, &err),
        XR_OK);
    memset(a, 0, sizeof(*a));
    *out = NULL;
    assert_int_equal(sim_opmon_answer(m, conf, xr_request_header(req),
                                      xr_request_body(req),
                                      xmlDocGetRootElement(out_doc), a),
                     0);
    if (!a->fault) {
        assert_int_equal(a->nparts, 1);
        assert_string_equal(a->parts[0].content_type, "application/gzip");
        memset(&z, 0, sizeof(z));
        assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
        z.next_in = (Bytef *)(uintptr_t)a->parts[0].data;
        z.avail_in = (uInt)a->parts[0].len;
        z.next_out = plain;
        z.avail_out = 1u << 20;
        assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
        assert_int_equal(
            xr_opmon_records_parse(plain, z.total_out, NULL, out, &err), XR_OK);
        inflateEnd(&z);
    }
    sim_answer_cleanup(a);
    free(plain);
    xmlFreeDoc(out_doc);
    xr_request_free(req);
}

static bool has_id(const struct xr_opmon_result *r, const char *id)
{
    for (size_t i = 0; i < xr_opmon_result_count(r); i++)
        if (!strcmp(xr_opmon_result_get(r, i)->str[XR_OPMON_MESSAGE_ID], id))
            return true;
    return false;
}

static void test_opmon(void **state)
{
    struct sim_conf *conf = malloc(sizeof(*conf));
    struct sim_answer *a = calloc(1, sizeof(*a));
    struct sim_opmon *m = NULL;
    struct xr_opmon_result *r = NULL;
    char why[512];
    (void)state;

    assert_int_equal(load(conf, conf_text, why, sizeof(why)), 0);
    conf->opmon_max_records = 100;
    assert_int_equal(sim_opmon_new(3, &m), 0);
    add(m, DEMO, "FI-TEST/GOV/0245437-2/vayla-echo/echo/v1", "gone", true);
    add(m, DEMO, "FI-TEST/GOV/0245437-2/vayla-echo/echo/v1", "d1", true);
    add(m, "SUBSYSTEM:FI-TEST/MUN/0101263-6/other",
        "FI-TEST/GOV/0245437-2/vayla-echo/echo/v1", "o1", false);
    add(m, "SUBSYSTEM:FI-TEST/X/1/y", "FI-TEST/MUN/0101263-6/vayla-demo/s",
        "to-demo", true);
    /* Three kept: the oldest went. */
    assert_int_equal(sim_opmon_count(m), 3);
    /* Records of this very second are held back (offset 0): wait. */
    sleep(1);

    ask(m, conf, DEMO, false, "", a, &r);
    assert_false(a->fault);
    assert_int_equal(xr_opmon_result_count(r), 2);
    assert_true(has_id(r, "d1"));
    assert_true(has_id(r, "to-demo")); /* as the provider */
    assert_null(
        xr_opmon_result_get(r, 0)->str[XR_OPMON_SECURITY_SERVER_INTERNAL_IP]);
    xr_opmon_result_free(r);

    ask(m, conf, OWNER, true, "", a, &r);
    assert_int_equal(xr_opmon_result_count(r), 3);
    const struct xr_opmon_record *o1 = NULL;
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(xr_opmon_result_get(r, i)->str[XR_OPMON_MESSAGE_ID], "o1"))
            o1 = xr_opmon_result_get(r, i);
    assert_non_null(o1);
    assert_false(o1->succeeded);
    assert_string_equal(o1->str[XR_OPMON_FAULT_CODE], "Server.X");
    assert_string_equal(o1->str[XR_OPMON_FAULT_STRING], "line 1\nline 2");
    assert_string_equal(o1->str[XR_OPMON_SECURITY_SERVER_INTERNAL_IP],
                        "127.0.0.1");
    xr_opmon_result_free(r);

    /* Without the header the owner member is one more client. */
    ask(m, conf, OWNER, false, "", a, &r);
    assert_int_equal(xr_opmon_result_count(r), 0);
    xr_opmon_result_free(r);

    ask(m, conf, DEMO, false,
        "<om:outputSpec><om:outputField>messageId</om:outputField>"
        "</om:outputSpec>",
        a, &r);
    assert_int_equal(xr_opmon_result_get(r, 0)->has_num, 0);
    assert_false(xr_opmon_result_get(r, 0)->has_succeeded);
    xr_opmon_result_free(r);

    ask(m, conf, DEMO, false,
        "<om:outputSpec><om:outputField>hetu</om:outputField>"
        "</om:outputSpec>",
        a, &r);
    assert_true(a->fault);
    assert_string_equal(a->fault_code, "Client.InvalidRequest");
    assert_null(r);
    sim_opmon_free(m);
    free(a);
    free(conf);
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
        cmocka_unit_test(test_conf_keys),
        cmocka_unit_test(test_list_clients),
        cmocka_unit_test(test_wsdl_rewrite),
        cmocka_unit_test(test_mime_build),
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_opmon),
    };

    return cmocka_run_group_tests_name("sim_meta", tests, setup, teardown);
}

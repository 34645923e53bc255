/*
 * The echo service (sim.h): a second, non-VTJ service behind the
 * simulated security server, so that a generic SOAP path can be tested
 * end to end. It answers `<X>` with `<XResponse>` (same namespace) holding
 * copies of X's attributes and children, sends every attachment of the
 * request back (SwA or MTOM, as received), and answers with a SOAP fault
 * when the request carries a `fault` child element.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim.h"

#define FAULT_TEXT_DEFAULT "Fault requested from the echo service"
#define NAME_MAX_BYTES     200

/* The `fault` child of the wrapper (the wrapper's namespace), or NULL. */
static xmlNodePtr fault_child(xmlNodePtr wrapper)
{
    for (xmlNodePtr c = wrapper->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || strcmp(sim_cs(c->name), "fault"))
            continue;
        if ((!c->ns && !wrapper->ns) ||
            (c->ns && wrapper->ns &&
             !strcmp(sim_cs(c->ns->href), sim_cs(wrapper->ns->href))))
            return c;
    }
    return NULL;
}

static int ask_fault(xmlNodePtr f, struct sim_answer *a)
{
    xmlChar *code = xmlNodeGetContent(f);
    xmlChar *text = xmlGetProp(f, sim_xc("string"));
    char clean[160];
    size_t n = 0;

    if (!code) {
        xmlFree(text);
        return -1;
    }
    /* The code as asked, trimmed, printable ASCII only (it becomes a
     * faultcode and a log line). */
    for (const char *p = sim_cs(code); *p && n + 1 < sizeof(clean); p++)
        if (*p > 0x20 && *p < 0x7f)
            clean[n++] = *p;
    clean[n] = '\0';
    sim_answer_fault(a, true, n ? clean : "Server", "%.400s",
                     text ? sim_cs(text) : FAULT_TEXT_DEFAULT);
    snprintf(a->outcome, sizeof(a->outcome), "echo fault %.100s",
             n ? clean : "Server");
    xmlFree(code);
    xmlFree(text);
    return 0;
}

/* MTOM: the request's root part (or the multipart type) is XOP. */
static bool is_mtom(const char *content_type)
{
    return content_type && strstr(content_type, "application/xop+xml");
}

int sim_echo_answer(xmlNodePtr wrapper, const char *content_type,
                    const uint8_t *req, size_t req_len, xmlNodePtr body,
                    struct sim_answer *a)
{
    struct xr_response *parsed = NULL;
    struct xr_error err;
    xmlNodePtr resp, f;
    char name[NAME_MAX_BYTES + 16];

    f = fault_child(wrapper);
    if (f)
        return ask_fault(f, a);
    snprintf(name, sizeof(name), "%.*sResponse", NAME_MAX_BYTES,
             sim_cs(wrapper->name));
    /* A deep copy keeps the payload's namespaces in scope; only the
     * name changes. */
    resp = xmlDocCopyNode(wrapper, body->doc, 1);
    if (!resp)
        return -1;
    xmlNodeSetName(resp, sim_xc(name));
    if (!xmlAddChild(body, resp)) {
        xmlFreeNode(resp);
        return -1;
    }
    snprintf(a->outcome, sizeof(a->outcome), "echo");
    if (!content_type || strncasecmp(content_type, "multipart/", 10) != 0)
        return 0;
    /* The attachments, read back with libxroad's multipart reader. */
    if (xr_response_parse(content_type, req, req_len, NULL, &parsed, &err) !=
        XR_OK) {
        sim_log("echo: cannot read the request's attachments: %s", err.msg);
        return -1;
    }
    a->mtom = is_mtom(content_type);
    for (size_t i = 0; i < xr_response_part_count(parsed); i++) {
        const struct xr_part *p = xr_response_part(parsed, i);
        if (sim_answer_part(a,
                            p->content_type[0] ? p->content_type
                                               : "application/octet-stream",
                            p->content_id, p->data.ptr, p->data.len) != 0) {
            xr_response_free(parsed);
            return -1;
        }
    }
    snprintf(a->outcome, sizeof(a->outcome), "echo with %zu attachment(s)%s",
             a->nparts, a->mtom ? " (MTOM)" : "");
    xr_response_free(parsed);
    return 0;
}

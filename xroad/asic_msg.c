/*
 * message.xml of a container: who must have signed it (X-Road
 * AsicContainerVerifier.getSigner). SOAP first: a request (body wrapper
 * not ending in "Response") is signed by the client, a response by the
 * provider named in `service`. Otherwise REST (RestMessage): a status line
 * first means a response, signed by the provider of X-Road-Service; a
 * method line means a request, signed by X-Road-Client.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "asic.h"
#include "vutil.h"

#define REST_MAX_LINES 256
#define REST_LINE_MAX  (8u * 1024u)

static enum xr_status invalid(struct xr_error *err, const char *what)
{
    return xr_error_set(err, XR_EPROTO, "invalid_message", "",
                        "message.xml is neither an X-Road SOAP nor a REST "
                        "message: %s",
                        what);
}

/* The provider of a service id, as a client id (member or subsystem). */
static void provider_of(const struct xr_id *svc, struct xr_id *out)
{
    memset(out, 0, sizeof(*out));
    out->type = svc->subsystem_code[0] ? XR_ID_SUBSYSTEM : XR_ID_MEMBER;
    memcpy(out->instance, svc->instance, sizeof(out->instance));
    memcpy(out->member_class, svc->member_class, sizeof(out->member_class));
    memcpy(out->member_code, svc->member_code, sizeof(out->member_code));
    memcpy(out->subsystem_code, svc->subsystem_code,
           sizeof(out->subsystem_code));
}

/* No element children and no text but white space. */
static bool is_empty_element(const xmlNode *n)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return false;
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
            c->content) {
            for (const xmlChar *p = c->content; *p; p++)
                if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                    return false;
        }
    }
    return true;
}

/*
 * With message-body-logging=false a security server logs the message
 * rebuilt by its SoapBuilder: the Body holds one empty element in the
 * X-Road namespace named after the serviceCode (+ "Response" for
 * responses). A service's own wrapper is never in that namespace, so an
 * empty request of a real service (say getRandom) is not mistaken for it.
 */
static bool is_blanked_body(const xmlNode *body, const struct xr_id *svc)
{
    const char *name = xr__cs(body->name);
    size_t sl = strlen(svc->service_code);

    if (!body->ns || !body->ns->href ||
        strcmp(xr__cs(body->ns->href), XR_NS_XROAD) != 0)
        return false;
    if (strncmp(name, svc->service_code, sl) != 0 ||
        (name[sl] != '\0' && strcmp(name + sl, "Response") != 0))
        return false;
    return is_empty_element(body);
}

static enum xr_status read_soap(struct xr__vctx *v, xmlDocPtr doc,
                                struct xr_error *err)
{
    struct xr_asic_result *r = v->res;
    struct xr_fault fault;
    struct xr_error body_err, e2;
    xmlNodePtr body = NULL;
    bool has_header = false, is_fault = false;
    size_t nl;
    enum xr_status rc;

    xr_error_clear(&body_err);
    rc = xr__msg_read(doc, true, &r->header, &has_header, &body, &is_fault,
                      &fault, &body_err, &e2);
    if (rc == XR_ENOMEM)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    if (rc != XR_OK)
        return invalid(err, e2.msg);
    if (is_fault || !has_header)
        return invalid(err, "a SOAP fault or a message without header");
    r->has_header = true;
    xr__strlcpy(r->message_id, r->header.id, sizeof(r->message_id));
    if (!body) {
        /* No single wrapper: X-Road's verifier would not read it either. */
        return invalid(err, body_err.msg[0] ? body_err.msg : "no body");
    }
    nl = strlen(xr__cs(body->name));
    if (nl >= 8 && !strcmp(xr__cs(body->name) + nl - 8, "Response")) {
        r->type = XR_ASIC_MSG_RESPONSE;
        provider_of(&r->header.service, &r->signer);
    } else {
        r->type = XR_ASIC_MSG_REQUEST;
        r->signer = r->header.client;
    }
    r->has_signer = true;
    v->body_empty = is_blanked_body(body, &r->header.service);
    return XR_OK;
}

/* Value of header `name` in REST head lines (case-insensitive). */
static bool rest_header(const char *const *lines, size_t n, const char *name,
                        char *out, size_t size)
{
    size_t nl = strlen(name);

    for (size_t i = 2; i < n; i++) {
        const char *l = lines[i];
        const char *val;
        if (strncasecmp(l, name, nl) != 0 || l[nl] != ':')
            continue;
        val = l + nl + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        if (strlen(val) >= size)
            return false;
        xr__strlcpy(out, val, size);
        return true;
    }
    return false;
}

/* Split the head of a REST message into NUL-terminated lines. */
static enum xr_status rest_lines(const uint8_t *p, size_t len, char *buf,
                                 const char **lines, size_t *n,
                                 struct xr_error *err)
{
    size_t o = 0, start = 0;

    *n = 0;
    for (size_t i = 0; i <= len; i++) {
        bool eol = i == len || p[i] == '\n';
        if (!eol) {
            if (p[i] == '\0' || (p[i] < 0x20 && p[i] != '\r' && p[i] != '\t'))
                return invalid(err, "control characters");
            continue;
        }
        {
            size_t e = i;
            if (e > start && p[e - 1] == '\r')
                e--;
            if (e - start > REST_LINE_MAX)
                return invalid(err, "a line is too long");
            if (e == start && *n >= 2)
                break; /* end of the header block */
            if (*n == REST_MAX_LINES)
                return invalid(err, "too many header lines");
            memcpy(buf + o, p + start, e - start);
            buf[o + (e - start)] = '\0';
            lines[(*n)++] = buf + o;
            o += e - start + 1;
        }
        start = i + 1;
    }
    return *n >= 2 ? XR_OK : invalid(err, "too short");
}

static enum xr_status read_rest(struct xr__vctx *v, struct xr_error *err)
{
    struct xr_asic_result *r = v->res;
    const uint8_t *p = v->message->data;
    size_t len = v->message->len;
    const char *lines[REST_MAX_LINES];
    char *buf = NULL, idtext[XR_ID_TEXT_MAX];
    struct xr_id svc;
    size_t n = 0;
    enum xr_status rc;

    if (len == 0)
        return invalid(err, "empty");
    buf = malloc(len + 1);
    if (!buf)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    rc = rest_lines(p, len, buf, lines, &n, err);
    if (rc != XR_OK)
        goto out;
    rest_header(lines, n, "x-road-id", r->message_id, sizeof(r->message_id));
    if (p[0] >= '1' && p[0] <= '9') {
        r->type = XR_ASIC_MSG_RESPONSE;
        if (!rest_header(lines, n, "x-road-service", idtext, sizeof(idtext)) ||
            xr_id_parse_service(idtext, &svc, NULL) != XR_OK) {
            rc = invalid(err, "a REST response without a valid "
                              "X-Road-Service");
            goto out;
        }
        provider_of(&svc, &r->signer);
    } else {
        r->type = XR_ASIC_MSG_REQUEST;
        if (!rest_header(lines, n, "x-road-client", idtext, sizeof(idtext)) ||
            xr_id_parse_client(idtext, &r->signer, NULL) != XR_OK) {
            rc = invalid(err, "a REST request without a valid "
                              "X-Road-Client");
            goto out;
        }
    }
    r->is_rest = true;
    r->has_signer = true;
    /* With body logging off the body (attachment1) is not stored. */
    v->body_empty = !xr__zip_find(&v->zip, "attachment1");
    rc = XR_OK;
out:
    free(buf);
    return rc;
}

enum xr_status xr__asic_read_message(struct xr__vctx *v, struct xr_error *err)
{
    const struct xr__zip_entry *m = v->message;
    xmlDocPtr doc = NULL;
    enum xr_status rc;

    /* Anything that starts like XML is read as SOAP only. */
    size_t i = 0;
    while (i < m->len && (m->data[i] == ' ' || m->data[i] == '\t' ||
                          m->data[i] == '\r' || m->data[i] == '\n'))
        i++;
    if (i < m->len && (m->data[i] == '<' || m->data[i] == 0xef)) {
        rc = xr__xml_parse(m->data, m->len, NULL, &v->opts.xml,
                           XR__XML_READONLY, &doc, err);
        if (rc == XR_OK)
            rc = read_soap(v, doc, err);
        else if (rc != XR_ENOMEM) {
            char why[XR_ERRMSG_MAX] = "not XML";
            if (err)
                xr__strlcpy(why, err->msg, sizeof(why));
            rc = invalid(err, why);
        }
        xmlFreeDoc(doc);
        return rc;
    }
    return read_rest(v, err);
}

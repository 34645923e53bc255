/*
 * libFuzzer target for listClients answers (meta.h). The first byte picks
 * the media type (even: application/json, odd: text/xml); the rest is the
 * body. Properties: a failure has a reason and no list; a success holds
 * at most the cap of entries, each a complete MEMBER or SUBSYSTEM whose
 * parts and names are clean UTF-8 within their lengths, and formats as an
 * identifier.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlstring.h>
#include <xroad/xroad.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 16u

static void clean(const char *s, size_t max, bool empty_ok)
{
    size_t n;

    if (!s)
        return;
    n = strlen(s);
    if (n > max || (!empty_ok && n == 0) || !xmlCheckUTF8((const xmlChar *)s))
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool inited;
    struct xr_meta_limits lim = {1u << 20, CAP};
    struct xr_client_list *l = NULL;
    struct xr_error err;
    enum xr_status st;

    if (!inited) {
        if (xr_global_init(&err) != XR_OK)
            abort();
        inited = true;
    }
    if (size < 1)
        return 0;
    st = xr_client_list_parse(data[0] % 2 ? "text/xml" : "application/json",
                              data + 1, size - 1, &lim, &l, &err);
    if (st != XR_OK) {
        if (!err.reason || !err.msg[0] || l)
            abort();
        return 0;
    }
    if (xr_client_list_count(l) > CAP)
        abort();
    for (size_t i = 0; i < xr_client_list_count(l); i++) {
        const struct xr_client_entry *e = xr_client_list_get(l, i);
        struct xr_id id;
        char text[XR_ID_TEXT_MAX];
        if (e->type != XR_ID_MEMBER && e->type != XR_ID_SUBSYSTEM)
            abort();
        clean(e->instance, XR_ID_PART_MAX, false);
        clean(e->member_class, XR_ID_PART_MAX, false);
        clean(e->member_code, XR_ID_PART_MAX, false);
        clean(e->subsystem_code, XR_ID_PART_MAX, e->type == XR_ID_MEMBER);
        if ((e->type == XR_ID_MEMBER) != (e->subsystem_code[0] == '\0'))
            abort();
        clean(e->name, 1024, true);
        clean(e->subsystem_name, 1024, true);
        if (!xr_client_entry_id(e, &id) ||
            xr_id_format(&id, true, text, sizeof(text)) >= sizeof(text))
            abort();
    }
    xr_client_list_free(l);
    return 0;
}

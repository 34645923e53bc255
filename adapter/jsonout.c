#include <stdio.h>
#include <stdlib.h>

#include "jsonout.h"
#include "jw.h"

json_t *adp_fault_json(const struct xr_fault *f)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    json_object_set_new(o, "code", json_string(f->code));
    json_object_set_new(o, "string", json_string(f->string));
    json_object_set_new(o, "origin",
                        json_string(xr_fault_origin_name(f->origin)));
    if (f->detail[0])
        json_object_set_new(o, "detail", json_string(f->detail));
    if (f->has_actor && f->actor[0])
        json_object_set_new(o, "actor", json_string(f->actor));
    return o;
}

json_t *adp_error_json(const struct xr_error *err)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    json_object_set_new(o, "code",
                        json_string(err->reason && err->reason[0]
                                        ? err->reason
                                        : xr_strerror(err->code)));
    json_object_set_new(o, "message", json_string(err->msg));
    if (err->field[0])
        json_object_set_new(o, "field", json_string(err->field));
    return o;
}

int adp_json_print(json_t *o)
{
    size_t len = 0;
    char *text = adp_json_dump_line(o, &len);
    int rc = text && fwrite(text, 1, len, stdout) == len ? 0 : -1;

    free(text);
    return rc == 0 && fflush(stdout) == 0 ? 0 : -1;
}

char *adp_json_dump_line(const json_t *j, size_t *len)
{
    struct jw w = {NULL, 0, 0, false};

    *len = 0;
    if (!j)
        return NULL;
    jw_json(&w, j);
    return jw_finish_line(&w, len);
}

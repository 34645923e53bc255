/*
 * libFuzzer target for the container reader and everything behind it:
 * the input is a ZIP, verified as one container against a fixed
 * verification configuration (asic_fuzz_conf.h: the public half of the
 * PKI that signed the seeds, so valid seeds pass every check), opened as
 * a zip of containers and loaded as a /verificationconf ZIP. A result must
 * always come back, consistent with the status; nothing may crash, hang
 * or leak.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xroad/xroad.h>

#include "asic_fuzz_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct xr_vconf *vc;

static void init_once(void)
{
    struct xr_error err;

    if (vc)
        return;
    if (xr_global_init(&err) != XR_OK ||
        xr_vconf_load_zip(fuzz_vconf_zip, sizeof(fuzz_vconf_zip), &vc, &err) !=
            XR_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xr_asic_result *r = NULL;
    struct xr_asic_bundle *b = NULL;
    struct xr_vconf *other = NULL;
    struct xr_error err;
    enum xr_status st;

    init_once();
    st = xr_asic_verify(vc, data, size, NULL, NULL, &r, &err);
    if (!r || xr_asic_result_valid(r) != (st == XR_OK) ||
        (st != XR_OK && (!err.reason || !err.reason[0])))
        abort();
    /* What the result hands out must be readable. */
    if (xr_asic_result_message(r).len > 0 &&
        memchr(xr_asic_result_message(r).ptr, 0,
               xr_asic_result_message(r).len + 1) == NULL)
        abort();
    for (size_t i = 0; i < xr_asic_result_warning_count(r); i++)
        if (strlen(xr_asic_result_warning(r, i)) == 0)
            abort();
    xr_asic_result_free(r);
    if (xr_asic_bundle_open(data, size, NULL, &b, &err) == XR_OK) {
        for (size_t i = 0; i < xr_asic_bundle_count(b); i++)
            if (!xr_asic_bundle_name(b, i))
                abort();
        xr_asic_bundle_free(b);
    }
    if (xr_vconf_load_zip(data, size, &other, &err) == XR_OK)
        xr_vconf_free(other);
    return 0;
}

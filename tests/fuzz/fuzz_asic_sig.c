/*
 * libFuzzer target for the signature layer: a fixed container (mimetype
 * and the message the seeds sign, asic_fuzz_conf.h) whose
 * META-INF/signatures.xml is the input, so mutations reach the XAdES
 * reader, Id registration, reference rules, xmlsec, time-stamp, hash
 * chain, certificate and OCSP code rather than the ZIP layer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xroad/xroad.h>

#include "asic_forge.h"
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
    static const char mt[] = XR_ASIC_MIMETYPE;
    struct af_zip *z;
    uint8_t *c = NULL;
    size_t n = 0;
    struct xr_asic_result *r = NULL;
    struct xr_error err;
    enum xr_status st;

    init_once();
    z = af_zip_new();
    if (!z || af_zip_add(z, "mimetype", mt, sizeof(mt) - 1, false) ||
        af_zip_add(z, "message.xml", fuzz_message, sizeof(fuzz_message) - 1,
                   false) ||
        af_zip_add(z, "META-INF/signatures.xml", data, size, false) ||
        af_zip_finish(z, &c, &n))
        abort();
    st = xr_asic_verify(vc, c, n, NULL, NULL, &r, &err);
    if (!r || xr_asic_result_valid(r) != (st == XR_OK) ||
        (st != XR_OK && (!err.reason || !err.reason[0])))
        abort();
    xr_asic_result_free(r);
    free(c);
    return 0;
}

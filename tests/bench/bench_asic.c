/*
 * bench_asic: containers verified per second on one core.
 *
 *   build/tests/bench/bench_asic [--containers N] [--batch B] [--seconds S]
 *                                [--only-batch 1]
 *                                [--rsa-verify-rate R]
 *
 * Makes a throw-away PKI (RSA-2048 everywhere, as a security server's
 * signing key), then N request containers the way a security server's
 * message log does: one signing certificate, one OCSP response shared
 * until it is refreshed, batch time-stamps of B records sharing one token.
 * It verifies them round-robin on this thread for S seconds, with one
 * verification cache (vayla verify's per-worker cache), and prints
 * containers per second; then the same for 300 single-time-stamped
 * containers (each with its own token: more than the cache remembers, so
 * every token's signature is checked again on each round, as it would be
 * once) and without the cache. With
 * --rsa-verify-rate (the verify/s column of `openssl speed -seconds 3
 * rsa2048`, see tests/bench/bench_asic.sh) it prints the ratio of the
 * first figure to it: every container costs at least one RSA-2048
 * verification (its XML signature), so that rate is the floor's ceiling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <xroad/xroad.h>

#include "asic_forge.h"

struct blob {
    uint8_t *p;
    size_t n;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_batch(const struct af_trust *t, const struct af_party *signer,
                      const uint8_t *ocsp, size_t ocsp_len, int64_t now,
                      size_t first, size_t b, struct blob *out)
{
    struct af_spec *s = calloc(b, sizeof(*s));
    struct af_signed *sg = calloc(b, sizeof(*sg));
    const char **sigs = calloc(b, sizeof(*sigs));
    size_t *lens = calloc(b, sizeof(*lens));
    char **msgs = calloc(b, sizeof(*msgs));
    struct af_batch batch;
    int rc = -1;

    if (!s || !sg || !sigs || !lens || !msgs)
        goto out;
    for (size_t i = 0; i < b; i++) {
        char id[64];
        snprintf(id, sizeof(id), "bench-%zu", first + i);
        msgs[i] = af_soap_message(
            "FI-TEST/MUN/0101263-6/vayla",
            "FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely", id, false,
            "<svc:request><svc:hetu>010101-123N</svc:hetu><svc:product>"
            "PERUSSANOMA 1</svc:product></svc:request>");
        af_spec_init(&s[i], signer, now);
        s[i].message = (const uint8_t *)msgs[i];
        s[i].message_len = strlen(msgs[i]);
        s[i].ts = AF_TS_BATCH;
        s[i].ocsp_der = ocsp;
        s[i].ocsp_der_len = ocsp_len;
        if (af_sign(t, &s[i], &sg[i]) != 0)
            goto out;
        sigs[i] = sg[i].signatures;
        lens[i] = sg[i].signatures_len;
    }
    if (af_batch_stamp(t, NULL, sigs, lens, b, now + 30, &batch) != 0)
        goto out;
    for (size_t i = 0; i < b; i++)
        if (af_zip_container(&s[i], &sg[i], &batch, i, &out[i].p, &out[i].n) !=
            0)
            goto out;
    af_batch_cleanup(&batch);
    rc = 0;
out:
    for (size_t i = 0; sg && i < b; i++)
        af_signed_cleanup(&sg[i]);
    for (size_t i = 0; msgs && i < b; i++)
        free(msgs[i]);
    free(s);
    free(sg);
    free(sigs);
    free(lens);
    free(msgs);
    return rc;
}

/* Containers per second over `seconds`, all valid or it fails. */
static double measure(const struct xr_vconf *vc, const struct blob *c, size_t n,
                      double seconds, bool cached)
{
    struct xr_asic_cache *cache = NULL;
    struct xr_error err;
    size_t done = 0;
    double t0, t1;

    if (cached && xr_asic_cache_new(&cache, &err) != XR_OK)
        return -1;
    t0 = now_s();
    do {
        for (size_t i = 0; i < n; i++) {
            struct xr_asic_result *r = NULL;
            if (xr_asic_verify(vc, c[i].p, c[i].n, NULL, cache, &r, &err) !=
                XR_OK) {
                fprintf(stderr, "bench_asic: container %zu: %s: %s\n", i,
                        err.reason, err.msg);
                xr_asic_result_free(r);
                xr_asic_cache_free(cache);
                return -1;
            }
            xr_asic_result_free(r);
            done++;
        }
        t1 = now_s();
    } while (t1 - t0 < seconds);
    xr_asic_cache_free(cache);
    return (double)done / (t1 - t0);
}

int main(int argc, char **argv)
{
    size_t n = 400, batch = 100, nsingle = 300;
    bool only_batch = false;
    double seconds = 3, rsa = 0, batch_rate, single_rate, cold_rate;
    int64_t now = (int64_t)time(NULL);
    struct af_trust t;
    struct af_party signer;
    struct af_ocsp_opts oo = {.status = V_OCSP_CERTSTATUS_GOOD};
    uint8_t *ocsp = NULL, *vz = NULL;
    size_t ocsp_len = 0, vzl = 0;
    struct xr_vconf *vc = NULL;
    struct xr_error err;
    struct blob *c, *single;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--containers"))
            n = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--batch"))
            batch = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = strtod(argv[i + 1], NULL);
        else if (!strcmp(argv[i], "--only-batch")) /* for profiling */
            only_batch = strtoul(argv[i + 1], NULL, 10) != 0;
        else if (!strcmp(argv[i], "--rsa-verify-rate"))
            rsa = strtod(argv[i + 1], NULL);
        else {
            fprintf(stderr, "bench_asic: unknown option %s\n", argv[i]);
            return 1;
        }
    }
    if (n == 0 || batch == 0 || n % batch != 0 || seconds <= 0) {
        fprintf(stderr, "bench_asic: --containers must be a multiple of "
                        "--batch\n");
        return 1;
    }
    /* As vayla verify does (cli_verify.c): no tzset per ZIP entry. */
    if (!getenv("TZ"))
        setenv("TZ", ":/etc/localtime", 0);
    c = calloc(n, sizeof(*c));
    single = calloc(nsingle, sizeof(*single));
    if (!c || !single || xr_global_init(&err) != XR_OK ||
        af_trust_init(&t, "FI-TEST", now - 86400, now + 86400 * 3650, 2048) ||
        af_issue(&t.ca, AF_CERT_SIGN, "FI-TEST", "MUN", "0101263-6",
                 now - 86400, now + 86400 * 365, 2048, &signer) ||
        af_vconf_zip(&t, &vz, &vzl) ||
        xr_vconf_load_zip(vz, vzl, &vc, &err) != XR_OK) {
        fprintf(stderr, "bench_asic: set-up failed\n");
        return 1;
    }
    oo.this_update = now - 120;
    oo.next_update = now + 3600;
    if (af_ocsp(&t, signer.cert, t.ca.cert, &oo, &ocsp, &ocsp_len) != 0)
        return 1;
    for (size_t i = 0; i < n; i += batch)
        if (make_batch(&t, &signer, ocsp, ocsp_len, now, i, batch, c + i) != 0)
            return 1;
    for (size_t i = 0; i < nsingle; i++) {
        struct af_spec s;
        char *msg = af_soap_message(
            "FI-TEST/MUN/0101263-6/vayla",
            "FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely", "single",
            false, "<svc:hetu>010101-123N</svc:hetu>");
        af_spec_init(&s, &signer, now + (int64_t)i);
        s.message = (const uint8_t *)msg;
        s.message_len = strlen(msg);
        s.ocsp_der = ocsp;
        s.ocsp_der_len = ocsp_len;
        if (af_container(&t, &s, &single[i].p, &single[i].n) != 0)
            return 1;
        free(msg);
    }
    batch_rate = measure(vc, c, n, seconds, true);
    single_rate = only_batch ? 0 : measure(vc, single, nsingle, seconds, true);
    cold_rate = only_batch ? 0 : measure(vc, c, n, seconds, false);
    if (batch_rate < 0 || single_rate < 0 || cold_rate < 0)
        return 1;
    printf("containers: %zu in batches of %zu, RSA-2048, one core\n", n, batch);
    printf("batch time-stamp, cached:   %8.0f containers/s\n", batch_rate);
    printf("single time-stamp, cached:  %8.0f containers/s\n", single_rate);
    printf("batch time-stamp, no cache: %8.0f containers/s\n", cold_rate);
    if (rsa > 0)
        printf("RSA-2048 verify (openssl speed): %8.0f /s; batch cached is "
               "%.1f %% of it\n",
               rsa, 100.0 * batch_rate / rsa);
    for (size_t i = 0; i < n; i++)
        free(c[i].p);
    for (size_t i = 0; i < nsingle; i++)
        free(single[i].p);
    free(c);
    free(single);
    free(ocsp);
    free(vz);
    xr_vconf_free(vc);
    af_party_cleanup(&signer);
    af_trust_cleanup(&t);
    xr_global_cleanup();
    return 0;
}

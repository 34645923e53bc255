/*
 * Out of memory and hostile input for the container verifier (run under
 * ASan+UBSan in CI): every allocation of a verification fails in turn
 * (libxroad's own through link-time wrapping, libxml2's and xmlsec's
 * through xmlMemSetup, OpenSSL's through CRYPTO_set_mem_functions; only
 * libzip's are out of reach) and the verifier must return an error, never
 * crash, leak or call an invalid container valid. Then a few thousand
 * deterministic mutations of a valid container's entries and bytes.
 */

#if defined(__SANITIZE_ADDRESS__)
#define OOM_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OOM_LSAN 1
#endif
#endif
#ifdef OOM_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#include "oom_alloc.h"
#include "test_asic_common.h"

/* ---- fixture ---- */

static struct ta *T;
static uint8_t *valid_single, *valid_batch, *invalid;
static size_t valid_single_len, valid_batch_len, invalid_len;

static int group_setup(void **state)
{
    struct af_spec s;
    struct af_signed sg;
    uint8_t *other;
    size_t ol = 0;

    if (xrt_group_setup(state) != 0)
        return -1;
    T = ta_new(0);
    ta_spec(T, &s);
    ta_forge(T, &s, &valid_single, &valid_single_len);
    s.ts = AF_TS_BATCH;
    s.hashchain = true;
    s.nattach = 1;
    s.attach[0] = (const uint8_t *)"attachment";
    s.attach_len[0] = 10;
    ta_forge(T, &s, &valid_batch, &valid_batch_len);
    ta_spec(T, &s);
    if (af_sign(&T->trust, &s, &sg) != 0)
        return -1;
    other = af_replace(s.message, s.message_len, "msg-1", "msg-2", &ol);
    s.message = other;
    s.message_len = ol;
    if (af_zip_container(&s, &sg, NULL, 0, &invalid, &invalid_len) != 0)
        return -1;
    free(other);
    af_signed_cleanup(&sg);
    return 0;
}

static int group_teardown(void **state)
{
    free(valid_single);
    free(valid_batch);
    free(invalid);
    ta_free(T);
    return xrt_group_teardown(state);
}

/* Fail each allocation of one verification in turn. */
static void oom_walk(const uint8_t *c, size_t n, bool expect_valid)
{
    long total = 0, errors = 0;
    /* XRT_OOM_ONLY=k: fail only the k-th allocation (to study one). */
    const char *only = getenv("XRT_OOM_ONLY");
    const char *from = getenv("XRT_OOM_FROM");
    long first = only   ? strtol(only, NULL, 10)
                 : from ? strtol(from, NULL, 10)
                        : 1;

    /* Lazily initialised library state first, as in a full walk. */
    if (only || from) {
        struct xr_asic_result *r = NULL;
        struct xr_error err;
        enum xr_status warm = xr_asic_verify(T->vc, c, n, NULL, NULL, &r, &err);
        (void)warm;
        xr_asic_result_free(r);
    }

    for (long k = first > 0 ? first : 1;; k++) {
        struct xr_asic_result *r = NULL;
        struct xr_error err;
        enum xr_status st;

        oom_arm(k);
        st = xr_asic_verify(T->vc, c, n, NULL, NULL, &r, &err);
        if (!oom_disarm()) {
            /* Fewer than k allocations: the walk is over. */
            assert_int_equal(st == XR_OK, expect_valid);
            xr_asic_result_free(r);
            total = k - 1;
            break;
        }
        if (st == XR_OK && !expect_valid)
            fail_msg("allocation %ld failing made an invalid container "
                     "valid",
                     k);
        if (st != XR_OK) {
            errors++;
            assert_non_null(err.reason);
            assert_true(err.reason[0] != '\0');
            assert_true(err.msg[0] != '\0');
        }
        /* The result itself may be what could not be allocated. */
        if (r)
            assert_int_equal(xr_asic_result_valid(r), st == XR_OK);
        xr_asic_result_free(r);
#ifdef OOM_LSAN
        /* XRT_OOM_TRACE: name the failing allocation that leaks. */
        if (getenv("XRT_OOM_TRACE") && __lsan_do_recoverable_leak_check()) {
            print_message("leak after failing allocation %ld (%s)\n", k,
                          err.reason);
            return;
        }
#endif
        if (only)
            return;
    }
    print_message("%ld allocations, %ld of them failing gave an error\n", total,
                  errors);
    assert_true(total > 50);
}

static void test_oom_single(void **state)
{
    (void)state;
    oom_walk(valid_single, valid_single_len, true);
}

static void test_oom_batch_hashchain(void **state)
{
    (void)state;
    oom_walk(valid_batch, valid_batch_len, true);
}

static void test_oom_invalid(void **state)
{
    (void)state;
    oom_walk(invalid, invalid_len, false);
}

/* ---- mutations ---- */

static uint32_t rng = 0x13572468u;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void mutate(uint8_t *p, size_t n)
{
    switch (next() % 4) {
    case 0:
        p[next() % n] ^= (uint8_t)(1u << (next() % 8));
        break;
    case 1:
        p[next() % n] = (uint8_t)next();
        break;
    case 2: {
        static const char tokens[] = "<>&\"'=/#:;\0 ";
        p[next() % n] = (uint8_t)tokens[next() % (sizeof(tokens) - 1)];
        break;
    }
    default: {
        size_t a = next() % n, b = next() % n;
        uint8_t t = p[a];
        p[a] = p[b];
        p[b] = t;
        break;
    }
    }
}

static void verify_any(const uint8_t *c, size_t n)
{
    struct xr_asic_result *r = NULL;
    struct xr_error err;
    enum xr_status st = xr_asic_verify(T->vc, c, n, NULL, NULL, &r, &err);

    assert_non_null(r);
    assert_int_equal(xr_asic_result_valid(r), st == XR_OK);
    if (st != XR_OK)
        assert_true(err.reason[0] != '\0');
    xr_asic_result_free(r);
}

/* Mutated entries in a well-formed ZIP reach the XML and crypto layers. */
static void test_mutated_entries(void **state)
{
    struct af_spec s;
    struct af_signed sg;

    (void)state;
    ta_spec(T, &s);
    s.deflate = false;
    assert_int_equal(af_sign(&T->trust, &s, &sg), 0);
    for (int i = 0; i < 1500; i++) {
        struct af_signed m = sg;
        struct af_spec ms = s;
        uint8_t *sig = (uint8_t *)__real_strdup(sg.signatures);
        uint8_t *msg = __real_malloc(s.message_len);
        uint8_t *c = NULL;
        size_t n = 0;
        assert_non_null(sig);
        assert_non_null(msg);
        memcpy(msg, s.message, s.message_len);
        for (int k = 0, times = 1 + (int)(next() % 3); k < times; k++) {
            if (i % 3 == 0)
                mutate(msg, s.message_len);
            else
                mutate(sig, sg.signatures_len);
        }
        m.signatures = (char *)sig;
        ms.message = msg;
        assert_int_equal(af_zip_container(&ms, &m, NULL, 0, &c, &n), 0);
        verify_any(c, n);
        free(c);
        free(sig);
        free(msg);
    }
    af_signed_cleanup(&sg);
}

static void test_mutated_bytes(void **state)
{
    (void)state;
    for (int i = 0; i < 1500; i++) {
        const uint8_t *src = i % 2 ? valid_batch : valid_single;
        size_t n = i % 2 ? valid_batch_len : valid_single_len;
        uint8_t *c = __real_malloc(n);
        assert_non_null(c);
        memcpy(c, src, n);
        for (int k = 0, times = 1 + (int)(next() % 4); k < times; k++)
            mutate(c, n);
        /* Sometimes cut it short as well. */
        verify_any(c, i % 7 == 0 ? next() % n : n);
        free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_single),
        cmocka_unit_test(test_oom_batch_hashchain),
        cmocka_unit_test(test_oom_invalid),
        cmocka_unit_test(test_mutated_entries),
        cmocka_unit_test(test_mutated_bytes),
    };

    /* Before anything allocates through OpenSSL or libxml2. */
    if (!oom_install())
        return 1;
    xrt_filter_from_env();
    return cmocka_run_group_tests_name("asic_oom", tests, group_setup,
                                       group_teardown);
}

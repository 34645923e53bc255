/*
 * Out of memory while judging an answer (run under ASan+UBSan in CI):
 * every allocation of xr_response_check() fails in turn (libxroad's own,
 * the arena tree's blocks (xroad/xtree.c) through link-time wrapping,
 * libxml2's through xmlMemSetup, OpenSSL's through
 * CRYPTO_set_mem_functions), and the check must return an error, never
 * crash, leak or accept. An arena that fails while the tree is being
 * built says out_of_memory, not malformed_xml.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "oom_alloc.h"
#include "test_helpers.h"

/* Check text against req with the n-th allocation refused. */
static enum xr_status check_failing(const struct xr_request *req,
                                    const char *text, size_t len, long n,
                                    bool *refused, struct xr_error *err)
{
    struct xr_response *resp = NULL;
    enum xr_status rc;

    oom_arm(n);
    rc = xr_response_check(req, "text/xml; charset=UTF-8",
                           (const uint8_t *)text, len, NULL, &resp, err);
    *refused = oom_disarm();
    if (rc == XR_OK) {
        /* Nothing was refused, or the refusal was recovered from: the
         * answer must then be judged as without the failure. */
        assert_non_null(resp);
        assert_int_equal(xr_response_verdict(resp), XR_VERDICT_OK);
        xr_response_free(resp);
    } else {
        assert_null(resp);
        assert_non_null(err->reason);
    }
    return rc;
}

static void test_response_oom(void **state)
{
    struct xr_header h;
    struct xr_request *req;
    struct xrt_msg m;
    struct xr_error err;
    struct xrt_buf body = {0};
    size_t len;
    char *text;
    long n, arena_oom = 0;
    bool refused;

    (void)state;
    xrt_std_header(&h);
    req = xrt_request_from(&h);
    xrt_msg_echo(&m, req, true);
    /* A body with text, references, attributes and a comment, so every
     * kind of node the arena builds is on the way. */
    xrt_buf_adds(&body, "<" XRT_SERVICE_CODE "Response xmlns=\"" XRT_NS_BODY
                        "\" a=\"x&amp;y\"><v>t&amp;u</v><!-- c --><?p d?>");
    xrt_buf_repeat(&body, "<i n='1'>value</i>", 200);
    xrt_buf_adds(&body, "</" XRT_SERVICE_CODE "Response>");
    m.body_dyn = body.p;
    text = xrt_msg_render(&m, &len);
    assert_int_equal(check_failing(req, text, len, 0, &refused, &err), XR_OK);
    for (n = 1; n < 100000; n++) {
        enum xr_status rc = check_failing(req, text, len, n, &refused, &err);
        if (!refused) {
            assert_int_equal(rc, XR_OK);
            break;
        }
        if (rc != XR_OK && !strcmp(err.reason, "out_of_memory") &&
            strstr(err.msg, "XML tree"))
            arena_oom++;
    }
    print_message("%ld allocations refused in turn, %ld of them in the "
                  "arena tree\n",
                  n - 1, arena_oom);
    assert_true(n > 10);
    assert_true(arena_oom > 0);
    free(text);
    xrt_buf_free(&body);
    xr_request_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_oom),
    };

    if (!oom_install())
        return 1;
    xrt_filter_from_env();
    return cmocka_run_group_tests(tests, xrt_group_setup, xrt_group_teardown);
}

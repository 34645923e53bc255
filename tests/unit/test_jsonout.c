/*
 * Unit tests for adp_json_dump_line(): byte for byte what jansson's
 * json_dumps(JSON_COMPACT) writes, plus a newline, over edge cases and a
 * few thousand generated documents; refusals for what cannot be written.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonout.h"

static void assert_same(json_t *j)
{
    char *want =
        json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    size_t len = 0;
    char *got = adp_json_dump_line(j, &len);

    assert_non_null(want);
    assert_non_null(got);
    assert_int_equal(len, strlen(want) + 1);
    assert_int_equal(strlen(got), len);
    assert_memory_equal(got, want, strlen(want));
    assert_int_equal(got[len - 1], '\n');
    free(want);
    free(got);
}

static void test_edge_values(void **state)
{
    json_t *o = json_object();
    json_t *a = json_array();
    static const char ctl[] = "a\x01\x1f\b\f\n\r\t\"\\/\x7f end";

    (void)state;
    assert_same(o);
    assert_same(a);
    json_object_set_new(o, "s", json_string("plain"));
    json_object_set_new(o, "ctl", json_stringn(ctl, sizeof(ctl) - 1));
    json_object_set_new(o, "nul", json_stringn("a\0b", 3));
    json_object_set_new(o, "utf8",
                        json_string("K\xc3\xa4ytt\xc3\xa4j\xc3\xa4 "
                                    "\xe2\x82\xac \xf0\x9f\x98\x80 "
                                    "\xe2\x80\xa8"));
    json_object_set_new(o, "key \"quoted\"\n", json_true());
    json_object_set_new(o, "f", json_false());
    json_object_set_new(o, "n", json_null());
    json_object_set_new(o, "zero", json_integer(0));
    json_object_set_new(o, "neg", json_integer(-42));
    json_object_set_new(o, "max", json_integer(LLONG_MAX));
    json_object_set_new(o, "min", json_integer(LLONG_MIN));
    json_object_set_new(o, "r1", json_real(1.0));
    json_object_set_new(o, "r2", json_real(-0.1));
    json_object_set_new(o, "r3", json_real(1e300));
    json_object_set_new(o, "r4", json_real(123456789.0));
    json_object_set_new(o, "r5", json_real(1.5e-7));
    json_object_set_new(o, "r6", json_real(-2e21));
    json_object_set_new(o, "r7", json_real(1e100));
    json_array_append_new(a, json_object());
    json_array_append_new(a, json_array());
    json_array_append_new(a, json_string(""));
    json_object_set_new(o, "a", a);
    assert_same(o);
    /* Keys keep their insertion order after a replacement and deletion. */
    json_object_set_new(o, "s", json_string("replaced"));
    json_object_del(o, "f");
    assert_same(o);
    json_decref(o);
}

/* Long strings: the buffer grows inside a string, escapes at either end. */
static void test_long_strings(void **state)
{
    enum { N = 10000 };
    char *b = malloc(N + 1);
    json_t *o = json_object();

    (void)state;
    assert_non_null(b);
    memset(b, 'a', N);
    b[N] = '\0';
    json_object_set_new(o, "plain", json_stringn(b, N));
    b[0] = '"';
    json_object_set_new(o, "first", json_stringn(b, N));
    b[0] = 'a';
    b[N - 1] = '\n';
    json_object_set_new(o, "last", json_stringn(b, N));
    b[N / 2] = '\\';
    json_object_set_new(o, "middle", json_stringn(b, N));
    json_object_set_new(o, b, json_string(""));
    assert_same(o);
    json_decref(o);
    free(b);
}

static void test_refusals(void **state)
{
    json_t *deep = json_array();
    json_t *cur = deep;
    size_t len = 99;

    (void)state;
    assert_null(adp_json_dump_line(NULL, &len));
    assert_int_equal(len, 0);
    for (int i = 0; i < 100; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    assert_null(adp_json_dump_line(deep, &len));
    json_decref(deep);
}

/* A small deterministic generator (xorshift). */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static json_t *gen_string(void)
{
    static const char *const pieces[] = {"a",
                                         "Z",
                                         " ",
                                         "\"",
                                         "\\",
                                         "\n",
                                         "\x01",
                                         "\x1f",
                                         "\xc3\xa4",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "/",
                                         "0",
                                         "\x7f",
                                         "\t"};
    char buf[64];
    size_t n = 0, k = rnd(8);

    for (size_t i = 0; i < k; i++) {
        const char *p = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
        size_t l = strlen(p);
        if (n + l >= sizeof(buf))
            break;
        memcpy(buf + n, p, l);
        n += l;
    }
    return json_stringn(buf, n);
}

static json_t *gen(unsigned depth)
{
    switch (depth > 4 ? rnd(5) : rnd(7)) {
    case 0:
        return gen_string();
    case 1:
        return json_integer((json_int_t)rnd(2000000) - 1000000);
    case 2:
        return rnd(2) ? json_true() : json_false();
    case 3:
        return json_null();
    case 4: {
        double v = (double)rnd(100000) / 64.0;
        for (unsigned i = 0, e = rnd(30); i < e; i++)
            v = rnd(2) ? v * 10.0 : v / 10.0;
        return json_real(v);
    }
    case 5: {
        json_t *o = json_object();
        for (unsigned i = 0, n = rnd(6); i < n; i++) {
            json_t *k = gen_string();
            json_object_set_new(o, json_string_value(k), gen(depth + 1));
            json_decref(k);
        }
        return o;
    }
    default: {
        json_t *a = json_array();
        for (unsigned i = 0, n = rnd(6); i < n; i++)
            json_array_append_new(a, gen(depth + 1));
        return a;
    }
    }
}

static void test_generated(void **state)
{
    (void)state;
    for (int i = 0; i < 3000; i++) {
        json_t *j = gen(0);
        assert_same(j);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_values),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

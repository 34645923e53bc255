/*
 * Unit tests of adapter/services/hetu.c: hetu (decree 690/2022) and SATU
 * validation, reasons, and the shared vectors/hetu/cases.tsv table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_helpers.h"

#include "services/hetu.h"

static const char *reason_of(const char *code, bool satu, char *buf,
                             size_t size)
{
    struct hetu_info info;

    if (satu)
        (void)hetu_satu_validate(code, &info);
    else
        (void)hetu_validate(code, &info);
    return hetu_reason_format(&info, buf, size);
}

static void assert_reason(const char *code, const char *want)
{
    char buf[48];
    struct hetu_info info;

    assert_false(hetu_validate(code, &info));
    assert_int_not_equal(info.reason, HETU_OK);
    hetu_reason_format(&info, buf, sizeof(buf));
    if (strcmp(buf, want) != 0)
        fail_msg("%s: reason %s, expected %s", code ? code : "(null)", buf,
                 want);
}

static void test_valid_codes(void **state)
{
    struct hetu_info info;

    (void)state;
    assert_true(hetu_validate("131052-308T", &info));
    assert_int_equal(info.reason, HETU_OK);
    assert_false(info.temporary);
    assert_int_equal(info.year, 1952);
    assert_int_equal(info.month, 10);
    assert_int_equal(info.day, 13);
    assert_int_equal(info.individual, 308);

    /* 1800s, 2000s, new 1900s letters. */
    assert_true(hetu_validate("010100+002H", &info));
    assert_int_equal(info.year, 1800);
    assert_true(hetu_validate("020504A902E", &info));
    assert_int_equal(info.year, 2004);
    assert_true(info.temporary);
    assert_true(hetu_validate("010594Y9032", &info));
    assert_int_equal(info.year, 1994);
    assert_true(hetu_validate("010516B903X", &info));
    assert_int_equal(info.year, 2016);

    /* Temporary / test identities are valid but flagged. */
    assert_true(hetu_validate("260991-999R", &info));
    assert_true(info.temporary);
    assert_int_equal(info.individual, 999);
    assert_true(hetu_validate("010181-900C", &info));
    assert_true(info.temporary);

    /* The century sign is identity-bearing: both valid, never equal. */
    assert_true(hetu_validate("100190-999P", NULL));
    assert_true(hetu_validate("100190Y999P", NULL));
}

static void test_leap_years(void **state)
{
    (void)state;
    assert_true(hetu_validate("290200A999J", NULL)); /* 2000: leap */
    assert_reason("290201A999X", "date");            /* 2001: no */
    /* 1900 is not a leap year; 29.2.1900 does not exist. */
    {
        char code[12];
        unsigned long n = 290200ul * 1000ul + 950ul;
        snprintf(code, sizeof(code), "290200-950%c", hetu_check_char(n));
        assert_reason(code, "date");
        snprintf(code, sizeof(code), "290200+950%c", hetu_check_char(n));
        assert_reason(code, "date"); /* 1800 neither */
    }
    {
        char code[12];
        unsigned long n = 290296ul * 1000ul + 950ul;
        snprintf(code, sizeof(code), "290296-950%c", hetu_check_char(n));
        assert_true(hetu_validate(code, NULL)); /* 1996 */
    }
}

static void test_rejections(void **state)
{
    struct hetu_info info;

    (void)state;
    assert_reason(NULL, "length");
    assert_reason("", "length");
    assert_reason("131052-308", "length");
    assert_reason("131052-308TT", "length");
    assert_reason("131052-308T\n", "length");
    assert_reason("010100G999K", "century_sign");
    assert_reason("010100Z999K", "century_sign");
    assert_reason("010100a999K", "century_sign");
    assert_reason("010100 999K", "century_sign");
    assert_reason("13105X-308T", "format");
    assert_reason("131052-3O8T", "format");
    assert_reason("+31052-308T", "format");
    assert_reason("320152-308T", "date");
    assert_reason("001052-308T", "date");
    assert_reason("311352-308T", "date");
    assert_reason("310452-308T", "date");
    assert_reason("010100-000E", "individual_number_000_001");
    {
        char code[12];
        snprintf(code, sizeof(code), "010100-001%c",
                 hetu_check_char(10100001ul));
        assert_reason(code, "individual_number_000_001");
    }
    assert_reason("010190-999K", "check_char_expected_W");
    assert_reason("010190Y999K", "check_char_expected_W");
    assert_reason("131052-308t", "check_char_expected_T");

    assert_false(hetu_validate("010190-999K", &info));
    assert_int_equal(info.reason, HETU_BAD_CHECK_CHAR);
    assert_int_equal(info.expected_check, 'W');
    assert_string_equal(hetu_reason_name(info.reason), "check_char");
    assert_non_null(strstr(hetu_reason_text(info.reason), "check"));
}

static void test_check_table(void **state)
{
    static const char table[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";

    (void)state;
    for (unsigned long i = 0; i < 31; i++)
        assert_int_equal(hetu_check_char(i), table[i]);
    assert_int_equal(hetu_check_char(31), '0');
    assert_int_equal(hetu_check_char(131052308ul), 'T');
}

static void test_satu(void **state)
{
    char buf[48];
    struct hetu_info info;

    (void)state;
    assert_true(hetu_satu_validate("10000001N", &info));
    assert_false(info.temporary);
    assert_true(hetu_satu_validate("89999999S", NULL));
    assert_true(hetu_satu_validate("12345678N", NULL));
    assert_string_equal(reason_of("10000001M", true, buf, sizeof(buf)),
                        "check_char_expected_N");
    assert_string_equal(reason_of("10000000A", true, buf, sizeof(buf)),
                        "range");
    assert_string_equal(reason_of("90000000A", true, buf, sizeof(buf)),
                        "range");
    assert_string_equal(reason_of("1000000XN", true, buf, sizeof(buf)),
                        "format");
    assert_string_equal(reason_of("10000001", true, buf, sizeof(buf)),
                        "length");
    assert_string_equal(reason_of(NULL, true, buf, sizeof(buf)), "length");
    assert_string_equal(reason_of("10000001NN", true, buf, sizeof(buf)),
                        "length");
}

static void test_reason_names(void **state)
{
    char tiny[4];
    struct hetu_info info;

    (void)state;
    for (int r = HETU_OK; r <= HETU_BAD_RANGE; r++) {
        assert_non_null(hetu_reason_name((enum hetu_reason)r));
        assert_non_null(hetu_reason_text((enum hetu_reason)r));
    }
    /* A short buffer truncates but stays terminated. */
    (void)hetu_validate("010190-999K", &info);
    hetu_reason_format(&info, tiny, sizeof(tiny));
    assert_string_equal(tiny, "che");
    /* Size 0 must not write. */
    tiny[0] = 'x';
    hetu_reason_format(&info, tiny, 0);
    assert_int_equal(tiny[0], 'x');
}

/* vectors/hetu/cases.tsv: every row must get the listed verdict. */
static void test_vectors_hetu_cases(void **state)
{
    const char *dir = getenv("XR_VECTORS_DIR");
    char path[4096], line[1024];
    unsigned rows = 0, lineno = 0;
    FILE *f;

    (void)state;
    if (!dir ||
        snprintf(path, sizeof(path), "%s/hetu/cases.tsv", dir) >=
            (int)sizeof(path) ||
        !(f = fopen(path, "r"))) {
        print_message("SKIP: vectors/hetu/cases.tsv not available "
                      "(XR_VECTORS_DIR=%s)\n",
                      dir ? dir : "(unset)");
        skip();
        return;
    }
    while (fgets(line, sizeof(line), f) && lineno < 10000) {
        char *cols[6] = {NULL};
        char *p = line, reason[48];
        struct hetu_info info;
        bool valid;
        int n = 0;

        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1 || line[0] == '\0')
            continue; /* header */
        while (n < 6 && p) {
            cols[n++] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = '\0';
        }
        if (n < 5)
            fail_msg("cases.tsv:%u: %d columns", lineno, n);
        valid = hetu_validate(cols[0], &info);
        hetu_reason_format(&info, reason, sizeof(reason));
        if (!strcmp(cols[1], "VALID")) {
            if (!valid)
                fail_msg("cases.tsv:%u: %s rejected (%s)", lineno, cols[0],
                         reason);
            if (strcmp(cols[3], "-") != 0 &&
                info.year / 100u * 100u != (unsigned)strtoul(cols[3], NULL, 10))
                fail_msg("cases.tsv:%u: %s century %u", lineno, cols[0],
                         info.year);
        } else {
            if (valid)
                fail_msg("cases.tsv:%u: %s accepted", lineno, cols[0]);
            if (strcmp(reason, cols[2]) != 0)
                fail_msg("cases.tsv:%u: %s reason %s, expected %s", lineno,
                         cols[0], reason, cols[2]);
        }
        if (info.individual != 0 || valid) {
            bool want = !strcmp(cols[4], "yes");
            if (info.temporary != want)
                fail_msg("cases.tsv:%u: %s test_range %d", lineno, cols[0],
                         info.temporary);
        }
        rows++;
    }
    fclose(f);
    print_message("cases.tsv: %u rows checked\n", rows);
    assert_true(rows >= 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_codes),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_check_table),
        cmocka_unit_test(test_satu),
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_vectors_hetu_cases),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("hetu", tests, NULL, NULL);
}

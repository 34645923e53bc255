/*
 * Hetu and SATU validation (hetu.h). Pure functions, no allocation.
 */
#include <stdio.h>
#include <string.h>

#include "services/hetu.h"

static const char check_table[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";

char hetu_check_char(unsigned long n)
{
    return check_table[n % 31u];
}

static void info_reset(struct hetu_info *info)
{
    memset(info, 0, sizeof(*info));
    info->reason = HETU_OK;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parse n digits at s into *v. False when any is not a digit. */
static bool digits(const char *s, size_t n, unsigned long *v)
{
    unsigned long acc = 0;

    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        acc = acc * 10u + (unsigned long)(s[i] - '0');
    }
    *v = acc;
    return true;
}

/* Century base for a century sign, 0 when the sign is not valid. */
static unsigned century_of(char sign)
{
    switch (sign) {
    case '+':
        return 1800u;
    case '-':
    case 'Y':
    case 'X':
    case 'W':
    case 'V':
    case 'U':
        return 1900u;
    case 'A':
    case 'B':
    case 'C':
    case 'D':
    case 'E':
    case 'F':
        return 2000u;
    default:
        return 0u;
    }
}

static bool is_leap(unsigned year)
{
    return (year % 4u == 0u && year % 100u != 0u) || year % 400u == 0u;
}

static unsigned days_in_month(unsigned year, unsigned month)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};

    if (month == 2u && is_leap(year))
        return 29u;
    return days[month - 1u];
}

bool hetu_validate(const char *code, struct hetu_info *info)
{
    struct hetu_info local;
    unsigned long ddmmyy, zzz, n;
    unsigned century;

    if (!info)
        info = &local;
    info_reset(info);
    /* Bounded length check: never read past HETU_LEN + 1 bytes. */
    if (!code || strnlen(code, HETU_LEN + 1) != HETU_LEN) {
        info->reason = HETU_BAD_LENGTH;
        return false;
    }
    century = century_of(code[6]);
    if (century == 0u) {
        info->reason = HETU_BAD_CENTURY_SIGN;
        return false;
    }
    if (!digits(code, 6, &ddmmyy) || !digits(code + 7, 3, &zzz)) {
        info->reason = HETU_BAD_FORMAT;
        return false;
    }
    info->day = (unsigned)(ddmmyy / 10000u);
    info->month = (unsigned)(ddmmyy / 100u % 100u);
    info->year = century + (unsigned)(ddmmyy % 100u);
    info->individual = (unsigned)zzz;
    info->temporary = zzz >= 900u;
    n = ddmmyy * 1000u + zzz;
    info->expected_check = hetu_check_char(n);
    if (info->month < 1u || info->month > 12u || info->day < 1u ||
        info->day > days_in_month(info->year, info->month)) {
        info->reason = HETU_BAD_DATE;
        return false;
    }
    if (zzz < 2u) {
        info->reason = HETU_BAD_INDIVIDUAL_NUMBER;
        return false;
    }
    if (code[10] != info->expected_check) {
        info->reason = HETU_BAD_CHECK_CHAR;
        return false;
    }
    return true;
}

bool hetu_satu_validate(const char *code, struct hetu_info *info)
{
    struct hetu_info local;
    unsigned long n;

    if (!info)
        info = &local;
    info_reset(info);
    if (!code || strnlen(code, SATU_LEN + 1) != SATU_LEN) {
        info->reason = HETU_BAD_LENGTH;
        return false;
    }
    if (!digits(code, 8, &n)) {
        info->reason = HETU_BAD_FORMAT;
        return false;
    }
    info->expected_check = hetu_check_char(n);
    if (n < 10000001ul || n > 89999999ul) {
        info->reason = HETU_BAD_RANGE;
        return false;
    }
    if (code[8] != info->expected_check) {
        info->reason = HETU_BAD_CHECK_CHAR;
        return false;
    }
    return true;
}

const char *hetu_reason_name(enum hetu_reason reason)
{
    switch (reason) {
    case HETU_OK:
        return "ok";
    case HETU_BAD_LENGTH:
        return "length";
    case HETU_BAD_FORMAT:
        return "format";
    case HETU_BAD_CENTURY_SIGN:
        return "century_sign";
    case HETU_BAD_DATE:
        return "date";
    case HETU_BAD_INDIVIDUAL_NUMBER:
        return "individual_number_000_001";
    case HETU_BAD_CHECK_CHAR:
        return "check_char";
    case HETU_BAD_RANGE:
        return "range";
    }
    return "unknown";
}

const char *hetu_reason_text(enum hetu_reason reason)
{
    switch (reason) {
    case HETU_OK:
        return "valid";
    case HETU_BAD_LENGTH:
        return "wrong length";
    case HETU_BAD_FORMAT:
        return "a digit was expected";
    case HETU_BAD_CENTURY_SIGN:
        return "not a century sign (+ - Y X W V U A B C D E F)";
    case HETU_BAD_DATE:
        return "the date of birth does not exist";
    case HETU_BAD_INDIVIDUAL_NUMBER:
        return "individual number 000 and 001 are never issued";
    case HETU_BAD_CHECK_CHAR:
        return "wrong check character";
    case HETU_BAD_RANGE:
        return "number outside 10000001-89999999";
    }
    return "unknown reason";
}

const char *hetu_reason_format(const struct hetu_info *info, char *out,
                               size_t size)
{
    int n;

    if (size == 0)
        return out;
    if (info->reason == HETU_BAD_CHECK_CHAR && info->expected_check != 0)
        n = snprintf(out, size, "check_char_expected_%c", info->expected_check);
    else
        n = snprintf(out, size, "%s", hetu_reason_name(info->reason));
    if (n < 0)
        out[0] = '\0';
    /* A short buffer truncates; snprintf has NUL-terminated it. */
    return out;
}

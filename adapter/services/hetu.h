/*
 * Finnish personal identity codes (henkilötunnus, "hetu") and electronic
 * identification numbers (sähköinen asiointitunnus, "SATU").
 *
 * Hetu per government decree 128/2010 §2 as amended by 690/2022 (in force
 * 1.1.2023): DDMMYYCZZZQ, exactly 11 characters.
 *   DDMMYY  date of birth; must exist in the century given by C (leap
 *           years included);
 *   C       century sign, case-sensitive: '+' 1800s; '-' 'Y' 'X' 'W' 'V'
 *           'U' 1900s; 'A' 'B' 'C' 'D' 'E' 'F' 2000s. The sign is part of
 *           the identity: 100190-999P and 100190Y999P are different people,
 *           so codes are never normalised;
 *   ZZZ     individual number 002..999; 000 and 001 are never issued;
 *           900..999 are temporary identities and test persons (valid, but
 *           flagged as temporary);
 *   Q       "0123456789ABCDEFHJKLMNPRSTUVWXY"[DDMMYYZZZ mod 31].
 * SATU: 8 digits 10000001..89999999 plus a check character computed the
 * same way from the 8-digit number; 9 characters.
 *
 * Nothing here logs or stores a code; callers must keep codes out of the
 * operational log (docs/vtj.md §9).
 */
#ifndef VAYLA_SERVICES_HETU_H
#define VAYLA_SERVICES_HETU_H

#include <stdbool.h>
#include <stddef.h>

#define HETU_LEN 11 /* characters (= bytes) of a hetu */
#define SATU_LEN 9  /* characters (= bytes) of a SATU */

/*
 * Why a code was rejected. hetu_reason_name() gives the stable snake_case
 * name; for HETU_BAD_CHECK_CHAR the full reason printed by
 * hetu_reason_format() is "check_char_expected_<C>" (the form used by
 * vectors/hetu/cases.tsv).
 */
enum hetu_reason {
    HETU_OK = 0,
    HETU_BAD_LENGTH,            /* "length": not exactly 11 (SATU: 9) bytes */
    HETU_BAD_FORMAT,            /* "format": a non-digit in a digit field */
    HETU_BAD_CENTURY_SIGN,      /* "century_sign" */
    HETU_BAD_DATE,              /* "date": no such calendar date */
    HETU_BAD_INDIVIDUAL_NUMBER, /* "individual_number_000_001" */
    HETU_BAD_CHECK_CHAR,        /* "check_char_expected_<C>" */
    HETU_BAD_RANGE              /* "range": SATU outside 10000001..89999999 */
};

/* What validation found out. Filled on success and on failure. */
struct hetu_info {
    enum hetu_reason reason;
    bool temporary;      /* individual number 900..999 (hetu only) */
    unsigned year;       /* full year, e.g. 1991; 0 when unknown */
    unsigned month;      /* 1..12; 0 when unknown */
    unsigned day;        /* 1..31; 0 when unknown */
    unsigned individual; /* ZZZ; 0 when unknown */
    char expected_check; /* the correct check character; 0 when unknown */
};

/*
 * Validate a hetu. Returns true when `code` is a valid identity code
 * (temporary 9xx codes included: see info->temporary). `code` may be NULL
 * (reason HETU_BAD_LENGTH). Reads at most HETU_LEN + 1 bytes of `code`.
 * Checks run in this order: length, century sign, digits, date, individual
 * number, check character; the first failure is reported.
 * Ownership: info may be NULL; it is caller storage.
 * Thread-safety: reentrant.
 */
bool hetu_validate(const char *code, struct hetu_info *info);

/*
 * Validate a SATU (sähköinen asiointitunnus). Same conventions as
 * hetu_validate(); reasons: length, format, range, check character.
 * Ownership: info may be NULL; caller storage. Thread-safety: reentrant.
 */
bool hetu_satu_validate(const char *code, struct hetu_info *info);

/*
 * Stable snake_case name of a reason ("ok", "length", "format",
 * "century_sign", "date", "individual_number_000_001", "check_char",
 * "range"). Never NULL.
 * Ownership: static string. Thread-safety: reentrant.
 */
const char *hetu_reason_name(enum hetu_reason reason);

/*
 * The full reason of a validation result into out (size bytes, always
 * NUL-terminated when size > 0): hetu_reason_name(), except that a wrong
 * check character gives "check_char_expected_<C>". Never contains the code
 * itself. Returns out.
 * Ownership: caller storage. Thread-safety: reentrant.
 */
const char *hetu_reason_format(const struct hetu_info *info, char *out,
                               size_t size);

/*
 * A human sentence explaining the reason, e.g. "the date of birth does not
 * exist". Never NULL, never contains the code.
 * Ownership: static string. Thread-safety: reentrant.
 */
const char *hetu_reason_text(enum hetu_reason reason);

/*
 * The check character for a number (DDMMYYZZZ for a hetu, the 8 digits of a
 * SATU): "0123456789ABCDEFHJKLMNPRSTUVWXY"[n mod 31].
 * Ownership: none. Thread-safety: reentrant.
 */
char hetu_check_char(unsigned long n);

#endif

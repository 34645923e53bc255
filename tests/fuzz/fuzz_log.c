/*
 * libFuzzer target for the operational log (adapter/log.c). The input is
 * split at NUL bytes into a free-text message and the string fields of an
 * access-log record; the first byte chooses plain or journald format.
 * Properties checked on what reaches stderr (a temporary file here):
 *   - each record is exactly one line, at most ADP_LOG_LINE_MAX bytes;
 *   - no hetu-shaped token (DDMMYY, century sign, three digits, check
 *     character, not glued to letters or digits) survives, whatever
 *     surrounds it, however long the text and wherever it is cut;
 *   - no raw control character other than the final '\n' is written.
 * The hetu check here is an independent regular expression, not the
 * log's own detector.
 */
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define INPUT_MAX  (16u * 1024u)
#define OUTPUT_MAX (4u * ADP_LOG_LINE_MAX)
#define HETU_RE                                                       \
    "(^|[^0-9A-Za-z])(0[1-9]|[12][0-9]|3[01])(0[1-9]|1[0-2])[0-9]{2}" \
    "[-+A-FU-Ya-fu-y][0-9]{3}[0-9A-Za-z]([^0-9A-Za-z]|$)"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int out_fd = -1;  /* the temporary file records go to */
static int real_fd = -1; /* the real stderr, for libFuzzer's reports */
static regex_t hetu_re;

static void init_once(void)
{
    char path[] = "/tmp/vayla-fuzz-log-XXXXXX";

    if (out_fd >= 0)
        return;
    out_fd = mkstemp(path);
    if (out_fd < 0)
        abort();
    unlink(path);
    real_fd = dup(STDERR_FILENO);
    if (real_fd < 0)
        abort();
    if (regcomp(&hetu_re, HETU_RE, REG_EXTENDED | REG_NOSUB) != 0)
        abort();
}

static void set_format(bool journald)
{
    struct stat st;
    char v[64];

    if (journald && fstat(STDERR_FILENO, &st) == 0) {
        snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
        setenv("JOURNAL_STREAM", v, 1);
    } else {
        unsetenv("JOURNAL_STREAM");
    }
    adp_log_init(NULL);
}

/* Check the output of `records` records; abort() on any violation. */
static void check_output(unsigned records)
{
    static char buf[OUTPUT_MAX + 1];
    ssize_t got = pread(out_fd, buf, OUTPUT_MAX, 0);
    size_t len, start = 0;
    unsigned lines = 0;

    if (got < 0)
        abort();
    len = (size_t)got;
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (c == '\n') {
            if (i + 1 - start > ADP_LOG_LINE_MAX)
                abort();
            buf[i] = '\0';
            if (regexec(&hetu_re, buf + start, 0, NULL, 0) == 0)
                abort();
            start = i + 1;
            lines++;
        } else if (c < 0x20 || c == 0x7f) {
            abort();
        }
    }
    if (start != len || lines != records)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *field[8] = {NULL};
    struct adp_log_req r;
    size_t nfields = 0;
    char *text;

    if (size < 1 || size > INPUT_MAX)
        return 0;
    init_once();
    if (ftruncate(out_fd, 0) != 0 || lseek(out_fd, 0, SEEK_SET) != 0 ||
        dup2(out_fd, STDERR_FILENO) != STDERR_FILENO)
        abort();
    set_format(data[0] & 1);
    adp_log_set_level(ADP_LOG_DEBUG);

    text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    /* NUL-separated fields: message, then the record's strings. */
    for (size_t i = 0; i < size && nfields < 8;) {
        field[nfields++] = text + i;
        i += strlen(text + i) + 1;
    }

    adp_log_info("%s", field[0]);
    memset(&r, 0, sizeof(r));
    r.req_id = field[1];
    r.caller = field[2];
    r.method = field[3];
    r.path = field[4];
    r.outcome = field[5];
    r.fault_origin = field[6];
    r.xroad_id = field[7] ? field[7] : field[0];
    r.status = (int)data[0] * 3;
    r.duration_us = (int64_t)size * 997 - 5000;
    r.upstream_us = -1;
    r.audit_us = (int64_t)data[0];
    adp_log_request(&r);
    if (dup2(real_fd, STDERR_FILENO) != STDERR_FILENO)
        abort();
    check_output(2);
    free(text);
    return 0;
}

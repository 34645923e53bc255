/*
 * libFuzzer target for the configuration parser (adapter/config.c) through
 * adp_config_load_string(). Properties: a load either succeeds without a
 * problem or fails with at least one; every reported line exists in the
 * input; no problem text ever contains the VTJ password taken from the
 * environment. File references resolve under a directory that does not
 * exist, so nothing outside the input is read.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FUZZ_SECRET "fuzz-Secret-Value-0123"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    unsigned count;
    unsigned max_line;
    bool secret_in_input; /* then it may legitimately be echoed */
};

static void on_problem(void *ctx, const char *path, unsigned line,
                       const char *key, const char *reason)
{
    struct seen *s = ctx;

    if (!path || !key || !reason || reason[0] == '\0')
        abort();
    if (!s->secret_in_input &&
        (strstr(reason, FUZZ_SECRET) || strstr(key, FUZZ_SECRET)))
        abort();
    s->count++;
    if (line > s->max_line)
        s->max_line = line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct adp_config *cfg = NULL;
    struct seen seen = {0, 0, false};
    struct xr_error err;
    unsigned lines = 1;
    enum xr_status rc;
    char *text;

    if (size > 64 * 1024)
        return 0;
    /* password_env = FUZZ_PW may pick this up */
    setenv("FUZZ_PW", FUZZ_SECRET, 1);
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (size_t i = 0; i < size && text[i]; i++)
        lines += text[i] == '\n';
    seen.secret_in_input = strstr(text, FUZZ_SECRET) != NULL;
    rc = adp_config_load_string("/nonexistent-vayla-fuzz/vayla.conf", text,
                                &cfg, on_problem, &seen, &err);
    if (rc == XR_OK && (seen.count != 0 || !cfg))
        abort();
    if (rc == XR_EINVAL && (seen.count == 0 || cfg))
        abort();
    if (seen.max_line > lines)
        abort();
    if (!seen.secret_in_input && strstr(err.msg, FUZZ_SECRET))
        abort();
    adp_config_free(cfg);
    free(text);
    return 0;
}

/*
 * libFuzzer target for identifier parsing and formatting, plus the
 * faultcode helpers that take the same kind of short untrusted strings.
 * Property: whatever parses formats to text that parses back to an equal
 * identifier, and validates.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xroad/xroad.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef enum xr_status (*parse_fn)(const char *, struct xr_id *,
                                   struct xr_error *);

static void roundtrip(parse_fn parse, const char *text)
{
    static const struct xr_id zero;
    struct xr_id id, again;
    struct xr_error err;
    char buf[XR_ID_TEXT_MAX];
    size_t n;

    if (parse(text, &id, &err) != XR_OK) {
        if (err.reason == NULL || strcmp(err.reason, "invalid_id") != 0 ||
            memcmp(&id, &zero, sizeof(id)) != 0)
            abort();
        return;
    }
    if (xr_id_validate(&id, &err) != XR_OK)
        abort();
    n = xr_id_format(&id, true, buf, sizeof(buf));
    if (n >= sizeof(buf) || strlen(buf) != n)
        abort();
    if (parse(buf, &again, &err) != XR_OK || !xr_id_equal(&id, &again))
        abort();
    n = xr_id_format(&id, false, buf, sizeof(buf));
    if (n >= sizeof(buf))
        abort();
    if (parse(buf, &again, &err) != XR_OK || !xr_id_equal(&id, &again))
        abort();
    /* Truncated formatting stays terminated and reports the full size. */
    if (xr_id_format(&id, true, buf, 5) != xr_id_format(&id, true, NULL, 0) ||
        strlen(buf) > 4)
        abort();
}

static void init_once(void)
{
    static bool done;
    struct xr_error err;

    if (done)
        return;
    done = true;
    if (xr_global_init(&err) != XR_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    char leaf[64];

    init_once();
    if (size > 4096)
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    roundtrip(xr_id_parse_client, text);
    roundtrip(xr_id_parse_service, text);
    roundtrip(xr_id_parse_server, text);
    (void)xr_id_part_is_valid(text);

    (void)xr_fault_classify(text, NULL);
    xr_fault_leaf(text, leaf, sizeof(leaf));
    if (memchr(leaf, '\0', sizeof(leaf)) == NULL)
        abort();
    if (!xr_fault_code_equal(text, text))
        abort();
    free(text);
    return 0;
}

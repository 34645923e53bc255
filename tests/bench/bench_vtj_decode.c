/*
 * Micro-benchmark of the VTJ answer decoder (vtj_decode(), in
 * adapter/services/vtj_decode.c). Not a test: a program to run under
 * valgrind --tool=callgrind, whose instruction count divided by N is the
 * cost of one decode (docs/performance.md).
 *
 *   bench_vtj_decode ANSWER.xml [N]
 *
 * ANSWER.xml is a whole SOAP message or just the Body wrapper
 * (HenkilonTunnusKyselyResponse). It is parsed once; then vtj_decode()
 * runs N times (default 1000, at most BENCH_MAX_RUNS) with the default
 * policy plus expected_hetu taken from the answer's request echo (or the
 * echoed search key), and every result is freed. The only output is one
 * line: "checksum <hex> runs <N>", where the checksum is FNV-1a over the
 * compact JSON of the first result and the outcome of every run, so two
 * builds that decode differently print different checksums.
 *
 * Exit status: 0, or 1 when the file cannot be read or a decode fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "services/vtj.h"

#include "../common/tv_xml.h"

#define BENCH_MAX_RUNS 10000000ul
#define BENCH_HETU_MAX 64u

/* The element child of parent with local name `name`, or NULL. */
static xmlNodePtr child_named(xmlNodePtr parent, const char *name)
{
    if (!parent)
        return NULL;
    for (xmlNodePtr n = parent->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && n->name &&
            strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

/*
 * The hetu the answer is about: request/Henkilotunnus, else
 * Hakuperusteet/Henkilotunnus, trimmed into out (empty when absent).
 */
static void expected_hetu(xmlNodePtr wrapper, char *out, size_t size)
{
    xmlNodePtr n =
        child_named(child_named(wrapper, "request"), "Henkilotunnus");
    xmlChar *text;
    size_t start = 0, end, len;

    out[0] = '\0';
    if (!n)
        n = child_named(
            child_named(child_named(child_named(wrapper, "response"),
                                    "VTJHenkiloVastaussanoma"),
                        "Hakuperusteet"),
            "Henkilotunnus");
    if (!n)
        return;
    text = xmlNodeGetContent(n);
    if (!text)
        return;
    end = strlen((const char *)text);
    while (start < end && strchr(" \t\r\n", text[start]))
        start++;
    while (end > start && strchr(" \t\r\n", text[end - 1]))
        end--;
    len = end - start;
    if (len < size) {
        memcpy(out, text + start, len);
        out[len] = '\0';
    }
    xmlFree(text);
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int main(int argc, char **argv)
{
    unsigned long runs = 1000;
    char hetu[BENCH_HETU_MAX];
    struct vtj_policy policy;
    struct xr_error err;
    uint64_t sum = 0xcbf29ce484222325ull;
    xmlDocPtr doc = NULL;
    xmlNodePtr wrapper;
    int status = 1;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s ANSWER.xml [N]\n", argv[0]);
        return 2;
    }
    if (argc == 3) {
        char *end = NULL;
        runs = strtoul(argv[2], &end, 10);
        if (!end || *end != '\0' || runs == 0 || runs > BENCH_MAX_RUNS) {
            fprintf(stderr, "bench: N must be 1..%lu\n", BENCH_MAX_RUNS);
            return 2;
        }
    }
    doc =
        xmlReadFile(argv[1], NULL,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        fprintf(stderr, "bench: cannot parse %s\n", argv[1]);
        goto out;
    }
    wrapper = tv_wrapper(doc);
    if (!wrapper) {
        fprintf(stderr, "bench: no Body element in %s\n", argv[1]);
        goto out;
    }
    memset(&policy, 0, sizeof(policy));
    expected_hetu(wrapper, hetu, sizeof(hetu));
    policy.expected_hetu = hetu[0] ? hetu : NULL;

    for (unsigned long i = 0; i < runs; i++) {
        struct vtj_result *r = NULL;
        enum vtj_outcome o;

        if (vtj_decode(wrapper, &policy, &r, &err) != XR_OK) {
            fprintf(stderr, "bench: decode failed: %s\n", err.reason);
            goto out;
        }
        o = vtj_result_outcome(r);
        sum = fnv1a(sum, &o, sizeof(o));
        if (i == 0) {
            json_t *j = vtj_result_to_json(r);
            char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
            json_decref(j);
            if (!s) {
                vtj_result_free(r);
                fprintf(stderr, "bench: out of memory\n");
                goto out;
            }
            sum = fnv1a(sum, s, strlen(s));
            free(s);
        }
        vtj_result_free(r);
    }
    printf("checksum %016llx runs %lu\n", (unsigned long long)sum, runs);
    status = 0;
out:
    if (doc)
        xmlFreeDoc(doc);
    return status;
}

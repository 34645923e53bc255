/*
 * The floor of one VTJ query: what the parts that issue 5 requires cost on
 * this machine when nothing else runs, measured in a hot loop, one thread.
 * Not a test: bench_serve.sh runs it on the simulator's own answer and
 * prints the figures next to the daemon's (docs/performance.md).
 *
 *   bench_floor REQUEST.xml ANSWER.xml [N]
 *
 * Each line is process CPU time (user + system) per operation:
 *   - parse the answer into a libxml2 tree and free it, with the options
 *     libxroad uses (a new parser context each time, as libxroad does);
 *   - the same with one parser context reused;
 *   - a libxml2 SAX2 parse with empty callbacks: no tree at all, the lower
 *     bound for any response path built on libxml2;
 *   - SHA-512 of the request and of the answer (the audit digests; the
 *     request digest is also the requestHash check);
 *   - the audit store (adapter/audit.c, the daemon's own code): one intent
 *     and one outcome row per query, made durable (WAL, synchronous=FULL)
 *     in commits shared by G queries, for several G.
 * N (default 2000, at most BENCH_MAX_RUNS) is the number of parses and
 * digests; the audit lines write N queries each into a store in a new
 * directory under $TMPDIR (removed at exit).
 *
 * Exit status: 0, or 1 when a file cannot be read or a step fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <openssl/evp.h>

#include <xroad/envelope.h>
#include <xroad/error.h>

#include "audit.h"

#define BENCH_MAX_RUNS 1000000ul
#define BENCH_FILE_MAX (1u << 20)
#define BENCH_XML_OPTS                                           \
    (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | \
     XML_PARSE_NOCDATA | XML_PARSE_NOBLANKS | XML_PARSE_COMPACT)

struct bench_file {
    char *data;
    size_t len;
};

/* Read a whole file of at most BENCH_FILE_MAX bytes. */
static int file_read(const char *path, struct bench_file *f)
{
    FILE *fp = fopen(path, "rb");
    size_t n = 0;
    int rc = -1;

    f->data = malloc(BENCH_FILE_MAX);
    if (!fp || !f->data)
        goto out;
    n = fread(f->data, 1, BENCH_FILE_MAX, fp);
    if (ferror(fp) || n == 0 || n == BENCH_FILE_MAX)
        goto out;
    f->len = n;
    rc = 0;
out:
    if (fp)
        fclose(fp);
    if (rc != 0)
        fprintf(stderr,
                "bench_floor: cannot read %s (empty, unreadable or "
                "over %u bytes)\n",
                path, BENCH_FILE_MAX);
    return rc;
}

static double cpu_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static bool bench_quiet; /* warming up: measure, do not print */

/* Print and return the CPU time per operation since t0. */
static double report(const char *what, double t0, unsigned long n)
{
    double us = (cpu_us() - t0) / (double)n;

    if (!bench_quiet)
        printf("%-58s %8.1f us\n", what, us);
    return us;
}

static int bench_dom(const struct bench_file *answer, unsigned long n,
                     bool reuse)
{
    xmlParserCtxtPtr ctxt = NULL;
    double t0 = cpu_us();
    int rc = -1;

    for (unsigned long i = 0; i < n; i++) {
        xmlDocPtr doc;

        if (!ctxt && !(ctxt = xmlNewParserCtxt()))
            goto out;
        doc = xmlCtxtReadMemory(ctxt, answer->data, (int)answer->len, NULL,
                                NULL, BENCH_XML_OPTS);
        if (!doc || !ctxt->wellFormed) {
            xmlFreeDoc(doc);
            fprintf(stderr, "bench_floor: the answer is not well-formed\n");
            goto out;
        }
        xmlFreeDoc(doc);
        if (!reuse) {
            xmlFreeParserCtxt(ctxt);
            ctxt = NULL;
        }
    }
    report(reuse ? "answer -> libxml2 tree, parser context reused"
                 : "answer -> libxml2 tree (as libxroad parses it)",
           t0, n);
    rc = 0;
out:
    xmlFreeParserCtxt(ctxt);
    return rc;
}

static void sax_start(void *ctx, const xmlChar *localname,
                      const xmlChar *prefix, const xmlChar *uri, int nns,
                      const xmlChar **ns, int nattr, int ndef,
                      const xmlChar **attr)
{
    unsigned long *count = ((xmlParserCtxtPtr)ctx)->_private;

    (void)localname, (void)prefix, (void)uri, (void)nns, (void)ns;
    (void)nattr, (void)ndef, (void)attr;
    ++*count;
}

static int bench_sax(const struct bench_file *answer, unsigned long n,
                     double *us)
{
    xmlSAXHandler sax;
    unsigned long elements = 0;
    double t0 = cpu_us();

    memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = sax_start;
    for (unsigned long i = 0; i < n; i++) {
        xmlParserCtxtPtr ctxt =
            xmlCreateMemoryParserCtxt(answer->data, (int)answer->len);
        int ok;

        if (!ctxt)
            return -1;
        memcpy(ctxt->sax, &sax, sizeof(sax));
        ctxt->_private = &elements;
        xmlCtxtUseOptions(ctxt, BENCH_XML_OPTS);
        ok = xmlParseDocument(ctxt) == 0 && ctxt->wellFormed;
        xmlFreeParserCtxt(ctxt);
        if (!ok)
            return -1;
    }
    *us = report("answer -> libxml2 SAX2 events, no tree", t0, n);
    return elements > 0 ? 0 : -1;
}

static int bench_sha512(const struct bench_file *request,
                        const struct bench_file *answer, unsigned long n,
                        double *us)
{
    const EVP_MD *md = EVP_sha512();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len;
    double t0 = cpu_us();

    for (unsigned long i = 0; i < n; i++)
        if (!EVP_Digest(request->data, request->len, out, &len, md, NULL) ||
            !EVP_Digest(answer->data, answer->len, out, &len, md, NULL))
            return -1;
    *us = report("SHA-512 of the request and of the answer", t0, n);
    return 0;
}

/* n queries, group queries per commit: intents, commit, outcomes, commit. */
static int bench_audit(const char *dir, /* at most 512 bytes */
                       unsigned long n, unsigned group, double *us)
{
    static const uint8_t digest[ADP_AUDIT_SHA512_LEN] = {1};
    struct adp_audit *a = NULL;
    struct xr_error err;
    char path[600], side[620], ids[64][40], what[80];
    unsigned long done = 0;
    double t0;
    int rc = -1;

    if (group == 0 || group > 64)
        return -1;
    if (snprintf(path, sizeof(path), "%s/audit-%u.db", dir, group) >=
        (int)sizeof(path))
        return -1;
    if (adp_audit_open(path, NULL, &a, &err) != XR_OK)
        goto fail;
    t0 = cpu_us();
    for (unsigned long i = 0; i < n; i += group) {
        uint64_t ticket;

        for (unsigned g = 0; g < group; g++) {
            struct adp_audit_intent in = {
                .caller = "bench-caller",
                .end_user = "bench.user@example.fi",
                .purpose = "benchmark",
                .service = "FI-TEST/GOV/0245437-2/VTJkysely/"
                           "HenkilonTunnusKysely/v1",
                .product = "PERUSSANOMA 3",
                .subject = "150380-903V",
                .message_id = ids[g],
                .request_sha512 = digest,
            };

            if (xr_uuid7(ids[g], sizeof(ids[g]), &err) != XR_OK ||
                adp_audit_intent(a, &in, &ticket, &err) != XR_OK)
                goto fail;
        }
        if (adp_audit_commit(a, &err) != XR_OK)
            goto fail;
        for (unsigned g = 0; g < group; g++) {
            struct adp_audit_outcome out = {
                .message_id = ids[g],
                .result_class = "ok",
                .return_code = "0000",
                .duration_ms = 1,
                .response_sha512 = digest,
            };

            if (adp_audit_outcome(a, &out, &ticket, &err) != XR_OK)
                goto fail;
        }
        if (adp_audit_commit(a, &err) != XR_OK)
            goto fail;
        done += group;
    }
    snprintf(what, sizeof(what), "audit: 2 durable rows, %u %s per commit",
             group, group == 1 ? "query" : "queries");
    *us = report(what, t0, done);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "bench_floor: audit store: %s\n", err.msg);
out:
    adp_audit_close(a);
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    return rc;
}

int main(int argc, char **argv)
{
    static const unsigned groups[] = {1, 4, 16, 64};
    double sax_us = 0, sha_us = 0, audit_us = 0;
    struct bench_file request = {0}, answer = {0};
    unsigned long n = 2000;
    const char *tmp = getenv("TMPDIR");
    char tdir[512];
    int rc = 1;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: bench_floor REQUEST.xml ANSWER.xml [N]\n");
        return 1;
    }
    if (argc == 4) {
        char *end;
        n = strtoul(argv[3], &end, 10);
        if (*end || n == 0 || n > BENCH_MAX_RUNS) {
            fprintf(stderr, "bench_floor: N must be 1..%lu\n", BENCH_MAX_RUNS);
            return 1;
        }
    }
    if (snprintf(tdir, sizeof(tdir), "%s/vayla-floor.XXXXXX",
                 tmp && *tmp ? tmp : "/tmp") >= (int)sizeof(tdir)) {
        fprintf(stderr, "bench_floor: TMPDIR is too long\n");
        return 1;
    }
    if (file_read(argv[1], &request) || file_read(argv[2], &answer))
        goto out;
    if (!mkdtemp(tdir)) {
        perror("bench_floor: mkdtemp");
        goto out;
    }
    xmlInitParser();
    /* Warm up: caches, the CPU's clock, libxml2's and OpenSSL's tables. */
    bench_quiet = true;
    if (bench_dom(&answer, n / 4 + 1, true) ||
        bench_sax(&answer, n / 4 + 1, &sax_us))
        goto out_dir;
    bench_quiet = false;
    printf("floor of one query (hot loop, one thread; request %zu B, "
           "answer %zu B)\n",
           request.len, answer.len);
    if (bench_dom(&answer, n, false) || bench_dom(&answer, n, true) ||
        bench_sax(&answer, n, &sax_us) ||
        bench_sha512(&request, &answer, n, &sha_us))
        goto out_dir;
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        double us;

        if (bench_audit(tdir, n, groups[i], &us))
            goto out_dir;
        if (i == 0 || us < audit_us)
            audit_us = us;
    }
    /* The cheapest form of each required part, added up: no HTTP, no
     * curl, no VTJ decode, no JSON, no tree. */
    printf("%-58s %8.1f us\n", "floor: SAX parse + SHA-512 + cheapest audit",
           sax_us + sha_us + audit_us);
    rc = 0;
out_dir:
    rmdir(tdir);
out:
    free(request.data);
    free(answer.data);
    return rc;
}

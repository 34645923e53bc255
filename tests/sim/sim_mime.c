/*
 * Multipart/related answers (SwA and MTOM) and the answer record that
 * services and metaservices fill (sim.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "sim.h"

#define BOUNDARY_TRIES 8

int sim_answer_part(struct sim_answer *a, const char *ctype, const char *cid,
                    const uint8_t *data, size_t len)
{
    uint8_t *copy;

    if (a->nparts >= SIM_MAX_PARTS)
        return -1;
    copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    if (len)
        memcpy(copy, data, len);
    sim_strlcpy(a->part_ctype[a->nparts], ctype, sizeof(a->part_ctype[0]));
    sim_strlcpy(a->part_cid[a->nparts], cid ? cid : "", sizeof(a->part_cid[0]));
    a->part_data[a->nparts] = copy;
    a->parts[a->nparts] = (struct sim_part){a->part_ctype[a->nparts],
                                            a->part_cid[a->nparts], copy, len};
    a->nparts++;
    return 0;
}

void sim_answer_cleanup(struct sim_answer *a)
{
    for (size_t i = 0; i < a->nparts; i++)
        free(a->part_data[i]);
    a->nparts = 0;
}

void sim_answer_fault(struct sim_answer *a, bool verbatim, const char *code,
                      const char *fmt, ...)
{
    va_list ap;

    a->fault = true;
    a->fault_verbatim = verbatim;
    sim_strlcpy(a->fault_code, code, sizeof(a->fault_code));
    va_start(ap, fmt);
    vsnprintf(a->fault_text, sizeof(a->fault_text), fmt, ap);
    va_end(ap);
}

/* True when needle occurs in hay[0..n). */
static bool contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (hay[i] == (uint8_t)needle[0] && !memcmp(hay + i, needle, k))
            return true;
    return false;
}

static void put(uint8_t *out, size_t *o, const void *s, size_t n)
{
    memcpy(out + *o, s, n);
    *o += n;
}

int sim_mime_build(const uint8_t *soap, size_t soap_len, bool mtom,
                   const struct sim_part *parts, size_t n, uint8_t **out,
                   size_t *out_len, char *ctype, size_t ctype_size)
{
    char boundary[48], head[640];
    unsigned char rnd[12];
    size_t total, o = 0;
    uint8_t *buf;
    bool clash = true;
    int hn;

    *out = NULL;
    *out_len = 0;
    /* A random boundary that none of the parts contains. */
    for (int t = 0; t < BOUNDARY_TRIES && clash; t++) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
            return -1;
        snprintf(boundary, sizeof(boundary), "vayla-sim-");
        for (size_t i = 0; i < sizeof(rnd); i++)
            snprintf(boundary + strlen(boundary), 3, "%02x", rnd[i]);
        clash = contains(soap, soap_len, boundary);
        for (size_t i = 0; i < n && !clash; i++)
            clash = contains(parts[i].data, parts[i].len, boundary);
    }
    if (clash)
        return -1;
    total = soap_len + 4 * sizeof(boundary) + 256;
    for (size_t i = 0; i < n; i++)
        total += parts[i].len + 640 + 2 * sizeof(boundary);
    buf = malloc(total);
    if (!buf)
        return -1;
    hn = snprintf(head, sizeof(head),
                  "--%s\r\nContent-Type: %s\r\n"
                  "Content-Transfer-Encoding: 8bit\r\n\r\n",
                  boundary,
                  mtom ? "application/xop+xml; charset=UTF-8; "
                         "type=\"text/xml\""
                       : "text/xml; charset=UTF-8");
    put(buf, &o, head, (size_t)hn);
    put(buf, &o, soap, soap_len);
    for (size_t i = 0; i < n; i++) {
        hn = snprintf(head, sizeof(head),
                      "\r\n--%s\r\nContent-Type: %.250s\r\n"
                      "Content-Transfer-Encoding: binary\r\n",
                      boundary, parts[i].content_type);
        put(buf, &o, head, (size_t)hn);
        if (parts[i].content_id && parts[i].content_id[0]) {
            hn = snprintf(head, sizeof(head), "Content-ID: <%.250s>\r\n",
                          parts[i].content_id);
            put(buf, &o, head, (size_t)hn);
        }
        put(buf, &o, "\r\n", 2);
        put(buf, &o, parts[i].data, parts[i].len);
    }
    hn = snprintf(head, sizeof(head), "\r\n--%s--\r\n", boundary);
    put(buf, &o, head, (size_t)hn);
    if (mtom)
        snprintf(ctype, ctype_size,
                 "multipart/related; type=\"application/xop+xml\"; "
                 "start-info=\"text/xml\"; charset=UTF-8; boundary=\"%s\"",
                 boundary);
    else
        snprintf(ctype, ctype_size,
                 "multipart/related; type=\"text/xml\"; charset=UTF-8; "
                 "boundary=\"%s\"",
                 boundary);
    *out = buf;
    *out_len = o;
    return 0;
}

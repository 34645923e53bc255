/*
 * Helpers shared by the VTJ unit tests (test_vtj_*.c): file access to the
 * project's fixtures (tests/data/vtj, via XR_SOURCE_DIR) and the shared
 * vectors (XR_VECTORS_DIR) and a plain libxml2 parse without network or
 * DTD; the tree helpers (tv_body_child and friends) are in
 * tests/common/tv_xml.h.
 *
 * Everything is static so each test executable takes what it uses.
 */
#ifndef TEST_VTJ_COMMON_H
#define TEST_VTJ_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_helpers.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "../common/tv_xml.h"

#define TV_MAX_FILE (8u * 1024u * 1024u)

/* Whole file into a new NUL-terminated buffer, or NULL. */
static inline char *tv_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        (unsigned long)n > TV_MAX_FILE || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

/* $XR_SOURCE_DIR/tests/data/vtj/<name>; fails the test when absent. */
static inline char *tv_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("XR_SOURCE_DIR");
    char path[4096];
    char *buf;

    if (!dir)
        fail_msg("XR_SOURCE_DIR is not set");
    snprintf(path, sizeof(path), "%s/tests/data/vtj/%s", dir, name);
    buf = tv_read(path, len);
    if (!buf)
        fail_msg("cannot read fixture %s", path);
    return buf;
}

static inline void tv_fixture_path(const char *name, char *out, size_t size)
{
    const char *dir = getenv("XR_SOURCE_DIR");

    if (!dir)
        fail_msg("XR_SOURCE_DIR is not set");
    snprintf(out, size, "%s/tests/data/vtj/%s", dir, name);
}

/*
 * $XR_VECTORS_DIR/<rel> into out; false (after printing SKIP) when the
 * vectors are absent. The caller then calls skip().
 */
static inline bool tv_vector_path(const char *rel, char *out, size_t size)
{
    const char *dir = getenv("XR_VECTORS_DIR");
    FILE *f;

    if (!dir) {
        print_message("SKIP: XR_VECTORS_DIR is not set\n");
        return false;
    }
    snprintf(out, size, "%s/%s", dir, rel);
    f = fopen(out, "rb");
    if (!f) {
        print_message("SKIP: shared vector %s is absent\n", out);
        return false;
    }
    fclose(f);
    return true;
}

/* Parse without network access; refuses documents with a DTD. */
static inline xmlDocPtr tv_parse(const char *buf, size_t len)
{
    xmlDocPtr doc = xmlReadMemory(buf, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR |
                                      XML_PARSE_NOWARNING);
    if (doc && doc->intSubset) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

#endif

/* The failing allocator of the out-of-memory tests (oom_alloc.h). */
#include <stddef.h>
#include <stdlib.h>

#include <libxml/xmlmemory.h>
#include <openssl/crypto.h>

#include "oom_alloc.h"

static long fail_at; /* fail the n-th allocation (1-based); 0 = never */
static long count;   /* allocations since armed */
static bool failed;  /* the armed allocation was refused */

void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static bool refuse(void)
{
    if (fail_at == 0)
        return false;
    if (++count == fail_at) {
        failed = true;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n)
{
    return refuse() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t a, size_t b)
{
    return refuse() ? NULL : __real_calloc(a, b);
}

void *__wrap_realloc(void *p, size_t n)
{
    return refuse() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return refuse() ? NULL : __real_strdup(s);
}

static void *xml_malloc(size_t n)
{
    return __wrap_malloc(n);
}

static void *xml_realloc(void *p, size_t n)
{
    return __wrap_realloc(p, n);
}

static char *xml_strdup(const char *s)
{
    return __wrap_strdup(s);
}

static void *ossl_malloc(size_t n, const char *f, int l)
{
    (void)f;
    (void)l;
    return __wrap_malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *f, int l)
{
    (void)f;
    (void)l;
    return __wrap_realloc(p, n);
}

static void ossl_free(void *p, const char *f, int l)
{
    (void)f;
    (void)l;
    free(p);
}

bool oom_install(void)
{
    return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) &&
           xmlMemSetup(free, xml_malloc, xml_realloc, xml_strdup) == 0;
}

void oom_arm(long n)
{
    count = 0;
    failed = false;
    fail_at = n;
}

bool oom_disarm(void)
{
    fail_at = 0;
    return failed;
}

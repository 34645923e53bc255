/*
 * A failing allocator for out-of-memory tests (oom_alloc.c): the n-th
 * allocation after oom_arm(n) is refused, whoever makes it: libxroad and
 * the test through link-time wrapping (link with -Wl,--wrap=malloc,
 * --wrap=calloc, --wrap=realloc and --wrap=strdup), libxml2 through
 * xmlMemSetup and OpenSSL through CRYPTO_set_mem_functions
 * (oom_install(), before anything allocates through them).
 */
#ifndef VAYLA_TEST_OOM_ALLOC_H
#define VAYLA_TEST_OOM_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* The real allocator, for a test's own buffers that must never fail. */
void *__real_malloc(size_t n);
char *__real_strdup(const char *s);

/* Route libxml2's and OpenSSL's allocations through the wrappers; false
 * when either library refuses. */
bool oom_install(void);

/* Refuse the n-th allocation from now (1-based); 0 refuses none. */
void oom_arm(long n);

/* Stop refusing; true when the armed allocation was refused (false: the
 * work made fewer than n allocations). */
bool oom_disarm(void);

#endif

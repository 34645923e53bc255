/*
 * String arena (internal.h): copies of short strings in a few large
 * blocks that never move, so the readers of lists and records keep
 * thousands of strings without one allocation each and free them at once.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BLOCK_SIZE (64u * 1024u)

struct xr__arena_block {
    struct xr__arena_block *next;
    size_t used, size;
    char data[];
};

const char *xr__arena_dup(struct xr__arena *a, const char *s, size_t len)
{
    struct xr__arena_block *b = a->head;
    char *out;

    if (!b || b->size - b->used < len + 1) {
        /* A string larger than a quarter block gets a block of its own,
         * so a few long strings do not waste the rest of a block. */
        size_t size = len + 1 > BLOCK_SIZE / 4 ? len + 1 : BLOCK_SIZE;
        b = malloc(sizeof(*b) + size);
        if (!b)
            return NULL;
        b->used = 0;
        b->size = size;
        if (size == BLOCK_SIZE || !a->head) {
            b->next = a->head;
            a->head = b;
        } else {
            /* Keep the current block in front for the next strings. */
            b->next = a->head->next;
            a->head->next = b;
        }
    }
    out = b->data + b->used;
    memcpy(out, s, len);
    out[len] = '\0';
    b->used += len + 1;
    return out;
}

void xr__arena_free(struct xr__arena *a)
{
    struct xr__arena_block *b = a->head;

    while (b) {
        struct xr__arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

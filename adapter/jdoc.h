/*
 * Answer documents: a JSON value built once, edited a little (a member
 * replaced or removed), written once as text. Every node lives in the
 * document's arena, a few blocks freed at once, where a jansson tree of a
 * person answer costs about 200 allocations and a hash table per object.
 * Objects keep their members in insertion order; replacing a member's
 * value keeps its place (as jansson does), so jd_write() gives byte for
 * byte what json_dumps(JSON_COMPACT) gives for the same tree, and
 * jd_to_json() builds that tree for those who want jansson.
 *
 * Ownership: nodes belong to their document and die with jd_free(); a
 * node goes into one container of the same document. Member keys are
 * borrowed and must outlive the document (the decoders use their static
 * tables). Thread-safety: a document is used by one thread at a time;
 * the shared null/true/false nodes are read-only.
 */
#ifndef VAYLA_JDOC_H
#define VAYLA_JDOC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "jw.h"

struct jd;
struct jd_node;

/* A new empty document. Ownership: new (jd_free(), accepts NULL). */
struct jd *jd_new(void);
void jd_free(struct jd *d);

/*
 * Values. NULL on allocation failure; jd_string() also refuses text that
 * is not UTF-8 (as json_stringn() does) and copies it; jd_lit() borrows a
 * static UTF-8 string.
 */
struct jd_node *jd_object(struct jd *d);
struct jd_node *jd_array(struct jd *d);
struct jd_node *jd_string(struct jd *d, const char *s, size_t len);
struct jd_node *jd_lit(struct jd *d, const char *s);
struct jd_node *jd_int(struct jd *d, long long v);
struct jd_node *jd_bool(bool v);
struct jd_node *jd_null(void);

/*
 * Set member key of obj to v: an existing member keeps its place. -1 when
 * obj is not an object, v is NULL or memory ran out.
 */
int jd_set(struct jd *d, struct jd_node *obj, const char *key,
           struct jd_node *v);
/* Append v to arr; -1 as for jd_set(). */
int jd_append(struct jd *d, struct jd_node *arr, struct jd_node *v);
/* Member key of obj, NULL when absent (or obj is not an object). */
struct jd_node *jd_get(const struct jd_node *obj, const char *key);
/* Remove member key of obj; false when there was none. */
bool jd_del(struct jd_node *obj, const char *key);
/* Members of an object, items of an array; 0 for other values. */
size_t jd_size(const struct jd_node *n);
/* The text of a string node, NULL for other values or NULL. */
const char *jd_str(const struct jd_node *n);

/* n as compact JSON text. */
void jd_write(struct jw *w, const struct jd_node *n);
/* Each member of obj as `,"key":value`, to splice into an open object. */
void jd_write_members(struct jw *w, const struct jd_node *obj);
/* n as a jansson tree. Ownership: new reference (NULL on failure). */
json_t *jd_to_json(const struct jd_node *n);

#endif

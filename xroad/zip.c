/*
 * Defensive in-memory ZIP reading on top of libzip (see zip.h).
 */
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "vutil.h"
#include "zip.h"

/* An entry must pass this many bytes before the ratio cap applies. */
#define RATIO_FLOOR (1024u * 1024u)
#define READ_CHUNK  (64u * 1024u)

void xr__zip_limits_resolve(struct xr_zip_limits *lim)
{
    if (lim->max_bytes == 0)
        lim->max_bytes = XR_ZIP_BYTES_DEFAULT;
    if (lim->max_entries == 0)
        lim->max_entries = XR_ZIP_ENTRIES_DEFAULT;
    if (lim->max_entry_bytes == 0)
        lim->max_entry_bytes = XR_ZIP_ENTRY_BYTES_DEFAULT;
    if (lim->max_total_bytes == 0)
        lim->max_total_bytes = XR_ZIP_TOTAL_BYTES_DEFAULT;
    if (lim->max_ratio == 0)
        lim->max_ratio = XR_ZIP_RATIO_DEFAULT;
}

void xr__zip_free(struct xr__zip *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->n; i++) {
        free(z->e[i].name);
        free(z->e[i].data);
    }
    free(z->e);
    z->e = NULL;
    z->n = 0;
}

/*
 * Why a name is unsafe, or NULL when it is a plain relative path. Names
 * are never used as paths, but a name that could be one ("../x", "/etc",
 * "a\\b") has no business in a container, and refusing them keeps every
 * later comparison simple.
 */
static const char *name_problem(const char *name, size_t len)
{
    size_t start = 0;

    if (len == 0)
        return "empty name";
    if (len > XR__ZIP_NAME_MAX)
        return "name too long";
    if (!xr__utf8_valid((const uint8_t *)name, len))
        return "name is not UTF-8";
    if (name[0] == '/')
        return "absolute name";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return "control character in name";
        if (c == '\\')
            return "backslash in name";
        if (c == ':')
            return "colon in name";
    }
    /* Components: none empty (but a final '/' of a directory), "." or "..". */
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] != '/')
            continue;
        {
            size_t n = i - start;
            if (n == 0 && i < len)
                return "empty path component";
            if ((n == 1 && name[start] == '.') ||
                (n == 2 && name[start] == '.' && name[start + 1] == '.'))
                return "'.' or '..' component";
        }
        start = i + 1;
    }
    return NULL;
}

static int cmp_nocase(const void *a, const void *b)
{
    const struct xr__zip_entry *x = *(const struct xr__zip_entry *const *)a;
    const struct xr__zip_entry *y = *(const struct xr__zip_entry *const *)b;
    const unsigned char *p = (const unsigned char *)x->name;
    const unsigned char *q = (const unsigned char *)y->name;

    for (;; p++, q++) {
        unsigned char c = *p, d = *q;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (d >= 'A' && d <= 'Z')
            d = (unsigned char)(d - 'A' + 'a');
        if (c != d || c == '\0')
            return (int)c - (int)d;
    }
}

/* Refuse two names that are equal ignoring ASCII case. */
static enum xr_status check_duplicates(const struct xr__zip *z,
                                       struct xr_error *err)
{
    const struct xr__zip_entry **v;
    enum xr_status rc = XR_OK;
    char clip[XR_CLIP];

    if (z->n < 2)
        return XR_OK;
    v = malloc(z->n * sizeof(*v));
    if (!v)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory checking entry names");
    for (size_t i = 0; i < z->n; i++)
        v[i] = &z->e[i];
    qsort(v, z->n, sizeof(*v), cmp_nocase);
    for (size_t i = 1; i < z->n; i++) {
        if (cmp_nocase(&v[i - 1], &v[i]) == 0) {
            rc = xr_error_set(err, XR_EPROTO, "asic_duplicate_entry", "",
                              "the ZIP holds the entry '%s' twice%s",
                              xr__clip(clip, sizeof(clip), v[i]->name),
                              strcmp(v[i - 1]->name, v[i]->name) != 0
                                  ? " (names differ only in case)"
                                  : "");
            break;
        }
    }
    free(v);
    return rc;
}

/* Inflate entry i into e->data, counting bytes against the caps. */
static enum xr_status read_entry(zip_t *za, const zip_stat_t *st,
                                 const struct xr_zip_limits *lim, size_t *total,
                                 struct xr__zip_entry *e, struct xr_error *err)
{
    zip_file_t *zf = NULL;
    size_t cap = 0, n = 0;
    uint64_t comp = (st->valid & ZIP_STAT_COMP_SIZE) ? st->comp_size : 0;
    char clip[XR_CLIP];
    enum xr_status rc;

    xr__clip(clip, sizeof(clip), e->name);
    if ((st->valid & ZIP_STAT_ENCRYPTION_METHOD) &&
        st->encryption_method != ZIP_EM_NONE)
        return xr_error_set(err, XR_EPROTO, "asic_encrypted_entry", "",
                            "entry '%s' is encrypted", clip);
    if ((st->valid & ZIP_STAT_COMP_METHOD) && st->comp_method != ZIP_CM_STORE &&
        st->comp_method != ZIP_CM_DEFLATE)
        return xr_error_set(err, XR_EPROTO, "asic_unsupported_compression", "",
                            "entry '%s' uses compression method %u", clip,
                            (unsigned)st->comp_method);
    /* An early, cheap refusal; the real count happens while reading. */
    if ((st->valid & ZIP_STAT_SIZE) && st->size > lim->max_entry_bytes)
        return xr_error_set(err, XR_ELIMIT, "too_large", "",
                            "entry '%s' claims %llu bytes, limit %zu", clip,
                            (unsigned long long)st->size, lim->max_entry_bytes);
    zf = zip_fopen_index(za, e->index, 0);
    if (!zf)
        return xr_error_set(err, XR_EPARSE, "asic_corrupt", "",
                            "entry '%s' cannot be opened: %s", clip,
                            zip_error_strerror(zip_get_error(za)));
    /* Start at the claimed size (+1 to see that nothing follows), grow
     * by doubling, never beyond the cap + 1. */
    cap = (st->valid & ZIP_STAT_SIZE) ? (size_t)st->size + 1 : READ_CHUNK;
    if (cap < 256)
        cap = 256;
    e->data = malloc(cap + 1);
    if (!e->data) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "out of memory reading entry '%s'", clip);
        goto out;
    }
    for (;;) {
        zip_int64_t got;
        if (n == cap) {
            size_t ncap = cap * 2;
            uint8_t *p;
            if (ncap > lim->max_entry_bytes + 1)
                ncap = lim->max_entry_bytes + 1;
            if (ncap <= cap)
                ncap = cap + 1;
            p = realloc(e->data, ncap + 1);
            if (!p) {
                rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                  "out of memory reading entry '%s'", clip);
                goto out;
            }
            e->data = p;
            cap = ncap;
        }
        got = zip_fread(zf, e->data + n, cap - n);
        if (got < 0) {
            rc = xr_error_set(err, XR_EPARSE, "asic_corrupt", "",
                              "entry '%s' cannot be read: %s", clip,
                              zip_error_strerror(zip_file_get_error(zf)));
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        *total += (size_t)got;
        if (n > lim->max_entry_bytes || *total > lim->max_total_bytes) {
            rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                              "entry '%s' inflates beyond the limit (%zu "
                              "bytes per entry, %zu in all)",
                              clip, lim->max_entry_bytes, lim->max_total_bytes);
            goto out;
        }
        if (n > RATIO_FLOOR && (comp == 0 || n / comp >= lim->max_ratio)) {
            rc = xr_error_set(err, XR_ELIMIT, "asic_zip_bomb", "",
                              "entry '%s' inflates more than %u times "
                              "(%llu compressed bytes)",
                              clip, lim->max_ratio, (unsigned long long)comp);
            goto out;
        }
    }
    e->data[n] = '\0';
    e->len = n;
    rc = XR_OK;
out:
    zip_fclose(zf);
    return rc;
}

static enum xr_status open_zip(const uint8_t *buf, size_t len, zip_t **za,
                               struct xr_error *err)
{
    zip_error_t ze;
    zip_source_t *src;
    enum xr_status rc = XR_OK;

    *za = NULL;
    zip_error_init(&ze);
    src = zip_source_buffer_create(buf, len, 0, &ze);
    if (!src) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "cannot open the ZIP: %s", zip_error_strerror(&ze));
        goto out;
    }
    *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!*za) {
        zip_source_free(src);
        if (zip_error_code_zip(&ze) == ZIP_ER_MEMORY)
            rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                              "out of memory opening the ZIP");
        else if (zip_error_code_zip(&ze) == ZIP_ER_EXISTS)
            rc = xr_error_set(err, XR_EPROTO, "asic_duplicate_entry", "",
                              "the ZIP holds an entry name twice");
        else if (zip_error_code_zip(&ze) == ZIP_ER_INCONS)
            rc = xr_error_set(err, XR_EPARSE, "asic_corrupt", "",
                              "the ZIP is inconsistent (its directory and "
                              "entries disagree, or a name is not valid "
                              "UTF-8)");
        else
            rc = xr_error_set(err, XR_EPARSE, "asic_not_container", "",
                              "not a ZIP container: %s",
                              zip_error_strerror(&ze));
    }
out:
    zip_error_fini(&ze);
    return rc;
}

/* Name and metadata of entry i into *e, with the name rules applied. */
static enum xr_status entry_meta(zip_t *za, zip_uint64_t i, zip_stat_t *st,
                                 struct xr__zip_entry *e, struct xr_error *err)
{
    const char *name;
    const char *why;
    size_t nl;
    char clip[XR_CLIP];

    zip_stat_init(st);
    if (zip_stat_index(za, i, ZIP_FL_ENC_RAW, st) != 0)
        return xr_error_set(err, XR_EPARSE, "asic_corrupt", "",
                            "entry %llu cannot be read", (unsigned long long)i);
    name = zip_get_name(za, i, ZIP_FL_ENC_RAW);
    if (!name)
        return xr_error_set(err, XR_EPARSE, "asic_corrupt", "",
                            "entry %llu has no name", (unsigned long long)i);
    nl = strlen(name);
    why = name_problem(name, nl);
    if (why) {
        /* Quote only what is safe to print. */
        char safe[XR_CLIP];
        size_t k = 0;
        for (size_t j = 0; j < nl && k + 1 < sizeof(safe); j++)
            safe[k++] = (name[j] >= 0x20 && name[j] < 0x7f) ? name[j] : '?';
        safe[k] = '\0';
        return xr_error_set(err, XR_EPROTO, "asic_unsafe_entry_name", "",
                            "unsafe entry name '%s': %s",
                            xr__clip(clip, sizeof(clip), safe), why);
    }
    e->name = strdup(name);
    if (!e->name)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    e->index = (size_t)i;
    e->is_dir = name[nl - 1] == '/';
    return XR_OK;
}

enum xr_status xr__zip_read(const uint8_t *buf, size_t len,
                            const struct xr_zip_limits *limits,
                            struct xr__zip *out, struct xr_error *err)
{
    struct xr_zip_limits lim = *limits;
    zip_t *za = NULL;
    zip_int64_t count;
    size_t total = 0;
    enum xr_status rc;

    memset(out, 0, sizeof(*out));
    xr__zip_limits_resolve(&lim);
    if (len > lim.max_bytes) {
        rc =
            xr_error_set(err, XR_ELIMIT, "too_large", "",
                         "the ZIP is %zu bytes, limit %zu", len, lim.max_bytes);
        goto out;
    }
    rc = open_zip(buf, len, &za, err);
    if (rc != XR_OK)
        goto out;
    count = zip_get_num_entries(za, 0);
    if (count <= 0) {
        rc = xr_error_set(err, XR_EPARSE, "asic_not_container", "",
                          "the ZIP has no entries");
        goto out;
    }
    if ((uint64_t)count > lim.max_entries) {
        rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                          "the ZIP has %lld entries, limit %zu",
                          (long long)count, lim.max_entries);
        goto out;
    }
    out->e = calloc((size_t)count, sizeof(*out->e));
    if (!out->e) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    for (zip_int64_t i = 0; i < count; i++) {
        struct xr__zip_entry *e = &out->e[out->n];
        zip_stat_t st;

        rc = entry_meta(za, (zip_uint64_t)i, &st, e, err);
        if (rc != XR_OK)
            goto out;
        out->n++;
    }
    rc = check_duplicates(out, err);
    if (rc != XR_OK)
        goto out;
    for (size_t i = 0; i < out->n; i++) {
        struct xr__zip_entry *e = &out->e[i];
        zip_stat_t st;

        zip_stat_init(&st);
        if (zip_stat_index(za, e->index, ZIP_FL_ENC_RAW, &st) != 0) {
            rc = xr_error_set(err, XR_EPARSE, "asic_corrupt", "",
                              "entry %zu cannot be read", e->index);
            goto out;
        }
        rc = read_entry(za, &st, &lim, &total, e, err);
        if (rc != XR_OK)
            goto out;
        if (e->is_dir && e->len != 0) {
            char clip[XR_CLIP];
            rc = xr_error_set(err, XR_EPROTO, "asic_unsafe_entry_name", "",
                              "directory entry '%s' has content",
                              xr__clip(clip, sizeof(clip), e->name));
            goto out;
        }
    }
    rc = XR_OK;
out:
    if (za)
        zip_discard(za);
    if (rc != XR_OK)
        xr__zip_free(out);
    return rc;
}

const struct xr__zip_entry *xr__zip_find(const struct xr__zip *z,
                                         const char *name)
{
    for (size_t i = 0; i < z->n; i++)
        if (!z->e[i].is_dir && xr__ieq(z->e[i].name, name))
            return &z->e[i];
    return NULL;
}

enum xr_status xr_zip_each(const uint8_t *buf, size_t len,
                           const struct xr_zip_limits *limits,
                           xr_zip_entry_fn *fn, void *ctx, struct xr_error *err)
{
    struct xr_zip_limits lim;
    struct xr__zip z;
    enum xr_status rc;

    if (!buf || !fn)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "xr_zip_each: no buffer or callback");
    memset(&lim, 0, sizeof(lim));
    if (limits)
        lim = *limits;
    rc = xr__zip_read(buf, len, &lim, &z, err);
    if (rc != XR_OK)
        return rc;
    for (size_t i = 0; i < z.n; i++) {
        const struct xr__zip_entry *e = &z.e[i];
        if (fn(ctx, e->name, e->is_dir ? NULL : e->data, e->is_dir ? 0 : e->len,
               e->is_dir) != 0)
            break;
    }
    xr__zip_free(&z);
    return XR_OK;
}

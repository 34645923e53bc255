/*
 * The verifier's per-thread cache (see acache.h).
 */
#include <stdlib.h>
#include <string.h>

#include "acache.h"
#include "vutil.h"

enum obj_kind { KIND_NONE, KIND_X509, KIND_OCSP, KIND_P7 };

struct obj {
    enum obj_kind kind;
    uint8_t key[32];
    void *p;
};

struct xr_asic_cache {
    const struct xr_vconf *vc; /* what the memos were verified against */
    size_t next_memo, next_obj;
    struct xr__memo memos[XR__ACACHE_MEMOS];
    struct obj objs[XR__ACACHE_OBJECTS];
};

static void obj_free(struct obj *o)
{
    switch (o->kind) {
    case KIND_X509:
        X509_free(o->p);
        break;
    case KIND_OCSP:
        OCSP_RESPONSE_free(o->p);
        break;
    case KIND_P7:
        PKCS7_free(o->p);
        break;
    case KIND_NONE:
        break;
    }
    memset(o, 0, sizeof(*o));
}

enum xr_status xr_asic_cache_new(struct xr_asic_cache **out,
                                 struct xr_error *err)
{
    if (!out)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "no output pointer");
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory");
    return XR_OK;
}

void xr_asic_cache_free(struct xr_asic_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < XR__ACACHE_OBJECTS; i++)
        obj_free(&c->objs[i]);
    free(c);
}

bool xr__memo_key(uint8_t key[32], enum xr__memo_kind kind,
                  const uint8_t *const *parts, const size_t *lens,
                  size_t nparts)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char k = (unsigned char)kind;
    unsigned n = 0;
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(md, &k, 1) == 1;

    for (size_t i = 0; ok && i < nparts; i++) {
        uint64_t l = lens[i];
        ok = EVP_DigestUpdate(md, &l, sizeof(l)) == 1 &&
             EVP_DigestUpdate(md, parts[i], lens[i]) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(md, key, &n) == 1 && n == 32;
    EVP_MD_CTX_free(md);
    return ok;
}

struct xr__memo *xr__memo_get(struct xr_asic_cache *c,
                              const struct xr_vconf *vc, const uint8_t key[32])
{
    if (!c)
        return NULL;
    if (c->vc != vc) {
        /* Another configuration: no verified result applies. */
        memset(c->memos, 0, sizeof(c->memos));
        c->vc = vc;
        c->next_memo = 0;
        return NULL;
    }
    for (size_t i = 0; i < XR__ACACHE_MEMOS; i++)
        if (c->memos[i].used && !memcmp(c->memos[i].key, key, 32))
            return &c->memos[i];
    return NULL;
}

struct xr__memo *xr__memo_put(struct xr_asic_cache *c, const uint8_t key[32])
{
    struct xr__memo *m;

    if (!c)
        return NULL;
    m = &c->memos[c->next_memo];
    c->next_memo = (c->next_memo + 1) % XR__ACACHE_MEMOS;
    memset(m, 0, sizeof(*m));
    m->used = true;
    memcpy(m->key, key, 32);
    return m;
}

/* The cached object of this kind and DER, or NULL; *key is filled. */
static struct obj *obj_find(struct xr_asic_cache *c, enum obj_kind kind,
                            const uint8_t *der, size_t len, uint8_t key[32],
                            bool *keyed)
{
    const uint8_t *parts[1] = {der};
    size_t lens[1] = {len};

    *keyed =
        xr__memo_key(key, (enum xr__memo_kind)(0x40 + kind), parts, lens, 1);
    if (!*keyed)
        return NULL;
    for (size_t i = 0; i < XR__ACACHE_OBJECTS; i++)
        if (c->objs[i].kind == kind && !memcmp(c->objs[i].key, key, 32))
            return &c->objs[i];
    return NULL;
}

static void obj_add(struct xr_asic_cache *c, enum obj_kind kind,
                    const uint8_t key[32], void *p)
{
    struct obj *o = &c->objs[c->next_obj];

    c->next_obj = (c->next_obj + 1) % XR__ACACHE_OBJECTS;
    obj_free(o);
    o->kind = kind;
    memcpy(o->key, key, 32);
    o->p = p;
}

X509 *xr__acache_x509(struct xr_asic_cache *c, const uint8_t *der, size_t len)
{
    uint8_t key[32];
    bool keyed = false;
    struct obj *o = c ? obj_find(c, KIND_X509, der, len, key, &keyed) : NULL;
    X509 *x;

    if (o)
        return X509_up_ref(o->p) == 1 ? o->p : NULL;
    x = xr__cert_parse(der, len);
    ERR_clear_error();
    if (x && c && keyed && X509_up_ref(x) == 1)
        obj_add(c, KIND_X509, key, x);
    return x;
}

OCSP_RESPONSE *xr__acache_ocsp(struct xr_asic_cache *c, const uint8_t *der,
                               size_t len, bool *owned)
{
    uint8_t key[32];
    bool keyed = false;
    struct obj *o = c ? obj_find(c, KIND_OCSP, der, len, key, &keyed) : NULL;
    const unsigned char *p = der;
    OCSP_RESPONSE *r;

    *owned = false;
    if (o)
        return o->p;
    r = len <= (size_t)INT32_MAX ? d2i_OCSP_RESPONSE(NULL, &p, (long)len)
                                 : NULL;
    ERR_clear_error();
    if (!r)
        return NULL;
    if (c && keyed)
        obj_add(c, KIND_OCSP, key, r);
    else
        *owned = true;
    return r;
}

PKCS7 *xr__acache_p7(struct xr_asic_cache *c, const uint8_t *der, size_t len,
                     bool *owned)
{
    uint8_t key[32];
    bool keyed = false;
    struct obj *o = c ? obj_find(c, KIND_P7, der, len, key, &keyed) : NULL;
    const unsigned char *p = der;
    PKCS7 *p7;

    *owned = false;
    if (o)
        return o->p;
    p7 = len <= (size_t)INT32_MAX ? d2i_PKCS7(NULL, &p, (long)len) : NULL;
    ERR_clear_error();
    /* Trailing bytes after the token are not a token. */
    if (p7 && p != der + len) {
        PKCS7_free(p7);
        p7 = NULL;
    }
    if (!p7)
        return NULL;
    if (c && keyed)
        obj_add(c, KIND_P7, key, p7);
    else
        *owned = true;
    return p7;
}

/*
 * Hash-chain verification (see hashchain.h), as X-Road's
 * HashChainVerifier does it: the chain's result digest must equal the
 * digest of the step it names, every DataRef whose data is at hand must
 * match that data, and every required input must be referenced.
 * Transforms on a DataRef are refused (X-Road never writes them).
 */
#include <stdlib.h>
#include <string.h>

#include "hashchain.h"
#include "vutil.h"

#define URI_MAX    512
#define DIGEST_MAX 128

struct hc_file {
    char uri[URI_MAX];
    xmlDocPtr doc;
    const char *def_md_uri; /* DefaultDigestMethod, in doc; may be NULL */
};

struct hc_ctx {
    xr__hc_resolve_fn *resolve;
    void *resolve_arg;
    struct xr__hc_input *inputs;
    size_t ninputs;
    xr__hc_report_fn *report;
    void *report_arg;
    const struct xr_limits *lim;
    struct xr_error *err;
    struct hc_file files[XR__HC_MAX_FILES];
    size_t nfiles;
    size_t evals;
};

/* A growable byte buffer for DER. */
struct der {
    uint8_t *p;
    size_t len, cap;
    bool oom;
};

static void der_put(struct der *d, const void *src, size_t n)
{
    if (d->oom)
        return;
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        uint8_t *p;
        while (cap < d->len + n)
            cap *= 2;
        p = realloc(d->p, cap);
        if (!p) {
            d->oom = true;
            return;
        }
        d->p = p;
        d->cap = cap;
    }
    memcpy(d->p + d->len, src, n);
    d->len += n;
}

/* Tag and DER length of a content of n bytes. */
static void der_head(struct der *d, uint8_t tag, size_t n)
{
    uint8_t h[10];
    size_t k = 0;

    h[k++] = tag;
    if (n < 0x80) {
        h[k++] = (uint8_t)n;
    } else {
        uint8_t tmp[8];
        size_t m = 0;
        for (size_t v = n; v > 0; v >>= 8)
            tmp[m++] = (uint8_t)(v & 0xff);
        h[k++] = (uint8_t)(0x80 | m);
        while (m > 0)
            h[k++] = tmp[--m];
    }
    der_put(d, h, k);
}

static size_t der_size(size_t n)
{
    size_t s = 2;

    if (n >= 0x80)
        for (size_t v = n; v > 0; v >>= 8)
            s++;
    return s + n;
}

/* SingleDigest ::= SEQUENCE { OCTET STRING, UTF8String, SEQUENCE {} } */
static void der_single(struct der *d, const uint8_t *digest, size_t dlen,
                       const char *uri)
{
    size_t ulen = strlen(uri);
    size_t inner = der_size(dlen) + der_size(ulen) + der_size(0);

    der_head(d, 0x30, inner);
    der_head(d, 0x04, dlen);
    der_put(d, digest, dlen);
    der_head(d, 0x0c, ulen);
    der_put(d, uri, ulen);
    der_head(d, 0x30, 0);
}

static enum xr_status malformed(struct hc_ctx *c, const char *what,
                                const char *uri)
{
    char clip[XR_CLIP];

    return xr_error_set(c->err, XR_EPROTO, "malformed_hash_chain", "",
                        "malformed hash chain: %s%s%s", what, uri ? ": " : "",
                        uri ? xr__clip(clip, sizeof(clip), uri) : "");
}

/* An attribute value copied into buf; false when absent or too long. */
static bool attr(const xmlNode *n, const char *name, char *buf, size_t size)
{
    xmlChar *v = xmlGetNoNsProp(n, xr__xc(name));
    bool ok = v && strlen(xr__cs(v)) < size;

    if (ok)
        xr__strlcpy(buf, xr__cs(v), size);
    xmlFree(v);
    return ok;
}

/* The first child element ns:name, or NULL. */
static xmlNodePtr child(const xmlNode *n, const char *ns, const char *name)
{
    for (xmlNodePtr c = xr__xml_first_elem(n); c; c = xr__xml_next_elem(c))
        if (xr__xml_is(c, ns, name))
            return c;
    return NULL;
}

/* The digest algorithm of a value: its own ds:DigestMethod or the
 * chain's default. */
static enum xr_status value_md(struct hc_ctx *c, const xmlNode *v,
                               const struct hc_file *f, char *uri, size_t size,
                               const EVP_MD **md)
{
    xmlNodePtr dm = child(v, XR__NS_DS, "DigestMethod");

    if (dm) {
        if (!attr(dm, "Algorithm", uri, size))
            return malformed(c, "DigestMethod without Algorithm", NULL);
    } else if (f->def_md_uri && strlen(f->def_md_uri) < size) {
        xr__strlcpy(uri, f->def_md_uri, size);
    } else {
        return malformed(c, "no digest method", NULL);
    }
    *md = xr__md_by_uri(uri);
    if (!*md)
        return malformed(c, "unsupported digest method", uri);
    return XR_OK;
}

static enum xr_status value_digest(struct hc_ctx *c, const xmlNode *v,
                                   uint8_t *out, size_t *len)
{
    xmlNodePtr dv = child(v, XR__NS_DS, "DigestValue");
    uint8_t *b = NULL;
    size_t n = 0;
    enum xr_status rc;

    if (!dv)
        return malformed(c, "no DigestValue", NULL);
    rc = xr__node_b64(dv, &b, &n, "hash chain DigestValue",
                      "malformed_hash_chain", c->err);
    if (rc != XR_OK)
        return rc;
    if (n == 0 || n > DIGEST_MAX) {
        free(b);
        return malformed(c, "DigestValue of a wrong size", NULL);
    }
    memcpy(out, b, n);
    *len = n;
    free(b);
    return XR_OK;
}

/* The parsed chain file behind uri (cached). */
static enum xr_status get_file(struct hc_ctx *c, const char *uri,
                               struct hc_file **out)
{
    const uint8_t *data;
    size_t len;
    struct hc_file *f;
    xmlNodePtr root, dm;
    enum xr_status rc;

    for (size_t i = 0; i < c->nfiles; i++) {
        if (!strcmp(c->files[i].uri, uri)) {
            *out = &c->files[i];
            return XR_OK;
        }
    }
    if (c->nfiles == XR__HC_MAX_FILES)
        return malformed(c, "too many chain files", uri);
    if (!c->resolve(c->resolve_arg, uri, &data, &len)) {
        char clip[XR_CLIP];
        return xr_error_set(c->err, XR_EPROTO, "invalid_reference", "",
                            "cannot resolve hash chain %s",
                            xr__clip(clip, sizeof(clip), uri));
    }
    f = &c->files[c->nfiles];
    memset(f, 0, sizeof(*f));
    rc = xr__xml_parse(data, len, NULL, c->lim, XR__XML_READONLY, &f->doc,
                       c->err);
    if (rc != XR_OK)
        return rc == XR_ENOMEM ? rc : malformed(c, "not XML", uri);
    c->nfiles++;
    xr__strlcpy(f->uri, uri, sizeof(f->uri));
    root = xmlDocGetRootElement(f->doc);
    if (!xr__xml_is(root, XR__NS_HC, "HashChain"))
        return malformed(c, "not a HashChain", uri);
    dm = child(root, XR__NS_HC, "DefaultDigestMethod");
    if (dm) {
        xmlAttrPtr a = xmlHasNsProp(dm, xr__xc("Algorithm"), NULL);
        if (!a || !a->children || !a->children->content)
            return malformed(c, "DefaultDigestMethod without Algorithm", uri);
        f->def_md_uri = xr__cs(a->children->content);
    }
    *out = f;
    return XR_OK;
}

static enum xr_status step_data(struct hc_ctx *c, const char *uri,
                                struct hc_file *cur, unsigned depth,
                                struct der *out);

/* The digest of a DataRef: a required input, the data, or the chain's. */
static enum xr_status data_ref(struct hc_ctx *c, const xmlNode *v,
                               const EVP_MD *md, uint8_t *dig, size_t *dlen)
{
    char uri[URI_MAX];
    uint8_t listed[DIGEST_MAX], calc[EVP_MAX_MD_SIZE];
    size_t llen = 0;
    unsigned clen = 0;
    const uint8_t *data;
    size_t len;
    enum xr_status rc;

    if (!attr(v, "URI", uri, sizeof(uri)))
        return malformed(c, "DataRef without URI", NULL);
    if (child(v, XR__NS_DS, "Transforms"))
        return malformed(c, "transforms on a DataRef are not supported", uri);
    rc = value_digest(c, v, listed, &llen);
    if (rc != XR_OK)
        return rc;
    for (size_t i = 0; i < c->ninputs; i++) {
        struct xr__hc_input *in = &c->inputs[i];
        if (strcmp(in->uri, uri) != 0)
            continue;
        in->used = true;
        if (in->digest && in->md == md && in->digest_len <= DIGEST_MAX) {
            memcpy(dig, in->digest, in->digest_len);
            *dlen = in->digest_len;
            return XR_OK;
        }
    }
    if (!c->resolve(c->resolve_arg, uri, &data, &len)) {
        if (c->report)
            c->report(c->report_arg, uri, listed, llen, false);
        memcpy(dig, listed, llen);
        *dlen = llen;
        return XR_OK;
    }
    if (!xr__digest(md, data, len, calc, &clen))
        return xr_error_set(c->err, XR_EINTERNAL, "internal_error", "",
                            "digest failed");
    if (clen != llen || CRYPTO_memcmp(calc, listed, llen) != 0) {
        char clip[XR_CLIP];
        return xr_error_set(c->err, XR_ESIG, "invalid_hash_chain_ref", "",
                            "invalid digest value in hash chain reference "
                            "to %s",
                            xr__clip(clip, sizeof(clip), uri));
    }
    if (c->report)
        c->report(c->report_arg, uri, calc, clen, true);
    memcpy(dig, calc, clen);
    *dlen = clen;
    return XR_OK;
}

/* The digest of one step value into dig. */
static enum xr_status value(struct hc_ctx *c, const xmlNode *v,
                            struct hc_file *f, unsigned depth, char *md_uri,
                            size_t md_size, uint8_t *dig, size_t *dlen)
{
    const EVP_MD *md = NULL;
    enum xr_status rc = value_md(c, v, f, md_uri, md_size, &md);

    if (rc != XR_OK)
        return rc;
    if (xr__xml_is(v, XR__NS_HC, "HashValue"))
        return value_digest(c, v, dig, dlen);
    if (xr__xml_is(v, XR__NS_HC, "StepRef")) {
        char uri[URI_MAX];
        struct der sub = {0};
        unsigned n = 0;
        if (!attr(v, "URI", uri, sizeof(uri)))
            return malformed(c, "StepRef without URI", NULL);
        rc = step_data(c, uri, f, depth + 1, &sub);
        if (rc == XR_OK && !xr__digest(md, sub.p, sub.len, dig, &n))
            rc = xr_error_set(c->err, XR_EINTERNAL, "internal_error", "",
                              "digest failed");
        *dlen = n;
        free(sub.p);
        return rc;
    }
    if (xr__xml_is(v, XR__NS_HC, "DataRef"))
        return data_ref(c, v, md, dig, dlen);
    return malformed(c, "unknown element in a HashStep", xr__cs(v->name));
}

/* The DER step data of the step `uri` ("file#id" or "#id"). */
static enum xr_status step_data(struct hc_ctx *c, const char *uri,
                                struct hc_file *cur, unsigned depth,
                                struct der *out)
{
    char base[URI_MAX];
    const char *hash = strchr(uri, '#');
    struct hc_file *f = cur;
    xmlNodePtr step = NULL, root;
    struct der body = {0};
    size_t nvalues = 0, nsteps = 0;
    enum xr_status rc;

    if (depth > XR__HC_MAX_DEPTH || ++c->evals > XR__HC_MAX_EVALS)
        return malformed(c, "steps nested too deep or too many", uri);
    if (!hash || hash[1] == '\0' || (size_t)(hash - uri) >= sizeof(base))
        return malformed(c, "invalid hash step URI", uri);
    memcpy(base, uri, (size_t)(hash - uri));
    base[hash - uri] = '\0';
    if (base[0]) {
        rc = get_file(c, base, &f);
        if (rc != XR_OK)
            return rc;
    } else if (!f) {
        return malformed(c, "invalid hash step URI", uri);
    }
    root = xmlDocGetRootElement(f->doc);
    for (xmlNodePtr s = xr__xml_first_elem(root); s; s = xr__xml_next_elem(s)) {
        char id[URI_MAX];
        if (!xr__xml_is(s, XR__NS_HC, "HashStep"))
            continue;
        if (++nsteps > XR__HC_MAX_STEPS)
            return malformed(c, "too many steps", uri);
        if (attr(s, "id", id, sizeof(id)) && !strcmp(id, hash + 1)) {
            step = s;
            break;
        }
    }
    if (!step)
        return malformed(c, "invalid hash step URI", uri);
    for (xmlNodePtr v = xr__xml_first_elem(step); v; v = xr__xml_next_elem(v)) {
        char md_uri[256];
        uint8_t dig[DIGEST_MAX];
        size_t dlen = 0;
        if (++nvalues > XR__HC_MAX_VALUES) {
            rc = malformed(c, "too many values in a step", uri);
            goto out;
        }
        rc = value(c, v, f, depth, md_uri, sizeof(md_uri), dig, &dlen);
        if (rc != XR_OK)
            goto out;
        der_single(&body, dig, dlen, md_uri);
    }
    der_head(out, 0x30, body.len);
    if (body.len)
        der_put(out, body.p, body.len);
    rc = (body.oom || out->oom)
             ? xr_error_set(c->err, XR_ENOMEM, "out_of_memory", "",
                            "out of memory in a hash chain")
             : XR_OK;
out:
    free(body.p);
    return rc;
}

/* Read HashChainResult: URI, digest method, digest value. */
static enum xr_status read_result(struct hc_ctx *c, xmlDocPtr doc, char *uri,
                                  size_t usize, const EVP_MD **md, uint8_t *dig,
                                  size_t *dlen)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    struct hc_file none = {0};
    char md_uri[256];
    enum xr_status rc;

    if (!xr__xml_is(root, XR__NS_HC, "HashChainResult"))
        return malformed(c, "not a HashChainResult", NULL);
    if (!attr(root, "URI", uri, usize))
        return malformed(c, "HashChainResult without URI", NULL);
    rc = value_md(c, root, &none, md_uri, sizeof(md_uri), md);
    if (rc != XR_OK)
        return rc;
    return value_digest(c, root, dig, dlen);
}

enum xr_status xr__hashchain_verify(
    const uint8_t *result_xml, size_t result_len, xr__hc_resolve_fn *resolve,
    void *resolve_arg, struct xr__hc_input *inputs, size_t ninputs,
    xr__hc_report_fn *report, void *report_arg, const struct xr_limits *xml_lim,
    struct xr_error *err)
{
    struct xr_limits deflim = {0};
    struct hc_ctx c = {.resolve = resolve,
                       .resolve_arg = resolve_arg,
                       .inputs = inputs,
                       .ninputs = ninputs,
                       .report = report,
                       .report_arg = report_arg,
                       .lim = xml_lim ? xml_lim : &deflim,
                       .err = err};
    xmlDocPtr doc = NULL;
    char uri[URI_MAX];
    const EVP_MD *md = NULL;
    uint8_t want[DIGEST_MAX], got[EVP_MAX_MD_SIZE];
    size_t wlen = 0;
    unsigned glen = 0;
    struct der data = {0};
    enum xr_status rc;

    for (size_t i = 0; i < ninputs; i++)
        inputs[i].used = false;
    rc = xr__xml_parse(result_xml, result_len, NULL, c.lim, XR__XML_READONLY,
                       &doc, err);
    if (rc != XR_OK) {
        if (rc != XR_ENOMEM)
            rc = malformed(&c, "the hash chain result is not XML", NULL);
        goto out;
    }
    rc = read_result(&c, doc, uri, sizeof(uri), &md, want, &wlen);
    if (rc != XR_OK)
        goto out;
    rc = step_data(&c, uri, NULL, 0, &data);
    if (rc != XR_OK)
        goto out;
    if (!xr__digest(md, data.p, data.len, got, &glen)) {
        rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                          "digest failed");
        goto out;
    }
    if (glen != wlen || CRYPTO_memcmp(got, want, wlen) != 0) {
        rc = xr_error_set(err, XR_ESIG, "invalid_hash_chain", "",
                          "hash chain result does not match hash chain "
                          "calculation");
        goto out;
    }
    for (size_t i = 0; i < ninputs; i++) {
        if (!inputs[i].used) {
            char clip[XR_CLIP];
            rc = xr_error_set(err, XR_EPROTO, "hash_chain_unused_inputs", "",
                              "some inputs were not referenced by the hash "
                              "chain: %s",
                              xr__clip(clip, sizeof(clip), inputs[i].uri));
            goto out;
        }
    }
    rc = XR_OK;
out:
    free(data.p);
    for (size_t i = 0; i < c.nfiles; i++)
        xmlFreeDoc(c.files[i].doc);
    xmlFreeDoc(doc);
    return rc;
}

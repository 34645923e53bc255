/*
 * asic_forge: XAdES signatures (X-Road 7 profile and DSS profile), hash
 * chains, batch time-stamps and containers (see asic_forge.h). The
 * canonical forms are made with libxml2's C14N directly, the signature
 * with OpenSSL: an implementation independent of the verifier's xmlsec.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "asic_forge.h"

#define NS_DS    "http://www.w3.org/2000/09/xmldsig#"
#define NS_XADES "http://uri.etsi.org/01903/v1.3.2#"
#define SHA512   "http://www.w3.org/2001/04/xmlenc#sha512"
#define C14N     "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
#define EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define SP_TYPE  "http://uri.etsi.org/01903#SignedProperties"

/* ---- a growable string ---- */

struct sb {
    char *p;
    size_t len, cap;
    bool fail;
};

static void sb_addn(struct sb *b, const char *s, size_t n)
{
    if (b->fail)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *np;
        while (cap < b->len + n + 1)
            cap *= 2;
        np = realloc(b->p, cap);
        if (!np) {
            b->fail = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_add(struct sb *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

static void sb_addf(struct sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_addf(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    char *tmp = NULL;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(tmp = malloc((size_t)n + 1))) {
        b->fail = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_addn(b, tmp, (size_t)n);
    free(tmp);
}

/* ---- encodings ---- */

static char *b64(const uint8_t *p, size_t n)
{
    char *out = malloc(n / 3 * 4 + 8);

    if (out)
        EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

static void sha512_b64(const void *p, size_t n, char out[100])
{
    unsigned char md[64];
    unsigned mdl = 0;

    EVP_Digest(p, n, md, &mdl, EVP_sha512(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdl);
}

static char *cert_der_b64(X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    char *out = n > 0 ? b64(der, (size_t)n) : NULL;

    OPENSSL_free(der);
    return out;
}

static void iso(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

/* ---- canonical XML and signing ---- */

/* Visible: the target element, its descendants and their namespaces. */
static int in_subtree(void *target, xmlNodePtr node, xmlNodePtr parent)
{
    xmlNodePtr n = (node && node->type != XML_NAMESPACE_DECL) ? node : parent;

    for (; n; n = n->parent)
        if (n == target)
            return 1;
    return 0;
}

static int c14n(xmlDocPtr doc, xmlNodePtr node, bool exclusive, uint8_t **out,
                size_t *len)
{
    xmlOutputBufferPtr ob = xmlAllocOutputBuffer(NULL);
    const xmlChar *content;
    size_t n;
    int rc = -1;

    if (!ob)
        return -1;
    if (xmlC14NExecute(doc, in_subtree, node,
                       exclusive ? XML_C14N_EXCLUSIVE_1_0 : XML_C14N_1_0, NULL,
                       0, ob) < 0)
        goto out;
    content = xmlOutputBufferGetContent(ob);
    n = xmlOutputBufferGetSize(ob);
    *out = malloc(n + 1);
    if (!*out)
        goto out;
    memcpy(*out, content, n);
    *len = n;
    rc = 0;
out:
    xmlOutputBufferClose(ob);
    return rc;
}

/* SHA-512 signature; ECDSA as raw r||s as XML-DSig wants it. */
static int sign_bytes(EVP_PKEY *key, const uint8_t *data, size_t len,
                      uint8_t **sig, size_t *slen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = 0;
    uint8_t *der = NULL;
    int rc = -1;

    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha512(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &n, data, len) != 1 || !(der = malloc(n)) ||
        EVP_DigestSign(md, der, &n, data, len) != 1)
        goto out;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        const unsigned char *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
        int bytes = (EVP_PKEY_get_bits(key) + 7) / 8;
        if (!es)
            goto out;
        *sig = calloc(2, (size_t)bytes);
        if (*sig) {
            BN_bn2binpad(ECDSA_SIG_get0_r(es), *sig, bytes);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), *sig + bytes, bytes);
            *slen = 2 * (size_t)bytes;
            rc = 0;
        }
        ECDSA_SIG_free(es);
        goto out;
    }
    *sig = der;
    *slen = n;
    der = NULL;
    rc = 0;
out:
    free(der);
    EVP_MD_CTX_free(md);
    return rc;
}

static const char *sig_method(EVP_PKEY *key)
{
    return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC
               ? "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
               : "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
}

/* The first element ns:name in document order below n. */
static xmlNodePtr find(xmlNodePtr n, const char *ns, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next) {
        xmlNodePtr f;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (c->ns && !strcmp((const char *)c->ns->href, ns) &&
            !strcmp((const char *)c->name, name))
            return c;
        f = find(c, ns, name);
        if (f)
            return f;
    }
    return NULL;
}

/* ---- hash chains ---- */

/* DER SingleDigest list of SHA-512 digests. */
static size_t der_len_size(size_t n)
{
    return n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
}

static void der_hdr(struct sb *b, uint8_t tag, size_t n)
{
    uint8_t h[4];
    size_t k = 0;

    h[k++] = tag;
    if (n < 0x80) {
        h[k++] = (uint8_t)n;
    } else if (n < 0x100) {
        h[k++] = 0x81;
        h[k++] = (uint8_t)n;
    } else {
        h[k++] = 0x82;
        h[k++] = (uint8_t)(n >> 8);
        h[k++] = (uint8_t)n;
    }
    sb_addn(b, (const char *)h, k);
}

static void step_digest(const uint8_t (*vals)[64], size_t n, uint8_t out[64])
{
    struct sb inner = {0}, outer = {0};
    size_t ul = strlen(SHA512);
    unsigned l = 0;

    for (size_t i = 0; i < n; i++) {
        size_t sl = 2 + 64 + 1 + der_len_size(ul) + ul + 2;
        der_hdr(&inner, 0x30, sl);
        der_hdr(&inner, 0x04, 64);
        sb_addn(&inner, (const char *)vals[i], 64);
        der_hdr(&inner, 0x0c, ul);
        sb_add(&inner, SHA512);
        der_hdr(&inner, 0x30, 0);
    }
    der_hdr(&outer, 0x30, inner.len);
    sb_addn(&outer, inner.p ? inner.p : "", inner.len);
    EVP_Digest(outer.p, outer.len, out, &l, EVP_sha512(), NULL);
    free(inner.p);
    free(outer.p);
}

static void b64_of(const uint8_t d[64], char out[100])
{
    EVP_EncodeBlock((unsigned char *)out, d, 64);
}

static char *hc_result(const char *file, const uint8_t d[64])
{
    struct sb b = {0};
    char v[100];

    b64_of(d, v);
    sb_addf(&b,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
            "<ns2:HashChainResult URI=\"/%s#STEP0\" xmlns=\"" NS_DS
            "\" xmlns:ns2=\"http://cyber.ee/hashchain\">\n"
            "    <DigestMethod Algorithm=\"" SHA512 "\"/>\n"
            "    <DigestValue>%s</DigestValue>\n</ns2:HashChainResult>\n",
            file, v);
    return b.fail ? NULL : b.p;
}

/* sig-hashchain.xml: one step, DataRefs to the message and attachments. */
static int sig_chain(const struct af_spec *s, char **hc, char **hcr)
{
    uint8_t vals[1 + AF_MAX_ATTACH][64];
    uint8_t root[64];
    unsigned l;
    struct sb b = {0};
    char v[100];

    sb_add(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
               "<ns2:HashChain xmlns=\"" NS_DS
               "\" xmlns:ns2=\"http://cyber.ee/hashchain\">\n"
               "    <ns2:DefaultDigestMethod Algorithm=\"" SHA512 "\"/>\n"
               "    <ns2:HashStep id=\"STEP0\">\n");
    EVP_Digest(s->message, s->message_len, vals[0], &l, EVP_sha512(), NULL);
    b64_of(vals[0], v);
    sb_addf(&b,
            "        <ns2:DataRef URI=\"/message.xml\">\n            "
            "<DigestValue>%s</DigestValue>\n        </ns2:DataRef>\n",
            v);
    for (size_t i = 0; i < s->nattach; i++) {
        EVP_Digest(s->attach[i], s->attach_len[i], vals[i + 1], &l,
                   EVP_sha512(), NULL);
        b64_of(vals[i + 1], v);
        sb_addf(&b,
                "        <ns2:DataRef URI=\"/attachment%zu\">\n            "
                "<DigestValue>%s</DigestValue>\n        </ns2:DataRef>\n",
                i + 1, v);
    }
    sb_add(&b, "    </ns2:HashStep>\n</ns2:HashChain>\n");
    step_digest((const uint8_t(*)[64])vals, 1 + s->nattach, root);
    *hc = b.fail ? NULL : b.p;
    *hcr = hc_result("sig-hashchain.xml", root);
    return *hc && *hcr ? 0 : -1;
}

/* ---- signatures.xml ---- */

static void data_refs(struct sb *b, const struct af_spec *s,
                      const struct af_signed *out, bool dss)
{
    char v[100];
    size_t k = 0;

    if (s->hashchain) {
        sha512_b64(out->hcr, strlen(out->hcr), v);
        sb_addf(b,
                "<ds:Reference Id=\"signature-reference-%zu\" "
                "URI=\"/sig-hashchainresult.xml\">\n<ds:DigestMethod "
                "Algorithm=\"" SHA512 "\"/>\n<ds:DigestValue>%s"
                "</ds:DigestValue>\n</ds:Reference>\n",
                k++, v);
    } else {
        sha512_b64(s->message, s->message_len, v);
        sb_addf(b, "<ds:Reference Id=\"%s-%zu\" URI=\"/message.xml\">\n",
                dss ? "r-id-1" : "signature-reference", k++);
        if (s->extra_transform)
            sb_addf(b,
                    "<ds:Transforms><ds:Transform Algorithm=\"%s\"/>"
                    "</ds:Transforms>\n",
                    s->extra_transform);
        sb_addf(b,
                "<ds:DigestMethod Algorithm=\"" SHA512 "\"/>\n"
                "<ds:DigestValue>%s</ds:DigestValue>\n</ds:Reference>\n",
                v);
        for (size_t i = 0; i < s->nattach; i++) {
            sha512_b64(s->attach[i], s->attach_len[i], v);
            sb_addf(b,
                    "<ds:Reference Id=\"%s-%zu\" URI=\"/attachment%zu\">\n"
                    "<ds:DigestMethod Algorithm=\"" SHA512 "\"/>\n"
                    "<ds:DigestValue>%s</ds:DigestValue>\n</ds:Reference>\n",
                    dss ? "r-id-1" : "signature-reference", k++, i + 1, v);
        }
    }
    if (s->extra_ref)
        sb_addf(
            b,
            "<ds:Reference URI=\"%s\">\n<ds:DigestMethod Algorithm=\"" SHA512
            "\"/>\n<ds:DigestValue>AAAA</ds:DigestValue>\n"
            "</ds:Reference>\n",
            s->extra_ref);
}

/* The signed properties: SigningTime and the certificate digest. */
static void signed_props(struct sb *b, const struct af_spec *s, bool dss)
{
    const struct af_party *dp =
        s->cert_digest_of ? s->cert_digest_of : s->signer;
    unsigned char *der = NULL;
    int n = i2d_X509(dp->cert, &der);
    char d[100], when[40], issuer[512] = "", *iname = NULL;
    ASN1_INTEGER *ser = X509_get_serialNumber(s->signer->cert);
    BIGNUM *bn = ASN1_INTEGER_to_BN(ser, NULL);
    char *dec = bn ? BN_bn2dec(bn) : NULL;

    sha512_b64(der, n > 0 ? (size_t)n : 0, d);
    OPENSSL_free(der);
    iso(s->signing_time, when, sizeof(when));
    X509_NAME_oneline(X509_get_issuer_name(s->signer->cert), issuer,
                      sizeof(issuer));
    sb_addf(b,
            "<xades:SignedSignatureProperties><xades:SigningTime>%s"
            "</xades:SigningTime><xades:SigningCertificate%s><xades:Cert>"
            "<xades:CertDigest><ds:DigestMethod Algorithm=\"" SHA512 "\"/>"
            "<ds:DigestValue>%s</ds:DigestValue></xades:CertDigest>",
            when, dss ? "V2" : "", d);
    if (dss) {
        unsigned char *in = NULL;
        int il = i2d_X509_NAME(X509_get_issuer_name(s->signer->cert), &in);
        iname = il > 0 ? b64(in, (size_t)il) : NULL;
        OPENSSL_free(in);
        sb_addf(b, "<xades:IssuerSerialV2>%s</xades:IssuerSerialV2>",
                iname ? iname : "");
    } else {
        sb_addf(b,
                "<xades:IssuerSerial><ds:X509IssuerName>Test CA"
                "</ds:X509IssuerName><ds:X509SerialNumber>%s"
                "</ds:X509SerialNumber></xades:IssuerSerial>",
                dec ? dec : "0");
    }
    sb_addf(b,
            "</xades:Cert></xades:SigningCertificate%s>"
            "</xades:SignedSignatureProperties>"
            "<xades:SignedDataObjectProperties><xades:DataObjectFormat "
            "ObjectReference=\"#signature-reference-0\"><xades:MimeType>%s"
            "</xades:MimeType></xades:DataObjectFormat>"
            "</xades:SignedDataObjectProperties>",
            dss ? "V2" : "",
            s->hashchain ? "application/hash-chain-result" : "text/xml");
    free(iname);
    OPENSSL_free(dec);
    BN_free(bn);
}

static int unsigned_props(struct sb *b, const struct af_trust *t,
                          const struct af_spec *s)
{
    uint8_t *o = NULL;
    size_t ol = 0;
    char *ob;

    sb_add(b, "<xades:UnsignedProperties><xades:UnsignedSignatureProperties>");
    if (!s->no_ocsp) {
        const struct af_party *about = s->ocsp_for ? s->ocsp_for : s->signer;
        if (s->ocsp_der) {
            ob = b64(s->ocsp_der, s->ocsp_der_len);
        } else {
            if (af_ocsp(t, about->cert, t->ca.cert, &s->ocsp, &o, &ol) != 0)
                return -1;
            ob = b64(o, ol);
            free(o);
        }
        if (!ob)
            return -1;
        sb_addf(b,
                "<xades:RevocationValues><xades:OCSPValues>"
                "<xades:EncapsulatedOCSPValue Id=\"ocsp-response-1\">%s"
                "</xades:EncapsulatedOCSPValue></xades:OCSPValues>"
                "</xades:RevocationValues>",
                ob);
        free(ob);
    }
    sb_add(b,
           "</xades:UnsignedSignatureProperties></xades:UnsignedProperties>");
    return 0;
}

/* The whole document before the digests and the signature value. */
static char *template_text(const struct af_trust *t, const struct af_spec *s,
                           const struct af_signed *out)
{
    struct sb b = {0};
    char *cert = cert_der_b64(s->signer->cert);
    const char *sid = s->dss ? "id-a1b2c3" : "signature";
    const char *spid = s->dss ? "xades-id-a1b2c3" : "signed-properties";
    const char *cm = s->dss ? EXC_C14N : C14N;

    if (!cert)
        return NULL;
    sb_add(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>");
    if (s->dss)
        sb_addf(&b, "<ds:Signature xmlns:ds=\"" NS_DS "\" Id=\"%s\">", sid);
    else
        sb_addf(&b,
                "<asic:XAdESSignatures "
                "xmlns:asic=\"http://uri.etsi.org/02918/v1.2.1#\" "
                "xmlns:ds=\"" NS_DS "\" xmlns:xades=\"" NS_XADES "\" "
                "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
                "<ds:Signature Id=\"%s\">",
                sid);
    sb_addf(&b,
            "\n<ds:SignedInfo>\n<ds:CanonicalizationMethod Algorithm=\"%s\"/>\n"
            "<ds:SignatureMethod Algorithm=\"%s\"/>\n",
            cm, sig_method(s->signer->key));
    data_refs(&b, s, out, s->dss);
    sb_addf(&b,
            "<ds:Reference Type=\"" SP_TYPE "\" URI=\"#%s\">\n%s"
            "<ds:DigestMethod Algorithm=\"" SHA512 "\"/>\n"
            "<ds:DigestValue>x</ds:DigestValue>\n</ds:Reference>\n"
            "</ds:SignedInfo>\n<ds:SignatureValue Id=\"%s\">x"
            "</ds:SignatureValue>\n<ds:KeyInfo><ds:X509Data>"
            "<ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data>"
            "</ds:KeyInfo>\n<ds:Object><xades:QualifyingProperties%s "
            "Target=\"#%s\"><xades:SignedProperties Id=\"%s\">",
            spid,
            s->dss ? "<ds:Transforms><ds:Transform Algorithm=\"" EXC_C14N
                     "\"/></ds:Transforms>\n"
                   : "",
            s->dss ? "value-id-a1b2c3" : "signature-value", cert,
            s->dss ? " xmlns:xades=\"" NS_XADES "\"" : "", sid, spid);
    free(cert);
    signed_props(&b, s, s->dss);
    sb_add(&b, "</xades:SignedProperties>");
    if (unsigned_props(&b, t, s) != 0) {
        free(b.p);
        return NULL;
    }
    sb_add(&b, "</xades:QualifyingProperties></ds:Object>");
    if (s->dup_id)
        sb_addf(&b,
                "<ds:Object><xades:Note xmlns:xades=\"" NS_XADES
                "\" Id=\"%s\"/></ds:Object>",
                spid);
    sb_add(&b, "\n</ds:Signature>");
    if (!s->dss)
        sb_add(&b, "</asic:XAdESSignatures>");
    return b.fail ? NULL : b.p;
}

static void set_text(xmlNodePtr n, const char *text)
{
    xmlNodeSetContent(n, NULL);
    xmlNodeAddContent(n, (const xmlChar *)text);
}

/* Insert the single time-stamp as the first unsigned property. */
static int add_single_ts(const struct af_trust *t, const struct af_spec *s,
                         xmlDocPtr doc, const uint8_t *sv, size_t svl)
{
    xmlNodePtr usp =
        find((xmlNodePtr)doc, NS_XADES, "UnsignedSignatureProperties");
    xmlNsPtr ns = usp ? usp->ns : NULL;
    xmlNodePtr ts, enc;
    uint8_t *tok = NULL;
    size_t tl = 0;
    char *tb;
    const uint8_t *data = s->ts_data ? s->ts_data : sv;
    size_t dl = s->ts_data ? s->ts_data_len : svl;

    if (!usp || af_tst(t, s->tsa, data, dl, s->ts_time, &tok, &tl) != 0)
        return -1;
    tb = b64(tok, tl);
    free(tok);
    if (!tb)
        return -1;
    ts = xmlNewDocNode(doc, ns, (const xmlChar *)"SignatureTimeStamp", NULL);
    enc = xmlNewDocNode(doc, ns, (const xmlChar *)"EncapsulatedTimeStamp",
                        (const xmlChar *)tb);
    free(tb);
    if (!ts || !enc)
        return -1;
    xmlAddChild(ts, enc);
    if (usp->children)
        xmlAddPrevSibling(usp->children, ts);
    else
        xmlAddChild(usp, ts);
    return 0;
}

static int finish_doc(const struct af_trust *t, const struct af_spec *s,
                      xmlDocPtr doc, struct af_signed *out)
{
    xmlNodePtr sp = find((xmlNodePtr)doc, NS_XADES, "SignedProperties");
    xmlNodePtr si = find((xmlNodePtr)doc, NS_DS, "SignedInfo");
    xmlNodePtr sv = find((xmlNodePtr)doc, NS_DS, "SignatureValue");
    xmlNodePtr spdv = NULL;
    uint8_t *can = NULL;
    size_t cl = 0;
    char d[100], *vb = NULL;
    int rc = -1;

    if (!sp || !si || !sv)
        return -1;
    /* The SignedProperties reference is the last of SignedInfo. */
    for (xmlNodePtr r = si->children; r; r = r->next)
        if (r->type == XML_ELEMENT_NODE &&
            !strcmp((const char *)r->name, "Reference"))
            spdv = find(r, NS_DS, "DigestValue");
    if (!spdv || c14n(doc, sp, s->dss, &can, &cl) != 0)
        goto out;
    sha512_b64(can, cl, d);
    set_text(spdv, d);
    free(can);
    can = NULL;
    if (c14n(doc, si, s->dss, &can, &cl) != 0 ||
        sign_bytes(s->signer->key, can, cl, &out->sigval, &out->sigval_len))
        goto out;
    vb = b64(out->sigval, out->sigval_len);
    if (!vb)
        goto out;
    set_text(sv, vb);
    if (s->ts == AF_TS_SINGLE &&
        add_single_ts(t, s, doc, out->sigval, out->sigval_len) != 0)
        goto out;
    rc = 0;
out:
    free(vb);
    free(can);
    return rc;
}

int af_sign(const struct af_trust *t, const struct af_spec *s,
            struct af_signed *out)
{
    char *text = NULL;
    xmlDocPtr doc = NULL;
    xmlChar *mem = NULL;
    int size = 0, rc = -1;

    memset(out, 0, sizeof(*out));
    if (s->hashchain && sig_chain(s, &out->hc, &out->hcr) != 0)
        goto out;
    text = template_text(t, s, out);
    if (!text)
        goto out;
    doc = xmlReadMemory(text, (int)strlen(text), NULL, NULL, XML_PARSE_NONET);
    if (!doc || finish_doc(t, s, doc, out) != 0)
        goto out;
    xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
    if (!mem || size <= 0)
        goto out;
    out->signatures = malloc((size_t)size + 1);
    if (!out->signatures)
        goto out;
    memcpy(out->signatures, mem, (size_t)size);
    out->signatures[size] = '\0';
    out->signatures_len = (size_t)size;
    rc = 0;
out:
    xmlFree(mem);
    xmlFreeDoc(doc);
    free(text);
    if (rc != 0)
        af_signed_cleanup(out);
    return rc;
}

void af_signed_cleanup(struct af_signed *s)
{
    if (!s)
        return;
    free(s->signatures);
    free(s->hcr);
    free(s->hc);
    free(s->sigval);
    memset(s, 0, sizeof(*s));
}

/* ---- batch time-stamps ---- */

/* One step of a leaf's path: sibling value and what it points down to. */
struct path_step {
    uint8_t sibling[64];
    bool sibling_left; /* the sibling comes first in the step */
};

int af_batch_stamp(const struct af_trust *t, const struct af_party *tsa,
                   const char *const *sigs, const size_t *sig_lens, size_t n,
                   int64_t gen_time, struct af_batch *out)
{
    uint8_t(*level)[64] = NULL;
    size_t cnt = n;
    size_t *pos = NULL;
    struct path_step(*steps)[64] = NULL;
    size_t *nsteps = NULL;
    uint8_t root[64], leafbuf[64];
    unsigned l;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    out->n = n;
    level = calloc(n, 64);
    pos = calloc(n, sizeof(*pos));
    steps = calloc(n, sizeof(*steps));
    nsteps = calloc(n, sizeof(*nsteps));
    out->chains = calloc(n, sizeof(char *));
    if (!n || !level || !pos || !steps || !nsteps || !out->chains)
        goto out;
    for (size_t i = 0; i < n; i++) {
        EVP_Digest(sigs[i], sig_lens[i], level[i], &l, EVP_sha512(), NULL);
        pos[i] = i;
    }
    /* Pairs upwards; an odd last node is carried up unchanged. */
    while (cnt > 1) {
        size_t nc = (cnt + 1) / 2;
        for (size_t i = 0; i < n; i++) {
            size_t p = pos[i], sib = p ^ 1u;
            if (sib < cnt && nsteps[i] < 64) {
                struct path_step *st = &steps[i][nsteps[i]++];
                memcpy(st->sibling, level[sib], 64);
                st->sibling_left = sib < p;
            }
            pos[i] = p / 2;
        }
        for (size_t j = 0; j < nc; j++) {
            if (2 * j + 1 < cnt)
                step_digest((const uint8_t(*)[64])level[2 * j], 2, level[j]);
            else
                memmove(level[j], level[2 * j], 64);
        }
        cnt = nc;
    }
    /* With one leaf the chain is one step holding only its DataRef. */
    if (n == 1) {
        EVP_Digest(sigs[0], sig_lens[0], leafbuf, &l, EVP_sha512(), NULL);
        step_digest((const uint8_t(*)[64])leafbuf, 1, root);
    } else {
        memcpy(root, level[0], 64);
    }
    out->result = hc_result("ts-hashchain.xml", root);
    if (!out->result)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct sb b = {0};
        char v[100], lv[100];
        size_t k = nsteps[i];
        EVP_Digest(sigs[i], sig_lens[i], leafbuf, &l, EVP_sha512(), NULL);
        b64_of(leafbuf, lv);
        sb_add(&b,
               "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
               "<ns2:HashChain xmlns=\"" NS_DS
               "\" xmlns:ns2=\"http://cyber.ee/hashchain\">\n"
               "    <ns2:DefaultDigestMethod Algorithm=\"" SHA512 "\"/>\n");
        if (k == 0)
            sb_addf(&b,
                    "    <ns2:HashStep id=\"STEP0\"><ns2:DataRef "
                    "URI=\"/META-INF/signatures.xml\"><DigestValue>%s"
                    "</DigestValue></ns2:DataRef></ns2:HashStep>\n",
                    lv);
        /* STEP0 is the top: the path steps in reverse. */
        for (size_t s = 0; s < k; s++) {
            const struct path_step *st = &steps[i][k - 1 - s];
            char own[200];
            b64_of(st->sibling, v);
            if (s + 1 < k)
                snprintf(own, sizeof(own), "<ns2:StepRef URI=\"#STEP%zu\"/>",
                         s + 1);
            else
                snprintf(own, sizeof(own),
                         "<ns2:DataRef URI=\"/META-INF/signatures.xml\">"
                         "<DigestValue>%s</DigestValue></ns2:DataRef>",
                         lv);
            sb_addf(&b, "    <ns2:HashStep id=\"STEP%zu\">", s);
            if (st->sibling_left)
                sb_addf(&b,
                        "<ns2:HashValue><DigestValue>%s</DigestValue>"
                        "</ns2:HashValue>%s",
                        v, own);
            else
                sb_addf(&b,
                        "%s<ns2:HashValue><DigestValue>%s</DigestValue>"
                        "</ns2:HashValue>",
                        own, v);
            sb_add(&b, "</ns2:HashStep>\n");
        }
        sb_add(&b, "</ns2:HashChain>\n");
        if (b.fail)
            goto out;
        out->chains[i] = b.p;
    }
    rc = af_tst(t, tsa, (const uint8_t *)out->result, strlen(out->result),
                gen_time, &out->token, &out->token_len);
out:
    free(level);
    free(pos);
    free(steps);
    free(nsteps);
    if (rc != 0)
        af_batch_cleanup(out);
    return rc;
}

void af_batch_cleanup(struct af_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; b->chains && i < b->n; i++)
        free(b->chains[i]);
    free(b->chains);
    free(b->result);
    free(b->token);
    memset(b, 0, sizeof(*b));
}

/* ---- containers ---- */

void af_spec_init(struct af_spec *s, const struct af_party *signer, int64_t now)
{
    memset(s, 0, sizeof(*s));
    s->signer = signer;
    s->signing_time = now;
    s->ts = AF_TS_SINGLE;
    s->ts_time = now;
    s->ocsp.status = V_OCSP_CERTSTATUS_GOOD;
    s->ocsp.this_update = now - 60;
    s->deflate = true;
}

static char *asic_manifest(const char *result)
{
    struct sb b = {0};
    char v[100];

    sha512_b64(result, strlen(result), v);
    sb_addf(
        &b,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        "<asic:ASiCManifest xmlns:asic=\"http://uri.etsi.org/2918/v1.2.1#\" "
        "xmlns:ds=\"" NS_DS "\">\n<asic:SigReference "
        "URI=\"META-INF/timestamp.tst\" "
        "MimeType=\"vnd.etsi.timestamp-token\"/>\n"
        "<asic:DataObjectReference URI=\"ts-hashchainresult.xml\" "
        "MimeType=\"text/xml\">\n<ds:DigestMethod Algorithm=\"" SHA512
        "\" />\n<ds:DigestValue>%s</ds:DigestValue>\n"
        "</asic:DataObjectReference>\n</asic:ASiCManifest>",
        v);
    return b.fail ? NULL : b.p;
}

int af_zip_container(const struct af_spec *s, const struct af_signed *sg,
                     const struct af_batch *b, size_t i, uint8_t **out,
                     size_t *len)
{
    static const char mt[] = "application/vnd.etsi.asic-e+zip";
    static const char manifest[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<manifest:manifest "
        "xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" "
        "manifest:version=\"1.2\">\n<manifest:file-entry "
        "manifest:media-type=\"application/vnd.etsi.asic-e+zip\" "
        "manifest:full-path=\"/\"/>\n</manifest:manifest>\n";
    struct af_zip *z = af_zip_new();
    bool d = s->deflate;
    char *am = NULL;
    int rc = -1;

    if (!z)
        return -1;
    if (af_zip_add(z, "mimetype", mt, sizeof(mt) - 1, d) ||
        af_zip_add(z, "message.xml", s->message, s->message_len, d) ||
        af_zip_add(z, "META-INF/signatures.xml", sg->signatures,
                   sg->signatures_len, d))
        goto out;
    if (sg->hcr &&
        (af_zip_add(z, "sig-hashchainresult.xml", sg->hcr, strlen(sg->hcr),
                    d) ||
         af_zip_add(z, "sig-hashchain.xml", sg->hc, strlen(sg->hc), d)))
        goto out;
    for (size_t k = 0; !s->attach_absent && k < s->nattach; k++) {
        char name[32];
        snprintf(name, sizeof(name), "attachment%zu", k + 1);
        if (af_zip_add(z, name, s->attach[k], s->attach_len[k], d))
            goto out;
    }
    if (b) {
        am = asic_manifest(b->result);
        if (!am ||
            af_zip_add(z, "ts-hashchainresult.xml", b->result,
                       strlen(b->result), d) ||
            af_zip_add(z, "ts-hashchain.xml", b->chains[i],
                       strlen(b->chains[i]), d))
            goto out;
    }
    if (af_zip_add(z, "META-INF/manifest.xml", manifest, sizeof(manifest) - 1,
                   d))
        goto out;
    if (b &&
        (af_zip_add(z, "META-INF/ASiCManifest.xml", am, strlen(am), d) ||
         af_zip_add(z, "META-INF/timestamp.tst", b->token, b->token_len, d)))
        goto out;
    rc = af_zip_finish(z, out, len);
    z = NULL;
out:
    free(am);
    af_zip_free(z);
    return rc;
}

int af_container(const struct af_trust *t, const struct af_spec *s,
                 uint8_t **out, size_t *len)
{
    struct af_signed sg;
    struct af_batch b;
    const char *sigs[1];
    size_t lens[1];
    int rc;

    if (af_sign(t, s, &sg) != 0)
        return -1;
    if (s->ts != AF_TS_BATCH) {
        rc = af_zip_container(s, &sg, NULL, 0, out, len);
        af_signed_cleanup(&sg);
        return rc;
    }
    sigs[0] = sg.signatures;
    lens[0] = sg.signatures_len;
    rc = af_batch_stamp(t, s->tsa, sigs, lens, 1, s->ts_time, &b);
    if (rc == 0)
        rc = af_zip_container(s, &sg, &b, 0, out, len);
    af_batch_cleanup(&b);
    af_signed_cleanup(&sg);
    return rc;
}

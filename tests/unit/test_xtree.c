/*
 * The arena tree (xroad/xtree.c) against libxml2's own tree builder: the
 * same bytes give the same outcome (both parse, or both fail with the same
 * reason) and, when they parse, the same tree node by node (type, name,
 * namespace, declarations, attributes and their values, text, comments,
 * processing instructions, element lines, parent links) and the same
 * serialisation. Every reader of a SOAP answer reads only these, so the
 * same tree means the same verdict and the same JSON.
 *
 * Inputs: hand-written documents aimed at what SAX2 does by itself (text
 * coalescing, blanks, references, namespaces), every fuzz corpus file,
 * messages rendered by the test helpers, and every file under
 * ../shared/vectors (test_xtree_vectors, skipped when absent).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <libxml/tree.h>

#include "internal.h"
#include "test_helpers.h"

static size_t compared; /* documents both builders parsed */

static void fail_at(const char *what, const char *where, const xmlNode *a)
{
    print_error("xtree differs (%s) in %s at <%s> line %u\n", what, where,
                a && a->name ? (const char *)a->name : "?",
                a ? (unsigned)a->line : 0u);
    fail();
}

static bool same_str(const xmlChar *a, const xmlChar *b)
{
    if (!a || !b)
        return a == b;
    return strcmp((const char *)a, (const char *)b) == 0;
}

static void same_ns(const xmlNs *a, const xmlNs *b, const char *where,
                    const xmlNode *at)
{
    if (!a || !b) {
        if (a != b)
            fail_at("namespace presence", where, at);
        return;
    }
    if (!same_str(a->href, b->href) || !same_str(a->prefix, b->prefix))
        fail_at("namespace", where, at);
}

static void same_node(const xmlNode *a, const xmlNode *b, const xmlNode *pa,
                      const xmlNode *pb, const char *where, unsigned depth);

static void same_list(const xmlNode *a, const xmlNode *b, const xmlNode *pa,
                      const xmlNode *pb, const char *where, unsigned depth)
{
    const xmlNode *la = NULL, *lb = NULL;

    for (; a && b; la = a, lb = b, a = a->next, b = b->next) {
        if (a->prev != la || b->prev != lb)
            fail_at("prev link", where, a);
        same_node(a, b, pa, pb, where, depth);
    }
    if (a || b)
        fail_at("number of children", where, pa);
    if (pa->last != la || pb->last != lb)
        fail_at("last child", where, pa);
}

static void same_node(const xmlNode *a, const xmlNode *b, const xmlNode *pa,
                      const xmlNode *pb, const char *where, unsigned depth)
{
    assert_true(depth < 10000);
    if (a->type != b->type)
        fail_at("node type", where, a);
    if (a->parent != pa || b->parent != pb)
        fail_at("parent link", where, a);
    if (!same_str(a->name, b->name))
        fail_at("name", where, a);
    if (a->type == XML_ELEMENT_NODE) {
        const xmlNs *na = a->nsDef, *nb = b->nsDef;
        const xmlAttr *aa = a->properties, *ab = b->properties;
        if (a->line != b->line)
            fail_at("line", where, a);
        same_ns(a->ns, b->ns, where, a);
        for (; na && nb; na = na->next, nb = nb->next)
            same_ns(na, nb, where, a);
        if (na || nb)
            fail_at("number of declarations", where, a);
        for (; aa && ab; aa = aa->next, ab = ab->next) {
            if (aa->parent != a || ab->parent != b)
                fail_at("attribute parent", where, a);
            if (!same_str(aa->name, ab->name))
                fail_at("attribute name", where, a);
            same_ns(aa->ns, ab->ns, where, a);
            if (!aa->children || !ab->children) {
                if (aa->children != ab->children)
                    fail_at("attribute value presence", where, a);
            } else {
                same_list(aa->children, ab->children, (const xmlNode *)aa,
                          (const xmlNode *)ab, where, depth + 1);
            }
        }
        if (aa || ab)
            fail_at("number of attributes", where, a);
        if (!a->children || !b->children) {
            if (a->children != b->children)
                fail_at("children presence", where, a);
        } else {
            same_list(a->children, b->children, a, b, where, depth + 1);
        }
    } else if (a->type == XML_TEXT_NODE || a->type == XML_COMMENT_NODE ||
               a->type == XML_PI_NODE) {
        if (!same_str(a->content, b->content))
            fail_at("content", where, a);
    } else {
        fail_at("unexpected node type", where, a);
    }
}

static char *dump(xmlDocPtr doc, int *n)
{
    xmlChar *mem = NULL;
    char *out;

    xmlDocDumpMemory(doc, &mem, n);
    assert_non_null(mem);
    out = malloc((size_t)*n + 1);
    assert_non_null(out);
    memcpy(out, mem, (size_t)*n + 1);
    xmlFree(mem);
    return out;
}

/* Parse buf both ways (encoding NULL and as HTTP's UTF-8) and compare. */
static void diff(const uint8_t *buf, size_t len, const char *where)
{
    static const char *const encodings[] = {NULL, "UTF-8"};
    struct xr_limits lim = {0};

    for (size_t e = 0; e < sizeof(encodings) / sizeof(encodings[0]); e++) {
        xmlDocPtr a = NULL, b = NULL;
        struct xr_error ea, eb;
        enum xr_status ra, rb;

        xr_error_clear(&ea);
        xr_error_clear(&eb);
        ra = xr__xml_parse(buf, len, encodings[e], &lim, XR__XML_READONLY, &a,
                           &ea);
        rb =
            xr__xml_parse(buf, len, encodings[e], &lim, XR__XML_ARENA, &b, &eb);
        if (ra != rb ||
            !same_str((const xmlChar *)ea.reason, (const xmlChar *)eb.reason)) {
            print_error("%s: libxml2 tree %d (%s: %s), arena %d (%s: %s)\n",
                        where, ra, ea.reason ? ea.reason : "-", ea.msg, rb,
                        eb.reason ? eb.reason : "-", eb.msg);
            fail();
        }
        if (ra == XR_OK) {
            const xmlNode *ra_root = a->children, *rb_root = b->children;
            char *da, *db;
            int na, nb;
            same_list(ra_root, rb_root, (const xmlNode *)a, (const xmlNode *)b,
                      where, 0);
            da = dump(a, &na);
            db = dump(b, &nb);
            if (na != nb || memcmp(da, db, (size_t)na) != 0) {
                print_error("%s: serialisations differ\n", where);
                fail();
            }
            free(da);
            free(db);
            compared++;
        }
        xr__xml_free(a);
        xr__xml_free(b);
    }
}

static void diff_str(const char *s)
{
    diff((const uint8_t *)s, strlen(s), s);
}

/* Every regular file under dir, depth first; returns how many. */
static size_t diff_tree(const char *dir, unsigned depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    assert_true(depth < 8);
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            n += diff_tree(path, depth + 1);
        } else if (S_ISREG(st.st_mode) && st.st_size < 16 * 1024 * 1024) {
            size_t len;
            uint8_t *buf = xrt_read_file(path, &len);
            assert_non_null(buf);
            diff(buf, len, path);
            free(buf);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void test_xtree_cases(void **state)
{
    static const char *const cases[] = {
        /* text coalescing: references arrive as separate chunks */
        "<a>x&amp;y&#60;z&#x41;&lt;&gt;&quot;&apos;w</a>",
        "<a>one<!--c-->two<?pi data?>three<b/>four</a>",
        "<a><![CDATA[c&d]]>tail<![CDATA[]]></a>",
        /* blanks: kept inside an otherwise empty element and in mixed
         * content, dropped between elements */
        "<a>\n  <b>  </b>\n  <c> x <d/> </c>\n</a>",
        "<a> <b/> text <c/> </a>",
        "<a xml:space=\"preserve\">\n  <b/>\n</a>",
        /* comments and PIs around the root */
        "<?xml version=\"1.0\"?>\n<!-- before --><?p q?><r/><!-- after -->"
        "<?p2?>",
        /* namespaces: default, redeclared, undeclared, attributes */
        "<a xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:b p:at=\"1\" at=\"2\">"
        "<c xmlns=\"\"><p:d xmlns:p=\"urn:q\" p:x=\"y\"/></c></p:b></a>",
        "<p:a xmlns:p=\"urn:p\" xml:lang=\"fi\"><b xml:id=\"i1\"/></p:a>",
        "<a xmlns:e=\"urn:e\" e:x=\"\" y=\"\" z=\"&amp;&#38;&lt;&#9;\t\n\"/>",
        /* attribute normalisation and references */
        "<a v=\"x&amp;y\" w='q&apos;&quot;' u=\"&#x26;amp;\"/>",
        /* UTF-8, a byte-order mark, a declared encoding */
        "<a>K\xc3\xa4ytt\xc3\xa4j\xc3\xa4 \xe2\x82\xac</a>",
        "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><a>\xc3\xb6</a>",
        "<?xml version='1.0' encoding='ISO-8859-1'?><a>\xe4</a>",
        "<?xml version=\"1.0\" encoding=\"UTF8\" standalone=\"yes\"?><a/>",
        /* refused by both */
        "<a>&undefined;</a>",
        "<a b=\"&undefined;\"/>",
        "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>",
        "<a><b></a>",
        "<p:a/>",
        "",
        "<a/><b/>",
        "<a>\xff</a>",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        diff_str(cases[i]);
}

/* Long texts made of many chunks, deep and wide documents. */
static void test_xtree_shapes(void **state)
{
    struct xrt_buf b = {0};

    (void)state;
    xrt_buf_adds(&b, "<a>");
    xrt_buf_repeat(&b, "x&amp;", 20000);
    xrt_buf_adds(&b, "</a>");
    diff((const uint8_t *)b.p, b.len, "20,000 references in one text");
    xrt_buf_free(&b);
    for (int i = 0; i < 200; i++)
        xrt_buf_addf(&b, "<e%d xmlns:n%d=\"urn:%d\" n%d:a=\"%d\">t", i % 7, i,
                     i, i, i);
    for (int i = 199; i >= 0; i--)
        xrt_buf_addf(&b, "</e%d>", i % 7);
    diff((const uint8_t *)b.p, b.len, "200 nested elements");
    xrt_buf_free(&b);
    xrt_buf_adds(&b, "<r>");
    for (int i = 0; i < 5000; i++)
        xrt_buf_addf(&b, "<i n=\"%d\">v%d</i><!--%d-->", i, i, i);
    xrt_buf_adds(&b, "</r>");
    diff((const uint8_t *)b.p, b.len, "5,000 siblings");
    xrt_buf_free(&b);
}

/* The answers the helpers render, as the response tests use them. */
static void test_xtree_messages(void **state)
{
    struct xr_header h;
    struct xr_request *req;
    struct xrt_msg m;
    size_t len;
    char *text;

    (void)state;
    xrt_std_header(&h);
    req = xrt_request_from(&h);
    xrt_msg_echo(&m, req, true);
    text = xrt_msg_render(&m, &len);
    diff((const uint8_t *)text, len, "a rendered answer");
    free(text);
    snprintf(m.body, sizeof(m.body),
             "<" XRT_SERVICE_CODE "Response xmlns=\"" XRT_NS_BODY "\">"
             "<a>x &amp; y</a><!-- c --><b/></" XRT_SERVICE_CODE "Response>");
    text = xrt_msg_render(&m, &len);
    diff((const uint8_t *)text, len, "a rendered answer with a body");
    free(text);
    xr_request_free(req);
}

static void test_xtree_corpus(void **state)
{
    const char *src = getenv("XR_SOURCE_DIR");
    char dir[4096];
    size_t n;

    (void)state;
    assert_non_null(src);
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus", src);
    n = diff_tree(dir, 0);
    print_message("fuzz corpus: %zu files, %zu trees compared\n", n, compared);
    assert_true(n > 50);
}

static void test_xtree_vectors(void **state)
{
    const char *dir;
    size_t n;

    (void)state;
    XRT_REQUIRE_VECTORS(dir);
    n = diff_tree(dir, 0);
    print_message("vectors: %zu files, %zu trees compared\n", n, compared);
    assert_true(n > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xtree_cases),
        cmocka_unit_test(test_xtree_shapes),
        cmocka_unit_test(test_xtree_messages),
        cmocka_unit_test(test_xtree_corpus),
        cmocka_unit_test(test_xtree_vectors),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests(tests, xrt_group_setup, xrt_group_teardown);
}

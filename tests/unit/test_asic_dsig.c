/*
 * The xmlsec lock-down (xroad/dsig.c), below the container rules that
 * would refuse these references earlier: xmlsec may read nothing but what
 * the per-thread lookup serves (no file, no HTTP: a listening socket sees
 * no connection), forbidden transforms fail, success needs every
 * reference, and xmlsec never writes to stderr.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dsig.h"
#include "test_asic_common.h"
#include "xades.h"

static struct ta *T;

static int group_setup(void **state)
{
    if (xrt_group_setup(state) != 0)
        return -1;
    T = ta_new(0);
    return 0;
}

static int group_teardown(void **state)
{
    ta_free(T);
    return xrt_group_teardown(state);
}

/* Serves /message.xml (and only that) from the spec. */
static bool lookup(void *arg, const char *name, const uint8_t **data,
                   size_t *len)
{
    const struct af_spec *s = arg;

    if (strcmp(name, "/message.xml") != 0)
        return false;
    *data = s->message;
    *len = s->message_len;
    return true;
}

/* Serves anything, as a careless resolver would. */
static bool lookup_all(void *arg, const char *name, const uint8_t **data,
                       size_t *len)
{
    (void)name;
    return lookup(arg, "/message.xml", data, len);
}

static enum xr_status verify_sig(const struct af_spec *s,
                                 xr__dsig_lookup_fn *fn, struct xr_error *err)
{
    struct af_signed sg;
    xmlDocPtr doc;
    struct xr__xsig x;
    enum xr_status st;

    assert_int_equal(af_sign(&T->trust, s, &sg), 0);
    doc = xmlReadMemory(sg.signatures, (int)sg.signatures_len, NULL, NULL,
                        XML_PARSE_NONET);
    assert_non_null(doc);
    XRT_ASSERT_OK(xr__xsig_read(doc, NULL, &x, err), *err);
    st = xr__dsig_verify(doc, x.sig, x.cert, fn, (void *)(uintptr_t)s, err);
    xr__xsig_cleanup(&x);
    xmlFreeDoc(doc);
    af_signed_cleanup(&sg);
    return st;
}

static void test_valid(void **state)
{
    struct af_spec s;
    struct xr_error err;

    (void)state;
    ta_spec(T, &s);
    XRT_ASSERT_OK(verify_sig(&s, lookup, &err), err);
}

static void test_no_file_access(void **state)
{
    struct af_spec s;
    struct xr_error err;

    (void)state;
    ta_spec(T, &s);
    /* Local URIs are not even enabled: the lookup is never asked. */
    s.extra_ref = "file:///etc/hostname";
    XRT_ASSERT_REASON(verify_sig(&s, lookup_all, &err), err,
                      "invalid_reference");
    s.extra_ref = "/etc/hostname";
    XRT_ASSERT_REASON(verify_sig(&s, lookup, &err), err, "invalid_reference");
}

static void test_no_network(void **state)
{
    struct af_spec s;
    struct xr_error err;
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char uri[64];
    struct pollfd p;

    (void)state;
    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/x",
             (unsigned)ntohs(a.sin_port));
    ta_spec(T, &s);
    s.extra_ref = uri;
    XRT_ASSERT_REASON(verify_sig(&s, lookup, &err), err, "invalid_reference");
    /* Nobody knocked. */
    p.fd = fd;
    p.events = POLLIN;
    assert_int_equal(poll(&p, 1, 200), 0);
    close(fd);
}

static void test_transforms(void **state)
{
    struct af_spec s;
    struct xr_error err;

    (void)state;
    ta_spec(T, &s);
    s.extra_transform = "http://www.w3.org/TR/1999/REC-xslt-19991116";
    XRT_ASSERT_REASON(verify_sig(&s, lookup, &err), err, "transform_forbidden");
    s.extra_transform = "http://www.w3.org/2002/06/xmldsig-filter2";
    XRT_ASSERT_REASON(verify_sig(&s, lookup, &err), err, "transform_forbidden");
    /* Canonicalisation is allowed on a detached reference. */
    s.extra_transform = "http://www.w3.org/2001/10/xml-exc-c14n#";
    XRT_ASSERT_REASON(verify_sig(&s, lookup, &err), err,
                      "invalid_signature_value");
}

/* xmlsec's default error callback prints; ours must not. */
static void test_silent(void **state)
{
    struct af_spec s;
    struct xr_error err;
    int pipefd[2], saved;
    char buf[256];
    ssize_t n;

    (void)state;
    assert_int_equal(pipe(pipefd), 0);
    fflush(stderr);
    saved = dup(2);
    assert_true(saved >= 0);
    assert_int_equal(dup2(pipefd[1], 2), 2);
    ta_spec(T, &s);
    s.extra_transform = "http://www.w3.org/TR/1999/REC-xslt-19991116";
    (void)verify_sig(&s, lookup, &err);
    s.extra_transform = NULL;
    s.extra_ref = "file:///etc/hostname";
    (void)verify_sig(&s, lookup, &err);
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    close(pipefd[1]);
    assert_int_equal(fcntl(pipefd[0], F_SETFL, O_NONBLOCK), 0);
    n = read(pipefd[0], buf, sizeof(buf));
    close(pipefd[0]);
    if (n > 0)
        fail_msg("xmlsec wrote to stderr: %.*s", (int)n, buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_no_file_access),
        cmocka_unit_test(test_no_network),
        cmocka_unit_test(test_transforms),
        cmocka_unit_test(test_silent),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("asic_dsig", tests, group_setup,
                                       group_teardown);
}

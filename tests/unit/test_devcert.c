/*
 * Unit tests for adapter/devcert.c: the throw-away test PKI of
 * `vayla dev init`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "devcert.h"

struct pki {
    struct adp_devcert ca, server, client;
};

static int setup(void **state)
{
    struct pki *p = calloc(1, sizeof(*p));
    struct xr_error err;

    if (!p)
        return -1;
    if (adp_devcert_make(ADP_DEVCERT_CA, "test CA", NULL, &p->ca, &err) !=
            XR_OK ||
        adp_devcert_make(ADP_DEVCERT_SERVER, "server", &p->ca, &p->server,
                         &err) != XR_OK ||
        adp_devcert_make(ADP_DEVCERT_CLIENT, "client", &p->ca, &p->client,
                         &err) != XR_OK)
        return -1;
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct pki *p = *state;

    adp_devcert_cleanup(&p->ca);
    adp_devcert_cleanup(&p->server);
    adp_devcert_cleanup(&p->client);
    free(p);
    return 0;
}

static int verify(X509 *ca, X509 *leaf, int purpose)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok;

    assert_non_null(store);
    assert_non_null(ctx);
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX_init(ctx, store, leaf, NULL);
    X509_STORE_CTX_set_purpose(ctx, purpose);
    ok = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

static void test_chain_and_purposes(void **state)
{
    struct pki *p = *state;

    assert_int_equal(X509_check_ca(p->ca.cert), 1);
    assert_int_equal(X509_check_ca(p->server.cert), 0);
    assert_int_equal(
        verify(p->ca.cert, p->server.cert, X509_PURPOSE_SSL_SERVER), 1);
    assert_int_equal(
        verify(p->ca.cert, p->client.cert, X509_PURPOSE_SSL_CLIENT), 1);
    /* Each leaf is good only for its own purpose. */
    assert_int_equal(
        verify(p->ca.cert, p->client.cert, X509_PURPOSE_SSL_SERVER), 0);
    assert_int_equal(
        verify(p->ca.cert, p->server.cert, X509_PURPOSE_SSL_CLIENT), 0);
    assert_int_equal(EVP_PKEY_get_bits(p->server.key), 256);
    assert_true(EVP_PKEY_is_a(p->server.key, "EC"));
}

static void test_server_names(void **state)
{
    struct pki *p = *state;
    static const unsigned char loopback[4] = {127, 0, 0, 1};

    assert_int_equal(X509_check_host(p->server.cert, "localhost", 0, 0, NULL),
                     1);
    assert_int_equal(X509_check_ip_asc(p->server.cert, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip(p->server.cert, loopback, 4, 0), 1);
    assert_int_equal(X509_check_host(p->server.cert, "example.org", 0, 0, NULL),
                     0);
    assert_int_equal(X509_check_ip_asc(p->client.cert, "127.0.0.1", 0), 0);
}

static void test_bad_arguments(void **state)
{
    struct pki *p = *state;
    struct adp_devcert dc;
    struct xr_error err;

    assert_int_equal(adp_devcert_make(ADP_DEVCERT_CA, "x", &p->ca, &dc, &err),
                     XR_EINVAL);
    adp_devcert_cleanup(&dc);
    assert_int_equal(adp_devcert_make(ADP_DEVCERT_SERVER, "x", NULL, &dc, &err),
                     XR_EINVAL);
    adp_devcert_cleanup(&dc);
}

static void test_fingerprint(void **state)
{
    struct pki *p = *state;
    unsigned char md[32];
    unsigned int n = 0;
    char fp[96], small[95], hex[4];
    struct xr_error err;

    assert_int_equal(
        adp_devcert_fingerprint(p->client.cert, fp, sizeof(fp), &err), XR_OK);
    assert_int_equal(strlen(fp), 95);
    assert_int_equal(X509_digest(p->client.cert, EVP_sha256(), md, &n), 1);
    for (unsigned int i = 0; i < n; i++) {
        snprintf(hex, sizeof(hex), "%02X", md[i]);
        assert_memory_equal(fp + 3 * i, hex, 2);
        if (i + 1 < n)
            assert_int_equal(fp[3 * i + 2], ':');
    }
    assert_int_equal(
        adp_devcert_fingerprint(p->client.cert, small, sizeof(small), &err),
        XR_EINVAL);
}

static void test_write_modes(void **state)
{
    struct pki *p = *state;
    char dir[] = "/tmp/test_devcert.XXXXXX";
    char cert[128], key[128];
    struct xr_error err;
    struct stat st;
    mode_t old = umask(0);
    FILE *f;
    X509 *back;

    assert_non_null(mkdtemp(dir));
    snprintf(cert, sizeof(cert), "%s/c.pem", dir);
    snprintf(key, sizeof(key), "%s/c.key", dir);
    /* A pre-existing, world-readable file is replaced, not reused. */
    f = fopen(key, "w");
    assert_non_null(f);
    fputs("old", f);
    fclose(f);
    chmod(key, 0666);
    assert_int_equal(adp_devcert_write(&p->server, cert, key, &err), XR_OK);
    umask(old);
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(cert, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    f = fopen(cert, "r");
    assert_non_null(f);
    back = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(back);
    assert_int_equal(X509_cmp(back, p->server.cert), 0);
    X509_free(back);
    snprintf(cert, sizeof(cert), "%s/missing/c.pem", dir);
    assert_int_equal(adp_devcert_write(&p->server, cert, NULL, &err), XR_EIO);
    snprintf(cert, sizeof(cert), "%s/c.pem", dir);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_and_purposes),
        cmocka_unit_test(test_server_names),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_write_modes),
    };

    return cmocka_run_group_tests_name("devcert", tests, setup, teardown);
}

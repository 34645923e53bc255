/*
 * Audit checkpoints (adapter/checkpoint.c): the line, its Ed25519
 * signature, reading many from a file, and every way a line is refused.
 */
#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "test_helpers.h"

#include "checkpoint.h"
#include "devcert.h"

static char dir[PATH_MAX];
static char key_path[PATH_MAX + 32], pub_path[PATH_MAX + 32];
static char other_key[PATH_MAX + 32], other_pub[PATH_MAX + 32];

static int group_setup(void **state)
{
    struct xr_error err;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/vayla-cp.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(key_path, sizeof(key_path), "%s/cp.key", dir);
    snprintf(pub_path, sizeof(pub_path), "%s/cp.pub", dir);
    snprintf(other_key, sizeof(other_key), "%s/o.key", dir);
    snprintf(other_pub, sizeof(other_pub), "%s/o.pub", dir);
    if (adp_devcert_write_ed25519(key_path, pub_path, &err) != XR_OK ||
        adp_devcert_write_ed25519(other_key, other_pub, &err) != XR_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    (void)state;
    snprintf(cmd, sizeof(cmd), "%s/cp.key", dir);
    unlink(cmd);
    unlink(pub_path);
    unlink(other_key);
    unlink(other_pub);
    snprintf(cmd, sizeof(cmd), "%s/cps", dir);
    unlink(cmd);
    rmdir(dir);
    return 0;
}

static void sample(struct adp_checkpoint *cp, uint64_t seq)
{
    memset(cp, 0, sizeof(*cp));
    for (size_t i = 0; i < sizeof(cp->chain_id); i++)
        cp->chain_id[i] = (uint8_t)(0xa0 + i);
    cp->anchor.seq = seq;
    for (size_t i = 0; i < sizeof(cp->anchor.hash); i++)
        cp->anchor.hash[i] = (uint8_t)(seq + i);
    cp->rows = seq;
    cp->time_ms = 1796400000123LL + (int64_t)seq;
}

static EVP_PKEY *load(const char *path, bool priv)
{
    EVP_PKEY *k = NULL;
    struct xr_error err;

    XRT_ASSERT_OK(adp_checkpoint_key_load(path, priv, &k, &err), err);
    return k;
}

static void test_roundtrip_signed(void **state)
{
    EVP_PKEY *key = load(key_path, true), *pub = load(pub_path, false);
    EVP_PKEY *other = load(other_pub, false);
    EVP_PKEY *from_priv = load(key_path, false); /* public part of it */
    struct adp_checkpoint cp, back;
    struct xr_error err;
    char line[ADP_CHECKPOINT_LINE_MAX], logged[ADP_CHECKPOINT_LINE_MAX + 64];

    (void)state;
    sample(&cp, 4242);
    XRT_ASSERT_OK(adp_checkpoint_format(&cp, key, line, sizeof(line), &err),
                  err);
    assert_non_null(strstr(line, "seq=4242 "));
    assert_non_null(strstr(line, " sig="));
    /* As the log prints it, after a time and a level. */
    snprintf(logged, sizeof(logged),
             "2026-12-04T18:00:00.000Z info: audit checkpoint: %s", line);
    XRT_ASSERT_OK(adp_checkpoint_parse(logged, pub, &back, &err), err);
    assert_true(back.is_signed);
    assert_int_equal(back.anchor.seq, 4242);
    assert_memory_equal(back.anchor.hash, cp.anchor.hash,
                        sizeof(cp.anchor.hash));
    assert_memory_equal(back.chain_id, cp.chain_id, sizeof(cp.chain_id));
    assert_int_equal(back.rows, 4242);
    assert_int_equal(back.time_ms, cp.time_ms);
    XRT_ASSERT_OK(adp_checkpoint_parse(line, from_priv, &back, &err), err);
    /* Another key: refused. */
    XRT_ASSERT_REASON(adp_checkpoint_parse(line, other, &back, &err), err,
                      "bad_signature");
    /* Any change to the signed text: refused. */
    {
        char *p = strstr(line, "seq=4242");
        p[5] = '3';
        XRT_ASSERT_REASON(adp_checkpoint_parse(line, pub, &back, &err), err,
                          "bad_signature");
        /* Without a key the change is not noticed: that is what signing
         * is for. */
        XRT_ASSERT_OK(adp_checkpoint_parse(line, NULL, &back, &err), err);
        assert_int_equal(back.anchor.seq, 4342);
    }
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(other);
    EVP_PKEY_free(from_priv);
}

static void test_unsigned_and_malformed(void **state)
{
    EVP_PKEY *pub = load(pub_path, false);
    struct adp_checkpoint cp, back;
    struct xr_error err;
    char line[ADP_CHECKPOINT_LINE_MAX];
    static const char *bad[] = {
        ADP_CHECKPOINT_MARK "chain=00 seq=1 hash=00 rows=1 time=x",
        ADP_CHECKPOINT_MARK "seq=1",
        ADP_CHECKPOINT_MARK
        "chain=a0a1a2a3a4a5a6a7a8a9aaabacadaeaf seq=-1 "
        "hash=0000000000000000000000000000000000000000000000000000000000000000"
        " rows=1 time=2026-12-04T18:00:00.000Z",
        ADP_CHECKPOINT_MARK
        "chain=a0a1a2a3a4a5a6a7a8a9aaabacadaeaf seq=1 "
        "hash=0000000000000000000000000000000000000000000000000000000000000000"
        " rows=1 time=2026-12-04T18:00:00.000Z extra=1",
        ADP_CHECKPOINT_MARK
        "chain=a0a1a2a3a4a5a6a7a8a9aaabacadaeaf seq=1 "
        "hash=000000000000000000000000000000000000000000000000000000000000000g"
        " rows=1 time=2026-12-04T18:00:00.000Z",
    };

    (void)state;
    sample(&cp, 7);
    XRT_ASSERT_OK(adp_checkpoint_format(&cp, NULL, line, sizeof(line), &err),
                  err);
    assert_null(strstr(line, "sig="));
    XRT_ASSERT_OK(adp_checkpoint_parse(line, NULL, &back, &err), err);
    assert_false(back.is_signed);
    XRT_ASSERT_REASON(adp_checkpoint_parse(line, pub, &back, &err), err,
                      "unsigned_checkpoint");
    XRT_ASSERT_REASON(adp_checkpoint_parse("nothing here", NULL, &back, &err),
                      err, "not_checkpoint");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum xr_status st = adp_checkpoint_parse(bad[i], NULL, &back, &err);
        if (st == XR_OK)
            fail_msg("case %zu accepted", i);
        assert_string_equal(err.reason, "malformed_checkpoint");
    }
    EVP_PKEY_free(pub);
}

static void test_read_file(void **state)
{
    EVP_PKEY *key = load(key_path, true), *pub = load(pub_path, false);
    struct adp_checkpoint cp, *v = NULL;
    struct xr_error err;
    char line[ADP_CHECKPOINT_LINE_MAX], path[PATH_MAX + 16];
    size_t n = 0;
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/cps", dir);
    unlink(path);
    for (uint64_t s = 1; s <= 3; s++) {
        sample(&cp, s * 100);
        XRT_ASSERT_OK(adp_checkpoint_format(&cp, key, line, sizeof(line), &err),
                      err);
        assert_true(adp_checkpoint_append(path, line));
    }
    /* Other lines in the file are skipped. */
    f = fopen(path, "a");
    assert_non_null(f);
    fputs("a comment line\n\n", f);
    fclose(f);
    XRT_ASSERT_OK(adp_checkpoint_read(path, pub, &v, &n, &err), err);
    assert_int_equal(n, 3);
    assert_int_equal(v[0].anchor.seq, 100);
    assert_int_equal(v[2].anchor.seq, 300);
    free(v);
    /* A forged checkpoint in the file names its line. */
    f = fopen(path, "a");
    sample(&cp, 400);
    XRT_ASSERT_OK(adp_checkpoint_format(&cp, NULL, line, sizeof(line), &err),
                  err);
    fprintf(f, "%s sig=AAAA\n", line);
    fclose(f);
    XRT_ASSERT_REASON(adp_checkpoint_read(path, pub, &v, &n, &err), err,
                      "bad_signature");
    assert_string_equal(err.field, "line 6");
    assert_null(v);
    assert_int_equal(n, 0);
    XRT_ASSERT_REASON(
        adp_checkpoint_read("/nonexistent/cps", NULL, &v, &n, &err), err,
        "io_error");
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
}

/* Append the checkpoint of seq (signed with key, or forged) to path. */
static void put(const char *path, EVP_PKEY *key, uint64_t seq, bool forged)
{
    struct adp_checkpoint cp;
    struct xr_error err;
    char line[ADP_CHECKPOINT_LINE_MAX];
    FILE *f;

    sample(&cp, seq);
    XRT_ASSERT_OK(adp_checkpoint_format(&cp, forged ? NULL : key, line,
                                        sizeof(line), &err),
                  err);
    f = fopen(path, "a");
    assert_non_null(f);
    fprintf(f, "%s%s\n", line, forged ? " sig=AAAA" : "");
    fclose(f);
}

/* Start-up reads the last checkpoint only, from the file's tail. */
static void test_read_last(void **state)
{
    EVP_PKEY *key = load(key_path, true), *pub = load(pub_path, false);
    struct adp_checkpoint cp, *v = NULL;
    struct xr_error err;
    char path[PATH_MAX + 16];
    size_t n = 0;
    bool found = true;
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/cps", dir);
    XRT_ASSERT_REASON(
        adp_checkpoint_read_last("/nonexistent/cps", pub, &cp, &found, &err),
        err, "io_error");
    assert_false(found);
    XRT_ASSERT_REASON(adp_checkpoint_read_last(dir, pub, &cp, &found, &err),
                      err, "io_error"); /* a directory */

    /* An empty file: no checkpoint, not an error. */
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    found = true;
    XRT_ASSERT_OK(adp_checkpoint_read_last(path, pub, &cp, &found, &err), err);
    assert_false(found);

    /* A forged line early in a long file: only the whole-file read (audit
     * verify --anchors) looks at it; the last one is what start-up needs. */
    put(path, key, 1, true);
    for (uint64_t s = 2; s <= 400; s++)
        put(path, key, s, false);
    f = fopen(path, "a");
    fputs("a comment line\n\n", f);
    fclose(f);
    XRT_ASSERT_OK(adp_checkpoint_read_last(path, pub, &cp, &found, &err), err);
    assert_true(found);
    assert_int_equal(cp.anchor.seq, 400);
    assert_true(cp.is_signed);
    XRT_ASSERT_REASON(adp_checkpoint_read(path, pub, &v, &n, &err), err,
                      "bad_signature");

    /* The last line without its line end still counts. */
    f = fopen(path, "a");
    {
        struct adp_checkpoint c2;
        char line[ADP_CHECKPOINT_LINE_MAX];
        sample(&c2, 401);
        XRT_ASSERT_OK(adp_checkpoint_format(&c2, key, line, sizeof(line), &err),
                      err);
        fputs(line, f);
    }
    fclose(f);
    XRT_ASSERT_OK(adp_checkpoint_read_last(path, pub, &cp, &found, &err), err);
    assert_int_equal(cp.anchor.seq, 401);

    /* A forged last checkpoint is refused, as is an unsigned one when a
     * key is given. */
    f = fopen(path, "a");
    fputs("\n", f);
    fclose(f);
    put(path, key, 402, true);
    XRT_ASSERT_REASON(adp_checkpoint_read_last(path, pub, &cp, &found, &err),
                      err, "bad_signature");
    assert_false(found);

    /* More than the window of other text after the checkpoints. */
    f = fopen(path, "a");
    for (unsigned i = 0; i < ADP_CHECKPOINT_TAIL_MAX / 8; i++)
        fputs("not a checkpt.\n", f);
    fclose(f);
    XRT_ASSERT_REASON(adp_checkpoint_read_last(path, pub, &cp, &found, &err),
                      err, "malformed_checkpoint");

    /* A file past the whole-file cap (sparse: 65 MiB of zero bytes, then
     * a line end and a checkpoint): the whole-file read refuses it, the
     * last checkpoint is still found. */
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 65 * 1024 * 1024), 0);
    fclose(f);
    f = fopen(path, "a");
    fputs("\n", f);
    fclose(f);
    put(path, key, 7000, false);
    XRT_ASSERT_OK(adp_checkpoint_read_last(path, pub, &cp, &found, &err), err);
    assert_true(found);
    assert_int_equal(cp.anchor.seq, 7000);
    XRT_ASSERT_REASON(adp_checkpoint_read(path, pub, &v, &n, &err), err,
                      "too_large");
    unlink(path);
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
}

static void test_keys(void **state)
{
    EVP_PKEY *k = NULL;
    struct xr_error err;
    char path[PATH_MAX + 16];
    FILE *f;

    (void)state;
    /* The public key file is not a private key. */
    XRT_ASSERT_REASON(adp_checkpoint_key_load(pub_path, true, &k, &err), err,
                      "not_ed25519");
    snprintf(path, sizeof(path), "%s/cps", dir);
    f = fopen(path, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nnot base64\n", f);
    fclose(f);
    XRT_ASSERT_REASON(adp_checkpoint_key_load(path, true, &k, &err), err,
                      "not_ed25519");
    XRT_ASSERT_REASON(
        adp_checkpoint_key_load("/nonexistent/key", true, &k, &err), err,
        "io_error");
    assert_null(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_signed),
        cmocka_unit_test(test_unsigned_and_malformed),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_read_last),
        cmocka_unit_test(test_keys),
    };

    return cmocka_run_group_tests_name("checkpoint", tests, group_setup,
                                       group_teardown);
}

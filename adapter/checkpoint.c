/*
 * Audit checkpoints (checkpoint.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <systemd/sd-journal.h>

#include "checkpoint.h"
#include "util.h"

#define SIG_LEN     64u /* Ed25519 */
#define SIG_B64_MAX 96u /* base64 of 64 bytes is 88 */
#define CHAIN_HEX   (2u * ADP_AUDIT_CHAIN_ID_LEN)
#define HASH_HEX    (2u * ADP_AUDIT_HASH_LEN)

/* ---- keys and signatures -------------------------------------------------
 */

enum xr_status adp_checkpoint_key_load(const char *path, bool private_key,
                                       EVP_PKEY **out, struct xr_error *err)
{
    BIO *b = BIO_new_file(path, "r");
    EVP_PKEY *k = NULL;

    *out = NULL;
    if (!b)
        return xr_error_set_errno(err, XR_EIO, errno, "io_error", "",
                                  "checkpoint key %s", path);
    if (private_key) {
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    } else {
        k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        if (!k && BIO_reset(b) == 0)
            k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    }
    BIO_free(b);
    ERR_clear_error();
    if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        return xr_error_set(err, XR_EINVAL, "not_ed25519", "",
                            "%s: not an Ed25519 %s key in PEM", path,
                            private_key ? "private" : "public");
    }
    *out = k;
    return XR_OK;
}

static bool sign(EVP_PKEY *key, const char *tbs, size_t n, uint8_t sig[SIG_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t len = SIG_LEN;
    bool ok =
        md && EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
        EVP_DigestSign(md, sig, &len, (const unsigned char *)tbs, n) == 1 &&
        len == SIG_LEN;

    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

static bool verify(EVP_PKEY *key, const char *tbs, size_t n, const uint8_t *sig,
                   size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok =
        md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
        EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)tbs, n) == 1;

    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

/* ---- the line ------------------------------------------------------------
 */

enum xr_status adp_checkpoint_format(const struct adp_checkpoint *cp,
                                     EVP_PKEY *key, char *out, size_t size,
                                     struct xr_error *err)
{
    char chain[CHAIN_HEX + 1], hash[HASH_HEX + 1];
    char time[ADP_AUDIT_TIME_LEN + 1];
    uint8_t sig[SIG_LEN];
    unsigned char b64[SIG_B64_MAX];
    int n;

    adp_hex_encode(cp->chain_id, ADP_AUDIT_CHAIN_ID_LEN, chain);
    adp_hex_encode(cp->anchor.hash, ADP_AUDIT_HASH_LEN, hash);
    if (!adp_audit_time_format(cp->time_ms, time, sizeof(time)))
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "checkpoint time out of range");
    n = snprintf(out, size,
                 ADP_CHECKPOINT_MARK "chain=%s seq=%" PRIu64
                                     " hash=%s rows=%" PRIu64 " time=%s",
                 chain, cp->anchor.seq, hash, cp->rows, time);
    if (n < 0 || (size_t)n >= size)
        return xr_error_set(err, XR_ELIMIT, "too_large", "",
                            "checkpoint line too long");
    if (!key)
        return XR_OK;
    if (!sign(key, out, (size_t)n, sig))
        return xr_error_set(err, XR_EINTERNAL, "signing_failed", "",
                            "cannot sign the checkpoint");
    EVP_EncodeBlock(b64, sig, SIG_LEN);
    if ((size_t)snprintf(out + n, size - (size_t)n, " sig=%s", b64) >=
        size - (size_t)n)
        return xr_error_set(err, XR_ELIMIT, "too_large", "",
                            "checkpoint line too long");
    return XR_OK;
}

/* "key=" then the value up to a space or the end: into out (size). */
static bool field(const char **p, const char *key, char *out, size_t size)
{
    size_t k = strlen(key), n = 0;

    if (strncmp(*p, key, k) != 0)
        return false;
    *p += k;
    while ((*p)[n] && (*p)[n] != ' ' && (*p)[n] != '\r' && (*p)[n] != '\n')
        n++;
    if (n == 0 || n >= size)
        return false;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    if (**p == ' ')
        (*p)++;
    return true;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0';
}

enum xr_status adp_checkpoint_parse(const char *line, EVP_PKEY *pub,
                                    struct adp_checkpoint *cp,
                                    struct xr_error *err)
{
    const char *start = strstr(line, ADP_CHECKPOINT_MARK), *p, *sig_at;
    char chain[CHAIN_HEX + 1], seq[24], hash[HASH_HEX + 1], rows[24];
    char time[ADP_AUDIT_TIME_LEN + 8], sig[SIG_B64_MAX + 1];
    uint8_t raw[SIG_B64_MAX];
    int n;

    memset(cp, 0, sizeof(*cp));
    if (!start)
        return xr_error_set(err, XR_EPROTO, "not_checkpoint", "",
                            "no checkpoint in this line");
    p = start + strlen(ADP_CHECKPOINT_MARK);
    if (!field(&p, "chain=", chain, sizeof(chain)) ||
        !field(&p, "seq=", seq, sizeof(seq)) ||
        !field(&p, "hash=", hash, sizeof(hash)) ||
        !field(&p, "rows=", rows, sizeof(rows)) ||
        !field(&p, "time=", time, sizeof(time)) || strlen(chain) != CHAIN_HEX ||
        strlen(hash) != HASH_HEX ||
        !adp_hex_decode(chain, cp->chain_id, ADP_AUDIT_CHAIN_ID_LEN) ||
        !adp_hex_decode(hash, cp->anchor.hash, ADP_AUDIT_HASH_LEN) ||
        !parse_u64(seq, &cp->anchor.seq) || !parse_u64(rows, &cp->rows) ||
        !adp_audit_time_parse(time, &cp->time_ms))
        return xr_error_set(err, XR_EPROTO, "malformed_checkpoint", "",
                            "a checkpoint line is malformed");
    sig_at = p;
    if (*p && *p != '\r' && *p != '\n') {
        if (!field(&p, "sig=", sig, sizeof(sig)) ||
            (*p && *p != '\r' && *p != '\n'))
            return xr_error_set(err, XR_EPROTO, "malformed_checkpoint", "",
                                "a checkpoint line is malformed");
        cp->is_signed = true;
    }
    if (!pub)
        return XR_OK;
    if (!cp->is_signed)
        return xr_error_set(err, XR_EPROTO, "unsigned_checkpoint", "",
                            "checkpoint %" PRIu64 " is not signed",
                            cp->anchor.seq);
    n = EVP_DecodeBlock(raw, (const unsigned char *)sig, (int)strlen(sig));
    /* 88 characters decode to 66 bytes with the two padding bytes. */
    if (n != 66 || sig[86] != '=' || sig[87] != '=' ||
        !verify(pub, start, (size_t)(sig_at - start - 1), raw, SIG_LEN))
        return xr_error_set(err, XR_ESIG, "bad_signature", "",
                            "checkpoint %" PRIu64 " has a bad signature",
                            cp->anchor.seq);
    return XR_OK;
}

/* ---- reading many --------------------------------------------------------
 */

static enum xr_status push(struct adp_checkpoint **v, size_t *n, size_t *cap,
                           const struct adp_checkpoint *cp,
                           struct xr_error *err)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct adp_checkpoint *nv;
        if (nc > ADP_CHECKPOINTS_MAX)
            nc = ADP_CHECKPOINTS_MAX;
        if (*n >= nc)
            return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                "more than %u checkpoints",
                                ADP_CHECKPOINTS_MAX);
        nv = realloc(*v, nc * sizeof(*nv));
        if (!nv)
            return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                "out of memory");
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = *cp;
    return XR_OK;
}

static enum xr_status read_file(const char *path, EVP_PKEY *pub,
                                struct adp_checkpoint **v, size_t *n,
                                struct xr_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, lineno = 0;
    struct adp_checkpoint cp;
    enum xr_status rc;
    char *line;

    rc = adp_file_read(path, ADP_CHECKPOINT_FILE_MAX, &buf, &len, err);
    if (rc != XR_OK)
        return rc;
    for (char *p = (char *)buf; p < (char *)buf + len; p = line + 1) {
        line = memchr(p, '\n', (size_t)((char *)buf + len - p));
        if (!line)
            line = (char *)buf + len;
        *line = '\0';
        lineno++;
        if (!strstr(p, ADP_CHECKPOINT_MARK))
            continue;
        rc = adp_checkpoint_parse(p, pub, &cp, err);
        if (rc == XR_OK)
            rc = push(v, n, &cap, &cp, err);
        if (rc != XR_OK) {
            if (err)
                snprintf(err->field, sizeof(err->field), "line %zu", lineno);
            break;
        }
    }
    free(buf);
    return rc;
}

static enum xr_status read_journal(EVP_PKEY *pub, struct adp_checkpoint **v,
                                   size_t *n, struct xr_error *err)
{
    sd_journal *j = NULL;
    struct adp_checkpoint cp;
    size_t cap = 0;
    enum xr_status rc = XR_OK;
    int r;

    r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
    if (r < 0)
        return xr_error_set_errno(err, XR_EIO, -r, "io_error", "",
                                  "cannot open the journal");
    r = sd_journal_add_match(j, "VAYLA_EVENT=checkpoint", 0);
    while (r >= 0 && (r = sd_journal_next(j)) > 0) {
        const void *d;
        size_t l;
        char line[ADP_CHECKPOINT_LINE_MAX + 32];
        if (sd_journal_get_data(j, "VAYLA_CHECKPOINT", &d, &l) < 0)
            continue;
        if (l >= sizeof(line))
            continue;
        memcpy(line, d, l);
        line[l] = '\0';
        rc = adp_checkpoint_parse(line, pub, &cp, err);
        if (rc == XR_OK)
            rc = push(v, n, &cap, &cp, err);
        if (rc != XR_OK)
            break;
    }
    if (rc == XR_OK && r < 0)
        rc = xr_error_set_errno(err, XR_EIO, -r, "io_error", "",
                                "reading the journal");
    sd_journal_close(j);
    return rc;
}

enum xr_status adp_checkpoint_read(const char *source, EVP_PKEY *pub,
                                   struct adp_checkpoint **out, size_t *n,
                                   struct xr_error *err)
{
    enum xr_status rc;

    *out = NULL;
    *n = 0;
    if (!strcmp(source, "journal"))
        rc = read_journal(pub, out, n, err);
    else
        rc = read_file(source, pub, out, n, err);
    if (rc != XR_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

enum xr_status adp_checkpoint_read_last(const char *path, EVP_PKEY *pub,
                                        struct adp_checkpoint *cp, bool *found,
                                        struct xr_error *err)
{
    char *buf = NULL, *last = NULL;
    struct stat st;
    size_t len = 0, want;
    off_t from;
    enum xr_status rc;
    int fd;

    *found = false;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xr_error_set_errno(err, XR_EIO, errno, "io_error", "", "%s",
                                  path);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = xr_error_set(err, XR_EIO, "io_error", "", "%s: not a regular file",
                          path);
        goto out;
    }
    from = st.st_size > (off_t)ADP_CHECKPOINT_TAIL_MAX
               ? st.st_size - (off_t)ADP_CHECKPOINT_TAIL_MAX
               : 0;
    want = (size_t)(st.st_size - from);
    buf = malloc(want + 1);
    if (!buf) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                          "%s: out of memory", path);
        goto out;
    }
    /* Bounded by want: a file cut short meanwhile ends the loop early. */
    while (len < want) {
        ssize_t r = pread(fd, buf + len, want - len, from + (off_t)len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = xr_error_set_errno(err, XR_EIO, errno, "io_error", "", "%s",
                                    path);
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    /* Lines in order; the first one is skipped when the window cut it. */
    for (char *p = buf, *nl; p < buf + len; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(buf + len - p));
        if (!nl)
            nl = buf + len;
        *nl = '\0';
        if ((p != buf || from == 0) && strstr(p, ADP_CHECKPOINT_MARK))
            last = p;
    }
    if (!last) {
        rc = from == 0
                 ? XR_OK
                 : xr_error_set(err, XR_EPROTO, "malformed_checkpoint", "",
                                "%s: no checkpoint in its last %u "
                                "bytes",
                                path, ADP_CHECKPOINT_TAIL_MAX);
        goto out;
    }
    rc = adp_checkpoint_parse(last, pub, cp, err);
    *found = rc == XR_OK;
out:
    free(buf);
    close(fd);
    return rc;
}

bool adp_checkpoint_append(const char *path, const char *line)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    size_t len = strlen(line);
    char buf[ADP_CHECKPOINT_LINE_MAX + 2];
    bool ok;

    if (fd < 0)
        return false;
    if (len + 1 >= sizeof(buf)) {
        close(fd);
        errno = EMSGSIZE;
        return false;
    }
    memcpy(buf, line, len);
    buf[len] = '\n';
    /* One write of the whole line: O_APPEND keeps it whole. */
    ok = write(fd, buf, len + 1) == (ssize_t)(len + 1) && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = false;
    return ok;
}

/*
 * One audit row: the time format, the text rules of string fields, the row
 * and genesis hashes (docs/audit.md §3), and reading and writing the
 * columns of `records` and `chain_state`.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "audit_internal.h"

#define ROW_DOMAIN     "vayla-audit-row-v1"
#define GENESIS_DOMAIN "vayla-audit-genesis-v1"

/* Serialisation tags of the row hash (docs/audit.md §3). */
enum tag { TAG_NULL = 0, TAG_INT = 1, TAG_TEXT = 2, TAG_BLOB = 3 };

enum text_check { TEXT_OK, TEXT_TOO_LONG, TEXT_BAD };

/* ------------------------------------------------------------------ */
/* Time and text                                                        */

int64_t adp_audit_now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000);
}

/* Largest ms value that still formats with a four-digit year. */
#define TIME_MS_MAX 253402300799999LL

bool adp_audit_time_format(int64_t ms, char *out, size_t size)
{
    struct tm tm;
    time_t secs;
    int n;

    if (ms < 0 || ms > TIME_MS_MAX || size < ADP_AUDIT_TIME_LEN + 1)
        return false;
    secs = (time_t)(ms / 1000);
    if (!gmtime_r(&secs, &tm))
        return false;
    n = snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return n == (int)ADP_AUDIT_TIME_LEN;
}

static bool parse_digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dim[m - 1];
}

bool adp_audit_time_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, nfrac = 0;
    int oh = 0, om = 0, sign = 0;
    const char *p;
    int64_t secs;

    if (!s || strnlen(s, 64) >= 64)
        return false;
    if (!parse_digits(s, 4, &y) || s[4] != '-' ||
        !parse_digits(s + 5, 2, &mo) || s[7] != '-' ||
        !parse_digits(s + 8, 2, &d))
        return false;
    p = s + 10;
    if (*p != '\0') {
        if (*p != 'T' && *p != 't')
            return false;
        p++;
        if (!parse_digits(p, 2, &h) || p[2] != ':' ||
            !parse_digits(p + 3, 2, &mi))
            return false;
        p += 5;
        if (*p == ':') {
            if (!parse_digits(p + 1, 2, &sec))
                return false;
            p += 3;
            if (*p == '.') {
                p++;
                while (*p >= '0' && *p <= '9') {
                    if (nfrac < 3)
                        frac = frac * 10 + (*p - '0');
                    if (++nfrac > 9)
                        return false;
                    p++;
                }
                if (nfrac == 0)
                    return false;
                for (int i = nfrac; i < 3; i++)
                    frac *= 10;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            sign = *p == '+' ? 1 : -1;
            if (!parse_digits(p + 1, 2, &oh) || p[3] != ':' ||
                !parse_digits(p + 4, 2, &om) || oh > 23 || om > 59)
                return false;
            p += 6;
        } else {
            return false;
        }
        if (*p != '\0')
            return false;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h > 23 || mi > 59 || sec > 60)
        return false;
    if (sec == 60) /* leap second: the last millisecond of the minute */
        sec = 59, frac = 999;
    secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
           (int64_t)sign * (oh * 3600 + om * 60);
    if (secs < 0 || secs * 1000 + frac > TIME_MS_MAX)
        return false;
    *ms = secs * 1000 + frac;
    return true;
}

/*
 * UTF-8 without control characters: rejects bytes < 0x20, DEL, C1 controls,
 * overlong forms, surrogates and code points above U+10FFFF.
 */
static enum text_check text_check(const char *s, size_t max, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, max + 1), i = 0;

    if (n > max)
        return TEXT_TOO_LONG;
    while (i < n) {
        unsigned c = p[i];
        unsigned need, cp, min;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return TEXT_BAD;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07, min = 0x10000;
        else
            return TEXT_BAD;
        if (n - i <= need)
            return TEXT_BAD;
        for (unsigned k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return TEXT_BAD;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp <= 0x9f))
            return TEXT_BAD;
        i += need + 1;
    }
    *len = n;
    return TEXT_OK;
}

/*
 * Check one string field. Adds its size (with NUL) to *total.
 * Never echoes the value.
 */
enum xr_status adp__audit_check_field(const char *name, const char *v,
                                      bool required, size_t max, size_t *total,
                                      struct xr_error *err)
{
    size_t len = 0;

    if (!v) {
        if (required)
            return xr_error_set(err, XR_EINVAL, "invalid_field", name,
                                "audit record: %s is required", name);
        return XR_OK;
    }
    switch (text_check(v, max, &len)) {
    case TEXT_OK:
        break;
    case TEXT_TOO_LONG:
        return xr_error_set(err, XR_ELIMIT, "too_large", name,
                            "audit record: %s is longer than %zu bytes", name,
                            max);
    case TEXT_BAD:
        return xr_error_set(err, XR_EINVAL, "invalid_field", name,
                            "audit record: %s is not UTF-8 text without "
                            "control characters",
                            name);
    }
    if (required && len == 0)
        return xr_error_set(err, XR_EINVAL, "invalid_field", name,
                            "audit record: %s is empty", name);
    *total += len + 1;
    return XR_OK;
}

/* ------------------------------------------------------------------ */
/* Hashing                                                              */

static bool md_update(EVP_MD_CTX *md, const void *p, size_t n)
{
    return n == 0 || EVP_DigestUpdate(md, p, n) == 1;
}

/*
 * A row's bytes are gathered here and handed to the digest a block at a
 * time: one EVP_DigestUpdate per field cost about as much as the hashing.
 * The digest sees the same bytes in the same order either way.
 */
#define HBUF_SIZE 1024

struct hbuf {
    EVP_MD_CTX *md;
    size_t len;
    uint8_t b[HBUF_SIZE];
};

/* Hand what is buffered to the digest. */
static bool hb_flush(struct hbuf *h)
{
    bool ok = h->len == 0 || EVP_DigestUpdate(h->md, h->b, h->len) == 1;

    h->len = 0;
    return ok;
}

/* Append n bytes (the digest gets them now or at the next flush). */
static bool hb_put(struct hbuf *h, const void *p, size_t n)
{
    if (n == 0)
        return true;
    if (n > sizeof(h->b) - h->len) {
        if (!hb_flush(h))
            return false;
        if (n > sizeof(h->b))
            return EVP_DigestUpdate(h->md, p, n) == 1;
    }
    memcpy(h->b + h->len, p, n);
    h->len += n;
    return true;
}

static bool h_null(struct hbuf *h)
{
    uint8_t t = TAG_NULL;
    return hb_put(h, &t, 1);
}

static bool h_int(struct hbuf *h, int64_t v)
{
    uint8_t b[9];
    uint64_t u = (uint64_t)v;

    b[0] = TAG_INT;
    for (int i = 0; i < 8; i++)
        b[1 + i] = (uint8_t)(u >> (56 - 8 * i));
    return hb_put(h, b, sizeof(b));
}

static bool h_bytes(struct hbuf *h, uint8_t tag, const void *p, size_t n)
{
    uint8_t b[5];

    if (n > UINT32_MAX)
        return false;
    b[0] = tag;
    b[1] = (uint8_t)(n >> 24);
    b[2] = (uint8_t)(n >> 16);
    b[3] = (uint8_t)(n >> 8);
    b[4] = (uint8_t)n;
    return hb_put(h, b, sizeof(b)) && hb_put(h, p, n);
}

static bool h_text(struct hbuf *h, const char *s)
{
    return s ? h_bytes(h, TAG_TEXT, s, strlen(s)) : h_null(h);
}

static bool h_blob(struct hbuf *h, const uint8_t *p, size_t n)
{
    return p ? h_bytes(h, TAG_BLOB, p, n) : h_null(h);
}

static bool h_opt_u64(struct hbuf *h, uint64_t v)
{
    return v ? h_int(h, (int64_t)v) : h_null(h);
}

/*
 * row_hash = SHA-256(ROW_DOMAIN NUL || field_1 || ... || field_23) where the
 * fields are the columns in COLS order with prev_hash last (row_hash itself
 * excluded), each serialised as tag + big-endian length/value.
 */
bool adp__audit_row_hash(struct adp_audit *a, const struct adp_audit_row *r,
                         uint8_t out[ADP_AUDIT_HASH_LEN])
{
    struct hbuf hb, *h = &hb;
    unsigned int n = 0;
    bool ok;

    hb.md = a->md;
    hb.len = 0;
    ok = EVP_DigestInit_ex(a->md, a->sha256, NULL) == 1 &&
         hb_put(h, ROW_DOMAIN, sizeof(ROW_DOMAIN)) &&
         h_int(h, (int64_t)r->seq) && h_text(h, r->kind) &&
         h_opt_u64(h, r->ref_seq) && h_text(h, r->time) &&
         h_text(h, r->caller) && h_text(h, r->end_user) &&
         h_text(h, r->purpose) && h_text(h, r->service) &&
         h_text(h, r->product) && h_text(h, r->subject) &&
         h_text(h, r->message_id) &&
         h_blob(h, r->request_sha512, ADP_AUDIT_SHA512_LEN) &&
         h_text(h, r->result_class) && h_text(h, r->return_code) &&
         h_text(h, r->fault_code) && h_text(h, r->fault_origin) &&
         (r->has_duration ? h_int(h, r->duration_ms) : h_null(h)) &&
         h_blob(h, r->response_sha512, ADP_AUDIT_SHA512_LEN) &&
         h_opt_u64(h, r->prune_seq) &&
         h_blob(h, r->prune_hash, ADP_AUDIT_HASH_LEN) &&
         h_text(h, r->prune_cutoff) && h_opt_u64(h, r->prune_count) &&
         h_blob(h, r->prev_hash, ADP_AUDIT_HASH_LEN) && hb_flush(h) &&
         EVP_DigestFinal_ex(a->md, out, &n) == 1 && n == ADP_AUDIT_HASH_LEN;
    return ok;
}

/* SHA-256(GENESIS_DOMAIN NUL || chain_id): prev_hash of row 1. */
bool adp__audit_genesis_hash(struct adp_audit *a,
                             const uint8_t chain_id[CHAIN_ID_LEN],
                             uint8_t out[ADP_AUDIT_HASH_LEN])
{
    unsigned int n = 0;

    return EVP_DigestInit_ex(a->md, a->sha256, NULL) == 1 &&
           md_update(a->md, GENESIS_DOMAIN, sizeof(GENESIS_DOMAIN)) &&
           md_update(a->md, chain_id, CHAIN_ID_LEN) &&
           EVP_DigestFinal_ex(a->md, out, &n) == 1 && n == ADP_AUDIT_HASH_LEN;
}

bool adp__audit_sha512(struct adp_audit *a, const uint8_t *p, size_t n,
                       uint8_t out[ADP_AUDIT_SHA512_LEN])
{
    unsigned int olen = 0;

    return EVP_DigestInit_ex(a->md, a->sha512, NULL) == 1 &&
           md_update(a->md, p, n) &&
           EVP_DigestFinal_ex(a->md, out, &olen) == 1 &&
           olen == ADP_AUDIT_SHA512_LEN;
}

/* ------------------------------------------------------------------ */
/* Reading and writing rows                                             */

static bool col_text(sqlite3_stmt *st, int c, bool nullable, const char **out)
{
    const unsigned char *t;
    int n;

    *out = NULL;
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL:
        return nullable;
    case SQLITE_TEXT:
        t = sqlite3_column_text(st, c);
        n = sqlite3_column_bytes(st, c);
        if (!t || n < 0 || strlen((const char *)t) != (size_t)n)
            return false; /* embedded NUL would escape the hash */
        *out = (const char *)t;
        return true;
    default:
        return false;
    }
}

bool adp__audit_col_blob(sqlite3_stmt *st, int c, size_t len, bool nullable,
                         const uint8_t **out)
{
    *out = NULL;
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL:
        return nullable;
    case SQLITE_BLOB:
        if (sqlite3_column_bytes(st, c) != (int)len)
            return false;
        *out = sqlite3_column_blob(st, c);
        return *out != NULL;
    default:
        return false;
    }
}

/* A positive integer, or NULL (0) when nullable. */
bool adp__audit_col_pos(sqlite3_stmt *st, int c, bool nullable, uint64_t *out)
{
    sqlite3_int64 v;

    *out = 0;
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL:
        return nullable;
    case SQLITE_INTEGER:
        v = sqlite3_column_int64(st, c);
        if (v < 1)
            return false;
        *out = (uint64_t)v;
        return true;
    default:
        return false;
    }
}

/*
 * Fill *r from columns c0 .. c0 + NCOLS - 1 of st (COLS order), checking
 * storage classes and lengths. Returns false for a malformed row; r->seq
 * is set whenever the seq column itself is readable.
 */
bool adp__audit_row_read(sqlite3_stmt *st, int c0, struct adp_audit_row *r)
{
    bool ok = true;

    memset(r, 0, sizeof(*r));
    ok &= adp__audit_col_pos(st, c0 + 0, false, &r->seq);
    ok &= col_text(st, c0 + 1, false, &r->kind);
    ok &= adp__audit_col_pos(st, c0 + 2, true, &r->ref_seq);
    ok &= col_text(st, c0 + 3, false, &r->time);
    ok &= col_text(st, c0 + 4, true, &r->caller);
    ok &= col_text(st, c0 + 5, true, &r->end_user);
    ok &= col_text(st, c0 + 6, true, &r->purpose);
    ok &= col_text(st, c0 + 7, true, &r->service);
    ok &= col_text(st, c0 + 8, true, &r->product);
    ok &= col_text(st, c0 + 9, true, &r->subject);
    ok &= col_text(st, c0 + 10, true, &r->message_id);
    ok &= adp__audit_col_blob(st, c0 + 11, ADP_AUDIT_SHA512_LEN, true,
                              &r->request_sha512);
    ok &= col_text(st, c0 + 12, true, &r->result_class);
    ok &= col_text(st, c0 + 13, true, &r->return_code);
    ok &= col_text(st, c0 + 14, true, &r->fault_code);
    ok &= col_text(st, c0 + 15, true, &r->fault_origin);
    switch (sqlite3_column_type(st, c0 + 16)) {
    case SQLITE_NULL:
        break;
    case SQLITE_INTEGER:
        r->has_duration = true;
        r->duration_ms = sqlite3_column_int64(st, c0 + 16);
        ok &= r->duration_ms >= 0;
        break;
    default:
        ok = false;
    }
    ok &= adp__audit_col_blob(st, c0 + 17, ADP_AUDIT_SHA512_LEN, true,
                              &r->response_sha512);
    ok &= adp__audit_col_pos(st, c0 + 18, true, &r->prune_seq);
    ok &= adp__audit_col_blob(st, c0 + 19, ADP_AUDIT_HASH_LEN, true,
                              &r->prune_hash);
    ok &= col_text(st, c0 + 20, true, &r->prune_cutoff);
    ok &= adp__audit_col_pos(st, c0 + 21, true, &r->prune_count);
    ok &= adp__audit_col_blob(st, c0 + 22, ADP_AUDIT_HASH_LEN, false,
                              &r->prev_hash);
    ok &= adp__audit_col_blob(st, c0 + 23, ADP_AUDIT_HASH_LEN, false,
                              &r->row_hash);
    return ok;
}

/* Kind-specific rules: which fields a row of its kind must carry. */
bool adp__audit_row_shape_ok(const struct adp_audit_row *r)
{
    int64_t ms;

    if (!adp_audit_time_parse(r->time, &ms))
        return false;
    if (!strcmp(r->kind, "intent"))
        return r->caller && r->end_user && r->service && r->message_id &&
               r->request_sha512 && !r->ref_seq && !r->result_class &&
               !r->prune_seq;
    if (!strcmp(r->kind, "outcome"))
        return r->message_id && r->result_class && r->has_duration &&
               (!r->ref_seq || r->ref_seq < r->seq) && !r->subject &&
               !r->prune_seq;
    if (!strcmp(r->kind, "prune"))
        return r->caller && r->prune_seq && r->prune_seq < r->seq &&
               r->prune_hash && r->prune_cutoff && r->prune_count &&
               !r->subject && !r->message_id;
    return false;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
    if (p)
        sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_pos(sqlite3_stmt *st, int i, uint64_t v)
{
    if (v)
        sqlite3_bind_int64(st, i, (sqlite3_int64)v);
    else
        sqlite3_bind_null(st, i);
}

/*
 * Insert r with a->st_insert. Bindings are SQLITE_STATIC: r must stay
 * valid until the statement is reset (done here).
 */
bool adp__audit_row_insert(struct adp_audit *a, const struct adp_audit_row *r)
{
    sqlite3_stmt *st = a->st_insert;
    int rc;

    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->seq);
    bind_text(st, 2, r->kind);
    bind_pos(st, 3, r->ref_seq);
    bind_text(st, 4, r->time);
    bind_text(st, 5, r->caller);
    bind_text(st, 6, r->end_user);
    bind_text(st, 7, r->purpose);
    bind_text(st, 8, r->service);
    bind_text(st, 9, r->product);
    bind_text(st, 10, r->subject);
    bind_text(st, 11, r->message_id);
    bind_blob(st, 12, r->request_sha512, ADP_AUDIT_SHA512_LEN);
    bind_text(st, 13, r->result_class);
    bind_text(st, 14, r->return_code);
    bind_text(st, 15, r->fault_code);
    bind_text(st, 16, r->fault_origin);
    if (r->has_duration)
        sqlite3_bind_int64(st, 17, r->duration_ms);
    else
        sqlite3_bind_null(st, 17);
    bind_blob(st, 18, r->response_sha512, ADP_AUDIT_SHA512_LEN);
    bind_pos(st, 19, r->prune_seq);
    bind_blob(st, 20, r->prune_hash, ADP_AUDIT_HASH_LEN);
    bind_text(st, 21, r->prune_cutoff);
    bind_pos(st, 22, r->prune_count);
    bind_blob(st, 23, r->prev_hash, ADP_AUDIT_HASH_LEN);
    bind_blob(st, 24, r->row_hash, ADP_AUDIT_HASH_LEN);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
}

/* Read chain_state (inside a transaction for a consistent view). */
enum xr_status adp__audit_state_read(struct adp_audit *a,
                                     struct chain_state *cs,
                                     struct xr_error *err)
{
    sqlite3_stmt *st = NULL;
    const uint8_t *id, *bp, *hh;
    uint64_t base = 0;
    enum xr_status rc;
    int src;

    if (a->st_state) {
        st = a->st_state;
    } else if (sqlite3_prepare_v2(a->db,
                                  "SELECT schema_version, chain_id, base_seq,"
                                  " base_prev_hash, head_seq, head_hash"
                                  " FROM chain_state WHERE id = 1",
                                  -1, &st, NULL) != SQLITE_OK) {
        rc = xr_error_set(err, XR_EPROTO, "audit_schema", "",
                          "audit store %s: not a vayla audit store (%s)",
                          a->path, sqlite3_errmsg(a->db));
        goto out;
    }
    src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        rc = src == SQLITE_DONE
                 ? xr_error_set(err, XR_EPROTO, "audit_schema", "",
                                "audit store %s: chain_state is empty", a->path)
                 : adp__audit_db_error(a, err, "reading chain_state");
        goto out;
    }
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
        sqlite3_column_type(st, 4) != SQLITE_INTEGER ||
        sqlite3_column_int64(st, 4) < 0 ||
        !adp__audit_col_pos(st, 2, false, &base) ||
        !adp__audit_col_blob(st, 1, CHAIN_ID_LEN, false, &id) ||
        !adp__audit_col_blob(st, 3, ADP_AUDIT_HASH_LEN, false, &bp) ||
        !adp__audit_col_blob(st, 5, ADP_AUDIT_HASH_LEN, false, &hh)) {
        rc = xr_error_set(err, XR_EPROTO, "audit_schema", "",
                          "audit store %s: chain_state is malformed", a->path);
        goto out;
    }
    cs->schema_version = sqlite3_column_int64(st, 0);
    cs->base_seq = base;
    cs->head_seq = (uint64_t)sqlite3_column_int64(st, 4);
    memcpy(cs->chain_id, id, CHAIN_ID_LEN);
    memcpy(cs->base_prev, bp, ADP_AUDIT_HASH_LEN);
    memcpy(cs->head_hash, hh, ADP_AUDIT_HASH_LEN);
    if (cs->schema_version != ADP_AUDIT_SCHEMA_VERSION) {
        rc = xr_error_set(err, XR_EPROTO, "audit_schema", "",
                          "audit store %s: schema version %lld, expected %d",
                          a->path, (long long)cs->schema_version,
                          ADP_AUDIT_SCHEMA_VERSION);
        goto out;
    }
    rc = XR_OK;
out:
    if (st == a->st_state)
        sqlite3_reset(st);
    else
        sqlite3_finalize(st);
    return rc;
}

/*
 * Audit store on SQLite: group commit of chained rows, verification,
 * search, export and retention pruning. Design and hash format:
 * docs/audit.md. Nothing in this file ever puts a stored value (a hetu, an
 * end user) into an error message.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "audit.h"

#define CHAIN_ID_LEN   16u
#define ROW_DOMAIN     "vayla-audit-row-v1"
#define GENESIS_DOMAIN "vayla-audit-genesis-v1"
#define SQL_MAX        2048u

/* Serialisation tags of the row hash (docs/audit.md §3). */
enum tag { TAG_NULL = 0, TAG_INT = 1, TAG_TEXT = 2, TAG_BLOB = 3 };

enum text_check { TEXT_OK, TEXT_TOO_LONG, TEXT_BAD };

/*
 * The columns of `records`, in hash order. COLS("i.") prefixes each one so
 * a join can read two rows with the same reader (row_read()).
 */
#define COLS(p)                                                              \
    p "seq," p "kind," p "ref_seq," p "time," p "caller," p "end_user," p    \
      "purpose," p "service," p "product," p "subject," p "message_id," p    \
      "request_sha512," p "result_class," p "return_code," p "fault_code," p \
      "fault_origin," p "duration_ms," p "response_sha512," p "prune_seq," p \
      "prune_hash," p "prune_cutoff," p "prune_count," p "prev_hash," p      \
      "row_hash"
#define NCOLS 24

static const char schema_sql[] =
    "CREATE TABLE chain_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " schema_version INTEGER NOT NULL,"
    " chain_id BLOB NOT NULL CHECK (length(chain_id) = 16),"
    " created TEXT NOT NULL,"
    " base_seq INTEGER NOT NULL CHECK (base_seq >= 1),"
    " base_prev_hash BLOB NOT NULL CHECK (length(base_prev_hash) = 32),"
    " head_seq INTEGER NOT NULL CHECK (head_seq >= 0),"
    " head_hash BLOB NOT NULL CHECK (length(head_hash) = 32)"
    ") STRICT;"
    "CREATE TABLE records ("
    " seq INTEGER PRIMARY KEY CHECK (seq >= 1),"
    /* Not "kind IN (...)": SQLite evaluates a list of three or more
     * constants through a temporary b-tree built for every row inserted,
     * which cost over a quarter of an audit commit's instructions. Stores
     * created before keep the IN form; the two accept the same rows. */
    " kind TEXT NOT NULL"
    "  CHECK (kind = 'intent' OR kind = 'outcome' OR kind = 'prune'),"
    " ref_seq INTEGER,"
    " time TEXT NOT NULL,"
    " caller TEXT, end_user TEXT, purpose TEXT, service TEXT,"
    " product TEXT, subject TEXT, message_id TEXT,"
    " request_sha512 BLOB"
    "  CHECK (request_sha512 IS NULL OR length(request_sha512) = 64),"
    " result_class TEXT, return_code TEXT, fault_code TEXT,"
    " fault_origin TEXT, duration_ms INTEGER,"
    " response_sha512 BLOB"
    "  CHECK (response_sha512 IS NULL OR length(response_sha512) = 64),"
    " prune_seq INTEGER,"
    " prune_hash BLOB CHECK (prune_hash IS NULL OR length(prune_hash) = 32),"
    " prune_cutoff TEXT, prune_count INTEGER,"
    " prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),"
    " row_hash BLOB NOT NULL CHECK (length(row_hash) = 32)"
    ") STRICT;"
    "CREATE INDEX records_subject ON records(subject)"
    " WHERE subject IS NOT NULL;"
    "CREATE INDEX records_end_user ON records(end_user)"
    " WHERE end_user IS NOT NULL;"
    "CREATE INDEX records_caller ON records(caller)"
    " WHERE caller IS NOT NULL;"
    "CREATE INDEX records_message_id ON records(message_id)"
    " WHERE kind = 'intent';"
    "CREATE INDEX records_ref ON records(ref_seq)"
    " WHERE ref_seq IS NOT NULL;"
    "CREATE INDEX records_time ON records(time);"
    "CREATE TRIGGER records_append_only BEFORE UPDATE ON records"
    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
    "CREATE TRIGGER chain_state_keep BEFORE DELETE ON chain_state"
    " BEGIN SELECT RAISE(ABORT, 'chain_state cannot be deleted'); END;";

/* clang-format off */
static const char insert_sql[] =
    "INSERT INTO records (" COLS("") ")"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
    " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)";
/* clang-format on */

/* One row waiting for commit. Strings live in text[] (same allocation). */
struct pending {
    uint64_t ticket;
    struct adp_audit_row row; /* seq, ref_seq, hashes filled at commit */
    char time[ADP_AUDIT_TIME_LEN + 1];
    uint8_t req_sha512[ADP_AUDIT_SHA512_LEN];
    uint8_t resp_sha512[ADP_AUDIT_SHA512_LEN];
    uint8_t prev[ADP_AUDIT_HASH_LEN];
    uint8_t hash[ADP_AUDIT_HASH_LEN];
    char text[]; /* NUL-separated copies of the string fields */
};

/* The chain_state row. */
struct chain_state {
    int64_t schema_version;
    uint8_t chain_id[CHAIN_ID_LEN];
    uint64_t base_seq;
    uint8_t base_prev[ADP_AUDIT_HASH_LEN];
    uint64_t head_seq;
    uint8_t head_hash[ADP_AUDIT_HASH_LEN];
};

struct adp_audit {
    char *path;  /* owned copy, for messages */
    sqlite3 *db; /* owned connection */
    bool read_only;
    size_t max_pending;
    EVP_MD *sha256; /* owned, fetched once */
    EVP_MD *sha512; /* owned, fetched once */
    EVP_MD_CTX *md; /* owned, reused for every digest */
    /* Persistent statements of the write path (NULL when read-only). */
    sqlite3_stmt *st_begin;
    sqlite3_stmt *st_commit;
    sqlite3_stmt *st_rollback;
    sqlite3_stmt *st_state;
    sqlite3_stmt *st_insert;
    sqlite3_stmt *st_head;
    sqlite3_stmt *st_find_intent;
    struct pending **pend; /* owned array of owned rows, in ticket order */
    size_t npend;
    size_t cap_pend;
    uint64_t next_ticket;
    uint64_t durable_ticket;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static enum xr_status db_error(const struct adp_audit *a, struct xr_error *err,
                               const char *what)
{
    /* sqlite3_errmsg() names tables, columns and constraints, no values. */
    return xr_error_set(err, XR_EIO, "io_error", "", "audit store %s: %s: %s",
                        a->path, what, sqlite3_errmsg(a->db));
}

static enum xr_status oom(struct xr_error *err)
{
    return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                        "audit store: out of memory");
}

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
static enum xr_status check_field(const char *name, const char *v,
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

static bool class_ok(const char *s)
{
    size_t n = strnlen(s, ADP_AUDIT_CLASS_MAX + 1);

    if (n == 0 || n > ADP_AUDIT_CLASS_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* Copy v (if not NULL) to *cursor and return the copy. */
static const char *stash(char **cursor, const char *v)
{
    char *dst = *cursor;
    size_t n;

    if (!v)
        return NULL;
    n = strlen(v) + 1;
    memcpy(dst, v, n);
    *cursor += n;
    return dst;
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
static bool row_hash(struct adp_audit *a, const struct adp_audit_row *r,
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
static bool genesis_hash(struct adp_audit *a,
                         const uint8_t chain_id[CHAIN_ID_LEN],
                         uint8_t out[ADP_AUDIT_HASH_LEN])
{
    unsigned int n = 0;

    return EVP_DigestInit_ex(a->md, a->sha256, NULL) == 1 &&
           md_update(a->md, GENESIS_DOMAIN, sizeof(GENESIS_DOMAIN)) &&
           md_update(a->md, chain_id, CHAIN_ID_LEN) &&
           EVP_DigestFinal_ex(a->md, out, &n) == 1 && n == ADP_AUDIT_HASH_LEN;
}

static bool sha512(struct adp_audit *a, const uint8_t *p, size_t n,
                   uint8_t out[ADP_AUDIT_SHA512_LEN])
{
    unsigned int olen = 0;

    return EVP_DigestInit_ex(a->md, a->sha512, NULL) == 1 &&
           md_update(a->md, p, n) &&
           EVP_DigestFinal_ex(a->md, out, &olen) == 1 &&
           olen == ADP_AUDIT_SHA512_LEN;
}

/* ------------------------------------------------------------------ */
/* Reading rows                                                         */

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

static bool col_blob(sqlite3_stmt *st, int c, size_t len, bool nullable,
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
static bool col_pos(sqlite3_stmt *st, int c, bool nullable, uint64_t *out)
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
static bool row_read(sqlite3_stmt *st, int c0, struct adp_audit_row *r)
{
    bool ok = true;

    memset(r, 0, sizeof(*r));
    ok &= col_pos(st, c0 + 0, false, &r->seq);
    ok &= col_text(st, c0 + 1, false, &r->kind);
    ok &= col_pos(st, c0 + 2, true, &r->ref_seq);
    ok &= col_text(st, c0 + 3, false, &r->time);
    ok &= col_text(st, c0 + 4, true, &r->caller);
    ok &= col_text(st, c0 + 5, true, &r->end_user);
    ok &= col_text(st, c0 + 6, true, &r->purpose);
    ok &= col_text(st, c0 + 7, true, &r->service);
    ok &= col_text(st, c0 + 8, true, &r->product);
    ok &= col_text(st, c0 + 9, true, &r->subject);
    ok &= col_text(st, c0 + 10, true, &r->message_id);
    ok &= col_blob(st, c0 + 11, ADP_AUDIT_SHA512_LEN, true, &r->request_sha512);
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
    ok &=
        col_blob(st, c0 + 17, ADP_AUDIT_SHA512_LEN, true, &r->response_sha512);
    ok &= col_pos(st, c0 + 18, true, &r->prune_seq);
    ok &= col_blob(st, c0 + 19, ADP_AUDIT_HASH_LEN, true, &r->prune_hash);
    ok &= col_text(st, c0 + 20, true, &r->prune_cutoff);
    ok &= col_pos(st, c0 + 21, true, &r->prune_count);
    ok &= col_blob(st, c0 + 22, ADP_AUDIT_HASH_LEN, false, &r->prev_hash);
    ok &= col_blob(st, c0 + 23, ADP_AUDIT_HASH_LEN, false, &r->row_hash);
    return ok;
}

/* Kind-specific rules: which fields a row of its kind must carry. */
static bool row_shape_ok(const struct adp_audit_row *r)
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
static bool row_insert(struct adp_audit *a, const struct adp_audit_row *r)
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
static enum xr_status state_read(struct adp_audit *a, struct chain_state *cs,
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
                 : db_error(a, err, "reading chain_state");
        goto out;
    }
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
        sqlite3_column_type(st, 4) != SQLITE_INTEGER ||
        sqlite3_column_int64(st, 4) < 0 || !col_pos(st, 2, false, &base) ||
        !col_blob(st, 1, CHAIN_ID_LEN, false, &id) ||
        !col_blob(st, 3, ADP_AUDIT_HASH_LEN, false, &bp) ||
        !col_blob(st, 5, ADP_AUDIT_HASH_LEN, false, &hh)) {
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

/* Run a constant statement (BEGIN/COMMIT/ROLLBACK) prepared earlier. */
static bool run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE;
}

static bool exec_sql(struct adp_audit *a, const char *sql)
{
    return sqlite3_exec(a->db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

/* Roll back if a transaction is still open (some errors end it already). */
static void rollback(struct adp_audit *a)
{
    if (!sqlite3_get_autocommit(a->db))
        (void)exec_sql(a, "ROLLBACK");
}

/* ------------------------------------------------------------------ */
/* Open / close                                                         */

/* Create the file with mode 0600, or tighten an existing one to 0600. */
static enum xr_status prepare_file(const char *path, struct xr_error *err)
{
    struct stat sb;
    enum xr_status rc;
    int fd;

    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return xr_error_set(err, XR_EIO, "io_error", "", "audit store %s: %s",
                            path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = xr_error_set(err, XR_EIO, "io_error", "",
                          "audit store %s: not a regular file", path);
        goto out;
    }
    if ((sb.st_mode & 0077) != 0 && fchmod(fd, 0600) != 0) {
        rc = xr_error_set(err, XR_EIO, "io_error", "",
                          "audit store %s: cannot set mode 0600: %s", path,
                          strerror(errno));
        goto out;
    }
    rc = XR_OK;
out:
    close(fd);
    return rc;
}

/* fsync the directory that holds path (new files' entries). */
static enum xr_status sync_dir(const char *path, struct xr_error *err)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    enum xr_status rc = XR_OK;
    size_t n;
    int fd;

    if (!slash) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof(dir))
            return xr_error_set(err, XR_ELIMIT, "too_large", "path",
                                "audit store: path too long");
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        rc = xr_error_set(err, XR_EIO, "io_error", "",
                          "audit store %s: cannot sync its directory: %s", path,
                          strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Create tables and the chain_state row in a new, empty database. */
static enum xr_status schema_init(struct adp_audit *a, struct xr_error *err)
{
    sqlite3_stmt *st = NULL;
    uint8_t chain_id[CHAIN_ID_LEN], genesis[ADP_AUDIT_HASH_LEN];
    char created[ADP_AUDIT_TIME_LEN + 1];
    enum xr_status rc;
    int ntables = 0, has_state = 0;

    if (!exec_sql(a, "BEGIN IMMEDIATE")) {
        rc = db_error(a, err, "begin");
        goto out;
    }
    if (sqlite3_prepare_v2(a->db,
                           "SELECT count(*), count(*) FILTER (WHERE name ="
                           " 'chain_state') FROM sqlite_schema"
                           " WHERE type = 'table'",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = db_error(a, err, "reading schema");
        goto out;
    }
    ntables = sqlite3_column_int(st, 0);
    has_state = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if (has_state) {
        rc = exec_sql(a, "COMMIT") ? XR_OK : db_error(a, err, "commit");
        goto out;
    }
    if (ntables != 0) {
        rc = xr_error_set(err, XR_EPROTO, "audit_schema", "",
                          "audit store %s: database holds other tables; not "
                          "a vayla audit store",
                          a->path);
        goto out;
    }
    if (RAND_bytes(chain_id, (int)sizeof(chain_id)) != 1 ||
        !genesis_hash(a, chain_id, genesis) ||
        !adp_audit_time_format(adp_audit_now_ms(), created, sizeof(created))) {
        rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                          "audit store %s: cannot create chain id", a->path);
        goto out;
    }
    if (!exec_sql(a, schema_sql)) {
        rc = db_error(a, err, "creating schema");
        goto out;
    }
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO chain_state (id, schema_version,"
                           " chain_id, created, base_seq, base_prev_hash,"
                           " head_seq, head_hash)"
                           " VALUES (1, ?1, ?2, ?3, 1, ?4, 0, ?4)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(a, err, "creating chain_state");
        goto out;
    }
    sqlite3_bind_int(st, 1, ADP_AUDIT_SCHEMA_VERSION);
    sqlite3_bind_blob(st, 2, chain_id, (int)sizeof(chain_id), SQLITE_STATIC);
    sqlite3_bind_text(st, 3, created, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, genesis, (int)sizeof(genesis), SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE || !exec_sql(a, "COMMIT")) {
        rc = db_error(a, err, "creating chain_state");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    if (rc != XR_OK)
        rollback(a);
    return rc;
}

/* The recorded head must be the last row (cheap check at open). */
static enum xr_status head_check(struct adp_audit *a, struct xr_error *err)
{
    struct chain_state cs;
    sqlite3_stmt *st = NULL;
    enum xr_status rc;
    const uint8_t *h = NULL;
    uint64_t last = 0;
    bool ok;
    int src;

    if (!exec_sql(a, "BEGIN")) {
        rc = db_error(a, err, "begin");
        goto out;
    }
    rc = state_read(a, &cs, err);
    if (rc != XR_OK)
        goto out;
    if (sqlite3_prepare_v2(a->db,
                           "SELECT seq, row_hash FROM records"
                           " ORDER BY seq DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(a, err, "reading head");
        goto out;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        ok = col_pos(st, 0, false, &last) &&
             col_blob(st, 1, ADP_AUDIT_HASH_LEN, false, &h) &&
             last == cs.head_seq &&
             !memcmp(h, cs.head_hash, ADP_AUDIT_HASH_LEN);
    } else if (src == SQLITE_DONE) {
        ok = cs.head_seq + 1 == cs.base_seq &&
             !memcmp(cs.head_hash, cs.base_prev, ADP_AUDIT_HASH_LEN);
    } else {
        rc = db_error(a, err, "reading head");
        goto out;
    }
    if (!ok) {
        rc = xr_error_set(err, XR_ESIG, "audit_head_mismatch", "",
                          "audit store %s: recorded chain head does not "
                          "match the last record; run `vayla audit verify`",
                          a->path);
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    rollback(a);
    return rc;
}

static bool prep(struct adp_audit *a, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v3(a->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                              NULL) == SQLITE_OK;
}

enum xr_status adp_audit_open(const char *path,
                              const struct adp_audit_options *opts,
                              struct adp_audit **out, struct xr_error *err)
{
    struct adp_audit *a = NULL;
    struct chain_state cs;
    sqlite3_stmt *st = NULL;
    enum xr_status rc;
    unsigned busy_ms;
    int flags;

    *out = NULL;
    if (!path || !*path) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "path",
                          "audit store: no path");
        goto out;
    }
    a = calloc(1, sizeof(*a));
    if (!a || !(a->path = strdup(path))) {
        rc = oom(err);
        goto out;
    }
    a->read_only = opts && opts->read_only;
    a->max_pending =
        opts && opts->max_pending ? opts->max_pending : ADP_AUDIT_PENDING_MAX;
    busy_ms = opts && opts->busy_timeout_ms ? opts->busy_timeout_ms
                                            : ADP_AUDIT_BUSY_TIMEOUT_MS_DEFAULT;
    a->next_ticket = 1;
    a->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    a->sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
    a->md = EVP_MD_CTX_new();
    if (!a->sha256 || !a->sha512 || !a->md) {
        rc = oom(err);
        goto out;
    }
    if (!a->read_only) {
        rc = prepare_file(path, err);
        if (rc != XR_OK)
            goto out;
    } else if (access(path, R_OK) != 0) {
        /* Clearer than SQLite's "unable to open database file". */
        rc = xr_error_set(err, XR_EIO, "io_error", "", "audit store %s: %s",
                          path, strerror(errno));
        goto out;
    }
    flags = (a->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
            SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (sqlite3_open_v2(path, &a->db, flags, NULL) != SQLITE_OK) {
        rc = a->db ? db_error(a, err, "open")
                   : xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                  "audit store: out of memory");
        goto out;
    }
    sqlite3_db_config(a->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(a->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_busy_timeout(a->db, busy_ms > INT32_MAX ? INT32_MAX : (int)busy_ms);
    if (!a->read_only) {
        const unsigned char *mode;
        if (sqlite3_prepare_v2(a->db, "PRAGMA journal_mode=WAL", -1, &st,
                               NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW) {
            rc = db_error(a, err, "setting WAL mode");
            goto out;
        }
        mode = sqlite3_column_text(st, 0);
        if (!mode || strcmp((const char *)mode, "wal") != 0) {
            rc = xr_error_set(err, XR_EIO, "io_error", "",
                              "audit store %s: cannot use WAL mode", path);
            goto out;
        }
        sqlite3_finalize(st);
        st = NULL;
        if (!exec_sql(a, "PRAGMA synchronous=FULL;"
                         "PRAGMA secure_delete=ON;"
                         "PRAGMA journal_size_limit=67108864;")) {
            rc = db_error(a, err, "setting pragmas");
            goto out;
        }
        rc = schema_init(a, err);
        if (rc != XR_OK)
            goto out;
        /* The -wal file now exists: make its directory entry durable too
         * (SQLite syncs the file's contents, not the directory). */
        rc = sync_dir(path, err);
        if (rc != XR_OK)
            goto out;
        /* A chain whose head is not the last row must not grow. */
        rc = head_check(a, err);
        if (rc != XR_OK)
            goto out;
        if (!prep(a, "BEGIN IMMEDIATE", &a->st_begin) ||
            !prep(a, "COMMIT", &a->st_commit) ||
            !prep(a, "ROLLBACK", &a->st_rollback) ||
            !prep(a,
                  "SELECT schema_version, chain_id, base_seq, base_prev_hash,"
                  " head_seq, head_hash FROM chain_state WHERE id = 1",
                  &a->st_state) ||
            !prep(a, insert_sql, &a->st_insert) ||
            !prep(a,
                  "UPDATE chain_state SET head_seq = ?1, head_hash = ?2"
                  " WHERE id = 1",
                  &a->st_head) ||
            !prep(a,
                  "SELECT seq FROM records WHERE message_id = ?1"
                  " AND kind = 'intent' ORDER BY seq DESC LIMIT 1",
                  &a->st_find_intent)) {
            rc = db_error(a, err, "preparing statements");
            goto out;
        }
    } else {
        /* Read-only: just make sure this is an audit store we know. */
        if (!exec_sql(a, "BEGIN")) {
            rc = db_error(a, err, "begin");
            goto out;
        }
        rc = state_read(a, &cs, err);
        rollback(a);
        if (rc != XR_OK)
            goto out;
    }
    *out = a;
    a = NULL; /* ownership moved to the caller */
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    adp_audit_close(a);
    return rc;
}

static void pending_clear(struct adp_audit *a)
{
    for (size_t i = 0; i < a->npend; i++)
        free(a->pend[i]);
    a->npend = 0;
}

void adp_audit_close(struct adp_audit *a)
{
    if (!a)
        return;
    pending_clear(a);
    free(a->pend);
    sqlite3_finalize(a->st_begin);
    sqlite3_finalize(a->st_commit);
    sqlite3_finalize(a->st_rollback);
    sqlite3_finalize(a->st_state);
    sqlite3_finalize(a->st_insert);
    sqlite3_finalize(a->st_head);
    sqlite3_finalize(a->st_find_intent);
    if (a->db)
        sqlite3_close(a->db);
    EVP_MD_CTX_free(a->md);
    EVP_MD_free(a->sha256);
    EVP_MD_free(a->sha512);
    free(a->path);
    free(a);
}

/* ------------------------------------------------------------------ */
/* Append and commit                                                    */

static enum xr_status pending_room(struct adp_audit *a, struct xr_error *err)
{
    struct pending **np;
    size_t ncap;

    if (a->read_only)
        return xr_error_set(err, XR_EINVAL, "read_only", "",
                            "audit store %s: opened read-only", a->path);
    if (a->npend >= a->max_pending)
        return xr_error_set(err, XR_ELIMIT, "too_large", "",
                            "audit store %s: %zu records pending commit",
                            a->path, a->npend);
    if (a->npend < a->cap_pend)
        return XR_OK;
    ncap = a->cap_pend ? a->cap_pend * 2 : 64;
    if (ncap > a->max_pending)
        ncap = a->max_pending;
    np = realloc(a->pend, ncap * sizeof(*np));
    if (!np)
        return oom(err);
    a->pend = np;
    a->cap_pend = ncap;
    return XR_OK;
}

static enum xr_status check_time(int64_t *ms, char *out, const char *field,
                                 struct xr_error *err)
{
    if (*ms == 0)
        *ms = adp_audit_now_ms();
    if (!adp_audit_time_format(*ms, out, ADP_AUDIT_TIME_LEN + 1))
        return xr_error_set(err, XR_EINVAL, "invalid_field", field,
                            "audit record: %s out of range", field);
    return XR_OK;
}

enum xr_status adp_audit_intent(struct adp_audit *a,
                                const struct adp_audit_intent *in,
                                uint64_t *ticket, struct xr_error *err)
{
    struct pending *p = NULL;
    const size_t tmax = ADP_AUDIT_TEXT_MAX;
    size_t total = 0;
    int64_t ms = in->time_ms;
    enum xr_status rc;
    char *cur;

    *ticket = 0;
    if ((rc = pending_room(a, err)) != XR_OK ||
        (rc = check_field("caller", in->caller, true, tmax, &total, err)) ||
        (rc = check_field("end_user", in->end_user, true, tmax, &total, err)) ||
        (rc = check_field("purpose", in->purpose, false, tmax, &total, err)) ||
        (rc = check_field("service", in->service, true, tmax, &total, err)) ||
        (rc = check_field("product", in->product, false, tmax, &total, err)) ||
        (rc = check_field("subject", in->subject, false, tmax, &total, err)) ||
        (rc = check_field("message_id", in->message_id, true, tmax, &total,
                          err)))
        goto out;
    if (!in->request_sha512 && (!in->request || in->request_len == 0)) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "request",
                          "audit record: request bytes are required");
        goto out;
    }
    p = calloc(1, sizeof(*p) + total);
    if (!p) {
        rc = oom(err);
        goto out;
    }
    if ((rc = check_time(&ms, p->time, "time_ms", err)) != XR_OK)
        goto out;
    if (in->request_sha512)
        memcpy(p->req_sha512, in->request_sha512, ADP_AUDIT_SHA512_LEN);
    else if (!sha512(a, in->request, in->request_len, p->req_sha512)) {
        rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                          "audit record: SHA-512 failed");
        goto out;
    }
    cur = p->text;
    p->row.kind = "intent";
    p->row.time = p->time;
    p->row.caller = stash(&cur, in->caller);
    p->row.end_user = stash(&cur, in->end_user);
    p->row.purpose = stash(&cur, in->purpose);
    p->row.service = stash(&cur, in->service);
    p->row.product = stash(&cur, in->product);
    p->row.subject = stash(&cur, in->subject);
    p->row.message_id = stash(&cur, in->message_id);
    p->row.request_sha512 = p->req_sha512;
    p->ticket = a->next_ticket++;
    a->pend[a->npend++] = p;
    *ticket = p->ticket;
    p = NULL; /* owned by the batch */
    rc = XR_OK;
out:
    free(p);
    return rc;
}

enum xr_status adp_audit_outcome(struct adp_audit *a,
                                 const struct adp_audit_outcome *o,
                                 uint64_t *ticket, struct xr_error *err)
{
    struct pending *p = NULL;
    const size_t tmax = ADP_AUDIT_TEXT_MAX;
    size_t total = 0;
    int64_t ms = o->time_ms;
    enum xr_status rc;
    char *cur;

    *ticket = 0;
    if ((rc = pending_room(a, err)) != XR_OK ||
        (rc = check_field("message_id", o->message_id, true, tmax, &total,
                          err)) ||
        (rc = check_field("result_class", o->result_class, true,
                          ADP_AUDIT_CLASS_MAX, &total, err)) ||
        (rc = check_field("return_code", o->return_code, false, tmax, &total,
                          err)) ||
        (rc = check_field("fault_code", o->fault_code, false, tmax, &total,
                          err)) ||
        (rc = check_field("fault_origin", o->fault_origin, false, tmax, &total,
                          err)))
        goto out;
    if (!class_ok(o->result_class)) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "result_class",
                          "audit record: result_class must be [a-z0-9_]+");
        goto out;
    }
    if (o->duration_ms < 0) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "duration_ms",
                          "audit record: negative duration");
        goto out;
    }
    if (!o->response && o->response_len != 0) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "response",
                          "audit record: response length without bytes");
        goto out;
    }
    p = calloc(1, sizeof(*p) + total);
    if (!p) {
        rc = oom(err);
        goto out;
    }
    if ((rc = check_time(&ms, p->time, "time_ms", err)) != XR_OK)
        goto out;
    if (o->response_sha512)
        memcpy(p->resp_sha512, o->response_sha512, ADP_AUDIT_SHA512_LEN);
    else if (o->response &&
             !sha512(a, o->response, o->response_len, p->resp_sha512)) {
        rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                          "audit record: SHA-512 failed");
        goto out;
    }
    cur = p->text;
    p->row.kind = "outcome";
    p->row.time = p->time;
    p->row.message_id = stash(&cur, o->message_id);
    p->row.result_class = stash(&cur, o->result_class);
    p->row.return_code = stash(&cur, o->return_code);
    p->row.fault_code = stash(&cur, o->fault_code);
    p->row.fault_origin = stash(&cur, o->fault_origin);
    p->row.has_duration = true;
    p->row.duration_ms = o->duration_ms;
    p->row.response_sha512 =
        o->response || o->response_sha512 ? p->resp_sha512 : NULL;
    p->ticket = a->next_ticket++;
    a->pend[a->npend++] = p;
    *ticket = p->ticket;
    p = NULL; /* owned by the batch */
    rc = XR_OK;
out:
    free(p);
    return rc;
}

/* seq of the latest intent with this message id, 0 if none. */
static bool find_intent(struct adp_audit *a, const char *message_id,
                        uint64_t *seq)
{
    sqlite3_stmt *st = a->st_find_intent;
    int rc;

    *seq = 0;
    sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

static bool head_update(struct adp_audit *a, uint64_t seq,
                        const uint8_t hash[ADP_AUDIT_HASH_LEN])
{
    sqlite3_stmt *st = a->st_head;
    bool ok;

    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_blob(st, 2, hash, ADP_AUDIT_HASH_LEN, SQLITE_STATIC);
    ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(a->db) == 1;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ok;
}

enum xr_status adp_audit_commit(struct adp_audit *a, struct xr_error *err)
{
    struct chain_state cs;
    uint8_t prev[ADP_AUDIT_HASH_LEN];
    uint64_t seq;
    enum xr_status rc;

    if (a->npend == 0)
        return XR_OK;
    if (!run(a->st_begin)) {
        rc = db_error(a, err, "begin");
        goto out;
    }
    /* The head is read under the write lock: other writers are safe. */
    rc = state_read(a, &cs, err);
    if (rc != XR_OK)
        goto out;
    seq = cs.head_seq;
    memcpy(prev, cs.head_hash, sizeof(prev));
    for (size_t i = 0; i < a->npend; i++) {
        struct pending *p = a->pend[i];
        p->row.seq = ++seq;
        p->row.ref_seq = 0;
        if (!strcmp(p->row.kind, "outcome") &&
            !find_intent(a, p->row.message_id, &p->row.ref_seq)) {
            rc = db_error(a, err, "finding intent");
            goto out;
        }
        memcpy(p->prev, prev, sizeof(prev));
        p->row.prev_hash = p->prev;
        p->row.row_hash = p->hash;
        if (!row_hash(a, &p->row, p->hash)) {
            rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                              "audit store: SHA-256 failed");
            goto out;
        }
        if (!row_insert(a, &p->row)) {
            rc = db_error(a, err, "insert");
            goto out;
        }
        memcpy(prev, p->hash, sizeof(prev));
    }
    if (!head_update(a, seq, prev)) {
        rc = db_error(a, err, "updating head");
        goto out;
    }
    if (!run(a->st_commit)) {
        rc = db_error(a, err, "commit");
        goto out;
    }
    a->durable_ticket = a->pend[a->npend - 1]->ticket;
    pending_clear(a);
    rc = XR_OK;
out:
    if (rc != XR_OK && !sqlite3_get_autocommit(a->db))
        (void)run(a->st_rollback);
    return rc;
}

uint64_t adp_audit_durable(const struct adp_audit *a)
{
    return a->durable_ticket;
}

size_t adp_audit_pending(const struct adp_audit *a)
{
    return a->npend;
}

/* ------------------------------------------------------------------ */
/* Verify                                                               */

/* Keep the problem with the lowest sequence number. */
static void problem(struct adp_audit_verify_report *rep, uint64_t seq,
                    const char *code, const char *fmt, ...) XR_PRINTF(4, 5);

static void problem(struct adp_audit_verify_report *rep, uint64_t seq,
                    const char *code, const char *fmt, ...)
{
    va_list ap;

    if (!rep->intact && rep->first_bad_seq <= seq)
        return;
    rep->intact = false;
    rep->first_bad_seq = seq;
    rep->problem = code;
    va_start(ap, fmt);
    vsnprintf(rep->detail, sizeof(rep->detail), fmt, ap);
    va_end(ap);
}

/*
 * Row n does not chain to row n-1: one of them was replaced. If the rows
 * after n confirm n (row n+1 chains to it, or n is the recorded head), the
 * replaced one is n-1; otherwise it is n.
 */
static void blame(struct adp_audit_verify_report *rep, uint64_t n,
                  bool confirmed)
{
    if (confirmed)
        problem(rep, n - 1, "chain_break",
                "record %llu was replaced: record %llu, confirmed by its "
                "successor, was chained to a different record",
                (unsigned long long)(n - 1), (unsigned long long)n);
    else
        problem(rep, n, "chain_break",
                "record %llu was replaced or forged: it does not chain to "
                "record %llu",
                (unsigned long long)n, (unsigned long long)(n - 1));
}

/* The newest prune row, if any: it must anchor the chain base. */
static enum xr_status check_base(struct adp_audit *a,
                                 const struct chain_state *cs,
                                 struct adp_audit_verify_report *rep,
                                 struct xr_error *err)
{
    uint8_t genesis[ADP_AUDIT_HASH_LEN];
    sqlite3_stmt *st = NULL;
    struct adp_audit_row r;
    enum xr_status rc;
    int src;

    if (sqlite3_prepare_v2(a->db,
                           "SELECT " COLS("") " FROM records"
                                              " WHERE kind = 'prune'"
                                              " ORDER BY seq DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(a, err, "reading prune records");
        goto out;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        if (!row_read(st, 0, &r) || !r.prune_seq || !r.prune_hash) {
            problem(rep, r.seq, "malformed", "record %llu: malformed prune",
                    (unsigned long long)r.seq);
        } else if (r.prune_seq + 1 < cs->base_seq) {
            problem(rep, r.prune_seq + 1, "anchor_mismatch",
                    "records %llu..%llu were deleted without a prune "
                    "record",
                    (unsigned long long)(r.prune_seq + 1),
                    (unsigned long long)(cs->base_seq - 1));
        } else if (r.prune_seq + 1 > cs->base_seq ||
                   memcmp(r.prune_hash, cs->base_prev, ADP_AUDIT_HASH_LEN) !=
                       0) {
            problem(rep, cs->base_seq, "anchor_mismatch",
                    "chain base %llu does not match prune record %llu",
                    (unsigned long long)cs->base_seq,
                    (unsigned long long)r.seq);
        }
    } else if (src == SQLITE_DONE) {
        if (cs->base_seq != 1) {
            problem(rep, 1, "anchor_mismatch",
                    "records 1..%llu were deleted without a prune record",
                    (unsigned long long)(cs->base_seq - 1));
        } else if (!genesis_hash(a, cs->chain_id, genesis) ||
                   memcmp(genesis, cs->base_prev, ADP_AUDIT_HASH_LEN) != 0) {
            problem(rep, 1, "anchor_mismatch",
                    "chain base does not match the chain id");
        }
    } else {
        rc = db_error(a, err, "reading prune records");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static enum xr_status count_sql(struct adp_audit *a, const char *sql,
                                uint64_t *n, struct xr_error *err)
{
    sqlite3_stmt *st = NULL;
    enum xr_status rc;

    if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = db_error(a, err, "counting");
        goto out;
    }
    *n = (uint64_t)sqlite3_column_int64(st, 0);
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

enum xr_status adp_audit_verify(struct adp_audit *a,
                                const struct adp_audit_anchor *anchor,
                                struct adp_audit_verify_report *rep,
                                struct xr_error *err)
{
    uint8_t prev[ADP_AUDIT_HASH_LEN], h[ADP_AUDIT_HASH_LEN];
    uint8_t anchor_seen[ADP_AUDIT_HASH_LEN];
    uint8_t suspect_hash[ADP_AUDIT_HASH_LEN];
    bool have_row = false, anchor_found = false, readable;
    uint64_t suspect = 0; /* a row that does not chain to its predecessor */
    struct chain_state cs;
    struct adp_audit_row r;
    sqlite3_stmt *st = NULL;
    enum xr_status rc;
    uint64_t expect;
    int src;

    memset(rep, 0, sizeof(*rep));
    rep->intact = true;
    if (!exec_sql(a, "BEGIN")) { /* one read snapshot for everything */
        rc = db_error(a, err, "begin");
        goto out;
    }
    rc = state_read(a, &cs, err);
    if (rc != XR_OK)
        goto out;
    rep->base_seq = cs.base_seq;
    rep->head_seq = cs.head_seq;
    memcpy(rep->head_hash, cs.head_hash, ADP_AUDIT_HASH_LEN);
    if (cs.head_seq + 1 < cs.base_seq) {
        problem(rep, cs.head_seq + 1, "malformed",
                "chain_state head %llu is before its base %llu",
                (unsigned long long)cs.head_seq,
                (unsigned long long)cs.base_seq);
        goto done;
    }
    rc = check_base(a, &cs, rep, err);
    if (rc != XR_OK)
        goto out;
    if (sqlite3_prepare_v2(a->db,
                           "SELECT " COLS("") " FROM records ORDER BY seq", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = db_error(a, err, "reading records");
        goto out;
    }
    expect = cs.base_seq;
    memcpy(prev, cs.base_prev, sizeof(prev));
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        readable = row_read(st, 0, &r);
        if (suspect) {
            blame(rep, suspect,
                  readable && r.seq == suspect + 1 &&
                      !memcmp(r.prev_hash, suspect_hash, ADP_AUDIT_HASH_LEN));
            break;
        }
        if (!readable || !row_shape_ok(&r)) {
            problem(rep, r.seq ? r.seq : expect, "malformed",
                    "record %llu: wrong type, length or missing field",
                    (unsigned long long)(r.seq ? r.seq : expect));
            break;
        }
        if (r.seq < expect) {
            problem(rep, r.seq, "unexpected",
                    "record %llu is older than the chain base %llu",
                    (unsigned long long)r.seq, (unsigned long long)cs.base_seq);
            break;
        }
        if (r.seq > cs.head_seq) {
            problem(rep, expect <= cs.head_seq ? expect : r.seq,
                    expect <= cs.head_seq ? "missing" : "unexpected",
                    "record %llu is beyond the recorded head %llu",
                    (unsigned long long)r.seq, (unsigned long long)cs.head_seq);
            break;
        }
        if (r.seq > expect) {
            problem(rep, expect, "missing",
                    "records %llu..%llu are missing (deleted)",
                    (unsigned long long)expect,
                    (unsigned long long)(r.seq - 1));
            break;
        }
        if (!row_hash(a, &r, h)) {
            rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                              "audit store: SHA-256 failed");
            goto out;
        }
        if (memcmp(h, r.row_hash, ADP_AUDIT_HASH_LEN) != 0) {
            problem(rep, r.seq, "hash_mismatch",
                    "record %llu: contents do not match its hash (edited)",
                    (unsigned long long)r.seq);
            break;
        }
        if (memcmp(prev, r.prev_hash, ADP_AUDIT_HASH_LEN) != 0) {
            if (!have_row) {
                problem(rep, r.seq, "anchor_mismatch",
                        "record %llu does not chain to the chain base",
                        (unsigned long long)r.seq);
                break;
            }
            /* Decide with the next row (or the head) which one is bad. */
            suspect = r.seq;
            memcpy(suspect_hash, r.row_hash, ADP_AUDIT_HASH_LEN);
            continue;
        }
        if (anchor && r.seq == anchor->seq) {
            anchor_found = true;
            memcpy(anchor_seen, r.row_hash, ADP_AUDIT_HASH_LEN);
        }
        if (!strcmp(r.kind, "intent"))
            rep->intents++;
        else if (!strcmp(r.kind, "outcome"))
            rep->outcomes++;
        else
            rep->prunes++;
        memcpy(prev, r.row_hash, sizeof(prev));
        have_row = true;
        rep->rows++;
        expect++;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = db_error(a, err, "reading records");
        goto out;
    }
    if (suspect && src == SQLITE_DONE)
        blame(rep, suspect,
              suspect == cs.head_seq &&
                  !memcmp(cs.head_hash, suspect_hash, ADP_AUDIT_HASH_LEN));
    if (rep->intact) {
        if (expect <= cs.head_seq)
            problem(rep, expect, "head_mismatch",
                    "records %llu..%llu are missing (deleted at the end)",
                    (unsigned long long)expect,
                    (unsigned long long)cs.head_seq);
        else if (memcmp(prev, cs.head_hash, ADP_AUDIT_HASH_LEN) != 0)
            problem(rep, cs.head_seq, "head_mismatch",
                    "the recorded head hash does not match record %llu",
                    (unsigned long long)cs.head_seq);
    }
    if (rep->intact && anchor) {
        if (anchor->seq > cs.head_seq)
            problem(rep, anchor->seq, "external_anchor",
                    "anchor record %llu is beyond the head %llu (chain "
                    "truncated or rewritten)",
                    (unsigned long long)anchor->seq,
                    (unsigned long long)cs.head_seq);
        else if (!anchor_found)
            problem(rep, anchor->seq, "external_anchor",
                    "anchor record %llu is no longer retained; use a newer "
                    "anchor",
                    (unsigned long long)anchor->seq);
        else if (memcmp(anchor_seen, anchor->hash, ADP_AUDIT_HASH_LEN) != 0)
            problem(rep, anchor->seq, "external_anchor",
                    "record %llu does not match the anchor hash (chain "
                    "rewritten)",
                    (unsigned long long)anchor->seq);
    }
    rc = count_sql(a,
                   "SELECT count(*) FROM records i WHERE i.kind = 'intent'"
                   " AND NOT EXISTS (SELECT 1 FROM records o"
                   " WHERE o.ref_seq = i.seq AND o.kind = 'outcome'"
                   " AND o.message_id = i.message_id)",
                   &rep->open_intents, err);
    if (rc != XR_OK)
        goto out;
    rc = count_sql(a,
                   "SELECT count(*) FROM records o WHERE o.kind = 'outcome'"
                   " AND NOT EXISTS (SELECT 1 FROM records i"
                   " WHERE i.seq = o.ref_seq AND i.kind = 'intent'"
                   " AND i.message_id = o.message_id)",
                   &rep->orphan_outcomes, err);
    if (rc != XR_OK)
        goto out;
done:
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    rollback(a);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Search and export                                                    */

/* Append a constant SQL fragment; the caller sized buf for all of them. */
static void sql_add(char *buf, size_t size, const char *frag)
{
    size_t n = strnlen(buf, size), f = strlen(frag);

    if (n + f < size)
        memcpy(buf + n, frag, f + 1);
}

static bool time_bind(sqlite3_stmt *st, int i, int64_t ms, char *buf)
{
    if (!adp_audit_time_format(ms, buf, ADP_AUDIT_TIME_LEN + 1))
        return false;
    sqlite3_bind_text(st, i, buf, -1, SQLITE_STATIC);
    return true;
}

enum xr_status adp_audit_search(struct adp_audit *a,
                                const struct adp_audit_filter *f,
                                adp_audit_query_fn *cb, void *ctx,
                                struct xr_error *err)
{
    char sql[SQL_MAX] = "", tfrom[ADP_AUDIT_TIME_LEN + 1],
         tto[ADP_AUDIT_TIME_LEN + 1];
    struct adp_audit_row ri, ro;
    sqlite3_stmt *st = NULL;
    enum xr_status rc;
    int i = 0, src;

    /* SQL text is built only from the constant fragments below. */
    /* clang-format off */
    sql_add(sql, sizeof(sql),
            "SELECT " COLS("i.") ", " COLS("o.") " FROM records i"
            " LEFT JOIN records o ON o.ref_seq = i.seq"
            " AND o.kind = 'outcome' AND o.message_id = i.message_id"
            " WHERE i.kind = 'intent'");
    /* clang-format on */
    if (f->subject)
        sql_add(sql, sizeof(sql), " AND i.subject = ?");
    if (f->end_user)
        sql_add(sql, sizeof(sql), " AND i.end_user = ?");
    if (f->caller)
        sql_add(sql, sizeof(sql), " AND i.caller = ?");
    if (f->message_id)
        sql_add(sql, sizeof(sql), " AND i.message_id = ?");
    if (f->has_from)
        sql_add(sql, sizeof(sql), " AND i.time >= ?");
    if (f->has_to)
        sql_add(sql, sizeof(sql), " AND i.time < ?");
    sql_add(sql, sizeof(sql), " ORDER BY i.seq, o.seq");
    if (f->limit)
        sql_add(sql, sizeof(sql), " LIMIT ?");
    if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(a, err, "preparing search");
        goto out;
    }
    if (f->subject)
        sqlite3_bind_text(st, ++i, f->subject, -1, SQLITE_STATIC);
    if (f->end_user)
        sqlite3_bind_text(st, ++i, f->end_user, -1, SQLITE_STATIC);
    if (f->caller)
        sqlite3_bind_text(st, ++i, f->caller, -1, SQLITE_STATIC);
    if (f->message_id)
        sqlite3_bind_text(st, ++i, f->message_id, -1, SQLITE_STATIC);
    if ((f->has_from && !time_bind(st, ++i, f->from_ms, tfrom)) ||
        (f->has_to && !time_bind(st, ++i, f->to_ms, tto))) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "time",
                          "audit search: time out of range");
        goto out;
    }
    if (f->limit)
        sqlite3_bind_int64(st, ++i,
                           f->limit > INT64_MAX ? INT64_MAX
                                                : (sqlite3_int64)f->limit);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        bool has_o = sqlite3_column_type(st, NCOLS) != SQLITE_NULL;
        /* Malformed rows are still shown; verify reports them. */
        (void)row_read(st, 0, &ri);
        if (has_o)
            (void)row_read(st, NCOLS, &ro);
        if (cb(ctx, &ri, has_o ? &ro : NULL) != 0)
            break;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = db_error(a, err, "search");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

enum xr_status adp_audit_export(struct adp_audit *a,
                                const struct adp_audit_filter *f,
                                adp_audit_row_fn *cb, void *ctx,
                                struct xr_error *err)
{
    char sql[SQL_MAX] = "", tfrom[ADP_AUDIT_TIME_LEN + 1],
         tto[ADP_AUDIT_TIME_LEN + 1];
    struct adp_audit_row r;
    sqlite3_stmt *st = NULL;
    enum xr_status rc;
    int i = 0, src;
    bool from = f && f->has_from, to = f && f->has_to;

    sql_add(sql, sizeof(sql), "SELECT " COLS("") " FROM records WHERE 1");
    if (from)
        sql_add(sql, sizeof(sql), " AND time >= ?");
    if (to)
        sql_add(sql, sizeof(sql), " AND time < ?");
    sql_add(sql, sizeof(sql), " ORDER BY seq");
    if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(a, err, "preparing export");
        goto out;
    }
    if ((from && !time_bind(st, ++i, f->from_ms, tfrom)) ||
        (to && !time_bind(st, ++i, f->to_ms, tto))) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "time",
                          "audit export: time out of range");
        goto out;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        (void)row_read(st, 0, &r);
        if (cb(ctx, &r) != 0)
            break;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = db_error(a, err, "export");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Retention                                                            */

/*
 * Check rows base..through (and that row through+1, or the head, chains
 * to `through`), leaving the hash of `through` in last.
 */
static enum xr_status prune_check(struct adp_audit *a,
                                  const struct chain_state *cs,
                                  uint64_t through,
                                  uint8_t last[ADP_AUDIT_HASH_LEN],
                                  struct xr_error *err)
{
    uint8_t prev[ADP_AUDIT_HASH_LEN], h[ADP_AUDIT_HASH_LEN];
    struct adp_audit_row r;
    sqlite3_stmt *st = NULL;
    uint64_t expect = cs->base_seq;
    enum xr_status rc;
    bool next_seen = false;
    int src;

    if (sqlite3_prepare_v2(a->db,
                           "SELECT " COLS("") " FROM records"
                                              " WHERE seq >= ?1 AND seq <= ?2"
                                              " ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(a, err, "reading records to prune");
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)cs->base_seq);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(through + 1));
    memcpy(prev, cs->base_prev, sizeof(prev));
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (!row_read(st, 0, &r) || r.seq != expect || !row_shape_ok(&r) ||
            !row_hash(a, &r, h) || memcmp(h, r.row_hash, sizeof(h)) != 0 ||
            memcmp(prev, r.prev_hash, sizeof(prev)) != 0)
            break;
        if (r.seq == through + 1) {
            next_seen = true;
            break;
        }
        memcpy(prev, r.row_hash, sizeof(prev));
        expect++;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = db_error(a, err, "reading records to prune");
        goto out;
    }
    if (expect != through + 1 ||
        (!next_seen && (through != cs->head_seq ||
                        memcmp(prev, cs->head_hash, sizeof(prev)) != 0))) {
        rc = xr_error_set(err, XR_ESIG, "audit_chain_broken", "",
                          "audit store %s: records to prune are not intact "
                          "(near record %llu); nothing deleted, run `vayla "
                          "audit verify`",
                          a->path, (unsigned long long)expect);
        goto out;
    }
    memcpy(last, prev, ADP_AUDIT_HASH_LEN);
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

enum xr_status adp_audit_prune(struct adp_audit *a, int64_t cutoff_ms,
                               const char *actor, size_t max_rows,
                               struct adp_audit_prune_result *res,
                               struct xr_error *err)
{
    char cutoff[ADP_AUDIT_TIME_LEN + 1], now[ADP_AUDIT_TIME_LEN + 1];
    uint8_t last[ADP_AUDIT_HASH_LEN], h[ADP_AUDIT_HASH_LEN];
    struct adp_audit_row r;
    struct chain_state cs;
    sqlite3_stmt *st = NULL;
    uint64_t first_kept, through, n;
    size_t total = 0;
    enum xr_status rc;
    int src;

    memset(res, 0, sizeof(*res));
    if (max_rows == 0)
        max_rows = ADP_AUDIT_PRUNE_BATCH_DEFAULT;
    if (a->read_only) {
        rc = xr_error_set(err, XR_EINVAL, "read_only", "",
                          "audit store %s: opened read-only", a->path);
        goto out;
    }
    if ((rc = check_field("actor", actor, true, ADP_AUDIT_TEXT_MAX, &total,
                          err)) != XR_OK)
        goto out;
    if (!adp_audit_time_format(cutoff_ms, cutoff, sizeof(cutoff)) ||
        !adp_audit_time_format(adp_audit_now_ms(), now, sizeof(now))) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_field", "cutoff",
                          "audit prune: cutoff out of range");
        goto out;
    }
    if (!run(a->st_begin)) {
        rc = db_error(a, err, "begin");
        goto out;
    }
    rc = state_read(a, &cs, err);
    if (rc != XR_OK)
        goto out;
    /* `+time` keeps the planner on the rowid: this scans only the prefix
     * that is about to go, not five years of the time index. */
    if (sqlite3_prepare_v2(a->db,
                           "SELECT seq FROM records WHERE +time >= ?1"
                           " ORDER BY seq LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(a, err, "finding cutoff");
        goto out;
    }
    sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        first_kept = (uint64_t)sqlite3_column_int64(st, 0);
    } else if (src == SQLITE_DONE) {
        first_kept = cs.head_seq + 1;
    } else {
        rc = db_error(a, err, "finding cutoff");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (first_kept <= cs.base_seq) {
        rc = run(a->st_commit) ? XR_OK : db_error(a, err, "commit");
        goto out;
    }
    through = first_kept - 1;
    if (through - cs.base_seq + 1 > max_rows) {
        through = cs.base_seq + max_rows - 1;
        res->more = true;
    }
    rc = prune_check(a, &cs, through, last, err);
    if (rc != XR_OK)
        goto out;
    n = through - cs.base_seq + 1;
    if (sqlite3_prepare_v2(a->db, "DELETE FROM records WHERE seq <= ?1", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = db_error(a, err, "delete");
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)through);
    if (sqlite3_step(st) != SQLITE_DONE ||
        (uint64_t)sqlite3_changes64(a->db) != n) {
        rc = db_error(a, err, "delete");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    memset(&r, 0, sizeof(r));
    r.seq = cs.head_seq + 1;
    r.kind = "prune";
    r.time = now;
    r.caller = actor;
    r.prune_seq = through;
    r.prune_hash = last;
    r.prune_cutoff = cutoff;
    r.prune_count = n;
    r.prev_hash = cs.head_hash;
    r.row_hash = h;
    if (!row_hash(a, &r, h)) {
        rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                          "audit store: SHA-256 failed");
        goto out;
    }
    if (!row_insert(a, &r)) {
        rc = db_error(a, err, "insert prune record");
        goto out;
    }
    if (sqlite3_prepare_v2(a->db,
                           "UPDATE chain_state SET base_seq = ?1,"
                           " base_prev_hash = ?2, head_seq = ?3,"
                           " head_hash = ?4 WHERE id = 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(a, err, "updating chain base");
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(through + 1));
    sqlite3_bind_blob(st, 2, last, ADP_AUDIT_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)r.seq);
    sqlite3_bind_blob(st, 4, h, ADP_AUDIT_HASH_LEN, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(a->db) != 1 ||
        !run(a->st_commit)) {
        rc = db_error(a, err, "updating chain base");
        goto out;
    }
    res->deleted = n;
    res->through_seq = through;
    res->prune_seq = r.seq;
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    if (rc != XR_OK)
        rollback(a);
    return rc;
}

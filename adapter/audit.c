/*
 * Audit store on SQLite: opening (file mode, WAL, pragmas, schema creation,
 * the head check), closing, and the transaction helpers the other audit_*
 * files share. Design and hash format: docs/audit.md; what each audit_*.c
 * file holds: audit_internal.h. Nothing in this file ever puts a stored
 * value (a hetu, an end user) into an error message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "audit_internal.h"

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

/* ------------------------------------------------------------------ */
/* Errors and transactions                                              */

enum xr_status adp__audit_db_error(const struct adp_audit *a,
                                   struct xr_error *err, const char *what)
{
    /* sqlite3_errmsg() names tables, columns and constraints, no values. */
    return xr_error_set(err, XR_EIO, "io_error", "", "audit store %s: %s: %s",
                        a->path, what, sqlite3_errmsg(a->db));
}

enum xr_status adp__audit_oom(struct xr_error *err)
{
    return xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                        "audit store: out of memory");
}

/* Run a constant statement (BEGIN/COMMIT/ROLLBACK) prepared earlier. */
bool adp__audit_run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE;
}

bool adp__audit_exec_sql(struct adp_audit *a, const char *sql)
{
    return sqlite3_exec(a->db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

/* Roll back if a transaction is still open (some errors end it already). */
void adp__audit_rollback(struct adp_audit *a)
{
    if (!sqlite3_get_autocommit(a->db))
        (void)adp__audit_exec_sql(a, "ROLLBACK");
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

    if (!adp__audit_exec_sql(a, "BEGIN IMMEDIATE")) {
        rc = adp__audit_db_error(a, err, "begin");
        goto out;
    }
    if (sqlite3_prepare_v2(a->db,
                           "SELECT count(*), count(*) FILTER (WHERE name ="
                           " 'chain_state') FROM sqlite_schema"
                           " WHERE type = 'table'",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = adp__audit_db_error(a, err, "reading schema");
        goto out;
    }
    ntables = sqlite3_column_int(st, 0);
    has_state = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if (has_state) {
        rc = adp__audit_exec_sql(a, "COMMIT")
                 ? XR_OK
                 : adp__audit_db_error(a, err, "commit");
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
        !adp__audit_genesis_hash(a, chain_id, genesis) ||
        !adp_audit_time_format(adp_audit_now_ms(), created, sizeof(created))) {
        rc = xr_error_set(err, XR_EINTERNAL, "internal_error", "",
                          "audit store %s: cannot create chain id", a->path);
        goto out;
    }
    if (!adp__audit_exec_sql(a, schema_sql)) {
        rc = adp__audit_db_error(a, err, "creating schema");
        goto out;
    }
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO chain_state (id, schema_version,"
                           " chain_id, created, base_seq, base_prev_hash,"
                           " head_seq, head_hash)"
                           " VALUES (1, ?1, ?2, ?3, 1, ?4, 0, ?4)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "creating chain_state");
        goto out;
    }
    sqlite3_bind_int(st, 1, ADP_AUDIT_SCHEMA_VERSION);
    sqlite3_bind_blob(st, 2, chain_id, (int)sizeof(chain_id), SQLITE_STATIC);
    sqlite3_bind_text(st, 3, created, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, genesis, (int)sizeof(genesis), SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE || !adp__audit_exec_sql(a, "COMMIT")) {
        rc = adp__audit_db_error(a, err, "creating chain_state");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    if (rc != XR_OK)
        adp__audit_rollback(a);
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

    if (!adp__audit_exec_sql(a, "BEGIN")) {
        rc = adp__audit_db_error(a, err, "begin");
        goto out;
    }
    rc = adp__audit_state_read(a, &cs, err);
    if (rc != XR_OK)
        goto out;
    if (sqlite3_prepare_v2(a->db,
                           "SELECT seq, row_hash FROM records"
                           " ORDER BY seq DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = adp__audit_db_error(a, err, "reading head");
        goto out;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        ok = adp__audit_col_pos(st, 0, false, &last) &&
             adp__audit_col_blob(st, 1, ADP_AUDIT_HASH_LEN, false, &h) &&
             last == cs.head_seq &&
             !memcmp(h, cs.head_hash, ADP_AUDIT_HASH_LEN);
    } else if (src == SQLITE_DONE) {
        ok = cs.head_seq + 1 == cs.base_seq &&
             !memcmp(cs.head_hash, cs.base_prev, ADP_AUDIT_HASH_LEN);
    } else {
        rc = adp__audit_db_error(a, err, "reading head");
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
    adp__audit_rollback(a);
    return rc;
}

static bool prep(struct adp_audit *a, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v3(a->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                              NULL) == SQLITE_OK;
}

/* journal_mode=WAL (checked: SQLite falls back silently), then the
 * durability pragmas. */
static enum xr_status wal_on(struct adp_audit *a, struct xr_error *err)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *mode;
    enum xr_status rc;

    if (sqlite3_prepare_v2(a->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = adp__audit_db_error(a, err, "setting WAL mode");
        goto out;
    }
    mode = sqlite3_column_text(st, 0);
    if (!mode || strcmp((const char *)mode, "wal") != 0) {
        rc = xr_error_set(err, XR_EIO, "io_error", "",
                          "audit store %s: cannot use WAL mode", a->path);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!adp__audit_exec_sql(a, "PRAGMA synchronous=FULL;"
                                "PRAGMA secure_delete=ON;"
                                "PRAGMA cache_size=-1024;"
                                "PRAGMA journal_size_limit=67108864;")) {
        rc = adp__audit_db_error(a, err, "setting pragmas");
        goto out;
    }
    rc = XR_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* The persistent statements of the write path. */
static enum xr_status prepare_statements(struct adp_audit *a,
                                         struct xr_error *err)
{
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
              &a->st_find_intent))
        return adp__audit_db_error(a, err, "preparing statements");
    return XR_OK;
}

/* A writable store: WAL, the schema (created when new), a chain head that
 * is the last row, and the statements of the write path. */
static enum xr_status open_writer(struct adp_audit *a, struct xr_error *err)
{
    enum xr_status rc;

    rc = wal_on(a, err);
    if (rc != XR_OK)
        return rc;
    rc = schema_init(a, err);
    if (rc != XR_OK)
        return rc;
    /* The -wal file now exists: make its directory entry durable too
     * (SQLite syncs the file's contents, not the directory). */
    rc = sync_dir(a->path, err);
    if (rc != XR_OK)
        return rc;
    /* A chain whose head is not the last row must not grow. */
    rc = head_check(a, err);
    if (rc != XR_OK)
        return rc;
    return prepare_statements(a, err);
}

/* Read-only: just make sure this is an audit store we know. */
static enum xr_status open_reader(struct adp_audit *a, struct xr_error *err)
{
    struct chain_state cs;
    enum xr_status rc;

    if (!adp__audit_exec_sql(a, "BEGIN"))
        return adp__audit_db_error(a, err, "begin");
    rc = adp__audit_state_read(a, &cs, err);
    adp__audit_rollback(a);
    return rc;
}

enum xr_status adp_audit_open(const char *path,
                              const struct adp_audit_options *opts,
                              struct adp_audit **out, struct xr_error *err)
{
    struct adp_audit *a = NULL;
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
        rc = adp__audit_oom(err);
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
        rc = adp__audit_oom(err);
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
        rc = a->db ? adp__audit_db_error(a, err, "open")
                   : xr_error_set(err, XR_ENOMEM, "out_of_memory", "",
                                  "audit store: out of memory");
        goto out;
    }
    sqlite3_db_config(a->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(a->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_busy_timeout(a->db, busy_ms > INT32_MAX ? INT32_MAX : (int)busy_ms);
    rc = a->read_only ? open_reader(a, err) : open_writer(a, err);
    if (rc != XR_OK)
        goto out;
    *out = a;
    a = NULL; /* ownership moved to the caller */
    rc = XR_OK;
out:
    adp_audit_close(a);
    return rc;
}

void adp__audit_pending_clear(struct adp_audit *a)
{
    for (size_t i = 0; i < a->npend; i++)
        free(a->pend[i]);
    a->npend = 0;
}

void adp_audit_close(struct adp_audit *a)
{
    if (!a)
        return;
    adp__audit_pending_clear(a);
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

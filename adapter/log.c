/*
 * Operational log: stderr lines, journald-aware (log.h).
 *
 * A record is assembled in a stack buffer of ADP_LOG_LINE_MAX bytes and
 * written with one write(2) under a mutex. The mutex matters for stream
 * sockets (journald's stdout stream): a write that the kernel splits could
 * otherwise interleave with another thread's line. Pipes and O_APPEND
 * files would be atomic anyway because a line is shorter than PIPE_BUF.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Plain sd_journal_sendv(): no CODE_FILE/CODE_LINE fields (source paths
 * say nothing to operators), and one symbol tests can wrap. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#define WRITE_RETRIES_MAX 64 /* EINTR / partial writes of one line */
#define TRUNC_MARK        "..."
#define HETU_LEN          11u
#define JOURNAL_FIELDS    7u /* REQ_ID ... DURATION_MS */
#define JOURNAL_SOCKET    "/run/systemd/journal/socket"
#define FIELD_MAX         (ADP_LOG_VALUE_MAX * 6u + 32u) /* escaped */

static _Atomic int log_level = ADP_LOG_INFO;
static atomic_bool log_journald;
static atomic_bool log_journal_fields;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

/* Constant journald fields (sd_journal_sendv() takes non-const iovecs). */
static char field_priority[] = "PRIORITY=6";
static char field_ident[] = "SYSLOG_IDENTIFIER=vayla";

static bool hetu_at(const char *s, size_t len, size_t i);
static size_t drop_trailing_hetu(const char *s, size_t n);

/* One output line under construction; never holds more than cap bytes. */
struct line {
    char *buf;
    size_t len;
    size_t cap;     /* bytes usable, excluding the final '\n' */
    bool truncated; /* something did not fit */
};

/* How text is escaped on its way into a line. */
enum esc {
    ESC_MESSAGE, /* free text: controls as \n \r \t \xNN */
    ESC_QUOTED,  /* inside a logfmt "...": also '"' and '\' */
};

static void line_init(struct line *l, char *buf, size_t size)
{
    l->buf = buf;
    l->len = 0;
    l->cap = size - 1; /* room for '\n' */
    l->truncated = false;
}

static void line_add(struct line *l, const char *s, size_t n)
{
    if (l->truncated)
        return;
    if (n > l->cap - l->len) {
        n = l->cap - l->len;
        l->truncated = true;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void line_adds(struct line *l, const char *s)
{
    line_add(l, s, strlen(s));
}

/* v in decimal, at least width digits (zero-padded); no printf. */
static void line_add_uint(struct line *l, unsigned long long v, unsigned width)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    while (sizeof(tmp) - i < width && i > 0)
        tmp[--i] = '0';
    line_add(l, tmp + i, sizeof(tmp) - i);
}

static void line_addf(struct line *l, const char *fmt, ...) XR_PRINTF(2, 3);

static void line_addf(struct line *l, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    line_add(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/*
 * Close a line: a truncated line ends in "..." (cut on a UTF-8 character
 * boundary) and every line ends in '\n'. Returns the length to write.
 */
static size_t line_finish(struct line *l)
{
    if (l->truncated) {
        size_t keep = l->len > sizeof(TRUNC_MARK) - 1
                          ? l->len - (sizeof(TRUNC_MARK) - 1)
                          : 0;
        while (keep > 0 && ((unsigned char)l->buf[keep] & 0xc0) == 0x80)
            keep--;
        keep = drop_trailing_hetu(l->buf, keep);
        memcpy(l->buf + keep, TRUNC_MARK, sizeof(TRUNC_MARK) - 1);
        l->len = keep + sizeof(TRUNC_MARK) - 1;
    }
    l->buf[l->len] = '\n';
    return l->len + 1;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned two_digits(const char *s)
{
    return (unsigned)(s[0] - '0') * 10u + (unsigned)(s[1] - '0');
}

/*
 * True when s[i..] starts a hetu-shaped token: DDMMYY, a century sign
 * (+ - A..F U..Y, either case), three digits and a check character, not
 * glued to other letters or digits. The check character is not verified:
 * a mistyped hetu is still personal data.
 */
static bool hetu_at(const char *s, size_t len, size_t i)
{
    static const char century[] = "+-ABCDEFUVWXYabcdefuvwxy";
    size_t k;
    unsigned dd, mm;

    if (len - i < HETU_LEN || (i > 0 && is_alnum(s[i - 1])))
        return false;
    for (k = 0; k < 6; k++) {
        if (!is_digit(s[i + k]))
            return false;
    }
    dd = two_digits(s + i);
    mm = two_digits(s + i + 2);
    if (dd < 1 || dd > 31 || mm < 1 || mm > 12)
        return false;
    if (s[i + 6] == '\0' || !strchr(century, s[i + 6]))
        return false;
    for (k = 7; k < 10; k++) {
        if (!is_digit(s[i + k]))
            return false;
    }
    if (!is_alnum(s[i + 10]))
        return false;
    return len - i == HETU_LEN || !is_alnum(s[i + HETU_LEN]);
}

/*
 * Length to keep of s[0..n) when the text is cut at n: a token glued to
 * the letters after it is not hetu-shaped, but once cut right after it, it
 * would be. Drop such a tail.
 */
static size_t drop_trailing_hetu(const char *s, size_t n)
{
    if (n >= HETU_LEN && hetu_at(s, n, n - HETU_LEN))
        return n - HETU_LEN;
    return n;
}

/*
 * Copy s[0..len) into out (at most max bytes of text, then "..."),
 * replacing hetu-shaped tokens by ADP_LOG_REDACTED. Returns the length.
 * out must hold max + sizeof(ADP_LOG_REDACTED) + sizeof(TRUNC_MARK).
 */
static size_t redact(const char *s, size_t len, char *out, size_t max)
{
    size_t i = 0, n = 0;

    while (i < len) {
        if (n >= max) {
            if (((unsigned char)s[i] & 0xc0) == 0x80) {
                /* do not end inside a UTF-8 sequence */
                while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
                    n--;
                if (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
                    n--;
            }
            n = drop_trailing_hetu(out, n);
            memcpy(out + n, TRUNC_MARK, sizeof(TRUNC_MARK) - 1);
            return n + sizeof(TRUNC_MARK) - 1;
        }
        if (hetu_at(s, len, i)) {
            memcpy(out + n, ADP_LOG_REDACTED, sizeof(ADP_LOG_REDACTED) - 1);
            n += sizeof(ADP_LOG_REDACTED) - 1;
            i += HETU_LEN;
            continue;
        }
        out[n++] = s[i++];
    }
    return n;
}

/* Append s[0..n) escaped according to mode. */
static void line_add_escaped(struct line *l, const char *s, size_t n,
                             enum esc mode)
{
    for (size_t i = 0; i < n && !l->truncated; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\n') {
            line_add(l, "\\n", 2);
        } else if (c == '\r') {
            line_add(l, "\\r", 2);
        } else if (c == '\t') {
            line_add(l, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            if (mode == ESC_QUOTED)
                line_addf(l, "\\u%04x", (unsigned)c);
            else
                line_addf(l, "\\x%02x", (unsigned)c);
        } else if (mode == ESC_QUOTED && (c == '"' || c == '\\')) {
            char esc[2] = {'\\', (char)c};
            line_add(l, esc, 2);
        } else {
            line_add(l, (const char *)&c, 1);
        }
    }
}

static void emit(const char *buf, size_t len)
{
    size_t off = 0;

    pthread_mutex_lock(&write_lock);
    for (int tries = 0; off < len && tries < WRITE_RETRIES_MAX; tries++) {
        ssize_t n = write(STDERR_FILENO, buf + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* nowhere to report it */
        off += (size_t)n;
    }
    pthread_mutex_unlock(&write_lock);
}

static int sd_priority(enum adp_log_level level)
{
    switch (level) {
    case ADP_LOG_ERR:
        return 3;
    case ADP_LOG_WARN:
        return 4;
    case ADP_LOG_INFO:
        return 6;
    case ADP_LOG_DEBUG:
        return 7;
    }
    return 3;
}

/* "2026-11-27T16:33:51.123Z" (UTC); "-" if the clock cannot be read. */
static void add_timestamp(struct line *l)
{
    struct timespec ts;
    struct tm tm;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || !gmtime_r(&ts.tv_sec, &tm)) {
        line_adds(l, "-");
        return;
    }
    /* As "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", without printf: one
     * access record per request writes it. */
    if (tm.tm_year + 1900 < 0) {
        line_adds(l, "-");
        return;
    }
    line_add_uint(l, (unsigned long long)(tm.tm_year + 1900), 4);
    line_add(l, "-", 1);
    line_add_uint(l, (unsigned long long)(tm.tm_mon + 1), 2);
    line_add(l, "-", 1);
    line_add_uint(l, (unsigned long long)tm.tm_mday, 2);
    line_add(l, "T", 1);
    line_add_uint(l, (unsigned long long)tm.tm_hour, 2);
    line_add(l, ":", 1);
    line_add_uint(l, (unsigned long long)tm.tm_min, 2);
    line_add(l, ":", 1);
    line_add_uint(l, (unsigned long long)tm.tm_sec, 2);
    line_add(l, ".", 1);
    line_add_uint(l, (unsigned long long)(ts.tv_nsec / 1000000L), 3);
    line_add(l, "Z", 1);
}

/*
 * The start of a line: "<N>" under journald; otherwise "TS LEVEL: " when
 * with_ts is set (free-text records) and nothing (the access log writes
 * its own ts= field).
 */
static void add_prefix(struct line *l, enum adp_log_level level, bool with_ts)
{
    if (atomic_load_explicit(&log_journald, memory_order_relaxed)) {
        line_addf(l, "<%d>", sd_priority(level));
        return;
    }
    if (with_ts) {
        add_timestamp(l);
        line_addf(l, " %s: ", adp_log_level_name(level));
    }
}

static void vlog(enum adp_log_level level, int errnum, const char *fmt,
                 va_list ap) XR_PRINTF(3, 0);

static void vlog(enum adp_log_level level, int errnum, const char *fmt,
                 va_list ap)
{
    char msg[ADP_LOG_LINE_MAX + 2 * HETU_LEN];
    char
        clean[ADP_LOG_LINE_MAX + sizeof(ADP_LOG_REDACTED) + sizeof(TRUNC_MARK)];
    char out[ADP_LOG_LINE_MAX];
    struct line l;
    size_t n;
    int r;

    r = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (r < 0)
        r = snprintf(msg, sizeof(msg), "(unformattable log message)");
    n = (size_t)r < sizeof(msg) ? (size_t)r : sizeof(msg) - 1;
    if ((size_t)r >= sizeof(msg)) {
        /*
         * Cut short: the last bytes may be the start of a hetu that the
         * redaction cannot recognise any more, and redaction shortens the
         * text before them, so they could reach the line. Drop them.
         */
        n -= HETU_LEN - 1;
        memcpy(msg + n, TRUNC_MARK, sizeof(TRUNC_MARK));
        n += sizeof(TRUNC_MARK) - 1;
    } else if (errnum != 0 && n < sizeof(msg) - 1) {
        r = snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
        if (r > 0)
            n += (size_t)r < sizeof(msg) - n ? (size_t)r : sizeof(msg) - n - 1;
    }
    n = redact(msg, n, clean, ADP_LOG_LINE_MAX);

    line_init(&l, out, sizeof(out));
    add_prefix(&l, level, true);
    line_add_escaped(&l, clean, n, ESC_MESSAGE);
    emit(out, line_finish(&l));
}

void adp_log_checkpoint(const char *line)
{
    static char field_event[] = "VAYLA_EVENT=checkpoint";
    char message[ADP_LOG_LINE_MAX], value[ADP_LOG_LINE_MAX];
    char out[ADP_LOG_LINE_MAX];
    struct iovec iov[5];
    struct line l;
    size_t n;

    if (!adp_log_enabled(ADP_LOG_INFO))
        return;
    /* Hex and base64 of a fixed shape: not redacted (a run of them may
     * look like an identity code), only escaped. */
    n = strlen(line);
    line_init(&l, out, sizeof(out));
    add_prefix(&l, ADP_LOG_INFO, true);
    line_add(&l, "audit checkpoint: ", 18);
    line_add_escaped(&l, line, n, ESC_MESSAGE);
    if (!atomic_load(&log_journal_fields)) {
        emit(out, line_finish(&l));
        return;
    }
    snprintf(message, sizeof(message), "MESSAGE=audit checkpoint: %s", line);
    snprintf(value, sizeof(value), "VAYLA_CHECKPOINT=%s", line);
    iov[0] = (struct iovec){message, strlen(message)};
    iov[1] = (struct iovec){value, strlen(value)};
    iov[2] = (struct iovec){field_event, sizeof(field_event) - 1};
    iov[3] = (struct iovec){field_priority, sizeof(field_priority) - 1};
    iov[4] = (struct iovec){field_ident, sizeof(field_ident) - 1};
    if (sd_journal_sendv(iov, 5) < 0)
        emit(out, line_finish(&l));
}

void adp_log_init(const struct adp_log_opts *opts)
{
    const char *js = getenv("JOURNAL_STREAM");
    bool journald = false;
    struct stat st;

    /* systemd sets "DEV:INODE" of the stream it connected (sd_journal
     * docs): trust it only if fd 2 still is that stream. */
    if (js && *js && fstat(STDERR_FILENO, &st) == 0) {
        char *end = NULL;
        unsigned long long dev, ino;

        errno = 0;
        dev = strtoull(js, &end, 10);
        if (errno == 0 && end != js && *end == ':') {
            const char *p = end + 1;

            ino = strtoull(p, &end, 10);
            journald = errno == 0 && end != p && *end == '\0' &&
                       dev == (unsigned long long)st.st_dev &&
                       ino == (unsigned long long)st.st_ino;
        }
    }
    atomic_store(&log_journald, journald);
    /* sd_journal_sendv() reports success when the journal socket is
     * missing (it "fails silently"), so only use it when it is there. */
    atomic_store(&log_journal_fields, journald && opts &&
                                          opts->journal_fields &&
                                          access(JOURNAL_SOCKET, W_OK) == 0);
}

bool adp_log_is_journald(void)
{
    return atomic_load_explicit(&log_journald, memory_order_relaxed);
}

void adp_log_set_level(enum adp_log_level level)
{
    atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

enum adp_log_level adp_log_get_level(void)
{
    int v = atomic_load_explicit(&log_level, memory_order_relaxed);

    return (enum adp_log_level)v;
}

bool adp_log_enabled(enum adp_log_level level)
{
    return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

const char *adp_log_level_name(enum adp_log_level level)
{
    switch (level) {
    case ADP_LOG_ERR:
        return "err";
    case ADP_LOG_WARN:
        return "warn";
    case ADP_LOG_INFO:
        return "info";
    case ADP_LOG_DEBUG:
        return "debug";
    }
    return "err";
}

bool adp_log_level_parse(const char *s, enum adp_log_level *out)
{
    static const struct {
        const char *name;
        enum adp_log_level level;
    } names[] = {
        {"err", ADP_LOG_ERR},   {"error", ADP_LOG_ERR},
        {"warn", ADP_LOG_WARN}, {"warning", ADP_LOG_WARN},
        {"info", ADP_LOG_INFO}, {"debug", ADP_LOG_DEBUG},
    };

    if (!s)
        return false;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcasecmp(s, names[i].name)) {
            *out = names[i].level;
            return true;
        }
    }
    return false;
}

void adp_log(enum adp_log_level level, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    if (adp_log_enabled(level)) {
        va_start(ap, fmt);
        vlog(level, 0, fmt, ap);
        va_end(ap);
    }
    errno = saved;
}

#define LEVEL_FN(name, level)         \
    void name(const char *fmt, ...)   \
    {                                 \
        int saved = errno;            \
        va_list ap;                   \
                                      \
        if (adp_log_enabled(level)) { \
            va_start(ap, fmt);        \
            vlog(level, 0, fmt, ap);  \
            va_end(ap);               \
        }                             \
        errno = saved;                \
    }

LEVEL_FN(adp_log_err, ADP_LOG_ERR)
LEVEL_FN(adp_log_warn, ADP_LOG_WARN)
LEVEL_FN(adp_log_info, ADP_LOG_INFO)
LEVEL_FN(adp_log_debug, ADP_LOG_DEBUG)

void adp_log_errno(enum adp_log_level level, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    if (adp_log_enabled(level)) {
        va_start(ap, fmt);
        vlog(level, saved, fmt, ap);
        va_end(ap);
    }
    errno = saved;
}

/* A logfmt value needs quotes unless it is non-empty and only these. */
static bool is_bare(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!is_alnum(c) && !strchr("_.:/@+,-", c))
            return false;
    }
    return true;
}

/*
 * Prepare one value: NULL -> "-", cut the path at '?' / '#', redact and
 * cap. out must hold ADP_LOG_VALUE_MAX + 32 bytes.
 */
static size_t prepare_value(const char *s, bool is_path, char *out)
{
    size_t len;

    if (!s) {
        out[0] = '-';
        return 1;
    }
    len = is_path ? strcspn(s, "?#") : strlen(s);
    return redact(s, len, out, ADP_LOG_VALUE_MAX);
}

static void add_field(struct line *l, const char *key, const char *v, size_t n)
{
    line_add(l, " ", 1);
    line_adds(l, key);
    line_add(l, "=", 1);
    if (is_bare(v, n)) {
        line_add(l, v, n);
    } else {
        line_add(l, "\"", 1);
        line_add_escaped(l, v, n, ESC_QUOTED);
        line_add(l, "\"", 1);
    }
}

/* Microseconds as "12.345" milliseconds; negative as "-". */
static void format_ms(int64_t us, char *out, size_t size)
{
    struct line l;

    if (us < 0) {
        snprintf(out, size, "-");
        return;
    }
    /* "%lld.%03lld" without printf (three per access record) */
    line_init(&l, out, size);
    line_add_uint(&l, (unsigned long long)(us / 1000), 1);
    line_add(&l, ".", 1);
    line_add_uint(&l, (unsigned long long)(us % 1000), 3);
    out[l.len] = '\0';
}

enum req_field {
    RF_REQ_ID,
    RF_CALLER,
    RF_METHOD,
    RF_PATH,
    RF_OUTCOME,
    RF_FAULT_ORIGIN,
    RF_XROAD_ID,
    RF_COUNT
};

/* Send one access record to journald with its fields; false on failure. */
static bool journal_send(const char *message, size_t message_len,
                         char vals[RF_COUNT][ADP_LOG_VALUE_MAX + 32],
                         const size_t lens[RF_COUNT], int status,
                         const char *duration_ms)
{
    static const struct {
        enum req_field f;
        const char *name;
    } map[] = {
        {RF_REQ_ID, "REQ_ID"},     {RF_CALLER, "CALLER"},
        {RF_OUTCOME, "OUTCOME"},   {RF_FAULT_ORIGIN, "FAULT_ORIGIN"},
        {RF_XROAD_ID, "XROAD_ID"},
    };
    char fields[JOURNAL_FIELDS][FIELD_MAX];
    char msgbuf[ADP_LOG_LINE_MAX + 16];
    struct iovec iov[JOURNAL_FIELDS + 3];
    struct line l;
    size_t k;
    int n = 0;

    /* MESSAGE= is the same logfmt line that stderr would get. */
    line_init(&l, msgbuf, sizeof(msgbuf));
    line_adds(&l, "MESSAGE=");
    line_add(&l, message, message_len);
    iov[n].iov_base = msgbuf;
    iov[n++].iov_len = l.len;
    iov[n].iov_base = field_priority;
    iov[n++].iov_len = sizeof(field_priority) - 1;
    iov[n].iov_base = field_ident;
    iov[n++].iov_len = sizeof(field_ident) - 1;
    for (k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
        line_init(&l, fields[k], sizeof(fields[k]));
        line_addf(&l, "%s=", map[k].name);
        line_add_escaped(&l, vals[map[k].f], lens[map[k].f], ESC_MESSAGE);
        iov[n].iov_base = fields[k];
        iov[n++].iov_len = l.len;
    }
    snprintf(fields[k], sizeof(fields[k]), "STATUS=%d", status);
    iov[n].iov_base = fields[k];
    iov[n++].iov_len = strlen(fields[k]);
    k++;
    snprintf(fields[k], sizeof(fields[k]), "DURATION_MS=%s", duration_ms);
    iov[n].iov_base = fields[k];
    iov[n++].iov_len = strlen(fields[k]);
    return sd_journal_sendv(iov, n) >= 0;
}

void adp_log_request(const struct adp_log_req *r)
{
    static const char *const keys[RF_COUNT] = {
        "req_id",  "caller",       "method",  "path",
        "outcome", "fault_origin", "xroad_id"};
    int saved = errno;
    char vals[RF_COUNT][ADP_LOG_VALUE_MAX + 32];
    size_t lens[RF_COUNT];
    char dur[32], up[32], au[32];
    char out[ADP_LOG_LINE_MAX];
    struct line l;
    size_t body;
    bool journal;

    if (!r || !adp_log_enabled(ADP_LOG_INFO))
        goto out;
    lens[RF_REQ_ID] = prepare_value(r->req_id, false, vals[RF_REQ_ID]);
    lens[RF_CALLER] = prepare_value(r->caller, false, vals[RF_CALLER]);
    lens[RF_METHOD] = prepare_value(r->method, false, vals[RF_METHOD]);
    lens[RF_PATH] = prepare_value(r->path, true, vals[RF_PATH]);
    lens[RF_OUTCOME] = prepare_value(r->outcome, false, vals[RF_OUTCOME]);
    lens[RF_FAULT_ORIGIN] =
        prepare_value(r->fault_origin, false, vals[RF_FAULT_ORIGIN]);
    lens[RF_XROAD_ID] = prepare_value(r->xroad_id, false, vals[RF_XROAD_ID]);
    format_ms(r->duration_us, dur, sizeof(dur));
    format_ms(r->upstream_us, up, sizeof(up));
    format_ms(r->audit_us, au, sizeof(au));

    line_init(&l, out, sizeof(out));
    add_prefix(&l, ADP_LOG_INFO, false);
    body = l.len;
    journal = atomic_load_explicit(&log_journald, memory_order_relaxed);
    if (!journal) {
        line_adds(&l, "ts=");
        add_timestamp(&l);
        line_adds(&l, " ");
    }
    line_adds(&l, "level=info msg=request");
    for (int f = 0; f < RF_COUNT; f++) {
        if (f == RF_OUTCOME) {
            line_adds(&l, " status=");
            if (r->status < 0)
                line_add(&l, "-", 1);
            line_add_uint(&l,
                          r->status < 0 ? 0ULL - (unsigned long long)r->status
                                        : (unsigned long long)r->status,
                          1);
        }
        add_field(&l, keys[f], vals[f], lens[f]);
    }
    line_adds(&l, " duration_ms=");
    line_adds(&l, dur);
    line_adds(&l, " upstream_ms=");
    line_adds(&l, up);
    line_adds(&l, " audit_ms=");
    line_adds(&l, au);

    if (journal &&
        atomic_load_explicit(&log_journal_fields, memory_order_relaxed) &&
        !l.truncated &&
        journal_send(out + body, l.len - body, vals, lens, r->status, dur))
        goto out;
    emit(out, line_finish(&l));
out:
    errno = saved;
}

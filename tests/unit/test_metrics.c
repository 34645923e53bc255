/*
 * Unit tests for adapter/metrics.h. The rendered text is checked by a
 * small, strict parser of the Prometheus text format 0.0.4 written here:
 * every sample must belong to a family announced by HELP and TYPE lines,
 * names and label syntax must be valid, label values are unescaped, and
 * every histogram must have cumulative buckets ending in le="+Inf" equal
 * to its _count. Then the values themselves are asserted, including
 * shards written by concurrent threads while another thread scrapes.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "metrics.h"
#include "xfer.h"

#define MAX_SAMPLES  4096
#define MAX_FAMILIES 64
#define NAME_MAX_LEN 128
#define LABELS_MAX   512

struct sample {
    char name[NAME_MAX_LEN];
    char labels[LABELS_MAX]; /* unescaped: k="v",k="v" (no le) */
    char le[32];             /* the le label of a bucket, else "" */
    double value;
};

struct family {
    char name[NAME_MAX_LEN];
    char type[16];
    bool has_help;
};

struct exposition {
    struct sample samples[MAX_SAMPLES];
    size_t n;
    struct family families[MAX_FAMILIES];
    size_t nf;
};

static const char *outcome_names[] = {"found", "not_found", "fault",
                                      "transport_error", "ok"};
#define N_OUTCOMES (sizeof(outcome_names) / sizeof(outcome_names[0]))

static bool name_char(char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
        c == ':')
        return true;
    return !first && c >= '0' && c <= '9';
}

static const char *parse_name(const char *p, char *out)
{
    size_t n = 0;

    if (!name_char(*p, true))
        fail_msg("bad metric or label name at '%.40s'", p);
    while (name_char(*p, false) && n < NAME_MAX_LEN - 1)
        out[n++] = *p++;
    out[n] = '\0';
    return p;
}

static struct family *find_family(struct exposition *e, const char *name)
{
    for (size_t i = 0; i < e->nf; i++) {
        if (!strcmp(e->families[i].name, name))
            return &e->families[i];
    }
    return NULL;
}

/* The family a sample name belongs to (histogram suffixes stripped). */
static struct family *family_of(struct exposition *e, const char *name)
{
    static const char *suffixes[] = {"_bucket", "_sum", "_count"};
    struct family *f = find_family(e, name);
    char base[NAME_MAX_LEN];

    if (f)
        return f;
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(name), s = strlen(suffixes[i]);

        if (n > s && !strcmp(name + n - s, suffixes[i])) {
            memcpy(base, name, n - s);
            base[n - s] = '\0';
            f = find_family(e, base);
            if (f && !strcmp(f->type, "histogram"))
                return f;
        }
    }
    return NULL;
}

static void parse_comment(struct exposition *e, const char *line)
{
    char name[NAME_MAX_LEN];
    const char *p;
    struct family *f;
    bool help = !strncmp(line, "# HELP ", 7);

    if (!help && strncmp(line, "# TYPE ", 7) != 0)
        return; /* other comments are allowed */
    p = parse_name(line + 7, name);
    assert_int_equal(*p, ' ');
    f = find_family(e, name);
    if (!f) {
        assert_true(e->nf < MAX_FAMILIES);
        f = &e->families[e->nf++];
        memset(f, 0, sizeof(*f));
        snprintf(f->name, sizeof(f->name), "%s", name);
    }
    if (help) {
        assert_false(f->has_help);
        assert_true(strlen(p + 1) > 0);
        f->has_help = true;
    } else {
        assert_string_equal(f->type, ""); /* one TYPE per family */
        assert_true(!strcmp(p + 1, "counter") || !strcmp(p + 1, "gauge") ||
                    !strcmp(p + 1, "histogram"));
        snprintf(f->type, sizeof(f->type), "%s", p + 1);
    }
}

/* Parse `{k="v",...}` at p into s; returns the position after '}'. */
static const char *parse_labels(const char *p, struct sample *s)
{
    size_t n = 0;

    p++; /* '{' */
    while (*p != '}') {
        char key[NAME_MAX_LEN], val[LABELS_MAX];
        size_t vn = 0;

        p = parse_name(p, key);
        assert_int_equal(*p++, '=');
        assert_int_equal(*p++, '"');
        while (*p != '"') {
            char c = *p++;

            assert_true(c != '\0' && c != '\n');
            if (c == '\\') {
                c = *p++;
                if (c == 'n')
                    c = '\n';
                else if (c != '\\' && c != '"')
                    fail_msg("bad escape \\%c in a label value", c);
            }
            assert_true(vn < sizeof(val) - 1);
            val[vn++] = c;
        }
        val[vn] = '\0';
        p++; /* closing quote */
        if (!strcmp(key, "le")) {
            assert_true(vn < sizeof(s->le));
            memcpy(s->le, val, vn + 1);
        } else {
            int w = snprintf(s->labels + n, sizeof(s->labels) - n,
                             "%s%s=\"%s\"", n ? "," : "", key, val);
            assert_true(w > 0 && (size_t)w < sizeof(s->labels) - n);
            n += (size_t)w;
        }
        if (*p == ',')
            p++;
    }
    return p + 1;
}

static void parse_sample(struct exposition *e, const char *line)
{
    struct sample *s;
    struct family *f;
    const char *p;
    char *end;

    assert_true(e->n < MAX_SAMPLES);
    s = &e->samples[e->n++];
    memset(s, 0, sizeof(*s));
    p = parse_name(line, s->name);
    f = family_of(e, s->name);
    if (!f || !f->type[0] || !f->has_help)
        fail_msg("sample %s without HELP and TYPE before it", s->name);
    if (*p == '{')
        p = parse_labels(p, s);
    assert_int_equal(*p++, ' ');
    if (!strcmp(p, "+Inf")) {
        s->value = HUGE_VAL;
        return;
    }
    errno = 0;
    s->value = strtod(p, &end);
    if (errno != 0 || end == p || *end != '\0')
        fail_msg("bad sample value '%s' in '%s'", p, line);
}

/* Strict parse of the whole text; fails the test on any violation. */
static void parse(struct exposition *e, char *text)
{
    char *line = text, *nl;

    e->n = 0;
    e->nf = 0;
    assert_true(strlen(text) > 0);
    assert_int_equal(text[strlen(text) - 1], '\n');
    while (*line) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        assert_true(strlen(line) > 0); /* no empty lines */
        if (line[0] == '#')
            parse_comment(e, line);
        else
            parse_sample(e, line);
        line = nl + 1;
    }
}

/* Value of the sample with exactly these name and labels; -1 if absent. */
static double value_of(const struct exposition *e, const char *name,
                       const char *labels, const char *le)
{
    for (size_t i = 0; i < e->n; i++) {
        const struct sample *s = &e->samples[i];

        if (!strcmp(s->name, name) && !strcmp(s->labels, labels) &&
            !strcmp(s->le, le ? le : ""))
            return s->value;
    }
    return -1;
}

static size_t count_samples(const struct exposition *e, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < e->n; i++)
        n += !strcmp(e->samples[i].name, name);
    return n;
}

/*
 * Every histogram series: buckets in increasing le order, cumulative,
 * ending with +Inf equal to _count, and a _sum present.
 */
static void check_histograms(const struct exposition *e)
{
    for (size_t fi = 0; fi < e->nf; fi++) {
        const struct family *f = &e->families[fi];
        char bucket[NAME_MAX_LEN + 8], count[NAME_MAX_LEN + 8],
            sum[NAME_MAX_LEN + 8];

        if (strcmp(f->type, "histogram") != 0)
            continue;
        snprintf(bucket, sizeof(bucket), "%s_bucket", f->name);
        snprintf(count, sizeof(count), "%s_count", f->name);
        snprintf(sum, sizeof(sum), "%s_sum", f->name);
        for (size_t i = 0; i < e->n; i++) {
            const struct sample *c = &e->samples[i];
            double prev_le = -1, prev = 0;
            bool saw_inf = false;

            if (strcmp(c->name, count) != 0)
                continue;
            assert_true(value_of(e, sum, c->labels, NULL) >= 0);
            for (size_t k = 0; k < e->n; k++) {
                const struct sample *b = &e->samples[k];
                double le;

                if (strcmp(b->name, bucket) || strcmp(b->labels, c->labels))
                    continue;
                assert_false(saw_inf); /* +Inf is last */
                if (!strcmp(b->le, "+Inf")) {
                    saw_inf = true;
                    le = HUGE_VAL;
                } else {
                    le = strtod(b->le, NULL);
                }
                assert_true(le > prev_le);
                assert_true(b->value >= prev);
                prev_le = le;
                prev = b->value;
            }
            assert_true(saw_inf);
            if (prev != c->value)
                fail_msg("%s{%s}: +Inf %.0f != count %.0f", f->name, c->labels,
                         prev, c->value);
        }
    }
}

/* Render m, parse strictly, check histograms; e is filled. */
static void render(struct adp_metrics *m, struct exposition *e)
{
    struct evbuffer *buf = evbuffer_new();
    size_t len;
    char *text;

    assert_non_null(buf);
    assert_int_equal(adp_metrics_render(m, buf), XR_OK);
    len = evbuffer_get_length(buf);
    text = malloc(len + 1);
    assert_non_null(text);
    assert_int_equal(evbuffer_remove(buf, text, len), (int)len);
    text[len] = '\0';
    evbuffer_free(buf);
    parse(e, text);
    free(text);
    check_histograms(e);
}

static struct adp_metrics *new_registry(unsigned shards, const char *version)
{
    struct adp_metrics_opts o = {shards, outcome_names, N_OUTCOMES, version};
    struct adp_metrics *m = NULL;
    struct xr_error err;

    assert_int_equal(adp_metrics_new(&o, &m, &err), XR_OK);
    assert_non_null(m);
    return m;
}

static struct exposition *new_exposition(void)
{
    struct exposition *e = calloc(1, sizeof(*e));

    assert_non_null(e);
    return e;
}

static void expect_invalid(unsigned shards, const char *const *names, size_t n,
                           const char *version, const char *field)
{
    struct adp_metrics_opts o = {shards, names, n, version};
    struct adp_metrics *m = (void *)&o; /* must be reset to NULL */
    struct xr_error err;

    assert_int_equal(adp_metrics_new(&o, &m, &err), XR_EINVAL);
    assert_null(m);
    assert_string_equal(err.reason, "invalid_metrics_opts");
    assert_string_equal(err.field, field);
}

static void test_new_validation(void **state)
{
    static const char *upper[] = {"found", "Found"};
    static const char *digit[] = {"1x"};
    static const char *dash[] = {"a-b"};
    static const char *reserved[] = {"unlisted"};
    static const char *empty[] = {""};
    static const char *dup[] = {"ok", "found", "ok"};
    static const char *hetu[] = {"010101-123N"};
    static const char *nul[] = {NULL};
    static const char *longname[] = {
        "a234567890123456789012345678901234567890x"}; /* 41 bytes */
    static const char *many[ADP_METRICS_OUTCOMES_MAX + 1];
    char names[ADP_METRICS_OUTCOMES_MAX + 1][8];

    (void)state;
    for (size_t i = 0; i <= ADP_METRICS_OUTCOMES_MAX; i++) {
        snprintf(names[i], sizeof(names[i]), "o%zu", i);
        many[i] = names[i];
    }
    expect_invalid(0, outcome_names, N_OUTCOMES, "1", "shards");
    expect_invalid(ADP_METRICS_SHARDS_MAX + 1, outcome_names, N_OUTCOMES, "1",
                   "shards");
    expect_invalid(1, NULL, 1, "1", "outcomes");
    expect_invalid(1, outcome_names, 0, "1", "outcomes");
    expect_invalid(1, many, ADP_METRICS_OUTCOMES_MAX + 1, "1", "outcomes");
    expect_invalid(1, upper, 2, "1", "outcomes");
    expect_invalid(1, digit, 1, "1", "outcomes");
    expect_invalid(1, dash, 1, "1", "outcomes");
    expect_invalid(1, reserved, 1, "1", "outcomes");
    expect_invalid(1, empty, 1, "1", "outcomes");
    expect_invalid(1, dup, 3, "1", "outcomes");
    expect_invalid(1, hetu, 1, "1", "outcomes");
    expect_invalid(1, nul, 1, "1", "outcomes");
    expect_invalid(1, longname, 1, "1", "outcomes");
    expect_invalid(1, outcome_names, N_OUTCOMES, NULL, "version");
    expect_invalid(1, outcome_names, N_OUTCOMES, "1.0\nevil 1", "version");
    expect_invalid(1, outcome_names, N_OUTCOMES,
                   "0123456789012345678901234567890123456789"
                   "0123456789012345678901234",
                   "version");
    /* The boundaries themselves are fine. */
    adp_metrics_free(new_registry(ADP_METRICS_SHARDS_MAX, ""));
    {
        struct adp_metrics_opts o = {1, many, ADP_METRICS_OUTCOMES_MAX, "1"};
        struct adp_metrics *m = NULL;

        assert_int_equal(adp_metrics_new(&o, &m, NULL), XR_OK);
        adp_metrics_free(m);
    }
    adp_metrics_free(NULL);
}

static void test_empty_render(void **state)
{
    static const char *families[][2] = {
        {"vayla_requests_total", "counter"},
        {"vayla_request_duration_seconds", "histogram"},
        {"vayla_upstream_duration_seconds", "histogram"},
        {"vayla_audit_commit_duration_seconds", "histogram"},
        {"vayla_xroad_faults_total", "counter"},
        {"vayla_transport_failures_total", "counter"},
        {"vayla_rejected_total", "counter"},
        {"vayla_in_flight", "gauge"},
        {"vayla_connections_open", "gauge"},
        {"vayla_config_reloads_total", "counter"},
        {"vayla_build_info", "gauge"},
        {"vayla_start_time_seconds", "gauge"},
    };
    struct adp_metrics *m = new_registry(2, "0.1.0");
    struct exposition *e = new_exposition();
    double start, now = (double)time(NULL);

    (void)state;
    render(m, e);
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        struct family *f = find_family(e, families[i][0]);

        assert_non_null(f);
        assert_string_equal(f->type, families[i][1]);
    }
    assert_null(find_family(e, "vayla_client_cert_expiry_seconds"));
    assert_int_equal(count_samples(e, "vayla_requests_total"), 0);
    /* One histogram series per route; every count is zero. */
    assert_int_equal(count_samples(e, "vayla_request_duration_seconds_count"),
                     ADP_ROUTE_COUNT);
    assert_true(value_of(e, "vayla_request_duration_seconds_count",
                         "route=\"vtj_person\"", NULL) == 0);
    assert_true(
        value_of(e, "vayla_upstream_duration_seconds_count", "", NULL) == 0);
    assert_true(
        value_of(e, "vayla_upstream_duration_seconds_bucket", "", "120") == 0);
    assert_true(value_of(e, "vayla_upstream_duration_seconds_bucket", "",
                         "0.005") == 0);
    assert_true(value_of(e, "vayla_audit_commit_duration_seconds_bucket", "",
                         "0.0005") == 0);
    assert_int_equal(count_samples(e, "vayla_xroad_faults_total"), 4);
    assert_true(value_of(e, "vayla_xroad_faults_total",
                         "origin=\"server_proxy\"", NULL) == 0);
    assert_int_equal(count_samples(e, "vayla_transport_failures_total"), 7);
    assert_true(value_of(e, "vayla_transport_failures_total", "class=\"ok\"",
                         NULL) < 0);
    assert_int_equal(count_samples(e, "vayla_rejected_total"), 6);
    assert_true(value_of(e, "vayla_in_flight", "", NULL) == 0);
    assert_true(value_of(e, "vayla_connections_open", "", NULL) == 0);
    assert_true(
        value_of(e, "vayla_config_reloads_total", "result=\"ok\"", NULL) == 0);
    assert_true(value_of(e, "vayla_build_info", "version=\"0.1.0\"", NULL) ==
                1);
    start = value_of(e, "vayla_start_time_seconds", "", NULL);
    assert_true(start > now - 60 && start <= now + 1);
    free(e);
    adp_metrics_free(m);
}

static void test_requests(void **state)
{
    struct adp_metrics *m = new_registry(2, "x");
    struct adp_metrics_shard *s0 = adp_metrics_shard(m, 0);
    struct adp_metrics_shard *s1 = adp_metrics_shard(m, 1);
    struct exposition *e = new_exposition();

    (void)state;
    assert_non_null(s0);
    assert_non_null(s1);
    assert_null(adp_metrics_shard(m, 2));
    assert_null(adp_metrics_shard(NULL, 0));
    adp_metrics_request(s0, ADP_ROUTE_VTJ_PERSON, 200, 0, 1000);
    adp_metrics_request(s1, ADP_ROUTE_VTJ_PERSON, 200, 0, 2000);
    adp_metrics_request(s1, ADP_ROUTE_VTJ_PERSON, 404, 1, 3000);
    adp_metrics_request(s0, ADP_ROUTE_VTJ_PERSON, 502, 2, 4000);
    adp_metrics_request(s0, ADP_ROUTE_VTJ_PERSON, 418, 2, 0); /* 4xx */
    adp_metrics_request(s0, ADP_ROUTE_VTJ_PERSON, 299, 4, 0); /* 2xx */
    adp_metrics_request(s0, ADP_ROUTE_UNMATCHED, 700, 4, 0);  /* other */
    adp_metrics_request(s0, ADP_ROUTE_UNMATCHED, -1, 4, 0);   /* other */
    adp_metrics_request(s1, ADP_ROUTE_HEALTHZ, 200, 99, 0);   /* unlisted */
    adp_metrics_request(s1, ADP_ROUTE_METRICS, 200, N_OUTCOMES, 0);
    adp_metrics_request(s1, (enum adp_metrics_route)42, 200, 0, 0); /* no-op */
    adp_metrics_request(NULL, ADP_ROUTE_VTJ_PERSON, 200, 0, 0);     /* no-op */
    render(m, e);

    assert_int_equal(count_samples(e, "vayla_requests_total"), 8);
    assert_true(value_of(e, "vayla_requests_total",
                         "route=\"vtj_person\",status=\"200\","
                         "outcome=\"found\"",
                         NULL) == 2);
    assert_true(value_of(e, "vayla_requests_total",
                         "route=\"vtj_person\",status=\"404\","
                         "outcome=\"not_found\"",
                         NULL) == 1);
    assert_true(value_of(e, "vayla_requests_total",
                         "route=\"vtj_person\",status=\"502\","
                         "outcome=\"fault\"",
                         NULL) == 1);
    assert_true(value_of(e, "vayla_requests_total",
                         "route=\"vtj_person\",status=\"4xx\","
                         "outcome=\"fault\"",
                         NULL) == 1);
    assert_true(value_of(e, "vayla_requests_total",
                         "route=\"vtj_person\",status=\"2xx\","
                         "outcome=\"ok\"",
                         NULL) == 1);
    assert_true(value_of(e, "vayla_requests_total",
                         "route=\"unmatched\",status=\"other\","
                         "outcome=\"ok\"",
                         NULL) == 2);
    assert_true(value_of(e, "vayla_requests_total",
                         "route=\"healthz\",status=\"200\","
                         "outcome=\"unlisted\"",
                         NULL) == 1);
    assert_true(value_of(e, "vayla_requests_total",
                         "route=\"metrics\",status=\"200\","
                         "outcome=\"unlisted\"",
                         NULL) == 1);
    assert_true(value_of(e, "vayla_request_duration_seconds_count",
                         "route=\"vtj_person\"", NULL) == 6);
    assert_true(value_of(e, "vayla_request_duration_seconds_sum",
                         "route=\"vtj_person\"", NULL) == 0.01);
    assert_true(value_of(e, "vayla_request_duration_seconds_count",
                         "route=\"unmatched\"", NULL) == 2);
    free(e);
    adp_metrics_free(m);
}

static void test_histogram_buckets(void **state)
{
    struct adp_metrics *m = new_registry(1, "x");
    struct adp_metrics_shard *s = adp_metrics_shard(m, 0);
    struct exposition *e = new_exposition();

    (void)state;
    adp_metrics_upstream(s, 0);           /* le 0.005 */
    adp_metrics_upstream(s, 5000);        /* exactly 0.005: le 0.005 */
    adp_metrics_upstream(s, 5001);        /* le 0.01 */
    adp_metrics_upstream(s, 1000000);     /* le 1 */
    adp_metrics_upstream(s, 120000000);   /* le 120 */
    adp_metrics_upstream(s, 130000000);   /* only +Inf */
    adp_metrics_audit_commit(s, 400);     /* le 0.0005 */
    adp_metrics_audit_commit(s, 7000000); /* only +Inf */
    adp_metrics_upstream(NULL, 1);        /* no-op */
    render(m, e);

#define UP(le) value_of(e, "vayla_upstream_duration_seconds_bucket", "", le)
    assert_true(UP("0.005") == 2);
    assert_true(UP("0.01") == 3);
    assert_true(UP("0.025") == 3);
    assert_true(UP("0.5") == 3);
    assert_true(UP("1") == 4);
    assert_true(UP("60") == 4);
    assert_true(UP("120") == 5);
    assert_true(UP("+Inf") == 6);
#undef UP
    assert_int_equal(count_samples(e, "vayla_upstream_duration_seconds_bucket"),
                     15);
    assert_true(
        value_of(e, "vayla_upstream_duration_seconds_count", "", NULL) == 6);
    assert_true(value_of(e, "vayla_upstream_duration_seconds_sum", "", NULL) ==
                251.010001);
    assert_true(value_of(e, "vayla_audit_commit_duration_seconds_bucket", "",
                         "0.0005") == 1);
    assert_true(value_of(e, "vayla_audit_commit_duration_seconds_bucket", "",
                         "5") == 1);
    assert_true(value_of(e, "vayla_audit_commit_duration_seconds_bucket", "",
                         "+Inf") == 2);
    assert_true(value_of(e, "vayla_audit_commit_duration_seconds_sum", "",
                         NULL) == 7.0004);
    free(e);
    adp_metrics_free(m);
}

static void test_label_escaping(void **state)
{
    struct adp_metrics *m = new_registry(1, "1.0 \"beta\" \\x");
    struct exposition *e = new_exposition();
    struct evbuffer *buf = evbuffer_new();
    struct evbuffer_ptr pos;

    (void)state;
    assert_int_equal(adp_metrics_render(m, buf), XR_OK);
    pos = evbuffer_search(
        buf, "vayla_build_info{version=\"1.0 \\\"beta\\\" \\\\x\"} 1\n",
        strlen("vayla_build_info{version=\"1.0 \\\"beta\\\" \\\\x\"} 1\n"),
        NULL);
    assert_true(pos.pos >= 0);
    evbuffer_free(buf);
    /* And the parser gets the original value back. */
    render(m, e);
    assert_true(value_of(e, "vayla_build_info", "version=\"1.0 \"beta\" \\x\"",
                         NULL) == 1);
    free(e);
    adp_metrics_free(m);
}

static void test_counters_and_gauges(void **state)
{
    struct adp_metrics *m = new_registry(3, "x");
    struct adp_metrics_shard *s0 = adp_metrics_shard(m, 0);
    struct adp_metrics_shard *s2 = adp_metrics_shard(m, 2);
    struct exposition *e = new_exposition();
    double left;

    (void)state;
    adp_metrics_fault(s0, XR_ORIGIN_CLIENT_PROXY);
    adp_metrics_fault(s2, XR_ORIGIN_CLIENT_PROXY);
    adp_metrics_fault(s2, XR_ORIGIN_SERVICE);
    adp_metrics_transport_failure(s0, ADP_XFER_TIMEOUT);
    adp_metrics_transport_failure(s0, ADP_XFER_OK); /* not a failure */
    adp_metrics_transport_failure(s2, ADP_XFER_TLS_FAILED);
    adp_metrics_rejected(s0, ADP_REJECT_OVERLOADED);
    adp_metrics_rejected(s2, ADP_REJECT_OVERLOADED);
    adp_metrics_rejected(s2, ADP_REJECT_TOO_LARGE);
    adp_metrics_rejected(s2, (enum adp_metrics_reject)77); /* no-op */
    adp_metrics_in_flight_add(s0, 1);
    adp_metrics_in_flight_add(s0, 1);
    adp_metrics_in_flight_add(s2, 1);
    adp_metrics_in_flight_add(s0, -1);
    adp_metrics_connections_add(s2, 5);
    adp_metrics_connections_add(s2, -2);
    adp_metrics_config_reload(m, true);
    adp_metrics_config_reload(m, false);
    adp_metrics_config_reload(m, true);
    adp_metrics_set_client_cert_expiry(m, (int64_t)time(NULL) + 86400);
    render(m, e);

    assert_true(value_of(e, "vayla_xroad_faults_total",
                         "origin=\"client_proxy\"", NULL) == 2);
    assert_true(value_of(e, "vayla_xroad_faults_total", "origin=\"service\"",
                         NULL) == 1);
    assert_true(value_of(e, "vayla_xroad_faults_total", "origin=\"client\"",
                         NULL) == 0);
    assert_true(value_of(e, "vayla_transport_failures_total",
                         "class=\"timeout\"", NULL) == 1);
    assert_true(value_of(e, "vayla_transport_failures_total",
                         "class=\"tls_failed\"", NULL) == 1);
    assert_true(value_of(e, "vayla_transport_failures_total",
                         "class=\"truncated\"", NULL) == 0);
    assert_true(value_of(e, "vayla_rejected_total", "reason=\"overloaded\"",
                         NULL) == 2);
    assert_true(
        value_of(e, "vayla_rejected_total", "reason=\"too_large\"", NULL) == 1);
    assert_true(value_of(e, "vayla_rejected_total",
                         "reason=\"unauthenticated\"", NULL) == 0);
    assert_true(value_of(e, "vayla_in_flight", "", NULL) == 2);
    assert_true(value_of(e, "vayla_connections_open", "", NULL) == 3);
    assert_true(
        value_of(e, "vayla_config_reloads_total", "result=\"ok\"", NULL) == 2);
    assert_true(value_of(e, "vayla_config_reloads_total", "result=\"failed\"",
                         NULL) == 1);
    left = value_of(e, "vayla_client_cert_expiry_seconds", "", NULL);
    assert_true(left > 86400 - 60 && left <= 86400);

    /* Expired: negative; cleared: the metric disappears. */
    adp_metrics_set_client_cert_expiry(m, (int64_t)time(NULL) - 100);
    render(m, e);
    left = value_of(e, "vayla_client_cert_expiry_seconds", "", NULL);
    assert_true(left <= -100 && left > -160);
    adp_metrics_set_client_cert_expiry(m, 0);
    render(m, e);
    assert_null(find_family(e, "vayla_client_cert_expiry_seconds"));
    free(e);
    adp_metrics_free(m);
}

/* The label names equal the transport classes' own names (xfer.h). */
static void test_names(void **state)
{
    static const enum adp_xfer_class classes[] = {
        ADP_XFER_CONNECT_FAILED, ADP_XFER_TLS_FAILED,  ADP_XFER_TIMEOUT,
        ADP_XFER_TOO_LARGE,      ADP_XFER_HTTP_STATUS, ADP_XFER_TRUNCATED,
        ADP_XFER_INTERNAL};
    struct adp_metrics *m = new_registry(1, "x");
    struct exposition *e = new_exposition();
    char labels[64];

    (void)state;
    render(m, e);
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        snprintf(labels, sizeof(labels), "class=\"%s\"",
                 adp_xfer_class_name(classes[i]));
        assert_true(
            value_of(e, "vayla_transport_failures_total", labels, NULL) == 0);
    }
    assert_string_equal(adp_metrics_route_name(ADP_ROUTE_VTJ_PERSON),
                        "vtj_person");
    assert_string_equal(adp_metrics_reject_name(ADP_REJECT_RATE_LIMITED),
                        "rate_limited");
    free(e);
    adp_metrics_free(m);
}

#define THREADS    4
#define ITERATIONS 100000

struct worker_arg {
    struct adp_metrics_shard *shard;
    int id;
};

static void *worker(void *p)
{
    struct worker_arg *a = p;

    for (int i = 0; i < ITERATIONS; i++) {
        adp_metrics_in_flight_add(a->shard, 1);
        adp_metrics_request(a->shard, ADP_ROUTE_VTJ_PERSON, 200,
                            (unsigned)(i % 2), (uint64_t)(i % 200000));
        adp_metrics_upstream(a->shard, (uint64_t)a->id * 1000u);
        adp_metrics_in_flight_add(a->shard, -1);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct adp_metrics *m = new_registry(THREADS, "x");
    struct exposition *e = new_exposition();
    struct worker_arg args[THREADS];
    pthread_t th[THREADS];
    double last = 0, found, not_found, up_sum;

    (void)state;
    for (int i = 0; i < THREADS; i++) {
        args[i].shard = adp_metrics_shard(m, (unsigned)i);
        args[i].id = i + 1;
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    /* Scrape while the workers run: valid text, counters never drop. */
    for (int k = 0; k < 20; k++) {
        double n;

        render(m, e);
        n = value_of(e, "vayla_upstream_duration_seconds_count", "", NULL);
        assert_true(n >= last);
        last = n;
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    render(m, e);
    found =
        value_of(e, "vayla_requests_total",
                 "route=\"vtj_person\",status=\"200\",outcome=\"found\"", NULL);
    not_found = value_of(e, "vayla_requests_total",
                         "route=\"vtj_person\",status=\"200\","
                         "outcome=\"not_found\"",
                         NULL);
    assert_true(found == THREADS * ITERATIONS / 2);
    assert_true(not_found == THREADS * ITERATIONS / 2);
    assert_true(value_of(e, "vayla_request_duration_seconds_count",
                         "route=\"vtj_person\"", NULL) == THREADS * ITERATIONS);
    assert_true(value_of(e, "vayla_upstream_duration_seconds_count", "",
                         NULL) == THREADS * ITERATIONS);
    /* Thread i observed i ms each time: (1+2+3+4) ms * ITERATIONS. */
    up_sum = value_of(e, "vayla_upstream_duration_seconds_sum", "", NULL);
    assert_true(up_sum == 1000.0); /* 10 ms * ITERATIONS */
    assert_true(value_of(e, "vayla_upstream_duration_seconds_bucket", "",
                         "0.005") == THREADS * ITERATIONS);
    assert_true(value_of(e, "vayla_in_flight", "", NULL) == 0);
    free(e);
    adp_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_validation),
        cmocka_unit_test(test_empty_render),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_histogram_buckets),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_counters_and_gauges),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}

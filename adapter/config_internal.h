/*
 * Private to the configuration parser: the key table's types, the parse
 * state, and the helpers its files share. Other modules use config.h
 * only. The files:
 *
 *   config.c         the key table, the inih line reader and callbacks,
 *                    required keys, load and free
 *   config_values.c  one value by its key type (numbers, paths, URLs,
 *                    identifiers, lists)
 *   config_check.c   rules across keys, secrets, certificate and key files
 *
 * Every problem is reported through adp__config_problem() with the file's
 * path and line; a secret's value is never part of a problem.
 */
#ifndef VAYLA_CONFIG_INTERNAL_H
#define VAYLA_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define SECTION_MAX   64
#define CALLER_PREFIX "caller."
/* Room for the entries of keys[] and sections[] in config.c (checked there
 * at compile time). */
#define KEYS_MAX      96u
#define SECTIONS_MAX  8u

enum key_type {
    KT_TEXT,       /* char *: 1..ADP_CONFIG_TEXT_MAX printable bytes */
    KT_PATH,       /* char *: resolved against the config directory */
    KT_BOOL,       /* bool */
    KT_LONG,       /* long within [min, max] */
    KT_SIZE,       /* size_t within [min, max] */
    KT_UINT,       /* unsigned within [min, max] */
    KT_CLIENT_ID,  /* struct xr_id: MEMBER or SUBSYSTEM */
    KT_SERVER_ID,  /* struct xr_id: SERVER */
    KT_SERVICE_ID, /* struct xr_id: SERVICE */
    KT_URL,        /* char *: http(s) URL to the security server */
    KT_SHA256,     /* uint8_t[32] from hex with optional ':' */
    KT_ENVNAME,    /* char *: environment variable name */
    KT_ADDRESS,    /* char *: IPv4 or IPv6 literal */
    KT_OCTAL,      /* unsigned file mode, octal, within [min, max] */
    KT_LOGLEVEL,   /* enum adp_log_level */
    KT_DOUBLE,     /* double within [min, max] */
    KT_SUBJECT,    /* char[ADP_CALLER_SUBJECT_MAX + 1] */
    KT_OPS,        /* unsigned enum adp_op bits, comma-separated names */
    KT_PRODUCTS,   /* caller products: comma-separated list */
    KT_SERVICES    /* caller services: comma-separated service ids; the
                      key may be repeated, each line adds */
};

enum key_scope {
    SC_CONFIG, /* offset into struct adp_config */
    SC_CALLER  /* offset into struct adp_caller ([caller.NAME]) */
};

#define NO_HAS ((size_t)-1)

struct key_def {
    const char *section; /* "caller" for every [caller.NAME] */
    const char *key;
    enum key_type type;
    enum key_scope scope;
    size_t offset;     /* of the value, in the scope's struct */
    size_t has_offset; /* of a bool set when the key is given, or NO_HAS */
    long long min, max;
    bool required;
};

/* Parse-time bookkeeping of one [caller.NAME] section. */
struct caller_lines {
    unsigned section;       /* line of the section header */
    unsigned key[KEYS_MAX]; /* by index into keys[]; 0 = not set */
};

struct parse_state {
    struct adp_config *cfg;
    const char *path;
    adp_config_problem_fn *problem;
    void *ctx;
    unsigned nproblems;
    bool oom;

    /* line reader over the whole text */
    const char *text;
    size_t pos, len;
    unsigned lineno;
    bool line_bad; /* current line already reported: ignore it */

    int cur_section; /* index into sections[], SEC_CALLER, -1 unknown */
    unsigned section_line[SECTIONS_MAX]; /* by index into sections[] */
    unsigned key_line[KEYS_MAX];         /* SC_CONFIG keys; 0 = not set */
    size_t cur_caller;           /* with SEC_CALLER: index into cfg->callers */
    struct caller_lines *clines; /* owned, parallel to cfg->callers */
};

/* ---- config.c ----------------------------------------------------------- */

/*
 * Report one problem: line 0 and key "" when not applicable. Counts it
 * and hands it to the caller's problem function.
 */
void adp__config_problem(struct parse_state *st, unsigned line, const char *key,
                         const char *fmt, ...) XR_PRINTF(4, 5);
/* Index of a [section] name in sections[], -1 when unknown. */
int adp__config_section_index(const char *name);
/* Index in keys[] of a key named in code (a literal: a miss is a bug). */
size_t adp__config_key_index(const char *section, const char *key);

/* ---- config_values.c ---------------------------------------------------- */

/* s holds a byte below 0x20 or DEL. */
bool adp__config_has_control(const char *s);
/* strdup(s); NULL and st->oom set when out of memory. */
char *adp__config_dup_or_oom(struct parse_state *st, const char *s);
/* Parse one value of key k into field (k's member of its scope's struct).
 * Returns false after reporting the problem. */
bool adp__config_parse_value(struct parse_state *st, const struct key_def *k,
                             const char *kname, const char *value, void *field);

/* ---- config_check.c ----------------------------------------------------- */

/* Rules that involve more than one key, then secrets and files. */
void adp__config_check_all(struct parse_state *st);

#endif

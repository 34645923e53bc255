/*
 * Audit checkpoints: the audit chain's head (chain id, sequence number,
 * row hash, retained rows, time) written outside the store, so that a
 * rewrite of the whole store with a correct chain, or a truncation of its
 * tail, shows up: `vayla audit verify --anchors` proves that the chain
 * still extends every checkpoint (docs/audit.md, "Checkpoints").
 *
 * One checkpoint is one line of text:
 *
 *   vayla-audit-checkpoint 1 chain=HEX32 seq=N hash=HEX64 rows=N
 *     time=2026-12-04T18:00:00.000Z[ sig=BASE64]
 *
 * (on one line). sig is an Ed25519 signature over everything before
 * " sig=", made with a key the store does not hold ([audit]
 * checkpoint_key); verify checks it with the public key. The daemon writes
 * a checkpoint to the operational log (journald field VAYLA_CHECKPOINT)
 * and appends it to [audit] checkpoint_file.
 */
#ifndef VAYLA_CHECKPOINT_H
#define VAYLA_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <xroad/error.h>

#include "audit.h"

#define ADP_CHECKPOINT_MARK     "vayla-audit-checkpoint 1 "
#define ADP_CHECKPOINT_LINE_MAX 512u
#define ADP_CHECKPOINT_FILE_MAX (64u * 1024u * 1024u) /* bytes read */
#define ADP_CHECKPOINTS_MAX     1000000u              /* checkpoints read */
#define ADP_CHECKPOINT_TAIL_MAX (64u * 1024u) /* bytes read at start-up */

struct adp_checkpoint {
    uint8_t chain_id[ADP_AUDIT_CHAIN_ID_LEN];
    struct adp_audit_anchor anchor; /* seq and row hash of the head */
    uint64_t rows;                  /* retained records then */
    int64_t time_ms;
    bool is_signed;
};

/*
 * The checkpoint line of cp (no line end), signed when key is not NULL.
 * Errors: XR_EINTERNAL (signing), XR_ELIMIT (does not fit).
 * Ownership: key borrowed; out caller storage (ADP_CHECKPOINT_LINE_MAX).
 * Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status adp_checkpoint_format(
    const struct adp_checkpoint *cp, EVP_PKEY *key, char *out, size_t size,
    struct xr_error *err);

/*
 * Parse the checkpoint in `line` (the mark may follow other text, such as
 * a log record's time). With pub, the line must be signed with its key.
 * Errors (XR_EPROTO unless noted): "not_checkpoint" (no mark),
 * "malformed_checkpoint", "unsigned_checkpoint", "bad_signature" (XR_ESIG).
 * Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status adp_checkpoint_parse(const char *line,
                                                 EVP_PKEY *pub,
                                                 struct adp_checkpoint *cp,
                                                 struct xr_error *err);

/*
 * Every checkpoint in `source`: a file (lines without the mark are
 * skipped; a marked line that does not parse is an error naming its
 * line), or "journal" (the journald records with VAYLA_CHECKPOINT).
 * At most ADP_CHECKPOINTS_MAX; the file at most ADP_CHECKPOINT_FILE_MAX.
 * Ownership: *out new (free()), *n entries. Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status adp_checkpoint_read(const char *source,
                                                EVP_PKEY *pub,
                                                struct adp_checkpoint **out,
                                                size_t *n,
                                                struct xr_error *err);

/*
 * The last checkpoint of the file at `path`: the last line with the mark
 * among the file's final ADP_CHECKPOINT_TAIL_MAX bytes (a line cut by the
 * window's start is not looked at). The daemon needs only that one at
 * start-up; reading and verifying the whole file (adp_checkpoint_read(),
 * `vayla audit verify --anchors`) would grow with every checkpoint ever
 * written and refuse a file past ADP_CHECKPOINT_FILE_MAX.
 * *found is false for a file without any checkpoint. Errors: XR_EIO (not
 * a readable regular file), "malformed_checkpoint" (a file larger than
 * the window with no checkpoint in it), and those of
 * adp_checkpoint_parse() for the last one. Thread-safety: reentrant.
 */
XR_NODISCARD enum xr_status adp_checkpoint_read_last(const char *path,
                                                     EVP_PKEY *pub,
                                                     struct adp_checkpoint *cp,
                                                     bool *found,
                                                     struct xr_error *err);

/*
 * Load an Ed25519 key from a PEM file: the private key (signing) or the
 * public key (verifying; a private key file also gives the public key).
 * Errors: XR_EIO, XR_EINVAL "not_ed25519".
 * Ownership: *out new (EVP_PKEY_free()).
 */
XR_NODISCARD enum xr_status adp_checkpoint_key_load(const char *path,
                                                    bool private_key,
                                                    EVP_PKEY **out,
                                                    struct xr_error *err);

/* Append one line and fsync: false with errno set on failure. */
bool adp_checkpoint_append(const char *path, const char *line);

#endif

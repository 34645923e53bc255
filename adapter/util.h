/*
 * Small adapter utilities: bounded file reading, secret wiping.
 */
#ifndef VAYLA_UTIL_H
#define VAYLA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509_vfy.h>
#include <xroad/error.h>

/*
 * Read a whole file (or "-" for stdin) of at most max_bytes into a new
 * NUL-terminated buffer (*out, free()). Errors: XR_EIO ("io_error", message
 * names the path and errno), XR_ELIMIT ("too_large").
 */
enum xr_status adp_file_read(const char *path, size_t max_bytes, uint8_t **out,
                             size_t *out_len, struct xr_error *err);

/*
 * Decode exactly n bytes written as 2n hex digits (either case), either
 * run together or as n colon-separated pairs ("AB:CD:..."). Returns false
 * on any other form (out is then unspecified).
 */
bool adp_hex_decode(const char *text, uint8_t *out, size_t n);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void adp_hex_encode(const uint8_t *p, size_t n, char *out);

/* CLOCK_MONOTONIC in microseconds / milliseconds. */
int64_t adp_mono_us(void);
/*
 * Name the calling thread (what top -H, ps -L and /proc/PID/task/TID/comm
 * show; at most 15 bytes are kept). Best effort: a failure is ignored.
 */
void adp_thread_name(const char *name);
int64_t adp_mono_ms(void);

/* Overwrite then free a secret buffer. Accepts NULL. */
void adp_secret_free(char *s);

/*
 * Add the CRLs of `path` (a PEM file, or a directory of PEM files named
 * by hash as `openssl rehash` makes them) to `store` and turn CRL checks
 * on for the whole chain. Returns 0, or -1 with the reason in why.
 * Ownership: store borrowed. Thread-safety: store not shared yet.
 */
int adp_tls_load_crl(X509_STORE *store, const char *path, char *why,
                     size_t why_size);

#endif

/*
 * Test PKI generated at run time with the OpenSSL API (no committed keys):
 * an EC P-256 CA, a server certificate for 127.0.0.1 / localhost, a second
 * server certificate whose only name is "other.invalid", a client
 * certificate (plain and passphrase-encrypted key) and an unrelated CA.
 * Everything is written as PEM into a fresh temporary directory.
 */
#ifndef VAYLA_TESTS_TLS_FIXTURE_H
#define VAYLA_TESTS_TLS_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define TLSFIX_PASSPHRASE "test-passphrase"

struct tlsfix {
    char dir[PATH_MAX];
    char ca[PATH_MAX];          /* CA certificate */
    char other_ca[PATH_MAX];    /* unrelated CA certificate */
    char server_cert[PATH_MAX]; /* SAN IP:127.0.0.1, DNS:localhost */
    char server_key[PATH_MAX];
    char server2_cert[PATH_MAX]; /* SAN DNS:other.invalid only */
    char server2_key[PATH_MAX];
    char client_cert[PATH_MAX]; /* CN vayla-client */
    char client_key[PATH_MAX];
    char client_key_enc[PATH_MAX]; /* AES-256 with TLSFIX_PASSPHRASE */
    char passphrase_file[PATH_MAX];
    uint8_t server_fp[32];  /* SHA-256 of server_cert DER */
    uint8_t server2_fp[32]; /* SHA-256 of server2_cert DER */
};

/* Create the directory and every file. Returns 0, or -1 with a message. */
int tlsfix_create(struct tlsfix *f);

/* Remove the files and the directory. */
void tlsfix_destroy(struct tlsfix *f);

/*
 * A server SSL_CTX with the given certificate and key. With
 * require_client_cert, clients must present a certificate issued by the
 * fixture CA. Ownership: new, SSL_CTX_free().
 */
SSL_CTX *tlsfix_server_ctx(const struct tlsfix *f, const char *cert,
                           const char *key, bool require_client_cert);

/* "AB:CD:..." form of a fingerprint into out (at least 96 bytes). */
void tlsfix_fp_hex(const uint8_t fp[32], char *out, size_t size);

#endif

/*
 * `vayla dev init DIR [--port-base N] [--force]`: a complete loopback
 * environment in one step (docs/simulator.md): a test CA, certificates for
 * the simulator and for the adapter, a VTJ test credential, an API token
 * for a `demo` caller, and vayla.conf + sim.conf pointing at each other.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cli.h"
#include "util.h"
#include "devcert.h"

#define DEV_PORT_BASE_DEFAULT 18440L
#define DEV_CLIENT            "SUBSYSTEM:FI-TEST/MUN/0101263-6/vayla-demo"
#define DEV_SERVICE           "FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1"
#define DEV_VTJ_USER          "vayla-demo"
#define DEV_ECHO              "FI-TEST/GOV/0245437-2/vayla-echo/echo/v1"
#define DEV_ECHO_ADMIN        "FI-TEST/GOV/0245437-2/vayla-echo/echoAdmin/v1"
#define DEV_SECURITY_SERVER   "SERVER:FI-TEST/MUN/0101263-6/vayla-sim"
#define DEV_INSTANCE          "FI-TEST"
#define DEV_CLIENT_MEMBER     "FI-TEST/MUN/0101263-6"
#define DEV_PROVIDER_MEMBER   "FI-TEST/GOV/0245437-2"
#define DEV_PATH_MAX          4096

static void dev_usage(FILE *out)
{
    fprintf(out,
            "usage: vayla dev init DIR [--port-base N] [--force]\n"
            "\n"
            "Writes a loopback test environment into DIR: a test CA,\n"
            "certificates for vayla-sim and for the adapter, a VTJ test\n"
            "password, an API token for the caller 'demo', vayla.conf and\n"
            "sim.conf. vayla-sim listens on N (HTTPS), N+1 (HTTP) and N+2\n"
            "(control); default N = %ld. DIR must be absent or empty unless\n"
            "--force is given.\n",
            DEV_PORT_BASE_DEFAULT);
}

/* 0 = absent or empty, 1 = has entries, -1 = error (errno). */
static int dir_state(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return errno == ENOENT ? 0 : -1;
    /* Bounded: we only need to know whether one entry exists. */
    while ((e = readdir(d)) != NULL && n == 0)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n = 1;
    closedir(d);
    return n;
}

static int join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, DEV_PATH_MAX, "%s/%s", dir, name);
    return (n < 0 || n >= DEV_PATH_MAX) ? -1 : 0;
}

/* Write a whole text file with exactly `mode`, replacing an old one. */
static int write_text(const char *dir, const char *name, mode_t mode,
                      const char *text)
{
    char path[DEV_PATH_MAX];
    size_t len = strlen(text);
    int fd;

    if (join(path, dir, name) != 0)
        return -1;
    if (unlink(path) != 0 && errno != ENOENT)
        goto fail;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        goto fail;
    if (fchmod(fd, mode) != 0) {
        close(fd);
        goto fail;
    }
    while (len > 0) {
        ssize_t w = write(fd, text, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            close(fd);
            goto fail;
        }
        text += w;
        len -= (size_t)w;
    }
    if (close(fd) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "vayla dev init: %s: %s\n", path, strerror(errno));
    return -1;
}

/* `len` random characters from a URL-safe alphabet. */
static int random_text(char *out, size_t len)
{
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
                                   "abcdefghijkmnopqrstuvwxyz23456789";
    unsigned char raw[64];

    if (len > sizeof(raw) || RAND_bytes(raw, (int)len) != 1)
        return -1;
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
    out[len] = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    out[0] = '\0';
    if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) == 1 && n == 32)
        adp_hex_encode(md, n, out);
}

/* mkdir -p with mode 0700 for the directories it creates. */
static int mkdir_parents(const char *dir)
{
    char path[DEV_PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, len + 1);
    /* Bounded by the path length. */
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        path[i] = saved;
    }
    return 0;
}

/*
 * The test PKI: one CA that signs the simulator's server certificate, the
 * adapter's SSLAUTH client certificate, the daemon's API server
 * certificate and the demo caller's client certificate (mTLS).
 */
static int make_certs(const char *dir, char *client_fp, char *caller_fp,
                      size_t fpsize)
{
    struct adp_devcert ca = {0}, srv = {0}, cli = {0}, api = {0}, call = {0};
    char cert[DEV_PATH_MAX], key[DEV_PATH_MAX];
    struct xr_error err;
    int rc = -1;

    xr_error_clear(&err);
    if (adp_devcert_make(ADP_DEVCERT_CA, "vayla dev CA", NULL, &ca, &err) !=
            XR_OK ||
        adp_devcert_make(ADP_DEVCERT_SERVER, "vayla-sim", &ca, &srv, &err) !=
            XR_OK ||
        adp_devcert_make(ADP_DEVCERT_CLIENT, "vayla-demo", &ca, &cli, &err) !=
            XR_OK ||
        adp_devcert_make(ADP_DEVCERT_SERVER, "vayla-api", &ca, &api, &err) !=
            XR_OK ||
        adp_devcert_make(ADP_DEVCERT_CLIENT, "demo-caller", &ca, &call, &err) !=
            XR_OK)
        goto out;
    if (join(cert, dir, "ca.pem") || join(key, dir, "ca.key") ||
        adp_devcert_write(&ca, cert, key, &err) != XR_OK)
        goto out;
    /* ss-ca.pem: the trust anchor vayla.conf names (here the same CA). */
    if (join(cert, dir, "ss-ca.pem") ||
        adp_devcert_write(&ca, cert, NULL, &err) != XR_OK)
        goto out;
    if (join(cert, dir, "sim.pem") || join(key, dir, "sim.key") ||
        adp_devcert_write(&srv, cert, key, &err) != XR_OK)
        goto out;
    if (join(cert, dir, "client.pem") || join(key, dir, "client.key") ||
        adp_devcert_write(&cli, cert, key, &err) != XR_OK)
        goto out;
    if (join(cert, dir, "api.pem") || join(key, dir, "api.key") ||
        adp_devcert_write(&api, cert, key, &err) != XR_OK)
        goto out;
    if (join(cert, dir, "caller.pem") || join(key, dir, "caller.key") ||
        adp_devcert_write(&call, cert, key, &err) != XR_OK)
        goto out;
    if (adp_devcert_fingerprint(cli.cert, client_fp, fpsize, &err) != XR_OK ||
        adp_devcert_fingerprint(call.cert, caller_fp, fpsize, &err) != XR_OK)
        goto out;
    /* Signs the audit checkpoints; verify --anchor-key takes the .pub. */
    if (join(key, dir, "checkpoint.key") || join(cert, dir, "checkpoint.pub") ||
        adp_devcert_write_ed25519(key, cert, &err) != XR_OK)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "vayla dev init: %s\n",
                err.msg[0] ? err.msg : "path too long");
    adp_devcert_cleanup(&ca);
    adp_devcert_cleanup(&srv);
    adp_devcert_cleanup(&cli);
    adp_devcert_cleanup(&api);
    adp_devcert_cleanup(&call);
    return rc;
}

/* Write one key pair as DIR/asic/NAME.pem + NAME.key. */
static int write_pair(const char *dir, const char *name,
                      const struct adp_devcert *dc, struct xr_error *err)
{
    char cert[DEV_PATH_MAX], key[DEV_PATH_MAX];
    int n = snprintf(cert, sizeof(cert), "%s/asic/%s.pem", dir, name);
    int m = snprintf(key, sizeof(key), "%s/asic/%s.key", dir, name);

    if (n < 0 || m < 0 || (size_t)n >= sizeof(cert) || (size_t)m >= sizeof(key))
        return -1;
    return adp_devcert_write(dc, cert, key, err) == XR_OK ? 0 : -1;
}

/*
 * The simulator's signed message log (DIR/asic/): a signing CA with its
 * OCSP responder and a time-stamping authority (what the simulator's
 * /verificationconf names) and the signing keys of the demo client and
 * the VTJ provider, with Finnish-profile certificates.
 */
static int make_asic_pki(const char *dir)
{
    struct adp_devcert ca = {0}, ocsp = {0}, tsa = {0}, cli = {0}, prov = {0};
    char sub[DEV_PATH_MAX];
    struct xr_error err;
    int rc = -1;

    xr_error_clear(&err);
    if (join(sub, dir, "asic") != 0 ||
        (mkdir(sub, 0700) != 0 && errno != EEXIST)) {
        fprintf(stderr, "vayla dev init: cannot create %s/asic\n", dir);
        return -1;
    }
    if (adp_devcert_make(ADP_DEVCERT_CA, "vayla dev signing CA", NULL, &ca,
                         &err) != XR_OK ||
        adp_devcert_make(ADP_DEVCERT_OCSP, "vayla dev OCSP", &ca, &ocsp,
                         &err) != XR_OK ||
        adp_devcert_make(ADP_DEVCERT_TSA, "vayla dev TSA", &ca, &tsa, &err) !=
            XR_OK ||
        adp_devcert_make(ADP_DEVCERT_SIGN, DEV_CLIENT_MEMBER, &ca, &cli,
                         &err) != XR_OK ||
        adp_devcert_make(ADP_DEVCERT_SIGN, DEV_PROVIDER_MEMBER, &ca, &prov,
                         &err) != XR_OK)
        goto out;
    if (write_pair(dir, "ca", &ca, &err) ||
        write_pair(dir, "ocsp", &ocsp, &err) ||
        write_pair(dir, "tsa", &tsa, &err) ||
        write_pair(dir, "sign-FI-TEST_MUN_0101263-6", &cli, &err) ||
        write_pair(dir, "sign-FI-TEST_GOV_0245437-2", &prov, &err))
        goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "vayla dev init: message-log PKI: %s\n",
                err.msg[0] ? err.msg : "path too long");
    adp_devcert_cleanup(&ca);
    adp_devcert_cleanup(&ocsp);
    adp_devcert_cleanup(&tsa);
    adp_devcert_cleanup(&cli);
    adp_devcert_cleanup(&prov);
    return rc;
}

static int write_configs(const char *dir, long base, const char *client_fp,
                         const char *caller_fp, const char *token_hash)
{
    char text[12288];
    int n;

    n = snprintf(
        text, sizeof(text),
        "; vayla.conf written by `vayla dev init` for a local vayla-sim.\n"
        "; Test environment only: every key and password here is "
        "throw-away.\n"
        "\n"
        "[xroad]\n"
        "client = " DEV_CLIENT "\n"
        "\n"
        "[security_server]\n"
        "url = https://127.0.0.1:%ld/\n"
        "ca_file = ss-ca.pem\n"
        "client_cert = client.pem\n"
        "client_key = client.key\n"
        "connect_timeout_ms = 5000\n"
        "timeout_ms = 120000\n"
        "max_response_bytes = 16777216\n"
        "allow_missing_request_hash = false\n"
        "\n"
        "[vtj]\n"
        "service = " DEV_SERVICE "\n"
        "username = " DEV_VTJ_USER "\n"
        "password_file = vtj-password\n"
        "product = PERUSSANOMA 3\n"
        "follow_passivated = true\n"
        "\n"
        "; Checkpoints of the audit chain: keep audit-checkpoints.log (or\n"
        "; the journal) off this host; verify with\n"
        "; vayla audit verify --anchors audit-checkpoints.log\n"
        ";                    --anchor-key checkpoint.pub\n"
        "[audit]\n"
        "path = audit.db\n"
        "retention_days = 1826\n"
        "checkpoint_file = audit-checkpoints.log\n"
        "checkpoint_key = checkpoint.key\n"
        "\n"
        "; vayla serve: TLS on 127.0.0.1:%ld (callers may present a client\n"
        "; certificate from ca.pem) and a UNIX socket in this directory\n"
        "; (plain HTTP: callers give their token or are known by uid).\n"
        "[listen]\n"
        "address = 127.0.0.1\n"
        "port = %ld\n"
        "unix_socket = vayla.sock\n"
        "unix_mode = 0600\n"
        "tls_cert = api.pem\n"
        "tls_key = api.key\n"
        "client_ca = ca.pem\n"
        "require_client_cert = false\n"
        "\n"
        "[api]\n"
        "threads = 0\n"
        "drain_timeout_ms = 30000\n"
        "log_level = info\n"
        "\n"
        "; API caller 'demo': the bearer token is in the file 'token' (only\n"
        "; its SHA-256 is here); the client certificate is caller.pem; on\n"
        "; the UNIX socket the user who ran dev init (uid %u). Addresses of\n"
        "; protected persons are removed (redact_protected_addresses).\n"
        "[caller.demo]\n"
        "token_sha256 = %s\n"
        "cert_sha256 = %s\n"
        "unix_uid = %u\n"
        "; VTJ person queries, and the generic SOAP path\n"
        "; (POST /v1/xroad/soap/SERVICE) to the simulator's echo service;\n"
        "; its echoAdmin is not listed, so the caller gets 403 there.\n"
        "allow = vtj_person, xroad_soap\n"
        "services = " DEV_ECHO "\n"
        "\n"
        "; `vayla audit reconcile` asks the owner of this security server\n"
        "; for its operational data: give it with --security-server\n"
        "; " DEV_SECURITY_SERVER "\n",
        base, base + 3, base + 3, (unsigned)geteuid(), token_hash, caller_fp,
        (unsigned)geteuid());
    if (n < 0 || (size_t)n >= sizeof(text) ||
        write_text(dir, "vayla.conf", 0600, text) != 0)
        return -1;

    n = snprintf(
        text, sizeof(text),
        "; sim.conf written by `vayla dev init` (docs/simulator.md).\n"
        "\n"
        "[sim]\n"
        "listen = 127.0.0.1\n"
        "https_port = %ld\n"
        "http_port = %ld\n"
        "control_port = %ld\n"
        "cert = sim.pem\n"
        "key = sim.key\n"
        "error_style = camel\n"
        "message_log = messagelog\n"
        "fault = none\n"
        "; dataset = persons.json   ; default: the built-in test persons\n"
        "; The security server and its owner (operational monitoring);\n"
        "; records are served at once (X-Road holds back the last 60 s).\n"
        "security_server = " DEV_SECURITY_SERVER "\n"
        "opmon_offset_seconds = 0\n"
        "\n"
        "[client.demo]\n"
        "id = " DEV_CLIENT "\n"
        "connection = SSLAUTH\n"
        "cert_sha256 = %s\n"
        "\n"
        "[service.vtj]\n"
        "type = vtj\n"
        "id = SERVICE:" DEV_SERVICE "\n"
        "allow = " DEV_CLIENT "\n"
        "\n"
        "; A second, non-VTJ service: echoes its input and attachments\n"
        "; (docs/simulator.md); echoAdmin is listed but not allowed.\n"
        "[service.echo]\n"
        "type = echo\n"
        "id = SERVICE:" DEV_ECHO "\n"
        "allow = " DEV_CLIENT "\n"
        "\n"
        "[service.echo-admin]\n"
        "type = echo\n"
        "id = SERVICE:" DEV_ECHO_ADMIN "\n"
        "\n"
        "; Global configuration for listClients.\n"
        "[member.dvv]\n"
        "id = MEMBER:FI-TEST/GOV/0245437-2\n"
        "name = Digi- ja v\xc3\xa4"
        "est\xc3\xb6tietovirasto\n"
        "\n"
        "[member.vtj]\n"
        "id = SUBSYSTEM:FI-TEST/GOV/0245437-2/VTJkysely\n"
        "subsystem_name = VTJkysely\n"
        "\n"
        "[member.echo]\n"
        "id = SUBSYSTEM:FI-TEST/GOV/0245437-2/vayla-echo\n"
        "subsystem_name = Echo service (vayla-sim)\n"
        "\n"
        "[member.org]\n"
        "id = MEMBER:FI-TEST/MUN/0101263-6\n"
        "name = Demo municipality\n"
        "\n"
        "[member.demo]\n"
        "id = " DEV_CLIENT "\n"
        "subsystem_name = vayla demo\n"
        "\n"
        "[vtj]\n"
        "username = " DEV_VTJ_USER "\n"
        "password_file = vtj-password\n"
        "\n"
        "; Signed message log: containers at GET /asic, trust material at\n"
        "; GET /verificationconf (docs/simulator.md, docs/verify.md).\n"
        "[asic]\n"
        "pki = asic\n"
        "instance = " DEV_INSTANCE "\n"
        "timestamping = batch\n"
        "batch_interval_ms = 1000\n"
        "body_logging = true\n",
        base, base + 1, base + 2, client_fp);
    if (n < 0 || (size_t)n >= sizeof(text) ||
        write_text(dir, "sim.conf", 0600, text) != 0)
        return -1;
    return 0;
}

static int dev_init(const char *dir, long base, bool force)
{
    char client_fp[96], caller_fp[96], password[33], token[65];
    char token_hash[65];
    char line[80];
    int state, rc = ADP_EXIT_USAGE;

    state = dir_state(dir);
    if (state < 0) {
        fprintf(stderr, "vayla dev init: %s: %s\n", dir, strerror(errno));
        return ADP_EXIT_USAGE;
    }
    if (state > 0 && !force) {
        fprintf(stderr,
                "vayla dev init: %s is not empty; use --force to overwrite\n",
                dir);
        return ADP_EXIT_USAGE;
    }
    if (mkdir_parents(dir) != 0) {
        fprintf(stderr, "vayla dev init: cannot create %s: %s\n", dir,
                strerror(errno));
        return ADP_EXIT_USAGE;
    }
    if (make_certs(dir, client_fp, caller_fp, sizeof(client_fp)) != 0 ||
        make_asic_pki(dir) != 0)
        goto out;
    if (random_text(password, 32) != 0 || random_text(token, 64) != 0) {
        fprintf(stderr, "vayla dev init: no randomness\n");
        goto out;
    }
    snprintf(line, sizeof(line), "%s\n", password);
    if (write_text(dir, "vtj-password", 0600, line) != 0)
        goto out;
    snprintf(line, sizeof(line), "%s\n", token);
    if (write_text(dir, "token", 0600, line) != 0)
        goto out;
    sha256_hex(token, token_hash);
    if (write_configs(dir, base, client_fp, caller_fp, token_hash) != 0)
        goto out;

    printf("vayla dev environment written to %s\n"
           "  simulator:  vayla-sim -c %s/sim.conf\n"
           "              (https %ld, http %ld, control 127.0.0.1:%ld)\n"
           "  adapter:    vayla query person 150380-903V --user-id demo-user "
           "--issue demo -c %s/vayla.conf\n"
           "  metadata:   vayla meta allowed-methods "
           "FI-TEST/GOV/0245437-2/vayla-echo -c %s/vayla.conf\n"
           "  daemon:     vayla serve -c %s/vayla.conf\n"
           "              (https://127.0.0.1:%ld/, %s/vayla.sock)\n"
           "  client certificate SHA-256: %s\n"
           "API token for caller 'demo' (also in %s/token):\n%s\n",
           dir, dir, base, base + 1, base + 2, dir, dir, dir, base + 3, dir,
           client_fp, dir, token);
    rc = ADP_EXIT_OK;
out:
    OPENSSL_cleanse(password, sizeof(password));
    OPENSSL_cleanse(token, sizeof(token));
    OPENSSL_cleanse(line, sizeof(line));
    return rc;
}

int cli_dev(int argc, char **argv)
{
    const char *dir = NULL;
    long base = DEV_PORT_BASE_DEFAULT;
    bool force = false;
    char *end;

    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        dev_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? ADP_EXIT_USAGE : ADP_EXIT_OK;
    }
    if (strcmp(argv[1], "init") != 0) {
        fprintf(stderr, "vayla dev: unknown subcommand '%s'\n", argv[1]);
        dev_usage(stderr);
        return ADP_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            dev_usage(stdout);
            return ADP_EXIT_OK;
        } else if (!strcmp(argv[i], "--force")) {
            force = true;
        } else if (!strcmp(argv[i], "--port-base") && i + 1 < argc) {
            errno = 0;
            base = strtol(argv[++i], &end, 10);
            if (errno || *end || base < 1024 || base > 65532) {
                fprintf(stderr,
                        "vayla dev init: --port-base must be 1024..65532\n");
                return ADP_EXIT_USAGE;
            }
        } else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "vayla dev init: unexpected argument '%s'\n",
                    argv[i]);
            dev_usage(stderr);
            return ADP_EXIT_USAGE;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        dev_usage(stderr);
        return ADP_EXIT_USAGE;
    }
    return dev_init(dir, base, force);
}

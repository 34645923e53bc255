/*
 * The verification configuration: what GET /verificationconf returns
 * (instance-identifier plus <INSTANCE>/shared-params.xml per instance),
 * from a folder or from the ZIP itself. Only the elements verification
 * needs are read: approvedCA (top and intermediate CA certificates, their
 * OCSP responder certificates, authenticationOnly, certificateProfileInfo),
 * approvedTSA certificates and globalSettings/ocspFreshnessSeconds.
 * Certificates are base64 of DER or of PEM text (X-Road accepts both).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vconf.h"
#include "vutil.h"
#include "zip.h"

#define CONF_REASON  "invalid_verification_conf"
#define DIR_SCAN_MAX 1024 /* directory entries looked at */

void xr__vinst_free(struct xr__vinst *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->ncas; i++) {
        X509_free(in->cas[i].cert);
        for (size_t k = 0; k < in->cas[i].nocsp; k++)
            X509_free(in->cas[i].ocsp[k]);
    }
    for (size_t i = 0; i < in->ntsas; i++)
        X509_free(in->tsas[i]);
    free(in);
}

void xr_vconf_free(struct xr_vconf *vc)
{
    if (!vc)
        return;
    for (size_t i = 0; i < vc->ninst; i++)
        xr__vinst_free(vc->inst[i]);
    free(vc);
}

const char *xr_vconf_instance(const struct xr_vconf *vc)
{
    return vc ? vc->own : "";
}

const struct xr__vinst *xr__vconf_find(const struct xr_vconf *vc,
                                       const char *name)
{
    for (size_t i = 0; i < vc->ninst; i++)
        if (!strcmp(vc->inst[i]->name, name))
            return vc->inst[i];
    return NULL;
}

const struct xr__vca *xr__vconf_issuer(const struct xr__vinst *inst, X509 *cert)
{
    for (size_t i = 0; i < inst->ncas; i++) {
        const struct xr__vca *ca = &inst->cas[i];
        EVP_PKEY *key;
        int ok;

        if (X509_NAME_cmp(X509_get_subject_name(ca->cert),
                          X509_get_issuer_name(cert)) != 0)
            continue;
        key = X509_get0_pubkey(ca->cert);
        ok = key && X509_verify(cert, key) == 1;
        ERR_clear_error();
        if (ok)
            return ca;
    }
    return NULL;
}

/* Element children are matched by local name: shared-params.xml puts
 * them in no namespace, under a namespaced root. */
static bool is_named(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && !strcmp(xr__cs(n->name), name);
}

static enum xr_status read_cert(const xmlNode *n, const char *file,
                                const char *what, X509 **out,
                                struct xr_error *err)
{
    uint8_t *der = NULL;
    size_t len = 0;
    enum xr_status rc;

    *out = NULL;
    rc = xr__node_b64(n, &der, &len, what, CONF_REASON, err);
    if (rc != XR_OK)
        return rc;
    *out = xr__cert_parse(der, len);
    free(der);
    ERR_clear_error();
    if (!*out)
        return xr_error_set(err, XR_EPARSE, CONF_REASON, "",
                            "%s: %s is not a certificate (DER or PEM)", file,
                            what);
    return XR_OK;
}

/* topCA or intermediateCA: cert + ocsp* {url, cert?}. */
static enum xr_status read_ca(const xmlNode *n, const char *file, bool top,
                              bool auth_only, enum xr__profile profile,
                              struct xr__vinst *in, struct xr_error *err)
{
    struct xr__vca *ca;
    enum xr_status rc;

    if (in->ncas == XR__VCONF_MAX_CAS)
        return xr_error_set(err, XR_ELIMIT, "too_large", "",
                            "%s: more than %d approved CA certificates", file,
                            XR__VCONF_MAX_CAS);
    ca = &in->cas[in->ncas];
    memset(ca, 0, sizeof(*ca));
    ca->top = top;
    ca->auth_only = auth_only;
    ca->profile = profile;
    for (xmlNodePtr c = xr__xml_first_elem(n); c; c = xr__xml_next_elem(c)) {
        if (is_named(c, "cert")) {
            if (ca->cert)
                return xr_error_set(err, XR_EPROTO, CONF_REASON, "",
                                    "%s: a CA with two certificates", file);
            rc = read_cert(c, file, "approvedCA certificate", &ca->cert, err);
            if (rc != XR_OK)
                goto fail;
        } else if (is_named(c, "ocsp")) {
            for (xmlNodePtr o = xr__xml_first_elem(c); o;
                 o = xr__xml_next_elem(o)) {
                if (!is_named(o, "cert"))
                    continue;
                if (ca->nocsp == XR__VCONF_MAX_OCSP) {
                    rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                                      "%s: more than %d OCSP responders for "
                                      "one CA",
                                      file, XR__VCONF_MAX_OCSP);
                    goto fail;
                }
                rc = read_cert(o, file, "OCSP responder certificate",
                               &ca->ocsp[ca->nocsp], err);
                if (rc != XR_OK)
                    goto fail;
                ca->nocsp++;
            }
        }
    }
    if (!ca->cert) {
        rc = xr_error_set(err, XR_EPROTO, CONF_REASON, "",
                          "%s: an approved CA without a certificate", file);
        goto fail;
    }
    in->ncas++;
    return XR_OK;
fail:
    X509_free(ca->cert);
    for (size_t k = 0; k < ca->nocsp; k++)
        X509_free(ca->ocsp[k]);
    memset(ca, 0, sizeof(*ca));
    return rc;
}

static enum xr_status read_approved_ca(const xmlNode *n, const char *file,
                                       struct xr__vinst *in,
                                       struct xr_error *err)
{
    bool auth_only = false;
    enum xr__profile profile = XR__PROFILE_GENERIC;
    char text[256];
    enum xr_status rc;

    /* Settings first: they apply to every certificate of this CA. */
    for (xmlNodePtr c = xr__xml_first_elem(n); c; c = xr__xml_next_elem(c)) {
        if (is_named(c, "authenticationOnly")) {
            rc = xr__xml_text(c, text, sizeof(text), "authenticationOnly", err);
            if (rc != XR_OK)
                return rc;
            auth_only = !strcmp(text, "true") || !strcmp(text, "1");
        } else if (is_named(c, "certificateProfileInfo")) {
            rc = xr__xml_text(c, text, sizeof(text), "certificateProfileInfo",
                              err);
            if (rc != XR_OK)
                return rc;
            if (strstr(text, "FiVRKCertificateProfileInfoProvider"))
                profile = XR__PROFILE_FI;
        }
    }
    for (xmlNodePtr c = xr__xml_first_elem(n); c; c = xr__xml_next_elem(c)) {
        if (is_named(c, "topCA"))
            rc = read_ca(c, file, true, auth_only, profile, in, err);
        else if (is_named(c, "intermediateCA"))
            rc = read_ca(c, file, false, auth_only, profile, in, err);
        else
            continue;
        if (rc != XR_OK)
            return rc;
    }
    return XR_OK;
}

static enum xr_status read_tsa(const xmlNode *n, const char *file,
                               struct xr__vinst *in, struct xr_error *err)
{
    for (xmlNodePtr c = xr__xml_first_elem(n); c; c = xr__xml_next_elem(c)) {
        enum xr_status rc;
        if (!is_named(c, "cert"))
            continue;
        if (in->ntsas == XR__VCONF_MAX_TSAS)
            return xr_error_set(err, XR_ELIMIT, "too_large", "",
                                "%s: more than %d approved TSAs", file,
                                XR__VCONF_MAX_TSAS);
        rc = read_cert(c, file, "approvedTSA certificate", &in->tsas[in->ntsas],
                       err);
        if (rc != XR_OK)
            return rc;
        in->ntsas++;
    }
    return XR_OK;
}

static enum xr_status read_settings(const xmlNode *n, const char *file,
                                    struct xr__vinst *in, struct xr_error *err)
{
    char text[32];

    for (xmlNodePtr c = xr__xml_first_elem(n); c; c = xr__xml_next_elem(c)) {
        char *end = NULL;
        long v;
        if (!is_named(c, "ocspFreshnessSeconds"))
            continue;
        if (xr__xml_text(c, text, sizeof(text), "ocspFreshnessSeconds", NULL) !=
            XR_OK)
            text[0] = '\0';
        errno = 0;
        v = strtol(text, &end, 10);
        if (!text[0] || errno || !end || *end || v < 0 || v > 100000000L)
            return xr_error_set(err, XR_EPROTO, CONF_REASON, "",
                                "%s: ocspFreshnessSeconds is not a number of "
                                "seconds",
                                file);
        in->ocsp_freshness_s = v;
    }
    return XR_OK;
}

static enum xr_status parse_tree(xmlNodePtr root, const char *file,
                                 struct xr__vinst *in, struct xr_error *err)
{
    enum xr_status rc = XR_OK;

    if (!is_named(root, "conf"))
        return xr_error_set(err, XR_EPROTO, CONF_REASON, "",
                            "%s: root element is not <conf>", file);
    for (xmlNodePtr c = xr__xml_first_elem(root); c; c = xr__xml_next_elem(c)) {
        if (is_named(c, "instanceIdentifier")) {
            rc = xr__xml_text(c, in->name, sizeof(in->name),
                              "instanceIdentifier", err);
            if (rc == XR_OK && !xr_id_part_is_valid(in->name))
                rc = xr_error_set(err, XR_EPROTO, CONF_REASON, "",
                                  "%s: invalid instanceIdentifier", file);
        } else if (is_named(c, "approvedCA")) {
            rc = read_approved_ca(c, file, in, err);
        } else if (is_named(c, "approvedTSA")) {
            rc = read_tsa(c, file, in, err);
        } else if (is_named(c, "globalSettings")) {
            rc = read_settings(c, file, in, err);
        }
        if (rc != XR_OK)
            return rc;
    }
    return XR_OK;
}

enum xr_status xr__vconf_parse_params(const uint8_t *buf, size_t len,
                                      const char *file, struct xr__vinst **out,
                                      struct xr_error *err)
{
    struct xr_limits lim = {.max_bytes = XR__VCONF_FILE_MAX,
                            .max_nodes = 2000000u};
    xmlDocPtr doc = NULL;
    struct xr__vinst *in = NULL;
    enum xr_status rc;

    *out = NULL;
    rc = xr__xml_parse(buf, len, NULL, &lim, XR__XML_READONLY, &doc, err);
    if (rc != XR_OK) {
        /* Keep the parser's code for size; name the file otherwise. */
        if (rc != XR_ELIMIT && rc != XR_ENOMEM && err) {
            char msg[XR_ERRMSG_MAX];
            xr__strlcpy(msg, err->msg, sizeof(msg));
            rc = xr_error_set(err, rc, CONF_REASON, "", "%s: %s", file, msg);
        }
        goto out;
    }
    in = calloc(1, sizeof(*in));
    if (!in) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    in->ocsp_freshness_s = -1;
    rc = parse_tree(xmlDocGetRootElement(doc), file, in, err);
    if (rc != XR_OK)
        goto out;
    *out = in;
    in = NULL;
out:
    xr__vinst_free(in);
    xmlFreeDoc(doc);
    return rc;
}

/* Trimmed instance-identifier text into out. */
static enum xr_status read_identifier(const uint8_t *p, size_t len, char *out,
                                      size_t size, struct xr_error *err)
{
    size_t b = 0, e = len;

    while (b < e &&
           (p[b] == ' ' || p[b] == '\t' || p[b] == '\r' || p[b] == '\n'))
        b++;
    while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\r' ||
                     p[e - 1] == '\n'))
        e--;
    if (e - b == 0 || e - b >= size)
        return xr_error_set(err, XR_EPROTO, CONF_REASON, "",
                            "instance-identifier is empty or too long");
    memcpy(out, p + b, e - b);
    out[e - b] = '\0';
    if (!xr_id_part_is_valid(out))
        return xr_error_set(err, XR_EPROTO, CONF_REASON, "",
                            "instance-identifier is not a valid instance");
    return XR_OK;
}

/* Add a parsed instance named `dirname`; takes *in. */
static enum xr_status add_instance(struct xr_vconf *vc, const char *dirname,
                                   struct xr__vinst **in, struct xr_error *err)
{
    if ((*in)->name[0] && strcmp((*in)->name, dirname) != 0)
        return xr_error_set(err, XR_EPROTO, CONF_REASON, "",
                            "%s/shared-params.xml names instance %s", dirname,
                            (*in)->name);
    xr__strlcpy((*in)->name, dirname, sizeof((*in)->name));
    if (xr__vconf_find(vc, dirname))
        return xr_error_set(err, XR_EPROTO, CONF_REASON, "",
                            "instance %s appears twice", dirname);
    if (vc->ninst == XR__VCONF_MAX_INSTANCES)
        return xr_error_set(err, XR_ELIMIT, "too_large", "",
                            "more than %d instances", XR__VCONF_MAX_INSTANCES);
    vc->inst[vc->ninst++] = *in;
    *in = NULL;
    return XR_OK;
}

static enum xr_status finish(struct xr_vconf *vc, struct xr_error *err)
{
    if (!xr__vconf_find(vc, vc->own))
        return xr_error_set(err, XR_EPROTO, CONF_REASON, "",
                            "no shared-params.xml for the own instance %s",
                            vc->own);
    return XR_OK;
}

/* Read a whole file of at most `max` bytes (new buffer, NUL-terminated). */
static enum xr_status read_file(const char *path, size_t max, uint8_t **out,
                                size_t *len, struct xr_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    uint8_t *buf = NULL;
    size_t n = 0;
    enum xr_status rc;

    *out = NULL;
    *len = 0;
    if (fd < 0) {
        rc = xr_error_set(err, XR_EIO, "io_error", "", "%s: %s", path,
                          strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = xr_error_set(err, XR_EIO, "io_error", "", "%s: not a regular file",
                          path);
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                          "%s: larger than %zu bytes", path, max);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = xr_error_set(err, XR_EIO, "io_error", "", "%s: read failed",
                              path);
            goto out;
        }
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    rc = XR_OK;
out:
    if (err && rc == XR_EIO)
        err->sys_errno = errno;
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

static enum xr_status load_instance_dir(struct xr_vconf *vc, const char *dir,
                                        const char *name, struct xr_error *err)
{
    char path[4096], file[XR_ID_PART_MAX + 32];
    uint8_t *buf = NULL;
    size_t len = 0;
    struct xr__vinst *in = NULL;
    enum xr_status rc;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s/shared-params.xml", dir,
                         name) >= sizeof(path))
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "path too long");
    if (access(path, F_OK) != 0)
        return XR_OK; /* not an instance directory */
    rc = read_file(path, XR__VCONF_FILE_MAX, &buf, &len, err);
    if (rc != XR_OK)
        goto out;
    snprintf(file, sizeof(file), "%s/shared-params.xml", name);
    rc = xr__vconf_parse_params(buf, len, file, &in, err);
    if (rc != XR_OK)
        goto out;
    rc = add_instance(vc, name, &in, err);
out:
    xr__vinst_free(in);
    free(buf);
    return rc;
}

enum xr_status xr_vconf_load_dir(const char *dir, struct xr_vconf **out,
                                 struct xr_error *err)
{
    struct xr_vconf *vc = NULL;
    char path[4096], base[4096];
    uint8_t *buf = NULL;
    size_t len = 0, seen = 0;
    DIR *d = NULL;
    struct dirent *de;
    enum xr_status rc;

    if (out)
        *out = NULL;
    if (!dir || !out)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "no directory given");
    /* Accept the folder that holds verificationconf/ too. */
    if (strlen(dir) + 32 >= sizeof(base))
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "directory name too long");
    snprintf(base, sizeof(base), "%s/verificationconf", dir);
    if (access(base, F_OK) != 0)
        xr__strlcpy(base, dir, sizeof(base));
    vc = calloc(1, sizeof(*vc));
    if (!vc) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/instance-identifier", base) >=
        sizeof(path)) {
        rc = xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                          "directory name too long");
        goto out;
    }
    rc = read_file(path, 4096, &buf, &len, err);
    if (rc != XR_OK)
        goto out;
    rc = read_identifier(buf, len, vc->own, sizeof(vc->own), err);
    if (rc != XR_OK)
        goto out;
    d = opendir(base);
    if (!d) {
        rc = xr_error_set(err, XR_EIO, "io_error", "", "%s: %s", base,
                          strerror(errno));
        goto out;
    }
    while ((de = readdir(d)) != NULL) {
        if (++seen > DIR_SCAN_MAX) {
            rc = xr_error_set(err, XR_ELIMIT, "too_large", "",
                              "%s: more than %d entries", base, DIR_SCAN_MAX);
            goto out;
        }
        if (de->d_name[0] == '.' || !xr_id_part_is_valid(de->d_name))
            continue;
        rc = load_instance_dir(vc, base, de->d_name, err);
        if (rc != XR_OK)
            goto out;
    }
    rc = finish(vc, err);
    if (rc != XR_OK)
        goto out;
    *out = vc;
    vc = NULL;
out:
    if (d)
        closedir(d);
    free(buf);
    xr_vconf_free(vc);
    return rc;
}

/* "verificationconf/X" or "X" -> "X"; NULL for other folders. */
static const char *strip_prefix(const char *name)
{
    static const char pfx[] = "verificationconf/";

    if (!strncmp(name, pfx, sizeof(pfx) - 1))
        return name + sizeof(pfx) - 1;
    return name;
}

enum xr_status xr_vconf_load_zip(const uint8_t *buf, size_t len,
                                 struct xr_vconf **out, struct xr_error *err)
{
    struct xr_zip_limits lim = {.max_entries = 4 * XR__VCONF_MAX_INSTANCES + 8,
                                .max_entry_bytes = XR__VCONF_FILE_MAX};
    struct xr__zip z = {0};
    struct xr_vconf *vc = NULL;
    struct xr__vinst *in = NULL;
    bool have_id = false;
    enum xr_status rc;

    if (out)
        *out = NULL;
    if (!buf || !out)
        return xr_error_set(err, XR_EINVAL, "invalid_argument", "",
                            "no ZIP given");
    rc = xr__zip_read(buf, len, &lim, &z, err);
    if (rc != XR_OK)
        goto out;
    vc = calloc(1, sizeof(*vc));
    if (!vc) {
        rc = xr_error_set(err, XR_ENOMEM, "out_of_memory", "", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < z.n; i++) {
        const char *name = strip_prefix(z.e[i].name);
        if (!z.e[i].is_dir && !strcmp(name, "instance-identifier")) {
            rc = read_identifier(z.e[i].data, z.e[i].len, vc->own,
                                 sizeof(vc->own), err);
            if (rc != XR_OK)
                goto out;
            have_id = true;
        }
    }
    if (!have_id) {
        rc = xr_error_set(err, XR_EPROTO, CONF_REASON, "",
                          "the ZIP has no instance-identifier");
        goto out;
    }
    for (size_t i = 0; i < z.n; i++) {
        const char *name = strip_prefix(z.e[i].name);
        const char *slash = strchr(name, '/');
        char inst[XR_ID_PART_MAX + 1];
        if (z.e[i].is_dir || !slash || strcmp(slash, "/shared-params.xml") ||
            (size_t)(slash - name) >= sizeof(inst))
            continue;
        memcpy(inst, name, (size_t)(slash - name));
        inst[slash - name] = '\0';
        if (!xr_id_part_is_valid(inst))
            continue;
        rc = xr__vconf_parse_params(z.e[i].data, z.e[i].len, name, &in, err);
        if (rc != XR_OK)
            goto out;
        rc = add_instance(vc, inst, &in, err);
        if (rc != XR_OK)
            goto out;
    }
    rc = finish(vc, err);
    if (rc != XR_OK)
        goto out;
    *out = vc;
    vc = NULL;
out:
    xr__vinst_free(in);
    xr_vconf_free(vc);
    xr__zip_free(&z);
    return rc;
}

/* webtls: configured or self-signed HTTPS certificate; see webtls.h. */
#include "common/webtls.h"

#include <arpa/inet.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define WEBTLS_YEARS 10

/* Reads a PEM file into a NUL-terminated malloc'd string. */
static int
webtls_read(const char *path, char **out, rz_error *err)
{
    char *buf = xmalloc(WEBTLS_PEM_MAX + 1);
    size_t len = 0;
    int rc = file_read_small(path, buf, WEBTLS_PEM_MAX, &len, err);
    if (rc != 0) {
        free(buf);
        return rz_fail(err, RZ_E_CONFIG, "%s: cannot read (%s)", path, err ? err->text : "");
    }
    buf[len] = '\0';
    if (!strstr(buf, "-----BEGIN ")) {
        sodium_memzero(buf, len);
        free(buf);
        return rz_fail(err, RZ_E_CONFIG, "%s: not a PEM file", path);
    }
    *out = buf;
    return 0;
}

/* Fingerprint of the first certificate of pem; checks that key_pem is its
 * key. */
static int
webtls_inspect(webtls_cert *c, const char *what, rz_error *err)
{
    gnutls_x509_crt_t crt = NULL;
    gnutls_x509_privkey_t key = NULL;
    gnutls_datum_t d;
    unsigned char fpr[32], kid1[64], kid2[64];
    size_t flen = sizeof fpr, l1 = sizeof kid1, l2 = sizeof kid2, i;
    int rc = 0;

    if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_privkey_init(&key) < 0) {
        rc = rz_fail(err, RZ_E_NOMEM, "gnutls: out of memory");
        goto out;
    }
    d.data = (unsigned char *)c->cert_pem;
    d.size = (unsigned)strlen(c->cert_pem);
    if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0 ||
        gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fpr, &flen) < 0 || flen != 32) {
        rc = rz_fail(err, RZ_E_CONFIG, "%s: the certificate cannot be read", what);
        goto out;
    }
    d.data = (unsigned char *)c->key_pem;
    d.size = (unsigned)strlen(c->key_pem);
    if (gnutls_x509_privkey_import(key, &d, GNUTLS_X509_FMT_PEM) < 0) {
        rc = rz_fail(err, RZ_E_CONFIG, "%s: the private key cannot be read", what);
        goto out;
    }
    if (gnutls_x509_crt_get_key_id(crt, 0, kid1, &l1) < 0 ||
        gnutls_x509_privkey_get_key_id(key, 0, kid2, &l2) < 0 || l1 != l2 ||
        memcmp(kid1, kid2, l1) != 0) {
        rc = rz_fail(err, RZ_E_CONFIG, "%s: the private key does not belong to the certificate",
                     what);
        goto out;
    }
    for (i = 0; i < 32; i++)
        snprintf(c->fingerprint + 3 * i, 4, "%02X%s", fpr[i], i < 31 ? ":" : "");
out:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (key)
        gnutls_x509_privkey_deinit(key);
    return rc;
}

/* Makes a self-signed certificate into c (PEM texts). */
static int
webtls_make(webtls_cert *c, const char *cn, const char *const *names, rz_error *err)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
    unsigned char serial[16];
    time_t now = time(NULL);
    int rc = 0, n;

    if (gnutls_x509_privkey_init(&key) < 0 || gnutls_x509_crt_init(&crt) < 0) {
        rc = rz_fail(err, RZ_E_NOMEM, "gnutls: out of memory");
        goto out;
    }
    randombytes_buf(serial, sizeof serial);
    serial[0] &= 0x7f; /* a positive serial number */
    if (gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
        gnutls_x509_crt_set_version(crt, 3) < 0 ||
        gnutls_x509_crt_set_serial(crt, serial, sizeof serial) < 0 ||
        gnutls_x509_crt_set_activation_time(crt, now - 24 * 3600) < 0 ||
        gnutls_x509_crt_set_expiration_time(crt, now + (time_t)WEBTLS_YEARS * 365 * 24 * 3600) <
            0 ||
        gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                      (unsigned)strlen(cn)) < 0 ||
        gnutls_x509_crt_set_key(crt, key) < 0 ||
        gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
        gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
        gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0) {
        rc = rz_fail(err, RZ_E_INTERNAL, "gnutls: cannot build the certificate");
        goto out;
    }
    for (n = 0; names && names[n] && n < WEBTLS_NAMES_MAX; n++) {
        unsigned char ip[16];
        int r;
        if (inet_pton(AF_INET, names[n], ip) == 1)
            r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
                                                     GNUTLS_FSAN_APPEND);
        else if (inet_pton(AF_INET6, names[n], ip) == 1)
            r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16,
                                                     GNUTLS_FSAN_APPEND);
        else
            r = gnutls_x509_crt_set_subject_alt_name(
                crt, GNUTLS_SAN_DNSNAME, names[n], (unsigned)strlen(names[n]), GNUTLS_FSAN_APPEND);
        if (r < 0) {
            rc = rz_fail(err, RZ_E_ARG, "certificate: bad name '%.60s'", names[n]);
            goto out;
        }
    }
    if (gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0 ||
        gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cd) < 0 ||
        gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kd) < 0) {
        rc = rz_fail(err, RZ_E_INTERNAL, "gnutls: cannot sign or export the certificate");
        goto out;
    }
    c->cert_pem = xmalloc(cd.size + 1);
    memcpy(c->cert_pem, cd.data, cd.size);
    c->cert_pem[cd.size] = '\0';
    c->key_pem = xmalloc(kd.size + 1);
    memcpy(c->key_pem, kd.data, kd.size);
    c->key_pem[kd.size] = '\0';
out:
    if (kd.data) {
        sodium_memzero(kd.data, kd.size);
        gnutls_free(kd.data);
    }
    if (cd.data)
        gnutls_free(cd.data);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (key)
        gnutls_x509_privkey_deinit(key);
    return rc;
}

int
webtls_load_or_make(const char *dir, const char *cert_path, const char *key_path, const char *cn,
                    const char *const *names, webtls_cert *out, rz_error *err)
{
    char cpath[4096], kpath[4096];
    struct stat st;
    int rc;

    memset(out, 0, sizeof *out);
    if ((cert_path && cert_path[0]) != (key_path && key_path[0]))
        return rz_fail(err, RZ_E_CONFIG, "give both the certificate and its key, or neither");
    if (cert_path && cert_path[0]) {
        if ((rc = webtls_read(cert_path, &out->cert_pem, err)) != 0 ||
            (rc = webtls_read(key_path, &out->key_pem, err)) != 0 ||
            (rc = webtls_inspect(out, cert_path, err)) != 0)
            goto fail;
        return 0;
    }
    if (snprintf(cpath, sizeof cpath, "%s/%s", dir, WEBTLS_CERT_FILE) >= (int)sizeof cpath ||
        snprintf(kpath, sizeof kpath, "%s/%s", dir, WEBTLS_KEY_FILE) >= (int)sizeof kpath)
        return rz_fail(err, RZ_E_ARG, "data directory path too long");
    if (stat(cpath, &st) == 0) {
        if (stat(kpath, &st) == 0 && (st.st_mode & 077) != 0)
            return rz_fail(err, RZ_E_CONFIG, "%s must be readable by its owner only (chmod 600)",
                           kpath);
        if ((rc = webtls_read(cpath, &out->cert_pem, err)) != 0 ||
            (rc = webtls_read(kpath, &out->key_pem, err)) != 0 ||
            (rc = webtls_inspect(out, cpath, err)) != 0)
            goto fail;
        return 0;
    }
    if ((rc = webtls_make(out, cn, names, err)) != 0 ||
        (rc = webtls_inspect(out, "new certificate", err)) != 0)
        goto fail;
    /* Key first: a certificate without its key would be refused at the
     * next start, a key without a certificate is made again. */
    if ((rc = file_write_atomic(kpath, out->key_pem, strlen(out->key_pem), 0600, err)) != 0 ||
        (rc = file_write_atomic(cpath, out->cert_pem, strlen(out->cert_pem), 0644, err)) != 0)
        goto fail;
    out->made = 1;
    return 0;
fail:
    webtls_free(out);
    return rc;
}

void
webtls_free(webtls_cert *c)
{
    if (!c)
        return;
    if (c->key_pem) {
        sodium_memzero(c->key_pem, strlen(c->key_pem));
        free(c->key_pem);
    }
    free(c->cert_pem);
    memset(c, 0, sizeof *c);
}

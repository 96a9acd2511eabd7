/*
 * webtls: the certificate a web app of this project serves HTTPS with.
 *
 * Either a configured certificate and key (PEM files the centre or
 * headquarters was given), or a self-signed one made with GnuTLS at first
 * start and kept in the data directory (web-cert.pem 0644, web-key.pem
 * 0600), valid for the names and addresses staff will type.  Either way the
 * SHA-256 fingerprint of the certificate is computed so it can be printed
 * and shown, and staff can compare it with what their browser shows before
 * they trust a self-signed certificate.
 *
 * What it does not do: serve TLS (libmicrohttpd does, given the PEM texts),
 * or renew certificates (a self-signed one lasts 10 years; delete the two
 * files to make a new one).
 */
#ifndef RZ_WEBTLS_H
#define RZ_WEBTLS_H

#include <stddef.h>

#include "common/rz_err.h"

#define WEBTLS_CERT_FILE "web-cert.pem"
#define WEBTLS_KEY_FILE "web-key.pem"
#define WEBTLS_FPR_CHARS 96  /* "AB:CD:..." of 32 bytes + NUL */
#define WEBTLS_PEM_MAX 65536 /* bytes of a PEM file read */
#define WEBTLS_NAMES_MAX 16  /* subject alternative names of a made certificate */

typedef struct webtls_cert {
    char *cert_pem;                     /* certificate (chain), PEM, NUL-terminated */
    char *key_pem;                      /* private key, PEM; wiped by webtls_free */
    char fingerprint[WEBTLS_FPR_CHARS]; /* SHA-256 of the certificate, "AB:CD:..." */
    int made;                           /* 1 when made just now */
} webtls_cert;

/* Loads cert_path/key_path when both are given; otherwise loads
 * dir/web-cert.pem and dir/web-key.pem, making them first (self-signed,
 * ECDSA P-256, common name cn, a subject alternative name for each of
 * names: IP addresses as addresses, others as DNS names) when missing.
 * RZ_E_CONFIG when a file is unreadable, not PEM, or the key does not match
 * the certificate; RZ_E_IO when the made files cannot be written.  The
 * caller frees with webtls_free. */
int webtls_load_or_make(const char *dir, const char *cert_path, const char *key_path,
                        const char *cn, const char *const *names, webtls_cert *out, rz_error *err)
    RZ_WUR;
void webtls_free(webtls_cert *c);

#endif

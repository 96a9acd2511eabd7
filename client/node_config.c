/*
 * node_config: DIR/node.conf; see node_config.h.
 */
#include "client/node_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/util.h"

#define CONF_PATH_MAX 4096
#define CONF_MAX_LINE_ERRORS 20 /* bad lines printed before the rest are counted */

void
node_config_default(node_config *c)
{
    memset(c, 0, sizeof *c);
    c->sync_interval_s = NODE_SYNC_INTERVAL_S;
    c->sync_timeout_s = NODE_SYNC_TIMEOUT_S;
    snprintf(c->listen, sizeof c->listen, "%s", NODE_LISTEN_DEFAULT);
}

static int
conf_path(char *out, const char *dir, rz_error *err)
{
    if (snprintf(out, CONF_PATH_MAX, "%s/%s", dir, NODE_CONF_FILE) >= CONF_PATH_MAX)
        return rz_fail(err, RZ_E_ARG, "data directory path too long");
    return 0;
}

/* Seconds within [lo, hi]; 0 when s is such a number. */
static int
conf_seconds(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    unsigned long v = 0;
    size_t i, n = strlen(s);
    if (n == 0 || n > 6)
        return -1;
    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* HOST:PORT with a port of 1..65535 and a host of printable non-space bytes. */
static int
conf_listen_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    unsigned port;
    size_t i;
    if (!colon || colon == s || strlen(s) >= NODE_LISTEN_MAX)
        return 0;
    for (i = 0; s + i < colon; i++)
        if (!isgraph((unsigned char)s[i]))
            return 0;
    return conf_seconds(colon + 1, 1, 65535, &port) == 0;
}

int
node_config_set(node_config *c, const char *key, const char *value, rz_error *err)
{
    uint8_t pk[RZ_PK_BYTES];
    char z85[RZ_Z85_KEY];
    unsigned v;
    if (strcmp(key, "server") == 0) {
        if (strlen(value) >= NODE_ENDPOINT_MAX ||
            (strncmp(value, "tcp://", 6) != 0 && strncmp(value, "ipc://", 6) != 0) ||
            strlen(value) <= 6)
            return rz_fail(err, RZ_E_ARG, "server must look like tcp://HOST:PORT");
        snprintf(c->server, sizeof c->server, "%s", value);
        c->set |= NODE_CONF_SERVER;
    } else if (strcmp(key, "server-key") == 0) {
        if (strlen(value) != 2 * RZ_PK_BYTES || hex_decode(pk, sizeof pk, value) != 0)
            return rz_fail(err, RZ_E_ARG,
                           "server-key must be 64 hex digits (the key `rozgar-server init` "
                           "printed)");
        if (curve_pk_from_sign_pk(z85, pk) != 0)
            return rz_fail(err, RZ_E_ARG, "server-key is not a valid Ed25519 public key");
        snprintf(c->server_key, sizeof c->server_key, "%s", value);
        c->set |= NODE_CONF_SERVER_KEY;
    } else if (strcmp(key, "sync-interval") == 0) {
        if (conf_seconds(value, 10, 86400, &v) != 0)
            return rz_fail(err, RZ_E_ARG, "sync-interval wants seconds, 10..86400");
        c->sync_interval_s = v;
        c->set |= NODE_CONF_SYNC_INTERVAL;
    } else if (strcmp(key, "sync-timeout") == 0) {
        if (conf_seconds(value, 1, 3600, &v) != 0)
            return rz_fail(err, RZ_E_ARG, "sync-timeout wants seconds, 1..3600");
        c->sync_timeout_s = v;
        c->set |= NODE_CONF_SYNC_TIMEOUT;
    } else if (strcmp(key, "listen") == 0) {
        if (!conf_listen_ok(value))
            return rz_fail(err, RZ_E_ARG, "listen wants HOST:PORT, e.g. 127.0.0.1:8080");
        snprintf(c->listen, sizeof c->listen, "%s", value);
        c->set |= NODE_CONF_LISTEN;
    } else {
        return rz_fail(err, RZ_E_ARG,
                       "unknown key '%.40s' (known: server, server-key, sync-interval, "
                       "sync-timeout, listen)",
                       key);
    }
    return 0;
}

static char *
conf_trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

int
node_config_load(const char *dir, node_config *c, rz_error *err)
{
    char path[CONF_PATH_MAX], *buf = NULL, *line, *next;
    size_t len = 0;
    unsigned long lineno = 0, bad = 0;
    rz_error e = {0, ""};
    int rc;
    node_config_default(c);
    if ((rc = conf_path(path, dir, err)) != 0)
        return rc;
    buf = xmalloc(NODE_CONF_MAX_BYTES + 2);
    rc = file_read_small(path, buf, NODE_CONF_MAX_BYTES + 1, &len, &e);
    if (rc == RZ_E_NOTFOUND) {
        rc = 0;
        goto out;
    }
    if (rc != 0) {
        rc = rz_fail(err, RZ_E_CONFIG, "%s", e.text);
        goto out;
    }
    if (len > NODE_CONF_MAX_BYTES) {
        rc = rz_fail(err, RZ_E_CONFIG, "%s is larger than %d bytes", path, NODE_CONF_MAX_BYTES);
        goto out;
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) {
        rc = rz_fail(err, RZ_E_CONFIG, "%s is not a text file", path);
        goto out;
    }
    for (line = buf; line; line = next) {
        char *eq, *key, *val;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        key = conf_trim(line);
        if (*key == '\0' || *key == '#')
            continue;
        if (!(eq = strchr(key, '='))) {
            if (bad++ < CONF_MAX_LINE_ERRORS)
                log_warnx("%s:%lu: expected `key = value`", path, lineno);
            continue;
        }
        *eq = '\0';
        val = conf_trim(eq + 1);
        key = conf_trim(key);
        if (node_config_set(c, key, val, &e) != 0 && bad++ < CONF_MAX_LINE_ERRORS)
            log_warnx("%s:%lu: %s", path, lineno, e.text);
    }
    if (bad)
        rc = rz_fail(err, RZ_E_CONFIG,
                     "%s: %lu bad line%s (see above); fix or rewrite it with "
                     "`rozgar-node config`",
                     path, bad, bad == 1 ? "" : "s");
out:
    free(buf);
    return rc;
}

int
node_config_save(const char *dir, const node_config *c, rz_error *err)
{
    char path[CONF_PATH_MAX], text[2048];
    size_t n = 0;
    int rc;
    if ((rc = conf_path(path, dir, err)) != 0)
        return rc;
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "# rozgar-node settings; edit with `rozgar-node config KEY=VALUE` or "
                          "by hand\n");
    if (c->set & NODE_CONF_SERVER)
        n += (size_t)snprintf(text + n, sizeof text - n, "server = %s\n", c->server);
    if (c->set & NODE_CONF_SERVER_KEY)
        n += (size_t)snprintf(text + n, sizeof text - n, "server-key = %s\n", c->server_key);
    if (c->set & NODE_CONF_SYNC_INTERVAL)
        n +=
            (size_t)snprintf(text + n, sizeof text - n, "sync-interval = %u\n", c->sync_interval_s);
    if (c->set & NODE_CONF_SYNC_TIMEOUT)
        n += (size_t)snprintf(text + n, sizeof text - n, "sync-timeout = %u\n", c->sync_timeout_s);
    if (c->set & NODE_CONF_LISTEN)
        n += (size_t)snprintf(text + n, sizeof text - n, "listen = %s\n", c->listen);
    return file_write_atomic(path, text, n, 0600, err);
}

int
node_config_apply(const node_config *c, node_store *ns, rz_error *err)
{
    node_store_status st;
    uint8_t pk[RZ_PK_BYTES];
    int rc;
    if ((c->set & (NODE_CONF_SERVER | NODE_CONF_SERVER_KEY)) !=
        (NODE_CONF_SERVER | NODE_CONF_SERVER_KEY))
        return 0;
    if (hex_decode(pk, sizeof pk, c->server_key) != 0)
        return rz_fail(err, RZ_E_CONFIG, "server-key in %s is not hex", NODE_CONF_FILE);
    if ((rc = node_store_get_status(ns, &st, err)) != 0)
        return rc;
    if (st.has_server_pk && strcmp(st.endpoint, c->server) == 0 &&
        sodium_memcmp(st.server_pk, pk, RZ_PK_BYTES) == 0)
        return 0;
    return node_store_configure(ns, c->server, pk, err);
}

void
node_config_print(const node_config *c, const node_store_status *st, FILE *out)
{
    char hex[2 * RZ_PK_BYTES + 1] = "";
    const char *server = c->server;
    if (!(c->set & NODE_CONF_SERVER) && st && st->endpoint[0])
        server = st->endpoint;
    if (c->set & NODE_CONF_SERVER_KEY)
        snprintf(hex, sizeof hex, "%s", c->server_key);
    else if (st && st->has_server_pk)
        hex_encode(hex, st->server_pk, RZ_PK_BYTES);
    fprintf(out, "server = %s\n", server[0] ? server : "(not configured)");
    fprintf(out, "server-key = %s\n", hex[0] ? hex : "(not configured)");
    fprintf(out, "sync-interval = %u\n", c->sync_interval_s);
    fprintf(out, "sync-timeout = %u\n", c->sync_timeout_s);
    fprintf(out, "listen = %s\n", c->listen);
}

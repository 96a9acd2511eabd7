/*
 * node_config: the node's settings in one file, DIR/node.conf, read by every
 * command so daily commands need no long flags, and edited by
 * `rozgar-node config KEY=VALUE ...` (or by hand).
 *
 * Format: UTF-8 text, one `key = value` per line; blank lines and lines
 * starting with '#' are ignored; spaces around key and value are trimmed;
 * no quoting.  Keys (unknown keys are errors, reported all at once as
 * `node.conf:LINE: message`):
 *
 *   server         tcp://HOST:PORT of headquarters' rozgar-server
 *   server-key     the server's Ed25519 public key, 64 hex digits
 *   sync-interval  seconds between two syncs of `sync --watch` (and of
 *                  `serve`'s background sync) when nothing new was recorded
 *                  (10..86400, default 300)
 *   sync-timeout   seconds to wait for one server reply (1..3600, default 10)
 *   listen         HOST:PORT the node's web app (`serve`) listens on
 *                  (default 127.0.0.1:8080)
 *
 * server and server-key are also kept in node.db (where the sync reads
 * them): node_config_apply() copies them there when they differ, so the file
 * stays the one place staff edit.  A data directory from before node.conf
 * existed simply has no file: defaults, and the server as node.db has it.
 *
 * What it does not do: hold secrets (the node's key is node.key) or talk to
 * anything.
 */
#ifndef RZ_NODE_CONFIG_H
#define RZ_NODE_CONFIG_H

#include <stdio.h>

#include "client/node_store.h"

#define NODE_CONF_FILE "node.conf"
#define NODE_CONF_MAX_BYTES 16384 /* larger files are refused */
#define NODE_LISTEN_MAX 128       /* bytes of the listen address, NUL included */
#define NODE_SYNC_INTERVAL_S 300  /* default sync-interval */
#define NODE_SYNC_TIMEOUT_S 10    /* default sync-timeout */
#define NODE_LISTEN_DEFAULT "127.0.0.1:8080"

/* Bits of node_config.set: which keys the file gives. */
enum {
    NODE_CONF_SERVER = 1,
    NODE_CONF_SERVER_KEY = 2,
    NODE_CONF_SYNC_INTERVAL = 4,
    NODE_CONF_SYNC_TIMEOUT = 8,
    NODE_CONF_LISTEN = 16,
};

typedef struct node_config {
    unsigned set;                         /* NODE_CONF_* bits of keys given */
    char server[NODE_ENDPOINT_MAX];       /* endpoint, "" when unset */
    char server_key[2 * RZ_PK_BYTES + 1]; /* hex, "" when unset */
    unsigned sync_interval_s;             /* seconds between idle syncs */
    unsigned sync_timeout_s;              /* seconds per server reply */
    char listen[NODE_LISTEN_MAX];         /* web app address */
} node_config;

/* Fills c with the defaults (nothing set). */
void node_config_default(node_config *c);

/* Reads DIR/node.conf into c (defaults first; a missing file is not an
 * error).  RZ_E_CONFIG when a line is wrong: each bad line is printed to
 * stderr as `DIR/node.conf:LINE: message`, err says how many. */
int node_config_load(const char *dir, node_config *c, rz_error *err) RZ_WUR;

/* Sets one key from text, validating it.  RZ_E_ARG with a message when the
 * key is unknown or the value unusable; c is unchanged then. */
int node_config_set(node_config *c, const char *key, const char *value, rz_error *err) RZ_WUR;

/* Writes c as DIR/node.conf atomically (mode 0600), set keys only. */
int node_config_save(const char *dir, const node_config *c, rz_error *err) RZ_WUR;

/* Copies server and server-key into node.db when the file gives both and
 * they differ from what node.db holds. */
int node_config_apply(const node_config *c, node_store *ns, rz_error *err) RZ_WUR;

/* Writes the effective settings as `key = value` lines to out (what
 * `rozgar-node config` prints); st supplies node.db's server when the file
 * gives none (may be NULL). */
void node_config_print(const node_config *c, const node_store_status *st, FILE *out);

#endif

/*
 * entry: one change-log entry, the unit that is hashed, chained, signed,
 * sent, stored and merged.
 *
 * Byte layout (msgpack, produced once by the node and never re-encoded):
 *
 *     [ schema  : uint     -- entry schema version (RZ_SCHEMA_*)
 *       hlc     : uint64   -- hybrid logical clock of the change
 *       table   : uint     -- enum rz_table
 *       op      : uint     -- enum rz_op
 *       key     : bin      -- 16 bytes (person/event), 32 (attendance), 0 (clock)
 *       fields  : map      -- uint field id -> value, ids strictly ascending ]
 *
 * The sequence number and previous hash are not in the bytes: both are
 * derived by the receiver and enter the chain hash (common/crypto.h).
 */
#ifndef RZ_ENTRY_H
#define RZ_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "common/mpk.h"
#include "proto/wire.h"

enum rz_vtype { RZ_V_NIL, RZ_V_UINT, RZ_V_INT, RZ_V_BOOL, RZ_V_STR, RZ_V_BIN };

/* A field value; str/bin point into borrowed memory. */
typedef struct rz_value {
    enum rz_vtype type; /* which member is meaningful */
    uint64_t u;         /* RZ_V_UINT, RZ_V_BOOL (0/1) */
    int64_t i;          /* RZ_V_INT (negative integers only) */
    const uint8_t *p;   /* RZ_V_STR / RZ_V_BIN bytes (not NUL-terminated) */
    size_t len;         /* their length */
} rz_value;

typedef struct rz_field {
    uint8_t id; /* field id of the entry's table */
    rz_value v; /* its value */
} rz_field;

typedef struct rz_entry {
    uint32_t schema;                /* schema version */
    uint64_t hlc;                   /* hybrid logical clock */
    uint8_t table;                  /* enum rz_table */
    uint8_t op;                     /* enum rz_op */
    const uint8_t *key;             /* borrowed */
    size_t key_len;                 /* 0, 16 or 32 */
    size_t nfields;                 /* used slots of fields */
    rz_field fields[RZ_MAX_FIELDS]; /* ascending ids */
} rz_entry;

/* Appends the entry's canonical bytes to w.  Fields must be ascending. */
void entry_encode(mpk_writer *w, const rz_entry *e);

/* Decodes bytes into e.  Pointers in e borrow from buf (bin/str bodies) or
 * from zone z.  Returns 0, RZ_E_DECODE/RZ_E_TOOBIG (broken encoding: refuse
 * the batch) or RZ_E_VERSION (schema not supported: "upgrade").  Values that
 * are merely invalid (gender 9, birth year 1800, wrong value type) are NOT
 * refused here: merge flags them. */
int entry_decode(const uint8_t *buf, size_t len, msgpack_zone *z, rz_entry *e, rz_error *err)
    RZ_WUR;

/* Starts an entry of the current schema with no fields; key is borrowed. */
void entry_init(rz_entry *e, uint64_t hlc, uint8_t table, uint8_t op, const uint8_t *key,
                size_t key_len);
/* Appends field id = v (callers add fields in ascending id order); ignored
 * once RZ_MAX_FIELDS are set, which entry ids make impossible. */
void entry_put(rz_entry *e, uint8_t id, rz_value v);
/* The value of field `id` in a decoded entry, or NULL when absent. */
const rz_value *entry_field(const rz_entry *e, uint8_t id);
/* Highest field id of a table, 0 for an unknown table. */
int entry_field_max(uint8_t table);
/* 1 when the field of the table is a personal value (commitment on the wire). */
int entry_field_is_pii(uint8_t table, uint8_t field);

/* Convenience constructors for building entries. */
rz_value rz_uint(uint64_t u);
rz_value rz_bool(int b);
rz_value rz_str(const char *s);
rz_value rz_bin(const void *p, size_t len);
rz_value rz_nil(void);

#endif

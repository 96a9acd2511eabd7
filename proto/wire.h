/*
 * wire: constants of the Rozgar Sync protocol (proto/PROTOCOL.md): message
 * signature, versions, message ids, table/op/field ids and every limit a
 * decoder enforces.  Ids are never reused; any change bumps the version.
 */
#ifndef RZ_WIRE_H
#define RZ_WIRE_H

#include "common/domain.h"

#define RZ_WIRE_SIGNATURE 0x525a /* "RZ": first element of every message */
#define RZ_PROTO_VERSION 1       /* this implementation's protocol version */
#define RZ_SCHEMA_MIN 1          /* oldest entry schema version merged */
#define RZ_SCHEMA_MAX 1          /* newest entry schema version merged */
#define RZ_SCHEMA_CURRENT 1      /* schema version the node writes */

/* Message ids (range 1..15: sync). */
enum rz_msg_type {
    RZ_MSG_HELLO = 1,
    RZ_MSG_WELCOME = 2,
    RZ_MSG_BATCH = 3,
    RZ_MSG_ACK = 4,
    RZ_MSG_ERROR = 5,
    RZ_MSG_FORK_REPORT = 6, /* C: the node caught a fork of its own log (PROTOCOL 4.8) */
    /* Range 16..31: offline transfer, never on a socket (PROTOCOL §11). */
    RZ_MSG_BUNDLE = 16,   /* header chunk of a USB bundle */
    RZ_MSG_RECEIPTS = 17, /* a receipt file */
    /* Range 32..47: recovery of a replaced PC (PROTOCOL §12). */
    RZ_MSG_FETCH = 32,        /* C: send me OLD's log from a sequence number */
    RZ_MSG_CHUNK = 33,        /* S: a bounded piece of OLD's log */
    RZ_MSG_FETCH_DONE = 34,   /* C: I hold and verified OLD's log up to its head */
    RZ_MSG_FETCH_CLOSED = 35, /* S: the recovery grant is used */
};

/* Why a node reports a fork (FORK_REPORT reason). */
enum rz_fork_reason {
    RZ_FORK_SERVER_AHEAD = 1, /* the server holds entries above the node's head */
    RZ_FORK_DIFFERS = 2,      /* the node's entry at the server's head hashes differently */
};

/* Limits (all enforced before allocation). */
#define RZ_MAX_FRAME (1024 * 1024) /* ZMQ_MAXMSGSIZE on both sides */
#define RZ_MAX_BATCH_ENTRIES 1000  /* entries in one BATCH */
#define RZ_BATCH_ENTRIES 500       /* entries the node puts in a BATCH */
#define RZ_MAX_ENTRY_BYTES 2048    /* encoded size of one entry */
#define RZ_MAX_REVEALS 3000        /* personal values in one BATCH */
#define RZ_MAX_STR 512             /* bytes of one string value */
#define RZ_MAX_DEPTH 4             /* msgpack nesting */
#define RZ_MAX_FIELDS 16           /* fields in one entry */
#define RZ_BUNDLE_MAX_BATCHES 4096 /* batches in one USB bundle */
#define RZ_RECEIPTS_MAX 4096       /* receipts in one receipt file */
#define RZ_FETCH_MAX_KEYS 16       /* keys of the old node in one CHUNK */
#define RZ_FETCH_ENTRIES 500       /* entries the reference server puts in one CHUNK */

/* Tables an entry changes. */
enum rz_table {
    RZ_T_PERSON = 1,     /* key: 16-byte person id */
    RZ_T_EVENT = 2,      /* key: 16-byte event id */
    RZ_T_ATTENDANCE = 3, /* key: event id || person id (32 bytes) */
    RZ_T_CLOCK = 4,      /* key: empty; the server time the node last saw */
};

enum rz_op {
    RZ_OP_SET = 1,      /* set the given fields (creates the record) */
    RZ_OP_DELETE = 2,   /* tombstone: the "deleted" field becomes true */
    RZ_OP_UNDELETE = 3, /* explicit revival: "deleted" becomes false */
};

/* Person fields.  CNIC, name and phone are personal values: the entry holds
 * a 16-byte commitment (or nil when cleared); the value travels in the
 * BATCH's reveal list and can later be erased on the server. */
enum rz_person_field {
    RZ_PF_CNIC = 1,       /* commit: 13 digits (first digit 1-8), dashes removed */
    RZ_PF_NAME = 2,       /* commit: UTF-8 */
    RZ_PF_PHONE = 3,      /* commit */
    RZ_PF_GENDER = 4,     /* uint: enum rz_gender */
    RZ_PF_BIRTH_YEAR = 5, /* uint */
    RZ_PF_DISTRICT = 6,   /* str: district of residence */
    RZ_PF_AREA = 7,       /* uint: enum rz_area */
    RZ_PF_SKILL = 8,      /* uint: enum rz_skill */
    RZ_PF_SKILLS = 9,     /* str: free text */
    RZ_PF_PLATFORMS = 10, /* str: profiles on international platforms */
    RZ_PF_REG_DATE = 11,  /* uint: registration date as YYYYMMDD */
    RZ_PF_MAX = 11
};

enum rz_event_field {
    RZ_EF_KIND = 1,     /* uint: enum rz_event_kind */
    RZ_EF_TITLE = 2,    /* str */
    RZ_EF_DATE = 3,     /* uint: YYYYMMDD */
    RZ_EF_DURATION = 4, /* uint: minutes */
    RZ_EF_PARTNER = 5,  /* str */
    RZ_EF_MODE = 6,     /* uint: 1 in person, 2 online */
    RZ_EF_MAX = 6
};

enum rz_attendance_field {
    RZ_AF_PRESENT = 1, /* bool */
    RZ_AF_MAX = 1
};

enum rz_clock_field {
    RZ_CF_SERVER_MS = 1,  /* uint: server time in the WELCOME the node got */
    RZ_CF_LOCAL_MS = 2,   /* uint: the node's wall clock at that moment */
    RZ_CF_CHECKPOINT = 3, /* uint 1: a checkpoint; server_ms is the node's estimate
                           * (PROTOCOL §5: bounds the entries before it, does not
                           * raise the floor of those after it) */
    RZ_CF_MAX = 3
};

/* A node appends a checkpoint clock entry after this many entries without
 * a clock entry (PROTOCOL §5), so a backlog merges batch by batch. */
#define RZ_CLOCK_CHECKPOINT_EVERY 1000

/* The coded values of person and event fields (gender, area, skill, event
 * kind, mode) are the domain's vocabulary: common/domain.h defines them;
 * their numbers are part of this protocol and never change. */

#endif

/*
 * fuzz_key: the fixed node identity the fuzz_ingest harness enrolls and the
 * seed generator (tests/hostile/rz_peer corpus) signs with, so committed
 * seeds carry valid signatures and reach the code behind signature checks.
 * A test key, never used anywhere else.
 */
#ifndef RZ_FUZZ_KEY_H
#define RZ_FUZZ_KEY_H

#define FUZZ_KEY_SEED ((const unsigned char *)"rozgar-sync-fuzz-node-key-seed!!")   /* 32 bytes */
#define FUZZ_NODE_ID ((const unsigned char *)"RZfuzz01")                            /* 8 bytes */
#define FUZZ_OTHER_SEED ((const unsigned char *)"rozgar-sync-fuzz-other-key-seed!") /* 32 bytes */
#define FUZZ_OTHER_ID ((const unsigned char *)"RZfuzz02")                           /* 8 bytes */

/* fuzz_ingest input: up to FUZZ_MAX_RECORDS records, each
 *   flags:u8  (bit 0: re-sign the batch with the enrolled key)
 *   len:be16  frame:len bytes
 * processed in order against one fresh store. */
#define FUZZ_MAX_RECORDS 4
#define FUZZ_FLAG_RESIGN 1

#endif

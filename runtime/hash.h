/* SHA-256 (FIPS 180-4) and MD5 (RFC 1321), written from the standards: a
 * streaming API (init, update any number of times, final) and a helper that
 * hashes a whole file into lowercase hex. Used by `laperm fetch` to verify
 * downloads and copies. */
#ifndef LAPERM_RUNTIME_HASH_H
#define LAPERM_RUNTIME_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "laperm/laperm.h"

typedef struct lp_sha256 {
    uint32_t h[8];
    uint64_t len;      /* bytes hashed so far */
    uint8_t buf[64];
    size_t nbuf;
} lp_sha256;

typedef struct lp_md5 {
    uint32_t h[4];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} lp_md5;

#define LP_SHA256_BYTES 32
#define LP_MD5_BYTES 16
/* Room for the longest digest in hex plus the terminating NUL. */
#define LP_HASH_HEX_MAX 65

void lp_sha256_init(lp_sha256 *c);
void lp_sha256_update(lp_sha256 *c, const void *data, size_t n);
void lp_sha256_final(lp_sha256 *c, uint8_t out[LP_SHA256_BYTES]);

void lp_md5_init(lp_md5 *c);
void lp_md5_update(lp_md5 *c, const void *data, size_t n);
void lp_md5_final(lp_md5 *c, uint8_t out[LP_MD5_BYTES]);

/* Either algorithm behind one interface, for code that takes a choice. */
typedef enum lp_hash_alg { LP_HASH_SHA256, LP_HASH_MD5 } lp_hash_alg;

typedef struct lp_hash {
    lp_hash_alg alg;
    union {
        lp_sha256 sha256;
        lp_md5 md5;
    } u;
} lp_hash;

/* "sha256" or "md5". */
const char *lp_hash_name(lp_hash_alg alg);
void lp_hash_init(lp_hash *h, lp_hash_alg alg);
void lp_hash_update(lp_hash *h, const void *data, size_t n);
/* Writes the digest as lowercase hex into hex (LP_HASH_HEX_MAX bytes). */
void lp_hash_final_hex(lp_hash *h, char hex[LP_HASH_HEX_MAX]);

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void lp_hex(const uint8_t *bytes, size_t n, char *out);

/* Hash the whole file at path; LAPERM_E_IO (naming the file) if it cannot be
 * opened or read. */
laperm_status lp_hash_file(const char *path, lp_hash_alg alg, char hex[LP_HASH_HEX_MAX]);

#endif

/* SHA-256 and MD5 against the standards' test vectors (FIPS 180-4 examples /
 * NIST CAVS short messages, RFC 1321 appendix A.5), streaming in odd chunk
 * sizes, and the file helper. */
#include "lp_test.h"
#include "runtime/hash.h"

#include <stdint.h>

static void sha256_hex(const void *data, size_t n, char hex[LP_HASH_HEX_MAX])
{
    lp_hash h;
    lp_hash_init(&h, LP_HASH_SHA256);
    lp_hash_update(&h, data, n);
    lp_hash_final_hex(&h, hex);
}

static void md5_hex(const void *data, size_t n, char hex[LP_HASH_HEX_MAX])
{
    lp_hash h;
    lp_hash_init(&h, LP_HASH_MD5);
    lp_hash_update(&h, data, n);
    lp_hash_final_hex(&h, hex);
}

#define CHECK_HEX(got, want) CHECK_MSG(strcmp((got), (want)) == 0, "got %s, want %s", (got), (want))

static void test_sha256_vectors(void)
{
    char hex[LP_HASH_HEX_MAX];
    sha256_hex("", 0, hex);
    CHECK_HEX(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3, hex);
    CHECK_HEX(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 448 bits */
    sha256_hex(two, strlen(two), hex);
    CHECK_HEX(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    sha256_hex(four, strlen(four), hex);
    CHECK_HEX(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    /* One million 'a' (FIPS 180-2 appendix B.3), fed in uneven pieces. */
    static char a[1000000];
    memset(a, 'a', sizeof a);
    lp_sha256 c;
    lp_sha256_init(&c);
    size_t off = 0, step = 1;
    while (off < sizeof a) {
        size_t take = step < sizeof a - off ? step : sizeof a - off;
        lp_sha256_update(&c, a + off, take);
        off += take;
        step = step * 3 % 1031 + 1;
    }
    uint8_t d[LP_SHA256_BYTES];
    lp_sha256_final(&c, d);
    lp_hex(d, sizeof d, hex);
    CHECK_HEX(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha256_padding_edges(void)
{
    /* Lengths around the 55/56/64-byte padding boundaries, streamed byte by
     * byte, must equal the one-shot digest. */
    uint8_t msg[130];
    for (int i = 0; i < 130; i++) msg[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 50; n <= 130; n++) {
        char one[LP_HASH_HEX_MAX], bytewise[LP_HASH_HEX_MAX];
        sha256_hex(msg, n, one);
        lp_hash h;
        lp_hash_init(&h, LP_HASH_SHA256);
        for (size_t i = 0; i < n; i++) lp_hash_update(&h, msg + i, 1);
        lp_hash_final_hex(&h, bytewise);
        CHECK_HEX(bytewise, one);
    }
    /* 55 and 56 bytes of 'a': python hashlib values. */
    char hex[LP_HASH_HEX_MAX];
    char a[64];
    memset(a, 'a', sizeof a);
    sha256_hex(a, 55, hex);
    CHECK_HEX(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    sha256_hex(a, 56, hex);
    CHECK_HEX(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    sha256_hex(a, 64, hex);
    CHECK_HEX(hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_md5_vectors(void)
{
    /* RFC 1321 appendix A.5. */
    static const char *const in[] = {
        "", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890"};
    static const char *const out[] = {
        "d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661",
        "900150983cd24fb0d6963f7d28e17f72", "f96b697d7cb7938d525a2f31aaf161d0",
        "c3fcd3d76192e4007dfb496cca67e13b", "d174ab98d277d9f5a5611c2c9f419d9f",
        "57edf4a22be3c955ac49da2e2107b67a"};
    for (int i = 0; i < 7; i++) {
        char hex[LP_HASH_HEX_MAX];
        md5_hex(in[i], strlen(in[i]), hex);
        CHECK_HEX(hex, out[i]);
        /* Streamed in pieces of 3. */
        lp_md5 c;
        lp_md5_init(&c);
        size_t n = strlen(in[i]);
        for (size_t off = 0; off < n; off += 3) lp_md5_update(&c, in[i] + off, n - off < 3 ? n - off : 3);
        uint8_t d[LP_MD5_BYTES];
        lp_md5_final(&c, d);
        lp_hex(d, sizeof d, hex);
        CHECK_HEX(hex, out[i]);
    }
}

static void test_hash_file(void)
{
    const char *tmp = getenv("LAPERM_TEST_TMP");
    char path[4096];
    snprintf(path, sizeof path, "%s/test_hash_abc.txt", tmp && *tmp ? tmp : ".");
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fputs("abc", f);
    fclose(f);
    char hex[LP_HASH_HEX_MAX];
    CHECK_EQ_INT(lp_hash_file(path, LP_HASH_SHA256, hex), LAPERM_OK);
    CHECK_HEX(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_EQ_INT(lp_hash_file(path, LP_HASH_MD5, hex), LAPERM_OK);
    CHECK_HEX(hex, "900150983cd24fb0d6963f7d28e17f72");
    remove(path);
    CHECK_EQ_INT(lp_hash_file(path, LP_HASH_MD5, hex), LAPERM_E_IO);
    CHECK_STR_CONTAINS(laperm_last_error(), "test_hash_abc.txt: cannot open: No such file");
}

/* The real files' published checksums (shared/data/README.md,
 * shared/pretrained/README.md), when the shared folder is there. */
static void test_real_files(void)
{
    const char *shared = getenv("LAPERM_SHARED");
    if (!shared || !*shared) shared = "../shared";
    char path[4096], hex[LP_HASH_HEX_MAX];
    snprintf(path, sizeof path, "%s/data/cifar-10-batches-bin/test_batch.bin", shared);
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("   (no %s: real-file checksums not checked)\n", path);
        return;
    }
    CHECK_EQ_INT(lp_hash_file(path, LP_HASH_MD5, hex), LAPERM_OK);
    CHECK_HEX(hex, "803d5f7f4d78ea53de84dbe85f74fb6d");
    CHECK_EQ_INT(lp_hash_file(path, LP_HASH_SHA256, hex), LAPERM_OK);
    CHECK_HEX(hex, "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b");
    snprintf(path, sizeof path, "%s/pretrained/F1.h5", shared);
    CHECK_EQ_INT(lp_hash_file(path, LP_HASH_SHA256, hex), LAPERM_OK);
    CHECK_HEX(hex, "5f80262404e616c7b09ed73f2b754d213ff4adf79649d835e07b2cc6e2845d48");
    snprintf(path, sizeof path, "%s/pretrained/Conv7.h5", shared);
    CHECK_EQ_INT(lp_hash_file(path, LP_HASH_SHA256, hex), LAPERM_OK);
    CHECK_HEX(hex, "2634f29c78a57faabf3ff08c408faa1a01b120f43b67d841b479d2ffc07497bb");
}

int main(void)
{
    LP_RUN(test_sha256_vectors);
    LP_RUN(test_sha256_padding_edges);
    LP_RUN(test_md5_vectors);
    LP_RUN(test_hash_file);
    LP_RUN(test_real_files);
    return lp_test_done();
}

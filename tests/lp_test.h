/* A minimal test harness: CHECK macros that count and report, and a closing
 * line "N passed, N failed" that CTest output and CI read.
 *
 *   int main(void) { LP_RUN(test_x); LP_RUN(test_y); return lp_test_done(); }
 *
 * Data-dependent tests call lp_test_data_dir(): without data they skip (exit
 * 77, CTest SKIP_RETURN_CODE) unless LAPERM_REQUIRE_DATA=1, as in CI. */
#ifndef LAPERM_TESTS_LP_TEST_H
#define LAPERM_TESTS_LP_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int lp_t_checks_failed, lp_t_tests_passed, lp_t_tests_failed;
static int lp_t_cur_failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            lp_t_cur_failed++;                                                   \
            lp_t_checks_failed++;                                                \
        }                                                                        \
    } while (0)

#define CHECK_MSG(cond, ...)                                                     \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            lp_t_cur_failed++;                                                   \
            lp_t_checks_failed++;                                                \
        }                                                                        \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                       \
    do {                                                                         \
        long long lp_a_ = (long long)(a), lp_b_ = (long long)(b);                \
        CHECK_MSG(lp_a_ == lp_b_, "%lld != %lld", lp_a_, lp_b_);                 \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                    \
    do {                                                                         \
        double lp_a_ = (double)(a), lp_b_ = (double)(b);                         \
        CHECK_MSG(fabs(lp_a_ - lp_b_) <= (tol), "%.9g vs %.9g (tol %g)", lp_a_, lp_b_, (double)(tol)); \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                          \
    do {                                                                         \
        const char *lp_h_ = (hay);                                               \
        CHECK_MSG(lp_h_ && strstr(lp_h_, (needle)), "\"%s\" lacks \"%s\"",      \
                  lp_h_ ? lp_h_ : "(null)", (needle));                           \
    } while (0)

#define LP_RUN(fn)                                                               \
    do {                                                                         \
        lp_t_cur_failed = 0;                                                     \
        fn();                                                                    \
        if (lp_t_cur_failed) { lp_t_tests_failed++; fprintf(stderr, "FAIL %s\n", #fn); } \
        else { lp_t_tests_passed++; printf("ok   %s\n", #fn); }                  \
        fflush(stdout);                                                          \
    } while (0)

static inline int lp_test_done(void)
{
    printf("%d passed, %d failed\n", lp_t_tests_passed, lp_t_tests_failed);
    return lp_t_tests_failed ? 1 : 0;
}

/* The data directory ($LAPERM_DATA, else ./data) if it holds sub, else skip
 * the whole test program (or fail when LAPERM_REQUIRE_DATA=1). */
static inline const char *lp_test_data_dir(const char *sub)
{
    static char path[4096];
    const char *d = getenv("LAPERM_DATA");
    if (!d || !*d) d = "data";
    snprintf(path, sizeof path, "%s/%s", d, sub);
    struct stat st;
    if (stat(path, &st) != 0) {
        const char *req = getenv("LAPERM_REQUIRE_DATA");
        if (req && strcmp(req, "1") == 0) {
            fprintf(stderr, "required data missing: %s\n", path);
            printf("0 passed, 1 failed\n");
            exit(1);
        }
        printf("skipped: no %s (run laperm fetch)\n", path);
        exit(77);
    }
    return path;
}

/* The whole file at path (a zero byte after it, not counted), its size in
 * *n; NULL (and *n = 0) when it cannot be read. The caller frees it. */
static inline uint8_t *lp_test_read_file(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = sz >= 0 ? malloc((size_t)sz + 1) : NULL;
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[sz] = 0;
        *n = (size_t)sz;
    }
    return b;
}

#endif

/* Helpers for the h5io / reconnect tests: building lp_h5_weights by hand,
 * comparing them bitwise, a small RNG, temporary paths. */
#ifndef LAPERM_TESTS_H5_UTIL_H
#define LAPERM_TESTS_H5_UTIL_H

#include "runtime/h5io.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct { uint64_t s; } t_rng;

static inline uint64_t t_next(t_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static inline float t_unif(t_rng *r) { return (float)(t_next(r) >> 40) / (float)(1 << 24); }
static inline int t_below(t_rng *r, int n) { return (int)(t_next(r) % (uint64_t)n); }

static inline lp_h5_weights *t_new_weights(int nlayers)
{
    lp_h5_weights *w = calloc(1, sizeof *w);
    w->nlayers = nlayers;
    w->layers = calloc((size_t)(nlayers ? nlayers : 1), sizeof *w->layers);
    return w;
}

static inline void t_layer(lp_h5_weights *w, int i, const char *name, int nweights)
{
    snprintf(w->layers[i].name, LP_H5_NAME_MAX, "%s", name);
    w->layers[i].nweights = nweights;
    w->layers[i].weights = nweights ? calloc((size_t)nweights, sizeof(lp_h5_array)) : NULL;
}

static inline int64_t t_count(const lp_h5_array *a)
{
    int64_t n = 1;
    for (int k = 0; k < a->rank; k++) n *= a->shape[k];
    return n;
}

/* Weight j of layer i: name, rank, dims; data allocated (zeros). */
static inline lp_h5_array *t_weight(lp_h5_weights *w, int i, int j, const char *name, int rank,
                                    const int64_t *dims)
{
    lp_h5_array *a = &w->layers[i].weights[j];
    snprintf(a->name, LP_H5_NAME_MAX, "%s", name);
    a->rank = rank;
    for (int k = 0; k < rank; k++) a->shape[k] = dims[k];
    int64_t n = t_count(a);
    a->data = calloc((size_t)(n ? n : 1), sizeof(float));
    return a;
}

/* 1 if a and b have the same layers, names, shapes and bitwise data. */
static inline int t_weights_equal(const lp_h5_weights *a, const lp_h5_weights *b, char *why, size_t n)
{
    if (a->nlayers != b->nlayers) {
        snprintf(why, n, "nlayers %d vs %d", a->nlayers, b->nlayers);
        return 0;
    }
    for (int i = 0; i < a->nlayers; i++) {
        const lp_h5_layer *x = &a->layers[i], *y = &b->layers[i];
        if (strcmp(x->name, y->name) || x->nweights != y->nweights) {
            snprintf(why, n, "layer %d: %.100s/%d vs %.100s/%d", i, x->name, x->nweights, y->name, y->nweights);
            return 0;
        }
        for (int j = 0; j < x->nweights; j++) {
            const lp_h5_array *p = &x->weights[j], *q = &y->weights[j];
            if (strcmp(p->name, q->name) || p->rank != q->rank) {
                snprintf(why, n, "layer %.100s weight %d: %.100s rank %d vs %.100s rank %d", x->name, j, p->name,
                         p->rank, q->name, q->rank);
                return 0;
            }
            for (int k = 0; k < p->rank; k++)
                if (p->shape[k] != q->shape[k]) {
                    snprintf(why, n, "layer %.100s weight %.100s: dim %d differs", x->name, p->name, k);
                    return 0;
                }
            int64_t c = t_count(p);
            if (c && memcmp(p->data, q->data, (size_t)c * sizeof(float))) {
                snprintf(why, n, "layer %.100s weight %.100s: data differ", x->name, p->name);
                return 0;
            }
        }
    }
    return 1;
}

/* $LAPERM_TEST_TMP/<sub>-<pid>, created. */
static inline const char *t_tmpdir(const char *sub)
{
    static char dir[1024];
    const char *t = getenv("LAPERM_TEST_TMP");
    if (!t || !*t) t = "/tmp";
    snprintf(dir, sizeof dir, "%s/%s-%ld", t, sub, (long)getpid());
    mkdir(t, 0777);
    mkdir(dir, 0777);
    return dir;
}

static inline const char *t_pretrained(const char *file)
{
    static char path[4][1024];
    static int k;
    const char *s = getenv("LAPERM_SHARED");
    if (!s || !*s) s = "../shared";
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/pretrained/%s", s, file);
    return path[k];
}

static inline int t_file_equal(const char *a, const char *b)
{
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    int same = f && g;
    while (same) {
        int x = fgetc(f), y = fgetc(g);
        if (x != y) same = 0;
        if (x == EOF || y == EOF) break;
    }
    if (f) fclose(f);
    if (g) fclose(g);
    return same;
}

static inline int t_copy_prefix(const char *src, const char *dst, long nbytes)
{
    FILE *f = fopen(src, "rb"), *g = fopen(dst, "wb");
    if (!f || !g) {
        if (f) fclose(f);
        if (g) fclose(g);
        return -1;
    }
    long k = 0;
    int c;
    while ((nbytes < 0 || k < nbytes) && (c = fgetc(f)) != EOF) {
        fputc(c, g);
        k++;
    }
    fclose(f);
    fclose(g);
    return 0;
}

static inline long t_file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

#endif

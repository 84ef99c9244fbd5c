#include "runtime/pipeline.h"
#include "runtime/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

laperm_status lp_pipeline_init(lp_pipeline *p, lp_preprocess kind, const laperm_dataset *train)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    if (kind == LP_PRE_SCALE || kind == LP_PRE_RAW) return LAPERM_OK;
    if (!train) return lp_fail(LAPERM_E_ARG, "preprocessing needs the training set's statistics");
    p->h = train->h;
    p->w = train->w;
    p->c = train->c;
    size_t px = (size_t)train->h * train->w * train->c;
    if (kind == LP_PRE_MEAN_IMAGE) {
        /* numpy: mean over axis 0 of x / 255 (float32) */
        p->mean = malloc(px * sizeof(float));
        double *acc = calloc(px, sizeof(double));
        if (!p->mean || !acc) {
            free(acc);
            lp_pipeline_free(p);
            return lp_fail(LAPERM_E_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < train->n; i++) {
            const uint8_t *img = train->pixels + i * px;
            for (size_t j = 0; j < px; j++) acc[j] += (double)((float)img[j] / 255.0f);
        }
        for (size_t j = 0; j < px; j++) p->mean[j] = (float)(acc[j] / (double)train->n);
        free(acc);
        return LAPERM_OK;
    }
    /* STANDARDIZE: per channel over all training pixels */
    int c = train->c;
    p->mean = calloc((size_t)c, sizeof(float));
    p->inv_std = calloc((size_t)c, sizeof(float));
    double s[4] = {0}, s2[4] = {0};
    if (!p->mean || !p->inv_std || c > 4) {
        lp_pipeline_free(p);
        return lp_fail(LAPERM_E_NOMEM, "out of memory");
    }
    size_t total = train->n * (size_t)train->h * train->w;
    for (size_t i = 0; i < total; i++)
        for (int ch = 0; ch < c; ch++) {
            double v = train->pixels[i * c + ch];
            s[ch] += v;
            s2[ch] += v * v;
        }
    for (int ch = 0; ch < c; ch++) {
        double mean = s[ch] / total, var = s2[ch] / total - mean * mean;
        p->mean[ch] = (float)mean;
        p->inv_std[ch] = (float)(1.0 / sqrt(var + 1e-7));
    }
    return LAPERM_OK;
}

void lp_pipeline_free(lp_pipeline *p)
{
    free(p->mean);
    free(p->inv_std);
    p->mean = p->inv_std = NULL;
}

void lp_pipeline_fill(const lp_pipeline *p, const laperm_dataset *d, const uint32_t *idx,
                      size_t start, int n, float *x, uint8_t *labels)
{
    size_t px = (size_t)d->h * d->w * d->c;
    int c = d->c;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        size_t src = idx ? idx[i] : start + (size_t)i;
        const uint8_t *img = d->pixels + src * px;
        float *dst = x + (size_t)i * px;
        labels[i] = d->labels[src];
        switch (p->kind) {
        case LP_PRE_SCALE:
            for (size_t j = 0; j < px; j++) dst[j] = (float)img[j] / 255.0f;
            break;
        case LP_PRE_RAW:
            for (size_t j = 0; j < px; j++) dst[j] = (float)img[j];
            break;
        case LP_PRE_MEAN_IMAGE:
            for (size_t j = 0; j < px; j++) dst[j] = (float)img[j] / 255.0f - p->mean[j];
            break;
        case LP_PRE_STANDARDIZE:
            for (size_t j = 0; j < px; j++)
                dst[j] = ((float)img[j] - p->mean[j % c]) * p->inv_std[j % c];
            break;
        }
    }
}

void lp_evaluate(lp_model *m, const lp_kernels *k, const lp_pipeline *p, const laperm_dataset *d,
                 const uint32_t *idx, size_t count, float *x, uint8_t *labels, double *loss,
                 double *acc)
{
    double loss_sum = 0;
    size_t correct = 0;
    for (size_t at = 0; at < count; at += (size_t)m->max_batch) {
        int n = count - at < (size_t)m->max_batch ? (int)(count - at) : m->max_batch;
        lp_pipeline_fill(p, d, idx ? idx + at : NULL, at, n, x, labels);
        lp_model_forward(m, k, x, n, 0, 0, 0);
        size_t ok = 0;
        loss_sum += lp_model_loss_backward(m, k, labels, n, 0, &ok) * n;
        correct += ok;
    }
    *loss = (count ? loss_sum / (double)count : 0) + lp_model_l2_loss(m, k);
    *acc = count ? (double)correct / (double)count : 0;
}

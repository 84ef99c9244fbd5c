/* Fused softmax + sparse categorical cross-entropy from logits, per row:
 *     lse = max + log(sum exp(z - max)),  loss = lse - z[label]
 * (exp sums in double). The summed loss and the correct count are reduced
 * deterministically: rows are cut into fixed chunks of SX_CHUNK, each chunk's
 * partial sum is formed in row order, and the partials are added in chunk
 * order, whatever the thread count. A label outside [0, classes) gives a NaN
 * loss for its row (and no one-hot term). */
#include "kernels/scalar/scalar.h"

#include <math.h>

#define SX_CHUNK 32   /* rows per partial sum */
#define SX_SUPER 256  /* chunks per parallel round */

static double sx_row(int classes, const float *z, int32_t label, float grad_scale,
                     float *dz, float *pr, int *hit)
{
    float mx = z[0];
    int arg = 0;
    for (int j = 1; j < classes; j++)
        if (z[j] > mx) {
            mx = z[j];
            arg = j;
        }
    double s = 0.0;
    for (int j = 0; j < classes; j++) s += exp((double)z[j] - (double)mx);
    double lse = (double)mx + log(s);
    int ok = label >= 0 && label < classes;
    *hit = ok && arg == label;
    if (dz || pr) {
        double inv = 1.0 / s;
        for (int j = 0; j < classes; j++) {
            double p = exp((double)z[j] - (double)mx) * inv;
            if (pr) pr[j] = (float)p;
            if (dz) dz[j] = (float)((p - (j == label ? 1.0 : 0.0)) * grad_scale);
        }
    }
    return ok ? lse - (double)z[label] : NAN;
}

double lp_scalar_softmax_xent(size_t rows, int classes, const float *logits,
                              const int32_t *labels, float grad_scale, float *dlogits,
                              float *probs, size_t *correct)
{
    double total = 0.0;
    size_t hits = 0;
    if (classes <= 0) {
        if (correct) *correct = 0;
        return rows ? NAN : 0.0;
    }
    size_t nchunks = (rows + SX_CHUNK - 1) / SX_CHUNK;
    for (size_t c0 = 0; c0 < nchunks; c0 += SX_SUPER) {
        int nc = nchunks - c0 < SX_SUPER ? (int)(nchunks - c0) : SX_SUPER;
        double part[SX_SUPER];
        size_t phit[SX_SUPER];
#pragma omp parallel for schedule(static) if (nc > 1 && (size_t)nc * SX_CHUNK * classes > 8192)
        for (int ci = 0; ci < nc; ci++) {
            size_t r0 = (c0 + (size_t)ci) * SX_CHUNK;
            size_t r1 = r0 + SX_CHUNK < rows ? r0 + SX_CHUNK : rows;
            double s = 0.0;
            size_t h = 0;
            for (size_t r = r0; r < r1; r++) {
                size_t o = r * (size_t)classes;
                int hit;
                s += sx_row(classes, logits + o, labels[r], grad_scale,
                            dlogits ? dlogits + o : NULL, probs ? probs + o : NULL, &hit);
                h += (size_t)hit;
            }
            part[ci] = s;
            phit[ci] = h;
        }
        for (int ci = 0; ci < nc; ci++) {
            total += part[ci];
            hits += phit[ci];
        }
    }
    if (correct) *correct = hits;
    return total;
}

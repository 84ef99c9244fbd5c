/* AVX2 + FMA overrides of the scalar table. im2col stays scalar: an AVX2
 * version (inline 8-float copies instead of memcpy) measured no faster for
 * c = 64 and 30% slower for c = 3 than glibc's memcpy. */
#include "kernels/avx2/avx2.h"

void lp_kernels_init_avx2(lp_kernels *k)
{
    k->gemm = lp_avx2_gemm;
    k->impl[LP_KF_GEMM] = "avx2";

    k->conv_workspace = lp_avx2_conv_workspace;
    k->conv_fwd = lp_avx2_conv_fwd;
    k->conv_bwd_weights = lp_avx2_conv_bwd_weights;
    k->conv_bwd_data = lp_avx2_conv_bwd_data;
    k->impl[LP_KF_CONV] = "avx2";

    k->bn_fwd_train = lp_avx2_bn_fwd_train;
    k->bn_fwd_infer = lp_avx2_bn_fwd_infer;
    k->bn_bwd = lp_avx2_bn_bwd;
    k->impl[LP_KF_BN] = "avx2";

    /* average pooling keeps the scalar code: its one use is resnet50's
     * final 8x8 pool, 32-40 GB/s as the compiler vectorises it */
    k->maxpool_fwd = lp_avx2_maxpool_fwd;
    k->maxpool_bwd = lp_avx2_maxpool_bwd;
    k->impl[LP_KF_POOL] = "avx2";

    k->relu_fwd = lp_avx2_relu_fwd;
    k->relu_bwd = lp_avx2_relu_bwd;
    k->dropout_apply = lp_avx2_dropout_apply;
    k->bias_add = lp_avx2_bias_add;
    k->bias_grad = lp_avx2_bias_grad;
    k->relu_bias_grad = lp_avx2_relu_bias_grad;
    k->axpy = lp_avx2_axpy;
    k->add = lp_avx2_add;
    k->sumsq = lp_avx2_sumsq;
    k->impl[LP_KF_ELTWISE] = "avx2";

    k->adam_update = lp_avx2_adam_update;
    k->impl[LP_KF_ADAM] = "avx2";

    k->argsort_workspace = lp_avx2_argsort_workspace;
    k->argsort = lp_avx2_argsort;
    k->sync_workspace = lp_avx2_sync_workspace;
    k->sync = lp_avx2_sync;
    k->impl[LP_KF_SYNC] = "avx2";
}

/* AVX-512 overrides. The dispatcher applies kernels/avx2 first, so every
 * entry not set here keeps its AVX2 version (and its "avx2" name). */
#include "kernels/avx512/avx512.h"

void lp_kernels_init_avx512(lp_kernels *k)
{
    k->gemm = lp_avx512_gemm;
    k->impl[LP_KF_GEMM] = "avx512";
    k->conv_workspace = lp_avx512_conv_workspace;
    k->conv_fwd = lp_avx512_conv_fwd;
    k->conv_fwd_ep = lp_avx512_conv_fwd_ep;
    k->conv_bwd_data = lp_avx512_conv_bwd_data;
    k->conv_bwd_weights = lp_avx512_conv_bwd_weights;
    k->impl[LP_KF_CONV] = "avx512";
    k->bn_fwd_train = lp_avx512_bn_fwd_train;
    k->bn_fwd_infer = lp_avx512_bn_fwd_infer;
    k->bn_bwd = lp_avx512_bn_bwd;
    k->impl[LP_KF_BN] = "avx512";
    k->relu_fwd = lp_avx512_relu_fwd;
    k->relu_bwd = lp_avx512_relu_bwd;
    k->dropout_apply = lp_avx512_dropout_apply;
    k->bias_add = lp_avx512_bias_add;
    k->bias_grad = lp_avx512_bias_grad;
    k->relu_bias_grad = lp_avx512_relu_bias_grad;
    k->axpy = lp_avx512_axpy;
    k->add = lp_avx512_add;
    k->sumsq = lp_avx512_sumsq;
    k->impl[LP_KF_ELTWISE] = "avx512";
    k->adam_update = lp_avx512_adam_update;
    k->impl[LP_KF_ADAM] = "avx512";
    k->sync_workspace = lp_avx512_sync_workspace;
    k->sync = lp_avx512_sync;
    k->impl[LP_KF_SYNC] = "avx512";
}

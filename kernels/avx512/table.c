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
    k->sync_workspace = lp_avx512_sync_workspace;
    k->sync = lp_avx512_sync;
    k->impl[LP_KF_SYNC] = "avx512";
}

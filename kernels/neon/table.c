/* NEON overrides of the scalar table (aarch64). */
#include "kernels/neon/neon.h"

void lp_kernels_init_neon(lp_kernels *k)
{
    k->gemm = lp_neon_gemm;
    k->impl[LP_KF_GEMM] = "neon";
    k->conv_workspace = lp_neon_conv_workspace;
    k->conv_bwd_weights = lp_neon_conv_bwd_weights;
    k->impl[LP_KF_CONV] = "neon";
    k->bn_fwd_train = lp_neon_bn_fwd_train;
    k->bn_fwd_infer = lp_neon_bn_fwd_infer;
    k->bn_bwd = lp_neon_bn_bwd;
    k->impl[LP_KF_BN] = "neon";
    /* average pooling keeps the scalar code (resnet50's final 8x8 pool) */
    k->maxpool_fwd = lp_neon_maxpool_fwd;
    k->maxpool_bwd = lp_neon_maxpool_bwd;
    k->impl[LP_KF_POOL] = "neon";
    k->relu_fwd = lp_neon_relu_fwd;
    k->relu_bwd = lp_neon_relu_bwd;
    k->dropout_apply = lp_neon_dropout_apply;
    k->bias_add = lp_neon_bias_add;
    k->bias_grad = lp_neon_bias_grad;
    k->relu_bias_grad = lp_neon_relu_bias_grad;
    k->axpy = lp_neon_axpy;
    k->add = lp_neon_add;
    k->sumsq = lp_neon_sumsq;
    k->impl[LP_KF_ELTWISE] = "neon";
    k->adam_update = lp_neon_adam_update;
    k->impl[LP_KF_ADAM] = "neon";
    k->argsort_workspace = lp_neon_argsort_workspace;
    k->argsort = lp_neon_argsort;
    k->sync_workspace = lp_neon_sync_workspace;
    k->sync = lp_neon_sync;
    k->impl[LP_KF_SYNC] = "neon";
}

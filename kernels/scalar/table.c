#include "kernels/scalar/scalar.h"

void lp_kernels_init_scalar(lp_kernels *k)
{
    for (int f = 0; f < LP_KF_COUNT; f++) k->impl[f] = "scalar";
    k->gemm = lp_scalar_gemm;
    k->im2col = lp_scalar_im2col;
    k->col2im = lp_scalar_col2im;
    k->conv_workspace = lp_scalar_conv_workspace;
    k->conv_fwd = lp_scalar_conv_fwd;
    k->conv_fwd_ep = NULL; /* layers call conv_fwd, bias_add, relu_fwd */
    k->relu_bias_grad = NULL; /* and relu_bwd, bias_grad */
    k->conv_bwd_data = lp_scalar_conv_bwd_data;
    k->conv_bwd_weights = lp_scalar_conv_bwd_weights;
    k->bias_add = lp_scalar_bias_add;
    k->bias_grad = lp_scalar_bias_grad;
    k->relu_fwd = lp_scalar_relu_fwd;
    k->relu_bwd = lp_scalar_relu_bwd;
    k->maxpool_fwd = lp_scalar_maxpool_fwd;
    k->maxpool_bwd = lp_scalar_maxpool_bwd;
    k->avgpool_fwd = lp_scalar_avgpool_fwd;
    k->avgpool_bwd = lp_scalar_avgpool_bwd;
    k->bn_fwd_train = lp_scalar_bn_fwd_train;
    k->bn_fwd_infer = lp_scalar_bn_fwd_infer;
    k->bn_bwd = lp_scalar_bn_bwd;
    k->dropout_apply = lp_scalar_dropout_apply;
    k->softmax_xent = lp_scalar_softmax_xent;
    k->sumsq = lp_scalar_sumsq;
    k->axpy = lp_scalar_axpy;
    k->add = lp_scalar_add;
    k->copy = lp_scalar_copy;
    k->adam_update = lp_scalar_adam_update;
    k->argsort_workspace = lp_scalar_argsort_workspace;
    k->argsort = lp_scalar_argsort;
    k->sync_workspace = lp_scalar_sync_workspace;
    k->sync = lp_scalar_sync;
}

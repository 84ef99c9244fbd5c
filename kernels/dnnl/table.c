/* lp_kernels_init_dnnl: layer the oneDNN conv and batch norm kernels over a
 * native table, keeping the native entries as the fallback for shapes
 * oneDNN rejects. The saved natives are process-wide (the BN entries get no
 * table pointer): the last table initialised supplies them, and
 * initialising a table that already has the dnnl entries keeps the earlier
 * natives rather than saving the dnnl kernels as their own fallback. */
#define _POSIX_C_SOURCE 200809L
#include "kernels/dnnl/dnnl_internal.h"

#include <stdlib.h>
#include <string.h>

int lp_kernels_init_dnnl(lp_kernels *k)
{
    if (lp_dnnl_setup() != 0) return -1;
    const char *wl = getenv("LAPERM_DNNL_CONV_WEIGHTS");

    lp_dnnl_lock();
    lp_dnnl_weights_any = !(wl && strcmp(wl, "hwio") == 0);
#define SAVE(f)                                                                              \
    if (k->f != lp_dnnl_##f) lp_dnnl_prev.f = k->f
    SAVE(conv_workspace);
    SAVE(conv_fwd);
    SAVE(conv_bwd_data);
    SAVE(conv_bwd_weights);
    SAVE(bn_fwd_train);
    SAVE(bn_fwd_infer);
    SAVE(bn_bwd);
#undef SAVE
    lp_dnnl_unlock();

    k->conv_workspace = lp_dnnl_conv_workspace;
    k->conv_fwd = lp_dnnl_conv_fwd;
    k->conv_fwd_ep = NULL; /* the native fused epilogue would bypass oneDNN */
    k->conv_bwd_data = lp_dnnl_conv_bwd_data;
    k->conv_bwd_weights = lp_dnnl_conv_bwd_weights;
    k->bn_fwd_train = lp_dnnl_bn_fwd_train;
    k->bn_fwd_infer = lp_dnnl_bn_fwd_infer;
    k->bn_bwd = lp_dnnl_bn_bwd;
    k->impl[LP_KF_CONV] = "dnnl";
    k->impl[LP_KF_BN] = "dnnl";
    return 0;
}

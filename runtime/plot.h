/* Plots through cairo (LAPERM_WITH_PLOT): PNG, or SVG when the name ends in
 * .svg. Without cairo every function returns LAPERM_E_UNSUPPORTED. */
#ifndef LAPERM_RUNTIME_PLOT_H
#define LAPERM_RUNTIME_PLOT_H

#include "runtime/h5io.h"
#include "runtime/train.h"

/* Training curves: accuracy and loss, train and validation, against step. */
laperm_status lp_plot_history_rows(const char *out, const lp_history_row *rows, int n,
                                   const char *title);

/* Read a history CSV (header step,epoch,val_loss,val_acc,train_loss,train_acc). */
laperm_status lp_history_read_csv(const char *path, lp_history_row **rows, int *n);

/* The seed's Profiler: one panel per weight matrix (rank >= 2 kernels), each
 * vector's sorted values as a curve, titled with layer name and shape. */
laperm_status lp_plot_profile(const char *out, const lp_h5_weights *w, const char *title);

/* The seed's PermutationTracer: the layer's kernel before and after as
 * images, arrows from each moved weight's old position to its new one
 * (vector j only, or all vectors when j < 0). */
laperm_status lp_plot_trace(const char *out, const lp_h5_weights *before,
                            const lp_h5_weights *after, const char *layer, int vector);

#endif

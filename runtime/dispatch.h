/* Kernel dispatch: detects the CPU once, picks the best implementation of
 * each kernel family and keeps it in one table. LAPERM_ISA forces an
 * instruction set, LAPERM_BACKEND (or lp_dispatch_init's argument) picks the
 * native kernels or oneDNN for convolution and batch norm. */
#ifndef LAPERM_RUNTIME_DISPATCH_H
#define LAPERM_RUNTIME_DISPATCH_H

#include "kernels/kernels.h"
#include "laperm/laperm.h"

typedef enum lp_isa { LP_ISA_SCALAR, LP_ISA_AVX2, LP_ISA_AVX512, LP_ISA_NEON, LP_ISA_COUNT } lp_isa;

/* Select kernels. isa/backend: NULL means the environment (LAPERM_ISA,
 * LAPERM_BACKEND), else the best available / "native". Returns
 * LAPERM_E_UNSUPPORTED for an ISA this CPU or build lacks, LAPERM_E_ARG for an
 * unknown name. May be called again to switch (not while kernels run). */
laperm_status lp_dispatch_init(const char *isa, const char *backend);

/* The selected table (initialises with defaults on first use). */
const lp_kernels *lp_kernels_get(void);

/* A fresh table for a given ISA (tests compare ISAs against scalar). */
laperm_status lp_kernels_for_isa(lp_isa isa, lp_kernels *out);

lp_isa lp_isa_selected(void);
const char *lp_isa_name(lp_isa isa);
/* 1 if both this build has kernels for isa and this CPU runs them. */
int lp_isa_supported(lp_isa isa);
const char *lp_backend_selected(void);

#endif

/* registry.c - which op implements which layer kind. */
#include "ops/op.h"

extern const lam_op lam_op_dense, lam_op_conv2d, lam_op_maxpool2d, lam_op_avgpool2d,
    lam_op_flatten, lam_op_activation, lam_op_dropout, lam_op_lstm, lam_op_gru, lam_op_simplernn,
    lam_op_bidirectional;

const lam_op *lam_op_for(lam_layer_kind kind)
{
    static const lam_op *const table[LAM_LAYER_KIND_COUNT] = {
        [LAM_LAYER_DENSE] = &lam_op_dense,
        [LAM_LAYER_CONV2D] = &lam_op_conv2d,
        [LAM_LAYER_MAXPOOL2D] = &lam_op_maxpool2d,
        [LAM_LAYER_AVGPOOL2D] = &lam_op_avgpool2d,
        [LAM_LAYER_FLATTEN] = &lam_op_flatten,
        [LAM_LAYER_ACTIVATION] = &lam_op_activation,
        [LAM_LAYER_DROPOUT] = &lam_op_dropout,
        [LAM_LAYER_LSTM] = &lam_op_lstm,
        [LAM_LAYER_GRU] = &lam_op_gru,
        [LAM_LAYER_SIMPLERNN] = &lam_op_simplernn,
        [LAM_LAYER_BIDIRECTIONAL] = &lam_op_bidirectional,
    };
    return (unsigned)kind < LAM_LAYER_KIND_COUNT ? table[kind] : NULL;
}

/* registry.c - which op implements which layer kind. */
#include "ops/op.h"

extern const lam_op lam_op_dense, lam_op_conv2d, lam_op_maxpool2d, lam_op_avgpool2d,
    lam_op_flatten, lam_op_activation, lam_op_dropout, lam_op_lstm, lam_op_gru, lam_op_simplernn;
/* merge.c, reshape.c */
extern const lam_op lam_op_add, lam_op_subtract, lam_op_multiply, lam_op_average, lam_op_maximum,
    lam_op_minimum, lam_op_concatenate, lam_op_reshape, lam_op_permute, lam_op_repeat_vector;
/* normalization.c, conv2d.c, pooling.c, global_pooling.c, resize.c */
extern const lam_op lam_op_batch_norm, lam_op_layer_norm, lam_op_conv1d, lam_op_maxpool1d,
    lam_op_avgpool1d, lam_op_global_avgpool1d, lam_op_global_avgpool2d, lam_op_global_maxpool1d,
    lam_op_global_maxpool2d, lam_op_zero_padding2d, lam_op_upsampling2d;
/* bidirectional.c */
extern const lam_op lam_op_bidirectional;
/* embedding.c, position_embedding.c, attention.c */
extern const lam_op lam_op_embedding, lam_op_position_embedding,
    lam_op_token_and_position_embedding, lam_op_multi_head_attention;
/* preprocessing.c */
extern const lam_op lam_op_normalization;

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
        [LAM_LAYER_ADD] = &lam_op_add,
        [LAM_LAYER_SUBTRACT] = &lam_op_subtract,
        [LAM_LAYER_MULTIPLY] = &lam_op_multiply,
        [LAM_LAYER_AVERAGE] = &lam_op_average,
        [LAM_LAYER_MAXIMUM] = &lam_op_maximum,
        [LAM_LAYER_MINIMUM] = &lam_op_minimum,
        [LAM_LAYER_CONCATENATE] = &lam_op_concatenate,
        [LAM_LAYER_RESHAPE] = &lam_op_reshape,
        [LAM_LAYER_PERMUTE] = &lam_op_permute,
        [LAM_LAYER_REPEAT_VECTOR] = &lam_op_repeat_vector,
        [LAM_LAYER_BATCH_NORM] = &lam_op_batch_norm,
        [LAM_LAYER_LAYER_NORM] = &lam_op_layer_norm,
        [LAM_LAYER_CONV1D] = &lam_op_conv1d,
        [LAM_LAYER_MAXPOOL1D] = &lam_op_maxpool1d,
        [LAM_LAYER_AVGPOOL1D] = &lam_op_avgpool1d,
        [LAM_LAYER_GLOBAL_AVGPOOL1D] = &lam_op_global_avgpool1d,
        [LAM_LAYER_GLOBAL_AVGPOOL2D] = &lam_op_global_avgpool2d,
        [LAM_LAYER_GLOBAL_MAXPOOL1D] = &lam_op_global_maxpool1d,
        [LAM_LAYER_GLOBAL_MAXPOOL2D] = &lam_op_global_maxpool2d,
        [LAM_LAYER_ZERO_PADDING2D] = &lam_op_zero_padding2d,
        [LAM_LAYER_UPSAMPLING2D] = &lam_op_upsampling2d,
        [LAM_LAYER_BIDIRECTIONAL] = &lam_op_bidirectional,
        [LAM_LAYER_EMBEDDING] = &lam_op_embedding,
        [LAM_LAYER_POSITION_EMBEDDING] = &lam_op_position_embedding,
        [LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING] = &lam_op_token_and_position_embedding,
        [LAM_LAYER_MULTI_HEAD_ATTENTION] = &lam_op_multi_head_attention,
        [LAM_LAYER_NORMALIZATION] = &lam_op_normalization,
    };
    return (unsigned)kind < LAM_LAYER_KIND_COUNT ? table[kind] : NULL;
}

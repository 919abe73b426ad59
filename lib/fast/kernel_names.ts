/**
 * Names of the project's fused tfjs kernels. A backend that registers a
 * kernel under one of these names gets the fused path (lib/fast/fused_ops.ts);
 * every other backend runs the plain tfjs composite of the same formula.
 */
export const GELU_NEW = "RlhfGeluNew";
export const GELU_NEW_GRAD = "RlhfGeluNewGrad";
export const LAYER_NORM = "RlhfLayerNorm";
export const LAYER_NORM_GRAD = "RlhfLayerNormGrad";
export const CROSS_ENTROPY = "RlhfCrossEntropy";
export const CROSS_ENTROPY_GRAD = "RlhfCrossEntropyGrad";
export const ROW_ENTROPY = "RlhfRowEntropy";
export const ADAMW_UPDATE = "RlhfAdamWUpdate";
export const MASKED_SOFTMAX = "RlhfMaskedSoftmax";
export const MASKED_SOFTMAX_GRAD = "RlhfMaskedSoftmaxGrad";
export const LINEAR = "RlhfLinear";
export const LINEAR_GRAD = "RlhfLinearGrad";
export const MATMUL_TRANSPOSE_B = "RlhfMatMulTransposeB";
export const ATTENTION_INFERENCE = "RlhfAttentionInference";
export const ATTENTION = "RlhfAttention";
export const ATTENTION_GRAD = "RlhfAttentionGrad";
export const GLOBAL_NORM = "RlhfGlobalNorm";
export const BLOCK_INFERENCE = "RlhfBlockInference";

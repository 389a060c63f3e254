/**
 * The tensor-cuda ops this package uses (the op API contract): one place to see the model's
 * dependencies on the tensor core.
 */
export { attention, clamp, crossEntropy, documentLayout, embedding, layerNorm, rmsNorm, rope, swiglu } from '@olmo/tensor-cuda';

/**
 * @olmo/tensor-cuda — native tensors (CPU via OpenBLAS + OpenMP, CUDA via nvcc kernels),
 * reverse-mode autograd, memory scopes, flat parameter buffers and seeded RNG.
 */
export * from './errors.js';
export * from './cli/index.js';
export * from './dtype.js';
export { type Device, deviceIndex, cudaAvailable, cudaDeviceCount, assertDeviceUsable } from './device.js';
export { native, memoryStats, resetPeakMemory, buildInfo, blasState, emptyCache, cudaGemmInfo, type BuildInfo, type BlasState, type CudaGemmInfo } from './native.js';
export { Tensor, shapeSize, contiguousStrides, type Shape } from './tensor.js';
export { tidy, tidyAsync, keep, untracked } from './scope.js';
export { checkpoint } from './checkpoint.js';
export { withAutocast, autocastDtype, type AutocastDtype } from './autocast.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, needsGrad, record, markBf16Values, holdsBf16Values, type GradNode, type BackwardInfo } from './autograd.js';
export { tensor, empty, zeros, ones, full, arange, type TensorOptions } from './creation.js';
export { Generator, randn, rand, truncNormal } from './rng.js';
export { FlatBuffer, type FlatEntry } from './flat.js';
export { Storage } from './storage.js';
export { QTensor, QBLOCK_BYTES, type QFormat } from './qtensor.js';
export * from './ops/index.js';
export { ProcessGroup, Work, DistributedError, launcherEnv, type Backend, type ReduceOp, type CommStats } from './dist/process-group.js';
export { FSDP, FsdpUnit, fsdpUnits, type FsdpUnitSpec, type FsdpParamEntry, type ShardPiece, type FsdpMemoryReport, type FsdpOverlapStats } from './dist/fsdp.js';

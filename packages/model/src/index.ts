/**
 * @olmo/model — OLMo-1 / OLMo-2 models, configs and presets, OLMo's init schemes, HF checkpoint
 * IO (validated safetensors, sharded sets) and streaming generation with a KV cache.
 */
export { OLMoConfig, padVocab, validateConfig, parameterSpecs, countParameters, flopsPerToken, headDim } from './config.js';
export type { Architecture, InitFn, ParamSpec } from './config.js';
export { OLMo, KVCache, ACTIVATION_CHECKPOINTING } from './model.js';
export type { ActivationCheckpointing } from './model.js';
export type { FromPretrainedOptions, InitOptions, ForwardOptions, ForwardOutput } from './model.js';
export { generateText, sampleNext } from './generate.js';
export type { GenerateOptions, TokenizerLike } from './generate.js';
export { initSpecFor, type InitSpec } from './init.js';
export {
  SafetensorsFile, SafetensorsSet, parseSafetensorsHeader, writeSafetensors, saveSafetensorsDir, parseByteSize,
  f16ToF32, f32ToF16, f32ToBf16, SAFETENSORS_DTYPE_BYTES, MAX_HEADER_BYTES,
} from './safetensors.js';
export type { SafetensorsDType, TensorInfo, WriteEntry, SaveDType } from './safetensors.js';
export { runGenerateCli, parseGenerateArgs } from './cli.js';
export { CheckpointError, ConfigError, OlmoError } from './errors.js';

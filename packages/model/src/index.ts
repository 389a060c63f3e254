/**
 * @olmo/model — OLMo-1 / OLMo-2 models, configs and presets, OLMo's init schemes, HF checkpoint
 * IO (validated safetensors, sharded sets) and streaming generation with a KV cache.
 */
export { OLMoConfig, padVocab, validateConfig, parameterSpecs, countParameters, flopsPerToken, headDim } from './config.js';
export type { Architecture, InitFn, ParamSpec } from './config.js';
export { OLMo } from './model.js';
export { KVCache } from './kv-cache.js';
export { ACTIVATION_CHECKPOINTING } from './forward-options.js';
export type { ActivationCheckpointing, ForwardOptions, ForwardOutput } from './forward-options.js';
export type { FromPretrainedOptions } from './pretrained.js';
export type { InitOptions } from './init-weights.js';
export { generateText, sampleNext, checkTokenizerFits } from './generate.js';
export type { GenerateOptions, TokenizerLike } from './generate.js';
export { initSpecFor, type InitSpec } from './init.js';
export {
  SafetensorsFile, SafetensorsSet, parseSafetensorsHeader, writeSafetensors, saveSafetensorsDir, parseByteSize,
  f16ToF32, f32ToF16, f32ToBf16, SAFETENSORS_DTYPE_BYTES, MAX_HEADER_BYTES,
} from './safetensors.js';
export type { SafetensorsDType, TensorInfo, WriteEntry, SaveDType } from './safetensors.js';
export { runGenerateCli, parseGenerateArgs, generateCommand, GENERATE_SPEC } from './cli.js';
export { exportGguf, runExportCli, parseExportArgs, configMetadata, EXPORT_USAGE, EXPORT_GGUF_SPEC, exportCommand } from './gguf/export.js';
export type { ExportGgufOptions } from './gguf/export.js';
export { GgufFile, parseGgufHeader } from './gguf/reader.js';
export type { GgufTensorInfo, GgufMetaValue } from './gguf/reader.js';
export { writeGguf } from './gguf/writer.js';
export type { GgufValue, GgufTensorEntry } from './gguf/writer.js';
export { configFromGguf, readGgufTokenizerJson, resolveGgufPrecision } from './gguf/load.js';
export { ggufFilePrecision } from './gguf/load-weights.js';
export { tokenizerMetadata, tokenizerJsonFromGguf, llamaPreTokenizerName } from './gguf/tokenizer-metadata.js';
export { encodeTensor as encodeGgufTensor, decodeTensor as decodeGgufTensor } from './gguf/quant.js';
export { GGUF_TENSOR_TYPES, ValueType as GgufValueType, permuteRopeRows, ggufTensorName } from './gguf/format.js';
export type { GgufTensorType, GgufArch } from './gguf/format.js';
export { CheckpointError, ConfigError, OlmoError } from './errors.js';
export { parsePrecision, formatFor, type WeightDType, type Quantization, type Precision, type WeightFormat, type Weight } from './weights.js';

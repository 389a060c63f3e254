/**
 * @olmo/data — corpus preparation (text → OLMo token files), memmap datasets, OLMo's exact global
 * data order (numpy PCG64 shuffle), data mixes and "what was in batch N".
 */
export { DataError, OlmoError } from './errors.js';
export { writeNpy, readNpy, npyHeader, writeFileAtomic, type NpyDtype, type IntArray } from './npy.js';
export { Pcg64Ref, seedWords, seedSequenceState, pcg64RawRef, shuffleRef, globalOrderRef, type Seed } from './pcg64.js';
export { shuffleU32, globalOrder, globalOrderAsync, shuffleNativeBuffer, pcg64Raw, pcg64SeededState, nativeShuffleAvailable, type ShuffleOptions } from './shuffle.js';
export {
  globalIndices, globalIndicesAsync, totalSize, rankIndices, globalBatch, stepsPerEpoch, resumeRankIndices, orderCachePath,
  type GlobalIndicesOptions,
} from './order.js';
export { MemMapDataset, expandPaths, sidecarPath, type MemMapOptions, type Instance } from './memmap.js';
export { readManifest, manifestFor, checkManifestTokenizer, MANIFEST_NAME, type Manifest, type ManifestFile, type ManifestSource, type TokenDtype, type TokenizerIdentity } from './manifest.js';
export { prepare, loadTokenizer, type PrepareOptions, type PrepareResult, type PrepareProgress, type TokenizerLike } from './prepare.js';
export { resolveSources, readDocs, type Doc, type SourceUnit } from './sources.js';
export { DataMix, MixedDataset, formatMixTable, type DataMixSpec, type MixSource, type MixRow, type RealiseOptions, type MixedInstance } from './mix.js';
export { parseRunConfig, loadRunConfig, type DataRunConfig } from './config.js';
export { runDataCli, dataCommand, prepareCommand, inspectCommand, orderCommand } from './cli.js';
export {
  encodeSftExample, encodeSftDataset, readSftJsonl, readJsonl, packSft, padSft, emptySftStats, IGNORE_INDEX,
  type ChatTokenizer, type SftExample, type SftEncodeOptions, type SftEncodeResult, type SftSkipReason, type SftStats, type SftRows, type OverLength,
} from './sft.js';
export { encodeDpoPairs, readDpoJsonl, dpoConversations, type DpoPairInput, type DpoPair, type DpoStats } from './dpo-data.js';
/** Dolma-style curation: tag, dedupe, mix, decon (see README "Curation"). */
export * as curation from './curation/index.js';

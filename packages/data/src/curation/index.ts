/** Public API of the curation toolkit (Dolma's tag / dedupe / mix / decon). */
export type { Attributes, DolmaDocument, Span, Tagger, TaggerFactory } from './types.js';
export { registerTagger, createTagger, taggerNames, importTaggerModules } from './registry.js';
export { nativeTextTaggers } from './taggers/native.js';
export { runTag, type TagOptions, type TagResult } from './tag.js';
export { tagFile } from './tag-file.js';
export { runDedupe, type DedupeOptions, type DedupeResult } from './dedupe.js';
export { runMix, loadMixConfig, type StreamConfig, type MixResult } from './mix.js';
export { runDecon, evalParagraphs, type DeconOptions } from './decon.js';
export { BloomFilter, bloomSize } from './bloom.js';
export { attributesPathFor, formatAttributesLine, spansToAttributes } from './attributes.js';
export { readLines, parseDocument, AtomicLineWriter, expandGlobs } from './documents.js';
export { replaceSpans } from './span-replace.js';
export { attributeHistograms, renderHtml, renderMarkdown, writeReport } from './report.js';
export { cmdTag, cmdDedupe, cmdMix, cmdDecon } from './cli.js';
export * as pystr from './pystr.js';
export { runCurationStage, type CurationStageResult } from './demo-stage.js';
export { FtLangIdEnDocV2, loadEnglishScorer, loadLanguageModel, loadNativeLanguageModel, nativeEnglishScorer, wasmEnglishScorer, languageInput, type EnglishScorer } from './taggers/language.js';

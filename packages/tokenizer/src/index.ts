/**
 * @olmo/tokenizer — byte-level BPE identical to HF `tokenizers`, tiktoken ranks, BPE training.
 * Pure TypeScript; see README.md.
 */
export { Tokenizer, canonicalJSON } from './tokenizer.js';
export type { ApplyChatTemplateOptions, TokenizerLike, EncodeOptions, DecodeOptions, TokenizerOptions, EncodingWithOffsets } from './tokenizer.js';
export type { BatchAsyncOptions } from './pool.js';
export type { AddedToken } from './added-tokens.js';
export { dolma2SpecialTokens } from './tiktoken.js';
export type { TiktokenOptions, SpecialTokenSpec } from './tiktoken.js';
export { CL100K_PATTERN } from './train.js';
export type { TrainOptions } from './train.js';
export { GPT2_PATTERN } from './pretokenizers.js';
export { OlmoError, TokenizerError, TokenizerArgumentError } from './errors.js';
export type { OlmoErrorCode } from './errors.js';
export { OLMO_CHAT_TEMPLATE, OLMO2_CHAT_TEMPLATE, TULU_CHAT_TEMPLATE, CHAT_ROLES, ChatTemplateError, ChatMessageError, renderChatTemplate, validateMessages } from './chat-template.js';
export type { ChatMessage, ChatRole, RenderChatOptions } from './chat-template.js';
export { readPretrained, SPECIAL_TOKEN_NAMES } from './pretrained.js';
export type { ChatConfig, PretrainedFiles } from './pretrained.js';

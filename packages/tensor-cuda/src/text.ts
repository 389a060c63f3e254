/**
 * `@olmo/tensor-cuda/text`: the text ops alone — the native loader, the error types, the Dolma
 * tagger kernels (ops/text-taggers.ts) and the fastText classifier (ops/fasttext.ts) — for code that
 * tags text and never builds a tensor. Importing the package root loads every module of the tensor
 * library (~70 ms of CPU per thread, measured on the 2-core dev VM); `olmo data tag --processes N`
 * pays its imports once per worker thread, so @olmo/data's curation modules import from here.
 * Same classes and functions as the root (one module instance: `instanceof OlmoError` holds across both).
 */
export * from './errors.js';
export { native } from './native.js';
export * from './ops/text-taggers.js';
export * from './ops/fasttext.js';
export * from './ops/gzip-reader.js';

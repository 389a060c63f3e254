/**
 * Perplexity and bits-per-byte over raw texts or prepared token files.
 *
 * - Texts (Paloma-style): each text is a document, tokenized without special tokens and preceded by eos
 *   (the document boundary the model saw in training); it is split into windows of `seqLen` tokens that
 *   overlap by one token, so every text token is predicted exactly once. Bytes are the text's UTF-8 bytes.
 * - Token files (OLMo's LM evaluator): the token stream is cut into consecutive `seqLen` instances (the
 *   remainder is dropped, as OLMo's memmap dataset does); each instance predicts seqLen - 1 tokens. Bytes
 *   are the UTF-8 bytes of the decoded predicted tokens (special tokens skipped).
 *
 * Reported: `crossEntropy` = token-weighted mean NLL (nats), `perplexity` = exp(crossEntropy),
 * `bitsPerByte` = Σ NLL / (ln 2 · bytes) (Paloma's tokenizer-independent metric), and OLMo's in-loop
 * number `instanceCrossEntropy` = mean over instances of each instance's mean NLL.
 */
import { existsSync, readFileSync } from 'node:fs';
import { argError, configError, dataError, notFound } from './errors.js';
import { asScoringModel, type ScoringModel, type TokenizerLike } from './model.js';
import { createProgress } from './progress.js';
import { scoreSpans, type Span } from './scorer.js';
import { utf8Len } from './py.js';

export type PerplexityInput = string[] | { texts: string[] } | { tokenFiles: string[]; dtype?: 'uint16' | 'uint32' };

export interface PerplexityOptions {
  /** Window / instance length in tokens (default: the model's context length). */
  seqLen?: number;
  batchSize?: number;
  /** Cap on the number of instances scored (texts: whole documents are kept, so it may be exceeded by one document). */
  maxInstances?: number;
  progress?: boolean;
}

export interface PerplexityResult {
  crossEntropy: number;
  perplexity: number;
  bitsPerByte: number;
  tokens: number;
  bytes: number;
  instances: number;
  /** OLMo's eval/{label}/CrossEntropyLoss: mean over instances of the per-instance mean CE. */
  instanceCrossEntropy: number;
  instancePerplexity: number;
}

/** Reads a token file: `.npy` (uint16/uint32/int32/int64 1-D) or a raw memmap (`dtype`, default by extension/uint16). */
export function readTokenFile(file: string, dtype?: 'uint16' | 'uint32'): Uint32Array {
  if (!existsSync(file)) throw notFound(`token file ${file} not found`, 'pass prepared token files (.npy or raw uint16/uint32 memmap)');
  const buf = readFileSync(file);
  if (buf.length >= 10 && buf[0] === 0x93 && buf.toString('latin1', 1, 6) === 'NUMPY') {
    const major = buf[6]!;
    const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
    const hstart = major === 1 ? 10 : 12;
    const header = buf.toString('latin1', hstart, hstart + hlen);
    const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
    if (/'fortran_order':\s*True/.test(header)) throw dataError(`${file}: fortran-ordered arrays are not supported`);
    const data = buf.subarray(hstart + hlen);
    const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    switch (descr) {
      case '<u2': return Uint32Array.from(new Uint16Array(ab, 0, data.byteLength >> 1));
      case '<u4': return new Uint32Array(ab, 0, data.byteLength >> 2);
      case '<i4': return Uint32Array.from(new Int32Array(ab, 0, data.byteLength >> 2));
      case '<i8': return Uint32Array.from(new BigInt64Array(ab, 0, data.byteLength >> 3), (x) => Number(x));
      default: throw dataError(`${file}: unsupported npy dtype ${descr}`, 'use uint16, uint32, int32 or int64 token arrays');
    }
  }
  const dt = dtype ?? (/\.(u32|uint32)$/.test(file) ? 'uint32' : 'uint16');
  const width = dt === 'uint16' ? 2 : 4;
  if (buf.length % width !== 0) throw dataError(`${file}: ${buf.length} bytes is not a multiple of ${width} (${dt})`);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return dt === 'uint16' ? Uint32Array.from(new Uint16Array(ab)) : new Uint32Array(ab);
}

interface Window { ids: number[]; bytes: number }

export async function evaluatePerplexity(modelIn: ScoringModel | unknown, tokenizer: TokenizerLike | null, input: PerplexityInput, opts: PerplexityOptions = {}): Promise<PerplexityResult> {
  const model = asScoringModel(modelIn);
  const seqLen = opts.seqLen ?? model.contextLength;
  if (!Number.isInteger(seqLen) || seqLen < 2) throw argError(`seqLen must be an integer ≥ 2, got ${seqLen}`);
  if (seqLen > model.contextLength) throw configError(`seqLen ${seqLen} exceeds the model context length ${model.contextLength}`);
  if (tokenizer && typeof tokenizer.vocabSize === 'number' && tokenizer.vocabSize > model.vocabSize) {
    throw configError(`tokenizer vocabulary (${tokenizer.vocabSize}) is larger than the model's (${model.vocabSize})`, 'use the tokenizer the checkpoint was trained with');
  }
  const windows: Window[] = [];
  const texts = Array.isArray(input) ? input : 'texts' in input ? input.texts : undefined;
  let totalBytes = 0;
  if (texts) {
    if (!tokenizer) throw argError('a tokenizer is required to evaluate texts');
    for (const text of texts) {
      if (opts.maxInstances !== undefined && windows.length >= opts.maxInstances) break;
      if (typeof text !== 'string') throw argError('texts must be strings');
      const body = tokenizer.encode(text, { addSpecialTokens: false });
      if (body.length === 0) continue;
      totalBytes += utf8Len(text);
      const ids = [tokenizer.eosTokenId, ...body];
      for (let s = 0; s + 1 < ids.length; s += seqLen - 1) windows.push({ ids: ids.slice(s, s + seqLen), bytes: 0 });
    }
  } else {
    const files = (input as { tokenFiles: string[] }).tokenFiles;
    if (!Array.isArray(files) || files.length === 0) throw argError('pass texts or { tokenFiles: [...] }');
    const dtype = (input as { dtype?: 'uint16' | 'uint32' }).dtype;
    for (const f of files) {
      const toks = readTokenFile(f, dtype);
      for (let s = 0; s + seqLen <= toks.length && !(opts.maxInstances !== undefined && windows.length >= opts.maxInstances); s += seqLen) {
        const ids = Array.from(toks.subarray(s, s + seqLen));
        const bytes = tokenizer ? utf8Len(tokenizer.decode(ids.slice(1), { skipSpecialTokens: true })) : 0;
        totalBytes += bytes;
        windows.push({ ids, bytes });
      }
    }
  }
  if (windows.length === 0) throw dataError('no complete instance to evaluate', 'the input is shorter than seqLen tokens');
  const spans: Span[] = windows.map((w) => ({ input: w.ids.slice(0, -1), start: 0, targets: w.ids.slice(1) }));
  const bar = createProgress('perplexity', opts.progress);
  const { scores } = await scoreSpans(model, spans, { batchSize: opts.batchSize ?? 8, shareContexts: false, padId: tokenizer?.eosTokenId ?? 0, onProgress: (d, t) => bar.update(d, t) });
  bar.finish();
  let nll = 0;
  let tokens = 0;
  let inst = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    nll -= s.sum;
    tokens += s.tokenLogProbs.length;
    inst += -s.sum / s.tokenLogProbs.length;
  }
  const crossEntropy = nll / tokens;
  const instanceCrossEntropy = inst / scores.length;
  return {
    crossEntropy,
    perplexity: Math.exp(crossEntropy),
    bitsPerByte: totalBytes > 0 ? nll / (Math.LN2 * totalBytes) : NaN,
    tokens,
    bytes: totalBytes,
    instances: scores.length,
    instanceCrossEntropy,
    instancePerplexity: Math.exp(instanceCrossEntropy),
  };
}


/**
 * Paths → PerplexityInput: `.txt`/`.md`/`.raw` files are texts (one document per file), anything else token files
 * (OLMo's `.npy` token files are raw memmaps without a header: `dtype` uint16, or uint32 for vocabularies > 65536).
 */
export function perplexityInputFromPaths(paths: string[], dtype?: 'uint16' | 'uint32'): PerplexityInput {
  const isText = (p: string) => /\.(txt|md|raw|text)$/i.test(p);
  if (paths.every(isText)) {
    return {
      texts: paths.map((p) => {
        if (!existsSync(p)) throw notFound(`text file ${p} not found`, 'pass existing files to --perplexity');
        return readFileSync(p, 'utf8');
      }),
    };
  }
  if (paths.some(isText)) throw argError('mixing text files and token files in one perplexity set', 'evaluate them in separate runs');
  return { tokenFiles: paths, dtype };
}

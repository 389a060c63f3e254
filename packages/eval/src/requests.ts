/**
 * OLMo's request construction (`ICLMultiChoiceTaskDataset.prep_examples`): contexts and continuations are
 * encoded without special tokens (continuations keep their leading space), the query is
 * ctx + continuation[:-1] left-truncated to the model's context length, ctx_len is the *actual* context
 * length after truncation, cont_str_len = len(continuation) - 1 (Python code points), cont_byte_len =
 * UTF-8 bytes of the continuation without the space, and the domain-conditional query is dc + cont[:-1].
 */
import { configError, dataError } from './errors.js';
import type { TokenizerLike } from './model.js';
import { pyLen, utf8Len } from './py.js';
import type { Instance } from './tasks.js';

export interface Request {
  docId: number;
  contId: number;
  label: number;
  ctxText: string;
  contText: string;
  dcText: string;
  ctx: number[];
  continuation: number[];
  /** ctx + continuation[:-1], left-truncated to contextLength. */
  query: number[];
  /** Context length inside `query` after truncation (the first scored logit is at ctxLen - 1). */
  ctxLen: number;
  contLen: number;
  contStrLen: number;
  contByteLen: number;
  dc: number[];
  /** dc + continuation[:-1] (left-truncated only if it would not fit the model). */
  dcQuery: number[];
  dcLen: number;
}

export interface BuildOptions {
  contextLength: number;
  /** Memoises encodings of repeated strings (contexts shared by choices). Default true. */
  cache?: boolean;
  /**
   * A continuation longer than the context length cannot be scored. 'error' (default) throws DATA_CORRUPT;
   * 'skip' drops the whole document and records its id in `skipped`.
   */
  tooLong?: 'error' | 'skip';
  skipped?: number[];
}

export function buildRequests(instances: Instance[], tokenizer: TokenizerLike, opts: BuildOptions): Request[] {
  const L = opts.contextLength;
  if (!Number.isInteger(L) || L < 2) throw configError(`context length ${L} is too small`);
  const memo = new Map<string, number[]>();
  const enc = (s: string): number[] => {
    let v = opts.cache === false ? undefined : memo.get(s);
    if (!v) {
      v = tokenizer.encode(s, { addSpecialTokens: false });
      if (opts.cache !== false) memo.set(s, v);
    }
    return v;
  };
  const out: Request[] = [];
  for (const inst of instances) {
    const n = Math.max(inst.contexts.length, inst.continuations.length);
    if (opts.tooLong === 'skip') {
      const conts = inst.continuations.map(enc);
      if (conts.some((t) => t.length > L)) {
        opts.skipped?.push(inst.docId);
        continue;
      }
    }
    for (let c = 0; c < n; c++) {
      const ctxText = inst.contexts[inst.contexts.length === 1 ? 0 : c]!;
      const contText = inst.continuations[inst.continuations.length === 1 ? 0 : c]!;
      const dcText = inst.domainConditionals[inst.domainConditionals.length === 1 ? 0 : c] ?? ' ';
      if (contText.length < 2) throw dataError(`doc ${inst.docId}: continuation ${c} is empty`, 'every choice needs text after its leading space');
      const ctx = enc(ctxText);
      const continuation = enc(contText);
      if (continuation.length === 0) throw dataError(`doc ${inst.docId}: continuation ${c} encodes to no tokens`);
      if (continuation.length > L) throw dataError(`doc ${inst.docId}: continuation ${c} has ${continuation.length} tokens, more than the context length ${L}`);
      let query = ctx.concat(continuation.slice(0, -1));
      if (query.length > L) query = query.slice(query.length - L);
      const ctxLen = query.length - continuation.length + 1;
      const dc = enc(dcText);
      let dcQuery = dc.concat(continuation.slice(0, -1));
      if (dcQuery.length > L) dcQuery = dcQuery.slice(dcQuery.length - L);
      const dcLen = dcQuery.length - continuation.length + 1;
      if (ctxLen < 1) throw dataError(`doc ${inst.docId}: empty context`, 'a context must encode to at least one token');
      out.push({
        docId: inst.docId, contId: c, label: inst.label,
        ctxText, contText, dcText,
        ctx, continuation, query, ctxLen,
        contLen: continuation.length,
        contStrLen: pyLen(contText) - 1,
        contByteLen: utf8Len(Array.from(contText).slice(1).join('')),
        dc, dcQuery, dcLen,
      });
    }
  }
  return out;
}

/**
 * Held-out language-model evaluation on prepared token files (in-loop `evaluators:` with
 * `data.paths`, and the demo): OLMo's per-token cross-entropy over seqLen instances.
 * When @olmo/eval is installed its evaluators can be plugged in instead (EvaluatorCallback).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { noGrad, tidy, tensor } from '@olmo/tensor-cuda';
import type { TrainConfig } from './config.js';
import type { Metrics } from './callbacks.js';
import { microbatchLoss } from './loss.js';
import type { TrainableModel } from './model.js';

export interface PerplexityResult { crossEntropy: number; perplexity: number; tokens: number; instances: number }

/** Reads raw uint16/uint32 token files (OLMo format) into seqLen instances. */
export function readTokenInstances(paths: string[], seqLen: number, dtype: 'uint16' | 'uint32', limit = Infinity): Int32Array[] {
  const out: Int32Array[] = [];
  for (const p of paths) {
    if (!existsSync(p) || statSync(p).size === 0) continue;
    const buf = readFileSync(p);
    const n = dtype === 'uint16' ? buf.length >> 1 : buf.length >> 2;
    const arr = dtype === 'uint16' ? new Uint16Array(buf.buffer, buf.byteOffset, n) : new Uint32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + n * 4));
    for (let s = 0; s + seqLen <= n && out.length < limit; s += seqLen) out.push(Int32Array.from(arr.subarray(s, s + seqLen)));
  }
  return out;
}

/** Token-weighted next-token CE over the instances (no grad), batched. */
export function evaluatePerplexityOnInstances(model: TrainableModel, instances: Int32Array[], batchSize = 8): PerplexityResult {
  let sum = 0, count = 0;
  noGrad(() => {
    for (let s = 0; s < instances.length; s += batchSize) {
      const chunk = instances.slice(s, s + batchSize);
      const T = chunk[0]!.length, B = chunk.length;
      const ids = new Int32Array(B * T);
      chunk.forEach((c, i) => ids.set(c, i * T));
      tidy(() => {
        const out = microbatchLoss(model, ids, B, T, { normalizer: 1 });
        sum += out.ceSum;
        count += B * (T - 1);
        tensor([0]).dispose();
      });
    }
  });
  const ce = sum / Math.max(1, count);
  return { crossEntropy: ce, perplexity: Math.exp(ce), tokens: count, instances: instances.length };
}

/** Builds the in-loop evaluator function from `evaluators:` entries that have data.paths (lm type). */
export function lmEvaluatorsFromConfig(c: TrainConfig, model: TrainableModel): ((step: number) => Promise<Metrics>) | null {
  const dtype = c.data.memmap_dtype ?? ((c.model.embedding_size ?? c.model.vocab_size) <= 65536 ? 'uint16' : 'uint32');
  const evs = c.evaluators
    .map((e) => {
      const d = (e.data ?? {}) as { paths?: string[]; datasets?: Record<string, string[]> };
      const sets: Record<string, string[]> = d.datasets ?? (d.paths ? { [e.label]: d.paths } : {});
      return { label: e.label, sets };
    })
    .filter((e) => Object.keys(e.sets).length > 0);
  if (!evs.length) return null;
  const limit = c.eval_subset_num_batches > 0 ? c.eval_subset_num_batches * (c.device_eval_batch_size ?? c.device_train_microbatch_size) : Infinity;
  const cache = new Map<string, Int32Array[]>();
  return async () => {
    const m: Metrics = {};
    for (const e of evs) for (const [name, paths] of Object.entries(e.sets)) {
      const key = `${e.label}/${name}`;
      let inst = cache.get(key);
      if (!inst) { inst = readTokenInstances(paths, c.model.max_sequence_length, dtype, limit); cache.set(key, inst); }
      if (!inst.length) continue;
      const r = evaluatePerplexityOnInstances(model, inst, c.device_eval_batch_size ?? c.device_train_microbatch_size);
      m[`eval/${name}/CrossEntropyLoss`] = r.crossEntropy;
      m[`eval/${name}/Perplexity`] = r.perplexity;
    }
    return m;
  };
}

/**
 * The in-loop evaluator for a config's `evaluators:`: @olmo/eval's createEvaluators (lm and
 * downstream, OLMo's metric keys) when it and the run's tokenizer file are available, else the
 * built-in LM perplexity evaluator above. Null when there are no evaluators.
 */
export async function configEvaluator(c: TrainConfig, model: TrainableModel, warn: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<((step: number) => Promise<Metrics>) | null> {
  if (!c.evaluators.length) return null;
  if (c.finetune.mode) return (await import('./finetune-data.js')).finetuneEvaluator(c, model);
  const tokPath = c.tokenizer.identifier;
  if (tokPath && existsSync(tokPath)) {
    try {
      const ev = (await import('@olmo/eval')) as unknown as { createEvaluators?: (e: unknown[], o: Record<string, unknown>) => Array<{ run(m: unknown): Promise<Record<string, number>> }> };
      const { Tokenizer } = await import('@olmo/tokenizer');
      if (typeof ev.createEvaluators === 'function') {
        const tok = await Tokenizer.fromFile(tokPath);
        const entries = c.evaluators.map((e) => ({ subset_num_batches: c.eval_subset_num_batches > 0 ? c.eval_subset_num_batches : null, ...e }));
        const dtype = c.data.memmap_dtype ?? ((c.model.embedding_size ?? c.model.vocab_size) <= 65536 ? 'uint16' : 'uint32');
        const evs = ev.createEvaluators(entries, { tokenizer: tok, seqLen: c.model.max_sequence_length, batchSize: c.device_eval_batch_size ?? c.device_train_microbatch_size, tokenDtype: dtype });
        return async () => { const m: Metrics = {}; for (const e of evs) Object.assign(m, await e.run(model)); return m; };
      }
    } catch (e) {
      warn(`[olmo] @olmo/eval evaluators unavailable (${(e as Error).message}); using the built-in LM evaluator`);
    }
  }
  return lmEvaluatorsFromConfig(c, model);
}

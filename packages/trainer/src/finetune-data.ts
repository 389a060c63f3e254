/**
 * Fine-tuning data for the Trainer (`finetune.mode`): jsonl files → instances in OLMo's global
 * order (the same `globalIndices` shuffle as pretraining, so batches, resume and FSDP rank slicing
 * work unchanged).
 *   sft: examples (Open Instruct label masks) packed into rows of max_length tokens with per-token
 *        document ids (packing: true), or one right-padded example per row (packing: false). An
 *        instance is a row: inputIds, labelMask (1 where the token is a target: assistant turns),
 *        documentIds (packed rows only; −1 = padding).
 *   dpo: an instance is one preference pair (chosen and rejected encoded like SFT, prompt masked).
 * Skips (empty assistant turn, no assistant turn, over-length with over_length: skip, identical
 * chosen/rejected) are counted and logged; malformed lines and unknown roles are DATA_CORRUPT.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { DpoPair } from '@olmo/data';
import { seqLenOf, type TrainConfig } from './config.js';
import type { TrainData } from './data.js';
import { ConfigError } from './errors.js';

/** The chat tokenizer of a fine-tuning run: tokenizer.identifier (a tokenizer.json or a folder with tokenizer_config.json). */
export async function finetuneTokenizer(c: TrainConfig) {
  const { Tokenizer } = await import('@olmo/tokenizer');
  const p = c.tokenizer.identifier;
  if (!p || !existsSync(p)) throw new ConfigError('tokenizer.identifier', `tokenizer ${String(p)} not found`, 'point it at a tokenizer.json or a tokenizer folder');
  return statSync(p).isDirectory() ? Tokenizer.fromPretrained(p) : Tokenizer.fromFile(p);
}

export interface FinetuneData extends TrainData {
  readonly mode: 'sft' | 'dpo';
  /** DPO: the encoded pairs, by instance index. */
  readonly pairs?: readonly DpoPair[];
  readonly padId: number;
}

export async function buildFinetuneData(c: TrainConfig, log: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<FinetuneData> {
  const mode = c.finetune.mode!;
  const paths = c.data.paths ?? [];
  if (!paths.length) throw new ConfigError('data.paths', `finetune.mode ${mode} needs jsonl files in data.paths`);
  const data = await import('@olmo/data');
  const tok = await finetuneTokenizer(c);
  const L = seqLenOf(c);
  const enc = { maxLength: L, overLength: c.finetune.over_length };
  const h = createHash('sha256');
  h.update(JSON.stringify({ mode, L, over: c.finetune.over_length, packing: c.finetune.packing, seed: c.data.seed ?? c.seed }));
  let rows: { inputIds: number[][]; labels: number[][]; documentIds: number[][] } | null = null;
  let pairs: DpoPair[] | null = null;
  if (mode === 'sft') {
    const examples = [];
    for (const p of paths) {
      const r = await data.readSftJsonl(p, tok, enc);
      log(`[olmo] sft data ${p}: ${r.stats.kept}/${r.stats.read} examples kept (${r.stats.truncated} truncated; skipped ${JSON.stringify(r.stats.skipped)})`);
      examples.push(...r.examples);
      h.update(readFileSync(p));
    }
    if (!examples.length) throw new ConfigError('data.paths', 'no SFT examples left after the skips', 'see the skip counts above');
    rows = c.finetune.packing ? data.packSft(examples, L, tok.padTokenId) : data.padSft(examples, tok.padTokenId, L);
    log(`[olmo] sft: ${examples.length} examples → ${rows.inputIds.length} rows of ${L} tokens (${c.finetune.packing ? 'packed, document-masked' : 'padded'})`);
  } else {
    pairs = [];
    for (const p of paths) {
      const r = await data.readDpoJsonl(p, tok, enc);
      log(`[olmo] dpo data ${p}: ${r.stats.kept}/${r.stats.read} pairs kept (${r.stats.truncated} truncated; skipped ${JSON.stringify(r.stats.skipped)})`);
      pairs.push(...r.pairs);
      h.update(readFileSync(p));
    }
    if (!pairs.length) throw new ConfigError('data.paths', 'no DPO pairs left after the skips', 'see the skip counts above');
  }
  const n = rows ? rows.inputIds.length : pairs!.length;
  const seed = c.data.seed ?? c.seed;
  const cache = new Map<number, Uint32Array>();
  const order = (epoch: number) => {
    let o = cache.get(epoch);
    if (!o) { cache.clear(); o = data.globalIndices({ numInstances: n, seed, epoch: epoch + (c.epoch ?? 0), worldSize: 1, dropLast: c.data.drop_last }); cache.set(epoch, o); }
    return o;
  };
  const packed = c.finetune.packing;
  return {
    mode, padId: tok.padTokenId, numInstances: n, seqLen: L, orderHash: h.digest('hex').slice(0, 16), pairs: pairs ?? undefined,
    batchIndices(step: number, B: number): Uint32Array {
      const per = Math.floor(order(0).length / B);
      if (per < 1) throw new ConfigError('global_train_batch_size', `${B} exceeds the ${n} ${mode === 'sft' ? 'rows' : 'pairs'} of the fine-tuning data`);
      return order(Math.floor(step / per)).subarray((step % per) * B, ((step % per) + 1) * B);
    },
    get(i: number) {
      if (!rows) return { inputIds: new Int32Array(0), index: i };
      const labels = rows.labels[i]!;
      return {
        inputIds: Int32Array.from(rows.inputIds[i]!), index: i,
        labelMask: Uint8Array.from(labels, (l) => (l === data.IGNORE_INDEX ? 0 : 1)),
        documentIds: packed ? Int32Array.from(rows.documentIds[i]!) : null,
      };
    },
  };
}

/**
 * In-loop evaluators of a fine-tuning run: each `evaluators:` entry's data.paths are SFT jsonl
 * files; the metric is eval/<label>/CrossEntropyLoss, the mean NLL per labelled (assistant) token,
 * with the run's encoding and packing. Every rank runs the same forwards (FSDP gathers match).
 */
export async function finetuneEvaluator(c: TrainConfig, model: unknown): Promise<((step: number) => Promise<Record<string, number>>) | null> {
  if (!c.evaluators.length) return null;
  const data = await import('@olmo/data');
  const { noGrad } = await import('@olmo/tensor-cuda');
  const { sftBatch, sftLoss } = await import('./sft.js');
  const tok = await finetuneTokenizer(c);
  const L = seqLenOf(c), bs = c.device_eval_batch_size ?? c.device_train_microbatch_size;
  const sets: Array<{ label: string; examples: import('@olmo/data').SftExample[] }> = [];
  for (const [i, e] of c.evaluators.entries()) {
    const paths = ((e.data ?? {}) as { paths?: string[] }).paths;
    if (!paths?.length) throw new ConfigError(`evaluators.${i}.data.paths`, 'fine-tuning evaluators need SFT jsonl files in data.paths');
    const examples = [];
    for (const p of paths) examples.push(...(await data.readSftJsonl(p, tok, { maxLength: L, overLength: c.finetune.over_length })).examples);
    sets.push({ label: e.label, examples });
  }
  return async () => noGrad(() => {
    const m: Record<string, number> = {};
    for (const s of sets) {
      let ce = 0, n = 0;
      for (let i = 0; i < s.examples.length; i += bs) {
        const rows = sftBatch(s.examples.slice(i, i + bs), { padId: tok.padTokenId, packing: c.finetune.packing, seqLen: L });
        const o = sftLoss(model as never, rows, { normalization: 'sum' });
        ce += o.ceSum; n += o.tokens;
        o.loss.dispose();
      }
      m[`eval/${s.label}/CrossEntropyLoss`] = ce / Math.max(1, n);
    }
    return m;
  });
}

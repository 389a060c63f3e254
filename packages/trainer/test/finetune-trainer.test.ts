/**
 * Fine-tuning in the main Trainer (`finetune:` config section, `olmo train`):
 *   - SFT from an HF folder (init_from fills the model section and the tokenizer): the loss
 *     falls, gradient accumulation does not change it, the in-loop evaluator reports held-out CE,
 *     packed rows train the same loss as the examples one per row (step 1, same batch);
 *   - DPO: step-1 loss ln 2 (policy = reference), rewards/accuracies rises, the metric keys;
 *   - kill + resume: the resumed losses are bit-identical (SFT, and DPO with its reference
 *     log-probs restored from the checkpoint);
 *   - FSDP: `mpirun -np 2 olmo train` gives W = 1's losses (SFT packed and DPO) within 1e-5.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { buildInfo, sumSquares } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig } from '@olmo/model';
import { Tokenizer } from '@olmo/tokenizer';
import { buildModel, configEvaluator, dpoStep, EvaluatorCallback, referenceLogps, resolveConfig, Trainer, type Metrics } from '../src/index.js';
import type { FinetuneData } from '../src/finetune-data.js';
import { readMetrics } from './resume-helpers.js';
import { repoRoot } from './golden-helpers.js';
import { ensureFreshDist } from '../../../test/support/fresh-dist.js';

const dir = mkdtempSync(join(tmpdir(), 'olmo-finetune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const presidents = ['Abraham Lincoln', 'James Buchanan', 'Andrew Johnson', 'Ulysses S Grant', 'George Washington', 'John Adams'];
const q = (y: number) => `Who gave the State of the Union address of ${y}?`;
const base = join(dir, 'base'), sftPath = join(dir, 'sft.jsonl'), dpoPath = join(dir, 'dpo.jsonl'), heldPath = join(dir, 'held.jsonl');

beforeAll(async () => {
  const text = presidents.map((p, i) => `${q(1790 + i)} ${p}. `).join('').repeat(20);
  const tok = Tokenizer.train([text], { vocabSize: 320, specialTokens: ['<|endoftext|>', '<|padding|>'] });
  mkdirSync(base);
  await tok.save(join(base, 'tokenizer.json'));
  const m = OLMo.init(OLMoConfig.from({ architecture: 'olmo2', vocab_size: tok.vocabSize, embedding_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128, eos_token_id: tok.eosTokenId, pad_token_id: tok.padTokenId }), { seed: 1 });
  await m.savePretrained(base);
  m.dispose();
  const years = Array.from({ length: 24 }, (_, i) => 1790 + i);
  const who = (y: number) => presidents[Math.floor((y - 1790) / 4)]!;
  const line = (y: number) => JSON.stringify({ messages: [{ role: 'user', content: q(y) }, { role: 'assistant', content: `${who(y)}.` }] });
  writeFileSync(sftPath, years.filter((y) => y % 5 !== 0).map(line).join('\n') + '\n');
  writeFileSync(heldPath, years.filter((y) => y % 5 === 0).map(line).join('\n') + '\n');
  writeFileSync(dpoPath, years.map((y) => JSON.stringify({ prompt: q(y), chosen: `${who(y)}.`, rejected: 'I do not know.' })).join('\n') + '\n');
}, 120_000);

function cfg(extra: Record<string, unknown>, save: string): Record<string, unknown> {
  return {
    run_name: 'ft', seed: 3, max_duration: 6, global_train_batch_size: 4, device_train_microbatch_size: 2,
    save_folder: save, save_interval: 3, progress: false, console_log_interval: 100,
    optimizer: { name: 'adamw', learning_rate: 3e-3, weight_decay: 0, betas: [0.9, 0.999], eps: 1e-8 },
    scheduler: { name: 'linear_with_warmup', t_warmup: 1, alpha_f: 0 }, max_grad_norm: 1,
    finetune: { mode: 'sft', init_from: base, max_length: 64, packing: true }, data: { paths: [sftPath] },
    ...extra,
  };
}
async function fit(extra: Record<string, unknown>, name: string, load?: string): Promise<Metrics[]> {
  const c = resolveConfig(cfg(extra, join(dir, name)), load ? { load_path: load } : {});
  // as `olmo train` does: the model, then the config's in-loop evaluators
  const model = await buildModel(c);
  const evalFn = await configEvaluator(c, model);
  const t = await Trainer.fromConfig(c, { model, log: () => {}, extraCallbacks: evalFn ? [new EvaluatorCallback(c.eval_interval, evalFn)] : [] });
  return (await t.fit()).history;
}
const ce = (h: Metrics[]) => h.map((m) => m['train/CrossEntropyLoss']!);

describe('finetune config', () => {
  it('init_from fills the model section and tokenizer; bad keys are CONFIG_INVALID', () => {
    const c = resolveConfig(cfg({}, join(dir, 'x')));
    expect(c.model.d_model).toBe(32);
    expect(c.model.layer_norm_type).toBe('rms');
    expect(c.tokenizer.identifier).toBe(join(base, 'tokenizer.json'));
    expect(() => resolveConfig(cfg({ finetune: { mode: 'ppo' } }, 'x'))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', keyPath: 'finetune.mode' }));
    expect(() => resolveConfig(cfg({ finetune: { beta: 0 } }, 'x'))).toThrow(expect.objectContaining({ keyPath: 'finetune.beta' }));
    expect(() => resolveConfig(cfg({ finetune: { init_from: join(dir, 'nope') } }, 'x'))).toThrow(expect.objectContaining({ keyPath: 'finetune.init_from' }));
    expect(() => resolveConfig(cfg({ fused_loss: true }, 'x'))).toThrow(expect.objectContaining({ keyPath: 'fused_loss' }));
  });
});

describe('bad fine-tuning data in the Trainer', () => {
  it('an unknown role is DATA_CORRUPT naming the line before anything is written; skips are counted in the log', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] })}\n${JSON.stringify({ messages: [{ role: 'robot', content: 'q' }] })}\n`);
    const save = join(dir, 'bad-run');
    await expect(Trainer.fromConfig(resolveConfig(cfg({ data: { paths: [bad] } }, save)), { log: () => {} })).rejects.toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('line 2') });
    expect(existsSync(save)).toBe(false);
    const skips = join(dir, 'skips.jsonl');
    const long = 'word '.repeat(200);
    writeFileSync(skips, [
      { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] },
      { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: '' }] },
      { messages: [{ role: 'user', content: long }, { role: 'assistant', content: 'a' }] },
    ].map((x) => JSON.stringify(x)).join('\n') + '\n');
    const logs: string[] = [];
    const { buildFinetuneData } = await import('../src/finetune-data.js');
    await buildFinetuneData(resolveConfig(cfg({ data: { paths: [skips] }, finetune: { mode: 'sft', init_from: base, max_length: 64, over_length: 'skip' } }, save)), (l) => logs.push(l));
    expect(logs.join('\n')).toMatch(/1\/3 examples kept \(0 truncated; skipped \{"emptyAssistant":1,"overLength":1/);
  });
});

describe('SFT in the Trainer', () => {
  it('loss falls; microbatch 1 = microbatch 4; the held-out evaluator runs; kill + resume is bit-identical', async () => {
    const ev = { eval_interval: 3, evaluators: [{ label: 'heldout', data: { paths: [heldPath] } }] };
    const a = await fit({ ...ev }, 'sft-a');
    expect(a[5]!['train/CrossEntropyLoss']).toBeLessThan(a[0]!['train/CrossEntropyLoss']!);
    expect(a[2]!['eval/heldout/CrossEntropyLoss']).toBeGreaterThan(0);
    const b = await fit({ device_train_microbatch_size: 1 }, 'sft-b');
    ce(b).forEach((x, i) => expect(Math.abs(x - ce(a)[i]!)).toBeLessThan(1e-5 * ce(a)[i]!));
    const r = await fit({ ...ev }, 'sft-r', join(dir, 'sft-a', 'step3-unsharded'));
    expect(ce(r)).toEqual(ce(a).slice(3));
  }, 300_000);

  it("packing is invisible to the loss: packed rows = one example per row (step 1, sum normalisation)", async () => {
    // one global batch holding every example: the same examples either way, only the layout differs
    const all = { max_duration: 1, global_train_batch_size: 1, device_train_microbatch_size: 1, loss_normalization: 'sum' };
    const packed = await fit({ ...all, finetune: { mode: 'sft', init_from: base, max_length: 2048, packing: true } }, 'pk');
    expect(packed[0]!['train/LossSum']).toBeGreaterThan(0);
    // padded: the same 19 examples as 19 rows in one batch
    const padded = await fit({ ...all, global_train_batch_size: 19, device_train_microbatch_size: 19, finetune: { mode: 'sft', init_from: base, max_length: 64, packing: false } }, 'pd');
    expect(Math.abs(packed[0]!['train/LossSum']! - padded[0]!['train/LossSum']!)).toBeLessThan(1e-4 * padded[0]!['train/LossSum']!);
  }, 300_000);
});

describe('DPO in the Trainer', () => {
  it("step 1's gradient is the loop piece dpoStep's (checked against a float64 reference in adapt-loss.test.ts)", async () => {
    const c = resolveConfig(cfg({ finetune: { mode: 'dpo', init_from: base, max_length: 64, beta: 0.5 }, data: { paths: [dpoPath] }, max_grad_norm: null, device_train_microbatch_size: 1 }, join(dir, 'dpo-g')));
    const t = await Trainer.fromConfig(c, { log: () => {} });
    const m = t.trainStep();
    const d = t.data as FinetuneData;
    const pairs = Array.from(d.batchIndices(0, 4), (i) => d.pairs![i]!);
    const model = await OLMo.fromPretrained(base);
    for (const [, p] of model.namedParameters()) p.requiresGrad_(true);
    const ref = referenceLogps(model, pairs, { padId: d.padId });
    const out = dpoStep(model, pairs, ref, { padId: d.padId, beta: 0.5 });
    const norm = Math.sqrt(sumSquares(model.namedParameters().map(([, p]) => p.grad!)));
    expect(m['train/DPOLoss']).toBeCloseTo(out.loss, 6);
    expect(Math.abs(m['optim/total_grad_norm']! - norm)).toBeLessThan(1e-4 * norm);
    model.dispose();
  }, 120_000);

  const dpo = { finetune: { mode: 'dpo', init_from: base, max_length: 64, beta: 0.5 }, data: { paths: [dpoPath] }, max_duration: 12, save_interval: 6, optimizer: { learning_rate: 2e-3, weight_decay: 0 } };
  it('loss ln 2 at step 1, rewards/accuracies rises, metric keys; kill + resume bit-identical (reference restored)', async () => {
    const a = await fit(dpo, 'dpo-a');
    expect(a[0]!['train/DPOLoss']).toBeCloseTo(Math.log(2), 5);
    expect(Object.keys(a[0]!)).toEqual(expect.arrayContaining(['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected', 'train/CrossEntropyLoss']));
    // policy = reference at step 1: rewards are 0 up to float noise (accuracy there is a coin toss)
    expect(Math.abs(a[0]!['rewards/margins']!)).toBeLessThan(1e-4);
    const last4 = a.slice(-4);
    expect(last4.reduce((s, m) => s + m['rewards/accuracies']!, 0) / 4).toBeGreaterThan(0.75);
    expect(last4.reduce((s, m) => s + m['train/DPOLoss']!, 0) / 4).toBeLessThan(Math.log(2));
    const r = await fit(dpo, 'dpo-r', join(dir, 'dpo-a', 'step6-unsharded'));
    expect(r.map((m) => m['train/DPOLoss'])).toEqual(a.slice(6).map((m) => m['train/DPOLoss']));
  }, 300_000);
});

const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !hasMpirun ? 'mpirun not found' : !buildInfo().mpiCompiled ? 'native addon built without MPI' : '';
if (skip) console.warn(`[skip] fine-tuning under FSDP: ${skip}`);

describe.skipIf(!!skip)('fine-tuning under FSDP (mpirun -np 2 olmo train)', () => {
  const bin = join(resolve(import.meta.dirname, '..'), 'dist/bin.js');
  beforeAll(() => ensureFreshDist(['trainer']), 120_000);
  for (const mode of ['sft', 'dpo'] as const) {
    it(`${mode}: W = 2 gives W = 1's losses`, () => {
      const traces: number[][] = [];
      for (const W of [1, 2]) {
        const save = join(dir, `fsdp-${mode}-w${W}`);
        const c = cfg(mode === 'sft' ? { save_interval: null } : { save_interval: null, finetune: { mode: 'dpo', init_from: base, max_length: 64 }, data: { paths: [dpoPath] } }, save);
        const file = join(dir, `fsdp-${mode}.yaml`);
        writeFileSync(file, YAML.stringify(c));
        const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(W), process.execPath, bin, 'train', file], { encoding: 'utf8', timeout: 180_000, cwd: repoRoot });
        if (r.status !== 0) console.error(r.stdout, r.stderr);
        expect(r.status).toBe(0);
        traces.push(readMetrics(save).map((m) => m[mode === 'sft' ? 'train/CrossEntropyLoss' : 'train/DPOLoss']!));
      }
      expect(traces[0]!.length).toBe(6);
      traces[1]!.forEach((x, i) => expect(Math.abs(x - traces[0]![i]!), `step ${i + 1}`).toBeLessThan(1e-5 * Math.abs(traces[0]![i]!)));
    }, 400_000);
  }
});

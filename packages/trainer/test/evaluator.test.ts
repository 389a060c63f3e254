/**
 * In-loop evaluation: `evaluators:` with held-out token files logs OLMo's eval/{label}/... keys into
 * metrics.jsonl every eval_interval steps; @olmo/eval's evaluator (used when the run has a
 * tokenizer file) and the built-in one agree.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Tokenizer } from '@olmo/tokenizer';
import { buildModel, EvaluatorCallback, resolveConfig, Trainer } from '../src/index.js';
import { configEvaluator, lmEvaluatorsFromConfig } from '../src/evaluate.js';
import { readMetrics, tinyRunConfig, writeTokenFile } from './resume-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'olmo-evalcb-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('in-loop evaluator', () => {
  it('logs eval/heldout/* every eval_interval; @olmo/eval and built-in agree', async () => {
    const data = writeTokenFile(join(root, 'train'));
    const held = writeTokenFile(join(root, 'held'), 32 * 8);
    const tok = Tokenizer.train([readFileSync(new URL(import.meta.url), 'utf8')], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    await tok.save(join(root, 'tok.json'));
    const cfg = resolveConfig(tinyRunConfig(data, join(root, 'run'), {
      max_duration: 6, eval_interval: 3, save_interval: null, tokenizer: { identifier: join(root, 'tok.json') },
      model: { d_model: 32, n_heads: 2, n_layers: 2, mlp_ratio: 4, max_sequence_length: 32, vocab_size: 300, embedding_size: 384, eos_token_id: 0, pad_token_id: 0 },
      evaluators: [{ label: 'heldout', type: 'lm', data: { paths: [held] } }],
    }));
    const model = await buildModel(cfg);
    const viaEval = (await configEvaluator(cfg, model))!;
    const builtIn = lmEvaluatorsFromConfig(cfg, model)!;
    const a = await viaEval(0), b = await builtIn(0);
    expect(a['eval/heldout/CrossEntropyLoss']).toBeGreaterThan(5);
    expect(Math.abs(a['eval/heldout/CrossEntropyLoss']! - b['eval/heldout/CrossEntropyLoss']!)).toBeLessThan(1e-4 * b['eval/heldout/CrossEntropyLoss']!);
    const t = await Trainer.fromConfig(cfg, { model, extraCallbacks: [new EvaluatorCallback(cfg.eval_interval, viaEval)], log: () => {} });
    await t.fit();
    const m = readMetrics(join(root, 'run'));
    expect(m.filter((x) => x['eval/heldout/CrossEntropyLoss'] !== undefined).map((x) => x.step)).toEqual([3, 6]);
    expect(m[5]!['eval/heldout/Perplexity']).toBeCloseTo(Math.exp(m[5]!['eval/heldout/CrossEntropyLoss']!), 6);
  });
});

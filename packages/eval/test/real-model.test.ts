/** The real @olmo/model OLMo (random tiny init): KV-cache prefix sharing == plain full-sequence scoring. */
import { describe, expect, it } from 'vitest';
import { OLMo, OLMoConfig } from '@olmo/model';
import { asScoringModel, createByteTokenizer, evaluateTask, loadTask } from '../src/index.js';
import { evalData, hasShared } from './helpers.js';

describe.skipIf(!hasShared)('real OLMo model', () => {
  it('asScoringModel reads the config; cached, batched and one-at-a-time scores agree', async () => {
    const cfg = OLMoConfig.tiny({ vocab_size: 257, embedding_size: 320, max_position_embeddings: 256, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4 });
    const model = OLMo.init(cfg, { seed: 7, requiresGrad: false });
    const sm = asScoringModel(model);
    expect(sm.contextLength).toBe(256);
    expect(sm.vocabSize).toBe(320);
    expect(typeof sm.forwardPrefixed).toBe('function');
    const tok = createByteTokenizer();
    for (const name of ['piqa', 'winogrande']) {
      const task = loadTask(name, { path: evalData, limit: 3 });
      const cached = await evaluateTask(model, tok, task, { batchSize: 8, progress: false, prefixMinTokens: 1 });
      const plain = await evaluateTask({ forward: sm.forward, contextLength: 256, vocabSize: 320 }, tok, task, { batchSize: 8, progress: false });
      const single = await evaluateTask({ forward: sm.forward, contextLength: 256, vocabSize: 320 }, tok, task, { batchSize: 1, shareContexts: false, progress: false });
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < cached.perExample[i]!.ll.length; j++) {
          expect(cached.perExample[i]!.ll[j]).toBeCloseTo(single.perExample[i]!.ll[j]!, 3);
          expect(plain.perExample[i]!.ll[j]).toBeCloseTo(single.perExample[i]!.ll[j]!, 3);
        }
      }
    }
    model.dispose();
  });
});

describe.skipIf(!hasShared)('CLI on a saved checkpoint (default loaders: OLMo.fromPretrained + Tokenizer.fromFile)', () => {
  it('olmo eval --model DIR equals the in-loop evaluator on the same checkpoint', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { Tokenizer } = await import('@olmo/tokenizer');
    const { runEvalCli, createEvaluators } = await import('../src/index.js');
    const { tokenizerFile } = await import('./helpers.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'olmo-eval-ckpt-'));
    const cfg = OLMoConfig.tiny({ max_position_embeddings: 128, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2 });
    const model = OLMo.init(cfg, { seed: 3, requiresGrad: false });
    await model.savePretrained(dir);
    const out: string[] = [], err: string[] = [];
    const json = path.join(dir, 'results.json');
    const code = await runEvalCli(['eval', '--model', dir, '--tokenizer', tokenizerFile, '--tasks', 'arc_easy,copa', '--data', evalData, '--limit', '4', '--out', json, '--no-progress'], { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) });
    expect(err.join('')).toBe('');
    expect(code).toBe(0);
    const cli = JSON.parse(readFileSync(json, 'utf8')).tasks as { task: string; score: number; perExample: { ll: number[] }[] }[];
    const tok = await Tokenizer.fromFile(tokenizerFile);
    // subset_num_batches × device_eval_batch_size requests = the CLI's 4 documents
    const evs = createEvaluators([{ label: 'arc_easy', type: 'downstream', subset_num_batches: 1, device_eval_batch_size: 16 }, { label: 'copa', type: 'downstream', subset_num_batches: 1, device_eval_batch_size: 8 }], { tokenizer: tok, dataRoot: evalData });
    const m: Record<string, number> = {};
    for (const e of evs) Object.assign(m, await e.run(model));
    expect(m['eval/downstream/arc_easy_acc']).toBeCloseTo(cli[0]!.score, 9);
    expect(m['eval/downstream/copa_acc']).toBeCloseTo(cli[1]!.score, 9);
    const direct = await evaluateTask(model, tok, loadTask('arc_easy', { path: evalData, limit: 4 }), { progress: false });
    direct.perExample.forEach((e, i) => e.ll.forEach((x, j) => expect(x).toBeCloseTo(cli[0]!.perExample[i]!.ll[j]!, 4)));
    model.dispose();
  });
});

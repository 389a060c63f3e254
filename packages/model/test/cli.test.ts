/**
 * olmo-generate: argument parsing, ids mode, and streaming text with the real OLMo tokenizer. The
 * CLI's output must equal the library's `generate` / `generateText` under the same seed and
 * sampling options (a sampled run, so a dropped or misparsed flag changes the tokens).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@olmo/tokenizer';
import { OLMo, OLMoConfig, generateText, parseGenerateArgs, runGenerateCli } from '../src/index.js';
import { sharedDir, tmpDir } from './helpers.js';

function sink(): { stream: Writable; text: () => string } {
  const parts: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { parts.push(String(chunk)); cb(); } });
  return { stream, text: () => parts.join('') };
}

async function savedModel(): Promise<string> {
  const dir = tmpDir('olmo-cli-');
  const m = OLMo.init(OLMoConfig.from({ architecture: 'olmo1', vocab_size: 50280, embedding_size: 50304, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2 }), { seed: 4 });
  await m.savePretrained(dir, { dtype: 'bfloat16' });
  m.dispose();
  return dir;
}

describe('olmo-generate CLI', () => {
  it('parses flags', () => {
    const a = parseGenerateArgs(['--model', 'm', '--prompt=hi there', '--max-new-tokens', '5', '--temperature', '0.7', '--top-p', '0.9', '--seed', '3']);
    expect(a.model).toBe('m');
    expect(a.prompt).toBe('hi there');
    expect(a.gen).toMatchObject({ maxNewTokens: 5, temperature: 0.7, topP: 0.9, seed: 3 });
    expect(parseGenerateArgs(['generate', '--model', 'x']).model).toBe('x');
    expect(() => parseGenerateArgs(['--bogus'])).toThrow(/unknown option --bogus/);
    expect(() => parseGenerateArgs(['--seed', 'x'])).toThrow(/--seed needs an integer/);
  });

  it('--dtype / --quantize load low-precision weights (same greedy ids for bf16 as the bf16 model in-process); bad values are typed errors (an unknown --quantize is a usage error, exit 2; an unknown dtype exit 1)', async () => {
    const dir = await savedModel();
    const run = async (extra: string[]) => {
      const out = sink(), err = sink();
      const code = await runGenerateCli(['--model', dir, '--prompt-ids', '1,2,3', '--max-new-tokens', '4', ...extra], { stdout: out.stream, stderr: err.stream });
      return { code, out: out.text(), err: err.text() };
    };
    const m = await OLMo.fromPretrained(dir, { dtype: 'bfloat16' });
    const ids: number[] = [];
    for await (const id of m.generate([1, 2, 3], { maxNewTokens: 4 })) ids.push(id);
    m.dispose();
    const bf = await run(['--dtype', 'bfloat16']);
    expect(bf.code).toBe(0);
    expect(bf.out.trim().split(/[\s,]+/).map(Number)).toEqual(ids);
    expect((await run(['--dtype', 'bfloat16', '--quantize', 'q8_0'])).code).toBe(0);
    const bad = await run(['--quantize', 'q4_k']);
    expect(bad.code).toBe(2); // INVALID_ARGUMENT is a usage error (docs/cli.md)
    expect(bad.err).toMatch(/INVALID_ARGUMENT/);
    expect((await run(['--dtype', 'fp8'])).err).toMatch(/DTYPE_UNSUPPORTED/);
  });

  it('usage errors exit 2, load errors exit 1 with the error code', async () => {
    const err = sink();
    expect(await runGenerateCli([], { stdout: sink().stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toMatch(/^olmo: error INVALID_ARGUMENT: --model is required\nhint: `olmo generate --help`/);
    const err2 = sink();
    expect(await runGenerateCli(['--model', '/nonexistent', '--prompt-ids', '1'], { stdout: sink().stream, stderr: err2.stream })).toBe(1);
    expect(err2.text()).toMatch(/^olmo: error NOT_FOUND: model folder \/nonexistent does not exist.*\nhint: /);
  });

  it('an aborted signal (Ctrl-C in the bin) stops generation with exit 130, not an error', async () => {
    const dir = await savedModel();
    const ac = new AbortController();
    ac.abort('SIGINT');
    const err = sink();
    expect(await runGenerateCli(['--model', dir, '--prompt-ids', '1,2', '--max-new-tokens', '50'], { stdout: sink().stream, stderr: err.stream, signal: ac.signal })).toBe(130);
    expect(err.text()).toBe('');
  });

  it('--prompt-ids streams the same ids as model.generate under the same seed', async () => {
    const dir = await savedModel();
    const cliIds = async (seed: number) => {
      const out = sink();
      expect(await runGenerateCli(['--model', dir, '--prompt-ids', '1,2,3', '--max-new-tokens', '6', '--temperature', '0.9', '--top-k', '500', '--seed', String(seed)], { stdout: out.stream, stderr: sink().stream })).toBe(0);
      return out.text().trim().split(/\s+/).map(Number);
    };
    const model = await OLMo.fromPretrained(dir);
    const libIds = async (seed: number) => {
      const ids: number[] = [];
      for await (const id of model.generate([1, 2, 3], { maxNewTokens: 6, temperature: 0.9, topK: 500, seed })) ids.push(id);
      return ids;
    };
    try {
      const want = await libIds(7);
      expect(want).toHaveLength(6);
      expect(await cliIds(7)).toEqual(want);
      // Sampling from a random model over 50k tokens: another seed gives other tokens, so the
      // equality above really depends on --seed (and --temperature/--top-k) reaching the sampler.
      expect(await libIds(8)).not.toEqual(want);
      expect(await cliIds(8)).toEqual(await libIds(8));
    } finally {
      model.dispose();
    }
  });

  const tokFile = path.join(sharedDir, 'tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json');
  if (!existsSync(tokFile)) console.warn(`[cli] text test skipped: ${tokFile} not found`);
  it.skipIf(!existsSync(tokFile))('streams text with --tokenizer (dynamic import of @olmo/tokenizer)', async () => {
    const dir = await savedModel();
    const out = sink(), err = sink();
    const code = await runGenerateCli(['--model', dir, '--tokenizer', tokFile, '--prompt', 'Language models are', '--max-new-tokens', '8', '--temperature', '0.8', '--top-p', '0.9', '--seed', '1'], { stdout: out.stream, stderr: err.stream });
    expect(err.text()).toBe('');
    expect(code).toBe(0);
    const model = await OLMo.fromPretrained(dir);
    const tok = await Tokenizer.fromFile(tokFile);
    let want = '';
    for await (const piece of generateText(model, tok, 'Language models are', { maxNewTokens: 8, temperature: 0.8, topP: 0.9, seed: 1 })) want += piece;
    model.dispose();
    expect(want.length).toBeGreaterThan(0);
    expect(out.text()).toBe(`${want}\n`);
  });

  it('a tokenizer larger than the model vocabulary fails with the error olmo eval gives', async () => {
    const dir = tmpDir('olmo-cli-small-');
    const m = OLMo.init(OLMoConfig.from({ architecture: 'olmo1', vocab_size: 8, embedding_size: 8, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2 }), { seed: 4 });
    await m.savePretrained(dir);
    m.dispose();
    const { Tokenizer } = await import('@olmo/tokenizer');
    const tok = Tokenizer.train(['hello world, hello there'], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    await tok.save(path.join(dir, 'tokenizer.json'));
    const err = sink();
    expect(await runGenerateCli(['--model', dir, '--prompt', 'hello', '--max-new-tokens', '2'], { stdout: sink().stream, stderr: err.stream })).toBe(1);
    expect(err.text()).toBe(`olmo: error CONFIG_INVALID: tokenizer vocabulary (${tok.vocabSize}) is larger than the model's (8)\nhint: use the tokenizer the checkpoint was trained with\n`);
  });
});

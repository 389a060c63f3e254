/** olmo-generate: argument parsing, ids mode, and streaming text with the real OLMo tokenizer. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OLMo, OLMoConfig, parseGenerateArgs, runGenerateCli } from '../src/index.js';
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
    expect(() => parseGenerateArgs(['--bogus'])).toThrow(/unknown argument/);
    expect(() => parseGenerateArgs(['--seed', 'x'])).toThrow(/needs a number/);
  });

  it('--dtype / --quantize load low-precision weights (same greedy ids for bf16 as the bf16 model in-process); bad values exit 1 with a typed code', async () => {
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
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/INVALID_ARGUMENT/);
    expect((await run(['--dtype', 'fp8'])).err).toMatch(/DTYPE_UNSUPPORTED/);
  });

  it('usage errors exit 2, load errors exit 1 with the error code', async () => {
    const err = sink();
    expect(await runGenerateCli([], { stdout: sink().stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toMatch(/usage/);
    const err2 = sink();
    expect(await runGenerateCli(['--model', '/nonexistent', '--prompt-ids', '1'], { stdout: sink().stream, stderr: err2.stream })).toBe(1);
    expect(err2.text()).toMatch(/NOT_FOUND/);
  });

  it('--prompt-ids streams ids without a tokenizer', async () => {
    const dir = await savedModel();
    const out = sink();
    expect(await runGenerateCli(['--model', dir, '--prompt-ids', '1,2,3', '--max-new-tokens', '4'], { stdout: out.stream, stderr: sink().stream })).toBe(0);
    expect(out.text().trim().split(/\s+/).length).toBe(4);
  });

  const tokFile = path.join(sharedDir, 'tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json');
  if (!existsSync(tokFile)) console.warn(`[cli] text test skipped: ${tokFile} not found`);
  it.skipIf(!existsSync(tokFile))('streams text with --tokenizer (dynamic import of @olmo/tokenizer)', async () => {
    const dir = await savedModel();
    const out = sink(), err = sink();
    const code = await runGenerateCli(['--model', dir, '--tokenizer', tokFile, '--prompt', 'Language models are', '--max-new-tokens', '8', '--temperature', '0.8', '--top-p', '0.9', '--seed', '1'], { stdout: out.stream, stderr: err.stream });
    expect(err.text()).toBe('');
    expect(code).toBe(0);
    expect(out.text().length).toBeGreaterThan(1);
  });
});

/**
 * The GGUF vocabulary of OLMo's real tokenizers (../shared/tokenizers): llama.cpp tokenizes text
 * from our GGUF export exactly as @olmo/tokenizer does with the original tokenizer.json (which
 * proves the `tokenizer.ggml.pre` choice: "olmo" for OLMo-1's GPT-NeoX-style tokenizer, "dbrx" for
 * OLMo-2's cl100k-style dolma2), and the tokenizer.json we rebuild from the GGUF encodes the same.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@olmo/tokenizer';
import { afterAll, describe, expect, it } from 'vitest';
import { OLMo, OLMoConfig, padVocab, readGgufTokenizerJson, runExportCli } from '../src/index.js';
import { sharedDir, tmpDir } from './helpers.js';

const TOKENIZERS = [
  { kind: 'olmo1' as const, file: 'allenai_gpt-neox-olmo-dolma-v1_5.json', vocab: 50280, eos: 50279, pad: 1, pre: 'olmo' },
  { kind: 'olmo2' as const, file: 'allenai_dolma2.json', vocab: 100278, eos: 100257, pad: 100277, pre: 'dbrx' },
];

let skipShared: string | null = null;
if (!existsSync(path.join(sharedDir, 'tokenizers'))) skipShared = `${path.join(sharedDir, 'tokenizers')} not found`;
let llama: Awaited<ReturnType<typeof import('node-llama-cpp')['getLlama']>> | null = null;
let skipLlama: string | null = null;
try {
  const nlc = await import('node-llama-cpp');
  llama = await nlc.getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, logLevel: nlc.LlamaLogLevel.error, maxThreads: 1 });
} catch (e) {
  skipLlama = `node-llama-cpp cannot load on this machine: ${(e as Error).message}`;
}
if (skipShared) console.warn(`[gguf-tokenizer] skipped: ${skipShared}`);
if (skipLlama) console.warn(`[gguf-tokenizer] llama.cpp part skipped: ${skipLlama}`);

function samples(): string[] {
  const tricky = [
    'Hello world', " don't you'll I'M we've", '12345 678.9 1,000,000', '  leading and  double  spaces  ',
    'line one\nline two\n\n\nthree\r\nfour', 'tabs\tand\t\ttabs', 'naïve café — “quotes” 東京 русский', 'emoji 🙂👍🏽 done',
    '<|endoftext|> is special', 'x'.repeat(40), '   ', '\n',
  ];
  const wiki = path.join(sharedDir, 'text/wikitext-2/valid.txt');
  const lines = existsSync(wiki) ? readFileSync(wiki, 'utf8').split('\n').filter((l) => l.trim()).slice(0, 60) : [];
  return [...tricky, ...lines];
}

describe.skipIf(skipShared !== null)('GGUF vocabularies of the real OLMo tokenizers', () => {
  afterAll(async () => { await llama?.dispose(); });
  // the describe bodies below read ../shared while collecting, which a skipped suite still does
  for (const t of skipShared ? [] : TOKENIZERS) {
    describe(t.file, async () => {
      const src = path.join(sharedDir, 'tokenizers', t.file);
      const dir = tmpDir(`olmo-gguf-tok-${t.kind}-`);
      const cfg = OLMoConfig.from({ architecture: t.kind, vocab_size: t.vocab, embedding_size: padVocab(t.vocab), hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, eos_token_id: t.eos, pad_token_id: t.pad, bos_token_id: null });
      const m = OLMo.init(cfg, { seed: 1, requiresGrad: false });
      await m.savePretrained(dir);
      m.dispose();
      writeFileSync(path.join(dir, 'tokenizer.json'), readFileSync(src));
      const gguf = path.join(dir, 'model.gguf');
      await runExportCli(['export', 'gguf', '--model', dir, '--out', gguf], { stdout: { write: () => true } as unknown as NodeJS.WritableStream });
      const original = await Tokenizer.fromFile(src);
      const texts = samples();

      it(`tokenizer.json rebuilt from the GGUF encodes like the original (pre "${t.pre}")`, async () => {
        const rebuilt = Tokenizer.fromJSON(await readGgufTokenizerJson(gguf));
        for (const s of texts) expect(rebuilt.encode(s), JSON.stringify(s)).toEqual(original.encode(s));
      });

      it.skipIf(skipLlama !== null)('llama.cpp tokenizes like @olmo/tokenizer', async () => {
        const model = await llama!.loadModel({ modelPath: gguf, gpuLayers: 0, vocabOnly: true });
        try {
          let n = 0;
          for (const s of texts) {
            // specialTokens: true — HF tokenizers match added special tokens inside text too.
            expect(model.tokenize(s, true) as number[], JSON.stringify(s)).toEqual(original.encode(s));
            n++;
          }
          expect(n).toBe(texts.length);
        } finally {
          await model.dispose();
        }
      });
    });
  }
});

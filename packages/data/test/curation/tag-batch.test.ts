/**
 * The native batch path of `olmo data tag` (tag-file-batch.ts → @olmo/tensor-cuda textTagBatch,
 * native/cpu/text_tag_batch*.cc) writes byte for byte the attribute files of the TypeScript path:
 * checked against attribute lines built here from the READABLE REFERENCES (TypeScript gopher/c4/pii;
 * the per-document native fastText scorer) with attributes.ts's formatting, on real text (Moby-Dick, State of the
 * Union, spanning several gunzip chunks) and on edge cases: escaped / non-ASCII / lone-surrogate ids,
 * missing and escaped sources, duplicate keys, nested metadata, CRLF, empty texts, astral characters
 * around PII matches, and lines the batch hands to the TypeScript path (number id, capital sigma,
 * backspace + phone number, an escaped key). Malformed lines raise the same typed errors, naming file
 * and line, as the per-document path.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { textTagBatch, textTagBatchAvailable } from '@olmo/tensor-cuda';
import { formatAttributesLine, spansToAttributes } from '../../src/curation/attributes.js';
import { batchTagging } from '../../src/curation/tag-file-batch.js';
import { tagFile } from '../../src/curation/tag-file.js';
import { runTag } from '../../src/curation/tag.js';
import { C4V1 } from '../../src/curation/taggers/c4.js';
import { GopherV1 } from '../../src/curation/taggers/gopher.js';
import { FtLangIdEnDocV2, loadNativeLanguageModel, nativeEnglishScorer } from '../../src/curation/taggers/language.js';
import { nativeTextTaggers } from '../../src/curation/taggers/native.js';
import { PiiRegexV2 } from '../../src/curation/taggers/pii.js';
import type { Tagger } from '../../src/curation/types.js';
import { readDocs, resolveSources } from '../../src/sources.js';
import { expectOlmoError, readText, tmp, writeDocs } from './helpers.js';
import { ensureFreshDist } from '../../../../test/support/fresh-dist.js';

const TAGGERS = ['gopher_v1', 'c4_v1', 'pii_regex_v2', 'ft_lang_id_en_doc_v2'];
const available = nativeTextTaggers() && textTagBatchAvailable();
if (!available) console.log('tag-batch.test: native addon not built (or OLMO_TAGGERS_REFERENCE=1) — skipped (build: node packages/tensor-cuda/scripts/build-native.mjs)');
const d = available ? describe : describe.skip;

// Raw JSON lines (as written in a documents file) for the edge cases.
const EDGE_LINES: string[] = [
  JSON.stringify({ id: 'quote"back\\slash\nnl\u0001ctl\u2028ls', text: 'Short line.\nAnother one without punctuation\n- bullet\nwhat…', source: 'src "q"' }),
  JSON.stringify({ id: 'é😀 ünïcödé', text: 'Café au lait costs 3€. Emoji 😀 then mail: (x@y.com) and real.person@mail.example.org here.\n😀😀 call 555-123-4567 today', source: 'ü' }),
  JSON.stringify({ id: 'lone\ud800surrogate', text: 'lone \ud800 high and \udc00 low surrogates in text. ip 10.0.0.255 and 256.1.1.1' }),
  JSON.stringify({ id: 'no-source', text: 'javascript lorem ipsum {curly} the be to of and that have with #tag isbn 555 123 4567' }),
  JSON.stringify({ id: 'empty', text: '', source: 's' }),
  JSON.stringify({ id: 'spaces', text: '  \n\t \u3000 ', source: 's' }),
  JSON.stringify({ id: 'doi', text: 'see doi 10.1000/182 and phone 555.123.4567 or 192.168.1.1#frag\n\nthe the the the the the the the the the the' }),
  '{"id":"dup","text":"first text","metadata":{"a":[1,2.5e3,-0.1,true,false,null,{"b":"c","d":[]}],"e":{}},"text":"Second text wins. It has words.","source":"x","source":"y"}',
  '{ "id" : "ws\\u00e9\\/" , "text" : "tab\\there \\"quoted\\" back\\\\slash \\ud83d\\ude00 astral \\u00e9.\\r\\nnext line" }\r',
  // the TypeScript path: a number id, a capital sigma (fastText lower-casing), a backspace with a phone
  // number (Dolma's URL regex), an escaped key
  JSON.stringify({ id: 12345, text: 'A number id. The words are here.', source: 'n' }),
  JSON.stringify({ id: 'sigma', text: 'ΟΔΥΣΣΕΥΣ and Σ alone. Greek ΣΑΣ text.', source: 'g' }),
  JSON.stringify({ id: 'bs', text: 'backspace \u0008http://example.com/x and call 555-123-4567 now', source: 'b' }),
  '{"id":"escaped-key","te\\u0078t":"The key of this text has an escape.","source":"k"}',
  JSON.stringify({ id: 'after-fallbacks', text: 'Normal text again, with an email someone@example.com and more words.', source: 'z' }),
];

async function referenceTaggers(): Promise<[string, Tagger][]> {
  return [
    ['gopher_v1', new GopherV1({ reference: true })],
    ['c4_v1', new C4V1({ reference: true })],
    ['pii_regex_v2', new PiiRegexV2({ reference: true })],
    // the per-document native scorer: language-native.test.ts checks it bit-identical to fastText as
    // WebAssembly on the corpora; the two differ on LONE surrogates (the native op reads them as U+FFFD,
    // as V8's UTF-8 conversion does), which the edge cases here include
    ['ft_lang_id_en_doc_v2', new FtLangIdEnDocV2(nativeEnglishScorer(loadNativeLanguageModel()))],
  ];
}

/** The attributes file the TypeScript references produce for these raw lines (attributes.ts formatting). */
async function expected(lines: string[], experiment: string): Promise<string> {
  const taggers = await referenceTaggers();
  let out = '';
  for (const line of lines) {
    const doc = JSON.parse(line) as { id: string; text: string; source?: string };
    const attrs = new Map<string, [number, number, number][]>();
    for (const [name, t] of taggers) spansToAttributes(experiment, name, t.predict(doc), attrs);
    out += `${formatAttributesLine(doc.id, attrs, doc.source)}\n`;
  }
  return out;
}

async function corpusLines(everyNth: number): Promise<string[]> {
  const lines: string[] = [];
  let i = 0;
  for (const u of resolveSources(['moby-dick', 'sotu'])) {
    for await (const doc of readDocs(u)) if (i++ % everyNth === 0) lines.push(JSON.stringify({ id: `${u.name}-${doc.id}`, text: doc.text, source: u.name }));
  }
  return lines;
}

d('tag: native batch path = TypeScript references, byte for byte', () => {
  it('takes the batch path for the four built-in taggers (not for others, not when a tagger is repeated)', () => {
    expect(batchTagging('x', TAGGERS)).not.toBeNull();
    expect(batchTagging('x', ['c4_v1', 'ft_lang_id_en_doc_v2'])).not.toBeNull();
    expect(batchTagging('x', [...TAGGERS, 'char_length_v1'])).toBeNull();
    expect(batchTagging('x', ['c4_v1', 'c4_v1'])).toBeNull();
  });

  it('real text (every 3rd document of Moby-Dick + State of the Union, several gunzip chunks) and edge cases', async () => {
    const root = tmp();
    const lines = [...EDGE_LINES.slice(0, 5), ...(await corpusLines(3)), ...EDGE_LINES.slice(5)];
    const file = path.join(root, 'documents', 'a.jsonl.gz');
    writeDocs(root, 'a.jsonl.gz', lines);
    const r = await tagFile(file, 'exp', TAGGERS, false);
    expect(r.documents).toBe(lines.length);
    expect(r.bytes).toBe(lines.reduce((s, l) => s + Buffer.byteLength(l) + 1, 0));
    const want = await expected(lines, 'exp');
    const got = readText(r.output);
    // compare line by line first, for a readable failure
    const g = got.split('\n');
    const w = want.split('\n');
    for (let i = 0; i < w.length; i++) expect(g[i], `line ${i + 1}`).toBe(w[i]);
    expect(got).toBe(want);
    // and the per-document native path writes the same bytes
    const perDoc = await tagFile(file, 'exp2', TAGGERS, false, { batch: false });
    expect(readText(perDoc.output)).toBe(want.replaceAll('"exp__', '"exp2__'));
  }, 120_000);

  it('the batch itself tags every edge line except the four it hands to TypeScript', () => {
    const b = batchTagging('x', TAGGERS)!;
    const data = Buffer.from(EDGE_LINES.join('\n') + '\n');
    const stops: number[] = [];
    let off = 0;
    let line = 0;
    for (;;) {
      const r = textTagBatch(b.plan, b.lexicon, b.ft, data.subarray(off), true);
      line += r.lines;
      off += r.consumed;
      if (!r.stopped) break;
      stops.push(line);
      const nl = data.indexOf(10, off);
      off = nl + 1;
      line++;
    }
    expect(line).toBe(EDGE_LINES.length);
    expect(stops.map((i) => JSON.parse(EDGE_LINES[i]!).id ?? 'escaped-key')).toEqual([12345, 'sigma', 'bs', 'escaped-key']);
  });

  it('lines longer than a gunzip chunk (256 KiB): joined across chunks, also when the TypeScript path takes them', async () => {
    const root = tmp();
    const long = (await corpusLines(1)).map((l) => JSON.parse(l) as { text: string }).map((d) => d.text).join('\n').slice(0, 700_000);
    const lines = [
      JSON.stringify({ id: 'before', text: 'A short document. It has words.' }),
      JSON.stringify({ id: 'long', text: long, source: 'big' }),
      JSON.stringify({ id: 'long-sigma', text: `${long.slice(0, 400_000)} Σ`, source: 'big' }), // the TypeScript path
      JSON.stringify({ id: 'after', text: 'The end. Short.' }),
    ];
    const file = writeDocs(root, 'long.jsonl.gz', lines);
    const r = await tagFile(file, 'long', TAGGERS, false);
    expect(r.documents).toBe(4);
    expect(readText(r.output)).toBe(await expected(lines, 'long'));
  }, 120_000);

  it('--processes 2: worker threads sharing one fastText parse and its token features (fasttext_shared.h) write the same files as one thread', async () => {
    ensureFreshDist(['data']);  // the workers run the compiled dist/
    const root = tmp();
    const lines = await corpusLines(2);
    const files = [0, 1, 2, 3].map((k) => writeDocs(root, `p${k}.jsonl.gz`, lines.filter((_, i) => i % 4 === k)));
    await runTag({ documents: files, experiment: 'one', taggers: TAGGERS, quiet: true });
    await runTag({ documents: files, experiment: 'two', taggers: TAGGERS, processes: 2, quiet: true });
    for (const f of files) {
      const one = readText(f.replace('/documents/', '/attributes/one/'));
      expect(one.split('\n').length).toBeGreaterThan(40);
      expect(readText(f.replace('/documents/', '/attributes/two/')).replaceAll('"two__', '"one__')).toBe(one);
    }
  }, 120_000);

  it('gzip read natively (GzipFileReader) with Node gunzip semantics: several members, zero padding, lines across members and buffer refills = the per-document path', async () => {
    const root = tmp();
    const lines = await corpusLines(5);
    const body = Buffer.from(lines.join('\n') + '\n');
    const cut = [0, 1000, body.length >> 1, body.length - 7, body.length];  // members split inside lines
    const members = cut.slice(1).map((e, i) => gzipSync(body.subarray(cut[i]!, e)));
    const file = writeDocs(root, 'm.jsonl.gz', []);
    writeFileSync(file, Buffer.concat([...members, Buffer.alloc(64)]));
    const r = await tagFile(file, 'mm', TAGGERS, false);
    expect(r.documents).toBe(lines.length);
    const perDoc = await tagFile(file, 'mm2', TAGGERS, false, { batch: false });
    expect(readText(r.output)).toBe(readText(perDoc.output).replaceAll('"mm2__', '"mm__'));
  }, 120_000);

  it('inflate buffers reused across files (tag-file-batch.ts): files tagged at once on one thread, one with a line that doubles its buffer, then again = the per-document path', async () => {
    const root = tmp();
    // ~6 MB per file: several 1 MiB refills each, with awaits between them where the other file runs
    const lines = await corpusLines(1);
    const long = lines.map((l) => (JSON.parse(l) as { text: string }).text).join('\n').slice(0, 1_500_000); // > the 1 MiB buffer
    const files = [0, 1].map((k) => writeDocs(root, `r${k}.jsonl.gz`, lines.filter((_, i) => i % 2 === k)));
    files.push(writeDocs(root, 'r-long.jsonl.gz', [JSON.stringify({ id: 'long', text: long, source: 'big' }), lines[0]!]));
    const want = await Promise.all(files.map(async (f) => readText((await tagFile(f, 'ref', TAGGERS, false, { batch: false })).output)));
    for (const round of ['a', 'b']) {  // round b takes the buffers round a left behind (the grown one too)
      const got = await Promise.all(files.map((f) => tagFile(f, round, TAGGERS, false)));
      got.forEach((r, k) => expect(readText(r.output).replaceAll(`"${round}__`, '"ref__'), `${round} ${files[k]}`).toBe(want[k]));
    }
  }, 180_000);

  it('a subset of the taggers in another order; a last line without "\\n"; a plain .jsonl file', async () => {
    const root = tmp();
    const lines = EDGE_LINES;
    const file = path.join(root, 'documents', 'b.jsonl');
    writeDocs(root, 'b.jsonl', []);
    writeFileSync(file, lines.join('\n')); // no trailing newline
    const names = ['ft_lang_id_en_doc_v2', 'pii_regex_v2', 'c4_v1'];
    const r = await tagFile(file, 'sub', names, false);
    const taggers = (await referenceTaggers()).filter(([n]) => names.includes(n)).sort((a, b) => names.indexOf(a[0]) - names.indexOf(b[0]));
    let want = '';
    for (const line of lines) {
      const doc = JSON.parse(line) as { id: string; text: string; source?: string };
      const attrs = new Map<string, [number, number, number][]>();
      for (const [name, t] of taggers) spansToAttributes('sub', name, t.predict(doc), attrs);
      want += `${formatAttributesLine(doc.id, attrs, doc.source)}\n`;
    }
    expect(readText(r.output)).toBe(want);
  }, 60_000);
});

d('tag: malformed input on the batch path → the same typed errors naming file and line', () => {
  const cases: [string, (root: string) => string, string, string[]][] = [
    ['malformed JSON', (root) => writeDocs(root, 'a.jsonl.gz', [{ id: '1', text: 'ok.' }, { id: '2', text: 'fine.' }, '{"id": "3", "text": "unterminated']), 'DATA_CORRUPT', [':3', 'malformed JSON']],
    ['an empty line', (root) => writeDocs(root, 'a.jsonl', [{ id: '1', text: 'ok.' }, '', { id: '3', text: 'x' }]), 'DATA_CORRUPT', [':2', 'malformed JSON']],
    ['missing text', (root) => writeDocs(root, 'a.jsonl', [{ id: '1', text: 'ok.' }, { id: '2' }]), 'DATA_CORRUPT', [':2', '"text"']],
    ['missing id', (root) => writeDocs(root, 'a.jsonl', [{ id: '1', text: 'ok.' }, { text: 'no id' }]), 'DATA_CORRUPT', [':2', '"id"']],
    ['not an object', (root) => writeDocs(root, 'a.jsonl', [{ id: '1', text: 'ok.' }, '[1, 2]']), 'DATA_CORRUPT', [':2', 'not a JSON object']],
    ['invalid UTF-8', (root) => {
      const f = path.join(writeDocs(root, 'a.jsonl', []));
      writeFileSync(f, Buffer.concat([Buffer.from('{"id":"1","text":"ok."}\n{"id":"2","text":"bad '), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]));
      return f;
    }, 'DATA_CORRUPT', [':2', 'invalid UTF-8']],
    ['truncated gzip', (root) => {
      const f = writeDocs(root, 'a.jsonl.gz', []);
      const body = Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: String(i), text: `Document ${i} has some words in it.` })).join('\n') + '\n';
      const gz = gzipSync(body);
      writeFileSync(f, gz.subarray(0, gz.length - 40));
      return f;
    }, 'DATA_CORRUPT', ['cannot read after line', 'truncated gzip']],
  ];
  for (const [name, make, code, contains] of cases) {
    it(name, async () => {
      const root = tmp();
      const file = make(root);
      const batch = await expectOlmoError(tagFile(file, 'e', TAGGERS, false), code, file, ...contains);
      const perDoc = await expectOlmoError(tagFile(file, 'e', TAGGERS, false, { batch: false }), code);
      expect(batch.message).toBe(perDoc.message);
      expect((batch as { path?: string }).path).toBe((perDoc as { path?: string }).path);
    });
  }
});

// End to end on real text (the bundled Moby-Dick and State-of-the-Union corpora) plus planted
// problems: tag → dedupe (documents, paragraphs) → decon → mix → prepare, checking that every planted
// problem is tagged, that the mix removes/replaces exactly the documents whose attributes fire a rule
// (computed here independently from the attribute files), that every other document is written
// byte-identical, and that the report renders in headless Chromium.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDataCli } from '../../src/cli.js';
import { prepare } from '../../src/prepare.js';
import { readDocs, resolveSources } from '../../src/sources.js';
import { replaceSpans } from '../../src/curation/span-replace.js';
import { ByteTokenizer } from '../fake-tokenizer.js';
import { readJsonl, readText, tmp, writeDocs } from './helpers.js';
import { mkdirSync } from 'node:fs';

type Doc = { id: string; text: string; source: string };
type Attrs = Record<string, [number, number, number][]>;

const root = tmp('olmo-cur-e2e-');
const QUESTION = 'Which planet in our solar system has the largest number of known moons orbiting it today?';
const PII_TEXT = 'Write to jane.roe@example.org or call 555 867 5309 from 10.0.0.7 today.\nThe rest of this note is ordinary English prose about the weather and the sea.';
const PII_EXPECTED = 'Write to|||EMAIL_ADDRESS|||or call|||PHONE_NUMBER||| from |||IP_ADDRESS||| today.\nThe rest of this note is ordinary English prose about the weather and the sea.';
const REPEAT = 'This sentence is repeated on purpose within one document.';
let moby: Doc[] = [];
let sotu: Doc[] = [];
let planted: Doc[] = [];
let borrowed = '';
const logs: string[] = [];
const io = { stdout: (s: string) => { logs.push(s); }, stderr: () => {} };

async function load(name: string, n: number): Promise<Doc[]> {
  const out: Doc[] = [];
  for (const u of resolveSources([name])) for await (const d of readDocs(u)) { if (out.length < n) out.push({ id: `${name}-${d.id}`, text: d.text, source: name }); }
  return out;
}

function chromium(): string | undefined {
  for (const c of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) if (existsSync(c)) return c;
  return undefined;
}

beforeAll(async () => {
  moby = await load('moby-dick', 40);
  sotu = await load('sotu', 40);
  // a long line of Moby-Dick that occurs once in the corpus, to be repeated in a planted document
  const all = [...moby, ...sotu].flatMap((d) => d.text.split('\n'));
  const counts = new Map<string, number>();
  for (const l of all) counts.set(l, (counts.get(l) ?? 0) + 1);
  borrowed = moby[12]!.text.split('\n').filter((l) => l.trim().length > 50 && counts.get(l) === 1)[0]!;
  planted = [
    { id: 'planted-exact-duplicate', text: moby[5]!.text, source: 'planted' },
    { id: 'planted-repeated-paragraphs', text: `A fresh opening paragraph written for this test of the curation tools.\n${borrowed}\n${REPEAT}\nSomething in between, written plainly.\n${REPEAT}\nAnd a closing line of our own making.`, source: 'planted' },
    { id: 'planted-pii', text: PII_TEXT, source: 'planted' },
    { id: 'planted-boilerplate', text: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit.\nPlease enable javascript to view this page.\nCopyright all rights reserved.', source: 'planted' },
    { id: 'planted-french', text: 'Le vieux marin regardait la mer depuis le quai. Il pensait à la baleine blanche qui avait emporté sa jambe, et il jurait de la retrouver avant la fin de l\'été.', source: 'planted' },
    { id: 'planted-symbols', text: '### ### ### ###\n#### #### ## #\n# # # # # #\nsee the table above', source: 'planted' },
    { id: 'planted-contaminated', text: `Quiz night notes from the library.\n${QUESTION}\nThe answer was discussed at length by everyone present.`, source: 'planted' },
    { id: 'planted-clean-control', text: 'The harbour was quiet in the early morning, and the fishermen were preparing their boats for a long day at sea. Nobody spoke much; the work was familiar and the weather was kind.', source: 'planted' },
  ];
  writeDocs(root, 'moby/part-0000.jsonl.gz', moby);
  writeDocs(root, 'planted/part-0000.jsonl', planted);
  writeDocs(root, 'sotu/part-0000.jsonl.gz', sotu);
  mkdirSync(path.join(root, 'eval'), { recursive: true });
  writeFileSync(path.join(root, 'eval/questions.jsonl.gz'), gzipSync(`${JSON.stringify({ text: QUESTION })}\n${JSON.stringify({ text: 'Short one?' })}\n`));

  const docs = path.join(root, 'documents/**/*.jsonl*');
  expect(await runDataCli(['tag', '--documents', docs, '--experiment', 'exp', '--taggers', 'gopher_v1,c4_v1,pii_regex_v2,ft_lang_id_en_doc_v2', '--report', path.join(root, 'report-tag'), '--quiet'], io)).toBe(0);
  expect(await runDataCli(['dedupe', '--documents', docs, '--name', 'dedup_docs', '--key', '$.text', '--bloom-file', path.join(root, 'docs.bloom'), '--expected-items', '10000', '--false-positive-rate', '1e-9', '--quiet'], io)).toBe(0);
  expect(await runDataCli(['dedupe', '--documents', docs, '--name', 'dedup_paras', '--paragraphs', '--skip-empty', '--bloom-file', path.join(root, 'paras.bloom'), '--expected-items', '100000', '--false-positive-rate', '1e-9', '--quiet'], io)).toBe(0);
  expect(await runDataCli(['decon', '--eval', path.join(root, 'eval/questions.jsonl.gz'), '--documents', docs, '--name', 'decon', '--bloom-file', path.join(root, 'eval.bloom'), '--quiet'], io)).toBe(0);
  const sel = (name: string, cond: string) => `$.attributes[?(@.${name} && @.${name}[0] && ${cond.replaceAll('X', `@.${name}[0][2]`)})]`;
  writeFileSync(path.join(root, 'mix.yaml'), `streams:
  - name: curated
    documents: [documents/**/*.jsonl*]
    attributes: [exp, dedup_docs, dedup_paras, decon]
    filter:
      exclude:
        - "${sel('exp__gopher_v1__symbol_to_word_ratio', 'X > 0.1')}"
        - "${sel('exp__ft_lang_id_en_doc_v2__en', 'X < 0.5')}"
        - "$.attributes[?(@.exp__c4_v1__has_lorem_ipsum)]"
        - "$.attributes[?(@.exp__c4_v1__has_javascript)]"
        - "$.attributes[?(@.bff_duplicate_documents && @.bff_duplicate_documents[0])]"
        - "$.attributes[?(@.bff_contaminated_paragraph_spans && @.bff_contaminated_paragraph_spans[0])]"
    span_replacement:
      - {span: "$.attributes.bff_duplicate_paragraph_spans", min_score: 0.5, replacement: ""}
      - {span: "$.attributes.exp__pii_regex_v2__EMAIL_ADDRESS", min_score: 0.5, replacement: "|||EMAIL_ADDRESS|||"}
      - {span: "$.attributes.exp__pii_regex_v2__PHONE_NUMBER", min_score: 0.5, replacement: "|||PHONE_NUMBER|||"}
      - {span: "$.attributes.exp__pii_regex_v2__IP_ADDRESS", min_score: 0.5, replacement: "|||IP_ADDRESS|||"}
    output:
      path: out
      max_size_in_bytes: 100000000
`);
  expect(await runDataCli(['mix', '--config', path.join(root, 'mix.yaml'), '--report', path.join(root, 'report-mix'), '--quiet'], io)).toBe(0);
}, 240_000);

function attrsFor(rel: string): Attrs[] {
  const names = ['exp', 'dedup_docs', 'dedup_paras', 'decon'];
  const per = names.map((n) => readJsonl<{ attributes: Attrs }>(path.join(root, 'attributes', n, rel)).map((x) => x.attributes));
  return per[0]!.map((_, i) => Object.assign({}, ...per.map((p) => p[i])));
}

describe('curation end to end (moby-dick + sotu + planted problems)', () => {
  it('every planted problem is tagged', () => {
    const a = attrsFor('planted/part-0000.jsonl');
    const byId = Object.fromEntries(planted.map((d, i) => [d.id, a[i]!]));
    expect(byId['planted-exact-duplicate']!.bff_duplicate_documents).toEqual([[0, Buffer.byteLength(moby[5]!.text), 1]]);
    const rp = byId['planted-repeated-paragraphs']!.bff_duplicate_paragraph_spans!;
    const text = planted[1]!.text;
    const lineStart = (l: string, from = 0) => [...text.slice(0, text.indexOf(l, from))].length;
    expect(rp).toContainEqual([lineStart(borrowed), lineStart(borrowed) + [...borrowed].length + 1, 1]);
    const second = text.indexOf(REPEAT, text.indexOf(REPEAT) + 1);
    expect(rp).toContainEqual([[...text.slice(0, second)].length, [...text.slice(0, second)].length + REPEAT.length + 1, 1]);
    expect(rp).toHaveLength(2);
    const pii = byId['planted-pii']!;
    expect(pii.exp__pii_regex_v2__EMAIL_ADDRESS).toHaveLength(1);
    expect(pii.exp__pii_regex_v2__PHONE_NUMBER).toHaveLength(1);
    expect(pii.exp__pii_regex_v2__IP_ADDRESS).toHaveLength(1);
    expect(byId['planted-boilerplate']!.exp__c4_v1__has_lorem_ipsum).toBeDefined();
    expect(byId['planted-boilerplate']!.exp__c4_v1__has_javascript).toBeDefined();
    expect(byId['planted-french']!.exp__ft_lang_id_en_doc_v2__en![0]![2]).toBeLessThan(0.2);
    expect(byId['planted-symbols']!.exp__gopher_v1__symbol_to_word_ratio![0]![2]).toBeGreaterThan(0.5);
    expect(byId['planted-contaminated']!.bff_contaminated_paragraph_spans).toHaveLength(1);
    const ctl = byId['planted-clean-control']!;
    expect(ctl.exp__ft_lang_id_en_doc_v2__en![0]![2]).toBeGreaterThan(0.8);
    expect(ctl.bff_duplicate_paragraph_spans).toEqual([]);
  });

  it('the mix removes/replaces exactly the documents whose attributes fire a rule; all others are byte-identical', () => {
    const expected: string[] = [];
    const firing: string[] = [];
    for (const rel of ['moby/part-0000.jsonl.gz', 'planted/part-0000.jsonl', 'sotu/part-0000.jsonl.gz']) {
      const lines = readText(path.join(root, 'documents', rel)).split('\n').filter(Boolean);
      const attrs = attrsFor(rel);
      lines.forEach((line, i) => {
        const a = attrs[i]!;
        const doc = JSON.parse(line) as Doc;
        const first = (k: string) => a[k]?.[0]?.[2];
        const removed = (first('exp__ft_lang_id_en_doc_v2__en') ?? 1) < 0.5 || (first('exp__gopher_v1__symbol_to_word_ratio') ?? 0) > 0.1
          || a.exp__c4_v1__has_lorem_ipsum !== undefined || a.exp__c4_v1__has_javascript !== undefined
          || (a.bff_duplicate_documents?.length ?? 0) > 0 || (a.bff_contaminated_paragraph_spans?.length ?? 0) > 0;
        if (removed) { firing.push(doc.id); return; }
        const reps = [
          ...(a.bff_duplicate_paragraph_spans ?? []).map(([s, e]) => ({ start: s, end: e, replacement: '', rule: 'p' })),
          ...(['EMAIL_ADDRESS', 'PHONE_NUMBER', 'IP_ADDRESS'] as const).flatMap((t) => (a[`exp__pii_regex_v2__${t}`] ?? []).map(([s, e]) => ({ start: s, end: e, replacement: `|||${t}|||`, rule: t }))),
        ];
        if (reps.length === 0) { expected.push(line); return; }
        firing.push(doc.id);
        expected.push(JSON.stringify({ ...doc, text: replaceSpans(doc.text, reps).text }));
      });
    }
    const got = readText(path.join(root, 'out/curated-0000.jsonl.gz')).split('\n').filter(Boolean);
    expect(got).toEqual(expected);
    // every planted problem fired, the clean control did not; most real documents are untouched
    for (const d of planted) expect(firing.includes(d.id), d.id).toBe(d.id !== 'planted-clean-control');
    expect(firing.length).toBeLessThan(planted.length + (moby.length + sotu.length) / 3);
    const pii = got.map((l) => JSON.parse(l) as Doc).find((d) => d.id === 'planted-pii')!;
    expect(pii.text).toBe(PII_EXPECTED);
    const rp = got.map((l) => JSON.parse(l) as Doc).find((d) => d.id === 'planted-repeated-paragraphs')!;
    expect(rp.text).toBe(`A fresh opening paragraph written for this test of the curation tools.\n${REPEAT}\nSomething in between, written plainly.\nAnd a closing line of our own making.`);
  });

  it('the mix output goes straight into olmo data prepare', async () => {
    const out = path.join(root, 'tokens');
    const r = await prepare({ tokenizer: new ByteTokenizer(), out, sources: [path.join(root, 'out')], threads: 1, progress: false });
    const n = readText(path.join(root, 'out/curated-0000.jsonl.gz')).split('\n').filter(Boolean).length;
    expect(r.manifest.totalDocuments).toBe(n);
  });

  it('the report lists every rule with its removals and renders in headless Chromium', () => {
    const md = readFileSync(path.join(root, 'report-mix/report.md'), 'utf8');
    expect(md).toContain('exclude: $.attributes[?(@.exp__c4_v1__has_lorem_ipsum)]');
    expect(md).toContain('planted-french');
    const tagMd = readFileSync(path.join(root, 'report-tag/report.md'), 'utf8');
    expect(tagMd).toContain('exp__gopher_v1__word_count');
    const c = chromium();
    if (!c) { console.warn('[curation e2e] headless Chromium not found: HTML render check SKIPPED'); return; }
    const dump = (f: string) => execFileSync(c, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--dump-dom', `file://${f}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const tagDom = dump(path.join(root, 'report-tag/report.html'));
    const keys = new Set(readJsonl<{ attributes: Attrs }>(path.join(root, 'attributes/exp/planted/part-0000.jsonl')).flatMap((x) => Object.keys(x.attributes)));
    for (const k of keys) expect(tagDom).toContain(`data-key="${k}"`);
    expect((tagDom.match(/class="bar"/g) ?? []).length).toBeGreaterThan(20 * 10);
    const mixDom = dump(path.join(root, 'report-mix/report.html'));
    expect(mixDom).toContain('data-name="curated"');
    // one row per rule that removed or replaced something: 5 planted removals (the javascript rule finds its
    // document already removed by lorem ipsum) + 4 replacement rules
    expect((mixDom.match(/<tr data-rule=/g) ?? []).length).toBe(5 + 4);
    expect(mixDom).toContain('exp__gopher_v1__symbol_to_word_ratio[0][2] &gt; 0.1');
    expect(mixDom).toContain('class="sample"');
  });
});

// Bad input → typed OlmoErrors naming file and line; failed runs leave no partial outputs and a
// restart produces the same outputs as an uninterrupted run; every command's -h lists its options.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runDataCli } from '../../src/cli.js';
import { runMix } from '../../src/curation/mix.js';
import { runTag } from '../../src/curation/tag.js';
import { expectOlmoError, tmp, writeDocs } from './helpers.js';
import { mkdirSync } from 'node:fs';

const TAGGERS = ['gopher_v1', 'c4_v1', 'pii_regex_v2', 'char_length_v1'];
const tag = (root: string, extra: Partial<Parameters<typeof runTag>[0]> = {}) => runTag({ documents: [path.join(root, 'documents')], experiment: 'x', taggers: TAGGERS, quiet: true, ...extra });

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => { for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : out.push(path.join(d, e.name)); };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

describe('bad documents → DATA_CORRUPT naming file:line, no partial attribute files', () => {
  it('malformed JSON line', async () => {
    const root = tmp();
    const f = writeDocs(root, 'a.jsonl', [{ id: '1', text: 'ok' }, '{"id": "2", "text": "unterminated']);
    await expectOlmoError(tag(root), 'DATA_CORRUPT', `${f}:2`, 'malformed JSON');
    expect(files(path.join(root, 'attributes'))).toEqual([]);
  });
  it('missing text / missing id / not an object', async () => {
    const root = tmp();
    let f = writeDocs(root, 'a.jsonl', [{ id: '1', text: 'ok' }, { id: '2', body: 'no text' }]);
    await expectOlmoError(tag(root), 'DATA_CORRUPT', `${f}:2`, '"text"');
    f = writeDocs(root, 'a.jsonl', [{ text: 'no id' }]);
    await expectOlmoError(tag(root), 'DATA_CORRUPT', `${f}:1`, '"id"');
    f = writeDocs(root, 'a.jsonl', ['[1,2]']);
    await expectOlmoError(tag(root), 'DATA_CORRUPT', `${f}:1`, 'not a JSON object');
  });
  it('non-UTF-8 bytes', async () => {
    const root = tmp();
    const f = path.join(root, 'documents/a.jsonl');
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, Buffer.concat([Buffer.from('{"id":"1","text":"ok"}\n{"id":"2","text":"bad '), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]));
    await expectOlmoError(tag(root), 'DATA_CORRUPT', `${f}:2`, 'UTF-8');
  });
  it('truncated gzip', async () => {
    const root = tmp();
    const f = path.join(root, 'documents/a.jsonl.gz');
    mkdirSync(path.dirname(f), { recursive: true });
    const body = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ id: String(i), text: `document number ${i} with some words in it` })).join('\n');
    const gz = gzipSync(body);
    writeFileSync(f, gz.subarray(0, Math.floor(gz.length * 0.6)));
    const e = await expectOlmoError(tag(root), 'DATA_CORRUPT', f, 'truncated gzip');
    expect(e.message).toMatch(/a\.jsonl\.gz:\d+/);
    expect(files(path.join(root, 'attributes'))).toEqual([]);
  });
  it('missing documents / unknown tagger / bad experiment name are typed', async () => {
    const root = tmp();
    await expectOlmoError(tag(root), 'NOT_FOUND');
    writeDocs(root, 'a.jsonl', [{ id: '1', text: 'x' }]);
    await expectOlmoError(tag(root, { taggers: ['nope_v1'] }), 'INVALID_ARGUMENT', 'nope_v1');
    await expectOlmoError(tag(root, { experiment: 'a/b' }), 'INVALID_ARGUMENT');
  });
});

describe('attribute files that do not line up with their documents → DATA_CORRUPT naming the attributes file and line', () => {
  async function setup(attrLines: string[]): Promise<{ root: string; af: string }> {
    const root = tmp();
    writeDocs(root, 'a.jsonl', [{ id: '1', text: 'one' }, { id: '2', text: 'two' }]);
    const af = path.join(root, 'attributes/e/a.jsonl');
    mkdirSync(path.dirname(af), { recursive: true });
    writeFileSync(af, attrLines.join('\n') + '\n');
    return { root, af };
  }
  const mix = (root: string) => runMix([{ name: 's', documents: [path.join(root, 'documents')], attributes: ['e'], output: { path: path.join(root, 'out') } }], { quiet: true });
  it('fewer lines, more lines, another id, malformed line', async () => {
    let s = await setup(['{"id":"1","attributes":{}}']);
    await expectOlmoError(mix(s.root), 'DATA_CORRUPT', `${s.af}:2`, 'fewer lines');
    s = await setup(['{"id":"1","attributes":{}}', '{"id":"2","attributes":{}}', '{"id":"3","attributes":{}}']);
    await expectOlmoError(mix(s.root), 'DATA_CORRUPT', `${s.af}:3`, 'more lines');
    s = await setup(['{"id":"1","attributes":{}}', '{"id":"7","attributes":{}}']);
    await expectOlmoError(mix(s.root), 'DATA_CORRUPT', `${s.af}:2`, 'id');
    s = await setup(['{"id":"1","attributes":{}}', '{"id":"2","attr']);
    await expectOlmoError(mix(s.root), 'DATA_CORRUPT', `${s.af}:2`, 'malformed JSON');
    expect(existsSync(path.join(s.root, 'out/s-0000.jsonl.gz'))).toBe(false);
    expect(files(path.join(s.root, 'out'))).toEqual([]);
  });
  it('a missing attributes file is NOT_FOUND naming it', async () => {
    const root = tmp();
    writeDocs(root, 'a.jsonl', [{ id: '1', text: 'one' }]);
    await expectOlmoError(mix(root), 'NOT_FOUND', path.join(root, 'attributes/e/a.jsonl'));
  });
  it('an unparsable filter expression in a config → CONFIG_INVALID naming the config file (CLI exit 1)', async () => {
    const root = tmp();
    writeDocs(root, 'a.jsonl', [{ id: '1', text: 'one' }]);
    const cfg = path.join(root, 'mix.yaml');
    writeFileSync(cfg, 'streams:\n  - name: s\n    documents: [documents/a.jsonl]\n    attributes: []\n    output: {path: out}\n    filter: {include: ["$.attributes[?(@.a == )]"]}\n');
    const err: string[] = [];
    expect(await runDataCli(['mix', '--config', cfg, '--quiet'], { stdout: () => {}, stderr: (s) => { err.push(s); } })).toBe(1);
    expect(err.join('\n')).toMatch(/CONFIG_INVALID.*filter\.include\[0\]/);
    expect(err.join('\n')).toContain(`${cfg}:6`); // the config line holding the expression
  });
});

describe('a run that fails mid-way and is restarted produces the same outputs', () => {
  const docs = (k: number) => Array.from({ length: 30 }, (_, i) => ({ id: `${k}-${i}`, text: `Document ${i} of file ${k}. Mail a${i}@example.com or call 555 010 ${String(1000 + i)}.\nSecond line here.` }));
  it('tag: finished files are skipped, the failed one is redone, outputs identical', async () => {
    const clean = tmp();
    for (let k = 0; k < 3; k++) writeDocs(clean, `f${k}.jsonl.gz`, docs(k));
    await tag(clean);
    const broken = tmp();
    writeDocs(broken, 'f0.jsonl.gz', docs(0));
    writeDocs(broken, 'f1.jsonl.gz', [...docs(1).slice(0, 10).map((d) => JSON.stringify(d)), 'garbage']);
    writeDocs(broken, 'f2.jsonl.gz', docs(2));
    await expectOlmoError(tag(broken), 'DATA_CORRUPT', 'f1.jsonl.gz:11');
    expect(files(path.join(broken, 'attributes')).map((f) => path.basename(f))).toEqual(['f0.jsonl.gz']);
    const f0 = path.join(broken, 'attributes/x/f0.jsonl.gz');
    const before = readFileSync(f0);
    writeDocs(broken, 'f1.jsonl.gz', docs(1));
    const r = await tag(broken);
    expect(r.files.map((f) => f.skipped)).toEqual([true, false, false]);
    expect(readFileSync(f0).equals(before)).toBe(true);
    const text = (root: string, f: string) => (readFileSync(path.join(root, 'attributes/x', f)));
    for (const f of ['f0.jsonl.gz', 'f1.jsonl.gz', 'f2.jsonl.gz']) {
      const { gunzipSync } = await import('node:zlib');
      expect(gunzipSync(text(broken, f)).toString()).toBe(gunzipSync(text(clean, f)).toString());
    }
  });

  it('mix: finished shards are skipped (left as they were), the failed one is redone, outputs identical', async () => {
    // one shard per documents file (max_size_in_bytes below every file's size); e-mail addresses masked
    const mixIt = (root: string) => runMix([{
      name: 's', documents: [path.join(root, 'documents/*.jsonl.gz')], attributes: ['x'],
      spanReplacement: [{ span: '$.attributes.x__pii_regex_v2__EMAIL_ADDRESS', minScore: 0.5, replacement: '|||EMAIL_ADDRESS|||' }],
      output: { path: path.join(root, 'out'), maxSizeInBytes: 1 },
    }], { quiet: true });
    const clean = tmp();
    for (let k = 0; k < 3; k++) writeDocs(clean, `f${k}.jsonl.gz`, docs(k));
    await tag(clean);
    const cleanRun = await mixIt(clean);
    const outs = files(path.join(clean, 'out')).map((f) => path.basename(f));
    expect(outs).toEqual(['s-0000.jsonl.gz', 's-0001.jsonl.gz', 's-0002.jsonl.gz']);
    expect(cleanRun.streams[0]!.replacedBy['$.attributes.x__pii_regex_v2__EMAIL_ADDRESS']!.spans).toBe(90);

    const broken = tmp();
    for (let k = 0; k < 3; k++) writeDocs(broken, `f${k}.jsonl.gz`, docs(k));
    await tag(broken);
    // the attributes of f1 lose their last line: the mix dies in shard 1 ("killed" mid-way)
    const af1 = path.join(broken, 'attributes/x/f1.jsonl.gz');
    const goodAttrs = readFileSync(af1);
    const { gunzipSync } = await import('node:zlib');
    writeFileSync(af1, gzipSync(gunzipSync(goodAttrs).toString().split('\n').slice(0, 20).join('\n') + '\n'));
    await expectOlmoError(mixIt(broken), 'DATA_CORRUPT', `${af1}:21`);
    expect(files(path.join(broken, 'out')).map((f) => path.basename(f))).toEqual(['s-0000.jsonl.gz']); // no temp or partial files
    const shard0 = path.join(broken, 'out/s-0000.jsonl.gz');
    const before = readFileSync(shard0);
    writeFileSync(af1, goodAttrs);
    const r = await mixIt(broken);
    expect(r.streams[0]!.skippedShards).toBe(1);
    expect(readFileSync(shard0).equals(before)).toBe(true);
    for (const f of outs) expect(gunzipSync(readFileSync(path.join(broken, 'out', f))).toString()).toBe(gunzipSync(readFileSync(path.join(clean, 'out', f))).toString());
  });
});

const distWorker = fileURLToPath(new URL('../../dist/curation/tag-worker.js', import.meta.url));
describe('tag --processes 2 (worker threads)', () => {
  if (!existsSync(distWorker)) console.warn('[curation] dist/curation/tag-worker.js not built (npx tsc -p packages/data/tsconfig.json): worker-thread test SKIPPED');
  it.skipIf(!existsSync(distWorker))('gives the same attribute files as one process', async () => {
    const a = tmp();
    const b = tmp();
    for (const root of [a, b]) for (let k = 0; k < 4; k++) writeDocs(root, `f${k}.jsonl`, Array.from({ length: 20 }, (_, i) => ({ id: `${k}-${i}`, text: `Text ${k} ${i}. Call 555 123 ${4000 + i} now.\n- bullet` })));
    await tag(a, { processes: 1 });
    await tag(b, { processes: 2 });
    for (let k = 0; k < 4; k++) expect(readFileSync(path.join(b, `attributes/x/f${k}.jsonl`), 'utf8')).toBe(readFileSync(path.join(a, `attributes/x/f${k}.jsonl`), 'utf8'));
  });
});

describe('-h/--help', () => {
  for (const [cmd, opts] of [
    ['tag', ['--documents', '--experiment', '--taggers', '--taggers-modules', '--processes', '--no-resume', '--config', '--report']],
    ['dedupe', ['--documents', '--name', '--paragraphs', '--key', '--attribute-name', '--bloom-file', '--expected-items', '--false-positive-rate', '--read-only', '--exact', '--skip-empty', '--min-length']],
    ['mix', ['--config', '--documents', '--attributes', '--output', '--include', '--exclude', '--replace', '--sample-rate', '--min-text-length']],
    ['decon', ['--eval', '--eval-field', '--documents', '--bloom-file', '--min-chars', '--false-positive-rate']],
  ] as const) {
    it(`olmo data ${cmd} -h prints every option with its default and exits 0`, async () => {
      const out: string[] = [];
      const cwd = tmp();
      expect(await runDataCli([cmd, '-h'], { stdout: (s) => { out.push(s); }, stderr: () => {} })).toBe(0);
      const text = out.join('\n');
      for (const o of opts) expect(text).toContain(o);
      expect(text).toMatch(/default/);
      expect(readdirSync(cwd)).toEqual([]);
    });
  }
  it('a bad flag value is exit 2', async () => {
    expect(await runDataCli(['tag', '--documents', 'x', '--experiment', 'e', '--taggers', 'c4_v1', '--processes', 'zero'], { stdout: () => {}, stderr: () => {} })).toBe(2);
  });
});

import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePath } from '../../src/curation/json-path.js';
import { loadMixConfig, runMix } from '../../src/curation/mix.js';
import { replaceSpans } from '../../src/curation/span-replace.js';
import { expectOlmoError, readJsonl, tmp, writeDocs } from './helpers.js';
import { mkdirSync } from 'node:fs';

describe('span replacement — Dolma src/shard.rs Shard::process', () => {
  const r = (start: number, end: number, replacement: string) => ({ start, end, replacement, rule: 'r' });
  it('replaces sorted spans, skips spans starting inside a replaced one, "{}" is the old text, "" deletes', () => {
    expect(replaceSpans('0123456789', [r(6, 8, 'B'), r(1, 3, 'A')]).text).toBe('0A345B89');
    expect(replaceSpans('0123456789', [r(0, 5, 'X'), r(3, 8, 'Y')]).text).toBe('X56789');
    expect(replaceSpans('0123456789', [r(2, 4, '<{}>')]).text).toBe('01<23>456789');
    expect(replaceSpans('a\nb\nc', [r(2, 4, '')]).text).toBe('a\nc');
    expect(replaceSpans('abc', [r(1, 9, 'Z')]).text).toBe('aZ'); // a span past the end runs to the end
  });
  it('offsets are code points', () => {
    expect(replaceSpans('\u{1F600}ab\u{1F600}cd', [r(1, 3, '_'), r(4, 5, '-')]).text).toBe('\u{1F600}_\u{1F600}-d');
  });
});

describe('filter expressions (JSONPath, Dolma syntax)', () => {
  const doc = { id: 'x', text: 't', attributes: { e__t__en: [[0, 1, 0.3]], e__t__flag: [[0, 1, 1.0]] } };
  it('a filter on $.attributes tests the attributes object itself, as jsonpath_rust does', () => {
    expect(compilePath('$.attributes[?(@.e__t__en && @.e__t__en[0] && @.e__t__en[0][2] < 0.5)]', 't').eval(doc)).toHaveLength(1);
    expect(compilePath('$.attributes[?(@.e__t__en && @.e__t__en[0] && @.e__t__en[0][2] > 0.5)]', 't').eval(doc)).toHaveLength(0);
    expect(compilePath('$.attributes[?(@.e__t__flag)]', 't').eval(doc)).toHaveLength(1);
    expect(compilePath('$.attributes[?(@.missing)]', 't').eval(doc)).toHaveLength(0);
    expect(compilePath('$.attributes[?(@.missing[0][2] > 0.5)]', 't').eval(doc)).toHaveLength(0); // eval error = no match
    expect(compilePath('$.attributes.e__t__en', 't').eval(doc)).toEqual([[[0, 1, 0.3]]]);
  });
  it('an unparsable expression is CONFIG_INVALID naming where it came from', async () => {
    await expectOlmoError(() => compilePath('$.attributes[?(@.x &&& ]', 'mix.yaml: stream s filter.exclude[0]'), 'CONFIG_INVALID', 'mix.yaml: stream s filter.exclude[0]');
    await expectOlmoError(() => compilePath('attributes.x', 'here'), 'CONFIG_INVALID', 'here');
    await expectOlmoError(() => compilePath('$.attributes[?(@.x > 1)', 'here'), 'CONFIG_INVALID', 'unbalanced');
  });
});

describe('mix', () => {
  it('include/exclude, replacement, sampling and upsampling; untouched lines are written verbatim', async () => {
    const root = tmp();
    const raw = ['{"id":"a",  "text":"keep me"}', { id: 'b', text: 'drop me' }, { id: 'c', text: 'mail x@y.com now' }];
    writeDocs(root, 's/one.jsonl', raw);
    const attrs = [
      { id: 'a', attributes: { e__t__bad: [] } },
      { id: 'b', attributes: { e__t__bad: [[0, 7, 1.0]] } },
      { id: 'c', attributes: { e__t__bad: [], e__pii__EMAIL_ADDRESS: [[4, 13, 1.0]] } },
    ];
    mkdirSync(path.join(root, 'attributes/e/s'), { recursive: true });
    writeFileSync(path.join(root, 'attributes/e/s/one.jsonl'), attrs.map((a) => JSON.stringify(a)).join('\n') + '\n');
    const out = path.join(root, 'out');
    const r = await runMix([{
      name: 'web', documents: [path.join(root, 'documents/**/*.jsonl')], attributes: ['e'], exclude: ['$.attributes[?(@.e__t__bad && @.e__t__bad[0])]'],
      spanReplacement: [{ span: '$.attributes.e__pii__EMAIL_ADDRESS', replacement: '|||EMAIL_ADDRESS|||', minScore: 0.5 }], output: { path: out },
    }], { quiet: true });
    const lines = (await import('./helpers.js')).readText(path.join(out, 'web-0000.jsonl.gz')).split('\n');
    expect(lines[0]).toBe('{"id":"a",  "text":"keep me"}');
    expect(JSON.parse(lines[1]!)).toEqual({ id: 'c', text: 'mail|||EMAIL_ADDRESS|||now' });
    expect(lines).toHaveLength(3);
    expect(r.streams[0]!.removedBy['exclude: $.attributes[?(@.e__t__bad && @.e__t__bad[0])]']!.documents).toBe(1);
    expect(r.streams[0]!.replacedBy['$.attributes.e__pii__EMAIL_ADDRESS']).toEqual({ spans: 1, chars: 9 });

    // sample_rate 2.5: each document 2 or 3 times, decided by (seed, id); 0: none
    const many = Array.from({ length: 400 }, (_, i) => ({ id: `d${i}`, text: `t${i}` }));
    writeDocs(root, 'm/m.jsonl', many);
    const r2 = await runMix([{ name: 'up', documents: [path.join(root, 'documents/m')], attributes: [], output: { path: out }, sampleRate: 2.5, seed: 7 }], { quiet: true });
    const n = r2.streams[0]!.outputDocuments;
    expect(n).toBeGreaterThan(400 * 2.5 - 60);
    expect(n).toBeLessThan(400 * 2.5 + 60);
    const ids = readJsonl<{ id: string }>(path.join(out, 'up-0000.jsonl.gz')).map((d) => d.id);
    expect(new Set(ids).size).toBe(400);
  });

  it('config errors: unknown keys and bad expressions name the config file', async () => {
    const root = tmp();
    const cfg = path.join(root, 'mix.yaml');
    writeFileSync(cfg, 'streams:\n  - name: s\n    documents: [documents/*.jsonl]\n    output: {path: out}\n    filtr: {}\n');
    await expectOlmoError(() => loadMixConfig(cfg), 'CONFIG_INVALID', "unknown key 'filtr'", cfg);
    writeDocs(root, 'a.jsonl', [{ id: '1', text: 'x' }]);
    writeFileSync(cfg, 'streams:\n  - name: s\n    documents: [documents/*.jsonl]\n    attributes: []\n    output: {path: out}\n    filter:\n      exclude: ["$.attributes[?(@.x &&& ]"]\n');
    await expectOlmoError(runMix(loadMixConfig(cfg), { configFile: cfg, quiet: true }), 'CONFIG_INVALID', cfg, 'filter.exclude[0]');
  });
});

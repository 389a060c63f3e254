// The demo's curation stage (`olmo demo`; `--no-curate` skips it): JSONL in → curated documents folder that
// prepare reads, plus a report.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCurationStage } from '../../src/curation/demo-stage.js';
import { readDocs, resolveSources } from '../../src/sources.js';
import { readJsonl, tmp } from './helpers.js';

describe('demo curation stage', () => {
  it('drops non-English, masks PII, writes a report', async () => {
    const dir = tmp();
    const lines: string[] = [];
    for (const u of resolveSources(['sotu'])) for await (const d of readDocs(u)) if (lines.length < 8) lines.push(JSON.stringify({ text: d.text, id: d.id }));
    const french = 'Le vieux marin regardait la mer depuis le quai du port, pensant à la baleine.';
    lines.push(JSON.stringify({ id: 'fr', text: french }));
    lines.push(JSON.stringify({ id: 'pii', text: 'Please write to someone@example.com about the budget and the economy of the nation.' }));
    const input = path.join(dir, 'train.jsonl');
    writeFileSync(input, lines.join('\n') + '\n');
    const r = await runCurationStage({ inputJsonl: input, workDir: path.join(dir, 'cur'), quiet: true });
    expect(r.inputDocuments).toBe(10);
    const files = readdirSync(r.documentsDir);
    expect(files).toEqual(['train-0000.jsonl.gz']);
    const out = readJsonl<{ id: string; text: string }>(path.join(r.documentsDir, files[0]!));
    expect(out.map((d) => d.id)).not.toContain('fr');
    expect(out.find((d) => d.id === 'pii')!.text).toBe('Please write to|||EMAIL_ADDRESS|||about the budget and the economy of the nation.');
    expect(r.outputDocuments).toBe(out.length);
    expect(existsSync(r.report)).toBe(true);
    expect(existsSync(r.reportMarkdown)).toBe(true);
    // what each rule did, as the demo report lists it
    const rule = (name: string) => r.rules.find((x) => x.rule === name)!;
    expect(rule('not English (fastText en < 0.5)')).toMatchObject({ action: 'removed documents', documents: 1, chars: [...french].length });
    expect(rule('PII: e-mail addresses')).toMatchObject({ action: 'masked spans', spans: 1, chars: ' someone@example.com '.length }); // Dolma's email regex takes the surrounding spaces
    expect(rule('duplicate paragraphs (Bloom filter)').action).toBe('deleted spans');
    expect(r.inputChars - r.outputChars).toBeGreaterThan(0);

    // a second run over the same work folder starts afresh (resume would report nothing removed)
    const again = await runCurationStage({ inputJsonl: input, workDir: path.join(dir, 'cur'), quiet: true });
    expect(again.rules).toEqual(r.rules);
  });
});

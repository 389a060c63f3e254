// The demo's opt-in curation stage (`olmo demo --curate`): JSONL in → curated documents folder that
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
    lines.push(JSON.stringify({ id: 'fr', text: 'Le vieux marin regardait la mer depuis le quai du port, pensant à la baleine.' }));
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
  });
});

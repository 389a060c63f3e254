// The shipped Dolma-v1.5-style configs (configs/curation/dolma-v1_5-style) run end to end through the
// CLI on real text plus planted documents, and each rule family removes what it should.
import { copyFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runDataCli } from '../../src/cli.js';
import { readDocs, resolveSources } from '../../src/sources.js';
import { readJsonl, tmp, writeDocs } from './helpers.js';

const CONFIGS = fileURLToPath(new URL('../../../../configs/curation/dolma-v1_5-style/', import.meta.url));

describe('configs/curation/dolma-v1_5-style', () => {
  it('tag → dedupe (documents, paragraphs) → mix with the shipped YAML configs', async () => {
    const root = tmp();
    for (const f of readdirSync(CONFIGS)) if (f.endsWith('.yaml')) copyFileSync(path.join(CONFIGS, f), path.join(root, f));
    const real: { id: string; text: string }[] = [];
    for (const u of resolveSources(['sotu'])) for await (const d of readDocs(u)) if (real.length < 12) real.push({ id: `sotu-${d.id}`, text: d.text });
    const email = (i: number) => `person${i}@example.com`;
    const planted = [
      { id: 'too-short', text: 'Only a few words here, far fewer than fifty.' },
      { id: 'many-emails', text: `${real[0]!.text.slice(0, 2000)}\nContacts: ${Array.from({ length: 6 }, (_, i) => email(i)).join(' , ')} .\n` },
      { id: 'one-email', text: `${real[1]!.text.slice(0, 3000)}\nWrite to ${email(99)} for details.\n` },
      { id: 'exact-copy', text: real[2]!.text },
      { id: 'french', text: 'Le vieux marin regardait la mer depuis le quai du port. '.repeat(12) },
    ];
    writeDocs(root, 'a/part-0.jsonl.gz', real);
    writeDocs(root, 'b/part-0.jsonl.gz', planted);
    const io = { stdout: () => {}, stderr: () => {} };
    expect(await runDataCli(['tag', '--config', path.join(root, 'tag.yaml'), '--processes', '1', '--quiet'], io)).toBe(0);
    expect(await runDataCli(['dedupe', '--config', path.join(root, 'dedupe-documents.yaml'), '--expected-items', '100000', '--quiet'], io)).toBe(0);
    expect(await runDataCli(['dedupe', '--config', path.join(root, 'dedupe-paragraphs.yaml'), '--expected-items', '100000', '--quiet'], io)).toBe(0);
    expect(await runDataCli(['mix', '--config', path.join(root, 'mix.yaml'), '--quiet'], io)).toBe(0);
    const out = readJsonl<{ id: string; text: string }>(path.join(root, 'mixed/cc_en-0000.jsonl.gz'));
    const ids = out.map((d) => d.id);
    for (const gone of ['too-short', 'many-emails', 'exact-copy', 'french']) expect(ids, gone).not.toContain(gone);
    const one = out.find((d) => d.id === 'one-email');
    expect(one?.text).toContain('|||EMAIL_ADDRESS|||');
    expect(one?.text).not.toContain(email(99));
    // most real speeches pass the quality rules
    expect(ids.filter((i) => i.startsWith('sotu-')).length).toBeGreaterThanOrEqual(8);
  });
});

// A tagger written by the user in TypeScript/JavaScript, registered with registerTagger (in-process)
// or loaded from a module with --taggers-modules, as Dolma's --tagger_modules.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { registerTagger, taggerNames } from '../../src/curation/registry.js';
import { runTag } from '../../src/curation/tag.js';
import { cpLen } from '../../src/curation/pystr.js';
import type { DolmaDocument, Span } from '../../src/curation/types.js';
import { expectOlmoError, readJsonl, tmp, writeDocs } from './helpers.js';

describe('user taggers', () => {
  it('registerTagger + runTag writes <experiment>__<name>__<type> attributes', async () => {
    registerTagger('exclamations_v1', () => ({
      predict: (doc: DolmaDocument): Span[] => [{ start: 0, end: cpLen(doc.text), type: 'count', score: (doc.text.match(/!/g) ?? []).length }],
    }));
    const root = tmp();
    writeDocs(root, 'a.jsonl', [{ id: '1', text: 'Hi! Ho!' }, { id: '2', text: 'calm' }]);
    await runTag({ documents: [path.join(root, 'documents')], experiment: 'mine', taggers: ['exclamations_v1'], quiet: true });
    expect(readJsonl(path.join(root, 'attributes/mine/a.jsonl'))).toEqual([
      { id: '1', attributes: { mine__exclamations_v1__count: [[0, 7, 2]] } },
      { id: '2', attributes: { mine__exclamations_v1__count: [[0, 4, 0]] } },
    ]);
    await expectOlmoError(() => registerTagger('bad name', () => ({ predict: () => [] })), 'INVALID_ARGUMENT');
  });

  it('--taggers-modules imports a module that registers taggers', async () => {
    const root = tmp();
    const mod = path.join(root, 'my-taggers.mjs');
    const reg = pathToFileURL(path.resolve(__dirname, '../../src/curation/registry.ts')).href;
    writeFileSync(mod, `import { registerTagger } from '${reg}';\nregisterTagger('digits_v1', () => ({ predict: (d) => [{ start: 0, end: [...d.text].length, type: 'n', score: (d.text.match(/[0-9]/g) || []).length }] }));\n`);
    writeDocs(root, 'a.jsonl', [{ id: '1', text: 'a1b22' }]);
    await runTag({ documents: [path.join(root, 'documents')], experiment: 'm', taggers: ['digits_v1'], taggerModules: [mod], quiet: true });
    expect(taggerNames()).toContain('digits_v1');
    expect(readJsonl(path.join(root, 'attributes/m/a.jsonl'))).toEqual([{ id: '1', attributes: { m__digits_v1__n: [[0, 5, 3]] } }]);
    await expectOlmoError(runTag({ documents: [path.join(root, 'documents')], experiment: 'm2', taggers: ['x'], taggerModules: [path.join(root, 'missing.mjs')], quiet: true }), 'NOT_FOUND', 'missing.mjs');
  });
});

/**
 * The curation stage of the demo (`olmo demo --curate`): the training JSONL → Dolma layout → tag
 * (gopher, C4, PII, language id) → paragraph dedup → mix (drop non-English and symbol-heavy
 * documents, remove duplicate paragraphs, mask PII) → report. Returns the mixed documents folder,
 * which `prepare` takes as its source.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeFileAtomic } from '../npy.js';
import { runDedupe } from './dedupe.js';
import { runMix } from './mix.js';
import { attributeHistograms, writeReport } from './report.js';
import { runTag } from './tag.js';

export interface CurationStageResult { documentsDir: string; report: string; inputDocuments: number; outputDocuments: number; seconds: number }

export async function runCurationStage(o: { inputJsonl: string; workDir: string; processes?: number; quiet?: boolean }): Promise<CurationStageResult> {
  const t0 = performance.now();
  const docFile = path.join(o.workDir, 'documents', 'train.jsonl.gz');
  mkdirSync(path.dirname(docFile), { recursive: true });
  writeFileAtomic(docFile, [gzipSync(readFileSync(o.inputJsonl))]);
  const taggers = ['gopher_v1', 'c4_v1', 'pii_regex_v2', 'ft_lang_id_en_doc_v2'];
  const tagged = await runTag({ documents: [docFile], experiment: 'demo', taggers, processes: o.processes ?? 1, quiet: o.quiet, share: { rank: 0, worldSize: 1 } });
  await runDedupe({
    documents: [docFile], name: 'dedupe_paragraphs', paragraphs: { attributeName: 'bff_duplicate_paragraph_spans' }, skipEmpty: true,
    bloom: { file: path.join(o.workDir, 'paragraphs.bloom'), expectedItems: 1_000_000, falsePositiveRate: 1e-6 }, quiet: o.quiet, share: { rank: 0, worldSize: 1 },
  });
  const first = (k: string, cond: string) => `$.attributes[?(@.${k} && @.${k}[0] && ${cond.replaceAll('X', `@.${k}[0][2]`)})]`;
  const mixed = await runMix([{
    name: 'train', documents: [docFile], attributes: ['demo', 'dedupe_paragraphs'],
    exclude: [first('demo__ft_lang_id_en_doc_v2__en', 'X < 0.5'), first('demo__gopher_v1__symbol_to_word_ratio', 'X > 0.1')],
    spanReplacement: [
      { span: '$.attributes.bff_duplicate_paragraph_spans', minScore: 0.5, replacement: '' },
      { span: '$.attributes.demo__pii_regex_v2__EMAIL_ADDRESS', minScore: 0.5, replacement: '|||EMAIL_ADDRESS|||' },
      { span: '$.attributes.demo__pii_regex_v2__PHONE_NUMBER', minScore: 0.5, replacement: '|||PHONE_NUMBER|||' },
      { span: '$.attributes.demo__pii_regex_v2__IP_ADDRESS', minScore: 0.5, replacement: '|||IP_ADDRESS|||' },
    ],
    output: { path: path.join(o.workDir, 'mixed'), minTextLength: 1 },
  }], { quiet: o.quiet, share: { rank: 0, worldSize: 1 } });
  const s = mixed.streams[0]!;
  const files = writeReport(path.join(o.workDir, 'report'), {
    title: 'olmo demo: curation', histograms: await attributeHistograms(tagged.files.map((f) => f.output)), mix: mixed,
    notes: [`taggers ${taggers.join(', ')}; paragraph dedup; exclude English score < 0.5 or symbol/word ratio > 0.1; PII masked`],
  });
  return { documentsDir: path.join(o.workDir, 'mixed'), report: files.html, inputDocuments: s.inputDocuments, outputDocuments: s.outputDocuments, seconds: (performance.now() - t0) / 1000 };
}

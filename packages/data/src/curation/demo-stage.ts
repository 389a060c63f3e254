/**
 * The curation stage of the demo (`olmo demo`, on by default; `--no-curate` skips it): the training
 * JSONL → Dolma layout → tag (gopher, C4, PII, language id) → paragraph dedup → mix (drop
 * non-English and symbol-heavy documents, remove duplicate paragraphs, mask PII) → report. Returns
 * the mixed documents folder, which `prepare` takes as its source, and what each rule removed. The
 * work folder is emptied first: a re-run is a fresh stage (resume would skip every file and report
 * nothing removed).
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeFileAtomic } from '../npy.js';
import { runDedupe } from './dedupe.js';
import { runMix } from './mix.js';
import { attributeHistograms, writeReport } from './report.js';
import { runTag } from './tag.js';

/** One rule of the stage's mix and what it did: documents removed, or spans replaced/deleted. */
export interface CurationRuleEffect { rule: string; action: 'removed documents' | 'deleted spans' | 'masked spans'; documents: number; spans: number; chars: number }

export interface CurationStageResult {
  documentsDir: string;
  /** report.html (report.md beside it) */
  report: string;
  reportMarkdown: string;
  inputDocuments: number; outputDocuments: number; inputChars: number; outputChars: number;
  rules: CurationRuleEffect[];
  seconds: number;
}

export async function runCurationStage(o: { inputJsonl: string; workDir: string; processes?: number; quiet?: boolean }): Promise<CurationStageResult> {
  const t0 = performance.now();
  rmSync(o.workDir, { recursive: true, force: true });
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
  // rule expression → what a reader of the demo report calls it
  const label: Record<string, string> = {
    [first('demo__ft_lang_id_en_doc_v2__en', 'X < 0.5')]: 'not English (fastText en < 0.5)',
    [first('demo__gopher_v1__symbol_to_word_ratio', 'X > 0.1')]: 'Gopher symbol/word ratio > 0.1',
    '$.attributes.bff_duplicate_paragraph_spans': 'duplicate paragraphs (Bloom filter)',
    '$.attributes.demo__pii_regex_v2__EMAIL_ADDRESS': 'PII: e-mail addresses',
    '$.attributes.demo__pii_regex_v2__PHONE_NUMBER': 'PII: phone numbers',
    '$.attributes.demo__pii_regex_v2__IP_ADDRESS': 'PII: IP addresses',
  };
  const rules = Object.keys(label);
  const mixed = await runMix([{
    name: 'train', documents: [docFile], attributes: ['demo', 'dedupe_paragraphs'],
    exclude: [rules[0]!, rules[1]!],
    spanReplacement: [
      { span: rules[2]!, minScore: 0.5, replacement: '' },
      { span: rules[3]!, minScore: 0.5, replacement: '|||EMAIL_ADDRESS|||' },
      { span: rules[4]!, minScore: 0.5, replacement: '|||PHONE_NUMBER|||' },
      { span: rules[5]!, minScore: 0.5, replacement: '|||IP_ADDRESS|||' },
    ],
    output: { path: path.join(o.workDir, 'mixed'), minTextLength: 1 },
  }], { quiet: o.quiet, share: { rank: 0, worldSize: 1 } });
  const s = mixed.streams[0]!;
  const files = writeReport(path.join(o.workDir, 'report'), {
    title: 'olmo demo: curation', histograms: await attributeHistograms(tagged.files.map((f) => f.output)), mix: mixed,
    notes: [`taggers ${taggers.join(', ')}; paragraph dedup; exclude English score < 0.5 or symbol/word ratio > 0.1; PII masked`],
  });
  const effects: CurationRuleEffect[] = [];
  const excluded = (r: string) => s.removedBy[`exclude: ${r}`]; // mix's rule names
  for (const r of rules.slice(0, 2)) effects.push({ rule: label[r]!, action: 'removed documents', documents: excluded(r)?.documents ?? 0, spans: 0, chars: excluded(r)?.chars ?? 0 });
  for (const r of rules.slice(2)) effects.push({ rule: label[r]!, action: r === rules[2] ? 'deleted spans' : 'masked spans', documents: 0, spans: s.replacedBy[r]?.spans ?? 0, chars: s.replacedBy[r]?.chars ?? 0 });
  for (const [r, x] of Object.entries(s.removedBy)) if (!rules.slice(0, 2).some((k) => r === `exclude: ${k}`)) effects.push({ rule: r, action: 'removed documents', documents: x.documents, spans: 0, chars: x.chars });
  return {
    documentsDir: path.join(o.workDir, 'mixed'), report: files.html, reportMarkdown: files.markdown,
    inputDocuments: s.inputDocuments, outputDocuments: s.outputDocuments, inputChars: s.inputChars, outputChars: s.outputChars,
    rules: effects, seconds: (performance.now() - t0) / 1000,
  };
}

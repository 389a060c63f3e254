/**
 * `olmo data tag`: runs taggers over Dolma documents files and writes one attributes file per
 * documents file (attributes/<experiment>/...), in parallel over files, skipping files whose
 * attributes already exist (resume), every output written atomically.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { badArg } from '../errors.js';
import { expandGlobs } from './documents.js';
import { defaultErr, Progress } from './progress.js';
import { importTaggerModules, taggerNames } from './registry.js';
import { tagFile, type TagFileResult } from './tag-file.js';
import { runInWorkers } from './worker-pool.js';
import { myShare, rankShare, type RankShare } from './ranks.js';
import { loadYamlConfig, list, str, int, bool } from './yaml-config.js';

export interface TagOptions {
  documents: readonly string[];
  experiment: string;
  taggers: readonly string[];
  processes?: number;
  taggerModules?: readonly string[];
  /** skip files whose attributes exist (default true; Dolma's `ignore_existing: false`) */
  resume?: boolean;
  quiet?: boolean;
  err?: (s: string) => void;
  /** this rank's share of the files (default: from the launcher environment; all files in one process) */
  share?: RankShare;
}

export interface TagResult { files: TagFileResult[]; documents: number; bytes: number; seconds: number }

export async function runTag(o: TagOptions): Promise<TagResult> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.experiment)) throw badArg(`--experiment '${o.experiment}' must be a variable-like name (letters, digits, _)`);
  if (o.taggers.length === 0) throw badArg('--taggers needs at least one tagger', `known: ${taggerNames().join(', ')}`);
  await importTaggerModules(o.taggerModules ?? []);
  for (const t of o.taggers) if (!taggerNames().includes(t)) throw badArg(`unknown tagger '${t}'`, `known: ${taggerNames().join(', ')}`);
  const files = myShare(expandGlobs(o.documents), o.share ?? rankShare());
  const t0 = performance.now();
  const progress = new Progress('tag', files.length, o.err ?? defaultErr, o.quiet);
  const results: TagFileResult[] = [];
  const resume = o.resume ?? true;
  const onResult = (r: TagFileResult): void => { results.push(r); progress.add(r); };
  if ((o.processes ?? 1) <= 1 || files.length === 1) {
    for (const f of files) onResult(await tagFile(f, o.experiment, o.taggers, resume));
  } else {
    await runInWorkers<TagFileResult>('tag-worker', { experiment: o.experiment, taggers: [...o.taggers], modules: [...(o.taggerModules ?? [])], resume }, files, o.processes!, onResult);
  }
  results.sort((a, b) => (a.file < b.file ? -1 : 1));
  return {
    files: results, documents: results.reduce((s, r) => s + r.documents, 0), bytes: results.reduce((s, r) => s + r.bytes, 0),
    seconds: (performance.now() - t0) / 1000,
  };
}

export const TAG_USAGE = `usage: olmo data tag --documents GLOB... --experiment NAME --taggers LIST [options]
       olmo data tag --config tag.yaml
  --documents GLOB    documents files (repeatable; *, **, ?, {a,b}; folders = all .jsonl/.json(.gz) below)   (required)
  --experiment NAME   attribute prefix and folder: attributes/NAME/...                                         (required)
  --taggers LIST      comma-separated tagger names (repeatable)                                                (required)
                      built in: gopher_v1, c4_v1, pii_regex_v2, ft_lang_id_en_doc_v2, char_length_v1,
                                whitespace_tokenizer_v1, random_number_v1
  --taggers-modules M JS module(s) that call registerTagger() (repeatable)                                     (default: none)
  --processes N       worker threads over files                                                                (default: 1)
  --no-resume         re-tag files whose attributes exist (Dolma: ignore_existing: true)                       (default: skip them)
  --config FILE       Dolma-style YAML (documents, experiment, taggers, tagger_modules, processes, ignore_existing)
  --report DIR        write DIR/report.md + report.html (histogram per attribute)                             (default: none)
  --rank R --world-size W  this process tags files i with i % W == R        (default: from mpirun's environment, else 0 / 1)
  --quiet             no progress on stderr
  -h, --help          this help`;

type IO = { out?: (s: string) => void; err?: (s: string) => void };

export async function cmdTag(argv: string[], io: IO = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const { values } = parseArgs({
    args: argv,
    options: {
      documents: { type: 'string', multiple: true }, experiment: { type: 'string' }, taggers: { type: 'string', multiple: true },
      'taggers-modules': { type: 'string', multiple: true }, processes: { type: 'string' }, 'no-resume': { type: 'boolean' },
      config: { type: 'string' }, quiet: { type: 'boolean' }, report: { type: 'string' }, rank: { type: 'string' }, 'world-size': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { out(TAG_USAGE); return 0; }
  const cfg = values.config ? loadYamlConfig(values.config, ['documents', 'experiment', 'taggers', 'tagger_modules', 'processes', 'ignore_existing', 'destination', 'debug', 'seed', 'skip_on_failure', 'work_dir']) : {};
  const file = values.config;
  // paths in a config resolve against the config's folder (as in the mix config)
  const documents = values.documents ?? list(cfg, 'documents', file)?.map((d) => path.resolve(path.dirname(file!), d)) ?? [];
  const experiment = values.experiment ?? str(cfg, 'experiment', file);
  const taggers = (values.taggers ?? list(cfg, 'taggers', file) ?? []).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  if (documents.length === 0 || !experiment || taggers.length === 0) throw badArg('tag needs --documents, --experiment and --taggers', TAG_USAGE);
  const processes = values.processes !== undefined ? Number(values.processes) : int(cfg, 'processes', file) ?? 1;
  if (!Number.isInteger(processes) || processes < 1) throw badArg(`--processes must be a positive integer, got ${values.processes}`);
  const r = await runTag({
    documents, experiment, taggers, processes, taggerModules: values['taggers-modules'] ?? list(cfg, 'tagger_modules', file)?.map((m) => (m.startsWith('.') ? path.resolve(path.dirname(file!), m) : m)) ?? [],
    resume: values['no-resume'] ? false : !(bool(cfg, 'ignore_existing', file) ?? false), quiet: values.quiet, err: io.err,
    share: rankShare({ rank: values.rank, worldSize: values['world-size'] }),
  });
  const done = r.files.filter((f) => !f.skipped).length;
  out(`tagged ${done} file(s) (${r.files.length - done} already done) with ${taggers.join(', ')} as experiment '${experiment}'`);
  out(`  documents ${r.documents.toLocaleString('en-US')}  text ${(r.bytes / 1e6).toFixed(2)} MB in ${r.seconds.toFixed(2)} s (${(r.bytes / 1e6 / Math.max(r.seconds, 1e-9)).toFixed(2)} MB/s)`);
  for (const f of r.files) out(`  ${f.output}`);
  if (values.report) {
    const { attributeHistograms, writeReport } = await import('./report.js');
    const files = writeReport(values.report, {
      title: `olmo data tag: ${experiment}`, histograms: await attributeHistograms(r.files.map((f) => f.output)),
      notes: [`taggers ${taggers.join(', ')}`, `${r.documents} documents in ${r.files.length} file(s)`],
    });
    out(`report ${files.markdown} ${files.html}`);
  }
  return 0;
}

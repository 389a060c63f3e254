/**
 * `olmo data decon` — decontamination as OLMo/Dolma do it: a Bloom filter is filled with the
 * paragraphs of evaluation texts, then the training documents are run through the paragraph deduper
 * in READ-ONLY mode, so every training paragraph that also occurs in an evaluation text is tagged
 * (attribute `bff_contaminated_paragraph_spans` by default); the mix then drops documents that have
 * any such span (`$.attributes[?(@.bff_contaminated_paragraph_spans && @.bff_contaminated_paragraph_spans[0])]`).
 *
 * Evaluation texts come as files: .jsonl/.json(.gz) with a text field (default "text"), or .txt
 * (one text per line). @olmo/data does not import @olmo/eval (dependency direction); the trainer-level
 * CLI can export the eval sets to such files and call this.
 */
import { parseArgs } from 'node:util';
import { badArg, DataError } from '../errors.js';
import { BloomFilter } from './bloom.js';
import { readLines } from './documents.js';
import { runDedupe, type DedupeResult } from './dedupe.js';
import { cpLen } from './pystr.js';

const BLANK = /^\p{White_Space}*$/u;

export interface DeconOptions {
  evalFiles: readonly string[];
  evalField?: string;
  documents: readonly string[];
  name: string;
  attributeName?: string;
  bloomFile: string;
  /** paragraphs of evaluation text shorter than this many characters are not inserted (default 20) */
  minParagraphChars?: number;
  falsePositiveRate?: number;
  quiet?: boolean;
  err?: (s: string) => void;
}

/** Paragraphs (split on "\n", non-blank, ≥ minChars code points) of the evaluation files. */
export async function evalParagraphs(files: readonly string[], field = 'text', minChars = 20): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    const jsonl = /\.(jsonl|json)(\.gz)?$/.test(f);
    for await (const line of readLines(f)) {
      let text: string;
      if (jsonl) {
        let o: unknown;
        try { o = JSON.parse(line.text); } catch (e) {
          throw new DataError('DATA_CORRUPT', `line ${line.lineNo}: malformed JSON (${(e as Error).message})`, 'evaluation files are JSONL with a text field, or .txt', `${f}:${line.lineNo}`);
        }
        const t = (o as Record<string, unknown>)?.[field];
        if (typeof t !== 'string') throw new DataError('DATA_CORRUPT', `line ${line.lineNo}: missing string field "${field}"`, 'pass --eval-field', `${f}:${line.lineNo}`);
        text = t;
      } else text = line.text;
      for (const p of text.split('\n')) if (!BLANK.test(p) && cpLen(p) >= minChars) out.push(p);
    }
  }
  return out;
}

export async function runDecon(o: DeconOptions): Promise<DedupeResult & { evalParagraphs: number }> {
  const paragraphs = await evalParagraphs(o.evalFiles, o.evalField, o.minParagraphChars ?? 20);
  if (paragraphs.length === 0) throw badArg('no evaluation paragraphs found (all blank or shorter than --min-chars)');
  const bloom = BloomFilter.create(Math.max(paragraphs.length, 1000), o.falsePositiveRate ?? 1e-6);
  for (const p of paragraphs) bloom.add(p);
  bloom.save(o.bloomFile);
  const r = await runDedupe({
    documents: o.documents, name: o.name, paragraphs: { attributeName: o.attributeName ?? 'bff_contaminated_paragraph_spans' },
    skipEmpty: true, bloom: { file: o.bloomFile, readOnly: true }, resume: false, quiet: o.quiet, err: o.err,
  });
  return { ...r, evalParagraphs: paragraphs.length };
}

export const DECON_USAGE = `usage: olmo data decon --eval FILE... --documents GLOB... --bloom-file FILE [options]
  --eval FILE             evaluation texts: .jsonl/.json(.gz) (field --eval-field) or .txt (one per line); repeatable (required)
  --eval-field NAME       JSON field holding the text                                                 (default: text)
  --documents GLOB        training documents files (repeatable)                                       (required)
  --name NAME             attributes folder attributes/NAME/...                                       (default: decontamination)
  --attribute-name NAME   attribute key                                                               (default: bff_contaminated_paragraph_spans)
  --bloom-file FILE       where the evaluation Bloom filter is written                                (required)
  --min-chars N           evaluation paragraphs shorter than N characters are ignored                 (default: 20)
  --false-positive-rate P Bloom filter false-positive rate                                            (default: 1e-6)
  --quiet                 no progress on stderr
  -h, --help              this help`;

type IO = { out?: (s: string) => void; err?: (s: string) => void };

export async function cmdDecon(argv: string[], io: IO = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const { values } = parseArgs({
    args: argv,
    options: {
      eval: { type: 'string', multiple: true }, 'eval-field': { type: 'string' }, documents: { type: 'string', multiple: true }, name: { type: 'string' },
      'attribute-name': { type: 'string' }, 'bloom-file': { type: 'string' }, 'min-chars': { type: 'string' }, 'false-positive-rate': { type: 'string' },
      quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { out(DECON_USAGE); return 0; }
  if (!values.eval?.length || !values.documents?.length || !values['bloom-file']) throw badArg('decon needs --eval, --documents and --bloom-file', DECON_USAGE);
  const minChars = values['min-chars'] !== undefined ? Number(values['min-chars']) : undefined;
  if (minChars !== undefined && !(Number.isInteger(minChars) && minChars >= 0)) throw badArg(`--min-chars must be a non-negative integer, got ${values['min-chars']}`);
  const fp = values['false-positive-rate'] !== undefined ? Number(values['false-positive-rate']) : undefined;
  const r = await runDecon({
    evalFiles: values.eval, evalField: values['eval-field'], documents: values.documents, name: values.name ?? 'decontamination',
    attributeName: values['attribute-name'], bloomFile: values['bloom-file'], minParagraphChars: minChars, falsePositiveRate: fp, quiet: values.quiet, err: io.err,
  });
  out(`decon: ${r.evalParagraphs} evaluation paragraphs; ${r.duplicates} of ${r.documents} training documents contain one`);
  for (const f of r.files) out(`  ${f.output}`);
  return 0;
}

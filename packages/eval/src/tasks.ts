/**
 * OLMo's downstream tasks (olmo/eval/downstream.py, `label_to_task_map`): prompts, continuations,
 * labels and domain-conditional strings, reproduced exactly from OLMo's `doc_to_*` methods, plus
 * converters from the other published formats (llm-foundry JSONL, PIQA originals, the 6-line HellaSwag
 * text) into the same prompts.
 */
import { dataError } from './errors.js';
import { pyCapitalize, pySlice, pyStrip } from './py.js';

/** OLMo's `ICLMetric.metric_type` values (f1 is not used by these tasks). */
export type MetricType = 'acc' | 'len_norm' | 'pmi_dc' | 'ce_loss' | 'bpb';
export const METRIC_TYPES: readonly MetricType[] = ['acc', 'len_norm', 'pmi_dc', 'ce_loss', 'bpb'];

/**
 * One evaluation document, already rendered into OLMo's strings. `contexts` has one entry shared by
 * every choice, or one entry per choice (WinoGrande's partial scoring); `continuations` likewise
 * (one shared continuation for WinoGrande). Continuations carry OLMo's leading space.
 */
export interface Instance {
  docId: number;
  contexts: string[];
  continuations: string[];
  /** OLMo's `doc_to_domain_conditional` (one shared, or one per choice for WinoGrande). */
  domainConditionals: string[];
  label: number;
}

export function numChoices(inst: Instance): number {
  return Math.max(inst.contexts.length, inst.continuations.length);
}

export type Doc = Record<string, unknown>;

export interface TaskSpec {
  /** OLMo's label (key of `label_to_task_map`). */
  name: string;
  /** OLMo's default metric for the task. */
  metric: MetricType;
  /** Expected accuracy of uniform guessing over the choices. */
  randomBaseline: number;
  /** Folder name under ../shared/eval (and in most published dumps). */
  dir: string;
  /** `olmo-hf_datasets/<hf>/validation` sub path of OLMo's HF Arrow files, when OLMo has one. */
  hfDataset?: string;
  /** llm-foundry file name. */
  foundryFile?: string;
  /** Renders one record (any supported format) into an Instance. */
  render(doc: Doc, docId: number): Instance;
  description: string;
}

// ---------------------------------------------------------------- field helpers

function str(doc: Doc, key: string): string {
  const v = doc[key];
  if (typeof v !== 'string') throw dataError(`field "${key}" must be a string, got ${v === undefined ? 'nothing' : typeof v}`);
  return v;
}
function int(doc: Doc, key: string): number {
  let v = doc[key];
  if (typeof v === 'bigint') v = Number(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) v = Number(v.trim());
  if (typeof v !== 'number' || !Number.isInteger(v)) throw dataError(`field "${key}" must be an integer, got ${JSON.stringify(v)}`);
  return v;
}
function strList(doc: Doc, key: string): string[] {
  const v = doc[key];
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) {
    throw dataError(`field "${key}" must be a non-empty list of strings`);
  }
  return v as string[];
}
function has(doc: Doc, ...keys: string[]): boolean {
  return keys.every((k) => doc[k] !== undefined && doc[k] !== null);
}
function checkLabel(label: number, n: number, what: string): number {
  if (!Number.isInteger(label) || label < 0 || label >= n) throw dataError(`${what}: label ${label} is out of range for ${n} choices`);
  return label;
}
function mc(docId: number, context: string, choices: string[], label: number, dc: string): Instance {
  return { docId, contexts: [context], continuations: choices, domainConditionals: [dc], label: checkLabel(label, choices.length, `doc ${docId}`) };
}
function unknownFormat(task: string, doc: Doc): never {
  throw dataError(`${task}: record has an unrecognised layout (keys: ${Object.keys(doc).join(', ') || 'none'})`,
    'pass one of the formats listed in packages/eval/README.md (OLMo HF Arrow, llm-foundry JSONL, originals)');
}
/** `{"query", "choices", "gold"}` (llm-foundry multiple choice). */
function isFoundryMC(doc: Doc): boolean {
  return has(doc, 'query', 'choices', 'gold') && Array.isArray(doc.choices);
}
function stripPrefix(s: string, prefix: string, task: string): string {
  if (!s.startsWith(prefix)) throw dataError(`${task}: llm-foundry query does not start with ${JSON.stringify(prefix)}`);
  return s.slice(prefix.length);
}

// ---------------------------------------------------------------- HellaSwag preprocessing

/** OLMo's `HellaSwag.preprocess` (WikiHow bracket artefacts). */
export function hellaswagPreprocess(text: string): string {
  let t = pyStrip(text);
  t = t.split(' [title]').join('. ');
  t = t.replace(/\[.*?\]/g, '');
  t = t.split('  ').join(' ');
  return t;
}

/**
 * The klosax text file stores `activity_label: ctx_a ctx_b` without the split between ctx_a and ctx_b.
 * OLMo capitalises ctx_b; we recover ctx_b as the trailing fragment after the last sentence end when it
 * starts with a lower-case letter (ActivityNet items), which is how HellaSwag built ctx from ctx_a + ctx_b.
 */
export function splitHellaswagCtx(ctx: string): { ctxA: string; ctxB: string } {
  const m = /^(.*[.!?"'])\s+([a-z][^]*)$/s.exec(ctx);
  if (m && !/[.!?]\s/.test(m[2]!)) return { ctxA: m[1]!, ctxB: m[2]! };
  return { ctxA: ctx, ctxB: '' };
}

function hellaswagFromHF(doc: Doc, docId: number): Instance {
  const activity = str(doc, 'activity_label');
  const ctxA = str(doc, 'ctx_a');
  const ctxB = str(doc, 'ctx_b');
  const endings = strList(doc, 'endings');
  const label = int(doc, 'label');
  const text = hellaswagPreprocess(activity + ': ' + ctxA + ' ' + pyCapitalize(ctxB));
  let dc = hellaswagPreprocess(pyCapitalize(ctxB));
  if (dc.length === 0) {
    const parts = hellaswagPreprocess(ctxA).split(' ');
    dc = parts[parts.length - 1]!;
  }
  return mc(docId, text, endings.map((e) => ' ' + hellaswagPreprocess(e)), label, dc);
}

// ---------------------------------------------------------------- the tasks

const ARC_LABELS = ['A', 'B', 'C', 'D', 'E'];
const NUM_TO_LETTER: Record<string, string> = { '1': 'A', '2': 'B', '3': 'C', '4': 'D', '5': 'E' };

function arcRender(task: string) {
  return (doc: Doc, docId: number): Instance => {
    if (has(doc, 'question', 'choices', 'answerKey')) {
      const choices = doc.choices as Doc;
      if (!choices || typeof choices !== 'object') throw dataError(`${task}: "choices" must be an object`);
      const texts = strList(choices, 'text');
      let key = str(doc, 'answerKey');
      if (key in NUM_TO_LETTER) key = NUM_TO_LETTER[key]!;
      const label = ARC_LABELS.indexOf(key);
      if (label < 0) throw dataError(`${task}: unknown answerKey ${JSON.stringify(doc.answerKey)}`);
      return mc(docId, 'Question: ' + str(doc, 'question') + '\nAnswer:', texts.map((c) => ' ' + c), label, 'Answer:');
    }
    if (isFoundryMC(doc)) {
      // llm-foundry: query = "Question: Q" (no "\nAnswer:")
      const q = stripPrefix(str(doc, 'query'), 'Question: ', task);
      return mc(docId, 'Question: ' + q + '\nAnswer:', strList(doc, 'choices').map((c) => ' ' + c), int(doc, 'gold'), 'Answer:');
    }
    return unknownFormat(task, doc);
  };
}

const specs: TaskSpec[] = [
  {
    name: 'piqa', metric: 'len_norm', randomBaseline: 0.5, dir: 'piqa', hfDataset: 'piqa/plain_text', foundryFile: 'piqa.jsonl',
    description: 'PIQA: "Question: GOAL\\nAnswer:" → " SOL1" / " SOL2"',
    render(doc, docId) {
      if (has(doc, 'goal', 'sol1', 'sol2', 'label')) {
        return mc(docId, 'Question: ' + str(doc, 'goal') + '\nAnswer:', [' ' + str(doc, 'sol1'), ' ' + str(doc, 'sol2')], int(doc, 'label'), 'Answer:');
      }
      if (isFoundryMC(doc)) {
        // llm-foundry: query = "Question: GOAL\n"
        let q = stripPrefix(str(doc, 'query'), 'Question: ', 'piqa');
        if (q.endsWith('\n')) q = q.slice(0, -1);
        return mc(docId, 'Question: ' + q + '\nAnswer:', strList(doc, 'choices').map((c) => ' ' + c), int(doc, 'gold'), 'Answer:');
      }
      return unknownFormat('piqa', doc);
    },
  },
  {
    name: 'hellaswag', metric: 'len_norm', randomBaseline: 0.25, dir: 'hellaswag',
    description: 'HellaSwag: preprocess("ACTIVITY: CTX_A CTX_B.capitalize()") → " " + preprocess(ENDING)',
    render(doc, docId) {
      if (has(doc, 'activity_label', 'ctx_a', 'ctx_b', 'endings', 'label')) return hellaswagFromHF(doc, docId);
      if (has(doc, 'ctx', 'endings', 'label')) {
        // 6-line text file (parsed into {ctx: "ACTIVITY: CTX", endings, label}); see splitHellaswagCtx.
        const ctx = str(doc, 'ctx');
        const colon = ctx.indexOf(': ');
        if (colon < 0) throw dataError(`hellaswag: context line has no "activity_label: " prefix: ${JSON.stringify(ctx.slice(0, 80))}`);
        const { ctxA, ctxB } = splitHellaswagCtx(ctx.slice(colon + 2));
        return hellaswagFromHF({ activity_label: ctx.slice(0, colon), ctx_a: ctxA, ctx_b: ctxB, endings: doc.endings, label: doc.label }, docId);
      }
      return unknownFormat('hellaswag', doc);
    },
  },
  {
    name: 'winogrande', metric: 'acc', randomBaseline: 0.5, dir: 'winogrande', hfDataset: 'winogrande/winogrande_xl', foundryFile: 'winogrande.jsonl',
    description: 'WinoGrande partial scoring: contexts SENTENCE[:_] + OPTION_i, shared continuation " " + SENTENCE[_+1:].strip()',
    render(doc, docId) {
      if (has(doc, 'sentence', 'option1', 'option2', 'answer')) {
        const sentence = str(doc, 'sentence');
        const cps = Array.from(sentence);
        const loc = cps.indexOf('_');
        if (loc < 0) throw dataError(`winogrande doc ${docId}: sentence has no "_" blank`);
        const o1 = str(doc, 'option1');
        const o2 = str(doc, 'option2');
        const before = pySlice(sentence, 0, loc);
        const cont = ' ' + pyStrip(pySlice(sentence, loc + 1));
        const label = checkLabel(int(doc, 'answer') - 1, 2, `winogrande doc ${docId}`);
        return { docId, contexts: [before + o1, before + o2], continuations: [cont], domainConditionals: [o1, o2], label };
      }
      if (has(doc, 'context_options', 'continuation', 'gold')) {
        const ctxs = strList(doc, 'context_options');
        const cont = ' ' + pyStrip(str(doc, 'continuation'));
        // llm-foundry drops the options; the domain conditional (OLMo: the option itself) is not recoverable
        // exactly, so use the last word of each context (the option for one-word options).
        const dcs = ctxs.map((c) => c.split(' ').pop()!);
        return { docId, contexts: ctxs, continuations: [cont], domainConditionals: dcs, label: checkLabel(int(doc, 'gold'), ctxs.length, `winogrande doc ${docId}`) };
      }
      return unknownFormat('winogrande', doc);
    },
  },
  {
    name: 'openbook_qa', metric: 'len_norm', randomBaseline: 0.25, dir: 'openbookqa', hfDataset: 'openbookqa/main', foundryFile: 'openbook_qa.jsonl',
    description: 'OpenBookQA: QUESTION_STEM → " CHOICE"',
    render(doc, docId) {
      if (has(doc, 'question_stem', 'choices', 'answerKey')) {
        const texts = strList(doc.choices as Doc, 'text');
        const label = ['A', 'B', 'C', 'D'].indexOf(pyStrip(str(doc, 'answerKey')));
        if (label < 0) throw dataError(`openbook_qa: unknown answerKey ${JSON.stringify(doc.answerKey)}`);
        const stem = str(doc, 'question_stem');
        return mc(docId, stem, texts.map((c) => ' ' + c), label, pyStrip(stem).split(' ').pop()!);
      }
      if (isFoundryMC(doc)) {
        const stem = str(doc, 'query');
        return mc(docId, stem, strList(doc, 'choices').map((c) => ' ' + c), int(doc, 'gold'), pyStrip(stem).split(' ').pop()!);
      }
      return unknownFormat('openbook_qa', doc);
    },
  },
  {
    name: 'boolq', metric: 'acc', randomBaseline: 0.5, dir: 'boolq', hfDataset: 'boolq/none', foundryFile: 'boolq.jsonl',
    description: 'BoolQ: "PASSAGE\\nQuestion: QUESTION?\\nAnswer:" → " yes" / " no"',
    render(doc, docId) {
      if (has(doc, 'question', 'passage', 'answer')) {
        const a = doc.answer;
        if (typeof a !== 'boolean') throw dataError(`boolq doc ${docId}: "answer" must be a boolean`);
        return mc(docId, str(doc, 'passage') + '\nQuestion: ' + str(doc, 'question') + '?\nAnswer:', [' yes', ' no'], a ? 0 : 1, 'Answer:');
      }
      if (isFoundryMC(doc)) {
        // llm-foundry: query = "Passage: PASSAGE\nQuestion: QUESTION?", choices ["no", "yes"]
        const q = stripPrefix(str(doc, 'query'), 'Passage: ', 'boolq');
        const choices = strList(doc, 'choices');
        const gold = choices[int(doc, 'gold')];
        if (gold !== 'yes' && gold !== 'no') throw dataError(`boolq doc ${docId}: gold choice must be "yes" or "no"`);
        const cut = q.lastIndexOf('\nQuestion: ');
        if (cut < 0 || !q.endsWith('?')) throw dataError(`boolq doc ${docId}: llm-foundry query lacks "\\nQuestion: ...?"`);
        return mc(docId, q + '\nAnswer:', [' yes', ' no'], gold === 'yes' ? 0 : 1, 'Answer:');
      }
      return unknownFormat('boolq', doc);
    },
  },
  {
    name: 'sciq', metric: 'acc', randomBaseline: 0.25, dir: 'sciq', hfDataset: 'sciq/none',
    description: 'SciQ: "SUPPORT.strip()\\nQuestion: QUESTION\\nAnswer:" → distractor1..3, correct_answer (label 3)',
    render(doc, docId) {
      if (has(doc, 'question', 'distractor1', 'distractor2', 'distractor3', 'correct_answer', 'support')) {
        return mc(docId, pyStrip(str(doc, 'support')) + '\nQuestion: ' + str(doc, 'question') + '\nAnswer:',
          [' ' + str(doc, 'distractor1'), ' ' + str(doc, 'distractor2'), ' ' + str(doc, 'distractor3'), ' ' + str(doc, 'correct_answer')], 3, 'Answer:');
      }
      return unknownFormat('sciq', doc);
    },
  },
  {
    name: 'arc_easy', metric: 'acc', randomBaseline: 0.25, dir: 'arc_easy', hfDataset: 'ai2_arc/ARC-Easy', foundryFile: 'arc_easy.jsonl',
    description: 'ARC-Easy: "Question: QUESTION\\nAnswer:" → " CHOICE"', render: arcRender('arc_easy'),
  },
  {
    name: 'arc_challenge', metric: 'len_norm', randomBaseline: 0.25, dir: 'arc_challenge', hfDataset: 'ai2_arc/ARC-Challenge', foundryFile: 'arc_challenge.jsonl',
    description: 'ARC-Challenge: same prompt as ARC-Easy, len_norm', render: arcRender('arc_challenge'),
  },
  {
    name: 'copa', metric: 'acc', randomBaseline: 0.5, dir: 'copa', hfDataset: 'super_glue/copa', foundryFile: 'copa.jsonl',
    description: 'COPA: "PREMISE.strip()[:-1] because|therefore" → " cHOICE" (first letter lower-cased)',
    render(doc, docId) {
      const lowerFirst = (c: string) => { const cps = Array.from(c); return cps.length ? cps[0]!.toLowerCase() + cps.slice(1).join('') : c; };
      if (has(doc, 'premise', 'choice1', 'choice2', 'question', 'label')) {
        const connector = str(doc, 'question') === 'cause' ? 'because' : 'therefore';
        const premise = pySlice(pyStrip(str(doc, 'premise')), 0, -1);
        return mc(docId, premise + ' ' + connector, [' ' + lowerFirst(str(doc, 'choice1')), ' ' + lowerFirst(str(doc, 'choice2'))], int(doc, 'label'), connector);
      }
      if (isFoundryMC(doc)) {
        // llm-foundry: "PREMISE-without-period, because|therefore"
        const m = /^(.*), (because|therefore)$/s.exec(str(doc, 'query'));
        if (!m) throw dataError(`copa doc ${docId}: llm-foundry query does not end with ", because" / ", therefore"`);
        return mc(docId, m[1]! + ' ' + m[2]!, strList(doc, 'choices').map((c) => ' ' + lowerFirst(c)), int(doc, 'gold'), m[2]!);
      }
      return unknownFormat('copa', doc);
    },
  },
  {
    name: 'lambada', metric: 'acc', randomBaseline: 0, dir: 'lambada', foundryFile: 'lambada_openai.jsonl',
    description: 'LAMBADA (OpenAI): CONTEXT → " LAST_WORD"; acc = greedy decoding reproduces the word, plus perplexity',
    render(doc, docId) {
      if (has(doc, 'context', 'continuation')) {
        return { docId, contexts: [str(doc, 'context')], continuations: [' ' + pyStrip(str(doc, 'continuation'))], domainConditionals: [' '], label: 0 };
      }
      if (has(doc, 'text')) {
        const t = str(doc, 'text');
        const cut = t.lastIndexOf(' ');
        if (cut <= 0) throw dataError(`lambada doc ${docId}: text has no last word`);
        return { docId, contexts: [t.slice(0, cut)], continuations: [t.slice(cut)], domainConditionals: [' '], label: 0 };
      }
      return unknownFormat('lambada', doc);
    },
  },
];

/** The supported tasks, keyed by OLMo's label. */
export const TASKS: Readonly<Record<string, TaskSpec>> = Object.freeze(Object.fromEntries(specs.map((s) => [s.name, s])));

/** Aliases accepted on the command line. */
const ALIASES: Record<string, string> = { openbookqa: 'openbook_qa', obqa: 'openbook_qa', lambada_openai: 'lambada', arc_e: 'arc_easy', arc_c: 'arc_challenge' };

export function resolveTaskName(name: string): string | undefined {
  const n = name.trim().toLowerCase();
  if (n in TASKS) return n;
  return ALIASES[n];
}

/**
 * In-loop evaluators for the trainer: built from OLMo's `evaluators:` config entries and run every
 * `eval_interval` steps. Metric keys are OLMo's:
 *   lm          → eval/{label}/CrossEntropyLoss, eval/{label}/Perplexity  (label = the dataset label)
 *   downstream  → eval/downstream/{label}_{metric}
 */
import { configError } from './errors.js';
import { evaluateTask } from './evaluate.js';
import { asScoringModel, type TokenizerLike } from './model.js';
import { evaluatePerplexity, perplexityInputFromPaths } from './perplexity.js';
import { loadTask, type Task } from './readers.js';
import { resolveTaskName, type MetricType } from './tasks.js';

/** OLMo's EvaluatorConfig (the fields we use; unknown fields are ignored). */
export interface EvaluatorConfigEntry {
  label: string;
  type?: 'lm' | 'downstream';
  data?: {
    paths?: string[] | null;
    datasets?: Record<string, string[]> | null;
    drop_last?: boolean;
    [k: string]: unknown;
  };
  device_eval_batch_size?: number | null;
  subset_num_batches?: number | null;
  /** Extension: override the task metric (downstream). */
  metric?: MetricType;
}

export interface CreateEvaluatorsOptions {
  tokenizer: TokenizerLike;
  /** Folder (or file) with downstream data when an entry has no data.paths; default $OLMO_EVAL_DATA. */
  dataRoot?: string;
  /** LM instance length (the trainer's max_sequence_length); default the model's context length. */
  seqLen?: number;
  /** Default batch size (the trainer's device_eval_batch_size). Default 16. */
  batchSize?: number;
  progress?: boolean;
  /** Element type of raw token files (OLMo's headerless .npy memmaps). Default: uint32 if the tokenizer has > 65536 ids, else uint16. */
  tokenDtype?: 'uint16' | 'uint32';
}

export interface InLoopEvaluator {
  label: string;
  type: 'lm' | 'downstream';
  run(model: unknown): Promise<Record<string, number>>;
}

export function createEvaluators(entries: EvaluatorConfigEntry[], opts: CreateEvaluatorsOptions): InLoopEvaluator[] {
  if (!Array.isArray(entries)) throw configError('evaluators must be a list of { label, type, data } entries');
  return entries.map((e, i) => {
    if (!e || typeof e.label !== 'string' || !e.label) throw configError(`evaluators[${i}] has no label`);
    const type = e.type ?? 'lm';
    if (type !== 'lm' && type !== 'downstream') throw configError(`evaluators[${i}] (${e.label}): unknown type ${JSON.stringify(e.type)}`, 'use "lm" or "downstream"');
    const batchSize = e.device_eval_batch_size ?? opts.batchSize ?? 16;
    if (type === 'downstream') {
      if (!resolveTaskName(e.label)) throw configError(`evaluators[${i}]: unknown downstream task ${JSON.stringify(e.label)}`);
      let task: Task | undefined;
      return {
        label: e.label,
        type,
        async run(model: unknown) {
          task ??= loadTask(e.label, { path: e.data?.paths?.[0] ?? opts.dataRoot, metric: e.metric });
          const perDoc = Math.max(1, task.instances[0] ? Math.max(task.instances[0].contexts.length, task.instances[0].continuations.length) : 1);
          const limit = e.subset_num_batches ? Math.ceil((e.subset_num_batches * batchSize) / perDoc) : undefined;
          const r = await evaluateTask(asScoringModel(model), opts.tokenizer, task, { batchSize, limit, progress: opts.progress ?? false });
          return { [`eval/downstream/${e.label}_${r.metric}`]: r.score };
        },
      };
    }
    const sets: [string, string[]][] = [];
    if (e.data?.paths?.length) sets.push([e.label, e.data.paths]);
    else if (e.data?.datasets && Object.keys(e.data.datasets).length) for (const k of Object.keys(e.data.datasets).sort()) sets.push([k, e.data.datasets[k]!]);
    else throw configError(`evaluators[${i}] (${e.label}): one of data.paths or data.datasets is required`);
    return {
      label: e.label,
      type,
      async run(model: unknown) {
        const m = asScoringModel(model);
        const out: Record<string, number> = {};
        for (const [label, paths] of sets) {
          const maxInstances = e.subset_num_batches ? e.subset_num_batches * batchSize : undefined;
          const r = await evaluatePerplexity(m, opts.tokenizer, perplexityInputFromPaths(paths, opts.tokenDtype ?? ((opts.tokenizer.vocabSize ?? 0) > 65536 ? 'uint32' : 'uint16')), { seqLen: opts.seqLen ?? m.contextLength, batchSize, maxInstances, progress: opts.progress ?? false });
          out[`eval/${label}/CrossEntropyLoss`] = r.instanceCrossEntropy;
          out[`eval/${label}/Perplexity`] = Math.exp(r.instanceCrossEntropy);
        }
        return out;
      },
    };
  });
}

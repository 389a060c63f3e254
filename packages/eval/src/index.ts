/**
 * @olmo/eval — perplexity / bits-per-byte and OLMo's downstream tasks (olmo/eval/downstream.py),
 * in the training loop and from the CLI. See README.md.
 */
export { TASKS, METRIC_TYPES, resolveTaskName, hellaswagPreprocess, numChoices } from './tasks.js';
export type { MetricType, Instance, TaskSpec, Doc } from './tasks.js';
export { loadTask, getTaskSpec, findTaskFile, readRecords, readArrowRecords, readJsonlRecords, readPiqaOriginal, readHellaswagText } from './readers.js';
export type { Task, LoadTaskOptions, DataFormat } from './readers.js';
export { buildRequests } from './requests.js';
export type { Request, BuildOptions } from './requests.js';
export { computeMetric, requestValue, argmaxFirst, LOG_2_OF_E } from './metrics.js';
export type { MetricRecord, DocOutcome, RequestLogLikelihoods } from './metrics.js';
export { scoreSpans, planRows } from './scorer.js';
export type { Span, SpanScore, ScoreOptions, ScoreStats } from './scorer.js';
export { evaluateTask } from './evaluate.js';
export type { EvaluateOptions, TaskResult, ExampleRecord } from './evaluate.js';
export { evaluatePerplexity, readTokenFile, perplexityInputFromPaths } from './perplexity.js';
export type { PerplexityInput, PerplexityOptions, PerplexityResult } from './perplexity.js';
export { createEvaluators } from './evaluator.js';
export type { EvaluatorConfigEntry, CreateEvaluatorsOptions, InLoopEvaluator } from './evaluator.js';
export { asScoringModel } from './model.js';
export type { ScoringModel, TokenizerLike, LogitsLike, PrefixedOutput } from './model.js';
export { markdownTable, renderHtml, reportJSON, scoreChartSVG } from './report.js';
export type { EvalReport } from './report.js';
export { runEvalCli, evalCommand, EVAL_SPEC, EVAL_USAGE } from './cli.js';
export type { CliIO } from './cli.js';
export { createFakeModel, createByteTokenizer } from './testing.js';
export type { FakeModel, FakeModelOptions } from './testing.js';
export { OlmoError } from './errors.js';
export { renderChartSVG, escapeHtml, type ChartSpec } from './chart.js';

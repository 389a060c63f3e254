/**
 * @olmo/trainer — OLMo's training loop: config (OLMo YAML names), AdamW/LionW with OLMo's param
 * groups, schedulers, loss (OLMo normalisation, z-loss), callbacks, atomic checkpoints with exact
 * resume, and the `olmo` CLI.
 */
export { ConfigError, CheckpointError, NonFiniteError } from './errors.js';
export { checkPrecision, SUPPORTED_PRECISIONS, defaultConfig, resolveConfig, loadConfig, loadConfigFile, parseOverrides, configToYAML, maxStepsOf, seqLenOf, requireData, SCHEMA, type TrainConfig, type ModelSection, type OptimizerSection, type SchedulerSection, type DataSection, type EvaluatorConfig } from './config.js';
export { Scheduler, type SchedulerOptions } from './scheduler.js';
export { AdamW, LionW, Optimizer, paramGroups, type NamedParam, type ParamGroup, type OptimizerOptions } from './optim.js';
export { adamwStep, clipGradNorm, sumSquares } from '@olmo/tensor-cuda';
export { microbatchLoss, nextTokenTargets, countTargets, IGNORE_INDEX, type LossOut } from './loss.js';
export { NaNDetector, SpeedMonitor, MetricsJSONL, ConsoleLogger, ProgressBar, Checkpointer, EvaluatorCallback, measureCpuPeakFlops, type Callback, type Metrics, type TrainerView } from './callbacks.js';
export { writeCheckpoint, readTrainerState, latestCheckpoint, resolveCheckpoint, listCheckpoints, CODE_VERSION, type TrainerState } from './checkpoint.js';
export { buildTrainData, type TrainData, type Instance } from './data.js';
export { configEvaluator } from './evaluate.js';
export { buildModel, namedParameters, toOLMoConfig, type TrainableModel } from './model.js';
export { Trainer, buildOptimizer, defaultCallbacks, type TrainerOptions, type FitResult } from './trainer.js';
export { runCli, runTrain, olmoCommand, OLMO_COMMANDS, versions } from './cli.js';
export { sftBatch, sftLoss, shiftedTargets, countLabelledTargets, type AdaptModel, type SftBatchOptions, type SftLossOptions, type SftLossOut, type SftNormalization } from './sft.js';
export { sequenceLogps, referenceLogps, dpoLoss, dpoStep, type DpoLossType, type DpoLossInput, type DpoLossOut, type DpoMetrics, type DpoStepOptions, type ReferenceLogps, type SequenceLogps, type SequenceLogpsOptions } from './dpo.js';
export { AdaptTrainer, type AdaptOptions, type AdaptMode, type AdaptMetrics, type AdaptEvaluator, type AdaptResult, type AdaptTrainable } from './adapt.js';
export { runChatCli, parseChatArgs, IncrementalDecoder, CHAT_USAGE, type ChatIO } from './chat.js';
export { loadAdaptConfig, resolveAdaptConfig, ADAPT_DEFAULTS, type AdaptConfig } from './adapt-config.js';
export { runAdapt, runAdaptCli, ADAPT_USAGE } from './adapt-cli.js';

/** Typed errors of @olmo/model (codes documented in docs/errors.md). */
import { OlmoError } from '@olmo/tensor-cuda';

export { OlmoError };

/** A checkpoint file or folder is malformed, truncated, or disagrees with its config. */
export class CheckpointError extends OlmoError {
  constructor(message: string, hint = 'the checkpoint is damaged or incomplete: re-download or re-save it') {
    super('CHECKPOINT_CORRUPT', message, hint);
  }
}

/** A model configuration is invalid (missing or inconsistent fields). */
export class ConfigError extends OlmoError {
  constructor(message: string, hint = 'check config.json against HF OlmoConfig / Olmo2Config') {
    super('CONFIG_INVALID', message, hint);
  }
}

export class NotFoundError extends OlmoError {
  constructor(message: string, hint = 'check the path') {
    super('NOT_FOUND', message, hint);
  }
}

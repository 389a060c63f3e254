import { OlmoError } from '@olmo/tensor-cuda';

/** A config value, key or combination is invalid. `keyPath` is the dotted path of the offending key. */
export class ConfigError extends OlmoError {
  readonly keyPath: string;
  constructor(keyPath: string, message: string, hint = 'see configs/tiny.yaml and docs for valid keys and values') {
    super('CONFIG_INVALID', keyPath ? `config key '${keyPath}': ${message}` : message, hint);
    this.keyPath = keyPath;
  }
}

export class CheckpointError extends OlmoError {
  constructor(message: string, hint = 'point load_path at a complete checkpoint folder (one with trainer.msgpack)') {
    super('CHECKPOINT_CORRUPT', message, hint);
  }
}

/** Training produced a NaN/Inf loss or gradient. */
export class NonFiniteError extends OlmoError {
  readonly step: number;
  constructor(step: number, what: string) {
    super('NON_FINITE', `${what} is not finite at step ${step}`, 'lower the learning rate, enable grad clipping (max_grad_norm) or z-loss, or resume from the last checkpoint');
    this.step = step;
  }
}

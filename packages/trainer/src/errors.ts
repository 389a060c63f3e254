import { OlmoError } from '@olmo/tensor-cuda';

/** Where a config key is documented (the default hint when a check has nothing more specific to say). */
export function configDocHint(keyPath: string): string {
  return keyPath ? `'${keyPath}' is described in the Config section of packages/trainer/README.md (OLMo's TrainConfig names)` : 'the Config section of packages/trainer/README.md lists the keys; configs/tiny.yaml is a complete example';
}

/** A config value, key or combination is invalid. `keyPath` is the dotted path of the offending key. */
export class ConfigError extends OlmoError {
  readonly keyPath: string;
  constructor(keyPath: string, message: string, hint = configDocHint(keyPath)) {
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

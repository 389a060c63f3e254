/**
 * Typed errors for @olmo/tokenizer.
 *
 * `@olmo/tokenizer` may not import `@olmo/tensor-cuda`, so it defines its own `OlmoError` with the
 * same global brand (`Symbol.for('olmo.error')`) as packages/tensor-cuda/src/errors.ts:
 * `instanceof OlmoError` therefore works across packages and across duplicated installs.
 */
const BRAND = Symbol.for('olmo.error');

export type OlmoErrorCode =
  | 'TOKENIZER_INVALID'
  | 'TOKENIZER_UNSUPPORTED'
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'INTERNAL'
  | (string & {});

export class OlmoError extends Error {
  readonly code: OlmoErrorCode;
  readonly hint: string;

  constructor(code: OlmoErrorCode, message: string, hint = '', options?: { cause?: unknown }) {
    super(hint ? `${message} (hint: ${hint})` : message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== OlmoError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/**
 * A tokenizer file or configuration that cannot be used. `code` is `TOKENIZER_INVALID` for malformed
 * input (bad JSON, missing merges, unknown model type) and `TOKENIZER_UNSUPPORTED` for a valid
 * HF component this package does not implement — it never guesses an encoding.
 */
export class TokenizerError extends OlmoError {
  constructor(
    message: string,
    hint = 'check that the file is a Hugging Face tokenizer.json',
    code: 'TOKENIZER_INVALID' | 'TOKENIZER_UNSUPPORTED' = 'TOKENIZER_INVALID',
    options?: { cause?: unknown },
  ) {
    super(code, message, hint, options);
  }
}

/** A bad argument to a tokenizer method (e.g. an id out of range in decode). */
export class TokenizerArgumentError extends OlmoError {
  constructor(message: string, hint = 'see the @olmo/tokenizer README for valid values') {
    super('INVALID_ARGUMENT', message, hint);
  }
}

/** Shorthand for "this HF component exists but is not implemented here". */
export function unsupported(component: string, detail = ''): TokenizerError {
  return new TokenizerError(
    `unsupported tokenizer component: ${component}${detail ? ` (${detail})` : ''}`,
    'this component is not implemented by @olmo/tokenizer; open an issue or use a tokenizer without it',
    'TOKENIZER_UNSUPPORTED',
  );
}

/** Typed errors for @olmo/data: every failure is an OlmoError with a code, the offending path and a hint. */
import { OlmoError } from '@olmo/tensor-cuda/text';

export { OlmoError };

/** An OlmoError that names the file it is about (`err.path`). */
export class DataError extends OlmoError {
  readonly path: string | undefined;
  constructor(code: 'DATA_CORRUPT' | 'NOT_FOUND' | 'CONFIG_INVALID' | 'INVALID_ARGUMENT' | 'TOKENIZER_INVALID' | 'NATIVE_UNAVAILABLE',
    message: string, hint = '', path?: string, options?: { cause?: unknown }) {
    super(code, path ? `${message} [${path}]` : message, hint, options);
    this.path = path;
  }
}

export function corrupt(path: string, message: string, hint = 'regenerate the file with `olmo data prepare`'): DataError {
  return new DataError('DATA_CORRUPT', message, hint, path);
}
export function notFound(path: string, message = 'file not found', hint = 'check the path'): DataError {
  return new DataError('NOT_FOUND', message, hint, path);
}
export function configInvalid(message: string, hint = 'fix the configuration', path?: string): DataError {
  return new DataError('CONFIG_INVALID', message, hint, path);
}
export function badArg(message: string, hint = 'see the @olmo/data README'): DataError {
  return new DataError('INVALID_ARGUMENT', message, hint);
}

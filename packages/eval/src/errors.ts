/** Typed errors for @olmo/eval: every failure is an `OlmoError` (from @olmo/tensor-cuda) with a code and a hint. */
import { OlmoError } from '@olmo/tensor-cuda';

export { OlmoError };

export function configError(message: string, hint = 'check the evaluator configuration / CLI arguments'): OlmoError {
  return new OlmoError('CONFIG_INVALID', message, hint);
}
export function dataError(message: string, hint = 'check the evaluation data file (see packages/eval/README.md for the formats)'): OlmoError {
  return new OlmoError('DATA_CORRUPT', message, hint);
}
export function argError(message: string, hint = 'see the function documentation for valid values'): OlmoError {
  return new OlmoError('INVALID_ARGUMENT', message, hint);
}
export function notFound(message: string, hint: string): OlmoError {
  return new OlmoError('NOT_FOUND', message, hint);
}

/**
 * Memory scopes: every tensor created while a scope is open is registered in it; when the scope
 * ends, everything not returned and not `keep()`-ed is disposed. Scopes nest; returned tensors move
 * to the parent scope. Native memory is therefore freed deterministically, not by the GC.
 */
import { ArgumentError } from './errors.js';
import type { Tensor } from './tensor.js';

type Scope = Set<Tensor> | null; // null = tracking suspended (autograd internals own their tensors)

const stack: Scope[] = [];

export function track(t: Tensor): void {
  const top = stack[stack.length - 1];
  if (top) top.add(t);
}

export function untrack(t: Tensor): void {
  for (const s of stack) s?.delete(t);
}

/** Runs fn with scope tracking suspended: tensors created inside belong to the caller alone. */
export function untracked<T>(fn: () => T): T {
  stack.push(null);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

function collect(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if ((value as { __isTensor?: boolean }).__isTensor) {
    out.add(value as Tensor);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, seen);
}

/**
 * Runs fn in a new scope. Tensors created inside are disposed at the end, except those in the
 * return value (a tensor, or arrays / plain objects / Maps of them) and those marked with keep().
 * If fn throws, every tensor it created is disposed and the error propagates.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    closeScope(scope, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    closeScope(scope, undefined);
    throw new ArgumentError('tidy() takes a synchronous function', 'use tidyAsync() for async code');
  }
  return closeScope(scope, result);
}

/**
 * Async variant of tidy (same rules, also on a rejection); tensors created by other concurrent
 * tasks meanwhile also land in this scope.
 */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const scope = new Set<Tensor>();
  stack.push(scope);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    closeScope(scope, undefined);
    throw e;
  }
  return closeScope(scope, result);
}

/**
 * Ends `scope` (wherever it sits on the stack: async scopes may end out of order): tensors reachable
 * from `result` move to the parent scope, every other tensor of the scope is disposed.
 */
function closeScope<T>(scope: Set<Tensor>, result: T): T {
  const i = stack.lastIndexOf(scope);
  if (i >= 0) stack.splice(i, 1);
  const keepSet = new Set<Tensor>();
  collect(result, keepSet);
  for (const t of scope) {
    if (keepSet.has(t)) track(t);
    else t.dispose();
  }
  return result;
}

/** Removes t from every open scope so that it outlives them; the caller must dispose it. */
export function keep<T extends Tensor>(t: T): T {
  untrack(t);
  return t;
}

/**
 * Reverse-mode autograd: each differentiable op records a GradNode holding its own handles on the
 * tensors it needs (so scopes may dispose the user's handles), and a backward function that maps
 * the output gradient to one gradient per input. backward() walks the nodes in reverse
 * topological order, accumulates into leaf `.grad` (in place, so flat-buffer views keep working),
 * and releases each node's saved tensors as soon as it has run.
 */
import { ArgumentError, ShapeError } from './errors.js';
import { untracked } from './scope.js';
import type { Tensor } from './tensor.js';
import { addInPlace, onesLike } from './ops/elementwise.js';

export type Edge = { node: GradNode; leaf?: undefined } | { leaf: Tensor; node?: undefined };

export interface GradNode {
  readonly name: string;
  readonly inputs: ReadonlyArray<Edge | null>;
  /** Returns one owned gradient (or null) per input. */
  backward(grad: Tensor): Array<Tensor | null>;
  /** Handles owned by this node; disposed by release(). */
  readonly saved: Tensor[];
  released: boolean;
  /**
   * Live references: the output tensor handle plus every downstream node that consumes it. When
   * it drops to zero (outputs disposed without backward), the node releases its saved tensors and
   * drops its own references upstream, so an abandoned graph frees its memory.
   */
  refs: number;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording any graph (inference, optimizer steps). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn with graph recording on (e.g. a recomputation inside a backward pass). */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function setGradEnabled(flag: boolean): void {
  gradEnabled = flag;
}

/** True when an op on these inputs must record a node. */
export function needsGrad(...inputs: ReadonlyArray<Tensor | null | undefined>): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

function edgeOf(t: Tensor | null | undefined): Edge | null {
  if (!t || !t.requiresGrad) return null;
  return t.gradFn ? { node: t.gradFn } : { leaf: t };
}

/**
 * Records a node producing `output`. `save` lists tensors the backward function needs; the node
 * takes its own handle on each, passed to backwardFn in the same order.
 */
export function record(
  output: Tensor,
  name: string,
  inputs: ReadonlyArray<Tensor | null | undefined>,
  save: ReadonlyArray<Tensor>,
  backwardFn: (grad: Tensor, saved: Tensor[]) => Array<Tensor | null>,
): void {
  const saved = untracked(() => save.map((t) => t.share()));
  const edges = inputs.map(edgeOf);
  const node: GradNode = {
    name,
    inputs: edges,
    saved,
    released: false,
    refs: 1,
    backward: (g) => backwardFn(g, saved),
  };
  for (const e of edges) if (e?.node) e.node.refs++;
  output.requiresGrad = true;
  output.gradFn = node;
}

/** Drops one reference (a disposed output or a released consumer); frees the node at zero. */
export function dropNodeRef(node: GradNode): void {
  // Iterative: a long chain of abandoned nodes must not overflow the stack.
  const stack = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (--n.refs > 0) continue;
    const wasReleased = n.released;
    release(n);
    if (wasReleased) continue;
    for (const e of n.inputs) if (e?.node) stack.push(e.node);
  }
}

function release(node: GradNode): void {
  if (node.released) return;
  // Consumed by backward: upstream nodes are visited by the same backward, which releases them.
  node.released = true;
  for (const t of node.saved) t.dispose();
  node.saved.length = 0;
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (g.shape.length !== leaf.shape.length || g.shape.some((d, i) => d !== leaf.shape[i])) {
    throw new ShapeError(`gradient shape [${g.shape.join(', ')}] does not match ${leaf.name ?? 'leaf'} [${leaf.shape.join(', ')}]`);
  }
  if (leaf.grad && !leaf.grad.disposed) {
    addInPlace(leaf.grad, g);
    g.dispose();
  } else {
    leaf.grad = g;
  }
}

export function backward(root: Tensor, grad?: Tensor, opts?: { retainGraph?: boolean }): void {
  root.assertAlive('backward root');
  if (!root.requiresGrad) throw new ArgumentError('backward() on a tensor that does not require grad', 'mark parameters with requiresGrad_() before the forward pass');
  if (!grad && root.size !== 1) throw new ShapeError(`backward() without a gradient needs a scalar, got [${root.shape.join(', ')}]`, 'pass grad explicitly or reduce the output first');
  untracked(() => noGrad(() => {
    const seed = grad ? grad.contiguous() : onesLike(root);
    if (!root.gradFn) {
      accumulateLeaf(root, seed);
      return;
    }
    // Topological order (iterative DFS: graphs of deep models overflow recursion).
    const order: GradNode[] = [];
    const visited = new Set<GradNode>();
    const stack: Array<[GradNode, number]> = [[root.gradFn, 0]];
    visited.add(root.gradFn);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [node, i] = top;
      if (i < node.inputs.length) {
        top[1]++;
        const e = node.inputs[i];
        if (e?.node && !visited.has(e.node)) {
          if (e.node.released) throw new ArgumentError(`graph node ${e.node.name} was already released`, 'call backward once per forward, or pass { retainGraph: true }');
          visited.add(e.node);
          stack.push([e.node, 0]);
        }
      } else {
        stack.pop();
        order.push(node);
      }
    }
    const grads = new Map<GradNode, Tensor>();
    grads.set(root.gradFn, seed);
    for (let k = order.length - 1; k >= 0; k--) {
      const node = order[k]!;
      const g = grads.get(node);
      grads.delete(node);
      if (!g) continue;
      if (node.released) throw new ArgumentError(`graph node ${node.name} was already released`, 'call backward once per forward, or pass { retainGraph: true }');
      let inGrads: Array<Tensor | null>;
      try {
        inGrads = node.backward(g);
      } finally {
        g.dispose();
      }
      node.inputs.forEach((e, i) => {
        const gi = inGrads[i];
        if (!gi) return;
        if (!e) { gi.dispose(); return; }
        if (e.leaf) accumulateLeaf(e.leaf, gi);
        else {
          const prev = grads.get(e.node);
          if (prev) { addInPlace(prev, gi); gi.dispose(); } else grads.set(e.node, gi);
        }
      });
      if (!opts?.retainGraph) release(node);
    }
    for (const g of grads.values()) g.dispose();
  }));
  if (!opts?.retainGraph) root.gradFn = null;
}

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
  backward(grad: Tensor, info?: BackwardInfo): Array<Tensor | null>;
  /** Handles owned by this node; disposed by release(). */
  readonly saved: Tensor[];
  released: boolean;
  /**
   * Live references: the output tensor handle plus every downstream node that consumes it. When
   * it drops to zero (outputs disposed without backward), the node releases its saved tensors and
   * drops its own references upstream, so an abandoned graph frees its memory.
   */
  refs: number;
  /**
   * amp_bf16 gradient hand-off (see BackwardInfo.bf16GradWanted). 'float32' / 'bfloat16': this
   * node's backward reads its output gradient only as a bf16-rounded GEMM operand (the CPU matmul
   * under autocast) and takes it already rounded in that form — bf16 values held in float32 and
   * marked with markBf16Values (the avx2 rounding + sgemm path), or a bfloat16 tensor (the
   * vdpbf16ps path, which then reads half the bytes). 'passes': its backward hands the gradient on
   * to its one input unchanged, as a view of it, keeping form and mark (reshape).
   */
  gradBf16?: 'float32' | 'bfloat16' | 'passes';
}

/** What the engine tells a node's backward about the pass it runs in. */
export interface BackwardInfo {
  /**
   * The form ('float32': bf16 values held in float32, marked; 'bfloat16') in which the gradient this
   * node returns for input i may be handed over already rounded to bf16, or null. Non-null when that
   * gradient reaches a node taking such a gradient (through 'passes' nodes only) as that node's whole
   * gradient: every node on the way has exactly one consumer in this backward pass, so nothing is
   * added to it. The consumer would have rounded exactly those values itself, so the numerics are
   * unchanged and a pass over the tensor is saved (the LM head's [tokens, vocab] logits gradient).
   */
  bf16GradWanted(i: number): 'float32' | 'bfloat16' | null;
}

// float32 tensors known to hold bf16 values only (set by a backward that rounded for a 'float32'
// consumer; see BackwardInfo.bf16GradWanted). A WeakSet: the mark never outlives the handle.
const bf16Valued = new WeakSet<Tensor>();
/** Marks t (a float32 gradient) as holding bf16 values only; see BackwardInfo.bf16GradWanted. */
export function markBf16Values(t: Tensor): void {
  bf16Valued.add(t);
}
/** Whether t was marked by markBf16Values (its values are bf16 values held in float32). */
export function holdsBf16Values(t: Tensor): boolean {
  return bf16Valued.has(t);
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
  backwardFn: (grad: Tensor, saved: Tensor[], info: BackwardInfo) => Array<Tensor | null>,
  opts: { gradBf16?: GradNode['gradBf16'] } = {},
): void {
  const saved = untracked(() => save.map((t) => t.share()));
  const edges = inputs.map(edgeOf);
  const node: GradNode = {
    name,
    inputs: edges,
    saved,
    released: false,
    refs: 1,
    backward: (g, info) => backwardFn(g, saved, info ?? noBackwardInfo),
  };
  if (opts.gradBf16) node.gradBf16 = opts.gradBf16;
  for (const e of edges) if (e?.node) e.node.refs++;
  output.requiresGrad = true;
  output.gradFn = node;
}

const noBackwardInfo: BackwardInfo = { bf16GradWanted: () => null };

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
    // How many nodes of this pass feed each node a gradient (an input used twice counts twice).
    const consumers = new Map<GradNode, number>();
    for (const n of order) for (const e of n.inputs) if (e?.node) consumers.set(e.node, (consumers.get(e.node) ?? 0) + 1);
    const bf16GradWanted = (edge: Edge | null | undefined): 'float32' | 'bfloat16' | null => {
      for (let n = edge?.node; n; n = n.inputs[0]?.node) {
        if (consumers.get(n) !== 1) return null;
        if (n.gradBf16 !== 'passes') return n.gradBf16 ?? null;
      }
      return null;
    };
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
        inGrads = node.backward(g, { bf16GradWanted: (i) => bf16GradWanted(node.inputs[i]) });
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
          // (a summed gradient is never bf16-valued: drop a mark, though bf16GradWanted rules this case out)
          if (prev) { addInPlace(prev, gi); gi.dispose(); bf16Valued.delete(prev); } else grads.set(e.node, gi);
        }
      });
      if (!opts?.retainGraph) release(node);
    }
    for (const g of grads.values()) g.dispose();
  }));
  if (!opts?.retainGraph) root.gradFn = null;
}

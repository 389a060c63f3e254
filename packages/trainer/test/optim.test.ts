/** AdamW / LionW against float64 references; OLMo param groups and switches; state save/load. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { tensor, type Tensor } from '@olmo/tensor-cuda';
import { AdamW, LionW, paramGroups, type NamedParam } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'olmo-optim-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function make(values: Record<string, number[]>): NamedParam[] {
  return Object.entries(values).map(([name, v]) => {
    const p = tensor(v, { shape: [v.length] }).keep().requiresGrad_(true);
    return { name, param: p };
  });
}
function setGrad(p: Tensor, g: number[]) { p.grad?.dispose(); p.grad = tensor(g, { shape: [g.length] }).keep(); }
const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => { for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol * Math.max(1, Math.abs(b[i]!))); };

describe('optimizers', () => {
  it('OLMo param groups: no decay on embeddings, norms, biases unless switched on', () => {
    const ps = make({ 'model.embed_tokens.weight': [1], 'model.layers.0.self_attn.q_proj.weight': [1], 'model.layers.0.post_attention_layernorm.weight': [1], 'model.norm.weight': [1], 'lm_head.weight': [1], 'x.bias': [1] });
    const g = paramGroups(ps, { weightDecay: 0.1, lr: 1 });
    expect(g[0]!.names).toEqual(['lm_head.weight', 'model.layers.0.self_attn.q_proj.weight']);
    expect(g[1]!.names).toEqual(['model.embed_tokens.weight', 'model.layers.0.post_attention_layernorm.weight', 'model.norm.weight', 'x.bias']);
    expect(g[1]!.weightDecay).toBe(0);
    const g2 = paramGroups(ps, { weightDecay: 0.1, lr: 1, decayNormAndBias: true, decayEmbeddings: true });
    expect(g2).toHaveLength(1);
    expect(paramGroups(ps, { weightDecay: 0.1, lr: 1, decayNormAndBias: true })[1]!.names).toEqual(['model.embed_tokens.weight']);
  });

  it('AdamW matches the float64 PyTorch-AdamW formula; state round-trips', () => {
    const ps = make({ 'a.weight': [0.5, -1, 2], 'model.embed_tokens.weight': [0.1, 0.2] });
    const opt = new AdamW(ps, { lr: 0.01, betas: [0.9, 0.95], eps: 1e-5, weightDecay: 0.1 });
    const ref = { w: [0.5, -1, 2], e: [0.1, 0.2] } as Record<string, number[]>;
    const m = { w: [0, 0, 0], e: [0, 0] } as Record<string, number[]>, v = { w: [0, 0, 0], e: [0, 0] } as Record<string, number[]>;
    for (let t = 1; t <= 3; t++) {
      const gw = [0.3 * t, -0.2, 0.1], ge = [0.05, -0.4 / t];
      setGrad(ps[0]!.param, gw); setGrad(ps[1]!.param, ge);
      opt.step();
      for (const [k, g, wd] of [['w', gw, 0.1], ['e', ge, 0]] as const) for (let i = 0; i < g.length; i++) {
        ref[k]![i]! *= 1 - 0.01 * wd;
        m[k]![i] = 0.9 * m[k]![i]! + 0.1 * g[i]!;
        v[k]![i] = 0.95 * v[k]![i]! + 0.05 * g[i]! ** 2;
        ref[k]![i]! -= (0.01 * (m[k]![i]! / (1 - 0.9 ** t))) / (Math.sqrt(v[k]![i]! / (1 - 0.95 ** t)) + 1e-5);
      }
    }
    close(ps[0]!.param.toFloat32Array(), ref.w!, 1e-5);
    close(ps[1]!.param.toFloat32Array(), ref.e!, 1e-5);
    opt.save(join(root, 'o.safetensors'));
    const ps2 = make({ 'a.weight': [0, 0, 0], 'model.embed_tokens.weight': [0, 0] });
    const opt2 = new AdamW(ps2, { lr: 0.01, betas: [0.9, 0.95], eps: 1e-5, weightDecay: 0.1 });
    opt2.load(join(root, 'o.safetensors'));
    expect(opt2.step_).toBe(3);
    expect(Array.from(opt2.expAvg.view('a.weight').toFloat32Array())).toEqual(Array.from(opt.expAvg.view('a.weight').toFloat32Array()));
    expect(Array.from(opt2.expAvgSq.view('model.embed_tokens.weight').toFloat32Array())).toEqual(Array.from(opt.expAvgSq.view('model.embed_tokens.weight').toFloat32Array()));
    expect(() => new LionW(ps2, { lr: 0.01 }).load(join(root, 'o.safetensors'))).toThrow(expect.objectContaining({ code: 'CHECKPOINT_CORRUPT' }));
  });

  it('LionW as OLMo has it', () => {
    const ps = make({ 'a.weight': [0.5, -1] });
    const opt = new LionW(ps, { lr: 0.1, betas: [0.9, 0.99], weightDecay: 0.5 });
    setGrad(ps[0]!.param, [0.2, -0.3]);
    opt.step();
    // p = p(1 - lr wd) - lr sign(b1 m + (1-b1) g), m = 0 initially
    close(ps[0]!.param.toFloat32Array(), [0.5 * 0.95 - 0.1, -1 * 0.95 + 0.1]);
    close(opt.expAvg.view('a.weight').toFloat32Array(), [0.01 * 0.2, 0.01 * -0.3]);
  });

  it('rejects a non-positive learning rate', () => {
    expect(() => new AdamW(make({ w: [1] }), { lr: -1 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

#!/usr/bin/env python3
"""PyTorch anchor for bench/model: an OLMo-1 model equivalent to @olmo/model's (non-parametric
LayerNorm, SwiGLU, rotate-half RoPE, causal SDPA, untied head), float32, N threads.

  python3 torch_olmo.py CONFIG_JSON OUT_JSON [--weights model.safetensors] [--onnx DIR]

CONFIG_JSON: {"d":256,"L":4,"H":4,"ff":1024,"V":50304,"B":8,"T":256,"threads":2,"reps":5,
              "prompt":32,"new":128,"ids":[[...]], "prompt_ids":[...]}
Measures forward tokens/s (no grad) and batch-1 greedy decode tokens/s with a KV cache that is
preallocated once per generation (written in place, no torch.cat); with --weights, loads the very
weights @olmo/model saved (HF names, float32 safetensors) so both sides run the SAME model, and
reports the prompt's last-position logits so the caller can check that. With --onnx, also exports
the forward (input_ids [B,T] -> logits) to DIR/model.onnx for onnxruntime.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, d, h, ff, theta):
        super().__init__()
        self.h, self.hs, self.d = h, d // h, d
        self.q = torch.nn.Linear(d, d, bias=False)
        self.k = torch.nn.Linear(d, d, bias=False)
        self.v = torch.nn.Linear(d, d, bias=False)
        self.o = torch.nn.Linear(d, d, bias=False)
        self.gate = torch.nn.Linear(d, ff, bias=False)
        self.up = torch.nn.Linear(d, ff, bias=False)
        self.down = torch.nn.Linear(ff, d, bias=False)
        hs = self.hs
        inv = theta ** (-torch.arange(0, hs, 2, dtype=torch.float64) / hs)
        ang = torch.arange(0, 4096, dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer('cos', torch.cat([ang.cos(), ang.cos()], -1).float()[:, None, :], persistent=False)
        self.register_buffer('sin', torch.cat([ang.sin(), ang.sin()], -1).float()[:, None, :], persistent=False)

    def rope(self, x, pos0):
        T = x.shape[1]
        cos, sin = self.cos[pos0:pos0 + T], self.sin[pos0:pos0 + T]
        half = self.hs // 2
        x1, x2 = x[..., :half], x[..., half:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def forward(self, x, cache=None, pos0=0):
        B, T, C = x.shape
        a = F.layer_norm(x, (self.d,), eps=1e-5)
        q = self.rope(self.q(a).view(B, T, self.h, self.hs), pos0)
        k = self.rope(self.k(a).view(B, T, self.h, self.hs), pos0)
        v = self.v(a).view(B, T, self.h, self.hs)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if cache is not None:
            # Preallocated [B, H, max_len, hs] buffers: write this step's keys/values in place and
            # attend over the filled prefix (a view), as a production decoder does.
            cache[0][:, :, pos0:pos0 + T] = k
            cache[1][:, :, pos0:pos0 + T] = v
            k, v = cache[0][:, :, :pos0 + T], cache[1][:, :, :pos0 + T]
        att = self.sdpa(q, k, v, T > 1)
        x = x + self.o(att.transpose(1, 2).reshape(B, T, self.d))
        m = F.layer_norm(x, (self.d,), eps=1e-5)
        return x + self.down(F.silu(self.gate(m)) * self.up(m))

    @staticmethod
    def sdpa(q, k, v, causal):
        s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if causal:
            T = q.shape[-2]
            mask = torch.ones(T, T, dtype=torch.bool).tril()  # (prefill / full forward: Tk == T)
            s = s.masked_fill(~mask, float('-inf'))
        return s.softmax(-1) @ v


class OLMo(torch.nn.Module):
    def __init__(self, d, L, h, ff, V, theta=10000.0):
        super().__init__()
        self.emb = torch.nn.Embedding(V, d)
        self.blocks = torch.nn.ModuleList([Block(d, h, ff, theta) for _ in range(L)])
        self.head = torch.nn.Linear(d, V, bias=False)
        self.d = d
        for p in self.parameters():
            torch.nn.init.normal_(p, std=0.02)

    def forward(self, ids, caches=None, pos0=0, last_only=False):
        x = self.emb(ids)
        for i, b in enumerate(self.blocks):
            x = b(x, None if caches is None else caches[i], pos0)
        if last_only:
            x = x[:, -1:, :]
        return self.head(F.layer_norm(x, (self.d,), eps=1e-5))


HF_NAMES = {'q': 'self_attn.q_proj', 'k': 'self_attn.k_proj', 'v': 'self_attn.v_proj', 'o': 'self_attn.o_proj',
            'gate': 'mlp.gate_proj', 'up': 'mlp.up_proj', 'down': 'mlp.down_proj'}


def load_safetensors_f32(path):
    """{name: float32 tensor} from a safetensors file (the format is 8-byte header length + JSON + data)."""
    import struct
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        assert info['dtype'] == 'F32', f'{name}: {info["dtype"]} (save float32)'
        a, b = info['data_offsets']
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(info['shape'])
    return out


def load_weights(m, path):
    w = load_safetensors_f32(path)
    with torch.no_grad():
        m.emb.weight.copy_(w['model.embed_tokens.weight'])
        m.head.weight.copy_(w['lm_head.weight'])
        for i, b in enumerate(m.blocks):
            for attr, hf in HF_NAMES.items():
                getattr(b, attr).weight.copy_(w[f'model.layers.{i}.{hf}.weight'])


def main():
    cfg = json.load(open(sys.argv[1]))
    out_path = sys.argv[2]
    onnx_dir = sys.argv[sys.argv.index('--onnx') + 1] if '--onnx' in sys.argv else None
    torch.set_num_threads(cfg.get('threads', 2))
    torch.manual_seed(0)
    m = OLMo(cfg['d'], cfg['L'], cfg['H'], cfg['ff'], cfg['V']).eval()
    if '--weights' in sys.argv:
        load_weights(m, sys.argv[sys.argv.index('--weights') + 1])
    B, T, reps = cfg['B'], cfg['T'], cfg.get('reps', 5)
    ids = torch.tensor(cfg['ids']) if 'ids' in cfg else torch.randint(0, cfg['V'], (B, T))
    res = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'kv_cache': 'preallocated'}
    with torch.no_grad():
        m(ids)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            m(ids)
            ts.append(time.perf_counter() - t0)
        res['forward_s'] = sorted(ts)[len(ts) // 2]
        res['forward_tok_s'] = B * T / res['forward_s']
        # greedy decode, batch 1, KV cache
        P, N = cfg.get('prompt', 32), cfg.get('new', 128)
        prompt = torch.tensor([cfg['prompt_ids']]) if 'prompt_ids' in cfg else torch.randint(0, cfg['V'], (1, P))
        hs = cfg['d'] // cfg['H']
        res['prompt_last_logits'] = m(prompt, last_only=True)[0, -1].tolist()
        ts = []
        for _ in range(cfg.get('decode_reps', max(1, reps // 2))):
            t0 = time.perf_counter()
            # allocation of the cache is part of a generation, as on our side
            caches = [[torch.empty(1, cfg['H'], P + N, hs), torch.empty(1, cfg['H'], P + N, hs)] for _ in m.blocks]
            logits = m(prompt, caches, 0, last_only=True)
            tok = logits[:, -1].argmax(-1, keepdim=True)
            for i in range(N - 1):
                logits = m(tok, caches, P + i, last_only=True)
                tok = logits[:, -1].argmax(-1, keepdim=True)
            ts.append(time.perf_counter() - t0)
        res['decode_s'] = sorted(ts)[len(ts) // 2]
        res['decode_tok_s'] = N / res['decode_s']
    if onnx_dir:
        path = onnx_dir + '/model.onnx'
        class Fwd(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids):
                return self.inner(input_ids)

        torch.onnx.export(Fwd(m), (ids,), path, input_names=['input_ids'], output_names=['logits'],
                          dynamic_axes={'input_ids': {0: 'B', 1: 'T'}, 'logits': {0: 'B', 1: 'T'}}, opset_version=14)
        res['onnx'] = path
    json.dump(res, open(out_path, 'w'))


if __name__ == '__main__':
    main()

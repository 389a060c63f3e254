#!/usr/bin/python3
"""PyTorch anchor for bench/ops (attention and cross-entropy, fwd+bwd, float32 CPU).

Run it the way the benches do (Debian python3-torch 1.13, jemalloc, 2 threads):
  LD_PRELOAD=libjemalloc.so.2 /usr/bin/python3 bench/ops/torch_ops.py [--threads 2]          # server
  LD_PRELOAD=libjemalloc.so.2 /usr/bin/python3 bench/ops/torch_ops.py --mem '{"op":"attn",...}'  # one-shot

Server mode reads one JSON request per line on stdin and answers one JSON line:
  {"op":"attn","B":4,"T":256,"NH":4,"HS":64,"reps":1} -> {"times":[seconds,...]}
  {"op":"ce","N":2048,"V":50304,"reps":1}              -> {"times":[...]}
Inputs are built (and one warm-up step run) on the first request for a shape, outside the timing.
--mem runs one fwd+bwd in this fresh process and prints the peak-RSS growth over the inputs.

attention: torch 1.13 CPU has no scaled_dot_product_attention, so it is the HF eager composition:
  q,k,v [B,T,NH,HS] -> transpose(1,2) -> q @ k^T * scale -> masked_fill(causal, finfo.min)
  -> softmax(fp32) -> @ v -> transpose(1,2).contiguous(); backward with a fixed upstream gradient.
cross-entropy: F.cross_entropy(logits [N,V], targets) (mean) and loss.backward().
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

threads = 2
if '--threads' in sys.argv:
    threads = int(sys.argv[sys.argv.index('--threads') + 1])
torch.set_num_threads(threads)


def attn_inputs(B, T, NH, HS):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(B, T, NH, HS, generator=g).requires_grad_() for _ in range(3))
    dout = torch.randn(B, T, NH, HS, generator=g)
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)  # True above the diagonal = masked
    return q, k, v, dout, mask


def attn_step(q, k, v, dout, mask):
    HS = q.shape[-1]
    qh, kh, vh = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    w = torch.matmul(qh, kh.transpose(2, 3)) * (1.0 / math.sqrt(HS))
    w = w.masked_fill(mask, torch.finfo(w.dtype).min)
    p = F.softmax(w, dim=-1, dtype=torch.float32)
    out = torch.matmul(p, vh).transpose(1, 2).contiguous()
    out.backward(dout)
    for t in (q, k, v):
        t.grad = None


def ce_inputs(N, V):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(N, V, generator=g).requires_grad_()
    targets = torch.randint(0, V, (N,), generator=g)
    return logits, targets


def ce_step(logits, targets):
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    logits.grad = None


def make(req):
    if req['op'] == 'attn':
        inp = attn_inputs(req['B'], req['T'], req['NH'], req['HS'])
        return lambda: attn_step(*inp)
    inp = ce_inputs(req['N'], req['V'])
    return lambda: ce_step(*inp)


def key(req):
    return json.dumps({k: v for k, v in req.items() if k != 'reps'}, sort_keys=True)


def maxrss_bytes():
    # VmHWM: peak RSS of this process image (getrusage's ru_maxrss carries the parent's over exec).
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    raise RuntimeError('no VmHWM')


if '--mem' in sys.argv:
    req = json.loads(sys.argv[sys.argv.index('--mem') + 1])
    step = make(req)
    before = maxrss_bytes()
    step()
    print(json.dumps({'peakRssDelta': maxrss_bytes() - before}), flush=True)
    sys.exit(0)

cache = {}
for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    kk = key(req)
    if kk not in cache:
        cache.clear()
        cache[kk] = make(req)
        cache[kk]()  # warm-up
    step = cache[kk]
    times = []
    for _ in range(req.get('reps', 1)):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({'times': times, 'threads': torch.get_num_threads(), 'torch': torch.__version__}), flush=True)

"""Same-run PyTorch anchor for bench/gpu-train: HF transformers OlmoForCausalLM (OLMo-1B config,
SDPA attention), torch.autocast(bfloat16), fused AdamW, float32 master weights — the plain
PyTorch recipe for the job olmo-ts measures. Largest power-of-two micro-batch that fits at the
given sequence length; median step time after warm-up; MFU with the same formula as train.mjs
(OLMo's flopsPerToken: fwd 2*N_non_emb + 4*L*d*seq, bwd 4*N + 8*L*d*seq; peak 989e12).
Prints one JSON line per stage.

  python3 bench/gpu-train/torch_anchor.py --seq 4096 --steps 6 [--model 1B]
"""
import argparse, json, time

import torch
from transformers import OlmoConfig, OlmoForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--model", default="1B")
p.add_argument("--seq", type=int, default=4096)
p.add_argument("--steps", type=int, default=6)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--mb", default="auto")
p.add_argument("--peak", type=float, default=989e12)
a = p.parse_args()

presets = {
    "1B": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=16, num_key_value_heads=16, tie_word_embeddings=True),
    "7B": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32, tie_word_embeddings=False),
}
cfg = OlmoConfig(vocab_size=50304, max_position_embeddings=max(a.seq, 2048), rope_theta=10000.0, attention_bias=False,
                 clip_qkv=None, pad_token_id=1, bos_token_id=None, eos_token_id=50279, **presets[a.model])
cfg._attn_implementation = "sdpa"
dev = "cuda"
torch.manual_seed(0)
model = OlmoForCausalLM(cfg).to(dev)
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), eps=1e-5, weight_decay=0.1, fused=True)
L, d, V = cfg.num_hidden_layers, cfg.hidden_size, cfg.vocab_size
n_all = sum(p.numel() for p in model.parameters())
n_emb = model.model.embed_tokens.weight.numel()
fpt = 2 * (n_all - n_emb) + 4 * L * d * a.seq + 4 * n_all + 8 * L * d * a.seq
print(json.dumps({"stage": "init", "params": n_all, "flopsPerToken": fpt, "torch": torch.__version__, "attn": cfg._attn_implementation}), flush=True)


def step(mb):
    ids = torch.randint(0, V, (mb, a.seq), device=dev)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return out.loss


def fits(mb):
    try:
        step(mb).item()
        return True
    except torch.OutOfMemoryError:
        opt.zero_grad(set_to_none=True)
        torch.cuda.empty_cache()
        return False


if a.mb == "auto":
    mb = None
    for cand in (32, 16, 8, 4, 2, 1):
        t = time.time()
        ok = fits(cand)
        print(json.dumps({"stage": "fit", "mb": cand, "fits": ok, "seconds": time.time() - t}), flush=True)
        if ok:
            mb = cand
            break
    if mb is None:
        print(json.dumps({"error": "micro-batch 1 does not fit"}))
        raise SystemExit(3)
else:
    mb = int(a.mb)
torch.cuda.reset_peak_memory_stats()
times = []
for k in range(a.warmup + a.steps):
    torch.cuda.synchronize()
    t = time.time()
    loss = step(mb).item()
    torch.cuda.synchronize()
    dt = time.time() - t
    if k >= a.warmup:
        times.append(dt)
    print(json.dumps({"stage": "step", "k": k, "seconds": dt, "loss": loss}), flush=True)
times.sort()
med = times[len(times) // 2]
tok = mb * a.seq / med
print(json.dumps({"stage": "result", "impl": "pytorch", "model": a.model, "seq": a.seq, "microbatch": mb, "median_step_s": med, "tokens_per_s": tok,
                  "mfu": fpt * tok / a.peak, "mfu_formula": "flopsPerToken*tokens_per_s/peak", "peak_gpu_bytes": torch.cuda.max_memory_allocated()}), flush=True)

#!/usr/bin/env python3
"""PyTorch anchor for bench/train/amp.mjs: the shared anchor's OLMo model
(../shared/tools/anchors/torch_olmo_bench.py, untied LM head, foreach AdamW) trained with or without
PyTorch's own CPU mixed precision, torch.autocast('cpu', dtype=torch.bfloat16).

  /usr/bin/python3 bench/train/torch_amp.py ANCHOR_PATH tiny|small STEPS fp32|amp_bf16 [THREADS]

Runs one warm-up step, then STEPS timed steps (zero_grad, forward + loss, backward, clip 1.0, AdamW),
and prints a JSON list of the step times in seconds on its last line.
"""
import importlib.util
import json
import sys
import time

anchor_path, config, steps, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
sys.argv = [anchor_path, "--threads", str(threads)]  # the anchor parses its arguments on import
spec = importlib.util.spec_from_file_location("torch_olmo_bench", anchor_path)
anchor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(anchor)
torch, F = anchor.torch, anchor.F
torch.set_num_threads(threads)

cfg = anchor.CONFIGS[config]
torch.manual_seed(0)
model = anchor.OLMoRef(cfg["d_model"], cfg["n_layers"], cfg["n_heads"], cfg["mlp_hidden"], cfg["vocab"], cfg["seq"],
                       tied=False)
B, T, V = cfg["batch"], cfg["seq"], cfg["vocab"]
data = torch.randint(0, V, (B, T + 1), generator=torch.Generator().manual_seed(1))
idx, tgt = data[:, :-1].contiguous(), data[:, 1:].contiguous()
opt = torch.optim.AdamW(model.parameters(), lr=4e-4, betas=(0.9, 0.95), eps=1e-5, weight_decay=0.1, foreach=True)
amp = mode == "amp_bf16"
times = []
for step in range(1 + steps):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
        logits = model(idx)
    loss = F.cross_entropy(logits.float().view(-1, V), tgt.view(-1))  # the loss in float32, as under OLMo's amp
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if step > 0:
        times.append(time.perf_counter() - t0)
    del logits, loss
print(json.dumps(times))

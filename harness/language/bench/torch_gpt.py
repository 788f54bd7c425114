"""Optional PyTorch reference for `vpt bench`: the same GPT as harness/language/model/gpt.ts, trained the same way.

Not a runtime dependency of vpt: `vpt bench` runs it only when `python3 -c 'import torch'` works (Debian:
`apt-get install -y python3-torch libopenblas0-pthread`; without the pthread OpenBLAS, PyTorch falls back to
the reference BLAS and looks ~15x slower).

Model (matching vpt): token + learned position embeddings; per block pre-LayerNorm (eps 1e-5), separate
bias-free q/k/v projections, causal softmax attention with a -1e9 additive mask, output projection with bias,
pre-LayerNorm MLP D -> 4D -> D with biases and exact (erf) GELU; final LayerNorm; untied bias-free head.
Loss: masked next-token cross-entropy. Optimiser: AdamW (betas 0.9/0.95, decay 0.1 on matrices only) with
global-norm clipping at 1.0, as harness/optim/adamw.ts.

Prints one JSON object: per-step wall and process-CPU times (ms) of the timed steps, tokens per step,
parameter count, threads, peak RSS.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F


def build_params(V, T, L, D, gen):
    def normal(*shape, std=0.02):
        return (torch.randn(*shape, generator=gen) * std).requires_grad_()

    resid = 0.02 / math.sqrt(2 * L)
    p = {"wte": normal(V, D), "wpe": normal(T, D)}
    for i in range(L):
        h = f"h.{i}."
        p.update({
            h + "ln1.g": torch.ones(D, requires_grad=True), h + "ln1.b": torch.zeros(D, requires_grad=True),
            h + "attn.wq": normal(D, D), h + "attn.wk": normal(D, D), h + "attn.wv": normal(D, D),
            h + "attn.wo": normal(D, D, std=resid), h + "attn.bo": torch.zeros(D, requires_grad=True),
            h + "ln2.g": torch.ones(D, requires_grad=True), h + "ln2.b": torch.zeros(D, requires_grad=True),
            h + "mlp.w1": normal(D, 4 * D), h + "mlp.b1": torch.zeros(4 * D, requires_grad=True),
            h + "mlp.w2": normal(4 * D, D, std=resid), h + "mlp.b2": torch.zeros(D, requires_grad=True),
        })
    p.update({"ln_f.g": torch.ones(D, requires_grad=True), "ln_f.b": torch.zeros(D, requires_grad=True), "head.w": normal(D, V)})
    return p


def forward(p, ids, L, H):
    B, T = ids.shape
    D = p["wte"].shape[1]
    dh = D // H
    x = (p["wte"][ids] + p["wpe"][:T]).reshape(B * T, D)
    mask = torch.triu(torch.full((T, T), -1e9, device=ids.device), diagonal=1)
    for i in range(L):
        g = lambda n: p[f"h.{i}.{n}"]
        a = F.layer_norm(x, (D,), g("ln1.g"), g("ln1.b"), 1e-5)
        q = (a @ g("attn.wq")).reshape(B, T, H, dh).transpose(1, 2)
        k = (a @ g("attn.wk")).reshape(B, T, H, dh).transpose(1, 2)
        v = (a @ g("attn.wv")).reshape(B, T, H, dh).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + mask, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B * T, D)
        x = x + y @ g("attn.wo") + g("attn.bo")
        m = F.layer_norm(x, (D,), g("ln2.g"), g("ln2.b"), 1e-5)
        x = x + F.gelu(m @ g("mlp.w1") + g("mlp.b1")) @ g("mlp.w2") + g("mlp.b2")
    f = F.layer_norm(x, (D,), p["ln_f.g"], p["ln_f.b"], 1e-5)
    return f @ p["head.w"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--steps", type=int, default=20, help="timed steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu, or cuda (timed with torch.cuda.synchronize)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    gen = torch.Generator().manual_seed(a.seed)
    p = {n: t.detach().to(dev).requires_grad_() for n, t in build_params(a.vocab, a.seq, a.layers, a.width, gen).items()}
    decay = [t for n, t in p.items() if t.dim() >= 2]
    plain = [t for n, t in p.items() if t.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": plain, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=gen).to(dev)
    targets = torch.randint(0, a.vocab, (a.batch * a.seq,), generator=gen).to(dev)
    mask = (torch.rand(a.batch * a.seq, generator=gen) < 0.6).float().to(dev)
    times = []
    cpu = []
    loss = None
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        opt.zero_grad(set_to_none=True)
        logits = forward(p, ids, a.layers, a.heads)
        nll = F.cross_entropy(logits, targets, reduction="none")
        loss = (nll * mask).sum() / mask.sum().clamp(min=1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), 1.0)
        opt.step()
        sync()
        if s >= a.warmup:
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    print(json.dumps({
        "engine": f"pytorch {torch.__version__}" + (f" on {torch.cuda.get_device_name(dev)}" if dev.type == "cuda" else ""),
        "threads": torch.get_num_threads(),
        "params": sum(t.numel() for t in p.values()), "tokensPerStep": a.batch * a.seq,
        "stepMs": times, "stepCpuMs": cpu, "finalLoss": float(loss),
        "rssPeakBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()

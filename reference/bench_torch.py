"""The PyTorch half of `deno task bench`: the same protocol as
lib/bench/measure.ts on the same config, printed as one line of JSON.

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_NUM_THREADS=2 \\
      /usr/bin/python3 reference/bench_torch.py --config '{"vocab_size":2048,"n_positions":128,"n_embd":128,"n_layer":4,"n_head":4}'

Training: random ids, forward + mean cross-entropy + backward + AdamW;
`--warmup` untimed steps, then the median of `--train-steps` timed steps.
Generation: `--gen-new` tokens for `--gen-batch` random prompts with a KV
cache, multinomial sampling at temperature 1; `--gen-warmup` untimed runs, then
the median of `--gen-runs`. With `--profile`, the JSON also holds each op's
self CPU time (torch.profiler) per training step and per generation run.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from gpt2_ref import forward, init_params, loss_fn  # noqa: E402


def op_profile(run, repeats):
    """Self CPU time of every ATen op while `run()` runs (a training step, or one
    generation), per repeat: [{kernel, calls, ms}] largest first, and the
    wall time per repeat with the profiler on."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        run()
        wall_ms = (time.perf_counter() - start) * 1000 / repeats
    ops = [
        {"kernel": e.key, "calls": e.count / repeats, "ms": e.self_cpu_time_total / 1000 / repeats}
        for e in prof.key_averages()
        if e.self_cpu_time_total > 0
    ]
    return {"wall_ms": wall_ms, "ops": sorted(ops, key=lambda o: -o["ms"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--train-steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--gen-batch", type=int, default=8)
    ap.add_argument("--gen-prompt", type=int, default=8)
    ap.add_argument("--gen-new", type=int, default=64)
    ap.add_argument("--gen-warmup", type=int, default=1)
    ap.add_argument("--gen-runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true", help="also time every op (torch.profiler, self CPU time)")
    a = ap.parse_args()
    cfg = json.loads(a.config)
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(a.seed)
    params = init_params(cfg, g)
    V = cfg["vocab_size"]

    opt = torch.optim.AdamW(list(params.values()), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)

    def train_step():
        rows = torch.randint(0, V, (a.batch, a.seq + 1), generator=g)
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(forward(params, cfg, rows[:, :-1])[0], rows[:, 1:])
        loss.backward()
        opt.step()
        loss.item()
        return time.perf_counter() - start

    prompts = torch.randint(0, V, (a.gen_batch, a.gen_prompt), generator=g)

    @torch.no_grad()
    def generate():
        start = time.perf_counter()
        logits, cache = forward(params, cfg, prompts)
        for _ in range(a.gen_new):
            probs = torch.softmax(logits[:, -1, :], dim=-1)
            nxt = torch.multinomial(probs, 1, generator=g)
            logits, cache = forward(params, cfg, nxt, cache)
        return time.perf_counter() - start

    times = [train_step() for _ in range(a.warmup + a.train_steps)][a.warmup:]
    train_s = statistics.median(times)
    gen_times = [generate() for _ in range(a.gen_warmup + a.gen_runs)][a.gen_warmup:]
    gen_s = statistics.median(gen_times)
    profile = {}
    if a.profile:
        profile = {
            "train_profile": op_profile(lambda: [train_step() for _ in range(a.train_steps)], a.train_steps),
            "gen_profile": op_profile(generate, 1),
        }

    blas = "openblas" if "openblas" in os.environ.get("LD_LIBRARY_PATH", "") else "default (Debian reference BLAS unless OpenBLAS is linked)"
    if os.environ.get("OPENBLAS_CORETYPE"):
        blas += f" ({os.environ['OPENBLAS_CORETYPE']} kernels)"
    print(json.dumps({
        "train_tokens_per_s": a.batch * a.seq / train_s, "train_step_ms_median": train_s * 1000,
        "gen_tokens_per_s": a.gen_batch * a.gen_new / gen_s, "gen_ms_median": gen_s * 1000,
        "threads": a.threads, "torch": torch.__version__, "blas": blas,
        "params": sum(p.numel() for p in params.values()),
        **profile,
    }))


if __name__ == "__main__":
    main()

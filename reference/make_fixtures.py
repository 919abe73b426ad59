"""Makes the PyTorch parity fixtures in tests/fixtures/gpt2-tiny/ (llm.c style).

    /usr/bin/python3 reference/make_fixtures.py      (or: deno task fixtures)

Writes a tiny random GPT-2 in HF layout (config.json, model.safetensors with
the old-style attn.bias / attn.masked_bias buffers and keys without the
`transformer.` prefix, as the original `gpt2` hub file has them), and the
expected values: logits, loss, the gradient of every weight, and the losses
of 5 AdamW steps with gradient clipping.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from gpt2_ref import forward, init_params, loss_fn, save_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "gpt2-tiny")
CONFIG = {
    "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
    "vocab_size": 97, "n_positions": 32, "n_ctx": 32, "n_embd": 32, "n_layer": 2, "n_head": 4, "n_inner": None,
    "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, "layer_norm_epsilon": 1e-05,
    "initializer_range": 0.02, "bos_token_id": 96, "eos_token_id": 96, "scale_attn_weights": True,
    "tie_word_embeddings": True,
}
ADAMW = {"lr": 3e-3, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1,
         "decay": "2-D weights only (wte, wpe, c_attn, c_proj, c_fc weights); biases and LayerNorm have no decay",
         "grad_clip_norm": 1.0, "steps": 5}


def main():
    torch.manual_seed(1234)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(1234)
    cfg = CONFIG
    params = init_params(cfg, g)
    # A larger-than-GPT-2 init spreads the logits, so the parity test sees non-trivial values.
    with torch.no_grad():
        for name, p in params.items():
            if p.dim() == 2:
                p.mul_(5.0)
    B, T, V = 2, 16, cfg["vocab_size"]
    ids = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    os.makedirs(OUT, exist_ok=True)

    weights = {k: v.detach().clone() for k, v in params.items()}
    P = cfg["n_positions"]
    for i in range(cfg["n_layer"]):
        weights[f"h.{i}.attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
        weights[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_safetensors(os.path.join(OUT, "model.safetensors"), weights, {"format": "pt"})
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")

    logits, _ = forward(params, cfg, ids)
    loss = loss_fn(logits, targets)
    grads = torch.autograd.grad(loss, list(params.values()))

    # The KV cache gives the full forward's logits (self-check of the reference).
    with torch.no_grad():
        cache, steps = None, []
        for t in range(T):
            step_logits, cache = forward(params, cfg, ids[:, t:t + 1], cache)
            steps.append(step_logits)
        kv_err = (torch.cat(steps, 1) - logits).abs().max().item()
    assert kv_err <= 1e-5, f"KV cache mismatch {kv_err}"

    fixtures = {"input_ids": ids.int(), "targets": targets.int(), "logits": logits.detach()}
    for (name, _), gr in zip(params.items(), grads):
        fixtures[f"grad.{name}"] = gr
    save_safetensors(os.path.join(OUT, "fixtures.safetensors"), fixtures, {"torch": torch.__version__})

    # 5 AdamW steps on the same batch, clipping the global gradient norm first.
    decay = [p for p in params.values() if p.dim() >= 2]
    no_decay = [p for p in params.values() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": ADAMW["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=ADAMW["lr"], betas=tuple(ADAMW["betas"]), eps=ADAMW["eps"])
    losses, norms = [], []
    for _ in range(ADAMW["steps"]):
        opt.zero_grad()
        step_loss = loss_fn(forward(params, cfg, ids)[0], targets)
        step_loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(list(params.values()), ADAMW["grad_clip_norm"]).item())
        opt.step()
        losses.append(step_loss.item())

    summary = {"loss": loss.item(), "adamw": ADAMW, "losses": losses, "grad_norms": norms,
               "max_abs_logit": logits.abs().max().item(), "kv_cache_max_abs_err": kv_err, "torch": torch.__version__}
    with open(os.path.join(OUT, "fixtures.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

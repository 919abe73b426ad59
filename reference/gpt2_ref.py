"""A reference GPT-2 in PyTorch, written for this project from the GPT-2 paper
and the semantics of Hugging Face GPT2LMHeadModel (not copied from either).

Weights live in a plain dict keyed by HF names without the `transformer.`
prefix (`wte.weight`, `h.0.attn.c_attn.weight`, ...), Conv1D weights as
[in, out], so the same safetensors file feeds this model and the TypeScript
one. No dropout: this model is for parity checks and benchmarks.
"""
import json
import math
import struct

import torch


def gelu_new(x):
    """GELU, tanh approximation (HF "gelu_new")."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def param_shapes(cfg):
    """HF GPT-2 weight names and shapes, in the order of the TypeScript model."""
    C, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    shapes = {"wte.weight": [V, C], "wpe.weight": [P, C]}
    for i in range(cfg["n_layer"]):
        h = f"h.{i}"
        shapes.update({
            f"{h}.ln_1.weight": [C], f"{h}.ln_1.bias": [C],
            f"{h}.attn.c_attn.weight": [C, 3 * C], f"{h}.attn.c_attn.bias": [3 * C],
            f"{h}.attn.c_proj.weight": [C, C], f"{h}.attn.c_proj.bias": [C],
            f"{h}.ln_2.weight": [C], f"{h}.ln_2.bias": [C],
            f"{h}.mlp.c_fc.weight": [C, 4 * C], f"{h}.mlp.c_fc.bias": [4 * C],
            f"{h}.mlp.c_proj.weight": [4 * C, C], f"{h}.mlp.c_proj.bias": [C],
        })
    shapes.update({"ln_f.weight": [C], "ln_f.bias": [C]})
    return shapes


def init_params(cfg, generator):
    """GPT-2 init: N(0, 0.02) weights/embeddings, zero biases, LayerNorm 1/0,
    residual projections scaled by 1/sqrt(2 * n_layer)."""
    std = cfg.get("initializer_range", 0.02)
    params = {}
    for name, shape in param_shapes(cfg).items():
        if name.endswith(("ln_1.weight", "ln_2.weight")) or name == "ln_f.weight":
            t = torch.ones(shape)
        elif name.endswith(".bias"):
            t = torch.zeros(shape)
        else:
            s = std / math.sqrt(2 * cfg["n_layer"]) if name.endswith(("attn.c_proj.weight", "mlp.c_proj.weight")) else std
            t = torch.randn(shape, generator=generator) * s
        params[name] = t.float().requires_grad_(True)
    return params


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def block(params, i, x, cfg, past=None):
    """One pre-LayerNorm transformer block. Returns (x, (k, v))."""
    p = lambda n: params[f"h.{i}.{n}"]
    B, T, C = x.shape
    nh = cfg["n_head"]
    hs = C // nh
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    h = layer_norm(x, p("ln_1.weight"), p("ln_1.bias"), eps)
    qkv = h @ p("attn.c_attn.weight") + p("attn.c_attn.bias")          # [B, T, 3C]
    q, k, v = qkv.split(C, dim=2)
    q, k, v = (t.view(B, T, nh, hs).transpose(1, 2) for t in (q, k, v))  # [B, nh, T, hs]
    if past is not None:
        k = torch.cat([past[0], k], dim=2)
        v = torch.cat([past[1], v], dim=2)
    S = k.shape[2]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)                  # [B, nh, T, S]
    allowed = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)   # query i sees keys ≤ past + i
    scores = scores.masked_fill(~allowed, float("-inf"))
    y = torch.softmax(scores, dim=-1) @ v                               # [B, nh, T, hs]
    y = y.transpose(1, 2).reshape(B, T, C)
    x = x + (y @ p("attn.c_proj.weight") + p("attn.c_proj.bias"))
    h = layer_norm(x, p("ln_2.weight"), p("ln_2.bias"), eps)
    h = gelu_new(h @ p("mlp.c_fc.weight") + p("mlp.c_fc.bias"))
    x = x + (h @ p("mlp.c_proj.weight") + p("mlp.c_proj.bias"))
    return x, (k, v)


def forward(params, cfg, ids, cache=None):
    """Logits [B, T, V] for int64 ids [B, T]; with a cache, ids continue it.
    Returns (logits, new_cache)."""
    B, T = ids.shape
    past = 0 if cache is None else cache[0][0].shape[2]
    pos = torch.arange(past, past + T)
    x = params["wte.weight"][ids] + params["wpe.weight"][pos]
    new_cache = []
    for i in range(cfg["n_layer"]):
        x, kv = block(params, i, x, cfg, None if cache is None else cache[i])
        new_cache.append(kv)
    x = layer_norm(x, params["ln_f.weight"], params["ln_f.bias"], cfg.get("layer_norm_epsilon", 1e-5))
    return x @ params["wte.weight"].T, new_cache


def loss_fn(logits, targets):
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


# --- safetensors, by hand (8-byte header length, JSON header, raw little-endian bytes) ---

_DTYPES = {torch.float32: ("F32", "<f4"), torch.int32: ("I32", "<i4"), torch.bfloat16: ("BF16", None)}


def _raw_bytes(t):
    """Little-endian bytes of a tensor; bfloat16 (which numpy lacks) as its 16-bit patterns."""
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(_DTYPES[t.dtype][1]).tobytes()


def save_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        dtype, _ = _DTYPES[t.dtype]
        raw = _raw_bytes(t)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        np_dtype = {"F32": "<f4", "I32": "<i4"}[e["dtype"]]
        b, end = e["data_offsets"]
        arr = np.frombuffer(data[8 + n + b: 8 + n + end], dtype=np_dtype).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def load_pretrained(dirname):
    """Loads an HF-layout GPT-2 directory (config.json + model.safetensors)."""
    with open(f"{dirname}/config.json") as f:
        cfg = json.load(f)
    raw = load_safetensors(f"{dirname}/model.safetensors")
    params = {}
    for name, t in raw.items():
        name = name[len("transformer."):] if name.startswith("transformer.") else name
        if name.endswith(("attn.bias", "attn.masked_bias")) and name.count(".") == 3 or name == "lm_head.weight":
            continue
        params[name] = t.float().requires_grad_(True)
    return cfg, params

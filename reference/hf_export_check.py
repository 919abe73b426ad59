"""Reads a directory written by `deno task export` the way the Hugging Face
classes the engines use read it, by the tensor names and config fields those
classes look up, and prints what they would compute, as JSON. Used by
tests/export_models_test.ts; needs only PyTorch (reference/gpt2_ref.py is the
GPT-2 body).

    /usr/bin/python3 reference/hf_export_check.py lm|sequence|token DIR '[[ids], ...]'

- lm: GPT2LMHeadModel, logits of each sequence (tied head: the logits are
  h @ transformer.wte.weight.T).
- sequence: GPT2ForSequenceClassification, score = h @ score.weight.T (no bias)
  at the last token that is not config.pad_token_id (right-padded batch), as
  transformers computes it; also OpenRLHF's (score - config.mean) / config.std.
- token: GPT2ForTokenClassification as verl reads it, classifier.weight and
  classifier.bias at every position, taken at the last position of the
  attention mask (verl/workers/fsdp_workers.py, `eos_mask_idx`).
A tensor name the class does not have, or a missing one, is an error here:
from_pretrained would only warn and leave a head at random.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from gpt2_ref import block, layer_norm, load_safetensors, param_shapes  # noqa: E402

HEADS = {"lm": {}, "sequence": {"score.weight": "[1, C]"}, "token": {"classifier.weight": "[1, C]", "classifier.bias": "[1]"}}
ARCHITECTURES = {"lm": "GPT2LMHeadModel", "sequence": "GPT2ForSequenceClassification", "token": "GPT2ForTokenClassification"}


def load(kind, dirname):
    with open(f"{dirname}/config.json") as f:
        cfg = json.load(f)
    if cfg.get("architectures") != [ARCHITECTURES[kind]]:
        raise SystemExit(f"config.json: architectures {cfg.get('architectures')}, expected [{ARCHITECTURES[kind]}]")
    if kind != "lm" and (cfg.get("num_labels") != 1 or not isinstance(cfg.get("pad_token_id"), int)):
        raise SystemExit("config.json: a reward model needs num_labels 1 and an integer pad_token_id")
    raw = load_safetensors(f"{dirname}/model.safetensors")
    body = {"transformer." + name for name in param_shapes(cfg)}
    expected = body | set(HEADS[kind])
    if set(raw) != expected:
        raise SystemExit(f"model.safetensors: unexpected {sorted(set(raw) - expected)}, missing {sorted(expected - set(raw))}")
    params = {name[len("transformer."):]: t.float() for name, t in raw.items() if name in body}
    return cfg, params, {name: raw[name].float() for name in HEADS[kind]}


def hidden(params, cfg, ids):
    """GPT2Model's last hidden state [B, T, C] (no attention mask: right padding never reaches a real token)."""
    B, T = ids.shape
    x = params["wte.weight"][ids] + params["wpe.weight"][torch.arange(T)]
    for i in range(cfg["n_layer"]):
        x, _ = block(params, i, x, cfg)
    return layer_norm(x, params["ln_f.weight"], params["ln_f.bias"], cfg.get("layer_norm_epsilon", 1e-5))


def main():
    kind, dirname, rows = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    cfg, params, head = load(kind, dirname)
    with torch.no_grad():
        if kind == "lm":
            out = [(hidden(params, cfg, torch.tensor([r])) @ params["wte.weight"].T).flatten().tolist() for r in rows]
            print(json.dumps({"logits": out}))
            return
        pad = cfg["pad_token_id"]
        T = max(len(r) for r in rows)
        ids = torch.tensor([r + [pad] * (T - len(r)) for r in rows])
        h = hidden(params, cfg, ids)
        if kind == "sequence":
            per_token = (h @ head["score.weight"].T).squeeze(-1)  # [B, T]
            # transformers: the last token that is not pad_token_id
            last = (torch.ne(ids, pad).int() * torch.arange(T)).argmax(-1)
            score = per_token[torch.arange(len(rows)), last]
            mean, std = cfg.get("mean", 0.0), cfg.get("std", 1.0)
            print(json.dumps({"scores": score.tolist(), "openrlhf": ((score - mean) / std).tolist()}))
        else:
            per_token = (h @ head["classifier.weight"].T + head["classifier.bias"]).squeeze(-1)  # [B, T]
            mask = torch.ne(ids, pad).long()
            position_ids = mask.cumsum(-1) - 1
            last = torch.argmax(position_ids * mask, dim=-1)  # verl's eos_mask_idx
            print(json.dumps({"scores": per_token[torch.arange(len(rows)), last].tolist()}))


main()

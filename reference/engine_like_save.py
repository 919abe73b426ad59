"""Writes what an engine's `save_pretrained` leaves after training a policy
from the export bundle: the weights moved a little, stored in bfloat16 with
`transformer.`-prefixed names and the tied `lm_head.weight`, config.json with
`torch_dtype` "bfloat16", the fast tokenizer's files and no vocab.txt. Prints
the logits of the saved (bfloat16-rounded) weights for the given ids, so that
tests/policy_rows_test.ts can check that this project reads such a directory
back exactly. Needs only PyTorch.

    /usr/bin/python3 reference/engine_like_save.py SRC OUT SEED '[[ids], ...]'
"""
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from gpt2_ref import forward, load_pretrained, save_safetensors  # noqa: E402


def main():
    src, out, seed, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    cfg, params = load_pretrained(src)
    g = torch.Generator().manual_seed(seed)
    moved = {n: (t.detach() + 0.05 * torch.randn(t.shape, generator=g)).to(torch.bfloat16).float() for n, t in params.items()}
    os.makedirs(out, exist_ok=True)
    tensors = {"transformer." + n: t for n, t in moved.items()}
    tensors["lm_head.weight"] = moved["wte.weight"]
    save_safetensors(f"{out}/model.safetensors", {n: t.to(torch.bfloat16) for n, t in tensors.items()}, {"format": "pt"})
    with open(f"{out}/config.json", "w") as f:
        json.dump({**cfg, "torch_dtype": "bfloat16", "transformers_version": "4.57.0"}, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"):
        shutil.copy(f"{src}/{name}", f"{out}/{name}")
    with torch.no_grad():
        logits = [forward(moved, cfg, torch.tensor([r]))[0].flatten().tolist() for r in rows]
    print(json.dumps({"logits": logits}))


main()

"""Makes the pytorch_model.bin fixtures of tests/torch_pickle_test.ts with PyTorch's own torch.save.

    /usr/bin/python3 reference/make_torch_bin_fixtures.py

- gpt2-tiny-bin/ and gpt2-tiny-bin-legacy/: the weights of tests/fixtures/gpt2-tiny/model.safetensors
  as HF's GPT2LMHeadModel.state_dict() names them ("transformer." prefix, the attn.bias causal-mask
  buffers, the tied lm_head.weight), saved in the zip format and in the legacy format;
- mixed.bin + mixed.json: tensors of every supported dtype, a transposed (non-contiguous) view and two
  views sharing one storage, with their values;
- torch-evil.bin (a bare pickle) and torch-evil-zip.bin (written by torch.save): pickles that name os.system
  (a load that ran them would run a shell command).
"""
import json
import os
import pickle
import struct

import torch

HERE = os.path.dirname(__file__)
FIX = os.path.join(HERE, "..", "tests", "fixtures")


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        assert e["dtype"] == "F32"
        out[name] = torch.frombuffer(bytearray(raw[8 + n + b:8 + n + end]), dtype=torch.float32).reshape(e["shape"]).clone()
    return out


def main():
    weights = read_safetensors(os.path.join(FIX, "gpt2-tiny", "model.safetensors"))
    config = json.load(open(os.path.join(FIX, "gpt2-tiny", "config.json")))
    state = {}
    for name, t in weights.items():
        state[name if name.startswith("transformer.") else "transformer." + name] = t
    n_pos = config["n_positions"]
    for i in range(config["n_layer"]):
        state[f"transformer.h.{i}.attn.bias"] = torch.tril(torch.ones(n_pos, n_pos)).view(1, 1, n_pos, n_pos)
    state["lm_head.weight"] = state["transformer.wte.weight"]
    for folder, zipped in (("gpt2-tiny-bin", True), ("gpt2-tiny-bin-legacy", False)):
        out = os.path.join(FIX, folder)
        os.makedirs(out, exist_ok=True)
        torch.save(state, os.path.join(out, "pytorch_model.bin"), _use_new_zipfile_serialization=zipped)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(config, f, indent=2)

    g = torch.Generator().manual_seed(7)
    base = torch.randn(3, 4, generator=g)
    shared = torch.arange(10, dtype=torch.float32)
    mixed = {
        "f32": torch.randn(2, 3, generator=g),
        "f16": torch.randn(5, generator=g).half(),
        "bf16": torch.randn(4, generator=g).bfloat16(),
        "f64": torch.randn(2, generator=g).double(),
        "i64": torch.arange(-3, 3),
        "transposed": base.t(),
        "shared_a": shared[2:5],
        "shared_b": shared[5:].view(5, 1),
    }
    torch.save(mixed, os.path.join(FIX, "torch-mixed.bin"))
    with open(os.path.join(FIX, "torch-mixed.json"), "w") as f:
        json.dump({k: {"shape": list(v.shape), "values": v.float().flatten().tolist()} for k, v in mixed.items()}, f)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo this file would run a command",))

    with open(os.path.join(FIX, "torch-evil.bin"), "wb") as f:
        pickle.dump({"x": Evil()}, f, protocol=2)
    torch.save({"x": Evil()}, os.path.join(FIX, "torch-evil-zip.bin"))


if __name__ == "__main__":
    main()

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


def uer_tiny():
    """A tiny random GPT-2 in exactly the layout of uer/gpt2-chinese-cluecorpussmall: config.json with uer's
    fields, a BERT-Chinese vocab.txt ([PAD], [unused1..99], [UNK], [CLS], [SEP], [MASK], then characters: here
    the 1,000 most frequent of the bundled poems), and only pytorch_model.bin (torch.save of the state dict)."""
    from collections import Counter
    counts = Counter()
    with open(os.path.join(HERE, "..", "data", "poetry-zh", "poems.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                p = json.loads(line)
                counts.update(p["title"] + "".join(p["lines"]))
    chars = [c for c, _ in counts.most_common() if c not in "[]"][:1000]
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars
    config = {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1, "embd_pdrop": 0.1,
        "gradient_checkpointing": False, "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "gpt2",
        "n_ctx": 128, "n_embd": 16, "n_head": 2, "n_inner": None, "n_layer": 1, "n_positions": 128, "output_past": True,
        "resid_pdrop": 0.1, "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
        "summary_type": "cls_index", "summary_use_proj": True, "tokenizer_class": "BertTokenizer",
        "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 320}}, "vocab_size": len(vocab),
    }
    g = torch.Generator().manual_seed(21128)
    C, V, T = 16, len(vocab), 128
    n = lambda *shape: torch.randn(*shape, generator=g) * 0.02  # noqa: E731
    state = {"transformer.wte.weight": n(V, C), "transformer.wpe.weight": n(T, C)}
    h = "transformer.h.0."
    state.update({
        h + "ln_1.weight": torch.ones(C), h + "ln_1.bias": torch.zeros(C),
        h + "attn.bias": torch.tril(torch.ones(T, T)).view(1, 1, T, T), h + "attn.masked_bias": torch.tensor(-1e4),
        h + "attn.c_attn.weight": n(C, 3 * C), h + "attn.c_attn.bias": torch.zeros(3 * C),
        h + "attn.c_proj.weight": n(C, C), h + "attn.c_proj.bias": torch.zeros(C),
        h + "ln_2.weight": torch.ones(C), h + "ln_2.bias": torch.zeros(C),
        h + "mlp.c_fc.weight": n(C, 4 * C), h + "mlp.c_fc.bias": torch.zeros(4 * C),
        h + "mlp.c_proj.weight": n(4 * C, C), h + "mlp.c_proj.bias": torch.zeros(C),
        "transformer.ln_f.weight": torch.ones(C), "transformer.ln_f.bias": torch.zeros(C),
    })
    state["lm_head.weight"] = state["transformer.wte.weight"]
    out = os.path.join(FIX, "uer-tiny")
    os.makedirs(out, exist_ok=True)
    torch.save(state, os.path.join(out, "pytorch_model.bin"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")


if __name__ == "__main__":
    uer_tiny()
    main()

"""Prints the logits the PyTorch reference computes for a checkpoint directory
written by the TypeScript side (HF layout), as JSON: used by
tests/torch_reads_our_checkpoint_test.ts to check our files load elsewhere.

    /usr/bin/python3 reference/logits_of_checkpoint.py DIR '[[1, 2, 3]]'
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from gpt2_ref import forward, load_pretrained  # noqa: E402

cfg, params = load_pretrained(sys.argv[1])
ids = torch.tensor(json.loads(sys.argv[2]), dtype=torch.long)
with torch.no_grad():
    logits, _ = forward(params, cfg, ids)
print(json.dumps({"keys": len(params), "logits": logits.flatten().tolist()}))

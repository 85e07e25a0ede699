#!/usr/bin/env python3
"""Golden fixture for rlft's optimiser pieces: torch.optim.AdamW driven by
transformers.get_cosine_schedule_with_warmup and torch.nn.utils.clip_grad_norm_ over three
parameters for eight steps. Writes tests/optim/golden/adamw_torch.json with the initial values,
the gradient of every step, and after every step the learning rate used, the pre-clipping
gradient norm and the parameter values.

Usage: python3 tools/make_golden_optim.py [output file]   (needs torch and transformers)
"""
import json
import os
import sys

import torch
from transformers import get_cosine_schedule_with_warmup


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "optim",
                                                              "golden", "adamw_torch.json")
    generator = torch.Generator().manual_seed(7)
    shapes = {"weight": (5,), "bias": (3,), "scale": (1,)}
    parameters = {name: torch.nn.Parameter(torch.randn(shape, generator=generator)) for name, shape in shapes.items()}
    initial = {name: p.detach().tolist() for name, p in parameters.items()}
    optimizer = torch.optim.AdamW(parameters.values(), lr=0.05, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    # transformers' schedule decays to 0; rlft's floor is 0 here too.
    schedule = get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=3, num_training_steps=8)
    steps = []
    for step in range(8):
        gradients = {name: (2.0 * torch.randn(p.shape, generator=generator)) for name, p in parameters.items()}
        for name, p in parameters.items():
            p.grad = gradients[name].clone()
        norm = torch.nn.utils.clip_grad_norm_(list(parameters.values()), max_norm=1.0)
        learning_rate = optimizer.param_groups[0]["lr"]
        optimizer.step()
        schedule.step()
        steps.append({"gradients": {name: g.tolist() for name, g in gradients.items()},
                      "learning_rate": learning_rate, "norm": norm.item(),
                      "values": {name: p.detach().tolist() for name, p in parameters.items()}})
    with open(out, "w") as f:
        json.dump({"names": list(shapes), "initial": initial, "peak_learning_rate": 0.05, "warmup_steps": 3,
                   "total_steps": 8, "betas": [0.9, 0.95], "epsilon": 1e-8, "weight_decay": 0.1, "max_norm": 1.0,
                   "steps": steps}, f, indent=1)


if __name__ == "__main__":
    main()

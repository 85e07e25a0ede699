#!/usr/bin/env python3
"""Golden fixtures for the reference transformer's scalar head (reward and value models).

Builds a tiny random Qwen2ForSequenceClassification and LlamaForSequenceClassification with
num_labels = 1 (fp32, eager attention) and writes, for each, into
tests/transformer/golden/<name>_score/:
  config.json, model.safetensors   the checkpoint as transformers saves it (Qwen2 in BF16, Llama
                                   in F16 with tied embeddings; the reference computation uses
                                   exactly the rounded weights)
  batch.json                       a ragged batch: token ids, CSR offsets, and the weights of
                                   the loss L = sum_t dvalues_t * value_t
  golden.safetensors               values [tokens] (the score head on every token's final hidden
                                   state, as TRL and veRL read a value model), scores [sequences]
                                   (transformers' pooled output: the last token's value), loss [1]
                                   and "grad/<parameter name>" for every parameter

With --check DIRECTORY it instead loads a scalar-head checkpoint that rlft saved from the Qwen2
fixture (AutoModelForSequenceClassification) and compares its per-token values on the fixture's
batch with the golden values.

Usage: python3 tools/make_golden_score_model.py [output directory | --check DIRECTORY]
Needs: pip install torch transformers safetensors (CPU is enough).
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import (AutoModelForSequenceClassification, LlamaConfig, LlamaForSequenceClassification,
                          Qwen2Config, Qwen2ForSequenceClassification)

from make_golden_transformer import randomise  # the same weight scales as the language-model fixtures

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "transformer", "golden")


def token_values(model, sequence):
    """The score head on every token's final hidden state (TRL's and veRL's value read)."""
    hidden = model.model(input_ids=sequence[None, :]).last_hidden_state
    return model.score(hidden)[0, :, 0]


def build(name, model_class, config, storage_dtype, lengths, seed, root):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    config._attn_implementation = "eager"
    config.num_labels = 1
    model = model_class(config).float().eval()
    randomise(model, generator)
    with torch.no_grad():  # the reference runs on exactly the values the checkpoint stores
        for parameter in model.parameters():
            parameter.copy_(parameter.to(storage_dtype).to(torch.float32))

    out = os.path.join(root, name)
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    # save_pretrained writes float32; store the rounded weights in the half-precision dtype.
    state = {k: v.detach().to(storage_dtype).contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, "config.json")) as f:
        saved = json.load(f)
    saved["dtype"] = str(storage_dtype).removeprefix("torch.")
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(saved, f, indent=2)

    vocab = config.vocab_size
    sequences = [torch.randint(0, vocab, (n,), generator=generator) for n in lengths]
    offsets = [0]
    for n in lengths:
        offsets.append(offsets[-1] + n)
    dvalues = torch.randn(int(offsets[-1]), generator=generator)

    values = torch.cat([token_values(model, sequence) for sequence in sequences])
    # Batches of one: transformers pools the last token when no padding token is configured.
    scores = torch.stack([model(input_ids=sequence[None, :]).logits[0, 0] for sequence in sequences])
    loss = (dvalues * values).sum()
    model.zero_grad()
    loss.backward()

    golden = {"values": values.detach().contiguous(), "scores": scores.detach().contiguous(),
              "loss": loss.detach().reshape(1)}
    for parameter_name, parameter in model.named_parameters():
        golden["grad/" + parameter_name] = parameter.grad.detach().contiguous()
    save_file(golden, os.path.join(out, "golden.safetensors"))
    with open(os.path.join(out, "batch.json"), "w") as f:
        json.dump({"tokens": torch.cat(sequences).tolist(), "offsets": offsets, "dvalues": dvalues.tolist()}, f)
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, scores {scores.tolist()}")


def check(directory):
    """transformers reads a scalar-head model rlft saved from the Qwen2 fixture."""
    from safetensors.torch import load_file
    model = AutoModelForSequenceClassification.from_pretrained(directory, attn_implementation="eager").float().eval()
    fixture = os.path.join(GOLDEN, "qwen2_score")
    with open(os.path.join(fixture, "batch.json")) as f:
        batch = json.load(f)
    tokens, offsets = torch.tensor(batch["tokens"]), batch["offsets"]
    with torch.no_grad():
        values = torch.cat([token_values(model, tokens[b:e]) for b, e in zip(offsets[:-1], offsets[1:])])
    expected = load_file(os.path.join(fixture, "golden.safetensors"))["values"]
    error = ((values - expected).norm() / expected.norm()).item()
    print(f"{type(model).__name__} from {directory}: relative error of the values {error:.2e}")
    sys.exit(0 if error <= 1e-5 else 1)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
        return
    root = sys.argv[1] if len(sys.argv) > 1 else GOLDEN
    torch.set_num_threads(1)
    qwen2 = Qwen2Config(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6,
                        rope_theta=10000.0, tie_word_embeddings=False, max_position_embeddings=128)
    build("qwen2_score", Qwen2ForSequenceClassification, qwen2, torch.bfloat16, lengths=[7, 12, 1, 5], seed=2345,
          root=root)
    llama = LlamaConfig(vocab_size=256, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=1, rms_norm_eps=1e-5,
                        rope_theta=500.0, tie_word_embeddings=True, attention_bias=False,
                        max_position_embeddings=128)
    build("llama_score", LlamaForSequenceClassification, llama, torch.float16, lengths=[9, 3, 14], seed=5432,
          root=root)


if __name__ == "__main__":
    main()

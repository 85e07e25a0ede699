#!/usr/bin/env python3
"""Makes the model of bench/run_hf_model_bench: a Qwen2ForCausalLM shaped as Qwen2.5-0.5B
(hidden 896, MLP 4864, 24 layers, 14 heads / 2 KV heads, head_dim 64, vocabulary 151936, q/k/v
biases, tied embeddings, rope_theta 1e6, RMSNorm eps 1e-6) with random weights, stored in BF16
("torch_dtype": "bfloat16") by save_pretrained as one model.safetensors, with a
generation_config.json. Seeded: the same files on every run of the same versions. The model is
made at run time and never committed (about 1 GB).

Usage: python3 make_model.py OUTPUT_DIR [--layers N]   (--layers 2: a quick check of the bench)
Needs: torch, transformers (4.57), safetensors.
"""
import argparse
import json
import os

import torch
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output")
    parser.add_argument("--layers", type=int, default=24, help="decoder layers (Qwen2.5-0.5B: 24)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    config = Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=args.layers,
                         num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                         rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False,
                         bos_token_id=151643, eos_token_id=151643, torch_dtype="bfloat16")
    model = Qwen2ForCausalLM(config)  # initialised in fp32 (normal, std 0.02), then stored in BF16
    model = model.to(torch.bfloat16)
    model.generation_config = GenerationConfig(bos_token_id=151643, eos_token_id=151643, pad_token_id=151643,
                                               max_new_tokens=128)
    os.makedirs(args.output, exist_ok=True)
    model.save_pretrained(args.output, safe_serialization=True, max_shard_size="10GB")
    # Real Qwen2.5 checkpoints name the dtype "torch_dtype" (transformers 4.56 and later write "dtype").
    config_path = os.path.join(args.output, "config.json")
    with open(config_path) as f:
        saved = json.load(f)
    saved = {("torch_dtype" if key == "dtype" else key): value for key, value in saved.items()}
    with open(config_path, "w") as f:
        json.dump(saved, f, indent=2, sort_keys=True)
        f.write("\n")
    parameters = sum(p.numel() for p in model.parameters())
    print(f"{args.output}: Qwen2.5-0.5B shape, {args.layers} layers, {parameters} parameters, BF16")


if __name__ == "__main__":
    main()

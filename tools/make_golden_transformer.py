#!/usr/bin/env python3
"""Golden fixtures for the reference transformer (examples/transformer), the llm.c way.

Builds two tiny random Hugging Face models with transformers and PyTorch (fp32, eager
attention) and writes, for each, into tests/transformer/golden/<name>/:
  config.json, model.safetensors   the checkpoint (Qwen2 stored in BF16, Llama in F16, so both
                                   half-precision readers are exercised; the fp32 reference
                                   computation uses exactly the rounded weights)
  batch.json                       a ragged batch: token ids, CSR offsets, and the weights of
                                   the loss L = sum_t dlogp_t * logp_t + dentropy_t * entropy_t
  golden.safetensors               logits [tokens, vocab], logprobs [tokens], entropy [tokens],
                                   loss [1] and "grad/<parameter name>" for every parameter
Entry t of the per-token arrays belongs to token t of its sequence, predicted from tokens < t
(entry 0 of each sequence is 0), which is rlft's layout.

Usage: python3 tools/make_golden_transformer.py [output directory]
Needs: pip install torch transformers safetensors (CPU is enough).
"""
import json
import math
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM


def randomise(model, generator):
    """Weights large enough that attention and the softmax are far from uniform."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("norm.weight"):
                parameter.copy_(1.0 + 0.1 * torch.randn(parameter.shape, generator=generator))
            elif name.endswith(".bias"):
                parameter.copy_(0.1 * torch.randn(parameter.shape, generator=generator))
            elif "embed_tokens" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
            else:
                fan_in = parameter.shape[1]
                parameter.copy_(1.5 * torch.randn(parameter.shape, generator=generator) / math.sqrt(fan_in))


def build(name, model_class, config, storage_dtype, lengths, seed, root):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    config._attn_implementation = "eager"
    model = model_class(config).float().eval()
    randomise(model, generator)
    with torch.no_grad():  # the reference runs on exactly the values the checkpoint stores
        for parameter in model.parameters():
            parameter.copy_(parameter.to(storage_dtype).to(torch.float32))

    out = os.path.join(root, name)
    os.makedirs(out, exist_ok=True)
    config.save_pretrained(out)
    state = {k: v.detach().to(storage_dtype).contiguous() for k, v in model.state_dict().items()}
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})

    vocab = config.vocab_size
    sequences = [torch.randint(0, vocab, (n,), generator=generator) for n in lengths]
    offsets = [0]
    for n in lengths:
        offsets.append(offsets[-1] + n)
    tokens = int(offsets[-1])
    dlogp = torch.randn(tokens, generator=generator)
    dentropy = 0.5 * torch.randn(tokens, generator=generator)
    for begin in offsets[:-1]:
        dlogp[begin] = 0.0
        dentropy[begin] = 0.0

    logits_rows, logprob_rows, entropy_rows = [], [], []
    for sequence in sequences:
        logits = model(input_ids=sequence[None, :]).logits[0]  # [n, vocab]
        logsoftmax = torch.log_softmax(logits, dim=-1)
        entropy = -(logsoftmax.exp() * logsoftmax).sum(-1)
        # Row t predicts token t + 1: shift into rlft's layout (entry 0 = 0).
        logprob = torch.zeros(len(sequence))
        logprob[1:] = logsoftmax[:-1].gather(1, sequence[1:, None])[:, 0]
        shifted_entropy = torch.zeros(len(sequence))
        shifted_entropy[1:] = entropy[:-1]
        logits_rows.append(logits)
        logprob_rows.append(logprob)
        entropy_rows.append(shifted_entropy)
    logits = torch.cat(logits_rows)
    logprobs = torch.cat(logprob_rows)
    entropies = torch.cat(entropy_rows)
    loss = (dlogp * logprobs).sum() + (dentropy * entropies).sum()
    model.zero_grad()
    loss.backward()

    golden = {
        "logits": logits.detach().contiguous(),
        "logprobs": logprobs.detach().contiguous(),
        "entropy": entropies.detach().contiguous(),
        "loss": loss.detach().reshape(1),
    }
    for parameter_name, parameter in model.named_parameters():
        golden["grad/" + parameter_name] = parameter.grad.detach().contiguous()
    save_file(golden, os.path.join(out, "golden.safetensors"))
    with open(os.path.join(out, "batch.json"), "w") as f:
        json.dump({"tokens": torch.cat(sequences).tolist(), "offsets": offsets,
                   "dlogp": dlogp.tolist(), "dentropy": dentropy.tolist()}, f)
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, {tokens} tokens, loss {loss.item():.6f}")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests",
                                                               "transformer", "golden")
    torch.set_num_threads(1)
    qwen2 = Qwen2Config(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6,
                        rope_theta=10000.0, tie_word_embeddings=False, max_position_embeddings=128)
    build("qwen2", Qwen2ForCausalLM, qwen2, torch.bfloat16, lengths=[7, 12, 1, 5], seed=1234, root=root)
    llama = LlamaConfig(vocab_size=256, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=1, rms_norm_eps=1e-5,
                        rope_theta=500.0, tie_word_embeddings=True, attention_bias=False,
                        max_position_embeddings=128)
    build("llama", LlamaForCausalLM, llama, torch.float16, lengths=[9, 3, 14], seed=4321, root=root)


if __name__ == "__main__":
    main()

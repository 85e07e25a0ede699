#!/usr/bin/env python3
"""The PyTorch peer of bench/transformer/transformer_bench.cpp: the same toy Qwen2 (4 layers,
hidden 256, 4 heads / 2 KV heads, MLP 768, vocab 128, q/k/v bias, untied head; 3.2M parameters)
built with transformers in fp32 on the CPU, timed on the same workloads:
  train_step  16 x 256 random tokens: log-softmax, gather, mean log-prob loss, backward, AdamW
  decode      8 prompts of 32 tokens x 8 samples each, 128 new tokens, plain sampling (KV cache)
Prints one JSON line per workload (median wall and process CPU seconds of the timed runs after
a warm-up, tokens/s, peak resident memory of the process).

Usage: python3 torch_peer.py [threads]   (bench/run_transformer_bench installs torch in .venv)
"""
import json
import resource
import statistics
import sys
import time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=128, hidden_size=256, intermediate_size=768, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False,
                         max_position_embeddings=512)
    config._attn_implementation = "sdpa"
    model = Qwen2ForCausalLM(config).float()
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    tokens = torch.randint(0, 128, (16, 256))

    def train_step():
        optimizer.zero_grad(set_to_none=False)
        logits = model(input_ids=tokens).logits[:, :-1]
        logprobs = torch.log_softmax(logits, dim=-1).gather(2, tokens[:, 1:, None])
        loss = -logprobs.mean()
        loss.backward()
        optimizer.step()

    times, cpu = [], []
    for run in range(6):
        start, start_cpu = time.perf_counter(), time.process_time()
        train_step()
        if run > 0:
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    median = statistics.median(times)
    print(json.dumps({"peer": "pytorch", "workload": "train_step/toy/16/256", "threads": threads,
                      "torch": torch.__version__, "parameters": parameters, "seconds": median,
                      "cpu_seconds": statistics.median(cpu),
                      "tokens_per_s": tokens.numel() / median, "peak_rss_mib": peak_rss_mib()}), flush=True)

    model.eval()
    prompts = torch.randint(0, 128, (8, 32)).repeat_interleave(8, dim=0)
    with torch.no_grad():
        times, cpu = [], []
        for run in range(3):
            start, start_cpu = time.perf_counter(), time.process_time()
            model.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts), do_sample=True, top_k=0,
                           top_p=1.0, temperature=1.0, max_new_tokens=128, min_new_tokens=128, pad_token_id=0)
            if run > 0:
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
    median = statistics.median(times)
    print(json.dumps({"peer": "pytorch", "workload": "decode/toy/8/8/128", "threads": threads,
                      "seconds": median, "cpu_seconds": statistics.median(cpu), "tokens_per_s": 64 * 128 / median, "peak_rss_mib": peak_rss_mib()}), flush=True)


if __name__ == "__main__":
    main()

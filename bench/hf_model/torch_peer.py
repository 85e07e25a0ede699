#!/usr/bin/env python3
"""The PyTorch peer of bench/hf_model/hf_model_bench.cpp: the same four measurements on the same
model directory (bench/hf_model/make_model.py) with transformers on the CPU in fp32:
  load     AutoModelForCausalLM.from_pretrained(dir, dtype=torch.float32) (BF16 file to fp32)
  prefill  generate() with max_new_tokens = 1 over the 8 prompts of 64 fixed token ids, after an
           untimed warm-up call of the same
  decode   generate() of 128 new tokens for each prompt (min_new_tokens = 128, so no early
           stop), plain sampling at temperature 1 (top_k 0, top_p 1), KV cache, fixed seed
  train    GRPO training steps on the 8 decoded sequences (8 x 192 = 1536 tokens): forward,
           log-softmax and gather of each next token, the on-policy clipped surrogate with ratio
           exp(logp - logp.detach()) = 1 times a fixed advantage per sequence, averaged over each
           completion's tokens and then over sequences (sequence-mean-token-mean, as rlft), no KL
           term; backward, gradient-norm clipping at 1, torch.optim.AdamW; the best step's time
  memory   peak RSS (resource.getrusage) and the resident set after each phase
Prints one JSON line.

Usage: python3 torch_peer.py MODEL_DIR [THREADS] [TRAIN_STEPS]   (defaults: 2 threads, 2 steps)
"""
import json
import resource
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM

PROMPTS = 8
PROMPT_LENGTH = 64
NEW_TOKENS = 128
SEED = 1234


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def prompt_token(s, t, vocab_size):
    """Token t of prompt s: the same formula as hf_model_bench.cpp."""
    return (s * 7919 + t * 104729 + 17) % vocab_size


def main():
    model_dir = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    train_steps = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    torch.set_num_threads(threads)
    out = {"peer": "pytorch", "torch": torch.__version__, "transformers": transformers.__version__,
           "threads": threads, "rss_start_mib": current_rss_mib()}

    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    out["load_s"] = time.perf_counter() - start
    out["parameters"] = sum(p.numel() for p in model.parameters())
    out["rss_after_load_mib"] = current_rss_mib()
    vocab = model.config.vocab_size

    prompts = torch.tensor([[prompt_token(s, t, vocab) for t in range(PROMPT_LENGTH)] for s in range(PROMPTS)])
    sampling = dict(attention_mask=torch.ones_like(prompts), do_sample=True, top_k=0, top_p=1.0, temperature=1.0,
                    pad_token_id=0)
    model.eval()
    with torch.no_grad():
        model.generate(input_ids=prompts, max_new_tokens=1, min_new_tokens=1, **sampling)  # warm-up, as rlft
        torch.manual_seed(SEED)
        start = time.perf_counter()
        model.generate(input_ids=prompts, max_new_tokens=1, min_new_tokens=1, **sampling)
        out["prefill_s"] = time.perf_counter() - start
        torch.manual_seed(SEED)
        start = time.perf_counter()
        sequences = model.generate(input_ids=prompts, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, **sampling)
        decode_s = time.perf_counter() - start
    generated = sequences.shape[0] * (sequences.shape[1] - PROMPT_LENGTH)
    out.update(decode_s=decode_s, decode_tokens=generated, decode_tokens_per_s=generated / decode_s,
               rss_after_decode_mib=current_rss_mib())

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    advantages = torch.linspace(-1.0, 1.0, PROMPTS)  # fixed, zero mean, as group-normalised rewards
    targets = sequences[:, 1:]
    completion_mask = torch.zeros_like(targets, dtype=torch.float32)
    completion_mask[:, PROMPT_LENGTH - 1:] = 1.0  # targets at positions >= PROMPT_LENGTH are completion tokens

    def train_step():
        logits = model(input_ids=sequences).logits[:, :-1]
        logprobs = torch.log_softmax(logits, dim=-1).gather(2, targets[:, :, None]).squeeze(2)
        ratio = torch.exp(logprobs - logprobs.detach())
        token_loss = -ratio * advantages[:, None]
        loss = ((token_loss * completion_mask).sum(1) / completion_mask.sum(1)).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)  # rlft keeps its gradient buffers too

    step_seconds = []
    for _ in range(train_steps):
        start = time.perf_counter()
        train_step()
        step_seconds.append(time.perf_counter() - start)
    tokens = sequences.numel()
    out.update(train_tokens=tokens, train_step_s=step_seconds, train_s=min(step_seconds),
               train_tokens_per_s=tokens / min(step_seconds), rss_after_train_mib=current_rss_mib(),
               peak_rss_mib=peak_rss_mib())
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()

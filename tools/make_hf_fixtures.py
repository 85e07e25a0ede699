#!/usr/bin/env python3
"""End-to-end Hugging Face fixtures: two tiny chat models made by transformers, and what
transformers does with them, for tests that run rlft's tokenizer and reference transformer on a
real checkpoint directory the way a trainer would.

Writes into tests/hf_model/fixtures/ (or the directory given):
  qwen2/, llama/        complete model directories that AutoModelForCausalLM.from_pretrained and
                        AutoTokenizer.from_pretrained load: config.json, generation_config.json,
                        model.safetensors, tokenizer.json, tokenizer_config.json
  cases.json            per model, conversations built from examples/data/gsm8k_sample_train.jsonl
                        and what transformers gives for them (see "Cases" below)
  logits.safetensors    "<model>/<case index>": fp32 logits [positions, model vocab] at the
                        positions the case lists

Models (random weights, seeded; shapes tiny so the directory stays a few hundred KB)
  qwen2   Qwen2ForCausalLM as Qwen2.5-Instruct is shaped: tied embeddings, q/k/v biases, rope_theta
          1e6, weights stored in BF16 with "torch_dtype": "bfloat16"; the model's vocab_size is the
          tokenizer's rounded up to a multiple of 64 and the rows of the unused ids are zero (real
          Qwen checkpoints also pad the vocabulary). Tokenizer: byte-level BPE in Qwen2.5's shape (NFC,
          Split(Qwen2 regex), ByteLevel), specials <|endoftext|> <|im_start|> <|im_end|>; eos
          <|im_end|>, pad <|endoftext|>; a ChatML template written for this fixture that supplies a
          default system prompt when the conversation has none. generation_config: eos_token_id
          [<|im_end|>, <|endoftext|>].
  llama   LlamaForCausalLM as Llama-3-Instruct is shaped: untied, rope_theta 5e5, no biases, weights
          stored in F32. Tokenizer: Split(Llama-3 regex) + ByteLevel, ignore_merges, a
          TemplateProcessing post-processor that puts <|begin_of_text|> first; <|start_header_id|>
          <|end_header_id|> <|eot_id|> <|end_of_text|>; eos <|eot_id|>; a header-style template
          written for this fixture that starts with bos_token. generation_config: eos_token_id
          [<|eot_id|>, <|end_of_text|>].
  Both tokenizers are trained with `tokenizers` on the generated corpus of make_golden_tokenizers.py
  plus the sample problems and answers, so the words of the task are tokens. Weights follow
  make_golden_transformer.randomise (large enough that greedy decoding does not collapse to one
  token); the stop tokens' output rows are scaled by STOP_ROW_SCALE so that some greedy
  continuations stop early and the stop path is compared too. generation_config.json also carries
  sampling settings as the instruct models ship them (do_sample, temperature, top_p, top_k); the
  greedy runs here override them.

Cases (cases.json: {"generator", "versions", "max_new_tokens", "models": {name: {...}}})
  per model: "directory", "stop_tokens" (generation_config's eos_token_id), "vocab_size" (model),
  "tokenizer_size", "cases": [{
    "messages"                        the conversation ({"role", "content"} objects)
    "prompt_text"                     apply_chat_template(messages, add_generation_prompt=True,
                                      tokenize=False)
    "prompt_ids"                      apply_chat_template(..., tokenize=True): the text encoded
                                      without special tokens (the template writes them itself)
    "prompt_ids_add_special_tokens"   tokenizer(prompt_text) with add_special_tokens=True: for the
                                      llama the post-processor's BOS comes in front of the
                                      template's, which is why a trainer must not ask for it
    "generated_ids"                   model.generate(prompt_ids, do_sample=False, max_new_tokens=24)
                                      in fp32 with generation_config's stop tokens (a stop token,
                                      when hit, is the last id)
    "stopped"                         whether the continuation ended on a stop token
    "generated_text"                  tokenizer.decode(generated_ids, skip_special_tokens=True)
    "generated_logprobs"              log-softmax of each generated id under the logits of one
                                      forward over prompt_ids + generated_ids (whose argmax is
                                      checked to be each generated id)
    "logit_positions"                 positions p of prompt_ids + generated_ids whose logits (the
                                      distribution of token p + 1, from a forward of that whole
                                      sequence) logits.safetensors holds: the last prompt position
    "min_greedy_margin"               the smallest gap between the largest and second largest logit
                                      over the generated steps (so a reader knows how robust the
                                      greedy comparison is)}]
All logits are computed in fp32 with eager attention from the weights as stored (BF16 upcasts
exactly).

Usage: python3 tools/make_hf_fixtures.py [output directory]
Needs: pip install torch "transformers==4.57.6" "tokenizers==0.22.2" safetensors (CPU is enough).
The output is deterministic for given versions.
"""
import json
import math
import os
import platform
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import make_golden_tokenizers as golden_tokenizers  # noqa: E402  (sets the offline environment)
import safetensors  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from make_golden_transformer import randomise  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from tokenizers import Regex, normalizers, pre_tokenizers  # noqa: E402
from transformers import (AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LlamaConfig,  # noqa: E402
                          LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MAX_NEW_TOKENS = 24
# Scales the stop tokens' output rows, so that some greedy continuations of each model stop before
# MAX_NEW_TOKENS and some do not (random weights rarely pick one id of hundreds otherwise).
STOP_ROW_SCALE = 1.5

# --------------------------------------------------------------------------------------------------
# Chat templates, written for these fixtures in the shape of the families' own.

QWEN2_DEFAULT_SYSTEM = "You are a careful assistant. Think step by step and give the final answer."
QWEN2_TEMPLATE = (
    "{%- set has_system = messages[0]['role'] == 'system' %}\n"
    "{%- if has_system %}\n"
    "    {%- set system_text = messages[0]['content'] %}\n"
    "{%- else %}\n"
    "    {%- set system_text = '" + QWEN2_DEFAULT_SYSTEM + "' %}\n"
    "{%- endif %}\n"
    "{{- '<|im_start|>system\\n' + system_text + '<|im_end|>\\n' }}\n"
    "{%- for message in messages %}\n"
    "    {%- if not (loop.first and has_system) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n")

LLAMA_TEMPLATE = (
    "{{- bos_token }}\n"
    "{%- for message in messages %}\n"
    "    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}\n"
    "    {{- message['content'] | trim }}\n"
    "    {{- '<|eot_id|>' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n"
    "{%- endif %}\n")

SYSTEM_PROMPT = "Solve the word problem. End with a line '#### <answer>'."

# --------------------------------------------------------------------------------------------------
# Data


def read_problems():
    with open(os.path.join(ROOT, "examples", "data", "gsm8k_sample_train.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def corpus(seed, problems):
    lines = golden_tokenizers.make_corpus(seed=seed, target_bytes=60_000, emoji=False)
    task = [p["question"] for p in problems] + [p["answer"] for p in problems]
    task += [QWEN2_DEFAULT_SYSTEM, SYSTEM_PROMPT, "system user assistant"]
    return lines + task * 4


def conversations(problems):
    """Five conversations: with and without a system prompt, one with two user turns."""
    def user(i):
        return {"role": "user", "content": problems[i]["question"]}
    system = {"role": "system", "content": SYSTEM_PROMPT}
    return [
        [user(0)],
        [system, user(1)],
        [user(2)],
        [system, user(3), {"role": "assistant", "content": problems[3]["answer"]}, user(4)],
        [{"role": "user", "content": "  " + problems[5]["question"] + "\n"}],
    ]


# --------------------------------------------------------------------------------------------------
# Tokenizers (pieces from make_golden_tokenizers.py)

def write_tokenizer(directory, doc, config):
    with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(golden_tokenizers.render_tokenizer_json(doc))
    with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(config, ensure_ascii=False, indent=2) + "\n")


def qwen2_tokenizer(directory, problems):
    g = golden_tokenizers
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(g.QWEN2_REGEX), "isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    vocab, merges = g.train(corpus(101, problems), 640, pre, normalizer=normalizers.NFC(),
                            initial_alphabet=g.BYTE_LEVEL_ALPHABET)
    n = len(vocab)
    added = [g.added(n, "<|endoftext|>"), g.added(n + 1, "<|im_start|>"), g.added(n + 2, "<|im_end|>")]
    doc = g.tokenizer_document(
        added, {"type": "NFC"},
        {"type": "Sequence", "pretokenizers": [g.split_regex(g.QWEN2_REGEX), g.byte_level(False, False, False)]},
        g.byte_level(False, False, False), g.byte_level(False, False, False),
        g.bpe_model(vocab, merges, "pairs", subword_affixes=""))
    config = {"tokenizer_class": "Qwen2Tokenizer", "add_bos_token": False, "add_prefix_space": False,
              "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": None,
              "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
              "clean_up_tokenization_spaces": False, "errors": "replace", "split_special_tokens": False,
              "model_max_length": 512, "chat_template": QWEN2_TEMPLATE,
              "added_tokens_decoder": g.added_tokens_decoder(doc)}
    write_tokenizer(directory, doc, config)
    return {t["content"]: t["id"] for t in added}, n + len(added)


LLAMA_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]


def llama_tokenizer(directory, problems):
    g = golden_tokenizers
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(g.LLAMA3_REGEX), "isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    vocab, merges = g.train(corpus(202, problems), 507, pre, initial_alphabet=g.BYTE_LEVEL_ALPHABET)
    n = len(vocab)
    added = [g.added(n + i, s) for i, s in enumerate(LLAMA_SPECIALS)]
    doc = g.tokenizer_document(
        added, None,
        {"type": "Sequence", "pretokenizers": [g.split_regex(g.LLAMA3_REGEX), g.byte_level(False, True, False)]},
        {"type": "Sequence", "processors": [g.byte_level(True, False, True),
                                            g.template_bos("<|begin_of_text|>", n)]},
        g.byte_level(True, True, True),
        g.bpe_model(vocab, merges, "pairs", ignore_merges=True))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>",
              "eos_token": "<|eot_id|>", "clean_up_tokenization_spaces": True,
              "model_input_names": ["input_ids", "attention_mask"], "model_max_length": 512,
              "chat_template": LLAMA_TEMPLATE, "added_tokens_decoder": g.added_tokens_decoder(doc)}
    write_tokenizer(directory, doc, config)
    return {t["content"]: t["id"] for t in added}, n + len(added)


# --------------------------------------------------------------------------------------------------
# Models

def write_model(directory, model_class, config, storage_dtype, tokenizer_size, stop_ids, seed):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = model_class(config).float().eval()
    randomise(model, generator)
    with torch.no_grad():
        output = model.get_output_embeddings().weight
        output[tokenizer_size:] = 0.0  # ids no token has: never trained in a real checkpoint
        for i in stop_ids:
            output[i] *= STOP_ROW_SCALE
    model.to(storage_dtype).save_pretrained(directory)
    # Real checkpoints of these families name the dtype "torch_dtype" (transformers 4.56 and later write "dtype").
    path = os.path.join(directory, "config.json")
    with open(path, encoding="utf-8") as f:
        saved = json.load(f)
    saved = {("torch_dtype" if k == "dtype" else k): v for k, v in saved.items()}
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(saved, indent=2, sort_keys=True) + "\n")


def build_qwen2(directory, problems):
    specials, tokenizer_size = qwen2_tokenizer(directory, problems)
    endoftext, im_end = specials["<|endoftext|>"], specials["<|im_end|>"]
    config = Qwen2Config(vocab_size=64 * math.ceil(tokenizer_size / 64), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6,
                         rope_theta=1_000_000.0, tie_word_embeddings=True, max_position_embeddings=512,
                         bos_token_id=endoftext, eos_token_id=im_end)
    write_model(directory, Qwen2ForCausalLM, config, torch.bfloat16, tokenizer_size, [endoftext, im_end],
                seed=2025)
    GenerationConfig(bos_token_id=endoftext, pad_token_id=endoftext, eos_token_id=[im_end, endoftext],
                     do_sample=True, temperature=0.7, top_p=0.8, top_k=20).save_pretrained(directory)


def build_llama(directory, problems):
    specials, tokenizer_size = llama_tokenizer(directory, problems)
    bos, end_of_text, eot = (specials[s] for s in ("<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"))
    config = LlamaConfig(vocab_size=tokenizer_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=500_000.0,
                         tie_word_embeddings=False, attention_bias=False, max_position_embeddings=512,
                         bos_token_id=bos, eos_token_id=eot)
    write_model(directory, LlamaForCausalLM, config, torch.float32, tokenizer_size, [eot, end_of_text], seed=2026)
    GenerationConfig(bos_token_id=bos, eos_token_id=[eot, end_of_text], do_sample=True, temperature=0.6,
                     top_p=0.9).save_pretrained(directory)


# --------------------------------------------------------------------------------------------------
# Cases

def run_cases(name, directory, problems, logits_out):
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForCausalLM.from_pretrained(directory, torch_dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    stop = list(model.generation_config.eos_token_id)
    cases = []
    for index, messages in enumerate(conversations(problems)):
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        assert ids == tokenizer.encode(text, add_special_tokens=False), (name, index)
        with torch.no_grad():
            prompt = torch.tensor([ids])
            out = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                                 max_new_tokens=MAX_NEW_TOKENS, temperature=None, top_p=None, top_k=None)
            generated = out[0, len(ids):].tolist()
            full = ids + generated
            logits = model(torch.tensor([full])).logits[0].float()
        # The continuation is the argmax of the teacher-forced forward at every step, by a margin.
        steps = logits[len(ids) - 1:len(full) - 1]
        assert steps.argmax(-1).tolist() == generated, (name, index)
        top2 = steps.topk(2, dim=-1).values
        margin = float((top2[:, 0] - top2[:, 1]).min())
        assert margin > 1e-3, (name, index, margin)
        stopped = generated[-1] in stop
        assert stopped or len(generated) == MAX_NEW_TOKENS
        assert len(set(generated)) >= min(3, len(generated)), (name, index, generated)
        positions = [len(ids) - 1]
        logits_out[f"{name}/{index}"] = logits[positions].contiguous()
        cases.append({
            "messages": messages,
            "prompt_text": text,
            "prompt_ids": ids,
            "prompt_ids_add_special_tokens": tokenizer(text, add_special_tokens=True)["input_ids"],
            "generated_ids": generated,
            "stopped": stopped,
            "generated_text": tokenizer.decode(generated, skip_special_tokens=True),
            "generated_logprobs": [float(x) for x in
                                   torch.log_softmax(steps, -1).gather(1, torch.tensor(generated)[:, None])[:, 0]],
            "logit_positions": positions,
            "min_greedy_margin": round(margin, 6),
        })
        print(f"{name} case {index}: prompt {len(ids)} tokens, {len(generated)} generated"
              f"{' (stopped)' if stopped else ''}, margin {margin:.4f}: {cases[-1]['generated_text']!r}")
    assert any(c["stopped"] for c in cases) and not all(c["stopped"] for c in cases), name
    return {"directory": name, "stop_tokens": stop, "vocab_size": model.config.vocab_size,
            "tokenizer_size": len(tokenizer), "cases": cases}


def main():
    out = os.path.normpath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "hf_model", "fixtures"))
    torch.set_num_threads(1)
    problems = read_problems()
    models, logits = {}, {}
    for name, build in (("qwen2", build_qwen2), ("llama", build_llama)):
        directory = os.path.join(out, name)
        os.makedirs(directory, exist_ok=True)
        build(directory, problems)
        models[name] = run_cases(name, directory, problems, logits)
    save_file(logits, os.path.join(out, "logits.safetensors"))
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__,
                "python": platform.python_version()}
    with open(os.path.join(out, "cases.json"), "w", encoding="utf-8", newline="\n") as f:
        text = json.dumps({"generator": "tools/make_hf_fixtures.py", "versions": versions,
                           "max_new_tokens": MAX_NEW_TOKENS, "models": models}, ensure_ascii=False, indent=1)
        f.write(re.sub(r"\[[-+0-9.eE,\s]*\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Golden fixture of examples/grpo_hf: what transformers computes with the model rlft trained.

Runs the built rlft_grpo_hf for 3 GRPO steps on each Hugging Face fixture of
tests/hf_model/fixtures (a tiny BF16 Qwen2 and a tiny F32 Llama) with the sample GSM8K-shaped
data, loads each saved output directory back with transformers (AutoModelForCausalLM and
AutoTokenizer), checks what a user would check by hand (the weights are stored in the input's
dtype, config.json says so, the training changed them, the copied tokenizer encodes as the input's
does), and writes what transformers computes with the trained model. The test
(tests/grpo_hf) runs the same command and must get the same numbers from rlft's own load of its
output: the fp32 logits to 1e-5 relative and the greedy continuations token for token.

Writes into tests/grpo_hf/fixtures/ (or the directory given):
  runs.json                 {"generator", "versions", "arguments", "models": {name: {...}}}
    "arguments"             the rlft_grpo_hf command line, with {model}, {train}, {eval} and
                            {output} standing for the fixture directory, the sample files and the
                            output directory
    per model: "dtype" (of the saved weights), "changed_share" (share of weights that differ from
    the input's, as stored), "cases": [{"tokens" (a case of tests/hf_model: prompt ids followed by
    the untrained model's greedy ids), "logit_positions" (rows kept in trained_logits.safetensors),
    "prompt_length", "greedy_ids" (the trained model's greedy continuation of the prompt, at most
    MAX_NEW_TOKENS, ending on a stop token when stopped), "min_greedy_margin"}]
  trained_logits.safetensors  "<model>/<case index>": fp32 logits [positions, vocab] of a forward
                            of "tokens" through the trained model

Usage: python3 tools/make_grpo_hf_golden.py BUILD_DIR [output directory]
  BUILD_DIR holds examples/rlft_grpo_hf (e.g. build/default after cmake --build).
Needs: pip install torch "transformers==4.57.6" safetensors (CPU is enough). The trainer is
deterministic for a seed on one machine; a machine whose floating point differs (another CPU's
vector width under -march=native) can round a trained BF16 weight the other way, so the test says
by how much the logits differ rather than only that they do.
"""
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

import safetensors
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HF_FIXTURES = os.path.join(ROOT, "tests", "hf_model", "fixtures")
MODELS = ("qwen2", "llama")
CASES = 2              # the first cases of tests/hf_model/fixtures/cases.json
ROWS = 8               # logit rows kept per case, evenly spaced, the last one included
MAX_NEW_TOKENS = 16
# A learning rate far above a real run's so that 3 steps move BF16 weights by more than their
# rounding; the language-consistency reward varies between completions of a random model, so the
# groups carry signal (accuracy alone would be zero everywhere).
ARGUMENTS = ["--model", "{model}", "--train", "{train}", "--eval", "{eval}", "--output", "{output}",
             "--steps", "3", "--prompts-per-step", "2", "--group-size", "4", "--max-new-tokens", "16",
             "--lr", "1e-3", "--reward", "accuracy=1", "--reward", "language=1", "--reward", "repetition=1",
             "--eval-problems", "2", "--eval-samples", "2", "--seed", "7", "--threads", "1"]


def run_trainer(binary, name, output):
    substitutions = {"{model}": os.path.join(HF_FIXTURES, name),
                     "{train}": os.path.join(ROOT, "examples", "data", "gsm8k_sample_train.jsonl"),
                     "{eval}": os.path.join(ROOT, "examples", "data", "gsm8k_sample_test.jsonl"),
                     "{output}": output}
    subprocess.run([binary] + [substitutions.get(a, a) for a in ARGUMENTS], check=True)


def stored_tensors(path):
    with safe_open(path, "pt") as f:
        return {key: f.get_tensor(key) for key in f.keys()}


def check_output(name, output):
    """What a user checks by hand after training; returns (dtype, changed share)."""
    source = os.path.join(HF_FIXTURES, name)
    before = stored_tensors(os.path.join(source, "model.safetensors"))
    after = stored_tensors(os.path.join(output, "model.safetensors"))
    assert before.keys() == after.keys(), name
    dtypes = {t.dtype for t in after.values()}
    assert dtypes == {t.dtype for t in before.values()} and len(dtypes) == 1, (name, dtypes)
    dtype = str(dtypes.pop()).removeprefix("torch.")
    config = json.load(open(os.path.join(output, "config.json")))
    assert config["torch_dtype"] == dtype, (name, config["torch_dtype"], dtype)
    changed = sum(int((before[k] != after[k]).sum()) for k in before)
    total = sum(t.numel() for t in before.values())
    assert changed > total // 10, (name, changed, total)

    cases = json.load(open(os.path.join(HF_FIXTURES, "cases.json")))["models"][name]["cases"]
    trained_tokenizer = transformers.AutoTokenizer.from_pretrained(output)
    input_tokenizer = transformers.AutoTokenizer.from_pretrained(source)
    for case in cases:
        assert trained_tokenizer.apply_chat_template(case["messages"], add_generation_prompt=True, tokenize=False) \
            == case["prompt_text"]
        assert trained_tokenizer(case["prompt_text"])["input_ids"] == input_tokenizer(case["prompt_text"])["input_ids"]
    return dtype, changed / total


def run_cases(name, output, logits):
    model = transformers.AutoModelForCausalLM.from_pretrained(output, dtype=torch.float32,
                                                              attn_implementation="eager")
    model.eval()
    stop = model.generation_config.eos_token_id
    source_cases = json.load(open(os.path.join(HF_FIXTURES, "cases.json")))["models"][name]["cases"]
    cases = []
    for index, source in enumerate(source_cases[:CASES]):
        prompt = source["prompt_ids"]
        tokens = prompt + source["generated_ids"]
        positions = sorted({round(i * (len(tokens) - 1) / (ROWS - 1)) for i in range(ROWS)})
        with torch.no_grad():
            all_logits = model(torch.tensor([tokens])).logits[0]
            logits[f"{name}/{index}"] = all_logits[positions].contiguous()
            generated = model.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=MAX_NEW_TOKENS,
                                       eos_token_id=stop, pad_token_id=stop[0] if isinstance(stop, list) else stop,
                                       output_scores=True, return_dict_in_generate=True)
        greedy = generated.sequences[0, len(prompt):].tolist()
        margin = min(float(s[0].topk(2).values[0] - s[0].topk(2).values[1]) for s in generated.scores)
        cases.append({"tokens": tokens, "logit_positions": positions, "prompt_length": len(prompt),
                      "greedy_ids": greedy, "min_greedy_margin": round(margin, 6)})
        print(f"{name} case {index}: {len(tokens)} tokens, greedy {len(greedy)} ids, margin {margin:.4f}")
    return cases


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = os.path.join(os.path.abspath(sys.argv[1]), "examples", "rlft_grpo_hf")
    out = os.path.normpath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "tests", "grpo_hf", "fixtures"))
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    models, logits = {}, {}
    work = tempfile.mkdtemp()
    try:
        for name in MODELS:
            output = os.path.join(work, name)
            run_trainer(binary, name, output)
            dtype, changed = check_output(name, output)
            models[name] = {"dtype": dtype, "changed_share": round(changed, 4), "cases": run_cases(name, output, logits)}
            print(f"{name}: saved as {dtype}, {changed:.1%} of the weights changed")
    finally:
        shutil.rmtree(work)
    save_file(logits, os.path.join(out, "trained_logits.safetensors"))
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "safetensors": safetensors.__version__, "python": platform.python_version()}
    with open(os.path.join(out, "runs.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"generator": "tools/make_grpo_hf_golden.py", "versions": versions, "arguments": ARGUMENTS,
                   "models": models}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

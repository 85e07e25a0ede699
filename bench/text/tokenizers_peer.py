#!/usr/bin/env python3
"""The peer of bench/text/tokenizer_bench.cpp: Hugging Face `tokenizers` (Rust) on the same text.

  tokenizers_peer.py prepare DIR   writes DIR/documents.jsonl (one JSON string per line: the
                                   Python standard library's sources, real code with English
                                   comments, followed by generated multilingual text) and
                                   DIR/tokenizer.json, a byte-level BPE in Qwen2.5's exact shape
                                   (NFC, Split(Qwen2 regex), ByteLevel, its special tokens) trained
                                   on those documents to VOCAB (default 32768) tokens.
  tokenizers_peer.py measure DIR   encodes every document with encode_batch, best of `repeats`,
                                   and prints one JSON line: seconds, bytes, tokens and a checksum
                                   of the ids (the C++ benchmark prints the same checksum, so the
                                   two are seen to do the same work). One thread when
                                   TOKENIZERS_PARALLELISM=false; otherwise RAYON_NUM_THREADS.
Needs: pip install tokenizers
"""
import json
import os
import sys
import sysconfig
import time

# Read before the imports below, which may set TOKENIZERS_PARALLELISM themselves.
PARALLEL = os.environ.get("TOKENIZERS_PARALLELISM", "true").lower() not in ("0", "false", "off")
THREADS = int(os.environ.get("RAYON_NUM_THREADS", os.cpu_count())) if PARALLEL else 1

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers, decoders

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from make_golden_tokenizers import QWEN2_REGEX, BYTE_LEVEL_ALPHABET, make_corpus  # noqa: E402

SOURCE_BYTES = 6_000_000
GENERATED_BYTES = 2_000_000
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def documents():
    """Deterministic for one Python version: the standard library's .py files in path order."""
    docs, size = [], 0
    root = sysconfig.get_paths()["stdlib"]
    paths = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d not in ("site-packages", "test", "tests"))
        paths += [os.path.join(directory, f) for f in sorted(files) if f.endswith(".py")]
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        if not text:
            continue
        docs.append(text)
        size += len(text.encode("utf-8"))
        if size >= SOURCE_BYTES:
            break
    lines = make_corpus(seed=5, target_bytes=GENERATED_BYTES)
    docs += ["\n".join(lines[i:i + 20]) for i in range(0, len(lines), 20)]
    return docs


def prepare(directory):
    os.makedirs(directory, exist_ok=True)
    docs = documents()
    with open(os.path.join(directory, "documents.jsonl"), "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_REGEX), "isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    vocab = int(os.environ.get("VOCAB", "32768"))
    tok.train_from_iterator(docs, trainer=trainers.BpeTrainer(
        vocab_size=vocab, min_frequency=2, show_progress=False, initial_alphabet=BYTE_LEVEL_ALPHABET))
    tok.add_special_tokens(SPECIALS)
    tok.save(os.path.join(directory, "tokenizer.json"))
    print(f"{len(docs)} documents, {sum(len(d.encode()) for d in docs) / 1e6:.1f} MB, "
          f"vocabulary {tok.get_vocab_size()}", file=sys.stderr)


def checksum(encodings):
    # The same arithmetic as checksum() in tokenizer_bench.cpp: modulo 2^64.
    total = 0
    for e in encodings:
        for position, token in enumerate(e.ids):
            total = (total * 1000003 + token * 31 + position) & 0xFFFFFFFFFFFFFFFF
    return total


def measure(directory, repeats):
    tok = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    with open(os.path.join(directory, "documents.jsonl"), encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        encodings = tok.encode_batch(docs, add_special_tokens=False)
        best = min(best, time.perf_counter() - start)
    size = sum(len(d.encode("utf-8")) for d in docs)
    tokens = sum(len(e.ids) for e in encodings)
    print(json.dumps({"peer": "tokenizers", "version": __import__("tokenizers").__version__,
                      "threads": THREADS, "seconds": best, "bytes": size, "tokens": tokens,
                      "MB_per_s": size / best / 1e6, "checksum": checksum(encodings)}))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("prepare", "measure"):
        sys.exit(__doc__)
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    else:
        measure(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 5)

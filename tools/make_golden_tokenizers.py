#!/usr/bin/env python3
"""Golden fixtures for rlft's C++ port of Hugging Face `tokenizers` (BPE pipelines).

For each family below this script trains a small BPE vocabulary with `tokenizers` on a corpus it
generates itself (seeded word lists, no external text), writes a tokenizer.json with that family's
exact pipeline (normalizer, pre-tokenizer and split regex, BPE flags, post-processor, decoder, added
tokens and their flags) and a tokenizer_config.json as the family sets it, loads both back with
tokenizers and with transformers' AutoTokenizer, and records what they give for test strings.

Usage:  python3 tools/make_golden_tokenizers.py [output dir]   (default tests/text/tokenizer/golden)
Needs:  pip install "transformers==4.57.6" "tokenizers==0.22.2"
        (the newest transformers 4.x and the tokenizers release it accepts; no torch, no network at
        run time). Other versions run too, with a warning; the fixture records the versions that made
        it. The output is deterministic for given versions.

Families (directory names)
  gpt2               ByteLevel pre-tokenizer with its built-in regex; <|endoftext|> normalized, in vocab
  qwen2              NFC; Split(Qwen2 regex) + ByteLevel(use_regex false); non-special <tool_call>
  llama3             Split(Llama-3 regex, \p{N}{1,3}) + ByteLevel; ignore_merges; BOS template
  smollm2            Digits(individual) + ByteLevel(use_regex true); specials first in the vocab;
                     some byte symbols left out of the vocab (those bytes are dropped)
  llama2             legacy SentencePiece conversion: Prepend/Replace normalizer, byte_fallback, <s>
  mistral            non-legacy conversion: Metaspace(prepend_scheme first, split false)
  byte_fallback_unk  not a real model: llama2 with <0xF0>..<0xFF> missing, so <unk>/fuse_unk show
  added_token_flags  not a real model: lstrip, rstrip, single_word, normalized, special, overlaps
Merges are written as legacy "a b" strings in gpt2, smollm2 and llama2, and as [a, b] pairs in the
others ("merges_format" in cases.json).

Output layout
-------------
<family>/tokenizer.json          the tokenizer (tokenizers.Tokenizer.from_file loads it)
<family>/tokenizer_config.json   what transformers reads: tokenizer_class, bos/eos/pad/unk tokens,
                                 add_bos_token/add_eos_token where the family has them,
                                 clean_up_tokenization_spaces, added_tokens_decoder
cases.json                       expected encode/decode results, one JSON object:
  "generator", "versions"        this script; {"tokenizers", "transformers", "python"}
  "families": {name: {...}}      "transformers_class" (what AutoTokenizer loads),
                                 "clean_up_tokenization_spaces" (already applied to "decoded*"),
                                 "merges_format" ("pairs" = [["a","b"],...], "strings" = ["a b",...]),
                                 "vocab_size" (model vocab entries), "merges", "added_tokens" (counts),
                                 "special_tokens_added_on_encode" (ids the post-processor adds),
                                 "raw_tokenizers_agree" (tokenizers.Tokenizer alone gave the same ids
                                 and, clean-up aside, the same decoded strings for every case),
                                 "held_out_lines_checked"/"held_out_lines_differing" (the same check on
                                 generated lines that are not in the fixture),
                                 "transformers_backend_matches_file" (the tokenizer transformers built
                                 has the file's added tokens, normalizer, pre-tokenizer, post-processor
                                 and decoder, e.g. LlamaTokenizerFast's own BOS template equals it),
                                 "notes" (what is particular to this fixture)
  "cases": [...]                 one object per (family, text, add_special_tokens):
      "family", "text", "add_special_tokens",
      "ids"                      transformers: tok.encode(text, add_special_tokens=...)
      "tokens"                   tok.convert_ids_to_tokens(ids)
      "decoded"                  tok.decode(ids, skip_special_tokens=False)
      "decoded_skip_special"     tok.decode(ids, skip_special_tokens=True)
      optional "raw_ids", "raw_decoded", "raw_decoded_skip_special": only where
      tokenizers.Tokenizer.from_file(...).encode/.decode gives something else (for decoding that is
      where clean_up_tokenization_spaces changed the text).
      add_special_tokens=false cases exist only for families whose post-processor adds ids, and only
      for a few texts; elsewhere they would equal the add_special_tokens=true ones.
  "decode_cases": [...]          id lists that no text encodes to (partial or invalid UTF-8, byte
                                 fallback runs, special tokens inside byte sequences): "family",
                                 "ids", "tokens" (null for an unknown id), "decoded",
                                 "decoded_skip_special", "what"
pretokenize.json                 the pre-tokenizer alone, for families that have one:
  "cases": [{"family", "text", "normalized" (the normalizer's output, = text without one),
             "pieces" (pre_tokenizer.pre_tokenize_str(normalized), as text: for ByteLevel the
                       byte-to-unicode mapping is undone)}]
Texts are JSON strings with any Unicode, including controls other than U+0000. Expected values come
from transformers 4.x, i.e. what a user of the family's tokenizer gets. transformers 5.x rebuilds
the pipelines of its Llama and GPT-2 classes and gives other ids for llama2, byte_fallback_unk and
smollm2; these fixtures do not follow it.
"""
import json
import os
import platform
import random
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

PINNED = {"tokenizers": "0.22.2", "transformers": "4.57.6"}

# The split regexes of the real tokenizer.json files (Qwen2: transformers' Qwen2Converter; Llama-3: the
# pattern in Meta's tokenizer.json). Python raw strings, i.e. exactly the JSON-decoded pattern.
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


# --------------------------------------------------------------------------------------------------
# The GPT-2 byte <-> unicode table (tokenizers' ByteLevel)

def bytes_to_unicode():
    bs = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_CHAR = bytes_to_unicode()
BYTE_LEVEL_ALPHABET = [BYTE_CHAR[b] for b in range(256)]
BYTE_INDEX = {c: b for b, c in BYTE_CHAR.items()}


# --------------------------------------------------------------------------------------------------
# Corpus: made-up sentences from small word lists, code, numbers, a few other scripts.

NOUNS = ("river garden window teacher engine market letter morning question answer kitchen planet signal "
         "number story bridge forest table memory pattern reward model token batch policy value matrix "
         "vector system paper island camera doctor student village winter summer machine problem result "
         "picture language computer weather mountain ocean friend family child dog cat bird horse apple "
         "orange bread coffee music light shadow stone field road house door city train ship book song "
         "idea catalog tokenizer gradient sample").split()
VERBS = ("opens closes finds builds carries moves reads writes learns counts holds turns watches follows "
         "checks sends keeps makes takes gives shows starts stops runs walks sings paints measures "
         "collects repairs").split()
VERBS_BASE = ("open close find build carry move read write learn count hold turn watch follow check send "
              "keep make take give show start stop run walk sing paint measure collect repair").split()
ADJECTIVES = ("quiet bright small large green early late simple careful strange happy heavy narrow wide "
              "warm cold quick slow old new clean dark gentle sharp useful rare common").split()
ADVERBS = "slowly quickly carefully often never always sometimes again together already almost".split()
NAMES = ("Anna Boris Chen Dara Elif Farid Greta Hiro Ines Jonas Kemal Lina Mateo Nora Omar Priya Quinn "
         "Rosa Sven Tomas Uma Viktor Wen Yara Zoe").split()
CONTRACTIONS = ("it's that's there's he's she's we're they're you're I'm I've we've they've I'll we'll "
                "they'll you'll don't doesn't isn't wasn't can't won't I'd she'd they'd").split()
PREPOSITIONS = "of with on for from by at under over near into".split()
INTERJECTIONS = "aah aaah aaaah baa baaa hmm hmmm zzz oooh wheee".split()

JAPANESE_NOUNS = ("今日 明日 学校 先生 学生 東京 大阪 電車 天気 時間 日本語 勉強 写真 音楽 料理 駅 本 "
                  "ひらがな カタカナ コーヒー テレビ パン").split()
JAPANESE_ENDINGS = ["です。", "でした。", "があります。", "を見ます。", "へ行きます。", "が好きです。"]
CHINESE_SUBJECTS = "我们 你们 他们 老师 学生 朋友 我 你 他".split()
CHINESE_PREDICATES = ("喜欢学习中文 今天去学校 明天一起吃饭 在城市工作 非常喜欢音乐 没有时间看书 "
                      "可以用电脑 觉得天气很好").split()
RUSSIAN_WORDS = ("привет мир город книга вода дом друг работа время вопрос ответ утро вечер музыка школа "
                 "читать писать хорошо сегодня завтра очень большой маленький новый старый и в на").split()
ARABIC_WORDS = ("مرحبا شكرا كتاب مدينة ماء بيت صديق عمل وقت سؤال جواب صباح مساء مدرسة كبير صغير جديد "
                "قديم اليوم غدا جدا في من على مع").split()
EMOJI = ["🙂", "👍", "🎉", "❤️", "🚀", "🌍", "😀", "👋🏻"]
IDENTIFIERS = ("count total index value items result buffer offset length scale weight reward token "
               "step batch name path data").split()


def english_sentence(rng):
    n, a, v, d = rng.choice, rng.choice, rng.choice, rng.choice
    templates = [
        lambda: f"{n(NAMES)} {v(VERBS)} the {a(ADJECTIVES)} {n(NOUNS)} {d(ADVERBS)}.",
        lambda: f"The {n(NOUNS)} {rng.choice(PREPOSITIONS)} the {n(NOUNS)} {v(VERBS)} a {a(ADJECTIVES)} "
                f"{n(NOUNS)}, and {rng.choice(CONTRACTIONS)} {a(ADJECTIVES)}.",
        lambda: f"{rng.choice(CONTRACTIONS).capitalize()} a {a(ADJECTIVES)} {n(NOUNS)}; {n(NAMES)}'s "
                f"{n(NOUNS)} {v(VERBS)} it {d(ADVERBS)}!",
        lambda: f"Why does the {n(NOUNS)} {rng.choice(VERBS_BASE)}? Because {rng.choice(CONTRACTIONS)} "
                f"{a(ADJECTIVES)}.",
        lambda: f"\"{rng.choice(CONTRACTIONS).capitalize()} {d(ADVERBS)} {a(ADJECTIVES)},\" said {n(NAMES)}.",
        lambda: f"{n(NAMES)} and {n(NAMES)} {rng.choice(VERBS_BASE)} {rng.randint(2, 99)} {n(NOUNS)}s "
                f"{rng.choice(PREPOSITIONS)} the {n(NOUNS)}.",
        lambda: f"{rng.choice(INTERJECTIONS).capitalize()}, {rng.choice(INTERJECTIONS)}... the {n(NOUNS)} "
                f"{v(VERBS)}.",
    ]
    s = rng.choice(templates)()
    r = rng.random()
    if r < 0.05:
        s = s.upper()
    elif r < 0.10:
        s = s.replace("'", "\u2019")
    return s


def number_line(rng):
    templates = [
        lambda: f"In {rng.randint(1900, 2030)}, {rng.randint(2, 999)} {rng.choice(NOUNS)}s cost "
                f"${rng.randint(1, 9999)}.{rng.randint(0, 99):02d}.",
        lambda: f"Call 555-{rng.randint(0, 9999):04d} before {rng.randint(1, 12)}:{rng.randint(0, 59):02d}.",
        lambda: f"version {rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 200)}",
        lambda: f"{rng.randint(1, 999)},{rng.randint(0, 999):03d},{rng.randint(0, 999):03d} "
                f"{rng.choice(NOUNS)}s",
        lambda: f"{rng.choice(IDENTIFIERS)} = {rng.randint(0, 10**8)} + {rng.random():.4f}",
        lambda: f"step {rng.randint(1, 5000)}: loss {rng.random() * 4:.3f}, reward {rng.random():.2f}",
    ]
    return rng.choice(templates)()


def code_block(rng):
    name, arg, other = rng.choice(IDENTIFIERS), rng.choice(IDENTIFIERS), rng.choice(IDENTIFIERS)
    kind = rng.randrange(4)
    if kind == 0:
        return (f"def {name}_{rng.choice(VERBS_BASE)}({arg}, {other}=None):\n"
                f"    if {other} is None:\n        {other} = []\n"
                f"    for i in range(len({arg})):\n        {other}.append({arg}[i] * {rng.randint(2, 9)})\n"
                f"    return {other}\n")
    if kind == 1:
        return (f"int {name}(const int *{arg}, int n) {{\n\tint {other} = 0;\n"
                f"\tfor (int i = 0; i < n; ++i) {{\n\t\t{other} += {arg}[i];\n\t}}\n\treturn {other};\n}}\n")
    if kind == 2:
        return (f"{{\"{name}\": {rng.randint(0, 999)}, \"{arg}\": [{rng.randint(0, 9)}, {rng.randint(0, 9)}],"
                f" \"{other}\": \"{rng.choice(NOUNS)}\"}}\n")
    return f"$ ./run --{name}={rng.randint(1, 64)} --{arg} {rng.choice(NOUNS)}.txt  # {rng.choice(ADVERBS)}\r\n"


def other_script_line(rng, emoji):
    kind = rng.randrange(5 if emoji else 4)
    if kind == 0:
        return f"{rng.choice(JAPANESE_NOUNS)}は{rng.choice(JAPANESE_NOUNS)}{rng.choice(JAPANESE_ENDINGS)}"
    if kind == 1:
        return f"{rng.choice(CHINESE_SUBJECTS)}{rng.choice(CHINESE_PREDICATES)}。"
    if kind == 2:
        words = [rng.choice(RUSSIAN_WORDS) for _ in range(rng.randint(3, 7))]
        return words[0].capitalize() + " " + " ".join(words[1:]) + rng.choice([".", "!", "?"])
    if kind == 3:
        return " ".join(rng.choice(ARABIC_WORDS) for _ in range(rng.randint(3, 7))) + "."
    return f"{english_sentence(rng)} {rng.choice(EMOJI)}"


def make_corpus(seed, target_bytes, emoji=True, other_scripts=True, numbers=0.12):
    """A deterministic list of training lines, about target_bytes of UTF-8 in all; `numbers` is the
    share of number lines."""
    rng = random.Random(seed)
    lines, size = [], 0
    while size < target_bytes:
        r = rng.random()
        if r < numbers:
            line = number_line(rng)
        elif r < numbers + 0.50:
            line = " ".join(english_sentence(rng) for _ in range(rng.randint(1, 4)))
        elif r < numbers + 0.65:
            line = code_block(rng)
        elif other_scripts:
            line = other_script_line(rng, emoji)
        else:
            line = english_sentence(rng)
        lines.append(line)
        size += len(line.encode("utf-8"))
    return lines


# --------------------------------------------------------------------------------------------------
# tokenizer.json pieces, written out as the real files have them

def byte_level(add_prefix_space, trim_offsets, use_regex):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": trim_offsets,
            "use_regex": use_regex}


def split_regex(pattern):
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}


def template_bos(bos, bos_id):
    return {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}}


SPM_DECODER = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
    {"type": "ByteFallback"},
    {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
SPM_LEGACY_NORMALIZER = {"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": "\u2581"},
    {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}


def added(token_id, content, special=True, normalized=False, lstrip=False, rstrip=False, single_word=False):
    return {"id": token_id, "content": content, "single_word": single_word, "lstrip": lstrip,
            "rstrip": rstrip, "normalized": normalized, "special": special}


def bpe_model(vocab, merges, merges_format, unk_token=None, subword_affixes=None, fuse_unk=False,
              byte_fallback=False, ignore_merges=False, write_ignore_merges=True):
    """subword_affixes: "" (GPT-2/Qwen2 files) or None (Llama, SmolLM2 files)."""
    m = {"type": "BPE", "dropout": None, "unk_token": unk_token,
         "continuing_subword_prefix": subword_affixes, "end_of_word_suffix": subword_affixes,
         "fuse_unk": fuse_unk, "byte_fallback": byte_fallback}
    if write_ignore_merges:
        m["ignore_merges"] = ignore_merges
    m["vocab"] = vocab
    if merges_format == "strings":
        for a, b in merges:
            assert " " not in a and " " not in b, (a, b)
        m["merges"] = [f"{a} {b}" for a, b in merges]
    else:
        m["merges"] = [[a, b] for a, b in merges]
    return m


def tokenizer_document(added_tokens, normalizer, pre_tokenizer, post_processor, decoder, model):
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post_processor,
            "decoder": decoder, "model": model}


def dumps(value):
    return json.dumps(value, ensure_ascii=False)


def render_tokenizer_json(doc):
    """Indented like tokenizers' pretty output, but one vocab entry / merge / added token a line."""
    out = ["{"]
    keys = list(doc)
    for i, key in enumerate(keys):
        comma = "," if i + 1 < len(keys) else ""
        value = doc[key]
        if key == "added_tokens":
            out.append(f'  "{key}": [')
            out += [f"    {dumps(t)}" + ("," if j + 1 < len(value) else "") for j, t in enumerate(value)]
            out.append("  ]" + comma)
        elif key == "model":
            out.append(f'  "{key}": {{')
            mkeys = list(value)
            for j, mk in enumerate(mkeys):
                mcomma = "," if j + 1 < len(mkeys) else ""
                mv = value[mk]
                if mk == "vocab":
                    items = sorted(mv.items(), key=lambda kv: kv[1])
                    out.append(f'    "{mk}": {{')
                    out += [f"      {dumps(t)}: {k}" + ("," if n + 1 < len(items) else "")
                            for n, (t, k) in enumerate(items)]
                    out.append("    }" + mcomma)
                elif mk == "merges":
                    out.append(f'    "{mk}": [')
                    out += [f"      {dumps(x)}" + ("," if n + 1 < len(mv) else "") for n, x in enumerate(mv)]
                    out.append("    ]" + mcomma)
                else:
                    out.append(f'    "{mk}": {dumps(mv)}{mcomma}')
            out.append("  }" + comma)
        else:
            body = json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            out.append(f'  "{key}": {body}{comma}')
    out.append("}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------
# Training

def train(corpus, vocab_size, pre_tokenizer, normalizer=None, initial_alphabet=None, special_tokens=()):
    """Trains BPE with `tokenizers`; returns (vocab {token: id}, merges [(a, b)])."""
    tok = Tokenizer(models.BPE())
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    kwargs = dict(vocab_size=vocab_size, min_frequency=2, show_progress=False, special_tokens=list(special_tokens))
    if initial_alphabet is not None:
        kwargs["initial_alphabet"] = initial_alphabet
    tok.train_from_iterator(corpus, trainer=trainers.BpeTrainer(**kwargs))
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return dict(model["vocab"]), merges


def renumber(tokens):
    return {t: i for i, t in enumerate(tokens)}


def ordered_tokens(vocab):
    return [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]


BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]


# --------------------------------------------------------------------------------------------------
# Families. Each builder returns (tokenizer.json document, tokenizer_config.json dict, info dict).

def added_tokens_decoder(doc):
    return {str(t["id"]): {k: t[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
            for t in doc["added_tokens"]}


def build_gpt2():
    corpus = make_corpus(seed=11, target_bytes=150_000)
    vocab, merges = train(corpus, 799, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
                          initial_alphabet=BYTE_LEVEL_ALPHABET)
    tokens = ordered_tokens(vocab) + ["<|endoftext|>"]  # GPT-2 keeps it as the last vocab entry
    vocab = renumber(tokens)
    eot = vocab["<|endoftext|>"]
    doc = tokenizer_document(
        [added(eot, "<|endoftext|>", special=True, normalized=True)],
        None,
        byte_level(False, True, True),
        byte_level(True, False, True),
        byte_level(True, True, True),
        bpe_model(vocab, merges, "strings", subword_affixes="", write_ignore_merges=False))
    config = {"tokenizer_class": "GPT2Tokenizer", "add_bos_token": False, "add_prefix_space": False,
              "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
              "pad_token": None, "clean_up_tokenization_spaces": True, "errors": "replace",
              "model_max_length": 1024, "added_tokens_decoder": added_tokens_decoder(doc)}
    notes = ["GPT-2 shape: the model has no ignore_merges key (an older file; the default is false), "
             "continuing_subword_prefix and end_of_word_suffix are \"\", <|endoftext|> is the last vocab "
             "entry and an added token with normalized true.",
             "clean_up_tokenization_spaces true: the openai-community/gpt2 repository has no such key and "
             "older transformers 4.x releases defaulted it to true; tokenizer_config.json states it explicitly."]
    return doc, config, {"merges_format": "strings", "notes": notes}


def build_qwen2():
    corpus = make_corpus(seed=22, target_bytes=150_000)
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_REGEX), "isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    vocab, merges = train(corpus, 800, pre, normalizer=normalizers.NFC(), initial_alphabet=BYTE_LEVEL_ALPHABET)
    n = len(vocab)
    added_tokens = [added(n, "<|endoftext|>"), added(n + 1, "<|im_start|>"), added(n + 2, "<|im_end|>"),
                    added(n + 3, "<tool_call>", special=False), added(n + 4, "</tool_call>", special=False)]
    doc = tokenizer_document(
        added_tokens,
        {"type": "NFC"},
        {"type": "Sequence", "pretokenizers": [split_regex(QWEN2_REGEX), byte_level(False, False, False)]},
        byte_level(False, False, False),
        byte_level(False, False, False),
        bpe_model(vocab, merges, "pairs", subword_affixes=""))
    config = {"tokenizer_class": "Qwen2Tokenizer", "add_bos_token": False, "add_prefix_space": False,
              "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": None,
              "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
              "clean_up_tokenization_spaces": False, "errors": "replace", "split_special_tokens": False,
              "model_max_length": 32768, "added_tokens_decoder": added_tokens_decoder(doc)}
    notes = ["Qwen2.5-Instruct shape: NFC, Split(Qwen2 regex, one \\p{N} per piece) then ByteLevel without "
             "regex; added tokens follow the vocab contiguously, all normalized false; <tool_call> and "
             "</tool_call> are special false (still extracted on encode, kept by skip_special_tokens)."]
    return doc, config, {"merges_format": "pairs", "notes": notes}


LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                   "<|eot_id|>"]
# Whole pre-tokens put into the Llama-3 vocab without merges that build them, so that ignore_merges
# (the vocab lookup of the whole pre-token before BPE) changes the result.
LLAMA3_UNREACHABLE = ["\u0120zyxwv", "zyxwv", "\u0120Quokka", "\u0120\u0120\u0120\u0120return",
                      "123", "456", "000"]


def build_llama3():
    corpus = make_corpus(seed=33, target_bytes=150_000, numbers=0.35)  # so digit chunks get merges
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_REGEX), "isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    vocab, merges = train(corpus, 900, pre, initial_alphabet=BYTE_LEVEL_ALPHABET)
    assert not any(t in vocab for t in LLAMA3_UNREACHABLE)
    tokens = ordered_tokens(vocab) + LLAMA3_UNREACHABLE
    vocab = renumber(tokens)
    n = len(vocab)
    added_tokens = [added(n + i, s) for i, s in enumerate(LLAMA3_SPECIALS)]
    doc = tokenizer_document(
        added_tokens,
        None,
        {"type": "Sequence", "pretokenizers": [split_regex(LLAMA3_REGEX), byte_level(False, True, False)]},
        {"type": "Sequence", "processors": [byte_level(True, False, True), template_bos("<|begin_of_text|>", n)]},
        byte_level(True, True, True),
        bpe_model(vocab, merges, "pairs", ignore_merges=True))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>",
              "eos_token": "<|end_of_text|>", "clean_up_tokenization_spaces": True,
              "model_input_names": ["input_ids", "attention_mask"], "model_max_length": 8192,
              "added_tokens_decoder": added_tokens_decoder(doc)}
    notes = ["Meta-Llama-3 shape: Split(Llama-3 regex, \\p{N}{1,3}) then ByteLevel without regex, "
             "ignore_merges true, post-processor Sequence[ByteLevel, TemplateProcessing(<|begin_of_text|> $A)], "
             "continuing_subword_prefix/end_of_word_suffix null; specials contiguous after the vocab.",
             "The vocab also holds " + ", ".join(json.dumps(t, ensure_ascii=False) for t in LLAMA3_UNREACHABLE)
             + ", which no merge builds: a pre-token equal to one of them is one id only because of "
             "ignore_merges.",
             "tokenizer_config.json has no add_bos_token (as in the Meta files); PreTrainedTokenizerFast "
             "uses the file's post-processor."]
    return doc, config, {"merges_format": "pairs", "notes": notes}


SMOLLM2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
SMOLLM2_ABSENT_BYTES = set(range(0x00, 0x09)) | {0x7F, 0xC0, 0xC1} | set(range(0xF0, 0x100))


def build_smollm2():
    # The real SmolLM2 vocab lacks some byte symbols (its initial alphabet was restricted), and with no
    # unk_token those bytes vanish on encode. Here the initial alphabet leaves out SMOLLM2_ABSENT_BYTES
    # and the corpus has no character that contains them (no emoji, nothing at U+10000 and up).
    corpus = make_corpus(seed=44, target_bytes=120_000, emoji=False)
    pre = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    vocab, merges = train(corpus, 700, pre, special_tokens=SMOLLM2_SPECIALS,
                          initial_alphabet=[BYTE_CHAR[b] for b in range(256) if b not in SMOLLM2_ABSENT_BYTES])
    missing = [b for b in range(256) if BYTE_CHAR[b] not in vocab]
    assert set(missing) == SMOLLM2_ABSENT_BYTES, missing
    doc = tokenizer_document(
        [added(vocab[s], s) for s in SMOLLM2_SPECIALS],
        None,
        {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
                                               byte_level(False, True, True)]},
        byte_level(True, False, True),
        byte_level(True, True, True),
        bpe_model(vocab, merges, "strings"))
    config = {"tokenizer_class": "GPT2Tokenizer", "add_prefix_space": False, "bos_token": "<|endoftext|>",
              "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
              "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
              "clean_up_tokenization_spaces": False, "model_max_length": 8192,
              "added_tokens_decoder": added_tokens_decoder(doc)}
    notes = ["SmolLM2 shape: Sequence[Digits(individual_digits), ByteLevel(use_regex true)], specials are the "
             "first vocab entries, no unk_token, continuing_subword_prefix/end_of_word_suffix null.",
             "The post-processor (ByteLevel, id-neutral) is assumed, not read from the real file.",
             f"Not from the real file: {len(missing)} byte symbols are left out of the vocab on purpose, "
             f"so these bytes are dropped without an id (no unk_token): "
             + " ".join(f"{b:02X}" for b in missing) + ". A 4-byte character loses its lead byte and keeps "
             "its continuation bytes."]
    return doc, config, {"merges_format": "strings", "notes": notes}


def spm_vocab(corpus, size, seed_specials=("<unk>", "<s>", "</s>"), byte_tokens=BYTE_TOKENS):
    """SentencePiece-converted layout: <unk> <s> </s>, then the <0xXX> tokens, then the trained pieces.
    Training splits on U+2581 (Metaspace, prepended) so merges stay inside words, as in SentencePiece."""
    vocab, merges = train(corpus, size - len(byte_tokens),
                          pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
                          special_tokens=seed_specials)
    trained = [t for t in ordered_tokens(vocab) if t not in seed_specials]
    return renumber(list(seed_specials) + list(byte_tokens) + trained), merges


def llama_config(legacy):
    return {"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
            "clean_up_tokenization_spaces": False, "legacy": legacy, "sp_model_kwargs": {},
            "model_max_length": 4096}


def spm_added():
    return [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")]


def build_llama2():
    corpus = make_corpus(seed=55, target_bytes=150_000)
    vocab, merges = spm_vocab(corpus, 1000)
    doc = tokenizer_document(spm_added(), SPM_LEGACY_NORMALIZER, None, template_bos("<s>", 1), SPM_DECODER,
                             bpe_model(vocab, merges, "strings", unk_token="<unk>", fuse_unk=True,
                                       byte_fallback=True))
    config = dict(llama_config(legacy=True), added_tokens_decoder=added_tokens_decoder(doc))
    notes = ["Llama-2 legacy shape (LlamaConverter, legacy true): normalizer Sequence[Prepend(\u2581), "
             "Replace(' ' -> \u2581)] applied to each text segment between added tokens, no pre-tokenizer "
             "(BPE sees a whole segment), unk <unk>, fuse_unk, byte_fallback with all 256 <0xXX> tokens "
             "(ids 3..258).",
             "transformers' LlamaTokenizerFast replaces the file's post-processor with its own template "
             "from add_bos_token/add_eos_token (true/false here); it is identical to the file's."]
    return doc, config, {"merges_format": "strings", "notes": notes}


def build_mistral():
    corpus = make_corpus(seed=66, target_bytes=150_000)
    vocab, merges = spm_vocab(corpus, 1000)
    doc = tokenizer_document(spm_added(), None,
                             {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False},
                             template_bos("<s>", 1), SPM_DECODER,
                             bpe_model(vocab, merges, "pairs", unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    config = dict(llama_config(legacy=False), added_tokens_decoder=added_tokens_decoder(doc))
    notes = ["Non-legacy Llama/Mistral shape (LlamaConverter, legacy false): no normalizer, "
             "Metaspace(\u2581, prepend_scheme first, split false): only the segment that starts at "
             "original offset 0 gets \u2581; text after an added token does not.",
             "transformers' LlamaTokenizerFast replaces the file's post-processor with its own template "
             "from add_bos_token/add_eos_token (true/false here); it is identical to the file's."]
    return doc, config, {"merges_format": "pairs", "notes": notes}


def build_byte_fallback_unk():
    # Like llama2, but <0xF0>..<0xFF> are missing, so a 4-byte character (emoji, U+10000 and up) that is
    # not a vocab piece cannot fall back to bytes and becomes <unk> (fused over runs).
    corpus = make_corpus(seed=77, target_bytes=100_000, emoji=False)
    byte_tokens = BYTE_TOKENS[:0xF0]
    vocab, merges = spm_vocab(corpus, 700, byte_tokens=byte_tokens)
    doc = tokenizer_document(spm_added(), SPM_LEGACY_NORMALIZER, None, template_bos("<s>", 1), SPM_DECODER,
                             bpe_model(vocab, merges, "pairs", unk_token="<unk>", fuse_unk=True,
                                       byte_fallback=True))
    config = dict(llama_config(legacy=True), added_tokens_decoder=added_tokens_decoder(doc))
    notes = ["Not a real model: the llama2 legacy pipeline with only <0x00>..<0xEF> in the vocab, so that "
             "unk_token, fuse_unk and the byte_fallback/unk interplay are observable: a character is "
             "byte-encoded only if all its bytes have tokens, otherwise it is <unk>, and a run of such "
             "characters gives one <unk>. A pending <unk> is not emitted before the byte tokens of a "
             "following byte-fallback character (see the cases).",
             "transformers' LlamaTokenizerFast replaces the file's post-processor with its own template "
             "from add_bos_token/add_eos_token (true/false here); it is identical to the file's."]
    return doc, config, {"merges_format": "pairs", "notes": notes}


def build_added_token_flags():
    corpus = make_corpus(seed=88, target_bytes=80_000)
    vocab, merges = train(corpus, 500, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
                          normalizer=normalizers.Lowercase(), initial_alphabet=BYTE_LEVEL_ALPHABET)
    n = len(vocab)
    specs = [
        ("<|endoftext|>", dict()),
        ("<mask>", dict(lstrip=True)),
        ("<sep>", dict(rstrip=True)),
        ("<pad>", dict(lstrip=True, rstrip=True)),
        ("<|im_start|>", dict()),
        ("<|im", dict(special=False)),                                    # a prefix of <|im_start|>
        ("cat", dict(special=False)),
        ("catalog", dict(special=False, single_word=True)),               # contains "cat"
        ("dog", dict(special=False, single_word=True, normalized=True)),
        ("<Norm>", dict(special=False, normalized=True)),                 # matched as "<norm>" after Lowercase
        ("<RAW>", dict(special=False)),                                   # matched in the raw text only
    ]
    added_tokens = [added(n + i, content, **flags) for i, (content, flags) in enumerate(specs)]
    doc = tokenizer_document(
        added_tokens,
        {"type": "Lowercase"},
        byte_level(False, True, True),
        byte_level(True, False, True),
        byte_level(True, True, True),
        bpe_model(vocab, merges, "pairs", subword_affixes=""))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|endoftext|>",
              "eos_token": "<|endoftext|>", "pad_token": "<pad>", "mask_token": "<mask>", "sep_token": "<sep>",
              "unk_token": None, "clean_up_tokenization_spaces": False, "model_max_length": 1024,
              "added_tokens_decoder": added_tokens_decoder(doc)}
    notes = ["Not a real model: GPT-2-style byte-level pipeline with a Lowercase normalizer, so that the "
             "normalized flag matters (normalized true tokens are matched after lowercasing, in the second "
             "pass; normalized false ones in the raw text first).",
             "Added tokens: <mask> lstrip; <sep> rstrip; <pad> lstrip+rstrip (lstrip/rstrip absorb any "
             "White_Space, which the model then never sees); <|im non-special and a prefix of <|im_start|> "
             "(leftmost-longest); cat plain non-special; catalog single_word (a discarded match is not "
             "re-scanned, so the cat inside it is not found); dog single_word + normalized; <Norm> "
             "normalized (content has capitals, matched as <norm>); <RAW> not normalized.",
             "Decoding <Norm>'s id gives its content \"<Norm>\" with tokenizers 0.20 to 0.22; tokenizers "
             "0.23 gives the normalized form \"<norm>\" (the only difference 0.23.3 shows on these "
             "fixtures)."]
    return doc, config, {"merges_format": "pairs", "notes": notes}


FAMILIES = {
    "gpt2": build_gpt2,
    "qwen2": build_qwen2,
    "llama3": build_llama3,
    "smollm2": build_smollm2,
    "llama2": build_llama2,
    "mistral": build_mistral,
    "byte_fallback_unk": build_byte_fallback_unk,
    "added_token_flags": build_added_token_flags,
}


# --------------------------------------------------------------------------------------------------
# Test strings

COMMON_TEXTS = [
    "",
    " ",
    "   ",
    "Hello world",
    "Anna writes the quiet letter slowly, and it's useful.",
    "the cat's; IT'S we'LL he'Ll I'D",
    "They'll say we've I'm you'd don't",
    "she\u2019s it\u2019S that\u2019ll",
    "'\u017f it'\u017ftuff",
    "def f(x):\n\treturn x  +  1\n",
    "a   b",
    "a \n\n b",
    "one\r\ntwo\r\n\r\nend",
    "\r\n",
    "  \t\tx\t y  ",
    "end ",
    "aaaa aaaaaaa",
    "日本語です。東京へ",
    "カタカナ",
    "我们学习中文！",
    "Привет, мир!",
    "مرحبا بالعالم",
    "\U0001F44D\U0001F3FD \U0001F468\u200D\U0001F469\u200D\U0001F467 \U0001F3F3\uFE0F\u200D\U0001F308 \u2764\uFE0F",
    "cafe\u0301 caf\u00e9",
    "e\u0301\u0301 \u212B A\u030A",
    "12345678 3.14 1000000",
    "\u0661\u0662\u0663\u0664\u0665",
    "x\u00b2 y\u00b3 \u00bd",
    "a\u00a0b\u3000c",
    "rare \u9f98 \U0001D518 \u0928\u092e \uc548",
    "\u00dcn\u00efc\u00f6d\u00e9 \u00df",
]
# Changed by transformers' clean_up_tokenization_spaces when a family's config turns it on.
CLEANUP_TEXT = "Hi , there . Isn 't it ? Yes ! It 's , they 're I 'm we 've a ' b"
# The variant fixtures get only the first few common texts, to keep cases.json small.
FULL_COMMON = {"gpt2", "qwen2", "llama3", "smollm2", "llama2", "mistral"}


def special_texts(s0, s1):
    """Special tokens s0, s1 placed in text: middle, start, end, back to back, with whitespace."""
    return [
        f"hi{s0}there",
        f"{s0}hello",
        f"{s0} hello",
        f"hello{s0}",
        f"{s0}{s1}",
        f"{s0}{s0}{s1}",
        f"a {s0} b",
        f" {s0} ",
        f"a\n{s0}\nb",
        f"x\u00a0{s0}\u3000y",
    ]


LOOKALIKES = ["<|im_end", "< |im_end|>", "<|im_end|", "<s >", "< /s>", "<|endoftext|", "<|end of text|>"]

FAMILY_TEXTS = {
    "gpt2": special_texts("<|endoftext|>", "<|endoftext|>"),
    "qwen2": special_texts("<|im_end|>", "<|im_start|>") + [
        "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
        "<tool_call>{\"name\": \"f\"}</tool_call>",
        "x<tool_call>y",
        "<|endoftext|>",
        "<|im_start|>cafe\u0301<|im_end|>",
    ],
    "llama3": special_texts("<|eot_id|>", "<|begin_of_text|>") + [
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "say zyxwv and zyxwvu",
        "zyxwv",
        "A Quokka and a quokka",
        "\n    return x",
        "123456789 1234 12",
    ],
    "smollm2": special_texts("<|im_end|>", "<|im_start|>") + [
        "<|im_start|>user\nHi<|im_end|>\n",
        "emoji \U0001F600 dropped",
        "\U0001F600",
        "123456789 \u0661\u0662 \u00b2",
    ],
    "llama2": special_texts("</s>", "<s>") + [
        "<s>[INST] Hi [/INST]",
        "\u2581already\u2581marked \u2581",
        "\u9f98\u9f98\u9f98",
        "\U0001F600",
        "\u0007 bell and \u001b escape",
    ],
    "mistral": special_texts("</s>", "<s>") + [
        "<s>[INST] Hi [/INST]",
        "\u2581already\u2581marked \u2581",
        "\u9f98\u9f98\u9f98",
        "\U0001F600",
        " leading space",
    ],
    "byte_fallback_unk": special_texts("</s>", "<s>")[:5] + [
        "rare \u9f98 \U0001D518 \u0928\u092e \uc548",
        "\U0001F600",
        "\U0001F600\U0001F600\U0001F600",
        "\U0001F600a\U0001F600",
        "\U0001F600\u9f98",
        "\u9f98\U0001F600\u9f98",
        "a\U0001F600 \U0001F600b",
        "\U0001D518\U0001D52B\U0001D526",
    ],
    "added_token_flags": [
        "caf\u00e9 \u00dcN\u00cfC\u00d6D\u00c9 \u0130 \u03a3",
        "a <mask> b",
        "a   <mask>b",
        "a\u00a0<mask>",
        "a\u3000\n<mask>",
        "<mask>",
        "  <mask>",
        "a <sep>  b",
        "a <sep>\u00a0\u3000b",
        "<sep>\n\nx",
        "x <pad> y",
        "x\t<pad>\ty",
        "<mask><sep><pad>",
        "<sep> <mask>",
        "<|im_start|>",
        "<|im_start",
        "<|im_start|>x<|im",
        "<|im<|im_start|>",
        "cat concatenate cat!",
        "catalog xcatalog catalogs catalog.",
        "a catalog",
        "dog DOG Dog hotdog dogs dog",
        "<Norm> <NORM> <norm>",
        "<RAW> <raw> <Raw>",
        "hi<|endoftext|>there",
        "<|endoftext|><|endoftext|>",
        "HELLO World",
    ],
}
for _f in ("gpt2", "qwen2", "llama3", "smollm2", "llama2", "mistral"):
    FAMILY_TEXTS[_f] = FAMILY_TEXTS[_f] + LOOKALIKES


def texts_for(family):
    seen, out = set(), []
    common = COMMON_TEXTS if family in FULL_COMMON else COMMON_TEXTS[:5]
    extra = [CLEANUP_TEXT] if family in ("gpt2", "qwen2", "llama3") else []
    for t in common + extra + FAMILY_TEXTS[family]:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


# Pre-tokenizer checks (no vocab involved): HF's pre-tokenizer output for the normalized text.
PRETOKENIZE_FAMILIES = ["gpt2", "qwen2", "llama3", "smollm2", "mistral"]
PRETOKENIZE_EXTRA = [
    "it'Stuff IT'S it'\u017f it\u2019s 'd'll",
    "don't'll 're've'm",
    "12345 1234567 A1b22c333 3.14159",
    "x   \n  y",
    "a\n\n\n  b\r\n\r\n c",
    "a\u00a0\u00a0b \u3000\u3000c",
    "  leading and trailing  ",
    "\u00b9\u00b2\u00b3 \u216b\u2163 \u2460\u2461",
    "foo.bar(baz)!!  ??\n",
    "\u0661\u0662\u0663\u0664 \u0966\u0967",
    "\U0001F600\U0001F600 x",
    "\u2581already\u2581marked",
]


def pretokenize_pieces(raw, text, byte_level_family):
    normalized = raw.normalizer.normalize_str(text) if raw.normalizer is not None else text
    pieces = [p for p, _ in raw.pre_tokenizer.pre_tokenize_str(normalized)]
    if byte_level_family:
        pieces = [bytes(BYTE_INDEX[c] for c in p).decode("utf-8") for p in pieces]
    return normalized, pieces


def texts_without_specials(family):
    return set(COMMON_TEXTS[:5]) | set(FAMILY_TEXTS[family][:5]) | {"\U0001F600"}


# --------------------------------------------------------------------------------------------------
# Decode-only cases

def byte_level_decode_cases(vocab, specials):
    """Byte-level families: id lists for byte sequences that are not valid UTF-8."""
    def ids_of(hexbytes):
        out = []
        for b in bytes.fromhex(hexbytes):
            t = BYTE_CHAR[b]
            if t not in vocab:
                return None
            out.append(vocab[t])
        return out

    def tok(t):
        return vocab[t] if t in vocab else None

    cases = []
    plain = [(ids_of(h), w) for h, w in [
        ("E4", "a lone lead byte of a 3-byte sequence"),
        ("80", "a lone continuation byte"),
        ("E4B8", "a truncated 3-byte sequence (one U+FFFD)"),
        ("F09F98", "a truncated 4-byte sequence (one U+FFFD)"),
        ("E4B8E4B8AD", "a truncated sequence followed by a complete one"),
        ("C0AF", "an overlong encoding (C0 is never valid)"),
        ("E080", "E0 followed by a byte outside A0..BF (two U+FFFD)"),
        ("EDA080", "a UTF-16 surrogate encoded in UTF-8"),
        ("F4908080", "a code point above U+10FFFF"),
        ("FF41FE", "bytes FF and FE around an ASCII letter"),
        ("F09F9880", "a complete 4-byte sequence, one byte token at a time"),
    ]]
    for ids, what in plain:
        if ids is not None:
            cases.append((ids, what))
    h = tok("h")
    if h is not None and ids_of("E4B8") is not None:
        cases.append(([h] + ids_of("E4B8") + [h], "a truncated sequence between ASCII tokens"))
    if specials and ids_of("E4B8") is not None:
        cases.append((ids_of("E4") + [specials[0]] + ids_of("B8AD"),
                      "a special token inside a multi-byte sequence (skip_special_tokens joins the bytes)"))
    return cases


def byte_fallback_decode_cases(vocab):
    def b(hexbytes):
        return [vocab[f"<0x{x:02X}>"] for x in bytes.fromhex(hexbytes)]

    word = next(t for t in vocab if t.startswith("\u2581") and len(t) > 3 and t[1:].isalpha())
    w = vocab[word]
    return [
        (b("E4B8AD"), "a complete byte-fallback run (one character)"),
        (b("E4B8"), "a truncated run: one U+FFFD per byte"),
        (b("E4B8AD80"), "a valid run followed by a stray continuation byte: the whole run becomes U+FFFD per byte"),
        (b("41E4B8AD42"), "ASCII bytes around a character in one run"),
        (b("E4") + [w] + b("B8AD"), "a piece splits a sequence: each run is judged alone"),
        ([w] + b("E4B8AD") + [w], "byte run between pieces"),
        (b("20") + [w], "a leading <0x20> byte: Strip removes one leading space of the fused text"),
        ([vocab["\u2581"]] + [w], "a leading bare \u2581 token: Strip removes one leading space"),
        ([1, w, 2, w], "<s> and </s> inside the ids"),
        ([0, 0, w], "<unk> tokens"),
    ]


# --------------------------------------------------------------------------------------------------

def check_added_ids(tok, doc, family):
    for t in doc["added_tokens"]:
        got = tok.token_to_id(t["content"])
        if got != t["id"]:
            raise SystemExit(f"{family}: added token {t['content']!r} has id {got}, the file says {t['id']}")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                 "..", "tests", "text", "tokenizer", "golden")
    out_dir = os.path.normpath(out_dir)
    versions = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
                "python": platform.python_version()}
    for k, v in PINNED.items():
        if versions[k] != v:
            print(f"warning: {k} {versions[k]} is not the pinned {v}; the fixture records what ran",
                  file=sys.stderr)

    families_info, cases, decode_cases, pretokenize_cases = {}, [], [], []
    for family, build in FAMILIES.items():
        doc, config, info = build()
        fdir = os.path.join(out_dir, family)
        os.makedirs(fdir, exist_ok=True)
        tpath = os.path.join(fdir, "tokenizer.json")
        with open(tpath, "w", encoding="utf-8", newline="\n") as f:
            f.write(render_tokenizer_json(doc))
        with open(os.path.join(fdir, "tokenizer_config.json"), "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(config, ensure_ascii=False, indent=2) + "\n")

        raw = Tokenizer.from_file(tpath)
        check_added_ids(raw, doc, family)
        # Also check the file through a plain json round trip, so the layout is not what makes it load.
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "t.json")
            with open(p, "w", encoding="utf-8") as f:
                json.dump(doc, f, ensure_ascii=False)
            Tokenizer.from_file(p)
        hf = AutoTokenizer.from_pretrained(fdir)
        cleanup = bool(config.get("clean_up_tokenization_spaces", False))
        assert hf.clean_up_tokenization_spaces == cleanup, family

        with_special = raw.encode("x", add_special_tokens=True).ids
        without = raw.encode("x", add_special_tokens=False).ids
        hf_with = hf.encode("x", add_special_tokens=True)
        adds = [i for i in hf_with if i not in without]
        both = hf_with != without or with_special != without

        agree = True

        def compare_decoding(record):
            nonlocal agree
            for key, skip in (("decoded", False), ("decoded_skip_special", True)):
                r = raw.decode(record["ids"], skip_special_tokens=skip)
                if r != record[key]:
                    record["raw_" + key] = r
                    if (hf.clean_up_tokenization(r) if cleanup else r) != record[key]:
                        agree = False

        texts = texts_for(family)
        for text in texts:
            # add_special_tokens=false only where it changes something, and for a few texts.
            for flag in ([True, False] if both and text in texts_without_specials(family) else [True]):
                ids = hf.encode(text, add_special_tokens=flag)
                case = {"family": family, "text": text, "add_special_tokens": flag, "ids": ids,
                        "tokens": hf.convert_ids_to_tokens(ids),
                        "decoded": hf.decode(ids, skip_special_tokens=False),
                        "decoded_skip_special": hf.decode(ids, skip_special_tokens=True)}
                raw_ids = raw.encode(text, add_special_tokens=flag).ids
                if raw_ids != ids:
                    case["raw_ids"] = raw_ids
                    agree = False
                compare_decoding(case)
                cases.append(case)

        vocab = doc["model"]["vocab"]
        specials = [t["id"] for t in doc["added_tokens"] if t["special"]]
        if doc["model"]["byte_fallback"]:
            dcs = byte_fallback_decode_cases(vocab)
        else:
            dcs = byte_level_decode_cases(vocab, specials)
        dcs.append(([300, 100000, 300], "id 100000 is neither in the vocab nor an added token: it is skipped "
                                         "(its token is null)"))
        for ids, what in dcs:
            d = {"family": family, "ids": ids, "tokens": hf.convert_ids_to_tokens(ids),
                 "decoded": hf.decode(ids, skip_special_tokens=False),
                 "decoded_skip_special": hf.decode(ids, skip_special_tokens=True), "what": what}
            compare_decoding(d)
            decode_cases.append(d)

        # Held-out generated text (not in the fixture): transformers and tokenizers must agree on it.
        backend = json.loads(hf.backend_tokenizer.to_str())
        held_out = make_corpus(seed=1000 + len(families_info), target_bytes=40_000)
        held_out_differing = 0
        for line in held_out:
            ids = hf.encode(line)
            r = raw.decode(ids, skip_special_tokens=False)
            if ids != raw.encode(line).ids or hf.decode(ids) != (hf.clean_up_tokenization(r) if cleanup else r):
                held_out_differing += 1
        if family in PRETOKENIZE_FAMILIES:
            byte_level_family = not doc["model"]["byte_fallback"]
            seen = set()
            for text in COMMON_TEXTS + PRETOKENIZE_EXTRA:
                if text in seen or not text:
                    continue
                seen.add(text)
                normalized, pieces = pretokenize_pieces(raw, text, byte_level_family)
                pretokenize_cases.append({"family": family, "text": text, "normalized": normalized,
                                          "pieces": pieces})

        families_info[family] = {
            "transformers_class": type(hf).__name__,
            "clean_up_tokenization_spaces": cleanup,
            "merges_format": info["merges_format"],
            "vocab_size": len(vocab),
            "merges": len(doc["model"]["merges"]),
            "added_tokens": len(doc["added_tokens"]),
            "special_tokens_added_on_encode": adds,
            "raw_tokenizers_agree": agree,
            "held_out_lines_checked": len(held_out),
            "held_out_lines_differing": held_out_differing,
            "transformers_backend_matches_file": all(
                backend[k] == doc[k] for k in ("added_tokens", "normalizer", "pre_tokenizer", "post_processor",
                                               "decoder")),
            "notes": info["notes"],
        }
        print(f"{family}: vocab {len(vocab)}, merges {len(doc['model']['merges'])}, "
              f"{sum(1 for c in cases if c['family'] == family)} cases, class {type(hf).__name__}, "
              f"raw agrees: {agree}, held-out lines differing: {held_out_differing}/{len(held_out)}")

    fixture = {"generator": "tools/make_golden_tokenizers.py", "versions": versions,
               "families": families_info, "cases": cases, "decode_cases": decode_cases}
    with open(os.path.join(out_dir, "cases.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(render_cases(fixture))
    with open(os.path.join(out_dir, "pretokenize.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write("{\n" + f'  "generator": "tools/make_golden_tokenizers.py",\n  "versions": {dumps(versions)},\n'
                '  "cases": [\n' + ",\n".join(f"    {dumps(c)}" for c in pretokenize_cases) + "\n  ]\n}\n")


def render_cases(fixture):
    lines = ["{"]
    for key in ("generator", "versions"):
        lines.append(f'  "{key}": {dumps(fixture[key])},')
    lines.append('  "families": {')
    fam = list(fixture["families"].items())
    for i, (name, info) in enumerate(fam):
        body = json.dumps(info, ensure_ascii=False, indent=2).replace("\n", "\n    ")
        lines.append(f"    {dumps(name)}: {body}" + ("," if i + 1 < len(fam) else ""))
    lines.append("  },")
    for key in ("cases", "decode_cases"):
        items = fixture[key]
        lines.append(f'  "{key}": [')
        lines += [f"    {dumps(c)}" + ("," if j + 1 < len(items) else "") for j, c in enumerate(items)]
        lines.append("  ]" + ("," if key == "cases" else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the reference token ids for the tokenizer tests.

An independent implementation, Hugging Face `transformers` reading the same GGUF file
(its own GGUF-to-tokenizer conversion), encodes every test string; the ids are
committed under fixtures/tokenizer/ and the Rust tests compare against them.

    pip install transformers gguf
    python3 model/scripts/tokenizer-fixtures.py "$(bash model/scripts/fetch-test-model.sh)"
"""
import json
import os
import sys

import gguf
from tokenizers import pre_tokenizers
import transformers
from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_TOKENIZER_MAPPING, convert_gguf_tokenizer

DIGIT_SPLITTING = {"starcoder", "smollm", "refact", "codeshell"}
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "fixtures", "tokenizer")

BASE = [
    "", " ", "  ", "\t", "\n", "\r\n", "\n\n\n", "    ", "        x", "\t\tindent",
    "fn main() {\n    println!(\"hello, world\");\n}\n",
    "def add(a, b):\n    return a + b\n",
    "class Foo(Bar):\n    def __init__(self, x: int) -> None:\n        self.x = x\n",
    "impl<T: Clone + Send> Iterator for Wrapper<T> {\n    type Item = T;\n}",
    "let v: Vec<u32> = (0..10).map(|i| i * 2).collect();",
    "#include <stdio.h>\nint main(void) { return 0; }",
    "const f = async (x) => { await g(x); };",
    "SELECT id, name FROM users WHERE age >= 21 ORDER BY name;",
    "<div class=\"row\"><span>{{ value }}</span></div>",
    "if x == 1 && y != 2 || !z { return; }",
    "a += 1; b -= 2; c *= 3; d /= 4; e %= 5; f <<= 6; g >>= 7;",
    "x = [1, 2, 3]\ny = {\"k\": (4, 5)}\n",
    "// comment with trailing spaces   \n/* block */",
    "# TODO: fix this\n\"\"\"docstring\"\"\"",
    "12345678901234567890", "3.14159e-10", "0xDEADBEEF", "1_000_000", "v1.2.3-rc.4",
    "héllo wörld", "naïve café", "Ελληνικά", "Русский текст", "日本語のテキスト", "中文字符", "한국어",
    "emoji 😀🦀🚀 here", "👨‍👩‍👧 family", "mixed ascii和中文", "tab\tseparated\tvalues",
    "it's don't we're they've I'm we'll he'd", "IT'S DON'T",
    "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|endoftext|>", "<|im_start|>user",
    "<file_sep>", "<filename>main.rs", "<repo_name>", "<fim_prefix>def f():<fim_suffix>", "<｜fim▁begin｜>",
    "< PRE >", "<PRE> <SUF> <MID>", "&lt;tag&gt;", "<<<>>>", "<|", "|>",
    "\u00a0non-breaking", "zero\u200bwidth", "\u2028line sep", "combining e\u0301", "\ufeffbom",
    "    \n    \n", " \n \n ", "trailing   ", "   leading", "\r", "a\rb", "\x00nul", "\x7f",
    "~!@#$%^&*()_+`-=[]\\{}|;':\",./<>?",
    "x" * 300, "ab" * 150, " " * 64, "\n" * 20,
]


def generated():
    words = ["fn", "let", "self", "return", "None", "x", "value", "Vec", "i32", "😀", "é", "中", "0", "42", "_", "::", "->", "=>"]
    seps = [" ", "", "\n", "\t", "  ", "(", ")", ", ", "."]
    out = []
    state = 12345
    for _ in range(160):
        parts = []
        for _ in range(1 + state % 9):
            state = (state * 1103515245 + 12345) % (2 ** 31)
            parts.append(words[state % len(words)])
            state = (state * 1103515245 + 12345) % (2 ** 31)
            parts.append(seps[state % len(seps)])
        out.append("".join(parts))
    return out


def read_tokenizer_metadata(path):
    """The metadata transformers' converter takes, read with the `gguf` package
    (transformers' own GGUF reader needs torch, which we do not install)."""
    reader = gguf.GGUFReader(path)
    fields = {name: field.contents() for name, field in reader.fields.items()}
    renames = GGUF_TOKENIZER_MAPPING["tokenizer"]
    tokenizer = {name: fields[f"tokenizer.{key}"] for key, name in renames.items() if f"tokenizer.{key}" in fields}
    return fields["general.architecture"], tokenizer


def main():
    path = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "smollm2"
    architecture, tokenizer_dict = read_tokenizer_metadata(path)
    tok, _ = convert_gguf_tokenizer(architecture, tokenizer_dict)
    if tokenizer_dict.get("pre_tokenizer_type") in DIGIT_SPLITTING:
        # These families' own tokenizer.json (StarCoder's, reused by SmolLM2) split
        # every digit before the byte-level regex, and llama.cpp does the same for
        # these `tokenizer.ggml.pre` values; transformers' GGUF converter (5.x) leaves
        # that step out. Put it back, so the reference is the model's real tokenizer.
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), tok.pre_tokenizer])
    # Text that spells a special token is text: encode it as such.
    tok.encode_special_tokens = True
    cases = []
    for text in BASE + generated():
        ids = tok.encode(text, add_special_tokens=False).ids
        cases.append({"text": text, "ids": ids})
    os.makedirs(OUT, exist_ok=True)
    target = os.path.join(OUT, f"{name}.json")
    with open(target, "w", encoding="utf-8") as f:
        json.dump({"model": os.path.basename(path), "reference": "transformers " + transformers.__version__, "cases": cases}, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {target}")


if __name__ == "__main__":
    main()

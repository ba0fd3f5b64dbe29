#!/usr/bin/env python3
"""Writes a GGUF file with the exact tensor shapes, quantization mix and special tokens
of a real fill-in-the-middle code model, and random weights.

Speed depends on shapes and formats, not on weight values, so these files measure what
a real model costs (ours and llama.cpp's, which loads the same file) without the model
hub. The vocabulary is the test model's byte-level BPE (SmolLM2's tokens and merges)
plus the family's special tokens, padded with plain tokens to the real vocabulary size
so the output layer costs what it really costs.

    synthetic-model.py SHAPE QUANT OUT [--test-model PATH]

SHAPE: qwen2.5-coder-0.5b | qwen2.5-coder-1.5b | tiny-fim (2 small layers, for tests)
QUANT: q8_0 | q4_k_m (llama.cpp's Q4_K_M rule: Q4_K, with Q6_K for the output and for
       some attn_v/ffn_down layers; rows that are not whole 256-value blocks fall back to
       Q5_0 and Q8_0, as llama.cpp does)
"""

import argparse
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

SHAPES = {
    # Qwen2.5-Coder-0.5B: config.json of Qwen/Qwen2.5-Coder-0.5B (tied embeddings).
    "qwen2.5-coder-0.5b": dict(layers=24, embd=896, heads=14, kv_heads=2, ff=4864, vocab=151936, ctx=32768),
    # Qwen2.5-Coder-1.5B (tied embeddings).
    "qwen2.5-coder-1.5b": dict(layers=28, embd=1536, heads=12, kv_heads=2, ff=8960, vocab=151936, ctx=32768),
    # Small enough for unit and end-to-end tests; the real vocabulary so prompts tokenize as they would.
    "tiny-fim": dict(layers=2, embd=64, heads=4, kv_heads=2, ff=128, vocab=49160, ctx=4096),
}

# Qwen2.5-Coder's special tokens (those the SmolLM2 vocabulary lacks are appended).
SPECIAL = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
           "<|repo_name|>", "<|file_sep|>", "<|im_start|>", "<|im_end|>"]

# Bytes per block and values per block of the formats written here.
BLOCK = {Q.Q8_0: (34, 32), Q.Q5_0: (22, 32), Q.Q4_K: (144, 256), Q.Q6_K: (210, 256), Q.F32: (4, 1)}


def f16_bytes(value, count):
    return np.full(count, value, dtype=np.float16).view(np.uint8).reshape(count, 2)


def random_blocks(rng, qtype, rows, cols, scale):
    """Random quantized rows: random quants, every block scale small and fixed, so
    activations stay finite through any number of layers."""
    size, per = BLOCK[qtype]
    blocks = rows * cols // per
    out = rng.integers(0, 256, size=(blocks, size), dtype=np.uint8)
    if qtype == Q.Q8_0:  # d, qs[32]
        out[:, 0:2] = f16_bytes(scale / 64, blocks)
    elif qtype == Q.Q5_0:  # d, qh[4], qs[16]
        out[:, 0:2] = f16_bytes(scale / 8, blocks)
    elif qtype == Q.Q4_K:  # d, dmin, scales[12], qs[128]
        out[:, 0:2] = f16_bytes(scale / 256, blocks)
        out[:, 2:4] = f16_bytes(scale / 256, blocks)
    elif qtype == Q.Q6_K:  # ql[128], qh[64], scales[16] (int8), d
        out[:, 192:208] = rng.integers(1, 64, size=(blocks, 16), dtype=np.uint8)
        out[:, 208:210] = f16_bytes(scale / 1024, blocks)
    return out.reshape(rows, cols // per * size)


def use_more_bits(i, n):
    """llama.cpp's rule for the layers Q4_K_M gives more bits (attn_v, ffn_down)."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def choose(quant, name, layer, layers, cols):
    if quant == "q8_0":
        return Q.Q8_0
    if name == "token_embd":  # tied: the output projection, Q6_K in Q4_K_M
        qtype = Q.Q6_K
    elif name in ("attn_v", "ffn_down") and use_more_bits(layer, layers):
        qtype = Q.Q6_K
    else:
        qtype = Q.Q4_K
    if cols % 256 != 0:  # llama.cpp's fallback for rows that are not whole K-quant blocks
        qtype = {Q.Q4_K: Q.Q5_0, Q.Q6_K: Q.Q8_0}[qtype]
    return qtype


def vocabulary(test_model, size):
    reader = gguf.GGUFReader(test_model)
    tokens = list(reader.fields["tokenizer.ggml.tokens"].contents())
    types = list(reader.fields["tokenizer.ggml.token_type"].contents())
    merges = list(reader.fields["tokenizer.ggml.merges"].contents())
    for special in SPECIAL:
        if special not in tokens:
            tokens.append(special)
            types.append(gguf.TokenType.CONTROL)
    if len(tokens) > size:
        sys.exit(f"the base vocabulary ({len(tokens)}) is larger than {size}")
    # Plain tokens no text encodes to (no merge makes them), so the output layer has its real size.
    tokens += [f"<|unused_{i}|>" for i in range(size - len(tokens))]
    types += [gguf.TokenType.UNUSED] * (size - len(types))
    return tokens, types, merges


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("quant", choices=["q8_0", "q4_k_m"])
    parser.add_argument("out")
    parser.add_argument("--test-model", required=True, help="the SmolLM2 test model (its vocabulary is used)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    s = SHAPES[args.shape]
    rng = np.random.default_rng(args.seed)
    head_dim = s["embd"] // s["heads"]
    kv = s["kv_heads"] * head_dim
    tokens, types, merges = vocabulary(args.test_model, s["vocab"])

    w = gguf.GGUFWriter(args.out, "qwen2")
    w.add_name(f"synthetic {args.shape} {args.quant} (random weights)")
    w.add_context_length(s["ctx"])
    w.add_embedding_length(s["embd"])
    w.add_block_count(s["layers"])
    w.add_feed_forward_length(s["ff"])
    w.add_head_count(s["heads"])
    w.add_head_count_kv(s["kv_heads"])
    w.add_rope_freq_base(1_000_000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if args.quant == "q8_0" else gguf.LlamaFileType.MOSTLY_Q4_K_M)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    ids = {t: i for i, t in enumerate(tokens)}
    w.add_eos_token_id(ids["<|endoftext|>"])
    w.add_pad_token_id(ids["<|endoftext|>"])
    w.add_bos_token_id(ids["<|endoftext|>"])
    w.add_add_bos_token(False)
    w.add_uint32("tokenizer.ggml.fim_pre_token_id", ids["<|fim_prefix|>"])
    w.add_uint32("tokenizer.ggml.fim_suf_token_id", ids["<|fim_suffix|>"])
    w.add_uint32("tokenizer.ggml.fim_mid_token_id", ids["<|fim_middle|>"])
    w.add_uint32("tokenizer.ggml.fim_pad_token_id", ids["<|fim_pad|>"])
    w.add_uint32("tokenizer.ggml.fim_rep_token_id", ids["<|repo_name|>"])
    w.add_uint32("tokenizer.ggml.fim_sep_token_id", ids["<|file_sep|>"])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    def matrix(name, layer, rows, cols):
        kind = name.split(".")[-2] if layer is not None else name.split(".")[0]
        qtype = choose(args.quant, kind, layer or 0, s["layers"], cols)
        # Weights of about 1/sqrt(cols) keep every activation near 1, as trained weights do.
        w.add_tensor(name, random_blocks(rng, qtype, rows, cols, cols ** -0.5), raw_dtype=qtype)

    def vector(name, n, value=None):
        data = np.full(n, value, dtype=np.float32) if value is not None else \
            (rng.standard_normal(n).astype(np.float32) * 0.02)
        w.add_tensor(name, data)

    matrix("token_embd.weight", None, s["vocab"], s["embd"])
    vector("output_norm.weight", s["embd"], 1.0)
    for i in range(s["layers"]):
        b = f"blk.{i}."
        vector(b + "attn_norm.weight", s["embd"], 1.0)
        matrix(b + "attn_q.weight", i, s["embd"], s["embd"])
        vector(b + "attn_q.bias", s["embd"])
        matrix(b + "attn_k.weight", i, kv, s["embd"])
        vector(b + "attn_k.bias", kv)
        matrix(b + "attn_v.weight", i, kv, s["embd"])
        vector(b + "attn_v.bias", kv)
        matrix(b + "attn_output.weight", i, s["embd"], s["embd"])
        vector(b + "ffn_norm.weight", s["embd"], 1.0)
        matrix(b + "ffn_gate.weight", i, s["ff"], s["embd"])
        matrix(b + "ffn_up.weight", i, s["ff"], s["embd"])
        matrix(b + "ffn_down.weight", i, s["embd"], s["ff"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the test model (SmolLM2-135M, real weights) with Qwen2.5-Coder's
fill-in-the-middle tokens added to its vocabulary, so prompts take the FIM layout with
a real model behind them: what the prompt layouts and KV reuse are measured on when no
real FIM model can be fetched. The new tokens' embeddings are copies of existing special
tokens' (the model was never trained on them): the suffix and middle markers read as
line breaks, so after the middle marker the model writes the code that follows, from
everything before it. Its answers are real language-model continuations, not trained
fill-in-the-middle ones.

    fim-test-model.py TEST_MODEL OUT
"""

import sys

import numpy as np
import gguf

ADDED = ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]
# Existing tokens whose embeddings the added ones copy ("Ċ" is the byte-level line break).
COPY = ["<filename>", "Ċ", "Ċ", "<|endoftext|>", "<repo_name>", "<file_sep>"]


def main():
    source, out = sys.argv[1], sys.argv[2]
    reader = gguf.GGUFReader(source)
    arch = reader.fields["general.architecture"].contents()
    tokens = list(reader.fields["tokenizer.ggml.tokens"].contents())
    types = list(reader.fields["tokenizer.ggml.token_type"].contents())
    ids = {t: i for i, t in enumerate(tokens)}
    copies = [ids[c] for c in COPY]
    for t in ADDED:
        tokens.append(t)
        types.append(gguf.TokenType.CONTROL)
    writer = gguf.GGUFWriter(out, arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type"):
            continue
        if key == f"{arch}.vocab_size":
            writer.add_uint32(key, len(tokens))
            continue
        value_type = field.types[0]
        value = field.contents()
        if value_type == gguf.GGUFValueType.ARRAY:
            writer.add_array(key, value)
        else:
            writer.add_key_value(key, value, value_type)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    new = {t: len(tokens) - len(ADDED) + i for i, t in enumerate(ADDED)}
    writer.add_uint32("tokenizer.ggml.fim_pre_token_id", new["<|fim_prefix|>"])
    writer.add_uint32("tokenizer.ggml.fim_suf_token_id", new["<|fim_suffix|>"])
    writer.add_uint32("tokenizer.ggml.fim_mid_token_id", new["<|fim_middle|>"])
    writer.add_uint32("tokenizer.ggml.fim_pad_token_id", new["<|fim_pad|>"])
    for tensor in reader.tensors:
        data = np.array(tensor.data)
        if tensor.name == "token_embd.weight":
            data = np.concatenate([data, data[copies]], axis=0)
        writer.add_tensor(tensor.name, data, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a random-weight Hugging Face checkpoint folder with the exact shape of a real model, for
converter and engine benchmarks (`deepvault model convert`, then `deepvault bench`).

Standard library only. Weights are BF16 with magnitudes in [2^-7, 2^-5) and random signs (random
mantissas, fixed exponent), norms 1.0, biases small: enough for realistic throughput numbers, not
for meaningful text. The tokenizer files are copied from --tokenizer-dir.

  python3 tools/make_random_hf_model.py --shape r1-distill-qwen-1.5b \\
      --tokenizer-dir ../shared/fixtures/tokenizers/qwen3 --out /tmp/r1q15-random
"""
import argparse
import json
import os
import shutil
import struct

SHAPES = {
    # deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B config.json
    "r1-distill-qwen-1.5b": {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 1536,
        "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
        "num_key_value_heads": 2, "max_position_embeddings": 131072, "rms_norm_eps": 1e-06,
        "rope_theta": 10000, "tie_word_embeddings": False, "vocab_size": 151936,
        "bos_token_id": 151643, "eos_token_id": 151643, "torch_dtype": "bfloat16",
    },
}

SIGN_TO_HIGH_BYTE = bytes(0x3C if b < 128 else 0xBC for b in range(256))


def random_bf16(n):
    data = bytearray(os.urandom(2 * n))
    data[1::2] = os.urandom(n).translate(SIGN_TO_HIGH_BYTE)  # little-endian: high byte second
    return bytes(data)


def const_bf16(value, n):
    return struct.pack("<f", value)[2:4] * n


def tensors(c):
    h, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    d = h // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * d, c["num_key_value_heads"] * d
    yield "model.embed_tokens.weight", [v, h], None
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", [h], 1.0
        yield p + "self_attn.q_proj.weight", [q, h], None
        yield p + "self_attn.q_proj.bias", [q], None
        yield p + "self_attn.k_proj.weight", [kv, h], None
        yield p + "self_attn.k_proj.bias", [kv], None
        yield p + "self_attn.v_proj.weight", [kv, h], None
        yield p + "self_attn.v_proj.bias", [kv], None
        yield p + "self_attn.o_proj.weight", [h, q], None
        yield p + "post_attention_layernorm.weight", [h], 1.0
        yield p + "mlp.gate_proj.weight", [f, h], None
        yield p + "mlp.up_proj.weight", [f, h], None
        yield p + "mlp.down_proj.weight", [h, f], None
    yield "model.norm.weight", [h], 1.0
    if not c["tie_word_embeddings"]:
        yield "lm_head.weight", [v, h], None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    config = SHAPES[args.shape]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        src = os.path.join(args.tokenizer_dir, name)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(args.out, name))
    header, offset, specs = {}, 0, list(tensors(config))
    for name, shape, _ in specs:
        n = 1
        for s in shape:
            n *= s
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + 2 * n]}
        offset += 2 * n
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(os.path.join(args.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for name, shape, value in specs:
            n = header[name]["data_offsets"][1] // 2 - header[name]["data_offsets"][0] // 2
            f.write(random_bf16(n) if value is None else const_bf16(value, n))
    print(f"wrote {args.out}: {len(specs)} tensors, {offset / 1e9:.2f} GB")


if __name__ == "__main__":
    main()

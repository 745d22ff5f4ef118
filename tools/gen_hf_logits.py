#!/usr/bin/env python3
"""Builds tiny random-weight HF checkpoints of the architectures deepvault runs, and records HF transformers'
logits for them, as references for the engine's correctness tests.

Run on a machine with torch, transformers, safetensors and tokenizers (the GPU machine has them):

    python3 tools/gen_hf_logits.py --out /tmp/hf-models && tar czf hf-models.tar.gz -C /tmp hf-models

For each model NAME the output folder NAME/ holds a normal HF checkpoint (config.json, *.safetensors [+ index],
tokenizer.json, tokenizer_config.json, generation_config.json) plus:
  reference.json  {"prompts": [[ids]...], "logits_file": "logits.f32", "vocab_size": V,
                   "shapes": [[n_tokens, V]...], "features": {...}, "torch": ver, "transformers": ver}
  logits.f32      little-endian float32, the prompts' logits concatenated: for each prompt (n_tokens, V), row-major,
                  one row per position (the logits predicting the next token), computed on CPU in float32 with
                  eager attention.
Weights are random (fixed seeds); what matters is that every architectural feature is exercised.
"""
import argparse
import json
import os

import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

VOCAB = 512
TRAIN_TEXT = [
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
    "深度求索致力于探索通用人工智能。模型在本地部署，数据不出内网。",
    "def main():\n    print('hello world')\n    return 0\n",
    "The quick brown fox jumps over the lazy dog. 1234567890",
] * 50


def make_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|bos|>", "<|eos|>", "<|pad|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(TRAIN_TEXT, trainer=trainer)
    assert tok.get_vocab_size() <= VOCAB, tok.get_vocab_size()
    return tok


def base_config(**kw):
    c = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=4096, rms_norm_eps=1e-6, bos_token_id=0,
             eos_token_id=1, pad_token_id=2, torch_dtype="float32")
    c.update(kw)
    return c


MODELS = [
    # name, config class, model class, config kwargs, save dtype, shard size
    ("tiny-llama", "LlamaConfig", "LlamaForCausalLM",
     base_config(rope_theta=500000.0, tie_word_embeddings=False, max_position_embeddings=131072,
                 rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                               "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
     torch.float32, "150KB"),
    ("tiny-llama-linear", "LlamaConfig", "LlamaForCausalLM",
     base_config(rope_theta=10000.0, tie_word_embeddings=True, num_key_value_heads=4,
                 rope_scaling={"rope_type": "linear", "factor": 2.0}),
     torch.float16, None),
    ("tiny-qwen2", "Qwen2Config", "Qwen2ForCausalLM",
     base_config(rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False,
                 rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 1024}),
     torch.float32, None),
    ("tiny-qwen3", "Qwen3Config", "Qwen3ForCausalLM",
     base_config(rope_theta=1000000.0, tie_word_embeddings=True, head_dim=32, attention_bias=False),
     torch.bfloat16, None),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tok = make_tokenizer()
    sentence = tok.encode("Once upon a time, 深度求索 deployed a model locally.").ids
    gen = torch.Generator().manual_seed(1234)
    prompts = [
        [0],
        [0] + sentence,
        [0] + torch.randint(3, VOCAB, (40,), generator=gen).tolist(),
    ]
    for i, (name, cfg_cls, model_cls, cfg_kw, dtype, shard) in enumerate(MODELS):
        torch.manual_seed(100 + i)
        config = getattr(transformers, cfg_cls)(**cfg_kw)
        config._attn_implementation = "eager"
        model = getattr(transformers, model_cls)(config).eval()
        # Make every parameter (norm weights and biases too) random so no feature hides behind ones and zeros.
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if p.dim() == 1:
                    p.copy_(1.0 + 0.1 * torch.randn_like(p) if "norm" in pname else 0.1 * torch.randn_like(p))
                else:
                    p.copy_(torch.randn_like(p) * (0.5 / p.shape[-1] ** 0.5) * 4)
        # The reference runs on exactly the weights saved: round through the saved dtype.
        model = model.to(dtype).to(torch.float32)
        d = os.path.join(args.out, name)
        save_model = getattr(transformers, model_cls)(config).eval()
        save_model.load_state_dict(model.state_dict())
        save_model = save_model.to(dtype)
        save_kwargs = {"safe_serialization": True}
        if shard:
            save_kwargs["max_shard_size"] = shard
        save_model.save_pretrained(d, **save_kwargs)
        tok.save(os.path.join(d, "tokenizer.json"))
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"bos_token": "<|bos|>", "eos_token": "<|eos|>", "pad_token": "<|pad|>",
                       "add_bos_token": True, "tokenizer_class": "PreTrainedTokenizerFast",
                       "model_max_length": 4096}, f, indent=1)
        shapes = []
        with open(os.path.join(d, "logits.f32"), "wb") as f:
            for p in prompts:
                with torch.no_grad():
                    logits = model(torch.tensor([p])).logits[0].to(torch.float32).contiguous()
                shapes.append(list(logits.shape))
                f.write(logits.numpy().astype("<f4").tobytes())
        ref = {"prompts": prompts, "logits_file": "logits.f32", "vocab_size": VOCAB, "shapes": shapes,
               "saved_dtype": str(dtype).replace("torch.", ""), "architecture": model_cls,
               "features": {k: cfg_kw.get(k) for k in ("rope_scaling", "tie_word_embeddings", "head_dim",
                                                        "num_key_value_heads", "rope_theta")},
               "torch": torch.__version__, "transformers": transformers.__version__}
        with open(os.path.join(d, "reference.json"), "w") as f:
            json.dump(ref, f, indent=1)
        print(name, "saved", sorted(os.listdir(d)), "logits", shapes)


if __name__ == "__main__":
    main()

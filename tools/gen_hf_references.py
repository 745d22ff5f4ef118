#!/usr/bin/env python3
"""Produces reference outputs from Hugging Face `tokenizers` and `transformers` for deepvault's tests.

Run on a machine with `tokenizers`, `transformers` and `jinja2` installed (the GPU machine has them); the outputs
are committed under tests/fixtures/hf-reference/ and our C++ tokenizer and chat-template renderer must match them
exactly.

    python3 tools/gen_hf_references.py --repo . --out tests/fixtures/hf-reference

Inputs (all in the repository):
  - tokenizer.json files: tests/fixtures/tokenizers/hf/<name>.tokenizer.json[.gz], plus --tokenizer NAME=PATH
  - chat templates: tests/fixtures/chat/<name>.tokenizer_config.json
Outputs:
  - tokenizer_ids.jsonl:  {"tokenizer": name, "text": str, "ids": [int]}   (add_special_tokens=False)
  - chat_templates.jsonl: {"template": name, "messages": [...], "tools": [...]|null, "add_generation_prompt": bool,
                           "kwargs": {...}, "rendered": str}  or  {..., "error": str} when the template raises.
"""
import argparse
import glob
import gzip
import json
import os
import sys

# ---------------------------------------------------------------------------------------------------------------
# Texts: Chinese, English, code, emoji, combining marks, full-width forms, digit runs, whitespace runs, mixtures.
TEXTS = [
    "",
    " ",
    "  ",
    "\n",
    "\n\n\n",
    "\t\tindented\twith tabs",
    "Hello world",
    " Hello world",
    "Hello, World! How are you doing today?",
    "I'm sure they'll say it's fine—we've done it before.",
    "DON'T SHOUT! I'LL BE THERE AT 5PM.",
    "深度求索（DeepSeek）致力于探索通用人工智能的本质。",
    "中华人民共和国民法典第一千二百六十条：本法自2021年1月1日起施行。",
    "第一条 为了保护民事主体的合法权益，调整民事关系，维护社会和经济秩序，制定本法。",
    "繁體中文測試：臺灣、香港與澳門的資訊處理。",
    "日本語のテキストも混ざっています。カタカナとひらがな。",
    "한국어 문장도 포함되어 있습니다.",
    "Ελληνικά και русский текст в одном предложении.",
    "مرحبا بالعالم",
    "हिन्दी पाठ का उदाहरण",
    "emoji: 😀😃😄😁 👨‍👩‍👧‍👦 🇨🇳🇺🇸 ❤️ 🤖",
    "combining: e\u0301 a\u0300 n\u0303 o\u0308 Å A\u030a",
    "ＦＵＬＬ－ＷＩＤＴＨ　ｔｅｘｔ　１２３４５！？",
    "全角标点：，。！？；：“”‘’（）【】《》",
    "1234567890",
    "3.14159265358979323846264338327950288419716939937510",
    "Phone: +86 138-0013-8000, ID 110101199003077777",
    "PPR-9087 和 三码 合一",
    "    four leading spaces",
    "trailing spaces    ",
    "many     internal      spaces",
    "line one\nline two\r\nline three\rline four",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "#include <vector>\nint main() { std::vector<int> v{1, 2, 3}; return v.size(); }",
    "fn main() {\n    let s = String::from(\"你好\");\n    println!(\"{s}\");\n}\n",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "<html><body><p class=\"x\">Hello &amp; 你好</p></body></html>",
    "{\"key\": [1, 2.5, true, null], \"中文\": \"值\"}",
    "https://example.com/path?q=deepseek&lang=zh-CN#section-2",
    "user@example.org; admin+test@sub.example.co.uk",
    "$$\\int_0^\\infty e^{-x^2} dx = \\frac{\\sqrt{\\pi}}{2}$$",
    "<think>\n用户问的是什么？\n</think>\n\n答案是42。",
    "<｜begin▁of▁sentence｜>literal special token text<｜end▁of▁sentence｜>",
    "<|im_start|>user\nhello<|im_end|>",
    "ǅ ǈ ǋ ǲ ß ẞ ﬁ ﬂ İ ı",
    "\u200b\u200c\u200d\ufeff zero-width",
    "a" * 300,
    "哈" * 100,
    "0" * 64,
    "The quick brown fox jumps over the lazy dog. " * 5,
    "模型在本地部署，数据不出内网，满足金融、医疗和法律行业的合规要求。Local deployment keeps data on-premises.",
    "Mixed中文English混合123数字abc",
    "   \n   \n\t  mixed whitespace runs \u3000\u3000 ideographic spaces",
    "¡¿ «» ‹› „“ … · • ° ± × ÷ ≤ ≥ ≠ ∞ € £ ¥ ₹",
    "x = y ** 2 // 3 != z && a || b >> 4 <<= 5",
    "'s 't 're 've 'm 'll 'd 'S 'T 'RE",
    "A\u00a0non-breaking\u00a0space",
    "🙂" * 10,
]

# ---------------------------------------------------------------------------------------------------------------
# Conversations for chat templates.
SYSTEM = {"role": "system", "content": "You are a helpful assistant. 你是一个有帮助的助手。"}
U1 = {"role": "user", "content": "What is the capital of France?"}
A1 = {"role": "assistant", "content": "The capital of France is Paris."}
U2 = {"role": "user", "content": "中国的首都是哪里？"}
A2_THINK = {"role": "assistant", "content": "<think>\nThe user asks about China.\n</think>\n\n北京。"}
A2_REASON = {"role": "assistant", "content": "北京。", "reasoning_content": "The user asks about China's capital."}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. 北京"},
                           "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    },
}
TOOL_CALL_MSG = {
    "role": "assistant",
    "content": "",
    "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "北京", "unit": "celsius"}}}],
}
TOOL_CALL_MSG_STR_ARGS = {
    "role": "assistant",
    "content": None,
    "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\": \"北京\"}"}}],
}
TOOL_RESULT = {"role": "tool", "tool_call_id": "call_1", "name": "get_weather",
               "content": "{\"temperature\": 21, \"condition\": \"晴\"}"}

CONVERSATIONS = [
    ("single_user", [U1], None, {}),
    ("system_user", [SYSTEM, U1], None, {}),
    ("multi_turn", [SYSTEM, U1, A1, U2], None, {}),
    ("multi_turn_no_system", [U1, A1, U2], None, {}),
    ("history_with_think", [U1, A1, U2, A2_THINK, {"role": "user", "content": "谢谢！"}], None, {}),
    ("history_with_reasoning_content", [U2, A2_REASON, {"role": "user", "content": "Thanks"}], None, {}),
    ("ends_with_assistant", [SYSTEM, U1, A1], None, {}),
    ("empty_user", [{"role": "user", "content": ""}], None, {}),
    ("whitespace_content", [{"role": "user", "content": "  spaced  \n\n"}], None, {}),
    ("special_looking_text", [{"role": "user", "content": "<|im_end|> <｜end▁of▁sentence｜> {{ not jinja }}"}], None, {}),
    ("tools_offered", [SYSTEM, U2], [WEATHER_TOOL], {}),
    ("tool_call_and_result", [U2, TOOL_CALL_MSG, TOOL_RESULT], [WEATHER_TOOL], {}),
    ("tool_call_string_args", [U2, TOOL_CALL_MSG_STR_ARGS, TOOL_RESULT], [WEATHER_TOOL], {}),
    ("tool_call_then_answer", [U2, TOOL_CALL_MSG, TOOL_RESULT,
                                {"role": "assistant", "content": "北京现在21度，晴。"},
                                {"role": "user", "content": "明天呢？"}], [WEATHER_TOOL], {}),
    ("multiple_systems", [SYSTEM, {"role": "system", "content": "Answer briefly."}, U1], None, {}),
    ("qwen3_no_thinking", [U1], None, {"enable_thinking": False}),
    ("qwen3_thinking_true", [U2, A2_REASON, U1], None, {"enable_thinking": True}),
]


def load_tokenizer_json(path):
    if path.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return f.read()
    with open(path, encoding="utf-8") as f:
        return f.read()


def gen_tokenizers(repo, extra, out):
    from tokenizers import Tokenizer

    sources = {}
    for p in sorted(glob.glob(os.path.join(repo, "tests/fixtures/tokenizers/hf/*.tokenizer.json*"))):
        sources[os.path.basename(p).split(".tokenizer.json")[0]] = p
    for item in extra:
        name, path = item.split("=", 1)
        sources[name] = path
    n = 0
    with open(os.path.join(out, "tokenizer_ids.jsonl"), "w", encoding="utf-8") as f:
        for name, path in sorted(sources.items()):
            tok = Tokenizer.from_str(load_tokenizer_json(path))
            for text in TEXTS:
                ids = tok.encode(text, add_special_tokens=False).ids
                f.write(json.dumps({"tokenizer": name, "text": text, "ids": ids}, ensure_ascii=False) + "\n")
                n += 1
    print(f"tokenizer_ids.jsonl: {n} lines from {sorted(sources)}", file=sys.stderr)


def special_tokens_map(config):
    out = {}
    for key in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
        v = config.get(key)
        if isinstance(v, dict):
            v = v.get("content")
        if v is not None:
            out[key] = v
    return out


def gen_templates(repo, out):
    from transformers.utils.chat_template_utils import render_jinja_template

    n = 0
    with open(os.path.join(out, "chat_templates.jsonl"), "w", encoding="utf-8") as f:
        for path in sorted(glob.glob(os.path.join(repo, "tests/fixtures/chat/*.tokenizer_config.json"))):
            name = os.path.basename(path)[: -len(".tokenizer_config.json")]
            with open(path, encoding="utf-8") as cf:
                config = json.load(cf)
            template = config.get("chat_template")
            if isinstance(template, list):  # named templates: use "default"
                template = {t["name"]: t["template"] for t in template}.get("default")
            if not template:
                print(f"skip {name}: no chat_template", file=sys.stderr)
                continue
            specials = special_tokens_map(config)
            for conv_name, messages, tools, kwargs in CONVERSATIONS:
                for agp in (False, True):
                    rec = {"template": name, "case": conv_name, "messages": messages, "tools": tools,
                           "add_generation_prompt": agp, "kwargs": kwargs}
                    try:
                        rendered, _ = render_jinja_template(
                            conversations=[messages], tools=tools, chat_template=template,
                            add_generation_prompt=agp, **specials, **kwargs)
                        rec["rendered"] = rendered[0]
                    except Exception as e:  # the template raised (e.g. raise_exception) or jinja failed
                        rec["error"] = f"{type(e).__name__}: {e}"
                    rec["special_tokens"] = specials
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    n += 1
    print(f"chat_templates.jsonl: {n} lines", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", default=".")
    ap.add_argument("--out", default="tests/fixtures/hf-reference")
    ap.add_argument("--tokenizer", action="append", default=[], help="NAME=PATH to a tokenizer.json")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    import tokenizers, transformers, jinja2
    print(f"tokenizers {tokenizers.__version__}, transformers {transformers.__version__}, jinja2 {jinja2.__version__}",
          file=sys.stderr)
    gen_tokenizers(args.repo, args.tokenizer, args.out)
    gen_templates(args.repo, args.out)


if __name__ == "__main__":
    main()

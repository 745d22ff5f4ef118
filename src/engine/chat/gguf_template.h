// Chat templates stored in GGUF model files.
//
// llama.cpp's convention: the default template is the string `tokenizer.chat_template`, named ones
// `tokenizer.chat_template.<name>`; special tokens are ids (`tokenizer.ggml.bos_token_id`, ...)
// into the vocabulary `tokenizer.ggml.tokens`, which this resolves to their text.
#pragma once

#include <string_view>

#include "deepvault/status.h"
#include "engine/chat/chat_template.h"
#include "engine/gguf/gguf.h"

namespace dv::chat {

// NotFound when the file has no such template; InvalidArgument for wrongly typed keys or token
// ids outside the vocabulary.
Result<ChatTemplate> ChatTemplateFromGguf(const gguf::GgufFile& file, std::string_view template_name = "default",
                                          const RenderLimits& limits = {});

}  // namespace dv::chat

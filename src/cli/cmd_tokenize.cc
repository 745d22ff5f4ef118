// deepvault tokenize -m FILE [--json] [--special] [--add-special] [--] [TEXT]
// deepvault detokenize -m FILE [--skip-special] [--] IDS...
//
// FILE is a GGUF model/vocabulary or a HF tokenizer.json (.json.gz accepted). Without TEXT,
// tokenize reads standard input. Special tokens written in TEXT are only recognised with
// --special; BOS/EOS (or [CLS]/[SEP]) are only added with --add-special.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/utf8.h"
#include "engine/tokenizer/loader.h"

namespace dv::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  bool json = false;
  bool special = false;
  bool add_special = false;
};

struct DetokenizeArgs {
  std::string model;
  std::vector<std::string> ids;
  bool skip_special = false;
};

// Parses "12", "12,13" or "12 13" items into ids; InvalidArgument names the bad item.
Result<std::vector<tok::TokenId>> ParseIds(const std::vector<std::string>& items) {
  std::vector<tok::TokenId> ids;
  for (const std::string& item : items) {
    size_t i = 0;
    while (i < item.size()) {
      while (i < item.size() && (item[i] == ' ' || item[i] == ',' || item[i] == '\t' || item[i] == '\n')) ++i;
      if (i >= item.size()) break;
      size_t j = i;
      if (item[j] == '-') ++j;
      const size_t digits_start = j;
      while (j < item.size() && item[j] >= '0' && item[j] <= '9') ++j;
      const std::string word = item.substr(i, j - i);
      const bool ends_cleanly = j == item.size() || item[j] == ' ' || item[j] == ',' || item[j] == '\t' || item[j] == '\n';
      if (j == digits_start || !ends_cleanly || j - digits_start > 10) {
        size_t end = j;
        while (end < item.size() && item[end] != ' ' && item[end] != ',') ++end;
        return InvalidArgument("not a token id: \"" + utf8::Sanitize(item.substr(i, end - i)) + "\"");
      }
      const long long v = std::stoll(word);
      if (v < INT32_MIN || v > INT32_MAX) return InvalidArgument("token id out of range: " + word);
      ids.push_back(static_cast<tok::TokenId>(v));
      i = j;
    }
  }
  return ids;
}

int RunTokenize(const TokenizeArgs& args, bool text_given) {
  auto tokenizer = tok::LoadTokenizer(args.model);
  if (!tokenizer.ok()) return ReportError(tokenizer.status());
  std::string text = args.text;
  if (!text_given) text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  auto ids = (*tokenizer)->Encode(text, {.allow_special = args.special, .add_special = args.add_special});
  if (!ids.ok()) return ReportError(ids.status());
  if (args.json) {
    nlohmann::json out;
    out["ids"] = *ids;
    auto& pieces = out["pieces"] = nlohmann::json::array();
    for (tok::TokenId id : *ids) pieces.push_back(std::string((*tokenizer)->TokenText(id)));
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::string line;
  for (size_t i = 0; i < ids->size(); ++i) {
    if (i > 0) line += ' ';
    line += std::to_string((*ids)[i]);
  }
  std::printf("%s\n", line.c_str());
  return 0;
}

int RunDetokenize(const DetokenizeArgs& args) {
  auto ids = ParseIds(args.ids);
  if (!ids.ok()) return ReportError(ids.status());
  auto tokenizer = tok::LoadTokenizer(args.model);
  if (!tokenizer.ok()) return ReportError(tokenizer.status());
  auto text = (*tokenizer)->Decode(*ids, {.skip_special = args.skip_special});
  if (!text.ok()) return ReportError(text.status());
  const std::string shown = utf8::Sanitize(*text);
  std::fwrite(shown.data(), 1, shown.size(), stdout);
  return 0;
}

}  // namespace

void RegisterTokenize(CLI::App& app, CliContext& ctx) {
  auto targs = std::make_shared<TokenizeArgs>();
  auto* t = app.add_subcommand("tokenize", "Print the token ids of TEXT (or standard input)");
  t->add_option("-m,--model", targs->model, "GGUF file or tokenizer.json")->required()->type_name("FILE");
  auto* text_opt = t->add_option("TEXT", targs->text, "Text to tokenize; put -- before text that starts with '-'");
  t->add_flag("--json", targs->json, "Print {\"ids\": [...], \"pieces\": [...]}");
  t->add_flag("--special", targs->special, "Recognise special tokens (e.g. <|im_start|>) written in TEXT");
  t->add_flag("--add-special", targs->add_special, "Add the model's BOS/EOS (or [CLS]/[SEP]) tokens");
  t->callback([&ctx, targs, text_opt] { ctx.exit_code = RunTokenize(*targs, text_opt->count() > 0); });

  auto dargs = std::make_shared<DetokenizeArgs>();
  auto* d = app.add_subcommand("detokenize", "Print the text of token IDS");
  d->add_option("-m,--model", dargs->model, "GGUF file or tokenizer.json")->required()->type_name("FILE");
  d->add_option("IDS", dargs->ids, "Token ids (space- or comma-separated)")->required();
  d->add_flag("--skip-special", dargs->skip_special, "Leave out special tokens");
  d->callback([&ctx, dargs] { ctx.exit_code = RunDetokenize(*dargs); });
}

}  // namespace dv::cli

// JSON → readable "path: value" lines (nlohmann::json's SAX parser: no DOM, no recursion in our
// code). Each top-level member (or top-level array element) becomes one paragraph, so a record
// stays together in one chunk. Nesting deeper than ParseOptions::max_json_depth is refused.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kb/parse/formats.h"
#include "kb/parse/text_decode.h"

namespace dv::kb::internal {
namespace {

using Json = nlohmann::json;

class FlattenSax : public nlohmann::json_sax<Json> {
 public:
  FlattenSax(int max_depth, size_t max_output_bytes, ParsedDocument& doc)
      : max_depth_(max_depth), max_output_bytes_(max_output_bytes), doc_(doc) {}

  bool null() override { return Value("null"); }
  bool boolean(bool v) override { return Value(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return Value(std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Value(std::to_string(v)); }
  bool number_float(number_float_t, const string_t& s) override { return Value(s); }
  bool string(string_t& v) override { return Value(CollapseWhitespace(v)); }
  bool binary(binary_t&) override { return Value("<binary>"); }

  bool start_object(std::size_t) override { return Open(false); }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(true); }
  bool end_array() override { return Close(); }
  bool key(string_t& k) override {
    // Every value line repeats its path, so a long key could multiply the output; keys are
    // shortened to kMaxKeyBytes (at a character boundary).
    if (k.size() > kMaxKeyBytes) {
      size_t cut = kMaxKeyBytes;
      while (cut > 0 && (static_cast<unsigned char>(k[cut]) & 0xC0) == 0x80) --cut;
      k.resize(cut);
      k.append("…");
    }
    frames_.back().key = k;
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    error_ = InvalidArgument("malformed JSON at byte " + std::to_string(position) + ": " + ex.what());
    return false;
  }

  Status Finish() {
    if (!error_.ok()) return error_;
    FlushRecord();
    return Status::Ok();
  }

 private:
  struct Frame {
    bool array;
    size_t index = 0;
    std::string key;
    size_t path_length;  // length of path_ when this container opened
  };

  // Appends the current element's name to path_: ".key" / "[i]" (top level: "key" / "[i]").
  void PushName() {
    if (frames_.empty()) return;
    Frame& f = frames_.back();
    if (f.array) {
      path_.push_back('[');
      path_.append(std::to_string(f.index));
      path_.push_back(']');
    } else {
      if (!path_.empty()) path_.push_back('.');
      path_ += f.key;
    }
  }
  void AfterElement() {
    if (frames_.empty()) return;
    Frame& f = frames_.back();
    if (f.array) ++f.index;
    if (frames_.size() == 1) FlushRecord();  // a top-level member is complete
  }

  bool Value(const std::string& v) {
    output_bytes_ += path_.size() + v.size() + 64;
    if (output_bytes_ > max_output_bytes_) {
      error_ = ResourceExhausted("flattened JSON would exceed " + std::to_string(max_output_bytes_) + " bytes");
      return false;
    }
    size_t saved = path_.size();
    PushName();
    if (!path_.empty()) record_.append(path_).append(": ");
    record_.append(v);
    record_.push_back('\n');
    path_.resize(saved);
    AfterElement();
    return true;
  }
  bool Open(bool array) {
    if (static_cast<int>(frames_.size()) >= max_depth_) {
      error_ = ResourceExhausted("JSON nested deeper than " + std::to_string(max_depth_) + " levels");
      return false;
    }
    size_t saved = path_.size();
    PushName();
    frames_.push_back(Frame{array, 0, {}, saved});
    return true;
  }
  bool Close() {
    path_.resize(frames_.back().path_length);
    frames_.pop_back();
    AfterElement();
    return true;
  }
  void FlushRecord() {
    while (!record_.empty() && record_.back() == '\n') record_.pop_back();
    if (!record_.empty()) doc_.blocks.push_back(Block{BlockKind::kParagraph, 0, record_});
    record_.clear();
  }

  static constexpr size_t kMaxKeyBytes = 128;
  int max_depth_;
  size_t max_output_bytes_;
  size_t output_bytes_ = 0;
  ParsedDocument& doc_;
  std::vector<Frame> frames_;
  std::string path_;
  std::string record_;
  Status error_;
};

}  // namespace

Status ParseJson(std::string_view bytes, const ParseOptions& options, ParsedDocument& doc) {
  DecodedText decoded = DecodeText(bytes);  // JSON may be UTF-16 with a BOM; output is UTF-8
  doc.metadata["encoding"] = decoded.encoding;
  // Paths repeat per value; the text may grow, but not without bound: 16x the input + 1 MiB.
  FlattenSax sax(options.max_json_depth, decoded.text.size() * 16 + (size_t{1} << 20), doc);
  try {
    Json::sax_parse(decoded.text, &sax, nlohmann::detail::input_format_t::json, /*strict=*/true,
                    /*ignore_comments=*/false);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed JSON: ") + e.what());
  }
  return sax.Finish();
}

}  // namespace dv::kb::internal

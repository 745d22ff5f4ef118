// The normalizer stage: a sequence of NormalizerStep applied to each text segment between added
// tokens (HF `normalizers.*`). Unicode work (NFC/NFKC/NFD/NFKD, lowercasing) is done by ICU.
//
// Thread safety: immutable after Create; Apply may be called concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"
#include "engine/tokenizer/spec.h"

namespace dv::tok {

class Normalizer {
 public:
  static Result<Normalizer> Create(const std::vector<NormalizerStep>& steps);

  bool empty() const { return steps_.empty(); }
  // Normalizes `text` (valid UTF-8) into `out` (replaced). Output is valid UTF-8.
  // `continues_text`: the text continues earlier input, so Prepend steps do not apply.
  void Apply(std::string_view text, std::string& out, bool continues_text = false) const;

 private:
  std::vector<NormalizerStep> steps_;
};

}  // namespace dv::tok

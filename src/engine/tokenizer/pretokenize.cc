#include "engine/tokenizer/pretokenize.h"

#include "common/utf8.h"
#include "engine/tokenizer/unicode_class.h"

namespace dv::tok {
namespace {

struct Range {
  Span span;
  bool delimiter;
};

// Finds, in t[range), the chars for which `pred(cp)` holds, as one match per char (`each`) or per
// run of consecutive chars.
template <typename Pred>
void MatchChars(std::string_view t, Span range, bool each, Pred pred, std::vector<Span>& out) {
  size_t i = range.begin;
  while (i < range.end) {
    int len;
    const char32_t cp = uc::DecodeValid(t.data() + i, &len);
    if (!pred(cp)) {
      i += len;
      continue;
    }
    size_t end = i + len;
    if (!each) {
      while (end < range.end) {
        const char32_t next = uc::DecodeValid(t.data() + end, &len);
        if (!pred(next)) break;
        end += len;
      }
    }
    out.push_back(Span{static_cast<uint32_t>(i), static_cast<uint32_t>(end)});
    i = end;
  }
}

bool IsSpace(char32_t cp) { return (uc::Classify(cp) & uc::kSpace) != 0; }
bool IsWordChar(char32_t cp) {
  return cp == '_' || (uc::Classify(cp) & (uc::kLetter | uc::kNumber | uc::kMark)) != 0;
}

void FindLiteral(std::string_view t, Span range, std::string_view lit, std::vector<Span>& out) {
  if (lit.empty()) return;
  size_t pos = range.begin;
  while (true) {
    const size_t hit = t.substr(0, range.end).find(lit, pos);
    if (hit == std::string_view::npos) break;
    out.push_back(Span{static_cast<uint32_t>(hit), static_cast<uint32_t>(hit + lit.size())});
    pos = hit + lit.size();
  }
}

}  // namespace

void ApplySplitBehavior(Span range, const std::vector<Span>& matches, SplitBehavior behavior, bool invert,
                        std::vector<Span>& out) {
  // Cover the range with alternating gaps and delimiters.
  std::vector<Range> ranges;
  ranges.reserve(matches.size() * 2 + 1);
  uint32_t prev = range.begin;
  for (const Span& m : matches) {
    if (m.begin > prev) ranges.push_back({Span{prev, m.begin}, invert});
    if (m.end > m.begin) ranges.push_back({m, !invert});
    prev = m.end;
  }
  if (range.end > prev) ranges.push_back({Span{prev, range.end}, invert});

  auto emit = [&out](uint32_t b, uint32_t e) {
    if (e > b) out.push_back(Span{b, e});
  };
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Range& r : ranges) {
        if (!r.delimiter) emit(r.span.begin, r.span.end);
      }
      break;
    case SplitBehavior::kIsolated:
      for (const Range& r : ranges) emit(r.span.begin, r.span.end);
      break;
    case SplitBehavior::kContiguous: {
      size_t k = 0;
      while (k < ranges.size()) {
        size_t j = k + 1;
        while (j < ranges.size() && ranges[j].delimiter && ranges[k].delimiter) ++j;
        emit(ranges[k].span.begin, ranges[j - 1].span.end);
        k = j;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      uint32_t start = range.begin;
      for (const Range& r : ranges) {
        if (r.delimiter) {
          emit(start, r.span.end);
          start = r.span.end;
        }
      }
      emit(start, range.end);
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      uint32_t start = range.begin;
      for (const Range& r : ranges) {
        if (r.delimiter) {
          emit(start, r.span.begin);
          start = r.span.begin;
        }
      }
      emit(start, range.end);
      break;
    }
  }
}

Result<PreTokenizer> PreTokenizer::Create(const std::vector<PreTokenizerStep>& steps) {
  PreTokenizer p;
  for (const auto& s : steps) {
    Step step{s, nullptr};
    if (s.kind == PreTokenizerStep::Kind::kSplit) {
      if (s.pattern.empty()) return InvalidArgument("Split pre-tokenizer with an empty pattern");
      if (s.pattern_is_regex) {
        DV_ASSIGN_OR_RETURN(auto re, CompileRegex(s.pattern));
        step.regex = std::move(re);
      } else if (!utf8::IsValid(s.pattern)) {
        return InvalidArgument("Split pre-tokenizer pattern is not valid UTF-8");
      }
    } else if (s.kind == PreTokenizerStep::Kind::kByteLevel && s.use_regex) {
      DV_ASSIGN_OR_RETURN(auto re, CompileRegex(patterns::kGpt2));
      step.regex = std::move(re);
    } else if (s.kind == PreTokenizerStep::Kind::kMetaspace &&
               (s.replacement.empty() || !utf8::IsValid(s.replacement))) {
      return InvalidArgument("Metaspace replacement must be a non-empty UTF-8 string");
    }
    p.steps_.push_back(std::move(step));
  }
  return p;
}

std::vector<std::string_view> PreTokenizer::split_engines() const {
  std::vector<std::string_view> names;
  for (const auto& s : steps_) {
    if (s.regex) names.push_back(s.regex->engine());
  }
  return names;
}

void PreTokenizer::Apply(std::string_view segment, bool at_input_start, PieceList& out) const {
  out.text.assign(segment);
  out.spans.clear();
  if (!segment.empty()) out.spans.push_back(Span{0, static_cast<uint32_t>(segment.size())});
  std::vector<Span> next, matches;
  for (const Step& step : steps_) {
    const PreTokenizerStep& s = step.spec;
    next.clear();
    switch (s.kind) {
      case PreTokenizerStep::Kind::kSplit:
        for (const Span& sp : out.spans) {
          matches.clear();
          if (step.regex) {
            const std::string_view piece = std::string_view(out.text).substr(sp.begin, sp.end - sp.begin);
            const size_t first = matches.size();
            step.regex->FindMatches(piece, matches);
            for (size_t k = first; k < matches.size(); ++k) {
              matches[k].begin += sp.begin;
              matches[k].end += sp.begin;
            }
          } else {
            FindLiteral(out.text, sp, s.pattern, matches);
          }
          ApplySplitBehavior(sp, matches, s.behavior, s.invert, next);
        }
        break;
      case PreTokenizerStep::Kind::kByteLevel: {
        if (s.add_prefix_space) {
          // Each piece that does not start with a space gets one (HF ByteLevel semantics).
          std::string text;
          text.reserve(out.text.size() + out.spans.size());
          std::vector<Span> spans;
          for (const Span& sp : out.spans) {
            const uint32_t b = static_cast<uint32_t>(text.size());
            if (out.text[sp.begin] != ' ') text += ' ';
            text.append(out.text, sp.begin, sp.end - sp.begin);
            spans.push_back(Span{b, static_cast<uint32_t>(text.size())});
          }
          out.text.swap(text);
          out.spans.swap(spans);
        }
        if (!step.regex) continue;  // mapping to byte-level chars is implicit in the model
        for (const Span& sp : out.spans) {
          matches.clear();
          step.regex->FindMatches(std::string_view(out.text).substr(sp.begin, sp.end - sp.begin), matches);
          for (Span& m : matches) {
            m.begin += sp.begin;
            m.end += sp.begin;
          }
          ApplySplitBehavior(sp, matches, SplitBehavior::kIsolated, false, next);
        }
        break;
      }
      case PreTokenizerStep::Kind::kDigits:
        for (const Span& sp : out.spans) {
          matches.clear();
          MatchChars(out.text, sp, s.individual_digits,
                     [](char32_t cp) { return (uc::Classify(cp) & uc::kNumber) != 0; }, matches);
          ApplySplitBehavior(sp, matches, SplitBehavior::kIsolated, false, next);
        }
        break;
      case PreTokenizerStep::Kind::kMetaspace: {
        std::string text;
        std::vector<Span> spans;
        for (size_t k = 0; k < out.spans.size(); ++k) {
          const Span sp = out.spans[k];
          const std::string_view piece = std::string_view(out.text).substr(sp.begin, sp.end - sp.begin);
          const uint32_t b = static_cast<uint32_t>(text.size());
          const bool prepend =
              (s.prepend_scheme == PreTokenizerStep::PrependScheme::kAlways ||
               (s.prepend_scheme == PreTokenizerStep::PrependScheme::kFirst && at_input_start && k == 0 &&
                sp.begin == 0)) &&
              piece.substr(0, s.replacement.size()) != s.replacement;
          if (prepend) text += s.replacement;
          for (char c : piece) {
            if (c == ' ') {
              text += s.replacement;
            } else {
              text += c;
            }
          }
          spans.push_back(Span{b, static_cast<uint32_t>(text.size())});
        }
        out.text.swap(text);
        out.spans.swap(spans);
        if (!s.split) continue;
        for (const Span& sp : out.spans) {
          matches.clear();
          FindLiteral(out.text, sp, s.replacement, matches);
          ApplySplitBehavior(sp, matches, SplitBehavior::kMergedWithNext, false, next);
        }
        break;
      }
      case PreTokenizerStep::Kind::kWhitespace:
        for (const Span& sp : out.spans) {
          // \w+|[^\w\s]+ ; whitespace between matches is dropped.
          matches.clear();
          MatchChars(out.text, sp, false, IsWordChar, matches);
          std::vector<Span> others;
          MatchChars(out.text, sp, false, [](char32_t cp) { return !IsWordChar(cp) && !IsSpace(cp); }, others);
          std::vector<Span> merged;
          merged.reserve(matches.size() + others.size());
          size_t a = 0, b = 0;
          while (a < matches.size() || b < others.size()) {
            if (b >= others.size() || (a < matches.size() && matches[a].begin < others[b].begin)) {
              merged.push_back(matches[a++]);
            } else {
              merged.push_back(others[b++]);
            }
          }
          for (const Span& m : merged) next.push_back(m);
        }
        break;
      case PreTokenizerStep::Kind::kWhitespaceSplit:
        for (const Span& sp : out.spans) {
          matches.clear();
          MatchChars(out.text, sp, false, IsSpace, matches);
          ApplySplitBehavior(sp, matches, SplitBehavior::kRemoved, false, next);
        }
        break;
      case PreTokenizerStep::Kind::kPunctuation:
        for (const Span& sp : out.spans) {
          matches.clear();
          MatchChars(out.text, sp, true, uc::IsBertPunctuation, matches);
          ApplySplitBehavior(sp, matches, SplitBehavior::kIsolated, false, next);
        }
        break;
      case PreTokenizerStep::Kind::kBert:
        for (const Span& sp : out.spans) {
          std::vector<Span> words;
          matches.clear();
          MatchChars(out.text, sp, false, IsSpace, matches);
          ApplySplitBehavior(sp, matches, SplitBehavior::kRemoved, false, words);
          for (const Span& w : words) {
            matches.clear();
            MatchChars(out.text, w, true, uc::IsBertPunctuation, matches);
            ApplySplitBehavior(w, matches, SplitBehavior::kIsolated, false, next);
          }
        }
        break;
    }
    out.spans.swap(next);
  }
}

}  // namespace dv::tok

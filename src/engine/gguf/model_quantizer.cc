#include "engine/gguf/model_quantizer.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <string>
#include <vector>

#include "engine/gguf/writer.h"
#include "engine/quant/dequantize.h"
#include "engine/quant/quantize.h"

namespace dv::gguf {
namespace {

using quant::TensorType;

struct RecipeInfo {
  QuantRecipe recipe;
  std::string_view name;
  uint32_t ftype;  // llama_ftype
};

constexpr RecipeInfo kRecipes[] = {
    {QuantRecipe::kF16, "f16", 1},       {QuantRecipe::kBF16, "bf16", 32},     {QuantRecipe::kQ8_0, "q8_0", 7},
    {QuantRecipe::kQ6_K, "q6_k", 18},    {QuantRecipe::kQ4_0, "q4_0", 2},      {QuantRecipe::kQ4_K_M, "q4_k_m", 15},
    {QuantRecipe::kQ5_K_M, "q5_k_m", 17},
};

const RecipeInfo& Info(QuantRecipe r) {
  for (const RecipeInfo& i : kRecipes) {
    if (i.recipe == r) return i;
  }
  return kRecipes[0];
}

// Layer index of "blk.N.*", or -1.
int LayerOf(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int layer = 0;
  size_t i = 4;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    layer = layer * 10 + (name[i] - '0');
    if (layer > 1000000) return -1;
  }
  return i < name.size() && name[i] == '.' ? layer : -1;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool UseMoreBits(int layer, uint32_t n_layers) {
  const int n = static_cast<int>(n_layers);
  return layer < n / 8 || layer >= 7 * n / 8 || (layer - n / 8) % 3 == 2;
}

// The type to use when rows of `ne0` elements do not fit `type`'s blocks.
TensorType FitRowLength(TensorType type, uint64_t ne0) {
  while (ne0 % quant::Traits(type).block_size != 0) {
    switch (type) {
      case TensorType::kQ4_K: type = TensorType::kQ5_0; break;
      case TensorType::kQ5_K: type = TensorType::kQ5_1; break;
      case TensorType::kQ6_K: type = TensorType::kQ8_0; break;
      default: return TensorType::kF16;
    }
  }
  return type;
}

}  // namespace

Result<QuantRecipe> ParseQuantRecipe(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const RecipeInfo& i : kRecipes) {
    if (i.name == lower) return i.recipe;
  }
  return InvalidArgument("unknown quantization type \"" + std::string(name) +
                         "\" (use f16, bf16, q8_0, q6_k, q4_0, q4_k_m or q5_k_m)");
}

std::string_view QuantRecipeName(QuantRecipe recipe) { return Info(recipe).name; }
uint32_t QuantRecipeFileType(QuantRecipe recipe) { return Info(recipe).ftype; }

TensorType ChooseTensorType(QuantRecipe recipe, const TensorInfo& t, uint32_t n_layers) {
  if (t.n_dims < 2) return TensorType::kF32;
  const bool is_output = t.name == "output.weight";
  const int layer = LayerOf(t.name);
  TensorType type = TensorType::kF16;
  switch (recipe) {
    case QuantRecipe::kF16: type = TensorType::kF16; break;
    case QuantRecipe::kBF16: type = TensorType::kBF16; break;
    case QuantRecipe::kQ8_0: type = TensorType::kQ8_0; break;
    case QuantRecipe::kQ6_K: type = TensorType::kQ6_K; break;
    case QuantRecipe::kQ4_0: type = is_output ? TensorType::kQ6_K : TensorType::kQ4_0; break;
    case QuantRecipe::kQ4_K_M:
    case QuantRecipe::kQ5_K_M: {
      type = recipe == QuantRecipe::kQ4_K_M ? TensorType::kQ4_K : TensorType::kQ5_K;
      const bool more_bits_kind = EndsWith(t.name, ".attn_v.weight") || EndsWith(t.name, ".ffn_down.weight");
      if (is_output || (more_bits_kind && layer >= 0 && UseMoreBits(layer, n_layers))) type = TensorType::kQ6_K;
      break;
    }
  }
  return FitRowLength(type, t.ne[0]);
}

Result<QuantizeReport> QuantizeModel(const GgufFile& input, const std::filesystem::path& output, QuantRecipe recipe,
                                     ThreadPool& pool) {
  uint32_t n_layers = 0;
  if (auto arch = input.GetString("general.architecture"); arch.ok()) {
    if (auto n = input.GetUnsigned(std::string(*arch) + ".block_count"); n.ok()) {
      n_layers = static_cast<uint32_t>(std::min<uint64_t>(*n, 1u << 20));
    }
  }
  GgufWriter writer(3);
  for (const KeyValue& kv : input.metadata()) {
    if (kv.key == "general.file_type" || kv.key == "general.quantization_version") continue;
    if (kv.key.substr(0, 6) == "split.") continue;  // the output is one file
    DV_RETURN_IF_ERROR(writer.AddValue(kv.key, kv.value));
  }
  DV_RETURN_IF_ERROR(writer.AddU32("general.quantization_version", 2));
  DV_RETURN_IF_ERROR(writer.AddU32("general.file_type", QuantRecipeFileType(recipe)));

  std::vector<const TensorInfo*> order;
  for (const TensorInfo& t : input.tensors()) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    const int la = LayerOf(a->name), lb = LayerOf(b->name);
    if (la != lb) return la < lb;
    return a->name < b->name;
  });

  QuantizeReport report;
  for (const TensorInfo* t : order) {
    const TensorType type = ChooseTensorType(recipe, *t, n_layers);
    ++report.tensors_per_type[type];
    report.input_bytes += t->n_bytes;
    DV_ASSIGN_OR_RETURN(const uint64_t out_row_bytes, quant::RowBytes(type, t->ne[0]));
    report.output_bytes += out_row_bytes * t->n_rows();
    if (type == t->type) {  // nothing to convert: copy the bytes
      DV_RETURN_IF_ERROR(writer.AddTensor(t->name, type, std::span(t->ne).first(t->n_dims), t->bytes()));
      continue;
    }
    auto produce = [t, type, out_row_bytes, &pool](std::span<uint8_t> out) -> Status {
      const uint64_t row_length = t->ne[0];
      const uint64_t in_row_bytes = t->row_bytes();
      std::mutex mu;
      Status first_error;
      pool.ParallelFor(static_cast<size_t>(t->n_rows()), [&](size_t begin, size_t end) {
        std::vector<float> row(static_cast<size_t>(row_length));
        for (size_t r = begin; r < end; ++r) {
          Status s = quant::DequantizeRow(t->type, t->bytes().subspan(r * in_row_bytes, in_row_bytes), row);
          if (s.ok()) s = quant::QuantizeRow(type, row, out.subspan(r * out_row_bytes, out_row_bytes));
          if (!s.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            if (first_error.ok()) first_error = std::move(s).AddContext("row " + std::to_string(r));
            return;
          }
        }
      });
      return first_error;
    };
    DV_RETURN_IF_ERROR(writer.AddTensor(t->name, type, std::span(t->ne).first(t->n_dims), std::move(produce)));
  }
  DV_RETURN_IF_ERROR(writer.WriteToFile(output));
  return report;
}

}  // namespace dv::gguf

// deepvault's inference engine API: load a model (GGUF file or HF folder), manage sequences, run
// forward passes over batches of tokens from many sequences, read logits, log-probabilities and
// hidden-state embeddings.
//
//   DV_ASSIGN_OR_RETURN(auto engine, dv::engine::Engine::Load("model.gguf", {.n_threads = 2}));
//   DV_ASSIGN_OR_RETURN(auto prompt, engine->Tokenize("Hello", /*add_bos=*/true));
//   DV_ASSIGN_OR_RETURN(auto seq, engine->CreateSequence());
//   DV_RETURN_IF_ERROR(engine->Prefill(seq, prompt));          // logits of the last prompt token
//   int32_t next = ArgMax(engine->Logits(0));
//   DV_RETURN_IF_ERROR(engine->Decode({{seq, next, true}}));   // one generation step
//
// Batching: Decode takes tokens of any number of sequences; each token is placed at its
// sequence's next position, so a scheduler can mix prompt chunks of new requests with single
// generation steps of running ones in one forward pass (continuous batching). Every sequence owns
// one KV cache slot of n_ctx positions.
//
// Thread safety: Load, info(), Tokenize, Detokenize and tokenizer() may be called concurrently.
// Everything else mutates the engine (KV cache, outputs, worker threads): call it from one thread
// at a time (the scheduler's). Logits()/Embedding() spans stay valid until the next Decode/Prefill.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "deepvault/status.h"

namespace dv::tok {
class Tokenizer;
}

namespace dv::engine {

// KV cache storage: fp16 (default, as llama.cpp), Q8_0 (53% of fp16's memory; needs a head
// dimension divisible by 32), fp32 (reference precision, twice fp16's memory).
enum class KvCacheType { kF16, kF32, kQ8_0 };

// How a GGUF file's weights are held in memory: a private copy in 2 MiB transparent huge pages
// (default: decoding streams every weight once per token, and with 4 KiB pages the TLB misses
// cost 20-30 % of generation speed on the development machine, docs/BENCHMARKS.md), or a shared
// file mapping (instant load, pages shared with the page cache and other processes). The copy
// falls back to the mapping when transparent huge pages are disabled or memory is short.
enum class WeightMemory { kFileMapping, kHugePages };

struct LoadOptions {
  int n_threads = 0;      // 0: one per hardware thread
  int n_ctx = 0;          // positions per sequence; 0: min(training context, 4096)
  int max_sequences = 1;  // KV cache slots (concurrent sequences)
  int max_batch = 512;    // tokens per forward pass; longer batches are split
  KvCacheType kv_type = KvCacheType::kF16;
  WeightMemory weight_memory = WeightMemory::kHugePages;
};

struct ModelInfo {
  std::string arch;         // "llama", "qwen2", "qwen3"
  std::string name;         // general.name or the path's file name
  std::string weight_type;  // type of the FFN matrices, e.g. "Q4_K"
  int n_layer = 0, n_embd = 0, n_head = 0, n_head_kv = 0, n_vocab = 0;
  int64_t n_ctx_train = 0;
  int n_ctx = 0;            // per sequence, as loaded
  int n_threads = 0;
  uint64_t weight_bytes = 0;     // all tensors
  uint64_t bytes_per_token = 0;  // weights read for one generated token
  int32_t bos_id = -1;           // -1 when the model has none
  std::vector<int32_t> eos_ids;  // end-of-generation tokens (EOS, EOT, <|im_end|>, ...)
  bool add_bos = false;          // the model's metadata asks for BOS before a prompt
  std::string chat_template;     // Jinja source from metadata / tokenizer_config.json, or empty
  // Recommended sampling: DeepSeek's R1 defaults (temperature 0.6, top-p 0.95) unless the model's
  // generation_config.json or GGUF general.sampling.* keys say otherwise.
  double default_temperature = 0.6;
  double default_top_p = 0.95;
  int default_top_k = 0;
  std::string kernel_isa;        // "avx2", "plain", ...
  std::string kv_type;           // "f16", "q8_0" or "f32"
  uint64_t kv_cache_bytes = 0;   // K and V of all slots, allocated at load
};

using SequenceId = int32_t;

struct BatchItem {
  SequenceId seq = 0;
  int32_t token = 0;
  bool want_output = false;  // compute logits (and the embedding) after this token
};

class Engine {
 public:
  // NotFound for a missing path; InvalidArgument naming the tensor/key for malformed models, an
  // unsupported architecture or weight type, or n_ctx above the model's training context.
  static Result<std::unique_ptr<Engine>> Load(const std::filesystem::path& model, const LoadOptions& options = {});
  virtual ~Engine() = default;

  virtual const ModelInfo& info() const = 0;

  // Text ↔ ids through the model's tokenizer. `add_bos` adds BOS only when the model has one;
  // `allow_special` lets special-token text (e.g. "<|im_start|>") in `text` become control tokens.
  virtual Result<std::vector<int32_t>> Tokenize(std::string_view text, bool add_bos,
                                                bool allow_special = false) const = 0;
  virtual Result<std::string> Detokenize(std::span<const int32_t> ids) const = 0;
  // nullptr when the model has no usable tokenizer (Tokenize then fails with the reason).
  virtual const tok::Tokenizer* tokenizer() const = 0;

  // ResourceExhausted when all max_sequences slots are in use.
  virtual Result<SequenceId> CreateSequence() = 0;
  virtual Status FreeSequence(SequenceId seq) = 0;
  // Number of positions filled; NotFound for an unknown sequence.
  virtual Result<int> SequenceLength(SequenceId seq) const = 0;
  // Forgets positions >= length (e.g. to reuse a shared prefix). REQUIRES length <= SequenceLength.
  virtual Status TruncateSequence(SequenceId seq, int length) = 0;

  // One forward pass (split into max_batch chunks when longer). Outputs are numbered in batch
  // order over the items with want_output. InvalidArgument for an unknown sequence, a token outside
  // the vocabulary, or a sequence that would exceed n_ctx; nothing is changed then.
  virtual Status Decode(std::span<const BatchItem> batch) = 0;
  // As Decode, but outputs only the hidden states (Embedding), no logits: for pooling many
  // positions without n_vocab floats each. Logits() must not be called until the next Decode.
  virtual Status DecodeEmbeddings(std::span<const BatchItem> batch) = 0;
  // Appends `tokens` to `seq` in chunks; output 0 is the last token's.
  virtual Status Prefill(SequenceId seq, std::span<const int32_t> tokens) = 0;

  virtual int n_outputs() const = 0;
  // n_vocab raw logits of output `i`. REQUIRES 0 <= i < n_outputs().
  virtual std::span<const float> Logits(int i) const = 0;
  // n_embd values: the final RMS-normalized hidden state of output `i`.
  virtual std::span<const float> Embedding(int i) const = 0;
};

}  // namespace dv::engine

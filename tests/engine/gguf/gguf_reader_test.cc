// GgufFile on real files from ../shared: llama.cpp's CI model, its vocabulary files and the
// llama-quantize outputs. Expected values come from the fixtures' READMEs (model configuration),
// the published vocabularies (BERT, LLaMA, DeepSeek special tokens) and llama.cpp's llama_ftype
// numbering; none of them were produced by this code.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "gguf_bytes.h"
#include "test_util.h"

namespace dv::gguf {
namespace {

using dv::testing::SharedPath;
using quant::TensorType;

GgufFile OpenShared(const std::string& rel) {
  const auto path = SharedPath(rel);
  auto f = GgufFile::Open(path);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(f).value();
}

#define REQUIRE_SHARED(rel)                                             \
  if (SharedPath(rel).empty()) GTEST_SKIP() << "../shared/" << rel << " is absent"

TEST(GgufReader, Stories260kMatchesPublishedConfiguration) {
  REQUIRE_SHARED("fixtures/models/stories260K.gguf");
  GgufFile f = OpenShared("fixtures/models/stories260K.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.file_size(), 1185376u);  // README: 1,185,376 bytes
  EXPECT_EQ(f.shard_count(), 1u);
  EXPECT_EQ(*f.GetString("general.architecture"), "llama");
  EXPECT_EQ(*f.GetU32("llama.embedding_length"), 64u);
  EXPECT_EQ(*f.GetU32("llama.block_count"), 5u);
  EXPECT_EQ(*f.GetU32("llama.attention.head_count"), 8u);
  EXPECT_EQ(*f.GetU32("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(*f.GetU32("llama.feed_forward_length"), 172u);
  EXPECT_EQ(*f.GetString("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(*f.GetU32("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(*f.GetU32("tokenizer.ggml.eos_token_id"), 2u);
  EXPECT_NEAR(*f.GetF32("llama.attention.layer_norm_rms_epsilon"), 1e-5f, 1e-12f);

  auto tokens = f.GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 512u);
  EXPECT_EQ((*tokens)[0], "<unk>");
  EXPECT_EQ((*tokens)[1], "<s>");
  EXPECT_EQ((*tokens)[2], "</s>");
  EXPECT_EQ((*tokens)[3], "<0x00>");  // SentencePiece byte-fallback tokens follow the specials
  EXPECT_EQ(f.GetF32Array("tokenizer.ggml.scores")->size(), 512u);
  EXPECT_EQ(f.GetI32Array("tokenizer.ggml.token_type")->size(), 512u);

  // 5 layers x 9 tensors + token_embd + output_norm + output, all F32.
  ASSERT_EQ(f.tensors().size(), 48u);
  uint64_t params = 0;
  for (const TensorInfo& t : f.tensors()) {
    EXPECT_EQ(t.type, TensorType::kF32) << t.name;
    EXPECT_EQ(t.n_bytes, t.n_elements * 4) << t.name;
    EXPECT_EQ(t.offset % 32, 0u) << t.name;
    params += t.n_elements;
  }
  const TensorInfo* embd = f.FindTensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->n_dims, 2u);
  EXPECT_EQ(embd->ne[0], 64u);   // row = embedding of one token
  EXPECT_EQ(embd->ne[1], 512u);  // one row per vocabulary entry
  EXPECT_EQ(embd->ShapeString(), "[64, 512]");
  const TensorInfo* down = f.FindTensor("blk.4.ffn_down.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->ne[0], 172u);
  EXPECT_EQ(down->ne[1], 64u);
  // Parameter count of the llama2.c config: 2*512*64 + 64 + 5*(2*64 + 64*64*2 + 64*32*2 + 3*64*172).
  EXPECT_EQ(params, 2u * 512 * 64 + 64 + 5u * (2 * 64 + 64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 172));
  // The last tensor ends exactly at the end of the file.
  const TensorInfo& last = f.tensors().back();
  EXPECT_EQ(f.data_offset() + last.offset + last.n_bytes, f.file_size());
}

TEST(GgufReader, VocabularyFilesExposeTokenizerArrays) {
  REQUIRE_SHARED("fixtures/tokenizers/llamacpp-vocab/ggml-vocab-deepseek-llm.gguf");
  {
    GgufFile f = OpenShared("fixtures/tokenizers/llamacpp-vocab/ggml-vocab-deepseek-llm.gguf");
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_EQ(*f.GetString("tokenizer.ggml.model"), "gpt2");
    EXPECT_EQ(*f.GetString("tokenizer.ggml.pre"), "deepseek-llm");
    auto tokens = f.GetStringArray("tokenizer.ggml.tokens");
    ASSERT_TRUE(tokens.ok());
    ASSERT_EQ(tokens->size(), 102400u);
    EXPECT_EQ((*tokens)[100000], "<｜begin▁of▁sentence｜>");
    EXPECT_EQ((*tokens)[100001], "<｜end▁of▁sentence｜>");
    EXPECT_EQ(*f.GetU32("tokenizer.ggml.bos_token_id"), 100000u);
    auto merges = f.GetStringArray("tokenizer.ggml.merges");
    ASSERT_TRUE(merges.ok());
    EXPECT_GT(merges->size(), 90000u);
    EXPECT_EQ((*merges)[0], "Ġ Ġ");
    EXPECT_TRUE(*f.GetBool("tokenizer.ggml.add_bos_token"));
  }
  {
    GgufFile f = OpenShared("fixtures/tokenizers/llamacpp-vocab/ggml-vocab-bert-bge.gguf");
    auto tokens = f.GetStringArray("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens->size(), 30522u);  // bert-base-uncased vocabulary
    EXPECT_EQ((*tokens)[0], "[PAD]");
    EXPECT_EQ((*tokens)[100], "[UNK]");
    EXPECT_EQ((*tokens)[101], "[CLS]");
    EXPECT_EQ((*tokens)[102], "[SEP]");
    EXPECT_EQ((*tokens)[103], "[MASK]");
    EXPECT_FALSE(*f.GetBool("bert.attention.causal"));
  }
  {
    GgufFile f = OpenShared("fixtures/tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf");
    auto tokens = f.GetStringArray("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens->size(), 32000u);
    EXPECT_EQ((*tokens)[1], "<s>");
    EXPECT_EQ((*tokens)[259], "▁▁");  // LLaMA's first merged piece after the 256 byte tokens
    EXPECT_EQ(f.GetF32Array("tokenizer.ggml.scores")->size(), 32000u);
  }
}

// llama.cpp's llama_ftype numbering (general.file_type) and the K-quant mixes it chose.
TEST(GgufReader, OracleFilesDeclareTheirQuantization) {
  REQUIRE_SHARED("fixtures/llamacpp-oracle/tiny-qwen2-s1-f16.gguf");
  const std::map<std::string, uint32_t> file_type = {
      {"f16", 1}, {"q8_0", 7}, {"q4_0", 2}, {"q4_k_m", 15}, {"q5_k_m", 17}, {"q6_k", 18}};
  for (const auto& [name, ftype] : file_type) {
    SCOPED_TRACE(name);
    GgufFile f = OpenShared("fixtures/llamacpp-oracle/tiny-qwen2-s1-" + name + ".gguf");
    EXPECT_EQ(*f.GetString("general.architecture"), "qwen2");
    EXPECT_EQ(*f.GetU32("qwen2.block_count"), 2u);
    EXPECT_EQ(*f.GetU32("qwen2.embedding_length"), 256u);
    EXPECT_EQ(*f.GetU32("qwen2.feed_forward_length"), 768u);
    EXPECT_EQ(*f.GetU32("qwen2.attention.head_count"), 8u);
    EXPECT_EQ(*f.GetU32("qwen2.attention.head_count_kv"), 4u);
    EXPECT_FLOAT_EQ(*f.GetF32("qwen2.rope.freq_base"), 1e6f);
    EXPECT_EQ(*f.GetU32("general.file_type"), ftype);
    // 2 layers x 12 tensors (q/k/v with biases) + token_embd + output_norm + output.
    EXPECT_EQ(f.tensors().size(), 27u);
    const TensorInfo* q_bias = f.FindTensor("blk.0.attn_q.bias");
    ASSERT_NE(q_bias, nullptr);
    EXPECT_EQ(q_bias->type, TensorType::kF32);  // norms and biases stay F32 in every llama.cpp file
    const TensorInfo* k = f.FindTensor("blk.1.attn_k.weight");
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->ne[0], 256u);
    EXPECT_EQ(k->ne[1], 128u);  // 4 KV heads x head dim 32
    EXPECT_EQ(k->n_bytes, k->n_rows() * *quant::RowBytes(k->type, k->ne[0]));
  }
  GgufFile q4km = OpenShared("fixtures/llamacpp-oracle/tiny-qwen2-s1-q4_k_m.gguf");
  EXPECT_EQ(q4km.FindTensor("blk.0.ffn_gate.weight")->type, TensorType::kQ4_K);
  EXPECT_EQ(q4km.FindTensor("output.weight")->type, TensorType::kQ6_K);
  GgufFile q8 = OpenShared("fixtures/llamacpp-oracle/tiny-qwen2-s1-q8_0.gguf");
  EXPECT_EQ(q8.FindTensor("blk.0.ffn_gate.weight")->type, TensorType::kQ8_0);
}

TEST(GgufReader, TypedGettersNameKeyAndTypes) {
  REQUIRE_SHARED("fixtures/models/stories260K.gguf");
  GgufFile f = OpenShared("fixtures/models/stories260K.gguf");
  auto missing = f.GetString("general.nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "metadata key \"general.nope\" is missing");
  auto wrong = f.GetString("llama.block_count");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wrong.status().message(), "metadata key \"llama.block_count\" has type u32, expected string");
  auto wrong_elem = f.GetF32Array("tokenizer.ggml.tokens");
  ASSERT_FALSE(wrong_elem.ok());
  EXPECT_EQ(wrong_elem.status().message(),
            "metadata key \"tokenizer.ggml.tokens\" is an array of string, expected an array of f32");
  EXPECT_EQ(*f.GetUnsigned("llama.block_count"), 5u);
  EXPECT_NEAR(*f.GetFloat("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-10);
  EXPECT_FALSE(f.GetU64("llama.block_count").ok());
  auto tensor = f.GetTensor("nope.weight");
  ASSERT_FALSE(tensor.ok());
  EXPECT_EQ(tensor.status().code(), StatusCode::kNotFound);
  // The "separator" key is misspelled in real files; it must be readable as-is.
  EXPECT_EQ(*f.GetU32("tokenizer.ggml.seperator_token_id"), 0xFFFFFFFFu);
}

TEST(GgufReader, MissingFileIsNotFoundAndNamesThePath) {
  auto f = GgufFile::Open("/nonexistent/dir/model.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().Describe().find("/nonexistent/dir/model.gguf"), std::string::npos);
}

TEST(GgufReader, EveryValueTypeRoundTripsThroughWriter) {
  GgufWriter w;
  ASSERT_TRUE(w.AddU8("t.u8", 200).ok());
  ASSERT_TRUE(w.AddI8("t.i8", -100).ok());
  ASSERT_TRUE(w.AddU16("t.u16", 60000).ok());
  ASSERT_TRUE(w.AddI16("t.i16", -30000).ok());
  ASSERT_TRUE(w.AddU32("t.u32", 4000000000u).ok());
  ASSERT_TRUE(w.AddI32("t.i32", -2000000000).ok());
  ASSERT_TRUE(w.AddU64("t.u64", 1ull << 60).ok());
  ASSERT_TRUE(w.AddI64("t.i64", -(1ll << 60)).ok());
  ASSERT_TRUE(w.AddF32("t.f32", 1.5f).ok());
  ASSERT_TRUE(w.AddF64("t.f64", -2.25).ok());
  ASSERT_TRUE(w.AddBool("t.bool", true).ok());
  ASSERT_TRUE(w.AddString("t.str", "héllo 世界").ok());
  const std::vector<std::string> strs = {"a", "", "ccc"};
  ASSERT_TRUE(w.AddStringArray("t.strs", strs).ok());
  const std::vector<float> floats = {1.0f, -2.0f};
  ASSERT_TRUE(w.AddF32Array("t.f32s", floats).ok());
  const std::vector<int32_t> ints = {7, -8, 9};
  ASSERT_TRUE(w.AddI32Array("t.i32s", ints).ok());
  auto bytes = w.WriteToString();
  ASSERT_TRUE(bytes.ok());
  auto f = GgufFile::OpenBuffer(testing::AsBytes(*bytes));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->Find("t.u8")->u8(), 200);
  EXPECT_EQ(f->Find("t.i8")->i8(), -100);
  EXPECT_EQ(f->Find("t.u16")->u16(), 60000);
  EXPECT_EQ(f->Find("t.i16")->i16(), -30000);
  EXPECT_EQ(*f->GetU32("t.u32"), 4000000000u);
  EXPECT_EQ(*f->GetI32("t.i32"), -2000000000);
  EXPECT_EQ(*f->GetU64("t.u64"), 1ull << 60);
  EXPECT_EQ(f->Find("t.i64")->i64(), -(1ll << 60));
  EXPECT_EQ(*f->GetF32("t.f32"), 1.5f);
  EXPECT_EQ(*f->GetFloat("t.f64"), -2.25);
  EXPECT_TRUE(*f->GetBool("t.bool"));
  EXPECT_EQ(*f->GetString("t.str"), "héllo 世界");
  EXPECT_EQ(*f->GetStringArray("t.strs"), (std::vector<std::string_view>{"a", "", "ccc"}));
  EXPECT_EQ(*f->GetF32Array("t.f32s"), floats);
  EXPECT_EQ(*f->GetI32Array("t.i32s"), ints);
  EXPECT_FALSE(f->GetUnsigned("t.i8").ok());  // negative
  EXPECT_EQ(*f->GetUnsigned("t.u16"), 60000u);
  EXPECT_EQ(f->Find("t.f32s")->ToString(), "[1, -2]");
  EXPECT_EQ(f->metadata().size(), 15u);
  EXPECT_EQ(f->metadata()[11].key, "t.str");  // file order is kept
}

TEST(GgufReader, NestedArraysAreWalked) {
  // [[1, 2], [3]] as an array of u32 arrays, built by hand (the writer copies it through AddValue).
  testing::GgufBytes b;
  b.Header(0, 1).Str("t.nested").U32(9).U32(9).U64(2);
  b.U32(4).U64(2).U32(1).U32(2);
  b.U32(4).U64(1).U32(3);
  auto f = GgufFile::OpenBuffer(b.span());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const Value* v = f->Find("t.nested");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->array_type(), ValueType::kArray);
  auto outer = v->ArrayElements();
  ASSERT_EQ(outer.size(), 2u);
  EXPECT_EQ(outer[0].array_size(), 2u);
  EXPECT_EQ(outer[1].ArrayElements()[0].u32(), 3u);
  EXPECT_EQ(v->ToString(), "[[1, 2], [3]]");
  GgufWriter w;
  ASSERT_TRUE(w.AddValue("t.nested", *v).ok());
  EXPECT_EQ(*w.WriteToString(), b.str());
}

TEST(GgufReader, OpensFileLargerThanMemoryWithoutCopying) {
  // A sparse 64 GiB file: opening must map it, not read or copy the tensor data.
  dv::testing::TempDir dir;
  const auto path = dir.path() / "big.gguf";
  constexpr uint64_t kTensorBytes = 32768ull * 8192 * 4;  // 1 GiB of F32
  testing::GgufBytes b;
  b.Header(64, 1).KvString("general.architecture", "llama");
  for (uint64_t i = 0; i < 64; ++i) b.Tensor("blk." + std::to_string(i) + ".w", {32768, 8192}, 0, i * kTensorBytes);
  b.Pad();
  dv::testing::WriteFile(path, b.str());
  std::error_code ec;
  std::filesystem::resize_file(path, b.str().size() + 64 * kTensorBytes, ec);
  if (ec) GTEST_SKIP() << "cannot create a sparse 64 GiB file here: " << ec.message();
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->file_size(), b.str().size() + 64 * kTensorBytes);
  ASSERT_EQ(f->tensors().size(), 64u);
  EXPECT_EQ(f->tensors().back().bytes().size(), kTensorBytes);
  EXPECT_EQ(f->tensors().back().data[kTensorBytes - 1], 0);  // the last byte is addressable
}

TEST(MappedFile, HugePageCopyHoldsTheSameBytesAsTheMapping) {
  REQUIRE_SHARED("fixtures/models/stories260K.gguf");
  const auto path = SharedPath("fixtures/models/stories260K.gguf");
  auto mapped = MappedFile::Open(path, MapMode::kMap);
  auto copied = MappedFile::Open(path, MapMode::kHugePages);
  ASSERT_TRUE(mapped.ok() && copied.ok());
  EXPECT_EQ((*mapped)->mode(), MapMode::kMap);
  if (!TransparentHugePagesEnabled()) {
    EXPECT_EQ((*copied)->mode(), MapMode::kMap);  // a copy into 4 KiB pages would gain nothing
    GTEST_SKIP() << "transparent huge pages are disabled on this machine";
  }
  EXPECT_EQ((*copied)->mode(), MapMode::kHugePages);
  const auto a = (*mapped)->bytes(), b = (*copied)->bytes();
  ASSERT_EQ(a.size(), 1185376u);
  ASSERT_EQ(b.size(), a.size());
  EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % (2 << 20), 0u);  // huge-page aligned
  // Parsed from either, the model is the same.
  auto f = GgufFile::Open(path, {.map_mode = MapMode::kHugePages});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->tensors().size(), 48u);
}

TEST(MappedFile, HugePageCopyOfAFileLargerThanMemoryFallsBackToTheMapping) {
  dv::testing::TempDir dir;
  const auto path = dir.path() / "big.bin";
  dv::testing::WriteFile(path, "x");
  std::error_code ec;
  std::filesystem::resize_file(path, uint64_t{128} << 30, ec);  // sparse 128 GiB, more than any test machine has
  if (ec) GTEST_SKIP() << "cannot create a sparse 128 GiB file here: " << ec.message();
  auto m = MappedFile::Open(path, MapMode::kHugePages);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->mode(), MapMode::kMap);
  EXPECT_EQ((*m)->bytes()[0], 'x');
}

// The fuzzer's seed files must be valid, or the fuzzer starts from rejected inputs only.
TEST(GgufReader, FuzzSeedCorpusOpens) {
  const auto dir = dv::testing::FixturePath("../../fuzz/corpus/fuzz_gguf");
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int opened = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    auto f = GgufFile::Open(entry.path());
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    ++opened;
  }
  EXPECT_GE(opened, 7);
}

}  // namespace
}  // namespace dv::gguf

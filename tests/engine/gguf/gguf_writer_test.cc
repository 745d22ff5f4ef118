// GgufWriter: llama.cpp's own files written back byte for byte, split models, input validation.
#include <gtest/gtest.h>

#include <string>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "gguf_bytes.h"
#include "test_util.h"

namespace dv::gguf {
namespace {

using dv::testing::SharedPath;

std::string TensorName(uint32_t i) {
  std::string name = "t";
  name += std::to_string(i);
  return name;
}
using quant::TensorType;

// Copies every key and tensor of `f` (first shard's metadata) into a writer.
GgufWriter CopyOf(const GgufFile& f) {
  GgufWriter w(f.version());
  for (const KeyValue& kv : f.metadata()) EXPECT_TRUE(w.AddValue(kv.key, kv.value).ok()) << kv.key;
  for (const TensorInfo& t : f.tensors()) {
    EXPECT_TRUE(w.AddTensor(t.name, t.type, std::span(t.ne).first(t.n_dims), t.bytes()).ok()) << t.name;
  }
  return w;
}

TEST(GgufWriter, RewritesLlamaCppFilesByteForByte) {
  const char* files[] = {
      "fixtures/models/stories260K.gguf",
      "fixtures/llamacpp-oracle/tiny-qwen2-s1-f16.gguf",
      "fixtures/llamacpp-oracle/tiny-qwen2-s1-q8_0.gguf",
      "fixtures/llamacpp-oracle/tiny-qwen2-s1-q4_0.gguf",
      "fixtures/llamacpp-oracle/tiny-qwen2-s1-q4_k_m.gguf",
      "fixtures/llamacpp-oracle/tiny-qwen2-s1-q5_k_m.gguf",
      "fixtures/llamacpp-oracle/tiny-qwen2-s1-q6_k.gguf",
      "fixtures/tokenizers/llamacpp-vocab/ggml-vocab-bert-bge.gguf",
      "fixtures/tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf",
      "fixtures/tokenizers/llamacpp-vocab/ggml-vocab-deepseek-llm.gguf",
  };
  for (const char* rel : files) {
    SCOPED_TRACE(rel);
    const auto path = SharedPath(rel);
    if (path.empty()) GTEST_SKIP() << "../shared/" << rel << " is absent";
    auto f = GgufFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    auto written = CopyOf(*f).WriteToString();
    ASSERT_TRUE(written.ok());
    const std::string original = dv::testing::ReadFile(path);
    ASSERT_EQ(written->size(), original.size());
    EXPECT_TRUE(*written == original) << "bytes differ";
  }
}

TEST(GgufWriter, WriteToFileMatchesWriteToString) {
  GgufWriter w;
  ASSERT_TRUE(w.AddString("general.architecture", "llama").ok());
  ASSERT_TRUE(w.AddU32("general.alignment", 64).ok());
  std::vector<uint8_t> a(40, 7), b(34, 9);
  const uint64_t ne_a[] = {10};
  const uint64_t ne_b[] = {32};
  ASSERT_TRUE(w.AddTensor("a", TensorType::kF32, ne_a, a).ok());
  ASSERT_TRUE(w.AddTensor("b", TensorType::kQ8_0, ne_b, b).ok());
  dv::testing::TempDir dir;
  const auto path = dir.path() / "out.gguf";
  ASSERT_TRUE(w.WriteToFile(path).ok());
  EXPECT_EQ(dv::testing::ReadFile(path), *w.WriteToString());
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->FindTensor("b")->offset, 64u);  // 40 bytes padded to 64
  EXPECT_EQ(f->FindTensor("b")->data[0], 9);
  EXPECT_EQ(f->file_size(), f->data_offset() + 128);
}

TEST(GgufWriter, RejectsInvalidInput) {
  GgufWriter w;
  ASSERT_TRUE(w.AddU32("a", 1).ok());
  EXPECT_EQ(w.AddU32("a", 2).message(), "duplicate metadata key \"a\"");
  EXPECT_FALSE(w.AddU32("", 2).ok());
  EXPECT_FALSE(w.AddU32("general.alignment", 24).ok());
  EXPECT_FALSE(w.AddString("general.alignment", "32").ok());
  std::vector<uint8_t> data(18);
  const uint64_t ne[] = {32};
  const uint64_t bad_row[] = {33};
  EXPECT_EQ(w.AddTensor("t", TensorType::kQ4_0, ne, std::span(data).first(17)).message(),
            "tensor t: Q4_0 data needs 18 bytes, got 17");
  EXPECT_FALSE(w.AddTensor("t", TensorType::kQ4_0, bad_row, data).ok());
  EXPECT_FALSE(w.AddTensor("t", TensorType::kIQ2_XS, ne, data).ok());
  ASSERT_TRUE(w.AddTensor("t", TensorType::kQ4_0, ne, data).ok());
  EXPECT_EQ(w.AddTensor("t", TensorType::kQ4_0, ne, data).message(), "duplicate tensor name t");
}

// Writes a model split into `count` shards the way llama.cpp's gguf-split names and tags them;
// tensor i (F32, 8 elements of value i) goes to shard i % count.
void WriteSplitModel(const std::filesystem::path& dir, uint32_t count, uint32_t n_tensors,
                     std::vector<std::vector<float>>* storage, uint64_t claimed_tensors = 0) {
  storage->resize(n_tensors);
  for (uint32_t s = 0; s < count; ++s) {
    GgufWriter w;
    if (s == 0) {
      ASSERT_TRUE(w.AddString("general.architecture", "llama").ok());
    }
    ASSERT_TRUE(w.AddU16("split.no", static_cast<uint16_t>(s)).ok());
    ASSERT_TRUE(w.AddU16("split.count", static_cast<uint16_t>(count)).ok());
    ASSERT_TRUE(w.AddI32("split.tensors.count", static_cast<int32_t>(claimed_tensors ? claimed_tensors : n_tensors)).ok());
    for (uint32_t i = s; i < n_tensors; i += count) {
      (*storage)[i].assign(8, static_cast<float>(i));
      const uint64_t ne[] = {8};
      const auto* bytes = reinterpret_cast<const uint8_t*>((*storage)[i].data());
      ASSERT_TRUE(w.AddTensor(TensorName(i), TensorType::kF32, ne, std::span(bytes, 32)).ok());
    }
    char name[64];
    std::snprintf(name, sizeof name, "model-%05u-of-%05u.gguf", s + 1, count);
    ASSERT_TRUE(w.WriteToFile(dir / name).ok());
  }
}

TEST(GgufSplit, OpensAllShardsAsOneModel) {
  dv::testing::TempDir dir;
  std::vector<std::vector<float>> storage;
  WriteSplitModel(dir.path(), 3, 7, &storage);
  auto f = GgufFile::Open(dir.path() / "model-00001-of-00003.gguf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->shard_count(), 3u);
  EXPECT_EQ(*f->GetString("general.architecture"), "llama");
  ASSERT_EQ(f->tensors().size(), 7u);
  for (uint32_t i = 0; i < 7; ++i) {
    const TensorInfo* t = f->FindTensor(TensorName(i));
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->shard, i % 3);
    float v;
    std::memcpy(&v, t->data + 28, 4);
    EXPECT_EQ(v, static_cast<float>(i));
  }
  OpenOptions single;
  single.follow_splits = false;
  auto first_only = GgufFile::Open(dir.path() / "model-00001-of-00003.gguf", single);
  ASSERT_TRUE(first_only.ok());
  EXPECT_EQ(first_only->tensors().size(), 3u);
}

TEST(GgufSplit, ReportsMissingAndMismatchedShards) {
  {
    dv::testing::TempDir dir;
    std::vector<std::vector<float>> storage;
    WriteSplitModel(dir.path(), 3, 6, &storage);
    std::filesystem::remove(dir.path() / "model-00003-of-00003.gguf");
    auto f = GgufFile::Open(dir.path() / "model-00001-of-00003.gguf");
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
    EXPECT_NE(f.status().Describe().find("model-00003-of-00003.gguf: cannot open"), std::string::npos)
        << f.status().Describe();
    auto second = GgufFile::Open(dir.path() / "model-00002-of-00003.gguf");
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.status().Describe().find("this is shard 2 of 3 of a split model; open the first shard"),
              std::string::npos);
  }
  {
    dv::testing::TempDir dir;
    std::vector<std::vector<float>> storage;
    WriteSplitModel(dir.path(), 2, 4, &storage, /*claimed_tensors=*/5);
    auto f = GgufFile::Open(dir.path() / "model-00001-of-00002.gguf");
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.status().Describe().find("split.tensors.count is 5 but the 2 shards hold 4 tensors"),
              std::string::npos);
  }
  {
    dv::testing::TempDir dir;
    std::vector<std::vector<float>> storage;
    WriteSplitModel(dir.path(), 2, 4, &storage);
    std::filesystem::rename(dir.path() / "model-00001-of-00002.gguf", dir.path() / "renamed.gguf");
    auto f = GgufFile::Open(dir.path() / "renamed.gguf");
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.status().Describe().find("does not end in -NNNNN-of-NNNNN.gguf"), std::string::npos);
  }
  {
    // Shard 2 of another split: same names, different split.count.
    dv::testing::TempDir dir;
    std::vector<std::vector<float>> storage, other;
    WriteSplitModel(dir.path(), 2, 4, &storage);
    dv::testing::TempDir other_dir;
    WriteSplitModel(other_dir.path(), 3, 6, &other);
    std::filesystem::copy_file(other_dir.path() / "model-00002-of-00003.gguf", dir.path() / "model-00002-of-00002.gguf",
                               std::filesystem::copy_options::overwrite_existing);
    auto f = GgufFile::Open(dir.path() / "model-00001-of-00002.gguf");
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.status().Describe().find("expected shard 2 of 2, found shard 2 of 3"), std::string::npos)
        << f.status().Describe();
  }
}

TEST(GgufSplit, ShardPathNaming) {
  EXPECT_EQ(SplitShardPath("/m/ds-r1-00001-of-00012.gguf", 11, 12)->string(), "/m/ds-r1-00012-of-00012.gguf");
  EXPECT_FALSE(SplitShardPath("/m/model.gguf", 1, 2).ok());
}

}  // namespace
}  // namespace dv::gguf

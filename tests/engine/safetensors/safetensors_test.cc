// SafetensorsFile on files assembled in the test, valid and hostile.
#include "engine/safetensors/safetensors.h"

#include <gtest/gtest.h>

#include "safetensors_builder.h"
#include "test_util.h"

namespace dv::safetensors {
namespace {

using testing::AsBytes;
using testing::SafetensorsBuilder;

SafetensorsBuilder ThreeTensors() {
  SafetensorsBuilder b;
  b.AddValues<float>("model.norm.weight", "F32", {4}, {1.0f, 2.0f, 3.0f, 4.0f});
  b.AddValues<uint16_t>("model.embed_tokens.weight", "F16", {2, 3}, {0x3C00, 0xC000, 0, 0, 0, 0x3555});
  b.AddValues<uint16_t>("lm_head.weight", "BF16", {1, 2}, {0x3F80, 0xC040});
  b.header()["__metadata__"] = {{"format", "pt"}};
  return b;
}

void ExpectRejected(const std::string& bytes, const std::string& needle) {
  auto f = SafetensorsFile::OpenBuffer(AsBytes(bytes), "bad.safetensors");
  ASSERT_FALSE(f.ok()) << "accepted; expected: " << needle;
  EXPECT_NE(f.status().Describe().find(needle), std::string::npos) << f.status().Describe();
  EXPECT_EQ(f.status().Describe().rfind("bad.safetensors: ", 0), 0u);
}

TEST(Safetensors, ReadsTensorsAndMetadata) {
  const std::string bytes = ThreeTensors().Build();
  dv::testing::TempDir dir;
  dv::testing::WriteFile(dir.path() / "m.safetensors", bytes);
  auto f = SafetensorsFile::Open(dir.path() / "m.safetensors");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->tensors()[0].name, "model.norm.weight");  // file (offset) order
  EXPECT_EQ(f->metadata().at("format"), "pt");
  const TensorView* e = f->Find("model.embed_tokens.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->dtype, DType::kF16);
  EXPECT_EQ(e->shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(e->n_elements, 6u);
  ASSERT_EQ(e->bytes.size(), 12u);
  uint16_t last;
  std::memcpy(&last, e->bytes.data() + 10, 2);
  EXPECT_EQ(last, 0x3555);
  EXPECT_EQ(f->Find("lm_head.weight")->dtype, DType::kBF16);
  EXPECT_EQ(f->Find("nope"), nullptr);
}

TEST(Safetensors, ScalarAndEmptyTensors) {
  SafetensorsBuilder b;
  b.AddValues<float>("scalar", "F32", {}, {5.0f});
  b.Add("empty", "F16", {0, 7}, "");
  auto f = SafetensorsFile::OpenBuffer(AsBytes(b.Build()));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->Find("scalar")->n_elements, 1u);
  EXPECT_EQ(f->Find("empty")->n_elements, 0u);
}

TEST(Safetensors, EveryTruncationIsRejected) {
  const std::string full = ThreeTensors().Build();
  for (size_t len = 0; len < full.size(); ++len) {
    EXPECT_FALSE(SafetensorsFile::OpenBuffer(AsBytes(full.substr(0, len))).ok()) << len;
  }
}

TEST(Safetensors, HostileHeaders) {
  ExpectRejected("abc", "shorter than 8 bytes");
  std::string huge(8, '\xff');
  ExpectRejected(huge, "exceeds 100 MiB");
  SafetensorsBuilder b = ThreeTensors();
  ExpectRejected(b.BuildWithHeader("{\"a\": [1, 2"), "not valid JSON");
  ExpectRejected(b.BuildWithHeader("[1, 2]"), "not a JSON object");
  ExpectRejected(b.BuildWithHeader(std::string(200000, '[')), "not valid JSON");
  std::string past_end = b.Build();
  const uint64_t n = past_end.size();
  std::memcpy(past_end.data(), &n, 8);
  ExpectRejected(past_end, "truncated file");
  ExpectRejected(b.BuildWithHeader(R"({"__metadata__": {"a": 1}})"), "__metadata__ value of \"a\" is not a string");
}

TEST(Safetensors, HostileTensorEntries) {
  auto with = [](const std::string& entry) {
    SafetensorsBuilder b;
    b.data() = std::string(64, '\0');
    return b.BuildWithHeader("{\"t\": " + entry + "}");
  };
  ExpectRejected(with("3"), "tensor t: entry is not an object");
  ExpectRejected(with(R"({"shape": [1], "data_offsets": [0, 4]})"), "tensor t: missing string \"dtype\"");
  ExpectRejected(with(R"({"dtype": "F32", "data_offsets": [0, 4]})"), "missing array \"shape\"");
  ExpectRejected(with(R"({"dtype": "F32", "shape": [1], "data_offsets": [0]})"), "must be [begin, end]");
  ExpectRejected(with(R"({"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]})"), "unknown dtype \"Q4\"");
  ExpectRejected(with(R"({"dtype": "I8", "shape": [4], "data_offsets": [0, 4]})"),
                 "tensor t: unsupported dtype I8 (F32, F16 and BF16 can be loaded)");
  ExpectRejected(with(R"({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]})"), "must be a non-negative integer");
  ExpectRejected(with(R"({"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]})"), "must be a non-negative integer");
  ExpectRejected(with(R"({"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]})"),
                 "shape overflows");
  ExpectRejected(with(R"({"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]})"),
                 "more than 8 dimensions");
  ExpectRejected(with(R"({"dtype": "F32", "shape": [1], "data_offsets": [8, 4]})"), "outside the 64-byte data buffer");
  ExpectRejected(with(R"({"dtype": "F32", "shape": [1], "data_offsets": [64, 68]})"), "outside the 64-byte");
  ExpectRejected(with(R"({"dtype": "F32", "shape": [1], "data_offsets": [0, 18446744073709551615]})"), "outside");
  ExpectRejected(with(R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]})"), "4 bytes for 2 F32 elements");
  SafetensorsBuilder overlap;
  overlap.data() = std::string(64, '\0');
  ExpectRejected(overlap.BuildWithHeader(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                             "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})"),
                 "tensor b overlaps tensor a");
}

}  // namespace
}  // namespace dv::safetensors

// Malformed and hostile GGUF input: every case must fail with a specific message (never crash,
// never read out of bounds — the ASan/UBSan build runs these too).
#include <gtest/gtest.h>

#include <string>

#include "engine/gguf/gguf.h"
#include "engine/gguf/writer.h"
#include "gguf_bytes.h"
#include "test_util.h"

namespace dv::gguf {
namespace {

using testing::GgufBytes;

// Expects OpenBuffer to fail with a message containing `needle`.
void ExpectRejected(const GgufBytes& b, const std::string& needle) {
  auto f = GgufFile::OpenBuffer(b.span(), "hostile.gguf");
  ASSERT_FALSE(f.ok()) << "accepted a file that should fail with: " << needle;
  EXPECT_NE(f.status().Describe().find(needle), std::string::npos) << f.status().Describe();
  EXPECT_EQ(f.status().Describe().rfind("hostile.gguf: ", 0), 0u) << "error does not name the file";
}

// One F32 tensor of 8 elements at offset 0 after the given metadata.
GgufBytes OneTensorFile(uint32_t type = 0, std::initializer_list<uint64_t> ne = {8}, uint64_t offset = 0,
                        size_t data_bytes = 32) {
  GgufBytes b;
  b.Header(1, 1).KvString("general.architecture", "llama").Tensor("w", ne, type, offset).Pad().Zeros(data_bytes);
  return b;
}

TEST(GgufHostile, ValidBaselineOpens) {
  auto f = GgufFile::OpenBuffer(OneTensorFile().span());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->tensors()[0].n_bytes, 32u);
}

TEST(GgufHostile, EveryTruncationIsRejected) {
  GgufWriter w;
  ASSERT_TRUE(w.AddString("general.architecture", "llama").ok());
  const std::vector<std::string> toks = {"a", "bb", "ccc"};
  ASSERT_TRUE(w.AddStringArray("tokenizer.ggml.tokens", toks).ok());
  ASSERT_TRUE(w.AddF64("x.f64", 1.0).ok());
  std::vector<uint8_t> data(64 * 4 + 34 * 2, 1);
  const uint64_t ne_a[] = {64};
  const uint64_t ne_b[] = {32, 2};
  ASSERT_TRUE(w.AddTensor("a", quant::TensorType::kF32, ne_a, std::span(data).first(256)).ok());
  ASSERT_TRUE(w.AddTensor("b", quant::TensorType::kQ8_0, ne_b, std::span(data).subspan(256)).ok());
  const std::string full = *w.WriteToString();
  ASSERT_TRUE(GgufFile::OpenBuffer(testing::AsBytes(full)).ok());
  // The last tensor's padding is not needed to read it: the minimal valid length is its end.
  const size_t last_end = full.size() - (128 - 68);
  for (size_t len = 0; len < last_end; ++len) {
    const std::string cut = full.substr(0, len);
    auto f = GgufFile::OpenBuffer(testing::AsBytes(cut));
    EXPECT_FALSE(f.ok()) << "accepted a file cut to " << len << " bytes";
  }
}

TEST(GgufHostile, BadMagicAndVersions) {
  GgufBytes magic;
  magic.Raw("GGML").U32(3).U64(0).U64(0);
  ExpectRejected(magic, "not a GGUF file");
  GgufBytes v1;
  v1.Header(0, 0, 1);
  ExpectRejected(v1, "GGUF version 1 is not supported");
  GgufBytes big_endian;
  big_endian.Header(0, 0, 3u << 24);
  ExpectRejected(big_endian, "big-endian");
  GgufBytes v9;
  v9.Header(0, 0, 9);
  ExpectRejected(v9, "unsupported GGUF version 9");
}

TEST(GgufHostile, CountsLargerThanTheFile) {
  GgufBytes kv;
  kv.Header(0, 1ull << 60);
  ExpectRejected(kv, "metadata count 1152921504606846976 does not fit");
  GgufBytes tensors;
  tensors.Header(~0ull, 0);
  ExpectRejected(tensors, "tensor count 18446744073709551615 does not fit");
}

TEST(GgufHostile, StringLengths) {
  GgufBytes huge;
  huge.Header(0, 1).Str("k").U32(8).U64(~0ull);
  ExpectRejected(huge, "more than the limit 67108864");
  GgufBytes past_end;
  past_end.Header(0, 1).Str("k").U32(8).U64(100).Raw("short");
  ExpectRejected(past_end, "truncated file: string value of \"k\"");
  GgufBytes key;
  key.Header(0, 1).U64(1ull << 40).Zeros(16);
  ExpectRejected(key, "metadata key at offset 24 has length 1099511627776");
  GgufBytes empty_key;
  empty_key.Header(0, 1).Str("").U32(4).U32(1);
  ExpectRejected(empty_key, "metadata key 0 is empty");
  GgufBytes bad_utf8;
  bad_utf8.Header(0, 1).Str("k\xff").U32(4).U32(1);
  ExpectRejected(bad_utf8, "not valid UTF-8");
}

TEST(GgufHostile, Arrays) {
  GgufBytes huge;
  huge.Header(0, 1).Str("a").U32(9).U32(6).U64(1ull << 62).Zeros(16);
  ExpectRejected(huge, "array of 4611686018427387904 f32 elements does not fit");
  GgufBytes strings;
  strings.Header(0, 1).Str("a").U32(9).U32(8).U64(1000).Zeros(16);
  ExpectRejected(strings, "array of 1000 string elements does not fit");
  GgufBytes elem_type;
  elem_type.Header(0, 1).Str("a").U32(9).U32(13).U64(1).Zeros(8);
  ExpectRejected(elem_type, "unknown value type 13");
  // 9 nested levels: deeper than the limit of 8.
  GgufBytes deep;
  deep.Header(0, 1).Str("a").U32(9);
  for (int i = 0; i < 9; ++i) deep.U32(9).U64(1);
  deep.U32(4).U64(0);
  ExpectRejected(deep, "arrays nested deeper than 8");
  GgufBytes bools;
  bools.Header(0, 1).Str("a").U32(9).U32(7).U64(3).Raw(std::string("\x01\x00\x02", 3));
  ExpectRejected(bools, "bool array element 2 is 2");
}

TEST(GgufHostile, ValueTypesAndDuplicates) {
  GgufBytes type;
  type.Header(0, 1).Str("k").U32(77).U32(0);
  ExpectRejected(type, "metadata \"k\": unknown value type 77");
  GgufBytes boolean;
  boolean.Header(0, 1).Str("k").U32(7).Raw("\x05");
  ExpectRejected(boolean, "bool value 5");
  GgufBytes dup;
  dup.Header(0, 2).KvU32("a.b", 1).KvU32("a.b", 2);
  ExpectRejected(dup, "duplicate metadata key \"a.b\"");
}

TEST(GgufHostile, Alignment) {
  GgufBytes not_pow2;
  not_pow2.Header(0, 1).KvU32("general.alignment", 48);
  ExpectRejected(not_pow2, "general.alignment 48 is not a power of two");
  GgufBytes zero;
  zero.Header(0, 1).KvU32("general.alignment", 0);
  ExpectRejected(zero, "general.alignment 0 is not a power of two");
  GgufBytes wrong_type;
  wrong_type.Header(0, 1).KvString("general.alignment", "32");
  ExpectRejected(wrong_type, "general.alignment has type string, expected u32");
  // A valid custom alignment moves the data section.
  GgufBytes ok;
  ok.Header(1, 1).KvU32("general.alignment", 256).Tensor("w", {8}, 0, 0).Pad(256).Zeros(32);
  auto f = GgufFile::OpenBuffer(ok.span());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->alignment(), 256u);
  EXPECT_EQ(f->data_offset(), 256u);
}

TEST(GgufHostile, TensorShapes) {
  ExpectRejected(OneTensorFile(0, {8, 1, 1, 1, 1}), "tensor w: 5 dimensions (1 to 4 allowed)");
  GgufBytes no_dims;
  no_dims.Header(1, 0).Str("w").U32(0).U32(0).U64(0).Pad().Zeros(32);
  ExpectRejected(no_dims, "tensor w: 0 dimensions");
  ExpectRejected(OneTensorFile(0, {8, 0}), "tensor w: dimension 1 is 0");
  ExpectRejected(OneTensorFile(0, {1ull << 63}), "tensor w: dimension 0 is 9223372036854775808");
  ExpectRejected(OneTensorFile(0, {1ull << 32, 1ull << 32}), "tensor w: element count overflows");
  ExpectRejected(OneTensorFile(12, {100}), "tensor w: row length 100 is not a multiple of the Q4_K block size 256");
  GgufBytes empty_name;
  empty_name.Header(1, 0).Tensor("", {8}, 0, 0).Pad().Zeros(32);
  ExpectRejected(empty_name, "tensor with an empty name");
  GgufBytes long_name;
  long_name.Header(1, 0).Tensor(std::string(300, 'x'), {8}, 0, 0).Pad().Zeros(32);
  ExpectRejected(long_name, "tensor name at offset 24 has length 300, more than the limit 256");
}

TEST(GgufHostile, TensorTypes) {
  ExpectRejected(OneTensorFile(17, {256}), "unsupported type IQ2_XS in tensor w");
  ExpectRejected(OneTensorFile(99, {8}), "unknown type id 99 in tensor w");
  ExpectRejected(OneTensorFile(4, {8}), "unknown type id 4 in tensor w");  // removed Q4_2
  GgufBytes named;
  named.Header(1, 0).Tensor("blk.0.ffn_down.weight", {256}, 17, 0).Pad().Zeros(74);
  auto f = GgufFile::OpenBuffer(named.span(), "m.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(f.status().Describe(), "m.gguf: unsupported type IQ2_XS in tensor blk.0.ffn_down.weight");
}

TEST(GgufHostile, TensorPlacement) {
  ExpectRejected(OneTensorFile(0, {8}, 16, 64), "tensor w: data offset 16 is not a multiple of the alignment 32");
  ExpectRejected(OneTensorFile(0, {8}, 0, 31), "tensor w: data [0, +32) lies outside the 31-byte data section");
  ExpectRejected(OneTensorFile(0, {8}, 1ull << 63, 32), "lies outside");
  ExpectRejected(OneTensorFile(0, {8}, ~0ull - 31, 32), "lies outside");  // offset + size wraps
  GgufBytes overlap;
  overlap.Header(2, 0).Tensor("a", {16}, 0, 0).Tensor("b", {8}, 0, 32).Pad().Zeros(64);
  ExpectRejected(overlap, "tensor b overlaps tensor a");
  GgufBytes dup;
  dup.Header(2, 0).Tensor("a", {8}, 0, 0).Tensor("a", {8}, 0, 32).Pad().Zeros(64);
  ExpectRejected(dup, "duplicate tensor name a");
  GgufBytes no_data;
  no_data.Header(1, 0).Tensor("a", {8}, 0, 0);
  ExpectRejected(no_data, "the data section would start at");
}

TEST(GgufHostile, SplitKeys) {
  GgufBytes half;
  half.Header(0, 1).KvU32("split.count", 2);
  ExpectRejected(half, "split.count and split.no must appear together");
  GgufBytes range;
  range.Header(0, 2).Str("split.no").U32(2).Put<uint16_t>(3).Str("split.count").U32(2).Put<uint16_t>(3);
  ExpectRejected(range, "split.no 3 >= split.count 3");
}

}  // namespace
}  // namespace dv::gguf

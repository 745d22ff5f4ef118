#include "deepvault/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace dv {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_EQ(s.http_status(), 200);
}

TEST(StatusTest, HttpMappingMatchesContract) {
  EXPECT_EQ(InvalidArgument("x").http_status(), 400);
  EXPECT_EQ(Unauthenticated("x").http_status(), 401);
  EXPECT_EQ(PermissionDenied("x").http_status(), 403);
  EXPECT_EQ(NotFound("x").http_status(), 404);
  EXPECT_EQ(AlreadyExists("x").http_status(), 409);
  EXPECT_EQ(FailedPrecondition("x").http_status(), 409);
  EXPECT_EQ(PayloadTooLarge("x").http_status(), 413);
  EXPECT_EQ(ResourceExhausted("x").http_status(), 429);
  EXPECT_EQ(Cancelled("x").http_status(), 499);
  EXPECT_EQ(Internal("x").http_status(), 500);
  EXPECT_EQ(DataLoss("x").http_status(), 500);
  EXPECT_EQ(Unimplemented("x").http_status(), 501);
  EXPECT_EQ(Unavailable("x").http_status(), 503);
  EXPECT_EQ(DeadlineExceeded("x").http_status(), 504);
}

TEST(StatusTest, CodeNamesAreSnakeCase) {
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(StatusCodeName(StatusCode::kResourceExhausted), "resource_exhausted");
  EXPECT_EQ(StatusCodeName(StatusCode::kPermissionDenied), "permission_denied");
}

TEST(StatusTest, OkCodeWithMessageIsOk) {
  Status s(StatusCode::kOk, "ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, ContextIsDescribedOutermostFirst) {
  Status s = NotFound("file x.gguf missing");
  s.AddContext("loading model m1");
  s.AddContext("starting server");
  ASSERT_EQ(s.context().size(), 2u);
  EXPECT_EQ(s.Describe(), "starting server: loading model m1: file x.gguf missing");
  EXPECT_EQ(s.ToString(), "not_found: starting server: loading model m1: file x.gguf missing");
}

TEST(StatusTest, AddContextOnOkIsNoop) {
  Status s;
  s.AddContext("anything");
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(s.context().empty());
}

TEST(StatusTest, CopyIsDeep) {
  Status a = Internal("boom");
  Status b = a;
  b.AddContext("more");
  EXPECT_TRUE(a.context().empty());
  EXPECT_EQ(b.context().size(), 1u);
  EXPECT_EQ(a, b);  // equality compares code and message
}

Result<int> ParsePositive(int x) {
  if (x <= 0) return InvalidArgument("not positive: " + std::to_string(x));
  return x;
}

Result<int> Doubled(int x) {
  DV_ASSIGN_OR_RETURN(int v, ParsePositive(x));
  return v * 2;
}

Status CheckBoth(int a, int b) {
  DV_RETURN_IF_ERROR(ParsePositive(a));
  DV_RETURN_IF_ERROR(ParsePositive(b).AddContext("second"));
  return Status::Ok();
}

TEST(ResultTest, ValueAndError) {
  Result<int> ok = ParsePositive(3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  EXPECT_TRUE(ok.status().ok());
  Result<int> bad = ParsePositive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "not positive: -1");
}

TEST(ResultTest, MacrosPropagate) {
  EXPECT_EQ(*Doubled(4), 8);
  EXPECT_EQ(Doubled(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  Status s = CheckBoth(1, -2);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.Describe(), "second: not positive: -2");
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(ResultTest, ConvertibleValue) {
  Result<std::string> r = "hello";
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "hello");
}

}  // namespace
}  // namespace dv

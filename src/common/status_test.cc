#include "common/status.h"

#include <cerrno>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_EQ(s, Status::OK());
}

TEST(StatusTest, FactoriesSetCodeAndRetryable) {
  EXPECT_EQ(Status::NotFound("x").code(), Code::kNotFound);
  EXPECT_FALSE(Status::NotFound("x").retryable());
  EXPECT_TRUE(Status::ResourceExhausted("x").retryable());
  EXPECT_TRUE(Status::Unavailable("x").retryable());
  EXPECT_TRUE(Status::DeadlineExceeded("x").retryable());
  EXPECT_TRUE(Status::Aborted("x").retryable());
  EXPECT_FALSE(Status::Corruption("x").retryable());
  EXPECT_FALSE(Status::IOError("x").retryable());
  EXPECT_FALSE(Status::InvalidArgument("x").ok());
}

TEST(StatusTest, CodeNamesAreDistinct) {
  std::set<std::string_view> names;
  for (int c = static_cast<int>(Code::kOk); c <= static_cast<int>(Code::kInternal); ++c) {
    std::string_view name = CodeName(static_cast<Code>(c));
    EXPECT_NE(name, "unknown code") << c;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(Code::kInternal) + 1);
}

TEST(StatusTest, ToStringAndAnnotate) {
  Status s = Status::ResourceExhausted("disk full");
  EXPECT_EQ(s.ToString(), "resource exhausted: disk full");
  Status annotated = s.Annotate("opening journal");
  EXPECT_EQ(annotated.message(), "opening journal: disk full");
  EXPECT_EQ(annotated.code(), Code::kResourceExhausted);
  EXPECT_TRUE(annotated.retryable());
  EXPECT_TRUE(Status::OK().Annotate("ignored").ok());
}

TEST(StatusTest, WithRetryable) {
  Status s = Status::IOError("x").WithRetryable(true);
  EXPECT_TRUE(s.retryable());
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_NE(s, Status::IOError("x"));
}

TEST(StatusTest, FromErrnoMapsCodesAndNamesThePath) {
  Status nospc = Status::FromErrno("appending to", "/data/j/1.seg", ENOSPC);
  EXPECT_EQ(nospc.code(), Code::kResourceExhausted);
  EXPECT_TRUE(nospc.retryable());
  EXPECT_EQ(nospc.message(), "appending to /data/j/1.seg: No space left on device");

  EXPECT_EQ(Status::FromErrno("opening", "f", ENOENT).code(), Code::kNotFound);
  EXPECT_EQ(Status::FromErrno("opening", "f", EEXIST).code(), Code::kAlreadyExists);
  EXPECT_EQ(Status::FromErrno("opening", "f", EACCES).code(), Code::kPermissionDenied);
  Status eintr = Status::FromErrno("reading", "f", EINTR);
  EXPECT_EQ(eintr.code(), Code::kIOError);
  EXPECT_TRUE(eintr.retryable());
  Status eio = Status::FromErrno("syncing", "f", EIO);
  EXPECT_EQ(eio.code(), Code::kIOError);
  EXPECT_FALSE(eio.retryable());
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> value = 42;
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 42);
  EXPECT_TRUE(value.status().ok());

  Result<int> error = Status::NotFound("no such stream");
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), Code::kNotFound);
}

TEST(ResultTest, OkStatusBecomesInternalError) {
  Result<std::string> r = Status::OK();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
}

Status FailIf(bool fail) { return fail ? Status::Aborted("asked to") : Status::OK(); }

Status UsesReturnIfError(bool fail, int* reached) {
  SLUICE_RETURN_IF_ERROR(FailIf(fail));
  ++*reached;
  return Status::OK();
}

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  SLUICE_ASSIGN_OR_RETURN(int half, Half(x));
  SLUICE_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusMacrosTest, ReturnIfError) {
  int reached = 0;
  EXPECT_TRUE(UsesReturnIfError(false, &reached).ok());
  EXPECT_EQ(reached, 1);
  EXPECT_EQ(UsesReturnIfError(true, &reached).code(), Code::kAborted);
  EXPECT_EQ(reached, 1);
}

TEST(StatusMacrosTest, AssignOrReturn) {
  Result<int> ok = Quarter(12);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  EXPECT_EQ(Quarter(6).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Quarter(7).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace sluice

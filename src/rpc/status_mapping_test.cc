#include "rpc/status_mapping.h"

#include <gtest/gtest.h>

namespace sluice::rpc {
namespace {

constexpr Code kAllCodes[] = {
    Code::kOk,         Code::kInvalidArgument,  Code::kNotFound,     Code::kAlreadyExists,
    Code::kFailedPrecondition, Code::kOutOfRange, Code::kResourceExhausted, Code::kUnavailable,
    Code::kDeadlineExceeded,   Code::kAborted,    Code::kPermissionDenied,  Code::kUnauthenticated,
    Code::kCorruption, Code::kIOError,          Code::kNeedsResync,  Code::kOutcomeUnknown,
    Code::kInternal};

// Every code comes back as itself, except the two that share a gRPC code with another
// (the header's table).
TEST(StatusMappingTest, EveryCodeRoundTrips) {
  for (Code code : kAllCodes) {
    Code expected = code == Code::kNeedsResync ? Code::kFailedPrecondition
                    : code == Code::kIOError   ? Code::kInternal
                                               : code;
    EXPECT_EQ(FromGrpcCode(ToGrpcCode(code)), expected) << CodeName(code);
    if (code == Code::kOk) continue;
    Status back = FromGrpcStatus(ToGrpcStatus(Status(code, "why")));
    EXPECT_EQ(back.code(), expected) << CodeName(code);
    EXPECT_EQ(back.message(), "why");
    bool retryable = expected == Code::kUnavailable || expected == Code::kResourceExhausted ||
                     expected == Code::kAborted || expected == Code::kDeadlineExceeded;
    EXPECT_EQ(back.retryable(), retryable) << CodeName(code);
  }
  EXPECT_TRUE(ToGrpcStatus(Status::OK()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

// A call cut off (the caller cancelled it, or the service ended the stream) may be tried
// again: CANCELLED is a retryable kAborted.
TEST(StatusMappingTest, CancelledIsARetryableAbort) {
  EXPECT_EQ(FromGrpcCode(grpc::StatusCode::CANCELLED), Code::kAborted);
  Status s = FromGrpcStatus(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"), "host:1");
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_TRUE(s.retryable());
  EXPECT_EQ(s.message(), "host:1: Cancelled");
}

TEST(StatusMappingTest, GrpcOwnStatusesNameTheirCode) {
  Status unimplemented = FromGrpcStatus(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no such method"), "a:1");
  EXPECT_EQ(unimplemented.code(), Code::kInternal);
  EXPECT_FALSE(unimplemented.retryable());
  EXPECT_EQ(unimplemented.message(), "a:1: UNIMPLEMENTED: no such method");
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")).message(), "UNAVAILABLE");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN_CODE");
}

}  // namespace
}  // namespace sluice::rpc

#pragma once
// The one place where Sluice's Status codes become gRPC status codes (and back, for
// clients). Every service answers through ToGrpcStatus, so a code means the same thing
// on every method:
//
//   kInvalidArgument  INVALID_ARGUMENT     kResourceExhausted  RESOURCE_EXHAUSTED
//   kNotFound         NOT_FOUND            kUnavailable        UNAVAILABLE
//   kAlreadyExists    ALREADY_EXISTS       kDeadlineExceeded   DEADLINE_EXCEEDED
//   kFailedPrecondition, kNeedsResync      kAborted            ABORTED
//                     FAILED_PRECONDITION  kPermissionDenied   PERMISSION_DENIED
//   kOutOfRange       OUT_OF_RANGE         kUnauthenticated    UNAUTHENTICATED
//   kCorruption       DATA_LOSS            kOutcomeUnknown     UNKNOWN
//   kIOError, kInternal  INTERNAL
//
// Thread safety: pure functions.

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace sluice::service {

grpc::StatusCode ToGrpcCode(Code code);
// The gRPC status of `status`, with its message unchanged.
grpc::Status ToGrpcStatus(const Status& status);

// The Sluice code of a gRPC status code (for clients); retryable for UNAVAILABLE,
// RESOURCE_EXHAUSTED, ABORTED and DEADLINE_EXCEEDED.
Code FromGrpcCode(grpc::StatusCode code);
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace sluice::service

#pragma once
// The one place where Sluice's Status codes become gRPC status codes and back, for the
// service (which answers every method through ToGrpcStatus, so a code means the same
// thing on every method), the client library and the CLI:
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
// Back, each gRPC code becomes the first code of its row (kNeedsResync and kIOError do
// not come back), and two that the service never sends:
//   CANCELLED      kAborted   the call was cut off (the caller's cancel, the client
//                             closing, or the service ending a CommitStream): retryable,
//                             as a resubmission with the same sequence is safe
//   anything else  kInternal  (UNIMPLEMENTED: the node does not offer the service)
// kUnavailable, kResourceExhausted, kDeadlineExceeded and kAborted come back retryable.
//
// Thread safety: pure functions.

#include <string>
#include <string_view>

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace sluice::rpc {

grpc::StatusCode ToGrpcCode(Code code);
// The gRPC status of `status`, with its message unchanged.
grpc::Status ToGrpcStatus(const Status& status);

// The Sluice code of a gRPC status code (the table above).
Code FromGrpcCode(grpc::StatusCode code);
// `status` as a Sluice Status: "ADDRESS: message" (no prefix for an empty address); a
// gRPC status with no message, or UNIMPLEMENTED, names its code so the error says
// something. Retryable as the table says.
Status FromGrpcStatus(const grpc::Status& status, std::string_view address = {});

// "UNAVAILABLE", "INVALID_ARGUMENT", ...; "UNKNOWN_CODE" for a number gRPC does not name.
std::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace sluice::rpc

#pragma once
// sluice::Status and sluice::Result<T>: the error type of the client library's public API
// (sluice/client.h) and of all of Sluice inside (src/common/status.h includes this header
// and adds the internal SLUICE_RETURN_IF_ERROR / SLUICE_ASSIGN_OR_RETURN macros).
// It includes only the standard library.
//
// One error type for all of Sluice. A Status carries a code, a message that names the
// thing that went wrong (file and offset, config key and line, stream and budget) and a
// retryable flag: the appliers live on the difference between "try again" (a lost
// connection) and "this will never work" (a constraint violation).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sluice {

enum class Code {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kOutOfRange,
  kResourceExhausted,
  kUnavailable,
  kDeadlineExceeded,
  kAborted,
  kPermissionDenied,
  kUnauthenticated,
  kCorruption,
  kIOError,
  kNeedsResync,
  kOutcomeUnknown,
  kInternal,
};

// Short lower-case name of a code, e.g. "resource exhausted".
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, bool retryable = false)
      : code_(code), retryable_(retryable), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {Code::kFailedPrecondition, std::move(msg)};
  }
  static Status OutOfRange(std::string msg) { return {Code::kOutOfRange, std::move(msg)}; }
  // Budget or disk space reached: retryable, it succeeds again once space is released.
  static Status ResourceExhausted(std::string msg) {
    return {Code::kResourceExhausted, std::move(msg), true};
  }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg), true}; }
  static Status DeadlineExceeded(std::string msg) {
    return {Code::kDeadlineExceeded, std::move(msg), true};
  }
  static Status Aborted(std::string msg) { return {Code::kAborted, std::move(msg), true}; }
  static Status PermissionDenied(std::string msg) {
    return {Code::kPermissionDenied, std::move(msg)};
  }
  static Status Unauthenticated(std::string msg) { return {Code::kUnauthenticated, std::move(msg)}; }
  // Data on disk is damaged. Never retryable: retrying reads the same damage.
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status NeedsResync(std::string msg) { return {Code::kNeedsResync, std::move(msg)}; }
  static Status OutcomeUnknown(std::string msg) { return {Code::kOutcomeUnknown, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }

  // errno of a failed system call on `path` (leveldb's PosixError). ENOSPC becomes
  // kResourceExhausted; EINTR/EAGAIN are retryable; everything else is kIOError.
  static Status FromErrno(std::string_view what, std::string_view path, int err);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool retryable() const { return retryable_; }
  const std::string& message() const { return message_; }

  Status WithRetryable(bool retryable) const& {
    Status s = *this;
    s.retryable_ = retryable;
    return s;
  }
  // Prefixes the message with context: "opening journal: " + message.
  Status Annotate(std::string_view context) const;

  // "resource exhausted: <message>" or "ok".
  std::string ToString() const;

  // Marks an error as deliberately ignored; greppable.
  void IgnoreError() const {}

  bool operator==(const Status& other) const = default;

 private:
  Code code_ = Code::kOk;
  bool retryable_ = false;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace sluice

#pragma once
// What the C API's files (c_api.cc, c_api_sync.cc) share: the handle behind
// sluice_client, the thread's last error, and the conversions between C and the C++
// client. Internal to sluice_client.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/client.h"
#include "sluice/sluice.h"

struct sluice_client {
  std::unique_ptr<sluice::client::Client> client;

  // sluice_last_sequence: per stream, the sequence of the last commit the service
  // acknowledged through this handle. The Client reports it per commit only.
  std::mutex mu;
  std::map<std::string, uint64_t, std::less<>> last_sequence;  // guarded by mu
};

namespace sluice::client::c_api {

// The message sluice_last_error returns: per thread.
extern thread_local std::string last_error;

// The SLUICE_E_* code of an error.
int CodeOf(const Status& s);
// Sets the last error; returns the code to hand back.
int Fail(const Status& s);
int Fail(int code, std::string message);

std::string OrEmpty(const char* s);
// "a, b" -> {"a", "b"}: the addresses of sluice_open.
std::vector<std::string> SplitAddresses(const std::string& list);
// A statement whose parameters are text, or SQL NULL for NULL.
v1::SqlStatement Statement(const char* sql, size_t nparams, const char* const* params);
// A value as the text a C program gets; nullopt for SQL NULL.
std::optional<std::string> ValueText(const v1::SqlValue& v);
// SLUICE_OK or SLUICE_SPOOLED for a commit (remembering an acknowledged commit's
// sequence for sluice_last_sequence), or the error's code.
int CommitResultCode(sluice_client* h, const char* stream, const Result<CommitResult>& r);
// Copies `text` and its NUL into buf[size]; false (with the error set) when it does not fit.
bool CopyOut(std::string_view what, const std::string& text, char* buf, size_t size);
// The code of a synchronous write's outcome (sluice_update, sluice_get_outcome); the
// message of a rejection becomes the last error.
int OutcomeCode(const v1::ExecuteResponse& r);

}  // namespace sluice::client::c_api

// The C API (include/sluice/sluice.h) over sluice::client::Client: opening and closing,
// commits, the spool, and what the calls share (c_api_internal.h). The synchronous calls
// are in c_api_sync.cc.

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "client/c_api_internal.h"

namespace sluice::client::c_api {

thread_local std::string last_error;

int CodeOf(const sluice::Status& s) {
  using sluice::Code;
  switch (s.code()) {
    case Code::kOk:
      return SLUICE_OK;
    case Code::kInvalidArgument:
      return SLUICE_E_INVALID_ARGUMENT;
    case Code::kUnavailable:
      return SLUICE_E_UNAVAILABLE;
    case Code::kDeadlineExceeded:
      return SLUICE_E_DEADLINE;
    case Code::kUnauthenticated:
      return SLUICE_E_UNAUTHENTICATED;
    case Code::kPermissionDenied:
      return SLUICE_E_PERMISSION_DENIED;
    case Code::kResourceExhausted:
      return SLUICE_E_RESOURCE_EXHAUSTED;
    case Code::kFailedPrecondition:
      return SLUICE_E_FAILED_PRECONDITION;
    case Code::kNotFound:
      return SLUICE_E_NOT_FOUND;
    case Code::kOutOfRange:
      return SLUICE_E_OUT_OF_RANGE;
    case Code::kIOError:
    case Code::kCorruption:
      return SLUICE_E_IO;
    case Code::kOutcomeUnknown:
      return SLUICE_E_OUTCOME_UNKNOWN;
    default:
      return SLUICE_E_INTERNAL;
  }
}

int Fail(const sluice::Status& s) {
  last_error = s.ToString();
  return CodeOf(s);
}

int Fail(int code, std::string message) {
  last_error = std::move(message);
  return code;
}

std::string OrEmpty(const char* s) { return s == nullptr ? std::string() : std::string(s); }

std::vector<std::string> SplitAddresses(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string a = list.substr(start, end - start);
    while (!a.empty() && a.front() == ' ') a.erase(a.begin());
    while (!a.empty() && a.back() == ' ') a.pop_back();
    if (!a.empty()) out.push_back(std::move(a));
    start = end + 1;
  }
  return out;
}

sluice::v1::SqlStatement Statement(const char* sql, size_t nparams, const char* const* params) {
  sluice::v1::SqlStatement st;
  st.set_text(sql);
  for (size_t i = 0; i < nparams; ++i) {
    auto* v = st.add_params();
    if (params[i] == nullptr) {
      v->set_null_value(true);
    } else {
      v->set_text_value(params[i]);
    }
  }
  return st;
}

// A value as the text a C program gets; nullopt for SQL NULL.
std::optional<std::string> ValueText(const sluice::v1::SqlValue& v) {
  using K = sluice::v1::SqlValue::KindCase;
  switch (v.kind_case()) {
    case K::kIntValue:
      return std::to_string(v.int_value());
    case K::kDoubleValue:
      return fmt::format("{}", v.double_value());
    case K::kTextValue:
      return v.text_value();
    case K::kBlobValue:
      return v.blob_value();
    case K::kClobValue:
      return v.clob_value();
    case K::kTimestampUs:
      return std::to_string(v.timestamp_us());
    default:
      return std::nullopt;
  }
}

int CommitResultCode(sluice_client* h, const char* stream,
                     const sluice::Result<sluice::client::CommitResult>& r) {
  if (!r.ok()) return Fail(r.status());
  if (r->state == sluice::client::CommitState::kSpooled) return SLUICE_SPOOLED;
  if (r->sequence != 0) {
    std::lock_guard lk(h->mu);
    uint64_t& last = h->last_sequence[stream];
    last = std::max(last, r->sequence);
  }
  return SLUICE_OK;
}

// Copies `text` and its NUL into buf[size]; false (with the error set) when it does not fit.
bool CopyOut(std::string_view what, const std::string& text, char* buf, size_t size) {
  if (buf == nullptr || size < text.size() + 1) {
    Fail(SLUICE_E_INVALID_ARGUMENT,
         fmt::format("{}: a buffer of {} bytes is too small for {} bytes and the NUL", what,
                     buf == nullptr ? 0 : size, text.size()));
    return false;
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return true;
}

// The code of a synchronous write's outcome (sluice_execute, sluice_update,
// sluice_get_outcome); the message of a rejection becomes the last error.
int OutcomeCode(const sluice::v1::ExecuteResponse& r) {
  switch (r.outcome()) {
    case sluice::v1::OUTCOME_REJECTED:
      last_error = r.message();
      return SLUICE_REJECTED;
    case sluice::v1::OUTCOME_UNKNOWN:
      last_error = r.message();
      return SLUICE_OUTCOME_UNKNOWN;
    case sluice::v1::OUTCOME_PENDING:
      return SLUICE_PENDING;
    default:
      return SLUICE_OK;
  }
}

}  // namespace sluice::client::c_api

// The C API's shared helpers (c_api_internal.h).
using namespace sluice::client::c_api;  // NOLINT(google-build-using-namespace)

extern "C" {

sluice_client* sluice_open(const char* addresses, const char* token, const char* client_id,
                           const char* spool_dir) {
  last_error.clear();
  try {
    sluice::client::ClientOptions o;
    o.addresses = SplitAddresses(OrEmpty(addresses));
    o.token = OrEmpty(token);
    o.client_id = OrEmpty(client_id);
    o.spool_dir = OrEmpty(spool_dir);
    auto c = sluice::client::Client::Open(std::move(o));
    if (!c.ok()) {
      Fail(c.status());
      return nullptr;
    }
    auto* h = new sluice_client;
    h->client = std::move(c).value();
    return h;
  } catch (const std::exception& e) {
    Fail(SLUICE_E_INTERNAL, e.what());
    return nullptr;
  }
}

int sluice_commit_samples(sluice_client* h, const char* stream, size_t n, const int64_t* point_ids,
                          const int64_t* ts_us, const double* values, const uint32_t* qualities,
                          int interval) {
  last_error.clear();
  if (h == nullptr || stream == nullptr)
    return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle or stream");
  if (n > 0 && (point_ids == nullptr || ts_us == nullptr || values == nullptr)) {
    return Fail(SLUICE_E_INVALID_ARGUMENT, "point_ids, ts_us and values must not be NULL");
  }
  if (!sluice::v1::SampleInterval_IsValid(interval) || interval == 0) {
    return Fail(SLUICE_E_INVALID_ARGUMENT,
                fmt::format("interval {} is not a SLUICE_INTERVAL_*", interval));
  }
  try {
    sluice::v1::SampleBatch batch;
    batch.set_interval(static_cast<sluice::v1::SampleInterval>(interval));
    batch.mutable_point_id()->Add(point_ids, point_ids + n);
    batch.mutable_ts_us()->Add(ts_us, ts_us + n);
    batch.mutable_value()->Add(values, values + n);
    if (qualities != nullptr) {
      batch.mutable_quality()->Add(qualities, qualities + n);
    } else {
      batch.mutable_quality()->Resize(static_cast<int>(n), 0);
    }
    return CommitResultCode(h, stream, h->client->CommitSamples(stream, std::move(batch)));
  } catch (const std::exception& e) {
    return Fail(SLUICE_E_INTERNAL, e.what());
  }
}

int sluice_commit_sql(sluice_client* h, const char* stream, const char* sql, size_t nparams,
                      const char* const* params) {
  last_error.clear();
  if (h == nullptr || stream == nullptr || sql == nullptr) {
    return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle, stream or sql");
  }
  if (nparams > 0 && params == nullptr) return Fail(SLUICE_E_INVALID_ARGUMENT, "params is NULL");
  try {
    std::vector<sluice::v1::Record> records(1);
    *records[0].mutable_sql() = Statement(sql, nparams, params);
    return CommitResultCode(h, stream, h->client->Commit(stream, std::move(records)));
  } catch (const std::exception& e) {
    return Fail(SLUICE_E_INTERNAL, e.what());
  }
}

int sluice_commit_events(sluice_client* h, const char* stream, size_t n,
                         const sluice_event* events) {
  last_error.clear();
  if (h == nullptr || stream == nullptr) return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle or stream");
  if (n > 0 && events == nullptr) return Fail(SLUICE_E_INVALID_ARGUMENT, "events is NULL");
  try {
    std::vector<sluice::v1::Record> records(1);
    sluice::v1::EventBatch* batch = records[0].mutable_events();
    for (size_t i = 0; i < n; ++i) {
      sluice::v1::Event* e = batch->add_events();
      e->set_ts_us(events[i].ts_us);
      e->set_point_id(events[i].point_id);
      e->set_kind(OrEmpty(events[i].kind));
      e->set_severity(events[i].severity);
      e->set_source(OrEmpty(events[i].source));
      e->set_text(OrEmpty(events[i].text));
    }
    return CommitResultCode(h, stream, h->client->Commit(stream, std::move(records)));
  } catch (const std::exception& e) {
    return Fail(SLUICE_E_INTERNAL, e.what());
  }
}

int sluice_last_sequence(sluice_client* h, const char* stream, uint64_t* sequence) {
  last_error.clear();
  if (h == nullptr || stream == nullptr || sequence == nullptr) {
    return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle, stream or sequence");
  }
  std::lock_guard lk(h->mu);
  auto it = h->last_sequence.find(std::string_view(stream));
  if (it == h->last_sequence.end()) {
    return Fail(SLUICE_E_NOT_FOUND,
                fmt::format("no commit on stream '{}' was acknowledged through this handle", stream));
  }
  *sequence = it->second;
  return SLUICE_OK;
}

int sluice_spool_status(sluice_client* h, const char* stream, sluice_spool_info* out, char* why,
                        size_t why_size) {
  last_error.clear();
  if (h == nullptr || stream == nullptr || out == nullptr) {
    return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle, stream or out");
  }
  if (why != nullptr && why_size == 0) {
    return Fail(SLUICE_E_INVALID_ARGUMENT, "why: a buffer of 0 bytes has no room for the NUL");
  }
  try {
    for (const sluice::client::StreamSpoolStatus& st : h->client->SpoolStatus()) {
      if (st.stream != stream) continue;
      out->pending = st.pending;
      out->next_sequence = st.next_sequence;
      out->delivered = st.delivered;
      out->rejected = st.rejected;
      if (why != nullptr) {
        // A message for people: cut to fit rather than refused.
        const size_t n = std::min(st.last_error.size(), why_size - 1);
        std::memcpy(why, st.last_error.data(), n);
        why[n] = '\0';
      }
      return SLUICE_OK;
    }
    return Fail(SLUICE_E_NOT_FOUND, fmt::format("stream '{}' has no spool", stream));
  } catch (const std::exception& e) {
    return Fail(SLUICE_E_INTERNAL, e.what());
  }
}

int sluice_client_id(const sluice_client* h, char* buf, size_t buf_size) {
  last_error.clear();
  if (h == nullptr) return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle");
  if (!CopyOut("sluice_client_id", h->client->client_id(), buf, buf_size)) {
    return SLUICE_E_INVALID_ARGUMENT;
  }
  return SLUICE_OK;
}

int sluice_wait_spool_drained(sluice_client* h, int64_t timeout_ms) {
  last_error.clear();
  if (h == nullptr) return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle");
  sluice::Status s = h->client->WaitForSpoolDrained(std::chrono::milliseconds(timeout_ms));
  return s.ok() ? SLUICE_OK : Fail(s);
}

const char* sluice_last_error(const sluice_client* /*h*/) { return last_error.c_str(); }

void sluice_close(sluice_client* h) { delete h; }

}  // extern "C"

// The C API (include/sluice/sluice.h) over sluice::client::Client.

#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sluice/client.h"
#include "sluice/sluice.h"

struct sluice_client {
  std::unique_ptr<sluice::client::Client> client;
};

namespace {

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

int CommitResultCode(const sluice::Result<sluice::client::CommitResult>& r) {
  if (!r.ok()) return Fail(r.status());
  return r->state == sluice::client::CommitState::kSpooled ? SLUICE_SPOOLED : SLUICE_OK;
}

}  // namespace

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
    return CommitResultCode(h->client->CommitSamples(stream, std::move(batch)));
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
    return CommitResultCode(h->client->Commit(stream, std::move(records)));
  } catch (const std::exception& e) {
    return Fail(SLUICE_E_INTERNAL, e.what());
  }
}

int sluice_execute(sluice_client* h, const char* sql, size_t nparams, const char* const* params,
                   int read_only, sluice_row_fn on_row, void* ctx, int64_t* rows_affected,
                   uint64_t* lsn) {
  last_error.clear();
  if (h == nullptr || sql == nullptr) return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle or sql");
  if (nparams > 0 && params == nullptr) return Fail(SLUICE_E_INVALID_ARGUMENT, "params is NULL");
  try {
    sluice::v1::ExecuteRequest req;
    *req.mutable_statement() = Statement(sql, nparams, params);
    req.set_read_only(read_only != 0);
    auto r = h->client->Execute(req);
    if (!r.ok()) return Fail(r.status());
    if (rows_affected != nullptr) *rows_affected = r->rows_affected();
    if (lsn != nullptr) *lsn = r->lsn();
    if (on_row != nullptr && r->rows_size() > 0) {
      std::vector<const char*> cols;
      for (const auto& c : r->columns()) cols.push_back(c.c_str());
      std::vector<std::optional<std::string>> texts;
      std::vector<const char*> values;
      for (const auto& row : r->rows()) {
        texts.clear();
        values.clear();
        for (const auto& v : row.values()) texts.push_back(ValueText(v));
        for (const auto& t : texts) values.push_back(t ? t->c_str() : nullptr);
        values.resize(cols.size(), nullptr);
        if (on_row(ctx, cols.size(), cols.data(), values.data()) != 0) break;
      }
    }
    switch (r->outcome()) {
      case sluice::v1::OUTCOME_REJECTED:
        last_error = r->message();
        return SLUICE_REJECTED;
      case sluice::v1::OUTCOME_UNKNOWN:
        last_error = r->message();
        return SLUICE_OUTCOME_UNKNOWN;
      default:
        return SLUICE_OK;
    }
  } catch (const std::exception& e) {
    return Fail(SLUICE_E_INTERNAL, e.what());
  }
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

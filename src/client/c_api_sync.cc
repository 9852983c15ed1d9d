// The C API's synchronous calls: sluice_execute, outcomes, model updates and watching
// them.

#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "client/c_api_internal.h"

// The C API's shared helpers (c_api_internal.h).
using namespace sluice::client::c_api;  // NOLINT(google-build-using-namespace)

extern "C" {

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

int sluice_get_outcome(sluice_client* h, uint64_t lsn, int64_t* rows_affected) {
  last_error.clear();
  if (h == nullptr) return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle");
  if (lsn == 0) return Fail(SLUICE_E_INVALID_ARGUMENT, "lsn 0 names no write");
  try {
    auto r = h->client->GetOutcome(lsn);
    if (!r.ok()) return Fail(r.status());
    if (rows_affected != nullptr) *rows_affected = r->rows_affected();
    return OutcomeCode(*r);
  } catch (const std::exception& e) {
    return Fail(SLUICE_E_INTERNAL, e.what());
  }
}

int sluice_get_outcome_by_request_id(sluice_client* h, const char* request_id,
                                     int64_t* rows_affected, uint64_t* lsn) {
  last_error.clear();
  if (h == nullptr || request_id == nullptr) {
    return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle or request_id");
  }
  try {
    auto r = h->client->GetOutcomeByRequestId(request_id);
    if (!r.ok()) return Fail(r.status());
    if (rows_affected != nullptr) *rows_affected = r->rows_affected();
    if (lsn != nullptr) *lsn = r->lsn();
    return OutcomeCode(*r);
  } catch (const std::exception& e) {
    return Fail(SLUICE_E_INTERNAL, e.what());
  }
}

int sluice_update(sluice_client* h, const char* sql, size_t nparams, const char* const* params,
                  const char* request_id, char* request_id_out, size_t request_id_size,
                  int64_t* rows_affected, uint64_t* lsn) {
  last_error.clear();
  if (h == nullptr || sql == nullptr) return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle or sql");
  if (nparams > 0 && params == nullptr) return Fail(SLUICE_E_INVALID_ARGUMENT, "params is NULL");
  const std::string id = OrEmpty(request_id);
  // Checked before the write is sent: once it is, its id must reach the caller.
  const size_t needed = id.empty() ? SLUICE_REQUEST_ID_SIZE : id.size() + 1;
  if (request_id_out != nullptr && request_id_size < needed) {
    return Fail(SLUICE_E_INVALID_ARGUMENT,
                fmt::format("request_id_out: a buffer of {} bytes is too small for the request "
                            "id ({} bytes with the NUL)",
                            request_id_size, needed));
  }
  try {
    sluice::v1::ExecuteRequest req;
    *req.mutable_statement() = Statement(sql, nparams, params);
    req.set_request_id(id);
    auto r = h->client->Update(req);
    if (!r.ok()) return Fail(r.status());
    if (request_id_out != nullptr &&
        !CopyOut("request_id_out", r->request_id(), request_id_out, request_id_size)) {
      return SLUICE_E_INTERNAL;  // the library made an id longer than it promises
    }
    if (rows_affected != nullptr) *rows_affected = r->rows_affected();
    if (lsn != nullptr) *lsn = r->lsn();
    return OutcomeCode(*r);
  } catch (const std::exception& e) {
    return Fail(SLUICE_E_INTERNAL, e.what());
  }
}

int sluice_watch(sluice_client* h, uint64_t from_lsn, sluice_change_fn on_change, void* ctx) {
  last_error.clear();
  if (h == nullptr || on_change == nullptr) {
    return Fail(SLUICE_E_INVALID_ARGUMENT, "null handle or on_change");
  }
  try {
    std::vector<std::optional<std::string>> texts;
    std::vector<const char*> values;
    sluice::Status s = h->client->Watch(from_lsn, [&](const sluice::v1::ModelChange& c) {
      texts.clear();
      values.clear();
      for (const auto& v : c.statement().params()) texts.push_back(ValueText(v));
      for (const auto& t : texts) values.push_back(t ? t->c_str() : nullptr);
      return on_change(ctx, c.lsn(), c.statement().text().c_str(), values.size(), values.data(),
                       c.rows_affected(), c.target().c_str(), c.admitted_at_us()) == 0;
    });
    return s.ok() ? SLUICE_OK : Fail(s);
  } catch (const std::exception& e) {
    return Fail(SLUICE_E_INTERNAL, e.what());
  }
}

void sluice_cancel_calls(sluice_client* h) {
  if (h != nullptr) h->client->CancelCalls();
}

}  // extern "C"

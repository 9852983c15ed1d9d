#pragma once
// The dashboard's JSON endpoints beside /api/status (docs/dashboard.md), without the HTTP
// server: each reads its parameters (api_params.h) and calls the very code the gRPC
// method runs (AdminService::ListErrorLog / RunErrorAction / ListAlarmSnapshot,
// HistoryService::ReadRawChecked / ReadAggregatesChecked), then prints the answer as
// protobuf JSON (field names as in the .proto, every field present, 64-bit integers as
// strings), like /api/status. The bearer token is checked by the server before.
//
//   GET  /api/alarms                ListAlarms
//   GET  /api/errors                ListErrors     (target, stream, since, until, resolved)
//   POST /api/errors/retry          RetryErrors    (target, stream, lsn | all=true)
//   POST /api/errors/discard        DiscardErrors
//   GET  /api/history/raw           ReadRaw        (point, interval, from, to, ...) + limits
//   GET  /api/history/aggregates    ReadAggregates (... step, aggregates) + limits
//
// A refusal is one line naming the request and why, with the status mapped from the
// service's code (InvalidArgument 400, NotFound 404, FailedPrecondition 409, Unavailable
// 503, ...).
//
// Thread safety: as the services: any thread, concurrently.

#include <string>

#include "http/api_params.h"
#include "service/admin_service.h"
#include "service/history_service.h"

namespace sluice::http {

struct ApiAnswer {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// The HTTP status of a service's refusal.
int HttpStatusOf(Code code);

class ApiEndpoints {
 public:
  // Either may be null: its endpoints then answer 503 saying so.
  ApiEndpoints(service::AdminService* admin, service::HistoryService* history)
      : admin_(admin), history_(history) {}

  ApiAnswer Alarms();
  ApiAnswer Errors(const Params& params);
  // `retry`: POST /api/errors/retry, else /api/errors/discard.
  ApiAnswer ErrorAction(bool retry, const Params& params);
  ApiAnswer HistoryRaw(const Params& params);
  ApiAnswer HistoryAggregates(const Params& params);

 private:
  service::AdminService* const admin_;
  service::HistoryService* const history_;
};

// `message` as JSON: the same printer as /api/status (empty on failure, `error` set).
std::string ToJson(const google::protobuf::Message& message, std::string* error);

}  // namespace sluice::http

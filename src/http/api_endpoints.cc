#include "http/api_endpoints.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

namespace sluice::http {
namespace {

ApiAnswer Refusal(std::string_view what, const Status& s) {
  ApiAnswer a;
  a.status = HttpStatusOf(s.code());
  a.content_type = "text/plain; charset=utf-8";
  a.body = fmt::format("{}: {}\n", what, s.message());
  return a;
}

ApiAnswer Json(std::string_view what, const google::protobuf::Message& message) {
  std::string error;
  std::string json = ToJson(message, &error);
  if (!error.empty()) {
    return Refusal(what, Status::Internal(fmt::format("the answer could not be printed as "
                                                      "JSON: {}", error)));
  }
  ApiAnswer a;
  a.body = std::move(json);
  return a;
}

// The point's limits as the catalog holds them, for drawing beside its history (a limit
// not set is null).
nlohmann::json PointJson(const service::HistoryService& history, int64_t id) {
  nlohmann::json out = {{"id", id}};
  std::optional<sampling::Point> p = history.FindPoint(id);
  if (!p) return out;
  auto limit = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  out["name"] = p->name;
  out["description"] = p->description;
  out["unit"] = p->unit;
  out["limits"] = {{"hihi", limit(p->limits.hihi)},
                   {"hi", limit(p->limits.hi)},
                   {"lo", limit(p->limits.lo)},
                   {"lolo", limit(p->limits.lolo)}};
  return out;
}

// {"point": {...}, "result": <the service's answer>}
template <typename Response>
ApiAnswer HistoryJson(std::string_view what, const service::HistoryService& history,
                      int64_t point, const Response& response) {
  ApiAnswer a = Json(what, response);
  if (a.status != 200) return a;
  a.body = fmt::format("{{\"point\": {},\n\"result\": {}}}\n", PointJson(history, point).dump(),
                       a.body);
  return a;
}

ApiAnswer NotServed(std::string_view what, std::string_view part) {
  return Refusal(what, Status::Unavailable(fmt::format("this node serves no {}", part)));
}

}  // namespace

int HttpStatusOf(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument:
    case Code::kOutOfRange: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
    case Code::kAborted: return 409;
    case Code::kResourceExhausted: return 429;
    case Code::kUnavailable:
    case Code::kNeedsResync: return 503;
    case Code::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

std::string ToJson(const google::protobuf::Message& message, std::string* error) {
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  o.add_whitespace = true;
  auto s = google::protobuf::util::MessageToJsonString(message, &json, o);
  if (!s.ok()) {
    *error = s.ToString();
    return "";
  }
  return json;
}

ApiAnswer ApiEndpoints::Alarms() {
  constexpr std::string_view kWhat = "GET /api/alarms";
  if (admin_ == nullptr) return NotServed(kWhat, "alarms");
  v1::ListAlarmsResponse response;
  Status s = admin_->ListAlarmSnapshot(&response);
  if (!s.ok()) return Refusal(kWhat, s);
  return Json(kWhat, response);
}

ApiAnswer ApiEndpoints::Errors(const Params& params) {
  constexpr std::string_view kWhat = "GET /api/errors";
  if (admin_ == nullptr) return NotServed(kWhat, "error logs");
  Result<v1::ListErrorsRequest> request = ParseListErrors(params);
  if (!request.ok()) return Refusal(kWhat, request.status());
  v1::ListErrorsResponse response;
  Status s = admin_->ListErrorLog(*request, &response);
  if (!s.ok()) return Refusal(kWhat, s);
  return Json(kWhat, response);
}

ApiAnswer ApiEndpoints::ErrorAction(bool retry, const Params& params) {
  const std::string what = retry ? "POST /api/errors/retry" : "POST /api/errors/discard";
  if (admin_ == nullptr) return NotServed(what, "error logs");
  Result<v1::ErrorActionRequest> request = ParseErrorAction(params);
  if (!request.ok()) return Refusal(what, request.status());
  v1::ErrorActionResponse response;
  Status s = admin_->RunErrorAction(
      retry ? service::AdminService::Action::kRetry : service::AdminService::Action::kDiscard,
      *request, &response);
  if (!s.ok()) return Refusal(what, s);
  return Json(what, response);
}

ApiAnswer ApiEndpoints::HistoryRaw(const Params& params) {
  constexpr std::string_view kWhat = "GET /api/history/raw";
  if (history_ == nullptr) return NotServed(kWhat, "history");
  Result<v1::ReadRawRequest> request = ParseReadRaw(params);
  if (!request.ok()) return Refusal(kWhat, request.status());
  v1::ReadRawResponse response;
  Status s = history_->ReadRawChecked(*request, &response);
  if (!s.ok()) return Refusal(kWhat, s);
  return HistoryJson(kWhat, *history_, request->range().point_ids(0), response);
}

ApiAnswer ApiEndpoints::HistoryAggregates(const Params& params) {
  constexpr std::string_view kWhat = "GET /api/history/aggregates";
  if (history_ == nullptr) return NotServed(kWhat, "history");
  Result<v1::ReadAggregatesRequest> request = ParseReadAggregates(params);
  if (!request.ok()) return Refusal(kWhat, request.status());
  v1::ReadAggregatesResponse response;
  Status s = history_->ReadAggregatesChecked(*request, &response);
  if (!s.ok()) return Refusal(kWhat, s);
  return HistoryJson(kWhat, *history_, request->range().point_ids(0), response);
}

}  // namespace sluice::http

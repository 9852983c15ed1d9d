// Admin.ListAlarms and Admin.WatchAlarms: the alarm engine's state as the API shows it
// (role "admin", like every Admin call).
#include <fmt/format.h>

#include "rpc/status_mapping.h"
#include "service/admin_service.h"

namespace sluice::service {
namespace {

using config::TokenRole;
using SluiceStatus = ::sluice::Status;

void FillAlarm(const alarm::ActiveAlarm& a, v1::Alarm* out) {
  out->set_check(a.check);
  out->set_subject(a.subject);
  out->set_severity(std::string(config::AlarmSeverityName(a.severity)));
  out->set_value(a.value);
  out->set_threshold(a.threshold);
  out->set_value_text(alarm::FormatValue(a.value, a.unit));
  out->set_threshold_text(alarm::FormatValue(a.threshold, a.unit));
  out->set_detail(a.detail);
  out->set_since_us(a.raised_at_us);
}

void FillEvent(const alarm::AlarmEvent& e, v1::AlarmEvent* out) {
  out->set_seq(e.seq);
  out->set_raised(e.raised);
  FillAlarm(alarm::ActiveAlarm{e.check, e.subject, e.severity, e.value, e.threshold, e.unit,
                               e.detail, e.at_us},
            out->mutable_alarm());
}

SluiceStatus NoAlarms() {
  return SluiceStatus::FailedPrecondition("this node runs no alarm engine");
}

}  // namespace

grpc::Status AdminService::ListAlarms(grpc::ServerContext* context, const v1::ListAlarmsRequest*,
                                      v1::ListAlarmsResponse* response) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kAdmin, "Admin.ListAlarms");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  return rpc::ToGrpcStatus(ListAlarmSnapshot(response));
}

SluiceStatus AdminService::ListAlarmSnapshot(v1::ListAlarmsResponse* response) {
  if (ctx_.alarms == nullptr) return NoAlarms();
  alarm::AlarmSnapshot s = ctx_.alarms->GetSnapshot();
  for (const auto& a : s.active) FillAlarm(a, response->add_active());
  for (const auto& e : s.history) FillEvent(e, response->add_history());
  response->set_last_check_us(s.last_pass_us);
  response->set_info(s.counts[static_cast<size_t>(alarm::Severity::kInfo)]);
  response->set_warning(s.counts[static_cast<size_t>(alarm::Severity::kWarning)]);
  response->set_critical(s.counts[static_cast<size_t>(alarm::Severity::kCritical)]);
  return SluiceStatus::OK();
}

grpc::Status AdminService::WatchAlarms(grpc::ServerContext* context, const v1::WatchAlarmsRequest*,
                                       grpc::ServerWriter<v1::AlarmUpdate>* writer) {
  auto caller = AdmitCall(ctx_, *context, TokenRole::kAdmin, "Admin.WatchAlarms");
  if (!caller.ok()) return rpc::ToGrpcStatus(caller.status());
  if (ctx_.alarms == nullptr) return rpc::ToGrpcStatus(NoAlarms());
  auto watch = ctx_.alarms->Subscribe();
  v1::AlarmUpdate first;
  first.set_snapshot(true);
  for (const auto& a : watch->initial().active) FillAlarm(a, first.add_active());
  if (!writer->Write(first)) return grpc::Status::OK;  // the watcher went away
  alarm::AlarmEvent e;
  while (!context->IsCancelled()) {
    switch (watch->Next(std::chrono::milliseconds(200), &e)) {
      case alarm::AlarmEngine::Watch::Result::kEvent: {
        v1::AlarmUpdate update;
        FillEvent(e, update.mutable_event());
        if (!writer->Write(update)) return grpc::Status::OK;
        break;
      }
      case alarm::AlarmEngine::Watch::Result::kTimeout:
        break;
      case alarm::AlarmEngine::Watch::Result::kClosed:
        return rpc::ToGrpcStatus(
            SluiceStatus::Unavailable("sluiced is stopping: the alarm watch ends"));
      case alarm::AlarmEngine::Watch::Result::kOverflow:
        return rpc::ToGrpcStatus(SluiceStatus::ResourceExhausted(
            fmt::format("the alarm watch fell more than {} events behind and ends; watch again",
                        alarm::AlarmEngine::kMaxWatchBacklog)));
    }
  }
  return grpc::Status::OK;
}

}  // namespace sluice::service

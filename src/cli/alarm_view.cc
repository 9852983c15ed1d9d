#include "cli/alarm_view.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "cli/status_view.h"

namespace sluice::cli {

std::string RenderAlarms(const v1::ListAlarmsResponse& r, int64_t now_us, int recent) {
  std::string out;
  if (r.active().empty()) {
    out += "no active alarms\n";
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"SEVERITY", "CHECK", "SUBJECT", "VALUE", "THRESHOLD", "SINCE", "DETAIL"}};
    for (const auto& a : r.active()) {
      rows.push_back({a.severity(), a.check(), a.subject(), a.value_text(), a.threshold_text(),
                      HumanTime(a.since_us(), now_us), a.detail()});
    }
    std::vector<size_t> width(rows.front().size(), 0);
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    for (const auto& row : rows) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        line += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}  ", row[i], width[i]);
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    out += fmt::format("{} active: {} critical, {} warning, {} info\n", r.active_size(),
                       r.critical(), r.warning(), r.info());
  }
  if (recent > 0 && !r.history().empty()) {
    out += "recent raises and clears:\n";
    const int n = r.history_size();
    for (int i = std::max(0, n - recent); i < n; ++i)
      out += "  " + RenderAlarmEvent(r.history(i), now_us);
  }
  return out;
}

std::string RenderAlarmEvent(const v1::AlarmEvent& e, int64_t now_us) {
  const v1::Alarm& a = e.alarm();
  return fmt::format("{}  {:<7}  {:<8}  {}  {}  {} ({} threshold {}){}\n",
                     HumanTime(a.since_us(), now_us), e.raised() ? "raised" : "cleared",
                     a.severity(), a.check(), a.subject(), a.value_text(),
                     e.raised() ? "raise" : "clear", a.threshold_text(),
                     a.detail().empty() ? "" : "  " + a.detail());
}

}  // namespace sluice::cli

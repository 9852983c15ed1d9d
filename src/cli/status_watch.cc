#include "cli/status_watch.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cli/status_view.h"

namespace sluice::cli {

std::string ProgressBar(double fraction, size_t width) {
  fraction = std::clamp(std::isnan(fraction) ? 0.0 : fraction, 0.0, 1.0);
  auto filled = static_cast<size_t>(std::floor(fraction * static_cast<double>(width)));
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

CatchUpWatch::Backlog CatchUpWatch::Take(const v1::StatusResponse& s, const std::string& target,
                                         int64_t now_us) {
  Backlog b;
  b.since_us = now_us;
  std::map<std::string, uint64_t> heads;
  for (const auto& st : s.streams()) heads[st.name()] = st.head_lsn();
  for (const auto& a : s.appliers()) {
    if (a.target() != target) continue;
    uint64_t head = heads[a.stream()];
    uint64_t applied = std::min<uint64_t>(a.applied_lsn(), head);
    b.streams[a.stream()] = {applied, head};
    b.records += head - applied;
  }
  return b;
}

void CatchUpWatch::Observe(const v1::StatusResponse& s, int64_t now_us) {
  if (began_us_ == 0) began_us_ = now_us;
  for (const auto& t : s.targets()) {
    auto it = backlogs_.find(t.name());
    if (it == backlogs_.end() || (it->second.records == 0 && t.lag_records() > 0)) {
      backlogs_[t.name()] = Take(s, t.name(), now_us);
    }
  }
}

double CatchUpWatch::Fraction(const v1::StatusResponse& s, const std::string& target) const {
  auto it = backlogs_.find(target);
  if (it == backlogs_.end()) return -1;
  const Backlog& b = it->second;
  if (b.records == 0) return 1;
  // Appliers apply in LSN order, so of the records waiting then, those at or below the
  // applied LSN now are done.
  uint64_t done = 0;
  for (const auto& a : s.appliers()) {
    if (a.target() != target) continue;
    auto st = b.streams.find(a.stream());
    if (st == b.streams.end()) continue;
    auto [applied_then, head_then] = st->second;
    uint64_t now = std::min<uint64_t>(a.applied_lsn(), head_then);
    if (now > applied_then) done += now - applied_then;
  }
  return static_cast<double>(done) / static_cast<double>(b.records);
}

std::string CatchUpWatch::Render(const v1::StatusResponse& s, int64_t now_us) const {
  if (began_us_ == 0) return "";
  std::string out = fmt::format("catch-up since {} ({}):\n", HumanTime(began_us_, now_us),
                                HumanAge(std::max<int64_t>(0, now_us - began_us_)));
  size_t name_width = 0;
  for (const auto& t : s.targets()) name_width = std::max(name_width, t.name().size());
  for (const auto& t : s.targets()) {
    double f = Fraction(s, t.name());
    if (f < 0) continue;
    out += fmt::format("{:<{}}  {} {:>3.0f}%  {}\n", t.name(), name_width, ProgressBar(f, 20),
                       std::floor(f * 100), CatchUpText(t));
  }
  return WrapLines(out);
}

}  // namespace sluice::cli

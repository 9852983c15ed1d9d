#include "cli/status_view.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <string_view>

#include <fmt/format.h>

#include "cli/status_watch.h"

namespace sluice::cli {

std::string Table::Render() const {
  std::vector<size_t> width;
  for (const auto& r : rows_) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows_) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

namespace {

std::string SinceText(int64_t since_us, int64_t now_us) {
  if (since_us <= 0) return "";
  return fmt::format(" since {} ({})", HumanTime(since_us, now_us),
                     HumanAge(std::max<int64_t>(0, now_us - since_us)));
}

std::string RateText(double per_s) { return fmt::format("{:.0f}/s", std::max(0.0, per_s)); }

// A time of day in a table cell: HumanTime without its " UTC" (the header says it).
std::string ClockText(int64_t us, int64_t now_us) {
  std::string t = HumanTime(us, now_us);
  if (t.ends_with(" UTC")) t.resize(t.size() - 4);
  return t;
}

// Where to break `line` (at most `width` long before the break): just after the last "; "
// or ": " that is at least a third of the way along, else at the last space; npos when
// there is no space at all.
size_t BreakAt(std::string_view line, size_t width) {
  std::string_view head = line.substr(0, width + 1);
  size_t clause = std::string_view::npos;
  for (std::string_view sep : {"; ", ": "}) {
    size_t at = head.rfind(sep);
    if (at != std::string_view::npos && at + 1 >= width / 3 && at + 1 <= width &&
        (clause == std::string_view::npos || at + 1 > clause)) {
      clause = at + 1;
    }
  }
  if (clause != std::string_view::npos) return clause;
  size_t space = head.rfind(' ');
  if (space == std::string_view::npos || space == 0) space = line.find(' ', width);
  return space;
}

const v1::TargetStatus* FindTarget(const v1::StatusResponse& s, const std::string& name) {
  for (const auto& t : s.targets()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

std::string WithReason(std::string text, const std::string& reason) {
  if (!reason.empty()) text += ": " + reason;
  return text;
}

}  // namespace

std::string WrapLines(const std::string& text, size_t width) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    bool newline = end != std::string::npos;
    std::string_view line(text.data() + pos, (newline ? end : text.size()) - pos);
    std::string_view indent;
    while (line.size() > width) {
      size_t at = BreakAt(line, width);
      if (at == std::string_view::npos) break;
      std::string_view first = line.substr(0, at);
      while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
      out += first;
      out += '\n';
      line.remove_prefix(at);
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      // Continued lines are indented; the width left shrinks by the indent.
      if (indent.empty()) {
        indent = "  ";
        width -= std::min(width, indent.size());
      }
      out += indent;
    }
    out += line;
    if (!indent.empty()) width += indent.size();
    if (newline) out += '\n';
    pos = newline ? end + 1 : text.size();
  }
  return out;
}

std::string EtaText(uint64_t lag_records, double eta_s) {
  if (lag_records == 0) return "-";
  if (eta_s < 0) return "not shrinking";
  return HumanAge(static_cast<int64_t>(eta_s * 1e6));
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  int unit = -1;
  while (v >= 1024 && unit < 3) {
    v /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

std::string HumanAge(int64_t us) {
  if (us < 1'000'000) return fmt::format("{}ms", us / 1000);
  int64_t s = us / 1'000'000;
  if (s < 60) return fmt::format("{:.1f}s", static_cast<double>(us) / 1e6);
  if (s < 3600) return fmt::format("{}min {}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {}min", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
}

std::string HumanTime(int64_t us, int64_t now_us) {
  const auto utc = [](int64_t micros) {
    std::time_t secs = static_cast<std::time_t>(micros >= 0 ? micros / 1'000'000
                                                            : (micros - 999'999) / 1'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return tm;
  };
  std::tm t = utc(us);
  std::tm now = utc(now_us);
  int ms = static_cast<int>(((us % 1'000'000) + 1'000'000) % 1'000'000 / 1000);
  std::string clock = fmt::format("{:02}:{:02}:{:02}.{:03} UTC", t.tm_hour, t.tm_min, t.tm_sec, ms);
  if (t.tm_year == now.tm_year && t.tm_yday == now.tm_yday) return clock;
  return fmt::format("{:04}-{:02}-{:02} {}", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, clock);
}

std::string DescribeState(const v1::StatusResponse& s) {
  if (s.state() == "active") return fmt::format("active({})", s.active_target());
  if (s.state() == "switching") {
    return fmt::format("switching({} -> {})", s.switch_from().empty() ? "none" : s.switch_from(),
                       s.switch_to());
  }
  return s.state();
}

std::string StateLine(const v1::StatusResponse& s, int64_t now_us) {
  std::string state = DescribeState(s);
  if (s.state() == "isolated") {
    state += " (1+N: commits are kept in the journal and replicas fed; synchronous calls are refused)";
  }
  return WithReason("state: " + state + SinceText(s.state_since_us(), now_us), s.state_reason());
}

std::string CatchUpText(const v1::TargetStatus& t) {
  if (t.lag_records() == 0) return "caught up";
  std::string eta = t.eta_s() < 0 ? "not shrinking"
                                   : "ETA " + HumanAge(static_cast<int64_t>(t.eta_s() * 1e6));
  return fmt::format("lag {} records, {}, {}", t.lag_records(), RateText(t.apply_per_s()), eta);
}

std::string SamplingLine(const v1::SamplingStatus& s, int64_t now_us) {
  if (s.max_points() == 0) return {};  // a service without sampling
  std::string out = fmt::format(
      "sampling: {}; {} of {} points updated, {} in the catalog; {} definitions ({} sampled); {} cycles, {} late, "
      "{} missed\n",
      s.enabled() ? "on" : "off (sampler disabled)", s.points(), s.max_points(), s.catalog_points(),
      s.definitions(), s.active_definitions(), s.cycles(), s.late(), s.missed());
  if (s.recall_definitions() > 0 || s.recall_rows() > 0) {
    out += fmt::format(
        "sampling: recall: {} definitions, {} events open; {} rows, {} ticks missed, {} ticks "
        "lost, {} rows not stored\n",
        s.recall_definitions(), s.recall_open_events(), s.recall_rows(), s.recall_missed(),
        s.recall_lost(), s.recall_not_stored());
  }
  if (!s.last_issue().empty()) {
    out += fmt::format("sampling: last issue {}: {}\n", HumanTime(s.last_issue_us(), now_us), s.last_issue());
  }
  if (!s.catalog_error().empty()) out += fmt::format("sampling: CATALOG NOT FOLLOWING: {}\n", s.catalog_error());
  return out;
}

namespace {

std::string RenderStreams(const v1::StatusResponse& s) {
  Table streams({"STREAM", "PRI", "ORDERED", "FIRST", "HEAD", "JOURNAL"});
  for (const auto& st : s.streams()) {
    streams.Add({st.name(), std::to_string(st.priority()), st.ordered() ? "yes" : "no",
                 std::to_string(st.first_lsn()), std::to_string(st.head_lsn()),
                 HumanBytes(st.bytes())});
  }
  return streams.Render();
}

std::string RenderTargets(const v1::StatusResponse& s, int64_t now_us) {
  Table targets({"TARGET", "ROLE", "PRI", "DRIVER", "ENABLED", "HEALTH", "STATE"});
  std::string notes;
  for (const auto& t : s.targets()) {
    std::string name = t.name();
    if (t.active()) {
      name += " (active)";
    } else if (s.state() == "switching" && t.name() == s.switch_to()) {
      name += " (taking over)";
    }
    std::string health = t.health().empty() ? "-" : t.health();
    if (t.health() == "down" && t.health_since_us() > 0) {
      health += " " + HumanAge(std::max<int64_t>(0, now_us - t.health_since_us()));
    }
    targets.Add({name, t.role(), t.role() == "primary" ? std::to_string(t.priority()) : "-",
                 t.dialect(), t.enabled() ? "yes" : "no", health, t.state()});
    if (t.health() == "down") {
      notes += WithReason(fmt::format("{}: down{}", t.name(), SinceText(t.health_since_us(), now_us)),
                          t.health_detail()) +
               "\n";
    } else if (!t.ineligible().empty() && !t.active()) {
      notes += fmt::format("{}: cannot be active: it {}\n", t.name(), t.ineligible());
    }
  }
  return targets.Render() + notes;
}

// What stops an applier or went wrong on it, in a word or two and its last error; "" when
// nothing did (running, or the target's own state says it all: disabled, connecting).
std::string ApplierNote(const v1::ApplierStatus& a) {
  const std::string& state = a.state();
  bool stuck = state == "blocked" || state == "needs resync" || state == "down";
  if (!stuck && !a.diverged() && a.rejected() == 0 && a.last_error().empty()) return "";
  std::string what = state;
  if (a.diverged()) what += ", DIVERGED";
  if (a.rejected() > 0) what += fmt::format(", {} rejected", a.rejected());
  return WithReason(fmt::format("{} / {}: {}", a.target(), a.stream(), what), a.last_error());
}

// Per target: its catch-up, then what waits for it on each stream, in the order the
// service lists streams (highest priority first).
std::string RenderWaiting(const v1::StatusResponse& s, int64_t now_us) {
  std::map<std::string, int> priority;
  for (const auto& st : s.streams()) priority[st.name()] = st.priority();
  std::string out;
  for (const auto& t : s.targets()) {
    out += fmt::format("\n{}: {}\n", t.name(), CatchUpText(t));
    Table waiting({"STREAM", "PRI", "LAG", "LAG BYTES", "OLDEST (UTC)", "AGE", "RATE", "ETA"});
    std::string notes;
    for (const auto& st : s.streams()) {
      for (const auto& a : s.appliers()) {
        if (a.target() != t.name() || a.stream() != st.name()) continue;
        bool lags = a.lag_records() > 0;
        waiting.Add({a.stream(), std::to_string(priority[a.stream()]), std::to_string(a.lag_records()),
                     HumanBytes(a.lag_bytes()),
                     lags && a.oldest_unapplied_us() > 0 ? ClockText(a.oldest_unapplied_us(), now_us) : "-",
                     lags && a.oldest_unapplied_us() > 0 ? HumanAge(a.oldest_unapplied_age_us()) : "-",
                     RateText(a.apply_per_s()), EtaText(a.lag_records(), a.eta_s())});
        if (std::string note = ApplierNote(a); !note.empty()) notes += note + "\n";
      }
    }
    out += waiting.Render() + notes;
  }
  return out;
}

// Whatever keeps retention from deleting segments, named: a removed target's cursor holds
// the journal for ever unless an operator forgets it; a detached one (needs a resync)
// holds nothing, but its target will not be fed until it is rebuilt.
std::string RenderCursors(const v1::StatusResponse& s) {
  Table cursors({"STREAM", "CURSOR", "LSN", "HOLDS", "NOTE"});
  bool any = false;
  std::vector<std::string> removed;
  for (const auto& c : s.cursors()) {
    if (c.held_bytes() == 0 && c.configured() && !c.needs_resync()) continue;
    any = true;
    std::string note;
    if (!c.configured()) {
      note = "not configured";
      if (std::find(removed.begin(), removed.end(), c.name()) == removed.end()) removed.push_back(c.name());
    }
    if (c.needs_resync()) note += (note.empty() ? "" : "; ") + std::string("detached, needs resync");
    cursors.Add({c.stream(), c.name(), std::to_string(c.lsn()), HumanBytes(c.held_bytes()),
                 note.empty() ? "-" : note});
  }
  if (!any) return "";
  std::string out = "\ncursors holding journal segments:\n" + cursors.Render();
  for (const auto& name : removed) {
    out += fmt::format("{}: not configured: `sluice target forget {}` releases it\n", name, name);
  }
  return out;
}

std::string RenderResyncs(const v1::StatusResponse& s) {
  if (s.resyncs().empty()) return "";
  std::string out = "\nresyncs:\n";
  for (const auto& r : s.resyncs()) out += "  " + ResyncLine(r) + "\n";
  return out;
}

}  // namespace

std::string ResyncLine(const v1::ResyncProgress& p) {
  std::string out = fmt::format("resync of {} from {}: {}", p.target(), p.from(), p.state());
  if (p.state() == "interrupted") {
    return out + fmt::format("; the target stays stopped until `sluice target resync {} --from {}` continues it",
                             p.target(), p.from());
  }
  if (p.state() == "failed") return out + ": " + p.error();
  if (p.rows_total() > 0) {
    const double fraction = static_cast<double>(p.rows_copied()) / static_cast<double>(p.rows_total());
    out += fmt::format(" {} {:.0f}%, {} of {} rows", ProgressBar(fraction, 20), std::min(1.0, fraction) * 100,
                       p.rows_copied(), p.rows_total());
  } else {
    out += fmt::format(", {} rows", p.rows_copied());
  }
  if (p.state() == "done") {
    const int64_t took = p.finished_us() - p.started_us();
    return out + fmt::format(" in {}{}", HumanAge(took), p.resumed() ? " (continued an interrupted copy)" : "");
  }
  if (!p.table().empty()) {
    out += fmt::format(", table {} ({} of {} tables)", p.table(), p.tables_done() + 1, p.tables_total());
  }
  if (p.rows_per_s() > 0) out += ", " + RateText(p.rows_per_s());
  if (p.eta_s() >= 0) out += ", ETA " + HumanAge(p.eta_s() * 1'000'000);
  return out;
}

std::string RenderStatus(const v1::StatusResponse& s, int64_t now_us) {
  std::string out;
  out += fmt::format("node: {}\n", s.node_id());
  out += StateLine(s, now_us) + "\n";
  out += fmt::format(
      "journal: {} used{}, {} free on its filesystem\n", HumanBytes(s.journal_bytes()),
      s.journal_budget_bytes() ? " of a budget of " + HumanBytes(s.journal_budget_bytes()) : "",
      HumanBytes(s.free_bytes()));
  out += SamplingLine(s.sampling(), now_us);
  out += "\n" + RenderStreams(s);
  out += "\n" + RenderTargets(s, now_us);
  out += RenderWaiting(s, now_us);
  out += RenderResyncs(s);
  out += RenderCursors(s);
  return WrapLines(out);
}

SwitchProgress JudgeSwitch(const v1::StatusResponse& s, const std::string& target) {
  SwitchProgress p;
  const std::string state = DescribeState(s);
  if (s.state() == "active") {
    if (s.active_target() == target) {
      p.verdict = SwitchVerdict::kDone;
      p.message = WithReason(state, s.state_reason());
    } else {
      p.verdict = SwitchVerdict::kElsewhere;
      p.message = WithReason(fmt::format("'{}' is active instead ({})", s.active_target(), state),
                             s.state_reason());
    }
    return p;
  }
  if (s.state() == "switching") {
    if (s.switch_to() != target) {
      p.verdict = SwitchVerdict::kElsewhere;
      p.message = WithReason(
          fmt::format("the service is switching to '{}' instead ({})", s.switch_to(), state),
          s.state_reason());
      return p;
    }
    p.verdict = SwitchVerdict::kUnderWay;
    const v1::TargetStatus* t = FindTarget(s, target);
    p.message = fmt::format("{}: '{}' is catching up: {}", state, target,
                            t ? CatchUpText(*t) : "no catch-up figures from the service");
    return p;
  }
  if (s.state() == "isolated") {
    p.verdict = SwitchVerdict::kElsewhere;
    p.message = WithReason("the service is isolated (no primary can serve)", s.state_reason());
    return p;
  }
  p.verdict = SwitchVerdict::kUnderWay;  // starting: the first decision is still to come
  p.message = WithReason(state, s.state_reason());
  return p;
}

}  // namespace sluice::cli

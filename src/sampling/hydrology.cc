#include "sampling/hydrology.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <iterator>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sluice/v1/records.pb.h"

namespace sluice::sampling {
namespace {

struct Token {
  std::string_view text;
  size_t offset;  // byte offset in the body
  int number;     // 1-based
};

std::vector<Token> Tokenize(std::string_view body) {
  std::vector<Token> tokens;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && space(body[i])) ++i;
    const size_t start = i;
    while (i < body.size() && !space(body[i])) ++i;
    if (i > start) {
      tokens.push_back({body.substr(start, i - start), start, static_cast<int>(tokens.size()) + 1});
    }
  }
  return tokens;
}

// "token 3 'TT' (byte 14)"; control bytes shown as \xNN so they cannot garble a log line.
std::string Describe(const Token& t) {
  std::string text;
  for (unsigned char c : t.text) {
    if (c < 0x20 || c == 0x7f) {
      fmt::format_to(std::back_inserter(text), "\\x{:02x}", c);
    } else {
      text.push_back(static_cast<char>(c));
    }
  }
  return fmt::format("token {} '{}' (byte {})", t.number, text, t.offset);
}

Status Expected(const Token& t, std::string_view what) {
  return Status::InvalidArgument(fmt::format("observation: {}: expected {}", Describe(t), what));
}
Status EndedBefore(const Token& last, std::string_view what) {
  return Status::InvalidArgument(
      fmt::format("observation: the body ends after {}: expected {}", Describe(last), what));
}

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsElementCode(std::string_view text) {
  if (text.empty() || !IsUpper(text[0])) return false;
  for (char c : text) {
    if (!IsUpper(c) && !IsDigit(c)) return false;
  }
  return true;
}

bool IsStationCode(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!IsDigit(c) && !IsUpper(c) && !(c >= 'a' && c <= 'z')) return false;
  }
  return true;
}

// SL 651-2014's station categories (遥测站分类码).
bool IsStationCategory(std::string_view text) {
  return text.size() == 1 && std::string_view("PHKZDTMGQIO").find(text[0]) != std::string_view::npos;
}

// TT yyMMddHHmm as µs since 1970-01-01T00:00 of the same civil (local) clock.
Result<int64_t> ParseLocalTime(const Token& t) {
  if (t.text.size() != 10 ||
      !std::all_of(t.text.begin(), t.text.end(), [](char c) { return IsDigit(c); })) {
    return Expected(t, "the observation time as 10 digits yyMMddHHmm");
  }
  auto field = [&](size_t at) { return (t.text[at] - '0') * 10 + (t.text[at + 1] - '0'); };
  const int yy = field(0), mon = field(2), dd = field(4), hh = field(6), mi = field(8);
  const std::chrono::year_month_day date{std::chrono::year(2000 + yy),
                                         std::chrono::month(static_cast<unsigned>(mon)),
                                         std::chrono::day(static_cast<unsigned>(dd))};
  std::string wrong;
  if (!date.month().ok()) {
    wrong = fmt::format("month {}", mon);
  } else if (!date.ok()) {
    wrong = fmt::format("day {} (20{:02}-{:02} has {} days)", dd, yy, mon,
                        static_cast<unsigned>(
                            std::chrono::year_month_day_last(date.year(),
                                                             std::chrono::month_day_last(date.month()))
                                .day()));
  } else if (hh > 23) {
    wrong = fmt::format("hour {}", hh);
  } else if (mi > 59) {
    wrong = fmt::format("minute {}", mi);
  }
  if (!wrong.empty()) {
    return Expected(t, fmt::format("an observation time yyMMddHHmm, but it has {}", wrong));
  }
  const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  return days * kDayUs + hh * kHourUs + mi * kMinuteUs;
}

// A finite decimal number filling the whole token; a leading '+' is allowed.
std::optional<double> ParseValue(std::string_view text) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed |
                                                                 std::chars_format::scientific);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

Result<Observation> ParseObservation(std::string_view body) {
  const std::vector<Token> tokens = Tokenize(body);
  if (tokens.empty()) {
    return Status::InvalidArgument("observation: the body is empty: expected 'ST' and the station code");
  }
  Observation obs;
  size_t i = 0;
  if (tokens[i].text != "ST") return Expected(tokens[i], "'ST' (the station code comes first)");
  ++i;
  if (i == tokens.size()) return EndedBefore(tokens[i - 1], "the station code");
  if (tokens[i].text == "TT" || !IsStationCode(tokens[i].text)) {
    return Expected(tokens[i], "the station code after 'ST' (letters and digits)");
  }
  obs.station = std::string(tokens[i].text);
  ++i;
  if (i < tokens.size() && IsStationCategory(tokens[i].text)) {
    obs.category = std::string(tokens[i].text);
    ++i;
  }
  if (i == tokens.size()) return EndedBefore(tokens[i - 1], "'TT' and the observation time");
  if (tokens[i].text != "TT") return Expected(tokens[i], "'TT' and the observation time");
  const int tt_token = tokens[i].number;
  ++i;
  if (i == tokens.size()) return EndedBefore(tokens[i - 1], "the observation time yyMMddHHmm");
  SLUICE_ASSIGN_OR_RETURN(obs.local_time_us, ParseLocalTime(tokens[i]));
  ++i;
  for (; i < tokens.size(); i += 2) {
    const Token& code = tokens[i];
    if (code.text == "ST" || code.text == "TT") {
      return Status::InvalidArgument(fmt::format(
          "observation: {}: '{}' was given already (token {}); one observation per body",
          Describe(code), code.text, code.text == "ST" ? 1 : tt_token));
    }
    if (!IsElementCode(code.text)) {
      return Expected(code, "an element identifier ([A-Z][A-Z0-9]*, e.g. Z, Q, PJ)");
    }
    for (const ObservedElement& e : obs.elements) {
      if (e.code == code.text) {
        return Status::InvalidArgument(
            fmt::format("observation: {}: element '{}' is given twice (first at token {})",
                        Describe(code), code.text, e.token));
      }
    }
    if (i + 1 == tokens.size()) {
      return EndedBefore(code, fmt::format("the value of element '{}'", code.text));
    }
    const Token& value = tokens[i + 1];
    std::optional<double> parsed = ParseValue(value.text);
    if (!parsed.has_value()) {
      return Expected(value, fmt::format("a number, the value of element '{}' (token {})",
                                         code.text, code.number));
    }
    obs.elements.push_back({std::string(code.text), *parsed, code.number});
  }
  if (obs.elements.empty()) {
    return Status::InvalidArgument(fmt::format(
        "observation: station '{}' reports no element: expected element identifier / value "
        "pairs after the observation time",
        obs.station));
  }
  return obs;
}

Result<StationMap> StationMap::Build(const std::vector<Point>& points) {
  StationMap map;
  // Where each pair came from, to name both points of a duplicate.
  std::map<std::pair<std::string, std::string>, const Point*> owners;
  for (const Point& p : points) {
    if (p.station.empty() && p.element.empty()) continue;
    if (p.station.empty() || p.element.empty()) {
      return Status::InvalidArgument(fmt::format(
          "point {} '{}' has {} but no {}: a hydrology point needs both to be fed", p.id, p.name,
          p.station.empty() ? fmt::format("element '{}'", p.element)
                            : fmt::format("station '{}'", p.station),
          p.station.empty() ? "station" : "element"));
    }
    auto [it, inserted] = owners.emplace(std::pair{p.station, p.element}, &p);
    if (!inserted) {
      return Status::InvalidArgument(
          fmt::format("station '{}' element '{}' maps to two points: {} '{}' and {} '{}'",
                      p.station, p.element, it->second->id, it->second->name, p.id, p.name));
    }
    map.points_[p.station][p.element] = p.id;
    ++map.size_;
  }
  return map;
}

std::optional<int64_t> StationMap::Find(std::string_view station, std::string_view element) const {
  auto s = points_.find(station);
  if (s == points_.end()) return std::nullopt;
  auto e = s->second.find(element);
  if (e == s->second.end()) return std::nullopt;
  return e->second;
}

Result<FeedResult> ApplyObservation(std::string_view body, const StationMap& stations,
                                    const DayRule& rule, PointTable* points, int64_t now_us) {
  SLUICE_RETURN_IF_ERROR(ValidateDayRule(rule));
  SLUICE_ASSIGN_OR_RETURN(Observation obs, ParseObservation(body));
  FeedResult result;
  result.station = obs.station;
  result.observed_us = obs.local_time_us - rule.utc_offset_us;
  Status first_refusal;
  std::vector<std::string> refused;
  for (const ObservedElement& e : obs.elements) {
    std::optional<int64_t> point = stations.Find(obs.station, e.code);
    if (!point.has_value()) {
      result.unmapped.push_back(e.code);
      continue;
    }
    PointValue value;
    value.value = e.value;
    value.quality = v1::QUALITY_GOOD;
    value.source_us = result.observed_us;
    value.updated_us = now_us;
    Status s = points->Update(*point, value);
    if (!s.ok()) {
      refused.push_back(fmt::format("{} (point {}): {}", e.code, *point, s.message()));
      if (first_refusal.ok()) first_refusal = s;
      continue;
    }
    result.applied.push_back({e.code, *point, e.value});
  }
  if (!refused.empty()) {
    std::vector<std::string> applied;
    for (const AppliedElement& a : result.applied) {
      applied.push_back(fmt::format("{} (point {})", a.code, a.point_id));
    }
    return Status(first_refusal.code(),
                  fmt::format("station '{}' observation at {} us UTC: refused {}; applied {}; "
                              "unmapped {}",
                              obs.station, result.observed_us, fmt::join(refused, "; "),
                              applied.empty() ? "none" : fmt::format("{}", fmt::join(applied, ", ")),
                              result.unmapped.empty()
                                  ? "none"
                                  : fmt::format("{}", fmt::join(result.unmapped, ", "))),
                  first_refusal.retryable());
  }
  return result;
}

}  // namespace sluice::sampling

#include "http/api_params.h"

#include <cctype>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "config/values.h"

namespace sluice::http {
namespace {

Status Bad(std::string_view name, std::string_view value, std::string_view why) {
  return Status::InvalidArgument(fmt::format("parameter '{}': \"{}\" {}", name, value, why));
}

// The parameter's value; a parameter given twice is refused rather than one copy ignored.
Result<std::optional<std::string>> Single(const Params& params, std::string_view name) {
  auto [first, last] = params.equal_range(std::string(name));
  if (first == last) return std::optional<std::string>();
  if (std::next(first) != last) {
    return Status::InvalidArgument(fmt::format("parameter '{}' is given more than once", name));
  }
  return std::optional<std::string>(first->second);
}

Result<std::string> Required(const Params& params, std::string_view name) {
  SLUICE_ASSIGN_OR_RETURN(auto v, Single(params, name));
  if (!v || v->empty()) {
    return Status::InvalidArgument(fmt::format("parameter '{}' is missing", name));
  }
  return *v;
}

Result<int64_t> ParseInteger(std::string_view name, std::string_view value) {
  int64_t out = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return Bad(name, value, "is not an integer");
  }
  return out;
}

Result<bool> ParseBool(std::string_view name, std::string_view value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return Bad(name, value, "is not a boolean (true or false)");
}

Result<bool> OptionalBool(const Params& params, std::string_view name) {
  SLUICE_ASSIGN_OR_RETURN(auto v, Single(params, name));
  if (!v) return false;
  return ParseBool(name, *v);
}

std::string Fold(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// The names of an enum's values without `prefix`, CamelCase ("TIME_AVERAGE" -> "TimeAverage").
std::string CamelName(std::string_view name, std::string_view prefix) {
  std::string out;
  bool upper = true;
  for (char c : name.substr(prefix.size())) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    upper = false;
  }
  return out;
}

// point, interval, from, to: what every history read asks.
Result<v1::HistoryRange> ParseRange(const Params& params) {
  v1::HistoryRange range;
  SLUICE_ASSIGN_OR_RETURN(std::string point, Required(params, "point"));
  SLUICE_ASSIGN_OR_RETURN(int64_t id, ParseInteger("point", point));
  if (id <= 0) return Bad("point", point, "is not a point id (a positive integer)");
  range.add_point_ids(id);
  SLUICE_ASSIGN_OR_RETURN(std::string interval, Required(params, "interval"));
  SLUICE_ASSIGN_OR_RETURN(auto iv, ParseIntervalParam("interval", interval));
  range.set_interval(iv);
  SLUICE_ASSIGN_OR_RETURN(std::string from, Required(params, "from"));
  SLUICE_ASSIGN_OR_RETURN(int64_t start, ParseTimeParam("from", from));
  SLUICE_ASSIGN_OR_RETURN(std::string to, Required(params, "to"));
  SLUICE_ASSIGN_OR_RETURN(int64_t end, ParseTimeParam("to", to));
  if (end <= start) {
    return Bad("to", to, fmt::format("is not after 'from' (\"{}\")", from));
  }
  range.set_start_us(start);
  range.set_end_us(end);
  SLUICE_ASSIGN_OR_RETURN(bool pending, OptionalBool(params, "pending"));
  range.set_include_pending(pending);
  return range;
}

}  // namespace

Result<int64_t> ParseTimeParam(std::string_view name, std::string_view value) {
  if (!value.empty() && (std::isdigit(static_cast<unsigned char>(value[0])) != 0) &&
      value.find_first_not_of("0123456789") == std::string_view::npos) {
    return ParseInteger(name, value);
  }
  Result<int64_t> t = config::ParseTimestamp(value);
  if (!t.ok()) {
    return Bad(name, value,
               "is not a time: give Unix microseconds or RFC 3339 (\"2026-12-07T06:00:00Z\")");
  }
  return *t;
}

Result<v1::SampleInterval> ParseIntervalParam(std::string_view name, std::string_view value) {
  constexpr std::string_view kPrefix = "SAMPLE_INTERVAL_";
  const auto* e = v1::SampleInterval_descriptor();
  std::string known;
  for (int i = 0; i < e->value_count(); ++i) {
    const auto* v = e->value(i);
    if (v->number() == 0) continue;
    std::string_view full = v->name();
    std::string_view short_name = full.substr(kPrefix.size());
    if (Fold(value) == Fold(full) || Fold(value) == Fold(short_name)) {
      return static_cast<v1::SampleInterval>(v->number());
    }
    if (!known.empty()) known += ", ";
    for (char c : short_name) known += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return Bad(name, value, fmt::format("is not a sample interval ({})", known));
}

Result<v1::AggregateType> ParseAggregateParam(std::string_view name, std::string_view value) {
  constexpr std::string_view kPrefix = "AGGREGATE_";
  const auto* e = v1::AggregateType_descriptor();
  std::string known;
  for (int i = 0; i < e->value_count(); ++i) {
    const auto* v = e->value(i);
    if (v->number() == v1::AGGREGATE_UNSPECIFIED) continue;
    const std::string camel = CamelName(v->name(), kPrefix);
    if (Fold(value) == Fold(camel)) return static_cast<v1::AggregateType>(v->number());
    if (!known.empty()) known += ", ";
    known += camel;
  }
  return Bad(name, value, fmt::format("is not an aggregate ({})", known));
}

Result<v1::ListErrorsRequest> ParseListErrors(const Params& params) {
  v1::ListErrorsRequest req;
  SLUICE_ASSIGN_OR_RETURN(auto target, Single(params, "target"));
  if (target) req.set_target(*target);
  SLUICE_ASSIGN_OR_RETURN(auto stream, Single(params, "stream"));
  if (stream) req.set_stream(*stream);
  SLUICE_ASSIGN_OR_RETURN(auto since, Single(params, "since"));
  if (since) {
    SLUICE_ASSIGN_OR_RETURN(int64_t t, ParseTimeParam("since", *since));
    req.set_since_us(t);
  }
  SLUICE_ASSIGN_OR_RETURN(auto until, Single(params, "until"));
  if (until) {
    SLUICE_ASSIGN_OR_RETURN(int64_t t, ParseTimeParam("until", *until));
    req.set_until_us(t);
  }
  SLUICE_ASSIGN_OR_RETURN(bool resolved, OptionalBool(params, "resolved"));
  req.set_include_resolved(resolved);
  return req;
}

Result<v1::ErrorActionRequest> ParseErrorAction(const Params& params) {
  v1::ErrorActionRequest req;
  SLUICE_ASSIGN_OR_RETURN(std::string target, Required(params, "target"));
  req.set_target(target);
  SLUICE_ASSIGN_OR_RETURN(auto stream, Single(params, "stream"));
  if (stream) req.set_stream(*stream);
  SLUICE_ASSIGN_OR_RETURN(bool all, OptionalBool(params, "all"));
  SLUICE_ASSIGN_OR_RETURN(auto lsn, Single(params, "lsn"));
  if (all && lsn) {
    return Bad("lsn", *lsn, "is given with all=true: give one or the other");
  }
  if (!all && !lsn) {
    return Status::InvalidArgument("parameter 'lsn' is missing (or give all=true)");
  }
  req.set_all(all);
  if (lsn) {
    SLUICE_ASSIGN_OR_RETURN(int64_t n, ParseInteger("lsn", *lsn));
    if (n <= 0) return Bad("lsn", *lsn, "is not an LSN (a positive integer)");
    req.set_lsn(static_cast<uint64_t>(n));
  }
  return req;
}

Result<v1::ReadRawRequest> ParseReadRaw(const Params& params) {
  v1::ReadRawRequest req;
  SLUICE_ASSIGN_OR_RETURN(*req.mutable_range(), ParseRange(params));
  SLUICE_ASSIGN_OR_RETURN(auto max, Single(params, "max_values"));
  if (max) {
    SLUICE_ASSIGN_OR_RETURN(int64_t n, ParseInteger("max_values", *max));
    if (n <= 0 || n > 1'000'000) {
      return Bad("max_values", *max, "is not between 1 and 1000000");
    }
    req.set_max_values(static_cast<uint32_t>(n));
  }
  SLUICE_ASSIGN_OR_RETURN(bool bounds, OptionalBool(params, "bounds"));
  req.set_bounds(bounds);
  return req;
}

Result<v1::ReadAggregatesRequest> ParseReadAggregates(const Params& params) {
  v1::ReadAggregatesRequest req;
  SLUICE_ASSIGN_OR_RETURN(*req.mutable_range(), ParseRange(params));
  SLUICE_ASSIGN_OR_RETURN(std::string step, Required(params, "step"));
  Result<config::Duration> d = config::ParseDuration(step);
  if (!d.ok() || d->count() <= 0) {
    return Bad("step", step, "is not a positive duration (\"20s\", \"1min\", \"500ms\")");
  }
  req.set_step_us(d->count());
  SLUICE_ASSIGN_OR_RETURN(std::string list, Required(params, "aggregates"));
  std::set<int> seen;
  size_t at = 0;
  while (at <= list.size()) {
    size_t comma = list.find(',', at);
    if (comma == std::string::npos) comma = list.size();
    std::string_view one = std::string_view(list).substr(at, comma - at);
    if (one.empty()) return Bad("aggregates", list, "has an empty name");
    SLUICE_ASSIGN_OR_RETURN(v1::AggregateType type, ParseAggregateParam("aggregates", one));
    if (seen.insert(type).second) req.add_aggregates(type);
    at = comma + 1;
  }
  return req;
}

}  // namespace sluice::http

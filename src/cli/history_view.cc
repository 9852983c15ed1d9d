#include "cli/history_view.h"

#include <cctype>
#include <cmath>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/status_view.h"
#include "cli/text_util.h"
#include "config/values.h"
#include "sluice/v1/records.pb.h"

namespace sluice::cli {
namespace {

using nlohmann::json;

std::string NameOf(const PointNames& names, int64_t id) {
  auto it = names.find(id);
  return it == names.end() ? std::string() : it->second;
}

std::string StatusText(v1::ValueStatus status) {
  switch (status) {
    case v1::VALUE_STATUS_GOOD: return "good";
    case v1::VALUE_STATUS_UNCERTAIN: return "uncertain";
    default: return "bad";
  }
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    line += CsvField(fields[i]);
  }
  return line + "\n";
}

std::string Render(const std::vector<std::string>& header,
                   const std::vector<std::vector<std::string>>& rows, OutputFormat format) {
  if (format == OutputFormat::kCsv) {
    std::string out = CsvLine(header);
    for (const auto& r : rows) out += CsvLine(r);
    return out;
  }
  Table table(header);
  for (const auto& r : rows) table.Add(r);
  return table.Render();
}

json ValueJson(const std::optional<double>& v) {
  if (!v.has_value()) return nullptr;
  if (!std::isfinite(*v)) return ValueText(*v);  // JSON has no NaN or infinity
  return *v;
}

std::optional<double> OptionalValue(const v1::HistorySample& s) {
  return s.has_value() ? std::optional<double>(s.value()) : std::nullopt;
}

bool IsActualTime(v1::AggregateType t) {
  return t == v1::AGGREGATE_MINIMUM_ACTUAL_TIME || t == v1::AGGREGATE_MAXIMUM_ACTUAL_TIME;
}

std::string OptionalText(const std::optional<double>& v) { return v ? ValueText(*v) : ""; }

}  // namespace

Result<OutputFormat> ParseOutputFormat(std::string_view text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "csv") return OutputFormat::kCsv;
  if (text == "json") return OutputFormat::kJson;
  return Status::InvalidArgument(
      fmt::format("output format '{}' is not one of table, csv, json", text));
}

std::string QualityText(uint32_t quality) {
  if (quality == v1::QUALITY_GOOD) return "good";
  static constexpr std::pair<uint32_t, const char*> kBits[] = {
      {v1::QUALITY_INVALID, "invalid"},   {v1::QUALITY_QUESTIONABLE, "questionable"},
      {v1::QUALITY_SUBSTITUTED, "substituted"}, {v1::QUALITY_OVERFLOW, "overflow"},
      {v1::QUALITY_OLD_DATA, "old"}};
  std::string out;
  uint32_t rest = quality;
  for (const auto& [bit, word] : kBits) {
    if ((quality & bit) == 0) continue;
    if (!out.empty()) out += '|';
    out += word;
    rest &= ~bit;
  }
  if (rest != 0) out += fmt::format("{}0x{:x}", out.empty() ? "" : "|", rest);
  return out;
}

std::string ValueText(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // fmt's shortest round trip, in fixed notation up to 1e16 (std::to_chars would print
  // 100000 as "1e+05").
  return fmt::format("{}", value);
}

std::string_view AggregateTypeName(v1::AggregateType type) {
  // The names of AggregateType in CamelCase: AGGREGATE_TIME_AVERAGE -> TimeAverage.
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    const auto* e = v1::AggregateType_descriptor();
    int max = 0;
    for (int i = 0; i < e->value_count(); ++i) max = std::max(max, e->value(i)->number());
    names.resize(static_cast<size_t>(max) + 1);
    for (int i = 0; i < e->value_count(); ++i) {
      const auto* v = e->value(i);
      if (v->number() == v1::AGGREGATE_UNSPECIFIED) continue;
      std::string name;
      bool upper = true;
      for (char c : std::string_view(v->name()).substr(std::string_view("AGGREGATE_").size())) {
        if (c == '_') {
          upper = true;
          continue;
        }
        name += upper ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        upper = false;
      }
      names[static_cast<size_t>(v->number())] = std::move(name);
    }
    return names;
  }();
  const auto i = static_cast<size_t>(type);
  return i < kNames.size() ? std::string_view(kNames[i]) : std::string_view();
}

Result<v1::AggregateType> ParseAggregateType(std::string_view text) {
  auto fold = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
  };
  const std::string wanted = fold(text);
  std::string known;
  const auto* e = v1::AggregateType_descriptor();
  for (int i = 0; i < e->value_count(); ++i) {
    const auto type = static_cast<v1::AggregateType>(e->value(i)->number());
    const std::string_view name = AggregateTypeName(type);
    if (name.empty()) continue;
    if (fold(name) == wanted) return type;
    known += known.empty() ? "" : ", ";
    known += name;
  }
  return Status::InvalidArgument(fmt::format("aggregate '{}' is not one of {}", text, known));
}

std::string RenderRaw(const v1::ReadRawResponse& response, const PointNames& names,
                      OutputFormat format) {
  struct Line {
    int64_t point_id;
    std::string bound;
    const v1::HistorySample* sample;
  };
  std::vector<Line> lines;
  for (const auto& p : response.points()) {
    if (p.has_bound_before()) lines.push_back({p.point_id(), "before", &p.bound_before()});
    for (const auto& s : p.samples()) lines.push_back({p.point_id(), "", &s});
    if (p.has_bound_after()) lines.push_back({p.point_id(), "after", &p.bound_after()});
  }
  if (format == OutputFormat::kJson) {
    json out = json::array();
    for (const auto& l : lines) {
      json j = {{"point_id", l.point_id},
                {"name", NameOf(names, l.point_id)},
                {"ts", config::FormatTimestamp(l.sample->ts_us())},
                {"ts_us", l.sample->ts_us()},
                {"value", ValueJson(OptionalValue(*l.sample))},
                {"quality", l.sample->quality()},
                {"quality_text", QualityText(l.sample->quality())},
                {"manual", l.sample->manual()},
                {"pending", l.sample->pending()}};
      if (!l.bound.empty()) j["bound"] = l.bound;
      out.push_back(std::move(j));
    }
    return out.dump(2) + "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : lines) {
    rows.push_back({std::to_string(l.point_id), NameOf(names, l.point_id),
                    config::FormatTimestamp(l.sample->ts_us()),
                    OptionalText(OptionalValue(*l.sample)), QualityText(l.sample->quality()),
                    l.sample->manual() ? "manual" : "", l.sample->pending() ? "pending" : "",
                    l.bound});
  }
  return Render({"point_id", "name", "ts", "value", "quality", "manual", "pending", "bound"}, rows,
                format);
}

std::string RenderAggregates(const v1::ReadAggregatesResponse& response, const PointNames& names,
                             int64_t start_us, int64_t step_us, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    json out = json::array();
    for (const auto& series : response.series()) {
      json values = json::array();
      for (const auto& v : series.values()) {
        json j = {{"ts", config::FormatTimestamp(v.ts_us())},
                  {"ts_us", v.ts_us()},
                  {"value", ValueJson(v.has_value() ? std::optional<double>(v.value()) : std::nullopt)},
                  {"status", StatusText(v.status())}};
        if (v.partial()) j["partial"] = true;
        values.push_back(std::move(j));
      }
      out.push_back({{"point_id", series.point_id()},
                     {"name", NameOf(names, series.point_id())},
                     {"aggregate", AggregateTypeName(series.aggregate())},
                     {"values", std::move(values)}});
    }
    return out.dump(2) + "\n";
  }
  // Group the series by point, in the answer's order; one column (or two) per aggregate.
  std::vector<std::pair<int64_t, std::vector<const v1::AggregateSeries*>>> points;
  for (const auto& series : response.series()) {
    if (points.empty() || points.back().first != series.point_id()) points.push_back({series.point_id(), {}});
    points.back().second.push_back(&series);
  }
  std::vector<std::string> header = {"point_id", "name", "start"};
  std::vector<v1::AggregateType> columns;
  if (!points.empty()) {
    for (const auto* s : points.front().second) {
      columns.push_back(s->aggregate());
      const std::string name(AggregateTypeName(s->aggregate()));
      header.push_back(name);
      if (IsActualTime(s->aggregate())) header.push_back(name + "_time");
      if (format == OutputFormat::kCsv) header.push_back(name + "_status");
    }
  }
  header.push_back("partial");
  std::vector<std::vector<std::string>> rows;
  for (const auto& [point_id, series] : points) {
    size_t intervals = 0;
    for (const auto* s : series) intervals = std::max(intervals, static_cast<size_t>(s->values_size()));
    for (size_t k = 0; k < intervals; ++k) {
      std::vector<std::string> row = {
          std::to_string(point_id), NameOf(names, point_id),
          config::FormatTimestamp(start_us + static_cast<int64_t>(k) * step_us)};
      bool partial = false;
      for (const auto* s : series) {
        if (k >= static_cast<size_t>(s->values_size())) {
          row.insert(row.end(), IsActualTime(s->aggregate()) ? 2 : 1, "");
          if (format == OutputFormat::kCsv) row.push_back("");
          continue;
        }
        const auto& v = s->values(static_cast<int>(k));
        partial = partial || v.partial();
        std::string value = v.has_value() ? ValueText(v.value()) : "";
        if (format == OutputFormat::kTable) {
          if (v.status() == v1::VALUE_STATUS_UNCERTAIN) value += "?";
          if (v.status() == v1::VALUE_STATUS_BAD) value += "!";
        }
        row.push_back(std::move(value));
        if (IsActualTime(s->aggregate())) {
          row.push_back(v.has_value() ? config::FormatTimestamp(v.ts_us()) : "");
        }
        if (format == OutputFormat::kCsv) row.push_back(StatusText(v.status()));
      }
      row.push_back(partial ? "partial" : "");
      rows.push_back(std::move(row));
    }
  }
  std::string out = Render(header, rows, format);
  if (format == OutputFormat::kTable && !rows.empty()) out += "(? uncertain, ! bad)\n";
  return out;
}

std::string RenderLimits(const v1::ReadLimitStatsResponse& response, const PointNames& names,
                         OutputFormat format) {
  auto ms = [](int64_t us) {
    return us % 1000 == 0 ? std::to_string(us / 1000) : fmt::format("{:.3f}", static_cast<double>(us) / 1000.0);
  };
  if (format == OutputFormat::kJson) {
    json out = json::array();
    for (const auto& series : response.series()) {
      json intervals = json::array();
      auto excursion = [](const v1::ExcursionStatsProto& e) {
        json j = {{"count", e.count()}, {"total_us", e.total_us()}, {"longest_us", e.longest_us()}};
        if (e.longest_us() > 0) j["longest_start"] = config::FormatTimestamp(e.longest_start_us());
        return j;
      };
      for (const auto& i : series.intervals()) {
        json j = {{"start", config::FormatTimestamp(i.start_us())},
                  {"end", config::FormatTimestamp(i.end_us())},
                  {"above", excursion(i.above())},
                  {"below", excursion(i.below())},
                  {"usable_us", i.usable_us()},
                  {"pass_rate", i.has_pass_rate() ? json(i.pass_rate()) : json(nullptr)}};
        if (i.partial()) j["partial"] = true;
        intervals.push_back(std::move(j));
      }
      out.push_back({{"point_id", series.point_id()},
                     {"name", NameOf(names, series.point_id())},
                     {"high", series.has_high() ? json(series.high()) : json(nullptr)},
                     {"low", series.has_low() ? json(series.low()) : json(nullptr)},
                     {"intervals", std::move(intervals)}});
    }
    return out.dump(2) + "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& series : response.series()) {
    for (const auto& i : series.intervals()) {
      auto longest = [&](const v1::ExcursionStatsProto& e) {
        return e.longest_us() > 0 ? config::FormatTimestamp(e.longest_start_us()) : std::string();
      };
      std::string pass;
      if (i.has_pass_rate()) {
        pass = format == OutputFormat::kCsv ? ValueText(i.pass_rate())
                                            : fmt::format("{:.2f}%", i.pass_rate() * 100);
      }
      rows.push_back({std::to_string(series.point_id()), NameOf(names, series.point_id()),
                      config::FormatTimestamp(i.start_us()),
                      series.has_high() ? ValueText(series.high()) : "",
                      series.has_low() ? ValueText(series.low()) : "",
                      std::to_string(i.above().count()), ms(i.above().total_us()),
                      ms(i.above().longest_us()), longest(i.above()),
                      std::to_string(i.below().count()), ms(i.below().total_us()),
                      ms(i.below().longest_us()), longest(i.below()), ms(i.usable_us()), pass,
                      i.partial() ? "partial" : ""});
    }
  }
  return Render({"point_id", "name", "start", "high", "low", "above_n", "above_ms",
                 "above_longest_ms", "above_longest_start", "below_n", "below_ms",
                 "below_longest_ms", "below_longest_start", "usable_ms", "pass_rate", "partial"},
                rows, format);
}

}  // namespace sluice::cli

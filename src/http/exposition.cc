#include "http/exposition.h"

#include <cmath>

#include <fmt/format.h>

namespace sluice::http {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view TypeName(MetricsWriter::Type type) {
  switch (type) {
    case MetricsWriter::Type::kCounter:
      return "counter";
    case MetricsWriter::Type::kGauge:
      return "gauge";
    case MetricsWriter::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escapes only backslash and newline.
std::string EscapeHelp(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

bool MetricsWriter::IsMetricName(std::string_view name) {
  if (name.empty() || !(IsAlpha(name[0]) || name[0] == '_' || name[0] == ':')) return false;
  for (char c : name) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '_' || c == ':')) return false;
  }
  return true;
}

bool MetricsWriter::IsLabelName(std::string_view name) {
  if (name.empty() || !(IsAlpha(name[0]) || name[0] == '_') || name.starts_with("__")) return false;
  for (char c : name) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '_')) return false;
  }
  return true;
}

std::string MetricsWriter::EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string MetricsWriter::FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

void MetricsWriter::Fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

void MetricsWriter::Family(std::string_view name, Type type, std::string_view help) {
  if (!IsMetricName(name)) return Fail(fmt::format("invalid metric name '{}'", name));
  if (type == Type::kCounter && !name.ends_with("_total")) {
    return Fail(fmt::format("counter '{}' does not end in _total", name));
  }
  if (!families_.insert(std::string(name)).second) {
    return Fail(fmt::format("metric '{}' is written twice", name));
  }
  family_ = std::string(name);
  type_ = type;
  text_ +=
      fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(help), name, TypeName(type));
}

bool MetricsWriter::CheckSample(const Labels& labels, Type expected) {
  if (family_.empty()) {
    Fail("a sample before any metric family");
    return false;
  }
  if ((expected == Type::kHistogram) != (type_ == Type::kHistogram)) {
    Fail(fmt::format("metric '{}' of type {} given a {} sample", family_, TypeName(type_),
                     expected == Type::kHistogram ? "histogram" : "plain"));
    return false;
  }
  for (const auto& [name, value] : labels) {
    if (!IsLabelName(name) || (type_ == Type::kHistogram && name == "le")) {
      Fail(fmt::format("metric '{}': invalid label name '{}'", family_, name));
      return false;
    }
  }
  return true;
}

void MetricsWriter::WriteSample(std::string_view suffix, const Labels& labels,
                                std::string_view value) {
  text_ += family_;
  text_ += suffix;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_ += ',';
      text_ += fmt::format("{}=\"{}\"", labels[i].first, EscapeLabelValue(labels[i].second));
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += value;
  text_ += '\n';
}

void MetricsWriter::Sample(const Labels& labels, double value) {
  if (CheckSample(labels, Type::kGauge)) WriteSample("", labels, FormatValue(value));
}

void MetricsWriter::Sample(const Labels& labels, uint64_t value) {
  if (CheckSample(labels, Type::kGauge)) WriteSample("", labels, fmt::format("{}", value));
}

void MetricsWriter::Sample(const Labels& labels, int64_t value) {
  if (CheckSample(labels, Type::kGauge)) WriteSample("", labels, fmt::format("{}", value));
}

void MetricsWriter::Histogram(const Labels& labels, const LatencyHistogram::Snapshot& snapshot) {
  if (!CheckSample(labels, Type::kHistogram)) return;
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    with_le.back().second = i < snapshot.bounds.size() ? FormatValue(snapshot.bounds[i]) : "+Inf";
    WriteSample("_bucket", with_le, fmt::format("{}", snapshot.cumulative[i]));
  }
  WriteSample("_sum", labels, FormatValue(snapshot.sum_seconds));
  WriteSample("_count", labels, fmt::format("{}", snapshot.count));
}

}  // namespace sluice::http

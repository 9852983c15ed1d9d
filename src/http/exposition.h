#pragma once
// Writes metrics in the Prometheus text exposition format, version 0.0.4: per family a
// HELP and a TYPE line, then its samples. The writer enforces the format's rules, so a
// source cannot produce a page a scraper rejects: metric names [a-zA-Z_:][a-zA-Z0-9_:]*,
// label names [a-zA-Z_][a-zA-Z0-9_]* (not "__..."), a counter's name ending in _total,
// each family once, label values and HELP text escaped, +Inf/-Inf/NaN spelled as the
// format wants. A misuse is kept as error() (the page is then not served) rather than
// written.
//
// Thread safety: one writer per page, used by one thread.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/latency_histogram.h"

namespace sluice::http {

inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

class MetricsWriter {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // Starts a family: its HELP and TYPE lines. Samples that follow belong to it.
  void Family(std::string_view name, Type type, std::string_view help);
  // A sample of the current counter or gauge family.
  void Sample(const Labels& labels, double value);
  void Sample(const Labels& labels, uint64_t value);
  void Sample(const Labels& labels, int64_t value);
  // The samples of one histogram of the current histogram family: NAME_bucket for every
  // bound and +Inf (cumulative), NAME_sum, NAME_count.
  void Histogram(const Labels& labels, const LatencyHistogram::Snapshot& snapshot);

  // The first misuse, naming the metric; empty when there was none.
  const std::string& error() const { return error_; }
  const std::string& text() const { return text_; }

  static bool IsMetricName(std::string_view name);
  static bool IsLabelName(std::string_view name);
  // Escapes \, " and newline as the format wants inside a label value.
  static std::string EscapeLabelValue(std::string_view value);
  // A sample value: shortest round-trip decimal, or +Inf, -Inf, NaN.
  static std::string FormatValue(double value);

 private:
  bool CheckSample(const Labels& labels, Type expected);
  void WriteSample(std::string_view suffix, const Labels& labels, std::string_view value);
  void Fail(std::string message);

  std::string text_;
  std::string error_;
  std::string family_;  // the current family ("" before the first)
  Type type_ = Type::kGauge;
  std::set<std::string, std::less<>> families_;
};

}  // namespace sluice::http

// [sampling]: the daemon's periodic sampler (docs/sampling.md). The UTC offset and the day
// start are parsed here rather than by sampling/intervals.h, which config may not use; the
// formats are the same ("+08:00", "-05:30", "Z"; "08:00").
#include <limits>

#include <fmt/format.h>

#include "config/parser.h"

namespace sluice::config::internal {
namespace {

constexpr int64_t kMinuteUs = 60'000'000;

// "HH:MM" with HH in [0, max_hours] and MM in [0, 59]; minutes since midnight.
std::optional<int64_t> HoursMinutes(std::string_view text, int max_hours) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > max_hours || m > 59) return std::nullopt;
  return int64_t{h} * 60 + m;
}

}  // namespace

void Parser::ReadSampling(const toml::table& root) {
  const toml::table* table = SectionTable(root, "sampling");
  if (table == nullptr) return;
  TableReader r(&diag_, *table, "[sampling]", kSamplingKeys);
  SamplingConfig& s = config_.sampling;
  s.line = static_cast<int>(table->source().begin.line);
  sampling_at_ = table->source();
  if (auto v = r.Bool("enabled")) s.enabled = *v;
  if (auto v = r.String("utc_offset")) {
    std::optional<int64_t> minutes;
    if (*v == "Z") {
      minutes = 0;
    } else if (v->size() == 6 && ((*v)[0] == '+' || (*v)[0] == '-')) {
      minutes = HoursMinutes(std::string_view(*v).substr(1), 14);
      if (minutes && *minutes > 14 * 60) minutes.reset();
      if (minutes && (*v)[0] == '-') *minutes = -*minutes;
    }
    if (!minutes) {
      r.ErrorAtValue("utc_offset",
                     fmt::format("'utc_offset' \"{}\" is not a UTC offset like \"+08:00\", "
                                 "\"-05:30\" or \"Z\" (within +-14:00)",
                                 *v));
    } else {
      s.utc_offset = *v;
      s.utc_offset_us = *minutes * kMinuteUs;
    }
  }
  if (auto v = r.String("day_start")) {
    auto minutes = HoursMinutes(*v, 23);
    if (!minutes) {
      r.ErrorAtValue("day_start",
                     fmt::format("'day_start' \"{}\" is not a time of day like \"08:00\" "
                                 "(00:00 to 23:59)",
                                 *v));
    } else {
      s.day_start = *v;
      s.day_start_us = *minutes * kMinuteUs;
    }
  }
  if (auto v = r.Integer("old_after_intervals", 1, 1'000'000))
    s.old_after_intervals = static_cast<int>(*v);
  if (auto v = r.Integer("late_tolerance_ms", 0, 3'600'000)) s.late_tolerance_ms = *v;
  if (auto v = r.Integer("max_points", 1, std::numeric_limits<int32_t>::max())) {
    s.max_points = static_cast<uint64_t>(*v);
  }
  if (auto v = r.String("stream")) {
    s.stream = *v;
    sampling_stream_at_ = r.ValueAt("stream");
  }
  r.CheckUnknownKeys();
}

}  // namespace sluice::config::internal

#include "store/postgres/partitions.h"

#include <fmt/format.h>

#include <charconv>
#include <ctime>

namespace sluice::store::postgres {

int64_t AlignDown(int64_t ts, int64_t span) {
  int64_t q = ts / span;
  if (ts % span != 0 && ts < 0) --q;
  int64_t start = 0;
  if (__builtin_mul_overflow(q, span, &start)) return kMinTs;
  return start;
}

bool PartitionMap::Covers(int64_t ts) const { return has_default_ || Find(ts).has_value(); }

std::optional<PartitionRange> PartitionMap::Find(int64_t ts) const {
  auto it = ranges_.upper_bound(ts);  // first start > ts
  if (it == ranges_.begin()) return std::nullopt;
  --it;
  const PartitionRange r{it->first, it->second};
  if (!r.Contains(ts)) return std::nullopt;
  return r;
}

PartitionRange PartitionMap::RangeFor(int64_t ts, int64_t span) const {
  int64_t q = ts / span;
  if (ts % span != 0 && ts < 0) --q;
  PartitionRange r;
  if (__builtin_mul_overflow(q, span, &r.start)) r.start = kMinTs;
  int64_t q1 = 0;
  if (__builtin_add_overflow(q, 1, &q1) || __builtin_mul_overflow(q1, span, &r.end)) r.end = kMaxTs;
  // Clip to the gap around ts: after the previous partition, before the next one.
  auto next = ranges_.upper_bound(ts);
  if (next != ranges_.end() && next->first < r.end) r.end = next->first;
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (prev->second != kMaxTs && prev->second > r.start) r.start = prev->second;
  }
  return r;
}

void PartitionMap::Add(PartitionRange range) { ranges_[range.start] = range.end; }

void PartitionMap::Clear() {
  ranges_.clear();
  has_default_ = false;
}

std::string PartitionName(std::string_view table, int64_t start) {
  if (start == kMinTs) return fmt::format("{}_pmin", table);
  // Floor to whole seconds, keeping the µs remainder non-negative.
  int64_t secs = start / 1'000'000;
  int64_t micros = start % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    --secs;
  }
  std::tm tm{};
  const time_t t = static_cast<time_t>(secs);
  if (gmtime_r(&t, &tm) == nullptr || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999) {
    std::string digits = std::to_string(start);
    if (start < 0) digits[0] = 'm';
    return fmt::format("{}_p{}", table, digits);
  }
  std::string name =
      fmt::format("{}_p{:04}{:02}{:02}", table, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  if (tm.tm_hour != 0 || tm.tm_min != 0 || tm.tm_sec != 0 || micros != 0) {
    name += fmt::format("_{:02}{:02}{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  if (micros != 0) name += fmt::format("_{:06}", micros);
  return name;
}

std::string PartitionBoundSql(PartitionRange range) {
  return fmt::format("FROM ({}) TO ({})",
                     range.start == kMinTs ? std::string("MINVALUE") : std::to_string(range.start),
                     range.end == kMaxTs ? std::string("MAXVALUE") : std::to_string(range.end));
}

namespace {

// One bound value after `key` ("FROM (" or "TO ("): '123', 123, MINVALUE or MAXVALUE.
std::optional<int64_t> ParseBoundValue(std::string_view expr, std::string_view key) {
  auto pos = expr.find(key);
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view rest = expr.substr(pos + key.size());
  auto close = rest.find(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view v = rest.substr(0, close);
  if (v == "MINVALUE") return kMinTs;
  if (v == "MAXVALUE") return kMaxTs;
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') v = v.substr(1, v.size() - 2);
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<PartitionRange> ParsePartitionBound(std::string_view expr, bool* is_default) {
  *is_default = expr == "DEFAULT";
  if (*is_default) return std::nullopt;
  auto from = ParseBoundValue(expr, "FROM (");
  auto to = ParseBoundValue(expr, "TO (");
  if (!from || !to) return std::nullopt;
  return PartitionRange{*from, *to};
}

}  // namespace sluice::store::postgres

#include "cli/sample_edit_csv.h"

#include <charconv>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "cli/sample_csv.h"

namespace sluice::cli {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Result<std::vector<v1::SampleEdit>> ParseSampleEditCsv(std::istream& in,
                                                       const std::string& source) {
  static constexpr const char* kColumns[] = {"point_id", "ts", "value", "quality"};
  std::vector<v1::SampleEdit> edits;
  std::string line;
  size_t line_no = 0;
  bool first = true;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view l = Trim(line);
    if (l.empty() || l.front() == '#') continue;
    std::vector<std::string_view> f;
    size_t start = 0;
    while (true) {
      size_t comma = l.find(',', start);
      f.push_back(Trim(l.substr(start, comma == std::string_view::npos ? l.npos : comma - start)));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    int64_t point_id = 0;
    if (first && !ParseNumber(f[0], &point_id)) {
      first = false;
      continue;  // header
    }
    first = false;
    if (f.size() < 3 || f.size() > 4) {
      return Status::InvalidArgument(
          fmt::format("{} line {}: {} columns, expected point_id,ts,value[,quality]", source,
                      line_no, f.size()));
    }
    auto bad = [&](size_t column, std::string_view what) {
      return Status::InvalidArgument(fmt::format("{} line {}, column {} ({}): {}", source, line_no,
                                                 column + 1, kColumns[column], what));
    };
    v1::SampleEdit e;
    if (!ParseNumber(f[0], &point_id)) return bad(0, fmt::format("'{}' is not an integer", f[0]));
    e.set_point_id(point_id);
    auto ts = ParseSampleTime(f[1]);
    if (!ts.ok()) return bad(1, ts.status().message());
    e.set_ts_us(*ts);
    if (!f[2].empty()) {
      double value = 0;
      if (!ParseNumber(f[2], &value) || !std::isfinite(value)) {
        return bad(2, fmt::format("'{}' is not a finite number", f[2]));
      }
      e.set_value(value);
    }
    if (f.size() == 4 && !f[3].empty()) {
      uint32_t quality = 0;
      if (!ParseNumber(f[3], &quality)) {
        return bad(3, fmt::format("'{}' is not an unsigned integer", f[3]));
      }
      e.set_quality(quality);
    }
    if (!e.has_value() && !e.has_quality()) {
      return bad(2, "neither value nor quality is given; a line sets one or both");
    }
    edits.push_back(std::move(e));
  }
  return edits;
}

}  // namespace sluice::cli

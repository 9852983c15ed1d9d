#include "cli/sample_csv.h"

#include <charconv>

#include <fmt/format.h>

#include "config/values.h"

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
  return ParseCsvNumber(s, out);
}

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Result<int64_t> ParseSampleTime(std::string_view text) {
  int64_t us = 0;
  if (ParseNumber(text, &us)) return us;
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is neither microseconds since 1970 nor an ISO 8601 time such as "
        "\"2024-05-01T12:00:00Z\" or \"2024-05-01 12:00:00+00\" ({})",
        text, why));
  };
  // config::ParseTimestamp reads RFC 3339, whose offset is always "+hh:mm"; ISO 8601 and
  // PostgreSQL's output also write "+hh" and "+hhmm", so those are rewritten to it here.
  std::string s(text);
  if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
  // The date's '-' are at 4 and 7; a sign after the seconds (index 19) starts the offset.
  const size_t sign = s.size() > 19 ? s.find_first_of("+-", 19) : std::string::npos;
  if (sign != std::string::npos) {
    const std::string_view offset = std::string_view(s).substr(sign + 1);
    if (offset.size() == 2 && AllDigits(offset)) {
      s += ":00";
    } else if (offset.size() == 4 && AllDigits(offset)) {
      s = fmt::format("{}:{}", std::string_view(s).substr(0, sign + 3), offset.substr(2));
    } else if (!(offset.size() == 5 && AllDigits(offset.substr(0, 2)) && offset[2] == ':' &&
                 AllDigits(offset.substr(3)))) {
      return bad(fmt::format("the offset '{}' is not Z, +hh, +hhmm or +hh:mm", s.substr(sign)));
    }
  } else if (s.empty() || (s.back() != 'Z' && s.back() != 'z')) {
    s += 'Z';  // no offset: UTC
  }
  auto ts = config::ParseTimestamp(s);
  if (!ts.ok()) return bad(ts.status().message());
  return *ts;
}

Status SampleCsvLine::Bad(size_t column, std::string_view what) const {
  static constexpr const char* kColumns[] = {"point_id", "ts", "value", "quality"};
  return Status::InvalidArgument(fmt::format("{} line {}, column {} ({}): {}", *source, line_no,
                                             column + 1, column < 4 ? kColumns[column] : "?",
                                             what));
}

Status ReadSampleCsvLines(std::istream& in, const std::string& source,
                          const std::function<Status(const SampleCsvLine&)>& row) {
  SampleCsvLine line;
  line.source = &source;
  std::string text;
  bool first = true;
  while (std::getline(in, text)) {
    ++line.line_no;
    std::string_view l = Trim(text);
    if (l.empty() || l.front() == '#') continue;
    line.fields.clear();
    size_t start = 0;
    while (true) {
      size_t comma = l.find(',', start);
      line.fields.push_back(
          Trim(l.substr(start, comma == std::string_view::npos ? l.npos : comma - start)));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    const std::vector<std::string_view>& f = line.fields;
    if (first && !ParseNumber(f[0], &line.point_id)) {
      first = false;
      continue;  // header
    }
    first = false;
    if (f.size() < 3 || f.size() > 4) {
      return Status::InvalidArgument(
          fmt::format("{} line {}: {} columns, expected point_id,ts,value[,quality]", source,
                      line.line_no, f.size()));
    }
    if (!ParseNumber(f[0], &line.point_id)) {
      return line.Bad(0, fmt::format("'{}' is not an integer", f[0]));
    }
    auto ts = ParseSampleTime(f[1]);
    if (!ts.ok()) return line.Bad(1, ts.status().message());
    line.ts_us = *ts;
    SLUICE_RETURN_IF_ERROR(row(line));
  }
  return Status::OK();
}

Result<std::vector<v1::Record>> ParseSampleCsv(std::istream& in, const std::string& source,
                                               v1::SampleInterval interval,
                                               size_t rows_per_record) {
  std::vector<v1::Record> records;
  v1::SampleBatch* batch = nullptr;
  Status s = ReadSampleCsvLines(in, source, [&](const SampleCsvLine& line) {
    const auto& f = line.fields;
    double value = 0;
    if (!ParseNumber(f[2], &value)) return line.Bad(2, fmt::format("'{}' is not a number", f[2]));
    uint32_t quality = 0;
    if (f.size() == 4 && !f[3].empty() && !ParseNumber(f[3], &quality)) {
      return line.Bad(3, fmt::format("'{}' is not an unsigned integer", f[3]));
    }
    if (batch == nullptr || static_cast<size_t>(batch->point_id_size()) >= rows_per_record) {
      batch = records.emplace_back().mutable_samples();
      batch->set_interval(interval);
    }
    batch->add_point_id(line.point_id);
    batch->add_ts_us(line.ts_us);
    batch->add_value(value);
    batch->add_quality(quality);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return records;
}

}  // namespace sluice::cli

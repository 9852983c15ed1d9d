#include "store/postgres/pg_values.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace sluice::store::postgres {
namespace {

// Type OIDs of result columns we convert (pg_type.h is not part of libpq's API).
constexpr Oid kBool = 16;
constexpr Oid kBytea = 17;
constexpr Oid kInt8 = 20;
constexpr Oid kInt2 = 21;
constexpr Oid kInt4 = 23;
constexpr Oid kOid = 26;
constexpr Oid kFloat4 = 700;
constexpr Oid kFloat8 = 701;
constexpr Oid kTimestamp = 1114;
constexpr Oid kTimestampTz = 1184;

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Reads exactly `digits` digits (or, with digits == 0, one or more) at `*p`.
bool Digits(std::string_view s, size_t* p, size_t digits, int64_t* out) {
  const size_t start = *p;
  int64_t v = 0;
  while (*p < s.size() && s[*p] >= '0' && s[*p] <= '9' && (digits == 0 || *p - start < digits)) {
    if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) return false;
    v = v * 10 + (s[*p] - '0');
    ++*p;
  }
  if (*p == start || (digits != 0 && *p - start != digits)) return false;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* p, char c) {
  if (*p >= s.size() || s[*p] != c) return false;
  ++*p;
  return true;
}

}  // namespace

Result<int64_t> ParseTimestamp(std::string_view text) {
  if (text == "infinity") return std::numeric_limits<int64_t>::max();
  if (text == "-infinity") return std::numeric_limits<int64_t>::min();
  const auto bad = [&]() {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not an ISO timestamp (YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]][ BC])", text));
  };
  std::string_view s = text;
  bool bc = false;
  if (s.size() > 3 && s.substr(s.size() - 3) == " BC") {
    bc = true;
    s.remove_suffix(3);
  }
  size_t p = 0;
  int64_t year, month, day, hour, minute, second;
  if (!Digits(s, &p, 0, &year) || !Expect(s, &p, '-') || !Digits(s, &p, 2, &month) ||
      !Expect(s, &p, '-') || !Digits(s, &p, 2, &day) || !Expect(s, &p, ' ') ||
      !Digits(s, &p, 2, &hour) || !Expect(s, &p, ':') || !Digits(s, &p, 2, &minute) ||
      !Expect(s, &p, ':') || !Digits(s, &p, 2, &second)) {
    return bad();
  }
  if (year < 1 || year > 1'000'000 || month < 1 || month > 12 || day < 1 || day > 31 ||
      hour > 24 || minute > 59 || second > 60) {
    return bad();
  }
  int64_t micros = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int64_t scale = 100'000;
    const size_t start = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (scale == 0) return bad();  // more than microseconds
      micros += (s[p] - '0') * scale;
      scale /= 10;
      ++p;
    }
    if (p == start) return bad();
  }
  int64_t offset_seconds = 0;
  if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    const int sign = s[p] == '-' ? -1 : 1;
    ++p;
    int64_t oh = 0, om = 0, os = 0;
    if (!Digits(s, &p, 2, &oh)) return bad();
    if (p < s.size() && s[p] == ':') {
      ++p;
      if (!Digits(s, &p, 2, &om)) return bad();
      if (p < s.size() && s[p] == ':') {
        ++p;
        if (!Digits(s, &p, 2, &os)) return bad();
      }
    }
    offset_seconds = sign * (oh * 3600 + om * 60 + os);
  }
  if (p != s.size()) return bad();
  // Year n BC is astronomical year 1 - n (there is no year 0).
  const int64_t days = DaysFromCivil(bc ? 1 - year : year, static_cast<unsigned>(month),
                                     static_cast<unsigned>(day));
  const int64_t seconds =
      days * kSecondsPerDay + hour * 3600 + minute * 60 + second - offset_seconds;
  int64_t us = 0;
  if (__builtin_mul_overflow(seconds, kMicrosPerSecond, &us) ||
      __builtin_add_overflow(us, micros, &us)) {
    return Status::OutOfRange(
        fmt::format("timestamp '{}' does not fit int64 microseconds since 1970", text));
  }
  return us;
}

Result<v1::SqlValue> FieldValue(const PGresult* res, int row, int column) {
  v1::SqlValue v;
  if (PQgetisnull(res, row, column)) {
    v.set_null_value(true);
    return v;
  }
  const char* text = PQgetvalue(res, row, column);
  const auto length = static_cast<size_t>(PQgetlength(res, row, column));
  const std::string_view s(text, length);
  const auto bad = [&](std::string_view what) {
    return Status::InvalidArgument(fmt::format("'{}' is not {}", s.substr(0, 64), what));
  };
  switch (PQftype(res, column)) {
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid: {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec != std::errc() || end != s.data() + s.size()) return bad("an integer");
      v.set_int_value(n);
      return v;
    }
    case kBool:
      if (s != "t" && s != "f") return bad("a boolean");
      v.set_int_value(s == "t" ? 1 : 0);
      return v;
    case kFloat4:
    case kFloat8: {
      // strtod/strtof read "NaN", "Infinity" and "-Infinity" too. A real is parsed as a
      // float so that its value is the column's, not the nearest double to its digits.
      char* end = nullptr;
      const double d = PQftype(res, column) == kFloat4
                           ? static_cast<double>(std::strtof(text, &end))
                           : std::strtod(text, &end);
      if (end != text + length) return bad("a floating-point number");
      v.set_double_value(d);
      return v;
    }
    case kBytea: {
      size_t size = 0;
      unsigned char* bytes =
          PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &size);
      if (bytes == nullptr) return Status::ResourceExhausted("out of memory unescaping bytea");
      v.set_blob_value(reinterpret_cast<const char*>(bytes), size);
      PQfreemem(bytes);
      return v;
    }
    case kTimestamp:
    case kTimestampTz: {
      SLUICE_ASSIGN_OR_RETURN(int64_t us, ParseTimestamp(s));
      v.set_timestamp_us(us);
      return v;
    }
    default:
      v.set_text_value(std::string(s));
      return v;
  }
}

std::vector<std::string> ColumnNames(const PGresult* res) {
  std::vector<std::string> names;
  const int n = PQnfields(res);
  names.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) names.emplace_back(PQfname(res, i));
  return names;
}

Status AppendRows(const PGresult* res, int first, int count,
                  std::vector<std::vector<v1::SqlValue>>* rows) {
  const int fields = PQnfields(res);
  for (int r = first; r < first + count; ++r) {
    std::vector<v1::SqlValue>& row = rows->emplace_back();
    row.reserve(static_cast<size_t>(fields));
    for (int c = 0; c < fields; ++c) {
      auto value = FieldValue(res, r, c);
      if (!value.ok()) {
        return value.status().Annotate(fmt::format("row {}, column \"{}\"", r, PQfname(res, c)));
      }
      row.push_back(std::move(value).value());
    }
  }
  return Status::OK();
}

Status ReadStatementResult(const PGresult* res, size_t max_rows, StatementResult* out) {
  const std::string_view command = PQcmdStatus(const_cast<PGresult*>(res));
  for (std::string_view counted : {"INSERT ", "UPDATE ", "DELETE ", "MERGE "}) {
    if (command.starts_with(counted)) {
      const std::string_view n = PQcmdTuples(const_cast<PGresult*>(res));
      int64_t affected = 0;
      std::from_chars(n.data(), n.data() + n.size(), affected);
      out->rows_affected = affected;
    }
  }
  if (PQresultStatus(res) != PGRES_TUPLES_OK) return Status::OK();
  out->columns = ColumnNames(res);
  const int rows = PQntuples(res);
  int take = rows;
  if (max_rows != 0 && static_cast<size_t>(rows) > max_rows) {
    take = static_cast<int>(max_rows);
    out->truncated = true;
  }
  out->rows.reserve(static_cast<size_t>(take));
  return AppendRows(res, 0, take, &out->rows);
}

}  // namespace sluice::store::postgres

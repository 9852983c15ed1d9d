#include "config/values.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace sluice::config {
namespace {

using u128 = unsigned __int128;

// ---------------------------------------------------------------------------------------
// Small text helpers.

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

Status Invalid(std::string message) { return Status::InvalidArgument(std::move(message)); }

// ---------------------------------------------------------------------------------------
// Numbers with units.

// A non-negative decimal "123" or "1.25": mantissa 125, scale 2.
struct Decimal {
  u128 mantissa = 0;
  int scale = 0;
};

// Reads a decimal at s[*pos]. At most 24 digits, so that mantissa * unit fits in 128 bits.
std::optional<Decimal> ReadDecimal(std::string_view s, size_t* pos, bool* too_long) {
  Decimal dec;
  size_t i = *pos;
  int digits = 0;
  while (i < s.size() && IsDigit(s[i])) {
    dec.mantissa = dec.mantissa * 10 + static_cast<unsigned>(s[i] - '0');
    ++i;
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    int frac = 0;
    while (j < s.size() && IsDigit(s[j])) {
      dec.mantissa = dec.mantissa * 10 + static_cast<unsigned>(s[j] - '0');
      ++j;
      ++frac;
    }
    if (frac == 0) return std::nullopt;  // "1." is not a number
    dec.scale = frac;
    digits += frac;
    i = j;
  }
  if (digits > 24) *too_long = true;
  *pos = i;
  return dec;
}

u128 Pow10(int n) {
  u128 p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

struct Unit {
  std::string_view name;
  uint64_t factor;
};

constexpr Unit kSizeUnits[] = {
    {"B", 1},           {"KiB", kKiB},      {"MiB", kMiB},           {"GiB", kGiB},
    {"TiB", kTiB},      {"KB", 1000},       {"MB", 1000'000},        {"GB", 1000'000'000},
    {"TB", 1000'000'000'000},
};

constexpr Unit kDurationUnits[] = {
    {"us", 1},
    {"\xC2\xB5s", 1},  // µs
    {"ms", 1000},
    {"s", 1000'000},
    {"min", 60'000'000},
    {"h", 3600'000'000},
    {"d", 86400'000'000},
};

// ---------------------------------------------------------------------------------------
// Calendar (Howard Hinnant's algorithms, proleptic Gregorian).

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return (m == 2 && leap) ? 29 : kDays[m - 1];
}

Result<int64_t> TimestampFromParts(int64_t year, unsigned month, unsigned day, unsigned hour,
                                   unsigned minute, unsigned second, int64_t micros,
                                   int64_t offset_minutes, std::string_view text) {
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return Invalid(fmt::format("timestamp \"{}\" is not a valid date and time", text));
  }
  const int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                          second - offset_minutes * 60;
  return seconds * 1'000'000 + micros;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Values.

Result<uint64_t> ParseSize(std::string_view text) {
  const std::string_view s = Trim(text);
  if (s.empty()) return Invalid("empty size");
  if (s.front() == '-') return Invalid(fmt::format("size \"{}\" is negative", text));
  size_t pos = 0;
  bool too_long = false;
  std::optional<Decimal> dec = ReadDecimal(s, &pos, &too_long);
  if (!dec) {
    return Invalid(fmt::format("size \"{}\" must be a number of bytes or a number with a unit, "
                               "such as \"64MiB\"",
                               text));
  }
  if (too_long) return Invalid(fmt::format("size \"{}\" has too many digits", text));
  while (pos < s.size() && s[pos] == ' ') ++pos;
  const std::string_view unit = s.substr(pos);
  uint64_t factor = 0;
  if (unit.empty()) {
    factor = 1;
  } else {
    std::vector<std::string_view> names;
    for (const Unit& u : kSizeUnits) {
      names.push_back(u.name);
      if (u.name == unit) factor = u.factor;
    }
    if (factor == 0) {
      std::string message = fmt::format("unknown unit '{}' in size \"{}\"", unit, text);
      std::optional<std::string_view> same_letters;
      for (std::string_view n : names) {
        if (EqualsIgnoreCase(n, unit)) same_letters = n;
      }
      if (same_letters) {
        message += fmt::format(" (did you mean '{}'?)", *same_letters);
      } else {
        message += " (units: B, KiB, MiB, GiB, TiB, and decimal KB, MB, GB, TB)";
      }
      return Invalid(std::move(message));
    }
  }
  const u128 scaled = dec->mantissa * factor;
  const u128 divisor = Pow10(dec->scale);
  if (scaled % divisor != 0) {
    return Invalid(fmt::format("size \"{}\" is not a whole number of bytes", text));
  }
  const u128 bytes = scaled / divisor;
  if (bytes > std::numeric_limits<uint64_t>::max()) {
    return Invalid(fmt::format("size \"{}\" is too large", text));
  }
  return static_cast<uint64_t>(bytes);
}

Result<Duration> ParseDuration(std::string_view text) {
  const std::string_view s = Trim(text);
  if (s.empty()) return Invalid("empty duration");
  if (s == "0") return Duration(0);
  if (s.front() == '-') return Invalid(fmt::format("duration \"{}\" is negative", text));
  u128 total = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    bool too_long = false;
    std::optional<Decimal> dec = ReadDecimal(s, &pos, &too_long);
    if (!dec) {
      return Invalid(fmt::format("duration \"{}\" must be a number with a unit, such as "
                                 "\"250us\", \"5ms\", \"2s\", \"1min\", \"1h\" or \"30d\"",
                                 text));
    }
    if (too_long) return Invalid(fmt::format("duration \"{}\" has too many digits", text));
    while (pos < s.size() && s[pos] == ' ') ++pos;
    const size_t unit_start = pos;
    while (pos < s.size() && !IsDigit(s[pos]) && s[pos] != ' ' && s[pos] != '.') ++pos;
    const std::string_view unit = s.substr(unit_start, pos - unit_start);
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (unit.empty()) {
      return Invalid(fmt::format("duration \"{}\" needs a unit (us, ms, s, min, h or d)", text));
    }
    uint64_t factor = 0;
    for (const Unit& u : kDurationUnits) {
      if (u.name == unit) factor = u.factor;
    }
    if (factor == 0) {
      if (unit == "m") {
        return Invalid(fmt::format("unit 'm' in duration \"{}\" is ambiguous: write 'min' for "
                                   "minutes or 'ms' for milliseconds",
                                   text));
      }
      return Invalid(fmt::format("unknown unit '{}' in duration \"{}\" (units: us, ms, s, min, "
                                 "h, d)",
                                 unit, text));
    }
    const u128 scaled = dec->mantissa * factor;
    const u128 divisor = Pow10(dec->scale);
    if (scaled % divisor != 0) {
      return Invalid(fmt::format("duration \"{}\" is finer than a microsecond", text));
    }
    total += scaled / divisor;
    if (total > static_cast<u128>(std::numeric_limits<int64_t>::max())) {
      return Invalid(fmt::format("duration \"{}\" is too long", text));
    }
  }
  return Duration(static_cast<int64_t>(total));
}

Result<int64_t> ParseTimestamp(std::string_view text) {
  const std::string_view s = Trim(text);
  auto bad = [&] {
    return Invalid(fmt::format("timestamp \"{}\" is not RFC 3339 with an offset, such as "
                               "\"2000-01-01T00:00:00Z\"",
                               text));
  };
  // Reads exactly n digits at s[at].
  auto digits = [&](size_t at, size_t n, unsigned* out) {
    if (at + n > s.size()) return false;
    unsigned v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (!IsDigit(s[i])) return false;
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    *out = v;
    return true;
  };
  unsigned year, month, day, hour, minute, second;
  if (!digits(0, 4, &year) || s.size() < 19 || s[4] != '-' || !digits(5, 2, &month) ||
      s[7] != '-' || !digits(8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(11, 2, &hour) || s[13] != ':' || !digits(14, 2, &minute) || s[16] != ':' ||
      !digits(17, 2, &second)) {
    return bad();
  }
  size_t pos = 19;
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < s.size() && IsDigit(s[pos])) {
      if (n < 6) {
        micros = micros * 10 + (s[pos] - '0');
      } else if (s[pos] != '0') {
        return Invalid(fmt::format("timestamp \"{}\" is finer than a microsecond", text));
      }
      ++pos;
      ++n;
    }
    if (n == 0) return bad();
    for (int i = n; i < 6; ++i) micros *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    unsigned oh, om;
    if (!digits(pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad();
    }
    offset = sign * static_cast<int64_t>(oh * 60 + om);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  return TimestampFromParts(year, month, day, hour, minute, second, micros, offset, text);
}

std::string FormatSize(uint64_t bytes) {
  if (bytes == 0) return "0";
  std::string best = fmt::format("{}B", bytes);
  uint64_t best_count = bytes;
  for (const Unit& u : kSizeUnits) {
    if (u.factor > 1 && bytes % u.factor == 0 && bytes / u.factor < best_count) {
      best_count = bytes / u.factor;
      best = fmt::format("{}{}", best_count, u.name);
    }
  }
  return best;
}

std::string FormatDuration(Duration d) {
  const int64_t us = d.count();
  if (us == 0) return "0";
  static constexpr Unit kUnits[] = {{"d", 86400'000'000}, {"h", 3600'000'000},
                                    {"min", 60'000'000},  {"s", 1000'000},
                                    {"ms", 1000},         {"us", 1}};
  for (const Unit& u : kUnits) {
    if (us % static_cast<int64_t>(u.factor) == 0) {
      return fmt::format("{}{}", us / static_cast<int64_t>(u.factor), u.name);
    }
  }
  return fmt::format("{}us", us);
}

std::string FormatTimestamp(int64_t micros) {
  int64_t seconds = micros / 1'000'000;
  int64_t frac = micros % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", y, m, d, rem / 3600,
                                (rem / 60) % 60, rem % 60);
  if (frac != 0) out += fmt::format(".{:06}", frac);
  return out + "Z";
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Listen addresses.

bool ListenAddress::IsLoopback() const {
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8, written as a dotted quad.
  unsigned octets[4];
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (pos >= host.size() || host[pos] != '.') return false;
      ++pos;
    }
    size_t start = pos;
    unsigned v = 0;
    while (pos < host.size() && IsDigit(host[pos]) && pos - start < 3) {
      v = v * 10 + static_cast<unsigned>(host[pos] - '0');
      ++pos;
    }
    if (pos == start || v > 255) return false;
    octets[i] = v;
  }
  return pos == host.size() && octets[0] == 127;
}

std::string ListenAddress::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const std::string_view s = Trim(text);
  ListenAddress address;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return Invalid(fmt::format("address \"{}\" must be host:port, e.g. \"[::1]:7400\"", text));
    }
    address.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      return Invalid(fmt::format("address \"{}\" needs a port: host:port, e.g. "
                                 "\"127.0.0.1:7400\"",
                                 text));
    }
    address.host = std::string(s.substr(0, colon));
    if (address.host.find(':') != std::string::npos) {
      return Invalid(fmt::format("address \"{}\": write an IPv6 host in brackets, e.g. "
                                 "\"[::1]:7400\"",
                                 text));
    }
    port = s.substr(colon + 1);
  }
  if (address.host.empty()) {
    return Invalid(fmt::format("address \"{}\" needs a host (0.0.0.0 for every interface)", text));
  }
  for (char c : address.host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '.' ||
                    c == '-' || c == ':' || c == '%' || c == '_';
    if (!ok) return Invalid(fmt::format("address \"{}\" has an invalid host", text));
  }
  unsigned value = 0;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return IsDigit(c); })) {
    return Invalid(fmt::format("address \"{}\" has an invalid port", text));
  }
  for (char c : port) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value == 0 || value > 65535) {
    return Invalid(fmt::format("address \"{}\": port must be between 1 and 65535", text));
  }
  address.port = static_cast<uint16_t>(value);
  return address;
}

}  // namespace sluice::config

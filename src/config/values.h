#pragma once
// Values in Sluice's configuration and on its command line: sizes, durations, timestamps,
// listen addresses and names. Errors say what is wrong with the text, without a location;
// the config parser (config.h) adds file, line and key.
//
//   sizes      an integer (bytes) or a string: "64MiB", "1.5GiB", "20GB", "4096";
//              binary units B KiB MiB GiB TiB, decimal units KB MB GB TB.
//   durations  "250us", "5ms", "2s", "1min", "1h", "30d", "1h30min"; "0".
//   timestamps RFC 3339 with an offset: "2000-01-01T00:00:00Z".
//
// Thread safety: pure functions.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::config {

using Duration = std::chrono::microseconds;

inline constexpr uint64_t kKiB = 1ull << 10;
inline constexpr uint64_t kMiB = 1ull << 20;
inline constexpr uint64_t kGiB = 1ull << 30;
inline constexpr uint64_t kTiB = 1ull << 40;

// Longest node id, stream name, target name and token name. Stream names become
// directory names and are limited by the journal's segment header to 64 bytes.
inline constexpr size_t kMaxNameLength = 64;

// "64MiB" -> 67108864. Accepts a plain number of bytes ("4096"), an optional space before
// the unit, and a decimal fraction when the result is a whole number of bytes
// ("1.5KiB" = 1536). kInvalidArgument for anything else (negative, unknown unit, overflow).
Result<uint64_t> ParseSize(std::string_view text);
// "5ms" -> 5000us. Units: us (or µs), ms, s, min, h, d; several may follow each other
// ("1h30min"); a fraction is allowed when the result is a whole number of microseconds.
// A bare number is refused (except "0"): a unit is never guessed. "m" is refused as
// ambiguous (minutes or milliseconds?).
Result<Duration> ParseDuration(std::string_view text);
// "2000-01-01T00:00:00Z" -> microseconds since the Unix epoch. RFC 3339 with a mandatory
// offset ("Z" or "+01:00"); at most 6 fractional digits.
Result<int64_t> ParseTimestamp(std::string_view text);

// The shortest exact spelling: 67108864 -> "64MiB", 20000000000 -> "20GB", 1000 -> "1000B".
std::string FormatSize(uint64_t bytes);
// The largest unit that is exact: 5000us -> "5ms", 86400s -> "1d".
std::string FormatDuration(Duration d);
// Microseconds since the epoch -> "2000-01-01T00:00:00Z" (fraction only when non-zero).
std::string FormatTimestamp(int64_t micros);

// Name rules shared by node id, streams, targets and tokens: 1..64 characters of
// [A-Za-z0-9_.-], and not "." or ".." (names become file and directory names).
bool IsValidName(std::string_view name);

// A listen address "host:port"; IPv6 hosts are written in brackets: "[::1]:7400".
struct ListenAddress {
  std::string host;  // without brackets
  uint16_t port = 0;

  // 127.0.0.0/8, ::1 and "localhost".
  bool IsLoopback() const;
  // "127.0.0.1:7400", "[::1]:7400": the form gRPC takes.
  std::string ToString() const;

  bool operator==(const ListenAddress&) const = default;
};
Result<ListenAddress> ParseListenAddress(std::string_view text);

}  // namespace sluice::config

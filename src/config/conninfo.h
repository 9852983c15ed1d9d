#pragma once
// The shape of a PostgreSQL connection string, checked without connecting.
// Internal to sluice_config.

#include <optional>
#include <string>
#include <string_view>

namespace sluice::config::internal {

// Checks the shape of a libpq conninfo: a URI, or "key=value" pairs (values may be
// single-quoted with backslash escapes). Returns what is wrong, or nullopt when the shape
// is right; sets *has_password when a password is inline.
std::optional<std::string> CheckConninfo(std::string_view s, bool* has_password);

}  // namespace sluice::config::internal

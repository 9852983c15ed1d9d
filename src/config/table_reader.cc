#include "config/table_reader.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "config/text.h"

namespace sluice::config::internal {

void TableReader::Missing(std::string_view key, std::string_view why) {
  // A misspelling of the missing key is reported as an unknown key with a did-you-mean,
  // which says everything; "missing 'priority'" next to it would only be noise.
  for (auto&& [present, node] : table_) {
    if (std::find(valid_keys_.begin(), valid_keys_.end(), present.str()) != valid_keys_.end()) {
      continue;
    }
    if (Closest(present.str(), valid_keys_) == key) return;
  }
  Error(TableAt(), why.empty() ? fmt::format("missing required key '{}'", key)
                               : fmt::format("missing required key '{}' ({})", key, why));
}

std::optional<std::string> TableReader::String(std::string_view key) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  if (!node->is_string()) return WrongType(key, *node, "a string");
  return std::string(node->as_string()->get());
}

std::optional<bool> TableReader::Bool(std::string_view key) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  if (!node->is_boolean()) return WrongType(key, *node, "a boolean");
  return node->as_boolean()->get();
}

std::optional<int64_t> TableReader::Integer(std::string_view key, int64_t min, int64_t max) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  if (!node->is_integer()) return WrongType(key, *node, "an integer");
  const int64_t v = node->as_integer()->get();
  if (v < min || v > max) {
    ErrorAtValue(key,
                 max == std::numeric_limits<int64_t>::max()
                     ? fmt::format("'{}' must be at least {}, not {}", key, min, v)
                     : fmt::format("'{}' must be between {} and {}, not {}", key, min, max, v));
    return std::nullopt;
  }
  return v;
}

std::optional<uint64_t> TableReader::Size(std::string_view key, uint64_t min, uint64_t max) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  uint64_t v = 0;
  if (node->is_integer()) {
    const int64_t i = node->as_integer()->get();
    if (i < 0) {
      ErrorAtValue(key, fmt::format("'{}' must not be negative, not {}", key, i));
      return std::nullopt;
    }
    v = static_cast<uint64_t>(i);
  } else if (node->is_string()) {
    Result<uint64_t> parsed = ParseSize(node->as_string()->get());
    if (!parsed.ok()) {
      ErrorAtValue(key, fmt::format("'{}': {}", key, parsed.status().message()));
      return std::nullopt;
    }
    v = *parsed;
  } else {
    return WrongType(key, *node,
                     "a size (an integer number of bytes, or a string such as \"64MiB\")");
  }
  if (v < min) {
    ErrorAtValue(
        key, fmt::format("'{}' must be at least {}, not {}", key, FormatSize(min), FormatSize(v)));
    return std::nullopt;
  }
  if (v > max) {
    ErrorAtValue(
        key, fmt::format("'{}' must be at most {}, not {}", key, FormatSize(max), FormatSize(v)));
    return std::nullopt;
  }
  return v;
}

std::optional<Duration> TableReader::Dur(std::string_view key, bool allow_zero) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  if (!node->is_string()) {
    return WrongType(key, *node, "a duration string such as \"5ms\" (the unit is required)");
  }
  Result<Duration> parsed = ParseDuration(node->as_string()->get());
  if (!parsed.ok()) {
    ErrorAtValue(key, fmt::format("'{}': {}", key, parsed.status().message()));
    return std::nullopt;
  }
  if (!allow_zero && parsed->count() == 0) {
    ErrorAtValue(key, fmt::format("'{}' must be longer than zero", key));
    return std::nullopt;
  }
  return *parsed;
}

std::optional<int64_t> TableReader::Timestamp(std::string_view key) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  if (node->is_integer()) return node->as_integer()->get();
  std::string text;
  if (node->is_string()) {
    text = node->as_string()->get();
  } else if (node->is_date_time()) {
    // A TOML date-time goes through the same parser as a string, so the same rules
    // (an offset is required, microsecond resolution) apply to both spellings.
    const toml::date_time& dt = node->as_date_time()->get();
    if (!dt.offset) {
      ErrorAtValue(key, fmt::format("'{}' needs a UTC offset, e.g. 2000-01-01T00:00:00Z", key));
      return std::nullopt;
    }
    const int offset = dt.offset->minutes;
    const int magnitude = offset < 0 ? -offset : offset;
    text = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}{}{:02}:{:02}", dt.date.year,
                       dt.date.month, dt.date.day, dt.time.hour, dt.time.minute, dt.time.second,
                       dt.time.nanosecond, offset < 0 ? '-' : '+', magnitude / 60, magnitude % 60);
  }
  if (!text.empty() || node->is_string()) {
    Result<int64_t> parsed = ParseTimestamp(text);
    if (!parsed.ok()) {
      ErrorAtValue(key, fmt::format("'{}': {}", key, parsed.status().message()));
      return std::nullopt;
    }
    return *parsed;
  }
  return WrongType(key, *node,
                   "a timestamp (\"2000-01-01T00:00:00Z\" or microseconds since the epoch)");
}

// An array of strings, each with its place.
std::optional<std::vector<std::pair<std::string, toml::source_region>>> TableReader::StringArray(
    std::string_view key, std::string_view example) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    return WrongType(key, *node, fmt::format("an array of strings such as {}", example));
  }
  std::vector<std::pair<std::string, toml::source_region>> out;
  bool ok = true;
  for (const toml::node& element : *array) {
    if (!element.is_string()) {
      Error(element.source(),
            fmt::format("'{}' must hold only strings, not {}", key, TypeName(element)));
      ok = false;
      continue;
    }
    out.emplace_back(std::string(element.as_string()->get()), element.source());
  }
  if (!ok) return std::nullopt;
  return out;
}

// Reports every key that is not valid in this table.
void TableReader::CheckUnknownKeys() {
  for (auto&& [key, node] : table_) {
    const std::string_view name = key.str();
    if (std::find(valid_keys_.begin(), valid_keys_.end(), name) != valid_keys_.end()) continue;
    std::string message = fmt::format("unknown key '{}'", name);
    if (auto best = Closest(name, valid_keys_)) {
      message += fmt::format(" (did you mean '{}'?)", *best);
    } else {
      message += fmt::format(" (valid keys: {})", JoinQuoted(valid_keys_, '\''));
    }
    Error(key.source(), message);
  }
}

// Reports a value of the wrong type; returns nullopt for the caller to pass on.
std::nullopt_t TableReader::WrongType(std::string_view key, const toml::node& node,
                                      std::string_view expected) {
  ErrorAtValue(key, fmt::format("'{}' must be {}, not {}", key, expected, TypeName(node)));
  return std::nullopt;
}

}  // namespace sluice::config::internal

#pragma once
// Small text helpers shared by the `sluice` commands.

#include <string>
#include <string_view>

namespace sluice::cli {

// `text` as one CSV field: quoted (quotes doubled) when it holds a comma, a quote or a
// line break; as it is otherwise.
inline std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// True for a non-empty run of ASCII digits.
inline bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace sluice::cli

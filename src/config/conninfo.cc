#include "config/conninfo.h"

#include <fmt/format.h>

namespace sluice::config::internal {

std::optional<std::string> CheckConninfo(std::string_view s, bool* has_password) {
  *has_password = false;
  if (s.starts_with("postgresql://") || s.starts_with("postgres://")) {
    const size_t at = s.find('@');
    const size_t scheme_end = s.find("://") + 3;
    if (at != std::string_view::npos &&
        s.substr(scheme_end, at - scheme_end).find(':') != std::string_view::npos) {
      *has_password = true;
    }
    if (s.find("password=") != std::string_view::npos) *has_password = true;
    return std::nullopt;
  }
  size_t i = 0;
  bool any = false;
  while (true) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    if (i == s.size()) break;
    const size_t key_start = i;
    while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_')) ++i;
    std::string_view key = s.substr(key_start, i - key_start);
    while (i < s.size() && s[i] == ' ') ++i;
    if (key.empty() || i == s.size() || s[i] != '=') {
      return fmt::format("expected key=value at \"{}\"", s.substr(key_start, 20));
    }
    ++i;
    while (i < s.size() && s[i] == ' ') ++i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') i += (s[i] == '\\') ? 2 : 1;
      if (i >= s.size()) return fmt::format("unterminated quoted value of '{}'", key);
      ++i;
    } else {
      while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    }
    if (key == "password") *has_password = true;
    any = true;
  }
  if (!any) return std::string("it is empty");
  return std::nullopt;
}

}  // namespace sluice::config::internal

#include "config/diagnostics.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace sluice::config::internal {

void Diagnostics::FileError(std::string_view message) {
  errors_.push_back(Message{0, 0, fmt::format("{}: {}", source_, message)});
}

void Diagnostics::FileWarning(std::string_view message) {
  warnings_.push_back(Message{0, 0, fmt::format("{}: {}", source_, message)});
}

Status Diagnostics::ToStatus() const {
  std::vector<Message> sorted = Sorted(errors_);
  std::string text;
  for (size_t i = 0; i < sorted.size() && i < kMaxReportedErrors; ++i) {
    if (i > 0) text += '\n';
    text += sorted[i].text;
  }
  if (sorted.size() > kMaxReportedErrors) {
    text +=
        fmt::format("\n{}: ... and {} more errors", source_, sorted.size() - kMaxReportedErrors);
  }
  return Status::InvalidArgument(std::move(text));
}

std::vector<std::string> Diagnostics::Warnings() const {
  std::vector<std::string> out;
  for (const Message& m : Sorted(warnings_)) out.push_back(m.text);
  return out;
}

Message Diagnostics::Make(const toml::source_region& at, std::string_view context,
                          std::string_view message) const {
  Message m;
  m.line = at.begin.line;
  m.column = at.begin.column;
  std::string where = m.line == 0 ? source_ : fmt::format("{}:{}:{}", source_, m.line, m.column);
  m.text = context.empty() ? fmt::format("{}: {}", where, message)
                           : fmt::format("{}: {}: {}", where, context, message);
  return m;
}

std::vector<Message> Diagnostics::Sorted(std::vector<Message> messages) {
  std::stable_sort(messages.begin(), messages.end(), [](const Message& a, const Message& b) {
    const uint64_t la = a.line == 0 ? std::numeric_limits<uint32_t>::max() : a.line;
    const uint64_t lb = b.line == 0 ? std::numeric_limits<uint32_t>::max() : b.line;
    return std::pair(la, a.column) < std::pair(lb, b.column);
  });
  return messages;
}

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "nothing";
  }
}

}  // namespace sluice::config::internal

#pragma once
// Errors and warnings of the config parser, each with its place in the file
// ("FILE:LINE:COLUMN: CONTEXT: message"), reported all at once in file order.
// Internal to sluice_config.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "common/status.h"

namespace sluice::config::internal {

// A config with more problems than this is not worth listing in full.
inline constexpr size_t kMaxReportedErrors = 50;

struct Message {
  uint32_t line = 0;  // 0: the whole file
  uint32_t column = 0;
  std::string text;
};

class Diagnostics {
 public:
  explicit Diagnostics(std::string source) : source_(std::move(source)) {}

  void Error(const toml::source_region& at, std::string_view context, std::string_view message) {
    errors_.push_back(Make(at, context, message));
  }
  // An error about the whole file, with no line to point at.
  void FileError(std::string_view message);
  // A warning about the whole file.
  void FileWarning(std::string_view message);
  void Warning(const toml::source_region& at, std::string_view context, std::string_view message) {
    warnings_.push_back(Make(at, context, message));
  }

  bool has_errors() const { return !errors_.empty(); }

  // Every error, in file order (whole-file errors last), one per line.
  Status ToStatus() const;
  std::vector<std::string> Warnings() const;

 private:
  Message Make(const toml::source_region& at, std::string_view context,
               std::string_view message) const;
  static std::vector<Message> Sorted(std::vector<Message> messages);

  const std::string source_;
  std::vector<Message> errors_;
  std::vector<Message> warnings_;
};

// "a string", "an integer", ...: the type of a value as an error message names it.
std::string_view TypeName(const toml::node& node);

}  // namespace sluice::config::internal

#pragma once
// Typed, remembered access to the keys of one TOML table. Internal to sluice_config.

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/diagnostics.h"
#include "config/text.h"
#include "config/values.h"

namespace sluice::config::internal {

// Typed access to the keys of one table. Every key read is remembered; CheckUnknownKeys()
// then reports the keys nobody asked for, with a did-you-mean from the table's valid keys.
class TableReader {
 public:
  TableReader(Diagnostics* diag, const toml::table& table, std::string context,
              std::vector<std::string_view> valid_keys)
      : diag_(diag),
        table_(table),
        context_(std::move(context)),
        valid_keys_(std::move(valid_keys)) {}

  void set_context(std::string context) { context_ = std::move(context); }

  bool Has(std::string_view key) const { return table_.contains(key); }
  // The key's node, for values of a shape no typed reader covers; nullptr when absent.
  const toml::node* Node(std::string_view key) const { return table_.get(key); }
  const toml::source_region& TableAt() const { return table_.source(); }
  const toml::source_region& KeyAt(std::string_view key) const {
    auto it = table_.find(key);
    return it == table_.end() ? table_.source() : it->first.source();
  }
  const toml::source_region& ValueAt(std::string_view key) const {
    const toml::node* node = table_.get(key);
    return node == nullptr ? table_.source() : node->source();
  }

  void Error(const toml::source_region& at, std::string_view message) {
    diag_->Error(at, context_, message);
  }
  void ErrorAtValue(std::string_view key, std::string_view message) {
    Error(ValueAt(key), message);
  }
  void Warning(const toml::source_region& at, std::string_view message) {
    diag_->Warning(at, context_, message);
  }

  // Reports a required key that is absent (unless a misspelling of it is present, which
  // CheckUnknownKeys reports with a did-you-mean). `why` says what the key is for.
  void Missing(std::string_view key, std::string_view why = {});

  // Each returns the key's value, or nullopt when the key is absent or its value is
  // wrong (which is then reported).
  std::optional<std::string> String(std::string_view key);
  std::optional<bool> Bool(std::string_view key);
  std::optional<int64_t> Integer(std::string_view key, int64_t min, int64_t max);
  std::optional<uint64_t> Size(std::string_view key, uint64_t min = 0,
                               uint64_t max = std::numeric_limits<uint64_t>::max());
  std::optional<Duration> Dur(std::string_view key, bool allow_zero = false);
  std::optional<int64_t> Timestamp(std::string_view key);

  template <typename E>
  std::optional<E> Enum(std::string_view key,
                        std::initializer_list<std::pair<std::string_view, E>> choices) {
    std::optional<std::string> text = String(key);
    if (!text) return std::nullopt;
    std::vector<std::string_view> names;
    for (const auto& [name, value] : choices) {
      if (*text == name) return value;
      names.push_back(name);
    }
    std::string message = fmt::format(
        "'{}' must be {}, not \"{}\"", key,
        names.size() == 2 ? JoinQuoted(names, '"') : "one of " + JoinQuoted(names, '"'), *text);
    if (auto best = Closest(*text, names)) message += fmt::format(" (did you mean \"{}\"?)", *best);
    ErrorAtValue(key, message);
    return std::nullopt;
  }

  // An array of strings, each with its place.
  std::optional<std::vector<std::pair<std::string, toml::source_region>>> StringArray(
      std::string_view key, std::string_view example);

  // Reports every key that is not valid in this table.
  void CheckUnknownKeys();

 private:
  // Reports a value of the wrong type; returns nullopt for the caller to pass on.
  std::nullopt_t WrongType(std::string_view key, const toml::node& node, std::string_view expected);

  Diagnostics* diag_;
  const toml::table& table_;
  std::string context_;
  std::vector<std::string_view> valid_keys_;
};

}  // namespace sluice::config::internal

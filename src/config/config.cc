#include "config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "common/file_system.h"

namespace sluice::config {
namespace {

constexpr uint64_t kMaxConfigFileBytes = 16 * kMiB;
// A config with more problems than this is not worth listing in full.
constexpr size_t kMaxReportedErrors = 50;

// ---------------------------------------------------------------------------------------
// Small text helpers.

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsBlank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), ignoring
// case: "prority" -> "priority" is 1, "Priority" -> "priority" is 0.
size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = Lower(a[i - 1]) == Lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && Lower(a[i - 1]) == Lower(b[j - 2]) &&
          Lower(a[i - 2]) == Lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

// The candidate closest to `word`, if it is close enough to be a plausible typo.
std::optional<std::string_view> Closest(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
  std::optional<std::string_view> best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (std::string_view c : candidates) {
    const size_t allowed = std::max<size_t>(1, c.size() / 3);
    // The distance is at least the difference in length; skip the quadratic work for
    // words that cannot be close (a pasted blob as a key).
    const size_t length_gap =
        word.size() > c.size() ? word.size() - c.size() : c.size() - word.size();
    if (length_gap > allowed) continue;
    const size_t d = EditDistance(word, c);
    if (d <= allowed && d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

// "a/./b/../c/" -> "a/c": no trailing slash, so that equal paths compare equal.
std::string NormalPath(const std::filesystem::path& path) {
  std::string s = path.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::string JoinQuoted(const std::vector<std::string_view>& words, char quote) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += (i + 1 == words.size()) ? " or " : ", ";
    out += quote;
    out += words[i];
    out += quote;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Conninfo.

// Checks the shape of a libpq conninfo: a URI, or "key=value" pairs (values may be
// single-quoted with backslash escapes). Sets *has_password when a password is inline.
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

// ---------------------------------------------------------------------------------------
// Diagnostics: errors and warnings with their place in the file.

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
  void FileError(std::string_view message) {
    errors_.push_back(Message{0, 0, fmt::format("{}: {}", source_, message)});
  }
  void Warning(const toml::source_region& at, std::string_view context,
               std::string_view message) {
    warnings_.push_back(Make(at, context, message));
  }

  bool has_errors() const { return !errors_.empty(); }
  size_t error_count() const { return errors_.size(); }

  // Every error, in file order (whole-file errors last), one per line.
  Status ToStatus() const {
    std::vector<Message> sorted = Sorted(errors_);
    std::string text;
    for (size_t i = 0; i < sorted.size() && i < kMaxReportedErrors; ++i) {
      if (i > 0) text += '\n';
      text += sorted[i].text;
    }
    if (sorted.size() > kMaxReportedErrors) {
      text += fmt::format("\n{}: ... and {} more errors", source_,
                          sorted.size() - kMaxReportedErrors);
    }
    return Status::InvalidArgument(std::move(text));
  }

  std::vector<std::string> Warnings() const {
    std::vector<std::string> out;
    for (const Message& m : Sorted(warnings_)) out.push_back(m.text);
    return out;
  }

 private:
  Message Make(const toml::source_region& at, std::string_view context,
               std::string_view message) const {
    Message m;
    m.line = at.begin.line;
    m.column = at.begin.column;
    std::string where = m.line == 0 ? source_ : fmt::format("{}:{}:{}", source_, m.line, m.column);
    m.text = context.empty() ? fmt::format("{}: {}", where, message)
                             : fmt::format("{}: {}: {}", where, context, message);
    return m;
  }

  static std::vector<Message> Sorted(std::vector<Message> messages) {
    std::stable_sort(messages.begin(), messages.end(), [](const Message& a, const Message& b) {
      const uint64_t la = a.line == 0 ? std::numeric_limits<uint32_t>::max() : a.line;
      const uint64_t lb = b.line == 0 ? std::numeric_limits<uint32_t>::max() : b.line;
      return std::pair(la, a.column) < std::pair(lb, b.column);
    });
    return messages;
  }

  const std::string source_;
  std::vector<Message> errors_;
  std::vector<Message> warnings_;
};

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "nothing";
  }
}

// Typed access to the keys of one table. Every key read is remembered; CheckUnknownKeys()
// then reports the keys nobody asked for, with a did-you-mean from the table's valid keys.
class TableReader {
 public:
  TableReader(Diagnostics* diag, const toml::table& table, std::string context,
              std::vector<std::string_view> valid_keys)
      : diag_(diag), table_(table), context_(std::move(context)),
        valid_keys_(std::move(valid_keys)) {}

  void set_context(std::string context) { context_ = std::move(context); }
  const std::string& context() const { return context_; }
  const toml::table& table() const { return table_; }

  bool Has(std::string_view key) const { return table_.contains(key); }
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

  void Missing(std::string_view key, std::string_view why = {}) {
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

  std::optional<std::string> String(std::string_view key) {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_string()) return WrongType(key, *node, "a string");
    return std::string(node->as_string()->get());
  }

  std::optional<bool> Bool(std::string_view key) {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_boolean()) return WrongType(key, *node, "a boolean");
    return node->as_boolean()->get();
  }

  std::optional<int64_t> Integer(std::string_view key, int64_t min, int64_t max) {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_integer()) return WrongType(key, *node, "an integer");
    const int64_t v = node->as_integer()->get();
    if (v < min || v > max) {
      ErrorAtValue(key, max == std::numeric_limits<int64_t>::max()
                            ? fmt::format("'{}' must be at least {}, not {}", key, min, v)
                            : fmt::format("'{}' must be between {} and {}, not {}", key, min,
                                          max, v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<uint64_t> Size(std::string_view key, uint64_t min = 0,
                               uint64_t max = std::numeric_limits<uint64_t>::max()) {
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
      ErrorAtValue(key, fmt::format("'{}' must be at least {}, not {}", key, FormatSize(min),
                                    FormatSize(v)));
      return std::nullopt;
    }
    if (v > max) {
      ErrorAtValue(key, fmt::format("'{}' must be at most {}, not {}", key, FormatSize(max),
                                    FormatSize(v)));
      return std::nullopt;
    }
    return v;
  }

  std::optional<Duration> Dur(std::string_view key, bool allow_zero = false) {
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

  std::optional<int64_t> Timestamp(std::string_view key) {
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
                         dt.date.month, dt.date.day, dt.time.hour, dt.time.minute,
                         dt.time.second, dt.time.nanosecond, offset < 0 ? '-' : '+',
                         magnitude / 60, magnitude % 60);
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
    std::string message = fmt::format("'{}' must be {}, not \"{}\"", key,
                                       names.size() == 2 ? JoinQuoted(names, '"')
                                                         : "one of " + JoinQuoted(names, '"'),
                                       *text);
    if (auto best = Closest(*text, names)) message += fmt::format(" (did you mean \"{}\"?)", *best);
    ErrorAtValue(key, message);
    return std::nullopt;
  }

  // An array of strings, each with its place.
  std::optional<std::vector<std::pair<std::string, toml::source_region>>> StringArray(
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
        Error(element.source(), fmt::format("'{}' must hold only strings, not {}", key,
                                            TypeName(element)));
        ok = false;
        continue;
      }
      out.emplace_back(std::string(element.as_string()->get()), element.source());
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // Reports every key that is not valid in this table.
  void CheckUnknownKeys() {
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

 private:
  // Reports a value of the wrong type; returns nullopt for the caller to pass on.
  std::nullopt_t WrongType(std::string_view key, const toml::node& node,
                           std::string_view expected) {
    ErrorAtValue(key, fmt::format("'{}' must be {}, not {}", key, expected, TypeName(node)));
    return std::nullopt;
  }

  Diagnostics* diag_;
  const toml::table& table_;
  std::string context_;
  std::vector<std::string_view> valid_keys_;
};

// ---------------------------------------------------------------------------------------
// The sections and their keys.

const std::vector<std::string_view> kNodeKeys = {"id", "data_dir", "listen", "log_level",
                                                 "log_file"};
const std::vector<std::string_view> kJournalKeys = {
    "segment_size", "max_record_size", "budget", "free_space_floor", "ack", "retention_interval"};
const std::vector<std::string_view> kStreamKeys = {"name",        "ordered",       "priority",
                                                   "reserved",    "on_error",      "batch_records",
                                                   "batch_bytes", "batch_delay"};
const std::vector<std::string_view> kTargetKeys = {
    "name",        "role",   "priority",         "driver",           "connection", "transport",
    "destination", "enabled", "retention_budget", "retention_policy"};
const std::vector<std::string_view> kLimitsKeys = {
    "max_message_size",  "max_records_per_request", "max_lob_size",
    "max_string_length", "timestamp_min",           "timestamp_max_ahead"};
const std::vector<std::string_view> kAuthKeys = {"required", "token"};
const std::vector<std::string_view> kTokenKeys = {"name", "token", "token_file", "roles"};
const std::vector<std::string_view> kTlsKeys = {"cert_file", "key_file", "ca_file"};
const std::vector<std::string_view> kHealthKeys = {"probe_interval", "probe_timeout",
                                                   "reconnect_probe_delay", "switch_deadline"};
const std::vector<std::string_view> kClientDedupKeys = {"idle_forget"};

struct Section {
  std::string_view name;
  bool array_of_tables;
  const std::vector<std::string_view>* keys;
};

const Section kSections[] = {
    {"node", false, &kNodeKeys},     {"journal", false, &kJournalKeys},
    {"stream", true, &kStreamKeys},  {"target", true, &kTargetKeys},
    {"limits", false, &kLimitsKeys}, {"auth", false, &kAuthKeys},
    {"tls", false, &kTlsKeys},       {"health", false, &kHealthKeys},
    {"client_dedup", false, &kClientDedupKeys},
};

std::string SectionSpelling(const Section& s) {
  return s.array_of_tables ? fmt::format("[[{}]]", s.name) : fmt::format("[{}]", s.name);
}

constexpr std::string_view kNameRules = "use 1 to 64 characters of A-Z a-z 0-9 _ . -";

// Where a target's keys are, for the cross-checks made once every target is read.
struct TargetSource {
  toml::source_region table;
  toml::source_region name;
  toml::source_region priority;
  toml::source_region connection;
  toml::source_region retention_budget;
};

class Parser {
 public:
  Parser(std::string_view source_name, std::string_view base_dir)
      : diag_(std::string(source_name)), base_dir_(base_dir) {
    config_.source = std::string(source_name);
  }

  Result<Config> Parse(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, std::string_view(config_.source));
    } catch (const toml::parse_error& e) {
      diag_.Error(e.source(), "", e.description());
      return diag_.ToStatus();
    }

    CheckTopLevel(root);
    ReadNode(root);
    ReadJournal(root);
    ReadStreams(root);
    ReadTargets(root);
    ReadLimits(root);
    ReadAuth(root);
    ReadTls(root);
    ReadHealth(root);
    ReadClientDedup(root);
    // Cross-checks only make sense on sections that are individually valid; otherwise
    // they would mostly repeat the errors above in other words.
    if (!diag_.has_errors()) CrossCheck();
    if (diag_.has_errors()) return diag_.ToStatus();
    config_.warnings = diag_.Warnings();
    return std::move(config_);
  }

 private:
  // Sections are optional tables; an array or scalar under a section name is an error.
  const toml::table* SectionTable(const toml::table& root, std::string_view name) {
    const toml::node* node = root.get(name);
    if (node == nullptr) return nullptr;
    if (const toml::table* table = node->as_table()) return table;
    auto it = root.find(name);
    diag_.Error(it->first.source(), "",
                fmt::format("'{}' must be a table [{}], not {}", name, name, TypeName(*node)));
    return nullptr;
  }

  static bool IsEmptyArray(const toml::table& parent, std::string_view name) {
    const toml::node* node = parent.get(name);
    return node != nullptr && node->is_array() && node->as_array()->empty();
  }

  // Arrays of tables ([[stream]], [[target]], [[auth.token]]).
  std::vector<const toml::table*> SectionArray(const toml::table& parent, std::string_view name,
                                               std::string_view spelled) {
    std::vector<const toml::table*> out;
    const toml::node* node = parent.get(name);
    if (node == nullptr) return out;
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      auto it = parent.find(name);
      diag_.Error(node->is_table() ? node->source() : it->first.source(), "",
                  fmt::format("'{}' must be an array of tables: write [[{}]] for each, not {}",
                              name, spelled,
                              node->is_table() ? fmt::format("[{}]", spelled)
                                               : std::string(TypeName(*node))));
      return out;
    }
    for (const toml::node& element : *array) {
      if (const toml::table* table = element.as_table()) {
        out.push_back(table);
      } else {
        diag_.Error(element.source(), "",
                    fmt::format("'{}' must be an array of tables ([[{}]]), but holds {}", name,
                                spelled, TypeName(element)));
      }
    }
    return out;
  }

  void CheckTopLevel(const toml::table& root) {
    std::vector<std::string_view> names;
    for (const Section& s : kSections) names.push_back(s.name);
    for (auto&& [key, node] : root) {
      const std::string_view name = key.str();
      if (std::find(names.begin(), names.end(), name) != names.end()) continue;
      if (node.is_table() || node.is_array_of_tables()) {
        const bool aot = node.is_array_of_tables();
        std::string message = aot ? fmt::format("unknown table [[{}]]", name)
                                  : fmt::format("unknown table [{}]", name);
        if (auto best = Closest(name, names)) {
          for (const Section& s : kSections) {
            if (s.name == *best) message += fmt::format(" (did you mean {}?)", SectionSpelling(s));
          }
        } else {
          std::vector<std::string> all;
          for (const Section& s : kSections) all.push_back(SectionSpelling(s));
          message += fmt::format(" (valid tables: {})", fmt::join(all, ", "));
        }
        // A [table] header's own position; for [[x]] the first element's.
        const toml::source_region& at =
            aot ? node.as_array()->front().source() : node.source();
        diag_.Error(at.begin.line != 0 ? at : key.source(), "", message);
        continue;
      }
      // A plain key at the top level: most likely it belongs in a section.
      std::string message = fmt::format("unknown key '{}' at the top level", name);
      for (const Section& s : kSections) {
        if (std::find(s.keys->begin(), s.keys->end(), name) != s.keys->end()) {
          message += fmt::format(" (it belongs in {})", SectionSpelling(s));
          break;
        }
      }
      diag_.Error(key.source(), "", message);
    }
  }

  std::string Resolve(const std::string& path) const {
    if (path.empty() || path.front() == '/' || base_dir_.empty()) return path;
    return NormalPath(std::filesystem::path(base_dir_) / path);
  }

  // A file named by the config that must exist and be readable now.
  void CheckReadableFile(TableReader& r, std::string_view key, const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      const int err = errno;
      r.ErrorAtValue(key, fmt::format("'{}' {}: {}", key, path, std::strerror(err)));
      return;
    }
    if (!S_ISREG(st.st_mode)) {
      r.ErrorAtValue(key, fmt::format("'{}' {} is not a regular file", key, path));
      return;
    }
    if (::access(path.c_str(), R_OK) != 0) {
      const int err = errno;
      r.ErrorAtValue(key, fmt::format("'{}' {}: {}", key, path, std::strerror(err)));
    }
  }

  void ReadNode(const toml::table& root) {
    const toml::table* table = SectionTable(root, "node");
    if (table == nullptr) {
      if (!root.contains("node")) {
        diag_.FileError("missing table [node] (with 'id' and 'data_dir')");
      }
      return;
    }
    TableReader r(&diag_, *table, "[node]", kNodeKeys);
    NodeConfig& node = config_.node;
    if (auto id = r.String("id")) {
      if (!IsValidName(*id)) {
        r.ErrorAtValue("id", fmt::format("invalid node id \"{}\": {}", *id, kNameRules));
      }
      node.id = *id;
    } else if (!r.Has("id")) {
      r.Missing("id", "the name of this node, part of every watermark key");
    }
    if (auto dir = r.String("data_dir")) {
      if (IsBlank(*dir)) {
        r.ErrorAtValue("data_dir", "'data_dir' must not be empty");
      } else {
        node.data_dir = Resolve(*dir);
      }
    } else if (!r.Has("data_dir")) {
      r.Missing("data_dir", "the directory of the journal and the service state");
    }
    if (auto listen = r.StringArray("listen", "[\"127.0.0.1:7400\"]")) {
      node.listen.clear();
      if (listen->empty()) r.ErrorAtValue("listen", "'listen' must name at least one address");
      for (const auto& [text, at] : *listen) {
        Result<ListenAddress> address = ParseListenAddress(text);
        if (!address.ok()) {
          r.Error(at, fmt::format("'listen': {}", address.status().message()));
          continue;
        }
        for (const ListenAddress& seen : node.listen) {
          if (seen.host == address->host && seen.port == address->port) {
            r.Error(at, fmt::format("'listen': address \"{}\" is listed twice", text));
          }
        }
        listen_at_.push_back(at);
        node.listen.push_back(*address);
      }
    }
    if (auto level = r.Enum<std::string_view>(
            "log_level", {{"trace", "trace"},
                          {"debug", "debug"},
                          {"info", "info"},
                          {"warn", "warn"},
                          {"error", "error"},
                          {"critical", "critical"},
                          {"off", "off"}})) {
      node.log_level = std::string(*level);
    }
    if (auto file = r.String("log_file")) {
      if (file->empty()) {
        r.ErrorAtValue("log_file", "'log_file' must not be empty (leave it out to log to stderr)");
      } else {
        node.log_file = Resolve(*file);
      }
    }
    r.CheckUnknownKeys();
  }

  void ReadJournal(const toml::table& root) {
    const toml::table* table = SectionTable(root, "journal");
    if (table == nullptr) return;
    TableReader r(&diag_, *table, "[journal]", kJournalKeys);
    JournalConfig& j = config_.journal;
    // The journal refuses segments smaller than a header plus one frame; anything this
    // small would be a typo anyway.
    if (auto v = r.Size("segment_size", 64 * kKiB)) j.segment_size = *v;
    segment_size_at_ = r.ValueAt("segment_size");
    if (auto v = r.Size("max_record_size", 1, std::numeric_limits<uint32_t>::max())) {
      j.max_record_size = *v;
    }
    if (r.Has("max_record_size")) max_record_size_at_ = r.ValueAt("max_record_size");
    if (auto v = r.Size("budget")) j.budget = *v;
    if (r.Has("budget")) budget_at_ = r.ValueAt("budget");
    if (auto v = r.Size("free_space_floor")) j.free_space_floor = *v;
    if (auto v = r.Enum<AckMode>("ack", {{"durable", AckMode::kDurable},
                                         {"written", AckMode::kWritten}})) {
      j.ack = *v;
      if (j.ack == AckMode::kWritten) {
        r.Warning(r.ValueAt("ack"),
                  "ack = \"written\": records are acknowledged before fdatasync, so a power "
                  "failure can lose acknowledged records (a crash of sluiced alone cannot)");
      }
    }
    if (auto v = r.Dur("retention_interval")) j.retention_interval = *v;
    r.CheckUnknownKeys();
  }

  void ReadStreams(const toml::table& root) {
    std::vector<const toml::table*> tables = SectionArray(root, "stream", "stream");
    if (tables.empty()) {
      if (!root.contains("stream")) {
        config_.streams = DefaultStreams();
      } else if (IsEmptyArray(root, "stream")) {
        diag_.Error(root.find("stream")->first.source(), "",
                    "'stream' is empty; remove it to use the standard streams");
      }
      return;
    }
    first_stream_at_ = tables.front()->source();
    const std::vector<StreamConfig> standard = DefaultStreams();
    std::map<std::string, uint32_t, std::less<>> seen;  // name -> line
    for (size_t i = 0; i < tables.size(); ++i) {
      TableReader r(&diag_, *tables[i], fmt::format("stream #{}", i + 1), kStreamKeys);
      StreamConfig s;
      s.line = static_cast<int>(tables[i]->source().begin.line);
      const StreamConfig* std_stream = nullptr;
      if (auto name = r.String("name")) {
        s.name = *name;
        if (!IsValidName(*name)) {
          r.ErrorAtValue("name", fmt::format("invalid stream name \"{}\": {} (it names a "
                                             "directory of the journal)",
                                             *name, kNameRules));
        } else {
          r.set_context(fmt::format("stream '{}'", *name));
          const uint32_t line = r.KeyAt("name").begin.line;
          auto [it, inserted] = seen.emplace(*name, line);
          if (!inserted) {
            diag_.Error(r.KeyAt("name"), "",
                        fmt::format("duplicate stream name '{}' (first defined at line {})",
                                    *name, it->second));
          }
          for (const StreamConfig& d : standard) {
            if (d.name == *name) std_stream = &d;
          }
        }
      } else if (!r.Has("name")) {
        r.Missing("name");
      }
      if (std_stream != nullptr) {
        s.ordered = std_stream->ordered;
        s.priority = std_stream->priority;
      }
      if (auto ordered = r.Bool("ordered")) {
        s.ordered = *ordered;
        if (s.name == "model" && !s.ordered) {
          r.ErrorAtValue("ordered",
                         "stream 'model' must be ordered: synchronous writes and their outcome "
                         "markers are journaled in it and must be applied in order");
        }
      } else if (!r.Has("ordered") && std_stream == nullptr && !s.name.empty()) {
        r.Missing("ordered",
                  "say whether this stream's records must be applied in order; it is never "
                  "guessed for a stream that is not one of model, events, sql, samples");
      }
      if (auto v = r.Integer("priority", std::numeric_limits<int32_t>::min(),
                             std::numeric_limits<int32_t>::max())) {
        s.priority = static_cast<int>(*v);
      }
      if (auto v = r.Size("reserved")) s.reserved = *v;
      if (auto v = r.Enum<OnError>("on_error", {{"skip", OnError::kSkip},
                                                {"block", OnError::kBlock}})) {
        s.on_error = *v;
      }
      s.batch_records = s.ordered ? kOrderedBatchRecords : kUnorderedBatchRecords;
      s.batch_bytes = s.ordered ? kOrderedBatchBytes : kUnorderedBatchBytes;
      s.batch_delay = s.ordered ? kOrderedBatchDelay : kUnorderedBatchDelay;
      if (auto v = r.Integer("batch_records", 1, std::numeric_limits<int64_t>::max())) {
        s.batch_records = static_cast<uint64_t>(*v);
      }
      if (auto v = r.Size("batch_bytes", 1)) s.batch_bytes = *v;
      if (auto v = r.Dur("batch_delay", /*allow_zero=*/true)) s.batch_delay = *v;
      r.CheckUnknownKeys();
      config_.streams.push_back(std::move(s));
    }
  }

  void ReadTargets(const toml::table& root) {
    std::vector<const toml::table*> tables = SectionArray(root, "target", "target");
    std::map<std::string, uint32_t, std::less<>> seen;  // name -> line
    for (size_t i = 0; i < tables.size(); ++i) {
      TableReader r(&diag_, *tables[i], fmt::format("target #{}", i + 1), kTargetKeys);
      TargetConfig t;
      TargetSource src;
      t.line = static_cast<int>(tables[i]->source().begin.line);
      src.table = r.TableAt();
      if (auto name = r.String("name")) {
        t.name = *name;
        src.name = r.KeyAt("name");
        if (!IsValidName(*name)) {
          r.ErrorAtValue("name", fmt::format("invalid target name \"{}\": {}", *name, kNameRules));
        } else {
          r.set_context(fmt::format("target '{}'", *name));
          auto [it, inserted] = seen.emplace(*name, src.name.begin.line);
          if (!inserted) {
            diag_.Error(src.name, "",
                        fmt::format("duplicate target name '{}' (first defined at line {})",
                                    *name, it->second));
          }
        }
      } else if (!r.Has("name")) {
        r.Missing("name");
      }

      std::optional<TargetRole> role = r.Enum<TargetRole>(
          "role", {{"primary", TargetRole::kPrimary},
                   {"replica", TargetRole::kReplica},
                   {"oneway", TargetRole::kOneway}});
      if (role) {
        t.role = *role;
      } else if (!r.Has("role")) {
        r.Missing("role", "\"primary\" (can become active), \"replica\" or \"oneway\"");
      }

      if (auto dialect = r.Enum<Dialect>("driver", {{"sqlite", Dialect::kSqlite},
                                                    {"postgres", Dialect::kPostgres}})) {
        t.dialect = *dialect;
      } else if (!r.Has("driver")) {
        r.Missing("driver", "\"sqlite\" or \"postgres\"");
      }

      if (role) {
        ReadTargetRoleKeys(r, t, src);
        t.retention_policy = t.role == TargetRole::kPrimary ? RetentionPolicy::kHold
                                                            : RetentionPolicy::kDetach;
      }
      if (auto v = r.Size("retention_budget")) t.retention_budget = *v;
      src.retention_budget = r.ValueAt("retention_budget");
      if (auto v = r.Enum<RetentionPolicy>("retention_policy",
                                           {{"hold", RetentionPolicy::kHold},
                                            {"detach", RetentionPolicy::kDetach}})) {
        t.retention_policy = *v;
      }
      if (auto v = r.Bool("enabled")) t.enabled = *v;
      r.CheckUnknownKeys();
      config_.targets.push_back(std::move(t));
      target_src_.push_back(src);
    }
    if (tables.empty()) {
      constexpr std::string_view kNone =
          "no [[target]] is defined: at least one primary target is required";
      if (!root.contains("target")) {
        diag_.FileError(kNone);
      } else if (IsEmptyArray(root, "target")) {
        diag_.Error(root.find("target")->first.source(), "", kNone);
      }
    }
  }

  // The keys whose meaning depends on the role: priority, connection, transport and
  // destination.
  void ReadTargetRoleKeys(TableReader& r, TargetConfig& t, TargetSource& src) {
    const std::string_view role = TargetRoleName(t.role);
    if (t.role == TargetRole::kPrimary) {
      if (auto v = r.Integer("priority", std::numeric_limits<int32_t>::min(),
                             std::numeric_limits<int32_t>::max())) {
        t.priority = static_cast<int>(*v);
        src.priority = r.ValueAt("priority");
      } else if (!r.Has("priority")) {
        r.Missing("priority", "a primary target needs one; the highest reachable primary "
                              "becomes active");
      }
    } else if (r.Has("priority")) {
      r.Error(r.KeyAt("priority"),
              fmt::format("'priority' applies only to primary targets; a {} target never "
                          "becomes active",
                          role));
    }

    if (t.role == TargetRole::kOneway) {
      if (r.Has("connection")) {
        r.Error(r.KeyAt("connection"),
                "a oneway target has no 'connection': the receiver beyond the isolation "
                "device writes the database; set 'transport' and 'destination'");
      }
      std::optional<OnewayTransport> transport = r.Enum<OnewayTransport>(
          "transport", {{"dir", OnewayTransport::kDir}, {"udp", OnewayTransport::kUdp}});
      if (transport) {
        t.transport = *transport;
      } else if (!r.Has("transport")) {
        r.Missing("transport", "\"dir\" or \"udp\"");
      }
      std::optional<std::string> destination = r.String("destination");
      if (!destination) {
        if (!r.Has("destination")) {
          r.Missing("destination", "a directory for \"dir\", host:port for \"udp\"");
        }
      } else if (destination->empty()) {
        r.ErrorAtValue("destination", "'destination' must not be empty");
      } else if (transport == OnewayTransport::kUdp) {
        Result<ListenAddress> address = ParseListenAddress(*destination);
        if (!address.ok()) {
          r.ErrorAtValue("destination",
                         fmt::format("'destination': {}", address.status().message()));
        }
        t.destination = *destination;
      } else {
        t.destination = Resolve(*destination);
      }
      src.connection = r.ValueAt("destination");
      return;
    }

    for (std::string_view key : {"transport", "destination"}) {
      if (r.Has(key)) {
        r.Error(r.KeyAt(key), fmt::format("'{}' applies only to oneway targets", key));
      }
    }
    std::optional<std::string> connection = r.String("connection");
    src.connection = r.ValueAt("connection");
    if (!connection) {
      if (!r.Has("connection")) {
        r.Missing("connection", "SQLite: a file path; PostgreSQL: a libpq conninfo");
      }
      return;
    }
    if (t.dialect == Dialect::kSqlite) {
      if (IsBlank(*connection) || *connection == ":memory:" ||
          connection->starts_with("file:")) {
        r.ErrorAtValue("connection",
                       fmt::format("'connection' of a SQLite target must be a file path, not "
                                   "\"{}\"",
                                   *connection));
      }
      t.connection = *connection;  // resolved against data_dir in CrossCheck
    } else {
      bool has_password = false;
      if (auto problem = CheckConninfo(*connection, &has_password)) {
        r.ErrorAtValue("connection",
                       fmt::format("'connection' is not a libpq conninfo (\"host=... dbname=...\" "
                                   "or \"postgresql://...\"): {}",
                                   *problem));
      } else if (has_password) {
        r.Warning(src.connection,
                  "the connection holds a password in the config file; prefer a passfile "
                  "(~/.pgpass or passfile=...)");
      }
      t.connection = *connection;
    }
  }

  void ReadLimits(const toml::table& root) {
    const toml::table* table = SectionTable(root, "limits");
    if (table == nullptr) return;
    TableReader r(&diag_, *table, "[limits]", kLimitsKeys);
    LimitsConfig& l = config_.limits;
    // gRPC keeps message sizes in an int.
    if (auto v = r.Size("max_message_size", 1, std::numeric_limits<int32_t>::max())) {
      l.max_message_size = *v;
    }
    if (r.Has("max_message_size")) max_message_size_at_ = r.ValueAt("max_message_size");
    if (auto v = r.Integer("max_records_per_request", 1, std::numeric_limits<int64_t>::max())) {
      l.max_records_per_request = static_cast<uint64_t>(*v);
    }
    if (auto v = r.Size("max_lob_size", 1)) l.max_lob_size = *v;
    if (r.Has("max_lob_size")) max_lob_size_at_ = r.ValueAt("max_lob_size");
    if (auto v = r.Integer("max_string_length", 1, std::numeric_limits<int64_t>::max())) {
      l.max_string_length = static_cast<uint64_t>(*v);
    }
    if (r.Has("max_string_length")) max_string_length_at_ = r.ValueAt("max_string_length");
    if (auto v = r.Timestamp("timestamp_min")) l.timestamp_min = *v;
    if (auto v = r.Dur("timestamp_max_ahead", /*allow_zero=*/true)) l.timestamp_max_ahead = *v;
    r.CheckUnknownKeys();
  }

  void ReadAuth(const toml::table& root) {
    const toml::table* table = SectionTable(root, "auth");
    if (table == nullptr) return;
    auth_at_ = table->source();
    TableReader r(&diag_, *table, "[auth]", kAuthKeys);
    if (auto v = r.Bool("required")) {
      config_.auth.required = *v;
      auth_required_at_ = r.ValueAt("required");
    }
    r.CheckUnknownKeys();

    std::map<std::string, uint32_t, std::less<>> names;   // name -> line
    std::map<std::string, std::string, std::less<>> secrets;  // token -> name
    std::vector<const toml::table*> tables = SectionArray(*table, "token", "auth.token");
    for (size_t i = 0; i < tables.size(); ++i) {
      TableReader t(&diag_, *tables[i], fmt::format("auth token #{}", i + 1), kTokenKeys);
      TokenConfig token;
      token.line = static_cast<int>(tables[i]->source().begin.line);
      if (auto name = t.String("name")) {
        token.name = *name;
        if (!IsValidName(*name)) {
          t.ErrorAtValue("name", fmt::format("invalid token name \"{}\": {}", *name, kNameRules));
        } else {
          t.set_context(fmt::format("auth token '{}'", *name));
          auto [it, inserted] = names.emplace(*name, t.KeyAt("name").begin.line);
          if (!inserted) {
            diag_.Error(t.KeyAt("name"), "",
                        fmt::format("duplicate token name '{}' (first defined at line {})",
                                    *name, it->second));
          }
        }
      } else if (!t.Has("name")) {
        t.Missing("name");
      }

      std::optional<std::string> inline_token = t.String("token");
      std::optional<std::string> file = t.String("token_file");
      std::string_view secret_key = "token";
      if (t.Has("token") && t.Has("token_file")) {
        t.Error(t.KeyAt("token_file"), "give either 'token' or 'token_file', not both");
      } else if (inline_token) {
        token.token = *inline_token;
      } else if (file) {
        secret_key = "token_file";
        token.token_file = Resolve(*file);
        ReadTokenFile(t, &token);
      } else if (!t.Has("token") && !t.Has("token_file")) {
        t.Missing("token", "or 'token_file', a file holding the token");
      }
      if (!token.token.empty() || (inline_token && inline_token->empty())) {
        CheckSecret(t, secret_key, token, &secrets);
      }

      if (auto roles = t.StringArray("roles", "[\"ingest\", \"read\"]")) {
        if (roles->empty()) t.ErrorAtValue("roles", "'roles' must name at least one role");
        for (const auto& [text, at] : *roles) {
          static constexpr std::pair<std::string_view, TokenRole> kRoles[] = {
              {"ingest", TokenRole::kIngest},
              {"read", TokenRole::kRead},
              {"sql", TokenRole::kSql},
              {"admin", TokenRole::kAdmin}};
          std::optional<TokenRole> role;
          std::vector<std::string_view> names_only;
          for (const auto& [n, v] : kRoles) {
            names_only.push_back(n);
            if (n == text) role = v;
          }
          if (!role) {
            std::string message = fmt::format("unknown role \"{}\" (roles are {})", text,
                                              JoinQuoted(names_only, '"'));
            if (auto best = Closest(text, names_only)) {
              message = fmt::format("unknown role \"{}\" (did you mean \"{}\"?)", text, *best);
            }
            t.Error(at, message);
          } else if (token.HasRole(*role)) {
            t.Error(at, fmt::format("role \"{}\" is listed twice", text));
          } else {
            token.roles.push_back(*role);
          }
        }
      } else if (!t.Has("roles")) {
        t.Missing("roles", "a list of \"ingest\", \"read\", \"sql\", \"admin\"");
      }
      t.CheckUnknownKeys();
      config_.auth.tokens.push_back(std::move(token));
    }
  }

  void ReadTokenFile(TableReader& t, TokenConfig* token) {
    const std::string& path = token->token_file;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      t.ErrorAtValue("token_file",
                     fmt::format("cannot read token_file {}: {}", path, std::strerror(err)));
      return;
    }
    struct stat st;
    if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
      t.Warning(t.ValueAt("token_file"),
                fmt::format("token_file {} can be read by other users (mode {:04o}); chmod 600 it",
                            path, st.st_mode & 07777));
    }
    ::close(fd);
    Result<std::string> contents = ReadWholeFile(FileSystem::Default(), path);
    if (!contents.ok()) {
      t.ErrorAtValue("token_file", fmt::format("cannot read token_file: {}",
                                               contents.status().message()));
      return;
    }
    // Editors and `echo` add a final newline; it is not part of the token.
    std::string_view s = *contents;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
      s.remove_suffix(1);
    }
    token->token = std::string(s);
    if (token->token.empty()) {
      t.ErrorAtValue("token_file", fmt::format("token_file {} is empty", path));
    }
  }

  // Tokens travel in an HTTP/2 header: printable ASCII, no spaces. A short token can be
  // guessed. Two entries with one secret would make the caller's roles ambiguous. The
  // secret itself is never printed.
  void CheckSecret(TableReader& t, std::string_view key, const TokenConfig& token,
                   std::map<std::string, std::string, std::less<>>* secrets) {
    const toml::source_region& at = t.ValueAt(key);
    for (char c : token.token) {
      if (c <= 0x20 || c >= 0x7f) {
        t.Error(at, "the token must be printable ASCII without spaces");
        return;
      }
    }
    if (token.token.size() < 16) {
      t.Error(at, fmt::format("the token is too short ({} characters); use at least 16 random "
                              "characters, e.g. from `openssl rand -hex 32`",
                              token.token.size()));
      return;
    }
    auto [it, inserted] = secrets->emplace(token.token, token.name);
    if (!inserted) {
      t.Error(at, fmt::format("the token is the same as that of token '{}'; each token must be "
                              "different",
                              it->second));
    }
  }

  void ReadTls(const toml::table& root) {
    const toml::table* table = SectionTable(root, "tls");
    if (table == nullptr) return;
    TableReader r(&diag_, *table, "[tls]", kTlsKeys);
    TlsConfig& tls = config_.tls;
    auto read = [&](std::string_view key, std::string* out) {
      if (auto v = r.String(key)) {
        if (v->empty()) {
          r.ErrorAtValue(key, fmt::format("'{}' must not be empty", key));
          return;
        }
        *out = Resolve(*v);
        CheckReadableFile(r, key, *out);
      }
    };
    read("cert_file", &tls.cert_file);
    read("key_file", &tls.key_file);
    read("ca_file", &tls.ca_file);
    const bool cert = r.Has("cert_file"), key = r.Has("key_file");
    if (cert && !key) r.Missing("key_file", "the private key of 'cert_file'; give both or neither");
    if (key && !cert) r.Missing("cert_file", "the certificate of 'key_file'; give both or neither");
    if (r.Has("ca_file") && !cert && !key) {
      r.Error(r.KeyAt("ca_file"),
              "'ca_file' verifies client certificates and needs 'cert_file' and 'key_file'");
    }
    r.CheckUnknownKeys();
  }

  void ReadHealth(const toml::table& root) {
    const toml::table* table = SectionTable(root, "health");
    if (table == nullptr) return;
    TableReader r(&diag_, *table, "[health]", kHealthKeys);
    HealthConfig& h = config_.health;
    if (auto v = r.Dur("probe_interval")) h.probe_interval = *v;
    if (auto v = r.Dur("probe_timeout")) h.probe_timeout = *v;
    if (auto v = r.Dur("reconnect_probe_delay", /*allow_zero=*/true)) h.reconnect_probe_delay = *v;
    if (auto v = r.Dur("switch_deadline")) h.switch_deadline = *v;
    r.CheckUnknownKeys();
  }

  void ReadClientDedup(const toml::table& root) {
    const toml::table* table = SectionTable(root, "client_dedup");
    if (table == nullptr) return;
    TableReader r(&diag_, *table, "[client_dedup]", kClientDedupKeys);
    if (auto v = r.Dur("idle_forget")) config_.client_dedup.idle_forget = *v;
    r.CheckUnknownKeys();
  }

  void CrossCheck() {
    CheckJournalSizes();
    CheckStreams();
    CheckTargets();
    CheckAuth();
  }

  void CheckJournalSizes() {
    const JournalConfig& j = config_.journal;
    const LimitsConfig& l = config_.limits;
    if (j.max_record_size > j.segment_size) {
      diag_.Error(max_record_size_at_ ? *max_record_size_at_ : segment_size_at_, "[journal]",
                  fmt::format("'max_record_size' {} is larger than 'segment_size' {}; a segment "
                              "must hold at least one record",
                              FormatSize(j.max_record_size), FormatSize(j.segment_size)));
    }
    // A value in a request must fit in one journal record, and a request must be able to
    // carry the largest record.
    auto at_or = [&](const std::optional<toml::source_region>& a,
                     const std::optional<toml::source_region>& b) {
      return a ? *a : b ? *b : toml::source_region{};
    };
    if (l.max_lob_size > j.max_record_size) {
      diag_.Error(at_or(max_lob_size_at_, max_record_size_at_), "",
                  fmt::format("[limits] 'max_lob_size' {} is larger than [journal] "
                              "'max_record_size' {}: such a value could never be journaled",
                              FormatSize(l.max_lob_size), FormatSize(j.max_record_size)));
    }
    if (l.max_string_length > j.max_record_size) {
      diag_.Error(at_or(max_string_length_at_, max_record_size_at_), "",
                  fmt::format("[limits] 'max_string_length' {} is larger than [journal] "
                              "'max_record_size' {}",
                              l.max_string_length, FormatSize(j.max_record_size)));
    }
    if (l.max_message_size < j.max_record_size) {
      diag_.Error(at_or(max_message_size_at_, max_record_size_at_), "",
                  fmt::format("[limits] 'max_message_size' {} is smaller than [journal] "
                              "'max_record_size' {}: the largest record could not be sent",
                              FormatSize(l.max_message_size), FormatSize(j.max_record_size)));
    }
  }

  void CheckStreams() {
    const JournalConfig& j = config_.journal;
    if (first_stream_at_ && config_.FindStream("model") == nullptr) {
      diag_.Error(*first_stream_at_, "",
                  "the [[stream]] tables do not define stream 'model': synchronous writes "
                  "(SQL, model updates) and switch markers are journaled in it; add a "
                  "[[stream]] with name = \"model\" (or remove every [[stream]] to use the "
                  "standard streams)");
    }
    if (j.budget == 0) return;
    uint64_t total = 0;
    std::vector<std::string> parts;
    for (const StreamConfig& s : config_.streams) {
      total += s.reserved;
      parts.push_back(fmt::format("{} {}", s.name, FormatSize(s.reserved)));
    }
    if (total > j.budget) {
      diag_.Error(*budget_at_, "[journal]",
                  fmt::format("the streams reserve {} in total ({}), more than 'budget' {}; "
                              "lower their 'reserved' shares or raise the budget",
                              FormatSize(total), fmt::join(parts, ", "), FormatSize(j.budget)));
    }
  }

  void CheckTargets() {
    std::vector<TargetConfig>& targets = config_.targets;
    if (targets.empty()) return;
    const uint64_t budget = config_.journal.budget;
    std::map<int, size_t> priorities;                            // priority -> target index
    std::map<std::pair<int, std::string>, size_t> destinations;  // (kind, where) -> index
    bool any_primary = false, any_enabled_primary = false;
    for (size_t i = 0; i < targets.size(); ++i) {
      TargetConfig& t = targets[i];
      const TargetSource& src = target_src_[i];
      const std::string context = fmt::format("target '{}'", t.name);
      if (t.role == TargetRole::kPrimary) {
        any_primary = true;
        any_enabled_primary |= t.enabled;
        auto [it, inserted] = priorities.emplace(t.priority, i);
        if (!inserted) {
          const TargetConfig& first = targets[it->second];
          diag_.Error(src.priority, context,
                      fmt::format("priority {} is already used by primary target '{}' (line "
                                  "{}); primaries need distinct priorities so the order of "
                                  "failover is unambiguous",
                                  t.priority, first.name, target_src_[it->second].name.begin.line));
        }
      }
      // Two targets on one database would share watermark rows and node claims.
      std::string where;
      int kind = 0;
      if (t.role == TargetRole::kOneway) {
        kind = 10 + static_cast<int>(t.transport);
        where = t.destination;
      } else if (t.dialect == Dialect::kSqlite) {
        t.connection = t.connection.front() == '/'
                           ? NormalPath(t.connection)
                           : NormalPath(std::filesystem::path(config_.node.data_dir) /
                                        t.connection);
        where = t.connection;
      } else {
        kind = 1;
        where = t.connection;
      }
      auto [it, inserted] = destinations.emplace(std::pair(kind, where), i);
      if (!inserted) {
        const TargetConfig& first = targets[it->second];
        diag_.Error(src.connection, context,
                    fmt::format("uses the same {} as target '{}' (line {}): every target must "
                                "be a database of its own",
                                t.role == TargetRole::kOneway ? "destination" : "database",
                                first.name, target_src_[it->second].name.begin.line));
      }
      if (budget != 0 && t.retention_budget > budget) {
        diag_.Error(src.retention_budget, context,
                    fmt::format("'retention_budget' {} is larger than the journal's 'budget' "
                                "{}: the journal would fill before this target's budget "
                                "applies",
                                FormatSize(t.retention_budget), FormatSize(budget)));
      }
    }
    if (!any_primary) {
      diag_.Error(target_src_.front().table, "",
                  "no primary target: at least one [[target]] needs role = \"primary\"; reads "
                  "and synchronous writes are served by the active primary");
    } else if (!any_enabled_primary) {
      diag_.Warning(target_src_.front().table, "",
                    "every primary target is disabled: the service starts isolated and "
                    "synchronous calls are refused until one is enabled");
    }
  }

  void CheckAuth() {
    const AuthConfig& auth = config_.auth;
    const NodeConfig& node = config_.node;
    for (size_t i = 0; i < node.listen.size(); ++i) {
      const ListenAddress& a = node.listen[i];
      const toml::source_region at = i < listen_at_.size() ? listen_at_[i] : toml::source_region{};
      if (!auth.required && !a.IsLoopback()) {
        diag_.Error(*auth_required_at_, "[auth]",
                    fmt::format("'required' = false is allowed only when sluiced listens on "
                                "loopback, but [node] listen has \"{}\" (line {}): anyone who "
                                "can reach that address could write history, run SQL and "
                                "administer the service; define [[auth.token]] entries and "
                                "remove 'required', or listen on 127.0.0.1 only",
                                a.ToString(), at.begin.line));
      }
      if (!a.IsLoopback() && !config_.tls.enabled()) {
        diag_.Warning(at, "[node]",
                      fmt::format("listening on {} without [tls]: tokens and data cross the "
                                  "network in clear text",
                                  a.ToString()));
      }
    }
    if (!auth.required) {
      diag_.Warning(*auth_required_at_, "[auth]",
                    "authentication is off: any local user can write history, run SQL and "
                    "administer the service");
      return;
    }
    if (auth.tokens.empty()) {
      const std::string message =
          "authentication is required (the default) but no [[auth.token]] is defined, so no "
          "client could connect; add tokens, or set [auth] required = false (allowed only "
          "when listening on loopback)";
      if (auth_at_) {
        diag_.Error(*auth_at_, "[auth]", message);
      } else {
        diag_.FileError(message);
      }
      return;
    }
    bool any_admin = false;
    for (const TokenConfig& t : auth.tokens) any_admin |= t.HasRole(TokenRole::kAdmin);
    if (!any_admin) {
      diag_.Warning(auth_at_ ? *auth_at_ : toml::source_region{}, "[auth]",
                    "no token has the \"admin\" role: `sluice` status, switch, target and "
                    "error-log commands will be refused");
    }
  }

  Diagnostics diag_;
  const std::string base_dir_;
  Config config_;

  // Places remembered for the cross-checks.
  std::vector<toml::source_region> listen_at_;
  toml::source_region segment_size_at_;
  std::optional<toml::source_region> max_record_size_at_;
  std::optional<toml::source_region> budget_at_;
  std::optional<toml::source_region> max_message_size_at_;
  std::optional<toml::source_region> max_lob_size_at_;
  std::optional<toml::source_region> max_string_length_at_;
  std::optional<toml::source_region> first_stream_at_;
  std::optional<toml::source_region> auth_at_;
  std::optional<toml::source_region> auth_required_at_;
  std::vector<TargetSource> target_src_;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// The configuration.

std::vector<StreamConfig> DefaultStreams() {
  auto make = [](std::string name, bool ordered, int priority) {
    StreamConfig s;
    s.name = std::move(name);
    s.ordered = ordered;
    s.priority = priority;
    s.batch_records = ordered ? kOrderedBatchRecords : kUnorderedBatchRecords;
    s.batch_bytes = ordered ? kOrderedBatchBytes : kUnorderedBatchBytes;
    s.batch_delay = ordered ? kOrderedBatchDelay : kUnorderedBatchDelay;
    return s;
  };
  return {make("model", true, 100), make("events", true, 50), make("sql", true, 40),
          make("samples", false, 10)};
}

bool TokenConfig::HasRole(TokenRole role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

const StreamConfig* Config::FindStream(std::string_view name) const {
  for (const StreamConfig& s : streams) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const TargetConfig* Config::FindTarget(std::string_view name) const {
  for (const TargetConfig& t : targets) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<const TargetConfig*> Config::PrimariesByPriority() const {
  std::vector<const TargetConfig*> out;
  for (const TargetConfig& t : targets) {
    if (t.role == TargetRole::kPrimary) out.push_back(&t);
  }
  std::stable_sort(out.begin(), out.end(), [](const TargetConfig* a, const TargetConfig* b) {
    return a->priority > b->priority;
  });
  return out;
}

std::vector<const StreamConfig*> Config::StreamsByPriority() const {
  std::vector<const StreamConfig*> out;
  for (const StreamConfig& s : streams) out.push_back(&s);
  std::stable_sort(out.begin(), out.end(), [](const StreamConfig* a, const StreamConfig* b) {
    return a->priority > b->priority;
  });
  return out;
}

Result<Config> ParseConfig(std::string_view text, std::string_view source_name,
                           std::string_view base_dir) {
  return Parser(source_name, base_dir).Parse(text);
}

Result<Config> LoadConfigFile(const std::string& path) {
  constexpr std::string_view kWhat = "cannot read config file";
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Status::FromErrno(kWhat, path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::FromErrno(kWhat, path, err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::FromErrno(kWhat, path, EISDIR);
  }
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(kWhat, path, err);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxConfigFileBytes) {
      ::close(fd);
      return Status::InvalidArgument(fmt::format("{} {}: larger than {}; is it a config file?",
                                                 kWhat, path, FormatSize(kMaxConfigFileBytes)));
    }
  }
  ::close(fd);
  std::error_code ec;
  std::filesystem::path base = std::filesystem::absolute(DirName(path), ec);
  if (ec) base = DirName(path);
  return ParseConfig(text, path, base.lexically_normal().string());
}

std::string_view AckModeName(AckMode mode) {
  return mode == AckMode::kDurable ? "durable" : "written";
}
std::string_view OnErrorName(OnError on_error) {
  return on_error == OnError::kSkip ? "skip" : "block";
}
std::string_view TargetRoleName(TargetRole role) {
  switch (role) {
    case TargetRole::kPrimary: return "primary";
    case TargetRole::kReplica: return "replica";
    case TargetRole::kOneway: return "oneway";
  }
  return "unknown";
}
std::string_view DialectName(Dialect dialect) {
  return dialect == Dialect::kSqlite ? "sqlite" : "postgres";
}
std::string_view RetentionPolicyName(RetentionPolicy policy) {
  return policy == RetentionPolicy::kHold ? "hold" : "detach";
}
std::string_view OnewayTransportName(OnewayTransport transport) {
  return transport == OnewayTransport::kDir ? "dir" : "udp";
}
std::string_view TokenRoleName(TokenRole role) {
  switch (role) {
    case TokenRole::kIngest: return "ingest";
    case TokenRole::kRead: return "read";
    case TokenRole::kSql: return "sql";
    case TokenRole::kAdmin: return "admin";
  }
  return "unknown";
}

}  // namespace sluice::config

#include "config/parser.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/text.h"

namespace sluice::config::internal {
namespace {

struct Section {
  std::string_view name;
  bool array_of_tables;
  const std::vector<std::string_view>* keys;
};

const Section kSections[] = {
    {"node", false, &kNodeKeys},
    {"journal", false, &kJournalKeys},
    {"stream", true, &kStreamKeys},
    {"target", true, &kTargetKeys},
    {"limits", false, &kLimitsKeys},
    {"auth", false, &kAuthKeys},
    {"tls", false, &kTlsKeys},
    {"health", false, &kHealthKeys},
    {"client_dedup", false, &kClientDedupKeys},
    {"sampling", false, &kSamplingKeys},
    {"http", false, &kHttpKeys},
    {"alarms", false, &kAlarmsKeys},
};

std::string SectionSpelling(const Section& s) {
  return s.array_of_tables ? fmt::format("[[{}]]", s.name) : fmt::format("[{}]", s.name);
}

}  // namespace

Parser::Parser(std::string_view source_name, std::string_view base_dir)
    : diag_(std::string(source_name)), base_dir_(base_dir) {
  config_.source = std::string(source_name);
}

Result<Config> Parser::Parse(std::string_view text) {
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
  ReadSampling(root);
  ReadHttp(root);
  ReadAlarms(root);
  // Cross-checks only make sense on sections that are individually valid; otherwise
  // they would mostly repeat the errors above in other words.
  if (!diag_.has_errors()) CrossCheck();
  if (diag_.has_errors()) return diag_.ToStatus();
  config_.warnings = diag_.Warnings();
  return std::move(config_);
}

const toml::table* Parser::SectionTable(const toml::table& root, std::string_view name) {
  const toml::node* node = root.get(name);
  if (node == nullptr) return nullptr;
  if (const toml::table* table = node->as_table()) return table;
  auto it = root.find(name);
  diag_.Error(it->first.source(), "",
              fmt::format("'{}' must be a table [{}], not {}", name, name, TypeName(*node)));
  return nullptr;
}

bool Parser::IsEmptyArray(const toml::table& parent, std::string_view name) {
  const toml::node* node = parent.get(name);
  return node != nullptr && node->is_array() && node->as_array()->empty();
}

std::vector<const toml::table*> Parser::SectionArray(const toml::table& parent,
                                                     std::string_view name,
                                                     std::string_view spelled) {
  std::vector<const toml::table*> out;
  const toml::node* node = parent.get(name);
  if (node == nullptr) return out;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    auto it = parent.find(name);
    diag_.Error(
        node->is_table() ? node->source() : it->first.source(), "",
        fmt::format(
            "'{}' must be an array of tables: write [[{}]] for each, not {}", name, spelled,
            node->is_table() ? fmt::format("[{}]", spelled) : std::string(TypeName(*node))));
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

void Parser::CheckTopLevel(const toml::table& root) {
  std::vector<std::string_view> names;
  for (const Section& s : kSections) names.push_back(s.name);
  for (auto&& [key, node] : root) {
    const std::string_view name = key.str();
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    if (node.is_table() || node.is_array_of_tables()) {
      const bool aot = node.is_array_of_tables();
      std::string message =
          aot ? fmt::format("unknown table [[{}]]", name) : fmt::format("unknown table [{}]", name);
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
      const toml::source_region& at = aot ? node.as_array()->front().source() : node.source();
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

std::string Parser::Resolve(const std::string& path) const {
  if (path.empty() || path.front() == '/' || base_dir_.empty()) return path;
  return NormalPath(std::filesystem::path(base_dir_) / path);
}

void Parser::CheckReadableFile(TableReader& r, std::string_view key, const std::string& path) {
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

}  // namespace sluice::config::internal

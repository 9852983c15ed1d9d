// Fails when a module includes a header of a module it may not (src/include_directions.txt,
// docs/architecture.md): the graph of modules stays the one the architecture describes,
// and a known wrong include cannot outlive its exception line unnoticed.

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

const fs::path kRoot = SLUICE_SOURCE_DIR;
const fs::path kTable = kRoot / "src" / "include_directions.txt";

struct Rules {
  std::set<std::string> modules;
  std::map<std::string, std::set<std::string>> allowed;
  std::set<std::string> tests_may_include;
  // (file relative to the root, module) -> line of the table.
  std::map<std::pair<std::string, std::string>, int> exceptions;
};

// Parses the table; a line it cannot read is reported with its number and the test fails.
Rules ReadRules() {
  Rules rules;
  std::ifstream in(kTable);
  EXPECT_TRUE(in) << "cannot read " << kTable;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string verb;
    if (!(words >> verb)) continue;
    std::vector<std::string> rest;
    for (std::string w; words >> w;) rest.push_back(w);
    const std::string where = kTable.string() + ":" + std::to_string(line_no) + ": ";
    if (verb == "allow") {
      if (rest.empty() || !rest[0].ends_with(':')) {
        ADD_FAILURE() << where << "expected \"allow MODULE: DEP...\"";
        continue;
      }
      std::string module = rest[0].substr(0, rest[0].size() - 1);
      if (!rules.modules.insert(module).second) {
        ADD_FAILURE() << where << "module '" << module << "' is listed twice";
      }
      rules.allowed[module].insert(rest.begin() + 1, rest.end());
    } else if (verb == "tests:") {
      rules.tests_may_include.insert(rest.begin(), rest.end());
    } else if (verb == "exception") {
      if (rest.size() != 2) {
        ADD_FAILURE() << where << "expected \"exception FILE MODULE\"";
        continue;
      }
      rules.exceptions[{rest[0], rest[1]}] = line_no;
    } else {
      ADD_FAILURE() << where << "unknown line kind '" << verb
                    << "' (expected allow, tests: or exception)";
    }
  }
  for (const auto& [module, deps] : rules.allowed) {
    for (const std::string& dep : deps) {
      EXPECT_TRUE(rules.modules.count(dep))
          << kTable << ": module '" << module << "' may include '" << dep
          << "', which is no module of the table";
    }
  }
  return rules;
}

// The module of a header named in #include "...", or "" when the path names none (then
// the include is of the file's own directory).
std::string ModuleOfInclude(const std::string& path) {
  if (path.starts_with("sluice/v1/")) return "proto";
  if (path.starts_with("sluice/")) return "public";
  if (path.starts_with("store/sqlite/")) return "store/sqlite";
  if (path.starts_with("store/postgres/")) return "store/postgres";
  size_t slash = path.find('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// The module of a file, from its path relative to the root.
std::string ModuleOfFile(const std::string& rel) {
  if (rel.starts_with("include/sluice/")) return "public";
  if (rel.starts_with("tests/support/")) return "support";
  if (rel.starts_with("src/store/sqlite/")) return "store/sqlite";
  if (rel.starts_with("src/store/postgres/")) return "store/postgres";
  std::string under_src = rel.substr(4);
  return under_src.substr(0, under_src.find('/'));
}

bool IsTestFile(const std::string& module, const fs::path& file) {
  const std::string name = file.filename().string();
  return module == "support" || name.ends_with("_test.cc") || name.ends_with("_test.c") ||
         name.ends_with("_test_util.h") || name.ends_with("_test_util.cc") ||
         name.starts_with("test_");
}

struct Violation {
  std::string file;
  int line;
  std::string include;
  std::string module;
};

TEST(IncludeDirections, EveryIncludeIsAllowedAndEveryExceptionStillNeeded) {
  const Rules rules = ReadRules();
  ASSERT_FALSE(rules.modules.empty()) << kTable << " lists no module";

  std::vector<Violation> violations;
  std::set<std::pair<std::string, std::string>> used_exceptions;
  size_t files = 0, includes = 0;
  for (const char* dir : {"src", "include/sluice", "tests/support"}) {
    for (const auto& entry : fs::recursive_directory_iterator(kRoot / dir)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cc" && ext != ".c")) continue;
      const std::string rel = fs::relative(entry.path(), kRoot).generic_string();
      // Files directly in src/ (this test) belong to no module.
      if (rel.starts_with("src/") && rel.find('/', 4) == std::string::npos) continue;
      const std::string module = ModuleOfFile(rel);
      if (!rules.modules.count(module)) {
        ADD_FAILURE() << rel << ": its module '" << module << "' is not in " << kTable;
        continue;
      }
      const bool test_file = IsTestFile(module, entry.path());
      ++files;
      std::ifstream in(entry.path());
      std::string line;
      int line_no = 0;
      while (std::getline(in, line)) {
        ++line_no;
        if (!line.starts_with("#include \"")) continue;
        const size_t end = line.find('"', 10);
        if (end == std::string::npos) continue;
        const std::string include = line.substr(10, end - 10);
        ++includes;
        const std::string dep = ModuleOfInclude(include);
        if (dep.empty() || dep == module) continue;
        if (rules.allowed.at(module).count(dep)) continue;
        if (test_file && rules.tests_may_include.count(dep)) continue;
        if (rules.exceptions.count({rel, dep})) {
          used_exceptions.insert({rel, dep});
          continue;
        }
        violations.push_back({rel, line_no, include, dep});
      }
    }
  }
  for (const Violation& v : violations) {
    ADD_FAILURE() << v.file << ":" << v.line << ": includes \"" << v.include
                  << "\", but module '" << ModuleOfFile(v.file) << "' may not include '"
                  << v.module << "' (" << kTable << ", docs/architecture.md)";
  }
  for (const auto& [key, line] : rules.exceptions) {
    EXPECT_TRUE(used_exceptions.count(key))
        << kTable << ":" << line << ": exception " << key.first << " " << key.second
        << " is no longer needed: delete the line";
  }
  // The scan must have seen the tree, or it proves nothing.
  EXPECT_GT(files, 100u);
  EXPECT_GT(includes, 300u);
}

// The test above would pass on a table that allowed everything; this one checks that the
// table forbids the edges the architecture rules out.
TEST(IncludeDirections, TableForbidsUpwardEdges) {
  const Rules rules = ReadRules();
  const std::pair<const char*, const char*> forbidden[] = {
      {"common", "journal"},     {"journal", "store"},        {"journal", "replicate"},
      {"store", "replicate"},    {"store/sqlite", "store/postgres"},
      {"store/postgres", "store/sqlite"}, {"replicate", "service"}, {"replicate", "cluster"},
      {"admission", "replicate"}, {"service", "daemon"},     {"public", "common"},
      {"client", "service"},     {"cli", "daemon"},
  };
  for (const auto& [from, to] : forbidden) {
    ASSERT_TRUE(rules.allowed.count(from)) << from;
    EXPECT_FALSE(rules.allowed.at(from).count(to)) << from << " may not include " << to;
  }
}

}  // namespace

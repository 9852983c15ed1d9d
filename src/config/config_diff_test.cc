// DiffConfigs: what a reload reports and acts on.

#include "config/config_diff.h"

#include <gtest/gtest.h>

#include "config/config_test_util.h"

namespace sluice::config {
namespace {

using testing::Parse;
using testing::WithMinimal;

constexpr std::string_view kTargetB = R"(
[[target]]
name = "b"
role = "replica"
driver = "sqlite"
connection = "b.db"
)";

void Replace(std::string* text, std::string_view from, std::string_view to) {
  const size_t at = text->find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text->replace(at, from.size(), to);
}

Config MustParse(std::string_view text) {
  Result<Config> c = Parse(text);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Config{};
}

TEST(ConfigDiffTest, SameConfigIsNoChange) {
  Config a = MustParse(WithMinimal(kTargetB));
  EXPECT_TRUE(DiffConfigs(a, a).empty());
}

TEST(ConfigDiffTest, MovedTablesAreNoChange) {
  // Blank lines and comments move every table down: only line numbers differ.
  Config a = MustParse(WithMinimal(kTargetB));
  Config b = MustParse("# moved\n\n\n" + WithMinimal(std::string("\n# here\n") + std::string(kTargetB)));
  ASSERT_NE(a.targets[1].line, b.targets[1].line);
  EXPECT_TRUE(DiffConfigs(a, b).empty());
}

TEST(ConfigDiffTest, AddedRemovedAndChangedTargets) {
  Config running = MustParse(WithMinimal(kTargetB));
  // pg-a with another priority and connection, b gone, c new.
  std::string text = WithMinimal(R"(
[[target]]
name = "c"
role = "replica"
driver = "sqlite"
connection = "c.db"
)");
  Replace(&text, "priority = 10", "priority = 20");
  Replace(&text, "host=a dbname=h", "host=a2 dbname=h password=secret");
  Config next = MustParse(text);
  ConfigDiff d = DiffConfigs(running, next);
  EXPECT_EQ(d.added_targets, std::vector<std::string>{"c"});
  EXPECT_EQ(d.removed_targets, std::vector<std::string>{"b"});
  ASSERT_EQ(d.changed_targets.size(), 1u);
  EXPECT_EQ(d.changed_targets[0], "pg-a (priority, connection)");
  // What changed is named, never a value: a conninfo may hold a password.
  EXPECT_EQ(d.changed_targets[0].find("secret"), std::string::npos);
  EXPECT_TRUE(d.refused.empty());
  EXPECT_TRUE(d.changed_settings.empty());
}

TEST(ConfigDiffTest, SectionsAndNodeKeys) {
  Config running = MustParse(WithMinimal(""));
  Config next = MustParse(WithMinimal(R"(
[journal]
budget = "10GiB"

[health]
probe_interval = "1s"
)"));
  next.node.log_level = "debug";
  ConfigDiff d = DiffConfigs(running, next);
  EXPECT_EQ(d.changed_settings, (std::vector<std::string>{"node.log_level", "[journal]", "[health]"}));
  EXPECT_TRUE(d.added_targets.empty());
}

TEST(ConfigDiffTest, IdentityChangesAreRefused) {
  Config running = MustParse(WithMinimal(""));
  Config next = running;
  next.node.id = "n2";
  next.node.data_dir = "/other";
  ConfigDiff d = DiffConfigs(running, next);
  ASSERT_EQ(d.refused.size(), 2u);
  EXPECT_NE(d.refused[0].find("node.id changed from 'n1' to 'n2'"), std::string::npos) << d.refused[0];
  EXPECT_NE(d.refused[1].find("node.data_dir changed from /data to /other"), std::string::npos) << d.refused[1];
  EXPECT_FALSE(d.empty());
}

}  // namespace
}  // namespace sluice::config

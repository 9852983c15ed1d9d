// [alarms]: defaults, every key read, and every error naming file, line and key (unknown
// keys and checks, wrong types, thresholds on the wrong side, mixed units).
#include <gtest/gtest.h>

#include "config/config_test_util.h"

namespace sluice::config {
namespace {

using testing::ErrorOf;
using testing::Parse;
using testing::WithMinimal;

TEST(ConfigAlarmsTest, DefaultsWithoutTheSection) {
  auto c = Parse(WithMinimal(""));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const AlarmsConfig& a = c->alarms;
  EXPECT_EQ(a.interval, std::chrono::seconds(5));
  EXPECT_TRUE(a.disk_free.enabled);
  EXPECT_TRUE(a.disk_free_share);
  EXPECT_EQ(a.disk_free.severity, AlarmSeverity::kCritical);
  // Every default has its clear threshold on the right side of the raise threshold.
  EXPECT_GE(a.disk_free.clear, a.disk_free.raise);
  EXPECT_GE(a.time_to_loss.clear, a.time_to_loss.raise);
  EXPECT_LE(a.journal_budget.clear, a.journal_budget.raise);
  EXPECT_LE(a.lag_records.clear, a.lag_records.raise);
  EXPECT_LE(a.lag_age.clear, a.lag_age.raise);
}

TEST(ConfigAlarmsTest, EveryKeyIsRead) {
  auto c = Parse(WithMinimal(R"([alarms]
interval = "2s"
history = 50
[alarms.disk_free]
raise_below = "2GiB"
clear_above = "3GiB"
severity = "warning"
[alarms.journal_budget]
raise_above = "75%"
clear_below = "60%"
[alarms.time_to_loss]
raise_below = "30min"
clear_above = "1h"
window = "5min"
[alarms.target_lag_records]
raise_above = 5000
clear_below = 100
[alarms.target_lag_age]
raise_above = "10min"
clear_below = "1min"
enabled = false
[alarms.target_state]
severity = "info"
[alarms.error_log]
enabled = false
)"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const AlarmsConfig& a = c->alarms;
  EXPECT_EQ(a.interval, std::chrono::seconds(2));
  EXPECT_EQ(a.history, 50u);
  EXPECT_FALSE(a.disk_free_share);
  EXPECT_EQ(a.disk_free.raise, 2.0 * kGiB);
  EXPECT_EQ(a.disk_free.clear, 3.0 * kGiB);
  EXPECT_EQ(a.disk_free.severity, AlarmSeverity::kWarning);
  EXPECT_DOUBLE_EQ(a.journal_budget.raise, 0.75);
  EXPECT_DOUBLE_EQ(a.journal_budget.clear, 0.60);
  EXPECT_EQ(a.time_to_loss.raise, 1800);
  EXPECT_EQ(a.time_to_loss.clear, 3600);
  EXPECT_EQ(a.time_to_loss_window, std::chrono::minutes(5));
  EXPECT_EQ(a.lag_records.raise, 5000);
  EXPECT_EQ(a.lag_records.clear, 100);
  EXPECT_EQ(a.lag_age.raise, 600);
  EXPECT_FALSE(a.lag_age.enabled);
  EXPECT_EQ(a.target_state.severity, AlarmSeverity::kInfo);
  EXPECT_FALSE(a.error_log.enabled);
}

TEST(ConfigAlarmsTest, ErrorsNameFileLineAndKey) {
  // kMinimal is 13 lines; [alarms] starts on line 14.
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms]\nintervall = \"1s\"\n")),
            "sluiced.toml:15:1: [alarms]: unknown key 'intervall' (did you mean 'interval'?)");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.disk_fre]\n")),
            "sluiced.toml:14:9: [alarms]: unknown key 'disk_fre' (did you mean 'disk_free'?)");
  EXPECT_EQ(
      ErrorOf(WithMinimal("[alarms.disk_free]\nseverity = \"fatal\"\n")),
      "sluiced.toml:15:12: [alarms.disk_free]: 'severity' must be one of \"info\", \"warning\" or "
      "\"critical\", not \"fatal\"");
  EXPECT_EQ(
      ErrorOf(WithMinimal("[alarms.disk_free]\nraise_below = \"20%\"\nclear_above = \"10%\"\n")),
      "sluiced.toml:16:15: [alarms.disk_free]: 'clear_above' (10%) must be at or above "
      "'raise_below' "
      "(20%), or the alarm would flap");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.disk_free]\nraise_below = \"20%\"\n")),
            "sluiced.toml:15:15: [alarms.disk_free]: 'clear_above' (15%) must be at or above "
            "'raise_below' "
            "(20%), or the alarm would flap ('clear_above' is its default: set it too)");
  EXPECT_EQ(
      ErrorOf(WithMinimal("[alarms.disk_free]\nraise_below = \"1GiB\"\nclear_above = \"20%\"\n")),
      "sluiced.toml:16:15: [alarms.disk_free]: 'raise_below' and 'clear_above' must both be "
      "percentages or both sizes");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.disk_free]\nraise_below = \"1GiB\"\n")),
            "sluiced.toml:15:15: [alarms.disk_free]: 'raise_below' is a size: give 'clear_above' "
            "as a size "
            "too (its default is a percentage)");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.journal_budget]\nraise_above = \"1GiB\"\n")),
            "sluiced.toml:15:15: [alarms.journal_budget]: 'raise_above' must be a percentage like "
            "\"80%\" "
            "(0% to 100%), not \"1GiB\"");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.target_lag_records]\nraise_above = \"many\"\n")),
            "sluiced.toml:15:15: [alarms.target_lag_records]: 'raise_above' must be an integer, "
            "not a string");
  EXPECT_EQ(ErrorOf(WithMinimal(
                "[alarms.target_lag_age]\nraise_above = \"10s\"\nclear_below = \"1min\"\n")),
            "sluiced.toml:16:15: [alarms.target_lag_age]: 'clear_below' (1min) must be at or below "
            "'raise_above' (10s), or the alarm would flap");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.target_state]\nraise_above = 1\n")),
            "sluiced.toml:15:1: [alarms.target_state]: unknown key 'raise_above' (valid keys: "
            "'enabled' or "
            "'severity')");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms]\ndisk_free = 3\n")),
            "sluiced.toml:15:13: [alarms]: 'disk_free' must be a table [alarms.disk_free], not an "
            "integer");
}

}  // namespace
}  // namespace sluice::config

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
  EXPECT_EQ(a.probe_timeout, std::chrono::seconds(10));
  EXPECT_TRUE(a.disk_free.enabled);
  EXPECT_TRUE(a.disk_free_share);
  EXPECT_EQ(a.disk_free.severity, AlarmSeverity::kCritical);
  // Every default has its clear threshold on the right side of the raise threshold.
  EXPECT_GE(a.disk_free.clear, a.disk_free.raise);
  EXPECT_GE(a.time_to_loss.clear, a.time_to_loss.raise);
  EXPECT_LE(a.journal_budget.clear, a.journal_budget.raise);
  EXPECT_LE(a.lag_records.clear, a.lag_records.raise);
  EXPECT_LE(a.lag_age.clear, a.lag_age.raise);
  EXPECT_LE(a.lag_bytes.clear, a.lag_bytes.raise);
  EXPECT_TRUE(a.lag_bytes.enabled);
}

TEST(ConfigAlarmsTest, EveryKeyIsRead) {
  auto c = Parse(WithMinimal(R"([alarms]
interval = "2s"
history = 50
probe_timeout = "3s"
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
[alarms.target_lag_bytes]
raise_above = "2GiB"
clear_below = 1048576
severity = "critical"
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
  EXPECT_EQ(a.probe_timeout, std::chrono::seconds(3));
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
  EXPECT_EQ(a.lag_bytes.raise, 2.0 * kGiB);
  EXPECT_EQ(a.lag_bytes.clear, 1.0 * kMiB);
  EXPECT_EQ(a.lag_bytes.severity, AlarmSeverity::kCritical);
  EXPECT_EQ(a.lag_age.raise, 600);
  EXPECT_FALSE(a.lag_age.enabled);
  EXPECT_EQ(a.target_state.severity, AlarmSeverity::kInfo);
  EXPECT_FALSE(a.error_log.enabled);
}

TEST(ConfigAlarmsTest, ErrorsNameFileLineAndKey) {
  // kMinimal is 13 lines; [alarms] starts on line 14.
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms]\nintervall = \"1s\"\n")),
            "sluiced.toml:15:1: [alarms]: unknown key 'intervall' (did you mean 'interval'?)");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms]\nprobe_timeout = \"0s\"\n")),
            "sluiced.toml:15:17: [alarms]: 'probe_timeout' must be longer than zero");
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
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.target_lag_bytes]\nraise_above = \"50%\"\n")),
            "sluiced.toml:15:15: [alarms.target_lag_bytes]: 'raise_above': " +
                ParseSize("50%").status().message());
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.target_lag_bytes]\nraise_above = true\n")),
            "sluiced.toml:15:15: [alarms.target_lag_bytes]: 'raise_above' must be a size (an "
            "integer number of bytes, or a string such as \"64MiB\"), not a boolean");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.target_lag_bytes]\nraise_above = \"100MiB\"\n")),
            "sluiced.toml:15:15: [alarms.target_lag_bytes]: 'clear_below' (256MiB) must be at or "
            "below 'raise_above' (100MiB), or the alarm would flap ('clear_below' is its default: "
            "set it too)");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.target_state]\nraise_above = 1\n")),
            "sluiced.toml:15:1: [alarms.target_state]: unknown key 'raise_above' (valid keys: "
            "'enabled' or "
            "'severity')");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms]\ndisk_free = 3\n")),
            "sluiced.toml:15:13: [alarms]: 'disk_free' must be a table [alarms.disk_free], not an "
            "integer");
}

TEST(ConfigAlarmsTest, DatabaseSizeIsOffUntilALimitIsGivenAndClearsAtNinetyPercentByDefault) {
  auto off = Parse(WithMinimal(""));
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->alarms.database_size.enabled);
  auto c =
      Parse(WithMinimal("[alarms.database_size]\nraise_above = \"10GiB\"\ninterval = \"30s\"\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const AlarmsConfig& a = c->alarms;
  EXPECT_TRUE(a.database_size.enabled);
  EXPECT_EQ(a.database_size.raise, 10.0 * kGiB);
  EXPECT_DOUBLE_EQ(a.database_size.clear, 0.9 * a.database_size.raise);
  EXPECT_EQ(a.database_size_interval, std::chrono::seconds(30));
  auto both = Parse(WithMinimal(
      "[alarms.database_size]\nraise_above = \"2GiB\"\nclear_below = \"1GiB\"\nenabled = false\n"));
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_FALSE(both->alarms.database_size.enabled);
  EXPECT_EQ(both->alarms.database_size.clear, 1.0 * kGiB);
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.database_size]\nenabled = true\n")),
            "sluiced.toml:15:11: [alarms.database_size]: 'raise_above' is needed: a database has "
            "no default size limit (e.g. raise_above = \"500GiB\")");
  EXPECT_EQ(ErrorOf(WithMinimal(
                "[alarms.database_size]\nraise_above = \"1GiB\"\nclear_below = \"2GiB\"\n")),
            "sluiced.toml:16:15: [alarms.database_size]: 'clear_below' (2GiB) must be at or below "
            "'raise_above' (1GiB), or the alarm would flap");
  EXPECT_EQ(
      ErrorOf(WithMinimal("[alarms.database_size]\nraise_above = \"1GiB\"\nintervall = \"1s\"\n")),
      "sluiced.toml:16:1: [alarms.database_size]: unknown key 'intervall' (did you mean "
      "'interval'?)");
}

TEST(ConfigAlarmsTest, TableRowsTakesAMaximumPerTableAndAClearRatio) {
  auto off = Parse(WithMinimal(""));
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->alarms.table_rows.enabled);
  auto c =
      Parse(WithMinimal("[alarms.table_rows]\nmax = { samples_1min = 50000000, event_log = 1000 }\n"
                        "clear_ratio = 0.75\ninterval = \"5min\"\nseverity = \"critical\"\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const AlarmsConfig& a = c->alarms;
  EXPECT_TRUE(a.table_rows.enabled);
  EXPECT_EQ(a.table_rows.severity, AlarmSeverity::kCritical);
  EXPECT_EQ(a.table_rows_max,
            (std::map<std::string, uint64_t>{{"samples_1min", 50'000'000}, {"event_log", 1000}}));
  EXPECT_DOUBLE_EQ(a.table_rows.clear, 0.75);
  EXPECT_LE(a.table_rows.clear, a.table_rows.raise);
  EXPECT_EQ(a.table_rows_interval, std::chrono::minutes(5));
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.table_rows]\nmax = { samples = 0 }\n")),
            "sluiced.toml:15:19: [alarms.table_rows] max: 'samples' must be at least 1, not 0");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.table_rows]\nmax = { samples = \"many\" }\n")),
            "sluiced.toml:15:19: [alarms.table_rows] max: 'samples' must be an integer, not a "
            "string");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.table_rows]\nmax = 5\n")),
            "sluiced.toml:15:7: [alarms.table_rows]: 'max' must be a table of row counts by table "
            "name, e.g. max = { samples_1min = 50000000 }, not an integer");
  EXPECT_EQ(
      ErrorOf(WithMinimal("[alarms.table_rows]\nmax = { samples = 10 }\nclear_ratio = 1.5\n")),
      "sluiced.toml:16:15: [alarms.table_rows]: 'clear_ratio' must be a number above 0 and "
      "at most 1 (the share of a table's maximum below which its alarm clears), e.g. 0.9");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.table_rows]\nenabled = true\n")),
            "sluiced.toml:15:11: [alarms.table_rows]: 'max' is needed: give each table's maximum, "
            "e.g. max = { samples_1min = 50000000 }");
}

TEST(ConfigAlarmsTest, SamplingMissedCountsOverAWindow) {
  auto d = Parse(WithMinimal(""));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->alarms.sampling_missed.enabled);
  EXPECT_LE(d->alarms.sampling_missed.clear, d->alarms.sampling_missed.raise);
  EXPECT_GT(d->alarms.sampling_missed.raise, 0);  // one missed cycle raises
  EXPECT_LT(d->alarms.sampling_missed.raise, 1);
  auto c = Parse(
      WithMinimal("[alarms.sampling_missed]\nraise_above = 5\nclear_below = 2\nwindow = \"1h\"\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->alarms.sampling_missed.raise, 5);
  EXPECT_EQ(c->alarms.sampling_missed.clear, 2);
  EXPECT_EQ(c->alarms.sampling_missed_window, std::chrono::hours(1));
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.sampling_missed]\nraise_above = 1\nclear_below = 3\n")),
            "sluiced.toml:16:15: [alarms.sampling_missed]: 'clear_below' (3) must be at or below "
            "'raise_above' (1), or the alarm would flap");
  EXPECT_EQ(ErrorOf(WithMinimal("[alarms.sampling_missed]\nwindow = 10\n")),
            "sluiced.toml:15:10: [alarms.sampling_missed]: 'window' must be a duration string such "
            "as \"5ms\" (the unit is required), not an integer");
}

}  // namespace
}  // namespace sluice::config

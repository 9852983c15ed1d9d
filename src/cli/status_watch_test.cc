// What `sluice status --watch` draws from made-up answers: the bar of each target's
// catch-up (the share of the backlog it had when the watch began that it has applied
// since), and the lines kept to 80 columns.

#include "cli/status_watch.h"

#include <cmath>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cli/status_view.h"

namespace sluice::cli {
namespace {

constexpr int64_t kT0 = 1714564801'234000;  // 2024-05-01T12:00:01.234Z

// One stream "samples" at `head`; targets "pg-a" (caught up) and "pg-b" at `b_applied`.
v1::StatusResponse Answer(uint64_t head, uint64_t b_applied, double b_rate, double b_eta) {
  v1::StatusResponse s;
  s.set_node_id("n1");
  s.set_state("active");
  s.set_active_target("pg-a");
  auto* st = s.add_streams();
  st->set_name("samples");
  st->set_head_lsn(head);
  for (auto [name, applied] :
       {std::pair<std::string, uint64_t>{"pg-a", head}, {"pg-b", b_applied}}) {
    auto* t = s.add_targets();
    t->set_name(name);
    t->set_role("primary");
    t->set_lag_records(head - applied);
    t->set_apply_per_s(name == "pg-b" ? b_rate : 0);
    t->set_eta_s(name == "pg-b" ? b_eta : 0);
    auto* a = s.add_appliers();
    a->set_target(name);
    a->set_stream("samples");
    a->set_applied_lsn(applied);
    a->set_lag_records(head - applied);
  }
  return s;
}

std::string LineOf(const std::string& text, const std::string& start) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(start, 0) == 0) return line;
  }
  return "";
}

TEST(StatusWatchTest, ProgressBarFillsItsShareOfCells) {
  EXPECT_EQ(ProgressBar(0, 10), "[..........]");
  EXPECT_EQ(ProgressBar(0.5, 10), "[#####.....]");
  EXPECT_EQ(ProgressBar(1, 10), "[##########]");
  EXPECT_EQ(ProgressBar(1.7, 4), "[####]");   // clamped
  EXPECT_EQ(ProgressBar(-0.2, 4), "[....]");  // clamped
}

TEST(StatusWatchTest, BarIsTheShareOfTheBacklogAtTheStartAppliedSince) {
  CatchUpWatch watch;
  const uint64_t head0 = 10'000, applied0 = 2'000;  // pg-b waits for 8,000
  v1::StatusResponse first = Answer(head0, applied0, 0, -1);
  watch.Observe(first, kT0);
  EXPECT_EQ(watch.Fraction(first, "pg-b"), 0.0);
  EXPECT_EQ(watch.Fraction(first, "pg-a"), 1.0);  // nothing waited: done
  EXPECT_EQ(watch.Fraction(first, "nobody"), -1.0);

  // New records keep coming (head 14,000); of the 8,000 waiting then, 2,000 are applied.
  const uint64_t applied1 = applied0 + 2'000;
  v1::StatusResponse second = Answer(14'000, applied1, 4000, 2.5);
  watch.Observe(second, kT0 + 2'000'000);
  const double expected =
      static_cast<double>(applied1 - applied0) / static_cast<double>(head0 - applied0);
  EXPECT_DOUBLE_EQ(watch.Fraction(second, "pg-b"), expected);
  std::string page = watch.Render(second, kT0 + 2'000'000);
  std::string line = LineOf(page, "pg-b");
  EXPECT_NE(line.find(ProgressBar(expected, 20)), std::string::npos) << page;
  EXPECT_NE(line.find(fmt::format("{:.0f}%", std::floor(expected * 100))), std::string::npos)
      << page;
  EXPECT_NE(line.find(CatchUpText(second.targets(1))), std::string::npos) << page;
  EXPECT_NE(page.find("catch-up since 12:00:01.234 UTC (2.0s):"), std::string::npos) << page;

  // Past the old head the backlog is all applied, whatever came after it.
  v1::StatusResponse third = Answer(20'000, 12'000, 4000, -1);
  watch.Observe(third, kT0 + 4'000'000);
  EXPECT_EQ(watch.Fraction(third, "pg-b"), 1.0);
  EXPECT_NE(LineOf(watch.Render(third, kT0 + 4'000'000), "pg-b").find("not shrinking"),
            std::string::npos);
}

TEST(StatusWatchTest, ATargetCaughtUpAtTheStartIsMeasuredFromWhenItFirstLags) {
  CatchUpWatch watch;
  watch.Observe(Answer(100, 100, 0, 0), kT0);
  // pg-b is taken out: 400 records wait for it; that is its backlog from now on.
  v1::StatusResponse lagging = Answer(500, 100, 0, -1);
  watch.Observe(lagging, kT0 + 1'000'000);
  EXPECT_EQ(watch.Fraction(lagging, "pg-b"), 0.0);
  v1::StatusResponse back = Answer(500, 400, 300, 0.3);
  watch.Observe(back, kT0 + 2'000'000);
  EXPECT_DOUBLE_EQ(watch.Fraction(back, "pg-b"), 300.0 / 400.0);
}

TEST(StatusWatchTest, LinesFitIn80Columns) {
  CatchUpWatch watch;
  v1::StatusResponse s = Answer(1'234'567, 1'000, 12'345, -1);
  s.mutable_targets(1)->set_name("sqlite-dr");
  s.mutable_appliers(1)->set_target("sqlite-dr");
  watch.Observe(s, kT0);
  std::istringstream in(watch.Render(s, kT0 + 86'400'000'000));
  for (std::string line; std::getline(in, line);) EXPECT_LE(line.size(), kPageWidth) << line;
}

}  // namespace
}  // namespace sluice::cli

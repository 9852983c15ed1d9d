// What the node's alarm checks see of a target in Admin.Status: its lag over every stream,
// the age of its oldest unapplied record, and its trouble (down, diverged, detached,
// blocked), which the target_state check raises on and clears when it is gone.
#include "daemon/node_alarms.h"

#include <gtest/gtest.h>

namespace sluice::daemon {
namespace {

v1::ApplierStatus* AddApplier(v1::StatusResponse* s, const std::string& target,
                              const std::string& stream, const std::string& state, uint64_t lag,
                              int64_t age_us) {
  auto* a = s->add_appliers();
  a->set_target(target);
  a->set_stream(stream);
  a->set_state(state);
  a->set_lag_records(lag);
  a->set_oldest_unapplied_age_us(age_us);
  return a;
}

TEST(NodeAlarmsTest, TargetLagIsSummedOverStreamsAndAgeIsTheOldest) {
  v1::StatusResponse s;
  auto* t = s.add_targets();
  t->set_name("a");
  t->set_health("up");
  AddApplier(&s, "a", "model", "running", 3, 1'000)->set_lag_bytes(300);
  AddApplier(&s, "a", "samples", "running", 40, 9'000)->set_lag_bytes(4'000);
  AddApplier(&s, "b", "samples", "running", 1000, 99'000)->set_lag_bytes(1 << 20);  // another's
  alarm::TargetInputs in = NodeAlarms::TargetFromStatus(s, *t);
  EXPECT_EQ(in.name, "a");
  EXPECT_EQ(in.lag_records, 43u);
  EXPECT_EQ(in.lag_bytes, 300u + 4'000u);
  EXPECT_EQ(in.oldest_unapplied_age_us, 9'000);
  EXPECT_TRUE(in.trouble.empty()) << in.trouble;
  EXPECT_FALSE(in.open_errors.has_value());
}

TEST(NodeAlarmsTest, TroubleNamesEveryStateThatIsAnAlarm) {
  v1::StatusResponse s;
  auto* t = s.add_targets();
  t->set_name("a");
  t->set_health("down");
  t->set_health_detail("connection refused");
  AddApplier(&s, "a", "model", "running", 0, 0)->set_diverged(true);
  AddApplier(&s, "a", "samples", "needs resync", 0, 0)->set_last_error("retention passed it");
  AddApplier(&s, "a", "sql", "blocked", 1, 0)->set_last_error("duplicate key");
  AddApplier(&s, "a", "events", "disabled", 0, 0);
  alarm::TargetInputs in = NodeAlarms::TargetFromStatus(s, *t);
  EXPECT_EQ(
      in.trouble,
      "down: connection refused; diverged on stream 'model'; detached on stream 'samples' (needs a "
      "resync): retention passed it; blocked on stream 'sql': duplicate key");

  // Recovered: up, running, not diverged: no trouble, so the alarm clears.
  v1::StatusResponse ok;
  auto* u = ok.add_targets();
  u->set_name("a");
  u->set_health("up");
  AddApplier(&ok, "a", "model", "running", 0, 0);
  EXPECT_TRUE(NodeAlarms::TargetFromStatus(ok, *u).trouble.empty());
}

}  // namespace
}  // namespace sluice::daemon

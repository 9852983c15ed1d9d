// The priority gate on its own: who may start a batch while which passes are held. Each
// ordering is made deterministic by holding a pass until every waiter is registered
// (WaitHeld), never by sleeping.

#include "replicate/priority_gate.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::replicate {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kNow{0};
// Long enough never to pass on a loaded machine; a correct gate never waits for it.
constexpr milliseconds kLong = seconds(60);

TEST(PriorityGateTest, HigherWorkNeverWaitsForLower) {
  PriorityGate gate;
  PriorityGate::Pass samples, model;
  ASSERT_TRUE(gate.Enter(samples, 10, kNow));  // applying a batch
  EXPECT_TRUE(gate.Enter(model, 100, kNow));   // starts at once all the same
  EXPECT_EQ(gate.held(), 2u);
  EXPECT_EQ(gate.held_above(10), 1u);
  EXPECT_EQ(gate.held_above(100), 0u);
}

TEST(PriorityGateTest, LowerWaitsWhileHigherIsHeldAndStaysRegistered) {
  PriorityGate gate;
  PriorityGate::Pass model, events, samples;
  ASSERT_TRUE(gate.Enter(model, 100, kNow));
  EXPECT_FALSE(gate.Enter(events, 50, kNow));
  EXPECT_TRUE(events.held()) << "waiting to start counts as having work";
  EXPECT_FALSE(gate.Enter(samples, 10, kNow));
  model.Release();
  // Events' own registration still holds samples off; events itself may start now.
  EXPECT_FALSE(gate.Enter(samples, 10, kNow));
  EXPECT_TRUE(gate.Enter(events, 50, kNow));
  events.Release();
  EXPECT_TRUE(gate.Enter(samples, 10, kNow));
  samples.Release();
  EXPECT_EQ(gate.held(), 0u);
}

TEST(PriorityGateTest, EqualPrioritiesDoNotOrderEachOther) {
  PriorityGate gate;
  PriorityGate::Pass a, b;
  EXPECT_TRUE(gate.Enter(a, 40, kNow));
  EXPECT_TRUE(gate.Enter(b, 40, kNow));
}

TEST(PriorityGateTest, AHeldPassKeepsItsPriority) {
  PriorityGate gate;
  PriorityGate::Pass pass, other;
  ASSERT_TRUE(gate.Enter(pass, 100, kNow));
  // Entering again (the next batch of a backlog) does not register twice nor change it.
  ASSERT_TRUE(gate.Enter(pass, 1, kNow));
  EXPECT_EQ(pass.priority(), 100);
  EXPECT_EQ(gate.held(), 1u);
  EXPECT_FALSE(gate.Enter(other, 50, kNow));
  // Moving a pass moves the registration; releasing twice is harmless.
  PriorityGate::Pass moved = std::move(pass);
  EXPECT_FALSE(pass.held());
  EXPECT_TRUE(moved.held());
  EXPECT_EQ(gate.held(), 2u);
  moved.Release();
  moved.Release();
  EXPECT_EQ(gate.held(), 1u);
  EXPECT_TRUE(gate.Enter(other, 50, kNow));
}

TEST(PriorityGateTest, WaitersStartHighestFirstWhenTheWayOpens) {
  PriorityGate gate;
  PriorityGate::Pass blocker;
  ASSERT_TRUE(gate.Enter(blocker, 1000, kNow));
  std::mutex mu;
  std::vector<int> order;  // guarded by mu
  std::vector<std::thread> threads;
  // Started lowest first, so an order by arrival would be the wrong one.
  for (int priority : {10, 40, 50, 100}) {
    threads.emplace_back([&, priority] {
      PriorityGate::Pass pass;
      bool entered = gate.Enter(pass, priority, kLong);
      // The "batch": noted while the pass is held, so the next one cannot start before.
      std::lock_guard lk(mu);
      order.push_back(entered ? priority : -priority);
    });
  }
  ASSERT_TRUE(gate.WaitHeld(5, kLong));
  {
    std::lock_guard lk(mu);
    EXPECT_TRUE(order.empty()) << "a waiter started while a higher pass was held";
  }
  blocker.Release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{100, 50, 40, 10}));
  EXPECT_EQ(gate.held(), 0u);
}

TEST(PriorityGateTest, ALowerWaiterStartsOnlyAfterTheHigherBacklogIsDone) {
  // The applier's pattern: the higher stream enters once per batch and holds its pass
  // across batches while it has a backlog; the lower one waits for all of it.
  PriorityGate gate;
  PriorityGate::Pass model;
  ASSERT_TRUE(gate.Enter(model, 100, kNow));
  std::atomic<int> model_batches{0};
  std::atomic<int> seen_by_samples{-1};
  std::thread samples([&] {
    PriorityGate::Pass pass;
    if (gate.Enter(pass, 10, kLong)) seen_by_samples = model_batches.load();
  });
  ASSERT_TRUE(gate.WaitHeld(2, kLong));
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(gate.Enter(model, 100, kNow));
    model_batches++;
  }
  model.Release();
  samples.join();
  EXPECT_EQ(seen_by_samples.load(), 50);
}

TEST(PriorityGateTest, ManyThreadsNeverLoseAWakeUp) {
  PriorityGate gate;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        PriorityGate::Pass pass;
        if (!gate.Enter(pass, (t * 7 + i) % 5, kLong)) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(gate.held(), 0u);
}

}  // namespace
}  // namespace sluice::replicate

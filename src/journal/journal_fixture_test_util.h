#pragma once
// The fixtures of the Journal's own tests (journal_test.cc, journal_group_commit_test.cc,
// journal_fault_test.cc): a journal in a temporary directory, opened with small limits,
// and the same over a fault-injecting filesystem.

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/fault_injection_file_system.h"
#include "common/file_system.h"
#include "journal/format.h"
#include "journal/journal.h"
#include "journal/journal_test_util.h"

namespace sluice::journal::testing {

Epoch TestEpoch() {
  Epoch e{};
  for (size_t i = 0; i < e.size(); ++i) e[i] = static_cast<uint8_t>(i + 1);
  return e;
}

class JournalTest : public ::testing::Test {
 protected:
  JournalOptions Options(FileSystem* fs = FileSystem::Default()) const {
    JournalOptions o;
    o.fs = fs;
    o.dir = dir_;
    o.stream = "samples";
    o.epoch = TestEpoch();
    o.segment_bytes = 1 << 20;
    o.max_record_bytes = 64 << 10;
    return o;
  }

  // Opens the journal or fails the test (returns null).
  std::unique_ptr<Journal> Open(const JournalOptions& o) {
    auto j = Journal::Open(o);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j).value() : nullptr;
  }

  std::vector<Record> All(const Journal& j) {
    auto all = ReadAll(j);
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    return all.ok() ? *all : std::vector<Record>{};
  }

  // Checks that `j` holds exactly `expected` (payloads of LSN 1, 2, ...).
  void ExpectExactly(const Journal& j, const std::vector<std::string>& expected) {
    EXPECT_EQ(j.durable_lsn(), expected.size());
    EXPECT_EQ(j.last_assigned_lsn(), expected.size());
    auto all = All(j);
    ASSERT_EQ(all.size(), expected.size());
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].lsn, i + 1);
      EXPECT_EQ(all[i].payload, expected[i]) << "LSN " << i + 1;
    }
  }

  TempDir tmp_;
  std::string dir_ = tmp_.Sub("journal/samples");
};
class JournalFaultTest : public JournalTest {
 protected:
  FaultInjectionFileSystem fs_{FileSystem::Default()};
};

}  // namespace sluice::journal::testing

// The SyncWriter's answers, in one process on a fault-injection file system: a journal
// failure after the intent was queued is OUTCOME_UNKNOWN (the intent may be decided after
// a restart), outcome markers survive a power loss once the decision is answered whatever
// the ack mode, and GetOutcome answers by the caller's request id after a restart.

#include "sync/sync_writer.h"

#include <gtest/gtest.h>

#include <thread>

#include "admission/write_path_test_util.h"
#include "common/failpoint.h"

namespace sluice::sync {
namespace {

using std::chrono::milliseconds;

// The write path with the SyncWriter on the model stream, as the node wires it.
class WritePath : public admission::testing::WritePath {
 public:
  using admission::testing::WritePath::WritePath;
  ~WritePath() override { Close(); }
  SyncWriter& writer() { return *writer_; }

 protected:
  void OpenMore() override { writer_ = std::make_unique<SyncWriter>(&journals(), &admitter()); }
  void CloseMore() override { writer_.reset(); }

 private:
  std::unique_ptr<SyncWriter> writer_;
};

v1::SyncIntent Intent(const std::string& request_id, int64_t id = 1) {
  v1::SyncIntent i;
  i.set_kind(v1::SyncIntent::KIND_SQL);
  i.mutable_statement()->set_text("INSERT INTO point (point_id, name) VALUES ($1, 'x')");
  i.mutable_statement()->add_params()->set_int_value(id);
  i.set_request_id(request_id);
  return i;
}

// The outcome markers for `intent_lsn` that the journal holds.
int CountMarkers(WritePath& w, journal::Lsn intent_lsn, bool* applied = nullptr) {
  int n = 0;
  for (const auto& [lsn, r] : w.Records("model")) {
    if (r.has_outcome() && r.outcome().intent_lsn() == intent_lsn) {
      ++n;
      if (applied != nullptr) *applied = r.outcome().applied();
    }
  }
  return n;
}

class SyncWriterTest : public ::testing::Test {
 protected:
  void TearDown() override { failpoint::DisarmAll(); }
};

// The intent is queued, then its sync fails: not an error (the caller would think it
// failed and maybe do it again) but UNKNOWN with the LSN; after a restart the intent is
// in the journal, undecided, and a target would apply it.
TEST_F(SyncWriterTest, JournalFailureAfterQueueingIsOutcomeUnknownWithTheLsn) {
  WritePath w({"model"});
  ASSERT_NO_FATAL_FAILURE(w.Open());
  // One write first: it also reserves admission versions (a state file write that the
  // injected failure would refuse before anything is queued).
  ASSERT_TRUE(w.writer().Execute(Intent("req-6", 6), milliseconds(0), 0).ok());
  w.fs().FailSyncAfter(0, Status::IOError("injected fdatasync failure"));
  auto r = w.writer().Execute(Intent("req-7"), milliseconds(100), 0);
  ASSERT_TRUE(r.ok()) << "a definite failure for an intent that may be durable: "
                      << r.status().ToString();
  EXPECT_EQ(r->outcome(), v1::OUTCOME_UNKNOWN) << r->DebugString();
  EXPECT_EQ(r->request_id(), "req-7");
  ASSERT_GT(r->lsn(), 0u);
  const journal::Lsn lsn = r->lsn();

  w.Close();  // sluiced crashes; the written page reached the disk
  ASSERT_NO_FATAL_FAILURE(w.Open());
  auto o = w.writer().GetOutcome(lsn);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->outcome(), v1::OUTCOME_PENDING) << o->DebugString();
}

// ack = "written": a decision is answered only once its outcome marker is synced, so a
// power loss cannot take the marker away afterwards (a successor would then decide the
// intent again, maybe the other way). The marker's sync is made to fail, which holds
// the journal between write and sync for good: the power loss lands there.
TEST_F(SyncWriterTest, OutcomeMarkerIsDurableBeforeTheDecisionIsAnsweredInWrittenMode) {
  WritePath w({"model"}, journal::AckMode::kWritten);
  ASSERT_NO_FATAL_FAILURE(w.Open());
  auto r = w.writer().Execute(Intent("req-8"), milliseconds(0), 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const journal::Lsn lsn = r->lsn();
  ASSERT_TRUE(w.journals().stream("model")->Flush().ok());  // an applier sees only synced intents

  w.fs().FailSyncAfter(0, Status::IOError("injected fdatasync failure"));
  replicate::IntentDecision d;
  d.intent_lsn = lsn;
  d.applied = false;
  d.message = "UNIQUE constraint failed: point.point_id";
  d.target = "a";
  Status decided = w.writer().Decided(d);
  auto answered = w.writer().GetOutcome(lsn);
  ASSERT_TRUE(answered.ok());
  const bool told = decided.ok() || answered->outcome() == v1::OUTCOME_REJECTED;

  ASSERT_NO_FATAL_FAILURE(w.PowerLoss());
  ASSERT_NO_FATAL_FAILURE(w.Open());
  bool applied = true;
  const int markers = CountMarkers(w, lsn, &applied);
  if (told) {
    // The decider moves on and the caller hears REJECTED only with the marker on disk.
    EXPECT_EQ(markers, 1) << "the answered decision was lost to the power loss";
    EXPECT_FALSE(applied);
  }
  EXPECT_FALSE(told) << "the decision was answered though its marker's sync failed";
  auto after = w.writer().GetOutcome(lsn);
  ASSERT_TRUE(after.ok());
  if (told) {
    EXPECT_EQ(after->outcome(), v1::OUTCOME_REJECTED) << after->DebugString();
  }
}

// A caller cut off before it learnt the LSN asks by its request id, before and after a
// restart of sluiced; an id that never reached the journal is NOT_FOUND (nothing can
// apply it any more), and a malformed one is refused naming what is wrong.
TEST_F(SyncWriterTest, GetOutcomeByRequestIdAfterARestart) {
  WritePath w({"model"});
  ASSERT_NO_FATAL_FAILURE(w.Open());
  journal::Lsn lsn = 0;
  for (int i = 1; i <= 3; ++i) {
    auto r = w.writer().Execute(Intent(fmt::format("req-{}", i), i), milliseconds(0), 0);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->outcome(), v1::OUTCOME_UNKNOWN);
    if (i == 2) lsn = r->lsn();
  }
  auto pending = w.writer().GetOutcomeByRequestId("req-2");
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_EQ(pending->outcome(), v1::OUTCOME_PENDING);
  EXPECT_EQ(pending->lsn(), lsn);

  w.Close();
  ASSERT_NO_FATAL_FAILURE(w.Open());
  replicate::IntentDecision d;
  d.intent_lsn = lsn;
  d.applied = true;
  d.target = "a";
  d.result.rows_affected = 1;
  ASSERT_TRUE(w.writer().Decided(d).ok());
  w.Close();
  ASSERT_NO_FATAL_FAILURE(w.Open());

  auto o = w.writer().GetOutcomeByRequestId("req-2");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->outcome(), v1::OUTCOME_APPLIED) << o->DebugString();
  EXPECT_EQ(o->lsn(), lsn);
  EXPECT_EQ(o->request_id(), "req-2");
  EXPECT_EQ(o->rows_affected(), 1);
  auto other = w.writer().GetOutcomeByRequestId("req-3");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->lsn(), lsn + 1);

  auto missing = w.writer().GetOutcomeByRequestId("req-never-sent");
  EXPECT_EQ(missing.status().code(), Code::kNotFound) << missing.status().ToString();
  auto bad = w.writer().Execute(Intent(std::string("req\n1")), milliseconds(0), 0);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("control character (0x0a) at byte 3"), std::string::npos)
      << bad.status().ToString();
  auto too_long = w.writer().GetOutcomeByRequestId(std::string(129, 'x'));
  EXPECT_EQ(too_long.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::sync

// Ingest's answers after journal failures, in one process on a fault-injection file
// system: Hello never reports a sequence that is not durable (a client drops what Hello
// reports from its spool), and a journal failure after a request was queued is a
// retryable answer that keeps the sequence, never a definite failure.

#include "service/ingest_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "common/failpoint.h"
#include "service/service_test_util.h"

namespace sluice::service {
namespace {

using testing::WritePath;

constexpr int64_t kTs = 1'700'000'000'000'000;

v1::CommitRequest Request(uint64_t sequence) {
  v1::CommitRequest r;
  r.set_stream("events");
  r.set_client_id("scada-1");
  r.set_sequence(sequence);
  auto* e = r.add_records()->mutable_events()->add_events();
  e->set_ts_us(kTs + static_cast<int64_t>(sequence));
  e->set_kind("breaker_trip");
  e->set_text(fmt::format("commit {}", sequence));
  return r;
}

grpc::Status Commit(IngestService& s, uint64_t sequence, v1::CommitResponse* out) {
  grpc::ServerContext ctx;
  v1::CommitRequest req = Request(sequence);
  return s.Commit(&ctx, &req, out);
}

grpc::Status Hello(IngestService& s, v1::HelloResponse* out) {
  grpc::ServerContext ctx;
  v1::HelloRequest req;
  req.set_client_id("scada-1");
  return s.Hello(&ctx, &req, out);
}

// How many records of the journal carry the client's `sequence`.
int CountSequence(WritePath& w, uint64_t sequence) {
  int n = 0;
  for (const auto& [lsn, r] : w.Records("events")) {
    n += r.client().client_id() == "scada-1" && r.client().sequence() == sequence;
  }
  return n;
}

class IngestServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(w_.Open()); }
  void TearDown() override { failpoint::DisarmAll(); }
  WritePath w_{{"events"}};
};

// A sequence whose records are queued but not yet synced is not reported: Hello waits
// until they are durable.
TEST_F(IngestServiceTest, HelloAnswersOnlyDurableSequences) {
  v1::CommitResponse first;
  ASSERT_TRUE(Commit(w_.ingest(), 1, &first).ok());
  ASSERT_TRUE(failpoint::Arm("journal.after_write_before_sync", "1*sleep(1500)").ok());
  std::thread commit([&] {
    v1::CommitResponse r;
    grpc::Status s = Commit(w_.ingest(), 2, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
  });
  // Sequence 2 is admitted (queued) and its group is held before its sync.
  ASSERT_TRUE(testing::WaitUntil([&] { return w_.dedup().LastSequence("scada-1", "events") == 2; }));
  v1::HelloResponse hello;
  grpc::Status s = Hello(w_.ingest(), &hello);
  journal::Lsn durable = w_.journals().stream("events")->durable_lsn();
  commit.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  uint64_t reported = hello.last_sequence().at("events");
  // The records of every reported sequence were durable when Hello answered.
  EXPECT_EQ(reported, 2u);
  EXPECT_GE(durable, 2u) << "Hello reported sequence " << reported
                         << " while only LSN " << durable << " was durable";
}

// After a failed sync the journal cannot say what reached the disk: Hello refuses
// (retryable) instead of reporting the sequence, which a power loss then takes away.
TEST_F(IngestServiceTest, HelloRefusesWhileTheJournalFailedAndNothingReportedIsLost) {
  v1::CommitResponse r;
  ASSERT_TRUE(Commit(w_.ingest(), 1, &r).ok());
  w_.fs().FailSyncAfter(0, Status::IOError("injected fdatasync failure"));
  grpc::Status c = Commit(w_.ingest(), 2, &r);
  EXPECT_FALSE(c.ok());
  v1::HelloResponse hello;
  grpc::Status h = Hello(w_.ingest(), &hello);
  uint64_t reported = h.ok() ? hello.last_sequence().at("events") : 0;
  if (!h.ok()) {
    EXPECT_EQ(h.error_code(), grpc::StatusCode::UNAVAILABLE) << h.error_message();
    EXPECT_NE(h.error_message().find("journal of stream 'events' failed"), std::string::npos)
        << h.error_message();
  }
  ASSERT_NO_FATAL_FAILURE(w_.PowerLoss());
  ASSERT_NO_FATAL_FAILURE(w_.Open());
  // Whatever Hello reported is still there after the power loss.
  for (uint64_t seq = 1; seq <= reported; ++seq) {
    EXPECT_EQ(CountSequence(w_, seq), 1) << "sequence " << seq << " was reported by Hello";
  }
  EXPECT_FALSE(h.ok()) << "Hello answered sequence " << reported << " while the journal had failed";
}

// A sync failure after the records were queued: the answer is UNAVAILABLE (the client
// keeps the commit and resubmits the same sequence), and the resubmission after a restart
// lands the commit exactly once, whether the records reached the disk or not.
TEST_F(IngestServiceTest, JournalFailureAfterQueueingIsRetryableAndKeepsTheSequence) {
  for (bool power_loss : {false, true}) {
    SCOPED_TRACE(power_loss ? "power loss" : "process crash");
    ASSERT_NO_FATAL_FAILURE(w_.Reopen());
    // One commit first: it also reserves admission versions (a state file write that
    // the injected failure would refuse before anything is queued).
    v1::CommitResponse r;
    uint64_t seq = w_.dedup().LastSequence("scada-1", "events") + 1;
    ASSERT_TRUE(Commit(w_.ingest(), seq++, &r).ok());
    w_.fs().FailSyncAfter(0, Status::IOError("injected fdatasync failure"));
    grpc::Status s = Commit(w_.ingest(), seq, &r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE)
        << "a definite failure for a request that may be durable: " << s.error_message();
    EXPECT_NE(s.error_message().find(fmt::format("same sequence ({})", seq)), std::string::npos)
        << s.error_message();
    if (power_loss) {
      ASSERT_NO_FATAL_FAILURE(w_.PowerLoss());
    } else {
      w_.Close();
    }
    ASSERT_NO_FATAL_FAILURE(w_.Open());
    // The client resubmits the same sequence: admitted now, or refused as admitted before.
    grpc::Status again = Commit(w_.ingest(), seq, &r);
    if (!again.ok()) {
      EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << again.error_message();
      EXPECT_NE(again.error_message().find("admitted before"), std::string::npos)
          << again.error_message();
    }
    ASSERT_TRUE(w_.journals().stream("events")->Flush().ok());
    EXPECT_EQ(CountSequence(w_, seq), 1);
  }
}

}  // namespace
}  // namespace sluice::service

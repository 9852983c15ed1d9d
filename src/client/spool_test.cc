// The client's spool on its own (numbering, refusals, retention, restarts), and a client
// whose service cannot be reached. Tests with a real sluiced are in client_test.cc.

#include "client/spool.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sluice/client.h"
#include "support/net.h"
#include "support/temp_dir.h"

namespace sluice::client {
namespace {

namespace fs = std::filesystem;

using ::sluice::testing::TempDir;

// A loopback port nothing listens on (bound, then closed: connections are refused).
int DeadPort() {
  const int port = ::sluice::testing::FreePort();
  EXPECT_NE(port, 0) << "no free loopback port";
  return port;
}

v1::CommitRequest Request(const std::string& stream, uint64_t sequence, int64_t point) {
  v1::CommitRequest r;
  r.set_stream(stream);
  r.set_client_id("c1");
  r.set_sequence(sequence);
  auto* s = r.add_records()->mutable_samples();
  s->set_interval(v1::SAMPLE_INTERVAL_1MIN);
  s->add_point_id(point);
  s->add_ts_us(1'700'000'000'000'000);
  s->add_value(1.5);
  s->add_quality(0);
  return r;
}

std::unique_ptr<Spool> OpenSpool(const std::string& dir, uint64_t segment_bytes = 16ull << 20) {
  SpoolOptions o;
  o.dir = dir;
  o.segment_bytes = segment_bytes;
  auto s = Spool::Open(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::vector<uint64_t> Sequences(const std::vector<PendingEntry>& entries) {
  std::vector<uint64_t> out;
  for (const auto& e : entries) out.push_back(e.sequence);
  return out;
}

TEST(SpoolTest, NumberedEntriesSurviveReopenInOrder) {
  TempDir dir;
  {
    auto spool = OpenSpool(dir.path());
    for (uint64_t seq = 7; seq <= 11; ++seq) {
      auto lsn = spool->Append(Request("samples", seq, static_cast<int64_t>(seq)));
      ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
      EXPECT_EQ(*lsn, seq - 6);
    }
  }
  auto spool = OpenSpool(dir.path());
  EXPECT_EQ(spool->streams(), std::vector<std::string>{"samples"});
  auto pending = spool->Pending("samples");
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_EQ(Sequences(*pending), (std::vector<uint64_t>{7, 8, 9, 10, 11}));

  auto read = spool->Read("samples", 3, 10);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[0].lsn, 3u);
  EXPECT_EQ((*read)[0].request.sequence(), 9u);
  EXPECT_EQ((*read)[2].request.records(0).samples().point_id(0), 11);
}

TEST(SpoolTest, DeliveredEntriesAreNotPendingAfterReopen) {
  TempDir dir;
  {
    auto spool = OpenSpool(dir.path());
    for (uint64_t seq = 1; seq <= 4; ++seq) ASSERT_TRUE(spool->Append(Request("sql", seq, 1)).ok());
    ASSERT_TRUE(spool->MarkDelivered("sql", 2).ok());
    ASSERT_TRUE(spool->Flush().ok());
  }
  auto spool = OpenSpool(dir.path());
  auto pending = spool->Pending("sql");
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(Sequences(*pending), (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(pending->front().lsn, 3u);
}

TEST(SpoolTest, AnchorNumbersUnnumberedEntriesEvenPartlyDelivered) {
  TempDir dir;
  {
    auto spool = OpenSpool(dir.path());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(spool->Append(Request("events", 0, i)).ok());
    auto pending = spool->Pending("events");
    ASSERT_TRUE(pending.ok());
    EXPECT_EQ(Sequences(*pending), (std::vector<uint64_t>{0, 0, 0, 0, 0}));
    // The service said its last sequence is 41: the entries become 42..46.
    ASSERT_TRUE(spool->AppendAnchor("events", 1, 42).ok());
    // Numbered commits appended after the anchor keep their own numbers.
    ASSERT_TRUE(spool->Append(Request("events", 47, 5)).ok());
    pending = spool->Pending("events");
    ASSERT_TRUE(pending.ok());
    EXPECT_EQ(Sequences(*pending), (std::vector<uint64_t>{42, 43, 44, 45, 46, 47}));
    ASSERT_TRUE(spool->MarkDelivered("events", 2).ok());
    ASSERT_TRUE(spool->Flush().ok());
  }
  auto spool = OpenSpool(dir.path());
  auto pending = spool->Pending("events");
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_EQ(Sequences(*pending), (std::vector<uint64_t>{44, 45, 46, 47}));
  // Read skips the anchor record.
  auto read = spool->Read("events", 5, 10);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].lsn, 5u);
  EXPECT_EQ((*read)[1].lsn, 7u);
  EXPECT_EQ((*read)[1].request.sequence(), 47u);
}

TEST(SpoolTest, RejectMovesLaterEntriesDownAndKeepsACopy) {
  TempDir dir;
  {
    auto spool = OpenSpool(dir.path());
    for (uint64_t seq = 5; seq <= 9; ++seq) ASSERT_TRUE(spool->Append(Request("sql", seq, 1)).ok());
    auto read = spool->Read("sql", 2, 1);  // sequence 6
    ASSERT_TRUE(read.ok());
    ASSERT_EQ(read->size(), 1u);
    ASSERT_TRUE(spool->AppendReject("sql", read->front(), 6, "invalid argument: bad").ok());
    ASSERT_TRUE(spool->MarkDelivered("sql", 2).ok());  // 5 delivered, 6 refused
    // A commit spooled after the refusal already has the corrected number.
    ASSERT_TRUE(spool->Append(Request("sql", 9, 1)).ok());
    ASSERT_TRUE(spool->Flush().ok());
  }
  auto spool = OpenSpool(dir.path());
  auto pending = spool->Pending("sql");
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_EQ(Sequences(*pending), (std::vector<uint64_t>{6, 7, 8, 9}));
  const fs::path rejected = fs::path(dir.path()) / "rejected";
  EXPECT_TRUE(fs::exists(rejected / "sql.00000000000000000002.pb"));
  EXPECT_TRUE(fs::exists(rejected / "sql.00000000000000000002.txt"));
}

TEST(SpoolTest, NewStreamReopensTheSetWithoutLosingOthers) {
  TempDir dir;
  auto spool = OpenSpool(dir.path());
  ASSERT_TRUE(spool->Append(Request("a", 1, 1)).ok());
  auto first = spool->Read("a", 1, 1);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(spool->Append(Request("b", 1, 2)).ok());
  ASSERT_TRUE(spool->Append(Request("a", 2, 3)).ok());
  EXPECT_EQ(spool->streams(), (std::vector<std::string>{"a", "b"}));
  // The reader of "a" continues across the reopen.
  auto next = spool->Read("a", 2, 5);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(next->front().request.sequence(), 2u);
  EXPECT_EQ(spool->last_lsn("b"), 1u);
  EXPECT_EQ(spool->last_lsn("nope"), 0u);
}

TEST(SpoolTest, RetentionDeletesDeliveredSegments) {
  TempDir dir;
  auto spool = OpenSpool(dir.path(), /*segment_bytes=*/4096);
  for (uint64_t seq = 1; seq <= 200; ++seq) ASSERT_TRUE(spool->Append(Request("s", seq, 1)).ok());
  auto count_segments = [&] {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(fs::path(dir.path()) / "journal" / "s")) {
      n += e.path().extension() == ".seg";
    }
    return n;
  };
  const size_t before = count_segments();
  ASSERT_GT(before, 3u);
  ASSERT_TRUE(spool->MarkDelivered("s", 200).ok());
  ASSERT_TRUE(spool->Flush().ok());
  EXPECT_EQ(count_segments(), 1u);  // the live segment stays
  auto pending = spool->Pending("s");
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

TEST(SpoolTest, RefusesStreamNamesThatCannotBeDirectories) {
  TempDir dir;
  auto spool = OpenSpool(dir.path());
  for (const std::string& bad : std::vector<std::string>{"", "..", "a/b", std::string(65, 'x')}) {
    auto r = spool->Append(Request(bad, 1, 1));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
}

// ------------------------------------------------------------ a client with no service

ClientOptions AwayOptions(const std::string& spool_dir) {
  ClientOptions o;
  o.addresses = {fmt::format("127.0.0.1:{}", DeadPort()), fmt::format("127.0.0.1:{}", DeadPort())};
  o.spool_dir = spool_dir;
  o.connect_timeout = std::chrono::milliseconds(300);
  o.resubmit_interval = std::chrono::milliseconds(50);
  return o;
}

v1::SampleBatch Batch(int64_t point, int rows) {
  v1::SampleBatch b;
  b.set_interval(v1::SAMPLE_INTERVAL_1S);
  for (int i = 0; i < rows; ++i) {
    b.add_point_id(point);
    b.add_ts_us(1'700'000'000'000'000 + i);
    b.add_value(i);
    b.add_quality(0);
  }
  return b;
}

TEST(ClientAwayTest, SpoolsUnnumberedAndRecoversAfterRestart) {
  TempDir dir;
  std::string id;
  {
    auto c = Client::Open(AwayOptions(dir.path()));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    id = (*c)->client_id();
    EXPECT_EQ(id.size(), 32u);
    for (int i = 0; i < 3; ++i) {
      auto r = (*c)->CommitSamples("samples", Batch(i, 10));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->state, CommitState::kSpooled);
      EXPECT_EQ(r->sequence, 0u);  // the service was never reached: not numbered yet
    }
    // The resubmitter tries in the background and says why it cannot deliver.
    std::vector<StreamSpoolStatus> status;
    for (int i = 0; i < 200; ++i) {
      status = (*c)->SpoolStatus();
      if (status.size() == 1 && !status[0].last_error.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(status.size(), 1u);
    EXPECT_EQ(status[0].pending, 3u);
    EXPECT_EQ(status[0].next_sequence, 0u);
    EXPECT_NE(status[0].last_error.find("no address of the service answered"), std::string::npos)
        << status[0].last_error;
    auto drained = (*c)->WaitForSpoolDrained(std::chrono::milliseconds(100));
    EXPECT_EQ(drained.code(), Code::kDeadlineExceeded);
    EXPECT_NE(drained.message().find("'samples': 3 pending"), std::string::npos)
        << drained.message();

    // One process per spool.
    auto second = Client::Open(AwayOptions(dir.path()));
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), Code::kFailedPrecondition) << second.status().ToString();
  }
  auto c = Client::Open(AwayOptions(dir.path()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->client_id(), id);  // kept in SPOOL_DIR/client_id
  auto status = (*c)->SpoolStatus();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].pending, 3u);
  auto r = (*c)->CommitSamples("samples", Batch(9, 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, CommitState::kSpooled);
}

// Refused connections fail at once: the connect timeout is for addresses that do not
// answer at all, not for those that say no.
TEST(ClientAwayTest, RefusedAddressesDoNotCostTheConnectTimeout) {
  TempDir dir;
  auto o = AwayOptions(dir.path());
  o.connect_timeout = std::chrono::milliseconds(5000);
  auto c = Client::Open(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto start = std::chrono::steady_clock::now();
  auto r = (*c)->CommitSamples("samples", Batch(1, 1));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, CommitState::kSpooled);
  EXPECT_LT(took, std::chrono::milliseconds(2500));
}

TEST(ClientAwayTest, ClientIdCannotChangeWhileCommitsArePending) {
  TempDir dir;
  {
    auto o = AwayOptions(dir.path());
    o.client_id = "first";
    auto c = Client::Open(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE((*c)->CommitSamples("samples", Batch(1, 1)).ok());
  }
  auto o = AwayOptions(dir.path());
  o.client_id = "second";
  auto c = Client::Open(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("'first'"), std::string::npos) << c.status().message();
}

TEST(ClientAwayTest, WithoutSpoolCommitsFailUnavailable) {
  auto o = AwayOptions("");
  auto c = Client::Open(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = (*c)->CommitSamples("samples", Batch(1, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("cannot connect"), std::string::npos) << r.status().message();

  v1::ExecuteRequest req;
  req.mutable_statement()->set_text("SELECT 1");
  req.set_read_only(true);
  auto e = (*c)->Execute(req);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::kUnavailable);
}

TEST(ClientAwayTest, RefusesBadCommitsAndOptions) {
  TempDir dir;
  auto c = Client::Open(AwayOptions(dir.path()));
  ASSERT_TRUE(c.ok());
  auto empty = (*c)->Commit("samples", {});
  EXPECT_EQ(empty.status().code(), Code::kInvalidArgument);
  auto bad_stream = (*c)->CommitSamples("no/such", Batch(1, 1));
  EXPECT_EQ(bad_stream.status().code(), Code::kInvalidArgument) << bad_stream.status().ToString();

  ClientOptions none;
  EXPECT_EQ(Client::Open(none).status().code(), Code::kInvalidArgument);
}

TEST(ClientAwayTest, CommitLargerThanAMessageIsRefusedNotSpooled) {
  TempDir dir;
  auto o = AwayOptions(dir.path());
  o.max_message_bytes = 4096;
  auto c = Client::Open(o);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->CommitSamples("samples", Batch(1, 1000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("4096"), std::string::npos) << r.status().message();
  EXPECT_TRUE((*c)->SpoolStatus().empty());
}

// The size check bounds a sample batch cheaply (every value at its longest encoding) and
// measures it exactly only near the limit: a batch whose bound is above the limit but
// whose real size is below it must still be accepted.
TEST(ClientAwayTest, CommitNearTheLimitIsMeasuredExactly) {
  TempDir dir;
  auto o = AwayOptions(dir.path());
  o.max_message_bytes = 4096;
  auto c = Client::Open(o);
  ASSERT_TRUE(c.ok());
  // 150 rows: about 18 bytes each (2,700 in all), bounded at 33 (4,950).
  v1::SampleBatch batch = Batch(1, 150);
  v1::CommitRequest probe;
  *probe.add_records()->mutable_samples() = batch;
  ASSERT_LT(probe.ByteSizeLong() + 64, 4096u);
  ASSERT_GT(150u * 33, 4096u);
  auto r = (*c)->CommitSamples("samples", std::move(batch));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, CommitState::kSpooled);
}

}  // namespace
}  // namespace sluice::client

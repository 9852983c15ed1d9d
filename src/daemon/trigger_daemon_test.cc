// Triggered samples in a real sluiced with SQLite targets (primaries a and b, replica dr):
// trigger types put, listed and deleted through the Sampling service; triggers with named
// values, positional values and only the leading columns land in burst_sample of every
// target exactly as the test computes them; every refusal (unknown type, too many values,
// a value of the wrong kind, a gap, named and positional values together, a token without
// the role) is a clear gRPC error naming the type or the column, and journals nothing.

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "daemon/trigger_test_util.h"
#include "sluice/client.h"
#include "support/daemon.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif

namespace sluice::testing {
namespace {

using std::chrono::seconds;

constexpr const char* kTargets[] = {"a", "b", "dr"};
// A token for the catalog's writes, also ingest and read for the client library's calls
// (the harness's tokens are ingest, and admin + read).
constexpr char kSqlToken[] = "sql-token-0123456789abcdef";

class TriggerDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonConfig config;
    config.extra = fmt::format("\n[[auth.token]]\nname = \"modeller\"\ntoken = \"{}\"\nroles = [\"sql\", \"ingest\", \"read\"]\n",
                               kSqlToken);
    daemon_ = std::make_unique<Daemon>(dir_, config);
    ASSERT_NO_FATAL_FAILURE(daemon_->Start());
    sampling_ = v1::Sampling::NewStub(daemon_->channel());
  }

  v1::ExecuteResponse PutTypes(const std::vector<v1::CatalogTriggerType>& types) {
    v1::PutTriggerTypesRequest req;
    for (const auto& t : types) *req.add_types() = t;
    v1::ExecuteResponse resp;
    grpc::Status s = sampling_->PutTriggerTypes(daemon_->Context(kSqlToken).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  grpc::Status Trigger(const v1::TriggerRequest& req, v1::CommitResponse* resp,
                       const char* token = kIngestToken) {
    return sampling_->Trigger(daemon_->Context(token).get(), req, resp);
  }

  v1::ListTriggerTypesResponse List() {
    v1::ListTriggerTypesResponse resp;
    grpc::Status s = sampling_->ListTriggerTypes(daemon_->Context(kAdminToken).get(),
                                                 v1::ListTriggerTypesRequest(), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // Sends `req`, expects `code` with every one of `parts` in the message, and that no
  // stream's journal grew.
  void ExpectRefused(const v1::TriggerRequest& req, grpc::StatusCode code,
                     std::initializer_list<std::string_view> parts, const char* token = kIngestToken) {
    const auto before = daemon_->Heads();
    v1::CommitResponse resp;
    grpc::Status s = Trigger(req, &resp, token);
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    for (auto part : parts) {
      EXPECT_NE(s.error_message().find(part), std::string::npos)
          << s.error_message() << "\nlacks: " << part;
    }
    EXPECT_EQ(daemon_->Heads(), before) << "a refused trigger journaled something: " << s.error_message();
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<v1::Sampling::Stub> sampling_;
};

TEST_F(TriggerDaemonTest, TriggersLandInEveryTargetAsComputedAndRefusalsJournalNothing) {
  const auto fault = MakeTriggerType(3, "breaker fault", {"breaker", "phase", "count"},
                                     {"current_ka", "duration_ms"}, {"relay", "text"});
  std::vector<std::string> ints, floats, strings;
  for (int i = 1; i <= kBurstColumns; ++i) {
    ints.push_back(fmt::format("counter_{}", i));
    floats.push_back(fmt::format("reading_{}", i));
    strings.push_back(fmt::format("label_{}", i));
  }
  const auto full = MakeTriggerType(21, "protection event", ints, floats, strings);
  const auto put = PutTypes({fault, full});
  ASSERT_EQ(put.outcome(), v1::OUTCOME_APPLIED) << put.DebugString();

  // Listed right after, by id, as put.
  const auto listed = List();
  ASSERT_EQ(listed.types_size(), 2);
  EXPECT_EQ(listed.types(0).SerializeAsString(), fault.SerializeAsString()) << listed.DebugString();
  EXPECT_EQ(listed.types(1).SerializeAsString(), full.SerializeAsString());

  const int64_t t0 = (NowMicros() - 3'600'000'000) / 1'000'000 * 1'000'000;
  std::vector<ExpectedTriggerRow> expected;
  std::vector<uint64_t> lsns;
  auto send = [&](v1::TriggerRequest req, ExpectedTriggerRow want) {
    v1::CommitResponse resp;
    grpc::Status s = Trigger(req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.lsns_size(), 1);
    lsns.push_back(resp.lsns(0));
    expected.push_back(std::move(want));
  };

  // Named, every column, the type by name; an int given for a float column.
  {
    const NamedValues v = {{"text", std::string("trip, 'quoted' 跳闸")}, {"breaker", int64_t{4001}},
                           {"phase", int64_t{-2}}, {"count", (int64_t{1} << 40) + 3},
                           {"current_ka", 12.5}, {"duration_ms", int64_t{80}},
                           {"relay", std::string("R7")}};
    auto req = NamedRequest(t0, v);
    req.set_type_name(fault.name());
    ASSERT_NO_FATAL_FAILURE(send(req, ExpectNamed(fault, t0, v)));
  }
  // Positional, the type by id.
  {
    const std::vector<int64_t> pi = {4002, 1, 3};
    const std::vector<double> pf = {0.125, -7.75};
    const std::vector<std::string> ps = {"R8", "auto-reclose failed"};
    v1::TriggerRequest req;
    req.set_type_id(fault.id());
    req.set_occur_time_us(t0 + 1);
    for (auto i : pi) req.add_ints(i);
    for (auto f : pf) req.add_floats(f);
    for (const auto& s : ps) req.add_strings(s);
    ASSERT_NO_FATAL_FAILURE(send(req, ExpectPositional(fault.id(), t0 + 1, pi, pf, ps)));
  }
  // Only the leading columns, named and positional: the rest NULL.
  {
    const NamedValues v = {{"breaker", int64_t{4003}}, {"relay", std::string("R9")}};
    auto req = NamedRequest(t0 + 2, v);
    req.set_type_id(fault.id());
    ASSERT_NO_FATAL_FAILURE(send(req, ExpectNamed(fault, t0 + 2, v)));
    v1::TriggerRequest pos;
    pos.set_type_id(fault.id());
    pos.set_occur_time_us(t0 + 3);
    pos.add_floats(99.5);
    ASSERT_NO_FATAL_FAILURE(send(pos, ExpectPositional(fault.id(), t0 + 3, {}, {99.5}, {})));
  }
  // The full type, all 150 columns.
  {
    NamedValues v;
    for (int i = 0; i < kBurstColumns; ++i) {
      v.emplace_back(ints[i], int64_t{(i % 2 ? -1 : 1) * ((int64_t{1} << 33) + i)});
      v.emplace_back(floats[i], i * 0.5 - 7.25);
      v.emplace_back(strings[i], fmt::format("标签 {}", i));
    }
    auto req = NamedRequest(t0 + 4, v);
    req.set_type_name(full.name());
    ASSERT_NO_FATAL_FAILURE(send(req, ExpectNamed(full, t0 + 4, v)));
  }
  // No time: the service's clock.
  int64_t now_row_time = 0;
  {
    const int64_t before = NowMicros();
    v1::TriggerRequest req;
    req.set_type_id(fault.id());
    req.add_ints(1);
    v1::CommitResponse resp;
    grpc::Status s = Trigger(req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    const int64_t after = NowMicros();
    daemon_->WaitCaughtUp();
    auto t = QueryRows(daemon_->db("a"), "SELECT occur_time FROM burst_sample WHERE int_1 = 1");
    ASSERT_TRUE(t.ok() && t->size() == 1u);
    now_row_time = std::stoll((*t)[0][0]);
    EXPECT_GE(now_row_time, before);
    EXPECT_LE(now_row_time, after);
    expected.push_back(ExpectPositional(fault.id(), now_row_time, {1}, {}, {}));
    lsns.push_back(resp.lsns(0));
  }
  // A client tag: de-duplicated as a commit on the same stream.
  {
    v1::TriggerRequest req;
    req.set_type_id(fault.id());
    req.set_occur_time_us(t0 + 5);
    req.add_ints(4005);
    req.mutable_client()->set_client_id("relay-gateway");
    req.mutable_client()->set_sequence(1);
    v1::CommitResponse resp;
    ASSERT_TRUE(Trigger(req, &resp).ok());
    EXPECT_EQ(resp.sequence(), 1u);
    lsns.push_back(resp.lsns(0));
    expected.push_back(ExpectPositional(fault.id(), t0 + 5, {4005}, {}, {}));
    ExpectRefused(req, grpc::StatusCode::FAILED_PRECONDITION, {"expected sequence 2"});
  }
  for (size_t i = 1; i < lsns.size(); ++i) EXPECT_GT(lsns[i], lsns[i - 1]);

  // Refusals: each names what was wrong, none journals anything.
  v1::TriggerRequest req;
  req.set_type_id(99);
  ExpectRefused(req, grpc::StatusCode::NOT_FOUND,
                {"Sampling.Trigger", "no trigger type 99", "3 'breaker fault', 21 'protection event'"});
  req.set_type_name("breaker trip");
  ExpectRefused(req, grpc::StatusCode::NOT_FOUND, {"no trigger type named 'breaker trip'"});
  req.clear_type_name();
  ExpectRefused(req, grpc::StatusCode::INVALID_ARGUMENT, {"no trigger type given"});

  req.set_type_id(fault.id());
  req.set_occur_time_us(t0 + 10);
  for (int64_t i : {1, 2, 3, 4}) req.add_ints(i);
  ExpectRefused(req, grpc::StatusCode::INVALID_ARGUMENT,
                {"trigger type 'breaker fault' (id 3) has 3 int columns", "4 int values given"});
  req.clear_ints();
  req = NamedRequest(t0 + 10, {{"breaker", std::string("B1")}});
  req.set_type_id(fault.id());
  ExpectRefused(req, grpc::StatusCode::INVALID_ARGUMENT,
                {"int column 'breaker' (int_1) is an int column", "'B1' is a string"});
  req = NamedRequest(t0 + 10, {{"current_ka", 1.5}, {"count", int64_t{3}}});
  req.set_type_id(fault.id());
  ExpectRefused(req, grpc::StatusCode::INVALID_ARGUMENT,
                {"int column 'count' (int_3) is given but 'breaker' (int_1), 'phase' (int_2) are not"});
  req = NamedRequest(t0 + 10, {{"breaker", int64_t{1}}});
  req.set_type_id(fault.id());
  req.add_strings("R1");
  ExpectRefused(req, grpc::StatusCode::INVALID_ARGUMENT,
                {"trigger type 'breaker fault' (id 3)", "either named (1 in `values`)",
                 "by position (1 in", "not both"});
  req = NamedRequest(t0 + 10, {{"breakr", int64_t{1}}});
  req.set_type_id(fault.id());
  ExpectRefused(req, grpc::StatusCode::INVALID_ARGUMENT, {"has no column 'breakr'", "breaker"});
  req = NamedRequest(t0 + 10, {{"breaker", int64_t{1}}});
  req.mutable_values(0)->clear_int_value();
  req.set_type_id(fault.id());
  ExpectRefused(req, grpc::StatusCode::INVALID_ARGUMENT, {"values[0] (column 'breaker') has no value"});
  req = NamedRequest(946'684'800'000'000 - 1, {{"breaker", int64_t{1}}});  // before 2000
  req.set_type_id(fault.id());
  ExpectRefused(req, grpc::StatusCode::INVALID_ARGUMENT, {"occur_time_us", "outside the admitted window"});
  req = NamedRequest(t0 + 10, {{"breaker", int64_t{1}}});
  req.set_type_id(fault.id());
  req.mutable_client()->set_sequence(7);
  ExpectRefused(req, grpc::StatusCode::INVALID_ARGUMENT, {"client.sequence 7", "client_id"});
  // Roles: a trigger is "ingest", a type write "sql", a list "read".
  req.clear_client();
  ExpectRefused(req, grpc::StatusCode::PERMISSION_DENIED, {}, kAdminToken);
  {
    v1::PutTriggerTypesRequest put_req;
    *put_req.add_types() = fault;
    v1::ExecuteResponse resp;
    EXPECT_EQ(sampling_->PutTriggerTypes(daemon_->Context(kIngestToken).get(), put_req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    v1::ListTriggerTypesResponse list;
    EXPECT_EQ(sampling_->ListTriggerTypes(daemon_->Context(kIngestToken).get(),
                                          v1::ListTriggerTypesRequest(), &list)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // Every target holds exactly the rows sent, column for column.
  std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
    return std::pair(a.occur_time_us, a.type) < std::pair(b.occur_time_us, b.type);
  });
  daemon_->WaitCaughtUp();
  const QueryOptions o;
  for (const char* t : kTargets) {
    SCOPED_TRACE(t);
    auto rows = QueryRows(daemon_->db(t), SelectBurstRows(), o);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ExpectBurstRows(*rows, expected, o.null_text);
    auto types = QueryRows(daemon_->db(t),
                           "SELECT trigger_type, name, int_count, float_count, string_count, "
                           "int_columns FROM burst_type ORDER BY trigger_type");
    ASSERT_TRUE(types.ok());
    EXPECT_EQ(*types, (std::vector<std::vector<std::string>>{
                          {"3", "breaker fault", "3", "2", "2", "breaker,phase,count"},
                          {"21", "protection event", "50", "50", "50", fmt::format("{}", fmt::join(ints, ","))}}));
  }
}

TEST_F(TriggerDaemonTest, DeletedTypeIsGoneFromTheCatalogAndTheTargets) {
  const auto a = MakeTriggerType(1, "trip", {"breaker"}, {}, {});
  const auto b = MakeTriggerType(2, "alarm", {}, {"value"}, {"text"});
  ASSERT_EQ(PutTypes({a, b}).outcome(), v1::OUTCOME_APPLIED);
  ASSERT_EQ(List().types_size(), 2);

  v1::DeleteTriggerTypesRequest del;
  del.add_type_ids(1);
  v1::ExecuteResponse resp;
  ASSERT_TRUE(sampling_->DeleteTriggerTypes(daemon_->Context(kSqlToken).get(), del, &resp).ok());
  ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();
  const auto listed = List();
  ASSERT_EQ(listed.types_size(), 1);
  EXPECT_EQ(listed.types(0).SerializeAsString(), b.SerializeAsString());

  // Deleting it again: refused by the catalog's check, naming it, journaling nothing.
  const auto before = daemon_->Heads();
  grpc::Status s = sampling_->DeleteTriggerTypes(daemon_->Context(kSqlToken).get(), del, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("trigger type 1 is not in the catalog"), std::string::npos)
      << s.error_message();
  EXPECT_EQ(daemon_->Heads(), before);
  v1::DeleteTriggerTypesRequest none;
  s = sampling_->DeleteTriggerTypes(daemon_->Context(kSqlToken).get(), none, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("no trigger type id given"), std::string::npos);

  // A trigger of the deleted type is refused; of the other one it lands.
  v1::TriggerRequest req;
  req.set_type_name("trip");
  req.add_ints(1);
  ExpectRefused(req, grpc::StatusCode::NOT_FOUND, {"no trigger type named 'trip'", "2 'alarm'"});
  v1::TriggerRequest ok_req;
  ok_req.set_type_name("alarm");
  ok_req.add_floats(2.5);
  v1::CommitResponse commit;
  ASSERT_TRUE(Trigger(ok_req, &commit).ok());

  daemon_->WaitCaughtUp();
  for (const char* t : kTargets) {
    auto rows = QueryRows(daemon_->db(t), "SELECT trigger_type, name FROM burst_type");
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(*rows, (std::vector<std::vector<std::string>>{{"2", "alarm"}})) << t;
    EXPECT_EQ(CountRows(daemon_->db(t), "burst_sample", "trigger_type = 2 AND float_1 = 2.5"), 1) << t;
  }
}

// The client library's calls: the same service, its errors as sluice::Status.
TEST_F(TriggerDaemonTest, ClientLibraryPutsListsTriggersAndDeletes) {
  client::ClientOptions options;
  options.addresses = {daemon_->address()};
  options.token = kSqlToken;
  auto opened = client::Client::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& lib = **opened;

  const auto level = MakeTriggerType(5, "level alarm", {"gate"}, {"level_m"}, {"station"});
  v1::PutTriggerTypesRequest put;
  *put.add_types() = level;
  auto put_resp = lib.PutTriggerTypes(put);
  ASSERT_TRUE(put_resp.ok()) << put_resp.status().ToString();
  ASSERT_EQ(put_resp->outcome(), v1::OUTCOME_APPLIED) << put_resp->DebugString();
  EXPECT_FALSE(put_resp->request_id().empty());
  auto listed = lib.ListTriggerTypes();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->types_size(), 1);
  EXPECT_EQ(listed->types(0).SerializeAsString(), level.SerializeAsString());

  const int64_t t0 = (NowMicros() - 60'000'000) / 1'000'000 * 1'000'000;
  const NamedValues v = {{"gate", int64_t{2}}, {"level_m", 12.75}, {"station", std::string("60105400")}};
  auto req = NamedRequest(t0, v);
  req.set_type_name(level.name());
  req.mutable_client()->set_client_id("gauge-reader");
  req.mutable_client()->set_sequence(1);
  auto first = lib.Trigger(req);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->lsns_size(), 1);
  EXPECT_EQ(first->sequence(), 1u);
  // The same sequence again: the service says it has it (nothing journaled twice).
  auto again = lib.Trigger(req);
  EXPECT_EQ(again.status().code(), Code::kFailedPrecondition) << again.status().ToString();
  v1::TriggerRequest unknown = req;
  unknown.set_type_name("gate open");
  unknown.clear_client();
  auto refused = lib.Trigger(unknown);
  EXPECT_EQ(refused.status().code(), Code::kNotFound) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("no trigger type named 'gate open'"), std::string::npos);

  daemon_->WaitCaughtUp();
  const QueryOptions o;
  for (const char* t : kTargets) {
    auto rows = QueryRows(daemon_->db(t), SelectBurstRows(), o);
    ASSERT_TRUE(rows.ok());
    SCOPED_TRACE(t);
    ExpectBurstRows(*rows, {ExpectNamed(level, t0, v)}, o.null_text);
  }

  v1::DeleteTriggerTypesRequest del;
  del.add_type_ids(level.id());
  auto del_resp = lib.DeleteTriggerTypes(del);
  ASSERT_TRUE(del_resp.ok()) << del_resp.status().ToString();
  EXPECT_EQ(del_resp->outcome(), v1::OUTCOME_APPLIED);
  auto after = lib.ListTriggerTypes();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->types_size(), 0);
}

}  // namespace
}  // namespace sluice::testing

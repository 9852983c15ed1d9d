// Recall windows in a real sluiced with SQLite targets: a definition written through the
// Sampling service, values fed through UpdatePoints while a trigger's window passes, and
// recall_sample in every target holding exactly the window's ticks of every point (the
// values the test fed), the same everywhere; a limit crossing starting an event of its
// own at a tick; errors naming what was wrong; and `sluice recall` define, list, trigger
// and remove.

#include <atomic>
#include <cmath>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/daemon.h"

#ifndef SLUICED_PATH
#error "SLUICED_PATH must name the sluiced binary"
#endif
#ifndef SLUICE_CLI_PATH
#error "SLUICE_CLI_PATH must name the sluice binary"
#endif

namespace sluice::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kTargets[] = {"a", "b", "dr"};
constexpr int64_t kMs = 1000;
constexpr int64_t kS = 1'000'000;

int64_t FloorTo(int64_t t, int64_t p) { return t / p * p; }

// "2026-12-06T12:00:05.250Z" (µs since 1970, milliseconds kept).
std::string IsoMillis(int64_t us) {
  const std::time_t secs = static_cast<std::time_t>(us / kS);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, us % kS / kMs);
}
int64_t CeilTo(int64_t t, int64_t p) { return (t + p - 1) / p * p; }

// The ticks of an event's window: multiples of the period in [event - before, event + after].
std::vector<int64_t> WindowTicks(int64_t event_ts, int64_t period, int64_t before, int64_t after) {
  std::vector<int64_t> out;
  for (int64_t t = CeilTo(event_ts - before, period); t <= event_ts + after; t += period)
    out.push_back(t);
  return out;
}

// What the test fed to the point table: update k of every point, sent between start_us
// and end_us (the test's clock around the call), value = ValueOf(point, k).
struct Fed {
  int64_t start_us;
  int64_t end_us;
};
double ValueOf(int64_t point, int64_t k) { return static_cast<double>(point * 100'000 + k); }

class RecallDaemonTest : public ::testing::Test {
 protected:
  void StartDaemon(DaemonConfig config = DaemonConfig::NoAuth()) {
    daemon_ = std::make_unique<Daemon>(dir_, std::move(config));
    ASSERT_NO_FATAL_FAILURE(daemon_->Start());
    sampling_ = v1::Sampling::NewStub(daemon_->channel());
  }

  void TearDown() override { StopFeeding(); }

  std::unique_ptr<grpc::ClientContext> Ctx() const { return daemon_->Context(""); }

  static v1::CatalogPoint Point(int64_t id) {
    v1::CatalogPoint p;
    p.set_id(id);
    p.set_name(fmt::format("P{}", id));
    return p;
  }

  static v1::CatalogRecall Recall(int64_t id, std::string name, std::vector<int64_t> points,
                                  int64_t period, int64_t before, int64_t after, bool on_limit) {
    v1::CatalogRecall r;
    r.set_id(id);
    r.set_name(std::move(name));
    for (int64_t p : points) r.add_point_ids(p);
    r.set_period_us(period);
    r.set_before_us(before);
    r.set_after_us(after);
    r.set_on_limit(on_limit);
    return r;
  }

  grpc::Status PutPoints(const std::vector<v1::CatalogPoint>& points) {
    v1::PutPointsRequest req;
    for (const auto& p : points) *req.add_points() = p;
    v1::ExecuteResponse resp;
    grpc::Status s = sampling_->PutPoints(Ctx().get(), req, &resp);
    if (s.ok()) {
      EXPECT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();
    }
    return s;
  }

  grpc::Status PutRecalls(const std::vector<v1::CatalogRecall>& recalls) {
    v1::PutRecallsRequest req;
    for (const auto& r : recalls) *req.add_recalls() = r;
    v1::ExecuteResponse resp;
    grpc::Status s = sampling_->PutRecalls(Ctx().get(), req, &resp);
    if (s.ok()) {
      EXPECT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();
    }
    return s;
  }

  grpc::Status Trigger(v1::TriggerRecallRequest req, v1::TriggerRecallResponse* resp) {
    return sampling_->TriggerRecall(Ctx().get(), req, resp);
  }

  void Update(const std::vector<std::pair<int64_t, double>>& values) {
    auto ctx = Ctx();
    v1::UpdatePointsResponse resp;
    auto writer = sampling_->UpdatePoints(ctx.get(), &resp);
    v1::PointUpdate msg;
    for (const auto& [id, v] : values) {
      msg.add_point_id(id);
      msg.add_value(v);
    }
    EXPECT_TRUE(writer->Write(msg));
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.updated(), values.size());
  }

  // Feeds update k = 0, 1, ... of `points` every `every`, recording when each was sent.
  void StartFeeding(std::vector<int64_t> points, milliseconds every) {
    feeding_ = true;
    feeder_ = std::thread([this, points, every] {
      for (int64_t k = 0; feeding_; ++k) {
        std::vector<std::pair<int64_t, double>> values;
        for (int64_t p : points) values.emplace_back(p, ValueOf(p, k));
        const int64_t start = NowMicros();
        Update(values);
        const int64_t end = NowMicros();
        {
          std::lock_guard lk(fed_mu_);
          fed_.push_back({start, end});
        }
        std::this_thread::sleep_for(every);  // the feed's pace, not a synchronisation
      }
    });
  }
  void StopFeeding() {
    feeding_ = false;
    if (feeder_.joinable()) feeder_.join();
  }

  // Open events of recall `id` as ListRecalls reports them.
  uint64_t OpenEvents(int64_t id) {
    v1::ListRecallsResponse list;
    grpc::Status s = sampling_->ListRecalls(Ctx().get(), v1::ListRecallsRequest(), &list);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(list.states_size(), list.recalls_size());
    for (int i = 0; i < list.recalls_size(); ++i) {
      if (list.recalls(i).id() == id) return list.states(i).open_events();
    }
    ADD_FAILURE() << "recall " << id << " not listed";
    return 0;
  }

  // After the window's end: waits until the event is closed (its rows handed to the
  // journal) and every target caught up.
  void WaitWindowDone(int64_t recall_id, int64_t window_end_us) {
    ASSERT_TRUE(WaitFor([&] { return NowMicros() > window_end_us; }, seconds(60)));
    ASSERT_TRUE(WaitFor([&] { return OpenEvents(recall_id) == 0; }, seconds(120)))
        << ReadFile(daemon_->log());
    daemon_->WaitCaughtUp();
  }

  // Rows of recall_sample for `event_ts` in target `t`: point_id, ts, value, quality.
  std::vector<std::vector<std::string>> EventRows(const char* t, int64_t event_ts) {
    auto rows = QueryRows(daemon_->db(t),
                          fmt::format("SELECT point_id, ts, value, quality FROM recall_sample "
                                      "WHERE event_ts = {} ORDER BY point_id, ts",
                                      event_ts));
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<std::vector<std::string>>{};
  }

  // Checks the rows of an event of `def` at `event_ts`: the same in every target, each on
  // a tick of the window, every point at every tick present, no other row. Ticks may be
  // missing only as many as the node reported lost (Admin.Status recall_lost, `lost`
  // before this event subtracted). Returns target a's rows.
  std::vector<std::vector<std::string>> CheckEventRows(const v1::CatalogRecall& def,
                                                       int64_t event_ts, uint64_t lost_before) {
    const std::vector<int64_t> ticks =
        WindowTicks(event_ts, def.period_us(), def.before_us(), def.after_us());
    const std::set<int64_t> tick_set(ticks.begin(), ticks.end());
    const auto rows = EventRows("a", event_ts);
    std::map<int64_t, std::set<int64_t>> points_at;  // tick -> points
    for (const auto& r : rows) {
      const int64_t ts = std::stoll(r[1]);
      EXPECT_TRUE(tick_set.contains(ts))
          << "row outside the window's ticks: " << fmt::format("{}", fmt::join(r, ","));
      points_at[ts].insert(std::stoll(r[0]));
    }
    const std::set<int64_t> all(def.point_ids().begin(), def.point_ids().end());
    for (const auto& [ts, pts] : points_at) EXPECT_EQ(pts, all) << "tick " << ts;
    v1::StatusResponse st;
    EXPECT_TRUE(daemon_->Admin(&st).ok());
    const uint64_t lost = st.sampling().recall_lost() - lost_before;
    EXPECT_EQ(points_at.size() + lost, ticks.size())
        << "ticks present " << points_at.size() << ", reported lost " << lost << ", window "
        << ticks.size() << "\n"
        << ReadFile(daemon_->log());
    // Lost ticks are rare (a stall of the node); most of the window is there.
    EXPECT_GE(points_at.size() * 2, ticks.size());
    for (const char* t : {"b", "dr"}) EXPECT_EQ(EventRows(t, event_ts), rows) << t;
    return rows;
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<v1::Sampling::Stub> sampling_;
  std::atomic<bool> feeding_{false};
  std::thread feeder_;
  std::mutex fed_mu_;
  std::vector<Fed> fed_;  // GUARDED_BY(fed_mu_), by k
};

TEST_F(RecallDaemonTest, TriggeredWindowHoldsEveryTickOfEveryPointInEveryTarget) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const std::vector<int64_t> points = {1, 2, 3};
  ASSERT_TRUE(PutPoints({Point(1), Point(2), Point(3)}).ok());
  const v1::CatalogRecall def = Recall(1, "feeder", points, 100 * kMs, 1 * kS, 1 * kS, false);
  StartFeeding(points, milliseconds(150));
  ASSERT_TRUE(PutRecalls({def}).ok());
  const int64_t defined_us = NowMicros();

  v1::ListRecallsResponse list;
  ASSERT_TRUE(sampling_->ListRecalls(Ctx().get(), v1::ListRecallsRequest(), &list).ok());
  ASSERT_EQ(list.recalls_size(), 1);
  EXPECT_EQ(list.recalls(0).SerializeAsString(), def.SerializeAsString()) << list.DebugString();
  ASSERT_EQ(list.states_size(), 1);
  EXPECT_EQ(list.states(0).open_events(), 0u);

  // The ring is full once before_us has passed since the windows took the definition.
  ASSERT_TRUE(
      WaitFor([&] { return NowMicros() > defined_us + def.before_us() + 500 * kMs; }, seconds(60)));
  v1::StatusResponse st;
  ASSERT_TRUE(daemon_->Admin(&st).ok());
  const uint64_t lost_before = st.sampling().recall_lost();
  EXPECT_EQ(st.sampling().recall_definitions(), 1u);

  v1::TriggerRecallRequest req;
  req.set_recall_name("feeder");
  v1::TriggerRecallResponse resp;
  const int64_t asked_us = NowMicros();
  grpc::Status s = Trigger(req, &resp);
  const int64_t answered_us = NowMicros();
  ASSERT_TRUE(s.ok()) << s.error_message();
  const int64_t event_ts = resp.event_ts_us();
  // "now" is the daemon's time of the call.
  EXPECT_GE(event_ts, asked_us);
  EXPECT_LE(event_ts, answered_us);
  // The pre-window's ticks taken so far, every point of each: at most the ring's ticks.
  EXPECT_GT(resp.rows_emitted(), 0u);
  EXPECT_EQ(resp.rows_emitted() % points.size(), 0u);
  EXPECT_LE(resp.rows_emitted(),
            points.size() * static_cast<uint64_t>(def.before_us() / def.period_us() + 1));
  EXPECT_EQ(OpenEvents(1), 1u);

  ASSERT_NO_FATAL_FAILURE(WaitWindowDone(1, event_ts + def.after_us() + def.period_us()));
  StopFeeding();
  const auto rows = CheckEventRows(def, event_ts, lost_before);

  // Values: the update a tick reads is the latest one applied when the windows read the
  // table, which is at the tick or later but before the next tick (a later read is taken
  // as the later tick). So a row's update k was sent before ts + period, and it is no
  // older than the last update answered before ts.
  std::vector<Fed> fed;
  {
    std::lock_guard lk(fed_mu_);
    fed = fed_;
  }
  for (const auto& r : rows) {
    const int64_t point = std::stoll(r[0]);
    const int64_t ts = std::stoll(r[1]);
    const double value = std::stod(r[2]);
    const int64_t k = static_cast<int64_t>(value) - point * 100'000;
    ASSERT_EQ(ValueOf(point, k), value) << "not a value the test fed: " << r[2];
    ASSERT_GE(k, 0);
    ASSERT_LT(static_cast<size_t>(k), fed.size());
    EXPECT_LT(fed[k].start_us, ts + def.period_us()) << "update " << k << " sent after tick " << ts;
    int64_t newest_done = -1;
    for (size_t j = 0; j < fed.size(); ++j) {
      if (fed[j].end_us < ts) newest_done = static_cast<int64_t>(j);
    }
    EXPECT_GE(k, newest_done) << "tick " << ts << " holds update " << k << " older than update "
                              << newest_done << " answered before it";
    EXPECT_EQ(r[3], "0") << "updated well within old_after: good quality";
  }

  ASSERT_TRUE(daemon_->Admin(&st).ok());
  EXPECT_EQ(st.sampling().recall_open_events(), 0u);
  EXPECT_GE(st.sampling().recall_rows(), rows.size());
  EXPECT_EQ(st.sampling().recall_not_stored(), 0u);

  // The same trigger again (same event_ts) is the same event: nothing emitted.
  req.set_event_ts_us(event_ts);
  ASSERT_TRUE(Trigger(req, &resp).ok());
  EXPECT_EQ(resp.rows_emitted(), 0u);
  EXPECT_EQ(resp.event_ts_us(), event_ts);
}

TEST_F(RecallDaemonTest, LimitCrossingStartsAnEventAtATickHoldingTheCrossingValue) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  v1::CatalogPoint p = Point(4);
  p.set_hi(50);
  ASSERT_TRUE(PutPoints({p, Point(5)}).ok());
  const v1::CatalogRecall def = Recall(2, "hi", {4, 5}, 100 * kMs, 500 * kMs, 500 * kMs, true);
  ASSERT_TRUE(PutRecalls({def}).ok());
  Update({{4, 10}, {5, 1}});
  // A tick must see the point inside its limits before a crossing can be one, and every
  // tick of the event's pre-window must come after the update (a tick before it has no
  // value): wait until the pre-window and a few ticks more have passed since the update.
  const int64_t inside_us = NowMicros();
  ASSERT_TRUE(WaitFor(
      [&] { return NowMicros() > inside_us + def.before_us() + 3 * def.period_us(); }, seconds(60)));
  v1::StatusResponse st;
  ASSERT_TRUE(daemon_->Admin(&st).ok());
  const uint64_t lost_before = st.sampling().recall_lost();
  const int64_t crossing_us = NowMicros();
  Update({{4, 60}, {5, 2}});

  // The event's rows reach the targets; its time is the first tick that saw 60.
  int64_t event_ts = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = QueryRows(daemon_->db("a"),
                           "SELECT DISTINCT event_ts FROM recall_sample WHERE point_id = 4");
        if (!r.ok() || r->empty()) return false;
        EXPECT_EQ(r->size(), 1u) << "one crossing, one event";
        event_ts = std::stoll((*r)[0][0]);
        return true;
      },
      seconds(120)))
      << ReadFile(daemon_->log());
  EXPECT_EQ(event_ts % def.period_us(), 0) << "an event by limit is at a tick";
  EXPECT_GE(event_ts, FloorTo(crossing_us, def.period_us()));
  ASSERT_NO_FATAL_FAILURE(WaitWindowDone(2, event_ts + def.after_us() + def.period_us()));
  const auto rows = CheckEventRows(def, event_ts, lost_before);
  bool crossing_row = false;
  for (const auto& r : rows) {
    if (r[0] != "4") continue;
    const int64_t ts = std::stoll(r[1]);
    ASSERT_FALSE(r[2].empty()) << "no value at " << ts << ", the crossing at " << event_ts;
    const double v = std::stod(r[2]);
    EXPECT_EQ(v, ts < event_ts ? 10 : 60) << "at " << ts << ", the crossing at " << event_ts;
    crossing_row = crossing_row || (ts == event_ts && v == 60);
  }
  EXPECT_TRUE(crossing_row) << "the event's own tick holds the crossing value";
}

TEST_F(RecallDaemonTest, ErrorsNameWhatWasWrong) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_TRUE(PutPoints({Point(1)}).ok());

  // A definition over a point not in the catalog: refused, nothing journaled.
  grpc::Status s = PutRecalls({Recall(1, "r", {1, 77}, 100 * kMs, kS, kS, false)});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("recalls[0] (id 1): point_ids[1]"), std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find("point 77 is not in the catalog"), std::string::npos)
      << s.error_message();
  // More ring values than the node holds: refused before it is journaled, not dropped by
  // the windows after.
  {
    std::vector<v1::CatalogPoint> many;
    std::vector<int64_t> ids;
    for (int64_t id = 100; id < 400; ++id) {
      many.push_back(Point(id));
      ids.push_back(id);
    }
    ASSERT_TRUE(PutPoints(many).ok());
    s = PutRecalls({Recall(9, "huge", ids, 10 * kMs, 1000 * kS, 0, false)});
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("recall rings would hold 30000300 values"), std::string::npos)
        << s.error_message();
  }
  daemon_->WaitCaughtUp();
  EXPECT_EQ(CountRows(daemon_->db("a"), "recall_define"), 0);

  ASSERT_TRUE(PutRecalls({Recall(1, "r", {1}, 100 * kMs, kS, kS, false)}).ok());
  v1::TriggerRecallRequest req;
  v1::TriggerRecallResponse resp;
  req.set_recall_id(5);
  s = Trigger(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("no recall definition with id 5"), std::string::npos)
      << s.error_message();
  req.set_recall_name("nope");
  s = Trigger(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("no recall definition named 'nope'"), std::string::npos)
      << s.error_message();
  s = Trigger(v1::TriggerRecallRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("recall_id or recall_name"), std::string::npos)
      << s.error_message();
  // Far in the future: the windows refuse it, the code and message pass through.
  req.set_recall_id(1);
  req.set_event_ts_us(NowMicros() + 2 * 3600 * kS);
  s = Trigger(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("Sampling.TriggerRecall of recall 1"), std::string::npos)
      << s.error_message();
  EXPECT_EQ(OpenEvents(1), 0u);
  // Two definitions of one name: a trigger by that name is refused, naming both.
  ASSERT_TRUE(PutRecalls({Recall(2, "r", {1}, 100 * kMs, kS, kS, false)}).ok());
  req.set_recall_name("r");
  s = Trigger(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("recall definitions 1, 2"), std::string::npos)
      << s.error_message();
  // A point used by a recall definition cannot be deleted.
  v1::DeletePointsRequest del;
  del.add_point_ids(1);
  v1::ExecuteResponse er;
  s = sampling_->DeletePoints(Ctx().get(), del, &er);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("recall definition"), std::string::npos) << s.error_message();
  v1::DeleteRecallsRequest dr;
  dr.add_recall_ids(3);
  s = sampling_->DeleteRecalls(Ctx().get(), dr, &er);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("recall definition 3 is not in the catalog"), std::string::npos)
      << s.error_message();
}

TEST_F(RecallDaemonTest, DisabledSamplingRefusesTriggersNamingTheSetting) {
  DaemonConfig config = DaemonConfig::NoAuth();
  config.extra = "[sampling]\nenabled = false\n";
  ASSERT_NO_FATAL_FAILURE(StartDaemon(config));
  ASSERT_TRUE(PutPoints({Point(1)}).ok());
  ASSERT_TRUE(PutRecalls({Recall(1, "r", {1}, 100 * kMs, kS, kS, false)}).ok());
  v1::TriggerRecallRequest req;
  req.set_recall_id(1);
  v1::TriggerRecallResponse resp;
  grpc::Status s = Trigger(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("enabled = false"), std::string::npos) << s.error_message();
}

TEST_F(RecallDaemonTest, CliDefinesListsTriggersAndRemoves) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_TRUE(PutPoints({Point(1), Point(2)}).ok());
  auto sluice = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {SLUICE_CLI_PATH, "--address", daemon_->address()});
    return RunCommand(args, dir_.Sub("cli.log"), {}, seconds(120));
  };
  RunResult bad = sluice({"recall", "define", "--id", "3", "--name", "x", "--points", "1,9",
                          "--period-ms", "100", "--before-s", "1", "--after-s", "1"});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("point 9 is not in the catalog"), std::string::npos) << bad.output;

  RunResult define = sluice({"recall", "define", "--id", "3", "--name", "bus, north", "--points",
                             "1,2", "--period-ms", "200", "--before-s", "1", "--after-s", "0.4"});
  ASSERT_EQ(define.exit_code, 0) << define.output;
  EXPECT_NE(define.output.find("APPLIED"), std::string::npos) << define.output;
  RunResult list = sluice({"recall", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("3,\"bus, north\",\"1,2\",200,1,0.4,false,0"), std::string::npos)
      << list.output;

  Update({{1, 7.5}, {2, -1}});
  RunResult bad_time = sluice({"recall", "trigger", "3", "--time", "yesterday"});
  EXPECT_EQ(bad_time.exit_code, 2) << bad_time.output;
  EXPECT_NE(bad_time.output.find("--time"), std::string::npos) << bad_time.output;
  RunResult unknown = sluice({"recall", "trigger", "12"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("NOT_FOUND"), std::string::npos) << unknown.output;

  // An event a few seconds ahead, by name and ISO 8601 time: its whole window is sampled
  // after the trigger, so none of it can be older than the ring.
  v1::StatusResponse st;
  ASSERT_TRUE(daemon_->Admin(&st).ok());
  const uint64_t lost_before = st.sampling().recall_lost();
  const int64_t event_ts = FloorTo(NowMicros(), kMs) + 3 * kS + 250 * kMs;
  RunResult trigger = sluice({"recall", "trigger", "bus, north", "--time", IsoMillis(event_ts)});
  ASSERT_EQ(trigger.exit_code, 0) << trigger.output;
  EXPECT_NE(trigger.output.find(fmt::format("({} µs)", event_ts)), std::string::npos)
      << trigger.output;
  EXPECT_NE(trigger.output.find(": 0 row(s) journaled now"), std::string::npos) << trigger.output;

  const v1::CatalogRecall def = Recall(3, "bus, north", {1, 2}, 200 * kMs, kS, 400 * kMs, false);
  ASSERT_NO_FATAL_FAILURE(WaitWindowDone(3, event_ts + def.after_us() + def.period_us()));
  const auto rows = CheckEventRows(def, event_ts, lost_before);
  EXPECT_FALSE(rows.empty());
  for (const auto& r : rows) EXPECT_EQ(std::stod(r[2]), r[0] == "1" ? 7.5 : -1.0);
  for (const char* t : kTargets) {
    EXPECT_EQ(CountRows(daemon_->db(t), "recall_define", "recall_id = 3 AND name = 'bus, north'"),
              1)
        << t;
  }
  RunResult remove = sluice({"recall", "remove", "3"});
  ASSERT_EQ(remove.exit_code, 0) << remove.output;
  daemon_->WaitCaughtUp();
  EXPECT_EQ(CountRows(daemon_->db("a"), "recall_define"), 0);
}

}  // namespace
}  // namespace sluice::testing

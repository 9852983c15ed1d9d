// sluice-demo-feed: a simulated SCADA feed for the demo. It commits, through the client
// library (with its local spool), one sample per point per cycle into the `samples`
// stream, a few events per cycle into `events`, and every few cycles a synchronous model
// update; then it prints what it sent as one JSON line, so the demo can check that every
// target holds exactly that.
//
// Model updates are synchronous: while the service is switching or isolated they are
// refused (UNAVAILABLE, nothing journaled). The feed keeps them, in order, and sends them
// again once the service takes them; an update whose outcome is not known yet
// (OUTCOME_UNKNOWN, with its LSN) is asked about (GetOutcome) until the service has
// decided it. So `model_updates` counts exactly the updates applied; `model_refused`
// counts the refused calls and `model_pending` what was still undecided at the end.
//
// With --sampled-points N it also feeds the daemon's sampler: every cycle sends the
// current values of points kSampledBase+1 .. kSampledBase+N through Sampling.UpdatePoints
// (not spooled: a current value is worth sending only now); with --define it first puts
// those points in the sampling catalog and defines them at 1 s, so the sampler writes
// their rows into sample_1s of every target.
//
//   sluice-demo-feed --address 127.0.0.1:7400 --points 5000 --cycles 20 --spool DIR
//   sluice-demo-feed ... --cycles 100000 --stop-file FILE   # until FILE exists

#include <sys/stat.h>

#include <chrono>
#include <deque>
#include <set>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sluice/client.h"

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The sampler's points are numbered above the feed's own, so the demo can tell their
// rows apart.
constexpr int64_t kSampledBase = 1'000'000;

// Puts the points in the sampling catalog and defines them at 1 s.
bool DefineSampledPoints(sluice::client::Client* client, int n) {
  sluice::v1::PutPointsRequest put;
  sluice::v1::DefineRequest define;
  for (int i = 1; i <= n; ++i) {
    auto* p = put.add_points();
    p->set_id(kSampledBase + i);
    p->set_name(fmt::format("DEMO.SAMPLED.{}", i));
    p->set_description(fmt::format("sampled feeder {}", i));
    p->set_unit("MW");
    define.add_point_ids(kSampledBase + i);
  }
  define.add_intervals(sluice::v1::SAMPLE_INTERVAL_1S);
  auto r = client->PutPoints(put);
  if (!r.ok() || r->outcome() != sluice::v1::OUTCOME_APPLIED) {
    fmt::print(stderr, "demo-feed: putting the sampled points: {}\n", r.ok() ? r->DebugString() : r.status().ToString());
    return false;
  }
  r = client->Define(define);
  if (!r.ok() || r->outcome() != sluice::v1::OUTCOME_APPLIED) {
    fmt::print(stderr, "demo-feed: defining the sampled points: {}\n", r.ok() ? r->DebugString() : r.status().ToString());
    return false;
  }
  return true;
}

bool Exists(const std::string& path) {
  struct stat st;
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

// The model updates of the feed, sent in cycle order; one that is refused (the service is
// switching or isolated) holds the ones after it until it is taken.
class ModelUpdates {
 public:
  ModelUpdates(sluice::client::Client* client, int64_t base) : client_(client), base_(base) {}

  void Add(int64_t cycle) { queue_.push_back({cycle, 0, {}}); }

  // Sends (or asks about) queued updates in order until one is refused or undecided.
  void Drain() {
    while (!queue_.empty()) {
      Item& item = queue_.front();
      if (item.lsn != 0) {
        // Outcome unknown: journaled, the service decides it; ask.
        auto o = client_->GetOutcome(item.lsn);
        if (!o.ok() || o->outcome() == sluice::v1::OUTCOME_PENDING ||
            o->outcome() == sluice::v1::OUTCOME_UNKNOWN) {
          return;
        }
        Decided(item, *o);
        queue_.pop_front();
        continue;
      }
      if (!item.request_id.empty()) {
        // Cut off before its answer: found by its request id once the service is back,
        // or not found (never journaled), then sent again.
        auto o = client_->GetOutcomeByRequestId(item.request_id);
        if (!o.ok() && o.status().code() != sluice::Code::kNotFound) return;
        if (o.ok()) {
          item.lsn = o->lsn();
          item.request_id.clear();
          continue;
        }
        item.request_id.clear();
      }
      auto u = client_->Update(Request(item.cycle));
      if (!u.ok()) {
        if (u.status().code() == sluice::Code::kUnavailable) {
          // Refused before it was journaled: safe to send again later.
          ++refused_;
          if (item.cycle != last_refused_cycle_) {
            fmt::print(stderr, "demo-feed: model update of cycle {} refused ({}); it is sent again later\n",
                       item.cycle, u.status().message());
            last_refused_cycle_ = item.cycle;
          }
          return;
        }
        // Anything else (not expected in the demo) is reported and given up on.
        fmt::print(stderr, "demo-feed: model update of cycle {}: {}\n", item.cycle, u.status().ToString());
        ++failed_;
        queue_.pop_front();
        continue;
      }
      if (u->outcome() == sluice::v1::OUTCOME_UNKNOWN) {
        fmt::print(stderr, "demo-feed: model update of cycle {}: outcome not known yet (LSN {}): {}\n", item.cycle,
                   u->lsn(), u->message());
        item.lsn = u->lsn();
        if (item.lsn == 0) item.request_id = u->request_id();
        return;
      }
      Decided(item, *u);
      queue_.pop_front();
    }
  }

  // Drains until nothing is queued or `timeout` passes.
  void Finish(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      Drain();
      if (queue_.empty() || std::chrono::steady_clock::now() >= deadline) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  size_t applied() const { return applied_.size(); }
  uint64_t refused() const { return refused_; }
  uint64_t failed() const { return failed_; }
  size_t pending() const { return queue_.size(); }

 private:
  struct Item {
    int64_t cycle;
    uint64_t lsn;  // 0: not journaled (yet), or not known (request_id then says which)
    std::string request_id = {};  // of an update cut off before its answer
  };

  sluice::v1::ExecuteRequest Request(int64_t c) const {
    sluice::v1::ExecuteRequest req;
    req.mutable_statement()->set_text(
        "INSERT INTO point (point_id, name, unit, updated_at) VALUES ($1, $2, 'MW', $3) "
        "ON CONFLICT (point_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at");
    req.mutable_statement()->add_params()->set_int_value(c);
    req.mutable_statement()->add_params()->set_text_value(fmt::format("feeder-{}", c));
    req.mutable_statement()->add_params()->set_int_value(base_ + c * 1'000'000);
    return req;
  }

  void Decided(const Item& item, const sluice::v1::ExecuteResponse& r) {
    if (r.outcome() == sluice::v1::OUTCOME_APPLIED) {
      applied_.insert(item.cycle);
    } else {
      fmt::print(stderr, "demo-feed: model update of cycle {} rejected: {}\n", item.cycle, r.message());
      ++failed_;
    }
  }

  sluice::client::Client* client_;
  int64_t base_;
  std::deque<Item> queue_;
  std::set<int64_t> applied_;  // cycles (= point ids) whose update was applied
  uint64_t refused_ = 0;
  uint64_t failed_ = 0;
  int64_t last_refused_cycle_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice-demo-feed: a simulated SCADA feed (samples, events, model updates)"};
  std::vector<std::string> addresses = {"127.0.0.1:7400"};
  std::string token, spool_dir, stop_file;
  int points = 5000, cycles = 20, events_per_cycle = 5, model_every = 5, cycle_ms = 200;
  int64_t first_cycle = 0;
  int sampled_points = 0;
  bool define = false;
  app.add_option("--address", addresses, "Service address(es), tried in order")->capture_default_str();
  app.add_option("--token", token, "Bearer token");
  app.add_option("--spool", spool_dir, "Local spool directory (commits survive the service being away)");
  app.add_option("--points", points, "Points sampled each cycle")->capture_default_str();
  app.add_option("--cycles", cycles, "Cycles to run")->capture_default_str();
  app.add_option("--first-cycle", first_cycle, "Number of the first cycle (to continue a feed)")->capture_default_str();
  app.add_option("--events", events_per_cycle, "Events per cycle")->capture_default_str();
  app.add_option("--model-every", model_every, "A model update every N cycles")->capture_default_str();
  app.add_option("--cycle-ms", cycle_ms, "Pause between cycles, milliseconds")->capture_default_str();
  app.add_option("--stop-file", stop_file, "Stop after the cycle during which this file appears");
  app.add_option("--sampled-points", sampled_points, "Points whose current values feed the sampler each cycle")
      ->capture_default_str();
  app.add_flag("--define", define, "Put the sampled points in the catalog and define them at 1 s first");
  CLI11_PARSE(app, argc, argv);

  sluice::client::ClientOptions options;
  options.addresses = addresses;
  options.token = token;
  options.spool_dir = spool_dir;
  auto client = sluice::client::Client::Open(options);
  if (!client.ok()) {
    fmt::print(stderr, "demo-feed: {}\n", client.status().ToString());
    return 1;
  }
  // Cycle timestamps are whole seconds, so that a later feed never collides.
  const int64_t base = NowMicros() / 1'000'000 * 1'000'000 - 3600LL * 1'000'000;
  if (define && !DefineSampledPoints(client->get(), sampled_points)) return 1;
  uint64_t samples = 0, events = 0, spooled = 0, point_updates = 0, point_updates_failed = 0;
  int64_t ran = 0;
  ModelUpdates updates(client->get(), base);
  for (int64_t c = first_cycle; c < first_cycle + cycles && !Exists(stop_file); ++c, ++ran) {
    sluice::v1::SampleBatch batch;
    batch.set_interval(sluice::v1::SAMPLE_INTERVAL_1S);
    for (int p = 0; p < points; ++p) {
      batch.add_point_id(p);
      batch.add_ts_us(base + c * 1'000'000);
      batch.add_value(50.0 + (p % 100) + 0.001 * static_cast<double>(c));
      batch.add_quality(0);
    }
    auto r = (*client)->CommitSamples("samples", std::move(batch));
    if (!r.ok()) {
      fmt::print(stderr, "demo-feed: samples of cycle {}: {}\n", c, r.status().ToString());
      return 1;
    }
    if (r->state == sluice::client::CommitState::kSpooled) ++spooled;
    samples += static_cast<uint64_t>(points);

    std::vector<sluice::v1::Record> evs(1);
    for (int e = 0; e < events_per_cycle; ++e) {
      auto* ev = evs[0].mutable_events()->add_events();
      ev->set_ts_us(base + c * 1'000'000 + e);
      ev->set_point_id(e * 7 % points);
      ev->set_kind(e % 2 ? "breaker_open" : "limit_exceeded");
      ev->set_severity(e % 3);
      ev->set_source("demo-feed");
      ev->set_text(fmt::format("cycle {} event {}", c, e));
    }
    auto er = (*client)->Commit("events", std::move(evs));
    if (!er.ok()) {
      fmt::print(stderr, "demo-feed: events of cycle {}: {}\n", c, er.status().ToString());
      return 1;
    }
    events += static_cast<uint64_t>(events_per_cycle);

    if (sampled_points > 0) {
      sluice::v1::PointUpdate u;
      for (int i = 1; i <= sampled_points; ++i) {
        u.add_point_id(kSampledBase + i);
        u.add_value(100.0 + i + 0.01 * static_cast<double>(c % 100));
      }
      auto pr = (*client)->UpdatePoints({u});
      if (pr.ok()) {
        point_updates += pr->updated();
      } else {
        // The table keeps the last value; the sampler marks it old if this goes on.
        ++point_updates_failed;
      }
    }
    if (model_every > 0 && c % model_every == 0) updates.Add(c);
    updates.Drain();
    std::this_thread::sleep_for(std::chrono::milliseconds(cycle_ms));
  }
  updates.Finish(std::chrono::minutes(2));
  sluice::Status drained = (*client)->WaitForSpoolDrained(std::chrono::minutes(5));
  nlohmann::json out = {{"cycles", ran},
                        {"samples", samples},
                        {"events", events},
                        {"model_updates", updates.applied()},
                        {"model_refused", updates.refused()},
                        {"model_failed", updates.failed()},
                        {"model_pending", updates.pending()},
                        {"spooled_commits", spooled},
                        {"point_updates", point_updates},
                        {"point_update_calls_failed", point_updates_failed},
                        {"spool_drained", drained.ok()}};
  fmt::print("{}\n", out.dump());
  return drained.ok() && updates.pending() == 0 ? 0 : 1;
}

// sluice-demo-feed: a simulated SCADA feed for the demo. It commits, through the client
// library (with its local spool), one sample per point per cycle into the `samples`
// stream, a few events per cycle into `events`, and every few cycles a synchronous model
// update; then it prints what it sent as one JSON line, so the demo can check that every
// target holds exactly that.
//
//   sluice-demo-feed --address 127.0.0.1:7400 --points 5000 --cycles 20 --spool DIR

#include <chrono>
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice-demo-feed: a simulated SCADA feed (samples, events, model updates)"};
  std::vector<std::string> addresses = {"127.0.0.1:7400"};
  std::string token, spool_dir;
  int points = 5000, cycles = 20, events_per_cycle = 5, model_every = 5, cycle_ms = 200;
  int64_t first_cycle = 0;
  app.add_option("--address", addresses, "Service address(es), tried in order")->capture_default_str();
  app.add_option("--token", token, "Bearer token");
  app.add_option("--spool", spool_dir, "Local spool directory (commits survive the service being away)");
  app.add_option("--points", points, "Points sampled each cycle")->capture_default_str();
  app.add_option("--cycles", cycles, "Cycles to run")->capture_default_str();
  app.add_option("--first-cycle", first_cycle, "Number of the first cycle (to continue a feed)")->capture_default_str();
  app.add_option("--events", events_per_cycle, "Events per cycle")->capture_default_str();
  app.add_option("--model-every", model_every, "A model update every N cycles")->capture_default_str();
  app.add_option("--cycle-ms", cycle_ms, "Pause between cycles, milliseconds")->capture_default_str();
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
  uint64_t samples = 0, events = 0, updates = 0, spooled = 0;
  for (int64_t c = first_cycle; c < first_cycle + cycles; ++c) {
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

    if (model_every > 0 && c % model_every == 0) {
      sluice::v1::ExecuteRequest req;
      req.mutable_statement()->set_text(
          "INSERT INTO point (point_id, name, unit, updated_at) VALUES ($1, $2, 'MW', $3) "
          "ON CONFLICT (point_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at");
      req.mutable_statement()->add_params()->set_int_value(c);
      req.mutable_statement()->add_params()->set_text_value(fmt::format("feeder-{}", c));
      req.mutable_statement()->add_params()->set_int_value(base + c * 1'000'000);
      auto u = (*client)->Update(req);
      if (u.ok() && u->outcome() == sluice::v1::OUTCOME_APPLIED) {
        ++updates;
      } else {
        fmt::print(stderr, "demo-feed: model update of cycle {}: {}\n", c,
                   u.ok() ? u->message() : u.status().ToString());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(cycle_ms));
  }
  sluice::Status drained = (*client)->WaitForSpoolDrained(std::chrono::minutes(5));
  nlohmann::json out = {{"samples", samples}, {"events", events}, {"model_updates", updates},
                        {"spooled_commits", spooled}, {"spool_drained", drained.ok()}};
  fmt::print("{}\n", out.dump());
  return drained.ok() ? 0 : 1;
}

#pragma once
// What the dashboard's tests share (dashboard_api_test.cc, dashboard_browser_test.cc): a
// real sluiced with SQLite targets and [http] serving the source tree's web/, extra
// tokens (read only; sql and ingest), HTTP requests with a bearer token, and a point in
// the catalog with an hour of 1 s samples.
//
// Thread safety: one test thread.

#include <chrono>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/daemon.h"
#include "support/http_client.h"

#ifndef SLUICE_WEB_DIR
#error "SLUICE_WEB_DIR must name the source tree's web/ directory"
#endif

namespace sluice::testing {

// Tokens beside the harness's: role read only; roles sql and ingest (catalog writes).
inline constexpr char kViewerToken[] = "viewer-token-0123456789abcdef";
inline constexpr char kWriterToken[] = "writer-token-0123456789abcdef";

// sluiced with auth, the default SQLite targets and [http] on `http_port` serving web/.
inline DaemonConfig DashboardConfig(int http_port) {
  DaemonConfig cfg;
  cfg.extra = fmt::format(
      "[http]\nlisten = \"127.0.0.1:{}\"\nweb_root = \"{}\"\n"
      "[[auth.token]]\nname = \"viewer\"\ntoken = \"{}\"\nroles = [\"read\"]\n"
      "[[auth.token]]\nname = \"writer\"\ntoken = \"{}\"\nroles = [\"sql\", \"ingest\"]\n",
      http_port, SLUICE_WEB_DIR, kViewerToken, kWriterToken);
  return cfg;
}

inline constexpr int64_t kSecondUs = 1'000'000;

// Point `id` in the catalog (analog, limits hi 80 and lo 20, unit kV) and an hour of 1 s
// samples from `t0_us`: 90 for the first 100 s of every 600 s, 10 for the next 50 s, else
// 50 (so it leaves both limits). Waits until every target applied them.
inline void PutPointWithAnHour(Daemon& d, int64_t id, int64_t t0_us) {
  auto sampling = v1::Sampling::NewStub(d.channel());
  v1::PutPointsRequest put;
  v1::CatalogPoint* p = put.add_points();
  p->set_id(id);
  p->set_name("BUS.V");
  p->set_unit("kV");
  p->set_kind(0);
  p->set_hi(80);
  p->set_lo(20);
  v1::ExecuteResponse resp;
  grpc::Status s = sampling->PutPoints(d.Context(kWriterToken).get(), put, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.outcome(), v1::OUTCOME_APPLIED) << resp.DebugString();
  v1::CommitRequest req;
  req.set_stream("samples");
  for (int first = 0; first < 3600; first += 1200) {
    v1::SampleBatch* b = req.add_records()->mutable_samples();
    b->set_interval(v1::SAMPLE_INTERVAL_1S);
    for (int i = first; i < first + 1200; ++i) {
      b->add_point_id(id);
      b->add_ts_us(t0_us + i * kSecondUs);
      b->add_value(i % 600 < 100 ? 90 : i % 600 < 150 ? 10 : 50);
      b->add_quality(0);
    }
  }
  v1::CommitResponse committed;
  s = d.Commit(req, &committed, kWriterToken);
  ASSERT_TRUE(s.ok()) << s.error_message();
  d.WaitCaughtUp();
}

}  // namespace sluice::testing

#pragma once
// The data of `sluice-bench query`: a deterministic one-second series per point (a slow
// sine with noise, a few bad and uncertain samples, excursions over the point's limits),
// and its loading into a PostgreSQL target whose schema the backend's own Connect()
// created: the point rows (limits) and sample_1s by binary COPY.
//
// The series is a pure function of (point, second), so the benchmark's checks and its
// test recompute any sample without reading it back. Pure functions are thread-safe;
// the loaders use the caller's connection (one thread).

#include <libpq-fe.h>

#include <cstdint>
#include <span>
#include <string>

#include "common/status.h"
#include "history/interval_walker.h"

namespace sluice::bench {

inline constexpr int64_t kSecondUs = 1'000'000;
inline constexpr int64_t kDayUs = 86'400 * kSecondUs;
// 2026-03-02 00:00 UTC: a UTC midnight, so one day of data is one of the backend's daily
// partitions (store/postgres/partitions.h).
inline constexpr int64_t kQueryBenchDayUs = 20'514 * kDayUs;

struct BenchPoint {
  int64_t id = 0;
  double low = 0;   // point.lower_limit
  double high = 0;  // point.upper_limit
};

// Point `id`'s limits: around its sine's peaks, so noise makes it cross them a few
// times per cycle.
BenchPoint MakeBenchPoint(int64_t id);

// The sample of point `id` at kQueryBenchDayUs + second * 1 s (second may pass one day).
history::RawSample BenchSample(int64_t id, int64_t second);

// Creates the schema as a target does (store::NewBackend("postgres")->Connect()).
Status CreateQueryBenchSchema(const std::string& conninfo);

// Inserts the points (analog, limits of MakeBenchPoint) into the point table.
Status LoadBenchPoints(PGconn* conn, std::span<const BenchPoint> points);

// Creates the partitions of [first_second, first_second + seconds) and loads those
// seconds of every point into sample_1s by binary COPY, in chunks of bounded size.
Status LoadBenchSeries(PGconn* conn, std::span<const BenchPoint> points, int64_t first_second,
                       int64_t seconds);

}  // namespace sluice::bench

#include "bench/query_bench_data.h"

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <string>

#include "bench/bench_util.h"
#include "sluice/v1/records.pb.h"
#include "store/backend.h"

namespace sluice::bench {
namespace {

constexpr double kAmplitude = 20;
constexpr int64_t kPeriodSeconds = 4 * 3600;
constexpr int64_t kOutageSeconds = 120;
// Rows per COPY: bounds the loader's buffer (about 60 bytes a row).
constexpr int64_t kCopyChunkRows = 500'000;

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser: a well-spread hash of (point, second)
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double Base(int64_t id) { return 100 + static_cast<double>(id); }

}  // namespace

BenchPoint MakeBenchPoint(int64_t id) {
  return BenchPoint{.id = id,
                    .low = Base(id) - 0.99 * kAmplitude,
                    .high = Base(id) + 0.99 * kAmplitude};
}

history::RawSample BenchSample(int64_t id, int64_t second) {
  const uint64_t h = Mix(static_cast<uint64_t>(id) * 1'000'003ULL + static_cast<uint64_t>(second));
  const double phase = 0.37 * static_cast<double>(id);
  const double angle = 2 * std::numbers::pi * static_cast<double>(second % kPeriodSeconds) /
                           static_cast<double>(kPeriodSeconds) +
                       phase;
  const double noise = static_cast<double>(h >> 11) / static_cast<double>(1ULL << 53) * 2 - 1;
  history::RawSample s;
  s.ts_us = kQueryBenchDayUs + second * kSecondUs;
  s.value = Base(id) + kAmplitude * std::sin(angle) + noise;
  s.quality = v1::QUALITY_GOOD;
  const int64_t day_second = second % 86'400;
  const int64_t outage_start = (id * 7'919) % (86'400 - kOutageSeconds);
  const uint64_t r = h % 10'000;
  if (day_second >= outage_start && day_second < outage_start + kOutageSeconds) {
    s.quality = v1::QUALITY_INVALID;  // a communication loss: two minutes of bad samples
  } else if (r < 5) {
    s.quality = v1::QUALITY_INVALID;
  } else if (r < 15) {
    s.quality = v1::QUALITY_QUESTIONABLE;
  } else if (r < 20) {
    s.quality = v1::QUALITY_OLD_DATA;
  } else if (r < 25) {
    s.quality = v1::QUALITY_SUBSTITUTED;  // an operator's value: Good
  } else if (r < 28) {
    s.value += 3 * kAmplitude;  // a one-sample spike over the high limit
  }
  return s;
}

Status CreateQueryBenchSchema(const std::string& conninfo) {
  store::BackendOptions options;
  options.name = "query-bench";
  options.connection = conninfo;
  SLUICE_ASSIGN_OR_RETURN(auto backend, store::NewBackend("postgres", options));
  return backend->Connect();
}

Status LoadBenchPoints(PGconn* conn, std::span<const BenchPoint> points) {
  std::string sql = "INSERT INTO point (point_id, name, lower_limit, upper_limit, kind) VALUES ";
  for (size_t i = 0; i < points.size(); ++i) {
    const BenchPoint& p = points[i];
    // Doubles printed with every digit, so the limits the server holds are these exactly.
    sql += fmt::format("{}({}, 'bench.{}', {:.17g}, {:.17g}, 0)", i == 0 ? "" : ", ", p.id,
                       p.id, p.low, p.high);
  }
  PGresult* res = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  std::string message = PQresultErrorMessage(res);
  PQclear(res);
  if (!ok) return Status::Internal(fmt::format("inserting the bench's points: {}", message));
  return Status::OK();
}

Status LoadBenchSeries(PGconn* conn, std::span<const BenchPoint> points, int64_t first_second,
                       int64_t seconds) {
  const int64_t first_us = kQueryBenchDayUs + first_second * kSecondUs;
  const int64_t last_us = first_us + (seconds - 1) * kSecondUs;
  SLUICE_RETURN_IF_ERROR(CreateSamplePartitions(conn, "sample_1s", first_us, last_us, kDayUs));
  // Time-major, every point's sample of a second together, as a sampler writes them: one
  // point's rows are spread over the table's pages as they are in production.
  BinaryCopy copy;
  int64_t rows = 0;
  auto flush = [&]() -> Status {
    copy.Trailer();
    PGresult* res = PQexec(
        conn, "COPY sample_1s (point_id, ts, value, quality, ver, manual) FROM STDIN (FORMAT binary)");
    const bool copying = PQresultStatus(res) == PGRES_COPY_IN;
    std::string message = PQresultErrorMessage(res);
    PQclear(res);
    if (!copying) return Status::Internal(fmt::format("COPY sample_1s: {}", message));
    SLUICE_RETURN_IF_ERROR(SendCopy(conn, copy.data()));
    copy.Clear();
    rows = 0;
    return Status::OK();
  };
  for (int64_t s = first_second; s < first_second + seconds; ++s) {
    for (const BenchPoint& p : points) {
      if (rows == 0) copy.Header();
      const history::RawSample sample = BenchSample(p.id, s);
      copy.Row(p.id, sample.ts_us, sample.value, sample.quality, 1);
      if (++rows == kCopyChunkRows) SLUICE_RETURN_IF_ERROR(flush());
    }
  }
  if (rows > 0) SLUICE_RETURN_IF_ERROR(flush());
  return Status::OK();
}

}  // namespace sluice::bench
